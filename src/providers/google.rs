//! Google OAuth (antigravity, legacy gemini): `POST https://oauth2.googleapis.com/tokeninfo`
//! with the access token in the form body (never in the URL). When Google says the token is
//! invalid, or it is already expired, the refresh token is exercised once, as CPA does it (Google
//! refresh tokens do not rotate, so this cannot strand CPA's copy), and the new token is checked
//! with tokeninfo, then discarded.
//!
//! Files: `type: "antigravity"` (flat `access_token`, `refresh_token`, `expires_in` + `timestamp`
//! or `expired`, `email`, `project_id`; no OAuth client in the file) and legacy `type: "gemini"`
//! (nested `token` object with its own `client_id` / `client_secret`). Reference §2.3, §2.7.
//!
//! The OAuth clients below are the public installed-app clients CPA itself ships and refreshes
//! with. They are public by design (Google installed-app clients cannot keep a secret; both are in
//! CPA's public source) and are facts, not secrets. A file's own client always wins, then the
//! `credman.antigravityClientSecret` / `credman.geminiClientSecret` settings, then these.

use serde_json::Value;

use super::rule::{Decision, On, Rule, Spec, Stage as DocStage, Then, When, decide};
use super::{Body, Method, Probe, ProbeOptions, ProbeRequest, ProbeResponse, Step};
use crate::credential::{Credential, ProviderKind, Secret};
use crate::status::Status;
use crate::verdict::Verdict;

/// Google's tokeninfo endpoint.
pub const TOKENINFO_URL: &str = "https://oauth2.googleapis.com/tokeninfo";
/// Google's token endpoint.
pub const TOKEN_URL: &str = "https://oauth2.googleapis.com/token";
/// Google's userinfo endpoint (bearer token in a header; used when relaying through CPA).
pub const USERINFO_URL: &str = "https://www.googleapis.com/oauth2/v3/userinfo";

/// The Antigravity app's public OAuth client id, as CPA ships it
/// (`internal/auth/antigravity/constants.go:6`, v7.2.140). Public, not a secret.
pub const ANTIGRAVITY_CLIENT_ID: &str =
    "1071006060591-tmhssin2h21lcre235vtolojh4g403ep.apps.googleusercontent.com";
/// Its public installed-app client secret (`internal/auth/antigravity/constants.go:7`, and
/// `internal/api/handlers/management/api_tools.go:24`). Public by design, not a secret.
pub const ANTIGRAVITY_CLIENT_SECRET: &str = "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";
/// gemini-cli's public OAuth client id, as CPA shipped it until v7.2.20
/// (`internal/auth/gemini/gemini_auth.go:31` at `78ba8ba7^`). Public, not a secret.
pub const GEMINI_CLIENT_ID: &str =
    "681255809395-oo8ft2oprdrnp9e3aqf6av3hmdib135j.apps.googleusercontent.com";
/// Its public installed-app client secret (`gemini_auth.go:32` at `78ba8ba7^`). Public by design.
pub const GEMINI_CLIENT_SECRET: &str = "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";

const TOKENINFO: &[Rule] = &[
    Rule {
        on: On::Code(200),
        when: When::Test("JSON without `error`", ok_json),
        then: Then::Done(Status::Active),
        reason: "tokeninfo accepted the access token",
        example: r#"{"azp":"1071006060591-x.apps.googleusercontent.com","aud":"1071006060591-x.apps.googleusercontent.com","scope":"https://www.googleapis.com/auth/cloud-platform","exp":"1900000000","expires_in":"3120","email":"carol@gmail.com","email_verified":"true"}"#,
        evidence: "Google OAuth2 tokeninfo docs",
        annotate: None,
    },
    Rule {
        on: On::Codes(&[400, 401]),
        when: When::Mentions(&["invalid_token", "invalid"]),
        then: Then::Continue,
        reason: "Google says the access token is invalid or expired",
        example: r#"{"error":"invalid_token","error_description":"Invalid Value"}"#,
        evidence: "Google OAuth2 tokeninfo docs; an access token lives 1 h (reference §2.3), so this alone is never dead",
        annotate: None,
    },
];

