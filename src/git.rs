//! The only module that talks to gix: open the repository, list the entries of a tree or of the
//! index, read blobs, read `credman.*` configuration and compare tracked files with the working
//! tree.
//!
//! It never prints and never touches the network. Called by `source` (listing, blob reading) and
//! `settings` (configuration).

use std::path::{Path, PathBuf};

use gix::bstr::{BStr, ByteSlice as _};

pub use gix::ObjectId;

/// Errors of repository access. Messages name refs and paths, never file contents.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// No repository at or above the directory.
    #[error("not a git repository (or any parent up to the mount point): {}", path.display())]
    NotARepository {
        /// Where the search started.
        path: PathBuf,
        /// gix's reason.
        #[source]
        source: Box<gix::Error>,
    },
    /// HEAD does not point to a commit yet.
    #[error("HEAD has no commit yet (unborn branch); commit something or use --staged")]
    UnbornHead,
    /// A revision did not resolve (to a tree, or to a commit).
    #[error("unknown revision '{rev}': {reason}")]
    BadRevision {
        /// The revision as given.
        rev: String,
        /// Why, in git's words (gix's own text names its internals).
        reason: &'static str,
    },
    /// The operation is refused (detached HEAD, merge in progress, lock held …).
    #[error("{0}")]
    Refused(String),
    /// A ref moved while git-credman was working (compare-and-swap failed).
    #[error("{name} moved while git-credman was working; nothing was changed (run it again)")]
    RefMoved {
        /// The ref.
        name: String,
    },
    /// Any other repository failure.
    #[error("{what}")]
    Repo {
        /// What was being done.
        what: String,
        /// gix's reason.
        #[source]
        source: gix::Error,
    },
}

fn repo_err(what: impl Into<String>) -> impl FnOnce(gix::Error) -> Error {
    let what = what.into();
    move |source| Error::Repo { what, source }
}

/// Resolves a revision to its object, naming the revision in the error.
/// Words a revision error the way git would, from what gix says went wrong.
fn bad_revision(rev: &str) -> impl Fn(gix::Error) -> Error + '_ {
    move |source| {
        // The telling part is often deep in the source chain.
        let mut text = source.to_string();
        let mut next = std::error::Error::source(&source);
        while let Some(e) = next {
            text.push_str(": ");
            text.push_str(&e.to_string());
            next = e.source();
        }
        let reason = if text.contains("out of range") || text.contains("ancestors") {
            "the history is shorter than that (see `git log --oneline`)"
        } else if text.contains("could not be found") || text.contains("NotFound") {
            "no branch, tag or commit of that name here (see `git branch -a` and `git tag`)"
        } else if text.contains("peel") || text.contains("Kind") {
            "it names neither a commit nor a tree"
        } else {
            "not a revision git understands (see gitrevisions(7))"
        };
        Error::BadRevision {
            rev: crate::report::escape(rev).into_owned(),
            reason,
        }
    }
}

fn find_rev<'r>(repo: &'r gix::Repository, rev: &str) -> Result<gix::Object<'r>, Error> {
    let bad = bad_revision(rev);
    repo.rev_parse_single(rev)
        .map_err(&bad)?
        .object()
        .map_err(&bad)
}

/// What an entry of a tree or index is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum EntryKind {
    /// A regular (possibly executable) file.
    File,
    /// A symbolic link; its blob holds the target path.
    Symlink,
}

/// One file of a tree or index.
#[derive(Clone, Debug)]
pub struct TreeEntry {
    /// Path relative to the repository root, `/`-separated, for display (see [`display_path`]).
    pub path: String,
    /// The path as git stores it (bytes): what every tree, index and file operation uses.
    pub raw: Vec<u8>,
    /// The blob id.
    pub id: ObjectId,
    /// File or symlink.
    pub kind: EntryKind,
}

/// An open repository that can be shared between reader threads.
pub struct Repo {
    inner: gix::ThreadSafeRepository,
}

