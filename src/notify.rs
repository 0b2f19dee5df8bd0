//! Notifications after a `scan` or `prune` (`--notify telegram|webhook`, issue #14 item 2):
//! whether the run is worth one (`--notify-when`), the message (a JSON body for webhooks, a
//! short text for Telegram), the webhook's HMAC-SHA256 signature, and what became of each
//! delivery (a [`Notification`] for the report).
//!
//! Building a message is pure; the one HTTP request per target goes through
//! [`crate::probe::post_json`] (the network stays in `probe`). A message carries counts, the
//! commit, the breaker's verdict, the duration and where the run looked (never a local absolute
//! path); the few dead credentials it lists show provider, status, fingerprint and the account
//! as the report masks it, and their file names (which CPA builds from the email) only with
//! `--show-identities`. Never a token: the bot token and the webhook URL (a Slack or Discord
//! webhook URL is itself a key) travel as [`Secret`]s and never appear in an error. Called by
//! the `scan` and `prune` commands; nothing here prints.

use std::fmt::Write as _;
use std::time::Duration;

use serde::Serialize;
use serde_json::{Value, json};

use crate::credential::Secret;
use crate::endpoint::Endpoints;
use crate::report::{Notification, Report};
use crate::status::Class;

/// Telegram's Bot API origin; redirectable with `--endpoint` like every other origin.
pub const TELEGRAM_ORIGIN: &str = "https://api.telegram.org";
/// The webhook signature header: `sha256=` and the lower-case hex HMAC-SHA256 of the body.
pub const SIGNATURE_HEADER: &str = "X-Credman-Signature";
/// The `schema` of a webhook body; a change that is not an addition gets a new number.
pub const BODY_SCHEMA: &str = "git-credman.notification/1";
/// How many dead credentials a message lists at most.
pub const MAX_LISTED: usize = 10;
/// Timeout of one delivery.
pub const TIMEOUT: Duration = Duration::from_secs(10);

/// Where a notification goes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Target {
    /// A Telegram chat, through a bot (`sendMessage`).
    Telegram,
    /// A generic JSON webhook.
    Webhook,
}

impl Target {
    /// The target's name (`--notify` value, `target` in the report).
    pub fn as_str(self) -> &'static str {
        match self {
            Target::Telegram => "telegram",
            Target::Webhook => "webhook",
        }
    }

    /// Parses a comma-separated list of targets (`none` stands for no target).
    pub fn parse_list(text: &str) -> Result<Vec<Target>, String> {
        let mut out = Vec::new();
        for name in text.split(',').map(str::trim).filter(|n| !n.is_empty()) {
            let t = match name.to_ascii_lowercase().as_str() {
                "telegram" => Target::Telegram,
                "webhook" => Target::Webhook,
                "none" => continue,
                _ => {
                    return Err(format!(
                        "unknown target '{name}' (expected telegram, webhook or none)"
                    ));
                }
            };
            if !out.contains(&t) {
                out.push(t);
            }
        }
        Ok(out)
    }
}

/// One condition of `--notify-when`.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Condition {
    /// Something is dead, or the breaker tripped (the default).
    Dead,
    /// After every run.
    Always,
    /// Fewer than N credentials are alive.
    AliveBelow(usize),
    /// Less than this percentage of the credentials is alive.
    AliveBelowPercent(f64),
}

/// `--notify-when`: a comma-separated list of conditions, any of which sends.
#[derive(Clone, Debug, PartialEq)]
pub struct When(pub Vec<Condition>);

impl Default for When {
    fn default() -> Self {
        Self(vec![Condition::Dead])
    }
}

impl std::str::FromStr for When {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        const EXPECTED: &str = "expected dead, always, alive-below:N or alive-below:PCT%";
        let mut out = Vec::new();
        for part in s.split(',').map(str::trim).filter(|p| !p.is_empty()) {
            let c = match part.to_ascii_lowercase().as_str() {
                "dead" => Condition::Dead,
                "always" => Condition::Always,
                other => {
                    let Some(n) = other.strip_prefix("alive-below:") else {
                        return Err(EXPECTED.into());
                    };
                    match n.trim().strip_suffix('%') {
                        Some(p) => match p.trim().parse::<f64>() {
                            Ok(v) if (0.0..=100.0).contains(&v) => Condition::AliveBelowPercent(v),
                            _ => return Err("alive-below:PCT% needs 0% to 100%".into()),
                        },
                        None => Condition::AliveBelow(
                            n.trim().parse().map_err(|_| EXPECTED.to_owned())?,
                        ),
                    }
                }
            };
            out.push(c);
        }
        if out.is_empty() {
            return Err(EXPECTED.into());
        }
        Ok(Self(out))
    }
}

