//! Issue 10, "Data loss": interrupted prunes are finished, signals release every lock, files
//! changed during the scan survive, names stay bytes, symlinked directories are not followed,
//! and a --dir prune finishes past a file it cannot move. Checked with the real git CLI.
//! Regression tests for issue 10 (`issues show 10`). Runs are stopped at exact points with the
//! test-only pause hook (`GIT_CREDMAN_TEST_PAUSE_AT`/`_FILE`, see `src/interrupt.rs`).

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::json;
use wiremock::matchers::{header, method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

use crate::support::providers::*;
use crate::support::*;

/// A prune of the test binary that pauses at `step` (the test-only hook).
pub struct Paused {
    pub child: Child,
    pub pause: PathBuf,
}

/// Spawns `git credman ARGS` in `dir` with the scrubbed environment and the pause hook set.
pub fn spawn_paused(home: &Path, dir: &Path, args: &[&str], step: Option<&str>) -> Paused {
    let pause = home.join(format!("pause-{}", step.unwrap_or("none")));
    let _ = std::fs::remove_file(&pause);
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_git-credman"));
    cmd.args(args)
        .current_dir(dir)
        .env_clear()
        .envs(scrubbed_env(home))
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    if let Some(step) = step {
        cmd.env("GIT_CREDMAN_TEST_PAUSE_AT", step)
            .env("GIT_CREDMAN_TEST_PAUSE_FILE", &pause);
    }
    Paused {
        child: cmd.spawn().unwrap(),
        pause,
    }
}

impl Paused {
    /// Waits until the run is paused at its step; panics after 30 s or if it exited first.
    pub fn wait_paused(&mut self) {
        let start = Instant::now();
        while !self.pause.exists() {
            if let Some(status) = self.child.try_wait().unwrap() {
                let out = self.child.wait_with_output_ref();
                panic!(
                    "exited ({status}) before pausing at {}: {out}",
                    self.pause.display()
                );
            }
            assert!(
                start.elapsed() < Duration::from_secs(30),
                "never paused at {}",
                self.pause.display()
            );
            std::thread::sleep(Duration::from_millis(5));
        }
    }

    /// Lets the run go on.
    pub fn resume(&self) {
        let _ = std::fs::remove_file(&self.pause);
    }

    /// Sends a signal (`KILL`, `INT`, `TERM`, `HUP`).
    pub fn signal(&self, sig: &str) {
        let ok = Command::new("kill")
            .args(["-s", sig, &self.child.id().to_string()])
            .status()
            .unwrap()
            .success();
        assert!(ok, "kill -s {sig} failed");
    }

    /// Waits for the exit (at most 30 s); returns (exit code or -signal, stderr).
    pub fn finish(mut self) -> (i32, String) {
        let start = Instant::now();
        loop {
            if let Some(status) = self.child.try_wait().unwrap() {
                let stderr = self.child.wait_with_output_ref();
                #[cfg(unix)]
                {
                    use std::os::unix::process::ExitStatusExt as _;
                    if let Some(sig) = status.signal() {
                        return (-sig, stderr);
                    }
                }
                return (status.code().unwrap_or(-1), stderr);
            }
            if start.elapsed() > Duration::from_secs(30) {
                let _ = self.child.kill();
                panic!("the run did not end");
            }
            std::thread::sleep(Duration::from_millis(5));
        }
    }
}

trait ReadErr {
    fn wait_with_output_ref(&mut self) -> String;
}

impl ReadErr for Child {
    fn wait_with_output_ref(&mut self) -> String {
        use std::io::Read as _;
        let mut s = String::new();
        if let Some(mut e) = self.stderr.take() {
            let _ = e.read_to_string(&mut s);
        }
        s
    }
}

/// Runs git; returns (success, stdout as bytes).
pub fn git_raw(t: &TestRepo, dir: &Path, args: &[&str]) -> (bool, Vec<u8>) {
    let out = Command::new("git")
        .args(args)
        .current_dir(dir)
        .env_clear()
        .envs(scrubbed_env(t.home()))
        .output()
        .unwrap();
    (out.status.success(), out.stdout)
}

fn status(t: &TestRepo) -> Vec<String> {
    t.git(&["status", "--porcelain"])
        .lines()
        .map(str::to_owned)
        .collect()
}

fn pool(t: &TestRepo, dead: usize, live: usize) -> Vec<String> {
    let mut dead_paths = Vec::new();
    for i in 0..dead {
        let p = format!("auths/codex-dead-{i}.json");
        t.write_json(
            &p,
            &codex_dead(&format!("d{i}@example.com"), &format!("a{i}")),
        );
        dead_paths.push(p);
    }
    for i in 0..live {
        t.write_json(
            &format!("auths/codex-live-{i}.json"),
            &codex_live(&format!("l{i}@example.com"), &format!("b{i}"), "plus"),
        );
    }
    t.commit_all("pool");
    dead_paths
}

fn prune_args() -> Vec<&'static str> {
    vec!["prune", "--offline", "--no-sign"]
}

