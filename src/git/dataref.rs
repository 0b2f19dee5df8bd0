//! Data refs: a ref (`refs/credman/verdicts`) whose commits each hold one flat tree of blobs,
//! written as plain git objects so that the ref is pushed, fetched and inspected like any other
//! (`git log`, `git cat-file`, `git fsck`). This file reads a tip's blobs, writes a tree of
//! blobs and an unsigned commit on given parents, tells whether one commit is an ancestor of
//! another, and moves the ref with compare-and-swap. What the blobs mean is the caller's
//! (`crate::strikes`). Objects are written before the ref moves: a lost race leaves only
//! unreferenced objects. Called by `strikes::store`.

use gix::bstr::ByteSlice as _;

use super::{Error, ObjectId, Repo, bad_revision, repo_err};

/// The identity data commits are made with when git has none configured (a CI runner).
const FALLBACK_NAME: &str = "git-credman";
const FALLBACK_EMAIL: &str = "git-credman@localhost";

impl Repo {
    /// Returns the commit `name` points to (a full ref name), if the ref exists.
    pub fn ref_tip(&self, name: &str) -> Result<Option<ObjectId>, Error> {
        let repo = self.local();
        let found = repo
            .try_find_reference(name)
            .map_err(repo_err(format!("cannot read {name}")))?;
        match found {
            None => Ok(None),
            Some(r) => {
                let id = r
                    .into_fully_peeled_id()
                    .map_err(repo_err(format!("cannot read {name}")))?
                    .detach();
                Ok(Some(id))
            }
        }
    }

    /// Resolves a revision (`FETCH_HEAD`, `origin/credman/verdicts`, an id) to a commit.
    pub fn resolve_commit(&self, rev: &str) -> Result<ObjectId, Error> {
        let repo = self.local();
        let bad = bad_revision(rev);
        let object = repo
            .rev_parse_single(rev)
            .map_err(&bad)?
            .object()
            .map_err(&bad)?;
        object
            .peel_to_kind(gix::object::Kind::Commit)
            .map(|c| c.id)
            .map_err(|_| Error::BadRevision {
                rev: crate::report::escape(rev).into_owned(),
                reason: "it names no commit",
            })
    }

    /// Returns the blobs at the root of `commit`'s tree, by name (sub-trees are skipped).
    pub fn root_blobs(&self, commit: ObjectId) -> Result<Vec<(String, Vec<u8>)>, Error> {
        let repo = self.local();
        let what = || format!("cannot read commit {}", super::short_id(&commit));
        let tree = repo
            .find_commit(commit)
            .map_err(repo_err(what()))?
            .tree()
            .map_err(repo_err(what()))?;
        let mut out = Vec::new();
        for entry in tree.iter() {
            let entry = entry.map_err(repo_err(what()))?;
            if !entry.mode().is_blob() {
                continue;
            }
            let name = entry.filename().to_str_lossy().into_owned();
            let data = repo
                .find_blob(entry.oid())
                .map_err(repo_err(what()))?
                .data
                .clone();
            out.push((name, data));
        }
        Ok(out)
    }

    /// Writes the blobs and one tree holding them (names must be plain file names); returns the
    /// tree. The blobs are compressed and written on all cores.
    pub fn write_root_blobs(&self, files: &[(String, Vec<u8>)]) -> Result<ObjectId, Error> {
        if let Some((name, _)) = files
            .iter()
            .find(|(n, _)| n.is_empty() || n.contains('/') || n == "." || n == "..")
        {
            return Err(Error::Refused(format!(
                "invalid file name in a data tree: {}",
                crate::report::escape(name)
            )));
        }
        let jobs = std::thread::available_parallelism()
            .map_or(1, std::num::NonZero::get)
            .clamp(1, files.len().max(1));
        let chunk = files.len().div_ceil(jobs).max(1);
        let written: Vec<Result<Vec<ObjectId>, Error>> = std::thread::scope(|scope| {
            let handles: Vec<_> = files
                .chunks(chunk)
                .map(|part| {
                    scope.spawn(move || {
                        let repo = self.local();
                        part.iter()
                            .map(|(_, data)| {
                                repo.write_blob(data)
                                    .map(gix::Id::detach)
                                    .map_err(repo_err("cannot write a blob"))
                            })
                            .collect()
                    })
                })
                .collect();
            handles
                .into_iter()
                .map(|h| {
                    h.join()
                        .unwrap_or_else(|_| Err(Error::Refused("a writer thread failed".into())))
                })
                .collect()
        });
        let mut oids = Vec::with_capacity(files.len());
        for part in written {
            oids.extend(part?);
        }
        let mut entries: Vec<gix::objs::tree::Entry> = files
            .iter()
            .zip(oids)
            .map(|((name, _), oid)| gix::objs::tree::Entry {
                mode: gix::objs::tree::EntryKind::Blob.into(),
                filename: name.as_str().into(),
                oid,
            })
            .collect();
        entries.sort();
        let repo = self.local();
        let tree = gix::objs::Tree { entries };
        Ok(repo
            .write_object(&tree)
            .map_err(repo_err("cannot write a tree"))?
            .detach())
    }

