//! Pins (`.credmanignore`) and `--baseline` (issue #15 item 2), against real repositories and
//! folders, checked with the git CLI.

use serde_json::Value;

use crate::support::*;

const LIVE: &str = "auths/codex-live.json";
const PINNED: &str = "auths/codex-ops@example.com.json";
const DEAD: &str = "auths/codex-dead.json";

/// A repository with one live, one dead pinned by path (with a comment) and one dead file.
fn pinned_pool() -> TestRepo {
    let t = TestRepo::new();
    t.write_json(LIVE, &codex_live("alice@example.com", "acct-1", "plus"));
    t.write_json(PINNED, &codex_dead("ops@example.com", "acct-2"));
    t.write_json(DEAD, &codex_dead("carol@example.com", "acct-3"));
    t.write(
        ".credmanignore",
        "# pins\nauths/codex-ops@example.com.json   # keep: on-call account\n",
    );
    t.commit_all("initial");
    t
}

fn scan_json(t: &TestRepo, extra: &[&str]) -> Run {
    let mut args = vec!["scan", "--offline", "--format", "json"];
    args.extend_from_slice(extra);
    run(t.credman().args(&args))
}

fn names(t: &TestRepo) -> Vec<String> {
    t.git(&["ls-tree", "-r", "--name-only", "HEAD"])
        .lines()
        .map(str::to_owned)
        .collect()
}

fn fingerprint(report: &Value, path: &str) -> String {
    result(report, path)["fingerprint"]
        .as_str()
        .unwrap()
        .to_owned()
}

#[test]
fn a_pinned_dead_file_is_reported_as_pinned_and_never_fails_the_scan() {
    let t = pinned_pool();
    let r = scan_json(&t, &[]);
    assert_eq!(r.code, 1, "the unpinned dead file fails: {}", r.stderr);
    let report = r.json();
    assert_eq!(result(&report, PINNED)["status"], "expired_by_time");
    assert_eq!(result(&report, PINNED)["pinned"], "keep: on-call account");
    assert!(result(&report, DEAD).get("pinned").is_none());
    let text = run(t.credman().args(["scan", "--offline"]));
    assert!(
        text.stdout.contains("[pinned: keep: on-call account]"),
        "{}",
        text.stdout
    );
    assert!(text.stdout.contains("1 pinned file(s)"), "{}", text.stdout);
    assert!(
        text.stdout.contains("FAIL: 1 file(s)"),
        "only the unpinned dead file counts: {}",
        text.stdout
    );
}

#[test]
fn a_pinned_dead_file_survives_prune_in_repo_mode() {
    let t = pinned_pool();
    let r = run(t
        .credman()
        .args(["prune", "--offline", "--no-sign", "--format", "json"]));
    assert_eq!(r.code, 0, "{}\n{}", r.stdout, r.stderr);
    let report = r.json();
    assert_eq!(paths(&report), [DEAD]);
    assert_eq!(
        skipped(&report),
        [(
            PINNED.to_owned(),
            "pinned: keep: on-call account".to_owned()
        )]
    );
    assert_eq!(names(&t), [".credmanignore", LIVE, PINNED]);
    assert_eq!(t.git(&["status", "--porcelain"]), "");
    t.git(&["fsck", "--strict"]);
    assert!(t.root.join(PINNED).exists() && !t.root.join(DEAD).exists());
    // What remains is pinned: the scan is green, and still lists it as pinned.
    let r = scan_json(&t, &[]);
    assert_eq!(r.code, 0, "{}", r.stdout);
    assert_eq!(result(&r.json(), PINNED)["pinned"], "keep: on-call account");
}

#[test]
fn a_fingerprint_pin_survives_a_rename() {
    let t = pinned_pool();
    let fp = fingerprint(&scan_json(&t, &[]).json(), DEAD);
    t.write(".credmanignore", format!("fp:{fp} # by token\n"));
    t.git(&["mv", DEAD, "auths/renamed.json"]);
    t.commit_all("rename");
    let r = run(t
        .credman()
        .args(["prune", "--offline", "--no-sign", "--format", "json"]));
    assert_eq!(r.code, 0, "{}\n{}", r.stdout, r.stderr);
    let report = r.json();
    // The path pin is gone, the fingerprint pin follows the renamed file.
    assert_eq!(paths(&report), [PINNED]);
    assert_eq!(
        skipped(&report),
        [(
            "auths/renamed.json".to_owned(),
            "pinned: by token".to_owned()
        )]
    );
    assert_eq!(names(&t), [".credmanignore", LIVE, "auths/renamed.json"]);
    assert_eq!(t.git(&["status", "--porcelain"]), "");
    t.git(&["fsck", "--strict"]);
}

