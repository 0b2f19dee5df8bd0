//! Remote repository mode (`--repo-url`): file://, --workdir reuse, push races, HTTPS tokens
//! over the loopback smart-HTTP server in [`crate::support::git_http`], and ssh through a fake
//! `ssh` program.

use std::path::{Path, PathBuf};
use std::time::Duration;

use crate::support::git_http::*;
use crate::support::*;
use base64::Engine as _;

const LIVE: &str = "auths/codex-live.json";
const DEAD: &str = "auths/codex-dead.json";
const TIMEOUT: Duration = Duration::from_secs(90);

/// A seed repository (`t.root`), a bare remote cloned from it, and a private TMPDIR.
struct Remote {
    t: TestRepo,
    bare: PathBuf,
    url: String,
    tmpdir: PathBuf,
}

/// main: one live and one dead credential; branch `other`: only the live one.
fn remote_fixture() -> Remote {
    let t = TestRepo::new();
    t.write_json(LIVE, &codex_live("alice@example.com", "acct-1", "plus"));
    t.write_json(DEAD, &codex_dead("carol@example.com", "acct-2"));
    t.write("README.md", "auth repo\n");
    t.commit_all("initial");
    t.git(&["checkout", "-q", "-b", "other"]);
    t.git(&["rm", "-q", DEAD]);
    t.git(&["commit", "-q", "-m", "other: drop dead"]);
    t.git(&["checkout", "-q", "main"]);
    let srv = t.home().join("srv");
    std::fs::create_dir_all(&srv).unwrap();
    let bare = srv.join("remote.git");
    git_in(
        t.home(),
        t.home(),
        &[
            "clone",
            "-q",
            "--bare",
            t.root.to_str().unwrap(),
            bare.to_str().unwrap(),
        ],
    );
    let tmpdir = t.home().join("tmp");
    std::fs::create_dir_all(&tmpdir).unwrap();
    let url = format!("file://{}", bare.display());
    Remote {
        t,
        bare,
        url,
        tmpdir,
    }
}

impl Remote {
    fn home(&self) -> &Path {
        self.t.home()
    }

    /// git-credman in the temp home (not a repository) with TMPDIR inside it.
    fn cmd(&self) -> assert_cmd::Command {
        let mut c = self.t.credman_in(self.home());
        c.env("TMPDIR", &self.tmpdir).timeout(TIMEOUT);
        c
    }

    fn run(&self, args: &[&str]) -> Run {
        run(self.cmd().args(args))
    }

    fn bare_git(&self, args: &[&str]) -> String {
        let mut all = vec!["--git-dir", self.bare.to_str().unwrap()];
        all.extend_from_slice(args);
        git_in(self.home(), self.home(), &all)
    }

    fn bare_rev(&self, r: &str) -> String {
        self.bare_git(&["rev-parse", r]).trim().to_owned()
    }

    fn bare_tree(&self, r: &str) -> Vec<String> {
        self.bare_git(&["ls-tree", "-r", "--name-only", r])
            .lines()
            .map(str::to_owned)
            .collect()
    }

    /// Entries of TMPDIR left behind by git-credman.
    fn leftovers(&self) -> Vec<String> {
        std::fs::read_dir(&self.tmpdir)
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .filter(|n| n.starts_with("credman"))
            .collect()
    }

    /// A plain git clone of the bare remote in `home/<name>`.
    fn other_clone(&self, name: &str) -> PathBuf {
        let dir = self.home().join(name);
        git_in(
            self.home(),
            self.home(),
            &["clone", "-q", &self.url, dir.to_str().unwrap()],
        );
        dir
    }
}

fn write_json_in(dir: &Path, path: &str, v: &serde_json::Value) {
    let full = dir.join(path);
    std::fs::create_dir_all(full.parent().unwrap()).unwrap();
    std::fs::write(full, serde_json::to_vec_pretty(v).unwrap()).unwrap();
}

/// Every file under `dir`, recursively.
fn files_under(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        let Ok(rd) = std::fs::read_dir(&d) else {
            continue;
        };
        for e in rd.flatten() {
            let p = e.path();
            if e.file_type().unwrap().is_dir() {
                stack.push(p);
            } else {
                out.push(p);
            }
        }
    }
    out
}

fn contains(hay: &[u8], needle: &[u8]) -> bool {
    hay.windows(needle.len()).any(|w| w == needle)
}

