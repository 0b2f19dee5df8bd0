//! The directory executor: carries a [`Plan`] out in a plain auth folder by moving the selected
//! files to a quarantine outside it (CPA loads sub-folders, so never inside), or deleting them
//! with `--purge`. Compare-and-swap per file: a file that no longer holds what was scanned (CPA
//! refreshed it) is kept. The planned report is written into the quarantine before the first
//! move, so even a SIGKILL leaves every moved file recorded; signals are held until the final
//! report is written.

use std::path::{Path, PathBuf};

use anyhow::{Context as _, bail};

use super::{Done, Plan};
use crate::report::Skipped;
use crate::scan::Collected;
use crate::status::StatusSet;

/// Moves (or, with `purge`, deletes) the planned files of the folder `dir`; `quarantine` is the
/// folder the user chose, else `<dir>.credman-quarantine/<UTC time>/` beside it.
pub fn execute(
    dir: &Path,
    collected: &Collected,
    plan: Plan,
    statuses: &StatusSet,
    quarantine: Option<&Path>,
    purge: bool,
) -> anyhow::Result<Done> {
    let root =
        std::fs::canonicalize(dir).with_context(|| format!("cannot read {}", dir.display()))?;
    let stamp = collected.now.format("%Y%m%dT%H%M%SZ").to_string();
    let target = if purge {
        None
    } else {
        let q = match quarantine {
            Some(q) => q.to_owned(),
            None => {
                let name = root
                    .file_name()
                    .map_or_else(|| "auths".into(), |n| n.to_string_lossy().into_owned());
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
    let section = crate::interrupt::critical();
    if let Some(path) = &report_path {
        let mut planned = super::report(
            collected,
            &plan.chosen,
            plan.skipped.clone(),
            statuses,
            false,
        );
        if let Some(p) = planned.prune.as_mut() {
            p.results = crate::report::Listed::Selected;
            p.quarantine = Some(quarantine_label.clone());
        }
        crate::fs::write_atomic(path, super::json_of(&planned)?.as_bytes(), || {})?;
    }
    crate::interrupt::checkpoint("report-planned");
    let mut moved = Vec::new();
    let mut skipped = plan.skipped;
    let mut failed = 0usize;
    let half = plan.chosen.len() / 2;
    for (k, &i) in plan.chosen.iter().enumerate() {
        if k == half {
            crate::interrupt::checkpoint("moving");
        }
        let s = &collected.scanned[i];
        let raw = super::raw_path(collected, s);
        let rel = crate::fs::rel_path(raw);
        let src = root.join(&rel);
        let mut skip = |reason: String| {
            skipped.push(Skipped {
                path: s.path.clone(),
                reason,
            });
        };
        if crate::fs::has_unsafe_parent(&root, raw) {
            skip(super::recover::UNSAFE_PARENT.to_owned());
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
                tracing::warn!(path = %s.path, "{e:#}");
                failed += 1;
                skip(format!("could not be moved: {e:#}"));
            }
        }
    }
    crate::interrupt::checkpoint("moved");
    let mut report = super::report(collected, &moved, skipped, statuses, false);
    if let Some(p) = report.prune.as_mut() {
        p.quarantine = Some(quarantine_label);
    }
    if let Some(path) = &report_path {
        crate::fs::write_atomic(path, super::json_of(&report)?.as_bytes(), || {
            crate::interrupt::checkpoint("report-tmp");
        })?;
    }
    drop(section);
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
    let error = (failed > 0).then(|| {
        let verb = if target.is_some() { "moved" } else { "deleted" };
        anyhow::anyhow!("{failed} file(s) could not be {verb}; the others were, see the report")
    });
    Ok(Done {
        report,
        headline,
        error,
        failed: 0,
    })
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
