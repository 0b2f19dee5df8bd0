//! The credential model: one CLIProxyAPI auth file parsed into a [`Credential`], with every
//! secret wrapped in [`Secret`] so that it cannot be printed by accident.
//!
//! Parsing is tolerant in the ways CPA itself is (see `cliproxyapi-auth-files.md` §1–§2): the
//! provider is the lower-cased top-level `type`, keys may be snake_case, camelCase or kebab-case,
//! tokens may sit in a nested `token`/`tokens` object, and timestamps may be RFC3339,
//! `YYYY-MM-DD HH:MM[:SS]`, unix seconds or unix milliseconds. JWTs are decoded, never verified.
//! Pure: no I/O, no network. Called by `scan` and the probes.

use std::fmt;

use base64::Engine as _;
use chrono::{DateTime, NaiveDateTime, TimeZone as _, Utc};
use serde_json::{Map, Value};
use sha2::{Digest as _, Sha256};

/// A secret string: a token, refresh token, id token, private key or proxy URL with userinfo.
///
/// `Debug` and `Display` print `[REDACTED]`; it is deliberately not `Serialize`. Use
/// [`Secret::expose`] only where the value must leave the process (a request header or body).
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(String);

impl Secret {
    /// Wraps a secret value.
    pub fn new(value: impl Into<String>) -> Self {
        Self(value.into())
    }

    /// Returns the secret value itself. Never log or print what this returns.
    pub fn expose(&self) -> &str {
        &self.0
    }

    /// Returns the public fingerprint: the first 12 hex digits of the value's SHA-256.
    pub fn fingerprint(&self) -> String {
        let digest = Sha256::digest(self.0.as_bytes());
        hex(&digest[..6])
    }

    /// Returns the first 16 bytes of the value's SHA-256, for in-memory equality checks; the
    /// public fingerprint is the first 6 of these bytes, see [`fingerprint_of`].
    pub(crate) fn digest(&self) -> u128 {
        digest_of(&[self.0.as_bytes()])
    }
}

/// The first 16 bytes of the SHA-256 of `parts`, one after the other.
fn digest_of(parts: &[&[u8]]) -> u128 {
    let mut h = Sha256::new();
    for p in parts {
        h.update(p);
    }
    let d = h.finalize();
    let mut first = [0u8; 16];
    first.copy_from_slice(&d[..16]);
    u128::from_be_bytes(first)
}

/// Returns the first 16 bytes of the SHA-256 of an account key ([`Credential::account_key`]),
/// behind a prefix no token digest ([`Secret::digest`]) shares: duplicate detection compares
/// both kinds of key in one list without an account ever matching a token.
pub(crate) fn account_digest(key: &str) -> u128 {
    digest_of(&[b"account\0", key.as_bytes()])
}

/// Returns the public fingerprint (12 hex digits) of a secret's digest (`Secret::digest`).
pub fn fingerprint_of(digest: u128) -> String {
    format!("{:012x}", digest >> 80)
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("[REDACTED]")
    }
}

impl fmt::Display for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("[REDACTED]")
    }
}

fn hex(bytes: &[u8]) -> String {
    // By table, not `write!` per byte: every file's identity and fingerprint go through here.
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    let mut s = String::with_capacity(bytes.len() * 2);
    for b in bytes {
        s.push(char::from(DIGITS[usize::from(b >> 4)]));
        s.push(char::from(DIGITS[usize::from(b & 0xf)]));
    }
    s
}

/// The providers git-credman knows. Unknown `type`s keep their name in [`Credential::provider`].
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum ProviderKind {
    /// OpenAI ChatGPT/Codex OAuth.
    Codex,
    /// Anthropic Claude Code OAuth.
    Claude,
    /// Google OAuth, Antigravity client.
    Antigravity,
    /// Legacy gemini-cli (Google OAuth, nested `token` object).
    Gemini,
    /// Kimi Code device flow.
    Kimi,
    /// Grok CLI OAuth.
    Xai,
    /// Google service-account import.
    Vertex,
    /// Legacy Qwen.
    Qwen,
    /// Legacy iFlow.
    Iflow,
    /// Any other `type` (or none).
    Other,
}

impl ProviderKind {
    /// Maps a lower-cased `type` value to a provider and its canonical report name.
    pub fn from_type(ty: &str) -> (Self, String) {
        let kind = match ty {
            "codex" => Self::Codex,
            "claude" => Self::Claude,
            "antigravity" => Self::Antigravity,
            "gemini" | "gemini-cli" | "gemini_cli" => Self::Gemini,
            "kimi" => Self::Kimi,
            "xai" | "grok" => Self::Xai,
            "vertex" => Self::Vertex,
            "qwen" => Self::Qwen,
            "iflow" => Self::Iflow,
            _ => Self::Other,
        };
        let name = match kind {
            Self::Gemini => "gemini".to_owned(),
            Self::Other if ty.is_empty() => "unknown".to_owned(),
            _ => ty.to_owned(),
        };
        (kind, name)
    }

    /// Returns whether this provider's refresh tokens rotate on every use (so a checker must
    /// never redeem them: it would strand the copy CPA holds).
    pub fn has_rotating_refresh_token(self) -> bool {
        !matches!(self, Self::Antigravity | Self::Gemini | Self::Vertex)
    }
}

/// Where an expiry time came from, for the report's reason text.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ExpirySource {
    /// The access token's JWT `exp` claim.
    JwtExp,
    /// A top-level or nested expiry field (`expired`, `expiry`, …).
    Field,
    /// `timestamp + expires_in` (antigravity).
    IssuedPlusLifetime,
}

/// The Google service-account key inside a vertex file.
#[derive(Clone, Debug, Default)]
pub struct ServiceAccount {
    /// `client_email` of the key.
    pub client_email: Option<String>,
    /// `private_key` (PEM).
    pub private_key: Option<Secret>,
    /// `private_key_id`.
    pub private_key_id: Option<String>,
    /// `token_uri`, default Google's token endpoint.
    pub token_uri: Option<String>,
}

