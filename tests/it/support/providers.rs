//! Mock provider APIs for the online tests: the provider origins git-credman redirects with
//! `--endpoint`, the request shapes the mocks match (bearer tokens) and the answers they give.
//! wiremock servers are started per test (`MockServer::start()`, never shared); this file holds
//! what more than one test file mounts on them, plus a counting loopback server for the
//! concurrency caps.
//!
//! The answers imitate the upstream APIs as the project's domain reference
//! (`cliproxyapi-auth-files.md`) records them, and as `docs/provider-rules.md` tabulates them with
//! their sources: codex `GET https://chatgpt.com/backend-api/wham/usage` and its 200 body
//! (reference §6), and its 401 error codes (`token_invalidated`, `token_revoked`,
//! `account_deactivated`: reference §4, observed upstream bodies).

use serde_json::{Value, json};
use wiremock::matchers::{header, method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

/// The provider origins git-credman talks to.
pub const ORIGINS: [&str; 5] = [
    "https://chatgpt.com",
    "https://api.anthropic.com",
    "https://oauth2.googleapis.com",
    "https://api.kimi.com",
    "https://cli-chat-proxy.grok.com",
];

/// `--endpoint` arguments that send every provider origin to `base`.
pub fn endpoint_args(base: &str) -> Vec<String> {
    ORIGINS
        .iter()
        .flat_map(|o| ["--endpoint".to_owned(), format!("{o}={base}")])
        .collect()
}

/// A loopback HTTP/1.1 server that answers every request with `body` after `delay` (keeping
/// the connection alive), and records the highest number of requests it was serving at once,
/// the requests and the connections it accepted.
pub struct CountingServer {
    pub addr: std::net::SocketAddr,
    pub max_in_flight: std::sync::Arc<std::sync::atomic::AtomicUsize>,
    pub total: std::sync::Arc<std::sync::atomic::AtomicUsize>,
    pub connections: std::sync::Arc<std::sync::atomic::AtomicUsize>,
    _rt: tokio::runtime::Runtime,
}

impl CountingServer {
    pub fn start(delay: std::time::Duration, body: &'static str) -> Self {
        Self::serve(delay, body, false)
    }

    /// Closes each connection right after its answer, without saying so (no
    /// `connection: close`), as a server whose keep-alive ran out does: RFC 9112 §9.5 lets a
    /// server close an idle connection at any time, and nginx (`keepalive_timeout`) and
    /// Cloudflare close theirs silently.
    pub fn start_closing(body: &'static str) -> Self {
        Self::serve(std::time::Duration::ZERO, body, true)
    }

    fn serve(delay: std::time::Duration, body: &'static str, close: bool) -> Self {
        use std::sync::Arc;
        use std::sync::atomic::{AtomicUsize, Ordering};
        use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
        let rt = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .unwrap();
        let listener = rt
            .block_on(tokio::net::TcpListener::bind("127.0.0.1:0"))
            .unwrap();
        let addr = listener.local_addr().unwrap();
        let in_flight = Arc::new(AtomicUsize::new(0));
        let max_in_flight = Arc::new(AtomicUsize::new(0));
        let total = Arc::new(AtomicUsize::new(0));
        let connections = Arc::new(AtomicUsize::new(0));
        let (inf, max, tot) = (in_flight.clone(), max_in_flight.clone(), total.clone());
        let conns = connections.clone();
        rt.spawn(async move {
            loop {
                let Ok((mut sock, _)) = listener.accept().await else { break };
                conns.fetch_add(1, Ordering::SeqCst);
                let (inf, max, tot) = (inf.clone(), max.clone(), tot.clone());
                tokio::spawn(async move {
                    let mut buf = Vec::new();
                    let mut chunk = [0u8; 4096];
                    loop {
                        // Read one request head (GET probes have no body).
                        while !buf.windows(4).any(|w| w == b"\r\n\r\n") {
                            match sock.read(&mut chunk).await {
                                Ok(0) | Err(_) => return,
                                Ok(n) => buf.extend_from_slice(&chunk[..n]),
                            }
                        }
                        let end = buf.windows(4).position(|w| w == b"\r\n\r\n").unwrap() + 4;
                        buf.drain(..end);
                        let now = inf.fetch_add(1, Ordering::SeqCst) + 1;
                        max.fetch_max(now, Ordering::SeqCst);
                        tot.fetch_add(1, Ordering::SeqCst);
                        tokio::time::sleep(delay).await;
                        inf.fetch_sub(1, Ordering::SeqCst);
                        let resp = format!(
                            "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: {}\r\n\r\n{body}",
                            body.len()
                        );
                        if sock.write_all(resp.as_bytes()).await.is_err() || close {
                            return;
                        }
                    }
                });
            }
        });
        Self {
            addr,
            max_in_flight,
            total,
            connections,
            _rt: rt,
        }
    }

    pub fn uri(&self) -> String {
        format!("http://{}", self.addr)
    }
}

/// The codex usage endpoint's path (`https://chatgpt.com/backend-api/wham/usage`, reference §6).
pub const CODEX_USAGE: &str = "/backend-api/wham/usage";

/// The `Authorization` header value for a bearer token.
pub fn bearer(tok: &str) -> String {
    format!("Bearer {tok}")
}

/// A credential's `access_token`.
pub fn access_of(v: &Value) -> String {
    v["access_token"].as_str().unwrap().to_owned()
}

/// A JSON answer with `status`.
pub fn json_resp(status: u16, body: Value) -> ResponseTemplate {
    ResponseTemplate::new(status).set_body_json(body)
}

/// A healthy codex usage answer (reference §6: `plan_type`, `rate_limit{allowed, limit_reached}`).
pub const USAGE_OK: &str =
    r#"{"plan_type":"plus","rate_limit":{"allowed":true,"limit_reached":false}}"#;

/// Mounts the codex usage answer for one token, expecting `expect` requests: [`USAGE_OK`] for
/// 200, else the invalidated-token error body observed upstream (reference §4).
pub async fn codex_answers(server: &MockServer, cred: &Value, status: u16, expect: u64) {
    let body = if status == 200 {
        serde_json::from_str(USAGE_OK).unwrap()
    } else {
        json!({"error":{"message":"Your authentication token has been invalidated.",
            "code":"token_invalidated"}})
    };
    Mock::given(method("GET"))
        .and(path(CODEX_USAGE))
        .and(header("authorization", bearer(&access_of(cred)).as_str()))
        .respond_with(json_resp(status, body))
        .expect(expect)
        .mount(server)
        .await;
}
