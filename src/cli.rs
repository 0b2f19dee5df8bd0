//! The command line: clap derive types only. Doc comments here are the user documentation
//! (`--help` and the man page). Only `main` and `commands` use this module.

// The doc comments are `--help` text: `<UTC time>` and `<remote>` are placeholders there, not HTML.
#![allow(rustdoc::invalid_html_tags)]

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand, ValueEnum};

use crate::report::Format;
use crate::status::StatusSet;

/// Keep a pool of CLIProxyAPI OAuth credentials healthy.
///
/// git-credman finds CLIProxyAPI (CPA) auth files in a git repository (or a plain directory),
/// classifies each one, and reports what it found; its exit code tells CI. Tokens never leave
/// the process: reports carry fingerprints and masked identities only.
///
/// Settings come from flags, then GIT_CREDMAN_* environment variables, then git config
/// `credman.*`, then defaults.
#[derive(Debug, Parser)]
#[command(
    name = "git-credman",
    bin_name = "git credman",
    version,
    max_term_width = 100
)]
pub struct Cli {
    /// Options for every command.
    #[command(flatten)]
    pub global: GlobalArgs,
    /// The command to run.
    #[command(subcommand)]
    pub command: Command,
}

/// Options for every command.
#[derive(Debug, Args)]
pub struct GlobalArgs {
    /// Run as if started in PATH (like `git -C`)
    #[arg(short = 'C', global = true, value_name = "PATH")]
    pub chdir: Option<PathBuf>,
    /// Log more to stderr (can be repeated)
    #[arg(short, long, action = clap::ArgAction::Count, global = true)]
    pub verbose: u8,
    /// Log only errors to stderr
    #[arg(short, long, global = true, conflicts_with = "verbose")]
    pub quiet: bool,
    /// When to colour the text report
    ///
    /// `auto` colours only when stdout is a terminal and NO_COLOR is not set.
    #[arg(long, value_enum, default_value_t = ColorChoice::Auto, global = true, value_name = "WHEN")]
    pub color: ColorChoice,
}

/// When to use colours.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum ColorChoice {
    /// Only on a terminal, and never with NO_COLOR set.
    Auto,
    /// Always (even with NO_COLOR set).
    Always,
    /// Never.
    Never,
}

/// The subcommands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Find credential files and classify each one
    Scan(ScanArgs),
    /// Remove dead credentials as one signed commit that carries its report
    Prune(PruneArgs),
    /// Print the report embedded in a prune commit, with its signature status
    Show(ShowArgs),
    /// Bring back files a prune commit removed, as a new commit
    Restore(RestoreArgs),
    /// Find credentials in the branch history that are gone from HEAD but still live
    History(HistoryArgs),
    /// Run scan or prune in rounds, every DURATION, until stopped
    ///
    /// Each round runs `git credman <COMMAND>…` as a child process (a failed round is logged and
    /// the next one runs as planned), after a fetch of the branch's upstream in repository
    /// mode. A lock file keeps two watchers of the same repository or folder from overlapping,
    /// across processes. SIGINT and SIGTERM stop it: the round in progress finishes (a prune
    /// that got the signal too stops safely, as any prune does), then it exits 0.
    Watch(WatchArgs),
    /// Install, remove or run git-credman's pre-push gate
    #[command(subcommand)]
    Hook(HookCommand),
    /// Check that each provider still answers a bad token the way the verdict rules expect
    ///
    /// Sends each provider's probe with a deliberately invalid token generated for this run
    /// (never a token from a file) and checks the answer's shape: status code, JSON body, error
    /// code, and what the rules make of it. A moved endpoint, an HTML page or a new error format
    /// is drift, reported before it turns into mass false verdicts.
    #[command(after_help = DOCTOR_AFTER_HELP)]
    Doctor(DoctorArgs),
    /// Work with JSON reports: join the reports of a sharded scan
    #[command(subcommand)]
    Report(ReportCommand),
    /// Work with the verdict history (refs/credman/verdicts): merge another runner's
    #[command(subcommand)]
    Verdicts(VerdictsCommand),
    /// Print a man page (roff) to stdout, or write every page to a directory
    ///
    /// There is one page per command, as for git's own commands: `git credman man` prints
    /// git-credman(1), `git credman man scan` prints git-credman-scan(1), `git credman man hook
    /// install` prints git-credman-hook-install(1). `git credman --help` opens `man git-credman`;
    /// install every page with `git credman man --output-dir ~/.local/share/man/man1`.
    Man(ManArgs),
    /// Print a shell completion script to stdout
    ///
    /// The bash script completes both `git-credman` and `git credman` (it defines the
    /// `_git_credman` function git's own bash completion calls); save it as
    /// `~/.local/share/bash-completion/completions/git-credman`, where bash-completion loads it
    /// on the first `git credman <TAB>`. The zsh script defines `_git-credman` (put it in a
    /// directory on $fpath as `_git-credman`); the fish script completes `git-credman`, which
    /// fish's git completion uses for `git credman` (save it as
    /// `~/.config/fish/completions/git-credman.fish`).
    Completions(CompletionsArgs),
}

/// Arguments of `git credman watch`.
#[derive(Debug, Args)]
#[command(after_long_help = WATCH_AFTER_HELP)]
pub struct WatchArgs {
    /// Start a round every DURATION (`90s`, `30m`, `1h`; at most 24h)
    ///
    /// Rounds start DURATION apart (plus jitter); a round that takes longer is followed at
    /// once. Default: git config `credman.watchEvery`. Env: GIT_CREDMAN_WATCH_EVERY.
    #[arg(long, value_name = "DURATION")]
    pub every: Option<String>,

