//! Verdict rules as data: each provider states, row by row, which answer (HTTP status plus a body
//! condition) leads to which status, with a real example body and where that behaviour comes
//! from (CPA's source, the provider's docs, or the reference). [`decide`] walks the rows; the
//! generic test in this module feeds every row's example back through it, so a reviewer checks a
//! provider against upstream by reading one table.
//!
//! One rule holds for every provider and is enforced here and in [`settle`]: dead needs positive
//! evidence. An HTML page is never evidence (it goes straight to the fallback); a dead row needs a
//! body condition that names the terminal cause, except the plain 401, which [`settle`] turns into
//! `expired_refreshable` whenever a refresh token could still renew the credential.
//!
//! Pure: no I/O.

use chrono::{DateTime, Utc};

use super::ProbeResponse;
use crate::status::{Class, Status};
use crate::verdict::Verdict;

/// Which HTTP statuses a rule applies to.
#[derive(Clone, Copy, Debug)]
pub enum On {
    /// Any status.
    Any,
    /// One status.
    Code(u16),
    /// Any of these statuses.
    Codes(&'static [u16]),
    /// A closed range of statuses.
    Range(u16, u16),
}

impl On {
    /// Returns whether `code` is covered.
    pub fn matches(self, code: u16) -> bool {
        match self {
            On::Any => true,
            On::Code(c) => c == code,
            On::Codes(cs) => cs.contains(&code),
            On::Range(lo, hi) => (lo..=hi).contains(&code),
        }
    }

    /// A status the rule's example is sent with.
    pub fn example_code(self) -> u16 {
        match self {
            On::Any => 418,
            On::Code(c) | On::Range(c, _) => c,
            On::Codes(cs) => cs.first().copied().unwrap_or(418),
        }
    }

    /// Describes the statuses for docs (`401/403`, `500–599`, `any`).
    pub fn describe(self) -> String {
        match self {
            On::Any => "any".to_owned(),
            On::Code(c) => c.to_string(),
            On::Codes(cs) => cs.iter().map(u16::to_string).collect::<Vec<_>>().join("/"),
            On::Range(lo, hi) => format!("{lo}–{hi}"),
        }
    }
}

/// A condition on the answer's body.
#[derive(Clone, Copy)]
pub enum When {
    /// Any body.
    Any,
    /// The body is JSON.
    Json,
    /// The body mentions one of these (case-insensitive).
    Mentions(&'static [&'static str]),
    /// The JSON body's `error` string, or `error.code` / `error.type`, is one of these.
    ErrorCode(&'static [&'static str]),
    /// A named predicate (its name is what the docs show).
    Test(&'static str, fn(&ProbeResponse) -> bool),
}

impl std::fmt::Debug for When {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.describe())
    }
}

impl When {
    /// Returns whether the condition holds.
    pub fn holds(&self, resp: &ProbeResponse) -> bool {
        match self {
            When::Any => true,
            When::Json => resp.json().is_some(),
            When::Mentions(words) => words.iter().any(|w| resp.mentions(w)),
            When::ErrorCode(codes) => error_code(resp).is_some_and(|c| codes.contains(&c.as_str())),
            When::Test(_, f) => f(resp),
        }
    }

    /// Returns whether the condition names something in the body (positive evidence).
    pub fn is_evidence(&self) -> bool {
        matches!(self, When::Mentions(_) | When::ErrorCode(_))
    }

    /// Describes the condition for docs.
    pub fn describe(&self) -> String {
        let quote = |ws: &[&str]| {
            ws.iter()
                .map(|w| format!("`{w}`"))
                .collect::<Vec<_>>()
                .join(" or ")
        };
        match self {
            When::Any => "any body".to_owned(),
            When::Json => "a JSON body".to_owned(),
            When::Mentions(ws) => format!("body mentions {}", quote(ws)),
            When::ErrorCode(cs) => format!("error code {}", quote(cs)),
            When::Test(name, _) => (*name).to_owned(),
        }
    }
}

