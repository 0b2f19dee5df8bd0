//! The pre-push gate through the real hook managers (issue 16 items 2 and 3): the pre-commit
//! framework (from PyPI, installed by `.ci/tools` into target/tools/venv) with this project's
//! `.pre-commit-hooks.yaml`, and husky 9 (from npm). Each drives a real `git push` to a local
//! bare remote. A manager that cannot be installed makes its test skip and say why; under
//! `CI=true` it must be there, so the test fails instead.

use std::path::{Path, PathBuf};
use std::process::Command;

use crate::support::*;

const LIVE: &str = "auths/codex-live.json";
const DEAD: &str = "auths/codex-dead.json";

fn is_ci() -> bool {
    std::env::var("CI").is_ok_and(|v| v == "true")
}

/// Says why a test did not run; under CI the client must be installed, so it fails.
#[allow(clippy::print_stderr)]
fn skip(why: &str) {
    assert!(!is_ci(), "{why} (required under CI=true)");
    eprintln!("SKIPPED: {why}");
}

/// A directory holding only a `git-credman` symlink to the binary under test.
fn bin_dir(home: &Path) -> PathBuf {
    let dir = home.join("bin");
    if !dir.join("git-credman").exists() {
        std::fs::create_dir_all(&dir).unwrap();
        std::os::unix::fs::symlink(env!("CARGO_BIN_EXE_git-credman"), dir.join("git-credman"))
            .unwrap();
    }
    dir
}

/// Runs `program` in `dir` with the scrubbed environment, git-credman (and `extra_path`) first on
/// PATH; returns the exit code and stdout + stderr.
fn run_in(
    home: &Path,
    dir: &Path,
    program: &Path,
    args: &[&str],
    extra_path: Option<&Path>,
) -> (i32, String) {
    let mut path = format!(
        "{}:{}",
        bin_dir(home).display(),
        std::env::var("PATH").unwrap_or_default()
    );
    if let Some(extra) = extra_path {
        path = format!("{}:{path}", extra.display());
    }
    let out = Command::new(program)
        .args(args)
        .current_dir(dir)
        .env_clear()
        .envs(scrubbed_env(home))
        .env("PATH", path)
        .env("PRE_COMMIT_HOME", home.join("pre-commit-cache"))
        .env("npm_config_cache", home.join("npm-cache"))
        .env("npm_config_update_notifier", "false")
        .env("npm_config_fund", "false")
        .env("npm_config_audit", "false")
        .output()
        .unwrap();
    (
        out.status.code().unwrap_or(-1),
        format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        ),
    )
}

fn git(t: &TestRepo, args: &[&str]) -> (i32, String) {
    run_in(t.home(), &t.root, Path::new("git"), args, None)
}

fn project_root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// The pre-commit executable: `.ci/tools`'s venv, else PATH.
fn pre_commit() -> Option<PathBuf> {
    let venv = project_root().join("target/tools/venv/bin/pre-commit");
    let program = if venv.is_file() {
        venv
    } else {
        PathBuf::from("pre-commit")
    };
    match Command::new(&program).arg("--version").output() {
        Ok(out) if out.status.success() => Some(program),
        _ => {
            skip("pre-commit is not installed (run .ci/tools, which installs it from PyPI)");
            None
        }
    }
}

/// A repository with a bare remote `origin` and the pre-commit framework's pre-push hook,
/// configured with this project's `.pre-commit-hooks.yaml` (committed into a hooks repository,
/// as pre-commit clones a `repo:` at a `rev:`).
fn pre_commit_repo(pc: &Path) -> TestRepo {
    let t = TestRepo::new();
    let hooks = t.home().join("hooks-repo");
    std::fs::create_dir_all(&hooks).unwrap();
    std::fs::copy(
        project_root().join(".pre-commit-hooks.yaml"),
        hooks.join(".pre-commit-hooks.yaml"),
    )
    .unwrap();
    t.git_in(&hooks, &["init", "-q", "-b", "main"]);
    t.git_in(&hooks, &["add", "-A"]);
    t.git_in(&hooks, &["commit", "-q", "-m", "hooks"]);
    let rev = t.git_in(&hooks, &["rev-parse", "HEAD"]).trim().to_owned();
    t.write(
        ".pre-commit-config.yaml",
        format!(
            "repos:\n  - repo: {}\n    rev: {rev}\n    hooks:\n      - id: git-credman\n        verbose: true\n",
            hooks.display()
        ),
    );
    let bare = t.home().join("remote.git");
    t.git_in(t.home(), &["init", "-q", "--bare", bare.to_str().unwrap()]);
    t.git(&["remote", "add", "origin", bare.to_str().unwrap()]);
    let (code, out) = run_in(
        t.home(),
        &t.root,
        pc,
        &["install", "--hook-type", "pre-push"],
        None,
    );
    assert_eq!(code, 0, "{out}");
    t
}

