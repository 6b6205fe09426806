//! The embedded default: one SQLite file in WAL mode.
//!
//! Every write transaction starts with `begin_write`: writers of this process queue on an
//! async mutex, then `BEGIN IMMEDIATE` takes SQLite's write lock up front, so a writer of
//! another process waits on `busy_timeout` instead of failing with `SQLITE_BUSY`.

mod control;
mod import;
mod messages;
mod receipts;

use self::import::HeldRecord;
use self::messages::{Dictionaries, MessageRow, Packer};
use super::{
    AffectedPatient, Backlog, BookedPlace, BreakerRecord, ClaimedDelivery, FallbackDue,
    FallbackPlan, FallbackRule, ImportCounts, NewDelivery, PlanWriter, Receipt, ReceiptEffect,
    Recipient, Result, StatusRow, Store, StoreError, StoredDelivery, Transition, Unreached,
};
use super::{ConflictState, ImportConflict, Mark, RetryFilter, UnreachedDelivery, UpdateEvent};
use crate::domain::{
    Appointment, AppointmentStatus, AppointmentWindow, AudienceSpec, ChannelKind, Contact,
    DeliveryState, Identity, IdentityKind, Language, NewAppointment, NewContact, NewUpdate,
    PatientLanguage, RenderedMessage, Role, Selection, Update, UpdateKind, UpdateState, UpdateText,
};
use async_trait::async_trait;
use sqlx::sqlite::{
    SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions, SqliteRow, SqliteSynchronous,
};
use sqlx::{QueryBuilder, Row, Sqlite, SqlitePool, Transaction};
use std::collections::HashMap;
use std::str::FromStr;
use std::sync::Arc;
use std::time::Duration;

/// Rows per multi-row `INSERT` or `UPDATE`: SQLite allows 32,766 bound parameters per
/// statement, and batches stay well below.
pub(super) const ROWS_PER_STATEMENT: usize = 1_000;
/// Keys per `IN (…)` lookup.
pub(super) const KEYS_PER_LOOKUP: usize = 500;