/// The `error` string, or `error.code`, or `error.type`, of a JSON answer.
pub fn error_code(resp: &ProbeResponse) -> Option<String> {
    let json = resp.json()?;
    let e = json.get("error")?;
    e.as_str()
        .or_else(|| e.get("code").and_then(serde_json::Value::as_str))
        .or_else(|| e.get("type").and_then(serde_json::Value::as_str))
        .map(str::to_owned)
}

/// What a matching rule concludes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Then {
    /// The verdict is known.
    Done(Status),
    /// Transient: retry; when the retries are used up, this is the verdict.
    Retry(Status),
    /// The answer does not decide; the probe goes on with its next request.
    Continue,
}

/// Adds detail from the body to a verdict (a reset time, which windows are exhausted).
pub type Annotate = fn(&ProbeResponse, &mut Verdict);

/// One row of a provider's verdict table.
pub struct Rule {
    /// Which statuses.
    pub on: On,
    /// Which bodies.
    pub when: When,
    /// What it means.
    pub then: Then,
    /// The reason shown to the user (no secret, no body text).
    pub reason: &'static str,
    /// A real answer body of this kind (shape taken from the evidence).
    pub example: &'static str,
    /// Where the behaviour comes from: CPA file (and line) or the provider's docs.
    pub evidence: &'static str,
    /// Optional detail read from the body.
    pub annotate: Option<Annotate>,
}

/// The outcome of judging one answer.
#[derive(Debug)]
pub enum Decision {
    /// Final.
    Done(Verdict),
    /// Retry, then this.
    Retry(Verdict),
    /// Go on with the next request.
    Continue,
}

/// The rows every provider falls back to when none of its own matches.
pub const FALLBACK: &[Rule] = &[
    Rule {
        on: On::Code(429),
        when: When::Any,
        then: Then::Retry(Status::RateLimited),
        reason: "rate limited by the provider (HTTP 429)",
        example: r#"{"error":{"type":"rate_limit_error","message":"Rate limited"}}"#,
        evidence: "CPA treats 429 as a cooldown, never as dead (reference §4)",
        annotate: None,
    },
    Rule {
        on: On::Code(408),
        when: When::Any,
        then: Then::Retry(Status::CheckError),
        reason: "provider timeout (HTTP 408)",
        example: "",
        evidence: "CPA: 408/5xx are `transient upstream error` (reference §4)",
        annotate: None,
    },
    Rule {
        on: On::Range(500, 599),
        when: When::Any,
        then: Then::Retry(Status::CheckError),
        reason: "provider error (HTTP 5xx)",
        example: r#"{"error":{"type":"overloaded_error","message":"Overloaded"}}"#,
        evidence: "CPA: 408/5xx are `transient upstream error` (reference §4)",
        annotate: None,
    },
    Rule {
        on: On::Any,
        when: When::Any,
        then: Then::Done(Status::Unknown),
        reason: "unexpected answer",
        example: r#"{"error":{"code":"forbidden"}}"#,
        evidence: "anything without a rule is not evidence",
        annotate: None,
    },
];

fn verdict_of(rule: &Rule, status: Status, resp: &ProbeResponse) -> Verdict {
    let mut reason = rule.reason.to_owned();
    if matches!(rule.on, On::Any | On::Range(..)) {
        reason = format!("{reason} (HTTP {}){}", resp.status, snippet(resp));
    }
    let mut v = Verdict {
        http_status: Some(resp.status),
        ..Verdict::new(status, reason)
    };
    if let Some(annotate) = rule.annotate {
        annotate(resp, &mut v);
    }
    v
}

fn apply(rule: &Rule, resp: &ProbeResponse) -> Decision {
    match rule.then {
        Then::Done(s) => Decision::Done(verdict_of(rule, s, resp)),
        Then::Retry(s) => Decision::Retry(verdict_of(rule, s, resp)),
        Then::Continue => Decision::Continue,
    }
}

