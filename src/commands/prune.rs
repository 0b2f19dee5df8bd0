//! `git credman prune`: settings → scan → [`prune::plan`] → breaker and dry run → one of the
//! executors ([`prune::repo`], [`prune::dir`], [`prune::server`]) → report. Glue only: what is
//! removed, kept and why lives in [`crate::prune`].

use std::path::Path;
use std::sync::Arc;

use anyhow::{Context as _, bail};

use super::{Ctx, config_of, record_verdicts, repository, verdicts_repo};
use crate::cli::{GlobalArgs, PruneArgs};
use crate::exit::Outcome;
use crate::git::Repo;
use crate::prune::repo::{PushTarget, Request};
use crate::prune::{self, Plan};
use crate::report::reviewed::Reviewed;
use crate::report::{self, Format, Report};
use crate::scan::baseline::Baseline;
use crate::scan::{Collected, collect};
use crate::settings::{self, PruneSettings};
use crate::sign::{self, Signer};
use crate::source::SourceSpec;
use crate::source::server::ServerSpec;

/// Reports and returns the breaker's refusal when it trips (and `--force` is not given).
fn breaker_refusal(
    collected: &Collected,
    plan: &Plan,
    settings: &PruneSettings,
    args: &PruneArgs,
    ctx: &mut Ctx<'_>,
) -> anyhow::Result<Option<Outcome>> {
    for line in crate::scan::canary::warnings(&collected.canaries) {
        ctx.status.line(&line)?;
    }
    let Some(why) = prune::canary_breaker(&collected.canaries)
        .or_else(|| prune::breaker(&collected.scanned, &plan.chosen, settings.max_delete))
        .filter(|_| !args.force)
    else {
        return Ok(None);
    };
    let report = prune::report(
        collected,
        &plan.chosen,
        plan.skipped.clone(),
        &settings.statuses,
        true,
    );
    let headline = format!("Refused by the mass-failure breaker: {why}. Nothing was changed.");
    emit(
        report,
        settings,
        &headline,
        (Some(&why), false),
        args,
        ctx,
        None,
    )?;
    Ok(Some(Outcome::Breaker))
}

/// The last say over a plan before the breaker: `--interactive`'s review on the terminal
/// narrows it (never widens it; `None` when the user quit, and then nothing is done), then the
/// N-strikes rule cites the verdicts of the files that are to go.
fn narrow(
    plan: Plan,
    (scanned, rule): (
        &mut [crate::scan::Scanned],
        &mut Option<crate::report::StrikeRule>,
    ),
    strikes: Option<&prune::Strikes>,
    settings: &PruneSettings,
    args: &PruneArgs,
    ctx: &mut Ctx<'_>,
    action: &dyn Fn(usize) -> String,
) -> anyhow::Result<Option<Plan>> {
    let plan = if args.interactive {
        let scanned = &*scanned;
        let breaker = |chosen: &[usize]| prune::breaker(scanned, chosen, settings.max_delete);
        let reviewed = crate::tui::review(scanned, plan, action, &breaker, args.force)?;
        if reviewed.is_none() {
            ctx.status
                .line("Quit the interactive review; nothing was changed.")?;
        }
        reviewed
    } else {
        Some(plan)
    };
    if let (Some(plan), Some(k)) = (&plan, strikes) {
        k.cite(scanned, rule, &plan.chosen);
    }
    Ok(plan)
}

/// Reports the plan and returns `Clean` when nothing is selected, or with `--dry-run`.
fn plan_only(
    collected: &Collected,
    plan: &Plan,
    settings: &PruneSettings,
    args: &PruneArgs,
    ctx: &mut Ctx<'_>,
    (verb, place): (&str, &str),
    quota: &mut Option<report::QuotaDone>,
) -> anyhow::Result<Option<Outcome>> {
    if !plan.chosen.is_empty() && !args.dry_run {
        return Ok(None);
    }
    let n = plan.chosen.len();
    let report = prune::report(
        collected,
        &plan.chosen,
        plan.skipped.clone(),
        &settings.statuses,
        true,
    );
    let headline = if n == 0 {
        format!(
            "Nothing to {verb}: no file has a status in {}.",
            settings.statuses
        )
    } else {
        format!("Dry run: would {verb} {n} file(s){place}; nothing was changed.")
    };
    emit(
        report,
        settings,
        &headline,
        (None, false),
        args,
        ctx,
        quota.take(),
    )?;
    Ok(Some(Outcome::Clean))
}

