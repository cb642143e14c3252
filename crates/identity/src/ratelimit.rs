//! Throttling of failed sign-in attempts, per identifier and per client address. Successful
//! traffic is never throttled; after `max_failures` failures within `window`, a key is
//! blocked for `base_delay`, doubling with every further failure up to `max_delay`; a
//! success resets it. Per process and bounded in memory, as every cache here.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// At most this many keys are tracked; the stalest are dropped first.
const MAX_KEYS: usize = 100_000;

#[derive(Clone, Debug)]
pub struct RateLimitConfig {
    pub enabled: bool,
    pub max_failures: u32,
    pub base_delay: Duration,
    pub max_delay: Duration,
    pub window: Duration,
}

impl Default for RateLimitConfig {
    fn default() -> Self {
        RateLimitConfig {
            enabled: true,
            max_failures: 5,
            base_delay: Duration::from_secs(1),
            max_delay: Duration::from_secs(15 * 60),
            window: Duration::from_secs(15 * 60),
        }
    }
}

#[derive(Clone, Copy, Debug)]
struct Entry {
    failures: u32,
    last: Instant,
    blocked_until: Option<Instant>,
}

#[derive(Clone, Debug)]
pub struct FailureLimiter {
    cfg: RateLimitConfig,
    entries: Arc<Mutex<HashMap<String, Entry>>>,
}

impl FailureLimiter {
    pub fn new(cfg: RateLimitConfig) -> Self {
        FailureLimiter {
            cfg,
            entries: Arc::new(Mutex::new(HashMap::new())),
        }
    }

    /// `Err(wait)` when `key` may not try again for `wait`.
    pub fn check(&self, key: &str, now: Instant) -> Result<(), Duration> {
        if !self.cfg.enabled {
            return Ok(());
        }
        let entries = self.entries.lock().unwrap_or_else(|p| p.into_inner());
        match entries.get(key).and_then(|e| e.blocked_until) {
            Some(until) if until > now => Err(until - now),
            _ => Ok(()),
        }
    }

    pub fn record_failure(&self, key: &str, now: Instant) {
        if !self.cfg.enabled {
            return;
        }
        let mut entries = self.entries.lock().unwrap_or_else(|p| p.into_inner());
        if entries.len() >= MAX_KEYS && !entries.contains_key(key) {
            self.evict(&mut entries, now);
        }
        let e = entries.entry(key.to_string()).or_insert(Entry {
            failures: 0,
            last: now,
            blocked_until: None,
        });
        if now.duration_since(e.last) > self.cfg.window {
            *e = Entry {
                failures: 0,
                last: now,
                blocked_until: None,
            };
        }
        e.failures += 1;
        e.last = now;
        if e.failures >= self.cfg.max_failures {
            let extra = (e.failures - self.cfg.max_failures).min(30);
            let delay = self
                .cfg
                .base_delay
                .saturating_mul(1u32 << extra)
                .min(self.cfg.max_delay);
            e.blocked_until = Some(now + delay);
        }
    }

    pub fn record_success(&self, key: &str) {
        let mut entries = self.entries.lock().unwrap_or_else(|p| p.into_inner());
        entries.remove(key);
    }

    fn evict(&self, entries: &mut HashMap<String, Entry>, now: Instant) {
        entries.retain(|_, e| now.duration_since(e.last) <= self.cfg.window);
        if entries.len() >= MAX_KEYS
            && let Some(oldest) = entries
                .iter()
                .min_by_key(|(_, e)| e.last)
                .map(|(k, _)| k.clone())
        {
            entries.remove(&oldest);
        }
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn blocks_after_failures_backs_off_and_resets() {
        let l = FailureLimiter::new(RateLimitConfig {
            max_failures: 3,
            ..Default::default()
        });
        let t0 = Instant::now();
        for _ in 0..2 {
            l.record_failure("id:a", t0);
        }
        assert!(l.check("id:a", t0).is_ok());
        l.record_failure("id:a", t0);
        assert_eq!(l.check("id:a", t0).unwrap_err(), Duration::from_secs(1));
        assert!(l.check("id:a", t0 + Duration::from_secs(2)).is_ok());
        l.record_failure("id:a", t0 + Duration::from_secs(2));
        assert_eq!(
            l.check("id:a", t0 + Duration::from_secs(2)).unwrap_err(),
            Duration::from_secs(2)
        );
        assert!(l.check("id:b", t0).is_ok(), "other keys are unaffected");
        l.record_success("id:a");
        assert!(l.check("id:a", t0 + Duration::from_secs(2)).is_ok());
    }

    #[test]
    fn failures_are_forgotten_after_the_window() {
        let l = FailureLimiter::new(RateLimitConfig {
            max_failures: 2,
            window: Duration::from_secs(60),
            ..Default::default()
        });
        let t0 = Instant::now();
        l.record_failure("k", t0);
        l.record_failure("k", t0 + Duration::from_secs(61));
        assert!(l.check("k", t0 + Duration::from_secs(61)).is_ok());
    }

    #[test]
    fn disabled_never_blocks() {
        let l = FailureLimiter::new(RateLimitConfig {
            enabled: false,
            max_failures: 1,
            ..Default::default()
        });
        let t0 = Instant::now();
        l.record_failure("k", t0);
        assert!(l.check("k", t0).is_ok());
    }
}
