//! A warning that anyone on the network could make us repeat thousands of times a second
//! (a forged receipt, a flood of connections): written once per [`EVERY`] at most, with how
//! many there were since the previous line and the last one's detail, instead of one line
//! each (one forged request, one line, was 240 MB of log in 15 s).

use std::sync::{Arc, Mutex, Weak};
use std::time::{Duration, Instant};

/// At most one line per warning this often.
pub const EVERY: Duration = Duration::from_secs(10);

/// Characters of the last occurrence's detail kept: it may come from the request.
const DETAIL_CHARS: usize = 200;

pub struct Throttled {
    message: &'static str,
    state: Mutex<State>,
}

#[derive(Default)]
struct State {
    last_line: Option<Instant>,
    /// Occurrences not yet written.
    count: u64,
    last: String,
}

impl State {
    fn due(&self, now: Instant) -> bool {
        self.last_line
            .is_none_or(|written| now.saturating_duration_since(written) >= EVERY)
    }
}

impl Throttled {
    /// Also starts the task (on the current Tokio runtime) that writes what a quiet end of
    /// an interval left unwritten; it ends with the last `Arc`.
    pub fn start(message: &'static str) -> Arc<Throttled> {
        let throttled = Arc::new(Throttled {
            message,
            state: Mutex::default(),
        });
        tokio::spawn(flush_every_interval(Arc::downgrade(&throttled)));
        throttled
    }

    /// One occurrence: written at once if no line was written within [`EVERY`], else
    /// counted for the next line. Says whether it wrote a line.
    pub fn note(&self, detail: impl Into<String>) -> bool {
        self.note_at(detail.into(), Instant::now())
    }

    fn note_at(&self, detail: String, now: Instant) -> bool {
        let mut detail = detail;
        if let Some((cut, _)) = detail.char_indices().nth(DETAIL_CHARS) {
            detail.truncate(cut);
            detail.push('…');
        }
        let mut state = self.state();
        state.count += 1;
        state.last = detail;
        let due = state.due(now);
        if due {
            self.write(&mut state, now);
        }
        due
    }

    fn flush_at(&self, now: Instant) {
        let mut state = self.state();
        if state.count > 0 && state.due(now) {
            self.write(&mut state, now);
        }
    }

    fn write(&self, state: &mut State, now: Instant) {
        tracing::warn!(
            message = self.message,
            count = state.count,
            within_seconds = EVERY.as_secs(),
            last = ?state.last
        );
        state.count = 0;
        state.last_line = Some(now);
    }

    fn state(&self) -> std::sync::MutexGuard<'_, State> {
        // The state stays valid whatever panicked while it was held.
        self.state
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }
}

/// Looks often, so that a count is written about [`EVERY`] after the line before it.
async fn flush_every_interval(throttled: Weak<Throttled>) {
    let mut ticks = tokio::time::interval(EVERY / 10);
    loop {
        ticks.tick().await;
        let Some(throttled) = throttled.upgrade() else {
            return;
        };
        throttled.flush_at(Instant::now());
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_flood_writes_one_line_per_interval() {
        let throttled = Throttled::start("test");
        let start = Instant::now();
        assert!(
            throttled.note_at("first".into(), start),
            "the first is written at once"
        );
        let written = (0..10_000)
            .filter(|_| throttled.note_at("again".into(), start))
            .count();
        assert_eq!(written, 0, "the rest of the interval is counted");
        assert_eq!(throttled.state().count, 10_000);
        throttled.flush_at(start + EVERY / 2);
        assert_eq!(
            throttled.state().count,
            10_000,
            "not before the interval ends"
        );
        throttled.flush_at(start + EVERY);
        assert_eq!(
            throttled.state().count,
            0,
            "the interval's count is written"
        );
        assert!(!throttled.note_at("x".repeat(10_000), start + EVERY));
        assert_eq!(throttled.state().last.chars().count(), DETAIL_CHARS + 1);
    }
}
