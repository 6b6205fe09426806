//! The contacts on PostgreSQL: imports and their conflicts ([`super::import`]), finding a
//! contact, the booked places, opt-outs, and the recipients a selection takes
//! ([`super::selection`]).

use super::import;
use super::PostgresStore;
use crate::domain::{ChannelKind, Contact, Identity, NewAppointment, NewContact, Selection};
use crate::store::lookup::owner_of_key;
use crate::store::merge::import_conflict_from_row;
use crate::store::rows::{
    booked_place_from_row, contact_from_row, identity_from_row, CONTACT_COLUMNS,
};
use crate::store::selection::{push_selection, recipients_query};
use crate::store::{
    BookedPlace, DirectoryStore, ImportConflict, ImportCounts, Recipient, Result, StoreError,
};
use async_trait::async_trait;
use sqlx::{Postgres, QueryBuilder, Row};

/// Contacts per page of [`DirectoryStore::recipients_among`]: a page reads the appointments
/// of every contact between its first and last id.
const IDS_PER_PAGE: usize = 500;

impl PostgresStore {
    async fn contact(&self, id: i64) -> Result<Option<Contact>> {
        let row = sqlx::query(&format!(
            "SELECT {CONTACT_COLUMNS} FROM contacts c WHERE c.id = $1"
        ))
        .bind(id)
        .fetch_optional(self.pool())
        .await?;
        row.as_ref().map(contact_from_row).transpose()
    }
}

#[async_trait]
impl DirectoryStore for PostgresStore {
    async fn import(
        &self,
        contacts: &[NewContact],
        appointments: &[NewAppointment],
        source: &str,
        at_ms: i64,
    ) -> Result<ImportCounts> {
        import::import(self, contacts, appointments, source, at_ms).await
    }

    async fn import_conflicts(&self, decided: bool) -> Result<Vec<ImportConflict>> {
        let rows = sqlx::query(
            "SELECT id, at, source, contact_id, identity, reason, record, state, decided_by \
             FROM import_conflicts WHERE state = 'open' OR $1 ORDER BY id",
        )
        .bind(decided)
        .fetch_all(self.pool())
        .await?;
        let mut conflicts = Vec::with_capacity(rows.len());
        for row in &rows {
            let contact = match row.try_get::<Option<i64>, _>("contact_id")? {
                Some(contact_id) => self.contact(contact_id).await?,
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
        import::decide_conflict(self, id, accept, by, at_ms).await
    }

    async fn find_contact(&self, key: &str) -> Result<Option<Contact>> {
        let key = key.trim();
        if let Some(id) = key.strip_prefix("id:") {
            return match id.trim().parse() {
                Ok(id) => self.contact(id).await,
                Err(_) => Ok(None),
            };
        }
        let identities = match Identity::parse_qualified(key) {
            Some(identity) => {
                sqlx::query(
                    "SELECT kind, system, value, contact_id FROM contact_identities \
                     WHERE kind = $1 AND system = $2 AND value = $3",
                )
                .bind(identity.kind.as_str())
                .bind(&identity.system)
                .bind(&identity.value)
                .fetch_all(self.pool())
                .await?
            }
            None => {
                sqlx::query(
                    "SELECT kind, system, value, contact_id FROM contact_identities \
                     WHERE value = $1",
                )
                .bind(key)
                .fetch_all(self.pool())
                .await?
            }
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
            return self.contact(id).await;
        }
        // PostgreSQL has no NOCASE collation: e-mail addresses compared as SQLite does.
        let row = sqlx::query(&format!(
            "SELECT {CONTACT_COLUMNS} FROM contacts c \
             WHERE lower(c.email) = lower($1) OR c.mobile = $1 OR c.phone = $1 \
             ORDER BY c.id LIMIT 1"
        ))
        .bind(key)
        .fetch_optional(self.pool())
        .await?;
        if let Some(row) = row {
            return contact_from_row(&row).map(Some);
        }
        match key.parse() {
            Ok(id) => self.contact(id).await,
            Err(_) => Ok(None),
        }
    }

    async fn booked_places(&self) -> Result<Vec<BookedPlace>> {
        // Byte order, as SQLite sorts.
        let rows = sqlx::query(
            "SELECT campus, department, COUNT(*) AS appointments, MIN(starts_at) AS first_ms, \
             MAX(starts_at) AS last_ms FROM appointments WHERE status = 'booked' \
             GROUP BY campus, department \
             ORDER BY campus COLLATE \"C\", department COLLATE \"C\"",
        )
        .fetch_all(self.pool())
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
                 VALUES ($1, $2, $3, $4) ON CONFLICT (contact_id, channel) DO NOTHING",
            )
            .bind(contact_id)
            .bind(channel.as_str())
            .bind(reason)
            .bind(at_ms)
            .execute(self.pool())
            .await?
        } else {
            sqlx::query("DELETE FROM contact_optouts WHERE contact_id = $1 AND channel = $2")
                .bind(contact_id)
                .bind(channel.as_str())
                .execute(self.pool())
                .await?
        };
        Ok(done.rows_affected() > 0)
    }

