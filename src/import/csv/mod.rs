//! CSV exports as the hospital's systems and Excel write them: appointment lists, the GP
//! directory and the press list.
//!
//! # Decoding
//!
//! * UTF-8 with or without a byte-order mark; UTF-16 with a byte-order mark (Excel's
//!   "Unicode text"); anything else that is not valid UTF-8 is read as Windows-1252 (Excel's
//!   "CSV (puntkomma gescheiden)" / "CSV (séparateur: point-virgule)").
//! * A binary file (NUL bytes, control characters, an `.xlsx`/`.xls`/PDF given by mistake) is
//!   [`Unreadable`]: nothing of it is imported.
//! * The separator (`;`, `,` or tab) is sniffed from the first lines, counting outside quotes;
//!   an Excel `sep=;` first line is honoured.
//! * Quoted fields may hold line breaks; a reject's line is the line its record *starts* on.
//!   Line breaks and runs of spaces inside names, campus and department become one space.
//! * Empty lines and rows whose every field is empty are skipped (not counted, not rejected).
//! * Up to ten title lines above the header (a report title, an export date) are skipped: the
//!   header is the first row holding at least two known column names.
//! * A row with more non-empty fields than the header is rejected (an unquoted separator or an
//!   unclosed quote shifted its columns). A shorter row reads its missing fields as empty.
//! * Unknown columns are ignored, with a [`Notice`] so that a misspelt column is noticed.
//!
//! # Columns
//!
//! Header names are matched case-insensitively, in any order, after trimming, folding accents
//! and reading spaces, dashes, dots and camelCase as `_`: `Téléphone`, `E-mail`,
//! `Rendez-vous ID`, `PatientId` and `N° INAMI` match `telephone`, `e_mail`, `rendez_vous_id`,
//! `patient_id` and `n_inami`. When two columns mean the same, the canonical name wins, then
//! the alias listed first below (`patientnummer` over `patient`), then the leftmost column.
//!
//! [`appointments`] (required: `patient_id`, `last_name`, `appointment_id`, `start`, `campus`,
//! `department`):
//!
//! | column           | also accepted |
//! |------------------|---------------|
//! | `patient_id`     | `patientid`, `patient_number`, `patient_nr`, `patient_no`, `patientnummer`, `patientnr`, `numero_patient`, `n_patient`, `no_patient`, `dossiernummer`, `pid`, `patient` |
//! | `last_name`      | `lastname`, `naam`, `achternaam`, `familienaam`, `nom`, `nom_de_famille`, `surname`, `family_name` |
//! | `first_name`     | `firstname`, `voornaam`, `prénom`/`prenom`, `given_name` |
//! | `birth_date`     | `birthdate`, `date_of_birth`, `dob`, `geboortedatum`, `date_naissance`, `date_de_naissance` |
//! | `language`       | `taal`, `langue`, `lang`, `language_code`, `voertaal` |
//! | `mobile`         | `gsm`, `gsm_nummer`, `mobile_phone`, `mobile_number`, `mobiel`, `portable`, `cell`, `cellphone`, `sms` |
//! | `phone`          | `telefoon`, `téléphone`/`telephone`, `tel`, `phone_number`, `telefoonnummer`, `vaste_lijn` |
//! | `email`          | `e-mail`, `mail`, `courriel`, `email_address`, `e_mailadres`, `emailadres`, `adresse_email` |
//! | `appointment_id` | `appointment`, `appointmentid`, `afspraak_id`, `afspraaknummer`, `afspraak_nr`, `rendez_vous_id`, `rendezvous_id`, `rdv_id`, `booking_id` |
//! | `start`          | `start_time`, `starts_at`, `begin`, `datum`, `date`, `afspraak`, `datum_tijd`, `date_heure`, `date_rdv`, `rendez_vous`, `rdv` |
//! | `time`           | `tijd`, `uur`, `aanvangsuur`, `heure`, `heure_debut`, `hour`: the hour when `start` holds only a date (or Excel's midnight) |
//! | `campus`         | `site`, `locatie`, `location`, `vestiging` |
//! | `department`     | `dienst`, `service`, `specialty`, `spécialité`/`specialite`, `afdeling`, `discipline` |
//! | `practitioner`   | `arts`, `médecin`/`medecin`, `doctor`, `dokter`, `zorgverlener`, `behandelend_arts` |
//! | `status`         | `statut`, `état`/`etat`, `state`, `afspraakstatus` |
//! | `gp_riziv`       | `riziv`, `inami`, `gp_inami`, `riziv_huisarts`, `huisarts_riziv`, `inami_medecin_traitant`, `gp_nihdi` |
//! | `gp_name`        | `gp`, `huisarts`, `huisarts_naam`, `naam_huisarts`, `médecin_traitant`/`medecin_traitant`, `nom_medecin_traitant`, `general_practitioner` |
//! | `gp_email`       | `gp_mail`, `huisarts_email`, `email_huisarts`, `e_mail_huisarts`, `email_medecin_traitant` |
//! | `gp_phone`       | `gp_tel`, `huisarts_telefoon`, `telefoon_huisarts`, `telephone_medecin_traitant` |
//!
//! [`gps`] (required: `riziv` and `last_name` or `name`): `riziv` (`inami`, `gp_riziv`, `id`,
//! `riziv_nummer`, `riziv_nr`, `nr_riziv`, `n_inami`, `numero_inami`, `inami_nr`, `nihdi`),
//! `last_name`, `first_name` (aliases as above), `name` (`naam`, `nom`, `full_name`,
//! `volledige_naam`, `nom_complet`), `language`, `email`, `mobile`, `phone` (as above),
//! `practice` (`organisation`, `organization`, `praktijk`, `groepspraktijk`, `cabinet`).
//!
//! [`media`] (required: `name` or `last_name`/`first_name`, and one of `email`, `mobile`,
//! `phone`, `telegram`): `outlet` (`media`, `medium`, `organisation`, `organization`,
//! `redactie`, `rédaction`/`redaction`, `krant`, `journal`, `zender`, `newspaper`), `name`,
//! `last_name`, `first_name`, `language`, `email`, `mobile`, `phone` (as above), `telegram`
//! (`telegram_id`, `telegram_chat_id`, `chat_id`, `telegram_handle`).
//!
//! In [`gps`] and [`media`], `naam`/`nom` is a full name; a `name` column next to a
//! `first_name` column and no `last_name` column is read as the last name.
//!
//! # Values
//!
//! * `start`: `dd/mm/yyyy HH:MM[:SS]` (also `-` or `.` between the date's parts, one-digit
//!   day, month or hour, a two-digit year, `9u30`/`9h30`) in Brussels time, or ISO 8601
//!   (`2026-01-13T09:30`, `2026-01-13 09:30:00`) with `Z` or an offset, Brussels time without.
//!   A time that the autumn clock change makes ambiguous is read as the first (summer time),
//!   one that the spring change skips as winter time; both with a notice.
//! * `birth_date`: `dd/mm/yyyy` or `yyyy-mm-dd`; an unreadable one is dropped (it is not
//!   needed to reach the patient).
//! * `status`: booked, gepland, ingepland, planned, scheduled, confirmed, bevestigd, confirmé,
//!   prévu or empty are booked; cancelled, canceled, geannuleerd, annulé(e) are cancelled;
//!   anything else is dropped and read as booked (a patient is better told of an appointment
//!   already cancelled than not told of one that is not).
//! * Phones are parsed for Belgium ([`super::fields::phone`]). A landline in the mobile column is kept as the phone (no
//!   SMS), with a notice; a mobile in the phone column becomes the mobile when there is none.
//!   An Excel-mangled `32471123456` is read as `+32471123456`.
//! * `language`: nl, fr or en in any form [`Language::parse`] knows is stored as its code;
//!   anything else is kept as written, with a notice (the campus language applies).
//! * `gp_riziv`/`riziv`: eleven digits once dots, dashes, slashes and spaces are removed.
//! * GP names lose their `Dr.`/`Dokter`/`Docteur`/`Prof.` title and are split: `Marc Peeters`,
//!   `Peeters, Marc` and `PEETERS Marc` all give first name Marc, last name Peeters.
//! * `telegram`: a chat id (digits, optionally a leading `-`) or an `@handle` (also from a
//!   `t.me/` link), kept as written.
//!
//! # Rejected rows and dropped fields
//!
//! A row is rejected only when it cannot be what it stands for: an appointment row without a
//! patient id, a last name, an appointment id, a readable start, a campus or a department (the
//! messages name the department, and `department=` audiences select on it), a GP without a
//! RIZIV number or a name, a journalist without a name or anything to reach them on. Any other
//! bad field — an e-mail address, a mobile or landline, the GP's RIZIV number, e-mail or phone,
//! a birth date, a status, a Telegram id — is dropped and the rest of the row kept: a patient
//! with a valid mobile and a broken e-mail address is told by SMS. Each such row is a
//! [`Reject`] with `kept` set, a "kept without FIELD" line in the rejects file. A field longer
//! than its limit ([`super::fields`]) is dropped the same way, or rejects the row when the row
//! cannot stand without it.
//!
//! Every reject names the field, says what is wrong and quotes what was found. A row with
//! several problems is one reject: its `field` is the first field, its `reason` lists the
//! others as `reason; field: reason`. Its `record` is the row re-written with every field
//! quoted, in the file's separator, so that [`write_rows_back`] can give the original fields
//! back. A field written as `'=…` (a formula our CSVs neutralised) reads as `=…`.

