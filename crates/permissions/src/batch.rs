//! Node lookups on PostgreSQL, shared between concurrent checks. Each lookup is tiny (a few
//! index probes), so what PostgreSQL and the driver spend on it is almost all per-statement
//! work: a round trip, a portal, a snapshot. Lookups that arrive while earlier ones are
//! running wait in a queue, and the next free runner sends the whole queue as one statement
//! (the lookups as arrays, joined laterally to the same index probes as a single lookup).
//!
//! Nothing waits for a batch to fill: a lookup on an idle server is sent at once, alone.
//! Under load the queue fills by itself while statements run. Every lookup still reads the
//! tuples as they are when its statement runs, as a lone statement would: there is no cache.

use gatehouse_store::{StoreError, sqlx};
use sqlx::Connection;
use sqlx::postgres::{PgConnectOptions, PgConnection, PgPool};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;
use tokio::sync::oneshot;

/// Statements in flight at once. PostgreSQL shares the machine's cores with the server;
/// more runners would only split the queue into smaller batches.
const RUNNERS: usize = 2;

/// Lookups one statement carries at most.
const MAX_BATCH: usize = 256;

/// A row of a node: the subject's key, and the subject set's parts when it is one.
pub(crate) type SetRow = (String, Option<String>, Option<String>, Option<String>);

/// One lookup on `(namespace, object, relation)`: with `subject`, the subject's own tuple
/// and the node's expandable subject sets ([`crate::store::Reader::node`]); without, every
/// subject set of the node ([`crate::store::Reader::subject_sets`]). At most `limit` sets.
pub(crate) struct Ask {
    pub namespace: String,
    pub object: String,
    pub relation: String,
    pub subject: Option<String>,
    pub limit: i64,
    /// The statement for this lookup alone (see [`Batcher::fetch`]).
    pub alone: Arc<str>,
}

type Reply = oneshot::Sender<Result<Vec<SetRow>, Arc<StoreError>>>;

/// Where a submitted lookup's rows arrive (see [`Batcher::submit`]).
pub(crate) type Answer = oneshot::Receiver<Result<Vec<SetRow>, Arc<StoreError>>>;

pub(crate) struct Batcher {
    /// How runners open their connections (see [`Batcher::new`]).
    options: PgConnectOptions,
    state: Mutex<State>,
}

#[derive(Default)]
struct State {
    queue: Vec<(Ask, Reply)>,
    running: usize,
    /// Connections of runners that finished, the most recently used last.
    idle: Vec<PgConnection>,
}

/// How long opening a connection may take before the lookups waiting on it fail.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);

/// A lookup's rows: its subject's own tuple if stored; if not, the node's expandable subject
/// sets (a check that found the tuple needs nothing more, so a hit costs one index probe);
/// without a subject, every subject set of the node. Each part is guarded by the lookup's
/// kind, which PostgreSQL evaluates once per lookup, and probes the same indexes as the
/// single-lookup statements in `store.rs`. Rows come back tagged with the lookup's position.
const BATCH_SQL: &str = "SELECT q.i, t.subject, t.sns, t.sobj, t.srel \
FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::int8[]) WITH ORDINALITY AS q(ns, obj, rel, sub, lim, i) \
LEFT JOIN LATERAL ( \
  SELECT p.subject FROM permission_relation_tuples p \
    WHERE p.namespace = q.ns AND p.object = q.obj AND p.relation = q.rel AND p.subject = q.sub \
) AS d ON true \
CROSS JOIN LATERAL ( \
  SELECT d.subject, CAST(NULL AS TEXT) AS sns, CAST(NULL AS TEXT) AS sobj, CAST(NULL AS TEXT) AS srel \
    WHERE d.subject IS NOT NULL \
  UNION ALL SELECT * FROM (SELECT p.subject, p.subject_set_namespace, p.subject_set_object, p.subject_set_relation \
    FROM permission_relation_tuples p \
    WHERE q.sub IS NOT NULL AND d.subject IS NULL AND p.namespace = q.ns AND p.object = q.obj AND p.relation = q.rel \
    AND p.subject_id IS NULL AND p.subject_set_relation <> '' ORDER BY p.subject LIMIT q.lim) AS expandable \
  UNION ALL SELECT * FROM (SELECT p.subject, p.subject_set_namespace, p.subject_set_object, p.subject_set_relation \
    FROM permission_relation_tuples p \
    WHERE q.sub IS NULL AND p.namespace = q.ns AND p.object = q.obj AND p.relation = q.rel \
    AND p.subject_id IS NULL ORDER BY p.subject LIMIT q.lim) AS sets \
) AS t";

