//! Every `--help` as a snapshot (insta): headings group each flag where it belongs (issue #12
//! item 9), and any change to the user documentation shows up in review. Update with
//! `INSTA_UPDATE=always cargo test --test it help` (or `cargo insta review`).

use crate::support::*;

const COMMANDS: &[&[&str]] = &[
    &[],
    &["scan"],
    &["prune"],
    &["show"],
    &["restore"],
    &["hook"],
    &["hook", "pre-push"],
    &["hook", "install"],
    &["hook", "uninstall"],
    &["man"],
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
