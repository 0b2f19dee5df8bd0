//! `git credman man`: the man pages, one per command (git-credman(1), git-credman-scan(1),
//! git-credman-hook-install(1) …), rendered by clap_mangen from the clap definitions in
//! `cli`, so they never drift from `--help`.
//!
//! One page per command is what git users expect (`man git-commit`, and git-lfs's
//! `man git-lfs-fetch`), and it is what the top page's SUBCOMMANDS section refers to; a single
//! page holding every command's options would be several hundred lines long. Prints one page
//! onto [`Ctx::out`], or writes every page into `--output-dir`; reads nothing else.

use std::path::Path;

use anyhow::Context as _;
use clap::CommandFactory as _;

use super::Ctx;
use crate::cli::{Cli, ManArgs};
use crate::exit::Outcome;

/// Prints the page of the command `args.command` names, or writes every page to
/// `--output-dir`.
pub fn run(args: &ManArgs, ctx: &mut Ctx<'_>) -> anyhow::Result<Outcome> {
    let root = root_command();
    if let Some(dir) = &args.output_dir {
        let dir = ctx.cwd.join(dir);
        let written = write_all(&root, &dir)?;
        ctx.status
            .line(&format!("Wrote {written} man pages to {}.", dir.display()))?;
        return Ok(Outcome::Clean);
    }
    let mut page = &root;
    let mut parents = Vec::new();
    for (depth, name) in args.command.iter().enumerate() {
        parents.push(page_name(page));
        page = page.find_subcommand(name).ok_or_else(|| {
            let known: Vec<&str> = page.get_subcommands().map(clap::Command::get_name).collect();
            let at = args.command[..depth].join(" ");
            anyhow::anyhow!(
                "no man page for `{}`: `git credman {at}` has the commands {}; try `git credman man {}`",
                crate::report::escape(&args.command[..=depth].join(" ")),
                known.join(", "),
                format!("{at} {}", known.first().copied().unwrap_or_default()).trim_start(),
            )
        })?;
    }
    ctx.out.write_all(&render(page, &parents)?)?;
    Ok(Outcome::Clean)
}

/// The command tree the pages are made from: built (so every subcommand has its display name,
/// `git-credman-scan`, which is its page's name, and the global options), without clap's `help`
/// subcommand, which has no page.
fn root_command() -> clap::Command {
    let mut root = Cli::command()
        .name("git-credman")
        .disable_help_subcommand(true);
    root.build();
    root
}

/// The page name of `cmd`: `git-credman`, `git-credman-scan`, `git-credman-hook-install`.
fn page_name(cmd: &clap::Command) -> &str {
    cmd.get_display_name().unwrap_or_else(|| cmd.get_name())
}

/// Returns the page of `cmd` (roff): clap_mangen's, with the version in the footer of every
/// page (clap gives it to the top command only) and a SEE ALSO section that leads from a
/// command's page back up to its parents'.
/// `parents` are the pages of the commands above it, the top one first.
fn render(cmd: &clap::Command, parents: &[&str]) -> std::io::Result<Vec<u8>> {
    let mut page = Vec::new();
    clap_mangen::Man::new(cmd.clone())
        .source(concat!("git-credman ", env!("CARGO_PKG_VERSION")))
        .manual("git-credman Manual")
        .render(&mut page)?;
    let mut see_also: Vec<String> = parents
        .iter()
        .rev()
        .map(|p| format!("\\fB{}\\fR(1)", p.replace('-', "\\-")))
        .collect();
    see_also.push("\\fBgit\\fR(1)".to_owned());
    page.extend_from_slice(b".SH \"SEE ALSO\"\n");
    page.extend_from_slice(see_also.join(", ").as_bytes());
    page.push(b'\n');
    Ok(page)
}

/// Writes the page of `cmd` and of every subcommand below it into `dir`; returns how many.
fn write_all(cmd: &clap::Command, dir: &Path) -> anyhow::Result<usize> {
    std::fs::create_dir_all(dir).with_context(|| format!("cannot create {}", dir.display()))?;
    let mut written = 0;
    let mut stack = vec![(cmd, Vec::new())];
    while let Some((c, parents)) = stack.pop() {
        let mut below = parents.clone();
        below.push(page_name(c));
        stack.extend(
            c.get_subcommands()
                .filter(|s| !s.is_hide_set())
                .map(|s| (s, below.clone())),
        );
        let path = dir.join(format!("{}.1", page_name(c)));
        std::fs::write(&path, render(c, &parents)?)
            .with_context(|| format!("cannot write {}", path.display()))?;
        written += 1;
    }
    Ok(written)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every page the top page's SUBCOMMANDS section names is one `write_all` writes (issue 16
    /// item 8: it used to name git-credman-scan(1) and others that did not exist).
    #[test]
    fn every_page_referred_to_exists() {
        let dir = tempfile::tempdir().unwrap();
        let root = root_command();
        write_all(&root, dir.path()).unwrap();
        let mut names: Vec<String> = std::fs::read_dir(dir.path())
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        names.sort();
        assert!(names.contains(&"git-credman.1".to_owned()), "{names:?}");
        assert!(
            names.contains(&"git-credman-scan.1".to_owned()),
            "{names:?}"
        );
        assert!(
            names.contains(&"git-credman-hook-install.1".to_owned()),
            "{names:?}"
        );
        assert!(!names.iter().any(|n| n.contains("help")), "{names:?}");
        for name in &names {
            let page = std::fs::read_to_string(dir.path().join(name)).unwrap();
            let plain = page
                .replace("\\fB", "")
                .replace("\\fR", "")
                .replace("\\-", "-");
            let refs: Vec<&str> = plain
                .split(|c: char| c.is_whitespace() || c == ',')
                .filter(|w| w.starts_with("git-credman") && w.ends_with("(1)"))
                .collect();
            if name != "git-credman.1" {
                assert!(refs.contains(&"git-credman(1)"), "{name}: {refs:?}");
            }
            for r in refs {
                let file = format!("{}.1", r.trim_end_matches("(1)"));
                assert!(
                    names.contains(&file),
                    "{name} refers to {r}, which has no page"
                );
            }
        }
    }
}
