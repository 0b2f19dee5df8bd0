//! Where credentials come from, and which files of it are credentials.
//!
//! A [`SourceSpec`] (HEAD, the index, any tree-ish, a plain directory, or a running CPA) becomes
//! a [`Listing`]: the candidate files plus what is needed to read them ([`Origin`]). Selection rules (issue #2 §3): positional
//! pathspecs limit the scan; without them the auth path (`auths/` by default) is used when the
//! tree has it, and every `*.json` below it counts; otherwise every `*.json` of the tree is read
//! and kept only if it looks like a credential. CPA's transient `.oauth-*.oauth` files are skipped.
//! Reads through `git` for repositories and `std::fs` for directories; never follows symlinks.
//! The other sources live beside it: [`remote`] (a cloned `--repo-url`) and [`server`] (a running
//! CPA's Management API).

pub mod remote;
pub mod server;
pub mod shard;

use std::path::{Component, Path, PathBuf};
use std::sync::Arc;

use serde::Serialize;

use crate::git::{self, EntryKind, ObjectId, Repo, WorktreeChecker};

/// What to scan.
#[derive(Debug)]
pub enum SourceSpec {
    /// The files tracked at HEAD, read from the object database.
    Head,
    /// The files in the index (staged content).
    Index,
    /// Any tree-ish.
    Rev(String),
    /// A plain directory, recursively; no git needed.
    Dir(PathBuf),
    /// A running CPA (`--server URL`).
    Server(server::ServerSpec),
}

/// Errors of listing a source.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// A source asked of the wrong lister (a bug, reported instead of a panic).
    #[error("invariant: {0}")]
    Invariant(&'static str),
    /// A repository problem.
    #[error(transparent)]
    Git(#[from] git::Error),
    /// The directory cannot be read.
    #[error("cannot read directory {}", path.display())]
    Dir {
        /// The directory.
        path: PathBuf,
        /// The I/O error.
        #[source]
        source: std::io::Error,
    },
    /// A pathspec is not a valid glob.
    #[error("invalid pathspec '{spec}'")]
    Pathspec {
        /// The pathspec as given.
        spec: String,
        /// The glob error.
        #[source]
        source: globset::Error,
    },
    /// A pathspec points outside the repository or directory.
    #[error("pathspec '{0}' is outside the scanned tree")]
    PathspecOutside(String),
    /// A pathspec uses magic git-credman does not support.
    #[error(
        "pathspec '{0}' uses magic git-credman does not support; supported: :(glob), :(literal), :(top) and :/"
    )]
    PathspecMagic(String),
}

/// The `source` object of the report.
#[derive(Clone, Debug, Serialize)]
pub struct SourceInfo {
    /// `head`, `index`, `rev` or `dir` (later: `server`, `remote`).
    pub kind: &'static str,
    /// The repository's working tree (or git dir when bare).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub repo: Option<String>,
    /// The revision as given (`rev` kind) or the branch HEAD points to.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub rev: Option<String>,
    /// The commit scanned, when the tree came from a commit.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub commit: Option<String>,
    /// The tree scanned.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub tree: Option<String>,
    /// The directory scanned (`dir` kind).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub dir: Option<String>,
    /// The server (`server` kind), without any key.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub url: Option<String>,
    /// The auth path used, when the tree had it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub auth_path: Option<String>,
    /// The pathspecs that limited the scan.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub pathspecs: Vec<String>,
    /// `K/N` when the scan covered one shard (`scan --shard`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub shard: Option<String>,
}

impl SourceInfo {
    /// A source of `kind` with nothing else set; listers fill in what they know.
    pub fn new(kind: &'static str) -> Self {
        Self {
            kind,
            repo: None,
            rev: None,
            commit: None,
            tree: None,
            dir: None,
            url: None,
            auth_path: None,
            pathspecs: Vec::new(),
            shard: None,
        }
    }
}

