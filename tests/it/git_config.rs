//! `git -c key=value credman …` through the real git (issue 16 item 1): git hands `-c` values to
//! external commands in `GIT_CONFIG_PARAMETERS`, and every setting git-credman reads from git
//! config (`credman.*`, signing) must honour them with git's precedence (command line over files).

use std::path::{Path, PathBuf};
use std::process::Command;

use crate::support::*;

const LIVE: &str = "auths/codex-live.json";
const DEAD: &str = "auths/codex-dead.json";

/// The directory of the built binary, to put on PATH so that `git credman` finds it.
pub fn bin_dir() -> PathBuf {
    Path::new(env!("CARGO_BIN_EXE_git-credman"))
        .parent()
        .unwrap()
        .to_owned()
}

/// PATH with the built binary's directory first.
pub fn path_with_credman() -> String {
    format!(
        "{}:{}",
        bin_dir().display(),
        std::env::var("PATH").unwrap_or_default()
    )
}

/// The real `git` in `dir` with the scrubbed environment and `git-credman` on PATH.
pub fn real_git(home: &Path, dir: &Path) -> Command {
    let mut cmd = Command::new("git");
    cmd.env_clear()
        .envs(scrubbed_env(home))
        .env("PATH", path_with_credman())
        .current_dir(dir);
    cmd
}

/// Runs a command and returns (code, stdout, stderr).
pub fn output(cmd: &mut Command) -> (i32, String, String) {
    let out = cmd.output().unwrap();
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

fn fixture() -> TestRepo {
    let t = TestRepo::new();
    t.write_json(LIVE, &codex_live("alice@example.com", "acct-1", "plus"));
    t.write_json(DEAD, &codex_dead("carol@example.com", "acct-2"));
    t.commit_all("initial");
    t
}

/// Writes an executable shell script.
fn script(path: &Path, body: &str) {
    use std::os::unix::fs::PermissionsExt as _;
    std::fs::write(path, format!("#!/bin/sh\n{body}")).unwrap();
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o755)).unwrap();
}

#[test]
fn regression_16_git_c_sets_credman_settings_over_the_files() {
    let t = fixture();
    // The repository's file says text; the command line wins.
    t.git(&["config", "credman.format", "text"]);
    let (code, stdout, stderr) = output(real_git(t.home(), &t.root).args([
        "-c",
        "credman.format=json",
        "credman",
        "scan",
        "--offline",
    ]));
    assert_eq!(code, 1, "{stdout}\n{stderr}");
    let report: serde_json::Value = serde_json::from_str(&stdout).expect("a JSON report");
    assert!(paths(&report).contains(&DEAD.to_owned()), "{report}");
    // A subsection key and a value with blanks and quotes survive git's quoting.
    let (code, stdout, stderr) = output(real_git(t.home(), &t.root).args([
        "-c",
        "credman.format=json",
        "-c",
        "credman.path=it's dir",
        "credman",
        "scan",
        "--offline",
    ]));
    assert_eq!(code, 2, "{stdout}\n{stderr}");
    assert!(stderr.contains("it's dir"), "{stderr}");
    // Outside any repository too (`--dir`: system and global configuration plus `-c`).
    let plain = t.home().join("plain");
    std::fs::create_dir_all(plain.join("auths")).unwrap();
    std::fs::copy(t.root.join(DEAD), plain.join(DEAD)).unwrap();
    let (code, stdout, stderr) = output(real_git(t.home(), &plain).args([
        "-c",
        "credman.format=json",
        "credman",
        "scan",
        "--offline",
        "--dir",
        ".",
    ]));
    assert_eq!(code, 1, "{stdout}\n{stderr}");
    serde_json::from_str::<serde_json::Value>(&stdout).expect("a JSON report outside a repo");
    // GIT_CONFIG_COUNT keeps working, and `-c` wins over it as in git.
    let (code, stdout, stderr) = output(
        real_git(t.home(), &t.root)
            .env("GIT_CONFIG_COUNT", "1")
            .env("GIT_CONFIG_KEY_0", "credman.format")
            .env("GIT_CONFIG_VALUE_0", "json")
            .args(["credman", "scan", "--offline"]),
    );
    assert_eq!(code, 1, "{stdout}\n{stderr}");
    serde_json::from_str::<serde_json::Value>(&stdout).expect("GIT_CONFIG_COUNT applies");
    let (_, stdout, _) = output(
        real_git(t.home(), &t.root)
            .env("GIT_CONFIG_COUNT", "1")
            .env("GIT_CONFIG_KEY_0", "credman.format")
            .env("GIT_CONFIG_VALUE_0", "json")
            .args(["-c", "credman.format=text", "credman", "scan", "--offline"]),
    );
    assert!(
        serde_json::from_str::<serde_json::Value>(&stdout).is_err(),
        "{stdout}"
    );
}

