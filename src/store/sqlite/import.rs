//! Merging an export into the database: new records are inserted, known ones updated field
//! by field (each change logged in `import_changes`), unchanged ones left alone — all in one
//! transaction, so a file is imported whole or not at all. A record is known only by one of
//! its identities (`contact_identities`); one that cannot be the contact it matched is kept
//! in `import_conflicts` for a person to decide, and nothing of it is written.

use super::lists::{push_in, KEYS_PER_LOOKUP, ROWS_PER_STATEMENT};
use super::SqliteStore;
use crate::domain::{NewAppointment, NewContact};
use crate::store::merge::{
    decided_conflict, plan_contacts, AppointmentRow, Conflict, Current, KnownOwners,
};
use crate::store::rows::{contact_from_row, CONTACT_COLUMNS};
use crate::store::{ImportCounts, Result, StoreError};
use sqlx::{QueryBuilder, Row, Sqlite, Transaction};
use std::collections::HashMap;

impl SqliteStore {
    pub(super) async fn import_batch(
        &self,
        contacts: &[NewContact],
        appointments: &[NewAppointment],
        source: &str,
        at_ms: i64,
    ) -> Result<ImportCounts> {
        let (_turn, mut tx) = self.begin_write().await?;
        let counts = merge_batch(&mut tx, contacts, appointments, source, at_ms, None).await?;
        tx.commit().await?;
        Ok(counts)
    }

    pub(super) async fn decide(
        &self,
        id: i64,
        accept: bool,
        by: &str,
        at_ms: i64,
    ) -> Result<ImportCounts> {
        let (_turn, mut tx) = self.begin_write().await?;
        let row = sqlx::query(
            "SELECT source, contact_id, record, state FROM import_conflicts WHERE id = ?",
        )
        .bind(id)
        .fetch_optional(&mut *tx)
        .await?
        .ok_or_else(|| StoreError::NotFound(format!("import conflict {id}")))?;
        let mut counts = ImportCounts::default();
        if let Some((contact_id, held, source)) = decided_conflict(id, &row, accept, by)? {
            counts = merge_batch(
                &mut tx,
                std::slice::from_ref(&held.contact),
                &held.appointments,
                &source,
                at_ms,
                Some(contact_id),
            )
            .await?;
        }
        sqlx::query(
            "UPDATE import_conflicts SET state = ?, decided_by = ?, decided_at = ? WHERE id = ?",
        )
        .bind(if accept { "accepted" } else { "rejected" })
        .bind(by)
        .bind(at_ms)
        .bind(id)
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(counts)
    }
}

