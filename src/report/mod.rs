//! The report: one [`Finding`] per credential (built once, from the scan's final record:
//! `scan::Scanned::finding`), the summary, and the renderers.
//!
//! This module owns stdout: renderers write to a `&mut dyn Write` given by the command. The JSON
//! field names are a contract (issue #2 §6): fields may be added, never renamed. Nothing here
//! ever sees a secret: findings carry fingerprints and masked identities only.

pub mod ci;
pub mod doctor;
pub mod history;
pub mod human;
pub mod json;
pub mod merge;
pub mod reviewed;
pub mod show;

use std::collections::BTreeMap;
use std::io::Write;

use chrono::{DateTime, SecondsFormat, Utc};
use serde::Serialize;

use crate::source::SourceInfo;
use crate::status::{Class, Status};

/// The report's schema version: `schema_version` in every report, and the version
/// schema/report.schema.json describes (a unit test holds the two equal). Adding a field keeps
/// it; renaming, removing or changing the meaning of one needs a new version and schema.
pub const SCHEMA_VERSION: u32 = 1;

/// The result for one file.
#[derive(Clone, Debug, Serialize)]
pub struct Finding {
    /// Path relative to the repository root or scanned directory.
    pub path: String,
    /// Provider (`type`), `unknown` when absent or unparseable.
    pub provider: String,
    /// The verdict.
    pub status: Status,
    /// The verdict's class.
    pub class: Class,
    /// Why; never contains a secret.
    pub reason: String,
    /// HTTP status of the deciding answer; null offline.
    pub http_status: Option<u16>,
    /// First 12 hex digits of the SHA-256 of the credential's token.
    pub fingerprint: Option<String>,
    /// The stable identity key: 12 hex digits of the SHA-256 of provider, account and token
    /// family; the same across renames and CPA's token refresh. Null without an account.
    pub identity: Option<String>,
    /// The account, masked unless `--show-identities`.
    pub account: Option<String>,
    /// Codex plan type, when known.
    pub plan: Option<String>,
    /// When the access token expires, when known.
    #[serde(serialize_with = "ser_time")]
    pub expires_at: Option<DateTime<Utc>>,
    /// Whether a refresh token is present.
    pub has_refresh_token: bool,
    /// CPA's persisted `disabled` flag.
    pub disabled: bool,
    /// The git blob id scanned; null for directories. Held as the id, written as its hex.
    #[serde(serialize_with = "ser_id")]
    pub blob: Option<crate::git::ObjectId>,
    /// Other files of this file's duplicate group (same account or same token), in path
    /// order, at most [`MAX_LISTED_DUPLICATES`] of them: `duplicate_group` has the whole
    /// group's id and size (a pool of 4,000 copies would otherwise list every pair).
    pub duplicates: Vec<String>,
    /// The duplicate group this file belongs to, if any.
    pub duplicate_group: Option<DuplicateGroup>,
    /// `modified` or `deleted` when the working-tree copy differs from what was scanned.
    pub worktree: Option<&'static str>,
    /// When a usage limit resets (online).
    #[serde(serialize_with = "ser_time")]
    pub reset_at: Option<DateTime<Utc>>,
    /// When the online check ran (online).
    #[serde(serialize_with = "ser_time")]
    pub checked_at: Option<DateTime<Utc>>,
    /// What the server says about it (server mode).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub server: Option<Box<ServerState>>,
    /// How long the online check took (online).
    pub elapsed_ms: Option<u64>,
    /// Why the file is pinned (the comment of its `.credmanignore` line, `""` without one);
    /// absent when it is not pinned.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub pinned: Option<String>,
    /// The usage windows the provider reported (online, codex and claude); absent otherwise.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub quota: Option<Box<crate::verdict::Quota>>,
    /// The recorded verdicts a prune with `--strikes` removed it on (its dead streak, oldest
    /// first); absent otherwise.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub strikes: Option<Vec<Cited>>,
}

/// A recorded verdict a prune cites (`refs/credman/verdicts`, see `crate::strikes`).
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Cited {
    /// When the scan decided it (RFC3339, UTC).
    pub at: String,
    /// Its status.
    pub status: String,
    /// The HTTP status of the deciding answer, if any.
    pub http_status: Option<u16>,
}

/// The N-strikes rule a prune applied (`prune.strikes`).
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct StrikeRule {
    /// How many consecutive dead verdicts a removal needs (`--strikes`).
    pub required: usize,
    /// How far apart the first and last of them must be, in seconds (`--spacing`).
    pub spacing_secs: u64,
    /// The verdicts commit this run recorded, when it recorded one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub recorded: Option<String>,
}

