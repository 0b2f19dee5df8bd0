//! The prune commit message: a subject, a human table, the redacted JSON report between marker
//! lines, and trailers. `show` parses it back. Pure: no I/O.

use std::fmt::Write as _;

use crate::report::{Report, escape};

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
            escape(&f.path),
            escape(&f.provider),
            f.status.as_str(),
            escape(&f.reason)
        );
    }
    if let Some(p) = report.prune.as_ref().filter(|p| !p.skipped.is_empty()) {
        let _ = writeln!(m, "\nSelected but kept ({}):", p.skipped.len());
        for s in &p.skipped {
            let _ = writeln!(m, "  {}  {}", escape(&s.path), escape(&s.reason));
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
    let rev = escape(rev);
    let mut m = format!("credman: restore {n} {noun} removed by {rev}\n\n");
    for p in paths {
        let _ = writeln!(m, "  {}", escape(p));
    }
    let _ = writeln!(m, "\nCredman-Restored: {n}\nCredman-Restored-From: {rev}");
    m
}

/// Extracts the embedded JSON report of a commit message, if it has one.
///
/// Only the block git-credman writes counts: the marker lines must be whole lines, the block
/// must be the last one, and only blank lines and `Credman-*` trailers may follow it. The
/// text before it (the table, which names files) cannot hold a marker line anyway, because
/// every name is escaped there (see [`escape`]); the anchoring makes sure that a message
/// edited to carry an extra block is not read from its first match.
pub fn embedded_report(message: &str) -> Option<&str> {
    let begin_line = format!("\n{BEGIN}\n");
    let start = message.rfind(&begin_line)? + begin_line.len();
    let rest = &message[start..];
    let (json, after) = if let Some(stripped) = rest.strip_prefix(&format!("{END}\n")) {
        ("", stripped)
    } else {
        let end_line = format!("\n{END}\n");
        let end = rest
            .find(&end_line)
            .map(|i| (i, i + end_line.len()))
            .or_else(|| {
                rest.strip_suffix(&format!("\n{END}"))
                    .map(|json| (json.len(), rest.len()))
            })?;
        (&rest[..end.0], &rest[end.1..])
    };
    let only_trailers = after
        .lines()
        .all(|l| l.trim().is_empty() || l.starts_with("Credman-"));
    only_trailers.then(|| json.trim())
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

    #[test]
    fn regression_10_only_the_last_whole_line_block_before_the_trailers_counts() {
        let real = "{\"real\": true}";
        let forged = format!("x\n{BEGIN}\n{{\"forged\": true}}\n{END}\n");
        let msg = format!(
            "credman: remove 1 dead credential\n\n  {forged}  codex\n\n{BEGIN}\n{real}\n{END}\n\nCredman-Removed: 1\n"
        );
        assert_eq!(embedded_report(&msg), Some(real));
        // Marker text that is not a whole line does not count.
        let inline = format!("credman: x\n\nsee {BEGIN} {{}} {END}\n");
        assert_eq!(embedded_report(&inline), None);
        // A block followed by anything but trailers is not git-credman's.
        let appended = format!("{msg}\n{BEGIN}\n{{}}\n{END}\nmore text\n");
        assert_eq!(embedded_report(&appended), None);
    }

    #[test]
    fn regression_10_names_in_the_message_cannot_hold_marker_lines() {
        let f = crate::report::Finding {
            path: format!("auths/x\n{BEGIN}\n{{}}\n{END}\n.json"),
            provider: "co\u{1b}[31mdex".into(),
            status: crate::status::Status::ExpiredByTime,
            class: crate::status::Status::ExpiredByTime.class(),
            reason: "why\r\nnot".into(),
            http_status: None,
            fingerprint: None,
            account: None,
            plan: None,
            expires_at: None,
            has_refresh_token: false,
            disabled: false,
            blob: None,
            duplicates: Vec::new(),
            duplicate_group: None,
            worktree: None,
            reset_at: None,
            checked_at: None,
            server: None,
            elapsed_ms: None,
        };
        let source = crate::source::SourceInfo {
            kind: "head",
            repo: None,
            rev: None,
            commit: None,
            tree: None,
            dir: None,
            url: None,
            auth_path: None,
            pathspecs: vec![],
            shard: None,
        };
        let report = Report::new("offline", source, vec![], vec![f], chrono::Utc::now());
        let msg = prune(&report, "{\"real\": 1}", "remove");
        assert_eq!(msg.lines().filter(|l| *l == BEGIN).count(), 1, "{msg}");
        assert!(!msg.contains('\u{1b}') && !msg.contains('\r'), "{msg}");
        assert_eq!(embedded_report(&msg), Some("{\"real\": 1}"));
        let restore = restore(&["a\nCredman-Restored: 99".to_owned()], "HEAD");
        assert_eq!(trailer(&restore, "Credman-Restored"), Some("1"));
    }
}
