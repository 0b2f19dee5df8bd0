//! `git credman scan --offline` against real repositories built with the git CLI.

use serde_json::json;

use crate::support::*;

fn scan_json(t: &TestRepo, extra: &[&str]) -> Run {
    let mut args = vec!["scan", "--offline", "--format", "json"];
    args.extend_from_slice(extra);
    run(t.credman().args(&args))
}

/// A repository with one live, one refreshable and one dead credential under auths/.
fn mixed_repo() -> TestRepo {
    let t = TestRepo::new();
    t.write_json(
        "auths/codex-live.json",
        &codex_live("alice@example.com", "acct-1", "plus"),
    );
    t.write_json(
        "auths/claude-refreshable.json",
        &json!({"type":"claude","email":"bob@example.com","access_token": claude_access(),
            "refresh_token": claude_refresh(), "expired": rfc_in(-3600)}),
    );
    t.write_json(
        "auths/codex-dead.json",
        &codex_dead("carol@example.com", "acct-2"),
    );
    t.write("README.md", "auth repo\n");
    t.commit_all("initial");
    t
}

#[test]
fn head_scan_classifies_and_fails_on_dead() {
    let t = mixed_repo();
    let r = scan_json(&t, &[]);
    assert_eq!(r.code, 1, "{}", r.stderr);
    let report = r.json();
    assert_eq!(report["schema_version"], 1);
    assert_eq!(report["mode"], "offline");
    assert_eq!(report["source"]["kind"], "head");
    assert_eq!(report["source"]["auth_path"], "auths");
    assert_eq!(
        report["source"]["commit"].as_str().unwrap(),
        t.git(&["rev-parse", "HEAD"]).trim()
    );
    assert_eq!(report["summary"]["total"], 3);
    assert_eq!(report["summary"]["by_status"]["unverified"], 1);
    assert_eq!(report["summary"]["by_status"]["expired_refreshable"], 1);
    assert_eq!(report["summary"]["by_status"]["expired_by_time"], 1);
    assert_eq!(report["summary"]["by_provider"]["codex"], 2);
    assert_eq!(
        paths(&report),
        [
            "auths/claude-refreshable.json",
            "auths/codex-dead.json",
            "auths/codex-live.json"
        ]
    );
    let live = result(&report, "auths/codex-live.json");
    assert_eq!(live["status"], "unverified");
    assert_eq!(live["class"], "alive");
    assert_eq!(live["account"], "a***@example.com");
    assert_eq!(live["plan"], "plus");
    assert_eq!(live["has_refresh_token"], true);
    assert!(live["http_status"].is_null());
    assert_eq!(live["fingerprint"].as_str().unwrap().len(), 12);
    assert_eq!(
        live["blob"].as_str().unwrap(),
        t.git(&["rev-parse", "HEAD:auths/codex-live.json"]).trim()
    );
    let dead = result(&report, "auths/codex-dead.json");
    assert_eq!(dead["status"], "expired_by_time");
    assert!(
        dead["reason"].as_str().unwrap().contains("JWT exp"),
        "{dead}"
    );
    for key in [
        "path",
        "provider",
        "status",
        "reason",
        "http_status",
        "fingerprint",
        "account",
        "expires_at",
        "has_refresh_token",
        "disabled",
        "blob",
        "duplicates",
    ] {
        assert!(dead.get(key).is_some(), "missing {key}");
    }
}

#[test]
fn head_scan_reads_the_object_database_and_flags_worktree_changes() {
    let t = mixed_repo();
    // The working tree now has a healthy file where HEAD has a dead one, and one file is gone.
    t.write_json(
        "auths/codex-dead.json",
        &codex_live("carol@example.com", "acct-2", "plus"),
    );
    std::fs::remove_file(t.root.join("auths/codex-live.json")).unwrap();
    let report = scan_json(&t, &[]).json();
    let dead = result(&report, "auths/codex-dead.json");
    assert_eq!(
        dead["status"], "expired_by_time",
        "HEAD's blob is scanned, not the working tree"
    );
    assert_eq!(dead["worktree"], "modified");
    assert_eq!(
        result(&report, "auths/codex-live.json")["worktree"],
        "deleted"
    );
    assert!(result(&report, "auths/claude-refreshable.json")["worktree"].is_null());
    assert_eq!(report["summary"]["worktree_differs"], 2);
    let text = run(t.credman().args(["scan", "--offline"]));
    assert!(
        text.stdout
            .contains("Working tree differs from what was scanned (2)"),
        "{}",
        text.stdout
    );
}

