//! The read port: `GET /relation-tuples` (list, paginated), check (`/check` answers 403
//! when denied, `/check/openapi` always 200; Keto v0.8's `/check` too), batch check,
//! expand, `GET /namespaces`.

use super::params;
use crate::SharedPermissions;
use crate::engine::CheckError;
use crate::tuple::Params;
use crate::tuple::{Object, QUERY_KEYS, Query, RelationTuple, SubjectSet, TupleBody};
use axum::Json;
use axum::extract::{RawQuery, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use gatehouse_core::ApiError;
use serde::Deserialize;
use serde_json::{Value, json};

pub fn routes() -> axum::Router<SharedPermissions> {
    axum::Router::new()
        .route("/relation-tuples", get(list))
        .route(
            "/relation-tuples/check",
            get(check_get_mirror).post(check_post_mirror),
        )
        .route(
            "/relation-tuples/check/openapi",
            get(check_get_openapi).post(check_post_openapi),
        )
        .route("/relation-tuples/batch/check", post(batch_check))
        .route("/relation-tuples/expand", get(expand))
        .route("/namespaces", get(namespaces))
        .route("/relation-tuples/list-objects", get(list_objects))
        .route("/relation-tuples/list-subjects", get(list_subjects))
        // Keto up to v0.8 answered checks here (renamed in v0.9); applications written
        // then, such as the second reference setup's, call it still.
        .route("/check", get(check_get_mirror).post(check_post_mirror))
}

const DEFAULT_PAGE: usize = 100;
const MAX_PAGE: usize = 500;

/// Page tokens are opaque to clients: the position after which the next page starts.
fn encode_token(seq: i64) -> String {
    gatehouse_core::token::b64_url(format!("gh1:{seq}").as_bytes())
}

fn decode_token(token: &str) -> Result<i64, ApiError> {
    gatehouse_core::token::b64_url_decode(token)
        .and_then(|b| String::from_utf8(b).ok())
        .and_then(|s| s.strip_prefix("gh1:").and_then(|n| n.parse().ok()))
        .ok_or_else(|| ApiError::bad_request("The page token is invalid."))
}

async fn list(State(p): State<SharedPermissions>, RawQuery(q): RawQuery) -> Response {
    let result: Result<Response, ApiError> = async {
        let params = params(q.as_deref())?;
        let query = Query::from_params(&params).map_err(|e| ApiError::bad_request(e.0))?;
        if let Some(ns) = &query.namespace
            && !p.namespaces.get().exists(ns)
        {
            return Err(unknown_namespace(ns));
        }
        let size = match params.get("page_size") {
            None | Some("") => DEFAULT_PAGE,
            Some(s) => match s.parse::<usize>() {
                Ok(n) if (1..=MAX_PAGE).contains(&n) => n,
                _ => {
                    return Err(ApiError::bad_request(format!(
                        "page_size must be an integer between 1 and {MAX_PAGE}"
                    )));
                }
            },
        };
        let after = match params.get("page_token") {
            None | Some("") => 0,
            Some(t) => decode_token(t)?,
        };
        let (tuples, next) = p
            .store
            .list(&query, after, size)
            .await
            .map_err(ApiError::internal)?;
        let body: Vec<TupleBody> = tuples.iter().map(TupleBody::from).collect();
        Ok(Json(json!({
            "relation_tuples": body,
            "next_page_token": next.map(encode_token).unwrap_or_default(),
        }))
        .into_response())
    }
    .await;
    result.unwrap_or_else(IntoResponse::into_response)
}

pub fn unknown_namespace(ns: &str) -> ApiError {
    ApiError::not_found(format!("Unknown namespace with name \"{ns}\"."))
}

fn max_depth(params: &Params<'_>) -> Result<Option<u32>, ApiError> {
    match params.get("max-depth") {
        None | Some("") => Ok(None),
        Some(s) => s
            .parse::<i64>()
            .map(|d| u32::try_from(d).ok())
            .map_err(|_| ApiError::bad_request("max-depth must be an integer")),
    }
}

/// A check from the query string or a JSON body; `mirror` answers 403 when denied.
async fn check(
    p: SharedPermissions,
    q: Option<String>,
    body: Option<axum::body::Bytes>,
    mirror: bool,
) -> Response {
    let result: Result<Response, ApiError> = async {
        let params = params(q.as_deref())?;
        let depth = max_depth(&params)?;
        let tuple = match body {
            Some(b) => {
                let parsed = TupleBody::from_json(&b)
                    .map_err(|e| ApiError::bad_request(format!("could not unmarshal json: {e}")))?;
                // Keto looks the namespace up before anything else: an unknown (or empty)
                // one is a denial even when the rest of the body is incomplete.
                if !p.namespaces.get().exists(&parsed.namespace) {
                    None
                } else {
                    Some(
                        parsed
                            .into_tuple()
                            .map_err(|e| ApiError::bad_request(e.0))?,
                    )
                }
            }
            None => Some(
                Query::from_params(&params)
                    .and_then(Query::into_tuple)
                    .map_err(|e| ApiError::bad_request(e.0))?,
            ),
        };
        let allowed = match tuple {
            Some(t) => run_check(&p, &t, depth).await?,
            None => false,
        };
        let status = if allowed || !mirror {
            StatusCode::OK
        } else {
            StatusCode::FORBIDDEN
        };
        Ok((status, allowed_body(allowed)).into_response())
    }
    .await;
    result.unwrap_or_else(IntoResponse::into_response)
}

/// What a batch check item says went wrong: the envelope's reason, or its message when it
/// has none (an internal error), never `null`.
fn error_text(e: &ApiError) -> Value {
    let envelope = e.to_json();
    let error = &envelope["error"];
    match error.get("reason").filter(|r| r.is_string()) {
        Some(reason) => reason.clone(),
        None => error["message"].clone(),
    }
}

/// `{"allowed":true}` or `{"allowed":false}`: the answer to every check, written out once
/// rather than built and serialized per request.
fn allowed_body(allowed: bool) -> impl IntoResponse {
    let body: &'static str = if allowed {
        r#"{"allowed":true}"#
    } else {
        r#"{"allowed":false}"#
    };
    (
        [(axum::http::header::CONTENT_TYPE, "application/json")],
        body,
    )
}

