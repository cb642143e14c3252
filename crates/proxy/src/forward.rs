//! The reverse proxy's forwarding: the upstream request (path joined and stripped, host
//! kept or replaced, hop-by-hop headers dropped, `X-Forwarded-*` set, session headers
//! applied), bodies streamed both ways, WebSocket upgrades bridged, and a JSON 502/504
//! when the upstream fails.

use crate::Proxy;
use crate::pipeline::{Denied, Incoming};
use crate::port::ProxyBody;
use crate::rule::Rule;
use axum::http::{HeaderMap, HeaderName, HeaderValue, Request, Response, StatusCode, Uri, header};
use hyper_util::rt::TokioIo;
use std::collections::BTreeMap;

/// Headers that describe one connection, never forwarded (RFC 9110 7.6.1).
const HOP_BY_HOP: [HeaderName; 9] = [
    header::CONNECTION,
    HeaderName::from_static("keep-alive"),
    header::PROXY_AUTHENTICATE,
    header::PROXY_AUTHORIZATION,
    HeaderName::from_static("proxy-connection"),
    header::TE,
    header::TRAILER,
    header::TRANSFER_ENCODING,
    header::UPGRADE,
];

/// A request body on its way upstream: the client's as it arrives, or one read whole
/// first (for a `remote` authorizer).
pub type UpstreamBody =
    http_body_util::Either<hyper::body::Incoming, http_body_util::Full<bytes::Bytes>>;

/// Sends the request upstream and streams the answer back. `incoming` holds the request's
/// headers, `req` the rest of it (method, body, the connection's upgrade handle).
pub async fn forward(
    px: &Proxy,
    rule: &Rule,
    emit: &BTreeMap<String, String>,
    incoming: Incoming,
    client_ip: std::net::IpAddr,
    mut req: Request<UpstreamBody>,
) -> Result<Response<ProxyBody>, Denied> {
    let (target, origin) = target_uri(rule, &incoming)?;
    let upgrade = wants_upgrade(&incoming.headers);
    let client_side = upgrade.then(|| hyper::upgrade::on(&mut req));
    let (parts, body) = req.into_parts();
    let mut out = Request::new(body);
    *out.method_mut() = parts.method;
    *out.uri_mut() = origin_form(&target);
    *out.headers_mut() = upstream_headers(px, rule, emit, incoming, client_ip, upgrade);
    let timeout = px.config.serve.proxy.timeout.write;
    let sent = tokio::time::timeout(timeout, px.upstream.send(origin, &target, out)).await;
    let mut res = match sent {
        Err(_) => {
            return Err(upstream_failed(
                StatusCode::GATEWAY_TIMEOUT,
                "The upstream did not answer in time",
                &target,
            ));
        }
        Ok(Err(e)) => {
            tracing::warn!(upstream = %target, error = %e, "upstream request failed");
            return Err(upstream_failed(
                StatusCode::BAD_GATEWAY,
                "The upstream could not be reached",
                &target,
            ));
        }
        Ok(Ok(res)) => res,
    };
    if res.status() == StatusCode::SWITCHING_PROTOCOLS {
        if let Some(client_side) = client_side {
            let upstream_side = hyper::upgrade::on(&mut res);
            tokio::spawn(bridge(client_side, upstream_side));
        }
        let (parts, _) = res.into_parts();
        return Ok(Response::from_parts(parts, ProxyBody::default()));
    }
    let (mut parts, body) = res.into_parts();
    strip_hop_by_hop(&mut parts.headers);
    Ok(Response::from_parts(parts, ProxyBody::Upstream(body)))
}

/// The request line's form of a URI for an origin server: path and query only.
fn origin_form(target: &Uri) -> Uri {
    let mut parts = axum::http::uri::Parts::default();
    parts.path_and_query = target.path_and_query().cloned();
    Uri::from_parts(parts).unwrap_or_else(|_| Uri::from_static("/"))
}

fn upstream_failed(status: StatusCode, message: &str, target: &Uri) -> Denied {
    let mut d = Denied::new(status, message).reason(format!("upstream {target}"));
    d.details = serde_json::json!({});
    d
}

/// Copies bytes both ways between the client's and the upstream's upgraded connections.
async fn bridge(client: hyper::upgrade::OnUpgrade, upstream: hyper::upgrade::OnUpgrade) {
    let (Ok(c), Ok(u)) = (client.await, upstream.await) else {
        tracing::warn!("a WebSocket upgrade did not complete on both sides");
        return;
    };
    let mut c = TokioIo::new(c);
    let mut u = TokioIo::new(u);
    let _ = tokio::io::copy_bidirectional(&mut c, &mut u).await;
}

fn wants_upgrade(h: &HeaderMap) -> bool {
    h.contains_key(header::UPGRADE)
        && h.get_all(header::CONNECTION)
            .iter()
            .filter_map(|v| v.to_str().ok())
            .any(|v| {
                v.split(',')
                    .any(|t| t.trim().eq_ignore_ascii_case("upgrade"))
            })
}

