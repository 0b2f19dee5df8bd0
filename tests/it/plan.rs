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

// ---- sharded runs: scan --shard K/N, report merge, prune --from-report ----

/// A pool of 24 codex credentials, every third one dead, with no duplicates.
fn big_pool() -> TestRepo {
    let t = TestRepo::new();
    for i in 0..24 {
        let (email, account) = (format!("user{i}@example.com"), format!("acct-{i}"));
        let v = if i % 3 == 0 {
            codex_dead(&email, &account)
        } else {
            codex_live(&email, &account, "plus")
        };
        t.write_json(&format!("auths/codex-{i:02}.json"), &v);
    }
    t.commit_all("pool");
    t
}

/// What a result says about its file, without the per-scan duplicate fields.
fn essence(report: &Value) -> Vec<(String, String, String, String)> {
    report["results"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| {
            let s = |k: &str| r[k].as_str().unwrap_or("").to_owned();
            (s("path"), s("status"), s("blob"), s("fingerprint"))
        })
        .collect()
}

fn merge(t: &TestRepo, files: &[&Path]) -> Run {
    let mut args = vec!["report".to_owned(), "merge".to_owned()];
    args.extend(files.iter().map(|f| f.display().to_string()));
    run(t.credman().args(&args))
}

#[test]
fn four_shards_cover_the_unsharded_scan_and_merge_into_it() {
    let t = big_pool();
    let whole = read_report(&review(&t, "whole.json", &[]));
    let mut shards = Vec::new();
    let mut union = Vec::new();
    for k in 1..=4 {
        let file = review(
            &t,
            &format!("shard-{k}.json"),
            &["--shard", &format!("{k}/4")],
        );
        let doc = read_report(&file);
        assert_eq!(doc["source"]["shard"], format!("{k}/4"));
        assert_eq!(doc["source"]["commit"], whole["source"]["commit"]);
        assert_eq!(
            doc["summary"]["total"],
            doc["results"].as_array().unwrap().len()
        );
        union.extend(essence(&doc));
        shards.push(file);
    }
    union.sort();
    // Disjoint (no path twice) and complete: exactly the unsharded scan.
    assert_eq!(union, essence(&whole));
    // Stable: the same shard again lists the same files.
    let again = read_report(&review(&t, "again.json", &["--shard", "3/4"]));
    assert_eq!(essence(&again), essence(&read_report(&shards[2])));

    let refs: Vec<&Path> = shards
        .iter()
        .rev()
        .map(std::path::PathBuf::as_path)
        .collect();
    let r = merge(&t, &refs);
    assert_eq!(r.code, 0, "{}", r.stderr);
    let merged = r.json(); // validated against the schema
    assert_eq!(essence(&merged), essence(&whole));
    assert_eq!(merged["summary"], whole["summary"]);
    assert!(merged["source"].get("shard").is_none());
    assert_eq!(merged["source"]["commit"], whole["source"]["commit"]);
}

#[test]
fn a_merged_report_applies_like_a_direct_prune() {
    let t = big_pool();
    let clone = t.tmp.path().join("clone");
    t.git(&[
        "clone",
        "-q",
        t.root.to_str().unwrap(),
        clone.to_str().unwrap(),
    ]);
    let shards: Vec<_> = (1..=4)
        .map(|k| review(&t, &format!("s{k}.json"), &["--shard", &format!("{k}/4")]))
        .collect();
    let refs: Vec<&Path> = shards.iter().map(std::path::PathBuf::as_path).collect();
    let r = merge(&t, &refs);
    assert_eq!(r.code, 0, "{}", r.stderr);
    let all = t.tmp.path().join("all.json");
    std::fs::write(&all, &r.stdout).unwrap();

    let applied = apply(&t, &all, &[]);
    assert_eq!(applied.code, 0, "{}", applied.stderr);
    assert_eq!(applied.json()["prune"]["removed"], 8);
    let direct = run(t
        .credman_in(&clone)
        .args(["prune", "--offline", "--format", "json"]));
    assert_eq!(direct.code, 0, "{}", direct.stderr);
    assert_eq!(paths(&applied.json()), paths(&direct.json()));
    let names = |dir: &Path| git_in(t.home(), dir, &["ls-tree", "-r", "--name-only", "HEAD"]);
    assert_eq!(names(&t.root), names(&clone));
    assert_eq!(names(&t.root).lines().count(), 16);
    assert_clean(&t, "2");
    git_in(t.home(), &clone, &["fsck", "--strict"]);
}

