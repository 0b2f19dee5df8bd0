//! Canary credentials (issue #15 item 4): files the operator marks as known to be alive
//! (`--canary PATH`, `GIT_CREDMAN_CANARY`, `credman.canary`). An online scan checks them first,
//! with the same probes as every other file; when a provider's canary is not alive, nothing that
//! provider says can be trusted in this run (an outage, a moved endpoint, a banned egress IP, a
//! new error format), so every dead verdict of that provider is downgraded to `unknown`, and
//! prune's breaker refuses the run ([`failed`]).
//!
//! A canary file that cannot be read as a credential is a setting error (exit 2). A canary that
//! could not be checked online (no online check for its provider, an expired access token that
//! only a rotating refresh token could renew, a timeout) counts as not alive: a canary that
//! proves nothing must not let verdicts through.

use std::path::{Path, PathBuf};

use chrono::{DateTime, Utc};
use serde::Serialize;

use super::{Online, Scanned};
use crate::credential::{self, Credential};
use crate::settings::OnlineSettings;
use crate::status::{Class, Status};
use crate::verdict::Verdict;

/// Canary files larger than this are refused (a credential is a few kilobytes).
const MAX_BYTES: u64 = 1024 * 1024;

/// How one canary answered.
#[derive(Clone, Debug, Serialize)]
pub struct Canary {
    /// The file, as configured.
    pub path: String,
    /// Its provider (`unknown` when the file could not be read as a credential).
    pub provider: String,
    /// Its verdict.
    pub status: Status,
    /// Why.
    pub reason: String,
    /// Whether it was checked online and found alive.
    pub alive: bool,
}

/// Reads a canary file into a credential, or says why not.
fn load(path: &Path) -> anyhow::Result<Credential> {
    load_inner(path).map_err(|why| {
        anyhow::anyhow!(
            "canary {}: {why}; hint: --canary, GIT_CREDMAN_CANARY and credman.canary name \
             credential files known to be alive",
            crate::report::escape(&path.display().to_string())
        )
    })
}

fn load_inner(path: &Path) -> Result<Credential, String> {
    let meta = std::fs::metadata(path).map_err(|e| format!("cannot read it ({})", e.kind()))?;
    if !meta.is_file() || meta.len() > MAX_BYTES {
        return Err("not a regular file of at most 1 MiB".to_owned());
    }
    let bytes = std::fs::read(path).map_err(|e| format!("cannot read it ({})", e.kind()))?;
    let obj = credential::parse_json(&bytes).map_err(|e| e.to_string())?;
    Ok(Credential::from_json(&obj))
}

/// Checks every canary (directly, never relayed: the files are local), before anything else.
pub fn check(
    paths: &[PathBuf],
    online: &OnlineSettings,
    now: DateTime<Utc>,
) -> anyhow::Result<Vec<Canary>> {
    let mut out = Vec::new();
    let mut jobs = Vec::new();
    for path in paths {
        let shown = path.display().to_string();
        let cred = load(path)?;
        let offline = crate::verdict::offline(&cred, now);
        let mut probes = online.probes.clone();
        probes.relay = false;
        match crate::providers::check(&cred, offline, now, &probes, false) {
            crate::providers::Check::Skip(v) => out.push(Canary {
                path: shown,
                provider: cred.provider.clone(),
                status: v.status,
                reason: format!("not checked online: {}", v.reason),
                alive: false,
            }),
            crate::providers::Check::Probe(probe) => {
                out.push(Canary {
                    path: shown,
                    provider: cred.provider.clone(),
                    status: Status::CheckError,
                    reason: String::new(),
                    alive: false,
                });
                jobs.push(crate::probe::Job {
                    index: out.len() - 1,
                    probe,
                    proxy_url: cred.proxy_url.clone(),
                    auth_index: None,
                });
            }
        }
    }
    if !jobs.is_empty() {
        let mut engine = online.engine.clone();
        engine.relay = None;
        engine.progress = false;
        for o in crate::probe::run(jobs, &engine)? {
            if let Some(c) = out.get_mut(o.index) {
                c.status = o.verdict.status;
                c.alive = o.verdict.status.class() == Class::Alive;
                c.reason = o.verdict.reason;
            }
        }
    }
    for c in &out {
        tracing::info!(path = %c.path, provider = %c.provider, status = c.status.as_str(), alive = c.alive, "canary");
    }
    Ok(out)
}

