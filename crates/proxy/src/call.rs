//! Calls to the services the pipeline asks (session stores, remote authorizers). When one
//! runs in this process (the all-in-one `gatehouse serve`), its router is called directly:
//! the same handler answers as over HTTP, minus a loopback round trip.

use axum::body::Body;
use axum::http::{Request, StatusCode};
use bytes::Bytes;
use std::time::Duration;
use tower::ServiceExt;

/// A service of this process, reachable under `base` (its public base URL).
#[derive(Clone)]
pub struct Local {
    pub base: String,
    pub router: axum::Router,
}

/// How long a call may take, in-process or not.
pub const CALL_TIMEOUT: Duration = Duration::from_secs(10);

/// An answer: status, headers and the whole body.
pub struct Answer {
    pub status: StatusCode,
    pub headers: axum::http::HeaderMap,
    pub body: Bytes,
}

/// Sends `req` to the in-process service whose base URL it starts with, or over HTTP.
pub async fn call(
    http: &reqwest::Client,
    local: &[Local],
    req: Request<Bytes>,
) -> Result<Answer, String> {
    let url = req.uri().to_string();
    if let Some(service) = local.iter().find(|l| url.starts_with(&l.base)) {
        return call_local(service, req).await;
    }
    let req = reqwest::Request::try_from(req.map(reqwest::Body::from))
        .map_err(|e| format!("{url}: {e}"))?;
    let res = http.execute(req).await.map_err(|e| format!("{url}: {e}"))?;
    let status = res.status();
    let headers = res.headers().clone();
    let body = res.bytes().await.map_err(|e| format!("{url}: {e}"))?;
    Ok(Answer {
        status,
        headers,
        body,
    })
}

async fn call_local(service: &Local, req: Request<Bytes>) -> Result<Answer, String> {
    let mut req = req.map(Body::from);
    // Handlers that want the peer address see loopback, as they would over HTTP.
    req.extensions_mut()
        .insert(axum::extract::ConnectInfo(std::net::SocketAddr::from((
            [127, 0, 0, 1],
            0,
        ))));
    let answer = tokio::time::timeout(CALL_TIMEOUT, service.router.clone().oneshot(req))
        .await
        .map_err(|_| format!("{}: no answer in time", service.base))?
        .map_err(|e| format!("{}: {e}", service.base))?;
    let (parts, body) = answer.into_parts();
    let body = axum::body::to_bytes(body, 16 << 20)
        .await
        .map_err(|e| format!("{}: {e}", service.base))?;
    Ok(Answer {
        status: parts.status,
        headers: parts.headers,
        body,
    })
}
