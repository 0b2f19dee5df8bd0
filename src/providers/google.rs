//! Google OAuth (antigravity, legacy gemini): `POST https://oauth2.googleapis.com/tokeninfo`
//! with the access token in the form body (never in the URL). When Google says the token is
//! invalid, or it is already expired, the refresh token is exercised once (Google refresh tokens
//! do not rotate, so this cannot strand CPA's copy) and the new token is checked with tokeninfo,
//! then discarded.

use serde_json::Value;

use super::{
    Body, Method, Probe, ProbeOptions, ProbeRequest, ProbeResponse, Step, fallback, verdict,
};
use crate::credential::{Credential, ProviderKind, Secret};
use crate::status::Status;

/// Google's tokeninfo endpoint.
pub const TOKENINFO_URL: &str = "https://oauth2.googleapis.com/tokeninfo";
/// Google's token endpoint.
pub const TOKEN_URL: &str = "https://oauth2.googleapis.com/token";

/// CPA's public OAuth client id for antigravity.
pub const ANTIGRAVITY_CLIENT_ID: &str =
    "1071006060591-tmhssin2h21lcre235vtolojh4g403ep.apps.googleusercontent.com";
/// The gemini-cli public OAuth client id CPA used.
pub const GEMINI_CLIENT_ID: &str =
    "681255809395-oo8ft2oprdrnp9e3aqf6av3hmdib135j.apps.googleusercontent.com";

/// Google's userinfo endpoint (bearer token in a header; used when relaying through CPA).
pub const USERINFO_URL: &str = "https://www.googleapis.com/oauth2/v3/userinfo";

/// Returns the probe used through CPA's `api-call`: userinfo with `Authorization: Bearer
/// $TOKEN$`. CPA refreshes antigravity tokens itself before relaying.
pub fn relayed(cred: &Credential) -> Option<Box<dyn Probe>> {
    let token = cred.access_token.as_ref()?;
    Some(super::OneShot::boxed(
        ProbeRequest::get_bearer(USERINFO_URL, token),
        classify_userinfo,
    ))
}

