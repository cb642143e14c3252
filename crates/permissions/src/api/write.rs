//! The write port: `PUT`, `DELETE` and `PATCH /admin/relation-tuples`. A PATCH is one
//! transaction: if any of its actions is refused, none is applied.

use super::params;
use super::read::unknown_namespace;
use crate::SharedPermissions;
use crate::store::Change;
use crate::tuple::{Object, QUERY_KEYS, Query, RelationTuple, TupleBody};
use axum::Json;
use axum::extract::{RawQuery, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::put;
use gatehouse_core::ApiError;
use serde::Deserialize;

pub fn routes() -> axum::Router<SharedPermissions> {
    axum::Router::new().route(
        "/admin/relation-tuples",
        put(create).delete(delete).patch(patch),
    )
}

fn now_micros() -> i64 {
    gatehouse_core::clock::to_micros(time::OffsetDateTime::now_utc())
}

/// The tuple's namespace and, for a subject set, the set's namespace are both known: Keto
/// looks up both before it writes, and answers 404 for either.
fn known(p: &SharedPermissions, t: &RelationTuple) -> Result<(), ApiError> {
    let set_namespace = match &t.subject {
        crate::tuple::Subject::Set(s) => Some(s.namespace.as_str()),
        crate::tuple::Subject::Id(_) => None,
    };
    let namespaces = p.namespaces.get();
    match std::iter::once(t.namespace.as_str())
        .chain(set_namespace)
        .find(|ns| !namespaces.exists(ns))
    {
        Some(unknown) => Err(unknown_namespace(unknown)),
        None => Ok(()),
    }
}

fn parse_body(body: &[u8]) -> Result<(TupleBody, RelationTuple), ApiError> {
    let b = TupleBody::from_json(body)
        .map_err(|e| ApiError::bad_request(format!("The request body is invalid: {e}")))?;
    let t = b
        .clone()
        .into_tuple()
        .map_err(|e| ApiError::bad_request(e.0))?;
    Ok((b, t))
}

/// `PUT`: 201 with the tuple and where to read it.
async fn create(State(p): State<SharedPermissions>, super::Body(body): super::Body) -> Response {
    let result: Result<Response, ApiError> = async {
        let (echo, t) = parse_body(&body)?;
        known(&p, &t)?;
        p.store
            .transact(&[Change::Insert(t.clone())], now_micros())
            .await
            .map_err(ApiError::internal)?;
        let mut res = (StatusCode::CREATED, Json(echo)).into_response();
        if let Ok(v) = HeaderValue::from_str(&format!("/relation-tuples?{}", location_query(&t))) {
            res.headers_mut().insert(header::LOCATION, v);
        }
        Ok(res)
    }
    .await;
    result.unwrap_or_else(IntoResponse::into_response)
}

fn location_query(t: &RelationTuple) -> String {
    let mut q = url::form_urlencoded::Serializer::new(String::new());
    q.append_pair("namespace", &t.namespace)
        .append_pair("object", &t.object)
        .append_pair("relation", &t.relation);
    match &t.subject {
        crate::tuple::Subject::Id(id) => {
            q.append_pair("subject_id", id);
        }
        crate::tuple::Subject::Set(s) => {
            q.append_pair("subject_set.namespace", &s.namespace)
                .append_pair("subject_set.object", &s.object)
                .append_pair("subject_set.relation", &s.relation);
        }
    }
    q.finish()
}

/// `DELETE ?namespace=...[&filters]`: every match; the namespace is required, the body must
/// be empty and, unlike Keto's other endpoints, an unknown key is refused (as Keto refuses
/// it): a misspelt filter ignored would widen the delete, so a mistyped call cannot wipe
/// more than it names.
async fn delete(
    State(p): State<SharedPermissions>,
    RawQuery(q): RawQuery,
    super::Body(body): super::Body,
) -> Response {
    let result: Result<Response, ApiError> = async {
        if !body.is_empty() {
            return Err(ApiError::bad_request(
                "DELETE takes its filter from the query string; the body must be empty",
            ));
        }
        let params = params(q.as_deref())?;
        params
            .only(QUERY_KEYS)
            .map_err(|e| ApiError::bad_request(e.0))?;
        let query = Query::from_params(&params).map_err(|e| ApiError::bad_request(e.0))?;
        let Some(ns) = &query.namespace else {
            return Err(ApiError::bad_request(
                "the namespace query parameter is required",
            ));
        };
        if !p.namespaces.get().exists(ns) {
            return Err(unknown_namespace(ns));
        }
        p.store
            .delete_matching(&query)
            .await
            .map_err(ApiError::internal)?;
        Ok(StatusCode::NO_CONTENT.into_response())
    }
    .await;
    result.unwrap_or_else(IntoResponse::into_response)
}

#[derive(Deserialize)]
struct Delta {
    action: String,
    relation_tuple: Option<Object<TupleBody>>,
}

/// `PATCH`: inserts and deletes, all or nothing.
async fn patch(State(p): State<SharedPermissions>, super::Body(body): super::Body) -> Response {
    let result: Result<Response, ApiError> = async {
        let deltas: Vec<Object<Delta>> = serde_json::from_slice(&body)
            .map_err(|e| ApiError::bad_request(format!("The request body is invalid: {e}")))?;
        // Keto's order: every delta is checked for shape first, then namespaces are
        // looked up (404), so the same bad body always gets the same answer.
        let mut changes = Vec::with_capacity(deltas.len());
        for (i, Object(d)) in deltas.into_iter().enumerate() {
            let Some(Object(tb)) = d.relation_tuple else {
                return Err(ApiError::bad_request(format!(
                    "[{i}]: relation_tuple is required"
                )));
            };
            let t = tb
                .into_tuple()
                .map_err(|e| ApiError::bad_request(format!("[{i}]: {}", e.0)))?;
            changes.push(match d.action.as_str() {
                "insert" => Change::Insert(t),
                "delete" => Change::Delete(t),
                other => {
                    return Err(ApiError::bad_request(format!(
                        "[{i}]: unknown action {other:?}, expected insert or delete"
                    )));
                }
            });
        }
        for change in &changes {
            let (Change::Insert(t) | Change::Delete(t)) = change;
            known(&p, t)?;
        }
        p.store
            .transact(&changes, now_micros())
            .await
            .map_err(ApiError::internal)?;
        Ok(StatusCode::NO_CONTENT.into_response())
    }
    .await;
    result.unwrap_or_else(IntoResponse::into_response)
}