/// ` IN (?, ?, …)` with each of `keys` bound: one chunk of a lookup by many keys.
pub(super) fn push_in<'q, K>(
    query: &mut QueryBuilder<'q, Sqlite>,
    keys: impl IntoIterator<Item = K>,
) where
    K: 'q + sqlx::Encode<'q, Sqlite> + sqlx::Type<Sqlite> + Send,
{
    query.push(" IN (");
    let mut list = query.separated(", ");
    for key in keys {
        list.push_bind(key);
    }
    query.push(")");
}

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

    /// Completes rows read with [`push_selection`] as that selection gives them.
    async fn complete_selection(
        &self,
        selection: &Selection,
        rows: Vec<SqliteRow>,
    ) -> Result<Vec<Recipient>> {
        match selection {
            Selection::Patients(window) => self.complete_page(rows, Some(window), None).await,
            Selection::GpsOf(windows) => self.complete_page(rows, None, Some(windows)).await,
            Selection::AllGps | Selection::Media => self.complete_page(rows, None, None).await,
        }
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

    async fn texts(&self, update_id: i64) -> Result<HashMap<Language, UpdateText>> {
        let rows =
            sqlx::query("SELECT language, title, body, sms FROM update_texts WHERE update_id = ?")
                .bind(update_id)
                .fetch_all(&self.pool)
                .await?;
        rows.iter()
            .map(|row| {
                Ok((
                    parse_col::<Language>(row, "language")?,
                    UpdateText {
                        title: row.try_get("title")?,
                        body: row.try_get("body")?,
                        sms: row.try_get("sms")?,
                    },
                ))
            })
            .collect()
    }

    async fn update_from_row(&self, row: &SqliteRow) -> Result<Update> {
        let id: i64 = row.try_get("id")?;
        let mut texts = self.texts(id).await?;
        let mut text = |language: Language| {
            texts
                .remove(&language)
                .ok_or_else(|| StoreError::Corrupt(format!("update {id} has no {language} text")))
        };
        Ok(Update {
            id,
            incident_id: row.try_get("incident_id")?,
            kind: parse_col::<UpdateKind>(row, "kind")?,
            follows: row.try_get("follows")?,
            audiences: parse_audiences(row.try_get("audiences")?)?,
            channels: parse_list(row.try_get("channels")?)?,
            appointments: parse_col(row, "appointments")?,
            state: parse_col::<UpdateState>(row, "state")?,
            author: row.try_get("author")?,
            approved_by: row.try_get("approved_by")?,
            created_at_ms: row.try_get("created_at")?,
            paused: row.try_get("paused_reason")?,
            nl: text(Language::Nl)?,
            fr: text(Language::Fr)?,
            en: text(Language::En)?,
        })
    }

    /// Completes a page of contacts: their appointments (all booked ones, or those in
    /// `window`), their opt-outs, and for GPs of affected patients those patients.
    async fn complete_page(
        &self,
        rows: Vec<SqliteRow>,
        window: Option<&AppointmentWindow>,
        gp_windows: Option<&[AppointmentWindow]>,
    ) -> Result<Vec<Recipient>> {
        let contacts = rows
            .iter()
            .map(contact_from_row)
            .collect::<Result<Vec<_>>>()?;
        let (Some(first), Some(last)) = (contacts.first(), contacts.last()) else {
            return Ok(Vec::new());
        };
        let (first, last) = (first.id, last.id);
        let mut appointments: HashMap<i64, Vec<Appointment>> = HashMap::new();
        let mut query = QueryBuilder::<Sqlite>::new(
            "SELECT a.patient_id, a.external_id, a.starts_at, a.campus, a.department, \
             a.practitioner, a.status FROM appointments a WHERE a.patient_id BETWEEN ",
        );
        query
            .push_bind(first)
            .push(" AND ")
            .push_bind(last)
            .push(" AND ");
        push_window(&mut query, window.unwrap_or(&AppointmentWindow::default()));
        query.push(" ORDER BY a.starts_at");
        for row in &query.build().fetch_all(&self.pool).await? {
            appointments
                .entry(row.try_get("patient_id")?)
                .or_default()
                .push(appointment_from_row(row)?);
        }
        let mut affected: HashMap<i64, Vec<AffectedPatient>> = HashMap::new();
        if let Some(windows) = gp_windows {
            let mut query = QueryBuilder::<Sqlite>::new(
                "SELECT a.gp_id, p.first_name, p.last_name, p.birth_date, a.external_id, \
                 a.starts_at, a.campus, a.department, a.practitioner, a.status \
                 FROM appointments a JOIN contacts p ON p.id = a.patient_id WHERE a.gp_id BETWEEN ",
            );
            query
                .push_bind(first)
                .push(" AND ")
                .push_bind(last)
                .push(" AND ");
            push_windows(&mut query, windows);
            query.push(" ORDER BY a.gp_id, a.starts_at, p.last_name");
            for row in &query.build().fetch_all(&self.pool).await? {
                affected
                    .entry(row.try_get("gp_id")?)
                    .or_default()
                    .push(AffectedPatient {
                        first_name: row.try_get("first_name")?,
                        last_name: row.try_get("last_name")?,
                        birth_date: parse_date(row.try_get("birth_date")?)?,
                        appointment: appointment_from_row(row)?,
                    });
            }
        }
        // A GP whose export gives no language is written to in their patients'.
        let mut languages: HashMap<i64, Vec<PatientLanguage>> = HashMap::new();
        let silent_gps = contacts.iter().any(|contact| {
            contact.role == Role::Gp
                && contact
                    .language
                    .as_deref()
                    .is_none_or(|raw| Language::parse(raw).is_err())
        });
        if silent_gps {
            let rows = sqlx::query(
                "SELECT a.gp_id, p.language, a.campus, COUNT(DISTINCT p.id) AS patients \
                 FROM appointments a JOIN contacts p ON p.id = a.patient_id \
                 WHERE a.gp_id BETWEEN ? AND ? GROUP BY a.gp_id, p.language, a.campus",
            )
            .bind(first)
            .bind(last)
            .fetch_all(&self.pool)
            .await?;
            for row in &rows {
                languages
                    .entry(row.try_get("gp_id")?)
                    .or_default()
                    .push(PatientLanguage {
                        language: row.try_get("language")?,
                        campus: row.try_get("campus")?,
                        patients: u64::try_from(row.try_get::<i64, _>("patients")?)
                            .unwrap_or_default(),
                    });
            }
        }
        let mut optouts: HashMap<i64, Vec<ChannelKind>> = HashMap::new();
        let rows = sqlx::query(
            "SELECT contact_id, channel FROM contact_optouts WHERE contact_id BETWEEN ? AND ?",
        )
        .bind(first)
        .bind(last)
        .fetch_all(&self.pool)
        .await?;
        for row in &rows {
            optouts
                .entry(row.try_get("contact_id")?)
                .or_default()
                .push(parse_col::<ChannelKind>(row, "channel")?);
        }
        Ok(contacts
            .into_iter()
            .map(|mut contact| {
                contact.opted_out = optouts.remove(&contact.id).unwrap_or_default();
                Recipient {
                    appointments: appointments.remove(&contact.id).unwrap_or_default(),
                    affected_patients: affected.remove(&contact.id).unwrap_or_default(),
                    patients_by_language: match contact.role {
                        Role::Gp => languages.remove(&contact.id).unwrap_or_default(),
                        _ => Vec::new(),
                    },
                    contact,
                }
            })
            .collect())
    }
}

/// The contacts (alias `c`) a selection takes.
fn push_selection(query: &mut QueryBuilder<'_, Sqlite>, selection: &Selection) {
    match selection {
        Selection::Patients(window) => {
            query.push(
                "c.role = 'patient' AND EXISTS (SELECT 1 FROM appointments a \
                 WHERE a.patient_id = c.id AND ",
            );
            push_window(query, window);
            query.push(")");
        }
        Selection::GpsOf(windows) => {
            query.push(
                "c.role = 'gp' AND EXISTS (SELECT 1 FROM appointments a \
                 WHERE a.gp_id = c.id AND ",
            );
            push_windows(query, windows);
            query.push(")");
        }
        Selection::AllGps => {
            query.push("c.role = 'gp'");
        }
        Selection::Media => {
            query.push("c.role = 'journalist'");
        }
    }
}

/// The SMS deliveries (alias given as `d`, with its dot, or empty) that `rule` sends to the
/// fallback channel.
fn push_fallback_condition(query: &mut QueryBuilder<'_, Sqlite>, d: &str, rule: &FallbackRule) {
    query.push(format!(
        "{d}channel = 'sms' AND {d}fallback_at IS NULL \
         AND {d}state IN ('sent', 'failed', 'undeliverable') AND ({d}state = 'undeliverable' \
         OR ({d}state = 'failed' AND {d}next_attempt_at IS NULL)"
    ));
    if let (Some(silent_since), false) = (rule.silent_since_ms, rule.receipt_gateways.is_empty()) {
        query
            .push(format!(" OR ({d}state = 'sent' AND {d}updated_at <= "))
            .push_bind(silent_since)
            .push(format!(
                " AND substr({d}gateway_id, 1, instr({d}gateway_id, ':') - 1) IN ("
            ));
        let mut gateways = query.separated(", ");
        for gateway in &rule.receipt_gateways {
            gateways.push_bind(gateway.clone());
        }
        query.push("))");
    }
    query.push(")");
}

