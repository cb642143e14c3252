//! `/health/alive`, `/health/ready` and `/version`, the same on every port of every service.

use axum::Json;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde_json::json;

/// Always 200: the process is up and serving.
pub async fn alive() -> Response {
    Json(json!({"status": "ok"})).into_response()
}

/// 200 when every dependency answered, otherwise 503 with each failure by name.
pub fn ready(failures: Vec<(&'static str, String)>) -> Response {
    if failures.is_empty() {
        return Json(json!({"status": "ok"})).into_response();
    }
    let errors: serde_json::Map<String, serde_json::Value> = failures
        .into_iter()
        .map(|(k, v)| (k.to_string(), json!(v)))
        .collect();
    (
        StatusCode::SERVICE_UNAVAILABLE,
        Json(json!({"errors": errors})),
    )
        .into_response()
}

/// `{"version": "v0.1.0"}`.
pub async fn version() -> Response {
    Json(json!({"version": format!("v{}", crate::VERSION)})).into_response()
}