/// One parsed credential file. Secrets are [`Secret`]s; everything else is safe to report
/// (identities still get masked by the report unless asked otherwise).
#[derive(Clone, Debug)]
pub struct Credential {
    /// Provider name for reports: the lower-cased `type`, or `unknown`.
    pub provider: String,
    /// The provider, when git-credman knows it.
    pub kind: ProviderKind,
    /// The bearer token.
    pub access_token: Option<Secret>,
    /// The refresh token.
    pub refresh_token: Option<Secret>,
    /// The OpenID id token (codex, xai).
    pub id_token: Option<Secret>,
    /// An API key used as bearer (iflow).
    pub api_key: Option<Secret>,
    /// A browser cookie used to renew the key (iflow cookie login).
    pub cookie: Option<Secret>,
    /// The service-account key (vertex).
    pub service_account: Option<ServiceAccount>,
    /// Account email.
    pub email: Option<String>,
    /// Codex `chatgpt_account_id` (file field or id_token claim).
    pub account_id: Option<String>,
    /// Codex plan type from the id_token claims.
    pub plan: Option<String>,
    /// Claude `account_uuid` or xai `sub`.
    pub account_uuid: Option<String>,
    /// Google project id.
    pub project_id: Option<String>,
    /// CPA's persisted `disabled` flag.
    pub disabled: bool,
    /// When the access token expires, when known.
    pub expires_at: Option<DateTime<Utc>>,
    /// Where `expires_at` came from.
    pub expiry_source: Option<ExpirySource>,
    /// OAuth client id stored in the file (gemini's nested token, antigravity).
    pub client_id: Option<String>,
    /// OAuth client secret stored in the file.
    pub client_secret: Option<Secret>,
    /// Token endpoint stored in the file (`token_uri`, xai `token_endpoint`).
    pub token_uri: Option<String>,
    /// CPA's per-file `proxy_url`; may carry userinfo, so it is a secret.
    pub proxy_url: Option<Secret>,
    /// Kimi `device_id`.
    pub device_id: Option<String>,
    /// API base URL stored in the file (xai `base_url`, qwen `resource_url`).
    pub base_url: Option<String>,
}

/// Why a file is not a credential.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ParseError {
    /// Zero bytes, or only white space.
    #[error("empty file")]
    Empty,
    /// Not valid JSON; only the position is kept (never the content).
    #[error("not valid JSON ({category} at line {line}, column {column})")]
    NotJson {
        /// serde_json's error category.
        category: &'static str,
        /// 1-based line.
        line: usize,
        /// 1-based column.
        column: usize,
    },
    /// Valid JSON whose top level is not an object.
    #[error("JSON top level is {0}, not an object")]
    NotObject(&'static str),
}

/// Parses the bytes of an auth file as JSON, without interpreting it yet.
pub fn parse_json(bytes: &[u8]) -> Result<Map<String, Value>, ParseError> {
    let text = bytes.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(bytes);
    if text.iter().all(u8::is_ascii_whitespace) {
        return Err(ParseError::Empty);
    }
    match serde_json::from_slice::<Value>(text) {
        Ok(Value::Object(map)) => Ok(map),
        Ok(other) => Err(ParseError::NotObject(json_kind(&other))),
        Err(err) => Err(ParseError::NotJson {
            category: match err.classify() {
                serde_json::error::Category::Io => "read error",
                serde_json::error::Category::Syntax => "syntax error",
                serde_json::error::Category::Data => "data error",
                serde_json::error::Category::Eof => "unexpected end",
            },
            line: err.line(),
            column: err.column(),
        }),
    }
}

