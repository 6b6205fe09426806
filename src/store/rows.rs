//! Rows read back into the domain's types, the same for every backend: both keep text as
//! text and ids, counts and times (ms) as 64-bit integers.

use crate::domain::{
    Appointment, AppointmentStatus, AudienceSpec, CapFields, Certainty, ChannelKind, Contact,
    Identity, Language, PublicReference, ResponseType, Severity, Update, UpdateKind, UpdateState,
    UpdateText, Urgency,
};
use crate::store::{
    BookedPlace, FailureRow, Result, Review, StatusRow, StoreError, Unreached, UnreachedDelivery,
    UpdateEvent, Verdict,
};
use sqlx::{ColumnIndex, Decode, Row, Type};
use std::collections::HashMap;
use std::str::FromStr;

/// A row of either backend, read column by column into the few types the store keeps.
pub(super) trait RowExt {
    fn text(&self, column: &str) -> Result<String>;
    fn opt_text(&self, column: &str) -> Result<Option<String>>;
    fn int(&self, column: &str) -> Result<i64>;
    fn opt_int(&self, column: &str) -> Result<Option<i64>>;
}

impl<R> RowExt for R
where
    R: Row,
    for<'c> &'c str: ColumnIndex<R>,
    String: for<'r> Decode<'r, R::Database> + Type<R::Database>,
    i64: for<'r> Decode<'r, R::Database> + Type<R::Database>,
{
    fn text(&self, column: &str) -> Result<String> {
        Ok(self.try_get(column)?)
    }

    fn opt_text(&self, column: &str) -> Result<Option<String>> {
        Ok(self.try_get(column)?)
    }

    fn int(&self, column: &str) -> Result<i64> {
        Ok(self.try_get(column)?)
    }

    fn opt_int(&self, column: &str) -> Result<Option<i64>> {
        Ok(self.try_get(column)?)
    }
}

pub(super) fn parse_date(raw: Option<String>) -> Result<Option<chrono::NaiveDate>> {
    raw.map(|date| {
        date.parse()
            .map_err(|_| StoreError::Corrupt(format!("date {date}")))
    })
    .transpose()
}

pub(super) const CONTACT_COLUMNS: &str = "c.id, c.external_id, c.role, c.first_name, c.last_name, \
     c.language, c.mobile, c.phone, c.email, c.telegram_chat_id, c.telegram_language, c.organisation, c.birth_date";

pub(super) fn contact_from_row<R: RowExt>(row: &R) -> Result<Contact> {
    Ok(Contact {
        id: row.int("id")?,
        external_id: row.text("external_id")?,
        role: parse_col(row, "role")?,
        first_name: row.text("first_name")?,
        last_name: row.text("last_name")?,
        language: row.opt_text("language")?,
        mobile: row.opt_text("mobile")?,
        phone: row.opt_text("phone")?,
        email: row.opt_text("email")?,
        telegram_chat_id: row.opt_text("telegram_chat_id")?,
        telegram_language: row
            .opt_text("telegram_language")?
            .map(|code| {
                Language::parse(&code)
                    .map_err(|_| StoreError::Corrupt(format!("Telegram language {code:?}")))
            })
            .transpose()?,
        organisation: row.opt_text("organisation")?,
        birth_date: row
            .opt_text("birth_date")?
            .map(|date| {
                date.parse()
                    .map_err(|_| StoreError::Corrupt(format!("birth date {date}")))
            })
            .transpose()?,
        opted_out: Vec::new(),
    })
}

/// A row of `contact_identities`.
pub(super) fn identity_from_row(row: &impl RowExt) -> Result<Identity> {
    Ok(Identity {
        kind: row.text("kind")?.parse().map_err(StoreError::Corrupt)?,
        system: row.text("system")?,
        value: row.text("value")?,
    })
}

/// A row of the booked places' query: campus, department, appointments, first_ms, last_ms.
pub(super) fn booked_place_from_row(row: &impl RowExt) -> Result<BookedPlace> {
    Ok(BookedPlace {
        campus: row.text("campus")?,
        department: row.text("department")?,
        appointments: row.int("appointments")?.try_into().unwrap_or(0),
        first_ms: row.int("first_ms")?,
        last_ms: row.int("last_ms")?,
    })
}