#[test]
fn staged_scan_reads_the_index() {
    let t = mixed_repo();
    t.write_json("auths/new-dead.json", &json!({"type":"kimi"}));
    t.git(&["add", "auths/new-dead.json"]);
    t.git(&["rm", "-q", "--cached", "auths/codex-dead.json"]);
    let head = scan_json(&t, &[]).json();
    assert!(!paths(&head).contains(&"auths/new-dead.json".to_owned()));
    let r = scan_json(&t, &["--staged"]);
    let staged = r.json();
    assert_eq!(staged["source"]["kind"], "index");
    assert_eq!(
        result(&staged, "auths/new-dead.json")["status"],
        "missing_token"
    );
    assert!(!paths(&staged).contains(&"auths/codex-dead.json".to_owned()));
    assert_eq!(r.code, 1);
}

#[test]
fn rev_scan_reads_any_commit() {
    let t = mixed_repo();
    t.git(&["rm", "-q", "auths/codex-dead.json"]);
    t.git(&["commit", "-q", "-m", "remove dead"]);
    assert_eq!(scan_json(&t, &[]).code, 0);
    let r = scan_json(&t, &["--rev", "HEAD~1"]);
    assert_eq!(r.code, 1);
    let report = r.json();
    assert_eq!(report["source"]["kind"], "rev");
    assert_eq!(report["source"]["rev"], "HEAD~1");
    assert_eq!(
        report["source"]["commit"].as_str().unwrap(),
        t.git(&["rev-parse", "HEAD~1"]).trim()
    );
    assert_eq!(
        result(&report, "auths/codex-dead.json")["status"],
        "expired_by_time"
    );
    let bad = run(t
        .credman()
        .args(["scan", "--offline", "--rev", "no-such-branch"]));
    assert_eq!(bad.code, 2);
    assert!(
        bad.stderr.contains("unknown revision 'no-such-branch'"),
        "{}",
        bad.stderr
    );
}

#[test]
fn dir_scan_needs_no_git_and_recurses() {
    let t = TestRepo::bare_dir();
    let dir = t.home().join("auths");
    std::fs::create_dir_all(dir.join("sub")).unwrap();
    std::fs::write(dir.join("a.json"), codex_dead("x@y.z", "acct").to_string()).unwrap();
    std::fs::write(
        dir.join("sub/b.json"),
        codex_live("q@y.z", "acct-b", "team").to_string(),
    )
    .unwrap();
    std::fs::write(dir.join(".oauth-codex-abc.oauth"), "{}").unwrap();
    std::fs::write(dir.join("notes.txt"), "hello").unwrap();
    let r = run(t.credman_in(t.home()).args([
        "scan",
        "--offline",
        "--format",
        "json",
        "--dir",
        "auths",
    ]));
    assert_eq!(r.code, 1, "{}", r.stderr);
    let report = r.json();
    assert_eq!(report["source"]["kind"], "dir");
    assert_eq!(paths(&report), ["a.json", "sub/b.json"]);
    assert!(result(&report, "a.json")["blob"].is_null());
    let missing = run(t
        .credman_in(t.home())
        .args(["scan", "--offline", "--dir", "nope"]));
    assert_eq!(missing.code, 2);
    assert!(
        missing.stderr.contains("cannot read directory"),
        "{}",
        missing.stderr
    );
}

#[test]
fn outside_a_repository_is_a_clear_error() {
    let t = TestRepo::bare_dir();
    let r = run(t.credman_in(t.home()).args(["scan", "--offline"]));
    assert_eq!(r.code, 2);
    assert!(r.stderr.starts_with("error: "), "{}", r.stderr);
    assert!(r.stderr.contains("not a git repository"), "{}", r.stderr);
    assert!(r.stderr.contains("--dir"), "{}", r.stderr);
}

#[test]
fn unborn_branch_is_a_clear_error() {
    let t = TestRepo::new();
    let r = run(t.credman().args(["scan", "--offline"]));
    assert_eq!(r.code, 2);
    assert!(r.stderr.contains("unborn"), "{}", r.stderr);
}

