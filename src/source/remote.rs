//! Remote repository mode: clone (or reuse) an auth repository, then let `scan` and `prune`
//! work on it as on a local checkout. The clone goes through gix; pushing and refreshing a reused
//! workdir spawn git (gix cannot push). Secrets: the HTTPS token reaches gix through its
//! credential callback and git through `GIT_ASKPASS` in the child's environment only, never a
//! URL, argv or `.git/config`.

use std::path::Path;
use std::sync::Arc;

use anyhow::{Context as _, bail};

use crate::cli::RemoteArgs;
use crate::git::{CloneSpec, Repo};
use crate::settings::Env;

/// A checked-out remote repository.
pub(crate) struct Checkout {
    /// The repository.
    pub repo: Arc<Repo>,
    /// The URL as given (no userinfo), for reports.
    pub url: String,
    /// Environment for `git push`/`git fetch` children (ssh command, askpass).
    pub push_env: Vec<(String, String)>,
    /// Keeps the temporary clone (removed on drop, also on errors).
    _clone: Option<tempfile::TempDir>,
    /// Keeps the askpass helper.
    _askpass: Option<tempfile::TempDir>,
}

/// Removes a temporary clone if the process is interrupted (Ctrl-C, SIGTERM, SIGHUP): a
/// TempDir's drop does not run then. One handler serves every command (`interrupt`).
fn remove_on_interrupt(path: &Path) {
    crate::interrupt::remove_dir_on_interrupt(path);
}

/// Returns whether a URL's host is a loopback address (127.0.0.0/8, ::1, localhost).
fn is_loopback(url: &str) -> bool {
    let after = url.split("://").nth(1).unwrap_or("");
    let hostport = after.split('/').next().unwrap_or("");
    let host = if let Some(rest) = hostport.strip_prefix('[') {
        rest.split(']').next().unwrap_or("")
    } else {
        hostport.split(':').next().unwrap_or("")
    };
    host == "localhost"
        || host
            .parse::<std::net::IpAddr>()
            .is_ok_and(|ip| ip.is_loopback())
}

/// Returns whether a URL carries a password in its userinfo (`scheme://user:pw@host/…`), for
/// any scheme. scp-like `user@host:path` has no password field.
fn has_password(url: &str) -> bool {
    url.split_once("://").is_some_and(|(_, rest)| {
        let authority = &rest[..rest.find('/').unwrap_or(rest.len())];
        authority
            .rsplit_once('@')
            .is_some_and(|(userinfo, _)| userinfo.contains(':'))
    })
}

/// Returns the user name of a `scheme://user@host/…` URL (percent-decoded), if it has one.
fn user_name(url: &str) -> Option<String> {
    let (_, rest) = url.split_once("://")?;
    let authority = &rest[..rest.find('/').unwrap_or(rest.len())];
    let (userinfo, _) = authority.rsplit_once('@')?;
    Some(percent_decode(userinfo))
}

