//! Kimi Code: `GET https://api.kimi.com/coding/v1/usages` with the bearer token.

use super::{OneShot, Probe, ProbeRequest, ProbeResponse, Step};
use crate::credential::Credential;

/// The usage endpoint.
pub const USAGE_URL: &str = "https://api.kimi.com/coding/v1/usages";

/// Returns the kimi probe, or `None` without an access token.
pub fn probe(cred: &Credential) -> Option<Box<dyn Probe>> {
    let token = cred.access_token.as_ref()?;
    let request = ProbeRequest::get_bearer(USAGE_URL, token).header("user-agent", "git-credman");
    Some(OneShot::boxed(request, classify))
}

/// Classifies a kimi usage answer.
pub fn classify(resp: &ProbeResponse) -> Step {
    super::classify_accepted(resp, "usage endpoint accepted the token")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::providers::test_support::*;
    use crate::status::Status;

    #[test]
    fn classify_table() {
        let cases = [
            (
                resp(200, r#"{"usage":{"used":1,"limit":100}}"#),
                Status::Active,
                "done",
            ),
            (resp(200, "<html>"), Status::CheckError, "retry"),
            (
                resp(401, r#"{"error":"unauthorized"}"#),
                Status::Unauthorized,
                "done",
            ),
            (resp(403, "{}"), Status::Unknown, "done"),
            (resp(429, "{}"), Status::RateLimited, "retry"),
            (resp(502, ""), Status::CheckError, "retry"),
        ];
        assert_table(classify, &cases);
    }
}