    /// Delay each round by a random time up to DURATION (spreads many watchers' requests)
    ///
    /// Default: git config `credman.watchJitter`, else none. Env: GIT_CREDMAN_WATCH_JITTER.
    #[arg(long, value_name = "DURATION")]
    pub jitter: Option<String>,

    /// Stop after N rounds (default: run until stopped)
    ///
    /// Default: git config `credman.watchMaxRounds`. Env: GIT_CREDMAN_WATCH_MAX_ROUNDS.
    #[arg(long, value_name = "N")]
    pub max_rounds: Option<u64>,

    /// The lock file that keeps watchers apart
    ///
    /// Default: `credman-watch.lock` in the repository's git directory, or
    /// `<dir>.credman-watch.lock` beside a `--dir` folder; required with --server and
    /// --repo-url. A lock whose process is gone is taken over. Default: git config
    /// `credman.watchLock`. Env: GIT_CREDMAN_WATCH_LOCK.
    #[arg(long, value_name = "FILE")]
    pub lock: Option<PathBuf>,

    /// The command each round runs: `scan …` or `prune …` with its options, after `--`
    #[arg(last = true, required = true, value_name = "COMMAND")]
    pub command: Vec<String>,
}

const WATCH_AFTER_HELP: &str = "\
Examples:
  git credman watch --every 30m --jitter 2m -- prune --offline --notify telegram
  git credman watch --every 1h -- scan --dir /srv/cpa/auths --notify webhook
  git credman watch --every 10m --lock /run/credman/cpa.lock -- prune --server http://127.0.0.1:8317";

/// Arguments of `git credman man`.
#[derive(Debug, Args)]
pub struct ManArgs {
    /// The command whose page to print, e.g. `scan` or `hook install` (default: git-credman(1))
    #[arg(value_name = "COMMAND")]
    pub command: Vec<String>,

    /// Write every page (git-credman.1, git-credman-scan.1, …) into DIR instead of printing one
    #[arg(long, value_name = "DIR", conflicts_with = "command")]
    pub output_dir: Option<PathBuf>,
}

/// Arguments of `git credman completions`.
#[derive(Debug, Args)]
pub struct CompletionsArgs {
    /// The shell to complete for
    #[arg(value_enum, value_name = "SHELL")]
    pub shell: Shell,
}

/// The shells `git credman completions` writes scripts for.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum Shell {
    /// Bash (with bash-completion, and git's own bash completion for `git credman`).
    Bash,
    /// Zsh.
    Zsh,
    /// Fish.
    Fish,
}

/// The `hook` subcommands.
#[derive(Debug, Subcommand)]
pub enum HookCommand {
    /// Check the credentials a push sends (what the installed hook runs)
    ///
    /// Reads git's pre-push lines on stdin and checks the credential files added or modified by
    /// the commits being pushed, as they are at each pushed tip. Offline by default. Exits 1 to
    /// block the push when one has a status in the fail set; `git push --no-verify` bypasses it.
    PrePush(PrePushArgs),
    /// Install the pre-push gate into this repository's hooks directory
    ///
    /// Respects core.hooksPath. An existing shell hook is kept: git-credman's call is added
    /// between marker lines. Any other hook is left alone unless --force (it is then kept as
    /// pre-push.credman-backup).
    Install(HookInstallArgs),
    /// Remove git-credman's lines from the pre-push hook (and the hook, if nothing else is left)
    Uninstall,
}

/// The `report` subcommands: a noun with verbs, like `hook` (and git's `remote`, `worktree`).
#[derive(Debug, Subcommand)]
pub enum ReportCommand {
    /// Join the JSON reports of `scan --shard K/N` into one report on stdout
    ///
    /// Pass all N shard reports of one scan: they must be git-credman scan reports of the same
    /// source (kind, commit, tree, auth path, pathspecs; the runner's local path may differ),
    /// schema version, mode and --fail-on, be exactly the shards 1..N of one N, and share no
    /// path. The summary is recomputed, duplicate groups stay per shard, and generated_at is
    /// the earliest shard's. Exits 2 with one line when they do not belong together. The
    /// result is what `git credman prune --from-report` applies.
    Merge(ReportMergeArgs),
}

/// `git credman verdicts` subcommands.
#[derive(Debug, Subcommand)]
pub enum VerdictsCommand {
    /// Merge a verdict history fetched from elsewhere into refs/credman/verdicts
    ///
    /// REV is another runner's refs/credman/verdicts, fetched (`git fetch origin
    /// refs/credman/verdicts`, then FETCH_HEAD). When one history contains the other the ref
    /// moves forward or stays; otherwise a merge commit with both as parents holds the union of
    /// their verdicts (the same verdict recorded by both counts once). Then push the ref.
    Merge(VerdictsMergeArgs),
}

/// Arguments of `git credman verdicts merge`.
#[derive(Debug, Args)]
#[command(after_long_help = VERDICTS_AFTER_HELP)]
pub struct VerdictsMergeArgs {
    /// The history to merge: a commit of another refs/credman/verdicts (FETCH_HEAD, a ref, an id)
    #[arg(value_name = "REV")]
    pub rev: String,
}

const VERDICTS_AFTER_HELP: &str = "\
Examples:
  git credman scan --record                       # each runner records its verdicts
  git push origin refs/credman/verdicts           # rejected when another runner pushed first:
  git fetch origin refs/credman/verdicts          # then fetch theirs,
  git credman verdicts merge FETCH_HEAD           # merge (both runners' verdicts are kept)
  git push origin refs/credman/verdicts           # and push again (a fast-forward now)
  git fetch origin refs/credman/verdicts:refs/credman/verdicts   # a runner that records nothing";

/// Arguments of `git credman report merge`.
#[derive(Debug, Args)]
#[command(after_long_help = MERGE_AFTER_HELP)]
pub struct ReportMergeArgs {
    /// The shard reports (`scan --shard K/N --report FILE`), all N of them, in any order
    #[arg(value_name = "FILE", required = true, num_args = 1..)]
    pub files: Vec<PathBuf>,
}

