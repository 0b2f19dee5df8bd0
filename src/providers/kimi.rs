//! Kimi Code: `GET https://api.kimi.com/coding/v1/usages` with the bearer token.
//!
//! Files: `type: "kimi"`, `access_token`, `refresh_token` (rotates), `device_id`; no identity at
//! all (reference §2.4): the file name and the token fingerprint are the only handles.

use super::rule::{On, Rule, Spec, Stage, Then, When, decide};
use super::{OneShot, Probe, ProbeRequest, ProbeResponse, Step};
use crate::credential::Credential;
use crate::status::Status;

/// The usage endpoint.
pub const USAGE_URL: &str = "https://api.kimi.com/coding/v1/usages";

const USAGE: &[Rule] = &[
    Rule {
        on: On::Code(200),
        when: When::Json,
        then: Then::Done(Status::Active),
        reason: "usage endpoint accepted the token",
        example: r#"{"usage":{"used":12,"limit":100,"remaining":88,"resetTime":"2026-12-02T00:00:00Z"},"limits":[]}"#,
        evidence: "reference §6 (kimi usages)",
        annotate: None,
    },
    Rule {
        on: On::Code(200),
        when: When::Any,
        then: Then::Retry(Status::CheckError),
        reason: "the answer is not JSON",
        example: "<!doctype><p>maintenance",
        evidence: "a 200 without the documented body is no evidence",
        annotate: None,
    },
    Rule {
        on: On::Code(401),
        when: When::Any,
        then: Then::Done(Status::Unauthorized),
        reason: "access token refused (HTTP 401)",
        example: r#"{"error":{"type":"invalid_authentication_error","message":"Invalid Authentication"}}"#,
        evidence: "CPA refreshes once after a 401 and only then marks the auth (conductor_refresh.go:462-480, 545-550)",
        annotate: None,
    },
];

/// Kimi's whole story.
pub const SPEC: Spec = Spec {
    types: "kimi",
    identity: "`type: kimi`; no identity (label \"Kimi User\"), token fingerprint only",
    rotating_refresh: true,
    stages: &[Stage {
        request: "`GET https://api.kimi.com/coding/v1/usages`",
        tables: &[USAGE],
    }],
    notes: "an expired access token is `expired_refreshable` without any request",
};

/// Returns the kimi probe, or `None` without an access token.
pub fn probe(cred: &Credential) -> Option<Box<dyn Probe>> {
    let token = cred.access_token.as_ref()?;
    let request =
        ProbeRequest::get_bearer(USAGE_URL, token).header(http::header::USER_AGENT, "git-credman");
    Some(OneShot::boxed(request, classify))
}

/// Classifies a kimi usage answer.
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
            (resp(403, "{}"), Status::Unknown, "done"),
            (resp(429, "{}"), Status::RateLimited, "retry"),
            (resp(502, ""), Status::CheckError, "retry"),
        ];
        assert_table(classify, &cases);
    }
}
