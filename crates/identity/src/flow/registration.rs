//! The registration flow with the password method: nodes from the identity schema, and
//! creating the identity from a submission.

use super::login::missing_property;
use super::ui::{InputSpec, Node, UiText};
use super::{Flow, FlowKind, FlowType};
use crate::credential::policy::check_password;
use crate::identity::{Credential, Identity};
use crate::schema::IdentitySchema;
use crate::service::Service;
use crate::store::StoreError;
use gatehouse_core::ApiError;
use serde_json::{Value, json};

/// Why a registration did not create an identity.
pub enum RegistrationFailure {
    /// The flow now carries messages for the user.
    Rejected,
    Error(ApiError),
}

impl From<ApiError> for RegistrationFailure {
    fn from(e: ApiError) -> Self {
        RegistrationFailure::Error(e)
    }
}

/// A new registration flow with the trait fields of the default schema and a password.
pub fn new_flow(svc: &Service, flow_type: FlowType, request_url: String) -> Flow {
    let s = &svc.settings;
    let mut flow = Flow::new(
        FlowKind::Registration,
        flow_type,
        svc.clock.now(),
        s.registration.lifespan,
        request_url,
        |id| s.public_url(&format!("self-service/registration?flow={id}")),
    );
    let schema = svc.schemas.default_schema();
    flow.ui.nodes.extend(schema.trait_nodes("default", None));
    if s.password.enabled {
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
        flow.ui.nodes.push(Node::input(
            "password",
            InputSpec {
                name: "method",
                input_type: "submit",
                value: Some(json!("password")),
                label: Some(UiText::info(1040001, "Sign up")),
                ..Default::default()
            },
        ));
    }
    flow
}

/// Validates a password registration and builds the identity it asks for (not yet saved:
/// web hooks that decide run first).
pub async fn prepare_password(
    svc: &Service,
    flow: &mut Flow,
    body: &Value,
) -> Result<Identity, RegistrationFailure> {
    let schema = svc.schemas.default_schema();
    let traits = body.get("traits").cloned().unwrap_or_else(|| json!({}));
    let traits = coerce_form_values(schema, traits);
    let password = body
        .get("password")
        .and_then(Value::as_str)
        .unwrap_or("")
        .to_string();
    flow.active = Some("password".into());
    keep_input(flow, schema, &traits);

    let mut rejected = false;
    if !traits.is_object() {
        flow.ui
            .messages
            .push(UiText::error(4000001, "traits must be an object"));
        return Err(RegistrationFailure::Rejected);
    }
    if let Err(errors) = schema.validate_traits(&traits) {
        for e in errors {
            flow.ui.add_message(e.field.as_deref(), e.message);
        }
        rejected = true;
    }
    let identifiers = schema.password_identifiers(&traits);
    if password.is_empty() {
        flow.ui
            .add_message(Some("password"), missing_property("password"));
        rejected = true;
    } else {
        let p = &svc.settings.password;
        let max_bytes = matches!(
            svc.hashes.hasher(),
            crate::credential::hash::Hasher::Bcrypt { .. }
        )
        .then_some(72);
        if let Err(msg) = check_password(
            &password,
            &identifiers,
            p.min_length,
            p.similarity_check,
            max_bytes,
        ) {
            flow.ui.add_message(Some("password"), msg);
            rejected = true;
        }
    }
    if !rejected && identifiers.is_empty() {
        flow.ui.messages.push(UiText::error(
            4000001,
            "Could not find any identifiers. Did you forget to set them? This could also be caused by a server misconfiguration.",
        ));
        rejected = true;
    }
    if rejected {
        return Err(RegistrationFailure::Rejected);
    }

    let hashed = svc
        .hashes
        .hash(password)
        .await
        .map_err(|e| ApiError::internal(format!("hashing: {e}")))?;
    Ok(build_identity(svc, schema, traits, identifiers, hashed))
}

/// Saves a new identity; a taken identifier becomes message 4000007 on the flow.
pub async fn persist(
    svc: &Service,
    flow: &mut Flow,
    identity: Identity,
) -> Result<Identity, RegistrationFailure> {
    match svc.store.create_identity(&identity).await {
        Ok(()) => Ok(identity),
        Err(StoreError::Conflict) => {
            flow.ui.messages.push(duplicate_identifier());
            Err(RegistrationFailure::Rejected)
        }
        Err(e) => Err(ApiError::from(e).into()),
    }
}

fn build_identity(
    svc: &Service,
    schema: &IdentitySchema,
    traits: Value,
    identifiers: Vec<String>,
    hashed: String,
) -> Identity {
    let now = svc.clock.now();
    let mut identity = Identity::new(schema.id.clone(), traits.clone(), now);
    identity.set_addresses(
        schema.verifiable_addresses(&traits),
        schema.recovery_addresses(&traits),
        now,
    );
    identity.credentials.push(Credential {
        id: uuid::Uuid::new_v4(),
        kind: "password".into(),
        identifiers,
        config: json!({"hashed_password": hashed}),
        version: 0,
        created_at: now,
        updated_at: now,
    });
    identity
}

/// Kratos's message for an identifier that is taken.
pub fn duplicate_identifier() -> UiText {
    UiText::error(
        4000007,
        "An account with the same identifier (email, phone, username, ...) exists already.",
    )
}

/// Refills the trait nodes with what the user typed, so a failed submission keeps it.
fn keep_input(flow: &mut Flow, schema: &IdentitySchema, traits: &Value) {
    let fresh = schema.trait_nodes("default", Some(traits));
    for node in fresh {
        if let (Some(name), Some(v)) = (node.name(), node.attributes.get("value")) {
            flow.ui.set_value(name, v.clone());
        }
    }
}

/// Form posts carry every value as a string; turn them into the types the schema asks for
/// (numbers, booleans) so a form and a JSON body validate alike.
pub fn coerce_form_values(schema: &IdentitySchema, traits: Value) -> Value {
    let traits_schema = schema
        .raw
        .pointer("/properties/traits")
        .cloned()
        .unwrap_or(Value::Null);
    coerce(&traits_schema, traits)
}

fn coerce(schema: &Value, value: Value) -> Value {
    match value {
        Value::Object(m) => Value::Object(
            m.into_iter()
                .map(|(k, v)| {
                    let sub = schema
                        .pointer(&format!(
                            "/properties/{}",
                            k.replace('~', "~0").replace('/', "~1")
                        ))
                        .unwrap_or(&Value::Null);
                    (k, coerce(sub, v))
                })
                .collect(),
        ),
        Value::String(s) => match schema.get("type").and_then(Value::as_str) {
            Some("integer") => s
                .trim()
                .parse::<i64>()
                .map(Value::from)
                .unwrap_or(Value::String(s)),
            Some("number") => s
                .trim()
                .parse::<f64>()
                .ok()
                .and_then(|f| serde_json::Number::from_f64(f).map(Value::Number))
                .unwrap_or(Value::String(s)),
            Some("boolean") => match s.as_str() {
                "true" | "on" => Value::Bool(true),
                "false" | "off" | "" => Value::Bool(false),
                _ => Value::String(s),
            },
            _ if s.is_empty() && schema.get("type").is_some() => Value::String(s),
            _ => Value::String(s),
        },
        other => other,
    }
}
