//! Plan / apply (`scan --report plan.json`, then `prune --from-report plan.json`) and sharded
//! runs (`scan --shard K/N`, `report merge`) against real repositories, verified with git.

use std::path::Path;

use serde_json::{Value, json};

use crate::support::*;

const LIVE: &str = "auths/codex-live.json";
const DEAD_A: &str = "auths/codex-dead-a.json";
const DEAD_B: &str = "auths/codex-dead-b.json";

/// A repository with one live and two dead (expired, no refresh token) codex credentials.
fn pool() -> TestRepo {
    let t = TestRepo::new();
    t.write_json(LIVE, &codex_live("alice@example.com", "acct-1", "plus"));
    t.write_json(DEAD_A, &codex_dead("carol@example.com", "acct-2"));
    t.write_json(DEAD_B, &codex_dead("dave@example.com", "acct-3"));
    t.write("README.md", "auth repo\n");
    t.commit_all("initial");
    t
}

/// `scan --offline --report FILE` into the temp dir (outside the repository); returns its path.
fn review(t: &TestRepo, name: &str, extra: &[&str]) -> std::path::PathBuf {
    let file = t.tmp.path().join(name);
    let mut args = vec!["scan", "--offline", "--format", "json", "--report"];
    let shown = file.display().to_string();
    args.push(&shown);
    args.extend_from_slice(extra);
    let r = run(t.credman().args(&args));
    assert!(r.code <= 1, "scan failed: {}", r.stderr);
    file
}

fn apply(t: &TestRepo, report: &Path, extra: &[&str]) -> Run {
    let shown = report.display().to_string();
    let mut args = vec!["prune", "--format", "json", "--from-report", &shown];
    args.extend_from_slice(extra);
    run(t.credman().args(&args))
}

fn tree_names(t: &TestRepo) -> Vec<String> {
    t.git(&["ls-tree", "-r", "--name-only", "HEAD"])
        .lines()
        .map(str::to_owned)
        .collect()
}

/// The repository is consistent after a prune: fsck, a clean status, one new commit.
fn assert_clean(t: &TestRepo, commits: &str) {
    t.git(&["fsck", "--strict"]);
    assert_eq!(t.git(&["status", "--porcelain"]), "");
    assert_eq!(t.git(&["rev-list", "--count", "HEAD"]).trim(), commits);
}

fn skipped(report: &Value) -> Vec<(String, String)> {
    report["prune"]["skipped"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| {
            (
                s["path"].as_str().unwrap().to_owned(),
                s["reason"].as_str().unwrap().to_owned(),
            )
        })
        .collect()
}

fn edit(file: &Path, f: impl FnOnce(&mut Value)) {
    let mut doc: Value = serde_json::from_slice(&std::fs::read(file).unwrap()).unwrap();
    f(&mut doc);
    std::fs::write(file, serde_json::to_vec_pretty(&doc).unwrap()).unwrap();
}

