use super::{ChannelKind, Identity, Language};
use serde::{Deserialize, Serialize};
use std::fmt;
use std::str::FromStr;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    Patient,
    Gp,
    Journalist,
    Staff,
    /// Follows the public updates on Telegram: a chat that started the bot without a deep
    /// link, or one of the hospital's public channels. Has a Telegram address only.
    Public,
}

impl Role {
    pub fn as_str(self) -> &'static str {
        match self {
            Role::Patient => "patient",
            Role::Gp => "gp",
            Role::Journalist => "journalist",
            Role::Staff => "staff",
            Role::Public => "public",
        }
    }
}

impl fmt::Display for Role {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Role {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "patient" => Ok(Role::Patient),
            "gp" => Ok(Role::Gp),
            "journalist" => Ok(Role::Journalist),
            "staff" => Ok(Role::Staff),
            "public" => Ok(Role::Public),
            other => Err(format!("unknown role {other:?}")),
        }
    }
}

/// A person to reach, with an address per channel.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Contact {
    pub id: i64,
    pub external_id: String,
    pub role: Role,
    pub first_name: String,
    pub last_name: String,
    /// As the export wrote it; normalised when a message is rendered.
    pub language: Option<String>,
    /// E.164.
    pub mobile: Option<String>,
    /// E.164, a line that takes no SMS: for the call centre.
    pub phone: Option<String>,
    pub email: Option<String>,
    pub telegram_chat_id: Option<String>,
    /// The language the contact chose in the Telegram bot (`/language`): their Telegram
    /// messages are written in it, the other channels keep `language`.
    pub telegram_language: Option<Language>,
    pub organisation: Option<String>,
    pub birth_date: Option<chrono::NaiveDate>,
    pub opted_out: Vec<ChannelKind>,
}

impl Contact {
    pub fn full_name(&self) -> String {
        match (self.first_name.is_empty(), self.last_name.is_empty()) {
            (false, false) => format!("{} {}", self.first_name, self.last_name),
            (true, _) => self.last_name.clone(),
            (false, true) => self.first_name.clone(),
        }
    }

    /// The contact as an import would write it, to compare with what a new export says
    /// (identities are compared apart, so none are given here).
    pub fn into_new(self) -> NewContact {
        NewContact {
            external_id: self.external_id,
            identities: Vec::new(),
            role: self.role,
            first_name: self.first_name,
            last_name: self.last_name,
            language: self.language,
            mobile: self.mobile,
            phone: self.phone,
            email: self.email,
            telegram_chat_id: self.telegram_chat_id,
            organisation: self.organisation,
            birth_date: self.birth_date,
        }
    }

    pub fn address(&self, channel: ChannelKind) -> Option<&str> {
        match channel {
            ChannelKind::Email => self.email.as_deref(),
            ChannelKind::Sms => self.mobile.as_deref(),
            ChannelKind::Telegram => self.telegram_chat_id.as_deref(),
        }
    }
}

/// A contact before it has an id (imports and the demo).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct NewContact {
    /// The export's id as people read it (the patient number, the RIZIV number, the FHIR
    /// identifier chosen to show): not a key, two contacts may show the same one.
    pub external_id: String,
    /// Who the record is: an import matches a known contact only by one of these. The
    /// readers give at least one.
    pub identities: Vec<Identity>,
    pub role: Role,
    pub first_name: String,
    pub last_name: String,
    pub language: Option<String>,
    /// E.164, SMS-capable.
    pub mobile: Option<String>,
    /// E.164, a landline or other number that takes no SMS.
    pub phone: Option<String>,
    pub email: Option<String>,
    pub telegram_chat_id: Option<String>,
    pub organisation: Option<String>,
    pub birth_date: Option<chrono::NaiveDate>,
}

