//! The interactive review of `prune --interactive` (ratatui on crossterm): an overview of the
//! scan's statuses with counts, each status's files with provider, masked identity, reason and
//! evidence, toggling one, all or none of the files prune selected, filters by text and
//! provider, and a confirmation that says exactly what will happen and what the breaker says.
//!
//! The result is a [`Plan`] like the non-interactive one (the same single commit, quarantine,
//! disable or delete follows): the review can only narrow prune's selection, never widen it, so
//! the status guard, the pins and every executor's own checks still decide what may go. Only this
//! module draws on the terminal.

use std::io::IsTerminal as _;

use ratatui::crossterm::event::{self, Event, KeyCode, KeyEvent, KeyEventKind, KeyModifiers};
use ratatui::layout::{Constraint, Layout};
use ratatui::style::{Modifier, Style};
use ratatui::text::Line;
use ratatui::widgets::{Block, Borders, Paragraph, Row, Table, TableState, Wrap};
use ratatui::{DefaultTerminal, Frame};

use crate::prune::Plan;
use crate::report::Skipped;
use crate::scan::Scanned;
use crate::status::Status;

/// Why `--interactive` cannot run here, if it cannot: it needs a terminal on stdin and stdout.
pub fn refusal() -> Option<&'static str> {
    (!std::io::stdin().is_terminal() || !std::io::stdout().is_terminal()).then_some(
        "--interactive needs a terminal on stdin and stdout; without one, review a plan \
         instead: `git credman scan --report plan.json`, then `git credman prune --from-report \
         plan.json`",
    )
}

/// What the confirmation says the prune will do, for `n` files.
pub type Describe<'a> = &'a dyn Fn(usize) -> String;

/// The breaker's verdict on a selection (indices into the scan), `None` when it holds.
pub type Breaker<'a> = &'a dyn Fn(&[usize]) -> Option<String>;

/// Runs the review on the terminal. Returns the plan to carry out, or `None` when the user
/// quit without confirming (nothing is to be done).
pub fn review(
    scanned: &[Scanned],
    plan: Plan,
    describe: Describe<'_>,
    breaker: Breaker<'_>,
    force: bool,
) -> anyhow::Result<Option<Plan>> {
    let mut app = App::new(scanned, plan, describe, breaker, force);
    let mut terminal = ratatui::try_init()
        .map_err(|e| anyhow::anyhow!("cannot set up the terminal for --interactive: {e}"))?;
    let outcome = app.run(&mut terminal);
    ratatui::restore();
    Ok(match outcome? {
        Exit::Confirmed => Some(app.into_plan()),
        Exit::Quit => None,
    })
}

enum Exit {
    Confirmed,
    Quit,
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Screen {
    Overview,
    Files(usize),
    Confirm,
}

/// One scanned file as the review shows it.
struct Item {
    /// Index into the scan.
    index: usize,
    /// Prune selected it, so it may be toggled.
    selectable: bool,
    selected: bool,
    /// Why prune would leave it alone, when it would.
    note: Option<String>,
}

struct App<'a> {
    scanned: &'a [Scanned],
    items: Vec<Item>,
    /// The statuses present, removable ones first, with their items.
    groups: Vec<(Status, Vec<usize>)>,
    skipped: Vec<Skipped>,
    describe: Describe<'a>,
    breaker: Breaker<'a>,
    force: bool,
    screen: Screen,
    overview: TableState,
    files: TableState,
    filter: String,
    editing: bool,
    providers: Vec<String>,
    /// Index into `providers` + 1; 0 is every provider.
    provider: usize,
    message: Option<String>,
}

