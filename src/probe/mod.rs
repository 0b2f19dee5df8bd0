//! The probe engine, one of the two network owners (with `management`): one pooled client
//! (hyper's, in `probe/direct.rs`, for requests straight to the provider; reqwest's per proxy and for
//! the relay), bounded concurrency overall and per provider origin, per-request timeouts,
//! retries with exponential backoff and jitter that honour `Retry-After`, adaptive throttling of
//! an origin that answers 429, and a global deadline. Server mode sends through the [`Relay`]
//! seam (the Management API's `api-call`); a [`RelayError::KeyRefused`] stops the whole run.
//! Async stays inside this module: [`run`] owns the tokio runtime and blocks.
//!
//! Secrets: request headers and bodies are built from `Secret`s at the last moment; URLs never
//! carry a token, and reqwest errors are stripped of their URL before they become reasons.

use std::collections::HashMap;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use chrono::{DateTime, Utc};
use futures::StreamExt as _;
use tokio::sync::Semaphore;

mod direct;

use crate::credential::Secret;
use crate::endpoint::{self, Endpoints};
use crate::providers::{Body, Method, Probe, ProbeRequest, ProbeResponse, Step};
use crate::status::Status;
use crate::verdict::Verdict;

/// Bodies are read up to this many bytes; verdicts never need more.
pub(crate) const BODY_CAP: usize = 64 * 1024;
/// Longest single backoff sleep.
const MAX_BACKOFF: Duration = Duration::from_secs(60);

/// Engine errors (per-credential failures are verdicts, not errors).
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The async runtime could not start.
    #[error("cannot start the network runtime")]
    Runtime(#[source] std::io::Error),
    /// The server refused the management key while relaying; the run stopped at once.
    #[error("{0}; stopped at once because CPA bans an IP for 30 minutes after 5 failed keys")]
    KeyRefused(String),
}

/// How to probe.
#[derive(Clone, Debug)]
pub struct Config {
    /// Requests in flight at most.
    pub concurrency: usize,
    /// Requests in flight per provider origin (counted before redirection).
    pub per_host: usize,
    /// Timeout of one request.
    pub timeout: Duration,
    /// Retries of a transient failure.
    pub retries: u32,
    /// Time budget of the whole run; what is left then becomes `check_error`.
    pub deadline: Option<Duration>,
    /// Origin redirection.
    pub endpoints: Endpoints,
    /// Proxy for every request (`--proxy`), unless a file has its own `proxy_url`.
    pub proxy: Option<Secret>,
    /// Draw a progress bar on stderr.
    pub progress: bool,
    /// How many files the bar counts towards (the listing is known before probing); 0 when
    /// unknown, then the total grows with the work queued.
    pub expected: u64,
    /// Base of the exponential backoff.
    pub backoff_base: Duration,
    /// Relay every request through a CLIProxyAPI server's `POST /v0/management/api-call`
    /// instead of sending it directly (server mode: git-credman never holds the token).
    pub relay: Option<Arc<dyn Relay>>,
    /// The environment names a proxy ([`crate::settings::PROXY_VARS`]): every request then
    /// goes through reqwest, which applies it. True by default, so that an engine not built
    /// from the settings never bypasses a proxy.
    pub env_proxy: bool,
}

/// Sends probe requests through a server instead of directly (server mode: git-credman never
/// holds the token). The Management API's `api-call` (`management::ApiCall`) is the one
/// implementation; the engine only knows this seam.
pub trait Relay: std::fmt::Debug + Send + Sync {
    /// Sends `req` on behalf of the server's credential `auth_index`, over `client`.
    fn send<'a>(
        &'a self,
        client: &'a reqwest::Client,
        auth_index: &'a str,
        req: &'a ProbeRequest,
        endpoints: &'a Endpoints,
    ) -> futures::future::BoxFuture<'a, Result<ProbeResponse, RelayError>>;
}

/// Why a relayed request failed.
#[derive(Debug, thiserror::Error)]
pub enum RelayError {
    /// The server refused the management key: every further request would count toward CPA's
    /// IP ban, so the whole run stops.
    #[error("the server refused the management key during the checks (HTTP {status}: {message})")]
    KeyRefused {
        /// 401 or 403.
        status: u16,
        /// CPA's message, without control characters.
        message: String,
    },
    /// Any other failure, described without URL or key.
    #[error("{0}")]
    Failed(String),
}

