//! Merging an export into the database: new records are inserted, known ones updated field
//! by field (each change logged in `import_changes`), unchanged ones left alone — all in one
//! transaction, so a file is imported whole or not at all. A record is known only by one of
//! its identities (`contact_identities`); one that cannot be the contact it matched is kept
//! in `import_conflicts` for a person to decide, and nothing of it is written.

use super::lists::{push_in, KEYS_PER_LOOKUP, ROWS_PER_STATEMENT};
use super::SqliteStore;
use crate::domain::{Identity, NewAppointment, NewContact};
use crate::store::rows::{contact_from_row, CONTACT_COLUMNS};
use crate::store::{ImportCounts, MergeCounts, Result, StoreError};
use sqlx::{QueryBuilder, Row, Sqlite, Transaction};
use std::collections::{BTreeSet, HashMap, HashSet};
use std::ops::Deref;

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

/// A record that shares an identity with a known contact but cannot be that contact.
struct Conflict {
    contact_id: Option<i64>,
    identity: String,
    reason: String,
    record: NewContact,
    appointments: Vec<NewAppointment>,
}

/// What the conflict table keeps of a record: it as the export gave it, and its appointments.
#[derive(serde::Serialize, serde::Deserialize)]
pub(super) struct HeldRecord {
    pub(super) contact: NewContact,
    pub(super) appointments: Vec<NewAppointment>,
}

/// A contact of the batch's map as it will be written: the batch's own record until
/// something merges into it, else boxed. With a `Cow<NewContact>` every entry of the map
/// was as large as a `NewContact` (a few hundred bytes): 27 MB more peak memory for the
/// import benchmark's 100,000 rows.
enum Current<'a> {
    Batch(&'a NewContact),
    Owned(Box<NewContact>),
}

impl Deref for Current<'_> {
    type Target = NewContact;

    fn deref(&self) -> &NewContact {
        match self {
            Current::Batch(contact) => contact,
            Current::Owned(contact) => contact,
        }
    }
}