const MERGE_AFTER_HELP: &str = "\
Examples:
  git credman scan --shard 1/2 --report shard-1.json   # on one runner
  git credman scan --shard 2/2 --report shard-2.json   # on another
  git credman report merge shard-1.json shard-2.json > all.json
  git credman prune --from-report all.json";

/// Arguments of `git credman hook pre-push`.
#[derive(Debug, Args)]
pub struct PrePushArgs {
    /// The remote's name (git passes it)
    #[arg(value_name = "REMOTE", default_value = "origin")]
    pub remote: String,

    /// The remote's URL (git passes it)
    #[arg(value_name = "URL")]
    pub url: Option<String>,

    /// Also check online, within --deadline; past it the offline verdict stands
    ///
    /// Default: git config `credman.hook.online`, else false.
    #[arg(long)]
    pub online: bool,

    /// Time budget of online checks (default 20s)
    #[arg(long, value_name = "DURATION")]
    pub deadline: Option<String>,

    /// Block on these statuses (comma-separated)
    ///
    /// Default: git config `credman.hook.failOn`, else `expired_by_time,missing_token,invalid_file`.
    /// Env: GIT_CREDMAN_HOOK_FAIL_ON.
    #[arg(long, value_name = "STATUS,...")]
    pub fail_on: Option<StatusSet>,
}

/// Arguments of `git credman hook install`.
#[derive(Debug, Args)]
pub struct HookInstallArgs {
    /// Replace a pre-push hook that is not a shell script (keeping it as pre-push.credman-backup)
    #[arg(long)]
    pub force: bool,
}

/// Arguments of `git credman prune`.
#[derive(Debug, Args)]
#[command(after_long_help = PRUNE_AFTER_HELP)]
pub struct PruneArgs {
    /// What to scan and how.
    #[command(flatten)]
    pub select: SelectArgs,

    /// Remove files with these statuses (comma-separated)
    ///
    /// Default: git config `credman.pruneStatus`, else `invalidated,deactivated,expired_by_time`.
    /// Env: GIT_CREDMAN_PRUNE_STATUS. Transient and unknown statuses (`rate_limited`,
    /// `check_error`, `unknown`) and alive ones are refused unless --force.
    #[arg(long, value_name = "STATUS,...", help_heading = "Prune")]
    pub status: Option<StatusSet>,

    /// Print the plan (which files, why) and write nothing
    #[arg(long, short = 'n', help_heading = "Prune")]
    pub dry_run: bool,