impl Default for Config {
    fn default() -> Self {
        Self {
            concurrency: 64,
            per_host: 64,
            timeout: Duration::from_secs(35),
            retries: 2,
            deadline: None,
            endpoints: Endpoints::default(),
            proxy: None,
            progress: false,
            expected: 0,
            backoff_base: Duration::from_millis(500),
            relay: None,
            env_proxy: true,
        }
    }
}

/// What the scan hands the engine for each file, in order: a check, or a file that needs none
/// (so the progress bar counts every file of the listing).
pub enum Work {
    /// Probe this.
    Check(Job),
    /// Decided without a request.
    Skip,
}

/// The work of a block of files, handed over at once: one send and one wake-up per block, not
/// per file.
pub type Batch = Vec<Work>;

/// How many batches a scan may queue ahead of the checks: readers wait beyond that. Readers
/// are far faster than checks, and without a bound every file's job (its request and token)
/// was queued at once, a tenth of an online scan's memory (issue 13).
pub const BATCHES_AHEAD: usize = 2;

/// One credential to probe.
pub struct Job {
    /// The caller's index, returned with the outcome.
    pub index: usize,
    /// The provider's probe.
    pub probe: Box<dyn Probe>,
    /// The file's own `proxy_url`.
    pub proxy_url: Option<Secret>,
    /// The credential's `auth_index` on the server (relay mode).
    pub auth_index: Option<String>,
}

/// The result of probing one credential.
#[derive(Clone, Debug)]
pub struct Outcome {
    /// The caller's index.
    pub index: usize,
    /// The online verdict.
    pub verdict: Verdict,
    /// When the check started.
    pub checked_at: DateTime<Utc>,
    /// How long it took.
    pub elapsed_ms: u64,
}

/// Concurrency limit of one origin, lowered when the origin answers 429.
struct HostLimit {
    sem: Semaphore,
    cap: AtomicUsize,
}

impl HostLimit {
    /// Halves the origin's concurrency (down to 1).
    fn throttle(&self) {
        let cap = self.cap.load(Ordering::Relaxed);
        if cap > 1 {
            let gone = self.sem.forget_permits(cap - (cap / 2).max(1));
            self.cap.fetch_sub(gone, Ordering::Relaxed);
            tracing::debug!(
                new_cap = cap - gone,
                "origin answered 429; lowering its concurrency"
            );
        }
    }
}

struct Shared {
    cfg: Config,
    hosts: Mutex<HashMap<String, Arc<HostLimit>>>,
    /// Where each probe URL goes, worked out once: its origin's limiter and the redirected URL,
    /// parsed (see [`Shared::target`]).
    targets: Mutex<HashMap<String, Arc<Target>>>,
    clients: Mutex<HashMap<Option<String>, reqwest::Client>>,
    /// The client of requests without proxy or relay, built on first use.
    direct: std::sync::OnceLock<direct::Direct>,
    progress: Option<indicatif::ProgressBar>,
    /// Set when the server refused the management key mid-run: every further request would
    /// count toward CPA's IP ban, so nothing more is sent.
    abort: Mutex<Option<String>>,
}

impl Shared {
    fn aborted(&self) -> Option<String> {
        self.abort
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .clone()
    }
}

impl Shared {
    fn host(&self, origin: &str) -> Arc<HostLimit> {
        let mut hosts = self
            .hosts
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        Arc::clone(hosts.entry(origin.to_owned()).or_insert_with(|| {
            let cap = self.cfg.per_host.max(1);
            Arc::new(HostLimit {
                sem: Semaphore::new(cap),
                cap: AtomicUsize::new(cap),
            })
        }))
    }

