//! The pre-push gate and the CI report formats, end to end with a real `git push`.

use std::path::{Path, PathBuf};
use std::process::Command;

use serde_json::{Value, json};

use crate::support::*;

const LIVE: &str = "auths/codex-live.json";
const DEAD: &str = "auths/codex-dead.json";
const NO_TOKEN: &str = "auths/codex-no-token.json";
const ZERO: &str = "0000000000000000000000000000000000000000";
const BEGIN: &str = "# >>> git-credman pre-push >>>";
const END: &str = "# <<< git-credman pre-push <<<";

// ---------------------------------------------------------------------------------------------
// Helpers
// ---------------------------------------------------------------------------------------------

/// A directory in the temp home holding only a `git-credman` symlink to the binary under test.
fn bin_dir(t: &TestRepo) -> PathBuf {
    let dir = t.home().join("bin");
    if !dir.join("git-credman").exists() {
        std::fs::create_dir_all(&dir).unwrap();
        #[cfg(unix)]
        std::os::unix::fs::symlink(env!("CARGO_BIN_EXE_git-credman"), dir.join("git-credman"))
            .unwrap();
    }
    dir
}

/// The scrubbed environment with the binary's directory first on PATH (when `with_bin`).
fn push_env(t: &TestRepo, with_bin: bool) -> Vec<(String, String)> {
    let mut env = scrubbed_env(t.home());
    if with_bin {
        let dir = bin_dir(t);
        for (k, v) in &mut env {
            if k == "PATH" {
                *v = format!("{}:{v}", dir.display());
            }
        }
    }
    env
}

fn output_run(out: &std::process::Output) -> Run {
    Run {
        code: out.status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    }
}

/// Runs git in the repository with git-credman on PATH, without panicking.
fn git_run(t: &TestRepo, args: &[&str], extra_env: &[(&str, &str)], with_bin: bool) -> Run {
    git_run_in(t, &t.root, args, extra_env, with_bin)
}

/// Runs git in `dir` with git-credman on PATH (when `with_bin`), without panicking.
fn git_run_in(
    t: &TestRepo,
    dir: &Path,
    args: &[&str],
    extra_env: &[(&str, &str)],
    with_bin: bool,
) -> Run {
    let out = Command::new("git")
        .args(args)
        .current_dir(dir)
        .env_clear()
        .envs(push_env(t, with_bin))
        .envs(extra_env.iter().copied())
        .output()
        .unwrap();
    output_run(&out)
}

/// `git push <args>` with git-credman on PATH.
fn push(t: &TestRepo, args: &[&str]) -> Run {
    let mut all = vec!["push"];
    all.extend_from_slice(args);
    git_run(t, &all, &[], true)
}

/// Creates a bare repository in the temp home and adds it as `origin`.
fn add_remote(t: &TestRepo) -> PathBuf {
    let remote = t.home().join("remote.git");
    t.git_in(
        t.home(),
        &["init", "-q", "--bare", "-b", "main", "remote.git"],
    );
    t.git(&["remote", "add", "origin", &remote.display().to_string()]);
    remote
}

/// What the remote's `r` points to, if it exists.
fn remote_rev(t: &TestRepo, remote: &Path, r: &str) -> Option<String> {
    let out = Command::new("git")
        .args(["rev-parse", "-q", "--verify", r])
        .current_dir(remote)
        .env_clear()
        .envs(scrubbed_env(t.home()))
        .output()
        .unwrap();
    out.status
        .success()
        .then(|| String::from_utf8(out.stdout).unwrap().trim().to_owned())
}

fn rev(t: &TestRepo, r: &str) -> String {
    t.git(&["rev-parse", r]).trim().to_owned()
}

fn hook_path(t: &TestRepo) -> PathBuf {
    t.root.join(".git/hooks/pre-push")
}

fn install(t: &TestRepo, extra: &[&str]) -> Run {
    let mut args = vec!["hook", "install"];
    args.extend_from_slice(extra);
    run(t.credman().args(&args))
}

fn uninstall(t: &TestRepo) -> Run {
    run(t.credman().args(["hook", "uninstall"]))
}

/// Runs `hook pre-push <extra>` directly with `stdin`.
fn pre_push(t: &TestRepo, stdin: &str, extra: &[&str]) -> Run {
    pre_push_env(t, stdin, extra, &[])
}

fn pre_push_env(t: &TestRepo, stdin: &str, extra: &[&str], env: &[(&str, &str)]) -> Run {
    let mut args = vec!["hook", "pre-push"];
    args.extend_from_slice(extra);
    run(t
        .credman()
        .args(&args)
        .envs(env.iter().copied())
        .write_stdin(stdin.to_owned()))
}

/// One pre-push stdin line.
fn line(local_ref: &str, local: &str, remote_ref: &str, remote: &str) -> String {
    format!("{local_ref} {local} {remote_ref} {remote}\n")
}

fn all_output(r: &Run) -> String {
    format!("{}{}", r.stdout, r.stderr)
}

fn assert_no_leak(outputs: &[&str], planted: &[Value]) {
    for secret in planted.iter().flat_map(secrets_of) {
        for out in outputs {
            assert!(
                !out.contains(&secret),
                "a planted secret reached the output: {out}"
            );
        }
    }
}

#[cfg(unix)]
fn write_hook(path: &Path, content: &str) {
    use std::os::unix::fs::PermissionsExt as _;
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    std::fs::write(path, content).unwrap();
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o755)).unwrap();
}

fn live() -> Value {
    codex_live("alice@example.com", "acct-1", "plus")
}

fn dead() -> Value {
    codex_dead("carol@example.com", "acct-2")
}

fn no_token() -> Value {
    json!({"type":"codex","email":"erin@example.com","account_id":"acct-5"})
}

/// A repository whose first commit has one live credential, with the gate installed and a bare
/// `origin` that does not have the commit yet.
fn installed_repo() -> (TestRepo, PathBuf) {
    let t = TestRepo::new();
    t.write_json(LIVE, &live());
    t.write("README.md", "auth repo\n");
    t.commit_all("initial");
    let r = install(&t, &[]);
    assert_eq!(r.code, 0, "{}\n{}", r.stdout, r.stderr);
    let remote = add_remote(&t);
    (t, remote)
}

// ---------------------------------------------------------------------------------------------
// 1-4: install, then real pushes
// ---------------------------------------------------------------------------------------------