/// Runs `prune`.
pub fn run(args: &PruneArgs, global: &GlobalArgs, ctx: &mut Ctx<'_>) -> anyhow::Result<Outcome> {
    let started = std::time::Instant::now();
    crate::interrupt::configure_test_pause(&ctx.env);
    if args.interactive
        && let Some(why) = crate::tui::refusal()
    {
        bail!("{why}");
    }
    if args.dir.is_some()
        && (args.branch.is_some() || args.push.is_some() || args.sign || args.signing_key.is_some())
    {
        bail!(
            "--dir prunes a plain folder: --branch, --push and signing apply to repositories only"
        );
    }
    let needs_repo = args.dir.is_none() && args.server.server.is_none();
    let (checkout, repo) = repository(&args.remote, needs_repo, ctx)?;
    let config = config_of(repo.as_ref(), &ctx.env)?;
    let mut settings = settings::prune(
        args,
        global,
        &ctx.env,
        &config,
        (ctx.stdout_is_tty, ctx.status.draws_progress()),
    )?;
    settings.started = started;
    settings.notify = settings::notify(
        &args.notify,
        &args.select.online.endpoints,
        settings.select.show_identities,
        &ctx.env,
        &config,
    )?;
    prune::guard_statuses(&settings.statuses, args.force)?;
    // A reviewed report is the evidence: no file is checked online again.
    let reviewed = match &args.from_report {
        Some(file) => {
            let reviewed = report::reviewed::read(&ctx.cwd.join(file))?;
            prune::check_reviewed(&reviewed, &report::escape(&file.display().to_string()))?;
            settings.select.online = None;
            Some(reviewed)
        }
        None => None,
    };
    // Pins and the baseline hold files back in every mode; the pin file lives at the root of
    // the working tree or folder (none on a server unless named).
    let root = match &args.dir {
        Some(dir) => Some(ctx.cwd.join(dir)),
        None => repo.as_ref().and_then(|r| r.workdir()),
    };
    let pin_file = settings::pin_file(
        args.pins.ignore_file.as_deref(),
        &ctx.env,
        &config,
        &ctx.cwd,
        root.as_deref().filter(|_| args.server.server.is_none()),
    );
    let strikes = settings::strikes(
        args.strikes.as_deref(),
        args.spacing.as_deref(),
        &ctx.env,
        &config,
    )?;
    let record = settings::record(args.record.record, &ctx.env, &config)?;
    let verdicts = if record || strikes.is_some() {
        Some(verdicts_repo(repo.as_ref(), checkout.is_some(), ctx)?)
    } else {
        None
    };
    let hold = Hold {
        strikes,
        record,
        verdicts,
        pins: crate::pins::load_setting(&pin_file)?,
        // A reviewed report is the evidence: a configured baseline does not apply to it.
        baseline: settings::baseline(args.pins.baseline.as_deref(), &ctx.env, &config, &ctx.cwd)
            .filter(|_| reviewed.is_none()),
    };
    if let Some(server) = crate::source::server::connect(&args.server, &ctx.env, &config, &ctx.cwd)?
    {
        return run_server(args, &settings, ctx, &server, &hold);
    }
    match (&args.dir, repo) {
        (Some(dir), _) => run_dir(args, &settings, ctx, &ctx.cwd.join(dir), &hold),
        (None, Some(repo)) => run_repo(
            args,
            &settings,
            ctx,
            &repo,
            checkout.as_ref(),
            reviewed.as_ref(),
            &hold,
        ),
        (None, None) => bail!("invariant: no repository"),
    }
}

/// What holds files back in every mode: the pin file, `--baseline` and `--strikes` (with the
/// repository the verdicts are recorded in and read from).
struct Hold {
    pins: Option<crate::pins::Pins>,
    baseline: Option<std::path::PathBuf>,
    strikes: Option<settings::StrikeSettings>,
    record: bool,
    verdicts: Option<Arc<Repo>>,
}