    /// Where `url` goes: its origin's limiter and the URL after `--endpoint` redirection,
    /// parsed when it parses. A probe sends the same few URLs thousands of times (every codex
    /// file asks `wham/usage`), so a URL without a query is worked out once; one with a query
    /// may carry a token (Google's `tokeninfo`) and is never kept.
    fn target(&self, url: &str) -> Arc<Target> {
        let cacheable = !url.contains('?');
        if cacheable
            && let Some(t) = self
                .targets
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner)
                .get(url)
        {
            return Arc::clone(t);
        }
        let origin = endpoint::split_origin(url)
            .map(|(o, _)| o)
            .unwrap_or_default();
        let rewritten = self.cfg.endpoints.rewrite(url);
        let (parsed, uri) = match reqwest::Url::parse(&rewritten) {
            // The direct client takes the URL as reqwest normalised it (IDNA host, default
            // port, percent-encoded path); one that `http` refuses goes through reqwest.
            Ok(parsed) => {
                let uri = http::Uri::try_from(parsed.as_str()).ok();
                (Ok(parsed), uri)
            }
            Err(_) => (Err(rewritten), None),
        };
        let t = Arc::new(Target {
            limit: self.host(&origin),
            url: parsed,
            uri,
        });
        if cacheable {
            let mut targets = self
                .targets
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner);
            // A handful per provider; the bound only guards against URLs built per file.
            if targets.len() < 256 {
                targets.insert(url.to_owned(), Arc::clone(&t));
            }
        }
        t
    }

    /// Whether a request goes through the direct client: no relay, and no proxy for it (none
    /// given and none in the environment, or CPA's "direct"/"none").
    fn goes_direct(&self, file_proxy: Option<&Secret>) -> bool {
        if self.cfg.relay.is_some() {
            return false;
        }
        match file_proxy
            .or(self.cfg.proxy.as_ref())
            .map(|p| p.expose().trim())
        {
            None => !self.cfg.env_proxy,
            Some(p) => p == "direct" || p == "none",
        }
    }

    /// The direct client, built on first use.
    fn direct(&self) -> &direct::Direct {
        self.direct.get_or_init(|| direct::Direct::new(&self.cfg))
    }

    /// Returns the client for a proxy (`None`: `--proxy` or the environment's proxies).
    fn client(&self, file_proxy: Option<&Secret>) -> Result<reqwest::Client, String> {
        let key = file_proxy
            .or(self.cfg.proxy.as_ref())
            .map(|p| p.expose().to_owned());
        let mut clients = self
            .clients
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        if let Some(c) = clients.get(&key) {
            return Ok(c.clone());
        }
        let client = client(&self.cfg, key.as_deref())?;
        clients.insert(key, client.clone());
        Ok(client)
    }
}

/// Installs rustls' ring crypto provider as the process default, once. Every reqwest client
/// (ours, the Management API's, gix's for HTTPS clones) needs it: reqwest is built without a
/// provider of its own (see Cargo.toml) and panics without one.
pub fn tls_ready() {
    static ONCE: std::sync::Once = std::sync::Once::new();
    ONCE.call_once(|| {
        // Err means another provider is already installed, which serves as well.
        let _ = rustls::crypto::ring::default_provider().install_default();
    });
}

/// The TLS configuration of every client here (reqwest's and [`direct`]'s), built once per
/// process: rustls with the ring provider, TLS 1.2 and 1.3, SNI, the platform verifier (the
/// system's roots, or `SSL_CERT_FILE` / `SSL_CERT_DIR`, read once). It is what reqwest 0.13
/// builds for itself by default (`async_impl/client.rs`), so handing it over changes nothing
/// but that the roots are loaded once, not once per client. No ALPN here: each client offers
/// `h2` then `http/1.1` itself (hyper-rustls refuses a configuration that already has some).
fn tls_config() -> Result<rustls::ClientConfig, String> {
    static CONFIG: std::sync::OnceLock<Result<rustls::ClientConfig, String>> =
        std::sync::OnceLock::new();
    CONFIG
        .get_or_init(|| {
            tls_ready();
            let provider = rustls::crypto::CryptoProvider::get_default()
                .cloned()
                .ok_or_else(|| "cannot build the HTTP client: no TLS provider".to_owned())?;
            let verifier =
                rustls_platform_verifier::Verifier::new(Arc::clone(&provider)).map_err(|_| {
                    "cannot build the HTTP client: the system's certificates".to_owned()
                })?;
            let tls = rustls::ClientConfig::builder_with_provider(provider)
                .with_safe_default_protocol_versions()
                .map_err(|_| "cannot build the HTTP client: TLS versions".to_owned())?
                // The platform verifier is the certificate check (reqwest installs it the
                // same way); "dangerous" is only rustls' name for supplying one.
                .dangerous()
                .with_custom_certificate_verifier(Arc::new(verifier))
                .with_no_client_auth();
            Ok(tls)
        })
        .clone()
}

