//! Reading history: a commit's tree, parents and message ([`Repo::commit_info`]), the files a
//! commit deleted ([`Repo::deleted_files`], for `restore`), and the range a push sends: the
//! remote-tracking tips to hide ([`Repo::remote_tips`]), the new commits ([`Repo::new_commits`])
//! and the paths they changed ([`Repo::changed_paths`], for the pre-push gate). Read-only.

use super::{EntryKind, Error, ObjectId, Repo, TreeFile, bad_revision, find_rev, repo_err};

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

impl Repo {
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

/// A blob that a commit removed from a path or replaced there (`git credman history`).
#[derive(Clone, Debug)]
pub struct Removal {
    /// The path it had, as git stores it.
    pub raw: Vec<u8>,
    /// The path for display.
    pub path: String,
    /// The blob removed.
    pub blob: ObjectId,
    /// The commit that removed (or replaced) it.
    pub commit: ObjectId,
    /// That commit's author, `Name <email>`.
    pub author: String,
    /// That commit's author time (seconds since the epoch).
    pub time: i64,
}

/// What a history walk found.
#[derive(Debug, Default)]
pub struct Walked {
    /// One removal per blob (the newest one), for blobs no longer in HEAD's tree.
    pub removals: Vec<Removal>,
    /// Commits walked.
    pub commits: usize,
}

impl Repo {
    /// Returns the tips a history walk starts from: HEAD's commit, or with `all` every
    /// reference that peels to a commit (branches, tags, remote-tracking branches).
    pub fn history_tips(&self, all: bool) -> Result<Vec<ObjectId>, Error> {
        let repo = self.local();
        let mut tips = Vec::new();
        if let Ok(id) = repo.head_id() {
            tips.push(id.detach());
        }
        if all {
            let platform = repo
                .references()
                .map_err(repo_err("cannot list references"))?;
            let iter = platform.all().map_err(repo_err("cannot list references"))?;
            for r in iter.peeled().map_err(repo_err("cannot list references"))? {
                let r = r.map_err(repo_err("cannot read a reference"))?;
                if let Some(id) = r.try_id().and_then(|id| self.peel_to_commit(id.detach())) {
                    tips.push(id);
                }
            }
        }
        tips.sort_unstable();
        tips.dedup();
        Ok(tips)
    }

    /// Walks every commit reachable from `tips` (authored at or after `since`, when given) and
    /// returns the blobs each one removed or replaced relative to its first parent, at paths
    /// `wanted` accepts, keeping for each blob the newest removal (the first walked, on equal
    /// times), and only blobs that HEAD's tree does not hold at any path. No blob is read here.
    ///
    /// The commits are listed first (the walk reads only commits), then diffed in contiguous
    /// runs, one per core: a commit costs what it changed plus one pass over each directory it
    /// changed, because trees are compared entry by entry straight from their raw bytes,
    /// descending only into subtrees whose ids differ, and the trees read last are kept, so the
    /// parent's `auths/` that the previous commit (its child) just read is not read again.
    pub fn removed_blobs(
        &self,
        tips: &[ObjectId],
        since: Option<i64>,
        wanted: &dyn Fn(&[u8]) -> bool,
    ) -> Result<Walked, Error> {
        let repo = self.local();
        let in_head: std::collections::HashSet<ObjectId> = match repo.head_id() {
            Ok(_) => {
                let head = self.head_tree()?;
                self.list_tree(head.tree, None)?
                    .into_iter()
                    .map(|e| e.id)
                    .collect()
            }
            Err(_) => std::collections::HashSet::new(),
        };
        let (commits, jobs) = Self::history_jobs(&repo, tips, since)?;
        let threads = std::thread::available_parallelism()
            .map_or(1, std::num::NonZero::get)
            .clamp(1, 8);
        // Below a few hundred commits a thread costs more than it saves.
        let chunk = jobs.len().div_ceil(threads).max(256);
        let gone: Vec<Result<Vec<Gone>, Error>> = std::thread::scope(|scope| {
            let handles: Vec<_> = jobs
                .chunks(chunk)
                .map(|run| {
                    scope.spawn(move || {
                        let mut trees = Trees::new(self.local());
                        let mut out = Vec::new();
                        let mut prefix = Vec::new();
                        for (i, job) in run.iter().enumerate() {
                            let start = out.len();
                            trees.diff(job.parent_tree, Some(job.tree), &mut prefix, &mut out)?;
                            for g in out.get_mut(start..).unwrap_or_default() {
                                g.job = i;
                            }
                        }
                        Ok(out)
                    })
                })
                .collect();
            handles
                .into_iter()
                .map(|h| h.join().unwrap_or_else(|p| std::panic::resume_unwind(p)))
                .collect()
        });
        let mut found: std::collections::HashMap<ObjectId, Removal> =
            std::collections::HashMap::new();
        for (run, gone) in jobs.chunks(chunk).zip(gone) {
            for g in gone? {
                let Some(job) = run.get(g.job) else {
                    continue;
                };
                if in_head.contains(&g.blob) || !wanted(&g.raw) {
                    continue;
                }
                let newer = found.get(&g.blob).is_none_or(|r| r.time < job.time);
                if newer {
                    found.insert(
                        g.blob,
                        Removal {
                            path: super::display_path(&g.raw),
                            raw: g.raw,
                            blob: g.blob,
                            commit: job.commit,
                            author: job.author.clone(),
                            time: job.time,
                        },
                    );
                }
            }
        }
        let mut removals: Vec<Removal> = found.into_values().collect();
        removals.sort_by(|a, b| a.raw.cmp(&b.raw).then(a.blob.cmp(&b.blob)));
        Ok(Walked { removals, commits })
    }

