//! Who a selection takes, whatever the database: the SQL that picks its contacts (alias `c`)
//! and the SQL that completes a page of them with their appointments, opt-outs and, for GPs,
//! the patients they are told about. Each backend runs the queries built here.

use crate::domain::{
    Appointment, AppointmentWindow, ChannelKind, Contact, Language, PatientLanguage, Role,
    Selection,
};
use crate::store::rows::{
    appointment_from_row, contact_from_row, parse_col, parse_date, RowExt, CONTACT_COLUMNS,
};
use crate::store::{AffectedPatient, Recipient, Result};
use sqlx::{Database, Postgres, QueryBuilder, Sqlite};
use std::collections::HashMap;

/// What the selection's SQL says differently from one database to the other.
pub(super) trait SelectionSql: Database {
    /// After a text column in `ORDER BY`: sort it byte by byte, as SQLite does.
    const BYTE_ORDER: &'static str;
    fn bind_int(query: &mut QueryBuilder<'_, Self>, value: i64);
    /// ` = value`, letter case aside, after a column.
    fn push_equal_ignoring_case(query: &mut QueryBuilder<'_, Self>, column: &str, value: &str);
}

impl SelectionSql for Sqlite {
    const BYTE_ORDER: &'static str = "";

    fn bind_int(query: &mut QueryBuilder<'_, Self>, value: i64) {
        query.push_bind(value);
    }

    fn push_equal_ignoring_case(query: &mut QueryBuilder<'_, Self>, column: &str, value: &str) {
        query
            .push(format!("{column} = "))
            .push_bind(value.to_string())
            .push(" COLLATE NOCASE");
    }
}

impl SelectionSql for Postgres {
    // A locale's collation would sort `de Smet` and `De Backer` apart from SQLite.
    const BYTE_ORDER: &'static str = " COLLATE \"C\"";

    fn bind_int(query: &mut QueryBuilder<'_, Self>, value: i64) {
        query.push_bind(value);
    }

    // PostgreSQL has no NOCASE collation; no index serves these columns either way.
    fn push_equal_ignoring_case(query: &mut QueryBuilder<'_, Self>, column: &str, value: &str) {
        query
            .push(format!("lower({column}) = lower("))
            .push_bind(value.to_string())
            .push(")");
    }
}

/// The next page of a selection: its contacts after `after_id`, in id order.
pub(super) fn recipients_query<'q, DB: SelectionSql>(
    selection: &Selection,
    after_id: i64,
    limit: u32,
) -> QueryBuilder<'q, DB> {
    let mut query = QueryBuilder::new(format!(
        "SELECT {CONTACT_COLUMNS} FROM contacts c WHERE c.id > "
    ));
    DB::bind_int(&mut query, after_id);
    query.push(" AND ");
    push_selection(&mut query, selection);
    query.push(" ORDER BY c.id LIMIT ");
    DB::bind_int(&mut query, i64::from(limit));
    query
}

