//! Claude (Anthropic OAuth): `GET https://api.anthropic.com/api/oauth/usage` with
//! `anthropic-beta: oauth-2025-04-20`. Free; reports usage windows.

use serde_json::Value;

use super::{OneShot, Probe, ProbeRequest, ProbeResponse, Step, fallback, time_of, verdict};
use crate::credential::Credential;
use crate::status::Status;

/// The usage endpoint.
pub const USAGE_URL: &str = "https://api.anthropic.com/api/oauth/usage";

/// Returns the claude probe, or `None` without an access token.
pub fn probe(cred: &Credential) -> Option<Box<dyn Probe>> {
    let token = cred.access_token.as_ref()?;
    let req = ProbeRequest::get_bearer(USAGE_URL, token)
        .header("anthropic-beta", "oauth-2025-04-20")
        .header("user-agent", "git-credman");
    Some(OneShot::boxed(req, classify))
}

fn is_org_ban(resp: &ProbeResponse) -> bool {
    !resp.is_html()
        && (resp.mentions("organization has been disabled")
            || resp.mentions("oauth_org_not_allowed")
            || resp.mentions("OAuth authentication is currently not allowed"))
}

/// Classifies a claude usage answer.
pub fn classify(resp: &ProbeResponse) -> Step {
    let code = resp.status;
    match code {
        200 => match resp.json() {
            Some(Value::Object(body)) => {
                // Every window object with a utilization at or above 100 % is exhausted.
                let full: Vec<(&String, &Value)> = body
                    .iter()
                    .filter(|(_, w)| {
                        w.get("utilization")
                            .and_then(Value::as_f64)
                            .is_some_and(|u| u >= 100.0)
                    })
                    .collect();
                if full.is_empty() {
                    Step::Done(verdict(
                        Status::Active,
                        code,
                        "usage endpoint accepted the token",
                    ))
                } else {
                    let names: Vec<&str> = full.iter().map(|(k, _)| k.as_str()).collect();
                    let mut v = verdict(
                        Status::UsageLimited,
                        code,
                        format!("usage exhausted ({})", names.join(", ")),
                    );
                    v.reset_at = full
                        .iter()
                        .filter_map(|(_, w)| time_of(w.get("resets_at")))
                        .max();
                    Step::Done(v)
                }
            }
            _ => Step::Retry(verdict(
                Status::CheckError,
                code,
                "usage answer is not a JSON object",
            )),
        },
        400 | 403 if is_org_ban(resp) => {
            Step::Done(verdict(Status::Deactivated, code, "organization disabled"))
        }
        401 if !resp.is_html() => Step::Done(verdict(
            Status::Unauthorized,
            code,
            "token rejected (HTTP 401)",
        )),
        _ => fallback(resp),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::providers::test_support::*;

    #[test]
    fn classify_table() {
        let cases = [
            (
                resp(
                    200,
                    r#"{"five_hour":{"utilization":12.0,"resets_at":"2026-12-01T00:00:00Z"},"seven_day":null}"#,
                ),
                Status::Active,
                "done",
            ),
            (
                resp(
                    200,
                    r#"{"five_hour":{"utilization":100.0,"resets_at":"2026-12-01T00:00:00Z"}}"#,
                ),
                Status::UsageLimited,
                "done",
            ),
            (resp(200, "oops"), Status::CheckError, "retry"),
            (
                resp(
                    401,
                    r#"{"type":"error","error":{"type":"authentication_error"}}"#,
                ),
                Status::Unauthorized,
                "done",
            ),
            (
                resp(
                    400,
                    r#"{"type":"error","error":{"message":"This organization has been disabled."}}"#,
                ),
                Status::Deactivated,
                "done",
            ),
            (
                resp(
                    403,
                    r#"{"error":{"type":"permission_error","message":"OAuth authentication is currently not allowed for this organization."}}"#,
                ),
                Status::Deactivated,
                "done",
            ),
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
