//! The only module that talks to gix: open the repository, list the entries of a tree or of the
//! index, read blobs, read `credman.*` configuration and compare tracked files with the working
//! tree.
//!
//! It never prints and never touches the network. Called by `source` (listing, blob reading) and
//! `settings` (configuration).

use std::path::{Path, PathBuf};

use gix::bstr::BStr;

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
    /// A revision did not resolve to a tree.
    #[error("cannot resolve '{rev}' to a tree")]
    BadRevision {
        /// The revision as given.
        rev: String,
        /// gix's reason.
        #[source]
        source: gix::Error,
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
    /// Path relative to the repository root, `/`-separated.
    pub path: String,
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

    /// Returns the `.git` directory.
    pub fn git_dir(&self) -> PathBuf {
        self.inner.git_dir().to_owned()
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
        let bad = |source| Error::BadRevision {
            rev: rev.to_owned(),
            source,
        };
        let object = repo
            .rev_parse_single(rev)
            .map_err(bad)?
            .object()
            .map_err(bad)?;
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
            out.push(TreeEntry {
                path: format!("{base}{}", rec.filepath),
                id: rec.oid,
                kind,
            });
        }
        out.sort_by(|a, b| a.path.cmp(&b.path));
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
            out.push(TreeEntry {
                path: entry.path(&index).to_string(),
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
        let mut by_path = std::collections::HashMap::with_capacity(index.entries().len());
        for entry in index.entries() {
            if entry.stage() == gix::index::entry::Stage::Unconflicted {
                by_path.insert(entry.path(&index).to_owned(), (entry.id, entry.stat));
            }
        }
        Ok(Some(WorktreeChecker {
            workdir,
            by_path,
            stat_options,
            index_secs: index_time.seconds(),
            hash_kind: repo.object_hash(),
        }))
    }
}

/// Reads blobs from one thread's repository handle.
pub struct BlobReader {
    repo: gix::Repository,
}

impl BlobReader {
    /// Returns the content of a blob.
    pub fn read(&self, id: ObjectId) -> Result<Vec<u8>, Error> {
        let blob = self
            .repo
            .find_blob(id)
            .map_err(repo_err(format!("cannot read blob {id}")))?;
        Ok(blob.detach().data)
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
    by_path: std::collections::HashMap<gix::bstr::BString, (ObjectId, gix::index::entry::Stat)>,
    stat_options: gix::index::entry::stat::Options,
    index_secs: i64,
    hash_kind: gix::hash::Kind,
}

impl WorktreeChecker {
    /// Returns how the working-tree copy of `path` differs from blob `id`, or `None` if it holds
    /// exactly that blob (or cannot be compared, e.g. a symlink).
    pub fn state(&self, path: &str, id: ObjectId) -> Option<WorktreeState> {
        let full = self.workdir.join(path);
        let Ok(meta) = gix::index::fs::Metadata::from_path_no_follow(&full) else {
            return Some(WorktreeState::Deleted);
        };
        if !meta.is_file() {
            return None;
        }
        let indexed = self.by_path.get(<&BStr>::from(path.as_bytes()));
        if let (Some((index_id, index_stat)), Ok(stat)) =
            (indexed, gix::index::entry::Stat::from_fs(&meta))
        {
            // A file modified in the same second the index was written is "racy": its stat
            // data cannot prove it unchanged, so it is hashed below.
            let racy = i64::from(stat.mtime.secs) >= self.index_secs;
            if *index_id == id && !racy && index_stat.matches(&stat, self.stat_options) {
                return None;
            }
        }
        let data = std::fs::read(&full).ok()?;
        let hash = gix::objs::compute_hash(self.hash_kind, gix::object::Kind::Blob, &data).ok()?;
        (hash != id).then_some(WorktreeState::Modified)
    }
}
