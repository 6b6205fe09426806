//! Updates on PostgreSQL, from draft to halt: the rows are read as on SQLite
//! (`store::rows::update_from_row`); what a person does to one once it exists is in
//! `control`.

use super::control;
use super::PostgresStore;
use crate::domain::{
    Certainty, Language, NewUpdate, PublicReference, ResponseType, Severity, Update, UpdateState,
    UpdateText, Urgency,
};
use crate::store::rows::{
    audiences_column, channels_column, update_from_row, update_text_from_row,
};
use crate::store::{
    Result, RetryFilter, Review, StartRefusal, StoreError, UpdateEvent, UpdateStore, Verdict,
};
use async_trait::async_trait;
use sqlx::postgres::PgRow;
use sqlx::Row;
use std::collections::HashMap;

impl PostgresStore {
    /// The updates of `rows`, their texts read in one query.
    async fn updates_from_rows(&self, rows: &[PgRow]) -> Result<Vec<Update>> {
        let ids = rows
            .iter()
            .map(|row| row.try_get("id"))
            .collect::<Result<Vec<i64>, _>>()?;
        let mut texts: HashMap<i64, HashMap<Language, UpdateText>> = HashMap::new();
        for row in sqlx::query(
            "SELECT update_id, language, title, body, sms FROM update_texts \
             WHERE update_id = ANY($1)",
        )
        .bind(&ids)
        .fetch_all(self.pool())
        .await?
        {
            let (language, text) = update_text_from_row(&row)?;
            texts
                .entry(row.try_get("update_id")?)
                .or_default()
                .insert(language, text);
        }
        rows.iter()
            .zip(ids)
            .map(|(row, id)| update_from_row(row, texts.remove(&id).unwrap_or_default()))
            .collect()
    }
}

#[async_trait]
impl UpdateStore for PostgresStore {
    async fn insert_update(
        &self,
        update: &NewUpdate,
        reference: &PublicReference,
        at_ms: i64,
    ) -> Result<i64> {
        let mut tx = self.pool().begin().await?;
        // Two first updates of one incident at once: the second waits for the first's row
        // and keeps it.
        sqlx::query(
            "INSERT INTO incidents (id, title, opened_at) VALUES ($1, $2, $3) \
             ON CONFLICT (id) DO NOTHING",
        )
        .bind(&update.incident_id)
        .bind(&update.incident_title)
        .bind(at_ms)
        .execute(&mut *tx)
        .await?;
        let id: i64 = sqlx::query_scalar(
            "INSERT INTO updates (reference, incident_id, kind, follows, audiences, channels, \
             appointments, state, author, created_at, cap_urgency, cap_severity, \
             cap_certainty, cap_response_type) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, 'draft', $8, $9, $10, $11, $12, $13) \
             RETURNING id",
        )
        .bind(reference.as_str())
        .bind(&update.incident_id)
        .bind(update.kind.as_str())
        .bind(update.follows)
        .bind(audiences_column(&update.audiences)?)
        .bind(channels_column(&update.channels))
        .bind(update.appointments.as_str())
        .bind(&update.author)
        .bind(at_ms)
        .bind(update.cap.urgency.map(Urgency::as_str))
        .bind(update.cap.severity.map(Severity::as_str))
        .bind(update.cap.certainty.map(Certainty::as_str))
        .bind(update.cap.response_type.map(ResponseType::as_str))
        .fetch_one(&mut *tx)
        .await?;
        let texts = [
            (Language::Nl, &update.nl),
            (Language::Fr, &update.fr),
            (Language::En, &update.en),
        ];
        let column = |field: fn(&UpdateText) -> &str| -> Vec<String> {
            texts
                .iter()
                .map(|(_, text)| field(text).to_string())
                .collect()
        };
        sqlx::query(
            "INSERT INTO update_texts (update_id, language, title, body, sms) \
             SELECT $1, * FROM UNNEST($2::text[], $3::text[], $4::text[], $5::text[])",
        )
        .bind(id)
        .bind(
            texts
                .iter()
                .map(|(language, _)| language.code())
                .collect::<Vec<_>>(),
        )
        .bind(column(|text| &text.title))
        .bind(column(|text| &text.body))
        .bind(column(|text| &text.sms))
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(id)
    }

    async fn update(&self, id: i64) -> Result<Update> {
        let row = sqlx::query("SELECT * FROM updates WHERE id = $1")
            .bind(id)
            .fetch_optional(self.pool())
            .await?;
        self.updates_from_rows(row.as_slice())
            .await?
            .into_iter()
            .next()
            .ok_or_else(|| StoreError::NotFound(format!("update {id}")))
    }

