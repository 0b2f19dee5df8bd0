//! `git credman hook pre-push|install|uninstall`: the pre-push gate. Read-only toward the
//! repository: it reports and exits non-zero; it never commits or moves refs. Pins hold: a
//! pinned file never blocks (it is listed as pinned); the pins are each pushed tip's committed
//! `.credmanignore`, or a file named by env or git config (see `tip_pins`).

use std::collections::BTreeSet;
use std::io::Read as _;
use std::path::PathBuf;
use std::sync::Arc;

use anyhow::{Context as _, bail};

use super::Ctx;
use super::{config_of, open_repo};
use crate::cli::{GlobalArgs, HookCommand, HookInstallArgs, PrePushArgs};
use crate::exit::Outcome;
use crate::git::Repo;
use crate::hook::{self, Install};
use crate::report::Finding;
use crate::scan::classify;
use crate::settings::{self, GitConfig, SelectSettings};
use crate::source::{self, Selection};
use crate::status::{Class, Status};

/// The default statuses that block a push.
pub const DEFAULT_HOOK_FAIL_ON: [Status; 3] = [
    Status::ExpiredByTime,
    Status::MissingToken,
    Status::InvalidFile,
];

/// Runs a `hook` subcommand.
pub fn run(
    command: &HookCommand,
    global: &GlobalArgs,
    ctx: &mut Ctx<'_>,
) -> anyhow::Result<Outcome> {
    match command {
        HookCommand::PrePush(args) => pre_push(args, global, ctx),
        HookCommand::Install(args) => install(args, ctx),
        HookCommand::Uninstall => uninstall(ctx),
    }
}

fn hooks_dir(repo: &Repo, config: &GitConfig) -> PathBuf {
    match settings::hooks_path(config) {
        Some(p) => {
            let p = PathBuf::from(p);
            if p.is_absolute() {
                p
            } else {
                repo.workdir().unwrap_or_else(|| repo.git_dir()).join(p)
            }
        }
        // git runs hooks from the common directory, also from linked worktrees.
        None => repo.common_dir().join("hooks"),
    }
}

/// Where git-credman's lines go: the `pre-push` file of the hooks directory, except when that
/// directory is husky's generated `.husky/_` (husky 9 sets `core.hooksPath` there and rewrites it
/// on every `npm install`): then husky's own, committed `.husky/pre-push`, which the generated
/// hook runs. Returns the file and whether it is husky's.
fn pre_push_file(repo: &Repo, config: &GitConfig) -> (PathBuf, bool) {
    let dir = hooks_dir(repo, config);
    let runner = dir.join("h").is_file() || dir.join("husky.sh").is_file();
    let name = dir.file_name().and_then(|n| n.to_str());
    match dir.parent() {
        Some(parent) if hook::is_husky_generated(name, runner) => (parent.join("pre-push"), true),
        _ => (dir.join("pre-push"), false),
    }
}

fn write_executable(path: &std::path::Path, content: &str) -> anyhow::Result<()> {
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir).with_context(|| format!("cannot create {}", dir.display()))?;
    }
    crate::fs::write_atomic_mode(path, content.as_bytes(), 0o755)
}

