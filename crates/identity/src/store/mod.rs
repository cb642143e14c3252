//! SQL for the identity service, written once for SQLite and PostgreSQL. Ids are TEXT
//! UUIDs, times BIGINT microseconds, JSON TEXT; see `gatehouse_store`.

pub mod cache;
mod codes;
mod courier;
mod flows;
mod identities;
mod sessions;

use cache::{CacheLimits, SessionCache};
use gatehouse_store::{Db, Migration};
use std::sync::Arc;

pub use codes::{CodeUse, NewCode};
pub use courier::{AfterFailure, MessageFilter};
pub use identities::IdentityFilter;
pub use sessions::SessionFilter;

/// The identity service's migrations, embedded in the binary.
pub const MIGRATIONS: &[Migration] = &[
    Migration {
        version: 1,
        name: "init",
        sqlite: include_str!("../../migrations/sqlite/0001_init.sql"),
        postgres: include_str!("../../migrations/postgres/0001_init.sql"),
    },
    Migration {
        version: 2,
        name: "courier",
        sqlite: include_str!("../../migrations/sqlite/0002_courier.sql"),
        postgres: include_str!("../../migrations/postgres/0002_courier.sql"),
    },
    Migration {
        version: 3,
        name: "codes",
        sqlite: include_str!("../../migrations/sqlite/0003_codes.sql"),
        postgres: include_str!("../../migrations/postgres/0003_codes.sql"),
    },
];

/// The service name under which migrations are recorded (`identity_migrations`).
pub const SERVICE: &str = "identity";

/// Failures of identity storage.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// A unique constraint refused the write (same identifier, address or external id).
    #[error("conflict with an existing record")]
    Conflict,
    #[error(transparent)]
    Db(#[from] gatehouse_store::StoreError),
    #[error("stored data is corrupt: {0}")]
    Corrupt(String),
}

impl From<gatehouse_store::sqlx::Error> for StoreError {
    fn from(e: gatehouse_store::sqlx::Error) -> Self {
        if gatehouse_store::is_unique_violation(&e) {
            StoreError::Conflict
        } else {
            StoreError::Db(e.into())
        }
    }
}

/// The identity service's storage: identities, sessions, flows, error reports and the courier outbox.
#[derive(Clone, Debug)]
pub struct SqlStore {
    pub db: Db,
    /// Rendered whoami answers; see `cache` for why it stays correct.
    pub cache: Arc<SessionCache>,
}

impl SqlStore {
    /// A store without the whoami cache; see [`SqlStore::enable_cache`].
    pub fn new(db: Db) -> Self {
        let off = CacheLimits {
            capacity: 0,
            ttl: std::time::Duration::ZERO,
        };
        Self {
            db,
            cache: Arc::new(SessionCache::new(off)),
        }
    }

    /// Turns the whoami cache on. With PostgreSQL it first subscribes to other instances'
    /// change notices; if that fails (a pooler that drops LISTEN, say), the cache stays off.
    pub async fn enable_cache(&mut self, limits: CacheLimits) -> Result<(), String> {
        let cache = Arc::new(SessionCache::new(limits));
        if let Db::Postgres(pool) = &self.db {
            cache::listen(pool, cache.clone()).await?;
        }
        self.cache = cache;
        Ok(())
    }

    /// Called after every committed write that may change a whoami answer.
    async fn changed(&self) {
        self.cache.invalidate();
        if let Db::Postgres(pool) = &self.db {
            let notify = gatehouse_store::sqlx::query("SELECT pg_notify($1, '')")
                .bind(cache::CHANNEL)
                .execute(pool)
                .await;
            if let Err(e) = notify {
                tracing::warn!(error = %e, "could not tell other instances to drop cached sessions; their entries expire with the cache TTL");
            }
        }
    }

    /// Applies pending migrations.
    pub async fn migrate(&self) -> Result<Vec<i64>, StoreError> {
        Ok(self.db.migrate(SERVICE, MIGRATIONS).await?)
    }
}

fn parse_json(s: &str) -> Result<serde_json::Value, StoreError> {
    serde_json::from_str(s).map_err(|e| StoreError::Corrupt(e.to_string()))
}

fn parse_uuid(s: &str) -> Result<uuid::Uuid, StoreError> {
    uuid::Uuid::parse_str(s).map_err(|e| StoreError::Corrupt(format!("bad uuid {s:?}: {e}")))
}

/// `$start, $start+1, ...` for an IN list of `n` values.
fn placeholders(start: usize, n: usize) -> String {
    (start..start + n)
        .map(|i| format!("${i}"))
        .collect::<Vec<_>>()
        .join(", ")
}
