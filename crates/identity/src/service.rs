//! The identity service: settings, storage and the shared machinery every handler uses
//! (schemas, the hashing pool, the failure limiter, the clock), plus session issuance and
//! lookup, which login, registration and whoami all need.

use crate::courier::Courier;
use crate::credential::hash::HashPool;
use crate::identity::{Identity, View};
use crate::ratelimit::FailureLimiter;
use crate::schema::SchemaRegistry;
use crate::session::{Device, Session, new_session_token};
use crate::settings::Settings;
use crate::store::cache::Cached;
use crate::store::{SqlStore, StoreError};
use gatehouse_core::{ApiError, Clock};
use hmac::{KeyInit, Mac};
use serde_json::Value;
use std::sync::Arc;

/// Everything a request handler needs; shared behind an `Arc`.
pub struct Service {
    pub settings: Settings,
    pub store: SqlStore,
    pub schemas: SchemaRegistry,
    pub hashes: HashPool,
    pub limiter: FailureLimiter,
    pub clock: Clock,
    pub branding: gatehouse_ui::Branding,
    /// Outgoing e-mail: `svc.courier.send_email(TemplateType::..., to, data)`.
    pub courier: Courier,
    pub hooks: crate::hook::WebHooks,
    /// Evaluates web hook bodies, bounded in time and memory.
    pub jsonnet: gatehouse_jsonnet::Runner,
    /// The client web hooks call out with.
    pub http: reqwest::Client,
    pub hook_timeout: std::time::Duration,
}

pub type SharedService = Arc<Service>;

/// Who is on the other end of a request, recorded on sessions.
#[derive(Clone, Debug, Default)]
pub struct ClientInfo {
    pub ip: Option<String>,
    pub user_agent: Option<String>,
}

impl From<StoreError> for ApiError {
    fn from(e: StoreError) -> Self {
        match e {
            StoreError::Conflict => ApiError::conflict(
                "This identity conflicts with another identity that already exists.",
            ),
            other => ApiError::internal(format!("identity store: {other}")),
        }
    }
}

impl Service {
    /// `PUB/schemas/<base64url(id)>`.
    pub fn schema_url(&self, schema_id: &str) -> String {
        self.settings.public_url(&format!(
            "schemas/{}",
            gatehouse_core::token::b64_url(schema_id.as_bytes())
        ))
    }

    /// An identity's JSON for `view`.
    pub fn identity_json(&self, identity: &Identity, view: View<'_>) -> Value {
        identity.to_json(&self.schema_url(&identity.schema_id), view)
    }

    /// A session's JSON with the identity's public view.
    pub fn session_json(&self, session: &Session, identity: Option<&Identity>) -> Value {
        session.to_json(identity.map(|i| self.identity_json(i, View::Public)))
    }

    /// Issues a session for `identity` and returns it with its token (shown once).
    pub async fn issue_session(
        &self,
        identity: &Identity,
        method: &str,
        client: &ClientInfo,
    ) -> Result<(Session, String), ApiError> {
        let session = self.new_session(identity, method, client);
        let token = self.persist_session(&session).await?;
        Ok((session, token))
    }

    /// A session for `identity`, not yet stored: login hooks see it before it exists.
    pub fn new_session(&self, identity: &Identity, method: &str, client: &ClientInfo) -> Session {
        let now = self.clock.now();
        let lifespan =
            time::Duration::try_from(self.settings.session_lifespan).unwrap_or(time::Duration::DAY);
        let device = Device {
            id: uuid::Uuid::new_v4(),
            ip_address: client.ip.clone(),
            user_agent: client.user_agent.clone(),
            location: String::new(),
        };
        Session::issue(identity.id, method, now, lifespan, device)
    }

    /// Stores a new session and returns its token.
    pub async fn persist_session(&self, session: &Session) -> Result<String, ApiError> {
        let token = new_session_token();
        self.store
            .create_session(session, &gatehouse_core::token::sha256_hex(&token))
            .await?;
        Ok(token)
    }

    /// The valid session behind a token, with its identity (without credentials: load the
    /// identity itself where they matter); `None` when unknown, revoked, expired, or the
    /// identity is gone or disabled.
    pub async fn session_for_token(
        &self,
        token: &str,
    ) -> Result<Option<(Session, Identity)>, ApiError> {
        // Tokens are ASCII and short; anything else cannot be one of ours.
        if token.is_empty() || token.len() > 256 {
            return Ok(None);
        }
        self.session_for_hash(&gatehouse_core::token::sha256_hex(token))
            .await
    }

