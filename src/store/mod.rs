//! Everything that touches the database. Callers see the [`Store`] trait only (the sum of
//! one trait per role, in scope through [`prelude`]), so a PostgreSQL implementation can stand
//! beside [`sqlite::SqliteStore`] without changing them.

mod control;
mod lookup;
mod machine;
mod merge;
mod messages;
mod postgres;
mod receipts;
mod rows;
mod selection;
mod sqlite;
mod version;

pub use postgres::{PoolSettings, PostgresStore};
pub use sqlite::SqliteStore;

pub use crate::domain::{AffectedPatient, Receipt, Recipient};
use crate::domain::{
    ChannelKind, Contact, DeliveryState, Language, NewAppointment, NewContact, NewUpdate,
    PublicReference, RenderedMessage, Role, SecretToken, Selection, Update, UpdateState, UserName,
    UserRole,
};
use async_trait::async_trait;
use std::sync::Arc;

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("database error: {0}")]
    Db(#[from] sqlx::Error),
    #[error("could not apply the database migrations: {0}")]
    Migrate(#[from] sqlx::migrate::MigrateError),
    #[error("{0} not found")]
    NotFound(String),
    #[error("the database holds a value Tocsin cannot read: {0}")]
    Corrupt(String),
    #[error("unsupported database URL {0:?}: use sqlite://FILE or postgres://USER@HOST/DATABASE")]
    UnsupportedUrl(String),
    #[error("there is no database at {0}: the file does not exist (an import creates one)")]
    Missing(String),
    /// A key that names several contacts, with the qualified ids that tell them apart.
    #[error("{0}")]
    Ambiguous(String),
    /// An action a record's state does not allow (a conflict decided already).
    #[error("{0}")]
    Refused(String),
}

pub type Result<T, E = StoreError> = std::result::Result<T, E>;

/// How the contacts that stand for `[telegram] public_channels` are known: one per language,
/// `telegram-channel:nl`, ….
pub(crate) const TELEGRAM_CHANNEL_PREFIX: &str = "telegram-channel:";

/// Opens the store a database URL names, creating and migrating it as needed: a SQLite file
/// (`sqlite://FILE`), or a PostgreSQL database (`postgres://…`, whose pool `pool` sizes; the
/// database itself must exist, its tables are created).
pub async fn open(url: &str, pool: &PoolSettings) -> Result<Arc<dyn Store>> {
    match Backend::of(url)? {
        Backend::Sqlite => Ok(Arc::new(SqliteStore::open(url).await?)),
        Backend::Postgres => Ok(Arc::new(PostgresStore::open(url, pool).await?)),
    }
}

/// Opens (and migrates) a store that exists already: a mistyped SQLite path is refused
/// instead of becoming a new, empty database (a PostgreSQL server refuses a database that
/// does not exist by itself).
pub async fn open_existing(url: &str, pool: &PoolSettings) -> Result<Arc<dyn Store>> {
    match Backend::of(url)? {
        Backend::Sqlite => Ok(Arc::new(SqliteStore::open_existing(url).await?)),
        Backend::Postgres => Ok(Arc::new(PostgresStore::open(url, pool).await?)),
    }
}

/// The database a URL names.
enum Backend {
    Sqlite,
    Postgres,
}

impl Backend {
    fn of(url: &str) -> Result<Backend> {
        if url.starts_with("sqlite:") {
            Ok(Backend::Sqlite)
        } else if url.starts_with("postgres:") || url.starts_with("postgresql:") {
            Ok(Backend::Postgres)
        } else {
            Err(StoreError::UnsupportedUrl(url.to_string()))
        }
    }
}

/// The last migration applied to a database.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SchemaVersion {
    pub version: i64,
    pub description: String,
}

/// `tocsin migrate`: brings the schema of the database `url` names up to date (a SQLite file
/// must exist, as for [`open_existing`]) and says where it stands. Several processes may
/// migrate at once: sqlx locks around the migrations.
pub async fn migrate(url: &str, pool: &PoolSettings) -> Result<SchemaVersion> {
    match Backend::of(url)? {
        Backend::Sqlite => {
            SqliteStore::open_existing(url)
                .await?
                .schema_version()
                .await
        }
        Backend::Postgres => PostgresStore::open(url, pool).await?.schema_version().await,
    }
}

