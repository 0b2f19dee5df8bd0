//! The verdict contract: every credential ends with exactly one [`Status`], and every status
//! belongs to one [`Class`].
//!
//! The snake_case names are part of the JSON report, the exit-code contract (`--fail-on`) and the
//! prune selection (`--status`); they are never renamed. Pure: no I/O here.

use std::collections::BTreeSet;
use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

/// One credential's verdict.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Status {
    /// The provider accepted the token.
    Active,
    /// The provider accepted the token but its quota is exhausted until a reset time.
    UsageLimited,
    /// A token is present and not expired; it was not checked online.
    Unverified,
    /// The access token is expired but a refresh token can renew it.
    ExpiredRefreshable,
    /// The provider says the token was invalidated or revoked (re-login needed).
    Invalidated,
    /// The provider says the account is deactivated, banned or its organisation disabled.
    Deactivated,
    /// The access token is expired and nothing can renew it.
    ExpiredByTime,
    /// The provider rejected the token without saying why.
    Unauthorized,
    /// Neither an access token nor a refresh token is present.
    MissingToken,
    /// The provider throttled the check; nothing is known about the credential.
    RateLimited,
    /// The check itself failed (network, timeout, server error, unexpected body).
    CheckError,
    /// The provider answered something the checker cannot interpret.
    Unknown,
    /// The file is not parseable as a credential.
    InvalidFile,
}

/// The class a status belongs to: what an operator may do with it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Class {
    /// Working, or renewable by CPA: never removed by default.
    Alive,
    /// Positive evidence that the credential no longer works.
    Dead,
    /// The check could not conclude for a passing reason; retry later.
    Transient,
    /// Nothing conclusive is known.
    Unknown,
}

impl Status {
    /// Every status, in report order.
    pub const ALL: [Status; 13] = [
        Status::Active,
        Status::UsageLimited,
        Status::Unverified,
        Status::ExpiredRefreshable,
        Status::Invalidated,
        Status::Deactivated,
        Status::ExpiredByTime,
        Status::Unauthorized,
        Status::MissingToken,
        Status::RateLimited,
        Status::CheckError,
        Status::Unknown,
        Status::InvalidFile,
    ];

    /// Returns the stable snake_case name used in reports and flags.
    pub fn as_str(self) -> &'static str {
        match self {
            Status::Active => "active",
            Status::UsageLimited => "usage_limited",
            Status::Unverified => "unverified",
            Status::ExpiredRefreshable => "expired_refreshable",
            Status::Invalidated => "invalidated",
            Status::Deactivated => "deactivated",
            Status::ExpiredByTime => "expired_by_time",
            Status::Unauthorized => "unauthorized",
            Status::MissingToken => "missing_token",
            Status::RateLimited => "rate_limited",
            Status::CheckError => "check_error",
            Status::Unknown => "unknown",
            Status::InvalidFile => "invalid_file",
        }
    }

    /// Returns the class of this status.
    pub fn class(self) -> Class {
        match self {
            Status::Active
            | Status::UsageLimited
            | Status::Unverified
            | Status::ExpiredRefreshable => Class::Alive,
            Status::Invalidated
            | Status::Deactivated
            | Status::ExpiredByTime
            | Status::Unauthorized
            | Status::MissingToken => Class::Dead,
            Status::RateLimited | Status::CheckError => Class::Transient,
            Status::Unknown | Status::InvalidFile => Class::Unknown,
        }
    }

    /// Returns whether the status is in the alive class.
    pub fn is_alive(self) -> bool {
        self.class() == Class::Alive
    }
}

impl fmt::Display for Status {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl Class {
    /// Returns the stable snake_case name of the class.
    pub fn as_str(self) -> &'static str {
        match self {
            Class::Alive => "alive",
            Class::Dead => "dead",
            Class::Transient => "transient",
            Class::Unknown => "unknown",
        }
    }
}