async fn run_check(
    p: &SharedPermissions,
    t: &RelationTuple,
    depth: Option<u32>,
) -> Result<bool, ApiError> {
    p.engine()
        .check(t, p.depth(depth))
        .await
        .map(|v| v.allowed())
        .map_err(check_error)
}

async fn check_get_mirror(State(p): State<SharedPermissions>, RawQuery(q): RawQuery) -> Response {
    check(p, q, None, true).await
}
async fn check_post_mirror(
    State(p): State<SharedPermissions>,
    RawQuery(q): RawQuery,
    super::Body(body): super::Body,
) -> Response {
    check(p, q, Some(body), true).await
}
async fn check_get_openapi(State(p): State<SharedPermissions>, RawQuery(q): RawQuery) -> Response {
    check(p, q, None, false).await
}
async fn check_post_openapi(
    State(p): State<SharedPermissions>,
    RawQuery(q): RawQuery,
    super::Body(body): super::Body,
) -> Response {
    check(p, q, Some(body), false).await
}

/// A batch is decoded whole, as Keto does: an item that is not shaped like a tuple (a
/// number, `null`, a field of the wrong type) makes the request a 400. Items shaped right
/// but incomplete get their own error in the answer.
#[derive(Deserialize)]
struct BatchBody {
    #[serde(default)]
    tuples: Option<Vec<Object<TupleBody>>>,
}

async fn batch_check(
    State(p): State<SharedPermissions>,
    RawQuery(q): RawQuery,
    super::Body(body): super::Body,
) -> Response {
    let result: Result<Response, ApiError> = async {
        let depth = max_depth(&params(q.as_deref())?)?;
        let batch: BatchBody = serde_json::from_slice(&body)
            .map_err(|e| ApiError::bad_request(format!("could not unmarshal json: {e}")))?;
        let tuples = batch.tuples.unwrap_or_default();
        let max = p.config.limit.max_batch_check_size;
        if tuples.len() > max {
            return Err(ApiError::bad_request(format!(
                "batch exceeds max size of {max}"
            )));
        }
        let mut results = Vec::with_capacity(tuples.len());
        for Object(body) in tuples {
            let item = match body.into_tuple().map_err(|e| e.0) {
                Err(e) => json!({"allowed": false, "error": e}),
                Ok(t) if !p.namespaces.get().exists(&t.namespace) => {
                    json!({"allowed": false, "error": format!("Unknown namespace with name \"{}\".", t.namespace)})
                }
                Ok(t) => match run_check(&p, &t, depth).await {
                    Ok(allowed) => json!({"allowed": allowed}),
                    Err(e) => json!({"allowed": false, "error": error_text(&e)}),
                },
            };
            results.push(item);
        }
        Ok(Json(json!({"results": results})).into_response())
    }
    .await;
    result.unwrap_or_else(IntoResponse::into_response)
}

async fn expand(State(p): State<SharedPermissions>, RawQuery(q): RawQuery) -> Response {
    let result: Result<Response, ApiError> = async {
        let params = params(q.as_deref())?;
        let depth = max_depth(&params)?;
        let get = |k: &str| params.get(k).map(str::to_owned);
        let (Some(namespace), Some(object), Some(relation)) =
            (get("namespace"), get("object"), get("relation"))
        else {
            return Err(ApiError::bad_request(
                "namespace, object and relation are required",
            ));
        };
        if !p.namespaces.get().exists(&namespace) {
            return Err(unknown_namespace(&namespace));
        }
        let set = SubjectSet {
            namespace,
            object,
            relation,
        };
        let tree = p
            .engine()
            .expand(&set, p.depth(depth), p.config.limit.max_expand_size)
            .await
            .map_err(ApiError::internal)?;
        Ok(Json(tree).into_response())
    }
    .await;
    result.unwrap_or_else(IntoResponse::into_response)
}