/// What an import did to one kind of record.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Serialize)]
pub struct MergeCounts {
    pub new: u64,
    pub updated: u64,
    pub unchanged: u64,
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Serialize)]
pub struct ImportCounts {
    pub contacts: MergeCounts,
    pub appointments: MergeCounts,
    /// Records that share an identity with a known contact but disagree with it (name and
    /// birth date, or role): stored as conflicts, nothing merged, their appointments held.
    pub conflicts: u64,
}

/// Where a conflict stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum ConflictState {
    Open,
    /// A person said it is the same person: merged.
    Accepted,
    /// A person said it is not: nothing of it was imported.
    Rejected,
}

impl ConflictState {
    pub fn as_str(self) -> &'static str {
        match self {
            ConflictState::Open => "open",
            ConflictState::Accepted => "accepted",
            ConflictState::Rejected => "rejected",
        }
    }
}

/// A record an import did not merge, for a person to decide.
#[derive(Debug, Clone, serde::Serialize)]
pub struct ImportConflict {
    pub id: i64,
    pub at_ms: i64,
    pub source: String,
    /// The known contact it matched; None when its identities name several.
    pub contact: Option<Contact>,
    /// The identity the record shares with the known contact(s), as `kind:value`.
    pub identity: String,
    pub reason: String,
    /// The record as the export gave it.
    pub record: NewContact,
    /// Its appointments, held until the conflict is decided.
    pub appointments: Vec<NewAppointment>,
    pub state: ConflictState,
    pub decided_by: Option<String>,
}

/// A delivery as the planner writes it.
#[derive(Debug, Clone)]
pub struct NewDelivery {
    pub update_id: i64,
    pub contact_id: i64,
    pub channel: ChannelKind,
    pub address: Option<String>,
    pub language: Language,
    pub content: RenderedMessage,
    /// `Pending`, or `Skipped` with the reason in `detail`.
    pub state: DeliveryState,
    pub detail: Option<String>,
}

/// A delivery a worker holds a lease on.
#[derive(Debug, Clone)]
pub struct ClaimedDelivery {
    pub id: i64,
    pub update_id: i64,
    pub contact_id: i64,
    pub channel: ChannelKind,
    pub address: String,
    pub language: Language,
    pub content: RenderedMessage,
    /// Including the one this claim starts.
    pub attempts: u32,
    /// When this claim's lease ends: after it, another claim may take the delivery.
    pub lease_until_ms: i64,
    /// A post to a public Telegram channel of an update that follows another of its
    /// incident: the gateway id (`telegram:<chat>:<message_id>`) of the channel's post of
    /// the update before, which this one answers.
    pub reply_to: Option<String>,
}

/// What a recorded transition does to a delivery besides moving its state.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum Mark {
    #[default]
    Nothing,
    /// The channel reached its point of no return (`sending → sending`): from now on, if
    /// the server's answer is not recorded, the delivery is `uncertain`, never sent again on
    /// its own. Keeps the lease.
    HandedOver,
    /// The attempt that the claim counted never reached the recipient's server (the channel
    /// was unavailable or misconfigured): it is not counted against the delivery.
    NotAttempted,
}

/// One move of a delivery's state, recorded together with its event.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Transition {
    pub delivery_id: i64,
    /// Applied only if the delivery is still in this state: a stale worker cannot undo
    /// what a newer one recorded.
    pub from: DeliveryState,
    pub to: DeliveryState,
    pub at_ms: i64,
    pub next_attempt_at_ms: Option<i64>,
    pub gateway_id: Option<String>,
    pub detail: Option<String>,
    pub mark: Mark,
    /// Applied only while the delivery is held under this lease: a worker whose lease
    /// expired, and whose delivery another claim took, records nothing over the new holder.
    /// None for a receipt, which may come at any time.
    pub lease_until_ms: Option<i64>,
}

impl Transition {
    /// Whether the state machine allows it (a handover stays `sending`).
    pub fn allowed(&self) -> bool {
        match self.mark {
            Mark::HandedOver => {
                self.from == DeliveryState::Sending && self.to == DeliveryState::Sending
            }
            _ => self.from.can_become(self.to),
        }
    }
}

/// Which final deliveries a person sends again (`tocsin update retry`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RetryFilter {
    pub channel: Option<ChannelKind>,
    /// Each one `retryable_on_request`.
    pub states: Vec<DeliveryState>,
    /// Only those whose last error contains this text (ignoring case).
    pub reason: Option<String>,
}

/// A person's action on an update, kept in `update_events` (who asked, when, what).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UpdateEvent {
    pub at_ms: i64,
    pub action: String,
    pub by: Option<String>,
    pub detail: Option<String>,
}