mod columns;
mod dates;
mod decoding;
mod header;
mod kinds;
mod rows;

use self::columns::{normalise, Schema, APPOINTMENTS, GPS, MEDIA};
use self::decoding::decode;
use self::header::{csv_error, find_header, is_blank, map_columns};
use self::kinds::{AppointmentRows, ContactRows};
use self::rows::{Problem, Row};
use super::{ImportBatch, Reject, Unreadable};
use crate::spreadsheet::{Separator, SheetWriter};
use std::io::Write;

/// Reads a list of appointments: one patient contact per `patient_id` (merged over its rows),
/// one GP contact per `gp_riziv`, one appointment per row.
pub fn appointments(file: &str, bytes: &[u8]) -> Result<ImportBatch, Unreadable> {
    import(file, bytes, &APPOINTMENTS, &mut AppointmentRows::default())
}

/// Reads the GP directory: one GP contact per RIZIV number.
pub fn gps(file: &str, bytes: &[u8]) -> Result<ImportBatch, Unreadable> {
    import(file, bytes, &GPS, &mut ContactRows::gps())
}

/// Reads the press list: one journalist per e-mail address (or phone, or Telegram id).
pub fn media(file: &str, bytes: &[u8]) -> Result<ImportBatch, Unreadable> {
    import(file, bytes, &MEDIA, &mut ContactRows::media())
}

