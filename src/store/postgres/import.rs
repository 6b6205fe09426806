//! Merging an export into PostgreSQL: [`crate::store::merge`] decides what the batch does,
//! this reads what it needs and writes what it decided, in one transaction, many rows per
//! statement (`UNNEST` arrays).
//!
//! Several processes may import at once, and the bot and `readdress` change contacts
//! meanwhile. Nothing is locked while the batch is read and planned; what was read is
//! checked when it is written, and a transaction that lost a race is rolled back and run
//! again from the start ([`retrying`]), reading what the winner committed:
//! - a new identity is inserted without `ON CONFLICT`: the primary key of
//!   `contact_identities` decides which of two imports of one new identity creates its
//!   contact; the other fails on the key (after waiting for the winner's commit) and, run
//!   again, finds the identity known and merges into that contact. Identities are never
//!   moved or deleted, so a known owner stays true;
//! - a new appointment likewise, on `appointments.external_id`;
//! - a known contact or appointment is updated only if its row version (`xmin`) is still the
//!   one read: another writer's commit in between, and the update touches fewer rows than
//!   planned;
//! - a conflict is stored once: identical records wait on an advisory lock on their hash
//!   before looking for an earlier copy.

use super::PostgresStore;
use crate::domain::{Identity, NewAppointment, NewContact};
use crate::store::merge::{
    decided_conflict, plan_contacts, AppointmentRow, Conflict, Current, KnownOwners,
};
use crate::store::rows::{contact_from_row, CONTACT_COLUMNS};
use crate::store::{ImportCounts, Result, StoreError};
use sqlx::postgres::PgArguments;
use sqlx::query::Query;
use sqlx::{Postgres, Row, Transaction};
use std::collections::{HashMap, HashSet};
use std::future::Future;

/// How many times a transaction that lost a race is run.
const ATTEMPTS: u32 = 5;

/// The advisory locks' first key for conflicts (the second: the record's hash).
const CONFLICT_LOCKS: i32 = 0x696d_6366;

/// The unique keys whose violation means another transaction got there first.
const RACED_KEYS: [&str; 2] = ["contact_identities_pkey", "appointments_external_id_key"];

/// Runs `transaction` until it does not lose a race (see the module's comment), at most
/// [`ATTEMPTS`] times. The transaction says None when a row it read changed before it wrote.
async fn retrying<T, F, Fut>(mut transaction: F) -> Result<T>
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Result<Option<T>>>,
{
    for _ in 1..ATTEMPTS {
        match transaction().await {
            Ok(Some(done)) => return Ok(done),
            Ok(None) => {}
            Err(error) if lost_race(&error) => {}
            Err(error) => return Err(error),
        }
    }
    transaction().await?.ok_or_else(|| {
        StoreError::Refused(format!(
            "the contacts changed under this import {ATTEMPTS} times in a row: run it again"
        ))
    })
}

fn lost_race(error: &StoreError) -> bool {
    let StoreError::Db(sqlx::Error::Database(error)) = error else {
        return false;
    };
    match error.code().as_deref() {
        // A deadlock, or a serialization failure.
        Some("40P01" | "40001") => true,
        // A unique violation.
        Some("23505") => error
            .constraint()
            .is_some_and(|key| RACED_KEYS.contains(&key)),
        _ => false,
    }
}

pub(super) async fn import(
    store: &PostgresStore,
    contacts: &[NewContact],
    appointments: &[NewAppointment],
    source: &str,
    at_ms: i64,
) -> Result<ImportCounts> {
    retrying(|| async {
        let mut tx = store.pool().begin().await?;
        let Some(counts) =
            merge_batch(&mut tx, contacts, appointments, source, at_ms, None).await?
        else {
            return Ok(None);
        };
        tx.commit().await?;
        Ok(Some(counts))
    })
    .await
}

