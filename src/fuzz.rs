//! Property tests (proptest): arbitrary JSON, timestamps and JWTs go through credential parsing,
//! the offline verdict and the finding a report prints, and nothing panics. Test-only.
//!
//! The generators are `pub(crate)` so that other property tests (provider answers through
//! `classify`, issue 10 item 15) can reuse them.

use base64::Engine as _;
use chrono::{DateTime, Utc};
use proptest::prelude::*;
use serde_json::{Map, Value, json};

use crate::credential::{self, Credential};
use crate::status::Class;
use crate::verdict;

/// Any JSON value, nested a few levels deep.
pub(crate) fn json_value() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(Value::from),
        any::<u64>().prop_map(Value::from),
        any::<f64>()
            .prop_map(|f| serde_json::Number::from_f64(f).map_or(Value::Null, Value::Number)),
        ".{0,24}".prop_map(Value::String),
        timestamp_value(),
    ];
    leaf.prop_recursive(3, 32, 6, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..6).prop_map(Value::Array),
            prop::collection::btree_map(key(), inner, 0..6)
                .prop_map(|m| Value::Object(m.into_iter().collect())),
        ]
    })
}

/// A key git-credman reads (in any spelling), or any short string.
pub(crate) fn key() -> impl Strategy<Value = String> {
    prop_oneof![
        3 => prop::sample::select(vec![
            "type", "access_token", "accessToken", "access-token", "refresh_token", "id_token",
            "api_key", "cookie", "token", "tokens", "Token", "service_account", "private_key",
            "client_email", "email", "account_id", "plan_type", "account_uuid", "sub",
            "project_id", "expired", "expire", "expires_at", "expiry", "expires", "expiration",
            "expires_in", "expiresIn", "timestamp", "disabled", "client_id", "client_secret",
            "token_uri", "token_endpoint", "proxy_url", "device_id", "base_url", "resource_url",
            "exp", "https://api.openai.com/auth", "chatgpt_account_id", "chatgpt_plan_type",
        ])
        .prop_map(str::to_owned),
        1 => ".{0,12}",
    ]
}

/// A timestamp in any of the forms CPA writes, and the ones that break naive arithmetic:
/// Go's zero time, chrono's range ends, huge and negative numbers, NaN-like strings.
pub(crate) fn timestamp_value() -> impl Strategy<Value = Value> {
    prop_oneof![
        any::<i64>().prop_map(Value::from),
        any::<u64>().prop_map(Value::from),
        any::<f64>()
            .prop_map(|f| serde_json::Number::from_f64(f).map_or(Value::Null, Value::Number)),
        (-100_000_000_000_i64..100_000_000_000_i64).prop_map(|s| {
            DateTime::from_timestamp(s, 0).map_or(Value::Null, |t| Value::String(t.to_rfc3339()))
        }),
        prop::sample::select(vec![
            "0001-01-01T00:00:00Z",
            "0001-01-01T00:00:00+08:00",
            "0000-12-31T23:59:59-01:00",
            "+262142-12-31T23:59:59Z",
            "-262143-01-01T00:00:00Z",
            "9999-12-31 23:59:59",
            "2026-02-30T00:00:00Z",
            "1e309",
            "-1e309",
            "NaN",
            "inf",
            "",
            " ",
            "9223372036854775807",
            "-9223372036854775808",
            "18446744073709551615",
        ])
        .prop_map(|s| Value::String(s.to_owned())),
        any::<i64>().prop_map(|n| Value::String(n.to_string())),
    ]
}

/// A JWT-shaped string: three base64url segments around arbitrary claims (an `exp` from
/// [`timestamp_value`] mostly), or a broken variant.
pub(crate) fn jwt() -> impl Strategy<Value = String> {
    let engine = &base64::engine::general_purpose::URL_SAFE_NO_PAD;
    let claims = (prop::option::of(timestamp_value()), json_value()).prop_map(|(exp, extra)| {
        let mut m = Map::new();
        if let Some(exp) = exp {
            m.insert("exp".into(), exp);
        }
        m.insert("https://api.openai.com/auth".into(), extra.clone());
        m.insert("email".into(), extra);
        Value::Object(m)
    });
    prop_oneof![
        3 => claims.prop_map(move |c| {
            format!("eyJhbGciOiJub25lIn0.{}.sig", engine.encode(c.to_string()))
        }),
        1 => prop::collection::vec(any::<u8>(), 0..64)
            .prop_map(move |b| format!("a.{}.b", engine.encode(b))),
        1 => "[A-Za-z0-9_.=-]{0,40}",
    ]
}