/// The contacts (alias `c`) a selection takes.
pub(super) fn push_selection<DB: SelectionSql>(
    query: &mut QueryBuilder<'_, DB>,
    selection: &Selection,
) {
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
fn push_window<DB: SelectionSql>(query: &mut QueryBuilder<'_, DB>, window: &AppointmentWindow) {
    query.push("(a.status = 'booked'");
    if let Some(from) = window.from_ms {
        query.push(" AND a.starts_at >= ");
        DB::bind_int(query, from);
    }
    if let Some(to) = window.to_ms {
        query.push(" AND a.starts_at < ");
        DB::bind_int(query, to);
    }
    if let Some(campus) = &window.campus {
        query.push(" AND ");
        DB::push_equal_ignoring_case(query, "a.campus", campus);
    }
    if let Some(department) = &window.department {
        query.push(" AND ");
        DB::push_equal_ignoring_case(query, "a.department", department);
    }
    query.push(")");
}

/// Booked appointments within any of the windows; none when there are none.
fn push_windows<DB: SelectionSql>(query: &mut QueryBuilder<'_, DB>, windows: &[AppointmentWindow]) {
    if windows.is_empty() {
        query.push("1 = 0");
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

/// A page of contacts read with [`push_selection`] (or by id), and the queries that complete
/// it: their appointments (all booked ones, or those in the selection's window), their
/// opt-outs, and for GPs of affected patients those patients.
pub(super) struct Page<'s> {
    contacts: Vec<Contact>,
    first: i64,
    last: i64,
    window: Option<&'s AppointmentWindow>,
    gp_windows: Option<&'s [AppointmentWindow]>,
}

impl<'s> Page<'s> {
    /// None when there are no rows. `selection`: the one that took them, if any.
    pub(super) fn of(
        rows: &[impl RowExt],
        selection: Option<&'s Selection>,
    ) -> Result<Option<Self>> {
        let contacts = rows
            .iter()
            .map(contact_from_row)
            .collect::<Result<Vec<_>>>()?;
        let (Some(first), Some(last)) = (contacts.first(), contacts.last()) else {
            return Ok(None);
        };
        let (first, last) = (first.id, last.id);
        let (window, gp_windows) = match selection {
            Some(Selection::Patients(window)) => (Some(window), None),
            Some(Selection::GpsOf(windows)) => (None, Some(windows.as_slice())),
            Some(Selection::AllGps | Selection::Media | Selection::Public) | None => (None, None),
        };
        Ok(Some(Page {
            contacts,
            first,
            last,
            window,
            gp_windows,
        }))
    }

    /// ` BETWEEN first AND last`: the page's contacts, after a column.
    fn push_between<DB: SelectionSql>(&self, query: &mut QueryBuilder<'_, DB>) {
        query.push(" BETWEEN ");
        DB::bind_int(query, self.first);
        query.push(" AND ");
        DB::bind_int(query, self.last);
    }

    pub(super) fn appointments<'q, DB: SelectionSql>(&self) -> QueryBuilder<'q, DB> {
        let mut query = QueryBuilder::new(
            "SELECT a.patient_id, a.external_id, a.starts_at, a.campus, a.department, \
             a.practitioner, a.status FROM appointments a WHERE a.patient_id",
        );
        self.push_between(&mut query);
        query.push(" AND ");
        push_window(
            &mut query,
            self.window.unwrap_or(&AppointmentWindow::default()),
        );
        query.push(" ORDER BY a.starts_at");
        query
    }

    /// The patients the page's GPs are told about; None when the selection tells of none.
    pub(super) fn affected_patients<'q, DB: SelectionSql>(&self) -> Option<QueryBuilder<'q, DB>> {
        let windows = self.gp_windows?;
        let mut query = QueryBuilder::new(
            "SELECT a.gp_id, p.first_name, p.last_name, p.birth_date, a.external_id, \
             a.starts_at, a.campus, a.department, a.practitioner, a.status \
             FROM appointments a JOIN contacts p ON p.id = a.patient_id WHERE a.gp_id",
        );
        self.push_between(&mut query);
        query.push(" AND ");
        push_windows(&mut query, windows);
        query.push(format!(
            " ORDER BY a.gp_id, a.starts_at, p.last_name{}",
            DB::BYTE_ORDER
        ));
        Some(query)
    }

    /// The languages of the page's GPs' patients: a GP whose export gives no language is
    /// written to in their patients'. None when every GP of the page has one.
    pub(super) fn patient_languages<'q, DB: SelectionSql>(&self) -> Option<QueryBuilder<'q, DB>> {
        let silent_gps = self.contacts.iter().any(|contact| {
            contact.role == Role::Gp
                && contact
                    .language
                    .as_deref()
                    .is_none_or(|raw| Language::parse(raw).is_err())
        });
        if !silent_gps {
            return None;
        }
        let mut query = QueryBuilder::new(
            "SELECT a.gp_id, p.language, a.campus, COUNT(DISTINCT p.id) AS patients \
             FROM appointments a JOIN contacts p ON p.id = a.patient_id WHERE a.gp_id",
        );
        self.push_between(&mut query);
        query.push(" GROUP BY a.gp_id, p.language, a.campus");
        Some(query)
    }

    pub(super) fn optouts<'q, DB: SelectionSql>(&self) -> QueryBuilder<'q, DB> {
        let mut query =
            QueryBuilder::new("SELECT contact_id, channel FROM contact_optouts WHERE contact_id");
        self.push_between(&mut query);
        query
    }

    /// The page's recipients, from the rows of its queries (none for a query it had not).
    pub(super) fn recipients<R: RowExt>(
        self,
        appointment_rows: &[R],
        affected_rows: &[R],
        language_rows: &[R],
        optout_rows: &[R],
    ) -> Result<Vec<Recipient>> {
        let mut appointments: HashMap<i64, Vec<Appointment>> = HashMap::new();
        for row in appointment_rows {
            appointments
                .entry(row.int("patient_id")?)
                .or_default()
                .push(appointment_from_row(row)?);
        }
        let mut affected: HashMap<i64, Vec<AffectedPatient>> = HashMap::new();
        for row in affected_rows {
            affected
                .entry(row.int("gp_id")?)
                .or_default()
                .push(AffectedPatient {
                    first_name: row.text("first_name")?,
                    last_name: row.text("last_name")?,
                    birth_date: parse_date(row.opt_text("birth_date")?)?,
                    appointment: appointment_from_row(row)?,
                });
        }
        let mut languages: HashMap<i64, Vec<PatientLanguage>> = HashMap::new();
        for row in language_rows {
            languages
                .entry(row.int("gp_id")?)
                .or_default()
                .push(PatientLanguage {
                    language: row.opt_text("language")?,
                    campus: row.text("campus")?,
                    patients: u64::try_from(row.int("patients")?).unwrap_or_default(),
                });
        }
        let mut optouts: HashMap<i64, Vec<ChannelKind>> = HashMap::new();
        for row in optout_rows {
            optouts
                .entry(row.int("contact_id")?)
                .or_default()
                .push(parse_col::<ChannelKind>(row, "channel")?);
        }
        Ok(self
            .contacts
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
