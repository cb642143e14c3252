//! The settings flow's endpoints: `/self-service/settings/{browser,api,flows}` and
//! `POST /self-service/settings`. Every call needs the session of the identity the flow
//! belongs to; a change that needs a fresh sign-in sends the user to a refreshing login.

use super::flows::{
    FlowIdQuery, InitQuery, before_hooks, check_return_to, check_submission, csrf_node,
    csrf_violation, expired_error, flow_id, load, query, save, settings_for, wire,
};
use super::request::{self, cookie, read_body, session_token, wants_json};
use super::respond::{csrf_cookie, error_for, json_with, see_other, with_flow};
use crate::flow::settings::{self, SettingsFailure};
use crate::flow::ui::UiText;
use crate::flow::{Flow, FlowKind, FlowType, csrf};
use crate::hook::{self, RequestContext};
use crate::identity::Identity;
use crate::service::{Service, SharedService};
use crate::session::Session;
use axum::body::Body;
use axum::extract::{Query, State};
use axum::http::{HeaderMap, Request, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use gatehouse_core::ApiError;
use serde_json::{Value, json};

fn session_inactive() -> ApiError {
    ApiError::unauthorized("No active session was found in this request.").id("session_inactive")
}

/// The caller's session and their identity with its credentials, or 401.
async fn signed_in(svc: &Service, headers: &HeaderMap) -> Result<(Session, Identity), ApiError> {
    let token =
        session_token(headers, &svc.settings.cookies.session_name).ok_or_else(session_inactive)?;
    let (session, _) = svc
        .session_for_token(&token)
        .await?
        .ok_or_else(session_inactive)?;
    let identity = svc
        .store
        .get_identity(session.identity_id)
        .await?
        .ok_or_else(session_inactive)?;
    Ok((session, identity))
}

fn identity_mismatch() -> ApiError {
    ApiError::forbidden(
        "The request was made for another identity and has been blocked for security reasons.",
    )
    .id("security_identity_mismatch")
}

/// Where a browser signs in again before a privileged change, then comes back to the flow.
fn reauth_url(svc: &Service, flow: &Flow) -> String {
    let back = with_flow(&settings_for(svc, FlowKind::Settings).ui_url, flow.id);
    let back: String = url::form_urlencoded::byte_serialize(back.as_bytes()).collect();
    svc.settings.public_url(&format!(
        "self-service/login/browser?refresh=true&return_to={back}"
    ))
}

fn needs_reauth(svc: &Service, flow: &Flow) -> ApiError {
    ApiError::forbidden("The login session is too old and thus not allowed to update these fields. Please re-authenticate.")
        .id("session_refresh_required")
        .with("redirect_browser_to", json!(reauth_url(svc, flow)))
}

/// `GET /self-service/settings/browser`.
async fn init_browser(svc: SharedService, headers: HeaderMap, uri: Uri, q: InitQuery) -> Response {
    let json_client = wants_json(&headers);
    let result: Result<Response, ApiError> = async {
        let return_to = check_return_to(&svc, q.return_to.as_deref())?;
        let (_, identity) = match signed_in(&svc, &headers).await {
            Ok(found) => found,
            Err(e) if json_client => return Err(e),
            Err(_) => {
                let back: String = url::form_urlencoded::byte_serialize(
                    svc.settings.settings_flow.ui_url.as_bytes(),
                )
                .collect();
                let login = &svc.settings.login.ui_url;
                let sep = if login.contains('?') { '&' } else { '?' };
                return Ok(see_other(&format!("{login}{sep}return_to={back}"), &[]));
            }
        };
        let request_url = request::request_url(&svc.settings.public_base_url, &uri);
        let hook_req = RequestContext::new("GET", request_url.clone(), &headers);
        let mut flow = settings::new_flow(&svc, FlowType::Browser, request_url, &identity);
        flow.return_to = return_to;
        before_hooks(&svc, &flow, &hook_req).await?;
        let existing =
            cookie(&headers, &svc.settings.cookies.csrf_name).filter(|c| csrf::is_well_formed(c));
        let raw = existing.clone().unwrap_or_else(csrf::new_token);
        flow.internal.csrf_token = raw.clone();
        flow.ui.nodes.insert(0, csrf_node(&raw));
        save(&svc, &flow).await?;
        let cookies = if existing.is_some() {
            Vec::new()
        } else {
            vec![csrf_cookie(&svc.settings, &raw)]
        };
        if json_client {
            return Ok(json_with(StatusCode::OK, wire(&flow), &cookies));
        }
        Ok(see_other(
            &with_flow(&svc.settings.settings_flow.ui_url, flow.id),
            &cookies,
        ))
    }
    .await;
    match result {
        Ok(res) => res,
        Err(e) => error_for(&svc, json_client, e).await,
    }
}

/// `GET /self-service/settings/api` (session token required).
async fn init_api(svc: SharedService, headers: HeaderMap, uri: Uri, q: InitQuery) -> Response {
    let result: Result<Response, ApiError> = async {
        let return_to = check_return_to(&svc, q.return_to.as_deref())?;
        let (_, identity) = signed_in(&svc, &headers).await?;
        let request_url = request::request_url(&svc.settings.public_base_url, &uri);
        let hook_req = RequestContext::new("GET", request_url.clone(), &headers);
        let mut flow = settings::new_flow(&svc, FlowType::Api, request_url, &identity);
        flow.return_to = return_to;
        before_hooks(&svc, &flow, &hook_req).await?;
        save(&svc, &flow).await?;
        Ok(json_with(StatusCode::OK, wire(&flow), &[]))
    }
    .await;
    result.unwrap_or_else(IntoResponse::into_response)
}

/// `GET /self-service/settings/flows?id=`: only for the identity the flow belongs to.
async fn get_flow(svc: SharedService, headers: HeaderMap, q: FlowIdQuery) -> Response {
    let result: Result<Response, ApiError> = async {
        let flow = load(&svc, FlowKind::Settings, flow_id(q.id.as_deref())?).await?;
        let (_, identity) = signed_in(&svc, &headers).await?;
        if flow.internal.identity_id != Some(identity.id) {
            return Err(identity_mismatch());
        }
        if flow.flow_type == FlowType::Browser {
            let cookie_raw = cookie(&headers, &svc.settings.cookies.csrf_name).unwrap_or_default();
            if !gatehouse_core::token::constant_time_eq(
                cookie_raw.as_bytes(),
                flow.internal.csrf_token.as_bytes(),
            ) {
                return Err(csrf_violation(
                    "The anti-CSRF cookie does not match the flow.",
                ));
            }
        }
        if flow.is_expired(svc.clock.now()) {
            return Err(expired_error(&svc, &flow));
        }
        Ok(json_with(StatusCode::OK, wire(&flow), &[]))
    }
    .await;
    result.unwrap_or_else(IntoResponse::into_response)
}

/// `POST /self-service/settings?flow=`.
async fn submit(svc: SharedService, q: FlowIdQuery, req: Request<Body>) -> Response {
    let headers = req.headers().clone();
    let mut json_client = wants_json(&headers);
    let request_url = request::request_url(&svc.settings.public_base_url, req.uri());
    let hook_req = RequestContext::new(req.method().as_str(), request_url, &headers);
    let result = submit_inner(&svc, q, &headers, &hook_req, req, &mut json_client).await;
    match result {
        Ok(res) => res,
        Err(e) => error_for(&svc, json_client, e).await,
    }
}

async fn submit_inner(
    svc: &Service,
    q: FlowIdQuery,
    headers: &HeaderMap,
    hook_req: &RequestContext,
    req: Request<Body>,
    json_client: &mut bool,
) -> Result<Response, ApiError> {
    let mut flow = load(svc, FlowKind::Settings, flow_id(q.flow.as_deref())?).await?;
    *json_client |= flow.flow_type == FlowType::Api;
    let json_client = *json_client;
    let body = read_body(req).await?;
    let (session, identity) = signed_in(svc, headers).await?;
    if flow.internal.identity_id != Some(identity.id) {
        return Err(identity_mismatch());
    }
    check_submission(svc, &flow, headers, &body)?;
    if flow.is_expired(svc.clock.now()) {
        return expired(svc, &flow, &identity, json_client).await;
    }
    flow.ui.clear_messages();
    let known: Vec<uuid::Uuid> = identity.verifiable_addresses.iter().map(|a| a.id).collect();
    let privileged = settings::is_privileged(svc, &session);
    let method = body.get("method").and_then(Value::as_str).unwrap_or("");
    let outcome = match method {
        "profile" => settings::prepare_profile(svc, &mut flow, identity, &body, privileged).await,
        "password" if svc.settings.password.enabled => {
            settings::prepare_password(svc, &mut flow, identity, &body, privileged).await
        }
        _ => {
            flow.ui.messages.push(UiText::error(
                4010004,
                "Could not find a strategy to update your settings. Did you fill out the form correctly?",
            ));
            Err(SettingsFailure::Rejected)
        }
    };
    let outcome = match outcome {
        Ok(prepared) => save_with_hooks(svc, &mut flow, &session, prepared, method, hook_req).await,
        Err(e) => Err(e),
    };
    match outcome {
        Ok(updated) => {
            let fresh: Vec<String> = updated
                .verifiable_addresses
                .iter()
                .filter(|a| a.via == "email" && !a.verified && !known.contains(&a.id))
                .map(|a| a.value.clone())
                .collect();
            let change = Change {
                session: &session,
                identity: &updated,
                method,
                fresh: &fresh,
            };
            saved(svc, &mut flow, &change, json_client).await
        }
        Err(SettingsFailure::Rejected) => rejected(svc, &flow, json_client).await,
        Err(SettingsFailure::NeedsReauth) => {
            save(svc, &flow).await?;
            if flow.flow_type == FlowType::Browser && !json_client {
                return Ok(see_other(&reauth_url(svc, &flow), &[]));
            }
            Err(needs_reauth(svc, &flow))
        }
        Err(SettingsFailure::Error(e)) => Err(e),
    }
}

/// Saves a prepared change between the method's `after` web hooks, as Kratos runs them:
/// hooks that parse answers (`response.parse`) see the identity about to be saved and may
/// refuse or amend it; the others hear about it once saved.
async fn save_with_hooks(
    svc: &Service,
    flow: &mut Flow,
    session: &Session,
    mut identity: Identity,
    method: &str,
    hook_req: &RequestContext,
) -> Result<Identity, SettingsFailure> {
    let hooks = match method {
        "password" => &svc.hooks.settings_after_password,
        _ => &svc.hooks.settings_after_profile,
    };
    let (deciding, observing): (Vec<_>, Vec<_>) = hooks.iter().cloned().partition(|h| h.parse);
    let ctx = |flow: &Flow, identity: &Identity| {
        hook::context(
            &wire(flow),
            Some(&super::flows::hook_identity(svc, identity)),
            Some(&svc.session_json(session, Some(identity))),
            hook_req,
        )
    };
    if !deciding.is_empty() {
        let verdict = svc.run_hooks(&deciding, &ctx(flow, &identity)).await;
        if super::flows::interrupted(flow, &verdict) {
            return Err(SettingsFailure::Rejected);
        }
        for fields in &verdict.amend {
            hook::amend(&mut identity, fields);
        }
    }
    let identity = settings::persist(svc, flow, identity).await?;
    if !observing.is_empty() {
        svc.run_hooks(&observing, &ctx(flow, &identity)).await;
    }
    Ok(identity)
}

/// A change that was saved: by whom, to what, with which method, and the e-mail
/// addresses it added (they get verified).
struct Change<'a> {
    session: &'a Session,
    identity: &'a Identity,
    method: &'a str,
    fresh: &'a [String],
}

