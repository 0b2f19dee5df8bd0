//! `git credman report merge`: join the JSON reports of the shards of one scan (`scan --shard
//! K/N` on N runners) into the report of the whole scan. Pure: the command reads the files and
//! renders the result; this file checks that the reports belong together and builds the merged
//! document, with unit tests.
//!
//! Reports belong together when they are git-credman scan reports (not prune reports) of this
//! schema version, of the same source (every `source` field but the local paths `repo` and
//! `dir`, and `shard`), in the same mode, with the same `fail_on`; when shards, exactly the
//! shards 1..N of one N; and no path is in two of them. The merged report's summary is
//! recomputed from the joined results, duplicate group ids are renumbered so that groups of
//! different shards stay apart (duplicates are found within a shard only), and its
//! `generated_at` is the earliest of the inputs (the oldest evidence in it).

use std::collections::{BTreeMap, HashMap};

use serde::Serialize;
use serde_json::{Map, Value};

use super::{SCHEMA_VERSION, escape};
use crate::source::shard::Shard;

/// Why reports cannot be merged. Values from the files are escaped and never secrets (reports
/// carry none).
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// No report was given.
    #[error("no report to merge; pass the shard reports: git credman report merge a.json b.json")]
    Empty,
    /// A file is not a git-credman scan report.
    #[error("{file} is not a git-credman scan report ({why})")]
    NotAReport {
        /// The file.
        file: String,
        /// What is wrong.
        why: String,
    },
    /// A report of another schema version.
    #[error(
        "{file} has schema_version {found}, this git-credman merges {SCHEMA_VERSION}; scan every shard with the same version"
    )]
    SchemaVersion {
        /// The file.
        file: String,
        /// Its version.
        found: String,
    },
    /// A file cannot be read.
    #[error("cannot read the report {file}: {source}")]
    Read {
        /// The file.
        file: String,
        /// Why.
        #[source]
        source: std::io::Error,
    },
    /// Two reports of different sources, modes or fail sets.
    #[error(
        "{first} and {other} are not shards of one scan: {field} differs ({a} vs {b}); scan every shard of the same commit with the same options"
    )]
    Mismatch {
        /// The first report.
        first: String,
        /// The report that differs.
        other: String,
        /// The field.
        field: String,
        /// Its value in the first report.
        a: String,
        /// Its value in the other.
        b: String,
    },
    /// The shards are not exactly 1..N of one N.
    #[error("{0}")]
    Shards(String),
    /// A path is in two reports.
    #[error(
        "{path} is in both {a} and {b}; merge the reports of different shards only (each once)"
    )]
    DuplicatePath {
        /// The path.
        path: String,
        /// One report.
        a: String,
        /// The other.
        b: String,
    },
}

/// The merged report, in the field order of every report.
#[derive(Debug, Serialize)]
pub struct Merged {
    /// [`SCHEMA_VERSION`].
    pub schema_version: u32,
    /// The earliest `generated_at` of the inputs.
    pub generated_at: Value,
    /// The first input's `tool`.
    pub tool: Value,
    /// The common mode.
    pub mode: Value,
    /// The common source, without `shard`.
    pub source: Value,
    /// The common `fail_on`.
    pub fail_on: Value,
    /// Recomputed over the joined results.
    pub summary: Value,
    /// Every input's results, sorted by path, provider and fingerprint.
    pub results: Vec<Value>,
}

fn show(v: Option<&Value>) -> String {
    let text = match v {
        None | Some(Value::Null) => "none".to_owned(),
        Some(Value::String(s)) => s.clone(),
        Some(other) => other.to_string(),
    };
    let text = escape(&text).into_owned();
    match text.char_indices().nth(80) {
        Some((i, _)) => format!("{}…", &text[..i]),
        None => text,
    }
}

/// Checks that one input is a scan report of this schema version and returns its object.
fn check_one(file: &str, doc: Value) -> Result<Map<String, Value>, Error> {
    let not = |why: &str| Error::NotAReport {
        file: file.to_owned(),
        why: why.to_owned(),
    };
    let Value::Object(obj) = doc else {
        return Err(not("not a JSON object"));
    };
    if obj
        .get("tool")
        .and_then(|t| t.get("name"))
        .and_then(Value::as_str)
        != Some("git-credman")
    {
        return Err(not("no tool.name git-credman"));
    }
    match obj.get("schema_version") {
        Some(v) if v.as_u64() == Some(u64::from(SCHEMA_VERSION)) => {}
        v => {
            return Err(Error::SchemaVersion {
                file: file.to_owned(),
                found: show(v),
            });
        }
    }
    if obj.contains_key("prune") {
        return Err(not(
            "a prune report; merge the reports of `scan --shard K/N`",
        ));
    }
    if !obj.get("results").is_some_and(Value::is_array) {
        return Err(not("no results array"));
    }
    if !obj.get("source").is_some_and(Value::is_object) {
        return Err(not("no source object"));
    }
    Ok(obj)
}

