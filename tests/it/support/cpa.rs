//! A mock CLIProxyAPI Management API that behaves like CPA v7.2.140 (commit a7e3596b), as read
//! from its source (`router-for-me/CLIProxyAPI`; the management handlers `handler.go` and
//! `auth_files*.go` are under `internal/api/handlers/management/`); each behaviour names the file
//! it comes from. Used by the server-mode tests (`tests/it/server.rs`).
//!
//! [`Cpa`] is a small HTTP/1.1 server (keep-alive, Content-Length bodies) on its own runtime in a
//! background thread. It:
//! - checks the management key like `handler.go:295-391`: `403 remote management disabled` and
//!   `403 remote management key not set` come before the key and are not failures; a wrong key is
//!   401, the fifth failure still 401, then `403 IP banned …`;
//! - lists like `auth_files.go:311-343`: `id` (path relative to the auth dir, so `team/x.json` for
//!   a sub-folder: the dir is loaded recursively, `filestore.go:170-176`), `name`, `auth_index`
//!   (a string), `label` and `status_message` always present, `runtime_only`, `source`;
//!   runtime-only entries (`aistudio-<hex>`, `source: memory`) have no file;
//! - downloads like `auth_files_crud.go:26-48`: a name with `/` or `\` is `400 invalid name`;
//! - disables like `auth_files_fields.go:24-70` with `lookupAuthFile` (`auth_files.go:141-160`);
//! - deletes like `auth_files_crud.go:171-214,285-330,342-415` (names from repeated `?name=`
//!   first, then a JSON body; one name takes the single-file path; a base name that matches no id
//!   reaches a sub-folder file of that base name), or in `old_server` mode like v6.9.1
//!   (`9e5693e74^:…/auth_files.go:633-710`: only the first `?name=`, a body is ignored);
//! - relays `api-call` to the mock providers (wiremock), substituting `$TOKEN$` with the file's
//!   token the way CPA does, and the literal `$TOKEN$` for an unknown `auth_index` (v7).

use std::collections::{BTreeMap, HashSet};
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};

use serde_json::{Value, json};
use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};

/// Failed keys after which CPA bans the client IP.
pub const BAN_AFTER: u32 = 5;
pub const BAN_MESSAGE: &str = "IP banned due to too many failed attempts. Try again in 29m59s";

/// One request the mock received.
#[derive(Clone, Debug)]
pub struct Req {
    pub method: String,
    pub path: String,
    /// Percent-decoded query pairs.
    pub query: Vec<(String, String)>,
    pub body: String,
}

impl Req {
    pub fn query(&self, key: &str) -> Option<&str> {
        self.query
            .iter()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.as_str())
    }
}

/// One auth file in the store, keyed by its id (the path relative to the auth dir).
pub struct Stored {
    pub bytes: Vec<u8>,
    pub auth_index: Value,
    pub disabled: bool,
    /// CPA's in-memory status and message (`active`, ""; after a failed refresh `error`,
    /// `unauthorized`: conductor_refresh.go:545-550).
    pub status: Option<(String, String)>,
    /// `auth.UpdatedAt`, listed as `updated_at` once set: CPA sets it to now on a status or
    /// fields patch (auth_files_fields.go:193, 343).
    pub updated_at: Option<String>,
}

#[derive(Default)]
pub struct State {
    pub key: String,
    pub files: BTreeMap<String, Stored>,
    /// Raw entries appended to the listing (e.g. a malicious name).
    pub injected: Vec<Value>,
    pub failures: u32,
    /// Management API disabled: every route answers a bare 404.
    pub api_disabled: bool,
    /// A server before v6.9.2: DELETE reads only the first `?name=` and ignores a body.
    pub old_server: bool,
    /// `remote-management.allow-remote` off for this client (handler.go:305,338).
    pub remote_disabled: bool,
    /// Names whose deletion fails.
    pub fail_delete: HashSet<String>,
    pub requests: Vec<Req>,
    /// Every `api-call` request body.
    pub api_calls: Vec<Value>,
    /// Relayed requests in flight now, and at most.
    pub in_flight: usize,
    pub max_in_flight: usize,
    /// A new key that takes effect once the listing was served (the key is rotated mid-run).
    pub rotate_key_after_listing: Option<String>,
}

