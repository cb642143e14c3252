//! What the proxy tests share: an echo upstream, a running proxy built from a config and
//! rules, and the identity service to check sessions against.

use axum::body::Bytes;
use axum::http::{HeaderMap, Method, Uri};
use gatehouse_core::server;
use serde_json::{Value, json};

/// An upstream that answers every request with what it received, as JSON.
pub async fn echo() -> String {
    async fn handle(
        method: Method,
        uri: Uri,
        headers: HeaderMap,
        body: Bytes,
    ) -> axum::Json<Value> {
        let headers: serde_json::Map<String, Value> = headers
            .iter()
            .map(|(k, v)| (k.as_str().to_string(), json!(v.to_str().unwrap_or(""))))
            .collect();
        axum::Json(json!({
            "method": method.as_str(),
            "uri": uri.to_string(),
            "headers": headers,
            "body": String::from_utf8_lossy(&body),
        }))
    }
    let app = axum::Router::new().fallback(handle);
    let l = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", l.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(l, app).await });
    url
}

/// A running proxy: its two base URLs and the shared state.
pub struct RunningProxy {
    pub proxy: String,
    pub api: String,
    pub px: gatehouse_proxy::SharedProxy,
    pub dir: tempfile::TempDir,
}

/// Writes `rules` to a file, merges `config` over a base with every handler the tests use
/// enabled, and serves the proxy on loopback.
pub async fn start(rules: Value, config: Value) -> RunningProxy {
    try_start(rules, config).await.expect("the proxy starts")
}

pub async fn try_start(rules: Value, config: Value) -> Result<RunningProxy, String> {
    start_with(rules, config, Vec::new()).await
}

/// The same, with services of this process the proxy calls directly.
pub async fn start_with(
    rules: Value,
    config: Value,
    local: Vec<gatehouse_proxy::call::Local>,
) -> Result<RunningProxy, String> {
    gatehouse_core::install_tls_provider();
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("rules.json");
    std::fs::write(&file, serde_json::to_vec_pretty(&rules).unwrap()).unwrap();
    let mut doc = json!({
        "access_rules": {"repositories": [format!("file://{}", file.display())]},
        "authenticators": {
            "noop": {"enabled": true}, "anonymous": {"enabled": true},
            "unauthorized": {"enabled": true}
        },
        "authorizers": {"allow": {"enabled": true}, "deny": {"enabled": true}},
        "mutators": {"noop": {"enabled": true}, "header": {"enabled": true, "config": {"headers": {}}}},
        "serve": {"proxy": {"timeout": {"write": "2s"}}}
    });
    gatehouse_core::config::merge(&mut doc, config);
    let cfg = gatehouse_proxy::config::Config::from_value(doc, "").map_err(|e| e.to_string())?;
    let px = gatehouse_proxy::Proxy::build_with(cfg, local).await?;
    let proxy_l = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let api_l = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let proxy = format!("http://{}", proxy_l.local_addr().unwrap());
    let api = format!("http://{}", api_l.local_addr().unwrap());
    let forever = std::future::pending::<()>;
    let (p, a) = (
        gatehouse_proxy::port::proxy_port(px.clone()),
        server::router(gatehouse_proxy::api_router(px.clone())),
    );
    tokio::spawn(server::serve(proxy_l, p, forever()));
    tokio::spawn(server::serve(api_l, a, forever()));
    Ok(RunningProxy {
        proxy,
        api,
        px,
        dir,
    })
}

impl RunningProxy {
    pub fn rules_file(&self) -> std::path::PathBuf {
        self.dir.path().join("rules.json")
    }
}

/// A client that never follows redirects.
pub fn http() -> reqwest::Client {
    reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap()
}

/// The identity service on loopback (dev mode, SQLite), with the reference schema.
pub struct Identity {
    pub public: String,
    pub svc: gatehouse_identity::service::SharedService,
    _dir: tempfile::TempDir,
}

const SCHEMA: &str = r#"{
  "$id": "https://example.space/identity.schema.json",
  "$schema": "http://json-schema.org/draft-07/schema#",
  "type": "object",
  "properties": {"traits": {"type": "object", "properties": {
    "email": {"type": "string", "format": "email", "title": "E-mail",
      "ory.sh/kratos": {"credentials": {"password": {"identifier": true}},
                        "verification": {"via": "email"}, "recovery": {"via": "email"}}},
    "name": {"type": "string", "title": "Full name"},
    "user_type": {"type": "string", "enum": ["educator", "student"], "title": "I am"}
  }, "required": ["email", "user_type"], "additionalProperties": false}}
}"#;

pub async fn identity(allowed_return: &str) -> Identity {
    gatehouse_core::install_tls_provider();
    let dir = tempfile::tempdir().unwrap();
    let schema = dir.path().join("identity.schema.json");
    std::fs::write(&schema, SCHEMA).unwrap();
    let public_l = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let public = format!("http://{}/", public_l.local_addr().unwrap());
    let doc = json!({
        "dsn": format!("sqlite://{}?mode=rwc", dir.path().join("kratos.db").display()),
        "serve": {"public": {"base_url": public}, "admin": {"base_url": "http://127.0.0.1:1/"}},
        "selfservice": {
            "default_browser_return_url": format!("{public}ui/welcome"),
            "allowed_return_urls": [allowed_return],
            "methods": {"password": {"enabled": true}},
            "flows": {"registration": {"after": {"password": {"hooks": [{"hook": "session"}]}}}}
        },
        "identity": {"default_schema_id": "default", "schemas": [{"id": "default", "url": format!("file://{}", schema.display())}]},
        "hashers": {"algorithm": "bcrypt", "bcrypt": {"cost": 4}},
        "secrets": {"default": ["a-very-long-test-secret-0123456789"]},
    });
    let cfg = gatehouse_identity::config::Config::from_value(doc, "", true).unwrap();
    let svc = gatehouse_identity::boot::build(cfg).await.unwrap();
    let p = server::router(gatehouse_identity::api::public_router(svc.clone()));
    tokio::spawn(server::serve(public_l, p, std::future::pending()));
    Identity {
        public,
        svc,
        _dir: dir,
    }
}

impl Identity {
    /// Registers through the API and returns the session token (also the cookie value).
    pub async fn register(&self, email: &str) -> String {
        let http = http();
        let flow: Value = http
            .get(format!("{}self-service/registration/api", self.public))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        let done: Value = http
            .post(flow["ui"]["action"].as_str().unwrap())
            .json(
                &json!({"method": "password", "password": "correct horse battery",
                          "traits": {"email": email, "user_type": "educator", "name": "Ada"}}),
            )
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        done["session_token"]
            .as_str()
            .unwrap_or_else(|| panic!("{done}"))
            .to_string()
    }
}