/// A file that may be a credential.
#[derive(Clone, Debug)]
pub struct Candidate {
    /// Path relative to the repository root or scanned directory, `/`-separated, for display
    /// (names that are not UTF-8 are escaped: [`git::display_path`]).
    pub path: String,
    /// The path as bytes, as git (or the file system) has it: what prune operates on.
    pub raw: Vec<u8>,
    /// The blob id (repositories only).
    pub blob: Option<ObjectId>,
    /// File or symlink.
    pub kind: EntryKind,
    /// Whether the file was selected as a credential by location (auth path, pathspec, dir):
    /// then a file that is not a credential is reported as `invalid_file`; otherwise it is
    /// silently ignored.
    pub explicit: bool,
}

/// How candidates are read.
pub enum Origin {
    /// From a repository's object database.
    Repo {
        /// The repository.
        repo: Arc<Repo>,
        /// Compares scanned blobs with the working tree (HEAD and index scans only).
        worktree: Option<WorktreeChecker>,
    },
    /// From a directory.
    Dir {
        /// The directory root.
        root: PathBuf,
    },
    /// From a running CPA's Management API.
    Server(Box<server::ServerOrigin>),
}

/// A listed source.
pub struct Listing {
    /// The report's `source` object.
    pub info: SourceInfo,
    /// The candidate files, sorted by path.
    pub candidates: Vec<Candidate>,
    /// How to read them.
    pub origin: Origin,
}

/// A git-style pathspec: a path prefix (a file or a directory) or a glob (`*`, `?`, `[…]`,
/// where `*` also matches `/` as in git).
#[derive(Clone, Debug)]
pub struct Pathspec {
    raw: String,
    path: String,
    glob: Option<globset::GlobMatcher>,
}

impl Pathspec {
    /// Parses a pathspec given relative to `cwd_prefix` (the current directory relative to the
    /// scanned root, `/`-separated, empty at the root).
    ///
    /// Git's long-form magic `:(glob)`, `:(literal)`, `:(top)` (and combinations) and the short
    /// form `:/` (the root) are understood, as git reads them; any other magic is an error rather
    /// than a literal file name that silently matches nothing.
    pub fn new(raw: &str, cwd_prefix: &str) -> Result<Self, Error> {
        let (mut literal, mut top, mut glob_magic, mut rest) = (false, false, false, raw);
        if let Some(after) = raw.strip_prefix(":(") {
            let (words, tail) = after
                .split_once(')')
                .ok_or_else(|| Error::PathspecMagic(raw.to_owned()))?;
            for word in words.split(',').map(str::trim) {
                match word {
                    "glob" => glob_magic = true,
                    "literal" => literal = true,
                    "top" => top = true,
                    _ => return Err(Error::PathspecMagic(raw.to_owned())),
                }
            }
            rest = tail;
        } else if let Some(tail) = raw.strip_prefix(":/") {
            top = true;
            rest = tail;
        } else if raw.starts_with(':') && raw.len() > 1 {
            return Err(Error::PathspecMagic(raw.to_owned()));
        }
        let joined = if cwd_prefix.is_empty() || top {
            rest.to_owned()
        } else {
            format!("{cwd_prefix}/{rest}")
        };
        let path = normalize(&joined).ok_or_else(|| Error::PathspecOutside(raw.to_owned()))?;
        let glob = if !literal && path.contains(['*', '?', '[']) {
            // Without magic git's `*` also matches `/`; with `:(glob)` it does not, and `**`
            // spans directories.
            let g = globset::GlobBuilder::new(&path)
                .literal_separator(glob_magic)
                .build()
                .map_err(|source| Error::Pathspec {
                    spec: raw.to_owned(),
                    source,
                })?;
            Some(g.compile_matcher())
        } else {
            None
        };
        Ok(Self {
            raw: raw.to_owned(),
            path,
            glob,
        })
    }

    /// Returns the pathspec as the user gave it.
    pub fn as_given(&self) -> &str {
        &self.raw
    }

    /// Returns whether `path` is selected, and whether it was named exactly.
    pub fn matches(&self, path: &str) -> Option<bool> {
        if let Some(glob) = &self.glob {
            return glob.is_match(path).then_some(false);
        }
        if self.path.is_empty() {
            return Some(false);
        }
        if path == self.path {
            return Some(true);
        }
        (path.len() > self.path.len()
            && path.starts_with(&self.path)
            && path.as_bytes()[self.path.len()] == b'/')
            .then_some(false)
    }
}