fn install(args: &HookInstallArgs, ctx: &mut Ctx<'_>) -> anyhow::Result<Outcome> {
    let repo = open_repo(
        &ctx.env,
        &ctx.cwd,
        true,
        "the pre-push gate lives in a repository: run it inside one (or pass -C PATH)",
    )?
    .context("invariant: repository required")?;
    let (path, husky) = pre_push_file(&repo, &config_of(Some(&repo), &ctx.env)?);
    let message = match std::fs::read(&path) {
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            write_executable(&path, &hook::new_hook())?;
            format!("Installed the pre-push gate: {}", path.display())
        }
        Err(e) => {
            return Err(anyhow::Error::from(e).context(format!("cannot read {}", path.display())));
        }
        Ok(bytes) => {
            let existing = String::from_utf8_lossy(&bytes).into_owned();
            let plan = if husky {
                hook::install_into_husky(&existing)
            } else {
                hook::install_into(&existing)
            };
            match plan {
                Install::Unchanged => {
                    format!("The pre-push gate is already installed: {}", path.display())
                }
                Install::Write(new) => {
                    write_executable(&path, &new)?;
                    format!(
                        "Added the pre-push gate to the existing hook {} (between marker lines).",
                        path.display()
                    )
                }
                Install::Foreign if args.force => {
                    let backup = path.with_file_name("pre-push.credman-backup");
                    std::fs::rename(&path, &backup)
                        .with_context(|| format!("cannot move {} aside", path.display()))?;
                    write_executable(&path, &hook::new_hook())?;
                    format!(
                        "Replaced {} (kept as {}).",
                        path.display(),
                        backup.display()
                    )
                }
                Install::Foreign => bail!(
                    "{} exists and is not a shell script, so git-credman cannot add a line to it; \
                     call `git credman hook pre-push \"$@\"` from it yourself, or use --force to replace it (it is kept as a backup)",
                    path.display()
                ),
            }
        }
    };
    ctx.status.line(&message)?;
    if husky {
        ctx.status.line(
            "husky manages this repository's hooks: the gate is in husky's own hook file, which \
             survives `npm install`; commit it so that every clone gets it.",
        )?;
    }
    Ok(Outcome::Clean)
}

fn uninstall(ctx: &mut Ctx<'_>) -> anyhow::Result<Outcome> {
    let repo = open_repo(
        &ctx.env,
        &ctx.cwd,
        true,
        "the pre-push gate lives in a repository: run it inside one (or pass -C PATH)",
    )?
    .context("invariant: repository required")?;
    let (path, _) = pre_push_file(&repo, &config_of(Some(&repo), &ctx.env)?);
    let Ok(bytes) = std::fs::read(&path) else {
        ctx.status.line("No pre-push hook is installed.")?;
        return Ok(Outcome::Clean);
    };
    let (rest, had) = hook::remove_block(&String::from_utf8_lossy(&bytes));
    let message = if !had {
        "The pre-push hook has no git-credman lines; nothing to remove.".to_owned()
    } else if hook::is_empty_hook(&rest) {
        std::fs::remove_file(&path)?;
        format!("Removed {}.", path.display())
    } else {
        write_executable(&path, &rest)?;
        format!(
            "Removed git-credman's lines from {}; the rest of the hook is kept.",
            path.display()
        )
    };
    ctx.status.line(&message)?;
    Ok(Outcome::Clean)
}

