//! Turns an update into the text one contact receives on one channel: a Tera template per
//! channel and audience, filled with the update's text in the contact's language, their own
//! appointments, and fixed phrases and dates from the Fluent files.

mod cli;
mod locale;
mod trial;

pub use cli::{cli_language, CliText, UnknownCliLanguage};
pub use locale::{DateTexts, LocaleError, Locales, NameKind};

use crate::channels::telegram::link::{self, LinkKey};
use crate::config::{Hospital, PatientField};
use crate::domain::{
    AffectedPatient, Audience, ChannelKind, Language, Recipient, RenderedMessage, Update,
};
use crate::press::links;
use fluent_bundle::{FluentArgs, FluentValue};
use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use tera::{Context, Tera, Value};
use url::Url;

/// The templates compiled into the binary; a `templates_dir` in the configuration replaces
/// them file by file.
const BUILTIN_TEMPLATES: &[(&str, &str)] = &[
    (
        "email/base.html.tera",
        include_str!("../../templates/email/base.html.tera"),
    ),
    (
        "email/patients.html.tera",
        include_str!("../../templates/email/patients.html.tera"),
    ),
    (
        "email/patients.txt.tera",
        include_str!("../../templates/email/patients.txt.tera"),
    ),
    (
        "email/gps.html.tera",
        include_str!("../../templates/email/gps.html.tera"),
    ),
    (
        "email/gps.txt.tera",
        include_str!("../../templates/email/gps.txt.tera"),
    ),
    (
        "email/media.html.tera",
        include_str!("../../templates/email/media.html.tera"),
    ),
    (
        "email/media.txt.tera",
        include_str!("../../templates/email/media.txt.tera"),
    ),
    (
        "sms/patients.txt.tera",
        include_str!("../../templates/sms/patients.txt.tera"),
    ),
    (
        "sms/gps.txt.tera",
        include_str!("../../templates/sms/gps.txt.tera"),
    ),
    (
        "sms/media.txt.tera",
        include_str!("../../templates/sms/media.txt.tera"),
    ),
    (
        "telegram/patients.html.tera",
        include_str!("../../templates/telegram/patients.html.tera"),
    ),
    (
        "telegram/gps.html.tera",
        include_str!("../../templates/telegram/gps.html.tera"),
    ),
    (
        "telegram/media.html.tera",
        include_str!("../../templates/telegram/media.html.tera"),
    ),
    (
        "telegram/public.html.tera",
        include_str!("../../templates/telegram/public.html.tera"),
    ),
];

#[derive(Debug, thiserror::Error)]
pub enum RenderError {
    #[error(transparent)]
    Locale(#[from] LocaleError),
    #[error("template {name}: {message}")]
    Template { name: String, message: String },
    #[error("cannot read {path}: {source}")]
    Read {
        path: String,
        source: std::io::Error,
    },
    #[error("{path}: {what} is not a template Tocsin uses (they are {known})")]
    UnknownTemplate {
        path: String,
        what: String,
        known: String,
    },
    #[error("configuration: {0}")]
    Config(String),
}

fn template_error(name: &str, error: tera::Error) -> RenderError {
    // Tera hides the useful part of its errors in `source()`.
    let mut message = error.to_string();
    let mut source = std::error::Error::source(&error);
    while let Some(cause) = source {
        message.push_str(": ");
        message.push_str(&cause.to_string());
        source = cause.source();
    }
    RenderError::Template {
        name: name.to_string(),
        message,
    }
}

pub struct Renderer {
    /// One Tera per language, so that the `t()` function in a template speaks the
    /// language of the message it is rendering.
    teras: [Tera; 3],
    locales: Arc<Locales>,
    hospital: Hospital,
    /// The press room's address (`press::public_url`): every message links to its update's
    /// page and check page there.
    public_url: Url,
    /// What a GP's referral alert may say about each patient.
    gp_patient_fields: Vec<PatientField>,
    /// The templates of the `templates_dir` in use, by template name.
    template_overrides: Vec<(&'static str, PathBuf)>,
    /// SMS that the templates or phrases themselves turn into UCS-2.
    sms_not_gsm7: Vec<String>,
}

/// `{{ t(key="greeting-patients", name=contact.name) }}`: a Fluent message in this Tera's
/// language, with every other argument passed as a Fluent variable.
pub struct FluentFunction {
    locales: Arc<Locales>,
    language: Language,
}

impl FluentFunction {
    pub fn new(locales: Arc<Locales>, language: Language) -> FluentFunction {
        FluentFunction { locales, language }
    }
}

impl tera::Function for FluentFunction {
    fn call(&self, args: &HashMap<String, Value>) -> tera::Result<Value> {
        let key = args
            .get("key")
            .and_then(Value::as_str)
            .ok_or_else(|| tera::Error::msg("t() needs key=\"message-id\""))?;
        let mut fluent_args = FluentArgs::with_capacity(args.len());
        for (name, value) in args {
            if name == "key" {
                continue;
            }
            let value = match value {
                Value::String(text) => FluentValue::from(text.as_str()),
                Value::Number(number) => FluentValue::from(number.as_f64().unwrap_or_default()),
                other => FluentValue::from(other.to_string()),
            };
            fluent_args.set(name.as_str(), value);
        }
        self.locales
            .format(self.language, key, Some(&fluent_args))
            .map(Value::String)
            .map_err(|error| tera::Error::msg(error.to_string()))
    }

    fn is_safe(&self) -> bool {
        false
    }
}

/// A template's name and where it came from, for errors.
fn origin(overrides: &[(&str, PathBuf)], name: &str) -> String {
    match overrides.iter().find(|(overridden, _)| *overridden == name) {
        Some((_, path)) => format!("{name} ({})", path.display()),
        None => format!("{name} (built in)"),
    }
}

/// Every template of a `templates_dir` must be one of ours: a misspelt
/// `email/patient.txt.tera` would otherwise be ignored in silence.
fn refuse_unknown_templates(dir: &Path) -> Result<(), RenderError> {
    let mut folders = vec![dir.to_path_buf()];
    while let Some(folder) = folders.pop() {
        let entries = std::fs::read_dir(&folder).map_err(|source| RenderError::Read {
            path: folder.display().to_string(),
            source,
        })?;
        for entry in entries.flatten() {
            let path = entry.path();
            if entry.file_name().to_string_lossy().starts_with('.') {
                continue;
            }
            if path.is_dir() {
                folders.push(path);
                continue;
            }
            let name = path
                .strip_prefix(dir)
                .unwrap_or(&path)
                .to_string_lossy()
                .replace('\\', "/");
            if name.ends_with(".tera") && !BUILTIN_TEMPLATES.iter().any(|(known, _)| *known == name)
            {
                return Err(RenderError::UnknownTemplate {
                    path: dir.display().to_string(),
                    what: name,
                    known: BUILTIN_TEMPLATES
                        .iter()
                        .map(|(known, _)| *known)
                        .collect::<Vec<_>>()
                        .join(", "),
                });
            }
        }
    }
    Ok(())
}

impl Renderer {
    /// The built-in templates and phrases, or those of `templates_dir` and `locales_dir`
    /// file by file; everything is checked here, by rendering every template for every
    /// audience, language, channel and `appointments` value, so that a broken override
    /// stops Tocsin at start rather than in the middle of a broadcast.
    pub fn new(
        hospital: Hospital,
        public_url: Url,
        gp_patient_fields: Vec<PatientField>,
        templates_dir: Option<&Path>,
        locales_dir: Option<&Path>,
    ) -> Result<Renderer, RenderError> {
        let tz = hospital.tz().map_err(RenderError::Config)?;
        let locales = Arc::new(Locales::load(locales_dir, tz)?);
        if let Some(dir) = templates_dir {
            refuse_unknown_templates(dir)?;
        }
        let mut sources = Vec::with_capacity(BUILTIN_TEMPLATES.len());
        let mut template_overrides = Vec::new();
        for (name, builtin) in BUILTIN_TEMPLATES {
            let source = match templates_dir.map(|dir| dir.join(name)) {
                Some(path) if path.exists() => {
                    let text =
                        std::fs::read_to_string(&path).map_err(|source| RenderError::Read {
                            path: path.display().to_string(),
                            source,
                        })?;
                    template_overrides.push((*name, path));
                    text
                }
                _ => (*builtin).to_string(),
            };
            sources.push((*name, source));
        }
        let build = |language: Language| -> Result<Tera, RenderError> {
            let mut tera = Tera::default();
            tera.autoescape_on(vec![".html.tera"]);
            tera.register_function(
                "t",
                FluentFunction {
                    locales: Arc::clone(&locales),
                    language,
                },
            );
            // One by one, the base first, so that an error names its template.
            for (name, source) in &sources {
                tera.add_raw_template(name, source)
                    .map_err(|error| template_error(&origin(&template_overrides, name), error))?;
            }
            Ok(tera)
        };
        let mut renderer = Renderer {
            teras: [
                build(Language::Nl)?,
                build(Language::Fr)?,
                build(Language::En)?,
            ],
            locales,
            hospital,
            public_url,
            gp_patient_fields,
            template_overrides,
            sms_not_gsm7: Vec::new(),
        };
        renderer.sms_not_gsm7 =
            trial::render_everything(&renderer).map_err(|error| match error {
                RenderError::Template { name, message } => RenderError::Template {
                    name: origin(&renderer.template_overrides, &name),
                    message,
                },
                other => other,
            })?;
        Ok(renderer)
    }

