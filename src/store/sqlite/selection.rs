//! Who a selection takes: the contacts, with their appointments, opt-outs and, for GPs, the
//! patients they are told about.

use super::SqliteStore;
use crate::domain::{
    Appointment, AppointmentWindow, ChannelKind, Language, PatientLanguage, Role, Selection,
};
use crate::store::rows::{appointment_from_row, contact_from_row, parse_col, parse_date};
use crate::store::{AffectedPatient, Recipient, Result};
use sqlx::sqlite::SqliteRow;
use sqlx::{QueryBuilder, Row, Sqlite};
use std::collections::HashMap;

/// The contacts (alias `c`) a selection takes.
pub(super) fn push_selection(query: &mut QueryBuilder<'_, Sqlite>, selection: &Selection) {
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
        Selection::Public => {
            query.push("c.role = 'public' AND c.telegram_chat_id IS NOT NULL");
        }
    }
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

impl SqliteStore {
    /// Completes rows read with [`push_selection`] as that selection gives them.
    pub(super) async fn complete_selection(
        &self,
        selection: &Selection,
        rows: Vec<SqliteRow>,
    ) -> Result<Vec<Recipient>> {
        match selection {
            Selection::Patients(window) => self.complete_page(rows, Some(window), None).await,
            Selection::GpsOf(windows) => self.complete_page(rows, None, Some(windows)).await,
            Selection::AllGps | Selection::Media | Selection::Public => {
                self.complete_page(rows, None, None).await
            }
        }
    }

    /// Completes a page of contacts: their appointments (all booked ones, or those in
    /// `window`), their opt-outs, and for GPs of affected patients those patients.
    pub(super) async fn complete_page(
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
