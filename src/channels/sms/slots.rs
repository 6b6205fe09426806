//! Each gateway's rate as a budget for the whole deployment, however many processes send:
//! GCRA with the schedule kept where every process sees it. A gateway's time is cut into
//! slots `spacing` apart; a process reserves the next `k` of them at once (one statement on
//! the gateway's next free slot: `start = max(next, now)`, `next = start + k·spacing`), then
//! sends each message at its slot, not before. A slot found more than [`LATE`] late (a slow
//! wake-up, a long wait for the lock) is given up, never used late, so that late messages
//! cannot bunch up with the ones on time.
//!
//! The margin: a message reaches the gateway at its slot plus at most [`LATE`] plus the
//! network's jitter and the difference between the machines' clocks, [`JITTER`] together.
//! A calendar second of the gateway's then takes the messages of the slots in an interval
//! of `1 s + LATE + JITTER`, which holds at most `(1 s + LATE + JITTER) / spacing` slots: a
//! spacing of `(1 s + LATE + JITTER) / rate` keeps that at `rate`. For 200/s it is 5.125 ms
//! instead of 5 ms, 195 messages a second in practice; never 201 in one second.
//!
//! Where the slots come from is a [`SlotSource`]: the store for a deployment (the app
//! implements it; channels know nothing of the database), or [`LocalSlots`] for this process
//! alone.

use async_trait::async_trait;
use std::collections::{HashMap, VecDeque};
use std::num::NonZeroU32;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Mutex;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// How late a message may still go at its slot; later, the slot is given up.
pub const LATE: Duration = Duration::from_millis(5);
/// What the spacing leaves for the network's jitter and the machines' clocks disagreeing.
pub const JITTER: Duration = Duration::from_millis(20);
/// The most slots one reservation takes: a tenth of a second's worth, so that a process that
/// stops wastes little and the others get their turns.
const RESERVATION: Duration = Duration::from_millis(100);

/// Where a gateway's sending time is reserved.
#[async_trait]
pub trait SlotSource: Send + Sync {
    /// Reserves `span_us` of `gateway`'s time, from its next free time or `from_us`,
    /// whichever is later; returns where the reservation starts. Times are microseconds
    /// since the Unix epoch: a spacing of 5.125 ms rounded to whole milliseconds would lose
    /// up to a fifth of the rate. Two reservations, from this process or another, never
    /// overlap.
    async fn reserve(&self, gateway: &str, from_us: i64, span_us: i64) -> Result<i64, String>;
}

/// The slots of this process alone, when no store shares them.
#[derive(Default)]
pub struct LocalSlots {
    next_us: Mutex<HashMap<String, i64>>,
}

#[async_trait]
impl SlotSource for LocalSlots {
    async fn reserve(&self, gateway: &str, from_us: i64, span_us: i64) -> Result<i64, String> {
        let mut next = self
            .next_us
            .lock()
            .map_err(|_| "the slots' lock is poisoned".to_string())?;
        let next = next.entry(gateway.to_string()).or_insert(from_us);
        let start = (*next).max(from_us);
        *next = start + span_us;
        Ok(start)
    }
}

/// One gateway's pace in this process: the slots it reserved and not used yet.
pub(super) struct Pacing {
    gateway: String,
    /// Between two slots, in microseconds.
    spacing_us: i64,
    /// How far before now a reservation may start: `burst − 1` slots, sent at once.
    credit_us: i64,
    most: usize,
    /// When each reserved slot is due, in microseconds since the epoch.
    reserved: tokio::sync::Mutex<VecDeque<i64>>,
    /// Messages waiting for a slot, not yet holding one: what the next reservation takes, up
    /// to `most`.
    waiting: AtomicUsize,
}

impl Pacing {
    pub(super) fn new(gateway: &str, rate: NonZeroU32, burst: NonZeroU32) -> Pacing {
        let window_us = (Duration::from_secs(1) + LATE + JITTER).as_micros() as i64;
        let spacing_us = (window_us + i64::from(rate.get()) - 1) / i64::from(rate.get());
        let most = (RESERVATION.as_micros() as i64 / spacing_us).max(1) as usize;
        Pacing {
            gateway: gateway.to_string(),
            spacing_us,
            credit_us: i64::from(burst.get() - 1) * spacing_us,
            most,
            reserved: tokio::sync::Mutex::new(VecDeque::new()),
            waiting: AtomicUsize::new(0),
        }
    }

    /// Waits for this message's slot; an error when no slot could be reserved.
    pub(super) async fn turn(&self, source: &dyn SlotSource) -> Result<(), String> {
        loop {
            let due = {
                // Counted only until it holds a slot: a reservation is for those without.
                let _waiting = Waiting::count(&self.waiting);
                self.next_due(source, &now_us).await?
            };
            let wait = due - now_us();
            if wait > 0 {
                tokio::time::sleep(Duration::from_micros(wait as u64)).await;
            }
            if now_us() <= due + LATE.as_micros() as i64 {
                return Ok(());
            }
            tracing::debug!(
                message = "SMS slot given up: woke too late",
                gateway = self.gateway,
                late_us = now_us() - due
            );
        }
    }

