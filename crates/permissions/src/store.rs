//! Tuples in SQL (SQLite or PostgreSQL, one query text for both). Every read a check makes
//! is an index lookup on `(namespace, object, relation[, subject])`, so a check costs one
//! query per node it visits, never a scan.

use crate::batch::{Ask, Batcher, SetRow};
use crate::tuple::{Query, RelationTuple, Subject, SubjectSet};
use gatehouse_store::{Conn, Db, Migration, Snapshot, on_conn, on_pool, rusqlite, sqlx};
use std::sync::Arc;

pub const MIGRATIONS: &[Migration] = &[
    Migration {
        version: 1,
        name: "tuples",
        sqlite: include_str!("../migrations/sqlite/0001_tuples.sql"),
        postgres: include_str!("../migrations/postgres/0001_tuples.sql"),
    },
    Migration {
        version: 2,
        name: "expandable_index",
        sqlite: include_str!("../migrations/sqlite/0002_expandable_index.sql"),
        postgres: include_str!("../migrations/postgres/0002_expandable_index.sql"),
    },
    Migration {
        version: 3,
        name: "byte_order",
        sqlite: include_str!("../migrations/sqlite/0003_byte_order.sql"),
        postgres: include_str!("../migrations/postgres/0003_byte_order.sql"),
    },
];

/// Migrations are recorded in `permission_migrations`.
pub const SERVICE: &str = "permission";

pub type StoreError = gatehouse_store::StoreError;

#[derive(Clone)]
pub struct TupleStore {
    pub db: Db,
    /// Check lookups on PostgreSQL (see `crate::batch`).
    batcher: Option<Arc<Batcher>>,
}

type Row = (
    i64,
    String,
    String,
    String,
    Option<String>,
    Option<String>,
    Option<String>,
    Option<String>,
);

const COLUMNS: &str = "seq, namespace, object, relation, subject_id, subject_set_namespace, subject_set_object, subject_set_relation";

fn from_row(r: Row) -> (i64, RelationTuple) {
    let subject = match (r.4, r.5, r.6, r.7) {
        (Some(id), _, _, _) => Subject::Id(id),
        (None, ns, obj, rel) => Subject::Set(SubjectSet {
            namespace: ns.unwrap_or_default(),
            object: obj.unwrap_or_default(),
            relation: rel.unwrap_or_default(),
        }),
    };
    (
        r.0,
        RelationTuple {
            namespace: r.1,
            object: r.2,
            relation: r.3,
            subject,
        },
    )
}

/// One change of a transaction.
pub enum Change {
    Insert(RelationTuple),
    Delete(RelationTuple),
}

/// Binds a tuple's columns after `$1`.. in the order of [`insert`]'s statement.
macro_rules! insert_tuple {
    ($conn:expr, $t:expr, $now:expr) => {{
        let t: &RelationTuple = $t;
        let (sid, sns, sobj, srel) = match &t.subject {
            Subject::Id(id) => (Some(id.as_str()), None, None, None),
            Subject::Set(s) => (
                None,
                Some(s.namespace.as_str()),
                Some(s.object.as_str()),
                Some(s.relation.as_str()),
            ),
        };
        sqlx::query(
            "INSERT INTO permission_relation_tuples (namespace, object, relation, subject, subject_id, subject_set_namespace, subject_set_object, subject_set_relation, created_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) ON CONFLICT (namespace, object, relation, subject) DO NOTHING",
        )
        .bind(&t.namespace)
        .bind(&t.object)
        .bind(&t.relation)
        .bind(t.subject.key())
        .bind(sid)
        .bind(sns)
        .bind(sobj)
        .bind(srel)
        .bind($now)
        .execute(&mut *$conn)
        .await?;
    }};
}

macro_rules! delete_tuple {
    ($conn:expr, $t:expr) => {{
        let t: &RelationTuple = $t;
        sqlx::query(
            "DELETE FROM permission_relation_tuples WHERE namespace = $1 AND object = $2 AND relation = $3 AND subject = $4",
        )
        .bind(&t.namespace)
        .bind(&t.object)
        .bind(&t.relation)
        .bind(t.subject.key())
        .execute(&mut *$conn)
        .await?;
    }};
}

impl TupleStore {
    pub fn new(db: Db) -> TupleStore {
        let batcher = match &db {
            Db::Postgres(pool) => Some(Batcher::new(pool)),
            Db::Sqlite { .. } => None,
        };
        TupleStore { db, batcher }
    }

    pub async fn migrate(&self) -> Result<Vec<i64>, StoreError> {
        self.db.migrate(SERVICE, MIGRATIONS).await
    }

