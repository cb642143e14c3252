//! The dev mailbox on the public port: `/ui/mail` and `/ui/mail/{id}`. Mounted only in dev
//! mode (`public_router` leaves it out otherwise, so the paths are a 404), since messages
//! carry codes and links that let anyone who reads them into an account.

use crate::courier::message::Message;
use crate::service::SharedService;
use axum::Router;
use axum::extract::{Path, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{Html, IntoResponse, Response};
use axum::routing::get;
use gatehouse_core::ApiError;
use gatehouse_core::clock::rfc3339;
use serde_json::{Value, json};

/// How many messages the mailbox lists.
const SHOWN: u32 = 200;

fn page(body: String) -> Response {
    let mut res = (StatusCode::OK, Html(body)).into_response();
    // No requests to anywhere: e-mail images stay unloaded, the HTML body's frame is
    // sandboxed (no scripts), and this page is never framed itself.
    res.headers_mut().insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(
            "default-src 'none'; style-src 'unsafe-inline'; img-src data:; form-action 'self'; frame-ancestors 'none'",
        ),
    );
    res.headers_mut()
        .insert("x-frame-options", HeaderValue::from_static("DENY"));
    res.headers_mut()
        .insert("referrer-policy", HeaderValue::from_static("no-referrer"));
    res
}

fn summary(m: &Message) -> Value {
    json!({
        "id": m.id,
        "recipient": m.recipient,
        "subject": m.subject,
        "status": m.status.as_str(),
        "created_at": rfc3339(m.created_at),
    })
}

/// The first non-empty string among `keys` in the message's template data.
fn data_field(m: &Message, keys: &[&str]) -> String {
    keys.iter()
        .filter_map(|k| m.template_data.get(*k).and_then(Value::as_str))
        .find(|s| !s.is_empty())
        .unwrap_or("")
        .to_string()
}

async fn mailbox(State(svc): State<SharedService>) -> Response {
    match svc
        .store
        .list_courier_messages(&Default::default(), None, SHOWN)
        .await
    {
        Ok(messages) => {
            let items: Vec<Value> = messages.iter().map(summary).collect();
            page(gatehouse_ui::mailbox_page(&items, &svc.branding))
        }
        Err(e) => ApiError::from(e).into_response(),
    }
}

async fn mail(State(svc): State<SharedService>, Path(id): Path<String>) -> Response {
    let Ok(id) = uuid::Uuid::parse_str(&id) else {
        return ApiError::not_found("There is no such message.").into_response();
    };
    let message = match svc.store.get_courier_message(id).await {
        Ok(Some(m)) => m,
        Ok(None) => return ApiError::not_found("There is no such message.").into_response(),
        Err(e) => return ApiError::from(e).into_response(),
    };
    let mut view = summary(&message);
    view["template_type"] = json!(message.template_type);
    view["body_plaintext"] = json!(message.body_plaintext);
    view["body_html"] = json!(message.body_html);
    view["last_error"] = json!(message.last_error.clone().unwrap_or_default());
    view["code"] = json!(data_field(
        &message,
        &[
            "verification_code",
            "recovery_code",
            "login_code",
            "registration_code"
        ]
    ));
    view["link"] = json!(data_field(&message, &["verification_url", "recovery_url"]));
    page(gatehouse_ui::mail_page(&view, &svc.branding))
}

pub fn routes() -> Router<SharedService> {
    Router::new()
        .route("/ui/mail", get(mailbox))
        .route("/ui/mail/{id}", get(mail))
}
