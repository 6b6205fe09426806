//! A circuit breaker for one SMS gateway. After `failures_to_open` unavailable (or
//! misconfigured) answers in a row the breaker opens and the gateway is skipped; after
//! `cool_down` it lets one message through as a probe (half-open): an answer that shows the
//! gateway up closes it, another failure opens it again for a new cool-down. Time comes from
//! a [`Clock`](crate::clock::Clock), so tests move it by hand instead of sleeping.

use std::fmt;
use std::sync::Mutex;
use std::time::{Duration, Instant};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BreakerState {
    /// Traffic goes through.
    Closed,
    /// The gateway is skipped until the cool-down is over.
    Open,
    /// The cool-down is over: the next message is a probe (or one is under way).
    HalfOpen,
}

impl BreakerState {
    pub fn as_str(self) -> &'static str {
        match self {
            BreakerState::Closed => "closed",
            BreakerState::Open => "open",
            BreakerState::HalfOpen => "half-open",
        }
    }
}

impl fmt::Display for BreakerState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Whether a message may go to the gateway now.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Admission {
    /// Send (while closed, or as the one probe of a half-open breaker).
    Go,
    /// Skip the gateway; it may be tried again from `until`.
    Skip { until: Instant },
}

#[derive(Debug, Default)]
struct Inner {
    /// Unavailable answers in a row while closed.
    failures: u32,
    /// Set while open or half-open: the end of the cool-down.
    open_until: Option<Instant>,
    /// When the probe of a half-open breaker was let through, while it has no answer.
    probe_since: Option<Instant>,
}

#[derive(Debug)]
pub struct Breaker {
    failures_to_open: u32,
    cool_down: Duration,
    inner: Mutex<Inner>,
}

impl Breaker {
    /// `failures_to_open` 0 never opens.
    pub fn new(failures_to_open: u32, cool_down: Duration) -> Breaker {
        Breaker {
            failures_to_open,
            cool_down,
            inner: Mutex::new(Inner::default()),
        }
    }

