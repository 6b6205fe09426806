use serde::{Deserialize, Serialize};
use std::fmt;
use std::str::FromStr;

/// One of the three languages every update is authored in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Language {
    Nl,
    Fr,
    En,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown language {0:?}: use nl, fr or en (Nederlands, Français, English)")]
pub struct UnknownLanguage(pub String);

impl Language {
    pub const ALL: [Language; 3] = [Language::Nl, Language::Fr, Language::En];

    pub fn code(self) -> &'static str {
        match self {
            Language::Nl => "nl",
            Language::Fr => "fr",
            Language::En => "en",
        }
    }

    /// The BCP 47 tag written into `Content-Language` and `lang` attributes: the hospital is
    /// Belgian, so Dutch and French are the Belgian variants.
    pub fn tag(self) -> &'static str {
        match self {
            Language::Nl => "nl-BE",
            Language::Fr => "fr-BE",
            Language::En => "en",
        }
    }

    /// Normalises what exports actually contain: codes in any case ("NL", "nl-BE", "fr_BE"),
    /// ISO 639-2 codes, and language names written in any of the three languages.
    pub fn parse(raw: &str) -> Result<Language, UnknownLanguage> {
        let lowered = raw.trim().to_lowercase();
        if let Some(lang) = Self::from_name(&lowered) {
            return Ok(lang);
        }
        let primary = lowered.split(['-', '_']).next().unwrap_or_default();
        Self::from_name(primary).ok_or_else(|| UnknownLanguage(raw.to_string()))
    }

    fn from_name(name: &str) -> Option<Language> {
        match name {
            "nl" | "nld" | "dut" | "nederlands" | "dutch" | "vlaams" | "flemish"
            | "néerlandais" | "neerlandais" | "flamand" => Some(Language::Nl),
            "fr" | "fra" | "fre" | "français" | "francais" | "french" | "frans" => {
                Some(Language::Fr)
            }
            "en" | "eng" | "english" | "engels" | "anglais" => Some(Language::En),
            _ => None,
        }
    }
}

impl fmt::Display for Language {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.code())
    }
}

impl FromStr for Language {
    type Err = UnknownLanguage;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Language::parse(s)
    }
}

/// The language a contact is written to: their own if it is one of ours, else the language of
/// the campus they are booked at, else English as the language most readers share.
pub fn choose_language(preferred: Option<&str>, campus_default: Option<Language>) -> Language {
    preferred
        .and_then(|raw| Language::parse(raw).ok())
        .or(campus_default)
        .unwrap_or(Language::En)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn normalises_codes_regions_and_names_from_real_exports() {
        for (raw, want) in [
            ("NL", Language::Nl),
            ("nl-BE", Language::Nl),
            ("Nederlands", Language::Nl),
            ("fr_BE", Language::Fr),
            ("Français", Language::Fr),
            ("FRANCAIS", Language::Fr),
            (" en-GB ", Language::En),
            ("Engels", Language::En),
        ] {
            assert_eq!(Language::parse(raw), Ok(want), "{raw}");
        }
    }

    #[test]
    fn refuses_languages_tocsin_does_not_write_in() {
        assert_eq!(
            Language::parse("de"),
            Err(UnknownLanguage("de".to_string()))
        );
        assert!(Language::parse("").is_err());
    }

    #[test]
    fn falls_back_to_campus_language_then_english() {
        assert_eq!(
            choose_language(Some("Deutsch"), Some(Language::Nl)),
            Language::Nl
        );
        assert_eq!(choose_language(None, Some(Language::Fr)), Language::Fr);
        assert_eq!(choose_language(Some("tr"), None), Language::En);
        assert_eq!(
            choose_language(Some("fr-BE"), Some(Language::Nl)),
            Language::Fr
        );
    }
}
