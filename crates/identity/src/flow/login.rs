//! The login flow with the password method: nodes, and judging a submission.

use super::ui::{InputSpec, Node, UiText};
use super::{Flow, FlowKind, FlowType};
use crate::identity::{Identity, State};
use crate::service::{ClientInfo, Service};
use gatehouse_core::ApiError;
use serde_json::{Value, json};

/// Why a login submission did not produce an identity.
pub enum LoginFailure {
    /// The flow now carries messages for the user (400 / back to the form).
    Rejected,
    /// Too many failed attempts: retry after this long.
    Throttled(std::time::Duration),
    Error(ApiError),
}

impl From<ApiError> for LoginFailure {
    fn from(e: ApiError) -> Self {
        LoginFailure::Error(e)
    }
}

/// A new login flow with the password method's nodes. The caller adds the CSRF node.
pub fn new_flow(svc: &Service, flow_type: FlowType, request_url: String, refresh: bool) -> Flow {
    let s = &svc.settings;
    let mut flow = Flow::new(
        FlowKind::Login,
        flow_type,
        svc.clock.now(),
        s.login.lifespan,
        request_url,
        |id| s.public_url(&format!("self-service/login?flow={id}")),
    );
    flow.refresh = Some(refresh);
    if refresh {
        flow.ui.messages.push(UiText::info(
            1010003,
            "Please confirm this action by verifying that it is you.",
        ));
    }
    if s.password.enabled {
        flow.ui.nodes.extend(password_nodes(svc));
    }
    flow
}

fn password_nodes(svc: &Service) -> Vec<Node> {
    let label = identifier_label(svc.schemas.default_schema().raw.clone());
    vec![
        Node::input(
            "default",
            InputSpec {
                name: "identifier",
                input_type: "text",
                value: Some(json!("")),
                required: true,
                // Kratos sends no autocomplete here, and the SDKs' enum of allowed values
                // has no "username": sending one breaks the Python client.
                autocomplete: None,
                label: Some(label),
                options: None,
            },
        ),
        Node::input(
            "password",
            InputSpec {
                name: "password",
                input_type: "password",
                required: true,
                autocomplete: Some("current-password"),
                label: Some(UiText::info(1070001, "Password")),
                ..Default::default()
            },
        ),
        Node::input(
            "password",
            InputSpec {
                name: "method",
                input_type: "submit",
                value: Some(json!("password")),
                label: Some(UiText::info(1010001, "Sign in")),
                ..Default::default()
            },
        ),
    ]
}

/// The identifier's label: the title of the schema's one password identifier if there is
/// exactly one, else Kratos's generic "ID".
fn identifier_label(schema: Value) -> UiText {
    let mut titles = Vec::new();
    collect_identifier_titles(
        schema.pointer("/properties/traits").unwrap_or(&Value::Null),
        &mut titles,
    );
    match titles.as_slice() {
        [t] => UiText::info(1070002, t.clone()).with_context(json!({"title": t})),
        _ => UiText::info(1070004, "ID"),
    }
}

fn collect_identifier_titles(schema: &Value, out: &mut Vec<String>) {
    let Some(props) = schema.get("properties").and_then(Value::as_object) else {
        return;
    };
    for (key, prop) in props {
        let is_identifier = prop
            .pointer("/ory.sh~1kratos/credentials/password/identifier")
            .and_then(Value::as_bool)
            .unwrap_or(false);
        if is_identifier {
            out.push(
                prop.get("title")
                    .and_then(Value::as_str)
                    .unwrap_or(key)
                    .to_string(),
            );
        }
        collect_identifier_titles(prop, out);
    }
}

/// The message for a wrong identifier or password; the same for both, so it reveals nothing.
pub fn invalid_credentials() -> UiText {
    UiText::error(
        4000006,
        "The provided credentials are invalid, check for spelling mistakes in your password or username, email address, or phone number.",
    )
}

/// Judges a password login. On success returns the identity; the flow is left untouched.
pub async fn submit_password(
    svc: &Service,
    flow: &mut Flow,
    body: &Value,
    client: &ClientInfo,
) -> Result<Identity, LoginFailure> {
    let identifier = body
        .get("identifier")
        .or_else(|| body.get("password_identifier"))
        .and_then(Value::as_str)
        .unwrap_or("")
        .trim()
        .to_lowercase();
    let password = body
        .get("password")
        .and_then(Value::as_str)
        .unwrap_or("")
        .to_string();
    flow.ui.set_value("identifier", json!(identifier));
    flow.active = Some("password".into());
    let mut missing = false;
    if identifier.is_empty() {
        flow.ui
            .add_message(Some("identifier"), missing_property("identifier"));
        missing = true;
    }
    if password.is_empty() {
        flow.ui
            .add_message(Some("password"), missing_property("password"));
        missing = true;
    }
    if missing {
        return Err(LoginFailure::Rejected);
    }
    let now = std::time::Instant::now();
    let keys = limiter_keys(&identifier, client);
    for k in &keys {
        if let Err(wait) = svc.limiter.check(k, now) {
            return Err(LoginFailure::Throttled(wait));
        }
    }
    let found = svc
        .store
        .find_by_identifier("password", &identifier)
        .await
        .map_err(ApiError::from)?;
    let hash = found
        .as_ref()
        .and_then(|i| i.credential("password"))
        .and_then(|c| c.config.get("hashed_password"))
        .and_then(Value::as_str)
        .map(str::to_string);
    let ok = match &hash {
        Some(h) => svc
            .hashes
            .verify(password.clone(), h.clone())
            .await
            .unwrap_or(false),
        None => {
            svc.hashes.verify_dummy(password.clone()).await;
            false
        }
    };
    let Some(identity) = found.filter(|_| ok) else {
        for k in &keys {
            svc.limiter.record_failure(k, now);
        }
        flow.ui.messages.push(invalid_credentials());
        return Err(LoginFailure::Rejected);
    };
    if identity.state != State::Active {
        flow.ui
            .messages
            .push(UiText::error(4010011, "The account is disabled."));
        return Err(LoginFailure::Rejected);
    }
    for k in &keys {
        svc.limiter.record_success(k);
    }
    if let Some(h) = hash {
        rehash_if_needed(svc, &identity, &password, &h).await;
    }
    Ok(identity)
}

fn limiter_keys(identifier: &str, client: &ClientInfo) -> Vec<String> {
    let mut keys = vec![format!("id:{identifier}")];
    if let Some(ip) = &client.ip {
        keys.push(format!("ip:{ip}"));
    }
    keys
}

/// Imported or weaker hashes are replaced by the configured hasher after a good login.
async fn rehash_if_needed(svc: &Service, identity: &Identity, password: &str, hash: &str) {
    if !crate::credential::hash::needs_rehash(svc.hashes.hasher(), hash) {
        return;
    }
    let Ok(new_hash) = svc.hashes.hash(password.to_string()).await else {
        return;
    };
    let mut updated = identity.clone();
    if let Some(c) = updated
        .credentials
        .iter_mut()
        .find(|c| c.kind == "password")
    {
        c.config = json!({"hashed_password": new_hash});
        c.updated_at = svc.clock.now();
    }
    if let Err(e) = svc.store.update_identity(&updated).await {
        tracing::warn!(identity = %identity.id, error = %e, "could not upgrade password hash");
    }
}

/// Kratos's "Property X is missing." message.
pub fn missing_property(name: &str) -> UiText {
    UiText::error(4000002, format!("Property {name} is missing."))
        .with_context(json!({"property": name}))
}
