//! What the handlers that call other services share: bounded in-memory caches with a time
//! to live (introspection results, client-credentials tokens, hydrated sessions), retries
//! on network errors, and Go-style durations and rate-limit answers.

use super::Denied;
use axum::http::StatusCode;
use serde_json::Value;
use std::collections::{BTreeSet, HashMap};
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// The caches of one proxy. Keys are SHA-256 digests of what identifies an entry (the
/// token and the endpoint, the client's credentials), so no secret is kept as a key.
#[derive(Default)]
pub struct Caches {
    /// `oauth2_introspection`: the introspection endpoint's answers.
    pub introspection: TtlCache<super::oauth2::Introspected>,
    /// `oauth2_client_credentials`: access tokens of successful grants.
    pub client_credentials: TtlCache<String>,
    /// `oauth2_introspection.pre_authorization`: the token to call the endpoint with.
    pub pre_authorization: TtlCache<String>,
    /// `hydrator`: the hydrator's answers.
    pub hydrator: TtlCache<super::hydrator::Hydrated>,
    /// `cookie_session` and `bearer_token`: the session store's answers (200s only).
    pub sessions: TtlCache<bytes::Bytes>,
}

/// A map whose entries expire; when full, the entry closest to expiry goes first.
pub struct TtlCache<V> {
    inner: Mutex<Inner<V>>,
}

struct Inner<V> {
    entries: HashMap<String, (Instant, u64, V)>,
    /// `(expiry, insertion number, key)`, soonest expiry first.
    order: BTreeSet<(Instant, u64, String)>,
    next: u64,
}

impl<V> Default for TtlCache<V> {
    fn default() -> Self {
        TtlCache {
            inner: Mutex::new(Inner {
                entries: HashMap::new(),
                order: BTreeSet::new(),
                next: 0,
            }),
        }
    }
}

impl<V: Clone> TtlCache<V> {
    fn lock(&self) -> std::sync::MutexGuard<'_, Inner<V>> {
        // A panic while holding the lock cannot leave the maps inconsistent in a way that
        // matters for a cache; keep serving.
        self.inner
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// The live entry under `key`.
    pub fn get(&self, key: &str) -> Option<V> {
        let mut inner = self.lock();
        let (expiry, seq) = match inner.entries.get(key) {
            Some((expiry, seq, _)) => (*expiry, *seq),
            None => return None,
        };
        if expiry <= Instant::now() {
            inner.entries.remove(key);
            inner.order.remove(&(expiry, seq, key.to_string()));
            return None;
        }
        inner.entries.get(key).map(|(_, _, v)| v.clone())
    }

    /// Keeps `value` for `ttl`, in a cache of at most `capacity` entries. A zero `ttl` or
    /// `capacity` keeps nothing.
    pub fn insert(&self, key: String, value: V, ttl: Duration, capacity: usize) {
        if ttl.is_zero() || capacity == 0 {
            return;
        }
        let now = Instant::now();
        let Some(expiry) = now.checked_add(ttl) else {
            return;
        };
        let mut inner = self.lock();
        if let Some((e, s, _)) = inner.entries.remove(&key) {
            inner.order.remove(&(e, s, key.clone()));
        }
        while let Some(first) = inner.order.first().cloned() {
            if first.0 > now && inner.entries.len() < capacity {
                break;
            }
            inner.order.remove(&first);
            inner.entries.remove(&first.2);
        }
        let seq = inner.next;
        inner.next += 1;
        inner.order.insert((expiry, seq, key.clone()));
        inner.entries.insert(key, (expiry, seq, value));
    }

