//! The operations a spokesperson runs, wired from the configuration: the CLI and the tests
//! call these, never the parts underneath directly.

mod accounts;
mod compose;
mod playbooks;
mod refusal;
mod review;
mod watch;
mod worker;

pub use accounts::{Actor, NewCredential, SetupToken};
pub use compose::{checked_contact, TestReader, TestRequest};
pub use refusal::{approval_refusal, state_name, Refusal};
pub use review::MAX_COMMENT_CHARS;

use crate::author::{parse_draft, Draft, DraftError, DraftOptions};
use crate::channels::email::{MailBuilder, SmtpChannel, SmtpTarget};
use crate::channels::outbox::Outbox;
use crate::channels::sms::{BreakerChange, BreakerObserver, SlotSource};
use crate::channels::Channel;
use crate::clock::{Clock, SystemClock};
use crate::config::{Config, EmailTransport, Placeholder};
use crate::dispatch::lifecycle::{self, Moment};
use crate::dispatch::{DispatchError, DispatchSettings, Dispatcher, RetryPolicy, RunEnd, Tally};
use crate::domain::{
    Action, ApprovalError, AudienceSpec, ChannelKind, Contact, DeliveryState, Language,
    PatientFilter, PhoneNumber, PublicReference, Recipient, RenderedMessage, Selection,
    UpdateState, RANDOM_CHARACTERS,
};
use crate::fallback::Fallback;
use crate::import::{self, ImportBatch, Notice, Unreadable};
use crate::plan::{
    forecast, plan, prepare, sync_public_channels, Forecast, PlanError, PlanReport, Planner,
};
use crate::press;
use crate::render::{Locales, NameKind, RenderError, Renderer};
use crate::report::count;
use crate::spreadsheet::Separator;
use crate::store::prelude::*;
use crate::store::{self, BookedPlace, BreakerRecord, RetryFilter, StoreError};
use crate::store::{ImportConflict, ImportCounts};
use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};
use std::sync::atomic::AtomicU64;
use std::sync::Arc;
use std::time::Duration;

