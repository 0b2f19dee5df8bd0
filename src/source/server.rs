//! Server mode: scan and prune the credentials a running CLIProxyAPI has loaded, through its
//! Management API. Checks are relayed through `api-call` (git-credman never holds the tokens)
//! unless `--download` fetches each file for the full offline analysis and direct probes.
//! Prune disables (reversible) by default; `--delete` backs every file up locally first.

use std::path::Path;

use chrono::Utc;

use crate::cli::ServerArgs;
use crate::credential::{self, Credential, ProviderKind, Secret};
use crate::management::{Entry, Place, Server};
use crate::report::{Finding, ServerState};
use crate::scan::{self, Collected, Scanned};
use crate::settings::{Env, GitConfig, SelectSettings};
use crate::source::{Listing, Origin, SourceInfo};
use crate::status::Status;
use crate::verdict::{self, Verdict};

/// How many relayed checks run at once by default (CPA does the real work).
const RELAY_CONCURRENCY: usize = 8;

/// Connects to the server and checks the key once.
pub(crate) fn connect(
    args: &ServerArgs,
    env: &Env,
    config: &GitConfig,
    cwd: &Path,
) -> anyhow::Result<Option<Server>> {
    let Some(url) = &args.server else {
        return Ok(None);
    };
    let key =
        crate::settings::management_key(args.management_key_file.as_deref(), env, config, cwd)?;
    let server = Server::new(url, key, std::time::Duration::from_secs(60))?;
    server.check_key()?;
    Ok(Some(server))
}

/// A credential standing for a listed entry in relay mode: `$TOKEN$` is what CPA replaces
/// with the real token when it relays the request.
fn stand_in(e: &Entry) -> Credential {
    let (kind, provider) = ProviderKind::from_type(&e.provider);
    let mut obj = serde_json::Map::new();
    obj.insert("type".into(), provider.clone().into());
    obj.insert("access_token".into(), "$TOKEN$".into());
    let mut c = Credential::from_json(&obj);
    c.kind = kind;
    c.email.clone_from(&e.email);
    c.account_id.clone_from(&e.account_id);
    c.plan.clone_from(&e.plan);
    c.disabled = e.disabled;
    c
}

fn state(e: &Entry) -> ServerState {
    ServerState {
        auth_index: e.auth_index.clone(),
        status: e.status.clone(),
        status_message: e.status_message.clone(),
        unavailable: e.unavailable,
        next_retry_after: e.next_retry_after.clone(),
    }
}

fn cpa_note(e: &Entry) -> String {
    match (&e.status, &e.status_message) {
        (Some(s), Some(m)) => format!("; CPA says {s}: {m}"),
        (Some(s), None) => format!("; CPA says {s}"),
        _ => String::new(),
    }
}

/// Lists and classifies the server's credentials (online unless `--offline`).
///
/// Relayed checks run at most 8 at a time unless `explicit_concurrency` says the user chose.
pub(crate) fn check_all(
    server: &Server,
    select: &SelectSettings,
    download: bool,
    explicit_concurrency: bool,
) -> anyhow::Result<Collected> {
    check_entries(server, select, download, explicit_concurrency).map(|(c, _)| c)
}

/// [`check_all`], also returning the listing: a scanned entry's `candidate` indexes it.
pub(crate) fn check_entries(
    server: &Server,
    select: &SelectSettings,
    download: bool,
    explicit_concurrency: bool,
) -> anyhow::Result<(Collected, Vec<Entry>)> {
    let entries = server.list()?;
    if !select.providers.is_empty() {
        let found: Vec<&str> = entries.iter().map(|e| e.provider.as_str()).collect();
        scan::check_providers(&select.providers, &found)?;
    }
    let now = Utc::now();
    let mut scanned: Vec<Scanned> = Vec::with_capacity(entries.len());
    for (i, e) in entries.iter().enumerate() {
        if !select.providers.is_empty() && !select.providers.contains(&e.provider) {
            continue;
        }
        let not_checked = |why: &str| {
            let f = plain_finding(&e.name, &e.provider, Verdict::new(Status::Unknown, why));
            (f, None, None)
        };
        let (mut finding, cred, content_id) = match (&e.place, download) {
            (Place::Untouchable(why), _) => not_checked(why),
            (Place::SubFolder, true) => not_checked(
                "in a sub-folder of the auth dir: CPA's download refuses names with '/'; \
                 scan without --download to check it through the server",
            ),
            (Place::TopLevel, true) => match server.download(&e.name) {
                Ok(bytes) => match credential::parse_json(&bytes) {
                    Ok(obj) => {
                        let cred = Credential::from_json(&obj);
                        let v = verdict::offline(&cred, now);
                        let fp = cred.primary_secret().map(Secret::fingerprint);
                        let f = scan::credential_finding(
                            &e.name,
                            None,
                            &cred,
                            v,
                            fp,
                            select.show_identities,
                        );
                        (f, Some(cred), crate::git::hash_blob(&bytes))
                    }
                    Err(err) => (
                        plain_finding(
                            &e.name,
                            &e.provider,
                            Verdict::new(Status::InvalidFile, err.to_string()),
                        ),
                        None,
                        None,
                    ),
                },
                Err(err) => (
                    plain_finding(
                        &e.name,
                        &e.provider,
                        Verdict::new(Status::CheckError, format!("cannot download: {err}")),
                    ),
                    None,
                    None,
                ),
            },
            (Place::TopLevel | Place::SubFolder, false) => {
                let cred = stand_in(e);
                let reason = format!("listed by the server{}; not checked online", cpa_note(e));
                let f = scan::credential_finding(
                    &e.name,
                    None,
                    &cred,
                    Verdict::new(Status::Unverified, reason),
                    None,
                    select.show_identities,
                );
                (f, Some(cred), None)
            }
        };
        finding.server = Some(state(e));
        finding.disabled = e.disabled;
        let keep = select.online.is_some();
        let auth_index = if download { None } else { e.auth_index.clone() };
        let mut s = scan::scanned_from(finding, cred, content_id, i, auth_index);
        if !keep {
            s.credential = None;
        }
        scanned.push(s);
    }
    scan::mark_duplicates(&mut scanned);
    let mode = match &select.online {
        Some(online) => {
            let mut settings = online.clone();
            if !download {
                settings.engine.relay = Some(server.relay());
                settings.probes.relay = true;
                if !explicit_concurrency {
                    settings.engine.concurrency = RELAY_CONCURRENCY;
                    settings.engine.per_host = settings.engine.per_host.min(RELAY_CONCURRENCY);
                }
            }
            let jobs: Vec<_> = scanned
                .iter_mut()
                .filter_map(|s| scan::plan_online(s, &settings, now))
                .collect();
            let outcomes = crate::probe::run(jobs, &settings.engine)?;
            scan::apply_outcomes(&mut scanned, outcomes);
            "online"
        }
        None => "offline",
    };
    let info = SourceInfo {
        kind: "server",
        repo: None,
        rev: None,
        commit: None,
        tree: None,
        dir: None,
        url: Some(server.url().to_owned()),
        auth_path: None,
        pathspecs: Vec::new(),
    };
    let listing = Listing {
        info,
        candidates: Vec::new(),
        origin: Origin::Dir {
            root: std::path::PathBuf::new(),
        },
    };
    Ok((
        Collected {
            listing,
            scanned,
            mode,
            now,
        },
        entries,
    ))
}

