//! Recovery of the repository executor ([`super::repo`]): the marker of a prune in progress,
//! finishing a prune that was interrupted after its commit became HEAD (run by every command
//! that opens the repository), and removing working-tree files that still hold exactly a removed
//! blob (shared with the executor).

use std::collections::HashSet;
use std::path::Path;

use anyhow::Context as _;

use crate::git::{ObjectId, Repo};

/// The marker of a prune in progress, in the (per-worktree) git dir: written before the branch
/// moves, removed once the index and the working tree match the new commit. A marker naming the
/// commit at HEAD means the prune was interrupted (see [`finish_interrupted`]).
pub(crate) const PENDING: &str = "credman-prune-pending";

/// The reason a file below a symbolic link (or below a file) is never touched.
pub(crate) const UNSAFE_PARENT: &str = "a leading directory is a symbolic link or a file in the working tree (type change); not followed";

/// Finishes a prune that was interrupted after its commit became HEAD (SIGKILL, power loss, a
/// CI timeout): index entries and working-tree files that still hold a blob the commit removed
/// are removed, so that the next `git commit` cannot bring them back. Anything else (a file
/// changed since, a staged change) is left alone. Says so on stderr; never fails the command.
pub(crate) fn finish_interrupted(repo: &Repo) {
    let marker = repo.git_dir().join(PENDING);
    if !marker.exists() {
        return;
    }
    match finish(repo, &marker) {
        Ok(Some(msg)) => tracing::warn!("{msg}"),
        Ok(None) => {}
        Err(e) => tracing::warn!("cannot finish the prune interrupted earlier: {e:#}"),
    }
}

fn finish(repo: &Repo, marker: &Path) -> anyhow::Result<Option<String>> {
    let text = std::fs::read_to_string(marker).unwrap_or_default();
    let line = |key: &str| {
        text.lines()
            .find_map(|l| l.strip_prefix(key))
            .map(str::trim)
            .filter(|v| !v.is_empty())
    };
    let oid = |key: &str| line(key).and_then(|h| ObjectId::from_hex(h.as_bytes()).ok());
    let pid = line("pid ").and_then(|p| p.parse::<u32>().ok());
    if pid.is_some_and(crate::fs::is_running) {
        // Another git-credman is pruning right now.
        return Ok(None);
    }
    let _section = crate::interrupt::critical();
    let head = repo.head_tree().ok().and_then(|h| h.commit);
    let (commit, parent, sum) = (oid("commit "), oid("parent "), line("index "));
    let mut lock = repo.index_path().into_os_string();
    lock.push(".lock");
    let lock = std::path::PathBuf::from(lock);
    // The index.lock the killed run held, recognised by its file identity or by the checksum of
    // the index it had written into it.
    let ours = lock.exists()
        && (line("lock ").is_some_and(|id| lock_identity(&lock).as_deref() == Some(id))
            || sum.is_some_and(|s| crate::git::index_checksum(&lock).as_deref() == Some(s))
            || (text.lines().any(|l| l == "locking") && taken_after(&lock, marker)));
    let mut completed_lock = false;
    let mut released_lock = false;
    if ours {
        // index.lock is taken before and released after the ref move, so a killed run that still
        // holds it may also have left the ref locks of that move: `HEAD.lock` and the branch's
        // lock. They are this run's when they hold the commit the marker names (gix writes the
        // new id into both) or are still empty and were created after the marker.
        for ref_lock in repo.head_ref_locks() {
            let held = std::fs::read(&ref_lock).ok();
            let mine = held.as_deref().is_some_and(|b| {
                commit.is_some_and(|c| b.trim_ascii() == c.to_string().as_bytes())
                    || (b.is_empty() && taken_after(&ref_lock, marker))
            });
            if mine {
                std::fs::remove_file(&ref_lock)
                    .with_context(|| format!("cannot remove {}", ref_lock.display()))?;
            }
        }
        if commit.is_some()
            && head == commit
            && sum.is_some_and(|s| crate::git::index_checksum(&lock).as_deref() == Some(s))
        {
            // Killed between moving the ref and renaming the index it had written: complete it.
            std::fs::rename(&lock, repo.index_path())
                .with_context(|| format!("cannot complete the index write ({})", lock.display()))?;
            completed_lock = true;
        } else {
            // Killed before the ref moved: the lock only held a change that never happened.
            std::fs::remove_file(&lock)
                .with_context(|| format!("cannot remove {}", lock.display()))?;
            released_lock = true;
        }
    }
    let released = released_lock.then(|| {
        "removed the index.lock a killed git-credman prune left behind (nothing had changed)"
            .to_owned()
    });
    let (Some(commit), Some(parent), Some(workdir)) = (commit, parent, repo.workdir()) else {
        let _ = std::fs::remove_file(marker);
        return Ok(released);
    };
    if head != Some(commit) {
        // Killed before the branch moved (nothing happened), or HEAD moved on since.
        let _ = std::fs::remove_file(marker);
        return Ok(if head == Some(parent) {
            released
        } else {
            Some(format!(
                "a prune interrupted earlier made commit {}, which is no longer HEAD; its removals \
                 were not finished in the index and working tree (check `git status`)",
                crate::git::short_id(&commit)
            ))
        });
    }
    let tree = repo.commit_info(&commit.to_string())?.tree;
    let parent_tree = repo.commit_info(&parent.to_string())?.tree;
    let removed = repo.deleted_files(parent_tree, tree)?;
    let mut index = repo.lock_index()?;
    let stale: HashSet<Vec<u8>> = removed
        .iter()
        .filter(|f| index.id_of(&f.raw) == Some(f.id))
        .map(|f| f.raw.clone())
        .collect();
    // Only paths the index no longer tracks may go from the working tree.
    let candidates: Vec<(&[u8], ObjectId)> = removed
        .iter()
        .filter(|f| stale.contains(&f.raw) || index.conflict(&f.raw).is_none())
        .map(|f| (f.raw.as_slice(), f.id))
        .collect();
    if stale.is_empty() {
        drop(index);
    } else {
        index.remove(&stale);
        index.commit()?;
    }
    let kept = remove_from_worktree(&workdir, &candidates, None);
    let deleted = candidates.len() - kept.len();
    let _ = std::fs::remove_file(marker);
    Ok(Some(format!(
        "finished the prune interrupted earlier (commit {}): {}{} index entr{} and {} \
         working-tree file(s) still held removed credentials and were removed",
        crate::git::short_id(&commit),
        if completed_lock {
            "completed its index.lock; "
        } else {
            ""
        },
        stale.len(),
        if stale.len() == 1 { "y" } else { "ies" },
        deleted,
    )))
}

