//! The prune engine below the `prune` command. This file owns the [`Plan`]: which scanned files
//! are selected for removal and which are kept (and why), the status guard, the mass-failure
//! breaker, the push destination and the report a prune embeds. All of it is pure and
//! unit-tested here. The executors carry a plan out: [`repo`] (one commit, signed, CAS ref moves,
//! the index and working tree, push with rebuild; [`recover`] finishes a run killed halfway),
//! [`dir`] (quarantine or purge in a plain folder) and [`server`] (disable or back up and delete
//! through CPA's Management API).

pub mod dir;
pub mod recover;
pub mod repo;
pub mod server;

use std::collections::BTreeMap;

use anyhow::bail;

use crate::report::{Listed, PruneInfo, Report, Skipped, Summary};
use crate::scan::{Collected, Scanned};
use crate::settings::MaxDelete;
use crate::status::{Class, Status, StatusSet};

/// What an executor did: the report, a headline for people, and the error to fail with after
/// the report is shown (a failed push keeps its local commit; files that could not be moved or deleted).
pub struct Done {
    /// The report (with the commit, branch and push recorded).
    pub report: Report,
    /// One line saying what happened.
    pub headline: String,
    /// Fails the run after the report is shown.
    pub error: Option<anyhow::Error>,
    /// Selected files the server refused to change (recorded in the report's skipped list):
    /// the dead files they leave behind are findings (exit 1), not a failed run.
    pub failed: usize,
}

