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

use super::fields::{self, Kind};
use super::{ImportBatch, Notice, Reject, Unreadable};
use crate::domain::{
    fold_accent, AppointmentStatus, Identity, Language, NewAppointment, NewContact, PhoneNumber,
    Role,
};
use crate::spreadsheet::{Separator, SheetWriter};
use chrono::{
    DateTime, Duration, FixedOffset, LocalResult, NaiveDate, NaiveDateTime, NaiveTime, TimeZone,
    Utc,
};
use chrono_tz::Europe::Brussels;
use std::borrow::Cow;
use std::collections::HashMap;
use std::fmt::Display;
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

const REJECT_REASON: &str = "reject_reason";

/// The maps of ids read: a file from the hospital's own systems needs no protection against
/// crafted collisions, and SipHash was a tenth of a large file's reading.
type FxHashMap<K, V> = HashMap<K, V, std::hash::BuildHasherDefault<FxHasher>>;

/// The Firefox/rustc hash (a rotate, a xor and a multiply per word), finished with
/// MurmurHash3's mix.
#[derive(Default, Clone, Copy)]
struct FxHasher(u64);

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

// ---------------------------------------------------------------------------------------------
// Columns

/// Every column any of the readers knows; a schema gives each its name for that file.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Col {
    PatientId,
    LastName,
    FirstName,
    Name,
    BirthDate,
    Language,
    Mobile,
    Phone,
    Email,
    AppointmentId,
    Start,
    Campus,
    Department,
    Practitioner,
    Status,
    GpRiziv,
    GpName,
    GpEmail,
    GpPhone,
    Riziv,
    Organisation,
    Telegram,
    /// The hour, when an export puts it beside a date-only `start`.
    Time,
}

const COLS: usize = Col::Time as usize + 1;

impl Col {
    /// What the column holds, for its length limit.
    fn kind(self) -> Kind {
        match self {
            Col::PatientId | Col::AppointmentId | Col::Riziv | Col::GpRiziv | Col::Telegram => {
                Kind::Id
            }
            Col::LastName | Col::FirstName => Kind::Name,
            Col::Name | Col::GpName | Col::Practitioner | Col::Organisation => Kind::Text,
            Col::BirthDate | Col::Start | Col::Time | Col::Status | Col::Language => Kind::Code,
            Col::Mobile | Col::Phone | Col::GpPhone => Kind::Phone,
            Col::Email | Col::GpEmail => Kind::Email,
            Col::Campus | Col::Department => Kind::Place,
        }
    }
}

/// Where each column is in the file.
type Columns = [Option<usize>; COLS];

struct Spec {
    col: Col,
    name: &'static str,
    /// Normalised (see [`normalise`]).
    aliases: &'static [&'static str],
}

struct Schema {
    specs: &'static [Spec],
    /// Each group: at least one of these columns.
    required: &'static [&'static [Col]],
    /// `naam`/`nom` mean the full name here, read as the last name next to a first name.
    name_means_last_name_beside_first_name: bool,
    /// The fields a row cannot be taken without: one of them over its length limit rejects the
    /// row, where any other field is dropped.
    vital: &'static [Col],
}

impl Schema {
    /// The column a header name means, and how surely: 0 for the canonical name, then the
    /// alias's place in its list (the more specific aliases come first).
    fn find(&self, normalised: &str) -> Option<(&Spec, usize)> {
        self.specs.iter().find_map(|spec| {
            if spec.name == normalised {
                Some((spec, 0))
            } else {
                let at = spec.aliases.iter().position(|alias| *alias == normalised)?;
                Some((spec, at + 1))
            }
        })
    }
}

const PATIENT_ID: &[&str] = &[
    "patientid",
    "patient_number",
    "patient_nr",
    "patient_no",
    "patientnummer",
    "patientnr",
    "numero_patient",
    "n_patient",
    "no_patient",
    "dossiernummer",
    "pid",
    "patient",
];
const LAST_NAME: &[&str] = &[
    "lastname",
    "naam",
    "achternaam",
    "familienaam",
    "nom",
    "nom_de_famille",
    "surname",
    "family_name",
];
const LAST_NAME_ONLY: &[&str] = &[
    "lastname",
    "achternaam",
    "familienaam",
    "nom_de_famille",
    "surname",
    "family_name",
];
const FIRST_NAME: &[&str] = &["firstname", "voornaam", "prenom", "given_name"];
const FULL_NAME: &[&str] = &["naam", "nom", "full_name", "volledige_naam", "nom_complet"];
const BIRTH_DATE: &[&str] = &[
    "birthdate",
    "date_of_birth",
    "dob",
    "geboortedatum",
    "date_naissance",
    "date_de_naissance",
];
const LANGUAGE: &[&str] = &["taal", "langue", "lang", "language_code", "voertaal"];
const MOBILE: &[&str] = &[
    "gsm",
    "gsm_nummer",
    "mobile_phone",
    "mobile_number",
    "mobiel",
    "portable",
    "cell",
    "cellphone",
    "sms",
];
const PHONE: &[&str] = &[
    "telefoon",
    "telephone",
    "tel",
    "phone_number",
    "telefoonnummer",
    "vaste_lijn",
];
const EMAIL: &[&str] = &[
    "e_mail",
    "mail",
    "courriel",
    "email_address",
    "e_mailadres",
    "emailadres",
    "adresse_email",
];

static APPOINTMENTS: Schema = Schema {
    specs: &[
        Spec {
            col: Col::PatientId,
            name: "patient_id",
            aliases: PATIENT_ID,
        },
        Spec {
            col: Col::LastName,
            name: "last_name",
            aliases: LAST_NAME,
        },
        Spec {
            col: Col::FirstName,
            name: "first_name",
            aliases: FIRST_NAME,
        },
        Spec {
            col: Col::BirthDate,
            name: "birth_date",
            aliases: BIRTH_DATE,
        },
        Spec {
            col: Col::Language,
            name: "language",
            aliases: LANGUAGE,
        },
        Spec {
            col: Col::Mobile,
            name: "mobile",
            aliases: MOBILE,
        },
        Spec {
            col: Col::Phone,
            name: "phone",
            aliases: PHONE,
        },
        Spec {
            col: Col::Email,
            name: "email",
            aliases: EMAIL,
        },
        Spec {
            col: Col::AppointmentId,
            name: "appointment_id",
            aliases: &[
                "appointment",
                "appointmentid",
                "afspraak_id",
                "afspraaknummer",
                "afspraak_nr",
                "rendez_vous_id",
                "rendezvous_id",
                "rdv_id",
                "booking_id",
            ],
        },
        Spec {
            col: Col::Start,
            name: "start",
            aliases: &[
                "start_time",
                "starts_at",
                "begin",
                "datum",
                "date",
                "afspraak",
                "datum_tijd",
                "date_heure",
                "date_rdv",
                "rendez_vous",
                "rdv",
            ],
        },
        Spec {
            col: Col::Time,
            name: "time",
            aliases: &["tijd", "uur", "aanvangsuur", "heure", "heure_debut", "hour"],
        },
        Spec {
            col: Col::Campus,
            name: "campus",
            aliases: &["site", "locatie", "location", "vestiging"],
        },
        Spec {
            col: Col::Department,
            name: "department",
            aliases: &[
                "dienst",
                "service",
                "specialty",
                "specialite",
                "afdeling",
                "discipline",
            ],
        },
        Spec {
            col: Col::Practitioner,
            name: "practitioner",
            aliases: &[
                "arts",
                "medecin",
                "doctor",
                "dokter",
                "zorgverlener",
                "behandelend_arts",
            ],
        },
        Spec {
            col: Col::Status,
            name: "status",
            aliases: &["statut", "etat", "state", "afspraakstatus"],
        },
        Spec {
            col: Col::GpRiziv,
            name: "gp_riziv",
            aliases: &[
                "riziv",
                "inami",
                "gp_inami",
                "riziv_huisarts",
                "huisarts_riziv",
                "inami_medecin_traitant",
                "gp_nihdi",
            ],
        },
        Spec {
            col: Col::GpName,
            name: "gp_name",
            aliases: &[
                "gp",
                "huisarts",
                "huisarts_naam",
                "naam_huisarts",
                "medecin_traitant",
                "nom_medecin_traitant",
                "general_practitioner",
            ],
        },
        Spec {
            col: Col::GpEmail,
            name: "gp_email",
            aliases: &[
                "gp_mail",
                "huisarts_email",
                "email_huisarts",
                "e_mail_huisarts",
                "email_medecin_traitant",
            ],
        },
        Spec {
            col: Col::GpPhone,
            name: "gp_phone",
            aliases: &[
                "gp_tel",
                "huisarts_telefoon",
                "telefoon_huisarts",
                "telephone_medecin_traitant",
            ],
        },
    ],
    required: &[
        &[Col::PatientId],
        &[Col::LastName],
        &[Col::AppointmentId],
        &[Col::Start],
        &[Col::Campus],
        &[Col::Department],
    ],
    name_means_last_name_beside_first_name: false,
    vital: &[
        Col::PatientId,
        Col::LastName,
        Col::AppointmentId,
        Col::Start,
        Col::Time,
        Col::Campus,
        Col::Department,
    ],
};