/// How many other members of its group a finding lists in `duplicates`.
pub const MAX_LISTED_DUPLICATES: usize = 10;

/// A set of files that share an account or a token, directly or through each other.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
pub struct DuplicateGroup {
    /// The group's number, from 1, in the order the groups' first files were scanned.
    pub id: usize,
    /// How many files the group has (at least 2).
    pub size: usize,
}

// serde's `serialize_with` hands over a reference to the field.
#[allow(clippy::ref_option)]
fn ser_id<S: serde::Serializer>(
    id: &Option<crate::git::ObjectId>,
    s: S,
) -> Result<S::Ok, S::Error> {
    match id {
        Some(id) => s.collect_str(id),
        None => s.serialize_none(),
    }
}

#[allow(clippy::ref_option)]
fn ser_time<S: serde::Serializer>(t: &Option<DateTime<Utc>>, s: S) -> Result<S::Ok, S::Error> {
    match t {
        Some(t) => s.serialize_str(&rfc3339(*t)),
        None => s.serialize_none(),
    }
}

/// A server's own view of a credential (server mode), used as evidence.
#[derive(Clone, Debug, Default, Serialize)]
pub struct ServerState {
    /// The server's handle.
    pub auth_index: Option<String>,
    /// CPA's status.
    pub status: Option<String>,
    /// CPA's status message.
    pub status_message: Option<String>,
    /// Cooling down.
    pub unavailable: bool,
    /// When CPA retries it.
    pub next_retry_after: Option<String>,
}

/// Counts by status, provider and class.
#[derive(Clone, Debug, Default, Serialize)]
pub struct Summary {
    /// Number of results.
    pub total: usize,
    /// Results per status (only statuses that occur).
    pub by_status: BTreeMap<Status, usize>,
    /// Results per provider.
    pub by_provider: BTreeMap<String, usize>,
    /// Results per class.
    pub by_class: BTreeMap<Class, usize>,
    /// Results per provider and status.
    pub by_provider_status: BTreeMap<String, BTreeMap<Status, usize>>,
    /// Number of results that have duplicates.
    pub duplicates: usize,
    /// Number of duplicate groups among the results.
    pub duplicate_groups: usize,
    /// Number of results whose working-tree copy differs from what was scanned.
    pub worktree_differs: usize,
}

impl Summary {
    /// Counts the findings.
    pub fn of<'a, T: Counted + 'a>(results: impl IntoIterator<Item = &'a T>) -> Self {
        let mut s = Summary::default();
        // Count per (provider, status) with borrowed keys; allocate names once at the end.
        let mut cells: std::collections::HashMap<(&str, Status), usize> =
            std::collections::HashMap::new();
        let mut groups = std::collections::HashSet::new();
        for f in results {
            s.total += 1;
            if let Some(g) = f.duplicate_group() {
                groups.insert(g.id);
            }
            *cells.entry((f.provider(), f.status())).or_default() += 1;
            s.duplicates += usize::from(f.has_duplicates());
            s.worktree_differs += usize::from(f.worktree_differs());
        }
        s.duplicate_groups = groups.len();
        for ((provider, status), n) in cells {
            *s.by_status.entry(status).or_default() += n;
            *s.by_class.entry(status.class()).or_default() += n;
            *s.by_provider.entry(provider.to_owned()).or_default() += n;
            *s.by_provider_status
                .entry(provider.to_owned())
                .or_default()
                .entry(status)
                .or_default() += n;
        }
        s
    }
}

/// What [`Summary::of`] counts: a report's findings, or the scan's records directly (a prune's
/// summary covers every scanned file; building a `Finding` for each only to count it was waste).
pub trait Counted {
    /// The provider name.
    fn provider(&self) -> &str;
    /// The status in effect.
    fn status(&self) -> Status;
    /// The duplicate group, if any.
    fn duplicate_group(&self) -> Option<DuplicateGroup>;
    /// Whether other files share its account or token.
    fn has_duplicates(&self) -> bool;
    /// Whether the working-tree copy differs from what was scanned.
    fn worktree_differs(&self) -> bool;
}

