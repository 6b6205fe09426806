//! Small readers of FHIR datatypes.

use super::mapping::{refuse, Refusal};
use crate::domain::{Identity, Language};
use crate::import::fields::{self, Kind};
use chrono::{DateTime, LocalResult, NaiveDate, NaiveDateTime, TimeZone, Utc};
use serde_json::Value;

/// Refuses a value the record cannot stand without when it is over its length limit.
pub(super) fn within(kind: Kind, field: &str, value: &str) -> Result<(), Refusal> {
    match fields::too_long(kind, value) {
        Some(reason) => Err(refuse(field, reason)),
        None => Ok(()),
    }
}

/// Who may answer for a patient.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Relation {
    Parent,
    Guardian,
}

impl Relation {
    pub(super) fn noun(self) -> &'static str {
        match self {
            Relation::Parent => "parent",
            Relation::Guardian => "guardian",
        }
    }
}

/// Whether a `Patient.contact` is the patient's parent or guardian, by its relationship's
/// codes (HL7 v3 RoleCode) or words.
pub(super) fn representative_relation(person: &Value) -> Option<Relation> {
    let concepts = array_at(person, "relationship");
    let codes = concepts
        .iter()
        .flat_map(|concept| array_at(concept, "coding"))
        .filter_map(|coding| str_at(coding, "code"));
    let words = concepts
        .iter()
        .flat_map(|concept| {
            array_at(concept, "coding")
                .iter()
                .filter_map(|coding| str_at(coding, "display"))
                .chain(str_at(concept, "text"))
        })
        .map(str::to_lowercase)
        .collect::<Vec<_>>();
    let mut found = None;
    for code in codes {
        match code {
            "GUARD" => return Some(Relation::Guardian),
            "PRN" | "NPRN" | "MTH" | "FTH" | "NMTH" | "NFTH" | "ADOPTP" | "ADOPTM" | "ADOPTF"
            | "STPPRN" | "STPMTH" | "STPFTH" | "GESTM" | "FTHFOST" | "MTHFOST" | "PRNFOST" => {
                found = Some(Relation::Parent)
            }
            _ => {}
        }
    }
    let says = |marks: &[&str]| {
        words
            .iter()
            .any(|word| marks.iter().any(|mark| word.contains(mark)))
    };
    if says(&["guardian", "voogd", "tuteur", "tutrice"]) {
        return Some(Relation::Guardian);
    }
    if says(&[
        "parent", "mother", "father", "ouder", "moeder", "vader", "mère", "mere", "père", "pere",
    ]) {
        found = Some(Relation::Parent);
    }
    found
}

/// An animal patient (R4's `patient-animal` extension, or DSTU2's `animal` element): not a
/// person to write to.
pub(super) fn is_animal(resource: &Value) -> bool {
    resource.get("animal").is_some()
        || array_at(resource, "extension").iter().any(|extension| {
            str_at(extension, "url")
                == Some("http://hl7.org/fhir/StructureDefinition/patient-animal")
        })
}

pub(super) fn str_at<'v>(value: &'v Value, key: &str) -> Option<&'v str> {
    value
        .get(key)
        .and_then(Value::as_str)
        .map(str::trim)
        .filter(|text| !text.is_empty())
}

pub(super) fn array_at<'v>(value: &'v Value, key: &str) -> &'v [Value] {
    value
        .get(key)
        .and_then(Value::as_array)
        .map_or(&[], Vec::as_slice)
}

pub(super) fn type_of(resource: &Value) -> &str {
    str_at(resource, "resourceType").unwrap_or_default()
}

pub(super) fn strip_history(reference: &str) -> &str {
    reference
        .find("/_history/")
        .map_or(reference, |at| &reference[..at])
}

/// `Type/id` from the end of a reference or URL.
pub(super) fn type_and_id(reference: &str) -> Option<String> {
    let mut parts = reference.rsplit('/');
    let id = parts.next().filter(|id| !id.is_empty())?;
    let kind = parts
        .next()
        .filter(|kind| kind.starts_with(|c: char| c.is_ascii_uppercase()))?;
    Some(format!("{kind}/{id}"))
}