#[test]
fn regression_16_git_c_turns_signing_off_and_picks_the_program() {
    let t = fixture();
    let broken = t.home().join("broken-gpg");
    script(&broken, "echo 'gpg: no usable key' >&2\nexit 2\n");
    t.git(&["config", "commit.gpgSign", "true"]);
    t.git(&["config", "gpg.program", broken.to_str().unwrap()]);
    let old = t.git(&["rev-parse", "HEAD"]);
    // The files' signer is broken: prune refuses to commit.
    let (code, stdout, stderr) =
        output(real_git(t.home(), &t.root).args(["credman", "prune", "--offline"]));
    assert_eq!(code, 2, "{stdout}\n{stderr}");
    assert_eq!(t.git(&["rev-parse", "HEAD"]), old);
    // `git -c commit.gpgsign=false` turns signing off, as for `git commit`.
    let (code, stdout, stderr) = output(real_git(t.home(), &t.root).args([
        "-c",
        "commit.gpgsign=false",
        "credman",
        "prune",
        "--offline",
    ]));
    assert_eq!(code, 0, "{stdout}\n{stderr}");
    assert_ne!(t.git(&["rev-parse", "HEAD"]), old);
    assert!(!t.git(&["cat-file", "commit", "HEAD"]).contains("gpgsig"));
    t.git(&["fsck", "--strict"]);
    assert_eq!(t.git(&["status", "--porcelain"]), "");

    // `git -c gpg.program=…` picks the signing program over the files' one.
    let t = fixture();
    t.git(&["config", "commit.gpgSign", "true"]);
    t.git(&["config", "gpg.program", broken.to_str().unwrap()]);
    let log = t.home().join("signer.log");
    let fake = t.home().join("fake-gpg");
    script(
        &fake,
        &format!(
            "echo \"$@\" >> '{}'\ncat >/dev/null\necho '[GNUPG:] SIG_CREATED ' >&2\n\
             printf -- '-----BEGIN PGP SIGNATURE-----\\n\\nZmFrZQ==\\n-----END PGP SIGNATURE-----\\n'\n",
            log.display()
        ),
    );
    let (code, stdout, stderr) = output(real_git(t.home(), &t.root).args([
        "-c",
        &format!("gpg.program={}", fake.display()),
        "credman",
        "prune",
        "--offline",
    ]));
    assert_eq!(code, 0, "{stdout}\n{stderr}");
    assert!(std::fs::read_to_string(&log).unwrap().contains("-bsau"));
    assert!(
        t.git(&["cat-file", "commit", "HEAD"])
            .contains("gpgsig -----BEGIN PGP SIGNATURE")
    );
    t.git(&["fsck", "--strict"]);
}

#[test]
fn regression_16_malformed_git_config_parameters_is_an_error_not_a_panic() {
    let t = fixture();
    for bad in ["'credman.format", "'credman.format'x", "'nosection'='v'"] {
        for args in [
            &["scan", "--offline"][..],
            &["scan", "--offline", "--dir", "auths"],
        ] {
            let r = run(t.credman().env("GIT_CONFIG_PARAMETERS", bad).args(args));
            assert_eq!(r.code, 2, "{bad}: {}\n{}", r.stdout, r.stderr);
            assert!(
                r.stderr.contains("unable to parse command-line config"),
                "{bad}: {}",
                r.stderr
            );
            assert_eq!(r.stderr.trim().lines().count(), 1, "{}", r.stderr);
            assert!(!r.stderr.contains("panicked"), "{}", r.stderr);
        }
    }
}