fn pre_push(args: &PrePushArgs, global: &GlobalArgs, ctx: &mut Ctx<'_>) -> anyhow::Result<Outcome> {
    // `prune --push` pushes with this set: its own commit must not be gated by itself.
    if settings::in_own_push(&ctx.env) {
        return Ok(Outcome::Clean);
    }
    let mut input = String::new();
    std::io::stdin()
        .read_to_string(&mut input)
        .context("cannot read the pre-push lines from stdin")?;
    let repo = open_repo(
        &ctx.env,
        &ctx.cwd,
        true,
        "the pre-push gate lives in a repository: run it inside one (or pass -C PATH)",
    )?
    .context("invariant: repository required")?;
    let mut refs = hook::parse_pre_push(&input)?;
    let mut remote_name = args.remote.clone();
    // Hide nothing the remote has: every credential file the pushed history touched and the tip
    // holds is checked (a manual run without an upstream).
    let mut hide_nothing = false;
    // The pre-commit framework gives no stdin: it says what it pushes in PRE_COMMIT_* variables,
    // for the first ref of a push only (see `settings::PreCommit`).
    if refs.is_empty()
        && let Some(pc) = settings::pre_commit(&ctx.env)
    {
        let null = |id: crate::git::ObjectId| crate::git::ObjectId::null(id.kind());
        match pc {
            settings::PreCommit::Range(pc) => {
                let local = repo.commit_info(&pc.to)?.id;
                let remote = match &pc.from {
                    Some(from) => repo.commit_info(from).map_or(null(local), |c| c.id),
                    None => null(local),
                };
                if let Some(name) = pc.remote_name {
                    remote_name = name;
                }
                refs.push(hook::PushedRef {
                    local_ref: pc.to,
                    local,
                    remote_ref: pc.remote_branch,
                    remote,
                });
                ctx.status.line(PRE_COMMIT_ONE_REF)?;
            }
            settings::PreCommit::NewBranch {
                local_branch,
                remote_branch,
                remote_name: name,
            } => {
                let local = repo.commit_info(&local_branch)?.id;
                if let Some(name) = name {
                    remote_name = name;
                }
                ctx.status.line(&format!(
                    "git-credman: pre-commit gave no range for {local_branch} (a new branch whose \
                     history includes a root commit): checking it as a new ref."
                ))?;
                ctx.status.line(PRE_COMMIT_ONE_REF)?;
                refs.push(hook::PushedRef {
                    local_ref: local_branch,
                    local,
                    remote_ref: remote_branch,
                    remote: null(local),
                });
            }
            settings::PreCommit::Manual => {
                let head = repo.branch_head()?;
                let config = config_of(Some(&repo), &ctx.env)?;
                let (up_remote, up_merge) = settings::upstream_of(&config, &head.short);
                let upstream = up_remote.zip(up_merge).and_then(|(remote, merge)| {
                    let branch = merge.strip_prefix("refs/heads/")?.to_owned();
                    let tracking = format!("refs/remotes/{remote}/{branch}");
                    let tip = repo.commit_info(&tracking).ok()?.id;
                    Some((remote, tracking, tip))
                });
                let remote = match upstream {
                    Some((remote, tracking, tip)) => {
                        ctx.status.line(&format!(
                            "git-credman: no refs given (a manual run): checking HEAD ({}) \
                             against its upstream {tracking}.",
                            head.short
                        ))?;
                        remote_name = remote;
                        tip
                    }
                    None => {
                        ctx.status.line(&format!(
                            "git-credman: no refs given (a manual run) and HEAD ({}) has no \
                             upstream: checking every tracked credential file at HEAD.",
                            head.short
                        ))?;
                        hide_nothing = true;
                        null(head.commit)
                    }
                };
                refs.push(hook::PushedRef {
                    local_ref: head.name,
                    local: head.commit,
                    remote_ref: "HEAD".into(),
                    remote,
                });
            }
        }
    }
    let config = config_of(Some(&repo), &ctx.env)?;
    let (fail_on, online) = settings::hook(
        args.fail_on.as_ref(),
        args.online,
        &ctx.env,
        &config,
        &DEFAULT_HOOK_FAIL_ON,
    )?;
    let deadline = args.deadline.as_deref().unwrap_or("20s");
    let select = hook_select(
        &ctx.env,
        &config,
        online,
        deadline,
        ctx.status.draws_progress(),
    )?;
    let auth_path = select.auth_path.clone();
    // Pins: a file named by GIT_CREDMAN_IGNORE_FILE or credman.ignoreFile is read from disk,
    // once, as scan and prune read it; by default each pushed tip's own committed
    // `.credmanignore` (see `tip_pins`).
    let named_pins =
        match settings::pin_file(None, &ctx.env, &config, &ctx.cwd, repo.workdir().as_deref()) {
            settings::PinFile::Named(p) => Some(crate::pins::load(&p, true)?),
            settings::PinFile::Default(_) | settings::PinFile::None => None,
        };

    let mut checked: Vec<Finding> = Vec::new();
    let mut fell_back = 0usize;
    for r in refs.iter().filter(|r| !r.is_deletion()) {
        // Tags (annotated ones included) push the commit they name; a tag of a tree or blob
        // pushes no credentials to check.
        let Some(local) = repo.peel_to_commit(r.local) else {
            continue;
        };
        let remote_commit = if r.is_new() {
            None
        } else {
            repo.peel_to_commit(r.remote)
        };
        // Hide what the remote already has: its old tip when we have it, else every
        // remote-tracking branch of this remote (a new branch whose history is already there).
        let hidden = match remote_commit {
            Some(c) => vec![c],
            None if hide_nothing => Vec::new(),
            None => repo.remote_tips(&remote_name)?,
        };
        let commits = repo.new_commits(local, &hidden)?;
        if commits.is_empty() {
            continue;
        }
        let tip = repo.commit_info(&local.to_string())?;
        let prefix = repo
            .list_tree(tip.tree, Some(&auth_path))?
            .first()
            .map(|_| auth_path.as_str());
        let changed: BTreeSet<String> = repo.changed_paths(&commits, prefix)?;
        if changed.is_empty() {
            continue;
        }
        let sel = Selection {
            auth_path: auth_path.clone(),
            pathspecs: Vec::new(),
        };
        let listing = source::list_tree_paths(
            Arc::clone(&repo),
            tip.tree,
            tip.id,
            &r.local_ref,
            &changed,
            &sel,
        )?;
        let mut collected = classify(listing, &select, std::time::Instant::now(), false)?;
        let own;
        let pins = match &named_pins {
            Some(named) => named.as_ref(),
            None => {
                own = tip_pins(&repo, tip.tree, &r.local_ref)?;
                own.as_ref()
            }
        };
        if let Some(pins) = pins {
            pins.mark(&mut collected.scanned);
        }
        for mut s in collected.scanned {
            // Past the deadline (or on a network failure) the offline verdict stands.
            if s.online.is_some() && s.status().class() == Class::Transient {
                s.fall_back_offline();
                fell_back += 1;
            }
            checked.push(s.finding());
        }
    }
    let _ = global;
    // A pinned file never blocks (it is listed as pinned), as it never makes scan exit 1.
    let blocked: Vec<&Finding> = checked
        .iter()
        .filter(|f| f.pinned.is_none() && fail_on.contains(f.status))
        .collect();
    crate::report::human::render_pre_push(
        &checked, &blocked, &fail_on, online, fell_back, ctx.out,
    )?;
    Ok(if blocked.is_empty() {
        Outcome::Clean
    } else {
        Outcome::Findings
    })
}