// ---------------------------------------------------------------------------------------------
// 1. file://

#[test]
fn file_url_scan_reports_the_remote_and_cleans_up() {
    let r = remote_fixture();
    let out = r.run(&[
        "scan",
        "--offline",
        "--format",
        "json",
        "--repo-url",
        &r.url,
    ]);
    assert_eq!(out.code, 1, "{}\n{}", out.stdout, out.stderr);
    let rep = out.json();
    assert_eq!(rep["source"]["kind"], "remote", "{rep:#}");
    assert_eq!(rep["source"]["url"], r.url.as_str());
    assert_eq!(rep["source"]["commit"], r.bare_rev("main").as_str());
    let mut p = paths(&rep);
    p.sort();
    assert_eq!(p, [DEAD, LIVE]);
    assert!(r.leftovers().is_empty(), "{:?}", r.leftovers());
}

/// Issue 10 item 11: what leaves the machine (the pushed commit message, SARIF, the JSON
/// report of a `--repo-url` run) names no local path of the clone.
#[test]
fn remote_reports_carry_no_local_path() {
    let r = remote_fixture();
    let tmp = r.tmpdir.display().to_string();
    let sarif = r.run(&[
        "scan",
        "--offline",
        "--format",
        "sarif",
        "--repo-url",
        &r.url,
    ]);
    assert_eq!(sarif.code, 1, "{}", sarif.stderr);
    assert!(!sarif.stdout.contains(&tmp), "{}", sarif.stdout);
    let report = r.home().join("report.json");
    let out = r.run(&[
        "prune",
        "--offline",
        "--format",
        "json",
        "--repo-url",
        &r.url,
        "--push",
        "--report",
        report.to_str().unwrap(),
    ]);
    assert_eq!(out.code, 0, "{}\n{}", out.stdout, out.stderr);
    assert!(!out.stdout.contains(&tmp), "{}", out.stdout);
    assert!(!std::fs::read_to_string(&report).unwrap().contains(&tmp));
    let msg = r.bare_git(&["log", "-1", "--format=%B", "main"]);
    assert!(!msg.contains(&tmp), "{msg}");
    assert!(!msg.contains("\"repo\""), "{msg}");
    assert!(msg.contains("\"url\""), "{msg}");
}

/// Issue 10 item 12: a password in any URL is refused before anything runs, and never printed.
#[test]
fn regression_10_url_passwords_are_refused_and_never_printed() {
    let r = remote_fixture();
    let pw = format!("pw{}", noise("url", 12));
    let wd = r.home().join("wd");
    for url in [
        format!("ssh://git:{pw}@127.0.0.1:1/srv/r.git"),
        format!("file://me:{pw}@localhost{}", r.bare.display()),
    ] {
        let out = r.run(&[
            "scan",
            "--offline",
            "--repo-url",
            &url,
            "--workdir",
            wd.to_str().unwrap(),
        ]);
        assert_eq!(out.code, 2, "{url}: {}", out.stderr);
        assert!(!out.stderr.contains(&pw), "{}", out.stderr);
        assert!(!out.stdout.contains(&pw), "{}", out.stdout);
        assert!(out.stderr.contains("password"), "{}", out.stderr);
    }
    let out = r.run(&[
        "scan",
        "--offline",
        "--repo-url",
        &r.url,
        "--repo-branch",
        "--upload-pack=touch x",
    ]);
    assert_eq!(out.code, 2, "{}", out.stderr);
}

/// Issue 10 item 12: a remote name that git would read as an option is refused before
/// `git push` runs, after the local commit was made.
#[test]
fn regression_10_option_like_push_remote_is_refused() {
    let r = remote_fixture();
    let marker = r.home().join("pwned");
    let out = run(r
        .t
        .credman()
        .args(["prune", "--offline"])
        .arg(format!("--push=--receive-pack=touch {}", marker.display())));
    assert_eq!(out.code, 2, "{}\n{}", out.stdout, out.stderr);
    assert!(out.stderr.contains("starts with '-'"), "{}", out.stderr);
    assert!(!marker.exists(), "git ran the injected program");
    r.t.git(&["fsck", "--strict"]);
}

