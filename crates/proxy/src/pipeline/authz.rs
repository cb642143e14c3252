//! Authorizers: `allow`, `deny`, and the remote ones that ask another service (a Keto
//! check, for instance): 200 allows, 403 denies, anything else is an error.

use super::{Denied, Incoming, Session, list, resolve, text};
use crate::Proxy;
use crate::rule::Handler;
use axum::http::StatusCode;
use serde_json::Value;

pub async fn authorize(
    px: &Proxy,
    h: &Handler,
    req: &Incoming,
    session: &mut Session,
) -> Result<(), Denied> {
    if h.handler.is_empty() {
        return Err(Denied::internal(
            "No authorization handler was set in the rule",
        ));
    }
    let r = resolve(&px.config.authorizers, "authorizer", h)?;
    match r.name {
        "allow" => Ok(()),
        "deny" => Err(Denied::forbidden()),
        "remote_json" => {
            let data = session.template_data();
            let payload = px
                .templates
                .render(text(r.config, "payload"), &data)
                .map_err(|e| Denied::internal(format!("remote_json payload: {e}")))?;
            if let Err(e) = serde_json::from_str::<Value>(&payload) {
                return Err(Denied::internal(format!(
                    "remote_json payload is not JSON after rendering: {e}"
                )));
            }
            let body = bytes::Bytes::from(payload);
            Box::pin(ask(
                px,
                r.config,
                req,
                session,
                Some("application/json"),
                body,
            ))
            .await
        }
        "remote" => {
            let body = req.body.clone().unwrap_or_default();
            let ct = req.header("content-type").map(str::to_string);
            Box::pin(ask(px, r.config, req, session, ct.as_deref(), body)).await
        }
        other => Err(Denied::internal(format!(
            "The authorizer {other:?} is not available in this version of gatehouse"
        ))),
    }
}

/// Sends a remote authorizer's call with the original `Authorization` and the configured
/// header templates (empty ones left out), and maps its answer.
async fn ask(
    px: &Proxy,
    config: &Value,
    req: &Incoming,
    session: &mut Session,
    content_type: Option<&str>,
    body: bytes::Bytes,
) -> Result<(), Denied> {
    let mut call = axum::http::Request::builder()
        .method("POST")
        .uri(text(config, "remote"));
    if let Some(ct) = content_type {
        call = call.header("content-type", ct);
    }
    if let Some(a) = req.header("authorization") {
        call = call.header("authorization", a);
    }
    if let Some(headers) = config.get("headers").and_then(Value::as_object) {
        let data = session.template_data();
        for (name, tpl) in headers {
            let value = px
                .templates
                .render(tpl.as_str().unwrap_or(""), &data)
                .map_err(|e| Denied::internal(format!("authorizer header {name}: {e}")))?;
            if !value.is_empty() {
                call = call.header(name.as_str(), value);
            }
        }
    }
    let call = call
        .body(body)
        .map_err(|e| Denied::internal(format!("the remote authorizer request: {e}")))?;
    let res = crate::call::call(&px.http, &px.local, call)
        .await
        .map_err(|e| {
            Denied::internal(format!("The remote authorizer could not be reached: {e}"))
        })?;
    match res.status {
        StatusCode::OK => {
            for name in list(config, "forward_response_headers_to_upstream") {
                if let Some(v) = res.headers.get(&name).and_then(|v| v.to_str().ok()) {
                    session.set_header(&name, v.to_string());
                }
            }
            Ok(())
        }
        StatusCode::FORBIDDEN => Err(Denied::forbidden()),
        StatusCode::TOO_MANY_REQUESTS => {
            let mut d = Denied::new(StatusCode::TOO_MANY_REQUESTS, "Too many requests");
            for name in [
                "retry-after",
                "x-ratelimit-limit",
                "x-ratelimit-remaining",
                "x-ratelimit-reset",
            ] {
                if let Some(v) = res.headers.get(name).and_then(|v| v.to_str().ok()) {
                    d.headers.push((name.to_string(), v.to_string()));
                }
            }
            Err(d)
        }
        other => Err(Denied::internal(format!(
            "The remote authorizer answered {other}"
        ))),
    }
}
