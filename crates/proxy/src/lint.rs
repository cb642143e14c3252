//! Checks of rules against the config, at start-up, on reload and in
//! `gatehouse proxy rules validate`: every handler a rule names must exist and be enabled
//! (an error), and header templates that would send a Go map dump or nothing for the
//! rule's own authenticator are reported (a warning: the setting is legal, the result is
//! almost never what was meant).

use crate::config::{AUTHENTICATORS, AUTHORIZERS, Config, ERROR_HANDLERS, HandlerSwitch, MUTATORS};
use crate::pipeline::pick::pick;
use crate::rule::{Handler, Rule, RuleSet};
use serde_json::{Value, json};
use std::collections::BTreeMap;

/// An error naming the rule and field for the first handler that is unknown or off.
pub fn check_handlers(config: &Config, set: &RuleSet) -> Result<(), String> {
    for rule in set.rules() {
        check_rule(config, rule)?;
    }
    Ok(())
}

fn check_rule(config: &Config, rule: &Rule) -> Result<(), String> {
    let one = |field: String,
               h: &Handler,
               known: &[&str],
               map: &BTreeMap<String, HandlerSwitch>| {
        if !known.contains(&h.handler.as_str()) {
            return Err(format!(
                "rule {:?} {field}: unknown handler {:?} (known: {})",
                rule.id,
                h.handler,
                known.join(", ")
            ));
        }
        if map.get(&h.handler).and_then(|s| s.enabled) != Some(true) {
            return Err(format!(
                "rule {:?} {field}: the handler {:?} is not enabled (set its `enabled: true` in the config)",
                rule.id, h.handler
            ));
        }
        Ok(())
    };
    for (i, h) in rule.authenticators.iter().enumerate() {
        one(
            format!("authenticators[{i}].handler"),
            h,
            AUTHENTICATORS,
            &config.authenticators,
        )?;
        check_cache_ttl(
            rule,
            &format!("authenticators[{i}]"),
            h,
            &config.authenticators,
        )?;
    }
    if !rule.authorizer.handler.is_empty() {
        one(
            "authorizer.handler".into(),
            &rule.authorizer,
            AUTHORIZERS,
            &config.authorizers,
        )?;
    }
    for (i, h) in rule.mutators.iter().enumerate() {
        one(
            format!("mutators[{i}].handler"),
            h,
            MUTATORS,
            &config.mutators,
        )?;
        check_cache_ttl(rule, &format!("mutators[{i}]"), h, &config.mutators)?;
    }
    for (i, h) in rule.errors.iter().enumerate() {
        if !ERROR_HANDLERS.contains(&h.handler.as_str())
            || !config.error_handler_enabled(&h.handler)
        {
            return Err(format!(
                "rule {:?} errors[{i}].handler: the error handler {:?} is unknown or not enabled",
                rule.id, h.handler
            ));
        }
    }
    Ok(())
}

/// A `cache.ttl` that is not a Go duration stops start-up (and a reload) naming the rule
/// and the key, instead of failing every request the rule matches. The handler's global
/// config counts, as the request would see it merged with the rule's.
fn check_cache_ttl(
    rule: &Rule,
    field: &str,
    h: &Handler,
    globals: &BTreeMap<String, HandlerSwitch>,
) -> Result<(), String> {
    let Ok(resolved) = crate::pipeline::resolve(globals, "handler", h) else {
        return Ok(());
    };
    let ttl = resolved.config.get("cache").and_then(|c| c.get("ttl"));
    match ttl {
        None | Some(Value::Null) => Ok(()),
        Some(Value::String(s)) if s.is_empty() => Ok(()),
        Some(Value::String(s)) => gatehouse_core::duration::parse(s).map(|_| ()).map_err(|e| {
            format!(
                "rule {:?} {field}: config.cache.ttl of {:?}: {e}",
                rule.id, h.handler
            )
        }),
        Some(other) => Err(format!(
            "rule {:?} {field}: config.cache.ttl of {:?} must be a duration such as \"1s\", not {other}",
            rule.id, h.handler
        )),
    }
}

/// One suspicious header template.
#[derive(Debug, Clone, PartialEq)]
pub struct Warning {
    pub rule: String,
    pub header: String,
    pub message: String,
}

impl std::fmt::Display for Warning {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "rule {:?} header {}: {}",
            self.rule, self.header, self.message
        )
    }
}