/// Booked appointments (alias `a`) within a window.
fn push_window(query: &mut QueryBuilder<'_, Sqlite>, window: &AppointmentWindow) {
    query.push("(a.status = 'booked'");
    if let Some(from) = window.from_ms {
        query.push(" AND a.starts_at >= ").push_bind(from);
    }
    if let Some(to) = window.to_ms {
        query.push(" AND a.starts_at < ").push_bind(to);
    }
    if let Some(campus) = &window.campus {
        query
            .push(" AND a.campus = ")
            .push_bind(campus.clone())
            .push(" COLLATE NOCASE");
    }
    if let Some(department) = &window.department {
        query
            .push(" AND a.department = ")
            .push_bind(department.clone())
            .push(" COLLATE NOCASE");
    }
    query.push(")");
}

/// Booked appointments within any of the windows; none when there are none.
fn push_windows(query: &mut QueryBuilder<'_, Sqlite>, windows: &[AppointmentWindow]) {
    if windows.is_empty() {
        query.push("0");
        return;
    }
    query.push("(");
    for (index, window) in windows.iter().enumerate() {
        if index > 0 {
            query.push(" OR ");
        }
        push_window(query, window);
    }
    query.push(")");
}

fn parse_date(raw: Option<String>) -> Result<Option<chrono::NaiveDate>> {
    raw.map(|date| {
        date.parse()
            .map_err(|_| StoreError::Corrupt(format!("date {date}")))
    })
    .transpose()
}

pub(super) const CONTACT_COLUMNS: &str = "c.id, c.external_id, c.role, c.first_name, c.last_name, \
     c.language, c.mobile, c.phone, c.email, c.telegram_chat_id, c.organisation, c.birth_date";

pub(super) fn contact_from_row(row: &SqliteRow) -> Result<Contact> {
    Ok(Contact {
        id: row.try_get("id")?,
        external_id: row.try_get("external_id")?,
        role: parse_col(row, "role")?,
        first_name: row.try_get("first_name")?,
        last_name: row.try_get("last_name")?,
        language: row.try_get("language")?,
        mobile: row.try_get("mobile")?,
        phone: row.try_get("phone")?,
        email: row.try_get("email")?,
        telegram_chat_id: row.try_get("telegram_chat_id")?,
        organisation: row.try_get("organisation")?,
        birth_date: row
            .try_get::<Option<String>, _>("birth_date")?
            .map(|date| {
                date.parse()
                    .map_err(|_| StoreError::Corrupt(format!("birth date {date}")))
            })
            .transpose()?,
        opted_out: Vec::new(),
    })
}

fn appointment_from_row(row: &SqliteRow) -> Result<Appointment> {
    let starts_at: i64 = row.try_get("starts_at")?;
    let status: String = row.try_get("status")?;
    Ok(Appointment {
        external_id: row.try_get("external_id")?,
        starts_at: chrono::DateTime::from_timestamp_millis(starts_at)
            .ok_or_else(|| StoreError::Corrupt(format!("appointment time {starts_at}")))?,
        campus: row.try_get("campus")?,
        department: row.try_get("department")?,
        practitioner: row.try_get("practitioner")?,
        status: match status.as_str() {
            "booked" => AppointmentStatus::Booked,
            "cancelled" => AppointmentStatus::Cancelled,
            other => return Err(StoreError::Corrupt(format!("appointment status {other}"))),
        },
    })
}

fn parse_col<T>(row: &SqliteRow, column: &str) -> Result<T>
where
    T: FromStr,
    T::Err: std::fmt::Display,
{
    let raw: String = row.try_get(column)?;
    raw.parse()
        .map_err(|error| StoreError::Corrupt(format!("{column}: {error}")))
}

fn parse_list<T>(raw: String) -> Result<Vec<T>>
where
    T: FromStr,
    T::Err: std::fmt::Display,
{
    raw.split(',')
        .filter(|item| !item.is_empty())
        .map(|item| {
            item.parse()
                .map_err(|error| StoreError::Corrupt(format!("{error}")))
        })
        .collect()
}

fn parse_audiences(raw: String) -> Result<Vec<AudienceSpec>> {
    let specs: Vec<String> = serde_json::from_str(&raw)
        .map_err(|error| StoreError::Corrupt(format!("audiences {raw}: {error}")))?;
    specs
        .iter()
        .map(|spec| {
            AudienceSpec::parse(spec).map_err(|error| StoreError::Corrupt(error.to_string()))
        })
        .collect()
}

fn claimed_from_row(
    row: &SqliteRow,
    messages: &mut HashMap<i64, RenderedMessage>,
) -> Result<ClaimedDelivery> {
    let attempts: i64 = row.try_get("attempts")?;
    let address: Option<String> = row.try_get("address")?;
    let id: i64 = row.try_get("id")?;
    let message = messages
        .remove(&id)
        .ok_or_else(|| StoreError::Corrupt(format!("delivery {id} is due but has no message")))?;
    Ok(ClaimedDelivery {
        id,
        update_id: row.try_get("update_id")?,
        contact_id: row.try_get("contact_id")?,
        channel: parse_col(row, "channel")?,
        address: address.ok_or_else(|| {
            StoreError::Corrupt(format!("delivery {id} is due but has no address"))
        })?,
        language: parse_col(row, "language")?,
        content: message,
        attempts: u32::try_from(attempts).unwrap_or(u32::MAX),
        lease_until_ms: row.try_get("lease_until")?,
    })
}