fn json_kind(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

/// Returns whether a JSON object looks like a CPA credential: a string `type` plus a token field.
///
/// Used to pick credentials out of a tree that has no auth directory, so that other JSON
/// (package.json, tsconfig.json …) is silently ignored.
pub fn looks_like_credential(obj: &Map<String, Value>) -> bool {
    let has_type = obj.get("type").is_some_and(Value::is_string);
    let token_keys = [
        "access_token",
        "accessToken",
        "access-token",
        "refresh_token",
        "refreshToken",
        "refresh-token",
        "id_token",
        "idToken",
        "token",
        "tokens",
        "api_key",
        "apiKey",
        "api-key",
        "service_account",
        "serviceAccount",
        "cookie",
    ];
    has_type
        && token_keys
            .iter()
            .any(|k| obj.get(*k).is_some_and(|v| !v.is_null()))
}

/// Returns whether a JSON object has a credential's shape: a known provider `type` (CPA writes
/// it into every file it saves), or any string `type` plus a token field
/// ([`looks_like_credential`]). `package.json` (`"type": "module"`, no token) has none.
pub fn has_credential_shape(obj: &Map<String, Value>) -> bool {
    let known = obj
        .get("type")
        .and_then(Value::as_str)
        .is_some_and(|t| ProviderKind::from_type(&t.to_ascii_lowercase()).0 != ProviderKind::Other);
    known || looks_like_credential(obj)
}

/// camelCase and kebab-case aliases of the snake_case keys git-credman reads. A static table,
/// because building the aliases on every lookup dominated parsing time on large trees.
const ALIASES: &[(&str, &str, &str)] = &[
    ("access_token", "accessToken", "access-token"),
    ("refresh_token", "refreshToken", "refresh-token"),
    ("id_token", "idToken", "id-token"),
    ("api_key", "apiKey", "api-key"),
    ("service_account", "serviceAccount", "service-account"),
    ("client_email", "clientEmail", "client-email"),
    ("private_key", "privateKey", "private-key"),
    ("private_key_id", "privateKeyId", "private-key-id"),
    ("token_uri", "tokenUri", "token-uri"),
    ("account_id", "accountId", "account-id"),
    ("plan_type", "planType", "plan-type"),
    ("account_uuid", "accountUuid", "account-uuid"),
    ("project_id", "projectId", "project-id"),
    ("expires_at", "expiresAt", "expires-at"),
    ("expires_in", "expiresIn", "expires-in"),
    ("client_id", "clientId", "client-id"),
    ("client_secret", "clientSecret", "client-secret"),
    ("token_endpoint", "tokenEndpoint", "token-endpoint"),
    ("proxy_url", "proxyUrl", "proxy-url"),
    ("device_id", "deviceId", "device-id"),
    ("base_url", "baseUrl", "base-url"),
    ("resource_url", "resourceUrl", "resource-url"),
];

/// Returns whether an object (and the nested objects git-credman reads) uses only snake_case
/// keys, so that lookups need no aliases. Nearly every file CPA writes is like that.
fn is_plain(obj: &Map<String, Value>) -> bool {
    obj.keys()
        .all(|k| !k.bytes().any(|b| b == b'-' || b.is_ascii_uppercase()))
        && ["token", "tokens", "service_account"]
            .iter()
            .all(|n| obj.get(*n).and_then(Value::as_object).is_none_or(is_plain))
}

/// Returns a copy of `obj` with camelCase and kebab-case keys renamed to snake_case (the
/// canonical key wins when both exist, as in CPA), recursively.
fn normalize(obj: &Map<String, Value>) -> Map<String, Value> {
    let mut out = Map::new();
    for (k, v) in obj {
        let v = match v {
            Value::Object(m) => Value::Object(normalize(m)),
            other => other.clone(),
        };
        match ALIASES
            .iter()
            .find(|(_, camel, kebab)| k == camel || k == kebab)
        {
            Some((snake, _, _)) if obj.contains_key(*snake) => {}
            Some((snake, _, _)) => {
                out.insert((*snake).to_owned(), v);
            }
            None => {
                out.insert(k.clone(), v);
            }
        }
    }
    out
}

/// Declares [`Name`]: the snake_case keys [`Credential::from_json`] reads (objects are
/// normalised to snake_case before, see [`normalize`]).
macro_rules! known_keys {
    ($($key:ident = $name:literal),* $(,)?) => {
        #[derive(Clone, Copy, Debug, PartialEq, Eq)]
        enum Name { $($key),* }

        impl Name {
            const COUNT: usize = [$($name),*].len();

            fn of(name: &str) -> Option<Self> {
                match name {
                    $($name => Some(Self::$key),)*
                    _ => None,
                }
            }
        }
    };
}

known_keys! {
    Type = "type", Token = "token", TokenCapital = "Token", Tokens = "tokens",
    AccessToken = "access_token", RefreshToken = "refresh_token", IdToken = "id_token",
    ApiKey = "api_key", Cookie = "cookie", ServiceAccount = "service_account", Email = "email",
    AccountId = "account_id", PlanType = "plan_type", AccountUuid = "account_uuid", Sub = "sub",
    ProjectId = "project_id", Timestamp = "timestamp", ExpiresIn = "expires_in",
    Disabled = "disabled", ClientId = "client_id", ClientSecret = "client_secret",
    TokenUri = "token_uri", TokenEndpoint = "token_endpoint", ProxyUrl = "proxy_url",
    DeviceId = "device_id", BaseUrl = "base_url", ResourceUrl = "resource_url",
    Expired = "expired", Expire = "expire", ExpiresAt = "expires_at", Expiry = "expiry",
    Expires = "expires", Expiration = "expiration",
}

/// The fields of one object that git-credman reads, found in one pass over its keys: a map
/// lookup per field read (about thirty per file, most of them of keys the file lacks) was most
/// of the cost of interpreting a file (issue 13).
struct Fields<'a> {
    slots: [Option<&'a Value>; Name::COUNT],
    /// No key is camelCase or kebab-case (nested objects aside): see [`is_plain`].
    plain_keys: bool,
}

impl<'a> Fields<'a> {
    fn of(obj: &'a Map<String, Value>) -> Self {
        let mut slots = [None; Name::COUNT];
        let mut plain_keys = true;
        for (k, v) in obj {
            if let Some(key) = Name::of(k) {
                slots[key as usize] = Some(v);
            }
            plain_keys &= !k.bytes().any(|b| b == b'-' || b.is_ascii_uppercase());
        }
        Self { slots, plain_keys }
    }

    fn get(&self, key: Name) -> Option<&'a Value> {
        self.slots[key as usize]
    }

    fn object(&self, key: Name) -> Option<&'a Map<String, Value>> {
        self.get(key).and_then(Value::as_object)
    }

    fn str(&self, key: Name) -> Option<String> {
        str_of(self.get(key))
    }

    /// [`is_plain`] of the whole object.
    fn plain(&self) -> bool {
        self.plain_keys
            && [Name::Token, Name::Tokens, Name::ServiceAccount]
                .iter()
                .all(|k| self.object(*k).is_none_or(is_plain))
    }

    /// The nested `token`/`tokens` objects.
    fn nested(&self) -> [Option<Fields<'a>>; 3] {
        [Name::Token, Name::TokenCapital, Name::Tokens].map(|k| self.object(k).map(Fields::of))
    }

    fn expiry(&self) -> Option<DateTime<Utc>> {
        EXPIRY_KEYS
            .iter()
            .find_map(|k| self.get(*k).and_then(parse_timestamp))
    }
}

fn str_of(value: Option<&Value>) -> Option<String> {
    match value? {
        Value::String(s) if !s.trim().is_empty() => Some(s.trim().to_owned()),
        Value::Number(n) => Some(n.to_string()),
        _ => None,
    }
}

fn str_field(obj: &Map<String, Value>, snake: &str) -> Option<String> {
    str_of(obj.get(snake))
}

/// Finds a string field at top level, then inside a nested `token`/`tokens` object.
fn str_anywhere(obj: &Fields<'_>, nested: &[Option<Fields<'_>>; 3], key: Name) -> Option<String> {
    obj.str(key)
        .or_else(|| nested.iter().flatten().find_map(|n| n.str(key)))
}

fn bool_of(value: Option<&Value>) -> bool {
    match value {
        Some(Value::Bool(b)) => *b,
        Some(Value::String(s)) => {
            matches!(s.trim().to_ascii_lowercase().as_str(), "true" | "1" | "yes")
        }
        Some(Value::Number(n)) => n.as_i64().is_some_and(|n| n != 0),
        _ => false,
    }
}

