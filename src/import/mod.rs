//! Readers of the hospital's exports. Each turns a file into contacts and appointments plus
//! the rows it could not take, each with the reason by field; nothing here touches the
//! database (`store::DirectoryStore::import` writes a batch in one transaction).

pub mod csv;
pub mod fhir;
pub mod fields;
#[cfg(test)]
mod testing;

use crate::domain::{Identity, IdentityKind, NewAppointment, NewContact, Role};
use crate::spreadsheet::{Separator, SheetWriter};
use std::fmt;
use std::path::{Path, PathBuf};

/// A record of the file that could not be taken, or was taken without a field, with why.
///
/// One rule for every reader: a record is rejected only when it cannot be what it stands for
/// (a patient with no id or name, an appointment with no start, campus or department); a bad
/// optional field (an e-mail address, a landline, the GP's phone, a birth date) is dropped,
/// the rest of the record kept, and the record listed here with `kept` set.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Reject {
    /// 1-based line where the record starts (CSV, NDJSON), or the resource's index in a
    /// Bundle's `entry` array.
    pub line: usize,
    /// The record as it stood in the file, for the rejects file.
    pub record: String,
    /// The field that was wrong, when one was.
    pub field: Option<String>,
    /// Why; when several fields were wrong, the others follow as `; field: reason` (`; kept
    /// without field: reason` for a kept record).
    pub reason: String,
    /// The record was imported without the field(s) named: a dropped field, not a dropped
    /// record.
    pub kept: bool,
}

impl Reject {
    /// A rejected record.
    pub fn rejected(line: usize, record: String, field: Option<&str>, reason: String) -> Reject {
        Reject {
            line,
            record,
            field: field.map(str::to_string),
            reason,
            kept: false,
        }
    }

    /// What was wrong, as the rejects file says it: `kept without email: "x@" is not an e-mail
    /// address`, or `start: is empty`.
    pub fn describe(&self) -> String {
        match (&self.field, self.kept) {
            (Some(field), true) => format!("kept without {field}: {}", self.reason),
            (None, true) => format!("kept without a field: {}", self.reason),
            (Some(field), false) => format!("{field}: {}", self.reason),
            (None, false) => self.reason.clone(),
        }
    }
}

impl fmt::Display for Reject {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "line {}: {}", self.line, self.describe())
    }
}

/// Something taken, but worth telling the operator (an unknown language kept as exported).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Notice {
    pub line: usize,
    pub field: String,
    pub message: String,
}

/// What a file yielded.
#[derive(Debug, Clone, Default)]
pub struct ImportBatch {
    /// Each contact once, merged over the rows that named it (a patient on three rows is one
    /// contact with three appointments).
    pub contacts: Vec<NewContact>,
    pub appointments: Vec<NewAppointment>,
    pub rejects: Vec<Reject>,
    pub notices: Vec<Notice>,
    /// Records read, accepted or not.
    pub records: usize,
    /// Records read and left out on purpose, each with a notice (an animal patient and its
    /// appointments): neither accepted nor rejected.
    pub skipped: usize,
    /// A CSV's header as it stands in the file, so its rejects can be written back in the
    /// export's own columns; empty for FHIR.
    pub header: Vec<String>,
}

impl ImportBatch {
    /// Records rejected, not counting those kept without a field.
    pub fn rejected(&self) -> usize {
        self.rejects.iter().filter(|reject| !reject.kept).count()
    }

    /// Records kept without one of their fields.
    pub fn kept_without_a_field(&self) -> usize {
        self.rejects.iter().filter(|reject| reject.kept).count()
    }

    /// Notes that the record at `line` is taken without `field`: one rejects line per record,
    /// however many of its fields were dropped.
    pub fn kept_without(
        &mut self,
        line: usize,
        record: impl FnOnce() -> String,
        field: &str,
        reason: String,
    ) {
        match self.rejects.last_mut() {
            Some(last) if last.kept && last.line == line => {
                last.reason
                    .push_str(&format!("; kept without {field}: {reason}"));
            }
            _ => self.rejects.push(Reject {
                line,
                record: record(),
                field: Some(field.to_string()),
                reason,
                kept: true,
            }),
        }
    }

    /// Takes the FHIR identifiers under `systems` (`[hospital] patient_number_systems`) as this
    /// hospital's patient numbers, so that a FHIR export and the appointments export name the
    /// same patient alike.
    pub fn with_patient_numbers(mut self, systems: &[String]) -> ImportBatch {
        let renamed = |identity: &mut Identity| {
            if identity.kind == IdentityKind::Fhir && systems.contains(&identity.system) {
                *identity = Identity::patient(std::mem::take(&mut identity.value));
            }
        };
        for contact in &mut self.contacts {
            if contact.role == Role::Patient {
                contact.identities.iter_mut().for_each(renamed);
            }
        }
        for appointment in &mut self.appointments {
            renamed(&mut appointment.patient);
        }
        self
    }
}

/// A file that cannot be read at all: nothing of it is imported.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{file}: {reason}")]
pub struct Unreadable {
    pub file: String,
    pub reason: String,
}

/// A rejects file that could not be written.
#[derive(Debug, thiserror::Error)]
#[error("cannot write the rejects file {path}: {reason}")]
pub struct Unwritable {
    pub path: String,
    pub reason: String,
}

