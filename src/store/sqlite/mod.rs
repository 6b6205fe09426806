//! The embedded default: one SQLite file in WAL mode.
//!
//! Every write transaction starts with `begin_write`: writers of this process queue on an
//! async mutex, then `BEGIN IMMEDIATE` takes SQLite's write lock up front, so a writer of
//! another process waits on `busy_timeout` instead of failing with `SQLITE_BUSY`.

mod accounts;
mod claim;
mod control;
mod import;
mod lists;
mod messages;
mod plan;
mod rates;
mod receipts;
mod selection;
mod telegram;

use self::lists::{gateway_of, push_in, KEYS_PER_LOOKUP};
use super::lookup::owner_of_key;
use super::merge::import_conflict_from_row;
use super::messages::{Dictionaries, MessageRow};
use super::rows::{
    audiences_column, booked_place_from_row, channels_column, contact_from_row,
    failure_row_from_row, identity_from_row, parse_col, status_row_from_row, unreached_from_rows,
    update_from_row, update_text_from_row, CONTACT_COLUMNS,
};
use super::selection::{push_selection, recipients_query};
use super::{
    AccountStore, DirectoryStore, QueueStore, ReceiptStore, ReportStore, TelegramStore, UpdateStore,
};
use super::{
    AuditEntry, AuditFilter, FirstCredential, Review, Session, User, UserContact, Verdict,
};
use super::{
    Backlog, BookedPlace, BreakerRecord, ClaimedDelivery, FailureRow, FallbackDue, FallbackPlan,
    FallbackRule, ImportCounts, PlanWriter, ProgressMark, Receipt, ReceiptEffect, Recipient,
    Result, StatusRow, StoreError, StoredDelivery, Transition, Unreached,
};
use super::{Binding, ImportConflict, RetryFilter, StartRefusal, TelegramChat, UpdateEvent};
use crate::domain::{
    Certainty, ChannelKind, Contact, Identity, Language, NewAppointment, NewContact, NewUpdate,
    PublicReference, ResponseType, Selection, Severity, Update, UpdateState, Urgency,
};
use crate::domain::{SecretToken, UserName, UserRole};
use async_trait::async_trait;
use sqlx::sqlite::{
    SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions, SqliteRow, SqliteSynchronous,
};
use sqlx::{QueryBuilder, Row, Sqlite, SqlitePool, Transaction};
use std::str::FromStr;
use std::sync::Arc;
use std::time::Duration;

pub struct SqliteStore {
    pool: SqlitePool,
    dictionaries: Dictionaries,
    writers: Arc<tokio::sync::Mutex<()>>,
}

/// This process's turn to write, held for the length of a write transaction.
pub(super) type WriteTurn = tokio::sync::OwnedMutexGuard<()>;

impl SqliteStore {
    /// Begins a write transaction. This process's writers queue here, in order; otherwise
    /// they meet in SQLite's busy handler, which sleeps a millisecond or more whenever the
    /// write lock is taken — long enough to stall every SMTP connection waiting on its
    /// handover. Writers in other processes still meet there (`busy_timeout`).
    pub(super) async fn begin_write(&self) -> Result<(WriteTurn, Transaction<'static, Sqlite>)> {
        let turn = Arc::clone(&self.writers).lock_owned().await;
        let tx = self.pool.begin_with("BEGIN IMMEDIATE").await?;
        Ok((turn, tx))
    }

    pub(super) fn pool(&self) -> &SqlitePool {
        &self.pool
    }

    pub async fn open(url: &str) -> Result<SqliteStore> {
        Self::open_with(url, true).await
    }

    /// Opens a database file that exists already, refusing to create one.
    pub async fn open_existing(url: &str) -> Result<SqliteStore> {
        Self::open_with(url, false).await
    }