/// Parses a timestamp in any form CPA accepts: RFC3339 (with or without fractional seconds),
/// `YYYY-MM-DD HH:MM:SS`, `YYYY-MM-DD HH:MM`, a naive `YYYY-MM-DDTHH:MM:SS` (taken as UTC),
/// or unix seconds / milliseconds as a number or a numeric string (values above 1e12 are ms).
///
/// Go's zero time (`0001-01-01T00:00:00Z`, what CPA writes for an unset `time.Time`) and any
/// other instant in the years 0 and 1 mean "not set": `None`, never "expired long ago".
pub fn parse_timestamp(value: &Value) -> Option<DateTime<Utc>> {
    parse_any_timestamp(value).filter(|t| chrono::Datelike::year(t) > 1)
}

fn parse_any_timestamp(value: &Value) -> Option<DateTime<Utc>> {
    match value {
        Value::Number(n) => n.as_f64().and_then(from_unix),
        Value::String(s) => {
            let s = s.trim();
            if s.is_empty() {
                return None;
            }
            if let Ok(dt) = DateTime::parse_from_rfc3339(s) {
                return Some(dt.with_timezone(&Utc));
            }
            for fmt in [
                "%Y-%m-%d %H:%M:%S%.f",
                "%Y-%m-%d %H:%M",
                "%Y-%m-%dT%H:%M:%S%.f",
            ] {
                if let Ok(naive) = NaiveDateTime::parse_from_str(s, fmt) {
                    return Some(Utc.from_utc_datetime(&naive));
                }
            }
            if let Ok(dt) = DateTime::parse_from_str(s, "%Y-%m-%d %H:%M:%S%.f %z") {
                return Some(dt.with_timezone(&Utc));
            }
            s.parse::<f64>().ok().and_then(from_unix)
        }
        _ => None,
    }
}

fn from_unix(n: f64) -> Option<DateTime<Utc>> {
    if !n.is_finite() || n <= 0.0 {
        return None;
    }
    #[allow(clippy::cast_possible_truncation)]
    let millis = if n > 1e12 {
        n as i64
    } else {
        (n * 1000.0) as i64
    };
    DateTime::from_timestamp_millis(millis)
}

/// Decodes the payload of a JWT without verifying it. Returns `None` for anything that is not
/// three dot-separated base64url segments with a JSON object in the middle.
pub fn jwt_claims(token: &str) -> Option<Map<String, Value>> {
    let mut parts = token.split('.');
    let (_, payload, _) = (parts.next()?, parts.next()?, parts.next()?);
    if parts.next().is_some() || payload.is_empty() {
        return None;
    }
    let engine = base64::engine::GeneralPurpose::new(
        &base64::alphabet::URL_SAFE,
        base64::engine::GeneralPurposeConfig::new()
            .with_decode_padding_mode(base64::engine::DecodePaddingMode::Indifferent),
    );
    let bytes = engine.decode(payload).ok()?;
    match serde_json::from_slice(&bytes).ok()? {
        Value::Object(map) => Some(map),
        _ => None,
    }
}

const EXPIRY_KEYS: [Name; 6] = [
    Name::Expired,
    Name::Expire,
    Name::ExpiresAt,
    Name::Expiry,
    Name::Expires,
    Name::Expiration,
];

fn secret(value: Option<String>) -> Option<Secret> {
    value.map(Secret::new)
}

