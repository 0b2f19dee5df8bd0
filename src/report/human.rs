//! The terminal report: a status × provider table, then every file that is not alive with its
//! reason, then duplicates and working-tree differences. Colours only when the caller says so.

use std::io::{self, Write};

use anstyle::{AnsiColor, Style};

use super::{Finding, Report, escape as esc};
use crate::status::{Class, Status};

fn class_style(class: Class) -> Style {
    let color = match class {
        Class::Alive => AnsiColor::Green,
        Class::Dead => AnsiColor::Red,
        Class::Transient => AnsiColor::Yellow,
        Class::Unknown => AnsiColor::Magenta,
    };
    Style::new().fg_color(Some(color.into()))
}

struct Painter {
    color: bool,
}

impl Painter {
    fn paint(&self, style: Style, text: &str) -> String {
        if self.color {
            format!("{style}{text}{style:#}")
        } else {
            text.to_owned()
        }
    }

    fn bold(&self, text: &str) -> String {
        self.paint(Style::new().bold(), text)
    }
}

fn describe_source(report: &Report) -> String {
    let s = &report.source;
    let short = |id: &Option<String>| {
        id.as_deref()
            .map(|c| c.chars().take(12).collect::<String>())
    };
    match s.kind {
        "head" => format!("HEAD ({})", short(&s.commit).unwrap_or_default()),
        "index" => "the index".to_owned(),
        "rev" => format!(
            "{} ({})",
            s.rev.as_deref().unwrap_or("?"),
            short(&s.commit)
                .or_else(|| short(&s.tree))
                .unwrap_or_default()
        ),
        "dir" => esc(s.dir.as_deref().unwrap_or_default()).into_owned(),
        "remote" => esc(s.url.as_deref().unwrap_or("remote")).into_owned(),
        other => esc(other).into_owned(),
    }
}

/// How many lines a section lists unless `all` (a screenful; the JSON report has every file).
pub const SECTION_LIMIT: usize = 40;

/// How the text report is laid out.
#[derive(Clone, Copy, Debug, Default)]
pub struct Layout {
    /// Use colour.
    pub color: bool,
    /// List every file in every section instead of at most [`SECTION_LIMIT`].
    pub all: bool,
    /// Fit lines to this many columns (a terminal's width); `None` never cuts a line.
    pub width: Option<usize>,
    /// Add the usage windows (`scan --quota`).
    pub quota: bool,
}

impl Layout {
    fn limit(&self) -> usize {
        if self.all { usize::MAX } else { SECTION_LIMIT }
    }

    /// Cuts `line` (plain text, no colour codes) to the width, marking the cut with `…`.
    fn fit(&self, line: &str) -> String {
        match self.width {
            Some(w) if line.chars().count() > w && w > 1 => {
                let mut cut: String = line.chars().take(w - 1).collect();
                cut.push('…');
                cut
            }
            _ => line.to_owned(),
        }
    }
}

fn more(out: &mut dyn Write, shown: usize, total: usize) -> io::Result<()> {
    if total > shown {
        writeln!(
            out,
            "  … and {} more (use --all, or --format json for every file)",
            total - shown
        )?;
    }
    Ok(())
}