pub(super) async fn decide_conflict(
    store: &PostgresStore,
    id: i64,
    accept: bool,
    by: &str,
    at_ms: i64,
) -> Result<ImportCounts> {
    retrying(|| async {
        let mut tx = store.pool().begin().await?;
        // Two people deciding at once: the second waits here, then finds it decided.
        let row = sqlx::query(
            "SELECT source, contact_id, record, state FROM import_conflicts WHERE id = $1 \
             FOR UPDATE",
        )
        .bind(id)
        .fetch_optional(&mut *tx)
        .await?
        .ok_or_else(|| StoreError::NotFound(format!("import conflict {id}")))?;
        let mut counts = ImportCounts::default();
        if let Some((contact_id, held, source)) = decided_conflict(id, &row, accept, by)? {
            let merged = merge_batch(
                &mut tx,
                std::slice::from_ref(&held.contact),
                &held.appointments,
                &source,
                at_ms,
                Some(contact_id),
            )
            .await?;
            let Some(merged) = merged else {
                return Ok(None);
            };
            counts = merged;
        }
        sqlx::query(
            "UPDATE import_conflicts SET state = $1, decided_by = $2, decided_at = $3 \
             WHERE id = $4",
        )
        .bind(if accept { "accepted" } else { "rejected" })
        .bind(by)
        .bind(at_ms)
        .bind(id)
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(Some(counts))
    })
    .await
}

/// Merges a batch inside `tx`, as [`plan_contacts`] decides; None when a row it read
/// changed before it wrote.
async fn merge_batch<'a>(
    tx: &mut Transaction<'static, Postgres>,
    contacts: &'a [NewContact],
    appointments: &'a [NewAppointment],
    source: &str,
    at_ms: i64,
    accepted: Option<i64>,
) -> Result<Option<ImportCounts>> {
    let known_owners = load_owners(tx, KnownOwners::of(contacts, appointments)).await?;
    let (current, versions) = load_contacts(tx, &known_owners.contacts(accepted)).await?;
    // Below zero, apart from every id, until the sequence numbers them.
    let provisional = -i64::try_from(contacts.len()).unwrap_or(i64::MAX) - 1;
    let mut plan = plan_contacts(contacts, known_owners, current, provisional, accepted)?;
    let inserts = plan.inserts().len();
    if inserts > 0 {
        let ids: Vec<i64> = sqlx::query_scalar(
            "SELECT nextval(pg_get_serial_sequence('contacts', 'id')) AS id \
             FROM generate_series(1, $1) ORDER BY id",
        )
        .bind(i64::try_from(inserts).unwrap_or(i64::MAX))
        .fetch_all(&mut **tx)
        .await?;
        plan.renumber(&ids);
    }
    insert_contacts(tx, &plan.inserts(), at_ms).await?;
    if !update_contacts(tx, &plan.updates(), &versions, at_ms).await? {
        return Ok(None);
    }
    insert_identities(tx, &plan.new_identities).await?;

    let keys: Vec<&str> = appointments
        .iter()
        .map(|a| a.external_id.as_str())
        .collect();
    let (known, versions) = load_appointments(tx, &keys).await?;
    let booked = plan.plan_appointments(appointments, &known)?;
    if !update_appointments(tx, &booked.updates, &versions).await? {
        return Ok(None);
    }
    insert_appointments(tx, &booked.inserts).await?;

    let (mut entities, mut external_ids, mut fields, mut olds, mut news) =
        (Vec::new(), Vec::new(), Vec::new(), Vec::new(), Vec::new());
    for change in &plan.changes {
        entities.push(change.entity);
        external_ids.push(change.external_id.as_str());
        fields.push(change.field);
        olds.push(change.old.as_deref());
        news.push(change.new.as_deref());
    }
    if !entities.is_empty() {
        sqlx::query(
            "INSERT INTO import_changes (at, source, entity, external_id, field, old_value, \
             new_value) SELECT $1, $2, entity, external_id, field, old_value, new_value \
             FROM UNNEST($3::text[], $4::text[], $5::text[], $6::text[], $7::text[]) \
             WITH ORDINALITY AS c(entity, external_id, field, old_value, new_value, n) \
             ORDER BY n",
        )
        .bind(at_ms)
        .bind(source)
        .bind(&entities)
        .bind(&external_ids)
        .bind(&fields)
        .bind(&olds)
        .bind(&news)
        .execute(&mut **tx)
        .await?;
    }
    write_conflicts(tx, &plan.conflicts, source, at_ms).await?;
    Ok(Some(plan.counts))
}