#[test]
fn review_then_apply_removes_exactly_the_reviewed_files() {
    let t = pool();
    let plan = review(&t, "plan.json", &[]);
    let r = apply(&t, &plan, &[]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    let report = r.json();
    assert_eq!(paths(&report), [DEAD_A, DEAD_B]);
    assert_eq!(report["prune"]["removed"], 2);
    assert_eq!(tree_names(&t), ["README.md", LIVE]);
    assert!(!t.root.join(DEAD_A).exists() && t.root.join(LIVE).exists());
    assert_clean(&t, "2");
    // The commit carries the report, readable by `show`.
    let shown = run(t.credman().args(["show", "--format", "json"]));
    assert_eq!(shown.code, 0, "{}", shown.stderr);
    assert_eq!(paths(&shown.json()["report"]), [DEAD_A, DEAD_B]);
}

#[test]
fn a_dry_run_plan_is_a_reviewable_report_too() {
    let t = pool();
    let plan = t.tmp.path().join("dry.json");
    let shown = plan.display().to_string();
    let r = run(t
        .credman()
        .args(["prune", "--offline", "--dry-run", "--report", &shown]));
    assert_eq!(r.code, 0, "{}", r.stderr);
    let r = apply(&t, &plan, &[]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert_eq!(tree_names(&t), ["README.md", LIVE]);
    assert_clean(&t, "2");
}

#[test]
fn a_file_rewritten_between_scan_and_apply_is_kept() {
    let t = pool();
    let plan = review(&t, "plan.json", &[]);
    // Someone replaces DEAD_A with a fresh login after the review, and adds another dead file.
    t.write_json(DEAD_A, &codex_live("carol@example.com", "acct-2", "plus"));
    t.write_json(
        "auths/codex-dead-c.json",
        &codex_dead("erin@example.com", "acct-4"),
    );
    t.commit_all("refresh carol");
    let r = apply(&t, &plan, &[]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    let report = r.json();
    assert_eq!(paths(&report), [DEAD_B]);
    let why = skipped(&report);
    assert_eq!(why.len(), 2, "{why:?}");
    assert_eq!(why[0].0, DEAD_A);
    assert!(
        why[0].1.starts_with("changed since the report (blob "),
        "{why:?}"
    );
    assert_eq!(
        why[1],
        ("auths/codex-dead-c.json".into(), "not in the report".into())
    );
    assert_eq!(
        tree_names(&t),
        ["README.md", DEAD_A, "auths/codex-dead-c.json", LIVE]
    );
    assert_clean(&t, "3");
}

#[test]
fn a_file_gone_since_the_report_is_reported_not_an_error() {
    let t = pool();
    let plan = review(&t, "plan.json", &[]);
    t.git(&["rm", "-q", DEAD_B]);
    t.git(&["commit", "-q", "-m", "drop dave"]);
    let r = apply(&t, &plan, &[]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    let report = r.json();
    assert_eq!(paths(&report), [DEAD_A]);
    assert_eq!(skipped(&report)[0].0, DEAD_B);
    assert!(
        skipped(&report)[0]
            .1
            .starts_with("not in the tree any more")
    );
    assert_clean(&t, "3");
}

#[test]
fn an_edited_report_cannot_remove_a_live_file_whose_content_was_not_reviewed() {
    let t = pool();
    let plan = review(&t, "plan.json", &[]);
    // The attack: copy a dead entry onto the live file's path (and add a file the scan never
    // saw, with a made-up blob).
    edit(&plan, |doc| {
        let results = doc["results"].as_array_mut().unwrap();
        let dead = results
            .iter()
            .find(|r| r["path"] == DEAD_A)
            .unwrap()
            .clone();
        results.retain(|r| r["path"] != LIVE);
        let mut forged = dead.clone();
        forged["path"] = json!(LIVE);
        results.push(forged);
        let mut made_up = dead;
        made_up["path"] = json!("README.md");
        made_up["blob"] = json!("0".repeat(40));
        results.push(made_up);
    });
    let r = apply(&t, &plan, &[]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    let report = r.json();
    assert_eq!(paths(&report), [DEAD_A, DEAD_B]);
    let why = skipped(&report);
    let live = why.iter().find(|(p, _)| p == LIVE).unwrap();
    assert!(live.1.starts_with("changed since the report"), "{why:?}");
    // README.md is no credential the scan lists: "not in the tree" as far as the scan knows.
    assert!(why.iter().any(|(p, _)| p == "README.md"), "{why:?}");
    assert_eq!(tree_names(&t), ["README.md", LIVE]);
    assert_clean(&t, "2");
}

#[test]
fn the_reviewed_verdict_counts_not_the_current_scan() {
    let t = pool();
    let plan = review(&t, "plan.json", &[]);
    // Reviewers decided DEAD_B stays (say it was renewed out of band); and the live file was
    // found invalidated online. The reviewed verdicts are what the prune acts on.
    edit(&plan, |doc| {
        for r in doc["results"].as_array_mut().unwrap() {
            if r["path"] == DEAD_B {
                r["status"] = json!("active");
                r["class"] = json!("alive");
            }
            if r["path"] == LIVE {
                r["status"] = json!("invalidated");
                r["class"] = json!("dead");
                r["reason"] = json!("401 token revoked");
                r["http_status"] = json!(401);
            }
        }
    });
    let r = apply(&t, &plan, &[]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    let report = r.json();
    assert_eq!(paths(&report), [DEAD_A, LIVE]);
    let live = result(&report, LIVE);
    assert_eq!(live["status"], "invalidated");
    assert_eq!(live["http_status"], 401);
    // Listed in the report with another status: not "skipped", the review decided.
    assert!(skipped(&report).is_empty(), "{:?}", skipped(&report));
    assert_eq!(tree_names(&t), ["README.md", DEAD_B]);
    assert_clean(&t, "2");
}

#[test]
fn the_breaker_and_the_status_guard_still_apply() {
    let t = pool();
    let plan = review(&t, "plan.json", &[]);
    let r = apply(&t, &plan, &["--max-delete", "1"]);
    assert_eq!(r.code, 3, "{}", r.stderr);
    let r = apply(&t, &plan, &["--status", "unverified"]);
    assert_eq!(r.code, 2, "{}", r.stderr);
    assert!(r.stderr.contains("--force"), "{}", r.stderr);
    assert_eq!(tree_names(&t).len(), 4);
    assert_clean(&t, "1");
}

#[test]
fn a_report_of_another_kind_of_source_or_no_report_is_refused() {
    let t = pool();
    let dir = review(&t, "dir.json", &["--dir", "auths"]);
    let r = apply(&t, &dir, &[]);
    assert_eq!(r.code, 2, "{}", r.stderr);
    assert_eq!(r.stderr.lines().count(), 1, "{}", r.stderr);
    assert!(
        r.stderr.contains("of a dir source") && r.stderr.contains("git credman scan --report"),
        "{}",
        r.stderr
    );
    let junk = t.tmp.path().join("junk.json");
    std::fs::write(&junk, "{\"schema_version\": 1}").unwrap();
    let r = apply(&t, &junk, &[]);
    assert_eq!(r.code, 2, "{}", r.stderr);
    assert_eq!(r.stderr.lines().count(), 1, "{}", r.stderr);
    assert!(
        r.stderr.contains("not a git-credman JSON report"),
        "{}",
        r.stderr
    );
    let r = apply(&t, &t.tmp.path().join("absent.json"), &[]);
    assert_eq!(r.code, 2, "{}", r.stderr);
    // A finished prune's report is history, not a plan.
    let plan = review(&t, "plan.json", &[]);
    let done = t.tmp.path().join("done.json");
    let r = apply(&t, &plan, &["--report", &done.display().to_string()]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    let r = apply(&t, &done, &[]);
    assert_eq!(r.code, 2, "{}", r.stderr);
    assert!(r.stderr.contains("already ran"), "{}", r.stderr);
    assert_clean(&t, "2");
}
