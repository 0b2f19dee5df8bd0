//! The human and CI output formats as insta snapshots: `scan --format text|github|markdown` and
//! the text plan of `prune --dry-run`, run through the real binary offline over the committed
//! fixtures in `tests/fixtures/auths` (fixed dates in 2020/2021 and 2099, placeholder tokens
//! such as `FAKE-codex-access-bob`, so every verdict is the same on every day). Any change to
//! what users read shows up in review. Update with `INSTA_UPDATE=always cargo test --test it
//! formats` (or `cargo insta review`).
//!
//! The only run-dependent value in these outputs is the scanned commit's short id (text header);
//! it is replaced by `[HEAD]` with the exact id git reports, not by a pattern.

use std::path::Path;

use serde_json::Value;

use crate::support::*;

/// A repository holding every fixture under `auths/`, committed; returns its planted secrets.
fn fixture_repo() -> (TestRepo, Vec<String>) {
    let t = TestRepo::new();
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/auths");
    let mut secrets = Vec::new();
    for e in std::fs::read_dir(&dir).unwrap() {
        let p = e.unwrap().path();
        let bytes = std::fs::read(&p).unwrap();
        if let Ok(v) = serde_json::from_slice::<Value>(&bytes) {
            secrets.extend(secrets_of(&v));
        }
        let name = p.file_name().unwrap().to_str().unwrap().to_owned();
        t.write(&format!("auths/{name}"), bytes);
    }
    t.commit_all("fixtures");
    assert!(!secrets.is_empty(), "the fixtures carry placeholder tokens");
    (t, secrets)
}

/// Runs git-credman with `args`, checks the exit code, that stderr is empty and that no planted
/// token reaches stdout; returns stdout with the commit id replaced.
fn output(t: &TestRepo, secrets: &[String], args: &[&str], code: i32) -> String {
    let r = run(t.credman().args(args));
    assert_eq!(r.code, code, "{args:?}\n{}\n{}", r.stdout, r.stderr);
    assert_eq!(r.stderr, "", "{args:?}");
    for s in secrets {
        assert!(!r.stdout.contains(s.as_str()), "{args:?} printed a token");
    }
    let head = t.git(&["rev-parse", "--short=12", "HEAD"]);
    r.stdout.replace(head.trim(), "[HEAD]")
}

#[test]
fn scan_text_snapshot() {
    let (t, secrets) = fixture_repo();
    let out = output(&t, &secrets, &["scan", "--offline", "--format", "text"], 1);
    insta::assert_snapshot!("scan_text", out);
}

#[test]
fn scan_github_snapshot() {
    let (t, secrets) = fixture_repo();
    let out = output(
        &t,
        &secrets,
        &["scan", "--offline", "--format", "github"],
        1,
    );
    insta::assert_snapshot!("scan_github", out);
}

#[test]
fn scan_markdown_snapshot() {
    let (t, secrets) = fixture_repo();
    let out = output(
        &t,
        &secrets,
        &["scan", "--offline", "--format", "markdown"],
        1,
    );
    insta::assert_snapshot!("scan_markdown", out);
}

#[test]
fn prune_dry_run_text_snapshot() {
    let (t, secrets) = fixture_repo();
    let before = t.git(&["rev-parse", "HEAD"]);
    let out = output(
        &t,
        &secrets,
        &["prune", "--offline", "--dry-run", "--format", "text"],
        0,
    );
    assert_eq!(
        t.git(&["rev-parse", "HEAD"]),
        before,
        "a dry run commits nothing"
    );
    insta::assert_snapshot!("prune_dry_run_text", out);
}