/// Renders each header template of `header` mutators against a typical session of the
/// rule's first session-checking authenticator and reports values that are a map dump
/// or empty.
pub fn header_warnings(config: &Config, set: &RuleSet) -> Vec<Warning> {
    let mut out = Vec::new();
    for rule in set.rules() {
        let Some(session) = sample_session(config, rule) else {
            continue;
        };
        for m in rule.mutators.iter().filter(|m| m.handler == "header") {
            let mut merged = config
                .mutators
                .get("header")
                .map(|g| g.config.clone())
                .filter(|c| c.is_object())
                .unwrap_or_else(|| json!({}));
            if !m.config.is_null() {
                gatehouse_core::config::merge(&mut merged, m.config.clone());
            }
            let Some(headers) = merged.get("headers").and_then(Value::as_object) else {
                continue;
            };
            for (name, tpl) in headers {
                let src = tpl.as_str().unwrap_or("");
                if let Some(message) = judge(src, &session) {
                    out.push(Warning {
                        rule: rule.id.clone(),
                        header: name.clone(),
                        message,
                    });
                }
            }
        }
    }
    out
}

fn judge(src: &str, data: &Value) -> Option<String> {
    let rendered =
        match crate::template::parse(src).and_then(|t| t.render(data).map_err(|e| e.to_string())) {
            Ok(r) => r,
            Err(e) => return Some(format!("the template does not render: {e}")),
        };
    if rendered.starts_with("map[") || rendered.starts_with('{') {
        return Some(format!(
            "renders a whole object ({}...), not a value. For the e-mail of a Kratos session use {{{{ print .Extra.identity.traits.email }}}} with extra_from: \"@this\", or {{{{ print .Subject }}}} with subject_from: identity.traits.email",
            rendered.chars().take(40).collect::<String>()
        ));
    }
    if rendered.trim().is_empty() {
        return Some(
            "renders an empty value for a typical session of this rule's authenticator; check subject_from / extra_from and the path in the template".into(),
        );
    }
    None
}

/// Template data for a typical Kratos session as the rule's first `cookie_session` or
/// `bearer_token` authenticator would see it; `None` for rules without one.
fn sample_session(config: &Config, rule: &Rule) -> Option<Value> {
    let h = rule
        .authenticators
        .iter()
        .find(|h| h.handler == "cookie_session" || h.handler == "bearer_token")?;
    let mut cfg = config
        .authenticators
        .get(&h.handler)
        .map(|g| g.config.clone())
        .filter(|c| c.is_object())
        .unwrap_or_else(|| json!({}));
    if !h.config.is_null() {
        gatehouse_core::config::merge(&mut cfg, h.config.clone());
    }
    let whoami = typical_whoami();
    let default_subject = if h.handler == "cookie_session" {
        "subject"
    } else {
        "sub"
    };
    let subject_from = cfg
        .get("subject_from")
        .and_then(Value::as_str)
        .unwrap_or(default_subject);
    let extra_from = cfg
        .get("extra_from")
        .and_then(Value::as_str)
        .unwrap_or("extra");
    let whoami = whoami.to_string();
    let at = |path: &str| pick(whoami.as_bytes(), path).ok().flatten();
    let subject = at(subject_from)
        .and_then(|v| v.as_str().map(str::to_string))
        .unwrap_or_default();
    let extra = at(extra_from)
        .filter(Value::is_object)
        .unwrap_or_else(|| json!({}));
    Some(json!({
        "Subject": subject,
        "Extra": extra,
        "Header": {},
        "MatchContext": {"RegexpCaptureGroups": [], "URL": {"Scheme": "https", "Host": "example.org", "Path": "/", "RawQuery": "", "Fragment": ""}, "Method": "GET", "Header": {}},
    }))
}

/// What Kratos's `/sessions/whoami` answers, with the traits most schemas have.
fn typical_whoami() -> Value {
    json!({
        "id": "4a1e3c1e-6d1f-4a51-9d4b-6f1d2f3a4b5c",
        "active": true,
        "expires_at": "2026-12-31T00:00:00Z",
        "authenticated_at": "2026-12-01T00:00:00Z",
        "authenticator_assurance_level": "aal1",
        "authentication_methods": [{"method": "password", "aal": "aal1", "completed_at": "2026-12-01T00:00:00Z"}],
        "issued_at": "2026-12-01T00:00:00Z",
        "identity": {
            "id": "9f8e7d6c-5b4a-4c3d-8e2f-1a0b9c8d7e6f",
            "schema_id": "default",
            "schema_url": "http://127.0.0.1:4433/schemas/ZGVmYXVsdA",
            "state": "active",
            "traits": {
                "email": "user@example.org",
                "username": "user",
                "phone": "+15550100",
                "name": {"first": "Ada", "last": "Lovelace"},
            },
            "verifiable_addresses": [{"id": "0b1c2d3e-4f50-4617-8293-a4b5c6d7e8f9", "value": "user@example.org", "verified": true, "via": "email", "status": "completed"}],
            "recovery_addresses": [{"id": "1c2d3e4f-5061-4728-93a4-b5c6d7e8f901", "value": "user@example.org", "via": "email"}],
            "metadata_public": null,
            "created_at": "2026-01-01T00:00:00Z",
            "updated_at": "2026-01-01T00:00:00Z",
        },
        "devices": [],
    })
}
