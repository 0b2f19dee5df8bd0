//! How probes reach a provider: the direct client's TLS and HTTP/2 against a real rustls
//! server (a test CA trusted through `SSL_CERT_FILE`, which the platform verifier reads on
//! Linux, as reqwest's does), an untrusted certificate, its pool of HTTP/1.1 connections
//! (kept alive, and not reused once the server closed them), and the environment's proxies,
//! which keep requests on reqwest.

use std::convert::Infallible;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use bytes::Bytes;
use http_body_util::Full;
use serde_json::json;
use wiremock::matchers::path;
use wiremock::{Mock, MockServer};

use crate::support::providers::*;
use crate::support::*;

/// A codex `wham/usage` 200 as the reference (§5) describes it.
const USAGE: &str = r#"{"plan_type":"plus","rate_limit":{"allowed":true,"limit_reached":false,"primary_window":{"used_percent":12,"limit_window_seconds":18000,"reset_after_seconds":9000,"reset_at":4102444800}},"credits":{"has_credits":false,"unlimited":false,"balance":"0"}}"#;

/// A test CA in PEM, for `SSL_CERT_FILE`, and its issuer.
fn test_ca(name: &str) -> (String, rcgen::CertifiedIssuer<'static, rcgen::KeyPair>) {
    let mut params = rcgen::CertificateParams::new(Vec::<String>::new()).unwrap();
    params.is_ca = rcgen::IsCa::Ca(rcgen::BasicConstraints::Unconstrained);
    params
        .distinguished_name
        .push(rcgen::DnType::CommonName, name);
    params.key_usages = vec![
        rcgen::KeyUsagePurpose::KeyCertSign,
        rcgen::KeyUsagePurpose::DigitalSignature,
    ];
    let ca =
        rcgen::CertifiedIssuer::self_signed(params, rcgen::KeyPair::generate().unwrap()).unwrap();
    (ca.pem(), ca)
}

/// A loopback HTTPS provider with a certificate for 127.0.0.1 issued by `ca`. It offers
/// `h2` and `http/1.1`, answers every request with [`USAGE`], and records the protocol of
/// each handshake, the handshakes that failed, and the requests that carried a bearer token.
struct TlsProvider {
    addr: std::net::SocketAddr,
    protocols: Arc<Mutex<Vec<String>>>,
    failed_handshakes: Arc<AtomicUsize>,
    bearer_requests: Arc<AtomicUsize>,
}

impl TlsProvider {
    async fn start(ca: &rcgen::CertifiedIssuer<'static, rcgen::KeyPair>) -> Self {
        let key = rcgen::KeyPair::generate().unwrap();
        let leaf = rcgen::CertificateParams::new(vec!["127.0.0.1".to_owned()])
            .unwrap()
            .signed_by(&key, ca)
            .unwrap();
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let mut cfg = rustls::ServerConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .unwrap()
            .with_no_client_auth()
            .with_single_cert(
                vec![leaf.der().clone()],
                rustls::pki_types::PrivateKeyDer::Pkcs8(key.serialize_der().into()),
            )
            .unwrap();
        cfg.alpn_protocols = vec![b"h2".to_vec(), b"http/1.1".to_vec()];
        let acceptor = tokio_rustls::TlsAcceptor::from(Arc::new(cfg));
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let protocols = Arc::new(Mutex::new(Vec::new()));
        let failed_handshakes = Arc::new(AtomicUsize::new(0));
        let bearer_requests = Arc::new(AtomicUsize::new(0));
        let (p, f, b) = (
            Arc::clone(&protocols),
            Arc::clone(&failed_handshakes),
            Arc::clone(&bearer_requests),
        );
        tokio::spawn(async move {
            while let Ok((tcp, _)) = listener.accept().await {
                let (acceptor, p, f, b) = (acceptor.clone(), p.clone(), f.clone(), b.clone());
                tokio::spawn(async move {
                    let Ok(tls) = acceptor.accept(tcp).await else {
                        f.fetch_add(1, Ordering::SeqCst);
                        return;
                    };
                    let proto = tls.get_ref().1.alpn_protocol().map(<[u8]>::to_vec);
                    let h2 = proto.as_deref() == Some(b"h2");
                    p.lock()
                        .unwrap()
                        .push(String::from_utf8_lossy(&proto.unwrap_or_default()).into_owned());
                    let svc = hyper::service::service_fn(move |req: hyper::Request<_>| {
                        let b = b.clone();
                        async move {
                            if req
                                .headers()
                                .get("authorization")
                                .is_some_and(|v| v.as_bytes().starts_with(b"Bearer "))
                            {
                                b.fetch_add(1, Ordering::SeqCst);
                            }
                            Ok::<_, Infallible>(
                                hyper::Response::builder()
                                    .header("content-type", "application/json")
                                    .body(Full::new(Bytes::from_static(USAGE.as_bytes())))
                                    .unwrap(),
                            )
                        }
                    });
                    let io = hyper_util::rt::TokioIo::new(tls);
                    if h2 {
                        let _ = hyper::server::conn::http2::Builder::new(
                            hyper_util::rt::TokioExecutor::new(),
                        )
                        .serve_connection(io, svc)
                        .await;
                    } else {
                        let _ = hyper::server::conn::http1::Builder::new()
                            .serve_connection(io, svc)
                            .await;
                    }
                });
            }
        });
        Self {
            addr,
            protocols,
            failed_handshakes,
            bearer_requests,
        }
    }
}

