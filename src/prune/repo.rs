//! The repository executor: carries a [`Plan`] out as ONE commit on the current branch (or on a
//! new branch), signed like git signs, with the report in its message. Nothing working is lost:
//! - only files whose blob is exactly the one scanned are removed; a branch that moved makes the
//!   ref update fail (compare-and-swap) and nothing changes;
//! - files with uncommitted changes (working tree or index) are kept, checked again under
//!   `index.lock`;
//! - the order (index.lock, marker, ref, index, files) keeps the window smallest, and a run
//!   killed inside it is finished by the next start ([`super::recover`]);
//! - a rejected push is rebuilt on the remote's new tip and retried, never forced
//!   ([`PushOutcome`]).

use std::collections::HashSet;
use std::path::PathBuf;

use anyhow::{Context as _, bail};

use super::recover::{
    PENDING, UNSAFE_PARENT, remove_from_worktree, write_locking_marker, write_marker,
};
use super::{Done, Plan};
use crate::git::cli::{self, Pushed};
use crate::git::{BranchHead, IndexUpdate, ObjectId, Repo, WorktreeChecker};
use crate::message;
use crate::report::{Report, Skipped};
use crate::scan::Collected;
use crate::sign::Signer;
use crate::status::StatusSet;

/// How many times a rejected push is rebuilt and retried.
const PUSH_RETRIES: usize = 3;

/// Where a push goes, and the environment its git processes need.
pub struct PushTarget<'a> {
    /// The directory git runs in.
    pub workdir: PathBuf,
    /// The remote (a name or a URL).
    pub remote: String,
    /// The destination ref.
    pub dst: String,
    /// Extra environment (a remote clone's credentials helper).
    pub env: &'a [(String, String)],
}

/// What a successful push did.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PushOutcome {
    /// The commit now on the remote.
    pub commit: ObjectId,
    /// Whether it was rebuilt on the remote's new tip (then the local commit is not on the
    /// remote).
    pub rebuilt: bool,
    /// Where it went: `REMOTE DST`.
    pub remote: String,
    /// The local commit first made.
    pub local: ObjectId,
}

impl std::fmt::Display for PushOutcome {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        if self.rebuilt {
            write!(
                f,
                "Pushed to {}, rebuilt as {} on the remote's new tip; your local commit {} is not \
                 on the remote (git pull will reconcile both).",
                self.remote,
                self.commit,
                crate::git::short_id(&self.local)
            )
        } else {
            write!(f, "Pushed to {}.", self.remote)
        }
    }
}

/// What the command decided: the plan, on which branch, signed how, pushed where.
pub struct Request<'a> {
    /// The scan.
    pub collected: &'a Collected,
    /// The statuses asked for (recorded in the report).
    pub statuses: &'a StatusSet,
    /// The branch HEAD names, as read before the scan.
    pub head: &'a BranchHead,
    /// A new branch to commit on instead of the current one.
    pub branch: Option<&'a str>,
    /// Signs the commit (and every rebuild).
    pub signer: &'a Signer,
    /// Where to push the commit, if anywhere.
    pub push: Option<PushTarget<'a>>,
}

/// One file to remove: its path as git stores it, the blob scanned, and its scan entry.
struct Removal {
    raw: Vec<u8>,
    id: ObjectId,
    scanned: usize,
}

/// What every rebuild of the commit needs besides the removals.
struct Rebuild<'a> {
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

