//! The command line's own sentences (summaries, prompts, errors) from
//! `locales/<lang>/cli.ftl`, in the language `TOCSIN_LANG` or the system locale asks for.
//!
//! They are kept apart from `messages.ftl`: those are the phrases recipients read, which a
//! hospital may replace through its `locales_dir`; these are the tool's own, built in.

use super::locale::{bundle, format, same_messages_in_every_language, Source};
use super::LocaleError;
use crate::domain::Language;
use fluent_bundle::concurrent::FluentBundle;
use fluent_bundle::{FluentArgs, FluentResource, FluentValue};
use std::sync::LazyLock;

/// The Fluent files compiled into the binary.
const BUILTIN: [(Language, &str); 3] = [
    (Language::Nl, include_str!("../../locales/nl/cli.ftl")),
    (Language::Fr, include_str!("../../locales/fr/cli.ftl")),
    (Language::En, include_str!("../../locales/en/cli.ftl")),
];

/// The refusals (`crate::app::Refusal`), which the console says too: loaded with `cli.ftl`.
const REFUSALS: [(Language, &str); 3] = [
    (Language::Nl, include_str!("../../locales/nl/refusals.ftl")),
    (Language::Fr, include_str!("../../locales/fr/refusals.ftl")),
    (Language::En, include_str!("../../locales/en/refusals.ftl")),
];

/// Every message of `refusals.ftl` with its variables, checked like [`CLI_CATALOGUE`].
pub(crate) const REFUSAL_CATALOGUE: &[(&str, &[&str])] = &[
    ("update-state-draft", &[]),
    ("update-state-approved", &[]),
    ("update-state-planned", &[]),
    ("update-state-sending", &[]),
    ("update-state-sent", &[]),
    ("update-state-halted", &[]),
    ("update-state-discarded", &[]),
    ("update-event-approved", &[]),
    ("update-event-returned", &[]),
    ("update-event-revoked", &[]),
    ("update-event-discarded", &[]),
    ("update-event-scheduled", &[]),
    ("update-event-paused", &[]),
    ("update-event-resumed", &[]),
    ("update-event-retried", &[]),
    ("update-event-halted", &[]),
    ("refusal-nothing-more-sent", &["id", "state"]),
    ("refusal-retry-not-sent", &["id", "state"]),
    ("refusal-halt", &["id", "state", "code"]),
    ("refusal-discard", &["id", "state", "code"]),
    ("refusal-revoke", &["id", "state", "code"]),
    ("refusal-schedule", &["id", "state"]),
    ("refusal-time-passed", &["at"]),
    ("refusal-not-a-time", &["typed", "tz"]),
    ("refusal-no-such-time", &["typed", "tz"]),
    ("refusal-comment-empty", &[]),
    ("refusal-comment-too-long", &["max"]),
    ("refusal-pause", &["id", "state"]),
    ("refusal-pause-paused", &["id", "reason"]),
    ("refusal-no-longer-sending", &["id"]),
    ("refusal-resume", &["id", "state"]),
    ("refusal-fallback-not-sent", &["id", "state"]),
    ("refusal-fallback-paused", &["id", "reason"]),
    (
        "refusal-preview-contact",
        &["contact", "external", "id", "channel"],
    ),
    ("refusal-preview-language", &["id", "language", "channel"]),
    ("refusal-preview-nobody", &["id", "channel"]),
    ("refusal-test-signed-in", &[]),
    ("refusal-test-no-address", &["user", "channel"]),
    ("refusal-no-channel", &["channel"]),
    ("refusal-test-not-sent", &["reason"]),
    ("refusal-incident-discarded", &["incident"]),
    ("refusal-no-incident", &["incident"]),
    (
        "refusal-follows-other-incident",
        &["file", "follows", "theirs", "ours"],
    ),
];

