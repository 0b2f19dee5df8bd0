//! The report of `git credman history`: credentials whose blobs are in the history of the
//! branch (or of every reference) but no longer in HEAD, one entry per token, with the commit
//! that removed each one. Built from the scan records by the command; rendered as text or JSON
//! (`$defs/history` in schema/report.schema.json). Never holds a token: fingerprints and masked
//! identities only.

use std::io::{self, Write};

use chrono::{DateTime, Utc};
use serde::Serialize;

use super::{Finding, SCHEMA_VERSION, Tool, escape as esc};

/// Where the walk started and what it covered.
#[derive(Clone, Debug, Serialize)]
pub struct HistorySource {
    /// Always `history`.
    pub kind: &'static str,
    /// The repository's working tree (or git dir when bare).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub repo: Option<String>,
    /// `HEAD`, or `--all` (every reference).
    pub refs: &'static str,
    /// Only commits authored at or after this time.
    pub since: Option<String>,
}

/// Counts of the walk.
#[derive(Clone, Debug, Default, Serialize)]
pub struct HistorySummary {
    /// Commits walked.
    pub commits: usize,
    /// Distinct blobs removed from a `*.json` path and absent from HEAD: each read once.
    pub blobs: usize,
    /// Distinct credentials (by token fingerprint) among them.
    pub credentials: usize,
    /// Of those, the ones listed: not dead.
    pub exposed: usize,
}

/// One credential found in the history.
#[derive(Clone, Debug, Serialize)]
pub struct Exposure {
    /// The path it had when it was removed.
    pub path: String,
    /// Provider.
    pub provider: String,
    /// The verdict (offline, or online unless `--offline`).
    pub status: crate::status::Status,
    /// The verdict's class.
    pub class: crate::status::Class,
    /// Why.
    pub reason: String,
    /// The token's fingerprint.
    pub fingerprint: Option<String>,
    /// The account, masked unless `--show-identities`.
    pub account: Option<String>,
    /// When the access token expires, when known.
    pub expires_at: Option<String>,
    /// Whether a refresh token is present.
    pub has_refresh_token: bool,
    /// The blob in the history.
    pub blob: Option<String>,
    /// The commit that removed (or rewrote) the file.
    pub removed_in: String,
    /// That commit's author.
    pub removed_by: String,
    /// That commit's author time.
    pub removed_at: String,
    /// How many other historic blobs hold the same token.
    pub copies: usize,
}

impl Exposure {
    /// An entry from a scan finding and the removal that brought its blob.
    pub fn new(f: &Finding, commit: String, author: String, time: i64, copies: usize) -> Self {
        let at = DateTime::<Utc>::from_timestamp(time, 0).unwrap_or_default();
        Self {
            path: f.path.clone(),
            provider: f.provider.clone(),
            status: f.status,
            class: f.class,
            reason: f.reason.clone(),
            fingerprint: f.fingerprint.clone(),
            account: f.account.clone(),
            expires_at: f.expires_at.map(crate::report::rfc3339),
            has_refresh_token: f.has_refresh_token,
            blob: f.blob.map(|b| b.to_string()),
            removed_in: commit,
            removed_by: author,
            removed_at: crate::report::rfc3339(at),
            copies,
        }
    }
}

/// The whole history report.
#[derive(Clone, Debug, Serialize)]
pub struct HistoryReport {
    /// Always [`SCHEMA_VERSION`].
    pub schema_version: u32,
    /// When the report was made.
    pub generated_at: String,
    /// The tool.
    pub tool: Tool,
    /// `offline` or `online`.
    pub mode: &'static str,
    /// What was walked.
    pub source: HistorySource,
    /// Counts.
    pub summary: HistorySummary,
    /// The exposed credentials, sorted by path and fingerprint.
    pub results: Vec<Exposure>,
}

impl HistoryReport {
    /// Builds a report, sorting the results.
    pub fn new(
        mode: &'static str,
        source: HistorySource,
        summary: HistorySummary,
        mut results: Vec<Exposure>,
        now: DateTime<Utc>,
    ) -> Self {
        results.sort_by(|a, b| (&a.path, &a.fingerprint).cmp(&(&b.path, &b.fingerprint)));
        Self {
            schema_version: SCHEMA_VERSION,
            generated_at: crate::report::rfc3339(now),
            tool: Tool::this(),
            mode,
            source,
            summary,
            results,
        }
    }
}

/// Writes the report as pretty JSON and a newline.
pub fn render_json(report: &HistoryReport, out: &mut dyn Write) -> io::Result<()> {
    serde_json::to_writer_pretty(&mut *out, report)?;
    writeln!(out)
}

/// Writes the text report: the counts, then one line per exposed credential.
pub fn render_text(report: &HistoryReport, out: &mut dyn Write) -> io::Result<()> {
    let s = &report.summary;
    writeln!(
        out,
        "History of {} ({} commits, {}): {} credential blob(s) no longer in HEAD, {} distinct token(s).",
        report.source.refs, s.commits, report.mode, s.blobs, s.credentials
    )?;
    if report.results.is_empty() {
        writeln!(out, "OK: no live credential in the history.")?;
        return Ok(());
    }
    writeln!(out)?;
    writeln!(out, "Still live in history ({}):", report.results.len())?;
    for e in &report.results {
        let short: String = e.removed_in.chars().take(12).collect();
        writeln!(
            out,
            "  {}  {}  {}  fp {}  removed in {short} by {} on {}",
            esc(&e.path),
            esc(&e.provider),
            e.status.as_str(),
            e.fingerprint.as_deref().unwrap_or("-"),
            esc(&e.removed_by),
            e.removed_at
        )?;
    }
    writeln!(out)?;
    writeln!(
        out,
        "FAIL: revoke these credentials at their provider: removing a file from HEAD leaves it in \
         the history."
    )
}
