//! Identities with their credentials, identifiers and addresses. Every write of an identity
//! is one transaction, so a failure leaves nothing half-written.

use super::{SqlStore, StoreError, parse_json, parse_uuid, placeholders};
use crate::identity::{Credential, Identity, RecoveryAddress, State, VerifiableAddress};
use gatehouse_core::clock::{from_micros, to_micros};
use gatehouse_store::{on_pool, sqlx};
use sqlx::AssertSqlSafe;
use std::collections::HashMap;

type IdentityRow = (
    String,
    String,
    String,
    Option<i64>,
    String,
    Option<String>,
    Option<String>,
    Option<String>,
    i64,
    i64,
);
type CredentialRow = (String, String, String, String, i64, i64, i64);
type IdentifierRow = (String, String);
type VerifiableRow = (
    String,
    String,
    String,
    String,
    bool,
    String,
    Option<i64>,
    i64,
    i64,
);
type RecoveryRow = (String, String, String, String, i64, i64);

const IDENTITY_COLUMNS: &str = "id, schema_id, state, state_changed_at, traits, metadata_public, metadata_admin, external_id, created_at, updated_at";

/// Filters of the admin list.
#[derive(Clone, Debug, Default)]
pub struct IdentityFilter {
    /// Exact (lower-cased) match on any credential identifier.
    pub credentials_identifier: Option<String>,
    /// Only these ids.
    pub ids: Vec<String>,
}

/// Inserts the identity's rows on an open transaction. A macro because the body is the same
/// for both drivers' connection types.
macro_rules! insert_children {
    ($tx:expr, $i:expr) => {{
        let id = $i.id.to_string();
        for c in &$i.credentials {
            sqlx::query(
                "INSERT INTO identity_credentials (id, identity_id, type, config, version, created_at, updated_at) VALUES ($1, $2, $3, $4, $5, $6, $7)",
            )
            .bind(c.id.to_string())
            .bind(&id)
            .bind(&c.kind)
            .bind(c.config.to_string())
            .bind(c.version)
            .bind(to_micros(c.created_at))
            .bind(to_micros(c.updated_at))
            .execute(&mut *$tx)
            .await?;
            for ident in &c.identifiers {
                sqlx::query(
                    "INSERT INTO identity_credential_identifiers (type, identifier, identity_id, credential_id, created_at) VALUES ($1, $2, $3, $4, $5)",
                )
                .bind(&c.kind)
                .bind(ident)
                .bind(&id)
                .bind(c.id.to_string())
                .bind(to_micros(c.created_at))
                .execute(&mut *$tx)
                .await?;
            }
        }
        for a in &$i.verifiable_addresses {
            sqlx::query(
                "INSERT INTO identity_verifiable_addresses (id, identity_id, via, value, verified, status, verified_at, created_at, updated_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
            )
            .bind(a.id.to_string())
            .bind(&id)
            .bind(&a.via)
            .bind(&a.value)
            .bind(a.verified)
            .bind(&a.status)
            .bind(a.verified_at.map(to_micros))
            .bind(to_micros(a.created_at))
            .bind(to_micros(a.updated_at))
            .execute(&mut *$tx)
            .await?;
        }
        for a in &$i.recovery_addresses {
            sqlx::query(
                "INSERT INTO identity_recovery_addresses (id, identity_id, via, value, created_at, updated_at) VALUES ($1, $2, $3, $4, $5, $6)",
            )
            .bind(a.id.to_string())
            .bind(&id)
            .bind(&a.via)
            .bind(&a.value)
            .bind(to_micros(a.created_at))
            .bind(to_micros(a.updated_at))
            .execute(&mut *$tx)
            .await?;
        }
    }};
}