#[test]
fn pathspecs_limit_the_scan_relative_to_cwd() {
    let t = mixed_repo();
    t.write_json(
        "other/extra.json",
        &json!({"type":"kimi","access_token":"abcdefgh-1234"}),
    );
    t.commit_all("extra");
    let r = scan_json(&t, &["auths/codex-*"]);
    assert_eq!(
        paths(&r.json()),
        ["auths/codex-dead.json", "auths/codex-live.json"]
    );
    let r = scan_json(&t, &["other"]);
    assert_eq!(paths(&r.json()), ["other/extra.json"]);
    assert_eq!(r.code, 0);
    let sub = run(t.credman_in(&t.root.join("auths")).args([
        "scan",
        "--offline",
        "--format",
        "json",
        "codex-live.json",
    ]));
    assert_eq!(paths(&sub.json()), ["auths/codex-live.json"]);
    let outside = run(t.credman().args(["scan", "--offline", "../x"]));
    assert_eq!(outside.code, 2);
}

#[test]
fn without_an_auth_dir_only_credential_shaped_json_counts() {
    let t = TestRepo::new();
    t.write(
        "package.json",
        r#"{"name":"x","version":"1.0.0","type":"module"}"#,
    );
    t.write("config/broken.json", "{not json");
    t.write_json(
        "creds/claude.json",
        &json!({"type":"claude","access_token": claude_access()}),
    );
    t.commit_all("init");
    let r = scan_json(&t, &[]);
    assert_eq!(r.code, 0, "{}", r.stdout);
    let report = r.json();
    assert!(report["source"].get("auth_path").is_none());
    assert_eq!(paths(&report), ["creds/claude.json"]);
}

#[test]
fn auth_path_comes_from_git_config() {
    let t = TestRepo::new();
    t.write_json("pool/a.json", &json!({"type":"unknown-thing"}));
    t.write_json("auths/b.json", &codex_live("b@x.io", "acct-b", "plus"));
    t.commit_all("init");
    t.git(&["config", "credman.path", "pool"]);
    let report = scan_json(&t, &[]).json();
    assert_eq!(report["source"]["auth_path"], "pool");
    assert_eq!(paths(&report), ["pool/a.json"]);
    // No known provider type and no token: not a credential, never a dead one (issue #17).
    assert_eq!(result(&report, "pool/a.json")["status"], "invalid_file");
    let flag = scan_json(&t, &["--auth-path", "auths"]).json();
    assert_eq!(paths(&flag), ["auths/b.json"]);
}

#[test]
fn invalid_files_under_the_auth_path_are_reported() {
    let t = TestRepo::new();
    t.write("auths/empty.json", "");
    t.write("auths/garbage.json", "{\"type\": \"codex\", ");
    t.write("auths/array.json", "[1,2]");
    t.write("auths/.oauth-codex-state.oauth", "{}");
    t.commit_all("init");
    let r = scan_json(&t, &[]);
    assert_eq!(r.code, 1);
    let report = r.json();
    assert_eq!(
        paths(&report),
        ["auths/array.json", "auths/empty.json", "auths/garbage.json"]
    );
    for p in paths(&report) {
        assert_eq!(result(&report, &p)["status"], "invalid_file");
    }
    assert_eq!(result(&report, "auths/empty.json")["reason"], "empty file");
    assert!(
        result(&report, "auths/array.json")["reason"]
            .as_str()
            .unwrap()
            .contains("not an object")
    );
}

#[cfg(unix)]
#[test]
fn symlinks_are_reported_never_followed() {
    let t = TestRepo::new();
    let outside = t.home().join("secret.json");
    std::fs::write(&outside, codex_dead("x@y.z", "a").to_string()).unwrap();
    t.write_json("auths/real.json", &codex_live("r@y.z", "acct-r", "plus"));
    std::os::unix::fs::symlink(&outside, t.root.join("auths/link.json")).unwrap();
    t.commit_all("init");
    let report = scan_json(&t, &[]).json();
    let link = result(&report, "auths/link.json");
    assert_eq!(link["status"], "unknown");
    assert!(link["reason"].as_str().unwrap().contains("not followed"));
    assert_eq!(link["provider"], "unknown");
    // Dir mode: the same.
    let r = run(t
        .credman()
        .args(["scan", "--offline", "--format", "json", "--dir", "auths"]));
    let report = r.json();
    assert_eq!(result(&report, "link.json")["status"], "unknown");
    assert_eq!(r.code, 0, "the dead target outside the tree was not read");
}