/// Normalises `a/./b/../c` to `a/c`; `None` if it climbs above the root.
fn normalize(path: &str) -> Option<String> {
    let mut parts: Vec<&str> = Vec::new();
    for comp in Path::new(path).components() {
        match comp {
            Component::Normal(p) => parts.push(p.to_str()?),
            Component::CurDir => {}
            Component::ParentDir => {
                parts.pop()?;
            }
            Component::RootDir | Component::Prefix(_) => return None,
        }
    }
    Some(parts.join("/"))
}

/// Returns whether a file name is a JSON file (case-insensitive, as CPA checks it).
fn is_json(path: &str) -> bool {
    let name = path.rsplit('/').next().unwrap_or(path);
    name.len() > 5 && name.to_ascii_lowercase().ends_with(".json")
}

/// Returns whether a file name is one of CPA's transient OAuth callback files.
// CPA writes exactly `.oauth-<provider>-<state>.oauth`; another case is not its file.
#[allow(clippy::case_sensitive_file_extension_comparisons)]
fn is_transient_oauth(path: &str) -> bool {
    let name = path.rsplit('/').next().unwrap_or(path);
    name.starts_with(".oauth-") && name.ends_with(".oauth")
}

/// What selects the files.
#[derive(Clone, Debug)]
pub struct Selection {
    /// The auth path (`credman.path`, default `auths`).
    pub auth_path: String,
    /// Positional pathspecs; empty means "use the auth path or detect".
    pub pathspecs: Vec<Pathspec>,
}

/// A file before selection.
struct Entry {
    path: String,
    raw: Vec<u8>,
    blob: Option<ObjectId>,
    kind: EntryKind,
}

/// Applies pathspecs to entries; every match is explicit.
fn by_pathspecs(entries: Vec<Entry>, specs: &[Pathspec]) -> Vec<Candidate> {
    entries
        .into_iter()
        .filter(|e| !is_transient_oauth(&e.path))
        .filter_map(|e| {
            let exact = specs.iter().filter_map(|s| s.matches(&e.path)).max()?;
            let keep = exact || is_json(&e.path);
            keep.then_some(Candidate {
                path: e.path,
                raw: e.raw,
                blob: e.blob,
                kind: e.kind,
                explicit: true,
            })
        })
        .collect()
}

fn all_json(entries: Vec<Entry>, explicit: bool) -> Vec<Candidate> {
    entries
        .into_iter()
        .filter(|e| is_json(&e.path) && !is_transient_oauth(&e.path))
        .map(|e| Candidate {
            path: e.path,
            raw: e.raw,
            blob: e.blob,
            kind: e.kind,
            explicit,
        })
        .collect()
}

fn under(path: &str, prefix: &str) -> bool {
    path.len() > prefix.len() && path.starts_with(prefix) && path.as_bytes()[prefix.len()] == b'/'
}

/// Selects candidates from a complete list of entries; returns them and the auth path if used.
fn select(entries: Vec<Entry>, sel: &Selection) -> (Vec<Candidate>, Option<String>) {
    if !sel.pathspecs.is_empty() {
        return (by_pathspecs(entries, &sel.pathspecs), None);
    }
    let auth = sel.auth_path.trim_matches('/');
    if !auth.is_empty() && entries.iter().any(|e| under(&e.path, auth)) {
        let inside = entries
            .into_iter()
            .filter(|e| under(&e.path, auth))
            .collect();
        return (all_json(inside, true), Some(auth.to_owned()));
    }
    (all_json(entries, false), None)
}

fn to_entries(list: Vec<git::TreeEntry>) -> Vec<Entry> {
    list.into_iter()
        .map(|e| Entry {
            path: e.path,
            raw: e.raw,
            blob: Some(e.id),
            kind: e.kind,
        })
        .collect()
}