/// The mock CPA.
pub struct Cpa {
    pub addr: SocketAddr,
    pub state: Arc<Mutex<State>>,
    pub stop: Option<tokio::sync::oneshot::Sender<()>>,
    pub thread: Option<std::thread::JoinHandle<()>>,
}

impl Drop for Cpa {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

enum Step {
    Done(u16, &'static str, Vec<u8>),
    Relay {
        method: String,
        url: String,
        headers: Vec<(String, String)>,
        data: Option<String>,
    },
}

fn json_answer(status: u16, v: &Value) -> Step {
    Step::Done(status, "application/json", v.to_string().into_bytes())
}

fn pct_decode(s: &str) -> String {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        match b[i] {
            b'+' => out.push(b' '),
            b'%' if i + 2 < b.len()
                && b[i + 1].is_ascii_hexdigit()
                && b[i + 2].is_ascii_hexdigit() =>
            {
                let hex = std::str::from_utf8(&b[i + 1..i + 3]).unwrap();
                out.push(u8::from_str_radix(hex, 16).unwrap());
                i += 2;
            }
            c => out.push(c),
        }
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

fn index_str(v: &Value) -> Option<String> {
    match v {
        Value::String(s) => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        _ => None,
    }
}

/// CPA's `time.Now()` as JSON writes a `time.Time` (RFC 3339 with nanoseconds).
fn now_rfc3339() -> String {
    chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Nanos, true)
}

fn base(id: &str) -> &str {
    id.rsplit('/').next().unwrap_or(id)
}

fn listing_entry(id: &str, f: &Stored) -> Value {
    let v: Value = serde_json::from_slice(&f.bytes).unwrap_or(Value::Null);
    let provider = v["type"].as_str().unwrap_or("unknown").to_owned();
    let (status, message) = match &f.status {
        Some((st, msg)) => (st.clone(), msg.clone()),
        None if f.disabled => (
            "disabled".to_owned(),
            "disabled via management API".to_owned(),
        ),
        None => ("active".to_owned(), String::new()),
    };
    // label = label → email → project_id, else the provider (synthesizer/file.go:146-149).
    let label = v["label"]
        .as_str()
        .or(v["email"].as_str())
        .or(v["project_id"].as_str())
        .unwrap_or(&provider)
        .to_owned();
    let mut e = json!({
        "id": id,
        "name": id,
        "auth_index": f.auth_index,
        "type": provider,
        "provider": provider,
        "label": label,
        "status": status,
        "status_message": message,
        "disabled": f.disabled,
        "unavailable": false,
        "runtime_only": false,
        "source": "file",
        "path": format!("/root/.cli-proxy-api/{id}"),
        "size": f.bytes.len(),
        "success": 0,
        "failed": 0,
        "recent_requests": [],
    });
    if let Some(email) = v["email"].as_str() {
        e["email"] = json!(email);
    }
    if let Some(u) = &f.updated_at {
        e["updated_at"] = json!(u);
    }
    if let Some(project) = v["project_id"].as_str() {
        e["project_id"] = json!(project);
    }
    if provider == "codex" {
        e["id_token"] = json!({"chatgpt_account_id": v["account_id"], "plan_type": v["plan_type"]});
    }
    e
}

/// A runtime-only listing entry, as an AI Studio websocket relay creates it
/// (`sdk/cliproxy/service_auth.go:226-232`, `internal/wsrelay/manager.go:199-204`).
fn runtime_entry(id: &str, auth_index: &str) -> Value {
    json!({
        "id": id, "name": id, "auth_index": auth_index, "type": "aistudio",
        "provider": "aistudio", "label": "aistudio", "status": "active", "status_message": "",
        "disabled": false, "unavailable": false, "runtime_only": true, "source": "memory",
        "size": 0, "success": 0, "failed": 0, "recent_requests": [],
    })
}

fn err(status: u16, msg: &str) -> Step {
    json_answer(status, &json!({ "error": msg }))
}

/// `findAuthForDelete` then `os.Remove` (auth_files_crud.go:342-415): the id first, else any
/// file whose base name is `name` (which is how a base-name DELETE reaches a sub-folder file).
fn delete_by_name(s: &mut State, name: &str) -> Result<(), (u16, &'static str)> {
    let name = name.trim();
    if name.is_empty() || name.contains(['/', '\\']) {
        return Err((400, "invalid name"));
    }
    let id = if s.files.contains_key(name) {
        name.to_owned()
    } else {
        match s.files.keys().find(|k| base(k) == name) {
            Some(k) => k.clone(),
            None => return Err((404, "auth file not found")),
        }
    };
    if s.fail_delete.contains(&id) {
        return Err((500, "failed to remove file: permission denied"));
    }
    s.files.remove(&id);
    Ok(())
}

/// Everything under the key middleware, with the state locked (no await).
fn route(s: &mut State, req: &Req) -> Step {
    match (req.method.as_str(), req.path.as_str()) {
        ("GET", "/v0/management/auth-files") => {
            let mut files: Vec<Value> = s.files.iter().map(|(n, f)| listing_entry(n, f)).collect();
            files.extend(s.injected.iter().cloned());
            if req.query("name").is_none()
                && let Some(k) = s.rotate_key_after_listing.take()
            {
                s.key = k;
            }
            json_answer(200, &json!({ "files": files }))
        }
        ("GET", "/v0/management/auth-files/download") => {
            let name = req.query("name").unwrap_or("").trim().to_owned();
            if name.is_empty() || name.contains(['/', '\\']) {
                return err(400, "invalid name");
            }
            if !name.to_ascii_lowercase().ends_with(".json") {
                return err(400, "name must end with .json");
            }
            match s.files.get(&name) {
                Some(f) => Step::Done(200, "application/json", f.bytes.clone()),
                None => err(404, "file not found"),
            }
        }
        ("PATCH", "/v0/management/auth-files/status") => {
            let v: Value = serde_json::from_str(&req.body).unwrap_or(Value::Null);
            let Some(name) = v["name"].as_str().map(str::trim).filter(|n| !n.is_empty()) else {
                return err(400, "name is required");
            };
            let Some(disabled) = v["disabled"].as_bool() else {
                return err(400, "disabled is required");
            };
            let index = v["auth_index"].as_str().unwrap_or("").trim().to_owned();
            // lookupAuthFile: by id or FileName, and by auth_index when one is given.
            let found = s.files.iter_mut().find(|(id, f)| {
                id.as_str() == name
                    && (index.is_empty() || index_str(&f.auth_index).as_deref() == Some(&index))
            });
            match found {
                Some((_, f)) => {
                    f.disabled = disabled;
                    f.status = None;
                    f.updated_at = Some(now_rfc3339());
                    json_answer(200, &json!({"status": "ok", "disabled": disabled}))
                }
                None => err(404, "auth file not found"),
            }
        }
        ("PATCH", "/v0/management/auth-files/fields") => {
            // auth_files_fields.go:203-350: a JSON object with `name` (an id, else a file name)
            // and the fields; each key is a dotted path set into the file's metadata (a null
            // value is stored as null: setAuthFileMetadataValue), then the auth is saved.
            let Ok(Value::Object(mut fields)) = serde_json::from_str::<Value>(&req.body) else {
                return err(400, "invalid request body");
            };
            let Some(name) = fields
                .remove("name")
                .and_then(|n| n.as_str().map(|n| n.trim().to_owned()))
                .filter(|n| !n.is_empty())
            else {
                return err(400, "name is required");
            };
            let id = if s.files.contains_key(&name) {
                name
            } else {
                match s.files.keys().find(|k| base(k) == name) {
                    Some(k) => k.clone(),
                    None => return err(404, "auth file not found"),
                }
            };
            if fields.is_empty() {
                return err(400, "no fields to update");
            }
            let f = s.files.get_mut(&id).expect("looked up above");
            let mut doc: Value = serde_json::from_slice(&f.bytes).unwrap_or_else(|_| json!({}));
            for (path, value) in fields {
                let mut cur = &mut doc;
                let parts: Vec<&str> = path.split('.').map(str::trim).collect();
                for (i, part) in parts.iter().enumerate() {
                    if part.is_empty() {
                        return err(400, "field name is required");
                    }
                    if i + 1 == parts.len() {
                        cur[*part] = value.clone();
                    } else {
                        if !cur[*part].is_object() {
                            cur[*part] = json!({});
                        }
                        cur = &mut cur[*part];
                    }
                }
            }
            f.bytes = serde_json::to_vec(&doc).unwrap_or_default();
            f.updated_at = Some(now_rfc3339());
            json_answer(200, &json!({"status": "ok"}))
        }
        ("DELETE", "/v0/management/auth-files") if s.old_server => {
            // v6.9.1: `c.Query("name")` is the first name; a body is never read.
            let name = req.query("name").unwrap_or("").to_owned();
            if name.is_empty() || name.contains('/') {
                return err(400, "invalid name");
            }
            match delete_by_name(s, &name) {
                Ok(()) => json_answer(200, &json!({"status": "ok"})),
                Err((404, _)) => err(404, "file not found"),
                Err((code, msg)) => err(code, msg),
            }
        }
        ("DELETE", "/v0/management/auth-files") => {
            let mut names: Vec<String> = req
                .query
                .iter()
                .filter(|(k, _)| k == "name")
                .map(|(_, v)| v.trim().to_owned())
                .filter(|v| !v.is_empty())
                .collect();
            if names.is_empty() {
                let body = req.body.trim();
                if body.starts_with('[') {
                    match serde_json::from_str::<Vec<String>>(body) {
                        Ok(v) => names = v,
                        Err(_) => return err(400, "invalid request body"),
                    }
                } else if !body.is_empty() {
                    let Ok(v) = serde_json::from_str::<Value>(body) else {
                        return err(400, "invalid request body");
                    };
                    names.extend(v["name"].as_str().map(str::to_owned));
                    if let Some(more) = v["names"].as_array() {
                        names.extend(more.iter().filter_map(|n| n.as_str().map(str::to_owned)));
                    }
                }
                names.retain(|n| !n.trim().is_empty());
            }
            names.dedup();
            match names.len() {
                0 => err(400, "invalid name"),
                1 => match delete_by_name(s, &names[0]) {
                    Ok(()) => json_answer(200, &json!({"status": "ok"})),
                    Err((code, msg)) => err(code, msg),
                },
                _ => {
                    let (mut deleted, mut failed) = (Vec::new(), Vec::new());
                    for n in names {
                        match delete_by_name(s, &n) {
                            Ok(()) => deleted.push(n),
                            Err((_, msg)) => failed.push(json!({"name": n, "error": msg})),
                        }
                    }
                    if failed.is_empty() {
                        json_answer(
                            200,
                            &json!({"status": "ok", "deleted": deleted.len(), "files": deleted}),
                        )
                    } else {
                        json_answer(
                            207,
                            &json!({"status": "partial", "deleted": deleted.len(),
                                "files": deleted, "failed": failed}),
                        )
                    }
                }
            }
        }
        ("POST", "/v0/management/api-call") => {
            let v: Value = serde_json::from_str(&req.body).unwrap_or(Value::Null);
            s.api_calls.push(v.clone());
            let wanted = index_str(&v["auth_index"]);
            // An unknown auth_index: CPA v7 sends the literal `$TOKEN$`.
            let token = s
                .files
                .values()
                .find(|f| index_str(&f.auth_index).is_some() && index_str(&f.auth_index) == wanted)
                .and_then(|f| serde_json::from_slice::<Value>(&f.bytes).ok())
                .and_then(|c| c["access_token"].as_str().map(str::to_owned))
                .unwrap_or_else(|| "$TOKEN$".to_owned());
            let headers = v["header"]
                .as_object()
                .map(|h| {
                    h.iter()
                        .map(|(k, v)| {
                            (
                                k.clone(),
                                v.as_str().unwrap_or("").replace("$TOKEN$", &token),
                            )
                        })
                        .collect()
                })
                .unwrap_or_default();
            Step::Relay {
                method: v["method"].as_str().unwrap_or("GET").to_owned(),
                url: v["url"].as_str().unwrap_or("").to_owned(),
                headers,
                data: v["data"].as_str().map(str::to_owned),
            }
        }
        _ => json_answer(404, &json!({"error": "not found"})),
    }
}

async fn handle(
    state: &Mutex<State>,
    client: &reqwest::Client,
    req: Req,
    auth: Option<String>,
) -> (u16, &'static str, Vec<u8>) {
    let step = {
        let mut s = state.lock().unwrap();
        s.requests.push(req.clone());
        if s.api_disabled || !req.path.starts_with("/v0/management/") {
            return (404, "text/plain", b"404 page not found".to_vec());
        }
        if s.remote_disabled {
            // Answered before the key is looked at; not a failure (handler.go:305,338).
            json_answer(403, &json!({ "error": "remote management disabled" }))
        } else if s.failures >= BAN_AFTER {
            json_answer(403, &json!({ "error": BAN_MESSAGE }))
        } else if auth.as_deref() != Some(format!("Bearer {}", s.key).as_str()) {
            s.failures += 1;
            json_answer(401, &json!({"error": "invalid management key"}))
        } else {
            route(&mut s, &req)
        }
    };
    match step {
        Step::Done(status, ct, body) => (status, ct, body),
        Step::Relay {
            method,
            url,
            headers,
            data,
        } => {
            let mut rb = client.request(
                reqwest::Method::from_bytes(method.as_bytes()).unwrap_or(reqwest::Method::GET),
                &url,
            );
            for (k, v) in &headers {
                rb = rb.header(k.as_str(), v.as_str());
            }
            if let Some(d) = data {
                rb = rb.body(d);
            }
            {
                let mut s = state.lock().unwrap();
                s.in_flight += 1;
                s.max_in_flight = s.max_in_flight.max(s.in_flight);
            }
            let sent = rb.send().await;
            state.lock().unwrap().in_flight -= 1;
            match sent {
                Ok(resp) => {
                    let status = resp.status().as_u16();
                    let mut hmap = serde_json::Map::new();
                    for (k, v) in resp.headers() {
                        let e = hmap
                            .entry(canonical(k.as_str()))
                            .or_insert_with(|| Value::Array(Vec::new()));
                        if let Value::Array(a) = e {
                            a.push(Value::from(v.to_str().unwrap_or("")));
                        }
                    }
                    let body = resp.text().await.unwrap_or_default();
                    (
                        200,
                        "application/json",
                        json!({"status_code": status, "header": hmap, "body": body})
                            .to_string()
                            .into_bytes(),
                    )
                }
                Err(_) => (
                    502,
                    "application/json",
                    json!({"error": "request failed"}).to_string().into_bytes(),
                ),
            }
        }
    }
}

/// `content-type` → `Content-Type`, like Go's header map.
fn canonical(name: &str) -> String {
    name.split('-')
        .map(|w| {
            let mut c = w.chars();
            c.next()
                .map(|f| f.to_ascii_uppercase().to_string() + c.as_str())
                .unwrap_or_default()
        })
        .collect::<Vec<_>>()
        .join("-")
}

fn reason_phrase(status: u16) -> &'static str {
    match status {
        200 => "OK",
        207 => "Multi-Status",
        400 => "Bad Request",
        409 => "Conflict",
        500 => "Internal Server Error",
        401 => "Unauthorized",
        403 => "Forbidden",
        404 => "Not Found",
        502 => "Bad Gateway",
        _ => "Status",
    }
}

async fn connection(
    mut sock: tokio::net::TcpStream,
    state: Arc<Mutex<State>>,
    client: reqwest::Client,
) {
    let mut buf: Vec<u8> = Vec::new();
    let mut chunk = [0u8; 8192];
    loop {
        let head_end = loop {
            if let Some(p) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
                break p + 4;
            }
            match sock.read(&mut chunk).await {
                Ok(0) | Err(_) => return,
                Ok(n) => buf.extend_from_slice(&chunk[..n]),
            }
        };
        let head = String::from_utf8_lossy(&buf[..head_end]).into_owned();
        let mut lines = head.split("\r\n");
        let mut request_line = lines.next().unwrap_or("").split(' ');
        let method = request_line.next().unwrap_or("").to_owned();
        let target = request_line.next().unwrap_or("").to_owned();
        let headers: Vec<(String, String)> = lines
            .filter_map(|l| l.split_once(':'))
            .map(|(k, v)| (k.trim().to_ascii_lowercase(), v.trim().to_owned()))
            .collect();
        let get = |name: &str| {
            headers
                .iter()
                .find(|(k, _)| k == name)
                .map(|(_, v)| v.clone())
        };
        let len: usize = get("content-length")
            .and_then(|v| v.parse().ok())
            .unwrap_or(0);
        while buf.len() < head_end + len {
            match sock.read(&mut chunk).await {
                Ok(0) | Err(_) => return,
                Ok(n) => buf.extend_from_slice(&chunk[..n]),
            }
        }
        let body = String::from_utf8_lossy(&buf[head_end..head_end + len]).into_owned();
        buf.drain(..head_end + len);
        let (path, query) = target.split_once('?').unwrap_or((target.as_str(), ""));
        let query = query
            .split('&')
            .filter(|p| !p.is_empty())
            .map(|p| {
                let (k, v) = p.split_once('=').unwrap_or((p, ""));
                (pct_decode(k), pct_decode(v))
            })
            .collect();
        let req = Req {
            method,
            path: pct_decode(path),
            query,
            body,
        };
        let close = get("connection").is_some_and(|v| v.eq_ignore_ascii_case("close"));
        let (status, ct, body) = handle(&state, &client, req, get("authorization")).await;
        let head = format!(
            "HTTP/1.1 {status} {}\r\ncontent-type: {ct}\r\ncontent-length: {}\r\n\r\n",
            reason_phrase(status),
            body.len()
        );
        if sock.write_all(head.as_bytes()).await.is_err() || sock.write_all(&body).await.is_err() {
            return;
        }
        if close {
            return;
        }
    }
}