/// Writes the text report: the summary first, then at most a screenful per section (unless
/// `layout.all`), each line fitted to the terminal.
pub fn render(report: &Report, layout: &Layout, out: &mut dyn Write) -> io::Result<()> {
    let p = Painter {
        color: layout.color,
    };
    let total = report.summary.total;
    let noun = if total == 1 {
        "credential file"
    } else {
        "credential files"
    };
    let where_ = describe_source(report);
    let scope = report
        .source
        .auth_path
        .as_deref()
        .map(|a| format!(" under {}/", esc(a)))
        .unwrap_or_default();
    writeln!(
        out,
        "{}",
        p.bold(&format!(
            "{total} {noun} in {where_}{scope} ({})",
            report.mode
        ))
    )?;
    if total == 0 {
        match report.baseline {
            Some(b) => writeln!(
                out,
                "Nothing changed since the baseline: {} file(s) unchanged, not listed.",
                b.unchanged
            )?,
            None => writeln!(out, "Nothing to check: no credential files were found.")?,
        }
        return Ok(());
    }
    writeln!(out)?;
    table(report, &p, out)?;

    let not_alive: Vec<&Finding> = report
        .results
        .iter()
        .filter(|f| !f.status.is_alive())
        .collect();
    if !not_alive.is_empty() {
        writeln!(out)?;
        writeln!(
            out,
            "{}",
            p.bold(&format!("Not alive ({}):", not_alive.len()))
        )?;
        let width = not_alive
            .iter()
            .map(|f| f.path.len())
            .max()
            .unwrap_or(0)
            .min(60);
        let total = not_alive.len();
        for f in not_alive.iter().take(layout.limit()) {
            let fail = if f.pinned.is_some() {
                "P"
            } else if report.fail_on.contains(&f.status) {
                "✗"
            } else {
                "·"
            };
            let status = format!("{:<19}", f.status.as_str());
            let http = f
                .http_status
                .map(|c| format!(" [HTTP {c}]"))
                .unwrap_or_default();
            let head = format!(
                "  {fail} {:<width$}  {:<11} ",
                esc(&f.path),
                esc(&f.provider)
            );
            // Fit the plain line, then colour the status inside it.
            let pin = pin_marker(f);
            let line = layout.fit(&format!("{head}{status} {}{http}{pin}", esc(&f.reason)));
            let rest = line.get(head.len()..).unwrap_or("");
            // The status is ASCII: split within its ASCII prefix, never inside a `…`.
            let cut = rest
                .bytes()
                .take_while(u8::is_ascii)
                .count()
                .min(status.len());
            let (st, tail) = rest.split_at(cut);
            writeln!(
                out,
                "{}{}{}",
                &line[..head.len().min(line.len())],
                p.paint(class_style(f.class), st),
                tail
            )?;
        }
        more(out, total.min(layout.limit()), total)?;
    }

    // Each group once, its files in report order (a group of 4,000 is one line, not 4,000
    // lines of 3,999 names).
    let mut groups: std::collections::BTreeMap<usize, Vec<&str>> =
        std::collections::BTreeMap::new();
    for f in &report.results {
        if let Some(g) = f.duplicate_group {
            groups.entry(g.id).or_default().push(&f.path);
        }
    }
    if !groups.is_empty() {
        let files: usize = groups.values().map(Vec::len).sum();
        writeln!(out)?;
        writeln!(
            out,
            "{}",
            p.bold(&format!(
                "Duplicates ({files} files in {} {} hold the same account or token):",
                groups.len(),
                if groups.len() == 1 { "group" } else { "groups" }
            ))
        )?;
        for paths in groups.values().take(layout.limit()) {
            let names: Vec<std::borrow::Cow<'_, str>> = paths.iter().map(|p| esc(p)).collect();
            writeln!(out, "{}", layout.fit(&format!("  {}", names.join(" = "))))?;
        }
        more(out, groups.len().min(layout.limit()), groups.len())?;
    }

    let changed: Vec<&Finding> = report
        .results
        .iter()
        .filter(|f| f.worktree.is_some())
        .collect();
    if !changed.is_empty() {
        writeln!(out)?;
        writeln!(
            out,
            "{}",
            p.bold(&format!(
                "Working tree differs from what was scanned ({}):",
                changed.len()
            ))
        )?;
        let total = changed.len();
        for f in changed.iter().take(layout.limit()) {
            writeln!(
                out,
                "{}",
                layout.fit(&format!(
                    "  {}  {}",
                    esc(&f.path),
                    f.worktree.unwrap_or_default()
                ))
            )?;
        }
        more(out, total.min(layout.limit()), total)?;
    }

    if layout.quota {
        quota(report, layout, &p, out)?;
    }

    let pinned = report.results.iter().filter(|f| f.pinned.is_some()).count();
    if pinned > 0 {
        writeln!(out)?;
        writeln!(
            out,
            "{pinned} pinned file(s) (P): kept by the pin file, never pruned, never failing."
        )?;
    }
    if let Some(b) = report.baseline {
        writeln!(out)?;
        writeln!(
            out,
            "Baseline: {} file(s) changed status since the baseline; {} unchanged, not listed.",
            b.changed, b.unchanged
        )?;
    }
    let failing = report.failing().count();
    writeln!(out)?;
    if failing == 0 {
        writeln!(
            out,
            "{}",
            p.paint(
                class_style(Class::Alive),
                "OK: no file has a status in the fail set."
            )
        )?;
    } else {
        let set: Vec<&str> = report.fail_on.iter().map(|s| s.as_str()).collect();
        writeln!(
            out,
            "{}",
            p.paint(
                class_style(Class::Dead),
                &format!(
                    "FAIL: {failing} file(s) have a status in the fail set ({}).",
                    set.join(",")
                )
            )
        )?;
    }
    Ok(())
}