    pub fn locales(&self) -> &Locales {
        &self.locales
    }

    /// The phrases, for another set of templates (the console's) to bind `t()` to.
    pub fn shared_locales(&self) -> Arc<Locales> {
        Arc::clone(&self.locales)
    }

    /// Which SMS the wording itself makes UCS-2, for `tocsin check` to warn of.
    pub fn sms_not_gsm7(&self) -> &[String] {
        &self.sms_not_gsm7
    }

    /// The files of the `templates_dir` and `locales_dir` in use instead of the built-in
    /// ones, for `tocsin check`.
    pub fn overrides(&self) -> Vec<PathBuf> {
        self.template_overrides
            .iter()
            .map(|(_, path)| path.clone())
            .chain(self.locales.overrides().iter().cloned())
            .collect()
    }

    /// Does the per-update work once, so that rendering for each recipient only adds what
    /// is theirs.
    pub fn prepare<'r>(&'r self, update: &Update) -> Result<Prepared<'r>, RenderError> {
        let at = chrono::DateTime::from_timestamp_millis(update.created_at_ms).unwrap_or_default();
        let outcome = update.appointments.as_str();
        let mut bases = Vec::with_capacity(3);
        let mut subjects = Vec::with_capacity(3);
        let mut what_to_do = Vec::with_capacity(3);
        let mut sections = Vec::with_capacity(3);
        for language in Language::ALL {
            let text = update.text(language);
            let when = self.locales.datetime(language, at)?.when;
            let page = links::update_page(&self.public_url, language, &update.reference);
            let check = links::check(&self.public_url, language, &update.reference);
            let phrases = self.phrases(language, outcome, &when, update.reference.as_str())?;
            let mut context = Context::new();
            context.insert("lang", language.code());
            context.insert("lang_tag", language.tag());
            context.insert("hospital", &self.hospital);
            context.insert(
                "update",
                &serde_json::json!({
                    "id": update.id,
                    "kind": update.kind.as_str(),
                    "appointments": outcome,
                    "title": text.title,
                    "body": text.body,
                    "paragraphs": paragraphs(&text.body),
                    "sms": text.sms,
                    "when": when,
                    "reference": update.reference.as_str(),
                    "url": page.as_str(),
                    "check_url": check.as_str(),
                }),
            );
            sections.push(self.release_section(language, update, &when, &page, &check, &phrases)?);
            context.insert("phrases", &phrases);
            let mut args = FluentArgs::new();
            args.set("hospital", FluentValue::from(self.hospital.name.as_str()));
            args.set("title", FluentValue::from(text.title.as_str()));
            subjects.push(
                self.locales
                    .format(language, "email-subject", Some(&args))?,
            );
            let key = format!("what-to-do-{outcome}");
            let count = |n: i64| {
                let mut args = FluentArgs::with_capacity(1);
                args.set("count", FluentValue::from(n));
                self.locales.format(language, &key, Some(&args))
            };
            what_to_do.push([count(1)?, count(2)?]);
            bases.push(context);
        }
        // The recipient's language first, then the others in their usual order.
        let releases = Language::ALL
            .into_iter()
            .map(|first| {
                let order = std::iter::once(first)
                    .chain(Language::ALL.into_iter().filter(|other| *other != first));
                Value::Array(
                    order
                        .map(|language| sections[language as usize].clone())
                        .collect(),
                )
            })
            .collect();
        Ok(Prepared {
            renderer: self,
            bases,
            subjects,
            what_to_do,
            releases,
            appointment_keys: [
                format!("appointment-{outcome}"),
                format!("sms-appointment-{outcome}"),
            ],
            invites: None,
        })
    }

    /// The fixed phrases that are the same for every recipient of an update in one language,
    /// formatted once instead of once per message (`{{ phrases.signature }}` in a template;
    /// `t()` still works for any other message of the Fluent files).
    /// Every phrase that speaks of appointments takes the update's `appointments` value
    /// (`outcome`): patients and their GPs must read the same thing.
    fn phrases(
        &self,
        language: Language,
        outcome: &str,
        when: &str,
        reference: &str,
    ) -> Result<HashMap<&'static str, String>, RenderError> {
        let hospital = &self.hospital;
        let phrase = |key: &str, args: &[(&str, &str)]| {
            let mut fluent_args = FluentArgs::with_capacity(args.len());
            for (name, value) in args {
                fluent_args.set(*name, FluentValue::from(*value));
            }
            self.locales.format(language, key, Some(&fluent_args))
        };
        let name = [("hospital", hospital.name.as_str())];
        let phone = [("phone", hospital.phone.as_str())];
        Ok(HashMap::from([
            (
                "questions",
                phrase(
                    "questions",
                    &[("phone", &hospital.phone), ("url", &hospital.website)],
                )?,
            ),
            ("signature", phrase("signature", &name)?),
            ("updated", phrase("email-updated", &[("when", when)])?),
            ("footer_patients", phrase("footer-patients", &name)?),
            ("footer_gps", phrase("footer-gps", &name)?),
            ("footer_media", phrase("footer-media", &name)?),
            (
                "sms_sender",
                phrase("sms-sender", &[("hospital", &hospital.short_name)])?,
            ),
            (
                "sms_what_to_do",
                phrase(&format!("sms-what-to-do-{outcome}"), &phone)?,
            ),
            ("sms_questions", phrase("sms-questions", &phone)?),
            (
                "sms_media_contact",
                phrase("sms-media-contact", &[("phone", &hospital.press_phone)])?,
            ),
            ("media_label", phrase("media-label", &[])?),
            (
                "media_contact",
                phrase(
                    "media-contact",
                    &[("phone", &hospital.press_phone), ("url", &hospital.website)],
                )?,
            ),
            ("gps_intro", phrase("gps-intro", &[])?),
            (
                "reference",
                phrase("press-reference", &[("reference", reference)])?,
            ),
            (
                "sms_reference",
                phrase("sms-reference", &[("reference", reference)])?,
            ),
            ("check", phrase("message-check", &[])?),
            ("page", phrase("message-page", &[])?),
            ("telegram_invite", phrase("telegram-invite", &[])?),
            ("sms_telegram_invite", phrase("sms-telegram-invite", &[])?),
            ("feeds", phrase("message-feeds", &[])?),
            ("release_languages", phrase("release-languages", &[])?),
            (
                "gps_affected_intro",
                phrase(&format!("gps-affected-intro-{outcome}"), &[])?,
            ),
        ]))
    }

    /// One language's part of the press release, wholly in that language: the media's
    /// e-mail gives all three (`release` in its templates), the reader's first.
    fn release_section(
        &self,
        language: Language,
        update: &Update,
        when: &str,
        page: &Url,
        check: &Url,
        phrases: &HashMap<&'static str, String>,
    ) -> Result<Value, RenderError> {
        let text = update.text(language);
        let heading = self.locales.format(language, "press-language-name", None)?;
        let feeds = links::feeds(&self.public_url, language)
            .into_iter()
            .map(|(name, url)| {
                let mut args = FluentArgs::with_capacity(2);
                args.set("feed", FluentValue::from(name));
                args.set("url", FluentValue::from(url.as_str()));
                let line = self.locales.format(language, "message-feed", Some(&args))?;
                Ok(serde_json::json!({ "name": name, "url": url.as_str(), "line": line }))
            })
            .collect::<Result<Vec<_>, RenderError>>()?;
        let phrase = |key: &str| phrases.get(key).cloned().unwrap_or_default();
        let section = serde_json::json!({
            "lang": language.code(),
            "lang_tag": language.tag(),
            "heading": heading,
            "underline": "=".repeat(heading.chars().count()),
            "title": text.title,
            "body": text.body,
            "paragraphs": paragraphs(&text.body),
            "when": when,
            "reference": update.reference.as_str(),
            "url": page.as_str(),
            "check_url": check.as_str(),
            "feeds": feeds,
            "phrases": {
                "updated": phrase("updated"),
                "reference": phrase("reference"),
                "check": phrase("check"),
                "page": phrase("page"),
                "feeds": phrase("feeds"),
            },
        });
        // A message is typeset as French only when its reader's language is French; the
        // French part of a Dutch or English one is typeset here.
        Ok(match language {
            Language::Fr => french_spaced(section),
            Language::Nl | Language::En => section,
        })
    }
}

