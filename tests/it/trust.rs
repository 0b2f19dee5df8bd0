//! Issue 10 items 8–12: hostile repositories, names and URLs are contained. Settings from a
//! repository git refuses to open are not applied, the folder and server modes do not read the
//! surrounding repository's config, and names cannot forge what git-credman prints.
//! https://github.com/git-credman/git-credman/issues/10

use std::sync::atomic::Ordering;
use std::time::Duration;

use serde_json::json;

use crate::support::providers::*;
use crate::support::*;

/// `GIT_CREDMAN_ENDPOINTS` sending every provider origin to a closed loopback port: with it, a
/// request can only succeed through a proxy, and nothing ever leaves the machine.
fn dead_endpoints() -> String {
    let dead = format!("http://127.0.0.1:{}", dead_port());
    ORIGINS
        .iter()
        .map(|o| format!("{o}={dead}"))
        .collect::<Vec<_>>()
        .join(",")
}

fn kimi_repo() -> TestRepo {
    let t = TestRepo::new();
    t.write_json(
        "auths/kimi.json",
        &json!({"type":"kimi","access_token": format!("kimi-{}", noise("trust", 40))}),
    );
    t.commit_all("init");
    t
}

/// Gives the repository to another user (nobody); false when this process may not (not root).
fn give_away(t: &TestRepo) -> bool {
    std::process::Command::new("chown")
        .args(["-R", "65534:65534"])
        .arg(&t.root)
        .status()
        .is_ok_and(|s| s.success())
}