#[test]
fn file_url_prune_push_updates_the_remote() {
    let r = remote_fixture();
    let old = r.bare_rev("main");
    let out = r.run(&[
        "prune",
        "--offline",
        "--format",
        "json",
        "--repo-url",
        &r.url,
        "--push",
    ]);
    assert_eq!(out.code, 0, "{}\n{}", out.stdout, out.stderr);
    assert_eq!(out.json()["source"]["kind"], "remote");
    let new = r.bare_rev("main");
    assert_ne!(new, old);
    assert_eq!(r.bare_rev("main^"), old);
    let tree = r.bare_tree("main");
    assert!(!tree.iter().any(|p| p == DEAD), "{tree:?}");
    assert!(tree.iter().any(|p| p == LIVE), "{tree:?}");
    r.bare_git(&["fsck", "--strict"]);
    assert!(r.leftovers().is_empty(), "{:?}", r.leftovers());
}

#[test]
fn file_url_repo_branch_selects_the_branch() {
    let r = remote_fixture();
    let out = r.run(&[
        "scan",
        "--offline",
        "--format",
        "json",
        "--repo-url",
        &r.url,
        "--repo-branch",
        "other",
    ]);
    assert_eq!(out.code, 0, "{}\n{}", out.stdout, out.stderr);
    let rep = out.json();
    assert_eq!(rep["source"]["commit"], r.bare_rev("other").as_str());
    assert_eq!(paths(&rep), [LIVE]);
    assert!(r.leftovers().is_empty(), "{:?}", r.leftovers());
}

#[test]
fn file_url_missing_branch_is_an_error_without_leftovers() {
    let r = remote_fixture();
    let out = r.run(&[
        "scan",
        "--offline",
        "--repo-url",
        &r.url,
        "--repo-branch",
        "nope",
    ]);
    assert_eq!(out.code, 2, "{}\n{}", out.stdout, out.stderr);
    assert_eq!(out.stderr.trim().lines().count(), 1, "{}", out.stderr);
    assert!(r.leftovers().is_empty(), "{:?}", r.leftovers());
}

#[test]
fn unreachable_url_is_an_error_without_leftovers() {
    let r = remote_fixture();
    for cmd in ["scan", "prune"] {
        let out = r.run(&[cmd, "--offline", "--repo-url", "file:///nonexistent/x.git"]);
        assert_eq!(out.code, 2, "{cmd}: {}\n{}", out.stdout, out.stderr);
        assert!(!out.stderr.trim().is_empty());
        assert!(r.leftovers().is_empty(), "{cmd}: {:?}", r.leftovers());
    }
}

// ---------------------------------------------------------------------------------------------
// 2. --workdir

#[test]
fn workdir_is_cloned_then_fetched_and_fast_forwarded() {
    let r = remote_fixture();
    let wd = r.home().join("wd");
    let wds = wd.to_str().unwrap();
    let scan = |r: &Remote| {
        r.run(&[
            "scan",
            "--offline",
            "--format",
            "json",
            "--repo-url",
            &r.url,
            "--workdir",
            wds,
        ])
    };
    let out = scan(&r);
    assert_eq!(out.code, 1, "{}\n{}", out.stdout, out.stderr);
    assert_eq!(out.json()["source"]["commit"], r.bare_rev("main").as_str());
    assert!(wd.join(".git").is_dir(), "workdir not kept");
    assert!(wd.join(LIVE).is_file());
    {
        // Issue 10 item 9: the clone holds every credential; only its owner may enter it.
        use std::os::unix::fs::PermissionsExt as _;
        let mode = std::fs::metadata(&wd).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o700, "{mode:o}");
    }

    // A new commit on the remote.
    let other = r.other_clone("other");
    write_json_in(
        &other,
        "auths/codex-live2.json",
        &codex_live("erin@example.com", "acct-9", "pro"),
    );
    git_in(r.home(), &other, &["add", "-A"]);
    git_in(r.home(), &other, &["commit", "-q", "-m", "add erin"]);
    git_in(r.home(), &other, &["push", "-q", "origin", "main"]);

    let out = scan(&r);
    assert_eq!(out.code, 1, "{}\n{}", out.stdout, out.stderr);
    let rep = out.json();
    assert_eq!(rep["source"]["commit"], r.bare_rev("main").as_str());
    assert!(paths(&rep).iter().any(|p| p == "auths/codex-live2.json"));
    assert!(r.leftovers().is_empty(), "{:?}", r.leftovers());
}

