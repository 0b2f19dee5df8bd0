//! The single integration-test binary (one link for all integration tests).

// Test support code panics on setup failures by design, and reads PATH to pass it on.
#![allow(clippy::unwrap_used, clippy::disallowed_methods)]

mod support;

mod actions;
mod clients;
mod crash;
mod dataloss;
mod doctor;
mod formats;
mod git_config;
mod help;
mod history;
mod hook;
mod interactive;
mod layers;
mod notify;
mod online;
mod pins;
mod plan;
mod prune;
mod quota;
mod remote;
mod sarif;
mod scan;
mod schema;
mod server;
mod show;
mod strikes;
mod tools;
mod transport;
mod trust;
mod watch;
