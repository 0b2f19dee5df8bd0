//! The scan pipeline shared by `scan`, `prune` and the pre-push hook: list a repository or
//! directory source, check the pathspecs, parse and classify every candidate offline
//! ([`analyze`]; a server's entries in `scan::entry`) while the online probes run on their own
//! thread, then filter by provider. Every source goes through it.

mod analyze;
pub mod baseline;
pub mod canary;
mod duplicates;
mod entry;

use std::path::Path;
use std::sync::Arc;

use chrono::{DateTime, Utc};

#[cfg(test)]
pub(crate) use analyze::test_scanned;
pub use analyze::{Error, Facts, Online, Options, Scanned, analyze, apply_outcomes, plan_online};

use crate::git::Repo;
use crate::settings::SelectSettings;
use crate::source::{self, Listing, Pathspec, Selection, SourceSpec};

/// Returns the current directory relative to `root`, `/`-separated (empty at the root or
/// outside it).
pub(crate) fn cwd_prefix(cwd: &Path, root: &Path) -> String {
    let cwd = std::fs::canonicalize(cwd).unwrap_or_else(|_| cwd.to_owned());
    let root = std::fs::canonicalize(root).unwrap_or_else(|_| root.to_owned());
    cwd.strip_prefix(&root)
        .map(|p| {
            p.components()
                .map(|c| c.as_os_str().to_string_lossy())
                .collect::<Vec<_>>()
                .join("/")
        })
        .unwrap_or_default()
}

fn pathspecs(raw: &[String], prefix: &str) -> anyhow::Result<Vec<Pathspec>> {
    raw.iter()
        .map(|p| Pathspec::new(p, prefix).map_err(anyhow::Error::from))
        .collect()
}

/// What a scan found, before it becomes a report.
pub struct Collected {
    /// The listing (source info and how files were read).
    pub listing: Listing,
    /// One entry per credential file.
    pub scanned: Vec<Scanned>,
    /// `offline` or `online`.
    pub mode: &'static str,
    /// The time verdicts were made against.
    pub now: DateTime<Utc>,
    /// The canaries checked first (online with `--canary` only).
    pub canaries: Vec<canary::Canary>,
    /// The N-strikes rule a prune applies to this scan (its report names it).
    pub strikes: Option<crate::report::StrikeRule>,
}

/// Lists, parses, classifies (offline, then online unless `--offline`) and filters by provider.
pub(crate) fn collect(
    spec: &SourceSpec,
    repo: Option<&Arc<Repo>>,
    raw_pathspecs: &[String],
    select: &SelectSettings,
    cwd: &Path,
    content_ids: bool,
) -> anyhow::Result<Collected> {
    let started = std::time::Instant::now();
    let resolved;
    let select = match &select.online {
        Some(online) if online.canaries.iter().any(|p| p.is_relative()) => {
            let mut s = select.clone();
            if let Some(o) = s.online.as_mut() {
                o.canaries = o.canaries.iter().map(|p| cwd.join(p)).collect();
            }
            resolved = s;
            &resolved
        }
        _ => select,
    };
    let (mut listing, specs) = match (spec, repo) {
        (SourceSpec::Server(_), _) if select.shard.is_some() => {
            anyhow::bail!("--shard works on repositories and folders, not on a server's listing")
        }
        (SourceSpec::Server(server), _) => {
            let (listing, select) = source::server::list(server, select)?;
            return classify(listing, &select, started, content_ids);
        }
        (SourceSpec::Dir(dir), _) => {
            let specs = pathspecs(raw_pathspecs, &cwd_prefix(cwd, dir))?;
            (source::list_dir(dir, &specs)?, specs)
        }
        (_, Some(repo)) => {
            let prefix = repo
                .workdir()
                .map(|w| cwd_prefix(cwd, &w))
                .unwrap_or_default();
            let sel = Selection {
                auth_path: select.auth_path.clone(),
                pathspecs: pathspecs(raw_pathspecs, &prefix)?,
            };
            let listing = source::list_repo(Arc::clone(repo), spec, &sel)?;
            // An auth path the user set that holds nothing is a typo, not an empty pool.
            if sel.pathspecs.is_empty()
                && listing.info.auth_path.is_none()
                && let Some(from) = &select.auth_path_from
            {
                anyhow::bail!(
                    "the auth path '{}' (from {from}) holds no files in {}; check the name, or unset it \
                     to detect credential files anywhere in the tree",
                    crate::report::escape(&select.auth_path),
                    listing.info.rev.as_deref().unwrap_or("the tree")
                );
            }
            (listing, sel.pathspecs)
        }
        (_, None) => anyhow::bail!("invariant: a repository source without a repository"),
    };
    // As git does: a pathspec that matches nothing is an error, never an empty, green scan.
    for spec in &specs {
        if !listing
            .candidates
            .iter()
            .any(|c| spec.matches(&c.path).is_some())
        {
            anyhow::bail!(
                "pathspec '{}' did not match any file; pathspecs are relative to the current \
                 directory (quote globs so that the shell leaves them to git credman)",
                crate::report::escape(spec.as_given())
            );
        }
    }
    // After the pathspec check: a pathspec may match files of other shards only.
    if let Some(shard) = select.shard {
        listing.candidates.retain(|c| shard.contains(&c.raw));
        listing.info.shard = Some(shard.to_string());
    }
    classify(listing, select, started, content_ids)
}

