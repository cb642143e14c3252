//! `keto.yml`: Keto's config keys, read into typed structs.

use gatehouse_core::config::ConfigError;
use serde::Deserialize;
use serde_json::Value;

#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Config {
    /// Keto's schema lists it, for editors that validate the file.
    #[serde(default, rename = "$schema")]
    pub schema: Value,
    #[serde(default)]
    pub dsn: Option<String>,
    /// A list of `{id, name}`, a `file://` URI, or `{location: file://...opl.ts}`.
    #[serde(default)]
    pub namespaces: Value,
    #[serde(default)]
    pub limit: Limits,
    #[serde(default)]
    pub serve: Serve,
    #[serde(default)]
    pub feature_flags: Value,
    #[serde(default)]
    pub secrets: Value,
    #[serde(default)]
    pub clients: Value,
    #[serde(default)]
    pub log: Value,
    #[serde(default)]
    pub tracing: Value,
    #[serde(default)]
    pub profiling: Value,
    #[serde(default)]
    pub version: Value,
}

#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Limits {
    #[serde(default = "five")]
    pub max_read_depth: u32,
    #[serde(default = "hundred")]
    pub max_read_width: usize,
    #[serde(default = "ten")]
    pub max_batch_check_size: usize,
    #[serde(default = "five_usize")]
    pub batch_check_max_parallelization: usize,
    #[serde(default = "four_thousand")]
    pub max_expand_size: usize,
    /// gatehouse's own: candidates one reverse lookup may gather before it refuses.
    #[serde(default = "ten_thousand")]
    pub max_lookup_candidates: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_read_depth: 5,
            max_read_width: 100,
            max_batch_check_size: 10,
            batch_check_max_parallelization: 5,
            max_expand_size: 4000,
            max_lookup_candidates: crate::reverse::MAX_CANDIDATES,
        }
    }
}

fn five() -> u32 {
    5
}
fn five_usize() -> usize {
    5
}
fn ten() -> usize {
    10
}
fn hundred() -> usize {
    100
}
fn four_thousand() -> usize {
    4000
}
fn ten_thousand() -> usize {
    crate::reverse::MAX_CANDIDATES
}

#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Serve {
    #[serde(default = "Listener::read")]
    pub read: Listener,
    #[serde(default = "Listener::write")]
    pub write: Listener,
    #[serde(default = "Listener::metrics")]
    pub metrics: Listener,
    #[serde(default = "Listener::opl")]
    pub opl: Listener,
}

impl Default for Serve {
    fn default() -> Self {
        Serve {
            read: Listener::read(),
            write: Listener::write(),
            metrics: Listener::metrics(),
            opl: Listener::opl(),
        }
    }
}

#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Listener {
    #[serde(default)]
    pub host: String,
    #[serde(default)]
    pub port: u16,
    #[serde(default)]
    pub cors: gatehouse_core::cors::Cors,
    #[serde(default)]
    pub tls: Value,
    #[serde(default)]
    pub write_listen_file: Option<String>,
}

impl Listener {
    fn on(port: u16) -> Listener {
        Listener {
            host: String::new(),
            port,
            cors: Default::default(),
            tls: Value::Null,
            write_listen_file: None,
        }
    }
    fn read() -> Listener {
        Listener::on(4466)
    }
    fn write() -> Listener {
        Listener::on(4467)
    }
    fn metrics() -> Listener {
        Listener::on(4468)
    }
    fn opl() -> Listener {
        Listener::on(4469)
    }

    pub fn addr(&self) -> String {
        let host = if self.host.is_empty() {
            "0.0.0.0"
        } else {
            &self.host
        };
        format!("{host}:{}", self.port)
    }
}

/// Where the namespaces come from.
#[derive(Clone, Debug, PartialEq)]
pub enum NamespaceSource {
    Names(Vec<String>),
    Opl(String),
}

