//! The test fixture: a real gatehouse identity service on `127.0.0.1:0`, configured from a
//! kratos.yml-style document, plus a tiny cookie-keeping client.

use gatehouse_core::server;
use gatehouse_identity::courier::worker::WorkerHandle;
use gatehouse_identity::service::SharedService;
use reqwest::header::{HeaderMap, SET_COOKIE};
use serde_json::{Value, json};
use std::collections::HashMap;
use std::sync::{Arc, Mutex};

#[derive(Clone, Debug)]
pub enum Backend {
    Sqlite,
    Postgres(String),
}

/// SQLite always; PostgreSQL too when `GATEHOUSE_TEST_POSTGRES_DSN` is set.
pub fn backends() -> Vec<Backend> {
    let mut b = vec![Backend::Sqlite];
    match std::env::var("GATEHOUSE_TEST_POSTGRES_DSN") {
        Ok(dsn) if !dsn.is_empty() => b.push(Backend::Postgres(dsn)),
        _ => eprintln!("GATEHOUSE_TEST_POSTGRES_DSN is not set: PostgreSQL variant skipped"),
    }
    b
}

pub struct TestApp {
    pub public: String,
    pub admin: String,
    pub svc: SharedService,
    pub http: reqwest::Client,
    pub dsn: String,
    /// The courier worker, running as in `gatehouse serve`; see [`TestApp::stop_courier`].
    pub courier: Option<WorkerHandle>,
    _dir: tempfile::TempDir,
}

pub const SCHEMA: &str = include_str!("../fixtures/identity.schema.json");

/// A fresh PostgreSQL database for one test, named randomly.
async fn fresh_postgres(base: &str) -> String {
    use gatehouse_store::sqlx::{Connection, Executor, PgConnection};
    let name = format!("gh_test_{}", uuid::Uuid::new_v4().simple());
    let mut conn = PgConnection::connect(base)
        .await
        .expect("connect to GATEHOUSE_TEST_POSTGRES_DSN");
    conn.execute(gatehouse_store::sqlx::AssertSqlSafe(format!(
        "CREATE DATABASE {name}"
    )))
    .await
    .expect("create test database");
    let (head, _) = base.rsplit_once('/').expect("DSN with a database path");
    let base_no_query = head.to_string();
    let query = base
        .split_once('?')
        .map(|(_, q)| format!("?{q}"))
        .unwrap_or_default();
    format!("{base_no_query}/{name}{query}")
}

impl TestApp {
    /// Starts the service in dev mode with the reference schema and `extra` merged over a
    /// base config.
    pub async fn start(backend: &Backend, extra: Value) -> TestApp {
        Self::try_start(backend, extra, true)
            .await
            .expect("service starts")
    }

    /// The same outside dev mode.
    pub async fn start_non_dev(backend: &Backend, extra: Value) -> TestApp {
        Self::try_start(backend, extra, false)
            .await
            .expect("service starts")
    }

    /// Starts the service, or says why it would not start.
    pub async fn try_start(backend: &Backend, extra: Value, dev: bool) -> Result<TestApp, String> {
        let dir = tempfile::tempdir().unwrap();
        let dsn = match backend {
            Backend::Sqlite => {
                format!("sqlite://{}?mode=rwc", dir.path().join("test.db").display())
            }
            Backend::Postgres(base) => fresh_postgres(base).await,
        };
        Self::start_on(dsn, dir, extra, dev).await
    }

    /// A second instance on this one's database, as in a multi-instance deployment.
    pub async fn sibling(&self, extra: Value) -> TestApp {
        Self::start_on(self.dsn.clone(), tempfile::tempdir().unwrap(), extra, true)
            .await
            .expect("service starts")
    }

    /// Stops the courier worker, waiting for the send in flight (a process going away).
    pub async fn stop_courier(&mut self) {
        if let Some(w) = self.courier.take() {
            w.shutdown().await;
        }
    }