/// Judges an answer by the first matching row of `tables` (in order), else by [`FALLBACK`].
///
/// An HTML answer (a WAF, a captive portal, a Cloudflare challenge) matches no provider row: it
/// is retried and ends as `check_error`, whatever its status, except a 429, which stays
/// `rate_limited`.
pub fn decide(tables: &[&[Rule]], resp: &ProbeResponse) -> Decision {
    if resp.is_html() {
        if resp.status == 429 {
            return apply(&FALLBACK[0], resp);
        }
        return Decision::Retry(Verdict {
            http_status: Some(resp.status),
            ..Verdict::new(
                Status::CheckError,
                format!(
                    "unexpected HTML answer (HTTP {}); a proxy or WAF page is not evidence",
                    resp.status
                ),
            )
        });
    }
    tables
        .iter()
        .flat_map(|t| t.iter())
        .chain(FALLBACK)
        .find(|r| r.on.matches(resp.status) && r.when.holds(resp))
        .map_or(Decision::Continue, |r| apply(r, resp))
}

/// What is known about a credential besides the answer, for the one dead rule.
#[derive(Clone, Copy, Debug, Default)]
pub struct Context {
    /// A refresh token is present (or, relayed through CPA, CPA holds the file's refresh token).
    pub can_refresh: bool,
    /// CPA itself reports this credential unauthorized after its own refresh (server mode).
    pub cpa_refresh_failed: bool,
}

/// Applies the rule that holds for every provider: a plain 401 is `unauthorized` (dead) only
/// when nothing can renew the credential, or when CPA's own refresh already failed (CPA's status
/// is positive evidence). Otherwise it is `expired_refreshable`: git-credman never redeems
/// rotating refresh tokens, so it has not proven the credential dead.
pub fn settle(mut v: Verdict, ctx: Context) -> Verdict {
    if v.status != Status::Unauthorized || !ctx.can_refresh {
        return v;
    }
    if ctx.cpa_refresh_failed {
        v.reason = format!("{}; CPA's own refresh failed too", v.reason);
        return v;
    }
    Verdict {
        status: Status::ExpiredRefreshable,
        reason: format!("{}; refresh token present, not tried", v.reason),
        ..v
    }
}

/// A short, safe excerpt of an error body for reasons: only an error code from JSON, reduced to
/// `[A-Za-z0-9_]`.
pub fn snippet(resp: &ProbeResponse) -> String {
    error_code(resp)
        .or_else(|| {
            resp.json()
                .and_then(|j| j.get("status").and_then(|s| s.as_str().map(str::to_owned)))
        })
        .map(|s| {
            s.chars()
                .filter(|c| c.is_ascii_alphanumeric() || *c == '_')
                .take(48)
                .collect::<String>()
        })
        .filter(|s| !s.is_empty())
        .map(|s| format!(": {s}"))
        .unwrap_or_default()
}

/// Parses a unix-seconds or RFC3339 JSON value as a time.
pub fn time_of(v: Option<&serde_json::Value>) -> Option<DateTime<Utc>> {
    v.and_then(crate::credential::parse_timestamp)
}

/// One usage window of a provider's answer: a used share in percent (a negative or non-finite
/// one is no window), its length and reset time.
pub fn usage_window(
    name: String,
    seconds: Option<u64>,
    used_percent: f64,
    reset: Option<&serde_json::Value>,
) -> Option<crate::verdict::Window> {
    if !used_percent.is_finite() || used_percent < 0.0 {
        return None;
    }
    #[allow(clippy::cast_possible_truncation, clippy::cast_sign_loss)]
    let used_tenths = (used_percent * 10.0).round().min(f64::from(u32::MAX)) as u32;
    Some(crate::verdict::Window {
        name,
        seconds,
        used_tenths,
        reset_at: time_of(reset),
    })
}

/// A window's short name from its length: `5h`, `7d`, `30m`, `90s`.
pub fn window_name(seconds: u64) -> String {
    match seconds {
        0 => "0s".to_owned(),
        s if s % 86_400 == 0 => format!("{}d", s / 86_400),
        s if s % 3_600 == 0 => format!("{}h", s / 3_600),
        s if s % 60 == 0 => format!("{}m", s / 60),
        s => format!("{s}s"),
    }
}

/// Returns `now + secs`, or `None` when that is not a representable time.
pub fn seconds_from_now(secs: i64) -> Option<DateTime<Utc>> {
    chrono::Duration::try_seconds(secs).and_then(|d| Utc::now().checked_add_signed(d))
}

