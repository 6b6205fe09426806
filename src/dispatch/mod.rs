//! Workers that claim due deliveries with a lease, send them through their channel and
//! record what happened.
//!
//! The order is: claim (commit) → send → record (commit). A crash between claim and record
//! leaves the delivery `sending` with a lease; when the lease expires it is due again. The
//! SMTP channel records its handover (the message's data, all but the final dot) before the
//! point of no return (see `channels::Handover`); a delivery whose lease expires after that
//! is `uncertain`, never sent again on its own.
//!
//! Each channel has a guard for the run (`guard.rs`): an unavailable channel pauses and is
//! probed, with no attempt counted against anyone; a misconfigured one, one unavailable for
//! longer than the patience, or one whose first messages are all refused alike is stopped, and
//! its messages are held for a person to resume. A halt recorded by anyone is seen within
//! [`HALT_POLL`], and nothing is handed over after it.
//!
//! A process that stops ([`Dispatcher::stop`]: `tocsin worker` or `serve` on SIGTERM or
//! Ctrl-C) claims nothing more, gives back what it claimed and has not begun to send (due
//! at once, for another worker), lets the sends in flight finish and records them.

mod guard;
pub mod lifecycle;
mod recorder;
pub mod retry;
pub mod scheduler;

pub use guard::{Admission, ChannelGuard};
pub use recorder::Recorder;
pub use retry::RetryPolicy;

use crate::channels::{Channel, Handover, Message, Outcome, Release};
use crate::clock::Clock;
use crate::domain::{ChannelKind, DeliveryState, UpdateState};
use crate::store::prelude::*;
use crate::store::{ClaimedDelivery, Mark, StoreError, Transition};
use async_trait::async_trait;
use std::collections::{BTreeMap, HashMap};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::sync::Semaphore;
use tokio::task::{JoinHandle, JoinSet};

/// How often a run looks whether someone halted its update.
pub const HALT_POLL: Duration = Duration::from_millis(100);

#[derive(Debug, thiserror::Error)]
pub enum DispatchError {
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("no channel is configured for {0}")]
    NoChannel(ChannelKind),
    #[error("the recorder stopped: {0}")]
    Recorder(String),
    #[error("the claim of due deliveries stopped: {0}")]
    Claim(String),
    #[error("planning the fallback channel: {0}")]
    Sweep(#[source] Box<dyn std::error::Error + Send + Sync>),
    /// The process is stopping: the run gave back what it had not begun and recorded the
    /// rest; the update is as it was, for other workers.
    #[error("this process is stopping")]
    Stopping,
}

/// Planning that follows from outcomes: between its steps the dispatcher lets a sweep plan
/// new deliveries of the update (the fallback channel for SMS that did not reach their
/// contact, `crate::fallback`), and sends them in the same run.
#[async_trait]
pub trait Sweep: Send + Sync {
    /// Returns how many deliveries it created.
    async fn sweep(&self, update_id: i64) -> Result<u64, DispatchError>;
}

#[derive(Debug, Clone)]
pub struct DispatchSettings {
    pub workers: usize,
    pub claim_batch: u32,
    pub lease: Duration,
    pub retry: RetryPolicy,
    /// How long a channel may stay unavailable before the run stops it.
    pub outage_patience: Duration,
    /// The mass-rejection guard: when the first this many answers of a channel are all
    /// rejections of one kind, the channel stops. 0 turns it off.
    pub mass_rejection: u32,
}

/// Counts of this run, for progress displays: each delivery is counted once, by the last
/// outcome it reached in this run.
#[derive(Debug, Default)]
pub struct Tally {
    pub sent: AtomicU64,
    /// Failed with no attempt left.
    pub failed: AtomicU64,
    pub undeliverable: AtomicU64,
    pub uncertain: AtomicU64,
    /// Waiting for a retry or for a paused channel, as of the last step.
    pub waiting: AtomicU64,
    last_error: Mutex<Option<String>>,
    channels: Mutex<BTreeMap<ChannelKind, String>>,
}

impl Tally {
    pub fn finished(&self) -> u64 {
        self.sent.load(Ordering::Relaxed)
            + self.failed.load(Ordering::Relaxed)
            + self.undeliverable.load(Ordering::Relaxed)
            + self.uncertain.load(Ordering::Relaxed)
    }