async fn namespaces(State(p): State<SharedPermissions>) -> Response {
    let names: Vec<Value> = p
        .namespaces
        .get()
        .names()
        .iter()
        .map(|n| json!({"name": n}))
        .collect();
    Json(json!({"namespaces": names})).into_response()
}

/// `page_size` (1..=500, default 100) and the opaque `page_token` of a reverse lookup.
fn reverse_page(params: &Params<'_>) -> Result<(usize, Option<String>), ApiError> {
    let size = match params.get("page_size") {
        None | Some("") => DEFAULT_PAGE,
        Some(s) => match s.parse::<usize>() {
            Ok(n) if (1..=MAX_PAGE).contains(&n) => n,
            _ => {
                return Err(ApiError::bad_request(format!(
                    "page_size must be an integer between 1 and {MAX_PAGE}"
                )));
            }
        },
    };
    let after = match params.get("page_token") {
        None | Some("") => None,
        Some(t) => Some(
            gatehouse_core::token::b64_url_decode(t)
                .and_then(|b| String::from_utf8(b).ok())
                .and_then(|s| s.strip_prefix("gh1r:").map(str::to_string))
                .ok_or_else(|| ApiError::bad_request("The page token is invalid."))?,
        ),
    };
    Ok((size, after))
}

fn reverse_token(after: Option<String>) -> String {
    after
        .map(|a| gatehouse_core::token::b64_url(format!("gh1r:{a}").as_bytes()))
        .unwrap_or_default()
}

fn check_error(e: CheckError) -> ApiError {
    match e {
        CheckError::UndefinedRelation {
            namespace,
            relation,
        } => ApiError::bad_request(format!(
            "relation {relation:?} does not exist in namespace {namespace:?}"
        )),
        e @ CheckError::TooWide { .. } => ApiError::bad_request(e.to_string()),
        CheckError::Store(e) => ApiError::internal(e),
    }
}

/// `GET /relation-tuples/list-objects?namespace=&relation=&subject_id=|subject_set.*=`
/// (gatehouse extension): the objects of a namespace on which the subject has the
/// relation, paginated.
async fn list_objects(State(p): State<SharedPermissions>, RawQuery(q): RawQuery) -> Response {
    let result: Result<Response, ApiError> = async {
        let params = params(q.as_deref())?;
        let depth = max_depth(&params)?;
        let (size, after) = reverse_page(&params)?;
        let known = [QUERY_KEYS, &["page_size", "page_token", "max-depth"]].concat();
        params
            .only(&known)
            .map_err(|e| ApiError::bad_request(e.0))?;
        let query = Query::from_params(&params).map_err(|e| ApiError::bad_request(e.0))?;
        let (Some(namespace), Some(relation), Some(subject)) =
            (query.namespace, query.relation, query.subject)
        else {
            return Err(ApiError::bad_request(
                "namespace, relation and a subject are required",
            ));
        };
        if !p.namespaces.get().exists(&namespace) {
            return Err(unknown_namespace(&namespace));
        }
        let page = p
            .engine()
            .list_objects(
                &namespace,
                &relation,
                &subject,
                p.depth(depth),
                after.as_deref(),
                size,
            )
            .await
            .map_err(check_error)?;
        Ok(
            Json(json!({"objects": page.items, "next_page_token": reverse_token(page.next)}))
                .into_response(),
        )
    }
    .await;
    result.unwrap_or_else(IntoResponse::into_response)
}

/// `GET /relation-tuples/list-subjects?namespace=&object=&relation=` (gatehouse
/// extension): the subjects that have the relation on the object, paginated.
async fn list_subjects(State(p): State<SharedPermissions>, RawQuery(q): RawQuery) -> Response {
    let result: Result<Response, ApiError> = async {
        let params = params(q.as_deref())?;
        let depth = max_depth(&params)?;
        let (size, after) = reverse_page(&params)?;
        let get = |k: &str| params.get(k).map(str::to_owned);
        let (Some(namespace), Some(object), Some(relation)) =
            (get("namespace"), get("object"), get("relation"))
        else {
            return Err(ApiError::bad_request(
                "namespace, object and relation are required",
            ));
        };
        params
            .only(&[
                "namespace",
                "object",
                "relation",
                "page_size",
                "page_token",
                "max-depth",
            ])
            .map_err(|e| ApiError::bad_request(e.0))?;
        if !p.namespaces.get().exists(&namespace) {
            return Err(unknown_namespace(&namespace));
        }
        let set = SubjectSet {
            namespace,
            object,
            relation,
        };
        let page = p
            .engine()
            .list_subjects(&set, p.depth(depth), after.as_deref(), size)
            .await
            .map_err(check_error)?;
        let subjects: Vec<Value> = page
            .items
            .iter()
            .map(|s| match s {
                crate::tuple::Subject::Id(id) => json!({"subject_id": id}),
                crate::tuple::Subject::Set(set) => json!({"subject_set": set}),
            })
            .collect();
        Ok(
            Json(json!({"subjects": subjects, "next_page_token": reverse_token(page.next)}))
                .into_response(),
        )
    }
    .await;
    result.unwrap_or_else(IntoResponse::into_response)
}