#[test]
fn regression_10_interrupted_prune_is_finished_by_the_next_start() {
    for step in [
        "ref-moved",
        "index-written",
        "worktree-half",
        "worktree-done",
    ] {
        let t = TestRepo::new();
        let dead = pool(&t, 6, 2);
        t.write("notes.txt", "mine\n");
        t.git(&["add", "notes.txt"]);
        let old = t.git(&["rev-parse", "HEAD"]);
        let mut p = spawn_paused(t.home(), &t.root, &prune_args(), Some(step));
        p.wait_paused();
        p.signal("KILL");
        let (code, _) = p.finish();
        assert_eq!(code, -9, "{step}");
        // The commit is HEAD; the index or the working tree may still hold removed files.
        assert_eq!(t.git(&["rev-parse", "HEAD~1"]), old, "{step}");
        // Any later start finishes it (here a read-only scan) and says so.
        let r = run(t.credman().args(["scan", "--offline"]));
        assert!(
            step == "worktree-done" || r.stderr.contains("finished the prune interrupted earlier"),
            "{step}: {}",
            r.stderr
        );
        t.git(&["fsck", "--strict"]);
        assert_eq!(status(&t), ["A  notes.txt"], "{step}");
        for d in &dead {
            assert!(!t.root.join(d).exists(), "{step}: {d} is back");
        }
        assert!(!t.root.join(".git/credman-prune-pending").exists());
        // A plain rerun has nothing to do and `git add -A` brings nothing back.
        let r = run(t.credman().args(prune_args()));
        assert_eq!(r.code, 0, "{step}: {}", r.stderr);
        t.git(&["add", "-A"]);
        assert_eq!(status(&t), ["A  notes.txt"], "{step}");
    }
}

#[test]
fn regression_10_finish_keeps_a_file_changed_since() {
    let t = TestRepo::new();
    let dead = pool(&t, 3, 1);
    let mut p = spawn_paused(t.home(), &t.root, &prune_args(), Some("index-written"));
    p.wait_paused();
    p.signal("KILL");
    p.finish();
    // A re-login rewrote one of them meanwhile: it is not the removed blob any more.
    t.write(
        &dead[0],
        "{\"type\":\"codex\",\"email\":\"new@example.com\"}",
    );
    run(t.credman().args(["scan", "--offline"]));
    assert!(t.root.join(&dead[0]).exists());
    assert!(!t.root.join(&dead[1]).exists());
    assert_eq!(status(&t), [format!("?? {}", dead[0])]);
    t.git(&["fsck", "--strict"]);
}