/// Builds a client: rustls ([`tls_config`]), HTTP/2 when offered, pooled, no redirects (a
/// redirect to a login page is not evidence), with a user agent and timeouts.
#[allow(clippy::disallowed_methods)]
fn client(cfg: &Config, proxy: Option<&str>) -> Result<reqwest::Client, String> {
    // reqwest takes a preconfigured one as it is: the ALPN it would offer goes in here.
    let mut tls = tls_config()?;
    tls.alpn_protocols = vec![b"h2".to_vec(), b"http/1.1".to_vec()];
    let mut b = reqwest::Client::builder()
        .tls_backend_preconfigured(tls)
        .user_agent(concat!("git-credman/", env!("CARGO_PKG_VERSION")))
        .timeout(cfg.timeout)
        .connect_timeout(cfg.timeout.min(Duration::from_secs(10)))
        .pool_max_idle_per_host(cfg.concurrency)
        .redirect(reqwest::redirect::Policy::none());
    match proxy.map(str::trim) {
        // CPA's spelling for "no proxy".
        Some("direct" | "none") => b = b.no_proxy(),
        Some(url) => {
            let p = reqwest::Proxy::all(url).map_err(|_| "invalid proxy URL".to_owned())?;
            b = b.proxy(p);
        }
        None => {}
    }
    b.build()
        .map_err(|e| format!("cannot build the HTTP client: {}", e.without_url()))
}

/// Probes every job; returns one outcome per job (order not guaranteed).
pub fn run(jobs: Vec<Job>, cfg: &Config) -> Result<Vec<Outcome>, Error> {
    let (tx, rx) = tokio::sync::mpsc::channel(1);
    let mut cfg = cfg.clone();
    cfg.expected = jobs.len() as u64;
    // One batch: the channel has room for it, and the receiver is right here.
    let _ = tx.try_send(jobs.into_iter().map(Work::Check).collect());
    drop(tx);
    run_stream(rx, &cfg)
}

/// Probes jobs as they arrive, until every sender is dropped; returns one outcome per job.
pub fn run_stream(
    jobs: tokio::sync::mpsc::Receiver<Batch>,
    cfg: &Config,
) -> Result<Vec<Outcome>, Error> {
    // One thread is plenty for thousands of requests per second and avoids cross-thread
    // wake-ups, which cost more CPU than the requests themselves (benches/online.sh).
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(Error::Runtime)?;
    let (outcomes, aborted) = rt.block_on(run_async(jobs, cfg.clone()));
    match aborted {
        Some(reason) => Err(Error::KeyRefused(reason)),
        None => Ok(outcomes),
    }
}

async fn run_async(
    mut jobs: tokio::sync::mpsc::Receiver<Batch>,
    cfg: Config,
) -> (Vec<Outcome>, Option<String>) {
    let progress = cfg.progress.then(|| {
        let bar = indicatif::ProgressBar::with_draw_target(
            Some(cfg.expected),
            indicatif::ProgressDrawTarget::stderr(),
        );
        if let Ok(style) = indicatif::ProgressStyle::with_template(
            "{spinner} checking {pos}/{len} files {wide_bar} {per_sec} eta {eta}",
        ) {
            bar.set_style(style);
        }
        bar
    });
    let deadline = cfg.deadline.map(|d| tokio::time::Instant::now() + d);
    let shared = Arc::new(Shared {
        hosts: Mutex::new(HashMap::new()),
        targets: Mutex::new(HashMap::new()),
        clients: Mutex::new(HashMap::new()),
        direct: std::sync::OnceLock::new(),
        progress,
        cfg,
        abort: Mutex::new(None),
    });
    // Start at most `concurrency` checks at a time: futures are large, and 10,000 of them
    // parked on a semaphore cost memory and page faults for nothing.
    let limit = shared.cfg.concurrency.max(1);
    // Reserved for every listed file at once: grown by doubling, the list would be copied at
    // each size into fresh pages. Pages reserved and never written are never resident.
    let mut out =
        Vec::with_capacity(usize::try_from(shared.cfg.expected).map_or(0, |n| n.min(1 << 20)));
    // The checks run as futures of this one task, not as tasks of their own: a spawned task
    // per check (its allocation, its join handle, the join set's bookkeeping, the scheduler's
    // wake-ups) cost a tenth of the engine's work per request (issue 13). Unconstrained: the
    // runtime's budget is per task, and shared by hundreds of checks it would make them
    // return `Pending` and be polled again for nothing.
    let mut set = futures::stream::FuturesUnordered::new();
    let mut pending = Batch::new().into_iter();
    let mut open = true;
    loop {
        if set.len() < limit {
            // Room for more: the next job of the batch at hand, else the next batch as soon
            // as it arrives (or a finished check meanwhile).
            match pending.next() {
                Some(Work::Check(job)) => {
                    start_check(&mut set, &shared, job, deadline, &mut out);
                    continue;
                }
                Some(Work::Skip) => {
                    if let Some(bar) = &shared.progress {
                        bar.inc(1);
                    }
                    continue;
                }
                None if open => {
                    tokio::select! {
                        biased;
                        batch = jobs.recv() => match batch {
                            Some(batch) => pending = batch.into_iter(),
                            None => open = false,
                        },
                        Some(o) = set.next(), if !set.is_empty() => out.push(o),
                    }
                    continue;
                }
                None => {}
            }
        }
        match set.next().await {
            Some(o) => out.push(o),
            None => break,
        }
    }
    if let Some(bar) = &shared.progress {
        bar.finish_and_clear();
    }
    let aborted = shared.aborted();
    (out, aborted)
}

