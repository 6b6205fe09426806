//! `tocsin worker`: the dispatch loop of `tocsin serve` without its HTTP side or the Telegram
//! bot's conversations. It keeps nothing of its own: any number of workers, on any number of
//! machines, and `serve` instances share one database, and the leases of their claims split
//! the work between them.

use super::{App, AppError};
use crate::dispatch::{scheduler, Tally};
use std::future::Future;
use std::sync::Arc;

impl App {
    /// Sends the updates being sent (and starts the scheduled ones) until `shutdown`
    /// completes, then stops gracefully: nothing more is claimed, what was claimed and not
    /// begun is given back for the other workers, and the sends in flight finish and are
    /// recorded before this returns. Returns what this process did, for its last words.
    pub async fn work(
        self,
        shutdown: impl Future<Output = ()> + Send + 'static,
    ) -> Result<Arc<Tally>, AppError> {
        self.refuse_placeholders("run tocsin worker")?;
        let dispatcher = Arc::new(self.dispatcher()?);
        let tally = dispatcher.tally();
        let app = Arc::new(self);
        let launch: Arc<dyn scheduler::Launch> = Arc::clone(&app) as _;
        let (stop, stopped) = tokio::sync::watch::channel(false);
        let dispatching = tokio::spawn(scheduler::run(dispatcher, Some(launch), stopped));
        tracing::info!(message = "tocsin worker started");
        shutdown.await;
        tracing::info!(message = "tocsin worker stopping: the sends in flight finish");
        let _ = stop.send(true);
        if let Err(error) = dispatching.await {
            tracing::error!(message = "the dispatch loop ended abnormally", %error);
        }
        tracing::info!(
            message = "tocsin worker stopped",
            sent = tally.sent.load(std::sync::atomic::Ordering::Relaxed),
            finished = tally.finished()
        );
        Ok(tally)
    }
}
