//! Issue 14 item 4: quota. Codex `wham/usage` windows read by `limit_window_seconds` in either
//! order, claude `oauth/usage` windows, `--quota` and `next_reset_at`, `--quota-threshold`, an
//! exhausted credential never pruned, and on a server `--disable-exhausted` /
//! `--reenable-at-reset` that undo only git-credman's own disables.
//!
//! The mocked bodies have the shapes of reference §6 (the Management Center's quota views read
//! these fields): codex `rate_limit{primary_window, secondary_window}` with `used_percent`,
//! `limit_window_seconds`, `reset_at` (unix seconds); claude `five_hour`, `seven_day`,
//! `seven_day_opus` with `utilization` and `resets_at` (RFC 3339).

use serde_json::{Value, json};
use wiremock::matchers::{header, method, path};
use wiremock::{Mock, MockServer};

use crate::support::cpa::*;
use crate::support::providers::*;
use crate::support::*;

fn window(used: f64, seconds: u64, reset_in: i64) -> Value {
    json!({"used_percent": used, "limit_window_seconds": seconds,
        "reset_after_seconds": reset_in, "reset_at": now() + reset_in})
}

fn codex_usage(primary: Value, secondary: Value, exhausted: bool) -> Value {
    json!({"plan_type": "plus", "rate_limit": {"allowed": !exhausted, "limit_reached": exhausted,
        "primary_window": primary, "secondary_window": secondary},
        "credits": {"has_credits": false, "unlimited": false, "balance": "0"}})
}

async fn answer(server: &MockServer, url_path: &str, cred: &Value, body: Value) {
    Mock::given(method("GET"))
        .and(path(url_path))
        .and(header("authorization", bearer(&access_of(cred)).as_str()))
        .respond_with(json_resp(200, body))
        .mount(server)
        .await;
}

fn window_of<'a>(finding: &'a Value, name: &str) -> &'a Value {
    finding["quota"]["windows"]
        .as_array()
        .unwrap_or_else(|| panic!("no windows in {finding}"))
        .iter()
        .find(|w| w["name"] == name)
        .unwrap_or_else(|| panic!("no {name} window in {finding}"))
}

