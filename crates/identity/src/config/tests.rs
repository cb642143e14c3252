#![allow(clippy::unwrap_used)]

use super::*;
use gatehouse_core::config::{apply_env, parse_document};
use serde_json::json;

fn parse(yaml: &str) -> Result<Config, ConfigError> {
    Config::from_value(parse_document(yaml).unwrap(), "", false)
}

#[test]
fn quickstart_config_parses() {
    let cfg = parse(include_str!("../../tests/fixtures/kratos.yml")).unwrap();
    assert_eq!(cfg.serve.public.port, 4433);
    assert_eq!(
        cfg.selfservice.flows.login.lifespan,
        Duration::from_secs(600)
    );
    assert_eq!(cfg.hashers.bcrypt.cost, 12);
    assert_eq!(cfg.identity.schemas[0].id, "default");
    assert_eq!(
        cfg.selfservice
            .flows
            .login
            .after
            .password
            .as_ref()
            .unwrap()
            .hooks[0]
            .hook,
        "require_verified_address"
    );
    assert_eq!(cfg.public_base_url(), "http://127.0.0.1:4433/");
}

#[test]
fn errors_name_the_key_path() {
    let base = include_str!("../../tests/fixtures/kratos.yml");
    let err = parse(&base.replace("default_browser_return_url:", "default_browser_retrun_url:"))
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("selfservice") && err.contains("default_browser_retrun_url"),
        "{err}"
    );

    let mut doc = parse_document(base).unwrap();
    doc["selfservice"]["flows"]["registration"]["after"]["password"]["hooks"] =
        json!([{"hook": "session"}, {"hook": "require_verified_address"}]);
    let err = Config::from_value(doc, "identity", false)
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("identity.selfservice.flows.registration.after.password.hooks[1].hook"),
        "{err}"
    );

    let mut doc = parse_document(base).unwrap();
    doc["selfservice"]["flows"]["login"]["ui_url"] = json!("not a url");
    let err = Config::from_value(doc, "", false).unwrap_err().to_string();
    assert!(err.contains("selfservice.flows.login.ui_url"), "{err}");

    let mut doc = parse_document(base).unwrap();
    doc["serve"]["public"]["cors"]["allowed_origins"] = json!(["https://ok.test", "not an origin"]);
    let err = Config::from_value(doc, "", false).unwrap_err().to_string();
    assert!(
        err.contains("serve.public.cors.allowed_origins[1]"),
        "{err}"
    );

    let mut doc = parse_document(base).unwrap();
    doc["session"]["lifespan"] = json!("forever");
    let err = Config::from_value(doc, "", false).unwrap_err().to_string();
    assert!(err.contains("session.lifespan"), "{err}");

    let err = parse("identity: {schemas: [{id: a, url: 'file:///x'}]}\ndsn: memory\n")
        .unwrap_err()
        .to_string();
    assert!(err.contains("identity.default_schema_id"), "{err}");
    let err = parse("identity: {schemas: [{id: default, url: 'file:///x'}]}\n")
        .unwrap_err()
        .to_string();
    assert!(err.contains("`dsn`"), "{err}");
}

#[test]
fn environment_overrides() {
    let mut doc = parse_document(include_str!("../../tests/fixtures/kratos.yml")).unwrap();
    let vars = vec![
        (
            "DSN".to_string(),
            "postgres://u:p@db:5432/kratos".to_string(),
        ),
        ("SERVE_PUBLIC_PORT".to_string(), "5433".to_string()),
        (
            "SELFSERVICE_FLOWS_LOGIN_UI_URL".to_string(),
            "https://auth.example.org/login".to_string(),
        ),
        (
            "IDENTITY_SCHEMAS".to_string(),
            r#"[{"id":"default","url":"base64://e30="}]"#.to_string(),
        ),
        (
            "SECRETS_DEFAULT".to_string(),
            "0123456789abcdef0123,fedcba9876543210fedc".to_string(),
        ),
    ];
    apply_env(&mut doc, "", &Config::known_env_paths(), vars).unwrap();
    let cfg = Config::from_value(doc, "", false).unwrap();
    assert_eq!(cfg.dsn.as_deref(), Some("postgres://u:p@db:5432/kratos"));
    assert_eq!(cfg.serve.public.port, 5433);
    assert_eq!(
        cfg.selfservice.flows.login.ui_url.as_deref(),
        Some("https://auth.example.org/login")
    );
    assert_eq!(cfg.identity.schemas[0].url, "base64://e30=");
    assert_eq!(cfg.secrets.default.len(), 2);
}

#[test]
fn byte_sizes_and_dev_defaults() {
    assert_eq!(parse_bytes("128MB").unwrap(), 128 << 20);
    assert_eq!(parse_bytes("1GB").unwrap(), 1 << 30);
    assert_eq!(parse_bytes("4096").unwrap(), 4096);
    assert!(parse_bytes("12XB").is_err());
    let dev = Config::dev_default();
    assert!(dev.dev && !dev.cookie_secure());
    assert_eq!(dev.dsn.as_deref(), Some("sqlite://gatehouse.db?mode=rwc"));
}
