//! Self-service flows: the documents a client fetches and submits (`ui.nodes`), their
//! expiry, CSRF protection for browsers, and the login, registration and logout logic.

pub mod codes;
pub mod csrf;
pub mod login;
pub mod recovery;
pub mod registration;
pub mod settings;
pub mod ui;
pub mod verification;

use serde::{Deserialize, Serialize};
use serde_json::Value;
use time::OffsetDateTime;
use ui::{UiContainer, UiText};
use uuid::Uuid;

/// Which self-service flow a document is.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum FlowKind {
    Login,
    Registration,
    Settings,
    Recovery,
    Verification,
}

impl FlowKind {
    pub fn as_str(self) -> &'static str {
        match self {
            FlowKind::Login => "login",
            FlowKind::Registration => "registration",
            FlowKind::Settings => "settings",
            FlowKind::Recovery => "recovery",
            FlowKind::Verification => "verification",
        }
    }

    /// The message Kratos shows on the new flow when the old one expired.
    pub fn expired_message(self, minutes_ago: i64, expired_at: OffsetDateTime) -> UiText {
        let id = match self {
            FlowKind::Login => 4010001,
            FlowKind::Registration => 4040001,
            FlowKind::Settings => 4050001,
            FlowKind::Recovery => 4060005,
            FlowKind::Verification => 4070005,
        };
        UiText::error(
            id,
            format!(
                "The {} flow expired {minutes_ago:.2} minutes ago, please try again.",
                self.as_str()
            ),
        )
        .with_context(serde_json::json!({
            "expired_at": gatehouse_core::clock::rfc3339(expired_at),
            "expired_at_unix": expired_at.unix_timestamp(),
        }))
    }
}

/// `browser` flows use cookies and CSRF; `api` flows (native apps) use session tokens.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum FlowType {
    Browser,
    Api,
}

/// What the server keeps about a flow that clients never see.
#[derive(Clone, Debug, Default, Serialize, Deserialize, PartialEq)]
pub struct FlowInternal {
    /// The raw CSRF token (base64 of 32 bytes) the browser's cookie must match.
    #[serde(default)]
    pub csrf_token: String,
    /// Settings flows belong to one identity.
    #[serde(default)]
    pub identity_id: Option<Uuid>,
    /// The last submission's `transient_payload`, handed to mail templates and web hooks.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub transient_payload: Option<Value>,
}

/// A flow document. Serialised as Kratos's flow JSON, plus `internal` for storage only.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
pub struct Flow {
    pub id: Uuid,
    #[serde(rename = "type")]
    pub flow_type: FlowType,
    #[serde(with = "time::serde::rfc3339")]
    pub expires_at: OffsetDateTime,
    #[serde(with = "time::serde::rfc3339")]
    pub issued_at: OffsetDateTime,
    pub request_url: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub return_to: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub active: Option<String>,
    pub ui: UiContainer,
    pub state: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub refresh: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub requested_aal: Option<String>,
    /// Settings flows show the identity being edited.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub identity: Option<Value>,
    #[serde(with = "time::serde::rfc3339")]
    pub created_at: OffsetDateTime,
    #[serde(with = "time::serde::rfc3339")]
    pub updated_at: OffsetDateTime,
    #[serde(skip)]
    pub kind: Option<FlowKind>,
    #[serde(default, rename = "__internal")]
    pub internal: FlowInternal,
}

impl Flow {
    /// A new flow of `kind`, expiring `lifespan` from `now`. `action` is its submit URL.
    pub fn new(
        kind: FlowKind,
        flow_type: FlowType,
        now: OffsetDateTime,
        lifespan: std::time::Duration,
        request_url: String,
        action: impl FnOnce(Uuid) -> String,
    ) -> Self {
        let id = Uuid::new_v4();
        let lifespan = time::Duration::try_from(lifespan).unwrap_or(time::Duration::HOUR);
        Flow {
            id,
            flow_type,
            expires_at: now + lifespan,
            issued_at: now,
            request_url,
            return_to: None,
            active: None,
            ui: UiContainer::new(action(id)),
            state: "choose_method".into(),
            refresh: (kind == FlowKind::Login).then_some(false),
            requested_aal: (kind == FlowKind::Login).then(|| "aal1".to_string()),
            identity: None,
            created_at: now,
            updated_at: now,
            kind: Some(kind),
            internal: FlowInternal::default(),
        }
    }

    pub fn is_expired(&self, now: OffsetDateTime) -> bool {
        self.expires_at <= now
    }

    /// The JSON clients see.
    pub fn to_wire(&self) -> Value {
        let mut v = serde_json::to_value(self).unwrap_or(Value::Null);
        if let Value::Object(m) = &mut v {
            m.remove("__internal");
        }
        v
    }

    /// The stored document (wire form plus internals).
    pub fn to_stored(&self) -> Value {
        serde_json::to_value(self).unwrap_or(Value::Null)
    }

    /// Reads a stored document back.
    pub fn from_stored(kind: &str, body: Value) -> Option<Self> {
        let mut f: Flow = serde_json::from_value(body).ok()?;
        f.kind = Some(match kind {
            "login" => FlowKind::Login,
            "registration" => FlowKind::Registration,
            "settings" => FlowKind::Settings,
            "recovery" => FlowKind::Recovery,
            "verification" => FlowKind::Verification,
            _ => return None,
        });
        Some(f)
    }
}
