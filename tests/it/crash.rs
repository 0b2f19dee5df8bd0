//! Issue 10 "Done when": prune is killed at many points (SIGKILL, SIGINT, SIGTERM; repository and
//! --dir mode), at every named step (the test-only pause hook) and after varying delays, and
//! checked after every kill and after one plain rerun with the real git CLI: fsck clean, HEAD
//! the old commit or one prune commit, every credential of the old HEAD in the new HEAD or
//! recorded as removed, none resurrected, no lock left after SIGINT/SIGTERM, the user's own
//! staged and unstaged changes untouched. The named steps come from the test-only pause hook
//! (`GIT_CREDMAN_TEST_PAUSE_AT` + `GIT_CREDMAN_TEST_PAUSE_FILE`, inert unless both are set; see
//! `src/interrupt.rs`).

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use crate::dataloss::spawn_paused;
use crate::support::*;

const DEAD: usize = 160;
const LIVE: usize = 80;
const REPO_STEPS: [&str; 9] = [
    "scanned",
    "signed",
    "lock-taken",
    "index-locked",
    "marker-written",
    "ref-moved",
    "index-written",
    "worktree-half",
    "worktree-done",
];
const DIR_STEPS: [&str; 5] = ["scanned", "report-planned", "moving", "moved", "report-tmp"];
const SIGNALS: [&str; 3] = ["KILL", "INT", "TERM"];