pub(super) fn appointment_from_row<R: RowExt>(row: &R) -> Result<Appointment> {
    let starts_at = row.int("starts_at")?;
    let status = row.text("status")?;
    Ok(Appointment {
        external_id: row.text("external_id")?,
        starts_at: chrono::DateTime::from_timestamp_millis(starts_at)
            .ok_or_else(|| StoreError::Corrupt(format!("appointment time {starts_at}")))?,
        campus: row.text("campus")?,
        department: row.text("department")?,
        practitioner: row.opt_text("practitioner")?,
        status: match status.as_str() {
            "booked" => AppointmentStatus::Booked,
            "cancelled" => AppointmentStatus::Cancelled,
            other => return Err(StoreError::Corrupt(format!("appointment status {other}"))),
        },
    })
}

pub(super) fn parse_col<T>(row: &impl RowExt, column: &str) -> Result<T>
where
    T: FromStr,
    T::Err: std::fmt::Display,
{
    let raw = row.text(column)?;
    raw.parse()
        .map_err(|error| StoreError::Corrupt(format!("{column}: {error}")))
}

pub(super) fn parse_list<T>(raw: String) -> Result<Vec<T>>
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

pub(super) fn parse_audiences(raw: String) -> Result<Vec<AudienceSpec>> {
    let specs: Vec<String> = serde_json::from_str(&raw)
        .map_err(|error| StoreError::Corrupt(format!("audiences {raw}: {error}")))?;
    specs
        .iter()
        .map(|spec| {
            AudienceSpec::parse(spec).map_err(|error| StoreError::Corrupt(error.to_string()))
        })
        .collect()
}

/// `audiences` as stored: a JSON list of the specs as written, which [`parse_audiences`]
/// reads back.
pub(super) fn audiences_column(audiences: &[AudienceSpec]) -> Result<String> {
    let specs: Vec<String> = audiences.iter().map(ToString::to_string).collect();
    serde_json::to_string(&specs).map_err(|error| StoreError::Corrupt(error.to_string()))
}

/// `channels` as stored: comma-separated, which [`parse_list`] reads back.
pub(super) fn channels_column(channels: &[ChannelKind]) -> String {
    channels
        .iter()
        .map(|channel| channel.as_str())
        .collect::<Vec<_>>()
        .join(",")
}

/// A row of `update_texts`: language, title, body, sms.
pub(super) fn update_text_from_row(row: &impl RowExt) -> Result<(Language, UpdateText)> {
    Ok((
        parse_col(row, "language")?,
        UpdateText {
            title: row.text("title")?,
            body: row.text("body")?,
            sms: row.text("sms")?,
        },
    ))
}

/// A row of `updates` (every column), with its texts.
pub(super) fn update_from_row(
    row: &impl RowExt,
    mut texts: HashMap<Language, UpdateText>,
) -> Result<Update> {
    let id = row.int("id")?;
    let mut text = |language: Language| {
        texts
            .remove(&language)
            .ok_or_else(|| StoreError::Corrupt(format!("update {id} has no {language} text")))
    };
    let corrupt = |error: String| StoreError::Corrupt(format!("update {id}: {error}"));
    let cap = CapFields {
        urgency: row
            .opt_text("cap_urgency")?
            .map(|value| Urgency::parse(&value).map_err(corrupt))
            .transpose()?,
        severity: row
            .opt_text("cap_severity")?
            .map(|value| Severity::parse(&value).map_err(corrupt))
            .transpose()?,
        certainty: row
            .opt_text("cap_certainty")?
            .map(|value| Certainty::parse(&value).map_err(corrupt))
            .transpose()?,
        response_type: row
            .opt_text("cap_response_type")?
            .map(|value| ResponseType::parse(&value).map_err(corrupt))
            .transpose()?,
    };
    Ok(Update {
        id,
        reference: PublicReference::from_stored(row.text("reference")?),
        incident_id: row.text("incident_id")?,
        kind: parse_col::<UpdateKind>(row, "kind")?,
        follows: row.opt_int("follows")?,
        audiences: parse_audiences(row.text("audiences")?)?,
        channels: parse_list(row.text("channels")?)?,
        appointments: parse_col(row, "appointments")?,
        state: parse_col::<UpdateState>(row, "state")?,
        author: row.text("author")?,
        approved_by: row.opt_text("approved_by")?,
        approved_at_ms: row.opt_int("approved_at")?,
        created_at_ms: row.int("created_at")?,
        cap,
        paused: row.opt_text("paused_reason")?,
        send_at_ms: row.opt_int("send_at")?,
        nl: text(Language::Nl)?,
        fr: text(Language::Fr)?,
        en: text(Language::En)?,
    })
}

