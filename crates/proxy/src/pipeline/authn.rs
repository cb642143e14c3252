//! Authenticators: each says "not mine" (the next one is asked), "this is who it is", or
//! "refused" (the pipeline stops: Oathkeeper never falls through after an error).

use super::pick::{pick, pick_all};
use super::remote::CacheSettings;
use super::{Denied, Incoming, Resolved, Session, flag, list, resolve, text};
use crate::Proxy;
use crate::rule::Handler;
use axum::http::StatusCode;
use gatehouse_core::token::sha256_hex;
use serde_json::Value;
use std::time::Duration;

/// How long a session store's answer is kept when `cache.enabled` is set without a `ttl`.
const SESSION_CACHE_TTL: Duration = Duration::from_secs(1);

/// At most this many session store answers are kept unless `cache.max_cost` says otherwise.
const SESSION_CACHE_ENTRIES: usize = 10_000;

/// What one authenticator made of the request.
pub(crate) enum Outcome {
    NotResponsible,
    Authenticated,
}

/// Runs the rule's authenticators in order until one is responsible.
pub async fn authenticate(
    px: &Proxy,
    handlers: &[Handler],
    req: &Incoming,
    session: &mut Session,
) -> Result<(), Denied> {
    for h in handlers {
        let r = resolve(&px.config.authenticators, "authenticator", h)?;
        match run_one(px, &r, req, session).await? {
            Outcome::Authenticated => return Ok(()),
            Outcome::NotResponsible => continue,
        }
    }
    Err(Denied::unauthorized().reason("No authenticator was responsible for the request"))
}

async fn run_one(
    px: &Proxy,
    r: &Resolved<'_>,
    req: &Incoming,
    session: &mut Session,
) -> Result<Outcome, Denied> {
    match r.name {
        "noop" => Ok(Outcome::Authenticated),
        "unauthorized" => Err(Denied::unauthorized()),
        "anonymous" => {
            if req.headers.contains_key(axum::http::header::AUTHORIZATION) {
                return Ok(Outcome::NotResponsible);
            }
            let subject = text(r.config, "subject");
            session.subject = if subject.is_empty() {
                "anonymous".into()
            } else {
                subject.into()
            };
            Ok(Outcome::Authenticated)
        }
        // The handlers that call out are boxed: their futures are large, and inline they
        // would make every request's future (and the copies of it) that large.
        "cookie_session" => Box::pin(cookie_session(px, r.config, req, session)).await,
        "bearer_token" => Box::pin(bearer_token(px, r.config, req, session)).await,
        "oauth2_introspection" => {
            Box::pin(super::oauth2::introspection(px, r.config, req, session)).await
        }
        "oauth2_client_credentials" => {
            Box::pin(super::oauth2::client_credentials(
                px, r.config, req, session,
            ))
            .await
        }
        "jwt" => Box::pin(super::jwt::authenticate(px, r.config, req, session)).await,
        other => Err(Denied::internal(format!(
            "The authenticator {other:?} is not available in this version of gatehouse"
        ))),
    }
}

async fn cookie_session(
    px: &Proxy,
    config: &Value,
    req: &Incoming,
    session: &mut Session,
) -> Result<Outcome, Denied> {
    let only = list(config, "only");
    let cookies = req.cookies();
    let responsible = if only.is_empty() {
        !cookies.is_empty()
    } else {
        cookies.iter().any(|(k, _)| only.contains(k))
    };
    if !responsible {
        return Ok(Outcome::NotResponsible);
    }
    let mut forward = list(config, "forward_http_headers");
    forward.push("Cookie".into());
    let doc = ask_session_store(px, config, req, &forward, None).await?;
    fill(session, config, &doc, "subject")?;
    Ok(Outcome::Authenticated)
}

async fn bearer_token(
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
    let forward = list(config, "forward_http_headers");
    let bearer = format!("Bearer {token}");
    let doc = ask_session_store(px, config, req, &forward, Some(&bearer)).await?;
    fill(session, config, &doc, "sub")?;
    Ok(Outcome::Authenticated)
}