#[test]
fn a_pinned_dead_file_survives_prune_in_dir_mode_by_glob_and_by_fingerprint() {
    let t = TestRepo::bare_dir();
    let dir = t.home().join("pool");
    std::fs::create_dir_all(dir.join("keep")).unwrap();
    let write = |name: &str, v: &Value| std::fs::write(dir.join(name), v.to_string()).unwrap();
    write("keep/a.json", &codex_dead("a@example.com", "acct-a"));
    write("b.json", &codex_dead("b@example.com", "acct-b"));
    write("c.json", &codex_dead("c@example.com", "acct-c"));
    let scan = run(t.credman_in(t.home()).args([
        "scan",
        "--offline",
        "--format",
        "json",
        "--dir",
        "pool",
    ]));
    let fp = fingerprint(&scan.json(), "b.json");
    std::fs::write(
        dir.join(".credmanignore"),
        format!("keep/   # a folder\nfp:{fp}\n"),
    )
    .unwrap();
    // The fingerprint pin follows b.json to its new name.
    std::fs::rename(dir.join("b.json"), dir.join("b2.json")).unwrap();
    let r = run(t.credman_in(t.home()).args([
        "prune",
        "--offline",
        "--dir",
        "pool",
        "--purge",
        "--format",
        "json",
    ]));
    assert_eq!(r.code, 0, "{}\n{}", r.stdout, r.stderr);
    let report = r.json();
    assert_eq!(paths(&report), ["c.json"]);
    assert_eq!(
        skipped(&report),
        [
            ("b2.json".to_owned(), "pinned".to_owned()),
            ("keep/a.json".to_owned(), "pinned: a folder".to_owned()),
        ]
    );
    assert!(dir.join("keep/a.json").exists() && dir.join("b2.json").exists());
    assert!(!dir.join("c.json").exists());
}

#[test]
fn a_baseline_hides_unchanged_findings_and_the_exit_code_follows_only_new_ones() {
    let t = TestRepo::new();
    t.write_json(LIVE, &codex_live("alice@example.com", "acct-1", "plus"));
    t.write_json(DEAD, &codex_dead("carol@example.com", "acct-3"));
    t.commit_all("initial");
    let base = t.home().join("base.json");
    let r = run(t
        .credman()
        .args(["scan", "--offline", "--report"])
        .arg(&base));
    assert_eq!(r.code, 1, "{}", r.stderr);

    // Nothing changed: the old dead file is hidden and the scan is green.
    let r = scan_json(&t, &["--baseline", base.to_str().unwrap()]);
    assert_eq!(r.code, 0, "{}\n{}", r.stdout, r.stderr);
    let report = r.json();
    assert!(paths(&report).is_empty(), "{report:#}");
    assert_eq!(report["baseline"]["unchanged"], 2);
    assert_eq!(report["baseline"]["changed"], 0);

    // A rename keeps it unchanged (same token, same status); a new dead file fails.
    t.git(&["mv", DEAD, "auths/moved.json"]);
    t.write_json(
        "auths/new-dead.json",
        &codex_dead("dan@example.com", "acct-4"),
    );
    t.commit_all("rename and add");
    let r = scan_json(&t, &["--baseline", base.to_str().unwrap()]);
    assert_eq!(r.code, 1, "{}\n{}", r.stdout, r.stderr);
    let report = r.json();
    assert_eq!(paths(&report), ["auths/new-dead.json"]);
    assert_eq!(report["baseline"]["unchanged"], 2);
    let text = run(t
        .credman()
        .args(["scan", "--offline", "--baseline"])
        .arg(&base));
    assert!(
        text.stdout
            .contains("Baseline: 1 file(s) changed status since the baseline; 2 unchanged"),
        "{}",
        text.stdout
    );

    // The same through the env and git config, with the flag first.
    let r = run(t
        .credman()
        .args(["scan", "--offline", "--format", "json"])
        .env("GIT_CREDMAN_BASELINE", &base));
    assert_eq!(paths(&r.json()), ["auths/new-dead.json"]);

    // Prune removes only the newly dead file and says why it keeps the old one.
    let r = run(t
        .credman()
        .args([
            "prune",
            "--offline",
            "--no-sign",
            "--format",
            "json",
            "--baseline",
        ])
        .arg(&base));
    assert_eq!(r.code, 0, "{}\n{}", r.stdout, r.stderr);
    let report = r.json();
    assert_eq!(paths(&report), ["auths/new-dead.json"]);
    assert_eq!(
        skipped(&report),
        [(
            "auths/moved.json".to_owned(),
            "unchanged since the baseline".to_owned()
        )]
    );
    assert_eq!(names(&t), [LIVE, "auths/moved.json"]);
    assert_eq!(t.git(&["status", "--porcelain"]), "");
    t.git(&["fsck", "--strict"]);
}

