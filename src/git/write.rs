//! Writing to the repository, always with compare-and-swap so that a concurrent change makes
//! the write fail instead of being lost: tree edits that remove exactly the scanned blobs
//! ([`Repo::tree_without`]) or add files back ([`Repo::tree_with`]), commit objects, ref updates
//! that expect the old value ([`Repo::move_ref`], [`Repo::create_ref`]), and the locked index
//! ([`IndexUpdate`]), written next to its lock and renamed last. Also the checks before any of it:
//! the branch a commit may go on ([`Repo::branch_head`]: no detached HEAD, no merge in progress),
//! and the cleanup of gix's lock files on an interrupt ([`release_locks`]).
//!
//! Objects are written before any ref moves: a failure leaves only unreferenced objects. Called by
//! `prune` and `restore`.

use std::path::{Path, PathBuf};

use gix::bstr::{BStr, ByteSlice as _};

use super::{Error, ObjectId, Repo, display_path, repo_err};

/// The branch HEAD points to, ready to be committed on.
#[derive(Clone, Debug)]
pub struct BranchHead {
    /// Full ref name, e.g. `refs/heads/main`.
    pub name: String,
    /// Short name, e.g. `main`.
    pub short: String,
    /// The commit HEAD points to.
    pub commit: ObjectId,
    /// That commit's tree.
    pub tree: ObjectId,
}

/// What an edit adding files did.
#[derive(Clone, Debug, Default)]
pub struct TreeEdit {
    /// The new tree.
    pub tree: Option<ObjectId>,
    /// The files added (indices into the files given).
    pub applied: Vec<usize>,
    /// Paths left alone, with why.
    pub skipped: Vec<(String, String)>,
}

/// What a removal edit did; indices point into the removals given.
#[derive(Clone, Debug, Default)]
pub struct RemovalEdit {
    /// The new tree, when something was removed.
    pub tree: Option<ObjectId>,
    /// The removals applied.
    pub applied: Vec<usize>,
    /// The removals left alone, with why.
    pub skipped: Vec<(usize, &'static str)>,
}

/// A file of a tree, for restoring it.
#[derive(Clone, Debug)]
pub struct TreeFile {
    /// Path relative to the root, for display.
    pub path: String,
    /// The path as git stores it.
    pub raw: Vec<u8>,
    /// The blob id.
    pub id: ObjectId,
    /// Whether it is executable.
    pub executable: bool,
}

/// The identity to commit as.
fn signature(sig: gix::actor::SignatureRef<'_>) -> Result<gix::actor::Signature, Error> {
    sig.to_owned().map_err(|e| Error::Repo {
        what: "cannot read the identity".into(),
        source: e,
    })
}

impl Repo {
    /// Returns the branch HEAD points to; refuses a detached HEAD, an unborn branch and a merge,
    /// rebase, cherry-pick or similar in progress.
    pub fn branch_head(&self) -> Result<BranchHead, Error> {
        let repo = self.local();
        if let Some(state) = repo.state() {
            return Err(Error::Refused(format!(
                "a {state:?} is in progress; finish or abort it first"
            )));
        }
        let name = repo
            .head_name()
            .map_err(repo_err("cannot read HEAD"))?
            .ok_or_else(|| Error::Refused("HEAD is detached; check out a branch first".into()))?;
        let resolved = self.head_tree()?;
        let commit = resolved.commit.ok_or(Error::UnbornHead)?;
        Ok(BranchHead {
            name: name.as_bstr().to_string(),
            short: name.shorten().to_string(),
            commit,
            tree: resolved.tree,
        })
    }