/// Every sentence the command line says, with the variables it gives it: each must exist in
/// all three languages and use no other variable (checked at load and by a test), so that a
/// missing translation cannot show up as a blank in the middle of a crisis.
pub(crate) const CLI_CATALOGUE: &[(&str, &[&str])] = &[
    ("cli-date-format", &[]),
    ("cli-datetime-format", &[]),
    ("labelled", &["label", "value"]),
    ("error-line", &["message"]),
    ("error-cause", &["message", "cause"]),
    ("warning-line", &["message"]),
    ("warning-unknown-language", &["value"]),
    ("error-runtime", &["reason"]),
    ("error-stdout", &["reason"]),
    ("error-database", &["url"]),
    ("error-read", &["path", "reason"]),
    ("error-create", &["path"]),
    ("error-io-not-found", &[]),
    ("error-io-permission", &[]),
    ("error-io-directory", &[]),
    ("error-update-not-found", &["id"]),
    ("error-same-author", &["id", "author"]),
    ("error-not-draft", &["id", "state"]),
    ("error-not-approved", &["id"]),
    ("foureyes-unknown-author", &["name", "known"]),
    ("foureyes-unknown-reviewer", &["name", "known"]),
    ("foureyes-none-yet", &[]),
    ("foureyes-disabled-draft", &["name"]),
    ("foureyes-disabled-review", &["name"]),
    ("foureyes-role-draft", &["name", "role"]),
    ("foureyes-role-review", &["name", "role"]),
    ("foureyes-author-not-account", &["id", "author"]),
    ("foureyes-by-names", &[]),
    ("schedule-not-started", &["since", "reason"]),
    ("schedule-not-started-fix", &["id"]),
    ("error-unreadable", &["file", "reason"]),
    ("error-draft-not-stored", &["file"]),
    ("error-placeholders", &["action", "file"]),
    ("error-placeholders-no-file", &[]),
    ("error-placeholder-empty", &["section", "key"]),
    ("error-placeholder-example", &["section", "key", "value"]),
    ("error-placeholders-check", &[]),
    ("action-draft", &[]),
    ("action-approve", &[]),
    ("action-send", &[]),
    ("action-press-export", &[]),
    ("action-serve", &[]),
    ("action-worker", &[]),
    ("error-check-problems", &["count"]),
    ("check-warnings", &[]),
    ("check-nothing-missing", &[]),
    ("check-missing", &[]),
    ("serve-receipts", &["address"]),
    ("serve-press", &["address"]),
    ("serve-console", &["address"]),
    ("serve-no-dispatch", &[]),
    ("worker-started", &[]),
    ("worker-stopped", &["sent", "finished"]),
    ("migrate-done", &["version", "description"]),
    ("optout-added", &["contact", "channel"]),
    ("optout-already", &["contact", "channel"]),
    ("optout-removed", &["contact", "channel"]),
    ("optout-not-there", &["contact", "channel"]),
    ("audience-contacts", &["spec", "count"]),
    ("audience-by-language", &["list"]),
    ("audience-reachable", &["list"]),
    ("export-unreached-written", &["count", "file"]),
    ("audit-written", &["count", "file"]),
    (
        "press-export-summary",
        &["dir", "written", "unchanged", "removed"],
    ),
    ("press-export-removed", &["path"]),
    ("draft-stored", &["id", "kind", "author"]),
    ("draft-sms-heading", &[]),
    (
        "draft-sms-language",
        &["language", "encoding", "parts", "units"],
    ),
    ("draft-forced-ucs2", &["chars"]),
    ("draft-gsm7-version", &["parts", "proposal"]),
    ("draft-gsm7-hint", &[]),
    ("draft-next", &["id"]),
    ("forecast-heading", &[]),
    ("forecast-audience", &["spec", "count"]),
    ("forecast-shared", &["count"]),
    ("forecast-skipped", &["list"]),
    ("forecast-unreachable", &["count"]),
    ("forecast-sms-heading", &[]),
    ("forecast-sms-parts", &["messages", "parts"]),
    (
        "forecast-sms-language",
        &["language", "messages", "distribution", "parts"],
    ),
    ("forecast-longest", &["contact", "parts", "encoding"]),
    ("forecast-total", &["messages", "parts"]),
    ("approved", &["id", "by"]),
    (
        "preview-heading",
        &[
            "channel", "address", "contact", "external", "name", "language",
        ],
    ),
    (
        "preview-heading-stored",
        &[
            "channel", "address", "contact", "external", "name", "language",
        ],
    ),
    ("preview-no-address", &[]),
    ("preview-subject", &["subject"]),
    ("preview-html", &[]),
    ("send-planned-before", &["id"]),
    ("send-planned", &["count", "skipped"]),
    ("update-fallback-planned", &["id", "count"]),
    ("send-resumed", &["count"]),
    ("retry-sent", &["count", "by"]),
    ("retry-sent-and-resumed", &["count", "by", "resumed"]),
    ("halted", &["id", "by", "count"]),
    ("discarded", &["id", "by"]),
    ("revoked", &["id", "by"]),
    ("list-by", &["author"]),
    ("list-by-approved", &["author", "approver"]),
    ("run-missed", &["count", "id"]),
    ("run-stopped", &["count"]),
    ("run-stopped-fix", &["id"]),
    ("run-stopped-refused", &["id"]),
    ("update-returned", &["id", "by"]),
    ("update-scheduled", &["id", "at", "timezone"]),
    ("update-paused", &["id", "by", "count"]),
    ("update-resumed", &["id", "by", "count"]),
    ("list-returned", &["by", "comment"]),
    ("run-paused", &["id"]),
    ("run-halted", &["id"]),
    (
        "progress-line",
        &[
            "done",
            "open",
            "sent",
            "undeliverable",
            "failed",
            "uncertain",
            "rate",
            "waiting",
            "notes",
        ],
    ),
    ("progress-rate", &["rate"]),
    ("progress-last-error", &["error"]),
    ("progress-prefix", &["line"]),
    ("import-optouts", &["file", "count", "rejected"]),
    ("import-optouts-rejects", &["file"]),
    ("import-read", &["file", "records", "accepted", "rejected"]),
    ("import-accepted", &["count"]),
    ("import-accepted-kept", &["count", "kept"]),
    ("import-skipped", &["count"]),
    ("import-contacts", &["new", "updated", "unchanged"]),
    ("import-appointments", &["new", "updated", "unchanged"]),
    ("import-conflicts", &["count"]),
    ("import-note", &["line", "field", "message"]),
    ("import-rejects", &["file"]),
    ("conflict-accepted", &["id", "contacts", "new", "updated"]),
    ("conflict-rejected", &["id"]),
    ("conflicts-none", &[]),
    ("conflicts-none-open", &[]),
    ("conflict-born", &["date"]),
    ("conflict-born-unknown", &[]),
    ("conflict-line", &["id", "state", "identity", "reason"]),
    (
        "conflict-line-decided",
        &["id", "state", "by", "identity", "reason"],
    ),
    ("conflict-from", &["source"]),
    (
        "conflict-known",
        &["id", "name", "role", "born", "external"],
    ),
    ("conflict-known-several", &[]),
    ("conflict-imported", &["name", "role", "born", "count"]),
    ("conflict-decide", &[]),
    ("user-added", &["name", "role"]),
    ("user-contact-set", &[]),
    ("user-contact-set-for", &["name"]),
    ("user-set-needs", &[]),
    ("user-setup-token", &["until"]),
    ("user-flag-disabled", &[]),
    ("user-flag-no-password", &[]),
    ("user-disabled", &["name"]),
    ("prompt-password", &["name"]),
    ("prompt-password-again", &[]),
    ("error-password-read", &[]),
    ("error-password-stdin", &[]),
    ("error-passwords-differ", &[]),
    ("status-draft", &["id"]),
    ("status-draft-next", &["id"]),
    ("status-discarded", &["id"]),
    ("status-approved-empty", &["id"]),
    ("status-approved", &["id", "count"]),
    ("status-next-send", &["id"]),
    ("status-paused", &["id", "count"]),
    ("status-sending", &["id", "count"]),
    ("status-sent", &["id", "count"]),
    ("status-halted", &["id", "count"]),
    ("status-paused-reason", &["count", "reason"]),
    ("status-paused-fix", &["id"]),
    ("status-column-rows", &[]),
    ("status-row-all", &[]),
    ("status-row-gateway", &["gateway"]),
    ("status-breakers", &[]),
    ("status-breaker-since", &["when"]),
    ("status-breaker-error", &["error"]),
    ("status-unreached", &["count"]),
    ("status-unreached-more", &["count", "tocsin", "id"]),
    ("state-pending", &[]),
    ("state-sending", &[]),
    ("state-sent", &[]),
    ("state-delivered", &[]),
    ("state-failed", &[]),
    ("state-undeliverable", &[]),
    ("state-skipped", &[]),
    ("state-cancelled", &[]),
    ("state-uncertain", &[]),
];