impl Cpa {
    pub fn start(key: &str) -> Self {
        let state = Arc::new(Mutex::new(State {
            key: key.to_owned(),
            ..State::default()
        }));
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        listener.set_nonblocking(true).unwrap();
        let addr = listener.local_addr().unwrap();
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        let st = Arc::clone(&state);
        let thread = std::thread::spawn(move || {
            let rt = tokio::runtime::Builder::new_multi_thread()
                .worker_threads(2)
                .enable_all()
                .build()
                .unwrap();
            rt.block_on(async move {
                let listener = tokio::net::TcpListener::from_std(listener).unwrap();
                #[allow(clippy::disallowed_methods)]
                git_credman::probe::tls_ready();
                let client = reqwest::Client::builder()
                    .no_proxy()
                    .timeout(std::time::Duration::from_secs(10))
                    .build()
                    .unwrap();
                let serve = async {
                    loop {
                        let Ok((sock, _)) = listener.accept().await else {
                            break;
                        };
                        tokio::spawn(connection(sock, Arc::clone(&st), client.clone()));
                    }
                };
                tokio::select! {
                    () = serve => {}
                    _ = stopped => {}
                }
            });
        });
        Self {
            addr,
            state,
            stop: Some(stop),
            thread: Some(thread),
        }
    }

    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    pub fn with<R>(&self, f: impl FnOnce(&mut State) -> R) -> R {
        f(&mut self.state.lock().unwrap())
    }