/// Merges a batch inside `tx`, as [`plan_contacts`] decides.
async fn merge_batch<'a>(
    tx: &mut Transaction<'static, Sqlite>,
    contacts: &'a [NewContact],
    appointments: &'a [NewAppointment],
    source: &str,
    at_ms: i64,
    accepted: Option<i64>,
) -> Result<ImportCounts> {
    let known_owners = load_owners(tx, KnownOwners::of(contacts, appointments)).await?;
    let current = load_contacts(tx, &known_owners.contacts(accepted)).await?;
    let next_id: i64 = sqlx::query_scalar("SELECT COALESCE(MAX(id), 0) + 1 FROM contacts")
        .fetch_one(&mut **tx)
        .await?;
    let mut plan = plan_contacts(contacts, known_owners, current, next_id, accepted)?;
    insert_contacts(tx, &plan.inserts(), at_ms).await?;
    for (id, contact) in plan.updates() {
        sqlx::query(
            "UPDATE contacts SET role = ?, first_name = ?, last_name = ?, language = ?, \
             mobile = ?, phone = ?, email = ?, telegram_chat_id = ?, organisation = ?, \
             birth_date = ?, updated_at = ? WHERE id = ?",
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
        .bind(id)
        .execute(&mut **tx)
        .await?;
    }
    for chunk in plan.new_identities.chunks(ROWS_PER_STATEMENT) {
        let mut query = QueryBuilder::<Sqlite>::new(
            "INSERT INTO contact_identities (kind, system, value, contact_id) ",
        );
        query.push_values(chunk, |mut values, (identity, id)| {
            values
                .push_bind(identity.kind.as_str())
                .push_bind(identity.system.as_str())
                .push_bind(identity.value.as_str())
                .push_bind(*id);
        });
        query.build().execute(&mut **tx).await?;
    }

    let keys: Vec<&str> = appointments
        .iter()
        .map(|a| a.external_id.as_str())
        .collect();
    let known = load_appointments(tx, &keys).await?;
    let booked = plan.plan_appointments(appointments, &known)?;
    for (external_id, row) in &booked.updates {
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
        .bind(external_id)
        .execute(&mut **tx)
        .await?;
    }
    for chunk in booked.inserts.chunks(ROWS_PER_STATEMENT) {
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
        query.build().execute(&mut **tx).await?;
    }
    for chunk in plan.changes.chunks(ROWS_PER_STATEMENT) {
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
        query.build().execute(&mut **tx).await?;
    }
    write_conflicts(tx, &plan.conflicts, source, at_ms).await?;
    Ok(plan.counts)
}

/// Stores each conflict once: the same record matched to the same contact again (the same
/// file imported twice) is counted, not stored twice, whether it is open or was rejected.
async fn write_conflicts(
    tx: &mut Transaction<'static, Sqlite>,
    conflicts: &[Conflict],
    source: &str,
    at_ms: i64,
) -> Result<()> {
    for conflict in conflicts {
        let record = conflict.held_json()?;
        let seen: Option<i64> = sqlx::query_scalar(
            "SELECT id FROM import_conflicts WHERE contact_id IS ? AND record = ? \
             AND state IN ('open', 'rejected')",
        )
        .bind(conflict.contact_id)
        .bind(&record)
        .fetch_optional(&mut **tx)
        .await?;
        if seen.is_some() {
            continue;
        }
        sqlx::query(
            "INSERT INTO import_conflicts (at, source, contact_id, identity, reason, record, \
             state) VALUES (?, ?, ?, ?, ?, ?, 'open')",
        )
        .bind(at_ms)
        .bind(source)
        .bind(conflict.contact_id)
        .bind(&conflict.identity)
        .bind(&conflict.reason)
        .bind(&record)
        .execute(&mut **tx)
        .await?;
    }
    Ok(())
}

async fn load_owners<'a>(
    tx: &mut Transaction<'static, Sqlite>,
    mut known: KnownOwners<'a>,
) -> Result<KnownOwners<'a>> {
    for chunk in known.values().chunks(KEYS_PER_LOOKUP) {
        let mut query = QueryBuilder::<Sqlite>::new(
            "SELECT kind, system, value, contact_id FROM contact_identities WHERE value",
        );
        push_in(&mut query, chunk.iter().copied());
        for row in query.build().fetch_all(&mut **tx).await? {
            known.read(&row)?;
        }
    }
    Ok(known)
}

async fn load_contacts(
    tx: &mut Transaction<'static, Sqlite>,
    ids: &[i64],
) -> Result<HashMap<i64, Current<'static>>> {
    let mut known = HashMap::with_capacity(ids.len());
    for chunk in ids.chunks(KEYS_PER_LOOKUP) {
        let mut query = QueryBuilder::<Sqlite>::new(format!(
            "SELECT {CONTACT_COLUMNS} FROM contacts c WHERE c.id"
        ));
        push_in(&mut query, chunk.iter().copied());
        for row in query.build().fetch_all(&mut **tx).await? {
            let contact = contact_from_row(&row)?;
            known.insert(contact.id, Current::Owned(Box::new(contact.into_new())));
        }
    }
    Ok(known)
}

async fn insert_contacts(
    tx: &mut Transaction<'static, Sqlite>,
    contacts: &[(i64, &NewContact)],
    at_ms: i64,
) -> Result<()> {
    for chunk in contacts.chunks(ROWS_PER_STATEMENT) {
        let mut query = QueryBuilder::<Sqlite>::new(
            "INSERT INTO contacts (id, external_id, role, first_name, last_name, language, \
             mobile, phone, email, telegram_chat_id, organisation, birth_date, created_at, \
             updated_at) ",
        );
        query.push_values(chunk, |mut values, (id, contact)| {
            values
                .push_bind(*id)
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

async fn load_appointments(
    tx: &mut Transaction<'static, Sqlite>,
    keys: &[&str],
) -> Result<HashMap<String, AppointmentRow>> {
    let mut known = HashMap::with_capacity(keys.len());
    for chunk in keys.chunks(KEYS_PER_LOOKUP) {
        let mut query = QueryBuilder::<Sqlite>::new(
            "SELECT external_id, patient_id, gp_id, starts_at, campus, department, practitioner, \
             status FROM appointments WHERE external_id",
        );
        push_in(&mut query, chunk.iter().copied());
        for row in query.build().fetch_all(&mut **tx).await? {
            known.insert(row.try_get("external_id")?, AppointmentRow::from_row(&row)?);
        }
    }
    Ok(known)
}
