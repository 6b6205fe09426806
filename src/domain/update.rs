use super::{AudienceSpec, CapFields, ChannelKind, Language, PublicReference};
use serde::{Deserialize, Serialize};
use std::fmt;
use std::str::FromStr;

/// What an update does to the picture, as in CAP's `msgType`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum UpdateKind {
    Alert,
    Update,
    Cancel,
    AllClear,
}

impl UpdateKind {
    pub fn as_str(self) -> &'static str {
        match self {
            UpdateKind::Alert => "alert",
            UpdateKind::Update => "update",
            UpdateKind::Cancel => "cancel",
            UpdateKind::AllClear => "allclear",
        }
    }
}

impl FromStr for UpdateKind {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "alert" => Ok(UpdateKind::Alert),
            "update" => Ok(UpdateKind::Update),
            "cancel" => Ok(UpdateKind::Cancel),
            "allclear" => Ok(UpdateKind::AllClear),
            other => Err(format!(
                "unknown kind {other:?}: use alert, update, cancel or allclear"
            )),
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum UpdateState {
    Draft,
    Approved,
    Sending,
    Sent,
    /// A person stopped it while it was being sent: what had not left is cancelled.
    Halted,
    /// A draft that will never be sent.
    Discarded,
}

impl UpdateState {
    pub fn as_str(self) -> &'static str {
        match self {
            UpdateState::Draft => "draft",
            UpdateState::Approved => "approved",
            UpdateState::Sending => "sending",
            UpdateState::Sent => "sent",
            UpdateState::Halted => "halted",
            UpdateState::Discarded => "discarded",
        }
    }
}

impl UpdateState {
    /// Whether the update was released: the press room shows it and its reference checks as
    /// genuine (`Store::published_updates` selects these states).
    pub fn released(self) -> bool {
        matches!(
            self,
            UpdateState::Approved | UpdateState::Sending | UpdateState::Sent | UpdateState::Halted
        )
    }
}

impl fmt::Display for UpdateState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for UpdateState {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "draft" => Ok(UpdateState::Draft),
            "approved" => Ok(UpdateState::Approved),
            "sending" => Ok(UpdateState::Sending),
            "sent" => Ok(UpdateState::Sent),
            "halted" => Ok(UpdateState::Halted),
            "discarded" => Ok(UpdateState::Discarded),
            other => Err(format!("unknown update state {other:?}")),
        }
    }
}

/// What an update tells patients about their booked appointments.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum AppointmentOutcome {
    Cancelled,
    Postponed,
    AsPlanned,
}

impl AppointmentOutcome {
    pub fn as_str(self) -> &'static str {
        match self {
            AppointmentOutcome::Cancelled => "cancelled",
            AppointmentOutcome::Postponed => "postponed",
            AppointmentOutcome::AsPlanned => "as-planned",
        }
    }
}

impl FromStr for AppointmentOutcome {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "cancelled" => Ok(AppointmentOutcome::Cancelled),
            "postponed" => Ok(AppointmentOutcome::Postponed),
            "as-planned" => Ok(AppointmentOutcome::AsPlanned),
            other => Err(format!(
                "unknown appointment outcome {other:?}: use cancelled, postponed or as-planned"
            )),
        }
    }
}

/// A family of recipients, each written to with its own templates.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Audience {
    /// Patients with a booked (not already cancelled) appointment.
    Patients,
    /// General practitioners: the referral alert.
    Gps,
    /// The press list.
    Media,
    /// Telegram chats that follow the public updates, and the hospital's public channels:
    /// the public text, on Telegram only.
    Public,
}

impl Audience {
    pub fn as_str(self) -> &'static str {
        match self {
            Audience::Patients => "patients",
            Audience::Gps => "gps",
            Audience::Media => "media",
            Audience::Public => "public",
        }
    }

    /// The channels it has templates for.
    pub fn channels(self) -> &'static [ChannelKind] {
        match self {
            Audience::Patients | Audience::Gps | Audience::Media => {
                &[ChannelKind::Email, ChannelKind::Sms, ChannelKind::Telegram]
            }
            Audience::Public => &[ChannelKind::Telegram],
        }
    }

    /// The template family used for this audience: `templates/<channel>/<role>.<ext>.tera`.
    pub fn role(self) -> super::Role {
        match self {
            Audience::Patients => super::Role::Patient,
            Audience::Gps => super::Role::Gp,
            Audience::Media => super::Role::Journalist,
            Audience::Public => super::Role::Public,
        }
    }
}