    async fn start_on(
        dsn: String,
        dir: tempfile::TempDir,
        extra: Value,
        dev: bool,
    ) -> Result<TestApp, String> {
        gatehouse_core::install_tls_provider();
        init_logs();
        let schema_path = dir.path().join("identity.schema.json");
        std::fs::write(&schema_path, SCHEMA).unwrap();
        let public_l = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let admin_l = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let public = format!("http://{}/", public_l.local_addr().unwrap());
        let admin = format!("http://{}/", admin_l.local_addr().unwrap());
        let mut doc = json!({
            "dsn": &dsn,
            "serve": {"public": {"base_url": public}, "admin": {"base_url": admin}},
            "selfservice": {
                "default_browser_return_url": format!("{public}ui/welcome"),
                "allowed_return_urls": ["https://app.example.org/"],
                "methods": {"password": {"enabled": true}},
                "flows": {
                    "registration": {"after": {"password": {"hooks": [{"hook": "session"}]}}}
                }
            },
            "identity": {"default_schema_id": "default", "schemas": [{"id": "default", "url": format!("file://{}", schema_path.display())}]},
            "hashers": {"algorithm": "bcrypt", "bcrypt": {"cost": 4}},
            "secrets": {"default": ["a-very-long-test-secret-0123456789"]},
        });
        gatehouse_core::config::merge(&mut doc, extra);
        let cfg = gatehouse_identity::config::Config::from_value(doc, "", dev)
            .map_err(|e| e.to_string())?;
        let svc = gatehouse_identity::boot::build(cfg).await?;
        let courier = Some(svc.courier.spawn_worker());
        // The server loop the binary runs, so tests see its connection handling.
        let p = server::router(gatehouse_identity::api::public_router(svc.clone()));
        let a = server::router(gatehouse_identity::api::admin_router(svc.clone()));
        tokio::spawn(server::serve(public_l, p, std::future::pending()));
        tokio::spawn(server::serve(admin_l, a, std::future::pending()));
        let http = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .unwrap();
        Ok(TestApp {
            public,
            admin,
            svc,
            http,
            dsn,
            courier,
            _dir: dir,
        })
    }

    pub fn pub_url(&self, path: &str) -> String {
        format!("{}{}", self.public, path.trim_start_matches('/'))
    }

    pub fn admin_url(&self, path: &str) -> String {
        format!("{}{}", self.admin, path.trim_start_matches('/'))
    }

    /// A browser: keeps cookies between requests and never follows redirects.
    pub fn browser(&self) -> Browser {
        Browser {
            http: self.http.clone(),
            cookies: Arc::new(Mutex::new(HashMap::new())),
        }
    }

    /// Registers through the API flow and returns (identity id, session token).
    pub async fn register_api(&self, email: &str, password: &str) -> (String, String) {
        let traits = json!({"email": email, "user_type": "educator", "name": {"first": "Test", "last": "User"}});
        let (status, body) = self.register_traits(traits, password).await;
        assert_eq!(status, 200, "registration failed: {body}");
        (
            body["identity"]["id"].as_str().unwrap().into(),
            body["session_token"].as_str().unwrap().into(),
        )
    }

    /// Registers through the API flow (`method: password`) with `traits`; the status and
    /// the answer (the flow with its messages on failure).
    pub async fn register_traits(&self, traits: Value, password: &str) -> (u16, Value) {
        let flow: Value = self
            .http
            .get(self.pub_url("self-service/registration/api"))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        let res = self
            .http
            .post(flow["ui"]["action"].as_str().unwrap())
            .json(&json!({"method": "password", "password": password, "traits": traits}))
            .send()
            .await
            .unwrap();
        (res.status().as_u16(), res.json().await.unwrap())
    }

    /// Signs in through the API flow with a password; the status and the answer (the
    /// session and its token, or the flow with its messages).
    pub async fn login_api(&self, identifier: &str, password: &str) -> (u16, Value) {
        let flow: Value = self
            .http
            .get(self.pub_url("self-service/login/api"))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        let res = self
            .http
            .post(flow["ui"]["action"].as_str().unwrap())
            .json(&json!({"method": "password", "identifier": identifier, "password": password}))
            .send()
            .await
            .unwrap();
        (res.status().as_u16(), res.json().await.unwrap())
    }

    /// `GET /sessions/whoami` with a session token.
    pub async fn whoami(&self, token: &str) -> (u16, Value) {
        let res = self
            .http
            .get(self.pub_url("sessions/whoami"))
            .header("X-Session-Token", token)
            .send()
            .await
            .unwrap();
        (
            res.status().as_u16(),
            res.json().await.unwrap_or(Value::Null),
        )
    }
}

impl TestApp {
    /// The template data of the newest mail to `to`.
    pub async fn last_mail(&self, to: &str) -> Option<Value> {
        let filter = gatehouse_identity::store::MessageFilter {
            status: None,
            recipient: Some(to.to_string()),
        };
        let messages = self
            .svc
            .store
            .list_courier_messages(&filter, None, 1000)
            .await
            .unwrap();
        messages
            .into_iter()
            .max_by_key(|m| m.created_at)
            .map(|m| m.template_data)
    }