#[test]
fn duplicates_by_account_and_by_token() {
    let t = TestRepo::new();
    let a = codex_live("alice@example.com", "acct-1", "plus");
    t.write_json("auths/a.json", &a);
    t.write_json(
        "auths/a-copy.json",
        &codex_live("alice@example.com", "acct-1", "plus"),
    );
    t.write_json(
        "auths/a-team.json",
        &codex_live("alice@example.com", "acct-1", "team"),
    );
    let shared = format!("kimi-{}", noise("shared", 40));
    t.write_json(
        "auths/k1.json",
        &json!({"type":"kimi","access_token": shared}),
    );
    t.write_json(
        "auths/k2.json",
        &json!({"type":"kimi","access_token": shared}),
    );
    t.commit_all("init");
    let report = scan_json(&t, &[]).json();
    assert_eq!(
        result(&report, "auths/a.json")["duplicates"],
        json!(["auths/a-copy.json"])
    );
    assert_eq!(
        result(&report, "auths/a-team.json")["duplicates"],
        json!([])
    );
    assert_eq!(
        result(&report, "auths/k1.json")["duplicates"],
        json!(["auths/k2.json"])
    );
    assert_eq!(report["summary"]["duplicates"], 4);
}

/// Issue 10 item 14: duplicates are recorded as groups, not pairs: 1,500 files sharing one
/// token are one group, each file lists at most 10 others, and the text report lists the
/// group once.
#[test]
fn regression_10_duplicate_groups_are_linear() {
    let t = TestRepo::bare_dir();
    let pool = t.home().join("pool");
    std::fs::create_dir_all(&pool).unwrap();
    let shared = format!("kimi-{}", noise("many", 40));
    let n = 1500;
    for i in 0..n {
        std::fs::write(
            pool.join(format!("k{i:04}.json")),
            json!({"type":"kimi","access_token": shared}).to_string(),
        )
        .unwrap();
    }
    std::fs::write(
        pool.join("other.json"),
        json!({"type":"kimi","access_token": format!("kimi-{}", noise("alone", 40))}).to_string(),
    )
    .unwrap();
    let r = run(t.credman_in(t.home()).args([
        "scan",
        "--offline",
        "--format",
        "json",
        "--dir",
        "pool",
    ]));
    assert!(
        r.stdout.len() < 3_000_000,
        "report of {} bytes",
        r.stdout.len()
    );
    let report = r.json();
    let first = result(&report, "k0000.json");
    assert_eq!(first["duplicate_group"], json!({"id": 1, "size": n}));
    assert_eq!(first["duplicates"].as_array().unwrap().len(), 10);
    assert_eq!(first["duplicates"][0], "k0001.json");
    let last = result(&report, &format!("k{:04}.json", n - 1));
    assert_eq!(last["duplicate_group"]["id"], 1);
    assert_eq!(last["duplicates"][0], "k0000.json");
    assert!(result(&report, "other.json")["duplicate_group"].is_null());
    assert_eq!(report["summary"]["duplicates"], n);
    assert_eq!(report["summary"]["duplicate_groups"], 1);

    let text = run(t
        .credman_in(t.home())
        .args(["scan", "--offline", "--dir", "pool"]));
    assert!(
        text.stdout
            .contains(&format!("Duplicates ({n} files in 1 group hold")),
        "{}",
        &text.stdout[..text.stdout.len().min(2000)]
    );
    let group_lines = text.stdout.lines().filter(|l| l.contains(" = ")).count();
    assert_eq!(group_lines, 1);
    assert!(text.stdout.len() < 100_000, "{} bytes", text.stdout.len());
}

#[test]
fn exit_codes_follow_the_fail_set() {
    let t = mixed_repo();
    assert_eq!(run(t.credman().args(["scan", "--offline"])).code, 1);
    assert_eq!(
        run(t.credman().args(["scan", "--offline", "--fail-on", "none"])).code,
        0
    );
    assert_eq!(
        run(t
            .credman()
            .args(["scan", "--offline", "--fail-on", "expired_refreshable"]))
        .code,
        1
    );
    let bad = run(t
        .credman()
        .args(["scan", "--offline", "--fail-on", "expired"]));
    assert_eq!(bad.code, 2);
    t.git(&["config", "credman.failOn", "missing_token"]);
    assert_eq!(run(t.credman().args(["scan", "--offline"])).code, 0);
    assert_eq!(
        run(t
            .credman()
            .args(["scan", "--offline"])
            .env("GIT_CREDMAN_FAIL_ON", "dead"))
        .code,
        1
    );
    t.git(&["config", "credman.failOn", "bogus"]);
    let bad = run(t.credman().args(["scan", "--offline"]));
    assert_eq!(bad.code, 2);
    assert!(bad.stderr.contains("credman.failOn"), "{}", bad.stderr);
}

