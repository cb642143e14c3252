//! The courier's outbox: messages and their dispatches. Workers claim due messages with one
//! guarded UPDATE (on PostgreSQL the candidate rows are locked with `FOR UPDATE SKIP
//! LOCKED`, so concurrent workers take disjoint sets; SQLite runs writes one at a time), and
//! every later change of a claimed message is guarded by the claim token, so a worker that
//! lost its claim cannot overwrite what another one did.

use super::{SqlStore, StoreError, parse_json, parse_uuid};
use crate::courier::message::{Dispatch, DispatchStatus, Message, Status};
use gatehouse_core::clock::{from_micros, to_micros};
use gatehouse_store::{Pool, on_pool, sqlx};
use sqlx::AssertSqlSafe;
use time::OffsetDateTime;

type MessageRow = (
    String,
    i32,
    String,
    String,
    String,
    String,
    String,
    String,
    String,
    i64,
    Option<String>,
    i64,
    i64,
    i64,
);

const COLUMNS: &str = "id, status, channel, recipient, subject, body, body_plaintext, template_type, template_data, send_count, last_error, next_attempt_at, created_at, updated_at";

const QUEUED: i32 = 1;
const SENT: i32 = 2;
const PROCESSING: i32 = 3;
const ABANDONED: i32 = 4;

fn from_row(r: MessageRow) -> Result<Message, StoreError> {
    Ok(Message {
        id: parse_uuid(&r.0)?,
        status: Status::from_code(i64::from(r.1))
            .ok_or_else(|| StoreError::Corrupt(format!("unknown courier status {}", r.1)))?,
        channel: r.2,
        recipient: r.3,
        subject: r.4,
        body_html: r.5,
        body_plaintext: r.6,
        template_type: r.7,
        template_data: parse_json(&r.8)?,
        send_count: u32::try_from(r.9).unwrap_or(0),
        last_error: r.10,
        next_attempt_at: from_micros(r.11),
        created_at: from_micros(r.12),
        updated_at: from_micros(r.13),
    })
}

type DispatchRow = (String, String, String, Option<String>, i64, i64);

fn dispatch_from_row(r: DispatchRow) -> Result<Dispatch, StoreError> {
    Ok(Dispatch {
        id: parse_uuid(&r.0)?,
        message_id: parse_uuid(&r.1)?,
        status: match r.2.as_str() {
            "success" => DispatchStatus::Success,
            "failed" => DispatchStatus::Failed,
            other => {
                return Err(StoreError::Corrupt(format!(
                    "unknown dispatch status {other:?}"
                )));
            }
        },
        error: r.3.as_deref().map(parse_json).transpose()?,
        created_at: from_micros(r.4),
        updated_at: from_micros(r.5),
    })
}

/// Which messages the admin list returns.
#[derive(Clone, Debug, Default)]
pub struct MessageFilter {
    pub status: Option<Status>,
    pub recipient: Option<String>,
}

/// How a failed attempt ends for its message.
#[derive(Clone, Copy, Debug)]
pub enum AfterFailure {
    /// Back in the queue, due again at this time.
    Retry(OffsetDateTime),
    Abandon,
}

/// Inserts a dispatch row on an open transaction (same code for both drivers).
macro_rules! insert_dispatch {
    ($tx:expr, $message_id:expr, $status:expr, $error:expr, $now:expr) => {
        sqlx::query(
            "INSERT INTO identity_courier_dispatches (id, message_id, status, error, created_at, updated_at) VALUES ($1, $2, $3, $4, $5, $5)",
        )
        .bind(uuid::Uuid::new_v4().to_string())
        .bind($message_id)
        .bind($status.as_str())
        .bind($error)
        .bind(to_micros($now))
        .execute(&mut *$tx)
        .await?
    };
}

impl SqlStore {
    /// Adds a message to the outbox, with its first dispatch when it is born failed (a
    /// template that did not render), in one transaction.
    pub async fn insert_courier_message(
        &self,
        m: &Message,
        failure: Option<&serde_json::Value>,
    ) -> Result<(), StoreError> {
        let id = m.id.to_string();
        let error = failure.map(|e| e.to_string());
        on_pool!(self.db.writer(), p => {
            let mut tx = p.begin().await?;
            sqlx::query(
                "INSERT INTO identity_courier_messages (id, type, status, channel, recipient, subject, body, body_plaintext, template_type, template_data, send_count, last_error, next_attempt_at, created_at, updated_at) \
                 VALUES ($1, 'email', $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14)",
            )
            .bind(&id)
            .bind(m.status.code() as i32)
            .bind(&m.channel)
            .bind(&m.recipient)
            .bind(&m.subject)
            .bind(&m.body_html)
            .bind(&m.body_plaintext)
            .bind(&m.template_type)
            .bind(m.template_data.to_string())
            .bind(i64::from(m.send_count))
            .bind(&m.last_error)
            .bind(to_micros(m.next_attempt_at))
            .bind(to_micros(m.created_at))
            .bind(to_micros(m.updated_at))
            .execute(&mut *tx)
            .await?;
            if let Some(error) = &error {
                insert_dispatch!(tx, &id, DispatchStatus::Failed, Some(error.as_str()), m.created_at);
            }
            tx.commit().await?;
        });
        Ok(())
    }

