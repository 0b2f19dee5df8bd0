//! `git credman scan`: list a source, classify every credential, report, and set the exit code.
//! Read-only: it never writes to the repository.

use std::path::Path;
use std::sync::Arc;

use anyhow::Context as _;
use chrono::Utc;

use super::Ctx;
use crate::cli::{GlobalArgs, ScanArgs};
use crate::exit::Outcome;
use crate::git::Repo;
use crate::report::{self, Report};
use crate::scan;
use crate::settings::{self, GitConfig};
use crate::source::{self, Pathspec, Selection, SourceSpec};

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

/// Runs `scan`.
pub fn run(args: &ScanArgs, global: &GlobalArgs, ctx: &mut Ctx<'_>) -> anyhow::Result<Outcome> {
    let spec = match (&args.dir, &args.rev, args.staged) {
        (Some(dir), _, _) => SourceSpec::Dir(ctx.cwd.join(dir)),
        (None, Some(rev), _) => SourceSpec::Rev(rev.clone()),
        (None, None, true) => SourceSpec::Index,
        (None, None, false) => SourceSpec::Head,
    };
    // A repository is required unless scanning a directory; there it only supplies config.
    let repo = match &spec {
        SourceSpec::Dir(_) => Repo::discover(&ctx.cwd).ok().map(Arc::new),
        _ => Some(Arc::new(Repo::discover(&ctx.cwd).context(
            "git credman scan reads a git repository; run it inside one, or scan a folder with --dir PATH",
        )?)),
    };
    let config = repo
        .as_ref()
        .map_or_else(GitConfig::globals, |r| GitConfig::new(Some(r.config())));
    let settings = settings::scan(args, global, &ctx.env, &config, ctx.stdout_is_tty)?;

    let listing = match (&spec, &repo) {
        (SourceSpec::Dir(dir), _) => {
            let prefix = cwd_prefix(&ctx.cwd, dir);
            let specs = pathspecs(&args.pathspecs, &prefix)?;
            source::list_dir(dir, &specs)?
        }
        (_, Some(repo)) => {
            let prefix = repo
                .workdir()
                .map(|w| cwd_prefix(&ctx.cwd, &w))
                .unwrap_or_default();
            let sel = Selection {
                auth_path: settings.auth_path.clone(),
                pathspecs: pathspecs(&args.pathspecs, &prefix)?,
            };
            source::list_repo(Arc::clone(repo), &spec, &sel)?
        }
        (_, None) => anyhow::bail!("invariant: a repository source without a repository"),
    };
    tracing::info!(candidates = listing.candidates.len(), "listed source");

    let online = if args.offline {
        None
    } else {
        Some(settings::online(
            &args.online,
            &ctx.env,
            &config,
            ctx.stderr_is_tty,
        )?)
    };
    let now = Utc::now();
    let opts = scan::Options {
        now,
        show_identities: settings.show_identities,
        keep_credentials: online.is_some(),
        jobs: settings.jobs,
    };
    let mut scanned = scan::analyze(&listing, &opts)?;
    if !settings.providers.is_empty() {
        scanned.retain(|s| settings.providers.contains(&s.finding.provider));
    }
    let mode = match &online {
        Some(online) => {
            scan::check_online(&mut scanned, online, now)?;
            "online"
        }
        None => "offline",
    };
    let findings = scanned.into_iter().map(|s| s.finding).collect();
    let report = Report::new(
        mode,
        listing.info,
        settings.fail_on.iter().collect(),
        findings,
        now,
    );

    if let Some(path) = &settings.report {
        let path = ctx.cwd.join(path);
        report::json::write_file(&report, &path)
            .with_context(|| format!("cannot write the report to {}", path.display()))?;
    }
    report::render(&report, settings.format, settings.color, ctx.out)?;
    Ok(if report.failing().next().is_some() {
        Outcome::Findings
    } else {
        Outcome::Clean
    })
}

fn pathspecs(raw: &[String], prefix: &str) -> anyhow::Result<Vec<Pathspec>> {
    raw.iter()
        .map(|p| Pathspec::new(p, prefix).map_err(anyhow::Error::from))
        .collect()
}
