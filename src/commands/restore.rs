//! `git credman restore REV [PATH…]`: one commit that brings back the files REV removed (all,
//! or the named ones), with their original blobs, signed under the same rules as prune. The
//! index and working tree get the files too; a path that exists again is left alone.

use std::path::Path;

use anyhow::{Context as _, bail};

use super::Ctx;
use super::{config_of, open_repo};
use crate::cli::{GlobalArgs, RestoreArgs};
use crate::exit::Outcome;
use crate::git::TreeFile;
use crate::message;
use crate::report::human;
use crate::sign::{self, Signer};

/// Runs `restore`.
pub fn run(args: &RestoreArgs, global: &GlobalArgs, ctx: &mut Ctx<'_>) -> anyhow::Result<Outcome> {
    crate::interrupt::configure_test_pause(&ctx.env);
    let repo = open_repo(&ctx.env, &ctx.cwd, true, "restore works in the repository that holds the prune commit: run it there (or pass -C PATH)")?.context("invariant: repository required")?;
    let _config = config_of(Some(&repo), &ctx.env)?;
    let info = repo.commit_info(&args.rev)?;
    // The same test as `show`: only a commit that embeds git-credman's report is a prune commit;
    // restore never resurrects what some other commit deleted (`package.json`, say).
    if message::embedded_report(&info.message).is_none() {
        bail!(
            "{} ({}) is not a git-credman prune commit: it embeds no report; restore brings back \
             only what a prune removed (use `git restore --source` for other commits)",
            crate::report::escape(&args.rev),
            crate::git::short_id(&info.id)
        );
    }
    let Some(parent) = info.parents.first() else {
        bail!("{} has no parent: it removed nothing", args.rev);
    };
    let parent_tree = repo.commit_info(&parent.to_string())?.tree;
    let mut files = repo.deleted_files(parent_tree, info.tree)?;
    if !args.paths.is_empty() {
        let wanted: Vec<String> = args
            .paths
            .iter()
            .map(|p| p.trim_end_matches('/').to_owned())
            .collect();
        files.retain(|f| {
            wanted
                .iter()
                .any(|w| f.path == *w || f.path.starts_with(&format!("{w}/")))
        });
        if files.is_empty() {
            bail!("{} removed none of the given paths", args.rev);
        }
    }
    if files.is_empty() {
        bail!("{} removed no files", args.rev);
    }
    let head = repo.branch_head()?;
    let workdir = repo.workdir();
    crate::interrupt::install();
    // Never overwrite something in the working tree, tracked or not, and never write through a
    // symbolic link (git treats a path below one as a type change, not as a directory).
    let mut skipped = Vec::new();
    if let Some(wd) = &workdir {
        files.retain(|f| {
            let why = if crate::fs::has_unsafe_parent(wd, &f.raw) {
                Some("a leading directory is a symbolic link or a file in the working tree (type change)")
            } else if wd.join(crate::fs::rel_path(&f.raw)).symlink_metadata().is_ok() {
                Some("a file is in the working tree there")
            } else {
                None
            };
            if let Some(why) = why {
                skipped.push((f.path.clone(), why.to_owned()));
            }
            why.is_none()
        });
    }
    // An entry the index already has there, or a file/directory conflict, would make `git fsck`
    // report a broken index: such a file is skipped. Checked without the lock first (signing
    // may take a while and must not hold index.lock), then again under it.
    let view = repo.read_index()?;
    files.retain(|f| match view.conflict(&f.raw) {
        Some(why) => {
            skipped.push((f.path.clone(), why.to_owned()));
            false
        }
        None => true,
    });
    let edit = repo.tree_with(head.tree, &files)?;
    skipped.extend(edit.skipped.iter().cloned());
    let Some(tree) = edit.tree else {
        bail!(
            "nothing to restore: every file is already back or in the way ({})",
            skipped
                .iter()
                .map(|(p, why)| format!("{p}: {why}"))
                .collect::<Vec<_>>()
                .join(", ")
        );
    };
    let restored: Vec<TreeFile> = edit.applied.iter().map(|&i| files[i].clone()).collect();
    let paths: Vec<String> = restored.iter().map(|f| f.path.clone()).collect();
    let rev_label = format!("{} ({})", args.rev, crate::git::short_id(&info.id));
    let msg = message::restore(&paths, &rev_label);
    let mode = match (args.sign, args.no_sign) {
        (true, _) => sign::Mode::Force,
        (_, true) => sign::Mode::Never,
        _ => sign::Mode::Config,
    };
    let passphrase = crate::settings::signing_passphrase(&ctx.env);
    let signer = Signer::resolve(
        &repo,
        mode,
        args.signing_key.as_deref(),
        passphrase.as_ref(),
    )?;
    let id = repo.commit(tree, &[head.commit], &msg, &signer)?;
    let subject = msg.lines().next().unwrap_or("credman: restore").to_owned();
    crate::interrupt::checkpoint("restore-signed");
    {
        let _section = crate::interrupt::critical();
        let mut index = repo.lock_index()?;
        crate::interrupt::checkpoint("restore-locked");
        if let Some(f) = restored.iter().find(|f| index.conflict(&f.raw).is_some()) {
            bail!(
                "the index changed while restoring ({} is in the way); nothing was changed (run it again)",
                f.path
            );
        }
        repo.move_ref("HEAD", head.commit, id, &subject)?;
        if let Some(wd) = &workdir {
            write_files(&repo, wd, &restored);
            index.add(&restored, wd);
        } else {
            index.add(&restored, Path::new("."));
        }
        index.commit()?;
    }
    let _ = global;
    human::render_restore(
        &id.to_string(),
        &paths,
        &skipped,
        &signer.describe(),
        ctx.out,
    )?;
    Ok(Outcome::Clean)
}

/// Writes restored files (mode 0600: they are credentials) with their exact blob content. The
/// commit is already HEAD: a file that cannot be written is reported and left out of the working
/// tree only (the index still gets it, so `git status` shows it as deleted and `git checkout`
/// brings it back), never half-applied.
fn write_files(repo: &crate::git::Repo, workdir: &Path, files: &[TreeFile]) {
    for f in files {
        if let Err(e) = write_file(repo, workdir, f) {
            tracing::warn!(path = %f.path, "not written to the working tree: {e:#}");
        }
    }
}

fn write_file(repo: &crate::git::Repo, workdir: &Path, f: &TreeFile) -> anyhow::Result<()> {
    if crate::fs::has_unsafe_parent(workdir, &f.raw) {
        bail!("a leading directory became a symbolic link; not writing through it");
    }
    let full = workdir.join(crate::fs::rel_path(&f.raw));
    if let Some(parent) = full.parent() {
        std::fs::create_dir_all(parent)?;
    }
    let data = repo.read_blob(f.id)?;
    crate::fs::create_new(&full, &data, if f.executable { 0o700 } else { 0o600 })?;
    Ok(())
}