/// How a case stops the run.
#[derive(Clone, Debug)]
enum Stop {
    /// At a named step.
    At(&'static str),
    /// After a delay.
    After(Duration),
}

fn copy_dir(from: &Path, to: &Path) {
    let ok = Command::new("cp")
        .arg("-a")
        .arg(from)
        .arg(to)
        .status()
        .unwrap()
        .success();
    assert!(ok, "cp -a failed");
}

/// A fresh copy of the template: a home with an empty global config, and the repo (or dir).
fn fresh(template: &Path) -> TestRepo {
    let tmp = tempfile::tempdir().unwrap();
    std::fs::write(tmp.path().join(".gitconfig"), "").unwrap();
    let root = tmp.path().join("repo");
    copy_dir(template, &root);
    TestRepo { tmp, root }
}

fn write_pool(dir: &Path) -> (Vec<String>, Vec<String>) {
    let mut dead = Vec::new();
    let mut live = Vec::new();
    for i in 0..DEAD {
        let p = if i % 3 == 0 {
            format!("auths/sub/codex-dead-{i}.json")
        } else {
            format!("auths/codex-dead-{i}.json")
        };
        let v = codex_dead(&format!("d{i}@example.com"), &format!("a{i}"));
        let full = dir.join(&p);
        std::fs::create_dir_all(full.parent().unwrap()).unwrap();
        std::fs::write(full, serde_json::to_vec_pretty(&v).unwrap()).unwrap();
        dead.push(p);
    }
    for i in 0..LIVE {
        let p = format!("auths/codex-live-{i}.json");
        let v = codex_live(&format!("l{i}@example.com"), &format!("b{i}"), "plus");
        std::fs::write(dir.join(&p), serde_json::to_vec_pretty(&v).unwrap()).unwrap();
        live.push(p);
    }
    (dead, live)
}

/// What the user had before the prune, to compare with after.
struct UserState {
    status: Vec<String>,
    staged: String,
    unstaged: String,
    untracked: Vec<u8>,
}

fn user_state(t: &TestRepo) -> UserState {
    UserState {
        status: status_lines(t),
        staged: t.git(&["diff", "--cached", "--", "README.md", "notes.txt"]),
        unstaged: t.git(&["diff", "--", "other.txt"]),
        untracked: std::fs::read(t.root.join("scratch.txt")).unwrap(),
    }
}

fn status_lines(t: &TestRepo) -> Vec<String> {
    t.git(&["status", "--porcelain"])
        .lines()
        .map(str::to_owned)
        .collect()
}

fn tree(t: &TestRepo, rev: &str) -> BTreeMap<String, String> {
    t.git(&["ls-tree", "-r", rev])
        .lines()
        .filter_map(|l| {
            let (meta, path) = l.split_once('\t')?;
            Some((path.to_owned(), meta.split(' ').nth(2)?.to_owned()))
        })
        .collect()
}

fn embedded_paths(t: &TestRepo, rev: &str) -> BTreeSet<String> {
    let msg = t.git(&["log", "-1", "--format=%B", rev]);
    if !msg.contains("-----BEGIN CREDMAN REPORT-----\n") {
        return BTreeSet::new();
    }
    let report = embedded_report(&msg);
    paths(&report).into_iter().collect()
}

/// The checks after a kill (and, with `rerun`, after the plain rerun).
fn check_repo(
    t: &TestRepo,
    old: &str,
    old_tree: &BTreeMap<String, String>,
    user: &UserState,
    what: &str,
) {
    t.git(&["fsck", "--strict"]);
    let head = t.git(&["rev-parse", "HEAD"]);
    let now = tree(t, "HEAD");
    let removed = if head == old {
        BTreeSet::new()
    } else {
        assert_eq!(
            t.git(&["rev-parse", "HEAD~1"]),
            old,
            "{what}: more than one commit"
        );
        let subject = t.git(&["log", "-1", "--format=%s"]);
        assert!(subject.starts_with("credman: remove"), "{what}: {subject}");
        embedded_paths(t, "HEAD")
    };
    for (path, blob) in old_tree.iter().filter(|(p, _)| p.starts_with("auths/")) {
        match now.get(path) {
            Some(b) => assert_eq!(b, blob, "{what}: {path} changed"),
            None => assert!(
                removed.contains(path),
                "{what}: {path} lost without a record"
            ),
        }
        if path.contains("live") {
            assert!(now.contains_key(path), "{what}: live {path} removed");
            assert!(t.root.join(path).exists(), "{what}: live {path} deleted");
        }
    }
    assert_eq!(
        t.git(&["diff", "--cached", "--", "README.md", "notes.txt"]),
        user.staged,
        "{what}: staged changes"
    );
    assert_eq!(t.git(&["diff", "--", "other.txt"]), user.unstaged, "{what}");
    assert_eq!(
        std::fs::read(t.root.join("scratch.txt")).unwrap(),
        user.untracked
    );
}

fn assert_no_locks(t: &TestRepo, what: &str) {
    for lock in ["index.lock", "HEAD.lock", "refs/heads/main.lock"] {
        assert!(
            !t.root.join(".git").join(lock).exists(),
            "{what}: {lock} left"
        );
    }
}

fn stop_run(t: &TestRepo, dir: &Path, args: &[&str], stop: &Stop, sig: &str) -> (i32, String) {
    let step = match stop {
        Stop::At(s) => Some(*s),
        Stop::After(_) => None,
    };
    let mut p = spawn_paused(t.home(), dir, args, step);
    match stop {
        Stop::At(_) => p.wait_paused(),
        Stop::After(d) => std::thread::sleep(*d),
    }
    let running = p.child.try_wait().unwrap().is_none();
    if running {
        p.signal(sig);
    }
    std::thread::sleep(Duration::from_millis(20));
    p.resume();
    let (code, stderr) = p.finish();
    if running && matches!(stop, Stop::At(_)) {
        let want = match sig {
            "KILL" => -9,
            "INT" => 130,
            _ => 143,
        };
        assert_eq!(code, want, "{stop:?}/{sig}: {stderr}");
    }
    (code, stderr)
}

fn repo_case(template: &Path, stop: &Stop, sig: &str) {
    let what = format!("repo {stop:?}/{sig}");
    let t = fresh(template);
    let old = t.git(&["rev-parse", "HEAD"]);
    let old_tree = tree(&t, "HEAD");
    let user = user_state(&t);
    let args = ["prune", "--offline", "--no-sign", "--max-delete", "100%"];
    let (code, stderr) = stop_run(&t, &t.root, &args, stop, sig);
    assert!(code != 2 && code != 101, "{what}: {code} {stderr}");
    check_repo(&t, &old, &old_tree, &user, &what);
    if sig != "KILL" {
        assert_no_locks(&t, &what);
        assert_eq!(
            status_lines(&t),
            user.status,
            "{what}: resurrected after a signal"
        );
    }
    // One plain rerun finishes whatever was left.
    let r = run(t.credman().args(args));
    assert_eq!(r.code, 0, "{what}: rerun: {}", r.stderr);
    let what = format!("{what} + rerun");
    check_repo(&t, &old, &old_tree, &user, &what);
    assert_no_locks(&t, &what);
    assert!(
        !t.root.join(".git/credman-prune-pending").exists(),
        "{what}"
    );
    assert_eq!(t.git(&["rev-parse", "HEAD~1"]), old, "{what}");
    let now = tree(&t, "HEAD");
    for path in old_tree.keys().filter(|p| p.contains("dead")) {
        assert!(!now.contains_key(path), "{what}: {path} still in HEAD");
        assert!(!t.root.join(path).exists(), "{what}: {path} still on disk");
    }
    assert_eq!(status_lines(&t), user.status, "{what}: resurrected");
    t.git(&["add", "-A"]);
    let staged = t.git(&["diff", "--cached", "--name-only"]);
    assert!(
        !staged.contains("auths/"),
        "{what}: git add -A brings back {staged}"
    );
}

/// Every file below `dir`, relative, with its content.
fn files(dir: &Path) -> BTreeMap<PathBuf, Vec<u8>> {
    let mut out = BTreeMap::new();
    let mut stack = vec![dir.to_owned()];
    while let Some(d) = stack.pop() {
        let Ok(rd) = std::fs::read_dir(&d) else {
            continue;
        };
        for e in rd {
            let e = e.unwrap();
            if e.file_type().unwrap().is_dir() {
                stack.push(e.path());
            } else {
                let rel = e.path().strip_prefix(dir).unwrap().to_owned();
                out.insert(rel, std::fs::read(e.path()).unwrap());
            }
        }
    }
    out
}

fn check_dir(home: &Path, original: &BTreeMap<PathBuf, Vec<u8>>, what: &str, signalled: bool) {
    let pool = home.join("pool");
    let now = files(&pool);
    let qroot = home.join("pool.credman-quarantine");
    let mut moved: BTreeMap<PathBuf, Vec<u8>> = BTreeMap::new();
    for q in std::fs::read_dir(&qroot).into_iter().flatten() {
        let q = q.unwrap().path();
        let inside = files(&q);
        let mut recorded = BTreeSet::new();
        for (rel, data) in &inside {
            let name = rel.to_string_lossy();
            if name.starts_with("credman-report") {
                let report = parse_report(std::str::from_utf8(data).unwrap());
                recorded.extend(paths(&report));
                continue;
            }
            if signalled {
                assert!(
                    !name.ends_with(".tmp") && !name.ends_with(".credman-partial"),
                    "{what}: {name} left"
                );
            }
            if name.ends_with(".tmp") {
                continue;
            }
            assert!(
                moved.insert(rel.clone(), data.clone()).is_none(),
                "{what}: twice"
            );
        }
        for rel in inside.keys() {
            let name = rel.to_string_lossy();
            if !name.starts_with("credman-report") && !name.ends_with(".tmp") {
                assert!(
                    recorded.contains(name.as_ref()),
                    "{what}: {name} moved without a report"
                );
            }
        }
    }
    for (rel, data) in original {
        let here = now.get(rel).or_else(|| moved.get(rel));
        assert_eq!(here, Some(data), "{what}: {} lost", rel.display());
        assert!(
            !(now.contains_key(rel) && moved.contains_key(rel)),
            "{what}: duplicated"
        );
        if rel.to_string_lossy().contains("live") {
            assert!(
                now.contains_key(rel),
                "{what}: live {} moved",
                rel.display()
            );
        }
    }
}

fn dir_case(template: &Path, stop: &Stop, sig: &str) {
    let what = format!("dir {stop:?}/{sig}");
    let tmp = tempfile::tempdir().unwrap();
    std::fs::write(tmp.path().join(".gitconfig"), "").unwrap();
    copy_dir(template, &tmp.path().join("pool"));
    let t = TestRepo {
        root: tmp.path().join("pool"),
        tmp,
    };
    let original = files(&t.root);
    let args = [
        "prune",
        "--offline",
        "--dir",
        "pool",
        "--max-delete",
        "100%",
    ];
    let (code, stderr) = stop_run(&t, t.home(), &args, stop, sig);
    assert!(code != 2 && code != 101, "{what}: {code} {stderr}");
    check_dir(t.home(), &original, &what, sig != "KILL");
    let r = run(t.credman_in(t.home()).args(args));
    assert_eq!(r.code, 0, "{what}: rerun: {}", r.stderr);
    let what = format!("{what} + rerun");
    check_dir(t.home(), &original, &what, false);
    let left = files(&t.root);
    assert!(
        left.keys().all(|p| p.to_string_lossy().contains("live")),
        "{what}"
    );
    assert_eq!(left.len(), LIVE, "{what}");
}

/// Runs `cases` on both cores.
fn run_all<T: Sync>(cases: &[T], f: impl Fn(&T) + Sync) {
    let next = AtomicUsize::new(0);
    std::thread::scope(|s| {
        for _ in 0..2 {
            s.spawn(|| {
                loop {
                    let i = next.fetch_add(1, Ordering::SeqCst);
                    let Some(c) = cases.get(i) else { break };
                    f(c);
                }
            });
        }
    });
}

#[test]
fn crash_prune_at_every_step_and_after_delays() {
    let started = Instant::now();
    // The repository template: the pool plus the user's own staged, unstaged and untracked work.
    let base = TestRepo::new();
    write_pool(&base.root);
    base.write("README.md", "auth repo\n");
    base.write("other.txt", "other\n");
    base.commit_all("pool");
    base.write("README.md", "auth repo, staged edit\n");
    base.write("notes.txt", "staged new file\n");
    base.git(&["add", "README.md", "notes.txt"]);
    base.write("other.txt", "other, unstaged edit\n");
    base.write("scratch.txt", "untracked\n");
    // How long one whole run takes, to spread the timed kills over it.
    let probe = fresh(&base.root);
    let t0 = Instant::now();
    let r = run(probe
        .credman()
        .args(["prune", "--offline", "--no-sign", "--max-delete", "100%"]));
    assert_eq!(r.code, 0, "{}", r.stderr);
    let whole = t0.elapsed();

    let mut repo_cases: Vec<(Stop, &str)> = Vec::new();
    for step in REPO_STEPS {
        for sig in SIGNALS {
            repo_cases.push((Stop::At(step), sig));
        }
    }
    for (k, f) in [0.2, 0.4, 0.6, 0.8, 0.95].iter().enumerate() {
        repo_cases.push((Stop::After(whole.mul_f64(*f)), SIGNALS[k % 3]));
    }
    run_all(&repo_cases, |(stop, sig)| repo_case(&base.root, stop, sig));

    let dir_template = tempfile::tempdir().unwrap();
    let pool = dir_template.path().join("pool");
    let (dead, _) = write_pool(&pool);
    assert_eq!(dead.len(), DEAD);
    let mut dir_cases: Vec<(Stop, &str)> = Vec::new();
    for step in DIR_STEPS {
        for sig in SIGNALS {
            dir_cases.push((Stop::At(step), sig));
        }
    }
    for (k, f) in [0.3, 0.6, 0.9].iter().enumerate() {
        dir_cases.push((Stop::After(whole.mul_f64(*f)), SIGNALS[k % 3]));
    }
    run_all(&dir_cases, |(stop, sig)| dir_case(&pool, stop, sig));
    eprintln!(
        "crash test: {} repo and {} dir cases in {:?}",
        repo_cases.len(),
        dir_cases.len(),
        started.elapsed()
    );
}

/// A SIGKILL inside the ref move (after gix took `HEAD.lock` and the branch's lock and wrote the
/// new commit id into them, before it renamed them; see gix-ref's
/// `store/file/transaction/prepare.rs`) left both locks behind, and the rerun stopped on
/// "HEAD.lock could not be obtained" (CI, stop 19). The kill is placed at `marker-written`, the
/// last step before the move, and the locks are written as gix writes them; the timed kills of
/// the test above reach the same state about once in a hundred runs.
#[test]
fn regression_a_kill_inside_the_ref_move_leaves_no_lock_the_rerun_trips_on() {
    let base = TestRepo::new();
    write_pool(&base.root);
    base.commit_all("pool");
    for content in ["with-id", "empty"] {
        let t = fresh(&base.root);
        let old = t.git(&["rev-parse", "HEAD"]);
        let args = ["prune", "--offline", "--no-sign", "--max-delete", "100%"];
        let (code, _) = stop_run(&t, &t.root, &args, &Stop::At("marker-written"), "KILL");
        assert_eq!(code, -9);
        let marker = std::fs::read_to_string(t.root.join(".git/credman-prune-pending")).unwrap();
        let commit = marker
            .lines()
            .find_map(|l| l.strip_prefix("commit "))
            .expect("the marker names the commit")
            .to_owned();
        let body = if content == "with-id" {
            format!("{commit}\n")
        } else {
            String::new()
        };
        for lock in ["HEAD.lock", "refs/heads/main.lock"] {
            std::fs::write(t.root.join(".git").join(lock), &body).unwrap();
        }
        assert_eq!(t.git(&["rev-parse", "HEAD"]), old);
        let r = run(t.credman().args(args));
        assert_eq!(r.code, 0, "{content}: {}", r.stderr);
        assert_no_locks(&t, content);
        assert_eq!(t.git(&["rev-parse", "HEAD~1"]), old, "{content}");
        t.git(&["fsck", "--strict"]);
    }
    // A lock another git holds (not empty, not the marker's commit) is never taken away.
    let t = fresh(&base.root);
    let args = ["prune", "--offline", "--no-sign", "--max-delete", "100%"];
    let (code, _) = stop_run(&t, &t.root, &args, &Stop::At("marker-written"), "KILL");
    assert_eq!(code, -9);
    let foreign = t.git(&["rev-parse", "HEAD"]);
    std::fs::write(
        t.root.join(".git/refs/heads/main.lock"),
        format!("{foreign}\n"),
    )
    .unwrap();
    let r = run(t.credman().args(args));
    assert_ne!(r.code, 0, "{}", r.stderr);
    assert!(t.root.join(".git/refs/heads/main.lock").exists());
    assert!(!r.stderr.contains("panicked"), "{}", r.stderr);
}