pub struct Prepared<'r> {
    renderer: &'r Renderer,
    bases: Vec<Context>,
    subjects: Vec<String>,
    /// What a patient is to do, by language: for one appointment, for several.
    what_to_do: Vec<[String; 2]>,
    /// The Fluent message about one appointment: the full sentence, and the SMS's short one.
    appointment_keys: [String; 2],
    /// The press release's parts, by the reader's language: theirs first.
    releases: Vec<Value>,
    /// Personal links to follow on Telegram, when a bot is configured.
    invites: Option<Invites>,
}

/// What a personal Telegram link is made of (`[telegram] bot_username`): messages to
/// patients and GPs who do not follow on Telegram yet carry one, in their e-mail, and in
/// their SMS with `invite_in_sms`.
#[derive(Debug, Clone)]
pub struct Invites {
    pub key: LinkKey,
    /// Without `@`.
    pub bot: String,
    pub expires_at_ms: i64,
    pub in_sms: bool,
}

impl Invites {
    /// `https://t.me/<bot>?start=<token>`: the token binds the chat that opens it to the
    /// contact (`channels::telegram::link`).
    pub fn link(&self, contact_id: i64) -> String {
        format!(
            "https://t.me/{}?start={}",
            self.bot,
            link::issue(&self.key, contact_id, self.expires_at_ms)
        )
    }
}

/// One affected patient in a GP's alert, with only the fields the hospital allows.
#[derive(serde::Serialize)]
struct PatientView {
    name: Option<String>,
    initials: Option<String>,
    birth_date: Option<String>,
    appointment: Option<AppointmentView>,
    /// All allowed fields on one line, as the built-in templates print them.
    line: String,
}

#[derive(serde::Serialize)]
struct AppointmentView {
    /// "dinsdag 13 januari 2026 om 9.30 uur"
    when: String,
    /// "di 13/01 9u30"
    short: String,
    date: String,
    time: String,
    /// As the reader's language writes it in running text ("cardiologie", "Cardiology").
    department: String,
    /// "campus Deurne", "Antwerp campus".
    campus: String,
    /// The campus's name alone ("Anvers").
    campus_name: String,
    /// The sentence about this appointment in the form the channel uses: the SMS's short
    /// one, or the full one with the campus; for a GP, the facts on one line.
    line: String,
}

/// What a recipient's language and channel call for in the text.
#[derive(Clone, Copy)]
enum Sentence<'k> {
    Patient(&'k str),
    Gp,
}

impl Prepared<'_> {
    /// Messages rendered from now on offer the Telegram link to those who need it.
    pub fn with_invites(mut self, invites: Option<Invites>) -> Self {
        self.invites = invites;
        self
    }

    fn appointment(
        &self,
        language: Language,
        appointment: &crate::domain::Appointment,
        sentence: Sentence<'_>,
    ) -> Result<AppointmentView, RenderError> {
        let locales = &self.renderer.locales;
        let texts = locales.datetime(language, appointment.starts_at)?;
        let department = locales.term(language, NameKind::Department, &appointment.department);
        let campus_name = locales.term(language, NameKind::Campus, &appointment.campus);
        // An export that writes "Campus Noord" needs no second "campus".
        let campus = if campus_name.to_lowercase().contains("campus") {
            campus_name.clone()
        } else {
            let mut args = FluentArgs::with_capacity(1);
            args.set("campus", FluentValue::from(campus_name.as_str()));
            locales.format(language, "campus-name", Some(&args))?
        };
        let (key, when) = match sentence {
            Sentence::Patient(key) if key.starts_with("sms-") => (key, &texts.short),
            Sentence::Patient(key) => (key, &texts.when),
            Sentence::Gp => ("gp-patient-appointment", &texts.when),
        };
        let mut args = FluentArgs::with_capacity(3);
        args.set("when", FluentValue::from(when.as_str()));
        args.set("department", FluentValue::from(department.as_str()));
        args.set("campus", FluentValue::from(campus.as_str()));
        let line = locales.format(language, key, Some(&args))?;
        Ok(AppointmentView {
            when: texts.when,
            short: texts.short,
            date: texts.date,
            time: texts.time,
            department,
            campus,
            campus_name,
            line,
        })
    }

    fn patient(
        &self,
        language: Language,
        patient: &AffectedPatient,
    ) -> Result<PatientView, RenderError> {
        let fields = &self.renderer.gp_patient_fields;
        let allowed = |field| fields.contains(&field);
        let initial = |name: &str| {
            name.chars()
                .next()
                .map(|c| format!("{c}."))
                .unwrap_or_default()
        };
        let name = allowed(PatientField::Name)
            .then(|| format!("{} {}", patient.last_name, patient.first_name));
        let initials = allowed(PatientField::Initials).then(|| {
            format!(
                "{}{}",
                initial(&patient.first_name),
                initial(&patient.last_name)
            )
        });
        let birth_date = allowed(PatientField::BirthDate)
            .then(|| {
                patient
                    .birth_date
                    .map(|date| date.format("%d/%m/%Y").to_string())
            })
            .flatten();
        let appointment = allowed(PatientField::Appointment)
            .then(|| self.appointment(language, &patient.appointment, Sentence::Gp))
            .transpose()?;
        let mut parts = Vec::new();
        parts.extend(name.clone().or_else(|| initials.clone()));
        if let Some(date) = &birth_date {
            let mut args = FluentArgs::with_capacity(1);
            args.set("date", FluentValue::from(date.as_str()));
            let born = self
                .renderer
                .locales
                .format(language, "gp-patient-born", Some(&args))?;
            parts.push(format!("({born})"));
        }
        let mut line = parts.join(" ");
        if let Some(appointment) = &appointment {
            if !line.is_empty() {
                line.push_str(" – ");
            }
            line.push_str(&appointment.line);
        }
        Ok(PatientView {
            name,
            initials,
            birth_date,
            appointment,
            line,
        })
    }

    pub fn render(
        &self,
        channel: ChannelKind,
        audience: Audience,
        language: Language,
        recipient: &Recipient,
    ) -> Result<RenderedMessage, RenderError> {
        let contact = &recipient.contact;
        let locales = &self.renderer.locales;
        let mut context = self.bases[language as usize].clone();
        let name = contact.full_name();
        // A public follower is a chat, not a person Tocsin knows by name.
        let greeting = if name.trim().is_empty() || audience == Audience::Public {
            locales.format(language, "greeting-unnamed", None)?
        } else {
            let mut args = FluentArgs::with_capacity(1);
            args.set("name", FluentValue::from(name.as_str()));
            locales.format(
                language,
                &format!("greeting-{}", audience.as_str()),
                Some(&args),
            )?
        };
        context.insert("greeting", &greeting);
        context.insert(
            "contact",
            &serde_json::json!({
                "name": name,
                "first_name": contact.first_name,
                "last_name": contact.last_name,
                "organisation": contact.organisation,
            }),
        );
        let sentence = match channel {
            ChannelKind::Sms => &self.appointment_keys[1],
            ChannelKind::Email | ChannelKind::Telegram => &self.appointment_keys[0],
        };
        let appointments = recipient
            .appointments
            .iter()
            .map(|appointment| self.appointment(language, appointment, Sentence::Patient(sentence)))
            .collect::<Result<Vec<_>, _>>()?;
        let [one, several] = &self.what_to_do[language as usize];
        context.insert(
            "what_to_do",
            if appointments.len() > 1 { several } else { one },
        );
        context.insert("appointments", &appointments);
        let patients = recipient
            .affected_patients
            .iter()
            .map(|patient| self.patient(language, patient))
            .collect::<Result<Vec<_>, _>>()?;
        context.insert("patients", &patients);
        if audience == Audience::Media {
            context.insert("release", &self.releases[language as usize]);
        }
        let invite = self.invites.as_ref().filter(|invites| {
            matches!(audience, Audience::Patients | Audience::Gps)
                && contact.telegram_chat_id.is_none()
                && match channel {
                    ChannelKind::Email => true,
                    ChannelKind::Sms => invites.in_sms,
                    ChannelKind::Telegram => false,
                }
        });
        context.insert(
            "telegram_invite",
            &invite.map(|invites| invites.link(contact.id)),
        );
        let tera = &self.renderer.teras[language as usize];
        let render = |name: String| {
            tera.render(&name, &context)
                .map_err(|error| template_error(&name, error))
        };
        // French sets : ; ? ! apart with a space that must not break the line; an SMS keeps
        // the plain space, the non-breaking one is not GSM-7.
        let typeset = |text: String| match language {
            Language::Fr => french_spacing(&text),
            Language::Nl | Language::En => text,
        };
        let audience = audience.as_str();
        Ok(match channel {
            ChannelKind::Email => RenderedMessage {
                subject: Some(typeset(self.subjects[language as usize].clone())),
                body: typeset(tidy_text(&render(format!("email/{audience}.txt.tera"))?)),
                body_html: Some(typeset(render(format!("email/{audience}.html.tera"))?)),
            },
            ChannelKind::Sms => RenderedMessage {
                subject: None,
                body: one_line(&render(format!("sms/{audience}.txt.tera"))?),
                body_html: None,
            },
            ChannelKind::Telegram => RenderedMessage {
                subject: None,
                body: typeset(tidy_text(&render(format!(
                    "telegram/{audience}.html.tera"
                ))?)),
                body_html: None,
            },
        })
    }
}

