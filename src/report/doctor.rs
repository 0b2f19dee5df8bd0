//! The report of `git credman doctor`: per provider, whether its answer to a deliberately
//! invalid token still has the shape the verdict rules expect. Built by the command from the
//! judgements of `providers::doctor`; rendered as text or JSON. Holds no token and no body text:
//! statuses, content types and error codes only.

use std::io::{self, Write};

use chrono::{DateTime, Utc};
use serde::Serialize;

use super::{SCHEMA_VERSION, Tool, escape as esc};

/// What doctor found for one provider.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Health {
    /// The answer has the expected shape.
    Ok,
    /// The answer does not: the rules would misjudge real credentials.
    Drift,
    /// Could not be checked (network, 5xx, 429); not drift.
    Unreachable,
}

impl Health {
    /// The lower-case name.
    pub fn as_str(self) -> &'static str {
        match self {
            Health::Ok => "ok",
            Health::Drift => "drift",
            Health::Unreachable => "unreachable",
        }
    }
}

/// One provider's result.
#[derive(Clone, Debug, Serialize)]
pub struct Check {
    /// The provider.
    pub provider: String,
    /// The canary file this row checked (`--canary`); none for the invalid-token probes.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub canary: Option<String>,
    /// ok, drift or unreachable.
    pub health: Health,
    /// The request that decided (its public URL), or the first one when all went well.
    pub request: String,
    /// What the rules expect (drift only).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub expected: Option<String>,
    /// What came back (drift), or why nothing could be checked (unreachable).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub seen: Option<String>,
    /// How long the check took.
    pub elapsed_ms: u64,
}

/// Counts per health.
#[derive(Clone, Debug, Default, Serialize)]
pub struct DoctorSummary {
    /// Providers checked.
    pub checked: usize,
    /// As expected.
    pub ok: usize,
    /// Drifted.
    pub drift: usize,
    /// Not checked.
    pub unreachable: usize,
}

/// The whole doctor report.
#[derive(Clone, Debug, Serialize)]
pub struct DoctorReport {
    /// Always [`SCHEMA_VERSION`].
    pub schema_version: u32,
    /// Always `doctor`.
    pub kind: &'static str,
    /// When the report was made.
    pub generated_at: String,
    /// The tool.
    pub tool: Tool,
    /// Counts.
    pub summary: DoctorSummary,
    /// One entry per provider, in provider order.
    pub results: Vec<Check>,
}

impl DoctorReport {
    /// Builds a report and counts it.
    pub fn new(results: Vec<Check>, now: DateTime<Utc>) -> Self {
        let count = |h| results.iter().filter(|c| c.health == h).count();
        let summary = DoctorSummary {
            checked: results.len(),
            ok: count(Health::Ok),
            drift: count(Health::Drift),
            unreachable: count(Health::Unreachable),
        };
        Self {
            schema_version: SCHEMA_VERSION,
            kind: "doctor",
            generated_at: crate::report::rfc3339(now),
            tool: Tool::this(),
            summary,
            results,
        }
    }
}

/// Writes the report as pretty JSON and a newline.
pub fn render_json(report: &DoctorReport, out: &mut dyn Write) -> io::Result<()> {
    serde_json::to_writer_pretty(&mut *out, report)?;
    writeln!(out)
}

/// Writes the text report: one line per provider, the details of drift, then a verdict line.
pub fn render_text(report: &DoctorReport, out: &mut dyn Write) -> io::Result<()> {
    for c in &report.results {
        match &c.canary {
            Some(path) => writeln!(
                out,
                "{:<12} {:<11} canary {}",
                esc(&c.provider),
                c.health.as_str(),
                esc(path)
            )?,
            None => writeln!(
                out,
                "{:<12} {:<11} {}",
                esc(&c.provider),
                c.health.as_str(),
                esc(&c.request)
            )?,
        }
        if let Some(expected) = &c.expected {
            writeln!(out, "    expected: {}", esc(expected))?;
        }
        if let Some(seen) = &c.seen {
            let label = if c.health == Health::Drift {
                "got"
            } else {
                "why"
            };
            writeln!(out, "    {label}: {}", esc(seen))?;
        }
    }
    let s = &report.summary;
    let line = if s.drift > 0 {
        format!(
            "DRIFT: {} of {} provider(s) no longer answer as the rules expect; their verdicts cannot be trusted until the rules are updated.",
            s.drift, s.checked
        )
    } else if s.unreachable > 0 {
        format!(
            "NOT CHECKED: {} of {} provider(s) could not be reached; {} ok.",
            s.unreachable, s.checked, s.ok
        )
    } else {
        format!("OK: {} provider(s) answer as the rules expect.", s.checked)
    };
    writeln!(out, "{line}")
}
