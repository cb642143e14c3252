//! Error handlers: how a refused request is answered. The rule's `errors` are tried
//! first (their `when` conditions must single one out), then `errors.fallback` in order.
//! `json` writes Ory's envelope, `redirect` sends browsers to a login page with the way
//! back, `www_authenticate` asks for Basic credentials.

use super::{Denied, Incoming, flag, text};
use crate::Proxy;
use crate::rule::Handler;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};

/// Answers `denied` for a request that matched `errors` (a rule's list; empty when no rule
/// matched).
pub fn respond(px: &Proxy, errors: &[Handler], denied: &Denied, req: &Incoming) -> Response {
    match select(px, errors, denied, req) {
        Ok((name, config)) => write(name, &config, denied, req),
        Err(problem) => {
            tracing::error!(error = %problem, "no error handler could answer");
            json_response(&Denied::internal(problem), true)
        }
    }
}

fn select<'a>(
    px: &'a Proxy,
    errors: &'a [Handler],
    denied: &Denied,
    req: &Incoming,
) -> Result<(&'a str, Value), String> {
    let mut chosen = Vec::new();
    for h in errors {
        let config = effective(px, &h.handler, Some(&h.config))?;
        if applies(&config, denied, req) {
            chosen.push((h.handler.as_str(), config));
        }
    }
    if chosen.len() > 1 {
        return Err("Found more than one error handler matching the request".into());
    }
    if let Some(c) = chosen.pop() {
        return Ok(c);
    }
    for name in &px.config.errors.fallback {
        let config = effective(px, name, None)?;
        if applies(&config, denied, req) {
            return Ok((name.as_str(), config));
        }
    }
    Err("No error handler applies to this request (see errors.fallback)".into())
}

/// The handler's global config deep-merged with the rule's; an error when it is off.
fn effective(px: &Proxy, name: &str, rule: Option<&Value>) -> Result<Value, String> {
    if !px.config.error_handler_enabled(name) {
        return Err(format!("The error handler {name:?} is not enabled"));
    }
    let mut config = px
        .config
        .errors
        .handlers
        .get(name)
        .map(|h| h.config.clone())
        .filter(|c| !c.is_null())
        .unwrap_or_else(|| json!({}));
    if let Some(r) = rule.filter(|r| !r.is_null()) {
        gatehouse_core::config::merge(&mut config, r.clone());
    }
    Ok(config)
}

/// Whether the handler's `when` list lets it answer (no `when`: always).
fn applies(config: &Value, denied: &Denied, req: &Incoming) -> bool {
    let Some(when) = config.get("when").and_then(Value::as_array) else {
        return true;
    };
    when.is_empty() || when.iter().any(|cond| condition_holds(cond, denied, req))
}

fn condition_holds(cond: &Value, denied: &Denied, req: &Incoming) -> bool {
    if let Some(errors) = cond.get("error").and_then(Value::as_array) {
        let name = denied.name();
        if !errors.iter().any(|e| e.as_str() == Some(name.as_str())) {
            return false;
        }
    }
    let headers = cond.get("request").and_then(|r| r.get("header"));
    if let Some(accept) = headers
        .and_then(|h| h.get("accept"))
        .and_then(Value::as_array)
    {
        let sent = req.header("accept").unwrap_or("application/octet-stream");
        if !media_matches(sent, accept) {
            return false;
        }
    }
    if let Some(ct) = headers
        .and_then(|h| h.get("content_type"))
        .and_then(Value::as_array)
    {
        let sent = req
            .header("content-type")
            .unwrap_or("application/octet-stream");
        if !media_matches(sent, ct) {
            return false;
        }
    }
    true
}

/// Whether any media type the client sent (a list, parameters ignored) fits any pattern
/// (`text/*`, `*/*`, exact).
fn media_matches(sent: &str, patterns: &[Value]) -> bool {
    let types: Vec<&str> = sent
        .split(',')
        .map(|t| t.split(';').next().unwrap_or("").trim())
        .collect();
    patterns.iter().filter_map(Value::as_str).any(|p| {
        types.iter().any(|t| {
            let (pt, ps) = p.split_once('/').unwrap_or((p, "*"));
            let (tt, ts) = t.split_once('/').unwrap_or((t, ""));
            (pt == "*" || pt.eq_ignore_ascii_case(tt)) && (ps == "*" || ps.eq_ignore_ascii_case(ts))
        })
    })
}

