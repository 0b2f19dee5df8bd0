//! The server executor: carries a [`Plan`] out on a running CPA through its Management API:
//! disables the selected files (reversible, by name plus `auth_index`), or with `--delete`
//! downloads a 0600 backup of each one, writes the report beside them and deletes only the files
//! backed up. Sub-folder files are never deleted, runtime-only entries never touched
//! ([`keep_reason`]). Per-file failures are recorded in the report, never fatal; only a refused
//! key or an unreachable server stops.

use std::collections::HashSet;
use std::path::Path;

use super::{Done, Plan};
use crate::management::{Entry, Place, Server};
use crate::report::Skipped;
use crate::scan::Collected;
use crate::status::StatusSet;

/// Disables (or, with `backup` set, backs up into it and deletes) the planned files; `entries`
/// is the server's listing, indexed like the scan's candidates.
pub fn execute(
    server: &Server,
    entries: &[Entry],
    collected: &Collected,
    plan: Plan,
    statuses: &StatusSet,
    backup: Option<&Path>,
) -> anyhow::Result<Done> {
    let mut report = super::report(collected, &plan.chosen, plan.skipped, statuses, false);
    let targets: Vec<Target<'_>> = plan
        .chosen
        .iter()
        .filter_map(|&i| entries.get(collected.scanned[i].candidate))
        .map(|e| Target {
            name: &e.name,
            auth_index: e.auth_index.as_deref(),
        })
        .collect();
    // The report saved beside the backups before anything is deleted lists what is about to be.
    if let Some(p) = report.prune.as_mut() {
        p.results = crate::report::Listed::Selected;
    }
    let json = super::json_of(&report)?;
    let applied = apply(server, &targets, backup, &json)?;
    let done: HashSet<&str> = applied.done.iter().map(String::as_str).collect();
    report.results.retain(|f| done.contains(f.path.as_str()));
    if let Some(p) = report.prune.as_mut() {
        p.removed = applied.done.len();
        p.results = crate::report::Listed::Removed;
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
    if !applied.failed.is_empty() {
        let verb = if backup.is_some() {
            "delete"
        } else {
            "disable"
        };
        tracing::warn!(
            "{} file(s) could not be {verb}d; see the report's skipped list",
            applied.failed.len()
        );
    }
    Ok(Done {
        report,
        headline,
        error: None,
        failed: applied.failed.len(),
    })
}

/// What server-mode prune did to each selected file.
pub struct Applied {
    /// Names done.
    pub done: Vec<String>,
    /// Names not done, with why.
    pub failed: Vec<(String, String)>,
    /// Where the backups went (delete mode).
    pub backup: Option<std::path::PathBuf>,
}

/// One file prune acts on: its listed name (a path relative to the auth dir) and handle.
pub struct Target<'a> {
    /// The listed name.
    pub name: &'a str,
    /// The listing's `auth_index`, sent along when disabling so that CPA touches exactly it.
    pub auth_index: Option<&'a str>,
}

/// Why prune must leave a listed entry alone, if it must: untouchable entries always, sub-folder
/// files when deleting.
pub fn keep_reason(e: &Entry, delete: bool) -> Option<String> {
    match &e.place {
        Place::Untouchable(why) => Some((*why).to_owned()),
        Place::SubFolder if delete => Some(
            "kept: in a sub-folder of the auth dir, so CPA cannot back it up (its download \
             refuses names with '/') and a DELETE by name could reach a top-level file of the \
             same name; disable it instead (prune --server without --delete)"
                .to_owned(),
        ),
        Place::SubFolder | Place::TopLevel => None,
    }
}

/// Disables the given files, or (with `delete_into`) backs them up and deletes them. Per-file
/// failures are recorded, never fatal; only a refused key or an unreachable server stops.
pub fn apply(
    server: &Server,
    targets: &[Target<'_>],
    delete_into: Option<&Path>,
    report_json: &str,
) -> anyhow::Result<Applied> {
    let mut out = Applied {
        done: Vec::new(),
        failed: Vec::new(),
        backup: None,
    };
    let Some(dir) = delete_into else {
        for t in targets {
            match server.set_disabled(t.name, t.auth_index, true) {
                Ok(()) => out.done.push(t.name.to_owned()),
                Err(e @ crate::management::Error::KeyRefused { .. }) => return Err(e.into()),
                Err(e) => out.failed.push((t.name.to_owned(), e.to_string())),
            }
        }
        return Ok(out);
    };
    crate::fs::create_private_dir(dir)?;
    let mut backed_up = Vec::new();
    for t in targets {
        // Only plain top-level names reach here (`keep_reason`); check again before the disk.
        if !crate::management::is_safe_name(t.name) {
            out.failed.push((
                t.name.to_owned(),
                "not deleted: not a plain file name".into(),
            ));
            continue;
        }
        match server.download(t.name) {
            Ok(bytes) => {
                crate::fs::create_new(&dir.join(t.name), &bytes, 0o600)?;
                backed_up.push(t.name.to_owned());
            }
            Err(e @ crate::management::Error::KeyRefused { .. }) => return Err(e.into()),
            Err(e) => out.failed.push((
                t.name.to_owned(),
                format!("not deleted: backup failed: {e}"),
            )),
        }
    }
    crate::fs::create_new(
        &dir.join("credman-report.json"),
        report_json.as_bytes(),
        0o600,
    )?;
    let deleted = server.delete(&backed_up)?;
    out.done = deleted.deleted;
    out.failed.extend(deleted.failed);
    out.backup = Some(dir.to_owned());
    Ok(out)
}

/// Re-enables files (`prune --server --enable NAME…`); returns how many were enabled and, for
/// each one that failed, `name: why`.
pub fn enable(server: &Server, names: &[String]) -> (usize, Vec<String>) {
    let mut failed = Vec::new();
    for n in names {
        if let Err(e) = server.set_disabled(n, None, false) {
            failed.push(format!("{n}: {e}"));
        }
    }
    (names.len() - failed.len(), failed)
}
