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

use super::{Ctx, config_of, repository};
use crate::cli::{GlobalArgs, PruneArgs};
use crate::exit::Outcome;
use crate::git::cli::Pushed;
use crate::git::{ObjectId, Repo};
use crate::message;
use crate::prune::repo::{PENDING, UNSAFE_PARENT, remove_from_worktree, write_marker};
use crate::report::{self, Format, PruneInfo, Report, Skipped, Summary};
use crate::scan::{Collected, collect};
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
    crate::interrupt::configure_test_pause(&ctx.env);
    if args.dir.is_some()
        && (args.branch.is_some() || args.push.is_some() || args.sign || args.signing_key.is_some())
    {
        bail!(
            "--dir prunes a plain folder: --branch, --push and signing apply to repositories only"
        );
    }
    let needs_repo = args.dir.is_none() && args.server.server.is_none();
    let (checkout, repo) = repository(&args.remote, needs_repo, ctx)?;
    let config = config_of(repo.as_ref());
    let settings = settings::prune(
        args,
        global,
        &ctx.env,
        &config,
        (ctx.stdout_is_tty, ctx.stderr_is_tty),
    )?;
    guard_statuses(&settings.statuses, args.force)?;
    if let Some(server) = crate::source::server::connect(&args.server, &ctx.env, &config, &ctx.cwd)?
    {
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
    report::ci::append_step_summary(report, ctx.env.get("GITHUB_STEP_SUMMARY"));
    Ok(())
}

