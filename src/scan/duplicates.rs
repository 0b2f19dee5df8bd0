//! Duplicate groups: files that hold the same account or the same token, directly or through
//! each other (a re-login that left the old file behind, a copy under a second name). Linear in
//! files and secrets; each member lists at most [`MAX_LISTED_DUPLICATES`] others.

use super::Scanned;
use crate::report::{DuplicateGroup, MAX_LISTED_DUPLICATES};

/// One duplicate key (16 bytes of a digest) and the position of the record holding it: 20
/// bytes (a `u128` would align the pair to 32), a few per file.
pub(crate) type Key = ([u8; 16], u32);

/// Moves the duplicate keys of `s`, which sits at `at` in the result, into `into`.
pub(crate) fn take_keys(s: &mut Scanned, at: usize, into: &mut Vec<Key>) {
    let keys = std::mem::take(&mut s.dup_keys);
    // Positions fit in 32 bits (no tree holds 4 billion credential files); one that did not
    // would only go unmatched.
    if let Ok(at) = u32::try_from(at) {
        into.extend(keys.iter().map(|k| (k.to_be_bytes(), at)));
    }
}

/// Finds the groups of files that hold the same account or the same token (directly or through
/// each other) and marks every member: `duplicate_group` (id and size) and `duplicates` (at most
/// [`MAX_LISTED_DUPLICATES`] other members, in scan order).
///
/// Linear in the number of files and secrets (plus the sorts): recording every pair was
/// quadratic, 1.4 GB and a 370 MB report for 4,000 files sharing one token (issue 10).
pub(crate) fn mark_duplicates(scanned: &mut [Scanned], mut keys: Vec<Key>) {
    // Sort (key, index) pairs and walk the runs: no per-key allocation, which matters at
    // 100,000 files. Account keys and token digests share the list: an account key's digest
    // has its own prefix (`credential::account_digest`), so it only ever matches an account.
    keys.sort_unstable();
    let mut sets = DisjointSets::new(scanned.len());
    for pair in keys.windows(2) {
        if pair[0].0 == pair[1].0 {
            sets.union(pair[0].1 as usize, pair[1].1 as usize);
        }
    }
    drop(keys);
    // Members of each group, in scan order; groups numbered by their first member.
    let mut members: std::collections::HashMap<usize, Vec<usize>> =
        std::collections::HashMap::new();
    for i in 0..scanned.len() {
        let root = sets.find(i);
        if sets.size[root] > 1 {
            members.entry(root).or_default().push(i);
        }
    }
    let mut groups: Vec<Vec<usize>> = members.into_values().collect();
    groups.sort_unstable_by_key(|g| g[0]);
    for (n, group) in groups.iter().enumerate() {
        let id = DuplicateGroup {
            id: n + 1,
            size: group.len(),
        };
        // Each member lists the first others of its group: bounded, so the total is linear.
        let listed: Vec<usize> = group
            .iter()
            .copied()
            .take(MAX_LISTED_DUPLICATES + 1)
            .collect();
        for &i in group {
            let others: Vec<String> = listed
                .iter()
                .filter(|&&j| j != i)
                .take(MAX_LISTED_DUPLICATES)
                .map(|&j| scanned[j].path.clone())
                .collect();
            let s = &mut scanned[i];
            s.duplicates = others;
            s.duplicate_group = Some(id);
        }
    }
}

/// Union-find over indices, with path halving and union by size.
struct DisjointSets {
    parent: Vec<usize>,
    size: Vec<usize>,
}

impl DisjointSets {
    fn new(n: usize) -> Self {
        Self {
            parent: (0..n).collect(),
            size: vec![1; n],
        }
    }

    fn find(&mut self, mut i: usize) -> usize {
        while self.parent[i] != i {
            self.parent[i] = self.parent[self.parent[i]];
            i = self.parent[i];
        }
        i
    }