    async fn open_with(url: &str, create: bool) -> Result<SqliteStore> {
        let options = SqliteConnectOptions::from_str(url)?;
        let in_memory = url.contains(":memory:") || url.contains("mode=memory");
        if !create && !in_memory && !options.get_filename().exists() {
            return Err(StoreError::Missing(url.to_string()));
        }
        let options = options
            .create_if_missing(create)
            .journal_mode(SqliteJournalMode::Wal)
            // In WAL mode NORMAL loses nothing when the process dies, only on power loss.
            .synchronous(SqliteSynchronous::Normal)
            .busy_timeout(Duration::from_secs(30))
            // 16 MB of page cache per connection (SQLite's default is 2 MB): planning reads
            // contacts while it writes deliveries, and both stay in memory.
            .pragma("cache_size", "-16384")
            .foreign_keys(true);
        let pool = SqlitePoolOptions::new()
            .max_connections(4)
            .connect_with(options)
            .await?;
        sqlx::migrate!("./migrations/sqlite").run(&pool).await?;
        Ok(SqliteStore {
            pool,
            dictionaries: Dictionaries::default(),
            writers: Arc::default(),
        })
    }

    async fn updates_from_rows(&self, rows: &[SqliteRow]) -> Result<Vec<Update>> {
        let mut updates = Vec::with_capacity(rows.len());
        for row in rows {
            updates.push(self.update_from_row(row).await?);
        }
        Ok(updates)
    }

    async fn update_from_row(&self, row: &SqliteRow) -> Result<Update> {
        let id: i64 = row.try_get("id")?;
        let texts =
            sqlx::query("SELECT language, title, body, sms FROM update_texts WHERE update_id = ?")
                .bind(id)
                .fetch_all(&self.pool)
                .await?
                .iter()
                .map(update_text_from_row)
                .collect::<Result<_>>()?;
        update_from_row(row, texts)
    }
}

