//! The `hydrator` mutator: the session so far is POSTed (as JSON, with the original
//! request's headers and query) to an API that answers it back enriched; its `extra` and
//! `header` then replace the session's. The API may not change the subject.

use super::remote::{CacheSettings, Retry, send};
use super::session::canonical;
use super::{Denied, Session};
use crate::Proxy;
use axum::http::StatusCode;
use gatehouse_core::token::sha256_hex;
use serde_json::Value;
use std::collections::BTreeMap;
use std::time::Duration;

const MALFORMED: &str = "The call to an external API returned an invalid JSON object";
const NON_200: &str = "The call to an external API returned a non-200 HTTP response";
const INVALID_CREDENTIALS: &str = "Invalid credentials were provided in mutator configuration";
const NO_CREDENTIALS: &str = "No credentials were provided in mutator configuration";
/// Hydrated sessions kept at most (Oathkeeper's cache holds about this many).
const CACHE_ENTRIES: usize = 10_000;

/// Request headers that describe the original request's connection or body, not the
/// caller: the hydrator's call has its own.
const NOT_COPIED: &[&str] = &[
    "host",
    "content-length",
    "content-type",
    "transfer-encoding",
    "connection",
    "keep-alive",
    "proxy-connection",
    "te",
    "trailer",
    "upgrade",
    "expect",
    "accept-encoding",
];

/// What a hydrator answered, as far as the session keeps it.
#[derive(Clone, Debug)]
pub struct Hydrated {
    pub extra: Value,
    pub header: BTreeMap<String, String>,
}

impl Hydrated {
    fn apply(self, session: &mut Session) {
        session.extra = self.extra;
        session.header = self.header;
    }
}

pub async fn hydrate(px: &Proxy, config: &Value, session: &mut Session) -> Result<(), Denied> {
    let api = config.get("api");
    let url = api
        .and_then(|a| a.get("url"))
        .and_then(Value::as_str)
        .unwrap_or("");
    if url.is_empty() {
        return Err(Denied::internal("Missing URL in mutator configuration"));
    }
    let mut url = url::Url::parse(url)
        .map_err(|e| Denied::internal(format!("Invalid URL in mutator configuration: {e}")))?;
    let basic = api
        .and_then(|a| a.pointer("/auth/basic"))
        .filter(|b| b.is_object())
        .map(|b| (super::text(b, "username"), super::text(b, "password")));
    let retry = match api.and_then(|a| a.get("retry")).filter(|r| r.is_object()) {
        Some(r) => Some(Retry::read(
            Some(r),
            Duration::from_millis(100),
            Duration::from_secs(1),
            "hydrator api",
        )?),
        None => None,
    };
    let cache = CacheSettings::read(config, "hydrator")?;
    let body = serde_json::to_vec(&session.wire())
        .map_err(|e| Denied::internal(format!("hydrator: the session does not encode: {e}")))?;
    // Go's `url.Values.Encode()`: sorted by key.
    let mut query: Vec<(String, String)> =
        url::form_urlencoded::parse(session.request.query.as_deref().unwrap_or("").as_bytes())
            .into_owned()
            .collect();
    query.sort_by(|a, b| a.0.cmp(&b.0));
    let headers: Vec<(String, Vec<u8>)> = session
        .request
        .headers
        .iter()
        .filter(|(k, _)| !NOT_COPIED.contains(&k.as_str()))
        // With `api.auth.basic` the call carries those credentials instead, as Go's
        // `SetBasicAuth` replaces the header.
        .filter(|(k, _)| !(basic.is_some() && *k == axum::http::header::AUTHORIZATION))
        .map(|(k, v)| (k.as_str().to_string(), v.as_bytes().to_vec()))
        .collect();
    let key = cache.enabled.then(|| {
        let mut material = format!(
            "{}|{url}|{query:?}|{basic:?}|",
            String::from_utf8_lossy(&body)
        );
        for (k, v) in &headers {
            material.push_str(&format!("{k}:{}\n", String::from_utf8_lossy(v)));
        }
        sha256_hex(&material)
    });
    if let Some(hit) = key.as_deref().and_then(|k| px.caches.hydrator.get(k)) {
        hit.apply(session);
        return Ok(());
    }

    url.set_query(None);
    if !query.is_empty() {
        url.query_pairs_mut().extend_pairs(&query);
    }
    let mut call = px.http.post(url.clone());
    for (k, v) in &headers {
        call = call.header(k.as_str(), v.as_slice());
    }
    if let Some((user, pass)) = basic {
        let pair = format!("{user}:{pass}");
        call = call.header(
            "authorization",
            format!(
                "Basic {}",
                base64::Engine::encode(&base64::engine::general_purpose::STANDARD, pair)
            ),
        );
    }
    call = call.header("content-type", "application/json").body(body);
    let res = send(call, retry).await.map_err(|e| {
        tracing::warn!(url = %url, error = %e, "the hydrator could not be reached");
        Denied::internal(format!("The hydrator could not be reached: {e}"))
    })?;
    match res.status() {
        StatusCode::OK => {}
        StatusCode::UNAUTHORIZED => {
            return Err(Denied::internal(if basic.is_some() {
                INVALID_CREDENTIALS
            } else {
                NO_CREDENTIALS
            }));
        }
        other => return Err(Denied::internal(format!("{NON_200}: {other}"))),
    }
    let doc: Value = res
        .json()
        .await
        .map_err(|e| Denied::internal(format!("{MALFORMED}: {e}")))?;
    let hydrated = read_answer(&doc, &session.subject)
        .map_err(|e| Denied::internal(format!("{MALFORMED}: {e}")))?;
    if let Some(key) = key {
        px.caches.hydrator.insert(
            key,
            hydrated.clone(),
            cache.ttl.unwrap_or(Duration::from_secs(60)),
            CACHE_ENTRIES,
        );
    }
    hydrated.apply(session);
    Ok(())
}