/// The canaries that are not alive, one per provider (the first), for the breaker and reasons.
pub fn failed(canaries: &[Canary]) -> Vec<&Canary> {
    let mut out: Vec<&Canary> = Vec::new();
    for c in canaries.iter().filter(|c| !c.alive) {
        if !out.iter().any(|o| o.provider == c.provider) {
            out.push(c);
        }
    }
    out
}

/// One status line per provider whose canary is not alive (for stderr).
pub fn warnings(canaries: &[Canary]) -> Vec<String> {
    failed(canaries)
        .iter()
        .map(|c| {
            format!(
                "The canary {} of {} is not alive ({}): the dead verdicts of {} are unknown in this run.",
                c.path,
                c.provider,
                c.status.as_str(),
                c.provider
            )
        })
        .collect()
}

/// Downgrades every dead verdict of a provider whose canary is not alive to `unknown`.
pub fn downgrade(scanned: &mut [Scanned], canaries: &[Canary]) {
    let failed = failed(canaries);
    if failed.is_empty() {
        return;
    }
    for s in scanned {
        if s.status().class() != Class::Dead {
            continue;
        }
        let Some(c) = failed.iter().find(|c| c.provider == s.facts.provider) else {
            continue;
        };
        let reason = format!(
            "{} (not trusted: the canary {} of {} is not alive in this run: {})",
            s.verdict().reason,
            crate::report::escape(&c.path),
            c.provider,
            c.status.as_str()
        );
        let (checked_at, elapsed_ms) = s
            .online
            .as_ref()
            .map_or((None, None), |o| (o.checked_at, o.elapsed_ms));
        s.online = Some(Box::new(Online {
            verdict: Verdict::new(Status::Unknown, reason),
            checked_at,
            elapsed_ms,
        }));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn canary(provider: &str, alive: bool) -> Canary {
        Canary {
            path: format!("{provider}.json"),
            provider: provider.to_owned(),
            status: if alive {
                Status::Active
            } else {
                Status::Invalidated
            },
            reason: String::new(),
            alive,
        }
    }

    #[test]
    fn only_the_failed_providers_dead_verdicts_become_unknown() {
        let mut scanned = vec![
            super::super::test_scanned("a.json", "codex", Status::Invalidated, None),
            super::super::test_scanned("b.json", "codex", Status::Active, None),
            super::super::test_scanned("c.json", "claude", Status::Unauthorized, None),
        ];
        downgrade(
            &mut scanned,
            &[canary("codex", false), canary("claude", true)],
        );
        assert_eq!(scanned[0].status(), Status::Unknown);
        assert!(scanned[0].verdict().reason.contains("canary codex.json"));
        assert_eq!(scanned[1].status(), Status::Active);
        assert_eq!(scanned[2].status(), Status::Unauthorized);
    }

    #[test]
    fn a_missing_canary_is_an_error_and_an_unprobed_one_is_not_alive() {
        let online = OnlineSettings {
            engine: crate::probe::Config::default(),
            probes: crate::providers::ProbeOptions::default(),
            canaries: Vec::new(),
            quota_threshold: None,
        };
        let err = check(
            &[PathBuf::from("/nonexistent/canary.json")],
            &online,
            Utc::now(),
        );
        assert!(err.unwrap_err().to_string().contains("hint:"));
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("vertex.json");
        std::fs::write(&path, r#"{"type":"qwen","access_token":"x"}"#).unwrap();
        let got = check(&[path], &online, Utc::now()).unwrap();
        assert!(!got[0].alive);
        assert_eq!(failed(&got).len(), 1);
    }
}
