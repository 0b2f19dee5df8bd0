//! Command dispatch: one flat match from [`Command`] to the command's `run`, the [`Ctx`] every
//! command gets, and opening the repository a command works on (`open_repo`, `repository`,
//! `config_of`). Commands return an [`Outcome`] or an error; they never exit the process and
//! never print except through `report` renderers onto [`Ctx::out`] (results) and through
//! [`Ctx::status`] (status lines, progress). Commands import sources, engines and reports, never
//! each other.

pub mod completions;
pub mod doctor;
pub mod history;
pub mod hook;
pub mod man;
pub mod prune;
pub mod report;
pub mod restore;
pub mod scan;
pub mod show;
pub mod verdicts;
pub mod watch;

use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use crate::cli::{Command, GlobalArgs};
use crate::exit::Outcome;
use crate::git::Repo;
use crate::settings::{self, Env, GitConfig};

/// What every command gets from `main`.
pub struct Ctx<'a> {
    /// The directory the command runs in (after `-C`).
    pub cwd: PathBuf,
    /// The environment snapshot.
    pub env: Env,
    /// Whether stdout is a terminal.
    pub stdout_is_tty: bool,
    /// Where results go (stdout).
    pub out: &'a mut dyn Write,
    /// Where status messages and the progress bar go (stderr).
    pub status: StatusWriter<'a>,
}

/// The status stream (stderr): one-line messages about what a command did ("Installed the
/// pre-push gate …", "Enabled 3 file(s) …") and the progress bar, kept apart from the results on
/// [`Ctx::out`] so `--format json` output stays one JSON document and a pipe gets results only.
pub struct StatusWriter<'a> {
    out: &'a mut dyn Write,
    is_tty: bool,
}

impl<'a> StatusWriter<'a> {
    /// A status stream writing to `out`; `is_tty` says whether it is a terminal.
    pub fn new(out: &'a mut dyn Write, is_tty: bool) -> Self {
        Self { out, is_tty }
    }

    /// Writes one status line (escaped like every name git-credman prints).
    pub fn line(&mut self, text: &str) -> std::io::Result<()> {
        crate::report::human::render_line(text, self.out)?;
        self.out.flush()
    }

    /// Whether a progress bar is drawn: only on a terminal. The bar is drawn on this stream
    /// (stderr) by the probe engine.
    pub fn draws_progress(&self) -> bool {
        self.is_tty
    }
}

/// Runs a command.
pub fn run(command: &Command, global: &GlobalArgs, ctx: &mut Ctx<'_>) -> anyhow::Result<Outcome> {
    match command {
        Command::Scan(args) => scan::run(args, global, ctx),
        Command::Prune(args) => prune::run(args, global, ctx),
        Command::Show(args) => show::run(args, global, ctx),
        Command::Restore(args) => restore::run(args, global, ctx),
        Command::History(args) => history::run(args, global, ctx),
        Command::Watch(args) => watch::run(args, global, ctx),
        Command::Hook(command) => hook::run(command, global, ctx),
        Command::Doctor(args) => doctor::run(args, global, ctx),
        Command::Report(command) => report::run(command, ctx),
        Command::Verdicts(command) => verdicts::run(command, ctx),
        Command::Man(args) => man::run(args, ctx),
        Command::Completions(args) => completions::run(args, ctx),
    }
}

/// Sends the run's notifications (`--notify`) when they are due and returns their outcomes
/// for the report; each failed delivery gets one line on stderr. Never fails the run.
pub(crate) fn notify(
    config: Option<&crate::notify::Config>,
    run: &crate::notify::Run<'_>,
    ctx: &mut Ctx<'_>,
) -> Vec<crate::report::Notification> {
    let Some(config) = config else {
        return Vec::new();
    };
    let sent = crate::notify::send(config, run);
    for n in sent.iter().filter(|n| !n.delivered) {
        let _ = ctx.status.line(&format!(
            "warning: the {} notification failed: {}; the exit code is unchanged.",
            n.target,
            n.error.as_deref().unwrap_or("no answer")
        ));
    }
    sent
}