/// The spokesperson's text in one language.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct UpdateText {
    pub title: String,
    pub body: String,
    /// The short text for SMS; templates add only the greeting and appointment facts.
    pub sms: String,
}

/// One message in time within an incident, with its text in every language.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Update {
    pub id: i64,
    /// What every message, page and feed of this update prints, for readers to check it.
    pub reference: PublicReference,
    pub incident_id: String,
    pub kind: UpdateKind,
    pub follows: Option<i64>,
    pub audiences: Vec<AudienceSpec>,
    pub channels: Vec<ChannelKind>,
    pub appointments: AppointmentOutcome,
    pub state: UpdateState,
    pub author: String,
    pub approved_by: Option<String>,
    /// When it was released: the time the press room publishes it under.
    pub approved_at_ms: Option<i64>,
    pub created_at_ms: i64,
    pub cap: CapFields,
    /// Why its last run stopped with deliveries left, if it did and nobody resumed it yet.
    pub paused: Option<String>,
    /// When `tocsin serve` is to start sending it (approved, not yet sent): the console's
    /// "send now" or a chosen time, `update send --at`.
    pub send_at_ms: Option<i64>,
    pub nl: UpdateText,
    pub fr: UpdateText,
    pub en: UpdateText,
}

impl Update {
    /// The audiences planning, drafts and reports go through: those the update names, then,
    /// when it goes out on Telegram, the public followers (`public`), implied because the
    /// press room publishes every released update anyway.
    pub fn planned_audiences(&self) -> Vec<AudienceSpec> {
        let mut audiences = self.audiences.clone();
        if self.channels.contains(&ChannelKind::Telegram)
            && !audiences.contains(&AudienceSpec::Public)
        {
            audiences.push(AudienceSpec::Public);
        }
        audiences
    }

    pub fn text(&self, language: Language) -> &UpdateText {
        match language {
            Language::Nl => &self.nl,
            Language::Fr => &self.fr,
            Language::En => &self.en,
        }
    }
}

/// What a draft becomes once validated, before it has an id.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewUpdate {
    pub incident_id: String,
    pub incident_title: String,
    pub kind: UpdateKind,
    pub follows: Option<i64>,
    pub audiences: Vec<AudienceSpec>,
    pub channels: Vec<ChannelKind>,
    pub appointments: AppointmentOutcome,
    pub author: String,
    pub cap: CapFields,
    pub nl: UpdateText,
    pub fr: UpdateText,
    pub en: UpdateText,
}

impl NewUpdate {
    pub fn text(&self, language: Language) -> &UpdateText {
        match language {
            Language::Nl => &self.nl,
            Language::Fr => &self.fr,
            Language::En => &self.en,
        }
    }

    /// The update as it will be stored as a draft, so it can be rendered before it is.
    pub fn as_draft(&self, id: i64, reference: PublicReference, created_at_ms: i64) -> Update {
        Update {
            id,
            reference,
            incident_id: self.incident_id.clone(),
            kind: self.kind,
            follows: self.follows,
            audiences: self.audiences.clone(),
            channels: self.channels.clone(),
            appointments: self.appointments,
            state: UpdateState::Draft,
            author: self.author.clone(),
            approved_by: None,
            approved_at_ms: None,
            created_at_ms,
            cap: self.cap,
            paused: None,
            send_at_ms: None,
            nl: self.nl.clone(),
            fr: self.fr.clone(),
            en: self.en.clone(),
        }
    }

    /// Whether it says, in every language, exactly what `other` says.
    pub fn same_texts(&self, other: &Update) -> bool {
        Language::ALL
            .into_iter()
            .all(|language| self.text(language) == other.text(language))
    }
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ApprovalError {
    #[error("update {0} is {1}, only a draft can be approved")]
    NotDraft(i64, UpdateState),
    #[error("update {id} was written by {author}: a second person must approve it (four eyes)")]
    SameAuthor { id: i64, author: String },
    #[error("the approver's name is empty")]
    NoApprover,
}

impl Update {
    /// Four eyes: the person who wrote an update may not be the one who releases it.
    pub fn check_approval(&self, approver: &str) -> Result<(), ApprovalError> {
        let approver = approver.trim();
        if approver.is_empty() {
            return Err(ApprovalError::NoApprover);
        }
        if self.state != UpdateState::Draft {
            return Err(ApprovalError::NotDraft(self.id, self.state));
        }
        if approver.to_lowercase() == self.author.trim().to_lowercase() {
            return Err(ApprovalError::SameAuthor {
                id: self.id,
                author: self.author.clone(),
            });
        }
        Ok(())
    }
}
