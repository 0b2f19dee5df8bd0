//! `git credman history` (issue #15 item 1) on real repositories with removed, rewritten,
//! renamed and copied credential files, built with the git CLI.

use serde_json::Value;

use crate::support::*;

fn history(t: &TestRepo, extra: &[&str]) -> Run {
    let mut args = vec!["history", "--offline", "--format", "json"];
    args.extend_from_slice(extra);
    run(t.credman().args(&args))
}

fn rev(t: &TestRepo, r: &str) -> String {
    t.git(&["rev-parse", r]).trim().to_owned()
}

/// Returns (repository, every planted credential, the commit that removed a.json and the one
/// that rewrote c.json).
fn repo_with_history() -> (TestRepo, Vec<Value>, String, String) {
    let t = TestRepo::new();
    let a = codex_live("a@example.com", "acct-a", "plus");
    let b = codex_dead("b@example.com", "acct-b");
    let c_old = codex_live("c@example.com", "acct-c", "plus");
    let c_new = codex_live("c@example.com", "acct-c", "plus");
    let d = codex_live("d@example.com", "acct-d", "plus");
    t.write_json("auths/a.json", &a);
    t.write_json("auths/b.json", &b);
    t.write_json("auths/c.json", &c_old);
    t.write_json("auths/d.json", &d);
    t.write("README.md", "pool\n");
    t.commit_all("initial");
    // A copy of a's token under another name, later removed too: one credential, two blobs.
    let mut a_copy = a.clone();
    a_copy["label"] = Value::from("copy");
    t.write_json("backup/a-copy.json", &a_copy);
    t.commit_all("backup");
    t.git(&["rm", "-q", "backup/a-copy.json"]);
    t.commit_all("drop backup");
    t.git(&["rm", "-q", "auths/a.json", "auths/b.json"]);
    t.commit_all("remove a and b");
    let removed_a = rev(&t, "HEAD");
    // CPA rewrote c.json with a new token: the old blob is history only.
    t.write_json("auths/c.json", &c_new);
    t.commit_all("refresh c");
    let rewrote_c = rev(&t, "HEAD");
    // A rename keeps the blob in HEAD: not history only.
    t.git(&["mv", "auths/d.json", "auths/d2.json"]);
    t.commit_all("rename d");
    (t, vec![a, b, c_old, c_new, d, a_copy], removed_a, rewrote_c)
}

#[test]
fn history_reports_live_removed_and_rewritten_credentials_once_each_never_a_token() {
    let (t, planted, removed_a, rewrote_c) = repo_with_history();
    let r = history(&t, &[]);
    assert_eq!(r.code, 1, "{}\n{}", r.stdout, r.stderr);
    let report = r.json();
    assert_eq!(report["source"]["kind"], "history");
    assert_eq!(report["source"]["refs"], "HEAD");
    assert_eq!(report["summary"]["commits"], 6);
    // a.json, its copy, b.json and the old c.json: four blobs, three tokens.
    assert_eq!(report["summary"]["blobs"], 4);
    assert_eq!(report["summary"]["credentials"], 3);
    // The dead b.json is not an exposure.
    assert_eq!(paths(&report), ["auths/a.json", "auths/c.json"]);
    let a = result(&report, "auths/a.json");
    assert_eq!(a["removed_in"], removed_a.as_str());
    assert_eq!(a["removed_by"], "Test Author <author@example.com>");
    assert_eq!(a["removed_at"], "2026-01-01T00:00:00Z");
    assert_eq!(a["copies"], 1);
    assert_eq!(a["account"], "a***@example.com");
    let c = result(&report, "auths/c.json");
    assert_eq!(c["removed_in"], rewrote_c.as_str());
    assert_eq!(c["copies"], 0);
    let text = run(t.credman().args(["history", "--offline"]));
    assert_eq!(text.code, 1);
    assert!(
        text.stdout.contains("Still live in history (2)"),
        "{}",
        text.stdout
    );
    assert!(text.stdout.contains("revoke"), "{}", text.stdout);
    for secret in planted.iter().flat_map(secrets_of) {
        for out in [&r.stdout, &r.stderr, &text.stdout, &text.stderr] {
            assert!(!out.contains(&secret), "a token leaked");
        }
    }
}

