//! Commit signing, the way git signs: `commit.gpgSign`, `gpg.format` (openpgp, x509, ssh),
//! `user.signingKey` and `gpg.*.program` through git's signing options ([`SigningOptions`],
//! resolved and run by `git`, which start the same programs with the same arguments as git).
//! `--signing-key FILE` signs in-process with the ssh-key crate instead (ed25519, optionally
//! passphrase-protected), for CI runners without an agent or ssh-keygen.
//!
//! A [`Signer`] signs payload bytes only (the commit without its signature header); building and
//! writing the commit is [`Repo::commit`]'s. No gix types here. If signing is required and
//! fails, the caller commits nothing. Called by `prune` and `restore`.

use std::path::{Path, PathBuf};

use crate::credential::Secret;
use crate::git::{CommitSigner, Repo, SigningOptions};

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
    /// The signer failed; the text is already worded for the user (git's words for git's
    /// signers, `signing failed: …` for the in-process one).
    #[error("{0}")]
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
    Git(SigningOptions),
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
            Some(opts) => Ok(Signer::Git(opts)),
            None => Ok(Signer::None),
        }
    }

    /// Returns the armored signature of `payload` (a commit serialized without a signature
    /// header), ending in exactly one newline; `None` without a signer.
    pub fn sign(&self, payload: &[u8]) -> Result<Option<Vec<u8>>, Error> {
        match self {
            Signer::None => Ok(None),
            Signer::Git(opts) => opts
                .sign(payload)
                .map(Some)
                .map_err(|e| Error::Sign(e.to_string())),
            Signer::KeyFile(key, _) => {
                let sig = key
                    .sign("git", ssh_key::HashAlg::Sha512, payload)
                    .map_err(|e| Error::Sign(format!("signing failed: {e}")))?;
                let mut pem = sig
                    .to_pem(ssh_key::LineEnding::LF)
                    .map_err(|e| Error::Sign(format!("signing failed: {e}")))?;
                // git's header encoder expects exactly one trailing newline.
                while pem.ends_with("\n\n") {
                    pem.pop();
                }
                if !pem.ends_with('\n') {
                    pem.push('\n');
                }
                Ok(Some(pem.into_bytes()))
            }
        }
    }

    /// Describes the signer for messages.
    pub fn describe(&self) -> String {
        match self {
            Signer::None => "unsigned".into(),
            Signer::Git(opts) => format!("signed ({})", opts.describe()),
            Signer::KeyFile(_, path) => format!("signed (ssh, in-process with {})", path.display()),
        }
    }
}

impl CommitSigner for Signer {
    fn sign_commit(
        &self,
        payload: &[u8],
    ) -> Result<Option<Vec<u8>>, Box<dyn std::error::Error + Send + Sync>> {
        self.sign(payload).map_err(Into::into)
    }
}