#[test]
fn workdir_with_local_changes_is_refused_and_untouched() {
    let r = remote_fixture();
    let wd = r.home().join("wd");
    let wds = wd.to_str().unwrap();
    let args = ["scan", "--offline", "--repo-url", &r.url, "--workdir", wds];
    assert_eq!(r.run(&args).code, 1);
    let head = git_in(r.home(), &wd, &["rev-parse", "HEAD"]);
    std::fs::write(wd.join("README.md"), "local edit\n").unwrap();
    // The remote moves too: a refusal must not fast-forward.
    let other = r.other_clone("other");
    std::fs::write(other.join("NEW.md"), "x\n").unwrap();
    git_in(r.home(), &other, &["add", "-A"]);
    git_in(r.home(), &other, &["commit", "-q", "-m", "new"]);
    git_in(r.home(), &other, &["push", "-q", "origin", "main"]);

    let out = r.run(&args);
    assert_eq!(out.code, 2, "{}\n{}", out.stdout, out.stderr);
    assert!(out.stderr.contains("local changes"), "{}", out.stderr);
    assert_eq!(
        std::fs::read_to_string(wd.join("README.md")).unwrap(),
        "local edit\n"
    );
    assert_eq!(git_in(r.home(), &wd, &["rev-parse", "HEAD"]), head);
    assert!(!wd.join("NEW.md").exists());
}

#[test]
fn workdir_of_another_remote_is_refused() {
    let r = remote_fixture();
    let bare2 = r.home().join("srv").join("remote2.git");
    r.bare_git(&["clone", "-q", "--bare", &r.url, bare2.to_str().unwrap()]);
    let wd = r.home().join("wd2");
    git_in(
        r.home(),
        r.home(),
        &[
            "clone",
            "-q",
            &format!("file://{}", bare2.display()),
            wd.to_str().unwrap(),
        ],
    );
    let head = git_in(r.home(), &wd, &["rev-parse", "HEAD"]);
    let out = r.run(&[
        "scan",
        "--offline",
        "--repo-url",
        &r.url,
        "--workdir",
        wd.to_str().unwrap(),
    ]);
    assert_eq!(out.code, 2, "{}\n{}", out.stdout, out.stderr);
    assert!(out.stderr.contains("another remote"), "{}", out.stderr);
    assert_eq!(git_in(r.home(), &wd, &["rev-parse", "HEAD"]), head);
}

#[test]
fn workdir_non_empty_non_repo_is_refused_and_untouched() {
    let r = remote_fixture();
    let wd = r.home().join("junk");
    std::fs::create_dir_all(&wd).unwrap();
    std::fs::write(wd.join("keep.txt"), "mine\n").unwrap();
    let out = r.run(&[
        "scan",
        "--offline",
        "--repo-url",
        &r.url,
        "--workdir",
        wd.to_str().unwrap(),
    ]);
    assert_eq!(out.code, 2, "{}\n{}", out.stdout, out.stderr);
    let names: Vec<_> = std::fs::read_dir(&wd)
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .collect();
    assert_eq!(names, ["keep.txt"]);
    assert_eq!(
        std::fs::read_to_string(wd.join("keep.txt")).unwrap(),
        "mine\n"
    );

    // A non-empty directory inside another repository (the seed repo) is refused too.
    let inner = r.t.root.join("sub");
    std::fs::create_dir_all(&inner).unwrap();
    std::fs::write(inner.join("keep.txt"), "mine\n").unwrap();
    let out = r.run(&[
        "scan",
        "--offline",
        "--repo-url",
        &r.url,
        "--workdir",
        inner.to_str().unwrap(),
    ]);
    assert_eq!(out.code, 2, "{}\n{}", out.stdout, out.stderr);
    assert!(!inner.join(".git").exists());
}

// ---------------------------------------------------------------------------------------------
// 3. The remote moved