    async fn recipient(&self, contact_id: i64) -> Result<Recipient> {
        let rows = sqlx::query(&format!(
            "SELECT {CONTACT_COLUMNS} FROM contacts c WHERE c.id = $1"
        ))
        .bind(contact_id)
        .fetch_all(self.pool())
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
            .fetch_all(self.pool())
            .await?;
        self.complete_page(rows, Some(selection)).await
    }

    async fn recipients_among(&self, selection: &Selection, ids: &[i64]) -> Result<Vec<Recipient>> {
        let mut recipients = Vec::with_capacity(ids.len());
        for chunk in ids.chunks(IDS_PER_PAGE) {
            let mut query = QueryBuilder::<Postgres>::new(format!(
                "SELECT {CONTACT_COLUMNS} FROM contacts c WHERE c.id = ANY("
            ));
            query.push_bind(chunk).push(") AND ");
            push_selection(&mut query, selection);
            query.push(" ORDER BY c.id");
            let rows = query.build().fetch_all(self.pool()).await?;
            recipients.extend(self.complete_page(rows, Some(selection)).await?);
        }
        Ok(recipients)
    }
}

#[cfg(test)]
mod tests {
    use super::super::import::tests::{appointment, patient};
    use super::super::testing;
    use crate::domain::{AppointmentWindow, ChannelKind, Identity, NewContact, Role, Selection};
    use crate::store::{DirectoryStore, StoreError};

    /// Every query of the directory, once, on PostgreSQL: what it says is the contract
    /// tests' (`tests/store_contract.rs`); this shows that PostgreSQL takes the SQL.
    #[tokio::test]
    async fn a_selection_reads_its_recipients_with_their_appointments_gps_and_opt_outs() {
        let Some(store) = testing::store("directory").await else {
            return;
        };
        let gp = NewContact {
            external_id: "R1".into(),
            identities: vec![Identity::riziv("R1")],
            role: Role::Gp,
            language: None,
            email: Some("Dokter@Example.be".into()),
            ..patient("R1", "Dirk", None)
        };
        let mut booking = appointment("A1", "P1", "Deurne");
        booking.gp = Some(Identity::riziv("R1"));
        store
            .import(
                &[patient("P1", "Ann", None), gp, patient("P2", "Bert", None)],
                &[booking, appointment("A2", "P2", "Wilrijk")],
                "one.csv",
                1,
            )
            .await
            .expect("import");
        let ann = store.find_contact("P1").await.expect("find").expect("P1");
        assert!(store
            .set_optout(ann.id, ChannelKind::Sms, true, Some("asked"), 2)
            .await
            .expect("opt out"));

        let deurne = AppointmentWindow {
            campus: Some("DEURNE".into()),
            ..AppointmentWindow::default()
        };
        let patients = store
            .recipients(&Selection::Patients(deurne.clone()), 0, 10)
            .await
            .expect("patients");
        assert_eq!(patients.len(), 1);
        assert_eq!(patients[0].contact.opted_out, [ChannelKind::Sms]);
        assert_eq!(patients[0].appointments[0].external_id, "A1");

        let gps = store
            .recipients(&Selection::GpsOf(vec![deurne]), 0, 10)
            .await
            .expect("GPs");
        assert_eq!(gps.len(), 1);
        assert_eq!(gps[0].affected_patients[0].first_name, "Ann");
        assert_eq!(gps[0].patients_by_language[0].patients, 1);
        let among = store
            .recipients_among(&Selection::AllGps, &[ann.id, gps[0].contact.id])
            .await
            .expect("among");
        assert_eq!(among.len(), 1);
        assert_eq!(
            store.recipient(ann.id).await.expect("one").contact.id,
            ann.id
        );

        let by_email = store.find_contact("dokter@example.BE").await.expect("find");
        assert_eq!(by_email.map(|gp| gp.id), Some(gps[0].contact.id));
        let places = store.booked_places().await.expect("places");
        assert_eq!(
            places
                .iter()
                .map(|place| place.campus.as_str())
                .collect::<Vec<_>>(),
            ["Deurne", "Wilrijk"]
        );
    }

    #[tokio::test]
    async fn a_bare_id_two_contacts_share_is_ambiguous() {
        let Some(store) = testing::store("directory_ambiguous").await else {
            return;
        };
        let fhir = |system: &str, first: &str| NewContact {
            identities: vec![Identity::fhir(system, "42")],
            ..patient("42", first, None)
        };
        store
            .import(
                &[fhir("urn:a", "Ann"), fhir("urn:b", "Bert")],
                &[],
                "fhir.ndjson",
                1,
            )
            .await
            .expect("import");
        assert!(matches!(
            store.find_contact("42").await,
            Err(StoreError::Ambiguous(_))
        ));
        assert!(store
            .find_contact("fhir:urn:b|42")
            .await
            .expect("find")
            .is_some());
    }
}
