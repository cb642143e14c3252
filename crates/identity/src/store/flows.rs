//! Self-service flows and error reports, stored as the JSON documents they are.

use super::{SqlStore, StoreError, parse_json};
use gatehouse_core::clock::to_micros;
use gatehouse_store::{on_pool, sqlx};
use serde_json::Value;

impl SqlStore {
    /// Inserts or replaces a flow document.
    pub async fn put_flow(
        &self,
        id: uuid::Uuid,
        kind: &str,
        body: &Value,
        expires_at: time::OffsetDateTime,
        now: time::OffsetDateTime,
    ) -> Result<(), StoreError> {
        on_pool!(self.db.writer(), p => sqlx::query(
            "INSERT INTO identity_flows (id, kind, body, expires_at, created_at, updated_at) VALUES ($1, $2, $3, $4, $5, $5) \
             ON CONFLICT (id) DO UPDATE SET body = excluded.body, expires_at = excluded.expires_at, updated_at = excluded.updated_at",
        )
        .bind(id.to_string())
        .bind(kind)
        .bind(body.to_string())
        .bind(to_micros(expires_at))
        .bind(to_micros(now))
        .execute(p)
        .await
        .map(|_| ()))?;
        Ok(())
    }

    /// A flow document and its kind.
    pub async fn get_flow(&self, id: uuid::Uuid) -> Result<Option<(String, Value)>, StoreError> {
        let row: Option<(String, String)> = on_pool!(self.db.reader(), p => sqlx::query_as(
            "SELECT kind, body FROM identity_flows WHERE id = $1",
        )
        .bind(id.to_string())
        .fetch_optional(p)
        .await?);
        row.map(|(k, b)| Ok((k, parse_json(&b)?))).transpose()
    }

    /// Removes flows that expired before `cutoff`.
    pub async fn delete_expired_flows(
        &self,
        cutoff: time::OffsetDateTime,
    ) -> Result<u64, StoreError> {
        let n = on_pool!(self.db.writer(), p => sqlx::query("DELETE FROM identity_flows WHERE expires_at < $1")
            .bind(to_micros(cutoff))
            .execute(p)
            .await?
            .rows_affected());
        Ok(n)
    }

    pub async fn put_error(
        &self,
        id: uuid::Uuid,
        body: &Value,
        now: time::OffsetDateTime,
    ) -> Result<(), StoreError> {
        on_pool!(self.db.writer(), p => sqlx::query("INSERT INTO identity_errors (id, body, created_at) VALUES ($1, $2, $3)")
            .bind(id.to_string())
            .bind(body.to_string())
            .bind(to_micros(now))
            .execute(p)
            .await
            .map(|_| ()))?;
        Ok(())
    }

    pub async fn get_error(&self, id: uuid::Uuid) -> Result<Option<(Value, i64)>, StoreError> {
        let row: Option<(String, i64)> = on_pool!(self.db.reader(), p => sqlx::query_as(
            "SELECT body, created_at FROM identity_errors WHERE id = $1",
        )
        .bind(id.to_string())
        .fetch_optional(p)
        .await?);
        row.map(|(b, t)| Ok((parse_json(&b)?, t))).transpose()
    }
}
