//! The probes' own HTTP client for requests that go straight to the provider (no proxy, no
//! relay): hyper's connections over hyper-rustls's connector, with a pool of its own, without
//! reqwest's layers or hyper-util's general-purpose pool on top.
//!
//! Why: at thousands of probes a second, reqwest's per-request work (its redirect layer
//! parses the URL again, the response URL is parsed once more, the connector is cloned for
//! every request, default headers are merged) and then hyper-util's pool (a checkout racing a
//! connect, a task spawned per request to return the connection) cost about as much CPU as the
//! request itself (`benches/online.sh`, issue 13). This client sends the same request: the same
//! TLS verification (rustls with the process's ring provider and the platform verifier, TLS 1.2
//! and 1.3, SNI), ALPN `h2` then `http/1.1` (one HTTP/2 connection per origin then carries
//! every probe to it), hyper-util's connector (its DNS, happy eyeballs and `TCP_NODELAY`), the
//! same user agent and `accept: */*` unless the probe sets its own, no redirects followed, the
//! connect timeout and the total timeout of [`super::Config`], and the same short reasons on
//! failure.
//!
//! The pool: an HTTP/1.1 connection goes back to its origin's idle list once its answer is read
//! to the end (never one cut at the body cap), and is used again only when hyper says it is
//! ready and it idled under [`IDLE_FOR`]; a request that a reused connection could not send (the
//! server closed it meanwhile) is sent again on another, and so is a GET whose reused connection
//! failed before any answer began. An origin's first connection is made
//! alone, so that an HTTP/2 origin gets one connection, not one per waiting probe.
//!
//! Anything with a proxy (`--proxy`, a file's `proxy_url`, or one in the environment:
//! [`crate::settings::PROXY_VARS`], which reqwest honours with their `NO_PROXY`) and the relay
//! of server mode stay on reqwest (see `Shared::goes_direct`).

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use bytes::Bytes;
use http_body_util::{BodyExt as _, Full};
use hyper::client::conn::{http1, http2};
use hyper_rustls::{HttpsConnector, HttpsConnectorBuilder, MaybeHttpsStream};
use hyper_util::client::legacy::connect::{Connection as _, HttpConnector};
use hyper_util::rt::{TokioExecutor, TokioTimer};
use tower_service::Service as _;

use super::{Config, answer_meta, capped, text};
use crate::providers::{Body, Method, ProbeRequest, ProbeResponse};

/// An idle HTTP/1.1 connection older than this is closed instead of used (servers close theirs
/// after about a minute; a half-open one would cost the whole request timeout).
const IDLE_FOR: Duration = Duration::from_secs(50);

type H1 = http1::SendRequest<Full<Bytes>>;
type H2 = http2::SendRequest<Full<Bytes>>;

/// A connection to send one request on.
enum Conn {
    H1(H1),
    H2(H2),
}

/// One origin's connections.
#[derive(Default)]
struct Pool {
    /// Idle HTTP/1.1 connections, with when they went idle.
    idle: Vec<(H1, Instant)>,
    /// The origin's HTTP/2 connection, shared by every request.
    h2: Option<H2>,
    /// Whether the origin's first connection was tried: later ones are made freely (in
    /// parallel, even when they fail).
    opened: bool,
    /// Held while the origin's first connection is being made.
    gate: Arc<tokio::sync::Mutex<()>>,
}

/// Where a connection goes: scheme and authority (`https`, `chatgpt.com`).
type Origin = (http::uri::Scheme, http::uri::Authority);

/// Every origin's connections. A run talks to a handful of origins, and each request looks
/// its own up twice (checkout, checkin): a short list compared in place costs less than
/// hashing the authority each time (SipHash was a tenth of this client's work, issue 13).
#[derive(Default)]
struct Pools(Vec<(Origin, Pool)>);

/// Whether two origins are one. Every request of a run spells its origin as the redirect
/// target does, so the bytes match first; `Authority`'s own comparison (ignoring ASCII case,
/// byte by byte) then decides only the rest.
fn same_origin(a: &Origin, b: &Origin) -> bool {
    a.0 == b.0 && (a.1.as_str() == b.1.as_str() || a.1 == b.1)
}

