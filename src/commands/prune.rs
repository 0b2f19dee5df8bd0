//! `git credman prune`: scan, select the chosen statuses, and remove those files as ONE commit
//! (signed like git would sign it, with the report in its message), or move them to a quarantine
//! in directory mode. Nothing working is ever lost:
//! - only files whose blob is exactly the one scanned are removed; a branch that moved makes the
//!   ref update fail (compare-and-swap) and nothing changes;
//! - files with uncommitted changes (working tree or index) are skipped, never deleted;
//! - transient, unknown and alive statuses are refused unless `--force`;
//! - the mass-failure breaker refuses (exit 3) to remove too much of one provider's pool.

use std::collections::{BTreeMap, HashSet};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use anyhow::{Context as _, bail};

use super::Ctx;
use super::scan::{Collected, collect, config_of};
use crate::cli::{GlobalArgs, PruneArgs};
use crate::exit::Outcome;
use crate::git::{ObjectId, Repo};
use crate::message;
use crate::push::{self, Pushed};
use crate::report::{self, Format, PruneInfo, Report, Skipped, Summary};
use crate::settings::{self, MaxDelete, PruneSettings};
use crate::sign::{self, Signer};
use crate::source::SourceSpec;
use crate::status::{Class, Status, StatusSet};

/// How many times a rejected push is rebuilt and retried.
const PUSH_RETRIES: usize = 3;

/// Refuses statuses that are not evidence of death, unless forced.
fn guard_statuses(statuses: &StatusSet, force: bool) -> anyhow::Result<()> {
    let risky: Vec<&str> = statuses
        .iter()
        .filter(|s| matches!(s.class(), Class::Transient | Class::Alive) || *s == Status::Unknown)
        .map(Status::as_str)
        .collect();
    if !risky.is_empty() && !force {
        bail!(
            "refusing to remove files whose status is {}: that is not evidence that a credential is dead \
             (pass --force to remove them anyway)",
            risky.join(", ")
        );
    }
    if statuses.is_empty() {
        bail!("--status is empty: nothing would ever be removed");
    }
    Ok(())
}

/// Returns why the breaker trips, if it does.
fn breaker(collected: &Collected, selected: &[usize], max: MaxDelete) -> Option<String> {
    match max {
        MaxDelete::Count(n) => (selected.len() > n).then(|| {
            format!(
                "{} files selected for removal, more than --max-delete {n}",
                selected.len()
            )
        }),
        MaxDelete::Percent(p) => {
            let mut totals: BTreeMap<&str, (usize, usize)> = BTreeMap::new();
            for s in &collected.scanned {
                totals.entry(s.finding.provider.as_str()).or_default().0 += 1;
            }
            for &i in selected {
                totals
                    .entry(collected.scanned[i].finding.provider.as_str())
                    .or_default()
                    .1 += 1;
            }
            #[allow(clippy::cast_precision_loss)]
            totals.iter().find(|(_, (total, sel))| *total >= 20 && *sel as f64 > *total as f64 * p / 100.0).map(
                |(provider, (total, sel))| {
                    format!(
                        "{sel} of {total} {provider} credentials selected for removal, more than {p}% \
                         (an outage or a banned egress IP looks like this; check, then use --force or --max-delete)"
                    )
                },
            )
        }
    }
}

/// Reports and returns the breaker's refusal when it trips (and `--force` is not given).
fn breaker_refusal(
    collected: &Collected,
    sel: &Selection,
    settings: &PruneSettings,
    args: &PruneArgs,
    ctx: &mut Ctx<'_>,
) -> anyhow::Result<Option<Outcome>> {
    let Some(why) = breaker(collected, &sel.chosen, settings.max_delete).filter(|_| !args.force)
    else {
        return Ok(None);
    };
    let report = prune_report(
        collected,
        &sel.chosen,
        sel.skipped.clone(),
        &settings.statuses,
        true,
    );
    let headline = format!("Refused by the mass-failure breaker: {why}. Nothing was changed.");
    emit(&report, settings, &headline, args, ctx)?;
    Ok(Some(Outcome::Breaker))
}

