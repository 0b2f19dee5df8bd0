//! Every `--help` as a snapshot (insta): headings group each flag where it belongs (issue #12
//! item 9), and any change to the user documentation shows up in review. Update with
//! `INSTA_UPDATE=always cargo test --test it help` (or `cargo insta review`).
//!
//! The man pages and the completion scripts are checked with the real clients (issue 16 item
//! 8): `man` renders every page, `git credman --help` finds its page through git, and bash runs
//! git's own completion script with ours for `git credman sc<TAB>`. A client that is not
//! installed skips its test loudly, and fails it under CI=true, where .ci/run installs it.

use crate::support::*;

const COMMANDS: &[&[&str]] = &[
    &[],
    &["scan"],
    &["prune"],
    &["show"],
    &["restore"],
    &["history"],
    &["doctor"],
    &["watch"],
    &["hook"],
    &["hook", "pre-push"],
    &["hook", "install"],
    &["hook", "uninstall"],
    &["report"],
    &["report", "merge"],
    &["verdicts"],
    &["verdicts", "merge"],
    &["man"],
    &["completions"],
];

#[test]
fn every_help_is_snapshotted() {
    let t = TestRepo::new();
    for cmd in COMMANDS {
        for flag in ["-h", "--help"] {
            let mut args: Vec<&str> = cmd.to_vec();
            args.push(flag);
            let r = run(t.credman().env("COLUMNS", "100").args(&args));
            assert_eq!(r.code, 0, "{args:?}: {}", r.stderr);
            let name = format!(
                "help_{}{}",
                cmd.join("_"),
                if flag == "-h" { "_short" } else { "" }
            );
            insta::assert_snapshot!(name, r.stdout);
        }
    }
}

#[test]
fn flags_sit_under_their_heading() {
    let t = TestRepo::new();
    let r = run(t.credman().env("COLUMNS", "100").args(["prune", "-h"]));
    let heading_of = |flag: &str| -> String {
        let mut heading = String::new();
        for line in r.stdout.lines() {
            if !line.starts_with(' ') && line.ends_with(':') {
                heading = line.trim_end_matches(':').to_owned();
            }
            if line.trim_start().starts_with(flag) || line.contains(&format!(", {flag}")) {
                return heading;
            }
        }
        panic!("{flag} not in prune -h")
    };
    for (flag, heading) in [
        ("--status", "Prune"),
        ("--dry-run", "Prune"),
        ("--force", "Prune"),
        ("--push", "Prune"),
        ("--branch", "Prune"),
        ("--sign ", "Signing"),
        ("--dir", "Directory mode"),
        ("--quarantine", "Directory mode"),
        ("--delete", "Server mode"),
        ("--enable", "Server mode"),
        ("--format", "Output"),
        ("--report", "Output"),
        ("--timeout", "Online checks"),
        ("--repo-url", "Remote repository mode"),
    ] {
        assert_eq!(heading_of(flag), heading, "{flag}");
    }
}

/// Whether the real client `what` is here; if not, says so on stderr and, under CI=true (where
/// .ci/run installs it), fails.
#[allow(clippy::print_stderr)] // the skip must be seen
fn have_client(what: &str, present: bool, install: &str) -> bool {
    if !present {
        assert!(
            std::env::var("CI").as_deref() != Ok("true"),
            "{what} is missing under CI=true; .ci/run installs it ({install})"
        );
        eprintln!("SKIPPED: {what} is not installed ({install}); this test checks nothing");
    }
    present
}

fn has_program(name: &str) -> bool {
    std::process::Command::new(name)
        .arg("--version")
        .output()
        .is_ok_and(|o| o.status.success())
}