    /// Writes `base` minus every path whose blob is exactly the expected one; paths whose blob
    /// differs (or that are gone) are skipped, never removed. Paths are bytes, as git stores
    /// them: two names that only differ in bytes that are not UTF-8 stay two names.
    ///
    /// Linear in the size of the tree: one listing answers every "is it still the scanned
    /// blob?" question, and a directory that loses many entries is rebuilt in one pass instead
    /// of removing entries one by one (each removal from a sorted entry list shifts the rest).
    pub fn tree_without(
        &self,
        base: ObjectId,
        removals: &[(Vec<u8>, ObjectId)],
    ) -> Result<RemovalEdit, Error> {
        const REBUILD_AT: usize = 64;
        let repo = self.local();
        let current: std::collections::HashMap<Vec<u8>, ObjectId> = self
            .list_tree(base, None)?
            .into_iter()
            .map(|e| (e.raw, e.id))
            .collect();
        let mut out = RemovalEdit::default();
        let mut by_dir: std::collections::BTreeMap<&[u8], std::collections::HashSet<&[u8]>> =
            Default::default();
        for (i, (path, expected)) in removals.iter().enumerate() {
            match current.get(path) {
                Some(id) if id == expected => {
                    let (dir, name) = match path.iter().rposition(|b| *b == b'/') {
                        Some(slash) => (&path[..slash], &path[slash + 1..]),
                        None => (&path[..0], path.as_slice()),
                    };
                    by_dir.entry(dir).or_default().insert(name);
                    out.applied.push(i);
                }
                Some(_) => out.skipped.push((i, "changed since it was scanned")),
                None => out.skipped.push((i, "no longer in the tree")),
            }
        }
        if out.applied.is_empty() {
            return Ok(out);
        }
        let root = repo.find_tree(base).map_err(repo_err("cannot read tree"))?;
        let mut editor = repo.edit_tree(base).map_err(repo_err("cannot edit tree"))?;
        let dirs: Vec<&[u8]> = by_dir.keys().copied().collect();
        for (dir, names) in &by_dir {
            // Rebuild only a directory none of whose sub-directories is edited too, so the editor
            // never has to combine a rebuilt tree with removals inside it.
            let nested = dirs.iter().any(|d| {
                d.len() > dir.len()
                    && (dir.is_empty() || (d.starts_with(dir) && d[dir.len()] == b'/'))
            });
            let dir_bstr: &BStr = (*dir).into();
            if names.len() >= REBUILD_AT && !dir.is_empty() && !nested {
                let entry = root
                    .lookup_entry(dir.split(|b| *b == b'/'))
                    .map_err(repo_err("cannot read tree"))?
                    .ok_or_else(|| {
                        Error::Refused(format!(
                            "directory {} vanished from the tree",
                            display_path(dir)
                        ))
                    })?;
                let sub = repo
                    .find_tree(entry.object_id())
                    .map_err(repo_err("cannot read tree"))?;
                let mut tree: gix::objs::Tree =
                    sub.decode().map_err(repo_err("cannot decode tree"))?.into();
                tree.entries.retain(|e| {
                    !(e.mode.is_blob_or_symlink() && names.contains(e.filename.as_slice()))
                });
                if tree.entries.is_empty() {
                    editor
                        .remove(dir_bstr)
                        .map_err(repo_err("cannot edit tree"))?;
                } else {
                    let id = repo
                        .write_object(&tree)
                        .map_err(repo_err("cannot write tree"))?
                        .detach();
                    editor
                        .upsert(dir_bstr, gix::object::tree::EntryKind::Tree, id)
                        .map_err(repo_err("cannot edit tree"))?;
                }
            } else {
                for name in names {
                    let mut path = dir.to_vec();
                    if !dir.is_empty() {
                        path.push(b'/');
                    }
                    path.extend_from_slice(name);
                    editor
                        .remove(<&BStr>::from(path.as_slice()))
                        .map_err(repo_err("cannot edit tree"))?;
                }
            }
        }
        out.tree = Some(
            editor
                .write()
                .map_err(repo_err("cannot write tree"))?
                .detach(),
        );
        Ok(out)
    }

