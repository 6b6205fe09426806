//! What the crisis cell watches while an update goes out, as operations: the counts the
//! console's dashboard polls, the unreached list as the call centre's CSV, and the fallback
//! sent now at a person's request. The CLI (`status`, `export unreached`, `update fallback`)
//! and the console call the same ones.

use super::{Actor, App, AppError, Refusal};
use crate::dispatch::lifecycle::{self, Moment};
use crate::domain::UpdateState;
use crate::report::{Progress, UnreachedFilter};
use crate::spreadsheet::Separator;
use crate::store::ProgressMark;

impl App {
    /// The counts of `status` without the unreached list: what the dashboard polls.
    pub async fn progress(&self, update_id: i64) -> Result<Progress, AppError> {
        Ok(crate::report::progress(self.store.as_ref(), update_id).await?)
    }

    /// Whether the counts of `progress` may have changed since another mark was read: a few
    /// index lookups, where the counts group every delivery.
    pub async fn progress_mark(&self, update_id: i64) -> Result<ProgressMark, AppError> {
        Ok(self.store.progress_mark(update_id).await?)
    }

    /// The unreached contacts `filter` takes, as the call centre's CSV (`tocsin export
    /// unreached`); returns how many were written. A download from the console is in the
    /// audit log: the list holds patients' phone numbers.
    pub async fn unreached_csv(
        &self,
        update_id: i64,
        filter: &UnreachedFilter,
        separator: Separator,
        out: impl std::io::Write,
        actor: &Actor,
    ) -> Result<u64, AppError> {
        let report = self.status(update_id).await?;
        let chosen: Vec<_> = report
            .unreached
            .into_iter()
            .filter(|contact| filter.takes(contact))
            .collect();
        crate::report::unreached_csv(&chosen, out, separator)
            .map_err(|e| AppError::Refused(format!("cannot write the unreached list: {e}")))?;
        let written = chosen.len() as u64;
        self.audit(
            actor,
            "unreached.export",
            Some(&update_id.to_string()),
            Some(format!("{written} contacts")),
        )
        .await?;
        Ok(written)
    }

    /// "Send the fallback to the unreached now": the fallback sweep of `tocsin serve`, with
    /// an SMS still without a receipt not waiting for `fallback_after_minutes`
    /// (`Fallback::sweep_now`). A sent update is being sent again for them: `serve`'s next
    /// tick (or `update send`) sends them. Refused before the update is sent, and after a
    /// halt (a person stopped it). Returns how many it planned (skipped ones included).
    pub async fn fallback_now(&self, update_id: i64, actor: &Actor) -> Result<u64, AppError> {
        let update = self.store.update(update_id).await?;
        if !matches!(update.state, UpdateState::Sending | UpdateState::Sent) {
            return Err(Refusal::FallbackNotSent {
                id: update_id,
                state: update.state,
            }
            .into());
        }
        if let Some(reason) = &update.paused {
            return Err(Refusal::FallbackPaused {
                id: update_id,
                reason: reason.clone(),
            }
            .into());
        }
        let planned = self.fallback().sweep_now(&update).await?;
        let moment = Moment::RunStarts {
            state: update.state,
            fallbacks: planned,
        };
        lifecycle::advance(self.store.as_ref(), update_id, moment, self.clock.now_ms()).await?;
        self.audit(
            actor,
            "update.fallback",
            Some(&update_id.to_string()),
            Some(format!("{planned} deliveries planned")),
        )
        .await?;
        Ok(planned)
    }
}