/// Lists a repository source (a `Dir` spec is listed as a plain directory).
pub fn list_repo(repo: Arc<Repo>, spec: &SourceSpec, sel: &Selection) -> Result<Listing, Error> {
    let workdir = repo.workdir();
    let repo_path = workdir.clone().unwrap_or_else(|| repo.git_dir());
    let mut info = SourceInfo {
        repo: Some(repo_path.display().to_string()),
        pathspecs: sel.pathspecs.iter().map(|p| p.raw.clone()).collect(),
        ..SourceInfo::new("head")
    };
    let (candidates, auth_path) = match spec {
        SourceSpec::Head | SourceSpec::Rev(_) => {
            let resolved = match spec {
                SourceSpec::Rev(rev) => {
                    info.kind = "rev";
                    info.rev = Some(rev.clone());
                    repo.resolve_tree(rev)?
                }
                _ => {
                    info.rev = Some("HEAD".to_owned());
                    repo.head_tree()?
                }
            };
            info.commit = resolved.commit.map(|c| c.to_string());
            info.tree = Some(resolved.tree.to_string());
            let auth = sel.auth_path.trim_matches('/');
            if sel.pathspecs.is_empty() && !auth.is_empty() {
                // Traverse only the auth subtree when it exists: cheap on big repositories.
                let inside = repo.list_tree(resolved.tree, Some(auth))?;
                if inside.is_empty() {
                    select(to_entries(repo.list_tree(resolved.tree, None)?), sel)
                } else {
                    (all_json(to_entries(inside), true), Some(auth.to_owned()))
                }
            } else {
                select(to_entries(repo.list_tree(resolved.tree, None)?), sel)
            }
        }
        SourceSpec::Index => {
            info.kind = "index";
            select(to_entries(repo.list_index()?), sel)
        }
        SourceSpec::Dir(dir) => return list_dir(dir, &sel.pathspecs),
        SourceSpec::Server(_) => {
            return Err(Error::Invariant("a server is not listed as a repository"));
        }
    };
    info.auth_path = auth_path;
    let worktree = match spec {
        SourceSpec::Head | SourceSpec::Index => repo.worktree_checker()?,
        _ => None,
    };
    Ok(Listing {
        info,
        candidates,
        origin: Origin::Repo { repo, worktree },
    })
}

/// Lists the credential files of `tree` (selected as for a scan) whose paths are in `only`:
/// what the pre-push gate checks at a pushed tip.
pub fn list_tree_paths(
    repo: Arc<Repo>,
    tree: ObjectId,
    commit: ObjectId,
    label: &str,
    only: &std::collections::BTreeSet<String>,
    sel: &Selection,
) -> Result<Listing, Error> {
    let (mut candidates, auth_path) = select(to_entries(repo.list_tree(tree, None)?), sel);
    candidates.retain(|c| only.contains(&c.path));
    let info = SourceInfo {
        repo: repo.workdir().map(|w| w.display().to_string()),
        rev: Some(label.to_owned()),
        commit: Some(commit.to_string()),
        tree: Some(tree.to_string()),
        auth_path,
        ..SourceInfo::new("push")
    };
    Ok(Listing {
        info,
        candidates,
        origin: Origin::Repo {
            repo,
            worktree: None,
        },
    })
}