fn run_repo(
    args: &PruneArgs,
    settings: &PruneSettings,
    ctx: &mut Ctx<'_>,
    repo: &Arc<Repo>,
    remote: Option<&crate::source::remote::Checkout>,
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
    let sel = select(&collected, &settings.statuses, |s| {
        if let Some(why) = not_a_file(s) {
            return Some(why);
        }
        if !on_branch || !has_worktree {
            return None;
        }
        let raw = raw_path(&collected, s);
        if let Some(wd) = &workdir
            && crate::fs::has_unsafe_parent(wd, raw)
        {
            return Some(UNSAFE_PARENT.to_owned());
        }
        if let Some(state) = s.finding.worktree {
            return Some(format!("{state} in the working tree (uncommitted change)"));
        }
        let staged = index_view
            .as_ref()
            .map_or(s.content_id, |view| view.get(raw).copied());
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
    // A push target that does not exist would fail only after the commit: check it first.
    if let Some(remote_arg) = &args.push {
        let branch = args.branch.clone().unwrap_or_else(|| head.short.clone());
        let (remote, _) = upstream(&config_of(Some(repo)), &branch, remote_arg);
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

    let t0 = std::time::Instant::now();
    let signer = Signer::resolve(
        repo,
        sign_mode(args.sign, args.no_sign),
        args.signing_key.as_deref(),
        settings.passphrase.as_ref(),
    )?;
    let mut removals: Vec<Removal> = sel
        .chosen
        .iter()
        .filter_map(|&i| {
            let s = &collected.scanned[i];
            Some(Removal {
                raw: raw_path(&collected, s).to_vec(),
                id: s.content_id?,
                scanned: i,
            })
        })
        .collect();
    let mut plan = Plan {
        collected: &collected,
        statuses: &settings.statuses,
        skipped: sel.skipped,
    };
    let mut built = build_commit(repo, &signer, head.tree, head.commit, &removals, &plan)?;
    tracing::debug!(ms = t0.elapsed().as_millis(), "prune: commit written");
    crate::interrupt::checkpoint("signed");
    let branch_name = match &args.branch {
        None => {
            let (index, unclaim) = if has_worktree {
                let _section = crate::interrupt::critical();
                let ix = repo.lock_index()?;
                // Names the lock at once: if this run is killed while holding it, the next start
                // recognises the lock as stale and removes it.
                let unclaim = Unclaim::new(repo.git_dir().join(PENDING));
                write_marker(repo, &ix.lock_path(), None)?;
                (Some(ix), unclaim)
            } else {
                (None, Unclaim(None))
            };
            // Read under the lock: the index it compares with cannot change any more.
            let checker = match &index {
                Some(_) => repo.worktree_checker()?,
                None => None,
            };
            if let (Some(ix), Some(wd)) = (&index, &workdir) {
                // Under the lock nothing else changes the index; the working tree may have
                // changed since the scan (CPA refreshing a token, a re-login): drop those files.
                let mut changed = Vec::new();
                removals.retain(|r| {
                    let why = if crate::fs::has_unsafe_parent(wd, &r.raw) {
                        Some(UNSAFE_PARENT)
                    } else if ix.id_of(&r.raw) != Some(r.id) {
                        Some("staged change in the index (uncommitted change)")
                    } else if checker
                        .as_ref()
                        .is_some_and(|c| c.state_raw(&r.raw, r.id).is_some())
                    {
                        Some("changed in the working tree since it was scanned")
                    } else {
                        None
                    };
                    if let Some(why) = why {
                        changed.push(Skipped {
                            path: collected.scanned[r.scanned].finding.path.clone(),
                            reason: why.to_owned(),
                        });
                    }
                    why.is_none()
                });
                if !changed.is_empty() && removals.is_empty() {
                    plan.skipped.extend(changed);
                    let report =
                        prune_report(&collected, &[], plan.skipped, &settings.statuses, false);
                    let headline = "Nothing removed: every selected file changed since it was \
                                    scanned. Nothing was changed.";
                    emit(&report, settings, headline, args, ctx)?;
                    return Ok(Outcome::Clean);
                }
                if !changed.is_empty() {
                    // Rare: sign again, still under the lock.
                    plan.skipped.extend(changed);
                    built = build_commit(repo, &signer, head.tree, head.commit, &removals, &plan)?;
                }
            }
            crate::interrupt::checkpoint("index-locked");
            let kept = apply_on_branch(
                repo,
                &head,
                (&built, &removals),
                index,
                checker.as_ref(),
                unclaim,
            )?;
            if let Some(p) = built.report.prune.as_mut() {
                p.skipped.extend(kept);
            }
            tracing::debug!(ms = t0.elapsed().as_millis(), "prune: working tree updated");
            head.short.clone()
        }
        Some(name) => {
            let _section = crate::interrupt::critical();
            repo.create_ref(
                &format!("refs/heads/{name}"),
                built.commit,
                &format!("branch: {}", built.subject),
            )?;
            name.clone()
        }
    };
    let commit_id = built.commit;
    let applied_count = built.applied.len();
    let mut report = built.report;
    let mut headline = format!(
        "Removed {} file(s) in commit {} on {branch_name} ({}).",
        applied_count,
        crate::git::short_id(&commit_id),
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
        let pushed = push_with_retry(
            repo,
            &target,
            commit_id,
            (&removals, &plan),
            &signer,
            &mut report,
        );
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
                    crate::git::short_id(&commit_id)
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

/// One file to remove: its path as git stores it, the blob scanned, and its scan entry.
struct Removal {
    raw: Vec<u8>,
    id: ObjectId,
    scanned: usize,
}

/// What every rebuild of the commit needs besides the removals.
struct Plan<'a> {
    collected: &'a Collected,
    statuses: &'a StatusSet,
    /// Selected files kept so far, with why.
    skipped: Vec<Skipped>,
}

/// A written (and signed) prune commit, with its report.
struct Built {
    commit: ObjectId,
    /// The removals applied (indices into the removals given).
    applied: Vec<usize>,
    subject: String,
    report: Report,
}

/// Returns the path of a scanned file as bytes (what git stores).
fn raw_path<'c>(collected: &'c Collected, s: &'c crate::scan::Scanned) -> &'c [u8] {
    collected
        .listing
        .candidates
        .get(s.candidate)
        .map_or(s.finding.path.as_bytes(), |c| c.raw.as_slice())
}

/// Writes the commit removing `removals` from `tree` on top of `parent`, with its report; a
/// path whose blob differs is dropped and reported as skipped. Nothing is visible yet.
fn build_commit(
    repo: &Repo,
    signer: &Signer,
    tree: ObjectId,
    parent: ObjectId,
    removals: &[Removal],
    plan: &Plan<'_>,
) -> anyhow::Result<Built> {
    let t0 = std::time::Instant::now();
    let pairs: Vec<(Vec<u8>, ObjectId)> = removals.iter().map(|r| (r.raw.clone(), r.id)).collect();
    let edit = repo.tree_without(tree, &pairs)?;
    tracing::debug!(ms = t0.elapsed().as_millis(), "prune: tree written");
    let mut skipped = plan.skipped.clone();
    skipped.extend(edit.skipped.iter().map(|&(i, reason)| {
        Skipped {
            path: plan.collected.scanned[removals[i].scanned]
                .finding
                .path
                .clone(),
            reason: reason.to_owned(),
        }
    }));
    let chosen: Vec<usize> = edit.applied.iter().map(|&i| removals[i].scanned).collect();
    let report = prune_report(plan.collected, &chosen, skipped, plan.statuses, false);
    let new_tree = edit
        .tree
        .context("none of the selected files is still there; nothing to commit")?;
    let json = json_of(&report)?;
    let msg = message::prune(&report, &json, "remove");
    tracing::debug!(
        ms = t0.elapsed().as_millis(),
        bytes = msg.len(),
        "prune: message rendered"
    );
    // Signing happens before anything is visible: a failure leaves at most unreferenced objects.
    let commit = repo.commit(new_tree, &[parent], &msg, signer)?;
    let subject = msg.lines().next().unwrap_or("credman: remove").to_owned();
    Ok(Built {
        commit,
        applied: edit.applied,
        subject,
        report,
    })
}

/// Removes the marker when dropped: a run that ends (or fails) before its ref moved leaves
/// nothing to finish.
/// An interrupt (outside a critical section) removes it too.
struct Unclaim(Option<std::path::PathBuf>);

impl Unclaim {
    fn new(path: std::path::PathBuf) -> Self {
        crate::interrupt::remove_file_on_interrupt(&path);
        Self(Some(path))
    }

    /// Keeps the marker from now on.
    fn disarm(mut self) {
        if let Some(p) = self.0.take() {
            crate::interrupt::keep_file(&p);
        }
    }
}

impl Drop for Unclaim {
    fn drop(&mut self) {
        if let Some(p) = self.0.take() {
            crate::interrupt::keep_file(&p);
            let _ = std::fs::remove_file(p);
        }
    }
}

/// Makes the commit visible on the current branch and brings the index and working tree along,
/// in the order that keeps the window smallest: the new index is written into index.lock first,
/// then the marker, the ref, the index rename, the files. Signals are held meanwhile (they end
/// the run right after). Returns the files kept in the working tree because they changed.
fn apply_on_branch(
    repo: &Repo,
    head: &crate::git::BranchHead,
    (built, removals): (&Built, &[Removal]),
    index: Option<crate::git::IndexUpdate>,
    checker: Option<&crate::git::WorktreeChecker>,
    unclaim: Unclaim,
) -> anyhow::Result<Vec<Skipped>> {
    let applied: Vec<&Removal> = built.applied.iter().map(|&i| &removals[i]).collect();
    // gix takes a lock file out of its cleanup registry while writing to it: the write is
    // inside the section too, or a signal arriving meanwhile would leave index.lock behind.
    let _section = crate::interrupt::critical();
    let mut index = index;
    let mut checksum = None;
    if let Some(ix) = index.as_mut() {
        let paths: HashSet<Vec<u8>> = applied.iter().map(|r| r.raw.clone()).collect();
        ix.remove(&paths);
        checksum = Some(ix.write()?);
    }
    let marker = repo.git_dir().join(PENDING);
    if let (Some(sum), Some(ix)) = (&checksum, &index) {
        // The index checksum names the index.lock written above: a run killed before renaming
        // it leaves a lock the next start can recognise as this prune's and complete.
        write_marker(
            repo,
            &ix.lock_path(),
            Some((built.commit, head.commit, sum)),
        )?;
    }
    crate::interrupt::checkpoint("marker-written");
    repo.move_ref("HEAD", head.commit, built.commit, &built.subject)?;
    // From here on the marker must survive an error: it lets the next start finish the prune.
    unclaim.disarm();
    crate::interrupt::checkpoint("ref-moved");
    let Some(ix) = index else {
        return Ok(Vec::new());
    };
    ix.commit()?;
    crate::interrupt::checkpoint("index-written");
    let kept = match repo.workdir() {
        Some(workdir) => {
            let files: Vec<(&[u8], ObjectId)> =
                applied.iter().map(|r| (r.raw.as_slice(), r.id)).collect();
            remove_from_worktree(&workdir, &files, checker)
                .into_iter()
                .map(|(i, reason)| {
                    let path = crate::git::display_path(files[i].0);
                    tracing::warn!(
                        path = %path,
                        "kept in the working tree: {reason}"
                    );
                    Skipped {
                        path,
                        reason: format!(
                            "removed from the commit but kept in the working tree: {reason}"
                        ),
                    }
                })
                .collect()
        }
        None => Vec::new(),
    };
    crate::interrupt::checkpoint("worktree-done");
    let _ = std::fs::remove_file(&marker);
    Ok(kept)
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
    (removals, plan): (&[Removal], &Plan<'_>),
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
        match crate::git::cli::push(workdir, remote, commit, dst, target.env)? {
            Pushed::Accepted if commit == first => return Ok(format!("Pushed to {remote} {dst}.")),
            Pushed::Accepted => {
                return Ok(format!(
                    "Pushed to {remote} {dst}, rebuilt as {commit} on the remote's new tip; your local commit {} \
                     is not on the remote (git pull will reconcile both).",
                    crate::git::short_id(&first)
                ));
            }
            Pushed::Rejected(why) if attempt < PUSH_RETRIES => {
                tracing::warn!(
                    attempt = attempt + 1,
                    "push rejected ({why}); rebuilding on the remote's tip"
                );
                let tip = crate::git::cli::fetch(workdir, remote, dst, target.env)?;
                let tip_tree = repo.commit_info(&tip.to_string())?.tree;
                let rebuilt = build_commit(repo, signer, tip_tree, tip, removals, plan)
                    .context("nothing left to remove on the remote's new tip")?;
                tracing::info!(files = rebuilt.applied.len(), "rebuilt the deletion");
                commit = rebuilt.commit;
                *report = rebuilt.report;
            }
            Pushed::Rejected(why) => {
                bail!(
                    "the push was rejected {} times ({why}); the local commit {} is intact, push it yourself \
                     or run prune again",
                    PUSH_RETRIES + 1,
                    crate::git::short_id(&first)
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
        crate::source::server::enable(server, &args.enable, ctx.out)?;
        return Ok(Outcome::Clean);
    }
    let explicit = args.select.online.concurrency.is_some();
    let (collected, entries) = crate::source::server::check_entries(
        server,
        &settings.select,
        args.server.download,
        explicit,
    )?;
    // Runtime-only, file-less and odd entries are never touched, sub-folder files never deleted;
    // when disabling, files already disabled on the server are left alone.
    let sel = select(&collected, &settings.statuses, |s| {
        let Some(e) = entries.get(s.candidate) else {
            return Some("not in the server's listing".to_owned());
        };
        crate::source::server::keep_reason(e, args.delete)
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
    let targets: Vec<crate::source::server::Target<'_>> = sel
        .chosen
        .iter()
        .filter_map(|&i| entries.get(collected.scanned[i].candidate))
        .map(|e| crate::source::server::Target {
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
    let applied = crate::source::server::apply(server, &targets, backup.as_deref(), &json)?;
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
    crate::interrupt::install();
    crate::interrupt::checkpoint("scanned");
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
                // A rerun within the same second gets its own folder (and report).
                let base = root.with_file_name(format!("{name}.credman-quarantine"));
                (1..)
                    .map(|n| {
                        if n == 1 {
                            base.join(&stamp)
                        } else {
                            base.join(format!("{stamp}-{n}"))
                        }
                    })
                    .find(|q| q.symlink_metadata().is_err())
                    .unwrap_or_else(|| base.join(&stamp))
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
        crate::fs::create_private_dir(&q)?;
        let q = std::fs::canonicalize(&q)?;
        Some(q)
    };
    let quarantine_label = target
        .as_ref()
        .map_or_else(|| "purged".to_owned(), |q| q.display().to_string());
    // Never overwrite the report of an earlier run that used the same quarantine.
    let report_path = target.as_ref().map(|q| {
        (1..)
            .map(|n| {
                if n == 1 {
                    q.join("credman-report.json")
                } else {
                    q.join(format!("credman-report-{n}.json"))
                }
            })
            .find(|p| p.symlink_metadata().is_err())
            .unwrap_or_else(|| q.join("credman-report.json"))
    });
    // Signals are held from here to the final report: the run finishes instead of leaving moved
    // files without their report. The planned report is written first, so that even a SIGKILL
    // leaves every moved file recorded.
    let _section = crate::interrupt::critical();
    if let Some(path) = &report_path {
        let mut planned = prune_report(
            &collected,
            &sel.chosen,
            sel.skipped.clone(),
            &settings.statuses,
            false,
        );
        if let Some(p) = planned.prune.as_mut() {
            p.quarantine = Some(quarantine_label.clone());
        }
        crate::fs::write_atomic(path, json_of(&planned)?.as_bytes(), || {})?;
    }
    crate::interrupt::checkpoint("report-planned");
    let mut moved = Vec::new();
    let mut skipped = sel.skipped;
    let mut failed = 0usize;
    let half = sel.chosen.len() / 2;
    for (k, &i) in sel.chosen.iter().enumerate() {
        if k == half {
            crate::interrupt::checkpoint("moving");
        }
        let s = &collected.scanned[i];
        let raw = raw_path(&collected, s);
        let rel = crate::fs::rel_path(raw);
        let src = root.join(&rel);
        let mut skip = |reason: String| {
            skipped.push(Skipped {
                path: s.finding.path.clone(),
                reason,
            });
        };
        if crate::fs::has_unsafe_parent(&root, raw) {
            skip(UNSAFE_PARENT.to_owned());
            continue;
        }
        // Compare-and-swap: the file must still hold what was scanned (CPA may have refreshed it).
        let is_file = std::fs::symlink_metadata(&src).is_ok_and(|m| m.is_file());
        let now = std::fs::read(&src)
            .ok()
            .filter(|_| is_file)
            .and_then(|b| crate::git::hash_blob(&b));
        if now != s.content_id {
            skip("changed since it was scanned".into());
            continue;
        }
        let done = match &target {
            None => std::fs::remove_file(&src)
                .with_context(|| format!("cannot delete {}", src.display())),
            Some(q) => crate::fs::move_file(&src, &q.join(&rel)),
        };
        match done {
            Ok(()) => moved.push(i),
            Err(e) => {
                // One file that cannot move never stops the others: skip it, finish, report.
                tracing::warn!(path = %s.finding.path, "{e:#}");
                failed += 1;
                skip(format!("could not be moved: {e:#}"));
            }
        }
    }
    crate::interrupt::checkpoint("moved");
    let mut report = prune_report(&collected, &moved, skipped, &settings.statuses, false);
    if let Some(p) = report.prune.as_mut() {
        p.quarantine = Some(quarantine_label);
    }
    if let Some(path) = &report_path {
        crate::fs::write_atomic(path, json_of(&report)?.as_bytes(), || {
            crate::interrupt::checkpoint("report-tmp");
        })?;
    }
    drop(_section);
    let headline = match &target {
        Some(q) => format!(
            "Moved {} file(s) to {} (report: {} there).",
            moved.len(),
            q.display(),
            report_path
                .as_ref()
                .and_then(|p| p.file_name())
                .map_or_else(String::new, |n| n.to_string_lossy().into_owned())
        ),
        None => format!("Deleted {} file(s) for good (--purge).", moved.len()),
    };
    emit(&report, settings, &headline, args, ctx)?;
    if failed > 0 {
        let verb = if target.is_some() { "moved" } else { "deleted" };
        bail!("{failed} file(s) could not be {verb}; the others were, see the report");
    }
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
