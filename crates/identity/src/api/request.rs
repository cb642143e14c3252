//! Reading requests the way Kratos does: JSON or form bodies (form names such as
//! `traits.email` become nested objects), content negotiation, cookies and the client.

use crate::service::ClientInfo;
use axum::body::Body;
use axum::http::{HeaderMap, Request, StatusCode, header};
use gatehouse_core::ApiError;
use serde_json::{Map, Value};

/// Request bodies larger than this are refused with 413.
pub const MAX_BODY: usize = 1 << 20;

/// True when the client wants JSON: a JSON body, or an `Accept` that prefers JSON to HTML.
pub fn wants_json(headers: &HeaderMap) -> bool {
    let content_type = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    if content_type.starts_with("application/json") {
        return true;
    }
    let accept = headers
        .get(header::ACCEPT)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    prefers_json(accept)
}

/// Content negotiation between `text/html` (offered first) and `application/json`.
fn prefers_json(accept: &str) -> bool {
    let mut json_q = -1.0f32;
    let mut html_q = -1.0f32;
    for part in accept.split(',') {
        let mut bits = part.split(';');
        let media = bits.next().unwrap_or("").trim().to_ascii_lowercase();
        let q = bits
            .filter_map(|b| {
                b.trim()
                    .strip_prefix("q=")
                    .and_then(|q| q.parse::<f32>().ok())
            })
            .next()
            .unwrap_or(1.0);
        match media.as_str() {
            "application/json" => json_q = json_q.max(q),
            "text/html" | "text/*" | "*/*" => html_q = html_q.max(q),
            _ => {}
        }
    }
    json_q > 0.0 && json_q > html_q
}

/// Reads a JSON or form body into a JSON object, within [`MAX_BODY`].
pub async fn read_body(req: Request<Body>) -> Result<Value, ApiError> {
    let content_type = req
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .to_ascii_lowercase();
    let bytes = axum::body::to_bytes(req.into_body(), MAX_BODY)
        .await
        .map_err(|_| {
            ApiError::new(StatusCode::PAYLOAD_TOO_LARGE)
                .reason(format!("The request body exceeds {MAX_BODY} bytes."))
        })?;
    parse_body(&content_type, &bytes)
}

/// Parses body bytes by content type.
pub fn parse_body(content_type: &str, bytes: &[u8]) -> Result<Value, ApiError> {
    if content_type.starts_with("application/json")
        || (content_type.is_empty() && bytes.first() == Some(&b'{'))
    {
        let v: Value = serde_json::from_slice(bytes)
            .map_err(|e| ApiError::bad_request(format!("Unable to decode JSON body: {e}")))?;
        if !v.is_object() {
            return Err(ApiError::bad_request("The JSON body must be an object."));
        }
        return Ok(v);
    }
    if content_type.starts_with("application/x-www-form-urlencoded")
        || (content_type.is_empty() && bytes.is_empty())
    {
        return Ok(form_to_json(bytes));
    }
    Err(ApiError::new(StatusCode::UNSUPPORTED_MEDIA_TYPE)
        .reason("Content-Type must be application/json or application/x-www-form-urlencoded."))
}

/// `traits.name.first=Ana` becomes `{"traits": {"name": {"first": "Ana"}}}`. Empty trait
/// values are dropped so an empty field counts as missing, as in Kratos.
pub fn form_to_json(bytes: &[u8]) -> Value {
    let mut root = Map::new();
    for (k, v) in url::form_urlencoded::parse(bytes) {
        if k.starts_with("traits.") && v.is_empty() {
            continue;
        }
        let parts: Vec<&str> = k.split('.').collect();
        insert_path(&mut root, &parts, Value::String(v.into_owned()));
    }
    Value::Object(root)
}

fn insert_path(map: &mut Map<String, Value>, parts: &[&str], value: Value) {
    let Some((first, rest)) = parts.split_first() else {
        return;
    };
    if rest.is_empty() {
        map.insert((*first).to_string(), value);
        return;
    }
    let child = map
        .entry((*first).to_string())
        .or_insert_with(|| Value::Object(Map::new()));
    if !child.is_object() {
        *child = Value::Object(Map::new());
    }
    if let Value::Object(m) = child {
        insert_path(m, rest, value);
    }
}

/// The value of cookie `name`, if sent.
pub fn cookie(headers: &HeaderMap, name: &str) -> Option<String> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(k, _)| *k == name)
        .map(|(_, v)| v.trim_matches('"').to_string())
}

/// The session token of a request: `X-Session-Token`, then the session cookie, then
/// `Authorization: Bearer`, in Kratos's order.
pub fn session_token(headers: &HeaderMap, cookie_name: &str) -> Option<String> {
    if let Some(t) = headers
        .get("x-session-token")
        .and_then(|v| v.to_str().ok())
        .filter(|t| !t.is_empty())
    {
        return Some(t.trim().to_string());
    }
    if let Some(c) = cookie(headers, cookie_name).filter(|c| !c.is_empty()) {
        return Some(c);
    }
    headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| {
            v.strip_prefix("Bearer ")
                .or_else(|| v.strip_prefix("bearer "))
        })
        .map(|t| t.trim().to_string())
}

/// The peer and user agent, recorded on sessions and used for throttling.
pub fn client_info(headers: &HeaderMap, peer: Option<std::net::SocketAddr>) -> ClientInfo {
    ClientInfo {
        ip: peer.map(|p| p.ip().to_string()),
        user_agent: headers
            .get(header::USER_AGENT)
            .and_then(|v| v.to_str().ok())
            .map(|s| s.chars().take(512).collect()),
    }
}

/// The absolute URL of this request on the public base URL (flows record it).
pub fn request_url(base: &str, uri: &axum::http::Uri) -> String {
    let path = uri.path_and_query().map(|p| p.as_str()).unwrap_or("/");
    format!("{}{}", base.trim_end_matches('/'), path)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn negotiation() {
        assert!(prefers_json("application/json"));
        assert!(!prefers_json(
            "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8"
        ));
        assert!(!prefers_json(""));
        assert!(!prefers_json("*/*"));
        assert!(prefers_json("application/json, text/plain, */*;q=0.5"));
    }

    #[test]
    fn forms_nest() {
        let v = form_to_json(b"traits.email=a%40b.c&traits.name.first=Ana&traits.name.last=&password=x&method=password");
        assert_eq!(
            v,
            json!({"traits": {"email": "a@b.c", "name": {"first": "Ana"}}, "password": "x", "method": "password"})
        );
    }

    #[test]
    fn bodies() {
        assert!(parse_body("application/json", b"[1]").is_err());
        assert!(parse_body("application/json", b"{").is_err());
        assert_eq!(
            parse_body("text/plain", b"x").unwrap_err().http_status,
            StatusCode::UNSUPPORTED_MEDIA_TYPE
        );
        assert_eq!(
            parse_body("application/json; charset=utf-8", b"{\"a\":1}").unwrap(),
            json!({"a": 1})
        );
    }
}
