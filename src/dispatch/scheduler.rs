//! `tocsin serve`'s dispatcher: every few seconds, a run for each update being sent, and
//! the start of each approved update whose time to be sent has come.

use super::lifecycle::{self, Moment};
use super::{DispatchError, Dispatcher, RunEnd};
use crate::domain::UpdateState;
use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::watch;
use tokio::task::JoinSet;

/// How often the scheduler looks for updates being sent.
const TICK: Duration = Duration::from_secs(5);

/// What starts an approved update whose time has come (`updates.send_at`): planning takes
/// the renderer and the configuration, which `dispatch` does not import, so the app
/// implements it (as `fallback` implements [`super::Sweep`]).
#[async_trait::async_trait]
pub trait Launch: Send + Sync {
    /// Plans the update's deliveries (once: planning is idempotent).
    async fn launch(&self, update_id: i64) -> Result<(), Box<dyn std::error::Error + Send + Sync>>;
}

/// Every [`TICK`] (and whenever a run ends), plans with `launch` each approved update whose
/// `send_at` has passed (on the dispatcher's clock), which then starts like any update being
/// sent; sweeps each update being or having been sent for
/// fallbacks with the dispatcher's sweep (the receipts that call for them arrive in `serve`,
/// and so does the end of the wait for one), then starts a dispatcher run for each update
/// being sent that has open deliveries and no run yet; the update moves along its life cycle
/// ([`lifecycle::advance`]) as its runs start and end. Runs until `stopped` changes; the runs
/// then stop gracefully ([`Dispatcher::stop`]): what they claimed and had not begun is due
/// again at once, for another process, and what was in flight is sent and recorded before
/// this returns. Any number of processes may run this on one database: claims are leased,
/// planning is idempotent and the life cycle's moves are the same whoever makes them.
pub async fn run(
    dispatcher: Arc<Dispatcher>,
    launch: Option<Arc<dyn Launch>>,
    mut stopped: watch::Receiver<bool>,
) {
    let store = Arc::clone(&dispatcher.store);
    let mut runs: JoinSet<(i64, Option<RunEnd>)> = JoinSet::new();
    // The update each run task sends, found again by task id when the task panicked.
    let mut running: HashMap<tokio::task::Id, i64> = HashMap::new();
    loop {
        while let Some(done) = runs.try_join_next_with_id() {
            run_ended(&dispatcher, &mut running, done).await;
        }
        match store.updates().await {
            Ok(updates) => {
                for mut update in updates {
                    let due = update.state == UpdateState::Approved
                        && update.paused.is_none()
                        && update
                            .send_at_ms
                            .is_some_and(|at| at <= dispatcher.clock.now_ms());
                    let launched = match (&launch, due) {
                        (Some(launch), true) => match launch.launch(update.id).await {
                            Ok(()) => true,
                            Err(error) => {
                                refused_start(store.as_ref(), &dispatcher, update.id, &*error)
                                    .await;
                                false
                            }
                        },
                        _ => false,
                    };
                    let sent = launched
                        || matches!(update.state, UpdateState::Sending | UpdateState::Sent);
                    // A running dispatcher sweeps between its own steps; a paused update
                    // waits for a person to fix what stopped it.
                    if !sent
                        || update.paused.is_some()
                        || running.values().any(|&id| id == update.id)
                    {
                        continue;
                    }
                    let fallbacks = match &dispatcher.sweep {
                        Some(sweep) => sweep.sweep(update.id).await.unwrap_or_else(|error| {
                            tracing::error!(message = "fallback sweep failed", id = update.id, %error);
                            0
                        }),
                        None => 0,
                    };
                    let moment = Moment::RunStarts {
                        state: update.state,
                        fallbacks,
                    };
                    let now = dispatcher.clock.now_ms();
                    match lifecycle::advance(store.as_ref(), update.id, moment, now).await {
                        Ok(Some(state)) => update.state = state,
                        Ok(None) => {}
                        Err(error) => {
                            tracing::error!(message = "cannot mark the update sending", id = update.id, %error);
                        }
                    }
                    if update.state != UpdateState::Sending {
                        continue;
                    }
                    let open = match store.backlog(update.id).await {
                        Ok(backlog) => backlog.open,
                        Err(error) => {
                            tracing::error!(message = "backlog unreadable", id = update.id, %error);
                            continue;
                        }
                    };
                    if open == 0 {
                        continue;
                    }
                    let dispatcher = Arc::clone(&dispatcher);
                    let task = runs.spawn(async move {
                        let result = dispatcher.run(update.id).await;
                        match &result {
                            Ok(_) => {}
                            Err(DispatchError::Stopping) => {
                                tracing::info!(message = "dispatcher run stopped", id = update.id)
                            }
                            Err(error) => {
                                tracing::error!(message = "dispatcher run failed", id = update.id, %error)
                            }
                        }
                        (update.id, result.ok())
                    });
                    running.insert(task.id(), update.id);
                }
            }
            Err(error) => tracing::error!(message = "updates unreadable", %error),
        }
        tokio::select! {
            _ = tokio::time::sleep(TICK) => {}
            // A run that ends marks its update sent at once, and starts the next round early.
            Some(done) = runs.join_next_with_id(), if !runs.is_empty() => {
                run_ended(&dispatcher, &mut running, done).await;
            }
            _ = stopped.changed() => break,
        }
    }
    dispatcher.stop();
    while let Some(done) = runs.join_next_with_id().await {
        run_ended(&dispatcher, &mut running, done).await;
    }
}

/// Records why a scheduled update could not start, for its page and `tocsin status`; the
/// scheduler tries again at every look, and logs a reason once, not every few seconds.
async fn refused_start(
    store: &dyn crate::store::Store,
    dispatcher: &Dispatcher,
    id: i64,
    error: &(dyn std::error::Error + Send + Sync),
) {
    let reason = error.to_string();
    match store
        .refuse_start(id, &reason, dispatcher.clock.now_ms())
        .await
    {
        Ok(true) => tracing::error!(message = "scheduled update not started", id, %error),
        Ok(false) => tracing::debug!(message = "scheduled update still not started", id, %error),
        Err(unrecorded) => {
            tracing::error!(message = "scheduled update not started", id, %error, %unrecorded)
        }
    }
}

/// Forgets a run that ended, and moves its update along (`sent`, or paused with the reason).
/// A run that panicked is forgotten too, so that the next tick runs its update again.
async fn run_ended(
    dispatcher: &Dispatcher,
    running: &mut HashMap<tokio::task::Id, i64>,
    done: Result<(tokio::task::Id, (i64, Option<RunEnd>)), tokio::task::JoinError>,
) {
    let (id, end) = match done {
        Ok((task, (id, end))) => {
            running.remove(&task);
            (id, end)
        }
        Err(error) => {
            if let Some(id) = running.remove(&error.id()) {
                tracing::error!(message = "dispatcher run ended abnormally", id, %error);
            }
            return;
        }
    };
    if let Some(end) = end {
        if let RunEnd::Stopped(channels) = &end {
            tracing::error!(message = "run stopped with deliveries held", id, ?channels);
        }
        let now = dispatcher.clock.now_ms();
        let moment = Moment::RunEnded(&end);
        if let Err(error) = lifecycle::advance(dispatcher.store.as_ref(), id, moment, now).await {
            tracing::error!(message = "cannot settle the update after its run", id, %error);
        }
    }
}