const REFRESH: &[Rule] = &[
    Rule {
        on: On::Code(200),
        when: When::Test("JSON with `access_token`", has_access_token),
        then: Then::Continue,
        reason: "refresh worked",
        example: r#"{"access_token":"x","expires_in":3599,"scope":"https://www.googleapis.com/auth/cloud-platform","token_type":"Bearer"}"#,
        evidence: "Google OAuth2 token endpoint docs; CPA refreshes the same way (antigravity_executor.go, api_tools.go:158-200)",
        annotate: None,
    },
    Rule {
        on: On::Code(200),
        when: When::Any,
        then: Then::Retry(Status::CheckError),
        reason: "token endpoint answered without an access token",
        example: "{}",
        evidence: "a 200 without the documented body is no evidence",
        annotate: None,
    },
    Rule {
        on: On::Codes(&[400, 401]),
        when: When::ErrorCode(&["invalid_grant"]),
        then: Then::Done(Status::Invalidated),
        reason: "refresh token expired or revoked (invalid_grant)",
        example: r#"{"error":"invalid_grant","error_description":"Token has been expired or revoked."}"#,
        evidence: "reference §3 (Google dead refresh token); CPA keeps retrying it every 5 min (conductor_refresh.go:551) but it never recovers",
        annotate: None,
    },
    Rule {
        on: On::Codes(&[400, 401]),
        when: When::ErrorCode(&["invalid_client", "unauthorized_client"]),
        then: Then::Done(Status::Unknown),
        reason: "the OAuth client was rejected (invalid_client); the refresh token was not judged: check the client id and secret",
        example: r#"{"error":"invalid_client","error_description":"The OAuth client was not found."}"#,
        evidence: "reference §9: without CPA's client a refresh answers 401 invalid_client",
        annotate: None,
    },
];

const NEW_TOKENINFO: &[Rule] = &[
    Rule {
        on: On::Code(200),
        when: When::Test("JSON without `error`", ok_json),
        then: Then::Done(Status::Active),
        reason: "refresh token works; the new access token was accepted (and discarded)",
        example: r#"{"azp":"x","aud":"x","expires_in":"3599","email":"carol@gmail.com"}"#,
        evidence: "Google OAuth2 tokeninfo docs",
        annotate: None,
    },
    Rule {
        on: On::Codes(&[400, 401]),
        when: When::Any,
        then: Then::Done(Status::Unknown),
        reason: "refresh worked but tokeninfo refused the new token",
        example: r#"{"error":"invalid_token","error_description":"Invalid Value"}"#,
        evidence: "a fresh token refused is not evidence against the refresh token",
        annotate: None,
    },
];

const USERINFO: &[Rule] = &[
    Rule {
        on: On::Code(200),
        when: When::Json,
        then: Then::Done(Status::Active),
        reason: "userinfo accepted the access token",
        example: r#"{"sub":"1234567890","email":"carol@gmail.com","email_verified":true}"#,
        evidence: "Google OAuth2 userinfo docs",
        annotate: None,
    },
    Rule {
        on: On::Code(401),
        when: When::Any,
        then: Then::Done(Status::Unauthorized),
        reason: "Google refused the relayed access token (HTTP 401)",
        example: r#"{"error":"invalid_request","error_description":"Invalid Credentials"}"#,
        evidence: "CPA refreshes antigravity before relaying (api_tools.go:249-251); CPA's own status decides",
        annotate: None,
    },
];

/// Google's whole story (antigravity and legacy gemini).
pub const SPEC: Spec = Spec {
    types: "antigravity, gemini",
    identity: "`type: antigravity` / `gemini`; `email` + `project_id`",
    rotating_refresh: false,
    stages: &[
        DocStage {
            request: "`POST https://oauth2.googleapis.com/tokeninfo` (token in the form body)",
            tables: &[TOKENINFO],
        },
        DocStage {
            request: "when invalid or expired: one refresh at `…/token` with the file's client, else CPA's public client",
            tables: &[REFRESH],
        },
        DocStage {
            request: "tokeninfo on the new token, which is discarded",
            tables: &[NEW_TOKENINFO],
        },
        DocStage {
            request: "relayed through CPA (`--server`): `GET https://www.googleapis.com/oauth2/v3/userinfo`",
            tables: &[USERINFO],
        },
    ],
    notes: "Google refresh tokens do not rotate, so refreshing is safe; dead only on `invalid_grant`",
};

fn ok_json(resp: &ProbeResponse) -> bool {
    resp.json()
        .is_some_and(|j| j.is_object() && j.get("error").is_none())
}

fn new_access_token(resp: &ProbeResponse) -> Option<Secret> {
    resp.json().and_then(|j| {
        j.get("access_token")
            .and_then(Value::as_str)
            .filter(|t| !t.is_empty())
            .map(Secret::new)
    })
}

