//! One task writes every outcome: whatever arrived while the previous commit ran goes into
//! the next one (group commit), so a broadcast costs a few thousand transactions, not one
//! per message, and a waiting handover is never held up longer than one commit.

use crate::channels::Release;
use crate::store::{Store, StoreError, Transition};
use std::sync::Arc;
use tokio::sync::{mpsc, oneshot};

/// Outcomes a commit takes at most.
const MAX_BATCH: usize = 2_000;

enum Request {
    Record {
        transition: Transition,
        applied: Option<oneshot::Sender<bool>>,
        release: Option<Release>,
    },
    Flush(oneshot::Sender<()>),
    Close,
}

type RecorderTask = tokio::task::JoinHandle<Result<(), StoreError>>;

#[derive(Clone)]
pub struct Recorder {
    requests: mpsc::Sender<Request>,
    task: Arc<tokio::sync::Mutex<Option<RecorderTask>>>,
}

impl Recorder {
    pub fn start(store: Arc<dyn Store>) -> Recorder {
        let (requests, receiver) = mpsc::channel(MAX_BATCH * 4);
        let task = tokio::spawn(run(store, receiver));
        Recorder {
            requests,
            task: Arc::new(tokio::sync::Mutex::new(Some(task))),
        }
    }

    /// Records a transition and waits until it is committed; false if it did not apply or
    /// could not be written. `release` runs right after the commit if it applied, before any
    /// waiting task is answered.
    pub async fn record_now(&self, transition: Transition, release: Release) -> bool {
        let (applied, answer) = oneshot::channel();
        let request = Request::Record {
            transition,
            applied: Some(applied),
            release: Some(release),
        };
        if self.requests.send(request).await.is_err() {
            return false;
        }
        answer.await.unwrap_or(false)
    }

    /// Queues a transition for the next commit.
    pub async fn record_later(&self, transition: Transition) {
        let request = Request::Record {
            transition,
            applied: None,
            release: None,
        };
        if self.requests.send(request).await.is_err() {
            tracing::error!(message = "recorder stopped; the outcome is left to the lease");
        }
    }

    /// Waits until everything queued so far is committed.
    pub async fn flush(&self) -> Result<(), StoreError> {
        let (done, answer) = oneshot::channel();
        if self.requests.send(Request::Flush(done)).await.is_ok() && answer.await.is_ok() {
            return Ok(());
        }
        self.close().await
    }

    /// Commits what is queued and stops; returns the error that stopped it, if any.
    pub async fn close(&self) -> Result<(), StoreError> {
        let Some(task) = self.task.lock().await.take() else {
            return Ok(());
        };
        let _ = self.requests.send(Request::Close).await;
        task.await.unwrap_or(Ok(()))
    }
}

async fn run(
    store: Arc<dyn Store>,
    mut receiver: mpsc::Receiver<Request>,
) -> Result<(), StoreError> {
    let mut batch = Vec::with_capacity(MAX_BATCH);
    let mut answers = Vec::with_capacity(MAX_BATCH);
    let mut releases = Vec::with_capacity(MAX_BATCH);
    let mut flushes = Vec::new();
    let mut closing = false;
    while let Some(first) = receiver.recv().await {
        let mut next = Some(first);
        while let Some(request) = next.take() {
            match request {
                Request::Record {
                    transition,
                    applied,
                    release,
                } => {
                    // The state machine is the last word: a move it forbids is a bug upstream,
                    // and is logged rather than written.
                    if transition.allowed() {
                        batch.push(transition);
                        answers.push(applied);
                        releases.push(release);
                    } else {
                        tracing::error!(
                            message = "refused a transition the state machine forbids",
                            delivery = transition.delivery_id,
                            from = %transition.from,
                            to = %transition.to
                        );
                        if let Some(applied) = applied {
                            let _ = applied.send(false);
                        }
                    }
                }
                Request::Flush(done) => flushes.push(done),
                Request::Close => closing = true,
            }
            if batch.len() < MAX_BATCH {
                next = receiver.try_recv().ok();
            }
        }
        if !batch.is_empty() {
            let applied = store.record(&batch).await;
            let applied = match applied {
                Ok(applied) => applied,
                Err(error) => {
                    tracing::error!(message = "cannot record outcomes", %error, count = batch.len());
                    for answer in answers.drain(..).flatten() {
                        let _ = answer.send(false);
                    }
                    releases.clear();
                    return Err(error);
                }
            };
            // Handovers first: the gap between their record and their act is the one a
            // crash could fall into.
            for (release, applied) in releases.drain(..).zip(&applied) {
                if let (Some(release), true) = (release, applied) {
                    release();
                }
            }
            for (answer, applied) in answers.drain(..).zip(applied) {
                if let Some(answer) = answer {
                    let _ = answer.send(applied);
                }
            }
            batch.clear();
        }
        for done in flushes.drain(..) {
            let _ = done.send(());
        }
        if closing {
            break;
        }
    }
    Ok(())
}
