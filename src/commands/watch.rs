//! `git credman watch --every DURATION [--jitter DURATION] -- <scan|prune …>`: rounds until
//! stopped (issue #14 item 3). Glue only.
//!
//! Each round is a child process running this same binary with the given command, so a round
//! that fails (exit 2: a provider outage that stopped the run, a branch that moved, a full disk)
//! or even crashes cannot take the watcher down; it is logged and the next round runs on
//! schedule. Notifications are per round: the child's own `--notify` (or `credman.notify`).
//! A [`PidLock`] (in the git directory, beside a `--dir` folder, or `--lock FILE`) keeps two
//! watchers apart across processes. SIGINT and SIGTERM only set a flag here: the round in
//! progress is waited for (when the signal reached the child too, as Ctrl-C and systemd's stop
//! do, the child stops the way any prune stops: locks released, a visible step finished), the
//! lock is removed, and the watcher exits 0. In repository mode each round first fetches the
//! branch's upstream (through `git::cli`), so `prune --push` starts from what the remote has.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use anyhow::{Context as _, bail};
use clap::Parser as _;

use super::{Ctx, config_of};
use crate::cli::{Cli, Command, GlobalArgs, WatchArgs};
use crate::exit::Outcome;
use crate::fs::PidLock;
use crate::settings;

/// Where the round's command looks, as far as the watcher cares.
struct Target {
    /// `scan` or `prune`.
    verb: &'static str,
    /// `--dir PATH`.
    dir: Option<std::path::PathBuf>,
    /// `--server` or `--repo-url`: no local repository or folder to lock.
    remote: bool,
}

/// Parses the round's command as `git credman` would, so a typo stops the watcher at once
/// instead of failing every round.
fn target_of(command: &[String]) -> anyhow::Result<Target> {
    let cli = Cli::try_parse_from(
        std::iter::once("git-credman").chain(command.iter().map(String::as_str)),
    )
    .map_err(|e| {
        let text = e.to_string();
        let first = text
            .lines()
            .find(|l| !l.trim().is_empty())
            .unwrap_or("invalid arguments")
            .trim_start_matches("error: ")
            .to_owned();
        anyhow::anyhow!("the round's command is not valid: {first}")
    })?;
    match cli.command {
        Command::Scan(a) => Ok(Target {
            verb: "scan",
            dir: a.dir,
            remote: a.server.server.is_some() || a.remote.repo_url.is_some(),
        }),
        Command::Prune(a) => Ok(Target {
            verb: "prune",
            dir: a.dir,
            remote: a.server.server.is_some() || a.remote.repo_url.is_some(),
        }),
        _ => bail!(
            "watch runs scan or prune rounds, e.g. `git credman watch --every 30m -- prune --offline`"
        ),
    }
}

/// Returns a random duration up to `max` (jitter needs no cryptographic randomness).
fn random_up_to(max: Duration) -> Duration {
    use std::hash::{BuildHasher as _, Hasher as _};
    if max.is_zero() {
        return Duration::ZERO;
    }
    let mut h = std::collections::hash_map::RandomState::new().build_hasher();
    h.write_u32(std::process::id());
    let nanos = u64::try_from(max.as_nanos()).unwrap_or(u64::MAX);
    Duration::from_nanos(h.finish() % nanos.saturating_add(1))
}

/// Sleeps until `until` or until `stop` is set; returns whether it was set.
fn sleep_until(until: Instant, stop: &AtomicBool) -> bool {
    loop {
        if stop.load(Ordering::SeqCst) {
            return true;
        }
        let now = Instant::now();
        if now >= until {
            return false;
        }
        std::thread::sleep((until - now).min(Duration::from_millis(50)));
    }
}

/// Describes a round's exit status.
fn describe(status: std::process::ExitStatus) -> (bool, String) {
    match status.code() {
        Some(0) => (true, "exit 0".into()),
        Some(1) => (true, "exit 1 (findings)".into()),
        Some(3) => (true, "exit 3 (the breaker tripped)".into()),
        Some(c @ (129 | 130 | 143)) => (true, format!("exit {c} (interrupted)")),
        Some(c) => (false, format!("exit {c}")),
        None => (false, "killed by a signal".into()),
    }
}

/// Formats a duration for the log: `200ms`, `1.5s`, `30m 0s`.
fn human(d: Duration) -> String {
    if d < Duration::from_secs(1) {
        format!("{}ms", d.as_millis())
    } else if d < Duration::from_secs(60) {
        format!("{:.1}s", d.as_secs_f64())
    } else {
        format!("{}m {}s", d.as_secs() / 60, d.as_secs() % 60)
    }
}

