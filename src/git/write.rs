//! Writing to the repository, always with compare-and-swap so that a concurrent change makes
//! the write fail instead of being lost: tree edits that remove exactly the scanned blobs
//! ([`Repo::tree_without`]) or add files back ([`Repo::tree_with`]); commits, built, signed and
//! written in one call ([`Repo::commit`], signing through a [`CommitSigner`], with git's own
//! signing configuration available as [`SigningOptions`]); ref updates that expect the old value
//! ([`Repo::move_ref`], [`Repo::create_ref`]); and the locked index ([`IndexUpdate`]), written
//! next to its lock and renamed last. Also the checks before any of it: the branch a commit may
//! go on ([`Repo::branch_head`]: no detached HEAD, no merge in progress), and the cleanup of
//! gix's lock files on an interrupt ([`release_locks`]).
//!
//! Objects are written before any ref moves: a failure leaves only unreferenced objects. Called by
//! `prune`, `restore` and `sign` (the signing options).

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

/// Signs commit payloads for [`Repo::commit`]. `sign::Signer` implements it; it is defined here
/// so that `git` does not depend on `sign`.
pub trait CommitSigner {
    /// Returns the signature of `payload` (a commit serialized without a signature header),
    /// armored and ending in exactly one newline, or `None` to leave the commit unsigned.
    fn sign_commit(
        &self,
        payload: &[u8],
    ) -> Result<Option<Vec<u8>>, Box<dyn std::error::Error + Send + Sync>>;
}

/// git's signing configuration (`gpg.format`, `gpg.*.program`, `user.signingKey` …) as gix
/// resolves it ([`Repo::signing_options`]); `sign` holds it without looking inside.
#[derive(Clone, Debug)]
pub struct SigningOptions {
    options: gix::objs::signature::sign::Options,
    hash: gix::hash::Kind,
}

impl SigningOptions {
    /// Describes the signer for messages: the format and the program, e.g. `Ssh via ssh-keygen`.
    pub fn describe(&self) -> String {
        format!(
            "{:?} via {}",
            self.options.format,
            self.options.program.to_string_lossy()
        )
    }

    /// Words a signer failure as git does: `gpg failed to sign the data` (git's words for
    /// OpenPGP and X.509, `ssh-keygen …` for SSH), then the signer's own stderr lines without
    /// gpg's `[GNUPG:]` status lines (escaped: they come from another program). Failures before
    /// the program ran keep gix's one-line reason, without its metadata.
    fn failure_text(&self, err: &gix::Error) -> String {
        let signer = match self.options.format {
            gix::objs::signature::Format::Ssh => "ssh-keygen",
            _ => "gpg",
        };
        let mut text = format!("{signer} failed to sign the data");
        let stderr = err.metadata().find_map(|m| match m.get("stderr") {
            Some(gix::error::MetadataValue::Bytes(b)) => {
                Some(String::from_utf8_lossy(b).into_owned())
            }
            Some(gix::error::MetadataValue::String(s)) => Some(s.clone()),
            _ => None,
        });
        match stderr {
            Some(stderr) => {
                let lines: Vec<_> = stderr
                    .lines()
                    .map(str::trim_end)
                    .filter(|l| !l.is_empty() && !l.starts_with("[GNUPG:]"))
                    .map(|l| crate::report::escape(l).into_owned())
                    .collect();
                if lines.is_empty() {
                    text.push_str(&format!(
                        "\n{} exited unsuccessfully without saying why",
                        self.options.program.to_string_lossy()
                    ));
                }
                for line in lines {
                    text.push('\n');
                    text.push_str(&line);
                }
            }
            // Not a program failure (no key configured, the program is missing …): gix's message
            // and its causes, which name no secrets.
            None => {
                let mut reasons: Vec<String> = err
                    .iter_errors()
                    .map(|e| match e.downcast_ref::<gix::error::Message>() {
                        Some(m) => m.message.to_string(),
                        None => e.to_string(),
                    })
                    .collect();
                reasons.dedup();
                let reason = reasons.join(": ");
                text.push_str(&format!(": {}", crate::report::escape(&reason)));
            }
        }
        text
    }