#[test]
fn report_file_is_private_atomic_and_equal_to_stdout() {
    let t = mixed_repo();
    let r = run(t.credman().args([
        "scan",
        "--offline",
        "--format",
        "json",
        "--report",
        "../out/report.json",
    ]));
    assert_eq!(r.code, 2, "missing parent dir is an error");
    std::fs::create_dir(t.home().join("out")).unwrap();
    let r = run(t.credman().args([
        "scan",
        "--offline",
        "--format",
        "json",
        "--report",
        "../out/report.json",
    ]));
    assert_eq!(r.code, 1);
    let file = t.home().join("out/report.json");
    let written = read_report(&file);
    assert_eq!(written, r.json());
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt as _;
        assert_eq!(
            std::fs::metadata(&file).unwrap().permissions().mode() & 0o777,
            0o600
        );
    }
    let leftovers: Vec<_> = std::fs::read_dir(t.home().join("out")).unwrap().collect();
    assert_eq!(leftovers.len(), 1, "no temporary file left behind");
}

#[test]
fn text_report_summarises_and_colours_only_when_asked() {
    let t = mixed_repo();
    let r = run(t.credman().args(["scan", "--offline"]));
    assert!(
        r.stdout.contains("3 credential files in HEAD"),
        "{}",
        r.stdout
    );
    assert!(r.stdout.contains("expired_by_time"));
    assert!(r.stdout.contains("auths/codex-dead.json"));
    assert!(r.stdout.contains("FAIL: 1 file(s)"));
    assert!(!r.stdout.contains('\u{1b}'), "no colour on a pipe");
    let c = run(t.credman().args(["--color", "always", "scan", "--offline"]));
    assert!(c.stdout.contains('\u{1b}'));
    let nc = run(t.credman().args(["scan", "--offline"]).env("NO_COLOR", "1"));
    assert!(!nc.stdout.contains('\u{1b}'));
}

#[test]
fn chdir_option_works_like_git_c() {
    let t = mixed_repo();
    let r =
        run(t
            .credman_in(t.home())
            .args(["-C", "repo", "scan", "--offline", "--format", "json"]));
    assert_eq!(r.json()["summary"]["total"], 3);
}

#[test]
fn identities_are_masked_unless_asked() {
    let t = mixed_repo();
    let masked = scan_json(&t, &[]);
    assert!(!masked.stdout.contains("alice@example.com"));
    let shown = scan_json(&t, &["--show-identities"]);
    assert_eq!(
        result(&shown.json(), "auths/codex-live.json")["account"],
        "alice@example.com"
    );
}