/// Reports the plan and returns `Clean` when nothing is selected, or with `--dry-run`.
fn plan_only(
    collected: &Collected,
    sel: &Selection,
    settings: &PruneSettings,
    args: &PruneArgs,
    ctx: &mut Ctx<'_>,
    verb: &str,
    place: &str,
) -> anyhow::Result<Option<Outcome>> {
    if !sel.chosen.is_empty() && !args.dry_run {
        return Ok(None);
    }
    let n = sel.chosen.len();
    let report = prune_report(
        collected,
        &sel.chosen,
        sel.skipped.clone(),
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
    emit(&report, settings, &headline, args, ctx)?;
    Ok(Some(Outcome::Clean))
}

/// Runs `prune`.
pub fn run(args: &PruneArgs, global: &GlobalArgs, ctx: &mut Ctx<'_>) -> anyhow::Result<Outcome> {
    if args.dir.is_some()
        && (args.branch.is_some() || args.push.is_some() || args.sign || args.signing_key.is_some())
    {
        bail!(
            "--dir prunes a plain folder: --branch, --push and signing apply to repositories only"
        );
    }
    let needs_repo = args.dir.is_none() && args.server.server.is_none();
    let (checkout, repo) = super::scan::repository(&args.remote, needs_repo, ctx)?;
    let config = config_of(repo.as_ref());
    let settings = settings::prune(
        args,
        global,
        &ctx.env,
        &config,
        (ctx.stdout_is_tty, ctx.stderr_is_tty),
    )?;
    guard_statuses(&settings.statuses, args.force)?;
    if let Some(server) = super::server::connect(&args.server, &ctx.env, &config, &ctx.cwd)? {
        return run_server(args, &settings, ctx, &server);
    }
    match (&args.dir, repo) {
        (Some(dir), _) => run_dir(args, &settings, ctx, &ctx.cwd.join(dir)),
        (None, Some(repo)) => run_repo(args, &settings, ctx, &repo, checkout.as_ref()),
        (None, None) => bail!("invariant: no repository"),
    }
}

/// The selection: indices into `collected.scanned`, plus what was skipped and why.
struct Selection {
    chosen: Vec<usize>,
    skipped: Vec<Skipped>,
}

/// Selects the files whose status is in `statuses`; `keep` names a reason to leave one alone.
fn select(
    collected: &Collected,
    statuses: &StatusSet,
    mut keep: impl FnMut(&crate::scan::Scanned) -> Option<String>,
) -> Selection {
    let mut sel = Selection {
        chosen: Vec::new(),
        skipped: Vec::new(),
    };
    for (i, s) in collected.scanned.iter().enumerate() {
        if !statuses.contains(s.finding.status) {
            continue;
        }
        match keep(s) {
            Some(reason) => sel.skipped.push(Skipped {
                path: s.finding.path.clone(),
                reason,
            }),
            None => sel.chosen.push(i),
        }
    }
    sel
}

/// Builds the report of a prune: the removed files as results, the whole scan as summary.
fn prune_report(
    collected: &Collected,
    chosen: &[usize],
    skipped: Vec<Skipped>,
    statuses: &StatusSet,
    dry_run: bool,
) -> Report {
    let results = chosen
        .iter()
        .map(|&i| collected.scanned[i].finding.clone())
        .collect();
    let mut report = Report::new(
        collected.mode,
        collected.listing.info.clone(),
        statuses.iter().collect(),
        results,
        collected.now,
    );
    report.summary = Summary::of(collected.scanned.iter().map(|s| &s.finding));
    report.prune = Some(PruneInfo {
        statuses: statuses.iter().collect(),
        removed: if dry_run { 0 } else { chosen.len() },
        skipped,
        dry_run,
        ..PruneInfo::default()
    });
    report
}

fn json_of(report: &Report) -> anyhow::Result<String> {
    let mut buf = Vec::new();
    report::json::render_portable(report, &mut buf)?;
    Ok(String::from_utf8(buf)?)
}

fn emit(
    report: &Report,
    settings: &PruneSettings,
    headline: &str,
    args: &PruneArgs,
    ctx: &mut Ctx<'_>,
) -> anyhow::Result<()> {
    if let Some(path) = &args.report {
        let path = ctx.cwd.join(path);
        report::json::write_file(report, &path)
            .with_context(|| format!("cannot write the report to {}", path.display()))?;
    }
    match settings.format {
        Format::Text => report::human::render_prune(report, headline, settings.color, ctx.out)?,
        other => report::render(report, other, settings.color, ctx.out)?,
    }
    append_step_summary(report, ctx);
    Ok(())
}

/// Appends the Markdown summary to `$GITHUB_STEP_SUMMARY` when running in GitHub Actions.
pub(crate) fn append_step_summary(report: &Report, ctx: &Ctx<'_>) {
    let Some(path) = ctx.env.get("GITHUB_STEP_SUMMARY") else {
        return;
    };
    let appended = std::fs::OpenOptions::new()
        .append(true)
        .create(true)
        .open(path)
        .and_then(|mut f| {
            std::io::Write::write_all(&mut f, report::ci::markdown(report).as_bytes())
        });
    if let Err(e) = appended {
        tracing::warn!("cannot append to GITHUB_STEP_SUMMARY: {e}");
    }
}

fn run_repo(
    args: &PruneArgs,
    settings: &PruneSettings,
    ctx: &mut Ctx<'_>,
    repo: &Arc<Repo>,
    remote: Option<&super::remote::Checkout>,
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
    if collected.listing.info.commit.as_deref() != Some(head.commit.to_string().as_str()) {
        bail!(
            "{} moved while it was being scanned; nothing was changed (run it again)",
            head.name
        );
    }
    // Taking index.lock first is how git orders it: a concurrent git fails instead of racing.
    // A bare repository has no index and no working tree to keep consistent.
    let has_worktree = repo.workdir().is_some();
    let mut index = if on_branch && has_worktree && !args.dry_run {
        Some(repo.lock_index()?)
    } else {
        None
    };
    let index_view = if on_branch && has_worktree && args.dry_run {
        Some(repo.lock_free_index_ids()?)
    } else {
        None
    };
    let sel = select(&collected, &settings.statuses, |s| {
        if let Some(why) = not_a_file(s) {
            return Some(why);
        }
        if !on_branch || !has_worktree {
            return None;
        }
        if let Some(state) = s.finding.worktree {
            return Some(format!("{state} in the working tree (uncommitted change)"));
        }
        let staged = match (&index, &index_view) {
            (Some(ix), _) => ix.id_of(&s.finding.path),
            (None, Some(view)) => view.get(&s.finding.path).copied(),
            (None, None) => s.content_id,
        };
        (staged != s.content_id)
            .then(|| "staged change in the index (uncommitted change)".to_owned())
    });
    if let Some(refused) = breaker_refusal(&collected, &sel, settings, args, ctx)? {
        return Ok(refused);
    }
    if let Some(done) = plan_only(
        &collected,
        &sel,
        settings,
        args,
        ctx,
        "remove",
        " in one commit",
    )? {
        return Ok(done);
    }

    let t0 = std::time::Instant::now();
    let signer = Signer::resolve(
        repo,
        sign_mode(args.sign, args.no_sign),
        args.signing_key.as_deref(),
        settings.passphrase.as_ref(),
    )?;
    let removals: Vec<(String, ObjectId)> = sel
        .chosen
        .iter()
        .filter_map(|&i| {
            Some((
                collected.scanned[i].finding.path.clone(),
                collected.scanned[i].content_id?,
            ))
        })
        .collect();
    let mut report = prune_report(
        &collected,
        &sel.chosen,
        sel.skipped,
        &settings.statuses,
        false,
    );
    tracing::debug!(ms = t0.elapsed().as_millis(), "prune: report built");
    let (commit_id, applied, subject) = build_commit(
        repo,
        &signer,
        head.tree,
        head.commit,
        &removals,
        &mut report,
    )?;

    tracing::debug!(ms = t0.elapsed().as_millis(), "prune: commit written");
    let branch_name = match &args.branch {
        None => {
            repo.move_ref("HEAD", head.commit, commit_id, &subject)?;
            tracing::debug!(ms = t0.elapsed().as_millis(), "prune: ref moved");
            if let Some(mut ix) = index.take() {
                let paths: HashSet<String> = applied.iter().cloned().collect();
                ix.remove(&paths);
                tracing::debug!(
                    ms = t0.elapsed().as_millis(),
                    "prune: index entries removed"
                );
                ix.commit()?;
            }
            tracing::debug!(
                ms = t0.elapsed().as_millis(),
                "prune: ref and index updated"
            );
            if let Some(workdir) = repo.workdir() {
                remove_from_worktree(&workdir, &applied);
            }
            tracing::debug!(ms = t0.elapsed().as_millis(), "prune: working tree updated");
            head.short.clone()
        }
        Some(name) => {
            repo.create_ref(
                &format!("refs/heads/{name}"),
                commit_id,
                &format!("branch: {subject}"),
            )?;
            name.clone()
        }
    };
    let mut headline = format!(
        "Removed {} file(s) in commit {} on {branch_name} ({}).",
        applied.len(),
        &commit_id.to_string()[..12],
        signer.describe()
    );
    let mut final_commit = commit_id;
    if let Some(remote_arg) = &args.push {
        let workdir = repo.workdir().unwrap_or_else(|| repo.git_dir());
        let (remote, dst) = upstream(&config_of(Some(repo)), &branch_name, remote_arg);
        let target = PushTarget {
            workdir,
            remote: remote.clone(),
            dst: dst.clone(),
            env: push_env,
        };
        let pushed = push_with_retry(repo, &target, commit_id, &removals, &signer, &mut report);
        let outcome = match pushed {
            Ok(outcome) => outcome,
            Err(err) => {
                // The local commit exists: say so, with the report, before failing.
                if let Some(p) = report.prune.as_mut() {
                    p.commit = Some(commit_id.to_string());
                    p.branch = Some(branch_name.clone());
                    p.push = Some(format!("failed: {err:#}"));
                }
                headline.push_str(" Pushing it failed; the local commit is kept.");
                emit(&report, settings, &headline, args, ctx)?;
                return Err(err.context(format!(
                    "the local commit {} on {branch_name} was made and is kept, but pushing it failed",
                    &commit_id.to_string()[..12]
                )));
            }
        };
        headline.push_str(&format!(" {outcome}"));
        if let Some(p) = report.prune.as_mut() {
            p.push = Some(outcome.clone());
        }
        if let Some(id) = outcome
            .split("rebuilt as ")
            .nth(1)
            .and_then(|s| s.get(..40))
        {
            final_commit = ObjectId::from_hex(id.as_bytes()).unwrap_or(commit_id);
        }
    }
    if let Some(p) = report.prune.as_mut() {
        p.commit = Some(final_commit.to_string());
        p.branch = Some(branch_name);
    }
    emit(&report, settings, &headline, args, ctx)?;
    Ok(Outcome::Clean)
}

fn sign_mode(sign: bool, no_sign: bool) -> sign::Mode {
    match (sign, no_sign) {
        (true, _) => sign::Mode::Force,
        (_, true) => sign::Mode::Never,
        _ => sign::Mode::Config,
    }
}

/// Writes the commit removing `removals` from `tree` on top of `parent`; returns its id and
/// the paths really removed (a path whose blob differs is dropped and reported as skipped).
fn build_commit(
    repo: &Repo,
    signer: &Signer,
    tree: ObjectId,
    parent: ObjectId,
    removals: &[(String, ObjectId)],
    report: &mut Report,
) -> anyhow::Result<(ObjectId, Vec<String>, String)> {
    let t0 = std::time::Instant::now();
    let edit = repo.tree_without(tree, removals)?;
    tracing::debug!(ms = t0.elapsed().as_millis(), "prune: tree written");
    if !edit.skipped.is_empty() {
        let dropped: HashSet<&str> = edit.skipped.iter().map(|(p, _)| p.as_str()).collect();
        report
            .results
            .retain(|f| !dropped.contains(f.path.as_str()));
        if let Some(p) = report.prune.as_mut() {
            p.skipped
                .extend(edit.skipped.iter().map(|(path, reason)| Skipped {
                    path: path.clone(),
                    reason: reason.clone(),
                }));
        }
    }
    let new_tree = edit
        .tree
        .context("none of the selected files is still there; nothing to commit")?;
    if let Some(p) = report.prune.as_mut() {
        p.removed = edit.applied.len();
    }
    let json = json_of(report)?;
    let msg = message::prune(report, &json, "remove");
    tracing::debug!(
        ms = t0.elapsed().as_millis(),
        bytes = msg.len(),
        "prune: message rendered"
    );
    let commit = repo.new_commit(new_tree, &[parent], &msg)?;
    // Signing happens before anything is visible: a failure leaves at most unreferenced objects.
    let commit = signer.sign(commit, repo.object_hash())?;
    let subject = msg.lines().next().unwrap_or("credman: remove").to_owned();
    Ok((repo.write_commit(&commit)?, edit.applied, subject))
}

/// Deletes the files from the working tree and removes directories that became empty.
fn remove_from_worktree(workdir: &Path, paths: &[String]) {
    let mut dirs = std::collections::BTreeSet::new();
    for p in paths {
        let full = workdir.join(p);
        if let Err(e) = std::fs::remove_file(&full)
            && e.kind() != std::io::ErrorKind::NotFound
        {
            tracing::warn!(path = %p, "cannot delete the working-tree file: {e}");
        }
        let mut dir = Path::new(p).parent();
        while let Some(d) = dir.filter(|d| !d.as_os_str().is_empty()) {
            dirs.insert(d.to_path_buf());
            dir = d.parent();
        }
    }
    // Deepest first, once per directory; a directory that is not empty simply stays.
    for d in dirs.iter().rev() {
        let _ = std::fs::remove_dir(workdir.join(d));
    }
}

/// Returns (remote, destination ref) for a push: the branch's upstream when configured.
fn upstream(config: &settings::GitConfig, branch: &str, remote_arg: &str) -> (String, String) {
    let up_remote = config.string(&format!("branch.{branch}.remote"));
    let up_merge = config.string(&format!("branch.{branch}.merge"));
    let remote = if remote_arg.is_empty() {
        up_remote.clone().unwrap_or_else(|| "origin".into())
    } else {
        remote_arg.to_owned()
    };
    let dst = match (up_remote, up_merge) {
        (Some(r), Some(m)) if r == remote => m,
        _ => format!("refs/heads/{branch}"),
    };
    (remote, dst)
}

/// Pushes; on a non-fast-forward rejection fetches, rebuilds the deletion on the new tip
/// (dropping files that changed there), signs again and retries. Never forces.
#[allow(clippy::too_many_arguments)]
/// Where a push goes, and the environment its git processes need.
struct PushTarget<'a> {
    workdir: PathBuf,
    remote: String,
    dst: String,
    env: &'a [(String, String)],
}

