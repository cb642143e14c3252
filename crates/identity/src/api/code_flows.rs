//! What the verification and recovery endpoints share: both are flows that mail a code to
//! an address, so their initialisation, fetching, expiry and answers are the same; only
//! what a submission does differs (see `verification.rs` and `recovery.rs`).

use super::flows::{
    FlowIdQuery, InitQuery, before_hooks, check_return_to, csrf_node, csrf_violation,
    expired_error, flow_id, load, save, wire,
};
use super::request::{self, cookie, wants_json};
use super::respond::{csrf_cookie, error_for, json_with, see_other, with_flow};
use crate::flow::ui::UiText;
use crate::flow::{Flow, FlowKind, FlowType, csrf};
use crate::hook::RequestContext;
use crate::service::{Service, SharedService};
use crate::settings::CodeFlowSettings;
use axum::http::{HeaderMap, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use gatehouse_core::ApiError;
use serde_json::{Value, json};

/// One code-mailing flow: which it is, where its settings live, how a new one looks.
pub struct CodeFlow {
    pub kind: FlowKind,
    pub settings: fn(&Service) -> &CodeFlowSettings,
    pub new_flow: fn(&Service, FlowType, String) -> Flow,
    /// Message for a submission that names no method Kratos knows here.
    pub no_strategy: (u32, &'static str),
    /// Message id for a submission after the flow already succeeded.
    pub already_done: u32,
}

/// What a submission asks for.
pub enum Step {
    /// Mail a (new) code to this address.
    Send(String),
    /// Check this code.
    Check(String),
    /// Nothing to do: the flow carries the reason; answer with this status.
    Refused(StatusCode),
}

impl CodeFlow {
    pub fn ui_url<'a>(&self, svc: &'a Service) -> &'a str {
        &(self.settings)(svc).flow.ui_url
    }

    fn disabled(&self) -> ApiError {
        let name = match self.kind {
            FlowKind::Recovery => "Recovery",
            _ => "Verification",
        };
        ApiError::bad_request(format!("{name} is not allowed because it was disabled."))
            .id("self_service_flow_disabled")
    }

    fn enabled(&self, svc: &Service) -> Result<(), ApiError> {
        if (self.settings)(svc).enabled {
            Ok(())
        } else {
            Err(self.disabled())
        }
    }

    /// A new flow; browser flows get the CSRF token of the browser's cookie (or a new one,
    /// returned as the cookie to set).
    fn start(
        &self,
        svc: &Service,
        flow_type: FlowType,
        headers: &HeaderMap,
        request_url: String,
    ) -> (Flow, Vec<String>) {
        let mut flow = (self.new_flow)(svc, flow_type, request_url);
        if flow_type == FlowType::Api {
            return (flow, Vec::new());
        }
        let existing =
            cookie(headers, &svc.settings.cookies.csrf_name).filter(|c| csrf::is_well_formed(c));
        let raw = existing.clone().unwrap_or_else(csrf::new_token);
        flow.internal.csrf_token = raw.clone();
        flow.ui.nodes.insert(0, csrf_node(&raw));
        let cookies = match existing {
            Some(_) => Vec::new(),
            None => vec![csrf_cookie(&svc.settings, &raw)],
        };
        (flow, cookies)
    }

    /// `GET /self-service/{kind}/browser`.
    pub async fn init_browser(
        &self,
        svc: SharedService,
        headers: HeaderMap,
        uri: Uri,
        q: InitQuery,
    ) -> Response {
        let json_client = wants_json(&headers);
        let result: Result<Response, ApiError> = async {
            self.enabled(&svc)?;
            let return_to = check_return_to(&svc, q.return_to.as_deref())?;
            let request_url = request::request_url(&svc.settings.public_base_url, &uri);
            let hook_req = RequestContext::new("GET", request_url.clone(), &headers);
            let (mut flow, cookies) = self.start(&svc, FlowType::Browser, &headers, request_url);
            flow.return_to = return_to;
            before_hooks(&svc, &flow, &hook_req).await?;
            save(&svc, &flow).await?;
            if json_client {
                return Ok(json_with(StatusCode::OK, wire(&flow), &cookies));
            }
            Ok(see_other(&with_flow(self.ui_url(&svc), flow.id), &cookies))
        }
        .await;
        match result {
            Ok(res) => res,
            Err(e) => error_for(&svc, json_client, e).await,
        }
    }

    /// `GET /self-service/{kind}/api`.
    pub async fn init_api(
        &self,
        svc: SharedService,
        headers: HeaderMap,
        uri: Uri,
        q: InitQuery,
    ) -> Response {
        let result: Result<Response, ApiError> = async {
            self.enabled(&svc)?;
            let return_to = check_return_to(&svc, q.return_to.as_deref())?;
            let request_url = request::request_url(&svc.settings.public_base_url, &uri);
            let hook_req = RequestContext::new("GET", request_url.clone(), &headers);
            let (mut flow, _) = self.start(&svc, FlowType::Api, &headers, request_url);
            flow.return_to = return_to;
            before_hooks(&svc, &flow, &hook_req).await?;
            save(&svc, &flow).await?;
            Ok(json_with(StatusCode::OK, wire(&flow), &[]))
        }
        .await;
        result.unwrap_or_else(IntoResponse::into_response)
    }

    /// `GET /self-service/{kind}/flows?id=`.
    pub async fn get_flow(
        &self,
        svc: SharedService,
        headers: HeaderMap,
        q: FlowIdQuery,
    ) -> Response {
        let result: Result<Response, ApiError> = async {
            let flow = load(&svc, self.kind, flow_id(q.id.as_deref())?).await?;
            if flow.flow_type == FlowType::Browser {
                let cookie_raw =
                    cookie(&headers, &svc.settings.cookies.csrf_name).unwrap_or_default();
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

    /// An expired flow: browsers get a new one with the expiry message; others get 410.
    pub async fn expired(
        &self,
        svc: &Service,
        old: &Flow,
        json_client: bool,
    ) -> Result<Response, ApiError> {
        let mut flow = (self.new_flow)(svc, old.flow_type, old.request_url.clone());
        flow.return_to = old.return_to.clone();
        if old.flow_type == FlowType::Browser {
            flow.internal.csrf_token = old.internal.csrf_token.clone();
            flow.ui.nodes.insert(0, csrf_node(&old.internal.csrf_token));
        }
        let now = svc.clock.now();
        flow.ui.messages.push(
            self.kind
                .expired_message((now - old.expires_at).whole_minutes(), old.expires_at),
        );
        save(svc, &flow).await?;
        if old.flow_type == FlowType::Browser && !json_client {
            return Ok(see_other(&with_flow(self.ui_url(svc), flow.id), &[]));
        }
        Err(expired_error(svc, old).with("use_flow_id", json!(flow.id)))
    }

    /// Reads a submission: keeps its `transient_payload` for mails and hooks, and says what
    /// it asks for (`email` wins over `code`: it asks for a new code, as in Kratos).
    pub fn step(&self, flow: &mut Flow, body: &Value) -> Step {
        if let Some(p) = body.get("transient_payload").filter(|p| p.is_object()) {
            flow.internal.transient_payload = Some(p.clone());
        }
        let text = |k: &str| {
            body.get(k)
                .and_then(Value::as_str)
                .unwrap_or("")
                .trim()
                .to_string()
        };
        let (method, email, code) = (text("method"), text("email"), text("code"));
        let strategy = flow.active.clone().unwrap_or_else(|| "code".into());
        flow.ui.clear_messages();
        let names_other = !method.is_empty() && method != strategy;
        if names_other || (method.is_empty() && email.is_empty() && code.is_empty()) {
            let (id, text) = self.no_strategy;
            flow.ui.messages.push(UiText::error(id, text));
            return Step::Refused(StatusCode::BAD_REQUEST);
        }
        if flow.state == "passed_challenge" {
            flow.ui.messages.push(UiText::error(
                self.already_done,
                "The request was already completed successfully and can not be retried.",
            ));
            return Step::Refused(StatusCode::BAD_REQUEST);
        }
        if !email.is_empty() {
            return Step::Send(email);
        }
        if !code.is_empty() && strategy == "code" {
            return Step::Check(code);
        }
        let name = if flow.state == "sent_email" && strategy == "code" {
            "code"
        } else {
            "email"
        };
        flow.ui.add_message(
            Some(name),
            UiText::error(4000002, format!("Property {name} is missing."))
                .with_context(json!({"property": name})),
        );
        Step::Refused(StatusCode::BAD_REQUEST)
    }

    /// A mailed link that does not work: a new flow of the same type carrying `message`,
    /// where the user can ask for another link (browsers are sent to its page).
    pub async fn retry_with(
        &self,
        svc: &Service,
        old: &Flow,
        headers: &HeaderMap,
        message: UiText,
    ) -> Result<Response, ApiError> {
        let (mut flow, cookies) = self.start(svc, old.flow_type, headers, old.request_url.clone());
        flow.return_to = old.return_to.clone();
        flow.ui.messages.push(message);
        save(svc, &flow).await?;
        let to = match flow.flow_type {
            FlowType::Browser => with_flow(self.ui_url(svc), flow.id),
            FlowType::Api => svc.settings.public_url(&format!(
                "self-service/{}/flows?id={}",
                self.kind.as_str(),
                flow.id
            )),
        };
        Ok(see_other(&to, &cookies))
    }

    /// Saves the flow and answers: HTML browsers go back to the form, others get the flow.
    pub async fn answer(
        &self,
        svc: &Service,
        flow: &Flow,
        status: StatusCode,
        json_client: bool,
    ) -> Result<Response, ApiError> {
        save(svc, flow).await?;
        if flow.flow_type == FlowType::Browser && !json_client {
            return Ok(see_other(&with_flow(self.ui_url(svc), flow.id), &[]));
        }
        Ok(json_with(status, wire(flow), &[]))
    }
}

/// The four routes of a code flow; `submit` and `link` are the flow's own handlers.
#[macro_export]
macro_rules! code_flow_routes {
    ($cf:expr, $base:literal, $submit:path, $link:path) => {{
        use axum::body::Body;
        use axum::extract::{Query, State};
        use axum::http::{HeaderMap, Request, Uri};
        use axum::response::IntoResponse;
        use axum::routing::get;
        use $crate::api::flows::{FlowIdQuery, InitQuery, query};
        use $crate::service::SharedService;
        axum::Router::new()
            .route(
                concat!("/self-service/", $base, "/browser"),
                get(
                    |State(s): State<SharedService>,
                     h: HeaderMap,
                     uri: Uri,
                     q: Result<Query<InitQuery>, _>| async move {
                        match query(q) {
                            Ok(q) => $cf.init_browser(s, h, uri, q).await,
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
                            Ok(q) => $cf.init_api(s, h, uri, q).await,
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
                            Ok(q) => $cf.get_flow(s, h, q).await,
                            Err(e) => e.into_response(),
                        }
                    },
                ),
            )
            .route(
                concat!("/self-service/", $base),
                get(
                    |State(s): State<SharedService>,
                     h: HeaderMap,
                     uri: Uri,
                     q: Result<Query<_>, _>| async move {
                        match query(q) {
                            Ok(q) => $link(s, h, uri, q).await,
                            Err(e) => e.into_response(),
                        }
                    },
                )
                .post(
                    |State(s): State<SharedService>,
                     q: Result<Query<FlowIdQuery>, _>,
                     req: Request<Body>| async move {
                        match query(q) {
                            Ok(q) => $submit(s, q, req).await,
                            Err(e) => e.into_response(),
                        }
                    },
                ),
            )
    }};
}