impl Batcher {
    /// A batcher on connections of its own to `shared`'s database, at most one per runner,
    /// held by the batcher rather than a pool: a pool sends a test query each time it lends
    /// a connection out or takes it back, which would double the round trips. A connection
    /// that died is replaced and the statement retried once (see [`Batcher::fetch`]).
    ///
    /// They use one generic plan for [`BATCH_SQL`]: PostgreSQL otherwise compares it with
    /// plans made for each call's arrays, finds those cheaper (it guesses ten lookups a call),
    /// and plans every call again, which costs more than the lookups themselves.
    pub(crate) fn new(shared: &PgPool) -> Arc<Batcher> {
        let options = (*shared.connect_options())
            .clone()
            .options([("plan_cache_mode", "force_generic_plan")]);
        Arc::new(Batcher {
            options,
            state: Mutex::default(),
        })
    }

    fn state(&self) -> MutexGuard<'_, State> {
        // The lock only guards pushes and drains of a Vec, which cannot leave it torn.
        self.state
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// The rows of one lookup, sets in key order. The lookup waits in the queue for the
    /// next free runner; nothing waits for a batch to fill, so on a quiet server it goes
    /// out at once, alone (see [`Batcher::fetch`]).
    ///
    /// Lookups are always sent from runner tasks, never from the caller's: a caller that
    /// goes away (a client hanging up) cannot cancel a statement half answered, and a
    /// runner that finishes its statement takes whatever queued meanwhile. Sending a lone
    /// lookup from the caller's task when nothing was running, as before, let the queue
    /// wait behind it (direct checks with 32 clients: 31k req/s then, 35k now).
    pub(crate) async fn ask(self: &Arc<Self>, ask: Ask) -> Result<Vec<SetRow>, StoreError> {
        Self::answer(self.submit(ask)).await
    }

    /// Queues `ask` and returns where its rows will arrive: lookups submitted one after
    /// another before any is awaited go out in the same statement.
    pub(crate) fn submit(self: &Arc<Self>, ask: Ask) -> Answer {
        let (reply, answer) = oneshot::channel();
        let start_runner = {
            let mut state = self.state();
            state.queue.push((ask, reply));
            let free = state.running < RUNNERS;
            state.running += usize::from(free);
            free
        };
        if start_runner {
            tokio::spawn(Arc::clone(self).run());
        }
        answer
    }

    /// The rows of a submitted lookup.
    pub(crate) async fn answer(answer: Answer) -> Result<Vec<SetRow>, StoreError> {
        match answer.await {
            Ok(rows) => rows.map_err(StoreError::Shared),
            Err(_) => Err(StoreError::Sql(sqlx::Error::WorkerCrashed)),
        }
    }

    /// One lookup on a statement of its own, `sql` (bound to namespace, object, relation
    /// and, if any, subject).
    async fn single(
        &self,
        conn: &mut Option<PgConnection>,
        ask: &Ask,
        sql: &str,
    ) -> Result<Vec<SetRow>, sqlx::Error> {
        let c = self.ready(conn).await?;
        let mut query = sqlx::query_as(sqlx::AssertSqlSafe(sql.to_owned()))
            .bind(&ask.namespace)
            .bind(&ask.object)
            .bind(&ask.relation);
        if let Some(subject) = &ask.subject {
            query = query.bind(subject);
        }
        let rows = query.fetch_all(c).await;
        forget_if_lost(conn, rows)
    }

    /// Sends what is queued, one batch after another, until the queue is empty.
    async fn run(self: Arc<Self>) {
        let mut conn = self.state().idle.pop();
        let mut first = true;
        loop {
            // Between statements, let the checks just answered reply and the requests
            // that arrived meanwhile reach the queue before taking it: the batches grow
            // (7.5 -> 11 lookups with 32 clients), and PostgreSQL's per-statement work is
            // shared by more checks. The first statement goes at once, so a lookup on a
            // quiet server does not wait.
            if !std::mem::take(&mut first) {
                tokio::task::yield_now().await;
            }
            let batch: Vec<(Ask, Reply)> = {
                let mut state = self.state();
                if state.queue.is_empty() {
                    state.running -= 1;
                    if let Some(conn) = conn {
                        state.keep(conn);
                    }
                    return;
                }
                let n = state.queue.len().min(MAX_BATCH);
                state.queue.drain(..n).collect()
            };
            let (asks, replies): (Vec<Ask>, Vec<Reply>) = batch.into_iter().unzip();
            match self.fetch(&mut conn, &asks).await {
                Ok(rows) => {
                    for (reply, rows) in replies.into_iter().zip(rows) {
                        let _ = reply.send(Ok(rows));
                    }
                }
                Err(e) => {
                    let e = Arc::new(e);
                    for reply in replies {
                        let _ = reply.send(Err(Arc::clone(&e)));
                    }
                }
            }
        }
    }

