//! Test support: scrubbed git repositories ([`TestRepo`], git helpers), the binary under test,
//! and token-shaped strings built at run time (nothing token-like is committed).
//!
//! The mock upstreams live in their own files, each saying what it imitates and from where:
//! [`cpa`] (CLIProxyAPI's Management API, CPA v7.2.140), [`git_http`] (a git smart-HTTP host) and
//! [`providers`] (the provider APIs the online checks call).

#![allow(dead_code)]

pub mod cpa;
pub mod git_http;
pub mod providers;

use std::path::{Path, PathBuf};
use std::process::Command;

use base64::Engine as _;
use serde_json::{Value, json};

/// A temporary directory with a scrubbed git environment and optionally a repository.
pub struct TestRepo {
    pub tmp: tempfile::TempDir,
    pub root: PathBuf,
}

/// The environment every git and git-credman process gets: no system or user config.
pub fn scrubbed_env(home: &Path) -> Vec<(String, String)> {
    vec![
        ("HOME".into(), home.display().to_string()),
        ("PATH".into(), std::env::var("PATH").unwrap_or_default()),
        ("GIT_CONFIG_NOSYSTEM".into(), "1".into()),
        (
            "GIT_CONFIG_GLOBAL".into(),
            home.join(".gitconfig").display().to_string(),
        ),
        ("GIT_AUTHOR_NAME".into(), "Test Author".into()),
        ("GIT_AUTHOR_EMAIL".into(), "author@example.com".into()),
        ("GIT_COMMITTER_NAME".into(), "Test Committer".into()),
        ("GIT_COMMITTER_EMAIL".into(), "committer@example.com".into()),
        ("GIT_AUTHOR_DATE".into(), "2026-01-01T00:00:00Z".into()),
        ("GIT_COMMITTER_DATE".into(), "2026-01-01T00:00:00Z".into()),
        ("RUST_BACKTRACE".into(), "0".into()),
        ("LC_ALL".into(), "C".into()),
    ]
}

impl TestRepo {
    /// A temp dir with `git init -b main` in `repo/`.
    pub fn new() -> Self {
        let t = Self::bare_dir();
        std::fs::create_dir_all(&t.root).unwrap();
        t.git(&["init", "-q", "-b", "main"]);
        t
    }

    /// A temp dir whose `repo/` is not a repository (not even created).
    pub fn bare_dir() -> Self {
        let tmp = tempfile::tempdir().unwrap();
        let root = tmp.path().join("repo");
        std::fs::write(tmp.path().join(".gitconfig"), "").unwrap();
        Self { tmp, root }
    }

    pub fn home(&self) -> &Path {
        self.tmp.path()
    }

    /// Runs git in the repository and returns stdout; panics on failure.
    pub fn git(&self, args: &[&str]) -> String {
        let out = Command::new("git")
            .args(args)
            .current_dir(&self.root)
            .env_clear()
            .envs(scrubbed_env(self.home()))
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "git {args:?} failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8(out.stdout).unwrap()
    }

    /// Runs git in `dir` (not necessarily the repository) and returns stdout; panics on failure.
    pub fn git_in(&self, dir: &Path, args: &[&str]) -> String {
        git_in(self.home(), dir, args)
    }

    /// Writes a file (creating directories).
    pub fn write(&self, path: &str, content: impl AsRef<[u8]>) {
        let full = self.root.join(path);
        std::fs::create_dir_all(full.parent().unwrap()).unwrap();
        std::fs::write(full, content).unwrap();
    }

    /// Writes a JSON value as a file.
    pub fn write_json(&self, path: &str, value: &Value) {
        self.write(path, serde_json::to_vec_pretty(value).unwrap());
    }

    /// `git add -A && git commit`.
    pub fn commit_all(&self, msg: &str) {
        self.git(&["add", "-A"]);
        self.git(&["commit", "-q", "-m", msg]);
    }

    /// The binary under test, run in the repository with the scrubbed environment.
    pub fn credman(&self) -> assert_cmd::Command {
        self.credman_in(&self.root)
    }

    /// The binary under test, run in `dir`.
    pub fn credman_in(&self, dir: &Path) -> assert_cmd::Command {
        let mut cmd = assert_cmd::Command::new(env!("CARGO_BIN_EXE_git-credman"));
        cmd.env_clear()
            .envs(scrubbed_env(self.home()))
            .current_dir(dir);
        cmd
    }
}