    async fn updates(&self) -> Result<Vec<Update>> {
        let rows = sqlx::query("SELECT * FROM updates ORDER BY id")
            .fetch_all(self.pool())
            .await?;
        self.updates_from_rows(&rows).await
    }

    async fn published_updates(&self) -> Result<Vec<Update>> {
        // DESC puts NULLs first in PostgreSQL, last in SQLite; a released update always has
        // `approved_at`, but the order stays SQLite's whatever the data.
        let rows = sqlx::query(
            "SELECT * FROM updates WHERE state IN ('approved', 'sending', 'sent', 'halted') \
             ORDER BY approved_at DESC NULLS LAST, id DESC",
        )
        .fetch_all(self.pool())
        .await?;
        self.updates_from_rows(&rows).await
    }

    async fn update_by_reference(&self, reference: &PublicReference) -> Result<Option<Update>> {
        let row = sqlx::query("SELECT * FROM updates WHERE reference = $1")
            .bind(reference.as_str())
            .fetch_optional(self.pool())
            .await?;
        Ok(self
            .updates_from_rows(row.as_slice())
            .await?
            .into_iter()
            .next())
    }

    async fn approve_update(&self, id: i64, by: &str, at_ms: i64) -> Result<()> {
        let mut tx = self.pool().begin().await?;
        // Two approvers at once: the second waits for the row, rechecks, finds no draft.
        let done = sqlx::query(
            "UPDATE updates SET state = 'approved', approved_by = $1, approved_at = $2 \
             WHERE id = $3 AND state = 'draft'",
        )
        .bind(by)
        .bind(at_ms)
        .bind(id)
        .execute(&mut *tx)
        .await?;
        if done.rows_affected() == 0 {
            return Err(StoreError::NotFound(format!("draft update {id}")));
        }
        control::log(&mut tx, id, at_ms, "approved", Some(by), None).await?;
        control::review(&mut tx, id, at_ms, by, Verdict::Approved, None).await?;
        tx.commit().await?;
        Ok(())
    }

    async fn set_update_state(&self, id: i64, state: UpdateState) -> Result<()> {
        // A halted or discarded update stays so, whatever a run that ended meanwhile says:
        // the condition is rechecked on the row a halt committed.
        sqlx::query(
            "UPDATE updates SET state = $1 WHERE id = $2 \
             AND state NOT IN ('halted', 'discarded')",
        )
        .bind(state.as_str())
        .bind(id)
        .execute(self.pool())
        .await?;
        Ok(())
    }

    async fn update_state(&self, id: i64) -> Result<UpdateState> {
        let state: String = sqlx::query_scalar("SELECT state FROM updates WHERE id = $1")
            .bind(id)
            .fetch_optional(self.pool())
            .await?
            .ok_or_else(|| StoreError::NotFound(format!("update {id}")))?;
        state.parse().map_err(StoreError::Corrupt)
    }

    async fn update_paused(&self, id: i64) -> Result<Option<String>> {
        sqlx::query_scalar("SELECT paused_reason FROM updates WHERE id = $1")
            .bind(id)
            .fetch_optional(self.pool())
            .await?
            .ok_or_else(|| StoreError::NotFound(format!("update {id}")))
    }

    async fn halt_update(&self, id: i64, by: &str, at_ms: i64) -> Result<u64> {
        control::halt_update(self, id, by, at_ms).await
    }

    async fn discard_update(&self, id: i64, by: &str, at_ms: i64) -> Result<()> {
        control::discard_update(self, id, by, at_ms).await
    }

    async fn revoke_approval(&self, id: i64, by: &str, at_ms: i64) -> Result<()> {
        control::revoke_approval(self, id, by, at_ms).await
    }

    async fn pause_update(&self, id: i64, reason: &str, at_ms: i64) -> Result<()> {
        control::pause_update(self, id, reason, at_ms).await
    }

    async fn resume_update(&self, id: i64, at_ms: i64) -> Result<u64> {
        control::resume_update(self, id, at_ms).await
    }

    async fn retry_deliveries(
        &self,
        id: i64,
        filter: &RetryFilter,
        by: &str,
        at_ms: i64,
    ) -> Result<u64> {
        control::retry_deliveries(self, id, filter, by, at_ms).await
    }

    async fn update_events(&self, id: i64) -> Result<Vec<UpdateEvent>> {
        control::update_events(self, id).await
    }

    async fn return_update(&self, id: i64, by: &str, comment: &str, at_ms: i64) -> Result<()> {
        control::return_update(self, id, by, comment, at_ms).await
    }

