//! `git credman show` on a prune commit signed in-process with `--signing-key` (the README's own
//! example), checked against git's verification configuration.

use std::path::{Path, PathBuf};
use std::process::Command;

use crate::support::*;

fn keygen(t: &TestRepo, name: &str) -> PathBuf {
    let path = t.home().join(name);
    let out = Command::new("ssh-keygen")
        .args(["-q", "-t", "ed25519", "-N", "", "-C", "show-test", "-f"])
        .arg(&path)
        .env_clear()
        .envs(scrubbed_env(t.home()))
        .output()
        .unwrap();
    assert!(out.status.success());
    path
}

fn allowed_signers(t: &TestRepo, key: &Path) -> PathBuf {
    let public = std::fs::read_to_string(format!("{}.pub", key.display())).unwrap();
    let file = t.home().join("allowed_signers");
    std::fs::write(
        &file,
        format!(
            "committer@example.com namespaces=\"git\" {}\n",
            public.trim()
        ),
    )
    .unwrap();
    file
}

/// Issue #12 item 6: a good ssh signature with no `gpg.ssh.allowedSignersFile` configured is
/// "signed, not verified" with the setting to fix it (exit 0), never `BAD`; with the file it is
/// good; against another key's file it is BAD (exit 1).
#[test]
fn signed_prune_without_allowed_signers_is_unverified_not_bad() {
    let t = TestRepo::new();
    t.write_json(
        "auths/codex-live.json",
        &codex_live("a@example.com", "acct-a", "plus"),
    );
    t.write_json(
        "auths/codex-dead.json",
        &codex_dead("d@example.com", "acct-d"),
    );
    t.commit_all("init");
    let key = keygen(&t, "signer");
    let r = run(t.credman().args([
        "prune",
        "--offline",
        "--signing-key",
        &key.display().to_string(),
    ]));
    assert_eq!(r.code, 0, "{}", r.stderr);

    let show = run(t.credman().args(["show"]));
    assert_eq!(show.code, 0, "{}\n{}", show.stdout, show.stderr);
    assert!(!show.stdout.contains("BAD"), "{}", show.stdout);
    assert!(
        show.stdout.contains("no allowed-signers file")
            && show.stdout.contains("gpg.ssh.allowedSignersFile"),
        "{}",
        show.stdout
    );

    let file = allowed_signers(&t, &key);
    t.git(&[
        "config",
        "gpg.ssh.allowedSignersFile",
        &file.display().to_string(),
    ]);
    let show = run(t.credman().args(["show"]));
    assert_eq!(show.code, 0, "{}", show.stdout);
    assert!(show.stdout.contains("good"), "{}", show.stdout);

    let other = keygen(&t, "stranger");
    allowed_signers(&t, &other);
    let show = run(t.credman().args(["show"]));
    assert_eq!(show.code, 1, "{}", show.stdout);
    assert!(show.stdout.contains("BAD"), "{}", show.stdout);
}

/// Issue #12 item 7: `show` prints text or JSON; other formats are refused, not ignored.
#[test]
fn show_refuses_formats_it_cannot_print() {
    let t = TestRepo::new();
    t.write_json(
        "auths/codex-dead.json",
        &codex_dead("d@example.com", "acct-d"),
    );
    t.write_json(
        "auths/codex-live.json",
        &codex_live("a@example.com", "acct-a", "plus"),
    );
    t.commit_all("init");
    assert_eq!(
        run(t.credman().args(["prune", "--offline", "--no-sign"])).code,
        0
    );
    for f in ["sarif", "markdown", "github"] {
        let r = run(t.credman().args(["show", "--format", f]));
        assert_eq!(r.code, 2, "{f}: {}", r.stdout);
        assert!(
            r.stderr.contains("show prints text or json"),
            "{}",
            r.stderr
        );
    }
    let r = run(t.credman().args(["show", "--format", "json"]));
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert_eq!(r.json()["report"]["prune"]["removed"], 1);
}

/// Issue #12 item 7: `restore` agrees with `show` on what a prune commit is, and `prune --push`
/// with no such remote fails before committing anything.
#[test]
fn restore_takes_only_prune_commits_and_push_checks_its_remote_first() {
    let t = TestRepo::new();
    t.write_json(
        "auths/codex-dead.json",
        &codex_dead("d@example.com", "acct-d"),
    );
    t.write_json("package.json", &serde_json::json!({"name":"pool"}));
    t.commit_all("init");
    t.git(&["rm", "-q", "package.json"]);
    t.git(&["commit", "-q", "-m", "drop package.json"]);
    let r = run(t.credman().args(["restore", "HEAD"]));
    assert_eq!(r.code, 2, "{}", r.stdout);
    assert!(
        r.stderr.contains("not a git-credman prune commit"),
        "{}",
        r.stderr
    );
    let show = run(t.credman().args(["show", "HEAD"]));
    assert_eq!(show.code, 2);

    let before = t.git(&["rev-parse", "HEAD"]);
    let r = run(t
        .credman()
        .args(["prune", "--offline", "--no-sign", "--push"]));
    assert_eq!(r.code, 2, "{}", r.stdout);
    assert!(
        r.stderr.contains("no remote named 'origin'"),
        "{}",
        r.stderr
    );
    assert_eq!(
        t.git(&["rev-parse", "HEAD"]),
        before,
        "nothing was committed"
    );
    assert_eq!(t.git(&["status", "--porcelain"]), "");
}
