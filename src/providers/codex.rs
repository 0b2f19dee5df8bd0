//! Codex (ChatGPT OAuth): `GET https://chatgpt.com/backend-api/wham/usage` (free; reports quota
//! windows), or with `--codex-probe responses` the predecessor's one-word model request.
//!
//! Files: `type: "codex"`, flat `access_token` (JWT) / `refresh_token` / `id_token`, identity from
//! `email` and `account_id` (the id_token's `chatgpt_account_id`), plan from the id_token claim
//! `chatgpt_plan_type` (reference §2.1). The refresh token is single-use and rotates.

use serde_json::{Value, json};

use super::rule::{Decision, On, Rule, Spec, Stage, Then, When, decide, seconds_from_now, time_of};
use super::{Body, CodexProbe, Method, Probe, ProbeOptions, ProbeRequest, ProbeResponse, Step};
use crate::credential::{Credential, Secret};
use crate::status::Status;
use crate::verdict::Verdict;

/// The usage endpoint.
pub const USAGE_URL: &str = "https://chatgpt.com/backend-api/wham/usage";
/// The responses endpoint.
pub const RESPONSES_URL: &str = "https://chatgpt.com/backend-api/codex/responses";
/// What the Management Center sends for its own usage call (`src/utils/quota/constants.ts`).
const USER_AGENT: &str = "codex_cli_rs/0.76.0 (git-credman)";

const CPA_CODEX: &str =
    "reference §4 (observed upstream body); CPA suspends the auth (codex executor)";

/// Answers about the token itself, shared by both codex probes.
const AUTH: &[Rule] = &[
    Rule {
        on: On::Codes(&[401, 403]),
        when: When::Mentions(&["token_invalidated", "token_revoked"]),
        then: Then::Done(Status::Invalidated),
        reason: "token invalidated or revoked (re-login needed)",
        example: r#"{"error":{"message":"Your authentication token has been invalidated. Please try signing in again.","type":"invalid_request_error","code":"token_invalidated","param":null},"status":401}"#,
        evidence: CPA_CODEX,
        annotate: None,
    },
    Rule {
        on: On::Codes(&[401, 403]),
        when: When::Mentions(&["account_deactivated", "account has been deactivated"]),
        then: Then::Done(Status::Deactivated),
        reason: "account deactivated",
        example: r#"{"error":{"message":"Your OpenAI account has been deactivated, please check your email for more information.","type":"invalid_request_error","code":"account_deactivated","param":null},"status":401}"#,
        evidence: "reference §4 (observed upstream body); permanent",
        annotate: None,
    },
    Rule {
        on: On::Code(401),
        when: When::Any,
        then: Then::Done(Status::Unauthorized),
        reason: "access token refused (HTTP 401)",
        example: r#"{"error":{"message":"Provided authentication token is expired. Please try signing in again.","type":"invalid_request_error","code":"token_expired","param":null},"status":401}"#,
        evidence: "CPA refreshes once after a 401 and only then marks the auth (conductor_refresh.go:462-480, 545-550)",
        annotate: None,
    },
    Rule {
        on: On::Any,
        when: When::Mentions(&["usage_limit_reached"]),
        then: Then::Done(Status::UsageLimited),
        reason: "usage limit reached",
        example: r#"{"error":{"type":"usage_limit_reached","message":"The usage limit has been reached","plan_type":"plus","resets_at":1900000000,"resets_in_seconds":3600}}"#,
        evidence: "CPA re-codes error.type usage_limit_reached (any status, 429 usually) as 429 with reset from resets_at / resets_in_seconds (codex_executor_terminal.go:367-405)",
        annotate: Some(limit_reset),
    },
];

