//! Claude (Anthropic OAuth): `GET https://api.anthropic.com/api/oauth/usage` with
//! `anthropic-beta: oauth-2025-04-20`. Free; reports usage windows.
//!
//! Files: `type: "claude"`, `access_token` (`sk-ant-oat01-…`), `refresh_token` (rotates),
//! identity `email` / `account_uuid` (reference §2.2).

use serde_json::Value;

use super::rule::{On, Rule, Spec, Stage, Then, When, decide, time_of};
use super::{OneShot, Probe, ProbeRequest, ProbeResponse, Step};
use crate::credential::Credential;
use crate::status::Status;
use crate::verdict::Verdict;

/// The usage endpoint.
pub const USAGE_URL: &str = "https://api.anthropic.com/api/oauth/usage";

const USAGE: &[Rule] = &[
    Rule {
        on: On::Code(200),
        when: When::Test("a usage window at 100 % or more", exhausted),
        then: Then::Done(Status::UsageLimited),
        reason: "usage exhausted",
        example: r#"{"five_hour":{"utilization":100.0,"resets_at":"2026-12-01T05:00:00Z"},"seven_day":{"utilization":41.0,"resets_at":"2026-12-05T00:00:00Z"},"seven_day_opus":null}"#,
        evidence: "reference §6 (oauth/usage windows, utilization 0-100)",
        annotate: Some(windows),
    },
    Rule {
        on: On::Code(200),
        when: When::Test("a JSON object", is_object),
        then: Then::Done(Status::Active),
        reason: "usage endpoint accepted the token",
        example: r#"{"five_hour":{"utilization":12.0,"resets_at":"2026-12-01T05:00:00Z"},"seven_day":null}"#,
        evidence: "reference §6 (oauth/usage 200 body)",
        annotate: Some(usage_quota),
    },
    Rule {
        on: On::Code(200),
        when: When::Any,
        then: Then::Retry(Status::CheckError),
        reason: "usage answer is not a JSON object",
        example: "oops",
        evidence: "a 200 without the documented body is no evidence",
        annotate: None,
    },
    Rule {
        on: On::Codes(&[400, 403]),
        when: When::Mentions(&[
            "organization has been disabled",
            "oauth_org_not_allowed",
            "OAuth authentication is currently not allowed",
        ]),
        then: Then::Done(Status::Deactivated),
        reason: "organization disabled",
        example: r#"{"type":"error","error":{"type":"invalid_request_error","message":"This organization has been disabled."}}"#,
        evidence: "reference §4 (observed Anthropic bans; CPA has no ban parsing)",
        annotate: None,
    },
    Rule {
        on: On::Code(401),
        when: When::Any,
        then: Then::Done(Status::Unauthorized),
        reason: "access token refused (HTTP 401)",
        example: r#"{"type":"error","error":{"type":"authentication_error","message":"OAuth token has expired. Please obtain a new token or refresh your existing token."}}"#,
        evidence: "CPA refreshes once after a 401 and only then marks the auth (conductor_refresh.go:462-480, 545-550)",
        annotate: None,
    },
];

/// Claude's whole story.
pub const SPEC: Spec = Spec {
    types: "claude",
    identity: "`type: claude`; `email`, `account_uuid`",
    rotating_refresh: true,
    stages: &[Stage {
        request: "`GET https://api.anthropic.com/api/oauth/usage` (`anthropic-beta: oauth-2025-04-20`)",
        tables: &[USAGE],
    }],
    notes: "an expired access token is `expired_refreshable` without any request",
};

/// Returns the claude probe, or `None` without an access token.
pub fn probe(cred: &Credential) -> Option<Box<dyn Probe>> {
    let token = cred.access_token.as_ref()?;
    let req = ProbeRequest::get_bearer(USAGE_URL, token)
        .header(
            const { http::HeaderName::from_static("anthropic-beta") },
            "oauth-2025-04-20",
        )
        .header(http::header::USER_AGENT, "git-credman");
    Some(OneShot::boxed(req, classify))
}

