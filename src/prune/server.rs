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
use crate::report::{QuotaDone, QuotaItem, Skipped};
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

/// The field git-credman writes into a file it disables for its quota (`--disable-exhausted`),
/// through CPA's `PATCH /auth-files/fields`, so that `--reenable-at-reset` re-enables only what
/// git-credman disabled and never a file an operator disabled by hand.
pub const QUOTA_MARKER: &str = "credman_quota";

/// The marker's `disabled_by` value.
const MARKER_BY: &str = "git-credman";

/// How long after git-credman's own disable CPA's `updated_at` may be and still be that
/// disable (the fields and the status are two requests). A later change means somebody else
/// touched the file since: it is left alone.
const MARKER_SLACK_SECS: i64 = 600;

/// The marker read back from a file's JSON: when git-credman disabled it, and until when.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Marker {
    /// When git-credman disabled it.
    pub disabled_at: chrono::DateTime<chrono::Utc>,
    /// When its limit resets.
    pub reset_at: Option<chrono::DateTime<chrono::Utc>>,
}

/// Reads git-credman's quota marker from an auth file's bytes; `None` when the file has none
/// (never disabled by git-credman, or re-enabled since), or it is not git-credman's.
pub fn marker_of(bytes: &[u8]) -> Option<Marker> {
    let v: serde_json::Value = serde_json::from_slice(bytes).ok()?;
    let m = v.get(QUOTA_MARKER)?;
    if m.get("disabled_by").and_then(serde_json::Value::as_str) != Some(MARKER_BY) {
        return None;
    }
    Some(Marker {
        disabled_at: m
            .get("disabled_at")
            .and_then(crate::credential::parse_timestamp)?,
        reset_at: m
            .get("reset_at")
            .and_then(crate::credential::parse_timestamp),
    })
}

fn marker_fields(
    now: chrono::DateTime<chrono::Utc>,
    reset_at: Option<chrono::DateTime<chrono::Utc>>,
) -> serde_json::Map<String, serde_json::Value> {
    let mut fields = serde_json::Map::new();
    fields.insert(
        QUOTA_MARKER.to_owned(),
        match reset_at {
            Some(r) => serde_json::json!({
                "disabled_by": MARKER_BY,
                "disabled_at": crate::report::rfc3339(now),
                "reset_at": crate::report::rfc3339(r),
            }),
            None => serde_json::Value::Null,
        },
    );
    fields
}

/// `--disable-exhausted`: disables every `usage_limited` file that is enabled, not held (pins,
/// baseline) and has a known reset time, after writing git-credman's marker into it. Sub-folder
/// files are left alone (their marker could not be read back: CPA's download refuses `/`).
/// With `dry_run`, only says what it would do.
pub fn disable_exhausted(
    server: &Server,
    entries: &[Entry],
    collected: &Collected,
    held: &dyn Fn(&crate::scan::Scanned) -> Option<String>,
    dry_run: bool,
    out: &mut QuotaDone,
) -> anyhow::Result<()> {
    use crate::status::Status;
    for s in &collected.scanned {
        if s.status() != Status::UsageLimited || s.facts.disabled {
            continue;
        }
        let Some(e) = entries.get(s.candidate) else {
            continue;
        };
        let keep = |reason: String| Skipped {
            path: s.path.clone(),
            reason,
        };
        let why = held(s).or_else(|| keep_reason(e, false)).or_else(|| {
            matches!(e.place, Place::SubFolder).then(|| {
                "not disabled for its quota: in a sub-folder, where CPA's download cannot read \
                 git-credman's marker back to re-enable it"
                    .to_owned()
            })
        });
        let reset_at = s.verdict().reset_at;
        let why = why.or_else(|| {
            reset_at.is_none().then(|| {
                "not disabled for its quota: no reset time known (CPA cools it down itself)"
                    .to_owned()
            })
        });
        if let Some(why) = why {
            out.skipped.push(keep(why));
            continue;
        }
        if !dry_run {
            let did = server
                .set_fields(&e.name, &marker_fields(collected.now, reset_at))
                .and_then(|()| server.set_disabled(&e.name, e.auth_index.as_deref(), true));
            match did {
                Ok(()) => {}
                Err(e @ crate::management::Error::KeyRefused { .. }) => return Err(e.into()),
                Err(err) => {
                    out.skipped
                        .push(keep(format!("not disabled for its quota: {err}")));
                    continue;
                }
            }
        }
        out.disabled.push(QuotaItem {
            path: s.path.clone(),
            reset_at,
        });
    }
    Ok(())
}

