//! Configuration documents as Ory reads them: one or more YAML or JSON files merged, then
//! environment variables named after upper-cased key paths (`SELFSERVICE_FLOWS_LOGIN_UI_URL`),
//! then a typed deserialisation whose errors name the key path that is wrong.

use serde::de::DeserializeOwned;
use serde_json::{Map, Value};
use std::path::Path;

/// A configuration error, always naming where the problem is.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    // Not named `source`: the message already says it, and an error chain printed in full
    // (`{:#}`) would say it twice.
    #[error("cannot read config file {path}: {cause}")]
    Read { path: String, cause: std::io::Error },
    #[error("config file {path} is not valid YAML or JSON: {message}")]
    Parse { path: String, message: String },
    #[error("config key `{key}`: {message}")]
    Invalid { key: String, message: String },
    #[error("environment variable {var} (config key `{key}`): {message}")]
    Env {
        var: String,
        key: String,
        message: String,
    },
}

impl ConfigError {
    pub fn invalid(key: impl Into<String>, message: impl Into<String>) -> Self {
        Self::Invalid {
            key: key.into(),
            message: message.into(),
        }
    }
}

/// How an environment value is turned into JSON for a known key path.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    String,
    Integer,
    Bool,
    /// Comma-separated, or a JSON array.
    StringList,
    /// A JSON document (objects and arrays of objects).
    Json,
}

/// Reads one YAML or JSON file into a JSON value.
pub fn read_document(path: &Path) -> Result<Value, ConfigError> {
    let text = std::fs::read_to_string(path).map_err(|cause| ConfigError::Read {
        path: path.display().to_string(),
        cause,
    })?;
    parse_document(&text).map_err(|message| ConfigError::Parse {
        path: path.display().to_string(),
        message,
    })
}

/// Parses YAML (a superset of JSON) text into a JSON value; an empty file is an empty object.
pub fn parse_document(text: &str) -> Result<Value, String> {
    if text.trim().is_empty() {
        return Ok(Value::Object(Map::new()));
    }
    let v: Value = yaml_serde::from_str(text).map_err(|e| e.to_string())?;
    match v {
        Value::Null => Ok(Value::Object(Map::new())),
        Value::Object(_) => Ok(v),
        _ => Err("the top level must be a mapping of keys".into()),
    }
}

/// Merges `overlay` into `base`: objects merge key by key, anything else replaces.
pub fn merge(base: &mut Value, overlay: Value) {
    match (base, overlay) {
        (Value::Object(b), Value::Object(o)) => {
            for (k, v) in o {
                match b.get_mut(&k) {
                    Some(existing) => merge(existing, v),
                    None => {
                        b.insert(k, v);
                    }
                }
            }
        }
        (b, o) => *b = o,
    }
}

/// Reads and merges several files, later files winning.
pub fn read_documents(paths: &[impl AsRef<Path>]) -> Result<Value, ConfigError> {
    let mut doc = Value::Object(Map::new());
    for p in paths {
        merge(&mut doc, read_document(p.as_ref())?);
    }
    Ok(doc)
}

/// Applies environment overrides. A variable matches a key path when the path, upper-cased
/// with dots as underscores and `prefix` in front, equals its name. Known paths come first
/// (their kind says how to parse the value); otherwise a leaf already in the document is
/// overridden, keeping that leaf's type.
pub fn apply_env(
    doc: &mut Value,
    prefix: &str,
    known: &[(&str, Kind)],
    vars: impl IntoIterator<Item = (String, String)>,
) -> Result<(), ConfigError> {
    let mut existing = Vec::new();
    collect_leaves(doc, String::new(), &mut existing);
    for (name, raw) in vars {
        let Some(rest) = name.strip_prefix(prefix) else {
            continue;
        };
        let found = known
            .iter()
            .find(|(p, _)| env_name(p) == rest)
            .map(|(p, k)| (p.to_string(), *k))
            .or_else(|| existing.iter().find(|(p, _)| env_name(p) == rest).cloned());
        let Some((path, kind)) = found else { continue };
        let value = parse_env_value(&raw, kind).map_err(|message| ConfigError::Env {
            var: name.clone(),
            key: path.clone(),
            message,
        })?;
        set_path(doc, &path, value);
    }
    Ok(())
}

fn env_name(path: &str) -> String {
    path.replace(['.', '-'], "_").to_ascii_uppercase()
}

fn collect_leaves(v: &Value, path: String, out: &mut Vec<(String, Kind)>) {
    match v {
        Value::Object(m) => {
            for (k, child) in m {
                let p = if path.is_empty() {
                    k.clone()
                } else {
                    format!("{path}.{k}")
                };
                collect_leaves(child, p, out);
            }
        }
        Value::Bool(_) => out.push((path, Kind::Bool)),
        Value::Number(n) if n.is_i64() || n.is_u64() => out.push((path, Kind::Integer)),
        Value::Array(items) if items.iter().all(Value::is_string) => {
            out.push((path, Kind::StringList))
        }
        Value::Array(_) => out.push((path, Kind::Json)),
        _ => out.push((path, Kind::String)),
    }
}