/// A time as the people reading the record think of it.
pub(super) fn brussels_time(ms: i64) -> String {
    chrono::DateTime::from_timestamp_millis(ms)
        .map(|at| {
            at.with_timezone(&chrono_tz::Europe::Brussels)
                .format("%Y-%m-%d %H:%M:%S %Z")
                .to_string()
        })
        .unwrap_or_else(|| ms.to_string())
}

/// Applies transitions and appends their events inside `tx`: each applies only if its
/// delivery is still in its `from` state. Returns which applied.
pub(super) async fn apply_transitions(
    tx: &mut Transaction<'static, Sqlite>,
    transitions: &[Transition],
) -> Result<Vec<bool>> {
    let mut applied = vec![false; transitions.len()];
    let mut start = 0;
    while start < transitions.len() {
        // One statement per round; a delivery that moves twice in a batch (handed over,
        // then refused) starts a new round, so its moves apply in order.
        let mut ids = std::collections::HashSet::new();
        let mut end = start;
        while end < transitions.len()
            && end - start < ROWS_PER_STATEMENT
            && ids.insert(transitions[end].delivery_id)
        {
            end += 1;
        }
        let round = &transitions[start..end];
        // A handover keeps the lease (the delivery is still being sent) and stamps
        // `handed_over_at`; an attempt that never reached a server is given back.
        let mut update = QueryBuilder::<Sqlite>::new(
            "UPDATE deliveries SET state = t.column3, \
             next_attempt_at = CASE WHEN t.column8 = 'handed-over' THEN deliveries.next_attempt_at \
                                    ELSE t.column4 END, \
             lease_until = CASE WHEN t.column8 = 'handed-over' THEN deliveries.lease_until END, \
             handed_over_at = CASE WHEN t.column8 = 'handed-over' THEN t.column7 \
                                   ELSE deliveries.handed_over_at END, \
             attempts = deliveries.attempts - (t.column8 = 'not-attempted'), \
             gateway_id = COALESCE(t.column5, deliveries.gateway_id), \
             last_error = CASE WHEN t.column3 IN ('failed', 'undeliverable', 'uncertain', 'pending') \
                               THEN t.column6 ELSE deliveries.last_error END, \
             updated_at = t.column7 FROM (",
        );
        update.push_values(round, |mut values, transition| {
            values
                .push_bind(transition.delivery_id)
                .push_bind(transition.from.as_str())
                .push_bind(transition.to.as_str())
                .push_bind(transition.next_attempt_at_ms)
                .push_bind(transition.gateway_id.as_deref())
                .push_bind(transition.detail.as_deref())
                .push_bind(transition.at_ms)
                .push_bind(match transition.mark {
                    Mark::Nothing => "",
                    Mark::HandedOver => "handed-over",
                    Mark::NotAttempted => "not-attempted",
                })
                .push_bind(transition.lease_until_ms);
        });
        update.push(
            ") AS t WHERE deliveries.id = t.column1 AND deliveries.state = t.column2 \
             AND (t.column9 IS NULL OR deliveries.lease_until = t.column9) \
             RETURNING deliveries.id",
        );
        let moved: std::collections::HashSet<i64> = update
            .build_query_scalar::<i64>()
            .fetch_all(&mut **tx)
            .await?
            .into_iter()
            .collect();
        let mut events = Vec::with_capacity(moved.len());
        for (offset, transition) in round.iter().enumerate() {
            if moved.contains(&transition.delivery_id) {
                applied[start + offset] = true;
                events.push((transition.from, transition));
                continue;
            }
            if transition.from == DeliveryState::Sending
                && matches!(
                    transition.to,
                    DeliveryState::Sent | DeliveryState::Delivered
                )
                && record_after_halt(tx, transition).await?
            {
                applied[start + offset] = true;
                events.push((DeliveryState::Cancelled, transition));
            } else if let Some(gateway_id) = &transition.gateway_id {
                // A receipt can overtake the record of its own send (`sending → delivered`);
                // the send's move is then stale, but the gateway's id is still the message's.
                sqlx::query(
                    "UPDATE deliveries SET gateway_id = ? WHERE id = ? AND gateway_id IS NULL",
                )
                .bind(gateway_id)
                .bind(transition.delivery_id)
                .execute(&mut **tx)
                .await?;
            }
        }
        if !events.is_empty() {
            let mut insert = QueryBuilder::<Sqlite>::new(
                "INSERT INTO delivery_events (delivery_id, at, from_state, to_state, detail) ",
            );
            insert.push_values(&events, |mut values, (from, transition)| {
                values
                    .push_bind(transition.delivery_id)
                    .push_bind(transition.at_ms)
                    .push_bind(from.as_str())
                    .push_bind(transition.to.as_str())
                    .push_bind(transition.detail.as_deref());
            });
            insert.build().execute(&mut **tx).await?;
        }
        start = end;
    }
    Ok(applied)
}