/// A check in flight: boxed, so that the set moves pointers, not kilobytes of future.
type Check = std::pin::Pin<Box<dyn std::future::Future<Output = Outcome>>>;

/// Starts the check of one job (or records it as too late when the deadline has passed).
fn start_check(
    set: &mut futures::stream::FuturesUnordered<Check>,
    shared: &Arc<Shared>,
    job: Job,
    deadline: Option<tokio::time::Instant>,
    out: &mut Vec<Outcome>,
) {
    if let Some(bar) = &shared.progress
        && shared.cfg.expected == 0
    {
        bar.inc_length(1);
    }
    if let Some(reason) = shared.aborted() {
        out.push(Outcome {
            index: job.index,
            verdict: Verdict::new(Status::CheckError, format!("not checked: {reason}")),
            checked_at: Utc::now(),
            elapsed_ms: 0,
        });
        return;
    }
    if deadline.is_some_and(|at| tokio::time::Instant::now() >= at) {
        out.push(Outcome {
            index: job.index,
            verdict: Verdict::new(
                Status::CheckError,
                "the --deadline passed before the check started",
            ),
            checked_at: Utc::now(),
            elapsed_ms: 0,
        });
        return;
    }
    let sh = Arc::clone(shared);
    set.push(Box::pin(tokio::task::unconstrained(async move {
        let index = job.index;
        let checked_at = Utc::now();
        let started = Instant::now();
        // `check` is called in each arm, not once before: a future held in a local and then
        // moved into `timeout_at` would take room twice in this one.
        let verdict = match deadline {
            Some(at) => tokio::time::timeout_at(at, check(&sh, job))
                .await
                .unwrap_or_else(|_| {
                    Verdict::new(
                        Status::CheckError,
                        "the --deadline passed before the check finished",
                    )
                }),
            None => check(&sh, job).await,
        };
        if let Some(bar) = &sh.progress {
            bar.inc(1);
        }
        let elapsed_ms = u64::try_from(started.elapsed().as_millis()).unwrap_or(u64::MAX);
        Outcome {
            index,
            verdict,
            checked_at,
            elapsed_ms,
        }
    })));
}

