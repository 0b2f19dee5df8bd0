//! Settings: flag > `GIT_CREDMAN_*` environment variable > git config `credman.*` > default.
//!
//! The only module that reads the process environment ([`Env::from_process`], called once by
//! `main`). Commands receive validated settings and never look at the environment themselves.

use std::collections::HashMap;
use std::path::PathBuf;
use std::str::FromStr;

use clap::ValueEnum as _;

use crate::cli::{ColorChoice, GlobalArgs, ScanArgs};
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
#[derive(Debug, thiserror::Error)]
#[error("invalid value '{value}' for {key}: {reason}")]
pub struct Error {
    /// The variable or config key.
    pub key: String,
    /// The value (only for non-secret settings).
    pub value: String,
    /// Why it is invalid.
    pub reason: String,
}

/// A snapshot of the environment variables git-credman reads.
#[derive(Clone, Debug, Default)]
pub struct Env {
    vars: HashMap<String, String>,
}

impl Env {
    /// Takes the snapshot: every `GIT_CREDMAN_*` variable and `NO_COLOR`.
    #[allow(clippy::disallowed_methods)]
    pub fn from_process() -> Self {
        let vars = std::env::vars_os()
            .filter_map(|(k, v)| Some((k.into_string().ok()?, v.into_string().ok()?)))
            .filter(|(k, _)| k.starts_with("GIT_CREDMAN_") || k == "NO_COLOR")
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

    /// Returns a variable's value; empty values count as unset.
    pub fn get(&self, key: &str) -> Option<&str> {
        self.vars
            .get(key)
            .map(String::as_str)
            .filter(|v| !v.is_empty())
    }
}

/// The git configuration in effect (the repository's, or the global one outside a repository).
#[derive(Default)]
pub struct GitConfig {
    file: Option<gix::config::File>,
}

impl GitConfig {
    /// Wraps a configuration.
    pub fn new(file: Option<gix::config::File>) -> Self {
        Self { file }
    }

    /// Loads system and global configuration, for commands run outside a repository.
    pub fn globals() -> Self {
        Self {
            file: gix::config::File::from_globals().ok(),
        }
    }

    /// Returns the last value of a key.
    pub fn string(&self, key: &str) -> Option<String> {
        self.file.as_ref()?.string(key).map(|v| v.to_string())
    }

    /// Returns every value of a multi-valued key.
    pub fn strings(&self, key: &str) -> Vec<String> {
        self.file
            .as_ref()
            .and_then(|f| f.strings(key))
            .map(|vs| vs.into_iter().map(|v| v.to_string()).collect())
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

/// Validated settings of `scan`.
#[derive(Clone, Debug)]
pub struct ScanSettings {
    /// The auth path inside a tree.
    pub auth_path: String,
    /// Output format.
    pub format: Format,
    /// Statuses that make the exit code 1.
    pub fail_on: StatusSet,
    /// Show identities unmasked.
    pub show_identities: bool,
    /// Colour the text report.
    pub color: bool,
    /// Where to also write the JSON report.
    pub report: Option<PathBuf>,
    /// Reader threads (0 = one per core).
    pub jobs: usize,
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
    stdout_is_tty: bool,
) -> Result<ScanSettings, Error> {
    let look = Lookup { env, config };
    let auth_path = match &args.auth_path {
        Some(p) => p.clone(),
        None => look
            .raw("GIT_CREDMAN_PATH", "credman.path")
            .map_or_else(|| "auths".to_owned(), |(v, _)| v),
    };
    let format = match args.format {
        Some(f) => f,
        None => match look.raw("GIT_CREDMAN_FORMAT", "credman.format") {
            Some((value, key)) => {
                Format::from_str(&value, true).map_err(|reason| Error { key, value, reason })?
            }
            None => Format::Text,
        },
    };
    let fail_on = match &args.fail_on {
        Some(set) => set.clone(),
        None => look
            .parsed::<StatusSet>("GIT_CREDMAN_FAIL_ON", "credman.failOn")?
            .unwrap_or_else(|| StatusSet::of(&DEFAULT_FAIL_ON)),
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
    Ok(ScanSettings {
        auth_path,
        format,
        fail_on,
        show_identities,
        color: color(global.color, env, stdout_is_tty),
        report: args.report.clone(),
        jobs,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cli::{Cli, Command};
    use clap::Parser as _;

    fn config(text: &str) -> GitConfig {
        GitConfig::new(Some(gix::config::File::try_from(text).unwrap()))
    }

    fn resolve(argv: &[&str], env: &Env, cfg: &GitConfig) -> Result<ScanSettings, Error> {
        let cli = Cli::try_parse_from(argv).unwrap();
        let Command::Scan(args) = &cli.command;
        scan(args, &cli.global, env, cfg, false)
    }

    #[test]
    fn precedence_flag_env_config_default() {
        let cfg = config("[credman]\n\tfailOn = missing_token\n\tpath = creds\n");
        let env = Env::from_pairs([("GIT_CREDMAN_FAIL_ON", "unknown")]);
        let s = resolve(&["x", "scan"], &Env::default(), &GitConfig::default()).unwrap();
        assert_eq!(s.fail_on, StatusSet::of(&DEFAULT_FAIL_ON));
        assert_eq!(s.auth_path, "auths");
        let s = resolve(&["x", "scan"], &Env::default(), &cfg).unwrap();
        assert_eq!(s.fail_on.to_string(), "missing_token");
        assert_eq!(s.auth_path, "creds");
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
    fn color_rules() {
        let no_color = Env::from_pairs([("NO_COLOR", "1")]);
        assert!(!color(ColorChoice::Auto, &Env::default(), false));
        assert!(color(ColorChoice::Auto, &Env::default(), true));
        assert!(!color(ColorChoice::Auto, &no_color, true));
        assert!(color(ColorChoice::Always, &no_color, false));
        assert!(!color(ColorChoice::Never, &Env::default(), true));
    }
}
