//! Starting a new update file: from an incident playbook, or from the update before it. The
//! CLI's `update new` and the console's compose page call these; `crate::playbooks` makes the
//! text, this reads what it needs of the store and the clock.

use super::{App, AppError, Refusal};
use crate::domain::{Update, UpdateState};
use crate::playbooks::{follow_up, playbook};
use chrono::DateTime;

impl App {
    /// The playbook `key`'s file, opening an incident named for this month in the hospital's
    /// time zone (`cyberattack-2026-12`); when an incident of that name exists already, the
    /// first free `-2`, `-3`… after it, so that the new alert does not join it.
    pub async fn playbook_file(&self, key: &str) -> Result<String, AppError> {
        let playbook = playbook(key)?;
        let tz = self.config.hospital.tz().map_err(AppError::Config)?;
        let today = DateTime::from_timestamp_millis(self.clock.now_ms())
            .ok_or_else(|| AppError::Config("the clock is out of range".into()))?
            .with_timezone(&tz)
            .date_naive();
        let base = playbook.incident(today);
        let taken: Vec<String> = self
            .store
            .updates()
            .await?
            .into_iter()
            .map(|update| update.incident_id)
            .collect();
        let incident = std::iter::once(base.clone())
            .chain((2..).map(|n| format!("{base}-{n}")))
            .find(|name| !taken.contains(name))
            .unwrap_or(base);
        Ok(playbook.file(&incident))
    }

    /// A new update file following update `id`: its audiences, channels and texts, `follows`
    /// its id (`crate::playbooks::follow_up`).
    pub async fn follow_up_file(&self, id: i64) -> Result<String, AppError> {
        Ok(follow_up(&self.store.update(id).await?))
    }

    /// The latest update of `incident` that was not discarded: what its next update follows.
    pub async fn latest_update(&self, incident: &str) -> Result<Update, AppError> {
        let updates = self.store.updates().await?;
        let known = updates.iter().any(|update| update.incident_id == incident);
        updates
            .into_iter()
            .filter(|update| update.incident_id == incident)
            .filter(|update| update.state != UpdateState::Discarded)
            .max_by_key(|update| update.id)
            .ok_or_else(|| {
                let incident = incident.to_string();
                if known {
                    Refusal::IncidentDiscarded { incident }.into()
                } else {
                    Refusal::NoIncident { incident }.into()
                }
            })
    }
}
