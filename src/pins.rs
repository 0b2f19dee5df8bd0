//! Pins: the `.credmanignore` file (or `credman.ignoreFile`, `--ignore-file`), which names
//! credential files that prune must never touch. Each line is a gitignore-like path glob or a
//! token fingerprint (`fp:0123456789ab`) or an identity key (`id:0123456789ab`: provider, account
//! and token family, which survives renames and CPA's token refresh), with an optional `# comment` that the report shows as
//! why the file is pinned. Pinned files are still scanned and reported (`pinned` in the JSON
//! report, a marker in the text report); they never make the exit code 1 and every prune
//! executor keeps them (a keep reason in [`crate::prune::plan`]).
//!
//! Owns parsing, matching and reading the one file; no printing, no network, no git. Called by
//! `commands::scan`, `commands::prune` and `commands::hook` (the pre-push gate, which parses a
//! pushed tip's committed file with [`parse`]).

use std::collections::HashMap;
use std::path::Path;

use globset::{GlobBuilder, GlobSet, GlobSetBuilder};

use crate::scan::Scanned;

/// The name of the pin file at the root of a repository or folder.
pub const DEFAULT_FILE: &str = ".credmanignore";

/// A parsed pin file.
#[derive(Debug, Default)]
pub struct Pins {
    globs: Option<GlobSet>,
    /// The comment of each glob in `globs`, by glob index.
    glob_comments: Vec<String>,
    /// Fingerprint (12 lowercase hex digits) → comment.
    fingerprints: HashMap<String, String>,
    /// Identity key (12 lowercase hex digits) → comment.
    identities: HashMap<String, String>,
}

/// A pin file that cannot be used: it names the file and line.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The file exists but cannot be read.
    #[error("cannot read the pin file {file}: {source}")]
    Read {
        /// The file, as shown.
        file: String,
        /// Why.
        #[source]
        source: std::io::Error,
    },
    /// A line is not a glob, a fingerprint or a comment.
    #[error(
        "{file}:{line}: {why} (a line is a path glob, fp:<12 hex digits> or id:<12 hex digits>, \
         then an optional `# comment`)"
    )]
    Line {
        /// The file, as shown.
        file: String,
        /// 1-based line number.
        line: usize,
        /// What is wrong (never the line itself beyond a short name).
        why: String,
    },
}

/// Splits a line into its pattern and its comment: a `#` at the start or after whitespace
/// starts the comment (`a#b.json` is a pattern).
fn split_comment(line: &str) -> (&str, &str) {
    let bytes = line.as_bytes();
    for (i, &b) in bytes.iter().enumerate() {
        if b == b'#' && (i == 0 || bytes[i - 1].is_ascii_whitespace()) {
            return (line[..i].trim(), line[i + 1..].trim());
        }
    }
    (line.trim(), "")
}

/// Returns the globs a gitignore-like pattern stands for: anchored at the root when it has a
/// `/` (other than a trailing one), else matching a name at any depth; a pattern also matches
/// everything below a directory it names.
fn globs_of(pattern: &str) -> Vec<String> {
    let dir_only = pattern.ends_with('/');
    let p = pattern.trim_end_matches('/');
    let anchored = p.contains('/');
    let p = p.trim_start_matches('/');
    let base = if anchored || p.starts_with("**") {
        p.to_owned()
    } else {
        format!("**/{p}")
    };
    if dir_only {
        vec![format!("{base}/**")]
    } else {
        vec![base.clone(), format!("{base}/**")]
    }
}

/// Parses a pin file's text; `file` names it in errors.
pub fn parse(text: &str, file: &str) -> Result<Pins, Error> {
    let mut pins = Pins::default();
    let mut builder = GlobSetBuilder::new();
    let err = |line: usize, why: String| Error::Line {
        file: file.to_owned(),
        line,
        why,
    };
    for (n, raw) in text.lines().enumerate() {
        let line = n + 1;
        let (pattern, comment) = split_comment(raw);
        if pattern.is_empty() {
            continue;
        }
        let keyed = [("fp:", "a fingerprint"), ("id:", "an identity")]
            .into_iter()
            .find_map(|(prefix, what)| Some((pattern.strip_prefix(prefix)?, prefix, what)));
        if let Some((key, prefix, what)) = keyed {
            let key = key.trim().to_ascii_lowercase();
            if key.len() != 12 || !key.bytes().all(|b| b.is_ascii_hexdigit()) {
                return Err(err(
                    line,
                    format!("{what} pin is {prefix} followed by exactly 12 hex digits"),
                ));
            }
            let map = if prefix == "fp:" {
                &mut pins.fingerprints
            } else {
                &mut pins.identities
            };
            map.entry(key).or_insert_with(|| comment.to_owned());
            continue;
        }
        if pattern.starts_with('!') {
            return Err(err(
                line,
                "negated patterns (!) are not supported: pins only add".to_owned(),
            ));
        }
        if pattern.contains(char::is_whitespace) {
            return Err(err(
                line,
                "a pattern has no spaces (put a comment after ` #`)".to_owned(),
            ));
        }
        for glob in globs_of(pattern) {
            let built = GlobBuilder::new(&glob)
                .literal_separator(true)
                .backslash_escape(true)
                .build()
                .map_err(|e| err(line, format!("invalid glob: {}", e.kind())))?;
            builder.add(built);
            pins.glob_comments.push(comment.to_owned());
        }
    }
    if !pins.glob_comments.is_empty() {
        pins.globs = Some(
            builder
                .build()
                .map_err(|e| err(0, format!("invalid glob: {}", e.kind())))?,
        );
    }
    Ok(pins)
}