/// Why `tocsin serve` could not start a scheduled update, since when.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StartRefusal {
    pub at_ms: i64,
    pub reason: String,
}

/// A reviewer's verdict on an update (four eyes).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Review {
    pub update_id: i64,
    pub at_ms: i64,
    pub by: String,
    pub verdict: Verdict,
    pub comment: Option<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Verdict {
    Approved,
    /// Sent back to its author, with a comment: it stays a draft.
    Returned,
}

impl Verdict {
    pub fn as_str(self) -> &'static str {
        match self {
            Verdict::Approved => "approved",
            Verdict::Returned => "returned",
        }
    }
}

/// A delivery as stored, for previews and audits.
#[derive(Debug, Clone)]
pub struct StoredDelivery {
    pub id: i64,
    pub channel: ChannelKind,
    pub address: Option<String>,
    pub language: Language,
    pub content: RenderedMessage,
    pub state: DeliveryState,
    pub attempts: u32,
    pub gateway_id: Option<String>,
    pub last_error: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StatusRow {
    pub state: DeliveryState,
    pub channel: ChannelKind,
    pub language: Language,
    /// The contact's role: which audience's templates the delivery was written with.
    pub audience: Role,
    /// The SMS gateway that took the message, when one did.
    pub gateway: Option<String>,
    pub count: u64,
}

/// How many deliveries of an update failed the same way.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FailureRow {
    pub channel: ChannelKind,
    pub state: DeliveryState,
    pub reason: Option<String>,
    pub count: u64,
}

/// A contact that no delivery of an update reached, once nothing is left to try (what they
/// were told about is theirs under the update's audiences:
/// `DirectoryStore::recipients_among`).
#[derive(Debug, Clone)]
pub struct Unreached {
    pub contact: Contact,
    /// Each delivery, in the order planned (the first channel tried, then its fallback).
    pub deliveries: Vec<UnreachedDelivery>,
}

/// What became of one delivery of an unreached contact.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UnreachedDelivery {
    pub channel: ChannelKind,
    pub state: DeliveryState,
    /// The last error, or why it was skipped.
    pub error: Option<String>,
}

impl std::fmt::Display for UnreachedDelivery {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match &self.error {
            Some(error) => write!(f, "{}: {} ({error})", self.channel, self.state),
            None => write!(f, "{}: {}", self.channel, self.state),
        }
    }
}

/// What is still to do for an update.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Backlog {
    /// Pending, sending, or failed with a retry ahead.
    pub open: u64,
    /// Pending but held back by a run that stopped (a channel to fix): due again when the
    /// update is resumed or retried.
    pub held: u64,
    /// When the earliest of them is due (a lease's expiry for one being sent).
    pub next_due_ms: Option<i64>,
}

/// What moves whenever an update's counts may have: read every half second for each
/// update a dashboard follows, so it must cost a few index lookups however large the update,
/// where the counts themselves group every delivery. Equal marks: the counts are those read
/// with the earlier one, except for a gateway id that a late send record fills in (no event).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProgressMark {
    pub state: UpdateState,
    pub paused: Option<String>,
    /// The latest delivery event of any update: every move of a delivery appends one.
    pub last_delivery_event: Option<i64>,
    /// The latest of the update's own events (held deliveries let go on a resume).
    pub last_update_event: Option<i64>,
    /// Every breaker's state, since and last error, as one text.
    pub breakers: Option<String>,
}

/// What became of one receipt.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ReceiptEffect {
    /// The delivery moved to the receipt's state.
    Applied,
    /// Kept as an event; the state did not change (a `sent` report, or one the state
    /// machine does not allow, such as `failed` after `delivered`).
    Noted,
    /// The same report was received before: nothing changed.
    Duplicate,
    /// No delivery matches: nothing stored.
    Unknown,
}

/// Which SMS deliveries call for the fallback channel.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FallbackRule {
    /// A `sent` SMS handed over at or before this time by one of `receipt_gateways`, and
    /// with no receipt saying delivered or failed since, is in doubt. None: only the
    /// `undeliverable` ones and the `failed` ones with no retry ahead.
    pub silent_since_ms: Option<i64>,
    /// The gateways asked for delivery receipts: only their silence means something.
    pub receipt_gateways: Vec<String>,
}

