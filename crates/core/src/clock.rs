//! The one place that reads the wall clock, so flow expiry and session lifespans can be
//! driven deterministically in tests.

use std::sync::Arc;
use std::sync::atomic::{AtomicI64, Ordering};
use time::OffsetDateTime;

/// A source of "now". Production uses the system clock; tests may pin or advance it.
#[derive(Clone, Debug, Default)]
pub struct Clock {
    /// Offset in seconds added to the system time; lets tests jump past an expiry.
    skew: Arc<AtomicI64>,
}

impl Clock {
    /// The system clock.
    pub fn system() -> Self {
        Self::default()
    }

    /// The current time, truncated to microseconds (the precision the database keeps).
    pub fn now(&self) -> OffsetDateTime {
        #[allow(clippy::disallowed_methods)]
        let now =
            OffsetDateTime::now_utc() + time::Duration::seconds(self.skew.load(Ordering::Relaxed));
        let micros = now.unix_timestamp_nanos() / 1000;
        OffsetDateTime::from_unix_timestamp_nanos(micros * 1000).unwrap_or(now)
    }

    /// Moves this clock (and its clones) forward; for tests and the dev tooling.
    pub fn advance(&self, by: time::Duration) {
        self.skew.fetch_add(by.whole_seconds(), Ordering::Relaxed);
    }
}

/// Microseconds since the Unix epoch: how timestamps are stored in both databases.
pub fn to_micros(t: OffsetDateTime) -> i64 {
    (t.unix_timestamp_nanos() / 1000) as i64
}

/// The inverse of [`to_micros`]; out-of-range values clamp to the epoch.
pub fn from_micros(us: i64) -> OffsetDateTime {
    OffsetDateTime::from_unix_timestamp_nanos(i128::from(us) * 1000)
        .unwrap_or(OffsetDateTime::UNIX_EPOCH)
}

/// RFC 3339 in UTC, the form Ory puts on the wire.
pub fn rfc3339(t: OffsetDateTime) -> String {
    t.format(&time::format_description::well_known::Rfc3339)
        .unwrap_or_default()
}
