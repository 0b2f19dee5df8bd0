//! The scan engine: read every candidate of a [`Listing`], parse it and decide its offline
//! verdict into a [`Scanned`] record; then mark duplicates. The record collects the verdicts
//! (offline here, online from the probes, the pre-push gate's fallback) and the report's
//! [`Finding`] is built from it once, at the end ([`Scanned::finding`]).
//!
//! Reading and parsing run on all cores (each thread has its own repository handle, as gix
//! requires); the file contents are dropped as soon as they are parsed, so memory stays flat
//! on very large trees. Credentials are kept only when the caller asks (online probes need the
//! tokens). No network and no printing here.

use std::sync::atomic::{AtomicUsize, Ordering};

use chrono::{DateTime, Utc};

use super::duplicates::{mark_duplicates, take_keys};
use crate::credential::{self, Credential, mask_identity};
use crate::git::{EntryKind, WorktreeState};
use crate::report::{DuplicateGroup, Finding, ServerState};
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

/// What a file says, as the report shows it (the identity masked unless asked).
#[derive(Clone, Debug)]
pub struct Facts {
    /// Provider (`type`), `unknown` when absent or unparseable.
    pub provider: String,
    /// First 12 hex digits of the SHA-256 of the credential's token. (The text fields of a
    /// record are boxed `str`s, 8 bytes smaller each: there is one record per file.)
    pub fingerprint: Option<Box<str>>,
    /// The stable identity key (`Credential::identity_key`): provider, account and token
    /// family, hashed; none when the file names no account.
    pub identity: Option<Box<str>>,
    /// The account, masked unless `--show-identities`.
    pub account: Option<Box<str>>,
    /// Codex plan type, when known.
    pub plan: Option<Box<str>>,
    /// When the access token expires, when known.
    pub expires_at: Option<DateTime<Utc>>,
    /// Whether a refresh token is present.
    pub has_refresh_token: bool,
    /// CPA's persisted `disabled` flag.
    pub disabled: bool,
}

impl Facts {
    /// The facts of a file that is no credential (or could not be read): provider `unknown`.
    pub fn unknown() -> Self {
        Self::provider("unknown")
    }

    /// Only a provider `type`, named as a parsed file's would be (`gemini-cli` is `gemini`, an
    /// empty one `unknown`): server listings whose file could not be read.
    pub fn provider(ty: &str) -> Self {
        Self {
            provider: crate::credential::ProviderKind::from_type(ty).1,
            fingerprint: None,
            identity: None,
            account: None,
            plan: None,
            expires_at: None,
            has_refresh_token: false,
            disabled: false,
        }
    }

    /// The facts of a parsed credential.
    pub fn of(cred: &Credential, fingerprint: Option<String>, show_identities: bool) -> Self {
        Self {
            provider: cred.provider.clone(),
            fingerprint: fingerprint.map(String::into_boxed_str),
            identity: cred.identity_key().map(String::into_boxed_str),
            account: cred.identity().map(|i| {
                if show_identities {
                    i.into()
                } else {
                    mask_identity(i).into_boxed_str()
                }
            }),
            plan: cred.plan.as_deref().map(Into::into),
            expires_at: cred.expires_at,
            has_refresh_token: cred.refresh_token.is_some(),
            disabled: cred.disabled,
        }
    }
}

/// A verdict reached online (or by a provider rule without a request), with when.
#[derive(Clone, Debug)]
pub struct Online {
    /// The verdict.
    pub verdict: Verdict,
    /// When the check ran; none when no request was needed.
    pub checked_at: Option<DateTime<Utc>>,
    /// How long it took.
    pub elapsed_ms: Option<u64>,
}

