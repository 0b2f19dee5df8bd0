//! GitHub code scanning with the real validators: `scan --format sarif` over files with odd
//! names (space, `%`, non-ASCII, URI delimiters), built at run time, must pass the SARIF
//! multitool's `validate --rule-kind "Sarif;Gh"` (the SARIF spec's rules and GitHub's upload
//! rules) and the official SARIF 2.1.0 schema (python `jsonschema`, formats checked); plus what
//! GitHub documents and no validator checks: fingerprints that survive CPA rewriting a token, the
//! 25,000-results-per-run limit, and at most 10 annotations per level per step.

use std::path::Path;

use serde_json::Value;

use crate::support::*;
use crate::tools;

/// File names GitHub's validator and upload-sarif choke on unless percent-encoded.
const ODD: [&str; 6] = [
    "dead one.json",
    "100%.json",
    "ç名-dead.json",
    "a:b#c?[d].json",
    "plus+semi;amp&.json",
    "tab\there.json",
];

/// Decodes `%XX` escapes (the test's own, independent of the crate's encoder).
fn percent_decode(s: &str) -> String {
    let b = s.as_bytes();
    let mut out = Vec::new();
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'%' {
            let hex = std::str::from_utf8(&b[i + 1..i + 3]).unwrap();
            out.push(u8::from_str_radix(hex, 16).unwrap());
            i += 3;
        } else {
            out.push(b[i]);
            i += 1;
        }
    }
    String::from_utf8(out).unwrap()
}

/// A checkout with a dead credential under each odd name, one invalid file and one live one.
fn odd_repo() -> TestRepo {
    let t = TestRepo::new();
    for (i, name) in ODD.iter().enumerate() {
        t.write_json(
            &format!("auths/{name}"),
            &codex_dead(&format!("u{i}@example.com"), &format!("acct-{i}")),
        );
    }
    t.write("auths/empty file.json", "");
    t.write_json(
        "auths/live.json",
        &codex_live("l@example.com", "acct-l", "plus"),
    );
    t.commit_all("odd names");
    t
}

fn sarif_of(t: &TestRepo, args: &[&str]) -> (Value, String) {
    let mut all = vec!["scan", "--offline", "--format", "sarif"];
    all.extend_from_slice(args);
    let r = run(t.credman().args(&all));
    assert_eq!(r.code, 1, "{all:?}: {}{}", r.stdout, r.stderr);
    (r.other_json(), r.stderr)
}

fn uris(sarif: &Value) -> Vec<String> {
    sarif["runs"][0]["results"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| {
            r["locations"][0]["physicalLocation"]["artifactLocation"]["uri"]
                .as_str()
                .unwrap()
                .to_owned()
        })
        .collect()
}

/// Runs both validators over `sarif`; returns whether they ran (false: skipped, said why).
fn validate(sarif: &Value) -> bool {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("credman.sarif");
    std::fs::write(&file, serde_json::to_vec_pretty(sarif).unwrap()).unwrap();
    let Some(found) = tools::multitool_validate(&file) else {
        return false;
    };
    assert!(
        found.is_empty(),
        "the multitool reports:\n{}",
        found.join("\n")
    );
    let Some(errors) = tools::schema_validate(&file) else {
        return false;
    };
    assert!(errors.is_empty(), "schema errors:\n{}", errors.join("\n"));
    true
}

fn check_odd_uris(sarif: &Value, prefix: &str) {
    let got = uris(sarif);
    assert_eq!(got.len(), ODD.len() + 1, "{got:?}");
    for uri in &got {
        assert!(
            uri.bytes()
                .all(|c| c.is_ascii_alphanumeric() || b"-._~/%@".contains(&c)),
            "not percent-encoded: {uri}"
        );
    }
    let decoded: Vec<String> = got.iter().map(|u| percent_decode(u)).collect();
    for name in ODD.iter().chain(&["empty file.json"]) {
        assert!(
            decoded.contains(&format!("{prefix}{name}")),
            "{prefix}{name} not among {decoded:?}"
        );
    }
    assert!(got.contains(&format!("{prefix}dead%20one.json")), "{got:?}");
    assert!(got.contains(&format!("{prefix}100%25.json")), "{got:?}");
    assert!(
        got.contains(&format!("{prefix}%C3%A7%E5%90%8D-dead.json")),
        "{got:?}"
    );
}

#[test]
fn sarif_with_odd_file_names_passes_the_multitool_and_the_schema() {
    let t = odd_repo();
    let (sarif, _) = sarif_of(&t, &[]);
    check_odd_uris(&sarif, "auths/");
    validate(&sarif);
}

#[test]
fn sarif_of_a_dir_inside_a_checkout_has_repo_relative_uris() {
    let t = odd_repo();
    let (sarif, _) = sarif_of(&t, &["--dir", "auths"]);
    check_odd_uris(&sarif, "auths/");
    // From a subdirectory, the same URIs: they are relative to the checkout, not the cwd.
    let r = run(t.credman_in(&t.root.join("auths")).args([
        "scan",
        "--offline",
        "--format",
        "sarif",
        "--dir",
        ".",
    ]));
    assert_eq!(uris(&r.other_json()), uris(&sarif));
    validate(&sarif);
}

