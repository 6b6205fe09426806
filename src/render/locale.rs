//! Fixed phrases and date formats from the Fluent files under `locales/<lang>/`.

use crate::domain::Language;
use chrono::{DateTime, Utc};
use chrono_tz::Tz;
use fluent_bundle::concurrent::FluentBundle;
use fluent_bundle::{FluentArgs, FluentResource, FluentValue};
use std::borrow::Cow;
use std::path::Path;

/// The Fluent files compiled into the binary, so a clean laptop needs nothing beside it.
const BUILTIN: [(Language, &str); 3] = [
    (Language::Nl, include_str!("../../locales/nl/messages.ftl")),
    (Language::Fr, include_str!("../../locales/fr/messages.ftl")),
    (Language::En, include_str!("../../locales/en/messages.ftl")),
];

#[derive(Debug, thiserror::Error)]
pub enum LocaleError {
    #[error("cannot read {path}: {source}")]
    Read {
        path: String,
        source: std::io::Error,
    },
    #[error("{language} locale file has syntax errors: {errors}")]
    Syntax { language: Language, errors: String },
    #[error("{language} locale lacks the message {id:?}")]
    Missing { language: Language, id: String },
    #[error("{language} message {id:?}: {errors}")]
    Format {
        language: Language,
        id: String,
        errors: String,
    },
}

pub struct Locales {
    bundles: [FluentBundle<FluentResource>; 3],
    tz: Tz,
}

/// Every message a template may ask for must exist in all three languages; checking at
/// start-up turns a missing translation into a refusal to run rather than a blank line in
/// a patient's SMS.
const REQUIRED: &[&str] = &[
    "date-format",
    "time-format",
    "datetime",
    "email-subject",
    "signature",
    "questions",
];

impl Locales {
    /// Loads the built-in files, or `dir/<lang>/messages.ftl` when a directory is given.
    pub fn load(dir: Option<&Path>, tz: Tz) -> Result<Locales, LocaleError> {
        let load_one = |(language, builtin): (Language, &str)| {
            let source: Cow<str> = match dir {
                Some(dir) => {
                    let path = dir.join(language.code()).join("messages.ftl");
                    Cow::Owned(std::fs::read_to_string(&path).map_err(|source| {
                        LocaleError::Read {
                            path: path.display().to_string(),
                            source,
                        }
                    })?)
                }
                None => Cow::Borrowed(builtin),
            };
            let resource =
                FluentResource::try_new(source.into_owned()).map_err(|(_, errors)| {
                    LocaleError::Syntax {
                        language,
                        errors: format!("{errors:?}"),
                    }
                })?;
            let langid: unic_langid::LanguageIdentifier =
                language.tag().parse().map_err(|_| LocaleError::Missing {
                    language,
                    id: "language tag".into(),
                })?;
            let mut bundle = FluentBundle::new_concurrent(vec![langid]);
            // Unicode isolation marks around placeables would turn every SMS into UCS-2.
            bundle.set_use_isolating(false);
            bundle
                .add_resource(resource)
                .map_err(|errors| LocaleError::Syntax {
                    language,
                    errors: format!("{errors:?}"),
                })?;
            for id in REQUIRED {
                if !bundle.has_message(id) {
                    return Err(LocaleError::Missing {
                        language,
                        id: (*id).to_string(),
                    });
                }
            }
            Ok(bundle)
        };
        let [nl, fr, en] = BUILTIN;
        Ok(Locales {
            bundles: [load_one(nl)?, load_one(fr)?, load_one(en)?],
            tz,
        })
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
        let bundle = self.bundle(language);
        let pattern = bundle
            .get_message(id)
            .and_then(|message| message.value())
            .ok_or_else(|| LocaleError::Missing {
                language,
                id: id.to_string(),
            })?;
        let mut errors = Vec::new();
        let text = bundle.format_pattern(pattern, args, &mut errors);
        if errors.is_empty() {
            Ok(text.into_owned())
        } else {
            Err(LocaleError::Format {
                language,
                id: id.to_string(),
                errors: format!("{errors:?}"),
            })
        }
    }

    /// A value that may have a translation (`dept-cardiology`, `campus-deurne`): the
    /// translation if there is one, the value as exported otherwise.
    pub fn term(&self, language: Language, prefix: &str, value: &str) -> String {
        let id = format!("{prefix}-{}", slug(value));
        self.format(language, &id, None)
            .unwrap_or_else(|_| value.to_string())
    }

    /// "dinsdag 13 januari 2026 om 09:30", "mardi 13 janvier 2026 à 09h30",
    /// "Tuesday 13 January 2026 at 09:30" — in the hospital's time zone.
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
        let date_pattern = self.format(language, "date-format", None)?;
        let time_pattern = self.format(language, "time-format", None)?;
        let date = local.format_localized(&date_pattern, locale).to_string();
        let time = local.format_localized(&time_pattern, locale).to_string();
        let mut args = FluentArgs::new();
        args.set("date", FluentValue::from(date.as_str()));
        args.set("time", FluentValue::from(time.as_str()));
        let when = self.format(language, "datetime", Some(&args))?;
        Ok(DateTexts { date, time, when })
    }
}

#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct DateTexts {
    pub date: String,
    pub time: String,
    pub when: String,
}

/// `"Day Surgery"` → `"day-surgery"`: how exported names map onto message ids.
fn slug(value: &str) -> String {
    let mut slug = String::with_capacity(value.len());
    for c in value.trim().chars() {
        if c.is_ascii_alphanumeric() {
            slug.push(c.to_ascii_lowercase());
        } else if !slug.ends_with('-') && !slug.is_empty() {
            slug.push('-');
        }
    }
    slug.trim_end_matches('-').to_string()
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
        let when = |language| locales.datetime(language, at).expect("formats").when;
        assert_eq!(when(Language::Nl), "dinsdag 13 januari 2026 om 09:30");
        assert_eq!(when(Language::Fr), "mardi 13 janvier 2026 à 09h30");
        assert_eq!(when(Language::En), "Tuesday 13 January 2026 at 09:30");
    }

    #[test]
    fn follows_summer_time() {
        let locales = locales();
        let at = Utc
            .with_ymd_and_hms(2026, 7, 1, 7, 5, 0)
            .single()
            .expect("valid");
        assert_eq!(
            locales.datetime(Language::Nl, at).expect("formats").when,
            "woensdag 1 juli 2026 om 09:05"
        );
    }

    #[test]
    fn translates_known_departments_and_keeps_unknown_ones() {
        let locales = locales();
        assert_eq!(
            locales.term(Language::Fr, "dept", "Day Surgery"),
            "chirurgie de jour"
        );
        assert_eq!(
            locales.term(Language::Nl, "dept", "cardiology"),
            "Cardiologie"
        );
        assert_eq!(locales.term(Language::En, "campus", "Antwerpen"), "Antwerp");
        assert_eq!(
            locales.term(Language::Fr, "dept", "Hematologie"),
            "Hematologie"
        );
    }

    #[test]
    fn every_message_exists_in_all_three_languages() {
        let ids = |source: &str| {
            source
                .lines()
                .filter_map(|line| line.split_once(" = ").map(|(id, _)| id.trim().to_string()))
                .filter(|id| !id.starts_with('#') && !id.is_empty())
                .collect::<std::collections::BTreeSet<_>>()
        };
        let [(_, nl), (_, fr), (_, en)] = BUILTIN;
        assert_eq!(ids(nl), ids(fr), "nl and fr define different messages");
        assert_eq!(ids(nl), ids(en), "nl and en define different messages");
    }
}
