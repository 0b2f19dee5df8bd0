//! `git credman prune`, `show` and `restore` against real repositories, verified with git.

use std::path::{Path, PathBuf};
use std::process::Command;

use serde_json::{Value, json};

use crate::support::*;

const LIVE: &str = "auths/codex-live.json";
const CLAUDE: &str = "auths/claude-live.json";
const DEAD: &str = "auths/codex-dead.json";
const DEAD_NESTED: &str = "auths/old/codex-dead2.json";

/// A repository with two live and two dead credentials (one alone in its own folder), plus
/// every planted credential for leak checks.
fn pool() -> (TestRepo, Vec<Value>) {
    let t = TestRepo::new();
    let planted = vec![
        codex_live("alice@example.com", "acct-1", "plus"),
        json!({"type":"claude","email":"bob@example.com","access_token": claude_access(),
            "refresh_token": claude_refresh(), "expired": rfc_in(-3600)}),
        codex_dead("carol@example.com", "acct-2"),
        codex_dead("dave@example.com", "acct-3"),
    ];
    for (path, v) in [LIVE, CLAUDE, DEAD, DEAD_NESTED].iter().zip(&planted) {
        t.write_json(path, v);
    }
    t.write("README.md", "auth repo\n");
    t.commit_all("initial");
    (t, planted)
}

fn prune(t: &TestRepo, extra: &[&str]) -> Run {
    let mut args = vec!["prune", "--offline"];
    args.extend_from_slice(extra);
    run(t.credman().args(&args))
}

fn rev(t: &TestRepo, r: &str) -> String {
    t.git(&["rev-parse", r]).trim().to_owned()
}

fn commit_count(t: &TestRepo) -> usize {
    t.git(&["rev-list", "--count", "HEAD"])
        .trim()
        .parse()
        .unwrap()
}

fn tree_names(t: &TestRepo, treeish: &str) -> Vec<String> {
    t.git(&["ls-tree", "-r", "--name-only", treeish])
        .lines()
        .map(str::to_owned)
        .collect()
}

/// Runs git without panicking on failure.
fn git_output(dir: &Path, home: &Path, args: &[&str]) -> std::process::Output {
    Command::new("git")
        .args(args)
        .current_dir(dir)
        .env_clear()
        .envs(scrubbed_env(home))
        .output()
        .unwrap()
}

/// Every check a commit written on the current branch must pass, with the real git CLI.
fn assert_consistent_after_commit(t: &TestRepo, removed: &[&str], user_status: &[&str]) {
    t.git(&["fsck", "--strict"]);
    let status = t.git(&["status", "--porcelain"]);
    assert_eq!(
        status.lines().collect::<Vec<_>>(),
        user_status,
        "git status shows more than the user's own changes"
    );
    let index_tree = t.git(&["write-tree"]);
    let staged = tree_names(t, index_tree.trim());
    let head = tree_names(t, "HEAD");
    for r in removed {
        assert!(!staged.iter().any(|p| p == r), "{r} is still in the index");
        assert!(!head.iter().any(|p| p == r), "{r} is still in HEAD");
        assert!(!t.root.join(r).exists(), "{r} is still in the working tree");
    }
    let reflog = t.git(&["reflog", "-1"]);
    assert!(reflog.contains("credman"), "reflog: {reflog}");
}

/// Generates an ed25519 key into the temp home; returns the private key path.
fn ssh_keygen(t: &TestRepo, name: &str, passphrase: &str) -> PathBuf {
    let path = t.home().join(name);
    let out = Command::new("ssh-keygen")
        .args([
            "-q",
            "-t",
            "ed25519",
            "-a",
            "4",
            "-C",
            "credman-test",
            "-N",
            passphrase,
            "-f",
        ])
        .arg(&path)
        .env_clear()
        .envs(scrubbed_env(t.home()))
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "ssh-keygen failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    path
}

fn pub_path(key: &Path) -> PathBuf {
    let mut p = key.as_os_str().to_owned();
    p.push(".pub");
    PathBuf::from(p)
}

/// Lets git verify signatures made with `key` (as the scrubbed committer).
fn allow_signer(t: &TestRepo, key: &Path) {
    let public = std::fs::read_to_string(pub_path(key)).unwrap();
    let file = t.home().join("allowed_signers");
    let mut content = std::fs::read_to_string(&file).unwrap_or_default();
    content.push_str(&format!(
        "committer@example.com namespaces=\"git\" {}\n",
        public.trim()
    ));
    std::fs::write(&file, content).unwrap();
    t.git(&[
        "config",
        "gpg.ssh.allowedSignersFile",
        &file.display().to_string(),
    ]);
}

/// Configures git's own ssh signing with `key`.
fn configure_ssh_signing(t: &TestRepo, key: &Path) {
    t.git(&["config", "gpg.format", "ssh"]);
    t.git(&[
        "config",
        "user.signingKey",
        &pub_path(key).display().to_string(),
    ]);
}

fn message(t: &TestRepo, r: &str) -> String {
    t.git(&["log", "-1", "--format=%B", r])
}

fn embedded(msg: &str) -> Value {
    embedded_report(msg)
}

fn trailer(t: &TestRepo, r: &str, key: &str) -> String {
    t.git(&[
        "log",
        "-1",
        &format!("--format=%(trailers:key={key},valueonly)"),
        r,
    ])
    .trim()
    .to_owned()
}

/// Every file below `dir` (recursively).
fn files_below(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_owned()];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).unwrap() {
            let e = e.unwrap();
            if e.file_type().unwrap().is_dir() {
                stack.push(e.path());
            } else {
                out.push(e.path());
            }
        }
    }
    out.sort();
    out
}

#[test]
fn prune_creates_one_signed_commit() {
    let (t, _) = pool();
    let key = ssh_keygen(&t, "signing", "");
    configure_ssh_signing(&t, &key);
    allow_signer(&t, &key);
    // A change of the user's own, staged before prune: it must stay staged, uncommitted.
    t.write("notes.txt", "user work\n");
    t.git(&["add", "notes.txt"]);
    let old = rev(&t, "HEAD");
    let before = commit_count(&t);

    let r = prune(&t, &["--sign"]);
    assert_eq!(r.code, 0, "{}\n{}", r.stdout, r.stderr);
    assert_eq!(commit_count(&t), before + 1, "exactly one new commit");
    assert_eq!(rev(&t, "HEAD^"), old);
    assert_eq!(
        t.git(&["rev-list", "--parents", "-1", "HEAD"])
            .split_whitespace()
            .count(),
        2,
        "one parent"
    );
    t.git(&["verify-commit", "HEAD"]);
    assert!(r.stdout.contains("Removed 2 file(s)"), "{}", r.stdout);
    assert!(r.stdout.contains(DEAD) && r.stdout.contains(DEAD_NESTED));

    let msg = message(&t, "HEAD");
    assert!(msg.starts_with("credman: remove"), "{msg}");
    assert!(msg.contains("-----BEGIN CREDMAN REPORT-----"));
    assert!(msg.contains("-----END CREDMAN REPORT-----"));
    assert!(msg.contains("Credman-Removed: 2"), "{msg}");
    assert!(msg.contains("Credman-Report-Version: 1"), "{msg}");
    // git itself parses the trailers.
    assert_eq!(trailer(&t, "HEAD", "Credman-Removed"), "2");
    assert_eq!(trailer(&t, "HEAD", "Credman-Report-Version"), "1");
    let report = embedded(&msg);
    assert_eq!(paths(&report), [DEAD, DEAD_NESTED]);
    assert_eq!(report["prune"]["removed"], 2);
    assert_eq!(report["prune"]["dry_run"], false);

    // Files: dead ones gone (with their now-empty folder), live ones kept.
    let head = tree_names(&t, "HEAD");
    assert!(head.contains(&LIVE.to_owned()) && head.contains(&CLAUDE.to_owned()));
    assert!(t.root.join(LIVE).exists() && t.root.join(CLAUDE).exists());
    assert!(!t.root.join("auths/old").exists(), "empty folder removed");
    assert_consistent_after_commit(&t, &[DEAD, DEAD_NESTED], &["A  notes.txt"]);
    assert!(tree_names(&t, t.git(&["write-tree"]).trim()).contains(&"notes.txt".to_owned()));
    assert!(
        t.git(&["diff", "--cached", "--name-only"]).trim() == "notes.txt",
        "only the user's change is staged"
    );

    // The cache-tree was dropped: committing the user's staged change does not resurrect the
    // removed files.
    t.git(&["commit", "-q", "-m", "user commit"]);
    let after = tree_names(&t, "HEAD");
    assert!(!after.contains(&DEAD.to_owned()), "{after:?}");
    assert!(!after.contains(&DEAD_NESTED.to_owned()), "{after:?}");
    assert!(after.contains(&"notes.txt".to_owned()));
    assert_eq!(t.git(&["status", "--porcelain"]), "");
    t.git(&["fsck", "--strict"]);
}