/// A committed repository of `n` live codex files, `auths/codex-0.json` on, with accounts
/// named after `tag`.
fn live_codex_repo(tag: &str, n: usize) -> TestRepo {
    let t = TestRepo::new();
    for i in 0..n {
        let v = codex_live(
            &format!("{tag}{i}@example.com"),
            &format!("acct-{tag}{i}"),
            "plus",
        );
        t.write_json(&format!("auths/codex-{i}.json"), &v);
    }
    t.commit_all("init");
    t
}

/// Three codex files probed against `server` with `ca_pem` as the only trusted roots.
fn scan_over_tls(server: &TlsProvider, ca_pem: &str) -> (TestRepo, Run) {
    let t = live_codex_repo("tls", 3);
    let roots = t.home().join("roots.pem");
    std::fs::write(&roots, ca_pem).unwrap();
    let r = run(t
        .credman()
        .env("SSL_CERT_FILE", &roots)
        .args(["scan", "--format", "json", "--retries", "0"])
        .args(endpoint_args(&format!("https://{}", server.addr))));
    (t, r)
}

/// The direct client verifies the certificate against the trusted roots, negotiates HTTP/2
/// by ALPN (as reqwest did: one connection carries many probes), and gets the verdicts.
#[tokio::test(flavor = "multi_thread")]
async fn a_direct_probe_verifies_tls_and_speaks_h2_to_a_trusted_provider() {
    let (ca_pem, ca) = test_ca("git-credman test CA");
    let server = TlsProvider::start(&ca).await;
    let (_t, r) = scan_over_tls(&server, &ca_pem);
    let report = r.json();
    for i in 0..3 {
        assert_eq!(
            result(&report, &format!("auths/codex-{i}.json"))["status"],
            "active",
            "{}",
            r.stdout
        );
    }
    let protocols = server.protocols.lock().unwrap().clone();
    assert!(!protocols.is_empty());
    assert!(protocols.iter().all(|p| p == "h2"), "{protocols:?}");
    assert_eq!(server.bearer_requests.load(Ordering::SeqCst), 3);
    assert_eq!(server.failed_handshakes.load(Ordering::SeqCst), 0);
}

/// A certificate from a CA the machine does not trust fails the handshake: the token is
/// never sent, and the files are transport errors (`check_error`), never dead.
#[tokio::test(flavor = "multi_thread")]
async fn an_untrusted_certificate_stops_the_probe_before_the_token_is_sent() {
    let (_, ca) = test_ca("untrusted CA");
    let (other_pem, _) = test_ca("the CA the machine trusts");
    let server = TlsProvider::start(&ca).await;
    let (_t, r) = scan_over_tls(&server, &other_pem);
    let report = r.json();
    for i in 0..3 {
        let res = result(&report, &format!("auths/codex-{i}.json"));
        assert_eq!(res["status"], "check_error", "{}", r.stdout);
        assert!(
            res["reason"]
                .as_str()
                .is_some_and(|s| s.contains("connection failed")),
            "{res}"
        );
    }
    assert!(server.failed_handshakes.load(Ordering::SeqCst) >= 1);
    assert_eq!(server.bearer_requests.load(Ordering::SeqCst), 0);
    assert!(server.protocols.lock().unwrap().is_empty());
}

