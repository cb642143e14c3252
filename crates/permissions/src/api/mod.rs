//! Keto's REST API on three ports: read (list, check, expand, namespaces), write
//! (`/admin/relation-tuples`) and OPL (syntax check). The read port cannot write.

pub mod metrics;
mod opl;
mod read;
mod write;

use crate::SharedPermissions;
use axum::routing::get;

/// Health and version on every port, and Ory's envelope for paths and methods a port does
/// not serve.
fn common(router: axum::Router<SharedPermissions>) -> axum::Router<SharedPermissions> {
    router
        .route("/health/alive", get(gatehouse_core::health::alive))
        .route("/health/ready", get(ready))
        .route("/version", get(gatehouse_core::health::version))
        .fallback(gatehouse_core::error::not_found)
        .method_not_allowed_fallback(gatehouse_core::error::method_not_allowed)
}

async fn ready(
    axum::extract::State(p): axum::extract::State<SharedPermissions>,
) -> axum::response::Response {
    let mut failures = Vec::new();
    if let Err(e) = p.store.db.ping().await {
        failures.push(("database", e.to_string()));
    }
    gatehouse_core::health::ready(failures)
}

pub fn read_router(p: SharedPermissions) -> axum::Router {
    let cors = &p.config.serve.read.cors;
    with_cors(
        counted(common(read::routes()).with_state(p.clone()), "read", &p),
        cors,
    )
}

pub fn write_router(p: SharedPermissions) -> axum::Router {
    let cors = &p.config.serve.write.cors;
    with_cors(
        counted(common(write::routes()).with_state(p.clone()), "write", &p),
        cors,
    )
}

pub fn opl_router(p: SharedPermissions) -> axum::Router {
    let cors = &p.config.serve.opl.cors;
    with_cors(
        counted(common(opl::routes()).with_state(p.clone()), "opl", &p),
        cors,
    )
}

/// The metrics port: `/metrics/prometheus` plus health and version.
pub fn metrics_router(p: SharedPermissions) -> axum::Router {
    let m = p.metrics.clone();
    let cors = p.config.serve.metrics.cors.clone();
    let router = common(axum::Router::new()).with_state(p).merge(
        axum::Router::new()
            .route("/metrics/prometheus", get(metrics::render))
            .with_state(m),
    );
    with_cors(router, &cors)
}

/// Keto's defaults for a listener's `cors` block: its config schema's, which its config
/// loader applies before the code's own (so credentials stay off unless asked for).
const CORS_DEFAULTS: gatehouse_core::cors::Defaults = gatehouse_core::cors::Defaults {
    methods: &["GET", "POST", "PUT", "PATCH", "DELETE"],
    headers: &["Authorization", "Content-Type"],
    exposed: &["Content-Type"],
    credentials: false,
};

/// The listener's CORS layer, outermost so that a preflight is answered before routing.
fn with_cors(router: axum::Router, cors: &gatehouse_core::cors::Cors) -> axum::Router {
    match gatehouse_core::cors::layer(cors, &CORS_DEFAULTS) {
        Some(layer) => router.layer(layer),
        None => router,
    }
}

fn counted(router: axum::Router, api: &'static str, p: &SharedPermissions) -> axum::Router {
    let counter = metrics::Counter {
        api,
        metrics: p.metrics.clone(),
    };
    router.layer(axum::middleware::from_fn_with_state(
        counter,
        metrics::count,
    ))
}

/// Request bodies are read up to this size.
const MAX_BODY: usize = 4 << 20;

/// A request body of at most [`MAX_BODY`] bytes; a larger one is a 413 in Ory's envelope
/// (axum's own limit would answer in plain text).
pub(crate) struct Body(pub axum::body::Bytes);

impl<S: Send + Sync> axum::extract::FromRequest<S> for Body {
    type Rejection = gatehouse_core::ApiError;

    async fn from_request(req: axum::extract::Request, _: &S) -> Result<Self, Self::Rejection> {
        axum::body::to_bytes(req.into_body(), MAX_BODY)
            .await
            .map(Body)
            .map_err(|_| {
                gatehouse_core::ApiError::new(axum::http::StatusCode::PAYLOAD_TOO_LARGE)
                    .reason(format!("The request body exceeds {MAX_BODY} bytes."))
            })
    }
}

/// A query string's parameters (see [`Params`]); a value with a NUL character is a 400.
pub(crate) fn params(
    q: Option<&str>,
) -> Result<crate::tuple::Params<'_>, gatehouse_core::ApiError> {
    crate::tuple::Params::parse(q.unwrap_or(""))
        .nul_free()
        .map_err(|e| gatehouse_core::ApiError::bad_request(e.0))
}
