//! `oathkeeper.yml`: Oathkeeper's config keys, read into typed structs. Handler configs stay
//! JSON here: each handler reads its own keys after the global config and the rule's own
//! are merged, as Oathkeeper does.

use gatehouse_core::config::ConfigError;
use serde::Deserialize;
use serde_json::Value;
use std::collections::BTreeMap;

#[derive(Clone, Debug, Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub struct Config {
    #[serde(default)]
    pub serve: Serve,
    #[serde(default)]
    pub access_rules: AccessRules,
    #[serde(default)]
    pub authenticators: BTreeMap<String, HandlerSwitch>,
    #[serde(default)]
    pub authorizers: BTreeMap<String, HandlerSwitch>,
    #[serde(default)]
    pub mutators: BTreeMap<String, HandlerSwitch>,
    #[serde(default)]
    pub errors: Errors,
    /// Accepted so Oathkeeper files load; gatehouse logs through `LOG_LEVEL`/`RUST_LOG`.
    #[serde(default)]
    pub log: Value,
    #[serde(default)]
    pub tracing: Value,
    #[serde(default)]
    pub profiling: Value,
    #[serde(default)]
    pub version: Value,
}

#[derive(Clone, Debug, Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub struct Serve {
    #[serde(default = "Listener::proxy")]
    pub proxy: Listener,
    #[serde(default = "Listener::api")]
    pub api: Listener,
    #[serde(default)]
    pub prometheus: Value,
}

#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Listener {
    #[serde(default)]
    pub host: String,
    #[serde(default)]
    pub port: u16,
    #[serde(default)]
    pub timeout: Timeouts,
    /// Keep incoming `X-Forwarded-*` headers instead of dropping them (proxy only).
    #[serde(default)]
    pub trust_forwarded_headers: bool,
    #[serde(default)]
    pub cors: Value,
    #[serde(default)]
    pub tls: Value,
}

impl Listener {
    fn proxy() -> Listener {
        Listener::on(4455)
    }
    fn api() -> Listener {
        Listener::on(4456)
    }
    fn on(port: u16) -> Listener {
        Listener {
            host: String::new(),
            port,
            timeout: Timeouts::default(),
            trust_forwarded_headers: false,
            cors: Value::Null,
            tls: Value::Null,
        }
    }

    /// `host:port`, all interfaces when `host` is empty, as in Oathkeeper.
    pub fn addr(&self) -> String {
        let host = if self.host.is_empty() {
            "0.0.0.0"
        } else {
            &self.host
        };
        format!("{host}:{}", self.port)
    }
}

impl Default for Listener {
    fn default() -> Self {
        Listener::proxy()
    }
}

#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Timeouts {
    #[serde(default = "secs5", deserialize_with = "duration")]
    pub read: std::time::Duration,
    #[serde(default = "secs120", deserialize_with = "duration")]
    pub write: std::time::Duration,
    #[serde(default = "secs120", deserialize_with = "duration")]
    pub idle: std::time::Duration,
}

impl Default for Timeouts {
    fn default() -> Self {
        Timeouts {
            read: secs5(),
            write: secs120(),
            idle: secs120(),
        }
    }
}

fn secs5() -> std::time::Duration {
    std::time::Duration::from_secs(5)
}

fn secs120() -> std::time::Duration {
    std::time::Duration::from_secs(120)
}

fn duration<'de, D: serde::Deserializer<'de>>(d: D) -> Result<std::time::Duration, D::Error> {
    let s = String::deserialize(d)?;
    gatehouse_core::duration::parse(&s).map_err(serde::de::Error::custom)
}

#[derive(Clone, Debug, Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub struct AccessRules {
    #[serde(default)]
    pub repositories: Vec<String>,
    #[serde(default)]
    pub matching_strategy: Option<String>,
}

/// `<kind>.<name>: {enabled, config}`.
#[derive(Clone, Debug, Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub struct HandlerSwitch {
    /// Unset means off, except for the `json` error handler, which Oathkeeper turns on.
    #[serde(default)]
    pub enabled: Option<bool>,
    #[serde(default)]
    pub config: Value,
}

