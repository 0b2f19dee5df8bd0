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
    /// `wanted` accepts, keeping for each blob the newest removal, and only blobs that HEAD's
    /// tree does not hold at any path. Trees are compared entry by entry, descending only into
    /// subtrees whose ids differ, so a commit costs what it changed; no blob is read here.
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
        let walk = repo
            .rev_walk(tips.iter().copied())
            .all()
            .map_err(repo_err("cannot walk the history"))?;
        let mut found: std::collections::HashMap<ObjectId, Removal> =
            std::collections::HashMap::new();
        let mut walked = Walked::default();
        for info in walk {
            let info = info.map_err(|e| Error::Repo {
                what: "cannot walk commits".into(),
                source: e,
            })?;
            walked.commits += 1;
            let commit = repo
                .find_commit(info.id)
                .map_err(repo_err("cannot read commit"))?;
            let decoded = commit.decode().map_err(repo_err("cannot decode commit"))?;
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
            let tree = decoded.tree();
            let parent_tree = repo
                .find_commit(parent)
                .map_err(repo_err("cannot read commit"))?
                .tree_id()
                .map_err(repo_err("cannot read commit"))?
                .detach();
            let mut gone = Vec::new();
            diff_trees(&repo, parent_tree, Some(tree), &mut Vec::new(), &mut gone)?;
            for (raw, blob) in gone {
                if in_head.contains(&blob) || !wanted(&raw) {
                    continue;
                }
                let newer = found.get(&blob).is_none_or(|r| r.time < time);
                if newer {
                    found.insert(
                        blob,
                        Removal {
                            path: super::display_path(&raw),
                            raw,
                            blob,
                            commit: info.id,
                            author: author.clone(),
                            time,
                        },
                    );
                }
            }
        }
        let mut removals: Vec<Removal> = found.into_values().collect();
        removals.sort_by(|a, b| a.raw.cmp(&b.raw).then(a.blob.cmp(&b.blob)));
        walked.removals = removals;
        Ok(walked)
    }
}

/// Records the blobs of `old` (below `prefix`) that `new` does not have at the same path: the
/// files a commit deleted or rewrote. Equal subtrees are skipped without being read; both trees
/// are sorted in git's order, so one merge pass over their entries (borrowed, not copied) finds
/// what differs.
fn diff_trees(
    repo: &gix::Repository,
    old: ObjectId,
    new: Option<ObjectId>,
    prefix: &mut Vec<u8>,
    out: &mut Vec<(Vec<u8>, ObjectId)>,
) -> Result<(), Error> {
    if Some(old) == new {
        return Ok(());
    }
    let old_tree = repo.find_tree(old).map_err(repo_err("cannot read tree"))?;
    let old_ref = old_tree.decode().map_err(repo_err("cannot decode tree"))?;
    let new_tree = new
        .map(|id| repo.find_tree(id).map_err(repo_err("cannot read tree")))
        .transpose()?;
    let new_ref = new_tree
        .as_ref()
        .map(|t| t.decode().map_err(repo_err("cannot decode tree")))
        .transpose()?;
    let after: &[gix::objs::tree::EntryRef<'_>] = new_ref.as_ref().map_or(&[], |t| &t.entries);
    let mut j = 0;
    for e in &old_ref.entries {
        while after
            .get(j)
            .is_some_and(|n| n.cmp(e) == std::cmp::Ordering::Less)
        {
            j += 1;
        }
        // Same name and kind (`cmp`, git's order); `==` would also compare the ids.
        let there = after
            .get(j)
            .filter(|n| (*n).cmp(e) == std::cmp::Ordering::Equal);
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
            diff_trees(repo, e.oid.to_owned(), sub, prefix, out)?;
        } else if e.mode.is_blob() {
            out.push((prefix.clone(), e.oid.to_owned()));
        }
        prefix.truncate(len);
    }
    Ok(())
}