    /// Signs `payload`, a commit serialized without a signature header, the way git does: runs
    /// the configured program (gpg, gpgsm, ssh-keygen or a custom one) through gix. Returns the
    /// armored signature.
    ///
    /// gix signs commit objects only, so the payload is parsed back into one; a payload that does
    /// not serialize back to exactly the same bytes is refused rather than signed differently.
    pub fn sign(&self, payload: &[u8]) -> Result<Vec<u8>, Error> {
        use gix::objs::WriteTo as _;
        let not_a_commit = |e: &dyn std::fmt::Display| {
            Error::Refused(format!("cannot sign: the payload is not a commit ({e})"))
        };
        let commit = gix::objs::CommitRef::from_bytes(payload, self.hash)
            .and_then(gix::objs::CommitRef::into_owned)
            .map_err(|e| not_a_commit(&e))?;
        let mut again = Vec::new();
        commit.write_to(&mut again).map_err(|e| not_a_commit(&e))?;
        if again != payload {
            return Err(not_a_commit(
                &"it does not serialize back to the same bytes",
            ));
        }
        let field = gix::objs::commit::signature_field_name(self.hash);
        let signed = commit
            .sign(self.options.clone())
            .map_err(|e| Error::Refused(self.failure_text(&e)))?;
        signed
            .extra_headers
            .into_iter()
            .rev()
            .find(|(name, _)| name == field)
            .map(|(_, value)| value.into())
            .ok_or_else(|| Error::Refused("the signer produced no signature".into()))
    }
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

    /// Builds (does not write) an unsigned commit with the configured author and committer.
    /// [`Repo::commit`] is the one call that builds, signs and writes; this pair
    /// ([`Repo::new_commit`], [`Repo::write_commit`]) stays for tests that need a plain commit.
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
    pub fn signing_options(&self, force: bool) -> Result<Option<SigningOptions>, Error> {
        let repo = self.local();
        let options = if force {
            repo.commit_signing_options()
                .map(Some)
                .map_err(repo_err("cannot resolve the signing configuration"))?
        } else {
            repo.commit_signing_options_if_enabled()
                .map_err(repo_err("cannot resolve the signing configuration"))?
        };
        Ok(options.map(|options| SigningOptions {
            options,
            hash: repo.object_hash(),
        }))
    }

    /// Creates a commit of `tree` on `parents` with the configured author and committer, signed
    /// by `signer` (when it signs), and writes it to the object database; moves no ref.
    ///
    /// The signer gets the commit serialized without any signature header (what git signs); its
    /// signature becomes the last header (`gpgsig`, or `gpgsig-sha256` in a SHA-256 repository),
    /// as git writes it. If signing fails nothing is written.
    pub fn commit(
        &self,
        tree: ObjectId,
        parents: &[ObjectId],
        message: &str,
        signer: &dyn CommitSigner,
    ) -> Result<ObjectId, Error> {
        use gix::objs::WriteTo as _;
        let mut commit = self.new_commit(tree, parents, message)?;
        let mut payload = Vec::new();
        commit
            .write_to(&mut payload)
            .map_err(|e| Error::Refused(format!("cannot serialize the commit: {e}")))?;
        if let Some(signature) = signer.sign_commit(&payload).map_err(Error::Sign)? {
            let field = gix::objs::commit::signature_field_name(self.local().object_hash());
            commit.extra_headers.push((field.into(), signature.into()));
        }
        self.write_commit(&commit)
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
        self.swap(name, Some(expected), new, reflog, true)
    }