impl SqlStore {
    /// Creates an identity with everything that hangs off it, atomically.
    /// A taken identifier, address or external id gives [`StoreError::Conflict`].
    pub async fn create_identity(&self, i: &Identity) -> Result<(), StoreError> {
        on_pool!(self.db.writer(), p => {
            let mut tx = p.begin().await?;
            sqlx::query(
                "INSERT INTO identity_identities (id, schema_id, state, state_changed_at, traits, metadata_public, metadata_admin, external_id, created_at, updated_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)",
            )
            .bind(i.id.to_string())
            .bind(&i.schema_id)
            .bind(i.state.as_str())
            .bind(i.state_changed_at.map(to_micros))
            .bind(i.traits.to_string())
            .bind(i.metadata_public.as_ref().map(|v| v.to_string()))
            .bind(i.metadata_admin.as_ref().map(|v| v.to_string()))
            .bind(&i.external_id)
            .bind(to_micros(i.created_at))
            .bind(to_micros(i.updated_at))
            .execute(&mut *tx)
            .await?;
            insert_children!(tx, i);
            tx.commit().await?;
        });
        Ok(())
    }

    /// Replaces an identity and all its children, atomically. Returns false if it is gone.
    pub async fn update_identity(&self, i: &Identity) -> Result<bool, StoreError> {
        let found = on_pool!(self.db.writer(), p => {
            let mut tx = p.begin().await?;
            let id = i.id.to_string();
            let n = sqlx::query(
                "UPDATE identity_identities SET schema_id = $2, state = $3, state_changed_at = $4, traits = $5, metadata_public = $6, metadata_admin = $7, external_id = $8, updated_at = $9 WHERE id = $1",
            )
            .bind(&id)
            .bind(&i.schema_id)
            .bind(i.state.as_str())
            .bind(i.state_changed_at.map(to_micros))
            .bind(i.traits.to_string())
            .bind(i.metadata_public.as_ref().map(|v| v.to_string()))
            .bind(i.metadata_admin.as_ref().map(|v| v.to_string()))
            .bind(&i.external_id)
            .bind(to_micros(i.updated_at))
            .execute(&mut *tx)
            .await?
            .rows_affected();
            if n == 1 {
                for table in ["identity_credential_identifiers", "identity_credentials", "identity_verifiable_addresses", "identity_recovery_addresses"] {
                    sqlx::query(AssertSqlSafe(format!("DELETE FROM {table} WHERE identity_id = $1")))
                        .bind(&id)
                        .execute(&mut *tx)
                        .await?;
                }
                insert_children!(tx, i);
                tx.commit().await?;
            }
            n == 1
        });
        if found {
            self.changed().await;
        }
        Ok(found)
    }

    /// Marks a verifiable address `sent` (a code or link is on its way), as Kratos does;
    /// a verified address keeps its `completed`.
    pub async fn mark_address_sent(
        &self,
        identity_id: uuid::Uuid,
        via: &str,
        value: &str,
        now: time::OffsetDateTime,
    ) -> Result<(), StoreError> {
        let n = on_pool!(self.db.writer(), p => sqlx::query(
            "UPDATE identity_verifiable_addresses SET status = 'sent', updated_at = $4 \
             WHERE identity_id = $1 AND via = $2 AND value = $3 AND verified = $5",
        )
        .bind(identity_id.to_string())
        .bind(via)
        .bind(value)
        .bind(to_micros(now))
        .bind(false)
        .execute(p)
        .await?
        .rows_affected());
        if n > 0 {
            self.changed().await;
        }
        Ok(())
    }

    /// Deletes an identity; credentials, addresses and sessions go with it (foreign keys
    /// cascade). Returns false if there was none.
    pub async fn delete_identity(&self, id: uuid::Uuid) -> Result<bool, StoreError> {
        let n = on_pool!(self.db.writer(), p => sqlx::query("DELETE FROM identity_identities WHERE id = $1")
            .bind(id.to_string())
            .execute(p)
            .await?
            .rows_affected());
        if n == 1 {
            self.changed().await;
        }
        Ok(n == 1)
    }

