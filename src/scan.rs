//! The scan engine: read every candidate of a [`Listing`], parse it, decide its offline verdict
//! and build its [`Finding`]; then mark duplicates.
//!
//! Reading and parsing run on all cores (each thread has its own repository handle, as gix
//! requires); the file contents are dropped as soon as they are parsed, so memory stays flat
//! on very large trees. Credentials are kept only when the caller asks (online probes need the
//! tokens). No network and no printing here.

use std::collections::{BTreeSet, HashMap};
use std::path::Path;
use std::sync::atomic::{AtomicUsize, Ordering};

use chrono::{DateTime, Utc};

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
    /// Reader threads; 0 means one per core.
    pub jobs: usize,
}

/// One scanned file.
pub struct Scanned {
    /// The report entry.
    pub finding: Finding,
    /// The parsed credential, when kept and the file is one.
    pub credential: Option<Credential>,
    account_key: Option<String>,
    token_digests: Vec<String>,
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
        worktree: None,
        reset_at: verdict.reset_at,
        checked_at: None,
        elapsed_ms: None,
    }
}

/// Builds the finding of a parsed credential with the given verdict.
pub fn credential_finding(
    path: &str,
    blob: Option<String>,
    cred: &Credential,
    verdict: Verdict,
    show_identities: bool,
) -> Finding {
    let mut f = finding(path, blob, verdict);
    f.provider.clone_from(&cred.provider);
    f.fingerprint = cred.primary_secret().map(credential::Secret::fingerprint);
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
    fn read(&self, c: &Candidate) -> Result<Result<Vec<u8>, std::io::Error>, Error> {
        match (self, c.blob) {
            (Reader::Repo(r), Some(id)) => Ok(Ok(r.read(id)?)),
            (Reader::Dir(root), _) => {
                let full = root.join(&c.path);
                Ok(if c.kind == EntryKind::Symlink {
                    std::fs::read_link(full).map(|t| t.to_string_lossy().into_owned().into_bytes())
                } else {
                    std::fs::read(full)
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
) -> Result<Option<Scanned>, Error> {
    let blob = c.blob.map(|b| b.to_string());
    let bytes = match reader.read(c)? {
        Ok(b) => b,
        Err(err) => {
            let v = Verdict::new(
                Status::CheckError,
                format!("cannot read file: {}", err.kind()),
            );
            return Ok(Some(plain(finding(&c.path, blob, v))));
        }
    };
    if c.kind == EntryKind::Symlink {
        let target = String::from_utf8_lossy(&bytes);
        let v = Verdict::new(
            Status::Unknown,
            format!("symbolic link to '{target}'; not followed"),
        );
        return Ok(Some(plain(finding(&c.path, blob, v))));
    }
    let obj = match credential::parse_json(&bytes) {
        Ok(obj) => obj,
        Err(err) if c.explicit => {
            return Ok(Some(plain(finding(
                &c.path,
                blob,
                Verdict::new(Status::InvalidFile, err.to_string()),
            ))));
        }
        Err(_) => return Ok(None),
    };
    if !c.explicit && !credential::looks_like_credential(&obj) {
        return Ok(None);
    }
    let cred = Credential::from_json(&obj);
    drop(obj);
    let verdict = verdict::offline(&cred, opts.now);
    let finding = credential_finding(&c.path, blob, &cred, verdict, opts.show_identities);
    let account_key = cred.account_key();
    let token_digests = cred.secrets().map(credential::Secret::digest).collect();
    Ok(Some(Scanned {
        finding,
        credential: opts.keep_credentials.then_some(cred),
        account_key,
        token_digests,
    }))
}

fn plain(finding: Finding) -> Scanned {
    Scanned {
        finding,
        credential: None,
        account_key: None,
        token_digests: Vec::new(),
    }
}

/// Reads, parses and classifies every candidate; returns one entry per credential file in
/// candidate order, with duplicates and working-tree differences marked.
pub fn analyze(listing: &Listing, opts: &Options) -> Result<Vec<Scanned>, Error> {
    let candidates = &listing.candidates;
    let jobs = if opts.jobs == 0 {
        std::thread::available_parallelism().map_or(1, std::num::NonZero::get)
    } else {
        opts.jobs
    }
    .clamp(1, candidates.len().max(1));
    let next = AtomicUsize::new(0);

    let per_thread: Vec<Result<Vec<(usize, Scanned)>, Error>> = std::thread::scope(|scope| {
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
                    loop {
                        let i = next.fetch_add(1, Ordering::Relaxed);
                        let Some(c) = candidates.get(i) else { break };
                        if let Some(mut s) = analyze_one(&reader, c, opts)? {
                            if let (Some(wt), Some(id)) = (worktree, c.blob) {
                                s.finding.worktree = wt.state(&c.path, id).map(|st| match st {
                                    WorktreeState::Modified => "modified",
                                    WorktreeState::Deleted => "deleted",
                                });
                            }
                            out.push((i, s));
                        }
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

    let mut all = Vec::with_capacity(candidates.len());
    for part in per_thread {
        all.extend(part?);
    }
    all.sort_by_key(|(i, _)| *i);
    let mut scanned: Vec<Scanned> = all.into_iter().map(|(_, s)| s).collect();
    mark_duplicates(&mut scanned);
    Ok(scanned)
}

/// Checks every scanned credential online and replaces its offline verdict with the answer.
///
/// Files that are not alive offline, and providers without a probe, keep their offline verdict
/// (the reason says why). The credentials are dropped afterwards.
pub fn check_online(
    scanned: &mut [Scanned],
    settings: &crate::settings::OnlineSettings,
    now: DateTime<Utc>,
) -> Result<(), crate::probe::Error> {
    let mut jobs = Vec::new();
    for (index, s) in scanned.iter_mut().enumerate() {
        let Some(cred) = s.credential.take() else {
            continue;
        };
        let offline = Verdict::new(s.finding.status, s.finding.reason.clone());
        match crate::providers::plan(&cred, offline, now, &settings.probes) {
            crate::providers::Plan::Skip(v) => apply(&mut s.finding, v),
            crate::providers::Plan::Probe(probe) => {
                jobs.push(crate::probe::Job {
                    index,
                    probe,
                    proxy_url: cred.proxy_url.clone(),
                });
            }
        }
    }
    tracing::info!(probes = jobs.len(), "checking online");
    for outcome in crate::probe::run(jobs, &settings.engine)? {
        let f = &mut scanned[outcome.index].finding;
        apply(f, outcome.verdict);
        f.checked_at = Some(outcome.checked_at);
        f.elapsed_ms = Some(outcome.elapsed_ms);
    }
    Ok(())
}

fn apply(f: &mut Finding, v: Verdict) {
    f.status = v.status;
    f.class = v.status.class();
    f.reason = v.reason;
    f.http_status = v.http_status;
    f.reset_at = v.reset_at;
}

/// Fills each finding's `duplicates` with the other files holding the same account or token.
fn mark_duplicates(scanned: &mut [Scanned]) {
    let mut groups: HashMap<&str, Vec<usize>> = HashMap::new();
    for (i, s) in scanned.iter().enumerate() {
        if let Some(k) = &s.account_key {
            groups.entry(k.as_str()).or_default().push(i);
        }
        for d in &s.token_digests {
            groups.entry(d.as_str()).or_default().push(i);
        }
    }
    let mut dups: Vec<BTreeSet<usize>> = vec![BTreeSet::new(); scanned.len()];
    for members in groups.values().filter(|m| m.len() > 1) {
        for &a in members {
            dups[a].extend(members.iter().copied().filter(|&b| b != a));
        }
    }
    let paths: Vec<String> = scanned.iter().map(|s| s.finding.path.clone()).collect();
    for (s, d) in scanned.iter_mut().zip(dups) {
        s.finding.duplicates = d.into_iter().map(|i| paths[i].clone()).collect();
    }
}