impl<'a> App<'a> {
    fn new(
        scanned: &'a [Scanned],
        plan: Plan,
        describe: Describe<'a>,
        breaker: Breaker<'a>,
        force: bool,
    ) -> Self {
        let chosen: std::collections::HashSet<usize> = plan.chosen.iter().copied().collect();
        let kept: std::collections::HashMap<&str, &str> = plan
            .skipped
            .iter()
            .map(|s| (s.path.as_str(), s.reason.as_str()))
            .collect();
        let items: Vec<Item> = scanned
            .iter()
            .enumerate()
            .map(|(i, s)| {
                let selectable = chosen.contains(&i);
                Item {
                    index: i,
                    selectable,
                    selected: selectable,
                    note: if selectable {
                        None
                    } else {
                        Some(kept.get(s.path.as_str()).map_or_else(
                            || {
                                "not selected: its status is not one prune removes (--status)"
                                    .to_owned()
                            },
                            |r| format!("kept: {r}"),
                        ))
                    },
                }
            })
            .collect();
        let mut groups: Vec<(Status, Vec<usize>)> = Vec::new();
        for (k, item) in items.iter().enumerate() {
            let status = scanned[item.index].status();
            match groups.iter_mut().find(|(s, _)| *s == status) {
                Some((_, v)) => v.push(k),
                None => groups.push((status, vec![k])),
            }
        }
        groups.sort_by_key(|(s, v)| {
            (
                !v.iter().any(|&k| items[k].selectable),
                s.class() as u8,
                s.as_str(),
            )
        });
        let mut providers: Vec<String> = scanned.iter().map(|s| s.facts.provider.clone()).collect();
        providers.sort();
        providers.dedup();
        let mut overview = TableState::default();
        overview.select(Some(0));
        Self {
            scanned,
            items,
            groups,
            skipped: plan.skipped,
            describe,
            breaker,
            force,
            screen: Screen::Overview,
            overview,
            files: TableState::default(),
            filter: String::new(),
            editing: false,
            providers,
            provider: 0,
            message: None,
        }
    }

    fn chosen(&self) -> Vec<usize> {
        self.items
            .iter()
            .filter(|i| i.selected)
            .map(|i| i.index)
            .collect()
    }

    fn into_plan(self) -> Plan {
        let chosen = self.chosen();
        let mut skipped = self.skipped;
        for i in &self.items {
            if i.selectable && !i.selected {
                skipped.push(Skipped {
                    path: self.scanned[i.index].path.clone(),
                    reason: "deselected in the interactive review".to_owned(),
                });
            }
        }
        Plan { chosen, skipped }
    }

    /// The items of group `g` that pass the filters.
    fn visible(&self, g: usize) -> Vec<usize> {
        let Some((_, members)) = self.groups.get(g) else {
            return Vec::new();
        };
        let needle = self.filter.to_lowercase();
        let provider = self
            .provider
            .checked_sub(1)
            .and_then(|p| self.providers.get(p));
        members
            .iter()
            .copied()
            .filter(|&k| {
                let s = &self.scanned[self.items[k].index];
                provider.is_none_or(|p| &s.facts.provider == p)
                    && (needle.is_empty()
                        || s.path.to_lowercase().contains(&needle)
                        || s.verdict().reason.to_lowercase().contains(&needle)
                        || s.facts
                            .account
                            .as_deref()
                            .is_some_and(|a| a.to_lowercase().contains(&needle)))
            })
            .collect()
    }

    fn run(&mut self, terminal: &mut DefaultTerminal) -> anyhow::Result<Exit> {
        loop {
            terminal.draw(|f| self.draw(f))?;
            let Event::Key(key) = event::read()? else {
                continue;
            };
            if key.kind != KeyEventKind::Press {
                continue;
            }
            if let Some(exit) = self.on_key(key) {
                return Ok(exit);
            }
        }
    }

    fn on_key(&mut self, key: KeyEvent) -> Option<Exit> {
        if key.code == KeyCode::Char('c') && key.modifiers.contains(KeyModifiers::CONTROL) {
            return Some(Exit::Quit);
        }
        self.message = None;
        if self.editing {
            match key.code {
                KeyCode::Enter => self.editing = false,
                KeyCode::Esc => {
                    self.editing = false;
                    self.filter.clear();
                }
                KeyCode::Backspace => {
                    self.filter.pop();
                }
                KeyCode::Char(c) if !c.is_control() && self.filter.chars().count() < 64 => {
                    self.filter.push(c);
                }
                _ => {}
            }
            self.files.select(Some(0));
            return None;
        }
        match self.screen {
            Screen::Overview => self.on_overview(key.code),
            Screen::Files(g) => self.on_files(g, key.code),
            Screen::Confirm => self.on_confirm(key.code),
        }
    }

