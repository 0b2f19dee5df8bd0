//! Verdicts: what git-credman concludes about one credential, offline here and online in the
//! probes. Pure: no I/O.

use chrono::{DateTime, SecondsFormat, Utc};

use crate::credential::{Credential, ExpirySource, ProviderKind};
use crate::status::Status;

/// A status with its evidence.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Verdict {
    /// The status.
    pub status: Status,
    /// A short human reason. Never contains a secret.
    pub reason: String,
    /// The HTTP status of the deciding answer (online only).
    pub http_status: Option<u16>,
    /// When an exhausted quota resets (online only).
    pub reset_at: Option<DateTime<Utc>>,
    /// The usage windows the provider reported with the deciding answer (codex, claude).
    pub quota: Option<Box<Quota>>,
}

/// A credential's usage as its provider reports it (codex `wham/usage`, claude `oauth/usage`).
#[derive(Clone, Debug, Default, PartialEq, Eq, serde::Serialize)]
pub struct Quota {
    /// The plan, when the answer names one (codex `plan_type`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub plan: Option<String>,
    /// The windows, shortest first.
    pub windows: Vec<Window>,
}

/// One usage window.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
pub struct Window {
    /// A short name: `5h`, `7d`, `7d-opus`, …
    pub name: String,
    /// The window's length in seconds, when known.
    pub seconds: Option<u64>,
    /// How much of it is used, in tenths of a percent (0–1000; more when over).
    #[serde(rename = "used_percent", serialize_with = "ser_tenths")]
    pub used_tenths: u32,
    /// When it resets.
    #[serde(serialize_with = "ser_time")]
    pub reset_at: Option<DateTime<Utc>>,
}

impl Window {
    /// The used share in percent.
    pub fn used_percent(&self) -> f64 {
        f64::from(self.used_tenths) / 10.0
    }
}

/// Orders usage windows as reports list them: shortest first (those of unknown length last),
/// then by name. Compared in place: a sort key would copy each name for every comparison.
pub fn sort_windows(windows: &mut [Window]) {
    fn key(w: &Window) -> (u64, &str) {
        (w.seconds.unwrap_or(u64::MAX), &w.name)
    }
    windows.sort_by(|a, b| key(a).cmp(&key(b)));
}

impl Quota {
    /// The most used window (the first of equals, so the shorter one).
    pub fn fullest(&self) -> Option<&Window> {
        self.windows
            .iter()
            .reduce(|a, b| if b.used_tenths > a.used_tenths { b } else { a })
    }
}

#[allow(clippy::trivially_copy_pass_by_ref)] // serde passes fields by reference
fn ser_tenths<S: serde::Serializer>(t: &u32, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_f64(f64::from(*t) / 10.0)
}

#[allow(clippy::ref_option)]
fn ser_time<S: serde::Serializer>(t: &Option<DateTime<Utc>>, s: S) -> Result<S::Ok, S::Error> {
    match t {
        Some(t) => s.serialize_str(&ts(*t)),
        None => s.serialize_none(),
    }
}

/// Turns an alive verdict whose fullest window is used at `threshold_percent` or more into
/// `usage_limited` (`--quota-threshold`), resetting when that window does. Any other verdict,
/// and a verdict without windows, is left as it is: a threshold never makes anything dead.
pub fn apply_quota_threshold(v: &mut Verdict, threshold_percent: f64) {
    if v.status != Status::Active {
        return;
    }
    let Some(w) = v.quota.as_ref().and_then(|q| q.fullest()).cloned() else {
        return;
    };
    if w.used_percent() < threshold_percent {
        return;
    }
    v.status = Status::UsageLimited;
    v.reason = format!(
        "{} window {} % used (--quota-threshold {threshold_percent} %)",
        w.name,
        w.used_percent()
    );
    v.reset_at = w.reset_at.or(v.reset_at);
}

impl Verdict {
    /// Returns a verdict without HTTP evidence.
    pub fn new(status: Status, reason: impl Into<String>) -> Self {
        Self {
            status,
            reason: reason.into(),
            http_status: None,
            reset_at: None,
            quota: None,
        }
    }
}

fn ts(t: DateTime<Utc>) -> String {
    t.to_rfc3339_opts(SecondsFormat::Secs, true)
}

fn source_name(source: Option<ExpirySource>) -> &'static str {
    match source {
        Some(ExpirySource::JwtExp) => "JWT exp",
        Some(ExpirySource::Field) => "expiry field",
        Some(ExpirySource::IssuedPlusLifetime) => "timestamp + expires_in",
        None => "unknown source",
    }
}

/// Returns whether the credential's access token is expired at `now`.
pub fn is_expired(cred: &Credential, now: DateTime<Utc>) -> bool {
    cred.expires_at.is_some_and(|t| t <= now)
}