async fn load_owners<'a>(
    tx: &mut Transaction<'static, Postgres>,
    mut known: KnownOwners<'a>,
) -> Result<KnownOwners<'a>> {
    let rows = sqlx::query(
        "SELECT kind, system, value, contact_id FROM contact_identities WHERE value = ANY($1)",
    )
    .bind(known.values())
    .fetch_all(&mut **tx)
    .await?;
    for row in &rows {
        known.read(row)?;
    }
    Ok(known)
}

async fn load_contacts(
    tx: &mut Transaction<'static, Postgres>,
    ids: &[i64],
) -> Result<(HashMap<i64, Current<'static>>, HashMap<i64, String>)> {
    let rows = sqlx::query(&format!(
        "SELECT {CONTACT_COLUMNS}, c.xmin::text AS version FROM contacts c WHERE c.id = ANY($1)"
    ))
    .bind(ids)
    .fetch_all(&mut **tx)
    .await?;
    let mut known = HashMap::with_capacity(rows.len());
    let mut versions = HashMap::with_capacity(rows.len());
    for row in &rows {
        let contact = contact_from_row(row)?;
        versions.insert(contact.id, row.try_get("version")?);
        known.insert(contact.id, Current::Owned(Box::new(contact.into_new())));
    }
    Ok((known, versions))
}

/// The columns of contacts as they are written, one array each.
#[derive(Default)]
struct ContactColumns<'c> {
    ids: Vec<i64>,
    external_ids: Vec<&'c str>,
    roles: Vec<&'static str>,
    first_names: Vec<&'c str>,
    last_names: Vec<&'c str>,
    languages: Vec<Option<&'c str>>,
    mobiles: Vec<Option<&'c str>>,
    phones: Vec<Option<&'c str>>,
    emails: Vec<Option<&'c str>>,
    telegram_chat_ids: Vec<Option<&'c str>>,
    organisations: Vec<Option<&'c str>>,
    birth_dates: Vec<Option<String>>,
}

impl<'c> ContactColumns<'c> {
    fn of(contacts: &[(i64, &'c NewContact)]) -> Self {
        let mut columns = ContactColumns::default();
        for (id, contact) in contacts {
            columns.ids.push(*id);
            columns.external_ids.push(&contact.external_id);
            columns.roles.push(contact.role.as_str());
            columns.first_names.push(&contact.first_name);
            columns.last_names.push(&contact.last_name);
            columns.languages.push(contact.language.as_deref());
            columns.mobiles.push(contact.mobile.as_deref());
            columns.phones.push(contact.phone.as_deref());
            columns.emails.push(contact.email.as_deref());
            columns
                .telegram_chat_ids
                .push(contact.telegram_chat_id.as_deref());
            columns.organisations.push(contact.organisation.as_deref());
            columns
                .birth_dates
                .push(contact.birth_date.map(|date| date.to_string()));
        }
        columns
    }

    /// Binds the columns from `role` to `birth_date`, in the table's order.
    fn bind_fields<'q>(
        &'q self,
        query: Query<'q, Postgres, PgArguments>,
    ) -> Query<'q, Postgres, PgArguments> {
        query
            .bind(&self.roles)
            .bind(&self.first_names)
            .bind(&self.last_names)
            .bind(&self.languages)
            .bind(&self.mobiles)
            .bind(&self.phones)
            .bind(&self.emails)
            .bind(&self.telegram_chat_ids)
            .bind(&self.organisations)
            .bind(&self.birth_dates)
    }
}

async fn insert_contacts(
    tx: &mut Transaction<'static, Postgres>,
    contacts: &[(i64, &NewContact)],
    at_ms: i64,
) -> Result<()> {
    if contacts.is_empty() {
        return Ok(());
    }
    let c = ContactColumns::of(contacts);
    let query = sqlx::query(
        "INSERT INTO contacts (id, external_id, role, first_name, last_name, language, mobile, \
         phone, email, telegram_chat_id, organisation, birth_date, created_at, updated_at) \
         SELECT id, external_id, role, first_name, last_name, language, mobile, phone, email, \
         telegram_chat_id, organisation, birth_date, $13, $13 \
         FROM UNNEST($1::bigint[], $2::text[], $3::text[], $4::text[], $5::text[], $6::text[], \
         $7::text[], $8::text[], $9::text[], $10::text[], $11::text[], $12::text[]) \
         AS n(id, external_id, role, first_name, last_name, language, mobile, phone, email, \
         telegram_chat_id, organisation, birth_date) ORDER BY id",
    )
    .bind(&c.ids)
    .bind(&c.external_ids);
    c.bind_fields(query).bind(at_ms).execute(&mut **tx).await?;
    Ok(())
}