/// The digits of a number written with separators ("1-23456-78-901"), when there are `len`.
pub(super) fn digits_if(value: &str, len: usize) -> Option<String> {
    let separators_only = value
        .chars()
        .all(|c| c.is_ascii_digit() || matches!(c, ' ' | '-' | '.' | '/'));
    let digits: String = value.chars().filter(char::is_ascii_digit).collect();
    (separators_only && digits.len() == len).then_some(digits)
}

/// An identifier as an identity: a RIZIV/INAMI number in the RIZIV namespace (shared with the
/// CSV exports), a national number by its digits, anything else under its own system.
pub(super) fn identity_of(identifier: &Value) -> Option<Identity> {
    let value = str_at(identifier, "value")?.trim();
    let system = str_at(identifier, "system").unwrap_or_default();
    if is_riziv(system) {
        if let Some(riziv) = digits_if(value, 11) {
            return Some(Identity::riziv(riziv));
        }
    }
    if is_ssin(&identifier) {
        if let Some(ssin) = digits_if(value, 11) {
            return Some(Identity::fhir(system, ssin));
        }
    }
    Some(Identity::fhir(system, value))
}

pub(super) fn usable_identifiers(resource: &Value) -> impl Iterator<Item = &Value> {
    array_at(resource, "identifier")
        .iter()
        .filter(|identifier| {
            str_at(identifier, "value").is_some() && str_at(identifier, "use") != Some("old")
        })
}

fn identifier_type_codes(identifier: &Value) -> impl Iterator<Item = &str> {
    identifier
        .get("type")
        .map(|concept| array_at(concept, "coding"))
        .unwrap_or_default()
        .iter()
        .filter_map(|coding| str_at(coding, "code"))
}

/// The Belgian national number (SSIN, INSZ/NISS, rijksregisternummer).
pub(super) fn is_ssin(identifier: &&Value) -> bool {
    let system = str_at(identifier, "system")
        .unwrap_or_default()
        .to_lowercase();
    [
        "ssin",
        "inss",
        "niss",
        "insz",
        "rijksregister",
        "registre-national",
    ]
    .iter()
    .any(|mark| system.contains(mark))
        || identifier_type_codes(identifier).any(|code| matches!(code, "NN" | "NI"))
}

pub(super) fn is_hospital_number(identifier: &&Value) -> bool {
    identifier_type_codes(identifier).any(|code| code == "MR")
        || str_at(identifier, "system").is_some_and(|system| system.to_lowercase().contains("mrn"))
}

pub(super) fn is_riziv(system: &str) -> bool {
    let system = system.to_lowercase();
    ["riziv", "inami", "nihdi"]
        .iter()
        .any(|mark| system.contains(mark))
}

pub(super) fn is_general_practice(concept: &Value) -> bool {
    let codings = array_at(concept, "coding");
    let by_code = codings.iter().any(|coding| {
        let code = str_at(coding, "code");
        matches!(code, Some("62247001" | "394814009" | "408443003"))
            // Vektis COD016 (Dutch AGB specialisms): 0100 "Huisartsen, niet nader gespecificeerd".
            || (str_at(coding, "system") == Some("urn:oid:2.16.840.1.113883.2.4.6.7")
                && code == Some("0100"))
    });
    let by_name = codings
        .iter()
        .filter_map(|coding| str_at(coding, "display"))
        .chain(str_at(concept, "text"))
        .any(|name| {
            let name = name.to_lowercase();
            [
                "general practi",
                "general medical practice",
                "huisarts",
                "généraliste",
                "generaliste",
                "médecine générale",
                "medecine generale",
                "family medicine",
                "family practi",
            ]
            .iter()
            .any(|mark| name.contains(mark))
        });
    by_code || by_name
}

