//! The two ways a request gets decided: proxied (the proxy port forwards it when allowed)
//! and asked about (`/decisions` on the api port, for nginx `auth_request`, Traefik
//! `forwardAuth` and Envoy `ext_authz`: 200 with the mutated headers when allowed).

use crate::pipeline::{self, Denied, Incoming, errors};
use crate::port::{self, ProxyBody};
use crate::rule::{MatchError, Matched};
use crate::{SharedProxy, forward};
use axum::body::Body;
use axum::extract::State;
use axum::http::request::Parts;
use axum::http::{HeaderMap, HeaderValue, Request, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use http_body_util::{BodyExt, Either, Full, Limited};
use std::net::IpAddr;
use std::sync::Arc;

/// Bodies a `remote` authorizer forwards are read up to this size.
const REMOTE_BODY_LIMIT: usize = 10 << 20;

/// Every request on the proxy port.
pub async fn proxy(
    px: SharedProxy,
    client_ip: IpAddr,
    req: Request<hyper::body::Incoming>,
) -> Response<ProxyBody> {
    let (mut parts, body) = req.into_parts();
    let mut incoming = proxied(&px, &mut parts);
    let matched = match find(&px, &incoming) {
        Ok(m) => m,
        Err(denied) => return port::local(errors::respond(&px, &[], &denied, &incoming)),
    };
    let rule = matched.rule.clone();
    let body = if rule.authorizer.handler == "remote" {
        match Limited::new(body, REMOTE_BODY_LIMIT).collect().await {
            Ok(collected) => {
                let bytes = collected.to_bytes();
                incoming.body = Some(bytes.clone());
                Either::Right(Full::new(bytes))
            }
            Err(_) => {
                let d = Denied::new(
                    StatusCode::PAYLOAD_TOO_LARGE,
                    "The request body is too large",
                );
                return port::local(errors::respond(&px, &rule.errors, &d, &incoming));
            }
        }
    } else {
        Either::Left(body)
    };
    let incoming = Arc::new(incoming);
    let emit = match pipeline::run(&px, &matched, &incoming).await {
        Ok(session) => session.into_header(),
        Err(denied) => return port::local(errors::respond(&px, &rule.errors, &denied, &incoming)),
    };
    // The session is gone, so the request is normally ours again, headers and all.
    let incoming = Arc::try_unwrap(incoming).unwrap_or_else(|shared| (*shared).clone());
    let req = Request::from_parts(parts, body);
    match forward::forward(&px, &rule, &emit, incoming, client_ip, req).await {
        Ok(res) => res,
        Err(denied) => port::local(errors::json_response(&denied, true)),
    }
}

/// `/decisions[/...]`.
pub async fn decisions_handler(State(px): State<SharedProxy>, mut req: Request<Body>) -> Response {
    let incoming = Arc::new(asked_about(&mut req));
    let matched = match find(&px, &incoming) {
        Ok(m) => m,
        Err(denied) => return errors::respond(&px, &[], &denied, &incoming),
    };
    match pipeline::run(&px, &matched, &incoming).await {
        Ok(session) => {
            let mut res = StatusCode::OK.into_response();
            for (name, value) in &session.header {
                if name.eq_ignore_ascii_case("content-length") {
                    continue;
                }
                if let (Ok(n), Ok(v)) = (
                    axum::http::HeaderName::from_bytes(name.as_bytes()),
                    HeaderValue::from_str(value),
                ) {
                    res.headers_mut().insert(n, v);
                }
            }
            res
        }
        Err(denied) => errors::respond(&px, &matched.rule.errors, &denied, &incoming),
    }
}

fn find(px: &SharedProxy, incoming: &Incoming) -> Result<Matched, Denied> {
    let rules = px.rules.current();
    rules
        .find(&incoming.method, &incoming.match_url())
        .map_err(|e| match e {
            MatchError::NoMatch => Denied::new(
                StatusCode::NOT_FOUND,
                "Requested url does not match any rules",
            ),
            MatchError::Multiple(ids) => Denied::internal(format!(
                "Expected exactly one rule but found multiple rules: {}",
                ids.join(", ")
            )),
        })
}

/// A request on the proxy port, as matched: `X-Forwarded-Proto` counts only when
/// forwarded headers are trusted. The headers move into the `Incoming` (the request goes
/// on with its body); forwarding takes them back.
fn proxied(px: &SharedProxy, req: &mut Parts) -> Incoming {
    let h = &req.headers;
    let trusted_proto = px
        .config
        .serve
        .proxy
        .trust_forwarded_headers
        .then(|| header(h, "x-forwarded-proto"))
        .flatten()
        .filter(|p| *p == "http" || *p == "https");
    let scheme = trusted_proto.unwrap_or("http").to_string();
    let host = host_of(&req.headers, &req.uri);
    Incoming {
        method: req.method.as_str().to_string(),
        scheme,
        host,
        path: req.uri.path().to_string(),
        query: req.uri.query().map(str::to_string),
        headers: std::mem::take(&mut req.headers),
        body: None,
    }
}

/// The request a decisions call describes, from the `X-Forwarded-*` conventions.
fn asked_about(req: &mut Request<Body>) -> Incoming {
    let h = req.headers();
    let path = match header(h, "x-forwarded-uri") {
        Some(uri) => uri.split('?').next().unwrap_or("/").to_string(),
        None => {
            let p = req.uri().path();
            let rest = p.strip_prefix("/decisions").unwrap_or(p);
            if rest.is_empty() {
                "/".into()
            } else {
                rest.to_string()
            }
        }
    };
    let method = header(h, "x-forwarded-method")
        .unwrap_or(req.method().as_str())
        .to_string();
    let scheme = header(h, "x-forwarded-proto").unwrap_or("http").to_string();
    let host = header(h, "x-forwarded-host")
        .map(str::to_string)
        .unwrap_or_else(|| host_of(req.headers(), req.uri()));
    Incoming {
        method,
        scheme,
        host,
        path,
        query: req.uri().query().map(str::to_string),
        headers: std::mem::take(req.headers_mut()),
        body: None,
    }
}

fn header<'a>(h: &'a HeaderMap, name: &str) -> Option<&'a str> {
    h.get(name)
        .and_then(|v| v.to_str().ok())
        .filter(|v| !v.is_empty())
}

fn host_of(headers: &HeaderMap, uri: &Uri) -> String {
    header(headers, "host")
        .map(str::to_string)
        .or_else(|| uri.authority().map(|a| a.to_string()))
        .unwrap_or_default()
}