/// The messages that are strftime patterns rather than text.
const DATE_PATTERNS: &[&str] = &["cli-date-format", "cli-datetime-format"];

/// `TOCSIN_LANG` names no language the command line speaks.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UnknownCliLanguage(pub String);

/// The command line's language: `TOCSIN_LANG` (nl, fr, en, or anything
/// [`Language::parse`] reads: `NL`, `fr-BE`, `français`), else the system locale (the first
/// of `LC_ALL`, `LC_MESSAGES`, `LANG` that is set and not empty, as POSIX reads them:
/// `nl_BE.UTF-8` is Dutch, `C` or `de_DE` English), else English. `var` reads a variable.
///
/// An unknown `TOCSIN_LANG` gives English and the value back, for the caller to warn: the
/// language of the tool's own sentences never changes what recipients get, and refusing to
/// run `tocsin update halt` over a misspelt preference would be the worse failure.
pub fn cli_language(
    var: impl Fn(&str) -> Option<String>,
) -> (Language, Option<UnknownCliLanguage>) {
    if let Some(value) = var("TOCSIN_LANG").filter(|value| !value.trim().is_empty()) {
        return match Language::parse(&value) {
            Ok(language) => (language, None),
            Err(_) => (Language::En, Some(UnknownCliLanguage(value))),
        };
    }
    let locale = ["LC_ALL", "LC_MESSAGES", "LANG"]
        .into_iter()
        .find_map(|name| var(name).filter(|value| !value.trim().is_empty()));
    let language = locale
        .and_then(|locale| {
            // "nl_BE.UTF-8@euro" → "nl"
            let primary = locale
                .split(['_', '.', '@', '-'])
                .next()
                .unwrap_or_default()
                .to_lowercase();
            match primary.as_str() {
                "nl" => Some(Language::Nl),
                "fr" => Some(Language::Fr),
                _ => None,
            }
        })
        .unwrap_or(Language::En);
    (language, None)
}

