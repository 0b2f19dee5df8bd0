//! The scan engine: read every candidate of a [`Listing`], parse it, decide its offline verdict
//! and build its [`Finding`]; then mark duplicates.
//!
//! Reading and parsing run on all cores (each thread has its own repository handle, as gix
//! requires); the file contents are dropped as soon as they are parsed, so memory stays flat
//! on very large trees. Credentials are kept only when the caller asks (online probes need the
//! tokens). No network and no printing here.

use std::path::Path;
use std::sync::atomic::{AtomicUsize, Ordering};

use chrono::{DateTime, Utc};

use super::duplicates::mark_duplicates;
use crate::credential::{self, Credential, mask_identity};
use crate::git::{EntryKind, WorktreeState};
use crate::report::Finding;
use crate::source::{Candidate, Listing, Origin};
use crate::status::Status;
use crate::verdict::{self, Verdict};

/// How to scan.
#[derive(Clone, Debug)]
pub struct Options {
    /// The time expiries are compared with.
    pub now: DateTime<Utc>,
    /// Show identities unmasked.
    pub show_identities: bool,
    /// Keep the parsed credentials (for online probes).
    pub keep_credentials: bool,
    /// Hash directory files (git blob ids) so that prune can notice a later change; a plain
    /// scan does not need it. Repository blobs always carry their id.
    pub content_ids: bool,
    /// Reader threads; 0 means one per core.
    pub jobs: usize,
}

/// One scanned file.
pub struct Scanned {
    /// The report entry.
    pub finding: Finding,
    /// The parsed credential, when kept and the file is one.
    pub credential: Option<Box<Credential>>,
    /// The blob id of the content read (the git blob, or the hash of a directory file), so that
    /// a later change can be noticed before the file is removed.
    pub content_id: Option<crate::git::ObjectId>,
    /// The index of the candidate this came from (keys online outcomes).
    pub candidate: usize,
    /// The server's handle for this credential (server mode).
    pub auth_index: Option<String>,
    /// The offline verdict, kept when an online check replaces it (the pre-push gate falls
    /// back to it when the network does not answer in time).
    pub offline: Option<Verdict>,
    pub(super) account_key: Option<String>,
    pub(super) token_digests: Vec<u128>,
}

/// Errors that stop a scan (per-file problems are findings, not errors).
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// A blob could not be read from the repository.
    #[error(transparent)]
    Git(#[from] crate::git::Error),
}

fn finding(path: &str, blob: Option<String>, verdict: Verdict) -> Finding {
    Finding {
        path: path.to_owned(),
        provider: "unknown".to_owned(),
        status: verdict.status,
        class: verdict.status.class(),
        reason: verdict.reason,
        http_status: verdict.http_status,
        fingerprint: None,
        account: None,
        plan: None,
        expires_at: None,
        has_refresh_token: false,
        disabled: false,
        blob,
        duplicates: Vec::new(),
        duplicate_group: None,
        worktree: None,
        reset_at: verdict.reset_at,
        checked_at: None,
        server: None,
        elapsed_ms: None,
    }
}

/// Builds the finding of a parsed credential with the given verdict.
pub fn credential_finding(
    path: &str,
    blob: Option<String>,
    cred: &Credential,
    verdict: Verdict,
    fingerprint: Option<String>,
    show_identities: bool,
) -> Finding {
    let mut f = finding(path, blob, verdict);
    f.provider.clone_from(&cred.provider);
    f.fingerprint = fingerprint;
    f.account = cred.identity().map(|i| {
        if show_identities {
            i.to_owned()
        } else {
            mask_identity(i)
        }
    });
    f.plan.clone_from(&cred.plan);
    f.expires_at = cred.expires_at;
    f.has_refresh_token = cred.refresh_token.is_some();
    f.disabled = cred.disabled;
    f
}

/// What a reader thread reads from.
enum Reader<'a> {
    Repo(Box<crate::git::BlobReader>),
    Dir(&'a Path),
}

impl Reader<'_> {
    /// Reads a candidate into `buf`; an outer error stops the scan, an inner one is a finding.
    fn read(&self, c: &Candidate, buf: &mut Vec<u8>) -> Result<Result<(), std::io::Error>, Error> {
        buf.clear();
        match (self, c.blob) {
            (Reader::Repo(r), Some(id)) => r.read_into(id, buf).map(Ok).map_err(Error::from),
            (Reader::Dir(root), _) => {
                let full = root.join(crate::fs::rel_path(&c.raw));
                Ok(if c.kind == EntryKind::Symlink {
                    std::fs::read_link(full)
                        .map(|t| buf.extend_from_slice(t.to_string_lossy().as_bytes()))
                } else {
                    std::fs::File::open(full)
                        .and_then(|mut f| std::io::Read::read_to_end(&mut f, buf))
                        .map(|_| ())
                })
            }
            (Reader::Repo(_), None) => Ok(Err(std::io::Error::other("no blob id"))),
        }
    }
}