#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Errors {
    #[serde(default = "json_fallback")]
    pub fallback: Vec<String>,
    #[serde(default)]
    pub handlers: BTreeMap<String, HandlerSwitch>,
}

impl Default for Errors {
    fn default() -> Self {
        Errors {
            fallback: json_fallback(),
            handlers: BTreeMap::new(),
        }
    }
}

fn json_fallback() -> Vec<String> {
    vec!["json".into()]
}

/// The handler names Oathkeeper ships, by kind.
pub const AUTHENTICATORS: &[&str] = &[
    "noop",
    "anonymous",
    "unauthorized",
    "cookie_session",
    "bearer_token",
    "jwt",
    "oauth2_introspection",
    "oauth2_client_credentials",
];
pub const AUTHORIZERS: &[&str] = &["allow", "deny", "remote", "remote_json"];
pub const MUTATORS: &[&str] = &["noop", "header", "cookie", "id_token", "hydrator"];
pub const ERROR_HANDLERS: &[&str] = &["json", "redirect", "www_authenticate"];

impl Config {
    /// Parses and checks a config document; `prefix` is where it sits (`proxy` in
    /// gatehouse.yml) so errors name the full key path.
    pub fn from_value(doc: Value, prefix: &str) -> Result<Config, ConfigError> {
        let cfg: Config = gatehouse_core::config::deserialize(doc, prefix)?;
        cfg.validate(prefix)?;
        Ok(cfg)
    }

    /// Environment variables Oathkeeper reads whose key may be missing from the file.
    pub fn known_env_paths() -> Vec<(&'static str, gatehouse_core::config::Kind)> {
        use gatehouse_core::config::Kind;
        vec![
            ("serve.proxy.host", Kind::String),
            ("serve.proxy.port", Kind::Integer),
            ("serve.api.host", Kind::String),
            ("serve.api.port", Kind::Integer),
            ("serve.proxy.trust_forwarded_headers", Kind::Bool),
            ("access_rules.repositories", Kind::StringList),
            ("access_rules.matching_strategy", Kind::String),
        ]
    }

    fn validate(&self, prefix: &str) -> Result<(), ConfigError> {
        let key = |k: &str| {
            if prefix.is_empty() {
                k.to_string()
            } else {
                format!("{prefix}.{k}")
            }
        };
        let kinds: [(&str, &BTreeMap<String, HandlerSwitch>, &[&str]); 4] = [
            ("authenticators", &self.authenticators, AUTHENTICATORS),
            ("authorizers", &self.authorizers, AUTHORIZERS),
            ("mutators", &self.mutators, MUTATORS),
            ("errors.handlers", &self.errors.handlers, ERROR_HANDLERS),
        ];
        for (kind, map, known) in kinds {
            if let Some(name) = map.keys().find(|n| !known.contains(&n.as_str())) {
                return Err(ConfigError::invalid(
                    key(&format!("{kind}.{name}")),
                    format!("unknown handler; known: {}", known.join(", ")),
                ));
            }
        }
        for (name, l) in [("proxy", &self.serve.proxy), ("api", &self.serve.api)] {
            if !l.tls.is_null() {
                return Err(ConfigError::invalid(
                    key(&format!("serve.{name}.tls")),
                    "TLS on this listener is not supported yet; terminate TLS in front of gatehouse (ingress, load balancer)",
                ));
            }
        }
        match self.access_rules.matching_strategy.as_deref() {
            None | Some("") | Some("regexp") | Some("glob") => {}
            Some(other) => {
                return Err(ConfigError::invalid(
                    key("access_rules.matching_strategy"),
                    format!("must be regexp or glob, got {other:?}"),
                ));
            }
        }
        Ok(())
    }

    /// Whether the error handler `name` may be used (json is on unless turned off).
    pub fn error_handler_enabled(&self, name: &str) -> bool {
        let on_by_default = name == "json";
        self.errors
            .handlers
            .get(name)
            .map_or(on_by_default, |h| h.enabled.unwrap_or(on_by_default))
    }
}