/// The command line's sentences in one language.
pub struct CliText {
    language: Language,
    bundle: FluentBundle<FluentResource>,
}

impl CliText {
    /// Loads the built-in files of all three languages, checked against [`CLI_CATALOGUE`],
    /// and keeps `language`'s.
    pub fn load(language: Language) -> Result<CliText, LocaleError> {
        let sources = BUILTIN.map(|(language, text)| Source {
            language,
            file: format!("locales/{}/cli.ftl (built in)", language.code()),
            path: None,
            text: text.to_string(),
        });
        let refusals = REFUSALS.map(|(language, text)| Source {
            language,
            file: format!("locales/{}/refusals.ftl (built in)", language.code()),
            path: None,
            text: text.to_string(),
        });
        same_messages_in_every_language(&sources)?;
        same_messages_in_every_language(&refusals)?;
        let catalogue: Vec<(&str, &[&str])> = CLI_CATALOGUE
            .iter()
            .chain(REFUSAL_CATALOGUE)
            .copied()
            .collect();
        let mut kept = None;
        for (source, refusals) in sources.iter().zip(&refusals) {
            // One bundle: a refusal may use a sentence of `cli.ftl` (four eyes' own).
            let source = Source {
                language: source.language,
                file: source.file.clone(),
                path: None,
                text: format!("{}\n{}", source.text, refusals.text),
            };
            let source = &source;
            let mut bundle = bundle(source, &catalogue)?;
            for id in DATE_PATTERNS {
                let pattern = format(&bundle, source.language, id, None)?;
                let invalid = chrono::format::StrftimeItems::new(&pattern)
                    .any(|item| matches!(item, chrono::format::Item::Error));
                if invalid {
                    return Err(LocaleError::Format {
                        file: source.file.clone(),
                        id: (*id).to_string(),
                        errors: format!("{pattern:?} is not a valid strftime pattern"),
                    });
                }
            }
            if source.language == language {
                bundle.set_formatter(Some(grouping(language)));
                kept = Some(bundle);
            }
        }
        let bundle = kept.ok_or_else(|| LocaleError::Missing {
            file: format!("locales/{}/cli.ftl", language.code()),
            id: "(the whole file)".into(),
        })?;
        Ok(CliText { language, bundle })
    }