/// One stage of a provider's probe, for docs and the generic test.
pub struct Stage {
    /// What the stage sends.
    pub request: &'static str,
    /// The rows, tried in order (then [`FALLBACK`]).
    pub tables: &'static [&'static [Rule]],
}

/// A provider's whole story, next to its rules.
pub struct Spec {
    /// The `type` values it covers.
    pub types: &'static str,
    /// How a file is recognised and who it belongs to.
    pub identity: &'static str,
    /// Whether the refresh token rotates (then git-credman never redeems it).
    pub rotating_refresh: bool,
    /// The probe's stages, in order.
    pub stages: &'static [Stage],
    /// Notes (what is not checked and why).
    pub notes: &'static str,
}

fn cell(s: &str) -> String {
    s.replace('|', "\\|").replace('\n', " ")
}

/// A rule's outcome as a table cell of `docs/provider-rules.md`.
fn then_cell(then: Then) -> String {
    match then {
        Then::Done(s) => s.as_str().to_owned(),
        Then::Retry(s) => format!("{} (retry)", s.as_str()),
        Then::Continue => "next request".to_owned(),
    }
}

/// Renders every provider's rules as Markdown: a summary table (the README's) and, with
/// `evidence`, every row with its example and source.
pub fn markdown(specs: &[&Spec], evidence: bool) -> String {
    use std::fmt::Write as _;
    let mut out = String::new();
    if !evidence {
        out.push_str("| provider | request | verdicts |\n|---|---|---|\n");
        for spec in specs {
            let request = spec
                .stages
                .iter()
                .map(|s| s.request)
                .collect::<Vec<_>>()
                .join("<br>");
            let mut verdicts: Vec<String> = Vec::new();
            for stage in spec.stages {
                for rule in stage.tables.iter().flat_map(|t| t.iter()) {
                    let then = match rule.then {
                        // The one rule of `settle`, said where it applies.
                        Then::Done(Status::Unauthorized) => "`unauthorized` \
                            (`expired_refreshable` while a refresh token could renew it)"
                            .to_owned(),
                        Then::Done(s) => format!("`{}`", s.as_str()),
                        Then::Retry(s) => format!("`{}` (after retries)", s.as_str()),
                        Then::Continue => "next request".to_owned(),
                    };
                    let line = format!("{} {} → {then}", rule.on.describe(), rule.when.describe());
                    if !verdicts.contains(&line) {
                        verdicts.push(line);
                    }
                }
            }
            if verdicts.is_empty() {
                verdicts.push(spec.notes.to_owned());
            }
            let request = if request.is_empty() {
                "none".to_owned()
            } else {
                request
            };
            let _ = writeln!(
                out,
                "| {} | {} | {} |",
                cell(spec.types),
                cell(&request),
                cell(&verdicts.join("; "))
            );
        }
        return out;
    }
    for spec in specs {
        let _ = writeln!(out, "## {}\n", spec.types);
        let _ = writeln!(out, "- Identity: {}", spec.identity);
        let _ = writeln!(
            out,
            "- Refresh token rotates: {}",
            if spec.rotating_refresh {
                "yes: never redeemed by git-credman"
            } else {
                "no"
            }
        );
        if !spec.notes.is_empty() {
            let _ = writeln!(out, "- Notes: {}", spec.notes);
        }
        out.push('\n');
        for stage in spec.stages {
            let _ = writeln!(out, "### {}\n", stage.request);
            out.push_str(
                "| on | body | → | reason | example body | evidence |\n|---|---|---|---|---|---|\n",
            );
            for rule in stage.tables.iter().flat_map(|t| t.iter()) {
                let then = then_cell(rule.then);
                let example = if rule.example.is_empty() {
                    String::new()
                } else {
                    format!("`{}`", rule.example)
                };
                let _ = writeln!(
                    out,
                    "| {} | {} | {} | {} | {} | {} |",
                    rule.on.describe(),
                    cell(&rule.when.describe()),
                    then,
                    cell(rule.reason),
                    cell(&example),
                    cell(rule.evidence)
                );
            }
            out.push('\n');
        }
    }
    out.push_str("## Every provider, when no row above matches\n\n");
    out.push_str("| on | body | → | reason | evidence |\n|---|---|---|---|---|\n");
    for rule in FALLBACK {
        let then = then_cell(rule.then);
        let _ = writeln!(
            out,
            "| {} | {} | {} | {} | {} |",
            rule.on.describe(),
            cell(&rule.when.describe()),
            then,
            cell(rule.reason),
            cell(rule.evidence)
        );
    }
    out
}