/// Opens the repository a command needs; `required` is false for `--dir` sources, where the
/// repository (if any) only supplies configuration. Values given with `git -c` are layered over
/// its configuration.
pub(crate) fn open_repo(
    env: &Env,
    cwd: &Path,
    required: bool,
    hint: &str,
) -> anyhow::Result<Option<Arc<Repo>>> {
    let command_line = settings::command_line_config(env)?;
    match Repo::discover(cwd) {
        Ok(repo) => {
            let repo = repo.with_command_line(&command_line)?;
            // A prune killed after its commit became HEAD is finished by the next start.
            crate::prune::recover::finish_interrupted(&repo);
            Ok(Some(Arc::new(repo)))
        }
        Err(_) if !required => Ok(None),
        // git's own words, without gix's internals; only scan and prune have --dir.
        Err(_) => Err(anyhow::anyhow!(
            "not a git repository (or any of the parent directories): {}; {hint}",
            crate::report::escape(&cwd.display().to_string())
        )),
    }
}

/// Returns the repository to work on: a clone of `--repo-url` (kept alive by the returned
/// checkout), else the one around the current directory when `required`.
///
/// A folder (`--dir`) or a server (`--server`) does not need a repository, and the one that
/// happens to surround the current directory is not consulted for settings either: its
/// `.git/config` belongs to whoever made that repository, not to the folder or server being
/// checked (issue 10). `GIT_CREDMAN_REPO_CONFIG=true` asks for it.
pub(crate) fn repository(
    remote: &crate::cli::RemoteArgs,
    required: bool,
    ctx: &Ctx<'_>,
) -> anyhow::Result<(Option<crate::source::remote::Checkout>, Option<Arc<Repo>>)> {
    match crate::source::remote::prepare(remote, &ctx.env, &ctx.cwd)? {
        Some(c) => {
            let repo = Arc::clone(&c.repo);
            Ok((Some(c), Some(repo)))
        }
        None if required || settings::reads_repo_config(&ctx.env)? => Ok((
            None,
            open_repo(
                &ctx.env,
                &ctx.cwd,
                required,
                "run it inside one, or use --dir PATH for a plain folder",
            )?,
        )),
        None => Ok((None, None)),
    }
}

/// Returns the repository a run records its verdicts in (and a prune with `--strikes` reads
/// them from): the scanned one, else (`--dir`, `--server`) the one around the current
/// directory. A `--repo-url` clone is temporary: recording there would be lost.
pub(crate) fn verdicts_repo(
    scanned: Option<&Arc<Repo>>,
    remote: bool,
    ctx: &Ctx<'_>,
) -> anyhow::Result<Arc<Repo>> {
    if remote {
        anyhow::bail!(
            "--record and --strikes keep verdicts in a local repository; a --repo-url clone is \
             temporary: run it in a clone of your own"
        );
    }
    if let Some(repo) = scanned {
        return Ok(Arc::clone(repo));
    }
    open_repo(
        &ctx.env,
        &ctx.cwd,
        true,
        "--record and --strikes keep verdicts in refs/credman/verdicts of the repository \
         around the current directory: run it inside one",
    )?
    .ok_or_else(|| anyhow::anyhow!("invariant: no repository"))
}

/// Records a scan's verdicts in `refs/credman/verdicts` (see [`crate::strikes`]): at the
/// scan's time, or the test-only fake clock's. Returns the commit and the history it holds.
pub(crate) fn record_verdicts(
    repo: &Repo,
    collected: &crate::scan::Collected,
    env: &Env,
) -> anyhow::Result<(crate::git::ObjectId, crate::strikes::History)> {
    let at = settings::test_record_time(env).unwrap_or(collected.now);
    let entries = crate::strikes::store::entries_of(&collected.scanned, at);
    let info = &collected.listing.info;
    // No local paths or server addresses: the ref is pushed.
    let source = match &info.commit {
        Some(c) => format!("{} {c}", info.kind),
        None => info.kind.to_owned(),
    };
    let message = crate::strikes::store::record_message(&entries, &source, at);
    Ok(crate::strikes::store::record(repo, &entries, &message)?)
}

/// Returns the git configuration in effect (with `git -c` values on top).
pub(crate) fn config_of(repo: Option<&Arc<Repo>>, env: &Env) -> anyhow::Result<GitConfig> {
    match repo {
        Some(r) => Ok(GitConfig::new(Some(r.config()))),
        None => GitConfig::globals(env),
    }
}