impl Hold {
    /// Marks the pinned files of a scan and reads the baseline against its source kind.
    fn apply(&self, collected: &mut Collected) -> anyhow::Result<Option<Baseline>> {
        if let Some(pins) = &self.pins {
            pins.mark(&mut collected.scanned);
        }
        Ok(self
            .baseline
            .as_deref()
            .map(|p| Baseline::read(p, collected.listing.info.kind))
            .transpose()?)
    }

    /// Records this scan's verdicts (`--record`, not in a dry run, where they count as if
    /// recorded) and returns the rule with the history it judges by (`--strikes`).
    fn strikes(
        &self,
        collected: &Collected,
        dry_run: bool,
        ctx: &mut Ctx<'_>,
    ) -> anyhow::Result<Option<prune::Strikes>> {
        use crate::strikes::store;
        let Some(repo) = &self.verdicts else {
            return Ok(None);
        };
        let (recorded, history) = if self.record && !dry_run {
            let (commit, history) = record_verdicts(repo, collected, &ctx.env)?;
            ctx.status.line(&format!(
                "Recorded {} verdict(s) in {} ({}).",
                collected.scanned.len(),
                crate::strikes::REF,
                crate::git::short_id(&commit)
            ))?;
            (Some(commit), history)
        } else {
            let (_, mut history) = store::load(repo)?;
            if self.record {
                let at = settings::test_record_time(&ctx.env).unwrap_or(collected.now);
                store::apply(&mut history, &store::entries_of(&collected.scanned, at));
            }
            (None, history)
        };
        let Some(rule) = self.strikes else {
            return Ok(None);
        };
        let keys = store::keys_of(&collected.scanned)
            .into_iter()
            .zip(&collected.scanned)
            .map(|(k, s)| (s.path.clone(), k))
            .collect();
        Ok(Some(prune::Strikes {
            rule,
            history,
            keys,
            recorded,
        }))
    }
}

/// Sends the notifications, writes `--report`, renders the report with its headline, appends
/// the GitHub step summary. `breaker` is the breaker's verdict when it tripped; `failed` says
/// the run ends with an error after this report (a push that failed after the commit).
fn emit(
    mut report: Report,
    settings: &PruneSettings,
    headline: &str,
    (breaker, failed): (Option<&str>, bool),
    args: &PruneArgs,
    ctx: &mut Ctx<'_>,
    quota: Option<report::QuotaDone>,
) -> anyhow::Result<()> {
    let mut headline = headline.to_owned();
    if let Some(quota) = quota {
        let dry = report.prune.as_ref().is_some_and(|p| p.dry_run);
        headline = format!("{headline}\n{}", quota.summary(dry));
        report.next_reset_at = [report.next_reset_at, quota.next_reset()]
            .into_iter()
            .flatten()
            .min();
        if let Some(p) = report.prune.as_mut() {
            p.quota = Some(quota);
        }
    }
    let headline = headline.as_str();
    report.notifications = super::notify(
        settings.notify.as_ref(),
        &crate::notify::Run {
            command: "prune",
            report: &report,
            breaker,
            failed,
            duration: settings.started.elapsed(),
        },
        ctx,
    );
    let report = &report;
    if let Some(path) = &args.report {
        let path = ctx.cwd.join(path);
        report::json::write_file(report, &path)
            .with_context(|| format!("cannot write the report to {}", path.display()))?;
    }
    match settings.format {
        Format::Text => report::human::render_prune(report, headline, settings.color, ctx.out)?,
        other => report::render(report, other, settings.color, ctx.out)?,
    }
    report::ci::append_step_summary(report, settings::step_summary(&ctx.env).as_deref());
    Ok(())
}

