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