/// Updates the contacts if each is still as it was read (`versions`): false if not.
async fn update_contacts(
    tx: &mut Transaction<'static, Postgres>,
    contacts: &[(i64, &NewContact)],
    versions: &HashMap<i64, String>,
    at_ms: i64,
) -> Result<bool> {
    if contacts.is_empty() {
        return Ok(true);
    }
    let c = ContactColumns::of(contacts);
    let seen: Vec<Option<&str>> = c
        .ids
        .iter()
        .map(|id| versions.get(id).map(String::as_str))
        .collect();
    let query = sqlx::query(
        "UPDATE contacts c SET role = n.role, first_name = n.first_name, \
         last_name = n.last_name, language = n.language, mobile = n.mobile, phone = n.phone, \
         email = n.email, telegram_chat_id = n.telegram_chat_id, \
         organisation = n.organisation, birth_date = n.birth_date, updated_at = $13 \
         FROM UNNEST($1::bigint[], $2::text[], $3::text[], $4::text[], $5::text[], $6::text[], \
         $7::text[], $8::text[], $9::text[], $10::text[], $11::text[], $12::text[]) \
         AS n(id, version, role, first_name, last_name, language, mobile, phone, email, \
         telegram_chat_id, organisation, birth_date) \
         WHERE c.id = n.id AND c.xmin::text = n.version",
    )
    .bind(&c.ids)
    .bind(&seen);
    let updated = c
        .bind_fields(query)
        .bind(at_ms)
        .execute(&mut **tx)
        .await?
        .rows_affected();
    Ok(updated == contacts.len() as u64)
}

async fn insert_identities(
    tx: &mut Transaction<'static, Postgres>,
    identities: &[(&Identity, i64)],
) -> Result<()> {
    if identities.is_empty() {
        return Ok(());
    }
    let (mut kinds, mut systems, mut values, mut owners) =
        (Vec::new(), Vec::new(), Vec::new(), Vec::new());
    for (identity, id) in identities {
        kinds.push(identity.kind.as_str());
        systems.push(identity.system.as_str());
        values.push(identity.value.as_str());
        owners.push(*id);
    }
    sqlx::query(
        "INSERT INTO contact_identities (kind, system, value, contact_id) \
         SELECT * FROM UNNEST($1::text[], $2::text[], $3::text[], $4::bigint[])",
    )
    .bind(&kinds)
    .bind(&systems)
    .bind(&values)
    .bind(&owners)
    .execute(&mut **tx)
    .await?;
    Ok(())
}

/// The appointments by external id, and the row version each was read at.
async fn load_appointments(
    tx: &mut Transaction<'static, Postgres>,
    keys: &[&str],
) -> Result<(HashMap<String, AppointmentRow>, HashMap<String, String>)> {
    let rows = sqlx::query(
        "SELECT external_id, patient_id, gp_id, starts_at, campus, department, practitioner, \
         status, xmin::text AS version FROM appointments WHERE external_id = ANY($1)",
    )
    .bind(keys)
    .fetch_all(&mut **tx)
    .await?;
    let mut known = HashMap::with_capacity(rows.len());
    let mut versions = HashMap::with_capacity(rows.len());
    for row in &rows {
        let external_id: String = row.try_get("external_id")?;
        versions.insert(external_id.clone(), row.try_get("version")?);
        known.insert(external_id, AppointmentRow::from_row(row)?);
    }
    Ok((known, versions))
}

/// The columns of appointments as they are written, one array each.
#[derive(Default)]
struct AppointmentColumns<'c> {
    external_ids: Vec<&'c str>,
    patient_ids: Vec<i64>,
    gp_ids: Vec<Option<i64>>,
    starts_at: Vec<i64>,
    campuses: Vec<&'c str>,
    departments: Vec<&'c str>,
    practitioners: Vec<Option<&'c str>>,
    statuses: Vec<&'c str>,
}