    /// Applies every change in one transaction: all or nothing. Inserting a tuple that
    /// exists, or deleting one that does not, is not an error.
    pub async fn transact(&self, changes: &[Change], now_micros: i64) -> Result<(), StoreError> {
        on_pool!(self.db.writer(), p => {
            let mut tx = p.begin().await?;
            for c in changes {
                match c {
                    Change::Insert(t) => insert_tuple!(tx, t, now_micros),
                    Change::Delete(t) => delete_tuple!(tx, t),
                }
            }
            tx.commit().await?;
        });
        Ok(())
    }

    /// Deletes every tuple matching `q` (its namespace is required by the caller).
    pub async fn delete_matching(&self, q: &Query) -> Result<u64, StoreError> {
        let (clause, binds) = filter(q, 1);
        let sql = format!("DELETE FROM permission_relation_tuples WHERE {clause}");
        let n = on_pool!(self.db.writer(), p => {
            let mut query = sqlx::query(sqlx::AssertSqlSafe(sql));
            for b in &binds {
                query = query.bind(b);
            }
            query.execute(p).await?.rows_affected()
        });
        Ok(n)
    }

    /// One page of the tuples matching `q`, after `after` (a `seq`), in insertion order;
    /// the last `seq` of the page, when more may follow.
    pub async fn list(
        &self,
        q: &Query,
        after: i64,
        limit: usize,
    ) -> Result<(Vec<RelationTuple>, Option<i64>), StoreError> {
        let (clause, binds) = filter(q, 3);
        let sql = format!(
            "SELECT {COLUMNS} FROM permission_relation_tuples WHERE seq > $1 AND {clause} ORDER BY seq LIMIT $2"
        );
        let rows: Vec<Row> = on_pool!(self.db.reader(), p => {
            let mut query = sqlx::query_as(sqlx::AssertSqlSafe(sql))
                .bind(after)
                .bind(limit as i64 + 1);
            for b in &binds {
                query = query.bind(b);
            }
            query.fetch_all(p).await?
        });
        let more = rows.len() > limit;
        let mut page: Vec<(i64, RelationTuple)> =
            rows.into_iter().take(limit).map(from_row).collect();
        let next = if more {
            page.last().map(|(s, _)| *s)
        } else {
            None
        };
        Ok((page.drain(..).map(|(_, t)| t).collect(), next))
    }

    /// A reader for the run of lookups a check makes; `width` caps the subject sets one
    /// lookup returns (`limit.max_read_width`).
    pub async fn reader(&self, width: usize) -> Result<Reader, StoreError> {
        let source = match (&self.batcher, self.db.inline_reads()) {
            (Some(batcher), _) => Source::Batched(Arc::clone(batcher)),
            (None, Some(reads)) => Source::Local(Local::Inline(reads.snapshot()?)),
            (None, None) => Source::Local(Local::Pooled(self.db.read_conn().await?)),
        };
        Ok(Reader {
            source,
            width,
            node_sql: node_sql(width).into(),
            sets_sql: sets_sql(width).into(),
        })
    }

    /// Every subject stored on `(namespace, object, relation)`, at most `limit` (expand).
    pub async fn subjects(
        &self,
        namespace: &str,
        object: &str,
        relation: &str,
        limit: usize,
    ) -> Result<Vec<Subject>, StoreError> {
        let q = Query {
            namespace: Some(namespace.into()),
            object: Some(object.into()),
            relation: Some(relation.into()),
            subject: None,
        };
        let (tuples, _) = self.list(&q, 0, limit).await?;
        Ok(tuples.into_iter().map(|t| t.subject).collect())
    }
}

impl TupleStore {
    /// The objects (`namespace`, `object`) of tuples whose subject is exactly `key`, or,
    /// with `object_range`, any subject set on that object (`set:ns:obj#...`): one range
    /// scan of the reverse index.
    pub async fn objects_pointing_to(
        &self,
        key: &str,
        object_range: bool,
        limit: usize,
    ) -> Result<Vec<(String, String)>, StoreError> {
        let rows: Vec<(String, String)> = if object_range {
            // `$` sorts right after `#`: [set:ns:obj#, set:ns:obj$) is every relation.
            let lo = format!("{key}#");
            let hi = format!("{key}$");
            on_pool!(self.db.reader(), p => sqlx::query_as(
                "SELECT DISTINCT namespace, object FROM permission_relation_tuples WHERE subject >= $1 AND subject < $2 LIMIT $3",
            )
            .bind(lo)
            .bind(hi)
            .bind(limit as i64)
            .fetch_all(p)
            .await?)
        } else {
            on_pool!(self.db.reader(), p => sqlx::query_as(
                "SELECT DISTINCT namespace, object FROM permission_relation_tuples WHERE subject = $1 LIMIT $2",
            )
            .bind(key)
            .bind(limit as i64)
            .fetch_all(p)
            .await?)
        };
        Ok(rows)
    }