fn push_with_retry(
    repo: &Repo,
    target: &PushTarget<'_>,
    first: ObjectId,
    removals: &[(String, ObjectId)],
    signer: &Signer,
    report: &mut Report,
) -> anyhow::Result<String> {
    let (workdir, remote, dst) = (
        target.workdir.as_path(),
        target.remote.as_str(),
        target.dst.as_str(),
    );
    let mut commit = first;
    for attempt in 0..=PUSH_RETRIES {
        match push::push(workdir, remote, commit, dst, target.env)? {
            Pushed::Accepted if commit == first => return Ok(format!("Pushed to {remote} {dst}.")),
            Pushed::Accepted => {
                return Ok(format!(
                    "Pushed to {remote} {dst}, rebuilt as {commit} on the remote's new tip; your local commit {} \
                     is not on the remote (git pull will reconcile both).",
                    &first.to_string()[..12]
                ));
            }
            Pushed::Rejected(why) if attempt < PUSH_RETRIES => {
                tracing::warn!(
                    attempt = attempt + 1,
                    "push rejected ({why}); rebuilding on the remote's tip"
                );
                let tip = push::fetch(workdir, remote, dst, target.env)?;
                let tip_tree = repo.commit_info(&tip.to_string())?.tree;
                let (rebuilt, applied, _) =
                    build_commit(repo, signer, tip_tree, tip, removals, report)
                        .context("nothing left to remove on the remote's new tip")?;
                tracing::info!(files = applied.len(), "rebuilt the deletion");
                commit = rebuilt;
            }
            Pushed::Rejected(why) => {
                bail!(
                    "the push was rejected {} times ({why}); the local commit {} is intact, push it yourself \
                     or run prune again",
                    PUSH_RETRIES + 1,
                    &first.to_string()[..12]
                );
            }
        }
    }
    bail!("invariant: push loop ended")
}