#[test]
fn regression_10_signals_release_every_lock() {
    // (step, signal, expected exit, whether the prune is made)
    let cases = [
        ("scanned", "INT", 130, false),
        ("signed", "TERM", 143, false),
        ("index-locked", "INT", 130, false),
        ("index-locked", "HUP", 129, false),
        ("marker-written", "TERM", 143, true),
        ("ref-moved", "INT", 130, true),
        ("worktree-half", "TERM", 143, true),
    ];
    for (step, sig, want, made) in cases {
        let t = TestRepo::new();
        let dead = pool(&t, 4, 1);
        let old = t.git(&["rev-parse", "HEAD"]);
        let mut p = spawn_paused(t.home(), &t.root, &prune_args(), Some(step));
        p.wait_paused();
        p.signal(sig);
        std::thread::sleep(Duration::from_millis(50));
        p.resume();
        let (code, stderr) = p.finish();
        assert_eq!(code, want, "{step}/{sig}: {stderr}");
        for lock in ["index.lock", "HEAD.lock", "refs/heads/main.lock"] {
            assert!(
                !t.root.join(".git").join(lock).exists(),
                "{step}/{sig}: {lock} left"
            );
        }
        assert!(!t.root.join(".git/credman-prune-pending").exists());
        t.git(&["fsck", "--strict"]);
        assert_eq!(status(&t), Vec::<String>::new(), "{step}/{sig}");
        if made {
            assert_eq!(t.git(&["rev-parse", "HEAD~1"]), old, "{step}/{sig}");
            assert!(dead.iter().all(|d| !t.root.join(d).exists()));
        } else {
            assert_eq!(t.git(&["rev-parse", "HEAD"]), old, "{step}/{sig}");
            assert!(dead.iter().all(|d| t.root.join(d).exists()));
        }
    }
}

#[test]
fn regression_10_dir_signal_during_the_report_write_finishes() {
    let t = TestRepo::bare_dir();
    let dir = t.home().join("pool");
    for i in 0..4 {
        let v = codex_dead(&format!("d{i}@example.com"), &format!("a{i}"));
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(dir.join(format!("dead-{i}.json")), v.to_string()).unwrap();
    }
    let q = t.home().join("q");
    let args = [
        "prune",
        "--offline",
        "--dir",
        dir.to_str().unwrap(),
        "--quarantine",
        q.to_str().unwrap(),
    ];
    let mut p = spawn_paused(t.home(), t.home(), &args, Some("report-tmp"));
    p.wait_paused();
    p.signal("TERM");
    std::thread::sleep(Duration::from_millis(50));
    p.resume();
    let (code, stderr) = p.finish();
    assert_eq!(code, 143, "{stderr}");
    let names: Vec<String> = std::fs::read_dir(&q)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    assert!(
        !names.iter().any(|n| std::path::Path::new(n)
            .extension()
            .is_some_and(|e| e.eq_ignore_ascii_case("tmp"))),
        "{names:?}"
    );
    let report = read_report(&q.join("credman-report.json"));
    assert_eq!(report["prune"]["removed"], 4);
    assert_eq!(names.len(), 5, "{names:?}");
}

#[tokio::test(flavor = "multi_thread")]
async fn regression_10_file_rewritten_during_the_scan_is_kept() {
    let server = MockServer::start().await;
    let t = TestRepo::new();
    let mut paths = Vec::new();
    for name in ["a", "b"] {
        let v = codex_live(
            &format!("{name}@example.com"),
            &format!("acct-{name}"),
            "plus",
        );
        let p = format!("auths/codex-{name}.json");
        t.write_json(&p, &v);
        Mock::given(method("GET"))
            .and(path("/backend-api/wham/usage"))
            .and(header(
                "authorization",
                format!("Bearer {}", v["access_token"].as_str().unwrap()).as_str(),
            ))
            .respond_with(
                ResponseTemplate::new(401)
                    .set_body_json(json!({"error":{"code":"token_invalidated"}}))
                    .set_delay(Duration::from_secs(3)),
            )
            .mount(&server)
            .await;
        paths.push(p);
    }
    t.commit_all("init");
    // CPA (or a re-login) rewrites one file while the online scan waits for the provider.
    let rewritten = t.root.join(&paths[0]);
    let fresh = codex_live("a@example.com", "acct-a", "pro").to_string();
    let fresh2 = fresh.clone();
    let writer = std::thread::spawn(move || {
        std::thread::sleep(Duration::from_millis(1200));
        std::fs::write(rewritten, fresh2).unwrap();
    });
    let mut args: Vec<String> = [
        "prune",
        "--no-sign",
        "--status",
        "invalidated",
        "--format",
        "json",
    ]
    .iter()
    .map(|s| (*s).to_owned())
    .collect();
    args.extend(endpoint_args(&server.uri()));
    let r = run(t.credman().args(&args));
    writer.join().unwrap();
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert_eq!(
        std::fs::read_to_string(t.root.join(&paths[0])).unwrap(),
        fresh
    );
    assert!(!t.root.join(&paths[1]).exists());
    let head = t.git(&["ls-tree", "-r", "--name-only", "HEAD"]);
    assert!(head.contains(&paths[0]), "{head}");
    assert!(!head.contains(&paths[1]), "{head}");
    let skipped = r.json()["prune"]["skipped"].to_string();
    assert!(skipped.contains(&paths[0]), "{skipped}");
    t.git(&["fsck", "--strict"]);
    assert_eq!(status(&t), [format!(" M {}", paths[0])]);
}

