//! Server mode (`--server`) against the mock CLIProxyAPI Management API in
//! [`crate::support::cpa`] (CPA v7.2.140, each behaviour cited there) and mock providers
//! (wiremock) reached through its `api-call` relay.

use std::path::{Path, PathBuf};

use serde_json::{Value, json};
use wiremock::matchers::{header, method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

use crate::support::cpa::*;
use crate::support::providers::*;
use crate::support::*;

/// A management key built at run time.
fn mgmt_key() -> String {
    format!("mk-{}", noise("management-key", 48))
}

/// `--endpoint` arguments for every provider origin, Google's userinfo included.
fn endpoints(base: &str) -> Vec<String> {
    let mut v = endpoint_args(base);
    v.push("--endpoint".into());
    v.push(format!("https://www.googleapis.com={base}"));
    v
}

/// Runs git-credman in the temp home (no repository) with the management key in the env.
fn credman(t: &TestRepo, key: Option<&str>, args: &[&str], extra: &[String]) -> Run {
    let mut cmd = t.credman_in(t.home());
    if let Some(k) = key {
        cmd.env("GIT_CREDMAN_MANAGEMENT_KEY", k);
    }
    cmd.args(args).args(extra);
    run(&mut cmd)
}

fn codex_named(name: &str) -> Value {
    codex_live(
        &format!("{name}@example.com"),
        &format!("acct-{name}"),
        "plus",
    )
}

/// Every file below `dir`, relative, sorted.
fn tree(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_owned()];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).unwrap() {
            let p = e.unwrap().path();
            if p.is_dir() {
                stack.push(p.clone());
            }
            out.push(p.strip_prefix(dir).unwrap().to_owned());
        }
    }
    out.sort();
    out
}

fn skipped_reason(report: &Value, name: &str) -> String {
    report["prune"]["skipped"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["path"] == name)
        .unwrap_or_else(|| panic!("{name} not skipped in {report:#}"))["reason"]
        .as_str()
        .unwrap()
        .to_owned()
}