/// Telegram's settings: the bot token (a secret) and the chat.
#[derive(Clone, Debug)]
pub struct Telegram {
    /// The bot token (`123456:ABC…`).
    pub token: Secret,
    /// The chat id (`-100…`) or `@channel`.
    pub chat: String,
}

/// A webhook's settings: its URL (a secret: many services put the key in it) and the optional
/// HMAC key.
#[derive(Clone, Debug)]
pub struct Webhook {
    /// Where to POST.
    pub url: Secret,
    /// The HMAC-SHA256 key of the signature header, when set.
    pub secret: Option<Secret>,
}

/// Validated notification settings (`settings::notify`).
#[derive(Clone, Debug)]
pub struct Config {
    /// The targets, in the order given.
    pub targets: Vec<Target>,
    /// When to send.
    pub when: When,
    /// Set when `targets` has Telegram.
    pub telegram: Option<Telegram>,
    /// Set when `targets` has the webhook.
    pub webhook: Option<Webhook>,
    /// Origin redirection (Telegram's base URL, for self-hosted Bot API servers and tests).
    pub endpoints: Endpoints,
    /// Show file names of dead credentials (`--show-identities`).
    pub show_identities: bool,
    /// Timeout of one delivery.
    pub timeout: Duration,
}

/// What a run did, beyond its report.
#[derive(Clone, Copy, Debug)]
pub struct Run<'a> {
    /// `scan` or `prune`.
    pub command: &'static str,
    /// The run's report.
    pub report: &'a Report,
    /// The mass-failure breaker's verdict when it tripped.
    pub breaker: Option<&'a str>,
    /// Whether the run ends with an error after what the report shows (a prune whose push
    /// failed after its commit): exit 2.
    pub failed: bool,
    /// How long the run took.
    pub duration: Duration,
}

fn count(report: &Report, class: Class) -> usize {
    report.summary.by_class.get(&class).copied().unwrap_or(0)
}

/// Returns why the run is worth a notification (the first condition that holds), or `None`.
pub fn reason(when: &When, run: &Run<'_>) -> Option<&'static str> {
    let total = run.report.summary.total;
    let alive = count(run.report, Class::Alive);
    when.0.iter().find_map(|c| match *c {
        Condition::Always => Some("always"),
        Condition::Dead if run.breaker.is_some() => Some("breaker"),
        Condition::Dead => (count(run.report, Class::Dead) > 0).then_some("dead"),
        Condition::AliveBelow(n) => (alive < n).then_some("alive-below"),
        #[allow(clippy::cast_precision_loss)]
        Condition::AliveBelowPercent(p) => {
            (total > 0 && (alive as f64) * 100.0 < p * total as f64).then_some("alive-below")
        }
    })
}

/// Where the run looked, without local absolute paths: the kind, the folder's or working
/// tree's last path component, the revision, commit, auth path and URL (server or remote,
/// which carry no key or userinfo).
#[derive(Serialize)]
struct Source<'a> {
    kind: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    name: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    rev: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    commit: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    auth_path: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    url: Option<&'a str>,
}

fn source(report: &Report) -> Source<'_> {
    let s = &report.source;
    let name = s.repo.as_deref().or(s.dir.as_deref()).and_then(|p| {
        std::path::Path::new(p)
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
    });
    Source {
        kind: s.kind,
        name,
        rev: s.rev.as_deref(),
        commit: s.commit.as_deref(),
        auth_path: s.auth_path.as_deref(),
        url: s.url.as_deref(),
    }
}