#[cfg(unix)]
fn write_bytes_name(dir: &Path, name: &[u8], content: &str) {
    use std::os::unix::ffi::OsStrExt as _;
    std::fs::create_dir_all(dir).unwrap();
    std::fs::write(dir.join(std::ffi::OsStr::from_bytes(name)), content).unwrap();
}

/// `ls-tree -z` names of a tree-ish, as bytes.
fn tree_bytes(t: &TestRepo, rev: &str) -> Vec<Vec<u8>> {
    let (ok, out) = git_raw(t, &t.root, &["ls-tree", "-r", "-z", "--name-only", rev]);
    assert!(ok);
    out.split(|b| *b == 0)
        .filter(|s| !s.is_empty())
        .map(<[u8]>::to_vec)
        .collect()
}

#[cfg(unix)]
#[test]
fn regression_10_names_that_are_not_utf8_stay_apart() {
    let alive = codex_live("alive@example.com", "acct-1", "plus").to_string();
    let dead = codex_dead("dead@example.com", "acct-2").to_string();
    for mode in ["branch", "worktree"] {
        let t = TestRepo::new();
        write_bytes_name(&t.root.join("auths"), b"x\xfe.json", &alive);
        write_bytes_name(&t.root.join("auths"), b"x\xff.json", &dead);
        t.write("README.md", "x\n");
        t.commit_all("init");
        let mut args = vec!["prune", "--offline", "--no-sign", "--format", "json"];
        if mode == "branch" {
            args.extend(["--branch", "cleanup"]);
        }
        let r = run(t.credman().args(&args));
        assert_eq!(r.code, 0, "{mode}: {}", r.stderr);
        let rev = if mode == "branch" { "cleanup" } else { "HEAD" };
        let names = tree_bytes(&t, rev);
        assert!(
            names.contains(&b"auths/x\xfe.json".to_vec()),
            "{mode}: {names:?}"
        );
        assert!(
            !names.contains(&b"auths/x\xff.json".to_vec()),
            "{mode}: {names:?}"
        );
        let report = r.json();
        assert_eq!(report["prune"]["removed"], 1, "{mode}: {report}");
        assert_eq!(paths(&report), ["auths/x\\xff.json"], "{mode}");
        t.git(&["fsck", "--strict"]);
        if mode == "worktree" {
            use std::os::unix::ffi::OsStrExt as _;
            let auths = t.root.join("auths");
            assert!(
                auths
                    .join(std::ffi::OsStr::from_bytes(b"x\xfe.json"))
                    .exists()
            );
            assert!(
                !auths
                    .join(std::ffi::OsStr::from_bytes(b"x\xff.json"))
                    .exists()
            );
            assert_eq!(status(&t), Vec::<String>::new());
        }
    }
}

#[cfg(unix)]
#[test]
fn regression_10_dir_names_that_are_not_utf8_are_moved_by_their_bytes() {
    use std::os::unix::ffi::OsStrExt as _;
    let t = TestRepo::bare_dir();
    let dir = t.home().join("pool");
    write_bytes_name(
        &dir,
        b"x\xfe.json",
        &codex_live("a@example.com", "a", "plus").to_string(),
    );
    write_bytes_name(
        &dir,
        b"x\xff.json",
        &codex_dead("d@example.com", "d").to_string(),
    );
    let q = t.home().join("q");
    let r = run(t.credman_in(t.home()).args([
        "prune",
        "--offline",
        "--dir",
        dir.to_str().unwrap(),
        "--quarantine",
        q.to_str().unwrap(),
    ]));
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert!(
        dir.join(std::ffi::OsStr::from_bytes(b"x\xfe.json"))
            .exists()
    );
    assert!(
        !dir.join(std::ffi::OsStr::from_bytes(b"x\xff.json"))
            .exists()
    );
    assert!(q.join(std::ffi::OsStr::from_bytes(b"x\xff.json")).exists());
}

