//! What the readers' tests look up in a batch.

use super::{ImportBatch, Unreadable};
use crate::domain::{NewAppointment, NewContact};
use chrono::{DateTime, Utc};

pub fn contact<'b>(batch: &'b ImportBatch, external_id: &str) -> &'b NewContact {
    batch
        .contacts
        .iter()
        .find(|contact| contact.external_id == external_id)
        .unwrap_or_else(|| panic!("no contact {external_id} in {:#?}", batch.contacts))
}

pub fn appointment<'b>(batch: &'b ImportBatch, external_id: &str) -> &'b NewAppointment {
    batch
        .appointments
        .iter()
        .find(|appointment| appointment.external_id == external_id)
        .unwrap_or_else(|| panic!("no appointment {external_id} in {:#?}", batch.appointments))
}

/// An instant written in RFC 3339.
pub fn utc(instant: &str) -> DateTime<Utc> {
    instant.parse().expect("an instant")
}

/// Why a file was unreadable, failing when it was read.
pub fn unreadable_reason(result: Result<ImportBatch, Unreadable>) -> String {
    match result {
        Ok(batch) => panic!("expected Unreadable, got {batch:#?}"),
        Err(error) => error.reason,
    }
}
