//! The whoami cache: a session token's rendered `/sessions/whoami` answer, kept in memory so
//! the hottest endpoint (every proxied request asks it) costs no database round trip.
//!
//! Correctness rests on one generation counter rather than per-key bookkeeping. Every write
//! that can change a cached answer (identity update or delete, session revoke or extend)
//! bumps it after commit; an entry is only served while its generation is current, and a
//! reader stamps an entry with the generation it saw *before* reading the database, so an
//! answer read before a write can never be served after it. New sessions need no bump: they
//! are not cached yet. With PostgreSQL, bumps travel to every instance by LISTEN/NOTIFY; if
//! that channel drops, the cache is cleared, since notices may have been missed. A TTL caps
//! the age of any entry as a last line of defence.

use bytes::Bytes;
use std::collections::HashMap;
use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};
use time::OffsetDateTime;

/// The PostgreSQL channel on which instances announce identity and session writes.
pub const CHANNEL: &str = "gatehouse_identity_changed";

/// One cached whoami answer.
#[derive(Debug)]
pub struct Cached {
    pub session_id: uuid::Uuid,
    pub identity_id: uuid::Uuid,
    pub expires_at: OffsetDateTime,
    /// The JSON body, rendered once.
    pub body: Bytes,
}

struct Slot {
    value: std::sync::Arc<Cached>,
    generation: u64,
    stored: Instant,
}

/// Size and age limits; `capacity` 0 turns the cache off.
#[derive(Clone, Copy, Debug)]
pub struct CacheLimits {
    pub capacity: usize,
    pub ttl: Duration,
}

pub struct SessionCache {
    limits: CacheLimits,
    /// False while the PostgreSQL notice channel is down: nothing is served then.
    live: AtomicBool,
    generation: AtomicU64,
    slots: Mutex<HashMap<String, Slot>>,
}

impl std::fmt::Debug for SessionCache {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SessionCache")
            .field("limits", &self.limits)
            .field("generation", &self.generation())
            .finish()
    }
}

impl SessionCache {
    pub fn new(limits: CacheLimits) -> Self {
        Self {
            limits,
            live: AtomicBool::new(true),
            generation: AtomicU64::new(0),
            slots: Mutex::new(HashMap::new()),
        }
    }

    pub fn enabled(&self) -> bool {
        self.limits.capacity > 0 && self.live.load(Ordering::Acquire)
    }

    fn set_live(&self, live: bool) {
        self.live.store(live, Ordering::Release);
        self.invalidate();
    }

    /// Read this before fetching from the database; pass it to [`SessionCache::put`].
    pub fn generation(&self) -> u64 {
        self.generation.load(Ordering::Acquire)
    }

    /// The cached answer for a token digest, if current, young enough and not expired.
    pub fn get(&self, token_hash: &str, now: OffsetDateTime) -> Option<std::sync::Arc<Cached>> {
        if !self.enabled() {
            return None;
        }
        let current = self.generation();
        let slots = self.slots.lock().unwrap_or_else(|p| p.into_inner());
        let slot = slots.get(token_hash)?;
        let fresh = slot.generation == current
            && slot.stored.elapsed() < self.limits.ttl
            && slot.value.expires_at > now;
        fresh.then(|| slot.value.clone())
    }

    /// Stores an answer read at `generation`; dropped if a write has happened since.
    pub fn put(&self, token_hash: String, value: std::sync::Arc<Cached>, generation: u64) {
        if !self.enabled() {
            return;
        }
        let mut slots = self.slots.lock().unwrap_or_else(|p| p.into_inner());
        if generation != self.generation() {
            return;
        }
        if slots.len() >= self.limits.capacity {
            // Rare; cheaper than keeping an LRU order on every hit.
            slots.clear();
        }
        slots.insert(
            token_hash,
            Slot {
                value,
                generation,
                stored: Instant::now(),
            },
        );
    }

    /// Forgets everything: called after each write that may change an answer.
    pub fn invalidate(&self) {
        let mut slots = self.slots.lock().unwrap_or_else(|p| p.into_inner());
        self.generation.fetch_add(1, Ordering::AcqRel);
        slots.clear();
    }
}

/// Subscribes to other instances' change notices and keeps doing so in the background.
/// Fails only if the first subscription fails.
pub async fn listen(
    pool: &gatehouse_store::sqlx::PgPool,
    cache: std::sync::Arc<SessionCache>,
) -> Result<(), String> {
    let first = subscribe(pool)
        .await
        .map_err(|e| format!("cannot LISTEN for session changes: {e}"))?;
    let pool = pool.clone();
    tokio::spawn(async move {
        let mut listener = first;
        loop {
            // Each notice, or the loss of the channel, empties the cache.
            while let Ok(Some(_)) = listener.try_recv().await {
                cache.invalidate();
            }
            cache.set_live(false);
            if pool.is_closed() {
                return; // shutting down
            }
            tracing::warn!(
                "lost the session-change channel to PostgreSQL; cache off until it is back"
            );
            listener = loop {
                tokio::time::sleep(Duration::from_secs(1)).await;
                if pool.is_closed() {
                    return;
                }
                if let Ok(l) = subscribe(&pool).await {
                    break l;
                }
            };
            cache.set_live(true);
        }
    });
    Ok(())
}

async fn subscribe(
    pool: &gatehouse_store::sqlx::PgPool,
) -> Result<gatehouse_store::sqlx::postgres::PgListener, gatehouse_store::sqlx::Error> {
    let mut l = gatehouse_store::sqlx::postgres::PgListener::connect_with(pool).await?;
    l.ignore_pool_close_event(false);
    l.listen(CHANNEL).await?;
    Ok(l)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry(expires_in: i64) -> std::sync::Arc<Cached> {
        std::sync::Arc::new(Cached {
            session_id: uuid::Uuid::new_v4(),
            identity_id: uuid::Uuid::new_v4(),
            expires_at: OffsetDateTime::now_utc() + time::Duration::seconds(expires_in),
            body: Bytes::from_static(b"{}"),
        })
    }

    fn cache(capacity: usize) -> SessionCache {
        SessionCache::new(CacheLimits {
            capacity,
            ttl: Duration::from_secs(60),
        })
    }

    #[test]
    fn a_write_between_read_and_put_keeps_the_stale_answer_out() {
        let c = cache(10);
        let seen = c.generation();
        c.invalidate();
        c.put("t".into(), entry(60), seen);
        assert!(c.get("t", OffsetDateTime::now_utc()).is_none());
        c.put("t".into(), entry(60), c.generation());
        assert!(c.get("t", OffsetDateTime::now_utc()).is_some());
        c.invalidate();
        assert!(c.get("t", OffsetDateTime::now_utc()).is_none());
    }

    #[test]
    fn expired_sessions_and_disabled_caches_answer_nothing() {
        let c = cache(10);
        c.put("t".into(), entry(-1), c.generation());
        assert!(c.get("t", OffsetDateTime::now_utc()).is_none());
        let off = cache(0);
        off.put("t".into(), entry(60), off.generation());
        assert!(off.get("t", OffsetDateTime::now_utc()).is_none());
    }

    #[test]
    fn capacity_is_a_hard_bound() {
        let c = cache(3);
        for i in 0..10 {
            c.put(format!("t{i}"), entry(60), c.generation());
        }
        let n = c.slots.lock().unwrap().len();
        assert!(n <= 3, "{n}");
        assert!(c.get("t9", OffsetDateTime::now_utc()).is_some());
    }
}