    /// Review the selection on the terminal first: browse by status, see why, toggle files,
    /// confirm
    ///
    /// An overview of the statuses with counts; Enter opens one: its files with provider, masked
    /// account, reason and evidence. Space toggles a file, `a` all, `n` none (of what the filters
    /// show), `/` filters by text, `p` by provider; `c` shows exactly what will happen (the
    /// commit, quarantine, disable or delete) and the breaker's verdict, `y` does it, `q` quits
    /// and changes nothing. The review only narrows what prune selected (--status, pins and
    /// every safety check still apply), and the result is the same single action. Needs a
    /// terminal; no env or git config (a configured prompt would hang scripted runs).
    #[arg(
        long,
        short = 'i',
        conflicts_with = "from_report",
        help_heading = "Prune"
    )]
    pub interactive: bool,

    /// Remove what a reviewed JSON report selected: its results with a status in --status whose
    /// blob is still the one the report recorded
    ///
    /// Plan, review, apply: `git credman scan --report plan.json`, review plan.json, then
    /// `git credman prune --from-report plan.json`. Nothing is checked online again (the
    /// reviewed verdicts are the evidence). A file rewritten since, gone, or not in the report
    /// is kept and listed with why; the status guard and the breaker still apply. The report
    /// must come from a git tree (a scan of HEAD, a revision, the index, a --repo-url clone, or
    /// `report merge` of shards); the tree may have moved on. Repositories only; no pathspecs
    /// or --provider (narrow the report instead).
    #[arg(long, value_name = "FILE", conflicts_with_all = ["dir", "server", "pathspecs", "providers", "baseline"], help_heading = "Prune")]
    pub from_report: Option<PathBuf>,

    /// Allow transient, unknown or alive statuses and override the mass-failure breaker
    #[arg(long, help_heading = "Prune")]
    pub force: bool,

    /// Refuse (exit 3) to remove more than N files, or N% of a provider's files when it has
    /// at least 20 (default 50%)
    #[arg(long, value_name = "N|N%", help_heading = "Prune")]
    pub max_delete: Option<String>,

    /// Sign the commit even if commit.gpgSign is off
    #[arg(long, overrides_with = "no_sign", help_heading = "Signing")]
    pub sign: bool,

    /// Do not sign the commit, whatever the configuration says
    #[arg(long, overrides_with = "sign", help_heading = "Signing")]
    pub no_sign: bool,

    /// Sign in-process with this OpenSSH ed25519 private key (no agent or ssh-keygen needed)
    ///
    /// An encrypted key's passphrase comes from GIT_CREDMAN_SIGNING_KEY_PASSPHRASE.
    #[arg(long, value_name = "FILE", help_heading = "Signing")]
    pub signing_key: Option<PathBuf>,

    /// Push the branch afterwards (to REMOTE, default its upstream or origin); never forced
    ///
    /// A rejected push is retried up to 3 times: the deletion is rebuilt on the remote's new
    /// tip (dropping files whose content changed there) and signed again.
    #[arg(long, value_name = "REMOTE", num_args = 0..=1, default_missing_value = "", help_heading = "Prune")]
    pub push: Option<String>,

    /// Commit on a new branch NAME (from HEAD) instead; the current branch, index and working
    /// tree are not touched
    #[arg(long, value_name = "NAME", help_heading = "Prune")]
    pub branch: Option<String>,

    /// Prune a plain directory: move the selected files to a quarantine outside it
    #[arg(long, value_name = "PATH", help_heading = "Directory mode")]
    pub dir: Option<PathBuf>,

    /// Quarantine directory for --dir (default: `<dir>.credman-quarantine/<UTC time>/`)
    #[arg(
        long,
        value_name = "DIR",
        requires = "dir",
        conflicts_with = "purge",
        help_heading = "Directory mode"
    )]
    pub quarantine: Option<PathBuf>,

    /// With --dir, delete the selected files for real instead of moving them
    #[arg(long, requires = "dir", help_heading = "Directory mode")]
    pub purge: bool,

    /// Server mode.
    #[command(flatten)]
    pub server: ServerArgs,

    /// Remote repository mode.
    #[command(flatten)]
    pub remote: RemoteArgs,

    /// Baseline and pins.
    #[command(flatten)]
    pub pins: PinArgs,

    /// Notifications.
    #[command(flatten)]
    pub notify: NotifyArgs,
    /// N-strikes: recording verdicts.
    #[command(flatten)]
    pub record: RecordArgs,

    /// Remove only credentials dead in their last N recorded verdicts (1-8)
    ///
    /// A credential is removed only when its last N or more verdicts recorded in
    /// refs/credman/verdicts (see --record; this run counts as the newest when it records) are
    /// all dead, the first and the last of them at least --spacing apart. Any other verdict in
    /// between (alive, rate-limited, unknown: a one-off outage) starts the count again. Kept
    /// files are listed with why ("2 of 3 strikes"); the report and the commit cite the
    /// verdicts. Pins, the status guard and the breaker still apply. Default: git config
    /// `credman.strikes`, else off. Env: GIT_CREDMAN_STRIKES.
    #[arg(long, value_name = "N", help_heading = "Strikes")]
    pub strikes: Option<String>,

    /// With --strikes: how far apart the first and last dead verdicts must be (e.g. 6h, 2d)
    ///
    /// A number with `s`, `m`, `h` or `d` (seconds without one), at most 365d. Default: git
    /// config `credman.spacing`, else 0 (N verdicts suffice). Env: GIT_CREDMAN_SPACING.
    #[arg(long, value_name = "DURATION", help_heading = "Strikes")]
    pub spacing: Option<String>,

    /// With --server, delete the files (after backing each one up locally) instead of disabling
    #[arg(long, requires = "server", help_heading = "Server mode")]
    pub delete: bool,

    /// With --server, re-enable these files (undoes a disable) and do nothing else
    #[arg(long, value_name = "NAME", num_args = 1.., requires = "server", conflicts_with = "delete", help_heading = "Server mode")]
    pub enable: Vec<String>,

    /// With --server, also disable the `usage_limited` files until their limit resets
    ///
    /// git-credman writes a `credman_quota` field (who, when, until when) into each file it
    /// disables, through CPA's `PATCH /auth-files/fields`, so that --reenable-at-reset undoes
    /// only its own disables, never an operator's. Files without a known reset time, pinned
    /// files and sub-folder files are left alone. Default: `credman.disableExhausted`, else
    /// false. Env: GIT_CREDMAN_DISABLE_EXHAUSTED.
    #[arg(
        long,
        requires = "server",
        conflicts_with = "delete",
        help_heading = "Server mode"
    )]
    pub disable_exhausted: bool,

    /// With --server, re-enable the files git-credman disabled for their quota once the reset
    /// time has passed (and clear its field)
    ///
    /// The report's `next_reset_at` says when to run again. Default:
    /// `credman.reenableAtReset`, else false. Env: GIT_CREDMAN_REENABLE_AT_RESET.
    #[arg(
        long,
        requires = "server",
        conflicts_with = "delete",
        help_heading = "Server mode"
    )]
    pub reenable_at_reset: bool,

    /// Backup directory for --server --delete (default ./credman-backup/<UTC time>/)
    #[arg(
        long,
        value_name = "DIR",
        requires = "delete",
        help_heading = "Server mode"
    )]
    pub backup_dir: Option<PathBuf>,

    /// Output format on stdout
    #[arg(long, value_enum, value_name = "FORMAT", help_heading = "Output")]
    pub format: Option<Format>,

    /// Also write the JSON report to FILE (mode 0600, written atomically)
    #[arg(long, value_name = "FILE", help_heading = "Output")]
    pub report: Option<PathBuf>,
}

/// Arguments of `git credman show`.
#[derive(Debug, Args)]
pub struct ShowArgs {
    /// The prune commit (default HEAD)
    #[arg(value_name = "REV", default_value = "HEAD")]
    pub rev: String,

    /// Output format on stdout
    #[arg(long, value_enum, value_name = "FORMAT")]
    pub format: Option<Format>,
}

/// Arguments of `git credman restore`.
#[derive(Debug, Args)]
pub struct RestoreArgs {
    /// The prune commit whose removals to undo
    #[arg(value_name = "REV")]
    pub rev: String,

    /// Only these paths (default: every file REV removed)
    #[arg(value_name = "PATH")]
    pub paths: Vec<String>,

    /// Sign the commit even if commit.gpgSign is off
    #[arg(long, overrides_with = "no_sign")]
    pub sign: bool,

    /// Do not sign the commit
    #[arg(long, overrides_with = "sign")]
    pub no_sign: bool,

    /// Sign in-process with this OpenSSH ed25519 private key
    #[arg(long, value_name = "FILE")]
    pub signing_key: Option<PathBuf>,
}