    /// Writes an unsigned commit of `tree` on `parents`, by the configured committer (or
    /// `git-credman <git-credman@localhost>` when git has none); moves no ref.
    pub fn data_commit(
        &self,
        tree: ObjectId,
        parents: &[ObjectId],
        message: &str,
    ) -> Result<ObjectId, Error> {
        let repo = self.local();
        let now = gix::date::Time::now_local_or_utc();
        let fallback = || gix::actor::Signature {
            name: FALLBACK_NAME.into(),
            email: FALLBACK_EMAIL.into(),
            time: now,
        };
        let own = |sig: Option<Result<gix::actor::SignatureRef<'_>, _>>| {
            sig.and_then(Result::ok)
                .and_then(|s| s.to_owned().ok())
                .unwrap_or_else(fallback)
        };
        let commit = gix::objs::Commit {
            tree,
            parents: parents.iter().copied().collect(),
            author: own(repo.author()),
            committer: own(repo.committer()),
            encoding: None,
            message: message.into(),
            extra_headers: Vec::new(),
        };
        Ok(repo
            .write_object(&commit)
            .map_err(repo_err("cannot write the commit"))?
            .detach())
    }

    /// Whether `ancestor` is `descendant` or one of its ancestors.
    pub fn is_ancestor(&self, ancestor: ObjectId, descendant: ObjectId) -> Result<bool, Error> {
        if ancestor == descendant {
            return Ok(true);
        }
        let repo = self.local();
        let base = repo
            .merge_base(ancestor, descendant)
            .map_err(repo_err("cannot compare the histories"))?;
        Ok(base.map(gix::Id::detach) == Some(ancestor))
    }

    /// Points `name` at `new` if it still points at `expected` (`None`: if it does not exist
    /// yet), with a reflog entry; [`Error::RefMoved`] when another writer got there first.
    pub fn swap_ref(
        &self,
        name: &str,
        expected: Option<ObjectId>,
        new: ObjectId,
        reflog: &str,
    ) -> Result<(), Error> {
        self.swap(name, expected, new, reflog, false)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn repo() -> (tempfile::TempDir, Repo) {
        let dir = tempfile::tempdir().unwrap();
        let ok = std::process::Command::new("git")
            .args(["init", "-q"])
            .arg(dir.path())
            .status()
            .unwrap()
            .success();
        assert!(ok);
        let r = Repo::discover(dir.path()).unwrap();
        (dir, r)
    }

    #[test]
    fn blobs_round_trip_and_the_ref_moves_only_from_what_was_expected() {
        let (_d, r) = repo();
        let name = "refs/credman/test";
        assert_eq!(r.ref_tip(name).unwrap(), None);
        let files = vec![
            ("b".to_owned(), b"two\n".to_vec()),
            ("a".to_owned(), b"one\n".to_vec()),
        ];
        let tree = r.write_root_blobs(&files).unwrap();
        let c1 = r.data_commit(tree, &[], "first\n").unwrap();
        r.swap_ref(name, None, c1, "record").unwrap();
        let rival = r.data_commit(tree, &[], "rival\n").unwrap();
        assert!(matches!(
            r.swap_ref(name, None, rival, "record"),
            Err(Error::RefMoved { .. })
        ));
        assert_eq!(r.ref_tip(name).unwrap(), Some(c1));
        let mut got = r.root_blobs(c1).unwrap();
        got.sort();
        assert_eq!(got[0], ("a".to_owned(), b"one\n".to_vec()));
        let c2 = r.data_commit(tree, &[c1], "second\n").unwrap();
        let c3 = r.data_commit(tree, &[c1], "other\n").unwrap();
        r.swap_ref(name, Some(c1), c2, "record").unwrap();
        assert!(matches!(
            r.swap_ref(name, Some(c1), c3, "record"),
            Err(Error::RefMoved { .. })
        ));
        assert!(r.is_ancestor(c1, c2).unwrap());
        assert!(!r.is_ancestor(c2, c1).unwrap());
        assert!(!r.is_ancestor(c3, c2).unwrap());
        assert_eq!(r.resolve_commit(name).unwrap(), c2);
        assert!(r.write_root_blobs(&[("a/b".into(), vec![])]).is_err());
    }
}