/// Returns whether a rule would call a credential dead.
pub fn is_dead(then: Then) -> bool {
    matches!(then, Then::Done(s) | Then::Retry(s) if s.class() == Class::Dead)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::providers::test_support::{html, resp};

    #[test]
    fn windows_are_named_by_length_and_odd_shares_are_no_window() {
        assert_eq!(window_name(18_000), "5h");
        assert_eq!(window_name(604_800), "7d");
        assert_eq!(window_name(2_592_000), "30d");
        assert_eq!(window_name(90), "90s");
        assert_eq!(window_name(1_800), "30m");
        assert!(usage_window("5h".into(), None, f64::NAN, None).is_none());
        assert!(usage_window("5h".into(), None, -1.0, None).is_none());
        let w = usage_window("5h".into(), Some(18_000), 12.34, None).unwrap();
        assert_eq!(w.used_tenths, 123);
        assert_eq!(
            usage_window("x".into(), None, 1e300, None)
                .unwrap()
                .used_tenths,
            u32::MAX
        );
    }

    /// Every row of every provider: its example, sent with its status, must be judged by that
    /// very row (so no earlier row shadows it), and its HTML twin must never be dead.
    #[test]
    fn every_rows_example_is_judged_by_its_row() {
        for spec in crate::providers::SPECS {
            for stage in spec.stages {
                let rows: Vec<&Rule> = stage.tables.iter().flat_map(|t| t.iter()).collect();
                for (n, rule) in rows.iter().enumerate() {
                    let r = resp(rule.on.example_code(), rule.example);
                    let first = rows
                        .iter()
                        .chain(FALLBACK.iter().collect::<Vec<_>>().iter())
                        .position(|x| x.on.matches(r.status) && x.when.holds(&r));
                    assert_eq!(
                        first,
                        Some(n),
                        "{} / {}: row {n} ({} {:?}) is shadowed or its example does not match",
                        spec.types,
                        stage.request,
                        rule.on.describe(),
                        rule.when
                    );
                    let got = match decide(stage.tables, &r) {
                        Decision::Done(v) => Then::Done(v.status),
                        Decision::Retry(v) => Then::Retry(v.status),
                        Decision::Continue => Then::Continue,
                    };
                    assert_eq!(got, rule.then, "{} row {n}", spec.types);
                    let h = html(rule.on.example_code());
                    if let Decision::Done(v) | Decision::Retry(v) = decide(stage.tables, &h) {
                        assert_ne!(v.status.class(), Class::Dead, "{} row {n} html", spec.types);
                    }
                }
            }
        }
    }

    /// Dead needs positive evidence: every dead row names its terminal cause in the body, except
    /// the plain 401 `unauthorized`, which [`settle`] downgrades when a refresh could renew it.
    #[test]
    fn dead_rows_need_evidence() {
        for spec in crate::providers::SPECS {
            for stage in spec.stages {
                for rule in stage.tables.iter().flat_map(|t| t.iter()) {
                    if !is_dead(rule.then) {
                        continue;
                    }
                    let plain_401 = matches!(rule.on, On::Code(401))
                        && rule.then == Then::Done(Status::Unauthorized);
                    assert!(
                        rule.when.is_evidence() || plain_401,
                        "{}: dead row without evidence: {} {:?}",
                        spec.types,
                        rule.on.describe(),
                        rule.when
                    );
                    assert!(!rule.evidence.is_empty() && !rule.example.is_empty());
                }
            }
        }
        for rule in FALLBACK {
            assert!(!is_dead(rule.then));
        }
    }

    #[test]
    fn fallback_is_never_dead() {
        for code in [400, 401, 402, 403, 404, 409, 426, 429, 500, 502, 503, 504] {
            for body in ["", "{}", "not json", r#"{"error":"invalid_grant"}"#] {
                if let Decision::Done(v) | Decision::Retry(v) = decide(&[], &resp(code, body)) {
                    assert_ne!(v.status.class(), Class::Dead, "{code} {body}");
                }
            }
        }
        assert!(matches!(
            decide(&[], &html(429)),
            Decision::Retry(v) if v.status == Status::RateLimited
        ));
    }

    #[test]
    fn settle_downgrades_a_plain_401_only_when_a_refresh_could_renew() {
        let v = Verdict::new(Status::Unauthorized, "token rejected (HTTP 401)");
        let no = Context::default();
        assert_eq!(settle(v.clone(), no).status, Status::Unauthorized);
        let can = Context {
            can_refresh: true,
            ..Context::default()
        };
        let s = settle(v.clone(), can);
        assert_eq!(s.status, Status::ExpiredRefreshable);
        assert!(s.reason.contains("not tried"));
        let cpa = Context {
            can_refresh: true,
            cpa_refresh_failed: true,
        };
        assert_eq!(settle(v, cpa).status, Status::Unauthorized);
        let dead = Verdict::new(Status::Invalidated, "token_invalidated");
        assert_eq!(settle(dead, can).status, Status::Invalidated);
    }

    /// The README's online-checks table and `docs/provider-rules.md` are generated from the
    /// tables; this fails when they drift. `GIT_CREDMAN_BLESS=1 cargo test --lib docs` rewrites
    /// them.
    #[test]
    fn docs_are_generated_from_the_tables() {
        const BEGIN: &str =
            "<!-- provider-rules:begin (generated from src/providers; do not edit) -->\n";
        const END: &str = "<!-- provider-rules:end -->";
        let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
        #[allow(clippy::disallowed_methods)]
        let bless = std::env::var("GIT_CREDMAN_BLESS").is_ok_and(|v| v == "1");
        let readme_path = root.join("README.md");
        let readme = std::fs::read_to_string(&readme_path).unwrap();
        let (head, rest) = readme
            .split_once(BEGIN)
            .expect("README has the begin marker");
        let (_, tail) = rest.split_once(END).expect("README has the end marker");
        let table = markdown(crate::providers::SPECS, false);
        let want_readme = format!("{head}{BEGIN}{table}{END}{tail}");
        let docs_path = root.join("docs/provider-rules.md");
        let want_docs = format!(
            "# Provider verdict rules\n\nGenerated from `src/providers/` by the test \
             `providers::rule::tests::docs_are_generated_from_the_tables`; do not edit. Each row: \
             the HTTP status and body condition, the verdict, the reason shown, a real example \
             body, and where the behaviour comes from. Rows are tried in order; an HTML answer \
             matches no row (it is never evidence). After the table, the one rule for every \
             provider: a plain 401 `unauthorized` becomes `expired_refreshable` whenever a \
             refresh token could still renew the credential, unless CPA itself reports it \
             unauthorized after its own refresh.\n\n{}",
            markdown(crate::providers::SPECS, true)
        );
        if bless {
            std::fs::write(&readme_path, &want_readme).unwrap();
            std::fs::create_dir_all(root.join("docs")).unwrap();
            std::fs::write(&docs_path, &want_docs).unwrap();
            return;
        }
        assert!(
            readme == want_readme,
            "README.md's provider table is stale: run GIT_CREDMAN_BLESS=1 cargo test --lib docs"
        );
        let docs = std::fs::read_to_string(&docs_path).unwrap_or_default();
        assert!(
            docs == want_docs,
            "docs/provider-rules.md is stale: run GIT_CREDMAN_BLESS=1 cargo test --lib docs"
        );
    }

    #[test]
    fn huge_reset_offsets_do_not_overflow() {
        assert!(seconds_from_now(i64::MAX).is_none());
        assert!(seconds_from_now(i64::MIN).is_none());
        assert!(seconds_from_now(60).is_some());
    }
}