    async fn reviews(&self, id: i64) -> Result<Vec<Review>> {
        control::reviews(self, Some(id)).await
    }

    async fn last_reviews(&self) -> Result<Vec<Review>> {
        control::reviews(self, None).await
    }

    async fn schedule_update(
        &self,
        id: i64,
        send_at_ms: i64,
        by: &str,
        detail: &str,
        at_ms: i64,
    ) -> Result<()> {
        control::schedule_update(self, id, send_at_ms, by, detail, at_ms).await
    }

    async fn hold_update(&self, id: i64, by: &str, at_ms: i64) -> Result<u64> {
        control::hold_update(self, id, by, at_ms).await
    }

    async fn planned_at(&self, id: i64) -> Result<Option<i64>> {
        Ok(
            sqlx::query_scalar("SELECT planned_at FROM updates WHERE id = $1")
                .bind(id)
                .fetch_optional(self.pool())
                .await?
                .flatten(),
        )
    }

    async fn refuse_start(&self, id: i64, reason: &str, at_ms: i64) -> Result<bool> {
        control::refuse_start(self, id, reason, at_ms).await
    }

    async fn start_refusal(&self, id: i64) -> Result<Option<StartRefusal>> {
        control::start_refusal(self, id).await
    }
}

#[cfg(test)]
mod tests {
    use super::super::testing;
    use super::*;
    use crate::domain::{
        AppointmentOutcome, AudienceSpec, CapFields, ChannelKind, UpdateKind, Urgency,
    };
    use std::sync::Arc;

    fn new_update(note: &str) -> NewUpdate {
        let text = |language: &str| UpdateText {
            title: format!("IT outage ({language})"),
            body: format!("The hospital's IT is down ({language}, {note})."),
            sms: format!("AZT: IT down ({language})"),
        };
        NewUpdate {
            incident_id: "2026-01-13-it".into(),
            incident_title: "IT outage".into(),
            kind: UpdateKind::Alert,
            follows: None,
            audiences: vec![AudienceSpec::Media, AudienceSpec::AllGps],
            channels: vec![ChannelKind::Email, ChannelKind::Telegram],
            appointments: AppointmentOutcome::Cancelled,
            author: "Author One".into(),
            cap: CapFields {
                urgency: Some(Urgency::Immediate),
                ..CapFields::default()
            },
            nl: text("nl"),
            fr: text("fr"),
            en: text("en"),
        }
    }

    fn reference(draw: u8) -> PublicReference {
        let date = chrono::NaiveDate::from_ymd_opt(2026, 1, 13).expect("date");
        PublicReference::new("AZT", date, [draw, 1, 2, 3])
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn updates_read_back_as_written_and_one_of_two_approvals_wins() {
        let Some(store) = testing::store("updates_round_trip").await else {
            return;
        };
        let first = new_update("first");
        let second = new_update("second");
        let first_id = store
            .insert_update(&first, &reference(1), 1_000)
            .await
            .expect("insert");
        let second_id = store
            .insert_update(&second, &reference(2), 2_000)
            .await
            .expect("insert the incident's second");
        assert_eq!(
            store.update(first_id).await.expect("update"),
            first.as_draft(first_id, reference(1), 1_000)
        );
        assert_eq!(
            store.updates().await.expect("updates"),
            vec![
                first.as_draft(first_id, reference(1), 1_000),
                second.as_draft(second_id, reference(2), 2_000)
            ]
        );
        assert!(matches!(
            store.update(second_id + 1).await,
            Err(StoreError::NotFound(_))
        ));

        let store = Arc::new(store);
        let approvals: Vec<_> = ["Approver Two", "Approver Three"]
            .into_iter()
            .map(|by| {
                let store = Arc::clone(&store);
                tokio::spawn(async move { store.approve_update(second_id, by, 3_000).await })
            })
            .collect();
        let mut refused = 0;
        for approval in approvals {
            match approval.await.expect("join") {
                Ok(()) => {}
                Err(StoreError::NotFound(_)) => refused += 1,
                Err(error) => panic!("{error}"),
            }
        }
        assert_eq!(refused, 1);
        assert_eq!(store.reviews(second_id).await.expect("reviews").len(), 1);
        let published = store.published_updates().await.expect("published");
        assert_eq!(published.len(), 1);
        assert_eq!(published[0].state, UpdateState::Approved);
        let found = store
            .update_by_reference(&reference(2))
            .await
            .expect("by reference");
        assert_eq!(found, Some(published[0].clone()));
    }
}
