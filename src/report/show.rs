//! Rendering of `git credman show`: the prune commit's report and signature status.

use std::io::{self, Write};

use serde_json::{Value, json};

use crate::git::cli::Signature;

use super::{Format, escape};

/// Writes what `show` prints.
pub fn render(
    commit: &str,
    message: &str,
    report: &Value,
    signature: &Signature,
    format: Format,
    color: bool,
    out: &mut dyn Write,
) -> io::Result<()> {
    if format == Format::Json {
        serde_json::to_writer_pretty(
            &mut *out,
            &json!({"commit": commit, "signature": signature, "report": report}),
        )?;
        return writeln!(out);
    }
    let subject = escape(message.lines().next().unwrap_or(""));
    let sig = match signature {
        Signature::Good(d) => format!("good ({})", escape(d)),
        Signature::Bad(d) => format!("BAD ({})", escape(d)),
        Signature::Unsigned => "none (unsigned commit)".to_owned(),
        Signature::NoAllowedSigners => "signed (ssh), but not verified: no allowed-signers file; \
            set one with `git config gpg.ssh.allowedSignersFile FILE` (lines `EMAIL KEY`, see \
            git-config(1))"
            .to_owned(),
    };
    let bold = anstyle::Style::new().bold();
    let b = |s: &str| {
        if color {
            format!("{bold}{s}{bold:#}")
        } else {
            s.to_owned()
        }
    };
    writeln!(out, "{} {commit}", b("commit"))?;
    writeln!(out, "{} {subject}", b("subject"))?;
    writeln!(out, "{} {sig}", b("signature"))?;
    let total = report
        .pointer("/summary/total")
        .and_then(Value::as_u64)
        .unwrap_or(0);
    let mode = escape(report.get("mode").and_then(Value::as_str).unwrap_or("?"));
    writeln!(
        out,
        "{} {} files scanned ({mode}), at {}",
        b("scan"),
        total,
        escape(
            report
                .get("generated_at")
                .and_then(Value::as_str)
                .unwrap_or("?")
        )
    )?;
    let results = report
        .get("results")
        .and_then(Value::as_array)
        .cloned()
        .unwrap_or_default();
    let listed = match report.pointer("/prune/results").and_then(Value::as_str) {
        Some("selected") => "Selected",
        _ => "Removed",
    };
    writeln!(out)?;
    writeln!(out, "{listed} ({}):", results.len())?;
    for r in &results {
        let s = |k: &str| escape(r.get(k).and_then(Value::as_str).unwrap_or("")).into_owned();
        writeln!(
            out,
            "  {}  {}  {}  {}",
            s("path"),
            s("provider"),
            s("status"),
            s("reason")
        )?;
    }
    if let Some(skipped) = report
        .pointer("/prune/skipped")
        .and_then(Value::as_array)
        .filter(|v| !v.is_empty())
    {
        writeln!(out)?;
        writeln!(out, "Selected but kept ({}):", skipped.len())?;
        for s in skipped {
            let g = |k: &str| escape(s.get(k).and_then(Value::as_str).unwrap_or("")).into_owned();
            writeln!(out, "  {}  {}", g("path"), g("reason"))?;
        }
    }
    Ok(())
}
