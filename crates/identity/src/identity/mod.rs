//! Identities and what hangs off them: verifiable and recovery addresses and credentials,
//! and the JSON views Kratos gives of them (public, admin, admin with credential configs).

use gatehouse_core::clock::rfc3339;
use serde_json::{Map, Value, json};
use time::OffsetDateTime;
use uuid::Uuid;

/// `active` identities may sign in; `inactive` ones may not.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum State {
    Active,
    Inactive,
}

impl State {
    pub fn as_str(self) -> &'static str {
        match self {
            State::Active => "active",
            State::Inactive => "inactive",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "active" => Some(State::Active),
            "inactive" => Some(State::Inactive),
            _ => None,
        }
    }
}

#[derive(Clone, Debug, PartialEq)]
pub struct VerifiableAddress {
    pub id: Uuid,
    pub value: String,
    pub verified: bool,
    pub via: String,
    pub status: String,
    pub verified_at: Option<OffsetDateTime>,
    pub created_at: OffsetDateTime,
    pub updated_at: OffsetDateTime,
}

#[derive(Clone, Debug, PartialEq)]
pub struct RecoveryAddress {
    pub id: Uuid,
    pub value: String,
    pub via: String,
    pub created_at: OffsetDateTime,
    pub updated_at: OffsetDateTime,
}

/// A credential of one type (`password`, `oidc`, ...). `config` holds secrets such as the
/// password hash and is only shown with `include_credential`.
#[derive(Clone, Debug, PartialEq)]
pub struct Credential {
    pub id: Uuid,
    pub kind: String,
    pub identifiers: Vec<String>,
    pub config: Value,
    pub version: i64,
    pub created_at: OffsetDateTime,
    pub updated_at: OffsetDateTime,
}

#[derive(Clone, Debug, PartialEq)]
pub struct Identity {
    pub id: Uuid,
    pub schema_id: String,
    pub state: State,
    pub state_changed_at: Option<OffsetDateTime>,
    pub traits: Value,
    pub metadata_public: Option<Value>,
    pub metadata_admin: Option<Value>,
    pub external_id: Option<String>,
    pub verifiable_addresses: Vec<VerifiableAddress>,
    pub recovery_addresses: Vec<RecoveryAddress>,
    pub credentials: Vec<Credential>,
    pub created_at: OffsetDateTime,
    pub updated_at: OffsetDateTime,
}

/// Which fields a JSON view of an identity carries.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum View<'a> {
    /// whoami, flows: no credentials, no admin metadata.
    Public,
    /// Admin API: credentials without their configs, admin metadata.
    Admin,
    /// Admin API with `include_credential`: configs of these types included.
    AdminWith(&'a [String]),
}

impl Identity {
    /// A new active identity with no addresses or credentials yet.
    pub fn new(schema_id: String, traits: Value, now: OffsetDateTime) -> Self {
        Identity {
            id: Uuid::new_v4(),
            schema_id,
            state: State::Active,
            state_changed_at: Some(now),
            traits,
            metadata_public: None,
            metadata_admin: None,
            external_id: None,
            verifiable_addresses: Vec::new(),
            recovery_addresses: Vec::new(),
            credentials: Vec::new(),
            created_at: now,
            updated_at: now,
        }
    }

    pub fn credential(&self, kind: &str) -> Option<&Credential> {
        self.credentials.iter().find(|c| c.kind == kind)
    }

