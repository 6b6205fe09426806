//! Fixed phrases and date formats from the Fluent files under `locales/<lang>/`, and the
//! department and campus names of `locales/names.toml`.

use crate::domain::Language;
use chrono::{DateTime, Utc};
use chrono_tz::Tz;
use fluent_bundle::concurrent::FluentBundle;
use fluent_bundle::{FluentArgs, FluentResource, FluentValue};
use serde::Deserialize;
use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::path::{Path, PathBuf};

/// The Fluent files compiled into the binary, so a clean laptop needs nothing beside it.
const BUILTIN: [(Language, &str); 3] = [
    (Language::Nl, include_str!("../../locales/nl/messages.ftl")),
    (Language::Fr, include_str!("../../locales/fr/messages.ftl")),
    (Language::En, include_str!("../../locales/en/messages.ftl")),
];

const BUILTIN_NAMES: &str = include_str!("../../locales/names.toml");

/// Every message Tocsin formats itself, with the variables it gives it. Each must exist in
/// all three languages and use no other variable: checking at start-up turns a missing
/// translation or a misspelt `{ $phon }` into a refusal to run rather than a blank line in a
/// patient's SMS.
pub(crate) const CATALOGUE: &[(&str, &[&str])] = &[
    ("date-format", &[]),
    ("time-format", &[]),
    ("datetime", &["date", "time"]),
    ("sms-date-format", &[]),
    ("sms-time-format", &[]),
    ("sms-datetime", &["date", "time"]),
    ("email-subject", &["hospital", "title"]),
    ("email-updated", &["when"]),
    ("greeting-patients", &["name"]),
    ("greeting-gps", &["name"]),
    ("greeting-media", &["name"]),
    ("greeting-unnamed", &[]),
    ("appointment-cancelled", &["when", "department", "campus"]),
    ("appointment-postponed", &["when", "department", "campus"]),
    ("appointment-as-planned", &["when", "department", "campus"]),
    ("campus-name", &["campus"]),
    ("what-to-do-cancelled", &["count"]),
    ("what-to-do-postponed", &["count"]),
    ("what-to-do-as-planned", &["count"]),
    ("sms-sender", &["hospital"]),
    ("sms-appointment-cancelled", &["when", "department"]),
    ("sms-appointment-postponed", &["when", "department"]),
    ("sms-appointment-as-planned", &["when", "department"]),
    ("sms-what-to-do-cancelled", &["phone"]),
    ("sms-what-to-do-postponed", &["phone"]),
    ("sms-what-to-do-as-planned", &["phone"]),
    ("sms-questions", &["phone"]),
    ("sms-media-contact", &["phone"]),
    ("gps-intro", &[]),
    ("gps-affected-intro-cancelled", &[]),
    ("gps-affected-intro-postponed", &[]),
    ("gps-affected-intro-as-planned", &[]),
    ("gp-patient-appointment", &["when", "department", "campus"]),
    ("gp-patient-born", &["date"]),
    ("media-label", &[]),
    ("media-contact", &["phone", "url"]),
    ("questions", &["phone", "url"]),
    ("signature", &["hospital"]),
    ("footer-patients", &["hospital"]),
    ("footer-gps", &["hospital"]),
    ("footer-media", &["hospital"]),
    ("press-title", &["hospital"]),
    ("press-kind-alert", &[]),
    ("press-kind-update", &[]),
    ("press-kind-cancel", &[]),
    ("press-kind-allclear", &[]),
    ("press-withdrawn", &[]),
    ("press-reference", &["reference"]),
    ("press-feed-description", &["hospital"]),
    ("press-feed-entry-title", &["kind", "title"]),
    ("press-cap-title", &["hospital"]),
    ("press-cap-contact", &["phone"]),
    ("press-language-name", &[]),
    ("press-choose-language", &[]),
    ("press-skip", &[]),
    ("press-languages", &[]),
    ("press-menu", &[]),
    ("press-timeline-link", &[]),
    ("press-timeline-heading", &[]),
    ("press-no-updates", &[]),
    ("press-published", &["when"]),
    ("press-contact-heading", &[]),
    ("press-hospital-phone", &[]),
    ("press-press-phone", &[]),
    ("press-feeds-heading", &[]),
    ("press-feed-atom", &[]),
    ("press-feed-rss", &[]),
    ("press-feed-json", &[]),
    ("press-feed-cap", &[]),
    ("press-footer", &["hospital"]),
    ("press-check-link", &[]),
    ("press-check-title", &[]),
    ("press-check-intro", &["hospital"]),
    ("press-check-field", &[]),
    ("press-check-button", &[]),
    ("press-check-list-heading", &[]),
    ("press-check-list-note", &["hospital"]),
    ("press-check-genuine", &["reference", "hospital"]),
    ("press-check-not-issued", &["reference", "hospital"]),
    ("press-check-advice", &[]),
    ("press-check-call", &["phone"]),
    ("press-check-again", &[]),
    ("press-not-found-title", &[]),
    ("press-not-found-text", &[]),
    ("sms-reference", &["reference"]),
    ("message-check", &[]),
    ("message-page", &[]),
    ("telegram-invite", &[]),
    ("sms-telegram-invite", &[]),
    ("message-feeds", &[]),
    ("message-feed", &["feed", "url"]),
    ("release-languages", &[]),
    ("bot-description", &["hospital"]),
    ("bot-short-description", &["hospital"]),
    ("bot-command-start", &[]),
    ("bot-command-language", &[]),
    ("bot-command-status", &[]),
    ("bot-command-verify", &[]),
    ("bot-command-stop", &[]),
    ("bot-command-help", &[]),
    ("bot-welcome", &["hospital"]),
    ("bot-linked", &["hospital"]),
    ("bot-already-linked", &[]),
    ("bot-link-expired", &["phone"]),
    ("bot-link-used", &["phone"]),
    ("bot-link-invalid", &["phone"]),
    ("bot-link-unknown", &["phone"]),
    ("bot-choose-language", &[]),
    ("bot-language-set", &[]),
    ("bot-not-subscribed", &[]),
    ("bot-stopped", &[]),
    ("bot-status", &["when", "title", "reference", "url"]),
    ("bot-status-none", &[]),
    (
        "bot-verify-genuine",
        &["reference", "hospital", "title", "when", "url"],
    ),
    ("bot-verify-not-issued", &["reference", "hospital", "phone"]),
    ("bot-verify-usage", &["example"]),
    ("bot-help", &["hospital"]),
    ("console-nav-compose", &[]),
    ("console-compose-heading", &[]),
    ("console-compose-intro", &[]),
    ("console-compose-failed", &[]),
    ("console-compose-start-follow", &[]),
    ("console-compose-start-playbook", &[]),
    ("console-compose-blanks", &[]),
    ("console-compose-start", &[]),
    ("console-compose-about", &[]),
    ("console-compose-incident", &[]),
    ("console-compose-kind", &[]),
    ("console-compose-kind-alert", &[]),
    ("console-compose-kind-update", &[]),
    ("console-compose-kind-cancel", &[]),
    ("console-compose-kind-allclear", &[]),
    ("console-compose-follows", &[]),
    ("console-compose-appointments", &[]),
    ("console-compose-outcome-cancelled", &[]),
    ("console-compose-outcome-postponed", &[]),
    ("console-compose-outcome-as-planned", &[]),
    ("console-compose-audiences", &[]),
    ("console-compose-audience-patients", &[]),
    ("console-compose-audience-gps-of-affected", &[]),
    ("console-compose-audience-all-gps", &[]),
    ("console-compose-audience-media", &[]),
    ("console-compose-from", &[]),
    ("console-compose-to", &[]),
    ("console-compose-campus", &[]),
    ("console-compose-department", &[]),
    ("console-compose-count", &[]),
    ("console-compose-channels", &[]),
    ("console-compose-channel-sms", &[]),
    ("console-compose-channel-email", &[]),
    ("console-compose-channel-telegram", &[]),
    ("console-compose-texts", &[]),
    ("console-compose-title", &[]),
    ("console-compose-body", &[]),
    ("console-compose-sms", &[]),
    ("console-compose-sms-gsm7", &[]),
    ("console-compose-check", &[]),
    ("console-compose-cap", &[]),
    ("console-compose-cap-urgency", &[]),
    ("console-compose-cap-severity", &[]),
    ("console-compose-cap-certainty", &[]),
    ("console-compose-cap-response_type", &[]),
    ("console-compose-cap-default", &[]),
    ("console-compose-save", &[]),
    ("console-compose-problem-incident", &[]),
    ("console-compose-problem-follows", &[]),
    ("console-compose-problem-audiences", &[]),
    ("console-compose-problem-channels", &[]),
    ("console-compose-problem-language", &["language"]),
    ("console-compose-problem-empty", &["part", "language"]),
    ("console-compose-counts", &[]),
    ("console-compose-col-audience", &[]),
    ("console-compose-col-contacts", &[]),
    ("console-compose-col-mobile", &[]),
    ("console-compose-col-email", &[]),
    ("console-compose-col-telegram", &[]),
    ("console-compose-col-none", &[]),
    ("console-compose-counts-none", &[]),
    ("console-compose-counts-refused", &[]),
    (
        "console-compose-sms-written",
        &["encoding", "characters", "parts"],
    ),
    ("console-compose-sms-forcing", &[]),
    ("console-compose-sms-proposal", &["parts"]),
    ("console-compose-sms-rendered", &["messages", "total"]),
    ("console-compose-sms-distribution", &["count", "parts"]),
    (
        "console-compose-sms-longest",
        &["encoding", "characters", "parts"],
    ),
    ("console-compose-sms-nobody", &[]),
    ("console-compose-sms-empty", &[]),
    ("console-test-title", &[]),
    ("console-test-intro", &[]),
    ("console-test-reader", &[]),
    ("console-test-reader-patient", &[]),
    ("console-test-reader-gp", &[]),
    ("console-test-reader-journalist", &[]),
    ("console-test-language", &[]),
    ("console-test-channel", &[]),
    ("console-test-submit", &[]),
    ("console-test-sent", &[]),
    ("console-test-failed", &[]),
    ("console-test-no-address", &[]),
    ("test-mark", &[]),
    ("console-compose-language-nl", &[]),
    ("console-compose-language-fr", &[]),
    ("console-compose-language-en", &[]),
    ("console-title", &[]),
    ("console-skip", &[]),
    ("console-nav", &[]),
    ("console-nav-updates", &[]),
    ("console-nav-audit", &[]),
    ("console-language", &[]),
    ("console-signed-in-as", &["name", "role"]),
    ("console-role-author", &[]),
    ("console-role-approver", &[]),
    ("console-role-admin", &[]),
    ("console-sign-out", &[]),
    ("console-login-title", &[]),
    ("console-login-name", &[]),
    ("console-login-password", &[]),
    ("console-login-submit", &[]),
    ("console-login-failed", &[]),
    ("console-login-password-set", &[]),
    ("console-setup-title", &[]),
    ("console-setup-intro", &[]),
    ("console-setup-password", &[]),
    ("console-setup-again", &[]),
    ("console-setup-submit", &[]),
    ("console-setup-mismatch", &[]),
    ("console-setup-invalid", &[]),
    ("console-setup-weak", &[]),
    ("console-updates-title", &[]),
    ("console-updates-none", &[]),
    ("console-col-id", &[]),
    ("console-col-title", &[]),
    ("console-col-state", &[]),
    ("console-col-incident", &[]),
    ("console-col-author", &[]),
    ("console-col-approver", &[]),
    ("console-col-created", &[]),
    ("console-col-reference", &[]),
    ("console-state-draft", &[]),
    ("console-state-approved", &[]),
    ("console-state-sending", &[]),
    ("console-state-sent", &[]),
    ("console-state-halted", &[]),
    ("console-state-discarded", &[]),
    ("console-audit-title", &[]),
    ("console-audit-shown", &["shown", "total"]),
    ("console-col-at", &[]),
    ("console-col-user", &[]),
    ("console-col-action", &[]),
    ("console-col-target", &[]),
    ("console-col-detail", &[]),
    ("console-col-remote", &[]),
    ("console-error-title", &[]),
    ("console-error-forbidden", &[]),
    ("console-error-csrf", &[]),
    ("console-error-not-found", &[]),
    ("console-error-too-many", &["seconds"]),
    ("console-error-busy", &[]),
    ("console-error-refused", &[]),
    ("console-error-internal", &[]),
    ("console-error-back", &[]),
    ("console-watch-title", &["id"]),
    ("console-watch-heading", &["id"]),
    ("console-watch-back", &["id"]),
    ("console-watch-reload", &[]),
    ("console-watch-summary", &["settled", "total", "percent"]),
    ("console-watch-update-state", &[]),
    ("console-watch-paused", &["held"]),
    ("console-watch-counts", &[]),
    ("console-watch-all", &[]),
    ("console-watch-nothing-planned", &[]),
    ("console-watch-failures", &[]),
    ("console-watch-reasons-more", &["count"]),
    ("console-watch-no-failures", &[]),
    ("console-watch-gateways", &[]),
    ("console-watch-no-gateways", &[]),
    ("console-watch-unreached", &["count"]),
    ("console-watch-unreached-note", &[]),
    ("console-watch-unreached-approvers", &[]),
    ("console-watch-csv", &[]),
    ("console-watch-unreached-more", &["count"]),
    ("console-watch-fallback-title", &[]),
    ("console-watch-fallback-intro", &[]),
    ("console-watch-fallback-submit", &[]),
    ("console-watch-fallback-approvers", &[]),
    ("console-watch-fallback-done", &["count"]),
    ("console-col-channel", &[]),
    ("console-col-language", &[]),
    ("console-col-audience", &[]),
    ("console-col-total", &[]),
    ("console-col-count", &[]),
    ("console-col-reason", &[]),
    ("console-col-gateway", &[]),
    ("console-col-breaker", &[]),
    ("console-col-since", &[]),
    ("console-col-last-error", &[]),
    ("console-col-name", &[]),
    ("console-col-external-id", &[]),
    ("console-col-mobile", &[]),
    ("console-col-phone", &[]),
    ("console-col-why", &[]),
    ("console-breaker-closed", &[]),
    ("console-breaker-open", &[]),
    ("console-breaker-half-open", &[]),
    ("console-breaker-unknown", &[]),
    ("console-channel-email", &[]),
    ("console-channel-sms", &[]),
    ("console-channel-telegram", &[]),
    ("console-audience-patient", &[]),
    ("console-audience-gp", &[]),
    ("console-audience-journalist", &[]),
    ("console-audience-staff", &[]),
    ("console-audience-public", &[]),
    ("console-delivery-pending", &[]),
    ("console-delivery-sending", &[]),
    ("console-delivery-sent", &[]),
    ("console-delivery-delivered", &[]),
    ("console-delivery-failed", &[]),
    ("console-delivery-undeliverable", &[]),
    ("console-delivery-skipped", &[]),
    ("console-delivery-uncertain", &[]),
    ("console-delivery-cancelled", &[]),
    ("console-update-title", &["id"]),
    ("console-update-heading", &["id"]),
    ("console-update-kind", &[]),
    ("console-kind-alert", &[]),
    ("console-kind-update", &[]),
    ("console-kind-cancel", &[]),
    ("console-kind-allclear", &[]),
    ("console-update-send-at-label", &[]),
    ("console-update-paused", &[]),
    ("console-update-not-started", &[]),
    ("console-update-not-started-help", &["since"]),
    ("console-update-watch", &[]),
    ("console-update-returned-by", &["name"]),
    ("console-update-actions", &[]),
    ("console-update-own", &[]),
    ("console-update-approve", &[]),
    ("console-update-comment", &[]),
    ("console-update-return", &[]),
    ("console-update-send-now", &[]),
    ("console-update-send-at", &[]),
    ("console-update-schedule", &[]),
    ("console-update-pause", &[]),
    ("console-update-resume", &[]),
    ("console-update-halt", &[]),
    ("console-update-halt-warning", &[]),
    ("console-update-texts", &[]),
    ("console-lang-nl", &[]),
    ("console-lang-fr", &[]),
    ("console-lang-en", &[]),
    ("console-field-body", &[]),
    ("console-field-sms", &[]),
    ("console-update-diff-title", &[]),
    ("console-update-diff", &["id", "reference"]),
    ("console-diff-legend", &[]),
    ("console-update-diff-none", &[]),
    ("console-update-unchanged", &[]),
    ("console-update-audiences", &[]),
    ("console-col-contacts", &[]),
    ("console-col-languages", &[]),
    ("console-col-reachable", &[]),
    ("console-reach-mobile", &[]),
    ("console-reach-email", &[]),
    ("console-reach-telegram", &[]),
    ("console-reach-none", &[]),
    ("console-update-previews", &[]),
    ("console-update-previews-intro", &[]),
    ("console-preview-none", &[]),
    ("console-preview-to", &["name", "id"]),
    ("console-preview-skipped", &[]),
    ("console-preview-subject", &[]),
    ("console-preview-html", &[]),
    ("console-compose-preview", &[]),
    ("console-compose-preview-intro", &[]),
    ("console-compose-preview-button", &[]),
    ("console-compose-preview-ask", &[]),
    ("console-compose-preview-refused", &[]),
    (
        "console-compose-preview-blanks",
        &["language", "part", "blanks"],
    ),
    ("console-compose-preview-no-audience", &[]),
    ("console-compose-preview-audience", &["reason"]),
    ("console-compose-preview-no-channel", &[]),
    ("console-update-reviews", &[]),
    ("console-reviews-none", &[]),
    ("console-col-verdict", &[]),
    ("console-col-comment", &[]),
    ("console-verdict-approved", &[]),
    ("console-verdict-returned", &[]),
    ("console-update-history", &[]),
    ("console-done-approved", &[]),
    ("console-done-returned", &[]),
    ("console-done-send-now", &[]),
    ("console-done-scheduled", &[]),
    ("console-done-paused", &[]),
    ("console-done-resumed", &[]),
    ("console-done-halted", &[]),
];