/// `--reenable-at-reset`: re-enables the disabled files that carry git-credman's marker once
/// their reset time has passed, and clears the marker. A disabled file without the marker (an
/// operator's disable) is never touched; nor one CPA changed well after git-credman's disable
/// (somebody disabled it again since). With `dry_run`, only says what it would do.
pub fn reenable_at_reset(
    server: &Server,
    entries: &[Entry],
    collected: &Collected,
    dry_run: bool,
    out: &mut QuotaDone,
) -> anyhow::Result<()> {
    for s in &collected.scanned {
        let Some(e) = entries.get(s.candidate) else {
            continue;
        };
        if !e.disabled || !matches!(e.place, Place::TopLevel) {
            continue;
        }
        let keep = |reason: String| Skipped {
            path: s.path.clone(),
            reason,
        };
        let bytes = match server.download(&e.name) {
            Ok(b) => b,
            Err(err @ crate::management::Error::KeyRefused { .. }) => return Err(err.into()),
            Err(err) => {
                out.skipped
                    .push(keep(format!("not checked for re-enabling: {err}")));
                continue;
            }
        };
        let Some(marker) = marker_of(&bytes) else {
            continue;
        };
        let touched_later = e
            .updated_at
            .as_deref()
            .and_then(|u| crate::credential::parse_timestamp(&serde_json::Value::from(u)))
            .is_some_and(|u| (u - marker.disabled_at).num_seconds() > MARKER_SLACK_SECS);
        if touched_later {
            out.skipped.push(keep(
                "not re-enabled: changed on the server after git-credman disabled it (disabled \
                 again by hand?); left alone"
                    .to_owned(),
            ));
            continue;
        }
        match marker.reset_at {
            Some(r) if r <= collected.now => {}
            reset_at => {
                out.waiting.push(QuotaItem {
                    path: s.path.clone(),
                    reset_at,
                });
                continue;
            }
        }
        if !dry_run {
            let did = server
                .set_disabled(&e.name, e.auth_index.as_deref(), false)
                .and_then(|()| server.set_fields(&e.name, &marker_fields(collected.now, None)));
            match did {
                Ok(()) => {}
                Err(err @ crate::management::Error::KeyRefused { .. }) => return Err(err.into()),
                Err(err) => {
                    out.skipped.push(keep(format!("not re-enabled: {err}")));
                    continue;
                }
            }
        }
        out.reenabled.push(s.path.clone());
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_marker_is_read_back_only_when_it_is_git_credmans() {
        let now = chrono::Utc::now();
        let reset = now + chrono::Duration::hours(3);
        let mut file = serde_json::json!({"type": "codex", "disabled": true});
        for (k, v) in marker_fields(now, Some(reset)) {
            file[k] = v;
        }
        let m = marker_of(file.to_string().as_bytes()).expect("a marker");
        assert_eq!(m.reset_at.map(|t| t.timestamp()), Some(reset.timestamp()));
        assert_eq!(m.disabled_at.timestamp(), now.timestamp());
        // Cleared (null), absent, somebody else's, or not JSON: no marker.
        for (k, v) in marker_fields(now, None) {
            file[k] = v;
        }
        assert_eq!(marker_of(file.to_string().as_bytes()), None);
        assert_eq!(marker_of(br#"{"type":"codex"}"#), None);
        let other = serde_json::json!({QUOTA_MARKER: {"disabled_by": "ops", "disabled_at": "2026-01-01T00:00:00Z"}});
        assert_eq!(marker_of(other.to_string().as_bytes()), None);
        assert_eq!(marker_of(b"not json"), None);
    }
}