/// Reads the pin file at `path`. A missing file is no pins unless `required` (a file the user
/// named), which is an error.
pub fn load(path: &Path, required: bool) -> Result<Option<Pins>, Error> {
    let shown = crate::report::escape(&path.display().to_string()).into_owned();
    match std::fs::read(path) {
        Ok(bytes) => parse(&String::from_utf8_lossy(&bytes), &shown).map(Some),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound && !required => Ok(None),
        Err(source) => Err(Error::Read {
            file: shown,
            source,
        }),
    }
}

/// Loads the pin file the settings name (`settings::pin_file`): a named file must exist, the
/// default `.credmanignore` is used when it does.
pub fn load_setting(file: &crate::settings::PinFile) -> Result<Option<Pins>, Error> {
    match file {
        crate::settings::PinFile::Named(p) => load(p, true),
        crate::settings::PinFile::Default(p) => load(p, false),
        crate::settings::PinFile::None => Ok(None),
    }
}

impl Pins {
    /// Returns the comment of the first line that pins this file (by path, `/`-separated and
    /// relative to the root, by identity key or by fingerprint), `""` when that line has none.
    pub fn reason(
        &self,
        path: &str,
        fingerprint: Option<&str>,
        identity: Option<&str>,
    ) -> Option<&str> {
        if let Some(id) = identity
            && let Some(c) = self.identities.get(id)
        {
            return Some(c);
        }
        if let Some(fp) = fingerprint
            && let Some(c) = self.fingerprints.get(fp)
        {
            return Some(c);
        }
        let globs = self.globs.as_ref()?;
        let first = globs.matches(path).into_iter().min()?;
        self.glob_comments.get(first).map(String::as_str)
    }

    /// Whether the file holds no pin at all.
    pub fn is_empty(&self) -> bool {
        self.globs.is_none() && self.fingerprints.is_empty() && self.identities.is_empty()
    }

    /// Marks every pinned record (its report entry shows `pinned`); returns how many.
    pub fn mark(&self, scanned: &mut [Scanned]) -> usize {
        let mut n = 0;
        for s in scanned {
            if let Some(c) = self.reason(
                &s.path,
                s.facts.fingerprint.as_deref(),
                s.facts.identity.as_deref(),
            ) {
                s.pinned = Some(c.to_owned());
                n += 1;
            }
        }
        n
    }
}

/// The keep reason prune records for a pinned file.
pub fn keep_reason(s: &Scanned) -> Option<String> {
    s.pinned.as_ref().map(|c| {
        if c.is_empty() {
            "pinned".to_owned()
        } else {
            format!("pinned: {c}")
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn globs_are_gitignore_like_and_comments_are_the_reason() {
        let pins = parse(
            "# the on-call pool\n\
             auths/codex-ops@example.com.json   # keep: on-call account\n\
             claude-*.json\n\
             /keep/\n\
             a#b.json # hash inside\n\
             fp:0123456789AB # rotated by hand\n",
            ".credmanignore",
        )
        .unwrap();
        assert_eq!(
            pins.reason("auths/codex-ops@example.com.json", None, None),
            Some("keep: on-call account")
        );
        assert_eq!(
            pins.reason("auths/codex-dev@example.com.json", None, None),
            None
        );
        // No `/`: a name at any depth; `*` stops at `/`.
        assert_eq!(pins.reason("x/y/claude-a.json", None, None), Some(""));
        assert_eq!(pins.reason("claude-a.json", None, None), Some(""));
        // Anchored directory: everything below it, only at the root.
        assert_eq!(pins.reason("keep/a/b.json", None, None), Some(""));
        assert_eq!(pins.reason("x/keep/b.json", None, None), None);
        assert_eq!(pins.reason("a#b.json", None, None), Some("hash inside"));
        assert_eq!(
            pins.reason("anywhere.json", Some("0123456789ab"), None),
            Some("rotated by hand")
        );
        assert_eq!(
            pins.reason("anywhere.json", Some("0123456789ac"), None),
            None
        );
        assert!(!pins.is_empty());
        let ids = parse("id:00000000000A # the on-call account\n", "f").unwrap();
        assert!(!ids.is_empty());
        assert_eq!(
            ids.reason("a.json", Some("00000000000a"), Some("00000000000a")),
            Some("the on-call account")
        );
        // An id: pin matches the identity key only, never a fingerprint that happens to equal it.
        assert_eq!(ids.reason("a.json", Some("00000000000a"), None), None);
        assert!(parse("# nothing\n\n", "f").unwrap().is_empty());
    }

    #[test]
    fn malformed_lines_name_the_file_and_line() {
        for (text, line, what) in [
            ("ok.json\nfp:123\n", 2, "12 hex digits"),
            ("fp:0123456789xz\n", 1, "12 hex digits"),
            ("id:0123\n", 1, "identity pin is id:"),
            ("a.json\n\n!b.json\n", 3, "negated"),
            ("a b.json\n", 1, "no spaces"),
            ("auths/[a.json\n", 1, "invalid glob"),
        ] {
            let err = parse(text, ".credmanignore").unwrap_err().to_string();
            assert!(
                err.starts_with(&format!(".credmanignore:{line}: ")) && err.contains(what),
                "{err}"
            );
            assert!(!err.contains('\n'), "{err}");
        }
    }

    #[test]
    fn a_missing_file_is_no_pins_unless_it_was_named() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join(DEFAULT_FILE);
        assert!(load(&path, false).unwrap().is_none());
        assert!(load(&path, true).is_err());
        std::fs::write(&path, "a.json\n").unwrap();
        assert!(load(&path, false).unwrap().is_some());
    }
}
