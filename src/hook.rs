//! Pure pieces of the git hooks: parsing git's pre-push stdin, and adding or removing
//! git-credman's call between marker lines in a hook file without disturbing anything else.
//! No I/O here; `commands::hook` reads and writes the files.

use crate::git::ObjectId;

/// The first marker line of git-credman's block in a hook.
pub const BEGIN: &str = "# >>> git-credman pre-push >>>";
/// The last marker line.
pub const END: &str = "# <<< git-credman pre-push <<<";

/// The block added to a pre-push hook. It reads git's stdin once, hands it to git-credman, then
/// gives the same lines to whatever follows in the hook. A missing git-credman warns and lets
/// the push through instead of blocking every push.
pub fn block() -> String {
    format!(
        "{BEGIN}
# Added by `git credman hook install`; `git credman hook uninstall` removes it.
credman_refs=$(cat)
if command -v git-credman >/dev/null 2>&1; then
    printf '%s\\n' \"$credman_refs\" | git-credman hook pre-push \"$@\" || exit 1
else
    echo 'git-credman is not installed: credentials were not checked' >&2
fi
exec 0<<CREDMAN_REFS
$credman_refs
CREDMAN_REFS
{END}
"
    )
}

/// A whole new hook file holding only git-credman's block.
pub fn new_hook() -> String {
    format!("#!/bin/sh\n{}", block())
}

/// What installing does to an existing hook.
#[derive(Debug, PartialEq, Eq)]
pub enum Install {
    /// The new content.
    Write(String),
    /// Already installed and current.
    Unchanged,
    /// Not a shell script: git-credman cannot add a line to it.
    Foreign,
}

fn is_shell(content: &str) -> bool {
    let first = content.lines().next().unwrap_or("");
    first.starts_with("#!")
        && [
            "/sh", "/bash", "/dash", "/zsh", "/ksh", "env sh", "env bash", "env zsh",
        ]
        .iter()
        .any(|s| first.contains(s))
}

/// Returns `content` without git-credman's block (and whether it had one).
pub fn remove_block(content: &str) -> (String, bool) {
    let mut out = String::with_capacity(content.len());
    let mut inside = false;
    let mut found = false;
    for line in content.split_inclusive('\n') {
        let bare = line.trim_end_matches(['\n', '\r']);
        if bare == BEGIN {
            inside = true;
            found = true;
            continue;
        }
        if bare == END && inside {
            inside = false;
            continue;
        }
        if !inside {
            out.push_str(line);
        }
    }
    (out, found)
}

/// Plans installing into an existing hook: the block goes right after the shebang, so it runs
/// before anything in the hook can `exit`.
pub fn install_into(existing: &str) -> Install {
    if !is_shell(existing) {
        return Install::Foreign;
    }
    let (without, had) = remove_block(existing);
    let mut lines = without.splitn(2, '\n');
    let shebang = lines.next().unwrap_or("#!/bin/sh");
    let rest = lines.next().unwrap_or("");
    let new = format!("{shebang}\n{}{rest}", block());
    if had && new == existing {
        Install::Unchanged
    } else {
        Install::Write(new)
    }
}

/// Plans installing into a husky hook file (`.husky/pre-push`): husky ≥ 9 runs it with
/// `sh -e` from its generated `.husky/_/pre-push`, so a file without a shebang (husky's own
/// style: plain commands) is a shell script too, and the block goes first.
pub fn install_into_husky(existing: &str) -> Install {
    if existing.starts_with("#!") {
        return install_into(existing);
    }
    let (without, had) = remove_block(existing);
    let new = format!("{}{without}", block());
    if had && new == existing {
        Install::Unchanged
    } else {
        Install::Write(new)
    }
}

/// Returns whether a hooks directory is husky's generated one (`.husky/_`, holding husky's
/// `h` runner (husky 9) or `husky.sh`), given its file name and whether it holds those.
pub fn is_husky_generated(dir_name: Option<&str>, has_husky_runner: bool) -> bool {
    dir_name == Some("_") && has_husky_runner
}

/// Returns whether a hook file is nothing but a shebang (what is left after uninstalling a hook
/// git-credman created).
pub fn is_empty_hook(content: &str) -> bool {
    content
        .lines()
        .all(|l| l.trim().is_empty() || l.starts_with("#!"))
}

/// One line of git's pre-push stdin.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PushedRef {
    /// The local ref, or `(delete)`.
    pub local_ref: String,
    /// The local commit (all zeros for a deletion).
    pub local: ObjectId,
    /// The remote ref.
    pub remote_ref: String,
    /// What the remote has (all zeros for a new ref).
    pub remote: ObjectId,
}