    /// Lists, in walk order, the commits reachable from `tips` that have a parent and (with
    /// `since`) were authored at or after it: what `removed_blobs` diffs. Returns them with the
    /// number of commits walked.
    fn history_jobs(
        repo: &gix::Repository,
        tips: &[ObjectId],
        since: Option<i64>,
    ) -> Result<(usize, Vec<Job>), Error> {
        let walk = repo
            .rev_walk(tips.iter().copied())
            .all()
            .map_err(repo_err("cannot walk the history"))?;
        let mut trees: std::collections::HashMap<ObjectId, ObjectId> =
            std::collections::HashMap::new();
        // (commit, tree, first parent, author, time) before the parents' trees are known.
        let mut listed = Vec::new();
        let mut commits = 0;
        for info in walk {
            let info = info.map_err(|e| Error::Repo {
                what: "cannot walk commits".into(),
                source: e,
            })?;
            commits += 1;
            let commit = repo
                .find_commit(info.id)
                .map_err(repo_err("cannot read commit"))?;
            let decoded = commit.decode().map_err(repo_err("cannot decode commit"))?;
            let tree = decoded.tree();
            trees.insert(info.id, tree);
            let Some(parent) = decoded.parents().next() else {
                continue;
            };
            let (author, time) = match decoded.author() {
                Ok(a) => (format!("{} <{}>", a.name, a.email), a.seconds()),
                Err(_) => (String::new(), 0),
            };
            if since.is_some_and(|s| time < s) {
                continue;
            }
            listed.push((info.id, tree, parent, author, time));
        }
        let mut jobs = Vec::with_capacity(listed.len());
        for (commit, tree, parent, author, time) in listed {
            let parent_tree = match trees.get(&parent) {
                Some(t) => *t,
                // Not walked (a shallow clone's boundary, say): read it.
                None => repo
                    .find_commit(parent)
                    .map_err(repo_err("cannot read commit"))?
                    .tree_id()
                    .map_err(repo_err("cannot read commit"))?
                    .detach(),
            };
            jobs.push(Job {
                commit,
                tree,
                parent_tree,
                author,
                time,
            });
        }
        Ok((commits, jobs))
    }
}

/// A commit to diff against its first parent.
struct Job {
    commit: ObjectId,
    tree: ObjectId,
    parent_tree: ObjectId,
    author: String,
    time: i64,
}

/// A blob a commit removed or replaced: its path and the commit's index in its run.
struct Gone {
    raw: Vec<u8>,
    blob: ObjectId,
    job: usize,
}

/// The raw trees read last, by id: a commit's parent's trees are the ones its child (walked
/// just before) read as its own, so consecutive commits read each large directory once.
struct Trees {
    repo: gix::Repository,
    recent: std::collections::VecDeque<(ObjectId, std::rc::Rc<Vec<u8>>)>,
    buf: Vec<u8>,
}

impl Trees {
    /// How many trees are kept: the changed directories of two commits, with room to spare.
    const KEEP: usize = 16;