/// A kimi file probed with the redirected origin a dead port, through a proxy that answers:
/// named by the file's `proxy_url`, or else by `HTTP_PROXY` in the environment (which reqwest
/// honours, with its `NO_PROXY`). Only the proxy can make the file active.
async fn only_the_proxy_answers(in_file: bool) {
    let proxy = MockServer::start().await;
    Mock::given(path("/coding/v1/usages"))
        .respond_with(json_resp(200, json!({"usage":{}})))
        .expect(1)
        .mount(&proxy)
        .await;
    let t = TestRepo::new();
    let mut cred = json!({"type":"kimi","access_token":"kimi-proxied-token"});
    if in_file {
        cred["proxy_url"] = json!(proxy.uri());
    }
    t.write_json("auths/kimi.json", &cred);
    t.commit_all("init");
    let mut cmd = t.credman();
    if !in_file {
        cmd.env("HTTP_PROXY", proxy.uri());
    }
    let r = run(cmd
        .args(["scan", "--format", "json", "--retries", "0"])
        .args(endpoint_args(&format!("http://127.0.0.1:{}", dead_port()))));
    assert_eq!(
        result(&r.json(), "auths/kimi.json")["status"],
        "active",
        "{}",
        r.stdout
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn per_file_proxy_url_is_honoured() {
    only_the_proxy_answers(true).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn a_proxy_in_the_environment_carries_the_probes() {
    only_the_proxy_answers(false).await;
}

/// `t`'s files probed against `server`, `concurrency` at a time, without retries.
fn scan_against(t: &TestRepo, server: &CountingServer, concurrency: &str) -> Run {
    run(t
        .credman()
        .args(["scan", "--format", "json", "--retries", "0"])
        .args(["--concurrency", concurrency])
        .args(endpoint_args(&server.uri())))
}

/// Five codex files probed one at a time against `server`.
fn scan_one_at_a_time(server: &CountingServer) -> Run {
    let t = live_codex_repo("h1-", 5);
    let r = scan_against(&t, server, "1");
    let report = r.json();
    for i in 0..5 {
        assert_eq!(
            result(&report, &format!("auths/codex-{i}.json"))["status"],
            "active",
            "{}",
            r.stdout
        );
    }
    r
}

/// More files than the engine lets the readers queue ahead of the checks (a few blocks of
/// 256): the readers wait for the checks, and every file is still checked once.
#[test]
fn readers_that_wait_for_the_checks_still_hand_over_every_file() {
    let server = CountingServer::start(std::time::Duration::ZERO, USAGE);
    let n = 1600;
    let t = live_codex_repo("many", n);
    let r = scan_against(&t, &server, "4");
    let report = r.json();
    assert_eq!(report["summary"]["by_status"]["active"], n, "{}", r.stderr);
    assert_eq!(server.total.load(Ordering::SeqCst), n);
}

/// A connection whose answer was read to the end carries the next probe (keep-alive).
#[test]
fn one_kept_alive_connection_carries_probes_one_after_another() {
    let server = CountingServer::start(std::time::Duration::ZERO, USAGE);
    scan_one_at_a_time(&server);
    assert_eq!(server.total.load(Ordering::SeqCst), 5);
    assert_eq!(server.connections.load(Ordering::SeqCst), 1);
}

/// A pooled connection the server closed after its answer is not used again: each probe gets
/// a new one, and none fails (`--retries 0`: nothing papers over a lost request). When the
/// close races the next request (the test process is busy), the GET goes again on a fresh
/// connection, as curl does; the dead one never reached the server's request count.
#[test]
fn a_connection_the_server_closed_is_not_reused() {
    let server = CountingServer::start_closing(USAGE);
    scan_one_at_a_time(&server);
    assert_eq!(server.total.load(Ordering::SeqCst), 5);
    assert_eq!(server.connections.load(Ordering::SeqCst), 5);
}

/// The system's roots are read only for an `https` origin: with none to read (both
/// `SSL_CERT_FILE` and `SSL_CERT_DIR` name nothing), probes of an `http` origin (a local mock,
/// an `--endpoint` on loopback) still get their answers, and an `https` origin's are transport
/// errors that never send the token.
#[test]
fn roots_are_read_only_for_https_origins() {
    let (_, ca) = test_ca("git-credman test CA");
    // The TLS provider's runtime; `CountingServer` runs its own.
    let rt = tokio::runtime::Runtime::new().unwrap();
    let tls = rt.block_on(TlsProvider::start(&ca));
    let plain = CountingServer::start(std::time::Duration::ZERO, USAGE);
    for (origin, alive) in [
        (plain.uri(), true),
        (format!("https://{}", tls.addr), false),
    ] {
        let t = live_codex_repo("roots", 1);
        let nothing = t.home().join("no-such-roots");
        let r = run(t
            .credman()
            .env("SSL_CERT_FILE", &nothing)
            .env("SSL_CERT_DIR", &nothing)
            .args(["scan", "--format", "json", "--retries", "0"])
            .args(endpoint_args(&origin)));
        let res = result(&r.json(), "auths/codex-0.json").clone();
        let want = if alive { "active" } else { "check_error" };
        assert_eq!(res["status"], want, "{origin}: {}", r.stdout);
    }
    assert_eq!(plain.total.load(Ordering::SeqCst), 1);
    assert_eq!(tls.bearer_requests.load(Ordering::SeqCst), 0);
}
