//! Server mode's candidates: a CPA listing entry becomes a [`Scanned`] record. In relay mode
//! (the default) the file never leaves the server: the record stands on what the listing says,
//! and a stand-in credential whose `$TOKEN$` CPA's `api-call` replaces carries the online check.
//! With `--download` the file is fetched and analysed like any other. Entries in sub-folders or
//! held only in memory are reported, never touched.

use super::{Facts, Options, Scanned};
use crate::credential::{self, Credential, ProviderKind, Secret};
use crate::management::{Entry, Place};
use crate::report::ServerState;
use crate::source::server::ServerOrigin;
use crate::status::Status;
use crate::verdict::{self, Verdict};

/// The record of listing entry `i` of a server source.
pub(super) fn analyze_entry(o: &ServerOrigin, i: usize, opts: &Options) -> Option<Scanned> {
    let e = o.entries.get(i)?;
    let plain = |v: Verdict| Scanned::new(&e.name, None, Facts::provider(&e.provider), v);
    if !o.wanted.is_empty() && !o.wanted.contains(&Facts::provider(&e.provider).provider) {
        // Not asked for: the scan drops it; never downloaded.
        return Some(plain(Verdict::new(Status::Unknown, "not selected")));
    }
    let not_checked = |why: &str| plain(Verdict::new(Status::Unknown, why));
    let mut s = match (&e.place, o.download) {
        (Place::Untouchable(why), _) => not_checked(why),
        (Place::SubFolder, true) => not_checked(
            "in a sub-folder of the auth dir: CPA's download refuses names with '/'; \
             scan without --download to check it through the server",
        ),
        (Place::TopLevel, true) => match o.server.download(&e.name) {
            Ok(bytes) => match credential::parse_json(&bytes) {
                Ok(obj) => {
                    let cred = Credential::from_json(&obj);
                    let v = verdict::offline(&cred, opts.now);
                    let fp = cred.primary_secret().map(Secret::fingerprint);
                    let facts = Facts::of(&cred, fp, opts.show_identities);
                    let mut s = Scanned::new(&e.name, None, facts, v)
                        .with_credential(cred, opts.keep_credentials);
                    s.content_id = crate::git::hash_blob(&bytes);
                    s
                }
                Err(err) => plain(Verdict::new(Status::InvalidFile, err.to_string())),
            },
            Err(err) => plain(Verdict::new(
                Status::CheckError,
                format!("cannot download: {err}"),
            )),
        },
        (Place::TopLevel | Place::SubFolder, false) => {
            let cred = stand_in(e);
            let reason = format!("listed by the server{}; not checked online", cpa_note(e));
            let facts = Facts::of(&cred, None, opts.show_identities);
            Scanned::new(
                &e.name,
                None,
                facts,
                Verdict::new(Status::Unverified, reason),
            )
            .with_credential(cred, opts.keep_credentials)
        }
    };
    s.server = Some(Box::new(state(e)));
    s.facts.disabled = e.disabled;
    s.candidate = i;
    s.auth_index = if o.download {
        None
    } else {
        e.auth_index.clone()
    };
    Some(s)
}

/// A credential standing for a listed entry in relay mode: `$TOKEN$` is what CPA replaces
/// with the real token when it relays the request.
fn stand_in(e: &Entry) -> Credential {
    let (kind, provider) = ProviderKind::from_type(&e.provider);
    let mut obj = serde_json::Map::new();
    obj.insert("type".into(), provider.clone().into());
    obj.insert("access_token".into(), "$TOKEN$".into());
    let mut c = Credential::from_json(&obj);
    c.kind = kind;
    c.email.clone_from(&e.email);
    c.account_id.clone_from(&e.account_id);
    c.plan.clone_from(&e.plan);
    c.disabled = e.disabled;
    c
}

fn state(e: &Entry) -> ServerState {
    ServerState {
        auth_index: e.auth_index.clone(),
        status: e.status.clone(),
        status_message: e.status_message.clone(),
        unavailable: e.unavailable,
        next_retry_after: e.next_retry_after.clone(),
    }
}

fn cpa_note(e: &Entry) -> String {
    match (&e.status, &e.status_message) {
        (Some(s), Some(m)) => format!("; CPA says {s}: {m}"),
        (Some(s), None) => format!("; CPA says {s}"),
        _ => String::new(),
    }
}
