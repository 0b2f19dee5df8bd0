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

/// Renders `findings` into `out` (cleared first, its capacity kept).
fn render_chunk(findings: &[Finding], mut out: Vec<u8>) -> io::Result<Vec<u8>> {
    out.clear();
    // About what a finding takes (700 bytes offline, 1,000 with an online check's quota),
    // so that the buffer is not grown and copied on the way; pages never written cost nothing.
    out.reserve(findings.len() * 1200);
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

/// Findings rendered together, by one thread, into one buffer (about 300 KB). Few enough that
/// the buffers in flight stay small: at 2,048 a 10,000-finding report rendered into five fresh
/// buffers of 2.4 MB, a fifth of an online scan's page faults (issue 13).
const PER_CHUNK: usize = 256;

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
    // Rendered on every core, in chunks written in order as they come: each of a few
    // threads renders every `threads`-th chunk, at most one ahead of the writer, into buffers
    // the writer hands back. Memory stays bounded (a few chunks), and the threads and their
    // buffers live for the whole report, not once per window of chunks (at 10,000 findings
    // that was six threads' fresh pages, issue 13).
    let chunks: Vec<&[Finding]> = report.results.chunks(PER_CHUNK).collect();
    let threads = std::thread::available_parallelism()
        .map_or(1, std::num::NonZero::get)
        .clamp(1, 8)
        .min(chunks.len());
    std::thread::scope(|scope| {
        let workers: Vec<_> = (0..threads)
            .map(|w| {
                let (done, rendered) = std::sync::mpsc::sync_channel::<io::Result<Vec<u8>>>(1);
                let (give_back, returned) = std::sync::mpsc::channel::<Vec<u8>>();
                let mine: Vec<&[Finding]> =
                    chunks.iter().skip(w).step_by(threads).copied().collect();
                scope.spawn(move || {
                    for c in mine {
                        let buf = returned.try_recv().unwrap_or_default();
                        // The writer stopped (a write failed): nothing more to do.
                        if done.send(render_chunk(c, buf)).is_err() {
                            return;
                        }
                    }
                });
                (rendered, give_back)
            })
            .collect();
        for i in 0..chunks.len() {
            let (rendered, give_back) = &workers[i % threads];
            // A worker that stopped early panicked: the scope re-raises its panic.
            let Ok(part) = rendered.recv() else {
                return Err(io::Error::other("a report thread stopped"));
            };
            let part = part?;
            if i > 0 {
                out.write_all(b",\n")?;
            }
            out.write_all(&part)?;
            // The worker may have finished: then the buffer is simply dropped.
            let _ = give_back.send(part);
        }
        Ok(())
    })?;
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
