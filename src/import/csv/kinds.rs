//! What each kind of file makes of its rows: appointments with their patients and GPs, or
//! one contact per row, merged by external id.

use super::columns::Col;
use super::rows::{
    clean, normalise_riziv, parse_status, parse_telegram, split_name, without_title, Row,
};
use super::Rows;
use crate::domain::{AppointmentStatus, Identity, NewAppointment, NewContact, Role};
use crate::import::{ImportBatch, Notice};
use std::collections::HashMap;

/// The maps of ids read: a file from the hospital's own systems needs no protection against
/// crafted collisions, and SipHash was a tenth of a large file's reading.
type FxHashMap<K, V> = HashMap<K, V, std::hash::BuildHasherDefault<FxHasher>>;

/// The Firefox/rustc hash (a rotate, a xor and a multiply per word), finished with
/// MurmurHash3's mix.
#[derive(Default, Clone, Copy)]
pub(super) struct FxHasher(u64);

impl FxHasher {
    fn add(&mut self, word: u64) {
        self.0 = (self.0.rotate_left(5) ^ word).wrapping_mul(0x51_7c_c1_b7_27_22_0a_95);
    }
}

impl std::hash::Hasher for FxHasher {
    fn write(&mut self, bytes: &[u8]) {
        let mut chunks = bytes.chunks_exact(8);
        for chunk in &mut chunks {
            let mut word = [0u8; 8];
            word.copy_from_slice(chunk);
            self.add(u64::from_le_bytes(word));
        }
        let rest = chunks.remainder();
        if !rest.is_empty() {
            let mut word = [0u8; 8];
            word[..rest.len()].copy_from_slice(rest);
            self.add(u64::from_le_bytes(word));
        }
    }

    fn write_u8(&mut self, byte: u8) {
        self.add(u64::from(byte));
    }

    fn write_usize(&mut self, value: usize) {
        self.add(value as u64);
    }

    fn finish(&self) -> u64 {
        // The multiply leaves the low bits, which pick the bucket, to the first bytes only:
        // ids that share a prefix ("P0012345", "P0012346") would share buckets.
        let mut hash = self.0;
        hash ^= hash >> 33;
        hash = hash.wrapping_mul(0xff51_afd7_ed55_8ccd);
        hash ^ (hash >> 33)
    }
}

/// Merges a contact read again on a later row: the first non-empty value of each field wins;
/// a later row that disagrees is told about.
fn merge(
    kept: &mut NewContact,
    new: NewContact,
    who: &str,
    line: usize,
    notices: &mut Vec<Notice>,
) {
    fn text(
        field: &str,
        kept: &mut String,
        new: String,
        who: &str,
        line: usize,
        notices: &mut Vec<Notice>,
    ) {
        if kept.is_empty() {
            *kept = new;
        } else if !new.is_empty() && *kept != new && kept.to_lowercase() != new.to_lowercase() {
            disagree(field, kept, &new, who, line, notices);
        }
    }
    fn option<T: PartialEq + std::fmt::Debug>(
        field: &str,
        kept: &mut Option<T>,
        new: Option<T>,
        who: &str,
        line: usize,
        notices: &mut Vec<Notice>,
    ) {
        match (kept.as_ref(), new) {
            (None, new) => *kept = new,
            (Some(old), Some(new)) if *old != new => {
                disagree(field, old, &new, who, line, notices);
            }
            _ => {}
        }
    }
    fn disagree(
        field: &str,
        kept: &dyn std::fmt::Debug,
        new: &dyn std::fmt::Debug,
        who: &str,
        line: usize,
        notices: &mut Vec<Notice>,
    ) {
        notices.push(Notice {
            line,
            field: field.to_string(),
            message: format!(
                "{new:?} differs from {kept:?} on an earlier row of {who}: {kept:?} is kept"
            ),
        });
    }
    text(
        "first_name",
        &mut kept.first_name,
        new.first_name,
        who,
        line,
        notices,
    );
    text(
        "last_name",
        &mut kept.last_name,
        new.last_name,
        who,
        line,
        notices,
    );
    option(
        "language",
        &mut kept.language,
        new.language,
        who,
        line,
        notices,
    );
    option("mobile", &mut kept.mobile, new.mobile, who, line, notices);
    option("phone", &mut kept.phone, new.phone, who, line, notices);
    option("email", &mut kept.email, new.email, who, line, notices);
    option(
        "telegram",
        &mut kept.telegram_chat_id,
        new.telegram_chat_id,
        who,
        line,
        notices,
    );
    option(
        "organisation",
        &mut kept.organisation,
        new.organisation,
        who,
        line,
        notices,
    );
    option(
        "birth_date",
        &mut kept.birth_date,
        new.birth_date,
        who,
        line,
        notices,
    );
}