/// The source fields that say what was scanned (not where, on this runner).
fn identity(source: &Value) -> BTreeMap<String, Value> {
    source
        .as_object()
        .map(|o| {
            o.iter()
                .filter(|(k, _)| !matches!(k.as_str(), "repo" | "dir" | "shard"))
                .map(|(k, v)| (k.clone(), v.clone()))
                .collect()
        })
        .unwrap_or_default()
}

/// Checks the shards: none has one, or they are exactly 1..N of one N.
fn check_shards(names: &[String], shards: &[Option<&str>]) -> Result<(), Error> {
    if shards.iter().all(Option::is_none) {
        return Ok(());
    }
    let mut seen: HashMap<u64, &str> = HashMap::new();
    let mut count = None;
    for (name, shard) in names.iter().zip(shards) {
        let Some(text) = shard else {
            return Err(Error::Shards(format!(
                "{name} is a whole scan, not a shard; merge either shards (`scan --shard K/N`) or \
                 reports of disjoint pathspecs"
            )));
        };
        let shard: Shard = text.parse().map_err(|_| {
            Error::Shards(format!(
                "{name} has an invalid source.shard '{}'",
                escape(text)
            ))
        })?;
        match count {
            None => count = Some(shard.count()),
            Some(n) if n != shard.count() => {
                return Err(Error::Shards(format!(
                    "{name} is shard {shard}, the others are of {n}; merge the shards of one \
                     --shard K/N run"
                )));
            }
            Some(_) => {}
        }
        if let Some(other) = seen.insert(shard.index(), name) {
            return Err(Error::Shards(format!(
                "{other} and {name} are both shard {shard}; merge each shard once"
            )));
        }
    }
    let n = count.unwrap_or(0);
    if let Some(k) = (1..=n).find(|k| !seen.contains_key(k)) {
        return Err(Error::Shards(format!(
            "shard {k}/{n} is missing; a merged report must cover the whole tree (pass all {n})"
        )));
    }
    Ok(())
}

/// One merged result, as [`Summary::of`](super::Summary::of) counts it.
struct Row<'a>(&'a Value, crate::status::Status);

impl super::Counted for Row<'_> {
    fn provider(&self) -> &str {
        self.0.get("provider").and_then(Value::as_str).unwrap_or("")
    }
    fn status(&self) -> crate::status::Status {
        self.1
    }
    fn duplicate_group(&self) -> Option<super::DuplicateGroup> {
        let g = self.0.get("duplicate_group")?;
        Some(super::DuplicateGroup {
            id: usize::try_from(g.get("id")?.as_u64()?).ok()?,
            size: usize::try_from(g.get("size")?.as_u64()?).ok()?,
        })
    }
    fn has_duplicates(&self) -> bool {
        self.0
            .get("duplicates")
            .and_then(Value::as_array)
            .is_some_and(|d| !d.is_empty())
    }
    fn worktree_differs(&self) -> bool {
        self.0.get("worktree").is_some_and(|w| !w.is_null())
    }
}

/// Counts the merged results with the report's own [`Summary::of`](super::Summary::of); a
/// status git-credman does not know (the reports are checked before) counts as `unknown`.
fn summary(results: &[Value]) -> Value {
    let rows: Vec<Row<'_>> = results
        .iter()
        .map(|r| {
            let status = r
                .get("status")
                .and_then(Value::as_str)
                .and_then(|s| s.parse().ok())
                .unwrap_or(crate::status::Status::Unknown);
            Row(r, status)
        })
        .collect();
    serde_json::to_value(super::Summary::of(&rows)).unwrap_or(Value::Null)
}

/// Reads the reports to merge (paths relative to `cwd`), named as given.
pub fn read_all(
    files: &[std::path::PathBuf],
    cwd: &std::path::Path,
) -> Result<Vec<(String, Value)>, Error> {
    files
        .iter()
        .map(|f| {
            let name = escape(&f.display().to_string()).into_owned();
            let bytes = std::fs::read(cwd.join(f)).map_err(|source| Error::Read {
                file: name.clone(),
                source,
            })?;
            let doc = super::reviewed::parse_value(&bytes).map_err(|why| Error::NotAReport {
                file: name.clone(),
                why,
            })?;
            Ok((f.display().to_string(), doc))
        })
        .collect()
}