    fn on_overview(&mut self, code: KeyCode) -> Option<Exit> {
        let n = self.groups.len();
        let at = self.overview.selected().unwrap_or(0);
        match code {
            KeyCode::Char('q') | KeyCode::Esc => return Some(Exit::Quit),
            KeyCode::Down | KeyCode::Char('j') if n > 0 => self.overview.select(Some((at + 1) % n)),
            KeyCode::Up | KeyCode::Char('k') if n > 0 => {
                self.overview.select(Some((at + n - 1) % n));
            }
            KeyCode::Enter | KeyCode::Right | KeyCode::Char('l') if n > 0 => {
                self.screen = Screen::Files(at);
                self.files.select(Some(0));
            }
            KeyCode::Char('c') => self.screen = Screen::Confirm,
            _ => {}
        }
        None
    }

    fn on_files(&mut self, g: usize, code: KeyCode) -> Option<Exit> {
        let visible = self.visible(g);
        let n = visible.len();
        let at = self.files.selected().unwrap_or(0).min(n.saturating_sub(1));
        match code {
            KeyCode::Char('q') => return Some(Exit::Quit),
            KeyCode::Esc | KeyCode::Left | KeyCode::Char('h') => self.screen = Screen::Overview,
            KeyCode::Down | KeyCode::Char('j') if n > 0 => self.files.select(Some((at + 1) % n)),
            KeyCode::Up | KeyCode::Char('k') if n > 0 => {
                self.files.select(Some((at + n - 1) % n));
            }
            KeyCode::Char(' ') => {
                if let Some(&k) = visible.get(at) {
                    let item = &mut self.items[k];
                    if item.selectable {
                        item.selected = !item.selected;
                    } else {
                        self.message = item.note.clone();
                    }
                }
            }
            KeyCode::Char(c @ ('a' | 'n')) => {
                for k in visible {
                    let item = &mut self.items[k];
                    if item.selectable {
                        item.selected = c == 'a';
                    }
                }
            }
            KeyCode::Char('/') => {
                self.editing = true;
            }
            KeyCode::Char('p') => {
                self.provider = (self.provider + 1) % (self.providers.len() + 1);
                self.files.select(Some(0));
            }
            KeyCode::Char('c') => self.screen = Screen::Confirm,
            _ => {}
        }
        None
    }

    fn on_confirm(&mut self, code: KeyCode) -> Option<Exit> {
        match code {
            KeyCode::Char('y') => {
                let chosen = self.chosen();
                if chosen.is_empty() {
                    self.message =
                        Some("nothing is selected: press Esc to go back, q to quit".into());
                } else if (self.breaker)(&chosen).is_some() && !self.force {
                    self.message = Some(
                        "the breaker refuses this selection: deselect files, or rerun with --force"
                            .into(),
                    );
                } else {
                    return Some(Exit::Confirmed);
                }
            }
            KeyCode::Char('q') => return Some(Exit::Quit),
            KeyCode::Esc | KeyCode::Char('n') | KeyCode::Left => self.screen = Screen::Overview,
            _ => {}
        }
        None
    }

    fn draw(&mut self, f: &mut Frame<'_>) {
        let [main, help] =
            Layout::vertical([Constraint::Min(3), Constraint::Length(3)]).areas(f.area());
        let keys = match self.screen {
            Screen::Overview => "↑/↓ or j/k move · Enter open · c confirm · q quit",
            Screen::Files(_) if self.editing => "type to filter · Enter keep · Esc clear",
            Screen::Files(_) => {
                "space toggle · a all · n none · / filter · p provider · Esc back · c confirm · q quit"
            }
            Screen::Confirm => "y do it · Esc back · q quit (nothing is changed)",
        };
        let mut lines = vec![Line::from(keys)];
        if let Some(m) = &self.message {
            lines.push(Line::styled(
                m.clone(),
                Style::new().add_modifier(Modifier::BOLD),
            ));
        }
        f.render_widget(
            Paragraph::new(lines).block(Block::default().borders(Borders::TOP)),
            help,
        );
        match self.screen {
            Screen::Overview => self.draw_overview(f, main),
            Screen::Files(g) => self.draw_files(f, main, g),
            Screen::Confirm => self.draw_confirm(f, main),
        }
    }

