//! The probes' own HTTP client for requests that go straight to the provider (no proxy, no
//! relay): hyper's pooled client over hyper-rustls, without reqwest's layers on top.
//!
//! Why: at thousands of probes a second, reqwest's per-request work (its redirect layer
//! parses the URL again, the response URL is parsed once more, the connector is cloned for
//! every request, default headers are merged) cost about as much CPU as the request itself
//! (`benches/online.sh`, issue 13). This client sends the same request: the same TLS
//! verification (rustls with the process's ring provider and the platform verifier, TLS 1.2
//! and 1.3, SNI), ALPN `h2` then `http/1.1`, `TCP_NODELAY`, the same user agent and
//! `accept: */*` unless the probe sets its own, no redirects followed, the connect timeout
//! and the total timeout of [`super::Config`], and the same short reasons on failure.
//!
//! Anything with a proxy (`--proxy`, a file's `proxy_url`, or one in the environment:
//! [`crate::settings::PROXY_VARS`], which reqwest honours with their `NO_PROXY`) and the relay
//! of server mode stay on reqwest (see `Shared::goes_direct`).

use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use http_body_util::{BodyExt as _, Full};
use hyper_rustls::{HttpsConnector, HttpsConnectorBuilder};
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::{TokioExecutor, TokioTimer};

use super::{BODY_CAP, Config, parse_retry_after};
use crate::providers::{Body, Method, ProbeRequest, ProbeResponse};

/// A pooled client for direct requests (HTTP/1.1 keep-alive, or one HTTP/2 connection per
/// origin when the server offers `h2`).
pub(super) struct Direct {
    client: Client<HttpsConnector<HttpConnector>, Full<Bytes>>,
    timeout: Duration,
}

impl Direct {
    /// Builds the client, as `super::client` builds reqwest's.
    pub(super) fn new(cfg: &Config) -> Result<Self, String> {
        super::tls_ready();
        let provider = rustls::crypto::CryptoProvider::get_default()
            .cloned()
            .ok_or_else(|| "cannot build the HTTP client: no TLS provider".to_owned())?;
        let verifier = rustls_platform_verifier::Verifier::new(Arc::clone(&provider))
            .map_err(|_| "cannot build the HTTP client: the system's certificates".to_owned())?;
        let tls = rustls::ClientConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .map_err(|_| "cannot build the HTTP client: TLS versions".to_owned())?
            // The platform verifier is the certificate check (what reqwest installs the same
            // way); "dangerous" is only rustls' name for supplying one.
            .dangerous()
            .with_custom_certificate_verifier(Arc::new(verifier))
            .with_no_client_auth();
        let mut http = HttpConnector::new();
        http.enforce_http(false);
        http.set_nodelay(true);
        http.set_connect_timeout(Some(cfg.timeout.min(Duration::from_secs(10))));
        let https = HttpsConnectorBuilder::new()
            .with_tls_config(tls)
            .https_or_http()
            .enable_http1()
            .enable_http2()
            .wrap_connector(http);
        let client = Client::builder(TokioExecutor::new())
            .pool_timer(TokioTimer::new())
            .timer(TokioTimer::new())
            .pool_max_idle_per_host(cfg.concurrency.max(1))
            .build(https);
        Ok(Self {
            client,
            timeout: cfg.timeout,
        })
    }

    /// Sends one request to `uri` (the redirected URL) and reads a capped body. Errors are
    /// the short reasons of `super::transport_reason`, never with the URL.
    pub(super) async fn send(
        &self,
        req: &ProbeRequest,
        uri: http::Uri,
    ) -> Result<ProbeResponse, String> {
        let request = build(req, uri)?;
        let work = async {
            let resp = self.client.request(request).await.map_err(|e| reason(&e))?;
            let (parts, mut body) = resp.into_parts();
            let header = |name| {
                parts
                    .headers
                    .get(name)
                    .and_then(|v| v.to_str().ok())
                    .map(str::to_owned)
            };
            let content_type = header(http::header::CONTENT_TYPE)
                .unwrap_or_default()
                .to_ascii_lowercase();
            let retry_after = header(http::header::RETRY_AFTER).and_then(|v| parse_retry_after(&v));
            let mut buf = Vec::new();
            while let Some(frame) = body.frame().await {
                let frame = frame.map_err(|_| "the answer was cut off".to_owned())?;
                if let Ok(chunk) = frame.into_data() {
                    let room = BODY_CAP - buf.len();
                    buf.extend_from_slice(&chunk[..chunk.len().min(room)]);
                    if buf.len() >= BODY_CAP {
                        break;
                    }
                }
            }
            let body = String::from_utf8(buf)
                .unwrap_or_else(|e| String::from_utf8_lossy(e.as_bytes()).into_owned());
            Ok(ProbeResponse::new(
                parts.status.as_u16(),
                content_type,
                body,
                retry_after,
            ))
        };
        tokio::time::timeout(self.timeout, work)
            .await
            .unwrap_or_else(|_| Err("request timed out".to_owned()))
    }
}

/// The request as reqwest would send it: the probe's headers (values marked sensitive, so
/// hyper never logs them), then its user agent and `accept: */*` where the probe set none.
fn build(req: &ProbeRequest, uri: http::Uri) -> Result<http::Request<Full<Bytes>>, String> {
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
        let name = http::HeaderName::from_bytes(name.as_bytes())
            .map_err(|_| format!("internal: {name} is not a header name"))?;
        headers.append(name, hv);
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
    let mut request = http::Request::new(Full::new(body));
    *request.method_mut() = method;
    *request.uri_mut() = uri;
    *request.headers_mut() = headers;
    Ok(request)
}

/// A transport failure as the same short reason reqwest's gets (`super::transport_reason`).
fn reason(e: &hyper_util::client::legacy::Error) -> String {
    let mut source: Option<&(dyn std::error::Error + 'static)> = Some(e);
    while let Some(s) = source {
        if s.downcast_ref::<std::io::Error>()
            .is_some_and(|io| io.kind() == std::io::ErrorKind::TimedOut)
        {
            return "request timed out".to_owned();
        }
        source = s.source();
    }
    if e.is_connect() {
        "connection failed (refused, unreachable, DNS or TLS)".to_owned()
    } else {
        "request failed".to_owned()
    }
}