/// Server mode: disable (default) or back up and delete the selected files on the server.
fn run_server(
    args: &PruneArgs,
    settings: &PruneSettings,
    ctx: &mut Ctx<'_>,
    server: &crate::management::Server,
) -> anyhow::Result<Outcome> {
    if !args.enable.is_empty() {
        super::server::enable(server, &args.enable, ctx)?;
        return Ok(Outcome::Clean);
    }
    let explicit = args.select.online.concurrency.is_some();
    let (collected, entries) =
        super::server::collect_entries(server, &settings.select, args.server.download, explicit)?;
    // Runtime-only, file-less and odd entries are never touched, sub-folder files never deleted;
    // when disabling, files already disabled on the server are left alone.
    let sel = select(&collected, &settings.statuses, |s| {
        let Some(e) = entries.get(s.candidate) else {
            return Some("not in the server's listing".to_owned());
        };
        super::server::keep_reason(e, args.delete)
            .or_else(|| (s.finding.disabled && !args.delete).then(|| "already disabled".to_owned()))
    });
    if let Some(refused) = breaker_refusal(&collected, &sel, settings, args, ctx)? {
        return Ok(refused);
    }
    let verb = if args.delete { "delete" } else { "disable" };
    let on = format!(" on {}", server.url());
    if let Some(done) = plan_only(&collected, &sel, settings, args, ctx, verb, &on)? {
        return Ok(done);
    }
    let mut report = prune_report(
        &collected,
        &sel.chosen,
        sel.skipped,
        &settings.statuses,
        false,
    );
    let targets: Vec<super::server::Target<'_>> = sel
        .chosen
        .iter()
        .filter_map(|&i| entries.get(collected.scanned[i].candidate))
        .map(|e| super::server::Target {
            name: &e.name,
            auth_index: e.auth_index.as_deref(),
        })
        .collect();
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
    let json = json_of(&report)?;
    let applied = super::server::apply(server, &targets, backup.as_deref(), &json)?;
    let done: HashSet<&str> = applied.done.iter().map(String::as_str).collect();
    report.results.retain(|f| done.contains(f.path.as_str()));
    if let Some(p) = report.prune.as_mut() {
        p.removed = applied.done.len();
        p.skipped
            .extend(applied.failed.iter().map(|(path, reason)| Skipped {
                path: path.clone(),
                reason: reason.clone(),
            }));
        p.quarantine = applied.backup.as_ref().map(|b| b.display().to_string());
    }
    let headline = match &applied.backup {
        Some(b) => format!(
            "Deleted {} file(s) on {} (backups in {}).",
            applied.done.len(),
            server.url(),
            b.display()
        ),
        None => format!(
            "Disabled {} file(s) on {} (undo with `git credman prune --server {} --enable NAME…`).",
            applied.done.len(),
            server.url(),
            server.url()
        ),
    };
    emit(&report, settings, &headline, args, ctx)?;
    if !applied.failed.is_empty() {
        // Per-file failures are recorded in the report; the dead files they leave behind are
        // findings (exit 1), not a failed run.
        tracing::warn!(
            "{} file(s) could not be {verb}d; see the report's skipped list",
            applied.failed.len()
        );
        return Ok(Outcome::Findings);
    }
    Ok(Outcome::Clean)
}

