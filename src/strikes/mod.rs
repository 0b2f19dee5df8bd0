//! N-strikes: the verdict history kept in the repository (`refs/credman/verdicts`) and the rule
//! `prune --strikes N --spacing T` applies to it. Pure: the git layer (`git::dataref`) reads
//! and writes the blobs; this file says what they hold.
//!
//! **Format.** Each commit of the ref has a flat tree: `FORMAT` (one line naming this format)
//! and up to 256 shard blobs named by two hex digits (the first byte of the SHA-256 of a
//! credential's key). A shard holds one JSON line per credential, sorted by key:
//! `{"key":"id:0123456789ab","path":"auths/a.json","verdicts":[{"at":"…","status":"…",
//! "http_status":401,"reason":"…"}]}`, the verdicts oldest first. The key is the credential's
//! identity (`id:` + `Credential::identity_key`), else its token fingerprint (`fp:`), else its
//! path (`path:`); when one scan has several files with the same identity (copies of one
//! account) or the same token, each gets the fingerprint or the path appended, so that a live
//! copy never interrupts a dead one's strikes (nor the other way round).
//!
//! **What is kept.** Per credential, the last [`KEEP`] verdicts, plus the first verdict of the
//! current dead streak and the last verdict before it (the break): enough to count up to
//! [`KEEP`] strikes and to measure the streak's true span however often it is scanned. Merging
//! two histories (two runners) is the union of their verdicts (deduplicated by time and
//! status), kept by the same rule; it never invents a strike: the latest break of either side
//! survives, so a merged streak is never longer than the real one.
//!
//! **The rule.** A recorded verdict is a strike when its status is of class dead; any other
//! status (alive, transient, unknown, or one this version does not know) breaks the streak. A
//! credential passes `--strikes N --spacing T` when its last N or more verdicts are all strikes
//! and the streak's first and last verdicts are at least T apart.

pub mod store;

use std::collections::{BTreeMap, HashMap};
use std::fmt::Write as _;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use sha2::{Digest as _, Sha256};

use crate::status::{Class, Status};

/// The ref the verdicts are kept in.
pub const REF: &str = "refs/credman/verdicts";
/// The name and content of the blob that names the format.
pub const FORMAT_FILE: &str = "FORMAT";
/// The content of [`FORMAT_FILE`].
pub const FORMAT: &str = "git-credman verdicts 1\n";
/// How many recent verdicts are kept per credential; `--strikes` is at most this.
pub const KEEP: usize = 8;
/// How long a kept reason may be (characters).
const REASON_MAX: usize = 160;

/// One recorded verdict.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Recorded {
    /// When the scan decided it.
    pub at: DateTime<Utc>,
    /// The status (`Status` name; kept as text so that a newer version's statuses survive).
    pub status: String,
    /// The HTTP status of the deciding answer, if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub http_status: Option<u16>,
    /// Why (the report's reason, shortened).
    #[serde(default)]
    pub reason: String,
}

impl Recorded {
    /// A verdict of a scan at `at`.
    pub fn new(at: DateTime<Utc>, status: Status, http_status: Option<u16>, reason: &str) -> Self {
        let reason = if reason.chars().count() > REASON_MAX {
            let mut r: String = reason.chars().take(REASON_MAX - 1).collect();
            r.push('…');
            r
        } else {
            reason.to_owned()
        };
        Self {
            at,
            status: status.as_str().to_owned(),
            http_status,
            reason,
        }
    }

    /// Whether this verdict is a strike (a status of class dead).
    pub fn is_strike(&self) -> bool {
        self.status
            .parse::<Status>()
            .is_ok_and(|s| s.class() == Class::Dead)
    }
}

/// One credential's line in a shard.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Line {
    /// The key (see the module docs).
    pub key: String,
    /// The path it was last recorded at.
    #[serde(default)]
    pub path: String,
    /// Its verdicts, oldest first.
    pub verdicts: Vec<Recorded>,
}

/// Why a history cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The ref holds another (newer) format.
    #[error(
        "{REF} holds another format than this git-credman writes ({0}); upgrade git-credman \
         (nothing was changed)"
    )]
    Format(String),
}

/// A whole verdict history, by key.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct History {
    lines: BTreeMap<String, Line>,
    /// Lines that could not be read (skipped; reading is never fatal for a line).
    pub unreadable: usize,
}

/// The shard (two hex digits) a key is stored in.
pub fn shard_of(key: &str) -> String {
    let d = Sha256::digest(key.as_bytes());
    format!("{:02x}", d[0])
}