/// Runs git in `dir` with the scrubbed environment of `home`; panics on failure.
pub fn git_in(home: &Path, dir: &Path, args: &[&str]) -> String {
    let out = Command::new("git")
        .args(args)
        .current_dir(dir)
        .env_clear()
        .envs(scrubbed_env(home))
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "git {args:?} in {} failed: {}",
        dir.display(),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

/// The permission bits of `p`.
#[cfg(unix)]
pub fn mode_of(p: &Path) -> u32 {
    use std::os::unix::fs::PermissionsExt as _;
    std::fs::metadata(p).unwrap().permissions().mode() & 0o777
}

/// The output of one run, as text.
pub struct Run {
    pub code: i32,
    pub stdout: String,
    pub stderr: String,
}

impl Run {
    /// Parses stdout as a JSON report (scan, prune or show), validated against the schema.
    pub fn json(&self) -> Value {
        parse_report(&self.stdout)
    }

    /// Parses stdout as JSON that is not a report (SARIF), without the report schema.
    pub fn other_json(&self) -> Value {
        serde_json::from_str(&self.stdout)
            .unwrap_or_else(|e| panic!("bad JSON ({e}): {}", self.stdout))
    }
}

/// Parses a JSON report (or `show`'s output) and validates it against
/// schema/report.schema.json; panics when it is not JSON or not valid.
pub fn parse_report(text: &str) -> Value {
    let doc: Value =
        serde_json::from_str(text).unwrap_or_else(|e| panic!("bad JSON ({e}): {text}"));
    validate_report(&doc);
    doc
}

/// The report a prune commit's message embeds, decoded as `show` decodes it, validated.
pub fn embedded_report(msg: &str) -> Value {
    let block = git_credman::message::embedded_report(msg)
        .unwrap_or_else(|| panic!("no embedded report in: {msg}"));
    let doc = git_credman::message::decode_report(block)
        .unwrap_or_else(|e| panic!("bad embedded report ({e}): {block}"));
    validate_report(&doc);
    doc
}

/// Reads a report file (`--report`, a quarantine's or backup's credman-report.json), validated.
pub fn read_report(path: &Path) -> Value {
    let text = std::fs::read_to_string(path)
        .unwrap_or_else(|e| panic!("cannot read {}: {e}", path.display()));
    parse_report(&text)
}

/// Panics unless `doc` is valid under schema/report.schema.json.
pub fn validate_report(doc: &Value) {
    let errors = schema_errors(doc);
    assert!(
        errors.is_empty(),
        "the report does not match schema/report.schema.json:\n{}\nreport: {doc:#}",
        errors.join("\n")
    );
}

/// The published report schema.
pub fn schema_path() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("schema/report.schema.json")
}

/// The validator: python-jsonschema (the reference implementation of draft 2020-12), installed
/// into target/tools/venv by `.ci/tools`. One process serves the whole test binary: a document
/// per line on stdin, its errors as one JSON array per line on stdout (`[]` when valid).
const VALIDATOR_PY: &str = r#"
import json, sys
from jsonschema import Draft202012Validator
from jsonschema.exceptions import best_match
with open(sys.argv[1]) as f:
    schema = json.load(f)
Draft202012Validator.check_schema(schema)
validator = Draft202012Validator(schema)
print("ready", flush=True)
for line in sys.stdin:
    doc = json.loads(line)
    errors = list(validator.iter_errors(doc))
    out = []
    if errors:
        # oneOf (report or show) hides the cause: name the deepest, most relevant error too.
        best = best_match(errors)
        for e in [best] + [c for e in errors for c in e.context][:20]:
            out.append("/" + "/".join(map(str, e.absolute_path)) + ": " + e.message[:300])
    print(json.dumps(out), flush=True)
"#;

struct Validator {
    stdin: std::process::ChildStdin,
    stdout: std::io::BufReader<std::process::ChildStdout>,
    _child: std::process::Child,
}

fn start_validator() -> Validator {
    use std::io::BufRead as _;
    let python = Path::new(env!("CARGO_MANIFEST_DIR")).join("target/tools/venv/bin/python");
    let mut child = Command::new(&python)
        .arg("-c")
        .arg(VALIDATOR_PY)
        .arg(schema_path())
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| {
            panic!(
                "cannot start {} ({e}): run .ci/tools (the README's test command does), which \
                 installs python-jsonschema there",
                python.display()
            )
        });
    let stdin = child.stdin.take().unwrap();
    let mut stdout = std::io::BufReader::new(child.stdout.take().unwrap());
    let mut ready = String::new();
    stdout.read_line(&mut ready).unwrap();
    assert_eq!(
        ready.trim(),
        "ready",
        "the schema validator did not start (is python-jsonschema installed? run .ci/tools)"
    );
    Validator {
        stdin,
        stdout,
        _child: child,
    }
}

/// Returns the schema violations of `doc` (empty when valid), from the real validator.
pub fn schema_errors(doc: &Value) -> Vec<String> {
    use std::io::{BufRead as _, Write as _};
    static VALIDATOR: std::sync::OnceLock<std::sync::Mutex<Validator>> = std::sync::OnceLock::new();
    let mut v = VALIDATOR
        .get_or_init(|| std::sync::Mutex::new(start_validator()))
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    // Compact JSON has no raw newline: one document per line.
    let line = serde_json::to_string(doc).unwrap();
    writeln!(v.stdin, "{line}").unwrap();
    v.stdin.flush().unwrap();
    let mut answer = String::new();
    v.stdout.read_line(&mut answer).unwrap();
    serde_json::from_str(&answer)
        .unwrap_or_else(|e| panic!("the schema validator answered {answer:?} ({e})"))
}