/// An SMS delivery that calls for the fallback channel and that no sweep has dealt with.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FallbackDue {
    pub delivery_id: i64,
    pub contact_id: i64,
    pub state: DeliveryState,
    /// The other channels the contact already has a delivery on, for this update.
    pub planned: Vec<ChannelKind>,
}

/// What the sweep decided for one SMS delivery.
#[derive(Debug, Clone)]
pub struct FallbackPlan {
    pub sms_delivery_id: i64,
    /// Deliveries on the fallback channel: pending, or skipped with the reason. May be
    /// empty (nothing left to try).
    pub rows: Vec<NewDelivery>,
    /// Appended to the SMS delivery's events, so its history says what followed.
    pub note: String,
}

/// An SMS gateway's circuit breaker, as the sending process last recorded it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BreakerRecord {
    /// The gateway's configured name.
    pub gateway: String,
    /// `closed`, `open` or `half-open`.
    pub state: String,
    pub since_ms: i64,
    /// The last unavailable answer (the recipient's number masked); a record without one
    /// keeps the one before.
    pub last_error: Option<String>,
}

/// Booked appointments at one campus and department, as the exports wrote their names.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BookedPlace {
    pub campus: String,
    pub department: String,
    pub appointments: u64,
    /// The first and the last appointment's start (Unix milliseconds).
    pub first_ms: i64,
    pub last_ms: i64,
}

/// A chat that started the Telegram bot, and where its subscription stands.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TelegramChat {
    pub chat_id: String,
    /// The contact a deep link bound it to (`personal`), or its own `public` contact.
    pub contact_id: i64,
    /// Bound by a deep link: the contact's personal messages come here.
    pub personal: bool,
    pub language: Language,
    pub subscribed_at_ms: i64,
    /// When `/stop`, or Telegram saying the chat is gone, ended the subscription.
    pub ended_at_ms: Option<i64>,
    pub ended_reason: Option<String>,
}

impl TelegramChat {
    pub fn active(&self) -> bool {
        self.ended_at_ms.is_none()
    }
}

/// What a deep link's `/start TOKEN` did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Binding {
    /// The chat now receives the contact's personal messages.
    Bound(TelegramChat),
    /// The link bound a chat before: this one (`same_chat`: a repeated `/start`) or another.
    Used { same_chat: bool },
    /// The link names no contact that can be bound (removed, or a public follower).
    UnknownContact,
}

/// A console user's own addresses, for "send me a test" (never a contact: nothing else is
/// sent to them, and no audience selects them).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct UserContact {
    /// Checked as an import checks one (`import::fields::email`).
    pub email: Option<String>,
    /// E.164.
    pub phone: Option<String>,
}

/// A console account, as stored: the password only as its Argon2id PHC string.
#[derive(Clone, serde::Serialize)]
pub struct User {
    pub id: i64,
    pub name: UserName,
    pub role: UserRole,
    /// None until the person sets one through their setup token.
    #[serde(skip)]
    pub password_hash: Option<String>,
    pub created_at_ms: i64,
    pub disabled_at_ms: Option<i64>,
}

impl std::fmt::Debug for User {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("User")
            .field("id", &self.id)
            .field("name", &self.name)
            .field("role", &self.role)
            .field("disabled_at_ms", &self.disabled_at_ms)
            .finish_non_exhaustive()
    }
}

/// How a new account will sign in the first time.
#[derive(Clone)]
pub enum FirstCredential {
    /// An Argon2id PHC string.
    PasswordHash(String),
    /// A one-time setup token, by its id (`SecretToken::id`), valid until then.
    SetupToken { id: String, expires_at_ms: i64 },
}

/// A session as stored, known by the hash of its token.
#[derive(Debug, Clone)]
pub struct Session {
    pub id: String,
    pub user: User,
    pub created_at_ms: i64,
    pub expires_at_ms: i64,
    pub last_seen_at_ms: i64,
    pub ip: Option<String>,
}

/// One line of the audit log.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct AuditEntry {
    pub at_ms: i64,
    /// The signed-in user; None for the CLI and for someone not signed in.
    pub user: Option<UserName>,
    pub action: String,
    pub target: Option<String>,
    pub detail: Option<String>,
    pub remote: Option<String>,
}

/// Which audit entries to list.
#[derive(Debug, Clone, Default)]
pub struct AuditFilter {
    pub user: Option<UserName>,
    pub since_ms: Option<i64>,
}