#[cfg(unix)]
#[test]
fn regression_10_prune_does_not_delete_through_a_symlinked_auth_dir() {
    let t = TestRepo::new();
    let dead = codex_dead("d@example.com", "d");
    t.write_json("auths/dead.json", &dead);
    t.write("README.md", "x\n");
    t.commit_all("init");
    // The auth folder becomes a link to a folder outside the work tree holding the same file.
    let outside = t.home().join("outside");
    std::fs::create_dir_all(&outside).unwrap();
    std::fs::rename(t.root.join("auths/dead.json"), outside.join("dead.json")).unwrap();
    std::fs::remove_dir(t.root.join("auths")).unwrap();
    std::os::unix::fs::symlink(&outside, t.root.join("auths")).unwrap();
    let r = run(t
        .credman()
        .args(["prune", "--offline", "--no-sign", "--format", "json"]));
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert!(
        outside.join("dead.json").exists(),
        "deleted through the link"
    );
    let skipped = r.json()["prune"]["skipped"].to_string();
    assert!(skipped.contains("symbolic link"), "{skipped}");
    t.git(&["fsck", "--strict"]);
}

#[cfg(unix)]
#[test]
fn regression_10_restore_does_not_write_through_a_symlink() {
    let t = TestRepo::new();
    t.write_json("auths/dead.json", &codex_dead("d@example.com", "d"));
    t.write_json("auths/live.json", &codex_live("l@example.com", "l", "plus"));
    t.commit_all("init");
    let r = run(t.credman().args(["prune", "--offline", "--no-sign"]));
    assert_eq!(r.code, 0, "{}", r.stderr);
    let outside = t.home().join("outside");
    std::fs::create_dir_all(&outside).unwrap();
    std::fs::rename(t.root.join("auths/live.json"), outside.join("live.json")).unwrap();
    std::fs::remove_dir(t.root.join("auths")).unwrap();
    std::os::unix::fs::symlink(&outside, t.root.join("auths")).unwrap();
    let r = run(t.credman().args(["restore", "--no-sign", "HEAD"]));
    assert_ne!(r.code, 0, "{}", r.stdout);
    assert!(
        !outside.join("dead.json").exists(),
        "written through the link"
    );
    assert!(r.stderr.contains("symbolic link"), "{}", r.stderr);
    t.git(&["fsck", "--strict"]);
}

#[test]
fn regression_10_restore_checks_index_conflicts() {
    let t = TestRepo::new();
    t.write_json("auths/old/dead.json", &codex_dead("d@example.com", "d"));
    t.write_json("auths/live.json", &codex_live("l@example.com", "l", "plus"));
    t.commit_all("init");
    let r = run(t.credman().args(["prune", "--offline", "--no-sign"]));
    assert_eq!(r.code, 0, "{}", r.stderr);
    let prune = t.git(&["rev-parse", "HEAD"]);
    // A file is staged where the restored file's directory would go, then deleted from disk.
    t.write("auths/old", "a file now\n");
    t.git(&["add", "auths/old"]);
    std::fs::remove_file(t.root.join("auths/old")).unwrap();
    let r = run(t.credman().args(["restore", "--no-sign", prune.trim()]));
    assert_ne!(r.code, 0, "{}", r.stdout);
    t.git(&["fsck", "--strict"]);
    let (ok, _) = git_raw(&t, &t.root, &["write-tree"]);
    assert!(ok, "the index is broken");
    let files = t.git(&["ls-files", "--stage"]);
    assert!(!files.contains("auths/old/dead.json"), "{files}");
    assert_eq!(t.git(&["rev-parse", "HEAD"]), prune);
}

