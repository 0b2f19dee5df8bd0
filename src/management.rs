//! The CLIProxyAPI Management API client (`/v0/management/*`), the whole of it: key check,
//! listing, download, disable/enable, delete, and the `api-call` relay ([`ApiCall`]) that the
//! probe engine sends server-mode checks through. Network code, like `probe` (whose client and
//! transport descriptions the relay uses). The key travels only in the `Authorization` header;
//! names from the server are validated before they touch the disk or a URL; oversized or
//! malformed answers are errors.

use std::time::Duration;

use serde_json::Value;

use crate::credential::Secret;
use crate::endpoint::Endpoints;
use crate::probe::{BODY_CAP, Relay, RelayError, transport_reason, url_encode};
use crate::providers::{Body, Method, ProbeRequest, ProbeResponse};

/// Largest listing or file accepted from a server.
const MAX_BODY: usize = 32 * 1024 * 1024;

/// Management API errors. They name the server and the route, never the key.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// Every route answers 404.
    #[error(
        "the Management API is disabled on this server (every /v0/management route answers 404); set remote-management.secret-key in CPA's config"
    )]
    Disabled,
    /// The key was refused; CPA bans an IP after 5 failures, so git-credman stops at once.
    #[error(
        "the server refused the management key (HTTP {status}: {message}); stopped after one try because CPA bans an IP for 30 minutes after 5 failed keys"
    )]
    KeyRefused {
        /// 401 or 403.
        status: u16,
        /// CPA's message (e.g. its ban notice).
        message: String,
    },
    /// CPA's configuration does not allow this client (answered before the key is checked, so it
    /// does not count towards the ban).
    #[error(
        "the server does not accept management requests from here (HTTP 403: {message}); {hint}"
    )]
    NotAllowed {
        /// CPA's message.
        message: String,
        /// What to change in CPA's config.
        hint: &'static str,
    },
    /// Another HTTP error.
    #[error("{what}: HTTP {status}: {message}")]
    Http {
        /// The operation.
        what: String,
        /// Status.
        status: u16,
        /// CPA's error message.
        message: String,
    },
    /// The server could not be reached.
    #[error("{what}: {reason}")]
    Transport {
        /// The operation.
        what: String,
        /// Why (no URL, no key).
        reason: String,
    },
    /// The answer is not what the API documents.
    #[error("{what}: unexpected answer ({reason})")]
    BadAnswer {
        /// The operation.
        what: String,
        /// What is wrong.
        reason: String,
    },
    /// A file name is not one git-credman sends to the server (it never sends a listed name
    /// that is not a plain, safe file name).
    #[error("refusing to send the file name {0:?} to the server: not a plain file name")]
    BadName(String),
    /// Setting up the client failed.
    #[error("cannot set up the HTTP client: {0}")]
    Setup(String),
}

/// Returns whether a name from the server is a plain file name, safe to use as a file name on
/// disk and in a query: no separator, no control character, not `.`/`..`, ends in `.json`.
pub fn is_safe_name(name: &str) -> bool {
    !name.is_empty()
        && name.len() <= 255
        && !name.contains(['/', '\\', '\0'])
        && name != "."
        && name != ".."
        && !name.starts_with("..")
        && !name.chars().any(char::is_control)
        && name.to_ascii_lowercase().ends_with(".json")
}

/// Returns whether a name is a safe path relative to the auth dir: `/`-separated components, none
/// empty, `.` or `..`; not absolute; no `\`, NUL or control character; ends in `.json`.
pub fn is_safe_relative(name: &str) -> bool {
    name.len() <= 4096
        && !name.starts_with('/')
        && !name.contains(['\\', '\0'])
        && !name.chars().any(char::is_control)
        && name.to_ascii_lowercase().ends_with(".json")
        && name
            .split('/')
            .all(|c| !c.is_empty() && c != "." && c != ".." && c.len() <= 255)
}

