//! CI-native renderings of a report: SARIF 2.1.0 for code scanning, GitHub workflow commands
//! for file annotations, and a Markdown summary for pull-request bodies and job summaries.
//! Only files that are not alive appear as results; nothing here sees a secret.

use std::io::{self, Write};

use serde::Serialize;
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

/// GitHub code scanning rejects a SARIF run with more results than this.
pub const MAX_SARIF_RESULTS: usize = 25_000;

/// GitHub shows at most this many annotations of each level (error, warning, notice) per step.
pub const MAX_ANNOTATIONS_PER_LEVEL: usize = 10;

/// The rule's human name: `Credential` and the status in PascalCase. Distinct from the id, as
/// SARIF wants (SARIF1001: a name equal to the id, in any case, must be left out).
fn rule_name(status: Status) -> String {
    let mut name = String::from("Credential");
    for word in status.as_str().split('_') {
        let mut c = word.chars();
        if let Some(first) = c.next() {
            name.extend(first.to_uppercase());
            name.push_str(c.as_str());
        }
    }
    name
}

/// GitHub's `security-severity` (0.0–10.0; 4.0–6.9 is "medium", 0.1–3.9 "low"): a dead
/// credential is a broken, removable secret in the tree; an unreadable or unknown one needs a
/// look; a transient one only says the check could not decide.
fn security_severity(class: Class) -> &'static str {
    match class {
        Class::Dead => "5.0",
        Class::Unknown => "3.0",
        Class::Transient | Class::Alive => "1.0",
    }
}

/// How often the rule's verdict is right (`very-high` … `low`): expiry and file shape are
/// certain, a provider's explicit answer is too, a bare 401 less so, a guess least.
fn precision(status: Status) -> &'static str {
    match status {
        Status::Invalidated
        | Status::Deactivated
        | Status::ExpiredByTime
        | Status::MissingToken
        | Status::InvalidFile => "very-high",
        Status::Unauthorized => "high",
        Status::Unknown => "medium",
        _ => "low",
    }
}

/// Percent-encodes a `/`-separated relative path as an RFC 3986 relative reference: every byte
/// but the unreserved characters, `/` and `@` (spaces, `%`, `:`, `#`, `?`, non-ASCII as UTF-8
/// bytes). `:` is always encoded, so a first segment never reads as a URI scheme.
pub(crate) fn uri_path(path: &str) -> String {
    let mut out = String::with_capacity(path.len());
    for b in path.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~' | b'/' | b'@') {
            out.push(char::from(b));
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// What to put before a finding's path so it is relative to the checkout: for `--dir` inside a
/// git working tree, the directory's path from the working tree's root (`auths/`); otherwise
/// nothing (repository paths already are, and a directory outside a checkout is its own root).
fn checkout_prefix(report: &Report) -> String {
    if report.source.kind != "dir" {
        return String::new();
    }
    let Some(dir) = report.source.dir.as_deref().map(std::path::Path::new) else {
        return String::new();
    };
    let Some(root) = dir.ancestors().find(|a| a.join(".git").exists()) else {
        return String::new();
    };
    let Ok(rel) = dir.strip_prefix(root) else {
        return String::new();
    };
    let mut prefix = String::new();
    for part in rel.components() {
        prefix.push_str(&part.as_os_str().to_string_lossy());
        prefix.push('/');
    }
    prefix
}

/// GitHub's `primaryLocationLineHash`, so an alert stays the same alert when CPA rewrites the
/// file (a refreshed token changes every line of it): derived from the checkout-relative path
/// and the provider only, never from the token, its fingerprint or the account.
fn line_hash(path: &str, provider: &str) -> String {
    use sha2::Digest as _;
    let digest = sha2::Sha256::new()
        .chain_update(b"git-credman/v1\0")
        .chain_update(path.as_bytes())
        .chain_update(b"\0")
        .chain_update(provider.as_bytes())
        .finalize();
    let hex = digest[..8].iter().fold(String::new(), |mut hex, b| {
        use std::fmt::Write as _;
        let _ = write!(hex, "{b:02x}");
        hex
    });
    format!("{hex}:1")
}

fn level_rank(class: Class) -> u8 {
    match level(class) {
        "error" => 0,
        "warning" => 1,
        _ => 2,
    }
}

/// The findings that become results, at most `cap` of them: errors first, then warnings,
/// each in path order; and how many were left out.
fn capped(report: &Report, cap: usize) -> (Vec<&Finding>, usize) {
    let mut bad: Vec<&Finding> = not_alive(report).collect();
    let total = bad.len();
    if total <= cap {
        return (bad, 0);
    }
    let mut order: Vec<usize> = (0..total).collect();
    order.sort_by_key(|&i| (level_rank(bad[i].class), i));
    order.truncate(cap);
    order.sort_unstable();
    let keep: std::collections::HashSet<usize> = order.into_iter().collect();
    let mut i = 0;
    bad.retain(|_| {
        i += 1;
        keep.contains(&(i - 1))
    });
    (bad, total - cap)
}

/// Builds the SARIF 2.1.0 log as a value (tests read it; `render_sarif` streams it).
#[cfg(test)]
fn sarif(report: &Report) -> Value {
    sarif_capped(report, MAX_SARIF_RESULTS)
}

#[cfg(test)]
fn sarif_capped(report: &Report, cap: usize) -> Value {
    serde_json::to_value(SarifLog::new(report, cap)).unwrap_or(Value::Null)
}

/// A SARIF log as it is written: each result is built and written in turn, never all at once
/// (up to [`MAX_SARIF_RESULTS`] of them held as JSON values was tens of megabytes). Fields are
/// in the order `serde_json`'s maps keep them (sorted), so the output is what it always was.
#[derive(Serialize)]
struct SarifLog<'a> {
    #[serde(rename = "$schema")]
    schema: &'static str,
    runs: [SarifRun<'a>; 1],
    version: &'static str,
}

#[derive(Serialize)]
struct SarifRun<'a> {
    #[serde(skip_serializing_if = "Option::is_none")]
    invocations: Option<Value>,
    #[serde(skip_serializing_if = "Option::is_none")]
    properties: Option<Value>,
    results: SarifResults<'a>,
    tool: Value,
}

