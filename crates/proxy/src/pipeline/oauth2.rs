//! The OAuth 2.0 authenticators.
//!
//! - `oauth2_introspection`: the bearer token is checked with an RFC 7662 introspection
//!   endpoint (Hydra's `/admin/oauth2/introspect`, for instance); the subject is the
//!   token's `sub`, the extra its `ext` plus `username`, `client_id`, `scope` and `aud`.
//! - `oauth2_client_credentials`: HTTP Basic credentials are a client's id and secret;
//!   they are good when the token endpoint grants that client a token (client-credentials
//!   grant). The subject is the client id.

use super::authn::{Outcome, token_from};
use super::remote::{CacheSettings, Retry, send, too_many_requests};
use super::scope::{self, Strategy};
use super::{Denied, Incoming, Session, flag, list, text};
use crate::Proxy;
use axum::http::StatusCode;
use base64::Engine as _;
use gatehouse_core::token::sha256_hex;
use serde_json::{Map, Value, json};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// At most this many introspection answers are kept unless `cache.max_cost` says
/// otherwise (Oathkeeper counts every answer as cost 1).
const INTROSPECTION_CACHE_ENTRIES: usize = 100_000;
/// At most this many client-credentials tokens are kept unless `cache.max_tokens` says
/// otherwise (Oathkeeper's default).
const CLIENT_CREDENTIALS_CACHE_ENTRIES: usize = 1000;
/// Pre-authorization tokens are renewed this long before they expire (as Go's oauth2).
const EARLY_RENEWAL: Duration = Duration::from_secs(10);
/// A pre-authorization token without `expires_in` is reused this long.
const PRE_AUTHORIZATION_DEFAULT_LIFETIME: Duration = Duration::from_secs(300);
const PRE_AUTHORIZATION_CACHE_ENTRIES: usize = 1000;

/// What an introspection endpoint said about a token (RFC 7662 and Hydra's extensions).
#[derive(Clone, Debug, Default)]
pub struct Introspected {
    pub active: bool,
    pub sub: String,
    pub username: String,
    pub aud: Vec<String>,
    pub iss: String,
    pub client_id: String,
    pub scope: String,
    /// Unix seconds; 0 when the endpoint did not say.
    pub exp: i64,
    pub token_use: String,
    pub ext: Map<String, Value>,
}

impl Introspected {
    /// Reads the endpoint's JSON; a member of the wrong type is an error, as in Oathkeeper.
    fn from_json(doc: &Value) -> Result<Introspected, String> {
        let Value::Object(doc) = doc else {
            return Err("the answer is not a JSON object".into());
        };
        let string = |key: &str| -> Result<String, String> {
            match doc.get(key) {
                None | Some(Value::Null) => Ok(String::new()),
                Some(Value::String(s)) => Ok(s.clone()),
                Some(other) => Err(format!("{key:?} is not a string: {other}")),
            }
        };
        let active = match doc.get("active") {
            None | Some(Value::Null) => false,
            Some(Value::Bool(b)) => *b,
            Some(other) => return Err(format!("\"active\" is not a boolean: {other}")),
        };
        let aud = match doc.get("aud") {
            None | Some(Value::Null) => Vec::new(),
            Some(Value::String(s)) => vec![s.clone()],
            Some(Value::Array(a)) => a
                .iter()
                .map(|v| v.as_str().map(str::to_string))
                .collect::<Option<Vec<_>>>()
                .ok_or("\"aud\" must be a string or a list of strings")?,
            Some(_) => return Err("\"aud\" must be a string or a list of strings".into()),
        };
        let exp = match doc.get("exp") {
            None | Some(Value::Null) => 0,
            Some(Value::Number(n)) => n
                .as_i64()
                .or_else(|| n.as_f64().map(|f| f as i64))
                .unwrap_or(0),
            Some(other) => return Err(format!("\"exp\" is not a number: {other}")),
        };
        let ext = match doc.get("ext") {
            None | Some(Value::Null) => Map::new(),
            Some(Value::Object(m)) => m.clone(),
            Some(other) => return Err(format!("\"ext\" is not an object: {other}")),
        };
        Ok(Introspected {
            active,
            sub: string("sub")?,
            username: string("username")?,
            aud,
            iss: string("iss")?,
            client_id: string("client_id")?,
            scope: string("scope")?,
            exp,
            token_use: string("token_use")?,
            ext,
        })
    }