/// Where a listed credential lives, which decides what git-credman may do with it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Place {
    /// A file directly in the auth dir: check, disable, back up and delete.
    TopLevel,
    /// A file in a sub-folder of the auth dir (CPA loads the dir recursively): check and disable
    /// by name and `auth_index`, never delete (CPA's download refuses names with `/`, so it
    /// cannot be backed up, and a DELETE by base name reaches a top-level file of that name
    /// first).
    SubFolder,
    /// Never touched: runtime-only (no file), listed from memory after its file went away, or a
    /// name that is not a safe relative path. The reason says which.
    Untouchable(&'static str),
}

/// Why an entry is never touched.
const RUNTIME_ONLY: &str =
    "runtime-only entry (no file; CPA holds it in memory, e.g. an AI Studio relay); never touched";
const NO_FILE: &str = "listed from memory: its file is gone from the auth dir; never touched";
const UNSAFE_NAME: &str =
    "the server listed a name that is not a safe relative path of a .json file; never touched";

/// Decides where an entry lives from its listed `name`, `id`, `runtime_only` and `source`.
fn place_of(name: &str, id: Option<&str>, runtime_only: bool, source: Option<&str>) -> Place {
    if runtime_only {
        return Place::Untouchable(RUNTIME_ONLY);
    }
    if source == Some("memory") {
        return Place::Untouchable(NO_FILE);
    }
    if !is_safe_relative(name) || id.is_some_and(|i| !i.is_empty() && !is_safe_relative(i)) {
        return Place::Untouchable(UNSAFE_NAME);
    }
    // The id is the path relative to the auth dir; trust whichever of the two says sub-folder.
    if name.contains('/') || id.is_some_and(|i| i.contains('/')) {
        Place::SubFolder
    } else {
        Place::TopLevel
    }
}

/// Makes a listed name printable: control characters escaped, at most 255 characters.
pub fn printable(name: &str) -> String {
    let mut out = String::new();
    for c in name.chars().take(255) {
        if c.is_control() {
            out.extend(c.escape_default());
        } else {
            out.push(c);
        }
    }
    out
}

/// One credential as the server lists it.
#[derive(Clone, Debug)]
pub struct Entry {
    /// The listed name, made printable (control characters escaped); for a file, its path
    /// relative to the auth dir.
    pub name: String,
    /// Where it lives: what git-credman may do with it.
    pub place: Place,
    /// The server's handle; string or integer on old servers.
    pub auth_index: Option<String>,
    /// Provider (`type` / `provider`).
    pub provider: String,
    /// Email, else `account`, else a `label` that is not just the provider name or project id.
    pub email: Option<String>,
    /// Codex account id.
    pub account_id: Option<String>,
    /// Codex plan.
    pub plan: Option<String>,
    /// CPA's status (`active`, `disabled`, `error` …).
    pub status: Option<String>,
    /// CPA's status message.
    pub status_message: Option<String>,
    /// Disabled on the server.
    pub disabled: bool,
    /// Cooling down.
    pub unavailable: bool,
    /// When CPA retries it.
    pub next_retry_after: Option<String>,
    /// When CPA last changed its record (`updated_at`: a disable, a field patch, a refresh).
    pub updated_at: Option<String>,
}

/// What a delete did.
#[derive(Clone, Debug, Default)]
pub struct Deleted {
    /// Names deleted.
    pub deleted: Vec<String>,
    /// Names not deleted, with CPA's reason.
    pub failed: Vec<(String, String)>,
}

/// A connection to one server.
pub struct Server {
    base: String,
    key: Secret,
    client: reqwest::Client,
    rt: tokio::runtime::Runtime,
}

fn str_of(v: &Value, key: &str) -> Option<String> {
    match v.get(key)? {
        Value::String(s) if !s.is_empty() => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        _ => None,
    }
}

fn error_message(body: &[u8]) -> String {
    let msg = serde_json::from_slice::<Value>(body)
        .ok()
        .and_then(|v| v.get("error").and_then(Value::as_str).map(str::to_owned))
        .unwrap_or_else(|| String::from_utf8_lossy(&body[..body.len().min(200)]).into_owned());
    msg.chars().filter(|c| !c.is_control()).take(200).collect()
}

