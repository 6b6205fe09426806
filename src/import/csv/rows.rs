//! One data row: its fields read, cleaned and checked, with the problems found.

use super::columns::{normalise, Col, Columns, Schema, COLS};
use super::dates::{parse_birth_date, parse_start};
use crate::domain::{AppointmentStatus, Language, PhoneNumber};
use crate::import::fields;
use crate::import::Notice;
use chrono::{DateTime, NaiveDate, Utc};

pub(super) type Problem = (Option<&'static str>, String);

/// One data row being read: its fields by column, the problems, dropped fields and notices
/// found so far.
pub(super) struct Row<'r> {
    pub(super) record: &'r csv::StringRecord,
    pub(super) columns: &'r Columns,
    pub(super) line: usize,
    /// What rejects the row.
    pub(super) problems: Vec<Problem>,
    /// Fields left out of what the row yields, each with why: the row is kept without them.
    pub(super) dropped: Vec<Problem>,
    /// Columns whose field was dropped before reading (over its length limit): read as empty.
    blanked: [bool; COLS],
    pub(super) notices: Vec<Notice>,
}

impl<'r> Row<'r> {
    pub(super) fn new(record: &'r csv::StringRecord, columns: &'r Columns, line: usize) -> Row<'r> {
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

    pub(super) fn has(&self, col: Col) -> bool {
        self.columns[col as usize].is_some()
    }

    /// The trimmed field, empty when the column or the field is missing or was dropped. A
    /// formula that a rejects file neutralised reads as the export wrote it.
    pub(super) fn get(&self, col: Col) -> &'r str {
        if self.blanked[col as usize] {
            return "";
        }
        self.columns[col as usize]
            .and_then(|index| self.record.get(index))
            .map_or("", |field| crate::spreadsheet::undefused(field.trim()))
    }

    /// Refuses every field over its length limit: the row when the field is vital, else the
    /// field alone.
    pub(super) fn check_lengths(&mut self, schema: &Schema) {
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

    pub(super) fn fail(&mut self, field: &'static str, reason: impl Into<String>) {
        self.problems.push((Some(field), reason.into()));
    }

    /// The field is left out; the row is still taken.
    pub(super) fn drop_field(&mut self, field: &'static str, reason: impl Into<String>) {
        self.dropped.push((Some(field), reason.into()));
    }

    pub(super) fn failed(&self) -> bool {
        !self.problems.is_empty()
    }

    pub(super) fn notice(&mut self, field: &str, message: impl Into<String>) {
        self.notices.push(Notice {
            line: self.line,
            field: field.to_string(),
            message: message.into(),
        });
    }

    pub(super) fn required(&mut self, col: Col, field: &'static str) -> &'r str {
        let value = self.get(col);
        if value.is_empty() {
            self.fail(field, "is empty");
        }
        value
    }

    pub(super) fn text(&self, col: Col) -> Option<String> {
        let value = self.get(col);
        (!value.is_empty()).then(|| clean(value))
    }

    pub(super) fn email(&mut self, col: Col, field: &'static str) -> Option<String> {
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

    pub(super) fn language(&mut self, col: Col, field: &'static str) -> Option<String> {
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

    pub(super) fn phone(&mut self, col: Col, field: &'static str) -> Option<PhoneNumber> {
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
    pub(super) fn phones(
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

    pub(super) fn start(&mut self, col: Col, field: &'static str) -> Option<DateTime<Utc>> {
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

    pub(super) fn birth_date(&mut self, col: Col, field: &'static str) -> Option<NaiveDate> {
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
    pub(super) fn name(&mut self) -> (String, String) {
        let first = self.get(Col::FirstName);
        let last = self.get(Col::LastName);
        if !first.is_empty() || !last.is_empty() {
            return (clean(first), clean(last));
        }
        split_name(self.get(Col::Name))
    }
}

/// Runs of whitespace (line breaks in a quoted field included) become one space.
pub(super) fn clean(value: &str) -> String {
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
pub(super) fn normalise_riziv(raw: &str) -> Result<String, String> {
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

pub(super) fn parse_status(raw: &str) -> Result<AppointmentStatus, String> {
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

pub(super) fn parse_telegram(raw: &str) -> Result<String, String> {
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

pub(super) fn without_title(raw: &str) -> String {
    name_words(raw).join(" ")
}

/// Splits a full name into (first, last), without a doctor's or professor's title:
/// "Dr. Marc Peeters", "Peeters, Marc" and "PEETERS Marc" give ("Marc", "Peeters"/"PEETERS").
/// A name starting with a particle ("Van den Berghe") is all last name.
pub(super) fn split_name(raw: &str) -> (String, String) {
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::{AppointmentStatus, Identity};
    use crate::import::csv::appointments;
    use crate::import::testing::{appointment, contact};

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
}
