//! git-credman: keep a pool of CLIProxyAPI OAuth credentials healthy.
//!
//! The library behind the `git-credman` binary. Module map (dependencies point downwards):
//! `commands` → {`scan`, `prune`, `source`} → {`verdict`, `report`} → `credential`, `status`;
//! commands never import each other; `git` is the only gix code and the only place that spawns
//! git (`git` opens and reads, `git::write` edits trees, commits and moves refs, `git::history`
//! reads commits and pushed ranges, `git::config` reads git configuration by trust,
//! `git::clone` clones, `git::cli` runs `git push`, `fetch` and `verify-commit`); `sign` signs
//! commit payloads for `git` without any gix type; `settings` is the only place that reads the
//! environment.

pub mod cli;
pub mod commands;
pub mod credential;
pub mod endpoint;
pub mod exit;
pub mod fs;
#[cfg(test)]
mod fuzz;
pub mod git;
pub mod hook;
pub mod interrupt;
pub mod management;
pub mod message;
pub mod probe;
pub mod providers;
pub mod prune;
pub mod report;
pub mod scan;
pub mod settings;
pub mod sign;
pub mod source;
pub mod status;
pub mod verdict;
