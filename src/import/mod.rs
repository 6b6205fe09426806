//! Readers of the hospital's exports. Each turns a file into contacts and appointments plus
//! the rows it could not take, each with the reason by field; nothing here touches the
//! database (`store::Store::import` writes a batch in one transaction).

pub mod csv;

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
}

/// A file that cannot be read at all: nothing of it is imported.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{file}: {reason}")]
pub struct Unreadable {
    pub file: String,
    pub reason: String,
}
