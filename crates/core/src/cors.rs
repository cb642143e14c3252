//! A listener's `cors` block, as Kratos and Keto read it (ory/x's rs/cors options), and the
//! tower layer that answers it. Each service brings its own defaults.
//!
//! Origins match exactly, as `*` (any), or with one `*` wildcard such as
//! `https://*.example.com`. The matching origin is echoed back rather than `*`, so
//! credentialed requests (cookies, `Authorization`) work, as with Ory's servers.

use crate::config::ConfigError;
use axum::http::{HeaderName, HeaderValue, Method, request::Parts};
use serde::Deserialize;
use std::time::Duration;
use tower_http::cors::{AllowOrigin, CorsLayer};

/// The `cors` block of a listener (off unless `enabled`).
#[derive(Debug, Clone, Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub struct Cors {
    #[serde(default)]
    pub enabled: bool,
    #[serde(default)]
    pub allowed_origins: Vec<String>,
    #[serde(default)]
    pub allowed_methods: Vec<String>,
    #[serde(default)]
    pub allowed_headers: Vec<String>,
    #[serde(default)]
    pub exposed_headers: Vec<String>,
    #[serde(default)]
    pub allow_credentials: Option<bool>,
    #[serde(default)]
    pub options_passthrough: Option<bool>,
    #[serde(default)]
    pub max_age: Option<u64>,
    #[serde(default)]
    pub debug: Option<bool>,
}

/// What a service answers for the settings a `cors` block leaves out.
pub struct Defaults {
    pub methods: &'static [&'static str],
    pub headers: &'static [&'static str],
    pub exposed: &'static [&'static str],
    pub credentials: bool,
}

/// The layer for an enabled block; `None` when CORS is off. Values that do not parse are
/// reported by [`validate`] when the config loads.
pub fn layer(cfg: &Cors, defaults: &Defaults) -> Option<CorsLayer> {
    if !cfg.enabled {
        return None;
    }
    let patterns = if cfg.allowed_origins.is_empty() {
        vec!["*".to_string()]
    } else {
        cfg.allowed_origins.clone()
    };
    let origin = AllowOrigin::predicate(move |o: &HeaderValue, _: &Parts| {
        o.to_str()
            .map(|o| patterns.iter().any(|p| origin_matches(p, o)))
            .unwrap_or(false)
    });
    let mut layer = CorsLayer::new()
        .allow_origin(origin)
        .allow_methods(parsed::<Method>(&cfg.allowed_methods, defaults.methods))
        .allow_headers(parsed::<HeaderName>(&cfg.allowed_headers, defaults.headers))
        .expose_headers(parsed::<HeaderName>(&cfg.exposed_headers, defaults.exposed))
        .allow_credentials(cfg.allow_credentials.unwrap_or(defaults.credentials));
    if let Some(secs) = cfg.max_age.filter(|s| *s > 0) {
        layer = layer.max_age(Duration::from_secs(secs));
    }
    Some(layer)
}

/// Checks the block at `path` (such as `serve.read.cors`): every origin, method and header
/// must parse, and errors name the entry.
pub fn validate(cfg: &Cors, path: &str) -> Result<(), ConfigError> {
    for (i, o) in cfg.allowed_origins.iter().enumerate() {
        let concrete = o.replacen('*', "wildcard", 1);
        if o != "*" && (o.matches('*').count() > 1 || url::Url::parse(&concrete).is_err()) {
            return Err(ConfigError::invalid(
                format!("{path}.allowed_origins[{i}]"),
                format!("{o:?} is neither `*` nor an origin such as https://*.example.com"),
            ));
        }
    }
    if let Some(i) = unparsed::<Method>(&cfg.allowed_methods) {
        return Err(ConfigError::invalid(
            format!("{path}.allowed_methods[{i}]"),
            format!("{:?} is not an HTTP method", cfg.allowed_methods[i]),
        ));
    }
    for (name, list) in [
        ("allowed_headers", &cfg.allowed_headers),
        ("exposed_headers", &cfg.exposed_headers),
    ] {
        if let Some(i) = unparsed::<HeaderName>(list) {
            return Err(ConfigError::invalid(
                format!("{path}.{name}[{i}]"),
                format!("{:?} is not a header name", list[i]),
            ));
        }
    }
    Ok(())
}

/// Whether `origin` matches `pattern` (`*`, exact, or one `*` wildcard), ignoring case.
pub fn origin_matches(pattern: &str, origin: &str) -> bool {
    let (pattern, origin) = (pattern.to_ascii_lowercase(), origin.to_ascii_lowercase());
    match pattern.split_once('*') {
        None => pattern.trim_end_matches('/') == origin,
        Some(("", "")) => true,
        Some((prefix, suffix)) => {
            origin.len() >= prefix.len() + suffix.len()
                && origin.starts_with(prefix)
                && origin.ends_with(suffix)
        }
    }
}

/// The configured values that parse, or the defaults when none are configured.
fn parsed<T: std::str::FromStr>(set: &[String], defaults: &[&str]) -> Vec<T> {
    let parse = |s: &str| s.trim().parse::<T>().ok();
    if set.is_empty() {
        defaults.iter().filter_map(|s| parse(s)).collect()
    } else {
        set.iter().filter_map(|s| parse(s)).collect()
    }
}

/// The index of the first entry that does not parse as `T`.
fn unparsed<T: std::str::FromStr>(list: &[String]) -> Option<usize> {
    list.iter().position(|s| s.trim().parse::<T>().is_err())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn origins_match_exactly_or_by_wildcard() {
        assert!(origin_matches("*", "https://a.example"));
        assert!(origin_matches(
            "https://app.example.com/",
            "https://app.example.com"
        ));
        assert!(origin_matches(
            "https://*.example.com",
            "https://a.b.example.com"
        ));
        assert!(!origin_matches(
            "https://*.example.com",
            "https://example.com.evil"
        ));
        assert!(!origin_matches(
            "https://*.example.com",
            "http://a.example.com"
        ));
        assert!(!origin_matches(
            "https://app.example.com",
            "https://app.example.com.evil"
        ));
    }

    #[test]
    fn validation_names_the_entry() {
        let cfg = Cors {
            allowed_origins: vec!["https://ok.test".into(), "not an origin".into()],
            ..Cors::default()
        };
        let err = validate(&cfg, "serve.read.cors").unwrap_err().to_string();
        assert!(err.contains("serve.read.cors.allowed_origins[1]"), "{err}");
        let cfg = Cors {
            allowed_methods: vec!["GET".into(), "GE T".into()],
            ..Cors::default()
        };
        let err = validate(&cfg, "x.cors").unwrap_err().to_string();
        assert!(err.contains("x.cors.allowed_methods[1]"), "{err}");
        let cfg = Cors {
            exposed_headers: vec!["bad header".into()],
            ..Cors::default()
        };
        let err = validate(&cfg, "x.cors").unwrap_err().to_string();
        assert!(err.contains("x.cors.exposed_headers[0]"), "{err}");
    }
}