static GPS: Schema = Schema {
    specs: &[
        Spec {
            col: Col::Riziv,
            name: "riziv",
            aliases: &[
                "inami",
                "gp_riziv",
                "id",
                "riziv_nummer",
                "riziv_nr",
                "nr_riziv",
                "n_inami",
                "numero_inami",
                "inami_nr",
                "nihdi",
            ],
        },
        Spec {
            col: Col::LastName,
            name: "last_name",
            aliases: LAST_NAME_ONLY,
        },
        Spec {
            col: Col::FirstName,
            name: "first_name",
            aliases: FIRST_NAME,
        },
        Spec {
            col: Col::Name,
            name: "name",
            aliases: FULL_NAME,
        },
        Spec {
            col: Col::Language,
            name: "language",
            aliases: LANGUAGE,
        },
        Spec {
            col: Col::Email,
            name: "email",
            aliases: EMAIL,
        },
        Spec {
            col: Col::Mobile,
            name: "mobile",
            aliases: MOBILE,
        },
        Spec {
            col: Col::Phone,
            name: "phone",
            aliases: PHONE,
        },
        Spec {
            col: Col::Organisation,
            name: "practice",
            aliases: &[
                "organisation",
                "organization",
                "praktijk",
                "groepspraktijk",
                "cabinet",
            ],
        },
    ],
    required: &[&[Col::Riziv], &[Col::LastName, Col::Name]],
    name_means_last_name_beside_first_name: true,
    vital: &[Col::Riziv, Col::LastName, Col::Name],
};

static MEDIA: Schema = Schema {
    specs: &[
        Spec {
            col: Col::Organisation,
            name: "outlet",
            aliases: &[
                "media",
                "medium",
                "organisation",
                "organization",
                "redactie",
                "redaction",
                "krant",
                "journal",
                "zender",
                "newspaper",
            ],
        },
        Spec {
            col: Col::Name,
            name: "name",
            aliases: FULL_NAME,
        },
        Spec {
            col: Col::LastName,
            name: "last_name",
            aliases: LAST_NAME_ONLY,
        },
        Spec {
            col: Col::FirstName,
            name: "first_name",
            aliases: FIRST_NAME,
        },
        Spec {
            col: Col::Language,
            name: "language",
            aliases: LANGUAGE,
        },
        Spec {
            col: Col::Email,
            name: "email",
            aliases: EMAIL,
        },
        Spec {
            col: Col::Mobile,
            name: "mobile",
            aliases: MOBILE,
        },
        Spec {
            col: Col::Phone,
            name: "phone",
            aliases: PHONE,
        },
        Spec {
            col: Col::Telegram,
            name: "telegram",
            aliases: &[
                "telegram_id",
                "telegram_chat_id",
                "chat_id",
                "telegram_handle",
            ],
        },
    ],
    required: &[
        &[Col::Name, Col::LastName, Col::FirstName],
        &[Col::Email, Col::Mobile, Col::Phone, Col::Telegram],
    ],
    name_means_last_name_beside_first_name: true,
    vital: &[Col::Name, Col::LastName],
};

const SCHEMAS: [&Schema; 3] = [&APPOINTMENTS, &GPS, &MEDIA];

/// Lower case, accents folded, every run of other characters (spaces, dashes, dots, a
/// camelCase boundary) one `_`, none at the ends.
fn normalise(raw: &str) -> String {
    let mut out = String::with_capacity(raw.len());
    let mut gap = false;
    let mut prev_lower = false;
    for c in raw.chars() {
        if !c.is_alphanumeric() {
            gap = true;
            prev_lower = false;
            continue;
        }
        if c.is_uppercase() && prev_lower {
            gap = true;
        }
        prev_lower = c.is_lowercase() || c.is_numeric();
        if gap && !out.is_empty() {
            out.push('_');
        }
        gap = false;
        for lower in c.to_lowercase() {
            out.push(fold_accent(lower));
        }
    }
    out
}

fn is_known_column(normalised: &str) -> bool {
    SCHEMAS
        .iter()
        .any(|schema| schema.find(normalised).is_some())
}

// ---------------------------------------------------------------------------------------------
// Bytes to text

fn unreadable(file: &str, reason: impl Into<String>) -> Unreadable {
    Unreadable {
        file: file.to_string(),
        reason: reason.into(),
    }
}

/// The file's text: UTF-8 (BOM or not), UTF-16 with a BOM, else Windows-1252.
fn decode<'a>(file: &str, bytes: &'a [u8]) -> Result<Cow<'a, str>, Unreadable> {
    const NOT_CSV: &str = "in Excel, use Save As → CSV UTF-8 (or CSV separated by semicolons)";
    if bytes.starts_with(b"PK\x03\x04") {
        return Err(unreadable(
            file,
            format!("this is a zip archive (an Excel .xlsx or OpenDocument workbook?), not CSV: {NOT_CSV}"),
        ));
    }
    if bytes.starts_with(b"\xD0\xCF\x11\xE0\xA1\xB1\x1A\xE1") {
        return Err(unreadable(
            file,
            format!("this is an old Excel workbook (.xls), not CSV: {NOT_CSV}"),
        ));
    }
    if bytes.starts_with(b"%PDF") {
        return Err(unreadable(file, "this is a PDF, not CSV"));
    }
    let text: Cow<'a, str> = if let Some((encoding, bom)) = encoding_rs::Encoding::for_bom(bytes) {
        if encoding == encoding_rs::UTF_8 {
            utf8_or_windows_1252(file, &bytes[bom..])?
        } else {
            let (text, had_errors) = encoding.decode_without_bom_handling(&bytes[bom..]);
            if had_errors {
                return Err(unreadable(
                    file,
                    format!("not valid {} text", encoding.name()),
                ));
            }
            text
        }
    } else {
        utf8_or_windows_1252(file, bytes)?
    };
    check_text(file, &text)?;
    Ok(match text {
        Cow::Borrowed(text) => Cow::Borrowed(trim_text(text)),
        Cow::Owned(text) => {
            let trimmed = trim_text(&text);
            if trimmed.len() == text.len() {
                Cow::Owned(text)
            } else {
                Cow::Owned(trimmed.to_string())
            }
        }
    })
}

/// Without a second BOM, and without the DOS end-of-file mark some tools still append.
fn trim_text(text: &str) -> &str {
    text.trim_start_matches('\u{feff}')
        .trim_end_matches('\u{1a}')
}