/// A credential-shaped JSON object: a provider `type`, tokens (often JWTs), expiry fields and
/// arbitrary extra keys, sometimes nested in `token`/`tokens`.
pub(crate) fn credential_object() -> impl Strategy<Value = Map<String, Value>> {
    let provider = prop::sample::select(vec![
        "codex",
        "claude",
        "antigravity",
        "gemini",
        "gemini-cli",
        "kimi",
        "xai",
        "grok",
        "vertex",
        "qwen",
        "iflow",
        "",
        "Codex ",
        "other",
    ]);
    (
        provider,
        prop::option::of(jwt()),
        prop::option::of(jwt()),
        prop::option::of(".{0,20}"),
        prop::collection::btree_map(key(), json_value(), 0..6),
        prop::collection::btree_map(key(), timestamp_value(), 0..4),
        any::<bool>(),
    )
        .prop_map(|(ty, access, id, refresh, extra, times, nest)| {
            let mut inner = Map::new();
            if let Some(a) = access {
                inner.insert("access_token".into(), a.into());
            }
            if let Some(r) = refresh {
                inner.insert("refresh_token".into(), r.into());
            }
            inner.extend(times);
            let mut m = Map::new();
            m.insert("type".into(), ty.into());
            if let Some(id) = id {
                m.insert("id_token".into(), id.into());
            }
            m.extend(extra);
            if nest {
                m.insert("token".into(), Value::Object(inner));
            } else {
                m.extend(inner);
            }
            m
        })
}

/// A moment to judge expiries against, across chrono's whole range.
pub(crate) fn now() -> impl Strategy<Value = DateTime<Utc>> {
    prop_oneof![
        Just(Utc::now()),
        (-8_000_000_000_000_i64..8_000_000_000_000_i64)
            .prop_map(|s| DateTime::from_timestamp(s, 0).unwrap_or_else(Utc::now)),
        Just(DateTime::<Utc>::MIN_UTC),
        Just(DateTime::<Utc>::MAX_UTC),
    ]
}

/// Parses, decides offline and builds the finding; returns the verdict's class.
fn judge(obj: &Map<String, Value>, now: DateTime<Utc>) -> Class {
    let cred = Credential::from_json(obj);
    let v = verdict::offline(&cred, now);
    let _ = cred.account_key();
    let _ = cred.primary_secret().map(credential::Secret::fingerprint);
    let facts = crate::scan::Facts::of(&cred, None, false);
    let finding = crate::scan::Scanned::new("auths/x.json", None, facts, v.clone()).finding();
    let _ = crate::report::escape(&finding.provider);
    let _ = serde_json::to_string(&finding);
    // A dead offline verdict needs evidence: a past expiry and nothing to renew the token.
    if v.status.class() == Class::Dead && cred.access_token.is_some() {
        assert!(
            v.status == crate::status::Status::MissingToken
                || (cred.expires_at.is_some_and(|t| t <= now) && cred.refresh_token.is_none()),
            "{v:?}"
        );
    }
    v.status.class()
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 512, ..ProptestConfig::default() })]

    #[test]
    fn arbitrary_bytes_never_panic_the_json_parser(bytes in prop::collection::vec(any::<u8>(), 0..256)) {
        let _ = credential::parse_json(&bytes);
    }

    #[test]
    fn arbitrary_json_never_panics_parsing_or_the_offline_verdict(v in json_value(), now in now()) {
        if let Ok(obj) = credential::parse_json(v.to_string().as_bytes()) {
            let _ = credential::looks_like_credential(&obj);
            judge(&obj, now);
        }
    }

    #[test]
    fn credential_shaped_objects_never_panic(obj in credential_object(), now in now()) {
        judge(&obj, now);
    }

    #[test]
    fn timestamps_never_panic_and_zero_time_is_unset(v in timestamp_value()) {
        let parsed = credential::parse_timestamp(&v);
        if let Some(t) = parsed {
            prop_assert!(chrono::Datelike::year(&t) > 1);
        }
        let obj = json!({"type": "codex", "access_token": "a", "expired": v,
            "timestamp": v, "expires_in": v});
        judge(obj.as_object().unwrap_or(&Map::new()), Utc::now());
    }

    #[test]
    fn issued_plus_lifetime_never_panics(issued in timestamp_value(), lifetime in any::<i64>()) {
        let obj = json!({"type": "antigravity", "access_token": "a",
            "timestamp": issued, "expires_in": lifetime});
        judge(obj.as_object().unwrap_or(&Map::new()), Utc::now());
    }

    #[test]
    fn jwts_never_panic(token in jwt()) {
        let _ = credential::jwt_claims(&token);
        let obj = json!({"type": "codex", "access_token": token, "id_token": token});
        judge(obj.as_object().unwrap_or(&Map::new()), Utc::now());
    }
}