/// Decodes `%XX` escapes (RFC 3986 §2.1); anything malformed is kept as written.
fn percent_decode(text: &str) -> String {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let hex = |b: u8| (b as char).to_digit(16);
        match (bytes[i], bytes.get(i + 1), bytes.get(i + 2)) {
            (b'%', Some(&h), Some(&l)) if hex(h).is_some() && hex(l).is_some() => {
                out.push(
                    u8::try_from(hex(h).unwrap_or(0) * 16 + hex(l).unwrap_or(0)).unwrap_or(b'?'),
                );
                i += 3;
            }
            (b, _, _) => {
                out.push(b);
                i += 1;
            }
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// Returns the URL without userinfo, for reports: `ssh://git@host/p` → `ssh://host/p`,
/// `git@host:p` → `host:p`.
fn without_userinfo(url: &str) -> String {
    match url.split_once("://") {
        Some((scheme, rest)) => {
            let (authority, path) = rest.split_at(rest.find('/').unwrap_or(rest.len()));
            let host = authority.rsplit_once('@').map_or(authority, |(_, h)| h);
            format!("{scheme}://{host}{path}")
        }
        None => match url.split_once('@') {
            Some((user, rest)) if !user.contains('/') && !user.contains(':') => rest.to_owned(),
            _ => url.to_owned(),
        },
    }
}

fn quote(s: &str) -> String {
    format!("'{}'", s.replace('\'', "'\\''"))
}

/// Clones (or reuses) the repository named by `--repo-url`.
pub(crate) fn prepare(
    args: &RemoteArgs,
    env: &Env,
    cwd: &Path,
) -> anyhow::Result<Option<Checkout>> {
    let Some(url) = args.repo_url.as_deref().map(str::trim) else {
        return Ok(None);
    };
    let lower = url.to_ascii_lowercase();
    let http = lower.starts_with("http://") || lower.starts_with("https://");
    if has_password(url) {
        bail!(
            "--repo-url must not contain a password (user:password@); use --git-key for ssh, \
             or GIT_CREDMAN_GIT_TOKEN for https"
        );
    }
    if let Some(branch) = args.repo_branch.as_deref().filter(|b| b.starts_with('-')) {
        bail!("--repo-branch '{branch}' starts with '-'; give a branch name");
    }
    // A user name alone is not a secret (`https://x-access-token@host/r.git`, as hosts document
    // for tokens): it sets the user as GIT_CREDMAN_GIT_USER does. Only a password is refused
    // (above); reports and messages never show userinfo (`without_userinfo`).
    let url_user = if http { user_name(url) } else { None };
    if url_user.as_deref() == Some("") {
        bail!("--repo-url has an empty user name before '@'; remove the '@' or name the user");
    }
    let (token, env_user) = crate::settings::git_token(env);
    let user = url_user.clone().unwrap_or(env_user);
    // With a token, the user goes to git through askpass and gix's credential callback: the
    // URL git and gix see carries no userinfo. Without one, the URL stays as given, so the
    // user's own credential helper is asked for that user, as git would.
    let url = match (&url_user, &token) {
        (Some(_), Some(_)) => without_userinfo(url),
        _ => url.to_owned(),
    };
    let url = url.as_str();
    if token.is_some() && lower.starts_with("http://") && !is_loopback(url) {
        bail!(
            "refusing to send GIT_CREDMAN_GIT_TOKEN over plain http:// to a non-loopback host; use https://"
        );
    }
    let ssh_command = args.git_key.as_ref().map(|key| {
        let key = cwd.join(key);
        let mut cmd = format!(
            "ssh -i {} -o IdentitiesOnly=yes -o BatchMode=yes",
            quote(&key.to_string_lossy())
        );
        for opt in &args.ssh_option {
            cmd.push_str(&format!(" -o {}", quote(opt)));
        }
        cmd
    });
    let mut push_env = vec![("GIT_TERMINAL_PROMPT".to_owned(), "0".to_owned())];
    if let Some(cmd) = &ssh_command {
        push_env.push(("GIT_SSH_COMMAND".into(), cmd.clone()));
    }
    let askpass = match &token {
        Some(token) if http => {
            let dir = crate::fs::private_tempdir("credman-askpass")?;
            let script = dir.path().join("askpass.sh");
            crate::fs::create_new(
                &script,
                b"#!/bin/sh\ncase \"$1\" in\n  *sername*) printf '%s\\n' \"$GIT_CREDMAN_ASKPASS_USER\" ;;\n  *) printf '%s\\n' \"$GIT_CREDMAN_ASKPASS_TOKEN\" ;;\nesac\n",
                0o700,
            )?;
            push_env.extend([
                ("GIT_ASKPASS".to_owned(), script.display().to_string()),
                ("GIT_CREDMAN_ASKPASS_USER".to_owned(), user.clone()),
                (
                    "GIT_CREDMAN_ASKPASS_TOKEN".to_owned(),
                    token.expose().to_owned(),
                ),
                // Keep the user's credential helpers out: they would be asked first, and
                // would be asked to store the token.
                ("GIT_CONFIG_COUNT".to_owned(), "1".to_owned()),
                (
                    "GIT_CONFIG_KEY_0".to_owned(),
                    "credential.helper".to_owned(),
                ),
                ("GIT_CONFIG_VALUE_0".to_owned(), String::new()),
            ]);
            Some(dir)
        }
        _ => None,
    };
    let spec = CloneSpec {
        url: url.to_owned(),
        branch: args.repo_branch.clone(),
        ssh_command,
        token: token.filter(|_| http).map(|t| (user, t)),
    };
    let (repo, clone) = match &args.workdir {
        Some(dir) => (reuse_or_clone(&cwd.join(dir), &spec, &push_env)?, None),
        None => {
            let tmp = crate::fs::private_tempdir("credman-clone")?;
            remove_on_interrupt(tmp.path());
            let repo = Repo::clone_into(&spec, &tmp.path().join("repo"))
                .with_context(|| format!("cannot clone {}", without_userinfo(url)))?;
            (repo, Some(tmp))
        }
    };
    // `git -c` values apply to the clone as to a local repository.
    let repo = repo.with_command_line(&crate::settings::command_line_config(env)?)?;
    Ok(Some(Checkout {
        repo: Arc::new(repo),
        url: without_userinfo(url),
        push_env,
        _clone: clone,
        _askpass: askpass,
    }))
}

/// Reuses a workdir holding a clean clone of the same remote (fetch + fast-forward), or clones
/// into an empty/missing one. Anything else is refused, never wiped.
fn reuse_or_clone(dir: &Path, spec: &CloneSpec, env: &[(String, String)]) -> anyhow::Result<Repo> {
    let empty = std::fs::read_dir(dir).map_or(true, |mut d| d.next().is_none());
    if empty {
        crate::fs::create_private_dir(dir)
            .with_context(|| format!("cannot create --workdir {}", dir.display()))?;
        return Repo::clone_into(spec, dir).with_context(|| {
            format!(
                "cannot clone {} into {}",
                without_userinfo(&spec.url),
                dir.display()
            )
        });
    }
    let repo = Repo::discover(dir).with_context(|| {
        format!(
            "--workdir {} is not empty and not a git repository; refusing to touch it",
            dir.display()
        )
    })?;
    if repo.workdir().as_deref().map(Path::to_path_buf) != std::fs::canonicalize(dir).ok() {
        bail!(
            "--workdir {} is inside another repository; refusing to touch it",
            dir.display()
        );
    }
    if repo.remote_url("origin").as_deref() != Some(spec.url.as_str()) {
        bail!(
            "--workdir {} is a clone of another remote; refusing to touch it",
            dir.display()
        );
    }
    let git = |args: &[&str]| -> anyhow::Result<String> {
        let out = crate::git::cli::git_command(dir, env).args(args).output()?;
        if !out.status.success() {
            bail!(
                "git {} failed in {}: {}",
                args.join(" "),
                dir.display(),
                String::from_utf8_lossy(&out.stderr).trim()
            );
        }
        Ok(String::from_utf8_lossy(&out.stdout).into_owned())
    };
    if !git(&["status", "--porcelain"])?.trim().is_empty() {
        bail!(
            "--workdir {} has local changes; refusing to touch it",
            dir.display()
        );
    }
    let current = git(&["rev-parse", "--abbrev-ref", "HEAD"])?
        .trim()
        .to_owned();
    let branch = spec.branch.clone().unwrap_or_else(|| current.clone());
    let tracking = format!("refs/remotes/origin/{branch}");
    git(&[
        "fetch",
        "--quiet",
        "origin",
        &format!("+refs/heads/{branch}:{tracking}"),
    ])?;
    if branch != current {
        // The workdir is clean: switching is safe. An existing local branch keeps its history
        // (and is only fast-forwarded below); a new one tracks the remote's.
        if git(&[
            "rev-parse",
            "--verify",
            "--quiet",
            &format!("refs/heads/{branch}"),
        ])
        .is_ok()
        {
            git(&["checkout", "--quiet", &branch])?;
        } else {
            git(&[
                "checkout",
                "--quiet",
                "-b",
                &branch,
                "--track",
                &format!("origin/{branch}"),
            ])?;
        }
    }
    git(&["merge", "--ff-only", "--quiet", &tracking])?;
    Ok(Repo::discover(dir)?)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn user_names_of_urls() {
        assert_eq!(
            user_name("https://x-access-token@github.com/o/r.git").as_deref(),
            Some("x-access-token")
        );
        assert_eq!(user_name("https://a%40b%zz@h/r").as_deref(), Some("a@b%zz"));
        assert_eq!(user_name("https://@h/r").as_deref(), Some(""));
        assert_eq!(user_name("https://h/r@x"), None);
        assert_eq!(user_name("git@h:r"), None);
        assert_eq!(
            without_userinfo("https://x-access-token@h:8443/r.git"),
            "https://h:8443/r.git"
        );
    }

    #[test]
    fn reports_never_show_userinfo() {
        assert_eq!(
            without_userinfo("ssh://git@github.com/org/a.git"),
            "ssh://github.com/org/a.git"
        );
        assert_eq!(
            without_userinfo("git@github.com:org/a.git"),
            "github.com:org/a.git"
        );
        assert_eq!(
            without_userinfo("https://github.com/org/a.git"),
            "https://github.com/org/a.git"
        );
        assert_eq!(without_userinfo("file:///srv/a.git"), "file:///srv/a.git");
        assert_eq!(without_userinfo("/srv/repos/a@b.git"), "/srv/repos/a@b.git");
    }

    #[cfg(unix)]
    #[test]
    fn regression_10_clone_and_askpass_folders_are_private() {
        use std::os::unix::fs::PermissionsExt as _;
        let dir = crate::fs::private_tempdir("credman-test").unwrap();
        let mode = std::fs::metadata(dir.path()).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o700);
        let work = dir.path().join("a/workdir");
        crate::fs::create_private_dir(&work).unwrap();
        let mode = std::fs::metadata(&work).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o700);
    }

    #[test]
    fn regression_10_passwords_are_found_in_every_scheme() {
        for url in [
            "ssh://git:hunter2@example.com/r.git",
            "https://u:p@example.com/r",
            "git://a:b@example.com/r",
            "file://me:pw@localhost/srv/r.git",
        ] {
            assert!(has_password(url), "{url}");
        }
        for url in [
            "ssh://git@example.com/r.git",
            "git@example.com:org/r.git",
            "https://example.com/a:b@c",
            "file:///srv/a:b@c.git",
        ] {
            assert!(!has_password(url), "{url}");
        }
    }

    #[test]
    fn loopback_hosts() {
        for url in [
            "http://127.0.0.1:8080/r.git",
            "http://localhost/r",
            "http://[::1]:9/r",
            "http://127.1.2.3/x",
        ] {
            assert!(is_loopback(url), "{url}");
        }
        for url in [
            "http://example.com/r",
            "http://10.0.0.1/r",
            "http://127.example.com/r",
        ] {
            assert!(!is_loopback(url), "{url}");
        }
    }
}