/// Returns the webhook body: see "Notifications" in the README for the schema.
pub fn body(run: &Run<'_>, reason: &str, show_identities: bool) -> Value {
    let r = run.report;
    let prune = r.prune.as_ref();
    let dead: Vec<Value> = r
        .results
        .iter()
        .filter(|f| f.class == Class::Dead)
        .take(MAX_LISTED)
        .map(|f| {
            let mut v = json!({
                "provider": f.provider,
                "status": f.status,
                "fingerprint": f.fingerprint,
                "account": f.account,
            });
            if show_identities {
                v["path"] = json!(f.path);
            }
            v
        })
        .collect();
    json!({
        "schema": BODY_SCHEMA,
        "tool": r.tool,
        "command": run.command,
        "reason": reason,
        "generated_at": r.generated_at,
        "mode": r.mode,
        "source": source(r),
        "duration_ms": u64::try_from(run.duration.as_millis()).unwrap_or(u64::MAX),
        "total": r.summary.total,
        "by_class": r.summary.by_class,
        "by_status": r.summary.by_status,
        "dead": dead,
        "prune": prune.map(|p| json!({
            "dry_run": p.dry_run,
            "removed": p.removed,
            "kept": p.skipped.len(),
            "commit": p.commit,
            "branch": p.branch,
        })),
        "breaker": run.breaker,
        "failed": run.failed,
        "text": text(run),
    })
}

fn esc(text: &str) -> std::borrow::Cow<'_, str> {
    crate::report::escape(text)
}

/// Returns the short human summary (Telegram's message, `text` in the webhook body).
pub fn text(run: &Run<'_>) -> String {
    let r = run.report;
    let src = source(r);
    let mut t = format!("git-credman {} ({}, {}", run.command, r.mode, src.kind);
    // Names from the file system, a server or git are escaped like every name git-credman
    // prints (no control characters reach a chat).
    for part in [src.name.as_deref(), src.url, src.rev]
        .into_iter()
        .flatten()
    {
        let _ = write!(t, " {}", esc(part));
    }
    if let Some(c) = src.commit {
        let _ = write!(t, " @{}", &c[..c.len().min(10)]);
    }
    t.push_str(")\n");
    let _ = write!(
        t,
        "{} credential(s): {} alive, {} dead, {} transient, {} unknown",
        r.summary.total,
        count(r, Class::Alive),
        count(r, Class::Dead),
        count(r, Class::Transient),
        count(r, Class::Unknown)
    );
    if !r.summary.by_status.is_empty() {
        let per: Vec<String> = r
            .summary
            .by_status
            .iter()
            .map(|(s, n)| format!("{} {n}", s.as_str()))
            .collect();
        let _ = write!(t, "\n{}", per.join(", "));
    }
    if let Some(p) = &r.prune {
        if p.dry_run {
            let _ = write!(t, "\ndry run: {} file(s) selected", r.results.len());
        } else {
            let _ = write!(t, "\nremoved {}", p.removed);
            if let Some(c) = &p.commit {
                let _ = write!(t, " in commit {}", &c[..c.len().min(12)]);
            }
            if let Some(b) = &p.branch {
                let _ = write!(t, " on {}", esc(b));
            }
            if !p.skipped.is_empty() {
                let _ = write!(t, ", kept {}", p.skipped.len());
            }
        }
    }
    if let Some(why) = run.breaker {
        let _ = write!(t, "\nbreaker tripped: {}; nothing was changed", esc(why));
    }
    if run.failed {
        t.push_str("\nthen it failed (exit 2; see its log)");
    }
    let _ = write!(t, "\ntook {:.1} s", run.duration.as_secs_f64());
    // Telegram takes at most 4096 characters.
    t.chars().take(4000).collect()
}

/// Returns the signature header's value: `sha256=` and the hex HMAC-SHA256 of `body`.
pub fn signature(key: &Secret, body: &[u8]) -> String {
    let key = ring::hmac::Key::new(ring::hmac::HMAC_SHA256, key.expose().as_bytes());
    let tag = ring::hmac::sign(&key, body);
    let mut hex = String::with_capacity(71);
    hex.push_str("sha256=");
    for b in tag.as_ref() {
        let _ = write!(hex, "{b:02x}");
    }
    hex
}