/// The messages that are strftime patterns rather than text.
const DATE_PATTERNS: &[&str] = &[
    "date-format",
    "time-format",
    "sms-date-format",
    "sms-time-format",
];

#[derive(Debug, thiserror::Error)]
pub enum LocaleError {
    #[error("cannot read {file}: {source}")]
    Read {
        file: String,
        source: std::io::Error,
    },
    #[error("{file}: {errors}")]
    Syntax { file: String, errors: String },
    #[error("{file} lacks the message {id:?}")]
    Missing { file: String, id: String },
    #[error("{file}: message {id:?}: {errors}")]
    Format {
        file: String,
        id: String,
        errors: String,
    },
    #[error(
        "{file} has the message {id:?}, which {other} lacks: every phrase exists in nl, fr and en"
    )]
    NotInAllLanguages {
        file: String,
        id: String,
        other: String,
    },
    #[error("{file}: {message}")]
    Names { file: String, message: String },
    #[error("{path}: {what} is not a file Tocsin reads (it reads nl/messages.ftl, fr/messages.ftl, en/messages.ftl and names.toml)")]
    Unknown { path: String, what: String },
}

/// Which table of `names.toml` a name belongs to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NameKind {
    Department,
    Campus,
}

pub struct Locales {
    bundles: [FluentBundle<FluentResource>; 3],
    departments: NameTable,
    campuses: NameTable,
    tz: Tz,
    /// The files of a `locales_dir` in use instead of (or, for `names.toml`, beside) the
    /// built-in ones.
    overrides: Vec<PathBuf>,
}