impl Pools {
    fn get_mut(&mut self, origin: &Origin) -> Option<&mut Pool> {
        self.0
            .iter_mut()
            .find(|(o, _)| same_origin(o, origin))
            .map(|(_, p)| p)
    }

    /// The origin's pool, made empty the first time.
    fn entry(&mut self, origin: &Origin) -> &mut Pool {
        let at = match self.0.iter().position(|(o, _)| same_origin(o, origin)) {
            Some(at) => at,
            None => {
                self.0.push((origin.clone(), Pool::default()));
                self.0.len() - 1
            }
        };
        &mut self.0[at].1
    }
}

/// A pooled client for direct requests.
pub(super) struct Direct {
    /// TCP (DNS, happy eyeballs, `TCP_NODELAY`, the connect timeout): `http` origins use it
    /// as it is, `https` ones through [`Direct::tls`].
    http: HttpConnector,
    /// TLS over `http`, built on the first `https` connection: loading the system's roots is
    /// the costliest step of starting a client, and a run against `http` origins only (a local
    /// mock, a provider's `--endpoint` on loopback) never needs it.
    tls: std::sync::OnceLock<Result<HttpsConnector<HttpConnector>, String>>,
    /// By scheme and authority (`https`, `chatgpt.com`).
    pools: Mutex<Pools>,
    timeout: Duration,
    max_idle: usize,
}

impl Direct {
    /// Builds the client. Its TLS, the configuration reqwest's clients get (`super::tls_config`),
    /// is built on the first `https` connection ([`Direct::tls`]).
    pub(super) fn new(cfg: &Config) -> Self {
        let mut http = HttpConnector::new();
        http.enforce_http(false);
        http.set_nodelay(true);
        http.set_connect_timeout(Some(cfg.timeout.min(Duration::from_secs(10))));
        Self {
            http,
            tls: std::sync::OnceLock::new(),
            pools: Mutex::new(Pools::default()),
            timeout: cfg.timeout,
            max_idle: cfg.concurrency.max(1),
        }
    }

    /// The TLS connector (see [`Direct::tls`]), built once.
    fn tls(&self) -> Result<HttpsConnector<HttpConnector>, String> {
        self.tls
            .get_or_init(|| {
                Ok(HttpsConnectorBuilder::new()
                    .with_tls_config(super::tls_config()?)
                    .https_only()
                    .enable_http1()
                    .enable_http2()
                    .wrap_connector(self.http.clone()))
            })
            .clone()
    }

    /// Sends one request to `uri` (the redirected URL) and reads a capped body. Errors are
    /// the short reasons of `super::transport_reason`, never with the URL.
    pub(super) async fn send(
        &self,
        req: &ProbeRequest,
        uri: http::Uri,
    ) -> Result<ProbeResponse, String> {
        let (Some(scheme), Some(authority)) = (uri.scheme().cloned(), uri.authority().cloned())
        else {
            return Err("request failed".to_owned());
        };
        let origin = (scheme, authority);
        let work = async {
            loop {
                let (conn, reused) = match self.checkout(&origin).await {
                    Some(c) => (c, true),
                    // Boxed: rare, and large (TLS and both handshakes); inline it would make
                    // every probe's task that much larger to create and move.
                    None => Box::pin(self.connect(&origin, &uri)).await?,
                };
                let request = build(req, &uri, matches!(conn, Conn::H2(_)))?;
                let (sent, conn) = match conn {
                    Conn::H1(mut s) => (s.try_send_request(request).await, Some(s)),
                    Conn::H2(mut s) => (s.try_send_request(request).await, None),
                };
                let resp = match sent {
                    Ok(resp) => resp,
                    // A reused connection failed before any answer began: the server closed it
                    // while it idled, and the request was not sent or (a race no client can
                    // see coming) went out as the close came in (a reset, or an end before the
                    // answer). Another connection; only a GET is sent twice (curl does the
                    // same), never a refresh grant.
                    Err(e) if reused && (e.message().is_some() || req.method == Method::Get) => {
                        self.forget_h2(&origin);
                        continue;
                    }
                    Err(e) => return Err(reason(&e.into_error())),
                };
                let answer = read(resp).await?;
                if let (Some(s), true) = (conn, answer.1) {
                    self.checkin(&origin, s);
                }
                return Ok(answer.0);
            }
        };
        tokio::time::timeout(self.timeout, work)
            .await
            .unwrap_or_else(|_| Err("request timed out".to_owned()))
    }