/// One target's request: URL (a secret), body, extra headers.
type Request = (Secret, Vec<u8>, Vec<(&'static str, String)>);

/// Returns the request for one target.
fn request(cfg: &Config, target: Target, run: &Run<'_>, why: &str) -> Option<Request> {
    match target {
        Target::Telegram => {
            let tg = cfg.telegram.as_ref()?;
            let url = Secret::new(format!(
                "{TELEGRAM_ORIGIN}/bot{}/sendMessage",
                tg.token.expose()
            ));
            // https://core.telegram.org/bots/api#sendmessage: chat_id (integer or string) and
            // text; plain text (no parse_mode), so nothing needs Markdown escaping.
            let body = json!({
                "chat_id": tg.chat,
                "text": text(run),
                "disable_web_page_preview": true,
            });
            Some((url, body.to_string().into_bytes(), Vec::new()))
        }
        Target::Webhook => {
            let wh = cfg.webhook.as_ref()?;
            let body = body(run, why, cfg.show_identities).to_string().into_bytes();
            let headers = wh
                .secret
                .as_ref()
                .map(|k| vec![(SIGNATURE_HEADER, signature(k, &body))])
                .unwrap_or_default();
            Some((wh.url.clone(), body, headers))
        }
    }
}

/// Why a delivery failed, from the receiver's answer: Telegram's `description` (its error
/// answers are `{"ok":false,"error_code":…,"description":…}`), else the status alone (a
/// webhook's answer may echo anything).
fn failure(target: Target, status: u16, body: &str, secrets: &[&str]) -> String {
    let mut why = format!("HTTP {status}");
    if target == Target::Telegram
        && let Ok(v) = serde_json::from_str::<Value>(body)
        && let Some(d) = v.get("description").and_then(Value::as_str)
    {
        let mut d: String = d.chars().take(200).collect();
        for s in secrets.iter().filter(|s| !s.is_empty()) {
            d = d.replace(s, "[REDACTED]");
        }
        let _ = write!(why, ": {}", crate::report::escape(&d));
    }
    why
}

/// Sends the run's notification to every target when `--notify-when` says so; returns one
/// outcome per target (empty when nothing was due). Never fails: a failed delivery is an
/// outcome with `delivered: false`.
pub fn send(cfg: &Config, run: &Run<'_>) -> Vec<Notification> {
    let Some(why) = reason(&cfg.when, run) else {
        tracing::info!("no notification: the --notify-when threshold is not met");
        return Vec::new();
    };
    let mut out = Vec::new();
    for &target in &cfg.targets {
        let Some((url, body, headers)) = request(cfg, target, run, why) else {
            continue;
        };
        let answer = crate::probe::post_json(&crate::probe::Post {
            url: &url,
            body: &body,
            headers,
            timeout: cfg.timeout,
            endpoints: &cfg.endpoints,
        });
        let secrets: Vec<&str> = cfg
            .telegram
            .iter()
            .map(|t| t.token.expose())
            .chain(cfg.webhook.iter().map(|w| w.url.expose()))
            .collect();
        out.push(match answer {
            Ok(a) if (200..300).contains(&a.status) => Notification {
                target: target.as_str(),
                delivered: true,
                http_status: Some(a.status),
                error: None,
            },
            Ok(a) => Notification {
                target: target.as_str(),
                delivered: false,
                http_status: Some(a.status),
                error: Some(failure(target, a.status, &a.body, &secrets)),
            },
            Err(why) => Notification {
                target: target.as_str(),
                delivered: false,
                http_status: None,
                error: Some(why),
            },
        });
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::report::Finding;
    use crate::source::SourceInfo;
    use crate::status::Status;

    fn report(statuses: &[Status]) -> Report {
        let findings = statuses
            .iter()
            .enumerate()
            .map(|(i, s)| Finding::for_test(&format!("auths/{i}.json"), "codex", *s))
            .collect();
        let mut source = SourceInfo::new("head");
        source.repo = Some("/home/someone/pool".into());
        Report::new("offline", source, Vec::new(), findings, chrono::Utc::now())
    }

    fn run(r: &Report) -> Run<'_> {
        Run {
            command: "scan",
            report: r,
            breaker: None,
            failed: false,
            duration: Duration::from_millis(1500),
        }
    }

    #[test]
    fn when_parses_and_rejects() {
        assert_eq!("dead".parse::<When>().unwrap(), When::default());
        assert_eq!(
            "always, alive-below:3 ,alive-below:40%"
                .parse::<When>()
                .unwrap(),
            When(vec![
                Condition::Always,
                Condition::AliveBelow(3),
                Condition::AliveBelowPercent(40.0)
            ])
        );
        for bad in [
            "",
            "sometimes",
            "alive-below:",
            "alive-below:x",
            "alive-below:120%",
        ] {
            assert!(bad.parse::<When>().is_err(), "{bad}");
        }
        assert_eq!(
            Target::parse_list("telegram, webhook,telegram").unwrap(),
            vec![Target::Telegram, Target::Webhook]
        );
        assert!(Target::parse_list("none").unwrap().is_empty());
        assert!(Target::parse_list("slack").is_err());
    }

    #[test]
    fn thresholds() {
        let healthy = report(&[Status::Active, Status::Unverified, Status::RateLimited]);
        let sick = report(&[Status::Active, Status::Invalidated]);
        let d = When::default();
        assert_eq!(reason(&d, &run(&healthy)), None);
        assert_eq!(reason(&d, &run(&sick)), Some("dead"));
        let tripped = Run {
            breaker: Some("too many"),
            ..run(&healthy)
        };
        assert_eq!(reason(&d, &tripped), Some("breaker"));
        let w = |s: &str| s.parse::<When>().unwrap();
        assert_eq!(reason(&w("always"), &run(&healthy)), Some("always"));
        assert_eq!(reason(&w("alive-below:2"), &run(&healthy)), None);
        assert_eq!(
            reason(&w("alive-below:3"), &run(&healthy)),
            Some("alive-below")
        );
        // 2 of 3 alive is 66.7 %.
        assert_eq!(reason(&w("alive-below:66%"), &run(&healthy)), None);
        assert_eq!(
            reason(&w("alive-below:67%"), &run(&healthy)),
            Some("alive-below")
        );
        assert_eq!(reason(&w("alive-below:50%"), &run(&report(&[]))), None);
    }

    #[test]
    fn body_has_counts_and_no_local_path() {
        let r = report(&[Status::Active, Status::Invalidated]);
        let b = body(&run(&r), "dead", false);
        assert_eq!(b["schema"], BODY_SCHEMA);
        assert_eq!(b["total"], 2);
        assert_eq!(b["by_class"]["dead"], 1);
        assert_eq!(b["by_status"]["invalidated"], 1);
        assert_eq!(b["source"]["name"], "pool");
        assert_eq!(b["duration_ms"], 1500);
        assert_eq!(b["dead"][0]["status"], "invalidated");
        assert!(b["dead"][0].get("path").is_none());
        let text = b.to_string();
        assert!(!text.contains("/home/someone"), "{text}");
        let shown = body(&run(&r), "dead", true);
        assert_eq!(shown["dead"][0]["path"], "auths/1.json");
    }

    #[test]
    fn text_escapes_names_and_keeps_its_line_breaks() {
        let mut r = report(&[Status::Invalidated]);
        r.source.repo = Some("/srv/evil\u{1b}[31m\nname".into());
        let t = text(&run(&r));
        assert!(
            t.starts_with("git-credman scan (offline, head evil\\u{1b}[31m\\nname"),
            "{t}"
        );
        assert_eq!(t.lines().count(), 4, "{t}");
        assert!(!t.contains('\u{1b}'));
    }

    #[test]
    fn signature_is_rfc4231_hmac_sha256() {
        // RFC 4231 test case 2.
        let sig = signature(&Secret::new("Jefe"), b"what do ya want for nothing?");
        assert_eq!(
            sig,
            "sha256=5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"
        );
    }

    #[test]
    fn telegram_failure_text_is_redacted() {
        let body =
            r#"{"ok":false,"error_code":400,"description":"Bad Request: chat 12:abc not found"}"#;
        assert_eq!(
            failure(Target::Telegram, 400, body, &["12:abc"]),
            "HTTP 400: Bad Request: chat [REDACTED] not found"
        );
        assert_eq!(failure(Target::Webhook, 500, body, &[]), "HTTP 500");
    }
}
