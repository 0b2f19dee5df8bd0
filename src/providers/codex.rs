//! Codex (ChatGPT OAuth): `GET https://chatgpt.com/backend-api/wham/usage` (free; reports quota
//! windows), or with `--codex-probe responses` the predecessor's one-word model request.

use serde_json::{Value, json};

use super::{
    Body, CodexProbe, Method, Probe, ProbeOptions, ProbeRequest, ProbeResponse, Step, fallback,
    time_of, verdict,
};
use crate::credential::{Credential, Secret};
use crate::status::Status;

/// The usage endpoint.
pub const USAGE_URL: &str = "https://chatgpt.com/backend-api/wham/usage";
/// The responses endpoint.
pub const RESPONSES_URL: &str = "https://chatgpt.com/backend-api/codex/responses";
const USER_AGENT: &str = "codex_cli_rs/0.76.0 (git-credman)";

struct Codex {
    request: ProbeRequest,
    responses: bool,
}

/// Returns the codex probe, or `None` without an access token.
pub fn probe(cred: &Credential, opts: &ProbeOptions) -> Option<Box<dyn Probe>> {
    let token = cred.access_token.as_ref()?;
    let responses = opts.codex_probe == CodexProbe::Responses;
    let mut request = if responses {
        let body = json!({"model": opts.codex_model, "instructions": "Reply with one word.",
            "input": [{"role": "user", "content": [{"type": "input_text", "text": "ping"}]}],
            "store": false, "stream": true});
        let mut r = ProbeRequest::get_bearer(RESPONSES_URL, token);
        r.method = Method::Post;
        r.body = Some(Body::Json(Secret::new(body.to_string())));
        r.header("openai-beta", "responses=experimental")
            .header("originator", "codex_cli_rs")
    } else {
        ProbeRequest::get_bearer(USAGE_URL, token)
    };
    request = request.header("user-agent", USER_AGENT);
    if let Some(account) = &cred.account_id {
        request = request.header("chatgpt-account-id", account.clone());
    }
    Some(Box::new(Codex { request, responses }))
}

impl Probe for Codex {
    fn start(&mut self) -> ProbeRequest {
        self.request.clone()
    }

    fn on_response(&mut self, resp: &ProbeResponse) -> Step {
        classify(resp, self.responses)
    }
}

/// Classifies a codex answer (usage or responses probe).
pub fn classify(resp: &ProbeResponse, responses: bool) -> Step {
    let code = resp.status;
    match code {
        200 | 201 if responses => {
            Step::Done(verdict(Status::Active, code, "model request accepted"))
        }
        200 => match resp.json() {
            Some(body) => Step::Done(usage_verdict(&body)),
            None => Step::Retry(verdict(
                Status::CheckError,
                code,
                "usage answer is not JSON",
            )),
        },
        400 if responses
            && !resp.is_html()
            && (resp.mentions("model")
                || resp.mentions("param")
                || resp.mentions("payload")
                || resp.mentions("invalid_request")) =>
        {
            Step::Done(verdict(
                Status::Active,
                code,
                "token accepted; the probe payload or model was refused",
            ))
        }
        401 | 403
            if !resp.is_html()
                && (resp.mentions("token_invalidated") || resp.mentions("token_revoked")) =>
        {
            Step::Done(verdict(
                Status::Invalidated,
                code,
                "token invalidated or revoked (re-login needed)",
            ))
        }
        401 | 403
            if !resp.is_html()
                && (resp.mentions("account_deactivated") || resp.mentions("deactivated")) =>
        {
            Step::Done(verdict(Status::Deactivated, code, "account deactivated"))
        }
        401 if !resp.is_html() => Step::Done(verdict(
            Status::Unauthorized,
            code,
            "token rejected (HTTP 401)",
        )),
        429 if resp.mentions("usage_limit_reached") => {
            let body = resp.json().unwrap_or(Value::Null);
            let err = body.get("error").unwrap_or(&body);
            let reset = time_of(err.get("resets_at")).or_else(|| {
                err.get("resets_in_seconds")
                    .and_then(Value::as_i64)
                    .map(|s| chrono::Utc::now() + chrono::Duration::seconds(s))
            });
            let mut v = verdict(Status::UsageLimited, code, "usage limit reached");
            v.reset_at = reset;
            Step::Done(v)
        }
        _ => fallback(resp),
    }
}