async fn saved(
    svc: &Service,
    flow: &mut Flow,
    change: &Change<'_>,
    json_client: bool,
) -> Result<Response, ApiError> {
    let (identity, session) = (change.identity, change.session);
    let revokes = match change.method {
        "password" => svc.settings.settings_password_revokes_sessions,
        _ => svc.settings.settings_profile_revokes_sessions,
    };
    if revokes {
        svc.store
            .revoke_identity_sessions(identity.id, Some(session.id), svc.clock.now())
            .await?;
    }
    // Kratos verifies a new address at once when verification is on.
    let mut continue_with = Vec::new();
    if svc.settings.verification.enabled {
        for address in change.fresh {
            continue_with
                .push(super::flows::start_verification(svc, flow, identity, address).await?);
        }
    }
    settings::fill_nodes(svc, flow, identity);
    flow.state = "success".into();
    flow.ui.messages.push(settings::saved_message());
    save(svc, flow).await?;
    if flow.flow_type == FlowType::Browser && !json_client {
        let verify = continue_with
            .first()
            .filter(|_| svc.settings.settings_shows_verification_ui)
            .and_then(|c| c["flow"]["url"].as_str().map(str::to_string));
        let to = verify
            .or_else(|| flow.return_to.clone())
            .or_else(|| svc.settings.settings_flow.after_return_url.clone())
            .unwrap_or_else(|| with_flow(&svc.settings.settings_flow.ui_url, flow.id));
        return Ok(see_other(&to, &[]));
    }
    let mut body = wire(flow);
    if !continue_with.is_empty() {
        body["continue_with"] = json!(continue_with);
    }
    Ok(json_with(StatusCode::OK, body, &[]))
}