/// A resolved tree to scan, with what it came from.
#[derive(Clone, Debug)]
pub struct ResolvedTree {
    /// The tree id.
    pub tree: ObjectId,
    /// The commit the tree belongs to, when it came from a commit.
    pub commit: Option<ObjectId>,
}

impl Repo {
    /// Finds the repository containing `dir`, like git does (honouring `GIT_DIR` and friends).
    pub fn discover(dir: &Path) -> Result<Self, Error> {
        let inner = gix::ThreadSafeRepository::discover_with_environment_overrides(dir).map_err(
            |source| Error::NotARepository {
                path: dir.to_owned(),
                source: Box::new(source),
            },
        )?;
        Ok(Self { inner })
    }

    fn local(&self) -> gix::Repository {
        let mut repo = self.inner.to_thread_local();
        repo.object_cache_size_if_unset(4 * 1024 * 1024);
        repo
    }

    /// Returns the working tree root, if the repository has one.
    pub fn workdir(&self) -> Option<PathBuf> {
        self.inner.work_dir().map(Path::to_owned)
    }

    /// Returns the `.git` directory (a linked worktree's own one for linked worktrees).
    pub fn git_dir(&self) -> PathBuf {
        self.inner.git_dir().to_owned()
    }

    /// Returns the repository's common directory, shared by all worktrees (where `hooks/` is).
    pub fn common_dir(&self) -> PathBuf {
        self.local().common_dir().to_owned()
    }

    /// Peels an object to the commit it names (tags included); `None` if it names no commit.
    pub fn peel_to_commit(&self, id: ObjectId) -> Option<ObjectId> {
        let repo = self.local();
        let object = repo.find_object(id).ok()?;
        object
            .peel_to_kind(gix::object::Kind::Commit)
            .ok()
            .map(|c| c.id)
    }

    /// Returns a copy of the repository's resolved configuration (system, global, local, env).
    pub fn config(&self) -> gix::config::File {
        self.local().config_snapshot().plumbing().clone()
    }

    /// Resolves HEAD to its commit and tree.
    pub fn head_tree(&self) -> Result<ResolvedTree, Error> {
        let repo = self.local();
        let mut head = repo.head().map_err(repo_err("cannot read HEAD"))?;
        if head.is_unborn() {
            return Err(Error::UnbornHead);
        }
        let commit = head
            .peel_to_commit()
            .map_err(repo_err("cannot peel HEAD to a commit"))?;
        let tree = commit
            .tree_id()
            .map_err(repo_err("cannot read HEAD's tree"))?;
        Ok(ResolvedTree {
            tree: tree.detach(),
            commit: Some(commit.id),
        })
    }

    /// Resolves any tree-ish (`origin/main`, `HEAD~2`, `v1:auths`, a tree id) to a tree.
    pub fn resolve_tree(&self, rev: &str) -> Result<ResolvedTree, Error> {
        let repo = self.local();
        let object = find_rev(&repo, rev)?;
        let bad = bad_revision(rev);
        let commit = object
            .clone()
            .peel_to_kind(gix::object::Kind::Commit)
            .ok()
            .map(|c| c.id);
        let tree = object.peel_to_tree().map_err(bad)?;
        Ok(ResolvedTree {
            tree: tree.id,
            commit,
        })
    }