/// The usage probe's own answers.
const USAGE: &[Rule] = &[
    Rule {
        on: On::Code(200),
        when: When::Test(
            "`rate_limit` exhausted (`limit_reached`, `allowed: false` or a window at 100 %)",
            usage_exhausted,
        ),
        then: Then::Done(Status::UsageLimited),
        reason: "usage limit reached",
        example: r#"{"plan_type":"plus","rate_limit":{"allowed":false,"limit_reached":true,"primary_window":{"used_percent":100,"limit_window_seconds":18000,"reset_after_seconds":3600,"reset_at":1900000000},"secondary_window":{"used_percent":40,"limit_window_seconds":604800,"reset_after_seconds":90000,"reset_at":1900090000}}}"#,
        evidence: "the Management Center's codex quota view reads these fields (reference §6)",
        annotate: Some(window_reset),
    },
    Rule {
        on: On::Code(200),
        when: When::Test("a JSON body", is_usage_json),
        then: Then::Done(Status::Active),
        reason: "usage endpoint accepted the token",
        example: r#"{"plan_type":"plus","rate_limit":{"allowed":true,"limit_reached":false,"primary_window":{"used_percent":12,"limit_window_seconds":18000,"reset_after_seconds":9000,"reset_at":1900000000}},"credits":{"has_credits":false,"unlimited":false,"balance":"0"}}"#,
        evidence: "reference §6 (wham/usage 200 body)",
        annotate: Some(usage_quota),
    },
    Rule {
        on: On::Code(200),
        when: When::Any,
        then: Then::Retry(Status::CheckError),
        reason: "usage answer is not JSON",
        example: "upstream connect error",
        evidence: "a 200 that is not the documented JSON is no evidence",
        annotate: None,
    },
];

/// The responses probe's own answers.
const RESPONSES: &[Rule] = &[
    Rule {
        on: On::Codes(&[200, 201]),
        when: When::Test(
            "a Responses event stream (`event:`/`data:` lines) or a JSON object",
            is_responses_answer,
        ),
        then: Then::Done(Status::Active),
        reason: "model request accepted",
        example: "event: response.created\ndata: {\"type\":\"response.created\",\"response\":{\"id\":\"resp_1\",\"status\":\"in_progress\"}}\n\n",
        evidence: "OpenAI Responses API streaming format (server-sent events)",
        annotate: None,
    },
    Rule {
        on: On::Codes(&[200, 201]),
        when: When::Any,
        then: Then::Retry(Status::CheckError),
        reason: "a 2xx that is not a Responses stream or JSON",
        example: "OK",
        evidence: "a 2xx without the documented body is no evidence (issue #17)",
        annotate: None,
    },
    Rule {
        on: On::Code(400),
        when: When::Mentions(&["model", "unsupported_parameter", "payload"]),
        then: Then::Done(Status::Active),
        reason: "token accepted; the probe payload or model was refused",
        example: r#"{"detail":"The 'gpt-x' model is not supported when using Codex with a ChatGPT account."}"#,
        evidence: "the token is checked before the payload: a payload error proves the token works",
        annotate: None,
    },
];

/// Codex's whole story.
pub const SPEC: Spec = Spec {
    types: "codex",
    identity: "`type: codex`; `email`, `account_id` (id_token `chatgpt_account_id`), plan from the id_token",
    rotating_refresh: true,
    stages: &[
        Stage {
            request: "`GET https://chatgpt.com/backend-api/wham/usage` (Bearer + `Chatgpt-Account-Id`)",
            tables: &[USAGE, AUTH],
        },
        Stage {
            request: "with `--codex-probe responses`: `POST …/backend-api/codex/responses`, one word to `--codex-model`",
            tables: &[RESPONSES, AUTH],
        },
    ],
    notes: "an expired access token is `expired_refreshable` without any request",
};

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
        r.header(
            const { http::HeaderName::from_static("openai-beta") },
            "responses=experimental",
        )
        .header(
            const { http::HeaderName::from_static("originator") },
            "codex_cli_rs",
        )
    } else {
        ProbeRequest::get_bearer(USAGE_URL, token)
    };
    request = request.header(http::header::USER_AGENT, USER_AGENT);
    if let Some(account) = &cred.account_id {
        request = request.header(
            const { http::HeaderName::from_static("chatgpt-account-id") },
            account.clone(),
        );
    }
    Some(Box::new(Codex { request, responses }))
}

impl Probe for Codex {
    fn start(&mut self) -> ProbeRequest {
        self.request.take()
    }

    fn on_response(&mut self, resp: &ProbeResponse) -> Step {
        super::step(classify(resp, self.responses))
    }
}

/// Classifies a codex answer (usage or responses probe).
pub fn classify(resp: &ProbeResponse, responses: bool) -> Decision {
    if responses {
        decide(&[RESPONSES, AUTH], resp)
    } else {
        decide(&[USAGE, AUTH], resp)
    }
}

