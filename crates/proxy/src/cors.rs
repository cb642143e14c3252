//! `serve.{proxy,api}.cors`: Oathkeeper's CORS settings (rs/cors style) as a tower layer,
//! so browsers can call the decisions API or a proxied API across origins.

use serde::Deserialize;
use serde_json::Value;
use tower_http::cors::{AllowOrigin, CorsLayer};

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct Cors {
    #[serde(default)]
    enabled: bool,
    #[serde(default)]
    allowed_origins: Vec<String>,
    #[serde(default)]
    allowed_methods: Vec<String>,
    #[serde(default)]
    allowed_headers: Vec<String>,
    #[serde(default)]
    exposed_headers: Vec<String>,
    #[serde(default)]
    allow_credentials: bool,
    #[serde(default)]
    max_age: Option<u64>,
    #[serde(default)]
    debug: bool,
}

/// The layer for a listener's `cors` setting; `None` when it is off. `key` names the
/// setting in errors.
pub fn layer(setting: &Value, key: &str) -> Result<Option<CorsLayer>, String> {
    if setting.is_null() {
        return Ok(None);
    }
    let c: Cors = serde_json::from_value(setting.clone()).map_err(|e| format!("{key}: {e}"))?;
    if !c.enabled {
        return Ok(None);
    }
    let methods = if c.allowed_methods.is_empty() {
        vec![
            "GET".to_string(),
            "POST".into(),
            "PUT".into(),
            "PATCH".into(),
            "DELETE".into(),
        ]
    } else {
        c.allowed_methods.clone()
    };
    let mut layer = CorsLayer::new()
        .allow_methods(parse::<axum::http::Method>(
            key,
            "allowed_methods",
            &methods,
        )?)
        .allow_headers(parse::<axum::http::HeaderName>(
            key,
            "allowed_headers",
            &c.allowed_headers,
        )?)
        .expose_headers(parse::<axum::http::HeaderName>(
            key,
            "exposed_headers",
            &c.exposed_headers,
        )?)
        .allow_credentials(c.allow_credentials);
    layer = if c.allowed_origins.is_empty() || c.allowed_origins.iter().any(|o| o == "*") {
        if c.allow_credentials {
            return Err(format!(
                "{key}: allow_credentials needs explicit allowed_origins, not *"
            ));
        }
        layer.allow_origin(AllowOrigin::any())
    } else {
        layer.allow_origin(parse::<axum::http::HeaderValue>(
            key,
            "allowed_origins",
            &c.allowed_origins,
        )?)
    };
    if let Some(secs) = c.max_age {
        layer = layer.max_age(std::time::Duration::from_secs(secs));
    }
    let _ = c.debug;
    Ok(Some(layer))
}

fn parse<T: std::str::FromStr>(key: &str, what: &str, v: &[String]) -> Result<Vec<T>, String> {
    v.iter()
        .map(|s| {
            s.parse()
                .map_err(|_| format!("{key}.{what}: {s:?} is not valid"))
        })
        .collect()
}
