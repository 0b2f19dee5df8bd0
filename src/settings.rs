//! Settings: flag > `GIT_CREDMAN_*` environment variable > git config `credman.*` > default.
//!
//! The only module that reads the process environment ([`Env::from_process`], called once by
//! `main`). Commands receive validated settings and never look at the environment themselves.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::str::FromStr;

use chrono::{DateTime, Utc};

use crate::cli::{ColorChoice, GlobalArgs, OnlineArgs, ScanArgs, SelectArgs};
use crate::credential::Secret;
use crate::endpoint::Endpoints;
use crate::probe;
use crate::providers::{CodexProbe, ProbeOptions};
use crate::report::Format;
use crate::status::{Status, StatusSet};

/// The default fail set of `scan`.
pub const DEFAULT_FAIL_ON: [Status; 6] = [
    Status::Invalidated,
    Status::Deactivated,
    Status::ExpiredByTime,
    Status::Unauthorized,
    Status::MissingToken,
    Status::InvalidFile,
];

/// A bad value in the environment or git config.
///
/// Displays as one line naming where the value came from, with a hint on how to fix it.
#[derive(Debug, thiserror::Error)]
#[error("invalid value '{value}' for {key}: {reason}{}", origin_hint(.key))]
pub struct Error {
    /// The variable or config key.
    pub key: String,
    /// The value (only for non-secret settings).
    pub value: String,
    /// Why it is invalid.
    pub reason: String,
}

/// Returns how to fix a value, by where it came from.
fn origin_hint(key: &str) -> String {
    if key.starts_with("credman.") {
        format!(" (fix it, or remove it with `git config --unset {key}`)")
    } else if key.starts_with("GIT_CREDMAN_") {
        format!(" (fix or unset the environment variable {key})")
    } else {
        String::new()
    }
}

/// The longest `--timeout` and `--deadline` accepted: a day. Longer is certainly a mistake, and
/// unbounded values overflow the clock arithmetic of the probes.
pub const MAX_DURATION: std::time::Duration = std::time::Duration::from_secs(24 * 3600);

/// The largest `--concurrency` and `--per-host` accepted.
pub const MAX_CONCURRENCY: usize = 100_000;

/// Returns a number of seconds as a duration, if it is finite, positive and at most
/// [`MAX_DURATION`].
pub fn duration_from_secs(secs: f64) -> Result<std::time::Duration, String> {
    if !secs.is_finite() || secs <= 0.0 {
        return Err("must be a positive number of seconds".into());
    }
    if secs > MAX_DURATION.as_secs_f64() {
        return Err(format!("must be at most {}s (24h)", MAX_DURATION.as_secs()));
    }
    std::time::Duration::try_from_secs_f64(secs).map_err(|e| e.to_string())
}

/// The environment variables reqwest (through hyper-util's matcher) takes its proxies from;
/// their `NO_PROXY` only narrows them. When any is set, every probe goes through reqwest
/// (`probe::Config::env_proxy`).
pub const PROXY_VARS: [&str; 6] = [
    "ALL_PROXY",
    "all_proxy",
    "HTTPS_PROXY",
    "https_proxy",
    "HTTP_PROXY",
    "http_proxy",
];

/// A snapshot of the environment variables git-credman reads.
#[derive(Clone, Default)]
pub struct Env {
    vars: HashMap<String, String>,
}

/// Names only: values can be secrets (`GIT_CREDMAN_GIT_TOKEN`, a `-c` value in
/// `GIT_CONFIG_PARAMETERS`), and a `{:?}` must never print one.
impl std::fmt::Debug for Env {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let mut names: Vec<&str> = self.vars.keys().map(String::as_str).collect();
        names.sort_unstable();
        f.debug_struct("Env").field("names", &names).finish()
    }
}

impl Env {
    /// Takes the snapshot: every `GIT_CREDMAN_*` and `PRE_COMMIT_*` variable, `NO_COLOR`,
    /// `GITHUB_STEP_SUMMARY`, the configuration git passes on its command line
    /// (`GIT_CONFIG_PARAMETERS`, `GIT_CONFIG_COUNT`, `GIT_CONFIG_KEY_n`, `GIT_CONFIG_VALUE_n`),
    /// and the proxy variables reqwest honours ([`PROXY_VARS`]).
    #[allow(clippy::disallowed_methods)]
    pub fn from_process() -> Self {
        let vars = std::env::vars_os()
            .filter_map(|(k, v)| Some((k.into_string().ok()?, v.into_string().ok()?)))
            .filter(|(k, _)| {
                k.starts_with("GIT_CREDMAN_")
                    || k.starts_with("PRE_COMMIT_")
                    || k == "PRE_COMMIT"
                    || k == "NO_COLOR"
                    || k == "GITHUB_STEP_SUMMARY"
                    || k == "GIT_CONFIG_PARAMETERS"
                    || k == "GIT_CONFIG_COUNT"
                    || k.starts_with("GIT_CONFIG_KEY_")
                    || k.starts_with("GIT_CONFIG_VALUE_")
                    || PROXY_VARS.contains(&k.as_str())
            })
            .collect();
        Self { vars }
    }

    /// Builds an environment from pairs (tests).
    pub fn from_pairs<'a>(pairs: impl IntoIterator<Item = (&'a str, &'a str)>) -> Self {
        Self {
            vars: pairs
                .into_iter()
                .map(|(k, v)| (k.to_owned(), v.to_owned()))
                .collect(),
        }
    }

    /// Returns a variable's value; empty values count as unset. Private: every variable is
    /// read through a function of this module, so the precedence lives in one file.
    fn get(&self, key: &str) -> Option<&str> {
        self.vars
            .get(key)
            .map(String::as_str)
            .filter(|v| !v.is_empty())
    }

    /// Returns a variable's value, empty or not (git's `GIT_CONFIG_VALUE_n` may be empty).
    fn get_raw(&self, key: &str) -> Option<&str> {
        self.vars.get(key).map(String::as_str)
    }
}

/// A malformed `GIT_CONFIG_PARAMETERS` (what `git -c` hands to external commands) or
/// `GIT_CONFIG_COUNT` family, worded as git words it. Never shows a value: `-c` values can be
/// secrets (`http.extraHeader`).
#[derive(Debug, thiserror::Error)]
#[error(
    "{0}: unable to parse command-line config (check the `git -c` options, \
     GIT_CONFIG_PARAMETERS and GIT_CONFIG_COUNT)"
)]
pub struct CommandLineError(String);

/// Returns the configuration given on git's command line: `GIT_CONFIG_COUNT`/`KEY_n`/`VALUE_n`,
/// then `GIT_CONFIG_PARAMETERS` (`git -c`), each parsed with git's grammar (`config.c`,
/// `git_config_from_parameters`): space-separated `'key'='value'` pairs (git ≥ 2.31), `'key'=`
/// for an implicit true, or the older `'key=value'`, each part single-quoted as `sq_quote` does
/// (`'\''` for a quote, `'\!'` for a bang). Keys are validated and canonicalised as git does.
pub fn command_line_config(env: &Env) -> Result<crate::git::config::CommandLine, CommandLineError> {
    let mut config = crate::git::config::CommandLine::default();
    if let Some(count) = env.get("GIT_CONFIG_COUNT") {
        let count: u32 = count
            .parse()
            .ok()
            .filter(|n| i32::try_from(*n).is_ok())
            .ok_or_else(|| CommandLineError("bogus count in GIT_CONFIG_COUNT".into()))?;
        for i in 0..count {
            let key = env.get_raw(&format!("GIT_CONFIG_KEY_{i}")).ok_or_else(|| {
                CommandLineError(format!("missing config key GIT_CONFIG_KEY_{i}"))
            })?;
            let value = env
                .get_raw(&format!("GIT_CONFIG_VALUE_{i}"))
                .ok_or_else(|| {
                    CommandLineError(format!("missing config value GIT_CONFIG_VALUE_{i}"))
                })?;
            config.count.push(config_pair(key, Some(value))?);
        }
    }
    if let Some(parameters) = env.get("GIT_CONFIG_PARAMETERS") {
        config.parameters = parse_config_parameters(parameters)?;
    }
    Ok(config)
}

/// git's `isspace` (`sane_ctype`): space, tab, newline, carriage return.
fn is_git_space(c: char) -> bool {
    matches!(c, ' ' | '\t' | '\n' | '\r')
}

/// Parses `GIT_CONFIG_PARAMETERS` (`parse_config_env_list` in git's `config.c`).
fn parse_config_parameters(text: &str) -> Result<Vec<(String, Option<String>)>, CommandLineError> {
    let bogus = || CommandLineError("bogus format in GIT_CONFIG_PARAMETERS".into());
    let mut pairs = Vec::new();
    let mut cur = Some(text);
    while let Some(rest) = cur.filter(|r| !r.is_empty()) {
        let (key, after) = sq_dequote_step(rest).ok_or_else(bogus)?;
        cur = match after {
            // Old style: 'key=value' or 'key'.
            None => {
                pairs.push(config_parameter(&key)?);
                None
            }
            Some(after) if after.starts_with(is_git_space) => {
                pairs.push(config_parameter(&key)?);
                Some(after)
            }
            // New style: 'key'='value' or 'key'= (implicit true).
            Some(after) if after.starts_with('=') => {
                let after = &after[1..];
                if after.starts_with('\'') {
                    let (value, next) = sq_dequote_step(after).ok_or_else(bogus)?;
                    if next.is_some_and(|n| !n.starts_with(is_git_space)) {
                        return Err(bogus());
                    }
                    pairs.push(config_pair(&key, Some(&value))?);
                    next
                } else if after.is_empty() || after.starts_with(is_git_space) {
                    pairs.push(config_pair(&key, None)?);
                    Some(after)
                } else {
                    return Err(bogus());
                }
            }
            Some(_) => return Err(bogus()),
        };
        cur = cur.map(|r| r.trim_start_matches(is_git_space));
    }
    Ok(pairs)
}

