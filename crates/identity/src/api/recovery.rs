//! The recovery flow's endpoints: `/self-service/recovery/{browser,api,flows}` and
//! `POST /self-service/recovery` (ask for a code, or submit one). A right code signs the
//! user in and opens a settings flow to choose a new password.

use super::code_flows::{CodeFlow, Step};
use super::flows::{
    FlowIdQuery, check_submission, csrf_node, flow_id, hook_request, load, notify_after, save, wire,
};
use super::request::{client_info, read_body, wants_json};
use super::respond::{error_for, json_with, see_other, session_cookie, with_flow};
use crate::flow::recovery;
use crate::flow::settings;
use crate::flow::{Flow, FlowKind, FlowType};
use crate::hook::RequestContext;
use crate::identity::Identity;
use crate::service::{ClientInfo, Service, SharedService};
use axum::body::Body;
use axum::extract::ConnectInfo;
use axum::http::{HeaderMap, Request, StatusCode, Uri};
use axum::response::Response;
use gatehouse_core::ApiError;
use serde::Deserialize;
use serde_json::{Value, json};
use std::net::SocketAddr;

pub static FLOW: CodeFlow = CodeFlow {
    kind: FlowKind::Recovery,
    settings: |svc| &svc.settings.recovery,
    new_flow: recovery::new_flow,
    no_strategy: (
        4010005,
        "Could not find a strategy to recover your account with. Did you fill out the form correctly?",
    ),
    already_done: 4060001,
};

#[derive(Deserialize, Default)]
pub struct LinkQuery {
    flow: Option<String>,
    code: Option<String>,
    token: Option<String>,
}

/// `POST /self-service/recovery?flow=`.
pub async fn submit(svc: SharedService, q: FlowIdQuery, req: Request<Body>) -> Response {
    let headers = req.headers().clone();
    let hook_req = hook_request(&svc, "POST", req.uri(), &headers);
    let peer = req.extensions().get::<ConnectInfo<SocketAddr>>().cloned();
    let client = client_info(&headers, peer.map(|c| c.0));
    let mut json_client = wants_json(&headers);
    let result: Result<Response, ApiError> = async {
        let mut flow = load(&svc, FlowKind::Recovery, flow_id(q.flow.as_deref())?).await?;
        json_client |= flow.flow_type == FlowType::Api;
        let body = read_body(req).await?;
        check_submission(&svc, &flow, &headers, &body)?;
        let call = Call {
            client: &client,
            hook_req: &hook_req,
            json_client,
        };
        handle(&svc, &mut flow, &body, &call).await
    }
    .await;
    match result {
        Ok(res) => res,
        Err(e) => error_for(&svc, json_client, e).await,
    }
}

/// Who is asking, as a session and the hooks see it, and how to answer.
struct Call<'a> {
    client: &'a ClientInfo,
    hook_req: &'a RequestContext,
    json_client: bool,
}

/// `GET /self-service/recovery?flow=[&code=|&token=]`: a browser coming back to its flow,
/// with a code to check or a `link` method token to spend.
pub async fn follow_link(
    svc: SharedService,
    headers: HeaderMap,
    uri: Uri,
    q: LinkQuery,
) -> Response {
    let json_client = wants_json(&headers);
    let hook_req = hook_request(&svc, "GET", &uri, &headers);
    let client = client_info(&headers, None);
    let call = Call {
        client: &client,
        hook_req: &hook_req,
        json_client,
    };
    let result: Result<Response, ApiError> = async {
        let mut flow = load(&svc, FlowKind::Recovery, flow_id(q.flow.as_deref())?).await?;
        if let Some(token) = q.token.filter(|t| !t.is_empty()) {
            // An admin-made link's flow meets its browser only now.
            let cookies = adopt(&svc, &mut flow, &headers).await?;
            return match recovery::follow_link(&svc, &mut flow, &token).await? {
                Some(identity) => {
                    let mut res = recovered(&svc, &mut flow, identity, &call).await?;
                    for c in cookies {
                        if let Ok(v) = axum::http::HeaderValue::from_str(&c) {
                            res.headers_mut().append(axum::http::header::SET_COOKIE, v);
                        }
                    }
                    Ok(res)
                }
                None => {
                    let message = recovery::invalid_link_message();
                    FLOW.retry_with(&svc, &flow, &headers, message).await
                }
            };
        }
        match q.code.filter(|c| !c.is_empty()) {
            Some(code) => {
                let body = json!({"method": "code", "code": code});
                handle(&svc, &mut flow, &body, &call).await
            }
            None => {
                let cookies = adopt(&svc, &mut flow, &headers).await?;
                Ok(see_other(&with_flow(FLOW.ui_url(&svc), flow.id), &cookies))
            }
        }
    }
    .await;
    match result {
        Ok(res) => res,
        Err(e) => error_for(&svc, json_client, e).await,
    }
}