#[test]
fn prune_push_with_workdir_after_the_remote_moved() {
    let r = remote_fixture();
    let wd = r.home().join("wd");
    let wds = wd.to_str().unwrap();
    assert_eq!(
        r.run(&["scan", "--offline", "--repo-url", &r.url, "--workdir", wds])
            .code,
        1
    );
    // Another clone rewrites the dead file (still dead, different token) and adds a file.
    let other = r.other_clone("other");
    write_json_in(&other, DEAD, &codex_dead("carol@example.com", "acct-2b"));
    write_json_in(
        &other,
        "auths/codex-live2.json",
        &codex_live("erin@example.com", "acct-9", "pro"),
    );
    git_in(r.home(), &other, &["add", "-A"]);
    git_in(
        r.home(),
        &other,
        &["commit", "-q", "-m", "rotate carol; add erin"],
    );
    git_in(r.home(), &other, &["push", "-q", "origin", "main"]);
    let moved = r.bare_rev("main");

    let out = r.run(&[
        "prune",
        "--offline",
        "--repo-url",
        &r.url,
        "--workdir",
        wds,
        "--push",
    ]);
    assert_eq!(out.code, 0, "{}\n{}", out.stdout, out.stderr);
    assert_eq!(r.bare_rev("main^"), moved);
    let tree = r.bare_tree("main");
    assert!(!tree.iter().any(|p| p == DEAD), "{tree:?}");
    assert!(tree.iter().any(|p| p == "auths/codex-live2.json"));
    assert!(tree.iter().any(|p| p == LIVE));
    r.bare_git(&["fsck", "--strict"]);
    assert_eq!(
        git_in(r.home(), &wd, &["rev-parse", "HEAD"]).trim(),
        r.bare_rev("main"),
        "workdir not at the pushed commit"
    );
}

/// A true race: the remote moves between the tool's clone and its push. A receive-pack wrapper
/// (remote.origin.receivepack via GIT_CONFIG_COUNT) pushes an unrelated commit from another
/// clone just before the tool's push is served.
#[test]
fn prune_push_rebuilds_when_the_remote_moves_during_the_run() {
    let r = remote_fixture();
    let other = r.other_clone("other");
    std::fs::write(other.join("NOTES.md"), "racing commit\n").unwrap();
    git_in(r.home(), &other, &["add", "-A"]);
    git_in(r.home(), &other, &["commit", "-q", "-m", "racing commit"]);
    let racing = git_in(r.home(), &other, &["rev-parse", "HEAD"])
        .trim()
        .to_owned();
    let mark = r.home().join("raced");
    let wrapper = r.home().join("racing-receive-pack.sh");
    std::fs::write(
        &wrapper,
        format!(
            "#!/bin/sh\nif [ ! -e '{mark}' ]; then : > '{mark}'; \
             env -u GIT_DIR -u GIT_CONFIG_COUNT git -C '{other}' push -q origin HEAD:main >&2 || exit 1; fi\n\
             exec git receive-pack \"$@\"\n",
            mark = mark.display(),
            other = other.display()
        ),
    )
    .unwrap();
    {
        use std::os::unix::fs::PermissionsExt as _;
        std::fs::set_permissions(&wrapper, std::fs::Permissions::from_mode(0o755)).unwrap();
    }
    let out = run(r
        .cmd()
        .env("GIT_CONFIG_COUNT", "1")
        .env("GIT_CONFIG_KEY_0", "remote.origin.receivepack")
        .env("GIT_CONFIG_VALUE_0", &wrapper)
        .args(["prune", "--offline", "--repo-url", &r.url, "--push"]));
    assert_eq!(out.code, 0, "{}\n{}", out.stdout, out.stderr);
    assert!(mark.exists(), "the race was not triggered");
    assert_eq!(r.bare_rev("main^"), racing, "{}", out.stderr);
    let tree = r.bare_tree("main");
    assert!(!tree.iter().any(|p| p == DEAD), "{tree:?}");
    assert!(tree.iter().any(|p| p == "NOTES.md"));
    r.bare_git(&["fsck", "--strict"]);
    assert!(r.leftovers().is_empty(), "{:?}", r.leftovers());
}

// ---------------------------------------------------------------------------------------------
// 4. HTTPS token over loopback http (smart HTTP via git http-backend)

