//! The OPL port: `POST /opl/syntax/check` with the source as the body; every error with
//! its start and end position, in Keto's JSON (always 200).

use crate::SharedPermissions;
use axum::Json;
use axum::response::{IntoResponse, Response};
use axum::routing::post;

pub fn routes() -> axum::Router<SharedPermissions> {
    axum::Router::new().route("/opl/syntax/check", post(check))
}

async fn check(super::Body(body): super::Body) -> Response {
    let source = String::from_utf8_lossy(&body);
    Json(crate::opl::check_syntax(&source)).into_response()
}
