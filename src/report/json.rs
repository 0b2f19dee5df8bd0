//! The JSON report renderer, and the atomic 0600 report file writer.
//!
//! The results array is serialized on all cores: each finding is rendered pretty on its own
//! and indented by two levels, which is byte-for-byte what serde_json writes for the nested
//! array (a unit test holds the two equal).

use std::io::{self, Write};
use std::path::Path;

use serde::Serialize;

use super::{Finding, Report};

/// Everything of a report but its results, in the same field order.
#[derive(Serialize)]
struct Head<'a> {
    schema_version: u32,
    generated_at: &'a str,
    tool: &'a super::Tool,
    mode: &'a str,
    source: &'a crate::source::SourceInfo,
    fail_on: &'a [crate::status::Status],
    summary: &'a super::Summary,
    #[serde(skip_serializing_if = "Option::is_none")]
    prune: Option<&'a super::PruneInfo>,
    #[serde(skip_serializing_if = "Option::is_none")]
    next_reset_at: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    baseline: Option<&'a super::BaselineInfo>,
    #[serde(skip_serializing_if = "<[_]>::is_empty")]
    notifications: &'a [super::Notification],
}

fn render_chunk(findings: &[Finding]) -> io::Result<Vec<u8>> {
    let mut out = Vec::with_capacity(findings.len() * 700);
    for (i, f) in findings.iter().enumerate() {
        if i > 0 {
            out.extend_from_slice(b",\n");
        }
        out.extend_from_slice(b"    ");
        let mut ser = serde_json::Serializer::with_formatter(&mut out, Nested::at(2));
        f.serialize(&mut ser)?;
    }
    Ok(out)
}

/// serde_json's `PrettyFormatter` (two-space indent) starting `level` levels deep: a finding
/// written with it is byte for byte what the whole report's pretty printer writes for it inside
/// `results`, without rendering it alone first and indenting every line after.
struct Nested {
    level: usize,
    has_value: bool,
}

impl Nested {
    fn at(level: usize) -> Self {
        Self {
            level,
            has_value: false,
        }
    }

    fn indent<W: ?Sized + Write>(&self, w: &mut W) -> io::Result<()> {
        for _ in 0..self.level {
            w.write_all(b"  ")?;
        }
        Ok(())
    }

    fn open<W: ?Sized + Write>(&mut self, w: &mut W, bracket: &[u8]) -> io::Result<()> {
        self.level += 1;
        self.has_value = false;
        w.write_all(bracket)
    }

    fn close<W: ?Sized + Write>(&mut self, w: &mut W, bracket: &[u8]) -> io::Result<()> {
        self.level -= 1;
        if self.has_value {
            w.write_all(b"\n")?;
            self.indent(w)?;
        }
        w.write_all(bracket)
    }

    fn item<W: ?Sized + Write>(&self, w: &mut W, first: bool) -> io::Result<()> {
        w.write_all(if first { b"\n" } else { b",\n" })?;
        self.indent(w)
    }
}

impl serde_json::ser::Formatter for Nested {
    fn begin_array<W: ?Sized + Write>(&mut self, w: &mut W) -> io::Result<()> {
        self.open(w, b"[")
    }
    fn end_array<W: ?Sized + Write>(&mut self, w: &mut W) -> io::Result<()> {
        self.close(w, b"]")
    }
    fn begin_array_value<W: ?Sized + Write>(&mut self, w: &mut W, first: bool) -> io::Result<()> {
        self.item(w, first)
    }
    fn end_array_value<W: ?Sized + Write>(&mut self, _: &mut W) -> io::Result<()> {
        self.has_value = true;
        Ok(())
    }
    fn begin_object<W: ?Sized + Write>(&mut self, w: &mut W) -> io::Result<()> {
        self.open(w, b"{")
    }
    fn end_object<W: ?Sized + Write>(&mut self, w: &mut W) -> io::Result<()> {
        self.close(w, b"}")
    }
    fn begin_object_key<W: ?Sized + Write>(&mut self, w: &mut W, first: bool) -> io::Result<()> {
        self.item(w, first)
    }
    fn begin_object_value<W: ?Sized + Write>(&mut self, w: &mut W) -> io::Result<()> {
        w.write_all(b": ")
    }
    fn end_object_value<W: ?Sized + Write>(&mut self, _: &mut W) -> io::Result<()> {
        self.has_value = true;
        Ok(())
    }
}

/// Writes the report as pretty JSON followed by a newline.
pub fn render(report: &Report, out: &mut dyn Write) -> io::Result<()> {
    render_with_source(report, &report.source, out)
}