    /// Writes `base` plus the given files; a path that already exists is skipped, and so is
    /// one that conflicts with the tree: a file where one of its leading directories should be,
    /// or a directory where the file should be.
    pub fn tree_with(&self, base: ObjectId, files: &[TreeFile]) -> Result<TreeEdit, Error> {
        let repo = self.local();
        let tree = repo.find_tree(base).map_err(repo_err("cannot read tree"))?;
        let mut editor = repo.edit_tree(base).map_err(repo_err("cannot edit tree"))?;
        let mut out = TreeEdit::default();
        for (i, f) in files.iter().enumerate() {
            let parts: Vec<&[u8]> = f.raw.split(|b| *b == b'/').collect();
            if tree
                .lookup_entry(parts.iter().copied())
                .map_err(repo_err("cannot read tree"))?
                .is_some()
            {
                out.skipped.push((f.path.clone(), "already present".into()));
                continue;
            }
            let mut blocked = false;
            for n in 1..parts.len() {
                if let Some(e) = tree
                    .lookup_entry(parts[..n].iter().copied())
                    .map_err(repo_err("cannot read tree"))?
                    && !e.mode().is_tree()
                {
                    blocked = true;
                    break;
                }
            }
            if blocked {
                out.skipped.push((
                    f.path.clone(),
                    "a file is where one of its directories should be".into(),
                ));
                continue;
            }
            let kind = if f.executable {
                gix::object::tree::EntryKind::BlobExecutable
            } else {
                gix::object::tree::EntryKind::Blob
            };
            editor
                .upsert(<&BStr>::from(f.raw.as_slice()), kind, f.id)
                .map_err(repo_err("cannot edit tree"))?;
            out.applied.push(i);
        }
        if !out.applied.is_empty() {
            out.tree = Some(
                editor
                    .write()
                    .map_err(repo_err("cannot write tree"))?
                    .detach(),
            );
        }
        Ok(out)
    }

    /// Builds (does not write) a commit with the configured author and committer.
    pub fn new_commit(
        &self,
        tree: ObjectId,
        parents: &[ObjectId],
        message: &str,
    ) -> Result<gix::objs::Commit, Error> {
        let repo = self.local();
        let no_identity = || {
            Error::Refused(
                "no committer identity: set user.name and user.email (git config)".into(),
            )
        };
        let committer = signature(
            repo.committer()
                .ok_or_else(no_identity)?
                .map_err(repo_err("bad committer"))?,
        )?;
        let author = signature(
            repo.author()
                .ok_or_else(no_identity)?
                .map_err(repo_err("bad author"))?,
        )?;
        Ok(gix::objs::Commit {
            tree,
            parents: parents.iter().copied().collect(),
            author,
            committer,
            encoding: None,
            message: message.into(),
            extra_headers: Vec::new(),
        })
    }

    /// Writes an object (commit) to the object database.
    pub fn write_commit(&self, commit: &gix::objs::Commit) -> Result<ObjectId, Error> {
        Ok(self
            .local()
            .write_object(commit)
            .map_err(repo_err("cannot write the commit"))?
            .detach())
    }

    /// Returns git's signing options: only when `commit.gpgSign` is on, or always with `force`.
    pub fn signing_options(
        &self,
        force: bool,
    ) -> Result<Option<gix::objs::signature::sign::Options>, Error> {
        let repo = self.local();
        if force {
            repo.commit_signing_options()
                .map(Some)
                .map_err(repo_err("cannot resolve the signing configuration"))
        } else {
            repo.commit_signing_options_if_enabled()
                .map_err(repo_err("cannot resolve the signing configuration"))
        }
    }

    /// Returns the object hash kind of the repository.
    pub fn object_hash(&self) -> gix::hash::Kind {
        self.local().object_hash()
    }

    /// Moves `name` from `expected` to `new` (compare-and-swap), with a reflog entry. With
    /// `name == "HEAD"` the branch HEAD points to is moved and both reflogs are written.
    pub fn move_ref(
        &self,
        name: &str,
        expected: ObjectId,
        new: ObjectId,
        reflog: &str,
    ) -> Result<(), Error> {
        use gix::refs::transaction::{Change, LogChange, PreviousValue, RefEdit, RefLog};
        let repo = self.local();
        let full: gix::refs::FullName =
            name.try_into()
                .map_err(|e: gix::validate::reference::name::Error| {
                    Error::Refused(format!("invalid ref name '{name}': {e}"))
                })?;
        let edit = RefEdit {
            change: Change::Update {
                log: LogChange {
                    mode: RefLog::AndReference,
                    force_create_reflog: false,
                    message: reflog.into(),
                },
                expected: PreviousValue::MustExistAndMatch(gix::refs::Target::Object(expected)),
                new: gix::refs::Target::Object(new),
            },
            name: full,
            deref: true,
        };
        repo.edit_reference(edit).map(|_| ()).map_err(|source| {
            let now = repo.rev_parse_single(name).ok().map(gix::Id::detach);
            if now == Some(expected) {
                Error::Repo {
                    what: format!("cannot update {name}"),
                    source,
                }
            } else {
                Error::RefMoved {
                    name: name.to_owned(),
                }
            }
        })
    }

