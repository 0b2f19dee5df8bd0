//! Command dispatch: one flat match from [`Command`] to the command's `run`. Commands return an
//! [`Outcome`] or an error; they never exit the process and never print except through
//! `report` renderers onto the output they are given.

pub mod hook;
pub mod prune;
pub mod remote;
pub mod restore;
pub mod scan;
pub mod server;
pub mod show;

use std::io::Write;
use std::path::PathBuf;

use crate::cli::{Command, GlobalArgs};
use crate::exit::Outcome;
use crate::settings::Env;

/// What every command gets from `main`.
pub struct Ctx<'a> {
    /// The directory the command runs in (after `-C`).
    pub cwd: PathBuf,
    /// The environment snapshot.
    pub env: Env,
    /// Whether stdout is a terminal.
    pub stdout_is_tty: bool,
    /// Whether stderr is a terminal (progress bars).
    pub stderr_is_tty: bool,
    /// Where results go (stdout).
    pub out: &'a mut dyn Write,
}

/// Runs a command.
pub fn run(command: &Command, global: &GlobalArgs, ctx: &mut Ctx<'_>) -> anyhow::Result<Outcome> {
    match command {
        Command::Scan(args) => scan::run(args, global, ctx),
        Command::Prune(args) => prune::run(args, global, ctx),
        Command::Show(args) => show::run(args, global, ctx),
        Command::Restore(args) => restore::run(args, global, ctx),
        Command::Hook(command) => hook::run(command, global, ctx),
        Command::Man => {
            use clap::CommandFactory as _;
            clap_mangen::Man::new(crate::cli::Cli::command().name("git-credman"))
                .render(ctx.out)?;
            Ok(Outcome::Clean)
        }
    }
}