/// Dequotes one single-quoted word at the start of `text` (git's `sq_dequote_step`): returns it
/// and what follows the closing quote (`None` at the end of the text); `None` when `text` does
/// not start with a quote or the quote is not closed.
fn sq_dequote_step(text: &str) -> Option<(String, Option<&str>)> {
    let bytes = text.as_bytes();
    if bytes.first() != Some(&b'\'') {
        return None;
    }
    let mut out = Vec::new();
    let mut i = 1;
    loop {
        let c = *bytes.get(i)?;
        if c != b'\'' {
            out.push(c);
            i += 1;
            continue;
        }
        // Out of the quotes: the end, an escaped quote or bang that resumes them, or the next
        // token.
        match bytes.get(i + 1) {
            None => return Some((String::from_utf8(out).ok()?, None)),
            Some(b'\\')
                if matches!(bytes.get(i + 2), Some(b'\'' | b'!'))
                    && bytes.get(i + 3) == Some(&b'\'') =>
            {
                out.push(bytes[i + 2]);
                i += 4;
            }
            Some(_) => return Some((String::from_utf8(out).ok()?, Some(&text[i + 1..]))),
        }
    }
}

/// Parses an old-style `key=value` (or `key`, an implicit true) parameter
/// (`git_config_parse_parameter`).
fn config_parameter(text: &str) -> Result<(String, Option<String>), CommandLineError> {
    let (key, value) = match text.split_once('=') {
        Some((key, value)) => (key, Some(value)),
        None => (text, None),
    };
    let key = key.trim_matches(is_git_space);
    if key.is_empty() {
        return Err(CommandLineError(
            "bogus config parameter: the key is empty".into(),
        ));
    }
    config_pair(key, value)
}

/// Validates and canonicalises a key as `git_config_parse_key` does: the section and the name
/// are lowercased, a subsection is kept as is; the name starts with a letter; section and name
/// hold only letters, digits and `-`.
fn config_pair(
    key: &str,
    value: Option<&str>,
) -> Result<(String, Option<String>), CommandLineError> {
    let shown = || crate::report::escape(key);
    if key.is_empty() {
        return Err(CommandLineError("empty config key".into()));
    }
    let Some(last_dot) = key.rfind('.').filter(|&i| i > 0) else {
        return Err(CommandLineError(format!(
            "key does not contain a section: {}",
            shown()
        )));
    };
    let name = &key[last_dot + 1..];
    if name.is_empty() {
        return Err(CommandLineError(format!(
            "key does not contain variable name: {}",
            shown()
        )));
    }
    let (section, sub) = match key[..last_dot].split_once('.') {
        Some((section, sub)) => (section, Some(sub)),
        None => (&key[..last_dot], None),
    };
    let is_key_char = |c: char| c.is_ascii_alphanumeric() || c == '-';
    if section.is_empty()
        || !section.chars().all(is_key_char)
        || !name.chars().all(is_key_char)
        || !name.starts_with(|c: char| c.is_ascii_alphabetic())
        || sub.is_some_and(|s| s.contains('\n'))
    {
        return Err(CommandLineError(format!("invalid key: {}", shown())));
    }
    let canonical = match sub {
        Some(sub) => format!(
            "{}.{sub}.{}",
            section.to_ascii_lowercase(),
            name.to_ascii_lowercase()
        ),
        None => format!(
            "{}.{}",
            section.to_ascii_lowercase(),
            name.to_ascii_lowercase()
        ),
    };
    Ok((canonical, value.map(str::to_owned)))
}

/// A branch's configured upstream: (`branch.<name>.remote`, `branch.<name>.merge`).
pub fn upstream_of(config: &GitConfig, branch: &str) -> (Option<String>, Option<String>) {
    (
        config.string(&format!("branch.{branch}.remote")),
        config.string(&format!("branch.{branch}.merge")),
    )
}

/// `core.hooksPath`, when set: where git looks for hooks.
pub fn hooks_path(config: &GitConfig) -> Option<String> {
    config.string("core.hooksPath")
}

/// `GIT_CREDMAN_IN_PUSH`: set by `prune --push` for its own `git push`, so the pre-push gate
/// does not gate git-credman's own commit.
pub fn in_own_push(env: &Env) -> bool {
    env.get("GIT_CREDMAN_IN_PUSH").is_some()
}

/// What the pre-commit framework says about a push when it gives no stdin
/// (`PRE_COMMIT_TO_REF`, `PRE_COMMIT_FROM_REF`, `PRE_COMMIT_REMOTE_BRANCH`,
/// `PRE_COMMIT_REMOTE_NAME`; pre-commit's `hook_impl.py` sets them for `pre-push`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PreCommitPush {
    /// The local revision being pushed.
    pub to: String,
    /// The remote's revision before the push, when it has one.
    pub from: Option<String>,
    /// The remote ref (`HEAD` when not given).
    pub remote_branch: String,
    /// The remote's name, when given.
    pub remote_name: Option<String>,
}

/// What the pre-commit framework hands a `pre-push` hook (it gives no stdin). pre-commit 4.x
/// (`commands/hook_impl.py`, `_pre_push_ns`) looks at the first ref of a push only, and:
/// - for a range, sets `PRE_COMMIT_FROM_REF`/`PRE_COMMIT_TO_REF` (plus the branch variables);
/// - for a new branch whose history includes a root commit, sets no range, only
///   `PRE_COMMIT_LOCAL_BRANCH`, `PRE_COMMIT_REMOTE_BRANCH`, `PRE_COMMIT_REMOTE_NAME`;
/// - for `pre-commit run --hook-stage pre-push` by hand, sets none of them (only `PRE_COMMIT=1`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum PreCommit {
    /// A range of the first pushed ref.
    Range(PreCommitPush),
    /// A new branch pushed with its root commit: check it as a new ref.
    NewBranch {
        /// The local ref being pushed (`refs/heads/…`).
        local_branch: String,
        /// The remote ref.
        remote_branch: String,
        /// The remote's name.
        remote_name: Option<String>,
    },
    /// A manual run without refs.
    Manual,
}

/// Returns what pre-commit says about the push, if git-credman runs under pre-commit (or
/// `PRE_COMMIT_TO_REF` is set, as older set-ups do by hand).
pub fn pre_commit(env: &Env) -> Option<PreCommit> {
    let remote_branch = env
        .get("PRE_COMMIT_REMOTE_BRANCH")
        .unwrap_or("HEAD")
        .to_owned();
    let remote_name = env.get("PRE_COMMIT_REMOTE_NAME").map(str::to_owned);
    if let Some(to) = env.get("PRE_COMMIT_TO_REF") {
        return Some(PreCommit::Range(PreCommitPush {
            to: to.to_owned(),
            from: env.get("PRE_COMMIT_FROM_REF").map(str::to_owned),
            remote_branch,
            remote_name,
        }));
    }
    if let Some(local) = env.get("PRE_COMMIT_LOCAL_BRANCH") {
        return Some(PreCommit::NewBranch {
            local_branch: local.to_owned(),
            remote_branch,
            remote_name,
        });
    }
    env.get("PRE_COMMIT").map(|_| PreCommit::Manual)
}

/// `GITHUB_STEP_SUMMARY`: the file GitHub Actions shows as the job summary, if set.
pub fn step_summary(env: &Env) -> Option<PathBuf> {
    env.get("GITHUB_STEP_SUMMARY").map(PathBuf::from)
}

/// The test-only pause (`GIT_CREDMAN_TEST_PAUSE_AT` step, `GIT_CREDMAN_TEST_PAUSE_FILE` file),
/// only when both are set; see `interrupt::checkpoint`.
pub fn test_pause(env: &Env) -> Option<(String, PathBuf)> {
    env.get("GIT_CREDMAN_TEST_PAUSE_AT")
        .zip(env.get("GIT_CREDMAN_TEST_PAUSE_FILE"))
        .map(|(at, file)| (at.to_owned(), PathBuf::from(file)))
}

/// The test-only verdict time (`GIT_CREDMAN_TEST_RECORD_AT`, RFC3339), only when
/// `GIT_CREDMAN_TEST_FAKE_CLOCK=1` is set too: recorded verdicts get this time instead of the
/// scan's, so that a test can record scans hours apart. Inert otherwise (and when malformed).
pub fn test_record_time(env: &Env) -> Option<DateTime<Utc>> {
    if env.get("GIT_CREDMAN_TEST_FAKE_CLOCK") != Some("1") {
        return None;
    }
    env.get("GIT_CREDMAN_TEST_RECORD_AT")
        .and_then(|v| DateTime::parse_from_rfc3339(v).ok())
        .map(|t| t.with_timezone(&Utc))
}

/// Whether a run records its verdicts (`--record` > `GIT_CREDMAN_RECORD` > `credman.record`).
pub fn record(flag: bool, env: &Env, config: &GitConfig) -> Result<bool, Error> {
    if flag {
        return Ok(true);
    }
    let look = Lookup { env, config };
    Ok(look
        .boolean("GIT_CREDMAN_RECORD", "credman.record")?
        .unwrap_or(false))
}

/// The N-strikes rule of a prune.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct StrikeSettings {
    /// Consecutive dead verdicts needed (1 to `strikes::KEEP`).
    pub required: usize,
    /// The least time between the first and the last of them.
    pub spacing: chrono::TimeDelta,
}

/// Splits a duration into its number and its unit (`s` when it has none).
fn number_and_unit(value: &str) -> Option<(f64, &str)> {
    let v = value.trim();
    let (num, unit) = match v.find(|c: char| c.is_ascii_alphabetic()) {
        Some(i) => (&v[..i], &v[i..]),
        None => (v, "s"),
    };
    num.trim().parse().ok().map(|n| (n, unit))
}

/// Parses `--spacing`: a number with `s`, `m`, `h` or `d` (seconds without one), 0 to 365 days.
pub fn parse_spacing(value: &str) -> Result<chrono::TimeDelta, String> {
    let (n, unit) = number_and_unit(value)
        .ok_or_else(|| "expected a duration like 6h, 90m or 2d".to_owned())?;
    let unit_secs = match unit {
        "s" => 1.0,
        "m" => 60.0,
        "h" => 3600.0,
        "d" => 86_400.0,
        _ => return Err(format!("unknown unit '{unit}' (use s, m, h or d)")),
    };
    let secs = n * unit_secs;
    if !secs.is_finite() || !(0.0..=365.0 * 86_400.0).contains(&secs) {
        return Err("must be between 0 and 365d".to_owned());
    }
    #[allow(clippy::cast_possible_truncation)]
    Ok(chrono::TimeDelta::seconds(secs.round() as i64))
}

