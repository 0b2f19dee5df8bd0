//! `git credman doctor`: sends each provider's probe with a deliberately invalid token generated
//! for this run and checks that the answer still has the shape the verdict rules rely on (issue
//! #15 item 4). Read-only; never reads a credential file. Glue only: settings → the targets and
//! judgement of `providers::doctor` → the probe engine (`probe::run`, redirected exactly as a
//! scan's requests) → the doctor report (`report::doctor`).

use std::sync::Arc;

use serde_json::Value;

use super::{Ctx, config_of, open_repo};
use crate::cli::{DoctorArgs, DoctorFormat, GlobalArgs};
use crate::credential::Credential;
use crate::exit::Outcome;
use crate::probe::{self, Job};
use crate::providers::doctor::{self as rules, Health, Log, Recorder, Target};
use crate::providers::{self, Check};
use crate::report::doctor::{self as report, DoctorReport};
use crate::settings;

/// Runs `doctor`.
pub fn run(args: &DoctorArgs, global: &GlobalArgs, ctx: &mut Ctx<'_>) -> anyhow::Result<Outcome> {
    let repo = open_repo(&ctx.env, &ctx.cwd, false, "")?;
    let config = config_of(repo.as_ref(), &ctx.env)?;
    let settings = settings::doctor(
        args,
        global,
        &ctx.env,
        &config,
        (ctx.stdout_is_tty, ctx.status.draws_progress()),
    )?;
    let all = rules::targets(&settings.online.probes);
    for p in &settings.providers {
        if !all.iter().any(|t| t.name == p) {
            let names: Vec<&str> = all.iter().map(|t| t.name).collect();
            anyhow::bail!(
                "--provider {}: doctor knows no such provider; hint: one of {}",
                crate::report::escape(p),
                names.join(", ")
            );
        }
    }
    let targets: Vec<&Target> = all
        .into_iter()
        .filter(|t| settings.providers.is_empty() || settings.providers.iter().any(|p| p == t.name))
        .collect();
    let now = chrono::Utc::now();
    let mut jobs = Vec::new();
    let mut logs = Vec::new();
    for (index, target) in targets.iter().enumerate() {
        let token = rules::invalid_token();
        let Value::Object(file) = (target.file)(&token) else {
            anyhow::bail!("internal: doctor's {} file is not an object", target.name);
        };
        let cred = Credential::from_json(&file);
        let offline = crate::verdict::offline(&cred, now);
        let Check::Probe(inner) =
            providers::check(&cred, offline, now, &settings.online.probes, false)
        else {
            anyhow::bail!("internal: doctor's {} file gets no probe", target.name);
        };
        let log = Log::default();
        jobs.push(Job {
            index,
            probe: Recorder::boxed(inner, target.stages.len(), Arc::clone(&log)),
            // Never a file's proxy: the `--proxy` / environment one applies, as in a scan.
            proxy_url: None,
            auth_index: None,
        });
        logs.push(log);
    }
    let mut engine = settings.online.engine.clone();
    engine.relay = None;
    let mut outcomes = probe::run(jobs, &engine)?;
    outcomes.sort_by_key(|o| o.index);
    let mut results = Vec::new();
    for o in outcomes {
        let (Some(target), Some(log)) = (targets.get(o.index), logs.get(o.index)) else {
            continue;
        };
        let seen = log
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .clone();
        let health = rules::judge(target, &seen, &o.verdict);
        let first = target.stages.first().map_or("", |s| s.request);
        let (health, request, expected, seen) = match health {
            Health::Ok => (report::Health::Ok, first, None, None),
            Health::Drift {
                request,
                expected,
                seen,
            } => (report::Health::Drift, request, Some(expected), Some(seen)),
            Health::Unreachable { request, reason } => {
                (report::Health::Unreachable, request, None, Some(reason))
            }
        };
        results.push(report::Check {
            provider: target.name.to_owned(),
            canary: None,
            health,
            request: request.to_owned(),
            expected,
            seen,
            elapsed_ms: o.elapsed_ms,
        });
    }
    // The canaries (`--canary`): a known-alive credential that is not alive is drift as far as
    // the rules are concerned; one that could not be checked (429, 5xx, timeout) is not checked.
    let canaries: Vec<std::path::PathBuf> = settings
        .online
        .canaries
        .iter()
        .map(|p| ctx.cwd.join(p))
        .collect();
    if !canaries.is_empty() {
        let started = std::time::Instant::now();
        let checked = crate::scan::canary::check(&canaries, &settings.online, now)?;
        let elapsed_ms = u64::try_from(started.elapsed().as_millis()).unwrap_or(u64::MAX);
        for c in checked {
            let health = if c.alive {
                report::Health::Ok
            } else if c.status.class() == crate::status::Class::Transient {
                report::Health::Unreachable
            } else {
                report::Health::Drift
            };
            results.push(report::Check {
                provider: c.provider,
                canary: Some(c.path),
                health,
                request: "the provider's probe".to_owned(),
                expected: (health == report::Health::Drift)
                    .then(|| "the canary, known to be alive, is alive".to_owned()),
                seen: (health != report::Health::Ok)
                    .then(|| format!("{}: {}", c.status.as_str(), c.reason)),
                elapsed_ms,
            });
        }
    }
    let doc = DoctorReport::new(results, now);
    match settings.format {
        DoctorFormat::Json => report::render_json(&doc, ctx.out)?,
        DoctorFormat::Text => report::render_text(&doc, ctx.out)?,
    }
    Ok(if doc.summary.drift > 0 {
        Outcome::Findings
    } else if doc.summary.unreachable > 0 || doc.summary.checked == 0 {
        Outcome::Unchecked
    } else {
        Outcome::Clean
    })
}
