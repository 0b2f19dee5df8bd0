//! The prune commit message: a subject, a short human list, the redacted report between marker
//! lines, and trailers. `show` parses it back ([`decode_report`]). Pure: no I/O.
//!
//! The embedded report is compact so that 10,000 removals stay small and readable (issue 13): a
//! first line holds the report's JSON without its results, plus the row `columns` and the
//! distinct `reasons`; then one JSON array per removed file, its columns in that order, the
//! reason as an index, trailing empty columns left out. The names of a file's duplicates, check
//! timings and server state are not embedded (the group's id and size are). Messages written
//! before (one pretty JSON document) are read as they are.

use std::collections::HashMap;
use std::fmt::Write as _;

use serde_json::{Map, Value, json};

use crate::report::{Finding, Report, escape};

/// How many files the human list names before it points to `git credman show`.
const LISTED: usize = 20;

/// The columns of an embedded result row, in order.
pub const COLUMNS: [&str; 18] = [
    "path",
    "provider",
    "status",
    "reason",
    "blob",
    "fingerprint",
    "identity",
    "account",
    "expires_at",
    "has_refresh_token",
    "disabled",
    "plan",
    "http_status",
    "reset_at",
    "checked_at",
    "duplicate_group",
    "worktree",
    "strikes",
];

/// The line before the embedded report.
pub const BEGIN: &str = "-----BEGIN CREDMAN REPORT-----";
/// The line after the embedded report.
pub const END: &str = "-----END CREDMAN REPORT-----";