/// The token a `token_from` setting points at (default: `Authorization: Bearer ...`).
pub fn token_from(setting: Option<&Value>, req: &Incoming) -> Option<String> {
    let from = setting.filter(|v| v.is_object());
    if let Some(name) = from.and_then(|f| f.get("header")).and_then(Value::as_str) {
        let raw = req.header(name)?;
        if name.eq_ignore_ascii_case("authorization") {
            return strip_bearer(raw);
        }
        return Some(raw.to_string()).filter(|t| !t.is_empty());
    }
    if let Some(name) = from
        .and_then(|f| f.get("query_parameter"))
        .and_then(Value::as_str)
    {
        let q = req.query.as_deref().unwrap_or("");
        return url::form_urlencoded::parse(q.as_bytes())
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.into_owned())
            .filter(|t| !t.is_empty());
    }
    if let Some(name) = from.and_then(|f| f.get("cookie")).and_then(Value::as_str) {
        return req
            .cookies()
            .into_iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v)
            .filter(|t| !t.is_empty());
    }
    strip_bearer(req.header("authorization")?)
}

fn strip_bearer(raw: &str) -> Option<String> {
    let (scheme, token) = raw.split_once(' ')?;
    (scheme.eq_ignore_ascii_case("bearer") && !token.trim().is_empty())
        .then(|| token.trim().to_string())
}

/// `check_session_url`, with the request's path unless `preserve_path`, and the request's
/// query when `preserve_query` is off. Kept as written when neither changes it (the usual
/// whoami setup), so most requests need not parse it.
fn session_store_url(config: &Value, req: &Incoming) -> Result<axum::http::Uri, Denied> {
    let check = text(config, "check_session_url");
    let not_a_url = |e: &dyn std::fmt::Display| {
        Denied::internal(format!("check_session_url {check:?} is not a URL: {e}"))
    };
    let (keep_path, keep_query) = (
        flag(config, "preserve_path", false),
        flag(config, "preserve_query", true),
    );
    if keep_path
        && keep_query
        && let Ok(uri) = axum::http::Uri::try_from(check)
        && uri.scheme().is_some()
    {
        return Ok(uri);
    }
    let mut url = url::Url::parse(check).map_err(|e| not_a_url(&e))?;
    if !keep_path {
        url.set_path(&req.path);
    }
    if !keep_query {
        url.set_query(req.query.as_deref());
    }
    axum::http::Uri::try_from(url.as_str()).map_err(|e| not_a_url(&e))
}

/// Asks the session store (Kratos's whoami, or anything like it) about the request, the
/// way Oathkeeper builds that call; gives the body of a 200 (JSON, read by [`fill`]).
async fn ask_session_store(
    px: &Proxy,
    config: &Value,
    req: &Incoming,
    forward: &[String],
    authorization: Option<&str>,
) -> Result<bytes::Bytes, Denied> {
    let url = session_store_url(config, req)?;
    let method = match text(config, "force_method") {
        "" => req.method.as_str(),
        m => m,
    };
    let mut call = axum::http::Request::builder().method(method).uri(url);
    for name in forward {
        for v in req.headers.get_all(name.as_str()) {
            call = call.header(name.as_str(), v);
        }
    }
    if let Some(a) = authorization {
        call = call.header("authorization", a);
    }
    if let Some(extra) = config.get("additional_headers").and_then(Value::as_object) {
        for (k, v) in extra {
            if let Some(v) = v.as_str() {
                call = call.header(k.as_str(), v);
            }
        }
    }
    if flag(config, "preserve_host", false) {
        call = call.header("x-forwarded-host", req.host.as_str());
    }
    let call = call
        .body(bytes::Bytes::new())
        .map_err(|e| Denied::internal(format!("the session store request: {e}")))?;
    let cache = CacheSettings::read(config, "session store")?;
    let key = cache.enabled.then(|| cache_key(&call));
    if let Some(body) = key.as_deref().and_then(|k| px.caches.sessions.get(k)) {
        return Ok(body);
    }
    let answer = crate::call::call(&px.http, &px.local, call)
        .await
        .map_err(|e| {
            tracing::warn!(error = %e, "the session store could not be reached");
            Denied::forbidden().reason(format!("The session store could not be reached: {e}"))
        })?;
    match answer.status.as_u16() {
        200 => {
            if let Some(key) = key {
                remember(px, config, &cache, key, &answer.body);
            }
            Ok(answer.body)
        }
        429 => Err(Denied::new(
            StatusCode::TOO_MANY_REQUESTS,
            "Too many requests",
        )),
        _ => Err(Denied::unauthorized()),
    }
}

