//! The `git-credman` binary: parse the command line, set up logging, run the command, and turn
//! its outcome into the exit code. The only place that exits.

use std::io::{IsTerminal as _, Write as _};
use std::process::ExitCode;

use clap::Parser as _;

// Scans allocate many small strings on all cores; mimalloc is measurably faster than the
// system allocator there (benches/scan.sh).
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;
use git_credman::cli::Cli;
use git_credman::commands::{self, Ctx};
use git_credman::exit;
use git_credman::settings::Env;

fn main() -> ExitCode {
    let cli = Cli::parse();
    // Before any HTTP client exists, gix's for HTTPS clones included.
    git_credman::probe::tls_ready();
    let level = match (cli.global.quiet, cli.global.verbose) {
        (true, _) => tracing::Level::ERROR,
        (false, 0) => tracing::Level::WARN,
        (false, 1) => tracing::Level::INFO,
        (false, 2) => tracing::Level::DEBUG,
        (false, _) => tracing::Level::TRACE,
    };
    tracing_subscriber::fmt()
        .with_writer(std::io::stderr)
        .with_max_level(level)
        .with_target(false)
        .with_timer(tracing_subscriber::fmt::time::uptime())
        .with_ansi(std::io::stderr().is_terminal())
        .init();

    let stdout = std::io::stdout();
    let stdout_is_tty = stdout.is_terminal();
    let mut out = std::io::BufWriter::with_capacity(256 * 1024, stdout.lock());
    let cwd = match std::env::current_dir() {
        Ok(dir) => cli
            .global
            .chdir
            .as_ref()
            .map_or_else(|| dir.clone(), |c| dir.join(c)),
        Err(err) => {
            return fail(&anyhow::Error::from(err).context("cannot read the current directory"));
        }
    };
    let mut err = std::io::stderr();
    let mut ctx = Ctx {
        cwd,
        env: Env::from_process(),
        stdout_is_tty,
        out: &mut out,
        status: commands::StatusWriter::new(&mut err, std::io::stderr().is_terminal()),
    };
    let result = commands::run(&cli.command, &cli.global, &mut ctx);
    let flushed = out.flush();
    match result {
        Ok(outcome) => match flushed {
            Err(err) if err.kind() != std::io::ErrorKind::BrokenPipe => {
                fail(&anyhow::Error::from(err).context("cannot write to stdout"))
            }
            _ => outcome.into(),
        },
        Err(err) if is_broken_pipe(&err) => ExitCode::SUCCESS,
        Err(err) => fail(&err),
    }
}

fn is_broken_pipe(err: &anyhow::Error) -> bool {
    err.chain().any(|e| {
        e.downcast_ref::<std::io::Error>()
            .is_some_and(|io| io.kind() == std::io::ErrorKind::BrokenPipe)
    })
}

#[allow(clippy::print_stderr)]
fn fail(err: &anyhow::Error) -> ExitCode {
    eprintln!("error: {err:#}");
    ExitCode::from(exit::ERROR)
}
