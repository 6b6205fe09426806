//! The fields both readers (CSV and FHIR) take the same way: their longest sane length, and
//! e-mail addresses and phone numbers.
//!
//! # Limits
//!
//! A value longer than its kind allows is refused with its length, never quoted whole (a 10 MB
//! first name once made a 21.8 MB e-mail): an optional field is dropped ("kept without"), a
//! field the record cannot stand without rejects the record.
//!
//! | kind | fields | characters |
//! |---|---|---|
//! | id | patient number, appointment id, RIZIV/INAMI, FHIR identifier, Telegram id | 100 |
//! | name | first name, last name | 100 |
//! | text | a full name (GP, practitioner, journalist), practice, outlet | 200 |
//! | place | campus, department | 100 |
//! | code | language, status, a date or a time | 40 |
//! | phone | a phone number as written | 40 |
//! | e-mail | an e-mail address (RFC 5321's limit) | 254 |

use crate::domain::{EmailAddress, PhoneError, PhoneNumber};

/// What a field holds, for its length limit.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Id,
    Name,
    Text,
    Place,
    Code,
    Phone,
    Email,
}

impl Kind {
    pub fn limit(self) -> usize {
        match self {
            Kind::Id | Kind::Name | Kind::Place => 100,
            Kind::Text => 200,
            Kind::Code | Kind::Phone => 40,
            Kind::Email => 254,
        }
    }

    fn noun(self) -> &'static str {
        match self {
            Kind::Id => "an identifier",
            Kind::Name => "a name",
            Kind::Text => "a full name or an organisation",
            Kind::Place => "a campus or department",
            Kind::Code => "a code, date or time",
            Kind::Phone => "a phone number",
            Kind::Email => "an e-mail address",
        }
    }
}

/// Why `raw` is too long for its kind, if it is; the value is not quoted.
pub fn too_long(kind: Kind, raw: &str) -> Option<String> {
    let limit = kind.limit();
    if raw.len() <= limit {
        return None;
    }
    let chars = raw.chars().count();
    (chars > limit).then(|| {
        format!(
            "is {chars} characters long: more than the {limit} {} may have (the value is not \
             repeated here)",
            kind.noun()
        )
    })
}

/// `raw` quoted for a message, cut after 60 characters.
pub fn quoted(raw: &str) -> String {
    match raw.char_indices().nth(60) {
        Some((at, _)) => format!("{:?}…", &raw[..at]),
        None => format!("{raw:?}"),
    }
}

/// An e-mail address, from the forms exports write (`mailto:` included).
pub fn email(raw: &str) -> Result<String, String> {
    if let Some(reason) = too_long(Kind::Email, raw) {
        return Err(reason);
    }
    let raw = raw.trim();
    let raw = raw.strip_prefix("mailto:").unwrap_or(raw);
    EmailAddress::parse(raw).map(|address| address.as_str().to_string())
}

/// A phone number read in `region` (the ISO country of the contact's address; Belgium when
/// none, or when libphonenumber does not know it).
pub fn phone(raw: &str, region: Option<&str>) -> Result<PhoneNumber, String> {
    if let Some(reason) = too_long(Kind::Phone, raw) {
        return Err(reason);
    }
    let spaced;
    let raw = if raw.contains('\u{a0}') {
        spaced = raw.replace('\u{a0}', " ");
        spaced.as_str()
    } else {
        raw
    };
    let parse = |raw: &str| match PhoneNumber::parse(raw, region) {
        Err(PhoneError::UnknownRegion(_)) => PhoneNumber::parse(raw, None),
        read => read,
    };
    match parse(raw) {
        Ok(number) => Ok(number),
        Err(error) => {
            // Excel reads "+32 471 12 34 56" as the number 32471123456.
            let digits = raw.bytes().all(|b| b.is_ascii_digit());
            if digits && raw.len() >= 10 && !raw.starts_with('0') {
                if let Ok(number) = parse(&format!("+{raw}")) {
                    return Ok(number);
                }
            }
            Err(error.to_string())
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_value_over_its_limit_is_refused_by_its_length_without_being_repeated() {
        let name = "A".repeat(10_000_000);
        let reason = too_long(Kind::Name, &name).expect("too long");
        assert!(
            reason.starts_with("is 10000000 characters long"),
            "{reason}"
        );
        assert!(reason.len() < 200, "{reason}");
        assert_eq!(
            too_long(Kind::Name, &"é".repeat(100)),
            None,
            "characters, not bytes"
        );
        let address = format!("{}@example.be", "a".repeat(300));
        assert!(email(&address).is_err_and(|reason| reason.len() < 200));
        assert!(phone(&"4".repeat(41), None).is_err_and(|reason| reason.len() < 200));
    }

    #[test]
    fn numbers_and_addresses_read_as_exports_write_them() {
        assert_eq!(
            phone("0471\u{a0}12 34 56", None).map(|n| n.e164),
            Ok("+32471123456".to_string())
        );
        assert_eq!(
            phone("32471123456", None).map(|n| n.e164),
            Ok("+32471123456".to_string())
        );
        assert_eq!(
            phone("06 12 34 56 78", Some("FR")).map(|n| n.e164),
            Ok("+33612345678".to_string())
        );
        assert_eq!(
            email("mailto:an@example.be"),
            Ok("an@example.be".to_string())
        );
        assert!(email("an@").is_err());
        assert_eq!(quoted(&"x".repeat(100)), format!("\"{}\"…", "x".repeat(60)));
    }
}
