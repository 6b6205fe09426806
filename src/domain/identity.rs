//! Who a record is, as the export that named it says: a (kind, system, value) triple. Two
//! records are the same person only when they share an identity, so two numbers that merely
//! look alike (a patient number equal to a GP's RIZIV number, one FHIR value under two
//! systems) never make one contact.

use serde::{Deserialize, Serialize};
use std::fmt;
use std::str::FromStr;

/// The namespace an identity belongs to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum IdentityKind {
    /// This hospital's patient number (the appointments export's `patient_id`).
    Patient,
    /// The Belgian RIZIV/INAMI number of a practitioner, 11 digits.
    Riziv,
    /// An id of the press list.
    Media,
    /// A staff number (no export writes one yet; contacts of that role keep their id here).
    Staff,
    /// A FHIR `identifier`: its `system` and `value`.
    Fhir,
}

impl IdentityKind {
    pub fn as_str(self) -> &'static str {
        match self {
            IdentityKind::Patient => "patient",
            IdentityKind::Riziv => "riziv",
            IdentityKind::Media => "media",
            IdentityKind::Staff => "staff",
            IdentityKind::Fhir => "fhir",
        }
    }

    /// Which kinds come first when a bare id names several contacts: this hospital's
    /// patient number before anything else.
    pub fn precedence(self) -> u8 {
        match self {
            IdentityKind::Patient => 0,
            IdentityKind::Riziv => 1,
            IdentityKind::Media => 2,
            IdentityKind::Staff => 3,
            IdentityKind::Fhir => 4,
        }
    }
}

impl fmt::Display for IdentityKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for IdentityKind {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "patient" => Ok(IdentityKind::Patient),
            "riziv" | "inami" => Ok(IdentityKind::Riziv),
            "media" => Ok(IdentityKind::Media),
            "staff" => Ok(IdentityKind::Staff),
            "fhir" => Ok(IdentityKind::Fhir),
            other => Err(format!(
                "unknown kind of id {other:?} (patient, riziv, media, staff or fhir)"
            )),
        }
    }
}

/// One identity of a contact. `system` is empty for every kind but `Fhir` (and for a FHIR
/// identifier that names no system).
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct Identity {
    pub kind: IdentityKind,
    pub system: String,
    pub value: String,
}

impl Identity {
    fn plain(kind: IdentityKind, value: impl Into<String>) -> Identity {
        Identity {
            kind,
            system: String::new(),
            value: value.into(),
        }
    }

    pub fn patient(value: impl Into<String>) -> Identity {
        Identity::plain(IdentityKind::Patient, value)
    }

    pub fn riziv(value: impl Into<String>) -> Identity {
        Identity::plain(IdentityKind::Riziv, value)
    }

    pub fn media(value: impl Into<String>) -> Identity {
        Identity::plain(IdentityKind::Media, value)
    }

    pub fn fhir(system: impl Into<String>, value: impl Into<String>) -> Identity {
        Identity {
            kind: IdentityKind::Fhir,
            system: system.into(),
            value: value.into(),
        }
    }

    /// Reads what [`Identity`]'s `Display` writes: `patient:P001234`, `riziv:12345678901`,
    /// `fhir:SYSTEM|VALUE`. None for a key without a known kind before its first `:`.
    pub fn parse_qualified(key: &str) -> Option<Identity> {
        let (kind, rest) = key.split_once(':')?;
        let kind: IdentityKind = kind.trim().to_lowercase().parse().ok()?;
        let rest = rest.trim();
        if rest.is_empty() {
            return None;
        }
        Some(match kind {
            IdentityKind::Fhir => match rest.rsplit_once('|') {
                Some((system, value)) => Identity::fhir(system, value),
                None => Identity::fhir("", rest),
            },
            kind => Identity::plain(kind, rest),
        })
    }
}

impl fmt::Display for Identity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.kind {
            IdentityKind::Fhir => write!(f, "fhir:{}|{}", self.system, self.value),
            kind => write!(f, "{kind}:{}", self.value),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_qualified_key_reads_back_what_display_writes() {
        for identity in [
            Identity::patient("P001234"),
            Identity::riziv("12345678901"),
            Identity::media("M001"),
            Identity::fhir("urn:oid:2.16.528.1.1007.3.1", "12345678901"),
            Identity::fhir("", "Patient/pat2"),
        ] {
            assert_eq!(
                Identity::parse_qualified(&identity.to_string()),
                Some(identity.clone()),
                "{identity}"
            );
        }
        assert_eq!(Identity::parse_qualified("P001234"), None);
        assert_eq!(Identity::parse_qualified("someone@example.be"), None);
        assert_eq!(Identity::parse_qualified("patient:"), None);
    }
}