    fn union(&mut self, a: usize, b: usize) {
        let (mut a, mut b) = (self.find(a), self.find(b));
        if a == b {
            return;
        }
        if self.size[a] < self.size[b] {
            std::mem::swap(&mut a, &mut b);
        }
        self.parent[b] = a;
        self.size[a] += self.size[b];
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::status::Status;

    fn file(path: &str, account: Option<&str>, tokens: &[u128]) -> Scanned {
        let mut s = super::super::analyze::test_scanned(path, "codex", Status::Active, None);
        s.dup_keys = account
            .map(crate::credential::account_digest)
            .into_iter()
            .chain(tokens.iter().copied())
            .collect();
        s
    }

    fn mark(scanned: &mut [Scanned]) {
        let mut keys = Vec::new();
        for (i, s) in scanned.iter_mut().enumerate() {
            take_keys(s, i, &mut keys);
        }
        mark_duplicates(scanned, keys);
    }

    fn groups(scanned: &[Scanned]) -> Vec<Option<(usize, usize)>> {
        scanned
            .iter()
            .map(|s| s.duplicate_group.map(|g| (g.id, g.size)))
            .collect()
    }

    #[test]
    fn same_account_or_same_token_joins_a_group_transitively() {
        // a~b share an account, b~c share a token: one group of three; d is alone.
        let mut s = vec![
            file("a.json", Some("codex:x"), &[1]),
            file("b.json", Some("codex:x"), &[2]),
            file("c.json", None, &[2, 3]),
            file("d.json", Some("codex:y"), &[4]),
        ];
        mark(&mut s);
        assert_eq!(
            groups(&s),
            vec![Some((1, 3)), Some((1, 3)), Some((1, 3)), None]
        );
        assert_eq!(s[0].duplicates, ["b.json", "c.json"]);
        assert_eq!(s[2].duplicates, ["a.json", "b.json"]);
        assert!(s[3].duplicates.is_empty());
    }

    #[test]
    fn groups_are_numbered_by_their_first_member() {
        let mut s = vec![
            file("a.json", None, &[9]),
            file("b.json", None, &[7]),
            file("c.json", None, &[9]),
            file("d.json", None, &[7]),
        ];
        mark(&mut s);
        assert_eq!(
            groups(&s),
            vec![Some((1, 2)), Some((2, 2)), Some((1, 2)), Some((2, 2))]
        );
    }

    #[test]
    fn a_large_group_lists_a_bounded_number_of_others() {
        let mut s: Vec<Scanned> = (0..MAX_LISTED_DUPLICATES + 5)
            .map(|i| file(&format!("{i:02}.json"), None, &[42]))
            .collect();
        mark(&mut s);
        for (i, f) in s.iter().enumerate() {
            assert_eq!(
                f.duplicate_group.map(|g| g.size),
                Some(MAX_LISTED_DUPLICATES + 5)
            );
            assert_eq!(f.duplicates.len(), MAX_LISTED_DUPLICATES, "{i}");
            assert!(!f.duplicates.contains(&f.path));
        }
    }

    /// Accounts and tokens share one list: an account key never matches a token that happens
    /// to be the same string (its digest has its own prefix).
    #[test]
    fn an_account_key_never_matches_a_token_of_the_same_text() {
        use sha2::{Digest as _, Sha256};
        let d = Sha256::digest(b"codex:x");
        let plain = u128::from_be_bytes(d[..16].try_into().unwrap());
        let mut s = vec![
            file("a.json", Some("codex:x"), &[]),
            file("b.json", None, &[plain]),
        ];
        mark(&mut s);
        assert_eq!(groups(&s), vec![None, None]);
    }

    #[test]
    fn nothing_shared_means_no_groups() {
        let mut s = vec![
            file("a.json", Some("codex:x"), &[1]),
            file("b.json", Some("codex:y"), &[2]),
            file("c.json", None, &[]),
        ];
        mark(&mut s);
        assert_eq!(groups(&s), vec![None, None, None]);
    }
}