/// CPA's 403 answers that come from its configuration, not from a refused key
/// (handler.go:305,338,367): what to change.
pub fn config_hint(message: &str) -> Option<&'static str> {
    let m = message.to_ascii_lowercase();
    if m.contains("remote management disabled") {
        Some(
            "set remote-management.allow-remote: true in CPA's config (or MANAGEMENT_PASSWORD), \
             or run git-credman on the server's own host",
        )
    } else if m.contains("key not set") {
        Some("set remote-management.secret-key in CPA's config; the key was not checked")
    } else {
        None
    }
}

impl Server {
    /// Prepares a connection (no request yet). `base` is the server URL without a path.
    #[allow(clippy::disallowed_methods)]
    pub fn new(base: &str, key: Secret, timeout: Duration) -> Result<Self, Error> {
        let base = base.trim().trim_end_matches('/').to_owned();
        // Never echo the value: it may hold userinfo (a password or the key itself).
        if base.contains('@') {
            return Err(Error::Setup(
                "--server must not contain credentials; put the management key in GIT_CREDMAN_MANAGEMENT_KEY".into(),
            ));
        }
        if !(base.starts_with("http://") || base.starts_with("https://")) {
            return Err(Error::Setup(
                "--server must be an http(s) URL such as http://127.0.0.1:8317".into(),
            ));
        }
        crate::probe::tls_ready();
        let client = reqwest::Client::builder()
            .user_agent(concat!("git-credman/", env!("CARGO_PKG_VERSION")))
            .timeout(timeout)
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .map_err(|e| Error::Setup(e.without_url().to_string()))?;
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .map_err(|e| Error::Setup(e.to_string()))?;
        Ok(Self {
            base,
            key,
            client,
            rt,
        })
    }

    /// The server URL (no key), for reports.
    pub fn url(&self) -> &str {
        &self.base
    }

    /// The `api-call` relay for the probe engine.
    pub fn relay(&self) -> std::sync::Arc<dyn Relay> {
        std::sync::Arc::new(ApiCall {
            base: self.base.clone(),
            key: self.key.clone(),
        })
    }

    fn request(
        &self,
        method: reqwest::Method,
        route: &str,
    ) -> Result<reqwest::RequestBuilder, Error> {
        let mut auth =
            reqwest::header::HeaderValue::from_str(&format!("Bearer {}", self.key.expose()))
                .map_err(|_| {
                    Error::Setup(
                        "the management key holds characters that cannot go in a header".into(),
                    )
                })?;
        auth.set_sensitive(true);
        Ok(self
            .client
            .request(method, format!("{}/v0/management/{route}", self.base))
            .header(reqwest::header::AUTHORIZATION, auth))
    }

    fn send(&self, what: &str, rb: reqwest::RequestBuilder) -> Result<(u16, Vec<u8>), Error> {
        self.rt.block_on(async {
            let resp = rb.send().await.map_err(|e| Error::Transport {
                what: what.to_owned(),
                reason: if e.is_timeout() {
                    "timed out".into()
                } else {
                    "cannot reach the server".into()
                },
            })?;
            let status = resp.status().as_u16();
            if resp.content_length().is_some_and(|n| n > MAX_BODY as u64) {
                return Err(Error::BadAnswer {
                    what: what.to_owned(),
                    reason: "the answer is too large".into(),
                });
            }
            let mut resp = resp;
            let mut body = Vec::new();
            while let Some(chunk) = resp.chunk().await.map_err(|_| Error::Transport {
                what: what.to_owned(),
                reason: "the answer was cut off".into(),
            })? {
                body.extend_from_slice(&chunk);
                if body.len() > MAX_BODY {
                    return Err(Error::BadAnswer {
                        what: what.to_owned(),
                        reason: "the answer is too large".into(),
                    });
                }
            }
            match status {
                403 => {
                    let message = error_message(&body);
                    match config_hint(&message) {
                        Some(hint) => Err(Error::NotAllowed { message, hint }),
                        None => Err(Error::KeyRefused { status, message }),
                    }
                }
                401 => Err(Error::KeyRefused {
                    status,
                    message: error_message(&body),
                }),
                _ => Ok((status, body)),
            }
        })
    }