    /// Recomputes addresses from the traits, keeping ids and verification state of addresses
    /// that are still there.
    pub fn set_addresses(
        &mut self,
        verifiable: Vec<(String, String)>,
        recovery: Vec<(String, String)>,
        now: OffsetDateTime,
    ) {
        let old = std::mem::take(&mut self.verifiable_addresses);
        for (via, value) in verifiable {
            if self
                .verifiable_addresses
                .iter()
                .any(|a| a.via == via && a.value == value)
            {
                continue;
            }
            let kept = old
                .iter()
                .find(|a| a.via == via && a.value == value)
                .cloned();
            self.verifiable_addresses
                .push(kept.unwrap_or(VerifiableAddress {
                    id: Uuid::new_v4(),
                    value,
                    verified: false,
                    via,
                    status: "pending".into(),
                    verified_at: None,
                    created_at: now,
                    updated_at: now,
                }));
        }
        let old = std::mem::take(&mut self.recovery_addresses);
        for (via, value) in recovery {
            if self
                .recovery_addresses
                .iter()
                .any(|a| a.via == via && a.value == value)
            {
                continue;
            }
            let kept = old
                .iter()
                .find(|a| a.via == via && a.value == value)
                .cloned();
            self.recovery_addresses
                .push(kept.unwrap_or(RecoveryAddress {
                    id: Uuid::new_v4(),
                    value,
                    via,
                    created_at: now,
                    updated_at: now,
                }));
        }
    }

    /// The identity as Kratos serialises it, for the given audience.
    pub fn to_json(&self, schema_url: &str, view: View<'_>) -> Value {
        let mut m = Map::new();
        m.insert("id".into(), json!(self.id));
        m.insert("schema_id".into(), json!(self.schema_id));
        m.insert("schema_url".into(), json!(schema_url));
        m.insert("state".into(), json!(self.state.as_str()));
        if let Some(t) = self.state_changed_at {
            m.insert("state_changed_at".into(), json!(rfc3339(t)));
        }
        m.insert("traits".into(), self.traits.clone());
        if !self.verifiable_addresses.is_empty() {
            m.insert(
                "verifiable_addresses".into(),
                Value::Array(self.verifiable_addresses.iter().map(address_json).collect()),
            );
        }
        if !self.recovery_addresses.is_empty() {
            m.insert(
                "recovery_addresses".into(),
                Value::Array(self.recovery_addresses.iter().map(recovery_json).collect()),
            );
        }
        m.insert(
            "metadata_public".into(),
            self.metadata_public.clone().unwrap_or(Value::Null),
        );
        if let Some(ext) = &self.external_id {
            m.insert("external_id".into(), json!(ext));
        }
        if view != View::Public {
            m.insert(
                "metadata_admin".into(),
                self.metadata_admin.clone().unwrap_or(Value::Null),
            );
            let include: &[String] = match view {
                View::AdminWith(kinds) => kinds,
                _ => &[],
            };
            let creds: Map<String, Value> = self
                .credentials
                .iter()
                .map(|c| {
                    (
                        c.kind.clone(),
                        credential_json(c, include.contains(&c.kind)),
                    )
                })
                .collect();
            m.insert("credentials".into(), Value::Object(creds));
        }
        m.insert("created_at".into(), json!(rfc3339(self.created_at)));
        m.insert("updated_at".into(), json!(rfc3339(self.updated_at)));
        m.insert("organization_id".into(), Value::Null);
        Value::Object(m)
    }
}

fn address_json(a: &VerifiableAddress) -> Value {
    let mut v = json!({
        "id": a.id, "value": a.value, "verified": a.verified, "via": a.via, "status": a.status,
        "created_at": rfc3339(a.created_at), "updated_at": rfc3339(a.updated_at),
    });
    if let Some(t) = a.verified_at {
        v["verified_at"] = json!(rfc3339(t));
    }
    v
}

fn recovery_json(a: &RecoveryAddress) -> Value {
    json!({"id": a.id, "value": a.value, "via": a.via, "created_at": rfc3339(a.created_at), "updated_at": rfc3339(a.updated_at)})
}

fn credential_json(c: &Credential, with_config: bool) -> Value {
    let mut v = json!({
        "type": c.kind, "identifiers": c.identifiers, "version": c.version,
        "created_at": rfc3339(c.created_at), "updated_at": rfc3339(c.updated_at),
    });
    if with_config {
        v["config"] = c.config.clone();
    }
    v
}
