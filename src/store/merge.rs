//! What an import makes of a batch, whatever the database: which records are new, which
//! known contacts change and how (field by field, each change logged), which records conflict
//! with the contact they match. The backends read what it needs and write what it decides.

use crate::domain::{Contact, Identity, NewAppointment, NewContact};
use crate::store::rows::{identity_from_row, RowExt};
use crate::store::{ConflictState, ImportConflict, ImportCounts, MergeCounts, Result, StoreError};
use std::collections::{BTreeSet, HashMap, HashSet};
use std::ops::Deref;

pub(super) struct Change {
    pub(super) entity: &'static str,
    pub(super) external_id: String,
    pub(super) field: &'static str,
    pub(super) old: Option<String>,
    pub(super) new: Option<String>,
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
pub(super) struct Conflict {
    pub(super) contact_id: Option<i64>,
    pub(super) identity: String,
    pub(super) reason: String,
    record: NewContact,
    appointments: Vec<NewAppointment>,
}

impl Conflict {
    /// The record as the conflict table keeps it (`record`).
    pub(super) fn held_json(&self) -> Result<String> {
        serde_json::to_string(&HeldRecord {
            contact: self.record.clone(),
            appointments: self.appointments.clone(),
        })
        .map_err(|error| StoreError::Corrupt(format!("import conflict: {error}")))
    }
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
pub(super) enum Current<'a> {
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
pub(super) enum Owner {
    Contact(i64),
    /// A record of the batch that conflicts: its appointments wait with it.
    Held(usize),
}

/// An appointment as its table holds it.
pub(super) struct AppointmentRow {
    pub(super) patient_id: i64,
    pub(super) gp_id: Option<i64>,
    pub(super) starts_at: i64,
    pub(super) campus: String,
    pub(super) department: String,
    pub(super) practitioner: Option<String>,
    pub(super) status: String,
}

impl AppointmentRow {
    pub(super) fn from_row(row: &impl RowExt) -> Result<AppointmentRow> {
        Ok(AppointmentRow {
            patient_id: row.int("patient_id")?,
            gp_id: row.opt_int("gp_id")?,
            starts_at: row.int("starts_at")?,
            campus: row.text("campus")?,
            department: row.text("department")?,
            practitioner: row.opt_text("practitioner")?,
            status: row.text("status")?,
        })
    }
}

/// Who the identities a batch names are (its contacts', and its appointments' patients and
/// GPs), as the backend reads them: the known owner of each that has one, keyed by the
/// batch's own identity.
pub(super) struct KnownOwners<'a> {
    wanted: HashSet<&'a Identity>,
    owners: HashMap<&'a Identity, i64>,
}

impl<'a> KnownOwners<'a> {
    pub(super) fn of(contacts: &'a [NewContact], appointments: &'a [NewAppointment]) -> Self {
        let wanted: HashSet<&'a Identity> = contacts
            .iter()
            .flat_map(|contact| &contact.identities)
            .chain(
                appointments
                    .iter()
                    .flat_map(|a| std::iter::once(&a.patient).chain(&a.gp)),
            )
            .collect();
        KnownOwners {
            owners: HashMap::with_capacity(wanted.len()),
            wanted,
        }
    }

    /// The values to look up in `contact_identities`, sorted, each once.
    pub(super) fn values(&self) -> Vec<&'a str> {
        let mut values: Vec<&'a str> = self
            .wanted
            .iter()
            .map(|identity| identity.value.as_str())
            .collect();
        values.sort_unstable();
        values.dedup();
        values
    }

    /// Takes a row of `contact_identities` (all its columns) found by [`KnownOwners::values`].
    pub(super) fn read(&mut self, row: &impl RowExt) -> Result<()> {
        if let Some(&identity) = self.wanted.get(&identity_from_row(row)?) {
            self.owners.insert(identity, row.int("contact_id")?);
        }
        Ok(())
    }

