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

/// The fixture with `courier` replaced by `courier` (YAML).
fn with_courier(courier: &str) -> Result<Config, ConfigError> {
    let mut doc = parse_document(include_str!("../../tests/fixtures/kratos.yml")).unwrap();
    doc["courier"] = parse_document(courier).unwrap();
    Config::from_value(doc, "identity", false)
}

#[test]
fn courier_keys_parse_with_kratos_defaults() {
    let cfg = parse(include_str!("../../tests/fixtures/kratos.yml")).unwrap();
    let c = &cfg.courier;
    assert_eq!(
        c.smtp.connection_uri.as_deref(),
        Some("smtps://apikey:secret@smtp.example.com:465/")
    );
    assert_eq!(c.smtp.from_address, "no-reply@example.space");
    assert_eq!(c.smtp.local_name, "localhost");
    assert_eq!(c.message_retries, 5);
    assert_eq!(c.worker.pull_count, 10);
    assert_eq!(c.worker.pull_wait, Duration::from_secs(1));
    assert_eq!(c.delivery_strategy, DeliveryStrategy::Smtp);

    let c = with_courier(
        "
template_override_path: /conf/courier-templates
message_retries: 8
worker: {pull_count: 3, pull_wait: 250ms, retry_base_delay: 2s}
smtp:
  connection_uri: smtp://u:p@mail.test:587/
  from_name: Exam
  headers: {X-SES-SOURCE-ARN: 'arn:aws:ses:x'}
templates:
  recovery_code:
    valid:
      email:
        subject: base64://e3sgLlJlY292ZXJ5Q29kZSB9fQ==
        body: {html: 'file:///t/body.gotmpl', plaintext: 'https://t.example/p.gotmpl'}
  login_code: {valid: {email: {subject: 'file:///t/s.gotmpl'}}}
channels: [{id: sms, type: http, request_config: {url: 'https://sms.test', method: POST}}]
",
    )
    .unwrap()
    .courier;
    assert_eq!(c.message_retries, 8);
    assert_eq!(c.worker.pull_wait, Duration::from_millis(250));
    assert_eq!(c.worker.retry_base_delay, Duration::from_secs(2));
    assert_eq!(c.smtp.headers["X-SES-SOURCE-ARN"], "arn:aws:ses:x");
    let uris = c.templates.uris("recovery_code", "valid").unwrap();
    assert_eq!(uris.body.html.as_deref(), Some("file:///t/body.gotmpl"));
    assert!(c.templates.uris("recovery_code", "invalid").is_none());
    assert!(c.templates.uris("login_code", "valid").is_some());
    assert!(c.templates.uris("login_code", "invalid").is_none());

    let c = with_courier(
        "
delivery_strategy: http
http:
  request_config:
    url: https://mail.example.org/send
    auth: {type: basic_auth, config: {user: u, password: p}}
",
    )
    .unwrap()
    .courier;
    let http = c.http.unwrap();
    assert_eq!(http.request_config.method, "POST");
    assert!(matches!(
        http.request_config.auth,
        Some(RequestAuth::BasicAuth(_))
    ));
}

#[test]
fn courier_errors_name_the_key_path() {
    let cases = [
        (
            "smtp: {connection_uri: 'http://mail.test/'}",
            "identity.courier.smtp.connection_uri",
        ),
        (
            "smtp: {connection_uri: 'smtp://mail.test/?disable_starttls=maybe'}",
            "identity.courier.smtp.connection_uri",
        ),
        (
            "smtp: {connection_uri: 'smtp://mail.test/', from_adress: x@y.z}",
            "identity.courier.smtp",
        ),
        (
            "smtp: {from_address: 'not an address'}",
            "identity.courier.smtp.from_address",
        ),
        (
            "smtp: {headers: {'Bad Name': x}}",
            "identity.courier.smtp.headers.Bad Name",
        ),
        (
            "smtp: {client_cert_path: /c.pem}",
            "identity.courier.smtp.client_key_path",
        ),
        (
            "worker: {pull_wait: soon}",
            "identity.courier.worker.pull_wait",
        ),
        (
            "worker: {pull_count: 0}",
            "identity.courier.worker.pull_count",
        ),
        (
            "delivery_strategy: pigeon",
            "identity.courier.delivery_strategy",
        ),
        (
            "delivery_strategy: http",
            "identity.courier.http.request_config",
        ),
        (
            "http: {request_config: {url: 'ftp://x'}}",
            "identity.courier.http.request_config.url",
        ),
        (
            "http: {request_config: {url: 'https://x', auth: {type: api_key, config: {name: n, value: v}}}}",
            "identity.courier.http.request_config.auth",
        ),
        (
            "templates: {login_code: {invalid: {email: {subject: 'base64://e30='}}}}",
            "identity.courier.templates.login_code",
        ),
        (
            "templates: {recovery: {valid: {email: {subjekt: 'base64://e30='}}}}",
            "identity.courier.templates.recovery.valid.email",
        ),
    ];
    for (yaml, key) in cases {
        let err = with_courier(yaml).unwrap_err().to_string();
        assert!(err.contains(key), "{yaml}: {err}");
    }
    let err = with_courier(
        "http: {request_config: {url: 'https://x', body: 'base64://ZnVuY3Rpb24oY3R4KSB7fQ=='}}",
    )
    .unwrap_err()
    .to_string();
    assert!(
        err.contains("identity.courier.http.request_config.body") && err.contains("Jsonnet"),
        "{err}"
    );
}

#[test]
fn courier_environment_overrides() {
    let mut doc = parse_document(include_str!("../../tests/fixtures/kratos.yml")).unwrap();
    let vars = vec![
        (
            "COURIER_SMTP_CONNECTION_URI".to_string(),
            "smtp://mailpit:1025/?disable_starttls=true".to_string(),
        ),
        ("COURIER_SMTP_FROM_NAME".to_string(), "Exam".to_string()),
        ("COURIER_MESSAGE_RETRIES".to_string(), "9".to_string()),
        ("COURIER_WORKER_PULL_WAIT".to_string(), "3s".to_string()),
        (
            "COURIER_TEMPLATES_LOGIN_CODE_VALID_EMAIL_BODY_PLAINTEXT".to_string(),
            "file:///t/p.gotmpl".to_string(),
        ),
        (
            "COURIER_HTTP_REQUEST_CONFIG_URL".to_string(),
            "https://mail.example.org/".to_string(),
        ),
    ];
    apply_env(&mut doc, "", &Config::known_env_paths(), vars).unwrap();
    let c = Config::from_value(doc, "", false).unwrap().courier;
    assert_eq!(
        c.smtp.connection_uri.as_deref(),
        Some("smtp://mailpit:1025/?disable_starttls=true")
    );
    assert_eq!(c.smtp.from_name.as_deref(), Some("Exam"));
    assert_eq!(c.message_retries, 9);
    assert_eq!(c.worker.pull_wait, Duration::from_secs(3));
    assert_eq!(
        c.templates
            .uris("login_code", "valid")
            .unwrap()
            .body
            .plaintext
            .as_deref(),
        Some("file:///t/p.gotmpl")
    );
    assert_eq!(
        c.http.unwrap().request_config.url,
        "https://mail.example.org/"
    );
}