    /// The last reason a message did not go, as its channel or gateway gave it.
    pub fn last_error(&self) -> Option<String> {
        self.last_error.lock().ok()?.clone()
    }

    /// Channels that are paused or stopped, with why.
    pub fn channel_notes(&self) -> BTreeMap<ChannelKind, String> {
        self.channels
            .lock()
            .map(|notes| notes.clone())
            .unwrap_or_default()
    }

    fn error(&self, reason: &str) {
        if let Ok(mut last) = self.last_error.lock() {
            *last = Some(reason.to_string());
        }
    }

    fn note(&self, channel: ChannelKind, note: Option<String>) {
        if let Ok(mut notes) = self.channels.lock() {
            match note {
                Some(note) => notes.insert(channel, note),
                None => notes.remove(&channel),
            };
        }
    }
}

/// How a run ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RunEnd {
    /// Every delivery of the update is final.
    Finished,
    /// Deliveries are left, held back until a person resumes the update: each stopped
    /// channel with why.
    Stopped(Vec<(ChannelKind, String)>),
    /// Someone halted the update.
    Halted,
    /// A person paused the update: what is left is held until they resume it.
    Paused,
}

pub struct Dispatcher {
    store: Arc<dyn Store>,
    channels: HashMap<ChannelKind, Arc<dyn Channel>>,
    settings: DispatchSettings,
    clock: Arc<dyn Clock>,
    tally: Arc<Tally>,
    sweep: Option<Arc<dyn Sweep>>,
    stopping: AtomicBool,
}

/// What `step` did, so that callers (and tests) can drive the dispatcher one step at a time.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StepOutcome {
    /// Sent (or tried) this many deliveries.
    Worked(usize),
    /// Nothing due now; the earliest open delivery is due at this time.
    Waiting { open: u64, next_due_ms: i64 },
    /// Nothing is open: every delivery is final, or held by a stopped channel.
    Done,
}

/// What one run shares with its workers.
#[derive(Clone)]
pub struct Run {
    recorder: Recorder,
    guards: Arc<HashMap<ChannelKind, Arc<ChannelGuard>>>,
    halted: Arc<AtomicBool>,
}

impl Run {
    /// A run with a guard for each of `channels`.
    pub fn start(
        store: Arc<dyn Store>,
        channels: impl IntoIterator<Item = ChannelKind>,
        settings: &DispatchSettings,
    ) -> Run {
        let guards = channels
            .into_iter()
            .map(|channel| {
                let guard =
                    ChannelGuard::new(channel, settings.outage_patience, settings.mass_rejection);
                (channel, Arc::new(guard))
            })
            .collect();
        Run {
            recorder: Recorder::start(store),
            guards: Arc::new(guards),
            halted: Arc::new(AtomicBool::new(false)),
        }
    }

    pub fn recorder(&self) -> &Recorder {
        &self.recorder
    }

    pub fn halted(&self) -> bool {
        self.halted.load(Ordering::Acquire)
    }

    /// The channels stopped in this run, with why.
    pub fn stopped(&self) -> Vec<(ChannelKind, String)> {
        let mut stopped: Vec<_> = self
            .guards
            .iter()
            .filter_map(|(channel, guard)| guard.stopped().map(|reason| (*channel, reason)))
            .collect();
        stopped.sort();
        stopped
    }
}

impl Dispatcher {
    pub fn new(
        store: Arc<dyn Store>,
        channels: HashMap<ChannelKind, Arc<dyn Channel>>,
        settings: DispatchSettings,
        clock: Arc<dyn Clock>,
    ) -> Dispatcher {
        Dispatcher {
            store,
            channels,
            settings,
            clock,
            tally: Arc::new(Tally::default()),
            sweep: None,
            stopping: AtomicBool::new(false),
        }
    }

    /// Stops every run of this dispatcher gracefully: nothing more is claimed, what was
    /// claimed and not begun is given back, the sends in flight finish and are recorded, and
    /// each run then ends with [`DispatchError::Stopping`].
    pub fn stop(&self) {
        self.stopping.store(true, Ordering::Release);
    }

    fn stopping(&self) -> bool {
        self.stopping.load(Ordering::Acquire)
    }