    /// Lists the files (and symlinks) of `tree`, optionally only below `prefix`.
    ///
    /// With a prefix, only that subtree is traversed, which keeps large repositories cheap.
    pub fn list_tree(&self, tree: ObjectId, prefix: Option<&str>) -> Result<Vec<TreeEntry>, Error> {
        let repo = self.local();
        let root = repo.find_tree(tree).map_err(repo_err("cannot read tree"))?;
        let (start, base) = match prefix
            .map(|p| p.trim_matches('/'))
            .filter(|p| !p.is_empty())
        {
            Some(p) => match root
                .lookup_entry_by_path(p)
                .map_err(repo_err("cannot read tree"))?
            {
                Some(entry) if entry.mode().is_tree() => (
                    repo.find_tree(entry.object_id())
                        .map_err(repo_err("cannot read tree"))?,
                    format!("{p}/"),
                ),
                _ => return Ok(Vec::new()),
            },
            None => (root, String::new()),
        };
        let mut recorder = gix::traverse::tree::Recorder::default();
        start
            .traverse()
            .breadthfirst(&mut recorder)
            .map_err(|e| Error::Repo {
                what: "cannot traverse tree".into(),
                source: e,
            })?;
        let mut out = Vec::with_capacity(recorder.records.len());
        for rec in recorder.records {
            let kind = if rec.mode.is_link() {
                EntryKind::Symlink
            } else if rec.mode.is_blob() {
                EntryKind::File
            } else {
                continue;
            };
            let mut raw = base.as_bytes().to_vec();
            raw.extend_from_slice(rec.filepath.as_slice());
            out.push(TreeEntry {
                path: display_path(&raw),
                raw,
                id: rec.oid,
                kind,
            });
        }
        out.sort_by(|a, b| a.raw.cmp(&b.raw));
        Ok(out)
    }

    /// Lists the stage-0 files of the index (conflicted paths are skipped).
    pub fn list_index(&self) -> Result<Vec<TreeEntry>, Error> {
        let repo = self.local();
        let index = repo
            .index_or_empty()
            .map_err(repo_err("cannot read the index"))?;
        let mut out = Vec::with_capacity(index.entries().len());
        for entry in index.entries() {
            if entry.stage() != gix::index::entry::Stage::Unconflicted {
                continue;
            }
            let kind = match entry.mode {
                gix::index::entry::Mode::SYMLINK => EntryKind::Symlink,
                gix::index::entry::Mode::FILE | gix::index::entry::Mode::FILE_EXECUTABLE => {
                    EntryKind::File
                }
                _ => continue,
            };
            let raw = entry.path(&index).to_vec();
            out.push(TreeEntry {
                path: display_path(&raw),
                raw,
                id: entry.id,
                kind,
            });
        }
        Ok(out)
    }

    /// Returns a reader for blobs, one per thread.
    pub fn blob_reader(&self) -> BlobReader {
        BlobReader { repo: self.local() }
    }

    /// Returns a checker that tells whether tracked files differ in the working tree, or `None`
    /// for a bare repository.
    pub fn worktree_checker(&self) -> Result<Option<WorktreeChecker>, Error> {
        let repo = self.local();
        let Some(workdir) = repo.workdir().map(Path::to_owned) else {
            return Ok(None);
        };
        let index = repo
            .index_or_empty()
            .map_err(repo_err("cannot read the index"))?;
        let stat_options = repo
            .stat_options()
            .map_err(repo_err("cannot read core.* stat options"))?;
        let index_time = index.timestamp();
        Ok(Some(WorktreeChecker {
            workdir,
            index,
            stat_options,
            index_time: (index_time.seconds(), index_time.nanoseconds()),
            hash_kind: repo.object_hash(),
        }))
    }
}

/// Reads blobs from one thread's repository handle.
pub struct BlobReader {
    repo: gix::Repository,
}

impl BlobReader {
    /// Reads a blob into `buf` (reused between calls, so large scans do not copy or
    /// reallocate every blob).
    pub fn read_into(&self, id: ObjectId, buf: &mut Vec<u8>) -> Result<(), Error> {
        use gix::objs::Find as _;
        let missing = || Error::Refused(format!("blob {id} is missing from the object database"));
        let data = self
            .repo
            .objects
            .try_find(&id, buf)
            .map_err(|e| Error::Repo {
                what: format!("cannot read blob {id}"),
                source: e,
            })?
            .ok_or_else(missing)?;
        if data.kind != gix::object::Kind::Blob {
            return Err(Error::Refused(format!("object {id} is not a blob")));
        }
        Ok(())
    }
}

/// How a tracked file's working-tree copy relates to the scanned blob.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum WorktreeState {
    /// The working-tree file has other content.
    Modified,
    /// There is no working-tree file.
    Deleted,
}

