//! Every spawned `git`: the one place a git process is started (`git_command`; the remote
//! workdir refresh in `source::remote` uses it too), and what gix cannot do: [`push`] (`git push
//! --porcelain`, never forced), [`fetch`] and [`verify_commit`] (`git verify-commit`, with git's
//! own verification configuration). Pushes and fetches run with `GIT_TERMINAL_PROMPT=0` so nothing
//! ever waits for a password, and `GIT_CREDMAN_IN_PUSH=1` so git-credman's own pre-push gate does
//! not re-run on itself. A remote name or ref that starts with `-` never reaches git's argv.
//! Called by `prune` (push, fetch), `show` (verify) and `source::remote`.

use std::path::Path;
use std::process::Command;

use super::ObjectId;

/// Push and fetch failures. Messages carry git's stderr, which never holds our secrets (the
/// URL's userinfo is stripped by git itself).
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// git could not be run.
    #[error("cannot run git: {0}")]
    Spawn(#[source] std::io::Error),
    /// A remote name or refspec that git would read as an option.
    #[error("refusing to pass '{0}' to git: it starts with '-' (a remote name or ref must not)")]
    LooksLikeAnOption(String),
    /// git failed.
    #[error("git {what} failed: {stderr}")]
    Git {
        /// The git command.
        what: String,
        /// Its stderr (trimmed).
        stderr: String,
    },
}

/// What a push did.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Pushed {
    /// The remote accepted the update.
    Accepted,
    /// The remote rejected it because it moved (non-fast-forward / fetch first).
    Rejected(String),
}

/// Every spawned git goes through here: `git -C workdir` with `env` added and messages in the
/// C locale (they are parsed).
pub(crate) fn git_command(workdir: &Path, env: &[(String, String)]) -> Command {
    let mut c = Command::new("git");
    c.envs(env.iter().map(|(k, v)| (k, v)));
    c.arg("-C").arg(workdir).env("LC_ALL", "C");
    c
}

/// [`git_command`] for pushing and fetching: never prompts, and the pre-push gate knows the
/// push is git-credman's own.
fn git(workdir: &Path, env: &[(String, String)]) -> Command {
    let mut c = git_command(workdir, env);
    c.env("GIT_TERMINAL_PROMPT", "0")
        .env("GIT_CREDMAN_IN_PUSH", "1");
    c
}

fn stderr_of(out: &std::process::Output) -> String {
    String::from_utf8_lossy(&out.stderr)
        .trim()
        .lines()
        .take(6)
        .collect::<Vec<_>>()
        .join(" | ")
}

/// Refuses a remote name or ref that starts with `-`: git would take it for an option
/// (`--receive-pack=…` runs a program), whatever comes from a flag or the repository's config.
fn not_an_option(arg: &str) -> Result<&str, Error> {
    if arg.starts_with('-') {
        Err(Error::LooksLikeAnOption(
            crate::report::escape(arg).into_owned(),
        ))
    } else {
        Ok(arg)
    }
}

/// Pushes `commit` to `dst` (a full ref) on `remote`, never forced.
pub fn push(
    workdir: &Path,
    remote: &str,
    commit: ObjectId,
    dst: &str,
    env: &[(String, String)],
) -> Result<Pushed, Error> {
    let remote = not_an_option(remote)?;
    let dst = not_an_option(dst)?;
    let out = git(workdir, env)
        .args([
            "push",
            "--porcelain",
            "--",
            remote,
            &format!("{commit}:{dst}"),
        ])
        .output()
        .map_err(Error::Spawn)?;
    let stdout = String::from_utf8_lossy(&out.stdout);
    // Porcelain: `<flag>\t<src>:<dst>\t<summary>`; `!` is a rejected ref.
    if let Some(line) = stdout.lines().find(|l| l.starts_with('!')) {
        let summary = line.split('\t').nth(2).unwrap_or(line).to_owned();
        if summary.contains("non-fast-forward")
            || summary.contains("fetch first")
            || summary.contains("stale info")
        {
            return Ok(Pushed::Rejected(summary));
        }
        return Err(Error::Git {
            what: "push".into(),
            stderr: format!("{summary} {}", stderr_of(&out)),
        });
    }
    if out.status.success() {
        Ok(Pushed::Accepted)
    } else {
        Err(Error::Git {
            what: "push".into(),
            stderr: stderr_of(&out),
        })
    }
}