fn analyze_one(
    reader: &Reader<'_>,
    c: &Candidate,
    opts: &Options,
    buf: &mut Vec<u8>,
) -> Result<Option<Scanned>, Error> {
    let blob = c.blob.map(|b| b.to_string());
    let bytes: &[u8] = match reader.read(c, buf)? {
        Ok(()) => buf,
        Err(err) => {
            let v = Verdict::new(
                Status::CheckError,
                format!("cannot read file: {}", err.kind()),
            );
            return Ok(Some(plain(finding(&c.path, blob, v), None)));
        }
    };
    // Symlinks are never pruned, so they need no content id.
    let content_id = if c.kind == EntryKind::Symlink {
        None
    } else {
        c.blob.or_else(|| {
            if opts.content_ids {
                crate::git::hash_blob(bytes)
            } else {
                None
            }
        })
    };
    if c.kind == EntryKind::Symlink {
        let target = String::from_utf8_lossy(bytes);
        let v = Verdict::new(
            Status::Unknown,
            format!("symbolic link to '{target}'; not followed"),
        );
        return Ok(Some(plain(finding(&c.path, blob, v), None)));
    }
    let obj = match credential::parse_json(bytes) {
        Ok(obj) => obj,
        Err(err) if c.explicit => {
            let v = Verdict::new(Status::InvalidFile, err.to_string());
            return Ok(Some(plain(finding(&c.path, blob, v), content_id)));
        }
        Err(_) => return Ok(None),
    };
    // A file without a credential shape is never a dead credential: ignored when auto-detected,
    // `invalid_file` when named (a pathspec or the auth dir), whatever the pathspec.
    if !credential::has_credential_shape(&obj) {
        if !c.explicit {
            return Ok(None);
        }
        let v = Verdict::new(
            Status::InvalidFile,
            "not a credential: no known provider `type` and no token field",
        );
        return Ok(Some(plain(finding(&c.path, blob, v), content_id)));
    }
    let cred = Credential::from_json(&obj);
    drop(obj);
    let verdict = verdict::offline(&cred, opts.now);
    // Hash every secret once: the digests find duplicate tokens, the primary one's prefix is
    // the public fingerprint.
    let token_digests: Vec<u128> = cred.secrets().map(credential::Secret::digest).collect();
    // `secrets()` starts with `primary_secret()` unless the only secret is a cookie.
    let fingerprint = match token_digests.first() {
        Some(first) => Some(credential::fingerprint_of(*first)),
        None => cred.primary_secret().map(credential::Secret::fingerprint),
    };
    let finding = credential_finding(
        &c.path,
        blob,
        &cred,
        verdict,
        fingerprint,
        opts.show_identities,
    );
    let account_key = cred.account_key();
    Ok(Some(Scanned {
        finding,
        credential: opts.keep_credentials.then(|| Box::new(cred)),
        content_id,
        candidate: 0,
        auth_index: None,
        offline: None,
        account_key,
        token_digests,
    }))
}

fn plain(finding: Finding, content_id: Option<crate::git::ObjectId>) -> Scanned {
    Scanned {
        finding,
        credential: None,
        content_id,
        candidate: 0,
        auth_index: None,
        offline: None,
        account_key: None,
        token_digests: Vec::new(),
    }
}

/// Builds a scanned entry from parts (server mode builds them from the server's listing).
pub fn scanned_from(
    finding: Finding,
    credential: Option<Credential>,
    content_id: Option<crate::git::ObjectId>,
    candidate: usize,
    auth_index: Option<String>,
) -> Scanned {
    let account_key = credential.as_ref().and_then(Credential::account_key);
    let token_digests = credential
        .as_ref()
        .map(|c| {
            c.secrets()
                .filter(|s| s.expose() != "$TOKEN$")
                .map(credential::Secret::digest)
                .collect()
        })
        .unwrap_or_default();
    Scanned {
        finding,
        credential: credential.map(Box::new),
        content_id,
        candidate,
        auth_index,
        offline: None,
        account_key,
        token_digests,
    }
}

/// A block of results: its first candidate index and what it produced.
type Block = (usize, Vec<Scanned>);

/// How many candidates a reader thread takes at a time.
const BLOCK: usize = 256;