/// Writes a CSV's rejects file: the original header plus a `reject_reason` column (or the existing
/// one, when a rejects file was itself re-imported), then each rejected row, and each row kept
/// without a field, with its original fields and its reasons as `field: reason; field:
/// reason` (`kept without field: reason; kept without field: reason`). It is written through
/// [`SheetWriter`], in `separator` whatever the export's was, so that it can be corrected in
/// the same spreadsheet and imported again (the readers take either separator, and read a
/// neutralised formula back as it was).
pub(super) fn write_rows_back(
    header: &[String],
    rejects: &[Reject],
    out: impl Write,
    separator: Separator,
) -> Result<(), csv::Error> {
    let mut writer = SheetWriter::new(out, separator)?;
    let existing = header
        .iter()
        .position(|name| normalise(name) == REJECT_REASON);
    let reason_at = existing.unwrap_or(header.len());
    let mut row: Vec<String> = header.to_vec();
    if existing.is_none() {
        row.push(REJECT_REASON.to_string());
    }
    writer.row(&row)?;
    for reject in rejects {
        let delimiter = record_delimiter(&reject.record).unwrap_or(b';');
        let mut fields = split_record(&reject.record, delimiter);
        if fields.len() <= reason_at {
            fields.resize(reason_at + 1, String::new());
        }
        fields[reason_at] = reject.describe();
        writer.row(&fields)?;
    }
    writer.finish()
}

pub(super) const REJECT_REASON: &str = "reject_reason";

// ---------------------------------------------------------------------------------------------
// Driver

trait Rows {
    /// Room for about this many rows.
    fn reserve(&mut self, _rows: usize, _batch: &mut ImportBatch) {}

