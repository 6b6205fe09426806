//! The time, injected: the dispatcher, the fallback sweep, the receipts and the SMS
//! gateways' circuit breakers all take it from a [`Clock`], so tests move it by hand instead
//! of sleeping.

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

pub trait Clock: Send + Sync {
    /// Milliseconds since the Unix epoch: the times the store records and compares.
    fn now_ms(&self) -> i64;

    /// The machine's monotonic time, for spans a change of the wall clock must not stretch
    /// or cut short (a breaker's cool-down).
    fn now(&self) -> Instant;
}

/// The machine's clocks.
#[derive(Debug, Clone, Copy, Default)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now_ms(&self) -> i64 {
        chrono::Utc::now().timestamp_millis()
    }

    fn now(&self) -> Instant {
        Instant::now()
    }
}

/// A clock that starts at the machine's time and moves only when told, for tests.
#[derive(Debug)]
pub struct ManualClock {
    start: Instant,
    start_ms: i64,
    advanced_nanos: AtomicU64,
}

impl ManualClock {
    pub fn new() -> ManualClock {
        ManualClock {
            start: Instant::now(),
            start_ms: chrono::Utc::now().timestamp_millis(),
            advanced_nanos: AtomicU64::new(0),
        }
    }

    pub fn advance(&self, by: Duration) {
        let nanos = u64::try_from(by.as_nanos()).unwrap_or(u64::MAX);
        self.advanced_nanos.fetch_add(nanos, Ordering::SeqCst);
    }

    fn advanced(&self) -> Duration {
        Duration::from_nanos(self.advanced_nanos.load(Ordering::SeqCst))
    }
}

impl Default for ManualClock {
    fn default() -> ManualClock {
        ManualClock::new()
    }
}

impl Clock for ManualClock {
    fn now_ms(&self) -> i64 {
        self.start_ms + self.advanced().as_millis() as i64
    }

    fn now(&self) -> Instant {
        self.start + self.advanced()
    }
}