impl NewContact {
    /// Why this record cannot be `known`, the contact that has one of its identities: another
    /// role, or another name *and* another birth date (both known on both sides). None when
    /// it can be the same person: a new surname after a marriage, a corrected birth date,
    /// a name written with or without a middle name, accents or in another order.
    pub fn disagreement(&self, known: &NewContact) -> Option<String> {
        if self.role != known.role {
            return Some(format!("a {} is not a {}", self.role, known.role));
        }
        let (ours, theirs) = (name_words(self), name_words(known));
        let other_name = !ours.is_empty()
            && !theirs.is_empty()
            && !ours.is_subset(&theirs)
            && !theirs.is_subset(&ours);
        match (self.birth_date, known.birth_date) {
            (Some(ours_born), Some(theirs_born)) if other_name && ours_born != theirs_born => {
                Some(format!(
                    "{}, born {ours_born}, is not {}, born {theirs_born}",
                    full_name(self),
                    full_name(known)
                ))
            }
            _ => None,
        }
    }
}

fn full_name(contact: &NewContact) -> String {
    format!("{} {}", contact.first_name, contact.last_name)
        .trim()
        .to_string()
}

/// The words of a name, lower case with accents folded.
fn name_words(contact: &NewContact) -> std::collections::BTreeSet<String> {
    format!("{} {}", contact.first_name, contact.last_name)
        .split(|c: char| !c.is_alphanumeric())
        .filter(|word| !word.is_empty())
        .map(|word| {
            word.chars()
                .flat_map(char::to_lowercase)
                .map(fold_accent)
                .collect()
        })
        .collect()
}

/// The letter without its accent, for comparing what exports write in different ways.
pub fn fold_accent(c: char) -> char {
    match c {
        'à' | 'á' | 'â' | 'ä' | 'ã' | 'å' => 'a',
        'ç' => 'c',
        'è' | 'é' | 'ê' | 'ë' => 'e',
        'ì' | 'í' | 'î' | 'ï' => 'i',
        'ñ' => 'n',
        'ò' | 'ó' | 'ô' | 'ö' | 'õ' => 'o',
        'ù' | 'ú' | 'û' | 'ü' => 'u',
        'ý' | 'ÿ' => 'y',
        other => other,
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum AppointmentStatus {
    Booked,
    Cancelled,
}

impl AppointmentStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            AppointmentStatus::Booked => "booked",
            AppointmentStatus::Cancelled => "cancelled",
        }
    }
}

/// A patient's booking.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Appointment {
    pub external_id: String,
    pub starts_at: chrono::DateTime<chrono::Utc>,
    pub campus: String,
    pub department: String,
    pub practitioner: Option<String>,
    pub status: AppointmentStatus,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct NewAppointment {
    pub external_id: String,
    /// One of the patient's identities, as the batch or an earlier import gave them.
    pub patient: Identity,
    /// One of the GP's identities.
    pub gp: Option<Identity>,
    pub starts_at: chrono::DateTime<chrono::Utc>,
    pub campus: String,
    pub department: String,
    pub practitioner: Option<String>,
    pub status: AppointmentStatus,
}

/// An address that passed the syntax check at the edge.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EmailAddress(String);

impl EmailAddress {
    pub fn parse(raw: &str) -> Result<EmailAddress, String> {
        let raw = raw.trim();
        let valid = raw.parse::<lettre::Address>().is_ok();
        if valid {
            Ok(EmailAddress(raw.to_string()))
        } else {
            Err(format!("{raw:?} is not an e-mail address"))
        }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// A contact with what makes them part of an audience: a patient's appointments in the
/// selection, a GP's affected patients.
#[derive(Debug, Clone)]
pub struct Recipient {
    pub contact: Contact,
    pub appointments: Vec<Appointment>,
    pub affected_patients: Vec<AffectedPatient>,
    /// A GP's patients by language and campus, for a GP whose own language is unknown;
    /// empty for everyone else.
    pub patients_by_language: Vec<PatientLanguage>,
}

/// How many of a GP's patients with an appointment at `campus` have `language`, as their
/// export wrote it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PatientLanguage {
    pub language: Option<String>,
    pub campus: String,
    pub patients: u64,
}

/// One of a GP's patients whose appointment the update concerns.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AffectedPatient {
    pub first_name: String,
    pub last_name: String,
    pub birth_date: Option<chrono::NaiveDate>,
    pub appointment: Appointment,
}