    /// The session's extra: `ext` with `username`, `client_id`, `scope` and (when the
    /// token has one) `aud` set.
    fn extra(&self) -> Value {
        let mut extra = self.ext.clone();
        extra.insert("username".into(), json!(self.username));
        extra.insert("client_id".into(), json!(self.client_id));
        extra.insert("scope".into(), json!(self.scope));
        if !self.aud.is_empty() {
            extra.insert("aud".into(), json!(self.aud));
        }
        Value::Object(extra)
    }

    /// What is left of the token's life; `None` without `exp`.
    fn lifetime(&self) -> Option<Duration> {
        (self.exp > 0).then(|| Duration::from_secs((self.exp - unix_now()).max(0) as u64))
    }
}

fn unix_now() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs() as i64)
        .unwrap_or(0)
}

/// `oauth2_introspection`.
pub(crate) async fn introspection(
    px: &Proxy,
    config: &Value,
    req: &Incoming,
    session: &mut Session,
) -> Result<Outcome, Denied> {
    let Some(token) = token_from(config.get("token_from"), req) else {
        return Ok(Outcome::NotResponsible);
    };
    if !token.starts_with(text(config, "prefix")) {
        return Ok(Outcome::NotResponsible);
    }
    let endpoint = text(config, "introspection_url");
    if endpoint.is_empty() {
        return Err(Denied::internal(
            "oauth2_introspection: introspection_url is not set",
        ));
    }
    let strategy = scope::strategy(text(config, "scope_strategy"));
    let required = list(config, "required_scope");
    let cache = CacheSettings::read(config, "oauth2_introspection")?;
    // Without a strategy the endpoint checks the scopes, for this request only.
    let cacheable = cache.enabled && (strategy.is_some() || required.is_empty());
    let key = sha256_hex(&format!("{token}|{endpoint}"));
    let cached = if cacheable {
        px.caches.introspection.get(&key)
    } else {
        None
    };
    let from_cache = cached.is_some();
    let found = match cached {
        Some(found) => found,
        None => introspect(px, config, req, endpoint, &token, strategy, &required).await?,
    };
    check_introspected(config, &found, strategy, &required)?;
    if cacheable
        && !from_cache
        && let Some(ttl) = cache.ttl_within(found.lifetime())
    {
        let capacity = CacheSettings::capacity(config, "max_cost", INTROSPECTION_CACHE_ENTRIES);
        px.caches
            .introspection
            .insert(key, found.clone(), ttl, capacity);
    }
    session.subject = found.sub.clone();
    session.extra = found.extra();
    Ok(Outcome::Authenticated)
}

/// Oathkeeper's checks of an introspection answer, in its order.
fn check_introspected(
    config: &Value,
    found: &Introspected,
    strategy: Option<Strategy>,
    required: &[String],
) -> Result<(), Denied> {
    if !found.token_use.is_empty() && found.token_use != "access_token" {
        return Err(Denied::forbidden().reason(format!(
            "Use of introspected token is not an access token but {:?}",
            found.token_use
        )));
    }
    if !found.active {
        return Err(Denied::unauthorized().reason("Access token is not active"));
    }
    if found.exp > 0 && found.exp < unix_now() {
        return Err(Denied::unauthorized().reason("Access token expired"));
    }
    for audience in list(config, "target_audience") {
        if !found.aud.contains(&audience) {
            return Err(Denied::forbidden().reason(format!(
                "Token audience is not intended for target audience {audience}"
            )));
        }
    }
    let issuers = list(config, "trusted_issuers");
    if !issuers.is_empty() && !issuers.contains(&found.iss) {
        return Err(Denied::forbidden().reason("Token issuer does not match any trusted issuer"));
    }
    if let Some(strategy) = strategy {
        let granted: Vec<&str> = found.scope.split(' ').collect();
        for scope in required {
            if !strategy.grants(&granted, scope) {
                return Err(Denied::forbidden().reason(format!("Scope {scope} was not granted")));
            }
        }
    }
    Ok(())
}

