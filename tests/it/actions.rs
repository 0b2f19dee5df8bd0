//! The GitHub Actions integration: the example workflow and the composite action are linted
//! with actionlint (a real workflow validator, not only a YAML parse), and the action is checked
//! against the composite-action rules actionlint does not cover.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::process::Command;

use serde_yaml::Value;

pub(crate) fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

pub(crate) fn actionlint(dir: &Path, file: &Path) -> std::process::Output {
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
    let with = input_names(&action())
        .iter()
        .fold(String::new(), |mut with, n| {
            use std::fmt::Write as _;
            let _ = writeln!(with, "          {n}: \"x\"");
            with
        });
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

/// Runs zizmor (all audits, `auditor` persona: false positives included) on copies of `files`
/// in a fresh directory; returns its exit success and the findings' idents, or `None` when
/// zizmor is not installed (skipped loudly; a failure in CI).
pub(crate) fn zizmor(files: &[(&str, String)]) -> Option<(bool, Vec<String>)> {
    let zizmor = crate::tools::zizmor()?;
    let tmp = tempfile::tempdir().unwrap();
    let mut paths = Vec::new();
    for (name, text) in files {
        let p = tmp.path().join(name);
        std::fs::write(&p, text).unwrap();
        paths.push(p);
    }
    let out = Command::new(zizmor)
        .args(["--offline", "--persona", "auditor", "--format", "json"])
        .args(&paths)
        .current_dir(tmp.path())
        .env("HOME", tmp.path())
        .output()
        .unwrap();
    let findings: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap_or_else(|e| {
        panic!(
            "zizmor printed no JSON ({e}): {}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        )
    });
    let idents = findings
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["ident"].as_str().unwrap().to_owned())
        .collect();
    Some((out.status.success(), idents))
}

fn shipped() -> Vec<(&'static str, String)> {
    ["credman-cleanup.yml", "action.yml"]
        .iter()
        .map(|n| {
            (
                *n,
                std::fs::read_to_string(root().join("hooks/github").join(n)).unwrap(),
            )
        })
        .collect()
}

#[test]
fn shipped_workflow_and_action_pass_zizmor_with_every_ignore_explained() {
    let files = shipped();
    let Some((ok, findings)) = zizmor(&files) else {
        return;
    };
    assert!(ok && findings.is_empty(), "zizmor: {findings:?}");
    // What zizmor is told to ignore, each with a reason in the comment lines just above.
    let mut ignores = Vec::new();
    for (name, text) in &files {
        let lines: Vec<&str> = text.lines().collect();
        for (i, l) in lines.iter().enumerate() {
            let Some(at) = l.find("zizmor: ignore[") else {
                continue;
            };
            let audit = l[at + 15..].split(']').next().unwrap().to_owned();
            let above: String = lines[..i]
                .iter()
                .rev()
                .take_while(|p| p.trim_start().starts_with('#'))
                .copied()
                .collect();
            let after = &l[at..];
            assert!(
                above.len() + after.len() > 80,
                "{name}:{}: ignore[{audit}] without a reason",
                i + 1
            );
            ignores.push(audit);
        }
    }
    ignores.sort();
    assert_eq!(
        ignores,
        ["github-env", "unpinned-uses"],
        "only these stay, each explained"
    );
}

#[test]
fn zizmor_really_audits_the_workflow() {
    // The defects issue 16 found, put back: zizmor must report each.
    let mut files = shipped();
    let wf = &mut files[0].1;
    *wf = wf
        .replace("          persist-credentials: false\n", "")
        .replace("    environment: credman\n", "")
        .replace("permissions: {}\n", "permissions:\n  contents: write\n")
        .replace("    name: Remove dead credentials\n", "")
        .replace("# zizmor: ignore[unpinned-uses]", "#");
    let Some((ok, findings)) = zizmor(&files) else {
        return;
    };
    assert!(!ok);
    for audit in [
        "artipacked",
        "secrets-outside-env",
        "excessive-permissions",
        "anonymous-definition",
        "unpinned-uses",
    ] {
        assert!(findings.iter().any(|f| f == audit), "{audit}: {findings:?}");
    }
}

/// The `run` script of the composite action's step `id`.
fn step_script(id: &str) -> String {
    action()["runs"]["steps"]
        .as_sequence()
        .unwrap()
        .iter()
        .find(|s| s["id"] == id)
        .and_then(|s| s["run"].as_str())
        .unwrap()
        .to_owned()
}

#[test]
fn prune_step_pushes_with_the_token_when_the_checkout_persisted_no_credentials() {
    use base64::Engine as _;

    use crate::support::git_http::start_git_http;
    use crate::support::*;
    if Command::new("jq").arg("--version").output().is_err() {
        assert!(
            std::env::var("CI").as_deref() != Ok("true"),
            "jq is missing (.ci/run installs it)"
        );
        let _ = std::io::Write::write_all(
            &mut std::io::stderr(),
            b"SKIPPED: jq is not installed (GitHub's runners have it; apt-get install jq)\n",
        );
        return;
    }
    let t = TestRepo::new();
    let dead = codex_dead("d@example.com", "acct-d");
    t.write_json("auths/dead one.json", &dead);
    t.write_json(
        "auths/live.json",
        &codex_live("l@example.com", "acct-l", "plus"),
    );
    t.write("auths/empty.json", "");
    t.write("auths/kimi.json", r#"{"type":"kimi"}"#);
    t.commit_all("auths");
    let srv_root = t.home().join("srv");
    std::fs::create_dir_all(&srv_root).unwrap();
    t.git_in(
        &srv_root,
        &[
            "clone",
            "-q",
            "--bare",
            t.root.to_str().unwrap(),
            "remote.git",
        ],
    );
    let token = format!("ghs_{}", noise("push-token", 36));
    let basic = base64::engine::general_purpose::STANDARD.encode(format!("x-access-token:{token}"));
    let srv = start_git_http(
        srv_root.clone(),
        t.home().to_path_buf(),
        format!("basic {basic}"),
    );
    let server = format!("http://127.0.0.1:{}", srv.port);
    // What actions/checkout with persist-credentials: false leaves: a remote, no credentials.
    t.git(&["remote", "add", "origin", &format!("{server}/remote.git")]);

    let runner_temp = t.home().join("runner-temp");
    std::fs::create_dir_all(&runner_temp).unwrap();
    let output = runner_temp.join("github-output");
    let bin = Path::new(env!("CARGO_BIN_EXE_git-credman"))
        .parent()
        .unwrap();
    let path = format!("{}:{}", bin.display(), std::env::var("PATH").unwrap());
    let out = Command::new("bash")
        .arg("-c")
        .arg(step_script("prune"))
        .current_dir(&t.root)
        .env_clear()
        .envs(scrubbed_env(t.home()))
        .env("PATH", path)
        .env("AUTH_PATH", "auths")
        .env("STATUSES", "invalidated,deactivated,expired_by_time")
        .env("ONLINE", "false")
        .env("BRANCH", "credman/cleanup-test")
        .env("CREDMAN_KEY", "")
        .env("GIT_CREDMAN_SIGNING_KEY_PASSPHRASE", "")
        .env("IS_FORK", "false")
        .env("PUSH_TOKEN", &token)
        .env("GITHUB_SERVER_URL", &server)
        .env("GITHUB_OUTPUT", &output)
        .env("RUNNER_TEMP", &runner_temp)
        .output()
        .unwrap();
    let (stdout, stderr) = (
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr),
    );
    assert!(out.status.success(), "{stdout}{stderr}");
    let outputs = std::fs::read_to_string(&output).unwrap();
    assert!(outputs.contains("removed=1\n"), "{outputs}");
    let pushed = t.git_in(
        &srv_root.join("remote.git"),
        &["rev-parse", "refs/heads/credman/cleanup-test"],
    );
    assert!(
        outputs.contains(&format!("commit={}", pushed.trim())),
        "{outputs}"
    );
    // The token went to the server only: not into .git/config, not into a log line (the
    // runner masks the Basic value it is told to with ::add-mask::).
    let config = std::fs::read_to_string(t.root.join(".git/config")).unwrap();
    assert!(
        !config.contains(&token) && !config.contains(&basic),
        "{config}"
    );
    assert!(
        !stderr.contains(&token) && !stderr.contains(&basic),
        "{stderr}"
    );
    for l in stdout.lines() {
        assert!(
            !l.contains(&token) && (!l.contains(&basic) || l == format!("::add-mask::{basic}")),
            "{l}"
        );
    }
    // The pull-request body lists what the commit removed, as "Removed", and says that two
    // other files are not alive (not selected by the statuses).
    let body = std::fs::read_to_string(runner_temp.join("credman-pr.md")).unwrap();
    assert!(body.contains("<summary>Removed (1)</summary>"), "{body}");
    assert!(body.contains("`auths/dead one.json`"), "{body}");
    assert!(!body.contains("Not alive ("), "{body}");
    assert!(
        body.contains("2 other file(s) not alive are not selected"),
        "{body}"
    );
    for s in secrets_of(&dead) {
        assert!(!body.contains(&s) && !stdout.contains(&s) && !stderr.contains(&s));
    }
}
