//! HTTP for the identity service: the public router (port 4433: self-service, sessions,
//! schemas, built-in UI, and the dev mailbox in dev mode) and the admin router (port 4434:
//! identities, sessions, courier messages).

pub mod admin;
pub mod code_flows;
pub mod courier;
pub mod flows;
pub mod mail;
pub mod recovery;
pub mod request;
pub mod respond;
pub mod sessions;
pub mod settings;
pub mod ui;
pub mod verification;

use crate::service::SharedService;
use axum::Router;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use gatehouse_core::{ApiError, health};
use serde_json::{Value, json};
use std::collections::HashMap;
use tower_http::set_header::SetResponseHeaderLayer;

/// Kratos's defaults for `serve.public.cors`: browsers send its session and CSRF headers.
const CORS_DEFAULTS: gatehouse_core::cors::Defaults = gatehouse_core::cors::Defaults {
    methods: &["GET", "POST", "PUT", "PATCH", "DELETE"],
    headers: &[
        "Authorization",
        "Content-Type",
        "Cookie",
        "X-Session-Token",
        "X-CSRF-Token",
    ],
    exposed: &["Content-Type"],
    credentials: true,
};

/// The public router (port 4433).
pub fn public_router(svc: SharedService) -> Router {
    let cors = gatehouse_core::cors::layer(&svc.settings.cors, &CORS_DEFAULTS);
    let mut router = Router::new()
        .merge(flows::routes())
        .merge(sessions::routes())
        .merge(settings::routes())
        .merge(verification::routes())
        .merge(recovery::routes())
        .merge(ui::routes());
    if svc.settings.dev {
        router = router.merge(mail::routes());
    }
    let router = router
        .route("/self-service/errors", get(get_error))
        .route("/schemas", get(list_schemas))
        .route("/schemas/{id}", get(get_schema))
        .route("/health/alive", get(health::alive))
        .route("/health/ready", get(ready))
        .route("/version", get(health::version))
        .fallback(gatehouse_core::error::not_found)
        .method_not_allowed_fallback(gatehouse_core::error::method_not_allowed)
        .layer(no_cache())
        .with_state(svc);
    match cors {
        Some(layer) => router.layer(layer),
        None => router,
    }
}

/// The admin router (port 4434). Every admin route answers with and without `/admin`.
pub fn admin_router(svc: SharedService) -> Router {
    let admin = admin::routes()
        .merge(courier::routes())
        .merge(recovery::admin_routes())
        .route("/health/alive", get(health::alive))
        .route("/health/ready", get(ready))
        .route("/version", get(health::version))
        .route("/schemas", get(list_schemas))
        .route("/schemas/{id}", get(get_schema));
    Router::new()
        .nest("/admin", admin.clone())
        .merge(admin)
        .fallback(gatehouse_core::error::not_found)
        .method_not_allowed_fallback(gatehouse_core::error::method_not_allowed)
        .layer(no_cache())
        .with_state(svc)
}

fn no_cache() -> SetResponseHeaderLayer<HeaderValue> {
    SetResponseHeaderLayer::if_not_present(
        header::CACHE_CONTROL,
        HeaderValue::from_static("private, no-cache, no-store, must-revalidate"),
    )
}

async fn ready(State(svc): State<SharedService>) -> Response {
    match svc.store.db.ping().await {
        Ok(()) => health::ready(Vec::new()),
        Err(e) => health::ready(vec![("database", e.to_string())]),
    }
}

async fn list_schemas(State(svc): State<SharedService>) -> Response {
    let items: Vec<Value> = svc
        .schemas
        .all()
        .map(|s| json!({"id": s.id, "schema": s.raw}))
        .collect();
    axum::Json(items).into_response()
}

async fn get_schema(State(svc): State<SharedService>, Path(id): Path<String>) -> Response {
    // Kratos addresses schemas by base64url of their id; accept the plain id too.
    let decoded =
        gatehouse_core::token::b64_url_decode(&id).and_then(|b| String::from_utf8(b).ok());
    let schema = decoded
        .as_deref()
        .and_then(|d| svc.schemas.get(d))
        .or_else(|| svc.schemas.get(&id));
    match schema {
        Some(s) => axum::Json(s.raw.clone()).into_response(),
        None => ApiError::not_found("The requested resource could not be found").into_response(),
    }
}

/// `GET /self-service/errors?id=`: an error a browser was redirected to the error UI with.
async fn get_error(
    State(svc): State<SharedService>,
    Query(q): Query<HashMap<String, String>>,
) -> Response {
    let result: Result<Response, ApiError> = async {
        let raw = q
            .get("id")
            .or_else(|| q.get("error"))
            .ok_or_else(|| ApiError::bad_request("The id query parameter is missing."))?;
        if raw == "stub:500" {
            let err =
                ApiError::new(StatusCode::INTERNAL_SERVER_ERROR).reason("This is a stub error.");
            return Ok(axum::Json(json!({"id": raw, "error": err.body})).into_response());
        }
        let id = uuid::Uuid::parse_str(raw)
            .map_err(|_| ApiError::not_found("The error could not be found."))?;
        let (body, created) = svc
            .store
            .get_error(id)
            .await?
            .ok_or_else(|| ApiError::not_found("The error could not be found."))?;
        let at = gatehouse_core::clock::rfc3339(gatehouse_core::clock::from_micros(created));
        Ok(
            axum::Json(json!({"id": id, "error": body, "created_at": at, "updated_at": at}))
                .into_response(),
        )
    }
    .await;
    result.unwrap_or_else(IntoResponse::into_response)
}