/// A message a gateway accepted after a halt had cancelled its delivery (the send had
/// started before the halt reached the worker): the record says it left.
async fn record_after_halt(
    tx: &mut Transaction<'static, Sqlite>,
    transition: &Transition,
) -> Result<bool> {
    let done = sqlx::query(
        "UPDATE deliveries SET state = ?, gateway_id = COALESCE(?, gateway_id), \
         updated_at = ? WHERE id = ? AND state = 'cancelled'",
    )
    .bind(transition.to.as_str())
    .bind(transition.gateway_id.as_deref())
    .bind(transition.at_ms)
    .bind(transition.delivery_id)
    .execute(&mut **tx)
    .await?;
    Ok(done.rows_affected() > 0)
}

struct SqlitePlan {
    tx: Transaction<'static, Sqlite>,
    /// Released after `tx` ends: fields drop in order.
    _turn: WriteTurn,
    packer: Packer,
    /// When pending rows are due: now for a plan, the sweep's time for a fallback.
    due_at_ms: Option<i64>,
    /// The id the next delivery gets, once known.
    next_id: Option<i64>,
}

#[async_trait]
impl PlanWriter for SqlitePlan {
    async fn insert(&mut self, rows: &[NewDelivery]) -> Result<u64> {
        let mut inserted = 0;
        let now = self
            .due_at_ms
            .unwrap_or_else(|| chrono::Utc::now().timestamp_millis());
        // The transaction holds the write lock, so the ids after the largest are ours to
        // give: no `RETURNING` rows have to travel back from SQLite's thread one by one.
        let mut next_id = match self.next_id {
            Some(id) => id,
            None => {
                sqlx::query_scalar("SELECT COALESCE(MAX(id), 0) + 1 FROM deliveries")
                    .fetch_one(&mut *self.tx)
                    .await?
            }
        };
        for chunk in rows.chunks(ROWS_PER_STATEMENT) {
            let first_id = next_id;
            let last_id = first_id + chunk.len() as i64 - 1;
            next_id = last_id + 1;
            let mut query = QueryBuilder::<Sqlite>::new(
                "INSERT INTO deliveries (id, update_id, contact_id, channel, address, language, \
                 state, next_attempt_at, last_error, updated_at) ",
            );
            query.push_values(chunk.iter().zip(first_id..), |mut values, (row, id)| {
                values
                    .push_bind(id)
                    .push_bind(row.update_id)
                    .push_bind(row.contact_id)
                    .push_bind(row.channel.as_str())
                    .push_bind(row.address.as_deref())
                    .push_bind(row.language.code())
                    .push_bind(row.state.as_str())
                    .push_bind((row.state == DeliveryState::Pending).then_some(now))
                    .push_bind(row.detail.as_deref())
                    .push_bind(now);
            });
            query.push(" ON CONFLICT (update_id, contact_id, channel) DO NOTHING");
            let written = query.build().execute(&mut *self.tx).await?.rows_affected();
            inserted += written;
            let mut created: Vec<(i64, &NewDelivery)> = (first_id..).zip(chunk).collect();
            if written < chunk.len() as u64 {
                // Some rows were there already: keep the ones this insert wrote.
                let kept: std::collections::HashSet<i64> =
                    sqlx::query_scalar("SELECT id FROM deliveries WHERE id BETWEEN ? AND ?")
                        .bind(first_id)
                        .bind(last_id)
                        .fetch_all(&mut *self.tx)
                        .await?
                        .into_iter()
                        .collect();
                created.retain(|(id, _)| kept.contains(id));
            }
            if created.is_empty() {
                continue;
            }
            // The rows just written say everything their first event says.
            sqlx::query(
                "INSERT INTO delivery_events (delivery_id, at, from_state, to_state, detail) \
                 SELECT id, updated_at, NULL, state, last_error FROM deliveries \
                 WHERE id BETWEEN ? AND ?",
            )
            .bind(first_id)
            .bind(last_id)
            .execute(&mut *self.tx)
            .await?;
            let mut plain = Vec::new();
            let mut packed = Vec::new();
            for (id, row) in created
                .iter()
                .filter(|(_, row)| row.state == DeliveryState::Pending)
            {
                match self.packer.pack(&mut self.tx, row).await? {
                    Some(message) => packed.push((*id, *row, message)),
                    None => plain.push((*id, *row)),
                }
            }
            if !plain.is_empty() {
                let mut insert = QueryBuilder::<Sqlite>::new(
                    "INSERT INTO delivery_messages (delivery_id, subject, body, body_html) ",
                );
                insert.push_values(plain, |mut values, (id, row)| {
                    values
                        .push_bind(id)
                        .push_bind(row.content.subject.as_deref())
                        .push_bind(row.content.body.as_str())
                        .push_bind(row.content.body_html.as_deref());
                });
                insert.build().execute(&mut *self.tx).await?;
            }
            if !packed.is_empty() {
                let mut insert = QueryBuilder::<Sqlite>::new(
                    "INSERT INTO delivery_messages \
                     (delivery_id, subject, body, body_html, dictionary_id) ",
                );
                insert.push_values(packed, |mut values, (id, row, message)| {
                    values
                        .push_bind(id)
                        .push_bind(row.content.subject.as_deref())
                        .push_bind(message.body)
                        .push_bind(message.body_html)
                        .push_bind(message.dictionary_id);
                });
                insert.build().execute(&mut *self.tx).await?;
            }
        }
        self.next_id = Some(next_id);
        Ok(inserted)
    }

