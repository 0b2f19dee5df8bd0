//! CI-native renderings of a report: SARIF 2.1.0 for code scanning, GitHub workflow commands
//! for file annotations, and a Markdown summary for pull-request bodies and job summaries.
//! Only files that are not alive appear as results; nothing here sees a secret.

use std::io::{self, Write};

use serde_json::{Value, json};

use super::{Finding, Report, escape};
use crate::status::{Class, Status};

fn help_text(status: Status) -> &'static str {
    match status {
        Status::Invalidated => {
            "The provider says the token was invalidated or revoked. Log in again with CLIProxyAPI, or remove the file (git credman prune)."
        }
        Status::Deactivated => {
            "The provider says the account is deactivated or its organisation disabled. The credential will not work again; remove it."
        }
        Status::ExpiredByTime => {
            "The access token expired and the file has no refresh token. Log in again, or remove the file."
        }
        Status::Unauthorized => {
            "The provider rejected the token. Check the account; re-login or remove it."
        }
        Status::MissingToken => "The file has neither an access token nor a refresh token.",
        Status::RateLimited => {
            "The provider throttled the check; nothing is known about the credential. Check again later."
        }
        Status::CheckError => {
            "The check itself failed (network, timeout, server error). Check again later."
        }
        Status::Unknown => {
            "The provider answered something git-credman cannot interpret (or the file is a symlink). Inspect it."
        }
        Status::InvalidFile => {
            "The file is not a valid credential (empty, not JSON, or not an object). CLIProxyAPI ignores it."
        }
        Status::Active | Status::UsageLimited | Status::Unverified | Status::ExpiredRefreshable => {
            "The credential is alive."
        }
    }
}

fn level(class: Class) -> &'static str {
    match class {
        Class::Dead => "error",
        Class::Transient | Class::Unknown => "warning",
        Class::Alive => "note",
    }
}

fn not_alive(report: &Report) -> impl Iterator<Item = &Finding> {
    report.results.iter().filter(|f| !f.status.is_alive())
}

fn message(f: &Finding) -> String {
    let who = f
        .account
        .as_deref()
        .map(|a| format!(" ({a})"))
        .unwrap_or_default();
    format!(
        "{} credential{who} is {}: {}",
        escape(&f.provider),
        f.status,
        escape(&f.reason)
    )
}

/// Builds the SARIF 2.1.0 log.
pub fn sarif(report: &Report) -> Value {
    let rules: Vec<Value> = Status::ALL
        .iter()
        .filter(|s| !s.is_alive())
        .map(|s| {
            json!({
                "id": s.as_str(),
                "name": s.as_str().split('_').map(|w| { let mut c = w.chars(); c.next().map(|f| f.to_uppercase().collect::<String>() + c.as_str()).unwrap_or_default() }).collect::<String>(),
                "shortDescription": {"text": format!("Credential status {}", s.as_str())},
                "fullDescription": {"text": help_text(*s)},
                "help": {"text": help_text(*s), "markdown": help_text(*s)},
                "defaultConfiguration": {"level": level(s.class())},
                "properties": {"tags": ["security", "credentials", s.class().as_str()]},
            })
        })
        .collect();
    let results: Vec<Value> = not_alive(report)
        .map(|f| {
            json!({
                "ruleId": f.status.as_str(),
                "level": level(f.class),
                "message": {"text": message(f)},
                "locations": [{"physicalLocation": {
                    "artifactLocation": {"uri": f.path, "uriBaseId": "%SRCROOT%"},
                    "region": {"startLine": 1}
                }}],
                "partialFingerprints": {"credmanFingerprint/v1": format!("{}:{}", f.path, f.fingerprint.as_deref().unwrap_or("-"))},
                "properties": {"provider": f.provider, "class": f.class.as_str(), "http_status": f.http_status},
            })
        })
        .collect();
    json!({
        "$schema": "https://json.schemastore.org/sarif-2.1.0.json",
        "version": "2.1.0",
        "runs": [{
            "tool": {"driver": {
                "name": "git-credman",
                "version": env!("CARGO_PKG_VERSION"),
                "informationUri": "https://github.com/git-credman/git-credman",
                "rules": rules,
            }},
            "results": results,
        }]
    })
}

/// Writes the SARIF log.
pub fn render_sarif(report: &Report, out: &mut dyn Write) -> io::Result<()> {
    serde_json::to_writer_pretty(&mut *out, &sarif(report))?;
    writeln!(out)
}

