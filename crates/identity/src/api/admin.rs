//! The admin API (port 4434): identities (create, get, list, update, patch, delete, batch)
//! and sessions (list, get, revoke, extend). Bodies are strict JSON: unknown fields are 400.

use super::request::MAX_BODY;
use super::respond::json_with;
use super::sessions::list_response;
use crate::credential::hash;
use crate::identity::{Credential, Identity, State as IdentityState, View};
use crate::service::{Service, SharedService};
use crate::store::{IdentityFilter, SessionFilter};
use axum::Router;
use axum::body::Body;
use axum::extract::{Path, RawQuery, State};
use axum::http::{HeaderValue, Request, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, patch};
use gatehouse_core::ApiError;
use gatehouse_core::pagination::{PageRequest, link_header};
use serde::Deserialize;
use serde_json::{Value, json};

type Result<T> = std::result::Result<T, ApiError>;

pub(super) fn respond(r: Result<Response>) -> Response {
    r.unwrap_or_else(IntoResponse::into_response)
}

/// Reads a strict JSON body.
async fn json_body<T: for<'de> Deserialize<'de>>(req: Request<Body>) -> Result<T> {
    let ct = req
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .to_string();
    if !ct.is_empty() && !ct.starts_with("application/json") {
        return Err(ApiError::new(StatusCode::UNSUPPORTED_MEDIA_TYPE)
            .reason("Content-Type must be application/json."));
    }
    let bytes = axum::body::to_bytes(req.into_body(), MAX_BODY)
        .await
        .map_err(|_| {
            ApiError::new(StatusCode::PAYLOAD_TOO_LARGE)
                .reason(format!("The request body exceeds {MAX_BODY} bytes."))
        })?;
    serde_json::from_slice(&bytes)
        .map_err(|e| ApiError::bad_request(format!("Unable to decode JSON body: {e}")))
}

fn parse_id(id: &str) -> Result<uuid::Uuid> {
    uuid::Uuid::parse_str(id).map_err(|_| ApiError::not_found("Unable to locate the resource"))
}

/// Query parameters, which may repeat (`include_credential`, `ids`).
pub(super) fn query_pairs(raw: Option<String>) -> Vec<(String, String)> {
    raw.map(|q| {
        url::form_urlencoded::parse(q.as_bytes())
            .into_owned()
            .collect()
    })
    .unwrap_or_default()
}

pub(super) fn first<'a>(pairs: &'a [(String, String)], key: &str) -> Option<&'a str> {
    pairs
        .iter()
        .find(|(k, _)| k == key)
        .map(|(_, v)| v.as_str())
}

/// Kratos's credential types.
const KNOWN: &[&str] = &[
    "password",
    "oidc",
    "totp",
    "lookup_secret",
    "webauthn",
    "code",
    "passkey",
    "profile",
    "saml",
];