#[test]
fn history_since_and_all_choose_the_commits_walked() {
    let (t, _, _, _) = repo_with_history();
    // Every commit is dated 2026-01-01: a later --since walks them but takes none.
    let r = history(&t, &["--since", "2026-01-02"]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert!(paths(&r.json()).is_empty());
    assert_eq!(r.json()["source"]["since"], "2026-01-02T00:00:00Z");
    let r = history(&t, &["--since", "2025-12-31T00:00:00Z"]);
    assert_eq!(paths(&r.json()), ["auths/a.json", "auths/c.json"]);
    let r = history(&t, &["--since", "last tuesday"]);
    assert_eq!(r.code, 2, "{}", r.stderr);
    // A live file removed on another branch is found only with --all.
    t.git(&["checkout", "-q", "-b", "side"]);
    t.write_json(
        "auths/side.json",
        &codex_live("s@example.com", "acct-s", "plus"),
    );
    t.commit_all("side add");
    t.git(&["rm", "-q", "auths/side.json"]);
    t.commit_all("side remove");
    t.git(&["checkout", "-q", "main"]);
    assert!(!paths(&history(&t, &[]).json()).contains(&"auths/side.json".to_owned()));
    let r = history(&t, &["--all"]);
    let report = r.json();
    assert_eq!(report["source"]["refs"], "--all");
    assert!(
        paths(&report).contains(&"auths/side.json".to_owned()),
        "{report:#}"
    );
    // The same through git config.
    t.git(&["config", "credman.historyAll", "true"]);
    assert!(paths(&history(&t, &[]).json()).contains(&"auths/side.json".to_owned()));
    // A pathspec limits the paths looked at.
    let r = history(&t, &["auths/c.json"]);
    assert_eq!(paths(&r.json()), ["auths/c.json"]);
}

#[test]
fn history_of_a_repository_without_removals_is_clean() {
    let t = TestRepo::new();
    t.write_json(
        "auths/a.json",
        &codex_live("a@example.com", "acct-a", "plus"),
    );
    t.commit_all("initial");
    let r = history(&t, &[]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert_eq!(r.json()["summary"]["blobs"], 0);
    let text = run(t.credman().args(["history", "--offline"]));
    assert!(
        text.stdout.contains("OK: no live credential"),
        "{}",
        text.stdout
    );
}

/// Online, a token the provider rejects is no exposure; one it accepts is. A file and its copy
/// are one credential in the report (each blob is still checked: the scan pipeline probes per
/// file).
#[tokio::test(flavor = "multi_thread")]
async fn history_online_lists_only_what_the_provider_does_not_reject() {
    use crate::support::providers::{codex_answers, endpoint_args};
    let providers = wiremock::MockServer::start().await;
    let (t, planted, _, _) = repo_with_history();
    // planted: a, b (dead offline: never asked), c_old, c_new (in HEAD: never asked), d, a_copy.
    codex_answers(&providers, &planted[0], 200, 2).await;
    codex_answers(&providers, &planted[2], 401, 1).await;
    let eps = endpoint_args(&providers.uri());
    let r = run(t
        .credman()
        .args(["history", "--format", "json", "--concurrency", "1"])
        .args(&eps));
    assert_eq!(r.code, 1, "{}\n{}", r.stdout, r.stderr);
    let report = r.json();
    assert_eq!(report["mode"], "online");
    assert_eq!(paths(&report), ["auths/a.json"]);
    assert_eq!(result(&report, "auths/a.json")["status"], "active");
    for secret in planted.iter().flat_map(secrets_of) {
        assert!(!r.stdout.contains(&secret) && !r.stderr.contains(&secret));
    }
}

/// `git fast-import` of `stream` into the repository (hundreds of commits in one process).
fn fast_import(t: &TestRepo, stream: &[u8]) {
    use std::io::Write as _;
    let mut child = std::process::Command::new("git")
        .args(["fast-import", "--quiet"])
        .current_dir(&t.root)
        .env_clear()
        .envs(scrubbed_env(t.home()))
        .stdin(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    child.stdin.take().unwrap().write_all(stream).unwrap();
    assert!(child.wait().unwrap().success());
    t.git(&["reset", "-q", "--hard", "main"]);
}

/// git's own answer: for each blob that a commit removed or replaced under `auths/` (the old
/// side of its `--raw` diff against its first parent), the first such commit in `git log`'s
/// order, which for a linear history is the newest.
fn removals_by_git(t: &TestRepo) -> std::collections::HashMap<String, String> {
    let log = t.git(&[
        "log",
        "--first-parent",
        "--raw",
        "--no-abbrev",
        "--no-renames",
        "--format=commit %H",
        "--",
        "auths",
    ]);
    let mut out = std::collections::HashMap::new();
    let mut commit = String::new();
    for line in log.lines() {
        if let Some(c) = line.strip_prefix("commit ") {
            c.clone_into(&mut commit);
        } else if let Some(raw) = line.strip_prefix(':') {
            let old = raw.split_whitespace().nth(2).unwrap();
            if !old.bytes().all(|b| b == b'0') {
                out.entry(old.to_owned()).or_insert_with(|| commit.clone());
            }
        }
    }
    out
}

/// 700 commits, all at the same time (so the walk order alone picks the newest removal): each
/// adds a credential and removes the previous one, and one credential (the same blob) is added
/// and removed twice, 500 commits apart. Long enough for the walk to split the commits between
/// threads (runs of at least 256); the answer must be git's, blob for blob, with the removal of
/// the twice-removed blob from the later run (the one walked first), not the earlier.
#[test]
fn history_of_a_long_history_matches_git_for_every_blob() {
    let t = TestRepo::new();
    let mut s = Vec::new();
    let mut planted = Vec::new();
    let twice = serde_json::to_vec_pretty(&codex_live("x@example.com", "acct-x", "plus")).unwrap();
    for i in 0..700u32 {
        s.extend_from_slice(b"commit refs/heads/main\n");
        s.extend_from_slice(b"author Test Author <author@example.com> 1767225600 +0000\n");
        s.extend_from_slice(b"committer Test Committer <committer@example.com> 1767225600 +0000\n");
        let msg = format!("change {i}\n");
        s.extend_from_slice(format!("data {}\n{msg}", msg.len()).as_bytes());
        let cred = codex_live(&format!("u{i}@example.com"), &format!("acct-{i}"), "plus");
        let body = serde_json::to_vec_pretty(&cred).unwrap();
        planted.push(cred);
        s.extend_from_slice(
            format!("M 100644 inline auths/f{i}.json\ndata {}\n", body.len()).as_bytes(),
        );
        s.extend_from_slice(&body);
        s.push(b'\n');
        if i > 0 {
            s.extend_from_slice(format!("D auths/f{}.json\n", i - 1).as_bytes());
        }
        for (add, path) in [(100, "auths/x.json"), (600, "auths/y.json")] {
            if i == add {
                s.extend_from_slice(
                    format!("M 100644 inline {path}\ndata {}\n", twice.len()).as_bytes(),
                );
                s.extend_from_slice(&twice);
                s.push(b'\n');
            }
            if i == add + 10 {
                s.extend_from_slice(format!("D {path}\n").as_bytes());
            }
        }
        s.push(b'\n');
    }
    fast_import(&t, &s);
    let r = history(&t, &[]);
    assert_eq!(r.code, 1, "{}", r.stderr);
    let report = r.json();
    assert_eq!(report["summary"]["commits"], 700);
    // f0..f698 and the twice-removed blob.
    assert_eq!(report["summary"]["blobs"], 700);
    let git = removals_by_git(&t);
    assert_eq!(git.len(), 700);
    let results = report["results"].as_array().unwrap();
    assert_eq!(results.len(), 700);
    for e in results {
        let blob = e["blob"].as_str().unwrap();
        assert_eq!(
            e["removed_in"].as_str(),
            git.get(blob).map(String::as_str),
            "{e:#}"
        );
    }
    let y = result(&report, "auths/y.json");
    assert_eq!(y["removed_in"], rev(&t, "main~89").as_str());
    for secret in planted.iter().flat_map(secrets_of) {
        assert!(!r.stdout.contains(&secret) && !r.stderr.contains(&secret));
    }
}

/// A merge is diffed against its first parent: a file the merged branch removed is removed by
/// the merge (the newest removal, walked first); a file added and removed on the branch alone
/// is removed by the branch's commit.
#[test]
fn history_diffs_a_merge_against_its_first_parent() {
    let t = TestRepo::new();
    t.write_json(
        "auths/a.json",
        &codex_live("a@example.com", "acct-a", "plus"),
    );
    t.write_json(
        "auths/b.json",
        &codex_live("b@example.com", "acct-b", "plus"),
    );
    t.commit_all("initial");
    t.git(&["checkout", "-q", "-b", "side"]);
    t.git(&["rm", "-q", "auths/b.json"]);
    t.commit_all("side: remove b");
    t.write_json(
        "auths/s.json",
        &codex_live("s@example.com", "acct-s", "plus"),
    );
    t.commit_all("side: add s");
    t.git(&["rm", "-q", "auths/s.json"]);
    t.commit_all("side: remove s");
    let removed_s = rev(&t, "HEAD");
    t.git(&["checkout", "-q", "main"]);
    t.write("README.md", "pool\n");
    t.commit_all("main: readme");
    t.git(&["merge", "-q", "--no-ff", "-m", "merge side", "side"]);
    let merge = rev(&t, "HEAD");
    let report = history(&t, &[]).json();
    assert_eq!(report["summary"]["commits"], 6);
    assert_eq!(paths(&report), ["auths/b.json", "auths/s.json"]);
    assert_eq!(
        result(&report, "auths/b.json")["removed_in"],
        merge.as_str()
    );
    assert_eq!(
        result(&report, "auths/s.json")["removed_in"],
        removed_s.as_str()
    );
}
