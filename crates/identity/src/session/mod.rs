//! Sessions: issued on sign-in, presented as the `ory_kratos_session` cookie or a session
//! token, stored only as SHA-256 digests of those tokens.

use gatehouse_core::clock::rfc3339;
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use time::OffsetDateTime;
use uuid::Uuid;

/// How the user proved who they are, in the order it happened.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct AuthMethod {
    pub method: String,
    pub aal: String,
    #[serde(with = "time::serde::rfc3339")]
    pub completed_at: OffsetDateTime,
}

#[derive(Clone, Debug, PartialEq)]
pub struct Session {
    pub id: Uuid,
    pub identity_id: Uuid,
    pub active: bool,
    pub aal: String,
    pub methods: Vec<AuthMethod>,
    pub devices: Vec<Device>,
    pub issued_at: OffsetDateTime,
    pub authenticated_at: OffsetDateTime,
    pub expires_at: OffsetDateTime,
    pub created_at: OffsetDateTime,
    pub updated_at: OffsetDateTime,
}

/// The client a session was issued to.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Device {
    pub id: Uuid,
    pub ip_address: Option<String>,
    pub user_agent: Option<String>,
    pub location: String,
}

/// A new session token: `ory_st_` and 32 alphanumerics, shown to the client once.
pub fn new_session_token() -> String {
    format!("ory_st_{}", gatehouse_core::token::random_alphanumeric(32))
}

impl Session {
    /// A fresh aal1 session for `identity_id`, authenticated now by `method`.
    pub fn issue(
        identity_id: Uuid,
        method: &str,
        now: OffsetDateTime,
        lifespan: time::Duration,
        device: Device,
    ) -> Self {
        Session {
            id: Uuid::new_v4(),
            identity_id,
            active: true,
            aal: "aal1".into(),
            methods: vec![AuthMethod {
                method: method.into(),
                aal: "aal1".into(),
                completed_at: now,
            }],
            devices: vec![device],
            issued_at: now,
            authenticated_at: now,
            expires_at: now + lifespan,
            created_at: now,
            updated_at: now,
        }
    }

    /// Active and not expired.
    pub fn is_valid(&self, now: OffsetDateTime) -> bool {
        self.active && self.expires_at > now
    }

    /// Kratos's session JSON; `identity` is the identity's public (or admin) view when known.
    pub fn to_json(&self, identity: Option<Value>) -> Value {
        let mut v = json!({
            "id": self.id,
            "active": self.active,
            "expires_at": rfc3339(self.expires_at),
            "authenticated_at": rfc3339(self.authenticated_at),
            "authenticator_assurance_level": self.aal,
            "authentication_methods": self.methods.iter().map(|m| json!({
                "method": m.method, "aal": m.aal, "completed_at": rfc3339(m.completed_at),
            })).collect::<Vec<_>>(),
            "issued_at": rfc3339(self.issued_at),
            "devices": self.devices,
        });
        if let Some(identity) = identity {
            v["identity"] = identity;
        }
        v
    }
}