    /// One identity with its children.
    pub async fn get_identity(&self, id: uuid::Uuid) -> Result<Option<Identity>, StoreError> {
        self.get_identity_with(id, true).await
    }

    /// One identity without its credentials: what sessions and whoami show, two queries
    /// cheaper.
    pub async fn get_identity_public(
        &self,
        id: uuid::Uuid,
    ) -> Result<Option<Identity>, StoreError> {
        self.get_identity_with(id, false).await
    }

    async fn get_identity_with(
        &self,
        id: uuid::Uuid,
        credentials: bool,
    ) -> Result<Option<Identity>, StoreError> {
        let sql = format!("SELECT {IDENTITY_COLUMNS} FROM identity_identities WHERE id = $1");
        let row: Option<IdentityRow> = on_pool!(self.db.reader(), p =>
            sqlx::query_as(AssertSqlSafe(sql)).bind(id.to_string()).fetch_optional(p).await?);
        match row {
            None => Ok(None),
            Some(r) => Ok(self.hydrate(vec![r], credentials).await?.pop()),
        }
    }

    /// The identity that owns credential identifier `identifier` of type `kind`.
    pub async fn find_by_identifier(
        &self,
        kind: &str,
        identifier: &str,
    ) -> Result<Option<Identity>, StoreError> {
        let id: Option<(String,)> = on_pool!(self.db.reader(), p => sqlx::query_as(
            "SELECT identity_id FROM identity_credential_identifiers WHERE type = $1 AND identifier = $2",
        )
        .bind(kind)
        .bind(identifier)
        .fetch_optional(p)
        .await?);
        match id {
            None => Ok(None),
            Some((id,)) => self.get_identity(parse_uuid(&id)?).await,
        }
    }

    /// A page of identities in creation order, after the identity with id `after`.
    pub async fn list_identities(
        &self,
        filter: &IdentityFilter,
        after: Option<&str>,
        limit: u32,
    ) -> Result<Vec<Identity>, StoreError> {
        let mut sql = format!("SELECT {IDENTITY_COLUMNS} FROM identity_identities i WHERE 1 = 1");
        let mut binds: Vec<String> = Vec::new();
        if let Some(ident) = &filter.credentials_identifier {
            binds.push(ident.clone());
            sql.push_str(&format!(
                " AND EXISTS (SELECT 1 FROM identity_credential_identifiers c WHERE c.identity_id = i.id AND c.identifier = ${})",
                binds.len()
            ));
        }
        if !filter.ids.is_empty() {
            sql.push_str(&format!(
                " AND i.id IN ({})",
                placeholders(binds.len() + 1, filter.ids.len())
            ));
            binds.extend(filter.ids.iter().cloned());
        }
        if let Some(after) = after {
            binds.push(after.to_string());
            let n = binds.len();
            sql.push_str(&format!(
                " AND (i.created_at, i.id) > (SELECT created_at, id FROM identity_identities WHERE id = ${n})"
            ));
        }
        sql.push_str(&format!(" ORDER BY i.created_at, i.id LIMIT {}", limit));
        let rows: Vec<IdentityRow> = on_pool!(self.db.reader(), p => {
            let mut q = sqlx::query_as(AssertSqlSafe(sql));
            for b in &binds {
                q = q.bind(b);
            }
            q.fetch_all(p).await?
        });
        self.hydrate(rows, true).await
    }