/// Decides a credential's status without any network.
///
/// - a vertex service-account key never "expires" (CPA mints tokens from it): `unverified`;
/// - no access token, API key or cookie and no refresh token: `missing_token`;
/// - no bearer but a refresh token: `expired_refreshable`;
/// - an expired access token: `expired_refreshable` with a refresh token, else `expired_by_time`;
/// - otherwise `unverified`.
pub fn offline(cred: &Credential, now: DateTime<Utc>) -> Verdict {
    if cred.kind == ProviderKind::Vertex && cred.has_service_account_key() {
        return Verdict::new(
            Status::Unverified,
            "service-account key present; CPA mints access tokens from it",
        );
    }
    let has_refresh = cred.refresh_token.is_some();
    let bearer = cred.access_token.is_some() || cred.api_key.is_some() || cred.cookie.is_some();
    if !bearer {
        return if has_refresh {
            Verdict::new(
                Status::ExpiredRefreshable,
                "no access token; a refresh token can renew it",
            )
        } else if cred.service_account.is_some() {
            Verdict::new(
                Status::MissingToken,
                "service account without a private key",
            )
        } else {
            Verdict::new(Status::MissingToken, "no access token and no refresh token")
        };
    }
    // An API key (iflow) is the bearer CPA uses and has no expiry of its own.
    if cred.access_token.is_some() && is_expired(cred, now) {
        let when = cred.expires_at.map(ts).unwrap_or_default();
        let from = source_name(cred.expiry_source);
        return if has_refresh {
            Verdict::new(
                Status::ExpiredRefreshable,
                format!("access token expired {when} ({from}); refresh token present"),
            )
        } else {
            Verdict::new(
                Status::ExpiredByTime,
                format!("access token expired {when} ({from}); no refresh token"),
            )
        };
    }
    let reason = match cred.expires_at {
        Some(t) => format!("token present, expires {}; not checked online", ts(t)),
        None => "token present, no expiry recorded; not checked online".to_owned(),
    };
    Verdict::new(Status::Unverified, reason)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Windows go shortest first, those of unknown length last, equal lengths by name.
    #[test]
    fn windows_sort_by_length_then_name() {
        let w = |name: &str, seconds: Option<u64>| Window {
            name: name.to_owned(),
            seconds,
            used_tenths: 0,
            reset_at: None,
        };
        let mut windows = vec![
            w("weekly", None),
            w("7d-opus", Some(604_800)),
            w("7d", Some(604_800)),
            w("5h", Some(18_000)),
        ];
        sort_windows(&mut windows);
        let names: Vec<&str> = windows.iter().map(|w| w.name.as_str()).collect();
        assert_eq!(names, ["5h", "7d", "7d-opus", "weekly"]);
    }
    use chrono::Duration;
    use serde_json::{Value, json};

    #[test]
    fn a_quota_threshold_limits_only_active_verdicts_with_a_window_at_or_over_it() {
        let w = |name: &str, tenths: u32| Window {
            name: name.into(),
            seconds: None,
            used_tenths: tenths,
            reset_at: None,
        };
        let mut v = Verdict::new(Status::Active, "ok");
        v.quota = Some(Box::new(Quota {
            plan: None,
            windows: vec![w("5h", 899), w("7d", 500)],
        }));
        let mut under = v.clone();
        apply_quota_threshold(&mut under, 90.0);
        assert_eq!(under.status, Status::Active);
        v.quota.as_mut().unwrap().windows[1].used_tenths = 900;
        let mut at = v.clone();
        apply_quota_threshold(&mut at, 90.0);
        assert_eq!(at.status, Status::UsageLimited);
        assert!(at.reason.contains("7d window 90 % used"), "{}", at.reason);
        // Never anything but an active verdict, and nothing without windows.
        let mut dead = Verdict {
            status: Status::Invalidated,
            ..v.clone()
        };
        apply_quota_threshold(&mut dead, 0.0);
        assert_eq!(dead.status, Status::Invalidated);
        let mut bare = Verdict::new(Status::Active, "ok");
        apply_quota_threshold(&mut bare, 0.0);
        assert_eq!(bare.status, Status::Active);
    }

    fn verdict(v: Value) -> Verdict {
        offline(&Credential::from_json(v.as_object().unwrap()), Utc::now())
    }

    fn rfc(d: Duration) -> String {
        (Utc::now() + d).to_rfc3339()
    }

    #[test]
    fn live_token_is_unverified() {
        let v =
            verdict(json!({"type":"claude","access_token":"a","expired": rfc(Duration::hours(2))}));
        assert_eq!(v.status, Status::Unverified);
        assert!(v.reason.contains("expires"));
        let v = verdict(json!({"type":"kimi","access_token":"a"}));
        assert_eq!(v.status, Status::Unverified);
        assert!(v.reason.contains("no expiry"));
    }

    #[test]
    fn expired_with_refresh_token_is_refreshable() {
        let v = verdict(
            json!({"type":"codex","access_token":"a","refresh_token":"r",
            "expired": rfc(-Duration::hours(1))}),
        );
        assert_eq!(v.status, Status::ExpiredRefreshable);
        assert!(v.reason.contains("expiry field"));
    }

    #[test]
    fn expired_without_refresh_token_is_dead() {
        let v =
            verdict(json!({"type":"codex","access_token":"a","expired": rfc(-Duration::days(3))}));
        assert_eq!(v.status, Status::ExpiredByTime);
        assert!(v.reason.contains("no refresh token"));
    }

    #[test]
    fn refresh_token_alone_is_refreshable_and_nothing_is_missing() {
        assert_eq!(
            verdict(json!({"type":"claude","refresh_token":"r"})).status,
            Status::ExpiredRefreshable
        );
        assert_eq!(
            verdict(json!({"type":"claude","email":"x@y"})).status,
            Status::MissingToken
        );
        assert_eq!(
            verdict(json!({"type":"claude","access_token":"","refresh_token":""})).status,
            Status::MissingToken
        );
    }

    #[test]
    fn vertex_key_is_not_missing_a_token() {
        let v = verdict(json!({"type":"vertex","service_account":{"private_key":"pem"}}));
        assert_eq!(v.status, Status::Unverified);
        let v = verdict(json!({"type":"vertex","service_account":{"client_email":"x"}}));
        assert_eq!(v.status, Status::MissingToken);
    }

    #[test]
    fn api_key_never_expires() {
        let v = verdict(json!({"type":"iflow","api_key":"k","expired": rfc(-Duration::days(30))}));
        assert_eq!(v.status, Status::Unverified);
    }
}
