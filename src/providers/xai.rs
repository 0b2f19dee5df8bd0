//! xAI (Grok CLI OAuth): `GET https://cli-chat-proxy.grok.com/v1/billing?format=credits` with the
//! bearer token and the headers the Management Center's own xai quota call sends
//! (`x-xai-token-auth: xai-grok-cli`, `x-grok-client-version`, a grok user agent; reference §9,
//! `src/utils/quota/constants.ts:150-158`). No model use.
//!
//! Files: `type: "xai"`, `access_token`, `refresh_token` (rotates), identity `email` / `sub`
//! (reference §2.5).

use super::rule::{On, Rule, Spec, Stage, Then, When, decide};
use super::{OneShot, Probe, ProbeRequest, ProbeResponse, Step};
use crate::credential::Credential;
use crate::status::Status;

/// The billing endpoint.
pub const BILLING_URL: &str = "https://cli-chat-proxy.grok.com/v1/billing?format=credits";
/// The client version the Management Center announces; the proxy version-gates requests.
pub const CLIENT_VERSION: &str = "0.2.91";
/// A grok CLI user agent of that version.
pub const USER_AGENT: &str = "grok-shell/0.2.91 (linux; x86_64)";

const BILLING: &[Rule] = &[
    Rule {
        on: On::Code(200),
        when: When::Json,
        then: Then::Done(Status::Active),
        reason: "billing endpoint accepted the token",
        example: r#"{"config":{"billingPeriodEnd":"2026-12-31T00:00:00Z","creditUsagePercent":{"val":25},"monthlyLimit":{"val":40}}}"#,
        evidence: "reference §6 (grok cli billing); Management Center xai quota parser",
        annotate: None,
    },
    Rule {
        on: On::Code(200),
        when: When::Any,
        then: Then::Retry(Status::CheckError),
        reason: "the answer is not JSON",
        example: "upstream connect error",
        evidence: "a 200 without the documented body is no evidence",
        annotate: None,
    },
    Rule {
        on: On::Code(426),
        when: When::Any,
        then: Then::Done(Status::Unknown),
        reason: "the grok proxy wants a newer client version (HTTP 426); nothing is known about the token",
        example: r#"{"error":"client version too old"}"#,
        evidence: "the grok proxy version-gates requests on x-grok-client-version",
        annotate: None,
    },
    Rule {
        on: On::Code(401),
        when: When::Any,
        then: Then::Done(Status::Unauthorized),
        reason: "access token refused (HTTP 401)",
        example: r#"{"error":"unauthorized","message":"invalid or expired token"}"#,
        evidence: "CPA refreshes once after a 401 and only then marks the auth (conductor_refresh.go:462-480, 545-550)",
        annotate: None,
    },
];

/// xAI's whole story.
pub const SPEC: Spec = Spec {
    types: "xai",
    identity: "`type: xai`; `email`, else `sub`",
    rotating_refresh: true,
    stages: &[Stage {
        request: "`GET https://cli-chat-proxy.grok.com/v1/billing?format=credits` (`x-xai-token-auth: xai-grok-cli`, `x-grok-client-version`)",
        tables: &[BILLING],
    }],
    notes: "an expired access token is `expired_refreshable` without any request",
};

/// Returns the xai probe, or `None` without an access token.
pub fn probe(cred: &Credential) -> Option<Box<dyn Probe>> {
    let token = cred.access_token.as_ref()?;
    let req = ProbeRequest::get_bearer(BILLING_URL, token)
        .header(
            const { http::HeaderName::from_static("x-xai-token-auth") },
            "xai-grok-cli",
        )
        .header(
            const { http::HeaderName::from_static("x-grok-client-version") },
            CLIENT_VERSION,
        )
        .header(http::header::USER_AGENT, USER_AGENT);
    Some(OneShot::boxed(req, classify))
}

/// Classifies an xai billing answer.
pub fn classify(resp: &ProbeResponse) -> Step {
    super::step(decide(&[BILLING], resp))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::providers::test_support::*;

    #[test]
    fn classify_table() {
        let cases = [
            (html(401), Status::CheckError, "retry"),
            (resp(403, "{}"), Status::Unknown, "done"),
            (resp(429, "{}"), Status::RateLimited, "retry"),
        ];
        assert_table(classify, &cases);
    }

    #[test]
    fn sends_the_management_centers_headers() {
        let c = Credential::from_json(
            serde_json::json!({"type":"xai","access_token":"t"})
                .as_object()
                .unwrap(),
        );
        let req = probe(&c).unwrap().start();
        let h = |n: &str| req.headers.iter().any(|(k, _)| *k == n);
        assert!(h("x-xai-token-auth") && h("x-grok-client-version") && h("user-agent"));
    }
}