async fn rejected(svc: &Service, flow: &Flow, json_client: bool) -> Result<Response, ApiError> {
    save(svc, flow).await?;
    if flow.flow_type == FlowType::Browser && !json_client {
        return Ok(see_other(
            &with_flow(&svc.settings.settings_flow.ui_url, flow.id),
            &[],
        ));
    }
    Ok(json_with(StatusCode::BAD_REQUEST, wire(flow), &[]))
}

/// An expired flow: HTML browsers get a new one with the expiry message; others get 410.
async fn expired(
    svc: &Service,
    old: &Flow,
    identity: &Identity,
    json_client: bool,
) -> Result<Response, ApiError> {
    let mut flow = settings::new_flow(svc, old.flow_type, old.request_url.clone(), identity);
    flow.return_to = old.return_to.clone();
    if old.flow_type == FlowType::Browser {
        flow.internal.csrf_token = old.internal.csrf_token.clone();
        flow.ui.nodes.insert(0, csrf_node(&old.internal.csrf_token));
    }
    let now = svc.clock.now();
    flow.ui.messages.push(
        FlowKind::Settings.expired_message((now - old.expires_at).whole_minutes(), old.expires_at),
    );
    save(svc, &flow).await?;
    if old.flow_type == FlowType::Browser && !json_client {
        return Ok(see_other(
            &with_flow(&svc.settings.settings_flow.ui_url, flow.id),
            &[],
        ));
    }
    Err(expired_error(svc, old).with("use_flow_id", json!(flow.id)))
}