    async fn commit(mut self: Box<Self>, update_id: i64, at_ms: i64) -> Result<()> {
        sqlx::query("UPDATE updates SET planned_at = ? WHERE id = ? AND planned_at IS NULL")
            .bind(at_ms)
            .bind(update_id)
            .execute(&mut *self.tx)
            .await?;
        self.tx.commit().await?;
        Ok(())
    }
}

#[async_trait]
impl Store for SqliteStore {
    async fn insert_update(&self, update: &NewUpdate, at_ms: i64) -> Result<i64> {
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
        let join = |items: Vec<&str>| items.join(",");
        let id: i64 = sqlx::query_scalar(
            "INSERT INTO updates (incident_id, kind, follows, audiences, channels, \
             appointments, state, author, created_at) \
             VALUES (?, ?, ?, ?, ?, ?, 'draft', ?, ?) RETURNING id",
        )
        .bind(&update.incident_id)
        .bind(update.kind.as_str())
        .bind(update.follows)
        .bind(
            serde_json::to_string(
                &update
                    .audiences
                    .iter()
                    .map(ToString::to_string)
                    .collect::<Vec<_>>(),
            )
            .map_err(|error| StoreError::Corrupt(error.to_string()))?,
        )
        .bind(join(update.channels.iter().map(|c| c.as_str()).collect()))
        .bind(update.appointments.as_str())
        .bind(&update.author)
        .bind(at_ms)
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
        let mut updates = Vec::with_capacity(rows.len());
        for row in &rows {
            updates.push(self.update_from_row(row).await?);
        }
        Ok(updates)
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

    async fn planned_at(&self, id: i64) -> Result<Option<i64>> {
        Ok(
            sqlx::query_scalar("SELECT planned_at FROM updates WHERE id = ?")
                .bind(id)
                .fetch_optional(&self.pool)
                .await?
                .flatten(),
        )
    }

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
            let id: i64 = row.try_get("id")?;
            let record: String = row.try_get("record")?;
            let held: HeldRecord = serde_json::from_str(&record)
                .map_err(|error| StoreError::Corrupt(format!("import conflict {id}: {error}")))?;
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
            let state: String = row.try_get("state")?;
            conflicts.push(ImportConflict {
                id,
                at_ms: row.try_get("at")?,
                source: row.try_get("source")?,
                contact,
                identity: row.try_get("identity")?,
                reason: row.try_get("reason")?,
                record: held.contact,
                appointments: held.appointments,
                state: match state.as_str() {
                    "open" => ConflictState::Open,
                    "accepted" => ConflictState::Accepted,
                    "rejected" => ConflictState::Rejected,
                    other => return Err(StoreError::Corrupt(format!("conflict state {other}"))),
                },
                decided_by: row.try_get("decided_by")?,
            });
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
        let mut owners = Vec::with_capacity(identities.len());
        for row in &identities {
            let kind: String = row.try_get("kind")?;
            let identity = Identity {
                kind: kind.parse().map_err(StoreError::Corrupt)?,
                system: row.try_get("system")?,
                value: row.try_get("value")?,
            };
            owners.push((identity, row.try_get::<i64, _>("contact_id")?));
        }
        // This hospital's patient number first; any other identity only when it names one
        // contact.
        if let Some((_, id)) = owners
            .iter()
            .find(|(identity, _)| identity.kind == IdentityKind::Patient)
        {
            return by_id(*id).await;
        }
        let mut ids: Vec<i64> = owners.iter().map(|(_, id)| *id).collect();
        ids.sort_unstable();
        ids.dedup();
        match ids.as_slice() {
            [] => {}
            [id] => return by_id(*id).await,
            _ => {
                owners.sort();
                let which = owners
                    .iter()
                    .map(|(identity, _)| identity.to_string())
                    .collect::<Vec<_>>()
                    .join(", ");
                return Err(StoreError::Ambiguous(format!(
                    "{key:?} is the id of {} contacts ({which}): say which, as written here",
                    ids.len()
                )));
            }
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
        rows.iter()
            .map(|row| {
                Ok(BookedPlace {
                    campus: row.try_get("campus")?,
                    department: row.try_get("department")?,
                    appointments: row
                        .try_get::<i64, _>("appointments")?
                        .try_into()
                        .unwrap_or(0),
                    first_ms: row.try_get("first_ms")?,
                    last_ms: row.try_get("last_ms")?,
                })
            })
            .collect()
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
        self.complete_page(rows, None, None)
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
        let mut query = QueryBuilder::<Sqlite>::new(format!(
            "SELECT {CONTACT_COLUMNS} FROM contacts c WHERE c.id > "
        ));
        query.push_bind(after_id).push(" AND ");
        push_selection(&mut query, selection);
        query.push(" ORDER BY c.id LIMIT ").push_bind(limit);
        let rows = query.build().fetch_all(&self.pool).await?;
        self.complete_selection(selection, rows).await
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
            recipients.extend(self.complete_selection(selection, rows).await?);
        }
        Ok(recipients)
    }

    async fn begin_plan(&self) -> Result<Box<dyn PlanWriter>> {
        let (turn, tx) = self.begin_write().await?;
        Ok(Box::new(SqlitePlan {
            tx,
            _turn: turn,
            packer: Packer::default(),
            due_at_ms: None,
            next_id: None,
        }))
    }