#[test]
fn sarif_of_a_dir_outside_a_checkout_is_relative_to_the_dir() {
    let t = TestRepo::bare_dir();
    t.write_json("auths/dead one.json", &codex_dead("u@example.com", "a"));
    let r = run(t.credman_in(t.home()).args([
        "scan",
        "--offline",
        "--format",
        "sarif",
        "--dir",
        &t.root.join("auths").display().to_string(),
    ]));
    assert_eq!(r.code, 1, "{}", r.stderr);
    let sarif = r.other_json();
    assert_eq!(uris(&sarif), ["dead%20one.json"]);
    validate(&sarif);
}

#[test]
fn sarif_rules_carry_what_code_scanning_needs() {
    let t = odd_repo();
    let (sarif, _) = sarif_of(&t, &[]);
    let run0 = &sarif["runs"][0];
    for rule in run0["tool"]["driver"]["rules"].as_array().unwrap() {
        let (id, name) = (rule["id"].as_str().unwrap(), rule["name"].as_str().unwrap());
        assert!(!id.eq_ignore_ascii_case(name), "SARIF1001: {id} / {name}");
        let sev: f64 = rule["properties"]["security-severity"]
            .as_str()
            .unwrap_or_else(|| panic!("{id}: no security-severity"))
            .parse()
            .unwrap();
        assert!((0.0..=10.0).contains(&sev), "{id}: {sev}");
        assert!(
            ["very-high", "high", "medium", "low"]
                .contains(&rule["properties"]["precision"].as_str().unwrap()),
            "{id}"
        );
        let tags: Vec<&str> = rule["properties"]["tags"]
            .as_array()
            .unwrap()
            .iter()
            .map(|t| t.as_str().unwrap())
            .collect();
        assert!(tags.contains(&"security"), "{id}: {tags:?}");
    }
    for r in run0["results"].as_array().unwrap() {
        let region = &r["locations"][0]["physicalLocation"]["region"];
        for key in ["startLine", "startColumn", "endLine", "endColumn"] {
            assert!(region[key].as_u64().is_some_and(|n| n >= 1), "{key}: {r:#}");
        }
        assert!(
            region["endColumn"].as_u64() > region["startColumn"].as_u64()
                || region["endLine"].as_u64() > region["startLine"].as_u64()
        );
    }
}

fn line_hashes(sarif: &Value) -> Vec<(String, String)> {
    sarif["runs"][0]["results"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| {
            (
                r["locations"][0]["physicalLocation"]["artifactLocation"]["uri"]
                    .as_str()
                    .unwrap()
                    .to_owned(),
                r["partialFingerprints"]["primaryLocationLineHash"]
                    .as_str()
                    .unwrap_or_else(|| panic!("no primaryLocationLineHash: {r:#}"))
                    .to_owned(),
            )
        })
        .collect()
}

#[test]
fn primary_location_line_hash_survives_cpa_rewriting_the_token() {
    let t = TestRepo::new();
    let dead = codex_dead("u@example.com", "acct-1");
    t.write_json("auths/a b.json", &dead);
    t.write_json("auths/copy.json", &dead);
    t.commit_all("two");
    let (before, _) = sarif_of(&t, &[]);
    let json_before = run(t.credman().args(["scan", "--offline", "--format", "json"])).json();

    // CPA rewrites the file: a new access token (and expiry), same account, same path.
    let rewritten = codex_dead("u@example.com", "acct-1");
    assert_ne!(rewritten["access_token"], dead["access_token"]);
    t.write_json("auths/a b.json", &rewritten);
    t.commit_all("CPA refreshed");
    let (after, _) = sarif_of(&t, &[]);
    let json_after = run(t.credman().args(["scan", "--offline", "--format", "json"])).json();
    let fp = |r: &Value| result(r, "auths/a b.json")["fingerprint"].clone();
    assert_ne!(fp(&json_before), fp(&json_after), "the token did change");

    let (hb, ha) = (line_hashes(&before), line_hashes(&after));
    assert_eq!(hb, ha, "the alert would be closed and reopened");
    assert_ne!(hb[0].1, hb[1].1, "two files, two alerts");
    // Never derived from a secret or the token's fingerprint.
    for (_, h) in &ha {
        for s in secrets_of(&dead).iter().chain(&secrets_of(&rewritten)) {
            assert!(!s.contains(h.split(':').next().unwrap()));
        }
        let fp = fp(&json_after);
        assert!(!h.contains(fp.as_str().unwrap()));
    }
    let text = serde_json::to_string(&after).unwrap();
    for s in secrets_of(&rewritten) {
        assert!(!text.contains(&s), "a token in the SARIF");
    }
}

