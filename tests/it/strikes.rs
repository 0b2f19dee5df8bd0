//! N-strikes (issue #15 item 3): `--record` keeps each run's verdicts in `refs/credman/verdicts`
//! as plain git objects; `prune --strikes N --spacing T` removes only what was dead N times in a
//! row, T apart; two runners' histories merge. Real repositories, checked with the git CLI.
//!
//! Verdict times: the scans run seconds apart, so each recording is given its time with the
//! test-only fake clock (`GIT_CREDMAN_TEST_RECORD_AT`, honoured only together with
//! `GIT_CREDMAN_TEST_FAKE_CLOCK=1`); the credentials' own expiry is judged against the real
//! clock as always.

use serde_json::Value;

use crate::support::*;

const LIVE: &str = "auths/codex-live.json";
const DEAD: &str = "auths/codex-dead.json";
const FLAP: &str = "auths/codex-flap.json";
const NEW: &str = "auths/codex-new.json";
const REF: &str = "refs/credman/verdicts";

/// An RFC3339 time `hours` after a fixed start.
fn at(hours: i64) -> String {
    chrono::DateTime::from_timestamp(1_790_000_000 + hours * 3600, 0)
        .unwrap()
        .to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
}

/// The binary in `dir`, recording at `hours` on the fake clock.
fn at_time(t: &TestRepo, dir: &std::path::Path, hours: i64) -> assert_cmd::Command {
    let mut cmd = t.credman_in(dir);
    cmd.env("GIT_CREDMAN_TEST_FAKE_CLOCK", "1")
        .env("GIT_CREDMAN_TEST_RECORD_AT", at(hours));
    cmd
}

fn record(t: &TestRepo, dir: &std::path::Path, hours: i64) -> Run {
    let r = run(at_time(t, dir, hours).args(["scan", "--offline", "--record", "--format", "json"]));
    assert!(r.code <= 1, "{}\n{}", r.stdout, r.stderr);
    assert!(r.stderr.contains("Recorded "), "{}", r.stderr);
    r
}

/// Every credential line of the ref's tip in `dir`, by key, read with `git cat-file`.
fn lines(t: &TestRepo, dir: &std::path::Path) -> Vec<Value> {
    let mut out = Vec::new();
    for name in t
        .git_in(dir, &["ls-tree", "--name-only", REF])
        .lines()
        .filter(|n| *n != "FORMAT")
    {
        let blob = t.git_in(dir, &["cat-file", "-p", &format!("{REF}:{name}")]);
        for l in blob.lines() {
            out.push(serde_json::from_str::<Value>(l).unwrap());
        }
    }
    out
}

/// The recorded (time, status) pairs of the credential last seen at `path`.
fn verdicts_of(t: &TestRepo, dir: &std::path::Path, path: &str) -> Vec<(String, String)> {
    let all = lines(t, dir);
    let line = all
        .iter()
        .find(|l| l["path"] == path)
        .unwrap_or_else(|| panic!("no line for {path}: {all:#?}"));
    line["verdicts"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| {
            (
                v["at"].as_str().unwrap().to_owned(),
                v["status"].as_str().unwrap().to_owned(),
            )
        })
        .collect()
}

fn names(t: &TestRepo) -> Vec<String> {
    t.git(&["ls-tree", "-r", "--name-only", "HEAD"])
        .lines()
        .map(str::to_owned)
        .collect()
}