/// Compares working-tree files with blob ids, using the index's stat data like git does and
/// hashing only files whose stat data does not prove them unchanged.
pub struct WorktreeChecker {
    workdir: PathBuf,
    index: gix::worktree::Index,
    stat_options: gix::index::entry::stat::Options,
    index_time: (i64, u32),
    hash_kind: gix::hash::Kind,
}

impl WorktreeChecker {
    /// Returns how the working-tree copy of `path` differs from blob `id`, or `None` if it holds
    /// exactly that blob (or cannot be compared, e.g. a symlink).
    pub fn state(&self, path: &str, id: ObjectId) -> Option<WorktreeState> {
        self.state_raw(path.as_bytes(), id)
    }

    /// Like [`WorktreeChecker::state`], for a path as git stores it (bytes). A path below a
    /// symbolic link (or a file where a directory should be) is `Deleted`, as git sees it: the
    /// link is never followed.
    pub fn state_raw(&self, path: &[u8], id: ObjectId) -> Option<WorktreeState> {
        if crate::fs::has_unsafe_parent(&self.workdir, path) {
            return Some(WorktreeState::Deleted);
        }
        let full = self.workdir.join(crate::fs::rel_path(path));
        let Ok(meta) = gix::index::fs::Metadata::from_path_no_follow(&full) else {
            return Some(WorktreeState::Deleted);
        };
        if !meta.is_file() {
            return None;
        }
        // The index is sorted by path: a binary search, no allocation.
        let indexed = self.index.entry_by_path(<&BStr>::from(path));
        if let (Some(entry), Ok(stat)) = (indexed, gix::index::entry::Stat::from_fs(&meta)) {
            // A file modified at or after the moment the index was written is "racy": its stat
            // data cannot prove it unchanged, so it is hashed below (git does the same).
            let racy = (i64::from(stat.mtime.secs), stat.mtime.nsecs) >= self.index_time;
            if entry.id == id && !racy && entry.stat.matches(&stat, self.stat_options) {
                return None;
            }
        }
        let data = std::fs::read(&full).ok()?;
        let hash = gix::objs::compute_hash(self.hash_kind, gix::object::Kind::Blob, &data).ok()?;
        (hash != id).then_some(WorktreeState::Modified)
    }
}

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