/// Writes the report for readers elsewhere (the report embedded in a prune commit, which is
/// pushed): like [`render`], without the local paths of the source (`source.repo`, the
/// working tree's absolute path, and `source.dir`). Result paths are repository- or
/// folder-relative already, and a remote's URL carries no userinfo.
pub fn render_portable(report: &Report, out: &mut dyn Write) -> io::Result<()> {
    let mut source = report.source.clone();
    source.repo = None;
    source.dir = None;
    render_with_source(report, &source, out)
}

fn render_with_source(
    report: &Report,
    source: &crate::source::SourceInfo,
    out: &mut dyn Write,
) -> io::Result<()> {
    let head = Head {
        schema_version: report.schema_version,
        generated_at: &report.generated_at,
        tool: &report.tool,
        mode: report.mode,
        source,
        fail_on: &report.fail_on,
        summary: &report.summary,
        prune: report.prune.as_ref(),
        next_reset_at: report.next_reset_at.map(super::rfc3339),
        baseline: report.baseline.as_ref(),
        notifications: &report.notifications,
    };
    let head = serde_json::to_vec_pretty(&head)?;
    // Drop the closing "\n}" and continue the object with the results.
    out.write_all(&head[..head.len() - 2])?;
    if report.results.is_empty() {
        out.write_all(b",\n  \"results\": []\n}\n")?;
        return Ok(());
    }
    out.write_all(b",\n  \"results\": [\n")?;
    // Render in windows so memory stays bounded: each window is split across the cores.
    let threads = std::thread::available_parallelism()
        .map_or(1, std::num::NonZero::get)
        .clamp(1, 8);
    let per_thread = 2048;
    for (w, window) in report.results.chunks(threads * per_thread).enumerate() {
        let parts: Vec<io::Result<Vec<u8>>> = std::thread::scope(|scope| {
            let handles: Vec<_> = window
                .chunks(per_thread)
                .map(|c| scope.spawn(move || render_chunk(c)))
                .collect();
            handles
                .into_iter()
                .map(|h| h.join().unwrap_or_else(|p| std::panic::resume_unwind(p)))
                .collect()
        });
        for (i, part) in parts.into_iter().enumerate() {
            if w > 0 || i > 0 {
                out.write_all(b",\n")?;
            }
            out.write_all(&part?)?;
        }
    }
    out.write_all(b"\n  ]\n}\n")
}

/// Writes the report to `path` atomically (a temporary file in the same directory, renamed into
/// place) with mode 0600, so a reader never sees half a report and other users never see it.
pub fn write_file(report: &Report, path: &Path) -> io::Result<()> {
    crate::fs::write_atomic_with(
        path,
        |file| {
            let mut buf = io::BufWriter::new(file);
            render(report, &mut buf)?;
            buf.flush()
        },
        || {},
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::status::Status;

    fn finding(path: &str) -> Finding {
        Finding {
            reason: "r \"quoted\"\nline".into(),
            fingerprint: Some("0123456789ab".into()),
            identity: None,
            has_refresh_token: true,
            duplicates: vec!["a".into(), "b".into()],
            // Nested objects, an empty array inside one, nulls: every shape a finding has.
            server: Some(Box::new(super::super::ServerState {
                auth_index: Some("i-1".into()),
                ..Default::default()
            })),
            quota: Some(Box::new(crate::verdict::Quota {
                plan: Some("plus".into()),
                windows: Vec::new(),
            })),
            ..Finding::for_test(path, "codex", Status::Unverified)
        }
    }

    fn report(n: usize) -> Report {
        let source = crate::source::SourceInfo {
            dir: Some("/x".into()),
            ..crate::source::SourceInfo::new("dir")
        };
        let results = (0..n).map(|i| finding(&format!("f{i:05}.json"))).collect();
        Report::new(
            "offline",
            source,
            vec![Status::ExpiredByTime],
            results,
            chrono::Utc::now(),
        )
    }

    #[test]
    fn parallel_render_equals_serde_pretty() {
        for n in [0, 1, 3, 5000] {
            let r = report(n);
            let mut ours = Vec::new();
            render(&r, &mut ours).unwrap();
            let mut theirs = serde_json::to_vec_pretty(&r).unwrap();
            theirs.push(b'\n');
            assert_eq!(
                String::from_utf8(ours).unwrap(),
                String::from_utf8(theirs).unwrap(),
                "n={n}"
            );
        }
    }
}