fn parse_env_value(raw: &str, kind: Kind) -> Result<Value, String> {
    match kind {
        Kind::String => Ok(Value::String(raw.to_string())),
        Kind::Integer => raw
            .trim()
            .parse::<i64>()
            .map(Value::from)
            .map_err(|_| format!("expected an integer, got {raw:?}")),
        Kind::Bool => match raw.trim().to_ascii_lowercase().as_str() {
            "true" | "1" | "yes" => Ok(Value::Bool(true)),
            "false" | "0" | "no" => Ok(Value::Bool(false)),
            _ => Err(format!("expected true or false, got {raw:?}")),
        },
        Kind::StringList => {
            if raw.trim_start().starts_with('[') {
                serde_json::from_str(raw).map_err(|e| format!("invalid JSON array: {e}"))
            } else {
                Ok(Value::Array(
                    raw.split(',')
                        .map(str::trim)
                        .filter(|s| !s.is_empty())
                        .map(|s| Value::String(s.into()))
                        .collect(),
                ))
            }
        }
        Kind::Json => serde_json::from_str(raw).map_err(|e| format!("invalid JSON: {e}")),
    }
}

/// Sets a dotted key path, creating objects on the way.
pub fn set_path(doc: &mut Value, path: &str, value: Value) {
    let mut cur = doc;
    let parts: Vec<&str> = path.split('.').collect();
    for (i, part) in parts.iter().enumerate() {
        if !cur.is_object() {
            *cur = Value::Object(Map::new());
        }
        let Value::Object(m) = cur else { return };
        if i + 1 == parts.len() {
            m.insert((*part).to_string(), value);
            return;
        }
        cur = m
            .entry((*part).to_string())
            .or_insert_with(|| Value::Object(Map::new()));
    }
}

/// Reads a dotted key path.
pub fn get_path<'a>(doc: &'a Value, path: &str) -> Option<&'a Value> {
    path.split('.').try_fold(doc, |v, k| v.get(k))
}

/// Deserialises a document into typed config, naming the key path on failure
/// (`selfservice.flows.login.after.password.hooks[1].config.url: missing field`).
pub fn deserialize<T: DeserializeOwned>(doc: Value, prefix: &str) -> Result<T, ConfigError> {
    serde_path_to_error::deserialize(doc).map_err(|e| {
        let inner = e.path().to_string();
        let key = match (prefix.is_empty(), inner.as_str()) {
            (true, _) => inner.clone(),
            (false, ".") => prefix.to_string(),
            (false, _) => format!("{prefix}.{inner}"),
        };
        ConfigError::invalid(key, e.into_inner().to_string())
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn env_overrides_known_and_existing_paths() {
        let mut doc = json!({"serve": {"public": {"port": 4433}}, "selfservice": {"allowed_return_urls": []}});
        let known = [
            ("dsn", Kind::String),
            ("selfservice.flows.login.ui_url", Kind::String),
        ];
        let vars = vec![
            ("DSN".to_string(), "memory".to_string()),
            ("SERVE_PUBLIC_PORT".to_string(), "5000".to_string()),
            (
                "SELFSERVICE_FLOWS_LOGIN_UI_URL".to_string(),
                "http://x/login".to_string(),
            ),
            (
                "SELFSERVICE_ALLOWED_RETURN_URLS".to_string(),
                "http://a, http://b".to_string(),
            ),
            ("UNRELATED".to_string(), "1".to_string()),
        ];
        apply_env(&mut doc, "", &known, vars).unwrap();
        assert_eq!(doc["dsn"], "memory");
        assert_eq!(doc["serve"]["public"]["port"], 5000);
        assert_eq!(
            doc["selfservice"]["flows"]["login"]["ui_url"],
            "http://x/login"
        );
        assert_eq!(
            doc["selfservice"]["allowed_return_urls"],
            json!(["http://a", "http://b"])
        );
        assert!(doc.get("unrelated").is_none());
    }

    #[test]
    fn bad_env_value_names_the_variable() {
        let mut doc = json!({"serve": {"public": {"port": 4433}}});
        let err = apply_env(
            &mut doc,
            "",
            &[],
            vec![("SERVE_PUBLIC_PORT".into(), "abc".into())],
        )
        .unwrap_err();
        assert!(err.to_string().contains("SERVE_PUBLIC_PORT"), "{err}");
    }

    #[test]
    fn merge_is_deep() {
        let mut a = json!({"a": {"b": 1, "c": 2}});
        merge(&mut a, json!({"a": {"c": 3}, "d": 4}));
        assert_eq!(a, json!({"a": {"b": 1, "c": 3}, "d": 4}));
    }

    #[test]
    fn typed_errors_name_the_key_path() {
        #[derive(serde::Deserialize, Debug)]
        #[serde(deny_unknown_fields)]
        #[allow(dead_code)]
        struct Inner {
            url: String,
        }
        #[derive(serde::Deserialize, Debug)]
        #[serde(deny_unknown_fields)]
        #[allow(dead_code)]
        struct Outer {
            hooks: Vec<Inner>,
        }
        let err =
            deserialize::<Outer>(json!({"hooks": [{"url": "a"}, {"url": 3}]}), "x").unwrap_err();
        assert!(err.to_string().contains("x.hooks[1].url"), "{err}");
    }
}