/// Adds the contact, or merges it into the one already read with the same external id.
fn add_contact(
    index: &mut FxHashMap<String, usize>,
    contact: NewContact,
    who: impl FnOnce(&NewContact) -> String,
    line: usize,
    batch: &mut ImportBatch,
) {
    match index.get(&contact.external_id) {
        Some(&at) => {
            let who = who(&contact);
            merge(
                &mut batch.contacts[at],
                contact,
                &who,
                line,
                &mut batch.notices,
            );
        }
        None => {
            index.insert(contact.external_id.clone(), batch.contacts.len());
            batch.contacts.push(contact);
        }
    }
}

pub(super) struct GpSeen {
    /// Where the GP is in the batch's contacts.
    pub(super) index: usize,
    /// The raw name, e-mail and phone the GP was first read with: rows repeating them need no
    /// second reading.
    pub(super) name: String,
    pub(super) email: String,
    pub(super) phone: String,
}

#[derive(Default)]
pub(super) struct AppointmentRows {
    patients: FxHashMap<String, usize>,
    /// By RIZIV.
    pub(super) gps: FxHashMap<String, GpSeen>,
    /// Appointment id → the line it was taken from.
    pub(super) appointments: FxHashMap<String, usize>,
}

impl AppointmentRows {
    /// The GP's RIZIV, and the GP contact when the row says something new about them.
    pub(super) fn gp(&mut self, row: &mut Row<'_>) -> Option<(String, Option<NewContact>)> {
        let raw = row.get(Col::GpRiziv);
        let (name, email, phone) = (
            row.get(Col::GpName),
            row.get(Col::GpEmail),
            row.get(Col::GpPhone),
        );
        if raw.is_empty() {
            if !name.is_empty() || !email.is_empty() || !phone.is_empty() {
                row.notice(
                    "gp_riziv",
                    "is empty: the GP named on this row is not imported",
                );
            }
            return None;
        }
        let riziv = match normalise_riziv(raw) {
            Ok(riziv) => riziv,
            Err(reason) => {
                row.drop_field(
                    "gp_riziv",
                    format!("{reason}: the appointment is kept without its GP"),
                );
                return None;
            }
        };
        if let Some(seen) = self.gps.get(&riziv) {
            if seen.name == name && seen.email == email && seen.phone == phone {
                return Some((riziv, None));
            }
        }
        let (first_name, last_name) = split_name(&clean(name));
        let email = row.email(Col::GpEmail, "gp_email");
        let (mobile, phone) = row.phones(None, (Col::GpPhone, "gp_phone"));
        let contact = NewContact {
            external_id: riziv.clone(),
            identities: vec![Identity::riziv(riziv.clone())],
            role: Role::Gp,
            first_name,
            last_name,
            language: None,
            mobile,
            phone,
            email,
            telegram_chat_id: None,
            organisation: None,
            birth_date: None,
        };
        Some((riziv, Some(contact)))
    }
}

impl Rows for AppointmentRows {
    fn reserve(&mut self, rows: usize, batch: &mut ImportBatch) {
        batch.appointments.reserve(rows);
        self.appointments.reserve(rows);
    }

