//! Readers of the hospital's exports. Each turns a file into contacts and appointments plus
//! the rows it could not take, each with the reason by field; nothing here touches the
//! database (`store::Store::import` writes a batch in one transaction).

pub mod csv;
pub mod fhir;

use crate::domain::{NewAppointment, NewContact};
use std::fmt;

/// A record of the file that could not be taken, with why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Reject {
    /// 1-based line where the record starts (CSV, NDJSON), or the resource's index in a
    /// Bundle's `entry` array.
    pub line: usize,
    /// The record as it stood in the file, for the rejects file.
    pub record: String,
    /// The field that was wrong, when one was.
    pub field: Option<String>,
    pub reason: String,
}

impl fmt::Display for Reject {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.field {
            Some(field) => write!(f, "line {}: {field}: {}", self.line, self.reason),
            None => write!(f, "line {}: {}", self.line, self.reason),
        }
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
    /// A CSV's header as it stands in the file, so its rejects can be written back in the
    /// export's own columns; empty for FHIR.
    pub header: Vec<String>,
}

/// A file that cannot be read at all: nothing of it is imported.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{file}: {reason}")]
pub struct Unreadable {
    pub file: String,
    pub reason: String,
}

/// The rejects file: one line per rejected record, with where it was, what was wrong and
/// the record as it stood, so it can be corrected and imported again.
pub fn write_rejects(rejects: &[Reject], out: impl std::io::Write) -> Result<(), ::csv::Error> {
    let mut writer = ::csv::Writer::from_writer(out);
    writer.write_record(["line", "field", "reason", "record"])?;
    for reject in rejects {
        writer.write_record([
            reject.line.to_string().as_str(),
            reject.field.as_deref().unwrap_or_default(),
            reject.reason.as_str(),
            reject.record.as_str(),
        ])?;
    }
    writer.flush()?;
    Ok(())
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
        let field = |index: usize| record.get(index).unwrap_or_default().trim().to_string();
        let raw = record
            .iter()
            .collect::<Vec<_>>()
            .join(&char::from(separator).to_string());
        let reject = |field: &str, reason: String| Reject {
            line,
            record: raw.clone(),
            field: Some(field.into()),
            reason,
        };
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