/// Files prune can remove have a content id (a blob, or a hashed directory file); symlinks and
/// unreadable files do not.
fn not_a_file(s: &crate::scan::Scanned) -> Option<String> {
    s.content_id
        .is_none()
        .then(|| "not a regular file".to_owned())
}

/// Directory mode: move the selected files to a quarantine outside the auth dir (or delete
/// them with --purge). A file that changed since it was scanned is skipped.
fn run_dir(
    args: &PruneArgs,
    settings: &PruneSettings,
    ctx: &mut Ctx<'_>,
    dir: &Path,
) -> anyhow::Result<Outcome> {
    let collected = collect(
        &SourceSpec::Dir(dir.to_owned()),
        None,
        &args.select.pathspecs,
        &settings.select,
        &ctx.cwd,
        true,
    )?;
    let sel = select(&collected, &settings.statuses, not_a_file);
    if let Some(refused) = breaker_refusal(&collected, &sel, settings, args, ctx)? {
        return Ok(refused);
    }
    let verb = if args.purge { "delete" } else { "quarantine" };
    if let Some(done) = plan_only(&collected, &sel, settings, args, ctx, verb, "")? {
        return Ok(done);
    }
    let root =
        std::fs::canonicalize(dir).with_context(|| format!("cannot read {}", dir.display()))?;
    let stamp = collected.now.format("%Y%m%dT%H%M%SZ").to_string();
    let target = if args.purge {
        None
    } else {
        let q = match &args.quarantine {
            Some(q) => ctx.cwd.join(q),
            None => {
                let name = root
                    .file_name()
                    .map(|n| n.to_string_lossy().into_owned())
                    .unwrap_or_else(|| "auths".into());
                root.with_file_name(format!("{name}.credman-quarantine"))
                    .join(&stamp)
            }
        };
        // CPA loads sub-folders of its auth dir at startup: a quarantine inside it is no
        // quarantine. Checked before anything is created.
        if resolve_existing_prefix(&q).starts_with(&root) {
            bail!(
                "the quarantine {} is inside the auth dir {}; CPA would still load it",
                q.display(),
                root.display()
            );
        }
        create_private_dir(&q)?;
        let q = std::fs::canonicalize(&q)?;
        Some(q)
    };
    let mut report = prune_report(
        &collected,
        &sel.chosen,
        sel.skipped,
        &settings.statuses,
        false,
    );
    let mut moved = HashSet::new();
    for &i in &sel.chosen {
        let s = &collected.scanned[i];
        let src = root.join(&s.finding.path);
        // Compare-and-swap: the file must still hold what was scanned (CPA may have refreshed it).
        let now = std::fs::read(&src)
            .ok()
            .and_then(|b| crate::git::hash_blob(&b));
        if now != s.content_id {
            if let Some(p) = report.prune.as_mut() {
                p.skipped.push(Skipped {
                    path: s.finding.path.clone(),
                    reason: "changed since it was scanned".into(),
                });
            }
            continue;
        }
        match &target {
            None => std::fs::remove_file(&src)
                .with_context(|| format!("cannot delete {}", src.display()))?,
            Some(q) => move_file(&src, &q.join(&s.finding.path))?,
        }
        moved.insert(s.finding.path.clone());
    }
    report.results.retain(|f| moved.contains(&f.path));
    if let Some(p) = report.prune.as_mut() {
        p.removed = moved.len();
        p.quarantine = Some(
            target
                .as_ref()
                .map_or_else(|| "purged".to_owned(), |q| q.display().to_string()),
        );
    }
    if let Some(q) = &target {
        report::json::write_file(&report, &q.join("credman-report.json"))?;
    }
    let headline = match &target {
        Some(q) => format!(
            "Moved {} file(s) to {} (report: credman-report.json there).",
            moved.len(),
            q.display()
        ),
        None => format!("Deleted {} file(s) for good (--purge).", moved.len()),
    };
    emit(&report, settings, &headline, args, ctx)?;
    Ok(Outcome::Clean)
}