/// Fetches `src` (a full ref) from `remote`; returns the fetched commit.
pub fn fetch(
    workdir: &Path,
    remote: &str,
    src: &str,
    env: &[(String, String)],
) -> Result<ObjectId, Error> {
    let remote = not_an_option(remote)?;
    let src = not_an_option(src)?;
    let out = git(workdir, env)
        .args(["fetch", "--quiet", "--no-tags", "--", remote, src])
        .output()
        .map_err(Error::Spawn)?;
    if !out.status.success() {
        return Err(Error::Git {
            what: "fetch".into(),
            stderr: stderr_of(&out),
        });
    }
    let out = git(workdir, env)
        .args(["rev-parse", "--verify", "FETCH_HEAD^{commit}"])
        .output()
        .map_err(Error::Spawn)?;
    let hex = String::from_utf8_lossy(&out.stdout).trim().to_owned();
    ObjectId::from_hex(hex.as_bytes()).map_err(|_| Error::Git {
        what: "rev-parse FETCH_HEAD".into(),
        stderr: stderr_of(&out),
    })
}

/// The result of `git verify-commit`.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
#[serde(tag = "status", content = "detail", rename_all = "snake_case")]
pub enum Signature {
    /// git verified the signature.
    Good(String),
    /// A signature is present but git did not accept it.
    Bad(String),
    /// An ssh signature is present but git has no allowed-signers file to check it against
    /// (`gpg.ssh.allowedSignersFile` unset or missing): not bad, just unverifiable here.
    NoAllowedSigners,
    /// The commit is not signed.
    Unsigned,
}

/// Verifies a commit's signature with git's own verification configuration.
pub fn verify_commit(workdir: &Path, commit: ObjectId) -> Result<Signature, Error> {
    let raw = git(workdir, &[])
        .args(["cat-file", "commit", &commit.to_string()])
        .output()
        .map_err(Error::Spawn)?;
    let text = String::from_utf8_lossy(&raw.stdout);
    let header = text.split("\n\n").next().unwrap_or("");
    if !header.lines().any(|l| l.starts_with("gpgsig")) {
        return Ok(Signature::Unsigned);
    }
    let out = git(workdir, &[])
        .args(["verify-commit", "-v", &commit.to_string()])
        .output()
        .map_err(Error::Spawn)?;
    let stderr = String::from_utf8_lossy(&out.stderr);
    if !out.status.success()
        && (stderr.contains("allowedSignersFile needs to be configured")
            || stderr.contains("Unable to open allowed keys file"))
    {
        return Ok(Signature::NoAllowedSigners);
    }
    let detail = stderr
        .lines()
        .filter(|l| l.contains("ignature") || l.contains("allowedSigners"))
        .collect::<Vec<_>>()
        .join("; ");
    Ok(if out.status.success() {
        Signature::Good(detail)
    } else {
        Signature::Bad(detail)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn regression_10_option_like_remotes_and_refs_never_reach_git() {
        let dir = std::env::temp_dir();
        let id = ObjectId::null(gix::hash::Kind::Sha1);
        for (remote, dst) in [
            ("--receive-pack=touch /tmp/pwned", "refs/heads/main"),
            ("origin", "-x"),
        ] {
            let err = push(&dir, remote, id, dst, &[]).unwrap_err();
            assert!(matches!(err, Error::LooksLikeAnOption(_)), "{err}");
        }
        let err = fetch(&dir, "-u", "refs/heads/main", &[]).unwrap_err();
        assert!(matches!(err, Error::LooksLikeAnOption(_)), "{err}");
    }
}