#[test]
fn http_token_clones_pushes_and_never_leaks() {
    let r = remote_fixture();
    let user = "x-access-token";
    let token = format!("ghs_{}", noise("git-token", 36));
    let auth = format!(
        "Basic {}",
        base64::engine::general_purpose::STANDARD.encode(format!("{user}:{token}"))
    );
    let srv = start_git_http(r.home().join("srv"), r.home().to_path_buf(), auth);
    let url = format!("http://127.0.0.1:{}/remote.git", srv.port);
    let mut outputs = Vec::new();

    // scan with the token works.
    let out = run(r.cmd().env("GIT_CREDMAN_GIT_TOKEN", &token).args([
        "scan",
        "--offline",
        "--format",
        "json",
        "--repo-url",
        &url,
    ]));
    assert_eq!(out.code, 1, "{}\n{}", out.stdout, out.stderr);
    let rep = out.json();
    assert_eq!(rep["source"]["kind"], "remote");
    assert_eq!(rep["source"]["url"], url.as_str());
    assert_eq!(rep["source"]["commit"], r.bare_rev("main").as_str());
    outputs.push(out);

    // Without the token: refused by the server.
    let out = run(r.cmd().args(["scan", "--offline", "--repo-url", &url]));
    assert_eq!(out.code, 2, "{}\n{}", out.stdout, out.stderr);
    outputs.push(out);

    // prune --push with the token into a workdir (kept for the leak check).
    let old = r.bare_rev("main");
    let wd = r.home().join("wd");
    let out = run(r.cmd().env("GIT_CREDMAN_GIT_TOKEN", &token).args([
        "prune",
        "--offline",
        "--repo-url",
        &url,
        "--workdir",
        wd.to_str().unwrap(),
        "--push",
    ]));
    assert_eq!(out.code, 0, "{}\n{}", out.stdout, out.stderr);
    assert_eq!(r.bare_rev("main^"), old);
    assert!(!r.bare_tree("main").iter().any(|p| p == DEAD));
    r.bare_git(&["fsck", "--strict"]);
    outputs.push(out);

    // A second run reuses the workdir (fetch through askpass).
    let out = run(r.cmd().env("GIT_CREDMAN_GIT_TOKEN", &token).args([
        "scan",
        "--offline",
        "--format",
        "json",
        "--repo-url",
        &url,
        "--workdir",
        wd.to_str().unwrap(),
    ]));
    assert_eq!(out.code, 0, "{}\n{}", out.stdout, out.stderr);
    outputs.push(out);

    // Non-loopback plain http with a token: refused before any connection.
    let out = run(r.cmd().env("GIT_CREDMAN_GIT_TOKEN", &token).args([
        "scan",
        "--offline",
        "--repo-url",
        "http://example.invalid/x.git",
    ]));
    assert_eq!(out.code, 2, "{}\n{}", out.stdout, out.stderr);
    assert!(out.stderr.contains("refusing"), "{}", out.stderr);
    outputs.push(out);

    // Userinfo in the URL: refused, token not echoed.
    let hits = srv.hits.load(std::sync::atomic::Ordering::SeqCst);
    let with_userinfo = format!("http://u:{token}@127.0.0.1:{}/remote.git", srv.port);
    let out = run(r
        .cmd()
        .args(["scan", "--offline", "--repo-url", &with_userinfo]));
    assert_eq!(out.code, 2, "{}\n{}", out.stdout, out.stderr);
    assert_eq!(srv.hits.load(std::sync::atomic::Ordering::SeqCst), hits);
    outputs.push(out);

    for (i, o) in outputs.iter().enumerate() {
        assert!(!o.stdout.contains(&token), "run {i}: token on stdout");
        assert!(!o.stderr.contains(&token), "run {i}: token on stderr");
    }
    for f in files_under(&wd.join(".git")) {
        let bytes = std::fs::read(&f).unwrap();
        assert!(
            !contains(&bytes, token.as_bytes()),
            "token in {}",
            f.display()
        );
    }
    assert!(r.leftovers().is_empty(), "{:?}", r.leftovers());
}

// ---------------------------------------------------------------------------------------------
// 5. ssh through a fake `ssh`