/// A plan being written: everything in one transaction, committed or not at all.
#[async_trait]
pub trait PlanWriter: Send {
    /// Inserts the rows that do not exist yet; returns how many were new.
    async fn insert(&mut self, rows: &[NewDelivery]) -> Result<u64>;
    /// Logs the planning event of every new row, marks the update planned, commits.
    async fn commit(self: Box<Self>, update_id: i64, at_ms: i64) -> Result<()>;
}

/// Each SMS gateway's sending time, shared by every process that sends through it
/// (`channels::sms::slots`): a gateway's rate is a budget for the whole deployment.
#[async_trait]
pub trait RateStore: Send + Sync {
    /// Reserves `span_us` of `gateway`'s time from its next free time or `from_us`,
    /// whichever is later, in one statement; returns where the reservation starts. Times are
    /// microseconds since the Unix epoch. Two reservations never overlap, whichever processes
    /// make them.
    async fn reserve_rate_slots(&self, gateway: &str, from_us: i64, span_us: i64) -> Result<i64>;
}

/// Updates from draft to halt, reviews, schedules: for the app, the scheduler, the dispatcher.
#[async_trait]
pub trait UpdateStore: Send + Sync {
    /// Opens the incident if this is its first update, then stores the draft.
    async fn insert_update(
        &self,
        update: &NewUpdate,
        reference: &PublicReference,
        at_ms: i64,
    ) -> Result<i64>;
    async fn update(&self, id: i64) -> Result<Update>;
    async fn updates(&self) -> Result<Vec<Update>>;
    /// What the press room shows: every update released (approved, being sent, sent, or
    /// halted while it was sent), newest release first.
    async fn published_updates(&self) -> Result<Vec<Update>>;
    /// Any update, released or not, under its public reference.
    async fn update_by_reference(&self, reference: &PublicReference) -> Result<Option<Update>>;
    async fn approve_update(&self, id: i64, by: &str, at_ms: i64) -> Result<()>;
    async fn set_update_state(&self, id: i64, state: UpdateState) -> Result<()>;
    /// The update's state alone: cheap enough for a running dispatcher to poll for a halt.
    async fn update_state(&self, id: i64) -> Result<UpdateState>;
    /// Why the update is paused, if it is, alone: what a running dispatcher reads between
    /// its steps.
    async fn update_paused(&self, id: i64) -> Result<Option<String>>;
    /// Stops an approved, sending or sent update: it becomes `halted`, and every delivery that
    /// has not left — pending, failed with a retry ahead, sending but not handed over — is
    /// `cancelled`, in one transaction. A handover recorded after this finds its delivery
    /// cancelled and is refused, so nothing more leaves. Returns how many were cancelled.
    async fn halt_update(&self, id: i64, by: &str, at_ms: i64) -> Result<u64>;
    /// A draft that will never be sent.
    async fn discard_update(&self, id: i64, by: &str, at_ms: i64) -> Result<()>;
    /// An approved update that was not planned goes back to draft.
    async fn revoke_approval(&self, id: i64, by: &str, at_ms: i64) -> Result<()>;
    /// Records why a run stopped with deliveries left; `serve` does not resume a paused
    /// update.
    async fn pause_update(&self, id: i64, reason: &str, at_ms: i64) -> Result<()>;
    /// Lifts a pause: the deliveries a stopped run held back are due now. Returns how many.
    async fn resume_update(&self, id: i64, at_ms: i64) -> Result<u64>;
    /// Makes the final deliveries `filter` chooses due again, with fresh attempts, an event
    /// saying who asked, and the update `sending` again. Returns how many.
    async fn retry_deliveries(
        &self,
        id: i64,
        filter: &RetryFilter,
        by: &str,
        at_ms: i64,
    ) -> Result<u64>;
    /// What people did to an update, oldest first.
    async fn update_events(&self, id: i64) -> Result<Vec<UpdateEvent>>;
    /// Sends a draft back to its author with a comment (a `returned` review); it stays a
    /// draft. NotFound unless it is one.
    async fn return_update(&self, id: i64, by: &str, comment: &str, at_ms: i64) -> Result<()>;
    /// The verdicts on an update, oldest first (`approve_update` writes one too).
    async fn reviews(&self, id: i64) -> Result<Vec<Review>>;
    /// The last verdict on each update that has one.
    async fn last_reviews(&self) -> Result<Vec<Review>>;
    /// When `serve` starts sending an approved update that has not started; logged with
    /// `detail` (the time as people read it). NotFound unless it is approved and not planned.
    async fn schedule_update(
        &self,
        id: i64,
        send_at_ms: i64,
        by: &str,
        detail: &str,
        at_ms: i64,
    ) -> Result<()>;
    /// A person pauses a broadcast: what waits for its turn or a retry is held (pending,
    /// due at no time), the update paused with `paused by …`, in one transaction. A run
    /// finishes what it holds and ends. Returns how many were held.
    async fn hold_update(&self, id: i64, by: &str, at_ms: i64) -> Result<u64>;
    /// When the update's deliveries were planned, if they were.
    async fn planned_at(&self, id: i64) -> Result<Option<i64>>;
    /// Records why `serve` could not start a scheduled update, and logs it in
    /// `update_events` (`not started`), unless that reason is recorded already: true when it
    /// was new. Planning, a new schedule and a revoked approval clear it.
    async fn refuse_start(&self, id: i64, reason: &str, at_ms: i64) -> Result<bool>;
    /// Why `serve` could not start the update, if it could not.
    async fn start_refusal(&self, id: i64) -> Result<Option<StartRefusal>>;
}