/// Lists a plain directory recursively. Symlinks are listed, never followed; `.git` is skipped.
pub fn list_dir(root: &Path, pathspecs: &[Pathspec]) -> Result<Listing, Error> {
    let meta = std::fs::metadata(root).map_err(|source| Error::Dir {
        path: root.to_owned(),
        source,
    })?;
    if !meta.is_dir() {
        return Err(Error::Dir {
            path: root.to_owned(),
            source: std::io::Error::new(std::io::ErrorKind::NotADirectory, "not a directory"),
        });
    }
    let mut entries = Vec::new();
    let mut stack: Vec<(PathBuf, Vec<u8>)> = vec![(root.to_owned(), Vec::new())];
    while let Some((dir, rel)) = stack.pop() {
        let read = std::fs::read_dir(&dir).map_err(|source| Error::Dir {
            path: dir.clone(),
            source,
        })?;
        for item in read {
            let item = item.map_err(|source| Error::Dir {
                path: dir.clone(),
                source,
            })?;
            let name = crate::fs::name_bytes(&item.file_name());
            let mut raw = rel.clone();
            if !raw.is_empty() {
                raw.push(b'/');
            }
            raw.extend_from_slice(&name);
            let path = git::display_path(&raw);
            let ft = item.file_type().map_err(|source| Error::Dir {
                path: item.path(),
                source,
            })?;
            if ft.is_dir() {
                if name != b".git" {
                    stack.push((item.path(), raw));
                }
            } else if ft.is_symlink() {
                entries.push(Entry {
                    path,
                    raw,
                    blob: None,
                    kind: EntryKind::Symlink,
                });
            } else if ft.is_file() {
                entries.push(Entry {
                    path,
                    raw,
                    blob: None,
                    kind: EntryKind::File,
                });
            }
        }
    }
    entries.sort_by(|a, b| a.raw.cmp(&b.raw));
    let candidates = if pathspecs.is_empty() {
        all_json(entries, true)
    } else {
        by_pathspecs(entries, pathspecs)
    };
    let canonical = std::fs::canonicalize(root).unwrap_or_else(|_| root.to_owned());
    Ok(Listing {
        info: SourceInfo {
            dir: Some(canonical.display().to_string()),
            pathspecs: pathspecs.iter().map(|p| p.raw.clone()).collect(),
            ..SourceInfo::new("dir")
        },
        candidates,
        origin: Origin::Dir {
            root: root.to_owned(),
        },
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entries(paths: &[&str]) -> Vec<Entry> {
        paths
            .iter()
            .map(|p| Entry {
                path: (*p).to_owned(),
                raw: p.as_bytes().to_vec(),
                blob: None,
                kind: EntryKind::File,
            })
            .collect()
    }

    fn paths(c: &[Candidate]) -> Vec<(&str, bool)> {
        c.iter().map(|c| (c.path.as_str(), c.explicit)).collect()
    }

    #[test]
    fn auth_path_wins_when_present() {
        let sel = Selection {
            auth_path: "auths".into(),
            pathspecs: vec![],
        };
        let (c, used) = select(
            entries(&[
                "package.json",
                "auths/a.json",
                "auths/sub/b.JSON",
                "auths/notes.txt",
                "authsx/c.json",
                "auths/.oauth-codex-1.oauth",
            ]),
            &sel,
        );
        assert_eq!(used.as_deref(), Some("auths"));
        assert_eq!(
            paths(&c),
            [("auths/a.json", true), ("auths/sub/b.JSON", true)]
        );
    }

    #[test]
    fn without_auth_path_every_json_is_a_maybe() {
        let sel = Selection {
            auth_path: "auths".into(),
            pathspecs: vec![],
        };
        let (c, used) = select(
            entries(&["package.json", "creds/x.json", "README.md"]),
            &sel,
        );
        assert_eq!(used, None);
        assert_eq!(
            paths(&c),
            [("package.json", false), ("creds/x.json", false)]
        );
    }

    #[test]
    fn pathspecs_select_prefixes_globs_and_exact_files() {
        let specs = vec![
            Pathspec::new("keep", "").unwrap(),
            Pathspec::new("*.cred.json", "other").unwrap(),
            Pathspec::new("odd.txt", "").unwrap(),
        ];
        let sel = Selection {
            auth_path: "auths".into(),
            pathspecs: specs,
        };
        let (c, _) = select(
            entries(&[
                "auths/a.json",
                "keep/b.json",
                "keep/c.txt",
                "keeper/d.json",
                "other/x/y.cred.json",
                "odd.txt",
            ]),
            &sel,
        );
        assert_eq!(
            paths(&c),
            [
                ("keep/b.json", true),
                ("other/x/y.cred.json", true),
                ("odd.txt", true)
            ]
        );
    }

    #[test]
    fn pathspecs_are_normalised_and_bounded() {
        assert_eq!(
            Pathspec::new("../auths/./a.json", "sub").unwrap().path,
            "auths/a.json"
        );
        assert!(matches!(
            Pathspec::new("../../x", "sub"),
            Err(Error::PathspecOutside(_))
        ));
        assert!(
            Pathspec::new(".", "")
                .unwrap()
                .matches("anything.json")
                .is_some()
        );
    }
}