/// Resolves `--strikes N` and `--spacing T` (flag > env > git config); none without strikes.
pub fn strikes(
    flag_n: Option<&str>,
    flag_spacing: Option<&str>,
    env: &Env,
    config: &GitConfig,
) -> Result<Option<StrikeSettings>, Error> {
    let look = Lookup { env, config };
    let raw_n = match flag_n {
        Some(v) => Some((v.to_owned(), "--strikes".to_owned())),
        None => look.raw("GIT_CREDMAN_STRIKES", "credman.strikes"),
    };
    let raw_spacing = match flag_spacing {
        Some(v) => Some((v.to_owned(), "--spacing".to_owned())),
        None => look.raw("GIT_CREDMAN_SPACING", "credman.spacing"),
    };
    let Some((n, key)) = raw_n else {
        return match raw_spacing {
            Some((value, key)) if key == "--spacing" => Err(Error {
                key,
                value,
                reason: "applies only with --strikes N".into(),
            }),
            _ => Ok(None),
        };
    };
    let max = crate::strikes::KEEP;
    let required = match n.trim().parse::<usize>() {
        Ok(r) if (1..=max).contains(&r) => r,
        _ => {
            return Err(Error {
                key,
                value: n,
                reason: format!("expected a number of verdicts from 1 to {max}"),
            });
        }
    };
    let spacing = match raw_spacing {
        Some((value, key)) => {
            parse_spacing(&value).map_err(|reason| Error { key, value, reason })?
        }
        None => chrono::TimeDelta::zero(),
    };
    Ok(Some(StrikeSettings { required, spacing }))
}

/// The git configuration in effect (the repository's, or the global one outside a repository).
///
/// Values from a repository-local file that git would not trust (a repository owned by another
/// user and not listed in `safe.directory`, "dubious ownership") are never read: such a
/// `.git/config` could send every token to an endpoint or proxy of its owner's choosing. gix
/// opens those repositories with reduced trust and marks their sections; every lookup goes
/// through [`crate::git::config::Config`], which applies gix's own trust filter.
#[derive(Default)]
pub struct GitConfig {
    file: Option<crate::git::config::Config>,
}

impl GitConfig {
    /// Wraps a configuration; logs a warning once when it holds `credman.*` values that are
    /// ignored because their file is not trusted.
    pub fn new(file: Option<crate::git::config::Config>) -> Self {
        let config = Self { file };
        if let Some(path) = config.untrusted_credman_file() {
            tracing::warn!(
                "ignoring the credman.* settings of {}: the repository is not owned by you \
                 (git calls this dubious ownership); add it to safe.directory in your global \
                 git config to trust it",
                crate::report::escape(&path.display().to_string())
            );
        }
        config
    }

    /// Loads system and global configuration with the values given on git's command line
    /// (`git -c`), for commands run outside a repository.
    pub fn globals(env: &Env) -> anyhow::Result<Self> {
        let command_line = command_line_config(env)?;
        Ok(Self {
            file: crate::git::config::Config::globals(&command_line)?,
        })
    }

    /// Returns the file of an untrusted section that sets `credman.*`, if any.
    fn untrusted_credman_file(&self) -> Option<PathBuf> {
        self.file.as_ref()?.untrusted_section("credman")
    }

    /// Returns the last trusted value of a key.
    pub fn string(&self, key: &str) -> Option<String> {
        self.file.as_ref()?.string(key)
    }

    /// Returns every trusted value of a multi-valued key.
    pub fn strings(&self, key: &str) -> Vec<String> {
        self.file
            .as_ref()
            .map(|f| f.strings(key))
            .unwrap_or_default()
    }
}

/// Where a setting's value came from, to resolve the precedence and name it in errors.
struct Lookup<'a> {
    env: &'a Env,
    config: &'a GitConfig,
}

impl Lookup<'_> {
    /// Returns the value and its origin (`GIT_CREDMAN_X` or `credman.x`).
    fn raw(&self, env_key: &str, config_key: &str) -> Option<(String, String)> {
        if let Some(v) = self.env.get(env_key) {
            return Some((v.to_owned(), env_key.to_owned()));
        }
        self.config
            .string(config_key)
            .map(|v| (v, config_key.to_owned()))
    }

    fn parsed<T: FromStr>(&self, env_key: &str, config_key: &str) -> Result<Option<T>, Error>
    where
        T::Err: std::fmt::Display,
    {
        match self.raw(env_key, config_key) {
            None => Ok(None),
            Some((value, key)) => value.parse::<T>().map(Some).map_err(|e| Error {
                key,
                value,
                reason: e.to_string(),
            }),
        }
    }

    fn boolean(&self, env_key: &str, config_key: &str) -> Result<Option<bool>, Error> {
        match self.raw(env_key, config_key) {
            None => Ok(None),
            Some((value, key)) => parse_bool(&value).map(Some).ok_or_else(|| Error {
                key,
                value,
                reason: "expected true or false".into(),
            }),
        }
    }
}

/// Parses a boolean the way git does (`true/yes/on/1`, `false/no/off/0`).
pub fn parse_bool(value: &str) -> Option<bool> {
    match value.trim().to_ascii_lowercase().as_str() {
        "true" | "yes" | "on" | "1" => Some(true),
        "false" | "no" | "off" | "0" | "" => Some(false),
        _ => None,
    }
}

/// Returns whether `--dir` and `--server` runs read the configuration of the repository around
/// the current directory (`GIT_CREDMAN_REPO_CONFIG`, default false).
pub fn reads_repo_config(env: &Env) -> Result<bool, Error> {
    match env.get("GIT_CREDMAN_REPO_CONFIG") {
        None => Ok(false),
        Some(value) => parse_bool(value).ok_or_else(|| Error {
            key: "GIT_CREDMAN_REPO_CONFIG".into(),
            value: value.to_owned(),
            reason: "expected true or false".into(),
        }),
    }
}

/// The management key for server mode, by the README's precedence: `--management-key-file`
/// (relative to the current directory), then `GIT_CREDMAN_MANAGEMENT_KEY`, then git config
/// `credman.managementKeyFile`. The key itself never comes from the command line.
pub fn management_key(
    file_flag: Option<&std::path::Path>,
    env: &Env,
    config: &GitConfig,
    cwd: &std::path::Path,
) -> anyhow::Result<Secret> {
    let key = match (file_flag, env.get("GIT_CREDMAN_MANAGEMENT_KEY")) {
        (Some(file), _) => read_key(&cwd.join(file))?,
        (None, Some(k)) => k.to_owned(),
        (None, None) => match config.string("credman.managementKeyFile") {
            Some(file) => read_key(std::path::Path::new(&file))?,
            None => anyhow::bail!(
                "server mode needs the management key: set GIT_CREDMAN_MANAGEMENT_KEY, or pass --management-key-file FILE \
                 (never put it on the command line)"
            ),
        },
    };
    Ok(Secret::new(key))
}

fn read_key(path: &std::path::Path) -> anyhow::Result<String> {
    use anyhow::Context as _;
    let key = std::fs::read_to_string(path)
        .with_context(|| format!("cannot read the management key file {}", path.display()))?;
    let key = key.trim().to_owned();
    if key.is_empty() {
        anyhow::bail!("the management key file {} is empty", path.display());
    }
    Ok(key)
}

/// Reads a secret from a key file (trimmed; empty is an error naming `what`).
fn read_secret_file(path: &Path, what: &str) -> anyhow::Result<Secret> {
    use anyhow::Context as _;
    let text = std::fs::read_to_string(path)
        .with_context(|| format!("cannot read the {what} file {}", path.display()))?;
    let text = text.trim();
    if text.is_empty() {
        anyhow::bail!("the {what} file {} is empty", path.display());
    }
    Ok(Secret::new(text))
}

/// Resolves a secret: its variable, then a file named by a variable, then a file named by git
/// config (the secret itself is never read from the command line or from git config).
fn secret_of(
    look: &Lookup<'_>,
    var: &str,
    file_var: &str,
    file_key: &str,
    what: &str,
) -> anyhow::Result<Option<Secret>> {
    if let Some(v) = look.env.get(var) {
        return Ok(Some(Secret::new(v.trim())));
    }
    match look.raw(file_var, file_key) {
        Some((file, _)) => read_secret_file(Path::new(&file), what).map(Some),
        None => Ok(None),
    }
}