pub fn routes() -> axum::Router<SharedService> {
    use axum::routing::{get, post};
    axum::Router::new()
        .route(
            "/self-service/settings/browser",
            get(
                |State(s): State<SharedService>,
                 h: HeaderMap,
                 uri: Uri,
                 q: Result<Query<InitQuery>, _>| async move {
                    match query(q) {
                        Ok(q) => init_browser(s, h, uri, q).await,
                        Err(e) => e.into_response(),
                    }
                },
            ),
        )
        .route(
            "/self-service/settings/api",
            get(
                |State(s): State<SharedService>,
                 h: HeaderMap,
                 uri: Uri,
                 q: Result<Query<InitQuery>, _>| async move {
                    match query(q) {
                        Ok(q) => init_api(s, h, uri, q).await,
                        Err(e) => e.into_response(),
                    }
                },
            ),
        )
        .route(
            "/self-service/settings/flows",
            get(
                |State(s): State<SharedService>,
                 h: HeaderMap,
                 q: Result<Query<FlowIdQuery>, _>| async move {
                    match query(q) {
                        Ok(q) => get_flow(s, h, q).await,
                        Err(e) => e.into_response(),
                    }
                },
            ),
        )
        .route(
            "/self-service/settings",
            post(
                |State(s): State<SharedService>,
                 q: Result<Query<FlowIdQuery>, _>,
                 req: Request<Body>| async move {
                    match query(q) {
                        Ok(q) => submit(s, q, req).await,
                        Err(e) => e.into_response(),
                    }
                },
            ),
        )
}