    /// Runs `sweep` after every step: an update is done only when it plans nothing more.
    pub fn with_sweep(mut self, sweep: Arc<dyn Sweep>) -> Dispatcher {
        self.sweep = Some(sweep);
        self
    }

    pub fn tally(&self) -> Arc<Tally> {
        Arc::clone(&self.tally)
    }

    /// A run of this dispatcher's channels, for driving it one `step` at a time.
    pub fn start_run(&self) -> Run {
        Run::start(
            Arc::clone(&self.store),
            self.channels.keys().copied(),
            &self.settings,
        )
    }

    /// Sends until every delivery of the update is final, sleeping until retries are due;
    /// or until every delivery left is held by a stopped channel; or until someone halts
    /// the update.
    pub async fn run(&self, update_id: i64) -> Result<RunEnd, DispatchError> {
        let run = self.start_run();
        let watching = tokio::spawn(watch_for_halt(
            Arc::clone(&self.store),
            update_id,
            Arc::clone(&run.halted),
        ));
        let result = self.run_with(update_id, &run).await;
        watching.abort();
        let closed = run.recorder.close().await;
        let end = result?;
        closed.map_err(|error| DispatchError::Recorder(error.to_string()))?;
        Ok(end)
    }

    async fn run_with(&self, update_id: i64, run: &Run) -> Result<RunEnd, DispatchError> {
        loop {
            let outcome = self.step(update_id, run).await?;
            if run.halted() {
                return Ok(RunEnd::Halted);
            }
            if self.stopping() {
                return Err(DispatchError::Stopping);
            }
            // A person's pause holds what was pending when it came; what a worker had in hand
            // and must retry, and the fallbacks, wait too: the run ends here.
            if self.store.update_paused(update_id).await?.is_some() {
                return Ok(RunEnd::Paused);
            }
            if let Some(sweep) = &self.sweep {
                let planned = sweep.sweep(update_id).await?;
                if planned > 0 {
                    tracing::info!(message = "fallback deliveries planned", update_id, planned);
                    continue;
                }
            }
            match outcome {
                StepOutcome::Worked(_) => {}
                StepOutcome::Done => {
                    // A halt cancels what was pending, so a step can find nothing left before
                    // the watcher's next poll has seen the halt: it is why the work ended.
                    if self.store.update_state(update_id).await? == UpdateState::Halted {
                        run.halted.store(true, Ordering::Release);
                        return Ok(RunEnd::Halted);
                    }
                    let stopped = run.stopped();
                    // A person's pause held what was left: the work ended for that reason,
                    // not because it was done.
                    if stopped.is_empty() && self.store.update_paused(update_id).await?.is_some() {
                        return Ok(RunEnd::Paused);
                    }
                    return Ok(if stopped.is_empty() {
                        RunEnd::Finished
                    } else {
                        RunEnd::Stopped(stopped)
                    });
                }
                StepOutcome::Waiting { open, next_due_ms } => {
                    let wait = (next_due_ms - self.clock.now_ms()).clamp(10, 5_000);
                    tracing::info!(
                        open,
                        wait_ms = wait,
                        "waiting for retries, paused channels or expired leases"
                    );
                    let deadline = tokio::time::Instant::now() + Duration::from_millis(wait as u64);
                    while tokio::time::Instant::now() < deadline
                        && !run.halted()
                        && !self.stopping()
                    {
                        tokio::time::sleep_until(
                            deadline.min(tokio::time::Instant::now() + HALT_POLL),
                        )
                        .await;
                    }
                }
            }
        }
    }

    /// Leases the next batch of the update's due deliveries, in a task of its own.
    fn claim(&self, update_id: i64) -> JoinHandle<Result<Vec<ClaimedDelivery>, StoreError>> {
        let store = Arc::clone(&self.store);
        let now = self.clock.now_ms();
        let lease_until = now + self.settings.lease.as_millis() as i64;
        let limit = self.settings.claim_batch;
        tokio::spawn(async move { store.claim_due(update_id, now, lease_until, limit).await })
    }