/// Resolves the notification settings of `scan` and `prune` (`None`: no target). The targets:
/// every `--notify` (comma lists), else `GIT_CREDMAN_NOTIFY`, else git config `credman.notify`
/// (multi-valued); `none` among them turns notifications off. Each target's settings must be
/// complete (exit 2 with what to set); the bot token and the webhook secret come only from the
/// environment or key files, and a `credman.telegramToken` in git config is refused rather
/// than read (a config file is no place for a token).
pub fn notify(
    args: &crate::cli::NotifyArgs,
    endpoint_flags: &[String],
    show_identities: bool,
    env: &Env,
    config: &GitConfig,
) -> anyhow::Result<Option<crate::notify::Config>> {
    use crate::notify::{Target, When};
    let look = Lookup { env, config };
    let bad = |key: String, value: String, reason: String| Error { key, value, reason };
    let (lists, key): (Vec<String>, String) = if !args.notify.is_empty() {
        (args.notify.clone(), "--notify".into())
    } else if let Some(v) = env.get("GIT_CREDMAN_NOTIFY") {
        (vec![v.to_owned()], "GIT_CREDMAN_NOTIFY".into())
    } else {
        (config.strings("credman.notify"), "credman.notify".into())
    };
    let mut targets = Vec::new();
    for list in &lists {
        if list
            .split(',')
            .any(|t| t.trim().eq_ignore_ascii_case("none"))
        {
            return Ok(None);
        }
        for t in Target::parse_list(list).map_err(|r| bad(key.clone(), list.clone(), r))? {
            if !targets.contains(&t) {
                targets.push(t);
            }
        }
    }
    if targets.is_empty() {
        return Ok(None);
    }
    let when = match &args.notify_when {
        Some(v) => v
            .parse::<When>()
            .map_err(|r| bad("--notify-when".into(), v.clone(), r))?,
        None => look
            .parsed::<When>("GIT_CREDMAN_NOTIFY_WHEN", "credman.notifyWhen")?
            .unwrap_or_default(),
    };
    let telegram = if targets.contains(&Target::Telegram) {
        if config.string("credman.telegramToken").is_some() {
            anyhow::bail!(
                "credman.telegramToken is not read: a token does not belong in git config; put it \
                 in a file (mode 0600) and set credman.telegramTokenFile, or set \
                 GIT_CREDMAN_TELEGRAM_TOKEN (then `git config --unset credman.telegramToken`)"
            );
        }
        let token = secret_of(
            &look,
            "GIT_CREDMAN_TELEGRAM_TOKEN",
            "GIT_CREDMAN_TELEGRAM_TOKEN_FILE",
            "credman.telegramTokenFile",
            "Telegram bot token",
        )?
        .ok_or_else(|| {
            anyhow::anyhow!(
                "--notify telegram needs the bot token: set GIT_CREDMAN_TELEGRAM_TOKEN, or git \
                 config credman.telegramTokenFile FILE (never on the command line)"
            )
        })?;
        // Bot tokens are `<digits>:<letters, digits, - and _>`; anything else would change the
        // request's path.
        if !token
            .expose()
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"-_:".contains(&b))
        {
            anyhow::bail!(
                "the Telegram bot token is malformed (expected 123456:ABC-…, as BotFather gives it)"
            );
        }
        let (chat, _) = look
            .raw("GIT_CREDMAN_TELEGRAM_CHAT", "credman.telegramChat")
            .ok_or_else(|| {
                anyhow::anyhow!(
                    "--notify telegram needs the chat: git config credman.telegramChat ID \
                     (a chat id like -1001234567890, or @channelname)"
                )
            })?;
        Some(crate::notify::Telegram {
            token,
            chat: chat.trim().to_owned(),
        })
    } else {
        None
    };
    let webhook = if targets.contains(&Target::Webhook) {
        let (url, key) = look
            .raw("GIT_CREDMAN_WEBHOOK_URL", "credman.webhookUrl")
            .ok_or_else(|| {
                anyhow::anyhow!(
                    "--notify webhook needs the URL: git config credman.webhookUrl URL \
                     (or GIT_CREDMAN_WEBHOOK_URL)"
                )
            })?;
        let url = url.trim().to_owned();
        if !(url.starts_with("https://") || url.starts_with("http://"))
            || crate::endpoint::split_origin(&url).is_none()
        {
            // The URL may hold the receiver's key (Slack, Discord): never repeat it.
            anyhow::bail!(
                "{key} is not an http(s) URL (its value is not shown: it may hold a key)"
            );
        }
        Some(crate::notify::Webhook {
            url: Secret::new(url),
            secret: secret_of(
                &look,
                "GIT_CREDMAN_WEBHOOK_SECRET",
                "GIT_CREDMAN_WEBHOOK_SECRET_FILE",
                "credman.webhookSecretFile",
                "webhook secret",
            )?,
        })
    } else {
        None
    };
    Ok(Some(crate::notify::Config {
        targets,
        when,
        telegram,
        webhook,
        endpoints: endpoints(endpoint_flags, env, config)?,
        show_identities,
        timeout: crate::notify::TIMEOUT,
    }))
}

/// The passphrase of an encrypted signing key (`GIT_CREDMAN_SIGNING_KEY_PASSPHRASE`).
pub fn signing_passphrase(env: &Env) -> Option<Secret> {
    env.get("GIT_CREDMAN_SIGNING_KEY_PASSPHRASE")
        .map(Secret::new)
}

/// The HTTPS token and user name for `--repo-url` (`GIT_CREDMAN_GIT_TOKEN`,
/// `GIT_CREDMAN_GIT_USER`, default user `x-access-token`).
pub fn git_token(env: &Env) -> (Option<Secret>, String) {
    let token = env.get("GIT_CREDMAN_GIT_TOKEN").map(Secret::new);
    let user = env
        .get("GIT_CREDMAN_GIT_USER")
        .unwrap_or("x-access-token")
        .to_owned();
    (token, user)
}

/// What the pre-push gate fails on and whether it checks online, by precedence: the flag, then
/// `GIT_CREDMAN_HOOK_FAIL_ON`, then git config `credman.hook.failOn`, then `default_fail_on`;
/// `--online`, then `credman.hook.online`, then offline.
pub fn hook(
    fail_on_flag: Option<&StatusSet>,
    online_flag: bool,
    env: &Env,
    config: &GitConfig,
    default_fail_on: &[Status],
) -> anyhow::Result<(StatusSet, bool)> {
    let fail_on = match fail_on_flag {
        Some(s) => s.clone(),
        None => match env
            .get("GIT_CREDMAN_HOOK_FAIL_ON")
            .map(str::to_owned)
            .or_else(|| config.string("credman.hook.failOn"))
        {
            Some(v) => v
                .parse()
                .map_err(|e| anyhow::anyhow!("credman.hook.failOn: {e}"))?,
            None => StatusSet::of(default_fail_on),
        },
    };
    let online = online_flag
        || config
            .string("credman.hook.online")
            .and_then(|v| parse_bool(&v))
            .unwrap_or(false);
    Ok((fail_on, online))
}

/// Where the pin file is (`--ignore-file`, `GIT_CREDMAN_IGNORE_FILE`, `credman.ignoreFile`,
/// else `.credmanignore` at the root).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum PinFile {
    /// A file the user named: it must exist.
    Named(PathBuf),
    /// The default file at the root: used when it exists.
    Default(PathBuf),
    /// No pin file (server mode without one named).
    None,
}

/// Resolves the pin file by precedence: the flag, then `GIT_CREDMAN_IGNORE_FILE` (both relative
/// to the current directory), then git config `credman.ignoreFile` (relative to `root`), then
/// `.credmanignore` at `root` (the working tree or folder; none in server mode).
pub fn pin_file(
    flag: Option<&Path>,
    env: &Env,
    config: &GitConfig,
    cwd: &Path,
    root: Option<&Path>,
) -> PinFile {
    if let Some(f) = flag {
        return PinFile::Named(cwd.join(f));
    }
    if let Some(v) = env.get("GIT_CREDMAN_IGNORE_FILE") {
        return PinFile::Named(cwd.join(v));
    }
    if let Some(v) = config.string("credman.ignoreFile") {
        return PinFile::Named(root.unwrap_or(cwd).join(v));
    }
    root.map_or(PinFile::None, |r| {
        PinFile::Default(r.join(crate::pins::DEFAULT_FILE))
    })
}

/// Resolves `--baseline` by precedence: the flag, `GIT_CREDMAN_BASELINE`, git config
/// `credman.baseline`, else none; relative to the current directory.
pub fn baseline(flag: Option<&Path>, env: &Env, config: &GitConfig, cwd: &Path) -> Option<PathBuf> {
    flag.map(Path::to_owned)
        .or_else(|| {
            (Lookup { env, config })
                .raw("GIT_CREDMAN_BASELINE", "credman.baseline")
                .map(|(v, _)| PathBuf::from(v))
        })
        .map(|p| cwd.join(p))
}

/// Validated settings of `history`.
#[derive(Clone, Debug)]
pub struct HistorySettings {
    /// What to look at and how.
    pub select: SelectSettings,
    /// Walk every reference, not only HEAD.
    pub all: bool,
    /// Only commits authored at or after this time.
    pub since: Option<DateTime<Utc>>,
    /// Output format.
    pub format: crate::cli::HistoryFormat,
    /// Colour the text output.
    pub color: bool,
}

/// Parses `YYYY-MM-DD` (midnight UTC) or an RFC 3339 time.
pub fn parse_date(value: &str) -> Result<DateTime<Utc>, String> {
    let v = value.trim();
    if let Ok(t) = DateTime::parse_from_rfc3339(v) {
        return Ok(t.with_timezone(&Utc));
    }
    chrono::NaiveDate::parse_from_str(v, "%Y-%m-%d")
        .ok()
        .and_then(|d| d.and_hms_opt(0, 0, 0))
        .map(|t| t.and_utc())
        .ok_or_else(|| "expected a date like 2026-01-31 or 2026-01-31T12:00:00Z".to_owned())
}

/// Resolves the settings of `history`: `--all` (`GIT_CREDMAN_HISTORY_ALL`,
/// `credman.historyAll`), `--since` (`GIT_CREDMAN_HISTORY_SINCE`, `credman.historySince`),
/// `--format` (`GIT_CREDMAN_HISTORY_FORMAT`, `credman.historyFormat`, else text).
pub fn history(
    args: &crate::cli::HistoryArgs,
    global: &GlobalArgs,
    env: &Env,
    config: &GitConfig,
    tty: (bool, bool),
) -> Result<HistorySettings, Error> {
    let look = Lookup { env, config };
    let all = args.all
        || look
            .boolean("GIT_CREDMAN_HISTORY_ALL", "credman.historyAll")?
            .unwrap_or(false);
    let since = match &args.since {
        Some(v) => Some((v.clone(), "--since".to_owned())),
        None => look.raw("GIT_CREDMAN_HISTORY_SINCE", "credman.historySince"),
    };
    let since = since
        .map(|(value, key)| parse_date(&value).map_err(|reason| Error { key, value, reason }))
        .transpose()?;
    let format = match args.format {
        Some(f) => f,
        None => match look.raw("GIT_CREDMAN_HISTORY_FORMAT", "credman.historyFormat") {
            Some((value, key)) => value_enum(value, key)?,
            None => crate::cli::HistoryFormat::Text,
        },
    };
    Ok(HistorySettings {
        select: select(&args.select, env, config, tty.1)?,
        all,
        since,
        format,
        color: color(global.color, env, tty.0),
    })
}

/// Validated settings of `doctor`.
#[derive(Clone, Debug)]
pub struct DoctorSettings {
    /// Only these providers (empty: all).
    pub providers: Vec<String>,
    /// The requests' settings (endpoints, proxy, timeouts, retries).
    pub online: OnlineSettings,
    /// Output format.
    pub format: crate::cli::DoctorFormat,
    /// Colour the text output.
    pub color: bool,
}