/// A browser flow made by the admin API has no browser yet: the first browser to open its
/// link binds it to its CSRF cookie.
async fn adopt(
    svc: &Service,
    flow: &mut Flow,
    headers: &HeaderMap,
) -> Result<Vec<String>, ApiError> {
    if flow.flow_type != FlowType::Browser || !flow.internal.csrf_token.is_empty() {
        return Ok(Vec::new());
    }
    let existing = super::request::cookie(headers, &svc.settings.cookies.csrf_name)
        .filter(|c| crate::flow::csrf::is_well_formed(c));
    let raw = existing
        .clone()
        .unwrap_or_else(crate::flow::csrf::new_token);
    flow.internal.csrf_token = raw.clone();
    flow.ui.nodes.insert(0, csrf_node(&raw));
    save(svc, flow).await?;
    Ok(match existing {
        Some(_) => Vec::new(),
        None => vec![super::respond::csrf_cookie(&svc.settings, &raw)],
    })
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct AdminCodeBody {
    identity_id: uuid::Uuid,
    #[serde(default)]
    expires_in: Option<String>,
    #[serde(default)]
    flow_type: Option<String>,
}

/// What `POST /admin/recovery/{code,link}` were asked for: whose account, and a new flow
/// living `expires_in` (the flow's own lifespan by default).
struct AdminRecovery {
    identity: Identity,
    flow: Flow,
}

async fn admin_recovery(
    svc: &Service,
    req: Request<Body>,
    default_lifespan: std::time::Duration,
) -> Result<AdminRecovery, ApiError> {
    if !svc.settings.recovery.enabled {
        return Err(
            ApiError::bad_request("Recovery is not allowed because it was disabled.")
                .id("self_service_flow_disabled"),
        );
    }
    let body: AdminCodeBody = serde_json::from_value(read_body(req).await?)
        .map_err(|e| ApiError::bad_request(format!("The request body is invalid: {e}")))?;
    let lifespan = match body.expires_in.as_deref() {
        None | Some("") => default_lifespan,
        Some(d) => gatehouse_core::duration::parse(d).map_err(|e| {
            ApiError::bad_request(format!(
                "Unable to parse \"expires_in\" as a duration string (e.g. \"1h\", \"1m30s\"): {e}"
            ))
        })?,
    };
    if lifespan.is_zero() {
        return Err(ApiError::bad_request(
            "Value from \"expires_in\" must be result to a future time.",
        ));
    }
    let flow_type = match body.flow_type.as_deref() {
        None | Some("browser") => FlowType::Browser,
        Some("api") => FlowType::Api,
        Some(other) => {
            return Err(ApiError::bad_request(format!(
                "flow_type must be browser or api, not {other:?}"
            )));
        }
    };
    let identity = svc
        .store
        .get_identity(body.identity_id)
        .await?
        .ok_or_else(|| ApiError::not_found("The requested resource could not be found"))?;
    let request_url = svc.settings.admin_url("admin/recovery");
    let mut flow = recovery::new_flow(svc, flow_type, request_url);
    flow.expires_at =
        svc.clock.now() + time::Duration::try_from(lifespan).unwrap_or(time::Duration::HOUR);
    Ok(AdminRecovery { identity, flow })
}

fn recovery_address(identity: &Identity) -> String {
    identity
        .recovery_addresses
        .first()
        .map(|a| a.value.clone())
        .unwrap_or_default()
}

/// `POST /admin/recovery/code`: a recovery flow and code for an identity, handed to the
/// operator instead of mailed (support desks, migrations).
async fn admin_create_code(
    axum::extract::State(svc): axum::extract::State<SharedService>,
    req: Request<Body>,
) -> Response {
    let result: Result<Response, ApiError> = async {
        let lifespan = svc.settings.recovery.flow.lifespan;
        let AdminRecovery { identity, mut flow } = admin_recovery(&svc, req, lifespan).await?;
        flow.active = Some("code".into());
        let address = recovery_address(&identity);
        let code = recovery::store_code(&svc, &flow, &identity, &address).await?;
        recovery::mark_sent(&mut flow, &address);
        flow.ui.messages.clear();
        save(&svc, &flow).await?;
        Ok(json_with(
            StatusCode::CREATED,
            json!({
                "recovery_link": svc.settings.public_url(&format!("self-service/recovery?flow={}", flow.id)),
                "recovery_code": code,
                "expires_at": gatehouse_core::clock::rfc3339(flow.expires_at),
            }),
            &[],
        ))
    }
    .await;
    result.unwrap_or_else(axum::response::IntoResponse::into_response)
}

/// `POST /admin/recovery/link`: a link that recovers an identity's account, handed to the
/// operator. Whoever opens it first gets the privileged session, so it is a secret.
async fn admin_create_link(
    axum::extract::State(svc): axum::extract::State<SharedService>,
    req: Request<Body>,
) -> Response {
    let result: Result<Response, ApiError> = async {
        let lifespan = svc.settings.link_lifespan;
        let AdminRecovery { identity, mut flow } = admin_recovery(&svc, req, lifespan).await?;
        flow.active = Some("link".into());
        let address = recovery_address(&identity);
        let link =
            crate::flow::codes::store_link(&svc, &flow, identity.id, &address, flow.expires_at)
                .await?;
        recovery::mark_sent(&mut flow, &address);
        flow.ui.messages.clear();
        save(&svc, &flow).await?;
        Ok(json_with(
            StatusCode::OK,
            json!({
                "recovery_link": link,
                "expires_at": gatehouse_core::clock::rfc3339(flow.expires_at),
            }),
            &[],
        ))
    }
    .await;
    result.unwrap_or_else(axum::response::IntoResponse::into_response)
}

/// Admin routes of recovery, mounted on the admin router.
pub fn admin_routes() -> axum::Router<SharedService> {
    axum::Router::new()
        .route("/recovery/code", axum::routing::post(admin_create_code))
        .route("/recovery/link", axum::routing::post(admin_create_link))
}

/// One submission: `email` asks for a (new) code, `code` answers one.
async fn handle(
    svc: &Service,
    flow: &mut Flow,
    body: &Value,
    call: &Call<'_>,
) -> Result<Response, ApiError> {
    let json_client = call.json_client;
    if flow.is_expired(svc.clock.now()) {
        return FLOW.expired(svc, flow, json_client).await;
    }
    let status = match FLOW.step(flow, body) {
        Step::Send(email) => {
            recovery::send_code(svc, flow, &email).await?;
            StatusCode::OK
        }
        Step::Check(code) => match recovery::check_code(svc, flow, &code).await? {
            Some(identity) => return recovered(svc, flow, identity, call).await,
            None => StatusCode::OK,
        },
        Step::Refused(status) => status,
    };
    FLOW.answer(svc, flow, status, json_client).await
}

/// A right code: a fresh session (so the password may be changed at once) and a settings
/// flow to change it in.
async fn recovered(
    svc: &Service,
    flow: &mut Flow,
    identity: Identity,
    call: &Call<'_>,
) -> Result<Response, ApiError> {
    let (client, json_client) = (call.client, call.json_client);
    let now = svc.clock.now();
    if svc.settings.recovery_revokes_sessions {
        svc.store
            .revoke_identity_sessions(identity.id, None, now)
            .await?;
    }
    let (session, token) = svc
        .issue_session(&identity, "code_recovery", client)
        .await?;
    let mut next = settings::new_flow(svc, flow.flow_type, flow.request_url.clone(), &identity);
    if flow.flow_type == FlowType::Browser {
        next.internal.csrf_token = flow.internal.csrf_token.clone();
        next.ui
            .nodes
            .insert(0, csrf_node(&flow.internal.csrf_token));
    }
    let max_age = time::Duration::try_from(svc.settings.privileged_session_max_age)
        .unwrap_or(time::Duration::HOUR);
    next.ui.messages.push(recovery::recovered_message(
        session.authenticated_at + max_age,
        now,
    ));
    save(svc, &next).await?;
    save(svc, flow).await?;
    notify_after(
        svc,
        &svc.hooks.recovery_after,
        flow,
        &identity,
        call.hook_req,
    )
    .await;
    let settings_url = with_flow(&svc.settings.settings_flow.ui_url, next.id);
    match flow.flow_type {
        FlowType::Browser => {
            let cookie = session_cookie(&svc.settings, &token, session.expires_at, now);
            if !json_client {
                return Ok(see_other(&settings_url, &[cookie]));
            }
            let err = ApiError::new(StatusCode::UNPROCESSABLE_ENTITY)
                .id("browser_location_change_required")
                .reason("In order to complete this flow please redirect the browser to the settings UI.")
                .with("redirect_browser_to", json!(settings_url));
            let mut res = axum::response::IntoResponse::into_response(err);
            if let Ok(v) = axum::http::HeaderValue::from_str(&cookie) {
                res.headers_mut().append(axum::http::header::SET_COOKIE, v);
            }
            Ok(res)
        }
        FlowType::Api => {
            let mut body = wire(flow);
            body["continue_with"] = json!([
                {"action": "set_ory_session_token", "ory_session_token": token},
                {"action": "show_settings_ui", "flow": {"id": next.id, "url": settings_url}},
            ]);
            Ok(json_with(StatusCode::OK, body, &[]))
        }
    }
}

pub fn routes() -> axum::Router<SharedService> {
    crate::code_flow_routes!(FLOW, "recovery", submit, follow_link)
}