fn utf8_or_windows_1252<'a>(file: &str, bytes: &'a [u8]) -> Result<Cow<'a, str>, Unreadable> {
    if let Ok(text) = std::str::from_utf8(bytes) {
        return Ok(Cow::Borrowed(text));
    }
    if bytes.contains(&0) {
        return Err(binary(file, "it holds NUL bytes"));
    }
    let high = bytes.iter().filter(|&&b| b >= 0x80).count();
    if high * 10 > bytes.len() * 3 {
        return Err(binary(
            file,
            format!("{high} of its {} bytes are not text", bytes.len()),
        ));
    }
    // The five bytes Windows-1252 leaves undefined.
    let undefined = bytes
        .iter()
        .filter(|&&b| matches!(b, 0x81 | 0x8D | 0x8F | 0x90 | 0x9D))
        .count();
    too_many_controls(file, undefined, bytes.len())?;
    let (text, _) = encoding_rs::WINDOWS_1252.decode_without_bom_handling(bytes);
    Ok(text)
}

fn binary(file: &str, why: impl Display) -> Unreadable {
    unreadable(
        file,
        format!("not a text file ({why}): a CSV export is expected"),
    )
}

/// Refuses binary data: NUL bytes, or more than a few control characters.
fn check_text(file: &str, text: &str) -> Result<(), Unreadable> {
    let bytes = text.as_bytes();
    if bytes.contains(&0) {
        return Err(binary(file, "it holds NUL bytes"));
    }
    let controls = bytes
        .iter()
        .filter(|&&b| (b < 0x20 && !matches!(b, b'\t' | b'\n' | b'\r' | 0x0C | 0x1A)) || b == 0x7F)
        .count();
    too_many_controls(file, controls, bytes.len())
}

fn too_many_controls(file: &str, controls: usize, len: usize) -> Result<(), Unreadable> {
    if controls > 8 && controls * 100 > len {
        return Err(binary(
            file,
            format!("{controls} control characters in {len} bytes"),
        ));
    }
    Ok(())
}

// ---------------------------------------------------------------------------------------------
// Header and separator

const SEPARATORS: [u8; 3] = [b';', b',', b'\t'];
const HEADER_SEARCH: usize = 10;

/// An Excel `sep=;` first line: the separator, and the text after that line.
fn sep_line(text: &str) -> Option<(u8, &str)> {
    let line_end = text.find('\n').unwrap_or(text.len());
    let line = text[..line_end].trim_end_matches('\r').trim();
    let rest = line
        .strip_prefix("sep=")
        .or_else(|| line.strip_prefix("SEP="))?;
    let rest = rest.trim_matches('"');
    match rest.as_bytes() {
        [sep] if !sep.is_ascii_alphanumeric() && *sep != b'"' => {
            Some((*sep, &text[(line_end + 1).min(text.len())..]))
        }
        _ => None,
    }
}

/// The separator used most on one of the first lines, counted outside quotes; `;` on a tie.
fn sniff_separator(text: &str) -> u8 {
    let mut best = (0usize, b';');
    let mut counts = [0usize; 3];
    let mut in_quotes = false;
    let mut lines = 0;
    let mut blank = true;
    let mut flush = |counts: &mut [usize; 3]| {
        for (count, sep) in counts.iter().zip(SEPARATORS) {
            if *count > best.0 {
                best = (*count, sep);
            }
        }
        *counts = [0; 3];
    };
    for &b in text.as_bytes().iter().take(1 << 16) {
        match b {
            b'"' => {
                in_quotes = !in_quotes;
                blank = false;
            }
            b'\n' if !in_quotes => {
                flush(&mut counts);
                if !blank {
                    lines += 1;
                    if lines >= HEADER_SEARCH {
                        break;
                    }
                }
                blank = true;
            }
            b';' if !in_quotes => counts[0] += 1,
            b',' if !in_quotes => counts[1] += 1,
            b'\t' if !in_quotes => counts[2] += 1,
            b'\r' | b' ' => {}
            _ => blank = false,
        }
    }
    flush(&mut counts);
    best.1
}

fn is_blank(record: &csv::StringRecord) -> bool {
    record.iter().all(|field| field.trim().is_empty())
}

/// Line numbers of records. `csv::Position::line` miscounts after CRLF line ends and blank
/// lines; a record's byte offset is right but points before the line ends that precede it.
struct Lines<'t> {
    bytes: &'t [u8],
    /// Lines before the text (an Excel `sep=` line).
    offset: usize,
    at: usize,
    line: usize,
}

impl<'t> Lines<'t> {
    fn new(text: &'t str, offset: usize) -> Lines<'t> {
        Lines {
            bytes: text.as_bytes(),
            offset,
            at: 0,
            line: 1,
        }
    }

    /// The 1-based line a record starts on; records must be asked for in order.
    fn of(&mut self, record: &csv::StringRecord) -> usize {
        let mut start = record
            .position()
            .map_or(self.at, |position| position.byte() as usize)
            .clamp(self.at, self.bytes.len());
        while matches!(self.bytes.get(start), Some(b'\r' | b'\n')) {
            start += 1;
        }
        self.line += self.bytes[self.at..start]
            .iter()
            .filter(|&&b| b == b'\n')
            .count();
        self.at = start;
        self.line + self.offset
    }
}

struct FoundHeader<'t> {
    reader: csv::Reader<&'t [u8]>,
    header: csv::StringRecord,
    header_line: usize,
    /// Lines of the non-empty rows skipped above the header.
    skipped: Vec<usize>,
    delimiter: u8,
    lines: Lines<'t>,
}

fn csv_error(file: &str, error: csv::Error) -> Unreadable {
    let at = error
        .position()
        .map(|position| format!("line {}: ", position.line()))
        .unwrap_or_default();
    unreadable(file, format!("{at}{error}"))
}

/// The header: the first row holding at least two known column names among the first
/// non-empty rows, else the first non-empty row.
fn find_header<'t>(file: &str, text: &'t str) -> Result<FoundHeader<'t>, Unreadable> {
    let (delimiter, body, line_offset) = match sep_line(text) {
        Some((sep, rest)) => (sep, rest, 1),
        None => (sniff_separator(text), text, 0),
    };
    let builder = {
        let mut builder = csv::ReaderBuilder::new();
        builder
            .delimiter(delimiter)
            .has_headers(false)
            .flexible(true);
        builder
    };
    let mut record = csv::StringRecord::new();
    let mut probe = builder.from_reader(body.as_bytes());
    let mut header_index = 0;
    let mut seen = 0;
    while seen < HEADER_SEARCH
        && probe
            .read_record(&mut record)
            .map_err(|e| csv_error(file, e))?
    {
        if is_blank(&record) {
            continue;
        }
        let known = record
            .iter()
            .filter(|name| is_known_column(&normalise(name)))
            .count();
        if known >= 2 {
            header_index = seen;
            break;
        }
        seen += 1;
    }
    let mut reader = builder.from_reader(body.as_bytes());
    let mut lines = Lines::new(body, line_offset);
    let mut skipped = Vec::new();
    let mut index = 0;
    loop {
        if !reader
            .read_record(&mut record)
            .map_err(|e| csv_error(file, e))?
        {
            return Err(unreadable(
                file,
                "the file is empty: no header line with column names",
            ));
        }
        if is_blank(&record) {
            continue;
        }
        if index == header_index {
            break;
        }
        skipped.push(lines.of(&record));
        index += 1;
    }
    Ok(FoundHeader {
        reader,
        header_line: lines.of(&record),
        header: record,
        skipped,
        delimiter,
        lines,
    })
}