/// Resolves the settings of `doctor`: `--format` (`GIT_CREDMAN_DOCTOR_FORMAT`,
/// `credman.doctorFormat`, else text), `--provider`, and the online settings exactly as `scan`
/// resolves them (so `credman.endpoint` redirects doctor's requests like the scan's).
pub fn doctor(
    args: &crate::cli::DoctorArgs,
    global: &GlobalArgs,
    env: &Env,
    config: &GitConfig,
    tty: (bool, bool),
) -> Result<DoctorSettings, Error> {
    let look = Lookup { env, config };
    let format = match args.format {
        Some(f) => f,
        None => match look.raw("GIT_CREDMAN_DOCTOR_FORMAT", "credman.doctorFormat") {
            Some((value, key)) => value_enum(value, key)?,
            None => crate::cli::DoctorFormat::Text,
        },
    };
    Ok(DoctorSettings {
        providers: args
            .providers
            .iter()
            .map(|p| p.trim().to_ascii_lowercase())
            .collect(),
        online: online(&args.online, env, config, tty.1)?,
        format,
        color: color(global.color, env, tty.0),
    })
}

/// Validated settings shared by `scan` and `prune`.
#[derive(Clone, Debug)]
pub struct SelectSettings {
    /// The auth path inside a tree.
    pub auth_path: String,
    /// Where an explicitly set auth path came from (`--auth-path`, `GIT_CREDMAN_PATH` or
    /// `credman.path`); `None` for the default, which may be absent.
    pub auth_path_from: Option<String>,
    /// Show identities unmasked.
    pub show_identities: bool,
    /// Reader threads (0 = one per core).
    pub jobs: usize,
    /// Only these providers (empty: all).
    pub providers: Vec<String>,
    /// Online settings; `None` with `--offline`.
    pub online: Option<OnlineSettings>,
    /// Only this shard of the files (`scan --shard K/N`; command line only, set by `scan`).
    pub shard: Option<crate::source::shard::Shard>,
}

/// Validated settings of `scan`.
#[derive(Clone, Debug)]
pub struct ScanSettings {
    /// What to scan and how.
    pub select: SelectSettings,
    /// Output format.
    pub format: Format,
    /// Statuses that make the exit code 1.
    pub fail_on: StatusSet,
    /// Colour the text report.
    pub color: bool,
    /// Where to also write the JSON report.
    pub report: Option<PathBuf>,
    /// Add the usage windows to the text report (`--quota`).
    pub quota: bool,
}

/// Resolves the settings shared by `scan` and `prune`.
pub fn select(
    args: &SelectArgs,
    env: &Env,
    config: &GitConfig,
    progress: bool,
) -> Result<SelectSettings, Error> {
    let look = Lookup { env, config };
    let (auth_path, auth_path_from) = match &args.auth_path {
        Some(p) => (p.clone(), Some("--auth-path".to_owned())),
        None => match look.raw("GIT_CREDMAN_PATH", "credman.path") {
            Some((v, key)) => (v, Some(key)),
            None => ("auths".to_owned(), None),
        },
    };
    let show_identities = args.show_identities
        || look
            .boolean("GIT_CREDMAN_SHOW_IDENTITIES", "credman.showIdentities")?
            .unwrap_or(false);
    let jobs = match args.jobs {
        Some(j) => j,
        None => look
            .parsed::<usize>("GIT_CREDMAN_JOBS", "credman.jobs")?
            .unwrap_or(0),
    };
    let online = if args.offline {
        None
    } else {
        Some(online(&args.online, env, config, progress)?)
    };
    Ok(SelectSettings {
        auth_path,
        auth_path_from,
        show_identities,
        jobs,
        providers: args
            .providers
            .iter()
            .map(|p| p.trim().to_ascii_lowercase())
            .collect(),
        online,
        shard: None,
    })
}

/// Parses a value of a clap value enum from env or config; an error lists the valid values.
fn value_enum<T: clap::ValueEnum>(value: String, key: String) -> Result<T, Error> {
    T::from_str(&value, true).map_err(|_| {
        let valid: Vec<String> = T::value_variants()
            .iter()
            .filter_map(|v| v.to_possible_value().map(|p| p.get_name().to_owned()))
            .collect();
        Error {
            key,
            value,
            reason: format!("expected one of {}", valid.join(", ")),
        }
    })
}

/// Returns the output format: flag, `GIT_CREDMAN_FORMAT`, `credman.format`, else text.
pub fn format(flag: Option<Format>, env: &Env, config: &GitConfig) -> Result<Format, Error> {
    match flag {
        Some(f) => Ok(f),
        None => match (Lookup { env, config }).raw("GIT_CREDMAN_FORMAT", "credman.format") {
            Some((value, key)) => value_enum(value, key),
            None => Ok(Format::Text),
        },
    }
}

/// Returns whether to colour output: `--color`, then NO_COLOR, then whether stdout is a terminal.
pub fn color(choice: ColorChoice, env: &Env, stdout_is_tty: bool) -> bool {
    match choice {
        ColorChoice::Always => true,
        ColorChoice::Never => false,
        ColorChoice::Auto => stdout_is_tty && env.get("NO_COLOR").is_none(),
    }
}

/// Resolves the settings of `scan`.
pub fn scan(
    args: &ScanArgs,
    global: &GlobalArgs,
    env: &Env,
    config: &GitConfig,
    tty: (bool, bool),
) -> Result<ScanSettings, Error> {
    let look = Lookup { env, config };
    let fail_on = match &args.fail_on {
        Some(set) => set.clone(),
        None => look
            .parsed::<StatusSet>("GIT_CREDMAN_FAIL_ON", "credman.failOn")?
            .unwrap_or_else(|| StatusSet::of(&DEFAULT_FAIL_ON)),
    };
    Ok(ScanSettings {
        select: select(&args.select, env, config, tty.1)?,
        format: format(args.format, env, config)?,
        fail_on,
        color: color(global.color, env, tty.0),
        report: args.report.clone(),
        quota: args.quota
            || look
                .boolean("GIT_CREDMAN_QUOTA", "credman.quota")?
                .unwrap_or(false),
    })
}

/// Validated settings of online checks.
#[derive(Clone, Debug)]
pub struct OnlineSettings {
    /// The engine's configuration.
    pub engine: probe::Config,
    /// The probes' options.
    pub probes: ProbeOptions,
    /// Canary credential files, known to be alive, checked first (`--canary`); relative paths
    /// are relative to the current directory (resolved by the scan).
    pub canaries: Vec<PathBuf>,
    /// `--quota-threshold`: an alive credential whose fullest usage window is used at this
    /// percentage or more is `usage_limited`.
    pub quota_threshold: Option<f64>,
}

/// A percentage from 0 to 100, with or without `%` (`--quota-threshold`).
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Percent(pub f64);

impl std::str::FromStr for Percent {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let t = s.trim();
        let t = t.strip_suffix('%').unwrap_or(t).trim();
        match t.parse::<f64>() {
            Ok(v) if (0.0..=100.0).contains(&v) => Ok(Percent(v)),
            _ => Err("expected a percentage from 0 to 100, e.g. 90 or 90%".into()),
        }
    }
}

/// The default statuses `prune` removes.
pub const DEFAULT_PRUNE: [Status; 3] = [
    Status::Invalidated,
    Status::Deactivated,
    Status::ExpiredByTime,
];

/// The mass-failure breaker's limit.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum MaxDelete {
    /// At most this many files in all.
    Count(usize),
    /// At most this percentage of one provider's files, when it has at least 20.
    Percent(f64),
}

impl std::str::FromStr for MaxDelete {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let s = s.trim();
        match s.strip_suffix('%') {
            Some(p) => match p.trim().parse::<f64>() {
                Ok(v) if (0.0..=100.0).contains(&v) => Ok(MaxDelete::Percent(v)),
                _ => Err("expected a percentage from 0% to 100%".into()),
            },
            None => s
                .parse::<usize>()
                .map(MaxDelete::Count)
                .map_err(|_| "expected N or N%".into()),
        }
    }
}

/// Validated settings of `prune`.
#[derive(Clone, Debug)]
pub struct PruneSettings {
    /// What to scan and how.
    pub select: SelectSettings,
    /// Statuses to remove.
    pub statuses: StatusSet,
    /// The breaker's limit.
    pub max_delete: MaxDelete,
    /// Output format.
    pub format: Format,
    /// Colour the text output.
    pub color: bool,
    /// Passphrase of an encrypted `--signing-key`.
    pub passphrase: Option<Secret>,
    /// `--disable-exhausted` (server mode).
    pub disable_exhausted: bool,
    /// `--reenable-at-reset` (server mode).
    pub reenable_at_reset: bool,
    /// Notifications after the run (`--notify`; set by the command, see [`notify`]).
    pub notify: Option<crate::notify::Config>,
    /// When the run started (set by the command; the notification's duration).
    pub started: std::time::Instant,
}

/// Resolves the settings of `prune`.
pub fn prune(
    args: &crate::cli::PruneArgs,
    global: &GlobalArgs,
    env: &Env,
    config: &GitConfig,
    tty: (bool, bool),
) -> Result<PruneSettings, Error> {
    let look = Lookup { env, config };
    let statuses = match &args.status {
        Some(s) => s.clone(),
        None => look
            .parsed::<StatusSet>("GIT_CREDMAN_PRUNE_STATUS", "credman.pruneStatus")?
            .unwrap_or_else(|| StatusSet::of(&DEFAULT_PRUNE)),
    };
    let max_delete = match &args.max_delete {
        Some(v) => v.parse().map_err(|reason| Error {
            key: "--max-delete".into(),
            value: v.clone(),
            reason,
        })?,
        None => look
            .parsed("GIT_CREDMAN_MAX_DELETE", "credman.maxDelete")?
            .unwrap_or(MaxDelete::Percent(50.0)),
    };
    Ok(PruneSettings {
        select: select(&args.select, env, config, tty.1)?,
        statuses,
        max_delete,
        format: format(args.format, env, config)?,
        color: color(global.color, env, tty.0),
        passphrase: signing_passphrase(env),
        disable_exhausted: args.disable_exhausted
            || look
                .boolean("GIT_CREDMAN_DISABLE_EXHAUSTED", "credman.disableExhausted")?
                .unwrap_or(false),
        reenable_at_reset: args.reenable_at_reset
            || look
                .boolean("GIT_CREDMAN_REENABLE_AT_RESET", "credman.reenableAtReset")?
                .unwrap_or(false),
        notify: None,
        started: std::time::Instant::now(),
    })
}