/// Asks the introspection endpoint about `token`.
async fn introspect(
    px: &Proxy,
    config: &Value,
    req: &Incoming,
    endpoint: &str,
    token: &str,
    strategy: Option<Strategy>,
    required: &[String],
) -> Result<Introspected, Denied> {
    let mut form = vec![("token", token.to_string())];
    if strategy.is_none() && !required.is_empty() {
        form.push(("scope", required.join(" ")));
    }
    let bearer = pre_authorization(px, config.get("pre_authorization")).await?;
    let mut call = px.http.post(endpoint);
    if let Some(headers) = config
        .get("introspection_request_headers")
        .and_then(Value::as_object)
    {
        for (name, value) in headers {
            let overridden = name.eq_ignore_ascii_case("content-type")
                || (bearer.is_some() && name.eq_ignore_ascii_case("authorization"));
            if let (false, Some(value)) = (overridden, value.as_str()) {
                call = call.header(name.as_str(), value);
            }
        }
    }
    call = call.form(&form);
    if flag(config, "preserve_host", false) {
        call = call.header("x-forwarded-host", req.host.as_str());
    }
    if let Some(bearer) = bearer {
        call = call.bearer_auth(bearer);
    }
    let retry = Retry::read(
        config.get("retry"),
        Duration::from_millis(500),
        Duration::from_secs(1),
        "oauth2_introspection",
    )?;
    let res = send(call, Some(retry)).await.map_err(|e| {
        tracing::warn!(url = endpoint, error = %e, "the introspection endpoint could not be reached");
        Denied::internal(format!(
            "The introspection endpoint could not be reached: {e}"
        ))
    })?;
    match res.status() {
        StatusCode::OK => {}
        StatusCode::TOO_MANY_REQUESTS => return Err(too_many_requests(res.headers())),
        other => {
            return Err(Denied::internal(format!(
                "Introspection returned status code {} but expected 200",
                other.as_u16()
            )));
        }
    }
    let doc: Value = res.json().await.map_err(|e| {
        Denied::internal(format!("The introspection endpoint answered no JSON: {e}"))
    })?;
    Introspected::from_json(&doc).map_err(|e| {
        Denied::internal(format!(
            "The introspection endpoint answered a malformed response: {e}"
        ))
    })
}

/// The bearer token to call the introspection endpoint with, when `pre_authorization` is
/// enabled: a client-credentials grant, reused until shortly before it expires.
async fn pre_authorization(px: &Proxy, pa: Option<&Value>) -> Result<Option<String>, Denied> {
    let Some(pa) = pa.filter(|p| flag(p, "enabled", false)) else {
        return Ok(None);
    };
    let token_url = text(pa, "token_url");
    if token_url.is_empty() {
        return Err(Denied::internal(
            "oauth2_introspection: pre_authorization.token_url is not set",
        ));
    }
    let scopes = list(pa, "scope");
    let audience = text(pa, "audience");
    let grant = Grant {
        token_url,
        client_id: text(pa, "client_id"),
        client_secret: text(pa, "client_secret"),
        scopes: &scopes,
        audience,
    };
    let key = sha256_hex(&format!(
        "{token_url}|{}|{audience}|{}:{}",
        scopes.join(" "),
        grant.client_id,
        grant.client_secret
    ));
    if let Some(token) = px.caches.pre_authorization.get(&key) {
        return Ok(Some(token));
    }
    let mut got = request_token(px, &grant, false).await;
    if matches!(got, Err(GrantError::Status(..))) {
        // Go's oauth2 tries the credentials in the header first, then in the body.
        got = request_token(px, &grant, true).await;
    }
    let token = got.map_err(|e| {
        Denied::internal(format!(
            "pre_authorization: the token endpoint gave no token: {e}"
        ))
    })?;
    if token.access_token.is_empty() {
        return Err(Denied::internal(
            "pre_authorization: the token endpoint answered no access_token",
        ));
    }
    let ttl = token
        .expires_in
        .map_or(PRE_AUTHORIZATION_DEFAULT_LIFETIME, |d| {
            d.saturating_sub(EARLY_RENEWAL)
        });
    px.caches.pre_authorization.insert(
        key,
        token.access_token.clone(),
        ttl,
        PRE_AUTHORIZATION_CACHE_ENTRIES,
    );
    Ok(Some(token.access_token))
}

/// `oauth2_client_credentials`.
pub(crate) async fn client_credentials(
    px: &Proxy,
    config: &Value,
    req: &Incoming,
    session: &mut Session,
) -> Result<Outcome, Denied> {
    let Some((id, secret)) = basic_auth(req) else {
        return Ok(Outcome::NotResponsible);
    };
    let id = query_unescape(&id).map_err(|e| Denied::unauthorized().reason(e))?;
    let secret = query_unescape(&secret).map_err(|e| Denied::unauthorized().reason(e))?;
    let token_url = text(config, "token_url");
    if token_url.is_empty() {
        return Err(Denied::internal(
            "oauth2_client_credentials: token_url is not set",
        ));
    }
    let scopes = list(config, "required_scope");
    let cache = CacheSettings::read(config, "oauth2_client_credentials")?;
    let key = sha256_hex(&format!("{token_url}|{}|{id}:{secret}", scopes.join(" ")));
    let cached = if cache.enabled {
        px.caches.client_credentials.get(&key)
    } else {
        None
    };
    if cached.is_none() {
        let grant = Grant {
            token_url,
            client_id: &id,
            client_secret: &secret,
            scopes: &scopes,
            audience: "",
        };
        let token = request_token(px, &grant, false)
            .await
            .map_err(GrantError::denied)?;
        if token.access_token.is_empty() {
            return Err(
                Denied::unauthorized().reason("The token endpoint answered no access_token")
            );
        }
        if cache.enabled
            && let Some(ttl) = cache.ttl_within(token.expires_in)
        {
            let capacity =
                CacheSettings::capacity(config, "max_tokens", CLIENT_CREDENTIALS_CACHE_ENTRIES);
            px.caches
                .client_credentials
                .insert(key, token.access_token, ttl, capacity);
        }
    }
    session.subject = id;
    Ok(Outcome::Authenticated)
}

