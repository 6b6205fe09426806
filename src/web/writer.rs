//! One task writes every receipt `tocsin serve` receives, in group commits
//! (`crate::group_commit`): a burst of receipts costs a few transactions instead of one each.
//! Each request is answered only after the transaction holding its receipt has committed: a
//! gateway is never told 200 for a receipt a crash could still lose.

use crate::group_commit::{self, Commit};
use crate::store::prelude::*;
use crate::store::{Receipt, ReceiptEffect};
use std::convert::Infallible;
use std::ops::ControlFlow;
use std::sync::Arc;
use tokio::sync::{mpsc, oneshot};

/// Receipts a transaction takes at most: enough for every connection a busy gateway opens,
/// small enough that the first request of a batch does not wait long for the last.
const MAX_BATCH: usize = 1_000;

struct Request {
    receipt: Receipt,
    /// The receipt's effect once committed; `None` when it could not be stored.
    answer: oneshot::Sender<Option<ReceiptEffect>>,
}

#[derive(Clone)]
pub(super) struct ReceiptWriter {
    requests: mpsc::Sender<Request>,
}

impl ReceiptWriter {
    /// Starts the writing task (on the current Tokio runtime); it ends when the last
    /// `ReceiptWriter` is dropped, after writing what was queued.
    pub(super) fn start(store: Arc<dyn Store>) -> ReceiptWriter {
        let (requests, _task) = group_commit::start(Committer { store }, MAX_BATCH, MAX_BATCH * 2);
        ReceiptWriter { requests }
    }

    /// Stores and applies a receipt, and waits until that is committed. `None`: it could
    /// not be stored (the error is logged), and the gateway should send it again.
    pub(super) async fn record(&self, receipt: Receipt) -> Option<ReceiptEffect> {
        let (answer, effect) = oneshot::channel();
        self.requests.send(Request { receipt, answer }).await.ok()?;
        effect.await.ok().flatten()
    }
}

struct Committer {
    store: Arc<dyn Store>,
}

impl Commit for Committer {
    type Request = Request;
    type Stop = Infallible;

    async fn commit(&mut self, batch: &mut Vec<Request>) -> ControlFlow<Infallible> {
        let store = &self.store;
        let (receipts, answers): (Vec<Receipt>, Vec<_>) = batch
            .drain(..)
            .map(|request| (request.receipt, request.answer))
            .unzip();
        match store.record_receipts(&receipts).await {
            Ok(effects) => {
                for ((receipt, answer), effect) in receipts.iter().zip(answers).zip(effects) {
                    log(receipt, effect);
                    let _ = answer.send(Some(effect));
                }
            }
            // One receipt the database refuses must not cost the others their answer:
            // alone, each one succeeds or fails on its own.
            Err(error) if receipts.len() > 1 => {
                tracing::warn!(message = "a batch of receipts failed; writing them one by one", %error, count = receipts.len());
                for (receipt, answer) in receipts.iter().zip(answers) {
                    let effect = match store.record_receipts(std::slice::from_ref(receipt)).await {
                        Ok(effects) => effects.first().copied(),
                        Err(error) => {
                            tracing::error!(message = "receipt not recorded", gateway = receipt.gateway, delivery = ?receipt.delivery_id, %error);
                            None
                        }
                    };
                    if let Some(effect) = effect {
                        log(receipt, effect);
                    }
                    let _ = answer.send(effect);
                }
            }
            Err(error) => {
                tracing::error!(message = "receipt not recorded", %error);
                for answer in answers {
                    let _ = answer.send(None);
                }
            }
        }
        ControlFlow::Continue(())
    }
}

fn log(receipt: &Receipt, effect: ReceiptEffect) {
    if effect != ReceiptEffect::Unknown {
        tracing::info!(message = "receipt", gateway = receipt.gateway, delivery = ?receipt.delivery_id, status = receipt.status, ?effect);
    }
}