#[test]
fn merge_refuses_shards_of_different_commits_duplicates_and_missing_shards() {
    let t = big_pool();
    let s1 = review(&t, "s1.json", &["--shard", "1/2"]);
    let s2 = review(&t, "s2.json", &["--shard", "2/2"]);
    let one_line = |r: &Run, needle: &str| {
        assert_eq!(r.code, 2, "{}", r.stderr);
        assert_eq!(r.stderr.lines().count(), 1, "{}", r.stderr);
        assert!(r.stderr.contains(needle), "{}", r.stderr);
        assert!(r.stdout.is_empty(), "{}", r.stdout);
    };
    one_line(&merge(&t, &[&s1]), "shard 2/2 is missing");
    one_line(&merge(&t, &[&s1, &s1, &s2]), "both shard 1/2");
    t.write_json("auths/new.json", &codex_dead("new@example.com", "acct-new"));
    t.commit_all("more");
    let s2_later = review(&t, "s2-later.json", &["--shard", "2/2"]);
    one_line(&merge(&t, &[&s1, &s2_later]), "source.commit differs");
    let whole = review(&t, "whole.json", &[]);
    one_line(&merge(&t, &[&s1, &whole]), "differs");
    let mut edited = read_report(&s2);
    edited["results"]
        .as_array_mut()
        .unwrap()
        .push(read_report(&s1)["results"][0].clone());
    let dup = t.tmp.path().join("dup.json");
    std::fs::write(&dup, serde_json::to_vec(&edited).unwrap()).unwrap();
    one_line(&merge(&t, &[&s1, &dup]), "is in both");
    one_line(
        &merge(&t, &[&t.tmp.path().join("nope.json")]),
        "cannot read the report",
    );
    assert_eq!(merge(&t, &[]).code, 2);
}

#[test]
fn invalid_shard_values_exit_2_with_one_line() {
    let t = big_pool();
    for bad in ["0/4", "5/4", "4", "a/b", "1/0", "-1/4"] {
        let r = run(t
            .credman()
            .args(["scan", "--offline", &format!("--shard={bad}")]));
        assert_eq!(r.code, 2, "{bad}: {}", r.stderr);
        assert_eq!(r.stderr.lines().count(), 1, "{bad}: {}", r.stderr);
        assert!(r.stderr.contains("K/N"), "{}", r.stderr);
    }
}

// ---- the matrix workflow ----

fn workflow_text() -> String {
    std::fs::read_to_string(crate::actions::root().join("hooks/github/credman-sharded.yml"))
        .unwrap()
}

#[test]
fn sharded_workflow_passes_actionlint_and_zizmor() {
    let out = crate::actions::actionlint(
        &crate::actions::root(),
        Path::new("hooks/github/credman-sharded.yml"),
    );
    assert!(
        out.status.success(),
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    let text = workflow_text();
    // No audit is ignored in this one.
    assert!(!text.contains("zizmor: ignore"));
    if let Some((ok, findings)) = crate::actions::zizmor(&[("credman-sharded.yml", text)]) {
        assert!(ok && findings.is_empty(), "zizmor: {findings:?}");
    }
}

#[test]
fn sharded_workflow_scans_every_shard_then_merges_then_prunes() {
    let wf: serde_yaml::Value = serde_yaml::from_str(&workflow_text()).unwrap();
    let n: u64 = wf["env"]["SHARDS"].as_str().unwrap().parse().unwrap();
    let shards: Vec<u64> = wf["jobs"]["scan"]["strategy"]["matrix"]["shard"]
        .as_sequence()
        .unwrap()
        .iter()
        .map(|v| v.as_u64().unwrap())
        .collect();
    assert_eq!(
        shards,
        (1..=n).collect::<Vec<_>>(),
        "the matrix must be shards 1..=SHARDS"
    );
    assert_eq!(wf["jobs"]["merge"]["needs"], "scan");
    assert_eq!(wf["jobs"]["prune"]["needs"], "merge");
    let script = |job: &str| -> String {
        wf["jobs"][job]["steps"]
            .as_sequence()
            .unwrap()
            .iter()
            .filter_map(|s| s["run"].as_str())
            .collect()
    };
    assert!(script("scan").contains("scan --shard \"$SHARD/$SHARDS\""));
    assert!(script("merge").contains("report merge shards/shard-*.json > all.json"));
    assert!(script("prune").contains("--from-report \"$RUNNER_TEMP/plan/all.json\""));
    // Only the prune job may write, and no job but it sees the signing key.
    assert!(wf["permissions"].as_mapping().unwrap().is_empty());
    assert_eq!(wf["jobs"]["prune"]["permissions"]["contents"], "write");
    assert_eq!(wf["jobs"]["scan"]["permissions"]["contents"], "read");
    assert!(!script("scan").contains("secrets") && !script("merge").contains("secrets"));
}