/// The pins of a pushed tip: its committed `.credmanignore`, not the working tree's. The gate
/// judges what the remote will hold by the rules that travel with it (the ones a scan or prune
/// of the pushed branch in CI reads), so a pin only in the working tree, not committed, lets
/// nothing through, and each ref of a push is judged by its own file. Errors name
/// `<ref>:.credmanignore` and the line.
fn tip_pins(
    repo: &Repo,
    tree: crate::git::ObjectId,
    local_ref: &str,
) -> anyhow::Result<Option<crate::pins::Pins>> {
    let Some(blob) = repo.blob_at(tree, crate::pins::DEFAULT_FILE)? else {
        return Ok(None);
    };
    let text = repo.read_blob(blob)?;
    let shown =
        crate::report::escape(&format!("{local_ref}:{}", crate::pins::DEFAULT_FILE)).into_owned();
    Ok(Some(crate::pins::parse(
        &String::from_utf8_lossy(&text),
        &shown,
    )?))
}

/// Said whenever the pre-commit framework runs the gate for a push: it hands hooks the first
/// ref of a push only.
const PRE_COMMIT_ONE_REF: &str = "git-credman: pre-commit hands hooks only the first ref of a \
     push; other refs pushed with it are not checked. `git credman hook install` checks every ref.";

fn hook_select(
    env: &settings::Env,
    config: &GitConfig,
    online: bool,
    deadline: &str,
    progress: bool,
) -> anyhow::Result<SelectSettings> {
    let args = crate::cli::SelectArgs {
        pathspecs: Vec::new(),
        offline: !online,
        auth_path: None,
        show_identities: false,
        jobs: None,
        providers: Vec::new(),
        online: crate::cli::OnlineArgs {
            concurrency: None,
            per_host: None,
            timeout: None,
            retries: Some(0),
            deadline: Some(deadline.to_owned()),
            endpoints: Vec::new(),
            proxy: None,
            codex_probe: None,
            codex_model: None,
            quota_threshold: None,
            canaries: Vec::new(),
        },
    };
    Ok(settings::select(&args, env, config, progress)?)
}