/// What a CodeableConcept says in words: its text, else a coding's display.
pub(super) fn concept_label(concept: &Value) -> Option<&str> {
    str_at(concept, "text").or_else(|| {
        array_at(concept, "coding")
            .iter()
            .find_map(|coding| str_at(coding, "display"))
    })
}

/// A language CodeableConcept: one of ours, or what it says as written.
pub(super) fn concept_language(concept: &Value) -> Result<Language, Option<String>> {
    let codings = array_at(concept, "coding");
    codings
        .iter()
        .filter_map(|coding| str_at(coding, "code"))
        .chain(
            codings
                .iter()
                .filter_map(|coding| str_at(coding, "display")),
        )
        .chain(str_at(concept, "text"))
        .find_map(|written| Language::parse(written).ok())
        .ok_or_else(|| {
            codings
                .iter()
                .find_map(|coding| str_at(coding, "code"))
                .or_else(|| str_at(concept, "text"))
                .map(String::from)
        })
}

/// (first name, last name) of the official HumanName, else the first.
pub(super) fn person_name(names: Option<&Value>) -> (String, String) {
    let names = names
        .and_then(Value::as_array)
        .map_or(&[][..], Vec::as_slice);
    let Some(name) = names
        .iter()
        .find(|name| str_at(name, "use") == Some("official"))
        .or_else(|| names.first())
    else {
        return (String::new(), String::new());
    };
    human_name(name)
}

/// (first name, last name) of one HumanName: given and family, else its text as the last name.
pub(super) fn human_name(name: &Value) -> (String, String) {
    let given = words(array_at(name, "given"));
    let family = match name.get("family") {
        Some(Value::Array(parts)) => words(parts),
        Some(Value::String(family)) => family.trim().to_string(),
        _ => String::new(),
    };
    if given.is_empty() && family.is_empty() {
        if let Some(text) = str_at(name, "text") {
            return (String::new(), text.to_string());
        }
    }
    (given, family)
}

/// How a practitioner is named on an appointment: "Dr Adam Careful".
pub(super) fn display_name(resource: &Value) -> Option<String> {
    let names = array_at(resource, "name");
    let name = names
        .iter()
        .find(|name| str_at(name, "use") == Some("official"))
        .or_else(|| names.first())?;
    if let Some(text) = str_at(name, "text") {
        return Some(text.to_string());
    }
    let (given, family) = person_name(resource.get("name"));
    let whole = [words(array_at(name, "prefix")), given, family]
        .into_iter()
        .filter(|part| !part.is_empty())
        .collect::<Vec<_>>()
        .join(" ");
    (!whole.is_empty()).then_some(whole)
}

fn words(parts: &[Value]) -> String {
    parts
        .iter()
        .filter_map(Value::as_str)
        .map(str::trim)
        .filter(|part| !part.is_empty())
        .collect::<Vec<_>>()
        .join(" ")
}

