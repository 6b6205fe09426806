//! Merging an export into the database: new records are inserted, known ones updated field
//! by field (each change logged in `import_changes`), unchanged ones left alone — all in one
//! transaction, so a file is imported whole or not at all.

use super::sqlite::{contact_from_row, SqliteStore, CONTACT_COLUMNS};
use super::{ImportCounts, Result, StoreError};
use crate::domain::{NewAppointment, NewContact};
use sqlx::{QueryBuilder, Row, Sqlite, Transaction};
use std::collections::HashMap;

/// Keys per `IN (…)` lookup.
const KEYS_PER_LOOKUP: usize = 500;
const ROWS_PER_INSERT: usize = 1_000;

struct Change {
    entity: &'static str,
    external_id: String,
    field: &'static str,
    old: Option<String>,
    new: Option<String>,
}

/// Compares field by field; a field the export leaves empty keeps what we know (an
/// appointments file names a GP's e-mail, the GP file their phone: neither erases the other).
/// Returns the merged contact when anything changed.
fn merge_contact(
    old: &NewContact,
    new: &NewContact,
    changes: &mut Vec<Change>,
) -> Option<NewContact> {
    let mut merged = old.clone();
    let mut changed = Vec::new();
    let mut take = |field: &'static str, current: &mut Option<String>, incoming: Option<String>| {
        if incoming.is_some() && incoming != *current {
            changed.push((field, current.clone(), incoming.clone()));
            *current = incoming;
        }
    };
    let non_empty = |text: &str| (!text.is_empty()).then(|| text.to_string());
    let mut first_name = Some(merged.first_name.clone());
    take("first_name", &mut first_name, non_empty(&new.first_name));
    let mut last_name = Some(merged.last_name.clone());
    take("last_name", &mut last_name, non_empty(&new.last_name));
    let mut role = Some(merged.role.as_str().to_string());
    take("role", &mut role, Some(new.role.as_str().to_string()));
    take("language", &mut merged.language, new.language.clone());
    take("mobile", &mut merged.mobile, new.mobile.clone());
    take("phone", &mut merged.phone, new.phone.clone());
    take("email", &mut merged.email, new.email.clone());
    take(
        "telegram_chat_id",
        &mut merged.telegram_chat_id,
        new.telegram_chat_id.clone(),
    );
    take(
        "organisation",
        &mut merged.organisation,
        new.organisation.clone(),
    );
    let mut birth_date = merged.birth_date.map(|date| date.to_string());
    take(
        "birth_date",
        &mut birth_date,
        new.birth_date.map(|date| date.to_string()),
    );
    if changed.is_empty() {
        return None;
    }
    merged.first_name = first_name.unwrap_or_default();
    merged.last_name = last_name.unwrap_or_default();
    merged.role = new.role;
    merged.birth_date = new.birth_date.or(merged.birth_date);
    changes.extend(changed.into_iter().map(|(field, old, new_value)| Change {
        entity: "contact",
        external_id: new.external_id.clone(),
        field,
        old,
        new: new_value,
    }));
    Some(merged)
}