/// The scan's record of one file: where it is, what it says, the verdicts reached and the
/// handles prune needs. Every stage adds to it; [`Scanned::finding`] turns it into the report's
/// entry once.
pub struct Scanned {
    /// Path relative to the repository root or scanned directory (display form).
    pub path: String,
    /// The git blob scanned; none for directories.
    pub blob: Option<crate::git::ObjectId>,
    /// What the file says.
    pub facts: Facts,
    /// The offline verdict (always decided).
    pub offline: Verdict,
    /// The online verdict, when one was reached; it replaces the offline one.
    pub online: Option<Box<Online>>,
    /// `modified` or `deleted` when the working-tree copy differs from what was scanned.
    pub worktree: Option<&'static str>,
    /// Other members of this file's duplicate group (at most [`crate::report::MAX_LISTED_DUPLICATES`]).
    pub duplicates: Vec<String>,
    /// The duplicate group this file belongs to, if any.
    pub duplicate_group: Option<DuplicateGroup>,
    /// What the server says about it (server mode; boxed: most scans have none).
    pub server: Option<Box<ServerState>>,
    /// The parsed credential, when kept and the file is one.
    pub credential: Option<Box<Credential>>,
    /// The blob id of the content read (the git blob, or the hash of a directory file), so that
    /// a later change can be noticed before the file is removed.
    pub content_id: Option<crate::git::ObjectId>,
    /// The index of the candidate this came from (keys online outcomes).
    pub candidate: usize,
    /// The server's handle for this credential (server mode).
    pub auth_index: Option<String>,
    /// The comment of the pin that keeps this file (`crate::pins`), `""` when it has none.
    pub pinned: Option<String>,
    /// The recorded verdicts a prune with `--strikes` cites for it (`crate::strikes`).
    pub strikes: Option<Vec<crate::report::Cited>>,
    /// What duplicate detection compares: the account key's digest and every token's
    /// (`credential::account_digest`, `Secret::digest`). Moved out into one list as soon as
    /// the record joins the scan's result (`duplicates::take_keys`).
    pub(super) dup_keys: Box<[u128]>,
}

impl crate::report::Counted for Scanned {
    fn provider(&self) -> &str {
        &self.facts.provider
    }
    fn status(&self) -> Status {
        Scanned::status(self)
    }
    fn duplicate_group(&self) -> Option<DuplicateGroup> {
        self.duplicate_group
    }
    fn has_duplicates(&self) -> bool {
        !self.duplicates.is_empty()
    }
    fn worktree_differs(&self) -> bool {
        self.worktree.is_some()
    }
}

impl Scanned {
    /// A record with its facts and offline verdict, nothing else yet.
    pub fn new(
        path: &str,
        blob: Option<crate::git::ObjectId>,
        facts: Facts,
        offline: Verdict,
    ) -> Self {
        Self {
            path: path.to_owned(),
            blob,
            facts,
            offline,
            online: None,
            worktree: None,
            duplicates: Vec::new(),
            duplicate_group: None,
            server: None,
            credential: None,
            content_id: None,
            candidate: 0,
            auth_index: None,
            pinned: None,
            strikes: None,
            dup_keys: Box::default(),
        }
    }

    /// Records the credential's duplicate keys (account, token digests) and keeps it when
    /// `keep` (online checks need its tokens). A relay stand-in's `$TOKEN$` is no token.
    pub fn with_credential(mut self, cred: Credential, keep: bool) -> Self {
        let tokens = cred
            .secrets()
            .filter(|s| s.expose() != "$TOKEN$")
            .map(credential::Secret::digest)
            .collect();
        self.dup_keys = dup_keys(&cred, tokens);
        self.credential = keep.then(|| Box::new(cred));
        self
    }

    /// The verdict in effect: the online one when reached, else the offline one.
    pub fn verdict(&self) -> &Verdict {
        self.online.as_ref().map_or(&self.offline, |o| &o.verdict)
    }

    /// The status in effect.
    pub fn status(&self) -> Status {
        self.verdict().status
    }