/// "Questions ?" → "Questions\u{a0}?": the space French writes before `:` `;` `?` `!` (and
/// inside « »), made non-breaking.
pub(crate) fn french_spacing(text: &str) -> String {
    let mut out = String::with_capacity(text.len() + 8);
    let mut chars = text.chars().peekable();
    while let Some(c) = chars.next() {
        let before_mark = c == ' ' && matches!(chars.peek(), Some(':' | ';' | '?' | '!' | '»'));
        let after_quote = c == ' ' && out.ends_with('«');
        out.push(if before_mark || after_quote {
            '\u{a0}'
        } else {
            c
        });
    }
    out
}

/// [`french_spacing`] on every text of a template value.
fn french_spaced(value: Value) -> Value {
    match value {
        Value::String(text) => Value::String(french_spacing(&text)),
        Value::Array(items) => Value::Array(items.into_iter().map(french_spaced).collect()),
        Value::Object(fields) => Value::Object(
            fields
                .into_iter()
                .map(|(key, value)| (key, french_spaced(value)))
                .collect(),
        ),
        other => other,
    }
}

pub(crate) fn paragraphs(body: &str) -> Vec<String> {
    body.split("\n\n")
        .map(|paragraph| paragraph.trim().replace('\n', " "))
        .filter(|paragraph| !paragraph.is_empty())
        .collect()
}

/// Templates are easier to read with loose blank lines; messages are not.
fn tidy_text(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut blank_run = 0;
    for line in text.trim().lines() {
        let line = line.trim_end();
        if line.is_empty() {
            blank_run += 1;
            if blank_run > 1 {
                continue;
            }
        } else {
            blank_run = 0;
        }
        out.push_str(line);
        out.push('\n');
    }
    // The signature separator is "-- " with its space, by convention (RFC 3676).
    out.replace("\n--\n", "\n-- \n")
}