/// A listed namespace as Keto's config schema has it: `name`, an optional `id` (a whole
/// number, at least 0) and `config`; any other key is a mistake worth naming.
fn namespace_entry(key: &str, entry: &Value) -> Result<String, ConfigError> {
    let Some(fields) = entry.as_object() else {
        return Err(ConfigError::invalid(key, "must be a map with a name"));
    };
    if let Some(unknown) = fields
        .keys()
        .find(|k| !["id", "name", "config"].contains(&k.as_str()))
    {
        return Err(ConfigError::invalid(
            format!("{key}.{unknown}"),
            "unknown field",
        ));
    }
    if let Some(id) = fields.get("id")
        && id.as_u64().is_none()
    {
        return Err(ConfigError::invalid(
            format!("{key}.id"),
            "must be a whole number, 0 or more",
        ));
    }
    fields
        .get("name")
        .and_then(Value::as_str)
        .map(str::to_string)
        .ok_or_else(|| ConfigError::invalid(format!("{key}.name"), "required"))
}

impl Config {
    pub fn from_value(doc: Value, prefix: &str) -> Result<Config, ConfigError> {
        let cfg: Config = gatehouse_core::config::deserialize(doc, prefix)?;
        let key = |k: &str| {
            if prefix.is_empty() {
                k.to_string()
            } else {
                format!("{prefix}.{k}")
            }
        };
        if cfg.dsn.as_deref().is_none_or(str::is_empty) {
            return Err(ConfigError::invalid(
                key("dsn"),
                "required (memory, sqlite://..., postgres://...)",
            ));
        }
        if !(1..=65535).contains(&cfg.limit.max_read_depth) {
            return Err(ConfigError::invalid(
                key("limit.max_read_depth"),
                "must be between 1 and 65535",
            ));
        }
        if !(1..=1_000_000).contains(&cfg.limit.max_lookup_candidates) {
            return Err(ConfigError::invalid(
                key("limit.max_lookup_candidates"),
                "must be between 1 and 1000000",
            ));
        }
        for (name, l) in [
            ("read", &cfg.serve.read),
            ("write", &cfg.serve.write),
            ("metrics", &cfg.serve.metrics),
            ("opl", &cfg.serve.opl),
        ] {
            gatehouse_core::cors::validate(&l.cors, &key(&format!("serve.{name}.cors")))?;
            if !l.tls.is_null() {
                return Err(ConfigError::invalid(
                    key(&format!("serve.{name}.tls")),
                    "TLS on this listener is not supported yet; terminate TLS in front of gatehouse",
                ));
            }
        }
        cfg.namespace_source(prefix)?;
        Ok(cfg)
    }

    /// The namespaces setting, understood.
    pub fn namespace_source(&self, prefix: &str) -> Result<NamespaceSource, ConfigError> {
        let key = if prefix.is_empty() {
            "namespaces".to_string()
        } else {
            format!("{prefix}.namespaces")
        };
        match &self.namespaces {
            Value::Null => Ok(NamespaceSource::Names(Vec::new())),
            Value::Array(items) => items
                .iter()
                .enumerate()
                .map(|(i, n)| namespace_entry(&format!("{key}[{i}]"), n))
                .collect::<Result<Vec<_>, _>>()
                .map(NamespaceSource::Names),
            Value::Object(m) => match m.get("location").and_then(Value::as_str) {
                Some(loc) => Ok(NamespaceSource::Opl(loc.to_string())),
                None => Err(ConfigError::invalid(
                    format!("{key}.location"),
                    "required (file://... of an OPL file)",
                )),
            },
            Value::String(uri) if uri.ends_with(".ts") => Ok(NamespaceSource::Opl(uri.clone())),
            Value::String(_) => Err(ConfigError::invalid(
                key,
                "a directory of legacy namespace files is not supported; list the namespaces or point namespaces.location to an OPL file",
            )),
            _ => Err(ConfigError::invalid(
                key,
                "must be a list of namespaces or {location: ...}",
            )),
        }
    }

