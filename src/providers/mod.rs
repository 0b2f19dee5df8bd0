//! Provider knowledge for online checks: which request proves what, per provider. Pure: no
//! reqwest, tokio or filesystem here; `probe` sends the requests and feeds the answers back.
//!
//! Rules that matter more than anything else (issue #3):
//! - rotating refresh tokens (codex, claude, kimi, xai, qwen, iflow) are never redeemed;
//! - only positive evidence is dead: 429, 5xx, HTML and unexpected bodies are transient or
//!   unknown, and a 403 is dead only when its body says so;
//! - no token ever goes into a URL; tokens travel in headers or form/JSON bodies.

pub mod claude;
pub mod codex;
pub mod google;
pub mod kimi;
pub mod xai;

use chrono::{DateTime, Utc};
use serde_json::Value;

use crate::credential::{Credential, ProviderKind, Secret};
use crate::status::Status;
use crate::verdict::{self, Verdict};

/// HTTP methods the probes use.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Method {
    /// GET.
    Get,
    /// POST.
    Post,
}

/// A request body. Values are secrets; the whole body never reaches a log.
#[derive(Clone, Debug)]
pub enum Body {
    /// `application/x-www-form-urlencoded`.
    Form(Vec<(&'static str, Secret)>),
    /// `application/json`.
    Json(Secret),
}

/// One request a probe wants sent. The URL is the provider's public URL (redirection is applied
/// by `probe`) and never contains a secret.
#[derive(Clone, Debug)]
pub struct ProbeRequest {
    /// Method.
    pub method: Method,
    /// The public URL.
    pub url: String,
    /// Headers; values are secrets because `Authorization` is one.
    pub headers: Vec<(&'static str, Secret)>,
    /// Optional body.
    pub body: Option<Body>,
}

impl ProbeRequest {
    /// A GET with a bearer token.
    pub fn get_bearer(url: &str, token: &Secret) -> Self {
        Self {
            method: Method::Get,
            url: url.to_owned(),
            headers: vec![
                (
                    "authorization",
                    Secret::new(format!("Bearer {}", token.expose())),
                ),
                ("accept", Secret::new("application/json")),
            ],
            body: None,
        }
    }

    /// Adds a header.
    #[must_use]
    pub fn header(mut self, name: &'static str, value: impl Into<String>) -> Self {
        self.headers.push((name, Secret::new(value)));
        self
    }
}

/// An answer, as much of it as the classifiers need.
#[derive(Clone, Debug, Default)]
pub struct ProbeResponse {
    /// HTTP status.
    pub status: u16,
    /// `content-type`, lower-cased.
    pub content_type: String,
    /// The body (capped by `probe`).
    pub body: String,
    /// The `Retry-After` delay, when the answer had one.
    pub retry_after: Option<std::time::Duration>,
}

impl ProbeResponse {
    /// Parses the body as JSON, if it is.
    pub fn json(&self) -> Option<Value> {
        serde_json::from_str(&self.body).ok()
    }

    /// Returns whether the body is an HTML page (a WAF or captive portal, never evidence).
    pub fn is_html(&self) -> bool {
        self.content_type.contains("html") || self.body.trim_start().starts_with('<')
    }

    /// Returns whether the body mentions `needle` (case-insensitive).
    pub fn mentions(&self, needle: &str) -> bool {
        self.body
            .to_ascii_lowercase()
            .contains(&needle.to_ascii_lowercase())
    }
}

/// What a probe does after an answer.
#[derive(Debug)]
pub enum Step {
    /// The verdict is known.
    Done(Verdict),
    /// Send another request (e.g. tokeninfo after a refresh).
    Next(ProbeRequest),
    /// The answer was transient: send the same request again (after backoff); if the retries are
    /// used up, the verdict is the one given.
    Retry(Verdict),
}

/// A provider's check of one credential: a small state machine driven by `probe`.
pub trait Probe: Send {
    /// Returns the first request.
    fn start(&mut self) -> ProbeRequest;
    /// Interprets an answer to the last request.
    fn on_response(&mut self, response: &ProbeResponse) -> Step;
}

/// A probe of one request (retried as needed) and one classifier: most providers need no more.
pub struct OneShot {
    request: ProbeRequest,
    classify: fn(&ProbeResponse) -> Step,
}

impl OneShot {
    /// Boxes a one-request probe.
    pub fn boxed(request: ProbeRequest, classify: fn(&ProbeResponse) -> Step) -> Box<dyn Probe> {
        Box::new(Self { request, classify })
    }
}

impl Probe for OneShot {
    fn start(&mut self) -> ProbeRequest {
        self.request.clone()
    }

    fn on_response(&mut self, response: &ProbeResponse) -> Step {
        (self.classify)(response)
    }
}

/// Which codex probe to use.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum CodexProbe {
    /// `GET /backend-api/wham/usage`: free, reports quota windows.
    Usage,
    /// `POST /backend-api/codex/responses` with a one-word request (the predecessor's probe).
    Responses,
}

/// Options of the probes.
#[derive(Clone, Debug)]
pub struct ProbeOptions {
    /// Which codex probe.
    pub codex_probe: CodexProbe,
    /// Model for the responses probe.
    pub codex_model: String,
    /// Google OAuth client secrets by provider (`antigravity`, `gemini`), for refreshing files
    /// that do not carry their own client secret.
    pub google_client_secrets: Vec<(String, Secret)>,
    /// Requests are relayed through CPA's `api-call`, which substitutes `$TOKEN$` in headers
    /// only: probes must carry the token in a header.
    pub relay: bool,
}

impl Default for ProbeOptions {
    fn default() -> Self {
        Self {
            codex_probe: CodexProbe::Usage,
            codex_model: "gpt-5".into(),
            google_client_secrets: Vec::new(),
            relay: false,
        }
    }
}

/// What to do with one credential online.
pub enum Plan {
    /// No request: the verdict is already known (or no online check exists).
    Skip(Verdict),
    /// Run this probe.
    Probe(Box<dyn Probe>),
}

/// Decides how to check a credential, given its offline verdict.
///
/// Files that are dead or unparseable offline are not sent anywhere; an expired access token with
/// a rotating refresh token is `expired_refreshable` without any request.
pub fn plan(cred: &Credential, offline: Verdict, now: DateTime<Utc>, opts: &ProbeOptions) -> Plan {
    let expired = verdict::is_expired(cred, now);
    match offline.status {
        Status::Unverified => {}
        Status::ExpiredRefreshable if !cred.kind.has_rotating_refresh_token() => {}
        _ => return Plan::Skip(offline),
    }
    let probe: Option<Box<dyn Probe>> = match cred.kind {
        ProviderKind::Codex => codex::probe(cred, opts),
        ProviderKind::Claude => claude::probe(cred),
        ProviderKind::Antigravity | ProviderKind::Gemini if opts.relay => google::relayed(cred),
        ProviderKind::Antigravity | ProviderKind::Gemini => google::probe(cred, expired, opts),
        ProviderKind::Kimi => kimi::probe(cred),
        ProviderKind::Xai => xai::probe(cred),
        ProviderKind::Vertex | ProviderKind::Qwen | ProviderKind::Iflow | ProviderKind::Other => {
            None
        }
    };
    match probe {
        Some(p) => Plan::Probe(p),
        None => {
            let why = match cred.kind {
                ProviderKind::Antigravity | ProviderKind::Gemini => {
                    "the access token is expired and no Google client secret is known for a refresh \
                     (set credman.antigravityClientSecret or credman.geminiClientSecret)"
                        .to_owned()
                }
                _ => format!("no online check exists for {}", cred.provider),
            };
            Plan::Skip(Verdict {
                reason: format!("{}; {why}", offline.reason),
                ..offline
            })
        }
    }
}

/// The fallback classification shared by every provider for answers it has no rule for:
/// 429 → retry, then `rate_limited`; 408/5xx → retry, then `check_error`; HTML → retry, then
/// `check_error`; anything else → `unknown` with the HTTP status.
pub fn fallback(resp: &ProbeResponse) -> Step {
    let code = resp.status;
    let v = |status, reason: String| Verdict {
        http_status: Some(code),
        ..Verdict::new(status, reason)
    };
    match code {
        429 => Step::Retry(v(
            Status::RateLimited,
            "rate limited by the provider (HTTP 429)".into(),
        )),
        408 | 500..=599 => Step::Retry(v(
            Status::CheckError,
            format!("provider error (HTTP {code})"),
        )),
        _ if resp.is_html() => Step::Retry(v(
            Status::CheckError,
            format!("unexpected HTML answer (HTTP {code}); a proxy or WAF page is not evidence"),
        )),
        _ => Step::Done(v(
            Status::Unknown,
            format!("unexpected answer (HTTP {code}){}", snippet(resp)),
        )),
    }
}

/// The classification of a plain "is this token accepted" endpoint: 200 with a JSON body →
/// `active`; 200 with anything else → retry, then `check_error`; 401 → `unauthorized`;
/// everything else → [`fallback`].
pub fn classify_accepted(resp: &ProbeResponse, accepted: &'static str) -> Step {
    match resp.status {
        200 if resp.json().is_some() => Step::Done(verdict(Status::Active, 200, accepted)),
        200 => Step::Retry(verdict(Status::CheckError, 200, "the answer is not JSON")),
        401 if !resp.is_html() => Step::Done(verdict(
            Status::Unauthorized,
            401,
            "token rejected (HTTP 401)",
        )),
        _ => fallback(resp),
    }
}

/// A short, safe excerpt of an error body for reasons: only an error code/message from JSON.
pub fn snippet(resp: &ProbeResponse) -> String {
    let Some(json) = resp.json() else {
        return String::new();
    };
    let pick = |v: &Value| -> Option<String> {
        let e = v.get("error").unwrap_or(v);
        e.get("code")
            .or_else(|| e.get("type"))
            .or_else(|| e.get("status"))
            .and_then(Value::as_str)
            .or_else(|| e.as_str())
            .map(|s| {
                s.chars()
                    .filter(|c| c.is_ascii_alphanumeric() || *c == '_')
                    .take(48)
                    .collect()
            })
    };
    pick(&json)
        .filter(|s: &String| !s.is_empty())
        .map(|s| format!(": {s}"))
        .unwrap_or_default()
}

/// Builds a verdict with an HTTP status.
pub fn verdict(status: Status, http: u16, reason: impl Into<String>) -> Verdict {
    Verdict {
        http_status: Some(http),
        ..Verdict::new(status, reason)
    }
}

/// Parses a unix-seconds or RFC3339 JSON value as a time.
pub fn time_of(v: Option<&Value>) -> Option<DateTime<Utc>> {
    v.and_then(crate::credential::parse_timestamp)
}

#[cfg(test)]
pub(crate) mod test_support {
    use super::*;

    pub fn resp(status: u16, body: &str) -> ProbeResponse {
        ProbeResponse {
            status,
            content_type: "application/json".into(),
            body: body.into(),
            retry_after: None,
        }
    }

    pub fn html(status: u16) -> ProbeResponse {
        ProbeResponse {
            status,
            content_type: "text/html".into(),
            body: "<html>challenge</html>".into(),
            retry_after: None,
        }
    }

    /// Checks a classifier against `(answer, status, "done"|"retry")` rows.
    pub fn assert_table(
        classify: fn(&ProbeResponse) -> Step,
        cases: &[(ProbeResponse, Status, &str)],
    ) {
        for (r, want, kind) in cases {
            assert_eq!(
                status_of(&classify(r)),
                (*want, *kind),
                "{} {}",
                r.status,
                r.body
            );
        }
    }

    /// Returns the status a step ends with (Retry counts as its fallback verdict).
    pub fn status_of(step: &Step) -> (Status, &'static str) {
        match step {
            Step::Done(v) => (v.status, "done"),
            Step::Retry(v) => (v.status, "retry"),
            Step::Next(_) => (Status::Unknown, "next"),
        }
    }
}