/// The hydrator's answer: a session whose subject is `subject`.
fn read_answer(doc: &Value, subject: &str) -> Result<Hydrated, String> {
    let answered = match doc.get("subject") {
        None | Some(Value::Null) => "",
        Some(Value::String(s)) => s.as_str(),
        Some(other) => return Err(format!("\"subject\" is not a string: {other}")),
    };
    if answered != subject {
        return Err(format!(
            "the answer's subject {answered:?} is not the session's {subject:?}"
        ));
    }
    let extra = match doc.get("extra") {
        None | Some(Value::Null) => Value::Null,
        Some(v @ Value::Object(_)) => v.clone(),
        Some(other) => return Err(format!("\"extra\" is not an object: {other}")),
    };
    let mut header = BTreeMap::new();
    match doc.get("header") {
        None | Some(Value::Null) => {}
        Some(Value::Object(m)) => {
            for (name, values) in m {
                // Like Go's proxy, the first value of each header is sent.
                let first = match values {
                    Value::Array(a) => match a.first() {
                        None => String::new(),
                        Some(Value::String(s)) => s.clone(),
                        Some(other) => {
                            return Err(format!("header {name:?} has a non-string value {other}"));
                        }
                    },
                    Value::String(s) => s.clone(),
                    other => {
                        return Err(format!("header {name:?} is not a list of strings: {other}"));
                    }
                };
                header.insert(canonical(name), first);
            }
        }
        Some(other) => return Err(format!("\"header\" is not an object: {other}")),
    }
    Ok(Hydrated { extra, header })
}

#[cfg(test)]
mod tests {
    use super::read_answer;
    use serde_json::json;

    #[test]
    fn answers_keep_the_subject() {
        let ok = read_answer(
            &json!({"subject": "u1", "extra": {"a": 1}, "header": {"x-user": ["u1", "ignored"], "X-Empty": []}}),
            "u1",
        )
        .unwrap();
        assert_eq!(ok.extra["a"], 1);
        assert_eq!(ok.header["X-User"], "u1");
        assert_eq!(ok.header["X-Empty"], "");
        assert!(read_answer(&json!({"subject": "u2"}), "u1").is_err());
        assert!(read_answer(&json!({}), "u1").is_err());
        assert!(read_answer(&json!({}), "").is_ok());
        assert!(read_answer(&json!({"subject": "u1", "extra": [1]}), "u1").is_err());
        assert!(read_answer(&json!({"subject": "u1", "header": {"a": 1}}), "u1").is_err());
    }
}
