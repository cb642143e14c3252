//! Sessions, looked up by the SHA-256 digest of their token.

use super::{SqlStore, StoreError, parse_uuid};
use crate::session::Session;
use gatehouse_core::clock::{from_micros, to_micros};
use gatehouse_store::{on_pool, sqlx};
use sqlx::AssertSqlSafe;

type SessionRow = (
    String,
    String,
    bool,
    String,
    String,
    String,
    i64,
    i64,
    i64,
    i64,
    i64,
);

const COLUMNS: &str = "id, identity_id, active, aal, methods, devices, issued_at, authenticated_at, expires_at, created_at, updated_at";

fn from_row(r: SessionRow) -> Result<Session, StoreError> {
    Ok(Session {
        id: parse_uuid(&r.0)?,
        identity_id: parse_uuid(&r.1)?,
        active: r.2,
        aal: r.3,
        methods: serde_json::from_str(&r.4).map_err(|e| StoreError::Corrupt(e.to_string()))?,
        devices: serde_json::from_str(&r.5).map_err(|e| StoreError::Corrupt(e.to_string()))?,
        issued_at: from_micros(r.6),
        authenticated_at: from_micros(r.7),
        expires_at: from_micros(r.8),
        created_at: from_micros(r.9),
        updated_at: from_micros(r.10),
    })
}

/// Which sessions a list returns.
#[derive(Clone, Debug, Default)]
pub struct SessionFilter {
    pub identity_id: Option<uuid::Uuid>,
    pub active: Option<bool>,
    /// Leave this session out (the caller's own in `GET /sessions`).
    pub except: Option<uuid::Uuid>,
}

impl SqlStore {
    pub async fn create_session(&self, s: &Session, token_hash: &str) -> Result<(), StoreError> {
        let methods =
            serde_json::to_string(&s.methods).map_err(|e| StoreError::Corrupt(e.to_string()))?;
        let devices =
            serde_json::to_string(&s.devices).map_err(|e| StoreError::Corrupt(e.to_string()))?;
        on_pool!(self.db.writer(), p => sqlx::query(
            "INSERT INTO identity_sessions (id, token_hash, identity_id, active, aal, methods, devices, issued_at, authenticated_at, expires_at, created_at, updated_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)",
        )
        .bind(s.id.to_string())
        .bind(token_hash)
        .bind(s.identity_id.to_string())
        .bind(s.active)
        .bind(&s.aal)
        .bind(&methods)
        .bind(&devices)
        .bind(to_micros(s.issued_at))
        .bind(to_micros(s.authenticated_at))
        .bind(to_micros(s.expires_at))
        .bind(to_micros(s.created_at))
        .bind(to_micros(s.updated_at))
        .execute(p)
        .await
        .map(|_| ()))?;
        Ok(())
    }

    async fn session_where(
        &self,
        clause: &str,
        value: &str,
    ) -> Result<Option<Session>, StoreError> {
        let sql = format!("SELECT {COLUMNS} FROM identity_sessions WHERE {clause} = $1");
        let row: Option<SessionRow> = on_pool!(self.db.reader(), p => sqlx::query_as(AssertSqlSafe(sql)).bind(value).fetch_optional(p).await?);
        row.map(from_row).transpose()
    }

    pub async fn session_by_token_hash(&self, hash: &str) -> Result<Option<Session>, StoreError> {
        self.session_where("token_hash", hash).await
    }

    pub async fn get_session(&self, id: uuid::Uuid) -> Result<Option<Session>, StoreError> {
        self.session_where("id", &id.to_string()).await
    }

    /// A page of sessions, newest first, after the session with id `after`.
    pub async fn list_sessions(
        &self,
        f: &SessionFilter,
        after: Option<&str>,
        limit: u32,
    ) -> Result<Vec<Session>, StoreError> {
        let mut sql = format!("SELECT {COLUMNS} FROM identity_sessions WHERE 1 = 1");
        let mut binds: Vec<String> = Vec::new();
        if let Some(id) = f.identity_id {
            binds.push(id.to_string());
            sql.push_str(&format!(" AND identity_id = ${}", binds.len()));
        }
        if let Some(id) = f.except {
            binds.push(id.to_string());
            sql.push_str(&format!(" AND id <> ${}", binds.len()));
        }
        if let Some(after) = after {
            binds.push(after.to_string());
            let n = binds.len();
            sql.push_str(&format!(" AND (created_at, id) < (SELECT created_at, id FROM identity_sessions WHERE id = ${n})"));
        }
        match f.active {
            Some(true) => sql.push_str(" AND active = TRUE"),
            Some(false) => sql.push_str(" AND active = FALSE"),
            None => {}
        }
        sql.push_str(&format!(" ORDER BY created_at DESC, id DESC LIMIT {limit}"));
        let rows: Vec<SessionRow> = on_pool!(self.db.reader(), p => {
            let mut q = sqlx::query_as(AssertSqlSafe(sql));
            for b in &binds {
                q = q.bind(b);
            }
            q.fetch_all(p).await?
        });
        rows.into_iter().map(from_row).collect()
    }

    /// Deactivates one session. Returns false if there is no such session.
    pub async fn revoke_session(
        &self,
        id: uuid::Uuid,
        now: time::OffsetDateTime,
    ) -> Result<bool, StoreError> {
        let n = on_pool!(self.db.writer(), p => sqlx::query(
            "UPDATE identity_sessions SET active = FALSE, updated_at = $2 WHERE id = $1",
        )
        .bind(id.to_string())
        .bind(to_micros(now))
        .execute(p)
        .await?
        .rows_affected());
        self.changed().await;
        Ok(n == 1)
    }

    /// Deactivates every active session of an identity except `keep`; returns how many.
    pub async fn revoke_identity_sessions(
        &self,
        identity: uuid::Uuid,
        keep: Option<uuid::Uuid>,
        now: time::OffsetDateTime,
    ) -> Result<u64, StoreError> {
        let keep = keep.map(|k| k.to_string()).unwrap_or_default();
        let n = on_pool!(self.db.writer(), p => sqlx::query(
            "UPDATE identity_sessions SET active = FALSE, updated_at = $3 WHERE identity_id = $1 AND id <> $2 AND active = TRUE",
        )
        .bind(identity.to_string())
        .bind(keep)
        .bind(to_micros(now))
        .execute(p)
        .await?
        .rows_affected());
        if n > 0 {
            self.changed().await;
        }
        Ok(n)
    }

    /// Moves a session's expiry.
    pub async fn set_session_expiry(
        &self,
        id: uuid::Uuid,
        expires_at: time::OffsetDateTime,
        now: time::OffsetDateTime,
    ) -> Result<(), StoreError> {
        on_pool!(self.db.writer(), p => sqlx::query(
            "UPDATE identity_sessions SET expires_at = $2, updated_at = $3 WHERE id = $1",
        )
        .bind(id.to_string())
        .bind(to_micros(expires_at))
        .bind(to_micros(now))
        .execute(p)
        .await
        .map(|_| ()))?;
        self.changed().await;
        Ok(())
    }
}