fn run_repo(
    args: &PruneArgs,
    settings: &PruneSettings,
    ctx: &mut Ctx<'_>,
    repo: &Arc<Repo>,
    remote: Option<&crate::source::remote::Checkout>,
    reviewed: Option<&Reviewed>,
    hold: &Hold,
) -> anyhow::Result<Outcome> {
    let push_env: &[(String, String)] = remote.map_or(&[], |c| c.push_env.as_slice());
    let on_branch = args.branch.is_none();
    // Refuse detached HEAD, unborn branch, merge/rebase in progress up front.
    let head = repo.branch_head()?;
    let collected = collect(
        &SourceSpec::Head,
        Some(repo),
        &args.select.pathspecs,
        &settings.select,
        &ctx.cwd,
        true,
    )?;
    let mut collected = collected;
    if let Some(c) = remote {
        collected.listing.info.kind = "remote";
        collected.listing.info.url = Some(c.url.clone());
        collected.listing.info.repo = None;
    }
    let baseline = hold.apply(&mut collected)?;
    let strikes = hold.strikes(&collected, args.dry_run, ctx)?;
    if collected.listing.info.commit.as_deref() != Some(head.commit.to_string().as_str()) {
        bail!(
            "{} moved while it was being scanned; nothing was changed (run it again)",
            head.name
        );
    }
    // Selection reads the index without locking it: signing (maybe a passphrase prompt, an
    // agent, a smartcard) happens before index.lock is taken, and everything is checked again
    // under the lock. A bare repository has no index and no working tree to keep consistent.
    let has_worktree = repo.workdir().is_some();
    let workdir = repo.workdir();
    let index_view = if on_branch && has_worktree {
        Some(repo.lock_free_index_ids()?)
    } else {
        None
    };
    let listing = &collected.listing;
    let keep = |s: &crate::scan::Scanned| {
        if let Some(why) = prune::held(s, baseline.as_ref()) {
            return Some(why);
        }
        if let Some(why) = strikes.as_ref().and_then(|k| k.keep(s)) {
            return Some(why);
        }
        if let Some(why) = prune::not_a_file(s) {
            return Some(why);
        }
        if !on_branch || !has_worktree {
            return None;
        }
        let raw = listing
            .candidates
            .get(s.candidate)
            .map_or(s.path.as_bytes(), |c| c.raw.as_slice());
        if let Some(wd) = &workdir
            && crate::fs::has_unsafe_parent(wd, raw)
        {
            return Some(prune::recover::UNSAFE_PARENT.to_owned());
        }
        if let Some(state) = s.worktree {
            return Some(format!("{state} in the working tree (uncommitted change)"));
        }
        let staged = index_view
            .as_ref()
            .map_or(s.content_id, |view| view.get(raw).copied());
        (staged != s.content_id)
            .then(|| "staged change in the index (uncommitted change)".to_owned())
    };
    let plan = match reviewed {
        Some(r) => prune::plan_from_report(&mut collected.scanned, r, &settings.statuses, keep)?,
        None => prune::plan(&collected.scanned, &settings.statuses, keep),
    };
    if let Some(r) = reviewed {
        collected.mode = if r.mode == "online" {
            "online"
        } else {
            "offline"
        };
    }
    let target = match &args.branch {
        Some(b) => format!("on a new branch {b}"),
        None => format!("on {}", head.short),
    };
    let push = if args.push.is_some() {
        ", then push it"
    } else {
        ""
    };
    let action = |n: usize| format!("remove {n} file(s) in one commit {target}{push}");
    let cites = (collected.scanned.as_mut_slice(), &mut collected.strikes);
    let Some(plan) = narrow(plan, cites, strikes.as_ref(), settings, args, ctx, &action)? else {
        return Ok(Outcome::Clean);
    };
    if let Some(refused) = breaker_refusal(&collected, &plan, settings, args, ctx)? {
        return Ok(refused);
    }
    if let Some(done) = plan_only(
        &collected,
        &plan,
        settings,
        args,
        ctx,
        ("remove", " in one commit"),
        &mut None,
    )? {
        return Ok(done);
    }
    // A push target that does not exist would fail only after the commit: check it first.
    if let Some(remote_arg) = &args.push {
        let branch = args.branch.clone().unwrap_or_else(|| head.short.clone());
        let (remote, _) = push_destination(repo, &branch, remote_arg);
        let is_url = remote.contains([':', '/']) || remote.starts_with('.');
        if !is_url && repo.remote_url(&remote).is_none() {
            bail!(
                "--push: no remote named '{}' (see `git remote -v`); nothing was changed",
                crate::report::escape(&remote)
            );
        }
    }
    crate::interrupt::install();
    crate::interrupt::checkpoint("scanned");

    let signer = Signer::resolve(
        repo,
        sign_mode(args.sign, args.no_sign),
        args.signing_key.as_deref(),
        settings.passphrase.as_ref(),
    )?;
    let push = args.push.as_ref().map(|remote_arg| {
        let branch = args.branch.clone().unwrap_or_else(|| head.short.clone());
        let (remote, dst) = push_destination(repo, &branch, remote_arg);
        PushTarget {
            workdir: repo.workdir().unwrap_or_else(|| repo.git_dir()),
            remote,
            dst,
            env: push_env,
        }
    });
    let done = prune::repo::execute(
        repo,
        plan,
        Request {
            collected: &collected,
            statuses: &settings.statuses,
            head: &head,
            branch: args.branch.as_deref(),
            signer: &signer,
            push,
        },
    )?;
    finish(done, settings, args, ctx, None)
}