    /// Claims and sends everything due now, in batches, keeping `workers` sends in flight;
    /// returns when nothing more is due, or when the update is halted.
    pub async fn step(&self, update_id: i64, run: &Run) -> Result<StepOutcome, DispatchError> {
        let slots = Arc::new(Semaphore::new(self.settings.workers));
        let mut running = JoinSet::new();
        let mut worked = 0;
        let mut claim = self.claim(update_id);
        // Claimed by this process, not begun, and given back because it is stopping.
        let mut unsent = Vec::new();
        'claims: loop {
            let batch = claim
                .await
                .map_err(|error| DispatchError::Claim(error.to_string()))??;
            if batch.is_empty() || run.halted() {
                break;
            }
            if self.stopping() {
                unsent.extend(batch);
                break;
            }
            // The next batch is claimed while this one goes to the workers: a claim is a write
            // transaction of several milliseconds, longer than `workers` sends take, and
            // waiting for it between batches left the workers idle.
            claim = self.claim(update_id);
            worked += batch.len();
            let mut batch = batch.into_iter();
            while let Some(delivery) = batch.next() {
                let channel = self
                    .channels
                    .get(&delivery.channel)
                    .cloned()
                    .ok_or(DispatchError::NoChannel(delivery.channel))?;
                let guard = run
                    .guards
                    .get(&delivery.channel)
                    .cloned()
                    .ok_or(DispatchError::NoChannel(delivery.channel))?;
                let permit = Arc::clone(&slots)
                    .acquire_owned()
                    .await
                    .map_err(|error| DispatchError::Recorder(error.to_string()))?;
                if self.stopping() {
                    unsent.push(delivery);
                    unsent.extend(batch);
                    // The batch claimed ahead is given back too.
                    let ahead = claim
                        .await
                        .map_err(|error| DispatchError::Claim(error.to_string()))??;
                    unsent.extend(ahead);
                    break 'claims;
                }
                let worker = Worker {
                    store: Arc::clone(&self.store),
                    recorder: run.recorder.clone(),
                    clock: Arc::clone(&self.clock),
                    lease_margin_ms: self.settings.lease.as_millis() as i64 / 2,
                    retry: self.settings.retry,
                    tally: Arc::clone(&self.tally),
                    guard,
                    halted: Arc::clone(&run.halted),
                };
                running.spawn(async move {
                    worker.deliver(channel.as_ref(), delivery).await;
                    drop(permit);
                });
                // Keep the join set from growing with finished tasks.
                while running.try_join_next().is_some() {}
            }
            // Claim the next batch while the tail of this one is still sending.
            while running.len() > self.settings.claim_batch as usize / 2 {
                running.join_next().await;
            }
        }
        if !unsent.is_empty() {
            tracing::info!(
                message = "stopping: claimed deliveries given back",
                update_id,
                count = unsent.len()
            );
            let now = self.clock.now_ms();
            for delivery in unsent {
                let transition = Transition {
                    delivery_id: delivery.id,
                    from: DeliveryState::Sending,
                    to: DeliveryState::Pending,
                    at_ms: now,
                    next_attempt_at_ms: Some(now),
                    gateway_id: None,
                    detail: Some("given back: the worker stopped before sending it".into()),
                    mark: Mark::NotAttempted,
                    lease_until_ms: Some(delivery.lease_until_ms),
                };
                run.recorder.record_later(transition).await;
            }
        }
        while running.join_next().await.is_some() {}
        run.recorder
            .flush()
            .await
            .map_err(|error| DispatchError::Recorder(error.to_string()))?;
        let now = self.clock.now_ms();
        for (channel, guard) in run.guards.iter() {
            self.tally.note(*channel, guard.note(now));
        }
        if worked > 0 {
            return Ok(StepOutcome::Worked(worked));
        }
        let backlog = self.store.backlog(update_id).await?;
        self.tally.waiting.store(backlog.open, Ordering::Relaxed);
        Ok(match backlog.next_due_ms {
            Some(next_due_ms) if backlog.open > 0 => StepOutcome::Waiting {
                open: backlog.open,
                next_due_ms,
            },
            _ => StepOutcome::Done,
        })
    }
}