    /// The known contacts the batch touches: the owners of its identities, and the contact a
    /// person accepted a conflict into. Sorted, each once.
    pub(super) fn contacts(&self, accepted: Option<i64>) -> Vec<i64> {
        let mut ids: Vec<i64> = self.owners.values().copied().chain(accepted).collect();
        ids.sort_unstable();
        ids.dedup();
        ids
    }
}

/// What a batch does to the contacts: the backend inserts `fresh`, updates `dirty`, inserts
/// `new_identities`, then the appointments ([`ContactPlan::plan_appointments`]), the
/// `changes` and the `conflicts`.
pub(super) struct ContactPlan<'a> {
    pub(super) counts: ImportCounts,
    /// The batch's new contacts, by the ids they are given, in the batch's order.
    fresh: BTreeSet<i64>,
    dirty: BTreeSet<i64>,
    /// Every contact this batch touches, as it will be written; a new one borrowed from the
    /// batch until something merges into it (a 100,000-patient file is not copied).
    current: HashMap<i64, Current<'a>>,
    /// Keyed by the batch's own identities, not copies of them.
    owners: HashMap<&'a Identity, Owner>,
    pub(super) new_identities: Vec<(&'a Identity, i64)>,
    pub(super) conflicts: Vec<Conflict>,
    pub(super) changes: Vec<Change>,
}

/// Matches each record to known contacts by its identities only: none matched, it is new
/// (numbered from `next_id` on); one, merged unless it disagrees (another role, or another
/// name and birth date), in which case it becomes a conflict and nothing of it is written;
/// several, a conflict too. `accepted`: a conflict a person accepted, merged into that
/// contact whatever it says. `current` holds the known contacts [`KnownOwners::contacts`]
/// names.
pub(super) fn plan_contacts<'a>(
    contacts: &'a [NewContact],
    known_owners: KnownOwners<'a>,
    mut current: HashMap<i64, Current<'a>>,
    mut next_id: i64,
    accepted: Option<i64>,
) -> Result<ContactPlan<'a>> {
    let mut counts = ImportCounts::default();
    let mut changes = Vec::new();
    let mut owners: HashMap<&'a Identity, Owner> = known_owners
        .owners
        .into_iter()
        .map(|(identity, id)| (identity, Owner::Contact(id)))
        .collect();
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
    Ok(ContactPlan {
        counts,
        fresh,
        dirty,
        current,
        owners,
        new_identities,
        conflicts,
        changes,
    })
}