/// Every output of every variant is searched for every planted secret.
#[test]
fn no_planted_secret_reaches_any_output() {
    let t = TestRepo::new();
    let files = vec![
        (
            "auths/codex.json",
            codex_live("alice@example.com", "acct-1", "plus"),
        ),
        (
            "auths/codex-dead.json",
            codex_dead("bob@example.com", "acct-2"),
        ),
        (
            "auths/claude.json",
            json!({"type":"claude","access_token": claude_access(), "refresh_token": claude_refresh(),
            "expired": rfc_in(-10)}),
        ),
        (
            "auths/ag.json",
            json!({"type":"antigravity","access_token": google_access(), "refresh_token": google_refresh(),
            "expired": rfc_in(3000)}),
        ),
        (
            "auths/gemini.json",
            json!({"type":"gemini","token":{"access_token": google_access(),
            "refresh_token": google_refresh(), "client_secret": format!("GOCSPX-{}", noise("cs", 28))}}),
        ),
        (
            "auths/vertex.json",
            json!({"type":"vertex","service_account":{"private_key":
            format!("-----BEGIN {}-----\n{}\n-----END PRIVATE KEY-----\n", "PRIVATE KEY", noise("pk", 200)),
            "client_email":"sa@p.iam.gserviceaccount.com"}}),
        ),
        (
            "auths/iflow.json",
            json!({"type":"iflow","api_key": format!("sk-{}", noise("iflow", 40)),
            "cookie": format!("session={}", noise("cookie", 40))}),
        ),
    ];
    let mut planted = Vec::new();
    for (p, v) in &files {
        t.write_json(p, v);
        planted.extend(secrets_of(v));
    }
    // A broken file whose content is a token must not leak through the parse error either.
    let broken = format!(
        "{{\"type\":\"codex\",\"access_token\":\"{}",
        claude_access()
    );
    planted.push(claude_access_from(&broken));
    t.write("auths/broken.json", &broken);
    t.commit_all("init");
    assert!(planted.len() >= 12, "{}", planted.len());
    std::fs::create_dir(t.home().join("out")).unwrap();
    let variants: Vec<Vec<&str>> = vec![
        vec!["scan", "--offline"],
        vec![
            "scan",
            "--offline",
            "--format",
            "json",
            "--report",
            "../out/r.json",
        ],
        vec!["scan", "--offline", "--show-identities", "-vvv"],
        vec!["--color", "always", "scan", "--offline", "--staged"],
        vec!["scan", "--offline", "--dir", "auths", "--format", "json"],
    ];
    for args in variants {
        let r = run(t.credman().args(&args));
        let report = std::fs::read_to_string(t.home().join("out/r.json")).unwrap_or_default();
        for secret in &planted {
            for (name, text) in [
                ("stdout", &r.stdout),
                ("stderr", &r.stderr),
                ("report", &report),
            ] {
                assert!(
                    !text.contains(secret.as_str()),
                    "{args:?}: {name} leaks a planted secret"
                );
                // Also no sizeable fragment of it.
                let frag = &secret[secret.len() / 2..secret.len() / 2 + 16.min(secret.len() / 2)];
                assert!(
                    !text.contains(frag),
                    "{args:?}: {name} leaks part of a planted secret"
                );
            }
        }
    }
}

fn claude_access_from(broken: &str) -> String {
    broken.rsplit('"').next().unwrap().to_owned()
}

#[test]
fn help_explains_statuses_and_exit_codes() {
    let t = TestRepo::bare_dir();
    let r = run(t.credman_in(t.home()).args(["scan", "--help"]));
    assert_eq!(r.code, 0);
    for needle in [
        "--offline",
        "--staged",
        "--rev",
        "--dir",
        "--fail-on",
        "expired_refreshable",
        "Exit status",
    ] {
        assert!(r.stdout.contains(needle), "help lacks {needle}");
    }
}

#[test]
fn man_page_renders() {
    let t = TestRepo::bare_dir();
    let r = run(t.credman_in(t.home()).arg("man"));
    assert_eq!(r.code, 0);
    assert!(
        r.stdout.starts_with(".ie") || r.stdout.contains(".TH git-credman"),
        "{}",
        &r.stdout[..200.min(r.stdout.len())]
    );
    assert!(r.stdout.contains("scan") && r.stdout.contains("prune"));
}

/// A JSON file without a credential's shape is never a dead credential, whatever the pathspec:
/// `package.json` (`"type": "module"`, no token) is `invalid_file`, not `missing_token`, so a
/// prune of the dead statuses cannot select it (issue #17).
#[test]
fn json_that_is_not_a_credential_is_never_dead() {
    let t = TestRepo::new();
    t.write_json(
        "package.json",
        &json!({"name":"pool","type":"module","version":"1.0.0"}),
    );
    t.write_json("tsconfig.json", &json!({"compilerOptions":{"strict":true}}));
    t.write_json(
        "auths/claude-x.json",
        &json!({"type":"claude","email":"x@y.io"}),
    );
    t.commit_all("init");
    let report = scan_json(&t, &["."]).json();
    assert_eq!(result(&report, "package.json")["status"], "invalid_file");
    assert_eq!(result(&report, "tsconfig.json")["status"], "invalid_file");
    // A file CPA would load as claude, with no token at all, is still missing_token.
    assert_eq!(
        result(&report, "auths/claude-x.json")["status"],
        "missing_token"
    );
    let r = run(t.credman().args([
        "prune",
        "--offline",
        "--dry-run",
        "--status",
        "expired_by_time,missing_token",
        "--format",
        "json",
        ".",
    ]));
    let selected = paths(&r.json());
    assert_eq!(selected, ["auths/claude-x.json"], "{}", r.stderr);
}