/// Reads, parses and classifies every candidate; returns one entry per credential file in
/// candidate order, with duplicates and working-tree differences marked.
///
/// `sink` sees every result on its reader thread as soon as it exists: online checks start
/// there while the rest of the tree is still being read.
pub fn analyze(
    listing: &Listing,
    opts: &Options,
    sink: &(dyn Fn(&mut Scanned) + Sync),
) -> Result<Vec<Scanned>, Error> {
    let candidates = &listing.candidates;
    let jobs = if opts.jobs == 0 {
        std::thread::available_parallelism().map_or(1, std::num::NonZero::get)
    } else {
        opts.jobs
    }
    .clamp(1, candidates.len().max(1));
    let next = AtomicUsize::new(0);

    let per_thread: Vec<Result<Vec<Block>, Error>> = std::thread::scope(|scope| {
        let handles: Vec<_> = (0..jobs)
            .map(|_| {
                scope.spawn(|| {
                    let reader = match &listing.origin {
                        Origin::Repo { repo, .. } => Reader::Repo(Box::new(repo.blob_reader())),
                        Origin::Dir { root } => Reader::Dir(root),
                    };
                    let worktree = match &listing.origin {
                        Origin::Repo { worktree, .. } => worktree.as_ref(),
                        Origin::Dir { .. } => None,
                    };
                    let mut out = Vec::new();
                    let mut buf = Vec::with_capacity(8192);
                    // Contiguous blocks keep neighbouring blobs (often deltas of each other)
                    // on one thread, where its delta-base cache can reuse them.
                    loop {
                        let start = next.fetch_add(BLOCK, Ordering::Relaxed);
                        if start >= candidates.len() {
                            break;
                        }
                        let mut block = Vec::with_capacity(BLOCK);
                        for (i, c) in candidates.iter().enumerate().skip(start).take(BLOCK) {
                            if let Some(mut s) = analyze_one(&reader, c, opts, &mut buf)? {
                                s.candidate = i;
                                if let (Some(wt), Some(id)) = (worktree, c.blob) {
                                    s.finding.worktree =
                                        wt.state_raw(&c.raw, id).map(|st| match st {
                                            WorktreeState::Modified => "modified",
                                            WorktreeState::Deleted => "deleted",
                                        });
                                }
                                sink(&mut s);
                                block.push(s);
                            }
                        }
                        out.push((start, block));
                    }
                    Ok(out)
                })
            })
            .collect();
        handles
            .into_iter()
            .map(|h| {
                h.join()
                    .unwrap_or_else(|payload| std::panic::resume_unwind(payload))
            })
            .collect()
    });

    // Blocks are in order within a thread; order them across threads by their start.
    let mut blocks = Vec::new();
    for part in per_thread {
        blocks.extend(part?);
    }
    tracing::debug!("reader threads done");
    blocks.sort_unstable_by_key(|(start, _)| *start);
    let mut scanned: Vec<Scanned> = Vec::with_capacity(candidates.len());
    for (_, block) in blocks {
        scanned.extend(block);
    }
    mark_duplicates(&mut scanned);
    Ok(scanned)
}

/// Plans the online check of one scanned file: applies a verdict known without a request, or
/// returns the probe job. Takes the credential out of `s` (its secrets go with the job).
pub fn plan_online(
    s: &mut Scanned,
    settings: &crate::settings::OnlineSettings,
    now: DateTime<Utc>,
) -> Option<crate::probe::Job> {
    let cred = s.credential.take()?;
    let offline = Verdict::new(s.finding.status, s.finding.reason.clone());
    s.offline = Some(offline.clone());
    // CPA sets `status_message` to `unauthorized` (or `invalid_grant`) only after its own
    // refresh failed (conductor_refresh.go:545-550): positive evidence for a relayed 401.
    let cpa_refresh_failed = s.finding.server.as_ref().is_some_and(|st| {
        st.status_message.as_deref().is_some_and(|m| {
            m.eq_ignore_ascii_case("unauthorized") || m.eq_ignore_ascii_case("invalid_grant")
        })
    });
    match crate::providers::plan(&cred, offline, now, &settings.probes, cpa_refresh_failed) {
        crate::providers::Plan::Skip(v) => {
            apply(&mut s.finding, v);
            None
        }
        crate::providers::Plan::Probe(probe) => Some(crate::probe::Job {
            index: s.candidate,
            probe,
            proxy_url: cred.proxy_url.clone(),
            auth_index: s.auth_index.clone(),
        }),
    }
}

/// Replaces offline verdicts with the online outcomes (keyed by candidate index).
pub fn apply_outcomes(scanned: &mut [Scanned], outcomes: Vec<crate::probe::Outcome>) {
    for outcome in outcomes {
        let Ok(pos) = scanned.binary_search_by_key(&outcome.index, |s| s.candidate) else {
            continue;
        };
        let f = &mut scanned[pos].finding;
        apply(f, outcome.verdict);
        f.checked_at = Some(outcome.checked_at);
        f.elapsed_ms = Some(outcome.elapsed_ms);
    }
}

fn apply(f: &mut Finding, v: Verdict) {
    f.status = v.status;
    f.class = v.status.class();
    f.reason = v.reason;
    f.http_status = v.http_status;
    f.reset_at = v.reset_at;
}

/// A scanned file with just a path, provider, status and content id (unit tests of the layers
/// above: prune's plan, the breaker, duplicates).
#[cfg(test)]
pub(crate) fn test_scanned(
    path: &str,
    provider: &str,
    status: Status,
    content_id: Option<crate::git::ObjectId>,
) -> Scanned {
    let mut f = finding(path, None, Verdict::new(status, "test"));
    f.provider = provider.to_owned();
    scanned_from(f, None, content_id, 0, None)
}