fn plain_finding(name: &str, provider: &str, v: Verdict) -> Finding {
    let cred = {
        let mut obj = serde_json::Map::new();
        obj.insert("type".into(), provider.into());
        Credential::from_json(&obj)
    };
    scan::credential_finding(name, None, &cred, v, None, false)
}

/// What server-mode prune did to each selected file.
pub(crate) struct Applied {
    /// Names done.
    pub done: Vec<String>,
    /// Names not done, with why.
    pub failed: Vec<(String, String)>,
    /// Where the backups went (delete mode).
    pub backup: Option<std::path::PathBuf>,
}

/// One file prune acts on: its listed name (a path relative to the auth dir) and handle.
pub(crate) struct Target<'a> {
    /// The listed name.
    pub name: &'a str,
    /// The listing's `auth_index`, sent along when disabling so that CPA touches exactly it.
    pub auth_index: Option<&'a str>,
}

/// Why prune must leave a listed entry alone, if it must: untouchable entries always, sub-folder
/// files when deleting.
pub(crate) fn keep_reason(e: &Entry, delete: bool) -> Option<String> {
    match &e.place {
        Place::Untouchable(why) => Some((*why).to_owned()),
        Place::SubFolder if delete => Some(
            "kept: in a sub-folder of the auth dir, so CPA cannot back it up (its download \
             refuses names with '/') and a DELETE by name could reach a top-level file of the \
             same name; disable it instead (prune --server without --delete)"
                .to_owned(),
        ),
        Place::SubFolder | Place::TopLevel => None,
    }
}

/// Disables the given files, or (with `delete_into`) backs them up and deletes them. Per-file
/// failures are recorded, never fatal; only a refused key or an unreachable server stops.
pub(crate) fn apply(
    server: &Server,
    targets: &[Target<'_>],
    delete_into: Option<&Path>,
    report_json: &str,
) -> anyhow::Result<Applied> {
    let mut out = Applied {
        done: Vec::new(),
        failed: Vec::new(),
        backup: None,
    };
    let Some(dir) = delete_into else {
        for t in targets {
            match server.set_disabled(t.name, t.auth_index, true) {
                Ok(()) => out.done.push(t.name.to_owned()),
                Err(e @ crate::management::Error::KeyRefused { .. }) => return Err(e.into()),
                Err(e) => out.failed.push((t.name.to_owned(), e.to_string())),
            }
        }
        return Ok(out);
    };
    crate::fs::create_private_dir(dir)?;
    let mut backed_up = Vec::new();
    for t in targets {
        // Only plain top-level names reach here (`keep_reason`); check again before the disk.
        if !crate::management::is_safe_name(t.name) {
            out.failed.push((
                t.name.to_owned(),
                "not deleted: not a plain file name".into(),
            ));
            continue;
        }
        match server.download(t.name) {
            Ok(bytes) => {
                crate::fs::create_new(&dir.join(t.name), &bytes, 0o600)?;
                backed_up.push(t.name.to_owned());
            }
            Err(e @ crate::management::Error::KeyRefused { .. }) => return Err(e.into()),
            Err(e) => out.failed.push((
                t.name.to_owned(),
                format!("not deleted: backup failed: {e}"),
            )),
        }
    }
    crate::fs::create_new(
        &dir.join("credman-report.json"),
        report_json.as_bytes(),
        0o600,
    )?;
    let deleted = server.delete(&backed_up)?;
    out.done = deleted.deleted;
    out.failed.extend(deleted.failed);
    out.backup = Some(dir.to_owned());
    Ok(out)
}

/// Re-enables files (`prune --server --enable NAME…`); returns how many were enabled and, for
/// each one that failed, `name: why`.
pub(crate) fn enable(server: &Server, names: &[String]) -> (usize, Vec<String>) {
    let mut failed = Vec::new();
    for n in names {
        if let Err(e) = server.set_disabled(n, None, false) {
            failed.push(format!("{n}: {e}"));
        }
    }
    (names.len() - failed.len(), failed)
}
