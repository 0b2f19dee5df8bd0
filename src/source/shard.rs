//! Sharding (`scan --shard K/N`): which files belong to shard K of N, by a hash of the path
//! alone, so that N runners (a CI matrix) scan disjoint subsets that together are the whole
//! tree, and the same file lands in the same shard on every run and machine.
//!
//! The hash: the first 8 bytes of the SHA-256 of the path's bytes (as git stores them, `/`
//! separated, relative to the repository root or scanned folder), read as a big-endian u64;
//! the file is in shard `(that mod N) + 1`. SHA-256 is fixed by its standard (no seed, no
//! platform or version dependence), unlike std's `DefaultHasher`. Pure: no I/O.

use std::fmt;
use std::str::FromStr;

use sha2::{Digest as _, Sha256};

/// Shard K of N (1 ≤ K ≤ N).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Shard {
    k: u64,
    n: u64,
}

/// The largest N accepted: a matrix of more jobs than GitHub allows (256) is a typo.
pub const MAX_SHARDS: u64 = 4096;

/// A `--shard` value that is not `K/N` with 1 ≤ K ≤ N ≤ [`MAX_SHARDS`].
#[derive(Debug, thiserror::Error)]
#[error("--shard '{0}' is not K/N with 1 <= K <= N <= {MAX_SHARDS} (e.g. --shard 2/4)")]
pub struct Error(String);

impl Shard {
    /// Shard `k` of `n`, or `None` unless 1 ≤ k ≤ n ≤ [`MAX_SHARDS`].
    pub fn new(k: u64, n: u64) -> Option<Self> {
        ((1..=MAX_SHARDS).contains(&n) && (1..=n).contains(&k)).then_some(Self { k, n })
    }

    /// K, from 1.
    pub fn index(self) -> u64 {
        self.k
    }

    /// N.
    pub fn count(self) -> u64 {
        self.n
    }

    /// Returns the shard (1..=N) a path belongs to among `n`.
    pub fn of(path: &[u8], n: u64) -> u64 {
        let digest = Sha256::digest(path);
        let mut head = [0u8; 8];
        head.copy_from_slice(&digest[..8]);
        u64::from_be_bytes(head) % n.max(1) + 1
    }

    /// Whether `path` (raw bytes, as git stores it) is in this shard.
    pub fn contains(self, path: &[u8]) -> bool {
        Self::of(path, self.n) == self.k
    }
}

impl fmt::Display for Shard {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.k, self.n)
    }
}

impl FromStr for Shard {
    type Err = Error;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let bad = || Error(s.escape_debug().to_string());
        let (k, n) = s.trim().split_once('/').ok_or_else(bad)?;
        // Digits only: u64's parser takes a leading '+', which is no way to write a shard.
        let num = |t: &str| {
            (!t.is_empty() && t.bytes().all(|b| b.is_ascii_digit()))
                .then(|| t.parse::<u64>().ok())
                .flatten()
        };
        match (num(k), num(n)) {
            (Some(k), Some(n)) => Shard::new(k, n).ok_or_else(bad),
            _ => Err(bad()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parse_accepts_k_of_n_and_refuses_everything_else() {
        assert_eq!("2/4".parse::<Shard>().unwrap(), Shard::new(2, 4).unwrap());
        assert_eq!("1/1".parse::<Shard>().unwrap().to_string(), "1/1");
        for bad in [
            "", "0/4", "5/4", "4", "/4", "2/", "a/b", "-1/4", "+1/4", "1/0", "1/4097", "1/4/8",
            "1.5/4",
        ] {
            let err = bad.parse::<Shard>().unwrap_err().to_string();
            assert!(err.starts_with("--shard '"), "{bad}: {err}");
            assert!(!err.contains('\n'), "{err}");
        }
    }

    /// The documented hash, pinned: SHA-256("auths/a.json") starts with these bytes, so these
    /// shards hold on every machine and in every version.
    #[test]
    fn the_shard_of_a_path_is_the_documented_sha256_prefix_mod_n() {
        let digest = Sha256::digest(b"auths/a.json");
        let head = u64::from_be_bytes(digest[..8].try_into().unwrap());
        for n in [1, 2, 3, 4, 7, 256] {
            assert_eq!(Shard::of(b"auths/a.json", n), head % n + 1);
        }
        assert_eq!(
            format!("{head:016x}"),
            "941eebe90b8e90e7",
            "the hash of a path must never change between versions"
        );
    }

    #[test]
    fn shards_partition_the_paths() {
        let paths: Vec<String> = (0..1000).map(|i| format!("auths/f{i}.json")).collect();
        let shards: Vec<Shard> = (1..=4).map(|k| Shard::new(k, 4).unwrap()).collect();
        let mut sizes = [0usize; 4];
        for p in &paths {
            let holders: Vec<usize> = (0..4)
                .filter(|&i| shards[i].contains(p.as_bytes()))
                .collect();
            assert_eq!(holders.len(), 1, "{p}");
            sizes[holders[0]] += 1;
        }
        // Roughly even (a hash, not a round robin).
        assert!(sizes.iter().all(|&s| (180..=320).contains(&s)), "{sizes:?}");
    }
}
