//! The only code that talks to gix. This file opens and reads: it finds the repository (as git
//! does, honouring `GIT_DIR` and friends), resolves revisions to trees, lists the files of a tree
//! or of the index, reads blobs and compares tracked files with the working tree; it also owns
//! the module's [`Error`], [`ObjectId`] and the path and id helpers reports use
//! ([`display_path`], [`short_id`], [`hash_blob`]).
//!
//! The rest of git lives next to it: `write` (tree edits, commits, compare-and-swap ref updates,
//! the locked index), `history` (commits, what a push sends, what a commit deleted), [`config`]
//! (git configuration, read through gix's trust filter), `clone` (cloning a remote) and [`cli`]
//! (every spawned `git`: push, fetch, verify-commit). Nothing here prints; only `clone` and
//! [`cli`] reach the network. Called by `source`, `scan`, `prune`, `sign`, `settings` and the
//! commands.

use std::path::{Path, PathBuf};

use gix::bstr::BStr;

pub use gix::ObjectId;

pub mod cli;
mod clone;
pub mod config;
mod dataref;
mod history;
mod write;

pub use clone::CloneSpec;
pub use history::CommitInfo;
pub use write::{
    BranchHead, CommitSigner, IndexUpdate, IndexView, RemovalEdit, SigningOptions, TreeEdit,
    TreeFile, index_checksum, release_locks,
};

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
    /// The signer of a commit failed; nothing was written.
    #[error(transparent)]
    Sign(Box<dyn std::error::Error + Send + Sync>),
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

    /// Returns a reader of the repository's own object database (for one thread).
    fn blob_reader(&self) -> BlobReader {
        BlobReader::new(self.inner.to_thread_local().objects)
    }

    /// Opens the object database again, on its own: the packs it maps are unmapped when the
    /// last reader of it is dropped. A scan of 100,000 blobs touches every page of the pack;
    /// reading them in slices, each through its own store, keeps only one slice's pages
    /// resident (the repository's own store keeps a pack mapped for as long as it lives).
    pub fn blob_source(&self) -> Result<BlobSource, Error> {
        let store = &self.inner.objects;
        let repo = self.inner.to_thread_local();
        let fresh = gix::odb::Store::at_opts(
            store.path().to_owned(),
            store.object_hash(),
            &mut store.replacements(),
            gix::odb::store::init::Options {
                use_multi_pack_index: store.use_multi_pack_index(),
                current_dir: Some(repo.current_dir().to_owned()),
                ..Default::default()
            },
        )
        .map_err(|e| Error::Repo {
            what: "cannot open the object database".into(),
            source: gix::Error::from_error(e),
        })?;
        Ok(BlobSource {
            store: std::sync::Arc::new(fresh),
        })
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
            parents: std::sync::Mutex::new(std::collections::HashMap::new()),
        }))
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

    /// Returns the content of a blob.
    pub fn read_blob(&self, id: ObjectId) -> Result<Vec<u8>, Error> {
        let mut buf = Vec::new();
        self.blob_reader().read_into(id, &mut buf)?;
        Ok(buf)
    }
}

/// An object database opened on its own ([`Repo::blob_source`]), shared by reader threads.
pub struct BlobSource {
    store: std::sync::Arc<gix::odb::Store>,
}

impl BlobSource {
    /// A reader of this database for one thread.
    pub fn reader(&self) -> BlobReader {
        BlobReader::new(gix::odb::memory::Proxy::from(gix::odb::Cache::from(
            self.store.to_handle(),
        )))
    }
}

/// Reads blobs from one thread's object database handle.
pub struct BlobReader {
    objects: gix::OdbHandle,
}

impl BlobReader {
    fn new(mut objects: gix::OdbHandle) -> Self {
        // Credential files of one provider are alike, so git stores most of them as deltas of
        // each other. gix sets no delta-base cache without its `max-performance` feature: every
        // blob would be rebuilt from the end of its delta chain. Each blob is read once, so an
        // object cache would only copy it.
        objects.set_pack_cache(|| {
            Box::new(gix::odb::pack::cache::lru::StaticLinkedList::<64>::default())
        });
        objects.unset_object_cache();
        Self { objects }
    }

    /// Reads a blob into `buf` (reused between calls, so large scans do not copy or
    /// reallocate every blob).
    pub fn read_into(&self, id: ObjectId, buf: &mut Vec<u8>) -> Result<(), Error> {
        use gix::objs::Find as _;
        let missing = || Error::Refused(format!("blob {id} is missing from the object database"));
        let data = self
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
    /// Whether each directory files were checked in lies below a symbolic link (or is not a
    /// directory), looked up once per directory, not once per file: a scan of 100,000 files
    /// in `auths/` asked the same `lstat` 100,000 times (issue 13). The checker lives for one
    /// listing, and prune asks again before it touches a file.
    parents: std::sync::Mutex<std::collections::HashMap<Vec<u8>, bool>>,
}

impl WorktreeChecker {
    /// [`crate::fs::has_unsafe_parent`] for `path`, by its directory (see `parents`).
    fn unsafe_parent(&self, path: &[u8]) -> bool {
        let Some(cut) = path.iter().rposition(|b| *b == b'/') else {
            // A file at the top has no directory to follow.
            return false;
        };
        let dir = &path[..cut];
        let parents = || {
            self.parents
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner)
        };
        if let Some(&unsafe_dir) = parents().get(dir) {
            return unsafe_dir;
        }
        // Looked up without the lock held: another reader may do the same meanwhile.
        let unsafe_dir = crate::fs::has_unsafe_parent(&self.workdir, path);
        parents().insert(dir.to_vec(), unsafe_dir);
        unsafe_dir
    }

    /// Returns how the working-tree copy of `path` differs from blob `id`, or `None` if it holds
    /// exactly that blob (or cannot be compared, e.g. a symlink).
    pub fn state(&self, path: &str, id: ObjectId) -> Option<WorktreeState> {
        self.state_raw(path.as_bytes(), id)
    }

    /// Like [`WorktreeChecker::state`], for a path as git stores it (bytes). A path below a
    /// symbolic link (or a file where a directory should be) is `Deleted`, as git sees it: the
    /// link is never followed.
    pub fn state_raw(&self, path: &[u8], id: ObjectId) -> Option<WorktreeState> {
        if self.unsafe_parent(path) {
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

/// Returns the git blob id (SHA-1) of some bytes, to notice a file that changed since it was
/// scanned in directory mode.
pub fn hash_blob(bytes: &[u8]) -> Option<ObjectId> {
    gix::objs::compute_hash(gix::hash::Kind::Sha1, gix::object::Kind::Blob, bytes).ok()
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