    /// Claims up to `limit` due messages for the worker holding `claim`: queued messages
    /// whose time has come, and messages another worker left in processing past its
    /// lease. They become `processing` until `lease_until`.
    pub async fn claim_courier_messages(
        &self,
        claim: &str,
        now: OffsetDateTime,
        lease_until: OffsetDateTime,
        limit: u32,
    ) -> Result<Vec<Message>, StoreError> {
        let due = "status IN (1, 3) AND next_attempt_at <= $3";
        let lock = match self.db.writer() {
            Pool::Postgres(_) => " FOR UPDATE SKIP LOCKED",
            Pool::Sqlite(_) => "",
        };
        let sql = format!(
            "UPDATE identity_courier_messages SET status = {PROCESSING}, claim = $1, next_attempt_at = $2, updated_at = $3 \
             WHERE id IN (SELECT id FROM identity_courier_messages WHERE {due} ORDER BY next_attempt_at, id LIMIT $4{lock}) \
             AND {due} RETURNING {COLUMNS}"
        );
        let rows: Vec<MessageRow> = on_pool!(self.db.writer(), p => sqlx::query_as(AssertSqlSafe(sql))
            .bind(claim)
            .bind(to_micros(lease_until))
            .bind(to_micros(now))
            .bind(i64::from(limit))
            .fetch_all(p)
            .await?);
        let mut messages = rows
            .into_iter()
            .map(from_row)
            .collect::<Result<Vec<_>, _>>()?;
        messages.sort_by_key(|m| (m.created_at, m.id));
        Ok(messages)
    }

    /// Counts an attempt on a claimed message and renews the claim until `lease_until`.
    /// False when the claim was lost (another worker took the message over).
    pub async fn begin_courier_attempt(
        &self,
        id: uuid::Uuid,
        claim: &str,
        now: OffsetDateTime,
        lease_until: OffsetDateTime,
    ) -> Result<bool, StoreError> {
        let n = on_pool!(self.db.writer(), p => sqlx::query(
            "UPDATE identity_courier_messages SET send_count = send_count + 1, next_attempt_at = $3, updated_at = $4 \
             WHERE id = $1 AND claim = $2 AND status = 3",
        )
        .bind(id.to_string())
        .bind(claim)
        .bind(to_micros(lease_until))
        .bind(to_micros(now))
        .execute(p)
        .await?
        .rows_affected());
        Ok(n == 1)
    }

    /// Marks a claimed message sent and records the successful dispatch.
    pub async fn courier_sent(
        &self,
        id: uuid::Uuid,
        claim: &str,
        now: OffsetDateTime,
    ) -> Result<bool, StoreError> {
        let id = id.to_string();
        let done = on_pool!(self.db.writer(), p => {
            let mut tx = p.begin().await?;
            let n = sqlx::query(AssertSqlSafe(format!(
                "UPDATE identity_courier_messages SET status = {SENT}, claim = NULL, last_error = NULL, updated_at = $3 \
                 WHERE id = $1 AND claim = $2 AND status = {PROCESSING}"
            )))
            .bind(&id)
            .bind(claim)
            .bind(to_micros(now))
            .execute(&mut *tx)
            .await?
            .rows_affected();
            if n == 1 {
                insert_dispatch!(tx, &id, DispatchStatus::Success, None::<&str>, now);
            }
            tx.commit().await?;
            n == 1
        });
        Ok(done)
    }

    /// Records a failed attempt on a claimed message: back to the queue for a later retry,
    /// or abandoned; either way with a failed dispatch carrying `error`.
    pub async fn courier_failed(
        &self,
        id: uuid::Uuid,
        claim: &str,
        error: &serde_json::Value,
        reason: &str,
        then: AfterFailure,
        now: OffsetDateTime,
    ) -> Result<bool, StoreError> {
        let id = id.to_string();
        let (status, next) = match then {
            AfterFailure::Retry(at) => (QUEUED, at),
            AfterFailure::Abandon => (ABANDONED, now),
        };
        let error = error.to_string();
        let done = on_pool!(self.db.writer(), p => {
            let mut tx = p.begin().await?;
            let n = sqlx::query(AssertSqlSafe(format!(
                "UPDATE identity_courier_messages SET status = $4, claim = NULL, last_error = $5, next_attempt_at = $6, updated_at = $3 \
                 WHERE id = $1 AND claim = $2 AND status = {PROCESSING}"
            )))
            .bind(&id)
            .bind(claim)
            .bind(to_micros(now))
            .bind(status)
            .bind(reason)
            .bind(to_micros(next))
            .execute(&mut *tx)
            .await?
            .rows_affected();
            if n == 1 {
                insert_dispatch!(tx, &id, DispatchStatus::Failed, Some(error.as_str()), now);
            }
            tx.commit().await?;
            n == 1
        });
        Ok(done)
    }