    fn inner(&self) -> std::sync::MutexGuard<'_, Inner> {
        self.inner.lock().expect("breaker state")
    }

    /// Asks to send one message. In half-open, only one probe at a time is let through; a
    /// probe that never answers (its send was dropped) is given up after one cool-down.
    pub fn admit(&self, now: Instant) -> Admission {
        let mut inner = self.inner();
        let Some(open_until) = inner.open_until else {
            return Admission::Go;
        };
        if now < open_until {
            return Admission::Skip { until: open_until };
        }
        match inner.probe_since {
            Some(since) if now < since + self.cool_down => Admission::Skip {
                until: since + self.cool_down,
            },
            _ => {
                inner.probe_since = Some(now);
                Admission::Go
            }
        }
    }

    /// Records the gateway's answer: `up` for anything but unavailable or misconfigured.
    pub fn record(&self, up: bool, now: Instant) {
        let mut inner = self.inner();
        if up {
            *inner = Inner::default();
            return;
        }
        if self.failures_to_open == 0 {
            return;
        }
        if inner.probe_since.take().is_some() {
            inner.open_until = Some(now + self.cool_down);
            return;
        }
        if inner.open_until.is_some() {
            // An answer to a message let through before the breaker opened.
            return;
        }
        inner.failures += 1;
        if inner.failures >= self.failures_to_open {
            inner.failures = 0;
            inner.open_until = Some(now + self.cool_down);
        }
    }

    pub fn state(&self, now: Instant) -> BreakerState {
        let inner = self.inner();
        match inner.open_until {
            None => BreakerState::Closed,
            Some(until) if now < until && inner.probe_since.is_none() => BreakerState::Open,
            Some(_) => BreakerState::HalfOpen,
        }
    }

    /// When the gateway may be tried again, if the breaker would skip it now.
    pub fn blocked_until(&self, now: Instant) -> Option<Instant> {
        let inner = self.inner();
        let open_until = inner.open_until?;
        if now < open_until {
            return Some(open_until);
        }
        let probe_until = inner.probe_since? + self.cool_down;
        (now < probe_until).then_some(probe_until)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::clock::{Clock, ManualClock};

    const COOL_DOWN: Duration = Duration::from_secs(30);

    fn fail(breaker: &Breaker, clock: &ManualClock, times: u32) {
        for _ in 0..times {
            assert_eq!(breaker.admit(clock.now()), Admission::Go);
            breaker.record(false, clock.now());
        }
    }

    #[test]
    fn opens_after_the_configured_run_of_unavailable_answers() {
        let clock = ManualClock::new();
        let breaker = Breaker::new(3, COOL_DOWN);
        fail(&breaker, &clock, 2);
        assert_eq!(breaker.state(clock.now()), BreakerState::Closed);
        fail(&breaker, &clock, 1);
        assert_eq!(breaker.state(clock.now()), BreakerState::Open);
        let until = clock.now() + COOL_DOWN;
        assert_eq!(breaker.admit(clock.now()), Admission::Skip { until });
        assert_eq!(breaker.blocked_until(clock.now()), Some(until));
    }

    #[test]
    fn any_answer_but_unavailable_resets_the_run() {
        let clock = ManualClock::new();
        let breaker = Breaker::new(3, COOL_DOWN);
        fail(&breaker, &clock, 2);
        breaker.record(true, clock.now());
        fail(&breaker, &clock, 2);
        assert_eq!(breaker.state(clock.now()), BreakerState::Closed);
        assert_eq!(breaker.blocked_until(clock.now()), None);
    }

    #[test]
    fn after_the_cool_down_one_probe_goes_through_and_success_closes() {
        let clock = ManualClock::new();
        let breaker = Breaker::new(2, COOL_DOWN);
        fail(&breaker, &clock, 2);
        clock.advance(COOL_DOWN - Duration::from_secs(1));
        assert_eq!(breaker.state(clock.now()), BreakerState::Open);
        assert!(matches!(breaker.admit(clock.now()), Admission::Skip { .. }));
        clock.advance(Duration::from_secs(1));
        assert_eq!(breaker.state(clock.now()), BreakerState::HalfOpen);
        assert_eq!(breaker.blocked_until(clock.now()), None);
        assert_eq!(breaker.admit(clock.now()), Admission::Go);
        // One probe at a time.
        assert!(matches!(breaker.admit(clock.now()), Admission::Skip { .. }));
        assert_eq!(breaker.state(clock.now()), BreakerState::HalfOpen);
        breaker.record(true, clock.now());
        assert_eq!(breaker.state(clock.now()), BreakerState::Closed);
        assert_eq!(breaker.admit(clock.now()), Admission::Go);
    }

    #[test]
    fn a_failed_probe_opens_again_for_a_new_cool_down() {
        let clock = ManualClock::new();
        let breaker = Breaker::new(2, COOL_DOWN);
        fail(&breaker, &clock, 2);
        clock.advance(COOL_DOWN);
        fail(&breaker, &clock, 1);
        assert_eq!(breaker.state(clock.now()), BreakerState::Open);
        assert_eq!(
            breaker.admit(clock.now()),
            Admission::Skip {
                until: clock.now() + COOL_DOWN
            }
        );
        clock.advance(COOL_DOWN);
        assert_eq!(breaker.admit(clock.now()), Admission::Go);
    }

    #[test]
    fn a_probe_that_never_answers_is_given_up_after_a_cool_down() {
        let clock = ManualClock::new();
        let breaker = Breaker::new(1, COOL_DOWN);
        fail(&breaker, &clock, 1);
        clock.advance(COOL_DOWN);
        assert_eq!(breaker.admit(clock.now()), Admission::Go);
        clock.advance(COOL_DOWN);
        assert_eq!(breaker.admit(clock.now()), Admission::Go);
    }

    #[test]
    fn late_failures_of_an_open_breaker_do_not_extend_it() {
        let clock = ManualClock::new();
        let breaker = Breaker::new(1, COOL_DOWN);
        let opened = clock.now();
        fail(&breaker, &clock, 1);
        clock.advance(Duration::from_secs(10));
        breaker.record(false, clock.now());
        assert_eq!(breaker.blocked_until(clock.now()), Some(opened + COOL_DOWN));
    }

    #[test]
    fn zero_failures_to_open_never_opens() {
        let clock = ManualClock::new();
        let breaker = Breaker::new(0, COOL_DOWN);
        fail(&breaker, &clock, 10);
        assert_eq!(breaker.state(clock.now()), BreakerState::Closed);
    }
}
