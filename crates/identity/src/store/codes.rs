//! One-time codes for verification and recovery flows.

use super::{SqlStore, StoreError, parse_uuid};
use gatehouse_core::clock::to_micros;
use gatehouse_store::{on_pool, sqlx};

/// A code about to be stored; `code_hash` is an HMAC of the code, never the code.
pub struct NewCode<'a> {
    pub flow_id: uuid::Uuid,
    pub purpose: &'a str,
    pub identity_id: Option<uuid::Uuid>,
    pub via: &'a str,
    pub address: &'a str,
    pub code_hash: &'a str,
    pub expires_at: time::OffsetDateTime,
}

/// What a guess at a flow's code came to.
#[derive(Debug, PartialEq, Eq)]
pub enum CodeUse {
    /// Right, and now spent: whose address it was.
    Valid {
        identity_id: Option<uuid::Uuid>,
        via: String,
        address: String,
    },
    /// Wrong, expired, or already used.
    Invalid,
    /// Too many guesses on this flow: no code of it works any more.
    TooOften,
}

type Row = (String, String, i64, Option<String>, String, String);

impl SqlStore {
    pub async fn create_code(
        &self,
        c: &NewCode<'_>,
        now: time::OffsetDateTime,
    ) -> Result<(), StoreError> {
        on_pool!(self.db.writer(), p => sqlx::query(
            "INSERT INTO identity_codes (id, flow_id, purpose, identity_id, via, address, code_hash, attempts, expires_at, created_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, 0, $8, $9)",
        )
        .bind(uuid::Uuid::new_v4().to_string())
        .bind(c.flow_id.to_string())
        .bind(c.purpose)
        .bind(c.identity_id.map(|i| i.to_string()))
        .bind(c.via)
        .bind(c.address)
        .bind(c.code_hash)
        .bind(to_micros(c.expires_at))
        .bind(to_micros(now))
        .execute(p)
        .await
        .map(|_| ()))?;
        Ok(())
    }

    /// Counts a guess against the flow's live codes and spends the one that matches.
    /// The increment and the spend are single statements, so concurrent guesses can
    /// neither exceed `max_attempts` unnoticed nor spend one code twice.
    pub async fn use_code(
        &self,
        flow_id: uuid::Uuid,
        purpose: &str,
        matches: impl Fn(&str) -> bool,
        max_attempts: i64,
        now: time::OffsetDateTime,
    ) -> Result<CodeUse, StoreError> {
        let rows: Vec<Row> = on_pool!(self.db.writer(), p => sqlx::query_as(
            "UPDATE identity_codes SET attempts = attempts + 1 \
             WHERE flow_id = $1 AND purpose = $2 AND used_at IS NULL AND expires_at > $3 \
             RETURNING id, code_hash, attempts, identity_id, via, address",
        )
        .bind(flow_id.to_string())
        .bind(purpose)
        .bind(to_micros(now))
        .fetch_all(p)
        .await?);
        if rows.iter().any(|r| r.2 > max_attempts) {
            return Ok(CodeUse::TooOften);
        }
        let Some(hit) = rows.into_iter().find(|r| matches(&r.1)) else {
            return Ok(CodeUse::Invalid);
        };
        let spent = on_pool!(self.db.writer(), p => sqlx::query(
            "UPDATE identity_codes SET used_at = $3 WHERE flow_id = $1 AND purpose = $2 AND used_at IS NULL",
        )
        .bind(flow_id.to_string())
        .bind(purpose)
        .bind(to_micros(now))
        .execute(p)
        .await?
        .rows_affected());
        if spent == 0 {
            // Another request spent it between our two statements.
            return Ok(CodeUse::Invalid);
        }
        Ok(CodeUse::Valid {
            identity_id: hit.3.as_deref().map(parse_uuid).transpose()?,
            via: hit.4,
            address: hit.5,
        })
    }

    /// Retires a flow's live codes (a new code was requested).
    pub async fn retire_codes(
        &self,
        flow_id: uuid::Uuid,
        purpose: &str,
        now: time::OffsetDateTime,
    ) -> Result<(), StoreError> {
        on_pool!(self.db.writer(), p => sqlx::query(
            "UPDATE identity_codes SET used_at = $3 WHERE flow_id = $1 AND purpose = $2 AND used_at IS NULL",
        )
        .bind(flow_id.to_string())
        .bind(purpose)
        .bind(to_micros(now))
        .execute(p)
        .await
        .map(|_| ()))?;
        Ok(())
    }

    /// The identity owning verifiable address `value` (via `via`), if any.
    pub async fn identity_by_verifiable_address(
        &self,
        via: &str,
        value: &str,
    ) -> Result<Option<uuid::Uuid>, StoreError> {
        let row: Option<(String,)> = on_pool!(self.db.reader(), p => sqlx::query_as(
            "SELECT identity_id FROM identity_verifiable_addresses WHERE via = $1 AND value = $2",
        )
        .bind(via)
        .bind(value)
        .fetch_optional(p)
        .await?);
        row.map(|(id,)| parse_uuid(&id)).transpose()
    }

    /// The identity owning recovery address `value` (via `via`), if any.
    pub async fn identity_by_recovery_address(
        &self,
        via: &str,
        value: &str,
    ) -> Result<Option<uuid::Uuid>, StoreError> {
        let row: Option<(String,)> = on_pool!(self.db.reader(), p => sqlx::query_as(
            "SELECT identity_id FROM identity_recovery_addresses WHERE via = $1 AND value = $2",
        )
        .bind(via)
        .bind(value)
        .fetch_optional(p)
        .await?);
        row.map(|(id,)| parse_uuid(&id)).transpose()
    }
}
