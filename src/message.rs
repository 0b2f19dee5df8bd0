//! The prune commit message: a subject, a human table, the redacted JSON report between marker
//! lines, and trailers. `show` parses it back. Pure: no I/O.

use std::fmt::Write as _;

use crate::report::Report;

/// The line before the embedded report.
pub const BEGIN: &str = "-----BEGIN CREDMAN REPORT-----";
/// The line after the embedded report.
pub const END: &str = "-----END CREDMAN REPORT-----";

/// Renders the message of a commit that removes credentials.
pub fn prune(report: &Report, json: &str, action: &str) -> String {
    let removed: Vec<_> = report.results.iter().collect();
    let n = removed.len();
    let noun = if n == 1 { "credential" } else { "credentials" };
    let mut m = format!("credman: {action} {n} dead {noun}\n\n");
    let width = removed
        .iter()
        .map(|f| f.path.len())
        .max()
        .unwrap_or(4)
        .min(72);
    let _ = writeln!(m, "Removed ({n}):");
    for f in &removed {
        let _ = writeln!(
            m,
            "  {:<width$}  {:<11} {:<17} {}",
            f.path,
            f.provider,
            f.status.as_str(),
            f.reason
        );
    }
    if let Some(p) = report.prune.as_ref().filter(|p| !p.skipped.is_empty()) {
        let _ = writeln!(m, "\nSelected but kept ({}):", p.skipped.len());
        for s in &p.skipped {
            let _ = writeln!(m, "  {}  {}", s.path, s.reason);
        }
    }
    let kept = report.summary.total.saturating_sub(n);
    let classes: Vec<String> = report
        .summary
        .by_class
        .iter()
        .map(|(class, count)| format!("{} {count}", class.as_str()))
        .collect();
    let _ = writeln!(
        m,
        "\nScanned {} files ({}), kept {kept}.",
        report.summary.total,
        classes.join(", ")
    );
    let _ = writeln!(m, "\n{BEGIN}\n{}\n{END}\n", json.trim_end());
    let statuses: Vec<&str> = report
        .prune
        .iter()
        .flat_map(|p| p.statuses.iter().map(|s| s.as_str()))
        .collect();
    let _ = writeln!(m, "Credman-Removed: {n}");
    let _ = writeln!(m, "Credman-Statuses: {}", statuses.join(","));
    let _ = writeln!(
        m,
        "Credman-Report-Version: {}",
        crate::report::SCHEMA_VERSION
    );
    m
}

/// Renders the message of a commit that restores files removed by `rev`.
pub fn restore(paths: &[String], rev: &str) -> String {
    let n = paths.len();
    let noun = if n == 1 { "credential" } else { "credentials" };
    let mut m = format!("credman: restore {n} {noun} removed by {rev}\n\n");
    for p in paths {
        let _ = writeln!(m, "  {p}");
    }
    let _ = writeln!(m, "\nCredman-Restored: {n}\nCredman-Restored-From: {rev}");
    m
}

/// Extracts the embedded JSON report of a commit message, if it has one.
pub fn embedded_report(message: &str) -> Option<&str> {
    let start = message.find(BEGIN)? + BEGIN.len();
    let end = message[start..].find(END)? + start;
    Some(message[start..end].trim())
}

/// Returns the value of a trailer.
pub fn trailer<'a>(message: &'a str, key: &str) -> Option<&'a str> {
    message
        .lines()
        .rev()
        .find_map(|l| l.strip_prefix(key)?.strip_prefix(':').map(str::trim))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn report_round_trips_through_the_message() {
        let msg = format!(
            "credman: remove 1 dead credential\n\nx\n\n{BEGIN}\n{{\"a\": 1}}\n{END}\n\nCredman-Removed: 1\n"
        );
        assert_eq!(embedded_report(&msg), Some("{\"a\": 1}"));
        assert_eq!(trailer(&msg, "Credman-Removed"), Some("1"));
        assert_eq!(embedded_report("no report here"), None);
    }
}