/// Returns a path as git stores it (bytes) as text for reports and messages: unchanged when it
/// is UTF-8; otherwise every byte that is not UTF-8 is written `\xNN` and a backslash `\\`, so
/// that two names that are not UTF-8 never look the same.
pub fn display_path(raw: &[u8]) -> String {
    if let Ok(s) = std::str::from_utf8(raw) {
        return s.to_owned();
    }
    let mut out = String::with_capacity(raw.len() + 8);
    for chunk in raw.utf8_chunks() {
        for c in chunk.valid().chars() {
            if c == '\\' {
                out.push_str("\\\\");
            } else {
                out.push(c);
            }
        }
        for b in chunk.invalid() {
            out.push_str(&format!("\\x{b:02x}"));
        }
    }
    out
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

/// The data of one commit.
#[derive(Clone, Debug)]
pub struct CommitInfo {
    /// The commit id.
    pub id: ObjectId,
    /// Its tree.
    pub tree: ObjectId,
    /// Its parents.
    pub parents: Vec<ObjectId>,
    /// Its message.
    pub message: String,
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

    /// Returns the blob at `path` in `tree`.
    pub fn blob_at(&self, tree: ObjectId, path: &str) -> Result<Option<ObjectId>, Error> {
        let repo = self.local();
        let tree = repo.find_tree(tree).map_err(repo_err("cannot read tree"))?;
        let entry = tree
            .lookup_entry_by_path(path)
            .map_err(repo_err("cannot read tree"))?;
        Ok(entry
            .filter(|e| e.mode().is_blob_or_symlink())
            .map(|e| e.object_id()))
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

    /// Reads a commit.
    pub fn commit_info(&self, rev: &str) -> Result<CommitInfo, Error> {
        let repo = self.local();
        let bad = bad_revision(rev);
        let commit = find_rev(&repo, rev)?
            .peel_to_kind(gix::object::Kind::Commit)
            .map_err(bad)?
            .into_commit();
        let decoded = commit.decode().map_err(|e| Error::Repo {
            what: "cannot decode commit".into(),
            source: e,
        })?;
        Ok(CommitInfo {
            id: commit.id,
            tree: decoded.tree(),
            parents: decoded.parents().collect(),
            message: decoded.message.to_string(),
        })
    }

    /// Returns the files of `parent_tree` that are missing from `tree` (what a commit deleted).
    pub fn deleted_files(
        &self,
        parent_tree: ObjectId,
        tree: ObjectId,
    ) -> Result<Vec<TreeFile>, Error> {
        let now: std::collections::HashSet<Vec<u8>> = self
            .list_tree(tree, None)?
            .into_iter()
            .map(|e| e.raw)
            .collect();
        let repo = self.local();
        let parent = repo
            .find_tree(parent_tree)
            .map_err(repo_err("cannot read tree"))?;
        let mut out = Vec::new();
        for e in self.list_tree(parent_tree, None)? {
            if now.contains(&e.raw) || e.kind != EntryKind::File {
                continue;
            }
            let executable = parent
                .lookup_entry(e.raw.split(|b| *b == b'/'))
                .map_err(repo_err("cannot read tree"))?
                .is_some_and(|x| x.mode().is_executable());
            out.push(TreeFile {
                path: e.path,
                raw: e.raw,
                id: e.id,
                executable,
            });
        }
        Ok(out)
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

/// Returns the git blob id (SHA-1) of some bytes, to notice a file that changed since it was
/// scanned in directory mode.
pub fn hash_blob(bytes: &[u8]) -> Option<ObjectId> {
    gix::objs::compute_hash(gix::hash::Kind::Sha1, gix::object::Kind::Blob, bytes).ok()
}

impl Repo {
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

    /// Returns the content of a blob.
    pub fn read_blob(&self, id: ObjectId) -> Result<Vec<u8>, Error> {
        let mut buf = Vec::new();
        self.blob_reader().read_into(id, &mut buf)?;
        Ok(buf)
    }
}

impl Repo {
    /// Returns the tips of every remote-tracking branch of `remote` (`refs/remotes/<remote>/*`).
    pub fn remote_tips(&self, remote: &str) -> Result<Vec<ObjectId>, Error> {
        let repo = self.local();
        let platform = repo
            .references()
            .map_err(repo_err("cannot list references"))?;
        let prefix = format!("refs/remotes/{remote}/");
        let iter = platform
            .remote_branches()
            .map_err(repo_err("cannot list references"))?;
        let iter = iter.peeled().map_err(repo_err("cannot list references"))?;
        let mut out = Vec::new();
        for r in iter {
            let r = r.map_err(repo_err("cannot read a reference"))?;
            if r.name().as_bstr().starts_with(prefix.as_bytes())
                && let Some(id) = r.try_id()
            {
                out.push(id.detach());
            }
        }
        Ok(out)
    }

    /// Returns the commits reachable from `tip` and from none of `hidden` (what a push sends).
    pub fn new_commits(&self, tip: ObjectId, hidden: &[ObjectId]) -> Result<Vec<ObjectId>, Error> {
        let repo = self.local();
        let walk = repo
            .rev_walk([tip])
            .with_hidden(hidden.iter().copied())
            .all()
            .map_err(repo_err("cannot walk the commits being pushed"))?;
        let mut out = Vec::new();
        for info in walk {
            out.push(
                info.map_err(|e| Error::Repo {
                    what: "cannot walk commits".into(),
                    source: e,
                })?
                .id,
            );
        }
        Ok(out)
    }

    /// Returns the paths (below `prefix`, when given) that `commits` added or modified relative to
    /// their first parents.
    pub fn changed_paths(
        &self,
        commits: &[ObjectId],
        prefix: Option<&str>,
    ) -> Result<std::collections::BTreeSet<String>, Error> {
        let mut out = std::collections::BTreeSet::new();
        for c in commits {
            let info = self.commit_info(&c.to_string())?;
            let now = self.list_tree(info.tree, prefix)?;
            let before: std::collections::HashMap<String, ObjectId> = match info.parents.first() {
                Some(p) => {
                    let parent_tree = self.commit_info(&p.to_string())?.tree;
                    self.list_tree(parent_tree, prefix)?
                        .into_iter()
                        .map(|e| (e.path, e.id))
                        .collect()
                }
                None => std::collections::HashMap::new(),
            };
            out.extend(
                now.into_iter()
                    .filter(|e| before.get(&e.path) != Some(&e.id))
                    .map(|e| e.path),
            );
        }
        Ok(out)
    }
}

/// How to clone a remote auth repository.
#[derive(Clone, Debug)]
pub struct CloneSpec {
    /// The URL, without userinfo.
    pub url: String,
    /// The branch to check out (default: the remote's HEAD branch).
    pub branch: Option<String>,
    /// `core.sshCommand` for this clone only (a chosen key, batch mode).
    pub ssh_command: Option<String>,
    /// An HTTPS user and token, handed to gix through its credential callback only.
    pub token: Option<(String, crate::credential::Secret)>,
}

impl Repo {
    /// Clones `spec` into `dir` (which must not exist or be empty) and checks it out.
    pub fn clone_into(spec: &CloneSpec, dir: &Path) -> Result<Self, Error> {
        let bad = |what: &str| {
            let what = what.to_owned();
            move |source: gix::Error| Error::Repo { what, source }
        };
        let mut prep =
            gix::prepare_clone(spec.url.as_str(), dir).map_err(bad("cannot prepare the clone"))?;
        if let Some(cmd) = &spec.ssh_command {
            prep = prep.with_in_memory_config_overrides([format!("core.sshCommand={cmd}")]);
        }
        if let Some(branch) = &spec.branch {
            prep = prep
                .with_ref_name(Some(branch.as_str()))
                .map_err(bad("invalid --repo-branch"))?;
        }
        if let Some((user, token)) = spec.token.clone() {
            prep = prep.configure_connection(move |connection| {
                let (user, token) = (user.clone(), token.clone());
                connection.set_credentials(move |action| match action {
                    gix::credentials::helper::Action::Get(ctx) => {
                        Ok(Some(gix::credentials::protocol::Outcome {
                            identity: gix::sec::identity::Account {
                                username: user.clone(),
                                password: token.expose().to_owned(),
                                oauth_refresh_token: None,
                            },
                            next: ctx.into(),
                        }))
                    }
                    _ => Ok(None),
                });
                Ok(())
            });
        }
        let interrupt = std::sync::atomic::AtomicBool::new(false);
        let (mut checkout, _) = prep
            .fetch_then_checkout(gix::progress::Discard, &interrupt)
            .map_err(bad("cannot fetch from the remote"))?;
        let (repo, _) = checkout
            .main_worktree(gix::progress::Discard, &interrupt)
            .map_err(bad("cannot check out the fetched branch"))?;
        Ok(Self {
            inner: repo.into_sync(),
        })
    }

    /// Returns the URL of remote `name`, if it has one.
    pub fn remote_url(&self, name: &str) -> Option<String> {
        let repo = self.local();
        let remote = repo.find_remote(name).ok()?;
        remote
            .url(gix::remote::Direction::Fetch)
            .map(|u| u.to_bstring().to_string())
    }
}

/// Returns an object id as reports and messages show it: its first 12 hex digits.
pub fn short_id(id: &ObjectId) -> String {
    let hex = id.to_string();
    hex.get(..12).unwrap_or(&hex).to_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn display_path_escapes_only_names_that_are_not_utf8() {
        assert_eq!(display_path(b"auths/a\\b.json"), "auths/a\\b.json");
        assert_eq!(display_path("auths/é.json".as_bytes()), "auths/é.json");
        assert_eq!(display_path(b"auths/x\xfe.json"), "auths/x\\xfe.json");
        assert_eq!(display_path(b"a\\\xff"), "a\\\\\\xff");
        assert_ne!(display_path(b"x\xfe.json"), display_path(b"x\xff.json"));
    }
}