#[test]
fn regression_10_untrusted_repository_config_is_not_applied() {
    let proxy = CountingServer::start(Duration::ZERO, r#"{"usage":{"used":1}}"#);
    let t = kimi_repo();
    // The repository's owner points every request at their own proxy.
    t.git(&["config", "credman.proxy", &proxy.uri()]);
    t.git(&["config", "credman.format", "json"]);
    if !give_away(&t) {
        eprintln!("skipped: cannot chown (not root)");
        return;
    }
    // git itself refuses this repository.
    let git = std::process::Command::new("git")
        .args(["status"])
        .current_dir(&t.root)
        .env_clear()
        .envs(scrubbed_env(t.home()))
        .output()
        .unwrap();
    assert!(!git.status.success());
    assert!(String::from_utf8_lossy(&git.stderr).contains("dubious ownership"));

    let r = run(t
        .credman()
        .args(["scan", "--retries", "0"])
        .env("GIT_CREDMAN_ENDPOINTS", dead_endpoints()));
    assert_eq!(
        proxy.total.load(Ordering::SeqCst),
        0,
        "a request went to the untrusted repository's proxy"
    );
    assert!(
        !r.stdout.trim_start().starts_with('{'),
        "credman.format from the untrusted config was applied: {}",
        r.stdout
    );
    assert!(r.stdout.contains("check_error"), "{}", r.stdout);
    assert!(r.stderr.contains("safe.directory"), "{}", r.stderr);

    // Listed in safe.directory (global config), the repository is trusted again, as by git.
    std::fs::write(
        t.home().join(".gitconfig"),
        format!("[safe]\n\tdirectory = {}\n", t.root.display()),
    )
    .unwrap();
    let r = run(t
        .credman()
        .args(["scan", "--retries", "0"])
        .env("GIT_CREDMAN_ENDPOINTS", dead_endpoints()));
    assert!(r.stdout.trim_start().starts_with('{'), "{}", r.stdout);
    assert_eq!(result(&r.json(), "auths/kimi.json")["status"], "active");
    assert!(proxy.total.load(Ordering::SeqCst) > 0);
}

#[test]
fn regression_10_dir_mode_ignores_the_surrounding_repository_config() {
    let proxy = CountingServer::start(Duration::ZERO, r#"{"usage":{"used":1}}"#);
    let t = TestRepo::new();
    t.git(&["config", "credman.proxy", &proxy.uri()]);
    t.write_json(
        "pool/kimi.json",
        &json!({"type":"kimi","access_token": format!("kimi-{}", noise("dir", 40))}),
    );
    let scan = |asked: Option<&str>| {
        let mut cmd = t.credman();
        cmd.args([
            "scan",
            "--dir",
            "pool",
            "--format",
            "json",
            "--retries",
            "0",
        ])
        .env("GIT_CREDMAN_ENDPOINTS", dead_endpoints());
        if let Some(v) = asked {
            cmd.env("GIT_CREDMAN_REPO_CONFIG", v);
        }
        run(&mut cmd)
    };
    let r = scan(None);
    assert_eq!(result(&r.json(), "kimi.json")["status"], "check_error");
    assert_eq!(proxy.total.load(Ordering::SeqCst), 0);
    // Asked for, the repository's config applies.
    let r = scan(Some("true"));
    assert_eq!(
        result(&r.json(), "kimi.json")["status"],
        "active",
        "{}",
        r.stdout
    );
    assert!(proxy.total.load(Ordering::SeqCst) > 0);
    let r = scan(Some("maybe"));
    assert_eq!(r.code, 2);
    assert!(r.stderr.contains("GIT_CREDMAN_REPO_CONFIG"), "{}", r.stderr);
}

#[test]
fn regression_10_a_file_name_cannot_forge_the_embedded_report() {
    let t = TestRepo::new();
    let forged = "{\"results\": [{\"path\": \"auths/FORGED.json\", \"status\": \"invalidated\"}]}";
    let name = format!(
        "auths/x\n-----BEGIN CREDMAN REPORT-----\n{forged}\n-----END CREDMAN REPORT-----\n.json"
    );
    t.write_json(&name, &codex_dead("eve@example.com", "acct-e"));
    t.write_json(
        "auths/\u{1b}[2J\u{1b}]0;owned\u{7}.json",
        &codex_dead("mallory@example.com", "acct-m"),
    );
    t.write_json(
        "auths/live.json",
        &codex_live("alice@example.com", "acct-a", "plus"),
    );
    t.commit_all("init");

    let scan = run(t.credman().args(["scan", "--offline"]));
    assert!(!scan.stdout.contains('\u{1b}'), "{}", scan.stdout);
    assert!(!scan.stdout.contains("\n-----BEGIN"), "{}", scan.stdout);
    assert!(scan.stdout.contains("\\u{1b}[2J"), "{}", scan.stdout);

    let r = run(t.credman().args(["prune", "--offline"]));
    assert_eq!(r.code, 0, "{}{}", r.stdout, r.stderr);
    assert!(!r.stdout.contains('\u{1b}'), "{}", r.stdout);
    t.git(&["fsck", "--strict"]);
    assert_eq!(t.git(&["status", "--porcelain"]), "");
    let msg = t.git(&["log", "-1", "--format=%B"]);
    assert_eq!(
        msg.lines()
            .filter(|l| *l == "-----BEGIN CREDMAN REPORT-----")
            .count(),
        1,
        "only git-credman's own marker line: {msg}"
    );
    assert!(!msg.contains('\u{1b}'));

    let shown = run(t.credman().args(["show", "--format", "json"]));
    assert_eq!(shown.code, 0, "{}", shown.stderr);
    let report = shown.json();
    let mut removed = paths(&report["report"]);
    removed.sort();
    let mut expected = vec![
        name.clone(),
        "auths/\u{1b}[2J\u{1b}]0;owned\u{7}.json".to_owned(),
    ];
    expected.sort();
    assert_eq!(removed, expected);
    let text = run(t.credman().args(["show"]));
    assert!(
        !text
            .stdout
            .lines()
            .any(|l| l.trim_start().starts_with("auths/FORGED.json")),
        "{}",
        text.stdout
    );
    assert!(!text.stdout.contains('\u{1b}'), "{}", text.stdout);
    assert!(text.stdout.contains("Removed (2):"), "{}", text.stdout);
}

#[test]
fn regression_10_markdown_and_workflow_commands_escape_names() {
    let t = TestRepo::new();
    t.write_json(
        "auths/a|b`</details><img src=x>\n::error::fake.json",
        &codex_dead("eve@example.com", "acct-e"),
    );
    t.commit_all("init");
    let md = run(t
        .credman()
        .args(["scan", "--offline", "--format", "markdown"]));
    assert!(!md.stdout.contains("</details><img"), "{}", md.stdout);
    assert!(!md.stdout.contains("\n::error"), "{}", md.stdout);
    let gh = run(t
        .credman()
        .args(["scan", "--offline", "--format", "github"]));
    assert_eq!(gh.stdout.lines().count(), 2, "{}", gh.stdout);
    assert!(
        gh.stdout
            .lines()
            .all(|l| l.starts_with("::error ") || l.starts_with("::notice ")),
        "{}",
        gh.stdout
    );
}

#[test]
fn regression_10_the_prune_commit_carries_no_local_path() {
    let t = TestRepo::new();
    t.write_json(
        "auths/dead.json",
        &codex_dead("carol@example.com", "acct-2"),
    );
    t.write_json(
        "auths/live.json",
        &codex_live("alice@example.com", "acct-1", "plus"),
    );
    t.commit_all("init");
    let r = run(t.credman().args(["prune", "--offline"]));
    assert_eq!(r.code, 0, "{}{}", r.stdout, r.stderr);
    let msg = t.git(&["log", "-1", "--format=%B"]);
    let root = std::fs::canonicalize(&t.root).unwrap();
    for local in [t.root.display().to_string(), root.display().to_string()] {
        assert!(!msg.contains(&local), "{local} in {msg}");
    }
    assert!(!msg.contains("\"repo\""), "{msg}");
    let shown = run(t.credman().args(["show", "--format", "json"]));
    assert_eq!(shown.json()["report"]["source"]["kind"], "head");
    assert_eq!(paths(&shown.json()["report"]), ["auths/dead.json"]);
}

#[test]
fn regression_10_bad_durations_exit_2_with_one_line() {
    let t = kimi_repo();
    let endpoints = dead_endpoints();
    type Case<'a> = (Vec<&'a str>, Option<(&'a str, &'a str)>);
    let cases: Vec<Case<'_>> = vec![
        (vec!["--timeout", "1e300"], None),
        (vec!["--deadline", "1e300"], None),
        (vec![], Some(("GIT_CREDMAN_TIMEOUT", "-1"))),
        (vec![], Some(("GIT_CREDMAN_TIMEOUT", "NaN"))),
        (
            vec![],
            Some(("GIT_CREDMAN_PER_HOST", "18446744073709551615")),
        ),
    ];
    for (flags, env) in cases {
        let mut cmd = t.credman();
        cmd.arg("scan")
            .args(&flags)
            .env("GIT_CREDMAN_ENDPOINTS", &endpoints);
        if let Some((k, v)) = env {
            cmd.env(k, v);
        }
        let r = run(&mut cmd);
        assert_eq!(r.code, 2, "{flags:?} {env:?}: {}", r.stderr);
        assert_eq!(r.stderr.trim().lines().count(), 1, "{}", r.stderr);
        assert!(r.stderr.starts_with("error: invalid value"), "{}", r.stderr);
    }
    // A repository's config can set them too; the pre-push gate must not crash on it.
    t.git(&["config", "credman.timeout", "-1"]);
    let head = t.git(&["rev-parse", "HEAD"]);
    let zero = "0".repeat(40);
    let r = run(t
        .credman()
        .args(["hook", "pre-push", "--online", "origin"])
        .env("GIT_CREDMAN_ENDPOINTS", &endpoints)
        .write_stdin(format!(
            "refs/heads/main {} refs/heads/main {zero}\n",
            head.trim()
        )));
    assert_eq!(r.code, 2, "{}{}", r.stdout, r.stderr);
    assert!(r.stderr.contains("credman.timeout"), "{}", r.stderr);
}