    fn take(&mut self, row: &mut Row<'_>, batch: &mut ImportBatch) {
        let patient_id = row.required(Col::PatientId, "patient_id");
        let last_name = row.required(Col::LastName, "last_name");
        let first_name = row.get(Col::FirstName);
        let birth_date = row.birth_date(Col::BirthDate, "birth_date");
        let language = row.language(Col::Language, "language");
        let (mobile, phone) = row.phones(Some((Col::Mobile, "mobile")), (Col::Phone, "phone"));
        let email = row.email(Col::Email, "email");
        let appointment_id = row.required(Col::AppointmentId, "appointment_id");
        if let Some(first) = self.appointments.get(appointment_id) {
            row.fail(
                "appointment_id",
                format!("{appointment_id:?} is already on line {first}: this row is not taken"),
            );
        }
        let starts_at = row.start(Col::Start, "start");
        let campus = row.required(Col::Campus, "campus");
        let department = row.required(Col::Department, "department");
        let practitioner = row.text(Col::Practitioner);
        // A patient is better told of an appointment already cancelled than not told of one
        // that is not.
        let status = parse_status(row.get(Col::Status)).unwrap_or_else(|reason| {
            row.drop_field("status", format!("{reason}; read as booked"));
            AppointmentStatus::Booked
        });
        let gp = self.gp(row);
        let patient = NewContact {
            external_id: patient_id.to_string(),
            identities: vec![Identity::patient(patient_id)],
            role: Role::Patient,
            first_name: clean(first_name),
            last_name: clean(last_name),
            language,
            mobile,
            phone,
            email,
            telegram_chat_id: None,
            organisation: None,
            birth_date,
        };
        // One patient number, two people: taking the row would give one of them the other's
        // appointment.
        if let Some(&at) = self.patients.get(patient_id) {
            if let Some(reason) = patient.disagreement(&batch.contacts[at]) {
                row.fail(
                    "patient_id",
                    format!("{patient_id:?} is on an earlier row for another person: {reason}; this row is not taken"),
                );
            }
        }
        let (Some(starts_at), false) = (starts_at, row.failed()) else {
            return;
        };
        let line = row.line;
        batch.notices.append(&mut row.notices);

        add_contact(
            &mut self.patients,
            patient,
            |p| format!("patient {}", p.external_id),
            line,
            batch,
        );
        let gp_identity = gp.map(|(riziv, contact)| {
            match (contact, self.gps.get(&riziv)) {
                (None, _) => {}
                (Some(contact), Some(seen)) => {
                    let who = format!("GP {riziv}");
                    merge(
                        &mut batch.contacts[seen.index],
                        contact,
                        &who,
                        line,
                        &mut batch.notices,
                    );
                }
                (Some(contact), None) => {
                    let seen = GpSeen {
                        index: batch.contacts.len(),
                        name: row.get(Col::GpName).to_string(),
                        email: row.get(Col::GpEmail).to_string(),
                        phone: row.get(Col::GpPhone).to_string(),
                    };
                    self.gps.insert(riziv.clone(), seen);
                    batch.contacts.push(contact);
                }
            }
            Identity::riziv(riziv)
        });
        self.appointments.insert(appointment_id.to_string(), line);
        batch.appointments.push(NewAppointment {
            external_id: appointment_id.to_string(),
            patient: Identity::patient(patient_id),
            gp: gp_identity,
            starts_at,
            campus: clean(campus),
            department: clean(department),
            practitioner,
            status,
        });
    }
}

/// GPs and journalists: one contact per row, merged by external id.
pub(super) struct ContactRows {
    pub(super) role: Role,
    pub(super) contacts: FxHashMap<String, usize>,
}

impl ContactRows {
    pub(super) fn gps() -> ContactRows {
        ContactRows {
            role: Role::Gp,
            contacts: FxHashMap::default(),
        }
    }

    pub(super) fn media() -> ContactRows {
        ContactRows {
            role: Role::Journalist,
            contacts: FxHashMap::default(),
        }
    }