pub fn run(cmd: &mut assert_cmd::Command) -> Run {
    let out = cmd.output().unwrap();
    Run {
        code: out.status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    }
}

/// Returns the result for `path` in a JSON report.
pub fn result<'a>(report: &'a Value, path: &str) -> &'a Value {
    report["results"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["path"] == path)
        .unwrap_or_else(|| panic!("no result for {path} in {report:#}"))
}

/// A prune report's `prune.skipped`, as (path, reason) pairs.
pub fn skipped(report: &Value) -> Vec<(String, String)> {
    report["prune"]["skipped"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| {
            (
                s["path"].as_str().unwrap().to_owned(),
                s["reason"].as_str().unwrap().to_owned(),
            )
        })
        .collect()
}

/// Paths of a JSON report's results.
pub fn paths(report: &Value) -> Vec<String> {
    report["results"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["path"].as_str().unwrap().to_owned())
        .collect()
}

fn b64(bytes: &[u8]) -> String {
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)
}

/// A unique, token-shaped random-ish string, built at run time.
pub fn noise(seed: &str, len: usize) -> String {
    use std::hash::{BuildHasher as _, Hasher as _};
    let mut out = String::new();
    let mut n = 0u64;
    while out.len() < len {
        let mut h = std::collections::hash_map::RandomState::new().build_hasher();
        h.write(seed.as_bytes());
        h.write_u64(n);
        out.push_str(&format!("{:016x}", h.finish()));
        n += 1;
    }
    out.truncate(len);
    out
}

/// A JWT-shaped access token with the given claims (unsigned, built at run time).
pub fn jwt(claims: &Value) -> String {
    let header = b64(br#"{"alg":"RS256","typ":"JWT"}"#);
    format!(
        "{header}.{}.{}",
        b64(claims.to_string().as_bytes()),
        noise("sig", 43)
    )
}

/// A codex access token JWT expiring at `exp` (unix seconds).
pub fn codex_access(exp: i64, account: &str) -> String {
    jwt(&json!({"exp": exp, "https://api.openai.com/auth": {"chatgpt_account_id": account}}))
}

/// A codex id token carrying email, account id and plan.
pub fn codex_id_token(email: &str, account: &str, plan: &str) -> String {
    jwt(&json!({"email": email, "https://api.openai.com/auth": {
        "chatgpt_account_id": account, "chatgpt_plan_type": plan}}))
}

pub fn claude_access() -> String {
    format!("sk-ant-{}01-{}", "oat", noise("claude-a", 80))
}

pub fn claude_refresh() -> String {
    format!("sk-ant-{}01-{}", "ort", noise("claude-r", 80))
}

pub fn google_access() -> String {
    format!("ya{}.{}", 29, noise("google-a", 120))
}

pub fn google_refresh() -> String {
    format!("1//0{}", noise("google-r", 60))
}

pub fn now() -> i64 {
    chrono::Utc::now().timestamp()
}

/// RFC3339 time `secs` from now.
pub fn rfc_in(secs: i64) -> String {
    chrono::DateTime::from_timestamp(now() + secs, 0)
        .unwrap()
        .to_rfc3339()
}

/// A live codex credential (JWT exp in a day, refresh token present).
pub fn codex_live(email: &str, account: &str, plan: &str) -> Value {
    json!({"type":"codex","email":email,"account_id":account,
        "id_token": codex_id_token(email, account, plan),
        "access_token": codex_access(now() + 86_400, account),
        "refresh_token": format!("rt_{}", noise(email, 40)),
        "expired": rfc_in(86_400), "disabled": false})
}

/// A dead codex credential (JWT expired, no refresh token).
pub fn codex_dead(email: &str, account: &str) -> Value {
    json!({"type":"codex","email":email,"account_id":account,
        "access_token": codex_access(now() - 86_400, account), "expired": rfc_in(-86_400)})
}

/// Every secret string in a JSON credential (for leak checks).
pub fn secrets_of(v: &Value) -> Vec<String> {
    let mut out = Vec::new();
    fn walk(v: &Value, key: &str, out: &mut Vec<String>) {
        match v {
            Value::Object(m) => m.iter().for_each(|(k, v)| walk(v, k, out)),
            Value::Array(a) => a.iter().for_each(|v| walk(v, key, out)),
            Value::String(s)
                if [
                    "access_token",
                    "refresh_token",
                    "id_token",
                    "api_key",
                    "private_key",
                    "cookie",
                    "accessToken",
                    "refreshToken",
                    "token",
                ]
                .contains(&key)
                    && s.len() >= 8 =>
            {
                out.push(s.clone());
            }
            _ => {}
        }
    }
    walk(v, "", &mut out);
    out
}

/// A loopback port with nothing listening.
pub fn dead_port() -> u16 {
    let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    l.local_addr().unwrap().port()
}
