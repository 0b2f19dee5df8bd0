//! Online checks against local mock providers reached through endpoint redirection.

use std::time::{Duration, Instant};

use serde_json::{Value, json};
use wiremock::matchers::{body_string_contains, header, method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

use crate::support::providers::*;
use crate::support::*;

fn online(t: &TestRepo, base: &str, extra: &[&str]) -> Run {
    let mut args: Vec<String> = ["scan", "--format", "json"]
        .iter()
        .map(|s| (*s).to_owned())
        .collect();
    args.extend(endpoint_args(base));
    args.extend(extra.iter().map(|s| (*s).to_owned()));
    run(t.credman().args(&args))
}

/// Writes codex credentials whose mock answers are keyed by their tokens.
fn codex_case(t: &TestRepo, name: &str) -> Value {
    let v = codex_live(
        &format!("{name}@example.com"),
        &format!("acct-{name}"),
        "plus",
    );
    t.write_json(&format!("auths/codex-{name}.json"), &v);
    v
}

#[tokio::test(flavor = "multi_thread")]
async fn codex_usage_probe_table() {
    let server = MockServer::start().await;
    let t = TestRepo::new();
    let cases: Vec<(&str, u16, Value, &str)> = vec![
        (
            "ok",
            200,
            json!({"plan_type":"plus","rate_limit":{"allowed":true,"limit_reached":false}}),
            "active",
        ),
        (
            "limited",
            200,
            json!({"rate_limit":{"allowed":false,"limit_reached":true,
            "primary_window":{"used_percent":100,"reset_at":1_900_000_000}}}),
            "usage_limited",
        ),
        (
            "invalidated",
            401,
            json!({"error":{"message":"Your authentication token has been invalidated.",
            "code":"token_invalidated"}}),
            "invalidated",
        ),
        (
            "revoked",
            401,
            json!({"error":{"code":"token_revoked"}}),
            "invalidated",
        ),
        (
            "banned",
            401,
            json!({"error":{"code":"account_deactivated"}}),
            "deactivated",
        ),
        // A plain 401 with a refresh token is not proven dead: CPA itself refreshes once after a
        // 401 (conductor_refresh.go:462-480) and git-credman never redeems a rotating token.
        (
            "unauth",
            401,
            json!({"error":{"code":"invalid_api_key"}}),
            "expired_refreshable",
        ),
        (
            "unauth-nort",
            401,
            json!({"error":{"code":"invalid_api_key"}}),
            "unauthorized",
        ),
        (
            "quota",
            429,
            json!({"error":{"type":"usage_limit_reached","resets_at":1_900_000_000}}),
            "usage_limited",
        ),
        (
            "forbidden",
            403,
            json!({"error":{"code":"unsupported_country"}}),
            "unknown",
        ),
    ];
    for (name, status, body, _) in &cases {
        let mut v = codex_case(&t, name);
        if *name == "unauth-nort" {
            v.as_object_mut().unwrap().remove("refresh_token");
            t.write_json(&format!("auths/codex-{name}.json"), &v);
        }
        Mock::given(method("GET"))
            .and(path("/backend-api/wham/usage"))
            .and(header("authorization", bearer(&access_of(&v)).as_str()))
            .and(header(
                "chatgpt-account-id",
                format!("acct-{name}").as_str(),
            ))
            .respond_with(json_resp(*status, body.clone()))
            .expect(1)
            .mount(&server)
            .await;
    }
    t.commit_all("init");
    let r = online(&t, &server.uri(), &[]);
    let report = r.json();
    assert_eq!(report["mode"], "online");
    for (name, status, _, want) in &cases {
        let res = result(&report, &format!("auths/codex-{name}.json"));
        assert_eq!(res["status"], *want, "{name}: {res}");
        assert_eq!(res["http_status"], *status);
        assert!(res["checked_at"].is_string() && res["elapsed_ms"].is_u64());
    }
    let limited = result(&report, "auths/codex-limited.json");
    assert_eq!(limited["reset_at"], "2030-03-17T17:46:40Z");
    assert_eq!(
        r.code, 1,
        "invalidated/deactivated/unauthorized are in the default fail set"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn codex_responses_probe_treats_model_errors_as_alive() {
    let server = MockServer::start().await;
    let t = TestRepo::new();
    let v = codex_case(&t, "resp");
    Mock::given(method("POST"))
        .and(path("/backend-api/codex/responses"))
        .and(header("authorization", bearer(&access_of(&v)).as_str()))
        .and(body_string_contains("\"model\":\"gpt-test\""))
        .respond_with(json_resp(
            400,
            json!({"detail":"The 'gpt-test' model is not supported when using Codex"}),
        ))
        .expect(1)
        .mount(&server)
        .await;
    t.commit_all("init");
    let r = online(
        &t,
        &server.uri(),
        &["--codex-probe", "responses", "--codex-model", "gpt-test"],
    );
    assert_eq!(
        result(&r.json(), "auths/codex-resp.json")["status"],
        "active"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn claude_kimi_xai_probes() {
    let server = MockServer::start().await;
    let t = TestRepo::new();
    let mut expect = Vec::new();
    let claude_cases: Vec<(&str, u16, Value, &str)> = vec![
        (
            "ok",
            200,
            json!({"five_hour":{"utilization":20.0,"resets_at":"2026-12-01T00:00:00Z"}}),
            "active",
        ),
        (
            "full",
            200,
            json!({"seven_day":{"utilization":100.0,"resets_at":"2026-12-01T00:00:00Z"}}),
            "usage_limited",
        ),
        (
            "unauth",
            401,
            json!({"type":"error","error":{"type":"authentication_error"}}),
            "expired_refreshable",
        ),
        (
            "org",
            403,
            json!({"type":"error","error":{"type":"permission_error",
            "message":"OAuth authentication is currently not allowed for this organization."}}),
            "deactivated",
        ),
    ];
    for (i, (name, status, body, want)) in claude_cases.into_iter().enumerate() {
        let tok = format!("{}-{i}", claude_access());
        t.write_json(
            &format!("auths/claude-{name}.json"),
            &json!({"type":"claude","access_token":tok,
            "refresh_token": claude_refresh(), "expired": rfc_in(7200)}),
        );
        Mock::given(method("GET"))
            .and(path("/api/oauth/usage"))
            .and(header("authorization", bearer(&tok).as_str()))
            .and(header("anthropic-beta", "oauth-2025-04-20"))
            .respond_with(json_resp(status, body))
            .expect(1)
            .mount(&server)
            .await;
        expect.push((format!("auths/claude-{name}.json"), want));
    }
    // kimi files carry a refresh token (a 401 is not proof), xai ones here do not.
    for (name, status, want, xwant) in [
        ("ok", 200, "active", "active"),
        ("unauth", 401, "expired_refreshable", "unauthorized"),
    ] {
        let tok = format!("kimi-{}", noise(name, 40));
        t.write_json(
            &format!("auths/kimi-{name}.json"),
            &json!({"type":"kimi","access_token":tok,"refresh_token":"r-kimi"}),
        );
        Mock::given(method("GET"))
            .and(path("/coding/v1/usages"))
            .and(header("authorization", bearer(&tok).as_str()))
            .respond_with(json_resp(status, json!({"usage":{"used":1}})))
            .expect(1)
            .mount(&server)
            .await;
        expect.push((format!("auths/kimi-{name}.json"), want));
        let xtok = format!("xai-{}", noise(name, 40));
        t.write_json(
            &format!("auths/xai-{name}.json"),
            &json!({"type":"xai","access_token":xtok}),
        );
        Mock::given(method("GET"))
            .and(path("/v1/billing"))
            .and(header("authorization", bearer(&xtok).as_str()))
            .and(header("x-xai-token-auth", "xai-grok-cli"))
            .respond_with(json_resp(status, json!({"credits":1})))
            .expect(1)
            .mount(&server)
            .await;
        expect.push((format!("auths/xai-{name}.json"), xwant));
    }
    t.commit_all("init");
    let report = online(&t, &server.uri(), &[]).json();
    for (p, want) in expect {
        assert_eq!(result(&report, &p)["status"], want, "{p}");
    }
}

/// Antigravity files as CPA writes them carry no OAuth client (reference §2.3). CPA refreshes them
/// with the Antigravity app's public client (`internal/auth/antigravity/constants.go:6-7` at
/// v7.2.140); with no setting configured, git-credman must do the same and judge the answer the
/// way Google gives it: a working refresh token is `active`, a revoked one (`invalid_grant`,
/// reference §3) `invalidated`, a refused client (`invalid_client`, reference §9) `unknown`.
#[tokio::test(flavor = "multi_thread")]
async fn antigravity_refresh_uses_cpas_public_client_without_settings() {
    use git_credman::providers::google::{ANTIGRAVITY_CLIENT_ID, ANTIGRAVITY_CLIENT_SECRET};
    let server = MockServer::start().await;
    let t = TestRepo::new();
    let ms_ago = |s: i64| (chrono::Utc::now().timestamp() - s) * 1000;
    let files = [
        // expired (timestamp + expires_in in the past), refresh works
        ("works", -1, "ok"),
        // not expired by time, but Google says the access token is invalid; refresh works
        ("invalid-access", 1, "ok"),
        ("revoked", -1, "invalid_grant"),
        ("wrong-client", -1, "invalid_client"),
    ];
    let base = google_access();
    for (name, fresh, refresh) in files {
        let access = format!("{base}-{name}");
        let rt = format!("{}-{name}", google_refresh());
        let (timestamp, expires_in) = if fresh > 0 {
            (ms_ago(60), 3599)
        } else {
            (ms_ago(7200), 3599)
        };
        t.write_json(
            &format!("auths/antigravity-{name}@gmail.com.json"),
            &json!({"type":"antigravity","email":format!("{name}@gmail.com"),
            "project_id":"able-river-a1b2c","access_token":access,"refresh_token":rt,
            "expires_in":expires_in,"timestamp":timestamp,"disabled":false}),
        );
        if fresh > 0 {
            Mock::given(method("POST"))
                .and(path("/tokeninfo"))
                .and(body_string_contains(access.as_str()))
                .respond_with(json_resp(
                    400,
                    json!({"error":"invalid_token","error_description":"Invalid Value"}),
                ))
                .expect(1)
                .mount(&server)
                .await;
        }
        let answer = match refresh {
            "ok" => json_resp(
                200,
                json!({"access_token":format!("{base}-new-{name}"),
                "expires_in":3599,"token_type":"Bearer"}),
            ),
            "invalid_grant" => json_resp(
                400,
                json!({"error":"invalid_grant","error_description":"Token has been expired or revoked."}),
            ),
            _ => json_resp(
                401,
                json!({"error":"invalid_client","error_description":"The OAuth client was not found."}),
            ),
        };
        Mock::given(method("POST"))
            .and(path("/token"))
            .and(body_string_contains("grant_type=refresh_token"))
            .and(body_string_contains(rt.replace('/', "%2F").as_str()))
            .and(body_string_contains(
                format!("client_id={ANTIGRAVITY_CLIENT_ID}").as_str(),
            ))
            .and(body_string_contains(
                format!("client_secret={ANTIGRAVITY_CLIENT_SECRET}").as_str(),
            ))
            .respond_with(answer)
            .expect(1)
            .mount(&server)
            .await;
        if refresh == "ok" {
            Mock::given(method("POST"))
                .and(path("/tokeninfo"))
                .and(body_string_contains(format!("{base}-new-{name}").as_str()))
                .respond_with(json_resp(200, json!({"expires_in":"3599"})))
                .expect(1)
                .mount(&server)
                .await;
        }
    }
    t.commit_all("init");
    let r = online(&t, &server.uri(), &[]);
    let report = r.json();
    let status = |n: &str| {
        result(&report, &format!("auths/antigravity-{n}@gmail.com.json"))["status"].clone()
    };
    assert_eq!(status("works"), "active", "{report}");
    assert_eq!(status("invalid-access"), "active");
    assert_eq!(status("revoked"), "invalidated");
    assert_eq!(status("wrong-client"), "unknown");
    assert!(
        !r.stdout.contains(ANTIGRAVITY_CLIENT_SECRET)
            && !r.stderr.contains(ANTIGRAVITY_CLIENT_SECRET)
    );
    assert_eq!(r.code, 1, "the revoked login is dead");
}

#[tokio::test(flavor = "multi_thread")]
async fn google_tokeninfo_refresh_and_verdicts() {
    let server = MockServer::start().await;
    let t = TestRepo::new();
    let live = google_access();
    let stale = format!("{}-stale", google_access());
    let stale2 = format!("{}-stale2", google_access());
    let fresh = format!("{}-fresh", google_access());
    let good_rt = google_refresh();
    let bad_rt = format!("{}-revoked", google_refresh());
    t.write_json(
        "auths/ag-live.json",
        &json!({"type":"antigravity","access_token":live,"expired":rfc_in(1800)}),
    );
    t.write_json(
        "auths/gem-refreshed.json",
        &json!({"type":"gemini","token":{"access_token":stale,
        "refresh_token":good_rt,"client_id":"cid-1","client_secret":"cs-1","expiry":rfc_in(1800)}}),
    );
    t.write_json(
        "auths/gem-revoked.json",
        &json!({"type":"gemini","token":{"access_token":stale2,
        "refresh_token":bad_rt,"client_id":"cid-1","client_secret":"cs-1","expiry":rfc_in(-60)}}),
    );
    Mock::given(method("POST"))
        .and(path("/tokeninfo"))
        .and(body_string_contains(live.as_str()))
        .respond_with(json_resp(200, json!({"expires_in":"1700","scope":"x"})))
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .and(path("/tokeninfo"))
        .and(body_string_contains(stale.as_str()))
        .respond_with(json_resp(
            400,
            json!({"error":"invalid_token","error_description":"Invalid Value"}),
        ))
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .and(path("/token"))
        .and(body_string_contains("grant_type=refresh_token"))
        .and(body_string_contains(good_rt.replace('/', "%2F").as_str()))
        .respond_with(json_resp(
            200,
            json!({"access_token":fresh,"expires_in":3599}),
        ))
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .and(path("/tokeninfo"))
        .and(body_string_contains(fresh.as_str()))
        .respond_with(json_resp(200, json!({"expires_in":"3599"})))
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(method("POST")).and(path("/token")).and(body_string_contains(bad_rt.replace('/', "%2F").as_str()))
        .respond_with(json_resp(400, json!({"error":"invalid_grant","error_description":"Token has been expired or revoked."})))
        .expect(1).mount(&server).await;
    t.commit_all("init");
    let r = online(&t, &server.uri(), &[]);
    let report = r.json();
    assert_eq!(result(&report, "auths/ag-live.json")["status"], "active");
    let refreshed = result(&report, "auths/gem-refreshed.json");
    assert_eq!(refreshed["status"], "active");
    assert!(refreshed["reason"].as_str().unwrap().contains("refresh"));
    assert_eq!(
        result(&report, "auths/gem-revoked.json")["status"],
        "invalidated"
    );
    // No token ever travels in a URL.
    for req in server.received_requests().await.unwrap() {
        let url = req.url.to_string();
        for tok in [&live, &stale, &stale2, &fresh, &good_rt, &bad_rt] {
            assert!(!url.contains(tok.as_str()), "token in URL {url}");
        }
    }
    for secret in [&live, &stale, &fresh, &good_rt, &bad_rt] {
        assert!(!r.stdout.contains(secret.as_str()) && !r.stderr.contains(secret.as_str()));
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn rotating_refresh_tokens_are_never_redeemed() {
    let server = MockServer::start().await;
    let t = TestRepo::new();
    let mut expired = codex_live("a@b.c", "acct-x", "plus");
    expired["access_token"] = json!(codex_access(now() - 60, "acct-x"));
    expired["expired"] = json!(rfc_in(-60));
    t.write_json("auths/codex-expired.json", &expired);
    t.write_json(
        "auths/claude-expired.json",
        &json!({"type":"claude","access_token": claude_access(),
        "refresh_token": claude_refresh(), "expired": rfc_in(-60)}),
    );
    t.write_json(
        "auths/kimi-expired.json",
        &json!({"type":"kimi","access_token":"kimi-old-token",
        "refresh_token":"kimi-refresh-token","expired": rfc_in(-60)}),
    );
    t.write_json(
        "auths/xai-rt-only.json",
        &json!({"type":"xai","refresh_token":"xai-refresh-token"}),
    );
    t.commit_all("init");
    let r = online(&t, &server.uri(), &[]);
    assert_eq!(r.code, 0, "{}", r.stdout);
    let report = r.json();
    for p in paths(&report) {
        assert_eq!(result(&report, &p)["status"], "expired_refreshable", "{p}");
    }
    assert!(
        server.received_requests().await.unwrap().is_empty(),
        "zero requests to any endpoint"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn retries_honour_retry_after_then_succeed() {
    let server = MockServer::start().await;
    let t = TestRepo::new();
    codex_case(&t, "flaky");
    Mock::given(path("/backend-api/wham/usage"))
        .respond_with(ResponseTemplate::new(503).insert_header("retry-after", "1"))
        .up_to_n_times(1)
        .with_priority(1)
        .mount(&server)
        .await;
    Mock::given(path("/backend-api/wham/usage"))
        .respond_with(json_resp(200, json!({"rate_limit":{"allowed":true}})))
        .mount(&server)
        .await;
    t.commit_all("init");
    let started = Instant::now();
    let r = online(&t, &server.uri(), &["--retries", "2"]);
    assert_eq!(
        result(&r.json(), "auths/codex-flaky.json")["status"],
        "active"
    );
    assert!(
        started.elapsed() >= Duration::from_millis(950),
        "waited for Retry-After"
    );
    assert_eq!(server.received_requests().await.unwrap().len(), 2);
}

#[tokio::test(flavor = "multi_thread")]
async fn transient_answers_are_never_dead() {
    let server = MockServer::start().await;
    let t = TestRepo::new();
    let cases = [
        (
            "throttled",
            ResponseTemplate::new(429)
                .set_body_json(json!({"error":{"type":"rate_limit_exceeded"}})),
            "rate_limited",
        ),
        ("down", ResponseTemplate::new(502), "check_error"),
        (
            "waf",
            ResponseTemplate::new(403).set_body_raw("<html>Just a moment...</html>", "text/html"),
            "check_error",
        ),
        (
            "garbage",
            ResponseTemplate::new(200).set_body_raw("garbage", "text/plain"),
            "check_error",
        ),
    ];
    for (name, resp, _) in &cases {
        let v = codex_case(&t, name);
        Mock::given(path("/backend-api/wham/usage"))
            .and(header("authorization", bearer(&access_of(&v)).as_str()))
            .respond_with(resp.clone())
            .expect(2)
            .mount(&server)
            .await;
    }
    t.commit_all("init");
    let r = online(&t, &server.uri(), &["--retries", "1"]);
    assert_eq!(r.code, 0, "transient results are not in the fail set");
    let report = r.json();
    for (name, _, want) in cases {
        let res = result(&report, &format!("auths/codex-{name}.json"));
        assert_eq!(res["status"], want, "{res}");
        assert!(
            res["reason"].as_str().unwrap().contains("after 2 attempts"),
            "{res}"
        );
    }
}

#[test]
fn per_host_cap_bounds_requests_in_flight() {
    let server = CountingServer::start(Duration::from_millis(150), r#"{"usage":{"used":1}}"#);
    let t = TestRepo::new();
    for i in 0..10 {
        t.write_json(
            &format!("auths/kimi-{i}.json"),
            &json!({"type":"kimi","access_token": format!("kimi-tok-{i}-{}", noise("k", 20))}),
        );
    }
    t.commit_all("init");
    let r = online(
        &t,
        &server.uri(),
        &["--concurrency", "16", "--per-host", "3"],
    );
    let report = r.json();
    assert_eq!(report["summary"]["by_status"]["active"], 10, "{report}");
    let max = server
        .max_in_flight
        .load(std::sync::atomic::Ordering::SeqCst);
    assert_eq!(max, 3, "per-host cap of 3 reached but never exceeded");
    let r = online(&t, &server.uri(), &["--concurrency", "2"]);
    assert_eq!(r.json()["summary"]["by_status"]["active"], 10);
    assert!(
        server
            .max_in_flight
            .load(std::sync::atomic::Ordering::SeqCst)
            <= 3
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn timeouts_and_dead_ports_are_check_errors() {
    let server = MockServer::start().await;
    Mock::given(path("/coding/v1/usages"))
        .respond_with(json_resp(200, json!({})).set_delay(Duration::from_secs(5)))
        .mount(&server)
        .await;
    let t = TestRepo::new();
    t.write_json(
        "auths/kimi-slow.json",
        &json!({"type":"kimi","access_token":"kimi-slow-token"}),
    );
    t.commit_all("init");
    let started = Instant::now();
    let r = online(&t, &server.uri(), &["--timeout", "0.5", "--retries", "0"]);
    let res = result(&r.json(), "auths/kimi-slow.json").clone();
    assert_eq!(res["status"], "check_error");
    assert!(
        res["reason"].as_str().unwrap().contains("timed out"),
        "{res}"
    );
    assert!(started.elapsed() < Duration::from_secs(4));

    let dead = format!("http://127.0.0.1:{}", dead_port());
    let r = online(&t, &dead, &["--retries", "1"]);
    let res = result(&r.json(), "auths/kimi-slow.json").clone();
    assert_eq!(res["status"], "check_error");
    assert!(
        res["reason"]
            .as_str()
            .unwrap()
            .contains("connection failed"),
        "{res}"
    );
    assert!(!r.stdout.contains("127.0.0.1"), "no URL in reasons");
}

#[tokio::test(flavor = "multi_thread")]
async fn deadline_turns_the_rest_into_check_error() {
    let server = MockServer::start().await;
    Mock::given(path("/coding/v1/usages"))
        .respond_with(json_resp(200, json!({})).set_delay(Duration::from_secs(10)))
        .mount(&server)
        .await;
    let t = TestRepo::new();
    t.write_json(
        "auths/kimi-slow.json",
        &json!({"type":"kimi","access_token":"kimi-slow-token"}),
    );
    t.commit_all("init");
    let started = Instant::now();
    let r = online(&t, &server.uri(), &["--deadline", "1s"]);
    let res = result(&r.json(), "auths/kimi-slow.json").clone();
    assert_eq!(res["status"], "check_error");
    assert!(
        res["reason"].as_str().unwrap().contains("deadline"),
        "{res}"
    );
    assert!(started.elapsed() < Duration::from_secs(5));
}

#[tokio::test(flavor = "multi_thread")]
async fn endpoint_redirection_keeps_a_base_path_and_comes_from_env_or_config() {
    let server = MockServer::start().await;
    Mock::given(path("/mirror/coding/v1/usages"))
        .respond_with(json_resp(200, json!({"usage":{}})))
        .expect(2)
        .mount(&server)
        .await;
    let t = TestRepo::new();
    t.write_json(
        "auths/kimi.json",
        &json!({"type":"kimi","access_token":"kimi-env-token"}),
    );
    t.commit_all("init");
    let env = format!("https://api.kimi.com={}/mirror/", server.uri());
    let r = run(t
        .credman()
        .args(["scan", "--format", "json"])
        .env("GIT_CREDMAN_ENDPOINTS", &env));
    assert_eq!(result(&r.json(), "auths/kimi.json")["status"], "active");
    t.git(&[
        "config",
        "credman.endpoint",
        &format!("https://api.kimi.com={}/mirror", server.uri()),
    ]);
    let r = run(t.credman().args(["scan", "--format", "json"]));
    assert_eq!(result(&r.json(), "auths/kimi.json")["status"], "active");
}

#[tokio::test(flavor = "multi_thread")]
async fn provider_filter_and_offline_skip() {
    let server = MockServer::start().await;
    Mock::given(path("/backend-api/wham/usage"))
        .respond_with(json_resp(200, json!({"rate_limit":{"allowed":true}})))
        .expect(1)
        .mount(&server)
        .await;
    let t = TestRepo::new();
    codex_case(&t, "only");
    t.write_json(
        "auths/kimi.json",
        &json!({"type":"kimi","access_token":"kimi-filtered-token"}),
    );
    t.write_json("auths/dead.json", &codex_dead("d@x.y", "acct-d"));
    t.write_json(
        "auths/vertex.json",
        &json!({"type":"vertex","service_account":{"private_key":"k","client_email":"sa@x"}}),
    );
    t.commit_all("init");
    let r = online(&t, &server.uri(), &["--provider", "codex"]);
    let report = r.json();
    assert_eq!(paths(&report), ["auths/codex-only.json", "auths/dead.json"]);
    assert_eq!(result(&report, "auths/codex-only.json")["status"], "active");
    assert_eq!(
        result(&report, "auths/dead.json")["status"],
        "expired_by_time",
        "dead offline: no request"
    );
    let r = online(&t, &server.uri(), &["--provider", "vertex"]);
    let v = result(&r.json(), "auths/vertex.json").clone();
    assert_eq!(v["status"], "unverified");
    assert!(
        v["reason"]
            .as_str()
            .unwrap()
            .contains("no online check exists"),
        "{v}"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn no_planted_secret_reaches_online_output() {
    let server = MockServer::start().await;
    Mock::given(path("/api/oauth/usage"))
        .respond_with(json_resp(
            401,
            json!({"error":{"type":"authentication_error","message":"bad token"}}),
        ))
        .mount(&server)
        .await;
    Mock::given(path("/backend-api/wham/usage"))
        .respond_with(json_resp(500, json!({"error":"boom"})))
        .mount(&server)
        .await;
    let t = TestRepo::new();
    let claude = json!({"type":"claude","access_token": claude_access(), "refresh_token": claude_refresh(),
        "proxy_url": "direct"});
    let codex = codex_live("leak@example.com", "acct-leak", "pro");
    t.write_json("auths/claude.json", &claude);
    t.write_json("auths/codex.json", &codex);
    t.commit_all("init");
    let mut planted = secrets_of(&claude);
    planted.extend(secrets_of(&codex));
    std::fs::create_dir(t.home().join("out")).unwrap();
    let r = online(
        &t,
        &server.uri(),
        &["--retries", "0", "-vvv", "--report", "../out/r.json"],
    );
    let text = run(t
        .credman()
        .args(["scan", "--retries", "0"])
        .args(endpoint_args(&server.uri())));
    let report = std::fs::read_to_string(t.home().join("out/r.json")).unwrap();
    for s in &planted {
        for out in [&r.stdout, &r.stderr, &report, &text.stdout, &text.stderr] {
            assert!(!out.contains(s.as_str()), "a planted secret leaked");
        }
    }
}

/// Issue #12 item 11: on a terminal, the progress bar's total is the whole listing from the
/// first frame (`k/6 files`), never a total that grows with the work queued. Run under a real
/// pseudo-terminal with util-linux `script`, as a user would see it.
#[tokio::test(flavor = "multi_thread")]
async fn progress_bar_shows_the_real_total_from_the_start() {
    let server = MockServer::start().await;
    let t = TestRepo::new();
    for i in 0..6 {
        codex_case(&t, &format!("p{i}"));
    }
    // One extra file that is decided offline (no request), still counted by the bar.
    t.write_json(
        "auths/codex-dead.json",
        &codex_dead("d@example.com", "acct-d"),
    );
    Mock::given(method("GET"))
        .and(path("/backend-api/wham/usage"))
        .respond_with(
            json_resp(200, json!({"rate_limit":{"allowed":true}}))
                .set_delay(Duration::from_millis(400)),
        )
        .mount(&server)
        .await;
    t.commit_all("init");
    let bin = env!("CARGO_BIN_EXE_git-credman");
    let mut cmd = format!(
        "{bin} scan --concurrency 2 --report {}/r.json",
        t.home().display()
    );
    for a in endpoint_args(&server.uri()) {
        cmd.push(' ');
        cmd.push_str(&a);
    }
    let out = std::process::Command::new("script")
        .args(["-qfec", &cmd, "/dev/null"])
        .env_clear()
        .envs(scrubbed_env(t.home()))
        .env("TERM", "xterm")
        .env("COLUMNS", "120")
        .current_dir(&t.root)
        .output()
        .unwrap();
    let screen = String::from_utf8_lossy(&out.stdout);
    let totals: Vec<&str> = screen
        .split("checking ")
        .skip(1)
        .filter_map(|frame| frame.split(" files").next())
        .filter_map(|pos_len| pos_len.split('/').nth(1))
        .collect();
    assert!(!totals.is_empty(), "no progress frame drawn: {screen}");
    assert!(totals.iter().all(|t| *t == "7"), "totals {totals:?}");
}