/// The fields of a `wham/usage` answer the verdict reads (reference §5): the plan, the two
/// flags and the two windows of `rate_limit` (also spelled `rateLimit`).
///
/// Read straight from the body when it is an object of the expected types: building a `Value`
/// of the whole answer cost about as much CPU as the request itself at thousands of probes a
/// second (issue 13). Anything else (a field of another type, both spellings, a key twice) is
/// read from the parsed `Value` as leniently as before: a flag that is not a boolean is no
/// flag, a number that is not one is no number.
#[derive(Clone, Debug, Default, PartialEq, serde::Deserialize)]
pub(crate) struct Usage {
    #[serde(default)]
    plan_type: Option<String>,
    #[serde(default, alias = "rateLimit")]
    rate_limit: Option<RateLimit>,
}

#[derive(Clone, Debug, Default, PartialEq, serde::Deserialize)]
struct RateLimit {
    #[serde(default, alias = "limitReached")]
    limit_reached: Option<bool>,
    #[serde(default)]
    allowed: Option<bool>,
    #[serde(default)]
    primary_window: Option<UsageWindow>,
    #[serde(default)]
    secondary_window: Option<UsageWindow>,
}

#[derive(Clone, Debug, Default, PartialEq, serde::Deserialize)]
struct UsageWindow {
    #[serde(default)]
    used_percent: Option<f64>,
    #[serde(default)]
    limit_window_seconds: Option<u64>,
    /// Seconds, milliseconds or a date (`rule::time_of`); never `null`.
    #[serde(default)]
    reset_at: Option<Value>,
}

impl Usage {
    /// Parses the answer once (cached on the response, see `ProbeResponse::codex_usage`):
    /// `None` when the body is not JSON at all.
    pub(crate) fn of(resp: &ProbeResponse) -> Option<Self> {
        Self::typed(&resp.body).or_else(|| resp.json().map(Self::from_value))
    }

    /// The typed read, for an object whose fields have the expected types.
    fn typed(body: &str) -> Option<Self> {
        // A struct would also be read from an array, by position.
        if !body.trim_start().starts_with('{') {
            return None;
        }
        serde_json::from_str(body).ok()
    }

    /// The lenient read of any JSON value.
    fn from_value(body: &Value) -> Self {
        let rl = body
            .get("rate_limit")
            .or_else(|| body.get("rateLimit"))
            .unwrap_or(&Value::Null);
        let flag =
            |k: &str, camel: &str| rl.get(k).or_else(|| rl.get(camel)).and_then(Value::as_bool);
        let window = |k: &str| {
            let w = rl.get(k).filter(|w| w.is_object())?;
            Some(UsageWindow {
                used_percent: w.get("used_percent").and_then(Value::as_f64),
                limit_window_seconds: w.get("limit_window_seconds").and_then(Value::as_u64),
                reset_at: w.get("reset_at").filter(|v| !v.is_null()).cloned(),
            })
        };
        let rate_limit = rl.is_object().then(|| RateLimit {
            limit_reached: flag("limit_reached", "limitReached"),
            allowed: flag("allowed", "allowed"),
            primary_window: window("primary_window"),
            secondary_window: window("secondary_window"),
        });
        Self {
            plan_type: body
                .get("plan_type")
                .and_then(Value::as_str)
                .map(str::to_owned),
            rate_limit,
        }
    }

    /// The windows with their keys' short names (`primary`, `secondary`).
    fn windows(&self) -> impl Iterator<Item = (&'static str, &UsageWindow)> {
        let rl = self.rate_limit.as_ref();
        [
            ("primary", rl.and_then(|r| r.primary_window.as_ref())),
            ("secondary", rl.and_then(|r| r.secondary_window.as_ref())),
        ]
        .into_iter()
        .filter_map(|(name, w)| Some((name, w?)))
    }

    fn used_up(w: &UsageWindow) -> bool {
        w.used_percent.unwrap_or(0.0) >= 100.0
    }
}

/// Whether the answer is JSON (any JSON: the 200 row reads "a JSON body").
fn is_usage_json(resp: &ProbeResponse) -> bool {
    resp.codex_usage().is_some()
}

fn usage_exhausted(resp: &ProbeResponse) -> bool {
    let Some(u) = resp.codex_usage() else {
        return false;
    };
    let rl = u.rate_limit.as_ref();
    rl.and_then(|r| r.limit_reached) == Some(true)
        || rl.and_then(|r| r.allowed) == Some(false)
        || u.windows().any(|(_, w)| Usage::used_up(w))
}