    /// Every subject stored on an object, whatever the relation (forward index prefix).
    pub async fn subjects_of_object(
        &self,
        namespace: &str,
        object: &str,
        limit: usize,
    ) -> Result<Vec<Subject>, StoreError> {
        let q = Query {
            namespace: Some(namespace.into()),
            object: Some(object.into()),
            relation: None,
            subject: None,
        };
        let (tuples, _) = self.list(&q, 0, limit).await?;
        Ok(tuples.into_iter().map(|t| t.subject).collect())
    }
}

/// A WHERE clause for the set parts of `q`, with placeholders from `$first`.
fn filter(q: &Query, first: usize) -> (String, Vec<String>) {
    let mut parts = Vec::new();
    let mut binds = Vec::new();
    let mut add = |col: &str, v: String| {
        binds.push(v);
        parts.push(format!("{col} = ${}", first + binds.len() - 1));
    };
    if let Some(v) = &q.namespace {
        add("namespace", v.clone());
    }
    if let Some(v) = &q.object {
        add("object", v.clone());
    }
    if let Some(v) = &q.relation {
        add("relation", v.clone());
    }
    if let Some(s) = &q.subject {
        add("subject", s.key());
    }
    if parts.is_empty() {
        return ("1 = 1".into(), binds);
    }
    (parts.join(" AND "), binds)
}

/// What a check finds at one node `(namespace, object, relation)`.
pub struct NodeRows {
    /// The subject itself is stored on the node.
    pub direct: bool,
    /// Subject sets naming a relation stored on the node (expanded next), in key order.
    pub sets: Vec<SubjectSet>,
}

/// Lookups for one check, which visits many nodes, one statement each: on a SQLite file
/// in one read transaction on the calling thread (see `gatehouse_store::InlineReads`), on
/// PostgreSQL in statements shared with concurrent checks (see `crate::batch`), otherwise
/// (in-memory SQLite) on one pooled connection held for the whole check.
pub struct Reader {
    source: Source,
    width: usize,
    /// The two statements, written once per check (see [`node_sql`]).
    node_sql: Arc<str>,
    sets_sql: Arc<str>,
}

enum Source {
    Batched(Arc<Batcher>),
    Local(Local),
}

/// A connection of the check's own.
enum Local {
    Inline(Snapshot),
    Pooled(Conn),
}

fn set_of(r: SetRow) -> SubjectSet {
    SubjectSet {
        namespace: r.1.unwrap_or_default(),
        object: r.2.unwrap_or_default(),
        relation: r.3.unwrap_or_default(),
    }
}

// The limits are written into the text, not bound: SQLite plans around a bound LIMIT's value
// and then prepares the statement again whenever that parameter is bound, i.e. every time.

/// The subject and the expandable subject sets of a node. Both backends read `$N` as the
/// N-th bound value, so one text serves all. The first part asks only for what the forward
/// index holds, so it never reads the table.
fn node_sql(limit: usize) -> String {
    format!(
        "SELECT subject, CAST(NULL AS TEXT), CAST(NULL AS TEXT), CAST(NULL AS TEXT) \
     FROM permission_relation_tuples WHERE namespace = $1 AND object = $2 AND relation = $3 AND subject = $4 \
     UNION ALL SELECT * FROM (SELECT subject, subject_set_namespace, subject_set_object, subject_set_relation \
     FROM permission_relation_tuples WHERE namespace = $1 AND object = $2 AND relation = $3 \
     AND subject_id IS NULL AND subject_set_relation <> '' ORDER BY subject LIMIT {limit}) AS expandable"
    )
}

/// Every subject set of a node, objects as subjects included.
fn sets_sql(limit: usize) -> String {
    format!(
        "SELECT subject, subject_set_namespace, subject_set_object, subject_set_relation \
     FROM permission_relation_tuples WHERE namespace = $1 AND object = $2 AND relation = $3 \
     AND subject_id IS NULL ORDER BY subject LIMIT {limit}"
    )
}