#[derive(Debug, thiserror::Error)]
pub enum AppError {
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error(transparent)]
    Render(#[from] RenderError),
    #[error(transparent)]
    Draft(#[from] DraftError),
    #[error(transparent)]
    Approval(#[from] ApprovalError),
    #[error(transparent)]
    Account(#[from] crate::domain::AccountRefusal),
    #[error(transparent)]
    Plan(#[from] PlanError),
    #[error(transparent)]
    Dispatch(#[from] DispatchError),
    #[error("cannot read {path}: {source}")]
    Read {
        path: String,
        source: std::io::Error,
    },
    #[error("{0}")]
    Config(String),
    #[error("{0}")]
    Refused(String),
    /// A refusal a person meets working an update, said in their language by the console
    /// and the command line (`Refused` keeps the rarer ones, in English).
    #[error(transparent)]
    Refusal(#[from] Refusal),
    /// Its text is the whole message: not a source too, or a chain would print it twice.
    #[error("{0}; nothing was imported")]
    Unreadable(Unreadable),
    #[error(transparent)]
    Audience(#[from] crate::domain::AudienceError),
    #[error(transparent)]
    Press(#[from] crate::press::PressError),
    #[error(transparent)]
    Export(#[from] crate::press::ExportError),
    #[error(transparent)]
    Password(#[from] crate::accounts::HashError),
    #[error(transparent)]
    Playbook(#[from] crate::playbooks::PlaybookError),
    #[error("{}", placeholders_message(.action, .placeholders, .file.as_deref()))]
    Placeholders {
        action: &'static str,
        placeholders: Vec<Placeholder>,
        file: Option<PathBuf>,
    },
}

fn placeholders_message(action: &str, placeholders: &[Placeholder], file: Option<&Path>) -> String {
    let mut message = format!(
        "refusing to {action}: messages would carry the example hospital details, not yours. Set in {}:",
        match file {
            Some(file) => file.display().to_string(),
            None => "tocsin.toml (none was found in the working directory; or pass --config FILE)"
                .to_string(),
        }
    );
    for placeholder in placeholders {
        message.push_str(&format!("\n  {placeholder}"));
    }
    message.push_str("\n`tocsin check` shows everything the configuration will do.");
    message
}

impl From<Unreadable> for AppError {
    fn from(unreadable: Unreadable) -> Self {
        AppError::Unreadable(unreadable)
    }
}

pub struct App {
    pub config: Config,
    pub store: Arc<dyn Store>,
    pub renderer: Arc<Renderer>,
    pub clock: Arc<dyn Clock>,
    /// The demo and the benchmarks write to synthetic people with the example hospital
    /// details on purpose; everything else refuses them.
    placeholders_allowed: bool,
    /// Why the press room's address is wrong, if it is: every command that renders a message
    /// (their links point there) refuses until it is fixed; the others (imports, status) work.
    address_problem: Option<String>,
    /// Bumped each time a session ends through this app: see [`App::sessions_ended`].
    sessions_ended: AtomicU64,
}

/// A stored draft, with what sending it would do now.
#[derive(Debug, Clone)]
pub struct DraftReport {
    pub id: i64,
    pub draft: Draft,
    /// Whom each audience reaches, and the SMS as rendered for them.
    pub forecast: Forecast,
    /// Things the author should look at before asking for approval (an audience that
    /// reaches nobody, texts already sent).
    pub warnings: Vec<String>,
}

/// What one contact receives on one channel.
#[derive(Debug, Clone)]
pub struct Preview {
    pub contact_id: i64,
    pub external_id: String,
    pub contact_name: String,
    pub channel: ChannelKind,
    pub language: Language,
    pub address: Option<String>,
    pub content: RenderedMessage,
    /// Already planned: this is the stored text, exactly as sent.
    pub stored: bool,
    /// Why nothing goes to this channel (opted out, no address).
    pub skipped: Option<String>,
}

/// What an import did.
#[derive(Debug, Clone)]
pub struct ImportSummary {
    pub records: usize,
    pub counts: ImportCounts,
    pub rejected: usize,
    /// Records taken without one or more of their fields (an invalid e-mail address, a
    /// landline, the GP's phone …), each a "kept without" line in the rejects file.
    pub kept_without_a_field: usize,
    /// Records left out on purpose, each with a notice (an animal patient).
    pub skipped: usize,
    pub notices: Vec<Notice>,
    /// Where the rejected records were written, if any were.
    pub rejects_file: Option<PathBuf>,
}

/// The kinds of export `tocsin import` reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ImportKind {
    Appointments,
    Fhir,
    Gps,
    Media,
}

/// Who an audience reaches, as `tocsin audience show` prints it.
#[derive(Debug, Clone, Default, serde::Serialize)]
pub struct AudienceSummary {
    pub spec: String,
    pub contacts: u64,
    pub by_language: BTreeMap<Language, u64>,
    /// Contacts with an address for each channel ("none": no address at all).
    pub reachable: BTreeMap<String, u64>,
}

/// Keeps each SMS gateway's breaker state in the store, where `tocsin status` reads it.
struct StoredBreakers {
    store: Arc<dyn Store>,
    clock: Arc<dyn Clock>,
}

#[async_trait::async_trait]
impl BreakerObserver for StoredBreakers {
    async fn changed(&self, change: BreakerChange) {
        tracing::warn!(message = "SMS gateway breaker", gateway = change.gateway, state = %change.state);
        let record = BreakerRecord {
            gateway: change.gateway,
            state: change.state.as_str().to_string(),
            since_ms: self.clock.now_ms(),
            last_error: change.error,
        };
        if let Err(error) = self.store.record_breaker(&record).await {
            tracing::error!(message = "breaker state not recorded", gateway = record.gateway, %error);
        }
    }
}

/// `[database]`'s connections, as the store takes them.
pub fn pool_settings(config: &Config) -> store::PoolSettings {
    store::PoolSettings {
        max_connections: config.database.max_connections,
        acquire_timeout: Duration::from_secs(config.database.acquire_timeout_seconds),
    }
}

/// Each SMS gateway's slots from the store, so that every process sending through the
/// database shares each gateway's rate.
struct StoredSlots {
    store: Arc<dyn Store>,
}

#[async_trait::async_trait]
impl SlotSource for StoredSlots {
    async fn reserve(&self, gateway: &str, from_us: i64, span_us: i64) -> Result<i64, String> {
        self.store
            .reserve_rate_slots(gateway, from_us, span_us)
            .await
            .map_err(|error| error.to_string())
    }
}

#[derive(Debug, Clone)]
pub struct SendReport {
    pub plan: PlanReport,
    /// Deliveries a stopped run had held back, due again for this run.
    pub resumed: u64,
    pub end: RunEnd,
}

impl App {
    /// Opens the configured database, creating it if it does not exist.
    pub async fn open(config: Config) -> Result<App, AppError> {
        let store = store::open(&config.database_url, &pool_settings(&config)).await?;
        Self::with_store(config, store)
    }

    /// Opens the configured database, which must exist.
    pub async fn open_existing(config: Config) -> Result<App, AppError> {
        let store = store::open_existing(&config.database_url, &pool_settings(&config)).await?;
        Self::with_store(config, store)
    }

    fn with_store(config: Config, store: Arc<dyn Store>) -> Result<App, AppError> {
        let (public_url, address_problem) = match press::public_url(&config) {
            Ok(url) => (url, None),
            // Reserved (RFC 2606): no message rendered with it is ever shown or sent.
            Err(error) => (
                url::Url::parse("https://address.invalid/").expect("a constant, valid URL"),
                Some(error.to_string()),
            ),
        };
        let renderer = Renderer::new(
            config.hospital.clone(),
            public_url,
            config.gp_alert.patient_fields.clone(),
            config.templates_dir.as_deref(),
            config.locales_dir.as_deref(),
        )?;
        Ok(App {
            config,
            store,
            renderer: Arc::new(renderer),
            clock: Arc::new(SystemClock),
            placeholders_allowed: false,
            address_problem,
            sessions_ended: AtomicU64::new(0),
        })
    }

    /// Refuses while the press room's address, which every message links to, is wrong.
    fn refuse_wrong_address(&self, action: &'static str) -> Result<(), AppError> {
        match &self.address_problem {
            Some(problem) => Err(AppError::Config(format!("refusing to {action}: {problem}"))),
            None => Ok(()),
        }
    }

    /// For the demo and the benchmarks only: lets the example hospital details through.
    pub fn allowing_placeholders(mut self) -> App {
        self.placeholders_allowed = true;
        self
    }

    /// Refuses while messages would carry the example hospital details.
    pub(crate) fn refuse_placeholders(&self, action: &'static str) -> Result<(), AppError> {
        self.refuse_wrong_address(action)?;
        let placeholders = self.config.placeholders();
        if self.placeholders_allowed || placeholders.is_empty() {
            return Ok(());
        }
        Err(AppError::Placeholders {
            action,
            placeholders,
            file: self.config.file.clone(),
        })
    }

    /// Checks an update file, renders its SMS for everyone it would reach now, and stores it
    /// as a draft; nothing is stored if anything is wrong (a rendered SMS longer than
    /// `options.max_sms_segments` included).
    pub async fn draft(
        &self,
        file: &Path,
        by: Option<&str>,
        options: DraftOptions,
    ) -> Result<DraftReport, AppError> {
        let source = std::fs::read_to_string(file).map_err(|source| AppError::Read {
            path: file.display().to_string(),
            source,
        })?;
        self.draft_source(&file.display().to_string(), &source, by, options)
            .await
    }

    /// [`App::draft`] of an update file's text, named `name` in what it reports (the
    /// console's compose form builds the text; the CLI reads it from a file).
    pub async fn draft_source(
        &self,
        name: &str,
        source: &str,
        by: Option<&str>,
        options: DraftOptions,
    ) -> Result<DraftReport, AppError> {
        self.refuse_placeholders("draft an update")?;
        let mut draft = parse_draft(name, source, by, options)?;
        draft.update.author = self.signatory(&draft.update.author, Action::Draft).await?;
        if let Some(follows) = draft.update.follows {
            let earlier = self.store.update(follows).await?;
            if earlier.incident_id != draft.update.incident_id {
                return Err(Refusal::FollowsOtherIncident {
                    file: name.to_string(),
                    follows,
                    theirs: earlier.incident_id,
                    ours: draft.update.incident_id.clone(),
                }
                .into());
            }
        }
        let now = self.clock.now_ms();
        let reference = self.new_reference(now).await?;
        sync_public_channels(self.store.as_ref(), &self.config, now).await?;
        let forecast = forecast(
            self.store.as_ref(),
            &self.renderer,
            &self.config,
            &draft.update.as_draft(0, reference.clone(), now),
        )
        .await?;
        if let Some(max) = options.max_sms_segments {
            refuse_long_sms(name, &forecast, max)?;
        }
        let mut warnings = self.audience_warnings(&forecast).await?;
        for earlier in self.store.updates().await? {
            let released = matches!(
                earlier.state,
                UpdateState::Approved
                    | UpdateState::Sending
                    | UpdateState::Sent
                    | UpdateState::Halted
            );
            if released
                && earlier.incident_id == draft.update.incident_id
                && draft.update.same_texts(&earlier)
            {
                warnings.push(format!(
                    "the texts are exactly those of update {} ({}, \"{}\"): sending them again \
                     repeats that message to everyone it reached",
                    earlier.id, earlier.state, earlier.en.title
                ));
            }
        }
        let id = self
            .store
            .insert_update(&draft.update, &reference, now)
            .await?;
        Ok(DraftReport {
            id,
            draft,
            forecast,
            warnings,
        })
    }

    /// The press room as it stands: every released update, and its pages and feeds.
    pub async fn press(&self) -> Result<(press::Edition, press::Site), AppError> {
        let updates = self.store.published_updates().await?;
        let edition = press::Edition::new(&self.config, updates)?;
        let site = press::build(&edition, self.renderer.locales())?;
        Ok((edition, site))
    }

    /// `tocsin press export`: the press room written to `dir`, rewriting only what changed.
    /// Refuses the example hospital details, which the pages would publish as the numbers
    /// to call.
    pub async fn export_press(&self, dir: &Path) -> Result<press::ExportReport, AppError> {
        self.refuse_placeholders("export the press room")?;
        let (_, site) = self.press().await?;
        Ok(press::export(&site, dir)?)
    }

    /// A public reference no other update has: the hospital's short name, today's date in
    /// its time zone and random characters (drawn again on the rare clash).
    async fn new_reference(&self, now_ms: i64) -> Result<PublicReference, AppError> {
        let tz = self.config.hospital.tz().map_err(AppError::Config)?;
        let today = chrono::DateTime::from_timestamp_millis(now_ms)
            .unwrap_or_default()
            .with_timezone(&tz)
            .date_naive();
        loop {
            let reference = PublicReference::new(
                &self.config.hospital.short_name,
                today,
                rand::random::<[u8; RANDOM_CHARACTERS]>(),
            );
            if self.store.update_by_reference(&reference).await?.is_none() {
                return Ok(reference);
            }
        }
    }

    /// An audience that reaches nobody is almost always a mistake (a campus written as the
    /// export does not write it, no GP list imported): say so, with the names that exist.
    async fn audience_warnings(&self, forecast: &Forecast) -> Result<Vec<String>, AppError> {
        let mut warnings = Vec::new();
        let mut places = None;
        for audience in &forecast.audiences {
            let spec = &audience.spec;
            if audience.contacts + audience.shared > 0 {
                if audience.contacts > 0 && audience.messages() == 0 {
                    warnings.push(format!(
                        "audience \"{spec}\" selects {} but no channel of this update reaches \
                         any of them (no address, or opted out): each is on the unreached list",
                        count(audience.contacts, "contact", "contacts")
                    ));
                }
                continue;
            }
            let why = match spec {
                AudienceSpec::Patients(filter) => {
                    if places.is_none() {
                        places = Some(self.store.booked_places().await?);
                    }
                    let places = places.as_deref().unwrap_or_default();
                    let tz = self.config.hospital.tz().map_err(AppError::Config)?;
                    suggest_places(filter, places, self.renderer.locales(), tz)
                }
                AudienceSpec::GpsOfAffected => {
                    let patients_reached = forecast.audiences.iter().any(|other| {
                        matches!(other.spec, AudienceSpec::Patients(_))
                            && other.contacts + other.shared > 0
                    });
                    if patients_reached {
                        "no GP is linked to the appointments of these patients (the export's \
                         GP column, or FHIR's generalPractitioner)"
                            .to_string()
                    } else {
                        "its patients audiences reach nobody, so neither do their GPs".to_string()
                    }
                }
                AudienceSpec::AllGps => "no GP is imported: tocsin import gps FILE".to_string(),
                AudienceSpec::Media => {
                    "no press list is imported: tocsin import media FILE".to_string()
                }
                // Nobody following yet is no mistake of the update's.
                AudienceSpec::Public => continue,
            };
            warnings.push(format!("audience \"{spec}\" reaches NOBODY: {why}"));
        }
        Ok(warnings)
    }

    pub async fn approve(&self, id: i64, by: &str) -> Result<(), AppError> {
        self.refuse_placeholders("approve an update")?;
        let update = self.store.update(id).await?;
        let by = self.reviewer(&update, by).await?;
        update.check_approval(&by)?;
        self.store
            .approve_update(id, &by, self.clock.now_ms())
            .await?;
        Ok(())
    }

    /// A contact by the export's id (`Store::find_contact`: bare or as `kind:value`), e-mail
    /// address, phone number (as the exports write it: "0471 12 34 56" is found as
    /// +32471123456) or Tocsin's id.
    pub async fn find_contact(&self, key: &str) -> Result<Contact, AppError> {
        if let Some(contact) = self.store.find_contact(key).await? {
            return Ok(contact);
        }
        if let Ok(phone) = PhoneNumber::parse(key, None) {
            if let Some(contact) = self.store.find_contact(&phone.e164).await? {
                return Ok(contact);
            }
        }
        Err(AppError::Refused(format!(
            "no contact {key:?} (by the export's id, e-mail, phone or Tocsin's id)"
        )))
    }

    /// Exactly what a contact receives (or would), per channel. `sample` chooses whom:
    /// one contact, the first contact of each audience who reads a language, or the first
    /// contact of each audience.
    pub async fn preview(
        &self,
        id: i64,
        sample: Sample<'_>,
        channel: Option<ChannelKind>,
    ) -> Result<Vec<Preview>, AppError> {
        self.refuse_wrong_address("preview an update")?;
        let update = self.store.update(id).await?;
        self.previews_of(&update, sample, channel, true).await
    }

    /// What [`App::preview`] shows, for an update `saved` (a delivery already planned shows
    /// its stored text) or not yet (the compose page's texts as typed, with a reference of
    /// their own): one rendering path for both, the planner's.
    async fn previews_of(
        &self,
        update: &crate::domain::Update,
        sample: Sample<'_>,
        channel: Option<ChannelKind>,
        saved: bool,
    ) -> Result<Vec<Preview>, AppError> {
        let id = update.id;
        let tz = self.config.hospital.tz().map_err(AppError::Config)?;
        let prepared = prepare(
            self.store.as_ref(),
            &self.renderer,
            &self.config,
            update,
            self.clock.now_ms(),
        )
        .await?;
        let contact = match sample {
            Sample::Contact(key) => Some(self.find_contact(key).await?),
            Sample::Language(_) | Sample::First => None,
        };
        let mut previews = Vec::new();
        let audiences = update.planned_audiences();
        for spec in &audiences {
            let selection = spec.selection(&audiences, tz);
            let planner = Planner {
                prepared: &prepared,
                config: &self.config,
                update,
                audience: spec.family(),
                policy: self.config.policy.for_audience(spec.family()),
            };
            let recipient = match (&contact, sample) {
                (Some(contact), _) => self
                    .store
                    .recipients(&selection, contact.id - 1, 1)
                    .await?
                    .pop()
                    .filter(|recipient| recipient.contact.id == contact.id),
                (None, Sample::Language(language)) => {
                    self.reader_of(&selection, &planner, language).await?
                }
                (None, _) => self.store.recipients(&selection, 0, 1).await?.pop(),
            };
            let Some(recipient) = recipient else {
                continue;
            };
            for row in planner.deliveries(&recipient)? {
                if channel.is_some_and(|wanted| wanted != row.channel) {
                    continue;
                }
                let stored = if saved {
                    self.store
                        .delivery(id, recipient.contact.id, row.channel)
                        .await?
                } else {
                    None
                };
                let contact = &recipient.contact;
                previews.push(match stored {
                    Some(stored) => Preview {
                        contact_id: contact.id,
                        external_id: contact.external_id.clone(),
                        contact_name: contact.full_name(),
                        channel: row.channel,
                        language: stored.language,
                        address: stored.address,
                        content: stored.content,
                        skipped: stored
                            .last_error
                            .filter(|_| stored.state == DeliveryState::Skipped),
                        stored: true,
                    },
                    None => Preview {
                        contact_id: contact.id,
                        external_id: contact.external_id.clone(),
                        contact_name: contact.full_name(),
                        channel: row.channel,
                        language: row.language,
                        address: row.address,
                        content: row.content,
                        skipped: row.detail,
                        stored: false,
                    },
                });
            }
            if contact.is_some() {
                break;
            }
        }
        match (previews.is_empty(), contact, sample) {
            (false, _, _) => Ok(previews),
            (true, Some(contact), _) => Err(Refusal::PreviewContact {
                contact: contact.id,
                external: contact.external_id,
                id,
                channel,
            }
            .into()),
            (true, None, Sample::Language(language)) => Err(Refusal::PreviewLanguage {
                id,
                language,
                channel,
            }
            .into()),
            (true, None, _) => Err(Refusal::PreviewNobody { id, channel }.into()),
        }
    }

    /// The first contact of a selection whom the update is written to in `language`.
    async fn reader_of(
        &self,
        selection: &Selection,
        planner: &Planner<'_>,
        language: Language,
    ) -> Result<Option<Recipient>, AppError> {
        let mut after_id = 0;
        loop {
            let page = self.store.recipients(selection, after_id, 2_000).await?;
            let Some(last) = page.last() else {
                return Ok(None);
            };
            after_id = last.contact.id;
            if let Some(found) = page
                .into_iter()
                .find(|recipient| planner.language(recipient) == language)
            {
                return Ok(Some(found));
            }
        }
    }

    /// Where every delivery of the update stands, and who has not been reached (with the
    /// appointments they were told about, in the hospital's time zone).
    pub async fn status(&self, update_id: i64) -> Result<crate::report::StatusReport, AppError> {
        let tz = self.config.hospital.tz().map_err(AppError::Config)?;
        Ok(crate::report::status(self.store.as_ref(), update_id, tz).await?)
    }

    /// Reads an export and merges it in one transaction; rejected records, and records kept
    /// without a field, go to `rejects` (default: next to the file, `<file>.rejects.csv`),
    /// written with `separator`.
    pub async fn import(
        &self,
        kind: ImportKind,
        file: &Path,
        rejects: Option<&Path>,
        separator: Separator,
    ) -> Result<ImportSummary, AppError> {
        let bytes = std::fs::read(file).map_err(|source| AppError::Read {
            path: file.display().to_string(),
            source,
        })?;
        let name = file.display().to_string();
        let batch: ImportBatch = match kind {
            ImportKind::Appointments => import::csv::appointments(&name, &bytes)?,
            ImportKind::Gps => import::csv::gps(&name, &bytes)?,
            ImportKind::Media => import::csv::media(&name, &bytes)?,
            ImportKind::Fhir => import::fhir::parse(&name, &bytes)?
                .with_patient_numbers(&self.config.hospital.patient_number_systems),
        };
        drop(bytes);
        let counts = self
            .store
            .import(
                &batch.contacts,
                &batch.appointments,
                &name,
                self.clock.now_ms(),
            )
            .await?;
        let header = (!batch.header.is_empty()).then_some(batch.header.as_slice());
        let rejects_file = import::write_rejects(file, rejects, header, &batch.rejects, separator)
            .map_err(|error| AppError::Refused(error.to_string()))?;
        Ok(ImportSummary {
            records: batch.records,
            counts,
            rejected: batch.rejected(),
            kept_without_a_field: batch.kept_without_a_field(),
            skipped: batch.skipped,
            notices: batch.notices,
            rejects_file,
        })
    }

    /// Records that an import did not merge because they disagree with the contact whose
    /// identity they carry; the decided ones too with `decided`.
    pub async fn import_conflicts(&self, decided: bool) -> Result<Vec<ImportConflict>, AppError> {
        Ok(self.store.import_conflicts(decided).await?)
    }

    /// A person's decision on a conflict: `accept` (the same person) merges the record and
    /// imports its appointments; otherwise nothing of it is imported.
    pub async fn decide_conflict(
        &self,
        id: i64,
        accept: bool,
        by: &str,
    ) -> Result<ImportCounts, AppError> {
        Ok(self
            .store
            .decide_conflict(id, accept, by, self.clock.now_ms())
            .await?)
    }

    /// Applies an opt-out list; returns (applied, unknown contacts and bad lines, rejects file).
    pub async fn import_optouts(
        &self,
        file: &Path,
        rejects: Option<&Path>,
        separator: Separator,
    ) -> Result<(usize, usize, Option<PathBuf>), AppError> {
        let bytes = std::fs::read(file).map_err(|source| AppError::Read {
            path: file.display().to_string(),
            source,
        })?;
        let (optouts, mut rejected) = import::optouts(&file.display().to_string(), &bytes)?;
        let mut applied = 0;
        for optout in optouts {
            let found = match self.store.find_contact(&optout.contact).await {
                Err(StoreError::Ambiguous(which)) => {
                    rejected.push(import::Reject::rejected(
                        optout.line,
                        format!("{},{}", optout.contact, optout.channel),
                        Some("contact"),
                        which,
                    ));
                    continue;
                }
                found => found?,
            };
            match found {
                Some(contact) => {
                    self.store
                        .set_optout(
                            contact.id,
                            optout.channel,
                            true,
                            optout.reason.as_deref(),
                            self.clock.now_ms(),
                        )
                        .await?;
                    applied += 1;
                }
                None => rejected.push(import::Reject::rejected(
                    optout.line,
                    format!("{},{}", optout.contact, optout.channel),
                    Some("contact"),
                    format!(
                        "no contact {:?} (by the export's id, e-mail, phone or Tocsin's id)",
                        optout.contact
                    ),
                )),
            }
        }
        let rejects_file = import::write_rejects(file, rejects, None, &rejected, separator)
            .map_err(|error| AppError::Refused(error.to_string()))?;
        Ok((applied, rejected.len(), rejects_file))
    }

    /// Opts a contact out of a channel (or back in); false when it already was.
    pub async fn optout(
        &self,
        contact: &str,
        channel: ChannelKind,
        opted_out: bool,
        reason: Option<&str>,
    ) -> Result<bool, AppError> {
        let found = self.find_contact(contact).await?;
        Ok(self
            .store
            .set_optout(found.id, channel, opted_out, reason, self.clock.now_ms())
            .await?)
    }

    /// Counts an audience by language and reachable channel. `specs` are read together, so
    /// `gps-of-affected` follows the `patients` given with it.
    pub async fn audience(&self, specs: &[String]) -> Result<Vec<AudienceSummary>, AppError> {
        let specs = specs
            .iter()
            .map(|spec| AudienceSpec::parse(spec))
            .collect::<Result<Vec<_>, _>>()?;
        self.audience_of(&specs).await
    }

    /// [`App::audience`] of specs already read, such as an update's planned audiences: the
    /// public followers that its `telegram` channel implies have no spelling in a file.
    pub async fn audience_of(
        &self,
        specs: &[AudienceSpec],
    ) -> Result<Vec<AudienceSummary>, AppError> {
        let tz = self.config.hospital.tz().map_err(AppError::Config)?;
        let mut summaries = Vec::new();
        for spec in specs {
            let selection = spec.selection(specs, tz);
            let mut summary = AudienceSummary {
                spec: spec.to_string(),
                ..AudienceSummary::default()
            };
            let mut after_id = 0;
            loop {
                let page = self.store.recipients(&selection, after_id, 2_000).await?;
                let Some(last) = page.last() else { break };
                after_id = last.contact.id;
                for recipient in &page {
                    let contact = &recipient.contact;
                    summary.contacts += 1;
                    *summary
                        .by_language
                        .entry(self.config.hospital.language_of(recipient))
                        .or_default() += 1;
                    let mut any = false;
                    for (channel, present) in [
                        ("mobile", contact.mobile.is_some()),
                        ("email", contact.email.is_some()),
                        ("telegram", contact.telegram_chat_id.is_some()),
                    ] {
                        if present {
                            any = true;
                            *summary.reachable.entry(channel.into()).or_default() += 1;
                        }
                    }
                    if !any {
                        *summary.reachable.entry("none".into()).or_default() += 1;
                    }
                }
            }
            summaries.push(summary);
        }
        Ok(summaries)
    }

    /// The channels the configuration describes.
    pub fn channels(&self) -> Result<HashMap<ChannelKind, Arc<dyn Channel>>, AppError> {
        let email = &self.config.email;
        let mail = MailBuilder::new(
            &email.from,
            email.reply_to.as_deref(),
            &email.message_id_domain,
        )
        .map_err(AppError::Config)?;
        let outbox = |dir: &Path, kind, mail| -> Result<Arc<dyn Channel>, AppError> {
            Ok(Arc::new(
                Outbox::new(dir.to_path_buf(), kind, mail).map_err(|source| AppError::Read {
                    path: dir.display().to_string(),
                    source,
                })?,
            ))
        };
        let email_channel: Arc<dyn Channel> = match email.transport {
            EmailTransport::Outbox => outbox(&email.dir, ChannelKind::Email, Some(mail))?,
            EmailTransport::Smtp => {
                let password = std::env::var("TOCSIN_SMTP_PASSWORD").ok();
                let target =
                    SmtpTarget::parse(&email.smtp_url, password).map_err(AppError::Config)?;
                Arc::new(SmtpChannel::new(
                    target,
                    mail,
                    email.connections,
                    Duration::from_secs(email.timeout_seconds),
                ))
            }
        };
        Ok(HashMap::from([
            (ChannelKind::Email, email_channel),
            (ChannelKind::Sms, self.sms_channel()?),
            (ChannelKind::Telegram, self.telegram_channel()?),
        ]))
    }

    /// Telegram to the outbox, or through the bot.
    fn telegram_channel(&self) -> Result<Arc<dyn Channel>, AppError> {
        use crate::channels::telegram::{TelegramChannel, TelegramTransport};
        let config = &self.config.telegram;
        match config.transport {
            TelegramTransport::Outbox => {
                let outbox = Outbox::new(config.dir.clone(), ChannelKind::Telegram, None).map_err(
                    |source| AppError::Read {
                        path: config.dir.display().to_string(),
                        source,
                    },
                )?;
                Ok(Arc::new(outbox))
            }
            TelegramTransport::Bot => Ok(Arc::new(
                TelegramChannel::from_config(config).map_err(AppError::Config)?,
            )),
        }
    }

    /// SMS to the outbox, or through the configured gateways in order.
    fn sms_channel(&self) -> Result<Arc<dyn Channel>, AppError> {
        use crate::channels::sms;
        use crate::config::SmsTransport;
        let config = &self.config.sms;
        if config.transport == SmsTransport::Outbox {
            let outbox =
                Outbox::new(config.dir.clone(), ChannelKind::Sms, None).map_err(|source| {
                    AppError::Read {
                        path: config.dir.display().to_string(),
                        source,
                    }
                })?;
            return Ok(Arc::new(outbox));
        }
        let breakers = StoredBreakers {
            store: Arc::clone(&self.store),
            clock: Arc::clone(&self.clock),
        };
        let receipt_secret = self.config.serve.receipt_secret();
        let slots = StoredSlots {
            store: Arc::clone(&self.store),
        };
        let channel = sms::build(config, receipt_secret.as_deref(), Arc::new(breakers))
            .map_err(AppError::Config)?
            .with_slots(Arc::new(slots));
        Ok(Arc::new(channel))
    }

    pub fn dispatcher(&self) -> Result<Dispatcher, AppError> {
        let dispatch = &self.config.dispatch;
        let settings = DispatchSettings {
            workers: dispatch.workers,
            claim_batch: dispatch.claim_batch,
            lease: Duration::from_secs(dispatch.lease_seconds),
            retry: RetryPolicy {
                max_attempts: dispatch.max_attempts,
                base: Duration::from_millis(dispatch.backoff_base_ms),
                max: Duration::from_millis(dispatch.backoff_max_ms),
            },
            outage_patience: Duration::from_secs(dispatch.outage_patience_minutes * 60),
            mass_rejection: dispatch.mass_rejection_guard,
        };
        Ok(Dispatcher::new(
            Arc::clone(&self.store),
            self.channels()?,
            settings,
            Arc::clone(&self.clock),
        )
        .with_sweep(Arc::new(self.fallback())))
    }

    /// The fallback sweep (`[policy.*] fallback`): the dispatcher runs it between steps,
    /// `tocsin serve` on every tick.
    pub fn fallback(&self) -> Fallback {
        Fallback::new(
            Arc::clone(&self.store),
            Arc::clone(&self.renderer),
            Arc::new(self.config.clone()),
            Arc::clone(&self.clock),
        )
    }

    /// Plans the update (once) and sends until every delivery is final, a channel stops, or
    /// someone halts it. Sending again lifts a pause: the person says its cause is fixed, and
    /// the deliveries held back are due again. `watch` is called with the dispatcher's tally
    /// and the number of deliveries open at the start.
    pub async fn send(
        &self,
        id: i64,
        watch: impl FnOnce(Arc<Tally>, u64),
    ) -> Result<SendReport, AppError> {
        let update = self.store.update(id).await?;
        match update.state {
            UpdateState::Draft => return Err(PlanError::NotApproved(id).into()),
            UpdateState::Halted | UpdateState::Discarded => {
                return Err(Refusal::NothingMoreSent {
                    id,
                    state: update.state,
                }
                .into())
            }
            UpdateState::Approved | UpdateState::Sending | UpdateState::Sent => {}
        }
        self.refuse_placeholders("send an update")?;
        let dispatcher = self.dispatcher()?;
        let report = plan(
            self.store.as_ref(),
            &self.renderer,
            &self.config,
            &update,
            self.clock.now_ms(),
        )
        .await?;
        // The run sweeps for fallbacks between its steps: none is planned before it starts.
        let starts = Moment::RunStarts {
            state: update.state,
            fallbacks: 0,
        };
        lifecycle::advance(self.store.as_ref(), id, starts, self.clock.now_ms()).await?;
        let resumed = self.store.resume_update(id, self.clock.now_ms()).await?;
        let open = self.store.backlog(id).await?.open;
        watch(dispatcher.tally(), open);
        let end = dispatcher.run(id).await?;
        let ended = Moment::RunEnded(&end);
        lifecycle::advance(self.store.as_ref(), id, ended, self.clock.now_ms()).await?;
        Ok(SendReport {
            plan: report,
            resumed,
            end,
        })
    }

    /// Sends again, at a person's request, the final deliveries `filter` chooses (and any a
    /// stopped run held back), then runs like `send`. Returns how many were chosen.
    pub async fn retry(
        &self,
        id: i64,
        filter: &RetryFilter,
        by: &str,
        watch: impl FnOnce(Arc<Tally>, u64),
    ) -> Result<(u64, SendReport), AppError> {
        let update = self.store.update(id).await?;
        if !matches!(update.state, UpdateState::Sending | UpdateState::Sent) {
            return Err(Refusal::RetryNotSent {
                id,
                state: update.state,
            }
            .into());
        }
        let chosen = self
            .store
            .retry_deliveries(id, filter, by.trim(), self.clock.now_ms())
            .await?;
        let report = self.send(id, watch).await?;
        Ok((chosen, report))
    }

    /// Stops a broadcast: what has not left is cancelled, a running `send` (in any process)
    /// stops within a fraction of a second, and `serve` does not resume it.
    pub async fn halt(&self, id: i64, by: &str) -> Result<u64, AppError> {
        let update = self.store.update(id).await?;
        if !matches!(
            update.state,
            UpdateState::Approved | UpdateState::Sending | UpdateState::Sent
        ) {
            return Err(Refusal::Halt {
                id,
                state: update.state,
            }
            .into());
        }
        Ok(self
            .store
            .halt_update(id, by.trim(), self.clock.now_ms())
            .await?)
    }

    /// A draft that will never be sent.
    pub async fn discard(&self, id: i64, by: &str) -> Result<(), AppError> {
        let update = self.store.update(id).await?;
        if update.state != UpdateState::Draft {
            return Err(Refusal::Discard {
                id,
                state: update.state,
            }
            .into());
        }
        Ok(self
            .store
            .discard_update(id, by.trim(), self.clock.now_ms())
            .await?)
    }

    /// Takes back an approval before the update is sent: it is a draft again.
    pub async fn revoke(&self, id: i64, by: &str) -> Result<(), AppError> {
        let update = self.store.update(id).await?;
        let planned = self.store.planned_at(id).await?.is_some();
        if update.state != UpdateState::Approved || planned {
            return Err(Refusal::Revoke {
                id,
                state: update.state,
                planned,
            }
            .into());
        }
        Ok(self
            .store
            .revoke_approval(id, by.trim(), self.clock.now_ms())
            .await?)
    }
}

/// Whom `update preview` shows.
#[derive(Debug, Clone, Copy)]
pub enum Sample<'a> {
    /// One contact: the export's id, e-mail address, phone number or Tocsin's id.
    Contact(&'a str),
    /// The first contact of each audience who is written to in this language.
    Language(Language),
    /// The first contact of each audience.
    First,
}

/// The limit on parts applies to what recipients get, not to the text as written: the
/// sender and each of the patient's appointments are added to it.
fn refuse_long_sms(file: &str, forecast: &Forecast, max: usize) -> Result<(), AppError> {
    let mut problems = Vec::new();
    for (language, sms) in &forecast.sms {
        let over = sms.over(max);
        let Some(longest) = sms.longest.as_ref().filter(|_| over > 0) else {
            continue;
        };
        problems.push(format!(
            "[{language}] sms: {over} of {} as rendered {} more than {}; the one to {} \
             (contact {}) takes {} parts in {}:\n    {}",
            count(sms.messages(), "SMS", "SMS"),
            if over == 1 { "takes" } else { "take" },
            count(max as u64, "part", "parts"),
            longest.external_id,
            longest.contact_id,
            longest.parts,
            longest.encoding.as_str(),
            longest.text
        ));
    }
    if problems.is_empty() {
        return Ok(());
    }
    Err(AppError::Refused(format!(
        "{file} was not stored: an SMS as recipients get it (with the sender and their own \
         appointments) is longer than [sms] max_segments = {max} allows.\n  {}\n\
         Shorten the sms text: each appointment adds a sentence of its own.",
        problems.join("\n  ")
    )))
}

/// Why a patients audience selects nobody, with the names the export does use.
fn suggest_places(
    filter: &PatientFilter,
    places: &[BookedPlace],
    locales: &Locales,
    tz: chrono_tz::Tz,
) -> String {
    if places.is_empty() {
        return "no booked appointment is imported: tocsin import appointments FILE".into();
    }
    let mut reasons = Vec::new();
    let campuses: Vec<&str> = places.iter().map(|place| place.campus.as_str()).collect();
    let departments: Vec<&str> = places
        .iter()
        .map(|place| place.department.as_str())
        .collect();
    for (what, kind, wanted, known) in [
        ("campus", NameKind::Campus, &filter.campus, campuses),
        (
            "department",
            NameKind::Department,
            &filter.department,
            departments,
        ),
    ] {
        let Some(wanted) = wanted else { continue };
        let mut known: Vec<&str> = known;
        known.sort_unstable_by_key(|name| name.to_lowercase());
        known.dedup_by(|a, b| a.eq_ignore_ascii_case(b));
        if known.iter().any(|name| name.eq_ignore_ascii_case(wanted)) {
            continue;
        }
        let spelled = |name: &str| format!("{what}={}", name.replace(' ', "_"));
        let listed = known
            .iter()
            .map(|name| spelled(name))
            .collect::<Vec<_>>()
            .join(", ");
        reasons.push(
            match known
                .iter()
                .find(|name| same_place(wanted, name, kind, locales))
            {
                Some(guess) => format!(
                    "no booked appointment has {what} {wanted:?}; did you mean {}? (the export \
                     has {listed})",
                    spelled(guess)
                ),
                None => {
                    format!("no booked appointment has {what} {wanted:?}; the export has {listed}")
                }
            },
        );
    }
    if reasons.is_empty() {
        let day = |ms: i64| {
            chrono::DateTime::from_timestamp_millis(ms)
                .map(|at| at.with_timezone(&tz).date_naive().to_string())
                .unwrap_or_default()
        };
        let first = places.iter().map(|place| place.first_ms).min();
        let last = places.iter().map(|place| place.last_ms).max();
        if let (Some(first), Some(last)) = (first, last) {
            reasons.push(format!(
                "no booked appointment meets all its conditions; booked appointments run from \
                 {} to {}",
                day(first),
                day(last)
            ));
        }
    }
    reasons.join("; ")
}

/// "Antwerp" for "Antwerpen", "cardiologie" for "cardiology": the same place under another
/// spelling or in another of our languages.
fn same_place(wanted: &str, known: &str, kind: NameKind, locales: &Locales) -> bool {
    let fold = |text: &str| {
        text.chars()
            .filter(|c| c.is_alphanumeric())
            .flat_map(char::to_lowercase)
            .collect::<String>()
    };
    let wanted = fold(wanted);
    let translations = Language::ALL
        .into_iter()
        .map(|language| fold(&locales.term(language, kind, known)));
    std::iter::once(fold(known))
        .chain(translations)
        .any(|name| {
            name == wanted
                || (wanted.len().min(name.len()) >= 4
                    && (name.starts_with(&wanted) || wanted.starts_with(&name)))
        })
}