    /// Abandons a claimed message without an attempt (its attempts ran out in a process
    /// that stopped mid-send).
    pub async fn courier_abandon_claimed(
        &self,
        id: uuid::Uuid,
        claim: &str,
        reason: &str,
        now: OffsetDateTime,
    ) -> Result<bool, StoreError> {
        let n = on_pool!(self.db.writer(), p => sqlx::query(AssertSqlSafe(format!(
            "UPDATE identity_courier_messages SET status = {ABANDONED}, claim = NULL, last_error = $3, updated_at = $4 \
             WHERE id = $1 AND claim = $2 AND status = {PROCESSING}"
        )))
        .bind(id.to_string())
        .bind(claim)
        .bind(reason)
        .bind(to_micros(now))
        .execute(p)
        .await?
        .rows_affected());
        Ok(n == 1)
    }

    /// Puts the messages still claimed by `claim` back in the queue, due now (a worker
    /// stopping between messages).
    pub async fn courier_release(
        &self,
        claim: &str,
        now: OffsetDateTime,
    ) -> Result<u64, StoreError> {
        let n = on_pool!(self.db.writer(), p => sqlx::query(AssertSqlSafe(format!(
            "UPDATE identity_courier_messages SET status = {QUEUED}, claim = NULL, next_attempt_at = $2, updated_at = $2 \
             WHERE claim = $1 AND status = {PROCESSING}"
        )))
        .bind(claim)
        .bind(to_micros(now))
        .execute(p)
        .await?
        .rows_affected());
        Ok(n)
    }

    pub async fn get_courier_message(&self, id: uuid::Uuid) -> Result<Option<Message>, StoreError> {
        let sql = format!("SELECT {COLUMNS} FROM identity_courier_messages WHERE id = $1");
        let row: Option<MessageRow> = on_pool!(self.db.reader(), p => sqlx::query_as(AssertSqlSafe(sql))
            .bind(id.to_string())
            .fetch_optional(p)
            .await?);
        row.map(from_row).transpose()
    }

    /// A message's dispatches, newest first.
    pub async fn courier_dispatches(&self, id: uuid::Uuid) -> Result<Vec<Dispatch>, StoreError> {
        let rows: Vec<DispatchRow> = on_pool!(self.db.reader(), p => sqlx::query_as(
            "SELECT id, message_id, status, error, created_at, updated_at FROM identity_courier_dispatches \
             WHERE message_id = $1 ORDER BY created_at DESC, id DESC",
        )
        .bind(id.to_string())
        .fetch_all(p)
        .await?);
        rows.into_iter().map(dispatch_from_row).collect()
    }

    /// A page of messages, newest first, after the message with id `after`.
    pub async fn list_courier_messages(
        &self,
        f: &MessageFilter,
        after: Option<&str>,
        limit: u32,
    ) -> Result<Vec<Message>, StoreError> {
        let mut sql = format!("SELECT {COLUMNS} FROM identity_courier_messages WHERE 1 = 1");
        let mut binds: Vec<String> = Vec::new();
        if let Some(s) = f.status {
            // A constant of ours, not input.
            sql.push_str(&format!(" AND status = {}", s.code()));
        }
        if let Some(r) = &f.recipient {
            binds.push(r.clone());
            sql.push_str(&format!(" AND recipient = ${}", binds.len()));
        }
        if let Some(after) = after {
            binds.push(after.to_string());
            let n = binds.len();
            sql.push_str(&format!(
                " AND (created_at, id) < (SELECT created_at, id FROM identity_courier_messages WHERE id = ${n})"
            ));
        }
        sql.push_str(&format!(" ORDER BY created_at DESC, id DESC LIMIT {limit}"));
        let rows: Vec<MessageRow> = on_pool!(self.db.reader(), p => {
            let mut q = sqlx::query_as(AssertSqlSafe(sql));
            for b in &binds {
                q = q.bind(b);
            }
            q.fetch_all(p).await?
        });
        rows.into_iter().map(from_row).collect()
    }
}