#[async_trait]
impl UpdateStore for SqliteStore {
    async fn insert_update(
        &self,
        update: &NewUpdate,
        reference: &PublicReference,
        at_ms: i64,
    ) -> Result<i64> {
        let (_turn, mut tx) = self.begin_write().await?;
        sqlx::query(
            "INSERT INTO incidents (id, title, opened_at) VALUES (?, ?, ?) \
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
             VALUES (?, ?, ?, ?, ?, ?, ?, 'draft', ?, ?, ?, ?, ?, ?) RETURNING id",
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
        for (language, text) in [
            (Language::Nl, &update.nl),
            (Language::Fr, &update.fr),
            (Language::En, &update.en),
        ] {
            sqlx::query(
                "INSERT INTO update_texts (update_id, language, title, body, sms) \
                 VALUES (?, ?, ?, ?, ?)",
            )
            .bind(id)
            .bind(language.code())
            .bind(&text.title)
            .bind(&text.body)
            .bind(&text.sms)
            .execute(&mut *tx)
            .await?;
        }
        tx.commit().await?;
        Ok(id)
    }

    async fn update(&self, id: i64) -> Result<Update> {
        let row = sqlx::query("SELECT * FROM updates WHERE id = ?")
            .bind(id)
            .fetch_optional(&self.pool)
            .await?
            .ok_or_else(|| StoreError::NotFound(format!("update {id}")))?;
        self.update_from_row(&row).await
    }

    async fn updates(&self) -> Result<Vec<Update>> {
        let rows = sqlx::query("SELECT * FROM updates ORDER BY id")
            .fetch_all(&self.pool)
            .await?;
        self.updates_from_rows(&rows).await
    }

    async fn published_updates(&self) -> Result<Vec<Update>> {
        let rows = sqlx::query(
            "SELECT * FROM updates WHERE state IN ('approved', 'sending', 'sent', 'halted') \
             ORDER BY approved_at DESC, id DESC",
        )
        .fetch_all(&self.pool)
        .await?;
        self.updates_from_rows(&rows).await
    }

    async fn update_by_reference(&self, reference: &PublicReference) -> Result<Option<Update>> {
        let row = sqlx::query("SELECT * FROM updates WHERE reference = ?")
            .bind(reference.as_str())
            .fetch_optional(&self.pool)
            .await?;
        match row {
            Some(row) => Ok(Some(self.update_from_row(&row).await?)),
            None => Ok(None),
        }
    }

    async fn approve_update(&self, id: i64, by: &str, at_ms: i64) -> Result<()> {
        let (_turn, mut tx) = self.begin_write().await?;
        let done = sqlx::query(
            "UPDATE updates SET state = 'approved', approved_by = ?, approved_at = ? \
             WHERE id = ? AND state = 'draft'",
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
        // A halted or discarded update stays so, whatever a run that ended meanwhile says.
        sqlx::query(
            "UPDATE updates SET state = ? WHERE id = ? AND state NOT IN ('halted', 'discarded')",
        )
        .bind(state.as_str())
        .bind(id)
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    async fn update_state(&self, id: i64) -> Result<UpdateState> {
        let state: String = sqlx::query_scalar("SELECT state FROM updates WHERE id = ?")
            .bind(id)
            .fetch_optional(&self.pool)
            .await?
            .ok_or_else(|| StoreError::NotFound(format!("update {id}")))?;
        state.parse().map_err(StoreError::Corrupt)
    }

    async fn update_paused(&self, id: i64) -> Result<Option<String>> {
        sqlx::query_scalar("SELECT paused_reason FROM updates WHERE id = ?")
            .bind(id)
            .fetch_optional(&self.pool)
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
            sqlx::query_scalar("SELECT planned_at FROM updates WHERE id = ?")
                .bind(id)
                .fetch_optional(&self.pool)
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

#[async_trait]
impl DirectoryStore for SqliteStore {
    async fn import(
        &self,
        contacts: &[NewContact],
        appointments: &[NewAppointment],
        source: &str,
        at_ms: i64,
    ) -> Result<ImportCounts> {
        self.import_batch(contacts, appointments, source, at_ms)
            .await
    }

    async fn import_conflicts(&self, decided: bool) -> Result<Vec<ImportConflict>> {
        let rows = sqlx::query(
            "SELECT id, at, source, contact_id, identity, reason, record, state, decided_by \
             FROM import_conflicts WHERE state = 'open' OR ? ORDER BY id",
        )
        .bind(decided)
        .fetch_all(&self.pool)
        .await?;
        let mut conflicts = Vec::with_capacity(rows.len());
        for row in &rows {
            let contact = match row.try_get::<Option<i64>, _>("contact_id")? {
                Some(contact_id) => sqlx::query(&format!(
                    "SELECT {CONTACT_COLUMNS} FROM contacts c WHERE c.id = ?"
                ))
                .bind(contact_id)
                .fetch_optional(&self.pool)
                .await?
                .as_ref()
                .map(contact_from_row)
                .transpose()?,
                None => None,
            };
            conflicts.push(import_conflict_from_row(row, contact)?);
        }
        Ok(conflicts)
    }

    async fn decide_conflict(
        &self,
        id: i64,
        accept: bool,
        by: &str,
        at_ms: i64,
    ) -> Result<ImportCounts> {
        self.decide(id, accept, by, at_ms).await
    }

    async fn find_contact(&self, key: &str) -> Result<Option<Contact>> {
        let key = key.trim();
        let by_id = |id: i64| async move {
            let row = sqlx::query(&format!(
                "SELECT {CONTACT_COLUMNS} FROM contacts c WHERE c.id = ?"
            ))
            .bind(id)
            .fetch_optional(&self.pool)
            .await?;
            row.as_ref().map(contact_from_row).transpose()
        };
        if let Some(id) = key.strip_prefix("id:") {
            return match id.trim().parse() {
                Ok(id) => by_id(id).await,
                Err(_) => Ok(None),
            };
        }
        let identities = match Identity::parse_qualified(key) {
            Some(identity) => {
                sqlx::query(
                    "SELECT kind, system, value, contact_id FROM contact_identities \
                 WHERE kind = ? AND system = ? AND value = ?",
                )
                .bind(identity.kind.as_str())
                .bind(&identity.system)
                .bind(&identity.value)
                .fetch_all(&self.pool)
                .await?
            }
            None => sqlx::query(
                "SELECT kind, system, value, contact_id FROM contact_identities WHERE value = ?",
            )
            .bind(key)
            .fetch_all(&self.pool)
            .await?,
        };
        let owners = identities
            .iter()
            .map(|row| {
                Ok((
                    identity_from_row(row)?,
                    row.try_get::<i64, _>("contact_id")?,
                ))
            })
            .collect::<Result<Vec<_>>>()?;
        if let Some(id) = owner_of_key(key, owners)? {
            return by_id(id).await;
        }
        let row = sqlx::query(&format!(
            "SELECT {CONTACT_COLUMNS} FROM contacts c WHERE c.email = ? COLLATE NOCASE \
             OR c.mobile = ? OR c.phone = ? ORDER BY c.id LIMIT 1"
        ))
        .bind(key)
        .bind(key)
        .bind(key)
        .fetch_optional(&self.pool)
        .await?;
        if let Some(row) = row {
            return contact_from_row(&row).map(Some);
        }
        match key.parse() {
            Ok(id) => by_id(id).await,
            Err(_) => Ok(None),
        }
    }

    async fn booked_places(&self) -> Result<Vec<BookedPlace>> {
        let rows = sqlx::query(
            "SELECT campus, department, COUNT(*) AS appointments, MIN(starts_at) AS first_ms, \
             MAX(starts_at) AS last_ms FROM appointments WHERE status = 'booked' \
             GROUP BY campus, department ORDER BY campus, department",
        )
        .fetch_all(&self.pool)
        .await?;
        rows.iter().map(booked_place_from_row).collect()
    }

    async fn set_optout(
        &self,
        contact_id: i64,
        channel: ChannelKind,
        opted_out: bool,
        reason: Option<&str>,
        at_ms: i64,
    ) -> Result<bool> {
        let done = if opted_out {
            sqlx::query(
                "INSERT INTO contact_optouts (contact_id, channel, reason, created_at) \
                 VALUES (?, ?, ?, ?) ON CONFLICT (contact_id, channel) DO NOTHING",
            )
            .bind(contact_id)
            .bind(channel.as_str())
            .bind(reason)
            .bind(at_ms)
            .execute(&self.pool)
            .await?
        } else {
            sqlx::query("DELETE FROM contact_optouts WHERE contact_id = ? AND channel = ?")
                .bind(contact_id)
                .bind(channel.as_str())
                .execute(&self.pool)
                .await?
        };
        Ok(done.rows_affected() > 0)
    }

    async fn recipient(&self, contact_id: i64) -> Result<Recipient> {
        let rows = sqlx::query(&format!(
            "SELECT {CONTACT_COLUMNS} FROM contacts c WHERE c.id = ?"
        ))
        .bind(contact_id)
        .fetch_all(&self.pool)
        .await?;
        self.complete_page(rows, None)
            .await?
            .pop()
            .ok_or_else(|| StoreError::NotFound(format!("contact {contact_id}")))
    }

    async fn recipients(
        &self,
        selection: &Selection,
        after_id: i64,
        limit: u32,
    ) -> Result<Vec<Recipient>> {
        let rows = recipients_query(selection, after_id, limit)
            .build()
            .fetch_all(&self.pool)
            .await?;
        self.complete_page(rows, Some(selection)).await
    }

    async fn recipients_among(&self, selection: &Selection, ids: &[i64]) -> Result<Vec<Recipient>> {
        let mut recipients = Vec::with_capacity(ids.len());
        for chunk in ids.chunks(KEYS_PER_LOOKUP) {
            let mut query = QueryBuilder::<Sqlite>::new(format!(
                "SELECT {CONTACT_COLUMNS} FROM contacts c WHERE c.id"
            ));
            push_in(&mut query, chunk.iter().copied());
            query.push(" AND ");
            push_selection(&mut query, selection);
            query.push(" ORDER BY c.id");
            let rows = query.build().fetch_all(&self.pool).await?;
            recipients.extend(self.complete_page(rows, Some(selection)).await?);
        }
        Ok(recipients)
    }
}

#[async_trait]
impl QueueStore for SqliteStore {
    async fn begin_plan(&self, due_at_ms: i64) -> Result<Box<dyn PlanWriter>> {
        plan::begin_plan(self, due_at_ms).await
    }

    async fn claim_due(
        &self,
        update_id: i64,
        now_ms: i64,
        lease_until_ms: i64,
        limit: u32,
    ) -> Result<Vec<ClaimedDelivery>> {
        claim::claim_due(self, update_id, now_ms, lease_until_ms, limit).await
    }

    async fn record(&self, transitions: &[Transition]) -> Result<Vec<bool>> {
        claim::record(self, transitions).await
    }

    async fn backlog(&self, update_id: i64) -> Result<Backlog> {
        let (open, held, next_due): (i64, i64, Option<i64>) = sqlx::query_as(
            "SELECT COUNT(next_attempt_at), COUNT(*) - COUNT(next_attempt_at), \
             MIN(next_attempt_at) FROM deliveries \
             WHERE update_id = ? AND (state IN ('pending', 'sending') \
               OR (state = 'failed' AND next_attempt_at IS NOT NULL))",
        )
        .bind(update_id)
        .fetch_one(&self.pool)
        .await?;
        Ok(Backlog {
            open: u64::try_from(open).unwrap_or_default(),
            held: u64::try_from(held).unwrap_or_default(),
            next_due_ms: next_due,
        })
    }

    async fn fallback_due(
        &self,
        update_id: i64,
        rule: &FallbackRule,
        after_id: i64,
        limit: u32,
    ) -> Result<Vec<FallbackDue>> {
        plan::fallback_due(self, update_id, rule, after_id, limit).await
    }

    async fn plan_fallback(
        &self,
        rule: &FallbackRule,
        plans: &[FallbackPlan],
        at_ms: i64,
    ) -> Result<u64> {
        plan::plan_fallback(self, rule, plans, at_ms).await
    }

    async fn record_breaker(&self, record: &BreakerRecord) -> Result<()> {
        sqlx::query(
            "INSERT INTO gateway_breakers (gateway, state, since, last_error) \
             VALUES (?, ?, ?, ?) ON CONFLICT (gateway) DO UPDATE SET state = excluded.state, \
             since = excluded.since, \
             last_error = COALESCE(excluded.last_error, gateway_breakers.last_error) \
             WHERE excluded.since >= gateway_breakers.since",
        )
        .bind(&record.gateway)
        .bind(&record.state)
        .bind(record.since_ms)
        .bind(record.last_error.as_deref())
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    async fn breakers(&self) -> Result<Vec<BreakerRecord>> {
        let rows: Vec<(String, String, i64, Option<String>)> = sqlx::query_as(
            "SELECT gateway, state, since, last_error FROM gateway_breakers ORDER BY gateway",
        )
        .fetch_all(&self.pool)
        .await?;
        Ok(rows
            .into_iter()
            .map(|(gateway, state, since_ms, last_error)| BreakerRecord {
                gateway,
                state,
                since_ms,
                last_error,
            })
            .collect())
    }
}

#[async_trait]
impl ReceiptStore for SqliteStore {
    async fn record_receipts(&self, receipts: &[Receipt]) -> Result<Vec<ReceiptEffect>> {
        receipts::record_receipts(self, receipts).await
    }
}

#[async_trait]
impl ReportStore for SqliteStore {
    async fn delivery(
        &self,
        update_id: i64,
        contact_id: i64,
        channel: ChannelKind,
    ) -> Result<Option<StoredDelivery>> {
        let mut connection = self.pool.acquire().await?;
        let row = sqlx::query(
            "SELECT d.id, d.channel, d.address, d.language, m.subject, \
             COALESCE(m.body, '') AS body, m.body_html, m.dictionary_id, d.state, d.attempts, \
             d.gateway_id, d.last_error \
             FROM deliveries d LEFT JOIN delivery_messages m ON m.delivery_id = d.id \
             WHERE d.update_id = ? AND d.contact_id = ? AND d.channel = ?",
        )
        .bind(update_id)
        .bind(contact_id)
        .bind(channel.as_str())
        .fetch_optional(&mut *connection)
        .await?;
        let Some(row) = row else {
            return Ok(None);
        };
        let id: i64 = row.try_get("id")?;
        let message = MessageRow {
            subject: row.try_get("subject")?,
            body: row.try_get("body")?,
            body_html: row.try_get("body_html")?,
            dictionary_id: row.try_get("dictionary_id")?,
        };
        let mut messages =
            messages::open(&self.dictionaries, &mut connection, vec![(id, message)]).await?;
        let content = messages.remove(&id).unwrap_or_default();
        let attempts: i64 = row.try_get("attempts")?;
        Ok(Some(StoredDelivery {
            id,
            channel: parse_col(&row, "channel")?,
            address: row.try_get("address")?,
            language: parse_col(&row, "language")?,
            content,
            state: parse_col(&row, "state")?,
            attempts: u32::try_from(attempts).unwrap_or_default(),
            gateway_id: row.try_get("gateway_id")?,
            last_error: row.try_get("last_error")?,
        }))
    }

    async fn progress_mark(&self, update_id: i64) -> Result<ProgressMark> {
        // MAX of a rowid, and of an index's last column under an equality on its first: each
        // one B-tree descent, however many events there are.
        let (state, paused, last_delivery_event, last_update_event, breakers): (
            String,
            Option<String>,
            Option<i64>,
            Option<i64>,
            Option<String>,
        ) = sqlx::query_as(
            "SELECT state, paused_reason, (SELECT MAX(id) FROM delivery_events), \
             (SELECT MAX(id) FROM update_events WHERE update_events.update_id = updates.id), \
             (SELECT group_concat(b.gateway || ' ' || b.state || ' ' || b.since || ' ' \
                || IFNULL(b.last_error, ''), char(10)) \
              FROM (SELECT * FROM gateway_breakers ORDER BY gateway) b) \
             FROM updates WHERE id = ?",
        )
        .bind(update_id)
        .fetch_optional(&self.pool)
        .await?
        .ok_or_else(|| StoreError::NotFound(format!("update {update_id}")))?;
        Ok(ProgressMark {
            state: state.parse().map_err(StoreError::Corrupt)?,
            paused,
            last_delivery_event,
            last_update_event,
            breakers,
        })
    }

    async fn status(&self, update_id: i64) -> Result<Vec<StatusRow>> {
        let query = format!(
            "SELECT d.state, d.channel, d.language, c.role, \
               CASE WHEN d.channel = 'sms' AND instr(d.gateway_id, ':') > 1 THEN {} END \
                 AS gateway, \
               COUNT(*) AS n FROM deliveries d JOIN contacts c ON c.id = d.contact_id \
             WHERE d.update_id = ? GROUP BY d.state, d.channel, d.language, c.role, gateway",
            gateway_of("d.gateway_id")
        );
        let rows = sqlx::query(&query)
            .bind(update_id)
            .fetch_all(&self.pool)
            .await?;
        rows.iter().map(status_row_from_row).collect()
    }

    async fn failure_reasons(&self, update_id: i64) -> Result<Vec<FailureRow>> {
        let rows = sqlx::query(
            "SELECT channel, state, last_error, COUNT(*) AS n FROM deliveries \
             WHERE update_id = ? AND state IN ('failed', 'undeliverable', 'uncertain') \
             GROUP BY channel, state, last_error ORDER BY n DESC, channel, state, last_error",
        )
        .bind(update_id)
        .fetch_all(&self.pool)
        .await?;
        rows.iter().map(failure_row_from_row).collect()
    }

    async fn unreached(&self, update_id: i64) -> Result<Vec<Unreached>> {
        // A public follower or channel is a chat the call centre cannot call: not listed.
        let rows = sqlx::query(&format!(
            "SELECT {CONTACT_COLUMNS} \
             FROM deliveries d JOIN contacts c ON c.id = d.contact_id \
             WHERE d.update_id = ? AND c.role <> 'public' GROUP BY c.id \
             HAVING SUM(d.state IN ('sent', 'delivered')) = 0 \
                AND SUM(d.state IN ('pending', 'sending') \
                        OR (d.state = 'failed' AND d.next_attempt_at IS NOT NULL)) = 0 \
             ORDER BY c.last_name, c.first_name, c.id"
        ))
        .bind(update_id)
        .fetch_all(&self.pool)
        .await?;
        let contacts = rows
            .iter()
            .map(contact_from_row)
            .collect::<Result<Vec<_>>>()?;
        // After a halt or a stopped channel the list is the whole audience: deliveries are
        // read a chunk of contacts at a time, not one contact at a time.
        let mut deliveries = Vec::new();
        for chunk in contacts.chunks(KEYS_PER_LOOKUP) {
            // In the order they were planned: the first channel tried, then its fallback.
            let mut query = QueryBuilder::<Sqlite>::new(
                "SELECT contact_id, channel, state, last_error FROM deliveries WHERE update_id = ",
            );
            query.push_bind(update_id).push(" AND contact_id");
            push_in(&mut query, chunk.iter().map(|contact| contact.id));
            query.push(" ORDER BY contact_id, id");
            deliveries.extend(query.build().fetch_all(&self.pool).await?);
        }
        unreached_from_rows(contacts, &deliveries)
    }

    async fn events(
        &self,
        delivery_id: i64,
    ) -> Result<Vec<(Option<String>, String, Option<String>)>> {
        Ok(sqlx::query_as(
            "SELECT from_state, to_state, detail FROM delivery_events \
             WHERE delivery_id = ? ORDER BY id",
        )
        .bind(delivery_id)
        .fetch_all(&self.pool)
        .await?)
    }
}

#[async_trait]
impl TelegramStore for SqliteStore {
    async fn telegram_link_key(&self, at_ms: i64) -> Result<[u8; 32]> {
        telegram::link_key(self, at_ms).await
    }

    async fn telegram_chat(&self, chat_id: &str) -> Result<Option<TelegramChat>> {
        telegram::chat(self, chat_id).await
    }

    async fn bind_telegram_chat(
        &self,
        mac: &str,
        contact_id: i64,
        chat_id: &str,
        language: Language,
        at_ms: i64,
    ) -> Result<Binding> {
        telegram::bind(self, mac, contact_id, chat_id, language, at_ms).await
    }

    async fn subscribe_telegram_chat(
        &self,
        chat_id: &str,
        language: Language,
        at_ms: i64,
    ) -> Result<TelegramChat> {
        telegram::subscribe(self, chat_id, language, at_ms).await
    }

    async fn set_telegram_language(
        &self,
        chat_id: &str,
        language: Language,
        at_ms: i64,
    ) -> Result<Option<TelegramChat>> {
        telegram::set_language(self, chat_id, language, at_ms).await
    }

    async fn sync_telegram_channels(
        &self,
        channels: &[(Language, String)],
        at_ms: i64,
    ) -> Result<u64> {
        telegram::sync_channels(self, channels, at_ms).await
    }

    async fn end_telegram_chat(
        &self,
        chat_id: &str,
        reason: &str,
        at_ms: i64,
    ) -> Result<Option<TelegramChat>> {
        telegram::end(self, chat_id, reason, at_ms).await
    }

    async fn readdress(
        &self,
        delivery_id: i64,
        address: &str,
        detail: &str,
        at_ms: i64,
    ) -> Result<u64> {
        let (_turn, mut tx) = self.begin_write().await?;
        let row = sqlx::query("SELECT channel, address, state FROM deliveries WHERE id = ?")
            .bind(delivery_id)
            .fetch_optional(&mut *tx)
            .await?;
        let Some(row) = row else {
            return Err(StoreError::NotFound(format!("delivery {delivery_id}")));
        };
        let channel: String = row.try_get("channel")?;
        let old: Option<String> = row.try_get("address")?;
        let state: String = row.try_get("state")?;
        let Some(old) = old.filter(|old| old != address) else {
            return Ok(0);
        };
        let column = match ChannelKind::from_str(&channel) {
            Ok(ChannelKind::Email) => "email",
            Ok(ChannelKind::Sms) => "mobile",
            Ok(ChannelKind::Telegram) => "telegram_chat_id",
            Err(_) => return Err(StoreError::NotFound(format!("channel {channel:?}"))),
        };
        let contacts = sqlx::query(&format!(
            "UPDATE contacts SET {column} = ?, updated_at = ? WHERE {column} = ?"
        ))
        .bind(address)
        .bind(at_ms)
        .bind(&old)
        .execute(&mut *tx)
        .await?
        .rows_affected();
        if column == "telegram_chat_id" {
            // The subscription follows the chat, so that /stop and "blocked" from the
            // supergroup end it.
            sqlx::query(
                "UPDATE telegram_chats SET chat_id = ?, updated_at = ? WHERE chat_id = ? \
                 AND NOT EXISTS (SELECT 1 FROM telegram_chats WHERE chat_id = ?)",
            )
            .bind(address)
            .bind(at_ms)
            .bind(&old)
            .bind(address)
            .execute(&mut *tx)
            .await?;
        }
        sqlx::query(
            "UPDATE deliveries SET address = ? WHERE channel = ? AND address = ? \
             AND (id = ? OR state IN ('pending', 'sending', 'failed'))",
        )
        .bind(address)
        .bind(&channel)
        .bind(&old)
        .bind(delivery_id)
        .execute(&mut *tx)
        .await?;
        sqlx::query(
            "INSERT INTO delivery_events (delivery_id, at, from_state, to_state, detail) \
             VALUES (?, ?, ?, ?, ?)",
        )
        .bind(delivery_id)
        .bind(at_ms)
        .bind(&state)
        .bind(&state)
        .bind(detail)
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(contacts)
    }
}

#[async_trait]
impl AccountStore for SqliteStore {
    async fn add_user(
        &self,
        name: &UserName,
        role: UserRole,
        first: &FirstCredential,
        at_ms: i64,
    ) -> Result<User> {
        accounts::add_user(self, name, role, first, at_ms).await
    }

    async fn users(&self) -> Result<Vec<User>> {
        accounts::users(self).await
    }

    async fn user(&self, name: &UserName) -> Result<Option<User>> {
        accounts::user(self, name).await
    }

    async fn set_password(&self, name: &UserName, hash: &str) -> Result<()> {
        accounts::set_password(self, name, hash).await
    }

    async fn set_user_contact(
        &self,
        name: &UserName,
        email: Option<&str>,
        phone: Option<&str>,
    ) -> Result<()> {
        accounts::set_user_contact(self, name, email, phone).await
    }

    async fn user_contact(&self, name: &UserName) -> Result<UserContact> {
        accounts::user_contact(self, name).await
    }

    async fn setup_token_user(&self, id: &str, at_ms: i64) -> Result<Option<User>> {
        accounts::setup_token_user(self, id, at_ms).await
    }

    async fn redeem_setup_token(&self, id: &str, hash: &str, at_ms: i64) -> Result<Option<User>> {
        accounts::redeem_setup_token(self, id, hash, at_ms).await
    }

    async fn disable_user(&self, name: &UserName, at_ms: i64) -> Result<User> {
        accounts::disable_user(self, name, at_ms).await
    }

    async fn create_session(
        &self,
        user_id: i64,
        ip: Option<&str>,
        at_ms: i64,
        expires_at_ms: i64,
    ) -> Result<SecretToken> {
        accounts::create_session(self, user_id, ip, at_ms, expires_at_ms).await
    }

    async fn session(&self, token: &SecretToken, at_ms: i64) -> Result<Option<Session>> {
        accounts::session(self, token, at_ms).await
    }

    async fn end_session(&self, token: &SecretToken, at_ms: i64) -> Result<bool> {
        accounts::end_session(self, token, at_ms).await
    }

    async fn append_audit(&self, entry: &AuditEntry) -> Result<()> {
        accounts::append_audit(self, entry).await
    }

    async fn audit_log(&self, filter: &AuditFilter) -> Result<Vec<AuditEntry>> {
        accounts::audit_log(self, filter).await
    }
}