impl<'c> AppointmentColumns<'c> {
    fn of(appointments: impl IntoIterator<Item = &'c (&'c str, AppointmentRow)>) -> Self {
        let mut columns = AppointmentColumns::default();
        for (external_id, row) in appointments {
            columns.external_ids.push(external_id);
            columns.patient_ids.push(row.patient_id);
            columns.gp_ids.push(row.gp_id);
            columns.starts_at.push(row.starts_at);
            columns.campuses.push(&row.campus);
            columns.departments.push(&row.department);
            columns.practitioners.push(row.practitioner.as_deref());
            columns.statuses.push(&row.status);
        }
        columns
    }

    /// Binds the columns from `patient_id` to `status`, in the table's order.
    fn bind_fields<'q>(
        &'q self,
        query: Query<'q, Postgres, PgArguments>,
    ) -> Query<'q, Postgres, PgArguments> {
        query
            .bind(&self.patient_ids)
            .bind(&self.gp_ids)
            .bind(&self.starts_at)
            .bind(&self.campuses)
            .bind(&self.departments)
            .bind(&self.practitioners)
            .bind(&self.statuses)
    }
}

async fn insert_appointments(
    tx: &mut Transaction<'static, Postgres>,
    appointments: &[(&str, AppointmentRow)],
) -> Result<()> {
    if appointments.is_empty() {
        return Ok(());
    }
    let a = AppointmentColumns::of(appointments);
    let query = sqlx::query(
        "INSERT INTO appointments (external_id, patient_id, gp_id, starts_at, campus, \
         department, practitioner, status) \
         SELECT external_id, patient_id, gp_id, starts_at, campus, department, practitioner, \
         status FROM UNNEST($1::text[], $2::bigint[], $3::bigint[], $4::bigint[], $5::text[], \
         $6::text[], $7::text[], $8::text[]) WITH ORDINALITY \
         AS n(external_id, patient_id, gp_id, starts_at, campus, department, practitioner, \
         status, n) ORDER BY n",
    )
    .bind(&a.external_ids);
    a.bind_fields(query).execute(&mut **tx).await?;
    Ok(())
}

/// Updates the appointments if each is still as it was read (`versions`): false if not.
/// One the batch gives twice ends as its last row says, as one statement per row leaves it.
async fn update_appointments(
    tx: &mut Transaction<'static, Postgres>,
    appointments: &[(&str, AppointmentRow)],
    versions: &HashMap<String, String>,
) -> Result<bool> {
    let last: HashMap<&str, usize> = appointments
        .iter()
        .enumerate()
        .map(|(at, (external_id, _))| (*external_id, at))
        .collect();
    let mut kept: Vec<usize> = last.into_values().collect();
    if kept.is_empty() {
        return Ok(true);
    }
    kept.sort_unstable();
    let a = AppointmentColumns::of(kept.iter().map(|at| &appointments[*at]));
    let seen: Vec<Option<&str>> = a
        .external_ids
        .iter()
        .map(|key| versions.get(*key).map(String::as_str))
        .collect();
    let query = sqlx::query(
        "UPDATE appointments a SET patient_id = n.patient_id, gp_id = n.gp_id, \
         starts_at = n.starts_at, campus = n.campus, department = n.department, \
         practitioner = n.practitioner, status = n.status \
         FROM UNNEST($1::text[], $2::text[], $3::bigint[], $4::bigint[], $5::bigint[], \
         $6::text[], $7::text[], $8::text[], $9::text[]) \
         AS n(external_id, version, patient_id, gp_id, starts_at, campus, department, \
         practitioner, status) \
         WHERE a.external_id = n.external_id AND a.xmin::text = n.version",
    )
    .bind(&a.external_ids)
    .bind(&seen);
    let updated = a
        .bind_fields(query)
        .execute(&mut **tx)
        .await?
        .rows_affected();
    Ok(updated == a.external_ids.len() as u64)
}