#[test]
fn git_key_uses_ssh_with_the_key_and_options() {
    let r = remote_fixture();
    let bin = r.home().join("bin");
    std::fs::create_dir_all(&bin).unwrap();
    let log = r.home().join("ssh.log");
    let ssh = bin.join("ssh");
    std::fs::write(
        &ssh,
        format!(
            "#!/bin/sh\nfor a in \"$@\"; do [ \"$a\" = -G ] && {{ echo 'user git'; echo 'hostname fakehost'; exit 0; }}; done\n\
             for a in \"$@\"; do printf '%s\\n' \"$a\"; done >> '{log}'\necho --- >> '{log}'\n\
             while [ $# -gt 0 ]; do case \"$1\" in -[oiplFJEcmbS]) shift 2 ;; -*) shift ;; *) shift; break ;; esac; done\n\
             exec sh -c \"$*\"\n",
            log = log.display()
        ),
    )
    .unwrap();
    {
        use std::os::unix::fs::PermissionsExt as _;
        std::fs::set_permissions(&ssh, std::fs::Permissions::from_mode(0o755)).unwrap();
    }
    let key = r.home().join("id_test");
    std::fs::write(&key, "not really a key\n").unwrap();
    let path = format!(
        "{}:{}",
        bin.display(),
        std::env::var("PATH").unwrap_or_default()
    );
    let url = format!("ssh://git@fakehost{}", r.bare.display());
    let args = |cmd: &'static str| {
        vec![
            cmd.to_owned(),
            "--offline".into(),
            "--format".into(),
            "json".into(),
            "--repo-url".into(),
            url.clone(),
            "--git-key".into(),
            key.display().to_string(),
            "--ssh-option".into(),
            "StrictHostKeyChecking=no".into(),
        ]
    };
    let out = run(r.cmd().env("PATH", &path).args(args("scan")));
    assert_eq!(out.code, 1, "{}\n{}", out.stdout, out.stderr);
    let rep = out.json();
    assert_eq!(rep["source"]["kind"], "remote");
    assert_eq!(rep["source"]["commit"], r.bare_rev("main").as_str());
    let logged = std::fs::read_to_string(&log).unwrap();
    let first: Vec<&str> = logged.split("---\n").next().unwrap().lines().collect();
    let has_pair = |a: &str, b: &str| first.windows(2).any(|w| w[0] == a && w[1] == b);
    assert!(has_pair("-i", &key.display().to_string()), "{first:?}");
    assert!(has_pair("-o", "IdentitiesOnly=yes"), "{first:?}");
    assert!(has_pair("-o", "BatchMode=yes"), "{first:?}");
    assert!(has_pair("-o", "StrictHostKeyChecking=no"), "{first:?}");
    assert!(
        first.iter().any(|a| a.contains("git-upload-pack")),
        "{first:?}"
    );

    // prune --push goes through git with GIT_SSH_COMMAND.
    let old = r.bare_rev("main");
    let out = run(r.cmd().env("PATH", &path).args(args("prune")).arg("--push"));
    assert_eq!(out.code, 0, "{}\n{}", out.stdout, out.stderr);
    assert_eq!(r.bare_rev("main^"), old);
    let logged = std::fs::read_to_string(&log).unwrap();
    let push = logged
        .split("---\n")
        .find(|s| s.contains("git-receive-pack"))
        .unwrap_or_else(|| panic!("no receive-pack call: {logged}"));
    let push: Vec<&str> = push.lines().collect();
    assert!(
        push.windows(2)
            .any(|w| w[0] == "-i" && w[1] == key.display().to_string()),
        "{push:?}"
    );
    assert!(
        push.windows(2)
            .any(|w| w[0] == "-o" && w[1] == "BatchMode=yes"),
        "{push:?}"
    );
    assert!(r.leftovers().is_empty(), "{:?}", r.leftovers());
}

/// Reusing a workdir cloned for `main` with `--repo-branch other` must not move the local
/// `main` to `other`'s commits, nor push `other`'s prune to the remote `main`.
#[test]
fn workdir_reuse_with_another_branch_does_not_cross_branches() {
    let r = remote_fixture();
    let wd = r.home().join("wd");
    let wds = wd.to_str().unwrap();
    let out = r.run(&["scan", "--offline", "--repo-url", &r.url, "--workdir", wds]);
    assert_eq!(out.code, 1, "{}\n{}", out.stdout, out.stderr);
    // `other` gets a dead file of its own.
    let other = r.other_clone("other");
    git_in(r.home(), &other, &["checkout", "-q", "other"]);
    write_json_in(
        &other,
        "auths/other-dead.json",
        &codex_dead("olga@example.com", "acct-7"),
    );
    git_in(r.home(), &other, &["add", "-A"]);
    git_in(r.home(), &other, &["commit", "-q", "-m", "other: dead"]);
    git_in(r.home(), &other, &["push", "-q", "origin", "other"]);
    let (main_before, other_before) = (r.bare_rev("main"), r.bare_rev("other"));

    let out = r.run(&[
        "prune",
        "--offline",
        "--repo-url",
        &r.url,
        "--workdir",
        wds,
        "--repo-branch",
        "other",
        "--push",
    ]);
    assert_eq!(
        r.bare_rev("main"),
        main_before,
        "remote main moved: {}\n{}",
        out.stdout,
        out.stderr
    );
    if out.code == 0 {
        assert_eq!(r.bare_rev("other^"), other_before, "{}", out.stderr);
    } else {
        assert_eq!(out.code, 2, "{}\n{}", out.stdout, out.stderr);
        assert_eq!(r.bare_rev("other"), other_before);
    }
}

