//! A running permissions service on loopback with a config merged over a base.

use serde_json::{Value, json};

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

async fn fresh_postgres(base: &str) -> String {
    use gatehouse_store::sqlx::{Connection, Executor, PgConnection};
    let name = format!("gh_perm_{}", std::process::id()) + &format!("_{}", rand_suffix());
    let mut conn = PgConnection::connect(base)
        .await
        .expect("connect to PostgreSQL");
    conn.execute(gatehouse_store::sqlx::AssertSqlSafe(format!(
        "CREATE DATABASE {name}"
    )))
    .await
    .expect("create test database");
    let (head, _) = base.rsplit_once('/').expect("DSN with a database path");
    let query = base
        .split_once('?')
        .map(|(_, q)| format!("?{q}"))
        .unwrap_or_default();
    format!("{head}/{name}{query}")
}

fn rand_suffix() -> String {
    use std::time::{SystemTime, UNIX_EPOCH};
    static N: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
    let t = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_nanos())
        .unwrap_or(0);
    format!(
        "{t}_{}",
        N.fetch_add(1, std::sync::atomic::Ordering::Relaxed)
    )
}

pub struct Keto {
    /// The service's database, when it is PostgreSQL.
    pub postgres: Option<String>,
    pub read: String,
    pub write: String,
    pub opl: String,
    pub http: reqwest::Client,
    _dir: tempfile::TempDir,
}

/// Starts the service with `config` merged over a base (its DSN for `backend`).
pub async fn start(backend: &Backend, config: Value) -> Keto {
    try_start(backend, config)
        .await
        .expect("the permissions service starts")
}

pub async fn try_start(backend: &Backend, config: Value) -> Result<Keto, String> {
    gatehouse_core::install_tls_provider();
    let dir = tempfile::tempdir().unwrap();
    let dsn = match backend {
        Backend::Sqlite => format!("sqlite://{}?mode=rwc", dir.path().join("keto.db").display()),
        Backend::Postgres(base) => fresh_postgres(base).await,
    };
    let mut doc = json!({"dsn": dsn.clone()});
    gatehouse_core::config::merge(&mut doc, config);
    let cfg =
        gatehouse_permissions::config::Config::from_value(doc, "").map_err(|e| e.to_string())?;
    let p = gatehouse_permissions::Permissions::build(cfg).await?;
    let serve = |router: axum::Router| async move {
        let l = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}", l.local_addr().unwrap());
        tokio::spawn(gatehouse_core::server::serve(
            l,
            gatehouse_core::server::router(router),
            std::future::pending(),
        ));
        url
    };
    Ok(Keto {
        postgres: matches!(backend, Backend::Postgres(_)).then(|| dsn.clone()),
        read: serve(gatehouse_permissions::api::read_router(p.clone())).await,
        write: serve(gatehouse_permissions::api::write_router(p.clone())).await,
        opl: serve(gatehouse_permissions::api::opl_router(p.clone())).await,
        http: reqwest::Client::new(),
        _dir: dir,
    })
}

/// Writes an OPL file into a temp dir and gives the config pointing to it.
pub fn opl_config(dir: &std::path::Path, source: &str) -> Value {
    let file = dir.join("namespaces.keto.ts");
    std::fs::write(&file, source).unwrap();
    json!({"namespaces": {"location": format!("file://{}", file.display())}})
}

impl Keto {
    /// Inserts text tuples (`ns:obj#rel@subject`) with one PATCH.
    pub async fn insert(&self, tuples: &[&str]) {
        let deltas: Vec<Value> = tuples
            .iter()
            .map(|t| {
                let parsed = gatehouse_permissions::tuple::parse(t).unwrap();
                json!({"action": "insert", "relation_tuple": gatehouse_permissions::tuple::TupleBody::from(&parsed)})
            })
            .collect();
        let r = self
            .http
            .patch(format!("{}/admin/relation-tuples", self.write))
            .json(&deltas)
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 204, "{}", r.text().await.unwrap());
    }

    /// Has PostgreSQL end every other session of the service's database, as an operator
    /// (`pg_terminate_backend`) or a restart would.
    pub async fn end_database_sessions(&self) {
        use gatehouse_store::sqlx::{self, Connection, PgConnection};
        let dsn = self.postgres.as_deref().expect("a PostgreSQL service");
        let mut conn = PgConnection::connect(dsn).await.unwrap();
        let ended: Vec<(bool,)> = sqlx::query_as(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity \
             WHERE datname = current_database() AND pid <> pg_backend_pid()",
        )
        .fetch_all(&mut conn)
        .await
        .unwrap();
        assert!(!ended.is_empty(), "the service had sessions to end");
    }

    /// `GET {path}` on the read port: the status and the JSON body.
    pub async fn read_get(&self, path: &str) -> (u16, Value) {
        let r = self
            .http
            .get(format!("{}{path}", self.read))
            .send()
            .await
            .unwrap();
        (r.status().as_u16(), r.json().await.unwrap())
    }

    /// `GET /relation-tuples?{query}` (one page): the tuples listed.
    pub async fn listed(&self, query: &str) -> Vec<Value> {
        let (status, body) = self.read_get(&format!("/relation-tuples?{query}")).await;
        assert_eq!(status, 200, "{query}");
        body["relation_tuples"]
            .as_array()
            .cloned()
            .unwrap_or_default()
    }

    /// `check/openapi` for a text tuple: whether it is allowed.
    pub async fn allowed(&self, tuple: &str, depth: Option<u32>) -> bool {
        let t = gatehouse_permissions::tuple::parse(tuple).unwrap();
        let url = match depth {
            Some(d) => format!("{}/relation-tuples/check/openapi?max-depth={d}", self.read),
            None => format!("{}/relation-tuples/check/openapi", self.read),
        };
        let r = self
            .http
            .post(url)
            .json(&gatehouse_permissions::tuple::TupleBody::from(&t))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 200, "{tuple}");
        let body: Value = r.json().await.unwrap();
        body["allowed"].as_bool().unwrap()
    }
}