    fn name_field(row: &Row<'_>) -> &'static str {
        if row.has(Col::LastName) || !row.has(Col::Name) {
            "last_name"
        } else {
            "name"
        }
    }
}

impl Rows for ContactRows {
    fn take(&mut self, row: &mut Row<'_>, batch: &mut ImportBatch) {
        let riziv = if self.role == Role::Gp {
            let raw = row.required(Col::Riziv, "riziv");
            if raw.is_empty() {
                None
            } else {
                match normalise_riziv(raw) {
                    Ok(riziv) => Some(riziv),
                    Err(reason) => {
                        row.fail("riziv", reason);
                        None
                    }
                }
            }
        } else {
            None
        };
        let (mut first_name, last_name) = row.name();
        if self.role == Role::Gp {
            // "Dr. Marc" in a first-name column.
            first_name = without_title(&first_name);
        }
        if first_name.is_empty() && last_name.is_empty() {
            let field = Self::name_field(row);
            row.fail(field, "is empty");
        }
        let language = row.language(Col::Language, "language");
        let email = row.email(Col::Email, "email");
        let (mobile, phone) = row.phones(Some((Col::Mobile, "mobile")), (Col::Phone, "phone"));
        let telegram = if self.role == Role::Journalist {
            let raw = row.get(Col::Telegram);
            if raw.is_empty() {
                None
            } else {
                match parse_telegram(raw) {
                    Ok(id) => Some(id),
                    Err(reason) => {
                        row.drop_field("telegram", reason);
                        None
                    }
                }
            }
        } else {
            None
        };
        let organisation = row.text(Col::Organisation);
        if row.failed() {
            return;
        }
        let external_id = match self.role {
            Role::Gp => match riziv {
                Some(riziv) => riziv,
                None => return,
            },
            _ => {
                let id = email
                    .as_ref()
                    .map(|email| email.to_lowercase())
                    .or_else(|| mobile.clone())
                    .or_else(|| phone.clone())
                    .or_else(|| telegram.clone());
                match id {
                    Some(id) => format!("media:{id}"),
                    None => {
                        let why = if row.dropped.is_empty() {
                            "none given: nothing to reach this journalist on"
                        } else {
                            "none usable: nothing to reach this journalist on"
                        };
                        row.fail("email, phone, telegram", why);
                        return;
                    }
                }
            }
        };
        let line = row.line;
        batch.notices.append(&mut row.notices);
        let identity = match self.role {
            Role::Gp => Identity::riziv(external_id.clone()),
            _ => Identity::media(external_id.clone()),
        };
        let contact = NewContact {
            external_id,
            identities: vec![identity],
            role: self.role,
            first_name,
            last_name,
            language,
            mobile,
            phone,
            email,
            telegram_chat_id: telegram,
            organisation,
            birth_date: None,
        };
        let role = self.role;
        add_contact(
            &mut self.contacts,
            contact,
            |c| match role {
                Role::Gp => format!("GP {}", c.external_id),
                _ => format!("{} {}", c.first_name, c.last_name)
                    .trim()
                    .to_string(),
            },
            line,
            batch,
        );
    }
}

#[cfg(test)]
mod tests {

    use crate::domain::{Identity, NewContact, Role};
    use crate::import::csv::{appointments, gps, media};
    use crate::import::testing::{appointment, contact};

