//! Phone numbers as exports write them ("0471 12 34 56", "+32 (0)3 217 71 11", "0032…"),
//! normalised to E.164 with libphonenumber's metadata.

use phonenumber::country::Id;
use phonenumber::metadata::DATABASE;
use phonenumber::{Mode, Type};

/// A number in E.164, and whether it can receive SMS.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PhoneNumber {
    pub e164: String,
    /// Mobile numbers take SMS; landlines are kept for the call centre only.
    pub sms_capable: bool,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PhoneError {
    #[error("{0:?} is not a phone number")]
    Unparsable(String),
    #[error("{0:?} is not a valid number in {1}")]
    Invalid(String, String),
    #[error("unknown country code {0:?}: use two letters, e.g. BE, NL, FR")]
    UnknownRegion(String),
}

impl PhoneNumber {
    /// `region` is the ISO 3166 country for numbers written without a country code: the
    /// patient's address country when the export has one, Belgium otherwise.
    pub fn parse(raw: &str, region: Option<&str>) -> Result<PhoneNumber, PhoneError> {
        let region_code = region.unwrap_or("BE").trim().to_ascii_uppercase();
        let country: Id = region_code
            .parse()
            .map_err(|_| PhoneError::UnknownRegion(region_code.clone()))?;
        let cleaned = raw.trim().replace("(0)", "");
        let number = phonenumber::parse(Some(country), &cleaned)
            .map_err(|_| PhoneError::Unparsable(raw.trim().to_string()))?;
        if !number.is_valid() {
            return Err(PhoneError::Invalid(raw.trim().to_string(), region_code));
        }
        let sms_capable = matches!(
            number.number_type(&DATABASE),
            Type::Mobile | Type::FixedLineOrMobile
        );
        Ok(PhoneNumber {
            e164: number.format().mode(Mode::E164).to_string(),
            sms_capable,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn belgian_numbers_as_exports_write_them() {
        let mobile = PhoneNumber::parse("0471 12 34 56", None).expect("valid");
        assert_eq!(mobile.e164, "+32471123456");
        assert!(mobile.sms_capable);
        let landline = PhoneNumber::parse("+32 (0)3 217 71 11", None).expect("valid");
        assert_eq!(landline.e164, "+3232177111");
        assert!(!landline.sms_capable, "a landline takes no SMS");
        assert_eq!(
            PhoneNumber::parse("0032 471 12 34 56", None)
                .expect("valid")
                .e164,
            "+32471123456"
        );
    }

    #[test]
    fn neighbouring_countries_by_the_address_country() {
        let dutch = PhoneNumber::parse("06 12345678", Some("NL")).expect("valid");
        assert_eq!(dutch.e164, "+31612345678");
        assert!(dutch.sms_capable);
        let french = PhoneNumber::parse("06 12 34 56 78", Some("fr")).expect("valid");
        assert_eq!(french.e164, "+33612345678");
    }

    #[test]
    fn nonsense_is_refused_with_what_was_written() {
        assert!(matches!(
            PhoneNumber::parse("0471 12", None),
            Err(PhoneError::Invalid(..) | PhoneError::Unparsable(_))
        ));
        assert_eq!(
            PhoneNumber::parse("call me", None),
            Err(PhoneError::Unparsable("call me".into()))
        );
        assert!(matches!(
            PhoneNumber::parse("0471123456", Some("XX")),
            Err(PhoneError::UnknownRegion(_))
        ));
    }
}