impl SqliteStore {
    pub(super) async fn import_batch(
        &self,
        contacts: &[NewContact],
        appointments: &[NewAppointment],
        source: &str,
        at_ms: i64,
    ) -> Result<ImportCounts> {
        let (_turn, mut tx) = self.begin_write().await?;
        let mut counts = ImportCounts::default();
        let mut changes = Vec::new();

        let keys: Vec<&str> = contacts.iter().map(|c| c.external_id.as_str()).collect();
        let known = load_contacts(&mut tx, &keys).await?;
        let mut inserts = Vec::new();
        let mut updates = Vec::new();
        for contact in contacts {
            match known.get(&contact.external_id) {
                None => inserts.push(contact),
                Some(old) => match merge_contact(old, contact, &mut changes) {
                    Some(merged) => updates.push(merged),
                    None => counts.contacts.unchanged += 1,
                },
            }
        }
        counts.contacts.new = inserts.len() as u64;
        counts.contacts.updated = updates.len() as u64;
        insert_contacts(&mut tx, &inserts, at_ms).await?;
        for contact in &updates {
            sqlx::query(
                "UPDATE contacts SET role = ?, first_name = ?, last_name = ?, language = ?, \
                 mobile = ?, phone = ?, email = ?, telegram_chat_id = ?, organisation = ?, \
                 birth_date = ?, updated_at = ? WHERE external_id = ?",
            )
            .bind(contact.role.as_str())
            .bind(&contact.first_name)
            .bind(&contact.last_name)
            .bind(&contact.language)
            .bind(&contact.mobile)
            .bind(&contact.phone)
            .bind(&contact.email)
            .bind(&contact.telegram_chat_id)
            .bind(&contact.organisation)
            .bind(contact.birth_date.map(|date| date.to_string()))
            .bind(at_ms)
            .bind(&contact.external_id)
            .execute(&mut *tx)
            .await?;
        }

        let mut people: Vec<&str> = appointments
            .iter()
            .flat_map(|a| {
                std::iter::once(a.patient_external_id.as_str()).chain(a.gp_external_id.as_deref())
            })
            .collect();
        people.sort_unstable();
        people.dedup();
        let ids = contact_ids(&mut tx, &people).await?;
        let keys: Vec<&str> = appointments
            .iter()
            .map(|a| a.external_id.as_str())
            .collect();
        let known = load_appointments(&mut tx, &keys).await?;
        let mut inserts = Vec::new();
        for appointment in appointments {
            let patient_id = *ids.get(&appointment.patient_external_id).ok_or_else(|| {
                StoreError::NotFound(format!(
                    "patient {} of appointment {}",
                    appointment.patient_external_id, appointment.external_id
                ))
            })?;
            let gp_id = appointment
                .gp_external_id
                .as_ref()
                .and_then(|gp| ids.get(gp))
                .copied();
            let row = AppointmentRow {
                patient_id,
                gp_id,
                starts_at: appointment.starts_at.timestamp_millis(),
                campus: appointment.campus.clone(),
                department: appointment.department.clone(),
                practitioner: appointment.practitioner.clone(),
                status: appointment.status.as_str().to_string(),
            };
            let Some(old) = known.get(&appointment.external_id) else {
                inserts.push((appointment.external_id.as_str(), row));
                continue;
            };
            let before = changes.len();
            let mut compare = |field: &'static str, old: String, new: String| {
                if old != new {
                    changes.push(Change {
                        entity: "appointment",
                        external_id: appointment.external_id.clone(),
                        field,
                        old: Some(old),
                        new: Some(new),
                    });
                }
            };
            compare(
                "patient",
                old.patient_id.to_string(),
                row.patient_id.to_string(),
            );
            compare("gp", format!("{:?}", old.gp_id), format!("{:?}", row.gp_id));
            compare(
                "starts_at",
                old.starts_at.to_string(),
                row.starts_at.to_string(),
            );
            compare("campus", old.campus.clone(), row.campus.clone());
            compare("department", old.department.clone(), row.department.clone());
            compare(
                "practitioner",
                old.practitioner.clone().unwrap_or_default(),
                row.practitioner.clone().unwrap_or_default(),
            );
            compare("status", old.status.clone(), row.status.clone());
            if changes.len() == before {
                counts.appointments.unchanged += 1;
                continue;
            }
            counts.appointments.updated += 1;
            sqlx::query(
                "UPDATE appointments SET patient_id = ?, gp_id = ?, starts_at = ?, campus = ?, \
                 department = ?, practitioner = ?, status = ? WHERE external_id = ?",
            )
            .bind(row.patient_id)
            .bind(row.gp_id)
            .bind(row.starts_at)
            .bind(&row.campus)
            .bind(&row.department)
            .bind(&row.practitioner)
            .bind(&row.status)
            .bind(&appointment.external_id)
            .execute(&mut *tx)
            .await?;
        }
        counts.appointments.new = inserts.len() as u64;
        for chunk in inserts.chunks(ROWS_PER_INSERT) {
            let mut query = QueryBuilder::<Sqlite>::new(
                "INSERT INTO appointments (external_id, patient_id, gp_id, starts_at, campus, \
                 department, practitioner, status) ",
            );
            query.push_values(chunk, |mut values, (external_id, row)| {
                values
                    .push_bind(*external_id)
                    .push_bind(row.patient_id)
                    .push_bind(row.gp_id)
                    .push_bind(row.starts_at)
                    .push_bind(row.campus.as_str())
                    .push_bind(row.department.as_str())
                    .push_bind(row.practitioner.as_deref())
                    .push_bind(row.status.as_str());
            });
            query.build().execute(&mut *tx).await?;
        }
        for chunk in changes.chunks(ROWS_PER_INSERT) {
            let mut query = QueryBuilder::<Sqlite>::new(
                "INSERT INTO import_changes (at, source, entity, external_id, field, old_value, \
                 new_value) ",
            );
            query.push_values(chunk, |mut values, change| {
                values
                    .push_bind(at_ms)
                    .push_bind(source)
                    .push_bind(change.entity)
                    .push_bind(change.external_id.as_str())
                    .push_bind(change.field)
                    .push_bind(change.old.as_deref())
                    .push_bind(change.new.as_deref());
            });
            query.build().execute(&mut *tx).await?;
        }
        tx.commit().await?;
        Ok(counts)
    }
}

