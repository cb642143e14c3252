//! The courier's admin API: `GET /admin/courier/messages` (keyset pages, newest first,
//! filtered by `status` and `recipient`) and `GET /admin/courier/messages/{id}` with the
//! message's dispatches. Subjects and bodies are redacted outside dev mode, as in Kratos.

use super::admin::{first, query_pairs, respond};
use super::respond::json_with;
use crate::courier::message::{Content, Status};
use crate::service::{Service, SharedService};
use crate::store::MessageFilter;
use axum::Router;
use axum::extract::{Path, RawQuery, State};
use axum::http::{HeaderValue, StatusCode};
use axum::response::Response;
use axum::routing::get;
use gatehouse_core::ApiError;
use gatehouse_core::pagination::{PageRequest, link_header};
use serde_json::Value;

fn content(svc: &Service) -> Content {
    if svc.settings.dev {
        Content::Shown
    } else {
        Content::Redacted
    }
}

async fn list_messages(State(svc): State<SharedService>, RawQuery(q): RawQuery) -> Response {
    respond(
        async {
            let pairs = query_pairs(q);
            let page = PageRequest::parse(
                first(&pairs, "page_size"),
                first(&pairs, "page_token"),
                250,
                1000,
            )?;
            let status = match first(&pairs, "status") {
                None => None,
                Some(s) => Some(Status::parse(s).ok_or_else(|| {
                    ApiError::bad_request(format!(
                        "Message status is not valid: {s:?} is not one of queued, sent, processing, abandoned"
                    ))
                })?),
            };
            let filter = MessageFilter {
                status,
                recipient: first(&pairs, "recipient")
                    .filter(|r| !r.is_empty())
                    .map(str::to_string),
            };
            let mut messages = svc
                .store
                .list_courier_messages(&filter, page.after.as_deref(), page.size + 1)
                .await?;
            let next = if messages.len() > page.size as usize {
                messages.truncate(page.size as usize);
                messages.last().map(|m| m.id.to_string())
            } else {
                None
            };
            let shown = content(&svc);
            let items: Vec<Value> = messages.iter().map(|m| m.to_json(shown, None)).collect();
            let mut res = json_with(StatusCode::OK, Value::Array(items), &[]);
            // The links keep the filters, so following `next` stays within them.
            let mut path = String::from("/admin/courier/messages");
            let mut query = url::form_urlencoded::Serializer::new(String::new());
            if let Some(s) = filter.status {
                query.append_pair("status", s.as_str());
            }
            if let Some(r) = &filter.recipient {
                query.append_pair("recipient", r);
            }
            let query = query.finish();
            if !query.is_empty() {
                path.push('?');
                path.push_str(&query);
            }
            if let Ok(v) = HeaderValue::from_str(&link_header(&path, page.size, next.as_deref())) {
                res.headers_mut().insert("link", v);
            }
            Ok(res)
        }
        .await,
    )
}

async fn get_message(State(svc): State<SharedService>, Path(id): Path<String>) -> Response {
    respond(
        async {
            let id = uuid::Uuid::parse_str(&id).map_err(|e| {
                ApiError::bad_request(format!("could not parse parameter {{id}} as UUID: {e}"))
                    .message(e.to_string())
            })?;
            let message = svc
                .store
                .get_courier_message(id)
                .await?
                .ok_or_else(|| ApiError::not_found("Unable to locate the resource"))?;
            let dispatches = svc.store.courier_dispatches(id).await?;
            Ok(json_with(
                StatusCode::OK,
                message.to_json(content(&svc), Some(&dispatches)),
                &[],
            ))
        }
        .await,
    )
}

/// Mounted under `/admin` and without the prefix, like every admin route.
pub fn routes() -> Router<SharedService> {
    Router::new()
        .route("/courier/messages", get(list_messages))
        .route("/courier/messages/{id}", get(get_message))
}
