//! Building responses: redirects, cookies, JSON with Kratos's headers, and errors for
//! browsers (stored, then shown by the error UI) versus API clients (the envelope).

use crate::service::Service;
use crate::settings::Settings;
use axum::Json;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use gatehouse_core::ApiError;
use serde_json::{Value, json};

/// A 303 to `location` with cookies to set.
pub fn see_other(location: &str, cookies: &[String]) -> Response {
    let mut res = StatusCode::SEE_OTHER.into_response();
    if let Ok(v) = HeaderValue::from_str(location) {
        res.headers_mut().insert(header::LOCATION, v);
    }
    add_cookies(&mut res, cookies);
    res
}

/// JSON with a status and cookies to set.
pub fn json_with(status: StatusCode, body: Value, cookies: &[String]) -> Response {
    let mut res = (status, Json(body)).into_response();
    add_cookies(&mut res, cookies);
    res
}

fn add_cookies(res: &mut Response, cookies: &[String]) {
    for c in cookies {
        if let Ok(v) = HeaderValue::from_str(c) {
            res.headers_mut().append(header::SET_COOKIE, v);
        }
    }
}

/// A `Set-Cookie` value with the configured attributes. `max_age` None = browser session;
/// `Some(0)` deletes the cookie.
pub fn cookie(s: &Settings, name: &str, value: &str, max_age: Option<i64>) -> String {
    let mut c = format!("{name}={value}; Path={}; HttpOnly", s.cookies.path);
    if let Some(d) = &s.cookies.domain {
        c.push_str(&format!("; Domain={d}"));
    }
    if let Some(age) = max_age {
        c.push_str(&format!("; Max-Age={age}"));
        if age <= 0 {
            c.push_str("; Expires=Thu, 01 Jan 1970 00:00:00 GMT");
        }
    }
    // SameSite=None is only honoured on Secure cookies; fall back to Lax as Kratos does.
    let same_site = if s.cookies.same_site == "None" && !s.cookies.secure {
        "Lax"
    } else {
        s.cookies.same_site.as_str()
    };
    c.push_str(&format!("; SameSite={same_site}"));
    if s.cookies.secure {
        c.push_str("; Secure");
    }
    c
}

/// The session cookie for a token, living as long as the session.
pub fn session_cookie(
    s: &Settings,
    token: &str,
    expires_at: time::OffsetDateTime,
    now: time::OffsetDateTime,
) -> String {
    let age = s
        .cookies
        .persistent
        .then(|| (expires_at - now).whole_seconds().max(1));
    cookie(s, &s.cookies.session_name, token, age)
}

/// The CSRF cookie (one year, as Kratos sets it).
pub fn csrf_cookie(s: &Settings, raw: &str) -> String {
    cookie(s, &s.cookies.csrf_name, raw, Some(31_536_000))
}

/// Answers an error to a browser that asked for HTML: stores it and redirects to the
/// error UI; anyone else gets the envelope.
pub async fn error_for(svc: &Service, wants_json: bool, err: ApiError) -> Response {
    if wants_json {
        return err.into_response();
    }
    let id = uuid::Uuid::new_v4();
    let body = json!(err.body);
    if let Err(e) = svc.store.put_error(id, &body, svc.clock.now()).await {
        tracing::error!(error = %e, "could not store error report");
        return err.into_response();
    }
    let sep = if svc.settings.error_ui_url.contains('?') {
        '&'
    } else {
        '?'
    };
    see_other(&format!("{}{sep}id={id}", svc.settings.error_ui_url), &[])
}

/// `url?flow=<id>`.
pub fn with_flow(url: &str, id: uuid::Uuid) -> String {
    let sep = if url.contains('?') { '&' } else { '?' };
    format!("{url}{sep}flow={id}")
}

/// 429 with `Retry-After`.
pub fn throttled(wait: std::time::Duration) -> Response {
    let secs = wait.as_secs().max(1);
    let mut res = ApiError::new(StatusCode::TOO_MANY_REQUESTS)
        .id("rate_limit_exceeded")
        .reason(format!(
            "Too many failed attempts. Try again in {secs} seconds."
        ))
        .into_response();
    if let Ok(v) = HeaderValue::from_str(&secs.to_string()) {
        res.headers_mut().insert(header::RETRY_AFTER, v);
    }
    res
}