/// Escapes a workflow-command property value (GitHub's rules: `%`, CR, LF, `:` and `,`; other
/// control characters are written as escapes first).
fn escape_property(s: &str) -> String {
    escape_data(s).replace(':', "%3A").replace(',', "%2C")
}

/// Escapes a workflow-command message: `%`, CR and LF as GitHub wants, and every other
/// control character (ESC, and the `::` of a new command only matters after a newline) as an
/// escape, so a file name cannot start a workflow command of its own.
fn escape_data(s: &str) -> String {
    let percent = s.replace('%', "%25");
    let mut out = String::with_capacity(percent.len());
    for c in percent.chars() {
        match c {
            '\r' => out.push_str("%0D"),
            '\n' => out.push_str("%0A"),
            c => out.push_str(&escape(c.encode_utf8(&mut [0; 4]))),
        }
    }
    out
}

/// Writes GitHub workflow commands: one `::error`/`::warning` per file that is not alive.
pub fn render_github(report: &Report, out: &mut dyn Write) -> io::Result<()> {
    for f in not_alive(report) {
        writeln!(
            out,
            "::{} file={},line=1,title={}::{}",
            level(f.class),
            escape_property(&f.path),
            escape_property(&format!("git-credman: {}", f.status)),
            escape_data(&message(f))
        )?;
    }
    let failing = report.failing().count();
    writeln!(
        out,
        "::notice title=git-credman::{} credential files checked ({}); {failing} in the fail set",
        report.summary.total, report.mode
    )
}

/// Escapes text for a Markdown table cell: control characters as escapes, and the characters
/// that end a cell, open a code span or start HTML (`|`, `` ` ``, `<`, `>`, `&`, `*`, `_`, `[`,
/// `]`, `\\`) as HTML entities or backslash escapes.
fn md_escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in escape(s).chars() {
        match c {
            '|' => out.push_str("\\|"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '&' => out.push_str("&amp;"),
            '`' => out.push_str("&#96;"),
            '*' | '_' | '[' | ']' | '\\' => {
                out.push('\\');
                out.push(c);
            }
            c => out.push(c),
        }
    }
    out
}

/// Returns text as a Markdown code span for a table cell (`|` escaped, control characters as
/// escapes); text holding a backtick, which would end the span, is escaped as plain text.
fn md_code(s: &str) -> String {
    let escaped = escape(s);
    if escaped.contains('`') {
        md_escape(s)
    } else {
        format!("`{}`", escaped.replace('|', "\\|"))
    }
}

/// Renders the Markdown summary.
pub fn markdown(report: &Report) -> String {
    let mut m = String::new();
    let failing = report.failing().count();
    let verdict = if failing == 0 {
        "✅ no credential in the fail set"
    } else {
        "❌ credentials in the fail set"
    };
    m.push_str(&format!(
        "## git-credman: {} credential files ({})\n\n{verdict} ({failing})\n\n",
        report.summary.total, report.mode
    ));
    let providers: Vec<&String> = report.summary.by_provider.keys().collect();
    m.push_str("| status |");
    for p in &providers {
        m.push_str(&format!(" {} |", md_escape(p)));
    }
    m.push_str(" total |\n|---|");
    for _ in &providers {
        m.push_str("---:|");
    }
    m.push_str("---:|\n");
    for status in Status::ALL {
        let Some(total) = report.summary.by_status.get(&status) else {
            continue;
        };
        m.push_str(&format!("| `{status}` |"));
        for p in &providers {
            let n = report
                .summary
                .by_provider_status
                .get(*p)
                .and_then(|x| x.get(&status))
                .copied()
                .unwrap_or(0);
            m.push_str(&format!(" {n} |"));
        }
        m.push_str(&format!(" {total} |\n"));
    }
    let bad: Vec<&Finding> = not_alive(report).collect();
    if !bad.is_empty() {
        m.push_str(&format!("\n<details><summary>Not alive ({})</summary>\n\n| file | provider | status | reason |\n|---|---|---|---|\n", bad.len()));
        for f in bad {
            m.push_str(&format!(
                "| {} | {} | `{}` | {} |\n",
                md_code(&f.path),
                md_escape(&f.provider),
                f.status,
                md_escape(&f.reason)
            ));
        }
        m.push_str("\n</details>\n");
    }
    if let Some(p) = &report.prune {
        m.push_str(&format!(
            "\nPrune: removed {} file(s){}.\n",
            p.removed,
            p.commit
                .as_deref()
                .map(|c| format!(" in `{}`", &c[..12.min(c.len())]))
                .unwrap_or_default()
        ));
    }
    m
}