    /// One statement for `asks`; the rows of each, in the order of `asks`. A connection
    /// that fails at the transport (PostgreSQL restarted, an idle connection cut) is
    /// dropped and the statement sent once more on a new one.
    async fn fetch(
        &self,
        conn: &mut Option<PgConnection>,
        asks: &[Ask],
    ) -> Result<Vec<Vec<SetRow>>, StoreError> {
        // One lookup alone: its own statement, which costs PostgreSQL about 10 µs less
        // than the arrays of a batch of one.
        if let [ask] = asks {
            let rows = match self.single(conn, ask, &ask.alone).await {
                Err(e) if connection_lost(&e) => self.single(conn, ask, &ask.alone).await?,
                other => other?,
            };
            return Ok(vec![rows]);
        }
        let rows = match self.query(conn, asks).await {
            Err(e) if connection_lost(&e) => self.query(conn, asks).await?,
            other => other?,
        };
        let mut per_ask: Vec<Vec<SetRow>> = asks.iter().map(|_| Vec::new()).collect();
        for (i, subject, ns, obj, rel) in rows {
            // Positions are 1-based (WITH ORDINALITY).
            if let Some(slot) = usize::try_from(i - 1).ok().and_then(|i| per_ask.get_mut(i)) {
                slot.push((subject, ns, obj, rel));
            }
        }
        // The statement's join does not promise an order; a lookup's callers rely on one.
        for rows in &mut per_ask {
            rows.sort_by(|a, b| a.0.cmp(&b.0));
        }
        Ok(per_ask)
    }

    /// Runs [`BATCH_SQL`] on `conn`, opening it first if there is none; a connection that
    /// failed at the transport is not kept.
    async fn query(
        &self,
        conn: &mut Option<PgConnection>,
        asks: &[Ask],
    ) -> Result<Vec<BatchRow>, sqlx::Error> {
        let c = self.ready(conn).await?;
        let column = |f: fn(&Ask) -> &str| asks.iter().map(f).collect::<Vec<_>>();
        let rows = sqlx::query_as(BATCH_SQL)
            .bind(column(|a| &a.namespace))
            .bind(column(|a| &a.object))
            .bind(column(|a| &a.relation))
            .bind(
                asks.iter()
                    .map(|a| a.subject.as_deref())
                    .collect::<Vec<_>>(),
            )
            .bind(asks.iter().map(|a| a.limit).collect::<Vec<_>>())
            .fetch_all(c)
            .await;
        forget_if_lost(conn, rows)
    }

    /// `conn`, opened first if there is none.
    async fn ready<'c>(
        &self,
        conn: &'c mut Option<PgConnection>,
    ) -> Result<&'c mut PgConnection, sqlx::Error> {
        match conn {
            Some(c) => Ok(c),
            None => {
                let opened = tokio::time::timeout(
                    CONNECT_TIMEOUT,
                    PgConnection::connect_with(&self.options),
                )
                .await
                .map_err(|_| sqlx::Error::PoolTimedOut)??;
                Ok(conn.insert(opened))
            }
        }
    }
}

/// `result`, dropping `conn` when the result says the connection is gone.
fn forget_if_lost<T>(
    conn: &mut Option<PgConnection>,
    result: Result<T, sqlx::Error>,
) -> Result<T, sqlx::Error> {
    if result.as_ref().is_err_and(connection_lost) {
        *conn = None;
    }
    result
}

/// Whether `e` means the connection is gone, so the statement may be sent again on a new
/// one: a transport failure, or PostgreSQL's notice that it ended the session (an operator
/// or a restart: SQLSTATE class 57P, "operator intervention", or 08, "connection exception").
fn connection_lost(e: &sqlx::Error) -> bool {
    match e {
        sqlx::Error::Io(_) => true,
        sqlx::Error::Database(db) => db
            .code()
            .is_some_and(|code| code.starts_with("57P") || code.starts_with("08")),
        _ => false,
    }
}

impl State {
    /// Keeps an idle connection, up to one per runner.
    fn keep(&mut self, conn: PgConnection) {
        if self.idle.len() < RUNNERS {
            self.idle.push(conn);
        }
    }
}

/// A lookup's position in the batch (1-based), then a [`SetRow`].
type BatchRow = (i64, String, Option<String>, Option<String>, Option<String>);
