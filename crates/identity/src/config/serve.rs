//! `serve.*`: where the public and admin APIs listen and their public URLs.

use serde::Deserialize;
use serde_json::Value;

#[derive(Debug, Clone, Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub struct Serve {
    #[serde(default)]
    pub public: ServePublic,
    #[serde(default)]
    pub admin: ServeAdmin,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ServePublic {
    #[serde(default = "any_host")]
    pub host: String,
    #[serde(default = "public_port")]
    pub port: u16,
    #[serde(default)]
    pub base_url: Option<String>,
    #[serde(default)]
    pub cors: Cors,
    #[serde(default)]
    pub request_log: Value,
    #[serde(default)]
    pub tls: Value,
    #[serde(default)]
    pub socket: Value,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ServeAdmin {
    #[serde(default = "any_host")]
    pub host: String,
    #[serde(default = "admin_port")]
    pub port: u16,
    #[serde(default)]
    pub base_url: Option<String>,
    #[serde(default)]
    pub request_log: Value,
    #[serde(default)]
    pub tls: Value,
    #[serde(default)]
    pub socket: Value,
}

fn any_host() -> String {
    "0.0.0.0".into()
}
fn public_port() -> u16 {
    4433
}
fn admin_port() -> u16 {
    4434
}

impl Default for ServePublic {
    fn default() -> Self {
        ServePublic {
            host: any_host(),
            port: 4433,
            base_url: None,
            cors: Cors::default(),
            request_log: Value::Null,
            tls: Value::Null,
            socket: Value::Null,
        }
    }
}

impl Default for ServeAdmin {
    fn default() -> Self {
        ServeAdmin {
            host: any_host(),
            port: 4434,
            base_url: None,
            request_log: Value::Null,
            tls: Value::Null,
            socket: Value::Null,
        }
    }
}

/// CORS of the public API (off unless enabled).
pub use gatehouse_core::cors::Cors;
