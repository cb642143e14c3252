//! The database handle shared by every service: SQLite (embedded, WAL) or PostgreSQL, chosen
//! by the DSN, plus a small embedded-migration runner with one history table per service.
//!
//! Queries are written once in SQL both backends accept (`$1` placeholders, `ON CONFLICT`,
//! TEXT ids, BIGINT microsecond timestamps, JSON as TEXT) and run on either pool through
//! [`on_pool!`], which expands the same code for each backend's native driver.

mod dsn;
mod inline;
mod migrate;

pub use inline::{InlineReads, Snapshot};
pub use migrate::Migration;
pub use rusqlite;
pub use sqlx;

use sqlx::postgres::{PgPool, PgPoolOptions};
use sqlx::sqlite::{SqlitePool, SqlitePoolOptions};
use std::sync::Arc;
use std::time::Duration;

/// Failures of the storage layer.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("invalid DSN: {0}")]
    Dsn(String),
    #[error("database error: {0}")]
    Sql(#[from] sqlx::Error),
    #[error("database error: {0}")]
    Inline(#[from] rusqlite::Error),
    /// One failure reported to every caller whose lookup shared the failed statement.
    #[error(transparent)]
    Shared(Arc<StoreError>),
    #[error("migration {version} ({name}) failed: {source}")]
    Migration {
        version: i64,
        name: String,
        source: sqlx::Error,
    },
}

impl StoreError {
    /// True when a UNIQUE or PRIMARY KEY constraint rejected the write.
    pub fn is_unique_violation(&self) -> bool {
        matches!(self, StoreError::Sql(e) if is_unique_violation(e))
    }
}

/// True when a UNIQUE or PRIMARY KEY constraint rejected the write.
pub fn is_unique_violation(e: &sqlx::Error) -> bool {
    match e {
        sqlx::Error::Database(db) => db.is_unique_violation(),
        _ => false,
    }
}

/// Which backend a [`Db`] talks to.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

/// A connected database. Cloning is cheap (pools are reference-counted).
#[derive(Clone, Debug)]
pub enum Db {
    /// SQLite keeps one writer connection so concurrent writes queue in the pool instead of
    /// failing with SQLITE_BUSY, and several readers that WAL lets run alongside it.
    Sqlite {
        reader: SqlitePool,
        writer: SqlitePool,
        /// Reads on the calling thread (a file database only: an in-memory one lives in
        /// the writer's connection).
        inline: Option<Arc<InlineReads>>,
    },
    Postgres(PgPool),
}

/// A pool borrowed for one query or transaction; see [`on_pool!`].
#[derive(Clone, Copy, Debug)]
pub enum Pool<'a> {
    Sqlite(&'a SqlitePool),
    Postgres(&'a PgPool),
}

/// One pooled connection held for a run of reads: a permission check makes dozens of small
/// queries, and taking the connection once saves a pool round trip for each. See [`on_conn!`].
pub enum Conn {
    Sqlite(sqlx::pool::PoolConnection<sqlx::Sqlite>),
    Postgres(sqlx::pool::PoolConnection<sqlx::Postgres>),
}

/// Like [`on_pool!`] for a held [`Conn`]: `$c` is bound to the backend's connection
/// (`&mut *$c` is an executor).
#[macro_export]
macro_rules! on_conn {
    ($conn:expr, $c:ident => $body:expr) => {
        match $conn {
            $crate::Conn::Sqlite($c) => $body,
            $crate::Conn::Postgres($c) => $body,
        }
    };
}

/// Runs the same body against whichever backend `$pool` is, with `$p` bound to the pool.
/// The body is compiled once per backend, so it may only use types both drivers encode.
#[macro_export]
macro_rules! on_pool {
    ($pool:expr, $p:ident => $body:expr) => {
        match $pool {
            $crate::Pool::Sqlite($p) => $body,
            $crate::Pool::Postgres($p) => $body,
        }
    };
}

impl Db {
    /// Connects to `dsn`: `memory`, `sqlite://PATH[?mode=rwc]`, `sqlite::memory:` or
    /// `postgres://...` (also `postgresql://`, `cockroach://`).
    pub async fn connect(dsn: &str) -> Result<Self, StoreError> {
        match dsn::parse(dsn)? {
            dsn::Target::Sqlite { options, in_memory } => {
                // An in-memory database lives only as long as its connection: one connection
                // serves both roles so every query sees the same data.
                let writer = SqlitePoolOptions::new()
                    .max_connections(1)
                    .min_connections(usize::from(in_memory) as u32)
                    .idle_timeout(if in_memory {
                        None
                    } else {
                        Some(Duration::from_secs(600))
                    })
                    .max_lifetime(if in_memory {
                        None
                    } else {
                        Some(Duration::from_secs(3600))
                    })
                    .connect_with(options.clone())
                    .await?;
                let reader = if in_memory {
                    writer.clone()
                } else {
                    // A connection to a local file cannot go stale, so the pool's default
                    // test query before each use (a round trip to the connection's worker
                    // thread) buys nothing.
                    SqlitePoolOptions::new()
                        .max_connections(8)
                        .test_before_acquire(false)
                        .connect_with(options.clone().read_only(true))
                        .await?
                };
                let inline =
                    (!in_memory).then(|| InlineReads::new(options.get_filename().to_path_buf()));
                Ok(Db::Sqlite {
                    reader,
                    writer,
                    inline,
                })
            }
            dsn::Target::Postgres(options) => {
                let pool = PgPoolOptions::new()
                    .max_connections(32)
                    .acquire_timeout(Duration::from_secs(10))
                    .connect_with(options)
                    .await?;
                Ok(Db::Postgres(pool))
            }
        }
    }

    pub fn backend(&self) -> Backend {
        match self {
            Db::Sqlite { .. } => Backend::Sqlite,
            Db::Postgres(_) => Backend::Postgres,
        }
    }

    /// The pool for queries that only read.
    pub fn reader(&self) -> Pool<'_> {
        match self {
            Db::Sqlite { reader, .. } => Pool::Sqlite(reader),
            Db::Postgres(p) => Pool::Postgres(p),
        }
    }

    /// One connection of the read pool, held until dropped.
    pub async fn read_conn(&self) -> Result<Conn, StoreError> {
        Ok(match self {
            Db::Sqlite { reader, .. } => Conn::Sqlite(reader.acquire().await?),
            Db::Postgres(p) => Conn::Postgres(p.acquire().await?),
        })
    }

    /// Connections that read on the calling thread, for a file SQLite database.
    pub fn inline_reads(&self) -> Option<&Arc<InlineReads>> {
        match self {
            Db::Sqlite { inline, .. } => inline.as_ref(),
            Db::Postgres(_) => None,
        }
    }

    /// The pool for writes and read-modify-write transactions.
    pub fn writer(&self) -> Pool<'_> {
        match self {
            Db::Sqlite { writer, .. } => Pool::Sqlite(writer),
            Db::Postgres(p) => Pool::Postgres(p),
        }
    }

    /// Checks that the database answers (for `/health/ready`).
    pub async fn ping(&self) -> Result<(), StoreError> {
        on_pool!(self.reader(), p => sqlx::query("SELECT 1").execute(p).await.map(|_| ()))?;
        Ok(())
    }

    /// Applies the pending `migrations` of `service`, each in its own transaction.
    pub async fn migrate(
        &self,
        service: &str,
        migrations: &[Migration],
    ) -> Result<Vec<i64>, StoreError> {
        migrate::run(self, service, migrations).await
    }

    /// The versions of `service`'s migrations already applied.
    pub async fn applied(&self, service: &str) -> Result<Vec<i64>, StoreError> {
        migrate::applied(self, service).await
    }

    /// Closes every pool, waiting for checked-out connections.
    pub async fn close(&self) {
        match self {
            Db::Sqlite { reader, writer, .. } => {
                reader.close().await;
                writer.close().await;
            }
            Db::Postgres(p) => p.close().await,
        }
    }
}