#[test]
fn install_then_push_allows_healthy_blocks_dead_and_no_verify_bypasses() {
    let (t, remote) = installed_repo();
    let hook = std::fs::read_to_string(hook_path(&t)).unwrap();
    assert!(hook.starts_with("#!/bin/sh\n"), "{hook}");
    assert!(hook.contains(BEGIN) && hook.contains(END), "{hook}");
    #[cfg(unix)]
    assert_eq!(mode_of(&hook_path(&t)), 0o755);

    let ok = push(&t, &["-u", "origin", "main"]);
    assert_eq!(ok.code, 0, "{}", all_output(&ok));
    assert!(
        all_output(&ok).contains("1 pushed credential file(s) checked (offline)"),
        "{}",
        all_output(&ok)
    );
    assert_eq!(remote_rev(&t, &remote, "main"), Some(rev(&t, "HEAD")));
    let pushed = rev(&t, "HEAD");

    let planted_dead = dead();
    t.write_json(DEAD, &planted_dead);
    t.commit_all("add a dead credential");
    let blocked = push(&t, &["origin", "main"]);
    let text = all_output(&blocked);
    assert_ne!(blocked.code, 0, "{text}");
    assert_eq!(
        remote_rev(&t, &remote, "main"),
        Some(pushed.clone()),
        "remote unchanged"
    );
    assert!(text.contains("push blocked"), "{text}");
    assert!(text.contains(DEAD), "{text}");
    assert!(text.contains("expired_by_time"), "{text}");
    assert!(text.contains("git push --no-verify"), "{text}");
    assert!(!text.contains(LIVE), "only the new file is checked: {text}");

    let bypass = push(&t, &["--no-verify", "origin", "main"]);
    assert_eq!(bypass.code, 0, "{}", all_output(&bypass));
    assert_eq!(remote_rev(&t, &remote, "main"), Some(rev(&t, "HEAD")));
    assert_no_leak(
        &[&all_output(&ok), &text, &all_output(&bypass)],
        &[live(), planted_dead],
    );
}

#[test]
fn in_push_env_lets_a_real_push_through() {
    let (t, remote) = installed_repo();
    t.write_json(DEAD, &dead());
    t.commit_all("dead");
    let r = git_run(
        &t,
        &["push", "origin", "main"],
        &[("GIT_CREDMAN_IN_PUSH", "1")],
        true,
    );
    assert_eq!(r.code, 0, "{}", all_output(&r));
    assert_eq!(remote_rev(&t, &remote, "main"), Some(rev(&t, "HEAD")));
}

#[test]
fn branch_deletion_is_allowed_even_with_dead_files() {
    let (t, remote) = installed_repo();
    assert_eq!(push(&t, &["-u", "origin", "main"]).code, 0);
    t.git(&["checkout", "-q", "-b", "feature"]);
    t.write_json(DEAD, &dead());
    t.commit_all("dead on feature");
    let r = push(&t, &["--no-verify", "-u", "origin", "feature"]);
    assert_eq!(r.code, 0, "{}", all_output(&r));
    assert!(remote_rev(&t, &remote, "refs/heads/feature").is_some());

    let del = push(&t, &["origin", "--delete", "feature"]);
    assert_eq!(del.code, 0, "{}", all_output(&del));
    assert_eq!(remote_rev(&t, &remote, "refs/heads/feature"), None);
    assert!(!all_output(&del).contains("push blocked"));
}

#[test]
fn new_branch_whose_history_is_on_the_remote_is_not_rescanned() {
    let t = TestRepo::new();
    t.write_json(DEAD, &dead());
    t.commit_all("dead, already accepted");
    assert_eq!(install(&t, &[]).code, 0);
    let remote = add_remote(&t);
    let first = push(&t, &["-u", "origin", "main"]);
    assert_ne!(first.code, 0, "the dead file blocks the first push");
    assert_eq!(remote_rev(&t, &remote, "main"), None);
    assert_eq!(push(&t, &["--no-verify", "-u", "origin", "main"]).code, 0);

    t.git(&["checkout", "-q", "-b", "feature"]);
    let r = push(&t, &["-u", "origin", "feature"]);
    let text = all_output(&r);
    assert_eq!(r.code, 0, "{text}");
    assert!(
        text.contains("0 pushed credential file(s) checked"),
        "{text}"
    );
    assert_eq!(
        remote_rev(&t, &remote, "refs/heads/feature"),
        Some(rev(&t, "HEAD"))
    );

    // A healthy commit on top of it: only that commit's files are checked.
    t.write_json(LIVE, &live());
    t.commit_all("live on feature");
    t.git(&["checkout", "-q", "-b", "feature2"]);
    let r = push(&t, &["-u", "origin", "feature2"]);
    let text = all_output(&r);
    assert_eq!(r.code, 0, "{text}");
    assert!(
        text.contains("1 pushed credential file(s) checked"),
        "{text}"
    );
}

#[test]
fn new_branch_adding_a_dead_file_is_blocked() {
    let (t, remote) = installed_repo();
    assert_eq!(push(&t, &["-u", "origin", "main"]).code, 0);
    t.git(&["checkout", "-q", "-b", "feature"]);
    t.write_json(DEAD, &dead());
    t.commit_all("dead on feature");
    let r = push(&t, &["-u", "origin", "feature"]);
    let text = all_output(&r);
    assert_ne!(r.code, 0, "{text}");
    assert!(text.contains(DEAD), "{text}");
    assert!(text.contains("--no-verify"), "{text}");
    assert!(
        text.contains("push blocked: 1 credential file(s)"),
        "{text}"
    );
    assert_eq!(remote_rev(&t, &remote, "refs/heads/feature"), None);
}

#[test]
fn first_push_to_an_empty_remote_checks_the_whole_history() {
    let t = TestRepo::new();
    t.write_json(DEAD, &dead());
    t.commit_all("dead");
    t.write("README.md", "x\n");
    t.commit_all("readme");
    assert_eq!(install(&t, &[]).code, 0);
    let remote = add_remote(&t);
    let r = push(&t, &["origin", "main"]);
    assert_ne!(r.code, 0, "{}", all_output(&r));
    assert!(all_output(&r).contains(DEAD));
    assert_eq!(remote_rev(&t, &remote, "main"), None);
}

#[test]
fn pushing_an_annotated_tag_is_not_an_error() {
    let (t, remote) = installed_repo();
    assert_eq!(push(&t, &["-u", "origin", "main"]).code, 0);
    t.git(&["tag", "-a", "v1", "-m", "release 1"]);
    let r = push(&t, &["origin", "v1"]);
    assert_eq!(r.code, 0, "{}", all_output(&r));
    assert!(remote_rev(&t, &remote, "refs/tags/v1").is_some());

    // A tag on a new commit adding a dead file is gated like a branch.
    t.write_json(DEAD, &dead());
    t.commit_all("dead");
    t.git(&["tag", "-a", "v2", "-m", "release 2"]);
    let r = push(&t, &["origin", "v2"]);
    let text = all_output(&r);
    assert_ne!(r.code, 0, "{text}");
    assert!(text.contains(DEAD), "{text}");
    assert_eq!(remote_rev(&t, &remote, "refs/tags/v2"), None);
}

#[test]
fn the_installed_block_warns_and_allows_when_git_credman_is_missing() {
    let (t, remote) = installed_repo();
    t.write_json(DEAD, &dead());
    t.commit_all("dead");
    let r = git_run(&t, &["push", "origin", "main"], &[], false);
    assert_eq!(r.code, 0, "{}", all_output(&r));
    assert!(
        all_output(&r).contains("git-credman is not installed"),
        "{}",
        all_output(&r)
    );
    assert_eq!(remote_rev(&t, &remote, "main"), Some(rev(&t, "HEAD")));
}