    /// The pre-push gate's fallback: when the online check did not finish in time, the offline
    /// verdict decides, saying so (when the check ran is kept).
    pub fn fall_back_offline(&mut self) {
        let reason = format!(
            "{} (online check did not finish; offline verdict)",
            self.offline.reason
        );
        if let Some(o) = self.online.as_mut() {
            o.verdict.status = self.offline.status;
            o.verdict.reason = reason;
            o.verdict.http_status = None;
        }
    }

    /// Turns the record into its finding, moving what the finding keeps instead of copying
    /// it (and then freeing the record's copy: at 10,000 files, most of a scan's frees on
    /// the main thread, of memory the reader threads allocated, issue 13).
    pub fn into_finding(self) -> Finding {
        let (v, checked_at, elapsed_ms) = match self.online {
            Some(o) => (o.verdict, o.checked_at, o.elapsed_ms),
            None => (self.offline, None, None),
        };
        let facts = self.facts;
        Finding {
            path: self.path,
            provider: facts.provider,
            status: v.status,
            class: v.status.class(),
            reason: v.reason,
            http_status: v.http_status,
            fingerprint: facts.fingerprint.map(Into::into),
            identity: facts.identity.map(Into::into),
            account: facts.account.map(Into::into),
            plan: facts.plan.map(Into::into),
            expires_at: facts.expires_at,
            has_refresh_token: facts.has_refresh_token,
            disabled: facts.disabled,
            blob: self.blob,
            duplicates: self.duplicates,
            duplicate_group: self.duplicate_group,
            worktree: self.worktree,
            reset_at: v.reset_at,
            checked_at,
            server: self.server,
            elapsed_ms,
            pinned: self.pinned,
            quota: v.quota,
            strikes: self.strikes,
        }
    }

    /// The report's entry for this file (what [`Scanned::into_finding`] makes of a copy of
    /// the fields a finding keeps).
    pub fn finding(&self) -> Finding {
        Self {
            path: self.path.clone(),
            blob: self.blob,
            facts: self.facts.clone(),
            offline: self.offline.clone(),
            online: self.online.clone(),
            worktree: self.worktree,
            duplicates: self.duplicates.clone(),
            duplicate_group: self.duplicate_group,
            server: self.server.clone(),
            credential: None,
            content_id: None,
            candidate: self.candidate,
            auth_index: None,
            pinned: self.pinned.clone(),
            strikes: self.strikes.clone(),
            dup_keys: Box::default(),
        }
        .into_finding()
    }
}

/// The keys duplicate detection compares for `cred`: its tokens' digests, then its account's
/// (in the same allocation).
fn dup_keys(cred: &Credential, mut tokens: Vec<u128>) -> Box<[u128]> {
    if let Some(k) = cred.account_key() {
        tokens.push(credential::account_digest(&k));
    }
    tokens.into_boxed_slice()
}

/// Errors that stop a scan (per-file problems are findings, not errors).
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// A blob could not be read from the repository.
    #[error(transparent)]
    Git(#[from] crate::git::Error),
}

/// What a reader thread reads from.
enum Reader<'a> {
    Repo(Box<crate::git::BlobReader>),
    Dir(crate::fs::DirReader<'a>),
    /// Server entries are not read as files here (see `scan::entry`).
    Server(&'a crate::source::server::ServerOrigin),
}

impl Reader<'_> {
    /// Reads a candidate into `buf`; an outer error stops the scan, an inner one is a finding.
    fn read(&self, c: &Candidate, buf: &mut Vec<u8>) -> Result<Result<(), std::io::Error>, Error> {
        buf.clear();
        match (self, c.blob) {
            (Reader::Repo(r), Some(id)) => r.read_into(id, buf).map(Ok).map_err(Error::from),
            (Reader::Dir(dir), _) => {
                let rel = crate::fs::rel_path(&c.raw);
                Ok(if c.kind == EntryKind::Symlink {
                    std::fs::read_link(dir.root().join(rel))
                        .map(|t| buf.extend_from_slice(t.to_string_lossy().as_bytes()))
                } else {
                    dir.read_into(&rel, buf)
                })
            }
            (Reader::Repo(_), None) => Ok(Err(std::io::Error::other("no blob id"))),
            (Reader::Server(_), _) => Ok(Err(std::io::Error::other("a server entry"))),
        }
    }
}