#[test]
fn a_baseline_of_another_kind_of_source_or_a_filtered_one_is_exit_2() {
    let t = TestRepo::new();
    t.write_json(DEAD, &codex_dead("carol@example.com", "acct-3"));
    t.commit_all("initial");
    let dir_base = t.home().join("dir.json");
    run(t
        .credman()
        .args(["scan", "--offline", "--dir", "auths", "--report"])
        .arg(&dir_base));
    let r = run(t
        .credman()
        .args(["scan", "--offline", "--baseline"])
        .arg(&dir_base));
    assert_eq!(r.code, 2, "{}", r.stderr);
    assert!(r.stderr.contains("report of a folder"), "{}", r.stderr);
    assert_eq!(r.stderr.trim().lines().count(), 1, "{}", r.stderr);

    let base = t.home().join("base.json");
    run(t
        .credman()
        .args(["scan", "--offline", "--report"])
        .arg(&base));
    let filtered = t.home().join("filtered.json");
    run(t
        .credman()
        .args(["scan", "--offline", "--baseline"])
        .arg(&base)
        .arg("--report")
        .arg(&filtered));
    let r = run(t
        .credman()
        .args(["scan", "--offline", "--baseline"])
        .arg(&filtered));
    assert_eq!(r.code, 2, "{}", r.stderr);
    assert!(
        r.stderr.contains("itself limited by a baseline"),
        "{}",
        r.stderr
    );
}

#[test]
fn a_malformed_pin_line_is_exit_2_naming_file_and_line() {
    let t = pinned_pool();
    t.write(".credmanignore", "auths/a.json # ok\nfp:123 # too short\n");
    for args in [
        &["scan", "--offline"][..],
        &["prune", "--offline", "--no-sign"][..],
    ] {
        let r = run(t.credman().args(args));
        assert_eq!(r.code, 2, "{args:?}: {}", r.stderr);
        assert_eq!(r.stderr.trim().lines().count(), 1, "{}", r.stderr);
        assert!(
            r.stderr.contains(".credmanignore:2: "),
            "{args:?}: {}",
            r.stderr
        );
    }
    // Nothing was removed.
    assert_eq!(names(&t), [".credmanignore", DEAD, LIVE, PINNED]);
    // credman.ignoreFile names another file (relative to the root); a named file must exist.
    t.write("pins.txt", "auths/codex-dead.json\n");
    t.git(&["config", "credman.ignoreFile", "pins.txt"]);
    let r = scan_json(&t, &[]);
    assert_eq!(result(&r.json(), DEAD)["pinned"], "");
    let r = run(t
        .credman()
        .args(["scan", "--offline", "--ignore-file", "nope.txt"]));
    assert_eq!(r.code, 2, "{}", r.stderr);
    assert!(r.stderr.contains("nope.txt"), "{}", r.stderr);
}