#[test]
fn signing_key_in_process() {
    let (t, _) = pool();
    let key = ssh_keygen(&t, "encrypted", "correct-horse-9");
    allow_signer(&t, &key);
    let old = rev(&t, "HEAD");
    let key_arg = key.display().to_string();

    // Wrong passphrase: exit 2, nothing changed, the passphrase is not echoed.
    let bad = run(t
        .credman()
        .env("GIT_CREDMAN_SIGNING_KEY_PASSPHRASE", "wrong-battery-7")
        .args(["prune", "--offline", "--signing-key", &key_arg]));
    assert_eq!(bad.code, 2, "{}\n{}", bad.stdout, bad.stderr);
    assert!(bad.stderr.contains("wrong passphrase"), "{}", bad.stderr);
    assert!(!bad.stderr.contains("wrong-battery-7"));
    assert_eq!(rev(&t, "HEAD"), old);
    assert_eq!(t.git(&["status", "--porcelain"]), "");
    assert!(t.root.join(DEAD).exists());
    assert!(!t.root.join(".git/index.lock").exists());

    // No passphrase at all: exit 2 naming the variable.
    let none = prune(&t, &["--signing-key", &key_arg]);
    assert_eq!(none.code, 2);
    assert!(
        none.stderr.contains("GIT_CREDMAN_SIGNING_KEY_PASSPHRASE"),
        "{}",
        none.stderr
    );
    assert_eq!(rev(&t, "HEAD"), old);

    let ok = run(t
        .credman()
        .env("GIT_CREDMAN_SIGNING_KEY_PASSPHRASE", "correct-horse-9")
        .args(["prune", "--offline", "--signing-key", &key_arg]));
    assert_eq!(ok.code, 0, "{}\n{}", ok.stdout, ok.stderr);
    assert!(ok.stdout.contains("in-process"), "{}", ok.stdout);
    assert_eq!(rev(&t, "HEAD^"), old);
    t.git(&["verify-commit", "HEAD"]);
    let raw = t.git(&["cat-file", "commit", "HEAD"]);
    assert!(raw.contains("-----BEGIN SSH SIGNATURE-----"), "{raw}");
    assert_consistent_after_commit(&t, &[DEAD, DEAD_NESTED], &[]);
}