impl Counted for Finding {
    fn provider(&self) -> &str {
        &self.provider
    }
    fn status(&self) -> Status {
        self.status
    }
    fn duplicate_group(&self) -> Option<DuplicateGroup> {
        self.duplicate_group
    }
    fn has_duplicates(&self) -> bool {
        !self.duplicates.is_empty()
    }
    fn worktree_differs(&self) -> bool {
        self.worktree.is_some()
    }
}

/// The tool that wrote the report.
#[derive(Clone, Debug, Serialize)]
pub struct Tool {
    /// Always `git-credman`.
    pub name: &'static str,
    /// The crate version.
    pub version: &'static str,
}

impl Tool {
    /// This build of git-credman.
    pub fn this() -> Self {
        Self {
            name: "git-credman",
            version: env!("CARGO_PKG_VERSION"),
        }
    }
}

/// A time as every report writes it: RFC3339, UTC, whole seconds (`2025-03-01T00:00:00Z`).
pub fn rfc3339(t: DateTime<Utc>) -> String {
    t.to_rfc3339_opts(SecondsFormat::Secs, true)
}

/// A whole scan report.
#[derive(Clone, Debug, Serialize)]
pub struct Report {
    /// Always [`SCHEMA_VERSION`].
    pub schema_version: u32,
    /// When the report was made (RFC3339, UTC).
    pub generated_at: String,
    /// The tool.
    pub tool: Tool,
    /// `offline` or `online`.
    pub mode: &'static str,
    /// Where the credentials came from.
    pub source: SourceInfo,
    /// The statuses that make the exit code 1.
    pub fail_on: Vec<Status>,
    /// Counts.
    pub summary: Summary,
    /// What a prune did (prune reports only).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub prune: Option<PruneInfo>,
    /// The earliest future reset of a `usage_limited` credential (when one is known).
    #[serde(skip_serializing_if = "Option::is_none", serialize_with = "ser_time")]
    pub next_reset_at: Option<DateTime<Utc>>,
    /// What `--baseline` hid (scans with a baseline only).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub baseline: Option<BaselineInfo>,
    /// What became of the notifications sent after the run (`--notify`); absent without any.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub notifications: Vec<Notification>,
    /// One entry per credential file, sorted by path, provider and fingerprint.
    pub results: Vec<Finding>,
}

/// The `prune` object of a report embedded in a prune commit.
#[derive(Clone, Debug, Default, Serialize)]
pub struct PruneInfo {
    /// The statuses selected for removal.
    pub statuses: Vec<Status>,
    /// How many files were removed.
    pub removed: usize,
    /// Selected files that were kept, with why.
    pub skipped: Vec<Skipped>,
    /// Whether nothing was written (`--dry-run`).
    pub dry_run: bool,
    /// Which files the report's `results` lists.
    pub results: Listed,
    /// The commit made (not in the report embedded in that commit itself).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub commit: Option<String>,
    /// The branch the commit is on.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub branch: Option<String>,
    /// Where the files went in directory mode (`purged` with --purge).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub quarantine: Option<String>,
    /// What pushing did.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub push: Option<String>,
    /// What `--disable-exhausted` / `--reenable-at-reset` did (server mode).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub quota: Option<QuotaDone>,
    /// The N-strikes rule applied (`--strikes`); absent without it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub strikes: Option<StrikeRule>,
}

/// One credential of a quota action.
#[derive(Clone, Debug, serde::Serialize)]
pub struct QuotaItem {
    /// The listed name.
    pub path: String,
    /// When its limit resets.
    #[serde(serialize_with = "ser_time")]
    pub reset_at: Option<DateTime<Utc>>,
}

/// What `--disable-exhausted` and `--reenable-at-reset` did (or, in a dry run, would do).
#[derive(Clone, Debug, Default, serde::Serialize)]
pub struct QuotaDone {
    /// Exhausted files disabled until their reset.
    pub disabled: Vec<QuotaItem>,
    /// Files git-credman had disabled whose reset has passed, enabled again.
    pub reenabled: Vec<String>,
    /// Files git-credman disabled that still wait for their reset.
    pub waiting: Vec<QuotaItem>,
    /// Files a quota action left alone, with why.
    pub skipped: Vec<Skipped>,
}

impl QuotaDone {
    /// One line for the headline.
    pub fn summary(&self, dry_run: bool) -> String {
        let (dis, re) = if dry_run {
            ("would disable", "would re-enable")
        } else {
            ("disabled", "re-enabled")
        };
        let mut s = format!(
            "Quota: {dis} {} exhausted file(s) until their reset, {re} {}, {} wait for their reset",
            self.disabled.len(),
            self.reenabled.len(),
            self.waiting.len()
        );
        if !self.skipped.is_empty() {
            s.push_str(&format!(", {} left alone", self.skipped.len()));
        }
        s.push('.');
        s
    }