fn has_access_token(resp: &ProbeResponse) -> bool {
    new_access_token(resp).is_some()
}

/// Returns the probe used through CPA's `api-call`: userinfo with `Authorization: Bearer
/// $TOKEN$`. CPA refreshes antigravity tokens itself before relaying.
pub fn relayed(cred: &Credential) -> Option<Box<dyn Probe>> {
    let token = cred.access_token.as_ref()?;
    Some(super::OneShot::boxed(
        ProbeRequest::get_bearer(USERINFO_URL, token),
        classify_userinfo,
    ))
}

fn classify_userinfo(resp: &ProbeResponse) -> Step {
    super::step(decide(&[USERINFO], resp))
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

/// The public client CPA uses for this kind of file.
fn default_client(kind: ProviderKind) -> (&'static str, &'static str) {
    if kind == ProviderKind::Antigravity {
        (ANTIGRAVITY_CLIENT_ID, ANTIGRAVITY_CLIENT_SECRET)
    } else {
        (GEMINI_CLIENT_ID, GEMINI_CLIENT_SECRET)
    }
}

/// Picks the refresh grant: the file's own client, else the configured secret, else CPA's public
/// client. Returns why not when no refresh can be tried.
fn grant(cred: &Credential, opts: &ProbeOptions) -> Result<RefreshGrant, &'static str> {
    let refresh_token = cred.refresh_token.clone().ok_or("no refresh token")?;
    let (default_id, default_secret) = default_client(cred.kind);
    let configured = opts
        .google_client_secrets
        .iter()
        .find(|(p, _)| *p == cred.provider)
        .map(|(_, s)| s.clone());
    let (client_id, client_secret) = match (&cred.client_id, &cred.client_secret) {
        (Some(id), Some(secret)) => (id.clone(), secret.clone()),
        (None, Some(secret)) => (default_id.to_owned(), secret.clone()),
        (Some(id), None) if id != default_id => match configured {
            Some(secret) => (id.clone(), secret),
            None => {
                return Err("the file names its own OAuth client without a secret \
                            (set credman.antigravityClientSecret or credman.geminiClientSecret)");
            }
        },
        (_, None) => (
            default_id.to_owned(),
            configured.unwrap_or_else(|| Secret::new(default_secret)),
        ),
    };
    Ok(RefreshGrant {
        refresh_token,
        client_id,
        client_secret,
    })
}

/// Returns the Google probe, or why nothing can be checked (an expired access token and no
/// usable refresh grant).
pub fn probe(
    cred: &Credential,
    access_expired: bool,
    opts: &ProbeOptions,
) -> Result<Box<dyn Probe>, &'static str> {
    let access = cred.access_token.clone().filter(|_| !access_expired);
    let refresh = grant(cred, opts);
    let stage = if access.is_some() {
        Stage::TokenInfo
    } else {
        Stage::Refresh
    };
    let refresh = match (refresh, &access) {
        (Ok(g), _) => Some(g),
        (Err(_), Some(_)) => None,
        (Err(why), None) => return Err(why),
    };
    Ok(Box::new(Google {
        access,
        refresh,
        stage,
    }))
}

fn tokeninfo(token: &Secret) -> ProbeRequest {
    ProbeRequest {
        method: Method::Post,
        url: TOKENINFO_URL.to_owned(),
        headers: vec![(http::header::ACCEPT, Secret::new("application/json"))],
        body: Some(Body::Form(vec![("access_token", token.clone())])),
    }
}