/// Runs `sql` with text parameters on the check's own connection.
async fn fetch(local: &mut Local, sql: &str, binds: &[&str]) -> Result<Vec<SetRow>, StoreError> {
    match local {
        Local::Inline(snapshot) => Ok(snapshot.read(|conn| {
            let mut stmt = conn.prepare_cached(sql)?;
            let rows = stmt.query_map(rusqlite::params_from_iter(binds), |r| {
                Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?))
            })?;
            rows.collect()
        })?),
        // Boxed: sqlx's futures are large, and inline they would make every node of a
        // check (a future each, moved into a box) that large.
        Local::Pooled(conn) => {
            Box::pin(async {
                Ok(on_conn!(conn, c => {
                    let mut query = sqlx::query_as(sqlx::AssertSqlSafe(sql.to_owned()));
                    for b in binds {
                        query = query.bind(*b);
                    }
                    query.fetch_all(&mut **c).await?
                }))
            })
            .await
        }
    }
}

impl Reader {
    /// The rows of one lookup: with `subject`, [`node_sql`]'s; without, [`sets_sql`]'s.
    async fn rows(
        &mut self,
        namespace: &str,
        object: &str,
        relation: &str,
        subject: Option<&str>,
    ) -> Result<Vec<SetRow>, StoreError> {
        let local = match &mut self.source {
            Source::Local(local) => local,
            Source::Batched(batcher) => {
                let batcher = Arc::clone(batcher);
                let ask = self.ask(namespace, object, relation, subject);
                return Box::pin(batcher.ask(ask)).await;
            }
        };
        match subject {
            Some(key) => fetch(local, &self.node_sql, &[namespace, object, relation, key]).await,
            None => fetch(local, &self.sets_sql, &[namespace, object, relation]).await,
        }
    }

    /// A batched lookup on `(namespace, object, relation)`: with `subject`, a node lookup
    /// ([`Reader::node`]); without, every subject set ([`Reader::subject_sets`]).
    fn ask(&self, namespace: &str, object: &str, relation: &str, subject: Option<&str>) -> Ask {
        let alone = match subject {
            Some(_) => &self.node_sql,
            None => &self.sets_sql,
        };
        Ask {
            namespace: namespace.to_owned(),
            object: object.to_owned(),
            relation: relation.to_owned(),
            subject: subject.map(str::to_owned),
            limit: i64::try_from(self.width).unwrap_or(i64::MAX),
            alone: Arc::clone(alone),
        }
    }

    /// Whether `subject_key` is stored on the node, and the node's expandable subject sets,
    /// in one statement. When it is stored the sets may be left out (a batched lookup skips
    /// them): a check that found the subject needs nothing more from the node.
    pub async fn node(
        &mut self,
        namespace: &str,
        object: &str,
        relation: &str,
        subject_key: &str,
    ) -> Result<NodeRows, StoreError> {
        let rows = self
            .rows(namespace, object, relation, Some(subject_key))
            .await?;
        Ok(node_rows(rows, subject_key))
    }

    /// [`Reader::node`] for several nodes at once, in their order. On PostgreSQL they are
    /// all queued before any answer is awaited, so they share one statement rather than a
    /// round trip each; a check's lookaheads (see `crate::engine`) are such independent
    /// lookups.
    pub async fn nodes(
        &mut self,
        nodes: &[(String, String, String)],
        subject_key: &str,
    ) -> Result<Vec<NodeRows>, StoreError> {
        let Source::Batched(batcher) = &self.source else {
            let mut all = Vec::with_capacity(nodes.len());
            for (ns, obj, rel) in nodes {
                all.push(self.node(ns, obj, rel, subject_key).await?);
            }
            return Ok(all);
        };
        let answers: Vec<_> = nodes
            .iter()
            .map(|(ns, obj, rel)| batcher.submit(self.ask(ns, obj, rel, Some(subject_key))))
            .collect();
        let mut all = Vec::with_capacity(answers.len());
        for answer in answers {
            all.push(node_rows(Batcher::answer(answer).await?, subject_key));
        }
        Ok(all)
    }

    /// Every subject set (objects as subjects too) on the node: what a tuple-to-subject-set
    /// rewrite follows.
    pub async fn subject_sets(
        &mut self,
        namespace: &str,
        object: &str,
        relation: &str,
    ) -> Result<Vec<SubjectSet>, StoreError> {
        let rows = self.rows(namespace, object, relation, None).await?;
        Ok(rows.into_iter().map(set_of).collect())
    }
}

/// A node lookup's rows: a row with the subject's own key means it is stored here, whichever
/// branch gave it (a stored expandable set comes from both).
fn node_rows(rows: Vec<SetRow>, subject_key: &str) -> NodeRows {
    let direct = rows.iter().any(|r| r.0 == subject_key);
    let sets = rows
        .into_iter()
        .filter(|r| r.0 != subject_key)
        .map(set_of)
        .collect();
    NodeRows { direct, sets }
}