/// Stores each conflict once: the same record matched to the same contact again (the same
/// file imported twice, or by two processes at once) is counted, not stored twice, whether
/// it is open or was rejected.
async fn write_conflicts(
    tx: &mut Transaction<'static, Postgres>,
    conflicts: &[Conflict],
    source: &str,
    at_ms: i64,
) -> Result<()> {
    let mut seen = HashSet::new();
    let (mut contact_ids, mut identities, mut reasons, mut records) =
        (Vec::new(), Vec::new(), Vec::new(), Vec::new());
    for conflict in conflicts {
        let record = conflict.held_json()?;
        if seen.insert((conflict.contact_id, record.clone())) {
            contact_ids.push(conflict.contact_id);
            identities.push(conflict.identity.as_str());
            reasons.push(conflict.reason.as_str());
            records.push(record);
        }
    }
    if records.is_empty() {
        return Ok(());
    }
    // In one order, so that two imports of overlapping conflicts cannot wait on each other.
    sqlx::query(
        "SELECT pg_advisory_xact_lock($1, h) \
         FROM (SELECT DISTINCT hashtext(r) AS h FROM UNNEST($2::text[]) AS r) AS s ORDER BY h",
    )
    .bind(CONFLICT_LOCKS)
    .bind(&records)
    .execute(&mut **tx)
    .await?;
    sqlx::query(
        "INSERT INTO import_conflicts (at, source, contact_id, identity, reason, record, state) \
         SELECT $1, $2, contact_id, identity, reason, record, 'open' \
         FROM UNNEST($3::bigint[], $4::text[], $5::text[], $6::text[]) WITH ORDINALITY \
         AS n(contact_id, identity, reason, record, n) \
         WHERE NOT EXISTS (SELECT 1 FROM import_conflicts c \
         WHERE c.contact_id IS NOT DISTINCT FROM n.contact_id AND c.record = n.record \
         AND c.state IN ('open', 'rejected')) ORDER BY n",
    )
    .bind(at_ms)
    .bind(source)
    .bind(&contact_ids)
    .bind(&identities)
    .bind(&reasons)
    .bind(&records)
    .execute(&mut **tx)
    .await?;
    Ok(())
}

#[cfg(test)]
pub(super) mod tests {
    use super::super::testing;
    use crate::domain::{AppointmentStatus, Identity, NewAppointment, NewContact, Role};
    use crate::store::DirectoryStore;

    pub(crate) fn patient(number: &str, first: &str, mobile: Option<&str>) -> NewContact {
        NewContact {
            external_id: number.into(),
            identities: vec![Identity::patient(number)],
            role: Role::Patient,
            first_name: first.into(),
            last_name: "Peeters".into(),
            language: Some("nl".into()),
            mobile: mobile.map(Into::into),
            phone: None,
            email: None,
            telegram_chat_id: None,
            organisation: None,
            birth_date: chrono::NaiveDate::from_ymd_opt(1980, 2, 29),
        }
    }

    pub(crate) fn appointment(external_id: &str, patient: &str, campus: &str) -> NewAppointment {
        NewAppointment {
            external_id: external_id.into(),
            patient: Identity::patient(patient),
            gp: None,
            starts_at: chrono::DateTime::from_timestamp_millis(1_800_000_000_000).expect("instant"),
            campus: campus.into(),
            department: "Cardiologie".into(),
            practitioner: None,
            status: AppointmentStatus::Booked,
        }
    }

    async fn count(store: &super::PostgresStore, table: &str) -> i64 {
        sqlx::query_scalar(&format!("SELECT COUNT(*) FROM {table}"))
            .fetch_one(store.pool())
            .await
            .expect("count")
    }