    fn pools(&self) -> std::sync::MutexGuard<'_, Pools> {
        self.pools
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// A ready connection to the origin: its HTTP/2 one, or an idle HTTP/1.1 one.
    async fn checkout(&self, origin: &Origin) -> Option<Conn> {
        loop {
            let (mut idle, since) = {
                let mut pools = self.pools();
                let pool = pools.get_mut(origin)?;
                match &pool.h2 {
                    Some(h2) if !h2.is_closed() => return Some(Conn::H2(h2.clone())),
                    Some(_) => pool.h2 = None,
                    None => {}
                }
                pool.idle.pop()?
            };
            if since.elapsed() < IDLE_FOR && idle.ready().await.is_ok() {
                return Some(Conn::H1(idle));
            }
        }
    }

    /// Returns an HTTP/1.1 connection whose answer was read to the end.
    fn checkin(&self, origin: &Origin, conn: H1) {
        let mut pools = self.pools();
        let pool = pools.entry(origin);
        if pool.idle.len() < self.max_idle {
            pool.idle.push((conn, Instant::now()));
        }
    }

    /// Drops the origin's HTTP/2 connection once it refused a request.
    fn forget_h2(&self, origin: &Origin) {
        if let Some(pool) = self.pools().get_mut(origin) {
            pool.h2 = None;
        }
    }

    /// Opens a connection (TCP, then TLS for `https`, ALPN choosing the protocol). The second
    /// value says whether it is a shared one another probe opened meanwhile.
    async fn connect(&self, origin: &Origin, uri: &http::Uri) -> Result<(Conn, bool), String> {
        let gate = {
            let mut pools = self.pools();
            let pool = pools.entry(origin);
            (!pool.opened).then(|| Arc::clone(&pool.gate))
        };
        let _alone = match &gate {
            Some(gate) => {
                let held = gate.lock().await;
                // The probe that held the gate may have opened a connection to share.
                if let Some(conn) = self.checkout(origin).await {
                    return Ok((conn, true));
                }
                Some(held)
            }
            None => None,
        };
        let opened = self.open(origin, uri).await;
        self.pools().entry(origin).opened = true;
        Ok((opened?, false))
    }

    /// Makes one connection (see [`Direct::connect`]).
    async fn open(&self, origin: &Origin, uri: &http::Uri) -> Result<Conn, String> {
        let failed = |_| "connection failed (refused, unreachable, DNS or TLS)".to_owned();
        let io = if uri.scheme() == Some(&http::uri::Scheme::HTTPS) {
            self.tls()?
                .call(uri.clone())
                .await
                .map_err(|e| connect_reason(e.as_ref()))?
        } else {
            let tcp = self
                .http
                .clone()
                .call(uri.clone())
                .await
                .map_err(|e| connect_reason(&e))?;
            MaybeHttpsStream::Http(tcp)
        };
        if io.connected().is_negotiated_h2() {
            let (send, conn) = http2::Builder::new(TokioExecutor::new())
                .timer(TokioTimer::new())
                .handshake(io)
                .await
                .map_err(failed)?;
            tokio::spawn(conn);
            self.pools().entry(origin).h2 = Some(send.clone());
            Ok(Conn::H2(send))
        } else {
            let (send, conn) = http1::handshake(io).await.map_err(failed)?;
            tokio::spawn(conn);
            Ok(Conn::H1(send))
        }
    }
}

/// Reads an answer: status, the headers the verdicts use, and the body up to
/// [`super::BODY_CAP`]. The second value says whether the body was read to its end (the
/// connection can then be reused).
async fn read(
    resp: http::Response<hyper::body::Incoming>,
) -> Result<(ProbeResponse, bool), String> {
    let (parts, mut body) = resp.into_parts();
    let (content_type, retry_after) = answer_meta(&parts.headers);
    let mut buf = Vec::new();
    let mut whole = false;
    loop {
        match body.frame().await {
            None => {
                whole = true;
                break;
            }
            Some(frame) => {
                let frame = frame.map_err(|_| "the answer was cut off".to_owned())?;
                if let Ok(chunk) = frame.into_data()
                    && capped(&mut buf, &chunk)
                {
                    break;
                }
            }
        }
    }
    Ok((
        ProbeResponse::new(parts.status.as_u16(), content_type, text(buf), retry_after),
        whole,
    ))
}