/// Carries `plan` out: writes and signs the commit, moves the branch (compare-and-swap) and
/// brings the index and working tree along, then pushes when asked.
pub fn execute(repo: &Repo, plan: Plan, req: Request<'_>) -> anyhow::Result<Done> {
    let collected = req.collected;
    let has_worktree = repo.workdir().is_some();
    let workdir = repo.workdir();
    let t0 = std::time::Instant::now();
    let mut removals: Vec<Removal> = plan
        .chosen
        .iter()
        .filter_map(|&i| {
            let s = collected.scanned.get(i)?;
            Some(Removal {
                raw: super::raw_path(collected, s).to_vec(),
                id: s.content_id?,
                scanned: i,
            })
        })
        .collect();
    let mut rebuild = Rebuild {
        collected,
        statuses: req.statuses,
        skipped: plan.skipped,
    };
    let head = req.head;
    let mut built = build_commit(
        repo,
        req.signer,
        head.tree,
        head.commit,
        &removals,
        &rebuild,
    )?;
    tracing::debug!(ms = t0.elapsed().as_millis(), "prune: commit written");
    crate::interrupt::checkpoint("signed");
    let branch_name = match req.branch {
        None => {
            let (index, unclaim) = if has_worktree {
                let _section = crate::interrupt::critical();
                // The marker goes first ("locking"), so that a SIGKILL between taking the lock
                // and naming it still leaves a record the next start recognises the lock by.
                let unclaim = Unclaim::new(repo.git_dir().join(PENDING));
                write_locking_marker(repo)?;
                let ix = repo.lock_index()?;
                crate::interrupt::checkpoint("lock-taken");
                // Names the lock at once: if this run is killed while holding it, the next start
                // recognises the lock as stale and removes it.
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
                            path: collected.scanned[r.scanned].path.clone(),
                            reason: why.to_owned(),
                        });
                    }
                    why.is_none()
                });
                if !changed.is_empty() && removals.is_empty() {
                    rebuild.skipped.extend(changed);
                    return Ok(Done {
                        report: super::report(collected, &[], rebuild.skipped, req.statuses, false),
                        headline: "Nothing removed: every selected file changed since it was \
                                   scanned. Nothing was changed."
                            .to_owned(),
                        error: None,
                        failed: 0,
                    });
                }
                if !changed.is_empty() {
                    // Rare: sign again, still under the lock.
                    rebuild.skipped.extend(changed);
                    built = build_commit(
                        repo,
                        req.signer,
                        head.tree,
                        head.commit,
                        &removals,
                        &rebuild,
                    )?;
                }
            }
            crate::interrupt::checkpoint("index-locked");
            let kept = apply_on_branch(
                repo,
                head,
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
            name.to_owned()
        }
    };
    let commit_id = built.commit;
    let mut report = built.report;
    let mut headline = format!(
        "Removed {} file(s) in commit {} on {branch_name} ({}).",
        built.applied.len(),
        crate::git::short_id(&commit_id),
        req.signer.describe()
    );
    let mut final_commit = commit_id;
    let mut error = None;
    if let Some(target) = &req.push {
        match push_with_retry(
            repo,
            target,
            commit_id,
            (&removals, &rebuild),
            req.signer,
            &mut report,
        ) {
            Ok(outcome) => {
                headline.push_str(&format!(" {outcome}"));
                if let Some(p) = report.prune.as_mut() {
                    p.push = Some(outcome.to_string());
                }
                final_commit = outcome.commit;
            }
            Err(err) => {
                // The local commit exists: say so, with the report, before failing.
                if let Some(p) = report.prune.as_mut() {
                    p.push = Some(format!("failed: {err:#}"));
                }
                headline.push_str(" Pushing it failed; the local commit is kept.");
                error = Some(err.context(format!(
                    "the local commit {} on {branch_name} was made and is kept, but pushing it failed",
                    crate::git::short_id(&commit_id)
                )));
            }
        }
    }
    if let Some(p) = report.prune.as_mut() {
        p.commit = Some(final_commit.to_string());
        p.branch = Some(branch_name);
    }
    Ok(Done {
        report,
        headline,
        error,
        failed: 0,
    })
}

/// Writes the commit removing `removals` from `tree` on top of `parent`, with its report; a
/// path whose blob differs is dropped and reported as skipped. Nothing is visible yet.
fn build_commit(
    repo: &Repo,
    signer: &Signer,
    tree: ObjectId,
    parent: ObjectId,
    removals: &[Removal],
    plan: &Rebuild<'_>,
) -> anyhow::Result<Built> {
    let t0 = std::time::Instant::now();
    let pairs: Vec<(Vec<u8>, ObjectId)> = removals.iter().map(|r| (r.raw.clone(), r.id)).collect();
    let edit = repo.tree_without(tree, &pairs)?;
    tracing::debug!(ms = t0.elapsed().as_millis(), "prune: tree written");
    let mut skipped = plan.skipped.clone();
    skipped.extend(edit.skipped.iter().map(|&(i, reason)| Skipped {
        path: plan.collected.scanned[removals[i].scanned].path.clone(),
        reason: reason.to_owned(),
    }));
    let chosen: Vec<usize> = edit.applied.iter().map(|&i| removals[i].scanned).collect();
    let report = super::report(plan.collected, &chosen, skipped, plan.statuses, false);
    let new_tree = edit
        .tree
        .context("none of the selected files is still there; nothing to commit")?;
    let head = super::json_of(&Report {
        results: Vec::new(),
        notifications: Vec::new(),
        prune: report.prune.clone(),
        source: report.source.clone(),
        summary: report.summary.clone(),
        fail_on: report.fail_on.clone(),
        tool: report.tool.clone(),
        generated_at: report.generated_at.clone(),
        ..report
    })?;
    let msg = message::prune(&report, &head, "remove");
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
    head: &BranchHead,
    (built, removals): (&Built, &[Removal]),
    index: Option<IndexUpdate>,
    checker: Option<&WorktreeChecker>,
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

/// Pushes; on a non-fast-forward rejection fetches, rebuilds the deletion on the new tip
/// (dropping files that changed there), signs again and retries. Never forces.
fn push_with_retry(
    repo: &Repo,
    target: &PushTarget<'_>,
    first: ObjectId,
    (removals, plan): (&[Removal], &Rebuild<'_>),
    signer: &Signer,
    report: &mut Report,
) -> anyhow::Result<PushOutcome> {
    let (workdir, remote, dst) = (
        target.workdir.as_path(),
        target.remote.as_str(),
        target.dst.as_str(),
    );
    let mut commit = first;
    for attempt in 0..=PUSH_RETRIES {
        match cli::push(workdir, remote, commit, dst, target.env)? {
            Pushed::Accepted => {
                return Ok(PushOutcome {
                    commit,
                    rebuilt: commit != first,
                    remote: format!("{remote} {dst}"),
                    local: first,
                });
            }
            Pushed::Rejected(why) if attempt < PUSH_RETRIES => {
                tracing::warn!(
                    attempt = attempt + 1,
                    "push rejected ({why}); rebuilding on the remote's tip"
                );
                let tip = cli::fetch(workdir, remote, dst, target.env)?;
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