/// The error for a status name that is not part of the contract.
#[derive(Debug, thiserror::Error)]
#[error("unknown status '{name}' (expected one of: {})", Status::ALL.map(Status::as_str).join(", "))]
pub struct UnknownStatus {
    /// The name that was given.
    pub name: String,
}

impl FromStr for Status {
    type Err = UnknownStatus;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let wanted = s.trim().to_ascii_lowercase().replace('-', "_");
        Status::ALL
            .into_iter()
            .find(|st| st.as_str() == wanted)
            .ok_or_else(|| UnknownStatus {
                name: s.trim().to_owned(),
            })
    }
}

/// A set of statuses, written on the command line as a comma-separated list.
///
/// Class names (`dead`, `transient`, `unknown`, `alive`) expand to their statuses, and `none` is
/// the empty set, so `--fail-on none` never fails.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct StatusSet(BTreeSet<Status>);

impl StatusSet {
    /// Returns a set holding the given statuses.
    pub fn of(statuses: &[Status]) -> Self {
        Self(statuses.iter().copied().collect())
    }

    /// Returns whether the set holds `status`.
    pub fn contains(&self, status: Status) -> bool {
        self.0.contains(&status)
    }

    /// Iterates over the statuses in contract order.
    pub fn iter(&self) -> impl Iterator<Item = Status> + '_ {
        self.0.iter().copied()
    }

    /// Returns whether the set is empty.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

impl fmt::Display for StatusSet {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.0.is_empty() {
            return f.write_str("none");
        }
        let names: Vec<&str> = self.iter().map(Status::as_str).collect();
        f.write_str(&names.join(","))
    }
}

impl FromStr for StatusSet {
    type Err = UnknownStatus;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let mut set = BTreeSet::new();
        for part in s.split(',').map(str::trim).filter(|p| !p.is_empty()) {
            let class = match part.to_ascii_lowercase().as_str() {
                "none" => continue,
                "alive" => Some(Class::Alive),
                "dead" => Some(Class::Dead),
                "transient" => Some(Class::Transient),
                "unknown-class" | "unknown_class" => Some(Class::Unknown),
                _ => None,
            };
            match class {
                Some(class) => set.extend(Status::ALL.into_iter().filter(|st| st.class() == class)),
                None => {
                    set.insert(part.parse::<Status>()?);
                }
            }
        }
        Ok(Self(set))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip_and_match_serde() {
        for st in Status::ALL {
            assert_eq!(st.as_str().parse::<Status>().unwrap(), st);
            let json = serde_json::to_string(&st).unwrap();
            assert_eq!(json, format!("\"{}\"", st.as_str()));
        }
    }

    #[test]
    fn classes_follow_the_contract() {
        let of = |c| {
            Status::ALL
                .into_iter()
                .filter(|s| s.class() == c)
                .map(Status::as_str)
                .collect::<Vec<_>>()
        };
        assert_eq!(
            of(Class::Alive),
            [
                "active",
                "usage_limited",
                "unverified",
                "expired_refreshable"
            ]
        );
        assert_eq!(
            of(Class::Dead),
            [
                "invalidated",
                "deactivated",
                "expired_by_time",
                "unauthorized",
                "missing_token"
            ]
        );
        assert_eq!(of(Class::Transient), ["rate_limited", "check_error"]);
        assert_eq!(of(Class::Unknown), ["unknown", "invalid_file"]);
    }

    #[test]
    fn status_set_parses_lists_classes_and_none() {
        let set: StatusSet = "expired_by_time, Missing-Token".parse().unwrap();
        assert!(set.contains(Status::ExpiredByTime) && set.contains(Status::MissingToken));
        assert_eq!(set.to_string(), "expired_by_time,missing_token");
        let dead: StatusSet = "dead".parse().unwrap();
        assert_eq!(dead.iter().count(), 5);
        assert!("none".parse::<StatusSet>().unwrap().is_empty());
        let err = "expired,dead".parse::<StatusSet>().unwrap_err();
        assert!(err.to_string().contains("unknown status 'expired'"));
    }
}