impl PushedRef {
    /// Returns whether this line deletes the remote ref.
    pub fn is_deletion(&self) -> bool {
        self.local.is_null()
    }

    /// Returns whether the remote ref is new.
    pub fn is_new(&self) -> bool {
        self.remote.is_null()
    }
}

/// A malformed pre-push line.
#[derive(Debug, thiserror::Error)]
#[error(
    "unexpected pre-push input line {line}: expected '<local ref> <local sha> <remote ref> <remote sha>'"
)]
pub struct ParseError {
    /// 1-based line number.
    pub line: usize,
}

/// Parses git's pre-push stdin strictly: four space-separated fields per line.
pub fn parse_pre_push(input: &str) -> Result<Vec<PushedRef>, ParseError> {
    let mut out = Vec::new();
    for (i, line) in input.lines().enumerate() {
        if line.trim().is_empty() {
            continue;
        }
        let err = || ParseError { line: i + 1 };
        let fields: Vec<&str> = line.split(' ').collect();
        let [local_ref, local, remote_ref, remote] = fields.as_slice() else {
            return Err(err());
        };
        let local = ObjectId::from_hex(local.as_bytes()).map_err(|_| err())?;
        let remote = ObjectId::from_hex(remote.as_bytes()).map_err(|_| err())?;
        out.push(PushedRef {
            local_ref: (*local_ref).to_owned(),
            local,
            remote_ref: (*remote_ref).to_owned(),
            remote,
        });
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    const A: &str = "1111111111111111111111111111111111111111";
    const Z: &str = "0000000000000000000000000000000000000000";

    #[test]
    fn regression_16_husky_hook_files_without_a_shebang() {
        let theirs = "npm test\n";
        let Install::Write(new) = install_into_husky(theirs) else {
            panic!("husky files are shell")
        };
        assert!(
            new.starts_with(BEGIN) && new.ends_with("npm test\n"),
            "{new}"
        );
        assert_eq!(install_into_husky(&new), Install::Unchanged);
        assert_eq!(remove_block(&new).0, theirs);
        assert_eq!(
            install_into_husky("#!/usr/bin/env python3\nprint(1)\n"),
            Install::Foreign
        );
        assert!(is_husky_generated(Some("_"), true));
        assert!(!is_husky_generated(Some("_"), false));
        assert!(!is_husky_generated(Some("hooks"), true));
    }

    #[test]
    fn parses_updates_new_refs_and_deletions() {
        let input = format!(
            "refs/heads/main {A} refs/heads/main {A}\n(delete) {Z} refs/heads/old {A}\nrefs/heads/x {A} refs/heads/x {Z}\n"
        );
        let refs = parse_pre_push(&input).unwrap();
        assert_eq!(refs.len(), 3);
        assert!(!refs[0].is_deletion() && !refs[0].is_new());
        assert!(refs[1].is_deletion());
        assert!(refs[2].is_new());
        assert!(parse_pre_push("").unwrap().is_empty());
    }

    #[test]
    fn rejects_malformed_lines() {
        assert_eq!(
            parse_pre_push(&format!("refs/heads/main {A} refs/heads/main"))
                .unwrap_err()
                .line,
            1
        );
        assert!(parse_pre_push(&format!("a {A} b nothex")).is_err());
        assert!(parse_pre_push(&format!("a  {A} b {A}")).is_err());
    }

    #[test]
    fn install_keeps_a_foreign_shell_hook_and_uninstall_restores_it() {
        let theirs = "#!/bin/sh\necho theirs\nexit 0\n";
        let Install::Write(installed) = install_into(theirs) else {
            panic!()
        };
        assert!(installed.starts_with(&format!("#!/bin/sh\n{BEGIN}\n")));
        assert!(installed.ends_with("echo theirs\nexit 0\n"));
        assert_eq!(install_into(&installed), Install::Unchanged, "idempotent");
        let (removed, had) = remove_block(&installed);
        assert!(had);
        assert_eq!(removed, theirs);
    }

    #[test]
    fn non_shell_hooks_are_foreign() {
        assert_eq!(
            install_into("#!/usr/bin/env python3\nprint(1)\n"),
            Install::Foreign
        );
        assert_eq!(install_into("\x7fELF"), Install::Foreign);
    }

    #[test]
    fn a_hook_we_created_is_empty_after_removal() {
        let (rest, _) = remove_block(&new_hook());
        assert!(is_empty_hook(&rest));
        assert!(!is_empty_hook("#!/bin/sh\necho x\n"));
    }
}