/// Whether `lock` was taken by the run that wrote the "locking" `marker` and killed before it
/// could name the lock: still empty (git and gix write the new index into it at once), and
/// created no earlier than the marker.
fn taken_after(lock: &Path, marker: &Path) -> bool {
    let (Ok(l), Ok(m)) = (
        std::fs::symlink_metadata(lock),
        std::fs::symlink_metadata(marker),
    ) else {
        return false;
    };
    l.is_file()
        && l.len() == 0
        && matches!((l.modified(), m.modified()), (Ok(lt), Ok(mt)) if lt >= mt)
}

/// Returns a file's identity (device and inode) as text, to recognise a lock file later.
fn lock_identity(path: &Path) -> Option<String> {
    #[cfg(unix)]
    {
        use std::os::unix::fs::MetadataExt as _;
        let m = std::fs::symlink_metadata(path).ok()?;
        Some(format!("{}:{}", m.dev(), m.ino()))
    }
    #[cfg(not(unix))]
    {
        let _ = path;
        None
    }
}

/// Writes the first marker, before index.lock is taken: this run's pid and "locking".
pub(crate) fn write_locking_marker(repo: &Repo) -> anyhow::Result<()> {
    let text = format!("pid {}\nlocking\n", std::process::id());
    crate::fs::write_atomic(&repo.git_dir().join(PENDING), text.as_bytes(), || {})
}

/// Writes the marker: this run's pid and index.lock identity, plus the commit once it is built.
pub(crate) fn write_marker(
    repo: &Repo,
    lock: &Path,
    pending: Option<(ObjectId, ObjectId, &str)>,
) -> anyhow::Result<()> {
    let mut text = format!("pid {}\n", std::process::id());
    if let Some(id) = lock_identity(lock) {
        text.push_str(&format!("lock {id}\n"));
    }
    if let Some((commit, parent, sum)) = pending {
        text.push_str(&format!("commit {commit}\nparent {parent}\nindex {sum}\n"));
    }
    crate::fs::write_atomic(&repo.git_dir().join(PENDING), text.as_bytes(), || {})
}

/// Deletes working-tree files that still hold exactly the given blob, checked right before each
/// deletion, and removes directories that became empty. Never follows a symbolic link. Returns
/// the files kept (indices), with why; a file that is already gone is not reported. With a
/// checker, a file whose stat data (in the index it was read from) proves it unchanged is not
/// hashed again, as git decides it; otherwise every file is hashed.
pub(crate) fn remove_from_worktree(
    workdir: &Path,
    files: &[(&[u8], ObjectId)],
    checker: Option<&crate::git::WorktreeChecker>,
) -> Vec<(usize, String)> {
    let mut dirs = std::collections::BTreeSet::new();
    let mut kept = Vec::new();
    let half = files.len() / 2;
    for (i, (raw, id)) in files.iter().enumerate() {
        if i == half {
            crate::interrupt::checkpoint("worktree-half");
        }
        if crate::fs::has_unsafe_parent(workdir, raw) {
            kept.push((i, UNSAFE_PARENT.to_owned()));
            continue;
        }
        let rel = crate::fs::rel_path(raw);
        let full = workdir.join(&rel);
        match std::fs::symlink_metadata(&full) {
            Ok(m) if m.is_file() => {}
            Ok(_) => {
                kept.push((i, "not a regular file any more".to_owned()));
                continue;
            }
            Err(_) => continue,
        }
        let holds = match checker {
            Some(c) => c.state_raw(raw, *id).is_none(),
            None => {
                std::fs::read(&full)
                    .ok()
                    .and_then(|b| crate::git::hash_blob(&b))
                    == Some(*id)
            }
        };
        if !holds {
            kept.push((i, "changed since it was scanned".to_owned()));
            continue;
        }
        if let Err(e) = std::fs::remove_file(&full)
            && e.kind() != std::io::ErrorKind::NotFound
        {
            tracing::warn!(path = %crate::git::display_path(raw), "cannot delete the working-tree file: {e}");
            kept.push((i, format!("cannot delete it: {}", e.kind())));
        }
        let mut dir = rel.parent();
        while let Some(d) = dir.filter(|d| !d.as_os_str().is_empty()) {
            dirs.insert(d.to_path_buf());
            dir = d.parent();
        }
    }
    // Deepest first, once per directory; a directory that is not empty simply stays.
    for d in dirs.iter().rev() {
        let _ = std::fs::remove_dir(workdir.join(d));
    }
    kept
}