    /// Checks the key once with a cheap request, before anything else.
    pub fn check_key(&self) -> Result<(), Error> {
        let rb = self
            .request(reqwest::Method::GET, "auth-files")?
            .query(&[("name", "__credman_key_check__.json")]);
        match self.send("checking the management key", rb)? {
            (404, _) => Err(Error::Disabled),
            (s, _) if s < 500 => Ok(()),
            (status, body) => Err(Error::Http {
                what: "checking the management key".into(),
                status,
                message: error_message(&body),
            }),
        }
    }

    /// Lists the credentials the server has loaded.
    pub fn list(&self) -> Result<Vec<Entry>, Error> {
        let what = "listing auth files";
        let (status, body) = self.send(what, self.request(reqwest::Method::GET, "auth-files")?)?;
        match status {
            200 => {}
            404 => return Err(Error::Disabled),
            _ => {
                return Err(Error::Http {
                    what: what.into(),
                    status,
                    message: error_message(&body),
                });
            }
        }
        let v: Value = serde_json::from_slice(&body).map_err(|e| Error::BadAnswer {
            what: what.into(),
            reason: format!("not JSON: {e}"),
        })?;
        let files = v
            .get("files")
            .and_then(Value::as_array)
            .ok_or_else(|| Error::BadAnswer {
                what: what.into(),
                reason: "no files array".into(),
            })?;
        let mut out = Vec::with_capacity(files.len());
        for f in files {
            // One odd entry never stops the run: it is reported and left alone.
            let raw = str_of(f, "name")
                .or_else(|| str_of(f, "id"))
                .unwrap_or_default();
            let id = str_of(f, "id");
            let runtime_only = f
                .get("runtime_only")
                .and_then(Value::as_bool)
                .unwrap_or(false);
            let source = str_of(f, "source");
            let place = place_of(&raw, id.as_deref(), runtime_only, source.as_deref());
            let name = if raw.is_empty() {
                "(no name)".to_owned()
            } else {
                printable(&raw)
            };
            let provider = str_of(f, "type")
                .or_else(|| str_of(f, "provider"))
                .unwrap_or_else(|| "unknown".into())
                .to_ascii_lowercase();
            // `label` falls back to the provider name or a project id for email-less entries
            // (synthesizer/file.go:146-149, filestore.go:441): that is not an identity.
            let project = str_of(f, "project_id");
            let label = str_of(f, "label").filter(|l| {
                !l.eq_ignore_ascii_case(&provider) && Some(l.as_str()) != project.as_deref()
            });
            let id_token = f.get("id_token").cloned().unwrap_or(Value::Null);
            out.push(Entry {
                auth_index: str_of(f, "auth_index"),
                email: str_of(f, "email")
                    .or_else(|| str_of(f, "account"))
                    .or(label)
                    .map(|e| printable(&e)),
                provider: printable(&provider),
                account_id: str_of(&id_token, "chatgpt_account_id"),
                plan: str_of(&id_token, "plan_type"),
                status: str_of(f, "status").map(|v| printable(&v)),
                status_message: str_of(f, "status_message").map(|v| printable(&v)),
                disabled: f.get("disabled").and_then(Value::as_bool).unwrap_or(false),
                unavailable: f
                    .get("unavailable")
                    .and_then(Value::as_bool)
                    .unwrap_or(false),
                next_retry_after: str_of(f, "next_retry_after").map(|v| printable(&v)),
                updated_at: str_of(f, "updated_at").map(|v| printable(&v)),
                name,
                place,
            });
        }
        Ok(out)
    }

    /// Downloads one file's bytes.
    pub fn download(&self, name: &str) -> Result<Vec<u8>, Error> {
        if !is_safe_name(name) {
            return Err(Error::BadName(name.to_owned()));
        }
        let what = format!("downloading {name}");
        let rb = self
            .request(reqwest::Method::GET, "auth-files/download")?
            .query(&[("name", name)]);
        match self.send(&what, rb)? {
            (200, body) => Ok(body),
            (status, body) => Err(Error::Http {
                what,
                status,
                message: error_message(&body),
            }),
        }
    }