/// The request as reqwest would send it: the probe's headers (values marked sensitive, so
/// hyper never logs them), then its user agent and `accept: */*` where the probe set none.
fn build(
    req: &ProbeRequest,
    uri: &http::Uri,
    h2: bool,
) -> Result<http::Request<Full<Bytes>>, String> {
    let method = match req.method {
        Method::Get => http::Method::GET,
        Method::Post => http::Method::POST,
    };
    let mut headers = http::HeaderMap::with_capacity(req.headers.len() + 3);
    for (name, value) in &req.headers {
        let mut hv = http::HeaderValue::from_str(value.expose()).map_err(|_| {
            format!("the credential holds characters that cannot go in the {name} header")
        })?;
        hv.set_sensitive(true);
        headers.append(name.clone(), hv);
    }
    let body = match &req.body {
        Some(Body::Form(pairs)) => {
            let form = form_urlencoded::Serializer::new(String::new())
                .extend_pairs(pairs.iter().map(|(k, v)| (*k, v.expose())))
                .finish();
            headers.insert(
                http::header::CONTENT_TYPE,
                http::HeaderValue::from_static("application/x-www-form-urlencoded"),
            );
            Bytes::from(form)
        }
        Some(Body::Json(json)) => {
            headers.insert(
                http::header::CONTENT_TYPE,
                http::HeaderValue::from_static("application/json"),
            );
            Bytes::from(json.expose().to_owned())
        }
        None => Bytes::new(),
    };
    headers
        .entry(http::header::USER_AGENT)
        .or_insert(http::HeaderValue::from_static(concat!(
            "git-credman/",
            env!("CARGO_PKG_VERSION")
        )));
    headers
        .entry(http::header::ACCEPT)
        .or_insert(http::HeaderValue::from_static("*/*"));
    // HTTP/2 takes the whole URL (its `:scheme` and `:authority`); HTTP/1.1 the path, with
    // the host and a port other than the scheme's as `host` (as hyper-util's client sends it;
    // never a user or password of the URL).
    let uri = if h2 {
        uri.clone()
    } else {
        let authority = uri.authority().ok_or_else(|| "request failed".to_owned())?;
        let default_port = if uri.scheme() == Some(&http::uri::Scheme::HTTPS) {
            443
        } else {
            80
        };
        let host = match authority.port_u16() {
            // The authority as it is, when that is host and port (no user or password).
            Some(port) if port != default_port && !authority.as_str().contains('@') => {
                authority.as_str()
            }
            Some(port) if port != default_port => &format!("{}:{port}", authority.host()),
            _ => authority.host(),
        };
        let host = http::HeaderValue::from_str(host).map_err(|_| "request failed".to_owned())?;
        headers.entry(http::header::HOST).or_insert(host);
        uri.path_and_query().map_or_else(
            || http::Uri::from_static("/"),
            |pq| http::Uri::from(pq.clone()),
        )
    };
    let mut request = http::Request::new(Full::new(body));
    *request.method_mut() = method;
    *request.uri_mut() = uri;
    *request.headers_mut() = headers;
    Ok(request)
}

/// A failed request as the same short reason reqwest's gets (`super::transport_reason`).
fn reason(e: &hyper::Error) -> String {
    if e.is_timeout() || timed_out(e) {
        "request timed out".to_owned()
    } else if e.is_incomplete_message() || e.is_body_write_aborted() {
        "the answer was cut off".to_owned()
    } else {
        "request failed".to_owned()
    }
}