impl Locales {
    /// Loads the built-in files; a `dir` replaces `<lang>/messages.ftl` file by file and adds
    /// its `names.toml` entries to the built-in ones.
    pub fn load(dir: Option<&Path>, tz: Tz) -> Result<Locales, LocaleError> {
        let mut overrides = Vec::new();
        if let Some(dir) = dir {
            refuse_unknown_files(dir)?;
        }
        let [nl, fr, en] = BUILTIN.map(|(language, builtin)| source(dir, language, builtin));
        let sources = [nl?, fr?, en?];
        overrides.extend(sources.iter().filter_map(|source| source.path.clone()));
        let [nl, fr, en] = &sources;
        let bundles = [
            bundle(nl, CATALOGUE)?,
            bundle(fr, CATALOGUE)?,
            bundle(en, CATALOGUE)?,
        ];
        same_messages_in_every_language(&sources)?;
        let mut names = NamesFile::parse(BUILTIN_NAMES, "locales/names.toml (built in)")?;
        if let Some(path) = dir
            .map(|dir| dir.join("names.toml"))
            .filter(|path| path.exists())
        {
            let file = path.display().to_string();
            names.extend(NamesFile::parse(&read(&path)?, &file)?);
            overrides.push(path);
        }
        Ok(Locales {
            bundles,
            departments: NameTable::build(names.departments, "departments")?,
            campuses: NameTable::build(names.campuses, "campuses")?,
            tz,
            overrides,
        })
    }

