//! Self-service login and registration endpoints: browser and API initialisation, fetching
//! a flow, and submitting it. Browser flows are CSRF-protected and answer HTML clients with
//! 303 redirects and JSON clients with JSON; API flows answer JSON with session tokens.

use super::request::{self, client_info, cookie, read_body, session_token, wants_json};
use super::respond::{
    self, csrf_cookie, error_for, json_with, see_other, session_cookie, with_flow,
};
use crate::flow::login::{self, LoginFailure};
use crate::flow::registration::{self, RegistrationFailure};
use crate::flow::ui::{InputSpec, Node, UiText};
use crate::flow::verification;
use crate::flow::{Flow, FlowKind, FlowType, csrf};
use crate::hook::{self, RequestContext};
use crate::identity::Identity;
use crate::service::{ClientInfo, Service, SharedService};
use axum::body::Body;
use axum::extract::{ConnectInfo, Query, State};
use axum::http::{HeaderMap, Request, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use gatehouse_core::ApiError;
use serde::Deserialize;
use serde_json::{Value, json};
use std::net::SocketAddr;

#[derive(Deserialize, Default)]
pub struct InitQuery {
    pub(super) return_to: Option<String>,
    refresh: Option<String>,
}

#[derive(Deserialize, Default)]
pub struct FlowIdQuery {
    pub(super) id: Option<String>,
    pub(super) flow: Option<String>,
}

pub(super) fn settings_for(svc: &Service, kind: FlowKind) -> &crate::settings::FlowSettings {
    match kind {
        FlowKind::Registration => &svc.settings.registration,
        FlowKind::Settings => &svc.settings.settings_flow,
        _ => &svc.settings.login,
    }
}

/// Parses a flow id query value, which must be a UUID.
pub(super) fn flow_id(raw: Option<&str>) -> Result<uuid::Uuid, ApiError> {
    raw.and_then(|s| uuid::Uuid::parse_str(s.trim()).ok())
        .ok_or_else(|| ApiError::bad_request("The flow query parameter is missing or malformed."))
}

/// Loads a flow of `kind`; 404 if there is none of that kind.
pub(super) async fn load(svc: &Service, kind: FlowKind, id: uuid::Uuid) -> Result<Flow, ApiError> {
    let stored = svc.store.get_flow(id).await?;
    stored
        .and_then(|(k, body)| Flow::from_stored(&k, body))
        .filter(|f| f.kind == Some(kind))
        .ok_or_else(|| {
            ApiError::not_found(format!("The {} flow could not be found.", kind.as_str()))
                .id("self_service_flow_not_found")
        })
}

pub(super) async fn save(svc: &Service, flow: &Flow) -> Result<(), ApiError> {
    let kind = flow.kind.map(FlowKind::as_str).unwrap_or("login");
    svc.store
        .put_flow(
            flow.id,
            kind,
            &flow.to_stored(),
            flow.expires_at,
            svc.clock.now(),
        )
        .await?;
    Ok(())
}

/// The flow as a client sees it, with a freshly masked CSRF token in its node.
pub(super) fn wire(flow: &Flow) -> Value {
    let mut f = flow.clone();
    if f.flow_type == FlowType::Browser {
        let masked = csrf::mask(&f.internal.csrf_token);
        f.ui.set_value("csrf_token", json!(masked));
    }
    f.to_wire()
}

pub(super) fn csrf_node(raw: &str) -> Node {
    Node::input(
        "default",
        InputSpec {
            name: "csrf_token",
            input_type: "hidden",
            value: Some(json!(csrf::mask(raw))),
            required: true,
            ..Default::default()
        },
    )
}

/// Validates `return_to` against the allow list.
pub(super) fn check_return_to(
    svc: &Service,
    return_to: Option<&str>,
) -> Result<Option<String>, ApiError> {
    match return_to.filter(|r| !r.is_empty()) {
        None => Ok(None),
        Some(r) if svc.settings.return_to_allowed(r) => Ok(Some(r.to_string())),
        Some(_) => Err(
            ApiError::bad_request("Requested return_to URL is not allowed.")
                .id("self_service_flow_return_to_forbidden"),
        ),
    }
}

/// Where a browser goes after a finished flow.
fn return_url(svc: &Service, flow: &Flow) -> String {
    flow.return_to
        .clone()
        .or_else(|| {
            settings_for(svc, flow.kind.unwrap_or(FlowKind::Login))
                .after_return_url
                .clone()
        })
        .unwrap_or_else(|| svc.settings.default_return_url.clone())
}

fn session_already_available() -> ApiError {
    ApiError::bad_request("A valid session was detected and thus this flow can not be initialized.")
        .id("session_already_available")
        .message("A valid session was detected and thus this flow can not be initialized.")
}

/// `GET /self-service/{login,registration}/browser`.
pub async fn init_browser(
    svc: SharedService,
    kind: FlowKind,
    headers: HeaderMap,
    uri: Uri,
    q: InitQuery,
) -> Response {
    let json_client = wants_json(&headers);
    match init_browser_inner(&svc, kind, &headers, &uri, q, json_client).await {
        Ok(res) => res,
        Err(e) => error_for(&svc, json_client, e).await,
    }
}

async fn init_browser_inner(
    svc: &Service,
    kind: FlowKind,
    headers: &HeaderMap,
    uri: &Uri,
    q: InitQuery,
    json_client: bool,
) -> Result<Response, ApiError> {
    let return_to = check_return_to(svc, q.return_to.as_deref())?;
    let refresh = kind == FlowKind::Login && matches!(q.refresh.as_deref(), Some("true"));
    if kind == FlowKind::Registration && !svc.settings.registration_enabled {
        return Err(
            ApiError::bad_request("Registration is not allowed because it was disabled.")
                .id("self_service_flow_disabled"),
        );
    }
    if !refresh && has_session(svc, headers).await? {
        if json_client {
            return Err(session_already_available());
        }
        return Ok(see_other(
            &return_to.unwrap_or_else(|| svc.settings.default_return_url.clone()),
            &[],
        ));
    }
    let request_url = request::request_url(&svc.settings.public_base_url, uri);
    let mut flow = new_flow(svc, kind, FlowType::Browser, request_url.clone(), refresh);
    flow.return_to = return_to;
    before_hooks(
        svc,
        &flow,
        &RequestContext::new("GET", request_url, headers),
    )
    .await?;
    let existing =
        cookie(headers, &svc.settings.cookies.csrf_name).filter(|c| csrf::is_well_formed(c));
    let raw = existing.clone().unwrap_or_else(csrf::new_token);
    flow.internal.csrf_token = raw.clone();
    flow.ui.nodes.insert(0, csrf_node(&raw));
    save(svc, &flow).await?;
    let cookies = if existing.is_some() {
        Vec::new()
    } else {
        vec![csrf_cookie(&svc.settings, &raw)]
    };
    if json_client {
        return Ok(json_with(StatusCode::OK, wire(&flow), &cookies));
    }
    Ok(see_other(
        &with_flow(&settings_for(svc, kind).ui_url, flow.id),
        &cookies,
    ))
}

fn new_flow(
    svc: &Service,
    kind: FlowKind,
    flow_type: FlowType,
    request_url: String,
    refresh: bool,
) -> Flow {
    match kind {
        FlowKind::Registration => registration::new_flow(svc, flow_type, request_url),
        _ => login::new_flow(svc, flow_type, request_url, refresh),
    }
}

/// The flow's `before` web hooks; one that refuses stops the flow from starting.
pub(super) async fn before_hooks(
    svc: &Service,
    flow: &Flow,
    req: &RequestContext,
) -> Result<(), ApiError> {
    let hooks = match flow.kind {
        Some(FlowKind::Login) => &svc.hooks.login_before,
        Some(FlowKind::Registration) => &svc.hooks.registration_before,
        Some(FlowKind::Settings) => &svc.hooks.settings_before,
        Some(FlowKind::Recovery) => &svc.hooks.recovery_before,
        Some(FlowKind::Verification) => &svc.hooks.verification_before,
        None => return Ok(()),
    };
    if hooks.is_empty() {
        return Ok(());
    }
    let ctx = hook::context(&wire(flow), None, None, req);
    let verdict = svc.run_hooks(hooks, &ctx).await;
    match verdict.interrupt.first() {
        None => Ok(()),
        Some((_, message)) => Err(ApiError::bad_request(message.text.clone())
            .id("self_service_flow_rejected")
            .details(
                json!({"messages": verdict.interrupt.iter().map(|(_, m)| m).collect::<Vec<_>>()}),
            )),
    }
}

async fn has_session(svc: &Service, headers: &HeaderMap) -> Result<bool, ApiError> {
    match session_token(headers, &svc.settings.cookies.session_name) {
        Some(t) => Ok(svc.session_for_token(&t).await?.is_some()),
        None => Ok(false),
    }
}

/// `GET /self-service/{login,registration}/api`.
pub async fn init_api(
    svc: SharedService,
    kind: FlowKind,
    headers: HeaderMap,
    uri: Uri,
    q: InitQuery,
) -> Response {
    let result: Result<Response, ApiError> = async {
        let return_to = check_return_to(&svc, q.return_to.as_deref())?;
        if kind == FlowKind::Registration && !svc.settings.registration_enabled {
            return Err(ApiError::bad_request(
                "Registration is not allowed because it was disabled.",
            )
            .id("self_service_flow_disabled"));
        }
        let refresh = kind == FlowKind::Login && matches!(q.refresh.as_deref(), Some("true"));
        if !refresh && has_session(&svc, &headers).await? {
            return Err(session_already_available());
        }
        let request_url = request::request_url(&svc.settings.public_base_url, &uri);
        let mut flow = new_flow(&svc, kind, FlowType::Api, request_url.clone(), refresh);
        flow.return_to = return_to;
        before_hooks(
            &svc,
            &flow,
            &RequestContext::new("GET", request_url, &headers),
        )
        .await?;
        save(&svc, &flow).await?;
        Ok(json_with(StatusCode::OK, wire(&flow), &[]))
    }
    .await;
    result.unwrap_or_else(IntoResponse::into_response)
}

pub(super) fn expired_error(svc: &Service, flow: &Flow) -> ApiError {
    let kind = flow.kind.unwrap_or(FlowKind::Login);
    let ui_url = settings_for(svc, kind).ui_url.clone();
    ApiError::new(StatusCode::GONE)
        .id("self_service_flow_expired")
        .reason(format!(
            "The {} flow has expired. Please start a new flow.",
            kind.as_str()
        ))
        .message("The self-service flow has expired.")
        .details(json!({"redirect_to": ui_url, "return_to": flow.return_to}))
        .with(
            "expired_at",
            json!(gatehouse_core::clock::rfc3339(flow.expires_at)),
        )
}

pub(super) fn csrf_violation(reason: &str) -> ApiError {
    ApiError::forbidden("Please retry the flow and optionally clear your cookies. The request was rejected to protect you from Cross-Site-Request-Forgery (CSRF) which could cause account takeover, leaking personal information, and other serious security issues.")
        .id("security_csrf_violation")
        .message("the request was rejected to protect you from Cross-Site-Request-Forgery")
        .details(json!({"reject_reason": reason}))
}

/// What every submission of a flow must pass: API flows are not for browsers (they would
/// skip CSRF), and browser flows need their CSRF token.
pub(super) fn check_submission(
    svc: &Service,
    flow: &Flow,
    headers: &HeaderMap,
    body: &Value,
) -> Result<(), ApiError> {
    if flow.flow_type == FlowType::Api && headers.contains_key(axum::http::header::ORIGIN) {
        return Err(ApiError::bad_request(
            "This endpoint was called with an API flow from a browser. Use a browser flow instead.",
        ));
    }
    check_csrf(
        svc,
        flow,
        headers,
        body.get("csrf_token").and_then(Value::as_str),
    )
}

fn check_csrf(
    svc: &Service,
    flow: &Flow,
    headers: &HeaderMap,
    submitted: Option<&str>,
) -> Result<(), ApiError> {
    if flow.flow_type != FlowType::Browser {
        return Ok(());
    }
    if headers.get(axum::http::header::COOKIE).is_none() {
        return Err(csrf_violation("The HTTP Cookie Header was not set."));
    }
    let Some(cookie_raw) = cookie(headers, &svc.settings.cookies.csrf_name) else {
        return Err(csrf_violation(
            "The HTTP Cookie Header was set but did not include the anti-CSRF cookie.",
        ));
    };
    let header_token = headers.get("x-csrf-token").and_then(|v| v.to_str().ok());
    let Some(token) = submitted.filter(|t| !t.is_empty()).or(header_token) else {
        return Err(csrf_violation(
            "The anti-CSRF token was not sent in the request body or header.",
        ));
    };
    if !csrf::verify(&cookie_raw, token)
        || !gatehouse_core::token::constant_time_eq(
            cookie_raw.as_bytes(),
            flow.internal.csrf_token.as_bytes(),
        )
    {
        return Err(csrf_violation(
            "The anti-CSRF cookie does not match the token sent in the request.",
        ));
    }
    Ok(())
}

/// `GET /self-service/{login,registration}/flows?id=`.
pub async fn get_flow(
    svc: SharedService,
    kind: FlowKind,
    headers: HeaderMap,
    q: FlowIdQuery,
) -> Response {
    let result: Result<Response, ApiError> = async {
        let flow = load(&svc, kind, flow_id(q.id.as_deref())?).await?;
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

/// `POST /self-service/{login,registration}?flow=`.
pub async fn submit(
    svc: SharedService,
    kind: FlowKind,
    q: FlowIdQuery,
    req: Request<Body>,
) -> Response {
    let headers = req.headers().clone();
    let peer = req.extensions().get::<ConnectInfo<SocketAddr>>().cloned();
    let mut json_client = wants_json(&headers);
    let client = client_info(&headers, peer.map(|c| c.0));
    let request_url = request::request_url(&svc.settings.public_base_url, req.uri());
    let hook_req = RequestContext::new(req.method().as_str(), request_url, &headers);
    let result = submit_inner(
        &svc,
        kind,
        q,
        &headers,
        (&client, &hook_req),
        req,
        &mut json_client,
    )
    .await;
    match result {
        Ok(res) => res,
        Err(e) => error_for(&svc, json_client, e).await,
    }
}

/// `json_client` starts as content negotiation says and becomes true once the flow turns
/// out to be an API flow: native apps always get JSON, whatever they accept.
async fn submit_inner(
    svc: &Service,
    kind: FlowKind,
    q: FlowIdQuery,
    headers: &HeaderMap,
    (client, hook_req): (&ClientInfo, &RequestContext),
    req: Request<Body>,
    json_client: &mut bool,
) -> Result<Response, ApiError> {
    let id = flow_id(q.flow.as_deref())?;
    let mut flow = load(svc, kind, id).await?;
    *json_client |= flow.flow_type == FlowType::Api;
    let json_client = *json_client;
    let body = read_body(req).await?;
    check_submission(svc, &flow, headers, &body)?;
    if flow.is_expired(svc.clock.now()) {
        return expired(svc, &flow, json_client).await;
    }
    if kind == FlowKind::Login
        && !flow.refresh.unwrap_or(false)
        && has_session(svc, headers).await?
    {
        return Err(session_already_available());
    }
    flow.ui.clear_messages();
    if let Some(p) = body.get("transient_payload").filter(|p| p.is_object()) {
        flow.internal.transient_payload = Some(p.clone());
    }
    let method = body.get("method").and_then(Value::as_str).unwrap_or("");
    if method != "password" || !svc.settings.password.enabled {
        let msg = match kind {
            FlowKind::Registration => UiText::error(
                4010002,
                "Could not find a strategy to sign you up with. Did you fill out the form correctly?",
            ),
            _ => UiText::error(
                4010002,
                "Could not find a strategy to log you in with. Did you fill out the form correctly?",
            ),
        };
        flow.ui.messages.push(msg);
        return rejected(svc, &flow, json_client).await;
    }
    match kind {
        FlowKind::Registration => {
            let outcome = match registration::prepare_password(svc, &mut flow, &body).await {
                Ok(identity) => register_with_hooks(svc, &mut flow, identity, hook_req).await,
                Err(e) => Err(e),
            };
            match outcome {
                Ok(identity) => registered(svc, &mut flow, identity, client, json_client).await,
                Err(RegistrationFailure::Rejected) => rejected(svc, &flow, json_client).await,
                Err(RegistrationFailure::Error(e)) => Err(e),
            }
        }
        _ => match login::submit_password(svc, &mut flow, &body, client).await {
            Ok(identity) => {
                logged_in(svc, &mut flow, identity, client, hook_req, json_client).await
            }
            Err(LoginFailure::Rejected) => rejected(svc, &flow, json_client).await,
            Err(LoginFailure::Throttled(wait)) => Ok(respond::throttled(wait)),
            Err(LoginFailure::Error(e)) => Err(e),
        },
    }
}

/// An expired flow: HTML browsers get a new flow with the expiry message; others get 410.
async fn expired(svc: &Service, old: &Flow, json_client: bool) -> Result<Response, ApiError> {
    let kind = old.kind.unwrap_or(FlowKind::Login);
    let mut flow = new_flow(
        svc,
        kind,
        old.flow_type,
        old.request_url.clone(),
        old.refresh.unwrap_or(false),
    );
    flow.return_to = old.return_to.clone();
    if old.flow_type == FlowType::Browser {
        flow.internal.csrf_token = old.internal.csrf_token.clone();
        flow.ui.nodes.insert(0, csrf_node(&old.internal.csrf_token));
    }
    let now = svc.clock.now();
    flow.ui
        .messages
        .push(kind.expired_message((now - old.expires_at).whole_minutes(), old.expires_at));
    save(svc, &flow).await?;
    if old.flow_type == FlowType::Browser && !json_client {
        return Ok(see_other(
            &with_flow(&settings_for(svc, kind).ui_url, flow.id),
            &[],
        ));
    }
    Err(expired_error(svc, old)
        .with("use_flow_id", json!(flow.id))
        .with(
            "since",
            json!((now - old.expires_at).whole_nanoseconds() as i64),
        ))
}

/// The submission was judged and refused: keep the messages on the flow and answer.
async fn rejected(svc: &Service, flow: &Flow, json_client: bool) -> Result<Response, ApiError> {
    save(svc, flow).await?;
    if flow.flow_type == FlowType::Browser && !json_client {
        let ui_url = &settings_for(svc, flow.kind.unwrap_or(FlowKind::Login)).ui_url;
        return Ok(see_other(&with_flow(ui_url, flow.id), &[]));
    }
    Ok(json_with(StatusCode::BAD_REQUEST, wire(flow), &[]))
}

/// The registration's `after` web hooks around saving the identity: hooks that decide
/// (`response.parse`) run first and may refuse or amend it; the others run once it exists.
async fn register_with_hooks(
    svc: &Service,
    flow: &mut Flow,
    mut identity: Identity,
    hook_req: &RequestContext,
) -> Result<Identity, RegistrationFailure> {
    let (deciding, observing): (Vec<_>, Vec<_>) = svc
        .hooks
        .registration_after_password
        .iter()
        .cloned()
        .partition(|h| h.parse);
    if !deciding.is_empty() {
        let ctx = hook::context(
            &wire(flow),
            Some(&hook_identity(svc, &identity)),
            None,
            hook_req,
        );
        let verdict = svc.run_hooks(&deciding, &ctx).await;
        if interrupted(flow, &verdict) {
            return Err(RegistrationFailure::Rejected);
        }
        for fields in &verdict.amend {
            hook::amend(&mut identity, fields);
        }
    }
    let identity = registration::persist(svc, flow, identity).await?;
    if !observing.is_empty() {
        let ctx = hook::context(
            &wire(flow),
            Some(&hook_identity(svc, &identity)),
            None,
            hook_req,
        );
        svc.run_hooks(&observing, &ctx).await;
    }
    Ok(identity)
}

/// The request as a hook's `ctx` shows it.
pub(super) fn hook_request(
    svc: &Service,
    method: &str,
    uri: &Uri,
    headers: &HeaderMap,
) -> RequestContext {
    let url = request::request_url(&svc.settings.public_base_url, uri);
    RequestContext::new(method, url, headers)
}

/// The `after` web hooks of a step that is done and stays done (a verified address, a
/// recovered account): they hear about it; a failing one is logged, never undoes it.
pub(super) async fn notify_after(
    svc: &Service,
    hooks: &[hook::WebHook],
    flow: &Flow,
    identity: &Identity,
    req: &RequestContext,
) {
    if hooks.is_empty() {
        return;
    }
    let ctx = hook::context(&wire(flow), Some(&hook_identity(svc, identity)), None, req);
    let verdict = svc.run_hooks(hooks, &ctx).await;
    if !verdict.interrupt.is_empty() {
        tracing::warn!(
            flow = %flow.id,
            "an after hook tried to interrupt a step that is already done; it was ignored"
        );
    }
}

/// The identity as hooks see it: everything but credential secrets.
pub(super) fn hook_identity(svc: &Service, identity: &Identity) -> Value {
    svc.identity_json(identity, crate::identity::View::Admin)
}

/// Puts a verdict's messages on the flow; whether the flow must stop.
pub(super) fn interrupted(flow: &mut Flow, verdict: &hook::Verdict) -> bool {
    for (node, message) in &verdict.interrupt {
        flow.ui.add_message(node.as_deref(), message.clone());
    }
    !verdict.interrupt.is_empty()
}

async fn logged_in(
    svc: &Service,
    flow: &mut Flow,
    identity: Identity,
    client: &ClientInfo,
    hook_req: &RequestContext,
    json_client: bool,
) -> Result<Response, ApiError> {
    // `require_verified_address`, as Kratos before v25.4 answers it: the login is refused
    // with message 4000010 until an address is verified.
    if svc.settings.login_requires_verified_address
        && !identity.verifiable_addresses.iter().any(|a| a.verified)
    {
        flow.ui.messages.push(UiText::error(
            4000010,
            "Account not active yet. Did you forget to verify your email address?",
        ));
        return rejected(svc, flow, json_client).await;
    }
    // The session exists only in memory while the hooks run: one that refuses leaves none.
    let session = svc.new_session(&identity, "password", client);
    if !svc.hooks.login_after_password.is_empty() {
        let ctx = hook::context(
            &wire(flow),
            Some(&hook_identity(svc, &identity)),
            Some(&svc.session_json(&session, Some(&identity))),
            hook_req,
        );
        let verdict = svc.run_hooks(&svc.hooks.login_after_password, &ctx).await;
        if interrupted(flow, &verdict) {
            return rejected(svc, flow, json_client).await;
        }
    }
    let token = svc.persist_session(&session).await?;
    if svc.settings.login_revokes_sessions {
        svc.store
            .revoke_identity_sessions(identity.id, Some(session.id), svc.clock.now())
            .await?;
    }
    flow.state = "passed_challenge".into();
    save(svc, flow).await?;
    let session_json = svc.session_json(&session, Some(&identity));
    finish(
        svc,
        flow,
        json!({"session": session_json}),
        Some((&session, token)),
        json_client,
    )
}

async fn registered(
    svc: &Service,
    flow: &mut Flow,
    identity: Identity,
    client: &ClientInfo,
    json_client: bool,
) -> Result<Response, ApiError> {
    let identity_json = svc.identity_json(&identity, crate::identity::View::Public);
    flow.state = "passed_challenge".into();
    save(svc, flow).await?;
    let verifying = verify_after_signup(svc, flow, &identity).await?;
    let issued = if svc.settings.registration_issues_session {
        Some(svc.issue_session(&identity, "password", client).await?)
    } else {
        None
    };
    let mut body = json!({"identity": identity_json});
    if let Some((session, _)) = &issued {
        body["session"] = svc.session_json(session, Some(&identity));
    }
    if let Some(v) = verifying {
        body["continue_with"] = json!([v]);
    }
    finish(
        svc,
        flow,
        body,
        issued.as_ref().map(|(s, t)| (s, t.clone())),
        json_client,
    )
}

/// With verification on, a new identity's first unverified e-mail address gets a code at
/// once, in a verification flow of its own; the answer points to it (`continue_with`).
async fn verify_after_signup(
    svc: &Service,
    signup: &Flow,
    identity: &Identity,
) -> Result<Option<Value>, ApiError> {
    if !svc.settings.verification.enabled {
        return Ok(None);
    }
    let Some(address) = identity
        .verifiable_addresses
        .iter()
        .find(|a| a.via == "email" && !a.verified)
    else {
        return Ok(None);
    };
    start_verification(svc, signup, identity, &address.value)
        .await
        .map(Some)
}

/// Mails `address` a code or link in a new verification flow that continues `origin`
/// (same type, CSRF token and transient payload); gives the `show_verification_ui` item
/// of `continue_with` that points to it.
pub(super) async fn start_verification(
    svc: &Service,
    origin: &Flow,
    identity: &Identity,
    address: &str,
) -> Result<Value, ApiError> {
    let mut flow = verification::new_flow(svc, origin.flow_type, origin.request_url.clone());
    if origin.flow_type == FlowType::Browser {
        flow.internal.csrf_token = origin.internal.csrf_token.clone();
        flow.ui
            .nodes
            .insert(0, csrf_node(&origin.internal.csrf_token));
    }
    flow.internal.transient_payload = origin.internal.transient_payload.clone();
    verification::issue(svc, &flow, identity, address).await?;
    verification::mark_sent(&mut flow, address);
    save(svc, &flow).await?;
    Ok(json!({
        "action": "show_verification_ui",
        "flow": {
            "id": flow.id,
            "verifiable_address": address,
            "url": with_flow(&svc.settings.verification.flow.ui_url, flow.id),
        },
    }))
}

/// Answers a finished login or registration: cookie and redirect (HTML), cookie and JSON
/// (browser SPA), or JSON with the session token (API).
fn finish(
    svc: &Service,
    flow: &Flow,
    mut body: Value,
    session: Option<(&crate::session::Session, String)>,
    json_client: bool,
) -> Result<Response, ApiError> {
    let now = svc.clock.now();
    let mut continue_with = Vec::new();
    let mut cookies = Vec::new();
    if let Some((s, token)) = session {
        match flow.flow_type {
            FlowType::Browser => {
                cookies.push(session_cookie(&svc.settings, &token, s.expires_at, now))
            }
            FlowType::Api => {
                body["session_token"] = json!(token);
                continue_with
                    .push(json!({"action": "set_ory_session_token", "ory_session_token": token}));
            }
        }
    }
    if flow.flow_type == FlowType::Browser && !json_client {
        // `show_verification_ui`: a browser goes to the verification form first.
        let next = body
            .get("continue_with")
            .and_then(Value::as_array)
            .and_then(|c| c.iter().find(|c| c["action"] == "show_verification_ui"))
            .and_then(|c| c.pointer("/flow/url"))
            .and_then(Value::as_str)
            .filter(|_| svc.settings.registration_shows_verification_ui)
            .map(str::to_string);
        return Ok(see_other(
            &next.unwrap_or_else(|| return_url(svc, flow)),
            &cookies,
        ));
    }
    if let Some(Value::Array(earlier)) = body.get("continue_with") {
        continue_with.extend(earlier.iter().cloned());
    }
    if !continue_with.is_empty() {
        body["continue_with"] = Value::Array(continue_with);
    }
    Ok(json_with(StatusCode::OK, body, &cookies))
}

/// Query extractor that answers a malformed query with a 400 envelope.
pub fn query<T: for<'de> Deserialize<'de> + Default>(
    q: Result<Query<T>, axum::extract::rejection::QueryRejection>,
) -> Result<T, ApiError> {
    q.map(|Query(v)| v)
        .map_err(|e| ApiError::bad_request(e.body_text()))
}

/// Routes for login and registration, mounted on the public router.
pub fn routes() -> axum::Router<SharedService> {
    use axum::routing::{get, post};
    macro_rules! flow_routes {
        ($router:expr, $kind:expr, $base:literal) => {
            $router
                .route(
                    concat!("/self-service/", $base, "/browser"),
                    get(
                        |State(s): State<SharedService>,
                         h: HeaderMap,
                         uri: Uri,
                         q: Result<Query<InitQuery>, _>| async move {
                            match query(q) {
                                Ok(q) => init_browser(s, $kind, h, uri, q).await,
                                Err(e) => e.into_response(),
                            }
                        },
                    ),
                )
                .route(
                    concat!("/self-service/", $base, "/api"),
                    get(
                        |State(s): State<SharedService>,
                         h: HeaderMap,
                         uri: Uri,
                         q: Result<Query<InitQuery>, _>| async move {
                            match query(q) {
                                Ok(q) => init_api(s, $kind, h, uri, q).await,
                                Err(e) => e.into_response(),
                            }
                        },
                    ),
                )
                .route(
                    concat!("/self-service/", $base, "/flows"),
                    get(
                        |State(s): State<SharedService>,
                         h: HeaderMap,
                         q: Result<Query<FlowIdQuery>, _>| async move {
                            match query(q) {
                                Ok(q) => get_flow(s, $kind, h, q).await,
                                Err(e) => e.into_response(),
                            }
                        },
                    ),
                )
                .route(
                    concat!("/self-service/", $base),
                    post(
                        |State(s): State<SharedService>,
                         q: Result<Query<FlowIdQuery>, _>,
                         req: Request<Body>| async move {
                            match query(q) {
                                Ok(q) => submit(s, $kind, q, req).await,
                                Err(e) => e.into_response(),
                            }
                        },
                    ),
                )
        };
    }
    let r = axum::Router::new();
    let r = flow_routes!(r, FlowKind::Login, "login");
    flow_routes!(r, FlowKind::Registration, "registration")
}