/// A row of `reviews`: update_id, at, by_whom, verdict, comment.
pub(super) fn review_from_row(row: &impl RowExt) -> Result<Review> {
    let update_id = row.int("update_id")?;
    let verdict = match row.text("verdict")?.as_str() {
        "approved" => Verdict::Approved,
        "returned" => Verdict::Returned,
        other => {
            return Err(StoreError::Corrupt(format!(
                "review of update {update_id}: verdict {other:?}"
            )))
        }
    };
    Ok(Review {
        update_id,
        at_ms: row.int("at")?,
        by: row.text("by_whom")?,
        verdict,
        comment: row.opt_text("comment")?,
    })
}

/// A row of the status counts: state, channel, language, role, gateway, n.
pub(super) fn status_row_from_row(row: &impl RowExt) -> Result<StatusRow> {
    Ok(StatusRow {
        state: parse_col(row, "state")?,
        channel: parse_col(row, "channel")?,
        language: parse_col(row, "language")?,
        audience: parse_col(row, "role")?,
        gateway: row.opt_text("gateway")?,
        count: u64::try_from(row.int("n")?).unwrap_or_default(),
    })
}

/// A row of the failure counts: channel, state, last_error, n.
pub(super) fn failure_row_from_row(row: &impl RowExt) -> Result<FailureRow> {
    Ok(FailureRow {
        channel: parse_col(row, "channel")?,
        state: parse_col(row, "state")?,
        reason: row.opt_text("last_error")?,
        count: u64::try_from(row.int("n")?).unwrap_or_default(),
    })
}

/// A row of `update_events`: at, action, by_whom, detail.
pub(super) fn update_event_from_row(row: &impl RowExt) -> Result<UpdateEvent> {
    Ok(UpdateEvent {
        at_ms: row.int("at")?,
        action: row.text("action")?,
        by: row.opt_text("by_whom")?,
        detail: row.opt_text("detail")?,
    })
}

/// The contacts no delivery reached, each with its deliveries: `rows` of `deliveries`
/// (contact_id, channel, state, last_error) in the order they were planned.
pub(super) fn unreached_from_rows(
    contacts: Vec<Contact>,
    rows: &[impl RowExt],
) -> Result<Vec<Unreached>> {
    let mut deliveries: HashMap<i64, Vec<UnreachedDelivery>> = HashMap::new();
    for row in rows {
        deliveries
            .entry(row.int("contact_id")?)
            .or_default()
            .push(UnreachedDelivery {
                channel: parse_col(row, "channel")?,
                state: parse_col(row, "state")?,
                error: row.opt_text("last_error")?,
            });
    }
    Ok(contacts
        .into_iter()
        .map(|contact| Unreached {
            deliveries: deliveries.remove(&contact.id).unwrap_or_default(),
            contact,
        })
        .collect())
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

#[cfg(test)]
mod tests {
    use super::*;

    const A_CONTACT: &str = "SELECT 7 AS id, 'P1' AS external_id, 'patient' AS role, \
        'Ann' AS first_name, 'Peeters' AS last_name, 'nl' AS language, '+32470000000' AS mobile, \
        NULL AS phone, NULL AS email, NULL AS telegram_chat_id, 'fr' AS telegram_language, \
        NULL AS organisation, '1980-02-29' AS birth_date";

    #[tokio::test]
    async fn both_backends_read_a_contact_alike() {
        let sqlite = sqlx::SqlitePool::connect("sqlite::memory:")
            .await
            .expect("in-memory SQLite");
        let row = sqlx::query(A_CONTACT)
            .fetch_one(&sqlite)
            .await
            .expect("SQLite row");
        let from_sqlite = contact_from_row(&row).expect("SQLite contact");
        assert_eq!(from_sqlite.telegram_language, Some(Language::Fr));
        assert_eq!(
            from_sqlite.birth_date.map(|d| d.to_string()).as_deref(),
            Some("1980-02-29")
        );

        let Some(url) = crate::store::postgres::testing::fresh_schema_url("rows").await else {
            return;
        };
        let postgres = sqlx::PgPool::connect(&url).await.expect("PostgreSQL");
        // PostgreSQL types a bare literal as int4 or unknown: the casts give the schema's types.
        let typed = A_CONTACT
            .replace("7 AS id", "7::bigint AS id")
            .replace("NULL AS", "NULL::text AS");
        let row = sqlx::query(&typed)
            .fetch_one(&postgres)
            .await
            .expect("PostgreSQL row");
        assert_eq!(
            contact_from_row(&row).expect("PostgreSQL contact"),
            from_sqlite
        );
    }
}