    /// The hospital's time zone, in which every date is shown.
    pub fn tz(&self) -> Tz {
        self.tz
    }

    /// The files of the `locales_dir` that are in use.
    pub fn overrides(&self) -> &[PathBuf] {
        &self.overrides
    }

    fn bundle(&self, language: Language) -> &FluentBundle<FluentResource> {
        &self.bundles[language as usize]
    }

    /// Formats a message; Fluent's own errors (a missing variable) are reported, not
    /// swallowed, so that a template bug cannot send a half-filled sentence.
    pub fn format(
        &self,
        language: Language,
        id: &str,
        args: Option<&FluentArgs>,
    ) -> Result<String, LocaleError> {
        format(self.bundle(language), language, id, args)
    }

    /// A department or campus as this language writes it in running text, or the name as
    /// exported when `names.toml` does not know it.
    pub fn term(&self, language: Language, kind: NameKind, exported: &str) -> String {
        let table = match kind {
            NameKind::Department => &self.departments,
            NameKind::Campus => &self.campuses,
        };
        table
            .lookup(language, exported)
            .unwrap_or_else(|| exported.trim())
            .to_string()
    }

    /// "dinsdag 13 januari 2026 om 9.30 uur", "mardi 13 janvier 2026 à 9h30",
    /// "Tuesday 13 January 2026 at 9:30", and the SMS's "di 13/01 9u30" — in the hospital's
    /// time zone.
    pub fn datetime(
        &self,
        language: Language,
        at: DateTime<Utc>,
    ) -> Result<DateTexts, LocaleError> {
        let local = at.with_timezone(&self.tz);
        let locale = match language {
            Language::Nl => chrono::Locale::nl_BE,
            Language::Fr => chrono::Locale::fr_BE,
            Language::En => chrono::Locale::en_GB,
        };
        let pattern = |id: &str| -> Result<String, LocaleError> {
            let pattern = self.format(language, id, None)?;
            Ok(local.format_localized(&pattern, locale).to_string())
        };
        let joined = |id: &str, date: &str, time: &str| {
            let mut args = FluentArgs::with_capacity(2);
            args.set("date", FluentValue::from(date));
            args.set("time", FluentValue::from(time));
            self.format(language, id, Some(&args))
        };
        let date = pattern("date-format")?;
        let time = pattern("time-format")?;
        let when = joined("datetime", &date, &time)?;
        let short = joined(
            "sms-datetime",
            &pattern("sms-date-format")?,
            &pattern("sms-time-format")?,
        )?;
        Ok(DateTexts {
            date,
            time,
            when,
            short,
        })
    }
}