    /// Loads the children of identity rows with one query per child table.
    async fn hydrate(
        &self,
        rows: Vec<IdentityRow>,
        credentials: bool,
    ) -> Result<Vec<Identity>, StoreError> {
        if rows.is_empty() {
            return Ok(Vec::new());
        }
        let ids: Vec<String> = rows.iter().map(|r| r.0.clone()).collect();
        let ph = placeholders(1, ids.len());
        let cred_sql = format!(
            "SELECT id, identity_id, type, config, version, created_at, updated_at FROM identity_credentials WHERE identity_id IN ({ph}) ORDER BY type"
        );
        let ident_sql = format!(
            "SELECT credential_id, identifier FROM identity_credential_identifiers WHERE identity_id IN ({ph}) ORDER BY identifier"
        );
        let ver_sql = format!(
            "SELECT id, identity_id, via, value, verified, status, verified_at, created_at, updated_at FROM identity_verifiable_addresses WHERE identity_id IN ({ph}) ORDER BY created_at, value"
        );
        let rec_sql = format!(
            "SELECT id, identity_id, via, value, created_at, updated_at FROM identity_recovery_addresses WHERE identity_id IN ({ph}) ORDER BY created_at, value"
        );
        let (creds, idents, vers, recs): (
            Vec<CredentialRow>,
            Vec<IdentifierRow>,
            Vec<VerifiableRow>,
            Vec<RecoveryRow>,
        ) = on_pool!(self.db.reader(), p => {
            macro_rules! fetch {
                ($sql:expr) => {{
                    let mut q = sqlx::query_as(AssertSqlSafe($sql));
                    for id in &ids {
                        q = q.bind(id);
                    }
                    q.fetch_all(p).await?
                }};
            }
            if credentials {
                (fetch!(cred_sql), fetch!(ident_sql), fetch!(ver_sql), fetch!(rec_sql))
            } else {
                (Vec::new(), Vec::new(), fetch!(ver_sql), fetch!(rec_sql))
            }
        });
        let mut identifiers: HashMap<String, Vec<String>> = HashMap::new();
        for (cred_id, ident) in idents {
            identifiers.entry(cred_id).or_default().push(ident);
        }
        let mut out = Vec::with_capacity(rows.len());
        for r in rows {
            let mut identity = identity_from_row(&r)?;
            for c in creds.iter().filter(|c| c.1 == r.0) {
                identity.credentials.push(Credential {
                    id: parse_uuid(&c.0)?,
                    kind: c.2.clone(),
                    identifiers: identifiers.remove(&c.0).unwrap_or_default(),
                    config: parse_json(&c.3)?,
                    version: c.4,
                    created_at: from_micros(c.5),
                    updated_at: from_micros(c.6),
                });
            }
            for a in vers.iter().filter(|a| a.1 == r.0) {
                identity.verifiable_addresses.push(VerifiableAddress {
                    id: parse_uuid(&a.0)?,
                    via: a.2.clone(),
                    value: a.3.clone(),
                    verified: a.4,
                    status: a.5.clone(),
                    verified_at: a.6.map(from_micros),
                    created_at: from_micros(a.7),
                    updated_at: from_micros(a.8),
                });
            }
            for a in recs.iter().filter(|a| a.1 == r.0) {
                identity.recovery_addresses.push(RecoveryAddress {
                    id: parse_uuid(&a.0)?,
                    via: a.2.clone(),
                    value: a.3.clone(),
                    created_at: from_micros(a.4),
                    updated_at: from_micros(a.5),
                });
            }
            out.push(identity);
        }
        Ok(out)
    }
}

fn identity_from_row(r: &IdentityRow) -> Result<Identity, StoreError> {
    Ok(Identity {
        id: parse_uuid(&r.0)?,
        schema_id: r.1.clone(),
        state: State::parse(&r.2)
            .ok_or_else(|| StoreError::Corrupt(format!("bad state {:?}", r.2)))?,
        state_changed_at: r.3.map(from_micros),
        traits: parse_json(&r.4)?,
        metadata_public: r.5.as_deref().map(parse_json).transpose()?,
        metadata_admin: r.6.as_deref().map(parse_json).transpose()?,
        external_id: r.7.clone(),
        verifiable_addresses: Vec::new(),
        recovery_addresses: Vec::new(),
        credentials: Vec::new(),
        created_at: from_micros(r.8),
        updated_at: from_micros(r.9),
    })
}