    /// Reads the row; commits what it yields to `batch` only when the row has no problems.
    fn take(&mut self, row: &mut Row<'_>, batch: &mut ImportBatch);
}

fn import<R: Rows>(
    file: &str,
    bytes: &[u8],
    schema: &Schema,
    rows: &mut R,
) -> Result<ImportBatch, Unreadable> {
    let text = decode(file, bytes)?;
    let mut found = find_header(file, &text)?;
    let mut batch = ImportBatch {
        header: found.header.iter().map(str::to_string).collect(),
        ..ImportBatch::default()
    };
    let columns = map_columns(file, &found, schema, &mut batch.notices)?;
    let width = found.header.len();
    rows.reserve(text.bytes().filter(|&b| b == b'\n').count(), &mut batch);
    let mut record = csv::StringRecord::new();
    while found
        .reader
        .read_record(&mut record)
        .map_err(|e| csv_error(file, e))?
    {
        if is_blank(&record) {
            continue;
        }
        batch.records += 1;
        let mut row = Row::new(&record, &columns, found.lines.of(&record));
        let extra = record
            .iter()
            .skip(width)
            .filter(|field| !field.trim().is_empty())
            .count();
        if extra > 0 {
            let lines = record
                .iter()
                .map(|f| f.matches('\n').count())
                .sum::<usize>();
            let mut reason = format!(
                "the row has {} fields but the header has {width}: a separator inside an \
                 unquoted value",
                record.len()
            );
            if lines > 0 {
                reason.push_str(&format!(
                    ", or an unclosed quote (the row runs over {} lines)",
                    lines + 1
                ));
            }
            reason.push_str("? Its columns cannot be trusted");
            row.problems.push((None, reason));
        } else {
            row.check_lengths(schema);
            rows.take(&mut row, &mut batch);
        }
        let Row {
            line,
            mut problems,
            dropped,
            mut notices,
            ..
        } = row;
        if !problems.is_empty() {
            problems.extend(dropped);
            batch
                .rejects
                .push(reject(line, &record, found.delimiter, problems, false));
        } else {
            batch.notices.append(&mut notices);
            if !dropped.is_empty() {
                batch
                    .rejects
                    .push(reject(line, &record, found.delimiter, dropped, true));
            }
        }
    }
    Ok(batch)
}

/// The row's problems as one reject; `kept` when they are dropped fields of a row taken.
fn reject(
    line: usize,
    record: &csv::StringRecord,
    delimiter: u8,
    problems: Vec<Problem>,
    kept: bool,
) -> Reject {
    let mut problems = problems.into_iter();
    let (field, mut reason) = problems.next().unwrap_or((None, String::new()));
    for (other, why) in problems {
        reason.push_str("; ");
        if let Some(other) = other {
            if kept {
                reason.push_str("kept without ");
            }
            reason.push_str(other);
            reason.push_str(": ");
        }
        reason.push_str(&why);
    }
    Reject {
        line,
        record: quote_record(record, delimiter),
        field: field.map(str::to_string),
        reason,
        kept,
    }
}

/// The record with every field quoted, in the file's separator.
fn quote_record(record: &csv::StringRecord, delimiter: u8) -> String {
    let mut out = String::new();
    for (index, field) in record.iter().enumerate() {
        if index > 0 {
            out.push(char::from(delimiter));
        }
        out.push('"');
        out.push_str(&field.replace('"', "\"\""));
        out.push('"');
    }
    out
}

/// The separator of a record written by [`quote_record`]: the byte after its first field's
/// closing quote.
fn record_delimiter(record: &str) -> Option<u8> {
    let bytes = record.as_bytes();
    if bytes.first() != Some(&b'"') {
        return None;
    }
    let mut at = 1;
    while at < bytes.len() {
        if bytes[at] == b'"' {
            if bytes.get(at + 1) == Some(&b'"') {
                at += 2;
                continue;
            }
            return bytes.get(at + 1).copied();
        }
        at += 1;
    }
    None
}

fn split_record(record: &str, delimiter: u8) -> Vec<String> {
    let mut reader = csv::ReaderBuilder::new()
        .delimiter(delimiter)
        .has_headers(false)
        .flexible(true)
        .from_reader(record.as_bytes());
    let mut fields = csv::StringRecord::new();
    match reader.read_record(&mut fields) {
        Ok(true) => fields.iter().map(str::to_string).collect(),
        _ => vec![record.to_string()],
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::{AppointmentStatus, Identity, Role};
    use crate::import::testing::{appointment, contact, utc};
    use chrono::NaiveDate;

    const WINDOWS_1252: &[u8] =
        include_bytes!("../../../tests/fixtures/csv/appointments_windows1252.csv");
    const UTF8_BOM: &[u8] = include_bytes!("../../../tests/fixtures/csv/appointments_utf8_bom.csv");

    fn assert_belgian_export(batch: &ImportBatch) {
        assert_eq!(batch.records, 7, "seven non-empty data rows");
        assert_eq!(batch.appointments.len(), 6);
        assert_eq!(batch.rejects.len(), 2, "{:#?}", batch.rejects);
        let kept = &batch.rejects[0];
        assert_eq!(
            kept.line, 7,
            "the quoted line break moves the rows below it down"
        );
        assert!(kept.kept, "a bad mobile drops the mobile, not the patient");
        assert_eq!(kept.field.as_deref(), Some("mobile"));
        assert!(
            kept.reason.starts_with("\"0471 12\" is not a"),
            "{}",
            kept.reason
        );
        assert!(kept.record.contains("\"P1003\";\"Vermeulen\";\"Zoë\""));
        let rejected = &batch.rejects[1];
        assert_eq!((rejected.line, rejected.kept), (9, false));
        assert_eq!(rejected.field.as_deref(), Some("start"));
        assert_eq!((batch.rejected(), batch.kept_without_a_field()), (1, 1));

        // Zoë without her mobile, reached by e-mail.
        let zoe = contact(batch, "P1003");
        assert_eq!(zoe.mobile, None);
        assert_eq!(zoe.email.as_deref(), Some("zoe.vermeulen@example.be"));
        assert_eq!(
            appointment(batch, "A-1005").patient,
            Identity::patient("P1003")
        );

        // Four patients and their GP, each once.
        assert_eq!(batch.contacts.len(), 5, "{:#?}", batch.contacts);
        let helene = contact(batch, "P1001");
        assert_eq!(helene.role, Role::Patient);
        assert_eq!(
            (helene.first_name.as_str(), helene.last_name.as_str()),
            ("Hélène", "Daniëls")
        );
        assert_eq!(helene.birth_date, NaiveDate::from_ymd_opt(1958, 2, 3));
        assert_eq!(helene.language.as_deref(), Some("nl"));
        assert_eq!(helene.mobile.as_deref(), Some("+32471123456"));
        assert_eq!(helene.email.as_deref(), Some("helene.daniels@example.be"));
        let hers: Vec<&str> = batch
            .appointments
            .iter()
            .filter(|a| a.patient == Identity::patient("P1001"))
            .map(|a| a.external_id.as_str())
            .collect();
        assert_eq!(hers, ["A-1001", "A-1002", "A-1003"]);

        let first = appointment(batch, "A-1001");
        assert_eq!(first.starts_at, utc("2026-01-13T08:30:00Z"), "CET is UTC+1");
        assert_eq!(first.campus, "Campus Sint-Jan");
        assert_eq!(first.department, "Cardiologie");
        assert_eq!(first.practitioner.as_deref(), Some("Dr. Wouters"));
        assert_eq!(first.status, AppointmentStatus::Booked);
        assert_eq!(first.gp, Some(Identity::riziv("12345678004")));
        assert_eq!(
            appointment(batch, "A-1002").department,
            "Radiologie NMR-onderzoek",
            "the line break inside the quoted field"
        );
        assert_eq!(appointment(batch, "A-1002").practitioner, None);
        assert_eq!(
            appointment(batch, "A-1003").status,
            AppointmentStatus::Cancelled
        );
        assert_eq!(
            appointment(batch, "A-1006").starts_at,
            utc("2026-06-15T07:30:00Z"),
            "CEST is UTC+2"
        );

        let francois = contact(batch, "P1002");
        assert_eq!(
            (francois.first_name.as_str(), francois.last_name.as_str()),
            ("François", "Lefèvre")
        );
        assert_eq!(
            francois.language, None,
            "no language: the campus's applies later"
        );
        assert_eq!(francois.mobile.as_deref(), Some("+32472987654"));
        assert_eq!(francois.phone.as_deref(), Some("+3225551234"));
        assert_eq!(appointment(batch, "A-1004").gp, None);
        assert_eq!(appointment(batch, "A-1004").department, "Orthopédie");

        let jef = contact(batch, "P1004");
        assert_eq!(
            jef.mobile, None,
            "a landline in the GSM column takes no SMS"
        );
        assert_eq!(jef.phone.as_deref(), Some("+3225551234"));
        assert_eq!(jef.language.as_deref(), Some("Deutsch"), "kept as written");

        let gp = contact(batch, "12345678004");
        assert_eq!(gp.role, Role::Gp);
        assert_eq!(
            (gp.first_name.as_str(), gp.last_name.as_str()),
            ("Marc", "Peeters")
        );
        assert_eq!(
            gp.email.as_deref(),
            Some("marc.peeters@huisartsen.example.be")
        );
        assert_eq!(gp.phone.as_deref(), Some("+3232177111"));
        assert_eq!(gp.mobile, None);

        let notices: Vec<(usize, &str)> = batch
            .notices
            .iter()
            .map(|n| (n.line, n.field.as_str()))
            .collect();
        assert_eq!(
            notices,
            [(8, "language"), (8, "mobile")],
            "{:#?}",
            batch.notices
        );
    }

    #[test]
    fn a_belgian_export_in_windows_1252_is_read_with_exact_counts() {
        // "ë" and "é" as Windows-1252 writes them, a byte each.
        assert!(WINDOWS_1252.windows(4).any(|w| w == b"Dani"));
        assert!(WINDOWS_1252.contains(&0xEB) && WINDOWS_1252.contains(&0xE9));
        assert!(!UTF8_BOM.contains(&0xEB) && UTF8_BOM.starts_with(b"\xEF\xBB\xBF"));
        let batch = appointments("afspraken.csv", WINDOWS_1252).expect("readable");
        assert_belgian_export(&batch);
    }

    #[test]
    fn the_same_export_saved_as_utf8_with_a_bom_gives_the_same_batch() {
        assert!(UTF8_BOM.starts_with(b"\xEF\xBB\xBF"));
        let utf8 = appointments("afspraken-utf8.csv", UTF8_BOM).expect("readable");
        assert_belgian_export(&utf8);
        let ansi = appointments("afspraken.csv", WINDOWS_1252).expect("readable");
        assert_eq!(utf8.contacts, ansi.contacts);
        assert_eq!(utf8.appointments, ansi.appointments);
        assert_eq!(utf8.rejects, ansi.rejects);
        assert_eq!(utf8.notices, ansi.notices);
    }

    #[test]
    fn a_comma_separated_file_with_iso_dates_is_read() {
        let text = "patient_id,last_name,first_name,language,mobile,email,appointment_id,start,campus,department,status\n\
            P1,Janssens,Jan,NL,+32 471 12 34 56,jan@example.be,B1,2026-01-13T09:30,Campus Noord,Cardiologie,booked\n\
            P2,Dupont,Marie,fr-BE,0032 472 12 34 56,,B2,2026-01-13 09:30:00+01:00,Campus Noord,\"Cardiologie, poli\",\n\
            P3,Smith,Ann,en,,ann@example.com,B3,2026-03-29T02:30,Campus Noord,Cardiologie,cancelled\n\
            P4,Smith,Bob,en,,,B4,2026-07-01T10:00Z,Campus Noord,Cardiologie,Booked\n";
        let batch = appointments("export.csv", text.as_bytes()).expect("readable");
        assert_eq!(
            (batch.records, batch.appointments.len(), batch.rejects.len()),
            (4, 4, 0),
            "{:#?}",
            batch.rejects
        );
        assert_eq!(
            appointment(&batch, "B1").starts_at,
            utc("2026-01-13T08:30:00Z")
        );
        assert_eq!(
            appointment(&batch, "B2").starts_at,
            utc("2026-01-13T08:30:00Z")
        );
        assert_eq!(appointment(&batch, "B2").department, "Cardiologie, poli");
        assert_eq!(
            appointment(&batch, "B3").starts_at,
            utc("2026-03-29T01:30:00Z"),
            "02:30 does not exist on the night the clocks go forward"
        );
        assert_eq!(
            appointment(&batch, "B4").starts_at,
            utc("2026-07-01T10:00:00Z")
        );
        assert_eq!(contact(&batch, "P1").language.as_deref(), Some("nl"));
        assert_eq!(contact(&batch, "P2").language.as_deref(), Some("fr"));
        assert_eq!(
            contact(&batch, "P2").mobile.as_deref(),
            Some("+32472123456")
        );
        assert!(batch
            .notices
            .iter()
            .any(|n| n.line == 4 && n.field == "start"));
    }

    #[test]
    fn the_rejects_file_reparses_with_the_original_fields_and_the_reason() {
        let batch = appointments("afspraken.csv", WINDOWS_1252).expect("readable");
        let columns = batch.header.clone();
        assert_eq!(columns.len(), 18);
        assert_eq!(columns[0], "Patiëntnummer");
        let mut out = Vec::new();
        write_rows_back(&columns, &batch.rejects, &mut out, Separator::Semicolon).expect("written");
        assert!(out.starts_with(b"\xEF\xBB\xBF"), "a BOM for Excel");

        let mut reader = ::csv::ReaderBuilder::new()
            .delimiter(b';')
            .from_reader(&out[3..]);
        let written: Vec<String> = reader
            .headers()
            .expect("header")
            .iter()
            .map(str::to_string)
            .collect();
        let mut expected_header = columns.clone();
        expected_header.push("reject_reason".to_string());
        assert_eq!(written, expected_header);
        let rows: Vec<::csv::StringRecord> =
            reader.records().collect::<Result<_, _>>().expect("rows");
        assert_eq!(rows.len(), 2);
        assert_eq!(rows[1].get(0), Some("P1005"));
        assert_eq!(rows[1].get(18), Some("start: is empty"));
        let row: Vec<&str> = rows[0].iter().collect();
        assert_eq!(
            &row[..18],
            [
                "P1003",
                "Vermeulen",
                "Zoë",
                "30/06/1990",
                "fr",
                "0471 12",
                "",
                "zoe.vermeulen@example.be",
                "A-1005",
                "15/01/2026 11:00",
                "Campus Sint-Jan",
                "Dermatologie",
                "Dr. Maes",
                "gepland",
                "12345678004",
                "Marc Peeters",
                "",
                ""
            ]
        );
        assert!(
            row[18].starts_with("kept without mobile: \"0471 12\" is not a"),
            "{}",
            row[18]
        );

        // Corrected or not, the rejects file can be imported again.
        let again = appointments("rejects.csv", &out).expect("readable");
        assert_eq!(again.records, 2);
        assert_eq!(again.rejects[0].field.as_deref(), Some("mobile"));
        assert_eq!(again.rejects[0].line, 2);
        assert_eq!(again.rejects[1].field.as_deref(), Some("start"));
        assert!(
            again.notices.is_empty(),
            "reject_reason is not an unknown column: {:#?}",
            again.notices
        );
        let mut twice = Vec::new();
        write_rows_back(
            &again.header,
            &again.rejects,
            &mut twice,
            Separator::Semicolon,
        )
        .expect("written");
        assert_eq!(twice, out, "the reason column is reused, not added twice");
    }

    #[test]
    fn a_row_with_several_problems_is_one_reject_naming_each_field() {
        let text = "patient_id;last_name;email;appointment_id;start;campus;department;status\n\
            P1;Peeters;not-an-address;A1;31/02/2026 09:00;Campus Noord;;no-show\n";
        let batch = appointments("x.csv", text.as_bytes()).expect("readable");
        assert_eq!(batch.rejects.len(), 1);
        let reject = &batch.rejects[0];
        assert_eq!(reject.field.as_deref(), Some("start"));
        assert_eq!(
            reject.to_string(),
            "line 2: start: \"31/02/2026 09:00\" is not a date and time: use dd/mm/yyyy HH:MM \
             (Brussels time) or 2026-01-13T09:30 (ISO 8601); department: is empty; email: \
             \"not-an-address\" is not an e-mail address; status: \"no-show\" is not a status: \
             use booked (gepland, confirmé…) or cancelled (geannuleerd, annulé…); read as booked"
        );
        assert!(batch.contacts.is_empty(), "a rejected row yields nothing");
    }

    #[test]
    fn a_formula_comes_out_of_the_rejects_file_neutralised_and_goes_back_in_as_written() {
        let text = "patient_id;last_name;first_name;email;appointment_id;start;campus;department\n\
            P1;Peeters;\"=HYPERLINK(\"\"http://evil\"\";\"\"x\"\")\";an@;A1;13/01/2026 09:30;Deurne;\
            Cardiologie\n";
        let batch = appointments("x.csv", text.as_bytes()).expect("readable");
        let mut out = Vec::new();
        write_rows_back(&batch.header, &batch.rejects, &mut out, Separator::Comma)
            .expect("written");
        let written = String::from_utf8(out.clone()).expect("utf-8");
        assert!(
            written.contains(",\"'=HYPERLINK(\"\"http://evil\"\";\"\"x\"\")\","),
            "{written}"
        );
        let again = appointments("rejects.csv", &out).expect("readable");
        assert_eq!(
            contact(&again, "P1").first_name,
            "=HYPERLINK(\"http://evil\";\"x\")"
        );
    }
}