    fn draw_overview(&mut self, f: &mut Frame<'_>, area: ratatui::layout::Rect) {
        let rows = self.groups.iter().map(|(status, members)| {
            let removable = members
                .iter()
                .filter(|&&k| self.items[k].selectable)
                .count();
            let selected = members.iter().filter(|&&k| self.items[k].selected).count();
            Row::new(vec![
                status.as_str().to_owned(),
                status.class().as_str().to_owned(),
                members.len().to_string(),
                if removable > 0 {
                    format!("{selected} of {removable} selected")
                } else {
                    "kept".to_owned()
                },
            ])
        });
        let title = format!(
            " git credman prune --interactive: {} file(s), {} selected ",
            self.items.len(),
            self.items.iter().filter(|i| i.selected).count()
        );
        let table = Table::new(
            rows,
            [
                Constraint::Length(22),
                Constraint::Length(10),
                Constraint::Length(7),
                Constraint::Min(10),
            ],
        )
        .header(Row::new(vec!["status", "class", "files", "prune"]).style(bold()))
        .row_highlight_style(Style::new().add_modifier(Modifier::REVERSED))
        .block(Block::default().borders(Borders::ALL).title(title));
        f.render_stateful_widget(table, area, &mut self.overview);
    }

    fn draw_files(&mut self, f: &mut Frame<'_>, area: ratatui::layout::Rect, g: usize) {
        let visible = self.visible(g);
        let rows = visible.iter().map(|&k| {
            let item = &self.items[k];
            let s = &self.scanned[item.index];
            let v = s.verdict();
            let mark = match (item.selectable, item.selected) {
                (false, _) => "[-]",
                (true, true) => "[x]",
                (true, false) => "[ ]",
            };
            let evidence = match (v.http_status, s.online.as_ref().and_then(|o| o.checked_at)) {
                (Some(code), Some(at)) => format!("HTTP {code} at {}", crate::report::rfc3339(at)),
                (Some(code), None) => format!("HTTP {code}"),
                _ => "offline".to_owned(),
            };
            let reason = match &item.note {
                Some(n) => format!("{} ({n})", v.reason),
                None => v.reason.clone(),
            };
            Row::new(vec![
                mark.to_owned(),
                crate::report::escape(&s.path).into_owned(),
                crate::report::escape(&s.facts.provider).into_owned(),
                s.facts
                    .account
                    .as_deref()
                    .map(|a| crate::report::escape(a).into_owned())
                    .unwrap_or_default(),
                reason,
                evidence,
            ])
        });
        let status = self.groups.get(g).map_or("", |(s, _)| s.as_str());
        let provider = self
            .provider
            .checked_sub(1)
            .and_then(|p| self.providers.get(p))
            .map_or("all", String::as_str);
        let title = format!(
            " {status}: {} shown · filter: {}{} · provider: {provider} ",
            visible.len(),
            if self.filter.is_empty() {
                "none"
            } else {
                &self.filter
            },
            if self.editing { "▏" } else { "" },
        );
        let table = Table::new(
            rows,
            [
                Constraint::Length(3),
                Constraint::Percentage(30),
                Constraint::Length(11),
                Constraint::Length(20),
                Constraint::Percentage(30),
                Constraint::Min(8),
            ],
        )
        .header(
            Row::new(vec![
                "", "path", "provider", "account", "reason", "evidence",
            ])
            .style(bold()),
        )
        .row_highlight_style(Style::new().add_modifier(Modifier::REVERSED))
        .block(Block::default().borders(Borders::ALL).title(title));
        f.render_stateful_widget(table, area, &mut self.files);
    }

    fn draw_confirm(&self, f: &mut Frame<'_>, area: ratatui::layout::Rect) {
        let chosen = self.chosen();
        let mut lines = vec![
            Line::styled(format!("Will {}.", (self.describe)(chosen.len())), bold()),
            Line::from(""),
        ];
        lines.push(Line::from(match (self.breaker)(&chosen) {
            None => "Breaker: holds (within --max-delete).".to_owned(),
            Some(why) if self.force => {
                format!("Breaker: would refuse ({why}); --force overrides it.")
            }
            Some(why) => format!("Breaker: refuses: {why}. Deselect files, or rerun with --force."),
        }));
        lines.push(Line::from(""));
        for &i in chosen.iter().take(12) {
            let s = &self.scanned[i];
            lines.push(Line::from(format!(
                "  {}  {}",
                s.status().as_str(),
                crate::report::escape(&s.path)
            )));
        }
        if chosen.len() > 12 {
            lines.push(Line::from(format!("  … and {} more", chosen.len() - 12)));
        }
        f.render_widget(
            Paragraph::new(lines)
                .wrap(Wrap { trim: false })
                .block(Block::default().borders(Borders::ALL).title(" confirm ")),
            area,
        );
    }
}

fn bold() -> Style {
    Style::new().add_modifier(Modifier::BOLD)
}