/// The usage section of `scan --quota`: every credential with windows, fullest first, then the
/// next reset.
fn quota(report: &Report, layout: &Layout, p: &Painter, out: &mut dyn Write) -> io::Result<()> {
    writeln!(out)?;
    if report.mode != "online" {
        writeln!(
            out,
            "Quota: offline, no usage windows (the online check reads them)."
        )?;
        return Ok(());
    }
    let mut with: Vec<(&Finding, &crate::verdict::Quota)> = report
        .results
        .iter()
        .filter_map(|f| f.quota.as_deref().map(|q| (f, q)))
        .collect();
    with.sort_by_key(|(f, q)| {
        (
            std::cmp::Reverse(q.fullest().map_or(0, |w| w.used_tenths)),
            f.path.as_str(),
        )
    });
    writeln!(
        out,
        "{}",
        p.bold(&format!(
            "Quota: {} credential(s) with usage windows, fullest first",
            with.len()
        ))
    )?;
    for (f, q) in with.iter().take(layout.limit()) {
        let windows: Vec<String> = q
            .windows
            .iter()
            .map(|w| {
                let reset = w
                    .reset_at
                    .map(|t| format!(", resets {}", super::rfc3339(t)))
                    .unwrap_or_default();
                format!("{} {} %{reset}", esc(&w.name), w.used_percent())
            })
            .collect();
        let plan = q
            .plan
            .as_deref()
            .map(|p| format!(" ({})", esc(p)))
            .unwrap_or_default();
        writeln!(
            out,
            "{}",
            layout.fit(&format!(
                "  {:<15} {}{plan}  {}",
                f.status.as_str(),
                esc(&f.path),
                windows.join("; ")
            ))
        )?;
    }
    more(out, with.len().min(layout.limit()), with.len())?;
    match report.next_reset_at {
        Some(t) => writeln!(
            out,
            "Next reset of a usage-limited credential: {}",
            super::rfc3339(t)
        )?,
        None => writeln!(out, "No usage-limited credential waits for a reset.")?,
    }
    Ok(())
}

/// The text marker of a pinned file: ` [pinned: comment]`, or nothing.
fn pin_marker(f: &Finding) -> String {
    match f.pinned.as_deref() {
        None => String::new(),
        Some("") => " [pinned]".to_owned(),
        Some(c) => format!(" [pinned: {}]", esc(c)),
    }
}

fn table(report: &Report, p: &Painter, out: &mut dyn Write) -> io::Result<()> {
    let providers: Vec<&String> = report.summary.by_provider.keys().collect();
    let widths: Vec<usize> = providers.iter().map(|n| n.len().max(5)).collect();
    let mut header = format!("{:<20}", "status");
    for (name, w) in providers.iter().zip(&widths) {
        header.push_str(&format!(" {name:>w$}"));
    }
    header.push_str(&format!(" {:>6}", "total"));
    writeln!(out, "{}", p.bold(&header))?;
    for status in Status::ALL {
        let Some(count) = report.summary.by_status.get(&status) else {
            continue;
        };
        let mut line = p.paint(
            class_style(status.class()),
            &format!("{:<20}", status.as_str()),
        );
        for (name, w) in providers.iter().zip(&widths) {
            let n = report
                .summary
                .by_provider_status
                .get(*name)
                .and_then(|m| m.get(&status))
                .copied();
            let cell = n.map_or_else(|| "-".to_owned(), |n| n.to_string());
            line.push_str(&format!(" {cell:>w$}"));
        }
        line.push_str(&format!(" {count:>6}"));
        writeln!(out, "{line}")?;
    }
    let mut line = format!("{:<20}", "total");
    for (name, w) in providers.iter().zip(&widths) {
        line.push_str(&format!(" {:>w$}", report.summary.by_provider[*name]));
    }
    line.push_str(&format!(" {:>6}", report.summary.total));
    writeln!(out, "{}", p.bold(&line))
}