/// What identifies a session store call: everything that is sent (method, URL, headers,
/// the credentials among them), digested so no credential is kept as a key.
fn cache_key(call: &axum::http::Request<bytes::Bytes>) -> String {
    let mut text = format!("{} {}", call.method(), call.uri());
    for (name, value) in call.headers() {
        text.push('\n');
        text.push_str(name.as_str());
        text.push(':');
        text.push_str(&String::from_utf8_lossy(value.as_bytes()));
    }
    sha256_hex(&text)
}

/// Keeps a session store's 200 for `cache.ttl` (one second if unset), never past the
/// session's own `expires_at`, in at most `cache.max_cost` entries.
fn remember(px: &Proxy, config: &Value, cache: &CacheSettings, key: String, body: &bytes::Bytes) {
    let ttl = cache.ttl.unwrap_or(SESSION_CACHE_TTL);
    let ttl = match session_lifetime(body) {
        Some(left) => ttl.min(left),
        None => ttl,
    };
    let capacity = CacheSettings::capacity(config, "max_cost", SESSION_CACHE_ENTRIES);
    px.caches.sessions.insert(key, body.clone(), ttl, capacity);
}

/// What is left of a session's life by its `expires_at` (Kratos's whoami answer), if it
/// has one; zero once it is past.
fn session_lifetime(body: &[u8]) -> Option<Duration> {
    let Ok(Some(Value::String(at))) = pick(body, "expires_at") else {
        return None;
    };
    let at =
        time::OffsetDateTime::parse(&at, &time::format_description::well_known::Rfc3339).ok()?;
    let left = at - time::OffsetDateTime::now_utc();
    Some(Duration::try_from(left).unwrap_or(Duration::ZERO))
}

/// Reads subject and extra from a session store's answer with the configured paths.
fn fill(
    session: &mut Session,
    config: &Value,
    doc: &[u8],
    default_subject: &str,
) -> Result<(), Denied> {
    let subject_from = match text(config, "subject_from") {
        "" => default_subject,
        p => p,
    };
    let extra_from = match text(config, "extra_from") {
        "" => "extra",
        p => p,
    };
    let no_json =
        |e: serde_json::Error| Denied::internal(format!("The session store answered no JSON: {e}"));
    // One pass over the answer for both paths.
    let mut found = pick_all(doc, &[subject_from, extra_from])
        .map_err(no_json)?
        .into_iter();
    let (subject, extra) = (found.next().flatten(), found.next().flatten());
    session.subject = match subject {
        None | Some(Value::Null) => String::new(),
        Some(Value::String(s)) => s,
        Some(_) => {
            return Err(Denied::forbidden().reason(format!(
                "The configured subject_from path {subject_from:?} does not point to a string"
            )));
        }
    };
    session.extra = match extra {
        None | Some(Value::Null) => Value::Null,
        Some(v @ Value::Object(_)) => v,
        Some(_) => {
            return Err(Denied::forbidden().reason(format!(
                "The configured extra_from path {extra_from:?} does not point to an object"
            )));
        }
    };
    Ok(())
}