/// Validated settings of `watch`.
#[derive(Clone, Debug)]
pub struct WatchSettings {
    /// Time between round starts (`None`: not set anywhere).
    pub every: Option<std::time::Duration>,
    /// The most a round is delayed at random.
    pub jitter: std::time::Duration,
    /// Stop after this many rounds.
    pub max_rounds: Option<u64>,
    /// The lock file, when set (else the command's default).
    pub lock: Option<PathBuf>,
}

/// Resolves the settings of `watch`: each flag, then its `GIT_CREDMAN_WATCH_*` variable, then
/// git config `credman.watch*`.
pub fn watch(
    args: &crate::cli::WatchArgs,
    env: &Env,
    config: &GitConfig,
    cwd: &Path,
) -> Result<WatchSettings, Error> {
    let look = Lookup { env, config };
    let duration = |flag: Option<&String>, flag_key: &str, env_key: &str, config_key: &str| {
        let (value, key) = match flag {
            Some(v) => (v.clone(), flag_key.to_owned()),
            None => match look.raw(env_key, config_key) {
                Some(found) => found,
                None => return Ok(None),
            },
        };
        parse_duration(&value)
            .map(Some)
            .map_err(|reason| Error { key, value, reason })
    };
    let every = duration(
        args.every.as_ref(),
        "--every",
        "GIT_CREDMAN_WATCH_EVERY",
        "credman.watchEvery",
    )?;
    let jitter = duration(
        args.jitter.as_ref(),
        "--jitter",
        "GIT_CREDMAN_WATCH_JITTER",
        "credman.watchJitter",
    )?
    .unwrap_or_default();
    let max_rounds = match args.max_rounds {
        Some(n) => Some(n),
        None => look.parsed("GIT_CREDMAN_WATCH_MAX_ROUNDS", "credman.watchMaxRounds")?,
    };
    if max_rounds == Some(0) {
        return Err(Error {
            key: "--max-rounds".into(),
            value: "0".into(),
            reason: "must be at least 1".into(),
        });
    }
    let lock = match &args.lock {
        Some(p) => Some(cwd.join(p)),
        None => look
            .raw("GIT_CREDMAN_WATCH_LOCK", "credman.watchLock")
            .map(|(v, _)| cwd.join(v)),
    };
    Ok(WatchSettings {
        every,
        jitter,
        max_rounds,
        lock,
    })
}

/// Parses a duration: seconds, or a number with `ms`, `s`, `m` or `h`.
pub fn parse_duration(value: &str) -> Result<std::time::Duration, String> {
    let (n, unit) =
        number_and_unit(value).ok_or_else(|| "expected a duration like 90, 90s, 5m".to_owned())?;
    let secs = match unit {
        "ms" => n / 1000.0,
        "s" => n,
        "m" => n * 60.0,
        "h" => n * 3600.0,
        _ => return Err(format!("unknown unit '{unit}' (use ms, s, m or h)")),
    };
    duration_from_secs(secs).map_err(|reason| {
        if reason.starts_with("must be a positive") {
            "must be positive (e.g. 90, 90s, 5m)".to_owned()
        } else {
            reason
        }
    })
}

/// Resolves origin redirection: `--endpoint` pairs, then `GIT_CREDMAN_ENDPOINTS`, then git
/// config `credman.endpoint` (pairs for the same origin: the first source wins).
pub fn endpoints(flags: &[String], env: &Env, config: &GitConfig) -> Result<Endpoints, Error> {
    fn bad_endpoint(key: &'static str) -> impl Fn(crate::endpoint::Error) -> Error {
        move |e| Error {
            key: key.into(),
            value: e.pair.clone(),
            reason: e.reason.into(),
        }
    }
    let mut endpoints =
        Endpoints::parse(flags.iter().map(String::as_str)).map_err(bad_endpoint("--endpoint"))?;
    if let Some(v) = env.get("GIT_CREDMAN_ENDPOINTS") {
        endpoints.merge_lower(
            Endpoints::parse(v.split(',')).map_err(bad_endpoint("GIT_CREDMAN_ENDPOINTS"))?,
        );
    }
    let from_config = config.strings("credman.endpoint");
    endpoints.merge_lower(
        Endpoints::parse(from_config.iter().map(String::as_str))
            .map_err(bad_endpoint("credman.endpoint"))?,
    );
    Ok(endpoints)
}

/// Resolves the settings of online checks.
pub fn online(
    args: &OnlineArgs,
    env: &Env,
    config: &GitConfig,
    progress: bool,
) -> Result<OnlineSettings, Error> {
    let look = Lookup { env, config };
    let in_range = |key: String, n: usize| {
        if (1..=MAX_CONCURRENCY).contains(&n) {
            Ok(n)
        } else {
            Err(Error {
                key,
                value: n.to_string(),
                reason: format!("must be from 1 to {MAX_CONCURRENCY}"),
            })
        }
    };
    let count = |flag: Option<usize>, flag_key: &str, env_key: &str, config_key: &str| match flag {
        Some(n) => in_range(flag_key.into(), n).map(Some),
        None => match look.raw(env_key, config_key) {
            None => Ok(None),
            Some((value, key)) => match value.trim().parse::<usize>() {
                Ok(n) => in_range(key, n).map(Some),
                Err(e) => Err(Error {
                    key,
                    value,
                    reason: e.to_string(),
                }),
            },
        },
    };
    let concurrency = count(
        args.concurrency,
        "--concurrency",
        "GIT_CREDMAN_CONCURRENCY",
        "credman.concurrency",
    )?
    .unwrap_or(64);
    let per_host = count(
        args.per_host,
        "--per-host",
        "GIT_CREDMAN_PER_HOST",
        "credman.perHost",
    )?
    .unwrap_or(concurrency);
    let timeout = match args.timeout {
        Some(t) => duration_from_secs(t).map_err(|reason| Error {
            key: "--timeout".into(),
            value: t.to_string(),
            reason,
        })?,
        None => match look.raw("GIT_CREDMAN_TIMEOUT", "credman.timeout") {
            None => std::time::Duration::from_secs(35),
            Some((value, key)) => value
                .trim()
                .parse::<f64>()
                .map_err(|e| e.to_string())
                .and_then(duration_from_secs)
                .map_err(|reason| Error { key, value, reason })?,
        },
    };
    let retries = match args.retries {
        Some(r) => r,
        None => look
            .parsed("GIT_CREDMAN_RETRIES", "credman.retries")?
            .unwrap_or(2),
    };
    let deadline = match &args.deadline {
        Some(d) => Some(parse_duration(d).map_err(|reason| Error {
            key: "--deadline".into(),
            value: d.clone(),
            reason,
        })?),
        None => match look.raw("GIT_CREDMAN_DEADLINE", "credman.deadline") {
            Some((value, key)) => {
                Some(parse_duration(&value).map_err(|reason| Error { key, value, reason })?)
            }
            None => None,
        },
    };
    let endpoints = endpoints(&args.endpoints, env, config)?;
    let proxy = args
        .proxy
        .clone()
        .or_else(|| {
            look.raw("GIT_CREDMAN_PROXY", "credman.proxy")
                .map(|(v, _)| v)
        })
        .map(Secret::new);
    let codex_probe = match args.codex_probe {
        Some(p) => p,
        None => match look.raw("GIT_CREDMAN_CODEX_PROBE", "credman.codexProbe") {
            Some((value, key)) => value_enum(value, key)?,
            None => CodexProbe::Usage,
        },
    };
    let codex_model = args
        .codex_model
        .clone()
        .or_else(|| {
            look.raw("GIT_CREDMAN_CODEX_MODEL", "credman.codexModel")
                .map(|(v, _)| v)
        })
        .unwrap_or_else(|| "gpt-5".into());
    let quota_threshold = match &args.quota_threshold {
        Some(v) => Some(v.parse::<Percent>().map_err(|reason| Error {
            key: "--quota-threshold".into(),
            value: v.clone(),
            reason,
        })?),
        None => look.parsed::<Percent>("GIT_CREDMAN_QUOTA_THRESHOLD", "credman.quotaThreshold")?,
    }
    .map(|p| p.0);
    let mut google_client_secrets = Vec::new();
    for (provider, env_key, config_key) in [
        (
            "antigravity",
            "GIT_CREDMAN_ANTIGRAVITY_CLIENT_SECRET",
            "credman.antigravityClientSecret",
        ),
        (
            "gemini",
            "GIT_CREDMAN_GEMINI_CLIENT_SECRET",
            "credman.geminiClientSecret",
        ),
    ] {
        if let Some((v, _)) = look.raw(env_key, config_key) {
            google_client_secrets.push((provider.to_owned(), Secret::new(v)));
        }
    }
    let canaries: Vec<PathBuf> = if !args.canaries.is_empty() {
        args.canaries.clone()
    } else if let Some(v) = env.get("GIT_CREDMAN_CANARY") {
        std::env::split_paths(v)
            .filter(|p| !p.as_os_str().is_empty())
            .collect()
    } else {
        config
            .strings("credman.canary")
            .into_iter()
            .filter(|v| !v.trim().is_empty())
            .map(PathBuf::from)
            .collect()
    };
    Ok(OnlineSettings {
        canaries,
        engine: probe::Config {
            concurrency,
            per_host,
            timeout,
            retries,
            deadline,
            endpoints,
            proxy,
            progress,
            // Set, even empty: reqwest decides what it means.
            env_proxy: PROXY_VARS.iter().any(|v| env.get_raw(v).is_some()),
            ..probe::Config::default()
        },
        probes: ProbeOptions {
            codex_probe,
            codex_model,
            google_client_secrets,
            relay: false,
        },
        quota_threshold,
    })
}

