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