#[test]
fn more_than_25000_results_are_capped_and_said() {
    let t = TestRepo::bare_dir();
    let dir = t.root.join("auths");
    std::fs::create_dir_all(&dir).unwrap();
    // 25,003 invalid (empty) files: warnings; and two dead ones, which must survive the cap.
    for i in 0..25_003 {
        std::fs::write(dir.join(format!("e{i:05}.json")), "").unwrap();
    }
    t.write_json("auths/zz-dead-1.json", &codex_dead("a@example.com", "a"));
    t.write_json("auths/zz-dead-2.json", &codex_dead("b@example.com", "b"));
    let r = run(t.credman_in(t.home()).args([
        "scan",
        "--offline",
        "--format",
        "sarif",
        "--dir",
        &dir.display().to_string(),
    ]));
    assert_eq!(r.code, 1, "{}", r.stderr);
    let sarif = r.other_json();
    let run0 = &sarif["runs"][0];
    let results = run0["results"].as_array().unwrap();
    assert_eq!(results.len(), 25_000);
    let errors = results.iter().filter(|r| r["level"] == "error").count();
    assert_eq!(errors, 2, "dead credentials come first under the cap");
    let notes = run0["invocations"][0]["toolExecutionNotifications"]
        .as_array()
        .unwrap();
    let said = notes[0]["message"]["text"].as_str().unwrap();
    assert!(said.contains("5 more") && said.contains("25000"), "{said}");
    assert_eq!(run0["properties"]["omittedResults"], 5);
    assert!(
        r.stderr.contains("5 more") && r.stderr.contains("25000"),
        "stderr: {}",
        r.stderr
    );
    // The validators take ~100 s (multitool) and ~20 s (jsonschema) over 25,000 results on a
    // 2-core machine: validate the capped run's shape (notification, run property) on a few.
    let mut few = sarif.clone();
    few["runs"][0]["results"]
        .as_array_mut()
        .unwrap()
        .truncate(3);
    validate(&few);
}

#[test]
fn the_multitool_really_validates() {
    // The defects this file guards against, written by hand: both validators must catch them.
    let bad = serde_json::json!({
        "version": "2.1.0",
        "$schema": "https://json.schemastore.org/sarif-2.1.0.json",
        "runs": [{"tool": {"driver": {"name": "x", "rules": [{"id": "dead", "name": "Dead"}]}},
            "results": [{"ruleId": "dead", "level": "error", "message": {"text": "m"},
                "locations": [{"physicalLocation": {"artifactLocation": {"uri": "a b%.json"},
                    "region": {"startLine": 1}}}]}]}]
    });
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("bad.sarif");
    std::fs::write(&file, serde_json::to_vec(&bad).unwrap()).unwrap();
    if let Some(found) = tools::multitool_validate(&file) {
        assert!(
            found.iter().any(|f| f.starts_with("SARIF1002 error")),
            "{found:?}"
        );
        assert!(
            found.iter().any(|f| f.starts_with("SARIF1001")),
            "{found:?}"
        );
    }
    if let Some(errors) = tools::schema_validate(&file) {
        assert!(
            errors.iter().any(|e| e.contains("uri-reference")),
            "{errors:?}"
        );
    }
}

/// `n` dead and `m` invalid files in a directory; returns the `--format github` output.
fn annotations(dead: usize, invalid: usize) -> String {
    let t = TestRepo::bare_dir();
    for i in 0..dead {
        t.write_json(
            &format!("d{i:02}.json"),
            &codex_dead(&format!("u{i}@example.com"), "a"),
        );
    }
    for i in 0..invalid {
        t.write(&format!("i{i:02}.json"), "");
    }
    let r = run(t.credman_in(t.home()).args([
        "scan",
        "--offline",
        "--format",
        "github",
        "--dir",
        &t.root.display().to_string(),
    ]));
    assert_eq!(r.code, 1, "{}", r.stderr);
    r.stdout
}

fn count(text: &str, prefix: &str) -> usize {
    text.lines().filter(|l| l.starts_with(prefix)).count()
}

#[test]
fn annotations_stop_at_10_per_level_and_say_how_many_more() {
    let out = annotations(13, 12);
    assert_eq!(count(&out, "::error "), 10, "{out}");
    assert_eq!(count(&out, "::warning "), 10, "{out}");
    assert!(count(&out, "::notice ") <= 10);
    let more: Vec<&str> = out.lines().filter(|l| l.contains("more: see")).collect();
    assert_eq!(more.len(), 1, "{out}");
    assert!(
        more[0].starts_with("::notice ")
            && more[0].contains("5 more: see the job summary / code scanning"),
        "{}",
        more[0]
    );
    // Under the caps: every file, and no "more".
    let out = annotations(10, 10);
    assert_eq!(count(&out, "::error "), 10);
    assert_eq!(count(&out, "::warning "), 10);
    assert!(!out.contains("more: see"), "{out}");
}

#[test]
fn sarif_for_a_repository_path_and_sarif_for_its_dir_agree() {
    // Same files, two modes: code scanning must see one alert per file, not two.
    let t = odd_repo();
    let (head, _) = sarif_of(&t, &[]);
    let (dir, _) = sarif_of(&t, &["--dir", "auths"]);
    assert_eq!(line_hashes(&head), line_hashes(&dir));
    assert!(Path::new(&t.root).join(".git").exists());
}
