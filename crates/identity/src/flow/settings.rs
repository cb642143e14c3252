//! The settings flow: a signed-in user edits their traits (`profile`) or sets a new
//! password (`password`). Changes that touch how one signs in (a new password, another
//! identifier or address) need a recent sign-in: `privileged_session_max_age`.

use super::registration::{coerce_form_values, duplicate_identifier};
use super::ui::{InputSpec, Node, UiText};
use super::{Flow, FlowKind, FlowType};
use crate::credential::policy::check_password;
use crate::identity::{Credential, Identity, View};
use crate::service::Service;
use crate::session::Session;
use crate::store::StoreError;
use gatehouse_core::ApiError;
use serde_json::{Value, json};

/// Why a settings submission saved nothing.
pub enum SettingsFailure {
    /// The flow now carries messages for the user.
    Rejected,
    /// The change needs a fresh sign-in first.
    NeedsReauth,
    Error(ApiError),
}

impl From<ApiError> for SettingsFailure {
    fn from(e: ApiError) -> Self {
        SettingsFailure::Error(e)
    }
}

/// A new settings flow for `identity`, its forms filled with the current traits.
pub fn new_flow(
    svc: &Service,
    flow_type: FlowType,
    request_url: String,
    identity: &Identity,
) -> Flow {
    let s = &svc.settings;
    let mut flow = Flow::new(
        FlowKind::Settings,
        flow_type,
        svc.clock.now(),
        s.settings_flow.lifespan,
        request_url,
        |id| s.public_url(&format!("self-service/settings?flow={id}")),
    );
    flow.state = "show_form".into();
    flow.internal.identity_id = Some(identity.id);
    fill_nodes(svc, &mut flow, identity);
    flow
}

/// (Re)builds the profile and password forms from the identity as it is now.
pub fn fill_nodes(svc: &Service, flow: &mut Flow, identity: &Identity) {
    flow.identity = Some(svc.identity_json(identity, View::Public));
    flow.ui.nodes.retain(|n| n.group == "default");
    let schema = svc
        .schemas
        .get(&identity.schema_id)
        .unwrap_or_else(|| svc.schemas.default_schema());
    flow.ui
        .nodes
        .extend(schema.trait_nodes("profile", Some(&identity.traits)));
    flow.ui.nodes.push(save_button("profile"));
    if svc.settings.password.enabled {
        flow.ui.nodes.push(Node::input(
            "password",
            InputSpec {
                name: "password",
                input_type: "password",
                required: true,
                autocomplete: Some("new-password"),
                label: Some(UiText::info(1070001, "Password")),
                ..Default::default()
            },
        ));
        flow.ui.nodes.push(save_button("password"));
    }
}

fn save_button(method: &str) -> Node {
    Node::input(
        method,
        InputSpec {
            name: "method",
            input_type: "submit",
            value: Some(json!(method)),
            label: Some(UiText::info(1070003, "Save")),
            ..Default::default()
        },
    )
}

/// Whether the session is recent enough for privileged changes.
pub fn is_privileged(svc: &Service, session: &Session) -> bool {
    let max_age = time::Duration::try_from(svc.settings.privileged_session_max_age)
        .unwrap_or(time::Duration::HOUR);
    session.authenticated_at + max_age > svc.clock.now()
}

/// Kratos's message after a successful save.
pub fn saved_message() -> UiText {
    UiText::success(1050001, "Your changes have been saved!")
}

