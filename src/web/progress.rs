//! One poller per update being watched: the console's dashboards of an update share it,
//! so twenty open dashboards cost one query every [`POLL_EVERY`], not twenty. The poller
//! reads `App::progress` (the counts of `tocsin status`) and hands each new value to its
//! subscribers through a `tokio::sync::watch`; it stops when the last subscriber leaves.

use crate::app::App;
use crate::report::Progress;
use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;
use tokio::sync::watch;

/// How often a watched update's counts are read.
pub const POLL_EVERY: Duration = Duration::from_millis(500);

/// What a subscriber receives: None until the first poll has answered.
pub type Latest = watch::Receiver<Option<Arc<Progress>>>;

pub struct ProgressHub {
    app: Arc<App>,
    every: Duration,
    pollers: Mutex<HashMap<i64, watch::Sender<Option<Arc<Progress>>>>>,
    started: AtomicU64,
    polls: AtomicU64,
}

impl ProgressHub {
    pub fn new(app: Arc<App>, every: Duration) -> Arc<ProgressHub> {
        Arc::new(ProgressHub {
            app,
            every,
            pollers: Mutex::default(),
            started: AtomicU64::new(0),
            polls: AtomicU64::new(0),
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

    /// Reads of the counts made, all updates together.
    pub fn polls(&self) -> u64 {
        self.polls.load(Ordering::Relaxed)
    }

    /// Pollers running now.
    pub fn pollers_running(&self) -> usize {
        self.pollers().len()
    }

    async fn poll(self: Arc<Self>, update_id: i64, sender: watch::Sender<Option<Arc<Progress>>>) {
        let mut tick = tokio::time::interval(self.every);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
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
                    match self.app.progress(update_id).await {
                        Ok(progress) => {
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