    /// Disables or enables one file (`PATCH /auth-files/status`). The name may be a sub-folder
    /// path; with `auth_index` CPA matches both (`lookupAuthFile`, auth_files.go:141-160), so the
    /// change cannot land on another file of the same name.
    pub fn set_disabled(
        &self,
        name: &str,
        auth_index: Option<&str>,
        disabled: bool,
    ) -> Result<(), Error> {
        if !is_safe_relative(name) {
            return Err(Error::BadName(name.to_owned()));
        }
        let what = format!("{} {name}", if disabled { "disabling" } else { "enabling" });
        let mut body = serde_json::json!({"name": name, "disabled": disabled});
        if let Some(index) = auth_index {
            body["auth_index"] = Value::from(index);
        }
        self.patch("auth-files/status", what, &body)
    }

    /// Sends one `PATCH` of a management route; anything but 200 is an error with CPA's reason.
    fn patch(&self, route: &str, what: String, body: &impl serde::Serialize) -> Result<(), Error> {
        let rb = self.request(reqwest::Method::PATCH, route)?.json(body);
        match self.send(&what, rb)? {
            (200, _) => Ok(()),
            (status, body) => Err(Error::Http {
                what,
                status,
                message: error_message(&body),
            }),
        }
    }

    /// Sets metadata fields of one file (`PATCH /auth-files/fields`,
    /// auth_files_fields.go:203-350): CPA writes each top-level member of `fields` into the
    /// file's JSON (a `null` value is stored as null) and saves it. Looked up by id or file name.
    pub fn set_fields(
        &self,
        name: &str,
        fields: &serde_json::Map<String, Value>,
    ) -> Result<(), Error> {
        if !is_safe_relative(name) {
            return Err(Error::BadName(name.to_owned()));
        }
        let what = format!("updating the fields of {name}");
        let mut body = fields.clone();
        body.insert("name".to_owned(), Value::from(name));
        self.patch("auth-files/fields", what, &body)
    }

    /// Deletes top-level files by name, recording per-file results; only a refused key (or an
    /// unreachable server) is an error.
    ///
    /// Names go in repeated `?name=` parameters, which both generations of CPA read: v6.9.2+
    /// batch-deletes them (auth_files_crud.go:285), older servers delete the first one and
    /// ignore the rest (`c.Query("name")`), and ignore any body. A one-name request takes the
    /// single-file path on current servers: `200 {"status":"ok"}` without `files`, or a plain
    /// error status (auth_files_crud.go:181-190).
    pub fn delete(&self, names: &[String]) -> Result<Deleted, Error> {
        if let Some(bad) = names.iter().find(|n| !is_safe_name(n)) {
            return Err(Error::BadName(bad.clone()));
        }
        let mut out = Deleted::default();
        if names.is_empty() {
            return Ok(out);
        }
        let query: Vec<(&str, &str)> = names.iter().map(|n| ("name", n.as_str())).collect();
        let rb = self
            .request(reqwest::Method::DELETE, "auth-files")?
            .query(&query);
        let (status, body) = self.send("deleting auth files", rb)?;
        let v: Value = serde_json::from_slice(&body).unwrap_or(Value::Null);
        let listed =
            |key: &str| -> Option<Vec<Value>> { v.get(key).and_then(Value::as_array).cloned() };
        match status {
            200 | 207 if listed("files").is_some() || listed("failed").is_some() => {
                let asked: std::collections::HashSet<&str> =
                    names.iter().map(String::as_str).collect();
                for f in listed("files").unwrap_or_default() {
                    if let Some(n) = f.as_str().map(str::to_owned).or_else(|| str_of(&f, "name"))
                        && asked.contains(n.as_str())
                    {
                        out.deleted.push(n);
                    }
                }
                for f in listed("failed").unwrap_or_default() {
                    let n = str_of(&f, "name").unwrap_or_default();
                    let why = str_of(&f, "error").unwrap_or_else(|| "failed".into());
                    out.failed.push((printable(&n), printable(&why)));
                }
                // Anything the answer does not mention was not confirmed deleted.
                for n in names {
                    if !out.deleted.contains(n) && !out.failed.iter().any(|(f, _)| f == n) {
                        out.failed
                            .push((n.clone(), "the server did not confirm the delete".into()));
                    }
                }
            }
            200 => {
                // The single-file answer: the first name is gone. With more names this is an
                // old server that read only the first `?name=`: delete the rest one by one.
                out.deleted.push(names[0].clone());
                for name in &names[1..] {
                    let rb = self
                        .request(reqwest::Method::DELETE, "auth-files")?
                        .query(&[("name", name.as_str())]);
                    match self.send(&format!("deleting {name}"), rb)? {
                        (200, _) => out.deleted.push(name.clone()),
                        (s, b) => out
                            .failed
                            .push((name.clone(), format!("HTTP {s}: {}", error_message(&b)))),
                    }
                }
            }
            _ => {
                let why = format!("HTTP {status}: {}", error_message(&body));
                out.failed
                    .extend(names.iter().map(|n| (n.clone(), why.clone())));
            }
        }
        Ok(out)
    }
}

