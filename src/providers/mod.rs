//! Provider knowledge for online checks: which request proves what, per provider. Pure: no
//! reqwest, tokio or filesystem here; `probe` sends the requests and feeds the answers back.
//!
//! Each provider's whole story (detection, identity, refresh rotation, probe, and its verdict
//! rules as a table next to their evidence) lives in its own file; [`rule`] holds the table
//! machinery and the one rule shared by all of them.
//!
//! Rules that matter more than anything else (issues #3, #17):
//! - rotating refresh tokens (codex, claude, kimi, xai, qwen, iflow) are never redeemed;
//! - only positive evidence is dead: 429, 5xx, HTML and unexpected bodies are transient or
//!   unknown; a plain 401 is dead only when nothing can renew the credential ([`rule::settle`]);
//! - no token ever goes into a URL; tokens travel in headers or form/JSON bodies.

pub mod claude;
pub mod codex;
pub mod doctor;
pub mod google;
pub mod kimi;
pub mod rule;
pub mod xai;

use chrono::{DateTime, Utc};
use serde_json::Value;

use crate::credential::{Credential, ProviderKind, Secret};
use crate::status::Status;
use crate::verdict::{self, Verdict};

use rule::{Decision, Spec};

/// Providers with no online check: the offline verdict stands.
pub const OFFLINE_ONLY: Spec = Spec {
    types: "vertex, qwen, iflow, others",
    identity: "vertex: the service account's `client_email`; qwen/iflow: `email`",
    rotating_refresh: false,
    stages: &[],
    notes: "no online check: the offline verdict stands and `reason` says so \
            (vertex mints tokens from its key; qwen and iflow were removed from CPA)",
};

/// Every provider's story, in report order.
pub const SPECS: &[&Spec] = &[
    &codex::SPEC,
    &google::SPEC,
    &claude::SPEC,
    &kimi::SPEC,
    &xai::SPEC,
    &OFFLINE_ONLY,
];

/// Turns a table decision into a probe step. A `Continue` that the probe does not handle (a
/// one-request probe has no next request) is `unknown`.
pub fn step(d: Decision) -> Step {
    match d {
        Decision::Done(v) => Step::Done(v),
        Decision::Retry(v) => Step::Retry(v),
        Decision::Continue => Step::Done(Verdict::new(
            Status::Unknown,
            "the answer did not decide and no further check exists",
        )),
    }
}

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
    /// Headers; values are secrets because `Authorization` is one. Names are `http`'s
    /// (constants: a name parsed for every request cost an allocation each, issue 13).
    pub headers: Vec<(http::HeaderName, Secret)>,
    /// Optional body.
    pub body: Option<Body>,
}

impl ProbeRequest {
    /// Hands the request over, leaving an empty one (no URL, no headers) behind: a probe's
    /// first request is sent once, and copying its token for that cost an allocation and a
    /// copy per check (issue 13).
    pub fn take(&mut self) -> Self {
        let empty = Self {
            method: self.method,
            url: String::new(),
            headers: Vec::new(),
            body: None,
        };
        std::mem::replace(self, empty)
    }

    /// A GET with a bearer token.
    pub fn get_bearer(url: &str, token: &Secret) -> Self {
        Self {
            method: Method::Get,
            url: url.to_owned(),
            headers: vec![
                (
                    http::header::AUTHORIZATION,
                    Secret::new(format!("Bearer {}", token.expose())),
                ),
                (http::header::ACCEPT, Secret::new("application/json")),
            ],
            body: None,
        }
    }

    /// Adds a header.
    #[must_use]
    pub fn header(mut self, name: http::HeaderName, value: impl Into<String>) -> Self {
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
    /// The body parsed as JSON, once: every rule row and annotation asks for it.
    parsed: std::sync::OnceLock<Option<Value>>,
    /// The body read as a codex usage answer, once (`codex::Usage`).
    usage: std::sync::OnceLock<Option<codex::Usage>>,
}

impl ProbeResponse {
    /// An answer.
    pub fn new(
        status: u16,
        content_type: String,
        body: String,
        retry_after: Option<std::time::Duration>,
    ) -> Self {
        Self {
            status,
            content_type,
            body,
            retry_after,
            parsed: std::sync::OnceLock::new(),
            usage: std::sync::OnceLock::new(),
        }
    }

