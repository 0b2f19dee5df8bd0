//! `git credman verdicts merge REV`: merge a verdict history fetched from another runner into
//! `refs/credman/verdicts` ([`crate::strikes::store::merge`]). Glue only.

use crate::cli::VerdictsCommand;
use crate::exit::Outcome;
use crate::strikes::store::{self, Merged};

use super::{Ctx, open_repo};

/// Runs a `verdicts` subcommand.
pub fn run(command: &VerdictsCommand, ctx: &mut Ctx<'_>) -> anyhow::Result<Outcome> {
    match command {
        VerdictsCommand::Merge(args) => {
            let Some(repo) = open_repo(
                &ctx.env,
                &ctx.cwd,
                true,
                "run it inside the repository whose verdicts to merge",
            )?
            else {
                anyhow::bail!("invariant: no repository");
            };
            let other = repo.resolve_commit(&args.rev)?;
            let shown = crate::report::escape(&args.rev).into_owned();
            let line = match store::merge(&repo, other, &shown)? {
                Merged::UpToDate(t) => format!(
                    "{} already contains {shown} ({}); nothing to do.",
                    crate::strikes::REF,
                    crate::git::short_id(&t)
                ),
                Merged::Created(t) => format!(
                    "Created {} at {shown} ({}).",
                    crate::strikes::REF,
                    crate::git::short_id(&t)
                ),
                Merged::FastForward(t) => format!(
                    "Fast-forwarded {} to {shown} ({}).",
                    crate::strikes::REF,
                    crate::git::short_id(&t)
                ),
                Merged::Merge(t) => format!(
                    "Merged {shown} into {}: {} (push it with `git push origin {}`).",
                    crate::strikes::REF,
                    crate::git::short_id(&t),
                    crate::strikes::REF
                ),
            };
            ctx.status.line(&line)?;
            Ok(Outcome::Clean)
        }
    }
}