    pub fn len(&self) -> usize {
        self.lock().entries.len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

/// `cache.{enabled,ttl}` of a handler config.
pub struct CacheSettings {
    pub enabled: bool,
    /// `None` when unset.
    pub ttl: Option<Duration>,
}

impl CacheSettings {
    pub fn read(config: &Value, handler: &str) -> Result<CacheSettings, Denied> {
        let cache = config.get("cache");
        let enabled = cache
            .and_then(|c| c.get("enabled"))
            .and_then(Value::as_bool)
            .unwrap_or(false);
        let ttl = duration_at(cache, "ttl", &format!("{handler} cache.ttl"))?;
        Ok(CacheSettings { enabled, ttl })
    }

    /// How many entries a handler's cache keeps: `cache.<key>` of `config` (Oathkeeper's
    /// `max_cost`, each entry costing 1, or `max_tokens`), or `default` when unset or zero.
    pub fn capacity(config: &Value, key: &str, default: usize) -> usize {
        config
            .get("cache")
            .and_then(|c| c.get(key))
            .and_then(Value::as_u64)
            .filter(|n| *n > 0)
            .map_or(default, |n| usize::try_from(n).unwrap_or(usize::MAX))
    }

    /// The TTL of an entry: the configured one, but never past `lifetime` (what is left of
    /// a token's life). `None` (keep nothing) when neither is known.
    pub fn ttl_within(&self, lifetime: Option<Duration>) -> Option<Duration> {
        match (self.ttl, lifetime) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        }
    }
}

/// A Go-style duration under `key` of `parent` (`None` when unset or empty); a 500 naming
/// `what` when it does not parse.
pub fn duration_at(
    parent: Option<&Value>,
    key: &str,
    what: &str,
) -> Result<Option<Duration>, Denied> {
    match parent.and_then(|p| p.get(key)).and_then(Value::as_str) {
        None | Some("") => Ok(None),
        Some(s) => gatehouse_core::duration::parse(s)
            .map(Some)
            .map_err(|e| Denied::internal(format!("{what}: {e}"))),
    }
}

/// `retry.{max_delay,give_up_after}`: network errors (refused or failed connections,
/// timeouts) are retried with a doubling pause of at most `max_delay` until
/// `give_up_after` has passed since the first attempt.
#[derive(Clone, Copy, Debug)]
pub struct Retry {
    pub max_delay: Duration,
    pub give_up_after: Duration,
}

impl Retry {
    /// Reads a `retry` object, with the handler's defaults for missing keys.
    pub fn read(
        retry: Option<&Value>,
        max_delay: Duration,
        give_up_after: Duration,
        handler: &str,
    ) -> Result<Retry, Denied> {
        Ok(Retry {
            max_delay: duration_at(retry, "max_delay", &format!("{handler} retry.max_delay"))?
                .unwrap_or(max_delay),
            give_up_after: duration_at(
                retry,
                "give_up_after",
                &format!("{handler} retry.give_up_after"),
            )?
            .unwrap_or(give_up_after),
        })
    }
}

/// Sends `call`, retrying network errors as `retry` allows (no retry when `None`).
pub async fn send(
    call: reqwest::RequestBuilder,
    retry: Option<Retry>,
) -> Result<reqwest::Response, reqwest::Error> {
    let Some(retry) = retry else {
        return call.send().await;
    };
    let start = Instant::now();
    let mut pause = Duration::from_millis(10).min(retry.max_delay);
    loop {
        let Some(attempt) = call.try_clone() else {
            return call.send().await;
        };
        match attempt.send().await {
            Ok(res) => return Ok(res),
            Err(e) if !(e.is_connect() || e.is_timeout() || e.is_request()) => return Err(e),
            Err(e) => {
                if start.elapsed() + pause >= retry.give_up_after {
                    return Err(e);
                }
                tracing::debug!(error = %e, "retrying after a network error");
                tokio::time::sleep(pause).await;
                pause = (pause * 2)
                    .min(retry.max_delay)
                    .max(Duration::from_millis(1));
            }
        }
    }
}

/// A 429 of a dependency, with its `Retry-After` and rate-limit headers passed on.
pub fn too_many_requests(headers: &reqwest::header::HeaderMap) -> Denied {
    let mut d = Denied::new(StatusCode::TOO_MANY_REQUESTS, "Too many requests");
    for name in [
        "retry-after",
        "x-ratelimit-limit",
        "x-ratelimit-remaining",
        "x-ratelimit-reset",
        "x-ratelimit-type",
    ] {
        if let Some(v) = headers.get(name).and_then(|v| v.to_str().ok()) {
            d.headers.push((name.to_string(), v.to_string()));
        }
    }
    d
}

#[cfg(test)]
mod tests {
    use super::TtlCache;
    use std::time::Duration;

    #[test]
    fn entries_expire_and_the_cache_stays_bounded() {
        let c: TtlCache<u32> = TtlCache::default();
        c.insert("a".into(), 1, Duration::from_secs(60), 2);
        c.insert("b".into(), 2, Duration::from_secs(30), 2);
        assert_eq!(c.get("a"), Some(1));
        c.insert("c".into(), 3, Duration::from_secs(90), 2);
        assert_eq!(c.len(), 2);
        assert_eq!(c.get("b"), None, "the entry closest to expiry goes first");
        assert_eq!(c.get("c"), Some(3));
        c.insert("a".into(), 4, Duration::from_secs(60), 2);
        assert_eq!(c.get("a"), Some(4), "a key is replaced, not duplicated");
        assert_eq!(c.len(), 2);
        c.insert("z".into(), 9, Duration::ZERO, 2);
        assert_eq!(c.get("z"), None);
        c.insert("d".into(), 5, Duration::from_millis(1), 10);
        std::thread::sleep(Duration::from_millis(5));
        assert_eq!(c.get("d"), None);
    }
}
