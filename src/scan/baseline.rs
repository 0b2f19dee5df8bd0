//! `--baseline REPORT`: a previous JSON report of the same kind of source, against which a
//! scan or a prune is limited to the credentials whose status changed.
//!
//! "Changed" is exact: a scanned file is **unchanged** when the baseline has an entry with
//! the same status that is either (1) at the same path with the same fingerprint (both absent
//! for files that hold no token), (2) at any path with the same fingerprint (a rename: the
//! fingerprint is the SHA-256 of the token, so it follows the token, not the name), or (3) at
//! any path with the same identity key, when both have one (provider, account and token
//! family: a CPA refresh rewrites the tokens, not the account, so a refreshed or renamed file
//! keeps it; baselines written before the key existed have none and match by (1) and (2)).
//! Every other file is **changed**: new files, files of another account, and files whose
//! status differs.
//!
//! Pure apart from reading the one report file; no printing. Called by `commands::scan` and
//! `commands::prune`.

use std::collections::{HashMap, HashSet};
use std::path::Path;

use serde::Deserialize;

use super::Scanned;
use crate::status::Status;

/// A baseline report, as much of it as the comparison needs.
#[derive(Debug, Deserialize)]
struct Doc {
    schema_version: u32,
    tool: Tool,
    source: Source,
    /// Present when that report was itself limited by a baseline.
    #[serde(default)]
    baseline: Option<serde::de::IgnoredAny>,
    #[serde(default)]
    prune: Option<serde::de::IgnoredAny>,
    results: Vec<Row>,
}

#[derive(Debug, Deserialize)]
struct Tool {
    name: String,
}

#[derive(Debug, Deserialize)]
struct Source {
    kind: String,
}

#[derive(Debug, Deserialize)]
struct Row {
    path: String,
    status: Status,
    #[serde(default)]
    fingerprint: Option<String>,
    #[serde(default)]
    identity: Option<String>,
}

/// A loaded baseline.
#[derive(Debug, Default)]
pub struct Baseline {
    /// (path, fingerprint) → status.
    paths: HashMap<(String, Option<String>), Status>,
    /// fingerprint → every status the baseline has it with.
    fingerprints: HashMap<String, HashSet<Status>>,
    /// identity key → every status the baseline has it with.
    identities: HashMap<String, HashSet<Status>>,
}

/// Why a baseline cannot be used (exit 2, one line).
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The file cannot be read.
    #[error("cannot read the baseline {file}: {source}")]
    Read {
        /// The file.
        file: String,
        /// Why.
        #[source]
        source: std::io::Error,
    },
    /// The file is not a usable git-credman scan report.
    #[error("--baseline {file}: {why}")]
    Unusable {
        /// The file.
        file: String,
        /// What is wrong, with a hint.
        why: String,
    },
}

/// The family of a source kind: reports of one family can be compared.
fn family(kind: &str) -> &str {
    match kind {
        "head" | "rev" | "index" | "remote" => "a git tree",
        "dir" => "a folder",
        "server" => "a server",
        other => other,
    }
}

impl Baseline {
    /// Reads a baseline report and checks that it describes the same kind of source as
    /// `kind` (the scan's `source.kind`).
    pub fn read(path: &Path, kind: &str) -> Result<Self, Error> {
        let file = crate::report::escape(&path.display().to_string()).into_owned();
        let bytes = std::fs::read(path).map_err(|source| Error::Read {
            file: file.clone(),
            source,
        })?;
        let unusable = |why: String| Error::Unusable {
            file: file.clone(),
            why,
        };
        let doc: Doc = serde_json::from_slice(&bytes).map_err(|e| {
            // Position and category only: serde quotes values, which could be anything.
            unusable(format!(
                "not a git-credman JSON report (line {} column {}); write one with \
                 `git credman scan --report FILE`",
                e.line(),
                e.column()
            ))
        })?;
        if doc.tool.name != "git-credman" || doc.schema_version != crate::report::SCHEMA_VERSION {
            return Err(unusable(format!(
                "not a schema_version {} git-credman report; write one with this version \
                 (`git credman scan --report FILE`)",
                crate::report::SCHEMA_VERSION
            )));
        }
        if doc.prune.is_some() {
            return Err(unusable(
                "is a prune report (it lists only what it removed); use a scan report \
                 (`git credman scan --report FILE`)"
                    .to_owned(),
            ));
        }
        if doc.baseline.is_some() {
            return Err(unusable(
                "was itself limited by a baseline (it lists only what changed); use the \
                 report of a scan without --baseline"
                    .to_owned(),
            ));
        }
        if family(&doc.source.kind) != family(kind) {
            return Err(unusable(format!(
                "is the report of {}, this run scans {}; use a baseline of the same kind of \
                 source",
                crate::report::escape(family(&doc.source.kind)),
                family(kind)
            )));
        }
        let mut b = Baseline::default();
        for r in doc.results {
            if let Some(id) = &r.identity {
                b.identities.entry(id.clone()).or_default().insert(r.status);
            }
            if let Some(fp) = &r.fingerprint {
                b.fingerprints
                    .entry(fp.clone())
                    .or_default()
                    .insert(r.status);
            }
            b.paths.insert((r.path, r.fingerprint), r.status);
        }
        Ok(b)
    }

