//! The request pipeline Oathkeeper runs for every matched rule: authenticators in order
//! (the first responsible one decides), one authorizer, mutators in order; any failure
//! goes to the error handlers. The proxy then forwards the request, the decisions API
//! answers 200 with the mutated headers.

pub mod authn;
pub mod authz;
pub mod errors;
pub mod hydrator;
pub mod id_token;
pub mod jwt;
pub mod mutate;
pub mod oauth2;
pub mod pick;
pub mod remote;
pub mod scope;
pub mod session;

use crate::Proxy;
use crate::rule::{Handler, Matched};
use axum::http::StatusCode;
use serde_json::{Value, json};
pub use session::{Incoming, Session};
use std::sync::Arc;

/// Why a request was not let through; the error handlers turn it into a response.
#[derive(Clone, Debug)]
pub struct Denied {
    pub status: StatusCode,
    /// Oathkeeper's own message (shown when the json handler is `verbose`).
    pub message: String,
    pub reason: String,
    pub details: Value,
    /// Headers to pass on (e.g. `Retry-After` of a rate-limited dependency).
    pub headers: Vec<(String, String)>,
}

impl Denied {
    pub fn new(status: StatusCode, message: impl Into<String>) -> Denied {
        Denied {
            status,
            message: message.into(),
            reason: String::new(),
            details: json!({}),
            headers: Vec::new(),
        }
    }

    pub fn unauthorized() -> Denied {
        Denied::new(StatusCode::UNAUTHORIZED, "Access credentials are invalid")
    }

    pub fn forbidden() -> Denied {
        Denied::new(
            StatusCode::FORBIDDEN,
            "Access credentials are not sufficient to access this resource",
        )
    }

    pub fn internal(reason: impl Into<String>) -> Denied {
        Denied::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            "An internal server error occurred, please contact the system administrator",
        )
        .reason(reason)
    }

    pub fn reason(mut self, reason: impl Into<String>) -> Denied {
        self.reason = reason.into();
        self
    }

    /// The error's name in `when` conditions: the status text, lower-cased, `_` for spaces.
    pub fn name(&self) -> String {
        self.status
            .canonical_reason()
            .unwrap_or("internal server error")
            .to_ascii_lowercase()
            .replace([' ', '-'], "_")
    }
}

/// One handler of a rule with its effective config: the global config deep-merged with
/// the rule's own, as Oathkeeper merges them.
pub struct Resolved<'a> {
    pub name: &'a str,
    pub config: &'a Value,
}

/// Runs authentication, authorization and mutation for `matched`.
pub async fn run(
    px: &Proxy,
    matched: &Matched,
    incoming: &Arc<Incoming>,
) -> Result<Session, Denied> {
    let rule = &matched.rule;
    let req: &Incoming = incoming;
    let mut session = Session::new(Arc::clone(incoming), matched.captures.clone());
    if rule.authenticators.is_empty() {
        return Err(Denied::internal(
            "No authentication handler was set in the rule",
        ));
    }
    authn::authenticate(px, &rule.authenticators, req, &mut session).await?;
    authz::authorize(px, &rule.authorizer, req, &mut session).await?;
    if rule.mutators.is_empty() {
        return Err(Denied::internal("No mutation handler was set in the rule"));
    }
    for m in &rule.mutators {
        mutate::mutate(px, m, &mut session, &rule.id).await?;
    }
    Ok(session)
}

/// The effective config of a rule's handler of `kind`, or a 500 when it is not enabled.
pub fn resolve<'a>(
    globals: &std::collections::BTreeMap<String, crate::config::HandlerSwitch>,
    kind: &str,
    h: &'a Handler,
) -> Result<Resolved<'a>, Denied> {
    let config = h
        .effective
        .get_or_init(|| {
            let global = globals
                .get(&h.handler)
                .filter(|g| g.enabled == Some(true))?;
            let mut config = if global.config.is_null() {
                json!({})
            } else {
                global.config.clone()
            };
            if !h.config.is_null() {
                gatehouse_core::config::merge(&mut config, h.config.clone());
            }
            Some(config)
        })
        .as_ref();
    let Some(config) = config else {
        return Err(Denied::internal(format!(
            "The {kind} {:?} matching this route is misconfigured or disabled",
            h.handler
        )));
    };
    Ok(Resolved {
        name: &h.handler,
        config,
    })
}

/// A string setting of a handler config (`""` when unset).
pub fn text<'v>(config: &'v Value, key: &str) -> &'v str {
    config.get(key).and_then(Value::as_str).unwrap_or("")
}

/// A boolean setting of a handler config.
pub fn flag(config: &Value, key: &str, default: bool) -> bool {
    config.get(key).and_then(Value::as_bool).unwrap_or(default)
}

/// A list-of-strings setting of a handler config.
pub fn list(config: &Value, key: &str) -> Vec<String> {
    config
        .get(key)
        .and_then(Value::as_array)
        .map(|a| {
            a.iter()
                .filter_map(Value::as_str)
                .map(str::to_string)
                .collect()
        })
        .unwrap_or_default()
}