/// The usage windows of a `wham/usage` answer, named by their `limit_window_seconds` (not by
/// `primary_window` / `secondary_window`: which one is the 5-hour window is not fixed), shortest
/// first, and the plan.
fn usage_quota(resp: &ProbeResponse, v: &mut Verdict) {
    let Some(u) = resp.codex_usage() else { return };
    let mut windows: Vec<crate::verdict::Window> = u
        .windows()
        .filter_map(|(key, w)| {
            let seconds = w.limit_window_seconds;
            let name = seconds.map_or_else(|| key.to_owned(), super::rule::window_name);
            super::rule::usage_window(name, seconds, w.used_percent?, w.reset_at.as_ref())
        })
        .collect();
    crate::verdict::sort_windows(&mut windows);
    let plan = u.plan_type.as_deref().map(|p| {
        p.chars()
            .filter(|c| c.is_ascii_alphanumeric() || *c == '-' || *c == '_')
            .take(24)
            .collect()
    });
    if !windows.is_empty() || plan.is_some() {
        v.quota = Some(Box::new(crate::verdict::Quota { plan, windows }));
    }
}

/// The reset of the exhausted windows (or of any window when only the flags say so).
fn window_reset(resp: &ProbeResponse, v: &mut Verdict) {
    usage_quota(resp, v);
    let Some(u) = resp.codex_usage() else { return };
    v.reset_at = u
        .windows()
        .filter(|(_, w)| Usage::used_up(w))
        .filter_map(|(_, w)| time_of(w.reset_at.as_ref()))
        .max()
        .or_else(|| {
            u.windows()
                .filter_map(|(_, w)| time_of(w.reset_at.as_ref()))
                .max()
        });
    if let Some(plan) = &u.plan_type {
        let plan: String = plan
            .chars()
            .filter(|c| c.is_ascii_alphanumeric() || *c == '-')
            .take(24)
            .collect();
        v.reason = format!("{} ({plan})", v.reason);
    }
}

/// `error.resets_at`, else now + `error.resets_in_seconds` (saturating: a huge value is ignored).
fn limit_reset(resp: &ProbeResponse, v: &mut Verdict) {
    let body = resp.json().unwrap_or(&Value::Null);
    let err = body.get("error").unwrap_or(body);
    v.reset_at = time_of(err.get("resets_at")).or_else(|| {
        err.get("resets_in_seconds")
            .and_then(Value::as_i64)
            .and_then(seconds_from_now)
    });
}