/// Writes the rejects file of `file` to `to`, or next to it as `<file>.rejects.csv`, in
/// `separator`; nothing when there are no rejects. A CSV's rejects (`csv_header` given) go
/// back in its own columns ([`csv::write_rows_back`]), so they can be corrected in the same
/// spreadsheet and imported again; those of a FHIR export or an opt-out list are one line
/// each.
pub fn write_rejects(
    file: &Path,
    to: Option<&Path>,
    csv_header: Option<&[String]>,
    rejects: &[Reject],
    separator: Separator,
) -> Result<Option<PathBuf>, Unwritable> {
    if rejects.is_empty() {
        return Ok(None);
    }
    let path = to.map(Path::to_path_buf).unwrap_or_else(|| {
        let mut name = file.as_os_str().to_owned();
        name.push(".rejects.csv");
        PathBuf::from(name)
    });
    let unwritable = |reason: String| Unwritable {
        path: path.display().to_string(),
        reason,
    };
    let out = std::fs::File::create(&path).map_err(|error| unwritable(error.to_string()))?;
    match csv_header {
        Some(header) => csv::write_rows_back(header, rejects, out, separator),
        None => write_lines(rejects, out, separator),
    }
    .map_err(|error| unwritable(error.to_string()))?;
    Ok(Some(path))
}

/// One line per rejected record or record kept without a field, with where it was, what was
/// wrong and the record as it stood.
fn write_lines(
    rejects: &[Reject],
    out: impl std::io::Write,
    separator: Separator,
) -> Result<(), ::csv::Error> {
    let mut writer = SheetWriter::new(out, separator)?;
    writer.row(["line", "field", "reason", "record"])?;
    for reject in rejects {
        let reason = if reject.kept {
            reject.describe()
        } else {
            reject.reason.clone()
        };
        writer.row([
            reject.line.to_string().as_str(),
            reject.field.as_deref().unwrap_or_default(),
            reason.as_str(),
            reject.record.as_str(),
        ])?;
    }
    writer.finish()
}

/// One line of an opt-out list: who (id, external id, e-mail or phone), which channel.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OptOut {
    pub line: usize,
    pub contact: String,
    pub channel: crate::domain::ChannelKind,
    pub reason: Option<String>,
}

/// An opt-out list: a CSV with the columns `contact`, `channel` and optionally `reason`.
pub fn optouts(file: &str, bytes: &[u8]) -> Result<(Vec<OptOut>, Vec<Reject>), Unreadable> {
    let unreadable = |reason: String| Unreadable {
        file: file.to_string(),
        reason,
    };
    let text = std::str::from_utf8(bytes.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(bytes))
        .map_err(|_| unreadable("not UTF-8 text".into()))?;
    let separator = if text.lines().next().unwrap_or_default().contains(';') {
        b';'
    } else {
        b','
    };
    let mut reader = ::csv::ReaderBuilder::new()
        .delimiter(separator)
        .flexible(true)
        .from_reader(text.as_bytes());
    let headers = reader
        .headers()
        .map_err(|error| unreadable(error.to_string()))?
        .iter()
        .map(|header| header.trim().to_lowercase())
        .collect::<Vec<_>>();
    let column = |name: &str| headers.iter().position(|header| header == name);
    let (Some(contact), Some(channel)) = (column("contact"), column("channel")) else {
        return Err(unreadable(format!(
            "an opt-out list needs the columns contact and channel (found: {})",
            headers.join(", ")
        )));
    };
    let reason = column("reason");
    let mut taken = Vec::new();
    let mut rejects = Vec::new();
    for record in reader.records() {
        let record = record.map_err(|error| unreadable(error.to_string()))?;
        let line = record
            .position()
            .map_or(0, |position| position.line() as usize);
        if record.iter().all(|field| field.trim().is_empty()) {
            continue;
        }
        let field = |index: usize| {
            crate::spreadsheet::undefused(record.get(index).unwrap_or_default().trim()).to_string()
        };
        let raw = record
            .iter()
            .collect::<Vec<_>>()
            .join(&char::from(separator).to_string());
        let reject =
            |field: &str, reason: String| Reject::rejected(line, raw.clone(), Some(field), reason);
        if field(contact).is_empty() {
            rejects.push(reject(
                "contact",
                "empty: name the contact by id, external id, e-mail or phone".into(),
            ));
            continue;
        }
        match field(channel).parse() {
            Ok(kind) => taken.push(OptOut {
                line,
                contact: field(contact),
                channel: kind,
                reason: reason.map(field).filter(|text| !text.is_empty()),
            }),
            Err(error) => rejects.push(reject("channel", format!("{error}"))),
        }
    }
    Ok((taken, rejects))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_rejects_of_a_fhir_export_or_an_opt_out_list_neutralise_formulas() {
        let bundle = br#"{"resourceType":"Patient","id":"x","name":[{"family":"=HYPERLINK(\"http://evil\")"}],
            "telecom":[{"system":"email","value":"@SUM(1)"}]}"#;
        let batch = fhir::parse("patient.json", bundle).expect("readable");
        assert_eq!(batch.kept_without_a_field(), 1);
        let (_, mut optouts) =
            optouts("optouts.csv", b"contact,channel\n=1+1,fax\n").expect("read");
        let mut rejects = batch.rejects;
        rejects.append(&mut optouts);
        let mut out = Vec::new();
        write_lines(&rejects, &mut out, Separator::Comma).expect("written");
        let text = String::from_utf8(out).expect("utf-8");
        let mut reader =
            ::csv::ReaderBuilder::new().from_reader(text.trim_start_matches('\u{feff}').as_bytes());
        let cells: Vec<String> = reader
            .records()
            .flat_map(|row| {
                row.expect("row")
                    .iter()
                    .map(str::to_string)
                    .collect::<Vec<_>>()
            })
            .collect();
        assert!(
            cells
                .iter()
                .any(|cell| cell.starts_with("kept without telecom.email: \"@SUM(1)\"")),
            "{text}"
        );
        assert!(cells.iter().any(|cell| cell == "'=1+1,fax"), "{text}");
        assert!(
            cells
                .iter()
                .all(|cell| !cell.starts_with(['=', '+', '-', '@'])),
            "{text}"
        );
    }
}