/// A client-credentials grant to perform.
struct Grant<'a> {
    token_url: &'a str,
    client_id: &'a str,
    client_secret: &'a str,
    scopes: &'a [String],
    /// Sent as `audience` when not empty.
    audience: &'a str,
}

struct Token {
    access_token: String,
    expires_in: Option<Duration>,
}

#[derive(Debug)]
enum GrantError {
    /// The endpoint answered outside 2xx.
    Status(StatusCode, reqwest::header::HeaderMap),
    Network(String),
    Malformed(String),
}

impl std::fmt::Display for GrantError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            GrantError::Status(s, _) => write!(f, "the token endpoint answered {s}"),
            GrantError::Network(e) => write!(f, "the token endpoint could not be reached: {e}"),
            GrantError::Malformed(e) => write!(f, "the token endpoint answered garbage: {e}"),
        }
    }
}

impl GrantError {
    /// Oathkeeper's mapping for `oauth2_client_credentials`.
    fn denied(self) -> Denied {
        let reason = self.to_string();
        let (status, message) = match self {
            GrantError::Status(StatusCode::TOO_MANY_REQUESTS, headers) => {
                return too_many_requests(&headers).reason(reason);
            }
            GrantError::Status(StatusCode::SERVICE_UNAVAILABLE, _)
            | GrantError::Network(_)
            | GrantError::Malformed(_) => (
                StatusCode::SERVICE_UNAVAILABLE,
                "The upstream service is not available",
            ),
            GrantError::Status(StatusCode::INTERNAL_SERVER_ERROR, _) => (
                StatusCode::INTERNAL_SERVER_ERROR,
                "The upstream service encountered an unexpected error",
            ),
            GrantError::Status(StatusCode::GATEWAY_TIMEOUT, _) => (
                StatusCode::GATEWAY_TIMEOUT,
                "The upstream service is timing out",
            ),
            GrantError::Status(StatusCode::NOT_FOUND, _) => {
                (StatusCode::NOT_FOUND, "Upstream service not found")
            }
            GrantError::Status(..) => return Denied::unauthorized().reason(reason),
        };
        Denied::new(status, message).reason(reason)
    }
}

/// Performs a client-credentials grant as Go's `clientcredentials` does: a form POST with
/// the credentials in HTTP Basic auth (each URL-escaped), or in the body.
async fn request_token(
    px: &Proxy,
    grant: &Grant<'_>,
    credentials_in_body: bool,
) -> Result<Token, GrantError> {
    let mut form = vec![("grant_type", "client_credentials".to_string())];
    if !grant.scopes.is_empty() {
        form.push(("scope", grant.scopes.join(" ")));
    }
    if !grant.audience.is_empty() {
        form.push(("audience", grant.audience.to_string()));
    }
    let mut call = px.http.post(grant.token_url);
    if credentials_in_body {
        form.push(("client_id", grant.client_id.to_string()));
        if !grant.client_secret.is_empty() {
            form.push(("client_secret", grant.client_secret.to_string()));
        }
    } else {
        let pair = format!(
            "{}:{}",
            query_escape(grant.client_id),
            query_escape(grant.client_secret)
        );
        call = call.header(
            "authorization",
            format!(
                "Basic {}",
                base64::engine::general_purpose::STANDARD.encode(pair)
            ),
        );
    }
    let res = call
        .form(&form)
        .send()
        .await
        .map_err(|e| GrantError::Network(e.to_string()))?;
    let status = res.status();
    if !status.is_success() {
        return Err(GrantError::Status(status, res.headers().clone()));
    }
    let form_encoded = res
        .headers()
        .get("content-type")
        .and_then(|v| v.to_str().ok())
        .is_some_and(|ct| {
            let ct = ct.to_ascii_lowercase();
            ct.starts_with("application/x-www-form-urlencoded") || ct.starts_with("text/plain")
        });
    let body = res
        .bytes()
        .await
        .map_err(|e| GrantError::Network(e.to_string()))?;
    if form_encoded {
        let mut token = Token {
            access_token: String::new(),
            expires_in: None,
        };
        for (k, v) in url::form_urlencoded::parse(&body) {
            match k.as_ref() {
                "access_token" => token.access_token = v.into_owned(),
                "expires_in" => token.expires_in = v.parse().ok().map(Duration::from_secs),
                _ => {}
            }
        }
        return Ok(token);
    }
    let doc: Value =
        serde_json::from_slice(&body).map_err(|e| GrantError::Malformed(e.to_string()))?;
    let expires_in = match doc.get("expires_in") {
        Some(Value::Number(n)) => n.as_u64(),
        Some(Value::String(s)) => s.parse().ok(),
        _ => None,
    }
    .filter(|s| *s > 0)
    .map(Duration::from_secs);
    Ok(Token {
        access_token: text(&doc, "access_token").to_string(),
        expires_in,
    })
}

