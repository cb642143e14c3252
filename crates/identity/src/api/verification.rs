//! The verification flow's endpoints: `/self-service/verification/{browser,api,flows}`,
//! `POST /self-service/verification` (ask for a code or link, or submit a code) and
//! `GET /self-service/verification?flow=&code=|token=` (the link in the e-mail).

use super::code_flows::{CodeFlow, Step};
use super::flows::{FlowIdQuery, check_submission, flow_id, hook_request, load, notify_after};
use super::request::{read_body, wants_json};
use super::respond::error_for;
use crate::flow::verification;
use crate::flow::{Flow, FlowKind, FlowType};
use crate::hook::RequestContext;
use crate::service::{Service, SharedService};
use axum::body::Body;
use axum::http::{HeaderMap, Request, StatusCode, Uri};
use axum::response::Response;
use gatehouse_core::ApiError;
use serde::Deserialize;
use serde_json::{Value, json};

pub static FLOW: CodeFlow = CodeFlow {
    kind: FlowKind::Verification,
    settings: |svc| &svc.settings.verification,
    new_flow: verification::new_flow,
    no_strategy: (
        4010006,
        "Could not find a strategy to verify your account with. Did you fill out the form correctly?",
    ),
    already_done: 4070002,
};

#[derive(Deserialize, Default)]
pub struct LinkQuery {
    flow: Option<String>,
    code: Option<String>,
    token: Option<String>,
}

/// `POST /self-service/verification?flow=`.
pub async fn submit(svc: SharedService, q: FlowIdQuery, req: Request<Body>) -> Response {
    let headers = req.headers().clone();
    let hook_req = hook_request(&svc, "POST", req.uri(), &headers);
    let mut json_client = wants_json(&headers);
    let result: Result<Response, ApiError> = async {
        let mut flow = load(&svc, FlowKind::Verification, flow_id(q.flow.as_deref())?).await?;
        json_client |= flow.flow_type == FlowType::Api;
        let body = read_body(req).await?;
        check_submission(&svc, &flow, &headers, &body)?;
        handle(&svc, &mut flow, &body, &hook_req, json_client).await
    }
    .await;
    match result {
        Ok(res) => res,
        Err(e) => error_for(&svc, json_client, e).await,
    }
}

/// `GET /self-service/verification?flow=&code=|token=`: the link in the mail. With a code
/// it is the same as submitting the code; with a token (the `link` method) it verifies
/// the address. No CSRF token: it arrives from a mail client.
pub async fn follow_link(
    svc: SharedService,
    headers: HeaderMap,
    uri: Uri,
    q: LinkQuery,
) -> Response {
    let json_client = wants_json(&headers);
    let hook_req = hook_request(&svc, "GET", &uri, &headers);
    let result: Result<Response, ApiError> = async {
        let mut flow = load(&svc, FlowKind::Verification, flow_id(q.flow.as_deref())?).await?;
        if let Some(token) = q.token.filter(|t| !t.is_empty()) {
            return use_token(&svc, &mut flow, &headers, &token, &hook_req, json_client).await;
        }
        let body = json!({"method": "code", "code": q.code.unwrap_or_default()});
        let json_answer = json_client || flow.flow_type == FlowType::Api;
        handle(&svc, &mut flow, &body, &hook_req, json_answer).await
    }
    .await;
    match result {
        Ok(res) => res,
        Err(e) => error_for(&svc, json_client, e).await,
    }
}

/// A `link` method token: verified (the flow passed its challenge) or a new flow saying
/// the link is no good.
async fn use_token(
    svc: &Service,
    flow: &mut Flow,
    headers: &HeaderMap,
    token: &str,
    hook_req: &RequestContext,
    json_client: bool,
) -> Result<Response, ApiError> {
    let Some(identity) = verification::follow_link(svc, flow, token).await? else {
        let message = verification::invalid_link_message();
        return FLOW.retry_with(svc, flow, headers, message).await;
    };
    let res = FLOW.answer(svc, flow, StatusCode::OK, json_client).await?;
    notify_after(
        svc,
        &svc.hooks.verification_after,
        flow,
        &identity,
        hook_req,
    )
    .await;
    Ok(res)
}

/// One submission: `email` asks for a (new) code, `code` answers one.
async fn handle(
    svc: &Service,
    flow: &mut Flow,
    body: &Value,
    hook_req: &RequestContext,
    json_client: bool,
) -> Result<Response, ApiError> {
    if flow.is_expired(svc.clock.now()) {
        return FLOW.expired(svc, flow, json_client).await;
    }
    let status = match FLOW.step(flow, body) {
        Step::Send(email) => {
            verification::send_code(svc, flow, &email).await?;
            StatusCode::OK
        }
        Step::Check(code) => {
            // Kratos answers a wrong code with 200 too: the flow carries the message.
            if let Some(identity) = verification::check_code(svc, flow, &code).await? {
                let res = FLOW.answer(svc, flow, StatusCode::OK, json_client).await?;
                let hooks = &svc.hooks.verification_after;
                notify_after(svc, hooks, flow, &identity, hook_req).await;
                return Ok(res);
            }
            StatusCode::OK
        }
        Step::Refused(status) => status,
    };
    FLOW.answer(svc, flow, status, json_client).await
}

pub fn routes() -> axum::Router<SharedService> {
    crate::code_flow_routes!(FLOW, "verification", submit, follow_link)
}
