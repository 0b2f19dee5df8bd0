//! `git credman report merge`: read the shard reports, merge them ([`crate::report::merge`]),
//! write the merged report on stdout. Glue only; read-only (it never opens a repository).

use crate::cli::ReportCommand;
use crate::exit::Outcome;
use crate::report::merge;

use super::Ctx;

/// Runs a `report` subcommand.
pub fn run(command: &ReportCommand, ctx: &mut Ctx<'_>) -> anyhow::Result<Outcome> {
    match command {
        ReportCommand::Merge(args) => {
            let inputs = merge::read_all(&args.files, &ctx.cwd)?;
            let merged = merge::merge(inputs)?;
            merge::render(&merged, ctx.out)?;
            Ok(Outcome::Clean)
        }
    }
}