// ---------------------------------------------------------------------------------------------
// 5: install / uninstall
// ---------------------------------------------------------------------------------------------

#[cfg(unix)]
#[test]
fn install_keeps_a_foreign_shell_hook_and_uninstall_restores_it() {
    let t = TestRepo::new();
    t.write_json(LIVE, &live());
    t.commit_all("initial");
    let remote = add_remote(&t);
    let marker = t.home().join("marker");
    let copy = t.home().join("stdin-copy");
    let original = format!(
        "#!/bin/sh\n# the team's own hook\necho \"team hook ran: $1\" > '{}'\ncat > '{}'\nexit 0\n",
        marker.display(),
        copy.display()
    );
    write_hook(&hook_path(&t), &original);

    let r = install(&t, &[]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert!(r.stderr.contains("existing hook"), "{}", r.stderr);
    let installed = std::fs::read_to_string(hook_path(&t)).unwrap();
    assert!(
        installed.starts_with(&format!("#!/bin/sh\n{BEGIN}\n")),
        "{installed}"
    );
    assert!(
        installed.ends_with(original.strip_prefix("#!/bin/sh\n").unwrap()),
        "{installed}"
    );
    assert_eq!(mode_of(&hook_path(&t)), 0o755);

    // Idempotent.
    let again = install(&t, &[]);
    assert_eq!(again.code, 0);
    assert!(
        again.stderr.contains("already installed"),
        "{}",
        again.stderr
    );
    assert_eq!(std::fs::read_to_string(hook_path(&t)).unwrap(), installed);

    // The team's hook still runs and still gets git's lines.
    let r = push(&t, &["origin", "main"]);
    assert_eq!(r.code, 0, "{}", all_output(&r));
    assert!(
        all_output(&r).contains("1 pushed credential file(s) checked"),
        "{}",
        all_output(&r)
    );
    assert_eq!(
        std::fs::read_to_string(&marker).unwrap(),
        "team hook ran: origin\n"
    );
    let head = rev(&t, "HEAD");
    assert_eq!(
        std::fs::read_to_string(&copy).unwrap(),
        format!("refs/heads/main {head} refs/heads/main {ZERO}\n")
    );
    assert_eq!(remote_rev(&t, &remote, "main"), Some(head));

    let r = uninstall(&t);
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert!(
        r.stderr.contains("the rest of the hook is kept"),
        "{}",
        r.stderr
    );
    assert_eq!(std::fs::read_to_string(hook_path(&t)).unwrap(), original);
    assert_eq!(mode_of(&hook_path(&t)), 0o755);
    let r = uninstall(&t);
    assert_eq!(r.code, 0);
    assert!(r.stderr.contains("nothing to remove"), "{}", r.stderr);
    assert_eq!(std::fs::read_to_string(hook_path(&t)).unwrap(), original);
}

#[test]
fn install_creates_a_hook_and_uninstall_deletes_it() {
    let t = TestRepo::new();
    t.write("README.md", "x\n");
    t.commit_all("initial");
    let r = install(&t, &[]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert!(
        r.stderr.contains("Installed the pre-push gate") && r.stdout.is_empty(),
        "{}",
        r.stderr
    );
    let first = std::fs::read(hook_path(&t)).unwrap();
    let again = install(&t, &[]);
    assert_eq!(again.code, 0);
    assert!(
        again.stderr.contains("already installed"),
        "{}",
        again.stderr
    );
    assert_eq!(std::fs::read(hook_path(&t)).unwrap(), first, "idempotent");
    assert!(!t.root.join(".git/hooks/pre-push.credman-tmp").exists());

    let r = uninstall(&t);
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert!(r.stderr.contains("Removed"), "{}", r.stderr);
    assert!(!hook_path(&t).exists());
    let r = uninstall(&t);
    assert_eq!(r.code, 0);
    assert!(
        r.stderr.contains("No pre-push hook is installed"),
        "{}",
        r.stderr
    );
}

#[cfg(unix)]
#[test]
fn a_non_shell_hook_is_refused_without_force_and_backed_up_with_force() {
    let t = TestRepo::new();
    t.write("README.md", "x\n");
    t.commit_all("initial");
    let original = "#!/usr/bin/env python3\nimport sys\nsys.exit(0)\n";
    write_hook(&hook_path(&t), original);

    let r = install(&t, &[]);
    assert_eq!(r.code, 2, "{}\n{}", r.stdout, r.stderr);
    assert!(r.stderr.contains("not a shell script"), "{}", r.stderr);
    assert!(r.stderr.contains("--force"), "{}", r.stderr);
    assert_eq!(std::fs::read_to_string(hook_path(&t)).unwrap(), original);
    let backup = t.root.join(".git/hooks/pre-push.credman-backup");
    assert!(!backup.exists());

    let r = install(&t, &["--force"]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert!(r.stderr.contains("credman-backup"), "{}", r.stderr);
    assert_eq!(std::fs::read_to_string(&backup).unwrap(), original);
    let new = std::fs::read_to_string(hook_path(&t)).unwrap();
    assert!(
        new.starts_with("#!/bin/sh\n") && new.contains(BEGIN),
        "{new}"
    );
    assert_eq!(mode_of(&hook_path(&t)), 0o755);
}

#[cfg(unix)]
#[test]
fn core_hooks_path_is_respected() {
    let t = TestRepo::new();
    t.write_json(LIVE, &live());
    t.commit_all("initial");
    let remote = add_remote(&t);
    t.git(&["config", "core.hooksPath", ".githooks"]);
    let r = install(&t, &[]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    let path = t.root.join(".githooks/pre-push");
    assert!(path.exists(), "installed into core.hooksPath");
    assert!(!hook_path(&t).exists(), "not into .git/hooks");
    assert_eq!(mode_of(&path), 0o755);
    // Installing from a subdirectory resolves the relative path against the work tree.
    std::fs::create_dir_all(t.root.join("sub")).unwrap();
    let r = run(t.credman_in(&t.root.join("sub")).args(["hook", "install"]));
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert!(r.stderr.contains("already installed"), "{}", r.stderr);
    assert!(!t.root.join("sub/.githooks").exists());

    t.write_json(DEAD, &dead());
    t.commit_all("dead");
    let r = push(&t, &["origin", "main"]);
    assert_ne!(r.code, 0, "git runs the gate from core.hooksPath");
    assert!(all_output(&r).contains(DEAD));
    assert_eq!(remote_rev(&t, &remote, "main"), None);

    let r = uninstall(&t);
    assert_eq!(r.code, 0);
    assert!(!path.exists());

    // An absolute core.hooksPath.
    let abs = t.home().join("shared-hooks");
    t.git(&["config", "core.hooksPath", &abs.display().to_string()]);
    assert_eq!(install(&t, &[]).code, 0);
    assert!(abs.join("pre-push").exists());
    let r = push(&t, &["origin", "main"]);
    assert_ne!(r.code, 0, "{}", all_output(&r));
}

#[test]
fn install_from_a_linked_worktree_gates_pushes() {
    let (t, remote) = installed_repo();
    assert_eq!(uninstall(&t).code, 0);
    assert!(!hook_path(&t).exists());
    let wt = t.home().join("wt");
    t.git(&[
        "worktree",
        "add",
        "-q",
        &wt.display().to_string(),
        "-b",
        "wt",
    ]);
    let r = run(t.credman_in(&wt).args(["hook", "install"]));
    assert_eq!(r.code, 0, "{}", r.stderr);
    // git runs hooks from the common directory (`git rev-parse --git-path hooks`).
    let hooks = t.git_in(
        &wt,
        &["rev-parse", "--path-format=absolute", "--git-path", "hooks"],
    );
    let installed = Path::new(hooks.trim()).join("pre-push");
    assert_eq!(installed, hook_path(&t));
    assert!(installed.exists(), "{}", r.stdout);

    std::fs::write(
        wt.join("auths/codex-dead.json"),
        serde_json::to_vec(&dead()).unwrap(),
    )
    .unwrap();
    t.git_in(&wt, &["add", "-A"]);
    t.git_in(&wt, &["commit", "-q", "-m", "dead"]);
    let r = git_run_in(&t, &wt, &["push", "origin", "wt"], &[], true);
    assert_ne!(r.code, 0, "{}", all_output(&r));
    assert_eq!(remote_rev(&t, &remote, "refs/heads/wt"), None);
}

// ---------------------------------------------------------------------------------------------
// 6: `hook pre-push` run directly
// ---------------------------------------------------------------------------------------------

/// main: c1 adds a live file, c2 adds a dead one. Returns (repo, c1, c2).
fn two_commits() -> (TestRepo, String, String) {
    let t = TestRepo::new();
    t.write_json(LIVE, &live());
    t.commit_all("live");
    let c1 = rev(&t, "HEAD");
    t.write_json(DEAD, &dead());
    t.commit_all("dead");
    let c2 = rev(&t, "HEAD");
    (t, c1, c2)
}

#[test]
fn pre_push_reads_updates_new_branches_and_deletions() {
    let (t, c1, c2) = two_commits();
    let main = "refs/heads/main";

    // An update from c1 to c2 sends only the dead file.
    let r = pre_push(
        &t,
        &line(main, &c2, main, &c1),
        &["origin", "/x/remote.git"],
    );
    assert_eq!(r.code, 1, "{}\n{}", r.stdout, r.stderr);
    assert!(r.stdout.contains(DEAD), "{}", r.stdout);
    assert!(!r.stdout.contains(LIVE), "{}", r.stdout);
    assert!(r.stdout.contains("git push --no-verify"), "{}", r.stdout);

    // A new branch at c1 (nothing on the remote): the live file only.
    let r = pre_push(&t, &line(main, &c1, main, ZERO), &[]);
    assert_eq!(r.code, 0, "{}\n{}", r.stdout, r.stderr);
    assert!(
        r.stdout
            .contains("1 pushed credential file(s) checked (offline); nothing blocks the push."),
        "{}",
        r.stdout
    );

    // A new branch at c2: the whole history.
    let r = pre_push(&t, &line(main, &c2, main, ZERO), &[]);
    assert_eq!(r.code, 1, "{}", r.stdout);

    // A deletion is never checked.
    let r = pre_push(&t, &line("(delete)", ZERO, main, &c2), &[]);
    assert_eq!(r.code, 0, "{}\n{}", r.stdout, r.stderr);
    assert!(
        r.stdout.contains("0 pushed credential file(s) checked"),
        "{}",
        r.stdout
    );

    // Nothing to push at all.
    let r = pre_push(&t, "", &[]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert!(
        r.stdout.contains("0 pushed credential file(s) checked"),
        "{}",
        r.stdout
    );

    // Same tip on both sides: nothing new.
    let r = pre_push(&t, &line(main, &c2, main, &c2), &[]);
    assert_eq!(r.code, 0, "{}", r.stdout);

    // Several lines: one blocking line blocks the push.
    let input = format!(
        "{}{}",
        line("(delete)", ZERO, "refs/heads/old", &c1),
        line(main, &c2, main, &c1)
    );
    let r = pre_push(&t, &input, &[]);
    assert_eq!(r.code, 1, "{}", r.stdout);
}

#[test]
fn pre_push_hides_the_named_remotes_tracking_branches_for_a_new_branch() {
    let (t, _c1, c2) = two_commits();
    t.git(&["update-ref", "refs/remotes/origin/main", &c2]);
    let input = line("refs/heads/feature", &c2, "refs/heads/feature", ZERO);
    let r = pre_push(&t, &input, &["origin"]);
    assert_eq!(r.code, 0, "{}\n{}", r.stdout, r.stderr);
    assert!(
        r.stdout.contains("0 pushed credential file(s) checked"),
        "{}",
        r.stdout
    );
    // Another remote's tracking branches do not count.
    let r = pre_push(&t, &input, &["upstream"]);
    assert_eq!(r.code, 1, "{}", r.stdout);
    // Remote defaults to origin.
    assert_eq!(pre_push(&t, &input, &[]).code, 0);
}

#[test]
fn pre_push_checks_files_as_they_are_at_the_pushed_tip() {
    let (t, c1, _c2) = two_commits();
    // Fixed later in the same push: allowed.
    t.write_json(DEAD, &codex_live("carol@example.com", "acct-2", "plus"));
    t.commit_all("refresh");
    let fixed = rev(&t, "HEAD");
    let main = "refs/heads/main";
    let r = pre_push(&t, &line(main, &fixed, main, &c1), &[]);
    assert_eq!(r.code, 0, "{}", r.stdout);
    assert!(
        r.stdout.contains("1 pushed credential file(s) checked"),
        "{}",
        r.stdout
    );

    // Added dead and deleted later in the same push: nothing at the tip, allowed.
    t.git(&["reset", "-q", "--hard", &c1]);
    t.write_json(DEAD, &dead());
    t.commit_all("dead");
    t.git(&["rm", "-q", DEAD]);
    t.git(&["commit", "-q", "-m", "drop"]);
    let r = pre_push(&t, &line(main, &rev(&t, "HEAD"), main, &c1), &[]);
    assert_eq!(r.code, 0, "{}", r.stdout);

    // Files outside the auth dir are not credentials there.
    t.write("notes/creds.json", "{not json");
    t.commit_all("notes");
    let r = pre_push(&t, &line(main, &rev(&t, "HEAD"), main, &c1), &[]);
    assert_eq!(r.code, 0, "{}", r.stdout);

    // An invalid file under the auth dir blocks by default.
    t.write("auths/broken.json", "{not json");
    t.commit_all("broken");
    let r = pre_push(&t, &line(main, &rev(&t, "HEAD"), main, &c1), &[]);
    assert_eq!(r.code, 1, "{}", r.stdout);
    assert!(r.stdout.contains("auths/broken.json"), "{}", r.stdout);
    assert!(r.stdout.contains("invalid_file"), "{}", r.stdout);
}

#[test]
fn malformed_stdin_is_an_error() {
    let (t, c1, c2) = two_commits();
    for bad in [
        "garbage\n".to_owned(),
        format!("refs/heads/main {c2} refs/heads/main\n"),
        format!("refs/heads/main {c2} refs/heads/main nothex\n"),
        format!("refs/heads/main  {c2} refs/heads/main {c1}\n"),
        format!(
            "{}refs/heads/main {c2}\n",
            line("refs/heads/x", &c2, "refs/heads/x", &c1)
        ),
    ] {
        let r = pre_push(&t, &bad, &[]);
        assert_eq!(r.code, 2, "{bad:?}: {}\n{}", r.stdout, r.stderr);
        assert!(
            r.stderr.contains("unexpected pre-push input line"),
            "{bad:?}: {}",
            r.stderr
        );
        assert!(!r.stdout.contains("nothing blocks"), "{}", r.stdout);
    }
    let r = pre_push(&t, "x\n", &[]);
    assert!(r.stderr.contains("line 1"), "{}", r.stderr);
}

#[test]
fn in_push_env_exits_zero_at_once() {
    let (t, c1, c2) = two_commits();
    let main = "refs/heads/main";
    let r = pre_push_env(
        &t,
        &line(main, &c2, main, &c1),
        &[],
        &[("GIT_CREDMAN_IN_PUSH", "1")],
    );
    assert_eq!(r.code, 0, "{}\n{}", r.stdout, r.stderr);
    assert_eq!(r.stdout, "");
    // Even malformed input is not read.
    let r = pre_push_env(&t, "garbage\n", &[], &[("GIT_CREDMAN_IN_PUSH", "1")]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    // An empty value counts as unset.
    let r = pre_push_env(
        &t,
        &line(main, &c2, main, &c1),
        &[],
        &[("GIT_CREDMAN_IN_PUSH", "")],
    );
    assert_eq!(r.code, 1);
}

#[test]
fn fail_on_flag_config_and_env_change_what_blocks() {
    let t = TestRepo::new();
    t.write_json(LIVE, &live());
    t.commit_all("live");
    let base = rev(&t, "HEAD");
    t.write_json(NO_TOKEN, &no_token());
    t.commit_all("no token");
    let nt = rev(&t, "HEAD");
    t.write_json(DEAD, &dead());
    t.commit_all("dead");
    let both = rev(&t, "HEAD");
    let main = "refs/heads/main";
    let only_nt = line(main, &nt, main, &base);
    let only_dead = line(main, &both, main, &nt);

    let r = pre_push(&t, &only_nt, &[]);
    assert_eq!(r.code, 1, "missing_token blocks by default: {}", r.stdout);
    assert!(r.stdout.contains(NO_TOKEN) && r.stdout.contains("missing_token"));

    let r = pre_push(&t, &only_nt, &["--fail-on", "expired_by_time"]);
    assert_eq!(r.code, 0, "{}\n{}", r.stdout, r.stderr);
    let r = pre_push(&t, &only_dead, &["--fail-on", "missing_token"]);
    assert_eq!(r.code, 0, "{}\n{}", r.stdout, r.stderr);
    let r = pre_push(&t, &only_nt, &["--fail-on", "missing_token"]);
    assert_eq!(r.code, 1, "{}", r.stdout);
    assert!(r.stdout.contains("missing_token"), "{}", r.stdout);
    let r = pre_push(&t, &only_dead, &["--fail-on", "none"]);
    assert_eq!(r.code, 0, "{}\n{}", r.stdout, r.stderr);

    // Git config.
    t.git(&["config", "credman.hook.failOn", "expired_by_time"]);
    assert_eq!(pre_push(&t, &only_nt, &[]).code, 0);
    assert_eq!(pre_push(&t, &only_dead, &[]).code, 1);
    // The flag wins over the config.
    assert_eq!(
        pre_push(&t, &only_nt, &["--fail-on", "missing_token"]).code,
        1
    );
    // The environment wins over the config.
    let r = pre_push_env(
        &t,
        &only_dead,
        &[],
        &[("GIT_CREDMAN_HOOK_FAIL_ON", "missing_token")],
    );
    assert_eq!(r.code, 0, "{}\n{}", r.stdout, r.stderr);

    // Invalid values are usage errors.
    let r = pre_push(&t, &only_nt, &["--fail-on", "bogus"]);
    assert_eq!(r.code, 2, "{}", r.stderr);
    t.git(&["config", "credman.hook.failOn", "bogus"]);
    let r = pre_push(&t, &only_nt, &[]);
    assert_eq!(r.code, 2, "{}\n{}", r.stdout, r.stderr);
    assert!(r.stderr.contains("credman.hook.failOn"), "{}", r.stderr);
}

// ---------------------------------------------------------------------------------------------
// 7: the pre-commit framework's variables
// ---------------------------------------------------------------------------------------------

#[test]
fn pre_commit_variables_with_empty_stdin_are_gated() {
    let (t, c1, c2) = two_commits();
    let r = pre_push_env(
        &t,
        "",
        &[],
        &[
            ("PRE_COMMIT_FROM_REF", c1.as_str()),
            ("PRE_COMMIT_TO_REF", c2.as_str()),
            ("PRE_COMMIT_REMOTE_BRANCH", "refs/heads/main"),
        ],
    );
    assert_eq!(r.code, 1, "{}\n{}", r.stdout, r.stderr);
    assert!(r.stdout.contains(DEAD), "{}", r.stdout);

    // Without a FROM ref (a new branch): the whole history below TO, minus the remote's tips.
    let r = pre_push_env(&t, "", &[], &[("PRE_COMMIT_TO_REF", c1.as_str())]);
    assert_eq!(r.code, 0, "{}\n{}", r.stdout, r.stderr);
    assert!(
        r.stdout.contains("1 pushed credential file(s) checked"),
        "{}",
        r.stdout
    );
    let r = pre_push_env(&t, "", &[], &[("PRE_COMMIT_TO_REF", "main")]);
    assert_eq!(r.code, 1, "{}\n{}", r.stdout, r.stderr);
}

#[test]
fn pre_commit_variables_for_a_healthy_range_allow_the_push() {
    let (t, c1, _c2) = two_commits();
    let r = pre_push_env(
        &t,
        "",
        &[],
        &[
            ("PRE_COMMIT_FROM_REF", c1.as_str()),
            ("PRE_COMMIT_TO_REF", c1.as_str()),
        ],
    );
    assert_eq!(r.code, 0, "{}\n{}", r.stdout, r.stderr);
    assert!(
        r.stdout.contains("0 pushed credential file(s) checked"),
        "{}",
        r.stdout
    );
}

// ---------------------------------------------------------------------------------------------
// 8: the portable shim and the pre-commit manifest
// ---------------------------------------------------------------------------------------------

#[cfg(unix)]
#[test]
fn shim_hook_blocks_and_allows_like_the_installed_block() {
    let t = TestRepo::new();
    t.write_json(LIVE, &live());
    t.commit_all("initial");
    let remote = add_remote(&t);
    let shim =
        std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/hooks/pre-push")).unwrap();
    assert!(shim.starts_with("#!/bin/sh\n"));
    write_hook(&hook_path(&t), &shim);

    let r = push(&t, &["-u", "origin", "main"]);
    assert_eq!(r.code, 0, "{}", all_output(&r));
    assert!(all_output(&r).contains("1 pushed credential file(s) checked"));
    assert_eq!(remote_rev(&t, &remote, "main"), Some(rev(&t, "HEAD")));
    let pushed = rev(&t, "HEAD");

    t.write_json(DEAD, &dead());
    t.commit_all("dead");
    let r = push(&t, &["origin", "main"]);
    let text = all_output(&r);
    assert_ne!(r.code, 0, "{text}");
    assert!(
        text.contains(DEAD) && text.contains("--no-verify"),
        "{text}"
    );
    assert_eq!(remote_rev(&t, &remote, "main"), Some(pushed));

    // Without git-credman on PATH the shim warns and lets the push through.
    let r = git_run(&t, &["push", "origin", "main"], &[], false);
    assert_eq!(r.code, 0, "{}", all_output(&r));
    assert!(all_output(&r).contains("git-credman is not installed"));
    assert_eq!(remote_rev(&t, &remote, "main"), Some(rev(&t, "HEAD")));

    // `hook install` keeps the shim (a shell hook) and adds its block.
    let r = install(&t, &[]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    let both = std::fs::read_to_string(hook_path(&t)).unwrap();
    assert!(both.contains(BEGIN) && both.ends_with(shim.strip_prefix("#!/bin/sh\n").unwrap()));
    assert_eq!(uninstall(&t).code, 0);
    assert_eq!(std::fs::read_to_string(hook_path(&t)).unwrap(), shim);
}

#[test]
fn pre_commit_manifest_declares_a_pre_push_hook() {
    let text = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/.pre-commit-hooks.yaml"
    ))
    .unwrap();
    // YAML-ish: a list of one mapping of `key: value` lines.
    let mut entries: Vec<Vec<(String, String)>> = Vec::new();
    for l in text.lines() {
        if l.trim().is_empty() || l.trim_start().starts_with('#') {
            continue;
        }
        let (body, new_item) = match l.strip_prefix("- ") {
            Some(b) => (b, true),
            None => (
                l.strip_prefix("  ")
                    .unwrap_or_else(|| panic!("unexpected line: {l:?}")),
                false,
            ),
        };
        assert!(!body.starts_with(' '), "unexpected indentation: {l:?}");
        let (k, v) = body
            .split_once(": ")
            .unwrap_or_else(|| panic!("not a key: value line: {l:?}"));
        if new_item {
            entries.push(Vec::new());
        }
        entries
            .last_mut()
            .expect("a mapping line before any list item")
            .push((k.to_owned(), v.to_owned()));
    }
    assert_eq!(entries.len(), 1, "{text}");
    let get = |k: &str| {
        entries[0]
            .iter()
            .find(|(key, _)| key == k)
            .map_or_else(|| panic!("no {k} in {text}"), |(_, v)| v.as_str())
    };
    assert_eq!(get("id"), "git-credman");
    assert_eq!(get("entry"), "git-credman hook pre-push");
    assert_eq!(get("language"), "system");
    assert_eq!(get("stages"), "[pre-push]");
    assert_eq!(get("pass_filenames"), "false");
    assert_eq!(get("always_run"), "true");
    let mut keys: Vec<&str> = entries[0].iter().map(|(k, _)| k.as_str()).collect();
    keys.sort_unstable();
    let n = keys.len();
    keys.dedup();
    assert_eq!(keys.len(), n, "duplicate keys");
}

// ---------------------------------------------------------------------------------------------
// 9: CI formats
// ---------------------------------------------------------------------------------------------

/// 2020-01-01T00:00:00Z and 2099-01-01T00:00:00Z.
const PAST: i64 = 1_577_836_800;
const FUTURE: i64 = 4_070_908_800;

/// One dead, one invalid and one live file, with fixed dates. Returns the planted credentials.
fn ci_repo() -> (TestRepo, Vec<Value>) {
    let t = TestRepo::new();
    let dead = json!({"type":"codex","email":"carol@example.com","account_id":"acct-2",
        "access_token": codex_access(PAST, "acct-2"), "expired": "2020-01-01T00:00:00Z"});
    let live = json!({"type":"codex","email":"alice@example.com","account_id":"acct-1",
        "id_token": codex_id_token("alice@example.com", "acct-1", "plus"),
        "access_token": codex_access(FUTURE, "acct-1"),
        "refresh_token": format!("rt_{}", noise("alice", 40)),
        "expired": "2099-01-01T00:00:00Z", "disabled": false});
    t.write_json(DEAD, &dead);
    t.write_json(LIVE, &live);
    t.write("auths/broken.json", "{not json");
    t.commit_all("initial");
    (t, vec![dead, live])
}

fn scan_format(t: &TestRepo, format: &str) -> Run {
    run(t.credman().args(["scan", "--offline", "--format", format]))
}

#[test]
fn sarif_report_lists_only_files_that_are_not_alive() {
    let (t, planted) = ci_repo();
    let r = scan_format(&t, "sarif");
    assert_eq!(r.code, 1, "{}", r.stderr);
    assert_no_leak(&[&r.stdout, &r.stderr], &planted);
    let s = r.other_json();
    assert_eq!(s["version"], "2.1.0");
    assert!(s["$schema"].as_str().unwrap().contains("sarif-2.1.0"));
    let runs = s["runs"].as_array().unwrap();
    assert_eq!(runs.len(), 1);
    let driver = &runs[0]["tool"]["driver"];
    assert_eq!(driver["name"], "git-credman");
    let rule_ids: Vec<&str> = driver["rules"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["id"].as_str().unwrap())
        .collect();
    let results = runs[0]["results"].as_array().unwrap();
    let mut got: Vec<(&str, &str, &str)> = results
        .iter()
        .map(|r| {
            let rule = r["ruleId"].as_str().unwrap();
            assert!(rule_ids.contains(&rule), "{rule} has no rule");
            assert!(r["message"]["text"].as_str().is_some_and(|m| !m.is_empty()));
            let locs = r["locations"].as_array().unwrap();
            assert_eq!(locs.len(), 1);
            assert_eq!(locs[0]["physicalLocation"]["region"]["startLine"], 1);
            (
                locs[0]["physicalLocation"]["artifactLocation"]["uri"]
                    .as_str()
                    .unwrap(),
                rule,
                r["level"].as_str().unwrap(),
            )
        })
        .collect();
    got.sort_unstable();
    assert_eq!(
        got,
        [
            ("auths/broken.json", "invalid_file", "warning"),
            (DEAD, "expired_by_time", "error"),
        ]
    );
    assert!(
        !rule_ids.contains(&"unverified"),
        "alive statuses have no rule"
    );
}

#[test]
fn github_format_snapshot() {
    let (t, planted) = ci_repo();
    let r = scan_format(&t, "github");
    assert_eq!(r.code, 1, "{}", r.stderr);
    assert_no_leak(&[&r.stdout, &r.stderr], &planted);
    for l in r.stdout.lines().take(2) {
        assert!(
            l.starts_with("::error file=") || l.starts_with("::warning file="),
            "{l}"
        );
    }
    assert!(r.stdout.lines().last().unwrap().starts_with("::notice "));
    let snapshot = r.stdout.replace("2020-01-01T00:00:00Z", "<PAST>");
    let expected = "\
::warning file=auths/broken.json,line=1,title=git-credman%3A invalid_file::unknown credential is invalid_file: <REASON>
::error file=auths/codex-dead.json,line=1,title=git-credman%3A expired_by_time::codex credential (c***@example.com) is expired_by_time: access token expired <PAST> (JWT exp); no refresh token
::notice title=git-credman::3 credential files checked (offline); 2 in the fail set
";
    // The invalid file's reason is the JSON parser's message: compare everything around it.
    let mut lines: Vec<String> = snapshot.lines().map(str::to_owned).collect();
    let first = &mut lines[0];
    let cut = first
        .find("invalid_file: ")
        .map_or_else(|| panic!("{first}"), |i| i + "invalid_file: ".len());
    let reason = first.split_off(cut);
    assert!(!reason.is_empty());
    first.push_str("<REASON>");
    assert_eq!(format!("{}\n", lines.join("\n")), expected, "{}", r.stdout);
}

#[test]
fn markdown_format_has_the_table_and_the_details() {
    let (t, planted) = ci_repo();
    let r = scan_format(&t, "markdown");
    assert_eq!(r.code, 1, "{}", r.stderr);
    assert_no_leak(&[&r.stdout, &r.stderr], &planted);
    let m = &r.stdout;
    assert!(
        m.starts_with("## git-credman: 3 credential files (offline)"),
        "{m}"
    );
    assert!(m.contains("❌ credentials in the fail set (2)"), "{m}");
    assert!(m.contains("| status |"), "{m}");
    assert!(m.contains(" total |\n|---|"), "{m}");
    assert!(m.contains("| `expired_by_time` |"), "{m}");
    assert!(m.contains("| `invalid_file` |"), "{m}");
    assert!(m.contains("| `unverified` |"), "{m}");
    assert!(m.contains("<summary>Not alive (2)</summary>"), "{m}");
    assert!(m.contains("| file | provider | status | reason |"), "{m}");
    assert!(
        m.contains(&format!("| `{DEAD}` | codex | `expired_by_time` |")),
        "{m}"
    );
    assert!(m.contains("| `auths/broken.json` |"), "{m}");
    assert!(!m.contains(LIVE), "alive files are not detailed: {m}");
    assert!(m.contains("</details>"), "{m}");
}

#[test]
fn github_step_summary_gets_the_markdown_appended() {
    let (t, planted) = ci_repo();
    let summary = t.home().join("summary.md");
    std::fs::write(&summary, "previous step\n").unwrap();
    let summary_s = summary.display().to_string();
    let md = scan_format(&t, "markdown").stdout;

    let r = run(t
        .credman()
        .args(["scan", "--offline"])
        .env("GITHUB_STEP_SUMMARY", &summary_s));
    assert_eq!(r.code, 1, "{}", r.stderr);
    assert_eq!(
        std::fs::read_to_string(&summary).unwrap(),
        format!("previous step\n{md}")
    );

    let r = run(t
        .credman()
        .args(["prune", "--offline", "--dry-run"])
        .env("GITHUB_STEP_SUMMARY", &summary_s));
    assert_eq!(r.code, 0, "{}\n{}", r.stdout, r.stderr);
    let content = std::fs::read_to_string(&summary).unwrap();
    assert!(
        content.starts_with(&format!("previous step\n{md}")),
        "{content}"
    );
    let added = &content[format!("previous step\n{md}").len()..];
    assert!(
        added.starts_with("## git-credman: 3 credential files (offline)"),
        "{added}"
    );
    assert!(added.contains(&format!("| `{DEAD}` |")), "{added}");
    assert_no_leak(&[&content, &r.stdout, &r.stderr], &planted);
    assert_eq!(rev(&t, "HEAD"), rev(&t, "main"), "dry run commits nothing");
    assert_eq!(t.git(&["rev-list", "--count", "HEAD"]).trim(), "1");

    // A summary file that cannot be written does not fail the scan.
    let r = run(t
        .credman()
        .args(["scan", "--offline", "--format", "json"])
        .env("GITHUB_STEP_SUMMARY", t.home().join("no/such/dir/s.md")));
    assert_eq!(r.code, 1, "{}", r.stderr);
    r.json();
}

// ---------------------------------------------------------------------------------------------
// 10: performance record
// ---------------------------------------------------------------------------------------------

#[test]
fn pre_push_1000_files_offline() {
    let t = TestRepo::new();
    t.write("README.md", "x\n");
    t.commit_all("base");
    let base = rev(&t, "HEAD");
    for i in 0..1000 {
        t.write_json(
            &format!("auths/codex-{i:04}.json"),
            &codex_live(
                &format!("user{i}@example.com"),
                &format!("acct-{i}"),
                "plus",
            ),
        );
    }
    t.commit_all("1000 credentials");
    let tip = rev(&t, "HEAD");
    let input = line("refs/heads/main", &tip, "refs/heads/main", &base);
    let mut times = Vec::new();
    for _ in 0..3 {
        let start = std::time::Instant::now();
        let r = pre_push(&t, &input, &[]);
        times.push(start.elapsed());
        assert_eq!(r.code, 0, "{}\n{}", r.stdout, r.stderr);
        assert!(
            r.stdout
                .contains("1000 pushed credential file(s) checked (offline)"),
            "{}",
            r.stdout
        );
    }
    times.sort();
    eprintln!(
        "pre_push_1000_files_offline: median {:.3}s (runs: {:?})",
        times[1].as_secs_f64(),
        times
    );
}

// ---------------------------------------------------------------------------------------------
// 11: no secret in any hook output
// ---------------------------------------------------------------------------------------------

#[test]
fn no_planted_secret_reaches_any_hook_output() {
    let t = TestRepo::new();
    let planted = vec![
        live(),
        dead(),
        json!({"type":"claude","email":"bob@example.com","access_token": claude_access(),
            "expired": rfc_in(-3600)}),
        json!({"type":"gemini","email":"dan@example.com","token": {"access_token": google_access(),
            "refresh_token": google_refresh(), "expiry": rfc_in(-3600)}}),
    ];
    for (i, v) in planted.iter().enumerate() {
        t.write_json(&format!("auths/cred-{i}.json"), v);
    }
    // A broken file holding a token-shaped string: parser errors must not quote it.
    let raw = claude_refresh();
    t.write(
        "auths/broken.json",
        format!("{{\"refresh_token\": \"{raw}\""),
    );
    t.commit_all("planted");
    let head = rev(&t, "HEAD");
    let input = line("refs/heads/main", &head, "refs/heads/main", ZERO);

    let mut outputs = Vec::new();
    for extra in [
        &[][..],
        &["--fail-on", "none"][..],
        &["--fail-on", "dead,unknown,transient"][..],
    ] {
        let r = pre_push(&t, &input, extra);
        assert!(r.code == 0 || r.code == 1, "{}", r.stderr);
        outputs.push(all_output(&r));
    }
    let blocked = pre_push(&t, &input, &[]);
    assert_eq!(blocked.code, 1, "{}", blocked.stdout);

    assert_eq!(install(&t, &[]).code, 0);
    add_remote(&t);
    let r = push(&t, &["origin", "main"]);
    assert_ne!(r.code, 0);
    outputs.push(all_output(&r));

    let refs: Vec<&str> = outputs.iter().map(String::as_str).collect();
    assert_no_leak(&refs, &planted);
    for out in &refs {
        assert!(!out.contains(&raw), "a raw token reached the output: {out}");
    }
}

// ---------------------------------------------------------------------------------------------
// Pins (.credmanignore) in the gate
// ---------------------------------------------------------------------------------------------

/// The gate reads the `.credmanignore` of the pushed tip, never the working tree's: a pin only
/// in the working tree lets nothing through, a committed one lets the pinned dead file through
/// (listed as pinned, with its comment), and editing the working tree's file without
/// committing it changes nothing either way. Through the installed hook and a real `git push`.
#[test]
fn the_gate_honours_the_pins_committed_in_the_pushed_tip_not_the_working_tree() {
    let (t, remote) = installed_repo();
    assert_eq!(push(&t, &["-u", "origin", "main"]).code, 0);
    let planted = dead();
    t.write_json(DEAD, &planted);
    t.git(&["add", DEAD]);
    t.git(&["commit", "-q", "-m", "dead, pinned"]);
    let pushed = remote_rev(&t, &remote, "main");
    // Pinned in the working tree only: still blocked.
    t.write(
        ".credmanignore",
        "auths/codex-dead*.json   # on-call pool\n",
    );
    let r = push(&t, &["origin", "main"]);
    let text = all_output(&r);
    assert_ne!(r.code, 0, "{text}");
    assert!(
        text.contains("push blocked") && text.contains(DEAD),
        "{text}"
    );
    assert_eq!(remote_rev(&t, &remote, "main"), pushed);
    // Committed: the pushed tip carries the pin, the push goes through and says why.
    t.git(&["add", ".credmanignore"]);
    t.git(&["commit", "-q", "-m", "pin the on-call pool"]);
    let r = push(&t, &["origin", "main"]);
    let text = all_output(&r);
    assert_eq!(r.code, 0, "{text}");
    assert!(text.contains("nothing blocks the push"), "{text}");
    assert!(
        text.contains("1 pinned credential file(s)")
            && text.contains(DEAD)
            && text.contains("expired_by_time")
            && text.contains("pinned: on-call pool"),
        "{text}"
    );
    assert_eq!(remote_rev(&t, &remote, "main"), Some(rev(&t, "HEAD")));
    // Unpinned in the working tree only: the committed pin still holds for a new dead file.
    t.write(".credmanignore", "");
    let second = "auths/codex-dead-2.json";
    t.write_json(second, &codex_dead("dave@example.com", "acct-9"));
    t.git(&["add", second]);
    t.git(&["commit", "-q", "-m", "another pinned dead file"]);
    let r = push(&t, &["origin", "main"]);
    assert_eq!(r.code, 0, "{}", all_output(&r));
    assert!(all_output(&r).contains(second), "{}", all_output(&r));
    // The unpinning committed: the next dead file blocks.
    let third = "auths/codex-dead-3.json";
    t.write_json(third, &codex_dead("erin@example.com", "acct-10"));
    t.commit_all("unpin, and a third dead file");
    let r = push(&t, &["origin", "main"]);
    let text = all_output(&r);
    assert_ne!(r.code, 0, "{text}");
    assert!(
        text.contains("push blocked") && text.contains(third),
        "{text}"
    );
    assert!(!text.contains("pinned"), "{text}");
    assert_no_leak(&[&text], &[planted]);
}

/// A pin file named by `GIT_CREDMAN_IGNORE_FILE` or `credman.ignoreFile` is read from disk, as
/// scan and prune read it (paths and fingerprints); a named file that is missing and a
/// malformed committed `.credmanignore` are errors (exit 2) naming the file and line.
#[test]
fn the_gate_reads_a_named_pin_file_from_disk_and_rejects_a_malformed_one() {
    let t = TestRepo::new();
    t.write_json(LIVE, &live());
    t.commit_all("live");
    let base = rev(&t, "HEAD");
    t.write_json(DEAD, &dead());
    t.commit_all("dead");
    let main = "refs/heads/main";
    let stdin = line(main, &rev(&t, "HEAD"), main, &base);
    assert_eq!(pre_push(&t, &stdin, &[]).code, 1);

    let scan = run(t.credman().args(["scan", "--offline", "--format", "json"])).json();
    let fp = result(&scan, DEAD)["fingerprint"]
        .as_str()
        .unwrap()
        .to_owned();
    let named = t.home().join("pins");
    std::fs::write(&named, format!("fp:{fp} # rotated by hand\n")).unwrap();
    let env = [("GIT_CREDMAN_IGNORE_FILE", named.to_str().unwrap())];
    let r = pre_push_env(&t, &stdin, &[], &env);
    assert_eq!(r.code, 0, "{}\n{}", r.stdout, r.stderr);
    assert!(r.stdout.contains("pinned: rotated by hand"), "{}", r.stdout);

    let missing = t.home().join("no-such-pins");
    let r = pre_push_env(
        &t,
        &stdin,
        &[],
        &[("GIT_CREDMAN_IGNORE_FILE", missing.to_str().unwrap())],
    );
    assert_eq!(r.code, 2, "{}\n{}", r.stdout, r.stderr);
    assert!(r.stderr.contains("no-such-pins"), "{}", r.stderr);

    // credman.ignoreFile: relative to the working tree's root, read from disk (not committed).
    t.write("local.pins", "auths/codex-dead.json\n");
    t.git(&["config", "credman.ignoreFile", "local.pins"]);
    let r = pre_push(&t, &stdin, &[]);
    assert_eq!(r.code, 0, "{}\n{}", r.stdout, r.stderr);
    assert!(r.stdout.contains("pinned"), "{}", r.stdout);
    t.git(&["config", "--unset", "credman.ignoreFile"]);

    t.write(".credmanignore", "auths/ok.json\n!auths/codex-dead.json\n");
    t.commit_all("a malformed pin file");
    let stdin = line(main, &rev(&t, "HEAD"), main, &base);
    let r = pre_push(&t, &stdin, &[]);
    assert_eq!(r.code, 2, "{}\n{}", r.stdout, r.stderr);
    assert!(
        r.stderr.contains("refs/heads/main:.credmanignore:2:"),
        "{}",
        r.stderr
    );
}