const PRUNE_AFTER_HELP: &str = "\
Exit status:
  0  done, or nothing to remove, or --dry-run
  2  error: nothing was changed, unless the message says the local commit was made
     (e.g. the push failed afterwards)
  3  the mass-failure breaker tripped (nothing was changed); see --max-delete

Examples:
  git credman prune --dry-run
  git credman prune --status expired_by_time,missing_token --offline
  git credman prune --sign --signing-key ~/.ssh/credman_ed25519
  git credman prune --branch credman/cleanup --push
  git credman prune --from-report plan.json
  git credman prune --dir /srv/cpa/auths";

/// Which credentials to look at and how to check them; shared by `scan` and `prune`.
#[derive(Debug, Args)]
pub struct SelectArgs {
    /// Limit to these paths or globs (relative to the current directory)
    ///
    /// A directory selects every *.json below it; a file is selected by name; `*`, `?` and
    /// `[...]` are globs in which `*` also matches `/`, as in git pathspecs; git's magic
    /// `:(glob)` (`*` stops at `/`, `**` spans directories), `:(literal)`, `:(top)` and `:/`
    /// work too. A pathspec that matches nothing is an error (exit 2), as in git. Without
    /// pathspecs, the auth path (see --auth-path) is used when the tree has it, otherwise
    /// every *.json that looks like a credential (a string `type` plus a token field).
    #[arg(value_name = "PATHSPEC")]
    pub pathspecs: Vec<String>,

    /// Do not contact any provider; decide from the files alone
    ///
    /// Without it, every credential that is alive offline is checked at its provider: codex,
    /// claude, kimi and xai by a free usage/billing request with the access token, antigravity
    /// and gemini by Google's tokeninfo (and one refresh, which does not rotate Google tokens).
    /// Rotating refresh tokens are never redeemed.
    #[arg(long, help_heading = "Selection")]
    pub offline: bool,

    /// The directory of the tree that holds the auth files
    ///
    /// Default: git config `credman.path`, else `auths`.
    /// Env: GIT_CREDMAN_PATH. `--auth-subdir` (the predecessor's name) is an alias.
    #[arg(
        long,
        value_name = "PATH",
        alias = "auth-subdir",
        help_heading = "Selection"
    )]
    pub auth_path: Option<String>,

    /// Show emails unmasked in reports (file names, which CPA builds from the email, are printed as
    /// they are)
    ///
    /// Default: git config `credman.showIdentities`, else false.
    /// Env: GIT_CREDMAN_SHOW_IDENTITIES.
    #[arg(long, help_heading = "Selection")]
    pub show_identities: bool,

    /// Reader threads (default: one per core)
    #[arg(long, value_name = "N", help_heading = "Selection")]
    pub jobs: Option<usize>,

    /// Only look at credentials of this provider (can be repeated)
    ///
    /// E.g. `--provider codex` for the predecessor's codex-only usage check.
    #[arg(long = "provider", value_name = "NAME", help_heading = "Selection")]
    pub providers: Vec<String>,

    /// Options of online checks.
    #[command(flatten)]
    pub online: OnlineArgs,
}

/// The output formats of `history`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum HistoryFormat {
    /// One line per exposed credential.
    Text,
    /// The JSON history report.
    Json,
}

/// Arguments of `git credman history`.
#[derive(Debug, Args)]
pub struct HistoryArgs {
    /// What to look at and how.
    #[command(flatten)]
    pub select: SelectArgs,

    /// Walk every reference (branches, tags, remote-tracking branches), not only HEAD
    ///
    /// Default: git config `credman.historyAll`, else false. Env: GIT_CREDMAN_HISTORY_ALL.
    #[arg(long, help_heading = "History")]
    pub all: bool,

    /// Only look at commits authored at or after DATE (`YYYY-MM-DD` or RFC 3339)
    ///
    /// Default: git config `credman.historySince`, else the whole history.
    /// Env: GIT_CREDMAN_HISTORY_SINCE.
    #[arg(long, value_name = "DATE", help_heading = "History")]
    pub since: Option<String>,

    /// Output format on stdout
    ///
    /// Default: git config `credman.historyFormat`, else `text`. Env: GIT_CREDMAN_HISTORY_FORMAT.
    #[arg(long, value_enum, value_name = "FORMAT", help_heading = "Output")]
    pub format: Option<HistoryFormat>,
}

/// The output formats of `doctor`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum DoctorFormat {
    /// One line per provider.
    Text,
    /// The JSON doctor report.
    Json,
}

/// Arguments of `git credman doctor`.
#[derive(Debug, Args)]
pub struct DoctorArgs {
    /// Only check this provider (can be repeated)
    ///
    /// One of codex, antigravity, gemini, claude, kimi, xai.
    #[arg(long = "provider", value_name = "NAME")]
    pub providers: Vec<String>,

    /// Output format on stdout
    ///
    /// Default: git config `credman.doctorFormat`, else `text`. Env: GIT_CREDMAN_DOCTOR_FORMAT.
    #[arg(long, value_enum, value_name = "FORMAT", help_heading = "Output")]
    pub format: Option<DoctorFormat>,

    /// Options of the requests (endpoints, proxy, timeouts).
    #[command(flatten)]
    pub online: OnlineArgs,
}

const DOCTOR_AFTER_HELP: &str = "\
Exit status:
  0  every provider checked answers as the rules expect
  1  drift: some provider answers differently (CI should fail)
  2  error: bad usage or configuration
  4  no drift, but some provider could not be checked (network, 5xx, 429)

Examples:
  git credman doctor
  git credman doctor --provider codex --format json
  git credman doctor --endpoint https://chatgpt.com=http://127.0.0.1:8080";

