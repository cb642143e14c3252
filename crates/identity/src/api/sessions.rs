//! Sessions seen by their owner: `/sessions/whoami`, the list of one's other sessions and
//! revoking them; and logout, browser and API.

use super::request::{cookie, read_body, session_token, wants_json};
use super::respond::{self, error_for, json_with, see_other};
use crate::identity::Identity;
use crate::service::{Service, SharedService};
use crate::session::Session;
use crate::store::SessionFilter;
use axum::Router;
use axum::body::Body;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, HeaderValue, Request, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{any, delete, get};
use gatehouse_core::ApiError;
use gatehouse_core::pagination::{PageRequest, link_header};
use serde::Deserialize;
use serde_json::{Value, json};
use std::collections::HashMap;

/// Kratos's 401 for a request without a usable session; it carries no error id.
pub fn no_session() -> ApiError {
    ApiError::unauthorized("No valid session credentials found in the request.")
}

/// The caller's valid session and identity, or 401.
pub async fn require_session(
    svc: &Service,
    headers: &HeaderMap,
) -> Result<(Session, Identity), ApiError> {
    let token =
        session_token(headers, &svc.settings.cookies.session_name).ok_or_else(no_session)?;
    svc.session_for_token(&token).await?.ok_or_else(no_session)
}

async fn whoami(State(svc): State<SharedService>, headers: HeaderMap) -> Response {
    let token = session_token(&headers, &svc.settings.cookies.session_name);
    match svc.whoami(token.as_deref().unwrap_or("")).await {
        Ok(Some(answer)) => {
            let mut res = Response::new(Body::from(answer.body.clone()));
            let h = res.headers_mut();
            h.insert(
                axum::http::header::CONTENT_TYPE,
                HeaderValue::from_static("application/json"),
            );
            if let Ok(v) = HeaderValue::from_str(&answer.identity_id.to_string()) {
                h.insert("x-kratos-authenticated-identity-id", v);
            }
            res
        }
        Ok(None) => no_session().into_response(),
        Err(e) => e.into_response(),
    }
}

async fn list_mine(
    State(svc): State<SharedService>,
    headers: HeaderMap,
    Query(q): Query<HashMap<String, String>>,
) -> Response {
    let result: Result<Response, ApiError> = async {
        let (session, identity) = require_session(&svc, &headers).await?;
        let page = PageRequest::parse(
            q.get("page_size").map(String::as_str),
            q.get("page_token").map(String::as_str),
            250,
            1000,
        )?;
        let filter = SessionFilter {
            identity_id: Some(identity.id),
            active: Some(true),
            except: Some(session.id),
        };
        list_response(&svc, &filter, &page, "/sessions", false).await
    }
    .await;
    result.unwrap_or_else(IntoResponse::into_response)
}

/// A page of sessions with the `Link` header; `expand_identity` adds each identity.
pub async fn list_response(
    svc: &Service,
    filter: &SessionFilter,
    page: &PageRequest,
    path: &str,
    expand_identity: bool,
) -> Result<Response, ApiError> {
    let mut sessions = svc
        .store
        .list_sessions(filter, page.after.as_deref(), page.size + 1)
        .await?;
    let next = (sessions.len() > page.size as usize).then(|| {
        sessions.truncate(page.size as usize);
        sessions.last().map(|s| s.id.to_string())
    });
    let mut items = Vec::with_capacity(sessions.len());
    for s in &sessions {
        let identity = if expand_identity {
            svc.store.get_identity(s.identity_id).await?
        } else {
            None
        };
        items.push(svc.session_json(s, identity.as_ref()));
    }
    let mut res = json_with(StatusCode::OK, Value::Array(items), &[]);
    if let Ok(v) = HeaderValue::from_str(&link_header(path, page.size, next.flatten().as_deref())) {
        res.headers_mut().insert("link", v);
    }
    Ok(res)
}

async fn revoke_others(State(svc): State<SharedService>, headers: HeaderMap) -> Response {
    let result: Result<Response, ApiError> = async {
        let (session, identity) = require_session(&svc, &headers).await?;
        let count = svc
            .store
            .revoke_identity_sessions(identity.id, Some(session.id), svc.clock.now())
            .await?;
        Ok(json_with(StatusCode::OK, json!({"count": count}), &[]))
    }
    .await;
    result.unwrap_or_else(IntoResponse::into_response)
}

async fn revoke_one(
    State(svc): State<SharedService>,
    headers: HeaderMap,
    Path(id): Path<String>,
) -> Response {
    let result: Result<Response, ApiError> = async {
        let (session, identity) = require_session(&svc, &headers).await?;
        let id = uuid::Uuid::parse_str(&id).map_err(|_| ApiError::bad_request("The session id is not a UUID."))?;
        if id == session.id {
            return Err(ApiError::bad_request("You tried to revoke the session you are currently using. Use the logout flow instead."));
        }
        match svc.store.get_session(id).await? {
            Some(s) if s.identity_id == identity.id => {
                svc.store.revoke_session(id, svc.clock.now()).await?;
                Ok(StatusCode::NO_CONTENT.into_response())
            }
            _ => Err(ApiError::not_found("The session could not be found.")),
        }
    }
    .await;
    result.unwrap_or_else(IntoResponse::into_response)
}

