//! The CLIProxyAPI Management API client (`/v0/management/*`): key check, listing, download,
//! disable/enable and delete. Network code, like `probe` (which relays probes through
//! `api-call`). The key travels only in the `Authorization` header; names from the server are
//! validated before they touch the disk or a URL; oversized or malformed answers are errors.

use std::time::Duration;

use serde_json::Value;

use crate::credential::Secret;

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
    /// A file name from the server is unsafe.
    #[error("the server listed an unsafe file name {0:?}; refusing to use it")]
    BadName(String),
    /// Setting up the client failed.
    #[error("cannot set up the HTTP client: {0}")]
    Setup(String),
}

/// Returns whether a name from the server is safe to use as a file name and in a query.
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

/// One credential as the server lists it.
#[derive(Clone, Debug, Default)]
pub struct Entry {
    /// File name (validated).
    pub name: String,
    /// The server's handle; string or integer on old servers.
    pub auth_index: Option<String>,
    /// Provider (`type` / `provider`).
    pub provider: String,
    /// Email or label.
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

    /// The relay settings for the probe engine.
    pub fn relay(&self) -> crate::probe::Relay {
        crate::probe::Relay {
            base: self.base.clone(),
            key: self.key.clone(),
        }
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
                401 | 403 => Err(Error::KeyRefused {
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
            let name = str_of(f, "name").ok_or_else(|| Error::BadAnswer {
                what: what.into(),
                reason: "an entry has no name".into(),
            })?;
            if !is_safe_name(&name) {
                return Err(Error::BadName(name));
            }
            let id_token = f.get("id_token").cloned().unwrap_or(Value::Null);
            out.push(Entry {
                auth_index: str_of(f, "auth_index"),
                provider: str_of(f, "type")
                    .or_else(|| str_of(f, "provider"))
                    .unwrap_or_else(|| "unknown".into())
                    .to_ascii_lowercase(),
                email: str_of(f, "email")
                    .or_else(|| str_of(f, "account"))
                    .or_else(|| str_of(f, "label")),
                account_id: str_of(&id_token, "chatgpt_account_id"),
                plan: str_of(&id_token, "plan_type"),
                status: str_of(f, "status"),
                status_message: str_of(f, "status_message"),
                disabled: f.get("disabled").and_then(Value::as_bool).unwrap_or(false),
                unavailable: f
                    .get("unavailable")
                    .and_then(Value::as_bool)
                    .unwrap_or(false),
                next_retry_after: str_of(f, "next_retry_after"),
                name,
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

    /// Disables or enables one file (`PATCH /auth-files/status`).
    pub fn set_disabled(&self, name: &str, disabled: bool) -> Result<(), Error> {
        if !is_safe_name(name) {
            return Err(Error::BadName(name.to_owned()));
        }
        let what = format!("{} {name}", if disabled { "disabling" } else { "enabling" });
        let rb = self
            .request(reqwest::Method::PATCH, "auth-files/status")?
            .json(&serde_json::json!({"name": name, "disabled": disabled}));
        match self.send(&what, rb)? {
            (200, _) => Ok(()),
            (status, body) => Err(Error::Http {
                what,
                status,
                message: error_message(&body),
            }),
        }
    }

    /// Deletes files: one batch request (JSON array), handling 207 partial results, and one by
    /// one for what an old server (batch-less: it takes the first name only) left behind.
    pub fn delete(&self, names: &[String]) -> Result<Deleted, Error> {
        if let Some(bad) = names.iter().find(|n| !is_safe_name(n)) {
            return Err(Error::BadName(bad.clone()));
        }
        let mut out = Deleted::default();
        if names.is_empty() {
            return Ok(out);
        }
        let what = "deleting auth files";
        let rb = self
            .request(reqwest::Method::DELETE, "auth-files")?
            .json(&names);
        let (status, body) = self.send(what, rb)?;
        let v: Value = serde_json::from_slice(&body).unwrap_or(Value::Null);
        let listed =
            |key: &str| -> Option<Vec<Value>> { v.get(key).and_then(Value::as_array).cloned() };
        match status {
            200 | 207 if listed("files").is_some() || listed("failed").is_some() => {
                for f in listed("files").unwrap_or_default() {
                    if let Some(n) = f.as_str().map(str::to_owned).or_else(|| str_of(&f, "name")) {
                        out.deleted.push(n);
                    }
                }
                for f in listed("failed").unwrap_or_default() {
                    let n = str_of(&f, "name").unwrap_or_default();
                    out.failed
                        .push((n, str_of(&f, "error").unwrap_or_else(|| "failed".into())));
                }
            }
            200 => {
                // An old server deleted the first name at most: verify one by one.
                for name in names {
                    let rb = self
                        .request(reqwest::Method::DELETE, "auth-files")?
                        .query(&[("name", name.as_str())]);
                    match self.send(&format!("deleting {name}"), rb)? {
                        (200, _) => out.deleted.push(name.clone()),
                        (404, _) if name == &names[0] => out.deleted.push(name.clone()),
                        (s, b) => out
                            .failed
                            .push((name.clone(), format!("HTTP {s}: {}", error_message(&b)))),
                    }
                }
            }
            _ => {
                return Err(Error::Http {
                    what: what.into(),
                    status,
                    message: error_message(&body),
                });
            }
        }
        Ok(out)
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
}