/// Notifications after a run (`scan` and `prune`).
#[derive(Debug, Args)]
#[command(next_help_heading = "Notifications")]
pub struct NotifyArgs {
    /// After the run, send a short summary to TARGET: `telegram`, `webhook` or `none` (can be
    /// repeated, or comma-separated)
    ///
    /// Counts by status, removed files, the commit, the breaker's verdict, the duration and
    /// the source; never a token, and file names only with --show-identities. Telegram: the
    /// bot token from GIT_CREDMAN_TELEGRAM_TOKEN or the file named by git config
    /// `credman.telegramTokenFile` (never the command line), the chat from
    /// `credman.telegramChat`. Webhook: a JSON POST to `credman.webhookUrl`, signed
    /// (X-Credman-Signature: sha256=HMAC) when GIT_CREDMAN_WEBHOOK_SECRET or
    /// `credman.webhookSecretFile` is set. A failed delivery is reported on stderr and in the
    /// report's `notifications` and does not change the exit code. Default: git config
    /// `credman.notify`, else none. Env: GIT_CREDMAN_NOTIFY.
    #[arg(long = "notify", value_name = "TARGET")]
    pub notify: Vec<String>,

    /// When to send: `dead` (something is dead or the breaker tripped), `always`,
    /// `alive-below:N` or `alive-below:PCT%` (comma-separated: any of them)
    ///
    /// Default: git config `credman.notifyWhen`, else `dead`. Env: GIT_CREDMAN_NOTIFY_WHEN.
    #[arg(long, value_name = "WHEN")]
    pub notify_when: Option<String>,
}

/// Baseline and pins (`scan` and `prune`).
#[derive(Debug, Args)]
#[command(next_help_heading = "Baseline and pins")]
pub struct PinArgs {
    /// Act only on credentials whose status changed since REPORT (a previous JSON scan report)
    ///
    /// A file is unchanged when REPORT has it with the same status at the same path and
    /// fingerprint, or with the same fingerprint or identity (account) at another path (a
    /// rename, a CPA refresh). New files, other accounts and files with another status are
    /// changed. Unchanged files are left out of the report and the exit code, and prune keeps
    /// them. REPORT must be a scan of the same kind of source (a git tree, a folder, a server)
    /// written without --baseline. Default: git config `credman.baseline`, else none.
    /// Env: GIT_CREDMAN_BASELINE.
    #[arg(long, value_name = "REPORT")]
    pub baseline: Option<PathBuf>,

    /// Read pins from FILE: files prune never touches
    ///
    /// One pin per line: a gitignore-like path glob, a fingerprint (`fp:0123456789ab`) or an
    /// identity (`id:0123456789ab`, survives a token refresh), then an optional `# comment`. Pinned files are still reported (with the comment as `pinned`) but never make the exit
    /// code 1. Default: git config `credman.ignoreFile` (relative to the root), else
    /// `.credmanignore` at the root of the repository's working tree or the folder (none in
    /// server mode). Env: GIT_CREDMAN_IGNORE_FILE. A malformed line is an error (exit 2).
    #[arg(long, value_name = "FILE")]
    pub ignore_file: Option<PathBuf>,
}

/// Recording verdicts for N-strikes (`scan --record`, `prune --record`).
#[derive(Debug, Args)]
pub struct RecordArgs {
    /// Record this run's verdicts in refs/credman/verdicts (what prune --strikes counts)
    ///
    /// One commit per run on refs/credman/verdicts of the repository (the scanned one; with
    /// --dir or --server, the one around the current directory) keeps each credential's last
    /// verdicts (status, HTTP status, reason, time), by identity, else token fingerprint, else
    /// path. Push and fetch it like any ref (`git push origin refs/credman/verdicts`); `git
    /// credman verdicts merge REV` joins a history fetched from another runner. A prune records
    /// only when it writes (not with --dry-run). Default: git config `credman.record`, else
    /// off. Env: GIT_CREDMAN_RECORD.
    #[arg(long, help_heading = "Strikes")]
    pub record: bool,
}

/// Server mode: credentials loaded by a running CLIProxyAPI, through its Management API.
#[derive(Debug, Args)]
#[command(next_help_heading = "Server mode")]
pub struct ServerArgs {
    /// Work on the credentials a running CLIProxyAPI has loaded (e.g. http://127.0.0.1:8317)
    ///
    /// The management key comes from GIT_CREDMAN_MANAGEMENT_KEY, --management-key-file, or git
    /// config `credman.managementKeyFile` (never the command line). It is checked once first: CPA
    /// bans an IP for 30 minutes after 5 failed keys. Checks are relayed through CPA's
    /// `api-call` (git-credman never holds the tokens) with at most 8 in flight by default.
    #[arg(long, value_name = "URL")]
    pub server: Option<String>,

    /// Read the management key from FILE
    #[arg(long, value_name = "FILE", requires = "server")]
    pub management_key_file: Option<PathBuf>,

    /// Download every file and check it directly, with the full offline analysis
    #[arg(long, requires = "server")]
    pub download: bool,
}

/// Remote repository mode: clone an auth repository first (for servers and cron jobs without a
/// checkout).
#[derive(Debug, Args)]
#[command(next_help_heading = "Remote repository mode")]
pub struct RemoteArgs {
    /// Clone this repository (https, ssh or file URL) and work on the clone
    ///
    /// HTTPS tokens come from GIT_CREDMAN_GIT_TOKEN (user GIT_CREDMAN_GIT_USER, default
    /// x-access-token) and never appear in a URL, argv or .git/config; they are sent over plain
    /// http:// only to loopback addresses. Without a token or --git-key, git's own credential
    /// helpers and ssh setup apply. The clone lives in a private temporary directory that is
    /// removed afterwards, unless --workdir.
    #[arg(long, value_name = "URL")]
    pub repo_url: Option<String>,

    /// Branch to check out (default: the remote's HEAD branch)
    #[arg(long, value_name = "BRANCH", requires = "repo_url")]
    pub repo_branch: Option<String>,