    pub fn known_env_paths() -> Vec<(&'static str, gatehouse_core::config::Kind)> {
        use gatehouse_core::config::Kind;
        vec![
            ("dsn", Kind::String),
            ("namespaces.location", Kind::String),
            ("serve.read.host", Kind::String),
            ("serve.read.port", Kind::Integer),
            ("serve.write.host", Kind::String),
            ("serve.write.port", Kind::Integer),
            ("serve.opl.host", Kind::String),
            ("serve.opl.port", Kind::Integer),
            ("serve.metrics.host", Kind::String),
            ("serve.metrics.port", Kind::Integer),
            ("limit.max_read_depth", Kind::Integer),
            ("limit.max_lookup_candidates", Kind::Integer),
            ("serve.read.cors.enabled", Kind::Bool),
            ("serve.read.cors.allowed_origins", Kind::StringList),
            ("serve.write.cors.enabled", Kind::Bool),
            ("serve.write.cors.allowed_origins", Kind::StringList),
            ("serve.metrics.cors.enabled", Kind::Bool),
            ("serve.metrics.cors.allowed_origins", Kind::StringList),
            ("serve.opl.cors.enabled", Kind::Bool),
            ("serve.opl.cors.allowed_origins", Kind::StringList),
        ]
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn error_for(namespaces: Value) -> String {
        let doc = json!({"dsn": "memory", "namespaces": namespaces});
        match Config::from_value(doc, "") {
            Ok(_) => "accepted".into(),
            Err(e) => e.to_string(),
        }
    }

    #[test]
    fn listed_namespaces_are_checked_like_keto_checks_them() {
        assert_eq!(error_for(json!([{"id": 0, "name": "app"}])), "accepted");
        assert_eq!(error_for(json!([{"name": "app"}])), "accepted");
        let cases = [
            (json!([{"id": "x", "name": "app"}]), "`namespaces[0].id`"),
            (json!([{"id": -1, "name": "app"}]), "`namespaces[0].id`"),
            (
                json!([{"name": "a"}, {"name": "b", "foo": 1}]),
                "`namespaces[1].foo`",
            ),
            (json!([{"id": 0}]), "`namespaces[0].name`"),
            (json!(["app"]), "`namespaces[0]`"),
        ];
        for (namespaces, key) in cases {
            let said = error_for(namespaces.clone());
            assert!(said.contains(key), "{namespaces}: {said}");
        }
    }

    #[test]
    fn a_schema_key_is_accepted_as_keto_accepts_it() {
        let doc = json!({"$schema": "https://example.test/keto.schema.json", "dsn": "memory"});
        assert!(Config::from_value(doc, "").is_ok());
    }

    #[test]
    fn the_lookup_candidate_limit_is_checked() {
        let with = |n: Value| {
            let doc = json!({"dsn": "memory", "limit": {"max_lookup_candidates": n}});
            Config::from_value(doc, "").map(|c| c.limit.max_lookup_candidates)
        };
        assert_eq!(with(json!(50)).unwrap(), 50);
        let said = with(json!(0)).unwrap_err().to_string();
        assert!(said.contains("`limit.max_lookup_candidates`"), "{said}");
    }

    #[test]
    fn a_listener_cors_block_is_checked_where_it_stands() {
        let with = |cors: Value| {
            let doc = json!({"dsn": "memory", "serve": {"write": {"cors": cors}}});
            Config::from_value(doc, "permissions").map(|c| c.serve.write.cors.enabled)
        };
        assert!(with(json!({"enabled": true})).unwrap());
        let said = with(json!({"enabled": true, "allowed_origins": ["app.example"]}))
            .unwrap_err()
            .to_string();
        assert!(
            said.contains("`permissions.serve.write.cors.allowed_origins[0]`"),
            "{said}"
        );
        let said = with(json!({"enabled": "yes"})).unwrap_err().to_string();
        assert!(said.contains("serve.write.cors.enabled"), "{said}");
    }
}
