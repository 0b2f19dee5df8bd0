//! What `git credman doctor` expects from each provider when it is sent a deliberately invalid
//! token: the shape of the answer the verdict rules rely on to call a credential dead (status
//! code, JSON content, an error code field, and what the rules conclude). Pure: the command
//! builds a throw-away credential file per [`Target`] around an [`invalid_token`], gets its probe
//! from [`super::check`] (the very request a scan sends), wraps it in a [`Recorder`], and the
//! probe engine sends it; [`judge`] compares what was seen with the target's [`Expect`]s.
//!
//! Nothing here ever holds a real token: the token is generated at run time, random, and
//! shaped so that no provider can take it for a real one. The only refresh sent is Google's, with
//! an invalid refresh token (Google refresh tokens do not rotate, and an invalid one names no
//! grant at all); the rotating providers get files without a refresh token, as a scan never
//! redeems theirs anyway.

use std::sync::{Arc, Mutex};

use serde_json::{Value, json};

use super::{Probe, ProbeRequest, ProbeResponse, Step};
use crate::status::{Class, Status};
use crate::verdict::Verdict;

/// Every invalid token starts with this (tests assert that nothing else reaches a mock).
pub const TOKEN_PREFIX: &str = "credman-doctor-invalid-";

/// Returns a fresh invalid token: [`TOKEN_PREFIX`] and 32 random hex digits.
pub fn invalid_token() -> String {
    use std::hash::{BuildHasher as _, Hasher as _};
    let mut out = String::from(TOKEN_PREFIX);
    for salt in 0..2u64 {
        let mut h = std::collections::hash_map::RandomState::new().build_hasher();
        h.write_u64(salt);
        h.write_u128(
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map_or(0, |d| d.as_nanos()),
        );
        out.push_str(&format!("{:016x}", h.finish()));
    }
    out
}

/// What the rules conclude from an answer.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Then {
    /// A dead status (the answer is evidence against the token).
    Dead,
    /// The probe goes on with its next request (Google: tokeninfo said invalid, so refresh).
    Next,
}

/// The answer one request of a probe must get when its token is invalid.
#[derive(Debug)]
pub struct Expect {
    /// The request, for the report (public URL; redirection is applied by the engine).
    pub request: &'static str,
    /// Acceptable HTTP statuses.
    pub statuses: &'static [u16],
    /// What the rules must conclude.
    pub then: Then,
    /// Where the expected answer comes from.
    pub evidence: &'static str,
}

impl Expect {
    /// Describes the expectation: `HTTP 401, JSON with an error code; the rules say dead`.
    pub fn describe(&self) -> String {
        let codes: Vec<String> = self.statuses.iter().map(u16::to_string).collect();
        let then = match self.then {
            Then::Dead => "the rules call it dead",
            Then::Next => "the rules go on to the next request",
        };
        format!(
            "HTTP {}, a JSON body with an error code (`error`, `error.code` or `error.type`); {then}",
            codes.join("/")
        )
    }
}

/// One provider `doctor` checks.
#[derive(Debug)]
pub struct Target {
    /// The provider's name, as `--provider` and reports spell it.
    pub name: &'static str,
    /// The throw-away credential file around the invalid token.
    pub file: fn(&str) -> Value,
    /// One expectation per request, in order.
    pub stages: &'static [Expect],
}

/// A far-future expiry, so the file is not expired offline and gets probed.
const FAR: &str = "2999-01-01T00:00:00Z";

const UNAUTHORIZED: &str = "a refused access token is a 401 with an error object \
    (reference §4 observed codex bodies; the rules' 401 rows in src/providers)";

/// The providers, in report order.
pub const TARGETS: &[Target] = &[
    Target {
        name: "codex",
        file: |t| json!({"type": "codex", "access_token": t, "account_id": "credman-doctor", "expired": FAR}),
        stages: &[Expect {
            request: super::codex::USAGE_URL,
            statuses: &[401],
            then: Then::Dead,
            evidence: UNAUTHORIZED,
        }],
    },
    Target {
        name: "antigravity",
        file: |t| json!({"type": "antigravity", "access_token": t, "refresh_token": t, "expired": FAR}),
        stages: GOOGLE,
    },
    Target {
        name: "gemini",
        file: |t| json!({"type": "gemini", "token": {"access_token": t, "refresh_token": t, "expiry": FAR}}),
        stages: GOOGLE,
    },
    Target {
        name: "claude",
        file: |t| json!({"type": "claude", "access_token": t, "expired": FAR}),
        stages: &[Expect {
            request: super::claude::USAGE_URL,
            statuses: &[401],
            then: Then::Dead,
            evidence: "reference §4: 401 authentication_error for revoked or expired tokens",
        }],
    },
    Target {
        name: "kimi",
        file: |t| json!({"type": "kimi", "access_token": t, "expired": FAR}),
        stages: &[Expect {
            request: super::kimi::USAGE_URL,
            statuses: &[401],
            then: Then::Dead,
            evidence: UNAUTHORIZED,
        }],
    },
    Target {
        name: "xai",
        file: |t| json!({"type": "xai", "access_token": t, "expired": FAR}),
        stages: &[Expect {
            request: super::xai::BILLING_URL,
            statuses: &[401],
            then: Then::Dead,
            evidence: UNAUTHORIZED,
        }],
    },
];