/// Provider names git-credman knows; a `--provider` outside them that matches nothing is a typo.
const KNOWN_PROVIDERS: &[&str] = &[
    "codex",
    "claude",
    "antigravity",
    "gemini",
    "kimi",
    "xai",
    "grok",
    "vertex",
    "qwen",
    "iflow",
    "aistudio",
    "unknown",
];

/// Fails when a `--provider` that is no known provider matched no file: a typo (`codx`) must
/// not turn a gate green. A known provider with no files is simply an empty selection.
pub(crate) fn check_providers(wanted: &[String], found: &[&str]) -> anyhow::Result<()> {
    for p in wanted {
        if !found.contains(&p.as_str()) && !KNOWN_PROVIDERS.contains(&p.as_str()) {
            let mut here: Vec<&str> = found.to_vec();
            here.sort_unstable();
            here.dedup();
            anyhow::bail!(
                "--provider '{}' matched no credential file and is no provider git-credman knows \
                 (known: {}; found here: {})",
                crate::report::escape(p),
                KNOWN_PROVIDERS.join(", "),
                if here.is_empty() {
                    "none".to_owned()
                } else {
                    here.join(", ")
                }
            );
        }
    }
    Ok(())
}

/// Parses and classifies a listing (offline, then online unless `--offline`) and filters by
/// provider.
pub(crate) fn classify(
    listing: Listing,
    select: &SelectSettings,
    started: std::time::Instant,
    content_ids: bool,
) -> anyhow::Result<Collected> {
    tracing::info!(
        candidates = listing.candidates.len(),
        elapsed_ms = started.elapsed().as_millis(),
        "listed source"
    );
    let now = Utc::now();
    // Canaries first: their verdicts decide whether a provider's dead verdicts are trusted.
    let canaries = match &select.online {
        Some(online) if !online.canaries.is_empty() => {
            canary::check(&online.canaries, online, now)?
        }
        _ => Vec::new(),
    };
    let opts = Options {
        now,
        show_identities: select.show_identities,
        keep_credentials: select.online.is_some(),
        content_ids,
        jobs: select.jobs,
    };
    // Online checks run on their own thread and start as soon as the first files are parsed.
    let online = select.online.as_ref().map(|online| {
        let (tx, rx) = tokio::sync::mpsc::channel(crate::probe::BATCHES_AHEAD);
        let mut engine = online.engine.clone();
        // The bar's total is known before the first request: every listed file.
        engine.expected = listing.candidates.len() as u64;
        (
            online,
            tx,
            std::thread::spawn(move || crate::probe::run_stream(rx, &engine)),
        )
    });
    let providers = &select.providers;
    let sink = |block: &mut [Scanned]| {
        let Some((settings, tx, _)) = &online else {
            return;
        };
        let batch = block
            .iter_mut()
            .map(|s| {
                if !providers.is_empty() && !providers.contains(&s.facts.provider) {
                    s.credential = None;
                    crate::probe::Work::Skip
                } else {
                    plan_online(s, settings, now)
                        .map_or(crate::probe::Work::Skip, crate::probe::Work::Check)
                }
            })
            .collect();
        // A reader thread, never inside a runtime: it waits while the checks are
        // `BATCHES_AHEAD` batches behind. The receiver lives until every sender is gone; a send
        // can only fail if the probe thread died, which join() below reports.
        let _ = tx.blocking_send(batch);
    };
    let analyzed = analyze(&listing, &opts, &sink);
    let outcomes = match online {
        Some((_, tx, handle)) => {
            drop(tx);
            let joined = handle
                .join()
                .unwrap_or_else(|p| std::panic::resume_unwind(p));
            Some(joined?)
        }
        None => None,
    };
    let mut scanned = analyzed?;
    tracing::info!(
        files = scanned.len(),
        elapsed_ms = started.elapsed().as_millis(),
        "analyzed"
    );
    if !select.providers.is_empty() {
        let found: Vec<&str> = scanned.iter().map(|s| s.facts.provider.as_str()).collect();
        check_providers(&select.providers, &found)?;
        scanned.retain(|s| select.providers.contains(&s.facts.provider));
    }
    let mode = match outcomes {
        Some(outcomes) => {
            apply_outcomes(&mut scanned, outcomes);
            if let Some(pct) = select.online.as_ref().and_then(|o| o.quota_threshold) {
                for o in scanned.iter_mut().filter_map(|s| s.online.as_mut()) {
                    crate::verdict::apply_quota_threshold(&mut o.verdict, pct);
                }
            }
            canary::downgrade(&mut scanned, &canaries);
            "online"
        }
        None => "offline",
    };
    Ok(Collected {
        listing,
        scanned,
        mode,
        now,
        canaries,
        strikes: None,
    })
}