    /// Creates a new ref pointing to `new`; fails if it exists.
    pub fn create_ref(&self, name: &str, new: ObjectId, reflog: &str) -> Result<(), Error> {
        use gix::refs::transaction::{Change, LogChange, PreviousValue, RefEdit, RefLog};
        let repo = self.local();
        let full: gix::refs::FullName =
            name.try_into()
                .map_err(|e: gix::validate::reference::name::Error| {
                    Error::Refused(format!("invalid branch name '{name}': {e}"))
                })?;
        if repo.find_reference(name).is_ok() {
            return Err(Error::Refused(format!("{name} already exists")));
        }
        let edit = RefEdit {
            change: Change::Update {
                log: LogChange {
                    mode: RefLog::AndReference,
                    force_create_reflog: true,
                    message: reflog.into(),
                },
                expected: PreviousValue::MustNotExist,
                new: gix::refs::Target::Object(new),
            },
            name: full,
            deref: false,
        };
        repo.edit_reference(edit)
            .map(|_| ())
            .map_err(repo_err(format!("cannot create {name}")))
    }

    /// Reads the index without locking it.
    pub fn read_index(&self) -> Result<IndexView, Error> {
        let index = self
            .local()
            .open_index()
            .map_err(repo_err("cannot read the index"))?;
        Ok(IndexView { index })
    }

    /// Returns the path of the index file (which may not exist).
    pub fn index_path(&self) -> PathBuf {
        self.local().index_path()
    }

    /// Locks the index for an update (fails at once if another git holds `index.lock`).
    pub fn lock_index(&self) -> Result<IndexUpdate, Error> {
        let repo = self.local();
        let index = repo
            .open_index()
            .map_err(repo_err("cannot read the index"))?;
        let lock = gix::lock::File::acquire_to_update_resource(
            index.path(),
            gix::lock::acquire::Fail::Immediately,
            None,
            0,
        )
        .map_err(|e| Error::Refused(format!("the index is locked by another git process ({e})")))?;
        Ok(IndexUpdate {
            index,
            lock,
            written: false,
        })
    }

    /// Returns the stage-0 blob id of every index entry (read-only; for dry runs).
    pub fn lock_free_index_ids(
        &self,
    ) -> Result<std::collections::HashMap<Vec<u8>, ObjectId>, Error> {
        Ok(self
            .list_index()?
            .into_iter()
            .map(|e| (e.raw, e.id))
            .collect())
    }
}

/// Returns why adding a file at `path` would conflict with `index`: an entry (any stage) at the
/// path itself, at one of its leading directories, or below it.
fn index_conflict(index: &gix::index::File, path: &[u8]) -> Option<&'static str> {
    if index.entry_by_path(path.into()).is_some() {
        return Some("already in the index");
    }
    for (i, b) in path.iter().enumerate() {
        if *b == b'/' && index.entry_by_path(path[..i].into()).is_some() {
            return Some("the index has a file where one of its directories should be");
        }
    }
    let mut dir = path.to_vec();
    dir.push(b'/');
    index
        .prefixed_entries(dir.as_slice().into())
        .is_some_and(|e| !e.is_empty())
        .then_some("the index has a directory there")
}

/// The index read without locking it, to check for conflicts before taking the lock.
pub struct IndexView {
    index: gix::index::File,
}

impl IndexView {
    /// Returns why adding a file at `path` would conflict with the index: an entry (any stage)
    /// at the path itself, at one of its leading directories, or below it.
    pub fn conflict(&self, path: &[u8]) -> Option<&'static str> {
        index_conflict(&self.index, path)
    }
}

/// A locked index being updated; dropping it without [`IndexUpdate::commit`] leaves the index
/// untouched.
pub struct IndexUpdate {
    index: gix::index::File,
    lock: gix::lock::File,
    written: bool,
}