/// An answer a provider (or something in between) might give: any status, JSON or HTML or
/// text, bodies that mention the words the rules look for, and huge numbers where resets are.
pub(crate) fn provider_answer() -> impl Strategy<Value = crate::providers::ProbeResponse> {
    let word = prop_oneof![
        Just("token_invalidated"),
        Just("token_revoked"),
        Just("account_deactivated"),
        Just("usage_limit_reached"),
        Just("invalid_grant"),
        Just("invalid_client"),
        Just("invalid_token"),
        Just("organization has been disabled"),
        Just("model"),
        Just("access_token"),
    ];
    let body = prop_oneof![
        json_value().prop_map(|v| v.to_string()),
        (word.clone(), any::<i64>()).prop_map(|(w, n)| {
            json!({"error": {"type": w, "code": w, "resets_in_seconds": n, "resets_at": n}})
                .to_string()
        }),
        word.clone()
            .prop_map(|w| json!({"error": w, "access_token": "x"}).to_string()),
        (any::<f64>(), any::<i64>()).prop_map(|(u, r)| {
            json!({"rate_limit": {"limit_reached": u > 0.0,
                "primary_window": {"used_percent": u, "reset_at": r}},
                "five_hour": {"utilization": u, "resets_at": r}})
            .to_string()
        }),
        ".{0,64}",
        word.prop_map(|w| format!("<html><body>{w}</body></html>")),
    ];
    let status = prop_oneof![
        Just(200_u16),
        Just(400),
        Just(401),
        Just(403),
        Just(404),
        Just(408),
        Just(426),
        Just(429),
        Just(500),
        Just(503),
        any::<u16>()
    ];
    let ct = prop_oneof![
        Just("application/json".to_owned()),
        Just("text/html".to_owned()),
        Just(String::new())
    ];
    (status, ct, body).prop_map(|(status, content_type, body)| {
        crate::providers::ProbeResponse::new(status, content_type, body, None)
    })
}

/// Whether an answer is transient by nature: throttling, a server error or an HTML page.
fn is_transient(r: &crate::providers::ProbeResponse) -> bool {
    matches!(r.status, 408 | 429 | 500..=599) || r.is_html()
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 512, ..ProptestConfig::default() })]

    /// Every provider's probe, fed arbitrary answers (up to four steps), never panics, and a
    /// transient answer never ends in a dead verdict (issue 10 item 15).
    #[test]
    fn provider_answers_never_panic_and_transient_is_never_dead(
        obj in credential_object(),
        answers in prop::collection::vec(provider_answer(), 1..5),
        relay in any::<bool>(),
    ) {
        use crate::providers::{Check, ProbeOptions, Step, check};
        let cred = Credential::from_json(&obj);
        let offline = verdict::offline(&cred, Utc::now());
        let opts = ProbeOptions { relay, ..ProbeOptions::default() };
        let Check::Probe(mut probe) = check(&cred, offline, Utc::now(), &opts, false) else {
            return Ok(());
        };
        let _ = probe.start();
        for answer in &answers {
            match probe.on_response(answer) {
                Step::Next(_) => {}
                Step::Done(v) | Step::Retry(v) => {
                    if is_transient(answer) {
                        prop_assert_ne!(v.status.class(), Class::Dead, "{:?} -> {:?}", answer, v);
                    }
                    break;
                }
            }
        }
    }
}