/// Maps the header onto the schema's columns, refusing a file without its required ones.
fn map_columns(
    file: &str,
    found: &FoundHeader<'_>,
    schema: &Schema,
    notices: &mut Vec<Notice>,
) -> Result<Columns, Unreadable> {
    let mut columns: Columns = [None; COLS];
    let mut rank = [usize::MAX; COLS];
    let line = found.header_line;
    for (index, raw) in found.header.iter().enumerate() {
        let name = raw.trim();
        if name.is_empty() {
            continue;
        }
        let normalised = normalise(name);
        let Some((spec, this_rank)) = schema.find(&normalised) else {
            if normalised != REJECT_REASON {
                notices.push(Notice {
                    line,
                    field: name.to_string(),
                    message: "column not used by this import".to_string(),
                });
            }
            continue;
        };
        let slot = spec.col as usize;
        match columns[slot] {
            None => {
                columns[slot] = Some(index);
                rank[slot] = this_rank;
            }
            Some(previous) => {
                let (kept, ignored) = if this_rank < rank[slot] {
                    columns[slot] = Some(index);
                    rank[slot] = this_rank;
                    (index, previous)
                } else {
                    (previous, index)
                };
                notices.push(Notice {
                    line,
                    field: found.header[ignored].trim().to_string(),
                    message: format!(
                        "another column for {} ({:?}) is used; this one is ignored",
                        spec.name,
                        found.header[kept].trim()
                    ),
                });
            }
        }
    }
    if schema.name_means_last_name_beside_first_name
        && columns[Col::LastName as usize].is_none()
        && columns[Col::FirstName as usize].is_some()
    {
        columns[Col::LastName as usize] = columns[Col::Name as usize].take();
    }
    let missing: Vec<String> = schema
        .required
        .iter()
        .filter(|group| group.iter().all(|&col| columns[col as usize].is_none()))
        .map(|group| {
            group
                .iter()
                .map(|&col| {
                    let spec = schema
                        .specs
                        .iter()
                        .find(|spec| spec.col == col)
                        .expect("a required column is in its schema");
                    let aliases: Vec<&str> = spec.aliases.iter().take(4).copied().collect();
                    if aliases.is_empty() {
                        spec.name.to_string()
                    } else {
                        format!("{} (or {})", spec.name, aliases.join(", "))
                    }
                })
                .collect::<Vec<_>>()
                .join(" or ")
        })
        .collect();
    if !missing.is_empty() {
        let mut found_names: Vec<String> = found
            .header
            .iter()
            .map(|name| name.trim())
            .filter(|name| !name.is_empty())
            .map(|name| {
                let mut shown: String = name.chars().take(60).collect();
                if shown.len() < name.len() {
                    shown.push('…');
                }
                format!("{shown:?}")
            })
            .collect();
        if found_names.len() > 40 {
            found_names.truncate(40);
            found_names.push("…".to_string());
        }
        let found_names = if found_names.is_empty() {
            "none".to_string()
        } else {
            found_names.join(", ")
        };
        return Err(unreadable(
            file,
            format!(
                "line {line}: missing required column{} {}; columns found: {found_names}",
                if missing.len() == 1 { "" } else { "s" },
                missing.join("; "),
            ),
        ));
    }
    if let (Some(&first), Some(&last)) = (found.skipped.first(), found.skipped.last()) {
        notices.push(Notice {
            line: first,
            field: "header".to_string(),
            message: if first == last {
                format!("line {first} above the header was skipped")
            } else {
                format!("lines {first}–{last} above the header were skipped")
            },
        });
    }
    Ok(columns)
}

// ---------------------------------------------------------------------------------------------
// Rows

type Problem = (Option<&'static str>, String);

/// One data row being read: its fields by column, the problems, dropped fields and notices
/// found so far.
struct Row<'r> {
    record: &'r csv::StringRecord,
    columns: &'r Columns,
    line: usize,
    /// What rejects the row.
    problems: Vec<Problem>,
    /// Fields left out of what the row yields, each with why: the row is kept without them.
    dropped: Vec<Problem>,
    /// Columns whose field was dropped before reading (over its length limit): read as empty.
    blanked: [bool; COLS],
    notices: Vec<Notice>,
}