/// Who an identity of the batch is.
#[derive(Clone, Copy)]
enum Owner {
    Contact(i64),
    /// A record of the batch that conflicts: its appointments wait with it.
    Held(usize),
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
        let state: String = row.try_get("state")?;
        if state != "open" {
            return Err(StoreError::Refused(format!(
                "import conflict {id} is {state} already"
            )));
        }
        let mut counts = ImportCounts::default();
        if accept {
            let contact_id: Option<i64> = row.try_get("contact_id")?;
            let Some(contact_id) = contact_id else {
                return Err(StoreError::Refused(format!(
                    "import conflict {id} names several contacts: it cannot be merged into \
                     one; reject it and correct the export"
                )));
            };
            let record: String = row.try_get("record")?;
            let held: HeldRecord = serde_json::from_str(&record)
                .map_err(|error| StoreError::Corrupt(format!("import conflict {id}: {error}")))?;
            let source: String = row.try_get("source")?;
            counts = merge_batch(
                &mut tx,
                std::slice::from_ref(&held.contact),
                &held.appointments,
                &format!("{source} (conflict {id}, accepted by {by})"),
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

/// Merges a batch inside `tx`. Each record is matched to known contacts by its identities
/// only: none matched, it is new; one, merged unless it disagrees (another role, or another
/// name and birth date), in which case it becomes a conflict and nothing of it is written;
/// several, a conflict too. `accepted`: a conflict a person accepted, merged into that
/// contact whatever it says.
async fn merge_batch<'a>(
    tx: &mut Transaction<'static, Sqlite>,
    contacts: &'a [NewContact],
    appointments: &'a [NewAppointment],
    source: &str,
    at_ms: i64,
    accepted: Option<i64>,
) -> Result<ImportCounts> {
    let mut counts = ImportCounts::default();
    let mut changes = Vec::new();

    let wanted: Vec<&'a Identity> = contacts
        .iter()
        .flat_map(|contact| &contact.identities)
        .chain(
            appointments
                .iter()
                .flat_map(|a| std::iter::once(&a.patient).chain(&a.gp)),
        )
        .collect();
    let known_owners = load_owners(tx, &wanted).await?;
    let mut ids: Vec<i64> = known_owners.values().copied().chain(accepted).collect();
    ids.sort_unstable();
    ids.dedup();
    // Every contact this batch touches, as it will be written; a new one borrowed from the
    // batch until something merges into it (a 100,000-patient file is not copied).
    let mut current: HashMap<i64, Current<'_>> = load_contacts(tx, &ids).await?;
    // Keyed by the batch's own identities, not copies of them.
    let mut owners: HashMap<&'a Identity, Owner> = known_owners
        .into_iter()
        .map(|(identity, id)| (identity, Owner::Contact(id)))
        .collect();
    let mut next_id: i64 = sqlx::query_scalar("SELECT COALESCE(MAX(id), 0) + 1 FROM contacts")
        .fetch_one(&mut **tx)
        .await?;

    let mut fresh: BTreeSet<i64> = BTreeSet::new();
    let mut dirty: BTreeSet<i64> = BTreeSet::new();
    let mut matched_known: BTreeSet<i64> = BTreeSet::new();
    let mut new_identities: Vec<(&'a Identity, i64)> = Vec::new();
    let mut conflicts: Vec<Conflict> = Vec::new();
    for contact in contacts {
        let mut matches: Vec<(&Identity, i64)> = contact
            .identities
            .iter()
            .filter_map(|identity| match owners.get(identity) {
                Some(Owner::Contact(id)) => Some((identity, *id)),
                _ => None,
            })
            .collect();
        let mut matched: Vec<i64> = matches.iter().map(|(_, id)| *id).collect();
        matched.sort_unstable();
        matched.dedup();
        if let Some(id) = accepted {
            matched = vec![id];
            matches.retain(|(_, owner)| *owner == id);
        }
        let conflict = match matched.as_slice() {
            [] => {
                let id = next_id;
                next_id += 1;
                fresh.insert(id);
                current.insert(id, Current::Batch(contact));
                for identity in &contact.identities {
                    if !owners.contains_key(identity) {
                        owners.insert(identity, Owner::Contact(id));
                        new_identities.push((identity, id));
                    }
                }
                None
            }
            [id] => {
                let id = *id;
                let known = current
                    .get(&id)
                    .ok_or_else(|| StoreError::NotFound(format!("contact {id}")))?;
                let disagreement = accepted
                    .is_none()
                    .then(|| contact.disagreement(known))
                    .flatten();
                match disagreement {
                    Some(reason) => Some(Conflict {
                        contact_id: Some(id),
                        identity: matches
                            .first()
                            .map(|(identity, _)| identity.to_string())
                            .unwrap_or_default(),
                        reason,
                        record: contact.clone(),
                        appointments: Vec::new(),
                    }),
                    None => {
                        let is_fresh = fresh.contains(&id);
                        let mut log = Vec::new();
                        if let Some(merged) = merge_contact(
                            known,
                            contact,
                            if is_fresh { &mut log } else { &mut changes },
                        ) {
                            current.insert(id, Current::Owned(Box::new(merged)));
                            if !is_fresh {
                                dirty.insert(id);
                            }
                        }
                        if !is_fresh {
                            matched_known.insert(id);
                        }
                        for identity in &contact.identities {
                            if !owners.contains_key(identity) {
                                owners.insert(identity, Owner::Contact(id));
                                new_identities.push((identity, id));
                            }
                        }
                        None
                    }
                }
            }
            several => Some(Conflict {
                contact_id: None,
                identity: matches
                    .iter()
                    .map(|(identity, _)| identity.to_string())
                    .collect::<Vec<_>>()
                    .join(", "),
                reason: format!("its identities name {} different contacts", several.len()),
                record: contact.clone(),
                appointments: Vec::new(),
            }),
        };
        if let Some(conflict) = conflict {
            // The record's identities stand for it in this batch, not for the contact it
            // matched: its appointments wait with it.
            for identity in &contact.identities {
                owners.insert(identity, Owner::Held(conflicts.len()));
            }
            conflicts.push(conflict);
        }
    }
    counts.contacts.new = fresh.len() as u64;
    counts.contacts.updated = dirty.len() as u64;
    counts.contacts.unchanged = matched_known.difference(&dirty).count() as u64;
    counts.conflicts = conflicts.len() as u64;
    let inserts: Vec<(i64, &NewContact)> = fresh
        .iter()
        .filter_map(|id| Some((*id, &**current.get(id)?)))
        .collect();
    insert_contacts(tx, &inserts, at_ms).await?;
    for id in &dirty {
        let Some(contact) = current.get(id) else {
            continue;
        };
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
    for chunk in new_identities.chunks(ROWS_PER_STATEMENT) {
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

    counts.appointments =
        merge_appointments(tx, appointments, &owners, &mut conflicts, &mut changes).await?;
    for chunk in changes.chunks(ROWS_PER_STATEMENT) {
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
    write_conflicts(tx, &conflicts, source, at_ms).await?;
    Ok(counts)
}

/// Inserts the new appointments and updates the known ones, logging each change; an
/// appointment of a record held as a conflict waits with that conflict.
async fn merge_appointments(
    tx: &mut Transaction<'static, Sqlite>,
    appointments: &[NewAppointment],
    owners: &HashMap<&Identity, Owner>,
    conflicts: &mut [Conflict],
    changes: &mut Vec<Change>,
) -> Result<MergeCounts> {
    let mut counts = MergeCounts::default();
    let keys: Vec<&str> = appointments
        .iter()
        .map(|a| a.external_id.as_str())
        .collect();
    let known = load_appointments(tx, &keys).await?;
    let mut inserts = Vec::new();
    for appointment in appointments {
        let patient_id = match owners.get(&appointment.patient) {
            Some(Owner::Contact(id)) => *id,
            Some(Owner::Held(at)) => {
                conflicts[*at].appointments.push(appointment.clone());
                continue;
            }
            None => {
                return Err(StoreError::NotFound(format!(
                    "patient {} of appointment {}",
                    appointment.patient, appointment.external_id
                )))
            }
        };
        // A GP whose record conflicts is left off until a person decides.
        let gp_id = appointment.gp.as_ref().and_then(|gp| match owners.get(gp) {
            Some(Owner::Contact(id)) => Some(*id),
            _ => None,
        });
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
            counts.unchanged += 1;
            continue;
        }
        counts.updated += 1;
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
        .execute(&mut **tx)
        .await?;
    }
    counts.new = inserts.len() as u64;
    for chunk in inserts.chunks(ROWS_PER_STATEMENT) {
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
    Ok(counts)
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
        let record = serde_json::to_string(&HeldRecord {
            contact: conflict.record.clone(),
            appointments: conflict.appointments.clone(),
        })
        .map_err(|error| StoreError::Corrupt(format!("import conflict: {error}")))?;
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

struct AppointmentRow {
    patient_id: i64,
    gp_id: Option<i64>,
    starts_at: i64,
    campus: String,
    department: String,
    practitioner: Option<String>,
    status: String,
}

/// The known owner of each of `wanted` that has one, keyed by `wanted`'s own identity.
async fn load_owners<'a>(
    tx: &mut Transaction<'static, Sqlite>,
    wanted: &[&'a Identity],
) -> Result<HashMap<&'a Identity, i64>> {
    let mut values: Vec<&str> = wanted
        .iter()
        .map(|identity| identity.value.as_str())
        .collect();
    values.sort_unstable();
    values.dedup();
    let wanted: HashSet<&'a Identity> = wanted.iter().copied().collect();
    let mut owners = HashMap::with_capacity(wanted.len());
    for chunk in values.chunks(KEYS_PER_LOOKUP) {
        let mut query = QueryBuilder::<Sqlite>::new(
            "SELECT kind, system, value, contact_id FROM contact_identities WHERE value",
        );
        push_in(&mut query, chunk.iter().copied());
        for row in query.build().fetch_all(&mut **tx).await? {
            let kind: String = row.try_get("kind")?;
            let identity = Identity {
                kind: kind.parse().map_err(StoreError::Corrupt)?,
                system: row.try_get("system")?,
                value: row.try_get("value")?,
            };
            if let Some(&identity) = wanted.get(&identity) {
                owners.insert(identity, row.try_get("contact_id")?);
            }
        }
    }
    Ok(owners)
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