struct AppointmentRow {
    patient_id: i64,
    gp_id: Option<i64>,
    starts_at: i64,
    campus: String,
    department: String,
    practitioner: Option<String>,
    status: String,
}

async fn load_contacts(
    tx: &mut Transaction<'static, Sqlite>,
    keys: &[&str],
) -> Result<HashMap<String, NewContact>> {
    let mut known = HashMap::with_capacity(keys.len());
    for chunk in keys.chunks(KEYS_PER_LOOKUP) {
        let mut query = QueryBuilder::<Sqlite>::new(format!(
            "SELECT {CONTACT_COLUMNS} FROM contacts c WHERE c.external_id IN ("
        ));
        let mut list = query.separated(", ");
        for key in chunk {
            list.push_bind(*key);
        }
        query.push(")");
        for row in query.build().fetch_all(&mut **tx).await? {
            let contact = contact_from_row(&row)?.into_new();
            known.insert(contact.external_id.clone(), contact);
        }
    }
    Ok(known)
}

async fn insert_contacts(
    tx: &mut Transaction<'static, Sqlite>,
    contacts: &[&NewContact],
    at_ms: i64,
) -> Result<()> {
    for chunk in contacts.chunks(ROWS_PER_INSERT) {
        let mut query = QueryBuilder::<Sqlite>::new(
            "INSERT INTO contacts (external_id, role, first_name, last_name, language, mobile, \
             phone, email, telegram_chat_id, organisation, birth_date, created_at, updated_at) ",
        );
        query.push_values(chunk, |mut values, contact| {
            values
                .push_bind(contact.external_id.as_str())
                .push_bind(contact.role.as_str())
                .push_bind(contact.first_name.as_str())
                .push_bind(contact.last_name.as_str())
                .push_bind(contact.language.as_deref())
                .push_bind(contact.mobile.as_deref())
                .push_bind(contact.phone.as_deref())
                .push_bind(contact.email.as_deref())
                .push_bind(contact.telegram_chat_id.as_deref())
                .push_bind(contact.organisation.as_deref())
                .push_bind(contact.birth_date.map(|date| date.to_string()))
                .push_bind(at_ms)
                .push_bind(at_ms);
        });
        query.build().execute(&mut **tx).await?;
    }
    Ok(())
}

async fn contact_ids(
    tx: &mut Transaction<'static, Sqlite>,
    keys: &[&str],
) -> Result<HashMap<String, i64>> {
    let mut ids = HashMap::with_capacity(keys.len());
    for chunk in keys.chunks(KEYS_PER_LOOKUP) {
        let mut query = QueryBuilder::<Sqlite>::new(
            "SELECT external_id, id FROM contacts WHERE external_id IN (",
        );
        let mut list = query.separated(", ");
        for key in chunk {
            list.push_bind(*key);
        }
        query.push(")");
        for row in query.build().fetch_all(&mut **tx).await? {
            ids.insert(row.try_get("external_id")?, row.try_get("id")?);
        }
    }
    Ok(ids)
}

async fn load_appointments(
    tx: &mut Transaction<'static, Sqlite>,
    keys: &[&str],
) -> Result<HashMap<String, AppointmentRow>> {
    let mut known = HashMap::with_capacity(keys.len());
    for chunk in keys.chunks(KEYS_PER_LOOKUP) {
        let mut query = QueryBuilder::<Sqlite>::new(
            "SELECT external_id, patient_id, gp_id, starts_at, campus, department, practitioner, \
             status FROM appointments WHERE external_id IN (",
        );
        let mut list = query.separated(", ");
        for key in chunk {
            list.push_bind(*key);
        }
        query.push(")");
        for row in query.build().fetch_all(&mut **tx).await? {
            known.insert(
                row.try_get("external_id")?,
                AppointmentRow {
                    patient_id: row.try_get("patient_id")?,
                    gp_id: row.try_get("gp_id")?,
                    starts_at: row.try_get("starts_at")?,
                    campus: row.try_get("campus")?,
                    department: row.try_get("department")?,
                    practitioner: row.try_get("practitioner")?,
                    status: row.try_get("status")?,
                },
            );
        }
    }
    Ok(known)
}