/// Every page, rendered by man itself: the page of a command has that command's options (the
/// old single page had only the global ones), and `man` finds each one by name once
/// `--output-dir` has written them into a man1 directory.
#[test]
fn man_renders_a_page_per_command() {
    if !have_client("man", has_program("man"), "apt-get install man-db") {
        return;
    }
    let t = TestRepo::new();
    let man1 = t.home().join("man/man1");
    let r = run(t.credman().args(["man", "--output-dir"]).arg(&man1));
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert!(r.stderr.contains("Wrote 18 man pages"), "{}", r.stderr);
    let pages: &[(&[&str], &str, &[&str])] = &[
        (
            &[],
            "git-credman",
            &["SUBCOMMANDS", "git-credman-scan(1)", "--color"],
        ),
        (
            &["scan"],
            "git-credman-scan",
            &["--offline", "--fail-on", "Exit status", "SEE ALSO"],
        ),
        (
            &["prune"],
            "git-credman-prune",
            &["--dry-run", "--max-delete", "--quarantine"],
        ),
        (&["show"], "git-credman-show", &["REV"]),
        (
            &["doctor"],
            "git-credman-doctor",
            &["--provider", "--endpoint", "Exit status"],
        ),
        (
            &["verdicts", "merge"],
            "git-credman-verdicts-merge",
            &["REV", "FETCH_HEAD", "refs/credman/verdicts"],
        ),
        (
            &["hook", "install"],
            "git-credman-hook-install",
            &["--force", "git-credman-hook(1)"],
        ),
        (
            &["watch"],
            "git-credman-watch",
            &["--every", "--jitter", "--max-rounds", "--lock", "COMMAND"],
        ),
        (
            &["completions"],
            "git-credman-completions",
            &["<SHELL>", "bash:", "zsh:", "fish:"],
        ),
    ];
    for (args, name, needles) in pages {
        // The page printed to stdout equals the one written to the directory.
        let printed = run(t.credman().arg("man").args(*args));
        assert_eq!(printed.code, 0, "{args:?}: {}", printed.stderr);
        let file = man1.join(format!("{name}.1"));
        assert_eq!(
            printed.stdout,
            std::fs::read_to_string(&file).unwrap(),
            "{name}"
        );
        for how in [
            vec!["-l".to_owned(), file.display().to_string()],
            vec![
                "-M".to_owned(),
                t.home().join("man").display().to_string(),
                (*name).to_owned(),
            ],
        ] {
            let out = std::process::Command::new("man")
                .args(&how)
                .env("MANPAGER", "cat")
                .env("MANWIDTH", "100")
                .env("LC_ALL", "C")
                .output()
                .unwrap();
            // Justified text has runs of spaces: compare words.
            let text = String::from_utf8_lossy(&out.stdout);
            let text = text.split_whitespace().collect::<Vec<_>>().join(" ");
            assert!(
                out.status.success(),
                "man {how:?}: {}",
                String::from_utf8_lossy(&out.stderr)
            );
            assert!(text.contains(&format!("{name} - ")), "man {how:?}:\n{text}");
            for needle in *needles {
                assert!(text.contains(needle), "man {how:?} lacks {needle}:\n{text}");
            }
        }
    }
}

/// `git credman --help` is turned by git into `man git-credman`: the page is found there.
#[test]
fn git_help_opens_the_page() {
    if !have_client("man", has_program("man"), "apt-get install man-db") {
        return;
    }
    let t = TestRepo::new();
    let man = t.home().join("man");
    assert_eq!(
        run(t
            .credman()
            .args(["man", "--output-dir"])
            .arg(man.join("man1")))
        .code,
        0
    );
    let bin = std::path::Path::new(env!("CARGO_BIN_EXE_git-credman"))
        .parent()
        .unwrap();
    let path = format!(
        "{}:{}",
        bin.display(),
        std::env::var("PATH").unwrap_or_default()
    );
    let out = std::process::Command::new("git")
        .args(["credman", "--help"])
        .current_dir(&t.root)
        .env_clear()
        .envs(scrubbed_env(t.home()))
        .env("PATH", path)
        .env("MANPATH", &man)
        .env("MANPAGER", "cat")
        .env("MANWIDTH", "100")
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(text.contains("git-credman - Keep a pool"), "{text}");
}

#[test]
fn man_of_an_unknown_command_is_a_usage_error() {
    let t = TestRepo::new();
    let r = run(t.credman().args(["man", "hook", "bogus"]));
    assert_eq!(r.code, 2, "{}", r.stderr);
    assert_eq!(r.stderr.lines().count(), 1, "{}", r.stderr);
    assert!(
        r.stderr.contains("no man page for `hook bogus`"),
        "{}",
        r.stderr
    );
    assert!(
        r.stderr.contains("try `git credman man hook pre-push`"),
        "{}",
        r.stderr
    );
}

