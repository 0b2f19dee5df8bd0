//! Notifications (`--notify telegram|webhook`, issue #14 item 2) against a local recording
//! server (wiremock's `received_requests`).
//!
//! The Telegram mock follows the Bot API's documented contract
//! (https://core.telegram.org/bots/api#making-requests, #sendmessage): `POST
//! /bot<token>/sendMessage` with a JSON body `{chat_id, text}`; success is 200
//! `{"ok":true,"result":{…}}`, failure a 4xx with `{"ok":false,"error_code":N,"description":…}`
//! (401 "Unauthorized" for a bad token, 400 "Bad Request: chat not found"). The webhook is our
//! own contract (README "Notifications"): any 2xx is delivered.

use serde_json::{Value, json};
use wiremock::matchers::{method, path, path_regex};
use wiremock::{Mock, MockServer, ResponseTemplate};

use crate::support::*;

/// A repository with one alive and one dead codex file (offline: `unverified` and
/// `expired_by_time`), plus their secrets for leak checks.
fn pool(t: &TestRepo, dead: bool) -> Vec<String> {
    let live = codex_live("alice.live@example.com", "acct-live", "plus");
    t.write_json("auths/a.json", &live);
    let mut secrets = secrets_of(&live);
    if dead {
        let gone = codex_dead("bob.dead@example.com", "acct-dead");
        t.write_json("auths/b.json", &gone);
        secrets.extend(secrets_of(&gone));
    }
    t.commit_all("pool");
    secrets
}

/// A webhook receiver at `/hook` answering `status`, expecting exactly `expect` posts when given.
async fn webhook(status: u16, expect: Option<u64>) -> MockServer {
    let server = MockServer::start().await;
    let mock = Mock::given(method("POST"))
        .and(path("/hook"))
        .respond_with(ResponseTemplate::new(status));
    match expect {
        Some(n) => mock.expect(n).mount(&server).await,
        None => mock.mount(&server).await,
    }
    server
}

fn bot_token() -> String {
    format!("{}:{}", 4_242_424_242u64, noise("bot", 35))
}

fn hmac_hex(key: &str, body: &[u8]) -> String {
    let key = ring::hmac::Key::new(ring::hmac::HMAC_SHA256, key.as_bytes());
    use std::fmt::Write as _;
    ring::hmac::sign(&key, body)
        .as_ref()
        .iter()
        .fold(String::new(), |mut s, b| {
            let _ = write!(s, "{b:02x}");
            s
        })
}

fn assert_clean(text: &str, secrets: &[String], t: &TestRepo) {
    for s in secrets {
        assert!(!text.contains(s.as_str()), "a token leaked: {text}");
    }
    for who in ["alice.live@example.com", "bob.dead@example.com"] {
        assert!(!text.contains(who), "an identity leaked: {text}");
    }
    let home = t.home().display().to_string();
    assert!(!text.contains(&home), "a local path leaked: {text}");
}