fn refresh_request(grant: &RefreshGrant) -> ProbeRequest {
    ProbeRequest {
        method: Method::Post,
        url: TOKEN_URL.to_owned(),
        headers: vec![(http::header::ACCEPT, Secret::new("application/json"))],
        body: Some(Body::Form(vec![
            ("grant_type", Secret::new("refresh_token")),
            ("refresh_token", grant.refresh_token.clone()),
            ("client_id", Secret::new(grant.client_id.clone())),
            ("client_secret", grant.client_secret.clone()),
        ])),
    }
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
        match self.stage {
            Stage::TokenInfo => match decide(&[TOKENINFO], resp) {
                Decision::Continue => match &self.refresh {
                    Some(grant) => {
                        self.stage = Stage::Refresh;
                        Step::Next(refresh_request(grant))
                    }
                    None => Step::Done(Verdict {
                        http_status: Some(resp.status),
                        ..Verdict::new(
                            Status::Unauthorized,
                            "Google says the access token is invalid and no refresh token can renew it",
                        )
                    }),
                },
                d => super::step(d),
            },
            Stage::Refresh => match decide(&[REFRESH], resp) {
                Decision::Continue => match new_access_token(resp) {
                    Some(token) => {
                        self.stage = Stage::NewTokenInfo;
                        Step::Next(tokeninfo(&token))
                    }
                    None => super::step(Decision::Continue),
                },
                d => super::step(d),
            },
            Stage::NewTokenInfo => match decide(&[NEW_TOKENINFO], resp) {
                Decision::Done(mut v) if v.status != Status::Active => {
                    v.reason = format!("refresh worked, then: {}", v.reason);
                    Step::Done(v)
                }
                d => super::step(d),
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

    fn form_value(req: &ProbeRequest, key: &str) -> Option<String> {
        match &req.body {
            Some(Body::Form(f)) => f
                .iter()
                .find(|(k, _)| *k == key)
                .map(|(_, v)| v.expose().to_owned()),
            _ => None,
        }
    }

    #[test]
    fn live_token_is_active_after_one_tokeninfo() {
        let c = cred(json!({"type":"antigravity","access_token":"ya-tok","refresh_token":"rt"}));
        let mut p = probe(&c, false, &ProbeOptions::default()).unwrap();
        let req = p.start();
        assert_eq!(req.url, TOKENINFO_URL);
        assert!(!req.url.contains("ya-tok"));
        assert_eq!(form_value(&req, "access_token").as_deref(), Some("ya-tok"));
        assert_eq!(
            status_of(&p.on_response(&resp(200, r#"{"expires_in":"3000"}"#))),
            (Status::Active, "done")
        );
    }

    #[test]
    fn antigravity_without_client_refreshes_with_cpas_public_client() {
        let c = cred(json!({"type":"antigravity","access_token":"old","refresh_token":"rt"}));
        let mut p = probe(&c, false, &ProbeOptions::default()).unwrap();
        p.start();
        let Step::Next(refresh) = p.on_response(&resp(400, r#"{"error":"invalid_token"}"#)) else {
            panic!()
        };
        assert_eq!(refresh.url, TOKEN_URL);
        assert_eq!(
            form_value(&refresh, "client_id").as_deref(),
            Some(ANTIGRAVITY_CLIENT_ID)
        );
        assert_eq!(
            form_value(&refresh, "client_secret").as_deref(),
            Some(ANTIGRAVITY_CLIENT_SECRET)
        );
        let Step::Next(info) = p.on_response(&resp(200, r#"{"access_token":"new-tok"}"#)) else {
            panic!()
        };
        assert_eq!(
            form_value(&info, "access_token").as_deref(),
            Some("new-tok")
        );
        assert_eq!(
            status_of(&p.on_response(&resp(200, "{}"))),
            (Status::Active, "done")
        );
    }

    #[test]
    fn file_client_wins_then_setting_then_default() {
        let own = cred(
            json!({"type":"gemini","token":{"refresh_token":"rt","client_id":"own-id","client_secret":"own-s"}}),
        );
        let g = grant(&own, &ProbeOptions::default()).unwrap();
        assert_eq!(
            (g.client_id.as_str(), g.client_secret.expose()),
            ("own-id", "own-s")
        );
        let bare = cred(json!({"type":"gemini","token":{"refresh_token":"rt"}}));
        let g = grant(&bare, &ProbeOptions::default()).unwrap();
        assert_eq!(
            (g.client_id.as_str(), g.client_secret.expose()),
            (GEMINI_CLIENT_ID, GEMINI_CLIENT_SECRET)
        );
        let opts = ProbeOptions {
            google_client_secrets: vec![("gemini".into(), Secret::new("configured"))],
            ..ProbeOptions::default()
        };
        assert_eq!(
            grant(&bare, &opts).unwrap().client_secret.expose(),
            "configured"
        );
        let foreign = cred(json!({"type":"antigravity","refresh_token":"rt","client_id":"other"}));
        assert!(grant(&foreign, &ProbeOptions::default()).is_err());
    }

    #[test]
    fn refresh_outcomes() {
        let c = cred(json!({"type":"antigravity","refresh_token":"rt"}));
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
            (resp(200, "{}"), Status::CheckError, "retry"),
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
}