/// Appends the Markdown summary to the file `$GITHUB_STEP_SUMMARY` names (`path`), when running in
/// GitHub Actions; a failure is a warning, never an error.
pub(crate) fn append_step_summary(report: &Report, path: Option<&std::path::Path>) {
    let Some(path) = path else {
        return;
    };
    let appended = std::fs::OpenOptions::new()
        .append(true)
        .create(true)
        .open(path)
        .and_then(|mut f| std::io::Write::write_all(&mut f, markdown(report).as_bytes()));
    if let Err(e) = appended {
        tracing::warn!("cannot append to GITHUB_STEP_SUMMARY: {e}");
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn finding(path: &str, status: Status) -> Finding {
        Finding {
            path: path.into(),
            provider: "codex".into(),
            status,
            class: status.class(),
            reason: "why, with: punctuation | and\\nnewline".into(),
            http_status: Some(401),
            fingerprint: Some("0123456789ab".into()),
            account: Some("a***@example.com".into()),
            plan: None,
            expires_at: None,
            has_refresh_token: false,
            disabled: false,
            blob: None,
            duplicates: vec![],
            duplicate_group: None,
            worktree: None,
            reset_at: None,
            checked_at: None,
            server: None,
            elapsed_ms: None,
        }
    }

    fn report() -> Report {
        let source = crate::source::SourceInfo {
            kind: "head",
            repo: None,
            rev: None,
            commit: None,
            tree: None,
            dir: None,
            url: None,
            auth_path: Some("auths".into()),
            pathspecs: vec![],
        };
        let results = vec![
            finding("auths/a,b.json", Status::Invalidated),
            finding("auths/live.json", Status::Unverified),
            finding("auths/odd.json", Status::CheckError),
        ];
        Report::new(
            "online",
            source,
            vec![Status::Invalidated],
            results,
            chrono::Utc::now(),
        )
    }

    #[test]
    fn sarif_has_the_structure_code_scanning_needs() {
        let s = sarif(&report());
        assert_eq!(s["version"], "2.1.0");
        let run = &s["runs"][0];
        let rules = run["tool"]["driver"]["rules"].as_array().unwrap();
        let rule_ids: Vec<&str> = rules.iter().map(|r| r["id"].as_str().unwrap()).collect();
        let results = run["results"].as_array().unwrap();
        assert_eq!(results.len(), 2, "alive files are not results");
        for r in results {
            assert!(
                rule_ids.contains(&r["ruleId"].as_str().unwrap()),
                "every ruleId has a rule"
            );
            assert!(r["message"]["text"].as_str().is_some_and(|t| !t.is_empty()));
            let loc = &r["locations"][0]["physicalLocation"];
            assert!(
                loc["artifactLocation"]["uri"]
                    .as_str()
                    .unwrap()
                    .starts_with("auths/")
            );
            assert!(loc["region"]["startLine"].as_u64().unwrap() >= 1);
            assert!(["error", "warning", "note"].contains(&r["level"].as_str().unwrap()));
        }
        assert_eq!(results[0]["level"], "error");
        assert_eq!(results[1]["level"], "warning");
        for rule in rules {
            assert!(rule["help"]["text"].as_str().is_some_and(|t| t.len() > 10));
            assert!(rule["shortDescription"]["text"].is_string());
        }
    }

    #[test]
    fn github_commands_are_escaped() {
        let mut out = Vec::new();
        render_github(&report(), &mut out).unwrap();
        let text = String::from_utf8(out).unwrap();
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(lines.len(), 3, "{text}");
        assert!(lines[0].starts_with("::error file=auths/a%2Cb.json,line=1,title=git-credman%3A invalidated::codex credential"));
        assert!(lines[1].starts_with("::warning file=auths/odd.json"));
        assert!(lines[2].starts_with("::notice title=git-credman::3 credential files"));
    }

    #[test]
    fn markdown_table_and_details() {
        let m = markdown(&report());
        assert!(m.starts_with("## git-credman: 3 credential files (online)"));
        assert!(m.contains("| status | codex | total |"));
        assert!(m.contains("| `invalidated` | 1 | 1 |"));
        assert!(m.contains("<summary>Not alive (2)</summary>"));
        assert!(m.contains("punctuation \\| and"), "{m}");
        assert!(!m.contains("live.json"));
    }
}