/// Writes the text output of `prune`: a headline, the files removed (or to remove), the files
/// selected but kept, and the counts of the scan.
pub fn render_prune(
    report: &Report,
    headline: &str,
    color: bool,
    out: &mut dyn Write,
) -> io::Result<()> {
    let p = Painter { color };
    writeln!(out, "{}", p.bold(&esc(headline)))?;
    let dry = report.prune.as_ref().is_some_and(|x| x.dry_run);
    if !report.results.is_empty() {
        writeln!(out)?;
        let verb = if dry { "Selected" } else { "Removed" };
        writeln!(out, "{} ({}):", p.bold(verb), report.results.len())?;
        let width = report
            .results
            .iter()
            .map(|f| f.path.len())
            .max()
            .unwrap_or(0)
            .min(60);
        for f in &report.results {
            let status = p.paint(class_style(f.class), &format!("{:<17}", f.status.as_str()));
            writeln!(
                out,
                "  {:<width$}  {:<11} {status} {}",
                esc(&f.path),
                esc(&f.provider),
                esc(&f.reason)
            )?;
        }
    }
    if let Some(prune) = report.prune.as_ref().filter(|p| !p.skipped.is_empty()) {
        writeln!(out)?;
        writeln!(
            out,
            "{} ({}):",
            p.bold("Selected but kept"),
            prune.skipped.len()
        )?;
        for s in &prune.skipped {
            writeln!(out, "  {}  {}", esc(&s.path), esc(&s.reason))?;
        }
    }
    let classes: Vec<String> = report
        .summary
        .by_class
        .iter()
        .map(|(c, n)| format!("{} {n}", c.as_str()))
        .collect();
    writeln!(out)?;
    writeln!(
        out,
        "Scanned {} credential files ({}; {}).",
        report.summary.total,
        report.mode,
        classes.join(", ")
    )
}

/// Writes the text output of `restore`.
pub fn render_restore(
    commit: &str,
    restored: &[String],
    skipped: &[(String, String)],
    signed: &str,
    out: &mut dyn Write,
) -> io::Result<()> {
    writeln!(
        out,
        "Restored {} file(s) in commit {} ({signed}).",
        restored.len(),
        &commit[..12.min(commit.len())]
    )?;
    for p in restored {
        writeln!(out, "  {}", esc(p))?;
    }
    if !skipped.is_empty() {
        writeln!(out, "Left alone ({}):", skipped.len())?;
        for (p, why) in skipped {
            writeln!(out, "  {}  {}", esc(p), esc(why))?;
        }
    }
    Ok(())
}

/// Writes one line.
pub fn render_line(line: &str, out: &mut dyn Write) -> io::Result<()> {
    writeln!(out, "{}", esc(line))
}

/// Writes the pre-push gate's verdict.
pub fn render_pre_push(
    checked: &[Finding],
    blocked: &[&Finding],
    fail_on: &crate::status::StatusSet,
    online: bool,
    fell_back: usize,
    out: &mut dyn Write,
) -> io::Result<()> {
    let mode = if online { "online" } else { "offline" };
    if blocked.is_empty() {
        writeln!(
            out,
            "git-credman: {} pushed credential file(s) checked ({mode}); nothing blocks the push.",
            checked.len()
        )?;
    } else {
        writeln!(
            out,
            "git-credman: push blocked: {} credential file(s) have a status in {fail_on}:",
            blocked.len()
        )?;
        for f in blocked {
            writeln!(
                out,
                "  {}  {}  {}: {}",
                esc(&f.path),
                esc(&f.provider),
                f.status,
                esc(&f.reason)
            )?;
        }
        writeln!(
            out,
            "Fix or remove them (git credman prune), or bypass this check with `git push --no-verify`."
        )?;
    }
    // Pinned files with a blocking status: listed, so that a pin never hides one silently.
    let pinned: Vec<&Finding> = checked
        .iter()
        .filter(|f| f.pinned.is_some() && fail_on.contains(f.status))
        .collect();
    if !pinned.is_empty() {
        writeln!(
            out,
            "git-credman: {} pinned credential file(s) (.credmanignore) do not block the push:",
            pinned.len()
        )?;
        for f in pinned {
            let why = f.pinned.as_deref().unwrap_or_default();
            writeln!(
                out,
                "  {}  {}  {}  pinned{}{}",
                esc(&f.path),
                esc(&f.provider),
                f.status,
                if why.is_empty() { "" } else { ": " },
                esc(why)
            )?;
        }
    }
    if fell_back > 0 {
        writeln!(
            out,
            "git-credman: {fell_back} online check(s) did not finish in time; their offline verdicts were used."
        )?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lines_fit_the_width_without_splitting_characters() {
        let l = Layout {
            width: Some(10),
            ..Layout::default()
        };
        assert_eq!(l.fit("short"), "short");
        assert_eq!(l.fit("auths/ünïcödé-long.json"), "auths/ünï…");
        assert_eq!(l.fit("auths/ünïcödé-long.json").chars().count(), 10);
        let none = Layout::default();
        assert_eq!(none.fit(&"x".repeat(500)).len(), 500);
    }
}
