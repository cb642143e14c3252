//! The api port: decisions, the loaded rules, health and version.

use crate::SharedProxy;
use crate::decision::decisions_handler;
use crate::pipeline::{Denied, errors};
use axum::Json;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{any, get};
use serde::Deserialize;
use serde_json::json;

pub fn router(px: SharedProxy) -> axum::Router {
    axum::Router::new()
        .route("/decisions", any(decisions_handler))
        .route("/decisions/", any(decisions_handler))
        .route("/decisions/{*rest}", any(decisions_handler))
        .route("/rules", get(list_rules))
        .route("/rules/{id}", get(get_rule))
        .route(
            "/health/alive",
            get(|| async { Json(json!({"status": "ok"})) }),
        )
        .route("/health/ready", get(ready))
        .route(
            "/version",
            get(|| async { Json(json!({"version": gatehouse_core::VERSION})) }),
        )
        .route("/.well-known/jwks.json", get(jwks))
        .with_state(px)
}

#[derive(Deserialize)]
struct Page {
    limit: Option<String>,
    offset: Option<String>,
}

/// `GET /rules?limit=&offset=` (limit at most 500, as in Oathkeeper).
async fn list_rules(State(px): State<SharedProxy>, Query(q): Query<Page>) -> Response {
    let (limit, offset) = match (
        number(q.limit.as_deref(), 50),
        number(q.offset.as_deref(), 0),
    ) {
        (Some(l), Some(o)) => (l.min(500), o),
        _ => {
            let d = Denied::new(
                StatusCode::BAD_REQUEST,
                "limit and offset must be non-negative integers",
            );
            return errors::json_response(&d, true);
        }
    };
    let set = px.rules.current();
    let page: Vec<_> = set
        .rules()
        .iter()
        .skip(offset)
        .take(limit)
        .map(|r| r.as_ref().clone())
        .collect();
    Json(page).into_response()
}

fn number(v: Option<&str>, default: usize) -> Option<usize> {
    match v.filter(|v| !v.is_empty()) {
        None => Some(default),
        Some(v) => v.parse().ok(),
    }
}

async fn get_rule(State(px): State<SharedProxy>, Path(id): Path<String>) -> Response {
    match px.rules.current().get(&id) {
        Some(r) => Json(r.as_ref().clone()).into_response(),
        None => errors::json_response(
            &Denied::new(
                StatusCode::NOT_FOUND,
                "The requested resource could not be found",
            ),
            true,
        ),
    }
}

async fn ready(State(px): State<SharedProxy>) -> Response {
    if px.rules.current().is_empty() {
        return (
            StatusCode::SERVICE_UNAVAILABLE,
            Json(json!({"errors": {"rules_loaded": "no access rules are loaded"}})),
        )
            .into_response();
    }
    Json(json!({"status": "ok"})).into_response()
}

/// The public keys of every id_token `jwks_url` (global config and rules), so upstreams
/// can verify the tokens the proxy signs. Symmetric keys are never published.
async fn jwks(State(px): State<SharedProxy>) -> Response {
    let urls = crate::pipeline::id_token::jwks_urls(&px.config, &px.rules.current());
    match px.jwks.sets(&urls).await {
        Ok(sets) => {
            let keys: Vec<_> = sets
                .iter()
                .flat_map(|set| set.iter().filter_map(crate::credentials::public))
                .collect();
            Json(json!({ "keys": keys })).into_response()
        }
        Err(e) => errors::json_response(&Denied::internal(e), true),
    }
}
