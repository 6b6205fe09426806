//! Plain types and rules. Nothing in here does I/O.

mod audience;
mod contact;
mod delivery;
mod language;
mod phone;
mod update;

pub use audience::{AppointmentWindow, AudienceError, AudienceSpec, PatientFilter, Selection};
pub use contact::{
    AffectedPatient, Appointment, AppointmentStatus, Contact, EmailAddress, NewAppointment,
    NewContact, Recipient, Role,
};
pub use delivery::{ChannelKind, DeliveryState, UnknownChannel, UnknownState};
pub use language::{choose_language, Language, UnknownLanguage};
pub use phone::{PhoneError, PhoneNumber};
pub use update::{
    AppointmentOutcome, ApprovalError, Audience, NewUpdate, Update, UpdateKind, UpdateState,
    UpdateText,
};
