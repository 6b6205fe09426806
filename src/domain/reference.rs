//! The public reference of an update (`ZNA-20260113-7KQ4`): printed on every message, page and
//! feed of that update, so that a reader can check on the public site that a message came from
//! the hospital. In a cyberattack fake messages follow real ones; a reference that could be
//! guessed from another one (a counter) would let a forger print a plausible one, so its
//! last part is drawn at random.

use chrono::NaiveDate;
use std::fmt;

/// Crockford's base 32: no I, L, O or U, which readers confuse with 1, 0 and V.
const ALPHABET: &[u8; 32] = b"0123456789ABCDEFGHJKMNPQRSTVWXYZ";

/// Random characters at the end: 32⁴ ≈ one million per prefix and day.
pub const RANDOM_CHARACTERS: usize = 4;

/// Characters kept of the hospital's short name.
const MAX_PREFIX: usize = 12;

#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct PublicReference(String);

impl PublicReference {
    /// The reference of an update drafted on `date` (in the hospital's time zone) by the
    /// hospital called `short_name`; `draw` is random bytes, each taken modulo 32.
    pub fn new(short_name: &str, date: NaiveDate, draw: [u8; RANDOM_CHARACTERS]) -> Self {
        let mut prefix: String = short_name
            .chars()
            .filter(char::is_ascii_alphanumeric)
            .map(|c| c.to_ascii_uppercase())
            .take(MAX_PREFIX)
            .collect();
        if prefix.is_empty() {
            prefix.push_str("REF");
        }
        let random: String = draw
            .iter()
            .map(|byte| ALPHABET[usize::from(byte % 32)] as char)
            .collect();
        PublicReference(format!("{prefix}-{}-{random}", date.format("%Y%m%d")))
    }

    /// A reference as a person typed or pasted it: case, spaces around it and the letters
    /// people write for digits (O for 0, I and L for 1) do not matter. `None` when it does not
    /// have the shape of a reference at all.
    pub fn parse(typed: &str) -> Option<Self> {
        let typed = typed.trim().to_ascii_uppercase();
        let mut parts = typed.split('-');
        let (prefix, date, random) = (parts.next()?, parts.next()?, parts.next()?);
        if parts.next().is_some()
            || prefix.is_empty()
            || prefix.len() > MAX_PREFIX
            || !prefix.chars().all(|c| c.is_ascii_alphanumeric())
            || date.len() != 8
            || !date.chars().all(|c| c.is_ascii_digit())
            || random.chars().count() != RANDOM_CHARACTERS
        {
            return None;
        }
        let random = random
            .chars()
            .map(|c| match c {
                'O' => Some('0'),
                'I' | 'L' => Some('1'),
                c if c.is_ascii() && ALPHABET.contains(&(c as u8)) => Some(c),
                _ => None,
            })
            .collect::<Option<String>>()?;
        Some(PublicReference(format!("{prefix}-{date}-{random}")))
    }

    /// A reference as stored: trusted to have been made by [`PublicReference::new`].
    pub fn from_stored(stored: String) -> Self {
        PublicReference(stored)
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for PublicReference {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn day() -> NaiveDate {
        NaiveDate::from_ymd_opt(2026, 1, 13).expect("valid date")
    }

    #[test]
    fn a_reference_names_the_hospital_the_day_and_four_random_characters() {
        let reference = PublicReference::new("ZNA", day(), [7, 18, 23, 4]);
        assert_eq!(reference.as_str(), "ZNA-20260113-7JQ4");
        let odd = PublicReference::new("A.Z. Sint-Jan!", day(), [255, 0, 32, 31]);
        assert_eq!(odd.as_str(), "AZSINTJAN-20260113-Z00Z");
        assert_eq!(
            PublicReference::new(" ", day(), [1; 4]).as_str(),
            "REF-20260113-1111"
        );
    }

    #[test]
    fn a_typed_reference_is_read_as_a_person_means_it() {
        let genuine = PublicReference::new("ZNA", day(), [7, 18, 23, 4]);
        for typed in [
            "ZNA-20260113-7JQ4",
            "  zna-20260113-7jq4 ",
            "ZNA-20260113-7JQ4\n",
        ] {
            assert_eq!(
                PublicReference::parse(typed).as_ref(),
                Some(&genuine),
                "{typed:?}"
            );
        }
        assert_eq!(
            PublicReference::parse("ZNA-20260113-O1LI").map(|r| r.0),
            Some("ZNA-20260113-0111".to_string())
        );
        for wrong in [
            "",
            "ZNA",
            "ZNA-2026013-7JQ4",
            "ZNA-20260113-7JQ",
            "ZNA-20260113-7JQ4-X",
            "ZNA-20260113-7JQU",
            "ZNA-20260113-7JQ<",
            "<script>-20260113-7JQ4",
            "ZNA-20260113-7JQé",
        ] {
            assert_eq!(PublicReference::parse(wrong), None, "{wrong:?}");
        }
    }
}