/// Issue 16 item 10: `--repo-url https://USER@host/…` is accepted; the user name sets the user
/// (over GIT_CREDMAN_GIT_USER) for the token, only a password is refused, and no report or
/// message shows the userinfo.
#[test]
fn regression_16_https_url_with_a_user_name() {
    let r = remote_fixture();
    let user = "ci-bot";
    let token = format!("ghs_{}", noise("user-url", 36));
    let auth = format!(
        "Basic {}",
        base64::engine::general_purpose::STANDARD.encode(format!("{user}:{token}"))
    );
    let srv = start_git_http(r.home().join("srv"), r.home().to_path_buf(), auth);
    let plain = format!("http://127.0.0.1:{}/remote.git", srv.port);
    let with_user = format!("http://{user}@127.0.0.1:{}/remote.git", srv.port);
    let mut outputs = Vec::new();

    let out = run(r
        .cmd()
        .env("GIT_CREDMAN_GIT_TOKEN", &token)
        .env("GIT_CREDMAN_GIT_USER", "someone-else")
        .args([
            "scan",
            "--offline",
            "--format",
            "json",
            "--repo-url",
            &with_user,
        ]));
    assert_eq!(out.code, 1, "{}\n{}", out.stdout, out.stderr);
    assert_eq!(out.json()["source"]["url"], plain.as_str());
    outputs.push(out);

    // prune --push into a workdir, then a reuse: the push and the fetch go through askpass
    // with the URL's user.
    let wd = r.home().join("wd");
    let old = r.bare_rev("main");
    let out = run(r.cmd().env("GIT_CREDMAN_GIT_TOKEN", &token).args([
        "prune",
        "--offline",
        "--repo-url",
        &with_user,
        "--workdir",
        wd.to_str().unwrap(),
        "--push",
    ]));
    assert_eq!(out.code, 0, "{}\n{}", out.stdout, out.stderr);
    assert_eq!(r.bare_rev("main^"), old);
    let msg = r.bare_git(&["log", "-1", "--format=%B", "main"]);
    assert!(!msg.contains(&format!("{user}@")), "{msg}");
    r.bare_git(&["fsck", "--strict"]);
    outputs.push(out);
    let out = run(r.cmd().env("GIT_CREDMAN_GIT_TOKEN", &token).args([
        "scan",
        "--offline",
        "--repo-url",
        &with_user,
        "--workdir",
        wd.to_str().unwrap(),
    ]));
    assert_eq!(out.code, 0, "{}\n{}", out.stdout, out.stderr);
    outputs.push(out);

    // Without the token the host refuses: an error, still without the userinfo.
    let out = run(r
        .cmd()
        .args(["scan", "--offline", "--repo-url", &with_user]));
    assert_eq!(out.code, 2, "{}\n{}", out.stdout, out.stderr);
    outputs.push(out);

    // A password is still refused before any connection.
    let hits = srv.hits.load(std::sync::atomic::Ordering::SeqCst);
    let with_password = format!("http://{user}:{token}@127.0.0.1:{}/remote.git", srv.port);
    let out = run(r
        .cmd()
        .args(["scan", "--offline", "--repo-url", &with_password]));
    assert_eq!(out.code, 2, "{}\n{}", out.stdout, out.stderr);
    assert!(out.stderr.contains("password"), "{}", out.stderr);
    assert_eq!(srv.hits.load(std::sync::atomic::Ordering::SeqCst), hits);
    outputs.push(out);

    for (i, o) in outputs.iter().enumerate() {
        for text in [&o.stdout, &o.stderr] {
            assert!(!text.contains(&token), "run {i}: token shown");
            assert!(
                !text.contains(&format!("{user}@")),
                "run {i}: userinfo shown: {text}"
            );
        }
    }
    for f in files_under(&wd.join(".git")) {
        let bytes = std::fs::read(&f).unwrap();
        assert!(
            !contains(&bytes, token.as_bytes()),
            "token in {}",
            f.display()
        );
    }
    assert!(r.leftovers().is_empty(), "{:?}", r.leftovers());
}
