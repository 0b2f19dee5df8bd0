//! The gix side of git configuration: the resolved configuration of a repository
//! ([`Repo::config`]) or of the user (system and global files, [`Config::globals`]), read only
//! through gix's trust filter ([`gix::config::section::is_trusted`]). A repository-local file git
//! would not trust (another user's `.git/config`, "dubious ownership") is never read, only
//! noticed ([`Config::untrusted_section`]) so that the caller can say why its values are ignored.
//!
//! Which setting wins (flag, environment, config) is `settings`' business, not this module's.
//! Called by `settings::GitConfig`; its tests build configurations with `Config::from_text` and
//! `Config::with_untrusted_local`.

use std::path::PathBuf;

use super::Repo;

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
    pub fn globals() -> Option<Self> {
        gix::config::File::from_globals()
            .ok()
            .map(|file| Self { file })
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