/// Refuses statuses that are not evidence of death, unless forced.
pub fn guard_statuses(statuses: &StatusSet, force: bool) -> anyhow::Result<()> {
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

/// What a prune will do: indices into the scan's files that are selected for removal, and the
/// files with a selected status that are kept, with why.
#[derive(Clone, Debug, Default)]
pub struct Plan {
    /// Indices into `Collected::scanned`, in scan order.
    pub chosen: Vec<usize>,
    /// Selected by status but kept.
    pub skipped: Vec<Skipped>,
}

/// Plans the removal of the files whose status is in `statuses`; `keep` names a reason to leave
/// one alone (an uncommitted change, a sub-folder file on a server, …).
pub fn plan(
    scanned: &[Scanned],
    statuses: &StatusSet,
    mut keep: impl FnMut(&Scanned) -> Option<String>,
) -> Plan {
    let mut plan = Plan::default();
    for (i, s) in scanned.iter().enumerate() {
        if !statuses.contains(s.status()) {
            continue;
        }
        match keep(s) {
            Some(reason) => plan.skipped.push(Skipped {
                path: s.path.clone(),
                reason,
            }),
            None => plan.chosen.push(i),
        }
    }
    plan
}

/// Returns why the mass-failure breaker trips for this plan, if it does: more files than a
/// count, or more than a percentage of one provider's pool (only for pools of 20 or more).
pub fn breaker(scanned: &[Scanned], chosen: &[usize], max: MaxDelete) -> Option<String> {
    match max {
        MaxDelete::Count(n) => (chosen.len() > n).then(|| {
            format!(
                "{} files selected for removal, more than --max-delete {n}",
                chosen.len()
            )
        }),
        MaxDelete::Percent(p) => {
            let mut totals: BTreeMap<&str, (usize, usize)> = BTreeMap::new();
            for s in scanned {
                totals.entry(s.facts.provider.as_str()).or_default().0 += 1;
            }
            for &i in chosen {
                if let Some(s) = scanned.get(i) {
                    totals.entry(s.facts.provider.as_str()).or_default().1 += 1;
                }
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

/// Returns (remote, destination ref) for `--push REMOTE` from branch `branch`, given the
/// branch's configured upstream (`branch.<name>.remote`, `branch.<name>.merge`): an empty
/// `remote_arg` means the upstream's remote, else `origin`; the upstream's ref is the
/// destination only when the push goes to the upstream's remote.
pub fn upstream(
    branch: &str,
    remote_arg: &str,
    up_remote: Option<String>,
    up_merge: Option<String>,
) -> (String, String) {
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

/// Files prune can remove have a content id (a blob, or a hashed directory file); symlinks and
/// unreadable files do not.
pub fn not_a_file(s: &Scanned) -> Option<String> {
    s.content_id
        .is_none()
        .then(|| "not a regular file".to_owned())
}

/// Returns the path of a scanned file as bytes (what git stores).
pub fn raw_path<'c>(collected: &'c Collected, s: &'c Scanned) -> &'c [u8] {
    collected
        .listing
        .candidates
        .get(s.candidate)
        .map_or(s.path.as_bytes(), |c| c.raw.as_slice())
}

/// Builds the report of a prune: the removed (or, for a dry run, the selected) files as
/// results, the whole scan as summary.
pub fn report(
    collected: &Collected,
    chosen: &[usize],
    skipped: Vec<Skipped>,
    statuses: &StatusSet,
    dry_run: bool,
) -> Report {
    let results = chosen
        .iter()
        .filter_map(|&i| collected.scanned.get(i))
        .map(Scanned::finding)
        .collect();
    let mut report = Report::new(
        collected.mode,
        collected.listing.info.clone(),
        statuses.iter().collect(),
        results,
        collected.now,
    );
    let all: Vec<_> = collected.scanned.iter().map(Scanned::finding).collect();
    report.summary = Summary::of(&all);
    report.prune = Some(PruneInfo {
        statuses: statuses.iter().collect(),
        removed: if dry_run { 0 } else { chosen.len() },
        skipped,
        dry_run,
        results: if dry_run {
            Listed::Selected
        } else {
            Listed::Removed
        },
        ..PruneInfo::default()
    });
    report
}

/// The report as portable JSON (no local paths): what the commit message and the quarantine
/// and backup copies embed.
pub fn json_of(report: &Report) -> anyhow::Result<String> {
    let mut buf = Vec::new();
    crate::report::json::render_portable(report, &mut buf)?;
    Ok(String::from_utf8(buf)?)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::scan::test_scanned;

    fn id(n: u8) -> Option<crate::git::ObjectId> {
        crate::git::hash_blob(&[n])
    }

    fn pool(provider: &str, dead: usize, alive: usize) -> Vec<Scanned> {
        (0..dead)
            .map(|i| (i, Status::Invalidated))
            .chain((dead..dead + alive).map(|i| (i, Status::Active)))
            .map(|(i, st)| test_scanned(&format!("{provider}-{i}.json"), provider, st, id(1)))
            .collect()
    }

    fn all(scanned: &[Scanned], statuses: &StatusSet) -> Vec<usize> {
        plan(scanned, statuses, |_| None).chosen
    }

    #[test]
    fn plan_takes_only_the_statuses_asked_for_and_records_why_others_are_kept() {
        let scanned = vec![
            test_scanned("a.json", "codex", Status::Invalidated, id(1)),
            test_scanned("b.json", "codex", Status::Active, id(2)),
            test_scanned("c.json", "codex", Status::Invalidated, None),
            test_scanned("d.json", "claude", Status::Unauthorized, id(3)),
        ];
        let statuses = StatusSet::of(&[Status::Invalidated, Status::Unauthorized]);
        let p = plan(&scanned, &statuses, not_a_file);
        assert_eq!(p.chosen, [0, 3]);
        assert_eq!(p.skipped.len(), 1);
        assert_eq!(p.skipped[0].path, "c.json");
        assert_eq!(p.skipped[0].reason, "not a regular file");
        // An alive file is neither chosen nor listed as kept: it was never selected.
        assert!(p.skipped.iter().all(|s| s.path != "b.json"));
    }

    #[test]
    fn guard_refuses_statuses_that_are_not_evidence_of_death() {
        for risky in [Status::Active, Status::RateLimited, Status::Unknown] {
            let set = StatusSet::of(&[Status::Invalidated, risky]);
            let err = guard_statuses(&set, false).unwrap_err().to_string();
            assert!(err.contains(risky.as_str()), "{err}");
            assert!(guard_statuses(&set, true).is_ok());
        }
        assert!(guard_statuses(&StatusSet::of(&[Status::Invalidated]), false).is_ok());
        assert!(guard_statuses(&StatusSet::of(&[]), true).is_err());
    }

    #[test]
    fn breaker_counts_files_against_a_count() {
        let scanned = pool("codex", 5, 0);
        let chosen = all(&scanned, &StatusSet::of(&[Status::Invalidated]));
        assert!(breaker(&scanned, &chosen, MaxDelete::Count(5)).is_none());
        let why = breaker(&scanned, &chosen, MaxDelete::Count(4)).unwrap();
        assert!(
            why.contains("5 files") && why.contains("--max-delete 4"),
            "{why}"
        );
    }

    #[test]
    fn breaker_percentage_is_per_provider_and_only_for_pools_of_twenty() {
        let dead = StatusSet::of(&[Status::Invalidated]);
        // 11 of 20 codex files (55%) trips a 50% limit ...
        let mut scanned = pool("codex", 11, 9);
        let why = breaker(&scanned, &all(&scanned, &dead), MaxDelete::Percent(50.0)).unwrap();
        assert!(why.contains("11 of 20 codex"), "{why}");
        // ... 10 of 20 does not (more than, not at least).
        scanned = pool("codex", 10, 10);
        assert!(breaker(&scanned, &all(&scanned, &dead), MaxDelete::Percent(50.0)).is_none());
        // A pool of 19 is too small to judge: every file may go.
        scanned = pool("codex", 19, 0);
        assert!(breaker(&scanned, &all(&scanned, &dead), MaxDelete::Percent(50.0)).is_none());
        // Another provider's healthy pool does not dilute a dying one.
        scanned = pool("codex", 15, 5);
        scanned.extend(pool("claude", 0, 100));
        let why = breaker(&scanned, &all(&scanned, &dead), MaxDelete::Percent(50.0)).unwrap();
        assert!(why.contains("15 of 20 codex"), "{why}");
    }

    #[test]
    fn upstream_uses_the_branch_upstream_only_for_its_own_remote() {
        let up = || {
            (
                Some("origin".to_owned()),
                Some("refs/heads/trunk".to_owned()),
            )
        };
        let (r, m) = up();
        assert_eq!(
            upstream("main", "", r, m),
            ("origin".into(), "refs/heads/trunk".into())
        );
        let (r, m) = up();
        assert_eq!(
            upstream("main", "backup", r, m),
            ("backup".into(), "refs/heads/main".into())
        );
        assert_eq!(
            upstream("main", "", None, None),
            ("origin".into(), "refs/heads/main".into())
        );
        assert_eq!(
            upstream(
                "main",
                "fork",
                Some("fork".into()),
                Some("refs/heads/x".into())
            ),
            ("fork".into(), "refs/heads/x".into())
        );
    }
}