/// The upstream URL: its scheme and authority, its path joined with the request's (the
/// request's trailing slash kept, unlike Oathkeeper), `strip_path` removed, query kept;
/// and its origin (`scheme://authority`).
pub fn target_uri<'r>(rule: &'r Rule, incoming: &Incoming) -> Result<(Uri, &'r str), Denied> {
    let up = rule.upstream.target().map_err(|e| {
        Denied::internal(format!(
            "rule {:?} upstream.url {:?} is not a URL: {e}",
            rule.id, rule.upstream.url
        ))
    })?;
    let mut path = join(&up.path, &incoming.path);
    let strip = rule.upstream.strip_path.trim_matches('/');
    if !strip.is_empty() {
        let needle = format!("/{strip}");
        if let Some(at) = path.find(&needle) {
            path.replace_range(at..at + needle.len(), "");
        }
        if path.is_empty() {
            path.push('/');
        }
    }
    let query = incoming.query.as_deref().filter(|q| !q.is_empty());
    let mut uri =
        String::with_capacity(up.origin.len() + path.len() + query.map_or(0, |q| q.len() + 1));
    uri.push_str(&up.origin);
    uri.push_str(&path);
    if let Some(q) = query {
        uri.push('?');
        uri.push_str(q);
    }
    let uri = Uri::try_from(uri).map_err(|e| Denied::internal(format!("upstream URL: {e}")))?;
    Ok((uri, &up.origin))
}

fn join(base: &str, path: &str) -> String {
    let base = base.trim_end_matches('/');
    let mut joined = String::with_capacity(base.len() + path.len() + 1);
    joined.push_str(base);
    if !path.starts_with('/') {
        joined.push('/');
    }
    joined.push_str(path);
    joined
}

/// The request's headers as the upstream gets them.
fn upstream_headers(
    px: &Proxy,
    rule: &Rule,
    emit: &BTreeMap<String, String>,
    incoming: Incoming,
    client_ip: std::net::IpAddr,
    upgrade: bool,
) -> HeaderMap {
    let Incoming {
        mut headers,
        scheme,
        host,
        ..
    } = incoming;
    let h = &mut headers;
    let upgrade_to = upgrade.then(|| h.get(header::UPGRADE).cloned()).flatten();
    strip_hop_by_hop(h);
    let trusted = px.config.serve.proxy.trust_forwarded_headers;
    if !trusted {
        let forwarded: Vec<HeaderName> = h
            .keys()
            .filter(|k| k.as_str().starts_with("x-forwarded-") || k.as_str() == "forwarded")
            .cloned()
            .collect();
        for k in forwarded {
            h.remove(k);
        }
    }
    if let Some(to) = upgrade_to {
        h.insert(header::CONNECTION, HeaderValue::from_static("upgrade"));
        h.insert(header::UPGRADE, to);
    }
    for (name, value) in emit {
        if let (Ok(n), Ok(v)) = (
            HeaderName::from_bytes(name.as_bytes()),
            HeaderValue::from_str(value),
        ) {
            h.insert(n, v);
        }
    }
    if (!rule.upstream.preserve_host || !h.contains_key(header::HOST))
        && let Some(v) = rule.upstream.target().ok().and_then(|t| t.host.clone())
    {
        h.insert(header::HOST, v);
    }
    let xff = match h.get(X_FORWARDED_FOR).and_then(|v| v.to_str().ok()) {
        Some(prev) if trusted => format!("{prev}, {client_ip}"),
        _ => ip_text(client_ip),
    };
    if let Ok(v) = HeaderValue::try_from(xff) {
        h.insert(X_FORWARDED_FOR, v);
    }
    if !h.contains_key(X_FORWARDED_PROTO)
        && let Ok(v) = HeaderValue::try_from(scheme)
    {
        h.insert(X_FORWARDED_PROTO, v);
    }
    if !h.contains_key(X_FORWARDED_HOST)
        && let Ok(v) = HeaderValue::try_from(host)
    {
        h.insert(X_FORWARDED_HOST, v);
    }
    headers
}

/// An address as text; IPv4 (nearly every request) without the formatting machinery,
/// which costs more than the rest of the header work.
fn ip_text(ip: std::net::IpAddr) -> String {
    let std::net::IpAddr::V4(v4) = ip else {
        return ip.to_string();
    };
    let mut out = String::with_capacity(15);
    for (i, octet) in v4.octets().into_iter().enumerate() {
        if i > 0 {
            out.push('.');
        }
        if octet >= 100 {
            out.push(char::from(b'0' + octet / 100));
        }
        if octet >= 10 {
            out.push(char::from(b'0' + octet / 10 % 10));
        }
        out.push(char::from(b'0' + octet % 10));
    }
    out
}

const X_FORWARDED_FOR: HeaderName = HeaderName::from_static("x-forwarded-for");
const X_FORWARDED_PROTO: HeaderName = HeaderName::from_static("x-forwarded-proto");
const X_FORWARDED_HOST: HeaderName = HeaderName::from_static("x-forwarded-host");

/// Drops the hop-by-hop headers and any the `Connection` header names. Most requests have
/// none, and one pass over their few headers finds that sooner than a lookup of each name.
fn strip_hop_by_hop(h: &mut HeaderMap) {
    if !h.keys().any(|k| HOP_BY_HOP.contains(k)) {
        return;
    }
    let listed: Vec<HeaderName> = h
        .get_all(header::CONNECTION)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .filter_map(|t| HeaderName::from_bytes(t.trim().as_bytes()).ok())
        .collect();
    for name in listed.iter().chain(&HOP_BY_HOP) {
        h.remove(name);
    }
}

#[cfg(test)]
mod tests {
    use super::join;

    #[test]
    fn addresses_read_as_std_writes_them() {
        for ip in [
            "127.0.0.1",
            "0.0.0.0",
            "255.255.255.255",
            "10.200.3.45",
            "::1",
            "fe80::1",
        ] {
            let ip: std::net::IpAddr = ip.parse().unwrap();
            assert_eq!(super::ip_text(ip), ip.to_string());
        }
    }

    #[test]
    fn paths_join_and_keep_the_trailing_slash() {
        assert_eq!(join("/", "/a/b/"), "/a/b/");
        assert_eq!(join("/api/", "/users"), "/api/users");
        assert_eq!(join("", "/"), "/");
    }
}