#[test]
fn dry_run_writes_nothing() {
    let (t, _) = pool();
    let objects = |t: &TestRepo| files_below(&t.root.join(".git/objects"));
    let counted = |t: &TestRepo| {
        t.git(&["count-objects", "-v"])
            .lines()
            .filter(|l| l.starts_with("count:") || l.starts_with("in-pack:"))
            .collect::<Vec<_>>()
            .join(",")
    };
    let index = std::fs::read(t.root.join(".git/index")).unwrap();
    let before = (objects(&t), counted(&t), rev(&t, "HEAD"));
    let reflog = t.git(&["reflog"]);

    let r = prune(&t, &["--dry-run"]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert!(r.stdout.contains("Dry run"), "{}", r.stdout);
    assert!(
        r.stdout.contains(DEAD) && r.stdout.contains(DEAD_NESTED),
        "{}",
        r.stdout
    );
    let report_file = t.home().join("plan.json");
    let j = prune(
        &t,
        &[
            "-n",
            "--format",
            "json",
            "--report",
            &report_file.display().to_string(),
        ],
    );
    assert_eq!(j.code, 0);
    let report = j.json();
    let written = read_report(&report_file);
    assert_eq!(paths(&written), [DEAD, DEAD_NESTED]);
    #[cfg(unix)]
    assert_eq!(mode_of(&report_file), 0o600);
    assert_eq!(paths(&report), [DEAD, DEAD_NESTED]);
    assert_eq!(report["prune"]["dry_run"], true);
    assert_eq!(report["prune"]["removed"], 0);

    assert_eq!((objects(&t), counted(&t), rev(&t, "HEAD")), before);
    assert_eq!(std::fs::read(t.root.join(".git/index")).unwrap(), index);
    assert_eq!(t.git(&["reflog"]), reflog);
    assert!(t.root.join(DEAD).exists() && t.root.join(DEAD_NESTED).exists());
    assert_eq!(t.git(&["status", "--porcelain"]), "");
}

#[test]
fn dirty_files_are_skipped() {
    let t = TestRepo::new();
    let worktree_mod = "auths/dead-worktree.json";
    let staged_mod = "auths/dead-staged.json";
    let index_only = "auths/dead-index-only.json";
    let deleted = "auths/dead-deleted.json";
    let clean = "auths/dead-clean.json";
    for (i, p) in [worktree_mod, staged_mod, index_only, deleted, clean]
        .iter()
        .enumerate()
    {
        t.write_json(
            p,
            &codex_dead(&format!("u{i}@example.com"), &format!("acct-{i}")),
        );
    }
    t.write_json(LIVE, &codex_live("alice@example.com", "acct-l", "plus"));
    t.commit_all("initial");
    let original_index_only = std::fs::read(t.root.join(index_only)).unwrap();

    // CPA refreshed one file (not committed yet), someone staged another.
    t.write_json(
        worktree_mod,
        &codex_live("u0@example.com", "acct-0", "plus"),
    );
    t.write_json(staged_mod, &codex_live("u1@example.com", "acct-1", "plus"));
    t.git(&["add", staged_mod]);
    // Staged change, working tree back to HEAD's content: only the index differs.
    t.write_json(index_only, &codex_live("u2@example.com", "acct-2", "plus"));
    t.git(&["add", index_only]);
    std::fs::write(t.root.join(index_only), &original_index_only).unwrap();
    std::fs::remove_file(t.root.join(deleted)).unwrap();
    let status_before: Vec<String> = t
        .git(&["status", "--porcelain"])
        .lines()
        .map(str::to_owned)
        .collect();
    assert_eq!(status_before.len(), 4, "{status_before:?}");

    let r = prune(&t, &[]);
    assert_eq!(r.code, 0, "{}\n{}", r.stdout, r.stderr);
    for p in [worktree_mod, staged_mod, index_only, deleted] {
        let line = r
            .stdout
            .lines()
            .find(|l| l.contains(p))
            .unwrap_or_else(|| panic!("{p} not reported:\n{}", r.stdout));
        assert!(line.contains("uncommitted"), "{line}");
    }
    assert!(r.stdout.contains("Removed 1 file(s)"), "{}", r.stdout);
    let head = tree_names(&t, "HEAD");
    for p in [worktree_mod, staged_mod, index_only, deleted] {
        assert!(head.contains(&p.to_owned()), "{p} must be kept in HEAD");
    }
    assert!(t.root.join(worktree_mod).exists() && t.root.join(staged_mod).exists());
    let expected: Vec<&str> = status_before.iter().map(String::as_str).collect();
    assert_consistent_after_commit(&t, &[clean], &expected);
    // The user's modifications are intact.
    assert_eq!(
        std::fs::read(t.root.join(index_only)).unwrap(),
        original_index_only
    );

    let report = embedded(&message(&t, "HEAD"));
    assert_eq!(paths(&report), [clean]);
    let skipped = skipped(&report);
    assert_eq!(skipped.len(), 4, "{skipped:?}");
    let reason = |p: &str| skipped.iter().find(|(q, _)| q == p).unwrap().1.clone();
    assert!(reason(index_only).contains("staged"), "{skipped:?}");
    assert!(reason(deleted).contains("deleted"), "{skipped:?}");
    assert!(reason(worktree_mod).contains("modified"), "{skipped:?}");
}

/// A repository with `total` codex files of which `dead` are dead.
fn codex_pool(total: usize, dead: usize) -> TestRepo {
    let t = TestRepo::new();
    for i in 0..total {
        let email = format!("user{i}@example.com");
        let account = format!("acct-{i}");
        let v = if i < dead {
            codex_dead(&email, &account)
        } else {
            codex_live(&email, &account, "plus")
        };
        t.write_json(&format!("auths/codex-{i:02}.json"), &v);
    }
    t.commit_all("initial");
    t
}

#[test]
fn breaker() {
    // 11 of 20 codex files dead: more than half, refused.
    let t = codex_pool(20, 11);
    let old = rev(&t, "HEAD");
    let r = prune(&t, &[]);
    assert_eq!(r.code, 3, "{}\n{}", r.stdout, r.stderr);
    assert!(r.stdout.contains("breaker"), "{}", r.stdout);
    assert!(r.stdout.contains("11 of 20 codex"), "{}", r.stdout);
    assert_eq!(rev(&t, "HEAD"), old);
    assert_eq!(t.git(&["status", "--porcelain"]), "");
    assert_eq!(files_below(&t.root.join("auths")).len(), 20);
    // A JSON run says the same and marks it as not written.
    let j = prune(&t, &["--format", "json"]);
    assert_eq!(j.code, 3);
    assert_eq!(j.json()["prune"]["removed"], 0);

    let f = prune(&t, &["--force"]);
    assert_eq!(f.code, 0, "{}\n{}", f.stdout, f.stderr);
    assert_eq!(rev(&t, "HEAD^"), old);
    assert_eq!(tree_names(&t, "HEAD").len(), 9);
    let removed: Vec<String> = (0..11)
        .map(|i| format!("auths/codex-{i:02}.json"))
        .collect();
    let removed: Vec<&str> = removed.iter().map(String::as_str).collect();
    assert_consistent_after_commit(&t, &removed, &[]);

    // Exactly half is allowed.
    let half = codex_pool(20, 10);
    let h = prune(&half, &[]);
    assert_eq!(h.code, 0, "{}\n{}", h.stdout, h.stderr);
    assert_eq!(tree_names(&half, "HEAD").len(), 10);

    // A percentage also applies: 30% of 20 is 6.
    let pct = codex_pool(20, 7);
    let old = rev(&pct, "HEAD");
    assert_eq!(prune(&pct, &["--max-delete", "30%"]).code, 3);
    assert_eq!(rev(&pct, "HEAD"), old);

    // A count applies to small pools too.
    let (small, _) = pool();
    let old = rev(&small, "HEAD");
    let c = prune(&small, &["--max-delete", "1"]);
    assert_eq!(c.code, 3, "{}\n{}", c.stdout, c.stderr);
    assert!(c.stdout.contains("--max-delete 1"), "{}", c.stdout);
    assert_eq!(rev(&small, "HEAD"), old);
    assert_eq!(small.git(&["status", "--porcelain"]), "");
    assert!(small.root.join(DEAD).exists());
    // Under 20 files the percentage breaker never trips (2 of 3 codex files).
    assert_eq!(prune(&small, &["--max-delete", "2"]).code, 0);
    assert_eq!(rev(&small, "HEAD^"), old);

    // The limit also comes from git config.
    let (cfg, _) = pool();
    cfg.git(&["config", "credman.maxDelete", "1"]);
    assert_eq!(prune(&cfg, &[]).code, 3);
    assert_eq!(prune(&cfg, &["--max-delete", "2"]).code, 0, "the flag wins");

    let bad = prune(&small, &["--max-delete", "lots"]);
    assert_eq!(bad.code, 2);
    assert!(bad.stderr.contains("--max-delete"), "{}", bad.stderr);
}

#[test]
fn transient_statuses_refused() {
    let (t, _) = pool();
    let old = rev(&t, "HEAD");
    for status in [
        "check_error",
        "rate_limited",
        "unknown",
        "unverified",
        "expired_by_time,active",
    ] {
        let r = prune(&t, &["--status", status]);
        assert_eq!(r.code, 2, "--status {status}: {}", r.stdout);
        assert!(r.stderr.contains("--force"), "{}", r.stderr);
        assert_eq!(r.stdout, "");
    }
    assert_eq!(rev(&t, "HEAD"), old);
    // Forced, a transient status that nothing has is simply nothing to remove.
    let f = prune(&t, &["--status", "check_error", "--force"]);
    assert_eq!(f.code, 0, "{}", f.stderr);
    assert!(f.stdout.contains("Nothing to remove"), "{}", f.stdout);
    assert_eq!(rev(&t, "HEAD"), old);
    let bogus = prune(&t, &["--status", "bogus"]);
    assert_eq!(bogus.code, 2);
}

#[test]
fn nothing_to_remove() {
    let t = TestRepo::new();
    t.write_json(LIVE, &codex_live("alice@example.com", "acct-1", "plus"));
    t.commit_all("initial");
    let old = rev(&t, "HEAD");
    let reflog = t.git(&["reflog"]);
    let r = prune(&t, &[]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert!(r.stdout.contains("Nothing to remove"), "{}", r.stdout);
    assert_eq!(rev(&t, "HEAD"), old);
    assert_eq!(commit_count(&t), 1);
    assert_eq!(t.git(&["reflog"]), reflog);
    assert_eq!(t.git(&["status", "--porcelain"]), "");
    // Also with a dead file that the breaker would let through but that is dirty.
    let (d, _) = pool();
    let old = rev(&d, "HEAD");
    d.write("auths/codex-dead.json", "{}");
    let r = prune(&d, &[DEAD]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert!(r.stdout.contains("Nothing to remove"), "{}", r.stdout);
    assert!(r.stdout.contains("uncommitted"), "{}", r.stdout);
    assert_eq!(rev(&d, "HEAD"), old);
}

#[test]
fn refuses_detached_head_merge_and_unborn() {
    let (t, _) = pool();
    t.git(&["checkout", "-q", "--detach"]);
    let old = rev(&t, "HEAD");
    let r = prune(&t, &[]);
    assert_eq!(r.code, 2, "{}", r.stdout);
    assert!(r.stderr.contains("detached"), "{}", r.stderr);
    assert_eq!(rev(&t, "HEAD"), old);
    assert!(t.root.join(DEAD).exists());

    // A conflicting merge in progress.
    let (m, _) = pool();
    m.git(&["checkout", "-q", "-b", "other"]);
    m.write("README.md", "theirs\n");
    m.commit_all("theirs");
    m.git(&["checkout", "-q", "main"]);
    m.write("README.md", "ours\n");
    m.commit_all("ours");
    let merge = git_output(&m.root, m.home(), &["merge", "-q", "other"]);
    assert!(!merge.status.success(), "the merge must conflict");
    assert!(m.root.join(".git/MERGE_HEAD").exists());
    let old = rev(&m, "HEAD");
    let status = m.git(&["status", "--porcelain"]);
    let r = prune(&m, &[]);
    assert_eq!(r.code, 2, "{}", r.stdout);
    assert!(r.stderr.contains("in progress"), "{}", r.stderr);
    assert_eq!(rev(&m, "HEAD"), old);
    assert_eq!(m.git(&["status", "--porcelain"]), status);
    assert!(m.root.join(".git/MERGE_HEAD").exists());

    let u = TestRepo::new();
    u.write_json(DEAD, &codex_dead("x@example.com", "a"));
    let r = prune(&u, &[]);
    assert_eq!(r.code, 2);
    assert!(r.stderr.contains("unborn"), "{}", r.stderr);
}

#[test]
fn move_ref_is_compare_and_swap() {
    use git_credman::git::{Error, Repo};
    let (t, _) = pool();
    // The library reads identity from config (this process's environment is not scrubbed).
    t.git(&["config", "user.name", "Lib Committer"]);
    t.git(&["config", "user.email", "lib@example.com"]);
    let repo = Repo::discover(&t.root).unwrap();
    let old = repo.branch_head().unwrap();
    assert_eq!(old.name, "refs/heads/main");
    assert_eq!(old.commit.to_string(), rev(&t, "HEAD"));
    let ours = repo
        .write_commit(&repo.new_commit(old.tree, &[old.commit], "m").unwrap())
        .unwrap();

    // Someone commits with the git CLI meanwhile.
    t.write("other.txt", "x\n");
    t.commit_all("concurrent");
    let theirs = rev(&t, "HEAD");

    let err = repo.move_ref("HEAD", old.commit, ours, "x").unwrap_err();
    assert!(matches!(err, Error::RefMoved { .. }), "{err:?}");
    assert_eq!(rev(&t, "HEAD"), theirs);
    assert_eq!(rev(&t, "main"), theirs);
    assert!(t.git(&["reflog", "-1"]).contains("concurrent"));

    // With the right expectation the swap happens, with a reflog entry.
    let now = repo.branch_head().unwrap();
    let next = repo
        .write_commit(&repo.new_commit(now.tree, &[now.commit], "m2").unwrap())
        .unwrap();
    repo.move_ref("HEAD", now.commit, next, "credman: test move")
        .unwrap();
    assert_eq!(rev(&t, "main"), next.to_string());
    assert!(t.git(&["reflog", "-1"]).contains("credman: test move"));
    assert!(
        t.git(&["reflog", "-1", "main"])
            .contains("credman: test move")
    );
    t.git(&["fsck", "--strict"]);
}

#[test]
fn branch_mode() {
    let (t, _) = pool();
    // Branch mode does not look at (or touch) the working tree and index.
    t.write("notes.txt", "user work\n");
    t.git(&["add", "notes.txt"]);
    let old = rev(&t, "HEAD");
    let index = std::fs::read(t.root.join(".git/index")).unwrap();
    let r = prune(&t, &["--branch", "credman/cleanup"]);
    assert_eq!(r.code, 0, "{}\n{}", r.stdout, r.stderr);
    assert!(r.stdout.contains("credman/cleanup"), "{}", r.stdout);
    assert_eq!(rev(&t, "HEAD"), old);
    assert_eq!(t.git(&["symbolic-ref", "HEAD"]).trim(), "refs/heads/main");
    assert_eq!(rev(&t, "credman/cleanup^"), old);
    let names = tree_names(&t, "credman/cleanup");
    assert!(!names.contains(&DEAD.to_owned()) && !names.contains(&DEAD_NESTED.to_owned()));
    assert!(names.contains(&LIVE.to_owned()));
    assert!(message(&t, "credman/cleanup").starts_with("credman: remove"));
    assert!(t.root.join(DEAD).exists() && t.root.join(DEAD_NESTED).exists());
    assert_eq!(std::fs::read(t.root.join(".git/index")).unwrap(), index);
    assert_eq!(t.git(&["status", "--porcelain"]), "A  notes.txt\n");
    assert!(
        t.git(&["reflog", "-1", "credman/cleanup"])
            .contains("credman")
    );
    t.git(&["fsck", "--strict"]);

    // The branch must be new.
    let again = prune(&t, &["--branch", "credman/cleanup"]);
    assert_eq!(again.code, 2);
    assert!(again.stderr.contains("already exists"), "{}", again.stderr);
}

/// A bare remote in the temp home, with the repository's main pushed to it as upstream.
fn with_remote(t: &TestRepo) -> PathBuf {
    let bare = t.home().join("remote.git");
    t.git_in(
        t.home(),
        &["init", "-q", "--bare", "-b", "main", "remote.git"],
    );
    t.git(&["remote", "add", "origin", &bare.display().to_string()]);
    t.git(&["push", "-q", "-u", "origin", "main"]);
    bare
}

fn bare_git(t: &TestRepo, bare: &Path, args: &[&str]) -> String {
    let mut all = vec!["--git-dir".to_owned(), bare.display().to_string()];
    all.extend(args.iter().map(|s| (*s).to_owned()));
    let all: Vec<&str> = all.iter().map(String::as_str).collect();
    t.git_in(t.home(), &all)
}

#[test]
fn push_to_bare_remote() {
    let (t, _) = pool();
    let bare = with_remote(&t);
    let r = prune(&t, &["--push"]);
    assert_eq!(r.code, 0, "{}\n{}", r.stdout, r.stderr);
    assert!(r.stdout.contains("Pushed to origin"), "{}", r.stdout);
    let remote_tip = bare_git(&t, &bare, &["rev-parse", "main"]);
    assert_eq!(remote_tip.trim(), rev(&t, "HEAD"));
    bare_git(&t, &bare, &["fsck", "--strict"]);
    assert_eq!(
        rev(&t, "origin/main"),
        rev(&t, "HEAD"),
        "remote-tracking ref updated"
    );
    assert_consistent_after_commit(&t, &[DEAD, DEAD_NESTED], &[]);

    // --branch with --push publishes the new branch and leaves main alone.
    let (b, _) = pool();
    let bare = with_remote(&b);
    let main = rev(&b, "HEAD");
    let r = prune(&b, &["--branch", "credman/cleanup", "--push"]);
    assert_eq!(r.code, 0, "{}\n{}", r.stdout, r.stderr);
    assert_eq!(bare_git(&b, &bare, &["rev-parse", "main"]).trim(), main);
    assert_eq!(
        bare_git(&b, &bare, &["rev-parse", "credman/cleanup"]).trim(),
        rev(&b, "credman/cleanup")
    );
    assert_eq!(rev(&b, "HEAD"), main);
    assert_eq!(b.git(&["status", "--porcelain"]), "");
}

#[test]
fn push_rejected_then_rebuilt() {
    let (t, _) = pool();
    let bare = with_remote(&t);
    let base = rev(&t, "HEAD");
    let key = ssh_keygen(&t, "signing", "");
    allow_signer(&t, &key);
    let allowed = format!(
        "gpg.ssh.allowedSignersFile={}",
        t.home().join("allowed_signers").display()
    );

    // Another clone: CPA refreshed one dead file there, plus an unrelated commit; pushed first.
    t.git_in(
        t.home(),
        &["clone", "-q", &bare.display().to_string(), "other"],
    );
    let other = t.home().join("other");
    std::fs::write(
        other.join(DEAD),
        serde_json::to_vec_pretty(&codex_live("carol@example.com", "acct-2", "plus")).unwrap(),
    )
    .unwrap();
    std::fs::write(other.join("unrelated.txt"), "hello\n").unwrap();
    t.git_in(&other, &["add", "-A"]);
    t.git_in(&other, &["commit", "-q", "-m", "refresh carol; unrelated"]);
    t.git_in(&other, &["push", "-q", "origin", "main"]);
    let theirs = t.git_in(&other, &["rev-parse", "HEAD"]).trim().to_owned();
    let their_blob = t.git_in(&other, &["rev-parse", &format!("HEAD:{DEAD}")]);

    let r = prune(&t, &["--push", "--signing-key", &key.display().to_string()]);
    assert_eq!(r.code, 0, "{}\n{}", r.stdout, r.stderr);
    assert!(r.stdout.contains("rebuilt"), "{}", r.stdout);
    t.git(&["verify-commit", "HEAD"]);
    // Locally, the first commit removed both.
    assert_eq!(rev(&t, "HEAD^"), base);
    assert_consistent_after_commit(&t, &[DEAD, DEAD_NESTED], &[]);

    let tip = bare_git(&t, &bare, &["rev-parse", "main"])
        .trim()
        .to_owned();
    assert_ne!(tip, rev(&t, "HEAD"));
    assert!(r.stdout.contains(&tip), "{}", r.stdout);
    assert_eq!(
        bare_git(&t, &bare, &["rev-parse", "main^"]).trim(),
        theirs,
        "rebuilt on the other clone's commit"
    );
    let remote_names = bare_git(&t, &bare, &["ls-tree", "-r", "--name-only", "main"]);
    let remote_names: Vec<&str> = remote_names.lines().collect();
    assert!(!remote_names.contains(&DEAD_NESTED), "{remote_names:?}");
    assert!(remote_names.contains(&DEAD), "{remote_names:?}");
    assert!(remote_names.contains(&"unrelated.txt"));
    assert!(remote_names.contains(&LIVE));
    assert_eq!(
        bare_git(&t, &bare, &["rev-parse", &format!("main:{DEAD}")]),
        their_blob,
        "the refreshed file is untouched"
    );
    let msg = bare_git(&t, &bare, &["log", "-1", "--format=%B", "main"]);
    assert!(msg.starts_with("credman: remove 1 "), "{msg}");
    assert!(msg.contains("Credman-Removed: 1"), "{msg}");
    let report = embedded(&msg);
    assert_eq!(paths(&report), [DEAD_NESTED]);
    assert_eq!(report["prune"]["removed"], 1);
    let skipped = &report["prune"]["skipped"];
    assert!(
        skipped
            .as_array()
            .unwrap()
            .iter()
            .any(|s| s["path"] == DEAD && s["reason"] == "changed since it was scanned"),
        "{skipped}"
    );
    bare_git(&t, &bare, &["-c", &allowed, "verify-commit", "main"]);
    bare_git(&t, &bare, &["fsck", "--strict"]);
}

#[cfg(unix)]
#[test]
fn dir_quarantine() {
    let t = TestRepo::bare_dir();
    let dir = t.home().join("auths");
    std::fs::create_dir_all(dir.join("sub")).unwrap();
    let dead = codex_dead("x@example.com", "acct-x");
    std::fs::write(dir.join("dead.json"), dead.to_string()).unwrap();
    std::fs::write(
        dir.join("sub/dead2.json"),
        codex_dead("y@example.com", "acct-y").to_string(),
    )
    .unwrap();
    std::fs::write(
        dir.join("live.json"),
        codex_live("q@example.com", "acct-q", "team").to_string(),
    )
    .unwrap();
    let r = run(t
        .credman_in(t.home())
        .args(["prune", "--offline", "--dir", "auths"]));
    assert_eq!(r.code, 0, "{}\n{}", r.stdout, r.stderr);
    let qroot = t.home().join("auths.credman-quarantine");
    let stamps: Vec<PathBuf> = std::fs::read_dir(&qroot)
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    assert_eq!(stamps.len(), 1, "{stamps:?}");
    let q = &stamps[0];
    let stamp = q.file_name().unwrap().to_str().unwrap();
    assert_eq!(stamp.len(), 16, "{stamp}");
    assert!(
        stamp.ends_with('Z') && stamp.as_bytes()[8] == b'T',
        "{stamp}"
    );
    assert_eq!(
        std::fs::read_to_string(q.join("dead.json")).unwrap(),
        dead.to_string()
    );
    assert!(q.join("sub/dead2.json").exists());
    assert!(!dir.join("dead.json").exists() && !dir.join("sub/dead2.json").exists());
    assert!(dir.join("live.json").exists());
    assert_eq!(mode_of(q), 0o700);
    assert_eq!(mode_of(&qroot), 0o700);
    let report_file = q.join("credman-report.json");
    assert_eq!(mode_of(&report_file), 0o600);
    let report = read_report(&report_file);
    assert_eq!(paths(&report), ["dead.json", "sub/dead2.json"]);
    assert_eq!(report["prune"]["removed"], 2);
    assert!(r.stdout.contains("Moved 2 file(s)"), "{}", r.stdout);

    // --purge deletes for good and creates no quarantine.
    let p = TestRepo::bare_dir();
    let pdir = p.home().join("pool");
    std::fs::create_dir_all(&pdir).unwrap();
    std::fs::write(pdir.join("dead.json"), dead.to_string()).unwrap();
    std::fs::write(
        pdir.join("live.json"),
        codex_live("q@example.com", "acct-q", "team").to_string(),
    )
    .unwrap();
    let r = run(p
        .credman_in(p.home())
        .args(["prune", "--offline", "--dir", "pool", "--purge"]));
    assert_eq!(r.code, 0, "{}\n{}", r.stdout, r.stderr);
    assert!(!pdir.join("dead.json").exists());
    assert!(pdir.join("live.json").exists());
    assert!(!p.home().join("pool.credman-quarantine").exists());

    // --quarantine elsewhere is honoured.
    let e = TestRepo::bare_dir();
    let edir = e.home().join("auths");
    std::fs::create_dir_all(&edir).unwrap();
    std::fs::write(edir.join("dead.json"), dead.to_string()).unwrap();
    let r = run(e.credman_in(e.home()).args([
        "prune",
        "--offline",
        "--dir",
        "auths",
        "--quarantine",
        "graveyard",
    ]));
    assert_eq!(r.code, 0, "{}\n{}", r.stdout, r.stderr);
    assert!(e.home().join("graveyard/dead.json").exists());
    assert!(e.home().join("graveyard/credman-report.json").exists());
    assert!(!edir.join("dead.json").exists());

    // Repository-only options are refused with --dir.
    let r =
        run(e
            .credman_in(e.home())
            .args(["prune", "--offline", "--dir", "auths", "--branch", "x"]));
    assert_eq!(r.code, 2);
}

#[cfg(unix)]
#[test]
fn quarantine_inside_the_auth_dir_is_refused() {
    let t = TestRepo::bare_dir();
    let dir = t.home().join("auths");
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(
        dir.join("dead.json"),
        codex_dead("x@example.com", "acct-x").to_string(),
    )
    .unwrap();
    let r = run(t.credman_in(t.home()).args([
        "prune",
        "--offline",
        "--dir",
        "auths",
        "--quarantine",
        "auths/q",
    ]));
    assert_eq!(r.code, 2, "{}\n{}", r.stdout, r.stderr);
    assert!(r.stderr.contains("inside the auth dir"), "{}", r.stderr);
    assert!(dir.join("dead.json").exists());
}

#[cfg(unix)]
#[test]
fn refused_quarantine_leaves_no_directory_behind() {
    let t = TestRepo::bare_dir();
    let dir = t.home().join("auths");
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(
        dir.join("dead.json"),
        codex_dead("x@example.com", "acct-x").to_string(),
    )
    .unwrap();
    let r = run(t.credman_in(t.home()).args([
        "prune",
        "--offline",
        "--dir",
        "auths",
        "--quarantine",
        "auths/q",
    ]));
    assert_eq!(r.code, 2);
    assert!(
        !dir.join("q").exists(),
        "exit 2 promises nothing was changed, but auths/q was created"
    );
}

#[test]
fn show() {
    let (t, _) = pool();
    let key = ssh_keygen(&t, "signing", "");
    configure_ssh_signing(&t, &key);
    allow_signer(&t, &key);
    assert_eq!(prune(&t, &["--sign"]).code, 0);
    let head = rev(&t, "HEAD");

    let r = run(t.credman().args(["show", "--format", "json"]));
    assert_eq!(r.code, 0, "{}", r.stderr);
    let v = r.json();
    assert_eq!(v["commit"], head.as_str());
    assert_eq!(v["signature"]["status"], "good", "{v:#}");
    assert_eq!(paths(&v["report"]), [DEAD, DEAD_NESTED]);
    assert_eq!(v["report"]["prune"]["removed"], 2);

    let text = run(t.credman().args(["show", "HEAD"]));
    assert_eq!(text.code, 0);
    assert!(text.stdout.contains(&head), "{}", text.stdout);
    assert!(text.stdout.contains("good"), "{}", text.stdout);
    assert!(text.stdout.contains(DEAD), "{}", text.stdout);

    // Not a prune commit.
    let r = run(t.credman().args(["show", "HEAD~1"]));
    assert_eq!(r.code, 2);
    assert!(
        r.stderr.contains("not a git-credman prune commit"),
        "{}",
        r.stderr
    );
    assert_eq!(run(t.credman().args(["show", "no-such-rev"])).code, 2);

    // An unsigned prune commit.
    let (u, _) = pool();
    assert_eq!(prune(&u, &["--no-sign"]).code, 0);
    let v = run(u.credman().args(["show", "--format", "json"])).json();
    assert_eq!(v["signature"]["status"], "unsigned");

    // A signature git does not accept (key not in allowed signers): exit 1, status bad.
    let (b, _) = pool();
    let stranger = ssh_keygen(&b, "stranger", "");
    let trusted = ssh_keygen(&b, "trusted", "");
    allow_signer(&b, &trusted);
    let r = prune(&b, &["--signing-key", &stranger.display().to_string()]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    let r = run(b.credman().args(["show", "--format", "json"]));
    assert_eq!(r.code, 1, "{}", r.stdout);
    assert_eq!(r.json()["signature"]["status"], "bad");
}

#[test]
fn restore() {
    let (t, _) = pool();
    let blob = rev(&t, &format!("HEAD:{DEAD}"));
    let nested_blob = rev(&t, &format!("HEAD:{DEAD_NESTED}"));
    let bytes = std::fs::read(t.root.join(DEAD)).unwrap();
    let original_tree = rev(&t, "HEAD^{tree}");
    assert_eq!(prune(&t, &[]).code, 0);
    let pruned = rev(&t, "HEAD");

    let r = run(t.credman().args(["restore", "HEAD"]));
    assert_eq!(r.code, 0, "{}\n{}", r.stdout, r.stderr);
    assert_eq!(rev(&t, "HEAD^"), pruned);
    assert_eq!(rev(&t, &format!("HEAD:{DEAD}")), blob);
    assert_eq!(rev(&t, &format!("HEAD:{DEAD_NESTED}")), nested_blob);
    assert_eq!(
        rev(&t, "HEAD^{tree}"),
        original_tree,
        "exactly the tree before prune"
    );
    assert_eq!(std::fs::read(t.root.join(DEAD)).unwrap(), bytes);
    assert!(t.root.join(DEAD_NESTED).exists());
    assert!(message(&t, "HEAD").starts_with("credman: restore 2"));
    assert_eq!(t.git(&["status", "--porcelain"]), "");
    assert!(tree_names(&t, t.git(&["write-tree"]).trim()).contains(&DEAD.to_owned()));
    assert!(t.git(&["reflog", "-1"]).contains("credman"));
    t.git(&["fsck", "--strict"]);

    // Paths the commit did not remove.
    let head = rev(&t, "HEAD");
    let r = run(t.credman().args(["restore", "HEAD~1", "some/other/path"]));
    assert_eq!(r.code, 2, "{}", r.stdout);
    assert!(r.stderr.contains("removed none"), "{}", r.stderr);
    assert_eq!(rev(&t, "HEAD"), head);
    // Everything is back already.
    let r = run(t.credman().args(["restore", "HEAD~1"]));
    assert_eq!(r.code, 2, "{}", r.stdout);
    assert_eq!(rev(&t, "HEAD"), head);

    // One path only; the executable bit comes back too.
    let (o, _) = pool();
    o.git(&["update-index", "--chmod=+x", DEAD_NESTED]);
    o.git(&["commit", "-q", "-m", "exec"]);
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt as _;
        let p = o.root.join(DEAD_NESTED);
        std::fs::set_permissions(&p, std::fs::Permissions::from_mode(0o755)).unwrap();
    }
    assert_eq!(o.git(&["status", "--porcelain"]), "");
    assert_eq!(prune(&o, &[]).code, 0);
    let r = run(o.credman().args(["restore", "HEAD", "auths/old"]));
    assert_eq!(r.code, 0, "{}", r.stderr);
    let names = tree_names(&o, "HEAD");
    assert!(names.contains(&DEAD_NESTED.to_owned()) && !names.contains(&DEAD.to_owned()));
    assert!(o.root.join(DEAD_NESTED).exists() && !o.root.join(DEAD).exists());
    assert!(
        o.git(&["ls-tree", "HEAD", DEAD_NESTED])
            .starts_with("100755 "),
        "executable bit restored"
    );
    assert_eq!(o.git(&["status", "--porcelain"]), "");
    o.git(&["fsck", "--strict"]);
}

#[test]
fn secrets_never_leak() {
    let (t, planted) = pool();
    let secrets: Vec<String> = planted.iter().flat_map(secrets_of).collect();
    assert!(secrets.len() >= 6, "{secrets:?}");
    let key = ssh_keygen(&t, "signing", "");
    allow_signer(&t, &key);
    let key_arg = key.display().to_string();
    let mut outputs = Vec::new();
    for args in [
        vec!["prune", "--offline", "--dry-run"],
        vec!["prune", "--offline", "--dry-run", "--format", "json"],
        vec!["prune", "--offline", "--signing-key", &key_arg],
        vec!["show"],
        vec!["show", "--format", "json"],
        vec!["scan", "--offline", "--rev", "HEAD~1", "--format", "json"],
    ] {
        let r = run(t.credman().args(&args));
        assert!(r.code == 0 || r.code == 1, "{args:?}: {}", r.stderr);
        outputs.push((format!("{args:?}"), r.stdout, r.stderr));
    }
    outputs.push(("message".into(), message(&t, "HEAD"), String::new()));
    outputs.push((
        "raw commit".into(),
        t.git(&["cat-file", "commit", "HEAD"]),
        String::new(),
    ));
    for (what, stdout, stderr) in &outputs {
        for s in &secrets {
            assert!(
                !stdout.contains(s.as_str()),
                "{what} leaks a token on stdout"
            );
            assert!(
                !stderr.contains(s.as_str()),
                "{what} leaks a token on stderr"
            );
            // Not even a long piece of one.
            let piece = &s[s.len() - 24..];
            assert!(!stdout.contains(piece), "{what} leaks part of a token");
        }
    }
}

#[cfg(unix)]
#[test]
fn branch_moving_during_the_prune_changes_nothing() {
    use std::os::unix::fs::PermissionsExt as _;
    let (t, _) = pool();
    let key = ssh_keygen(&t, "signing", "");
    configure_ssh_signing(&t, &key);
    // The "signing program" moves the branch (like a concurrent commit) after the scan, then signs.
    let wrapper = t.home().join("racing-signer.sh");
    std::fs::write(
        &wrapper,
        format!(
            "#!/bin/sh\nc=$(git -C '{root}' commit-tree -m concurrent 'HEAD^{{tree}}' -p HEAD)\n\
             git -C '{root}' update-ref -m concurrent refs/heads/main \"$c\"\nexec ssh-keygen \"$@\"\n",
            root = t.root.display()
        ),
    )
    .unwrap();
    std::fs::set_permissions(&wrapper, std::fs::Permissions::from_mode(0o755)).unwrap();
    t.git(&["config", "gpg.ssh.program", &wrapper.display().to_string()]);
    let old = rev(&t, "HEAD");
    let index = std::fs::read(t.root.join(".git/index")).unwrap();

    let r = prune(&t, &["--sign"]);
    assert_eq!(r.code, 2, "{}\n{}", r.stdout, r.stderr);
    assert!(r.stderr.contains("moved"), "{}", r.stderr);
    assert_eq!(
        rev(&t, "HEAD^"),
        old,
        "the concurrent commit is on top of the old head"
    );
    assert_eq!(message(&t, "HEAD").trim(), "concurrent");
    assert!(tree_names(&t, "HEAD").contains(&DEAD.to_owned()));
    assert!(t.root.join(DEAD).exists() && t.root.join(DEAD_NESTED).exists());
    assert_eq!(std::fs::read(t.root.join(".git/index")).unwrap(), index);
    assert!(!t.root.join(".git/index.lock").exists());
    assert_eq!(t.git(&["status", "--porcelain"]), "");
    assert!(!t.git(&["reflog", "-1"]).contains("credman"));
    t.git(&["fsck", "--strict"]);
}

#[test]
fn held_index_lock_refuses() {
    let (t, _) = pool();
    let old = rev(&t, "HEAD");
    let lock = t.root.join(".git/index.lock");
    std::fs::write(&lock, b"someone else's").unwrap();
    let r = prune(&t, &[]);
    assert_eq!(r.code, 2, "{}\n{}", r.stdout, r.stderr);
    assert!(r.stderr.contains("locked"), "{}", r.stderr);
    assert_eq!(rev(&t, "HEAD"), old);
    assert_eq!(
        std::fs::read(&lock).unwrap(),
        b"someone else's",
        "the lock is not ours"
    );
    assert!(t.root.join(DEAD).exists());
    // A dry run needs no lock.
    assert_eq!(prune(&t, &["--dry-run"]).code, 0);
    std::fs::remove_file(&lock).unwrap();
    assert_eq!(t.git(&["status", "--porcelain"]), "");
}

#[test]
fn signing_follows_git_config() {
    let (t, _) = pool();
    let key = ssh_keygen(&t, "signing", "");
    configure_ssh_signing(&t, &key);
    allow_signer(&t, &key);
    t.git(&["config", "commit.gpgSign", "true"]);
    assert_eq!(prune(&t, &[DEAD]).code, 0);
    t.git(&["verify-commit", "HEAD"]);
    // --no-sign wins over the configuration.
    assert_eq!(prune(&t, &["--no-sign"]).code, 0);
    assert!(
        !t.git(&["cat-file", "commit", "HEAD"])
            .contains("SSH SIGNATURE")
    );
    assert_eq!(commit_count(&t), 3);
    assert_consistent_after_commit(&t, &[DEAD, DEAD_NESTED], &[]);
    // A broken signing configuration commits nothing.
    let (b, _) = pool();
    b.git(&["config", "gpg.format", "ssh"]);
    b.git(&["config", "user.signingKey", "/nonexistent/key.pub"]);
    let old = rev(&b, "HEAD");
    let r = prune(&b, &["--sign"]);
    assert_eq!(r.code, 2, "{}", r.stdout);
    assert!(
        r.stderr.contains("ssh-keygen failed to sign the data"),
        "{}",
        r.stderr
    );
    assert_eq!(rev(&b, "HEAD"), old);
    assert_eq!(b.git(&["status", "--porcelain"]), "");
    assert!(!b.root.join(".git/index.lock").exists());
}

#[test]
fn linked_worktree() {
    let (t, _) = pool();
    let wt = t.home().join("wt");
    t.git(&[
        "worktree",
        "add",
        "-q",
        &wt.display().to_string(),
        "-b",
        "side",
    ]);
    let main_head = rev(&t, "main");
    let r = run(t.credman_in(&wt).args(["prune", "--offline"]));
    assert_eq!(r.code, 0, "{}\n{}", r.stdout, r.stderr);
    assert_eq!(
        rev(&t, "main"),
        main_head,
        "the main worktree's branch is untouched"
    );
    assert_eq!(rev(&t, "side^"), main_head);
    assert!(t.root.join(DEAD).exists());
    assert!(!wt.join(DEAD).exists() && wt.join(LIVE).exists());
    assert_eq!(t.git(&["status", "--porcelain"]), "");
    assert_eq!(t.git_in(&wt, &["status", "--porcelain"]), "");
    assert!(t.git_in(&wt, &["reflog", "-1"]).contains("credman"));
    t.git(&["fsck", "--strict"]);
}

#[test]
fn branch_mode_in_a_bare_repository() {
    let (t, _) = pool();
    t.git_in(
        t.home(),
        &[
            "clone",
            "-q",
            "--bare",
            &t.root.display().to_string(),
            "b.git",
        ],
    );
    let bare = t.home().join("b.git");
    let r = run(t
        .credman_in(&bare)
        .args(["prune", "--offline", "--branch", "cleanup"]));
    assert_eq!(r.code, 0, "{}\n{}", r.stdout, r.stderr);
    let names = bare_git(&t, &bare, &["ls-tree", "-r", "--name-only", "cleanup"]);
    assert!(!names.contains(DEAD) && names.contains(LIVE), "{names}");
    assert_eq!(
        bare_git(&t, &bare, &["rev-parse", "main"]).trim(),
        rev(&t, "HEAD")
    );
    bare_git(&t, &bare, &["fsck", "--strict"]);
}

#[test]
fn prune_in_a_bare_repository() {
    let (t, _) = pool();
    t.git_in(
        t.home(),
        &[
            "clone",
            "-q",
            "--bare",
            &t.root.display().to_string(),
            "b.git",
        ],
    );
    let bare = t.home().join("b.git");
    let dry = run(t
        .credman_in(&bare)
        .args(["prune", "--offline", "--dry-run"]));
    assert!(!dry.stdout.contains("staged change"), "{}", dry.stdout);
    let r = run(t.credman_in(&bare).args(["prune", "--offline"]));
    assert_eq!(r.code, 0, "{}\n{}", r.stdout, r.stderr);
    let names = bare_git(&t, &bare, &["ls-tree", "-r", "--name-only", "main"]);
    assert!(!names.contains(DEAD), "{names}");
}

#[test]
fn failed_push_says_the_local_commit_was_made() {
    let (t, _) = pool();
    let old = rev(&t, "HEAD");
    let r = prune(&t, &["--push", "no-such-remote"]);
    assert_eq!(r.code, 2, "{}\n{}", r.stdout, r.stderr);
    let head = rev(&t, "HEAD");
    // Exit 2 means "nothing was changed" unless the message says otherwise.
    assert!(
        head == old || r.stderr.contains(&head[..12]) || r.stdout.contains(&head[..12]),
        "HEAD moved to {head} and the files were deleted, but the output does not say so:\n{}\n{}",
        r.stdout,
        r.stderr
    );
}

#[test]
#[ignore = "known limitation: the worktree check hashes raw bytes without git's eol/clean filters, so such a file is skipped (the safe direction) until the index is refreshed"]
fn eol_conversion_is_not_a_worktree_change() {
    let (t, _) = pool();
    t.write(".gitattributes", "*.json text eol=crlf\n");
    t.commit_all("attributes");
    std::fs::remove_file(t.root.join(DEAD)).unwrap();
    t.git(&["checkout", "--", DEAD]);
    let checked_out = std::fs::read(t.root.join(DEAD)).unwrap();
    assert!(
        checked_out.windows(2).any(|w| w == b"\r\n"),
        "checked out with CRLF"
    );
    // Stale stat data (e.g. a backup tool touched it): git re-hashes it through its filters.
    let old = std::time::SystemTime::now() - std::time::Duration::from_secs(3600);
    std::fs::File::options()
        .write(true)
        .open(t.root.join(DEAD))
        .unwrap()
        .set_modified(old)
        .unwrap();
    let r = prune(&t, &["--dry-run", "--format", "json"]);
    assert_eq!(t.git(&["status", "--porcelain"]), "", "git sees no change");
    let report = r.json();
    assert!(
        paths(&report).contains(&DEAD.to_owned()),
        "selected files: {:?}, skipped: {}",
        paths(&report),
        report["prune"]["skipped"]
    );
}

/// Many removals per directory take the rebuild path (one pass over the directory's entries);
/// a directory with edits below it, and one that ends up empty, must still come out right.
#[test]
fn bulk_removal_rebuilds_directories_correctly() {
    let t = TestRepo::new();
    let mut dead = Vec::new();
    let mut kept = Vec::new();
    let mut add = |path: String, alive: bool| {
        let v = if alive {
            codex_live(&format!("{path}@x.io"), &format!("acct-{path}"), "plus")
        } else {
            codex_dead(&format!("{path}@x.io"), &format!("acct-{path}"))
        };
        t.write_json(&path, &v);
        if alive {
            kept.push(path);
        } else {
            dead.push(path);
        }
    };
    for i in 0..70 {
        add(format!("auths/top-{i:03}.json"), false); // auths has edits below it: editor path
        add(format!("auths/bulk/d-{i:03}.json"), false); // rebuilt in one pass
        add(format!("auths/gone/d-{i:03}.json"), false); // rebuilt to nothing: removed
    }
    add("auths/sub/d.json".to_owned(), false);
    add("auths/bulk/live.json".to_owned(), true);
    add("auths/sub/live.json".to_owned(), true);
    add("auths/live.json".to_owned(), true);
    t.write("README.md", "x\n");
    t.commit_all("pool");
    let r = prune(&t, &["--force"]);
    assert_eq!(r.code, 0, "{}\n{}", r.stdout, r.stderr);
    let mut want: Vec<String> = kept.clone();
    want.push("README.md".to_owned());
    want.sort();
    assert_eq!(tree_names(&t, "HEAD"), want);
    assert_eq!(
        trailer(&t, "HEAD", "Credman-Removed"),
        dead.len().to_string()
    );
    let refs: Vec<&str> = dead.iter().map(String::as_str).collect();
    assert_consistent_after_commit(&t, &refs, &[]);
    assert!(
        !t.root.join("auths/gone").exists(),
        "emptied directory removed from the working tree"
    );
}

/// A throwaway GnuPG home with one passphrase-less signing key for `committer@example.com`, or
/// `None` (after saying why) when gpg is not installed; under `CI=true` gpg must be there.
#[allow(clippy::print_stderr)] // a skipped test says so
fn gpg_home(t: &TestRepo) -> Option<PathBuf> {
    let ci = std::env::var("CI").is_ok_and(|v| v == "true");
    if Command::new("gpg").arg("--version").output().is_err() {
        assert!(
            !ci,
            "gpg is required under CI=true (.ci/run installs gnupg)"
        );
        eprintln!("SKIPPED: gpg is not installed, the GnuPG signing test did not run");
        return None;
    }
    let home = t.home().join("gnupg");
    std::fs::create_dir_all(&home).unwrap();
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt as _;
        std::fs::set_permissions(&home, std::fs::Permissions::from_mode(0o700)).unwrap();
    }
    let out = Command::new("gpg")
        .env("GNUPGHOME", &home)
        .args([
            "--batch",
            "--passphrase",
            "",
            "--quick-gen-key",
            "Test Committer <committer@example.com>",
            "ed25519",
            "sign",
            "never",
        ])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    Some(home)
}

/// Issue 16 item 7: a failing signer is reported in git's words (`gpg failed to sign the data`)
/// followed by gpg's own lines without `[GNUPG:]` status lines, never a Rust debug string; a
/// working gpg signs a commit `git verify-commit` accepts.
#[test]
fn regression_16_gpg_signing_errors_in_gits_words_and_a_verified_gpg_prune() {
    let (t, _) = pool();
    let Some(gnupg) = gpg_home(&t) else { return };
    t.git(&["config", "commit.gpgSign", "true"]);
    t.git(&["config", "gpg.format", "openpgp"]);
    // A wrapper that runs the real gpg with its home, and (when told) fails the way gpg does
    // for a key it does not have.
    let wrapper = t.home().join("gpg-wrapper.sh");
    std::fs::write(
        &wrapper,
        format!(
            "#!/bin/sh\nexport GNUPGHOME='{}'\nif [ -e '{}' ]; then\n  \
             exec gpg --batch --pinentry-mode loopback --passphrase '' \"$@\"\nfi\n\
             exec gpg --batch \"$@\" -u nobody-has-this-key@example.invalid\n",
            gnupg.display(),
            t.home().join("gpg-ok").display()
        ),
    )
    .unwrap();
    {
        use std::os::unix::fs::PermissionsExt as _;
        std::fs::set_permissions(&wrapper, std::fs::Permissions::from_mode(0o755)).unwrap();
    }
    t.git(&["config", "gpg.program", wrapper.to_str().unwrap()]);
    let old = rev(&t, "HEAD");
    let r = prune(&t, &[DEAD]);
    assert_eq!(r.code, 2, "{}\n{}", r.stdout, r.stderr);
    let lines: Vec<&str> = r.stderr.lines().collect();
    assert_eq!(
        lines.first().copied(),
        Some("error: gpg failed to sign the data"),
        "{}",
        r.stderr
    );
    assert!(
        lines
            .iter()
            .any(|l| l.starts_with("gpg: ") && l.contains("nobody-has-this-key")),
        "gpg's own words: {}",
        r.stderr
    );
    for bad in [
        "[GNUPG:]",
        "exit_code",
        "stderr=",
        "Signing program failed",
        "\\n",
    ] {
        assert!(!r.stderr.contains(bad), "{bad} in {}", r.stderr);
    }
    assert_eq!(rev(&t, "HEAD"), old);
    assert_eq!(t.git(&["status", "--porcelain"]), "");

    // The same signer with its key: signed, and git verifies the signature.
    std::fs::write(t.home().join("gpg-ok"), "").unwrap();
    let r = prune(&t, &[DEAD]);
    assert_eq!(r.code, 0, "{}\n{}", r.stdout, r.stderr);
    let verify = Command::new("git")
        .args(["verify-commit", "--raw", "HEAD"])
        .current_dir(&t.root)
        .env_clear()
        .envs(scrubbed_env(t.home()))
        .env("GNUPGHOME", &gnupg)
        .output()
        .unwrap();
    assert!(
        verify.status.success(),
        "{}",
        String::from_utf8_lossy(&verify.stderr)
    );
    assert!(String::from_utf8_lossy(&verify.stderr).contains("GOODSIG"));
    assert_consistent_after_commit(&t, &[DEAD], &[]);
}