#[cfg(test)]
mod tests {

    #[test]
    fn env_debug_names_variables_but_never_prints_values() {
        let secret = format!("ghp_{}", "x".repeat(36));
        let env = super::Env::from_pairs([("GIT_CREDMAN_GIT_TOKEN", secret.as_str())]);
        let shown = format!("{env:?}");
        assert!(shown.contains("GIT_CREDMAN_GIT_TOKEN"), "{shown}");
        assert!(!shown.contains(&secret), "{shown}");
    }

    #[test]
    fn pin_file_and_baseline_flag_beat_env_beat_config_beat_default() {
        use std::path::Path;
        let cwd = Path::new("/cwd");
        let root = Some(Path::new("/root"));
        let env = Env::from_pairs([
            ("GIT_CREDMAN_IGNORE_FILE", "env.pins"),
            ("GIT_CREDMAN_BASELINE", "env.json"),
        ]);
        let cfg = config("[credman]\n\tignoreFile = cfg.pins\n\tbaseline = cfg.json\n");
        let none = Env::default();
        let empty = config("");
        let pins = |flag: Option<&str>, env: &Env, cfg: &GitConfig, root| {
            pin_file(flag.map(Path::new), env, cfg, cwd, root)
        };
        assert_eq!(
            pins(Some("f.pins"), &env, &cfg, root),
            PinFile::Named("/cwd/f.pins".into())
        );
        assert_eq!(
            pins(None, &env, &cfg, root),
            PinFile::Named("/cwd/env.pins".into())
        );
        assert_eq!(
            pins(None, &none, &cfg, root),
            PinFile::Named("/root/cfg.pins".into())
        );
        assert_eq!(
            pins(None, &none, &empty, root),
            PinFile::Default("/root/.credmanignore".into())
        );
        assert_eq!(pins(None, &none, &empty, None), PinFile::None);
        let base = |flag: Option<&str>, env: &Env, cfg: &GitConfig| {
            baseline(flag.map(Path::new), env, cfg, cwd)
        };
        assert_eq!(base(Some("f.json"), &env, &cfg), Some("/cwd/f.json".into()));
        assert_eq!(base(None, &env, &cfg), Some("/cwd/env.json".into()));
        assert_eq!(base(None, &none, &cfg), Some("/cwd/cfg.json".into()));
        assert_eq!(base(None, &none, &empty), None);
    }

    #[test]
    fn management_key_flag_beats_env_beats_config() {
        let tmp = tempfile::tempdir().unwrap();
        std::fs::write(tmp.path().join("flag.txt"), "from-flag\n").unwrap();
        std::fs::write(tmp.path().join("config.txt"), "from-config").unwrap();
        let env = Env::from_pairs([("GIT_CREDMAN_MANAGEMENT_KEY", "from-env")]);
        let cfg = config(&format!(
            "[credman]\n\tmanagementKeyFile = {}\n",
            tmp.path().join("config.txt").display()
        ));
        let key = |flag: Option<&str>, env: &Env| {
            management_key(flag.map(std::path::Path::new), env, &cfg, tmp.path())
                .unwrap()
                .expose()
                .to_owned()
        };
        assert_eq!(key(Some("flag.txt"), &env), "from-flag");
        assert_eq!(key(None, &env), "from-env");
        assert_eq!(key(None, &Env::default()), "from-config");
    }
    use super::*;
    use crate::cli::{Cli, Command};
    use clap::Parser as _;

    fn config(text: &str) -> GitConfig {
        GitConfig::new(Some(crate::git::config::Config::from_text(text).unwrap()))
    }

    fn resolve(argv: &[&str], env: &Env, cfg: &GitConfig) -> Result<ScanSettings, Error> {
        let cli = Cli::try_parse_from(argv).unwrap();
        let Command::Scan(args) = &cli.command else {
            panic!("scan")
        };
        scan(args, &cli.global, env, cfg, (false, false))
    }

    #[test]
    fn precedence_flag_env_config_default() {
        let cfg = config("[credman]\n\tfailOn = missing_token\n\tpath = creds\n");
        let env = Env::from_pairs([("GIT_CREDMAN_FAIL_ON", "unknown")]);
        let s = resolve(&["x", "scan"], &Env::default(), &GitConfig::default()).unwrap();
        assert_eq!(s.fail_on, StatusSet::of(&DEFAULT_FAIL_ON));
        assert_eq!(s.select.auth_path, "auths");
        let s = resolve(&["x", "scan"], &Env::default(), &cfg).unwrap();
        assert_eq!(s.fail_on.to_string(), "missing_token");
        assert_eq!(s.select.auth_path, "creds");
        let s = resolve(&["x", "scan"], &env, &cfg).unwrap();
        assert_eq!(s.fail_on.to_string(), "unknown");
        let s = resolve(&["x", "scan", "--fail-on", "expired_by_time"], &env, &cfg).unwrap();
        assert_eq!(s.fail_on.to_string(), "expired_by_time");
    }

    #[test]
    fn bad_values_name_their_origin() {
        let err = resolve(
            &["x", "scan"],
            &Env::default(),
            &config("[credman]\n\tformat = xml\n"),
        )
        .unwrap_err();
        assert_eq!(err.key, "credman.format");
        let env = Env::from_pairs([("GIT_CREDMAN_SHOW_IDENTITIES", "maybe")]);
        let err = resolve(&["x", "scan"], &env, &GitConfig::default()).unwrap_err();
        assert_eq!(err.key, "GIT_CREDMAN_SHOW_IDENTITIES");
    }

    #[test]
    fn online_settings_precedence_and_validation() {
        let cli = Cli::try_parse_from([
            "x",
            "scan",
            "--endpoint",
            "https://a.example=http://127.0.0.1:1",
        ])
        .unwrap();
        let Command::Scan(args) = &cli.command else {
            panic!("scan")
        };
        let env = Env::from_pairs([
            (
                "GIT_CREDMAN_ENDPOINTS",
                "https://a.example=http://127.0.0.1:2,https://b.example=http://127.0.0.1:3",
            ),
            ("GIT_CREDMAN_CONCURRENCY", "7"),
        ]);
        let cfg = config(
            "[credman]\n\tendpoint = https://c.example=http://127.0.0.1:4\n\tendpoint = https://b.example=http://127.0.0.1:9\n\tretries = 5\n",
        );
        let s = online(&args.select.online, &env, &cfg, false).unwrap();
        assert_eq!(
            s.engine.endpoints.rewrite("https://a.example/x"),
            "http://127.0.0.1:1/x"
        );
        assert_eq!(
            s.engine.endpoints.rewrite("https://b.example/x"),
            "http://127.0.0.1:3/x"
        );
        assert_eq!(
            s.engine.endpoints.rewrite("https://c.example/x"),
            "http://127.0.0.1:4/x"
        );
        assert_eq!(
            (s.engine.concurrency, s.engine.per_host, s.engine.retries),
            (7, 7, 5)
        );
        assert_eq!(s.engine.timeout, std::time::Duration::from_secs(35));
        let bad = Env::from_pairs([("GIT_CREDMAN_ENDPOINTS", "nonsense")]);
        assert_eq!(
            online(&args.select.online, &bad, &GitConfig::default(), false)
                .unwrap_err()
                .key,
            "GIT_CREDMAN_ENDPOINTS"
        );
    }

    /// A proxy variable in the environment, even empty, keeps every probe on reqwest (which
    /// applies it); without one, the engine may send directly.
    #[test]
    fn a_proxy_in_the_environment_is_seen_by_the_engine() {
        let cli = Cli::try_parse_from(["x", "scan"]).unwrap();
        let Command::Scan(args) = &cli.command else {
            panic!("scan")
        };
        let engine = |pairs: &[(&str, &str)]| {
            let env = Env::from_pairs(pairs.iter().copied());
            online(&args.select.online, &env, &GitConfig::default(), false)
                .unwrap()
                .engine
        };
        assert!(!engine(&[("GIT_CREDMAN_CONCURRENCY", "7")]).env_proxy);
        for var in PROXY_VARS {
            assert!(engine(&[(var, "http://127.0.0.1:3128")]).env_proxy, "{var}");
        }
        assert!(engine(&[("https_proxy", "")]).env_proxy);
    }

    /// A configuration whose global file says one thing and an untrusted repository file
    /// (another user's `.git/config`) another.
    fn global_and_untrusted_local(global: &str, local: &str) -> GitConfig {
        let path = std::path::Path::new("/elsewhere/.git/config");
        GitConfig::new(Some(
            crate::git::config::Config::with_untrusted_local(global, local, path).unwrap(),
        ))
    }

    #[test]
    fn regression_10_untrusted_repository_values_are_never_read() {
        let cfg = global_and_untrusted_local(
            "[credman]\n\tendpoint = https://a.example=http://127.0.0.1:1\n\tjobs = 3\n",
            "[credman]\n\tendpoint = https://a.example=http://evil.example\n\tproxy = http://evil.example\n\tjobs = 9\n",
        );
        assert_eq!(
            cfg.strings("credman.endpoint"),
            vec!["https://a.example=http://127.0.0.1:1".to_owned()]
        );
        assert_eq!(cfg.string("credman.proxy"), None);
        assert_eq!(cfg.string("credman.jobs").as_deref(), Some("3"));
        assert!(cfg.untrusted_credman_file().is_some());
        assert!(
            config("[credman]\n\tjobs = 1\n")
                .untrusted_credman_file()
                .is_none()
        );
    }