/// codex with `--codex-probe responses`: the model request, refused before any model is run.
pub const CODEX_RESPONSES: Target = Target {
    name: "codex",
    file: |t| json!({"type": "codex", "access_token": t, "account_id": "credman-doctor", "expired": FAR}),
    stages: &[Expect {
        request: super::codex::RESPONSES_URL,
        statuses: &[401],
        then: Then::Dead,
        evidence: UNAUTHORIZED,
    }],
};

/// The targets for these probe options (`--codex-probe responses` swaps codex's request).
pub fn targets(opts: &super::ProbeOptions) -> Vec<&'static Target> {
    TARGETS
        .iter()
        .map(|t| {
            if t.name == "codex" && opts.codex_probe == super::CodexProbe::Responses {
                &CODEX_RESPONSES
            } else {
                t
            }
        })
        .collect()
}

/// Google: tokeninfo refuses the token, then the refresh with an invalid refresh token is
/// `invalid_grant` (the only answer that makes a Google login dead).
const GOOGLE: &[Expect] = &[
    Expect {
        request: super::google::TOKENINFO_URL,
        statuses: &[400, 401],
        then: Then::Next,
        evidence: "Google OAuth2 tokeninfo docs: 400 {\"error\":\"invalid_token\"}",
    },
    Expect {
        request: super::google::TOKEN_URL,
        statuses: &[400, 401],
        then: Then::Dead,
        evidence: "reference §3: 400 {\"error\":\"invalid_grant\"} for a bad refresh token",
    },
];

/// What the rules made of an answer.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Concluded {
    /// Final status.
    Done(Status),
    /// Retry (transient); the status is the fallback.
    Retry(Status),
    /// Next request.
    Next,
}

/// The shape of one answer: nothing from the body but its kind and error code.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Seen {
    /// HTTP status.
    pub status: u16,
    /// The content type (without parameters), or empty.
    pub content_type: String,
    /// The body is an HTML page.
    pub html: bool,
    /// The body is JSON.
    pub json: bool,
    /// The error code the rules read (`error`, `error.code`, `error.type`), sanitized.
    pub error_code: Option<String>,
    /// What the rules concluded.
    pub concluded: Concluded,
}

impl Seen {
    fn of(resp: &ProbeResponse, step: &Step) -> Self {
        let content_type = resp
            .content_type
            .split(';')
            .next()
            .unwrap_or_default()
            .trim()
            .chars()
            .filter(char::is_ascii_graphic)
            .take(60)
            .collect();
        let error_code = super::rule::error_code(resp).map(|c| {
            c.chars()
                .filter(|c| c.is_ascii_alphanumeric() || "_-. ".contains(*c))
                .take(60)
                .collect()
        });
        Self {
            status: resp.status,
            content_type,
            html: resp.is_html(),
            json: resp.json().is_some(),
            error_code,
            concluded: match step {
                Step::Done(v) => Concluded::Done(v.status),
                Step::Retry(v) => Concluded::Retry(v.status),
                Step::Next(_) => Concluded::Next,
            },
        }
    }

    /// Describes the answer: `HTTP 200 text/html (an HTML page)`.
    pub fn describe(&self) -> String {
        let ct = if self.content_type.is_empty() {
            "no content type"
        } else {
            &self.content_type
        };
        let body = if self.html {
            " (an HTML page: a moved endpoint, a login or a challenge page)".to_owned()
        } else if !self.json {
            ", not JSON".to_owned()
        } else if let Some(code) = &self.error_code {
            format!(", error code `{code}`")
        } else {
            ", JSON without an error code".to_owned()
        };
        let then = match self.concluded {
            Concluded::Done(s) | Concluded::Retry(s) => format!("; the rules say {}", s.as_str()),
            Concluded::Next => "; the rules go on to the next request".to_owned(),
        };
        format!("HTTP {} {ct}{body}{then}", self.status)
    }
}

/// The answers seen, one per request of the probe (a retried request keeps its last answer).
pub type Log = Arc<Mutex<Vec<Seen>>>;