fn remote_has(t: &TestRepo, branch: &str) -> bool {
    let bare = t.home().join("remote.git");
    git(
        t,
        &[
            "--git-dir",
            bare.to_str().unwrap(),
            "rev-parse",
            "--verify",
            "--quiet",
            &format!("refs/heads/{branch}"),
        ],
    )
    .0 == 0
}

/// Issue 16 item 2: a first push whose history includes the root commit is checked (pre-commit
/// sets no range then), a range push is checked, the one-ref limit is said, and a manual
/// `pre-commit run --hook-stage pre-push` checks HEAD against its upstream, or every tracked
/// credential without one, and says which.
#[test]
fn regression_16_pre_commit_pushes_root_ranges_and_manual_runs() {
    let Some(pc) = pre_commit() else { return };

    // Root push: a dead credential in the root commit of a new branch is blocked.
    let t = pre_commit_repo(&pc);
    t.write_json(LIVE, &codex_live("alice@example.com", "acct-1", "plus"));
    t.write_json(DEAD, &codex_dead("carol@example.com", "acct-2"));
    t.commit_all("root with a dead credential");
    let (code, out) = git(&t, &["push", "-q", "origin", "main"]);
    assert_ne!(code, 0, "the root push went through:\n{out}");
    assert!(out.contains(DEAD), "{out}");
    assert!(out.contains("checking it as a new ref"), "{out}");
    assert!(!remote_has(&t, "main"));

    // Clean root push passes and says what it checked; a range with a dead file is blocked.
    let t = pre_commit_repo(&pc);
    t.write_json(LIVE, &codex_live("alice@example.com", "acct-1", "plus"));
    t.commit_all("clean root");
    let (code, out) = git(&t, &["push", "-q", "-u", "origin", "main"]);
    assert_eq!(code, 0, "{out}");
    assert!(out.contains("1 pushed credential file(s) checked"), "{out}");
    assert!(out.contains("only the first ref"), "{out}");
    t.write_json(DEAD, &codex_dead("carol@example.com", "acct-2"));
    t.commit_all("a dead credential");
    let (code, out) = git(&t, &["push", "-q", "origin", "main"]);
    assert_ne!(code, 0, "{out}");
    assert!(out.contains(DEAD), "{out}");

    // Manual run, HEAD with an upstream: the unpushed dead file is found, and the run says so.
    let (code, out) = run_in(
        t.home(),
        &t.root,
        &pc,
        &["run", "--hook-stage", "pre-push", "git-credman"],
        None,
    );
    assert_ne!(code, 0, "{out}");
    assert!(
        out.contains("against its upstream refs/remotes/origin/main"),
        "{out}"
    );
    assert!(out.contains(DEAD), "{out}");
    // Manual run on a branch without an upstream: every tracked credential.
    t.git(&["checkout", "-q", "-b", "local-only"]);
    let (code, out) = run_in(
        t.home(),
        &t.root,
        &pc,
        &["run", "--hook-stage", "pre-push", "git-credman"],
        None,
    );
    assert_ne!(code, 0, "{out}");
    assert!(out.contains("every tracked credential file"), "{out}");
    assert!(out.contains(DEAD), "{out}");
}

/// Issue 16 item 2: with several refs in one push, pre-commit hands hooks the first one only
/// (its documented behaviour); the gate says so, and `git credman hook install` on top of
/// pre-commit's hook checks every ref.
#[test]
fn regression_16_pre_commit_second_ref_and_hook_install() {
    let Some(pc) = pre_commit() else { return };
    let t = pre_commit_repo(&pc);
    t.write_json(LIVE, &codex_live("alice@example.com", "acct-1", "plus"));
    t.commit_all("clean root");
    assert_eq!(git(&t, &["push", "-q", "-u", "origin", "main"]).0, 0);
    // `a-clean` adds nothing dead; `b-dead` adds a dead credential.
    t.git(&["checkout", "-q", "-b", "a-clean"]);
    t.write("README.md", "clean\n");
    t.commit_all("clean change");
    t.git(&["checkout", "-q", "-b", "b-dead", "main"]);
    t.write_json(DEAD, &codex_dead("carol@example.com", "acct-2"));
    t.commit_all("a dead credential");
    t.git(&["checkout", "-q", "main"]);
    let (_, out) = git(
        &t,
        &["push", "-q", "--dry-run", "origin", "a-clean", "b-dead"],
    );
    // pre-commit looked at one ref (which one follows git's order); either way it says so.
    assert!(out.contains("only the first ref"), "{out}");

    // The recommended route: git-credman's own lines in pre-commit's hook check every ref.
    let (code, out) = run_in(
        t.home(),
        &t.root,
        Path::new("git"),
        &["credman", "hook", "install"],
        None,
    );
    assert_eq!(code, 0, "{out}");
    let hook = std::fs::read_to_string(t.root.join(".git/hooks/pre-push")).unwrap();
    assert!(
        hook.contains("pre-commit"),
        "pre-commit's hook is kept:\n{hook}"
    );
    let (code, out) = git(&t, &["push", "-q", "origin", "a-clean", "b-dead"]);
    assert_ne!(code, 0, "{out}");
    assert!(out.contains(DEAD), "{out}");
    assert!(!remote_has(&t, "b-dead"));
}

