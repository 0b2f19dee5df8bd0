//! `git credman doctor` against local mock providers: answers shaped like the real upstreams to
//! an invalid token are ok; a changed error format, an HTML page or a moved endpoint is drift
//! (exit 1); an unreachable provider is "not checked" (exit 4), never drift and never ok. The
//! probe carries only the invalid token doctor generates, never a token from a file.
//!
//! Where each mocked answer comes from:
//! - codex `GET /backend-api/wham/usage` 401 `{"error":{…"code":"token_expired"},"status":401}`:
//!   the observed upstream 401 bodies of reference §4 (same shape as `token_invalidated`);
//! - claude `GET /api/oauth/usage` 401 `authentication_error`: reference §4 ("401
//!   `authentication_error` for revoked/expired tokens"), in Anthropic's error envelope;
//! - Google `POST /tokeninfo` 400 `invalid_token` (Google OAuth2 tokeninfo docs) and `POST /token`
//!   400 `invalid_grant` (reference §3, Google dead refresh token);
//! - kimi `GET /coding/v1/usages` 401 `invalid_authentication_error` and xai `GET /v1/billing`
//!   401 `unauthorized`: the examples of their 401 rows in src/providers (docs/provider-rules.md).

use serde_json::{Value, json};
use wiremock::matchers::{method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

use crate::support::providers::*;
use crate::support::*;

const PREFIX: &str = "credman-doctor-invalid-";

/// Mounts upstream-like answers to an invalid token, except the paths in `skip`.
async fn upstream(server: &MockServer, skip: &[&str]) {
    let answers: [(&str, &str, u16, Value); 6] = [
        (
            "GET",
            CODEX_USAGE,
            401,
            json!({"error":{"message":"Provided authentication token is expired. Please try signing in again.",
                "type":"invalid_request_error","code":"token_expired","param":null},"status":401}),
        ),
        (
            "GET",
            "/api/oauth/usage",
            401,
            json!({"type":"error","error":{"type":"authentication_error","message":"Invalid bearer token"}}),
        ),
        (
            "POST",
            "/tokeninfo",
            400,
            json!({"error":"invalid_token","error_description":"Invalid Value"}),
        ),
        (
            "POST",
            "/token",
            400,
            json!({"error":"invalid_grant","error_description":"Bad Request"}),
        ),
        (
            "GET",
            "/coding/v1/usages",
            401,
            json!({"error":{"type":"invalid_authentication_error","message":"Invalid Authentication"}}),
        ),
        (
            "GET",
            "/v1/billing",
            401,
            json!({"error":"unauthorized","message":"invalid or expired token"}),
        ),
    ];
    for (m, p, status, body) in answers {
        if skip.contains(&p) {
            continue;
        }
        Mock::given(method(m))
            .and(path(p))
            .respond_with(json_resp(status, body))
            .mount(server)
            .await;
    }
}

fn doctor(t: &TestRepo, base: &str, extra: &[&str]) -> Run {
    let mut args: Vec<String> = ["doctor", "--format", "json", "--retries", "0"]
        .iter()
        .map(|s| (*s).to_owned())
        .collect();
    args.extend(endpoint_args(base));
    args.extend(extra.iter().map(|s| (*s).to_owned()));
    run(t.credman().args(&args))
}

/// `doctor` for one provider in the text format.
fn doctor_text(t: &TestRepo, base: &str, provider: &str) -> Run {
    let mut args: Vec<String> = ["doctor", "--retries", "0", "--provider", provider]
        .iter()
        .map(|s| (*s).to_owned())
        .collect();
    args.extend(endpoint_args(base));
    run(t.credman().args(&args))
}

fn health<'a>(doc: &'a Value, provider: &str) -> &'a str {
    doc["results"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["provider"] == provider)
        .unwrap_or_else(|| panic!("no {provider} in {doc:#}"))["health"]
        .as_str()
        .unwrap()
}

