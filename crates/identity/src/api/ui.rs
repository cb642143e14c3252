//! The built-in UI's routes on the public port: `/ui/login`, `/ui/registration`,
//! `/ui/welcome`, `/ui/error`. Pages fetch flows in-process and render them with
//! `gatehouse_ui`; without `?flow=` they start a new browser flow.

use super::request::{cookie, session_token};
use super::respond::see_other;
use crate::flow::{Flow, FlowKind, FlowType, csrf};
use crate::service::SharedService;
use axum::Router;
use axum::extract::{Query, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{Html, IntoResponse, Response};
use axum::routing::get;
use serde_json::json;
use std::collections::HashMap;

fn html(status: StatusCode, body: String) -> Response {
    let mut res = (status, Html(body)).into_response();
    // Pages load nothing from elsewhere and are never framed.
    res.headers_mut().insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static("default-src 'none'; style-src 'unsafe-inline'; img-src 'self' data: https:; form-action 'self'; frame-ancestors 'none'"),
    );
    res.headers_mut()
        .insert("x-frame-options", HeaderValue::from_static("DENY"));
    res
}

async fn flow_page(
    svc: SharedService,
    kind: FlowKind,
    headers: HeaderMap,
    q: HashMap<String, String>,
) -> Response {
    let init = svc
        .settings
        .public_url(&format!("self-service/{}/browser", kind.as_str()));
    let Some(id) = q.get("flow").and_then(|f| uuid::Uuid::parse_str(f).ok()) else {
        let mut to = init;
        if let Some(r) = q.get("return_to") {
            to.push_str("?return_to=");
            to.push_str(&url::form_urlencoded::byte_serialize(r.as_bytes()).collect::<String>());
        }
        return see_other(&to, &[]);
    };
    let flow = match svc.store.get_flow(id).await {
        Ok(Some((k, body))) => Flow::from_stored(&k, body).filter(|f| f.kind == Some(kind)),
        Ok(None) => None,
        Err(e) => return super::respond::error_for(&svc, false, e.into()).await,
    };
    let csrf_ok = |f: &Flow| {
        f.flow_type == FlowType::Api
            || cookie(&headers, &svc.settings.cookies.csrf_name).is_some_and(|c| {
                gatehouse_core::token::constant_time_eq(
                    c.as_bytes(),
                    f.internal.csrf_token.as_bytes(),
                )
            })
    };
    // A missing, foreign or expired flow simply starts over.
    let Some(mut flow) = flow.filter(|f| !f.is_expired(svc.clock.now()) && csrf_ok(f)) else {
        return see_other(&init, &[]);
    };
    // A settings flow shows one person's data: only to that person.
    if kind == FlowKind::Settings && !owns(&svc, &headers, &flow).await {
        return see_other(&init, &[]);
    }
    if flow.flow_type == FlowType::Browser {
        let masked = csrf::mask(&flow.internal.csrf_token);
        flow.ui.set_value("csrf_token", json!(masked));
    }
    html(
        StatusCode::OK,
        gatehouse_ui::flow_page(kind.as_str(), &flow.to_wire(), &svc.branding),
    )
}

async fn owns(svc: &SharedService, headers: &HeaderMap, flow: &Flow) -> bool {
    let Some(token) = session_token(headers, &svc.settings.cookies.session_name) else {
        return false;
    };
    matches!(
        svc.session_for_token(&token).await,
        Ok(Some((_, identity))) if flow.internal.identity_id == Some(identity.id)
    )
}

async fn settings(
    State(svc): State<SharedService>,
    headers: HeaderMap,
    Query(q): Query<HashMap<String, String>>,
) -> Response {
    flow_page(svc, FlowKind::Settings, headers, q).await
}

async fn verification(
    State(svc): State<SharedService>,
    headers: HeaderMap,
    Query(q): Query<HashMap<String, String>>,
) -> Response {
    flow_page(svc, FlowKind::Verification, headers, q).await
}

async fn recovery(
    State(svc): State<SharedService>,
    headers: HeaderMap,
    Query(q): Query<HashMap<String, String>>,
) -> Response {
    flow_page(svc, FlowKind::Recovery, headers, q).await
}

async fn login(
    State(svc): State<SharedService>,
    headers: HeaderMap,
    Query(q): Query<HashMap<String, String>>,
) -> Response {
    flow_page(svc, FlowKind::Login, headers, q).await
}

async fn registration(
    State(svc): State<SharedService>,
    headers: HeaderMap,
    Query(q): Query<HashMap<String, String>>,
) -> Response {
    flow_page(svc, FlowKind::Registration, headers, q).await
}

async fn welcome(State(svc): State<SharedService>, headers: HeaderMap) -> Response {
    let token = session_token(&headers, &svc.settings.cookies.session_name);
    let found = match token {
        Some(t) => svc.session_for_token(&t).await.ok().flatten(),
        None => None,
    };
    match found {
        Some((session, identity)) => {
            let logout = svc.settings.public_url(&format!(
                "self-service/logout?token={}",
                svc.logout_token(session.id)
            ));
            html(
                StatusCode::OK,
                gatehouse_ui::welcome_page(
                    &svc.session_json(&session, Some(&identity)),
                    &logout,
                    svc.settings.verification.enabled,
                    &svc.branding,
                ),
            )
        }
        None => html(StatusCode::OK, gatehouse_ui::signed_out_page(&svc.branding)),
    }
}

async fn error(
    State(svc): State<SharedService>,
    Query(q): Query<HashMap<String, String>>,
) -> Response {
    let stored = match q.get("id").and_then(|i| uuid::Uuid::parse_str(i).ok()) {
        Some(id) => svc.store.get_error(id).await.ok().flatten(),
        None => None,
    };
    let body = match stored {
        Some((err, _)) => json!({"error": err}),
        None => {
            json!({"error": {"code": 404, "status": "Not Found", "message": "This error report could not be found. It may have expired."}})
        }
    };
    html(
        StatusCode::OK,
        gatehouse_ui::error_page(&body, &svc.branding),
    )
}

pub fn routes() -> Router<SharedService> {
    Router::new()
        .route("/ui/login", get(login))
        .route("/ui/registration", get(registration))
        .route("/ui/settings", get(settings))
        .route("/ui/verification", get(verification))
        .route("/ui/recovery", get(recovery))
        .route("/ui/welcome", get(welcome))
        .route("/ui/error", get(error))
        .route("/ui", get(|| async { see_other("/ui/welcome", &[]) }))
        .route("/", get(|| async { see_other("/ui/welcome", &[]) }))
}
