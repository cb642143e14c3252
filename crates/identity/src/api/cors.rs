//! CORS for the public API (`serve.public.cors`), with Ory's defaults.
//!
//! Origins match exactly, as `*` (any), or with one `*` wildcard such as
//! `https://*.example.com`. The matching origin is echoed back rather than `*`, so
//! credentialed requests (cookies) work, as with Kratos.

use crate::config::Cors;
use axum::http::{HeaderName, HeaderValue, Method, request::Parts};
use std::time::Duration;
use tower_http::cors::{AllowOrigin, CorsLayer};

const DEFAULT_METHODS: [&str; 5] = ["GET", "POST", "PUT", "PATCH", "DELETE"];
const DEFAULT_HEADERS: [&str; 5] = [
    "Authorization",
    "Content-Type",
    "Cookie",
    "X-Session-Token",
    "X-CSRF-Token",
];
const DEFAULT_EXPOSED: [&str; 1] = ["Content-Type"];

/// The layer for an enabled CORS config; `None` when CORS is off.
pub fn layer(cfg: &Cors) -> Option<CorsLayer> {
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
        .allow_methods(parsed::<Method>(&cfg.allowed_methods, &DEFAULT_METHODS))
        .allow_headers(parsed::<HeaderName>(&cfg.allowed_headers, &DEFAULT_HEADERS))
        .expose_headers(parsed::<HeaderName>(&cfg.exposed_headers, &DEFAULT_EXPOSED))
        .allow_credentials(cfg.allow_credentials.unwrap_or(true));
    if let Some(secs) = cfg.max_age.filter(|s| *s > 0) {
        layer = layer.max_age(Duration::from_secs(secs));
    }
    Some(layer)
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

/// The configured values that parse (config validation reports the others), or the defaults.
fn parsed<T: std::str::FromStr>(set: &[String], defaults: &[&str]) -> Vec<T> {
    let parse = |s: &str| s.trim().parse::<T>().ok();
    if set.is_empty() {
        defaults.iter().filter_map(|s| parse(s)).collect()
    } else {
        set.iter().filter_map(|s| parse(s)).collect()
    }
}

#[cfg(test)]
mod tests {
    use super::origin_matches;

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
}