/// A typo must never turn a gate green (issue #12 item 5): a pathspec that matches nothing, an
/// unknown `--provider`, and an auth path that holds nothing each exit 2 with one line naming
/// what matched nothing. Git's pathspec magic `:(glob)` works; unsupported magic is refused.
#[test]
fn typos_fail_loudly_instead_of_scanning_nothing() {
    let t = TestRepo::new();
    t.write_json(
        "auths/codex-a.json",
        &codex_live("a@example.com", "acct-a", "plus"),
    );
    t.write_json(
        "auths/team/codex-b.json",
        &codex_live("b@example.com", "acct-b", "plus"),
    );
    t.commit_all("init");
    for (args, needle) in [
        (
            vec!["auths/nomatch-*"],
            "pathspec 'auths/nomatch-*' did not match",
        ),
        (vec!["nope.json"], "pathspec 'nope.json' did not match"),
        (
            vec!["--provider", "codx"],
            "--provider 'codx' matched no credential",
        ),
        (
            vec!["--auth-path", "nope"],
            "the auth path 'nope' (from --auth-path)",
        ),
        (vec![":(icase)auths"], "magic git-credman does not support"),
    ] {
        let r = scan_json(&t, &args);
        assert_eq!(r.code, 2, "{args:?}: {}", r.stdout);
        assert!(r.stderr.contains(needle), "{args:?}: {}", r.stderr);
        assert_eq!(r.stderr.trim().lines().count(), 1, "{}", r.stderr);
    }
    t.git(&["config", "credman.path", "nope"]);
    let r = scan_json(&t, &[]);
    assert_eq!(r.code, 2);
    assert!(r.stderr.contains("(from credman.path)"), "{}", r.stderr);
    t.git(&["config", "--unset", "credman.path"]);
    // A known provider with no files is an empty selection, not an error.
    assert_eq!(scan_json(&t, &["--provider", "kimi"]).code, 0);
    // With :(glob), `**/` spans zero or more directories and `*` stops at `/`, as in git.
    let report = scan_json(&t, &[":(glob)auths/**/codex-*"]).json();
    assert_eq!(
        paths(&report),
        ["auths/codex-a.json", "auths/team/codex-b.json"]
    );
    let report = scan_json(&t, &[":(glob)auths/*.json"]).json();
    assert_eq!(paths(&report), ["auths/codex-a.json"]);
}

/// Issue #12 item 10: the text report stays a screenful: the summary first, at most 40 lines
/// per section with "… and N more", every file with --all (and always in JSON).
#[test]
fn text_report_lists_a_screenful_unless_all() {
    let t = TestRepo::new();
    for i in 0..100 {
        t.write_json(
            &format!("auths/codex-{i:03}.json"),
            &codex_dead(&format!("u{i}@example.com"), &format!("acct-{i}")),
        );
    }
    t.commit_all("init");
    let r = run(t.credman().args(["scan", "--offline"]));
    assert_eq!(r.code, 1);
    let lines: Vec<&str> = r.stdout.lines().collect();
    assert!(lines.len() < 60, "{} lines", lines.len());
    assert!(
        r.stdout.contains("… and 60 more (use --all"),
        "{}",
        r.stdout
    );
    assert!(lines[0].starts_with("100 credential files"), "{}", lines[0]);
    let all = run(t.credman().args(["scan", "--offline", "--all"]));
    assert!(all.stdout.lines().count() > 100);
    assert!(!all.stdout.contains("more (use --all"));
}