    /// The body as JSON, if it is (parsed on the first call).
    pub fn json(&self) -> Option<&Value> {
        self.parsed
            .get_or_init(|| serde_json::from_str(&self.body).ok())
            .as_ref()
    }

    /// The body read as a codex `wham/usage` answer (parsed on the first call); `None` when
    /// it is not JSON.
    pub(crate) fn codex_usage(&self) -> Option<&codex::Usage> {
        self.usage.get_or_init(|| codex::Usage::of(self)).as_ref()
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
    /// Returns the first request. Called once per check (retries send the request again
    /// themselves), so a probe may hand over the request it holds.
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
        self.request.take()
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
pub enum Check {
    /// No request: the verdict is already known (or no online check exists).
    Skip(Verdict),
    /// Run this probe.
    Probe(Box<dyn Probe>),
}

/// Wraps a probe so that every verdict it reaches goes through [`rule::settle`], the one rule
/// that decides whether a plain 401 is dead.
struct Settled {
    inner: Box<dyn Probe>,
    ctx: rule::Context,
}

impl Probe for Settled {
    fn start(&mut self) -> ProbeRequest {
        self.inner.start()
    }

    fn on_response(&mut self, response: &ProbeResponse) -> Step {
        match self.inner.on_response(response) {
            Step::Done(v) => Step::Done(rule::settle(v, self.ctx)),
            Step::Retry(v) => Step::Retry(rule::settle(v, self.ctx)),
            next @ Step::Next(_) => next,
        }
    }
}

/// Decides how to check a credential, given its offline verdict.
///
/// Files that are dead or unparseable offline are not sent anywhere; an expired access token with
/// a rotating refresh token is `expired_refreshable` without any request. `cpa_refresh_failed`
/// says that CPA itself reports the credential unauthorized after its own refresh (server mode):
/// that is positive evidence for a 401.
pub fn check(
    cred: &Credential,
    offline: Verdict,
    now: DateTime<Utc>,
    opts: &ProbeOptions,
    cpa_refresh_failed: bool,
) -> Check {
    let expired = verdict::is_expired(cred, now);
    match offline.status {
        Status::Unverified => {}
        Status::ExpiredRefreshable if !cred.kind.has_rotating_refresh_token() => {}
        _ => return Check::Skip(offline),
    }
    let probe: Result<Box<dyn Probe>, String> = match cred.kind {
        ProviderKind::Codex => codex::probe(cred, opts).ok_or_else(|| "no access token".into()),
        ProviderKind::Claude => claude::probe(cred).ok_or_else(|| "no access token".into()),
        ProviderKind::Antigravity | ProviderKind::Gemini if opts.relay => {
            google::relayed(cred).ok_or_else(|| "no access token".into())
        }
        ProviderKind::Antigravity | ProviderKind::Gemini => google::probe(cred, expired, opts)
            .map_err(|why| {
                format!("the access token is expired and no refresh can be tried: {why}")
            }),
        ProviderKind::Kimi => kimi::probe(cred).ok_or_else(|| "no access token".into()),
        ProviderKind::Xai => xai::probe(cred).ok_or_else(|| "no access token".into()),
        ProviderKind::Vertex | ProviderKind::Qwen | ProviderKind::Iflow | ProviderKind::Other => {
            Err(format!("no online check exists for {}", cred.provider))
        }
    };
    match probe {
        Ok(inner) => Check::Probe(Box::new(Settled {
            inner,
            ctx: rule::Context {
                // Relayed, CPA holds the file and its refresh token; git-credman sees neither.
                can_refresh: cred.refresh_token.is_some() || opts.relay,
                cpa_refresh_failed,
            },
        })),
        Err(why) => Check::Skip(Verdict {
            reason: format!("{}; {why}", offline.reason),
            ..offline
        }),
    }
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
            ..ProbeResponse::default()
        }
    }

    pub fn html(status: u16) -> ProbeResponse {
        ProbeResponse {
            status,
            content_type: "text/html".into(),
            body: "<html>challenge</html>".into(),
            retry_after: None,
            ..ProbeResponse::default()
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
