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

use std::collections::{BTreeMap, HashMap, HashSet};

use anyhow::bail;

use crate::report::reviewed::{Reviewed, ReviewedFinding};
use crate::report::{Listed, PruneInfo, Report, Skipped, Summary};
use crate::scan::baseline::Baseline;
use crate::scan::{Collected, Online, Scanned};
use crate::settings::MaxDelete;
use crate::status::{Class, Status, StatusSet};
use crate::verdict::Verdict;

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

/// Returns why a file is kept whatever the executor: it is pinned (`.credmanignore`, see
/// [`crate::pins`]), or `--baseline` has it with the same status (see
/// [`crate::scan::baseline`]). Every mode's `keep` asks this first.
pub fn held(s: &Scanned, baseline: Option<&Baseline>) -> Option<String> {
    crate::pins::keep_reason(s).or_else(|| {
        baseline
            .filter(|b| !b.changed(s))
            .map(|_| "unchanged since the baseline".to_owned())
    })
}

/// `--strikes N --spacing T`: the recorded verdicts a prune judges the selected files by (see
/// [`crate::strikes`]). Strikes only ever keep a file: a file is selected by its status first,
/// and pins, the status guard and the breaker apply as without them.
pub struct Strikes {
    /// The rule.
    pub rule: crate::settings::StrikeSettings,
    /// The history (with this run's verdicts when it recorded them).
    pub history: crate::strikes::History,
    /// Each scanned path's key.
    pub keys: HashMap<String, String>,
    /// The verdicts commit this run recorded, if it did.
    pub recorded: Option<crate::git::ObjectId>,
}

impl Strikes {
    /// The judgement of a file, by its key.
    fn judge(&self, s: &Scanned) -> crate::strikes::Judgement {
        let line = self.keys.get(&s.path).and_then(|k| self.history.get(k));
        crate::strikes::judge(line, self.rule.required, self.rule.spacing)
    }

    /// Why the rule keeps this file, if it does.
    pub fn keep(&self, s: &Scanned) -> Option<String> {
        let j = self.judge(s);
        (!j.passes).then_some(j.why)
    }

    /// Records on each chosen file the verdicts its removal stands on (its report entry cites
    /// them), and in `rule` (the scan's `Collected::strikes`) the rule its report names.
    pub fn cite(
        &self,
        scanned: &mut [Scanned],
        rule: &mut Option<crate::report::StrikeRule>,
        chosen: &[usize],
    ) {
        for &i in chosen {
            let Some(s) = scanned.get(i) else {
                continue;
            };
            let cited = self
                .judge(s)
                .streak
                .iter()
                .map(|v| crate::report::Cited {
                    at: crate::report::rfc3339(v.at),
                    status: v.status.clone(),
                    http_status: v.http_status,
                })
                .collect();
            if let Some(s) = scanned.get_mut(i) {
                s.strikes = Some(cited);
            }
        }
        *rule = Some(crate::report::StrikeRule {
            required: self.rule.required,
            spacing_secs: u64::try_from(self.rule.spacing.num_seconds()).unwrap_or(0),
            recorded: self.recorded.map(|c| c.to_string()),
        });
    }
}

/// The source kinds a repository prune accepts a reviewed report of: a git tree (HEAD, a
/// revision, the index, or a clone of a remote). Blob ids are what tie a report to a tree, so
/// the tree may have moved on since; a folder's or a server's report has no blobs to match.
pub const TREE_KINDS: &[&str] = &["head", "rev", "index", "remote"];