    /// Use only this SSH private key (IdentitiesOnly=yes, BatchMode=yes)
    #[arg(long, value_name = "FILE", requires = "repo_url")]
    pub git_key: Option<PathBuf>,

    /// Pass `-o OPTION` to ssh, e.g. StrictHostKeyChecking=accept-new (can be repeated)
    #[arg(long, value_name = "OPTION", requires = "repo_url")]
    pub ssh_option: Vec<String>,

    /// Keep the clone in DIR and reuse it next time (fetched and fast-forwarded); a DIR with
    /// local changes or another remote is refused, never wiped
    #[arg(long, value_name = "DIR", requires = "repo_url")]
    pub workdir: Option<PathBuf>,
}

/// Arguments of `git credman scan`.
#[derive(Debug, Args)]
#[command(after_long_help = SCAN_AFTER_HELP)]
pub struct ScanArgs {
    /// What to scan and how.
    #[command(flatten)]
    pub select: SelectArgs,

    /// Scan the index (staged content) instead of HEAD
    #[arg(long, group = "source", help_heading = "Source")]
    pub staged: bool,

    /// Scan the tree of REV (a commit, branch, tag or tree) instead of HEAD
    #[arg(long, value_name = "REV", group = "source", help_heading = "Source")]
    pub rev: Option<String>,

    /// Scan a plain directory recursively instead of a git repository
    ///
    /// Every *.json below PATH counts as a credential. Symlinks are reported, never followed.
    #[arg(long, value_name = "PATH", group = "source", help_heading = "Source")]
    pub dir: Option<PathBuf>,

    /// Scan only shard K of N (1-based): the files whose path hashes to K
    ///
    /// Stable across runs and machines: a file is in shard (first 8 bytes of SHA-256(path),
    /// big-endian, mod N) + 1, so N jobs of a CI matrix scan disjoint sets that together are
    /// the whole tree. Join their reports with `git credman report merge`. Duplicates are found
    /// within a shard only. Command line only (no env or config: it differs per job).
    #[arg(
        long,
        value_name = "K/N",
        conflicts_with = "server",
        help_heading = "Source"
    )]
    pub shard: Option<String>,

    /// Server mode.
    #[command(flatten)]
    pub server: ServerArgs,

    /// Remote repository mode.
    #[command(flatten)]
    pub remote: RemoteArgs,

    /// Baseline and pins.
    #[command(flatten)]
    pub pins: PinArgs,

    /// Notifications.
    #[command(flatten)]
    pub notify: NotifyArgs,
    /// N-strikes: recording verdicts.
    #[command(flatten)]
    pub record: RecordArgs,

    /// Output format on stdout
    ///
    /// Default: git config `credman.format`, else `text`. Env: GIT_CREDMAN_FORMAT.
    #[arg(long, value_enum, value_name = "FORMAT", help_heading = "Output")]
    pub format: Option<Format>,

    /// Also write the JSON report to FILE (mode 0600, written atomically)
    #[arg(long, value_name = "FILE", help_heading = "Output")]
    pub report: Option<PathBuf>,

    /// Exit 1 when a file has one of these statuses (comma-separated)
    ///
    /// Class names `dead`, `transient` and `alive` expand to their statuses; `none` never
    /// fails. Default: git config `credman.failOn`, else
    /// `invalidated,deactivated,expired_by_time,unauthorized,missing_token,invalid_file`.
    /// Env: GIT_CREDMAN_FAIL_ON.
    #[arg(long, value_name = "STATUS,...", help_heading = "Output")]
    pub fail_on: Option<StatusSet>,

    /// List every file in the text report (default: at most 40 lines per section, the summary
    /// first; the JSON report always has every file)
    #[arg(long, help_heading = "Output")]
    pub all: bool,

    /// Add each credential's usage windows to the text report, fullest first, and when the
    /// next limit resets
    ///
    /// Codex windows are named by their length (`5h`, `7d`), claude's by theirs (`5h`, `7d`,
    /// `7d-opus`), with the used share and reset time. The JSON report always has them
    /// (`quota`, `next_reset_at`). Needs the online check. Default: git config `credman.quota`,
    /// else false. Env: GIT_CREDMAN_QUOTA.
    #[arg(long, conflicts_with = "offline", help_heading = "Output")]
    pub quota: bool,
}

/// Options of online checks (ignored with --offline).
#[derive(Debug, Args)]
#[command(next_help_heading = "Online checks")]
pub struct OnlineArgs {
    /// Requests in flight at most
    ///
    /// Default: git config `credman.concurrency`, else 64. Env: GIT_CREDMAN_CONCURRENCY.
    #[arg(long, value_name = "N")]
    pub concurrency: Option<usize>,

    /// Requests in flight per provider origin (counted before redirection)
    ///
    /// An origin that answers 429 gets its limit halved for the rest of the run.
    /// Default: `credman.perHost`, else the --concurrency value. Env: GIT_CREDMAN_PER_HOST.
    #[arg(long, value_name = "N")]
    pub per_host: Option<usize>,

    /// Timeout of one request in seconds
    ///
    /// Default: `credman.timeout`, else 35. Env: GIT_CREDMAN_TIMEOUT.
    #[arg(long, value_name = "SECS")]
    pub timeout: Option<f64>,

    /// Retries of a transient failure (429, 5xx, timeout, connection error, HTML page)
    ///
    /// Backoff is exponential with jitter and honours Retry-After.
    /// Default: `credman.retries`, else 2. Env: GIT_CREDMAN_RETRIES.
    #[arg(long, value_name = "N")]
    pub retries: Option<u32>,

    /// Time budget for all checks (e.g. 90, 90s, 5m); what is left becomes check_error
    ///
    /// Default: `credman.deadline`, else none. Env: GIT_CREDMAN_DEADLINE.
    #[arg(long, value_name = "DURATION")]
    pub deadline: Option<String>,