/// Shows what an executor did and ends the run: its error (after the report), findings when
/// some files could not be changed, else clean.
fn finish(
    done: prune::Done,
    settings: &PruneSettings,
    args: &PruneArgs,
    ctx: &mut Ctx<'_>,
    quota: Option<report::QuotaDone>,
) -> anyhow::Result<Outcome> {
    emit(
        done.report,
        settings,
        &done.headline,
        (None, done.error.is_some()),
        args,
        ctx,
        quota,
    )?;
    match done.error {
        Some(err) => Err(err),
        None if done.failed > 0 => Ok(Outcome::Findings),
        None => Ok(Outcome::Clean),
    }
}

/// Returns (remote, destination ref) for `--push`, from the branch's configured upstream.
fn push_destination(repo: &Arc<Repo>, branch: &str, remote_arg: &str) -> (String, String) {
    let (up_remote, up_merge) = settings::upstream_of(
        &crate::settings::GitConfig::new(Some(repo.config())),
        branch,
    );
    prune::upstream(branch, remote_arg, up_remote, up_merge)
}

fn sign_mode(sign: bool, no_sign: bool) -> sign::Mode {
    match (sign, no_sign) {
        (true, _) => sign::Mode::Force,
        (_, true) => sign::Mode::Never,
        _ => sign::Mode::Config,
    }
}

/// Server mode: disable (default) or back up and delete the selected files on the server.
fn run_server(
    args: &PruneArgs,
    settings: &PruneSettings,
    ctx: &mut Ctx<'_>,
    server: &Arc<crate::management::Server>,
    hold: &Hold,
) -> anyhow::Result<Outcome> {
    if !args.enable.is_empty() {
        let (done, failed) = prune::server::enable(server, &args.enable);
        ctx.status
            .line(&format!("Enabled {done} file(s) on {}.", server.url()))?;
        if !failed.is_empty() {
            bail!(
                "could not enable {} file(s): {}",
                failed.len(),
                failed.join("; ")
            );
        }
        return Ok(Outcome::Clean);
    }
    let spec = SourceSpec::Server(ServerSpec {
        server: Arc::clone(server),
        download: args.server.download,
        explicit_concurrency: args.select.online.concurrency.is_some(),
    });
    let mut collected = collect(&spec, None, &[], &settings.select, &ctx.cwd, true)?;
    let baseline = hold.apply(&mut collected)?;
    let strikes = hold.strikes(&collected, args.dry_run, ctx)?;
    let entries = crate::source::server::entries(&collected.listing);
    // Runtime-only, file-less and odd entries are never touched, sub-folder files never deleted;
    // when disabling, files already disabled on the server are left alone.
    let plan = prune::plan(&collected.scanned, &settings.statuses, |s| {
        if let Some(why) = prune::held(s, baseline.as_ref()) {
            return Some(why);
        }
        if let Some(why) = strikes.as_ref().and_then(|k| k.keep(s)) {
            return Some(why);
        }
        let Some(e) = entries.get(s.candidate) else {
            return Some("not in the server's listing".to_owned());
        };
        prune::server::keep_reason(e, args.delete)
            .or_else(|| (s.facts.disabled && !args.delete).then(|| "already disabled".to_owned()))
    });
    let url = server.url().to_owned();
    let action = |n: usize| {
        if args.delete {
            format!("delete {n} file(s) on {url}, after backing each one up locally")
        } else {
            format!("disable {n} file(s) on {url} (reversible with --enable)")
        }
    };
    let cites = (collected.scanned.as_mut_slice(), &mut collected.strikes);
    let Some(plan) = narrow(plan, cites, strikes.as_ref(), settings, args, ctx, &action)? else {
        return Ok(Outcome::Clean);
    };
    if let Some(refused) = breaker_refusal(&collected, &plan, settings, args, ctx)? {
        return Ok(refused);
    }
    let mut quota_done = None;
    if settings.disable_exhausted || settings.reenable_at_reset {
        let mut quota = report::QuotaDone::default();
        if settings.reenable_at_reset {
            prune::server::reenable_at_reset(
                server,
                entries,
                &collected,
                args.dry_run,
                &mut quota,
            )?;
        }
        if settings.disable_exhausted {
            let held = |s: &crate::scan::Scanned| prune::held(s, baseline.as_ref());
            prune::server::disable_exhausted(
                server,
                entries,
                &collected,
                &held,
                args.dry_run,
                &mut quota,
            )?;
        }
        quota_done = Some(quota);
    }
    let verb = if args.delete { "delete" } else { "disable" };
    let on = format!(" on {}", server.url());
    if let Some(done) = plan_only(
        &collected,
        &plan,
        settings,
        args,
        ctx,
        (verb, &on),
        &mut quota_done,
    )? {
        return Ok(done);
    }
    let backup = args.delete.then(|| {
        args.backup_dir.clone().map_or_else(
            || {
                ctx.cwd
                    .join("credman-backup")
                    .join(collected.now.format("%Y%m%dT%H%M%SZ").to_string())
            },
            |d| ctx.cwd.join(d),
        )
    });
    let done = prune::server::execute(
        server,
        entries,
        &collected,
        plan,
        &settings.statuses,
        backup.as_deref(),
    )?;
    finish(done, settings, args, ctx, quota_done)
}

