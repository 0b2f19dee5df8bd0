//! The gix side of git configuration: the resolved configuration of a repository
//! ([`Repo::config`]) or of the user (system and global files, [`Config::globals`]), read only
//! through gix's trust filter ([`gix::config::section::is_trusted`]). A repository-local file git
//! would not trust (another user's `.git/config`, "dubious ownership") is never read, only
//! noticed ([`Config::untrusted_section`]) so that the caller can say why its values are ignored.
//!
//! Values given on git's command line (`git -c key=value credman …`, which git hands to external
//! commands in `GIT_CONFIG_PARAMETERS`, and `GIT_CONFIG_COUNT`/`KEY_n`/`VALUE_n`) are parsed by
//! `settings` and layered here on top of every file, as git does ([`CommandLine`],
//! [`Repo::with_command_line`]): every lookup, signing included, sees them.
//!
//! Which setting wins (flag, environment, config) is `settings`' business, not this module's.
//! Called by `settings::GitConfig`; its tests build configurations with `Config::from_text` and
//! `Config::with_untrusted_local`.

use std::path::PathBuf;

use super::{Error, Repo};

/// Configuration given on git's command line, in git's order: `GIT_CONFIG_COUNT` entries, then
/// `GIT_CONFIG_PARAMETERS` (`git -c`) entries, which therefore win over them and over every file.
///
/// Keys are `section.name` or `section.sub.name`, already validated; a `None` value is git's
/// implicit `true` (`git -c key`).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct CommandLine {
    /// `GIT_CONFIG_COUNT`/`GIT_CONFIG_KEY_n`/`GIT_CONFIG_VALUE_n`, in index order.
    pub count: Vec<(String, Option<String>)>,
    /// `GIT_CONFIG_PARAMETERS`, in command-line order.
    pub parameters: Vec<(String, Option<String>)>,
}

impl CommandLine {
    /// Whether nothing is given.
    pub fn is_empty(&self) -> bool {
        self.count.is_empty() && self.parameters.is_empty()
    }

    /// Returns `entries` as one configuration file of source `source`, fully trusted (the user
    /// typed them).
    fn file<'a>(
        entries: impl IntoIterator<Item = &'a (String, Option<String>)>,
        source: gix::config::Source,
    ) -> Result<gix::config::File, Error> {
        let mut file = gix::config::File::new(gix::config::file::Metadata::from(source));
        for (key, value) in entries {
            let bad = |e: &dyn std::fmt::Display| {
                Error::Refused(format!("unable to parse command-line config {key}: {e}"))
            };
            let (section_and_sub, name) = key
                .rsplit_once('.')
                .ok_or_else(|| bad(&"the key has no section"))?;
            let (section, sub) = match section_and_sub.split_once('.') {
                Some((section, sub)) => (section, Some(gix::bstr::BStr::new(sub))),
                None => (section_and_sub, None),
            };
            file.section_mut_or_create_new(section, sub)
                .and_then(|mut section| {
                    section
                        .push(name, value.as_deref().map(gix::bstr::BStr::new))
                        .map(|_| ())
                })
                .map_err(|e| bad(&e))?;
        }
        Ok(file)
    }
}

impl Repo {
    /// Returns the repository with `-c` values (`GIT_CONFIG_PARAMETERS`) layered over its
    /// configuration, so that lookups and signing see what git would.
    ///
    /// gix already reads `GIT_CONFIG_COUNT` when it opens a repository (after the files), so only
    /// the parameters are appended here, after it, as git applies them.
    pub fn with_command_line(self, command_line: &CommandLine) -> Result<Self, Error> {
        if command_line.parameters.is_empty() {
            return Ok(self);
        }
        let file = CommandLine::file(&command_line.parameters, gix::config::Source::Cli)?;
        let mut repo = self.inner.to_thread_local();
        let mut config = repo.config_snapshot_mut();
        let refused = |e: &dyn std::fmt::Display| {
            Error::Refused(format!("unable to apply command-line config: {e}"))
        };
        config.append(file).map_err(|e| refused(&e))?;
        config.commit().map_err(|e| refused(&e))?;
        Ok(Self {
            inner: repo.into_sync(),
        })
    }
}

/// A git configuration, filtered by trust on every lookup.
#[derive(Clone, Debug)]
pub struct Config {
    file: gix::config::File,
}