fn write(name: &str, config: &Value, denied: &Denied, req: &Incoming) -> Response {
    let mut res = match name {
        "redirect" => redirect(config, req),
        "www_authenticate" => {
            let realm = match text(config, "realm") {
                "" => "Please authenticate.",
                r => r,
            };
            let mut res = (StatusCode::UNAUTHORIZED, "Unauthorized").into_response();
            if let Ok(v) = HeaderValue::from_str(&format!("Basic realm={realm}")) {
                res.headers_mut().insert(header::WWW_AUTHENTICATE, v);
            }
            res
        }
        _ => json_response(denied, flag(config, "verbose", false)),
    };
    for (k, v) in &denied.headers {
        if let (Ok(k), Ok(v)) = (
            axum::http::HeaderName::from_bytes(k.as_bytes()),
            HeaderValue::from_str(v),
        ) {
            res.headers_mut().insert(k, v);
        }
    }
    res
}

fn redirect(config: &Value, req: &Incoming) -> Response {
    let mut to = text(config, "to").to_string();
    let param = text(config, "return_to_query_param");
    if !param.is_empty() {
        let back = original_url(req);
        let sep = if to.contains('?') { '&' } else { '?' };
        let encoded: String = url::form_urlencoded::byte_serialize(back.as_bytes()).collect();
        to = format!("{to}{sep}{param}={encoded}");
    }
    let code = match config.get("code").and_then(Value::as_u64) {
        Some(301) => StatusCode::MOVED_PERMANENTLY,
        _ => StatusCode::FOUND,
    };
    let mut res = code.into_response();
    if let Ok(v) = HeaderValue::from_str(&to) {
        res.headers_mut().insert(header::LOCATION, v);
    }
    res
}

/// Where the browser was going, from `X-Forwarded-*` when a front proxy set them.
fn original_url(req: &Incoming) -> String {
    let proto = req.header("x-forwarded-proto").unwrap_or(&req.scheme);
    let host = req.header("x-forwarded-host").unwrap_or(&req.host);
    match req.header("x-forwarded-uri") {
        Some(uri) => format!("{proto}://{host}{uri}"),
        None => match &req.query {
            Some(q) if !q.is_empty() => format!("{proto}://{host}{}?{q}", req.path),
            _ => format!("{proto}://{host}{}", req.path),
        },
    }
}

/// Ory's error envelope. Without `verbose` the message is the generic one for the status.
pub fn json_response(denied: &Denied, verbose: bool) -> Response {
    let status = denied.status;
    let message = if verbose {
        denied.message.clone()
    } else {
        generic_message(status).to_string()
    };
    let mut error = json!({
        "code": status.as_u16(),
        "status": status.canonical_reason().unwrap_or(""),
        "message": message,
    });
    if verbose && !denied.reason.is_empty() {
        error["reason"] = json!(denied.reason);
    }
    // Herodot's `details` (e.g. the `jwt_claims` of a refused JWT), verbose only.
    if verbose && denied.details.as_object().is_some_and(|d| !d.is_empty()) {
        error["details"] = denied.details.clone();
    }
    let mut res = (status, axum::Json(json!({"error": error}))).into_response();
    res.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json; charset=utf-8"),
    );
    res
}

fn generic_message(status: StatusCode) -> &'static str {
    match status.as_u16() {
        401 => "The request could not be authorized",
        403 => "The requested action was forbidden",
        404 => "The requested resource could not be found",
        429 => "Too many requests",
        _ => "An internal server error occurred, please contact the system administrator",
    }
}

#[cfg(test)]
mod tests {
    use super::media_matches;
    use serde_json::json;

    #[test]
    fn media_types_match_with_wildcards() {
        let html = [json!("text/*")];
        assert!(media_matches(
            "text/html,application/xhtml+xml;q=0.9",
            &html
        ));
        assert!(!media_matches("application/json", &html));
        assert!(media_matches("application/json", &[json!("*/*")]));
    }
}