    async fn claim_due(
        &self,
        update_id: i64,
        now_ms: i64,
        lease_until_ms: i64,
        limit: u32,
    ) -> Result<Vec<ClaimedDelivery>> {
        let (turn, mut tx) = self.begin_write().await?;
        // A claimed delivery is due again when its lease expires, so one indexed column,
        // `next_attempt_at`, says when any open delivery is due. No ORDER BY: sorting every
        // due row of a large broadcast on each claim costs more than any order is worth.
        let found: Vec<(i64, String, Option<i64>)> = sqlx::query_as(
            "SELECT id, state, handed_over_at FROM deliveries WHERE update_id = ?1 \
             AND state IN ('pending', 'sending', 'failed') AND next_attempt_at <= ?2 LIMIT ?3",
        )
        .bind(update_id)
        .bind(now_ms)
        .bind(limit)
        .fetch_all(&mut *tx)
        .await?;
        if found.is_empty() {
            return Ok(Vec::new());
        }
        // A lease that expired after the handover was recorded: the process that held it
        // died between giving the server the message and recording its answer. The server
        // may have the message; sending it again could make it two. A person decides.
        let (uncertain, due): (Vec<_>, Vec<_>) = found
            .into_iter()
            .partition(|(_, state, handed_over)| state == "sending" && handed_over.is_some());
        let due: Vec<(i64, String)> = due.into_iter().map(|(id, state, _)| (id, state)).collect();
        if !uncertain.is_empty() {
            let transitions: Vec<Transition> = uncertain
                .iter()
                .map(|(id, _, handed_over)| Transition {
                    delivery_id: *id,
                    from: DeliveryState::Sending,
                    to: DeliveryState::Uncertain,
                    at_ms: now_ms,
                    next_attempt_at_ms: None,
                    gateway_id: None,
                    lease_until_ms: None,
                    detail: Some(format!(
                        "handed over to the server at {}, but its answer was never recorded \
                         (the sending process stopped): the message may or may not have \
                         arrived; check with the recipient, or send it again with \
                         `tocsin update retry {update_id} --state uncertain`",
                        brussels_time(handed_over.unwrap_or(now_ms))
                    )),
                    mark: Mark::Nothing,
                })
                .collect();
            apply_transitions(&mut tx, &transitions).await?;
        }
        if due.is_empty() {
            tx.commit().await?;
            return Ok(Vec::new());
        }
        let mut events = QueryBuilder::<Sqlite>::new(
            "INSERT INTO delivery_events (delivery_id, at, from_state, to_state, detail) ",
        );
        events.push_values(&due, |mut values, (id, state)| {
            let detail = (state == "sending").then_some("the previous claim's lease expired");
            values
                .push_bind(*id)
                .push_bind(now_ms)
                .push_bind(state.as_str())
                .push_bind("sending")
                .push_bind(detail);
        });
        events.build().execute(&mut *tx).await?;
        let mut claim =
            QueryBuilder::<Sqlite>::new("UPDATE deliveries SET state = 'sending', lease_until = ");
        claim
            .push_bind(lease_until_ms)
            .push(", attempts = attempts + 1, handed_over_at = NULL, next_attempt_at = ")
            .push_bind(lease_until_ms)
            .push(", updated_at = ")
            .push_bind(now_ms)
            .push(" WHERE id IN (");
        let mut ids = claim.separated(", ");
        for (id, _) in &due {
            ids.push_bind(*id);
        }
        claim.push(
            ") RETURNING id, update_id, contact_id, channel, address, language, attempts, \
             lease_until",
        );
        let rows = claim.build().fetch_all(&mut *tx).await?;
        tx.commit().await?;
        // The messages never change once planned: they are read after the commit, so that
        // handovers waiting for the write lock do not wait for this too.
        drop(turn);
        let mut connection = self.pool.acquire().await?;
        let mut read = QueryBuilder::<Sqlite>::new(
            "SELECT delivery_id, subject, body, body_html, dictionary_id FROM delivery_messages \
             WHERE delivery_id IN (",
        );
        let mut ids = read.separated(", ");
        for (id, _) in &due {
            ids.push_bind(*id);
        }
        read.push(")");
        let rows_read = read
            .build_query_as::<(i64, Option<String>, Vec<u8>, Option<Vec<u8>>, Option<i64>)>()
            .fetch_all(&mut *connection)
            .await?
            .into_iter()
            .map(|(id, subject, body, body_html, dictionary_id)| {
                let row = MessageRow {
                    subject,
                    body,
                    body_html,
                    dictionary_id,
                };
                (id, row)
            })
            .collect();
        let mut messages = self.dictionaries.open(&mut connection, rows_read).await?;
        let mut claimed = rows
            .iter()
            .map(|row| claimed_from_row(row, &mut messages))
            .collect::<Result<Vec<_>>>()?;
        claimed.sort_by_key(|delivery| delivery.id);
        Ok(claimed)
    }

    async fn record(&self, transitions: &[Transition]) -> Result<Vec<bool>> {
        let (_turn, mut tx) = self.begin_write().await?;
        let applied = apply_transitions(&mut tx, transitions).await?;
        tx.commit().await?;
        Ok(applied)
    }

    async fn record_receipts(&self, receipts: &[Receipt]) -> Result<Vec<ReceiptEffect>> {
        receipts::record_receipts(self, receipts).await
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
        let mut query = QueryBuilder::<Sqlite>::new(
            "SELECT d.id, d.contact_id, d.state, \
               (SELECT GROUP_CONCAT(o.channel) FROM deliveries o \
                WHERE o.update_id = d.update_id AND o.contact_id = d.contact_id \
                  AND o.channel <> 'sms') AS planned \
             FROM deliveries d WHERE d.update_id = ",
        );
        query
            .push_bind(update_id)
            .push(" AND d.id > ")
            .push_bind(after_id)
            .push(" AND ");
        push_fallback_condition(&mut query, "d.", rule);
        query.push(" ORDER BY d.id LIMIT ").push_bind(limit);
        let rows = query.build().fetch_all(&self.pool).await?;
        rows.iter()
            .map(|row| {
                Ok(FallbackDue {
                    delivery_id: row.try_get("id")?,
                    contact_id: row.try_get("contact_id")?,
                    state: parse_col(row, "state")?,
                    planned: parse_list(
                        row.try_get::<Option<String>, _>("planned")?
                            .unwrap_or_default(),
                    )?,
                })
            })
            .collect()
    }

