//! One task writes every outcome, in group commits (`crate::group_commit`): a broadcast
//! costs a few thousand transactions, not one per message, and a waiting handover is never
//! held up longer than one commit.

use crate::channels::Release;
use crate::group_commit::{self, Commit};
use crate::store::prelude::*;
use crate::store::{StoreError, Transition};
use std::ops::ControlFlow;
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

type RecorderTask = tokio::task::JoinHandle<Option<Result<(), StoreError>>>;

#[derive(Clone)]
pub struct Recorder {
    requests: mpsc::Sender<Request>,
    task: Arc<tokio::sync::Mutex<Option<RecorderTask>>>,
}

impl Recorder {
    pub fn start(store: Arc<dyn Store>) -> Recorder {
        let committer = Committer {
            store,
            transitions: Vec::with_capacity(MAX_BATCH),
            answers: Vec::with_capacity(MAX_BATCH),
            releases: Vec::with_capacity(MAX_BATCH),
            flushes: Vec::new(),
        };
        let (requests, task) = group_commit::start(committer, MAX_BATCH, MAX_BATCH * 4);
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
        task.await.ok().flatten().unwrap_or(Ok(()))
    }
}

/// The recorder's side of the group commit.
struct Committer {
    store: Arc<dyn Store>,
    transitions: Vec<Transition>,
    answers: Vec<Option<oneshot::Sender<bool>>>,
    releases: Vec<Option<Release>>,
    flushes: Vec<oneshot::Sender<()>>,
}

impl Commit for Committer {
    type Request = Request;
    type Stop = Result<(), StoreError>;

    async fn commit(&mut self, batch: &mut Vec<Request>) -> ControlFlow<Self::Stop> {
        let mut closing = false;
        for request in batch.drain(..) {
            match request {
                Request::Record {
                    transition,
                    applied,
                    release,
                } => {
                    // The store refuses (applied: false) a move the state machine forbids.
                    self.transitions.push(transition);
                    self.answers.push(applied);
                    self.releases.push(release);
                }
                Request::Flush(done) => self.flushes.push(done),
                Request::Close => closing = true,
            }
        }
        if !self.transitions.is_empty() {
            let applied = match self.store.record(&self.transitions).await {
                Ok(applied) => applied,
                Err(error) => {
                    tracing::error!(message = "cannot record outcomes", %error, count = self.transitions.len());
                    for answer in self.answers.drain(..).flatten() {
                        let _ = answer.send(false);
                    }
                    self.releases.clear();
                    return ControlFlow::Break(Err(error));
                }
            };
            // Handovers first: the gap between their record and their act is the one a
            // crash could fall into.
            for (release, applied) in self.releases.drain(..).zip(&applied) {
                if let (Some(release), true) = (release, applied) {
                    release();
                }
            }
            for (answer, applied) in self.answers.drain(..).zip(applied) {
                if let Some(answer) = answer {
                    let _ = answer.send(applied);
                }
            }
            self.transitions.clear();
        }
        for done in self.flushes.drain(..) {
            let _ = done.send(());
        }
        if closing {
            return ControlFlow::Break(Ok(()));
        }
        ControlFlow::Continue(())
    }
}