/// `method=profile`: validates the new traits and gives the identity as it would be saved
/// (`persist` saves it, once the hooks agree). Changing an identifier or an address needs
/// a privileged session.
pub async fn prepare_profile(
    svc: &Service,
    flow: &mut Flow,
    mut identity: Identity,
    body: &Value,
    privileged: bool,
) -> Result<Identity, SettingsFailure> {
    flow.active = Some("profile".into());
    let schema = svc
        .schemas
        .get(&identity.schema_id)
        .unwrap_or_else(|| svc.schemas.default_schema());
    let traits = match body.get("traits") {
        Some(t @ Value::Object(_)) => coerce_form_values(schema, t.clone()),
        _ => {
            return Err(ApiError::bad_request("Did not receive any value changes.").into());
        }
    };
    for node in schema.trait_nodes("profile", Some(&traits)) {
        if let Some(name) = node.name() {
            let value = node.attributes.get("value").cloned().unwrap_or(Value::Null);
            flow.ui.set_value(name, value);
        }
    }
    if let Err(errors) = schema.validate_traits(&traits) {
        for e in errors {
            flow.ui.add_message(e.field.as_deref(), e.message);
        }
        return Err(SettingsFailure::Rejected);
    }
    let identifiers = schema.password_identifiers(&traits);
    let has_password = identity.credentials.iter().any(|c| c.kind == "password");
    let protected_change = (has_password
        && password_identifiers(&identity) != sorted(identifiers.clone()))
        || sorted_pairs(schema.verifiable_addresses(&traits))
            != sorted_pairs(
                identity
                    .verifiable_addresses
                    .iter()
                    .map(|a| (a.via.clone(), a.value.clone()))
                    .collect(),
            )
        || sorted_pairs(schema.recovery_addresses(&traits))
            != sorted_pairs(
                identity
                    .recovery_addresses
                    .iter()
                    .map(|a| (a.via.clone(), a.value.clone()))
                    .collect(),
            );
    if protected_change && !privileged {
        return Err(SettingsFailure::NeedsReauth);
    }
    let now = svc.clock.now();
    identity.set_addresses(
        schema.verifiable_addresses(&traits),
        schema.recovery_addresses(&traits),
        now,
    );
    identity.traits = traits;
    for c in identity
        .credentials
        .iter_mut()
        .filter(|c| c.kind == "password")
    {
        c.identifiers = identifiers.clone();
        c.updated_at = now;
    }
    Ok(identity)
}

/// `method=password`: checks the policy and gives the identity with its new password, not
/// yet saved (privileged sessions only).
pub async fn prepare_password(
    svc: &Service,
    flow: &mut Flow,
    mut identity: Identity,
    body: &Value,
    privileged: bool,
) -> Result<Identity, SettingsFailure> {
    flow.active = Some("password".into());
    if !privileged {
        return Err(SettingsFailure::NeedsReauth);
    }
    let password = body.get("password").and_then(Value::as_str).unwrap_or("");
    let schema = svc
        .schemas
        .get(&identity.schema_id)
        .unwrap_or_else(|| svc.schemas.default_schema());
    let identifiers = schema.password_identifiers(&identity.traits);
    if password.is_empty() {
        flow.ui
            .add_message(Some("password"), super::login::missing_property("password"));
        return Err(SettingsFailure::Rejected);
    }
    let p = &svc.settings.password;
    let max_bytes = matches!(
        svc.hashes.hasher(),
        crate::credential::hash::Hasher::Bcrypt { .. }
    )
    .then_some(72);
    if let Err(msg) = check_password(
        password,
        &identifiers,
        p.min_length,
        p.similarity_check,
        max_bytes,
    ) {
        flow.ui.add_message(Some("password"), msg);
        return Err(SettingsFailure::Rejected);
    }
    let hashed = svc
        .hashes
        .hash(password.to_string())
        .await
        .map_err(|e| ApiError::internal(format!("hashing: {e}")))?;
    let now = svc.clock.now();
    identity.credentials.retain(|c| c.kind != "password");
    identity.credentials.push(Credential {
        id: uuid::Uuid::new_v4(),
        kind: "password".into(),
        identifiers,
        config: json!({"hashed_password": hashed}),
        version: 0,
        created_at: now,
        updated_at: now,
    });
    Ok(identity)
}

/// Saves a prepared identity; a taken identifier puts Kratos's message on the flow.
pub async fn persist(
    svc: &Service,
    flow: &mut Flow,
    mut identity: Identity,
) -> Result<Identity, SettingsFailure> {
    identity.updated_at = svc.clock.now();
    match svc.store.update_identity(&identity).await {
        Ok(true) => Ok(identity),
        Ok(false) => Err(ApiError::not_found("Unable to locate the resource").into()),
        Err(StoreError::Conflict) => {
            flow.ui.messages.push(duplicate_identifier());
            Err(SettingsFailure::Rejected)
        }
        Err(e) => Err(ApiError::from(e).into()),
    }
}

fn password_identifiers(identity: &Identity) -> Vec<String> {
    sorted(
        identity
            .credentials
            .iter()
            .filter(|c| c.kind == "password")
            .flat_map(|c| c.identifiers.clone())
            .collect(),
    )
}

fn sorted(mut v: Vec<String>) -> Vec<String> {
    v.sort();
    v.dedup();
    v
}

fn sorted_pairs(mut v: Vec<(String, String)>) -> Vec<(String, String)> {
    v.sort();
    v.dedup();
    v
}
