//! One poller per update being watched: the console's dashboards of an update share it,
//! so twenty open dashboards cost one poll every [`POLL_EVERY`], not twenty. A poll reads
//! `App::progress_mark`, a few index lookups; only when the mark moved does it read
//! `App::progress` (the counts of `tocsin status`, which group every delivery of the update)
//! and hand a new value to its subscribers through a `tokio::sync::watch`. It stops when the
//! last subscriber leaves.

use crate::app::App;
use crate::report::Progress;
use crate::store::ProgressMark;
use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;
use tokio::sync::watch;
use tokio::time::Instant;

/// How often a watched update's counts are read.
pub const POLL_EVERY: Duration = Duration::from_millis(500);

/// The counts are read again after this long even with an unchanged mark: the one change
/// the mark misses (a gateway id filled in by a send record that a receipt overtook) shows
/// within it.
pub const READ_AGAIN_AFTER: Duration = Duration::from_secs(10);

/// What a subscriber receives: None until the first poll has answered.
pub type Latest = watch::Receiver<Option<Arc<Progress>>>;

pub struct ProgressHub {
    app: Arc<App>,
    every: Duration,
    pollers: Mutex<HashMap<i64, watch::Sender<Option<Arc<Progress>>>>>,
    started: AtomicU64,
    polls: AtomicU64,
    reads: AtomicU64,
}

impl ProgressHub {
    pub fn new(app: Arc<App>, every: Duration) -> Arc<ProgressHub> {
        Arc::new(ProgressHub {
            app,
            every,
            pollers: Mutex::default(),
            started: AtomicU64::new(0),
            polls: AtomicU64::new(0),
            reads: AtomicU64::new(0),
        })
    }

    fn pollers(&self) -> MutexGuard<'_, HashMap<i64, watch::Sender<Option<Arc<Progress>>>>> {
        // A panic while holding this lock leaves a valid map.
        self.pollers
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// The latest counts of `update_id`, now and as they change; starts the update's poller
    /// unless one runs. Must be called inside a Tokio runtime.
    pub fn subscribe(self: &Arc<Self>, update_id: i64) -> Latest {
        let mut pollers = self.pollers();
        if let Some(sender) = pollers.get(&update_id) {
            let mut latest = sender.subscribe();
            latest.mark_changed();
            return latest;
        }
        let (sender, latest) = watch::channel(None);
        pollers.insert(update_id, sender.clone());
        self.started.fetch_add(1, Ordering::Relaxed);
        tokio::spawn(Arc::clone(self).poll(update_id, sender));
        latest
    }

    /// Pollers started since the hub was made (one per update while it is watched).
    pub fn pollers_started(&self) -> u64 {
        self.started.load(Ordering::Relaxed)
    }

    /// Polls made (each a read of the mark), all updates together.
    pub fn polls(&self) -> u64 {
        self.polls.load(Ordering::Relaxed)
    }

    /// Reads of the counts themselves, all updates together: a poll reads them only when
    /// its mark moved (or [`READ_AGAIN_AFTER`]).
    pub fn reads(&self) -> u64 {
        self.reads.load(Ordering::Relaxed)
    }

    /// Pollers running now.
    pub fn pollers_running(&self) -> usize {
        self.pollers().len()
    }

    async fn poll(self: Arc<Self>, update_id: i64, sender: watch::Sender<Option<Arc<Progress>>>) {
        let mut tick = tokio::time::interval(self.every);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        // The mark the counts were last read with, and when.
        let mut read: Option<(ProgressMark, Instant)> = None;
        loop {
            tokio::select! {
                () = sender.closed() => {
                    // Under the lock a new subscriber cannot slip in between the count and
                    // the removal.
                    let mut pollers = self.pollers();
                    if sender.receiver_count() == 0 {
                        pollers.remove(&update_id);
                        return;
                    }
                }
                _ = tick.tick() => {
                    self.polls.fetch_add(1, Ordering::Relaxed);
                    let mark = match self.app.progress_mark(update_id).await {
                        Ok(mark) => mark,
                        Err(error) => {
                            tracing::warn!(
                                message = "console: cannot read an update's progress",
                                update = update_id,
                                %error
                            );
                            continue;
                        }
                    };
                    if read.as_ref().is_some_and(|(seen, at)| {
                        *seen == mark && at.elapsed() < READ_AGAIN_AFTER
                    }) {
                        continue;
                    }
                    // The mark is read before the counts: a change between the two shows in
                    // the next mark.
                    self.reads.fetch_add(1, Ordering::Relaxed);
                    match self.app.progress(update_id).await {
                        Ok(progress) => {
                            read = Some((mark, Instant::now()));
                            sender.send_if_modified(|latest| {
                                if latest.as_deref() == Some(&progress) {
                                    return false;
                                }
                                *latest = Some(Arc::new(progress));
                                true
                            });
                        }
                        Err(error) => tracing::warn!(
                            message = "console: cannot read an update's progress",
                            update = update_id,
                            %error
                        ),
                    }
                }
            }
        }
    }
}
