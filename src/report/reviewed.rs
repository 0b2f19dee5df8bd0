//! Reading a reviewed JSON report back (`prune --from-report FILE`): only the fields a prune
//! needs to decide (the source's kind and commit, and per result its path, provider, status,
//! reason, fingerprint and blob), into compact records. The report is input written by
//! git-credman and reviewed by people; nothing here trusts it further than its shape: what
//! it may remove is bounded by the prune's status set and by each file's blob (see
//! `prune::from_report`). No I/O beyond reading the one file; no printing.

use std::path::Path;

use serde::Deserialize;

use crate::status::Status;

/// A reviewed report, as much of it as a prune uses.
#[derive(Clone, Debug, Deserialize)]
pub struct Reviewed {
    /// The report's schema version.
    pub schema_version: u32,
    /// The tool that wrote it.
    pub tool: ReviewedTool,
    /// `offline` or `online`.
    pub mode: String,
    /// Where its credentials came from.
    pub source: ReviewedSource,
    /// A prune report's `prune` object, when it is one.
    #[serde(default)]
    pub prune: Option<ReviewedPrune>,
    /// One entry per file.
    pub results: Vec<ReviewedFinding>,
}

/// The report's `tool` object.
#[derive(Clone, Debug, Deserialize)]
pub struct ReviewedTool {
    /// Always `git-credman` in reports git-credman wrote.
    pub name: String,
}

/// The report's `source` object (the fields a prune compares).
#[derive(Clone, Debug, Deserialize)]
pub struct ReviewedSource {
    /// `head`, `index`, `rev`, `remote`, `dir` or `server`.
    pub kind: String,
    /// The commit scanned, when the tree came from a commit.
    #[serde(default)]
    pub commit: Option<String>,
    /// `K/N` for one shard of a sharded scan.
    #[serde(default)]
    pub shard: Option<String>,
}

/// The report's `prune` object (a prune's report, e.g. a `--dry-run` plan).
#[derive(Clone, Debug, Deserialize)]
pub struct ReviewedPrune {
    /// Whether nothing was written.
    pub dry_run: bool,
}

/// One result of a reviewed report.
#[derive(Clone, Debug, Deserialize)]
pub struct ReviewedFinding {
    /// Path relative to the repository root.
    pub path: String,
    /// Provider.
    pub provider: String,
    /// The reviewed verdict.
    pub status: Status,
    /// Why.
    #[serde(default)]
    pub reason: String,
    /// HTTP status of the deciding answer.
    #[serde(default)]
    pub http_status: Option<u16>,
    /// The token's fingerprint.
    #[serde(default)]
    pub fingerprint: Option<String>,
    /// The blob scanned (hex), the content the verdict is about.
    #[serde(default)]
    pub blob: Option<String>,
}

/// Why a reviewed report cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The file cannot be read.
    #[error("cannot read the report {path}: {source}")]
    Read {
        /// The file.
        path: String,
        /// Why.
        #[source]
        source: std::io::Error,
    },
    /// The file is no git-credman JSON report.
    #[error(
        "{path} is not a git-credman JSON report ({why}); write one with `git credman scan --report FILE`"
    )]
    Parse {
        /// The file.
        path: String,
        /// serde's words (a position and what was expected; never the file's values).
        why: String,
    },
}

/// Reads a reviewed report from `path`.
pub fn read(path: &Path) -> Result<Reviewed, Error> {
    let shown = super::escape(&path.display().to_string()).into_owned();
    let bytes = std::fs::read(path).map_err(|source| Error::Read {
        path: shown.clone(),
        source,
    })?;
    parse(&bytes).map_err(|why| Error::Parse { path: shown, why })
}

/// Parses a reviewed report; the error names the line and column, and what was expected.
pub fn parse(bytes: &[u8]) -> Result<Reviewed, String> {
    serde_json::from_slice(bytes).map_err(|e| describe(&e))
}

/// Parses any JSON document, with the same errors as [`parse`].
pub fn parse_value(bytes: &[u8]) -> Result<serde_json::Value, String> {
    serde_json::from_slice(bytes).map_err(|e| describe(&e))
}

/// Describes a JSON error by category and position only.
fn describe(e: &serde_json::Error) -> String {
    {
        // serde_json quotes unexpected values ("invalid value: string \"...\""), which could be
        // anything a file holds: keep only the category and the position.
        format!(
            "{} at line {} column {}",
            match e.classify() {
                serde_json::error::Category::Io => "read error",
                serde_json::error::Category::Syntax => "invalid JSON",
                serde_json::error::Category::Data => "unexpected content",
                serde_json::error::Category::Eof => "truncated JSON",
            },
            e.line(),
            e.column()
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parse_reads_what_a_prune_needs_and_ignores_the_rest() {
        let doc = serde_json::json!({
            "schema_version": 1, "tool": {"name": "git-credman", "version": "0"},
            "mode": "online", "generated_at": "2026-01-01T00:00:00Z",
            "source": {"kind": "head", "commit": "ab", "tree": "cd"},
            "fail_on": [], "summary": {},
            "results": [{"path": "auths/a.json", "provider": "codex", "status": "invalidated",
                "reason": "401", "http_status": 401, "fingerprint": "f", "blob": "0123",
                "extra": true}]
        });
        let r = parse(doc.to_string().as_bytes()).unwrap();
        assert_eq!(r.source.kind, "head");
        assert_eq!(r.results[0].status, Status::Invalidated);
        assert_eq!(r.results[0].blob.as_deref(), Some("0123"));
        assert!(r.prune.is_none());
    }

    #[test]
    fn parse_errors_never_quote_the_file() {
        let doc = br#"{"schema_version": 1, "tool": {"name": "x"}, "mode": "m",
            "source": {"kind": "head"}, "results": [{"path": "p", "provider": "c",
            "status": "sk-not-a-status"}]}"#;
        let err = parse(doc).unwrap_err();
        assert!(err.starts_with("unexpected content at line"), "{err}");
        assert!(!err.contains("sk-not"), "{err}");
    }
}
