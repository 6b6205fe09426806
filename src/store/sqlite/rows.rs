//! Rows read back into the domain's types.

use crate::domain::{Appointment, AppointmentStatus, AudienceSpec, Contact, Language};
use crate::store::{Result, StoreError};
use sqlx::sqlite::SqliteRow;
use sqlx::Row;
use std::str::FromStr;

pub(super) fn parse_date(raw: Option<String>) -> Result<Option<chrono::NaiveDate>> {
    raw.map(|date| {
        date.parse()
            .map_err(|_| StoreError::Corrupt(format!("date {date}")))
    })
    .transpose()
}

pub(super) const CONTACT_COLUMNS: &str = "c.id, c.external_id, c.role, c.first_name, c.last_name, \
     c.language, c.mobile, c.phone, c.email, c.telegram_chat_id, c.telegram_language, c.organisation, c.birth_date";

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
        telegram_language: row
            .try_get::<Option<String>, _>("telegram_language")?
            .map(|code| {
                Language::parse(&code)
                    .map_err(|_| StoreError::Corrupt(format!("Telegram language {code:?}")))
            })
            .transpose()?,
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

pub(super) fn appointment_from_row(row: &SqliteRow) -> Result<Appointment> {
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

pub(super) fn parse_col<T>(row: &SqliteRow, column: &str) -> Result<T>
where
    T: FromStr,
    T::Err: std::fmt::Display,
{
    let raw: String = row.try_get(column)?;
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

/// In SQL, the gateway's name in a `gateway_id` column: what comes before the first colon of
/// [`GatewayId`](crate::domain::GatewayId)'s written form.
pub(super) fn gateway_of(column: &str) -> String {
    format!("substr({column}, 1, instr({column}, ':') - 1)")
}