fn include_credentials(pairs: &[(String, String)]) -> Result<Vec<String>> {
    let kinds: Vec<String> = pairs
        .iter()
        .filter(|(k, _)| k == "include_credential")
        .map(|(_, v)| v.clone())
        .collect();
    if let Some(bad) = kinds.iter().find(|k| !KNOWN.contains(&k.as_str())) {
        return Err(ApiError::bad_request(format!(
            "Unknown credential type in include_credential: {bad}"
        )));
    }
    Ok(kinds)
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct PasswordConfigBody {
    password: Option<String>,
    hashed_password: Option<String>,
    #[serde(default)]
    use_password_migration_hook: bool,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct PasswordCredentialBody {
    config: PasswordConfigBody,
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct CredentialsBody {
    password: Option<PasswordCredentialBody>,
    /// Accepted so Kratos payloads parse; OIDC credentials arrive with SSO support.
    #[allow(dead_code)]
    oidc: Option<Value>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct AddressBody {
    value: String,
    via: String,
    #[serde(default)]
    verified: bool,
    #[serde(default)]
    status: Option<String>,
    // Exported addresses carry these; ids and times are assigned anew on import.
    #[serde(default)]
    #[allow(dead_code)]
    id: Option<Value>,
    #[serde(default)]
    #[allow(dead_code)]
    verified_at: Option<Value>,
    #[serde(default)]
    #[allow(dead_code)]
    created_at: Option<Value>,
    #[serde(default)]
    #[allow(dead_code)]
    updated_at: Option<Value>,
}

/// `createIdentityBody`.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct CreateIdentityBody {
    schema_id: String,
    traits: Value,
    #[serde(default)]
    state: Option<String>,
    #[serde(default)]
    metadata_public: Option<Value>,
    #[serde(default)]
    metadata_admin: Option<Value>,
    #[serde(default)]
    credentials: Option<CredentialsBody>,
    #[serde(default)]
    verifiable_addresses: Option<Vec<AddressBody>>,
    // Recovery addresses follow from the traits and the schema, as in Kratos.
    #[serde(default)]
    #[allow(dead_code)]
    recovery_addresses: Option<Vec<Value>>,
    #[serde(default)]
    external_id: Option<String>,
    // Organizations are not supported; accepted so exported identities import.
    #[serde(default)]
    #[allow(dead_code)]
    organization_id: Option<Value>,
}

/// `updateIdentityBody` (PUT): omitted metadata is cleared.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct UpdateIdentityBody {
    schema_id: String,
    traits: Value,
    state: String,
    #[serde(default)]
    metadata_public: Option<Value>,
    #[serde(default)]
    metadata_admin: Option<Value>,
    #[serde(default)]
    credentials: Option<CredentialsBody>,
    #[serde(default)]
    external_id: Option<String>,
}

fn parse_state(s: Option<&str>) -> Result<IdentityState> {
    match s {
        None | Some("") => Ok(IdentityState::Active),
        Some(s) => IdentityState::parse(s).ok_or_else(|| {
            ApiError::bad_request(format!(
                "identity state must be active or inactive, not {s:?}"
            ))
        }),
    }
}

/// Validates traits against the schema and fills addresses; errors list every problem.
fn apply_traits(svc: &Service, identity: &mut Identity, traits: Value) -> Result<()> {
    let schema = svc.schemas.get(&identity.schema_id).ok_or_else(|| {
        ApiError::bad_request(format!(
            "Unable to find JSON Schema ID: {}",
            identity.schema_id
        ))
    })?;
    if let Err(errors) = schema.validate_traits(&traits) {
        let messages: Vec<String> = errors
            .iter()
            .map(|e| {
                format!(
                    "{}: {}",
                    e.field.as_deref().unwrap_or("traits"),
                    e.message.text
                )
            })
            .collect();
        return Err(ApiError::bad_request(messages.join("; "))
            .message("The request was malformed or contained invalid parameters")
            .details(json!({"messages": errors.iter().map(|e| json!({"field": e.field, "message": e.message})).collect::<Vec<_>>()})));
    }
    let now = svc.clock.now();
    identity.set_addresses(
        schema.verifiable_addresses(&traits),
        schema.recovery_addresses(&traits),
        now,
    );
    let identifiers = schema.password_identifiers(&traits);
    if let Some(c) = identity
        .credentials
        .iter_mut()
        .find(|c| c.kind == "password")
    {
        c.identifiers = identifiers;
    }
    identity.traits = traits;
    Ok(())
}

/// Sets the password credential from a plaintext (hashed here) or an imported hash.
async fn set_password(
    svc: &Service,
    identity: &mut Identity,
    body: PasswordCredentialBody,
) -> Result<()> {
    let hashed = match (body.config.password, body.config.hashed_password) {
        (Some(p), None) => svc
            .hashes
            .hash(p)
            .await
            .map_err(|e| ApiError::bad_request(format!("unable to hash password: {e}")))?,
        (None, Some(h)) => {
            hash::validate_hash(&h)
                .map_err(|e| ApiError::bad_request(format!("unsupported hashed_password: {e}")))?;
            h
        }
        (None, None) if body.config.use_password_migration_hook => String::new(),
        _ => {
            return Err(ApiError::bad_request(
                "credentials.password.config needs exactly one of password or hashed_password",
            ));
        }
    };
    let now = svc.clock.now();
    let schema = svc.schemas.get(&identity.schema_id);
    let identifiers = schema
        .map(|s| s.password_identifiers(&identity.traits))
        .unwrap_or_default();
    let mut config = json!({"hashed_password": hashed});
    if body.config.use_password_migration_hook {
        config["use_password_migration_hook"] = json!(true);
    }
    identity.credentials.retain(|c| c.kind != "password");
    identity.credentials.push(Credential {
        id: uuid::Uuid::new_v4(),
        kind: "password".into(),
        identifiers,
        config,
        version: 0,
        created_at: now,
        updated_at: now,
    });
    Ok(())
}

fn apply_verified_imports(identity: &mut Identity, imports: Vec<AddressBody>) {
    for imp in imports {
        let value = if imp.via == "email" {
            imp.value.trim().to_lowercase()
        } else {
            imp.value.trim().to_string()
        };
        if let Some(a) = identity
            .verifiable_addresses
            .iter_mut()
            .find(|a| a.via == imp.via && a.value == value)
        {
            a.verified = imp.verified;
            a.status = imp.status.unwrap_or_else(|| {
                if imp.verified {
                    "completed".into()
                } else {
                    "pending".into()
                }
            });
            if imp.verified {
                a.verified_at = Some(a.created_at);
            }
        }
    }
}

async fn build_identity(svc: &Service, body: CreateIdentityBody) -> Result<Identity> {
    let now = svc.clock.now();
    let mut identity = Identity::new(body.schema_id, json!({}), now);
    identity.state = parse_state(body.state.as_deref())?;
    identity.metadata_public = body.metadata_public.filter(|v| !v.is_null());
    identity.metadata_admin = body.metadata_admin.filter(|v| !v.is_null());
    identity.external_id = body.external_id.filter(|e| !e.is_empty());
    apply_traits(svc, &mut identity, body.traits)?;
    if let Some(p) = body.credentials.and_then(|c| c.password) {
        set_password(svc, &mut identity, p).await?;
    }
    if let Some(imports) = body.verifiable_addresses {
        apply_verified_imports(&mut identity, imports);
    }
    Ok(identity)
}

async fn create_identity(State(svc): State<SharedService>, req: Request<Body>) -> Response {
    respond(
        async {
            let body: CreateIdentityBody = json_body(req).await?;
            let identity = build_identity(&svc, body).await?;
            svc.store.create_identity(&identity).await?;
            let mut res = json_with(
                StatusCode::CREATED,
                svc.identity_json(&identity, View::Admin),
                &[],
            );
            if let Ok(v) = HeaderValue::from_str(
                &svc.settings
                    .admin_url(&format!("admin/identities/{}", identity.id)),
            ) {
                res.headers_mut().insert(header::LOCATION, v);
            }
            Ok(res)
        }
        .await,
    )
}

async fn get_identity(
    State(svc): State<SharedService>,
    Path(id): Path<String>,
    RawQuery(q): RawQuery,
) -> Response {
    respond(
        async {
            let pairs = query_pairs(q);
            let include = include_credentials(&pairs)?;
            let identity = svc
                .store
                .get_identity(parse_id(&id)?)
                .await?
                .ok_or_else(|| ApiError::not_found("Unable to locate the resource"))?;
            Ok(json_with(
                StatusCode::OK,
                svc.identity_json(&identity, View::AdminWith(&include)),
                &[],
            ))
        }
        .await,
    )
}

async fn list_identities(State(svc): State<SharedService>, RawQuery(q): RawQuery) -> Response {
    respond(
        async {
            let pairs = query_pairs(q);
            let page = PageRequest::parse(
                first(&pairs, "page_size"),
                first(&pairs, "page_token"),
                250,
                1000,
            )?;
            let include = include_credentials(&pairs)?;
            let filter = IdentityFilter {
                credentials_identifier: first(&pairs, "credentials_identifier")
                    .filter(|s| !s.is_empty())
                    .map(|s| s.trim().to_lowercase()),
                ids: pairs
                    .iter()
                    .filter(|(k, _)| k == "ids")
                    .map(|(_, v)| v.clone())
                    .collect(),
            };
            if filter.credentials_identifier.is_some() && !filter.ids.is_empty() {
                return Err(ApiError::bad_request(
                    "You cannot combine multiple filters in this API",
                ));
            }
            if filter.ids.len() > 500 {
                return Err(ApiError::bad_request("ids may list at most 500 identities"));
            }
            let mut identities = svc
                .store
                .list_identities(&filter, page.after.as_deref(), page.size + 1)
                .await?;
            let next = if identities.len() > page.size as usize {
                identities.truncate(page.size as usize);
                identities.last().map(|i| i.id.to_string())
            } else {
                None
            };
            let items: Vec<Value> = identities
                .iter()
                .map(|i| svc.identity_json(i, View::AdminWith(&include)))
                .collect();
            let mut res = json_with(StatusCode::OK, Value::Array(items), &[]);
            if let Ok(v) = HeaderValue::from_str(&link_header(
                "/admin/identities",
                page.size,
                next.as_deref(),
            )) {
                res.headers_mut().insert("link", v);
            }
            Ok(res)
        }
        .await,
    )
}

async fn update_identity(
    State(svc): State<SharedService>,
    Path(id): Path<String>,
    req: Request<Body>,
) -> Response {
    respond(
        async {
            let id = parse_id(&id)?;
            let body: UpdateIdentityBody = json_body(req).await?;
            let mut identity = svc
                .store
                .get_identity(id)
                .await?
                .ok_or_else(|| ApiError::not_found("Unable to locate the resource"))?;
            let state = parse_state(Some(&body.state))?;
            if state != identity.state {
                identity.state_changed_at = Some(svc.clock.now());
            }
            identity.state = state;
            identity.schema_id = body.schema_id;
            identity.metadata_public = body.metadata_public.filter(|v| !v.is_null());
            identity.metadata_admin = body.metadata_admin.filter(|v| !v.is_null());
            identity.external_id = body.external_id.filter(|e| !e.is_empty());
            apply_traits(&svc, &mut identity, body.traits)?;
            if let Some(p) = body.credentials.and_then(|c| c.password) {
                set_password(&svc, &mut identity, p).await?;
            }
            save_updated(&svc, identity).await
        }
        .await,
    )
}

async fn save_updated(svc: &Service, mut identity: Identity) -> Result<Response> {
    identity.updated_at = svc.clock.now();
    if !svc.store.update_identity(&identity).await? {
        return Err(ApiError::not_found("Unable to locate the resource"));
    }
    Ok(json_with(
        StatusCode::OK,
        svc.identity_json(&identity, View::Admin),
        &[],
    ))
}

/// `PATCH /admin/identities/{id}` with an RFC 6902 JSON Patch over the identity's JSON.
async fn patch_identity(
    State(svc): State<SharedService>,
    Path(id): Path<String>,
    req: Request<Body>,
) -> Response {
    respond(async {
        let id = parse_id(&id)?;
        let ops: json_patch::Patch = json_body(req).await?;
        for op in &ops.0 {
            let path = op_path(op);
            if path == "/id" || path.starts_with("/credentials") || path == "/created_at" || path == "/updated_at" || path == "/state_changed_at" {
                return Err(ApiError::bad_request(format!("patching {path} is not allowed")));
            }
        }
        let mut identity = svc.store.get_identity(id).await?.ok_or_else(|| ApiError::not_found("Unable to locate the resource"))?;
        let mut doc = json!({
            "schema_id": identity.schema_id, "traits": identity.traits, "state": identity.state.as_str(),
            "metadata_public": identity.metadata_public, "metadata_admin": identity.metadata_admin,
            "external_id": identity.external_id,
        });
        json_patch::patch(&mut doc, &ops).map_err(|e| ApiError::bad_request(format!("unable to apply JSON patch: {e}")))?;
        let state = parse_state(doc["state"].as_str())?;
        if state != identity.state {
            identity.state_changed_at = Some(svc.clock.now());
        }
        identity.state = state;
        identity.schema_id = doc["schema_id"].as_str().ok_or_else(|| ApiError::bad_request("schema_id must be a string"))?.to_string();
        identity.metadata_public = Some(doc["metadata_public"].clone()).filter(|v| !v.is_null());
        identity.metadata_admin = Some(doc["metadata_admin"].clone()).filter(|v| !v.is_null());
        identity.external_id = doc["external_id"].as_str().map(str::to_string);
        apply_traits(&svc, &mut identity, doc["traits"].clone())?;
        save_updated(&svc, identity).await
    }.await)
}

fn op_path(op: &json_patch::PatchOperation) -> String {
    serde_json::to_value(op)
        .ok()
        .and_then(|v| v.get("path").and_then(Value::as_str).map(str::to_string))
        .unwrap_or_default()
}

async fn delete_identity(State(svc): State<SharedService>, Path(id): Path<String>) -> Response {
    respond(
        async {
            if svc.store.delete_identity(parse_id(&id)?).await? {
                Ok(StatusCode::NO_CONTENT.into_response())
            } else {
                Err(ApiError::not_found("Unable to locate the resource"))
            }
        }
        .await,
    )
}

/// `DELETE /admin/identities/{id}/credentials/{type}`: removes a second factor or a
/// social sign-in; first-factor credentials (password, code) cannot be removed, as in Kratos.
async fn delete_credential(
    State(svc): State<SharedService>,
    Path((id, kind)): Path<(String, String)>,
) -> Response {
    respond(
        async {
            if !KNOWN.contains(&kind.as_str()) {
                return Err(ApiError::bad_request(format!(
                    "Unknown credentials type {kind}."
                )));
            }
            let mut identity = svc
                .store
                .get_identity(parse_id(&id)?)
                .await?
                .ok_or_else(|| ApiError::not_found("Unable to locate the resource"))?;
            if !identity.credentials.iter().any(|c| c.kind == kind) {
                return Err(ApiError::not_found(format!(
                    "You tried to remove a {kind} but this user have no {kind} set up."
                )));
            }
            if matches!(kind.as_str(), "password" | "code") {
                return Err(ApiError::bad_request(
                    "You cannot remove first factor credentials.",
                ));
            }
            identity.credentials.retain(|c| c.kind != kind);
            identity.updated_at = svc.clock.now();
            if !svc.store.update_identity(&identity).await? {
                return Err(ApiError::not_found("Unable to locate the resource"));
            }
            Ok(StatusCode::NO_CONTENT.into_response())
        }
        .await,
    )
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct BatchBody {
    identities: Vec<BatchItem>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct BatchItem {
    create: CreateIdentityBody,
    #[serde(default)]
    patch_id: Option<uuid::Uuid>,
}

/// `PATCH /admin/identities`: creates many identities; each succeeds or fails alone.
async fn batch_create(State(svc): State<SharedService>, req: Request<Body>) -> Response {
    respond(
        async {
            let body: BatchBody = json_body(req).await?;
            if body.identities.len() > 1000 {
                return Err(ApiError::bad_request(
                    "A batch may create at most 1000 identities.",
                ));
            }
            let mut results = Vec::with_capacity(body.identities.len());
            for item in body.identities {
                let patch_id = item.patch_id.unwrap_or_else(uuid::Uuid::new_v4);
                let outcome = match build_identity(&svc, item.create).await {
                    Ok(identity) => svc
                        .store
                        .create_identity(&identity)
                        .await
                        .map(|_| identity.id)
                        .map_err(ApiError::from),
                    Err(e) => Err(e),
                };
                results.push(match outcome {
                    Ok(id) => json!({"action": "create", "identity": id, "patch_id": patch_id}),
                    Err(e) => json!({"action": "error", "patch_id": patch_id, "error": e.body}),
                });
            }
            Ok(json_with(
                StatusCode::OK,
                json!({"identities": results}),
                &[],
            ))
        }
        .await,
    )
}

async fn identity_sessions(
    State(svc): State<SharedService>,
    Path(id): Path<String>,
    RawQuery(q): RawQuery,
) -> Response {
    respond(
        async {
            let id = parse_id(&id)?;
            let pairs = query_pairs(q);
            let page = PageRequest::parse(
                first(&pairs, "page_size"),
                first(&pairs, "page_token"),
                250,
                1000,
            )?;
            svc.store
                .get_identity(id)
                .await?
                .ok_or_else(|| ApiError::not_found("Unable to locate the resource"))?;
            let filter = SessionFilter {
                identity_id: Some(id),
                active: parse_active(first(&pairs, "active"))?,
                except: None,
            };
            list_response(
                &svc,
                &filter,
                &page,
                &format!("/admin/identities/{id}/sessions"),
                false,
            )
            .await
        }
        .await,
    )
}

async fn revoke_identity_sessions(
    State(svc): State<SharedService>,
    Path(id): Path<String>,
) -> Response {
    respond(
        async {
            let id = parse_id(&id)?;
            svc.store
                .get_identity(id)
                .await?
                .ok_or_else(|| ApiError::not_found("Unable to locate the resource"))?;
            svc.store
                .revoke_identity_sessions(id, None, svc.clock.now())
                .await?;
            Ok(StatusCode::NO_CONTENT.into_response())
        }
        .await,
    )
}

fn parse_active(v: Option<&str>) -> Result<Option<bool>> {
    match v {
        None | Some("") => Ok(None),
        Some("true") => Ok(Some(true)),
        Some("false") => Ok(Some(false)),
        Some(_) => Err(ApiError::bad_request("active must be true or false")),
    }
}

fn expands_identity(pairs: &[(String, String)]) -> Result<bool> {
    let mut identity = false;
    for (_, v) in pairs.iter().filter(|(k, _)| k == "expand") {
        // Kratos lowercases; its docs and SDKs spell it `expand=Identity`.
        match v.to_ascii_lowercase().as_str() {
            "identity" => identity = true,
            "devices" => {}
            other => {
                return Err(ApiError::bad_request(format!(
                    "expand must be identity or devices, not {other:?}"
                )));
            }
        }
    }
    Ok(identity)
}

async fn list_sessions(State(svc): State<SharedService>, RawQuery(q): RawQuery) -> Response {
    respond(
        async {
            let pairs = query_pairs(q);
            let page = PageRequest::parse(
                first(&pairs, "page_size"),
                first(&pairs, "page_token"),
                250,
                1000,
            )?;
            let filter = SessionFilter {
                identity_id: None,
                active: parse_active(first(&pairs, "active"))?,
                except: None,
            };
            list_response(
                &svc,
                &filter,
                &page,
                "/admin/sessions",
                expands_identity(&pairs)?,
            )
            .await
        }
        .await,
    )
}

async fn get_session(
    State(svc): State<SharedService>,
    Path(id): Path<String>,
    RawQuery(q): RawQuery,
) -> Response {
    respond(
        async {
            let pairs = query_pairs(q);
            let session = svc
                .store
                .get_session(parse_id(&id)?)
                .await?
                .ok_or_else(|| ApiError::not_found("Unable to locate the resource"))?;
            let identity = if expands_identity(&pairs)? {
                svc.store.get_identity(session.identity_id).await?
            } else {
                None
            };
            Ok(json_with(
                StatusCode::OK,
                svc.session_json(&session, identity.as_ref()),
                &[],
            ))
        }
        .await,
    )
}

async fn delete_session(State(svc): State<SharedService>, Path(id): Path<String>) -> Response {
    respond(
        async {
            if svc
                .store
                .revoke_session(parse_id(&id)?, svc.clock.now())
                .await?
            {
                Ok(StatusCode::NO_CONTENT.into_response())
            } else {
                Err(ApiError::not_found("Unable to locate the resource"))
            }
        }
        .await,
    )
}

/// `PATCH /admin/sessions/{id}/extend`: a new expiry of now + lifespan, allowed once the
/// remaining time is under `earliest_possible_extend`; otherwise the session is unchanged.
async fn extend_session(State(svc): State<SharedService>, Path(id): Path<String>) -> Response {
    respond(
        async {
            let mut session = svc
                .store
                .get_session(parse_id(&id)?)
                .await?
                .ok_or_else(|| ApiError::not_found("Unable to locate the resource"))?;
            let now = svc.clock.now();
            if !session.is_valid(now) {
                return Err(ApiError::not_found("Unable to locate the resource"));
            }
            let earliest = time::Duration::try_from(svc.settings.earliest_possible_extend)
                .unwrap_or(time::Duration::DAY);
            if session.expires_at - now <= earliest {
                let lifespan = time::Duration::try_from(svc.settings.session_lifespan)
                    .unwrap_or(time::Duration::DAY);
                session.expires_at = now + lifespan;
                svc.store
                    .set_session_expiry(session.id, session.expires_at, now)
                    .await?;
            }
            Ok(json_with(
                StatusCode::OK,
                svc.session_json(&session, None),
                &[],
            ))
        }
        .await,
    )
}

/// Admin routes, mounted both at `/admin/...` and without the prefix as Kratos does.
pub fn routes() -> Router<SharedService> {
    Router::new()
        .route(
            "/identities",
            get(list_identities)
                .post(create_identity)
                .patch(batch_create),
        )
        .route(
            "/identities/{id}",
            get(get_identity)
                .put(update_identity)
                .patch(patch_identity)
                .delete(delete_identity),
        )
        .route(
            "/identities/{id}/credentials/{type}",
            axum::routing::delete(delete_credential),
        )
        .route(
            "/identities/{id}/sessions",
            get(identity_sessions).delete(revoke_identity_sessions),
        )
        .route("/sessions", get(list_sessions))
        .route("/sessions/{id}", get(get_session).delete(delete_session))
        .route("/sessions/{id}/extend", patch(extend_session))
}
