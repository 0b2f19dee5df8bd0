//! xAI (Grok CLI OAuth): `GET https://cli-chat-proxy.grok.com/v1/billing?format=credits` with the
//! bearer token and `x-xai-token-auth: xai-grok-cli` (the CLI's own billing call; no model use).

use super::{OneShot, Probe, ProbeRequest, ProbeResponse, Step};
use crate::credential::Credential;

/// The billing endpoint.
pub const BILLING_URL: &str = "https://cli-chat-proxy.grok.com/v1/billing?format=credits";

/// Returns the xai probe, or `None` without an access token.
pub fn probe(cred: &Credential) -> Option<Box<dyn Probe>> {
    let token = cred.access_token.as_ref()?;
    let req = ProbeRequest::get_bearer(BILLING_URL, token)
        .header("x-xai-token-auth", "xai-grok-cli")
        .header("user-agent", "git-credman");
    Some(OneShot::boxed(req, classify))
}

/// Classifies an xai billing answer.
pub fn classify(resp: &ProbeResponse) -> Step {
    super::classify_accepted(resp, "billing endpoint accepted the token")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::providers::test_support::*;
    use crate::status::Status;

    #[test]
    fn classify_table() {
        let cases = [
            (resp(200, r#"{"credits":1}"#), Status::Active, "done"),
            (resp(401, "{}"), Status::Unauthorized, "done"),
            (html(401), Status::CheckError, "retry"),
            (resp(403, "{}"), Status::Unknown, "done"),
            (resp(429, "{}"), Status::RateLimited, "retry"),
        ];
        assert_table(classify, &cases);
    }
}
