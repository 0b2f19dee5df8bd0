//! `git credman watch` (issue #14 item 3): real watcher processes with short intervals
//! against real repositories, stopped by `--max-rounds` or by a signal (sent with the `kill`
//! command, as systemd or a terminal would).

use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use crate::support::*;

fn pool(t: &TestRepo, dead: bool) {
    t.write_json(
        "auths/a.json",
        &codex_live("a@example.com", "acct-a", "plus"),
    );
    if dead {
        t.write_json("auths/b.json", &codex_dead("b@example.com", "acct-b"));
    }
    t.commit_all("pool");
}

/// Starts a watcher in its own process group (so a test can signal the whole group, as
/// systemd's stop and a terminal's Ctrl-C do).
fn spawn(t: &TestRepo, args: &[&str], env: &[(&str, &Path)]) -> Child {
    use std::os::unix::process::CommandExt as _;
    Command::new(env!("CARGO_BIN_EXE_git-credman"))
        .args(args)
        .current_dir(&t.root)
        .env_clear()
        .envs(scrubbed_env(t.home()))
        .envs(env.iter().map(|(k, v)| (*k, *v)))
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .process_group(0)
        .spawn()
        .unwrap()
}

fn wait_for(what: &str, timeout: Duration, mut cond: impl FnMut() -> bool) {
    let start = Instant::now();
    while !cond() {
        assert!(start.elapsed() < timeout, "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(20));
    }
}

fn kill(sig: &str, target: &str) {
    let ok = Command::new("kill")
        .args([sig, "--", target])
        .status()
        .unwrap();
    assert!(ok.success());
}

fn finish(child: Child) -> Run {
    let out = child.wait_with_output().unwrap();
    Run {
        code: out.status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    }
}

fn assert_consistent(t: &TestRepo) {
    t.git(&["fsck", "--strict"]);
    assert_eq!(t.git(&["status", "--porcelain"]), "");
    let git_dir = t.root.join(".git");
    for leftover in ["index.lock", "HEAD.lock", "credman-watch.lock"] {
        assert!(!git_dir.join(leftover).exists(), "{leftover} left behind");
    }
}

#[test]
fn watch_runs_the_rounds_it_is_given_and_releases_its_lock() {
    let t = TestRepo::new();
    pool(&t, true);
    let start = Instant::now();
    let r = run(t.credman().args([
        "watch",
        "--every",
        "200ms",
        "--max-rounds",
        "3",
        "--",
        "scan",
        "--offline",
        "--format",
        "json",
    ]));
    assert_eq!(r.code, 0, "{}", r.stderr);
    // Three rounds, each a whole report (stdout is the rounds' stdout), 200 ms apart.
    assert_eq!(
        r.stdout.matches("\"schema_version\"").count(),
        3,
        "{}",
        r.stdout
    );
    assert!(start.elapsed() >= Duration::from_millis(400));
    for n in 1..=3 {
        assert!(
            r.stderr
                .contains(&format!("watch: round {n} (scan) done in ")),
            "{}",
            r.stderr
        );
    }
    assert!(r.stderr.contains("exit 1 (findings)"), "{}", r.stderr);
    assert!(
        r.stderr
            .contains("watch: stopping after 3 round(s): the last round (--max-rounds) is done."),
        "{}",
        r.stderr
    );
    assert!(!t.root.join(".git/credman-watch.lock").exists());

    // Prune rounds: the first removes the dead file in one commit, the second finds nothing.
    let r = run(t.credman().args([
        "watch",
        "--every",
        "100ms",
        "--max-rounds",
        "2",
        "--",
        "prune",
        "--offline",
    ]));
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert_eq!(t.git(&["rev-list", "--count", "HEAD"]).trim(), "2");
    assert_eq!(t.git(&["ls-files"]).trim(), "auths/a.json");
    assert!(r.stdout.contains("Nothing to remove"), "{}", r.stdout);
    assert_consistent(&t);
}

#[test]
fn a_second_watcher_is_refused_while_the_first_runs_and_a_stale_lock_is_taken_over() {
    let t = TestRepo::new();
    pool(&t, false);
    let lock = t.root.join(".git/credman-watch.lock");
    let first = spawn(
        &t,
        &["watch", "--every", "200ms", "--", "scan", "--offline"],
        &[],
    );
    wait_for("the first watcher's lock", Duration::from_secs(20), || {
        lock.exists()
    });
    let second = run(t
        .credman()
        .args(["watch", "--every", "200ms", "--", "scan", "--offline"]));
    assert_eq!(second.code, 2, "{}", second.stderr);
    assert_eq!(second.stderr.lines().count(), 1, "{}", second.stderr);
    assert!(
        second
            .stderr
            .contains(&format!("is held by another watcher (pid {})", first.id())),
        "{}",
        second.stderr
    );
    // The lock is the first watcher's; a scan (not a watcher) is not held back by it.
    assert_eq!(run(t.credman().args(["scan", "--offline"])).code, 0);
    kill("-TERM", &first.id().to_string());
    let first = finish(first);
    assert_eq!(first.code, 0, "{}", first.stderr);
    assert!(
        first.stderr.contains("stopped by a signal"),
        "{}",
        first.stderr
    );
    assert!(!lock.exists());

    // A lock left by a process that is gone (SIGKILL leaves it) is taken over.
    let mut gone = Command::new("true").spawn().unwrap();
    let pid = gone.id();
    gone.wait().unwrap();
    std::fs::write(&lock, format!("pid {pid}\n")).unwrap();
    let r = run(t.credman().args([
        "watch",
        "--every",
        "1s",
        "--max-rounds",
        "1",
        "--",
        "scan",
        "--offline",
    ]));
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert!(
        r.stderr.contains("took over the stale lock")
            && r.stderr.contains(&format!("(pid {pid} is gone)")),
        "{}",
        r.stderr
    );
    assert!(!lock.exists());
}

/// Starts `watch … -- prune --offline` and returns once its round's prune has stopped at the
/// pause point (after the scan, before any write); removing `<home>/pause` lets it go on.
fn watch_a_paused_prune(t: &TestRepo) -> Child {
    let pause = t.home().join("pause");
    let child = spawn(
        t,
        &["watch", "--every", "200ms", "--", "prune", "--offline"],
        &[
            ("GIT_CREDMAN_TEST_PAUSE_AT", Path::new("scanned")),
            ("GIT_CREDMAN_TEST_PAUSE_FILE", &pause),
        ],
    );
    wait_for(
        "the round's prune to pause",
        Duration::from_secs(20),
        || pause.exists(),
    );
    child
}

#[test]
fn sigterm_to_the_group_mid_prune_exits_0_and_leaves_a_consistent_repo() {
    let t = TestRepo::new();
    pool(&t, true);
    let before = t.git(&["rev-parse", "HEAD"]);
    let child = watch_a_paused_prune(&t);
    let pgid = format!("-{}", child.id());
    kill("-TERM", &pgid);
    let r = finish(child);
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert!(r.stderr.contains("exit 143 (interrupted)"), "{}", r.stderr);
    assert!(r.stderr.contains("stopped by a signal"), "{}", r.stderr);
    assert_eq!(t.git(&["rev-parse", "HEAD"]), before);
    assert_consistent(&t);
}

#[test]
fn sigterm_to_the_watcher_alone_lets_the_round_finish_its_commit() {
    let t = TestRepo::new();
    pool(&t, true);
    let child = watch_a_paused_prune(&t);
    kill("-TERM", &child.id().to_string());
    std::thread::sleep(Duration::from_millis(200));
    // The round goes on: the prune commits, then the watcher stops without another round.
    std::fs::remove_file(t.home().join("pause")).unwrap();
    let r = finish(child);
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert!(
        r.stderr.contains("watch: round 1 (prune) done in "),
        "{}",
        r.stderr
    );
    assert!(!r.stderr.contains("round 2"), "{}", r.stderr);
    assert_eq!(t.git(&["rev-list", "--count", "HEAD"]).trim(), "2");
    assert_eq!(t.git(&["ls-files"]).trim(), "auths/a.json");
    assert_consistent(&t);
}

#[test]
fn each_round_fetches_the_upstream_first_and_a_failed_round_is_retried() {
    let t = TestRepo::new();
    pool(&t, false);
    let remote = t.home().join("remote.git");
    t.git(&["init", "-q", "--bare", remote.to_str().unwrap()]);
    t.git(&["remote", "add", "origin", remote.to_str().unwrap()]);
    t.git(&["push", "-q", "-u", "origin", "main"]);
    // Someone else pushes a commit.
    let other = t.home().join("other");
    t.git(&[
        "clone",
        "-q",
        "-b",
        "main",
        remote.to_str().unwrap(),
        other.to_str().unwrap(),
    ]);
    t.git_in(
        &other,
        &["commit", "-q", "--allow-empty", "-m", "elsewhere"],
    );
    t.git_in(&other, &["push", "-q", "origin", "main"]);
    let theirs = t.git_in(&other, &["rev-parse", "HEAD"]);
    assert_ne!(t.git(&["rev-parse", "origin/main"]), theirs);

    // Every round fails (no such revision); the watcher logs it and goes on.
    let r = run(t.credman().args([
        "watch",
        "--every",
        "100ms",
        "--max-rounds",
        "2",
        "--",
        "scan",
        "--offline",
        "--rev",
        "no-such-rev",
    ]));
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert_eq!(r.stderr.matches("failed after").count(), 2, "{}", r.stderr);
    assert!(
        r.stderr.contains("exit 2; the next round runs as planned."),
        "{}",
        r.stderr
    );
    assert_eq!(
        t.git(&["rev-parse", "origin/main"]),
        theirs,
        "fetched first"
    );
}

#[test]
fn bad_watch_usage_exits_2_with_one_line() {
    let t = TestRepo::new();
    pool(&t, false);
    for (args, want) in [
        (&["watch", "--", "scan"][..], "watch needs an interval"),
        (
            &["watch", "--every", "5x", "--", "scan"][..],
            "invalid value '5x' for --every",
        ),
        (
            &["watch", "--every", "1s", "--", "show"][..],
            "watch runs scan or prune rounds",
        ),
        (
            &["watch", "--every", "1s", "--", "scan", "--bogus"][..],
            "the round's command is not valid: unexpected argument '--bogus'",
        ),
        (
            &[
                "watch",
                "--every",
                "1s",
                "--",
                "scan",
                "--server",
                "http://127.0.0.1:9",
            ][..],
            "needs a lock file",
        ),
        (
            &["watch", "--every", "1s", "--max-rounds", "0", "--", "scan"][..],
            "must be at least 1",
        ),
    ] {
        let r = run(t.credman().args(args));
        assert_eq!(r.code, 2, "{args:?}: {}", r.stderr);
        assert_eq!(r.stderr.lines().count(), 1, "{args:?}: {}", r.stderr);
        assert!(r.stderr.contains(want), "{args:?}: {}", r.stderr);
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn every_round_sends_its_own_notification() {
    use wiremock::matchers::{method, path};
    use wiremock::{Mock, MockServer, ResponseTemplate};
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/hook"))
        .respond_with(ResponseTemplate::new(200))
        .expect(2)
        .mount(&server)
        .await;
    let t = TestRepo::new();
    pool(&t, true);
    t.git(&[
        "config",
        "credman.webhookUrl",
        &format!("{}/hook", server.uri()),
    ]);
    let r = run(t.credman().args([
        "watch",
        "--every",
        "100ms",
        "--max-rounds",
        "2",
        "--",
        "scan",
        "--offline",
        "--notify",
        "webhook",
    ]));
    assert_eq!(r.code, 0, "{}", r.stderr);
    let reqs = server.received_requests().await.unwrap();
    assert_eq!(reqs.len(), 2);
    for req in reqs {
        let body: serde_json::Value = serde_json::from_slice(&req.body).unwrap();
        assert_eq!(body["command"], "scan");
        assert_eq!(body["by_class"]["dead"], 1);
    }
}

#[test]
fn a_folder_watcher_locks_beside_the_folder() {
    let t = TestRepo::bare_dir();
    std::fs::create_dir_all(&t.root).unwrap();
    t.write_json(
        "auths/a.json",
        &codex_live("a@example.com", "acct-a", "plus"),
    );
    let lock = t.root.join("auths.credman-watch.lock");
    let child = spawn(
        &t,
        &[
            "watch",
            "--every",
            "200ms",
            "--",
            "scan",
            "--offline",
            "--dir",
            "auths",
        ],
        &[],
    );
    wait_for("the folder watcher's lock", Duration::from_secs(20), || {
        lock.exists()
    });
    assert!(
        std::fs::read_to_string(&lock)
            .unwrap()
            .starts_with(&format!("pid {}\n", child.id()))
    );
    // Not inside the folder: CPA loads every file there.
    assert_eq!(std::fs::read_dir(t.root.join("auths")).unwrap().count(), 1);
    kill("-INT", &child.id().to_string());
    let r = finish(child);
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert!(!lock.exists());
}
