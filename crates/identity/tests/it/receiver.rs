//! An HTTP receiver on loopback for `web_hook`s. It records every request it gets (method,
//! path, headers, JSON body), whatever the path or method, and answers by path:
//!
//! - `/deny`: 400 with a Kratos error body that puts a message on `traits.email`;
//! - `/amend`: 200 with `{"identity": {"metadata_public": {"plan": "pro"}}}`;
//! - `/garbage`: 500 with an HTML body;
//! - `/slow`: 200 after five seconds;
//! - any other path (`/ok`, `/hook`, ...): 200 with no body.

use axum::Router;
use axum::body::Body;
use axum::extract::{Request, State};
use axum::http::{HeaderMap, Method, StatusCode};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use serde_json::{Value, json};
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// One request as the receiver got it.
#[derive(Clone, Debug)]
pub struct Call {
    pub method: Method,
    pub path: String,
    pub headers: HeaderMap,
    /// The body parsed as JSON; `Null` when it is empty or not JSON.
    pub body: Value,
}

/// Every request so far, in arrival order.
pub type Calls = Arc<Mutex<Vec<Call>>>;

async fn record(State(calls): State<Calls>, req: Request, next: Next) -> Response {
    let (parts, body) = req.into_parts();
    let bytes = axum::body::to_bytes(body, 5 << 20)
        .await
        .unwrap_or_default();
    calls.lock().unwrap().push(Call {
        method: parts.method.clone(),
        path: parts.uri.path().to_string(),
        headers: parts.headers.clone(),
        body: serde_json::from_slice(&bytes).unwrap_or(Value::Null),
    });
    next.run(Request::from_parts(parts, Body::from(bytes)))
        .await
}

/// Starts a receiver; its base URL (`http://127.0.0.1:PORT`, no trailing slash) and what
/// it records.
pub async fn receiver() -> (String, Calls) {
    let calls: Calls = Arc::default();
    let app = Router::new()
        .route("/deny", post(|| async {
            (StatusCode::BAD_REQUEST, axum::Json(json!({"messages": [{"instance_ptr": "#/traits/email",
                "messages": [{"id": 1234, "text": "This school is not on our list.", "type": "error", "context": {}}]}]})))
        }))
        .route("/amend", post(|| async {
            axum::Json(json!({"identity": {"metadata_public": {"plan": "pro"}}}))
        }))
        .route("/garbage", post(|| async { (StatusCode::INTERNAL_SERVER_ERROR, "<html>oops").into_response() }))
        .route("/slow", post(|| async {
            tokio::time::sleep(Duration::from_secs(5)).await;
            StatusCode::OK
        }))
        .fallback(|| async { StatusCode::OK })
        .layer(middleware::from_fn_with_state(calls.clone(), record));
    let l = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", l.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(l, app).await });
    (base, calls)
}
