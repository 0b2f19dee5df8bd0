//! Cloning a remote auth repository with gix ([`Repo::clone_into`]) and reading a remote's URL
//! ([`Repo::remote_url`]). The only gix code that reaches the network. An HTTPS token reaches gix
//! through its credential callback only, never a URL, argv or config file; an ssh key through an
//! in-memory `core.sshCommand` override. Called by `source::remote`.

use std::path::Path;

use super::{Error, Repo};

/// How to clone a remote auth repository.
#[derive(Clone, Debug)]
pub struct CloneSpec {
    /// The URL, without userinfo.
    pub url: String,
    /// The branch to check out (default: the remote's HEAD branch).
    pub branch: Option<String>,
    /// `core.sshCommand` for this clone only (a chosen key, batch mode).
    pub ssh_command: Option<String>,
    /// An HTTPS user and token, handed to gix through its credential callback only.
    pub token: Option<(String, crate::credential::Secret)>,
}

impl Repo {
    /// Clones `spec` into `dir` (which must not exist or be empty) and checks it out.
    pub fn clone_into(spec: &CloneSpec, dir: &Path) -> Result<Self, Error> {
        let bad = |what: &str| {
            let what = what.to_owned();
            move |source: gix::Error| Error::Repo { what, source }
        };
        let mut prep =
            gix::prepare_clone(spec.url.as_str(), dir).map_err(bad("cannot prepare the clone"))?;
        if let Some(cmd) = &spec.ssh_command {
            prep = prep.with_in_memory_config_overrides([format!("core.sshCommand={cmd}")]);
        }
        if let Some(branch) = &spec.branch {
            prep = prep
                .with_ref_name(Some(branch.as_str()))
                .map_err(bad("invalid --repo-branch"))?;
        }
        if let Some((user, token)) = spec.token.clone() {
            prep = prep.configure_connection(move |connection| {
                let (user, token) = (user.clone(), token.clone());
                connection.set_credentials(move |action| match action {
                    gix::credentials::helper::Action::Get(ctx) => {
                        Ok(Some(gix::credentials::protocol::Outcome {
                            identity: gix::sec::identity::Account {
                                username: user.clone(),
                                password: token.expose().to_owned(),
                                oauth_refresh_token: None,
                            },
                            next: ctx.into(),
                        }))
                    }
                    _ => Ok(None),
                });
                Ok(())
            });
        }
        let interrupt = std::sync::atomic::AtomicBool::new(false);
        let (mut checkout, _) = prep
            .fetch_then_checkout(gix::progress::Discard, &interrupt)
            .map_err(bad("cannot fetch from the remote"))?;
        let (repo, _) = checkout
            .main_worktree(gix::progress::Discard, &interrupt)
            .map_err(bad("cannot check out the fetched branch"))?;
        Ok(Self {
            inner: repo.into_sync(),
        })
    }

    /// Returns the URL of remote `name`, if it has one.
    pub fn remote_url(&self, name: &str) -> Option<String> {
        let repo = self.local();
        let remote = repo.find_remote(name).ok()?;
        remote
            .url(gix::remote::Direction::Fetch)
            .map(|u| u.to_bstring().to_string())
    }
}