fn analyze_one(
    reader: &Reader<'_>,
    c: &Candidate,
    opts: &Options,
    buf: &mut Vec<u8>,
) -> Result<Option<Scanned>, Error> {
    let blob = c.blob;
    let plain = |v: Verdict| Scanned::new(&c.path, blob, Facts::unknown(), v);
    let bytes: &[u8] = match reader.read(c, buf)? {
        Ok(()) => buf,
        Err(err) => {
            let v = Verdict::new(
                Status::CheckError,
                format!("cannot read file: {}", err.kind()),
            );
            return Ok(Some(plain(v)));
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
        return Ok(Some(plain(v)));
    }
    let obj = match credential::parse_json(bytes) {
        Ok(obj) => obj,
        Err(err) if c.explicit => {
            let v = Verdict::new(Status::InvalidFile, err.to_string());
            let mut s = plain(v);
            s.content_id = content_id;
            return Ok(Some(s));
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
        let mut s = plain(v);
        s.content_id = content_id;
        return Ok(Some(s));
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
    let facts = Facts::of(&cred, fingerprint, opts.show_identities);
    let mut s = Scanned::new(&c.path, blob, facts, verdict);
    s.content_id = content_id;
    s.dup_keys = dup_keys(&cred, token_digests);
    s.credential = opts.keep_credentials.then(|| Box::new(cred));
    Ok(Some(s))
}

/// A block of results: its first candidate index and what it produced.
type Block = (usize, Vec<Scanned>);

/// How many candidates a reader thread takes at a time.
const BLOCK: usize = 256;

/// The object database of the slice being read, shared by the reader threads: the first
/// thread to reach a slice opens it, and the previous one is unmapped once the last thread
/// still in it moves on. No thread waits for another at a slice's end.
#[derive(Default)]
struct Slices {
    current: std::sync::Mutex<Option<(usize, crate::git::BlobSource)>>,
}

impl Slices {
    /// A reader of slice `slice`'s object database (each reader keeps its database open).
    fn reader(
        &self,
        repo: &crate::git::Repo,
        slice: usize,
    ) -> Result<crate::git::BlobReader, Error> {
        let mut current = self
            .current
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        match &*current {
            Some((at, source)) if *at == slice => Ok(source.reader()),
            _ => {
                let source = repo.blob_source()?;
                let reader = source.reader();
                *current = Some((slice, source));
                Ok(reader)
            }
        }
    }
}

/// How many candidates are read through one object database (a multiple of [`BLOCK`]): at
/// 100,000 files a pack of about 90 MB is read in thirteen slices of about 7 MB.
const SLICE: usize = 32 * BLOCK;

/// Reads, parses and classifies every candidate; returns one entry per credential file in
/// candidate order, with duplicates and working-tree differences marked.
///
/// `sink` sees every block of results (up to 256 files) on its reader thread as soon as
/// it exists: online checks start there while the rest of the tree is still being read.
pub fn analyze(
    listing: &Listing,
    opts: &Options,
    sink: &(dyn Fn(&mut [Scanned]) + Sync),
) -> Result<Vec<Scanned>, Error> {
    let candidates = &listing.candidates;
    let jobs = if opts.jobs == 0 {
        std::thread::available_parallelism().map_or(1, std::num::NonZero::get)
    } else {
        opts.jobs
    }
    .clamp(1, candidates.len().max(1));
    let next = &AtomicUsize::new(0);
    let slices = &Slices::default();

    // Each finished block goes to this thread, which appends it in candidate order as soon as
    // the blocks before it are in: the records exist once, not once in their blocks and again
    // in the result (at 100,000 files that copy alone was 56 MB).
    let mut scanned: Vec<Scanned> = Vec::with_capacity(candidates.len());
    // At most four keys a file as CPA writes them (an account, an access, a refresh and an id
    // token): reserved once, as growing the list by doubling would copy it at its largest.
    // Reserved pages that are never written are never resident.
    let mut keys = Vec::with_capacity(candidates.len().saturating_mul(4));
    let (tx, rx) = std::sync::mpsc::channel::<Block>();
    let per_thread: Vec<Result<(), Error>> = std::thread::scope(|scope| {
        let handles: Vec<_> = (0..jobs)
            .map(|_| {
                let tx = tx.clone();
                scope.spawn(move || {
                    let worktree = match &listing.origin {
                        Origin::Repo { worktree, .. } => worktree.as_ref(),
                        Origin::Dir { .. } | Origin::Server(_) => None,
                    };
                    let mut reader: Option<(usize, Reader<'_>)> = None;
                    let mut buf = Vec::with_capacity(8192);
                    // Contiguous blocks keep neighbouring blobs (often deltas of each other)
                    // on one thread, where its delta-base cache can reuse them.
                    loop {
                        let start = next.fetch_add(BLOCK, Ordering::Relaxed);
                        if start >= candidates.len() {
                            break;
                        }
                        // A repository is read slice by slice, each slice through its own
                        // object database, so that only the pages of the pack the current
                        // slice needs stay mapped (`Repo::blob_source`). Other sources are
                        // one slice.
                        let slice = match &listing.origin {
                            Origin::Repo { .. } => start / SLICE,
                            Origin::Dir { .. } | Origin::Server(_) => 0,
                        };
                        let reader = match &mut reader {
                            Some((at, r)) if *at == slice => &*r,
                            held => {
                                // Let go of the slice left behind before opening the next.
                                *held = None;
                                let r = match &listing.origin {
                                    Origin::Repo { repo, .. } => {
                                        Reader::Repo(Box::new(slices.reader(repo, slice)?))
                                    }
                                    Origin::Dir { root } => {
                                        Reader::Dir(crate::fs::DirReader::new(root))
                                    }
                                    Origin::Server(o) => Reader::Server(o),
                                };
                                &held.insert((slice, r)).1
                            }
                        };
                        let mut block = Vec::with_capacity(BLOCK);
                        for (i, c) in candidates.iter().enumerate().skip(start).take(BLOCK) {
                            let one = match reader {
                                Reader::Server(o) => super::entry::analyze_entry(o, i, opts),
                                _ => analyze_one(reader, c, opts, &mut buf)?,
                            };
                            if let Some(mut s) = one {
                                s.candidate = i;
                                if let (Some(wt), Some(id)) = (worktree, c.blob) {
                                    s.worktree = wt.state_raw(&c.raw, id).map(|st| match st {
                                        WorktreeState::Modified => "modified",
                                        WorktreeState::Deleted => "deleted",
                                    });
                                }
                                block.push(s);
                            }
                        }
                        sink(&mut block);
                        // The receiver outlives every reader (it is this scope's own thread).
                        let _ = tx.send((start, block));
                    }
                    Ok(())
                })
            })
            .collect();
        drop(tx);
        // Blocks arrive in order per thread but interleaved across threads: hold the early
        // ones (at most a few per thread) until the blocks before them are in.
        let mut early = std::collections::BTreeMap::new();
        let mut due = 0;
        for (start, block) in rx {
            early.insert(start, block);
            while let Some(block) = early.remove(&due) {
                for mut s in block {
                    take_keys(&mut s, scanned.len(), &mut keys);
                    scanned.push(s);
                }
                due += BLOCK;
            }
        }
        handles
            .into_iter()
            .map(|h| {
                h.join()
                    .unwrap_or_else(|payload| std::panic::resume_unwind(payload))
            })
            .collect()
    });
    for part in per_thread {
        part?;
    }
    tracing::debug!("reader threads done");
    mark_duplicates(&mut scanned, keys);
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
    let offline = Verdict::new(s.offline.status, s.offline.reason.clone());
    // CPA sets `status_message` to `unauthorized` (or `invalid_grant`) only after its own
    // refresh failed (conductor_refresh.go:545-550): positive evidence for a relayed 401.
    let cpa_refresh_failed = s.server.as_ref().is_some_and(|st| {
        st.status_message.as_deref().is_some_and(|m| {
            m.eq_ignore_ascii_case("unauthorized") || m.eq_ignore_ascii_case("invalid_grant")
        })
    });
    match crate::providers::check(&cred, offline, now, &settings.probes, cpa_refresh_failed) {
        crate::providers::Check::Skip(v) => {
            s.online = Some(Box::new(Online {
                verdict: v,
                checked_at: None,
                elapsed_ms: None,
            }));
            None
        }
        crate::providers::Check::Probe(probe) => Some(crate::probe::Job {
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
        scanned[pos].online = Some(Box::new(Online {
            verdict: outcome.verdict,
            checked_at: Some(outcome.checked_at),
            elapsed_ms: Some(outcome.elapsed_ms),
        }));
    }
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
    let mut s = Scanned::new(
        path,
        None,
        Facts::provider(provider),
        Verdict::new(status, "test"),
    );
    s.content_id = content_id;
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_finding_is_built_from_the_verdict_in_effect() {
        let mut s = test_scanned("a.json", "codex", Status::ExpiredRefreshable, None);
        assert_eq!(s.finding().status, Status::ExpiredRefreshable);
        assert_eq!(s.finding().checked_at, None);
        let at = Utc::now();
        let mut online = Verdict::new(Status::RateLimited, "429 from the usage endpoint");
        online.http_status = Some(429);
        s.online = Some(Box::new(Online {
            verdict: online,
            checked_at: Some(at),
            elapsed_ms: Some(12),
        }));
        let f = s.finding();
        assert_eq!(
            (f.status, f.class),
            (Status::RateLimited, Status::RateLimited.class())
        );
        assert_eq!(
            (f.http_status, f.checked_at, f.elapsed_ms),
            (Some(429), Some(at), Some(12))
        );
        // The gate's fallback: the offline verdict decides, says so, keeps when it was checked.
        s.fall_back_offline();
        let f = s.finding();
        assert_eq!(f.status, Status::ExpiredRefreshable);
        assert_eq!(
            f.reason,
            "test (online check did not finish; offline verdict)"
        );
        assert_eq!((f.http_status, f.checked_at), (None, Some(at)));
    }

    /// Moving a record into its finding gives what copying it does, field for field.
    #[test]
    fn into_finding_is_the_copied_finding() {
        let mut s = test_scanned("b.json", "codex", Status::Active, None);
        s.facts.fingerprint = Some("0123456789ab".into());
        s.facts.account = Some("a***@example.com".into());
        s.duplicates = vec!["c.json".to_owned()];
        s.pinned = Some("kept for the demo".to_owned());
        let mut online = Verdict::new(Status::UsageLimited, "usage limit reached");
        online.quota = Some(Box::new(crate::verdict::Quota {
            plan: Some("plus".to_owned()),
            windows: Vec::new(),
        }));
        s.online = Some(Box::new(Online {
            verdict: online,
            checked_at: Some(Utc::now()),
            elapsed_ms: Some(7),
        }));
        let copied = serde_json::to_value(s.finding()).unwrap();
        assert_eq!(copied["status"], "usage_limited");
        assert_eq!(copied["quota"]["plan"], "plus");
        assert_eq!(serde_json::to_value(s.into_finding()).unwrap(), copied);
    }
}