#[test]
fn a_pinned_file_is_never_disabled_or_deleted_on_the_server() {
    use crate::support::cpa::{Cpa, STATUS};
    let key = format!("mk-{}", noise("management-key", 48));
    let cpa = Cpa::start(&key);
    let t = TestRepo::bare_dir();
    cpa.put(
        "codex-dead.json",
        serde_json::json!("1"),
        &codex_dead("d@example.com", "acct-d"),
    );
    cpa.put(
        "codex-ops.json",
        serde_json::json!("2"),
        &codex_dead("o@example.com", "acct-o"),
    );
    // In server mode the pin file is only the one named; its paths are the server's names.
    std::fs::write(t.home().join("pins"), "codex-ops.json # on call\n").unwrap();
    let url = cpa.url();
    let prune = |extra: &[&str]| {
        let mut args = vec![
            "prune",
            "--server",
            &url,
            "--download",
            "--offline",
            "--ignore-file",
            "pins",
            "--format",
            "json",
        ];
        args.extend_from_slice(extra);
        run(t
            .credman_in(t.home())
            .env("GIT_CREDMAN_MANAGEMENT_KEY", &key)
            .args(&args))
    };
    for extra in [&["--dry-run"][..], &["--dry-run", "--delete"][..]] {
        let r = prune(extra);
        assert_eq!(r.code, 0, "{extra:?}: {}", r.stderr);
        let report = r.json();
        assert_eq!(paths(&report), ["codex-dead.json"], "{extra:?}");
        assert_eq!(
            skipped(&report),
            [("codex-ops.json".to_owned(), "pinned: on call".to_owned())]
        );
    }
    let r = prune(&[]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert!(cpa.is_disabled("codex-dead.json"));
    assert!(!cpa.is_disabled("codex-ops.json"));
    let patches = cpa.requests_to("PATCH", STATUS);
    assert_eq!(patches.len(), 1);
    assert!(
        !patches[0].body.contains("codex-ops"),
        "{}",
        patches[0].body
    );
}

fn identity(report: &Value, path: &str) -> String {
    result(report, path)["identity"]
        .as_str()
        .unwrap()
        .to_owned()
}

#[test]
fn an_identity_pin_survives_a_rename_and_cpas_rewrite_of_the_tokens() {
    let t = pinned_pool();
    let before = scan_json(&t, &[]).json();
    let id = identity(&before, DEAD);
    let fp = fingerprint(&before, DEAD);
    assert_eq!(id.len(), 12);
    // Three accounts, three identities; the key is a hash and the account stays masked.
    let ids: std::collections::HashSet<_> =
        [LIVE, PINNED, DEAD].map(|p| identity(&before, p)).into();
    assert_eq!(ids.len(), 3);
    assert_eq!(result(&before, DEAD)["account"], "c***@example.com");
    let whole = before.to_string();
    assert!(
        !whole.contains("carol@") && !whole.contains("acct-3"),
        "{whole}"
    );

    t.write(".credmanignore", format!("id:{id} # carol's account\n"));
    // CPA rewrites the file (a new token, written again later) and someone renames it.
    t.git(&["mv", DEAD, "auths/renamed.json"]);
    let mut rewritten = codex_dead("carol@example.com", "acct-3");
    rewritten["last_refresh"] = rfc_in(-3600).into();
    t.write_json("auths/renamed.json", &rewritten);
    t.commit_all("rename and rewrite");
    let after = scan_json(&t, &[]).json();
    assert_ne!(fingerprint(&after, "auths/renamed.json"), fp, "a new token");
    assert_eq!(
        identity(&after, "auths/renamed.json"),
        id,
        "the same account"
    );
    assert_eq!(
        result(&after, "auths/renamed.json")["pinned"],
        "carol's account"
    );

    let r = run(t
        .credman()
        .args(["prune", "--offline", "--no-sign", "--format", "json"]));
    assert_eq!(r.code, 0, "{}\n{}", r.stdout, r.stderr);
    let report = r.json();
    assert_eq!(paths(&report), [PINNED]);
    assert_eq!(
        skipped(&report),
        [(
            "auths/renamed.json".to_owned(),
            "pinned: carol's account".to_owned()
        )]
    );
    assert_eq!(names(&t), [".credmanignore", LIVE, "auths/renamed.json"]);
    t.git(&["fsck", "--strict"]);
    // The prune commit's embedded report carries the identity of what it removed.
    let msg = t.git(&["log", "-1", "--format=%B"]);
    let embedded = embedded_report(&msg);
    assert_eq!(
        embedded["results"][0]["identity"],
        identity(&before, PINNED).as_str()
    );
}

#[test]
fn a_baseline_counts_a_rewritten_file_of_the_same_account_as_unchanged() {
    let t = TestRepo::new();
    t.write_json(LIVE, &codex_live("alice@example.com", "acct-1", "plus"));
    t.write_json(DEAD, &codex_dead("carol@example.com", "acct-3"));
    t.commit_all("initial");
    let base = t.home().join("base.json");
    run(t
        .credman()
        .args(["scan", "--offline", "--report"])
        .arg(&base));
    // CPA refreshes the live one (new access and refresh tokens) and renames nothing; the
    // dead one is rewritten with a new token of the same account; a third account appears.
    t.write_json(LIVE, &codex_live("alice@example.com", "acct-1", "plus"));
    t.write_json(DEAD, &codex_dead("carol@example.com", "acct-3"));
    t.write_json(
        "auths/codex-other.json",
        &codex_dead("dan@example.com", "acct-4"),
    );
    t.commit_all("rewrite");
    let r = scan_json(&t, &["--baseline", base.to_str().unwrap()]);
    assert_eq!(r.code, 1, "{}\n{}", r.stdout, r.stderr);
    let report = r.json();
    assert_eq!(paths(&report), ["auths/codex-other.json"]);
    assert_eq!(report["baseline"]["unchanged"], 2);
    assert_eq!(report["baseline"]["changed"], 1);
    validate_report(&report);
}