// ---------------------------------------------------------------------------------------------
// husky 9

/// `node` and `npm`, if installed.
fn npm() -> Option<PathBuf> {
    let works = |p: &str| {
        Command::new(p)
            .arg("--version")
            .output()
            .is_ok_and(|o| o.status.success())
    };
    if works("node") && works("npm") {
        Some(PathBuf::from("npm"))
    } else {
        skip("node and npm are not installed (.ci/run installs nodejs and npm)");
        None
    }
}

/// Issue 16 item 3: in a husky 9 project, `hook install` adds the gate to `.husky/pre-push`
/// (husky's committed hook), not to `.husky/_/pre-push` (which husky regenerates); a push with a
/// dead credential is blocked, and still is after `npm install` regenerated `.husky/_`.
#[test]
fn regression_16_husky_9_keeps_the_gate_across_npm_install() {
    let Some(npm) = npm() else { return };
    let t = TestRepo::new();
    t.write(
        "package.json",
        r#"{"name":"husky-project","version":"1.0.0","private":true,"scripts":{"prepare":"husky"}}"#,
    );
    let (code, out) = run_in(
        t.home(),
        &t.root,
        &npm,
        &["install", "--save-dev", "--no-progress", "husky@9"],
        None,
    );
    if code != 0 {
        skip(&format!("npm cannot install husky@9 here:\n{out}"));
        return;
    }
    let npx = PathBuf::from("npx");
    let (code, out) = run_in(t.home(), &t.root, &npx, &["husky"], None);
    assert_eq!(code, 0, "{out}");
    assert!(t.root.join(".husky/_/pre-push").exists(), "{out}");
    let hooks_path = t.git(&["config", "core.hooksPath"]);
    assert_eq!(hooks_path.trim(), ".husky/_");

    let (code, out) = run_in(
        t.home(),
        &t.root,
        Path::new("git"),
        &["credman", "hook", "install"],
        None,
    );
    assert_eq!(code, 0, "{out}");
    let ours = std::fs::read_to_string(t.root.join(".husky/pre-push")).unwrap();
    assert!(ours.contains("git-credman"), "{ours}");
    let generated = std::fs::read_to_string(t.root.join(".husky/_/pre-push")).unwrap();
    assert!(!generated.contains("git-credman"), "{generated}");
    assert!(out.contains(".husky/pre-push"), "{out}");

    let bare = t.home().join("remote.git");
    t.git_in(t.home(), &["init", "-q", "--bare", bare.to_str().unwrap()]);
    t.git(&["remote", "add", "origin", bare.to_str().unwrap()]);
    std::fs::write(t.root.join(".gitignore"), "node_modules/\n").unwrap();
    t.write_json(DEAD, &codex_dead("carol@example.com", "acct-2"));
    t.commit_all("husky project with a dead credential");
    let push = |t: &TestRepo| {
        run_in(
            t.home(),
            &t.root,
            Path::new("git"),
            &["push", "-q", "origin", "main"],
            Some(&t.root.join("node_modules/.bin")),
        )
    };
    let (code, out) = push(&t);
    assert_ne!(code, 0, "{out}");
    assert!(out.contains(DEAD), "{out}");

    // husky regenerates .husky/_ on every install (`prepare`): wipe it to see that it does; the
    // gate lives on.
    std::fs::remove_dir_all(t.root.join(".husky/_")).unwrap();
    let (code, out) = run_in(t.home(), &t.root, &npm, &["install", "--no-progress"], None);
    assert_eq!(code, 0, "{out}");
    assert!(
        t.root.join(".husky/_/pre-push").exists(),
        "husky regenerated its hooks: {out}"
    );
    let (code, out) = push(&t);
    assert_ne!(code, 0, "still blocked after npm install:\n{out}");
    assert!(out.contains(DEAD), "{out}");
    let bare_main = Command::new("git")
        .args([
            "--git-dir",
            bare.to_str().unwrap(),
            "rev-parse",
            "--verify",
            "--quiet",
            "main",
        ])
        .env_clear()
        .envs(scrubbed_env(t.home()))
        .output()
        .unwrap();
    assert!(!bare_main.status.success(), "nothing reached the remote");
}
