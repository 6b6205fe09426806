//! Workers that claim due deliveries with a lease, send them through their channel and
//! record what happened.
//!
//! The order is: claim (commit) → send → record (commit). A crash between claim and record
//! leaves the delivery `sending` with a lease; when the lease expires it is due again. The
//! SMTP channel narrows the one window where that could repeat a message by committing the
//! handover before the message data goes out (see `channels::Handover`).

mod recorder;
pub mod retry;

pub use recorder::Recorder;
pub use retry::RetryPolicy;

use crate::channels::{Channel, Handover, Message, Outcome, Release};
use crate::domain::{ChannelKind, DeliveryState};
use crate::store::{ClaimedDelivery, Store, StoreError, Transition};
use async_trait::async_trait;
use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::Semaphore;
use tokio::task::{JoinHandle, JoinSet};

/// Milliseconds since the epoch; injected so that tests can move time.
pub trait Clock: Send + Sync {
    fn now_ms(&self) -> i64;
}

pub struct SystemClock;

impl Clock for SystemClock {
    fn now_ms(&self) -> i64 {
        chrono::Utc::now().timestamp_millis()
    }
}

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
}

/// Counts of this run, for progress displays.
#[derive(Debug, Default)]
pub struct Tally {
    pub sent: AtomicU64,
    pub retrying: AtomicU64,
    pub failed: AtomicU64,
    pub undeliverable: AtomicU64,
}

impl Tally {
    pub fn finished(&self) -> u64 {
        self.sent.load(Ordering::Relaxed)
            + self.failed.load(Ordering::Relaxed)
            + self.undeliverable.load(Ordering::Relaxed)
    }
}

pub struct Dispatcher {
    store: Arc<dyn Store>,
    channels: HashMap<ChannelKind, Arc<dyn Channel>>,
    settings: DispatchSettings,
    clock: Arc<dyn Clock>,
    tally: Arc<Tally>,
    sweep: Option<Arc<dyn Sweep>>,
}