impl<'r> Row<'r> {
    fn new(record: &'r csv::StringRecord, columns: &'r Columns, line: usize) -> Row<'r> {
        Row {
            record,
            columns,
            line,
            problems: Vec::new(),
            dropped: Vec::new(),
            blanked: [false; COLS],
            notices: Vec::new(),
        }
    }

    fn has(&self, col: Col) -> bool {
        self.columns[col as usize].is_some()
    }

    /// The trimmed field, empty when the column or the field is missing or was dropped. A
    /// formula that a rejects file neutralised reads as the export wrote it.
    fn get(&self, col: Col) -> &'r str {
        if self.blanked[col as usize] {
            return "";
        }
        self.columns[col as usize]
            .and_then(|index| self.record.get(index))
            .map_or("", |field| crate::spreadsheet::undefused(field.trim()))
    }

    /// Refuses every field over its length limit: the row when the field is vital, else the
    /// field alone.
    fn check_lengths(&mut self, schema: &Schema) {
        for spec in schema.specs {
            let col = spec.col;
            let Some(reason) = fields::too_long(col.kind(), self.get(col)) else {
                continue;
            };
            if schema.vital.contains(&col) {
                self.fail(spec.name, reason);
            } else {
                self.drop_field(spec.name, reason);
            }
            self.blanked[col as usize] = true;
        }
    }

    fn fail(&mut self, field: &'static str, reason: impl Into<String>) {
        self.problems.push((Some(field), reason.into()));
    }

    /// The field is left out; the row is still taken.
    fn drop_field(&mut self, field: &'static str, reason: impl Into<String>) {
        self.dropped.push((Some(field), reason.into()));
    }

    fn failed(&self) -> bool {
        !self.problems.is_empty()
    }

    fn notice(&mut self, field: &str, message: impl Into<String>) {
        self.notices.push(Notice {
            line: self.line,
            field: field.to_string(),
            message: message.into(),
        });
    }

    fn required(&mut self, col: Col, field: &'static str) -> &'r str {
        let value = self.get(col);
        if value.is_empty() {
            self.fail(field, "is empty");
        }
        value
    }

    fn text(&self, col: Col) -> Option<String> {
        let value = self.get(col);
        (!value.is_empty()).then(|| clean(value))
    }

    fn email(&mut self, col: Col, field: &'static str) -> Option<String> {
        let raw = self.get(col);
        if raw.is_empty() {
            return None;
        }
        match fields::email(raw) {
            Ok(address) => Some(address),
            Err(reason) => {
                self.drop_field(field, reason);
                None
            }
        }
    }

    fn language(&mut self, col: Col, field: &'static str) -> Option<String> {
        let raw = self.get(col);
        if raw.is_empty() {
            return None;
        }
        match Language::parse(raw) {
            Ok(language) => Some(language.code().to_string()),
            Err(_) => {
                self.notice(
                    field,
                    format!(
                        "{raw:?} is not nl, fr or en: kept as written; messages go out in the \
                         campus language"
                    ),
                );
                Some(raw.to_string())
            }
        }
    }

    fn phone(&mut self, col: Col, field: &'static str) -> Option<PhoneNumber> {
        let raw = self.get(col);
        if raw.is_empty() {
            return None;
        }
        match fields::phone(raw, None) {
            Ok(number) => Some(number),
            Err(reason) => {
                self.drop_field(field, reason);
                None
            }
        }
    }

    /// (mobile, phone) in E.164 from a mobile and a phone column, each number where it
    /// belongs: SMS-capable numbers to the mobile, landlines to the phone.
    fn phones(
        &mut self,
        mobile_col: Option<(Col, &'static str)>,
        phone_col: (Col, &'static str),
    ) -> (Option<String>, Option<String>) {
        let mut mobile = None;
        let mut landline_in_mobile = None;
        if let Some((col, field)) = mobile_col {
            match self.phone(col, field) {
                Some(number) if number.sms_capable => mobile = Some(number.e164),
                Some(number) => landline_in_mobile = Some(number.e164),
                None => {}
            }
        }
        let mut phone = None;
        if let Some(number) = self.phone(phone_col.0, phone_col.1) {
            if number.sms_capable && mobile.is_none() {
                mobile = Some(number.e164);
            } else {
                phone = Some(number.e164);
            }
        }
        if let (Some(landline), Some((col, field))) = (landline_in_mobile, mobile_col) {
            let raw = self.get(col);
            match &phone {
                None => {
                    self.notice(
                        field,
                        format!("{raw:?} is a landline: kept as the phone number, no SMS"),
                    );
                    phone = Some(landline);
                }
                Some(kept) if *kept == landline => {
                    self.notice(field, format!("{raw:?} is a landline: no SMS"));
                }
                Some(kept) => {
                    self.notice(
                        field,
                        format!(
                            "{raw:?} is a landline and {} already holds {kept}: not kept, no SMS",
                            phone_col.1
                        ),
                    );
                }
            }
        }
        (mobile, phone)
    }

    fn start(&mut self, col: Col, field: &'static str) -> Option<DateTime<Utc>> {
        let raw = self.get(col);
        if raw.is_empty() {
            self.fail(field, "is empty");
            return None;
        }
        // A date-only start (or Excel's midnight) beside a time column.
        let time = self.get(Col::Time);
        let joined;
        let raw = match raw.split_once([' ', 'T']) {
            _ if time.is_empty() => raw,
            None => {
                joined = format!("{raw} {time}");
                &joined
            }
            Some((date, clock)) if matches!(clock.trim(), "0:00" | "00:00" | "00:00:00") => {
                joined = format!("{date} {time}");
                &joined
            }
            Some(_) => raw,
        };
        match parse_start(raw) {
            Ok((at, None)) => Some(at),
            Ok((at, Some(note))) => {
                self.notice(field, format!("{raw:?} {note}"));
                Some(at)
            }
            Err(reason) => {
                self.fail(field, reason);
                None
            }
        }
    }

    fn birth_date(&mut self, col: Col, field: &'static str) -> Option<NaiveDate> {
        let raw = self.get(col);
        if raw.is_empty() {
            return None;
        }
        let date = parse_birth_date(raw);
        if date.is_none() {
            self.drop_field(
                field,
                format!("{raw:?} is not a date (dd/mm/yyyy or yyyy-mm-dd)"),
            );
        }
        date
    }

    /// The name as (first, last): from first and last name columns, else split from a full
    /// name column.
    fn name(&mut self) -> (String, String) {
        let first = self.get(Col::FirstName);
        let last = self.get(Col::LastName);
        if !first.is_empty() || !last.is_empty() {
            return (clean(first), clean(last));
        }
        split_name(self.get(Col::Name))
    }
}

/// Runs of whitespace (line breaks in a quoted field included) become one space.
fn clean(value: &str) -> String {
    let needs = value
        .as_bytes()
        .windows(2)
        .any(|pair| pair[0].is_ascii_whitespace() && pair[1].is_ascii_whitespace())
        || value.chars().any(|c| c.is_whitespace() && c != ' ');
    if !needs {
        return value.to_string();
    }
    value.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// A RIZIV/INAMI number's eleven digits, without the dots, dashes, slashes and spaces it is
/// written with.
fn normalise_riziv(raw: &str) -> Result<String, String> {
    let mut digits = String::with_capacity(11);
    for c in raw.chars() {
        match c {
            '0'..='9' => digits.push(c),
            '.' | '-' | '/' | ' ' | '\u{a0}' => {}
            _ => {
                return Err(format!(
                    "{raw:?} is not a RIZIV/INAMI number: it has {c:?} (eleven digits expected, \
                     e.g. 1-23456-78-004)"
                ))
            }
        }
    }
    if digits.len() != 11 {
        return Err(format!(
            "{raw:?} is not a RIZIV/INAMI number: {} digits, eleven expected (e.g. \
             1-23456-78-004)",
            digits.len()
        ));
    }
    Ok(digits)
}

fn parse_status(raw: &str) -> Result<AppointmentStatus, String> {
    // The words exports use most, without a normalised copy.
    for (word, status) in [
        ("gepland", AppointmentStatus::Booked),
        ("booked", AppointmentStatus::Booked),
        ("geannuleerd", AppointmentStatus::Cancelled),
        ("cancelled", AppointmentStatus::Cancelled),
    ] {
        if raw.eq_ignore_ascii_case(word) {
            return Ok(status);
        }
    }
    match normalise(raw).as_str() {
        "" | "booked" | "gepland" | "ingepland" | "planned" | "scheduled" | "confirmed"
        | "bevestigd" | "confirme" | "confirmee" | "prevu" | "planifie" => {
            Ok(AppointmentStatus::Booked)
        }
        "cancelled" | "canceled" | "geannuleerd" | "annule" | "annulee" => {
            Ok(AppointmentStatus::Cancelled)
        }
        _ => Err(format!(
            "{raw:?} is not a status: use booked (gepland, confirmé…) or cancelled \
             (geannuleerd, annulé…)"
        )),
    }
}

fn parse_telegram(raw: &str) -> Result<String, String> {
    let link = [
        "https://t.me/",
        "http://t.me/",
        "t.me/",
        "https://telegram.me/",
    ]
    .iter()
    .find_map(|prefix| raw.strip_prefix(prefix));
    let handle = link.or_else(|| raw.strip_prefix('@'));
    if let Some(handle) = handle {
        let valid = (5..=32).contains(&handle.len())
            && handle.starts_with(|c: char| c.is_ascii_alphabetic())
            && handle
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'_');
        if valid {
            return Ok(format!("@{handle}"));
        }
    } else {
        let digits = raw.strip_prefix('-').unwrap_or(raw);
        if !digits.is_empty() && digits.bytes().all(|b| b.is_ascii_digit()) {
            return Ok(raw.to_string());
        }
    }
    Err(format!(
        "{raw:?} is neither a chat id (digits, e.g. 123456789 or -1001234567890) nor an \
         @handle (5 to 32 letters, digits or _)"
    ))
}

const TITLES: [&str; 8] = [
    "dr",
    "dokter",
    "docteur",
    "doctor",
    "prof",
    "professor",
    "professeur",
    "dres",
];
const PARTICLES: [&str; 14] = [
    "van", "vanden", "vander", "vande", "de", "den", "der", "le", "la", "du", "des", "d'", "von",
    "ver",
];

/// The words of a name without a leading doctor's or professor's title ("Dr. ", "Dr.",
/// "Dokter", "Prof."), unless the title is all there is.
fn name_words(raw: &str) -> Vec<&str> {
    let mut tokens: Vec<&str> = raw.split_whitespace().collect();
    // "Dr.Peeters": the title glued to the name.
    if let Some(first) = tokens.first().copied() {
        for title in TITLES {
            let lower = first.to_lowercase();
            if let Some(rest) = lower.strip_prefix(title).and_then(|r| r.strip_prefix('.')) {
                if !rest.is_empty() {
                    tokens[0] = &first[first.len() - rest.len()..];
                }
            }
        }
    }
    while let Some(first) = tokens.first() {
        let word = first.trim_end_matches('.').to_lowercase();
        if tokens.len() > 1 && TITLES.contains(&word.as_str()) {
            tokens.remove(0);
        } else {
            break;
        }
    }
    tokens
}

fn without_title(raw: &str) -> String {
    name_words(raw).join(" ")
}

/// Splits a full name into (first, last), without a doctor's or professor's title:
/// "Dr. Marc Peeters", "Peeters, Marc" and "PEETERS Marc" give ("Marc", "Peeters"/"PEETERS").
/// A name starting with a particle ("Van den Berghe") is all last name.
fn split_name(raw: &str) -> (String, String) {
    let tokens = name_words(raw);
    let joined = tokens.join(" ");
    if let Some((last, first)) = joined.split_once(',') {
        return (first.trim().to_string(), last.trim().to_string());
    }
    match tokens.as_slice() {
        [] => (String::new(), String::new()),
        [only] => (String::new(), only.to_string()),
        [first, rest @ ..] => {
            let is_upper = |word: &str| {
                word.chars().any(char::is_alphabetic)
                    && word.chars().filter(|c| c.is_alphabetic()).count() > 1
                    && !word.chars().any(char::is_lowercase)
            };
            let upper = tokens.iter().take_while(|word| is_upper(word)).count();
            if upper > 0 && upper < tokens.len() {
                return (tokens[upper..].join(" "), tokens[..upper].join(" "));
            }
            if PARTICLES.contains(&first.to_lowercase().as_str()) {
                return (String::new(), joined);
            }
            (first.to_string(), rest.join(" "))
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Dates

struct Cursor<'a> {
    bytes: &'a [u8],
    at: usize,
}

impl Cursor<'_> {
    fn number(&mut self, min: usize, max: usize) -> Option<(u32, usize)> {
        let start = self.at;
        let mut value = 0u32;
        while self.at < self.bytes.len()
            && self.at - start < max
            && self.bytes[self.at].is_ascii_digit()
        {
            value = value * 10 + u32::from(self.bytes[self.at] - b'0');
            self.at += 1;
        }
        let len = self.at - start;
        (len >= min).then_some((value, len))
    }

    fn eat(&mut self, set: &[u8]) -> Option<u8> {
        let b = *self.bytes.get(self.at)?;
        if set.contains(&b) {
            self.at += 1;
            Some(b)
        } else {
            None
        }
    }

    fn spaces(&mut self) -> usize {
        let start = self.at;
        while self.eat(b" ").is_some() {}
        self.at - start
    }

    fn done(&self) -> bool {
        self.at == self.bytes.len()
    }
}

/// A date as dd/mm/yyyy (or -, .) or yyyy-mm-dd, and whether its year was written with two
/// digits.
fn date_part(cursor: &mut Cursor<'_>) -> Option<(NaiveDate, bool)> {
    let (first, first_len) = cursor.number(1, 4)?;
    if first_len == 4 {
        cursor.eat(b"-/")?;
        let (month, _) = cursor.number(1, 2)?;
        cursor.eat(b"-/")?;
        let (day, _) = cursor.number(1, 2)?;
        return Some((NaiveDate::from_ymd_opt(first as i32, month, day)?, false));
    }
    if first_len > 2 {
        return None;
    }
    let sep = cursor.eat(b"/-.")?;
    let (month, _) = cursor.number(1, 2)?;
    cursor.eat(&[sep])?;
    let (year, year_len) = cursor.number(2, 4)?;
    let year = match year_len {
        2 => 2000 + year,
        4 => year,
        _ => return None,
    };
    Some((
        NaiveDate::from_ymd_opt(year as i32, month, first)?,
        year_len == 2,
    ))
}

fn time_part(cursor: &mut Cursor<'_>) -> Option<NaiveTime> {
    let (hour, _) = cursor.number(1, 2)?;
    cursor.eat(b":uh")?;
    let (minute, _) = cursor.number(2, 2)?;
    let mut second = 0;
    if cursor.eat(b":").is_some() {
        second = cursor.number(2, 2)?.0;
        if cursor.eat(b".,").is_some() {
            cursor.number(1, 9)?;
        }
    }
    NaiveTime::from_hms_opt(hour, minute, second)
}

fn offset_part(cursor: &mut Cursor<'_>) -> Option<Option<FixedOffset>> {
    if cursor.eat(b"Zz").is_some() {
        return Some(FixedOffset::east_opt(0));
    }
    let Some(sign) = cursor.eat(b"+-") else {
        return Some(None);
    };
    let (hours, _) = cursor.number(2, 2)?;
    cursor.eat(b":");
    let minutes = cursor.number(2, 2).map_or(0, |(minutes, _)| minutes);
    let seconds = (hours * 3600 + minutes * 60) as i32;
    let offset = if sign == b'-' {
        FixedOffset::west_opt(seconds)
    } else {
        FixedOffset::east_opt(seconds)
    }?;
    Some(Some(offset))
}

/// An appointment's start in UTC, with a note when the Brussels clock change made it
/// ambiguous or skipped it.
fn parse_start(raw: &str) -> Result<(DateTime<Utc>, Option<&'static str>), String> {
    let wrong = || {
        format!(
            "{raw:?} is not a date and time: use dd/mm/yyyy HH:MM (Brussels time) or \
             2026-01-13T09:30 (ISO 8601)"
        )
    };
    let mut cursor = Cursor {
        bytes: raw.as_bytes(),
        at: 0,
    };
    let (date, _) = date_part(&mut cursor).ok_or_else(wrong)?;
    if cursor.done() {
        return Err(format!(
            "{raw:?} {NO_TIME}: the appointment's hour is needed"
        ));
    }
    if cursor.eat(b"Tt").is_none() && cursor.spaces() == 0 {
        return Err(wrong());
    }
    let time = time_part(&mut cursor).ok_or_else(wrong)?;
    cursor.spaces();
    let offset = offset_part(&mut cursor).ok_or_else(wrong)?;
    if !cursor.done() {
        return Err(wrong());
    }
    let local = NaiveDateTime::new(date, time);
    if let Some(offset) = offset {
        let at = offset
            .from_local_datetime(&local)
            .single()
            .ok_or_else(wrong)?;
        return Ok((at.with_timezone(&Utc), None));
    }
    Ok(brussels(local))
}

const NO_TIME: &str = "has no time";

fn brussels(local: NaiveDateTime) -> (DateTime<Utc>, Option<&'static str>) {
    match Brussels.from_local_datetime(&local) {
        LocalResult::Single(at) => (at.with_timezone(&Utc), None),
        LocalResult::Ambiguous(summer, _) => (
            summer.with_timezone(&Utc),
            Some("happens twice when the clocks go back: read as summer time (the first)"),
        ),
        LocalResult::None => {
            let later = Brussels
                .from_local_datetime(&(local + Duration::hours(1)))
                .earliest()
                .map_or_else(
                    || Utc.from_utc_datetime(&(local - Duration::hours(1))),
                    |at| at.with_timezone(&Utc),
                );
            (
                later,
                Some("does not exist when the clocks go forward: read as winter time"),
            )
        }
    }
}

fn parse_birth_date(raw: &str) -> Option<NaiveDate> {
    let mut cursor = Cursor {
        bytes: raw.as_bytes(),
        at: 0,
    };
    let (date, two_digit_year) = date_part(&mut cursor)?;
    if two_digit_year {
        return None;
    }
    // Excel writes a date cell as "03/02/1958 00:00" when it is formatted as date and time.
    if !cursor.done() {
        if cursor.spaces() == 0 && cursor.eat(b"Tt").is_none() {
            return None;
        }
        time_part(&mut cursor)?;
        if !cursor.done() {
            return None;
        }
    }
    Some(date)
}

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

struct GpSeen {
    /// Where the GP is in the batch's contacts.
    index: usize,
    /// The raw name, e-mail and phone the GP was first read with: rows repeating them need no
    /// second reading.
    name: String,
    email: String,
    phone: String,
}

#[derive(Default)]
struct AppointmentRows {
    patients: FxHashMap<String, usize>,
    /// By RIZIV.
    gps: FxHashMap<String, GpSeen>,
    /// Appointment id → the line it was taken from.
    appointments: FxHashMap<String, usize>,
}

impl AppointmentRows {
    /// The GP's RIZIV, and the GP contact when the row says something new about them.
    fn gp(&mut self, row: &mut Row<'_>) -> Option<(String, Option<NewContact>)> {
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
struct ContactRows {
    role: Role,
    contacts: FxHashMap<String, usize>,
}

impl ContactRows {
    fn gps() -> ContactRows {
        ContactRows {
            role: Role::Gp,
            contacts: FxHashMap::default(),
        }
    }

    fn media() -> ContactRows {
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
    use super::*;

    const WINDOWS_1252: &[u8] =
        include_bytes!("../../tests/fixtures/csv/appointments_windows1252.csv");
    const UTF8_BOM: &[u8] = include_bytes!("../../tests/fixtures/csv/appointments_utf8_bom.csv");

    fn utc(text: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(text)
            .expect("a test timestamp")
            .with_timezone(&Utc)
    }

    fn contact<'b>(batch: &'b ImportBatch, external_id: &str) -> &'b NewContact {
        batch
            .contacts
            .iter()
            .find(|c| c.external_id == external_id)
            .unwrap_or_else(|| panic!("no contact {external_id} in {:#?}", batch.contacts))
    }

    fn appointment<'b>(batch: &'b ImportBatch, external_id: &str) -> &'b NewAppointment {
        batch
            .appointments
            .iter()
            .find(|a| a.external_id == external_id)
            .unwrap_or_else(|| panic!("no appointment {external_id}"))
    }

    fn unreadable_reason(result: Result<ImportBatch, Unreadable>) -> String {
        match result {
            Ok(batch) => panic!("expected Unreadable, got {batch:#?}"),
            Err(error) => error.reason,
        }
    }

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
    fn binary_garbage_is_unreadable_and_imports_nothing() {
        let mut seed = 0x2545_f491_u32;
        let noise: Vec<u8> = (0..4096)
            .map(|_| {
                seed ^= seed << 13;
                seed ^= seed >> 17;
                seed ^= seed << 5;
                seed as u8
            })
            .collect();
        let reason = unreadable_reason(appointments("noise.csv", &noise));
        assert!(reason.contains("not a text file"), "{reason}");

        let no_nul: Vec<u8> = noise.iter().map(|&b| b | 1).collect();
        let reason = unreadable_reason(appointments("noise.csv", &no_nul));
        assert!(reason.contains("not a text file"), "{reason}");

        let workbook = b"PK\x03\x04\x14\x00\x06\x00\x08\x00\x00\x00!\x00[Content_Types].xml";
        let error = appointments("afspraken.xlsx", workbook).expect_err("a workbook");
        assert_eq!(error.file, "afspraken.xlsx");
        assert!(error.reason.contains("Excel .xlsx"), "{}", error.reason);

        let reason = unreadable_reason(appointments("empty.csv", b"\xEF\xBB\xBF\r\n\r\n"));
        assert!(reason.contains("empty"), "{reason}");
    }

    #[test]
    fn a_gp_list_given_as_appointments_is_unreadable_naming_the_missing_columns() {
        let gp_list =
            "RIZIV;Naam;Voornaam;Taal;E-mail\n1-23456-78-004;Peeters;Marc;nl;marc@example.be\n";
        let reason = unreadable_reason(appointments("huisartsen.csv", gp_list.as_bytes()));
        for missing in [
            "patient_id",
            "appointment_id",
            "start",
            "campus",
            "department",
        ] {
            assert!(reason.contains(missing), "{missing} in {reason}");
        }
        assert!(
            !reason.contains("last_name (or"),
            "Naam is the last name: {reason}"
        );
        assert!(
            reason
                .contains("columns found: \"RIZIV\", \"Naam\", \"Voornaam\", \"Taal\", \"E-mail\""),
            "{reason}"
        );

        let prose = "Dear IT, please find the appointments attached.\n";
        let reason = unreadable_reason(appointments("mail.txt", prose.as_bytes()));
        assert!(reason.contains("missing required columns"), "{reason}");
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
    fn a_bad_email_landline_or_gp_phone_drops_that_field_and_keeps_the_patient() {
        let text = "patient_id;last_name;first_name;mobile;phone;email;appointment_id;start;\
            campus;department;gp_riziv;gp_name;gp_phone\n\
            P1;Peeters;An;0471 12 34 56;03 12;an@;A1;13/01/2026 09:30;Deurne;Cardiologie;\
            1-23456-78-004;Dr. Marc Wouters;0800\n";
        let batch = appointments("x.csv", text.as_bytes()).expect("readable");
        let an = contact(&batch, "P1");
        assert_eq!(an.mobile.as_deref(), Some("+32471123456"));
        assert_eq!((an.phone.as_deref(), an.email.as_deref()), (None, None));
        assert_eq!(appointment(&batch, "A1").patient, Identity::patient("P1"));
        assert_eq!(
            appointment(&batch, "A1").gp,
            Some(Identity::riziv("12345678004"))
        );
        let gp = contact(&batch, "12345678004");
        assert_eq!(
            (gp.last_name.as_str(), gp.phone.as_deref()),
            ("Wouters", None)
        );
        assert_eq!((batch.rejected(), batch.kept_without_a_field()), (0, 1));
        let kept = &batch.rejects[0];
        assert!(kept.kept);
        let said = kept.describe();
        assert!(said.starts_with("kept without phone: \"03 12\""), "{said}");
        assert!(said.contains("; kept without email: \"an@\""), "{said}");
        assert!(said.contains("; kept without gp_phone: \"0800\""), "{said}");
    }

    #[test]
    fn a_field_over_its_limit_is_dropped_or_rejects_the_row_without_being_repeated() {
        let huge = "A".repeat(10_000_000);
        let text = format!(
            "patient_id;last_name;first_name;mobile;appointment_id;start;campus;department\n\
             P1;Peeters;{huge};0471 12 34 56;A1;13/01/2026 09:30;Deurne;Cardiologie\n\
             P2;{huge};An;0472 12 34 56;A2;13/01/2026 09:30;Deurne;Cardiologie\n"
        );
        let batch = appointments("x.csv", text.as_bytes()).expect("readable");
        let peeters = contact(&batch, "P1");
        assert_eq!(peeters.first_name, "", "a first name can go");
        assert_eq!(peeters.mobile.as_deref(), Some("+32471123456"));
        assert_eq!(batch.contacts.len(), 1, "a last name cannot");
        assert_eq!(batch.appointments.len(), 1);
        let reasons: Vec<(bool, Option<&str>, usize)> = batch
            .rejects
            .iter()
            .map(|r| (r.kept, r.field.as_deref(), r.reason.len()))
            .collect();
        assert_eq!(reasons.len(), 2);
        assert_eq!((reasons[0].0, reasons[0].1), (true, Some("first_name")));
        assert_eq!((reasons[1].0, reasons[1].1), (false, Some("last_name")));
        assert!(reasons.iter().all(|(_, _, len)| *len < 200), "{reasons:?}");
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

    #[test]
    fn title_lines_above_the_header_and_an_excel_sep_line_are_skipped() {
        let text = "sep=;\r\nAfsprakenlijst Campus Noord;;;;;\r\nGemaakt op 12/01/2026;;;;;\r\n\
            patient_id;last_name;appointment_id;start;campus;department\r\n\
            P1;Peeters;A1;13/01/2026 09:30;Campus Noord;Cardiologie\r\n\
            P2;Janssens;A2;13-01-2026 9u45;Campus Noord;Cardiologie\r\n";
        let batch = appointments("x.csv", text.as_bytes()).expect("readable");
        assert_eq!((batch.records, batch.appointments.len()), (2, 2));
        assert_eq!(
            appointment(&batch, "A2").starts_at,
            utc("2026-01-13T08:45:00Z")
        );
        assert_eq!(batch.notices.len(), 1);
        assert_eq!(batch.notices[0].line, 2);
        assert_eq!(batch.notices[0].field, "header");

        let shifted = "patient_id;last_name;appointment_id;start;campus;department\n\
            P1;Peeters;A1;13/01/2026 09:30;Campus Noord;Cardio;logie\n";
        let batch = appointments("x.csv", shifted.as_bytes()).expect("readable");
        assert_eq!(batch.rejects.len(), 1);
        assert_eq!(batch.rejects[0].field, None);
        assert!(batch.rejects[0]
            .reason
            .contains("7 fields but the header has 6"));
    }

    #[test]
    fn a_date_and_an_hour_in_separate_columns_make_one_start() {
        let text = "Naam;Patiëntnummer;Afspraak ID;Datum;Uur;Campus;Dienst\n\
            Peeters;P1;A1;13/01/2026;09:30;Campus Noord;Cardiologie\n\
            Peeters;P1;A2;14/01/2026 00:00;14:15;Campus Noord;Cardiologie\n";
        let batch = appointments("x.csv", text.as_bytes()).expect("readable");
        assert_eq!(batch.rejects, [], "{:#?}", batch.rejects);
        assert_eq!(
            appointment(&batch, "A1").starts_at,
            utc("2026-01-13T08:30:00Z")
        );
        assert_eq!(
            appointment(&batch, "A2").starts_at,
            utc("2026-01-14T13:15:00Z")
        );
        assert_eq!(batch.contacts[0].external_id, "P1");

        let both = "Patiënt;Patiëntnummer;Naam;Afspraak ID;Datum;Campus;Dienst\n\
            Jan Peeters;P1;Peeters;A1;13/01/2026 09:30;Campus Noord;Cardiologie\n";
        let batch = appointments("x.csv", both.as_bytes()).expect("readable");
        assert_eq!(
            batch.contacts[0].external_id, "P1",
            "patientnummer over patient"
        );
        assert!(batch
            .notices
            .iter()
            .any(|n| n.line == 1 && n.field == "Patiënt"));
    }

    #[test]
    fn start_times_are_read_in_brussels_time_unless_they_say_otherwise() {
        let at = |raw| parse_start(raw).map(|(at, _)| at);
        assert_eq!(at("13/01/2026 09:30"), Ok(utc("2026-01-13T08:30:00Z")));
        assert_eq!(at("13-01-2026 09:30"), Ok(utc("2026-01-13T08:30:00Z")));
        assert_eq!(at("13/01/2026 09:30:15"), Ok(utc("2026-01-13T08:30:15Z")));
        assert_eq!(at("3/1/2026 9:30"), Ok(utc("2026-01-03T08:30:00Z")));
        assert_eq!(at("13-01-26 09h30"), Ok(utc("2026-01-13T08:30:00Z")));
        assert_eq!(at("2026-01-13T09:30"), Ok(utc("2026-01-13T08:30:00Z")));
        assert_eq!(at("2026-01-13 09:30:00"), Ok(utc("2026-01-13T08:30:00Z")));
        assert_eq!(
            at("2026-01-13T09:30:00.000Z"),
            Ok(utc("2026-01-13T09:30:00Z"))
        );
        assert_eq!(
            at("2026-01-13T09:30-05:00"),
            Ok(utc("2026-01-13T14:30:00Z"))
        );
        assert_eq!(at("2026-07-13T09:30"), Ok(utc("2026-07-13T07:30:00Z")));
        let (at_fallback, note) = parse_start("25/10/2026 02:30").expect("ambiguous, read");
        assert_eq!(at_fallback, utc("2026-10-25T00:30:00Z"));
        assert!(note.is_some());
        for wrong in [
            "13/01/2026",
            "31/02/2026 09:00",
            "13/01/2026 25:00",
            "morgen",
            "2026-01-13T09:30 CET",
        ] {
            assert!(at(wrong).is_err(), "{wrong}");
        }
        assert!(at("13/01/2026").unwrap_err().contains("no time"));
        assert_eq!(
            parse_birth_date("03/02/1958"),
            NaiveDate::from_ymd_opt(1958, 2, 3)
        );
        assert_eq!(
            parse_birth_date("1958-02-03"),
            NaiveDate::from_ymd_opt(1958, 2, 3)
        );
        assert_eq!(
            parse_birth_date("03/02/1958 00:00"),
            NaiveDate::from_ymd_opt(1958, 2, 3)
        );
        assert_eq!(parse_birth_date("03/02/58"), None, "which century?");
    }

    #[test]
    fn statuses_names_and_numbers_as_exports_write_them() {
        for raw in [
            "",
            "Booked",
            "gepland",
            "Bevestigd",
            "confirmé",
            "CONFIRMED",
        ] {
            assert_eq!(parse_status(raw), Ok(AppointmentStatus::Booked), "{raw}");
        }
        for raw in [
            "cancelled",
            "Canceled",
            "geannuleerd",
            "annulé",
            "Annule",
            "annulée",
        ] {
            assert_eq!(parse_status(raw), Ok(AppointmentStatus::Cancelled), "{raw}");
        }
        assert!(parse_status("no-show").is_err());

        let split = |raw| {
            let (first, last) = split_name(raw);
            (first, last)
        };
        assert_eq!(split("Dr. Marc Peeters"), ("Marc".into(), "Peeters".into()));
        assert_eq!(split("Dr.Marc Peeters"), ("Marc".into(), "Peeters".into()));
        assert_eq!(split("Dokter An Maes"), ("An".into(), "Maes".into()));
        assert_eq!(
            split("Docteur Jean-Luc Dubois"),
            ("Jean-Luc".into(), "Dubois".into())
        );
        assert_eq!(split("Peeters, Marc"), ("Marc".into(), "Peeters".into()));
        assert_eq!(split("PEETERS Marc"), ("Marc".into(), "PEETERS".into()));
        assert_eq!(
            split("Marc Van den Berghe"),
            ("Marc".into(), "Van den Berghe".into())
        );
        assert_eq!(
            split("Dr. Van den Berghe"),
            ("".into(), "Van den Berghe".into())
        );
        assert_eq!(split("Peeters"), ("".into(), "Peeters".into()));

        assert_eq!(normalise_riziv("1-23456-78-004"), Ok("12345678004".into()));
        assert_eq!(normalise_riziv("1.23456.78.004"), Ok("12345678004".into()));
        assert!(normalise_riziv("1234567800").is_err());
        assert!(normalise_riziv("A2345678004").is_err());

        assert_eq!(parse_telegram("123456789"), Ok("123456789".into()));
        assert_eq!(
            parse_telegram("-1001234567890"),
            Ok("-1001234567890".into())
        );
        assert_eq!(parse_telegram("@vrt_nws"), Ok("@vrt_nws".into()));
        assert_eq!(
            parse_telegram("https://t.me/vrt_nws"),
            Ok("@vrt_nws".into())
        );
        assert!(parse_telegram("vrt nws").is_err());

        assert_eq!(
            fields::phone("32471123456", None).map(|p| p.e164),
            Ok("+32471123456".into()),
            "Excel dropped the +"
        );
        assert_eq!(
            fields::phone("0471\u{a0}12\u{a0}34\u{a0}56", None).map(|p| p.e164),
            Ok("+32471123456".into())
        );
    }

    #[test]
    fn header_names_are_matched_whatever_their_case_accents_or_spelling() {
        for (raw, want) in [
            ("Téléphone", "telephone"),
            ("E-mail", "e_mail"),
            ("Rendez-vous ID", "rendez_vous_id"),
            ("PatientId", "patient_id"),
            (" N° INAMI ", "n_inami"),
            ("Patiëntnummer", "patientnummer"),
            ("\u{feff}patient_id", "patient_id"),
            ("GSM", "gsm"),
        ] {
            assert_eq!(normalise(raw), want, "{raw:?}");
        }
        for schema in SCHEMAS {
            let mut seen = std::collections::HashSet::new();
            for spec in schema.specs {
                assert_eq!(normalise(spec.name), spec.name);
                assert!(seen.insert(spec.name), "{} twice", spec.name);
                for alias in spec.aliases {
                    assert_eq!(normalise(alias), *alias, "aliases are written normalised");
                    assert!(seen.insert(alias), "{alias} means two columns");
                }
            }
        }
    }

    #[test]
    fn unknown_columns_and_languages_are_noticed_not_rejected() {
        let text = "patient_id;last_name;appointment_id;start;campus;department;GSM nr;taal\n\
            P1;Peeters;A1;13/01/2026 09:30;Campus Noord;Cardiologie;0471 12 34 56;Türkçe\n";
        let batch = appointments("x.csv", text.as_bytes()).expect("readable");
        assert_eq!(batch.appointments.len(), 1);
        assert_eq!(batch.contacts[0].language.as_deref(), Some("Türkçe"));
        let notices: Vec<(usize, &str)> = batch
            .notices
            .iter()
            .map(|n| (n.line, n.field.as_str()))
            .collect();
        assert_eq!(notices, [(1, "GSM nr"), (2, "language")]);
    }
}
