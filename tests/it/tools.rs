//! The real clients the suite drives, as `.ci/tools` installs them into `target/tools`: the
//! SARIF multitool (npm `@microsoft/sarif-multitool`, whose package also ships the official
//! SARIF 2.1.0 schema), python `jsonschema` and zizmor (PyPI, in `target/tools/venv`).
//!
//! A tool that is not installed skips its test loudly: the reason goes straight to the
//! terminal (not through the captured `eprintln!`). With `CI=true` it fails the test instead:
//! CI must have installed it.

use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::process::Command;

use serde_json::Value;

fn tools_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("target/tools")
}

/// Returns `path` if it exists; otherwise fails in CI and says why the test is skipped elsewhere.
fn installed(what: &str, path: PathBuf) -> Option<PathBuf> {
    if path.is_file() {
        return Some(path);
    }
    let why = format!(
        "{what} is not installed at {} (run .ci/tools)",
        path.display()
    );
    assert!(
        std::env::var("CI").as_deref() != Ok("true"),
        "{why}: CI must have installed it"
    );
    // Not eprintln!: libtest captures it, and a skip must be seen.
    let _ = writeln!(std::io::stderr(), "SKIPPED: {why}");
    None
}

fn npm_package() -> PathBuf {
    tools_dir().join("npm/node_modules/@microsoft/sarif-multitool-linux")
}

/// The SARIF multitool binary.
pub fn multitool() -> Option<PathBuf> {
    installed("the SARIF multitool", npm_package().join("Sarif.Multitool"))
}

/// The official SARIF 2.1.0 JSON schema, from the multitool's npm package.
pub fn sarif_schema() -> Option<PathBuf> {
    installed(
        "the SARIF 2.1.0 schema",
        npm_package().join("sarif-2.1.0.json"),
    )
}

/// zizmor, the GitHub Actions security linter.
pub fn zizmor() -> Option<PathBuf> {
    installed("zizmor", tools_dir().join("venv/bin/zizmor"))
}

/// The Python of target/tools/venv (with jsonschema).
pub fn venv_python() -> Option<PathBuf> {
    installed(
        "python jsonschema (target/tools/venv)",
        tools_dir().join("venv/bin/python"),
    )
}

/// Runs `Sarif.Multitool validate --rule-kind "Sarif;Gh"` on `sarif` and returns the results
/// it reports (each: ruleId, level, and its message arguments), or `None` when not installed.
pub fn multitool_validate(sarif: &Path) -> Option<Vec<String>> {
    let tool = multitool()?;
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("validation.sarif");
    let run = Command::new(tool)
        .args([
            "validate",
            "--rule-kind",
            "Sarif;Gh",
            "--log",
            "ForceOverwrite",
        ])
        .arg("-o")
        .arg(&out)
        .arg(sarif)
        // Without libicu (a bare Debian), .NET needs the invariant culture.
        .env("DOTNET_SYSTEM_GLOBALIZATION_INVARIANT", "1")
        .env("DOTNET_CLI_TELEMETRY_OPTOUT", "1")
        .env("HOME", dir.path())
        .output()
        .unwrap();
    assert!(
        run.status.success(),
        "the multitool failed: {}{}",
        String::from_utf8_lossy(&run.stdout),
        String::from_utf8_lossy(&run.stderr)
    );
    let log: Value = serde_json::from_slice(&std::fs::read(&out).unwrap()).unwrap();
    let run0 = &log["runs"][0];
    assert_eq!(
        run0["invocations"][0]["executionSuccessful"], true,
        "the multitool did not validate: {run0:#}"
    );
    Some(
        run0["results"]
            .as_array()
            .map(|a| {
                a.iter()
                    .map(|r| {
                        format!(
                            "{} {} {}",
                            r["ruleId"].as_str().unwrap_or("?"),
                            r["level"].as_str().unwrap_or("warning"),
                            r["message"]["arguments"]
                        )
                    })
                    .collect()
            })
            .unwrap_or_default(),
    )
}

/// Validates `sarif` against the official SARIF 2.1.0 schema with python `jsonschema`,
/// formats checked (`uri-reference`, `date-time`…); returns the errors, or `None` when not
/// installed.
pub fn schema_validate(sarif: &Path) -> Option<Vec<String>> {
    let schema = sarif_schema()?;
    let python = venv_python()?;
    let script = r#"
import json, sys, jsonschema
schema = json.load(open(sys.argv[1], encoding="utf-8"))
doc = json.load(open(sys.argv[2], encoding="utf-8"))
cls = jsonschema.validators.validator_for(schema)
v = cls(schema, format_checker=cls.FORMAT_CHECKER)
for e in v.iter_errors(doc):
    print("/".join(str(p) for p in e.absolute_path) + ": " + e.message)
"#;
    let run = Command::new(python)
        .arg("-c")
        .arg(script)
        .arg(&schema)
        .arg(sarif)
        .output()
        .unwrap();
    assert!(
        run.status.success(),
        "jsonschema failed: {}",
        String::from_utf8_lossy(&run.stderr)
    );
    Some(
        String::from_utf8_lossy(&run.stdout)
            .lines()
            .map(str::to_owned)
            .collect(),
    )
}