    /// The English sentences, for library code that prints without being told a language
    /// (`StatusReport::to_text`, the demo).
    pub fn english() -> &'static CliText {
        static ENGLISH: LazyLock<CliText> = LazyLock::new(|| {
            // Built in and checked by `every_cli_message_exists_in_all_three_languages`.
            CliText::load(Language::En).expect("the built-in English CLI sentences load")
        });
        &ENGLISH
    }

    /// The sentences of `language`, loaded once (the console says refusals with them).
    pub fn of(language: Language) -> &'static CliText {
        static ALL: LazyLock<[CliText; 3]> = LazyLock::new(|| {
            // Built in and checked by `every_cli_message_exists_in_all_three_languages`.
            Language::ALL
                .map(|language| CliText::load(language).expect("the built-in CLI sentences load"))
        });
        let all: &[CliText; 3] = &ALL;
        all.iter()
            .find(|text| text.language == language)
            .unwrap_or_else(|| CliText::english())
    }

    pub fn language(&self) -> Language {
        self.language
    }

    /// A sentence with its variables; counts given as numbers are grouped as the language
    /// writes them ("12.345", "12 345", "12,345"). A sentence that cannot be formatted (an
    /// id missing from the catalogue: a bug of ours) shows its id and variables rather than
    /// nothing, and is logged.
    pub fn say(&self, id: &str, args: &[(&str, FluentValue)]) -> String {
        let mut fluent = FluentArgs::with_capacity(args.len());
        for (name, value) in args {
            fluent.set(*name, value.clone());
        }
        match format(&self.bundle, self.language, id, Some(&fluent)) {
            Ok(text) => text,
            Err(error) => {
                tracing::error!(message = "a CLI sentence cannot be formatted", %error);
                let values: Vec<String> = args
                    .iter()
                    .map(|(name, value)| format!("{name}={value:?}"))
                    .collect();
                format!("{id} {}", values.join(" "))
            }
        }
    }

    /// A count as the language writes it: "12.345", "12 345", "12,345".
    pub fn number(&self, n: u64) -> String {
        group(n, separator(self.language))
    }

    /// A day as the language writes it (the CLI's `cli-date-format`).
    pub fn date(&self, date: chrono::NaiveDate) -> String {
        date.format(&self.say("cli-date-format", &[])).to_string()
    }

    /// A moment in the hospital's time zone, as the language writes it.
    pub fn datetime(&self, at: chrono::DateTime<chrono::Utc>, tz: chrono_tz::Tz) -> String {
        at.with_timezone(&tz)
            .format(&self.say("cli-datetime-format", &[]))
            .to_string()
    }

    /// What an update's log calls an event (`approved`, `paused`…), as people read it;
    /// None for a code this version does not name.
    pub fn update_event(&self, code: &str) -> Option<String> {
        let id = format!("update-event-{code}");
        self.bundle.has_message(&id).then(|| self.say(&id, &[]))
    }

    /// A delivery state as a column of `tocsin status` names it.
    pub fn state(&self, state: crate::domain::DeliveryState) -> String {
        self.say(&format!("state-{}", state.as_str()), &[])
    }
}

/// The thousands separator: a dot in Dutch, a narrow no-break space in French (as CLDR writes
/// fr-BE), a comma in English.
fn separator(language: Language) -> char {
    match language {
        Language::Nl => '.',
        Language::Fr => '\u{202f}',
        Language::En => ',',
    }
}