/// What `step` did, so that callers (and tests) can drive the dispatcher one step at a time.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StepOutcome {
    /// Sent (or tried) this many deliveries.
    Worked(usize),
    /// Nothing due now; the earliest open delivery is due at this time.
    Waiting { open: u64, next_due_ms: i64 },
    /// Every delivery of the update is in a final state.
    Done,
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
        }
    }

    /// Runs `sweep` after every step: an update is done only when it plans nothing more.
    pub fn with_sweep(mut self, sweep: Arc<dyn Sweep>) -> Dispatcher {
        self.sweep = Some(sweep);
        self
    }

    pub fn tally(&self) -> Arc<Tally> {
        Arc::clone(&self.tally)
    }

    /// Sends until every delivery of the update is final, sleeping until retries are due.
    pub async fn run(&self, update_id: i64) -> Result<(), DispatchError> {
        let recorder = Recorder::start(Arc::clone(&self.store));
        let result = self.run_with(update_id, &recorder).await;
        let closed = recorder.close().await;
        result?;
        closed.map_err(|error| DispatchError::Recorder(error.to_string()))
    }

    async fn run_with(&self, update_id: i64, recorder: &Recorder) -> Result<(), DispatchError> {
        loop {
            let outcome = self.step(update_id, recorder).await?;
            if let Some(sweep) = &self.sweep {
                let planned = sweep.sweep(update_id).await?;
                if planned > 0 {
                    tracing::info!(message = "fallback deliveries planned", update_id, planned);
                    continue;
                }
            }
            match outcome {
                StepOutcome::Worked(_) => {}
                StepOutcome::Done => return Ok(()),
                StepOutcome::Waiting { open, next_due_ms } => {
                    let wait = (next_due_ms - self.clock.now_ms()).clamp(10, 5_000);
                    tracing::info!(
                        open,
                        wait_ms = wait,
                        "waiting for retries or expired leases"
                    );
                    tokio::time::sleep(Duration::from_millis(wait as u64)).await;
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
    /// returns when nothing more is due.
    pub async fn step(
        &self,
        update_id: i64,
        recorder: &Recorder,
    ) -> Result<StepOutcome, DispatchError> {
        let slots = Arc::new(Semaphore::new(self.settings.workers));
        let mut running = JoinSet::new();
        let mut worked = 0;
        let mut claim = self.claim(update_id);
        loop {
            let batch = claim
                .await
                .map_err(|error| DispatchError::Claim(error.to_string()))??;
            if batch.is_empty() {
                break;
            }
            // The next batch is claimed while this one goes to the workers: a claim is a write
            // transaction of several milliseconds, longer than `workers` sends take, and
            // waiting for it between batches left the workers idle.
            claim = self.claim(update_id);
            worked += batch.len();
            for delivery in batch {
                let channel = self
                    .channels
                    .get(&delivery.channel)
                    .cloned()
                    .ok_or(DispatchError::NoChannel(delivery.channel))?;
                let permit = Arc::clone(&slots)
                    .acquire_owned()
                    .await
                    .map_err(|error| DispatchError::Recorder(error.to_string()))?;
                let worker = Worker {
                    recorder: recorder.clone(),
                    clock: Arc::clone(&self.clock),
                    retry: self.settings.retry,
                    tally: Arc::clone(&self.tally),
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
        while running.join_next().await.is_some() {}
        recorder
            .flush()
            .await
            .map_err(|error| DispatchError::Recorder(error.to_string()))?;
        if worked > 0 {
            return Ok(StepOutcome::Worked(worked));
        }
        let backlog = self.store.backlog(update_id).await?;
        Ok(match backlog.next_due_ms {
            Some(next_due_ms) if backlog.open > 0 => StepOutcome::Waiting {
                open: backlog.open,
                next_due_ms,
            },
            _ => StepOutcome::Done,
        })
    }
}

struct Worker {
    recorder: Recorder,
    clock: Arc<dyn Clock>,
    retry: RetryPolicy,
    tally: Arc<Tally>,
}

/// Records `sending → sent` and waits for the commit before the channel goes on.
struct RecordedHandover<'a> {
    worker: &'a Worker,
    delivery_id: i64,
    committed: bool,
}

#[async_trait]
impl Handover for RecordedHandover<'_> {
    async fn commit(&mut self, gateway_id: &str, release: Release) -> bool {
        let transition = Transition {
            delivery_id: self.delivery_id,
            from: DeliveryState::Sending,
            to: DeliveryState::Sent,
            at_ms: self.worker.clock.now_ms(),
            next_attempt_at_ms: None,
            gateway_id: Some(gateway_id.to_string()),
            detail: Some("handed over to the gateway".into()),
        };
        self.committed = self.worker.recorder.record_now(transition, release).await;
        self.committed
    }
}

impl Worker {
    async fn deliver(&self, channel: &dyn Channel, delivery: ClaimedDelivery) {
        let message = Message {
            delivery_id: delivery.id,
            update_id: delivery.update_id,
            channel: delivery.channel,
            address: delivery.address,
            language: delivery.language,
            subject: delivery.subject,
            body: delivery.body,
            body_html: delivery.body_html,
            attempt: delivery.attempts,
        };
        let mut handover = RecordedHandover {
            worker: self,
            delivery_id: delivery.id,
            committed: false,
        };
        let outcome = channel.send(&message, &mut handover).await;
        let from = if handover.committed {
            DeliveryState::Sent
        } else {
            DeliveryState::Sending
        };
        let now = self.clock.now_ms();
        let transition = |to, next_attempt_at_ms, gateway_id, detail| Transition {
            delivery_id: delivery.id,
            from,
            to,
            at_ms: now,
            next_attempt_at_ms,
            gateway_id,
            detail,
        };
        let record = match outcome {
            Outcome::Accepted { gateway_id, detail } => {
                self.tally.sent.fetch_add(1, Ordering::Relaxed);
                if handover.committed {
                    None
                } else {
                    Some(transition(
                        DeliveryState::Sent,
                        None,
                        Some(gateway_id),
                        detail,
                    ))
                }
            }
            Outcome::Rejected { reason } | Outcome::Misconfigured { reason } => {
                tracing::warn!(message = "undeliverable", delivery = delivery.id, %reason);
                self.tally.undeliverable.fetch_add(1, Ordering::Relaxed);
                Some(transition(
                    DeliveryState::Undeliverable,
                    None,
                    None,
                    Some(reason),
                ))
            }
            Outcome::RetryLater { after, reason } | Outcome::Unavailable { after, reason } => {
                let delay = self
                    .retry
                    .next_delay(delivery.attempts, after, &mut rand::rng());
                match delay {
                    Some(delay) => {
                        tracing::info!(message = "will retry", delivery = delivery.id, %reason, delay_ms = delay.as_millis() as u64);
                        self.tally.retrying.fetch_add(1, Ordering::Relaxed);
                        let due = now + delay.as_millis() as i64;
                        Some(transition(
                            DeliveryState::Failed,
                            Some(due),
                            None,
                            Some(reason),
                        ))
                    }
                    None => {
                        tracing::warn!(message = "giving up", delivery = delivery.id, %reason, attempts = delivery.attempts);
                        self.tally.failed.fetch_add(1, Ordering::Relaxed);
                        Some(transition(
                            DeliveryState::Failed,
                            None,
                            None,
                            Some(format!(
                                "{reason} (gave up after {} attempts)",
                                delivery.attempts
                            )),
                        ))
                    }
                }
            }
        };
        if let Some(transition) = record {
            self.recorder.record_later(transition).await;
        }
    }
}