#[tokio::test(flavor = "multi_thread")]
async fn webhook_gets_a_signed_summary_and_the_report_records_it() {
    let server = webhook(204, Some(1)).await;
    let t = TestRepo::new();
    let secrets = pool(&t, true);
    t.git(&[
        "config",
        "credman.webhookUrl",
        &format!("{}/hook", server.uri()),
    ]);
    let key = noise("hmac", 32);
    let report = t.home().join("report.json");
    let r = run(t
        .credman()
        .env("GIT_CREDMAN_WEBHOOK_SECRET", &key)
        .args(["scan", "--offline", "--notify", "webhook", "--report"])
        .arg(&report));
    assert_eq!(r.code, 1, "the dead file sets the exit code: {}", r.stderr);
    assert!(!r.stderr.contains("notification"), "{}", r.stderr);

    let reqs = server.received_requests().await.unwrap();
    assert_eq!(reqs.len(), 1);
    let req = &reqs[0];
    assert_eq!(req.headers["content-type"], "application/json");
    let sig = req.headers["x-credman-signature"].to_str().unwrap();
    assert_eq!(sig, format!("sha256={}", hmac_hex(&key, &req.body)));
    assert_ne!(sig, format!("sha256={}", hmac_hex("other", &req.body)));
    let text = String::from_utf8(req.body.clone()).unwrap();
    assert_clean(&text, &secrets, &t);
    assert!(!text.contains(&key));
    let body: Value = serde_json::from_str(&text).unwrap();
    assert_eq!(body["schema"], "git-credman.notification/1");
    assert_eq!(body["command"], "scan");
    assert_eq!(body["reason"], "dead");
    assert_eq!(body["total"], 2);
    assert_eq!(
        body["by_status"],
        json!({"unverified": 1, "expired_by_time": 1})
    );
    assert_eq!(body["by_class"], json!({"alive": 1, "dead": 1}));
    assert_eq!(body["source"]["kind"], "head");
    assert_eq!(body["source"]["name"], "repo");
    assert_eq!(
        body["source"]["commit"],
        t.git(&["rev-parse", "HEAD"]).trim()
    );
    assert_eq!(body["dead"][0]["status"], "expired_by_time");
    assert!(body["dead"][0].get("path").is_none(), "{body:#}");
    assert!(body["duration_ms"].is_u64());
    assert!(body["text"].as_str().unwrap().contains("1 dead"));

    let doc = read_report(&report);
    assert_eq!(
        doc["notifications"],
        json!([{"target": "webhook", "delivered": true, "http_status": 204}])
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn telegram_gets_send_message_after_a_prune_with_the_commit() {
    let server = MockServer::start().await;
    let token = bot_token();
    Mock::given(method("POST"))
        .and(path(format!("/bot{token}/sendMessage")))
        .respond_with(
            ResponseTemplate::new(200)
                .set_body_json(json!({"ok": true, "result": {"message_id": 7}})),
        )
        .expect(1)
        .mount(&server)
        .await;
    let t = TestRepo::new();
    let secrets = pool(&t, true);
    t.git(&["config", "credman.telegramChat", "-1001234567890"]);
    let r = run(t
        .credman()
        .env("GIT_CREDMAN_TELEGRAM_TOKEN", &token)
        .env(
            "GIT_CREDMAN_ENDPOINTS",
            format!("https://api.telegram.org={}", server.uri()),
        )
        .env("GIT_CREDMAN_NOTIFY", "telegram")
        .args(["prune", "--offline", "--format", "json"]));
    assert_eq!(r.code, 0, "{}", r.stderr);
    let doc = r.json();
    assert_eq!(
        doc["notifications"],
        json!([{"target": "telegram", "delivered": true, "http_status": 200}])
    );
    let head = t.git(&["rev-parse", "HEAD"]).trim().to_owned();
    assert_eq!(doc["prune"]["commit"], head);

    let reqs = server.received_requests().await.unwrap();
    assert_eq!(reqs.len(), 1);
    let text = String::from_utf8(reqs[0].body.clone()).unwrap();
    assert_clean(&text, &secrets, &t);
    assert!(!text.contains(&token));
    let body: Value = serde_json::from_str(&text).unwrap();
    assert_eq!(body["chat_id"], "-1001234567890");
    let msg = body["text"].as_str().unwrap();
    assert!(
        msg.starts_with("git-credman prune (offline, head repo HEAD @"),
        "{msg}"
    );
    assert!(msg.contains("2 credential(s): 1 alive, 1 dead"), "{msg}");
    assert!(msg.contains("expired_by_time 1"), "{msg}");
    assert!(
        msg.contains(&format!("removed 1 in commit {} on main", &head[..12])),
        "{msg}"
    );
    assert!(msg.contains("\ntook "), "{msg}");
    // The commit message never mentions notifications: they come after it.
    t.git(&["fsck", "--strict"]);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_failed_notification_is_one_stderr_line_and_keeps_the_exit_code() {
    let server = MockServer::start().await;
    let token = bot_token();
    Mock::given(method("POST"))
        .and(path_regex("^/bot.*/sendMessage$"))
        .respond_with(
            ResponseTemplate::new(401).set_body_json(
                json!({"ok": false, "error_code": 401, "description": "Unauthorized"}),
            ),
        )
        .mount(&server)
        .await;
    // A webhook nobody listens on: a port that was free a moment ago.
    let closed = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let dead_url = format!("http://{}/hook", closed.local_addr().unwrap());
    drop(closed);
    let t = TestRepo::new();
    pool(&t, true);
    t.git(&["config", "credman.telegramChat", "@pool"]);
    t.git(&["config", "credman.webhookUrl", &dead_url]);
    let endpoint = format!("https://api.telegram.org={}", server.uri());
    let base = run(t.credman().args(["scan", "--offline", "--format", "json"]));
    let r = run(t
        .credman()
        .env("GIT_CREDMAN_TELEGRAM_TOKEN", &token)
        .args([
            "scan",
            "--offline",
            "--format",
            "json",
            "--endpoint",
            &endpoint,
        ])
        .args(["--notify", "telegram,webhook"]));
    assert_eq!(r.code, base.code, "{}", r.stderr);
    assert_eq!(r.code, 1);
    let lines: Vec<&str> = r.stderr.lines().collect();
    assert_eq!(lines.len(), 2, "{}", r.stderr);
    assert_eq!(
        lines[0],
        "warning: the telegram notification failed: HTTP 401: Unauthorized; the exit code is unchanged."
    );
    assert!(
        lines[1].starts_with("warning: the webhook notification failed: connection failed"),
        "{}",
        lines[1]
    );
    for leak in [token.as_str(), "/bot", &server.uri(), &dead_url] {
        assert!(!r.stderr.contains(leak), "{leak} in {}", r.stderr);
        assert!(!r.stdout.contains(leak), "{leak} in the report");
    }
    let doc = r.json();
    assert_eq!(doc["notifications"][0]["delivered"], false);
    assert_eq!(doc["notifications"][0]["http_status"], 401);
    assert_eq!(doc["notifications"][1]["target"], "webhook");
    assert_eq!(doc["notifications"][1]["http_status"], Value::Null);
    assert_eq!(server.received_requests().await.unwrap().len(), 1);
}

#[tokio::test(flavor = "multi_thread")]
async fn thresholds_decide_whether_anything_is_sent() {
    let server = webhook(200, None).await;
    let t = TestRepo::new();
    pool(&t, false);
    t.git(&[
        "config",
        "credman.webhookUrl",
        &format!("{}/hook", server.uri()),
    ]);
    t.git(&["config", "credman.notify", "webhook"]);
    let scan = |when: Option<&str>| {
        let mut cmd = t.credman();
        cmd.args(["scan", "--offline", "--format", "json"]);
        if let Some(w) = when {
            cmd.args(["--notify-when", w]);
        }
        run(&mut cmd)
    };
    // Nothing dead, no breaker: the default threshold sends nothing.
    let r = scan(None);
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert!(r.json().get("notifications").is_none());
    let r = scan(Some("alive-below:1"));
    assert!(r.json().get("notifications").is_none());
    assert!(server.received_requests().await.unwrap().is_empty());
    // One of one alive is below 2, and below 100.5 % is not a valid percentage.
    let r = scan(Some("alive-below:2"));
    assert_eq!(r.json()["notifications"][0]["delivered"], true);
    let r = scan(Some("always"));
    assert_eq!(r.code, 0);
    let reqs = server.received_requests().await.unwrap();
    assert_eq!(reqs.len(), 2);
    let last: Value = serde_json::from_slice(&reqs[1].body).unwrap();
    assert_eq!(last["reason"], "always");
    // No signature without a secret.
    assert!(reqs[1].headers.get("x-credman-signature").is_none());
    // `--notify none` overrides the configured target.
    let r = run(t.credman().args([
        "scan",
        "--offline",
        "--notify",
        "none",
        "--notify-when",
        "always",
    ]));
    assert_eq!(r.code, 0);
    assert_eq!(server.received_requests().await.unwrap().len(), 2);
}

#[test]
fn bad_notification_settings_exit_2_with_one_line() {
    let t = TestRepo::new();
    pool(&t, false);
    type Case<'a> = (Vec<&'a str>, Vec<(&'a str, String)>, &'a str);
    let cases: Vec<Case> = vec![
        (vec!["--notify", "slack"], vec![], "unknown target 'slack'"),
        (
            vec!["--notify", "telegram"],
            vec![],
            "--notify telegram needs the bot token",
        ),
        (
            vec!["--notify", "telegram"],
            vec![("GIT_CREDMAN_TELEGRAM_TOKEN", bot_token())],
            "--notify telegram needs the chat",
        ),
        (
            vec!["--notify", "webhook"],
            vec![],
            "--notify webhook needs the URL",
        ),
        (
            vec!["--notify", "webhook", "--notify-when", "sometimes"],
            vec![("GIT_CREDMAN_WEBHOOK_URL", "http://127.0.0.1:9/x".into())],
            "invalid value 'sometimes' for --notify-when",
        ),
    ];
    for (args, env, want) in cases {
        let r = run(t
            .credman()
            .args(["scan", "--offline"])
            .args(&args)
            .envs(env));
        assert_eq!(r.code, 2, "{args:?}: {}", r.stderr);
        assert_eq!(r.stderr.lines().count(), 1, "{}", r.stderr);
        assert!(r.stderr.contains(want), "{args:?}: {}", r.stderr);
    }
    // A token in git config is refused, not read, and not repeated.
    let token = bot_token();
    t.git(&["config", "credman.telegramToken", &token]);
    t.git(&["config", "credman.telegramChat", "1"]);
    let r = run(t
        .credman()
        .args(["scan", "--offline", "--notify", "telegram"]));
    assert_eq!(r.code, 2);
    assert!(
        r.stderr.contains("credman.telegramToken is not read"),
        "{}",
        r.stderr
    );
    assert!(!r.stderr.contains(&token));
    // A webhook URL with a key in it is never repeated in an error.
    let r = run(t
        .credman()
        .env(
            "GIT_CREDMAN_WEBHOOK_URL",
            "ftp://hooks.example/T000/SECRETPART",
        )
        .args(["scan", "--offline", "--notify", "webhook"]));
    assert_eq!(r.code, 2);
    assert!(!r.stderr.contains("SECRETPART"), "{}", r.stderr);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_tripped_breaker_is_sent_with_its_verdict() {
    let server = webhook(200, Some(1)).await;
    let t = TestRepo::new();
    pool(&t, true);
    let before = t.git(&["rev-parse", "HEAD"]);
    let r = run(t
        .credman()
        .env("GIT_CREDMAN_WEBHOOK_URL", format!("{}/hook", server.uri()))
        .args([
            "prune",
            "--offline",
            "--max-delete",
            "0",
            "--notify",
            "webhook",
        ]));
    assert_eq!(r.code, 3, "{}", r.stderr);
    assert_eq!(t.git(&["rev-parse", "HEAD"]), before);
    let reqs = server.received_requests().await.unwrap();
    let body: Value = serde_json::from_slice(&reqs[0].body).unwrap();
    assert_eq!(body["reason"], "breaker");
    assert_eq!(body["command"], "prune");
    assert!(body["breaker"].as_str().unwrap().contains('1'), "{body:#}");
    assert_eq!(body["prune"]["removed"], 0);
    assert!(body["text"].as_str().unwrap().contains("breaker tripped: "));
}

#[tokio::test(flavor = "multi_thread")]
async fn the_bot_token_is_not_logged_even_at_trace_level() {
    let server = MockServer::start().await;
    let token = bot_token();
    Mock::given(method("POST"))
        .and(path(format!("/bot{token}/sendMessage")))
        .respond_with(ResponseTemplate::new(502).set_body_string("<html>bad gateway</html>"))
        .mount(&server)
        .await;
    let t = TestRepo::new();
    pool(&t, true);
    t.git(&["config", "credman.telegramChat", "1"]);
    let r = run(t
        .credman()
        .env("GIT_CREDMAN_TELEGRAM_TOKEN", &token)
        .env(
            "GIT_CREDMAN_ENDPOINTS",
            format!("https://api.telegram.org={}", server.uri()),
        )
        .args(["-vvv", "scan", "--offline", "--notify", "telegram"]));
    assert_eq!(r.code, 1, "{}", r.stderr);
    assert!(
        r.stderr
            .contains("warning: the telegram notification failed: HTTP 502;"),
        "{}",
        r.stderr
    );
    assert!(!r.stderr.contains(&token), "{}", r.stderr);
    assert!(!r.stdout.contains(&token));
    let secret_part = token.split(':').nth(1).unwrap();
    assert!(!r.stderr.contains(secret_part));
}

#[tokio::test(flavor = "multi_thread")]
async fn a_prune_whose_push_fails_after_the_commit_says_so() {
    let server = webhook(200, Some(1)).await;
    let t = TestRepo::new();
    pool(&t, true);
    let missing = t.home().join("no-such-remote.git");
    t.git(&["remote", "add", "origin", missing.to_str().unwrap()]);
    let r = run(t
        .credman()
        .env("GIT_CREDMAN_WEBHOOK_URL", format!("{}/hook", server.uri()))
        .args(["prune", "--offline", "--push", "--notify", "webhook"]));
    assert_eq!(r.code, 2, "{}", r.stderr);
    let reqs = server.received_requests().await.unwrap();
    let body: Value = serde_json::from_slice(&reqs[0].body).unwrap();
    assert_eq!(body["failed"], true, "{body:#}");
    assert_eq!(body["prune"]["removed"], 1);
    assert_eq!(
        body["prune"]["commit"],
        t.git(&["rev-parse", "HEAD"]).trim()
    );
    assert!(
        body["text"]
            .as_str()
            .unwrap()
            .contains("then it failed (exit 2")
    );
}