#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct DateTexts {
    pub date: String,
    pub time: String,
    pub when: String,
    /// The SMS's short form: "di 13/01 9u30".
    pub short: String,
}

/// One language's Fluent file: the `locales_dir`'s if it has one, else the built-in one.
pub(super) struct Source {
    pub(super) language: Language,
    /// How errors name it.
    pub(super) file: String,
    /// Set when it comes from the `locales_dir`.
    pub(super) path: Option<PathBuf>,
    pub(super) text: String,
}

fn source(dir: Option<&Path>, language: Language, builtin: &str) -> Result<Source, LocaleError> {
    let path = dir.map(|dir| dir.join(language.code()).join("messages.ftl"));
    Ok(match path.filter(|path| path.exists()) {
        Some(path) => Source {
            language,
            file: path.display().to_string(),
            text: read(&path)?,
            path: Some(path),
        },
        None => Source {
            language,
            file: format!("locales/{}/messages.ftl (built in)", language.code()),
            path: None,
            text: builtin.to_string(),
        },
    })
}

fn read(path: &Path) -> Result<String, LocaleError> {
    std::fs::read_to_string(path).map_err(|source| LocaleError::Read {
        file: path.display().to_string(),
        source,
    })
}

/// A `locales_dir` holds only files Tocsin reads: a misspelt `nl/mesages.ftl` would
/// otherwise be ignored in silence and the built-in sentence sent.
fn refuse_unknown_files(dir: &Path) -> Result<(), LocaleError> {
    let unknown = |what: String| LocaleError::Unknown {
        path: dir.display().to_string(),
        what,
    };
    let entries = std::fs::read_dir(dir).map_err(|source| LocaleError::Read {
        file: dir.display().to_string(),
        source,
    })?;
    for entry in entries.flatten() {
        let name = entry.file_name().to_string_lossy().to_string();
        if name.starts_with('.') {
            continue;
        }
        let path = entry.path();
        if path.is_dir() {
            if !Language::ALL.iter().any(|language| language.code() == name) {
                return Err(unknown(format!("the folder {name}/")));
            }
            for inner in std::fs::read_dir(&path).into_iter().flatten().flatten() {
                let inner = inner.file_name().to_string_lossy().to_string();
                if !inner.starts_with('.') && inner.ends_with(".ftl") && inner != "messages.ftl" {
                    return Err(unknown(format!("{name}/{inner}")));
                }
            }
        } else if (name.ends_with(".toml") || name.ends_with(".ftl")) && name != "names.toml" {
            return Err(unknown(name));
        }
    }
    Ok(())
}