/// A failed connect: refused, unreachable, DNS or TLS, or the connect timeout.
fn connect_reason(e: &(dyn std::error::Error + 'static)) -> String {
    if timed_out(e) {
        "request timed out".to_owned()
    } else {
        "connection failed (refused, unreachable, DNS or TLS)".to_owned()
    }
}

/// Whether an error or one of its sources is an I/O timeout.
fn timed_out(e: &(dyn std::error::Error + 'static)) -> bool {
    let mut source = Some(e);
    while let Some(s) = source {
        if s.downcast_ref::<std::io::Error>()
            .is_some_and(|io| io.kind() == std::io::ErrorKind::TimedOut)
        {
            return true;
        }
        source = s.source();
    }
    false
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::credential::Secret;

    fn built(url: &str, h2: bool) -> http::Request<Full<Bytes>> {
        let uri: http::Uri = url.parse().unwrap();
        let req = ProbeRequest::get_bearer(url, &Secret::new("tok-value"));
        build(&req, &uri, h2).unwrap()
    }

    /// Origins are one when their schemes are and their authorities are, ignoring ASCII case.
    #[test]
    fn origins_compare_as_authorities_do() {
        let o = |s: &str| -> Origin {
            let u: http::Uri = s.parse().unwrap();
            (u.scheme().unwrap().clone(), u.authority().unwrap().clone())
        };
        assert!(same_origin(
            &o("https://chatgpt.com/a"),
            &o("https://chatgpt.com/b")
        ));
        assert!(same_origin(
            &o("https://ChatGPT.com/"),
            &o("https://chatgpt.com/")
        ));
        assert!(!same_origin(
            &o("http://chatgpt.com/"),
            &o("https://chatgpt.com/")
        ));
        assert!(!same_origin(
            &o("https://chatgpt.com:8443/"),
            &o("https://chatgpt.com/")
        ));
        assert!(!same_origin(
            &o("https://api.chatgpt.com/"),
            &o("https://chatgpt.com/")
        ));
    }

    /// HTTP/1.1 gets the path and a `host` of host and non-default port, never the URL's user
    /// or password; HTTP/2 the whole URL. The probe's own `accept` stays, the user agent is
    /// added, and the token's header is marked sensitive (hyper never logs it).
    #[test]
    fn requests_are_built_as_hyper_util_would_send_them() {
        let r = built("http://127.0.0.1:8080/backend-api/wham/usage?x=1", false);
        assert_eq!(r.uri().to_string(), "/backend-api/wham/usage?x=1");
        assert_eq!(r.headers()["host"], "127.0.0.1:8080");
        let r = built(
            "https://user:pw@chatgpt.com:443/backend-api/wham/usage",
            false,
        );
        assert_eq!(r.headers()["host"], "chatgpt.com");
        let r = built("https://chatgpt.com/backend-api/wham/usage", true);
        assert_eq!(
            r.uri().to_string(),
            "https://chatgpt.com/backend-api/wham/usage"
        );
        assert!(r.headers().get("host").is_none());
        assert_eq!(r.headers()["accept"], "application/json");
        assert!(
            r.headers()["user-agent"]
                .to_str()
                .unwrap()
                .starts_with("git-credman/")
        );
        assert!(r.headers()["authorization"].is_sensitive());
        assert_eq!(r.method(), http::Method::GET);
    }

    /// A form body is encoded as reqwest encodes it, with its content type.
    #[test]
    fn a_form_body_is_url_encoded() {
        let uri: http::Uri = "https://oauth2.example/token".parse().unwrap();
        let req = ProbeRequest {
            method: Method::Post,
            url: uri.to_string(),
            headers: Vec::new(),
            body: Some(Body::Form(vec![
                ("grant_type", Secret::new("refresh_token")),
                ("refresh_token", Secret::new("a b&c=d/é")),
            ])),
        };
        let r = build(&req, &uri, false).unwrap();
        assert_eq!(
            r.headers()["content-type"],
            "application/x-www-form-urlencoded"
        );
        let body = futures::executor::block_on(r.into_body().collect())
            .unwrap()
            .to_bytes();
        assert_eq!(
            &body[..],
            b"grant_type=refresh_token&refresh_token=a+b%26c%3Dd%2F%C3%A9"
        );
    }

    /// Timeouts anywhere in an error's sources read as timeouts.
    #[test]
    fn a_connect_timeout_reads_as_a_timeout() {
        let io = std::io::Error::new(std::io::ErrorKind::TimedOut, "connect timed out");
        assert_eq!(connect_reason(&io), "request timed out");
        let refused = std::io::Error::new(std::io::ErrorKind::ConnectionRefused, "refused");
        assert!(connect_reason(&refused).starts_with("connection failed"));
    }
}