/// Runs one probe to its verdict.
async fn check(sh: &Shared, job: Job) -> Verdict {
    let route = if sh.goes_direct(job.proxy_url.as_ref()) {
        Ok(Route::Direct(sh.direct()))
    } else {
        sh.client(job.proxy_url.as_ref()).map(Route::Reqwest)
    };
    let route = match route {
        Ok(r) => r,
        Err(reason) => return Verdict::new(Status::CheckError, reason),
    };
    let mut probe = job.probe;
    let job_auth_index = job.auth_index;
    let mut req = probe.start();
    let mut attempt: u32 = 0;
    loop {
        if let Some(reason) = sh.aborted() {
            return Verdict::new(Status::CheckError, format!("not checked: {reason}"));
        }
        let target = sh.target(&req.url);
        let limit = &target.limit;
        let result = {
            // The total is bounded by how many checks are in flight at once (`concurrency`).
            let Ok(_host) = limit.sem.acquire().await else {
                return Verdict::new(Status::CheckError, "internal: limiter closed");
            };
            match (&sh.cfg.relay, &job_auth_index, &route) {
                (_, _, Route::Direct(client)) => match &target.uri {
                    Some(uri) => client.send(&req, uri.clone()).await,
                    // `http` refused what reqwest parsed: reqwest sends it (and says why not).
                    None => match sh.client(job.proxy_url.as_ref()) {
                        Ok(c) => Box::pin(send(&c, &req, target.url.clone())).await,
                        Err(reason) => Err(reason),
                    },
                },
                (Some(relay), Some(auth_index), Route::Reqwest(client)) => match relay
                    .send(client, auth_index, &req, &sh.cfg.endpoints)
                    .await
                {
                    Ok(resp) => Ok(resp),
                    Err(e @ RelayError::KeyRefused { .. }) => {
                        let reason = e.to_string();
                        let mut abort = sh
                            .abort
                            .lock()
                            .unwrap_or_else(std::sync::PoisonError::into_inner);
                        abort.get_or_insert_with(|| reason.clone());
                        return Verdict::new(Status::CheckError, reason);
                    }
                    Err(RelayError::Failed(reason)) => Err(reason),
                },
                (Some(_), None, _) => {
                    return Verdict::new(
                        Status::Unknown,
                        "the server listed no auth_index for this file",
                    );
                }
                // Boxed: reqwest's future is large, and inline it would make every check's task
                // that much larger to create and move, direct ones too.
                (None, _, Route::Reqwest(client)) => {
                    Box::pin(send(client, &req, target.url.clone())).await
                }
            }
        };
        let (fallback, retry_after) = match result {
            Ok(resp) => {
                if resp.status == 429 {
                    limit.throttle();
                }
                match probe.on_response(&resp) {
                    Step::Done(v) => return v,
                    Step::Next(next) => {
                        req = next;
                        attempt = 0;
                        continue;
                    }
                    Step::Retry(v) => (v, resp.retry_after),
                }
            }
            Err(reason) => (Verdict::new(Status::CheckError, reason), None),
        };
        if attempt >= sh.cfg.retries {
            let tries = attempt + 1;
            let suffix = if tries > 1 {
                format!(" (after {tries} attempts)")
            } else {
                String::new()
            };
            return Verdict {
                reason: format!("{}{suffix}", fallback.reason),
                ..fallback
            };
        }
        attempt += 1;
        tokio::time::sleep(backoff(sh.cfg.backoff_base, attempt, retry_after)).await;
    }
}

/// Exponential backoff with ±50 % jitter; a `Retry-After` wins when it is longer.
fn backoff(base: Duration, attempt: u32, retry_after: Option<Duration>) -> Duration {
    use std::hash::{BuildHasher as _, Hasher as _};
    let exp = base.saturating_mul(2u32.saturating_pow(attempt.saturating_sub(1)));
    let mut h = std::collections::hash_map::RandomState::new().build_hasher();
    h.write_u32(attempt);
    #[allow(clippy::cast_precision_loss)]
    let jitter = 0.5 + (h.finish() % 1000) as f64 / 1000.0;
    let jittered = exp.mul_f64(jitter);
    jittered
        .max(retry_after.unwrap_or_default())
        .min(MAX_BACKOFF)
}

/// Parses `Retry-After`: delay seconds or an HTTP date.
fn parse_retry_after(value: &str) -> Option<Duration> {
    let v = value.trim();
    if let Ok(secs) = v.parse::<f64>() {
        return (secs.is_finite() && secs >= 0.0)
            .then(|| Duration::from_secs_f64(secs.min(3600.0)));
    }
    let at = DateTime::parse_from_rfc2822(v).ok()?.with_timezone(&Utc);
    (at - Utc::now()).to_std().ok()
}

/// Where a probe URL goes (see `Shared::target`), shared by every request to it.
struct Target {
    limit: Arc<HostLimit>,
    /// The redirected URL, parsed; as text when it does not parse (reqwest then says why).
    url: Result<reqwest::Url, String>,
    /// The same URL for the direct client, when `http` takes it.
    uri: Option<http::Uri>,
}

/// Which client sends a check's requests.
enum Route<'a> {
    /// Straight to the provider ([`direct`]).
    Direct(&'a direct::Direct),
    /// reqwest: a proxy, or the relay.
    Reqwest(reqwest::Client),
}