/// Directory mode: move the selected files to a quarantine outside the auth dir (or delete
/// them with --purge). A file that changed since it was scanned is skipped.
fn run_dir(
    args: &PruneArgs,
    settings: &PruneSettings,
    ctx: &mut Ctx<'_>,
    dir: &Path,
    hold: &Hold,
) -> anyhow::Result<Outcome> {
    let mut collected = collect(
        &SourceSpec::Dir(dir.to_owned()),
        None,
        &args.select.pathspecs,
        &settings.select,
        &ctx.cwd,
        true,
    )?;
    let baseline = hold.apply(&mut collected)?;
    let strikes = hold.strikes(&collected, args.dry_run, ctx)?;
    let plan = prune::plan(&collected.scanned, &settings.statuses, |s| {
        prune::held(s, baseline.as_ref())
            .or_else(|| strikes.as_ref().and_then(|k| k.keep(s)))
            .or_else(|| prune::not_a_file(s))
    });
    let quarantine = args.quarantine.as_ref().map_or_else(
        || format!("{}.credman-quarantine/<UTC time>/", dir.display()),
        |q| q.display().to_string(),
    );
    let action = |n: usize| {
        if args.purge {
            format!(
                "delete {n} file(s) from {} for good (--purge)",
                dir.display()
            )
        } else {
            format!("move {n} file(s) to the quarantine {quarantine}")
        }
    };
    let cites = (collected.scanned.as_mut_slice(), &mut collected.strikes);
    let Some(plan) = narrow(plan, cites, strikes.as_ref(), settings, args, ctx, &action)? else {
        return Ok(Outcome::Clean);
    };
    if let Some(refused) = breaker_refusal(&collected, &plan, settings, args, ctx)? {
        return Ok(refused);
    }
    let verb = if args.purge { "delete" } else { "quarantine" };
    if let Some(done) = plan_only(
        &collected,
        &plan,
        settings,
        args,
        ctx,
        (verb, ""),
        &mut None,
    )? {
        return Ok(done);
    }
    crate::interrupt::install();
    crate::interrupt::checkpoint("scanned");
    let quarantine = args.quarantine.as_ref().map(|q| ctx.cwd.join(q));
    let done = prune::dir::execute(
        dir,
        &collected,
        plan,
        &settings.statuses,
        quarantine.as_deref(),
        args.purge,
    )?;
    finish(done, settings, args, ctx, None)
}