    #[test]
    fn gps_are_read_by_riziv_with_titles_stripped_from_names() {
        let text = "RIZIV;Naam;Taal;E-mail;GSM;Telefoon;Praktijk\r\n\
            1.23456.78.004;Dr. Marc Peeters;nl;marc.peeters@example.be;;03 217 71 11;Groepspraktijk Zuid\r\n\
            2-34567-89-001;Docteur Anne Lefèvre;français;;0475 11 22 33;;Maison médicale\r\n\
            123;Dr. Jan Janssens;nl;;;;\r\n\
            3-45678-90-002;;nl;x@example.be;;;\r\n\
            12345678004;PEETERS Marc;nl;;0476 00 11 22;;\r\n\
            4-56789-01-003;Dr. Els Maes;nl;els@;0477 12 34 56;03 12;\r\n";
        let batch = gps("huisartsen.csv", text.as_bytes()).expect("readable");
        assert_eq!(batch.records, 6);
        assert_eq!(batch.contacts.len(), 3, "{:#?}", batch.contacts);
        let els = contact(&batch, "45678901003");
        assert_eq!(
            (
                els.mobile.as_deref(),
                els.phone.as_deref(),
                els.email.as_deref()
            ),
            (Some("+32477123456"), None, None),
            "a bad e-mail address and landline drop those, not the GP"
        );
        let marc = contact(&batch, "12345678004");
        assert_eq!(marc.role, Role::Gp);
        assert_eq!(
            (marc.first_name.as_str(), marc.last_name.as_str()),
            ("Marc", "Peeters")
        );
        assert_eq!(marc.phone.as_deref(), Some("+3232177111"));
        assert_eq!(
            marc.mobile.as_deref(),
            Some("+32476001122"),
            "filled in from the later row"
        );
        assert_eq!(marc.organisation.as_deref(), Some("Groepspraktijk Zuid"));
        let anne = contact(&batch, "23456789001");
        assert_eq!(
            (anne.first_name.as_str(), anne.last_name.as_str()),
            ("Anne", "Lefèvre")
        );
        assert_eq!(anne.language.as_deref(), Some("fr"));
        assert_eq!(anne.mobile.as_deref(), Some("+32475112233"));
        let rejects: Vec<(usize, Option<&str>)> = batch
            .rejects
            .iter()
            .map(|r| (r.line, r.field.as_deref()))
            .collect();
        assert_eq!(
            rejects,
            [(4, Some("riziv")), (5, Some("name")), (7, Some("email"))]
        );
        assert!(batch.rejects[0].reason.contains("\"123\""));
        assert!(batch.rejects[2].kept);
        assert!(batch.rejects[2]
            .describe()
            .contains("; kept without phone: "));
        assert!(
            batch.notices.is_empty(),
            "PEETERS differs from Peeters in case only: {:#?}",
            batch.notices
        );
    }

    #[test]
    fn journalists_are_read_with_email_phone_or_telegram() {
        let text = "Redactie,Naam,Taal,E-mail,GSM,Telegram\n\
            VRT NWS,Sofie Claes,nl,Sofie.Claes@vrt.example.be,0476 55 44 33,\n\
            RTBF,Jean Dupont,fr,,0477 66 55 44,@jeandupont\n\
            Het Nieuwsblad,Tom Peeters,nl,,,-1001234567890\n\
            Le Soir,Marie Martin,fr,,,\n\
            Bruzz,An Jacobs,en,,,jacobs!\n\
            De Standaard,Kim Wouters,nl,kim@,0478 11 22 33,\n";
        let batch = media("pers.csv", text.as_bytes()).expect("readable");
        assert_eq!(batch.records, 6);
        let ids: Vec<&str> = batch
            .contacts
            .iter()
            .map(|c| c.external_id.as_str())
            .collect();
        assert_eq!(
            ids,
            [
                "media:sofie.claes@vrt.example.be",
                "media:+32477665544",
                "media:-1001234567890",
                "media:+32478112233"
            ]
        );
        assert!(batch.contacts.iter().all(|c| c.role == Role::Journalist));
        let sofie = &batch.contacts[0];
        assert_eq!(
            (sofie.first_name.as_str(), sofie.last_name.as_str()),
            ("Sofie", "Claes")
        );
        assert_eq!(sofie.organisation.as_deref(), Some("VRT NWS"));
        assert_eq!(sofie.mobile.as_deref(), Some("+32476554433"));
        assert_eq!(
            batch.contacts[1].telegram_chat_id.as_deref(),
            Some("@jeandupont")
        );
        let rejects: Vec<(usize, Option<&str>)> = batch
            .rejects
            .iter()
            .map(|r| (r.line, r.field.as_deref()))
            .collect();
        assert_eq!(
            rejects,
            [
                (5, Some("email, phone, telegram")),
                (6, Some("email, phone, telegram")),
                (7, Some("email"))
            ],
            "a journalist whose only way to be reached is unreadable is not taken"
        );
        assert!(batch.rejects[1].reason.starts_with("none usable"));
        assert!(batch.rejects[1].reason.contains("telegram: \"jacobs!\""));
    }