#[test]
fn regression_10_dir_prune_finishes_past_a_file_it_cannot_move() {
    let t = TestRepo::bare_dir();
    let dir = t.home().join("pool");
    std::fs::create_dir_all(&dir).unwrap();
    for name in ["a", "b", "c"] {
        let v = codex_dead(&format!("{name}@example.com"), name);
        std::fs::write(dir.join(format!("{name}.json")), v.to_string()).unwrap();
    }
    let q = t.home().join("q");
    // Something is already where b.json would go: that one move fails.
    std::fs::create_dir_all(&q).unwrap();
    std::fs::write(q.join("b.json"), "in the way").unwrap();
    let r = run(t.credman_in(t.home()).args([
        "prune",
        "--offline",
        "--dir",
        dir.to_str().unwrap(),
        "--quarantine",
        q.to_str().unwrap(),
    ]));
    assert_eq!(r.code, 2, "{}", r.stderr);
    assert!(
        r.stderr.contains("1 file(s) could not be moved"),
        "{}",
        r.stderr
    );
    assert!(!dir.join("a.json").exists() && !dir.join("c.json").exists());
    assert!(dir.join("b.json").exists());
    assert_eq!(
        std::fs::read_to_string(q.join("b.json")).unwrap(),
        "in the way"
    );
    let report = read_report(&q.join("credman-report.json"));
    assert_eq!(report["prune"]["removed"], 2);
    assert!(report["prune"]["skipped"].to_string().contains("b.json"));
}

#[test]
fn regression_10_restore_releases_every_lock_on_a_signal() {
    for (step, sig, want, made) in [
        ("restore-signed", "INT", 130, false),
        ("restore-locked", "TERM", 143, true),
    ] {
        let t = TestRepo::new();
        let dead = pool(&t, 3, 1);
        let r = run(t.credman().args(prune_args()));
        assert_eq!(r.code, 0, "{}", r.stderr);
        let pruned = t.git(&["rev-parse", "HEAD"]);
        let mut p = spawn_paused(
            t.home(),
            &t.root,
            &["restore", "--no-sign", "HEAD"],
            Some(step),
        );
        p.wait_paused();
        p.signal(sig);
        std::thread::sleep(Duration::from_millis(50));
        p.resume();
        let (code, stderr) = p.finish();
        assert_eq!(code, want, "{step}/{sig}: {stderr}");
        for lock in ["index.lock", "HEAD.lock", "refs/heads/main.lock"] {
            assert!(
                !t.root.join(".git").join(lock).exists(),
                "{step}: {lock} left"
            );
        }
        t.git(&["fsck", "--strict"]);
        assert_eq!(status(&t), Vec::<String>::new(), "{step}");
        if made {
            assert_eq!(t.git(&["rev-parse", "HEAD~1"]), pruned, "{step}");
            assert!(dead.iter().all(|d| t.root.join(d).exists()), "{step}");
        } else {
            assert_eq!(t.git(&["rev-parse", "HEAD"]), pruned, "{step}");
        }
    }
}

/// The scan asks once per directory whether it lies below a link (issue 13), and the answer
/// is the directory's own: files of a linked `auths/` are `deleted` as git sees them, a file
/// of a real directory next to it is not.
#[cfg(unix)]
#[test]
fn a_linked_directory_makes_its_files_deleted_and_only_its_files() {
    let t = TestRepo::new();
    for name in ["auths/a.json", "auths/b.json", "keep/c.json"] {
        let v = codex_live(&format!("{name}@example.com"), name, "plus");
        t.write_json(name, &v);
    }
    t.commit_all("init");
    let outside = t.home().join("outside");
    std::fs::create_dir_all(&outside).unwrap();
    for f in ["a.json", "b.json"] {
        std::fs::rename(t.root.join("auths").join(f), outside.join(f)).unwrap();
    }
    std::fs::remove_dir(t.root.join("auths")).unwrap();
    std::os::unix::fs::symlink(&outside, t.root.join("auths")).unwrap();
    let r = run(t
        .credman()
        .args(["scan", "--offline", "--format", "json", "."]));
    let report = r.json();
    for linked in ["auths/a.json", "auths/b.json"] {
        assert_eq!(
            result(&report, linked)["worktree"],
            "deleted",
            "{}",
            r.stdout
        );
    }
    assert!(
        result(&report, "keep/c.json")["worktree"].is_null(),
        "{}",
        r.stdout
    );
}