/// Polls the update's state and raises `halted` when someone halts it.
async fn watch_for_halt(store: Arc<dyn Store>, update_id: i64, halted: Arc<AtomicBool>) {
    loop {
        match store.update_state(update_id).await {
            Ok(UpdateState::Halted) => {
                tracing::warn!(message = "update halted: the run stops", update_id);
                halted.store(true, Ordering::Release);
                return;
            }
            Ok(_) => {}
            Err(error) => {
                tracing::error!(message = "cannot read the update's state", update_id, %error)
            }
        }
        tokio::time::sleep(HALT_POLL).await;
    }
}

struct Worker {
    store: Arc<dyn Store>,
    recorder: Recorder,
    clock: Arc<dyn Clock>,
    /// A send begins only while more than this is left of its lease.
    lease_margin_ms: i64,
    retry: RetryPolicy,
    tally: Arc<Tally>,
    guard: Arc<ChannelGuard>,
    halted: Arc<AtomicBool>,
}

/// Records the handover (`sending`, handed over) and waits for the commit before the channel
/// goes on. Refused once the update is halted: the halt cancelled the delivery.
struct RecordedHandover<'a> {
    worker: &'a Worker,
    delivery_id: i64,
    lease_until_ms: i64,
    committed: bool,
}

#[async_trait]
impl Handover for RecordedHandover<'_> {
    async fn commit(&mut self, gateway_id: &str, release: Release) -> bool {
        if self.worker.halted.load(Ordering::Acquire) {
            return false;
        }
        let transition = Transition {
            delivery_id: self.delivery_id,
            from: DeliveryState::Sending,
            to: DeliveryState::Sending,
            at_ms: self.worker.clock.now_ms(),
            next_attempt_at_ms: None,
            gateway_id: Some(gateway_id.to_string()),
            detail: Some(format!("handed over: {gateway_id}")),
            mark: Mark::HandedOver,
            lease_until_ms: Some(self.lease_until_ms),
        };
        self.committed = self.worker.recorder.record_now(transition, release).await;
        self.committed
    }

    /// Written at once, apart from the group commit: an address moves rarely, and the next
    /// claim should already see it.
    async fn readdressed(&mut self, address: &str, why: &str) -> bool {
        let detail = format!("address moved: {why}");
        let recorded = self
            .worker
            .store
            .readdress(
                self.delivery_id,
                address,
                &detail,
                self.worker.clock.now_ms(),
            )
            .await;
        match recorded {
            Ok(contacts) => {
                tracing::info!(
                    message = "address moved",
                    delivery = self.delivery_id,
                    contacts
                );
                true
            }
            Err(error) => {
                tracing::error!(message = "cannot record a moved address", delivery = self.delivery_id, %error);
                false
            }
        }
    }

    /// Written at once too: the subscription ends before the next update is planned.
    async fn gone(&mut self, address: &str, why: &str) -> bool {
        let ended = self
            .worker
            .store
            .end_telegram_chat(address, why, self.worker.clock.now_ms())
            .await;
        match ended {
            Ok(chat) => {
                tracing::info!(
                    message = "recipient gone: subscription ended",
                    delivery = self.delivery_id,
                    subscribed = chat.is_some()
                );
                true
            }
            Err(error) => {
                tracing::error!(message = "cannot end a subscription", delivery = self.delivery_id, %error);
                false
            }
        }
    }
}