/// Issue #12 item 8: errors are worded as git would, with the valid values and a hint that
/// applies to the command; no library internals.
#[test]
fn errors_speak_the_users_words() {
    let t = TestRepo::new();
    t.write_json(
        "auths/codex-a.json",
        &codex_live("a@example.com", "acct-a", "plus"),
    );
    t.commit_all("init");
    let internals = [
        "delegate",
        "NotFound",
        "NthAncestor",
        "invalid variant",
        "input=",
    ];
    type Case<'a> = (Vec<&'a str>, Vec<(&'a str, &'a str)>, &'a str);
    let cases: Vec<Case<'_>> = vec![
        (
            vec!["scan", "--rev", "HEAD~999"],
            vec![],
            "history is shorter",
        ),
        (
            vec!["scan", "--rev", "nope"],
            vec![],
            "no branch, tag or commit",
        ),
        (
            vec!["scan"],
            vec![("GIT_CREDMAN_FORMAT", "yaml")],
            "expected one of text, json, sarif, github, markdown",
        ),
    ];
    for (args, env, needle) in cases {
        let r = run(t.credman().envs(env).args(&args));
        assert_eq!(r.code, 2, "{args:?}");
        assert!(r.stderr.contains(needle), "{args:?}: {}", r.stderr);
        for word in internals {
            assert!(!r.stderr.contains(word), "{args:?}: {}", r.stderr);
        }
    }
    let outside = t.home().join("plain");
    std::fs::create_dir_all(&outside).unwrap();
    let r = run(t.credman_in(&outside).args(["show"]));
    assert_eq!(r.code, 2);
    assert!(r.stderr.contains("not a git repository"), "{}", r.stderr);
    assert!(
        !r.stderr.contains("--dir"),
        "show has no --dir: {}",
        r.stderr
    );
    for word in internals {
        assert!(!r.stderr.contains(word), "{}", r.stderr);
    }
}

/// A repository is read in slices of 8,192 files, each through an object database opened on
/// its own (so that only one slice's pages of the pack stay mapped, issue 13). A scan of more
/// files than that must read every file exactly once, in path order, with the blob of each,
/// and find a duplicate whose two files sit in different slices.
#[test]
fn a_scan_larger_than_one_read_slice_reads_every_file_once_in_order() {
    const N: usize = 9_000;
    let t = TestRepo::new();
    let mut dead = 0;
    for i in 0..N {
        // The first and the last file are the same account: a duplicate across slices.
        let email = if i == N - 1 {
            "u0@example.com".to_owned()
        } else {
            format!("u{i}@example.com")
        };
        let mut cred = json!({"type": "claude", "email": email,
            "access_token": format!("sk-ant-oat01-{}", noise(&format!("a{i}"), 40)),
            "expired": rfc_in(-3600)});
        if i % 7 == 0 {
            dead += 1;
        } else {
            cred["refresh_token"] = json!(format!("sk-ant-ort01-{}", noise(&format!("r{i}"), 40)));
        }
        t.write_json(&format!("auths/c{i:05}.json"), &cred);
    }
    t.commit_all("pool");
    // One pack, as a clone has it: the slices read it through separate mappings.
    t.git(&["repack", "-a", "-d", "-q"]);
    let r = scan_json(&t, &[]);
    assert_eq!(r.code, 1, "{}", r.stderr);
    let report = r.json();
    assert_eq!(report["summary"]["total"], N);
    assert_eq!(report["summary"]["by_status"]["expired_by_time"], dead);
    let listed = paths(&report);
    let expected: Vec<String> = (0..N).map(|i| format!("auths/c{i:05}.json")).collect();
    assert_eq!(listed, expected, "every file once, in path order");
    // Blobs on both sides of the slice boundary are the ones git has.
    for i in [0, 8_191, 8_192, N - 1] {
        let path = &expected[i];
        assert_eq!(
            result(&report, path)["blob"].as_str(),
            Some(t.git(&["rev-parse", &format!("HEAD:{path}")]).trim()),
            "{path}"
        );
    }
    let first = result(&report, &expected[0]);
    assert_eq!(first["duplicate_group"]["size"], 2, "{first}");
    assert_eq!(first["duplicates"], json!([expected[N - 1]]));
}

/// A `git clone --shared` holds no objects of its own: its blobs are in the source's object
/// database, named in `objects/info/alternates`. The scan reads each slice through an object
/// database it opens itself (issue 13), which must follow the alternates as git does.
#[test]
fn a_shared_clone_is_read_through_its_alternates() {
    let src = mixed_repo();
    let clone = src.home().join("shared");
    src.git(&[
        "clone",
        "-q",
        "--shared",
        src.root.to_str().unwrap(),
        clone.to_str().unwrap(),
    ]);
    assert!(clone.join(".git/objects/info/alternates").is_file());
    let r = run(src
        .credman_in(&clone)
        .args(["scan", "--offline", "--format", "json"]));
    assert_eq!(r.code, 1, "{}", r.stderr);
    let report = r.json();
    assert_eq!(report["summary"]["total"], 3);
    assert_eq!(report["summary"]["by_status"]["expired_by_time"], 1);
}