/// `%7C` and the like in a URL query, decoded.
pub(super) fn percent_decoded(raw: &str) -> String {
    let bytes = raw.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut at = 0;
    while at < bytes.len() {
        let escaped = (bytes[at] == b'%')
            .then(|| raw.get(at + 1..at + 3))
            .flatten()
            .and_then(|hex| u8::from_str_radix(hex, 16).ok());
        match escaped {
            Some(byte) => {
                out.push(byte);
                at += 3;
            }
            None => {
                out.push(bytes[at]);
                at += 1;
            }
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// ISO 3166 alpha-2 for an address country as exports write it.
pub(super) fn country_code(country: &str) -> Option<String> {
    let name: String = country
        .trim()
        .to_lowercase()
        .chars()
        .map(|c| match c {
            'é' | 'è' | 'ê' | 'ë' => 'e',
            'ï' | 'î' => 'i',
            'ü' | 'û' => 'u',
            'ö' | 'ô' => 'o',
            'ä' | 'â' | 'à' => 'a',
            'ç' => 'c',
            'ñ' => 'n',
            other => other,
        })
        .collect();
    #[rustfmt::skip]
    const NAMES: &[(&str, &[&str])] = &[
        ("BE", &["bel", "belgium", "belgie", "belgique", "belgien", "belgica"]),
        ("NL", &["nld", "netherlands", "the netherlands", "nederland", "pays-bas", "niederlande", "holland"]),
        ("FR", &["fra", "france", "frankrijk", "frankreich"]),
        ("DE", &["deu", "germany", "deutschland", "duitsland", "allemagne"]),
        ("LU", &["lux", "luxembourg", "luxemburg"]),
        ("GB", &["gbr", "uk", "united kingdom", "great britain", "verenigd koninkrijk", "royaume-uni"]),
        ("IE", &["irl", "ireland", "ierland", "irlande"]),
        ("ES", &["esp", "spain", "spanje", "espagne", "espana"]),
        ("IT", &["ita", "italy", "italie", "italia"]),
        ("PT", &["prt", "portugal"]),
        ("CH", &["che", "switzerland", "zwitserland", "suisse", "schweiz"]),
        ("AT", &["aut", "austria", "oostenrijk", "autriche", "osterreich"]),
        ("PL", &["pol", "poland", "polen", "pologne"]),
        ("RO", &["rou", "romania", "roemenie", "roumanie"]),
        ("TR", &["tur", "turkey", "turkije", "turquie", "turkiye"]),
        ("MA", &["mar", "morocco", "marokko", "maroc"]),
        ("US", &["usa", "united states", "verenigde staten", "etats-unis"]),
        ("AU", &["aus", "australia", "australie"]),
    ];
    if let Some((code, _)) = NAMES
        .iter()
        .find(|(code, names)| code.eq_ignore_ascii_case(&name) || names.contains(&name.as_str()))
    {
        return Some(code.to_string());
    }
    (name.len() == 2 && name.chars().all(|c| c.is_ascii_alphabetic()))
        .then(|| name.to_ascii_uppercase())
}

/// An appointment's start in UTC, and whether it was read as Brussels time for want of an
/// offset.
pub(super) fn start_time(raw: &str) -> Result<(DateTime<Utc>, bool), String> {
    if let Ok(instant) = DateTime::parse_from_rfc3339(raw) {
        return Ok((instant.with_timezone(&Utc), false));
    }
    let naive = [
        "%Y-%m-%dT%H:%M:%S%.f",
        "%Y-%m-%dT%H:%M:%S",
        "%Y-%m-%dT%H:%M",
    ]
    .iter()
    .find_map(|format| NaiveDateTime::parse_from_str(raw, format).ok());
    let Some(naive) = naive else {
        if NaiveDate::parse_from_str(raw, "%Y-%m-%d").is_ok() {
            return Err(format!("{raw:?} is a date without a time of day"));
        }
        return Err(format!(
            "{raw:?} is not a FHIR instant (like 2026-01-13T09:30:00+01:00)"
        ));
    };
    match chrono_tz::Europe::Brussels.from_local_datetime(&naive) {
        LocalResult::Single(local) | LocalResult::Ambiguous(local, _) => {
            Ok((local.with_timezone(&Utc), true))
        }
        LocalResult::None => Err(format!(
            "{raw:?} does not exist in Brussels time (the clocks skip that hour)"
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn countries_are_read_as_exports_write_them() {
        for (written, code) in [
            ("BE", "BE"),
            ("BEL", "BE"),
            ("Belgium", "BE"),
            ("België", "BE"),
            ("Belgique", "BE"),
            ("NL", "NL"),
            ("Nederland", "NL"),
            ("Netherlands", "NL"),
            ("FR", "FR"),
            ("France", "FR"),
            ("DE", "DE"),
            ("Deutschland", "DE"),
            ("LU", "LU"),
            ("Luxembourg", "LU"),
            ("AUS", "AU"),
            ("es", "ES"),
        ] {
            assert_eq!(country_code(written).as_deref(), Some(code), "{written}");
        }
        assert_eq!(country_code("Narnia"), None);
    }
}
