//! Commit signing, the way git signs: `commit.gpgSign`, `gpg.format` (openpgp, x509, ssh),
//! `user.signingKey` and `gpg.*.program` through gix's signing options, which run the same
//! programs with the same arguments as git. `--signing-key FILE` signs in-process with the
//! ssh-key crate instead (ed25519, optionally passphrase-protected), for CI runners without an
//! agent or ssh-keygen. If signing is required and fails, the caller commits nothing.

use std::path::{Path, PathBuf};

use crate::credential::Secret;
use crate::git::Repo;

/// Signing errors. They name the key file, never its content or passphrase.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// Reading git's signing configuration failed.
    #[error(transparent)]
    Config(#[from] crate::git::Error),
    /// The key file cannot be read or parsed.
    #[error("cannot read the signing key {}: {reason}", path.display())]
    Key {
        /// The key file.
        path: PathBuf,
        /// Why.
        reason: String,
    },
    /// The signer failed.
    #[error("signing failed: {0}")]
    Sign(String),
}

/// Whether to sign.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Mode {
    /// As git would: only when `commit.gpgSign` is true.
    Config,
    /// Always (`--sign`).
    Force,
    /// Never (`--no-sign`).
    Never,
}

/// A resolved signer.
pub enum Signer {
    /// No signature.
    None,
    /// git's configured signer (gpg, gpgsm, ssh-keygen or a custom program).
    Git(Box<gix::objs::signature::sign::Options>),
    /// An in-process SSH signature with a key file.
    KeyFile(Box<ssh_key::PrivateKey>, PathBuf),
}

impl Signer {
    /// Resolves the signer from the mode, git's configuration and `--signing-key`.
    pub fn resolve(
        repo: &Repo,
        mode: Mode,
        key_file: Option<&Path>,
        passphrase: Option<&Secret>,
    ) -> Result<Self, Error> {
        if mode == Mode::Never {
            return Ok(Signer::None);
        }
        if let Some(path) = key_file {
            let bad = |reason: String| Error::Key {
                path: path.to_owned(),
                reason,
            };
            let mut key =
                ssh_key::PrivateKey::read_openssh_file(path).map_err(|e| bad(e.to_string()))?;
            if key.is_encrypted() {
                let pass = passphrase.ok_or_else(|| {
                    bad("the key is encrypted; set GIT_CREDMAN_SIGNING_KEY_PASSPHRASE".into())
                })?;
                key = key
                    .decrypt(pass.expose().as_bytes())
                    .map_err(|_| bad("wrong passphrase".into()))?;
            }
            if key.algorithm() != ssh_key::Algorithm::Ed25519 {
                return Err(bad(format!(
                    "{} keys are not supported in-process; use an ed25519 key, or git's signing configuration",
                    key.algorithm()
                )));
            }
            return Ok(Signer::KeyFile(Box::new(key), path.to_owned()));
        }
        match repo.signing_options(mode == Mode::Force)? {
            Some(opts) => Ok(Signer::Git(Box::new(opts))),
            None => Ok(Signer::None),
        }
    }

    /// Returns the commit signed (or unchanged without a signer).
    pub fn sign(
        &self,
        commit: gix::objs::Commit,
        hash: gix::hash::Kind,
    ) -> Result<gix::objs::Commit, Error> {
        match self {
            Signer::None => Ok(commit),
            Signer::Git(opts) => commit
                .sign((**opts).clone())
                .map_err(|e| Error::Sign(format!("{e}"))),
            Signer::KeyFile(key, _) => {
                use gix::objs::WriteTo as _;
                let field = gix::objs::commit::signature_field_name(hash);
                let mut commit = commit;
                commit.extra_headers.retain(|(name, _)| name != field);
                let mut payload = Vec::new();
                commit
                    .write_to(&mut payload)
                    .map_err(|e| Error::Sign(e.to_string()))?;
                let sig = key
                    .sign("git", ssh_key::HashAlg::Sha512, &payload)
                    .map_err(|e| Error::Sign(e.to_string()))?;
                let mut pem = sig
                    .to_pem(ssh_key::LineEnding::LF)
                    .map_err(|e| Error::Sign(e.to_string()))?;
                // git's header encoder expects exactly one trailing newline.
                while pem.ends_with("\n\n") {
                    pem.pop();
                }
                if !pem.ends_with('\n') {
                    pem.push('\n');
                }
                commit.extra_headers.push((field.into(), pem.into()));
                Ok(commit)
            }
        }
    }

    /// Describes the signer for messages.
    pub fn describe(&self) -> String {
        match self {
            Signer::None => "unsigned".into(),
            Signer::Git(opts) => format!(
                "signed ({:?} via {})",
                opts.format,
                opts.program.to_string_lossy()
            ),
            Signer::KeyFile(_, path) => format!("signed (ssh, in-process with {})", path.display()),
        }
    }
}