/// Wraps a probe: records the shape of every answer, sends no more requests than the target
/// expects, and retries only what is transient (429, 408, 5xx): an HTML page or an unexpected
/// body is drift, not worth a retry.
pub struct Recorder {
    inner: Box<dyn Probe>,
    log: Log,
    stages: usize,
    stage: usize,
}

impl Recorder {
    /// Wraps `inner`, which must not send more than `stages` distinct requests.
    pub fn boxed(inner: Box<dyn Probe>, stages: usize, log: Log) -> Box<dyn Probe> {
        Box::new(Self {
            inner,
            log,
            stages,
            stage: 0,
        })
    }
}

/// Whether an answer only says "try later" (not drift; the check could not be done).
pub fn transient(status: u16) -> bool {
    status == 429 || status == 408 || (500..=599).contains(&status)
}

impl Probe for Recorder {
    fn start(&mut self) -> ProbeRequest {
        self.inner.start()
    }

    fn on_response(&mut self, response: &ProbeResponse) -> Step {
        let step = self.inner.on_response(response);
        let seen = Seen::of(response, &step);
        {
            let mut log = self
                .log
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner);
            log.truncate(self.stage);
            log.push(seen);
        }
        match step {
            Step::Retry(v) if !transient(response.status) => Step::Done(v),
            Step::Next(_) if self.stage + 1 >= self.stages => Step::Done(Verdict::new(
                Status::Unknown,
                "doctor sends no further request",
            )),
            Step::Next(next) => {
                self.stage += 1;
                Step::Next(next)
            }
            other => other,
        }
    }
}

/// How a provider answered.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Health {
    /// As the rules expect.
    Ok,
    /// Not as the rules expect: they would misjudge real credentials.
    Drift {
        /// The request that drifted.
        request: &'static str,
        /// What the rules need.
        expected: String,
        /// What came back.
        seen: String,
    },
    /// Could not be checked (network, 5xx, 429): not drift.
    Unreachable {
        /// The request.
        request: &'static str,
        /// Why.
        reason: String,
    },
}