    #[test]
    fn a_duplicated_appointment_id_rejects_the_later_row() {
        let text = "patient_id;last_name;appointment_id;start;campus;department\n\
            P1;Peeters;A1;13/01/2026 09:30;Campus Noord;Cardiologie\n\
            P2;Janssens;A1;13/01/2026 10:30;Campus Noord;Cardiologie\n";
        let batch = appointments("x.csv", text.as_bytes()).expect("readable");
        assert_eq!(batch.appointments.len(), 1);
        assert_eq!(batch.appointments[0].patient, Identity::patient("P1"));
        assert_eq!(batch.rejects.len(), 1);
        assert_eq!(batch.rejects[0].line, 3);
        assert_eq!(batch.rejects[0].field.as_deref(), Some("appointment_id"));
        assert!(batch.rejects[0].reason.contains("already on line 2"));
        assert_eq!(
            batch.contacts.len(),
            1,
            "P2 is not taken from a rejected row"
        );
    }

    #[test]
    fn a_patient_whose_rows_disagree_keeps_the_first_value_with_a_notice() {
        let text =
            "patient_id;last_name;first_name;mobile;appointment_id;start;campus;department\n\
            P1;Peeters;;0471 12 34 56;A1;13/01/2026 09:30;Campus Noord;Cardiologie\n\
            P1;Peeters;Jan;0472 12 34 56;A2;14/01/2026 09:30;Campus Noord;Cardiologie\n";
        let batch = appointments("x.csv", text.as_bytes()).expect("readable");
        assert_eq!(batch.contacts.len(), 1);
        let jan = &batch.contacts[0];
        assert_eq!(jan.first_name, "Jan", "an empty field is filled in");
        assert_eq!(
            jan.mobile.as_deref(),
            Some("+32471123456"),
            "the first wins"
        );
        assert_eq!(batch.notices.len(), 1, "{:#?}", batch.notices);
        assert_eq!(
            (batch.notices[0].line, batch.notices[0].field.as_str()),
            (3, "mobile")
        );
    }

    #[test]
    fn gp_rows_check_the_riziv_and_are_one_contact() {
        let text = "patient_id;last_name;appointment_id;start;campus;department;gp_riziv;gp_name;gp_phone\n\
            P1;Peeters;A1;13/01/2026 09:30;Campus Noord;Cardiologie;1/23456/78/004;Peeters, Marc;0471 00 00 01\n\
            P2;Janssens;A2;13/01/2026 10:30;Campus Noord;Cardiologie;12345678004;Dr. Marc Peeters;0471 00 00 01\n\
            P3;Maes;A3;13/01/2026 11:30;Campus Noord;Cardiologie;1-23456-78-04;Dr. Marc Peeters;\n\
            P4;Claes;A4;13/01/2026 12:30;Campus Noord;Cardiologie;;Dr. Somebody;\n";
        let batch = appointments("x.csv", text.as_bytes()).expect("readable");
        let gps: Vec<&NewContact> = batch
            .contacts
            .iter()
            .filter(|c| c.role == Role::Gp)
            .collect();
        assert_eq!(gps.len(), 1);
        assert_eq!(gps[0].external_id, "12345678004");
        assert_eq!(gps[0].mobile.as_deref(), Some("+32471000001"));
        assert_eq!(
            (gps[0].first_name.as_str(), gps[0].last_name.as_str()),
            ("Marc", "Peeters")
        );
        assert_eq!(batch.rejects.len(), 1);
        assert_eq!(batch.rejects[0].line, 4);
        assert_eq!(batch.rejects[0].field.as_deref(), Some("gp_riziv"));
        assert!(
            batch.rejects[0].reason.contains("10 digits"),
            "{}",
            batch.rejects[0].reason
        );
        assert_eq!(appointment(&batch, "A4").gp, None);
        assert!(batch
            .notices
            .iter()
            .any(|n| n.line == 5 && n.field == "gp_riziv"));
    }
}