impl IndexUpdate {
    /// Returns the blob id the index holds for `path` (stage 0).
    pub fn id_of(&self, path: &[u8]) -> Option<ObjectId> {
        self.index
            .entry_by_path_and_stage(path.into(), gix::index::entry::Stage::Unconflicted)
            .map(|e| e.id)
    }

    /// Returns why adding a file at `path` would conflict with the index (see
    /// [`IndexView::conflict`]).
    pub fn conflict(&self, path: &[u8]) -> Option<&'static str> {
        index_conflict(&self.index, path)
    }

    /// Removes paths (every stage) and drops the cache-tree, which would otherwise make the
    /// next `git commit` bring the removed files back.
    pub fn remove(&mut self, paths: &std::collections::HashSet<Vec<u8>>) {
        self.index
            .remove_entries(|_, path, _| paths.contains(path.as_bytes()));
        self.index.remove_tree();
    }

    /// Adds files whose working-tree copies were just written, with their stat data so that
    /// `git status` stays quiet.
    pub fn add(&mut self, files: &[TreeFile], workdir: &Path) {
        for f in files {
            let full = workdir.join(crate::fs::rel_path(&f.raw));
            let stat = gix::index::fs::Metadata::from_path_no_follow(&full)
                .ok()
                .and_then(|m| gix::index::entry::Stat::from_fs(&m).ok())
                .unwrap_or_default();
            let mode = if f.executable {
                gix::index::entry::Mode::FILE_EXECUTABLE
            } else {
                gix::index::entry::Mode::FILE
            };
            self.index.dangerously_push_entry(
                stat,
                f.id,
                gix::index::entry::Flags::empty(),
                mode,
                f.raw.as_slice().into(),
            );
        }
        self.index.sort_entries();
        self.index.remove_tree();
    }

    /// Returns the path of the lock file (`index.lock`).
    pub fn lock_path(&self) -> PathBuf {
        self.lock.lock_path().to_owned()
    }

    /// Writes the new index into the lock file, without replacing the index yet: the last step
    /// ([`IndexUpdate::commit`]) is then a rename. Returns the new index's checksum (its
    /// trailer, hex), which names this exact lock file.
    pub fn write(&mut self) -> Result<String, Error> {
        // gix writes entry by entry: buffer, or a large index costs one syscall per field.
        let mut out = std::io::BufWriter::with_capacity(1 << 20, &mut self.lock);
        self.index
            .write_to(&mut out, gix::index::write::Options::default())
            .map_err(|e| Error::Repo {
                what: "cannot write the index".into(),
                source: e,
            })?;
        std::io::Write::flush(&mut out)
            .map_err(|e| Error::Refused(format!("cannot write the index: {e}")))?;
        drop(out);
        self.written = true;
        Ok(index_checksum(self.lock.lock_path()).unwrap_or_default())
    }

    /// Writes the index (unless [`IndexUpdate::write`] did) and releases the lock.
    pub fn commit(mut self) -> Result<(), Error> {
        if !self.written {
            self.write()?;
        }
        self.lock
            .commit()
            .map(|_| ())
            .map_err(|e| Error::Refused(format!("cannot replace the index: {}", e.error)))
    }
}

/// Returns the checksum trailer (hex) of an index file (or an index.lock) written by git or gix.
pub fn index_checksum(path: &Path) -> Option<String> {
    use std::io::{Read as _, Seek as _};
    let mut f = std::fs::File::open(path).ok()?;
    let len = f.metadata().ok()?.len();
    let n = gix::hash::Kind::Sha1.len_in_bytes() as u64;
    if len < n {
        return None;
    }
    f.seek(std::io::SeekFrom::Start(len - n)).ok()?;
    let mut tail = Vec::new();
    f.read_to_end(&mut tail).ok()?;
    Some(tail.iter().map(|b| format!("{b:02x}")).collect())
}

/// Removes every lock and temporary file gix holds for this process (on an interrupt: see
/// `interrupt`). Not async-signal-safe; called from the signal thread.
pub fn release_locks() {
    gix::tempfile::registry::cleanup_tempfiles();
}
