//! Endpoint redirection (issue #3 contract): every outbound origin can be sent elsewhere with
//! `ORIGIN=URL` pairs from `--endpoint`, `GIT_CREDMAN_ENDPOINTS` (comma-separated) or git config
//! `credman.endpoint` (multi-valued). A request to `ORIGIN/path?query` goes to `URL/path?query`;
//! URL may carry a base path. Self-hosted mirrors and the test suite both rely on it. Pure.

use std::collections::HashMap;

/// A bad `ORIGIN=URL` pair.
#[derive(Debug, thiserror::Error)]
#[error(
    "invalid endpoint '{pair}': {reason} (expected ORIGIN=URL, e.g. https://chatgpt.com=http://127.0.0.1:8080)"
)]
pub struct Error {
    /// The pair as given.
    pub pair: String,
    /// What is wrong with it.
    pub reason: &'static str,
}

/// The redirection table.
#[derive(Clone, Debug, Default)]
pub struct Endpoints {
    map: HashMap<String, String>,
}

/// Returns `scheme://host[:port]` of a URL, lower-cased, and the rest (`/path?query`).
pub fn split_origin(url: &str) -> Option<(String, &str)> {
    let scheme_end = url.find("://")?;
    let after = &url[scheme_end + 3..];
    let host_end = after.find(['/', '?', '#']).unwrap_or(after.len());
    if host_end == 0 {
        return None;
    }
    let origin = format!("{}://{}", &url[..scheme_end], &after[..host_end]).to_ascii_lowercase();
    Some((origin, &after[host_end..]))
}

impl Endpoints {
    /// Parses pairs; later pairs for the same origin win.
    pub fn parse<'a>(pairs: impl IntoIterator<Item = &'a str>) -> Result<Self, Error> {
        let mut map = HashMap::new();
        for pair in pairs.into_iter().map(str::trim).filter(|p| !p.is_empty()) {
            let err = |reason| Error {
                pair: pair.to_owned(),
                reason,
            };
            // The origin itself contains "://", so split at the first '=' only.
            let (origin, target) = pair.split_once('=').ok_or_else(|| err("no '='"))?;
            let (origin_norm, rest) = split_origin(origin.trim())
                .ok_or_else(|| err("ORIGIN is not scheme://host[:port]"))?;
            if !rest.trim_matches('/').is_empty() {
                return Err(err("ORIGIN must not have a path"));
            }
            let target = target.trim().trim_end_matches('/');
            let (target_origin, _) = split_origin(target)
                .ok_or_else(|| err("URL is not scheme://host[:port][/base]"))?;
            if !(target_origin.starts_with("http://") || target_origin.starts_with("https://")) {
                return Err(err("URL must be http or https"));
            }
            map.insert(origin_norm, target.to_owned());
        }
        Ok(Self { map })
    }

    /// Adds the pairs of `other` that are not already set here (lower precedence).
    pub fn merge_lower(&mut self, other: Endpoints) {
        for (k, v) in other.map {
            self.map.entry(k).or_insert(v);
        }
    }

    /// Returns where a request to `url` really goes.
    pub fn rewrite(&self, url: &str) -> String {
        match split_origin(url) {
            Some((origin, rest)) => match self.map.get(&origin) {
                Some(base) => format!("{base}{rest}"),
                None => url.to_owned(),
            },
            None => url.to_owned(),
        }
    }

    /// Returns whether no origin is redirected.
    pub fn is_empty(&self) -> bool {
        self.map.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rewrites_origin_keeping_path_and_query() {
        let e = Endpoints::parse(["https://chatgpt.com=http://127.0.0.1:8080/cg/"]).unwrap();
        assert_eq!(
            e.rewrite("https://chatgpt.com/backend-api/wham/usage?x=1"),
            "http://127.0.0.1:8080/cg/backend-api/wham/usage?x=1"
        );
        assert_eq!(
            e.rewrite("https://api.anthropic.com/api/oauth/usage"),
            "https://api.anthropic.com/api/oauth/usage"
        );
        assert_eq!(
            e.rewrite("https://CHATGPT.com/a"),
            "http://127.0.0.1:8080/cg/a"
        );
    }

    #[test]
    fn precedence_by_merge() {
        let mut flag = Endpoints::parse(["https://a.example=http://127.0.0.1:1"]).unwrap();
        let env = Endpoints::parse([
            "https://a.example=http://127.0.0.1:2",
            "https://b.example=http://127.0.0.1:3",
        ])
        .unwrap();
        flag.merge_lower(env);
        assert_eq!(flag.rewrite("https://a.example/x"), "http://127.0.0.1:1/x");
        assert_eq!(flag.rewrite("https://b.example/x"), "http://127.0.0.1:3/x");
    }

    #[test]
    fn rejects_malformed_pairs() {
        for bad in [
            "nonsense",
            "https://a.example",
            "a.example=http://x",
            "https://a.example/p=http://x",
            "https://a.example=ftp://x",
        ] {
            assert!(Endpoints::parse([bad]).is_err(), "{bad}");
        }
    }
}