    async fn plan_fallback(
        &self,
        rule: &FallbackRule,
        plans: &[FallbackPlan],
        at_ms: i64,
    ) -> Result<u64> {
        let (turn, tx) = self.begin_write().await?;
        let mut writer = SqlitePlan {
            tx,
            _turn: turn,
            packer: Packer::default(),
            due_at_ms: Some(at_ms),
            next_id: None,
        };
        let mut created = 0;
        for chunk in plans.chunks(ROWS_PER_STATEMENT) {
            let mut mark = QueryBuilder::<Sqlite>::new("UPDATE deliveries SET fallback_at = ");
            mark.push_bind(at_ms).push(" WHERE id");
            push_in(&mut mark, chunk.iter().map(|plan| plan.sms_delivery_id));
            mark.push(" AND ");
            push_fallback_condition(&mut mark, "", rule);
            mark.push(" RETURNING id, state");
            let marked: HashMap<i64, String> = mark
                .build_query_as::<(i64, String)>()
                .fetch_all(&mut *writer.tx)
                .await?
                .into_iter()
                .collect();
            let taken: Vec<(&FallbackPlan, &String)> = chunk
                .iter()
                .filter_map(|plan| marked.get(&plan.sms_delivery_id).map(|state| (plan, state)))
                .collect();
            if taken.is_empty() {
                continue;
            }
            let rows: Vec<NewDelivery> = taken
                .iter()
                .flat_map(|(plan, _)| plan.rows.iter().cloned())
                .collect();
            created += writer.insert(&rows).await?;
            let mut events = QueryBuilder::<Sqlite>::new(
                "INSERT INTO delivery_events (delivery_id, at, from_state, to_state, detail) ",
            );
            events.push_values(&taken, |mut values, (plan, state)| {
                values
                    .push_bind(plan.sms_delivery_id)
                    .push_bind(at_ms)
                    .push_bind(state.as_str())
                    .push_bind(state.as_str())
                    .push_bind(plan.note.as_str());
            });
            events.build().execute(&mut *writer.tx).await?;
        }
        writer.tx.commit().await?;
        Ok(created)
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
        let mut messages = self
            .dictionaries
            .open(&mut connection, vec![(id, message)])
            .await?;
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

    async fn status(&self, update_id: i64) -> Result<Vec<StatusRow>> {
        let rows = sqlx::query(
            "SELECT state, channel, language, \
               CASE WHEN channel = 'sms' AND instr(gateway_id, ':') > 1 \
                    THEN substr(gateway_id, 1, instr(gateway_id, ':') - 1) END AS gateway, \
               COUNT(*) AS n FROM deliveries \
             WHERE update_id = ? GROUP BY state, channel, language, gateway",
        )
        .bind(update_id)
        .fetch_all(&self.pool)
        .await?;
        rows.iter()
            .map(|row| {
                let count: i64 = row.try_get("n")?;
                Ok(StatusRow {
                    state: parse_col(row, "state")?,
                    channel: parse_col(row, "channel")?,
                    language: parse_col(row, "language")?,
                    gateway: row.try_get("gateway")?,
                    count: u64::try_from(count).unwrap_or_default(),
                })
            })
            .collect()
    }

    async fn unreached(&self, update_id: i64) -> Result<Vec<Unreached>> {
        let rows = sqlx::query(&format!(
            "SELECT {CONTACT_COLUMNS} \
             FROM deliveries d JOIN contacts c ON c.id = d.contact_id \
             WHERE d.update_id = ? GROUP BY c.id \
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
        let mut deliveries: HashMap<i64, Vec<UnreachedDelivery>> = HashMap::new();
        for chunk in contacts.chunks(KEYS_PER_LOOKUP) {
            // In the order they were planned: the first channel tried, then its fallback.
            let mut query = QueryBuilder::<Sqlite>::new(
                "SELECT contact_id, channel, state, last_error FROM deliveries WHERE update_id = ",
            );
            query.push_bind(update_id).push(" AND contact_id");
            push_in(&mut query, chunk.iter().map(|contact| contact.id));
            query.push(" ORDER BY contact_id, id");
            let rows: Vec<(i64, String, String, Option<String>)> =
                query.build_query_as().fetch_all(&self.pool).await?;
            for (contact_id, channel, state, error) in rows {
                deliveries
                    .entry(contact_id)
                    .or_default()
                    .push(UnreachedDelivery {
                        channel: channel.parse().map_err(
                            |error: crate::domain::UnknownChannel| {
                                StoreError::Corrupt(error.to_string())
                            },
                        )?,
                        state: state
                            .parse()
                            .map_err(|error: crate::domain::UnknownState| {
                                StoreError::Corrupt(error.to_string())
                            })?,
                        error,
                    });
            }
        }
        Ok(contacts
            .into_iter()
            .map(|contact| Unreached {
                deliveries: deliveries.remove(&contact.id).unwrap_or_default(),
                contact,
            })
            .collect())
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
