//! The GitHub Actions integration: the example workflow and the composite action are linted
//! with actionlint (a real workflow validator, not only a YAML parse), and the action is checked
//! against the composite-action rules actionlint does not cover.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::process::Command;

use serde_yaml::Value;

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn actionlint(dir: &Path, file: &Path) -> std::process::Output {
    // `.ci/tools` (the README's test command) installs it into target/tools/venv.
    let venv = root().join("target/tools/venv/bin/actionlint");
    let program = if venv.is_file() {
        venv
    } else {
        std::path::PathBuf::from("actionlint")
    };
    Command::new(program)
        .arg("-no-color")
        .arg(file)
        .current_dir(dir)
        .output()
        .expect("actionlint is not installed: run .ci/tools (the README's test command does it)")
}

#[test]
fn example_workflow_passes_actionlint() {
    let out = actionlint(&root(), Path::new("hooks/github/credman-cleanup.yml"));
    assert!(
        out.status.success(),
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

#[test]
fn actionlint_really_checks_workflows() {
    // A broken copy must fail: proves the validator runs rather than passing anything.
    let tmp = tempfile::tempdir().unwrap();
    let text = std::fs::read_to_string(root().join("hooks/github/credman-cleanup.yml")).unwrap();
    let broken = text.replace(
        "runs-on: ubuntu-latest",
        "runs-on: ubuntu-latest\n    timeout-minutes: soon",
    );
    std::fs::write(tmp.path().join("broken.yml"), broken).unwrap();
    assert!(
        !actionlint(tmp.path(), Path::new("broken.yml"))
            .status
            .success()
    );
}

fn action() -> Value {
    serde_yaml::from_str(&std::fs::read_to_string(root().join("hooks/github/action.yml")).unwrap())
        .unwrap()
}

fn input_names(action: &Value) -> BTreeSet<String> {
    action["inputs"]
        .as_mapping()
        .unwrap()
        .keys()
        .map(|k| k.as_str().unwrap().to_owned())
        .collect()
}

#[test]
fn local_use_of_the_action_passes_actionlint() {
    // actionlint validates `with:` against a local action's inputs, and the action's metadata.
    let tmp = tempfile::tempdir().unwrap();
    // actionlint resolves local actions inside a project, which it finds by its `.git`.
    std::fs::create_dir_all(tmp.path().join(".git")).unwrap();
    std::fs::create_dir_all(tmp.path().join("hooks/github")).unwrap();
    std::fs::copy(
        root().join("hooks/github/action.yml"),
        tmp.path().join("hooks/github/action.yml"),
    )
    .unwrap();
    let with: String = input_names(&action())
        .iter()
        .map(|n| format!("          {n}: \"x\"\n"))
        .collect();
    let wf = format!(
        "on: workflow_dispatch\njobs:\n  t:\n    runs-on: ubuntu-latest\n    steps:\n      - uses: ./hooks/github\n        with:\n{with}"
    );
    // Local actions are resolved for workflows in the project's .github/workflows.
    let wf_dir = tmp.path().join(".github/workflows");
    std::fs::create_dir_all(&wf_dir).unwrap();
    std::fs::write(wf_dir.join("wf.yml"), &wf).unwrap();
    let out = actionlint(tmp.path(), Path::new(".github/workflows/wf.yml"));
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stdout)
    );
    let bad = format!("{wf}          no-such-input: \"x\"\n");
    std::fs::write(wf_dir.join("bad.yml"), bad).unwrap();
    let out = actionlint(tmp.path(), Path::new(".github/workflows/bad.yml"));
    assert!(!out.status.success(), "an unknown input must be reported");
}

#[test]
fn composite_action_follows_the_schema_rules() {
    let a = action();
    for key in ["name", "description"] {
        assert!(
            a[key].as_str().is_some_and(|s| !s.is_empty()),
            "{key} is required"
        );
    }
    assert_eq!(a["runs"]["using"], "composite");
    let inputs = input_names(&a);
    for (name, spec) in a["inputs"].as_mapping().unwrap() {
        assert!(
            spec["description"].as_str().is_some_and(|d| !d.is_empty()),
            "input {name:?} needs a description"
        );
        assert!(
            spec["default"].is_string(),
            "input {name:?}: defaults are strings"
        );
    }
    let steps = a["runs"]["steps"].as_sequence().unwrap();
    let ids: BTreeSet<&str> = steps.iter().filter_map(|s| s["id"].as_str()).collect();
    let mut text = String::new();
    for s in steps {
        if s.get("run").is_some() {
            assert!(
                s["shell"].is_string(),
                "composite run steps need an explicit shell: {s:?}"
            );
        }
        text.push_str(&serde_yaml::to_string(s).unwrap());
    }
    for (name, spec) in a["outputs"].as_mapping().unwrap() {
        let value = spec["value"]
            .as_str()
            .unwrap_or_else(|| panic!("output {name:?} needs a value"));
        let step = value
            .split("steps.")
            .nth(1)
            .and_then(|r| r.split('.').next())
            .unwrap();
        assert!(
            ids.contains(step),
            "output {name:?} refers to unknown step {step}"
        );
    }
    // Every `inputs.X` used by a step is declared.
    for part in text.split("inputs.").skip(1) {
        let name: String = part
            .chars()
            .take_while(|c| c.is_ascii_alphanumeric() || *c == '-' || *c == '_')
            .collect();
        assert!(inputs.contains(&name), "step uses undeclared input {name}");
    }
    // The signing key never reaches argv or a log: it goes through env into a 0600 temp file.
    assert!(text.contains("umask 077") && text.contains("trap 'rm -f \"$key\"' EXIT"));
    assert!(
        !text.contains("--signing-key \"${{"),
        "secret on the command line"
    );
}
