//! Reading and writing the verdict history in the repository, through the git layer's data refs
//! (`git::Repo::root_blobs`, `write_root_blobs`, `data_commit`, `swap_ref`). Recording reads the
//! tip, adds this run's verdicts, writes a commit on the tip and moves the ref with
//! compare-and-swap, again from the new tip when another writer got there first. Merging
//! another history (a runner's, fetched) fast-forwards when one contains the other, else writes
//! a merge commit of the union with both tips as parents. No printing.

use super::{Error as FormatError, History, REF, Recorded};
use crate::git::{self, ObjectId, Repo};

/// How often a record or merge starts again after losing a race for the ref.
const RETRIES: usize = 16;

/// Why the history cannot be read or written.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The ref holds another format.
    #[error(transparent)]
    Format(#[from] FormatError),
    /// The repository refused.
    #[error(transparent)]
    Git(#[from] git::Error),
    /// Other writers kept moving the ref.
    #[error("{REF} kept moving while git-credman recorded ({RETRIES} tries); run it again")]
    Busy,
}

/// Reads the history at a commit.
pub fn read_at(repo: &Repo, commit: ObjectId) -> Result<History, Error> {
    Ok(History::from_blobs(&repo.root_blobs(commit)?)?)
}

/// Reads the ref's tip and its history (empty when the ref does not exist).
pub fn load(repo: &Repo) -> Result<(Option<ObjectId>, History), Error> {
    match repo.ref_tip(REF)? {
        Some(tip) => Ok((Some(tip), read_at(repo, tip)?)),
        None => Ok((None, History::default())),
    }
}

/// One credential's verdict of this run.
#[derive(Clone, Debug)]
pub struct Entry {
    /// Its key (`super::keys`).
    pub key: String,
    /// Its path.
    pub path: String,
    /// The verdict.
    pub verdict: Recorded,
}

/// Adds `entries` to a history.
pub fn apply(history: &mut History, entries: &[Entry]) {
    for e in entries {
        history.record(&e.key, &e.path, e.verdict.clone());
    }
}

/// Records this run's verdicts as a new commit of the ref; returns it and the history it holds.
pub fn record(repo: &Repo, entries: &[Entry], message: &str) -> Result<(ObjectId, History), Error> {
    for _ in 0..RETRIES {
        let started = std::time::Instant::now();
        let (tip, mut history) = load(repo)?;
        let loaded = started.elapsed().as_millis();
        apply(&mut history, entries);
        let applied = started.elapsed().as_millis();
        let blobs = history.to_blobs();
        let serialized = started.elapsed().as_millis();
        let tree = repo.write_root_blobs(&blobs)?;
        tracing::info!(
            credentials = history.len(),
            loaded_ms = loaded,
            applied_ms = applied,
            serialized_ms = serialized,
            written_ms = started.elapsed().as_millis(),
            "verdict history"
        );
        let parents: Vec<ObjectId> = tip.into_iter().collect();
        let commit = repo.data_commit(tree, &parents, message)?;
        match repo.swap_ref(REF, tip, commit, "credman: record verdicts") {
            Ok(()) => return Ok((commit, history)),
            Err(git::Error::RefMoved { .. }) => {}
            Err(e) => return Err(e.into()),
        }
    }
    Err(Error::Busy)
}

/// What a merge did.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Merged {
    /// The ref already contains the other history.
    UpToDate(ObjectId),
    /// The ref did not exist: it now points at the other history.
    Created(ObjectId),
    /// The other history contained the ref's: moved forward to it.
    FastForward(ObjectId),
    /// Both had verdicts the other lacked: a merge commit of the union.
    Merge(ObjectId),
}

/// Merges the history at `other` (a fetched runner's) into the ref.
pub fn merge(repo: &Repo, other: ObjectId, other_name: &str) -> Result<Merged, Error> {
    // Refuse another format before anything moves.
    let theirs = read_at(repo, other)?;
    for _ in 0..RETRIES {
        let tip = repo.ref_tip(REF)?;
        let (result, expected, new) = match tip {
            None => (Merged::Created(other), None, other),
            Some(t) if repo.is_ancestor(other, t)? => return Ok(Merged::UpToDate(t)),
            Some(t) if repo.is_ancestor(t, other)? => (Merged::FastForward(other), Some(t), other),
            Some(t) => {
                let mut ours = read_at(repo, t)?;
                ours.union(theirs.clone());
                let tree = repo.write_root_blobs(&ours.to_blobs())?;
                let message = format!(
                    "credman: merge verdicts of {}\n\n{} credential(s) in the union.\n",
                    crate::report::escape(other_name),
                    ours.len()
                );
                let commit = repo.data_commit(tree, &[t, other], &message)?;
                (Merged::Merge(commit), Some(t), commit)
            }
        };
        match repo.swap_ref(REF, expected, new, "credman: merge verdicts") {
            Ok(()) => return Ok(result),
            Err(git::Error::RefMoved { .. }) => {}
            Err(e) => return Err(e.into()),
        }
    }
    Err(Error::Busy)
}

/// The keys of a scan's records, in order (`super::keys`).
pub fn keys_of(scanned: &[crate::scan::Scanned]) -> Vec<String> {
    let items: Vec<(Option<&str>, Option<&str>, &str)> = scanned
        .iter()
        .map(|s| {
            (
                s.facts.identity.as_deref(),
                s.facts.fingerprint.as_deref(),
                s.path.as_str(),
            )
        })
        .collect();
    super::keys(&items)
}

/// This scan's verdicts as entries to record, each at `at`.
pub fn entries_of(
    scanned: &[crate::scan::Scanned],
    at: chrono::DateTime<chrono::Utc>,
) -> Vec<Entry> {
    let at = chrono::DateTime::from_timestamp(at.timestamp(), 0).unwrap_or(at);
    keys_of(scanned)
        .into_iter()
        .zip(scanned)
        .map(|(key, s)| {
            let v = s.verdict();
            Entry {
                key,
                path: s.path.clone(),
                verdict: Recorded::new(at, v.status, v.http_status, &v.reason),
            }
        })
        .collect()
}

/// The message of a record commit.
pub fn record_message(
    entries: &[Entry],
    source: &str,
    at: chrono::DateTime<chrono::Utc>,
) -> String {
    let dead = entries.iter().filter(|e| e.verdict.is_strike()).count();
    format!(
        "credman: record {} verdict(s), {dead} dead\n\nSource: {}\nAt: {}\n",
        entries.len(),
        crate::report::escape(source),
        crate::report::rfc3339(at)
    )
}
