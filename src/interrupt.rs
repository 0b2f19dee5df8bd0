//! Interrupts (SIGINT, SIGTERM, SIGHUP) for commands that write: every lock and temporary file
//! the run holds is released, and the process exits like git does, 128 + the signal (130 for
//! Ctrl-C, 143 for SIGTERM, 129 for SIGHUP).
//!
//! A signal outside a [`critical`] section ends the process at once: nothing visible has changed
//! yet (objects written so far are unreferenced), so the locks (gix's registered tempfiles, via
//! [`crate::git::release_locks`]) and registered temporary directories are removed and the
//! process exits. A signal inside a critical section (the steps that make a prune visible: the
//! marker, the ref, the index, the working tree, a quarantine and its report) is held until the
//! section ends, so the step finishes instead of stopping half-way; then the process exits.
//! Creating a lock and writing to one happen inside a critical section too: no lock is created
//! after the cleanup ran, and none is missed by it (gix takes a tempfile out of its registry
//! while writing to it).
//!
//! It also holds the test-only pause hook ([`checkpoint`]). Called by `prune`, `restore` and
//! remote mode; no output except a warning when the handler cannot be installed.

use std::path::{Path, PathBuf};
use std::sync::{Mutex, MutexGuard, Once, OnceLock, PoisonError};

struct State {
    /// Open critical sections.
    deferred: usize,
    /// The first signal received inside a critical section.
    pending: Option<i32>,
    /// A signal is being acted upon: no new critical section may start.
    exiting: bool,
    /// Temporary directories to remove (remote mode's clones).
    dirs: Vec<PathBuf>,
    /// Files to remove (a prune's marker before its ref moved).
    files: Vec<PathBuf>,
}

static STATE: Mutex<State> = Mutex::new(State {
    deferred: 0,
    pending: None,
    exiting: false,
    dirs: Vec::new(),
    files: Vec::new(),
});

fn state() -> MutexGuard<'static, State> {
    STATE.lock().unwrap_or_else(PoisonError::into_inner)
}

/// Installs the handler (once per process).
pub fn install() {
    static INSTALLED: Once = Once::new();
    INSTALLED.call_once(|| {
        use signal_hook::consts::{SIGHUP, SIGINT, SIGTERM};
        let signals = match signal_hook::iterator::Signals::new([SIGINT, SIGTERM, SIGHUP]) {
            Ok(s) => s,
            Err(e) => {
                tracing::warn!("cannot install the interrupt handler: {e}");
                return;
            }
        };
        let spawned = std::thread::Builder::new()
            .name("credman-signals".into())
            .spawn(move || {
                let mut signals = signals;
                for sig in signals.forever() {
                    on_signal(sig);
                }
            });
        if let Err(e) = spawned {
            tracing::warn!("cannot install the interrupt handler: {e}");
        }
    });
}

fn on_signal(sig: i32) {
    let mut st = state();
    if st.deferred > 0 {
        st.pending.get_or_insert(sig);
        return;
    }
    st.exiting = true;
    drop(st);
    terminate(sig);
}

/// Releases every lock and temporary directory, then exits with 128 + `sig`.
fn terminate(sig: i32) -> ! {
    crate::git::release_locks();
    let (dirs, files) = {
        let mut st = state();
        (std::mem::take(&mut st.dirs), std::mem::take(&mut st.files))
    };
    for d in dirs {
        let _ = std::fs::remove_dir_all(d);
    }
    for f in files {
        let _ = std::fs::remove_file(f);
    }
    // The only exit outside `main`: the process was interrupted, like git, exit 128 + signal.
    #[allow(clippy::exit)]
    std::process::exit(128 + sig)
}

/// Registers a temporary directory to remove if the process is interrupted (a `TempDir`'s drop
/// does not run then), and installs the handler.
pub fn remove_dir_on_interrupt(path: &Path) {
    install();
    state().dirs.push(path.to_path_buf());
}

/// Registers a file to remove if the process is interrupted, until [`keep_file`] is called.
pub fn remove_file_on_interrupt(path: &Path) {
    install();
    state().files.push(path.to_path_buf());
}

/// Stops removing `path` on an interrupt.
pub fn keep_file(path: &Path) {
    state().files.retain(|f| f != path);
}

/// A section during which signals are held; see the module documentation.
#[must_use = "the section ends when this is dropped"]
pub struct Critical(());

/// Starts a critical section. If a signal is already being acted upon, never returns (the
/// process is about to exit).
pub fn critical() -> Critical {
    install();
    let mut st = state();
    if st.exiting {
        drop(st);
        loop {
            std::thread::sleep(std::time::Duration::from_secs(1));
        }
    }
    st.deferred += 1;
    Critical(())
}

impl Drop for Critical {
    fn drop(&mut self) {
        let mut st = state();
        st.deferred = st.deferred.saturating_sub(1);
        if st.deferred == 0
            && let Some(sig) = st.pending.take()
        {
            st.exiting = true;
            drop(st);
            tracing::warn!("interrupted; the step in progress was finished first");
            terminate(sig);
        }
    }
}

/// The test-only pause: `(step, file)`.
static PAUSE: OnceLock<Option<(String, PathBuf)>> = OnceLock::new();

/// Reads the test-only pause hook from the environment snapshot (once).
///
/// **For tests only.** It is inert unless both `GIT_CREDMAN_TEST_PAUSE_AT` (a step name) and
/// `GIT_CREDMAN_TEST_PAUSE_FILE` (a path) are set. Then, when the run reaches that step (see
/// [`checkpoint`]), it creates the file and waits until the file is removed. Tests use it to
/// kill or disturb a prune at an exact point (tests/it/crash.rs).
pub fn configure_test_pause(env: &crate::settings::Env) {
    let _ = PAUSE.set(crate::settings::test_pause(env));
}

/// A named step of a writing command; pauses there when the test-only hook asks for it.
pub fn checkpoint(step: &str) {
    let Some(Some((at, file))) = PAUSE.get() else {
        return;
    };
    if at != step {
        return;
    }
    if std::fs::write(file, step).is_err() {
        return;
    }
    while file.exists() {
        std::thread::sleep(std::time::Duration::from_millis(5));
    }
}