/// What a batch does to the appointments.
pub(super) struct AppointmentPlan<'a> {
    /// By external id.
    pub(super) inserts: Vec<(&'a str, AppointmentRow)>,
    pub(super) updates: Vec<(&'a str, AppointmentRow)>,
}

impl<'a> ContactPlan<'a> {
    /// The new contacts and their ids, in the batch's order.
    pub(super) fn inserts(&self) -> Vec<(i64, &NewContact)> {
        self.fresh
            .iter()
            .filter_map(|id| Some((*id, &**self.current.get(id)?)))
            .collect()
    }

    /// The known contacts that change, as they will be written.
    pub(super) fn updates(&self) -> Vec<(i64, &NewContact)> {
        self.dirty
            .iter()
            .filter_map(|id| Some((*id, &**self.current.get(id)?)))
            .collect()
    }

    /// Gives the new contacts `ids` (as many, ascending) in place of the ones they were
    /// planned with: for a database that hands out ids itself.
    pub(super) fn renumber(&mut self, ids: &[i64]) {
        let given: HashMap<i64, i64> = self
            .fresh
            .iter()
            .copied()
            .zip(ids.iter().copied())
            .collect();
        let new = |id: i64| given.get(&id).copied().unwrap_or(id);
        self.fresh = self.fresh.iter().map(|id| new(*id)).collect();
        self.current = std::mem::take(&mut self.current)
            .into_iter()
            .map(|(id, contact)| (new(id), contact))
            .collect();
        for owner in self.owners.values_mut() {
            if let Owner::Contact(id) = owner {
                *id = new(*id);
            }
        }
        for (_, id) in &mut self.new_identities {
            *id = new(*id);
        }
        for conflict in &mut self.conflicts {
            conflict.contact_id = conflict.contact_id.map(new);
        }
    }

    /// Compares the batch's appointments with the `known` ones (by external id), logging
    /// each change and counting them; an appointment of a record held as a conflict waits
    /// with that conflict. Call after [`ContactPlan::renumber`], if at all.
    pub(super) fn plan_appointments(
        &mut self,
        appointments: &'a [NewAppointment],
        known: &HashMap<String, AppointmentRow>,
    ) -> Result<AppointmentPlan<'a>> {
        let mut counts = MergeCounts::default();
        let mut plan = AppointmentPlan {
            inserts: Vec::new(),
            updates: Vec::new(),
        };
        for appointment in appointments {
            let patient_id = match self.owners.get(&appointment.patient) {
                Some(Owner::Contact(id)) => *id,
                Some(Owner::Held(at)) => {
                    self.conflicts[*at].appointments.push(appointment.clone());
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
            let gp_id = appointment
                .gp
                .as_ref()
                .and_then(|gp| match self.owners.get(gp) {
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
                plan.inserts.push((appointment.external_id.as_str(), row));
                continue;
            };
            let before = self.changes.len();
            let mut compare = |field: &'static str, old: String, new: String| {
                if old != new {
                    self.changes.push(Change {
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
            if self.changes.len() == before {
                counts.unchanged += 1;
                continue;
            }
            counts.updated += 1;
            plan.updates.push((appointment.external_id.as_str(), row));
        }
        counts.new = plan.inserts.len() as u64;
        self.counts.appointments = counts;
        Ok(plan)
    }
}

/// A conflict a person decides, as its row gives it: refused unless open; when accepted, the
/// contact it names, its record, and the source to log its changes under.
pub(super) fn decided_conflict(
    id: i64,
    row: &impl RowExt,
    accept: bool,
    by: &str,
) -> Result<Option<(i64, HeldRecord, String)>> {
    let state = row.text("state")?;
    if state != "open" {
        return Err(StoreError::Refused(format!(
            "import conflict {id} is {state} already"
        )));
    }
    if !accept {
        return Ok(None);
    }
    let Some(contact_id) = row.opt_int("contact_id")? else {
        return Err(StoreError::Refused(format!(
            "import conflict {id} names several contacts: it cannot be merged into \
             one; reject it and correct the export"
        )));
    };
    let held = held_record(id, &row.text("record")?)?;
    let source = row.text("source")?;
    Ok(Some((
        contact_id,
        held,
        format!("{source} (conflict {id}, accepted by {by})"),
    )))
}

pub(super) fn held_record(id: i64, record: &str) -> Result<HeldRecord> {
    serde_json::from_str(record)
        .map_err(|error| StoreError::Corrupt(format!("import conflict {id}: {error}")))
}

/// A row of `import_conflicts` (all its columns), with the contact it names, read already.
pub(super) fn import_conflict_from_row(
    row: &impl RowExt,
    contact: Option<Contact>,
) -> Result<ImportConflict> {
    let id = row.int("id")?;
    let held = held_record(id, &row.text("record")?)?;
    let state = row.text("state")?;
    Ok(ImportConflict {
        id,
        at_ms: row.int("at")?,
        source: row.text("source")?,
        contact,
        identity: row.text("identity")?,
        reason: row.text("reason")?,
        record: held.contact,
        appointments: held.appointments,
        state: match state.as_str() {
            "open" => ConflictState::Open,
            "accepted" => ConflictState::Accepted,
            "rejected" => ConflictState::Rejected,
            other => return Err(StoreError::Corrupt(format!("conflict state {other}"))),
        },
        decided_by: row.opt_text("decided_by")?,
    })
}