    /// The `/sessions/whoami` answer for a token, from the cache when it can be.
    pub async fn whoami(&self, token: &str) -> Result<Option<Arc<Cached>>, ApiError> {
        if token.is_empty() || token.len() > 256 {
            return Ok(None);
        }
        let hash = gatehouse_core::token::sha256_hex(token);
        let cache = &self.store.cache;
        if let Some(hit) = cache.get(&hash, self.clock.now()) {
            return Ok(Some(hit));
        }
        let generation = cache.generation();
        let Some((session, identity)) = self.session_for_hash(&hash).await? else {
            return Ok(None);
        };
        let body = serde_json::to_vec(&self.session_json(&session, Some(&identity)))
            .map_err(|e| ApiError::internal(e.to_string()))?;
        let answer = Arc::new(Cached {
            session_id: session.id,
            identity_id: identity.id,
            expires_at: session.expires_at,
            body: body.into(),
        });
        cache.put(hash, answer.clone(), generation);
        Ok(Some(answer))
    }

    async fn session_for_hash(&self, hash: &str) -> Result<Option<(Session, Identity)>, ApiError> {
        let Some(session) = self.store.session_by_token_hash(hash).await? else {
            return Ok(None);
        };
        if !session.is_valid(self.clock.now()) {
            return Ok(None);
        }
        let Some(identity) = self.store.get_identity_public(session.identity_id).await? else {
            return Ok(None);
        };
        if identity.state != crate::identity::State::Active {
            return Ok(None);
        }
        Ok(Some((session, identity)))
    }

    /// The logout token of a session: derived from the session id with the first secret,
    /// so it needs no storage and dies with the session.
    pub fn logout_token(&self, session_id: uuid::Uuid) -> String {
        self.logout_token_with(
            session_id,
            self.settings
                .secrets
                .first()
                .map(String::as_str)
                .unwrap_or(""),
        )
    }

    fn logout_token_with(&self, session_id: uuid::Uuid, secret: &str) -> String {
        let Ok(mut mac) = hmac::Hmac::<sha2::Sha256>::new_from_slice(secret.as_bytes()) else {
            return String::new();
        };
        mac.update(b"logout:");
        mac.update(session_id.as_bytes());
        let digest = mac.finalize().into_bytes();
        format!("ory_lo_{}", &gatehouse_core::token::hex(&digest)[..32])
    }

    /// Runs the web hooks of one hook point with Kratos's `ctx`.
    pub async fn run_hooks(
        &self,
        hooks: &[crate::hook::WebHook],
        ctx: &Value,
    ) -> crate::hook::Verdict {
        crate::hook::run(hooks, &self.http, &self.jsonnet, self.hook_timeout, ctx).await
    }

    /// The secret that signs new tokens and codes (the first configured one).
    pub fn signing_secret(&self) -> &str {
        self.settings
            .secrets
            .first()
            .map(String::as_str)
            .unwrap_or("")
    }

    /// The stored form of a one-time code: an HMAC bound to its flow, so a leaked table
    /// reveals no codes and a code cannot be replayed on another flow.
    pub fn code_hash(&self, flow_id: uuid::Uuid, code: &str, secret: &str) -> String {
        let Ok(mut mac) = hmac::Hmac::<sha2::Sha256>::new_from_slice(secret.as_bytes()) else {
            return String::new();
        };
        mac.update(b"code:");
        mac.update(flow_id.as_bytes());
        mac.update(code.as_bytes());
        gatehouse_core::token::hex(&mac.finalize().into_bytes())
    }

    /// Whether `code` hashes to `stored` under any configured secret (rotation).
    pub fn code_matches(&self, flow_id: uuid::Uuid, code: &str, stored: &str) -> bool {
        !code.is_empty()
            && self.settings.secrets.iter().any(|s| {
                gatehouse_core::token::constant_time_eq(
                    self.code_hash(flow_id, code, s).as_bytes(),
                    stored.as_bytes(),
                )
            })
    }

    /// Checks a logout token against every configured secret (rotation keeps old ones valid).
    pub fn logout_token_valid(&self, session_id: uuid::Uuid, token: &str) -> bool {
        self.settings.secrets.iter().any(|s| {
            gatehouse_core::token::constant_time_eq(
                self.logout_token_with(session_id, s).as_bytes(),
                token.as_bytes(),
            )
        })
    }
}