/// Sends one request and reads a capped body. Errors are short reasons without URLs.
async fn send(
    client: &reqwest::Client,
    req: &ProbeRequest,
    url: Result<reqwest::Url, String>,
) -> Result<ProbeResponse, String> {
    let method = match req.method {
        Method::Get => reqwest::Method::GET,
        Method::Post => reqwest::Method::POST,
    };
    let mut rb = match url {
        Ok(url) => client.request(method, url),
        Err(text) => client.request(method, text),
    };
    for (name, value) in &req.headers {
        let mut hv = reqwest::header::HeaderValue::from_str(value.expose()).map_err(|_| {
            format!("the credential holds characters that cannot go in the {name} header")
        })?;
        hv.set_sensitive(true);
        rb = rb.header(name.clone(), hv);
    }
    match &req.body {
        Some(Body::Form(pairs)) => {
            let exposed: Vec<(&str, &str)> = pairs.iter().map(|(k, v)| (*k, v.expose())).collect();
            rb = rb.form(&exposed);
        }
        Some(Body::Json(json)) => {
            rb = rb
                .header(reqwest::header::CONTENT_TYPE, "application/json")
                .body(json.expose().to_owned());
        }
        None => {}
    }
    let mut resp = rb.send().await.map_err(|e| transport_reason(&e))?;
    let (content_type, retry_after) = answer_meta(resp.headers());
    let status = resp.status().as_u16();
    let mut body = Vec::new();
    loop {
        match resp.chunk().await {
            Ok(Some(chunk)) => {
                if capped(&mut body, &chunk) {
                    break;
                }
            }
            Ok(None) => break,
            Err(e) => return Err(transport_reason(&e)),
        }
    }
    Ok(ProbeResponse::new(
        status,
        content_type,
        text(body),
        retry_after,
    ))
}

/// An answer's lower-cased `content-type` and its `Retry-After` delay (both clients').
fn answer_meta(headers: &http::HeaderMap) -> (String, Option<Duration>) {
    let header = |name| headers.get(name).and_then(|v| v.to_str().ok());
    let content_type = header(http::header::CONTENT_TYPE)
        .unwrap_or_default()
        .to_ascii_lowercase();
    (
        content_type,
        header(http::header::RETRY_AFTER).and_then(parse_retry_after),
    )
}

/// Appends what fits of `chunk` under [`BODY_CAP`]; returns whether the cap is reached.
fn capped(body: &mut Vec<u8>, chunk: &[u8]) -> bool {
    let room = BODY_CAP - body.len();
    body.extend_from_slice(&chunk[..chunk.len().min(room)]);
    body.len() >= BODY_CAP
}

/// A body as text, lossily where it is not UTF-8 (valid UTF-8 is not copied).
fn text(body: Vec<u8>) -> String {
    String::from_utf8(body).unwrap_or_else(|e| String::from_utf8_lossy(e.as_bytes()).into_owned())
}

/// A JSON POST to a notification receiver (`crate::notify`): the URL is a [`Secret`] (a
/// Telegram bot token sits in its path, a Slack or Discord webhook URL is itself the key), and
/// so are header values (an HMAC signature is harmless, but nothing here needs to know).
pub struct Post<'a> {
    /// Where to send it, before endpoint redirection.
    pub url: &'a Secret,
    /// The exact body (sent as `application/json`).
    pub body: &'a [u8],
    /// Extra headers.
    pub headers: Vec<(&'static str, String)>,
    /// Timeout of the whole request.
    pub timeout: Duration,
    /// Origin redirection (`--endpoint`), as for the probes.
    pub endpoints: &'a Endpoints,
}

/// The receiver's answer: status and the start of its body (at most 4 KiB).
#[derive(Clone, Debug)]
pub struct Answer {
    /// HTTP status.
    pub status: u16,
    /// The body, lossily decoded, capped.
    pub body: String,
}

