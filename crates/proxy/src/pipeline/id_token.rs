//! The `id_token` mutator: signs a JWT about the session with the key set at `jwks_url`
//! and sends it upstream as `Authorization: Bearer <jwt>`. Claims come from the `claims`
//! template (a JSON object); `exp`, `jti`, `iat`, `nbf`, `iss` and `sub` are always set
//! by the mutator. Signed tokens are reused, for the same issuer, key set, ttl, claims
//! and subject, until less than a tenth of their ttl is left (as Oathkeeper does).

use super::{Denied, Session, text};
use crate::Proxy;
use crate::credentials::{self, Signer};
use serde_json::{Map, Value, json};
use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// Past this many cached tokens the cache starts over.
const MAX_CACHED: usize = 10_000;

/// A key set as read, and the signer made from it.
type Prepared = (Arc<Vec<Value>>, Arc<Signer>);

/// Signed tokens and prepared signing keys.
#[derive(Default)]
pub struct Cache {
    /// Cache key -> (token, expiry in unix seconds).
    tokens: Mutex<HashMap<String, (String, u64)>>,
    /// `jwks_url` -> the key set the signer was made from, and the signer.
    signers: Mutex<HashMap<String, Prepared>>,
}

pub(super) async fn mutate(
    px: &Proxy,
    config: &Value,
    session: &mut Session,
    rule_id: &str,
) -> Result<(), Denied> {
    let misconfigured = |what: &str| {
        Denied::internal(format!(
            "rule {rule_id:?}: the mutator \"id_token\" is misconfigured: {what}"
        ))
    };
    let issuer = text(config, "issuer_url");
    if issuer.is_empty() {
        return Err(misconfigured("issuer_url is required"));
    }
    let jwks_url = text(config, "jwks_url");
    if jwks_url.is_empty() {
        return Err(misconfigured("jwks_url is required"));
    }
    let ttl = match text(config, "ttl") {
        "" => Duration::from_secs(15 * 60),
        t => gatehouse_core::duration::parse(t)
            .map_err(|e| misconfigured(&format!("ttl {t:?}: {e}")))?,
    };
    if ttl.is_zero() {
        return Err(misconfigured("ttl must be positive"));
    }

    let source = text(config, "claims");
    let (rendered, mut claims) = if source.is_empty() {
        (String::new(), Map::new())
    } else {
        let rendered = px
            .templates
            .render(source, &session.template_data())
            .map_err(|e| {
                Denied::internal(format!(
                    "error executing claims template in rule {rule_id:?}: {e}"
                ))
            })?;
        let claims = match serde_json::from_str::<Value>(&rendered) {
            Ok(Value::Object(m)) => m,
            Ok(Value::Null) => Map::new(),
            Ok(_) => {
                return Err(Denied::internal(format!(
                    "rule {rule_id:?}: the id_token claims template must produce a JSON object"
                )));
            }
            Err(e) => {
                return Err(Denied::internal(format!(
                    "rule {rule_id:?}: the id_token claims template did not produce JSON: {e}"
                )));
            }
        };
        (rendered, claims)
    };

    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0);
    let cache_key = format!(
        "{issuer}|{}|{jwks_url}|{rendered}|{}",
        ttl.as_millis(),
        session.subject
    );
    if let Some(token) = px.id_tokens.cached(&cache_key, now, ttl) {
        session.set_header("Authorization", format!("Bearer {token}"));
        return Ok(());
    }

    let exp = now + ttl.as_secs().max(1);
    claims.insert("exp".into(), json!(exp));
    claims.insert("jti".into(), json!(uuid::Uuid::new_v4().to_string()));
    claims.insert("iat".into(), json!(now));
    claims.insert("iss".into(), json!(issuer));
    claims.insert("nbf".into(), json!(now));
    claims.insert("sub".into(), json!(session.subject));

    let signer = px
        .id_tokens
        .signer(px, jwks_url)
        .await
        .map_err(|e| Denied::internal(format!("rule {rule_id:?}: id_token: {e}")))?;
    let header = jsonwebtoken::Header {
        kid: Some(signer.kid.clone()),
        ..jsonwebtoken::Header::new(signer.alg)
    };
    let token = jsonwebtoken::encode(&header, &claims, &signer.key).map_err(|e| {
        Denied::internal(format!(
            "rule {rule_id:?}: id_token: signing failed with key {:?}: {e}",
            signer.kid
        ))
    })?;
    px.id_tokens.store(cache_key, token.clone(), exp);
    session.set_header("Authorization", format!("Bearer {token}"));
    Ok(())
}

impl Cache {
    fn cached(&self, key: &str, now: u64, ttl: Duration) -> Option<String> {
        let mut tokens = self.tokens.lock().ok()?;
        let (token, exp) = tokens.get(key)?;
        // Re-issued once less than 10% of the ttl is left.
        if exp.saturating_sub(now) * 10 <= ttl.as_secs() {
            tokens.remove(key);
            return None;
        }
        Some(token.clone())
    }

    fn store(&self, key: String, token: String, exp: u64) {
        if let Ok(mut tokens) = self.tokens.lock() {
            if tokens.len() >= MAX_CACHED {
                tokens.clear();
            }
            tokens.insert(key, (token, exp));
        }
    }

    /// The signer for the key set at `url`, made again when the set was read again.
    async fn signer(&self, px: &Proxy, url: &str) -> Result<Arc<Signer>, String> {
        let sets = px.jwks.sets(&[url.to_string()]).await?;
        let set = sets
            .into_iter()
            .next()
            .ok_or_else(|| format!("the JSON Web Key Set at {url} could not be read"))?;
        if let Ok(signers) = self.signers.lock()
            && let Some((seen, signer)) = signers.get(url)
            && Arc::ptr_eq(seen, &set)
        {
            return Ok(signer.clone());
        }
        let signer =
            Arc::new(credentials::signer(&set).map_err(|e| format!("the key set at {url}: {e}"))?);
        if let Ok(mut signers) = self.signers.lock() {
            if signers.len() >= MAX_CACHED {
                signers.clear();
            }
            signers.insert(url.to_string(), (set, signer.clone()));
        }
        Ok(signer)
    }
}

/// Every `jwks_url` of the id_token mutator, in the global config and in the rules:
/// their public keys are served at `/.well-known/jwks.json`.
pub fn jwks_urls(config: &crate::config::Config, rules: &crate::rule::RuleSet) -> Vec<String> {
    let mut urls: Vec<String> = Vec::new();
    let mut add = |v: Option<&Value>| match v {
        Some(Value::String(s)) if !s.is_empty() && !urls.contains(s) => urls.push(s.clone()),
        Some(Value::Array(a)) => {
            for s in a.iter().filter_map(Value::as_str) {
                if !s.is_empty() && !urls.iter().any(|u| u == s) {
                    urls.push(s.to_string());
                }
            }
        }
        _ => {}
    };
    add(config
        .mutators
        .get("id_token")
        .and_then(|m| m.config.get("jwks_url")));
    for rule in rules.rules() {
        for m in rule.mutators.iter().filter(|m| m.handler == "id_token") {
            add(m.config.get("jwks_url"));
        }
    }
    urls
}