/// Where Debian's git ships git's own bash completion (contrib/completion/git-completion.bash).
const GIT_BASH_COMPLETION: &str = "/usr/share/bash-completion/completions/git";

/// Completes the words in bash, through git's completion script (`__git_main`, which calls our
/// `_git_credman`) when `words[0]` is `git`, else through ours alone; returns COMPREPLY, one
/// candidate per line.
fn complete(t: &TestRepo, words: &[&str]) -> Vec<String> {
    let script = t.home().join("git-credman.bash");
    let r = run(t.credman().args(["completions", "bash"]));
    assert_eq!(r.code, 0, "{}", r.stderr);
    std::fs::write(&script, r.stdout).unwrap();
    let quoted: Vec<String> = words.iter().map(|w| format!("'{w}'")).collect();
    let entry = if words[0] == "git" {
        "__git_wrap__git_main"
    } else {
        "_git__credman git-credman \"${COMP_WORDS[COMP_CWORD]}\" \"${COMP_WORDS[COMP_CWORD-1]}\""
    };
    let program = format!(
        r#"[ -r /usr/share/bash-completion/bash_completion ] && . /usr/share/bash-completion/bash_completion
. {GIT_BASH_COMPLETION}
. '{}'
COMP_WORDS=({})
COMP_CWORD={}
COMP_LINE="${{COMP_WORDS[*]}}"
COMP_POINT=${{#COMP_LINE}}
{entry}
printf '%s\n' "${{COMPREPLY[@]}}"
"#,
        script.display(),
        quoted.join(" "),
        words.len() - 1
    );
    let out = std::process::Command::new("bash")
        .arg("-c")
        .arg(program)
        .current_dir(&t.root)
        .env_clear()
        .envs(scrubbed_env(t.home()))
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "bash: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(str::to_owned)
        .collect()
}

/// `git credman sc<TAB>` offers `scan` through git's own bash completion, which calls
/// `_git_credman`; a subcommand's options and values complete too (the clap_complete bug
/// worked around in commands/completions.rs), also after git's `-C DIR`.
#[test]
fn bash_completes_git_credman_through_gits_completion() {
    let present = has_program("bash") && std::path::Path::new(GIT_BASH_COMPLETION).exists();
    if !have_client(
        "bash with git's completion",
        present,
        "apt-get install bash-completion git",
    ) {
        return;
    }
    let t = TestRepo::new();
    assert_eq!(complete(&t, &["git", "credman", "sc"]), ["scan "]);
    assert_eq!(complete(&t, &["git", "credman", "pr"]), ["prune "]);
    assert_eq!(
        complete(&t, &["git", "-C", ".", "credman", "scan", "--off"]),
        ["--offline "]
    );
    assert_eq!(
        complete(&t, &["git", "credman", "scan", "--format", "j"]),
        ["json "]
    );
    let hook = complete(&t, &["git", "credman", "hook", ""]);
    for sub in ["pre-push ", "install ", "uninstall "] {
        assert!(hook.contains(&sub.to_owned()), "{hook:?}");
    }
    assert_eq!(
        complete(&t, &["git", "credman", "completions", "f"]),
        ["fish "]
    );
    // The standalone command completes as well.
    assert_eq!(
        complete(&t, &["git-credman", "prune", "--dry"]),
        ["--dry-run"]
    );
}

#[test]
fn zsh_and_fish_scripts_name_the_command() {
    let t = TestRepo::new();
    let zsh = run(t.credman().args(["completions", "zsh"]));
    assert_eq!(zsh.code, 0, "{}", zsh.stderr);
    assert!(
        zsh.stdout.starts_with("#compdef git-credman"),
        "{}",
        zsh.stdout
    );
    assert!(zsh.stdout.contains("_git-credman()"));
    let fish = run(t.credman().args(["completions", "fish"]));
    assert_eq!(fish.code, 0, "{}", fish.stderr);
    assert!(
        fish.stdout.contains("complete -c git-credman"),
        "{}",
        fish.stdout
    );
    let bad = run(t.credman().args(["completions", "tcsh"]));
    assert_eq!(bad.code, 2);
}