/// Runs `watch`.
pub fn run(args: &WatchArgs, global: &GlobalArgs, ctx: &mut Ctx<'_>) -> anyhow::Result<Outcome> {
    let target = target_of(&args.command)?;
    let local_repo = target.dir.is_none() && !target.remote;
    let repo = if local_repo {
        super::open_repo(
            &ctx.env,
            &ctx.cwd,
            true,
            "run it inside one, or watch a folder with `-- scan --dir PATH`",
        )?
    } else if settings::reads_repo_config(&ctx.env)? {
        super::open_repo(&ctx.env, &ctx.cwd, false, "")?
    } else {
        None
    };
    let config = config_of(repo.as_ref(), &ctx.env)?;
    let ws = settings::watch(args, &ctx.env, &config, &ctx.cwd)?;
    let every = ws.every.context(
        "watch needs an interval: --every 30m (or git config credman.watchEvery, env GIT_CREDMAN_WATCH_EVERY)",
    )?;
    let lock_path = match (&ws.lock, &target.dir, &repo) {
        (Some(p), _, _) => p.clone(),
        (None, Some(dir), _) => {
            let dir = ctx.cwd.join(dir);
            let name = dir
                .file_name()
                .map(|n| n.to_string_lossy().into_owned())
                .context("--dir names no folder")?;
            dir.with_file_name(format!("{name}.credman-watch.lock"))
        }
        (None, None, Some(repo)) if local_repo => repo.git_dir().join("credman-watch.lock"),
        _ => bail!(
            "watch with --server or --repo-url needs a lock file: --lock FILE (or git config credman.watchLock)"
        ),
    };
    let stop = Arc::new(AtomicBool::new(false));
    for sig in [
        signal_hook::consts::SIGINT,
        signal_hook::consts::SIGTERM,
        signal_hook::consts::SIGHUP,
    ] {
        signal_hook::flag::register(sig, Arc::clone(&stop))
            .context("cannot install the signal handler")?;
    }
    let (lock, stale) = PidLock::acquire(&lock_path)?;
    if let Some(pid) = stale {
        ctx.status.line(&format!(
            "watch: took over the stale lock {} (pid {pid} is gone).",
            lock.path().display()
        ))?;
    }
    let exe = std::env::current_exe().context("cannot find the git-credman binary")?;
    let mut passed: Vec<String> = Vec::new();
    for _ in 0..global.verbose {
        passed.push("-v".into());
    }
    if global.quiet {
        passed.push("-q".into());
    }
    passed.push(format!(
        "--color={}",
        match global.color {
            crate::cli::ColorChoice::Auto => "auto",
            crate::cli::ColorChoice::Always => "always",
            crate::cli::ColorChoice::Never => "never",
        }
    ));
    let upstream = repo.as_ref().filter(|_| local_repo).and_then(|r| {
        let head = r.branch_head().ok()?;
        let (remote, merge) = settings::upstream_of(&config, &head.short);
        Some((r.workdir().unwrap_or_else(|| r.git_dir()), remote?, merge?))
    });
    let mut round = 0u64;
    let mut why_stopped = "stopped by a signal";
    loop {
        round += 1;
        let started = Instant::now();
        if let Some((dir, remote, merge)) = &upstream
            && let Err(e) = crate::git::cli::fetch(dir, remote, merge, &[])
        {
            ctx.status.line(&format!(
                "watch: round {round}: {e:#}; this round works on what is here."
            ))?;
        }
        let status = std::process::Command::new(&exe)
            .args(&passed)
            .args(&args.command)
            .current_dir(&ctx.cwd)
            .stdin(std::process::Stdio::null())
            .status();
        let took = started.elapsed();
        match status {
            Ok(s) => {
                let (ok, what) = describe(s);
                let line = if ok || stop.load(Ordering::SeqCst) {
                    format!(
                        "watch: round {round} ({}) done in {}: {what}.",
                        target.verb,
                        human(took)
                    )
                } else {
                    format!(
                        "watch: round {round} ({}) failed after {}: {what}; the next round runs as planned.",
                        target.verb,
                        human(took)
                    )
                };
                ctx.status.line(&line)?;
            }
            Err(e) => ctx.status.line(&format!(
                "watch: round {round} could not start ({e}); the next round runs as planned."
            ))?,
        }
        if stop.load(Ordering::SeqCst) {
            break;
        }
        if ws.max_rounds.is_some_and(|n| round >= n) {
            why_stopped = "the last round (--max-rounds) is done";
            break;
        }
        let next = started + every + random_up_to(ws.jitter);
        if sleep_until(next, &stop) {
            break;
        }
    }
    ctx.status.line(&format!(
        "watch: stopping after {round} round(s): {why_stopped}."
    ))?;
    drop(lock);
    Ok(Outcome::Clean)
}