impl Credential {
    /// Interprets a parsed auth file.
    ///
    /// Never fails: a JSON object with no recognisable field is a credential of provider
    /// `unknown` with no tokens, which the verdict reports as `missing_token`.
    pub fn from_json(obj: &Map<String, Value>) -> Self {
        let normalized;
        let mut f = Fields::of(obj);
        if !f.plain() {
            normalized = normalize(obj);
            f = Fields::of(&normalized);
        }
        let ty = f
            .get(Name::Type)
            .and_then(Value::as_str)
            .unwrap_or("")
            .trim()
            .to_ascii_lowercase();
        let (kind, provider) = ProviderKind::from_type(&ty);
        let nested = f.nested();

        // `token` may be the access token itself (a string) or an oauth2.Token object.
        let token_string = match f.get(Name::Token) {
            Some(Value::String(s)) if !s.trim().is_empty() => Some(s.trim().to_owned()),
            _ => None,
        };
        let access_token = secret(str_anywhere(&f, &nested, Name::AccessToken).or(token_string));
        let refresh_token = secret(str_anywhere(&f, &nested, Name::RefreshToken));
        let id_token = secret(str_anywhere(&f, &nested, Name::IdToken));
        let api_key = secret(f.str(Name::ApiKey));
        let cookie = secret(f.str(Name::Cookie));

        let service_account = f.object(Name::ServiceAccount).map(|sa| ServiceAccount {
            client_email: str_field(sa, "client_email"),
            private_key: secret(str_field(sa, "private_key")),
            private_key_id: str_field(sa, "private_key_id"),
            token_uri: str_field(sa, "token_uri"),
        });

        let id_claims = id_token.as_ref().and_then(|t| jwt_claims(t.expose()));
        let access_claims = access_token.as_ref().and_then(|t| jwt_claims(t.expose()));
        let openai = |claims: &Option<Map<String, Value>>, key: &str| {
            claims
                .as_ref()
                .and_then(|c| c.get("https://api.openai.com/auth"))
                .and_then(|a| a.get(key))
                .and_then(Value::as_str)
                .filter(|s| !s.is_empty())
                .map(str::to_owned)
        };
        let claim_str = |claims: &Option<Map<String, Value>>, key: &str| {
            claims
                .as_ref()
                .and_then(|c| c.get(key))
                .and_then(Value::as_str)
                .map(str::to_owned)
        };

        let mut email = str_anywhere(&f, &nested, Name::Email)
            .or_else(|| claim_str(&id_claims, "email"))
            .or_else(|| {
                service_account
                    .as_ref()
                    .and_then(|sa| sa.client_email.clone())
            });
        if email.is_none() && kind == ProviderKind::Codex {
            email = access_claims
                .as_ref()
                .and_then(|c| c.get("https://api.openai.com/profile"))
                .and_then(|p| p.get("email"))
                .and_then(Value::as_str)
                .map(str::to_owned);
        }
        let (account_id, plan) = if kind == ProviderKind::Codex {
            (
                f.str(Name::AccountId)
                    .or_else(|| openai(&id_claims, "chatgpt_account_id"))
                    .or_else(|| openai(&access_claims, "chatgpt_account_id")),
                openai(&id_claims, "chatgpt_plan_type")
                    .or_else(|| openai(&access_claims, "chatgpt_plan_type"))
                    .or_else(|| f.str(Name::PlanType)),
            )
        } else {
            (f.str(Name::AccountId), f.str(Name::PlanType))
        };
        let account_uuid = f.str(Name::AccountUuid).or_else(|| f.str(Name::Sub));
        let project_id = f.str(Name::ProjectId);

        let jwt_exp = access_claims
            .as_ref()
            .and_then(|c| c.get("exp"))
            .and_then(parse_timestamp);
        let field_exp = f
            .expiry()
            .or_else(|| nested.iter().flatten().find_map(Fields::expiry));
        let issued_exp = match (
            f.get(Name::Timestamp).and_then(parse_timestamp),
            f.get(Name::ExpiresIn),
        ) {
            // Out-of-range lifetimes (huge, or past chrono's range) mean no known expiry;
            // plain `+` would panic.
            (Some(issued), Some(Value::Number(n))) => n
                .as_i64()
                .and_then(chrono::Duration::try_seconds)
                .and_then(|lifetime| issued.checked_add_signed(lifetime)),
            _ => None,
        };
        let (expires_at, expiry_source) = match (jwt_exp, field_exp, issued_exp) {
            (Some(t), _, _) => (Some(t), Some(ExpirySource::JwtExp)),
            (None, Some(t), _) => (Some(t), Some(ExpirySource::Field)),
            (None, None, Some(t)) => (Some(t), Some(ExpirySource::IssuedPlusLifetime)),
            _ => (None, None),
        };

        Self {
            provider,
            kind,
            access_token,
            refresh_token,
            id_token,
            api_key,
            cookie,
            service_account,
            email,
            account_id,
            plan,
            account_uuid,
            project_id,
            disabled: bool_of(f.get(Name::Disabled)),
            expires_at,
            expiry_source,
            client_id: str_anywhere(&f, &nested, Name::ClientId),
            client_secret: secret(str_anywhere(&f, &nested, Name::ClientSecret)),
            token_uri: str_anywhere(&f, &nested, Name::TokenUri)
                .or_else(|| f.str(Name::TokenEndpoint)),
            proxy_url: secret(f.str(Name::ProxyUrl)),
            device_id: f.str(Name::DeviceId),
            base_url: f.str(Name::BaseUrl).or_else(|| f.str(Name::ResourceUrl)),
        }
    }

    /// Returns whether the file carries a usable service-account key (vertex).
    pub fn has_service_account_key(&self) -> bool {
        self.service_account
            .as_ref()
            .is_some_and(|sa| sa.private_key.is_some())
    }

    /// Returns the secret that identifies this credential in reports: the access token, else
    /// the API key, the refresh token, the service-account key or the cookie.
    pub fn primary_secret(&self) -> Option<&Secret> {
        self.access_token
            .as_ref()
            .or(self.api_key.as_ref())
            .or(self.refresh_token.as_ref())
            .or_else(|| {
                self.service_account
                    .as_ref()
                    .and_then(|sa| sa.private_key.as_ref())
            })
            .or(self.cookie.as_ref())
    }

    /// Returns every secret of the file, for duplicate-token detection and leak tests.
    pub fn secrets(&self) -> impl Iterator<Item = &Secret> {
        [
            self.access_token.as_ref(),
            self.refresh_token.as_ref(),
            self.api_key.as_ref(),
            self.service_account
                .as_ref()
                .and_then(|sa| sa.private_key.as_ref()),
        ]
        .into_iter()
        .flatten()
    }

    /// Returns the key under which two files hold the same account, if the file has an identity.
    ///
    /// codex: account id + plan (one person may own a personal and a team account); claude:
    /// account uuid, else email; Google: email + project; vertex: the key's client email;
    /// others: email. Kimi files carry no identity; only their tokens can be compared.
    pub fn account_key(&self) -> Option<String> {
        let email = self.email.as_ref().map(|e| e.to_ascii_lowercase());
        let key = match self.kind {
            ProviderKind::Codex => match &self.account_id {
                Some(id) => Some(format!("{id}/{}", self.plan.as_deref().unwrap_or("-"))),
                None => email,
            },
            ProviderKind::Claude => self.account_uuid.clone().or(email),
            ProviderKind::Antigravity | ProviderKind::Gemini => {
                email.map(|e| format!("{e}/{}", self.project_id.as_deref().unwrap_or("-")))
            }
            ProviderKind::Vertex => self
                .service_account
                .as_ref()
                .and_then(|sa| sa.client_email.clone())
                .or(email),
            ProviderKind::Kimi => None,
            _ => email,
        }?;
        Some(format!("{}:{key}", self.provider))
    }