/// One language's bundle, checked: it parses, and every message of the catalogue is there
/// and formats with the variables Tocsin gives it.
pub(super) fn bundle(
    source: &Source,
    catalogue: &[(&str, &[&str])],
) -> Result<FluentBundle<FluentResource>, LocaleError> {
    let (language, file, text) = (source.language, source.file.as_str(), source.text.as_str());
    let syntax = |errors: String| LocaleError::Syntax {
        file: file.to_string(),
        errors,
    };
    let resource = FluentResource::try_new(text.to_string()).map_err(|(_, errors)| {
        let described: Vec<String> = errors
            .iter()
            .map(|error| {
                let line = text[..error.pos.start.min(text.len())]
                    .lines()
                    .count()
                    .max(1);
                format!("line {line}: {error}")
            })
            .collect();
        syntax(described.join("; "))
    })?;
    let langid: unic_langid::LanguageIdentifier = language
        .tag()
        .parse()
        .map_err(|_| syntax(format!("{} is not a language tag", language.tag())))?;
    let mut bundle = FluentBundle::new_concurrent(vec![langid]);
    // Unicode isolation marks around placeables would turn every SMS into UCS-2.
    bundle.set_use_isolating(false);
    bundle
        .add_resource(resource)
        .map_err(|errors| syntax(format!("{errors:?}")))?;
    for (id, variables) in catalogue {
        if !bundle.has_message(id) {
            return Err(LocaleError::Missing {
                file: file.to_string(),
                id: (*id).to_string(),
            });
        }
        let mut args = FluentArgs::with_capacity(variables.len());
        for variable in *variables {
            match *variable {
                "count" => args.set(*variable, FluentValue::from(2)),
                _ => args.set(*variable, FluentValue::from("x")),
            }
        }
        let text = format(&bundle, language, id, Some(&args)).map_err(|error| match error {
            LocaleError::Format { errors, .. } => LocaleError::Format {
                file: file.to_string(),
                id: (*id).to_string(),
                errors: format!("{errors} (it is given {})", given(variables)),
            },
            other => other,
        })?;
        if DATE_PATTERNS.contains(id) {
            let invalid = chrono::format::StrftimeItems::new(&text)
                .any(|item| matches!(item, chrono::format::Item::Error));
            if invalid {
                return Err(LocaleError::Format {
                    file: file.to_string(),
                    id: (*id).to_string(),
                    errors: format!("{text:?} is not a valid strftime pattern"),
                });
            }
        }
    }
    Ok(bundle)
}

fn given(variables: &[&str]) -> String {
    if variables.is_empty() {
        return "no variable".into();
    }
    variables
        .iter()
        .map(|variable| format!("${variable}"))
        .collect::<Vec<_>>()
        .join(", ")
}

pub(super) fn format(
    bundle: &FluentBundle<FluentResource>,
    language: Language,
    id: &str,
    args: Option<&FluentArgs>,
) -> Result<String, LocaleError> {
    let file = || format!("{} phrases", language.code());
    let pattern = bundle
        .get_message(id)
        .and_then(|message| message.value())
        .ok_or_else(|| LocaleError::Missing {
            file: file(),
            id: id.to_string(),
        })?;
    let mut errors = Vec::new();
    let text = bundle.format_pattern(pattern, args, &mut errors);
    if errors.is_empty() {
        Ok(text.into_owned())
    } else {
        let described: Vec<String> = errors.iter().map(ToString::to_string).collect();
        Err(LocaleError::Format {
            file: file(),
            id: id.to_string(),
            errors: described.join("; "),
        })
    }
}

/// The ids of a Fluent file's messages: an identifier at the start of a line, then `=`.
/// (Terms start with `-` and are not messages.)
/// Refuses a message that one language's file has and another's lacks, naming both files.
pub(crate) fn same_messages_in_every_language(sources: &[Source; 3]) -> Result<(), LocaleError> {
    let ids = sources.each_ref().map(|source| message_ids(&source.text));
    for (source, own) in sources.iter().zip(&ids) {
        for (other, theirs) in sources.iter().zip(&ids) {
            if let Some(id) = own.difference(theirs).next() {
                return Err(LocaleError::NotInAllLanguages {
                    file: source.file.clone(),
                    id: (*id).to_string(),
                    other: other.file.clone(),
                });
            }
        }
    }
    Ok(())
}

pub(super) fn message_ids(text: &str) -> BTreeSet<&str> {
    text.lines()
        .filter(|line| line.starts_with(|c: char| c.is_ascii_alphabetic()))
        .filter_map(|line| line.split_once('='))
        .map(|(id, _)| id.trim())
        .filter(|id| {
            id.chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
        })
        .collect()
}

/// `names.toml` as written.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct NamesFile {
    #[serde(default)]
    departments: BTreeMap<String, NameEntry>,
    #[serde(default)]
    campuses: BTreeMap<String, NameEntry>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct NameEntry {
    nl: String,
    fr: String,
    en: String,
    #[serde(default)]
    aliases: Vec<String>,
    /// The file it came from, for errors.
    #[serde(skip)]
    file: String,
}

impl NamesFile {
    fn parse(text: &str, file: &str) -> Result<NamesFile, LocaleError> {
        let mut names: NamesFile = toml::from_str(text).map_err(|error| LocaleError::Names {
            file: file.to_string(),
            message: error.to_string(),
        })?;
        for (table, entries) in [
            ("departments", &mut names.departments),
            ("campuses", &mut names.campuses),
        ] {
            for (key, entry) in entries.iter_mut() {
                entry.file = file.to_string();
                for (language, name) in [("nl", &entry.nl), ("fr", &entry.fr), ("en", &entry.en)] {
                    if name.trim().is_empty() {
                        return Err(LocaleError::Names {
                            file: file.to_string(),
                            message: format!("[{table}.{key}] {language} is empty"),
                        });
                    }
                }
            }
        }
        Ok(names)
    }

    /// A hospital's own entries: new keys are added, a known key is replaced.
    fn extend(&mut self, other: NamesFile) {
        self.departments.extend(other.departments);
        self.campuses.extend(other.campuses);
    }
}

/// One table of `names.toml`, indexed by every spelling of every entry.
struct NameTable {
    entries: Vec<[String; 3]>,
    index: HashMap<String, usize>,
}