#[tokio::test(flavor = "multi_thread")]
async fn windows_by_length_in_either_order_threshold_and_exhausted_never_pruned() {
    let providers = MockServer::start().await;
    let t = TestRepo::new();
    let codex = |name: &str| {
        let v = codex_live(
            &format!("{name}@example.com"),
            &format!("acct-{name}"),
            "plus",
        );
        t.write_json(&format!("auths/codex-{name}.json"), &v);
        v
    };
    // The 5-hour window first (primary), then the weekly one.
    let a = codex("a");
    answer(
        &providers,
        CODEX_USAGE,
        &a,
        codex_usage(
            window(30.0, 18_000, 3_600),
            window(80.0, 604_800, 86_400),
            false,
        ),
    )
    .await;
    // The other order: the weekly window is `primary_window`, the 5-hour one `secondary_window`.
    let b = codex("b");
    answer(
        &providers,
        CODEX_USAGE,
        &b,
        codex_usage(
            window(10.0, 604_800, 90_000),
            window(95.5, 18_000, 1_800),
            false,
        ),
    )
    .await;
    // Exhausted: the provider's flag and the 5-hour window at 100 %.
    let d = codex("d");
    answer(
        &providers,
        CODEX_USAGE,
        &d,
        codex_usage(
            window(100.0, 18_000, 7_200),
            window(60.0, 604_800, 86_400),
            true,
        ),
    )
    .await;
    let c = json!({"type": "claude", "email": "c@example.com", "access_token": claude_access(),
        "refresh_token": claude_refresh(), "expired": rfc_in(7200)});
    t.write_json("auths/claude-c.json", &c);
    answer(
        &providers,
        "/api/oauth/usage",
        &c,
        json!({"five_hour": {"utilization": 40.0, "resets_at": rfc_in(3_000)},
            "seven_day": {"utilization": 20.0, "resets_at": rfc_in(200_000)},
            "seven_day_opus": {"utilization": 100.0, "resets_at": rfc_in(5_000)},
            "seven_day_sonnet": null, "extra_usage": {"is_enabled": false}}),
    )
    .await;
    t.commit_all("pool");
    let eps = endpoint_args(&providers.uri());

    let r = run(t
        .credman()
        .args(["scan", "--format", "json", "--quota"])
        .args(&eps));
    assert_eq!(r.code, 0, "{}", r.stderr);
    let report = r.json();
    validate_report(&report);
    let fa = result(&report, "auths/codex-a.json");
    let fb = result(&report, "auths/codex-b.json");
    let fc = result(&report, "auths/claude-c.json");
    let fd = result(&report, "auths/codex-d.json");
    assert_eq!(fa["status"], "active");
    assert_eq!(
        fb["status"], "active",
        "95.5 % is not exhausted without a threshold"
    );
    // Named by length, shortest first, whatever the field order.
    for f in [fa, fb, fd] {
        let names: Vec<&str> = f["quota"]["windows"]
            .as_array()
            .unwrap()
            .iter()
            .map(|w| w["name"].as_str().unwrap())
            .collect();
        assert_eq!(names, ["5h", "7d"], "{f}");
        assert_eq!(f["quota"]["plan"], "plus");
    }
    assert_eq!(window_of(fa, "5h")["used_percent"], 30.0);
    assert_eq!(window_of(fa, "7d")["used_percent"], 80.0);
    assert_eq!(window_of(fb, "5h")["used_percent"], 95.5);
    assert_eq!(window_of(fb, "5h")["seconds"], 18_000);
    assert_eq!(window_of(fb, "7d")["used_percent"], 10.0);
    assert_eq!(fd["status"], "usage_limited");
    assert_eq!(fc["status"], "usage_limited", "the opus window is full");
    let names: Vec<&str> = fc["quota"]["windows"]
        .as_array()
        .unwrap()
        .iter()
        .map(|w| w["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["5h", "7d", "7d-opus"], "{fc}");
    // The earliest reset among the usage-limited: claude's opus window (in 5,000 s) before
    // codex d's 5-hour window (in 7,200 s).
    assert_eq!(report["next_reset_at"], fc["reset_at"], "{report:#}");
    assert!(fd["reset_at"].as_str().unwrap() > fc["reset_at"].as_str().unwrap());

    // The text view: fullest first, and when the next limit resets.
    let r = run(t.credman().args(["scan", "--quota"]).args(&eps));
    assert_eq!(r.code, 0, "{}", r.stderr);
    let quota_part = r.stdout.split("Quota:").nth(1).expect("a quota section");
    assert!(quota_part.contains("5h 95.5 %"), "{}", r.stdout);
    let pos = |needle: &str| {
        quota_part
            .find(needle)
            .unwrap_or_else(|| panic!("{needle}"))
    };
    assert!(pos("codex-d.json") < pos("codex-b.json"), "{quota_part}");
    assert!(pos("codex-b.json") < pos("codex-a.json"), "{quota_part}");
    assert!(
        r.stdout
            .contains("Next reset of a usage-limited credential: ")
    );

    // A threshold makes the 95.5 % credential usage_limited, from the flag, the env or config.
    for how in ["flag", "env", "config"] {
        let mut cmd = t.credman();
        match how {
            "flag" => cmd.args(["scan", "--format", "json", "--quota-threshold", "90%"]),
            "env" => cmd
                .env("GIT_CREDMAN_QUOTA_THRESHOLD", "90")
                .args(["scan", "--format", "json"]),
            // What `git -c credman.quotaThreshold=90 credman …` passes on.
            _ => cmd
                .env("GIT_CONFIG_PARAMETERS", "'credman.quotaThreshold'='90'")
                .args(["scan", "--format", "json"]),
        };
        let r = run(cmd.args(&eps));
        assert_eq!(r.code, 0, "{how}: {}", r.stderr);
        let report = r.json();
        let fb = result(&report, "auths/codex-b.json");
        assert_eq!(fb["status"], "usage_limited", "{how}: {fb}");
        assert!(
            fb["reason"]
                .as_str()
                .unwrap()
                .contains("5h window 95.5 % used"),
            "{fb}"
        );
        assert_eq!(result(&report, "auths/codex-a.json")["status"], "active");
    }

    // Exhausted is alive: the default prune removes none of them, threshold or not.
    let head = t.git(&["rev-parse", "HEAD"]);
    let r = run(t
        .credman()
        .args(["prune", "--no-sign", "--quota-threshold", "90"])
        .args(&eps));
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert!(r.stdout.contains("Nothing to remove"), "{}", r.stdout);
    assert_eq!(t.git(&["rev-parse", "HEAD"]), head);
    for f in ["codex-a", "codex-b", "codex-d", "claude-c"] {
        assert!(t.root.join(format!("auths/{f}.json")).exists());
    }

    // Bad input is one line and exit 2; --quota needs the online check.
    for bad in [
        vec!["scan", "--quota-threshold", "150"],
        vec!["scan", "--quota-threshold", "lots"],
        vec!["scan", "--quota", "--offline"],
    ] {
        let r = run(t.credman().args(&bad));
        assert_eq!(r.code, 2, "{bad:?}: {}", r.stderr);
        assert!(r.stdout.is_empty(), "{bad:?}");
    }
    let r = run(t
        .credman()
        .env("GIT_CONFIG_PARAMETERS", "'credman.quotaThreshold'='x'")
        .arg("scan"));
    assert_eq!(r.code, 2, "{}", r.stderr);
    assert!(r.stderr.contains("credman.quotaThreshold"), "{}", r.stderr);
}

/// The management key, built at run time.
fn mgmt_key() -> String {
    format!("mk-{}", noise("quota-key", 48))
}

fn server_run(t: &TestRepo, key: &str, args: &[&str], eps: &[String]) -> Run {
    let mut cmd = t.credman_in(t.home());
    cmd.env("GIT_CREDMAN_MANAGEMENT_KEY", key);
    cmd.args(args).args(eps);
    run(&mut cmd)
}

fn stored(cpa: &Cpa, name: &str) -> Value {
    cpa.with(|s| serde_json::from_slice(&s.files[name].bytes).unwrap())
}

#[tokio::test(flavor = "multi_thread")]
async fn server_disables_exhausted_with_a_marker_and_reenables_only_its_own_after_reset() {
    let providers = MockServer::start().await;
    let key = mgmt_key();
    let cpa = Cpa::start(&key);
    let t = TestRepo::bare_dir();
    let named = |n: &str| codex_live(&format!("{n}@example.com"), &format!("acct-{n}"), "plus");
    let exhausted = named("exhausted");
    let fine = named("fine");
    let manual = named("manual");
    cpa.put("codex-exhausted.json", json!("1"), &exhausted);
    cpa.put("codex-fine.json", json!("2"), &fine);
    cpa.put("codex-manual.json", json!("3"), &manual);
    // An operator disabled this one by hand: no marker.
    cpa.with(|s| s.files.get_mut("codex-manual.json").unwrap().disabled = true);
    let reset = now() + 3_600;
    answer(
        &providers,
        CODEX_USAGE,
        &exhausted,
        codex_usage(
            json!({"used_percent": 100, "limit_window_seconds": 18_000, "reset_at": reset}),
            window(20.0, 604_800, 86_400),
            true,
        ),
    )
    .await;
    for v in [&fine, &manual] {
        answer(
            &providers,
            CODEX_USAGE,
            v,
            codex_usage(
                window(5.0, 18_000, 3_600),
                window(5.0, 604_800, 86_400),
                false,
            ),
        )
        .await;
    }
    let mut eps = endpoint_args(&providers.uri());
    eps.push("--format".into());
    eps.push("json".into());
    let url = cpa.url();

    // A dry run says what it would do and changes nothing.
    let r = server_run(
        &t,
        &key,
        &[
            "prune",
            "--server",
            &url,
            "--disable-exhausted",
            "--dry-run",
        ],
        &eps,
    );
    assert_eq!(r.code, 0, "{}", r.stderr);
    let report = r.json();
    validate_report(&report);
    assert_eq!(
        report["prune"]["quota"]["disabled"][0]["path"],
        "codex-exhausted.json"
    );
    assert!(!cpa.is_disabled("codex-exhausted.json"));
    assert!(cpa.requests_to("PATCH", STATUS).is_empty());

    // For real: marked, then disabled; the healthy and the manual ones are not touched.
    let r = server_run(
        &t,
        &key,
        &["prune", "--server", &url, "--disable-exhausted"],
        &eps,
    );
    assert_eq!(r.code, 0, "{}", r.stderr);
    let report = r.json();
    validate_report(&report);
    let q = &report["prune"]["quota"];
    assert_eq!(q["disabled"].as_array().unwrap().len(), 1, "{q}");
    assert_eq!(report["prune"]["removed"], 0, "nothing dead was disabled");
    assert!(cpa.is_disabled("codex-exhausted.json"));
    assert!(!cpa.is_disabled("codex-fine.json"));
    let marker = &stored(&cpa, "codex-exhausted.json")["credman_quota"];
    assert_eq!(marker["disabled_by"], "git-credman", "{marker}");
    let want_reset = chrono::DateTime::from_timestamp(reset, 0)
        .unwrap()
        .to_rfc3339_opts(chrono::SecondsFormat::Secs, true);
    assert_eq!(marker["reset_at"], want_reset.as_str());
    assert_eq!(report["next_reset_at"], want_reset.as_str());
    assert!(
        stored(&cpa, "codex-manual.json")
            .get("credman_quota")
            .is_none()
    );
    // The file still holds its tokens: the marker went in through PATCH /auth-files/fields.
    assert_eq!(
        stored(&cpa, "codex-exhausted.json")["access_token"],
        exhausted["access_token"]
    );
    let patches = cpa.requests_to("PATCH", "/v0/management/auth-files/fields");
    assert_eq!(patches.len(), 1);
    for secret in secrets_of(&exhausted) {
        assert!(
            !patches[0].body.contains(&secret),
            "a token went to the server"
        );
        assert!(!r.stdout.contains(&secret) && !r.stderr.contains(&secret));
    }

    // Before the reset: it waits, and the report says until when.
    let r = server_run(
        &t,
        &key,
        &["prune", "--server", &url, "--reenable-at-reset"],
        &eps,
    );
    assert_eq!(r.code, 0, "{}", r.stderr);
    let report = r.json();
    assert_eq!(
        report["prune"]["quota"]["waiting"][0]["path"],
        "codex-exhausted.json"
    );
    assert_eq!(report["next_reset_at"], want_reset.as_str());
    assert!(cpa.is_disabled("codex-exhausted.json"));

    // The reset passes (the server's copy of the marker says so), and another file carries a
    // marker but was disabled again by hand two hours later: only the first comes back.
    let past = rfc_in(-60);
    cpa.with(|s| {
        let f = s.files.get_mut("codex-exhausted.json").unwrap();
        let mut doc: Value = serde_json::from_slice(&f.bytes).unwrap();
        doc["credman_quota"]["reset_at"] = json!(past);
        f.bytes = serde_json::to_vec(&doc).unwrap();
        let m = s.files.get_mut("codex-manual.json").unwrap();
        let mut doc: Value = serde_json::from_slice(&m.bytes).unwrap();
        doc["credman_quota"] = json!({"disabled_by": "git-credman",
            "disabled_at": rfc_in(-3 * 3_600), "reset_at": rfc_in(-2 * 3_600)});
        m.bytes = serde_json::to_vec(&doc).unwrap();
        m.updated_at = Some(rfc_in(-3_600));
    });
    let r = server_run(
        &t,
        &key,
        &["prune", "--server", &url, "--reenable-at-reset"],
        &eps,
    );
    assert_eq!(r.code, 0, "{}", r.stderr);
    let report = r.json();
    validate_report(&report);
    let q = &report["prune"]["quota"];
    assert_eq!(q["reenabled"], json!(["codex-exhausted.json"]), "{q}");
    assert!(!cpa.is_disabled("codex-exhausted.json"));
    assert!(stored(&cpa, "codex-exhausted.json")["credman_quota"].is_null());
    assert!(
        cpa.is_disabled("codex-manual.json"),
        "a manual disable is never undone"
    );
    let kept = q["skipped"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["path"] == "codex-manual.json")
        .expect("the manual one is reported");
    assert!(
        kept["reason"]
            .as_str()
            .unwrap()
            .contains("after git-credman disabled it")
    );
    // The flags need a server.
    let r = run(TestRepo::new()
        .credman()
        .args(["prune", "--disable-exhausted"]));
    assert_eq!(r.code, 2, "{}", r.stderr);
}