struct SarifResults<'a> {
    kept: Vec<&'a Finding>,
    prefix: String,
}

impl Serialize for SarifResults<'_> {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_seq(self.kept.iter().map(|f| sarif_result(f, &self.prefix)))
    }
}

fn sarif_result(f: &Finding, prefix: &str) -> Value {
    let path = format!("{prefix}{}", f.path);
    json!({
        "ruleId": f.status.as_str(),
        "level": level(f.class),
        "message": {"text": message(f)},
        "locations": [{"physicalLocation": {
            "artifactLocation": {"uri": uri_path(&path), "uriBaseId": "%SRCROOT%"},
            "region": {"startLine": 1, "startColumn": 1, "endLine": 1, "endColumn": 2}
        }}],
        "partialFingerprints": {"primaryLocationLineHash": line_hash(&path, &f.provider)},
        "properties": {"provider": f.provider, "class": f.class.as_str(), "http_status": f.http_status},
    })
}

impl<'a> SarifLog<'a> {
    fn new(report: &'a Report, cap: usize) -> Self {
        let rules: Vec<Value> = Status::ALL
            .iter()
            .filter(|s| !s.is_alive())
            .map(|s| {
                json!({
                    "id": s.as_str(),
                    "name": rule_name(*s),
                    "shortDescription": {"text": format!("Credential status {}", s.as_str())},
                    "fullDescription": {"text": help_text(*s)},
                    "help": {"text": help_text(*s), "markdown": help_text(*s)},
                    "defaultConfiguration": {"level": level(s.class())},
                    "properties": {
                        "tags": ["security", "credentials", s.class().as_str()],
                        "security-severity": security_severity(s.class()),
                        "precision": precision(*s),
                    },
                })
            })
            .collect();
        let (kept, omitted) = capped(report, cap);
        let mut run = SarifRun {
            invocations: None,
            properties: None,
            results: SarifResults {
                kept,
                prefix: checkout_prefix(report),
            },
            tool: json!({"driver": {
                "name": "git-credman",
                "version": env!("CARGO_PKG_VERSION"),
                "informationUri": "https://github.com/git-credman/git-credman",
                "rules": rules,
            }}),
        };
        if omitted > 0 {
            let text = format!(
                "{omitted} more results were left out: GitHub code scanning accepts at most {cap} per run (dead credentials come first); the JSON report (--format json) and the job summary have every file"
            );
            tracing::warn!("SARIF: {text}");
            run.invocations = Some(json!([{
                "executionSuccessful": true,
                "toolExecutionNotifications": [{"level": "warning", "message": {"text": text}}],
            }]));
            run.properties = Some(json!({"omittedResults": omitted}));
        }
        SarifLog {
            schema: "https://json.schemastore.org/sarif-2.1.0.json",
            runs: [run],
            version: "2.1.0",
        }
    }
}