#[test]
fn prune_with_strikes_removes_only_what_was_dead_three_times_six_hours_apart() {
    let t = TestRepo::new();
    t.write_json(LIVE, &codex_live("alice@example.com", "acct-1", "plus"));
    let dead = codex_dead("carol@example.com", "acct-3");
    t.write_json(DEAD, &dead);
    t.write_json(FLAP, &codex_dead("fred@example.com", "acct-5"));
    t.commit_all("initial");
    let root = t.root.clone();

    // Run 1 at 0 h: DEAD and FLAP dead.
    record(&t, &root, 0);
    // Run 2 at 3 h: FLAP was refreshed by CPA (alive, same account); NEW appears, dead.
    t.write_json(FLAP, &codex_live("fred@example.com", "acct-5", "plus"));
    t.write_json(NEW, &codex_dead("nina@example.com", "acct-6"));
    t.commit_all("cpa refresh");
    record(&t, &root, 3);
    // Run 3 at 6 h (the prune, recording first): FLAP dead again.
    t.write_json(FLAP, &codex_dead("fred@example.com", "acct-5"));
    t.commit_all("flap");
    let head_before = t.git(&["rev-parse", "HEAD"]);

    // A dry run with a longer spacing keeps everything, says why, and records nothing.
    let r = run(at_time(&t, &root, 6).args([
        "prune",
        "--offline",
        "--no-sign",
        "--record",
        "--strikes",
        "3",
        "--spacing",
        "7h",
        "--dry-run",
        "--format",
        "json",
    ]));
    assert_eq!(r.code, 0, "{}\n{}", r.stdout, r.stderr);
    let report = r.json();
    assert!(paths(&report).is_empty(), "{report:#}");
    let why = skipped(&report);
    assert!(
        why.contains(&(
            DEAD.to_owned(),
            "3 of 3 strikes, but only 6h apart (--spacing 7h)".to_owned()
        )),
        "{why:?}"
    );
    assert_eq!(t.git(&["rev-list", "--count", REF]).trim(), "2");

    let r = run(at_time(&t, &root, 6).args([
        "prune",
        "--offline",
        "--no-sign",
        "--record",
        "--strikes",
        "3",
        "--spacing",
        "6h",
        "--format",
        "json",
    ]));
    assert_eq!(r.code, 0, "{}\n{}", r.stdout, r.stderr);
    let report = r.json();
    validate_report(&report);
    assert_eq!(paths(&report), [DEAD]);
    let why = skipped(&report);
    assert_eq!(why.len(), 2, "{why:?}");
    assert!(why.contains(&(
        FLAP.to_owned(),
        "1 of 3 strikes (dead in 1 consecutive recorded verdict(s))".to_owned()
    )));
    assert!(why.contains(&(
        NEW.to_owned(),
        "2 of 3 strikes (dead in 2 consecutive recorded verdict(s))".to_owned()
    )));
    // The removal cites its three verdicts; the rule and the recorded commit are named.
    let cited: Vec<&str> = result(&report, DEAD)["strikes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["at"].as_str().unwrap())
        .collect();
    assert_eq!(cited, [at(0), at(3), at(6)]);
    assert_eq!(report["prune"]["strikes"]["required"], 3);
    assert_eq!(report["prune"]["strikes"]["spacing_secs"], 6 * 3600);
    let recorded = report["prune"]["strikes"]["recorded"].as_str().unwrap();
    assert_eq!(t.git(&["rev-parse", REF]).trim(), recorded);

    // The tree: only DEAD is gone, in one commit whose message cites the verdicts.
    assert_eq!(names(&t), [FLAP, LIVE, NEW]);
    assert_eq!(t.git(&["rev-parse", "HEAD~1"]), head_before);
    let msg = t.git(&["log", "-1", "--format=%B"]);
    assert!(
        msg.contains(&format!("(3 strikes: {}, {}, {})", at(0), at(3), at(6))),
        "{msg}"
    );
    let embedded = embedded_report(&msg);
    assert_eq!(embedded["prune"]["strikes"]["required"], 3);
    assert_eq!(embedded["results"][0]["strikes"][2]["at"], at(6).as_str());
    assert_eq!(
        embedded["results"][0]["strikes"][2]["status"],
        "expired_by_time"
    );

    // The ref, seen by git: three record commits, a chain, well-formed, no token in it.
    t.git(&["fsck", "--strict"]);
    let log = t.git(&["log", "--format=%s", REF]);
    assert_eq!(log.lines().count(), 3, "{log}");
    assert!(
        log.lines().all(|l| l.starts_with("credman: record ")),
        "{log}"
    );
    assert_eq!(
        t.git(&["cat-file", "-p", &format!("{REF}:FORMAT")]),
        "git-credman verdicts 1\n"
    );
    assert_eq!(
        verdicts_of(&t, &root, DEAD),
        [
            (at(0), "expired_by_time".to_owned()),
            (at(3), "expired_by_time".to_owned()),
            (at(6), "expired_by_time".to_owned())
        ]
    );
    let flap: Vec<String> = verdicts_of(&t, &root, FLAP)
        .into_iter()
        .map(|v| v.1)
        .collect();
    assert_eq!(flap, ["expired_by_time", "unverified", "expired_by_time"]);
    let whole = lines(&t, &root);
    let text = serde_json::to_string(&whole).unwrap();
    for secret in secrets_of(&dead) {
        assert!(!text.contains(&secret), "a token in the verdicts");
    }
    assert!(
        !text.contains("carol@") && !text.contains("acct-3"),
        "no account"
    );
    assert!(
        whole
            .iter()
            .all(|l| l["key"].as_str().unwrap().starts_with("id:")),
        "every codex file has an identity: {whole:#?}"
    );
}

#[test]
fn a_one_off_outage_removes_nothing() {
    let t = TestRepo::new();
    t.write_json(LIVE, &codex_live("alice@example.com", "acct-1", "plus"));
    t.commit_all("initial");
    let root = t.root.clone();
    record(&t, &root, 0);
    record(&t, &root, 6);
    // One bad run: the file looks dead once (same account), among alive verdicts.
    t.write_json(LIVE, &codex_dead("alice@example.com", "acct-1"));
    t.commit_all("outage");
    let head = t.git(&["rev-parse", "HEAD"]);
    // Without strikes this prune would remove it.
    let r = run(t.credman().args([
        "prune",
        "--offline",
        "--no-sign",
        "--dry-run",
        "--format",
        "json",
    ]));
    assert_eq!(paths(&r.json()), [LIVE]);

    let r = run(at_time(&t, &root, 12).args([
        "prune",
        "--offline",
        "--no-sign",
        "--record",
        "--strikes",
        "3",
        "--spacing",
        "6h",
        "--format",
        "json",
    ]));
    assert_eq!(r.code, 0, "{}\n{}", r.stdout, r.stderr);
    let report = r.json();
    assert!(paths(&report).is_empty(), "{report:#}");
    assert_eq!(
        skipped(&report),
        [(
            LIVE.to_owned(),
            "1 of 3 strikes (dead in 1 consecutive recorded verdict(s))".to_owned()
        )]
    );
    assert_eq!(t.git(&["rev-parse", "HEAD"]), head, "no commit");
    assert_eq!(names(&t), [LIVE]);
    let statuses: Vec<String> = verdicts_of(&t, &root, LIVE)
        .into_iter()
        .map(|v| v.1)
        .collect();
    assert_eq!(statuses, ["unverified", "unverified", "expired_by_time"]);
    t.git(&["fsck", "--strict"]);
}

/// A `git-credman` process in `dir` that records at `hours`, started now (not waited for).
fn spawn_record(t: &TestRepo, dir: &std::path::Path, hours: i64) -> std::process::Child {
    std::process::Command::new(env!("CARGO_BIN_EXE_git-credman"))
        .args(["scan", "--offline", "--record", "--format", "json"])
        .env_clear()
        .envs(scrubbed_env(t.home()))
        .env("GIT_CREDMAN_TEST_FAKE_CLOCK", "1")
        .env("GIT_CREDMAN_TEST_RECORD_AT", at(hours))
        .current_dir(dir)
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap()
}

fn push(t: &TestRepo, dir: &std::path::Path) -> std::process::Output {
    std::process::Command::new("git")
        .args(["push", "-q", "origin", REF])
        .env_clear()
        .envs(scrubbed_env(t.home()))
        .current_dir(dir)
        .output()
        .unwrap()
}

#[test]
fn two_runners_record_concurrently_push_and_merge_both_histories() {
    let t = TestRepo::new();
    t.write_json(LIVE, &codex_live("alice@example.com", "acct-1", "plus"));
    t.write_json(DEAD, &codex_dead("carol@example.com", "acct-3"));
    t.commit_all("initial");
    let remote = t.home().join("remote.git");
    let (a, b) = (t.home().join("a"), t.home().join("b"));
    let home = t.home().to_owned();
    t.git_in(
        &home,
        &[
            "clone",
            "-q",
            "--bare",
            t.root.to_str().unwrap(),
            remote.to_str().unwrap(),
        ],
    );
    for dir in [&a, &b] {
        t.git_in(
            &home,
            &[
                "clone",
                "-q",
                remote.to_str().unwrap(),
                dir.to_str().unwrap(),
            ],
        );
    }

    // Both runners record at once, in their own clones, hours apart on the fake clock.
    let runners = [spawn_record(&t, &a, 0), spawn_record(&t, &b, 6)];
    for child in runners {
        let out = child.wait_with_output().unwrap();
        assert!(
            out.status.code() == Some(1),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
    // Both push; the second is not a fast-forward and is rejected.
    let first = push(&t, &a);
    assert!(
        first.status.success(),
        "{}",
        String::from_utf8_lossy(&first.stderr)
    );
    let second = push(&t, &b);
    assert!(
        !second.status.success(),
        "diverged histories must not overwrite each other"
    );
    // The second runner fetches theirs, merges, pushes again.
    t.git_in(&b, &["fetch", "-q", "origin", REF]);
    let r = run(t.credman_in(&b).args(["verdicts", "merge", "FETCH_HEAD"]));
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert!(
        r.stderr
            .contains("Merged FETCH_HEAD into refs/credman/verdicts"),
        "{}",
        r.stderr
    );
    let pushed = push(&t, &b);
    assert!(
        pushed.status.success(),
        "{}",
        String::from_utf8_lossy(&pushed.stderr)
    );
    // Merging again changes nothing.
    t.git_in(&b, &["fetch", "-q", "origin", REF]);
    let r = run(t.credman_in(&b).args(["verdicts", "merge", "FETCH_HEAD"]));
    assert!(r.stderr.contains("already contains"), "{}", r.stderr);

    // The remote's ref is a merge commit of both runners' records, and holds both verdicts.
    let parents = t.git_in(&remote, &["log", "-1", "--format=%P", REF]);
    assert_eq!(parents.split_whitespace().count(), 2, "{parents}");
    t.git_in(&remote, &["fsck", "--strict"]);
    // The first runner fetches the merged history (a fast-forward) and sees both.
    t.git_in(&a, &["fetch", "-q", "origin", &format!("{REF}:{REF}")]);
    let dead = verdicts_of(&t, &a, DEAD);
    assert_eq!(
        dead,
        [
            (at(0), "expired_by_time".to_owned()),
            (at(6), "expired_by_time".to_owned())
        ]
    );
    assert_eq!(verdicts_of(&t, &a, LIVE).len(), 2);
    // And prunes on them: two strikes six hours apart, from two runners.
    let r = run(t.credman_in(&a).args([
        "prune",
        "--offline",
        "--no-sign",
        "--strikes",
        "2",
        "--spacing",
        "6h",
        "--format",
        "json",
    ]));
    assert_eq!(r.code, 0, "{}\n{}", r.stdout, r.stderr);
    assert_eq!(paths(&r.json()), [DEAD]);
    assert!(
        r.json()["prune"]["strikes"].get("recorded").is_none(),
        "it did not record"
    );
}

#[test]
fn concurrent_recordings_in_one_repository_all_land_in_one_chain() {
    let t = TestRepo::new();
    t.write_json(DEAD, &codex_dead("carol@example.com", "acct-3"));
    t.commit_all("initial");
    let root = t.root.clone();
    let runs: Vec<_> = (0..4).map(|h| spawn_record(&t, &root, h)).collect();
    for child in runs {
        let out = child.wait_with_output().unwrap();
        assert_eq!(
            out.status.code(),
            Some(1),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
    // Compare-and-swap with retries: no run's verdict is lost, the ref is one chain.
    let times: Vec<String> = verdicts_of(&t, &root, DEAD)
        .into_iter()
        .map(|v| v.0)
        .collect();
    assert_eq!(times, [at(0), at(1), at(2), at(3)]);
    assert_eq!(t.git(&["rev-list", "--count", REF]).trim(), "4");
    assert_eq!(t.git(&["rev-list", "--merges", "--count", REF]).trim(), "0");
    t.git(&["fsck", "--strict"]);
}

#[test]
fn bad_strike_settings_are_exit_2_with_one_line() {
    let t = TestRepo::new();
    t.write_json(DEAD, &codex_dead("carol@example.com", "acct-3"));
    t.commit_all("initial");
    for (args, what) in [
        (&["--strikes", "0"][..], "from 1 to 8"),
        (&["--strikes", "9"][..], "from 1 to 8"),
        (&["--strikes", "2", "--spacing", "6x"][..], "unknown unit"),
        (&["--spacing", "6h"][..], "only with --strikes"),
    ] {
        let r = run(t
            .credman()
            .args(["prune", "--offline", "--no-sign"])
            .args(args));
        assert_eq!(r.code, 2, "{args:?}: {}", r.stderr);
        assert!(r.stderr.contains(what), "{args:?}: {}", r.stderr);
        assert_eq!(r.stderr.trim().lines().count(), 1, "{}", r.stderr);
    }
    // The env and git config name the rule too.
    t.git(&["config", "credman.strikes", "2"]);
    let r = run(t
        .credman()
        .args(["prune", "--offline", "--no-sign", "--format", "json"]));
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert!(
        paths(&r.json()).is_empty(),
        "no verdicts recorded: nothing passes"
    );
    // --record on a scan through GIT_CREDMAN_RECORD.
    let r = run(t
        .credman()
        .args(["scan", "--offline"])
        .env("GIT_CREDMAN_RECORD", "true"));
    assert_eq!(r.code, 1);
    assert_eq!(t.git(&["rev-list", "--count", REF]).trim(), "1");
    // A bad revision to merge is exit 2.
    let r = run(t.credman().args(["verdicts", "merge", "no-such-rev"]));
    assert_eq!(r.code, 2, "{}", r.stderr);
}