/// Refuses a reviewed report a repository prune cannot use: another tool's, another schema
/// version, a folder's or a server's, or the report of a prune that already ran.
pub fn check_reviewed(reviewed: &Reviewed, file: &str) -> anyhow::Result<()> {
    if reviewed.tool.name != "git-credman" {
        bail!(
            "{file} was not written by git-credman; write the report to review with \
             `git credman scan --report FILE`"
        );
    }
    if reviewed.schema_version != crate::report::SCHEMA_VERSION {
        bail!(
            "{file} has schema_version {}, this git-credman reads {}; scan again with this \
             version (`git credman scan --report FILE`)",
            reviewed.schema_version,
            crate::report::SCHEMA_VERSION
        );
    }
    if !TREE_KINDS.contains(&reviewed.source.kind.as_str()) {
        bail!(
            "{file} is the report of a {} source, not of a git tree; --from-report prunes a \
             repository: review a `git credman scan --report FILE` made in it",
            crate::report::escape(&reviewed.source.kind)
        );
    }
    if reviewed.prune.as_ref().is_some_and(|p| !p.dry_run) {
        bail!(
            "{file} records a prune that already ran; review a scan report (`git credman scan \
             --report FILE`) or a `prune --dry-run --report FILE` plan"
        );
    }
    Ok(())
}

/// The first 12 hex digits of a blob id, for reasons people read.
fn short(id: &str) -> &str {
    id.get(..12).unwrap_or(id)
}

/// Plans a prune from a reviewed report (`prune --from-report`): a file is selected when the
/// report lists it with a status in `statuses`, the report's `blob` is exactly the blob in the
/// tree now (so the content removed is the content reviewed), its provider and fingerprint
/// agree with that content, and `keep` names no reason to leave it alone. A selected file
/// takes the reviewed verdict (the report is the evidence; nothing is checked again).
///
/// Kept, with why: listed files whose blob changed (or that the report gives no blob), whose
/// entry disagrees with the content, and listed files the tree no longer has; files the scan
/// now finds with a status in `statuses` that the report does not list at all. A file the
/// report lists with another status stays, unlisted: the review decided it.
///
/// Refuses a report that lists one path twice (it was edited, or merged wrongly).
pub fn plan_from_report(
    scanned: &mut [Scanned],
    reviewed: &Reviewed,
    statuses: &StatusSet,
    mut keep: impl FnMut(&Scanned) -> Option<String>,
) -> anyhow::Result<Plan> {
    let mut listed: HashSet<&str> = HashSet::with_capacity(reviewed.results.len());
    let mut wanted: HashMap<&str, &ReviewedFinding> = HashMap::new();
    for r in &reviewed.results {
        if !listed.insert(r.path.as_str()) {
            bail!(
                "the report lists {} twice; use a report git-credman wrote (`git credman report \
                 merge` rejects duplicate paths)",
                crate::report::escape(&r.path)
            );
        }
        if statuses.contains(r.status) {
            wanted.insert(r.path.as_str(), r);
        }
    }
    let mut plan = Plan::default();
    let skip = |plan: &mut Plan, path: &str, reason: String| {
        plan.skipped.push(Skipped {
            path: path.to_owned(),
            reason,
        });
    };
    for (i, s) in scanned.iter_mut().enumerate() {
        let Some(r) = wanted.remove(s.path.as_str()) else {
            if !listed.contains(s.path.as_str()) && statuses.contains(s.status()) {
                skip(&mut plan, &s.path, "not in the report".to_owned());
            }
            continue;
        };
        let now = s.content_id.map(|id| id.to_string());
        let Some(reviewed_blob) = r.blob.as_deref().map(str::to_ascii_lowercase) else {
            skip(
                &mut plan,
                &s.path,
                "the report records no blob for it".to_owned(),
            );
            continue;
        };
        if now.as_deref() != Some(reviewed_blob.as_str()) {
            let reason = match &now {
                Some(id) => format!(
                    "changed since the report (blob {}, reviewed {})",
                    short(id),
                    crate::report::escape(short(&reviewed_blob))
                ),
                None => "not a regular file".to_owned(),
            };
            skip(&mut plan, &s.path, reason);
            continue;
        }
        if r.provider != s.facts.provider
            || r.fingerprint.as_deref() != s.facts.fingerprint.as_deref()
        {
            skip(
                &mut plan,
                &s.path,
                "the report's provider or fingerprint does not match the file (edited report?)"
                    .to_owned(),
            );
            continue;
        }
        if let Some(reason) = keep(s) {
            skip(&mut plan, &s.path, reason);
            continue;
        }
        let mut verdict = Verdict::new(r.status, r.reason.clone());
        verdict.http_status = r.http_status;
        s.online = Some(Box::new(Online {
            verdict,
            checked_at: None,
            elapsed_ms: None,
        }));
        plan.chosen.push(i);
    }
    let mut gone: Vec<&str> = wanted.into_keys().collect();
    gone.sort_unstable();
    for path in gone {
        skip(
            &mut plan,
            path,
            "not in the tree any more (removed or renamed since the report)".to_owned(),
        );
    }
    Ok(plan)
}