/// Renders the message of a commit that removes credentials; `head` is the portable JSON of the
/// report without its results (`report::json::render_portable` of it).
pub fn prune(report: &Report, head: &str, action: &str) -> String {
    let removed = &report.results;
    let n = removed.len();
    let noun = if n == 1 { "credential" } else { "credentials" };
    let mut m = format!("credman: {action} {n} dead {noun}\n\n");
    let width = removed
        .iter()
        .take(LISTED)
        .map(|f| f.path.len())
        .max()
        .unwrap_or(4)
        .min(72);
    let _ = writeln!(m, "Removed ({n}):");
    for f in removed.iter().take(LISTED) {
        let strikes = f.strikes.as_ref().map_or(String::new(), |cited| {
            let times: Vec<&str> = cited.iter().map(|c| c.at.as_str()).collect();
            format!(" ({} strikes: {})", cited.len(), times.join(", "))
        });
        let _ = writeln!(
            m,
            "  {:<width$}  {:<11} {}{strikes}",
            escape(&f.path),
            escape(&f.provider),
            f.status.as_str(),
        );
    }
    if n > LISTED {
        let _ = writeln!(
            m,
            "  … and {} more (all of them: git credman show)",
            n - LISTED
        );
    }
    if let Some(p) = report.prune.as_ref().filter(|p| !p.skipped.is_empty()) {
        let _ = writeln!(m, "\nSelected but kept ({}):", p.skipped.len());
        for s in p.skipped.iter().take(LISTED) {
            let _ = writeln!(m, "  {}  {}", escape(&s.path), escape(&s.reason));
        }
        if p.skipped.len() > LISTED {
            let _ = writeln!(m, "  … and {} more", p.skipped.len() - LISTED);
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
    let _ = writeln!(m, "\n{BEGIN}");
    encode_results(head, removed, &mut m);
    let _ = writeln!(m, "{END}\n");
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

/// Writes the compact block: the head line, then one row per finding.
fn encode_results(head: &str, results: &[Finding], out: &mut String) {
    let mut reasons: Vec<&str> = Vec::new();
    let mut index: HashMap<&str, usize> = HashMap::new();
    for f in results {
        index.entry(f.reason.as_str()).or_insert_with(|| {
            reasons.push(f.reason.as_str());
            reasons.len() - 1
        });
    }
    let mut head: Value = serde_json::from_str(head).unwrap_or_else(|_| json!({}));
    if let Some(obj) = head.as_object_mut() {
        obj.remove("results");
        obj.insert("columns".into(), json!(COLUMNS));
        obj.insert("reasons".into(), json!(reasons));
    }
    let _ = writeln!(out, "{head}");
    for f in results {
        let group = f.duplicate_group.map(|g| json!([g.id, g.size]));
        let mut row = vec![
            json!(f.path),
            json!(f.provider),
            json!(f.status.as_str()),
            json!(index.get(f.reason.as_str()).copied().unwrap_or(0)),
            json!(f.blob.map(|b| b.to_string())),
            json!(f.fingerprint),
            json!(f.identity),
            json!(f.account),
            json!(f.expires_at.map(crate::report::rfc3339)),
            json!(f.has_refresh_token),
            json!(f.disabled),
            json!(f.plan),
            json!(f.http_status),
            json!(f.reset_at.map(crate::report::rfc3339)),
            json!(f.checked_at.map(crate::report::rfc3339)),
            group.unwrap_or(Value::Null),
            json!(f.worktree),
            f.strikes.as_ref().map_or(Value::Null, |cited| {
                cited
                    .iter()
                    .map(|c| json!([c.at, c.status, c.http_status]))
                    .collect()
            }),
        ];
        while row
            .last()
            .is_some_and(|v| v.is_null() || *v == Value::Bool(false))
        {
            row.pop();
        }
        let _ = writeln!(out, "{}", Value::Array(row));
    }
}

/// Reads an embedded report back as the report document (`results` included): the compact
/// block, or the one JSON document older messages embed.
pub fn decode_report(block: &str) -> Result<Value, String> {
    if let Ok(whole) = serde_json::from_str::<Value>(block) {
        return Ok(whole);
    }
    let mut lines = block.lines().filter(|l| !l.trim().is_empty());
    let mut head: Map<String, Value> = lines
        .next()
        .and_then(|l| serde_json::from_str(l).ok())
        .ok_or("the embedded report's first line is not a JSON object")?;
    let columns: Vec<String> = head
        .remove("columns")
        .and_then(|c| serde_json::from_value(c).ok())
        .ok_or("the embedded report names no columns")?;
    let reasons: Vec<String> = head
        .remove("reasons")
        .and_then(|r| serde_json::from_value(r).ok())
        .unwrap_or_default();
    let mut results = Vec::new();
    for (n, line) in lines.enumerate() {
        let row: Vec<Value> = serde_json::from_str(line)
            .map_err(|e| format!("row {} of the embedded report: {e}", n + 1))?;
        results.push(finding_of(&columns, &reasons, row));
    }
    head.insert("results".into(), Value::Array(results));
    Ok(Value::Object(head))
}

/// A finding object (every field a report's finding has) from one row.
fn finding_of(columns: &[String], reasons: &[String], row: Vec<Value>) -> Value {
    let mut cell: HashMap<&str, Value> = columns
        .iter()
        .map(String::as_str)
        .zip(row.into_iter().chain(std::iter::repeat(Value::Null)))
        .collect();
    let mut take = |k: &str| cell.remove(k).unwrap_or(Value::Null);
    let status = take("status");
    let class = status
        .as_str()
        .and_then(|s| s.parse::<crate::status::Status>().ok())
        .map_or(Value::Null, |s| json!(s.class().as_str()));
    let reason = take("reason")
        .as_u64()
        .and_then(|i| reasons.get(usize::try_from(i).ok()?))
        .cloned()
        .unwrap_or_default();
    let group = take("duplicate_group");
    let duplicate_group = match group.as_array().map(Vec::as_slice) {
        Some([id, size]) => json!({"id": id, "size": size}),
        _ => Value::Null,
    };
    let flag = |v: Value| Value::Bool(v.as_bool().unwrap_or(false));
    let strikes = take("strikes");
    let mut finding = json!({
        "path": take("path"),
        "provider": take("provider"),
        "status": status,
        "class": class,
        "reason": reason,
        "http_status": take("http_status"),
        "fingerprint": take("fingerprint"),
        "identity": take("identity"),
        "account": take("account"),
        "plan": take("plan"),
        "expires_at": take("expires_at"),
        "has_refresh_token": flag(take("has_refresh_token")),
        "disabled": flag(take("disabled")),
        "blob": take("blob"),
        "duplicates": [],
        "duplicate_group": duplicate_group,
        "worktree": take("worktree"),
        "reset_at": take("reset_at"),
        "checked_at": take("checked_at"),
        "elapsed_ms": Value::Null,
    });
    if let (Some(rows), Some(obj)) = (strikes.as_array(), finding.as_object_mut()) {
        let cited: Vec<Value> = rows
            .iter()
            .filter_map(|r| match r.as_array().map(Vec::as_slice) {
                Some([at, status, http]) => {
                    Some(json!({"at": at, "status": status, "http_status": http}))
                }
                _ => None,
            })
            .collect();
        obj.insert("strikes".into(), Value::Array(cited));
    }
    finding
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

    fn finding(i: usize) -> Finding {
        let status = crate::status::Status::ExpiredByTime;
        Finding {
            reason: "access token expired at 2025-03-01T00:00:00Z (JWT exp); no refresh token"
                .into(),
            fingerprint: Some(format!("{:012x}", i * 7919)),
            identity: None,
            account: Some(format!("u***@example.com{}", i % 3)),
            plan: Some("plus".into()),
            expires_at: chrono::DateTime::from_timestamp(1_740_787_200, 0),
            disabled: i.is_multiple_of(10),
            blob: crate::git::ObjectId::from_hex(format!("{:040x}", i * 104_729).as_bytes()).ok(),
            duplicate_group: i
                .is_multiple_of(50)
                .then_some(crate::report::DuplicateGroup { id: 1, size: 2 }),
            ..Finding::for_test(
                &format!("auths/codex-{i:05}-user{i}@example.com-plus.json"),
                "codex",
                status,
            )
        }
    }

    fn source() -> crate::source::SourceInfo {
        crate::source::SourceInfo {
            rev: Some("HEAD".into()),
            auth_path: Some("auths".into()),
            ..crate::source::SourceInfo::new("head")
        }
    }

    #[test]
    fn every_embedded_field_round_trips_and_ten_thousand_removals_stay_small() {
        let results: Vec<Finding> = (0..10_000).map(finding).collect();
        let report = Report::new("offline", source(), vec![], results, chrono::Utc::now());
        let head = {
            let mut r = report.clone();
            r.results.clear();
            let mut buf = Vec::new();
            crate::report::json::render_portable(&r, &mut buf).unwrap();
            String::from_utf8(buf).unwrap()
        };
        let msg = prune(&report, &head, "remove");
        let per_file = msg.len() / report.results.len();
        eprintln!(
            "{} bytes for 10,000 removals: {per_file} per file",
            msg.len()
        );
        assert!(per_file <= 250, "{per_file} bytes per removed file");
        let back = decode_report(embedded_report(&msg).unwrap()).unwrap();
        let mut full = Vec::new();
        crate::report::json::render_portable(&report, &mut full).unwrap();
        let full: Value = serde_json::from_slice(&full).unwrap();
        // The whole report comes back: the head as it was, every result field by field.
        for key in [
            "schema_version",
            "generated_at",
            "tool",
            "mode",
            "source",
            "summary",
        ] {
            assert_eq!(back[key], full[key], "{key}");
        }
        assert_eq!(back["results"], full["results"]);
        // Only the first files are listed for people; the rest is in the block.
        assert!(msg.contains("… and 9980 more"), "{}", &msg[..2000]);
    }

    #[test]
    fn messages_of_earlier_versions_are_read_as_they_are() {
        let old = "{\"schema_version\": 1, \"results\": [{\"path\": \"auths/a.json\"}]}";
        let msg = format!("credman: remove 1 dead credential\n\n{BEGIN}\n{old}\n{END}\n");
        let back = decode_report(embedded_report(&msg).unwrap()).unwrap();
        assert_eq!(back["results"][0]["path"], "auths/a.json");
        assert!(decode_report("{\"columns\": 3}\n[1]").is_err());
        assert!(decode_report("not json").is_err());
    }

    #[test]
    fn regression_10_names_in_the_message_cannot_hold_marker_lines() {
        let f = crate::report::Finding {
            reason: "why\r\nnot".into(),
            ..crate::report::Finding::for_test(
                &format!("auths/x\n{BEGIN}\n{{}}\n{END}\n.json"),
                "co\u{1b}[31mdex",
                crate::status::Status::ExpiredByTime,
            )
        };
        let source = crate::source::SourceInfo::new("head");
        let report = Report::new("offline", source, vec![], vec![f], chrono::Utc::now());
        let msg = prune(&report, "{\"real\": 1}", "remove");
        assert_eq!(msg.lines().filter(|l| *l == BEGIN).count(), 1, "{msg}");
        assert_eq!(msg.lines().filter(|l| *l == END).count(), 1, "{msg}");
        assert!(!msg.contains('\u{1b}') && !msg.contains('\r'), "{msg}");
        let back = decode_report(embedded_report(&msg).unwrap()).unwrap();
        assert_eq!(back["real"], 1);
        // The name and the reason come back exactly, control characters and all.
        assert_eq!(back["results"][0]["path"], report.results[0].path);
        assert_eq!(back["results"][0]["provider"], "co\u{1b}[31mdex");
        assert_eq!(back["results"][0]["reason"], "why\r\nnot");
        let restore = restore(&["a\nCredman-Restored: 99".to_owned()], "HEAD");
        assert_eq!(trailer(&restore, "Credman-Restored"), Some("1"));
    }
}