#[derive(Deserialize, Default)]
struct LogoutQuery {
    token: Option<String>,
    return_to: Option<String>,
}

/// `GET /self-service/logout/browser`: the logout URL for the current browser session.
async fn logout_browser(
    State(svc): State<SharedService>,
    headers: HeaderMap,
    q: Result<Query<LogoutQuery>, axum::extract::rejection::QueryRejection>,
) -> Response {
    let result: Result<Response, ApiError> = async {
        let q = super::flows::query(q)?;
        let token = cookie(&headers, &svc.settings.cookies.session_name)
            .ok_or_else(|| no_session().id("session_inactive"))?;
        let (session, _) = svc
            .session_for_token(&token)
            .await?
            .ok_or_else(|| no_session().id("session_inactive"))?;
        let return_to = match q.return_to.filter(|r| !r.is_empty()) {
            Some(r) if svc.settings.return_to_allowed(&r) => Some(r),
            Some(_) => {
                return Err(
                    ApiError::bad_request("Requested return_to URL is not allowed.")
                        .id("self_service_flow_return_to_forbidden"),
                );
            }
            None => None,
        };
        let logout_token = svc.logout_token(session.id);
        let mut url = svc
            .settings
            .public_url(&format!("self-service/logout?token={logout_token}"));
        if let Some(r) = return_to {
            url.push_str("&return_to=");
            url.push_str(&url::form_urlencoded::byte_serialize(r.as_bytes()).collect::<String>());
        }
        Ok(json_with(
            StatusCode::OK,
            json!({"logout_url": url, "logout_token": logout_token}),
            &[],
        ))
    }
    .await;
    result.unwrap_or_else(IntoResponse::into_response)
}

/// `GET /self-service/logout?token=`: ends the browser session and clears its cookie.
async fn logout(
    State(svc): State<SharedService>,
    headers: HeaderMap,
    q: Result<Query<LogoutQuery>, axum::extract::rejection::QueryRejection>,
) -> Response {
    let json_client = wants_json(&headers);
    let result: Result<Response, ApiError> = async {
        let q = super::flows::query(q)?;
        let token = q.token.filter(|t| !t.is_empty()).ok_or_else(|| ApiError::bad_request("Please include a token in the URL query."))?;
        let return_to = match q.return_to.filter(|r| !r.is_empty()) {
            Some(r) if svc.settings.return_to_allowed(&r) => Some(r),
            Some(_) => return Err(ApiError::bad_request("Requested return_to URL is not allowed.").id("self_service_flow_return_to_forbidden")),
            None => None,
        };
        let session_token = cookie(&headers, &svc.settings.cookies.session_name).ok_or_else(|| no_session().id("session_inactive"))?;
        let (session, _) = svc.session_for_token(&session_token).await?.ok_or_else(|| no_session().id("session_inactive"))?;
        if !svc.logout_token_valid(session.id, &token) {
            return Err(ApiError::forbidden("Unable to log out because the logout token in the URL query does not match the session cookie."));
        }
        svc.store.revoke_session(session.id, svc.clock.now()).await?;
        let s = &svc.settings;
        let cookies = [
            respond::cookie(s, &s.cookies.session_name, "", Some(0)),
            respond::csrf_cookie(s, &crate::flow::csrf::new_token()),
        ];
        if json_client {
            let mut res = StatusCode::NO_CONTENT.into_response();
            for c in &cookies {
                if let Ok(v) = HeaderValue::from_str(c) {
                    res.headers_mut().append(axum::http::header::SET_COOKIE, v);
                }
            }
            return Ok(res);
        }
        let to = return_to.or_else(|| s.logout_return_url.clone()).unwrap_or_else(|| s.default_return_url.clone());
        Ok(see_other(&to, &cookies))
    }
    .await;
    match result {
        Ok(r) => r,
        Err(e) => error_for(&svc, json_client, e).await,
    }
}

/// `DELETE /self-service/logout/api` with `{"session_token": ...}`.
async fn logout_api(State(svc): State<SharedService>, req: Request<Body>) -> Response {
    let result: Result<Response, ApiError> = async {
        let body = read_body(req).await?;
        let token = body
            .get("session_token")
            .and_then(Value::as_str)
            .filter(|t| !t.is_empty())
            .ok_or_else(|| ApiError::bad_request("session_token is required."))?;
        let (session, _) = svc.session_for_token(token).await?.ok_or_else(|| {
            ApiError::forbidden("The provided session token is not valid.").id("session_inactive")
        })?;
        svc.store
            .revoke_session(session.id, svc.clock.now())
            .await?;
        Ok(StatusCode::NO_CONTENT.into_response())
    }
    .await;
    result.unwrap_or_else(IntoResponse::into_response)
}

pub fn routes() -> Router<SharedService> {
    Router::new()
        .route("/sessions/whoami", any(whoami))
        .route("/sessions", get(list_mine).delete(revoke_others))
        .route("/sessions/{id}", delete(revoke_one))
        .route("/self-service/logout/browser", get(logout_browser))
        .route("/self-service/logout", get(logout))
        .route("/self-service/logout/api", delete(logout_api))
}