impl NameTable {
    fn build(entries: BTreeMap<String, NameEntry>, table: &str) -> Result<NameTable, LocaleError> {
        let mut built = NameTable {
            entries: Vec::with_capacity(entries.len()),
            index: HashMap::new(),
        };
        let mut owners: HashMap<String, (String, String)> = HashMap::new();
        for (key, entry) in entries {
            let number = built.entries.len();
            let spellings = [&key, &entry.nl, &entry.fr, &entry.en]
                .into_iter()
                .chain(entry.aliases.iter());
            for spelling in spellings {
                let folded = normalise(spelling);
                if folded.is_empty() {
                    continue;
                }
                if let Some((owner, owner_file)) = owners.get(&folded) {
                    if *owner != key {
                        return Err(LocaleError::Names {
                            file: entry.file.clone(),
                            message: format!(
                                "{spelling:?} names both [{table}.{owner}] (in {owner_file}) and \
                                 [{table}.{key}]: an exported name must lead to one entry"
                            ),
                        });
                    }
                    continue;
                }
                owners.insert(folded.clone(), (key.clone(), entry.file.clone()));
                built.index.insert(folded, number);
            }
            built.entries.push([entry.nl, entry.fr, entry.en]);
        }
        Ok(built)
    }

    fn lookup(&self, language: Language, exported: &str) -> Option<&str> {
        let number = self.index.get(&normalise(exported))?;
        Some(self.entries[*number][language as usize].as_str())
    }
}

/// Words an export puts around a department's or campus's name that say nothing about which
/// one it is: "Dienst Cardiologie", "Service d'orthopédie", "Cardiology department".
const FILLER: &[&str] = &[
    "dienst",
    "afdeling",
    "raadpleging",
    "polikliniek",
    "poli",
    "service",
    "consultation",
    "consultations",
    "department",
    "dept",
    "unit",
    "clinic",
    "campus",
    "site",
    "de",
    "d",
    "du",
    "des",
    "la",
    "le",
    "l",
    "the",
    "of",
    "van",
];