/// The id and password of `Authorization: Basic ...` (Go's `Request.BasicAuth`).
fn basic_auth(req: &Incoming) -> Option<(String, String)> {
    let raw = req.header("authorization")?;
    let scheme = raw.get(..6)?;
    if !scheme.eq_ignore_ascii_case("basic ") {
        return None;
    }
    let decoded = base64::engine::general_purpose::STANDARD
        .decode(&raw[6..])
        .ok()?;
    let decoded = String::from_utf8(decoded).ok()?;
    let (id, secret) = decoded.split_once(':')?;
    Some((id.to_string(), secret.to_string()))
}

/// Go's `url.QueryEscape`: unreserved characters stay, space is `+`, the rest `%XX`.
fn query_escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                out.push(b as char)
            }
            b' ' => out.push('+'),
            _ => out.push_str(&format!("%{b:02X}")),
        }
    }
    out
}

/// Go's `url.QueryUnescape`: `+` is a space, `%XX` a byte; a broken escape is an error.
fn query_unescape(s: &str) -> Result<String, String> {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'%' => {
                let hex = bytes
                    .get(i + 1..i + 3)
                    .and_then(|h| std::str::from_utf8(h).ok())
                    .filter(|h| h.len() == 2 && h.bytes().all(|c| c.is_ascii_hexdigit()))
                    .and_then(|h| u8::from_str_radix(h, 16).ok())
                    .ok_or_else(|| format!("invalid URL escape in {s:?}"))?;
                out.push(hex);
                i += 3;
            }
            b'+' => {
                out.push(b' ');
                i += 1;
            }
            b => {
                out.push(b);
                i += 1;
            }
        }
    }
    String::from_utf8(out).map_err(|_| format!("invalid UTF-8 after unescaping {s:?}"))
}

#[cfg(test)]
mod tests {
    use super::{Introspected, query_escape, query_unescape};
    use serde_json::json;

    #[test]
    fn escaping_is_gos() {
        assert_eq!(query_escape("a b+c/d~e*"), "a+b%2Bc%2Fd~e%2A");
        assert_eq!(query_unescape("a+b%2Bc%2fd").as_deref(), Ok("a b+c/d"));
        assert!(query_unescape("bad%zz").is_err());
        assert!(query_unescape("bad%2").is_err());
        assert!(query_unescape("%+1").is_err());
    }

    #[test]
    fn introspection_answers_are_typed() {
        let i = Introspected::from_json(&json!({"active": true, "sub": "u", "aud": "api",
            "exp": 1.9e9, "ext": {"k": 1}, "scope": "a b"}))
        .unwrap();
        assert_eq!(i.aud, vec!["api".to_string()]);
        assert_eq!(i.exp, 1_900_000_000);
        let extra = i.extra();
        assert_eq!(extra["k"], 1);
        assert_eq!(extra["scope"], "a b");
        assert_eq!(extra["username"], "");
        assert_eq!(extra["aud"], json!(["api"]));
        assert!(Introspected::from_json(&json!({"active": "yes"})).is_err());
        assert!(Introspected::from_json(&json!({"aud": [1]})).is_err());
        assert!(Introspected::from_json(&json!({"ext": "x"})).is_err());
        let inactive = Introspected::from_json(&json!({"active": false})).unwrap();
        assert!(!inactive.active);
        assert!(inactive.extra().get("aud").is_none());
    }
}