    /// The compare-and-swap of [`Self::move_ref`] and `swap_ref`: `name` goes from `expected`
    /// (`None`: it must not exist yet) to `new`, through its symbolic target with `deref`.
    /// [`Error::RefMoved`] when another writer got there first.
    pub(crate) fn swap(
        &self,
        name: &str,
        expected: Option<ObjectId>,
        new: ObjectId,
        reflog: &str,
        deref: bool,
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
                    // A data ref (not HEAD's branch) gets a reflog even where git would not.
                    force_create_reflog: !deref,
                    message: reflog.into(),
                },
                expected: match expected {
                    Some(id) => PreviousValue::MustExistAndMatch(gix::refs::Target::Object(id)),
                    None => PreviousValue::MustNotExist,
                },
                new: gix::refs::Target::Object(new),
            },
            name: full,
            deref,
        };
        repo.edit_reference(edit).map(|_| ()).map_err(|source| {
            let now = repo.rev_parse_single(name).ok().map(gix::Id::detach);
            if now == expected {
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

    /// Returns the lock files a move of HEAD takes (see [`Self::move_ref`]): `HEAD.lock` and the
    /// loose ref lock of the branch HEAD points to. They may not exist.
    pub fn head_ref_locks(&self) -> Vec<PathBuf> {
        let repo = self.local();
        let mut out = vec![repo.git_dir().join("HEAD.lock")];
        if let Ok(Some(name)) = repo.head_name() {
            let mut path = repo.common_dir().to_owned();
            for part in name.as_bstr().split(|&b| b == b'/') {
                path.push(String::from_utf8_lossy(part).as_ref());
            }
            let mut lock = path.into_os_string();
            lock.push(".lock");
            out.push(PathBuf::from(lock));
        }
        out
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
    Some(tail.iter().fold(String::new(), |mut hex, b| {
        use std::fmt::Write as _;
        let _ = write!(hex, "{b:02x}");
        hex
    }))
}

/// Removes every lock and temporary file gix holds for this process (on an interrupt: see
/// `interrupt`). Not async-signal-safe; called from the signal thread.
pub fn release_locks() {
    gix::tempfile::registry::cleanup_tempfiles();
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A repository with one commit, made by the git CLI in a scrubbed environment.
    fn repo() -> (tempfile::TempDir, Repo) {
        let tmp = tempfile::tempdir().unwrap();
        let root = tmp.path();
        let git = |args: &[&str]| {
            let out = std::process::Command::new("git")
                .current_dir(root)
                .env_clear()
                .env("PATH", std::env::var_os("PATH").unwrap_or_default())
                .env("HOME", root)
                .env("GIT_CONFIG_NOSYSTEM", "1")
                .env("GIT_CONFIG_GLOBAL", root.join("gitconfig"))
                .args(args)
                .output()
                .unwrap();
            assert!(out.status.success(), "git {args:?}: {out:?}");
            String::from_utf8(out.stdout).unwrap()
        };
        git(&["init", "-q", "-b", "main"]);
        git(&["config", "user.name", "Test Committer"]);
        git(&["config", "user.email", "test@example.com"]);
        std::fs::write(root.join("a.txt"), "a\n").unwrap();
        git(&["add", "a.txt"]);
        git(&["commit", "-q", "-m", "one"]);
        let repo = Repo::discover(root).unwrap();
        (tmp, repo)
    }

    fn cat_commit(root: &Path, id: ObjectId) -> Vec<u8> {
        let out = std::process::Command::new("git")
            .current_dir(root)
            .args(["cat-file", "commit", &id.to_string()])
            .output()
            .unwrap();
        assert!(out.status.success());
        out.stdout
    }

    /// Records what it was asked to sign and answers with a fixed two-line armor.
    struct Recording(std::cell::RefCell<Vec<u8>>);

    impl CommitSigner for Recording {
        fn sign_commit(
            &self,
            payload: &[u8],
        ) -> Result<Option<Vec<u8>>, Box<dyn std::error::Error + Send + Sync>> {
            *self.0.borrow_mut() = payload.to_vec();
            Ok(Some(b"-----BEGIN X-----\nabc\n-----END X-----\n".to_vec()))
        }
    }

    struct Failing;

    impl CommitSigner for Failing {
        fn sign_commit(
            &self,
            _: &[u8],
        ) -> Result<Option<Vec<u8>>, Box<dyn std::error::Error + Send + Sync>> {
            Err("the agent is gone".into())
        }
    }

    #[test]
    fn commit_signs_the_payload_git_signs_and_adds_the_header_last() {
        let (tmp, repo) = repo();
        let head = repo.branch_head().unwrap();
        let signer = Recording(Default::default());
        let id = repo
            .commit(head.tree, &[head.commit], "two\n", &signer)
            .unwrap();
        let raw = cat_commit(tmp.path(), id);
        let text = String::from_utf8(raw).unwrap();
        let (header, body) = text.split_once("\n\n").unwrap();
        assert_eq!(body, "two\n");
        let lines: Vec<&str> = header.lines().collect();
        let sig_at = lines.iter().position(|l| l.starts_with("gpgsig ")).unwrap();
        // Last header, continuation lines indented by one space, as git writes it.
        assert_eq!(
            &lines[sig_at..],
            ["gpgsig -----BEGIN X-----", " abc", " -----END X-----"]
        );
        // The payload is the commit without that header: what `git verify-commit` checks.
        let mut unsigned = lines[..sig_at].join("\n");
        unsigned.push_str("\n\ntwo\n");
        assert_eq!(String::from_utf8(signer.0.into_inner()).unwrap(), unsigned);
        assert!(unsigned.contains(&format!("parent {}\n", head.commit)));
        assert!(unsigned.contains("\nauthor Test Committer <test@example.com> "));
    }

    #[test]
    fn commit_without_a_signature_is_plain_and_a_failing_signer_is_an_error() {
        struct Unsigned;
        impl CommitSigner for Unsigned {
            fn sign_commit(
                &self,
                _: &[u8],
            ) -> Result<Option<Vec<u8>>, Box<dyn std::error::Error + Send + Sync>> {
                Ok(None)
            }
        }
        let (tmp, repo) = repo();
        let head = repo.branch_head().unwrap();
        let id = repo
            .commit(head.tree, &[head.commit], "plain\n", &Unsigned)
            .unwrap();
        let text = String::from_utf8(cat_commit(tmp.path(), id)).unwrap();
        assert!(!text.contains("gpgsig"), "{text}");
        let err = repo
            .commit(head.tree, &[head.commit], "never\n", &Failing)
            .unwrap_err();
        assert!(matches!(err, Error::Sign(_)), "{err:?}");
        assert_eq!(err.to_string(), "the agent is gone");
    }

    #[test]
    fn git_signing_options_sign_exactly_the_payload_through_the_configured_program() {
        let (tmp, repo) = repo();
        let head = repo.branch_head().unwrap();
        let mut payload = Vec::new();
        {
            use gix::objs::WriteTo as _;
            repo.new_commit(head.tree, &[head.commit], "signed\n")
                .unwrap()
                .write_to(&mut payload)
                .unwrap();
        }
        // An "ssh-keygen" that checks it got the payload and writes a signature next to it
        // ($7 is the payload file after `-Y sign -n git -f KEY`).
        let expected = tmp.path().join("expected");
        std::fs::write(&expected, &payload).unwrap();
        let script = format!(
            "cmp -s \"$7\" '{}' && printf 'SIG\\n' > \"$7.sig\"",
            expected.display()
        );
        let opts = SigningOptions {
            options: gix::objs::signature::sign::Options {
                format: gix::objs::signature::Format::Ssh,
                program: "sh".into(),
                program_arguments: vec!["-c".into(), script.into(), "sh".into()],
                signing_key: "/nonexistent/key".into(),
                environment: Vec::new(),
            },
            hash: gix::hash::Kind::Sha1,
        };
        assert_eq!(opts.sign(&payload).unwrap(), b"SIG\n");
        // Bytes that are not exactly a commit are refused before any program runs.
        let mut odd = payload.clone();
        odd.insert(0, b'x');
        assert!(opts.sign(&odd).is_err());
        assert!(opts.describe().starts_with("Ssh via sh"));
    }
}
