//! Group commit: one task writes, in one transaction, whatever arrived while its previous
//! transaction ran. A burst costs a few transactions instead of one each, and concurrent
//! writers do not queue on SQLite's write lock. The dispatcher's outcomes
//! (`dispatch::Recorder`) and the receipts of `tocsin serve` (`web::writer`) are written so.

use std::future::Future;
use std::ops::ControlFlow;
use tokio::sync::mpsc;
use tokio::task::JoinHandle;

/// What one group-commit task does with each batch.
pub trait Commit: Send + 'static {
    type Request: Send + 'static;
    /// What ends the task before its senders are all gone.
    type Stop: Send + 'static;

    /// Writes one batch of requests, in the order they arrived; `Break` ends the task.
    fn commit(
        &mut self,
        batch: &mut Vec<Self::Request>,
    ) -> impl Future<Output = ControlFlow<Self::Stop>> + Send;
}

/// Starts the task on the current Tokio runtime, taking at most `max_batch` requests a
/// batch from a queue of `queue` requests. It ends when every sender is dropped (after
/// writing what was queued), or with what `commit` stopped it with.
pub fn start<C: Commit>(
    committer: C,
    max_batch: usize,
    queue: usize,
) -> (mpsc::Sender<C::Request>, JoinHandle<Option<C::Stop>>) {
    let (sender, receiver) = mpsc::channel(queue);
    (sender, tokio::spawn(run(committer, receiver, max_batch)))
}

async fn run<C: Commit>(
    mut committer: C,
    mut receiver: mpsc::Receiver<C::Request>,
    max_batch: usize,
) -> Option<C::Stop> {
    let mut batch = Vec::with_capacity(max_batch);
    while receiver.recv_many(&mut batch, max_batch).await > 0 {
        if let ControlFlow::Break(stop) = committer.commit(&mut batch).await {
            return Some(stop);
        }
        batch.clear();
    }
    None
}
