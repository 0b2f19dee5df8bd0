//! `git credman history`: credential blobs in the history of the branch (or of every
//! reference with `--all`) that HEAD no longer has, each read once through the scan pipeline,
//! deduplicated by token fingerprint, and reported when they are not dead (offline: not
//! expired; online: the provider did not reject them). Read-only. Glue only: settings → the
//! history walk (`git::Repo::removed_blobs`) → the scan pipeline (`crate::scan::classify`) →
//! the history report (`crate::report::history`).

use std::collections::HashMap;
use std::sync::Arc;

use super::{Ctx, config_of, open_repo};
use crate::cli::{GlobalArgs, HistoryArgs, HistoryFormat};
use crate::exit::Outcome;
use crate::report::history::{self, Exposure, HistoryReport, HistorySource, HistorySummary};
use crate::settings;
use crate::source::{Candidate, Listing, Origin, Pathspec, SourceInfo};

/// Runs `history`.
pub fn run(args: &HistoryArgs, global: &GlobalArgs, ctx: &mut Ctx<'_>) -> anyhow::Result<Outcome> {
    let started = std::time::Instant::now();
    let repo = open_repo(
        &ctx.env,
        &ctx.cwd,
        true,
        "run it inside the repository to check",
    )?
    .ok_or_else(|| anyhow::anyhow!("invariant: no repository"))?;
    let config = config_of(Some(&repo), &ctx.env)?;
    let settings = settings::history(
        args,
        global,
        &ctx.env,
        &config,
        (ctx.stdout_is_tty, ctx.status.draws_progress()),
    )?;
    let prefix = repo
        .workdir()
        .map(|w| crate::scan::cwd_prefix(&ctx.cwd, &w))
        .unwrap_or_default();
    let specs: Vec<Pathspec> = args
        .select
        .pathspecs
        .iter()
        .map(|p| Pathspec::new(p, &prefix))
        .collect::<Result<_, _>>()?;
    let wanted = |raw: &[u8]| {
        let path = crate::git::display_path(raw);
        path.to_ascii_lowercase().ends_with(".json")
            && (specs.is_empty() || specs.iter().any(|s| s.matches(&path).is_some()))
    };
    let tips = repo.history_tips(settings.all)?;
    let walked = repo.removed_blobs(&tips, settings.since.map(|t| t.timestamp()), &wanted)?;
    tracing::info!(
        commits = walked.commits,
        blobs = walked.removals.len(),
        elapsed_ms = started.elapsed().as_millis(),
        "walked history"
    );
    let removals = walked.removals;
    let info = SourceInfo {
        repo: repo
            .workdir()
            .map(|w| w.display().to_string())
            .or_else(|| Some(repo.git_dir().display().to_string())),
        ..SourceInfo::new("history")
    };
    let listing = Listing {
        info,
        candidates: removals
            .iter()
            .map(|r| Candidate {
                path: r.path.clone(),
                raw: r.raw.clone(),
                blob: Some(r.blob),
                kind: crate::git::EntryKind::File,
                explicit: false,
            })
            .collect(),
        origin: Origin::Repo {
            repo: Arc::clone(&repo),
            worktree: None,
        },
    };
    let collected = crate::scan::classify(listing, &settings.select, started, false)?;
    // One entry per token: the newest removal stands for the others.
    let mut by_token: HashMap<String, (usize, usize)> = HashMap::new();
    let mut credentials = 0;
    for (i, s) in collected.scanned.iter().enumerate() {
        let key = s
            .facts
            .fingerprint
            .as_deref()
            .map_or_else(|| format!("path:{}", s.path), str::to_owned);
        let time = removals.get(s.candidate).map_or(0, |r| r.time);
        match by_token.get_mut(&key) {
            Some((best, copies)) => {
                *copies += 1;
                let best_time = collected
                    .scanned
                    .get(*best)
                    .and_then(|b| removals.get(b.candidate))
                    .map_or(0, |r| r.time);
                if time > best_time {
                    *best = i;
                }
            }
            None => {
                credentials += 1;
                by_token.insert(key, (i, 0));
            }
        }
    }
    let mut results = Vec::new();
    for (best, copies) in by_token.into_values() {
        let Some(s) = collected.scanned.get(best) else {
            continue;
        };
        if s.status().class() == crate::status::Class::Dead {
            continue;
        }
        let Some(r) = removals.get(s.candidate) else {
            continue;
        };
        results.push(Exposure::new(
            &s.finding(),
            r.commit.to_string(),
            r.author.clone(),
            r.time,
            copies,
        ));
    }
    let summary = HistorySummary {
        commits: walked.commits,
        blobs: removals.len(),
        credentials,
        exposed: results.len(),
    };
    let source = HistorySource {
        kind: "history",
        repo: collected.listing.info.repo.clone(),
        refs: if settings.all { "--all" } else { "HEAD" },
        since: settings.since.map(crate::report::rfc3339),
    };
    let report = HistoryReport::new(collected.mode, source, summary, results, collected.now);
    match settings.format {
        HistoryFormat::Json => history::render_json(&report, ctx.out)?,
        HistoryFormat::Text => history::render_text(&report, ctx.out)?,
    }
    Ok(if report.results.is_empty() {
        Outcome::Clean
    } else {
        Outcome::Findings
    })
}
