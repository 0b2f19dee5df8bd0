//! `git credman show [REV]`: print the report embedded in a prune commit, with the commit's
//! signature status as git's own verification configuration sees it. Read-only.

use anyhow::Context as _;

use super::Ctx;
use super::{config_of, open_repo};
use crate::cli::{GlobalArgs, ShowArgs};
use crate::exit::Outcome;
use crate::git::cli::{Signature, verify_commit};
use crate::message;
use crate::settings;

/// Runs `show`.
pub fn run(args: &ShowArgs, global: &GlobalArgs, ctx: &mut Ctx<'_>) -> anyhow::Result<Outcome> {
    let repo = open_repo(
        &ctx.env,
        &ctx.cwd,
        true,
        "show reads a prune commit: run it in the repository that holds it (or pass -C PATH)",
    )?
    .context("invariant: repository required")?;
    let config = config_of(Some(&repo), &ctx.env)?;
    // `show` prints a commit, not scan findings: only text and JSON mean something here. A
    // format from the environment or config (set for scans) falls back to text.
    if let Some(f) = args.format
        && !matches!(f, crate::report::Format::Text | crate::report::Format::Json)
    {
        anyhow::bail!(
            "show prints text or json, not {}; use --format text or --format json",
            clap::ValueEnum::to_possible_value(&f)
                .map_or_else(String::new, |v| v.get_name().to_owned())
        );
    }
    let format = match settings::format(args.format, &ctx.env, &config)? {
        crate::report::Format::Json => crate::report::Format::Json,
        _ => crate::report::Format::Text,
    };
    let color = settings::color(global.color, &ctx.env, ctx.stdout_is_tty);
    let info = repo.commit_info(&args.rev)?;
    let json = message::embedded_report(&info.message).with_context(|| {
        format!(
            "{} ({}) is not a git-credman prune commit: it embeds no report",
            args.rev,
            crate::git::short_id(&info.id)
        )
    })?;
    let report = message::decode_report(json).map_err(|e| {
        anyhow::anyhow!("the embedded report cannot be read (was the commit message edited?): {e}")
    })?;
    let workdir = repo.workdir().unwrap_or_else(|| repo.git_dir());
    let signature = verify_commit(&workdir, info.id)?;
    crate::report::show::render(
        &info.id.to_string(),
        &info.message,
        &report,
        &signature,
        format,
        color,
        ctx.out,
    )?;
    Ok(match signature {
        Signature::Bad(_) => crate::exit::Outcome::Findings,
        // Signed, but git has nothing to check it against: not evidence of tampering.
        _ => Outcome::Clean,
    })
}