    fn new(mut repo: gix::Repository) -> Self {
        // gix sets no delta-base cache without its `max-performance` feature: then every tree
        // is rebuilt from the full object at the end of its delta chain (up to 50 deltas, each
        // applied to a copy of a directory of thousands of entries). With the cache, a tree
        // whose delta base was read just before (its child's, walking back) costs one delta.
        repo.objects.set_pack_cache(|| {
            Box::new(gix::odb::pack::cache::lru::StaticLinkedList::<64>::default())
        });
        // `recent` keeps the trees that are read again; a copy of each in gix's object cache
        // would only cost a copy.
        repo.objects.unset_object_cache();
        Self {
            repo,
            recent: std::collections::VecDeque::with_capacity(Self::KEEP),
            buf: Vec::new(),
        }
    }

    /// The raw bytes of tree `id`.
    fn get(&mut self, id: ObjectId) -> Result<std::rc::Rc<Vec<u8>>, Error> {
        if let Some((_, data)) = self.recent.iter().find(|(k, _)| *k == id) {
            return Ok(std::rc::Rc::clone(data));
        }
        use gix::prelude::FindExt;
        // Empty, in case the store answers (the empty tree, say) without writing to it.
        self.buf.clear();
        self.repo
            .objects
            .find_tree_iter(&id, &mut self.buf)
            .map_err(repo_err("cannot read tree"))?;
        // The buffer itself is kept (no copy); the next read reuses the one evicted.
        let data = std::rc::Rc::new(std::mem::take(&mut self.buf));
        if self.recent.len() == Self::KEEP
            && let Some((_, old)) = self.recent.pop_front()
            && let Ok(buf) = std::rc::Rc::try_unwrap(old)
        {
            self.buf = buf;
        }
        self.recent.push_back((id, std::rc::Rc::clone(&data)));
        Ok(data)
    }

    /// Records the blobs of `old` (below `prefix`) that `new` does not have at the same path:
    /// the files a commit deleted or rewrote. Equal subtrees are skipped without being read;
    /// both trees are sorted in git's order, so one merge pass over their raw entries finds what
    /// differs, nothing decoded into a list.
    fn diff(
        &mut self,
        old: ObjectId,
        new: Option<ObjectId>,
        prefix: &mut Vec<u8>,
        out: &mut Vec<Gone>,
    ) -> Result<(), Error> {
        use std::cmp::Ordering;
        if Some(old) == new {
            return Ok(());
        }
        let bad = || repo_err("cannot decode tree");
        let old_data = self.get(old)?;
        let new_data = new.map(|id| self.get(id)).transpose()?;
        let kind = self.repo.object_hash();
        let mut after = gix::objs::TreeRefIter::from_bytes(
            new_data.as_ref().map_or(&[][..], |d| d.as_slice()),
            kind,
        );
        let mut next = after.next().transpose().map_err(bad())?;
        for e in gix::objs::TreeRefIter::from_bytes(&old_data, kind) {
            let e = e.map_err(bad())?;
            while next.is_some_and(|n| n.cmp(&e) == Ordering::Less) {
                next = after.next().transpose().map_err(bad())?;
            }
            // Same name and kind (`cmp`, git's order); `==` would also compare the ids.
            let there = next.filter(|n| n.cmp(&e) == Ordering::Equal);
            if there.is_some_and(|n| n.oid == e.oid) {
                continue;
            }
            let len = prefix.len();
            if !prefix.is_empty() {
                prefix.push(b'/');
            }
            prefix.extend_from_slice(e.filename);
            if e.mode.is_tree() {
                let sub = there.map(|n| n.oid.to_owned());
                self.diff(e.oid.to_owned(), sub, prefix, out)?;
            } else if e.mode.is_blob() {
                out.push(Gone {
                    raw: prefix.clone(),
                    blob: e.oid.to_owned(),
                    job: 0,
                });
            }
            prefix.truncate(len);
        }
        Ok(())
    }
}