    #[test]
    fn regression_10_bad_timeouts_deadlines_and_counts_are_errors_not_panics() {
        let cli = |extra: &[&str]| {
            let mut argv = vec!["x", "scan"];
            argv.extend_from_slice(extra);
            Cli::try_parse_from(argv).unwrap()
        };
        let online_of = |c: &Cli, env: &Env, cfg: &GitConfig| {
            let Command::Scan(args) = &c.command else {
                panic!("scan")
            };
            online(&args.select.online, env, cfg, false)
        };
        let none = (Env::default(), GitConfig::default());
        for flags in [
            &["--timeout=-1"][..],
            &["--timeout", "NaN"],
            &["--timeout", "inf"],
            &["--timeout", "1e300"],
            &["--deadline=-5s"],
            &["--deadline", "1e300"],
            &["--deadline", "NaN"],
            &["--deadline", "99999h"],
            &["--per-host", "18446744073709551615"],
            &["--concurrency", "0"],
        ] {
            let err = online_of(&cli(flags), &none.0, &none.1).unwrap_err();
            assert!(err.key.starts_with("--"), "{flags:?}: {err}");
        }
        for (key, value) in [
            ("TIMEOUT", "-3"),
            ("TIMEOUT", "NaN"),
            ("TIMEOUT", "1e308"),
            ("DEADLINE", "-1"),
            ("DEADLINE", "1e300s"),
            ("PER_HOST", "99999999999999999999"),
            ("CONCURRENCY", "18446744073709551615"),
        ] {
            let env_key = format!("GIT_CREDMAN_{key}");
            let env = Env::from_pairs([(env_key.as_str(), value)]);
            let err = online_of(&cli(&[]), &env, &none.1).unwrap_err();
            assert_eq!(err.key, env_key, "{err}");
            assert!(
                err.to_string().contains("unset the environment variable"),
                "{err}"
            );
            let config_key = match key {
                "PER_HOST" => "perHost".to_owned(),
                other => other.to_ascii_lowercase(),
            };
            let cfg = config(&format!("[credman]\n\t{config_key} = {value}\n"));
            let err = online_of(&cli(&[]), &none.0, &cfg).unwrap_err();
            assert_eq!(err.key, format!("credman.{config_key}"), "{err}");
            assert!(err.to_string().contains("git config --unset"), "{err}");
            assert!(!err.to_string().contains('\n'), "one line: {err}");
        }
        let ok = online_of(
            &cli(&["--timeout", "0.5", "--deadline", "24h"]),
            &none.0,
            &none.1,
        )
        .unwrap();
        assert_eq!(ok.engine.timeout, std::time::Duration::from_millis(500));
        assert_eq!(ok.engine.deadline, Some(MAX_DURATION));
    }

    fn params(text: &str) -> Result<Vec<(String, Option<String>)>, CommandLineError> {
        command_line_config(&Env::from_pairs([("GIT_CONFIG_PARAMETERS", text)]))
            .map(|c| c.parameters)
    }

    fn pair(k: &str, v: Option<&str>) -> (String, Option<String>) {
        (k.to_owned(), v.map(str::to_owned))
    }

    /// Issue 16 item 1: `GIT_CONFIG_PARAMETERS` as git 2.47 writes it for
    /// `git -c 'a.b=x y' -c a.c -c "u.it's.d=v" -c A.Sub.K=1 -c x.y=` (captured from a real git).
    #[test]
    fn regression_16_git_config_parameters_in_gits_grammar() {
        let real = r"'a.b'='x y' 'a.c'= 'u.it'\''s.d'='v' 'A.Sub.K'='1' 'x.y'=''";
        assert_eq!(
            params(real).unwrap(),
            vec![
                pair("a.b", Some("x y")),
                pair("a.c", None),
                pair("u.it's.d", Some("v")),
                pair("a.Sub.k", Some("1")),
                pair("x.y", Some("")),
            ]
        );
        // The older one-word form, a bang escape, and blanks between and after (git refuses
        // leading blanks).
        assert_eq!(
            params("'credman.format=json'  'core.x' 'b.c'='hi'\\!'!' ").unwrap(),
            vec![
                pair("credman.format", Some("json")),
                pair("core.x", None),
                pair("b.c", Some("hi!!")),
            ]
        );
        assert_eq!(params("").unwrap(), Vec::new());
        // Malformed: errors with git's words, never a panic, never the value.
        for bad in [
            "'a.b",
            " 'a.b'='c'",
            "a.b=c",
            "'a.b'x",
            "'a.b'=c",
            "'a.b'='c'd",
            "'a.b'='c",
            "'ab'='secret-value'",
            "'.b'='v'",
            "'a.'='v'",
            "'a b.c'='v'",
            "'a.1b'='v'",
            "'=v'",
            "'é.b'='v'",
        ] {
            let err = params(bad).unwrap_err().to_string();
            assert!(
                err.contains("unable to parse command-line config"),
                "{bad}: {err}"
            );
            assert!(!err.contains("secret-value"), "{err}");
            assert!(!err.contains('\n'), "{err}");
        }
        assert!(
            params("'a.b")
                .unwrap_err()
                .to_string()
                .contains("bogus format in GIT_CONFIG_PARAMETERS")
        );
    }

    #[test]
    fn regression_16_git_config_count_then_parameters() {
        let env = Env::from_pairs([
            ("GIT_CONFIG_COUNT", "2"),
            ("GIT_CONFIG_KEY_0", "Credman.Format"),
            ("GIT_CONFIG_VALUE_0", "text"),
            ("GIT_CONFIG_KEY_1", "credman.path"),
            ("GIT_CONFIG_VALUE_1", ""),
            ("GIT_CONFIG_PARAMETERS", "'credman.format'='json'"),
        ]);
        let c = command_line_config(&env).unwrap();
        assert_eq!(
            c.count,
            vec![
                pair("credman.format", Some("text")),
                pair("credman.path", Some(""))
            ]
        );
        assert_eq!(c.parameters, vec![pair("credman.format", Some("json"))]);
        for (count, missing) in [
            ("x", "bogus count"),
            ("3", "GIT_CONFIG_KEY_2"),
            ("-1", "bogus count"),
        ] {
            let env = Env::from_pairs([
                ("GIT_CONFIG_COUNT", count),
                ("GIT_CONFIG_KEY_0", "a.b"),
                ("GIT_CONFIG_VALUE_0", "1"),
                ("GIT_CONFIG_KEY_1", "a.c"),
                ("GIT_CONFIG_VALUE_1", "1"),
            ]);
            let err = command_line_config(&env).unwrap_err().to_string();
            assert!(err.contains(missing), "{count}: {err}");
        }
    }

    #[test]
    fn regression_16_what_pre_commit_hands_the_gate() {
        assert_eq!(pre_commit(&Env::default()), None);
        assert_eq!(
            pre_commit(&Env::from_pairs([("PRE_COMMIT", "1")])),
            Some(PreCommit::Manual)
        );
        let root_push = Env::from_pairs([
            ("PRE_COMMIT", "1"),
            ("PRE_COMMIT_LOCAL_BRANCH", "refs/heads/main"),
            ("PRE_COMMIT_REMOTE_BRANCH", "refs/heads/main"),
            ("PRE_COMMIT_REMOTE_NAME", "origin"),
        ]);
        assert_eq!(
            pre_commit(&root_push),
            Some(PreCommit::NewBranch {
                local_branch: "refs/heads/main".into(),
                remote_branch: "refs/heads/main".into(),
                remote_name: Some("origin".into()),
            })
        );
        let range = Env::from_pairs([("PRE_COMMIT_TO_REF", "abc"), ("PRE_COMMIT_FROM_REF", "def")]);
        assert!(matches!(
            pre_commit(&range),
            Some(PreCommit::Range(PreCommitPush { ref to, from: Some(ref from), .. }))
                if to == "abc" && from == "def"
        ));
    }

    #[test]
    fn durations() {
        assert_eq!(parse_duration("90").unwrap().as_secs(), 90);
        assert_eq!(parse_duration("5m").unwrap().as_secs(), 300);
        assert_eq!(parse_duration("250ms").unwrap().as_millis(), 250);
        assert!(
            parse_duration("0").is_err()
                && parse_duration("5d").is_err()
                && parse_duration("x").is_err()
        );
    }

    #[test]
    fn color_rules() {
        let no_color = Env::from_pairs([("NO_COLOR", "1")]);
        assert!(!color(ColorChoice::Auto, &Env::default(), false));
        assert!(color(ColorChoice::Auto, &Env::default(), true));
        assert!(!color(ColorChoice::Auto, &no_color, true));
        assert!(color(ColorChoice::Always, &no_color, false));
        assert!(!color(ColorChoice::Never, &Env::default(), true));
    }

    fn notify_of(argv: &[&str], env: &Env, cfg: &GitConfig) -> Option<crate::notify::Config> {
        let cli = Cli::try_parse_from(argv).unwrap();
        let Command::Scan(args) = &cli.command else {
            panic!("scan")
        };
        notify(&args.notify, &args.select.online.endpoints, false, env, cfg).unwrap()
    }

    #[test]
    fn notify_precedence_flag_env_config() {
        use crate::notify::{Condition, Target};
        let cfg = config(
            "[credman]\n\tnotify = webhook\n\tnotifyWhen = always\n\twebhookUrl = http://127.0.0.1:1/h\n\ttelegramChat = 5\n",
        );
        let env = Env::from_pairs([
            ("GIT_CREDMAN_NOTIFY", "telegram"),
            ("GIT_CREDMAN_TELEGRAM_TOKEN", "1:abc"),
            ("GIT_CREDMAN_NOTIFY_WHEN", "alive-below:3"),
        ]);
        let none = Env::default();
        let c = notify_of(&["git-credman", "scan"], &none, &cfg).unwrap();
        assert_eq!(c.targets, vec![Target::Webhook]);
        assert_eq!(c.when.0, vec![Condition::Always]);
        assert!(c.webhook.as_ref().unwrap().secret.is_none());
        let c = notify_of(&["git-credman", "scan"], &env, &cfg).unwrap();
        assert_eq!(c.targets, vec![Target::Telegram]);
        assert_eq!(c.when.0, vec![Condition::AliveBelow(3)]);
        assert_eq!(c.telegram.as_ref().unwrap().chat, "5");
        let c = notify_of(
            &[
                "git-credman",
                "scan",
                "--notify",
                "webhook",
                "--notify",
                "telegram",
                "--notify-when",
                "dead",
            ],
            &env,
            &cfg,
        )
        .unwrap();
        assert_eq!(c.targets, vec![Target::Webhook, Target::Telegram]);
        assert_eq!(c.when.0, vec![Condition::Dead]);
        assert!(notify_of(&["git-credman", "scan", "--notify", "none"], &env, &cfg).is_none());
        assert!(notify_of(&["git-credman", "scan"], &none, &config("")).is_none());
    }
}