/// Classifies a userinfo answer: 200 → active, 401 → unauthorized.
fn classify_userinfo(resp: &ProbeResponse) -> Step {
    match resp.status {
        200 if resp.json().is_some() => Step::Done(verdict(
            Status::Active,
            200,
            "userinfo accepted the access token",
        )),
        401 if !resp.is_html() => Step::Done(verdict(
            Status::Unauthorized,
            401,
            "Google rejected the access token (HTTP 401)",
        )),
        _ => fallback(resp),
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Stage {
    TokenInfo,
    Refresh,
    NewTokenInfo,
}

struct Google {
    access: Option<Secret>,
    refresh: Option<RefreshGrant>,
    stage: Stage,
}

#[derive(Clone)]
struct RefreshGrant {
    refresh_token: Secret,
    client_id: String,
    client_secret: Secret,
}

/// Returns the Google probe; `None` when there is nothing it can check (expired access token and
/// no usable refresh grant).
pub fn probe(
    cred: &Credential,
    access_expired: bool,
    opts: &ProbeOptions,
) -> Option<Box<dyn Probe>> {
    let access = cred.access_token.clone().filter(|_| !access_expired);
    let refresh = cred.refresh_token.clone().and_then(|refresh_token| {
        let (client_id, client_secret) = match (&cred.client_id, &cred.client_secret) {
            (Some(id), Some(secret)) => (id.clone(), secret.clone()),
            (id, _) => {
                let default_id = if cred.kind == ProviderKind::Antigravity {
                    ANTIGRAVITY_CLIENT_ID
                } else {
                    GEMINI_CLIENT_ID
                };
                let secret = opts
                    .google_client_secrets
                    .iter()
                    .find(|(p, _)| *p == cred.provider)
                    .map(|(_, s)| s.clone())?;
                (id.clone().unwrap_or_else(|| default_id.to_owned()), secret)
            }
        };
        Some(RefreshGrant {
            refresh_token,
            client_id,
            client_secret,
        })
    });
    let stage = if access.is_some() {
        Stage::TokenInfo
    } else {
        Stage::Refresh
    };
    if access.is_none() && refresh.is_none() {
        return None;
    }
    Some(Box::new(Google {
        access,
        refresh,
        stage,
    }))
}

fn tokeninfo(token: &Secret) -> ProbeRequest {
    ProbeRequest {
        method: Method::Post,
        url: TOKENINFO_URL.to_owned(),
        headers: vec![("accept", Secret::new("application/json"))],
        body: Some(Body::Form(vec![("access_token", token.clone())])),
    }
}

fn refresh_request(grant: &RefreshGrant) -> ProbeRequest {
    ProbeRequest {
        method: Method::Post,
        url: TOKEN_URL.to_owned(),
        headers: vec![("accept", Secret::new("application/json"))],
        body: Some(Body::Form(vec![
            ("grant_type", Secret::new("refresh_token")),
            ("refresh_token", grant.refresh_token.clone()),
            ("client_id", Secret::new(grant.client_id.clone())),
            ("client_secret", grant.client_secret.clone()),
        ])),
    }
}

fn error_code(resp: &ProbeResponse) -> String {
    resp.json()
        .and_then(|j| j.get("error").and_then(Value::as_str).map(str::to_owned))
        .unwrap_or_default()
}

impl Probe for Google {
    fn start(&mut self) -> ProbeRequest {
        match (&self.access, &self.refresh) {
            (Some(token), _) => tokeninfo(token),
            (None, Some(grant)) => refresh_request(grant),
            // `probe` never builds a Google probe with neither.
            (None, None) => tokeninfo(&Secret::new("")),
        }
    }

    fn on_response(&mut self, resp: &ProbeResponse) -> Step {
        let code = resp.status;
        match self.stage {
            Stage::TokenInfo => match code {
                200 if resp.json().is_some_and(|j| j.get("error").is_none()) => Step::Done(
                    verdict(Status::Active, code, "tokeninfo accepted the access token"),
                ),
                400 | 401
                    if !resp.is_html()
                        && (error_code(resp) == "invalid_token" || resp.mentions("invalid")) =>
                {
                    match &self.refresh {
                        Some(grant) => {
                            self.stage = Stage::Refresh;
                            Step::Next(refresh_request(grant))
                        }
                        None => Step::Done(verdict(
                            Status::Unauthorized,
                            code,
                            "Google says the access token is invalid and no refresh token can renew it",
                        )),
                    }
                }
                _ => fallback(resp),
            },
            Stage::Refresh => match code {
                200 => match resp.json().and_then(|j| {
                    j.get("access_token")
                        .and_then(Value::as_str)
                        .map(Secret::new)
                }) {
                    Some(new_token) => {
                        self.stage = Stage::NewTokenInfo;
                        Step::Next(tokeninfo(&new_token))
                    }
                    None => Step::Retry(verdict(
                        Status::CheckError,
                        code,
                        "token endpoint answered without an access token",
                    )),
                },
                400 | 401 if error_code(resp) == "invalid_grant" => Step::Done(verdict(
                    Status::Invalidated,
                    code,
                    "refresh token expired or revoked (invalid_grant)",
                )),
                400 | 401
                    if matches!(
                        error_code(resp).as_str(),
                        "invalid_client" | "unauthorized_client"
                    ) =>
                {
                    Step::Done(verdict(
                        Status::Unknown,
                        code,
                        format!(
                            "the OAuth client was rejected ({}); check the client id and secret",
                            error_code(resp)
                        ),
                    ))
                }
                _ => fallback(resp),
            },
            Stage::NewTokenInfo => match code {
                200 if resp.json().is_some_and(|j| j.get("error").is_none()) => {
                    Step::Done(verdict(
                        Status::Active,
                        code,
                        "refresh token works; the new access token was accepted (and discarded)",
                    ))
                }
                _ => match fallback(resp) {
                    Step::Done(mut v) => {
                        v.reason = format!(
                            "refresh worked but tokeninfo refused the new token: {}",
                            v.reason
                        );
                        Step::Done(v)
                    }
                    other => other,
                },
            },
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::providers::test_support::*;
    use serde_json::json;

    fn cred(v: serde_json::Value) -> Credential {
        Credential::from_json(v.as_object().unwrap())
    }

    fn with_secret() -> ProbeOptions {
        ProbeOptions {
            google_client_secrets: vec![("antigravity".into(), Secret::new("cs"))],
            ..ProbeOptions::default()
        }
    }

    #[test]
    fn live_token_is_active_after_one_tokeninfo() {
        let c = cred(json!({"type":"antigravity","access_token":"ya-tok","refresh_token":"rt"}));
        let mut p = probe(&c, false, &ProbeOptions::default()).unwrap();
        let req = p.start();
        assert_eq!(req.url, TOKENINFO_URL);
        assert!(!req.url.contains("ya-tok"));
        assert!(matches!(&req.body, Some(Body::Form(f)) if f[0].1.expose() == "ya-tok"));
        assert_eq!(
            status_of(&p.on_response(&resp(200, r#"{"expires_in":"3000"}"#))),
            (Status::Active, "done")
        );
    }

    #[test]
    fn invalid_token_then_refresh_then_tokeninfo() {
        let c = cred(json!({"type":"antigravity","access_token":"old","refresh_token":"rt"}));
        let mut p = probe(&c, false, &with_secret()).unwrap();
        p.start();
        let Step::Next(refresh) = p.on_response(&resp(400, r#"{"error":"invalid_token"}"#)) else {
            panic!()
        };
        assert_eq!(refresh.url, TOKEN_URL);
        let Step::Next(info) = p.on_response(&resp(200, r#"{"access_token":"new-tok"}"#)) else {
            panic!()
        };
        assert!(matches!(&info.body, Some(Body::Form(f)) if f[0].1.expose() == "new-tok"));
        assert_eq!(
            status_of(&p.on_response(&resp(200, "{}"))),
            (Status::Active, "done")
        );
    }

    #[test]
    fn refresh_outcomes() {
        let c = cred(
            json!({"type":"gemini","token":{"refresh_token":"rt","client_id":"id","client_secret":"s"}}),
        );
        let cases = [
            (
                resp(400, r#"{"error":"invalid_grant"}"#),
                Status::Invalidated,
                "done",
            ),
            (
                resp(401, r#"{"error":"invalid_client"}"#),
                Status::Unknown,
                "done",
            ),
            (resp(500, "{}"), Status::CheckError, "retry"),
            (resp(429, "{}"), Status::RateLimited, "retry"),
            (html(403), Status::CheckError, "retry"),
        ];
        for (r, want, kind) in cases {
            let mut p = probe(&c, true, &ProbeOptions::default()).unwrap();
            assert_eq!(
                p.start().url,
                TOKEN_URL,
                "expired access token goes straight to refresh"
            );
            assert_eq!(status_of(&p.on_response(&r)), (want, kind), "{}", r.body);
        }
    }

    #[test]
    fn without_refresh_invalid_token_is_unauthorized() {
        let c = cred(json!({"type":"antigravity","access_token":"old"}));
        let mut p = probe(&c, false, &ProbeOptions::default()).unwrap();
        p.start();
        assert_eq!(
            status_of(&p.on_response(&resp(400, r#"{"error":"invalid_token"}"#))),
            (Status::Unauthorized, "done")
        );
    }

    #[test]
    fn nothing_to_check_without_secret() {
        let c = cred(json!({"type":"antigravity","access_token":"old","refresh_token":"rt"}));
        assert!(probe(&c, true, &ProbeOptions::default()).is_none());
        assert!(probe(&c, true, &with_secret()).is_some());
    }
}