/// Contacts, appointments, opt-outs and the audiences they make: for imports and the planner.
#[async_trait]
pub trait DirectoryStore: Send + Sync {
    /// Merges an export in one transaction: new records inserted, known ones updated field
    /// by field with each change logged, the rest counted unchanged. Every appointment's
    /// patient must be among `contacts` or already known.
    async fn import(
        &self,
        contacts: &[NewContact],
        appointments: &[NewAppointment],
        source: &str,
        at_ms: i64,
    ) -> Result<ImportCounts>;
    /// Records that share an identity with a known contact but disagree with it, oldest
    /// first; the decided ones too with `decided`.
    async fn import_conflicts(&self, decided: bool) -> Result<Vec<ImportConflict>>;
    /// Decides an open conflict: `accept` merges the record into the contact it matched (as
    /// an import would, each change logged) and imports its appointments; otherwise it is
    /// marked rejected and nothing of it is imported.
    async fn decide_conflict(
        &self,
        id: i64,
        accept: bool,
        by: &str,
        at_ms: i64,
    ) -> Result<ImportCounts>;
    /// A contact by one of its identities (`patient:P1`, `riziv:…`, `fhir:SYSTEM|VALUE`, or
    /// the bare value: a patient number first, then any other identity, refused as
    /// [`StoreError::Ambiguous`] when it names several contacts), then by e-mail address or
    /// phone number, then by Tocsin's id (`id:12` for that alone).
    async fn find_contact(&self, key: &str) -> Result<Option<Contact>>;
    /// Every (campus, department) with booked appointments: the names an audience can use.
    async fn booked_places(&self) -> Result<Vec<BookedPlace>>;
    /// Records (or, with `reason` None and `remove`, lifts) an opt-out; false when nothing
    /// changed.
    async fn set_optout(
        &self,
        contact_id: i64,
        channel: ChannelKind,
        opted_out: bool,
        reason: Option<&str>,
        at_ms: i64,
    ) -> Result<bool>;
    async fn recipient(&self, contact_id: i64) -> Result<Recipient>;
    /// The next page of a selection, in contact id order after `after_id`.
    async fn recipients(
        &self,
        selection: &Selection,
        after_id: i64,
        limit: u32,
    ) -> Result<Vec<Recipient>>;
    /// The contacts among `ids` that a selection takes, as [`DirectoryStore::recipients`]
    /// gives them.
    async fn recipients_among(&self, selection: &Selection, ids: &[i64]) -> Result<Vec<Recipient>>;
}