    /// The next slot not already late, reserving more when none is left. `now` is read once
    /// the queue's lock is taken: others may have held it for a reservation's round trip.
    async fn next_due(
        &self,
        source: &dyn SlotSource,
        now: &(dyn Fn() -> i64 + Sync),
    ) -> Result<i64, String> {
        let late = LATE.as_micros() as i64;
        let mut reserved = self.reserved.lock().await;
        let now_us = now();
        while reserved.front().is_some_and(|due| due + late < now_us) {
            reserved.pop_front();
        }
        if reserved.is_empty() {
            let count = self.waiting.load(Ordering::Acquire).clamp(1, self.most);
            let span_us = count as i64 * self.spacing_us;
            let from_us = now_us - self.credit_us;
            let start_us = source.reserve(&self.gateway, from_us, span_us).await?;
            // A slot before now is the burst's credit: due at once.
            reserved
                .extend((0..count as i64).map(|n| (start_us + n * self.spacing_us).max(now_us)));
        }
        Ok(reserved.pop_front().unwrap_or(now_us))
    }
}

/// One message counted among those waiting for a slot, for as long as this lives.
struct Waiting<'a>(&'a AtomicUsize);

impl<'a> Waiting<'a> {
    fn count(waiting: &'a AtomicUsize) -> Waiting<'a> {
        waiting.fetch_add(1, Ordering::AcqRel);
        Waiting(waiting)
    }
}

impl Drop for Waiting<'_> {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::AcqRel);
    }
}

fn now_us() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |since| since.as_micros() as i64)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn nonzero(n: u32) -> NonZeroU32 {
        NonZeroU32::new(n).expect("non-zero")
    }

    /// How many messages `pacing` lets go in the first second, asked every millisecond of a
    /// made-up clock by as many messages as are due.
    async fn admitted_in_the_first_second(rate: u32, burst: u32) -> usize {
        let start = 1_000_000_000_000;
        let pacing = Pacing::new("g", nonzero(rate), nonzero(burst));
        let source = LocalSlots::default();
        let mut admitted = 0;
        let mut now = start;
        while now < start + 1_000_000 {
            let due = pacing.next_due(&source, &|| now).await.expect("reserved");
            if due > now {
                // Not yet: the slot waits for its time, as `turn` sleeps until it.
                pacing.reserved.lock().await.push_front(due);
                now += 1_000;
            } else {
                admitted += 1;
            }
        }
        admitted
    }

    #[tokio::test]
    async fn the_rate_is_smooth_with_its_margin_unless_a_burst_is_allowed() {
        // 1,025 ms / 50 = 20.5 ms apart: 49 slots start within the first second.
        assert_eq!(admitted_in_the_first_second(50, 1).await, 49);
        assert_eq!(admitted_in_the_first_second(50, 10).await, 58);
        // 5.125 ms apart: the 196th slot, at 999.375 ms, is seen at the next millisecond.
        assert_eq!(admitted_in_the_first_second(200, 1).await, 195);
    }

    #[tokio::test]
    async fn two_processes_on_one_source_share_the_rate() {
        let source = LocalSlots::default();
        let a = Pacing::new("g", nonzero(200), nonzero(1));
        let b = Pacing::new("g", nonzero(200), nonzero(1));
        let now = 1_000_000_000_000;
        let mut dues = Vec::new();
        for _ in 0..100 {
            a.waiting.store(20, Ordering::Release);
            b.waiting.store(20, Ordering::Release);
            dues.push(a.next_due(&source, &|| now).await.expect("a"));
            dues.push(b.next_due(&source, &|| now).await.expect("b"));
        }
        dues.sort_unstable();
        let spacing = a.spacing_us;
        assert!(
            dues.windows(2).all(|pair| pair[1] - pair[0] >= spacing),
            "every slot {spacing} µs after the one before, whoever took it"
        );
    }

    #[tokio::test]
    async fn a_late_slot_is_given_up_not_used() {
        let source = LocalSlots::default();
        let pacing = Pacing::new("g", nonzero(100), nonzero(1));
        pacing.waiting.store(5, Ordering::Release);
        let now = 1_000_000_000_000;
        let first = pacing.next_due(&source, &|| now).await.expect("first");
        assert_eq!(first, now);
        // 40 ms later: the slots at +10.25 ms … +30.75 ms are past by more than LATE.
        let later = now + 40_000;
        let next = pacing.next_due(&source, &|| later).await.expect("next");
        assert!(
            next >= later,
            "a fresh slot, not a late one: {next} < {later}"
        );
    }
}
