//! Issue 14 item 1: `prune --interactive`, driven as a user drives it: the real binary runs in a
//! pseudo-terminal (util-linux `script`, which allocates one and forwards the keys written to
//! its stdin), the keys are sent as a terminal sends them, and the screen is read back through a
//! terminal emulator (the `vt100` crate). The results are checked with the git CLI.

use std::io::{Read as _, Write as _};
use std::path::Path;
use std::process::{Child, ChildStdin, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use crate::support::*;

/// A git-credman running in a pseudo-terminal of 140×40.
struct Pty {
    child: Child,
    keys: ChildStdin,
    screen: Arc<Mutex<vt100::Parser>>,
}

fn quote(s: &str) -> String {
    format!("'{}'", s.replace('\'', r"'\''"))
}

impl Pty {
    fn spawn(home: &Path, dir: &Path, args: &[&str]) -> Pty {
        Self::spawn_with(home, dir, args, &[])
    }

    fn spawn_with(home: &Path, dir: &Path, args: &[&str], env: &[(&str, &str)]) -> Pty {
        let mut line = format!(
            "stty cols 140 rows 40; exec {}",
            quote(env!("CARGO_BIN_EXE_git-credman"))
        );
        for a in args {
            line.push(' ');
            line.push_str(&quote(a));
        }
        let mut child = Command::new("script")
            .args(["-qfec", &line, "/dev/null"])
            .current_dir(dir)
            .env_clear()
            .envs(scrubbed_env(home))
            .env("TERM", "xterm-256color")
            .envs(env.iter().copied())
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect("util-linux `script` runs the command in a pseudo-terminal");
        let keys = child.stdin.take().unwrap();
        let mut out = child.stdout.take().unwrap();
        let screen = Arc::new(Mutex::new(vt100::Parser::new(40, 140, 0)));
        let feed = Arc::clone(&screen);
        std::thread::spawn(move || {
            let mut buf = [0u8; 8192];
            while let Ok(n) = out.read(&mut buf) {
                if n == 0 {
                    break;
                }
                feed.lock().unwrap().process(&buf[..n]);
            }
        });
        Pty {
            child,
            keys,
            screen,
        }
    }

    fn contents(&self) -> String {
        self.screen.lock().unwrap().screen().contents()
    }

    /// Waits until the screen shows `text`.
    fn wait_for(&self, text: &str) {
        let start = Instant::now();
        while !self.contents().contains(text) {
            assert!(
                start.elapsed() < Duration::from_secs(30),
                "the screen never showed {text:?}:\n{}",
                self.contents()
            );
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    fn keys(&mut self, keys: &str) {
        self.keys.write_all(keys.as_bytes()).unwrap();
        self.keys.flush().unwrap();
        // One key at a time is how a person types; the UI redraws in between.
        std::thread::sleep(Duration::from_millis(60));
    }

    fn exit_code(mut self) -> i32 {
        let start = Instant::now();
        loop {
            if let Some(status) = self.child.try_wait().unwrap() {
                return status.code().unwrap_or(-1);
            }
            assert!(
                start.elapsed() < Duration::from_secs(30),
                "still running:\n{}",
                self.contents()
            );
            std::thread::sleep(Duration::from_millis(20));
        }
    }
}

fn pool(dir: &Path) {
    std::fs::create_dir_all(dir.join("auths")).unwrap();
    for i in 1..=3 {
        let v = codex_dead(&format!("d{i}@example.com"), &format!("acct-d{i}"));
        std::fs::write(
            dir.join(format!("auths/codex-dead-{i}.json")),
            serde_json::to_vec_pretty(&v).unwrap(),
        )
        .unwrap();
    }
    std::fs::write(
        dir.join("auths/codex-missing.json"),
        br#"{"type":"codex","email":"m@example.com"}"#,
    )
    .unwrap();
    let live = codex_live("l@example.com", "acct-l", "plus");
    std::fs::write(
        dir.join("auths/codex-live.json"),
        serde_json::to_vec_pretty(&live).unwrap(),
    )
    .unwrap();
}

fn tracked(t: &TestRepo) -> String {
    t.git(&["ls-tree", "-r", "--name-only", "HEAD", "auths"])
}

#[test]
fn review_toggles_filters_and_confirms_one_commit_of_exactly_the_chosen_files() {
    let t = TestRepo::new();
    pool(&t.root);
    t.commit_all("pool");
    let old = t.git(&["rev-parse", "HEAD"]);
    let mut p = Pty::spawn(
        t.home(),
        &t.root,
        &[
            "prune",
            "--interactive",
            "--offline",
            "--no-sign",
            "--report",
            "../r.json",
        ],
    );
    // The overview: every status with counts, prune's selection first.
    p.wait_for("3 of 3 selected");
    let overview = p.contents();
    assert!(overview.contains("expired_by_time"), "{overview}");
    assert!(overview.contains("missing_token"), "{overview}");
    assert!(overview.contains("kept"), "{overview}");
    // Open it: the files, with provider, masked account and reason.
    p.keys("\r");
    p.wait_for("auths/codex-dead-1.json");
    let files = p.contents();
    assert!(files.contains("[x]"), "{files}");
    assert!(
        files.contains("d***@example.com") || files.contains("***"),
        "{files}"
    );
    assert!(
        !files.contains("d1@example.com"),
        "an unmasked identity: {files}"
    );
    // Toggle the first off.
    p.keys(" ");
    p.wait_for("[ ]");
    // Filter by text, and select none of what the filter shows.
    p.keys("/");
    for c in "dead-3".chars() {
        p.keys(&c.to_string());
    }
    p.keys("\r");
    p.wait_for("1 shown");
    p.keys("n");
    // Back to the overview: one of three is left.
    p.keys("h");
    p.wait_for("1 of 3 selected");
    // The confirmation says what will happen and what the breaker says.
    p.keys("c");
    p.wait_for("Will remove 1 file(s) in one commit on main.");
    p.wait_for("Breaker: holds");
    assert!(p.contents().contains("auths/codex-dead-2.json"));
    p.keys("y");
    assert_eq!(p.exit_code(), 0);
    // One commit, removing exactly the chosen file.
    assert_eq!(t.git(&["rev-parse", "HEAD~1"]), old);
    let now = tracked(&t);
    assert!(!now.contains("codex-dead-2.json"), "{now}");
    for kept in [
        "codex-dead-1.json",
        "codex-dead-3.json",
        "codex-missing.json",
        "codex-live.json",
    ] {
        assert!(now.contains(kept), "{kept} was removed: {now}");
    }
    assert!(!t.root.join("auths/codex-dead-2.json").exists());
    t.git(&["fsck", "--strict"]);
    assert_eq!(t.git(&["status", "--porcelain", "--", "auths"]), "");
    // The report says why the other two stayed.
    let report = read_report(&t.home().join("r.json"));
    let skipped = report["prune"]["skipped"].to_string();
    assert_eq!(
        skipped
            .matches("deselected in the interactive review")
            .count(),
        2,
        "{skipped}"
    );
}

#[test]
fn quitting_changes_nothing_the_breaker_is_shown_and_no_terminal_is_refused() {
    let t = TestRepo::new();
    pool(&t.root);
    t.commit_all("pool");
    let old = t.git(&["rev-parse", "HEAD"]);
    // The breaker's verdict is on the confirmation, and `y` cannot go past it.
    let mut p = Pty::spawn(
        t.home(),
        &t.root,
        &[
            "prune",
            "--interactive",
            "--offline",
            "--no-sign",
            "--max-delete",
            "1",
        ],
    );
    p.wait_for("3 of 3 selected");
    p.keys("c");
    p.wait_for("Breaker: refuses");
    p.keys("y");
    p.wait_for("the breaker refuses this selection");
    // Quit: nothing happens.
    p.keys("q");
    assert_eq!(p.exit_code(), 0);
    assert_eq!(t.git(&["rev-parse", "HEAD"]), old);
    assert_eq!(tracked(&t).lines().count(), 5);
    // Without a terminal: one line, exit 2, nothing scanned or changed.
    let r = run(t.credman().args(["prune", "--interactive", "--offline"]));
    assert_eq!(r.code, 2, "{}", r.stderr);
    assert!(r.stderr.contains("needs a terminal"), "{}", r.stderr);
    assert_eq!(r.stderr.trim().lines().count(), 1, "{}", r.stderr);
    assert_eq!(t.git(&["rev-parse", "HEAD"]), old);
}

#[test]
fn dir_mode_review_quarantines_only_the_chosen_files() {
    let t = TestRepo::bare_dir();
    let pool_dir = t.home().join("pool");
    pool(&pool_dir);
    let mut p = Pty::spawn(
        t.home(),
        t.home(),
        &[
            "prune",
            "--interactive",
            "--offline",
            "--dir",
            "pool",
            "--quarantine",
            "q",
        ],
    );
    p.wait_for("3 of 3 selected");
    p.keys("\r");
    p.wait_for("auths/codex-dead-1.json");
    p.keys(" ");
    p.wait_for("[ ]");
    p.keys("c");
    p.wait_for("Will move 2 file(s) to the quarantine q.");
    p.keys("y");
    assert_eq!(p.exit_code(), 0);
    assert!(pool_dir.join("auths/codex-dead-1.json").exists());
    for gone in ["codex-dead-2.json", "codex-dead-3.json"] {
        assert!(!pool_dir.join("auths").join(gone).exists(), "{gone}");
        assert!(t.home().join("q/auths").join(gone).exists(), "{gone}");
    }
}

#[test]
fn server_mode_review_disables_only_the_chosen_files() {
    use crate::support::cpa::Cpa;
    let key = format!("mk-{}", noise("interactive-key", 48));
    let cpa = Cpa::start(&key);
    let t = TestRepo::bare_dir();
    for i in 1..=2 {
        let v = codex_dead(&format!("d{i}@example.com"), &format!("acct-d{i}"));
        cpa.put(
            &format!("codex-dead-{i}.json"),
            serde_json::json!(i.to_string()),
            &v,
        );
    }
    let url = cpa.url();
    let mut p = Pty::spawn_with(
        t.home(),
        t.home(),
        &[
            "prune",
            "--interactive",
            "--offline",
            "--server",
            &url,
            "--download",
        ],
        &[("GIT_CREDMAN_MANAGEMENT_KEY", key.as_str())],
    );
    p.wait_for("2 of 2 selected");
    p.keys("\r");
    p.wait_for("codex-dead-1.json");
    p.keys(" ");
    p.wait_for("[ ]");
    p.keys("c");
    p.wait_for(&format!("Will disable 1 file(s) on {url}"));
    p.keys("y");
    assert_eq!(p.exit_code(), 0);
    assert!(!cpa.is_disabled("codex-dead-1.json"));
    assert!(cpa.is_disabled("codex-dead-2.json"));
}