/// Compares the answers seen with the target's expectations; `verdict` is the engine's final
/// verdict (its reason tells a transport failure).
pub fn judge(target: &Target, seen: &[Seen], verdict: &Verdict) -> Health {
    for (i, want) in target.stages.iter().enumerate() {
        let Some(s) = seen.get(i) else {
            return Health::Unreachable {
                request: want.request,
                reason: verdict.reason.clone(),
            };
        };
        if transient(s.status) {
            let reason = if seen.len() == i + 1 {
                format!("HTTP {} ({})", s.status, verdict.reason)
            } else {
                format!("HTTP {}", s.status)
            };
            return Health::Unreachable {
                request: want.request,
                reason,
            };
        }
        let concluded_ok = match (want.then, s.concluded) {
            (Then::Dead, Concluded::Done(st)) => st.class() == Class::Dead,
            (Then::Next, Concluded::Next) => true,
            _ => false,
        };
        if s.html
            || !s.json
            || s.error_code.is_none()
            || !want.statuses.contains(&s.status)
            || !concluded_ok
        {
            return Health::Drift {
                request: want.request,
                expected: want.describe(),
                seen: s.describe(),
            };
        }
    }
    Health::Ok
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::credential::Credential;
    use crate::providers::{Check, ProbeOptions, check};

    fn probe_of(target: &Target) -> Box<dyn Probe> {
        let token = invalid_token();
        let Value::Object(obj) = (target.file)(&token) else {
            panic!("object")
        };
        let cred = Credential::from_json(&obj);
        let now = chrono::Utc::now();
        let offline = crate::verdict::offline(&cred, now);
        match check(&cred, offline, now, &ProbeOptions::default(), false) {
            Check::Probe(p) => p,
            Check::Skip(v) => panic!("{}: skipped: {}", target.name, v.reason),
        }
    }

    fn answer(status: u16, ct: &str, body: &str) -> ProbeResponse {
        ProbeResponse {
            status,
            content_type: ct.into(),
            body: body.into(),
            retry_after: None,
            ..ProbeResponse::default()
        }
    }

    /// Drives a target's real probe through the recorder with `answers`, then judges.
    fn run(target: &Target, answers: &[ProbeResponse]) -> Health {
        let log = Log::default();
        let mut p = Recorder::boxed(probe_of(target), target.stages.len(), Arc::clone(&log));
        let req = p.start();
        assert!(
            req.headers
                .iter()
                .all(|(_, v)| !v.expose().contains("Bearer ") || v.expose().contains(TOKEN_PREFIX))
        );
        let mut verdict = Verdict::new(Status::CheckError, "connection failed");
        for a in answers {
            match p.on_response(a) {
                Step::Done(v) | Step::Retry(v) => {
                    verdict = v;
                    break;
                }
                Step::Next(_) => {}
            }
        }
        let seen = log.lock().unwrap().clone();
        judge(target, &seen, &verdict)
    }

    fn target(name: &str) -> &'static Target {
        TARGETS.iter().find(|t| t.name == name).unwrap()
    }

    const JSON: &str = "application/json; charset=utf-8";

    #[test]
    fn tokens_are_fresh_and_shaped() {
        let (a, b) = (invalid_token(), invalid_token());
        assert_ne!(a, b);
        assert_eq!(a.len(), TOKEN_PREFIX.len() + 32);
        assert!(
            a[TOKEN_PREFIX.len()..]
                .bytes()
                .all(|c| c.is_ascii_hexdigit())
        );
    }

    #[test]
    fn every_target_is_probed_at_its_url() {
        for t in TARGETS.iter().chain([&CODEX_RESPONSES]) {
            let opts = ProbeOptions {
                codex_probe: if std::ptr::eq(t, &CODEX_RESPONSES) {
                    crate::providers::CodexProbe::Responses
                } else {
                    crate::providers::CodexProbe::Usage
                },
                ..ProbeOptions::default()
            };
            let Value::Object(obj) = (t.file)(&invalid_token()) else {
                panic!("object")
            };
            let cred = Credential::from_json(&obj);
            let now = chrono::Utc::now();
            let offline = crate::verdict::offline(&cred, now);
            let Check::Probe(mut p) = check(&cred, offline, now, &opts, false) else {
                panic!("{}: skipped", t.name)
            };
            assert_eq!(p.start().url, t.stages[0].request, "{}", t.name);
        }
    }

    #[test]
    fn upstream_answers_are_ok() {
        let codex = r#"{"error":{"message":"Provided authentication token is expired.","type":"invalid_request_error","code":"token_expired"},"status":401}"#;
        assert_eq!(
            run(target("codex"), &[answer(401, JSON, codex)]),
            Health::Ok
        );
        let google = [
            answer(
                400,
                JSON,
                r#"{"error":"invalid_token","error_description":"Invalid Value"}"#,
            ),
            answer(
                400,
                JSON,
                r#"{"error":"invalid_grant","error_description":"Bad Request"}"#,
            ),
        ];
        assert_eq!(run(target("antigravity"), &google), Health::Ok);
        assert_eq!(run(target("gemini"), &google), Health::Ok);
        let claude = r#"{"type":"error","error":{"type":"authentication_error","message":"Invalid bearer token"}}"#;
        assert_eq!(
            run(target("claude"), &[answer(401, JSON, claude)]),
            Health::Ok
        );
    }

    #[test]
    fn drift_and_unreachable() {
        let html = answer(200, "text/html", "<html>sign in</html>");
        let Health::Drift { seen, .. } = run(target("kimi"), &[html]) else {
            panic!("drift")
        };
        assert!(seen.contains("HTML"), "{seen}");
        let moved = answer(404, JSON, r#"{"detail":"Not Found"}"#);
        assert!(matches!(run(target("xai"), &[moved]), Health::Drift { .. }));
        let new_format = answer(401, JSON, r#"{"detail":"Unauthorized"}"#);
        assert!(matches!(
            run(target("codex"), &[new_format]),
            Health::Drift { .. }
        ));
        let client = [
            answer(400, JSON, r#"{"error":"invalid_token"}"#),
            answer(401, JSON, r#"{"error":"invalid_client"}"#),
        ];
        let Health::Drift { request, .. } = run(target("gemini"), &client) else {
            panic!("drift")
        };
        assert_eq!(request, super::super::google::TOKEN_URL);
        assert!(matches!(
            run(target("claude"), &[answer(503, JSON, "{}")]),
            Health::Unreachable { .. }
        ));
        assert!(matches!(
            run(target("claude"), &[]),
            Health::Unreachable { .. }
        ));
    }

    #[test]
    fn recorder_stops_after_the_expected_requests() {
        let t = target("antigravity");
        let log = Log::default();
        let mut p = Recorder::boxed(probe_of(t), t.stages.len(), Arc::clone(&log));
        let _ = p.start();
        assert!(matches!(
            p.on_response(&answer(400, JSON, r#"{"error":"invalid_token"}"#)),
            Step::Next(_)
        ));
        // A refresh that "worked" would lead to a tokeninfo on the answer's token: not sent.
        let step = p.on_response(&answer(200, JSON, r#"{"access_token":"x"}"#));
        assert!(matches!(step, Step::Done(_)), "{step:?}");
    }
}