/// The delivery queue: the planner fills it, dispatch workers drain it, the fallback sweeps it.
#[async_trait]
pub trait QueueStore: Send + Sync {
    /// A plan whose pending rows are due at `due_at_ms` (the planner's clock, not the
    /// machine's: a test's clock, or a scheduled start, decides when they are due).
    async fn begin_plan(&self, due_at_ms: i64) -> Result<Box<dyn PlanWriter>>;
    /// Leases up to `limit` due deliveries of an update and moves them to `sending`. A
    /// delivery whose lease expired after its handover was recorded is not sent again: it
    /// becomes `uncertain` in the same transaction.
    async fn claim_due(
        &self,
        update_id: i64,
        now_ms: i64,
        lease_until_ms: i64,
        limit: u32,
    ) -> Result<Vec<ClaimedDelivery>>;
    /// Applies transitions and appends their events, all in one transaction. Returns the
    /// transitions that applied (a stale one is dropped, except that a message accepted
    /// after a halt cancelled it is recorded `cancelled → sent`: it did leave).
    async fn record(&self, transitions: &[Transition]) -> Result<Vec<bool>>;
    async fn backlog(&self, update_id: i64) -> Result<Backlog>;
    /// SMS deliveries of an update that `rule` sends to the fallback channel and that no
    /// sweep has dealt with yet, in id order after `after_id`.
    async fn fallback_due(
        &self,
        update_id: i64,
        rule: &FallbackRule,
        after_id: i64,
        limit: u32,
    ) -> Result<Vec<FallbackDue>>;
    /// In one transaction: marks each plan's SMS delivery dealt with if `rule` still applies
    /// to it (a receipt may have come in since it was read, or another sweep dealt with it),
    /// inserts the rows of those plans and appends their notes to the SMS deliveries'
    /// events. Returns how many rows it created.
    async fn plan_fallback(
        &self,
        rule: &FallbackRule,
        plans: &[FallbackPlan],
        at_ms: i64,
    ) -> Result<u64>;
    /// Records a breaker's new state, unless a later one is recorded already (two sends can
    /// report changes out of order).
    async fn record_breaker(&self, record: &BreakerRecord) -> Result<()>;
    /// Every gateway's breaker as last recorded, by gateway name.
    async fn breakers(&self) -> Result<Vec<BreakerRecord>>;
}

/// Delivery receipts as gateways report them: for the webhook's writer.
#[async_trait]
pub trait ReceiptStore: Send + Sync {
    /// Stores receipts and applies them, all in one transaction (see [`Receipt`],
    /// [`ReceiptEffect`]); one effect per receipt, in order.
    async fn record_receipts(&self, receipts: &[Receipt]) -> Result<Vec<ReceiptEffect>>;
}

/// What became of an update's deliveries: for status, reports, the dashboard, previews.
#[async_trait]
pub trait ReportStore: Send + Sync {
    async fn delivery(
        &self,
        update_id: i64,
        contact_id: i64,
        channel: ChannelKind,
    ) -> Result<Option<StoredDelivery>>;
    /// A few index lookups that tell whether the update's counts may have changed.
    async fn progress_mark(&self, update_id: i64) -> Result<ProgressMark>;
    async fn status(&self, update_id: i64) -> Result<Vec<StatusRow>>;
    /// The update's failed, undeliverable and uncertain deliveries counted by channel, state
    /// and the reason recorded (`last_error`), largest first.
    async fn failure_reasons(&self, update_id: i64) -> Result<Vec<FailureRow>>;
    async fn unreached(&self, update_id: i64) -> Result<Vec<Unreached>>;
    /// `(from, to, detail)` of every event of a delivery, oldest first.
    async fn events(
        &self,
        delivery_id: i64,
    ) -> Result<Vec<(Option<String>, String, Option<String>)>>;
}

/// The Telegram bot's chats, subscriptions and public channels: for the bot and the dispatcher.
#[async_trait]
pub trait TelegramStore: Send + Sync {
    /// The key Telegram deep links are signed with: made at random on first use and kept
    /// with the data, so that every process issues and accepts the same links.
    async fn telegram_link_key(&self, at_ms: i64) -> Result<[u8; 32]>;
    /// The chat as the bot last left it, ended or not.
    async fn telegram_chat(&self, chat_id: &str) -> Result<Option<TelegramChat>>;
    /// `/start TOKEN`: binds the chat to the contact of a genuine, unexpired link, once per
    /// link (`mac`), in one transaction: the contact's Telegram address becomes the chat
    /// and its Telegram language the chat's; the chat stops following the public updates
    /// on its own (its messages now carry them).
    async fn bind_telegram_chat(
        &self,
        mac: &str,
        contact_id: i64,
        chat_id: &str,
        language: Language,
        at_ms: i64,
    ) -> Result<Binding>;
    /// `/start` without a token: the chat follows the public updates in `language` (a new
    /// `public` contact), or, ended before, follows again what it followed. A chat
    /// subscribed already is left as it is.
    async fn subscribe_telegram_chat(
        &self,
        chat_id: &str,
        language: Language,
        at_ms: i64,
    ) -> Result<TelegramChat>;
    /// `/language`: the chat's messages are written in `language` from the next update on.
    /// None when the chat never started the bot.
    async fn set_telegram_language(
        &self,
        chat_id: &str,
        language: Language,
        at_ms: i64,
    ) -> Result<Option<TelegramChat>>;
    /// `[telegram] public_channels`: the contacts of role `public` that stand for them
    /// (`external_id` `telegram-channel:<language>`) made to match, one per language; a
    /// language left out is posted nowhere from now on. Returns how many contacts changed.
    async fn sync_telegram_channels(
        &self,
        channels: &[(Language, String)],
        at_ms: i64,
    ) -> Result<u64>;
    /// `/stop`, or Telegram saying the chat is gone: no contact has the chat as address any
    /// more, whether the bot or an export gave it. None when the chat never started the
    /// bot.
    async fn end_telegram_chat(
        &self,
        chat_id: &str,
        reason: &str,
        at_ms: i64,
    ) -> Result<Option<TelegramChat>>;
    /// The address of `delivery_id` moved for good (Telegram: a group that became a
    /// supergroup, `migrate_to_chat_id`): every contact with the old address on that channel,
    /// and every delivery to it not yet final, take `address`, and the delivery's history
    /// says why (`detail`). Returns how many contacts changed.
    async fn readdress(
        &self,
        delivery_id: i64,
        address: &str,
        detail: &str,
        at_ms: i64,
    ) -> Result<u64>;
}

