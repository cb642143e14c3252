//! Reads run on the calling thread, for services that make many tiny lookups per request
//! (a permission check visits dozens of nodes).
//!
//! sqlx's SQLite driver runs every connection on a thread of its own and passes each query
//! and each row through channels: correct and non-blocking, but on a loaded core the two
//! thread switches cost several times an indexed lookup that SQLite answers from its page
//! cache in a few microseconds. These connections skip that hop. They only read a WAL
//! database, so they never wait for a writer; the rare wait (a checkpoint resetting the
//! WAL index) is bounded by the busy timeout.

use rusqlite::{Connection, OpenFlags};
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// Idle connections kept for reuse; more are opened when needed and closed after use.
const KEEP_IDLE: usize = 8;

/// A small pool of read-only connections to one SQLite file.
#[derive(Debug)]
pub struct InlineReads {
    path: PathBuf,
    idle: Mutex<Vec<Connection>>,
}

impl InlineReads {
    pub(crate) fn new(path: PathBuf) -> Arc<InlineReads> {
        Arc::new(InlineReads {
            path,
            idle: Mutex::new(Vec::new()),
        })
    }

    /// A connection reading one snapshot of the database (a read transaction) until the
    /// [`Snapshot`] is dropped. One transaction for a whole check also takes the file locks
    /// once instead of once per statement, which costs more than the lookups themselves.
    pub fn snapshot(self: &Arc<Self>) -> Result<Snapshot, rusqlite::Error> {
        let reused = self.idle.lock().unwrap_or_else(|e| e.into_inner()).pop();
        let conn = match reused {
            Some(c) => c,
            None => self.open()?,
        };
        conn.prepare_cached("BEGIN")?.execute([])?;
        Ok(Snapshot {
            conn: Some(conn),
            pool: Arc::clone(self),
        })
    }

    fn open(&self) -> Result<Connection, rusqlite::Error> {
        let conn = Connection::open_with_flags(
            &self.path,
            OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX,
        )?;
        conn.busy_timeout(Duration::from_secs(10))?;
        // 64 MiB of page cache per connection, filled only as pages are read: a check's
        // lookups land on scattered pages of a large tuple table.
        conn.pragma_update(None, "cache_size", -65536)?;
        conn.set_prepared_statement_cache_capacity(32);
        Ok(conn)
    }
}

/// A read transaction on a pooled connection; the connection goes back when dropped.
pub struct Snapshot {
    /// `Some` until dropped.
    conn: Option<Connection>,
    pool: Arc<InlineReads>,
}

impl Snapshot {
    /// Runs `read` inside the snapshot.
    pub fn read<T>(
        &self,
        read: impl FnOnce(&Connection) -> Result<T, rusqlite::Error>,
    ) -> Result<T, rusqlite::Error> {
        match &self.conn {
            Some(conn) => read(conn),
            None => Err(rusqlite::Error::InvalidQuery),
        }
    }
}

impl Drop for Snapshot {
    fn drop(&mut self) {
        let Some(conn) = self.conn.take() else { return };
        // Ending the transaction lets the WAL be checkpointed past it; a connection that
        // cannot end it is closed instead of reused.
        let ended = conn
            .prepare_cached("COMMIT")
            .and_then(|mut end| end.execute([]));
        if ended.is_err() {
            return;
        }
        let mut idle = self.pool.idle.lock().unwrap_or_else(|e| e.into_inner());
        if idle.len() < KEEP_IDLE {
            idle.push(conn);
        }
    }
}