#[tokio::test(flavor = "multi_thread")]
async fn scan_relays_checks_through_api_call_with_token_placeholder() {
    let providers = MockServer::start().await;
    let key = mgmt_key();
    let cpa = Cpa::start(&key);
    let t = TestRepo::bare_dir();

    let ok = codex_named("ok");
    let dead = codex_named("dead");
    let claude = json!({"type":"claude","email":"c@example.com","access_token": claude_access(),
        "refresh_token": claude_refresh(), "expired": rfc_in(7200)});
    let google = json!({"type":"antigravity","email":"g@example.com",
        "access_token": google_access(), "expired": rfc_in(1800)});
    cpa.put("codex-ok@example.com-plus.json", json!("a1"), &ok);
    // Old servers list auth_index as an integer.
    cpa.put("codex-dead@example.com-plus.json", json!(2), &dead);
    cpa.put("claude-c@example.com.json", json!("c3"), &claude);
    cpa.put("antigravity-g@example.com.json", json!("g4"), &google);
    // CPA's own refresh failed for this one (status error / unauthorized): its 401 is evidence.
    let claude_u = json!({"type":"claude","email":"u@example.com",
        "access_token": format!("{}-u", claude_access()),
        "refresh_token": format!("{}-u", claude_refresh()), "expired": rfc_in(7200)});
    cpa.put("claude-u@example.com.json", json!("c5"), &claude_u);
    cpa.set_status("claude-u@example.com.json", "error", "unauthorized");
    // A file in a sub-folder of the auth dir (listed as `team/…`), a runtime-only AI Studio relay
    // and a hostile name: the run goes on, each is reported with its auth_index.
    let sub = codex_named("sub");
    cpa.put("team/codex-sub@example.com-plus.json", json!("s6"), &sub);
    cpa.put_runtime("aistudio-1a2b3c4d", "r7");
    cpa.with(|s| {
        s.injected.push(
            json!({"id":"../../etc/passwd.json","name":"../../etc/passwd.json",
            "auth_index":"h8","type":"codex","provider":"codex","label":"codex","status":"active",
            "status_message":"","disabled":false,"unavailable":false,"runtime_only":false,
            "source":"file"}),
        );
    });

    // The providers only answer the REAL tokens: CPA substituted them, not git-credman.
    Mock::given(method("GET"))
        .and(path("/backend-api/wham/usage"))
        .and(header("authorization", bearer(&access_of(&ok)).as_str()))
        .and(header("chatgpt-account-id", "acct-ok"))
        .respond_with(json_resp(200, serde_json::from_str(USAGE_OK).unwrap()))
        .expect(1)
        .mount(&providers)
        .await;
    codex_answers(&providers, &dead, 401, 1).await;
    Mock::given(method("GET"))
        .and(path("/api/oauth/usage"))
        .and(header(
            "authorization",
            bearer(&access_of(&claude)).as_str(),
        ))
        .and(header("anthropic-beta", "oauth-2025-04-20"))
        .respond_with(json_resp(
            401,
            json!({"type":"error","error":{"type":"authentication_error"}}),
        ))
        .expect(1)
        .mount(&providers)
        .await;
    Mock::given(method("GET"))
        .and(path("/oauth2/v3/userinfo"))
        .and(header(
            "authorization",
            bearer(&access_of(&google)).as_str(),
        ))
        .respond_with(json_resp(200, json!({"sub":"1","email":"g@example.com"})))
        .expect(1)
        .mount(&providers)
        .await;
    Mock::given(method("GET"))
        .and(path("/api/oauth/usage"))
        .and(header(
            "authorization",
            bearer(&access_of(&claude_u)).as_str(),
        ))
        .respond_with(json_resp(
            401,
            json!({"type":"error","error":{"type":"authentication_error"}}),
        ))
        .expect(1)
        .mount(&providers)
        .await;
    Mock::given(method("GET"))
        .and(path("/backend-api/wham/usage"))
        .and(header("authorization", bearer(&access_of(&sub)).as_str()))
        .respond_with(json_resp(200, serde_json::from_str(USAGE_OK).unwrap()))
        .expect(1)
        .mount(&providers)
        .await;

    let r = credman(
        &t,
        Some(&key),
        &["scan", "--server", &cpa.url(), "--format", "json"],
        &endpoints(&providers.uri()),
    );
    assert_eq!(r.code, 1, "invalidated/unauthorized fail: {}", r.stderr);
    let report = r.json();
    assert_eq!(report["mode"], "online");
    assert_eq!(report["source"]["kind"], "server");
    assert_eq!(report["source"]["url"], cpa.url());
    let want = [
        (
            "codex-ok@example.com-plus.json",
            "active",
            "a1",
            json!(200),
            "active",
        ),
        (
            "codex-dead@example.com-plus.json",
            "invalidated",
            "2",
            json!(401),
            "active",
        ),
        // A relayed 401 while CPA says active: the refresh token was not tried, not dead.
        (
            "claude-c@example.com.json",
            "expired_refreshable",
            "c3",
            json!(401),
            "active",
        ),
        (
            "claude-u@example.com.json",
            "unauthorized",
            "c5",
            json!(401),
            "error",
        ),
        (
            "antigravity-g@example.com.json",
            "active",
            "g4",
            json!(200),
            "active",
        ),
        (
            "team/codex-sub@example.com-plus.json",
            "active",
            "s6",
            json!(200),
            "active",
        ),
        ("aistudio-1a2b3c4d", "unknown", "r7", Value::Null, "active"),
        (
            "../../etc/passwd.json",
            "unknown",
            "h8",
            Value::Null,
            "active",
        ),
    ];
    assert_eq!(report["results"].as_array().unwrap().len(), want.len());
    for (name, status, index, http, cpa_status) in want {
        let res = result(&report, name);
        assert_eq!(res["status"], status, "{name}: {res}");
        assert_eq!(res["http_status"], http, "{name}");
        assert_eq!(res["server"]["auth_index"], index, "{name}");
        assert_eq!(res["server"]["status"], cpa_status, "{name}");
        // Every stand-in holds `$TOKEN$`: that is not a shared token.
        assert_eq!(res["duplicates"], json!([]), "{name}");
    }
    let reason = |n: &str| result(&report, n)["reason"].as_str().unwrap().to_owned();
    assert!(reason("aistudio-1a2b3c4d").contains("runtime-only"));
    assert!(reason("../../etc/passwd.json").contains("not a safe relative path"));

    // git-credman sent `$TOKEN$`, never a real token, and CPA did the substitution. The
    // runtime-only and hostile entries were never relayed.
    let calls = cpa.api_calls();
    assert_eq!(calls.len(), 6);
    let mut indices: Vec<String> = calls
        .iter()
        .map(|c| c["auth_index"].as_str().unwrap().to_owned())
        .collect();
    indices.sort();
    assert_eq!(indices, ["2", "a1", "c3", "c5", "g4", "s6"]);
    for c in &calls {
        assert_eq!(c["method"], "GET");
        assert!(
            c["url"].as_str().unwrap().starts_with(&providers.uri()),
            "{c}"
        );
        assert_eq!(c["header"]["authorization"], "Bearer $TOKEN$", "{c}");
    }
    let everything: String = cpa.requests().iter().fold(String::new(), |mut all, r| {
        use std::fmt::Write as _;
        let _ = write!(all, "{} {:?} {}", r.path, r.query, r.body);
        all
    });
    for cred in [&ok, &dead, &claude, &google] {
        for secret in secrets_of(cred) {
            assert!(!everything.contains(&secret), "a token reached the server");
            assert!(!r.stdout.contains(&secret) && !r.stderr.contains(&secret));
        }
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn relay_unknown_index_and_unreachable_provider() {
    let key = mgmt_key();
    let cpa = Cpa::start(&key);
    let t = TestRepo::bare_dir();
    let providers = MockServer::start().await;
    // A listed auth_index api-call does not know (CPA reloaded in between): CPA v7 relays the
    // literal `$TOKEN$`, which the provider refuses.
    cpa.with(|s| {
        s.injected.push(
            json!({"name":"codex-stale.json","type":"codex","auth_index":"gone",
            "id_token":{"chatgpt_account_id":"acct-stale"}}),
        );
    });
    Mock::given(method("GET"))
        .and(path("/backend-api/wham/usage"))
        .and(header("authorization", "Bearer $TOKEN$"))
        .and(header("chatgpt-account-id", "acct-stale"))
        .respond_with(json_resp(401, json!({"error":{"code":"invalid_api_key"}})))
        .expect(1)
        .mount(&providers)
        .await;
    let url = cpa.url();
    let args = |base: &str| {
        vec![
            "--endpoint".to_owned(),
            format!("https://chatgpt.com={base}"),
            "--retries".to_owned(),
            "0".to_owned(),
        ]
    };
    let r = credman(
        &t,
        Some(&key),
        &["scan", "--server", &url, "--format", "json"],
        &args(&providers.uri()),
    );
    // CPA v7 relayed the literal `$TOKEN$`: the 401 says nothing about the credential.
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert_eq!(
        result(&r.json(), "codex-stale.json")["status"],
        "expired_refreshable"
    );

    // The server cannot reach the provider (api-call answers 502): a check_error.
    cpa.with(|s| s.injected.clear());
    cpa.put("codex-lost.json", json!("7"), &codex_named("lost"));
    let dead = format!("http://127.0.0.1:{}", dead_port());
    let r = credman(
        &t,
        Some(&key),
        &["scan", "--server", &url, "--format", "json"],
        &args(&dead),
    );
    assert_eq!(
        r.code, 0,
        "check_error is not in the fail set: {}",
        r.stderr
    );
    let res = result(&r.json(), "codex-lost.json").clone();
    assert_eq!(res["status"], "check_error", "{res}");
    assert!(
        res["reason"]
            .as_str()
            .unwrap()
            .contains("could not reach the provider"),
        "{res}"
    );
}

#[test]
fn wrong_key_stops_after_one_request_and_ban_is_reported() {
    let key = mgmt_key();
    let cpa = Cpa::start(&key);
    let t = TestRepo::bare_dir();
    cpa.put("codex-a.json", json!("1"), &codex_named("a"));

    let wrong = format!("{key}-wrong");
    let r = credman(&t, Some(&wrong), &["scan", "--server", &cpa.url()], &[]);
    assert_eq!(r.code, 2, "{}", r.stderr);
    assert!(
        r.stderr.contains("refused the management key"),
        "{}",
        r.stderr
    );
    assert!(r.stderr.contains("HTTP 401"), "{}", r.stderr);
    assert!(r.stderr.contains("invalid management key"), "{}", r.stderr);
    assert!(
        r.stderr.contains("stopped after one try") && r.stderr.contains("5 failed"),
        "the ban policy is explained: {}",
        r.stderr
    );
    assert!(!r.stderr.contains(&wrong) && !r.stdout.contains(&wrong));
    assert_eq!(
        cpa.requests().len(),
        1,
        "exactly one request with a wrong key"
    );
    assert_eq!(cpa.with(|s| s.failures), 1);

    // prune refuses the same way, before anything else.
    let r = credman(
        &t,
        Some(&wrong),
        &["prune", "--server", &cpa.url(), "--delete"],
        &[],
    );
    assert_eq!(r.code, 2);
    assert_eq!(cpa.requests().len(), 2);

    // A server that already banned this IP: CPA's own message is shown, one request only.
    cpa.with(|s| s.failures = BAN_AFTER);
    let r = credman(&t, Some(&key), &["scan", "--server", &cpa.url()], &[]);
    assert_eq!(r.code, 2);
    assert!(r.stderr.contains("HTTP 403"), "{}", r.stderr);
    assert!(r.stderr.contains(BAN_MESSAGE), "{}", r.stderr);
    assert_eq!(cpa.requests().len(), 3);
}

#[test]
fn disabled_management_api_is_explained() {
    let key = mgmt_key();
    let cpa = Cpa::start(&key);
    let t = TestRepo::bare_dir();
    cpa.with(|s| s.api_disabled = true);
    let url = cpa.url();
    for args in [
        vec!["scan", "--server", &url],
        vec!["prune", "--server", &url],
        vec!["prune", "--server", &url, "--enable", "codex-a.json"],
    ] {
        let before = cpa.requests().len();
        let r = credman(&t, Some(&key), &args, &[]);
        assert_eq!(r.code, 2, "{args:?}: {}", r.stderr);
        assert!(r.stderr.contains("disabled"), "{}", r.stderr);
        assert!(
            r.stderr.contains("remote-management.secret-key"),
            "{}",
            r.stderr
        );
        assert_eq!(cpa.requests().len(), before + 1, "{args:?}");
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn download_checks_files_directly() {
    let providers = MockServer::start().await;
    let key = mgmt_key();
    let cpa = Cpa::start(&key);
    let t = TestRepo::bare_dir();
    let live = codex_named("live");
    let expired = codex_dead("old@example.com", "acct-old");
    let live_bytes = cpa.put("codex-live@example.com.json", json!("1"), &live);
    cpa.put("codex-old@example.com.json", json!("2"), &expired);
    cpa.with(|s| {
        s.files.insert(
            "broken.json".into(),
            Stored {
                bytes: b"{not json".to_vec(),
                auth_index: json!("3"),
                disabled: false,
                status: None,
                updated_at: None,
            },
        );
    });
    Mock::given(method("GET"))
        .and(path("/backend-api/wham/usage"))
        .and(header("authorization", bearer(&access_of(&live)).as_str()))
        .and(header("chatgpt-account-id", "acct-live"))
        .respond_with(json_resp(200, serde_json::from_str(USAGE_OK).unwrap()))
        .expect(1)
        .mount(&providers)
        .await;

    let r = credman(
        &t,
        Some(&key),
        &[
            "scan",
            "--server",
            &cpa.url(),
            "--download",
            "--format",
            "json",
        ],
        &endpoints(&providers.uri()),
    );
    assert_eq!(r.code, 1, "expired_by_time fails: {}", r.stderr);
    let report = r.json();
    assert_eq!(report["source"]["kind"], "server");
    let res = result(&report, "codex-live@example.com.json");
    assert_eq!(res["status"], "active", "{res}");
    assert!(
        res["fingerprint"].is_string(),
        "downloaded files are fingerprinted"
    );
    assert_eq!(res["has_refresh_token"], true);
    assert_eq!(res["server"]["auth_index"], "1");
    let old = result(&report, "codex-old@example.com.json");
    assert_eq!(old["status"], "expired_by_time", "{old}");
    assert_eq!(old["http_status"], Value::Null);
    assert_eq!(result(&report, "broken.json")["status"], "invalid_file");

    // One provider request (the live file), nothing relayed, each file downloaded once.
    assert_eq!(providers.received_requests().await.unwrap().len(), 1);
    assert!(cpa.api_calls().is_empty());
    let mut downloaded: Vec<String> = cpa
        .requests_to("GET", DOWNLOAD)
        .iter()
        .map(|r| r.query("name").unwrap().to_owned())
        .collect();
    downloaded.sort();
    assert_eq!(
        downloaded,
        [
            "broken.json",
            "codex-live@example.com.json",
            "codex-old@example.com.json"
        ]
    );
    assert_eq!(
        cpa.with(|s| s.files["codex-live@example.com.json"].bytes.clone()),
        live_bytes
    );
    for secret in secrets_of(&live).iter().chain(&secrets_of(&expired)) {
        assert!(!r.stdout.contains(secret.as_str()) && !r.stderr.contains(secret.as_str()));
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn prune_disables_dead_files_and_enable_undoes_it() {
    let providers = MockServer::start().await;
    let key = mgmt_key();
    let cpa = Cpa::start(&key);
    let t = TestRepo::bare_dir();
    let alive = codex_named("alive");
    let dead = codex_named("dead");
    let mut off = codex_named("off");
    off["disabled"] = json!(true);
    cpa.put("codex-alive@example.com.json", json!("1"), &alive);
    cpa.put("codex-dead@example.com.json", json!("2"), &dead);
    cpa.put("codex-off@example.com.json", json!("3"), &off);
    // A dead file in a sub-folder of the auth dir: disabled by its relative name and auth_index.
    let deadsub = codex_named("deadsub");
    cpa.put("team/codex-deadsub@example.com.json", json!("4"), &deadsub);
    assert!(cpa.is_disabled("codex-off@example.com.json"));
    // Three runs check every file: dry run, real run, second run.
    codex_answers(&providers, &alive, 200, 3).await;
    codex_answers(&providers, &dead, 401, 3).await;
    codex_answers(&providers, &off, 401, 3).await;
    codex_answers(&providers, &deadsub, 401, 3).await;
    let url = cpa.url();
    let eps = endpoints(&providers.uri());

    let r = credman(
        &t,
        Some(&key),
        &["prune", "--server", &url, "--dry-run", "--format", "json"],
        &eps,
    );
    assert_eq!(r.code, 0, "{}", r.stderr);
    let report = r.json();
    assert_eq!(report["prune"]["dry_run"], true);
    assert_eq!(report["prune"]["removed"], 0);
    assert_eq!(
        paths(&report),
        [
            "codex-dead@example.com.json",
            "team/codex-deadsub@example.com.json"
        ]
    );
    assert_eq!(
        skipped_reason(&report, "codex-off@example.com.json"),
        "already disabled"
    );
    assert!(
        cpa.requests_to("PATCH", STATUS).is_empty(),
        "dry run changes nothing"
    );
    assert!(!cpa.is_disabled("codex-dead@example.com.json"));

    let r = credman(
        &t,
        Some(&key),
        &["prune", "--server", &url, "--format", "json"],
        &eps,
    );
    assert_eq!(r.code, 0, "{}", r.stderr);
    let report = r.json();
    assert_eq!(report["prune"]["removed"], 2);
    assert_eq!(
        paths(&report),
        [
            "codex-dead@example.com.json",
            "team/codex-deadsub@example.com.json"
        ]
    );
    let patches = cpa.requests_to("PATCH", STATUS);
    assert_eq!(patches.len(), 2);
    let bodies: Vec<Value> = patches
        .iter()
        .map(|p| serde_json::from_str(&p.body).unwrap())
        .collect();
    // The auth_index goes along, so CPA's lookupAuthFile matches exactly this file.
    assert!(
        bodies.contains(
            &json!({"name":"codex-dead@example.com.json","auth_index":"2","disabled":true})
        )
    );
    assert!(bodies.contains(
        &json!({"name":"team/codex-deadsub@example.com.json","auth_index":"4","disabled":true})
    ));
    assert!(cpa.is_disabled("codex-dead@example.com.json"));
    assert!(cpa.is_disabled("team/codex-deadsub@example.com.json"));
    assert!(!cpa.is_disabled("codex-alive@example.com.json"));
    assert!(cpa.is_disabled("codex-off@example.com.json"));
    assert!(
        cpa.requests_to("DELETE", FILES).is_empty(),
        "disable never deletes"
    );
    assert!(cpa.has("codex-dead@example.com.json"));

    // Running again: both dead files are now disabled on the server, nothing to do.
    let r = credman(
        &t,
        Some(&key),
        &["prune", "--server", &url, "--format", "json"],
        &eps,
    );
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert_eq!(
        skipped_reason(&r.json(), "codex-dead@example.com.json"),
        "already disabled"
    );
    assert_eq!(cpa.requests_to("PATCH", STATUS).len(), 2);

    // Undo.
    let r = credman(
        &t,
        Some(&key),
        &[
            "prune",
            "--server",
            &url,
            "--enable",
            "codex-dead@example.com.json",
        ],
        &[],
    );
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert!(r.stderr.contains("Enabled 1 file(s)"), "{}", r.stderr);
    assert!(!cpa.is_disabled("codex-dead@example.com.json"));
    let patches = cpa.requests_to("PATCH", STATUS);
    assert_eq!(
        serde_json::from_str::<Value>(&patches[2].body).unwrap(),
        json!({"name":"codex-dead@example.com.json","disabled":false})
    );

    // Enabling a file the server does not have, or an unsafe name, is an error.
    let r = credman(
        &t,
        Some(&key),
        &["prune", "--server", &url, "--enable", "nope.json"],
        &[],
    );
    assert_eq!(r.code, 2);
    assert!(
        r.stderr.contains("nope.json") && r.stderr.contains("404"),
        "{}",
        r.stderr
    );
    let r = credman(
        &t,
        Some(&key),
        &["prune", "--server", &url, "--enable", "../x.json"],
        &[],
    );
    assert_eq!(r.code, 2);
    assert!(r.stderr.contains("not a plain file name"), "{}", r.stderr);
    assert_eq!(
        cpa.requests_to("PATCH", STATUS).len(),
        4,
        "two disables, two enables (one 404), no PATCH for an unsafe name"
    );
}

#[cfg(unix)]
#[tokio::test(flavor = "multi_thread")]
async fn prune_delete_backs_up_then_batch_deletes_and_reports_partial_failure() {
    let providers = MockServer::start().await;
    let key = mgmt_key();
    let cpa = Cpa::start(&key);
    let t = TestRepo::bare_dir();
    let a = codex_named("a");
    let b = codex_named("b");
    let c = codex_named("c");
    cpa.put("codex-a.json", json!("1"), &a);
    let b_bytes = cpa.put("codex-b@example.com.json", json!("2"), &b);
    let c_bytes = cpa.put("codex-c.json", json!("3"), &c);
    cpa.with(|s| {
        s.fail_delete.insert("codex-c.json".into());
    });
    // Dead, but in a sub-folder, with the base name of the live top-level `codex-a.json`: it
    // cannot be backed up through CPA and a DELETE by name could hit the live file. Kept.
    let sub = codex_named("sub");
    cpa.put("team/codex-a.json", json!("4"), &sub);
    codex_answers(&providers, &a, 200, 1).await;
    codex_answers(&providers, &b, 401, 1).await;
    codex_answers(&providers, &c, 401, 1).await;
    codex_answers(&providers, &sub, 401, 1).await;

    let r = credman(
        &t,
        Some(&key),
        &[
            "prune",
            "--server",
            &cpa.url(),
            "--delete",
            "--backup-dir",
            "bk",
            "--format",
            "json",
        ],
        &endpoints(&providers.uri()),
    );
    // Per-file failures are recorded; the dead file left behind is a finding (exit 1).
    assert_eq!(
        r.code, 1,
        "a partial delete leaves a dead file: {}",
        r.stderr
    );
    assert!(
        r.stderr.contains("1 file(s) could not be deleted"),
        "{}",
        r.stderr
    );
    let report = r.json();
    assert_eq!(paths(&report), ["codex-b@example.com.json"]);
    assert_eq!(report["prune"]["removed"], 1);
    assert!(
        skipped_reason(&report, "codex-c.json").contains("permission denied"),
        "{report:#}"
    );
    assert!(
        skipped_reason(&report, "team/codex-a.json").contains("sub-folder"),
        "{report:#}"
    );
    let bk = t.home().join("bk");
    assert_eq!(report["prune"]["quarantine"], bk.display().to_string());

    // The server: b deleted, c failed, a and the sub-folder file untouched.
    assert!(cpa.has("codex-a.json") && cpa.has("codex-c.json") && cpa.has("team/codex-a.json"));
    assert!(!cpa.has("codex-b@example.com.json"));
    let deletes = cpa.requests_to("DELETE", FILES);
    assert_eq!(deletes.len(), 1, "one batch request");
    // Repeated `?name=`: old and new servers both read it; no body.
    assert!(deletes[0].body.is_empty());
    let mut names: Vec<&str> = deletes[0]
        .query
        .iter()
        .filter(|(k, _)| k == "name")
        .map(|(_, v)| v.as_str())
        .collect();
    names.sort_unstable();
    assert_eq!(names, ["codex-b@example.com.json", "codex-c.json"]);
    assert!(
        cpa.requests_to("GET", DOWNLOAD)
            .iter()
            .all(|r| r.query("name") != Some("team/codex-a.json")),
        "a sub-folder file is never downloaded"
    );

    // The backups: private, exact bytes, plus the report.
    assert_eq!(mode_of(&bk), 0o700);
    assert_eq!(
        tree(&bk),
        [
            PathBuf::from("codex-b@example.com.json"),
            PathBuf::from("codex-c.json"),
            PathBuf::from("credman-report.json")
        ]
    );
    for (name, bytes) in [
        ("codex-b@example.com.json", &b_bytes),
        ("codex-c.json", &c_bytes),
    ] {
        assert_eq!(&std::fs::read(bk.join(name)).unwrap(), bytes, "{name}");
        assert_eq!(mode_of(&bk.join(name)), 0o600, "{name}");
    }
    let saved = bk.join("credman-report.json");
    assert_eq!(mode_of(&saved), 0o600);
    let saved = read_report(&saved);
    assert_eq!(saved["source"]["kind"], "server");
    // Written before the deletions: it lists the files about to be deleted (issue 16 item 9).
    assert_eq!(saved["prune"]["results"], "selected");
    let mut saved_paths = paths(&saved);
    saved_paths.sort();
    assert_eq!(saved_paths, ["codex-b@example.com.json", "codex-c.json"]);
}

#[tokio::test(flavor = "multi_thread")]
async fn old_server_without_batch_delete_gets_one_by_one_deletes() {
    let providers = MockServer::start().await;
    let key = mgmt_key();
    let cpa = Cpa::start(&key);
    let t = TestRepo::bare_dir();
    cpa.with(|s| s.old_server = true);
    let alive = codex_named("alive");
    cpa.put("codex-alive.json", json!("0"), &alive);
    codex_answers(&providers, &alive, 200, 1).await;
    let names = ["codex-b.json", "codex-c.json", "codex-d.json"];
    for (i, n) in names.iter().enumerate() {
        let cred = codex_named(n.trim_end_matches(".json"));
        cpa.put(n, json!(i + 1), &cred);
        codex_answers(&providers, &cred, 401, 1).await;
    }
    let r = credman(
        &t,
        Some(&key),
        &[
            "prune",
            "--server",
            &cpa.url(),
            "--delete",
            "--backup-dir",
            "bk",
            "--format",
            "json",
        ],
        &endpoints(&providers.uri()),
    );
    assert_eq!(r.code, 0, "{}", r.stderr);
    let report = r.json();
    assert_eq!(report["prune"]["removed"], 3, "{report:#}");
    for n in names {
        assert!(!cpa.has(n), "{n} still on the server");
        assert!(t.home().join("bk").join(n).is_file());
    }
    assert!(cpa.has("codex-alive.json"));
    // The batch request names all three; the old server deletes the first only, and the rest
    // go one by one.
    let deletes = cpa.requests_to("DELETE", FILES);
    assert_eq!(deletes.len(), names.len(), "one batch, then one by one");
    let batch: Vec<&str> = deletes[0].query.iter().map(|(_, v)| v.as_str()).collect();
    assert_eq!(batch, names);
    let mut one_by_one: Vec<&str> = deletes[1..]
        .iter()
        .map(|r| r.query("name").unwrap())
        .collect();
    one_by_one.sort_unstable();
    assert_eq!(one_by_one, names[1..]);
}

/// One name takes CPA's single-file path (auth_files_crud.go:181-190): `200 {"status":"ok"}`
/// without `files` on success, a plain error status on failure, which is recorded for that file
/// instead of failing the run.
#[tokio::test(flavor = "multi_thread")]
async fn single_name_delete_and_its_failure_are_per_file() {
    let providers = MockServer::start().await;
    let key = mgmt_key();
    let cpa = Cpa::start(&key);
    let t = TestRepo::bare_dir();
    let dead = codex_named("dead");
    cpa.put("codex-dead.json", json!("1"), &dead);
    codex_answers(&providers, &dead, 401, 2).await;
    let run = || {
        credman(
            &t,
            Some(&key),
            &[
                "prune",
                "--server",
                &cpa.url(),
                "--delete",
                "--backup-dir",
                "bk",
                "--format",
                "json",
            ],
            &endpoints(&providers.uri()),
        )
    };
    cpa.with(|s| {
        s.fail_delete.insert("codex-dead.json".into());
    });
    let r = run();
    assert_eq!(r.code, 1, "{}", r.stderr);
    let report = r.json();
    assert_eq!(report["prune"]["removed"], 0);
    assert!(skipped_reason(&report, "codex-dead.json").contains("HTTP 500"));
    assert!(cpa.has("codex-dead.json"));
    cpa.with(|s| s.fail_delete.clear());
    std::fs::remove_dir_all(t.home().join("bk")).unwrap();
    let r = run();
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert_eq!(r.json()["prune"]["removed"], 1);
    assert!(!cpa.has("codex-dead.json"));
}

/// A real CPA listing holds runtime-only entries, sub-folder files and (from a hostile or broken
/// server) names that are not safe paths. None of them stops scan or prune; runtime-only and
/// hostile entries are reported with their auth_index and never touched; a sub-folder file is
/// disabled but never downloaded or deleted; hostile names reach neither a URL nor the disk.
#[test]
fn hostile_runtime_and_subfolder_entries_never_stop_the_run_and_are_never_touched() {
    let key = mgmt_key();
    let cpa = Cpa::start(&key);
    let t = TestRepo::bare_dir();
    cpa.put(
        "codex-dead.json",
        json!("1"),
        &codex_dead("d@example.com", "acct-d"),
    );
    cpa.put(
        "team/codex-deadsub.json",
        json!("2"),
        &codex_dead("s@example.com", "acct-s"),
    );
    cpa.put_runtime("aistudio-9f8e7d6c", "3");
    let hostile = [
        "../../etc/passwd",
        "evil\n.json",
        "/abs/x.json",
        "a\\b.json",
        "../x.json",
    ];
    cpa.with(|s| {
        for (i, n) in hostile.iter().enumerate() {
            s.injected.push(
                json!({"id": n, "name": n, "type":"codex","auth_index": format!("h{i}"),
                "label":"codex","status":"error","status_message":"","disabled":false,
                "unavailable":false,"runtime_only":false,"source":"file"}),
            );
        }
    });
    let url = cpa.url();
    for (args, code) in [
        // Relayed and offline, nothing is known about expiry: exit 0; downloaded, the
        // top-level file is expired_by_time: exit 1.
        (
            vec!["scan", "--server", &url, "--offline", "--format", "json"],
            0,
        ),
        (
            vec!["scan", "--server", &url, "--download", "--format", "json"],
            1,
        ),
    ] {
        let r = credman(&t, Some(&key), &args, &[]);
        assert_eq!(r.code, code, "{args:?}: {}", r.stderr);
        let report = r.json();
        let results = report["results"].as_array().unwrap();
        assert_eq!(results.len(), 3 + hostile.len(), "{args:?}");
        for res in results {
            assert!(res["server"]["auth_index"].is_string(), "{res}");
        }
        assert_eq!(result(&report, "aistudio-9f8e7d6c")["status"], "unknown");
        assert_eq!(result(&report, "evil\\n.json")["status"], "unknown");
        assert!(
            !r.stdout.contains("evil\n"),
            "control characters are escaped"
        );
    }
    let r = credman(
        &t,
        Some(&key),
        &[
            "prune",
            "--server",
            &url,
            "--download",
            "--delete",
            "--backup-dir",
            "bk",
            "--force",
            "--status",
            "expired_by_time,unknown",
            "--format",
            "json",
        ],
        &[],
    );
    assert_eq!(r.code, 0, "{}", r.stderr);
    let report = r.json();
    assert_eq!(paths(&report), ["codex-dead.json"]);
    assert!(skipped_reason(&report, "team/codex-deadsub.json").contains("sub-folder"));
    assert!(skipped_reason(&report, "aistudio-9f8e7d6c").contains("never touched"));
    assert!(skipped_reason(&report, "../../etc/passwd").contains("never touched"));
    assert_eq!(
        tree(&t.home().join("bk")),
        [
            PathBuf::from("codex-dead.json"),
            PathBuf::from("credman-report.json")
        ]
    );
    // Disabling reaches the sub-folder file by its name and auth_index, nothing else.
    let r = credman(
        &t,
        Some(&key),
        &[
            "prune",
            "--server",
            &url,
            "--download",
            "--force",
            "--status",
            "expired_by_time,unknown",
            "--format",
            "json",
        ],
        &[],
    );
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert_eq!(paths(&r.json()), ["team/codex-deadsub.json"]);
    assert!(cpa.is_disabled("team/codex-deadsub.json"));
    let patches = cpa.requests_to("PATCH", STATUS);
    assert_eq!(patches.len(), 1);
    let deletes = cpa.requests_to("DELETE", FILES);
    assert_eq!(deletes.len(), 1);
    assert_eq!(
        deletes[0].query,
        [("name".to_owned(), "codex-dead.json".to_owned())]
    );
    for req in cpa.requests() {
        let seen = format!("{} {:?} {}", req.path, req.query, req.body);
        for h in hostile {
            assert!(
                !seen.contains(h),
                "a hostile name reached the server: {seen}"
            );
        }
        if req.path == DOWNLOAD {
            assert_eq!(req.query("name"), Some("codex-dead.json"));
        }
    }
    assert!(cpa.has("team/codex-deadsub.json"));
    assert!(!t.home().join("etc").exists() && !t.home().join("x.json").exists());
}

#[tokio::test(flavor = "multi_thread")]
async fn management_key_never_leaks_and_key_file_works() {
    let providers = MockServer::start().await;
    let key = mgmt_key();
    let cpa = Cpa::start(&key);
    let t = TestRepo::bare_dir();
    let alive = codex_named("alive");
    let dead = codex_named("dead");
    cpa.put("codex-alive.json", json!("1"), &alive);
    cpa.put("codex-dead.json", json!("2"), &dead);
    codex_answers(&providers, &alive, 200, 3).await;
    // The dead one is checked by scan and prune, then it is gone.
    codex_answers(&providers, &dead, 401, 2).await;
    let url = cpa.url();
    let eps = endpoints(&providers.uri());

    let scan = credman(
        &t,
        Some(&key),
        &["scan", "--server", &url, "--report", "scan.json", "-vvv"],
        &eps,
    );
    assert_eq!(scan.code, 1, "{}", scan.stderr);
    let prune = credman(
        &t,
        Some(&key),
        &[
            "prune",
            "--server",
            &url,
            "--delete",
            "--backup-dir",
            "bk",
            "--report",
            "prune.json",
            "-vvv",
        ],
        &eps,
    );
    assert_eq!(prune.code, 0, "{}", prune.stderr);
    assert!(!cpa.has("codex-dead.json"));

    // The key file: trimmed; the flag wins over the env when both are set (here: only the file).
    std::fs::write(t.home().join("key.txt"), format!("{key}\n")).unwrap();
    let from_file = credman(
        &t,
        None,
        &[
            "scan",
            "--server",
            &url,
            "--management-key-file",
            "key.txt",
            "--format",
            "json",
        ],
        &eps,
    );
    assert_eq!(from_file.code, 0, "{}", from_file.stderr);
    assert_eq!(
        result(&from_file.json(), "codex-alive.json")["status"],
        "active"
    );

    let mut texts = vec![
        scan.stdout,
        scan.stderr,
        prune.stdout,
        prune.stderr,
        from_file.stdout,
        from_file.stderr,
    ];
    for f in tree(t.home()) {
        let p = t.home().join(&f);
        if p.is_file() && f != Path::new("key.txt") {
            texts.push(String::from_utf8_lossy(&std::fs::read(p).unwrap()).into_owned());
        }
    }
    assert!(t.home().join("bk/credman-report.json").is_file());
    assert!(t.home().join("scan.json").is_file() && t.home().join("prune.json").is_file());
    for text in &texts {
        assert!(!text.contains(&key), "the management key leaked");
        assert!(
            !text.contains(&key[3..20]),
            "a part of the management key leaked"
        );
    }
    // Not in any request body either (it travels only in the Authorization header).
    assert!(cpa.requests().iter().all(|r| !r.body.contains(&key)));
    assert_eq!(cpa.with(|s| s.failures), 0);

    // An empty key file, a missing key, or a key in the URL: errors before any request.
    let before = cpa.requests().len();
    std::fs::write(t.home().join("empty.txt"), "  \n").unwrap();
    let r = credman(
        &t,
        None,
        &[
            "scan",
            "--server",
            &url,
            "--management-key-file",
            "empty.txt",
        ],
        &[],
    );
    assert_eq!(r.code, 2);
    assert!(r.stderr.contains("is empty"), "{}", r.stderr);
    let r = credman(&t, None, &["scan", "--server", &url], &[]);
    assert_eq!(r.code, 2);
    assert!(
        r.stderr.contains("GIT_CREDMAN_MANAGEMENT_KEY"),
        "{}",
        r.stderr
    );
    let in_url = url.replace("http://", &format!("http://admin:{key}@"));
    let r = credman(&t, Some(&key), &["scan", "--server", &in_url], &[]);
    assert_eq!(r.code, 2);
    assert!(
        r.stderr.contains("must not contain credentials"),
        "{}",
        r.stderr
    );
    assert!(
        !r.stderr.contains(&key),
        "the key in the URL is echoed back"
    );
    assert_eq!(
        cpa.requests().len(),
        before,
        "no request without a usable key"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn relayed_checks_are_capped_at_8_and_the_breaker_protects_the_pool() {
    let providers = MockServer::start().await;
    let key = mgmt_key();
    let cpa = Cpa::start(&key);
    let t = TestRepo::bare_dir();
    let delay = std::time::Duration::from_millis(300);
    // 20 codex files, 12 of them dead: more than half of a pool of at least 20.
    for i in 0..20 {
        let name = format!("n{i:02}");
        let cred = codex_named(&name);
        cpa.put(&format!("codex-{name}.json"), json!(i), &cred);
        let (status, body) = if i < 12 {
            (401, json!({"error":{"code":"token_invalidated"}}))
        } else {
            (200, serde_json::from_str(USAGE_OK).unwrap())
        };
        Mock::given(method("GET"))
            .and(path("/backend-api/wham/usage"))
            .and(header("authorization", bearer(&access_of(&cred)).as_str()))
            .respond_with(json_resp(status, body).set_delay(delay))
            .mount(&providers)
            .await;
    }
    let url = cpa.url();
    let eps = endpoints(&providers.uri());

    let r = credman(
        &t,
        Some(&key),
        &["prune", "--server", &url, "--format", "json"],
        &eps,
    );
    assert_eq!(r.code, 3, "the breaker trips: {}", r.stderr);
    assert_eq!(r.json()["prune"]["dry_run"], true);
    assert!(
        cpa.requests_to("PATCH", STATUS).is_empty(),
        "nothing changed"
    );
    let max = cpa.with(|s| s.max_in_flight);
    assert!(
        (2..=8).contains(&max),
        "at most 8 relayed checks at once by default (saw {max})"
    );
    assert_eq!(cpa.api_calls().len(), 20);
    let key_checks = cpa
        .requests_to("GET", FILES)
        .iter()
        .filter(|r| r.query("name") == Some("__credman_key_check__.json"))
        .count();
    assert_eq!(key_checks, 1, "the key is checked once");

    // An explicit --concurrency is honoured; --force overrides the breaker.
    cpa.with(|s| s.max_in_flight = 0);
    let r = credman(
        &t,
        Some(&key),
        &[
            "prune",
            "--server",
            &url,
            "--format",
            "json",
            "--force",
            "--concurrency",
            "20",
        ],
        &eps,
    );
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert_eq!(r.json()["prune"]["removed"], 12);
    assert_eq!(cpa.requests_to("PATCH", STATUS).len(), 12);
    let max = cpa.with(|s| s.max_in_flight);
    assert!(
        max > 8,
        "--concurrency 20 lifts the default cap (saw {max})"
    );
}

/// The key is rotated after the listing: every relayed check is refused with 401. git-credman
/// must stop at once (CPA bans the IP after 5 refused keys) instead of retrying per file.
#[tokio::test(flavor = "multi_thread")]
async fn key_refused_during_relayed_checks_stops_before_the_ban() {
    let providers = MockServer::start().await;
    let key = mgmt_key();
    let cpa = Cpa::start(&key);
    let t = TestRepo::bare_dir();
    for name in ["a", "b", "c"] {
        cpa.put(
            &format!("codex-{name}.json"),
            json!(name),
            &codex_named(name),
        );
    }
    cpa.with(|s| s.rotate_key_after_listing = Some(mgmt_key()));
    let r = credman(
        &t,
        Some(&key),
        &["scan", "--server", &cpa.url(), "--format", "json"],
        &endpoints(&providers.uri()),
    );
    let failures = cpa.with(|s| s.failures);
    assert!(
        failures < BAN_AFTER,
        "{failures} refused keys sent ({} api-calls): the IP is now banned; exit {}, stdout: {}",
        cpa.requests_to("POST", "/v0/management/api-call").len(),
        r.code,
        r.stdout
    );
    // Checks already in flight when the key changed may be refused too (here all 3 run at
    // once); nothing is sent after the first refusal comes back.
    assert!(
        failures <= 3,
        "stopped after the refusals already in flight: {failures}"
    );
    assert_eq!(
        cpa.requests_to("POST", "/v0/management/api-call").len(),
        failures as usize,
        "no request after a refusal"
    );
    assert_eq!(r.code, 2, "a refused key is an error, not a check_error");
    assert!(
        r.stderr.contains("refused the management key"),
        "{}",
        r.stderr
    );
}

/// `--server` without a scheme but with userinfo (`admin:KEY@host`): the error message quotes
/// the whole value, so the key lands in stderr (CI logs). With a scheme, the same mistake is
/// refused without echoing it.
#[test]
fn schemeless_server_url_with_key_is_not_echoed() {
    let key = mgmt_key();
    let t = TestRepo::bare_dir();
    let server = format!("admin:{key}@127.0.0.1:{}", dead_port());
    let r = credman(&t, Some(&key), &["scan", "--server", &server], &[]);
    assert_eq!(r.code, 2);
    assert!(!r.stderr.contains(&key), "key leaked: {}", r.stderr);
}

/// `403 remote management disabled` comes before the key check (handler.go:305,338): it is no
/// refused key, does not count towards the ban, and the error says what to change in CPA.
#[test]
fn remote_management_disabled_is_a_config_answer_not_a_refused_key() {
    let key = mgmt_key();
    let cpa = Cpa::start(&key);
    let t = TestRepo::bare_dir();
    cpa.with(|s| s.remote_disabled = true);
    let r = credman(&t, Some(&key), &["scan", "--server", &cpa.url()], &[]);
    assert_eq!(r.code, 2, "{}", r.stderr);
    assert!(r.stderr.contains("allow-remote"), "{}", r.stderr);
    assert!(
        !r.stderr.contains("refused the management key"),
        "{}",
        r.stderr
    );
    assert_eq!(cpa.with(|s| s.failures), 0);
    assert_eq!(cpa.requests().len(), 1, "one request, then stop");
}

/// Relay details read from CPA's source: with `--download` the expiry is known, so an expired
/// rotating token is `expired_refreshable` and never sent (the listing carries no expiry, and
/// api-call relays the stored token as is, api_tools.go:249-251); a relayed JSON body carries its
/// own `Content-Type`, since CPA adds no headers (api_tools.go:175-182); an email-less entry's
/// `label` (the provider name) is not shown as its identity (synthesizer/file.go:146-149).
#[tokio::test(flavor = "multi_thread")]
async fn download_skips_expired_tokens_relay_sets_content_type_and_label_is_no_identity() {
    let providers = MockServer::start().await;
    let key = mgmt_key();
    let cpa = Cpa::start(&key);
    let t = TestRepo::bare_dir();
    let mut stale = codex_dead("stale@example.com", "acct-stale");
    stale["refresh_token"] = json!(format!("rt-{}", noise("stale", 30)));
    cpa.put("codex-stale@example.com.json", json!("1"), &stale);
    let kimi = json!({"type":"kimi","access_token": format!("kimi-{}", noise("k", 40)),
        "refresh_token": format!("kr-{}", noise("kr", 30))});
    cpa.put("kimi-1755828000000.json", json!("2"), &kimi);
    Mock::given(method("GET"))
        .and(path("/backend-api/wham/usage"))
        .respond_with(json_resp(401, json!({"error":{"code":"token_expired"}})))
        .expect(0)
        .mount(&providers)
        .await;
    Mock::given(method("GET"))
        .and(path("/coding/v1/usages"))
        .respond_with(json_resp(200, json!({"usage":{"used":1,"limit":10}})))
        .expect(2)
        .mount(&providers)
        .await;
    let eps = endpoints(&providers.uri());
    let r = credman(
        &t,
        Some(&key),
        &[
            "scan",
            "--server",
            &cpa.url(),
            "--download",
            "--format",
            "json",
        ],
        &eps,
    );
    assert_eq!(r.code, 0, "{}", r.stderr);
    let report = r.json();
    assert_eq!(
        result(&report, "codex-stale@example.com.json")["status"],
        "expired_refreshable"
    );
    let kimi_res = result(&report, "kimi-1755828000000.json");
    assert_eq!(kimi_res["status"], "active");
    assert!(kimi_res["account"].is_null(), "{kimi_res}");

    // Relayed with the responses probe (a POST with a JSON body): the Content-Type goes along.
    let codex = codex_named("resp");
    cpa.with(|s| s.files.clear());
    cpa.put("codex-resp@example.com.json", json!("3"), &codex);
    cpa.put("kimi-1755828000000.json", json!("2"), &kimi);
    Mock::given(method("POST"))
        .and(path("/backend-api/codex/responses"))
        .and(header("content-type", "application/json"))
        .respond_with(
            ResponseTemplate::new(200)
                .insert_header("content-type", "text/event-stream")
                .set_body_string(
                    "event: response.created\ndata: {\"type\":\"response.created\"}\n\n",
                ),
        )
        .expect(1)
        .mount(&providers)
        .await;
    let r = credman(
        &t,
        Some(&key),
        &[
            "scan",
            "--server",
            &cpa.url(),
            "--codex-probe",
            "responses",
            "--format",
            "json",
        ],
        &eps,
    );
    assert_eq!(r.code, 0, "{}", r.stderr);
    let report = r.json();
    assert_eq!(
        result(&report, "codex-resp@example.com.json")["status"],
        "active"
    );
    assert!(result(&report, "kimi-1755828000000.json")["account"].is_null());
    let post = cpa
        .api_calls()
        .into_iter()
        .find(|c| c["method"] == "POST")
        .unwrap();
    assert_eq!(post["header"]["Content-Type"], "application/json", "{post}");
}