fn is_object(resp: &ProbeResponse) -> bool {
    matches!(resp.json(), Some(Value::Object(_)))
}

fn full_windows(body: &Value) -> Vec<(&String, &Value)> {
    body.as_object()
        .map(|o| {
            o.iter()
                .filter(|(_, w)| {
                    w.get("utilization")
                        .and_then(Value::as_f64)
                        .is_some_and(|u| u >= 100.0)
                })
                .collect()
        })
        .unwrap_or_default()
}

fn exhausted(resp: &ProbeResponse) -> bool {
    resp.json().is_some_and(|b| !full_windows(b).is_empty())
}

/// The usage windows of an `oauth/usage` answer: every member with a numeric `utilization`
/// (`five_hour`, `seven_day`, `seven_day_opus`, …), named `5h`, `7d`, `7d-opus`, shortest first.
fn usage_quota(resp: &ProbeResponse, v: &mut Verdict) {
    let Some(Value::Object(body)) = resp.json() else {
        return;
    };
    let mut windows: Vec<crate::verdict::Window> = body
        .iter()
        .filter_map(|(key, w)| {
            let used = w.get("utilization").and_then(Value::as_f64)?;
            let key: String = key
                .chars()
                .filter(|c| c.is_ascii_alphanumeric() || *c == '_')
                .take(32)
                .collect();
            let (seconds, rest) = if let Some(rest) = key.strip_prefix("five_hour") {
                (Some(18_000), rest)
            } else if let Some(rest) = key.strip_prefix("seven_day") {
                (Some(604_800), rest)
            } else {
                (None, key.as_str())
            };
            let name = match seconds {
                Some(s) => {
                    let rest = rest.trim_start_matches('_').replace('_', "-");
                    let base = super::rule::window_name(s);
                    if rest.is_empty() {
                        base
                    } else {
                        format!("{base}-{rest}")
                    }
                }
                None => key.replace('_', "-"),
            };
            super::rule::usage_window(name, seconds, used, w.get("resets_at"))
        })
        .collect();
    crate::verdict::sort_windows(&mut windows);
    if !windows.is_empty() {
        v.quota = Some(Box::new(crate::verdict::Quota {
            plan: None,
            windows,
        }));
    }
}

fn windows(resp: &ProbeResponse, v: &mut Verdict) {
    usage_quota(resp, v);
    let Some(body) = resp.json() else { return };
    let full = full_windows(body);
    let names: Vec<String> = full
        .iter()
        .map(|(k, _)| {
            k.chars()
                .filter(|c| c.is_ascii_alphanumeric() || *c == '_')
                .take(32)
                .collect()
        })
        .collect();
    v.reason = format!("{} ({})", v.reason, names.join(", "));
    v.reset_at = full
        .iter()
        .filter_map(|(_, w)| time_of(w.get("resets_at")))
        .max();
}

/// Classifies a claude usage answer.
pub fn classify(resp: &ProbeResponse) -> Step {
    super::step(decide(&[USAGE], resp))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::providers::test_support::*;

    #[test]
    fn classify_table() {
        let cases = [
            (
                resp(403, r#"{"error":{"type":"permission_error"}}"#),
                Status::Unknown,
                "done",
            ),
            (html(403), Status::CheckError, "retry"),
            (resp(404, "{}"), Status::Unknown, "done"),
            (resp(429, "{}"), Status::RateLimited, "retry"),
            (resp(529, "{}"), Status::CheckError, "retry"),
        ];
        assert_table(classify, &cases);
    }

    #[test]
    fn exhausted_window_reports_reset() {
        let Step::Done(v) = classify(&resp(
            200,
            r#"{"seven_day":{"utilization":100,"resets_at":"2026-12-01T00:00:00Z"}}"#,
        )) else {
            panic!()
        };
        assert_eq!(
            v.reset_at.unwrap().to_rfc3339(),
            "2026-12-01T00:00:00+00:00"
        );
        assert!(v.reason.contains("seven_day"));
    }
}
