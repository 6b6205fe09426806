use super::{Recipient, Role};
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

/// The language a recipient is written to: their own if it is one of ours; else, for a
/// GP, the language most of their patients read (only patients whose language is known
/// count), else the language of the campus most of their patients are booked at; for
/// anyone else the language of the campus of their (first) appointment; else `default`
/// (`[hospital] default_language`). A tie is no majority: the next rule decides.
///
/// Patients come before the campus for a GP because they say more about the GP: people
/// choose a doctor who speaks their language, while a campus is where the hospital stands
/// (a Brussels GP's patients booked in Antwerp still read French).
pub fn recipient_language(
    recipient: &Recipient,
    campus_language: impl Fn(&str) -> Option<Language>,
    default: Language,
) -> Language {
    let own = recipient
        .contact
        .language
        .as_deref()
        .and_then(|raw| Language::parse(raw).ok());
    let fallback = if recipient.contact.role == Role::Gp {
        let patients = &recipient.patients_by_language;
        majority(patients.iter().filter_map(|group| {
            let language = Language::parse(group.language.as_deref()?).ok()?;
            Some((language, group.patients))
        }))
        .or_else(|| {
            majority(
                patients
                    .iter()
                    .filter_map(|group| Some((campus_language(&group.campus)?, group.patients))),
            )
        })
    } else {
        recipient
            .appointments
            .first()
            .and_then(|appointment| campus_language(&appointment.campus))
    };
    own.or(fallback).unwrap_or(default)
}

/// The language with the most votes, if one has more than every other.
fn majority(votes: impl Iterator<Item = (Language, u64)>) -> Option<Language> {
    let mut counts = [0u64; 3];
    for (language, count) in votes {
        counts[language as usize] += count;
    }
    let best = *counts.iter().max()?;
    let mut winners = Language::ALL
        .iter()
        .zip(counts)
        .filter(|(_, count)| *count == best && best > 0);
    match (winners.next(), winners.next()) {
        (Some((language, _)), None) => Some(*language),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::PatientLanguage;

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

    fn recipient(role: Role, language: Option<&str>, campus: Option<&str>) -> Recipient {
        let contact = crate::domain::Contact {
            id: 1,
            external_id: "X1".into(),
            role,
            first_name: "An".into(),
            last_name: "Wouters".into(),
            language: language.map(String::from),
            mobile: None,
            phone: None,
            email: None,
            telegram_chat_id: None,
            telegram_language: None,
            organisation: None,
            birth_date: None,
            opted_out: Vec::new(),
        };
        Recipient {
            contact,
            appointments: campus
                .map(|campus| crate::domain::Appointment {
                    external_id: "A1".into(),
                    starts_at: chrono::DateTime::UNIX_EPOCH,
                    campus: campus.into(),
                    department: "Cardiologie".into(),
                    practitioner: None,
                    status: crate::domain::AppointmentStatus::Booked,
                })
                .into_iter()
                .collect(),
            affected_patients: Vec::new(),
            patients_by_language: Vec::new(),
        }
    }

    fn campuses(campus: &str) -> Option<Language> {
        match campus {
            "Antwerpen" => Some(Language::Nl),
            "Bruxelles" => Some(Language::Fr),
            _ => None,
        }
    }

    fn patients(groups: &[(Option<&str>, &str, u64)]) -> Vec<PatientLanguage> {
        groups
            .iter()
            .map(|(language, campus, patients)| PatientLanguage {
                language: language.map(String::from),
                campus: campus.to_string(),
                patients: *patients,
            })
            .collect()
    }

    #[test]
    fn a_patient_falls_back_to_the_campus_language_then_the_hospital_default() {
        let language = |own, campus| {
            recipient_language(
                &recipient(Role::Patient, own, campus),
                campuses,
                Language::Nl,
            )
        };
        assert_eq!(language(Some("Deutsch"), Some("Antwerpen")), Language::Nl);
        assert_eq!(language(None, Some("Bruxelles")), Language::Fr);
        assert_eq!(language(Some("tr"), None), Language::Nl, "the default");
        assert_eq!(language(Some("fr-BE"), Some("Antwerpen")), Language::Fr);
    }

    #[test]
    fn a_gp_without_a_language_reads_their_patients_majority_then_their_campus() {
        let gp = |own: Option<&str>, groups: &[(Option<&str>, &str, u64)]| {
            let mut gp = recipient(Role::Gp, own, None);
            gp.patients_by_language = patients(groups);
            recipient_language(&gp, campuses, Language::En)
        };
        // French-speaking patients at a Dutch-speaking campus: their GP reads French.
        assert_eq!(
            gp(
                None,
                &[(Some("fr"), "Antwerpen", 3), (Some("NL"), "Antwerpen", 1)]
            ),
            Language::Fr
        );
        assert_eq!(
            gp(Some("nl"), &[(Some("fr"), "Antwerpen", 3)]),
            Language::Nl,
            "the GP list's language wins"
        );
        // No patient language known (or a tie): the campus most of them are booked at.
        assert_eq!(
            gp(
                None,
                &[(None, "Bruxelles", 2), (Some("tr"), "Antwerpen", 1)]
            ),
            Language::Fr
        );
        assert_eq!(
            gp(
                None,
                &[(Some("fr"), "Antwerpen", 2), (Some("nl"), "Antwerpen", 2)]
            ),
            Language::Nl
        );
        assert_eq!(gp(None, &[]), Language::En, "nothing known: the default");
        assert_eq!(gp(None, &[(None, "Elders", 4)]), Language::En);
    }
}
