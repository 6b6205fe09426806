//! Plain types and rules. Nothing in here does I/O.

mod account;
mod audience;
mod cap;
mod contact;
mod delivery;
mod gateway_id;
mod identity;
mod language;
mod message;
mod phone;
mod receipt;
mod reference;
mod update;

pub use account::{
    check_password, AccountRefusal, Action, Forbidden, PasswordError, SecretToken, UnknownRole,
    UserName, UserNameError, UserRole, MAX_PASSWORD_CHARS, MIN_PASSWORD_CHARS,
};
pub use audience::{AppointmentWindow, AudienceError, AudienceSpec, PatientFilter, Selection};
pub use cap::{message_type, CapFields, CapValues, Certainty, ResponseType, Severity, Urgency};
pub use contact::{
    fold_accent, AffectedPatient, Appointment, AppointmentStatus, Contact, EmailAddress,
    NewAppointment, NewContact, PatientLanguage, Recipient, Role,
};
pub use delivery::{ChannelKind, DeliveryState, UnknownChannel, UnknownState};
pub use gateway_id::{GatewayId, NotAGatewayId};
pub use identity::{Identity, IdentityKind};
pub use language::{recipient_language, Language, UnknownLanguage};
pub use message::RenderedMessage;
pub use phone::{PhoneError, PhoneNumber};
pub use receipt::Receipt;
pub use reference::{PublicReference, RANDOM_CHARACTERS};
pub use update::{
    AppointmentOutcome, ApprovalError, Audience, NewUpdate, Update, UpdateKind, UpdateState,
    UpdateText,
};