/// Writes the SARIF log.
pub fn render_sarif(report: &Report, out: &mut dyn Write) -> io::Result<()> {
    serde_json::to_writer_pretty(&mut *out, &SarifLog::new(report, MAX_SARIF_RESULTS))?;
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

/// Writes GitHub workflow commands: one `::error`/`::warning` per file that is not alive, at
/// most [`MAX_ANNOTATIONS_PER_LEVEL`] of each level (GitHub drops the rest), then a notice
/// saying how many more there are.
pub fn render_github(report: &Report, out: &mut dyn Write) -> io::Result<()> {
    let prefix = checkout_prefix(report);
    let mut shown = [0usize; 3];
    let mut more = 0usize;
    for f in not_alive(report) {
        let n = &mut shown[usize::from(level_rank(f.class))];
        if *n == MAX_ANNOTATIONS_PER_LEVEL {
            more += 1;
            continue;
        }
        *n += 1;
        writeln!(
            out,
            "::{} file={},line=1,title={}::{}",
            level(f.class),
            escape_property(&format!("{prefix}{}", f.path)),
            escape_property(&format!("git-credman: {}", f.status)),
            escape_data(&message(f))
        )?;
    }
    if more > 0 {
        writeln!(
            out,
            "::notice title=git-credman::{more} more: see the job summary / code scanning"
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
    // A prune report's results are the removed (or, dry run, selected) files, its summary the
    // whole scan: title the list for what it holds, and count the files it leaves out.
    let (title, listed): (&str, Vec<&Finding>) = match &report.prune {
        None => ("Not alive", not_alive(report).collect()),
        Some(p) if p.dry_run => ("Selected for removal", report.results.iter().collect()),
        Some(_) => ("Removed", report.results.iter().collect()),
    };
    if !listed.is_empty() {
        m.push_str(&format!("\n<details><summary>{title} ({})</summary>\n\n| file | provider | status | reason |\n|---|---|---|---|\n", listed.len()));
        for f in &listed {
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
        if !p.skipped.is_empty() {
            m.push_str(&format!(
                "\n<details><summary>Selected but kept ({})</summary>\n\n| file | why |\n|---|---|\n",
                p.skipped.len()
            ));
            for k in &p.skipped {
                m.push_str(&format!(
                    "| {} | {} |\n",
                    md_code(&k.path),
                    md_escape(&k.reason)
                ));
            }
            m.push_str("\n</details>\n");
        }
        let not_alive_total: usize = report
            .summary
            .by_status
            .iter()
            .filter(|(s, _)| !s.is_alive())
            .map(|(_, n)| n)
            .sum();
        let accounted = listed.iter().filter(|f| !f.status.is_alive()).count() + p.skipped.len();
        let others = not_alive_total.saturating_sub(accounted);
        if others > 0 {
            m.push_str(&format!(
                "\n{others} other file(s) not alive are not selected (their status is not in `{}`): see the table above, or run `git credman scan`.\n",
                p.statuses.iter().map(|s| s.as_str()).collect::<Vec<_>>().join(",")
            ));
        }
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
    use crate::report::Summary;

    fn finding(path: &str, status: Status) -> Finding {
        Finding {
            reason: "why, with: punctuation | and\\nnewline".into(),
            http_status: Some(401),
            fingerprint: Some("0123456789ab".into()),
            identity: None,
            account: Some("a***@example.com".into()),
            ..Finding::for_test(path, "codex", status)
        }
    }

    fn report() -> Report {
        let source = crate::source::SourceInfo {
            auth_path: Some("auths".into()),
            ..crate::source::SourceInfo::new("head")
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
    fn uri_path_percent_encodes_all_but_unreserved_slash_and_at() {
        assert_eq!(uri_path("auths/a-b_c.d~e@x.json"), "auths/a-b_c.d~e@x.json");
        assert_eq!(uri_path("auths/dead one.json"), "auths/dead%20one.json");
        assert_eq!(uri_path("100%.json"), "100%25.json");
        assert_eq!(uri_path("ç名.json"), "%C3%A7%E5%90%8D.json");
        assert_eq!(
            uri_path("a:b#c?[d]+;&.json"),
            "a%3Ab%23c%3F%5Bd%5D%2B%3B%26.json"
        );
        assert_eq!(uri_path("tab\there"), "tab%09here");
    }

    #[test]
    fn rule_names_differ_from_ids_in_any_case() {
        for s in Status::ALL {
            let name = rule_name(s);
            assert!(!name.eq_ignore_ascii_case(s.as_str()), "{name}");
            assert!(name.starts_with("Credential"));
        }
        assert_eq!(rule_name(Status::ExpiredByTime), "CredentialExpiredByTime");
    }

    #[test]
    fn sarif_cap_keeps_errors_first_in_path_order_and_says_how_many_are_left_out() {
        let s = sarif_capped(&report(), 1);
        let run = &s["runs"][0];
        let results = run["results"].as_array().unwrap();
        assert_eq!(results.len(), 1);
        assert_eq!(results[0]["level"], "error");
        assert_eq!(run["properties"]["omittedResults"], 1);
        let text = run["invocations"][0]["toolExecutionNotifications"][0]["message"]["text"]
            .as_str()
            .unwrap();
        assert!(text.starts_with("1 more results were left out"), "{text}");
        let uncapped = sarif(&report());
        assert!(uncapped["runs"][0].get("invocations").is_none());
        assert!(uncapped["runs"][0].get("properties").is_none());
    }

    #[test]
    fn line_hash_depends_on_path_and_provider_only() {
        let a = line_hash("auths/a.json", "codex");
        assert_eq!(a, line_hash("auths/a.json", "codex"));
        assert_ne!(a, line_hash("auths/b.json", "codex"));
        assert_ne!(a, line_hash("auths/a.json", "claude"));
        assert!(a.ends_with(":1") && a.len() == 18, "{a}");
        let mut other = finding("auths/a,b.json", Status::Invalidated);
        other.fingerprint = Some("ffffffffffff".into());
        other.account = Some("z***@example.com".into());
        let mut r = report();
        let before = sarif(&r)["runs"][0]["results"][0]["partialFingerprints"].clone();
        r.results[0] = other;
        assert_eq!(
            sarif(&r)["runs"][0]["results"][0]["partialFingerprints"],
            before,
            "a new token (fingerprint) or account keeps the alert"
        );
    }

    #[test]
    fn github_annotations_cap_each_level_at_ten() {
        let mut r = report();
        r.results = (0..12)
            .map(|i| finding(&format!("auths/d{i:02}.json"), Status::Invalidated))
            .chain((0..11).map(|i| finding(&format!("auths/t{i:02}.json"), Status::CheckError)))
            .collect();
        let mut out = Vec::new();
        render_github(&r, &mut out).unwrap();
        let text = String::from_utf8(out).unwrap();
        let n = |p: &str| text.lines().filter(|l| l.starts_with(p)).count();
        assert_eq!(
            (n("::error "), n("::warning "), n("::notice ")),
            (10, 10, 2),
            "{text}"
        );
        assert!(
            text.contains(
                "::notice title=git-credman::3 more: see the job summary / code scanning\n"
            )
        );
    }

    #[test]
    fn markdown_of_a_prune_titles_the_list_removed_and_counts_the_rest() {
        let mut r = report();
        // A prune of `invalidated` that removed one file, kept one, and left a transient one.
        r.results.retain(|f| f.status == Status::Invalidated);
        r.summary = Summary::of(&[
            finding("auths/a,b.json", Status::Invalidated),
            finding("auths/kept.json", Status::Invalidated),
            finding("auths/odd.json", Status::CheckError),
            finding("auths/live.json", Status::Unverified),
        ]);
        r.prune = Some(crate::report::PruneInfo {
            statuses: vec![Status::Invalidated],
            removed: 1,
            skipped: vec![crate::report::Skipped {
                path: "auths/kept.json".into(),
                reason: "not a regular file".into(),
            }],
            ..Default::default()
        });
        let m = markdown(&r);
        assert!(m.contains("<summary>Removed (1)</summary>"), "{m}");
        assert!(!m.contains("Not alive ("), "{m}");
        assert!(
            m.contains("<summary>Selected but kept (1)</summary>"),
            "{m}"
        );
        assert!(
            m.contains("| `auths/kept.json` | not a regular file |"),
            "{m}"
        );
        assert!(m.contains("\n1 other file(s) not alive are not selected (their status is not in `invalidated`)"), "{m}");
        r.prune.as_mut().unwrap().dry_run = true;
        assert!(markdown(&r).contains("<summary>Selected for removal (1)</summary>"));
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