/// Every token-shaped value a request carried: bearer headers and form fields.
fn tokens_sent(requests: &[wiremock::Request]) -> Vec<String> {
    let mut out = Vec::new();
    for r in requests {
        if let Some(v) = r.headers.get("authorization") {
            out.push(v.to_str().unwrap().trim_start_matches("Bearer ").to_owned());
        }
        let body = String::from_utf8_lossy(&r.body);
        for pair in body.split('&') {
            if let Some((k, v)) = pair.split_once('=')
                && matches!(k, "token" | "access_token" | "refresh_token")
            {
                out.push(v.to_owned());
            }
        }
    }
    out
}

#[tokio::test(flavor = "multi_thread")]
async fn doctor_ok_against_upstream_shaped_answers_and_sends_only_invalid_tokens() {
    let server = MockServer::start().await;
    upstream(&server, &[]).await;
    let t = TestRepo::new();
    // A real-looking credential in the repository, and one named by the environment: neither
    // may ever reach a provider.
    let planted = codex_live("ops@example.com", "acct-ops", "plus");
    t.write_json("auths/codex-ops.json", &planted);
    t.commit_all("pool");
    // Redirection through git config, exactly as a scan's (credman.endpoint, multi-valued).
    for o in ORIGINS {
        t.git(&[
            "config",
            "--add",
            "credman.endpoint",
            &format!("{o}={}", server.uri()),
        ]);
    }
    let r = run(t
        .credman()
        .args(["doctor", "--format", "json", "--retries", "0"]));
    assert_eq!(r.code, 0, "{}{}", r.stdout, r.stderr);
    let doc = r.json();
    assert_eq!(doc["kind"], "doctor");
    assert_eq!(doc["summary"]["checked"], 6);
    for p in ["codex", "antigravity", "gemini", "claude", "kimi", "xai"] {
        assert_eq!(health(&doc, p), "ok", "{p}: {doc:#}");
    }
    let requests = server.received_requests().await.unwrap();
    // codex, claude, kimi, xai once; tokeninfo and token twice (antigravity, gemini).
    assert_eq!(requests.len(), 8, "{requests:?}");
    let tokens = tokens_sent(&requests);
    assert_eq!(tokens.len(), 8, "{tokens:?}");
    for tok in &tokens {
        let rest = tok.strip_prefix(PREFIX).unwrap_or_else(|| panic!("{tok}"));
        assert!(
            rest.len() == 32 && rest.bytes().all(|b| b.is_ascii_hexdigit()),
            "{tok}"
        );
    }
    let everything = requests
        .iter()
        .map(|r| format!("{:?}{}", r.headers, String::from_utf8_lossy(&r.body)))
        .collect::<Vec<_>>()
        .join("\n");
    for secret in secrets_of(&planted) {
        assert!(
            !everything.contains(&secret),
            "a planted token reached a mock"
        );
        assert!(!r.stdout.contains(&secret) && !r.stderr.contains(&secret));
    }
    // The generated tokens are not printed either.
    for tok in &tokens {
        assert!(!r.stdout.contains(tok.as_str()) && !r.stderr.contains(tok.as_str()));
    }
    // The text format says the same, and `--provider` narrows it.
    let r = run(t.credman().args(["doctor", "--provider", "claude"]));
    assert_eq!(r.code, 0, "{}{}", r.stdout, r.stderr);
    assert!(
        r.stdout.contains("claude") && r.stdout.contains("OK:"),
        "{}",
        r.stdout
    );
    assert!(!r.stdout.contains("codex"), "{}", r.stdout);
    // `--codex-probe responses` checks the request a scan would then send (the same 401 body,
    // reference §4: codex answers token errors alike on both endpoints).
    Mock::given(method("POST"))
        .and(path("/backend-api/codex/responses"))
        .respond_with(json_resp(
            401,
            json!({"error":{"message":"Provided authentication token is expired.",
                "type":"invalid_request_error","code":"token_expired"},"status":401}),
        ))
        .mount(&server)
        .await;
    let r = run(t.credman().args([
        "doctor",
        "--provider",
        "codex",
        "--codex-probe",
        "responses",
    ]));
    assert_eq!(r.code, 0, "{}{}", r.stdout, r.stderr);
    assert!(
        r.stdout.contains("/backend-api/codex/responses"),
        "{}",
        r.stdout
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn doctor_reports_drift_for_a_new_error_format_an_html_page_and_a_moved_endpoint() {
    let server = MockServer::start().await;
    upstream(
        &server,
        &[CODEX_USAGE, "/coding/v1/usages", "/v1/billing", "/token"],
    )
    .await;
    // codex changed its error format: no `error` object any more.
    Mock::given(method("GET"))
        .and(path(CODEX_USAGE))
        .respond_with(json_resp(401, json!({"detail":"Unauthorized"})))
        .mount(&server)
        .await;
    // kimi's endpoint now serves a login page.
    Mock::given(method("GET"))
        .and(path("/coding/v1/usages"))
        .respond_with(ResponseTemplate::new(200).set_body_raw(
            "<!doctype html><html><title>Sign in</title></html>",
            "text/html; charset=utf-8",
        ))
        .mount(&server)
        .await;
    // Google's token endpoint refuses the client: the refresh rules would say unknown, not dead.
    Mock::given(method("POST"))
        .and(path("/token"))
        .respond_with(json_resp(
            401,
            json!({"error":"invalid_client","error_description":"The OAuth client was not found."}),
        ))
        .mount(&server)
        .await;
    // xai's billing endpoint moved: wiremock answers 404 to what no mock matches.
    let t = TestRepo::new();
    let r = doctor(&t, &server.uri(), &[]);
    assert_eq!(r.code, 1, "{}{}", r.stdout, r.stderr);
    let doc = r.json();
    for p in ["codex", "kimi", "xai", "antigravity", "gemini"] {
        assert_eq!(health(&doc, p), "drift", "{p}: {doc:#}");
    }
    assert_eq!(health(&doc, "claude"), "ok");
    assert_eq!(doc["summary"]["drift"], 5);
    let text = doctor_text(&t, &server.uri(), "kimi");
    assert_eq!(text.code, 1);
    assert!(
        text.stdout.contains("expected: HTTP 401"),
        "{}",
        text.stdout
    );
    assert!(
        text.stdout.contains("got: HTTP 200 text/html"),
        "{}",
        text.stdout
    );
    assert!(text.stdout.contains("DRIFT:"), "{}", text.stdout);
}

#[tokio::test(flavor = "multi_thread")]
async fn doctor_unreachable_is_not_ok_and_not_drift() {
    let t = TestRepo::new();
    let r = doctor(&t, &format!("http://127.0.0.1:{}", dead_port()), &[]);
    assert_eq!(r.code, 4, "{}{}", r.stdout, r.stderr);
    let doc = r.json();
    assert_eq!(doc["summary"]["unreachable"], 6);
    assert_eq!(doc["summary"]["drift"], 0);
    // A 5xx or a 429 is "could not check" too; drift elsewhere still wins (exit 1).
    let server = MockServer::start().await;
    upstream(&server, &["/api/oauth/usage", CODEX_USAGE]).await;
    Mock::given(method("GET"))
        .and(path("/api/oauth/usage"))
        .respond_with(json_resp(503, json!({"error":{"type":"overloaded_error"}})))
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path(CODEX_USAGE))
        .respond_with(ResponseTemplate::new(429).insert_header("retry-after", "0"))
        .mount(&server)
        .await;
    let r = doctor(&t, &server.uri(), &[]);
    assert_eq!(r.code, 4, "{}{}", r.stdout, r.stderr);
    let doc = r.json();
    assert_eq!(health(&doc, "claude"), "unreachable");
    assert_eq!(health(&doc, "codex"), "unreachable");
    assert_eq!(health(&doc, "kimi"), "ok");
    let r = doctor(
        &t,
        &server.uri(),
        &["--provider", "kimi", "--provider", "claude"],
    );
    assert_eq!(r.code, 4);
    let text = doctor_text(&t, &server.uri(), "claude");
    assert_eq!(text.code, 4);
    assert!(text.stdout.contains("NOT CHECKED"), "{}", text.stdout);
    assert!(!text.stdout.contains("drift"), "{}", text.stdout);
}

#[test]
fn doctor_rejects_an_unknown_provider() {
    let t = TestRepo::new();
    let r = run(t.credman().args(["doctor", "--provider", "qwen"]));
    assert_eq!(r.code, 2);
    assert!(r.stderr.contains("hint: one of codex"), "{}", r.stderr);
}

/// A pool with a codex file the provider rejects, an expired codex file, and an expired kimi
/// file; the canary is a live codex file outside the repository, answered `canary_status` (the
/// codex usage mock of support::providers: 200 = USAGE_OK, else the observed 401
/// `token_invalidated` body of reference §4).
async fn canary_pool(canary_status: u16, runs: u64) -> (MockServer, TestRepo, std::path::PathBuf) {
    let server = MockServer::start().await;
    upstream(&server, &[CODEX_USAGE]).await;
    let t = TestRepo::new();
    let gone = codex_live("gone@example.com", "acct-gone", "plus");
    t.write_json("auths/codex-gone.json", &gone);
    t.write_json(
        "auths/codex-old.json",
        &codex_dead("old@example.com", "acct-old"),
    );
    t.write_json(
        "auths/kimi-old.json",
        &json!({"type":"kimi","access_token": noise("kimi-old", 40), "expired": rfc_in(-86_400)}),
    );
    t.commit_all("pool");
    codex_answers(&server, &gone, 401, runs).await;
    let canary = codex_live("canary@example.com", "acct-canary", "plus");
    let path = t.home().join("canary-codex.json");
    std::fs::write(&path, serde_json::to_vec(&canary).unwrap()).unwrap();
    // The scans and prunes, and one doctor run.
    codex_answers(&server, &canary, canary_status, runs + 1).await;
    (server, t, path)
}

fn scan_json(t: &TestRepo, base: &str, extra: &[&str]) -> Run {
    let mut args: Vec<String> = ["scan", "--format", "json", "--retries", "0"]
        .iter()
        .map(|s| (*s).to_owned())
        .collect();
    args.extend(endpoint_args(base));
    args.extend(extra.iter().map(|s| (*s).to_owned()));
    run(t.credman().args(&args))
}

fn prune_run(t: &TestRepo, base: &str, extra: &[&str]) -> Run {
    let mut args: Vec<String> = ["prune", "--retries", "0", "--no-sign"]
        .iter()
        .map(|s| (*s).to_owned())
        .collect();
    args.extend(endpoint_args(base));
    args.extend(extra.iter().map(|s| (*s).to_owned()));
    run(t.credman().args(&args))
}

fn tracked(t: &TestRepo) -> String {
    t.git(&["ls-tree", "-r", "--name-only", "HEAD"])
}

#[tokio::test(flavor = "multi_thread")]
async fn a_dead_canary_makes_its_providers_dead_verdicts_unknown_and_prune_removes_none_of_them() {
    let (server, t, canary) = canary_pool(401, 3).await;
    let canary = canary.to_str().unwrap().to_owned();
    let r = scan_json(&t, &server.uri(), &["--canary", &canary]);
    assert!(
        r.stderr.contains("The canary") && r.stderr.contains("of codex is not alive"),
        "{}",
        r.stderr
    );
    let doc = r.json();
    for p in ["auths/codex-gone.json", "auths/codex-old.json"] {
        let f = result(&doc, p);
        assert_eq!(f["status"], "unknown", "{p}: {f:#}");
        assert!(
            f["reason"].as_str().unwrap().contains("canary"),
            "{p}: {f:#}"
        );
    }
    // Other providers are judged as usual.
    assert_eq!(
        result(&doc, "auths/kimi-old.json")["status"],
        "expired_by_time"
    );
    let head = t.git(&["rev-parse", "HEAD"]);
    // prune: the breaker is told (exit 3, nothing changed).
    let r = prune_run(&t, &server.uri(), &["--canary", &canary]);
    assert_eq!(r.code, 3, "{}{}", r.stdout, r.stderr);
    assert!(
        r.stdout.contains("canary") || r.stderr.contains("canary"),
        "{}{}",
        r.stdout,
        r.stderr
    );
    assert_eq!(t.git(&["rev-parse", "HEAD"]), head);
    // With --force the other providers are pruned, and still nothing of codex.
    let r = prune_run(&t, &server.uri(), &["--canary", &canary, "--force"]);
    assert_eq!(r.code, 0, "{}{}", r.stdout, r.stderr);
    let files = tracked(&t);
    assert!(files.contains("auths/codex-gone.json"), "{files}");
    assert!(files.contains("auths/codex-old.json"), "{files}");
    assert!(!files.contains("auths/kimi-old.json"), "{files}");
    // doctor runs the canary too: a known-alive credential that is not alive is drift.
    // (from the environment this time: GIT_CREDMAN_CANARY)
    let mut args: Vec<String> = ["doctor", "--format", "json", "--provider", "claude"]
        .iter()
        .map(|s| (*s).to_owned())
        .collect();
    args.extend(endpoint_args(&server.uri()));
    let r = run(t.credman().env("GIT_CREDMAN_CANARY", &canary).args(&args));
    assert_eq!(r.code, 1, "{}{}", r.stdout, r.stderr);
    let doc = r.json();
    let row = doc["results"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["canary"].is_string())
        .unwrap();
    assert_eq!(row["provider"], "codex");
    assert_eq!(row["health"], "drift");
    assert!(
        row["seen"].as_str().unwrap().starts_with("invalidated"),
        "{row}"
    );
    assert_eq!(health(&doc, "claude"), "ok");
}

#[tokio::test(flavor = "multi_thread")]
async fn an_alive_canary_leaves_the_verdicts_alone() {
    let (server, t, canary) = canary_pool(200, 2).await;
    // The canary from git config this time (credman.canary, multi-valued).
    t.git(&[
        "config",
        "--add",
        "credman.canary",
        canary.to_str().unwrap(),
    ]);
    let r = scan_json(&t, &server.uri(), &[]);
    let doc = r.json();
    assert_eq!(
        result(&doc, "auths/codex-gone.json")["status"],
        "invalidated"
    );
    assert_eq!(
        result(&doc, "auths/codex-old.json")["status"],
        "expired_by_time"
    );
    let r = prune_run(&t, &server.uri(), &[]);
    assert_eq!(r.code, 0, "{}{}", r.stdout, r.stderr);
    let files = tracked(&t);
    assert!(!files.contains("auths/codex-gone.json"), "{files}");
    assert!(!files.contains("auths/codex-old.json"), "{files}");
    let r = doctor(&t, &server.uri(), &["--provider", "claude"]);
    assert_eq!(r.code, 0, "{}{}", r.stdout, r.stderr);
    assert_eq!(r.json()["summary"]["checked"], 2);
    // A canary that cannot be read is a setting error (exit 2), never a green run.
    std::fs::remove_file(&canary).unwrap();
    let r = scan_json(&t, &server.uri(), &[]);
    assert_eq!(r.code, 2, "{}{}", r.stdout, r.stderr);
    assert!(r.stderr.contains("canary"), "{}", r.stderr);
}