/// An SMS is one paragraph: every run of white space becomes one space.
fn one_line(text: &str) -> String {
    text.split_whitespace().collect::<Vec<_>>().join(" ")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::channels::sms::gsm;
    use crate::domain::{
        Appointment, AppointmentOutcome, AppointmentStatus, Contact, Role, UpdateKind, UpdateState,
        UpdateText,
    };
    use chrono::TimeZone;

    fn update() -> Update {
        let text = |title: &str, body: &str, sms: &str| UpdateText {
            title: title.into(),
            body: body.into(),
            sms: sms.into(),
        };
        Update {
            id: 1,
            reference: crate::domain::PublicReference::from_stored("ZNA-20260113-7JQ4".into()),
            incident_id: "cyber".into(),
            kind: UpdateKind::Alert,
            follows: None,
            audiences: vec![crate::domain::AudienceSpec::parse("patients").expect("valid")],
            channels: vec![ChannelKind::Email, ChannelKind::Sms],
            appointments: AppointmentOutcome::Cancelled,
            state: UpdateState::Approved,
            author: "a".into(),
            approved_by: Some("b".into()),
            approved_at_ms: Some(1_768_300_100_000),
            created_at_ms: 1_768_300_000_000,
            cap: crate::domain::CapFields::default(),
            paused: None,
            send_at_ms: None,
            nl: text(
                "Cyberaanval",
                "Alle operaties <script>alert(1)</script> zijn geannuleerd.",
                "Door een cyberaanval zijn alle operaties geannuleerd.",
            ),
            fr: text(
                "Cyberattaque",
                "Toutes les opérations sont annulées.",
                "En raison d'une cyberattaque, les opérations sont annulées.",
            ),
            en: text(
                "Cyberattack",
                "All operations are cancelled.",
                "Due to a cyberattack, all operations are cancelled.",
            ),
        }
    }

    fn public_url() -> Url {
        Url::parse("https://status.example.be/").expect("url")
    }

    fn patient() -> Recipient {
        let contact = Contact {
            id: 7,
            external_id: "P7".into(),
            role: Role::Patient,
            first_name: "An".into(),
            last_name: "Peeters".into(),
            language: Some("nl-BE".into()),
            mobile: Some("+32471123456".into()),
            phone: None,
            email: Some("an@example.be".into()),
            telegram_chat_id: None,
            telegram_language: None,
            organisation: None,
            birth_date: None,
            opted_out: vec![],
        };
        let appointment = Appointment {
            external_id: "A1".into(),
            starts_at: chrono::Utc
                .with_ymd_and_hms(2026, 1, 13, 8, 30, 0)
                .single()
                .expect("valid"),
            campus: "Deurne".into(),
            department: "cardiology".into(),
            practitioner: None,
            status: AppointmentStatus::Booked,
        };
        Recipient {
            contact,
            appointments: vec![appointment],
            affected_patients: vec![],
            patients_by_language: vec![],
        }
    }

    #[test]
    fn a_patient_sms_names_their_own_appointment_in_their_language() {
        let renderer =
            Renderer::new(Hospital::default(), public_url(), vec![], None, None).expect("renderer");
        let update = update();
        let prepared = renderer.prepare(&update).expect("prepared");
        let recipient = patient();
        let render = |language| {
            prepared
                .render(ChannelKind::Sms, Audience::Patients, language, &recipient)
                .expect("renders")
                .body
        };
        assert_eq!(
            render(Language::Nl),
            "ZNA: Door een cyberaanval zijn alle operaties geannuleerd. Uw afspraak van \
             di 13/01 9u30 (cardiologie) gaat niet door. Kom niet naar het ziekenhuis. \
             Vragen? Bel +32 3 000 00 00. Ref. ZNA-20260113-7JQ4"
        );
        assert_eq!(
            render(Language::Fr),
            "ZNA : En raison d'une cyberattaque, les opérations sont annulées. Votre \
             rendez-vous du mar. 13/01 à 9h30 (cardiologie) est annulé. Ne vous déplacez pas. \
             Questions ? Appelez le +32 3 000 00 00. Réf. ZNA-20260113-7JQ4"
        );
        assert_eq!(
            render(Language::En),
            "ZNA: Due to a cyberattack, all operations are cancelled. Your appointment on \
             Tue 13/01 9:30 (Cardiology) has been cancelled. Please do not come. Questions? \
             Call +32 3 000 00 00. Ref. ZNA-20260113-7JQ4"
        );
        assert!(
            gsm::is_gsm7(&render(Language::Fr)),
            "the French SMS stays GSM-7"
        );
    }

    #[test]
    fn the_spokespersons_text_cannot_inject_markup_into_html() {
        let renderer =
            Renderer::new(Hospital::default(), public_url(), vec![], None, None).expect("renderer");
        let update = update();
        let prepared = renderer.prepare(&update).expect("prepared");
        let email = prepared
            .render(
                ChannelKind::Email,
                Audience::Patients,
                Language::Nl,
                &patient(),
            )
            .expect("renders");
        let html = email.body_html.expect("html part");
        assert!(!html.contains("<script>"), "{html}");
        assert!(html.contains("&lt;script&gt;"));
        assert!(html.contains("<html lang=\"nl-BE\">"));
        assert!(
            email.body.contains("<script>"),
            "plain text keeps the text as written"
        );
        assert_eq!(
            email.subject.as_deref(),
            Some("Ziekenhuis Noord-Antwerpen – Cyberaanval")
        );
        assert!(email.body.contains(
            "Uw afspraak van dinsdag 13 januari 2026 om 9.30 uur bij de dienst cardiologie \
             (campus Deurne) gaat niet door."
        ));
    }

    /// What each value of `appointments` must read like, by a word only its phrases use.
    fn wording(language: Language, outcome: AppointmentOutcome) -> &'static str {
        use AppointmentOutcome::*;
        match (language, outcome) {
            (Language::Nl, Cancelled) => "niet door",
            (Language::Nl, Postponed) => "uitgesteld",
            (Language::Nl, AsPlanned) => "zoals gepland",
            (Language::Fr, Cancelled) => "annulé",
            (Language::Fr, Postponed) => "reporté",
            (Language::Fr, AsPlanned) => "maintenu",
            (Language::En, Cancelled) => "cancelled",
            (Language::En, Postponed) => "postponed",
            (Language::En, AsPlanned) => "as planned",
        }
    }

    #[test]
    fn every_audience_reads_the_appointments_value_of_the_update_on_every_channel() {
        let renderer = Renderer::new(
            Hospital::default(),
            public_url(),
            vec![PatientField::Name, PatientField::Appointment],
            None,
            None,
        )
        .expect("renderer");
        let patient = patient();
        let person = |role: Role| someone_else(&patient, role);
        let mut gp_of_affected = person(Role::Gp);
        gp_of_affected.affected_patients = vec![AffectedPatient {
            first_name: "An".into(),
            last_name: "Peeters".into(),
            birth_date: None,
            appointment: patient.appointments[0].clone(),
        }];
        let any_gp = person(Role::Gp);
        let journalist = person(Role::Journalist);
        // Each recipient, and whether its message speaks of appointments at all on a channel.
        let recipients = [
            ("patients", Audience::Patients, &patient, true),
            ("gps-of-affected", Audience::Gps, &gp_of_affected, true),
            ("all-gps", Audience::Gps, &any_gp, false),
            ("media", Audience::Media, &journalist, false),
        ];
        let outcomes = [
            AppointmentOutcome::Cancelled,
            AppointmentOutcome::Postponed,
            AppointmentOutcome::AsPlanned,
        ];
        let neutral = |text: &str| UpdateText {
            title: text.into(),
            body: text.into(),
            sms: text.into(),
        };
        let mut checked = 0;
        for outcome in outcomes {
            let mut update = update();
            update.appointments = outcome;
            update.nl = neutral("Bericht.");
            update.fr = neutral("Message.");
            update.en = neutral("Notice.");
            let prepared = renderer.prepare(&update).expect("prepared");
            for language in Language::ALL {
                for (name, audience, recipient, about_appointments) in &recipients {
                    for channel in [ChannelKind::Email, ChannelKind::Sms, ChannelKind::Telegram] {
                        let rendered = prepared
                            .render(channel, *audience, language, recipient)
                            .expect("renders");
                        let text = format!(
                            "{}\n{}\n{}",
                            rendered.subject.unwrap_or_default(),
                            rendered.body,
                            rendered.body_html.unwrap_or_default()
                        )
                        .to_lowercase();
                        let case =
                            format!("{name} × {} × {language} × {channel}", outcome.as_str());
                        for other in outcomes.into_iter().filter(|other| *other != outcome) {
                            assert!(
                                !text.contains(wording(language, other)),
                                "{case} says {:?}:\n{text}",
                                wording(language, other)
                            );
                        }
                        // A GP's SMS carries the spokesperson's text only.
                        let speaks = *about_appointments
                            && !(*audience == Audience::Gps && channel == ChannelKind::Sms);
                        if speaks {
                            assert!(
                                text.contains(wording(language, outcome)),
                                "{case} does not say {:?}:\n{text}",
                                wording(language, outcome)
                            );
                        }
                        checked += 1;
                    }
                }
            }
        }
        assert_eq!(checked, 3 * 3 * 4 * 3);
    }

    /// The example update's texts, as `update draft` reads them.
    fn example(outcome: AppointmentOutcome) -> Update {
        let draft = crate::author::parse_draft(
            "examples/01-first-alert.toml",
            include_str!("../../examples/01-first-alert.toml"),
            None,
            crate::author::DraftOptions::default(),
        )
        .expect("the example parses");
        let mut update = update();
        update.appointments = outcome;
        update.nl = draft.update.nl;
        update.fr = draft.update.fr;
        update.en = draft.update.en;
        update
    }

    /// "Ziekenhuis: Cyberaanval: …": two colons that introduce, one after the other, in one
    /// sentence.
    fn stacked_colon(text: &str) -> Option<&str> {
        text.split(['.', '?', '!', '\n', '<', '>'])
            .find(|sentence| {
                sentence
                    .match_indices(':')
                    .filter(|(at, _)| {
                        sentence[at + 1..]
                            .chars()
                            .next()
                            .is_none_or(|next| next == ' ' || next == '\u{a0}')
                    })
                    .count()
                    > 1
            })
    }

    /// A French `:` `;` `?` `!` that ends a clause without the space before it that French
    /// wants: a plain one in an SMS (GSM-7 has no other), a non-breaking one elsewhere.
    fn french_mark_without_space(text: &str, sms: bool) -> Option<String> {
        let chars: Vec<char> = text.chars().collect();
        for (at, c) in chars.iter().enumerate() {
            if !matches!(c, ':' | ';' | '?' | '!') || at == 0 {
                continue;
            }
            let ends_clause = chars
                .get(at + 1)
                .is_none_or(|next| next.is_whitespace() || *next == '<');
            let before = chars[at - 1];
            let spaced = if sms {
                before == ' '
            } else {
                before == '\u{a0}' || before == '\u{202f}'
            };
            if ends_clause && !spaced && before != '"' {
                let from = at.saturating_sub(30);
                return Some(chars[from..(at + 1).min(chars.len())].iter().collect());
            }
        }
        None
    }

    /// What French typography applies to in a message to a reader of `language`: all of it
    /// for a French reader, but the parts of a press release in the other languages; the
    /// French part alone for any other reader.
    fn french_parts(language: Language, message: &str) -> Vec<String> {
        let mut french = String::new();
        let mut rest = String::new();
        let mut lines = message.lines().peekable();
        let mut inside: Option<Language> = None;
        while let Some(line) = lines.next() {
            if line.starts_with("<section lang=") {
                inside = Language::ALL
                    .into_iter()
                    .find(|part| line.starts_with(&format!("<section lang=\"{}\"", part.tag())));
            }
            let heading = Language::ALL.into_iter().find(|part| {
                let name = part_heading(*part);
                line == name && lines.peek() == Some(&"=".repeat(name.chars().count()).as_str())
            });
            if heading.is_some() {
                inside = heading;
            }
            match inside {
                Some(Language::Fr) => {
                    french.push_str(line);
                    french.push('\n');
                }
                Some(_) => {}
                None => {
                    rest.push_str(line);
                    rest.push('\n');
                }
            }
            // A text part ends with its feeds, CAP's last; an HTML part with its section.
            if line.starts_with("- CAP") || line.ends_with("</section>") {
                inside = None;
            }
        }
        let mut parts = vec![french];
        if language == Language::Fr {
            parts.push(rest);
        }
        parts
    }

    fn part_heading(language: Language) -> &'static str {
        match language {
            Language::Nl => "Nederlands",
            Language::Fr => "Français",
            Language::En => "English",
        }
    }

    #[test]
    fn every_message_reads_as_a_native_belgian_would_for_every_audience_language_outcome_and_channel(
    ) {
        let hospital = Hospital::default();
        let renderer = Renderer::new(
            hospital.clone(),
            public_url(),
            vec![
                PatientField::Name,
                PatientField::BirthDate,
                PatientField::Appointment,
            ],
            None,
            None,
        )
        .expect("renderer");
        let patient = patient();
        let person = |role: Role| someone_else(&patient, role);
        let mut gp_of_affected = person(Role::Gp);
        gp_of_affected.contact.first_name = "Jan".into();
        gp_of_affected.contact.last_name = "Wouters".into();
        gp_of_affected.affected_patients = vec![AffectedPatient {
            first_name: "An".into(),
            last_name: "Peeters".into(),
            birth_date: chrono::NaiveDate::from_ymd_opt(1980, 2, 1),
            appointment: patient.appointments[0].clone(),
        }];
        let all_gps = person(Role::Gp);
        let mut journalist = person(Role::Journalist);
        journalist.contact.first_name = "Jean".into();
        journalist.contact.last_name = "Dubois".into();
        let recipients = [
            ("patients", Audience::Patients, &patient),
            ("gps-of-affected", Audience::Gps, &gp_of_affected),
            ("all-gps", Audience::Gps, &all_gps),
            ("media", Audience::Media, &journalist),
        ];
        // Phrasings a native reading found, which must not come back.
        let stumbles = [
            "Madame, Monsieur An",
            "Madame, Monsieur Jean",
            "Cher·e",
            "danger de mort",
            "09h30",
            "09:30",
            " le 1733",
            "Bij deze patiënten van u",
            "Geachte collega Wouters",
            "huisartsenwachtpost",
            "Bericht van",
            "These patients of yours",
            "You need not",
            "You receive this message",
            "Message of",
            "Message du",
            "Cardiologie",
            "Oogheelkunde",
        ];
        let mut checked = 0;
        for outcome in [
            AppointmentOutcome::Cancelled,
            AppointmentOutcome::Postponed,
            AppointmentOutcome::AsPlanned,
        ] {
            let update = example(outcome);
            let prepared = renderer.prepare(&update).expect("prepared");
            for language in Language::ALL {
                for (name, audience, recipient) in &recipients {
                    for channel in [ChannelKind::Email, ChannelKind::Sms, ChannelKind::Telegram] {
                        let rendered = prepared
                            .render(channel, *audience, language, recipient)
                            .expect("renders");
                        let case =
                            format!("{name} × {language} × {} × {channel}", outcome.as_str());
                        let sms = channel == ChannelKind::Sms;
                        let subject = rendered.subject.clone().unwrap_or_default();
                        let html = rendered.body_html.clone().unwrap_or_default();
                        let all = format!("{subject}\n{}\n{html}", rendered.body);
                        for part in [&subject, &rendered.body, &html] {
                            assert_eq!(stacked_colon(part), None, "{case}:\n{part}");
                            for french in french_parts(language, part) {
                                assert_eq!(
                                    french_mark_without_space(&french, sms),
                                    None,
                                    "{case}:\n{part}"
                                );
                            }
                        }
                        for stumble in stumbles {
                            assert!(!all.contains(stumble), "{case} says {stumble:?}:\n{all}");
                        }
                        if sms {
                            assert!(gsm::is_gsm7(&rendered.body), "{case}: {}", rendered.body);
                        } else {
                            assert!(all.contains(&hospital.name), "{case}");
                        }
                        if *audience == Audience::Media {
                            assert!(all.contains(&hospital.press_phone), "{case}:\n{all}");
                            assert!(!all.contains(&hospital.phone), "{case}:\n{all}");
                        }
                        checked += 1;
                    }
                }
            }
        }
        assert_eq!(checked, 3 * 3 * 4 * 3);

        // What each reader must find, in the case that calls for it.
        let read = |outcome, channel, audience, language, recipient: &Recipient| {
            let update = example(outcome);
            let prepared = renderer.prepare(&update).expect("prepared");
            let rendered = prepared
                .render(channel, audience, language, recipient)
                .expect("renders");
            format!(
                "{}\n{}",
                rendered.subject.unwrap_or_default(),
                rendered.body
            )
        };
        use AppointmentOutcome::{AsPlanned, Cancelled, Postponed};
        use ChannelKind::{Email, Sms};
        type Expectation<'a> = (
            AppointmentOutcome,
            ChannelKind,
            Audience,
            Language,
            &'a Recipient,
            &'a [&'a str],
        );
        let expectations: &[Expectation] = &[
            (Cancelled, Email, Audience::Patients, Language::Fr, &patient, &[
                "Madame, Monsieur,\n",
                "du mardi 13 janvier 2026 à 9h30 en cardiologie (campus Deurne) est annulé",
                "le service de garde de médecine générale au 1733",
                "En cas d'urgence vitale, appelez le 112.",
                "Vous n'avez aucune démarche à faire\u{a0}: nous",
                "Envoyé le ",
            ]),
            (Postponed, Email, Audience::Patients, Language::Fr, &patient, &[
                "le service de garde de médecine générale au 1733",
                "est reporté",
            ]),
            (Cancelled, Email, Audience::Gps, Language::Fr, &gp_of_affected, &[
                "Chère Consœur, cher Confrère,",
                "Les rendez-vous suivants de vos patients sont annulés\u{a0}:",
                "Peeters An (°01/02/1980) – mardi 13 janvier 2026 à 9h30, cardiologie, campus Deurne",
            ]),
            (Cancelled, Email, Audience::Media, Language::Fr, &journalist, &[
                "COMMUNIQUÉ DE PRESSE",
                "Madame, Monsieur,\n",
                "Contact presse\u{a0}: +32 3 000 00 01",
            ]),
            (Cancelled, Email, Audience::Patients, Language::Nl, &patient, &[
                "Beste An Peeters,",
                "Uw afspraak van dinsdag 13 januari 2026 om 9.30 uur bij de dienst cardiologie (campus Deurne) gaat niet door.",
                "de huisartsenwachtdienst op 1733",
                "Verzonden op dinsdag 13 januari 2026",
            ]),
            (Cancelled, Email, Audience::Gps, Language::Nl, &gp_of_affected, &[
                "Geachte collega,\n",
                "De volgende afspraken van uw patiënten gaan niet door:",
                "Peeters An (°01/02/1980) – dinsdag 13 januari 2026 om 9.30 uur, cardiologie, campus Deurne",
            ]),
            (Cancelled, Email, Audience::Patients, Language::En, &patient, &[
                "Your appointment on Tuesday 13 January 2026 at 9:30 in Cardiology (Deurne campus) has been cancelled.",
                "You do not need to do anything",
                "You are receiving this message",
                "Sent on Tuesday 13 January 2026",
            ]),
            (Cancelled, Email, Audience::Gps, Language::En, &gp_of_affected, &[
                "Dear Colleague,",
                "The following appointments of your patients have been cancelled:",
                "Peeters An (born 01/02/1980) – Tuesday 13 January 2026 at 9:30, Cardiology, Deurne campus",
            ]),
            (Cancelled, Sms, Audience::Patients, Language::Nl, &patient, &[
                "di 13/01 9u30 (cardiologie) gaat niet door. Kom niet naar het ziekenhuis. Vragen? Bel +32 3 000 00 00",
            ]),
            (Postponed, Sms, Audience::Patients, Language::Fr, &patient, &[
                "mar. 13/01 à 9h30 (cardiologie) est reporté. Ne vous déplacez pas, nous vous recontacterons",
                "Questions ? Appelez le +32 3 000 00 00",
            ]),
            (AsPlanned, Sms, Audience::Patients, Language::En, &patient, &[
                "Tue 13/01 9:30 (Cardiology) will go ahead. Please come as planned. Questions? Call +32 3 000 00 00",
            ]),
            (Cancelled, Sms, Audience::Media, Language::Nl, &journalist, &["Pers: +32 3 000 00 01"]),
        ];
        for (outcome, channel, audience, language, recipient, phrases) in expectations {
            let text = read(*outcome, *channel, *audience, *language, recipient);
            for phrase in *phrases {
                assert!(
                    text.contains(phrase),
                    "{} {channel} to {} in {language} lacks {phrase:?}:\n{text}",
                    outcome.as_str(),
                    audience.as_str()
                );
            }
        }
        // One appointment or several: "this appointment", "these appointments".
        let mut two = patient.clone();
        two.appointments.push(two.appointments[0].clone());
        assert!(
            read(Cancelled, Email, Audience::Patients, Language::En, &two)
                .contains("Please do not come to the hospital for these appointments.")
        );
        assert!(
            read(Cancelled, Email, Audience::Patients, Language::En, &patient)
                .contains("Please do not come to the hospital for this appointment.")
        );
        let mut unnamed = journalist.clone();
        unnamed.contact.first_name.clear();
        unnamed.contact.last_name.clear();
        assert!(
            read(Cancelled, Email, Audience::Media, Language::Nl, &unnamed)
                .contains("Geachte mevrouw, geachte heer,")
        );
    }

    /// A patient (with an appointment), a GP and a journalist, each in the audience whose
    /// templates they get.
    fn everyone() -> [(Audience, Recipient); 3] {
        let patient = patient();
        [
            (Audience::Patients, patient.clone()),
            (Audience::Gps, someone_else(&patient, Role::Gp)),
            (Audience::Media, someone_else(&patient, Role::Journalist)),
        ]
    }

    /// The patient's contact details under another role, with no appointments of their own.
    fn someone_else(patient: &Recipient, role: Role) -> Recipient {
        let mut contact = patient.contact.clone();
        contact.role = role;
        Recipient {
            contact,
            appointments: vec![],
            affected_patients: vec![],
            patients_by_language: vec![],
        }
    }

    /// What the renderer gives `url` as in an HTML attribute or text: Tera escapes `/`.
    fn escaped(url: &str) -> String {
        tera::escape_html(url)
    }

    #[test]
    fn every_message_on_every_channel_audience_and_language_carries_its_public_reference() {
        let renderer =
            Renderer::new(Hospital::default(), public_url(), vec![], None, None).expect("renderer");
        let update = example(AppointmentOutcome::Cancelled);
        let prepared = renderer.prepare(&update).expect("prepared");
        let reference = "ZNA-20260113-7JQ4";
        let mut checked = 0;
        for language in Language::ALL {
            let check_url = format!(
                "https://status.example.be/{}/check.html?ref={reference}",
                language.code()
            );
            let check_phrase = match language {
                Language::Nl => "Controleer of dit bericht van ons komt: ",
                Language::Fr => "Vérifiez que ce message vient bien de nous\u{a0}: ",
                Language::En => "Check that this message comes from us: ",
            };
            for (audience, recipient) in everyone() {
                for channel in [ChannelKind::Email, ChannelKind::Sms, ChannelKind::Telegram] {
                    let case = format!("{} × {language} × {channel}", audience.as_str());
                    let rendered = prepared
                        .render(channel, audience, language, &recipient)
                        .expect("renders");
                    match channel {
                        ChannelKind::Sms => {
                            let sms_reference = match language {
                                Language::Fr => format!(" Réf. {reference}"),
                                Language::Nl | Language::En => format!(" Ref. {reference}"),
                            };
                            assert!(
                                rendered.body.ends_with(&sms_reference),
                                "{case}: {}",
                                rendered.body
                            );
                            assert!(gsm::is_gsm7(&rendered.body), "{case}: {}", rendered.body);
                        }
                        ChannelKind::Email => {
                            let text = &rendered.body;
                            assert!(
                                text.contains(&format!("{check_phrase}{check_url}\n")),
                                "{case}:\n{text}"
                            );
                            let html = rendered.body_html.expect("an HTML part");
                            assert!(
                                html.contains(&format!(
                                    "{check_phrase}<a href=\"{}\"",
                                    escaped(&check_url)
                                )),
                                "{case}:\n{html}"
                            );
                            assert!(html.contains(reference), "{case}:\n{html}");
                        }
                        ChannelKind::Telegram => {
                            let text = &rendered.body;
                            assert!(
                                text.contains(&format!(
                                    "{check_phrase}<a href=\"{url}\">{url}</a>",
                                    url = escaped(&check_url)
                                )),
                                "{case}:\n{text}"
                            );
                            let reference_line = match language {
                                Language::Nl => format!("Referentie: {reference}"),
                                Language::Fr => format!("Référence\u{a0}: {reference}"),
                                Language::En => format!("Reference: {reference}"),
                            };
                            assert!(text.contains(&reference_line), "{case}:\n{text}");
                        }
                    }
                    checked += 1;
                }
            }
        }
        assert_eq!(checked, 3 * 3 * 3);
    }

    #[test]
    fn the_press_release_gives_all_three_languages_the_readers_first_each_under_its_heading() {
        let renderer =
            Renderer::new(Hospital::default(), public_url(), vec![], None, None).expect("renderer");
        let update = example(AppointmentOutcome::Cancelled);
        let prepared = renderer.prepare(&update).expect("prepared");
        let [.., (_, journalist)] = everyone();
        for reader in Language::ALL {
            let email = prepared
                .render(ChannelKind::Email, Audience::Media, reader, &journalist)
                .expect("renders");
            let text = &email.body;
            let html = email.body_html.as_deref().expect("an HTML part");
            assert_eq!(
                email.subject.as_deref(),
                Some(
                    format!("Ziekenhuis Noord-Antwerpen – {}", update.text(reader).title)
                        .replace(" :", "\u{a0}:")
                        .as_str()
                )
            );
            assert!(
                html.starts_with(&format!(
                    "<!DOCTYPE html>\n<html lang=\"{}\">",
                    reader.tag()
                )),
                "{html}"
            );
            let order: Vec<Language> = std::iter::once(reader)
                .chain(Language::ALL.into_iter().filter(|other| *other != reader))
                .collect();
            let heading_at = |language: Language| {
                let name = part_heading(language);
                let heading = format!("\n{name}\n{}\n", "=".repeat(name.chars().count()));
                text.find(&heading)
                    .unwrap_or_else(|| panic!("{reader}: no heading {name:?}:\n{text}"))
            };
            let section_at = |language: Language| {
                html.find(&format!("<section lang=\"{}\"", language.tag()))
                    .unwrap_or_else(|| panic!("{reader}: no {language} section:\n{html}"))
            };
            let starts: Vec<usize> = order.iter().map(|language| heading_at(*language)).collect();
            assert!(
                starts.is_sorted(),
                "{reader}: {order:?} at {starts:?}:\n{text}"
            );
            let sections: Vec<usize> = order.iter().map(|language| section_at(*language)).collect();
            assert!(sections.is_sorted(), "{reader}: {order:?}:\n{html}");
            assert_eq!(html.matches("<section lang=").count(), 3);
            assert_eq!(html.matches("</section>").count(), 3);

            for (n, language) in order.iter().enumerate() {
                let typeset = |line: String| match language {
                    Language::Fr => french_spacing(&line),
                    Language::Nl | Language::En => line,
                };
                let part = &text[starts[n]..starts.get(n + 1).copied().unwrap_or(text.len())];
                let html_part = &html[sections[n]..];
                let html_part = &html_part[..html_part.find("</section>").expect("closed")];
                let own = update.text(*language);
                let lang = language.code();
                let page = format!("https://status.example.be/{lang}/ZNA-20260113-7JQ4.html");
                let check =
                    format!("https://status.example.be/{lang}/check.html?ref=ZNA-20260113-7JQ4");
                let (reference, read, verify, follow) = match language {
                    Language::Nl => (
                        "Referentie: ZNA-20260113-7JQ4",
                        "Lees dit bericht online: ",
                        "Controleer of dit bericht van ons komt: ",
                        "Volg onze berichten:",
                    ),
                    Language::Fr => (
                        "Référence\u{a0}: ZNA-20260113-7JQ4",
                        "Lire ce message en ligne\u{a0}: ",
                        "Vérifiez que ce message vient bien de nous\u{a0}: ",
                        "Suivez nos communications\u{a0}:",
                    ),
                    Language::En => (
                        "Reference: ZNA-20260113-7JQ4",
                        "Read this message online: ",
                        "Check that this message comes from us: ",
                        "Follow our updates:",
                    ),
                };
                let mut lines = vec![
                    typeset(own.title.clone()),
                    typeset(own.body.trim().to_string()),
                    reference.to_string(),
                    format!("{read}{page}\n"),
                    format!("{verify}{check}\n"),
                    format!("{follow}\n"),
                ];
                let colon = if *language == Language::Fr {
                    "\u{a0}:"
                } else {
                    ":"
                };
                for (feed, path) in [
                    ("Atom", format!("{lang}/atom.xml")),
                    ("RSS", format!("{lang}/rss.xml")),
                    ("JSON Feed", format!("{lang}/feed.json")),
                    ("CAP", "cap/index.atom".to_string()),
                ] {
                    lines.push(format!(
                        "- {feed}{colon} https://status.example.be/{path}\n"
                    ));
                }
                for line in &lines {
                    assert!(
                        part.contains(line.as_str()),
                        "{reader}: the {language} part lacks {line:?}:\n{part}"
                    );
                }
                assert!(
                    html_part.contains(&format!(
                        "{read}<a href=\"{url}\" style=\"color:#b00020;\">{url}</a>",
                        url = escaped(&page)
                    )),
                    "{reader}: {language}:\n{html_part}"
                );
                assert!(
                    html_part.contains(&format!("{verify}<a href=\"{}\"", escaped(&check))),
                    "{reader}: {language}:\n{html_part}"
                );
                assert!(html_part.contains(&format!(
                    "<h2 style=\"font-size:14px;letter-spacing:1px;color:#555555;margin:16px 0 0 0;\">{}</h2>",
                    part_heading(*language)
                )));
                let title = escaped(&typeset(own.title.clone()));
                assert!(
                    html_part.contains(&format!(">{title}</h3>")),
                    "{reader}: {language}:\n{html_part}"
                );
            }
            let intro = match reader {
                Language::Nl => {
                    "U leest dit persbericht hieronder in het Nederlands, het Frans en het Engels."
                }
                Language::Fr => {
                    "Ce communiqué figure ci-dessous en français, en néerlandais et en anglais."
                }
                Language::En => "This press release is given below in English, Dutch and French.",
            };
            assert!(
                text.contains(intro) && html.contains(intro),
                "{reader}:\n{text}"
            );
            // The rest of the message is the reader's.
            let contact = match reader {
                Language::Nl => "Perscontact: +32 3 000 00 01",
                Language::Fr => "Contact presse\u{a0}: +32 3 000 00 01",
                Language::En => "Press contact: +32 3 000 00 01",
            };
            assert!(text[starts[2]..].contains(contact), "{reader}:\n{text}");
            assert!(
                text.find(contact) > starts.last().copied(),
                "{reader}:\n{text}"
            );

            // Telegram's press release stays in the reader's language, with its page.
            let telegram = prepared
                .render(ChannelKind::Telegram, Audience::Media, reader, &journalist)
                .expect("renders")
                .body;
            let page = escaped(&format!(
                "https://status.example.be/{}/ZNA-20260113-7JQ4.html",
                reader.code()
            ));
            assert!(
                telegram.contains(&format!("<a href=\"{page}\">{page}</a>")),
                "{telegram}"
            );
            for other in Language::ALL.into_iter().filter(|other| *other != reader) {
                assert!(!telegram.contains(&update.text(other).title), "{telegram}");
            }
        }
    }

    /// The tags of an HTML text, and its text with the entities Tera writes read back.
    /// Panics on a `<` that does not open a tag.
    fn tags_and_text(html: &str) -> (Vec<String>, String) {
        let mut tags = Vec::new();
        let mut text = String::new();
        let mut rest = html;
        while let Some(open) = rest.find('<') {
            text.push_str(&rest[..open]);
            let close = rest[open..].find('>').expect("every < opens a tag") + open;
            let tag = &rest[open + 1..close];
            assert!(!tag.contains('<'), "a < inside a tag: {tag}");
            let name = tag
                .trim_start_matches('/')
                .split([' ', '\n'])
                .next()
                .unwrap_or_default()
                .to_lowercase();
            tags.push(name);
            rest = &rest[close + 1..];
        }
        text.push_str(rest);
        let text = text
            .replace("&lt;", "<")
            .replace("&gt;", ">")
            .replace("&quot;", "\"")
            .replace("&#x27;", "'")
            .replace("&#x2F;", "/")
            .replace("&amp;", "&");
        (tags, text)
    }

    #[test]
    fn a_nasty_title_and_text_come_out_escaped_in_every_html_part_and_as_written_in_plain_text() {
        let renderer =
            Renderer::new(Hospital::default(), public_url(), vec![], None, None).expect("renderer");
        let nasty = |language: &str| UpdateText {
            title: format!("<script>alert('{language}')</script> & ]]> {{{{ 7 * 7 }}}} 🚑"),
            body: format!(
                "<b onclick=\"x()\">{language}</b> & co ]]> {{% raw %}} {{{{ update.sms }}}} \
                 😷 \u{200F}مستشفى\u{200F}\n\n<!-- --> &amp; <i>second</i>"
            ),
            sms: "Plain SMS text.".into(),
        };
        let mut update = update();
        update.nl = nasty("nl");
        update.fr = nasty("fr");
        update.en = nasty("en");
        let prepared = renderer.prepare(&update).expect("prepared");
        let document_tags = [
            "!doctype", "html", "head", "meta", "title", "body", "div", "strong", "h1", "h2", "h3",
            "p", "span", "br", "a", "hr", "section", "ul", "li",
        ];
        for language in Language::ALL {
            for (audience, recipient) in everyone() {
                let case = format!("{} × {language}", audience.as_str());
                let own = update.text(language);
                // Every text of the message: the media's holds all three languages.
                let texts: Vec<&UpdateText> = if audience == Audience::Media {
                    Language::ALL
                        .iter()
                        .map(|other| update.text(*other))
                        .collect()
                } else {
                    vec![own]
                };
                let typeset = |line: &str| match language {
                    Language::Fr => french_spacing(line),
                    Language::Nl | Language::En => line.to_string(),
                };
                let email = prepared
                    .render(ChannelKind::Email, audience, language, &recipient)
                    .expect("renders");
                assert_eq!(
                    email.subject.as_deref(),
                    Some(typeset(&format!("Ziekenhuis Noord-Antwerpen – {}", own.title)).as_str()),
                    "{case}"
                );
                let html = email.body_html.as_deref().expect("an HTML part");
                let (tags, shown) = tags_and_text(html);
                for tag in &tags {
                    assert!(
                        document_tags.contains(&tag.as_str()),
                        "{case}: <{tag}>:\n{html}"
                    );
                }
                assert!(!html.contains("]]>") && !html.contains("<script"), "{case}");
                for text in &texts {
                    for paragraph in paragraphs(&text.body) {
                        assert!(shown.contains(&typeset(&paragraph)), "{case}:\n{shown}");
                        assert!(email.body.contains(&typeset(&paragraph)), "{case}");
                    }
                    assert!(shown.contains(&typeset(&text.title)), "{case}:\n{shown}");
                    assert!(
                        email.body.contains(&typeset(&text.title)) || audience != Audience::Media
                    );
                }
                assert!(
                    !shown.contains("49") && !shown.contains("Plain SMS"),
                    "{case}"
                );

                let telegram = prepared
                    .render(ChannelKind::Telegram, audience, language, &recipient)
                    .expect("renders")
                    .body;
                let (tags, shown) = tags_and_text(&telegram);
                for tag in &tags {
                    // What Telegram's HTML mode knows.
                    assert!(
                        ["b", "i", "a"].contains(&tag.as_str()),
                        "{case}: <{tag}>:\n{telegram}"
                    );
                }
                assert!(shown.contains(&typeset(&own.title)), "{case}:\n{shown}");
                assert!(shown.contains(&typeset(&own.body)), "{case}:\n{shown}");
            }
        }
    }

    fn templates_dir(files: &[(&str, &str)]) -> tempfile::TempDir {
        let dir = tempfile::tempdir().expect("temp dir");
        for (name, text) in files {
            let path = dir.path().join(name);
            std::fs::create_dir_all(path.parent().expect("parent")).expect("mkdir");
            std::fs::write(path, text).expect("write");
        }
        dir
    }

    #[test]
    fn a_templates_dir_replaces_the_templates_it_holds_and_leaves_the_others_built_in() {
        let dir = templates_dir(&[(
            "sms/patients.txt.tera",
            "{{ hospital.short_name }}: {{ update.sms }}{% for a in appointments %} {{ a.short }}{% endfor %}",
        )]);
        let renderer = Renderer::new(
            Hospital::default(),
            public_url(),
            vec![],
            Some(dir.path()),
            None,
        )
        .expect("renderer");
        assert_eq!(
            renderer.overrides(),
            [dir.path().join("sms/patients.txt.tera")]
        );
        let update = update();
        let prepared = renderer.prepare(&update).expect("prepared");
        let recipient = patient();
        let sms = prepared
            .render(
                ChannelKind::Sms,
                Audience::Patients,
                Language::Nl,
                &recipient,
            )
            .expect("renders");
        assert_eq!(
            sms.body,
            "ZNA: Door een cyberaanval zijn alle operaties geannuleerd. di 13/01 9u30"
        );
        let email = prepared
            .render(
                ChannelKind::Email,
                Audience::Patients,
                Language::Nl,
                &recipient,
            )
            .expect("renders");
        assert!(
            email.body.contains("bij de dienst cardiologie"),
            "{}",
            email.body
        );
    }

    #[test]
    fn a_broken_template_is_refused_at_start_with_its_file_and_the_reason() {
        let refused = |files: &[(&str, &str)]| {
            let dir = templates_dir(files);
            let error = Renderer::new(
                Hospital::default(),
                public_url(),
                vec![],
                Some(dir.path()),
                None,
            )
            .err()
            .expect("refused")
            .to_string();
            (dir, error)
        };
        let (dir, error) = refused(&[(
            "email/patients.txt.tera",
            "{{ greeting }}\n{{ appointment.when }}\n",
        )]);
        let file = dir
            .path()
            .join("email/patients.txt.tera")
            .display()
            .to_string();
        assert!(error.contains(&file), "{error}");
        assert!(error.contains("appointment"), "{error}");

        let (_, error) = refused(&[("telegram/media.html.tera", "{% if update.title %}")]);
        assert!(error.contains("telegram/media.html.tera"), "{error}");

        let (_, error) = refused(&[("sms/gps.txt.tera", "{{ t(key=\"no-such-phrase\") }}")]);
        assert!(
            error.contains("sms/gps.txt.tera") && error.contains("no-such-phrase"),
            "{error}"
        );

        let (_, error) = refused(&[("email/patient.txt.tera", "{{ greeting }}")]);
        assert!(
            error.contains("email/patient.txt.tera is not a template Tocsin uses"),
            "{error}"
        );
    }
}
