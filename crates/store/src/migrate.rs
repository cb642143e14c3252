//! Embedded migrations: each service passes its list; applied versions are recorded in
//! `<service>_migrations` so services can share one database or use their own.

use crate::{Db, Pool, StoreError, on_pool};

/// One schema change, written once per backend.
#[derive(Clone, Copy, Debug)]
pub struct Migration {
    pub version: i64,
    pub name: &'static str,
    pub sqlite: &'static str,
    pub postgres: &'static str,
}

fn table(service: &str) -> String {
    // Service names are compile-time constants of ours; keep them to identifiers anyway.
    let clean: String = service
        .chars()
        .filter(|c| c.is_ascii_alphanumeric() || *c == '_')
        .collect();
    format!("{clean}_migrations")
}

pub(crate) async fn applied(db: &Db, service: &str) -> Result<Vec<i64>, StoreError> {
    ensure_table(db, service).await?;
    let sql = format!("SELECT version FROM {} ORDER BY version", table(service));
    let rows: Vec<(i64,)> =
        on_pool!(db.reader(), p => sqlx::query_as(sqlx::AssertSqlSafe(sql)).fetch_all(p).await)?;
    Ok(rows.into_iter().map(|r| r.0).collect())
}

async fn ensure_table(db: &Db, service: &str) -> Result<(), StoreError> {
    let sql = format!(
        "CREATE TABLE IF NOT EXISTS {} (version BIGINT PRIMARY KEY, name TEXT NOT NULL, applied_at BIGINT NOT NULL)",
        table(service)
    );
    on_pool!(db.writer(), p => sqlx::query(sqlx::AssertSqlSafe(sql)).execute(p).await.map(|_| ()))?;
    Ok(())
}

/// Applies one migration on an open transaction unless its version is recorded already.
/// A macro because the body is the same for both drivers' connection types.
macro_rules! apply_one {
    ($conn:expr, $service:expr, $m:expr, $sql:expr) => {{
        let t = table($service);
        let exists: Option<(i64,)> = sqlx::query_as(sqlx::AssertSqlSafe(format!(
            "SELECT version FROM {t} WHERE version = $1"
        )))
        .bind($m.version)
        .fetch_optional(&mut *$conn)
        .await?;
        if exists.is_none() {
            tracing::info!(
                service = $service,
                version = $m.version,
                name = $m.name,
                "applying migration"
            );
            sqlx::raw_sql(sqlx::AssertSqlSafe($sql.to_string()))
                .execute(&mut *$conn)
                .await
                .map_err(|source| StoreError::Migration {
                    version: $m.version,
                    name: $m.name.into(),
                    source,
                })?;
            sqlx::query(sqlx::AssertSqlSafe(format!(
                "INSERT INTO {t} (version, name, applied_at) VALUES ($1, $2, $3)"
            )))
            .bind($m.version)
            .bind($m.name)
            .bind(now_micros())
            .execute(&mut *$conn)
            .await?;
        }
        exists.is_none()
    }};
}

fn now_micros() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_micros() as i64)
        .unwrap_or_default()
}

pub(crate) async fn run(
    db: &Db,
    service: &str,
    migrations: &[Migration],
) -> Result<Vec<i64>, StoreError> {
    ensure_table(db, service).await?;
    let mut done = Vec::new();
    match db.writer() {
        Pool::Sqlite(p) => {
            for m in migrations {
                let mut tx = p.begin().await?;
                if apply_one!(tx, service, m, m.sqlite) {
                    done.push(m.version);
                }
                tx.commit().await?;
            }
        }
        Pool::Postgres(p) => {
            let mut tx = p.begin().await?;
            // Replicas starting together must not race: one migrates, the others wait.
            sqlx::query("SELECT pg_advisory_xact_lock(7305716)")
                .execute(&mut *tx)
                .await?;
            for m in migrations {
                if apply_one!(tx, service, m, m.postgres) {
                    done.push(m.version);
                }
            }
            tx.commit().await?;
        }
    }
    Ok(done)
}