    #[tokio::test]
    async fn a_known_identity_is_merged_field_by_field_and_a_new_one_numbered_by_the_database() {
        let Some(store) = testing::store("import_merge").await else {
            return;
        };
        let first = store
            .import(
                &[patient("P1", "Ann", None)],
                &[appointment("A1", "P1", "Deurne")],
                "one.csv",
                1,
            )
            .await
            .expect("first import");
        assert_eq!((first.contacts.new, first.appointments.new), (1, 1));

        // P1 again with a mobile and a moved appointment; P2 new, then P2 again in the same
        // batch under another name: a conflict with the contact this batch creates.
        let mut other = patient("P2", "Bert", None);
        other.birth_date = chrono::NaiveDate::from_ymd_opt(1990, 1, 1);
        other.first_name = "Carl".into();
        let batch = [
            patient("P1", "Ann", Some("+32470000001")),
            patient("P2", "Bert", None),
            other,
        ];
        let second = store
            .import(&batch, &[appointment("A1", "P1", "Wilrijk")], "two.csv", 2)
            .await
            .expect("second import");
        assert_eq!(
            (
                second.contacts.new,
                second.contacts.updated,
                second.conflicts
            ),
            (1, 1, 1)
        );
        assert_eq!(second.appointments.updated, 1);
        assert_eq!(count(&store, "contacts").await, 2);
        let changes: Vec<(String, Option<String>)> =
            sqlx::query_as("SELECT field, new_value FROM import_changes ORDER BY id")
                .fetch_all(store.pool())
                .await
                .expect("changes");
        assert_eq!(
            changes,
            [
                ("mobile".to_string(), Some("+32470000001".to_string())),
                ("campus".to_string(), Some("Wilrijk".to_string())),
            ]
        );
        let p2 = store
            .find_contact("P2")
            .await
            .expect("find")
            .expect("P2 known");
        let conflict_of: Option<i64> =
            sqlx::query_scalar("SELECT contact_id FROM import_conflicts")
                .fetch_one(store.pool())
                .await
                .expect("conflict");
        assert_eq!(
            conflict_of,
            Some(p2.id),
            "the sequence's id, not the planned one"
        );

        let again = store
            .import(&batch, &[appointment("A1", "P1", "Wilrijk")], "two.csv", 3)
            .await
            .expect("the same file again");
        assert_eq!((again.contacts.new, again.contacts.updated), (0, 0));
        assert_eq!(count(&store, "import_conflicts").await, 1);
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn two_processes_importing_the_same_new_people_make_each_one_contact() {
        let Some(url) = testing::fresh_schema_url("import_race").await else {
            return;
        };
        // Two pools stand for two processes.
        let settings = super::super::PoolSettings::default();
        let open = || super::PostgresStore::open(&url, &settings);
        let (store, other) = (
            open().await.expect("a pool"),
            open().await.expect("another"),
        );
        let people: Vec<NewContact> = (0..300)
            .map(|n| patient(&format!("P{n}"), "Ann", None))
            .collect();
        let bookings: Vec<NewAppointment> = (0..300)
            .map(|n| appointment(&format!("A{n}"), &format!("P{n}"), "Deurne"))
            .collect();
        let (one, two) = tokio::join!(
            store.import(&people, &bookings, "one.csv", 1),
            other.import(&people, &bookings, "two.csv", 1),
        );
        let (one, two) = (one.expect("first process"), two.expect("second process"));
        assert_eq!(one.contacts.new + two.contacts.new, 300);
        assert_eq!(one.appointments.new + two.appointments.new, 300);
        assert_eq!(count(&store, "contacts").await, 300);
        assert_eq!(count(&store, "contact_identities").await, 300);

        // Both change the same contacts at once, each a field the other leaves alone: the
        // loser runs again on the winner's rows, and neither change is lost.
        let mobiles: Vec<NewContact> = (0..300)
            .map(|n| patient(&format!("P{n}"), "Ann", Some("+32470000001")))
            .collect();
        let emails: Vec<NewContact> = (0..300)
            .map(|n| {
                let mut contact = patient(&format!("P{n}"), "Ann", None);
                contact.email = Some(format!("p{n}@example.be"));
                contact
            })
            .collect();
        let (one, two) = tokio::join!(
            store.import(&mobiles, &[], "mobiles.csv", 2),
            other.import(&emails, &[], "emails.csv", 2),
        );
        assert_eq!(one.expect("mobiles").contacts.updated, 300);
        assert_eq!(two.expect("e-mails").contacts.updated, 300);
        let complete: i64 = sqlx::query_scalar(
            "SELECT COUNT(*) FROM contacts WHERE mobile IS NOT NULL AND email IS NOT NULL",
        )
        .fetch_one(store.pool())
        .await
        .expect("count");
        assert_eq!(complete, 300);
    }
}