/// Sorts, deduplicates (same time and status) and thins a credential's verdicts.
fn retain(verdicts: &mut Vec<Recorded>) {
    verdicts.sort_by(|a, b| (a.at, &a.status).cmp(&(b.at, &b.status)));
    verdicts.dedup_by(|a, b| a.at == b.at && a.status == b.status);
    let n = verdicts.len();
    if n <= KEEP {
        return;
    }
    let brk = verdicts.iter().rposition(|v| !v.is_strike());
    let anchor = match brk {
        Some(b) if b + 1 < n => Some(b + 1),
        Some(_) => None,
        None => Some(0),
    };
    let mut i = 0;
    verdicts.retain(|_| {
        let keep = i + KEEP >= n || Some(i) == brk || Some(i) == anchor;
        i += 1;
        keep
    });
}

impl History {
    /// Reads a history from the blobs of a tip: refuses another format, skips what it cannot
    /// read.
    pub fn from_blobs(blobs: &[(String, Vec<u8>)]) -> Result<Self, Error> {
        let mut h = Self::default();
        for (name, data) in blobs {
            if name == FORMAT_FILE {
                let text = String::from_utf8_lossy(data);
                if text != FORMAT {
                    let first = text.lines().next().unwrap_or("").chars().take(60);
                    return Err(Error::Format(
                        crate::report::escape(&first.collect::<String>()).into_owned(),
                    ));
                }
                continue;
            }
            if name.len() != 2 || !name.bytes().all(|b| b.is_ascii_hexdigit()) {
                continue;
            }
            for raw in data.split(|b| *b == b'\n') {
                if raw.iter().all(u8::is_ascii_whitespace) {
                    continue;
                }
                match serde_json::from_slice::<Line>(raw) {
                    Ok(line) => h.add_line(line),
                    Err(_) => h.unreadable += 1,
                }
            }
        }
        Ok(h)
    }

    fn add_line(&mut self, line: Line) {
        match self.lines.get_mut(&line.key) {
            Some(have) => {
                have.verdicts.extend(line.verdicts);
                if have.path.is_empty() {
                    have.path = line.path;
                }
                retain(&mut have.verdicts);
            }
            None => {
                let mut line = line;
                retain(&mut line.verdicts);
                self.lines.insert(line.key.clone(), line);
            }
        }
    }

    /// Adds one verdict of the credential `key`, last seen at `path`.
    pub fn record(&mut self, key: &str, path: &str, verdict: Recorded) {
        let line = self.lines.entry(key.to_owned()).or_insert_with(|| Line {
            key: key.to_owned(),
            path: String::new(),
            verdicts: Vec::new(),
        });
        path.clone_into(&mut line.path);
        line.verdicts.push(verdict);
        retain(&mut line.verdicts);
    }

    /// Adds every verdict of `other` (the union; the paths of `self` win).
    pub fn union(&mut self, other: History) {
        for (_, line) in other.lines {
            self.add_line(line);
        }
    }

    /// The line of a key.
    pub fn get(&self, key: &str) -> Option<&Line> {
        self.lines.get(key)
    }

    /// How many credentials it holds.
    pub fn len(&self) -> usize {
        self.lines.len()
    }

    /// Whether it holds none.
    pub fn is_empty(&self) -> bool {
        self.lines.is_empty()
    }

    /// The blobs of a tree holding this history: [`FORMAT_FILE`] and the shards.
    pub fn to_blobs(&self) -> Vec<(String, Vec<u8>)> {
        let mut shards: BTreeMap<String, Vec<u8>> = BTreeMap::new();
        for line in self.lines.values() {
            let blob = shards.entry(shard_of(&line.key)).or_default();
            if serde_json::to_writer(&mut *blob, line).is_ok() {
                blob.push(b'\n');
            }
        }
        // Lines are written in key order within each shard (the map is sorted).
        let mut out = vec![(FORMAT_FILE.to_owned(), FORMAT.as_bytes().to_vec())];
        out.extend(shards);
        out
    }
}

/// The keys of a scan's credentials, given each one's (identity, fingerprint, path): see the
/// module docs.
pub fn keys(items: &[(Option<&str>, Option<&str>, &str)]) -> Vec<String> {
    let mut ids: HashMap<&str, usize> = HashMap::new();
    let mut fps: HashMap<&str, usize> = HashMap::new();
    for (id, fp, _) in items {
        if let Some(id) = id {
            *ids.entry(id).or_default() += 1;
        } else if let Some(fp) = fp {
            *fps.entry(fp).or_default() += 1;
        }
    }
    items
        .iter()
        .map(|(id, fp, path)| match (id, fp) {
            (Some(id), _) if ids.get(id) == Some(&1) => format!("id:{id}"),
            (Some(id), Some(fp)) => format!("id:{id}+fp:{fp}"),
            (Some(id), None) => format!("id:{id}+path:{path}"),
            (None, Some(fp)) if fps.get(fp) == Some(&1) => format!("fp:{fp}"),
            (None, Some(fp)) => format!("fp:{fp}+path:{path}"),
            (None, None) => format!("path:{path}"),
        })
        .collect()
}