    pub async fn has_mail_to(&self, to: &str) -> bool {
        self.last_mail(to).await.is_some()
    }

    pub async fn last_mail_field(&self, to: &str, field: &str) -> String {
        let mail = self
            .last_mail(to)
            .await
            .unwrap_or_else(|| panic!("no mail to {to}"));
        let json_name = gatehouse_identity::courier::template_type::json_name(field);
        mail.get(field)
            .or_else(|| mail.get(&json_name))
            .and_then(Value::as_str)
            .unwrap_or_else(|| panic!("no {field} in {mail}"))
            .to_string()
    }

    /// The code in the newest mail to `to`.
    pub async fn last_code(&self, to: &str) -> String {
        self.last_mail_field(to, "VerificationCode").await
    }
}

/// A cookie-keeping client, enough to act like a browser in tests.
#[derive(Clone)]
pub struct Browser {
    pub http: reqwest::Client,
    pub cookies: Arc<Mutex<HashMap<String, String>>>,
}

impl Browser {
    fn cookie_header(&self) -> String {
        self.cookies
            .lock()
            .unwrap()
            .iter()
            .map(|(k, v)| format!("{k}={v}"))
            .collect::<Vec<_>>()
            .join("; ")
    }

    fn keep(&self, headers: &HeaderMap) {
        let mut jar = self.cookies.lock().unwrap();
        for v in headers.get_all(SET_COOKIE) {
            let s = v.to_str().unwrap();
            let (pair, attrs) = s.split_once(';').unwrap_or((s, ""));
            let (k, val) = pair.split_once('=').unwrap();
            if attrs.contains("Max-Age=0") || val.is_empty() {
                jar.remove(k);
            } else {
                jar.insert(k.to_string(), val.to_string());
            }
        }
    }

    pub async fn get(&self, url: &str, json: bool) -> reqwest::Response {
        let mut req = self.http.get(url).header("cookie", self.cookie_header());
        if json {
            req = req.header("accept", "application/json");
        }
        let res = req.send().await.unwrap();
        self.keep(res.headers());
        res
    }

    pub async fn post_form(&self, url: &str, form: &[(&str, &str)]) -> reqwest::Response {
        let res = self
            .http
            .post(url)
            .header("cookie", self.cookie_header())
            .header("accept", "text/html")
            .form(form)
            .send()
            .await
            .unwrap();
        self.keep(res.headers());
        res
    }

    pub async fn post_json(&self, url: &str, body: &Value) -> reqwest::Response {
        let res = self
            .http
            .post(url)
            .header("cookie", self.cookie_header())
            .header("accept", "application/json")
            .json(body)
            .send()
            .await
            .unwrap();
        self.keep(res.headers());
        res
    }

    pub fn has_cookie(&self, name: &str) -> bool {
        self.cookies.lock().unwrap().contains_key(name)
    }
}

/// The location a redirect points to.
pub fn location(res: &reqwest::Response) -> String {
    res.headers()
        .get("location")
        .map(|v| v.to_str().unwrap().to_string())
        .unwrap_or_default()
}

/// The `value` of the node named `name` in a flow.
pub fn node_value(flow: &Value, name: &str) -> Value {
    node(flow, name)["attributes"]["value"].clone()
}

pub fn node<'a>(flow: &'a Value, name: &str) -> &'a Value {
    flow["ui"]["nodes"]
        .as_array()
        .unwrap()
        .iter()
        .find(|n| n["attributes"]["name"] == name)
        .unwrap_or(&Value::Null)
}

/// Every message id on the flow and its nodes.
pub fn message_ids(flow: &Value) -> Vec<i64> {
    let mut ids: Vec<i64> = flow["ui"]["messages"]
        .as_array()
        .map(|m| m.iter().filter_map(|m| m["id"].as_i64()).collect())
        .unwrap_or_default();
    for n in flow["ui"]["nodes"].as_array().unwrap_or(&Vec::new()) {
        for m in n["messages"].as_array().unwrap_or(&Vec::new()) {
            ids.push(m["id"].as_i64().unwrap_or(0));
        }
    }
    ids
}

/// Logs of the service under test, shown for failing tests (`RUST_LOG` to tune).
pub fn init_logs() {
    let _ = tracing_subscriber::fmt()
        .with_env_filter(std::env::var("RUST_LOG").unwrap_or_else(|_| "warn".into()))
        .with_test_writer()
        .try_init();
}