/// The `api-call` relay (`POST /v0/management/api-call`) as the probe engine's [`Relay`]: CPA
/// substitutes `$TOKEN$` in the headers with the credential's token and answers
/// `{status_code, header, body}`. The key travels only in the `Authorization` header.
#[derive(Debug)]
pub struct ApiCall {
    base: String,
    key: Secret,
}

impl Relay for ApiCall {
    fn send<'a>(
        &'a self,
        client: &'a reqwest::Client,
        auth_index: &'a str,
        req: &'a ProbeRequest,
        endpoints: &'a Endpoints,
    ) -> futures::future::BoxFuture<'a, Result<ProbeResponse, RelayError>> {
        Box::pin(self.call(client, auth_index, req, endpoints))
    }
}

impl ApiCall {
    /// Relays one request through `api-call`.
    async fn call(
        &self,
        client: &reqwest::Client,
        auth_index: &str,
        req: &ProbeRequest,
        endpoints: &Endpoints,
    ) -> Result<ProbeResponse, RelayError> {
        let mut header: serde_json::Map<String, serde_json::Value> = req
            .headers
            .iter()
            .map(|(k, v)| (k.as_str().to_owned(), serde_json::Value::from(v.expose())))
            .collect();
        // CPA adds no headers of its own to a relayed request (api_tools.go:175-182): a body needs
        // its Content-Type from us, as a direct request gets it from reqwest.
        let content_type = match &req.body {
            Some(Body::Json(_)) => Some("application/json"),
            Some(Body::Form(_)) => Some("application/x-www-form-urlencoded"),
            None => None,
        };
        if let Some(ct) = content_type
            && !header
                .keys()
                .any(|k| k.eq_ignore_ascii_case("content-type"))
        {
            header.insert("Content-Type".to_owned(), serde_json::Value::from(ct));
        }
        let data = match &req.body {
            Some(Body::Json(json)) => Some(json.expose().to_owned()),
            Some(Body::Form(pairs)) => Some(
                pairs
                    .iter()
                    .map(|(k, v)| format!("{k}={}", url_encode(v.expose())))
                    .collect::<Vec<_>>()
                    .join("&"),
            ),
            None => None,
        };
        let mut body = serde_json::json!({
            "auth_index": auth_index,
            "method": match req.method { Method::Get => "GET", Method::Post => "POST" },
            "url": endpoints.rewrite(&req.url),
            "header": header,
        });
        if let Some(data) = data {
            body["data"] = serde_json::Value::from(data);
        }
        let mut auth =
            reqwest::header::HeaderValue::from_str(&format!("Bearer {}", self.key.expose()))
                .map_err(|_| {
                    RelayError::Failed(
                        "the management key holds characters that cannot go in a header".to_owned(),
                    )
                })?;
        auth.set_sensitive(true);
        let url = format!("{}/v0/management/api-call", self.base.trim_end_matches('/'));
        let resp = client
            .post(&url)
            .header(reqwest::header::AUTHORIZATION, auth)
            .json(&body)
            .send()
            .await
            .map_err(|e| RelayError::Failed(transport_reason(&e)))?;
        let status = resp.status().as_u16();
        let bytes = resp
            .bytes()
            .await
            .map_err(|e| RelayError::Failed(transport_reason(&e)))?;
        if bytes.len() > 4 * BODY_CAP {
            return Err(RelayError::Failed(
                "the server's api-call answer is too large".into(),
            ));
        }
        let envelope: serde_json::Value = serde_json::from_slice(&bytes).unwrap_or_default();
        match status {
            200 => {
                let code = envelope
                    .get("status_code")
                    .and_then(serde_json::Value::as_u64)
                    .and_then(|c| u16::try_from(c).ok());
                let Some(code) = code else {
                    return Err(RelayError::Failed(
                        "the server's api-call answer has no status_code".into(),
                    ));
                };
                let content_type = envelope
                    .get("header")
                    .and_then(|h| h.as_object())
                    .and_then(|h| {
                        h.iter()
                            .find(|(k, _)| k.eq_ignore_ascii_case("content-type"))
                    })
                    .and_then(|(_, v)| {
                        v.get(0)
                            .and_then(serde_json::Value::as_str)
                            .or_else(|| v.as_str())
                    })
                    .unwrap_or("")
                    .to_ascii_lowercase();
                let mut text = envelope
                    .get("body")
                    .and_then(serde_json::Value::as_str)
                    .unwrap_or("")
                    .to_owned();
                if text.len() > BODY_CAP {
                    let mut end = BODY_CAP;
                    while !text.is_char_boundary(end) {
                        end -= 1;
                    }
                    text.truncate(end);
                }
                Ok(ProbeResponse::new(code, content_type, text, None))
            }
            502 => Err(RelayError::Failed(
                "the server could not reach the provider (api-call 502)".into(),
            )),
            401 | 403 => {
                let msg = envelope
                    .get("error")
                    .and_then(serde_json::Value::as_str)
                    .unwrap_or("no message");
                let msg: String = msg.chars().filter(|c| !c.is_control()).take(120).collect();
                Err(RelayError::KeyRefused {
                    status,
                    message: msg,
                })
            }
            _ => {
                let msg = envelope
                    .get("error")
                    .and_then(serde_json::Value::as_str)
                    .unwrap_or("no message");
                let msg: String = msg.chars().filter(|c| !c.is_control()).take(80).collect();
                Err(RelayError::Failed(format!(
                    "the server refused the relayed check (HTTP {status}: {msg})"
                )))
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unsafe_names_are_refused() {
        for bad in [
            "../../etc/passwd",
            "a/b.json",
            "a\\\\b.json",
            "..json",
            "x.txt",
            "",
            "a\u{0}.json",
            "bad\n.json",
        ] {
            assert!(!is_safe_name(bad), "{bad:?}");
        }
        for good in ["codex-a@b.c-plus.json", "kimi-1755828000000.JSON"] {
            assert!(is_safe_name(good), "{good}");
        }
    }

    #[test]
    fn places_follow_cpas_listing() {
        let top = place_of("codex-a.json", Some("codex-a.json"), false, Some("file"));
        assert_eq!(top, Place::TopLevel);
        assert_eq!(
            place_of("team/x.json", Some("team/x.json"), false, Some("file")),
            Place::SubFolder
        );
        // A base-name FileName with a sub-folder id is still a sub-folder file.
        assert_eq!(
            place_of("x.json", Some("team/x.json"), false, Some("file")),
            Place::SubFolder
        );
        assert_eq!(
            place_of("aistudio-1a2b", Some("aistudio-1a2b"), true, Some("memory")),
            Place::Untouchable(RUNTIME_ONLY)
        );
        assert_eq!(
            place_of("gone.json", None, false, Some("memory")),
            Place::Untouchable(NO_FILE)
        );
        for bad in [
            "../x.json",
            "team/../../x.json",
            "/etc/x.json",
            "a\\b.json",
            "a//b.json",
            "./x.json",
            "x\n.json",
            "",
            "x.txt",
        ] {
            assert_eq!(
                place_of(bad, None, false, Some("file")),
                Place::Untouchable(UNSAFE_NAME),
                "{bad:?}"
            );
        }
        assert_eq!(printable("a\nb\u{1b}[2J"), "a\\nb\\u{1b}[2J");
    }

    #[test]
    fn config_answers_are_not_refused_keys() {
        assert!(config_hint("remote management disabled").is_some());
        assert!(config_hint("remote management key not set").is_some());
        assert!(config_hint("invalid management key").is_none());
        assert!(
            config_hint("IP banned due to too many failed attempts. Try again in 29m").is_none()
        );
    }
}