/// Writes the merged report as pretty JSON followed by a newline.
pub fn render(merged: &Merged, out: &mut dyn std::io::Write) -> std::io::Result<()> {
    serde_json::to_writer_pretty(&mut *out, merged)?;
    writeln!(out)
}

/// Merges shard reports (`(name, document)` pairs, names as the user gave them) into one.
pub fn merge(inputs: Vec<(String, Value)>) -> Result<Merged, Error> {
    let names: Vec<String> = inputs.iter().map(|(n, _)| escape(n).into_owned()).collect();
    let mut docs = Vec::with_capacity(inputs.len());
    for ((_, doc), name) in inputs.into_iter().zip(&names) {
        docs.push(check_one(name, doc)?);
    }
    let Some(first) = docs.first() else {
        return Err(Error::Empty);
    };
    let first_id = identity(&first["source"]);
    for (doc, name) in docs.iter().zip(&names).skip(1) {
        let mismatch = |field: &str, a: Option<&Value>, b: Option<&Value>| Error::Mismatch {
            first: names[0].clone(),
            other: name.clone(),
            field: field.to_owned(),
            a: show(a),
            b: show(b),
        };
        let id = identity(&doc["source"]);
        let keys: std::collections::BTreeSet<&String> = first_id.keys().chain(id.keys()).collect();
        for k in keys {
            if first_id.get(k) != id.get(k) {
                return Err(mismatch(&format!("source.{k}"), first_id.get(k), id.get(k)));
            }
        }
        for field in ["mode", "fail_on"] {
            if first.get(field) != doc.get(field) {
                return Err(mismatch(field, first.get(field), doc.get(field)));
            }
        }
    }
    let shards: Vec<Option<&str>> = docs
        .iter()
        .map(|d| d["source"].get("shard").and_then(Value::as_str))
        .collect();
    check_shards(&names, &shards)?;

    let mut source = first["source"].clone();
    if let Some(o) = source.as_object_mut() {
        o.remove("shard");
    }
    let (tool, mode, fail_on) = (
        first.get("tool").cloned().unwrap_or(Value::Null),
        first.get("mode").cloned().unwrap_or(Value::Null),
        first.get("fail_on").cloned().unwrap_or(Value::Null),
    );
    let generated_at = docs
        .iter()
        .filter_map(|d| d.get("generated_at").and_then(Value::as_str))
        .min()
        .map_or(Value::Null, |s| Value::String(s.to_owned()));

    let mut owner: HashMap<String, usize> = HashMap::new();
    let mut results = Vec::new();
    let mut group_offset = 0u64;
    for (i, mut doc) in docs.into_iter().enumerate() {
        let mut max_group = 0;
        let Some(Value::Array(list)) = doc.remove("results") else {
            continue;
        };
        for mut r in list {
            let path = r
                .get("path")
                .and_then(Value::as_str)
                .unwrap_or("")
                .to_owned();
            if let Some(j) = owner.insert(path.clone(), i) {
                return Err(Error::DuplicatePath {
                    path: escape(&path).into_owned(),
                    a: names[j].clone(),
                    b: names[i].clone(),
                });
            }
            if let Some(id) = r.pointer_mut("/duplicate_group/id")
                && let Some(n) = id.as_u64()
            {
                max_group = max_group.max(n);
                *id = Value::from(n + group_offset);
            }
            results.push(r);
        }
        group_offset += max_group;
    }
    let key = |r: &Value| {
        let s = |k: &str| r.get(k).and_then(Value::as_str).map(str::to_owned);
        (
            s("path").unwrap_or_default(),
            s("provider").unwrap_or_default(),
            s("fingerprint"),
        )
    };
    results.sort_by_cached_key(key);
    Ok(Merged {
        schema_version: SCHEMA_VERSION,
        generated_at,
        tool,
        mode,
        source,
        fail_on,
        summary: summary(&results),
        results,
    })
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn shard(k: u64, n: u64, files: &[(&str, &str)]) -> Value {
        let results: Vec<Value> = files
            .iter()
            .map(|(path, status)| {
                json!({"path": path, "provider": "codex", "status": status,
                    "class": if *status == "active" { "alive" } else { "dead" },
                    "duplicates": [], "duplicate_group": null, "worktree": null})
            })
            .collect();
        json!({"schema_version": SCHEMA_VERSION, "generated_at": format!("2026-01-0{k}T00:00:00Z"),
            "tool": {"name": "git-credman", "version": "0"}, "mode": "online",
            "source": {"kind": "head", "repo": format!("/runner/{k}"), "commit": "c1", "tree": "t1",
                "shard": format!("{k}/{n}")},
            "fail_on": ["invalidated"], "summary": {}, "results": results})
    }

    fn named(docs: Vec<Value>) -> Vec<(String, Value)> {
        docs.into_iter()
            .enumerate()
            .map(|(i, d)| (format!("s{}.json", i + 1), d))
            .collect()
    }

    #[test]
    fn merge_joins_sorts_and_recounts() {
        let m = merge(named(vec![
            shard(2, 2, &[("b.json", "invalidated"), ("d.json", "active")]),
            shard(1, 2, &[("a.json", "active"), ("c.json", "invalidated")]),
        ]))
        .unwrap();
        let paths: Vec<&str> = m
            .results
            .iter()
            .map(|r| r["path"].as_str().unwrap())
            .collect();
        assert_eq!(paths, ["a.json", "b.json", "c.json", "d.json"]);
        assert_eq!(m.summary["total"], 4);
        assert_eq!(
            m.summary["by_status"],
            json!({"active": 2, "invalidated": 2})
        );
        assert_eq!(m.summary["by_class"], json!({"alive": 2, "dead": 2}));
        assert_eq!(m.summary["by_provider_status"]["codex"]["invalidated"], 2);
        assert!(m.source.get("shard").is_none());
        assert_eq!(m.generated_at, "2026-01-01T00:00:00Z");
    }

    #[test]
    fn merge_keeps_duplicate_groups_of_different_shards_apart() {
        let mut a = shard(1, 2, &[("a.json", "active"), ("b.json", "active")]);
        let mut b = shard(2, 2, &[("c.json", "active"), ("d.json", "active")]);
        for doc in [&mut a, &mut b] {
            for r in doc["results"].as_array_mut().unwrap() {
                r["duplicate_group"] = json!({"id": 1, "size": 2});
                r["duplicates"] = json!(["x"]);
            }
        }
        let m = merge(named(vec![a, b])).unwrap();
        let ids: Vec<u64> = m
            .results
            .iter()
            .map(|r| r["duplicate_group"]["id"].as_u64().unwrap())
            .collect();
        assert_eq!(ids, [1, 1, 2, 2]);
        assert_eq!(m.summary["duplicate_groups"], 2);
        assert_eq!(m.summary["duplicates"], 4);
    }

    #[test]
    fn merge_refuses_reports_that_are_not_shards_of_one_scan() {
        let err = |docs: Vec<Value>| merge(named(docs)).unwrap_err().to_string();
        let a = || shard(1, 2, &[("a.json", "active")]);
        let b = || shard(2, 2, &[("b.json", "active")]);
        assert!(merge(Vec::new()).is_err());
        let mut other = b();
        other["source"]["commit"] = json!("c2");
        let e = err(vec![a(), other]);
        assert!(e.contains("source.commit differs (c1 vs c2)"), "{e}");
        let mut other = b();
        other["source"]["kind"] = json!("dir");
        assert!(err(vec![a(), other]).contains("source.kind"));
        let mut other = b();
        other["mode"] = json!("offline");
        assert!(err(vec![a(), other]).contains("mode differs"));
        let mut other = b();
        other["schema_version"] = json!(2);
        assert!(err(vec![a(), other]).contains("schema_version 2"));
        let mut other = b();
        other["prune"] = json!({});
        assert!(err(vec![a(), other]).contains("a prune report"));
        let mut other = b();
        other["results"] = json!([{"path": "a.json", "provider": "codex", "status": "active"}]);
        assert!(err(vec![a(), other]).contains("a.json is in both s1.json and s2.json"));
        assert!(err(vec![a()]).contains("shard 2/2 is missing"));
        assert!(err(vec![a(), a()]).contains("both shard 1/2"));
        assert!(err(vec![a(), shard(2, 3, &[])]).contains("shard 2/3, the others are of 2"));
        let mut whole = b();
        whole["source"].as_object_mut().unwrap().remove("shard");
        assert!(err(vec![a(), whole]).contains("a whole scan"));
        assert!(err(vec![json!([1])]).contains("not a JSON object"));
        // The repository's path on each runner is no part of what was scanned.
        assert!(merge(named(vec![a(), b()])).is_ok());
    }
}
