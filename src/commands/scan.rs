//! `git credman scan`: list a source, classify every credential, report, and set the exit code.
//! Read-only, except that `--record` adds its verdicts to `refs/credman/verdicts`. Glue only: settings → source → the scan
//! pipeline (`crate::scan`) → report.

use anyhow::Context as _;

use super::{Ctx, config_of, record_verdicts, repository, verdicts_repo};
use crate::cli::{GlobalArgs, ScanArgs};
use crate::exit::Outcome;
use crate::report::{self, Report};
use crate::scan::Scanned;
use crate::scan::baseline::Baseline;
use crate::settings;
use crate::source::SourceSpec;
use crate::source::server::ServerSpec;

/// Runs `scan`.
pub fn run(args: &ScanArgs, global: &GlobalArgs, ctx: &mut Ctx<'_>) -> anyhow::Result<Outcome> {
    let started = std::time::Instant::now();
    let shard = args
        .shard
        .as_deref()
        .map(str::parse::<crate::source::shard::Shard>)
        .transpose()?;
    let spec = match (&args.dir, &args.rev, args.staged) {
        (Some(dir), _, _) => SourceSpec::Dir(ctx.cwd.join(dir)),
        (None, Some(rev), _) => SourceSpec::Rev(rev.clone()),
        (None, None, true) => SourceSpec::Index,
        (None, None, false) => SourceSpec::Head,
    };
    let in_server_mode = args.server.server.is_some();
    let needs_repo = !in_server_mode && !matches!(spec, SourceSpec::Dir(_));
    let (checkout, repo) = repository(&args.remote, needs_repo, ctx)?;
    let config = config_of(repo.as_ref(), &ctx.env)?;
    let mut settings = settings::scan(
        args,
        global,
        &ctx.env,
        &config,
        (ctx.stdout_is_tty, ctx.status.draws_progress()),
    )?;
    settings.select.shard = shard;
    let notify = settings::notify(
        &args.notify,
        &args.select.online.endpoints,
        settings.select.show_identities,
        &ctx.env,
        &config,
    )?;
    // The pin file lives at the root of the working tree or folder (none on a server).
    let root = match &spec {
        SourceSpec::Dir(d) => Some(d.clone()),
        _ => repo.as_ref().and_then(|r| r.workdir()),
    };
    let pin_file = settings::pin_file(
        args.pins.ignore_file.as_deref(),
        &ctx.env,
        &config,
        &ctx.cwd,
        root.as_deref().filter(|_| !in_server_mode),
    );
    let pins = crate::pins::load_setting(&pin_file)?;
    let baseline = settings::baseline(args.pins.baseline.as_deref(), &ctx.env, &config, &ctx.cwd);
    let record = settings::record(args.record.record, &ctx.env, &config)?;
    let record_in = if record {
        Some(verdicts_repo(repo.as_ref(), checkout.is_some(), ctx)?)
    } else {
        None
    };
    let spec = match crate::source::server::connect(&args.server, &ctx.env, &config, &ctx.cwd)? {
        Some(server) => SourceSpec::Server(ServerSpec {
            server,
            download: args.server.download,
            explicit_concurrency: args.select.online.concurrency.is_some(),
        }),
        None => spec,
    };
    let mut collected = crate::scan::collect(
        &spec,
        repo.as_ref(),
        &args.select.pathspecs,
        &settings.select,
        &ctx.cwd,
        false,
    )?;
    for line in crate::scan::canary::warnings(&collected.canaries) {
        ctx.status.line(&line)?;
    }
    if let Some(c) = &checkout {
        collected.listing.info.kind = "remote";
        collected.listing.info.url = Some(c.url.clone());
        collected.listing.info.repo = None;
    }
    if let Some(pins) = &pins {
        pins.mark(&mut collected.scanned);
    }
    // Every verdict is recorded, before a baseline narrows the report.
    if let Some(repo) = &record_in {
        let (commit, _) = record_verdicts(repo, &collected, &ctx.env)?;
        tracing::info!(commit = %commit, "recorded the verdicts");
        ctx.status.line(&format!(
            "Recorded {} verdict(s) in {} ({}).",
            collected.scanned.len(),
            crate::strikes::REF,
            crate::git::short_id(&commit)
        ))?;
    }
    let baseline = match &baseline {
        Some(path) => {
            let b = Baseline::read(path, collected.listing.info.kind)?;
            let (changed, unchanged) = b.retain_changed(&mut collected.scanned);
            Some(report::BaselineInfo { unchanged, changed })
        }
        None => None,
    };
    // The candidates are not needed any more: free them before the findings are built.
    collected.listing.candidates = Vec::new();
    // In place: `collect` reuses the records' allocation for the findings (a Finding is smaller).
    let findings = collected
        .scanned
        .into_iter()
        .map(Scanned::into_finding)
        .collect();
    let mut report = Report::new(
        collected.mode,
        collected.listing.info,
        settings.fail_on.iter().collect(),
        findings,
        collected.now,
    );
    report.baseline = baseline;
    // Before the report is written, so it records what became of them.
    report.notifications = super::notify(
        notify.as_ref(),
        &crate::notify::Run {
            command: "scan",
            report: &report,
            breaker: None,
            failed: false,
            duration: started.elapsed(),
        },
        ctx,
    );
    if let Some(path) = &settings.report {
        let path = ctx.cwd.join(path);
        report::json::write_file(&report, &path)
            .with_context(|| format!("cannot write the report to {}", path.display()))?;
    }
    // On a terminal, lines fit its width; piped, nothing is cut.
    let width = ctx
        .stdout_is_tty
        .then(|| terminal_size::terminal_size().map(|(w, _)| usize::from(w.0)))
        .flatten();
    let layout = report::human::Layout {
        color: settings.color,
        all: args.all,
        width,
        quota: settings.quota,
    };
    report::render_with(&report, settings.format, &layout, ctx.out)?;
    report::ci::append_step_summary(&report, settings::step_summary(&ctx.env).as_deref());
    tracing::info!("rendered");
    let outcome = if report.failing().next().is_some() {
        Outcome::Findings
    } else {
        Outcome::Clean
    };
    // The process ends right after this: let the OS reclaim a report that can hold 100,000
    // findings instead of freeing it piece by piece (measurable on large trees).
    std::mem::forget(report);
    Ok(outcome)
}