/// Resolves symlinks and `..` in the longest existing prefix of `path` and appends the rest, so
/// a directory that does not exist yet can be compared with canonical paths.
fn resolve_existing_prefix(path: &Path) -> PathBuf {
    let mut existing = path.to_path_buf();
    let mut rest = Vec::new();
    while !existing.exists() {
        match (
            existing.file_name().map(std::ffi::OsStr::to_os_string),
            existing.parent(),
        ) {
            (Some(name), Some(parent)) => {
                rest.push(name);
                existing = parent.to_path_buf();
            }
            _ => break,
        }
    }
    let mut out = std::fs::canonicalize(&existing).unwrap_or(existing);
    for part in rest.into_iter().rev() {
        if part == ".." {
            out.pop();
        } else if part != "." {
            out.push(part);
        }
    }
    out
}

pub(crate) fn create_private_dir(dir: &Path) -> anyhow::Result<()> {
    let mut b = std::fs::DirBuilder::new();
    b.recursive(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::DirBuilderExt as _;
        b.mode(0o700);
    }
    b.create(dir)
        .with_context(|| format!("cannot create {}", dir.display()))
}

/// Moves a file without ever leaving half of it: a rename when possible; across file systems a
/// copy to a temporary name, fsync, rename into place, then removal of the source.
fn move_file(src: &Path, dst: &Path) -> anyhow::Result<()> {
    if let Some(parent) = dst.parent() {
        create_private_dir(parent)?;
    }
    if dst.exists() {
        bail!("{} already exists; not overwriting it", dst.display());
    }
    if std::fs::rename(src, dst).is_ok() {
        return Ok(());
    }
    let tmp: PathBuf = dst.with_extension("credman-partial");
    let copy = (|| -> std::io::Result<()> {
        std::fs::copy(src, &tmp)?;
        std::fs::File::open(&tmp)?.sync_all()?;
        std::fs::rename(&tmp, dst)
    })();
    if let Err(e) = copy {
        let _ = std::fs::remove_file(&tmp);
        return Err(anyhow::Error::from(e).context(format!(
            "cannot move {} to {}",
            src.display(),
            dst.display()
        )));
    }
    std::fs::remove_file(src)
        .with_context(|| format!("moved {} but cannot remove the original", src.display()))
}
