//! Server mode: scan and prune the credentials a running CLIProxyAPI has loaded, through its
//! Management API. Checks are relayed through `api-call` (git-credman never holds the tokens)
//! unless `--download` fetches each file for the full offline analysis and direct probes.
//! What prune does to the listed files is in `prune::server`.

use std::path::Path;

use chrono::Utc;

use crate::cli::ServerArgs;
use crate::credential::{self, Credential, ProviderKind, Secret};
use crate::management::{Entry, Place, Server};
use crate::report::ServerState;
use crate::scan::{self, Collected, Facts, Scanned};
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
    let keep = select.online.is_some();
    for (i, e) in entries.iter().enumerate() {
        if !select.providers.is_empty() && !select.providers.contains(&e.provider) {
            continue;
        }
        let plain = |v: Verdict| Scanned::new(&e.name, None, Facts::provider(&e.provider), v);
        let not_checked = |why: &str| plain(Verdict::new(Status::Unknown, why));
        let mut s = match (&e.place, download) {
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
                        let facts = Facts::of(&cred, fp, select.show_identities);
                        let mut s =
                            Scanned::new(&e.name, None, facts, v).with_credential(cred, keep);
                        s.content_id = crate::git::hash_blob(&bytes);
                        s
                    }
                    Err(err) => plain(Verdict::new(Status::InvalidFile, err.to_string())),
                },
                Err(err) => plain(Verdict::new(
                    Status::CheckError,
                    format!("cannot download: {err}"),
                )),
            },
            (Place::TopLevel | Place::SubFolder, false) => {
                let cred = stand_in(e);
                let reason = format!("listed by the server{}; not checked online", cpa_note(e));
                let facts = Facts::of(&cred, None, select.show_identities);
                Scanned::new(
                    &e.name,
                    None,
                    facts,
                    Verdict::new(Status::Unverified, reason),
                )
                .with_credential(cred, keep)
            }
        };
        s.server = Some(state(e));
        s.facts.disabled = e.disabled;
        s.candidate = i;
        s.auth_index = if download { None } else { e.auth_index.clone() };
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
