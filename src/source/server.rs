//! Server mode: scan and prune the credentials a running CLIProxyAPI has loaded, through its
//! Management API. Checks are relayed through `api-call` (git-credman never holds the tokens)
//! unless `--download` fetches each file for the full offline analysis and direct probes.
//! What prune does to the listed files is in `prune::server`.

use std::path::Path;
use std::sync::Arc;

use crate::cli::ServerArgs;
use crate::git::EntryKind;
use crate::management::{Entry, Server};
use crate::settings::{Env, GitConfig, SelectSettings};
use crate::source::{Candidate, Listing, Origin, SourceInfo};

/// How many relayed checks run at once by default (CPA does the real work).
const RELAY_CONCURRENCY: usize = 8;

/// Connects to the server and checks the key once.
pub(crate) fn connect(
    args: &ServerArgs,
    env: &Env,
    config: &GitConfig,
    cwd: &Path,
) -> anyhow::Result<Option<Arc<Server>>> {
    let Some(url) = &args.server else {
        return Ok(None);
    };
    let key =
        crate::settings::management_key(args.management_key_file.as_deref(), env, config, cwd)?;
    let server = Server::new(url, key, std::time::Duration::from_secs(60))?;
    server.check_key()?;
    Ok(Some(Arc::new(server)))
}

/// What `--server URL` scans: the connection, and how.
pub struct ServerSpec {
    /// The connection (its key already checked).
    pub server: Arc<Server>,
    /// Download every file for the full offline analysis and direct probes (`--download`).
    pub download: bool,
    /// The user chose `--concurrency`: relayed checks are not capped at 8.
    pub explicit_concurrency: bool,
}

impl std::fmt::Debug for ServerSpec {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ServerSpec")
            .field("url", &self.server.url())
            .field("download", &self.download)
            .finish_non_exhaustive()
    }
}

/// How a server's candidates are read: its listing, one entry per candidate (same index), and
/// the connection to download a file or relay a check through.
pub struct ServerOrigin {
    /// The connection.
    pub server: Arc<Server>,
    /// The listing, in candidate order.
    pub entries: Vec<Entry>,
    /// Whether files are downloaded (else checks are relayed by `auth_index`).
    pub download: bool,
    /// `--provider` values: other entries are not downloaded (the scan drops them).
    pub wanted: Vec<String>,
}

/// Lists the server's credentials as candidates (one per listed entry, carrying its
/// `auth_index`), and returns the settings their online checks run with: relayed through CPA's
/// `api-call` unless downloading, at most 8 at a time unless the user chose.
pub(crate) fn list(
    spec: &ServerSpec,
    select: &SelectSettings,
) -> anyhow::Result<(Listing, SelectSettings)> {
    let entries = spec.server.list()?;
    let candidates = entries
        .iter()
        .map(|e| Candidate {
            path: e.name.clone(),
            raw: e.name.as_bytes().to_vec(),
            blob: None,
            kind: EntryKind::File,
            explicit: true,
        })
        .collect();
    let mut select = select.clone();
    if let Some(online) = select.online.as_mut()
        && !spec.download
    {
        online.engine.relay = Some(spec.server.relay());
        online.probes.relay = true;
        if !spec.explicit_concurrency {
            online.engine.concurrency = RELAY_CONCURRENCY;
            online.engine.per_host = online.engine.per_host.min(RELAY_CONCURRENCY);
        }
    }
    let info = SourceInfo {
        url: Some(spec.server.url().to_owned()),
        ..SourceInfo::new("server")
    };
    let origin = Origin::Server(Box::new(ServerOrigin {
        server: Arc::clone(&spec.server),
        entries,
        download: spec.download,
        wanted: select.providers.clone(),
    }));
    Ok((
        Listing {
            info,
            candidates,
            origin,
        },
        select,
    ))
}

/// The server's listing behind a scan of it (empty for other sources): a scanned file's
/// `candidate` indexes it.
pub(crate) fn entries(listing: &Listing) -> &[Entry] {
    match &listing.origin {
        Origin::Server(o) => &o.entries,
        _ => &[],
    }
}
