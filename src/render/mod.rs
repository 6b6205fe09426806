//! Turns an update into the text one contact receives on one channel: a Tera template per
//! channel and audience, filled with the update's text in the contact's language, their own
//! appointments, and fixed phrases and dates from the Fluent files.

mod locale;
pub mod sms;

pub use locale::{DateTexts, LocaleError, Locales};

use crate::config::{Hospital, PatientField};
use crate::domain::{AffectedPatient, Audience, ChannelKind, Language, Recipient, Update};
use fluent_bundle::{FluentArgs, FluentValue};
use std::collections::HashMap;
use std::path::Path;
use std::sync::Arc;
use tera::{Context, Tera, Value};

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
];

#[derive(Debug, thiserror::Error)]
pub enum RenderError {
    #[error(transparent)]
    Locale(#[from] LocaleError),
    #[error("template {name}: {message}")]
    Template { name: String, message: String },
    #[error("cannot read template {path}: {source}")]
    Read {
        path: String,
        source: std::io::Error,
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

/// What one contact receives on one channel.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rendered {
    pub subject: Option<String>,
    /// Plain text: the SMS, the e-mail's text part, or Telegram's HTML.
    pub body: String,
    /// The e-mail's HTML part.
    pub body_html: Option<String>,
}

pub struct Renderer {
    /// One Tera per language, so that the `t()` function in a template speaks the
    /// language of the message it is rendering.
    teras: [Tera; 3],
    locales: Arc<Locales>,
    hospital: Hospital,
    /// What a GP's referral alert may say about each patient.
    gp_patient_fields: Vec<PatientField>,
}

/// `{{ t(key="greeting-patients", name=contact.name) }}`: a Fluent message in this Tera's
/// language, with every other argument passed as a Fluent variable.
struct FluentFunction {
    locales: Arc<Locales>,
    language: Language,
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

impl Renderer {
    pub fn new(
        hospital: Hospital,
        gp_patient_fields: Vec<PatientField>,
        templates_dir: Option<&Path>,
        locales_dir: Option<&Path>,
    ) -> Result<Renderer, RenderError> {
        let tz = hospital.tz().map_err(RenderError::Config)?;
        let locales = Arc::new(Locales::load(locales_dir, tz)?);
        let mut sources = Vec::with_capacity(BUILTIN_TEMPLATES.len());
        for (name, builtin) in BUILTIN_TEMPLATES {
            let source = match templates_dir.map(|dir| dir.join(name)) {
                Some(path) if path.exists() => {
                    std::fs::read_to_string(&path).map_err(|source| RenderError::Read {
                        path: path.display().to_string(),
                        source,
                    })?
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
            tera.add_raw_templates(
                sources
                    .iter()
                    .map(|(name, source)| (*name, source.as_str())),
            )
            .map_err(|error| template_error("(loading)", error))?;
            Ok(tera)
        };
        Ok(Renderer {
            teras: [
                build(Language::Nl)?,
                build(Language::Fr)?,
                build(Language::En)?,
            ],
            locales,
            hospital,
            gp_patient_fields,
        })
    }

    pub fn locales(&self) -> &Locales {
        &self.locales
    }

    /// Does the per-update work once, so that rendering for each recipient only adds what
    /// is theirs.
    pub fn prepare<'r>(&'r self, update: &Update) -> Result<Prepared<'r>, RenderError> {
        let at = chrono::DateTime::from_timestamp_millis(update.created_at_ms).unwrap_or_default();
        let outcome = update.appointments.as_str();
        let mut bases = Vec::with_capacity(3);
        let mut subjects = Vec::with_capacity(3);
        for language in Language::ALL {
            let text = update.text(language);
            let when = self.locales.datetime(language, at)?.when;
            let mut context = Context::new();
            context.insert("lang", language.code());
            context.insert("lang_tag", language.tag());
            context.insert("hospital", &self.hospital);
            context.insert(
                "update",
                &serde_json::json!({
                    "id": update.id,
                    "kind": update.kind.as_str(),
                    "title": text.title,
                    "body": text.body,
                    "paragraphs": paragraphs(&text.body),
                    "sms": text.sms,
                    "when": when,
                }),
            );
            context.insert("appointment_key", &format!("appointment-{outcome}"));
            context.insert("sms_appointment_key", &format!("sms-appointment-{outcome}"));
            context.insert("what_to_do_key", &format!("what-to-do-{outcome}"));
            context.insert("phrases", &self.phrases(language, outcome, &when)?);
            let mut args = FluentArgs::new();
            args.set("hospital", FluentValue::from(self.hospital.name.as_str()));
            args.set("title", FluentValue::from(text.title.as_str()));
            subjects.push(
                self.locales
                    .format(language, "email-subject", Some(&args))?,
            );
            bases.push(context);
        }
        Ok(Prepared {
            renderer: self,
            bases,
            subjects,
            appointment_keys: [
                format!("appointment-{outcome}"),
                format!("sms-appointment-{outcome}"),
            ],
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
        Ok(HashMap::from([
            ("what_to_do", phrase(&format!("what-to-do-{outcome}"), &[])?),
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
            ("media_label", phrase("media-label", &[])?),
            (
                "media_contact",
                phrase("media-contact", &[("phone", &hospital.press_phone)])?,
            ),
            ("gps_intro", phrase("gps-intro", &[])?),
            (
                "gps_affected_intro",
                phrase(&format!("gps-affected-intro-{outcome}"), &[])?,
            ),
        ]))
    }
}

pub struct Prepared<'r> {
    renderer: &'r Renderer,
    bases: Vec<Context>,
    subjects: Vec<String>,
    /// The Fluent message about one appointment: the full sentence, and the SMS's short one.
    appointment_keys: [String; 2],
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
    when: String,
    date: String,
    time: String,
    department: String,
    campus: String,
    /// The sentence about this appointment in the form the channel uses: the SMS's short
    /// one, or the full one with the campus.
    line: String,
}

impl Prepared<'_> {
    fn appointment(
        &self,
        language: Language,
        appointment: &crate::domain::Appointment,
        sentence: Option<&str>,
    ) -> Result<AppointmentView, RenderError> {
        let locales = &self.renderer.locales;
        let texts = locales.datetime(language, appointment.starts_at)?;
        let department = locales.term(language, "dept", &appointment.department);
        let campus = locales.term(language, "campus", &appointment.campus);
        let line = match sentence {
            Some(key) => {
                let mut args = FluentArgs::with_capacity(3);
                args.set("when", FluentValue::from(texts.when.as_str()));
                args.set("department", FluentValue::from(department.as_str()));
                args.set("campus", FluentValue::from(campus.as_str()));
                locales.format(language, key, Some(&args))?
            }
            None => String::new(),
        };
        Ok(AppointmentView {
            when: texts.when,
            date: texts.date,
            time: texts.time,
            department,
            campus,
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
            .then(|| self.appointment(language, &patient.appointment, None))
            .transpose()?;
        let mut parts = Vec::new();
        parts.extend(name.clone().or_else(|| initials.clone()));
        if let Some(date) = &birth_date {
            parts.push(format!("(°{date})"));
        }
        let mut line = parts.join(" ");
        if let Some(appointment) = &appointment {
            if !line.is_empty() {
                line.push_str(" – ");
            }
            line.push_str(&format!(
                "{}, {}, {}",
                appointment.when, appointment.department, appointment.campus
            ));
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
    ) -> Result<Rendered, RenderError> {
        let contact = &recipient.contact;
        let locales = &self.renderer.locales;
        let mut context = self.bases[language as usize].clone();
        let name = contact.full_name();
        let mut args = FluentArgs::with_capacity(1);
        args.set("name", FluentValue::from(name.as_str()));
        let greeting = locales.format(
            language,
            &format!("greeting-{}", audience.as_str()),
            Some(&args),
        )?;
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
            .map(|appointment| self.appointment(language, appointment, Some(sentence)))
            .collect::<Result<Vec<_>, _>>()?;
        context.insert("appointments", &appointments);
        let patients = recipient
            .affected_patients
            .iter()
            .map(|patient| self.patient(language, patient))
            .collect::<Result<Vec<_>, _>>()?;
        context.insert("patients", &patients);
        let tera = &self.renderer.teras[language as usize];
        let render = |name: String| {
            tera.render(&name, &context)
                .map_err(|error| template_error(&name, error))
        };
        let audience = audience.as_str();
        Ok(match channel {
            ChannelKind::Email => Rendered {
                subject: Some(self.subjects[language as usize].clone()),
                body: tidy_text(&render(format!("email/{audience}.txt.tera"))?),
                body_html: Some(render(format!("email/{audience}.html.tera"))?),
            },
            ChannelKind::Sms => Rendered {
                subject: None,
                body: one_line(&render(format!("sms/{audience}.txt.tera"))?),
                body_html: None,
            },
            ChannelKind::Telegram => Rendered {
                subject: None,
                body: tidy_text(&render(format!("telegram/{audience}.html.tera"))?),
                body_html: None,
            },
        })
    }
}

fn paragraphs(body: &str) -> Vec<String> {
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
            incident_id: "cyber".into(),
            kind: UpdateKind::Alert,
            follows: None,
            audiences: vec![crate::domain::AudienceSpec::parse("patients").expect("valid")],
            channels: vec![ChannelKind::Email, ChannelKind::Sms],
            appointments: AppointmentOutcome::Cancelled,
            state: UpdateState::Approved,
            author: "a".into(),
            approved_by: Some("b".into()),
            created_at_ms: 1_768_300_000_000,
            paused: None,
            nl: text(
                "Cyberaanval",
                "Alle operaties <script>alert(1)</script> zijn geannuleerd.",
                "Door een cyberaanval zijn alle operaties geannuleerd.",
            ),
            fr: text(
                "Cyberattaque",
                "Toutes les opérations sont annulées.",
                "Suite a une cyberattaque, les operations sont annulees.",
            ),
            en: text(
                "Cyberattack",
                "All operations are cancelled.",
                "Due to a cyberattack, all operations are cancelled.",
            ),
        }
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
        }
    }

    #[test]
    fn a_patient_sms_names_their_own_appointment_in_their_language() {
        let renderer = Renderer::new(Hospital::default(), vec![], None, None).expect("renderer");
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
            "ZNA: Door een cyberaanval zijn alle operaties geannuleerd. Uw afspraak op \
             dinsdag 13 januari 2026 om 09:30, Cardiologie, gaat niet door."
        );
        assert_eq!(
            render(Language::Fr),
            "ZNA : Suite a une cyberattaque, les operations sont annulees. Votre rendez-vous du \
             mardi 13 janvier 2026 à 09h30, cardiologie, est annulé."
        );
        assert!(
            sms::is_gsm7(&render(Language::Fr)),
            "the French SMS stays GSM-7"
        );
    }

    #[test]
    fn the_spokespersons_text_cannot_inject_markup_into_html() {
        let renderer = Renderer::new(Hospital::default(), vec![], None, None).expect("renderer");
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
            Some("Ziekenhuis Noord-Antwerpen: Cyberaanval")
        );
        assert!(email.body.contains(
            "Uw afspraak van dinsdag 13 januari 2026 om 09:30 bij Cardiologie (campus Deurne) gaat niet door."
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
            vec![PatientField::Name, PatientField::Appointment],
            None,
            None,
        )
        .expect("renderer");
        let patient = patient();
        let person = |role: Role| {
            let mut contact = patient.contact.clone();
            contact.role = role;
            Recipient {
                contact,
                appointments: vec![],
                affected_patients: vec![],
            }
        };
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
}
