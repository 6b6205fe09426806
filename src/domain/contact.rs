use super::ChannelKind;
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
}

impl Role {
    pub fn as_str(self) -> &'static str {
        match self {
            Role::Patient => "patient",
            Role::Gp => "gp",
            Role::Journalist => "journalist",
            Role::Staff => "staff",
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

    /// The contact as an import would write it, to compare with what a new export says.
    pub fn into_new(self) -> NewContact {
        NewContact {
            external_id: self.external_id,
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
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewContact {
    pub external_id: String,
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

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewAppointment {
    pub external_id: String,
    pub patient_external_id: String,
    pub gp_external_id: Option<String>,
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
}

/// One of a GP's patients whose appointment the update concerns.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AffectedPatient {
    pub first_name: String,
    pub last_name: String,
    pub birth_date: Option<chrono::NaiveDate>,
    pub appointment: Appointment,
}