/// Returns why the breaker trips because a canary (`--canary`) is not alive: that provider's
/// answers are not trusted in this run (its dead verdicts were already made `unknown`, so none
/// of its files is selected), and the run stops so that CI sees it (exit 3). `--force` goes on
/// with the other providers.
pub fn canary_breaker(canaries: &[crate::scan::canary::Canary]) -> Option<String> {
    let failed = crate::scan::canary::failed(canaries);
    let first = failed.first()?;
    let providers: Vec<&str> = failed.iter().map(|c| c.provider.as_str()).collect();
    Some(format!(
        "the canary {} is not alive ({}: {}), so the dead verdicts of {} are not trusted in this run \
         (check the canary and the provider; --force removes the other providers' files)",
        crate::report::escape(&first.path),
        first.status.as_str(),
        crate::report::escape(&first.reason),
        providers.join(", ")
    ))
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
    report.summary = Summary::of(&collected.scanned);
    report.prune = Some(PruneInfo {
        strikes: collected.strikes.clone(),
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
    fn pinned_files_are_never_chosen_and_say_why() {
        let mut scanned = vec![
            test_scanned("a.json", "codex", Status::Invalidated, id(1)),
            test_scanned("b.json", "codex", Status::Invalidated, id(2)),
            test_scanned("c.json", "codex", Status::Invalidated, id(3)),
        ];
        scanned[0].pinned = Some("on-call".into());
        scanned[1].pinned = Some(String::new());
        let p = plan(&scanned, &StatusSet::of(&[Status::Invalidated]), |s| {
            held(s, None).or_else(|| not_a_file(s))
        });
        assert_eq!(p.chosen, [2]);
        let why: Vec<&str> = p.skipped.iter().map(|s| s.reason.as_str()).collect();
        assert_eq!(why, ["pinned: on-call", "pinned"]);
    }

    fn reviewed(results: serde_json::Value) -> Reviewed {
        serde_json::from_value(serde_json::json!({
            "schema_version": crate::report::SCHEMA_VERSION,
            "tool": {"name": "git-credman"}, "mode": "online",
            "source": {"kind": "head", "commit": "c0ffee"}, "results": results,
        }))
        .unwrap()
    }

    fn hex(n: u8) -> String {
        id(n).unwrap().to_string()
    }

    #[test]
    fn plan_from_report_takes_only_reviewed_files_whose_blob_is_unchanged() {
        let mut scanned = vec![
            // reviewed dead, unchanged: removed, with the reviewed verdict
            test_scanned("a.json", "codex", Status::Unverified, id(1)),
            // reviewed dead, rewritten since: kept
            test_scanned("b.json", "codex", Status::Unverified, id(9)),
            // reviewed alive: stays, unlisted
            test_scanned("c.json", "codex", Status::Unverified, id(3)),
            // dead now, not in the report: kept, listed
            test_scanned("d.json", "codex", Status::ExpiredByTime, id(4)),
            // reviewed dead, but the report has no blob: kept
            test_scanned("e.json", "codex", Status::Unverified, id(5)),
            // reviewed dead with the right blob, another provider in the report: kept
            test_scanned("f.json", "claude", Status::Unverified, id(6)),
        ];
        let r = reviewed(serde_json::json!([
            {"path": "a.json", "provider": "codex", "status": "invalidated", "reason": "401",
             "http_status": 401, "blob": hex(1)},
            {"path": "b.json", "provider": "codex", "status": "invalidated", "blob": hex(2)},
            {"path": "c.json", "provider": "codex", "status": "active", "blob": hex(3)},
            {"path": "e.json", "provider": "codex", "status": "invalidated"},
            {"path": "f.json", "provider": "codex", "status": "invalidated", "blob": hex(6)},
            {"path": "gone.json", "provider": "codex", "status": "invalidated", "blob": hex(7)},
        ]));
        let statuses = StatusSet::of(&[Status::Invalidated, Status::ExpiredByTime]);
        let p = plan_from_report(&mut scanned, &r, &statuses, not_a_file).unwrap();
        assert_eq!(p.chosen, [0]);
        assert_eq!(scanned[0].status(), Status::Invalidated);
        assert_eq!(scanned[0].finding().http_status, Some(401));
        let why: Vec<(&str, &str)> = p
            .skipped
            .iter()
            .map(|s| (s.path.as_str(), s.reason.as_str()))
            .collect();
        assert_eq!(why.len(), 5, "{why:?}");
        assert!(why[0].0 == "b.json" && why[0].1.starts_with("changed since the report"));
        assert_eq!(why[1], ("d.json", "not in the report"));
        assert_eq!(why[2], ("e.json", "the report records no blob for it"));
        assert!(why[3].0 == "f.json" && why[3].1.contains("edited report"));
        assert!(why[4].0 == "gone.json" && why[4].1.starts_with("not in the tree any more"));
        // `keep` still applies to reviewed files (an uncommitted change, a symlink, ...).
        let mut scanned = vec![test_scanned("a.json", "codex", Status::Unverified, id(1))];
        let p = plan_from_report(&mut scanned, &r, &statuses, |_| Some("dirty".into())).unwrap();
        assert!(p.chosen.is_empty());
        assert_eq!(p.skipped[0].reason, "dirty");
    }

    #[test]
    fn plan_from_report_refuses_a_path_listed_twice() {
        let r = reviewed(serde_json::json!([
            {"path": "a.json", "provider": "codex", "status": "active", "blob": hex(1)},
            {"path": "a.json", "provider": "codex", "status": "invalidated", "blob": hex(1)},
        ]));
        let mut scanned = vec![test_scanned("a.json", "codex", Status::Unverified, id(1))];
        let err = plan_from_report(
            &mut scanned,
            &r,
            &StatusSet::of(&[Status::Invalidated]),
            not_a_file,
        )
        .unwrap_err();
        assert!(err.to_string().contains("lists a.json twice"), "{err}");
    }

    #[test]
    fn check_reviewed_refuses_other_sources_versions_tools_and_finished_prunes() {
        let ok = reviewed(serde_json::json!([]));
        assert!(check_reviewed(&ok, "r.json").is_ok());
        for kind in ["rev", "index", "remote"] {
            let mut r = ok.clone();
            r.source.kind = kind.into();
            assert!(check_reviewed(&r, "r.json").is_ok(), "{kind}");
        }
        let mut r = ok.clone();
        r.source.kind = "dir".into();
        let err = check_reviewed(&r, "r.json").unwrap_err().to_string();
        assert!(err.contains("of a dir source"), "{err}");
        let mut r = ok.clone();
        r.schema_version = 99;
        assert!(
            check_reviewed(&r, "r.json")
                .unwrap_err()
                .to_string()
                .contains("99")
        );
        let mut r = ok.clone();
        r.tool.name = "other".into();
        assert!(check_reviewed(&r, "r.json").is_err());
        let mut r = ok.clone();
        r.prune = Some(crate::report::reviewed::ReviewedPrune { dry_run: false });
        assert!(
            check_reviewed(&r, "r.json")
                .unwrap_err()
                .to_string()
                .contains("already ran")
        );
        r.prune = Some(crate::report::reviewed::ReviewedPrune { dry_run: true });
        assert!(check_reviewed(&r, "r.json").is_ok());
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