fn group(n: u64, separator: char) -> String {
    let digits = n.to_string();
    let mut out = String::with_capacity(digits.len() + digits.len() / 3 * 3);
    for (index, digit) in digits.chars().enumerate() {
        if index > 0 && (digits.len() - index) % 3 == 0 {
            out.push(separator);
        }
        out.push(digit);
    }
    out
}

/// Fluent writes a number as it is ("12345"); this groups a whole one's thousands.
type Formatter<M> = fn(&FluentValue, &M) -> Option<String>;

fn grouping<M>(language: Language) -> Formatter<M> {
    fn whole(value: &FluentValue) -> Option<u64> {
        match value {
            FluentValue::Number(number)
                if number.value >= 0.0 && number.value.fract() == 0.0 && number.value < 1e15 =>
            {
                Some(number.value as u64)
            }
            _ => None,
        }
    }
    match language {
        Language::Nl => |value, _| whole(value).map(|n| group(n, separator(Language::Nl))),
        Language::Fr => |value, _| whole(value).map(|n| group(n, separator(Language::Fr))),
        Language::En => |value, _| whole(value).map(|n| group(n, separator(Language::En))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::{BTreeMap, BTreeSet};

    /// Each message of a Fluent file with the variables its text uses.
    fn variables(text: &str) -> BTreeMap<String, BTreeSet<String>> {
        let mut out: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
        let mut current: Option<String> = None;
        for line in text.lines() {
            if line.starts_with(|c: char| c.is_ascii_alphabetic()) {
                current = line.split_once('=').map(|(id, _)| id.trim().to_string());
            } else if !line.starts_with(' ') {
                current = None;
            }
            let Some(id) = &current else { continue };
            let used = out.entry(id.clone()).or_default();
            for piece in line.split('$').skip(1) {
                let name: String = piece
                    .chars()
                    .take_while(|c| c.is_ascii_alphanumeric() || *c == '_' || *c == '-')
                    .collect();
                used.insert(name);
            }
        }
        out
    }

    #[test]
    fn every_cli_message_exists_in_all_three_languages_with_the_catalogues_variables() {
        for language in Language::ALL {
            CliText::load(language).expect("the built-in CLI sentences load");
        }
        let catalogue: BTreeMap<String, BTreeSet<String>> = CLI_CATALOGUE
            .iter()
            .map(|(id, variables)| {
                (
                    id.to_string(),
                    variables.iter().map(|v| v.to_string()).collect(),
                )
            })
            .collect();
        for (language, text) in BUILTIN {
            assert_eq!(
                variables(text),
                catalogue,
                "locales/{language}/cli.ftl: its messages and their variables differ from \
                 the catalogue"
            );
        }
    }

    #[test]
    fn every_refusal_exists_in_all_three_languages_with_the_catalogues_variables() {
        let catalogue: BTreeMap<String, BTreeSet<String>> = REFUSAL_CATALOGUE
            .iter()
            .map(|(id, variables)| {
                (
                    id.to_string(),
                    variables.iter().map(|v| v.to_string()).collect(),
                )
            })
            .collect();
        for (language, text) in REFUSALS {
            assert_eq!(
                variables(text),
                catalogue,
                "locales/{language}/refusals.ftl: its messages and their variables differ \
                 from the catalogue"
            );
        }
    }

    #[test]
    fn an_updates_events_are_named_in_each_language_and_an_unknown_one_keeps_its_code() {
        assert_eq!(
            CliText::of(Language::Nl).update_event("paused").as_deref(),
            Some("gepauzeerd")
        );
        assert_eq!(
            CliText::of(Language::Fr)
                .update_event("returned")
                .as_deref(),
            Some("renvoyée à l'auteur")
        );
        assert_eq!(CliText::of(Language::En).update_event("launched"), None);
    }

    #[test]
    fn the_cli_and_the_recipients_phrases_share_no_message() {
        let cli: BTreeSet<&str> = CLI_CATALOGUE
            .iter()
            .chain(REFUSAL_CATALOGUE)
            .map(|(id, _)| *id)
            .collect();
        let phrases: BTreeSet<&str> = super::super::locale::CATALOGUE
            .iter()
            .map(|(id, _)| *id)
            .collect();
        assert!(
            cli.is_disjoint(&phrases),
            "{:?}",
            cli.intersection(&phrases)
        );
    }

    #[test]
    fn french_puts_a_no_break_space_before_two_part_punctuation() {
        let ([_, (_, cli), _], [_, (_, refusals), _]) = (BUILTIN, REFUSALS);
        for line in [cli, refusals]
            .iter()
            .flat_map(|text| text.lines())
            .filter(|line| !line.starts_with('#'))
        {
            for mark in [" :", " ;", " ?", " !"] {
                assert!(!line.contains(mark), "a plain space before {mark}: {line}");
            }
        }
    }

    #[test]
    fn every_sentence_the_command_line_says_is_in_the_catalogue() {
        let catalogue: BTreeSet<&str> = CLI_CATALOGUE.iter().map(|(id, _)| *id).collect();
        for (file, source) in [
            ("src/main.rs", include_str!("../main.rs")),
            ("src/report.rs", include_str!("../report.rs")),
            ("src/check.rs", include_str!("../check.rs")),
        ] {
            for piece in source.replace("say!(", "say(").split("say(\"").skip(1) {
                let id = piece.split('"').next().unwrap_or_default();
                assert!(
                    catalogue.contains(id),
                    "{file} says {id:?}, which cli.ftl lacks"
                );
            }
        }
    }

    #[test]
    fn numbers_and_plurals_are_written_as_each_language_writes_them() {
        let say = |language, count: u64| {
            CliText::load(language).expect("loads").say(
                "send-planned",
                &[("count", count.into()), ("skipped", 0.into())],
            )
        };
        assert_eq!(
            say(Language::Nl, 12_345),
            "12.345 verzendingen gepland (0 overgeslagen: afgemeld of geen adres)."
        );
        assert_eq!(
            say(Language::Fr, 12_345),
            "12\u{202f}345 envois planifiés (0 ignoré\u{a0}: désinscrits ou sans adresse)."
        );
        assert_eq!(
            say(Language::En, 12_345),
            "Planned 12,345 deliveries (0 skipped: opted out or no address)."
        );
        assert_eq!(
            say(Language::Fr, 1),
            "1 envoi planifié (0 ignoré\u{a0}: désinscrits ou sans adresse).",
            "French counts 0 and 1 in the singular"
        );
        assert_eq!(
            say(Language::En, 1),
            "Planned 1 delivery (0 skipped: opted out or no address)."
        );
    }

    #[test]
    fn the_language_comes_from_tocsin_lang_then_the_system_locale_then_english() {
        let with = |pairs: &'static [(&'static str, &'static str)]| {
            move |name: &str| {
                pairs
                    .iter()
                    .find(|(key, _)| *key == name)
                    .map(|(_, value)| value.to_string())
            }
        };
        assert_eq!(cli_language(with(&[])), (Language::En, None));
        assert_eq!(
            cli_language(with(&[("LANG", "nl_BE.UTF-8")])),
            (Language::Nl, None)
        );
        assert_eq!(
            cli_language(with(&[("LANG", "fr_BE")])),
            (Language::Fr, None)
        );
        assert_eq!(
            cli_language(with(&[("LANG", "de_DE.UTF-8")])),
            (Language::En, None)
        );
        assert_eq!(
            cli_language(with(&[("LC_ALL", "C"), ("LANG", "fr_BE.UTF-8")])),
            (Language::En, None),
            "LC_ALL wins over LANG"
        );
        assert_eq!(
            cli_language(with(&[("LC_ALL", ""), ("LC_MESSAGES", "fr_FR@euro")])),
            (Language::Fr, None)
        );
        assert_eq!(
            cli_language(with(&[("TOCSIN_LANG", "NL"), ("LANG", "fr_BE.UTF-8")])),
            (Language::Nl, None),
            "TOCSIN_LANG wins over the locale"
        );
        assert_eq!(
            cli_language(with(&[("TOCSIN_LANG", "de"), ("LANG", "fr_BE.UTF-8")])),
            (Language::En, Some(UnknownCliLanguage("de".into())))
        );
    }
}
