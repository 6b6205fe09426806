//! The update's life cycle while it is sent, decided in one place for `update send` and
//! `tocsin serve` alike.

use super::RunEnd;
use crate::domain::UpdateState;
use crate::store::prelude::*;
use crate::store::StoreError;

/// A moment of the sending that may move the update along its life cycle.
#[derive(Debug, Clone, Copy)]
pub enum Moment<'a> {
    /// A run is about to start for an update in `state`, for which the fallback sweep has
    /// just planned `fallbacks` deliveries.
    RunStarts { state: UpdateState, fallbacks: u64 },
    /// A run ended so.
    RunEnded(&'a RunEnd),
}

/// Moves the update along: approved → `sending` when its first run starts; `sent` →
/// `sending` again when a sweep planned fallbacks for it; after a run, finished → `sent`,
/// stopped → paused with each stopped channel's reason (so that `serve` leaves it to a
/// person), halted or paused by a person → as they left it. Returns the state it asked the
/// store for, if any (the store leaves a halted or discarded update as it is in any case).
pub async fn advance(
    store: &dyn Store,
    update_id: i64,
    moment: Moment<'_>,
    at_ms: i64,
) -> Result<Option<UpdateState>, StoreError> {
    let state = match moment {
        Moment::RunStarts {
            state: UpdateState::Approved,
            ..
        }
        | Moment::RunStarts {
            state: UpdateState::Sent,
            fallbacks: 1..,
        } => UpdateState::Sending,
        Moment::RunStarts { .. }
        | Moment::RunEnded(RunEnd::Halted)
        | Moment::RunEnded(RunEnd::Paused) => return Ok(None),
        Moment::RunEnded(RunEnd::Finished) => UpdateState::Sent,
        Moment::RunEnded(RunEnd::Stopped(channels)) => {
            let reasons: Vec<String> = channels
                .iter()
                .map(|(channel, reason)| format!("{channel}: {reason}"))
                .collect();
            store
                .pause_update(update_id, &reasons.join("; "), at_ms)
                .await?;
            return Ok(None);
        }
    };
    store.set_update_state(update_id, state).await?;
    Ok(Some(state))
}