    /// Stores a credential; returns its exact bytes.
    pub fn put(&self, name: &str, auth_index: Value, cred: &Value) -> Vec<u8> {
        let bytes = serde_json::to_vec_pretty(cred).unwrap();
        let disabled = cred["disabled"].as_bool().unwrap_or(false);
        self.with(|s| {
            s.files.insert(
                name.to_owned(),
                Stored {
                    bytes: bytes.clone(),
                    auth_index,
                    disabled,
                    status: None,
                    updated_at: None,
                },
            )
        });
        bytes
    }

    /// Adds a runtime-only entry (no file).
    pub fn put_runtime(&self, id: &str, auth_index: &str) {
        self.with(|s| s.injected.push(runtime_entry(id, auth_index)));
    }

    /// Sets CPA's in-memory status of a stored file.
    pub fn set_status(&self, id: &str, status: &str, message: &str) {
        self.with(|s| {
            if let Some(f) = s.files.get_mut(id) {
                f.status = Some((status.to_owned(), message.to_owned()));
            }
        });
    }

    pub fn requests(&self) -> Vec<Req> {
        self.with(|s| s.requests.clone())
    }

    pub fn requests_to(&self, method: &str, path: &str) -> Vec<Req> {
        self.requests()
            .into_iter()
            .filter(|r| r.method == method && r.path == path)
            .collect()
    }

    pub fn api_calls(&self) -> Vec<Value> {
        self.with(|s| s.api_calls.clone())
    }

    pub fn has(&self, name: &str) -> bool {
        self.with(|s| s.files.contains_key(name))
    }

    pub fn is_disabled(&self, name: &str) -> bool {
        self.with(|s| s.files[name].disabled)
    }
}

pub const FILES: &str = "/v0/management/auth-files";
pub const STATUS: &str = "/v0/management/auth-files/status";
pub const DOWNLOAD: &str = "/v0/management/auth-files/download";
