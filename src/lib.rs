//! git-credman: keep a pool of CLIProxyAPI OAuth credentials healthy.
//!
//! The library behind the `git-credman` binary. Layers (dependencies point downwards, checked by
//! `tests/it/layers.rs`): `commands` (glue) → `source` (what to scan), `scan` (the one pipeline),
//! `prune` (plan and executors) → `report`, `verdict`, `probe`, `providers`, `management` →
//! `git`, `credential`, `status`, `fs`. Commands never import each other. `git` is the only gix
//! code and the only place that spawns git; `probe` and `management` are the only HTTP code;
//! `settings` is the only place that reads the environment and resolves every precedence.

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
pub mod notify;
pub mod pins;
pub mod probe;
pub mod providers;
pub mod prune;
pub mod report;
pub mod scan;
pub mod settings;
pub mod sign;
pub mod source;
pub mod status;
pub mod strikes;
pub mod tui;
pub mod verdict;