fn is_responses_answer(resp: &ProbeResponse) -> bool {
    let body = resp.body.trim_start();
    body.starts_with("event:")
        || body.starts_with("data:")
        || matches!(resp.json(), Some(Value::Object(_)))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::providers::test_support::*;

    fn status(d: Decision) -> (Status, &'static str) {
        match d {
            Decision::Done(v) => (v.status, "done"),
            Decision::Retry(v) => (v.status, "retry"),
            Decision::Continue => (Status::Unknown, "next"),
        }
    }

    /// Where the typed read of a usage answer succeeds, it reads what the lenient read of the
    /// parsed `Value` reads; where it fails, the lenient read decides (and a body that is not
    /// JSON is no usage answer).
    #[test]
    fn the_typed_usage_read_agrees_with_the_lenient_one() {
        let bodies = [
            r#"{"plan_type":"plus","rate_limit":{"allowed":true,"limit_reached":false,"primary_window":{"used_percent":12,"limit_window_seconds":18000,"reset_after_seconds":9000,"reset_at":4102444800},"secondary_window":{"used_percent":3.5,"limit_window_seconds":604800,"reset_at":"2099-01-01T00:00:00Z"}},"code_review_rate_limit":null,"additional_rate_limits":[{"x":[1,{"y":2}]}],"credits":{"has_credits":false,"unlimited":false,"balance":"0"}}"#,
            r#"{"rateLimit":{"limitReached":true,"primary_window":{"used_percent":100}}}"#,
            r#"{"rate_limit":null,"plan_type":null}"#,
            r#"{"rate_limit":{"primary_window":null,"secondary_window":{"reset_at":null}}}"#,
            r#"{"rate_limit":{}}"#,
            "  {}",
            // Not of the expected types: only the lenient read takes these.
            r#"{"rate_limit":{"limit_reached":"true","primary_window":{"used_percent":"100"}}}"#,
            r#"{"rate_limit":{"primary_window":{"used_percent":100,"limit_window_seconds":1.5}}}"#,
            r#"{"rate_limit":{"allowed":false},"rateLimit":{"allowed":true}}"#,
            r#"{"plan_type":"plus","plan_type":"pro"}"#,
            r#"{"rate_limit":"none","plan_type":7}"#,
            r#"{"rate_limit":{"primary_window":5}}"#,
            r#"[{"plan_type":"plus"}]"#,
            "1",
        ];
        for body in bodies {
            let value: Value = serde_json::from_str(body).unwrap();
            let lenient = Usage::from_value(&value);
            if let Some(typed) = Usage::typed(body) {
                assert_eq!(typed, lenient, "{body}");
            }
            assert_eq!(Usage::of(&resp(200, body)), Some(lenient), "{body}");
        }
        assert_eq!(Usage::typed(r#"[{"plan_type":"plus"}]"#), None);
        assert_eq!(
            Usage::typed(r#"{"plan_type":"plus","plan_type":"pro"}"#),
            None
        );
        assert_eq!(Usage::of(&resp(200, "upstream connect error")), None);
        // What each read decides, through the rows.
        for (body, want) in [
            (
                r#"{"rateLimit":{"limitReached":true}}"#,
                Status::UsageLimited,
            ),
            (r#"{"rate_limit":{"limit_reached":"true"}}"#, Status::Active),
            (
                r#"{"rate_limit":{"primary_window":{"used_percent":"100"}}}"#,
                Status::Active,
            ),
            (
                r#"{"rate_limit":{"secondary_window":{"used_percent":100.0}}}"#,
                Status::UsageLimited,
            ),
            ("[]", Status::Active),
        ] {
            assert_eq!(status(classify(&resp(200, body), false)).0, want, "{body}");
        }
        assert_eq!(
            status(classify(&resp(200, "upstream connect error"), false)),
            (Status::CheckError, "retry")
        );
    }

    #[test]
    fn classify_table() {
        let cases: Vec<(ProbeResponse, bool, Status, &str)> = vec![
            (
                resp(
                    200,
                    r#"{"rate_limit":{"allowed":true,"secondary_window":{"used_percent":100.0,"reset_at":1900000000}}}"#,
                ),
                false,
                Status::UsageLimited,
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
                resp(429, r#"{"error":{"type":"rate_limit_exceeded"}}"#),
                false,
                Status::RateLimited,
                "retry",
            ),
            (resp(500, ""), false, Status::CheckError, "retry"),
            (resp(503, "<html>"), false, Status::CheckError, "retry"),
            (
                resp(200, r#"{"id":"resp_1","status":"completed"}"#),
                true,
                Status::Active,
                "done",
            ),
            (resp(200, "garbage"), true, Status::CheckError, "retry"),
            (resp(200, "[1,2]"), true, Status::CheckError, "retry"),
            (
                resp(400, r#"{"detail":"whatever"}"#),
                true,
                Status::Unknown,
                "done",
            ),
        ];
        for (r, responses, want, kind) in cases {
            assert_eq!(
                status(classify(&r, responses)),
                (want, kind),
                "{} {}",
                r.status,
                r.body
            );
        }
    }

    #[test]
    fn usage_limit_reports_reset_time() {
        let r = resp(
            200,
            r#"{"rate_limit":{"limit_reached":true,"primary_window":{"used_percent":100,"reset_at":1900000000},"secondary_window":{"used_percent":20,"reset_at":1900500000}}}"#,
        );
        let Decision::Done(v) = classify(&r, false) else {
            panic!()
        };
        assert_eq!(v.reset_at.unwrap().timestamp(), 1_900_000_000);
        assert_eq!(v.http_status, Some(200));
    }

    #[test]
    fn huge_resets_in_seconds_is_ignored_not_a_panic() {
        for secs in ["9223372036854775807", "-9223372036854775808", "1e300"] {
            let body = format!(
                r#"{{"error":{{"type":"usage_limit_reached","resets_in_seconds":{secs}}}}}"#
            );
            let Decision::Done(v) = classify(&resp(429, &body), false) else {
                panic!()
            };
            assert_eq!(v.status, Status::UsageLimited);
            assert!(v.reset_at.is_none());
        }
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