/// Sends one JSON POST and waits for the answer. Errors are short reasons that never contain
/// the URL (see `transport_reason`); no redirect is followed, nothing is retried.
pub fn post_json(post: &Post<'_>) -> Result<Answer, String> {
    let cfg = Config {
        timeout: post.timeout,
        concurrency: 1,
        ..Config::default()
    };
    let client = client(&cfg, None)?;
    let url = post.endpoints.rewrite(post.url.expose());
    let url =
        reqwest::Url::parse(&url).map_err(|_| "the receiver's URL is not valid".to_owned())?;
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| format!("cannot start the network runtime: {e}"))?;
    rt.block_on(async {
        let mut rb = client
            .post(url)
            .header(reqwest::header::CONTENT_TYPE, "application/json")
            .body(post.body.to_vec());
        for (name, value) in &post.headers {
            let mut hv = reqwest::header::HeaderValue::from_str(value)
                .map_err(|_| format!("the {name} header cannot be sent"))?;
            hv.set_sensitive(true);
            rb = rb.header(*name, hv);
        }
        let mut resp = rb.send().await.map_err(|e| transport_reason(&e))?;
        let status = resp.status().as_u16();
        // The answer only explains a failure: 4 KiB of it is plenty, and a receiver that
        // streams more is not read further.
        let mut body = Vec::new();
        while body.len() < 4096 {
            match resp.chunk().await {
                Ok(Some(chunk)) => {
                    body.extend_from_slice(&chunk[..chunk.len().min(4096 - body.len())]);
                }
                Ok(None) | Err(_) => break,
            }
        }
        Ok(Answer {
            status,
            body: String::from_utf8_lossy(&body).into_owned(),
        })
    })
}

/// Percent-encodes a form value.
pub(crate) fn url_encode(s: &str) -> String {
    use std::fmt::Write as _;
    s.bytes().fold(String::new(), |mut out, b| {
        if b.is_ascii_alphanumeric() || b"-._~".contains(&b) {
            out.push(char::from(b));
        } else {
            let _ = write!(out, "%{b:02X}");
        }
        out
    })
}

/// Describes a transport failure without its URL.
pub(crate) fn transport_reason(e: &reqwest::Error) -> String {
    if e.is_timeout() {
        "request timed out".to_owned()
    } else if e.is_connect() {
        "connection failed (refused, unreachable, DNS or TLS)".to_owned()
    } else if e.is_body() || e.is_decode() {
        "the answer was cut off".to_owned()
    } else {
        "request failed".to_owned()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_grows_and_honours_retry_after() {
        let base = Duration::from_millis(100);
        for attempt in 1..5 {
            let d = backoff(base, attempt, None);
            let nominal = base * 2u32.pow(attempt - 1);
            assert!(
                d >= nominal.mul_f64(0.5) && d <= nominal.mul_f64(1.5),
                "{attempt}: {d:?}"
            );
        }
        assert_eq!(
            backoff(base, 1, Some(Duration::from_secs(3))),
            Duration::from_secs(3)
        );
        assert_eq!(
            backoff(base, 1, Some(Duration::from_secs(3600))),
            MAX_BACKOFF
        );
    }

    #[test]
    fn retry_after_forms() {
        assert_eq!(parse_retry_after("2"), Some(Duration::from_secs(2)));
        assert_eq!(parse_retry_after("0.5"), Some(Duration::from_millis(500)));
        assert_eq!(parse_retry_after("soon"), None);
        let future = (Utc::now() + chrono::Duration::seconds(30)).to_rfc2822();
        let d = parse_retry_after(&future).unwrap();
        assert!(d > Duration::from_secs(25) && d <= Duration::from_secs(30));
    }

    /// reqwest is built without a crypto provider of its own: without `tls_ready` a client
    /// build panics. With it, an HTTPS request runs a real rustls handshake (here against a
    /// loopback listener that speaks no TLS, so it fails as a transport error, not a panic).
    #[test]
    fn tls_client_builds_and_handshakes_with_ring() {
        let cfg = Config::default();
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        std::thread::spawn(move || {
            if let Ok((mut s, _)) = listener.accept() {
                let _ = std::io::Write::write_all(&mut s, b"HTTP/1.1 400 no tls\r\n\r\n");
            }
        });
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        let err = rt
            .block_on(async {
                let client = client(&cfg, None).expect("client");
                client
                    .get(format!("https://127.0.0.1:{port}/"))
                    .send()
                    .await
            })
            .unwrap_err();
        assert!(err.is_connect() || err.is_request(), "{err}");
    }

    #[test]
    fn throttle_halves_capacity() {
        let h = HostLimit {
            sem: Semaphore::new(8),
            cap: AtomicUsize::new(8),
        };
        h.throttle();
        assert_eq!(h.cap.load(Ordering::Relaxed), 4);
        assert_eq!(h.sem.available_permits(), 4);
        h.throttle();
        h.throttle();
        h.throttle();
        assert_eq!(h.cap.load(Ordering::Relaxed), 1);
    }
}