/// Console accounts, sessions and the audit log: for the app's account operations.
#[async_trait]
pub trait AccountStore: Send + Sync {
    /// A new account; refused (`Refused`) when the name is taken.
    async fn add_user(
        &self,
        name: &UserName,
        role: UserRole,
        first: &FirstCredential,
        at_ms: i64,
    ) -> Result<User>;
    /// Every account, by name.
    async fn users(&self) -> Result<Vec<User>>;
    async fn user(&self, name: &UserName) -> Result<Option<User>>;
    /// Replaces the password's hash; any setup token left is void.
    async fn set_password(&self, name: &UserName, hash: &str) -> Result<()>;
    /// Sets the user's own e-mail address and phone (what "send me a test" sends to);
    /// `None` keeps the one stored.
    async fn set_user_contact(
        &self,
        name: &UserName,
        email: Option<&str>,
        phone: Option<&str>,
    ) -> Result<()>;
    /// The user's own addresses.
    async fn user_contact(&self, name: &UserName) -> Result<UserContact>;
    /// The account whose unused, unexpired setup token has this id, if it is not disabled.
    async fn setup_token_user(&self, id: &str, at_ms: i64) -> Result<Option<User>>;
    /// Sets the password of the account whose unused, unexpired setup token has this id,
    /// once: the token is void afterwards. None when no token matches.
    async fn redeem_setup_token(&self, id: &str, hash: &str, at_ms: i64) -> Result<Option<User>>;
    /// Disables an account and ends its sessions.
    async fn disable_user(&self, name: &UserName, at_ms: i64) -> Result<User>;
    /// Opens a session; the token is returned here only, the store keeps its hash.
    async fn create_session(
        &self,
        user_id: i64,
        ip: Option<&str>,
        at_ms: i64,
        expires_at_ms: i64,
    ) -> Result<SecretToken>;
    /// The session a token opened, if it is neither expired nor ended and its user is not
    /// disabled; notes it was seen.
    async fn session(&self, token: &SecretToken, at_ms: i64) -> Result<Option<Session>>;
    /// Ends a session (signing out); false when it was not open.
    async fn end_session(&self, token: &SecretToken, at_ms: i64) -> Result<bool>;
    async fn append_audit(&self, entry: &AuditEntry) -> Result<()>;
    /// The audit log, newest first.
    async fn audit_log(&self, filter: &AuditFilter) -> Result<Vec<AuditEntry>>;
}

/// Everything that touches the database, as one seam: what `App` holds (`Arc<dyn Store>`),
/// and what a database implements by implementing each role.
pub trait Store:
    UpdateStore
    + DirectoryStore
    + QueueStore
    + ReceiptStore
    + ReportStore
    + TelegramStore
    + AccountStore
    + RateStore
{
}

impl<T> Store for T where
    T: UpdateStore
        + DirectoryStore
        + QueueStore
        + ReceiptStore
        + ReportStore
        + TelegramStore
        + AccountStore
        + RateStore
        + ?Sized
{
}

/// The store and its roles, for a caller that calls store methods: a role's methods are
/// callable on `dyn Store` only with the role in scope.
pub mod prelude {
    pub use super::{
        AccountStore, DirectoryStore, QueueStore, RateStore, ReceiptStore, ReportStore, Store,
        TelegramStore, UpdateStore,
    };
}