/// Turns a 200 usage body into `active` or `usage_limited` (with the reset time).
fn usage_verdict(body: &Value) -> crate::verdict::Verdict {
    let rl = body
        .get("rate_limit")
        .or_else(|| body.get("rateLimit"))
        .unwrap_or(&Value::Null);
    let flag = |k: &str, camel: &str| rl.get(k).or_else(|| rl.get(camel)).and_then(Value::as_bool);
    let limited = flag("limit_reached", "limitReached") == Some(true)
        || flag("allowed", "allowed") == Some(false);
    let windows: Vec<&Value> = ["primary_window", "secondary_window"]
        .iter()
        .filter_map(|w| rl.get(*w))
        .collect();
    let used = |w: &Value| w.get("used_percent").and_then(Value::as_f64).unwrap_or(0.0);
    let full: Vec<&&Value> = windows.iter().filter(|w| used(w) >= 100.0).collect();
    let plan = body
        .get("plan_type")
        .and_then(Value::as_str)
        .map(|p| format!(" ({p})"))
        .unwrap_or_default();
    if limited || !full.is_empty() {
        let reset = full
            .iter()
            .filter_map(|w| time_of(w.get("reset_at")))
            .max()
            .or_else(|| {
                windows
                    .iter()
                    .filter_map(|w| time_of(w.get("reset_at")))
                    .max()
            });
        let mut v = verdict(
            Status::UsageLimited,
            200,
            format!("usage limit reached{plan}"),
        );
        v.reset_at = reset;
        v
    } else {
        verdict(
            Status::Active,
            200,
            format!("usage endpoint accepted the token{plan}"),
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::providers::test_support::*;

    #[test]
    fn classify_table() {
        let cases: Vec<(ProbeResponse, bool, Status, &str)> = vec![
            (
                resp(
                    200,
                    r#"{"plan_type":"plus","rate_limit":{"allowed":true,"limit_reached":false}}"#,
                ),
                false,
                Status::Active,
                "done",
            ),
            (
                resp(
                    200,
                    r#"{"rate_limit":{"allowed":false,"limit_reached":true,"primary_window":{"used_percent":100,"reset_at":1900000000}}}"#,
                ),
                false,
                Status::UsageLimited,
                "done",
            ),
            (
                resp(
                    200,
                    r#"{"rate_limit":{"allowed":true,"secondary_window":{"used_percent":100.0,"reset_at":1900000000}}}"#,
                ),
                false,
                Status::UsageLimited,
                "done",
            ),
            (resp(200, "not json"), false, Status::CheckError, "retry"),
            (
                resp(401, r#"{"error":{"code":"token_invalidated"}}"#),
                false,
                Status::Invalidated,
                "done",
            ),
            (
                resp(401, r#"{"error":{"code":"token_revoked"}}"#),
                false,
                Status::Invalidated,
                "done",
            ),
            (
                resp(403, r#"{"error":{"code":"account_deactivated"}}"#),
                false,
                Status::Deactivated,
                "done",
            ),
            (
                resp(
                    401,
                    r#"{"error":{"message":"Your OpenAI account has been deactivated"}}"#,
                ),
                false,
                Status::Deactivated,
                "done",
            ),
            (
                resp(401, r#"{"error":{"code":"invalid_api_key"}}"#),
                false,
                Status::Unauthorized,
                "done",
            ),
            (
                resp(403, r#"{"error":{"code":"forbidden"}}"#),
                false,
                Status::Unknown,
                "done",
            ),
            (html(403), false, Status::CheckError, "retry"),
            (html(401), false, Status::CheckError, "retry"),
            (resp(404, "{}"), false, Status::Unknown, "done"),
            (
                resp(
                    429,
                    r#"{"error":{"type":"usage_limit_reached","resets_at":1900000000}}"#,
                ),
                false,
                Status::UsageLimited,
                "done",
            ),
            (
                resp(429, r#"{"error":{"type":"rate_limit_exceeded"}}"#),
                false,
                Status::RateLimited,
                "retry",
            ),
            (resp(500, ""), false, Status::CheckError, "retry"),
            (resp(503, "<html>"), false, Status::CheckError, "retry"),
            (
                resp(200, "event: response.created"),
                true,
                Status::Active,
                "done",
            ),
            (
                resp(400, r#"{"detail":"The 'gpt-x' model is not supported"}"#),
                true,
                Status::Active,
                "done",
            ),
            (
                resp(400, r#"{"detail":"whatever"}"#),
                true,
                Status::Unknown,
                "done",
            ),
        ];
        for (r, responses, want, kind) in cases {
            let step = classify(&r, responses);
            assert_eq!(status_of(&step), (want, kind), "{} {}", r.status, r.body);
        }
    }

    #[test]
    fn usage_limit_reports_reset_time() {
        let r = resp(
            200,
            r#"{"rate_limit":{"limit_reached":true,"primary_window":{"used_percent":100,"reset_at":1900000000},"secondary_window":{"used_percent":20,"reset_at":1900500000}}}"#,
        );
        let Step::Done(v) = classify(&r, false) else {
            panic!()
        };
        assert_eq!(v.reset_at.unwrap().timestamp(), 1_900_000_000);
        assert_eq!(v.http_status, Some(200));
    }

    #[test]
    fn request_carries_token_in_header_and_account_id() {
        let c = Credential::from_json(
            serde_json::json!({"type":"codex","access_token":"tok-123","account_id":"acct"})
                .as_object()
                .unwrap(),
        );
        let mut p = probe(&c, &ProbeOptions::default()).unwrap();
        let req = p.start();
        assert_eq!(req.url, USAGE_URL);
        assert!(!req.url.contains("tok-123"));
        let h = |n: &str| {
            req.headers
                .iter()
                .find(|(k, _)| *k == n)
                .map(|(_, v)| v.expose().to_owned())
        };
        assert_eq!(h("authorization").as_deref(), Some("Bearer tok-123"));
        assert_eq!(h("chatgpt-account-id").as_deref(), Some("acct"));
    }
}