    /// Whether the file's status changed since the baseline (see the module docs).
    pub fn changed(&self, s: &Scanned) -> bool {
        let status = s.status();
        let fp = s.facts.fingerprint.as_deref();
        if self.paths.get(&(s.path.clone(), fp.map(str::to_owned))) == Some(&status) {
            return false;
        }
        let seen = |map: &HashMap<String, HashSet<Status>>, key: Option<&str>| {
            key.and_then(|k| map.get(k))
                .is_some_and(|statuses| statuses.contains(&status))
        };
        !(seen(&self.fingerprints, fp) || seen(&self.identities, s.facts.identity.as_deref()))
    }

    /// Keeps only the changed files; returns (changed, unchanged) counts.
    pub fn retain_changed(&self, scanned: &mut Vec<Scanned>) -> (usize, usize) {
        let before = scanned.len();
        scanned.retain(|s| self.changed(s));
        (scanned.len(), before - scanned.len())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::scan::test_scanned;

    fn write(doc: &serde_json::Value) -> (tempfile::TempDir, std::path::PathBuf) {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("b.json");
        std::fs::write(&path, doc.to_string()).unwrap();
        (dir, path)
    }

    fn doc(kind: &str, results: serde_json::Value) -> serde_json::Value {
        serde_json::json!({"schema_version": crate::report::SCHEMA_VERSION,
            "tool": {"name": "git-credman"}, "source": {"kind": kind}, "results": results})
    }

    fn with_fp(mut s: Scanned, fp: &str) -> Scanned {
        s.facts.fingerprint = Some(fp.into());
        s
    }

    #[test]
    fn unchanged_means_same_status_by_path_and_fingerprint_or_by_fingerprint_alone() {
        let (_d, path) = write(&doc(
            "head",
            serde_json::json!([
                {"path": "a.json", "status": "expired_by_time", "fingerprint": "aaaaaaaaaaaa"},
                {"path": "old.json", "status": "expired_by_time", "fingerprint": "bbbbbbbbbbbb"},
                {"path": "c.json", "status": "unverified", "fingerprint": "cccccccccccc"},
                {"path": "bad.json", "status": "invalid_file", "fingerprint": null},
            ]),
        ));
        let b = Baseline::read(&path, "rev").unwrap();
        let dead = Status::ExpiredByTime;
        // Same path, token and status: unchanged.
        assert!(!b.changed(&with_fp(
            test_scanned("a.json", "codex", dead, None),
            "aaaaaaaaaaaa"
        )));
        // Renamed, same token and status: unchanged.
        assert!(!b.changed(&with_fp(
            test_scanned("new.json", "codex", dead, None),
            "bbbbbbbbbbbb"
        )));
        // Status changed: changed.
        assert!(b.changed(&with_fp(
            test_scanned("c.json", "codex", dead, None),
            "cccccccccccc"
        )));
        // Same path, new token (a rewrite) and no identity key: changed.
        assert!(b.changed(&with_fp(
            test_scanned("a.json", "codex", dead, None),
            "dddddddddddd"
        )));
        // New file: changed. A token-less file is matched by path.
        assert!(b.changed(&test_scanned("x.json", "codex", dead, None)));
        assert!(!b.changed(&test_scanned(
            "bad.json",
            "unknown",
            Status::InvalidFile,
            None
        )));
    }

    #[test]
    fn a_rewrite_or_rename_of_the_same_account_is_unchanged_by_identity() {
        let (_d, path) = write(&doc(
            "head",
            serde_json::json!([
                {"path": "a.json", "status": "expired_by_time", "fingerprint": "aaaaaaaaaaaa",
                 "identity": "111111111111"},
            ]),
        ));
        let b = Baseline::read(&path, "head").unwrap();
        let dead = Status::ExpiredByTime;
        let with_id = |path: &str, fp: &str, id: &str, status: Status| {
            let mut s = with_fp(test_scanned(path, "codex", status, None), fp);
            s.facts.identity = Some(id.into());
            s
        };
        // New token, same account (CPA's refresh), renamed too: unchanged.
        assert!(!b.changed(&with_id("b.json", "dddddddddddd", "111111111111", dead)));
        // Same account, another status: changed.
        assert!(b.changed(&with_id(
            "a.json",
            "dddddddddddd",
            "111111111111",
            Status::Unverified
        )));
        // Another account at the same path: changed.
        assert!(b.changed(&with_id("a.json", "dddddddddddd", "222222222222", dead)));
    }

    #[test]
    fn refuses_other_sources_prune_reports_and_filtered_reports() {
        let (_d, path) = write(&doc("dir", serde_json::json!([])));
        let err = Baseline::read(&path, "head").unwrap_err().to_string();
        assert!(err.contains("report of a folder"), "{err}");
        let mut d = doc("head", serde_json::json!([]));
        d["baseline"] = serde_json::json!({"unchanged": 1, "changed": 0});
        let (_d, path) = write(&d);
        let err = Baseline::read(&path, "head").unwrap_err().to_string();
        assert!(err.contains("itself limited by a baseline"), "{err}");
        let mut d = doc("head", serde_json::json!([]));
        d["prune"] = serde_json::json!({"dry_run": true});
        let (_d, path) = write(&d);
        assert!(Baseline::read(&path, "head").is_err());
        let (_d, path) = write(&serde_json::json!({"x": "sk-secretish"}));
        let err = Baseline::read(&path, "head").unwrap_err().to_string();
        assert!(
            err.contains("not a git-credman JSON report") && !err.contains("sk-"),
            "{err}"
        );
    }
}