    /// The earliest reset among the files this run disabled or that still wait.
    pub fn next_reset(&self) -> Option<DateTime<Utc>> {
        self.disabled
            .iter()
            .chain(&self.waiting)
            .filter_map(|q| q.reset_at)
            .min()
    }
}

/// Which files a prune report's `results` lists (`prune.results`, schema/report.schema.json).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Listed {
    /// The files this prune removed (or disabled on a server).
    #[default]
    Removed,
    /// The files chosen for removal, none touched yet: a dry run's plan, or the report written
    /// before the files are moved or deleted.
    Selected,
}

/// The `baseline` object of a scan limited by `--baseline`: its results are only the files
/// whose status changed since the baseline report (see `scan::baseline`).
#[derive(Clone, Copy, Debug, Default, Serialize)]
pub struct BaselineInfo {
    /// Files left out: the baseline has them with the same status.
    pub unchanged: usize,
    /// Files listed: new since the baseline, or with another status.
    pub changed: usize,
}

/// A selected file that was not removed.
#[derive(Clone, Debug, Serialize)]
pub struct Skipped {
    /// Its path.
    pub path: String,
    /// Why it was kept.
    pub reason: String,
}

/// One notification sent after a run (`--notify`) and what became of it. Never holds a
/// token, a webhook URL or a chat id: the target's kind names it.
#[derive(Clone, Debug, Serialize)]
pub struct Notification {
    /// `telegram` or `webhook`.
    pub target: &'static str,
    /// Whether the receiver accepted it (a 2xx answer).
    pub delivered: bool,
    /// The receiver's HTTP status, when it answered.
    pub http_status: Option<u16>,
    /// Why it failed (no URL, no secret), when it did.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

#[cfg(test)]
impl Finding {
    /// A finding with a path, provider and status and nothing else (unit tests of renderers).
    pub(crate) fn for_test(path: &str, provider: &str, status: Status) -> Self {
        Self {
            path: path.into(),
            provider: provider.into(),
            status,
            class: status.class(),
            reason: String::new(),
            http_status: None,
            fingerprint: None,
            identity: None,
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
            pinned: None,
            quota: None,
            strikes: None,
        }
    }
}

impl Report {
    /// Builds a report, sorting the results.
    pub fn new(
        mode: &'static str,
        source: SourceInfo,
        fail_on: Vec<Status>,
        mut results: Vec<Finding>,
        now: DateTime<Utc>,
    ) -> Self {
        fn key(f: &Finding) -> (&str, &str, Option<&str>) {
            (
                f.path.as_str(),
                f.provider.as_str(),
                f.fingerprint.as_deref(),
            )
        }
        // Sources list files in path order already; sort only when they do not.
        if !results.is_sorted_by(|a, b| key(a) <= key(b)) {
            results.sort_by(|a, b| key(a).cmp(&key(b)));
        }
        Report {
            schema_version: SCHEMA_VERSION,
            generated_at: rfc3339(now),
            tool: Tool::this(),
            mode,
            source,
            fail_on,
            summary: Summary::of(&results),
            prune: None,
            next_reset_at: next_reset(&results, now),
            baseline: None,
            notifications: Vec::new(),
            results,
        }
    }