impl Repo {
    /// Returns a copy of the repository's resolved configuration (system, global, local, env).
    pub fn config(&self) -> Config {
        Config {
            file: self.local().config_snapshot().plumbing().clone(),
        }
    }
}

impl Config {
    /// Loads the system and global configuration (for commands run outside a repository);
    /// `None` when it cannot be read.
    ///
    /// `command_line` is layered on top, as git does outside a repository too.
    pub fn globals(command_line: &CommandLine) -> Result<Option<Self>, Error> {
        let Ok(mut file) = gix::config::File::from_globals() else {
            return Ok(None);
        };
        if !command_line.is_empty() {
            let env = CommandLine::file(&command_line.count, gix::config::Source::Env)?;
            let cli = CommandLine::file(&command_line.parameters, gix::config::Source::Cli)?;
            let refused = |e: &dyn std::fmt::Display| {
                Error::Refused(format!("unable to apply command-line config: {e}"))
            };
            file.append(env).map_err(|e| refused(&e))?;
            file.append(cli).map_err(|e| refused(&e))?;
        }
        Ok(Some(Self { file }))
    }

    /// Returns the last trusted value of `key` (`section.name` or `section.sub.name`).
    pub fn string(&self, key: &str) -> Option<String> {
        self.file
            .string_filter(key, gix::config::section::is_trusted)
            .map(|v| v.to_string())
    }

    /// Returns every trusted value of a multi-valued key, in file order.
    pub fn strings(&self, key: &str) -> Vec<String> {
        self.file
            .strings_filter(key, gix::config::section::is_trusted)
            .map(|vs| vs.into_iter().map(|v| v.to_string()).collect())
            .unwrap_or_default()
    }

    /// Returns the file of the first untrusted section called `section` (which lookups skip), if
    /// any; an empty path when gix does not know the file.
    pub fn untrusted_section(&self, section: &str) -> Option<PathBuf> {
        self.file
            .sections_by_name(section)?
            .map(|section| section.meta().clone())
            .find(|meta| !gix::config::section::is_trusted(meta))
            .map(|meta| meta.path.unwrap_or_default())
    }

    /// Parses a configuration from text, fully trusted (for tests).
    #[cfg(test)]
    pub fn from_text(text: &str) -> Result<Self, Box<dyn std::error::Error + Send + Sync>> {
        Ok(Self {
            file: gix::config::File::try_from(text)?,
        })
    }

    /// Builds a configuration of a trusted user file `user` followed by a repository-local file
    /// `local` at `local_path` that is not trusted, as gix marks another user's `.git/config`
    /// (for tests).
    #[cfg(test)]
    pub fn with_untrusted_local(
        user: &str,
        local: &str,
        local_path: &std::path::Path,
    ) -> Result<Self, Box<dyn std::error::Error + Send + Sync>> {
        let meta = |source, trust| gix::config::file::Metadata {
            path: Some(local_path.to_owned()),
            source,
            level: 0,
            trust,
        };
        let mut file = gix::config::File::from_bytes_no_includes(
            user.as_bytes(),
            meta(gix::config::Source::User, gix::sec::Trust::Full),
            Default::default(),
        )?;
        let local = gix::config::File::from_bytes_no_includes(
            local.as_bytes(),
            meta(gix::config::Source::Local, gix::sec::Trust::Reduced),
            Default::default(),
        )?;
        file.append(local)?;
        Ok(Self { file })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lookups_skip_untrusted_sections_and_name_their_file() {
        let path = std::path::Path::new("/elsewhere/.git/config");
        let cfg = Config::with_untrusted_local(
            "[a]\n\tk = user\n\tm = 1\n",
            "[a]\n\tk = local\n\tm = 2\n\tonly = local\n",
            path,
        )
        .unwrap();
        assert_eq!(cfg.string("a.k").as_deref(), Some("user"));
        assert_eq!(cfg.strings("a.m"), vec!["1".to_owned()]);
        assert_eq!(cfg.string("a.only"), None);
        assert_eq!(cfg.untrusted_section("a"), Some(path.to_owned()));
        assert_eq!(cfg.untrusted_section("b"), None);
        let trusted = Config::from_text("[a]\n\tk = 1\n\tk = 2\n").unwrap();
        assert_eq!(trusted.strings("a.k"), vec!["1".to_owned(), "2".to_owned()]);
        assert_eq!(trusted.untrusted_section("a"), None);
    }
}
