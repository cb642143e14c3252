//! `serve.{proxy,api}.cors`: Oathkeeper's CORS settings, read and answered as Kratos's and
//! Keto's are (`gatehouse_core::cors`: origins exact or with one `*`, such as
//! `https://*.example.com`), with Oathkeeper's defaults.

use gatehouse_core::cors::{Cors, Defaults};
use serde_json::Value;
use tower_http::cors::CorsLayer;

/// Oathkeeper's config schema defaults: no credentials unless asked for.
const DEFAULTS: Defaults = Defaults {
    methods: &["GET", "POST", "PUT", "PATCH", "DELETE"],
    headers: &["Authorization", "Content-Type"],
    exposed: &["Content-Type"],
    credentials: false,
};

/// The layer for a listener's `cors` setting; `None` when it is off. `key` names the
/// setting in errors.
pub fn layer(setting: &Value, key: &str) -> Result<Option<CorsLayer>, String> {
    if setting.is_null() {
        return Ok(None);
    }
    let c: Cors = serde_json::from_value(setting.clone()).map_err(|e| format!("{key}: {e}"))?;
    gatehouse_core::cors::validate(&c, key).map_err(|e| e.to_string())?;
    Ok(gatehouse_core::cors::layer(&c, &DEFAULTS))
}