impl Worker {
    async fn deliver(&self, channel: &dyn Channel, delivery: ClaimedDelivery) {
        // The halt cancelled this delivery in the database already.
        if self.halted.load(Ordering::Acquire) {
            return;
        }
        let now = self.clock.now_ms();
        // A delivery that waited in this process until little of its lease is left (a slow
        // server, a large claim) is left to the next claim: started now, it could still be
        // sending when another claim takes it, and go twice.
        let lease = delivery.lease_until_ms;
        if now > lease - self.lease_margin_ms {
            tracing::debug!(
                message = "lease nearly over before the send began: left to the next claim",
                delivery = delivery.id
            );
            return;
        }
        let give_back = |at_ms: i64, next_attempt_at_ms: Option<i64>, detail: String| Transition {
            delivery_id: delivery.id,
            from: DeliveryState::Sending,
            to: DeliveryState::Pending,
            at_ms,
            next_attempt_at_ms,
            gateway_id: None,
            detail: Some(detail),
            mark: Mark::NotAttempted,
            lease_until_ms: Some(lease),
        };
        match self.guard.admit(now) {
            Admission::Send => {}
            Admission::Wait { until_ms } => {
                let detail = format!("{} paused: waits for the channel", delivery.channel);
                self.recorder
                    .record_later(give_back(now, Some(until_ms), detail))
                    .await;
                return;
            }
            Admission::Held => {
                let reason = self.guard.stopped().unwrap_or_default();
                let detail = format!("held: {} stopped ({reason})", delivery.channel);
                self.recorder
                    .record_later(give_back(now, None, detail))
                    .await;
                return;
            }
        }
        let message = Message {
            delivery_id: delivery.id,
            update_id: delivery.update_id,
            channel: delivery.channel,
            address: delivery.address,
            language: delivery.language,
            content: delivery.content,
            attempt: delivery.attempts,
            reply_to: delivery.reply_to,
        };
        let mut handover = RecordedHandover {
            worker: self,
            delivery_id: delivery.id,
            lease_until_ms: lease,
            committed: false,
        };
        let outcome = channel.send(&message, &mut handover).await;
        let handed_over = handover.committed;
        let now = self.clock.now_ms();
        let transition = |to, next_attempt_at_ms, gateway_id, detail| Transition {
            delivery_id: delivery.id,
            from: DeliveryState::Sending,
            to,
            at_ms: now,
            next_attempt_at_ms,
            gateway_id,
            detail,
            mark: Mark::Nothing,
            lease_until_ms: Some(lease),
        };
        let record = match outcome {
            Outcome::Accepted { gateway_id, detail } => {
                self.guard.up();
                self.guard.answered();
                self.tally.sent.fetch_add(1, Ordering::Relaxed);
                transition(DeliveryState::Sent, None, Some(gateway_id), detail)
            }
            Outcome::Rejected { reason } => {
                self.guard.up();
                self.guard.rejected(&reason);
                tracing::warn!(message = "undeliverable", delivery = delivery.id, %reason);
                self.tally.undeliverable.fetch_add(1, Ordering::Relaxed);
                self.tally.error(&reason);
                transition(DeliveryState::Undeliverable, None, None, Some(reason))
            }
            // After the handover the server may have the message: only its answer could say,
            // and none came. (A refusal after the data is an answer: the server does not have
            // the message, and `Misconfigured` or `Rejected` says so.)
            Outcome::Unavailable { reason, .. } if handed_over => {
                tracing::warn!(message = "uncertain: handed over, no answer", delivery = delivery.id, %reason);
                self.tally.uncertain.fetch_add(1, Ordering::Relaxed);
                self.tally.error(&reason);
                transition(
                    DeliveryState::Uncertain,
                    None,
                    None,
                    Some(format!(
                        "handed over, but the server's answer never came ({reason}): the \
                         message may or may not have arrived"
                    )),
                )
            }
            Outcome::Unavailable { after, reason } => {
                self.tally.error(&reason);
                match self.guard.unavailable(now, after, &reason) {
                    Some(until_ms) => give_back(now, Some(until_ms), reason),
                    None => give_back(now, None, format!("held: {reason}")),
                }
            }
            Outcome::Misconfigured { reason } => {
                self.tally.error(&reason);
                self.guard.misconfigured(&reason);
                give_back(now, None, format!("held: {reason}"))
            }
            Outcome::RetryLater { after, reason } => {
                self.guard.up();
                self.guard.answered();
                self.tally.error(&reason);
                let delay = self
                    .retry
                    .next_delay(delivery.attempts, after, &mut rand::rng());
                match delay {
                    Some(delay) => {
                        tracing::info!(message = "will retry", delivery = delivery.id, %reason, delay_ms = delay.as_millis() as u64);
                        let due = now + delay.as_millis() as i64;
                        transition(DeliveryState::Failed, Some(due), None, Some(reason))
                    }
                    None => {
                        tracing::warn!(message = "giving up", delivery = delivery.id, %reason, attempts = delivery.attempts);
                        self.tally.failed.fetch_add(1, Ordering::Relaxed);
                        transition(
                            DeliveryState::Failed,
                            None,
                            None,
                            Some(format!(
                                "{reason} (gave up after {} attempts)",
                                delivery.attempts
                            )),
                        )
                    }
                }
            }
        };
        self.recorder.record_later(record).await;
    }
}