    /// Returns the findings whose status is in the fail set; pinned files never fail (their
    /// pin is the operator's decision to keep them).
    pub fn failing(&self) -> impl Iterator<Item = &Finding> {
        self.results
            .iter()
            .filter(|f| f.pinned.is_none() && self.fail_on.contains(&f.status))
    }
}

/// The earliest reset after `now` of a `usage_limited` finding: when the pool next gains a
/// credential back, so a scheduler (`watch`, a timer) can wake then.
pub fn next_reset(results: &[Finding], now: DateTime<Utc>) -> Option<DateTime<Utc>> {
    results
        .iter()
        .filter(|f| f.status == Status::UsageLimited)
        .filter_map(|f| f.reset_at)
        .filter(|t| *t > now)
        .min()
}

/// Returns `text` safe to print on a terminal or in a commit message: control characters
/// (newlines, escape sequences, C1 controls) and the Unicode characters that reorder or
/// separate lines (bidi overrides and isolates, U+2028/U+2029) are written as Rust-style
/// escapes (`\n`, `\u{1b}`, `\u{202e}`).
///
/// File names and a file's `type` come from whoever wrote the tree: printed raw, a newline plus
/// the report's marker lines would forge the report embedded in a prune commit, and escape
/// sequences would rewrite the terminal. Every renderer passes such values through here.
pub fn escape(text: &str) -> std::borrow::Cow<'_, str> {
    fn is_unsafe(c: char) -> bool {
        c.is_control()
            || matches!(
                c,
                '\u{200e}' | '\u{200f}' | '\u{2028}' | '\u{2029}' | '\u{202a}'..='\u{202e}'
                    | '\u{2066}'..='\u{2069}'
            )
    }
    if !text.chars().any(is_unsafe) {
        return std::borrow::Cow::Borrowed(text);
    }
    let mut out = String::with_capacity(text.len() + 8);
    for c in text.chars() {
        match c {
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if is_unsafe(c) => out.push_str(&format!("\\u{{{:x}}}", u32::from(c))),
            c => out.push(c),
        }
    }
    std::borrow::Cow::Owned(out)
}

/// Output formats.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum Format {
    /// A summary table and the files that are not alive.
    Text,
    /// The JSON report.
    Json,
    /// SARIF 2.1.0 (GitHub code scanning).
    Sarif,
    /// GitHub workflow commands (file annotations).
    Github,
    /// A Markdown summary (pull-request bodies, job summaries).
    Markdown,
}

/// Renders a report in the chosen format.
pub fn render(
    report: &Report,
    format: Format,
    color: bool,
    out: &mut dyn Write,
) -> std::io::Result<()> {
    let layout = human::Layout {
        color,
        ..human::Layout::default()
    };
    render_with(report, format, &layout, out)
}

/// Renders a report in the chosen format, the text one with the given layout.
pub fn render_with(
    report: &Report,
    format: Format,
    layout: &human::Layout,
    out: &mut dyn Write,
) -> std::io::Result<()> {
    match format {
        Format::Text => human::render(report, layout, out),
        Format::Json => json::render(report, out),
        Format::Sarif => ci::render_sarif(report, out),
        Format::Github => ci::render_github(report, out),
        Format::Markdown => out.write_all(ci::markdown(report).as_bytes()),
    }
}

#[cfg(test)]
mod tests {
    use super::escape;

    fn schema() -> serde_json::Value {
        serde_json::from_str(include_str!("../../schema/report.schema.json")).unwrap()
    }

    /// The published schema describes the version reports carry (issue 16 item 9).
    #[test]
    fn schema_describes_this_schema_version() {
        let s = schema();
        assert_eq!(
            s.pointer("/$defs/report/properties/schema_version/const"),
            Some(&serde_json::json!(super::SCHEMA_VERSION))
        );
        assert!(
            s["$id"]
                .as_str()
                .unwrap()
                .ends_with(&format!(":{}", super::SCHEMA_VERSION))
        );
    }

    /// Every status is in the schema, under its own class; and every `prune.results` value.
    #[test]
    fn schema_knows_every_status_class_and_listing() {
        let s = schema();
        for status in crate::status::Status::ALL {
            let name = serde_json::to_value(status).unwrap();
            let class = serde_json::to_value(status.class()).unwrap();
            let set = &s["$defs"][class.as_str().unwrap()]["enum"];
            assert!(
                set.as_array().unwrap().contains(&name),
                "{name} not under {class}"
            );
        }
        let listed = &s.pointer("/$defs/prune/properties/results/enum").unwrap();
        for l in [super::Listed::Removed, super::Listed::Selected] {
            assert!(
                listed
                    .as_array()
                    .unwrap()
                    .contains(&serde_json::to_value(l).unwrap()),
                "{l:?}"
            );
        }
    }

    #[test]
    fn regression_10_escape_neutralises_control_and_bidi_characters() {
        assert_eq!(escape("auths/a.json"), "auths/a.json");
        assert!(matches!(escape("plain"), std::borrow::Cow::Borrowed(_)));
        assert_eq!(escape("a\nb\tc\rd"), "a\\nb\\tc\\rd");
        assert_eq!(escape("\u{1b}[31mred"), "\\u{1b}[31mred");
        assert_eq!(
            escape("x\u{202e}y\u{2028}z\u{85}"),
            "x\\u{202e}y\\u{2028}z\\u{85}"
        );
        assert_eq!(escape("émoji ✓ 名前"), "émoji ✓ 名前");
    }
}