    /// Send requests for ORIGIN to URL instead (can be repeated)
    ///
    /// `https://chatgpt.com=http://127.0.0.1:8080/cg` sends `/backend-api/wham/usage` to
    /// `http://127.0.0.1:8080/cg/backend-api/wham/usage`. Also GIT_CREDMAN_ENDPOINTS
    /// (comma-separated) and git config `credman.endpoint` (multi-valued); flag beats env beats
    /// config, per origin.
    #[arg(long = "endpoint", value_name = "ORIGIN=URL")]
    pub endpoints: Vec<String>,

    /// Proxy for every request (a file's own proxy_url wins)
    ///
    /// Default: GIT_CREDMAN_PROXY, `credman.proxy`, else HTTPS_PROXY/ALL_PROXY. Prefer the
    /// environment when the URL carries a password.
    #[arg(long, value_name = "URL")]
    pub proxy: Option<String>,

    /// Which codex probe to use
    ///
    /// `usage` (default) asks the free usage endpoint; `responses` sends a one-word model
    /// request like the predecessor did (spends a little quota).
    #[arg(long, value_enum, value_name = "PROBE")]
    pub codex_probe: Option<crate::providers::CodexProbe>,

    /// Model for `--codex-probe responses` (default gpt-5)
    #[arg(long, value_name = "MODEL")]
    pub codex_model: Option<String>,

    /// Call an alive credential `usage_limited` once a usage window is PCT % used
    ///
    /// Codex and claude report their windows (5 h, 7 d, …) with the check; without this only a
    /// window at 100 % (or the provider's own flag) is `usage_limited`. An exhausted credential
    /// is alive: prune never removes it unless asked (`--status usage_limited --force`).
    /// Default: `credman.quotaThreshold`, else none. Env: GIT_CREDMAN_QUOTA_THRESHOLD.
    #[arg(long, value_name = "PCT")]
    pub quota_threshold: Option<String>,
    /// A credential file known to be alive, checked first (can be repeated)
    ///
    /// When a provider's canary is not alive, every dead verdict of that provider in the run
    /// becomes `unknown` (the reason names the canary) and prune's breaker refuses (exit 3).
    /// Relative paths are relative to the current directory. Default: GIT_CREDMAN_CANARY
    /// (paths separated like PATH), else git config `credman.canary` (multi-valued).
    #[arg(long = "canary", value_name = "PATH")]
    pub canaries: Vec<PathBuf>,
}

const SCAN_AFTER_HELP: &str = "\
Statuses (class):
  active, usage_limited, unverified, expired_refreshable   (alive)
  invalidated, deactivated, expired_by_time, unauthorized,
  missing_token                                            (dead)
  rate_limited, check_error                                (transient)
  unknown, invalid_file                                    (unknown)

Exit status:
  0  no file has a status in the fail set
  1  some file has a status in the fail set
  2  error: bad usage, not a repository, unreadable source

Examples:
  git credman scan --offline
  git credman scan --offline --staged
  git credman scan --offline --rev origin/main auths/codex-*
  git credman scan --offline --dir /srv/cpa/auths --format json --report report.json
  git credman scan --provider codex --concurrency 128
  git credman scan --endpoint https://chatgpt.com=http://127.0.0.1:8080";

#[cfg(test)]
mod tests {
    use super::*;
    use clap::CommandFactory as _;

    #[test]
    fn cli_is_consistent() {
        Cli::command().debug_assert();
    }

    #[test]
    fn sources_are_exclusive() {
        let err =
            Cli::try_parse_from(["git-credman", "scan", "--staged", "--rev", "HEAD"]).unwrap_err();
        assert_eq!(err.kind(), clap::error::ErrorKind::ArgumentConflict);
    }

    #[test]
    fn auth_subdir_is_an_alias_of_auth_path() {
        let cli = Cli::try_parse_from(["git-credman", "prune", "--auth-subdir", "pool"]).unwrap();
        let Command::Prune(args) = cli.command else {
            panic!("prune")
        };
        assert_eq!(args.select.auth_path.as_deref(), Some("pool"));
    }

    #[test]
    fn fail_on_is_validated_by_clap() {
        let err = Cli::try_parse_from(["git-credman", "scan", "--fail-on", "bogus"]).unwrap_err();
        assert!(err.to_string().contains("unknown status 'bogus'"));
    }

    /// The README documents every flag of every command, and every value of a flag with a fixed
    /// set of values (issue #12 item 12): checked against the clap definitions.
    #[test]
    fn readme_documents_every_flag_and_value() {
        let readme = include_str!("../README.md");
        let mut missing = Vec::new();
        let cli = Cli::command();
        let mut commands: Vec<&clap::Command> = vec![&cli];
        let mut i = 0;
        while i < commands.len() {
            let c = commands[i];
            commands.extend(c.get_subcommands().filter(|s| s.get_name() != "help"));
            i += 1;
        }
        for c in commands {
            for arg in c.get_arguments() {
                let Some(long) = arg.get_long() else { continue };
                if matches!(long, "help" | "version") {
                    continue;
                }
                if !readme.contains(&format!("--{long}")) {
                    missing.push(format!("{} --{long}", c.get_name()));
                }
                for v in arg.get_possible_values() {
                    let name = v.get_name();
                    if matches!(name, "true" | "false") {
                        continue;
                    }
                    if !readme.contains(&format!("`{name}`"))
                        && !readme.contains(&format!("|{name}"))
                        && !readme.contains(&format!("{name}\\|"))
                    {
                        missing.push(format!("{} --{long} value {name}", c.get_name()));
                    }
                }
            }
        }
        assert!(missing.is_empty(), "README lacks: {missing:#?}");
    }
}