/// `"Service d'Orthopédie"` → `"orthopedie"`: lower case, without accents, punctuation or
/// filler words.
fn normalise(name: &str) -> String {
    let folded: String = name
        .chars()
        .flat_map(char::to_lowercase)
        .map(|c| match c {
            'à' | 'á' | 'â' | 'ä' | 'ã' | 'å' => 'a',
            'ç' => 'c',
            'è' | 'é' | 'ê' | 'ë' => 'e',
            'ì' | 'í' | 'î' | 'ï' => 'i',
            'ñ' => 'n',
            'ò' | 'ó' | 'ô' | 'ö' | 'õ' => 'o',
            'ù' | 'ú' | 'û' | 'ü' => 'u',
            'ÿ' => 'y',
            'œ' => 'o',
            'æ' => 'a',
            c if c.is_alphanumeric() => c,
            _ => ' ',
        })
        .collect();
    folded
        .split_whitespace()
        .filter(|word| !FILLER.contains(word))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    fn locales() -> Locales {
        Locales::load(None, chrono_tz::Europe::Brussels).expect("built-in locales load")
    }

    #[test]
    fn writes_dates_as_a_native_reader_expects_in_brussels_time() {
        let locales = locales();
        // 08:30 UTC is 09:30 in Brussels in January (CET, UTC+1).
        let at = Utc
            .with_ymd_and_hms(2026, 1, 13, 8, 30, 0)
            .single()
            .expect("valid");
        let texts = |language| locales.datetime(language, at).expect("formats");
        assert_eq!(
            texts(Language::Nl).when,
            "dinsdag 13 januari 2026 om 9.30 uur"
        );
        assert_eq!(texts(Language::Fr).when, "mardi 13 janvier 2026 à 9h30");
        assert_eq!(texts(Language::En).when, "Tuesday 13 January 2026 at 9:30");
        assert_eq!(texts(Language::Nl).short, "di 13/01 9u30");
        assert_eq!(texts(Language::Fr).short, "mar. 13/01 à 9h30");
        assert_eq!(texts(Language::En).short, "Tue 13/01 9:30");
    }

    #[test]
    fn follows_summer_time() {
        let locales = locales();
        let at = Utc
            .with_ymd_and_hms(2026, 7, 1, 12, 5, 0)
            .single()
            .expect("valid");
        assert_eq!(
            locales.datetime(Language::Nl, at).expect("formats").when,
            "woensdag 1 juli 2026 om 14.05 uur"
        );
    }

    #[test]
    fn department_names_are_found_under_their_usual_spellings_and_unknown_ones_kept() {
        let locales = locales();
        let department =
            |language, exported: &str| locales.term(language, NameKind::Department, exported);
        for exported in [
            "Oogheelkunde",
            "ophthalmology",
            "Service d'Ophtalmologie",
            "Dienst oogheelkunde",
            "OFTALMOLOGIE",
        ] {
            assert_eq!(department(Language::En, exported), "Ophthalmology");
            assert_eq!(department(Language::Fr, exported), "ophtalmologie");
            assert_eq!(department(Language::Nl, exported), "oogheelkunde");
        }
        assert_eq!(department(Language::Fr, "Orthopedie"), "orthopédie");
        assert_eq!(department(Language::Fr, "Day Surgery"), "chirurgie de jour");
        assert_eq!(department(Language::Nl, "cardiology"), "cardiologie");
        assert_eq!(department(Language::En, "Cardiologie, poli"), "Cardiology");
        assert_eq!(department(Language::En, "NKO"), "ENT");
        assert_eq!(department(Language::Fr, " Hematologie-X "), "Hematologie-X");
        assert_eq!(
            locales.term(Language::En, NameKind::Campus, "Antwerpen"),
            "Antwerp"
        );
        assert_eq!(
            locales.term(Language::Fr, NameKind::Campus, "Campus Antwerpen"),
            "Anvers"
        );
        assert_eq!(
            locales.term(Language::Nl, NameKind::Campus, "Campus Noord"),
            "Campus Noord"
        );
    }

    #[test]
    fn every_message_exists_in_all_three_languages() {
        let [(_, nl), (_, fr), (_, en)] = BUILTIN;
        assert_eq!(message_ids(nl), message_ids(fr), "nl and fr differ");
        assert_eq!(message_ids(nl), message_ids(en), "nl and en differ");
        let catalogue: BTreeSet<&str> = CATALOGUE.iter().map(|(id, _)| *id).collect();
        assert_eq!(
            message_ids(nl),
            catalogue,
            "the built-in files hold exactly the catalogue"
        );
    }

    fn dir_with(files: &[(&str, &str)]) -> tempfile::TempDir {
        let dir = tempfile::tempdir().expect("temp dir");
        for (name, text) in files {
            let path = dir.path().join(name);
            std::fs::create_dir_all(path.parent().expect("parent")).expect("mkdir");
            std::fs::write(path, text).expect("write");
        }
        dir
    }

    fn load(dir: &tempfile::TempDir) -> Result<Locales, LocaleError> {
        Locales::load(Some(dir.path()), chrono_tz::Europe::Brussels)
    }

    #[test]
    fn a_locales_dir_replaces_one_language_file_and_adds_department_names() {
        let [(_, nl), _, _] = BUILTIN;
        let dir = dir_with(&[
            (
                "nl/messages.ftl",
                &nl.replace("Beste { $name },", "Dag { $name },"),
            ),
            (
                "names.toml",
                "[departments.memory-clinic]\nnl = \"geheugenkliniek\"\nfr = \"clinique de la \
                 mémoire\"\nen = \"Memory Clinic\"\naliases = [\"geheugen\"]\n\
                 [departments.cardiology]\nnl = \"hartziekten\"\nfr = \"cardiologie\"\nen = \
                 \"Cardiology\"\n",
            ),
            ("README.md", "notes of the hospital"),
        ]);
        let locales = load(&dir).expect("loads");
        let mut args = FluentArgs::new();
        args.set("name", "An");
        assert_eq!(
            locales
                .format(Language::Nl, "greeting-patients", Some(&args))
                .expect("formats"),
            "Dag An,"
        );
        assert_eq!(
            locales
                .format(Language::Fr, "greeting-patients", Some(&args))
                .expect("formats"),
            "Madame, Monsieur,",
            "French stays built in"
        );
        let department =
            |language, exported: &str| locales.term(language, NameKind::Department, exported);
        assert_eq!(
            department(Language::Fr, "Geheugen"),
            "clinique de la mémoire"
        );
        assert_eq!(department(Language::Nl, "cardiology"), "hartziekten");
        assert_eq!(department(Language::En, "Oogheelkunde"), "Ophthalmology");
        assert_eq!(
            locales.overrides(),
            [
                dir.path().join("nl/messages.ftl"),
                dir.path().join("names.toml")
            ]
        );
    }

    #[test]
    fn a_broken_override_is_refused_with_its_file_and_what_is_wrong() {
        let [(_, nl), (_, fr), _] = BUILTIN;
        let refused = |files: &[(&str, &str)]| {
            let dir = dir_with(files);
            let error = load(&dir).err().expect("refused").to_string();
            (dir, error)
        };
        let (dir, error) = refused(&[("fr/messages.ftl", "questions = Des questions ?\n")]);
        let file = dir.path().join("fr/messages.ftl").display().to_string();
        assert!(
            error.starts_with(&file) && error.contains("lacks the message \"date-format\""),
            "{error}"
        );

        let (_, error) = refused(&[(
            "nl/messages.ftl",
            &nl.replace("Vragen? Bel { $phone } of", "Vragen? Bel { $phon } of"),
        )]);
        assert!(
            error.contains("message \"questions\"") && error.contains("phon"),
            "{error}"
        );
        assert!(error.contains("it is given $phone, $url"), "{error}");

        let (_, error) = refused(&[("nl/messages.ftl", &format!("{nl}\nbroken = {{ \n"))]);
        assert!(error.contains("line "), "{error}");

        let (_, error) = refused(&[(
            "fr/messages.ftl",
            &format!("{fr}\nextra-phrase = Seulement en français\n"),
        )]);
        assert!(
            error.contains("\"extra-phrase\"")
                && error.contains("every phrase exists in nl, fr and en"),
            "{error}"
        );

        let (_, error) = refused(&[(
            "nl/messages.ftl",
            &nl.replace("time-format = %-H.%M uur", "time-format = %Q"),
        )]);
        assert!(error.contains("not a valid strftime pattern"), "{error}");

        let (_, error) = refused(&[("nl/mesages.ftl", nl)]);
        assert!(
            error.contains("nl/mesages.ftl is not a file Tocsin reads"),
            "{error}"
        );

        let (_, error) = refused(&[(
            "names.toml",
            "[departments.eyes]\nnl = \"ogen\"\nfr = \"yeux\"\nen = \"Eyes\"\naliases = \
             [\"oogheelkunde\"]\n",
        )]);
        assert!(
            error.contains("names both [departments.eyes]")
                || error.contains("and [departments.eyes]"),
            "{error}"
        );
        let (_, error) = refused(&[("names.toml", "[departments.eyes]\nnl = \"ogen\"\n")]);
        assert!(
            error.contains("names.toml") && error.contains("fr"),
            "{error}"
        );
    }
}