    /// Returns the stable identity key: the first 12 hex digits of the SHA-256 of the provider,
    /// the account and the token family, or none when the file names no account (kimi).
    ///
    /// Unlike the token fingerprint it survives a rename and CPA's token refresh (which
    /// rewrites the tokens, not the account). The account is what stays when CPA rewrites a
    /// file: codex `account_id` (file or id_token claim; one person's personal and team
    /// workspaces differ), else the email; claude email, else `account_uuid`; xai `sub`, else
    /// the email; vertex the key's `client_email`; the others the email (Google's `project_id`
    /// is left out: CPA writes it into a file that lacks it, reference §2.3). Emails are
    /// compared lower-cased. The family is how the file authenticates: `service-account`
    /// (vertex), `oauth:<client_id>` when the file stores its OAuth client (gemini), `oauth`,
    /// `api-key` or `cookie`. A hash: it reveals no account.
    pub fn identity_key(&self) -> Option<String> {
        let email = self
            .email
            .as_deref()
            .filter(|e| !e.is_empty())
            .map(str::to_ascii_lowercase);
        let non_empty = |v: &Option<String>| v.clone().filter(|s| !s.is_empty());
        let account = match self.kind {
            ProviderKind::Codex => non_empty(&self.account_id).or(email),
            ProviderKind::Claude => email.or_else(|| non_empty(&self.account_uuid)),
            ProviderKind::Xai => non_empty(&self.account_uuid).or(email),
            ProviderKind::Vertex => self
                .service_account
                .as_ref()
                .and_then(|sa| sa.client_email.as_deref())
                .filter(|e| !e.is_empty())
                .map(str::to_ascii_lowercase)
                .or(email),
            ProviderKind::Kimi => None,
            _ => email,
        }?;
        let family = if self.kind == ProviderKind::Vertex || self.service_account.is_some() {
            "service-account".to_owned()
        } else if let Some(id) = self.client_id.as_deref().filter(|c| !c.is_empty()) {
            format!("oauth:{id}")
        } else if self.access_token.is_some() || self.refresh_token.is_some() {
            "oauth".to_owned()
        } else if self.api_key.is_some() {
            "api-key".to_owned()
        } else if self.cookie.is_some() {
            "cookie".to_owned()
        } else {
            "oauth".to_owned()
        };
        let digest = Sha256::digest(
            format!(
                "git-credman identity 1\n{}\n{account}\n{family}",
                self.provider
            )
            .as_bytes(),
        );
        Some(hex(&digest[..6]))
    }

    /// Returns the identity to show in reports (email, else account id), unmasked.
    pub fn identity(&self) -> Option<&str> {
        self.email
            .as_deref()
            .or(self.account_id.as_deref())
            .or(self.account_uuid.as_deref())
    }
}