/// What the rule says about one credential.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Judgement {
    /// Whether it may be removed.
    pub passes: bool,
    /// The verdicts of its current dead streak, oldest first (what a removal cites).
    pub streak: Vec<Recorded>,
    /// Why it is kept (empty when it passes).
    pub why: String,
}

/// Formats a duration for people: `6h`, `1h 30m`, `45m`, `20s`.
pub fn human_duration(d: chrono::TimeDelta) -> String {
    let secs = d.num_seconds().max(0);
    let (h, m, s) = (secs / 3600, secs % 3600 / 60, secs % 60);
    let mut out = String::new();
    if h > 0 {
        let _ = write!(out, "{h}h");
    }
    if m > 0 {
        let _ = write!(out, "{}{m}m", if out.is_empty() { "" } else { " " });
    }
    if out.is_empty() {
        let _ = write!(out, "{s}s");
    }
    out
}

/// Applies `--strikes n --spacing spacing` to a credential's recorded verdicts.
pub fn judge(line: Option<&Line>, n: usize, spacing: chrono::TimeDelta) -> Judgement {
    let verdicts = line.map_or(&[][..], |l| l.verdicts.as_slice());
    let start = verdicts
        .iter()
        .rposition(|v| !v.is_strike())
        .map_or(0, |b| b + 1);
    let streak = verdicts[start..].to_vec();
    let have = streak.len();
    let kept = |why: String| Judgement {
        passes: false,
        streak: streak.clone(),
        why,
    };
    if have < n {
        let last = verdicts
            .last()
            .filter(|v| !v.is_strike())
            .map_or(String::new(), |v| {
                format!("; the last recorded verdict is {}", v.status)
            });
        return kept(format!(
            "{have} of {n} strikes (dead in {have} consecutive recorded verdict(s)){last}"
        ));
    }
    let span = match (streak.first(), streak.last()) {
        (Some(a), Some(b)) => b.at - a.at,
        _ => chrono::TimeDelta::zero(),
    };
    if span < spacing {
        return kept(format!(
            "{have} of {n} strikes, but only {} apart (--spacing {})",
            human_duration(span),
            human_duration(spacing)
        ));
    }
    Judgement {
        passes: true,
        streak,
        why: String::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(h: i64) -> DateTime<Utc> {
        DateTime::from_timestamp(1_800_000_000 + h * 3600, 0).unwrap()
    }

    fn v(h: i64, s: Status) -> Recorded {
        Recorded::new(at(h), s, None, "why")
    }

    const DEAD: Status = Status::Invalidated;
    const ALIVE: Status = Status::Active;

    fn line(vs: Vec<Recorded>) -> Line {
        Line {
            key: "id:0".into(),
            path: "a.json".into(),
            verdicts: vs,
        }
    }

    #[test]
    fn strikes_need_n_consecutive_dead_verdicts_spanning_the_spacing() {
        let six = chrono::TimeDelta::hours(6);
        let three = line(vec![v(0, ALIVE), v(1, DEAD), v(4, DEAD), v(7, DEAD)]);
        assert!(judge(Some(&three), 3, six).passes);
        assert_eq!(judge(Some(&three), 3, six).streak.len(), 3);
        // An alive verdict in between: a one-off outage.
        let outage = line(vec![v(0, ALIVE), v(1, DEAD), v(2, ALIVE), v(8, DEAD)]);
        let j = judge(Some(&outage), 3, six);
        assert!(!j.passes);
        assert!(j.why.starts_with("1 of 3 strikes"), "{}", j.why);
        // Enough strikes, too close together.
        let close = line(vec![v(1, DEAD), v(2, DEAD), v(3, DEAD)]);
        let j = judge(Some(&close), 3, six);
        assert!(!j.passes);
        assert_eq!(j.why, "3 of 3 strikes, but only 2h apart (--spacing 6h)");
        // A transient or unknown verdict breaks the streak too; nothing recorded: 0 strikes.
        let transient = line(vec![v(0, DEAD), v(7, Status::RateLimited), v(8, DEAD)]);
        assert!(!judge(Some(&transient), 2, chrono::TimeDelta::zero()).passes);
        assert_eq!(
            judge(None, 1, six).why,
            "0 of 1 strikes (dead in 0 consecutive recorded verdict(s))"
        );
        // A status this version does not know is no strike.
        let mut odd = v(9, DEAD);
        odd.status = "zombie".into();
        let j = judge(Some(&line(vec![v(0, DEAD), v(7, DEAD), odd])), 2, six);
        assert!(
            !j.passes && j.why.contains("last recorded verdict is zombie"),
            "{}",
            j.why
        );
    }

    #[test]
    fn thinning_keeps_the_streaks_start_and_the_break_before_it() {
        let mut h = History::default();
        h.record("k", "a.json", v(0, ALIVE));
        for i in 1..=20 {
            h.record("k", "a.json", v(i, DEAD));
        }
        let l = h.get("k").unwrap();
        assert_eq!(l.verdicts.len(), KEEP + 2);
        assert_eq!(l.verdicts[0], v(0, ALIVE));
        assert_eq!(l.verdicts[1], v(1, DEAD));
        assert_eq!(l.verdicts.last().unwrap(), &v(20, DEAD));
        let j = judge(Some(l), KEEP, chrono::TimeDelta::hours(19));
        assert!(j.passes, "{}", j.why);
        // Re-recording the same verdict (same time and status) adds nothing.
        h.record("k", "b.json", v(20, DEAD));
        assert_eq!(h.get("k").unwrap().verdicts.len(), KEEP + 2);
        assert_eq!(h.get("k").unwrap().path, "b.json");
    }

    #[test]
    fn a_union_of_two_runners_keeps_both_and_never_invents_a_strike() {
        let mut a = History::default();
        let mut b = History::default();
        a.record("k", "a.json", v(0, DEAD));
        a.record("k", "a.json", v(6, DEAD));
        b.record("k", "a.json", v(3, ALIVE));
        b.record("k", "a.json", v(7, DEAD));
        b.record("other", "o.json", v(7, DEAD));
        let mut m = a.clone();
        m.union(b.clone());
        let mut m2 = b;
        m2.union(a);
        assert_eq!(m.get("k").unwrap().verdicts, m2.get("k").unwrap().verdicts);
        assert_eq!(m.len(), 2);
        let j = judge(m.get("k"), 2, chrono::TimeDelta::hours(1));
        assert!(j.passes);
        assert_eq!(
            j.streak,
            [v(6, DEAD), v(7, DEAD)],
            "the alive verdict at 3 breaks it"
        );
        assert!(!judge(m.get("k"), 3, chrono::TimeDelta::zero()).passes);
    }

    #[test]
    fn blobs_round_trip_skip_bad_lines_and_refuse_another_format() {
        let mut h = History::default();
        h.record(
            "id:0123456789ab",
            "auths/a.json",
            Recorded::new(at(0), DEAD, Some(401), "401"),
        );
        h.record("path:x.json", "x.json", v(1, ALIVE));
        let blobs = h.to_blobs();
        assert_eq!(
            blobs[0],
            (FORMAT_FILE.to_owned(), FORMAT.as_bytes().to_vec())
        );
        assert_eq!(History::from_blobs(&blobs).unwrap(), h);
        let mut bad = blobs.clone();
        bad[1].1.extend_from_slice(b"{not json\n");
        bad.push(("README".into(), b"ignored".to_vec()));
        let read = History::from_blobs(&bad).unwrap();
        assert_eq!(read.unreadable, 1);
        assert_eq!(read.len(), 2);
        let mut newer = blobs;
        newer[0].1 = b"git-credman verdicts 2\n".to_vec();
        assert!(
            History::from_blobs(&newer)
                .unwrap_err()
                .to_string()
                .contains("verdicts 2")
        );
        // The reason is shortened; the key's shard is two hex digits.
        let long = Recorded::new(at(0), DEAD, None, &"x".repeat(500));
        assert_eq!(long.reason.chars().count(), REASON_MAX);
        assert_eq!(shard_of("id:0123456789ab").len(), 2);
    }

    #[test]
    fn keys_prefer_the_identity_and_split_copies_of_one_account() {
        let items = [
            (Some("aaaaaaaaaaaa"), Some("f1"), "a.json"),
            (Some("bbbbbbbbbbbb"), Some("f2"), "b1.json"),
            (Some("bbbbbbbbbbbb"), Some("f3"), "b2.json"),
            (None, Some("f4"), "kimi.json"),
            (None, None, "bad.json"),
        ];
        assert_eq!(
            keys(&items),
            [
                "id:aaaaaaaaaaaa",
                "id:bbbbbbbbbbbb+fp:f2",
                "id:bbbbbbbbbbbb+fp:f3",
                "fp:f4",
                "path:bad.json"
            ]
        );
    }
}
