//! The published report schema (schema/report.schema.json, issue 16 item 9) against the real
//! validator (python-jsonschema, see support::schema_errors). Every report the other tests
//! produce is validated by `Run::json`, `parse_report` and `read_report`; these tests prove
//! the validator is live (a report missing a required field fails) and cover `prune.results`.

use serde_json::Value;

use crate::support::*;

/// A repository with one dead and one live codex credential.
fn pool() -> TestRepo {
    let t = TestRepo::new();
    t.write_json("auths/dead.json", &codex_dead("d@example.com", "acct-d"));
    t.write_json(
        "auths/live.json",
        &codex_live("l@example.com", "acct-l", "plus"),
    );
    t.commit_all("pool");
    t
}

fn without(doc: &Value, pointer: &str) -> Value {
    let mut doc = doc.clone();
    let (parent, key) = pointer.rsplit_once('/').unwrap();
    let removed = doc
        .pointer_mut(parent)
        .and_then(Value::as_object_mut)
        .and_then(|o| o.remove(key));
    assert!(removed.is_some(), "{pointer} is not in the report");
    doc
}

#[test]
fn schema_rejects_a_report_missing_a_required_field() {
    let t = pool();
    let r = run(t.credman().args(["scan", "--offline", "--format", "json"]));
    assert_eq!(r.code, 1, "{}", r.stderr);
    let report = r.json();
    assert_eq!(schema_errors(&report), Vec::<String>::new());
    for pointer in [
        "/schema_version",
        "/summary/by_class",
        "/results/0/fingerprint",
        "/results/1/class",
        "/source/kind",
    ] {
        let broken = without(&report, pointer);
        let errors = schema_errors(&broken);
        let field = pointer.rsplit('/').next().unwrap();
        assert!(
            errors
                .iter()
                .any(|e| e.contains(&format!("'{field}' is a required property"))),
            "{pointer}: {errors:?}"
        );
    }
    // An undocumented field, a class that is not its status's, a newer schema_version.
    let mut extra = report.clone();
    extra["results"][0]["token"] = "x".into();
    assert!(!schema_errors(&extra).is_empty());
    let mut wrong_class = report.clone();
    wrong_class["results"][0]["status"] = "expired_by_time".into();
    wrong_class["results"][0]["class"] = "alive".into();
    assert!(!schema_errors(&wrong_class).is_empty());
    let mut newer = report;
    newer["schema_version"] = 2.into();
    assert!(!schema_errors(&newer).is_empty());
}

/// `prune.results` says which files a prune report lists: `selected` in a dry run's plan,
/// `removed` after the prune, in its output and in the report embedded in its commit; and the
/// `prune` object is required to have it.
#[test]
fn prune_reports_say_which_results_they_list() {
    let t = pool();
    let plan = run(t
        .credman()
        .args(["prune", "--offline", "--dry-run", "--format", "json"]));
    assert_eq!(plan.code, 0, "{}", plan.stderr);
    let plan = plan.json();
    assert_eq!(plan["prune"]["results"], "selected");
    assert_eq!(plan["prune"]["removed"], 0);
    assert_eq!(paths(&plan), ["auths/dead.json"]);
    let errors = schema_errors(&without(&plan, "/prune/results"));
    assert!(
        errors
            .iter()
            .any(|e| e.contains("'results' is a required property")),
        "{errors:?}"
    );

    let done = run(t
        .credman()
        .args(["prune", "--offline", "--no-sign", "--format", "json"]));
    assert_eq!(done.code, 0, "{}", done.stderr);
    let done = done.json();
    assert_eq!(done["prune"]["results"], "removed");
    assert_eq!(done["prune"]["removed"], 1);
    assert_eq!(paths(&done), ["auths/dead.json"]);

    let shown = run(t.credman().args(["show", "--format", "json"]));
    assert_eq!(shown.code, 0, "{}", shown.stderr);
    let shown = shown.json();
    assert_eq!(shown["report"]["prune"]["results"], "removed");
    assert!(shown["report"]["source"].get("repo").is_none());
    let text = run(t.credman().args(["show"]));
    assert!(text.stdout.contains("Removed (1):"), "{}", text.stdout);
}