/// Masks an identity for reports: `alice@example.com` → `a***@example.com`; anything else keeps
/// its first two characters.
pub fn mask_identity(identity: &str) -> String {
    match identity.split_once('@') {
        Some((local, domain)) => {
            let first: String = local.chars().take(1).collect();
            format!("{first}***@{domain}")
        }
        None => {
            let count = identity.chars().count();
            if count <= 4 {
                "***".to_owned()
            } else {
                let first: String = identity.chars().take(2).collect();
                format!("{first}***")
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn b64(v: &Value) -> String {
        base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(v.to_string())
    }

    /// Builds an unsigned JWT-shaped string at run time.
    fn jwt(claims: &Value) -> String {
        format!("{}.{}.{}", b64(&json!({"alg": "none"})), b64(claims), "sig")
    }

    fn cred(v: Value) -> Credential {
        Credential::from_json(v.as_object().unwrap())
    }

    #[test]
    fn secret_never_prints_its_value() {
        let s = Secret::new("hunter2-token");
        assert_eq!(format!("{s}"), "[REDACTED]");
        assert_eq!(format!("{s:?}"), "[REDACTED]");
        assert_eq!(s.fingerprint().len(), 12);
        assert_eq!(fingerprint_of(s.digest()), s.fingerprint());
        assert_ne!(s.fingerprint(), Secret::new("other").fingerprint());
        let c = cred(json!({"type":"kimi","access_token":"hunter2-token"}));
        assert!(!format!("{c:?}").contains("hunter2"));
    }

    #[test]
    fn parse_json_errors_carry_no_content() {
        assert_eq!(parse_json(b"  \n").unwrap_err(), ParseError::Empty);
        assert_eq!(
            parse_json(b"[1]").unwrap_err(),
            ParseError::NotObject("an array")
        );
        let err = parse_json(b"{\"access_token\": \"tok-secret\" ").unwrap_err();
        assert!(matches!(err, ParseError::NotJson { .. }));
        assert!(!err.to_string().contains("tok-secret"));
        assert!(parse_json(b"\xEF\xBB\xBF{\"type\":\"x\"}").is_ok());
    }

    #[test]
    fn timestamps_in_every_accepted_form() {
        let want = Utc.with_ymd_and_hms(2026, 8, 22, 2, 0, 0).unwrap();
        for v in [
            json!("2026-08-22T10:00:00+08:00"),
            json!("2026-08-22T02:00:00Z"),
            json!("2026-08-22T02:00:00.000000Z"),
            json!("2026-08-22 02:00:00"),
            json!("2026-08-22 02:00"),
            json!("2026-08-22T02:00:00"),
            json!(want.timestamp()),
            json!(want.timestamp_millis()),
            json!(want.timestamp().to_string()),
        ] {
            assert_eq!(parse_timestamp(&v), Some(want), "{v}");
        }
        assert_eq!(parse_timestamp(&json!("soon")), None);
        assert_eq!(parse_timestamp(&json!(0)), None);
        assert_eq!(parse_timestamp(&json!(null)), None);
    }

    #[test]
    fn regression_10_go_zero_time_is_no_expiry() {
        for zero in [
            "0001-01-01T00:00:00Z",
            "0001-01-01T00:00:00+08:00",
            "0001-01-01 00:00:00",
            "0001-01-01T00:00:00.000Z",
        ] {
            assert_eq!(parse_timestamp(&json!(zero)), None, "{zero}");
            let c = cred(json!({"type":"codex","access_token":"a","expired": zero}));
            assert_eq!(c.expires_at, None, "{zero}");
            let v = crate::verdict::offline(&c, Utc::now());
            assert_eq!(v.status, crate::status::Status::Unverified, "{zero}");
        }
        assert!(parse_timestamp(&json!("0002-01-01T00:00:00Z")).is_some());
    }

    #[test]
    fn regression_10_huge_lifetimes_and_timestamps_do_not_panic() {
        for (timestamp, expires_in) in [
            (json!(1_755_828_000_000_i64), json!(i64::MAX)),
            (json!(1_755_828_000_000_i64), json!(i64::MIN)),
            (
                json!("+262142-12-31T23:59:59Z"),
                json!(9_000_000_000_000_i64),
            ),
            (json!(1e300), json!(1)),
            (json!(-1e300), json!(1)),
            (json!(u64::MAX), json!(u64::MAX)),
        ] {
            let c = cred(json!({"type":"antigravity","access_token":"a",
                "timestamp": timestamp, "expires_in": expires_in}));
            let _ = crate::verdict::offline(&c, Utc::now());
        }
        let c = cred(json!({"type":"antigravity","access_token":"a",
            "timestamp": 1_755_828_000_000_i64, "expires_in": i64::MAX}));
        assert_eq!(c.expires_at, None);
    }

    #[test]
    fn jwt_payload_is_decoded_without_verification() {
        let t = jwt(&json!({"exp": 1_700_000_000, "email": "a@b.c"}));
        let claims = jwt_claims(&t).unwrap();
        assert_eq!(claims["exp"], 1_700_000_000);
        assert!(jwt_claims("not-a-jwt").is_none());
        assert!(jwt_claims("a.b").is_none());
        assert!(jwt_claims("a.!!!.c").is_none());
    }

    #[test]
    fn codex_identity_comes_from_id_token_claims() {
        let id = jwt(
            &json!({"email": "alice@example.com", "https://api.openai.com/auth": {
            "chatgpt_account_id": "acct-1", "chatgpt_plan_type": "plus"}}),
        );
        let access = jwt(&json!({"exp": 1_900_000_000}));
        let c =
            cred(json!({"type":"codex","id_token":id,"access_token":access,"refresh_token":"rt"}));
        assert_eq!(c.kind, ProviderKind::Codex);
        assert_eq!(c.email.as_deref(), Some("alice@example.com"));
        assert_eq!(c.account_id.as_deref(), Some("acct-1"));
        assert_eq!(c.plan.as_deref(), Some("plus"));
        assert_eq!(c.expiry_source, Some(ExpirySource::JwtExp));
        assert_eq!(c.expires_at.unwrap().timestamp(), 1_900_000_000);
        assert_eq!(c.account_key().as_deref(), Some("codex:acct-1/plus"));
    }

    #[test]
    fn codex_account_id_field_wins_over_claims() {
        let c = cred(
            json!({"type":"codex","account_id":"file-acct","access_token":"opaque",
            "expired":"2026-09-01T10:00:00+08:00"}),
        );
        assert_eq!(c.account_id.as_deref(), Some("file-acct"));
        assert_eq!(c.expiry_source, Some(ExpirySource::Field));
    }

    #[test]
    fn claude_camel_case_and_kebab_aliases() {
        let c = cred(
            json!({"type":"Claude","accessToken":"a","refreshToken":"r","email":"bob@x.io",
            "account_uuid":"u-1","proxy-url":"http://user:pw@proxy:1","disabled":true}),
        );
        assert_eq!(c.provider, "claude");
        assert!(c.access_token.is_some() && c.refresh_token.is_some());
        assert!(c.disabled);
        assert!(c.proxy_url.is_some());
        assert_eq!(c.account_key().as_deref(), Some("claude:u-1"));
    }

    #[test]
    fn antigravity_expiry_from_timestamp_plus_lifetime() {
        let c = cred(
            json!({"type":"antigravity","access_token":"ya","refresh_token":"1//r",
            "timestamp": 1_755_828_000_000_i64, "expires_in": 3599, "email":"c@gmail.com","project_id":"p"}),
        );
        assert_eq!(c.expiry_source, Some(ExpirySource::IssuedPlusLifetime));
        assert_eq!(c.expires_at.unwrap().timestamp(), 1_755_828_000 + 3599);
        assert_eq!(
            c.account_key().as_deref(),
            Some("antigravity:c@gmail.com/p")
        );
        assert!(!c.kind.has_rotating_refresh_token());
    }

    #[test]
    fn gemini_nested_token_object() {
        let c = cred(
            json!({"type":"gemini-cli","email":"e@gmail.com","project_id":"p1",
            "token":{"access_token":"ya","refresh_token":"1//r","expiry":"2026-08-22T11:00:00.123456+08:00",
            "client_id":"cid","client_secret":"cs","token_uri":"https://oauth2.googleapis.com/token"}}),
        );
        assert_eq!(c.provider, "gemini");
        assert_eq!(c.kind, ProviderKind::Gemini);
        assert!(c.access_token.is_some() && c.refresh_token.is_some() && c.client_secret.is_some());
        assert_eq!(c.client_id.as_deref(), Some("cid"));
        assert_eq!(c.expiry_source, Some(ExpirySource::Field));
        assert_eq!(c.expires_at.unwrap().timestamp(), 1_787_367_600);
    }

    #[test]
    fn identity_key_survives_a_refresh_and_separates_accounts() {
        let id = |email: &str, acct: &str| {
            jwt(&json!({"email": email, "https://api.openai.com/auth": {
                "chatgpt_account_id": acct, "chatgpt_plan_type": "plus"}}))
        };
        let a = cred(
            json!({"type":"codex","id_token":id("alice@example.com","acct-1"),
            "access_token":"at-1","refresh_token":"rt-1","expired":"2026-09-01T10:00:00Z"}),
        );
        // CPA's refresh: new tokens, new expiry, a new id_token for the same account.
        let refreshed = cred(
            json!({"type":"codex","id_token":id("Alice@Example.com","acct-1"),
            "access_token":"at-2","refresh_token":"rt-2","expired":"2026-09-11T10:00:00Z",
            "last_refresh":"2026-09-01T09:00:00Z"}),
        );
        let key = a.identity_key().unwrap();
        assert_eq!(key.len(), 12);
        assert!(key.bytes().all(|b| b.is_ascii_hexdigit()));
        assert_eq!(refreshed.identity_key(), Some(key.clone()));
        assert_ne!(
            a.primary_secret().map(Secret::fingerprint),
            refreshed.primary_secret().map(Secret::fingerprint)
        );
        // Another workspace of the same person, another provider, another account: other keys.
        let team = cred(
            json!({"type":"codex","id_token":id("alice@example.com","acct-2"),
            "access_token":"at-1"}),
        );
        assert_ne!(team.identity_key(), Some(key.clone()));
        let claude = cred(json!({"type":"claude","email":"alice@example.com","access_token":"a"}));
        let claude2 = cred(json!({"type":"claude","email":"bob@example.com","access_token":"a"}));
        assert_ne!(claude.identity_key(), claude2.identity_key());
        assert_ne!(claude.identity_key(), Some(key));
        // Google: CPA writing the project back keeps the identity; the OAuth client is the family.
        let g = cred(json!({"type":"antigravity","email":"c@gmail.com","access_token":"ya"}));
        let g2 = cred(
            json!({"type":"antigravity","email":"c@gmail.com","project_id":"p",
            "access_token":"ya2"}),
        );
        assert_eq!(g.identity_key(), g2.identity_key());
        let gem = |client: &str| {
            cred(json!({"type":"gemini","email":"c@gmail.com",
                "token":{"access_token":"ya","client_id":client}}))
            .identity_key()
        };
        assert_eq!(gem("c1"), gem("c1"));
        assert_ne!(gem("c1"), gem("c2"));
        // The key is a hash: neither the email nor its parts appear in it.
        assert!(!g.identity_key().unwrap().contains("gmail"));
        // No account, no identity.
        let k = cred(json!({"type":"kimi","access_token":"a","device_id":"d"}));
        assert_eq!(k.identity_key(), None);
    }

    #[test]
    fn kimi_has_no_identity() {
        let c = cred(
            json!({"type":"kimi","access_token":"a","refresh_token":"r","device_id":"d",
            "expired":"2026-08-22T03:15:00Z"}),
        );
        assert_eq!(c.account_key(), None);
        assert_eq!(c.device_id.as_deref(), Some("d"));
        assert!(c.kind.has_rotating_refresh_token());
    }

    #[test]
    fn xai_qwen_iflow_fields() {
        let x = cred(
            json!({"type":"xai","access_token":"a","refresh_token":"r","sub":"user-1",
            "email":"d@x.ai","token_endpoint":"https://auth.x.ai/oauth2/token","base_url":"https://api.x.ai/v1"}),
        );
        assert_eq!(
            x.token_uri.as_deref(),
            Some("https://auth.x.ai/oauth2/token")
        );
        assert_eq!(x.account_uuid.as_deref(), Some("user-1"));
        let q = cred(
            json!({"type":"qwen","email":"frank","access_token":"a","resource_url":"portal.qwen.ai"}),
        );
        assert_eq!(q.base_url.as_deref(), Some("portal.qwen.ai"));
        let i = cred(json!({"type":"iflow","api_key":"k","cookie":""}));
        assert!(i.api_key.is_some() && i.cookie.is_none() && i.access_token.is_none());
        assert_eq!(i.primary_secret().map(Secret::expose), Some("k"));
    }

    #[test]
    fn vertex_service_account() {
        let c = cred(json!({"type":"vertex","project_id":"p","service_account":{
            "type":"service_account","private_key":"pem","client_email":"sa@p.iam.gserviceaccount.com"}}));
        assert!(c.has_service_account_key());
        assert_eq!(c.email.as_deref(), Some("sa@p.iam.gserviceaccount.com"));
        assert_eq!(
            c.account_key().as_deref(),
            Some("vertex:sa@p.iam.gserviceaccount.com")
        );
    }

    #[test]
    fn unknown_type_and_missing_type() {
        let c = cred(json!({"type":"copilot","access_token":"a"}));
        assert_eq!(
            (c.kind, c.provider.as_str()),
            (ProviderKind::Other, "copilot")
        );
        let c = cred(json!({"foo":1}));
        assert_eq!(c.provider, "unknown");
        assert!(c.primary_secret().is_none());
    }

    #[test]
    fn token_string_field_and_codex_cli_tokens_object() {
        let c = cred(json!({"type":"x","token":"tok"}));
        assert_eq!(c.access_token.as_ref().map(Secret::expose), Some("tok"));
        let c = cred(json!({"type":"codex","tokens":{"access_token":"a","refresh_token":"r"}}));
        assert!(c.access_token.is_some() && c.refresh_token.is_some());
    }

    #[test]
    fn credential_detection_needs_type_and_token() {
        let m = |v: Value| v.as_object().unwrap().clone();
        assert!(looks_like_credential(&m(
            json!({"type":"codex","access_token":"a"})
        )));
        assert!(looks_like_credential(&m(
            json!({"type":"vertex","service_account":{}})
        )));
        assert!(!looks_like_credential(&m(
            json!({"name":"pkg","version":"1"})
        )));
        assert!(!looks_like_credential(&m(
            json!({"type":"module","main":"x.js"})
        )));
        assert!(!looks_like_credential(&m(
            json!({"type":3,"access_token":"a"})
        )));
    }

    #[test]
    fn alias_table_matches_the_naming_rules() {
        for (snake, camel, kebab) in ALIASES {
            let mut want = String::new();
            let mut upper = false;
            for c in snake.chars() {
                if c == '_' {
                    upper = true;
                } else if upper {
                    want.push(c.to_ascii_uppercase());
                    upper = false;
                } else {
                    want.push(c);
                }
            }
            assert_eq!(*camel, want);
            assert_eq!(*kebab, snake.replace('_', "-"));
        }
        let obj = json!({"expires-at": 5, "clientId": "c", "proxy_url": "a", "proxy-url": "b",
            "token": {"refreshToken": "r"}});
        let obj = obj.as_object().unwrap();
        assert!(!is_plain(obj));
        let n = normalize(obj);
        assert_eq!(n.get("expires_at"), Some(&json!(5)));
        assert_eq!(n.get("client_id"), Some(&json!("c")));
        assert_eq!(n.get("proxy_url"), Some(&json!("a")), "canonical key wins");
        assert_eq!(n["token"]["refresh_token"], "r");
        assert!(is_plain(
            json!({"type":"codex","access_token":"a"})
                .as_object()
                .unwrap()
        ));
    }

    #[test]
    fn identities_are_masked() {
        assert_eq!(mask_identity("alice@example.com"), "a***@example.com");
        assert_eq!(mask_identity("7f1c2d3e-0000"), "7f***");
        assert_eq!(mask_identity("abc"), "***");
    }
}
