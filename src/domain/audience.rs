//! Who an update is for, as the spokesperson names it: `patients from=2026-01-13
//! to=2026-01-14 campus=Deurne`, `gps-of-affected`, `all-gps`, `media`.

use super::Audience;
use chrono::NaiveDate;
use std::fmt;

/// Patients with a booked appointment matching every given condition. Dates are calendar
/// days in the hospital's time zone, both ends included.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PatientFilter {
    pub from: Option<NaiveDate>,
    pub to: Option<NaiveDate>,
    pub campus: Option<String>,
    pub department: Option<String>,
}

/// A filter resolved to instants: what the store selects on.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AppointmentWindow {
    /// Inclusive, Unix milliseconds.
    pub from_ms: Option<i64>,
    /// Exclusive, Unix milliseconds.
    pub to_ms: Option<i64>,
    pub campus: Option<String>,
    pub department: Option<String>,
}

impl PatientFilter {
    /// Calendar days in `tz` become instants: `from` at midnight, `to` up to the next midnight.
    pub fn window(&self, tz: chrono_tz::Tz) -> AppointmentWindow {
        let midnight = |date: NaiveDate| {
            date.and_hms_opt(0, 0, 0)
                .and_then(|local| local.and_local_timezone(tz).earliest())
                .map(|instant| instant.timestamp_millis())
        };
        AppointmentWindow {
            from_ms: self.from.and_then(midnight),
            to_ms: self.to.and_then(|to| to.succ_opt()).and_then(midnight),
            campus: self.campus.clone(),
            department: self.department.clone(),
        }
    }
}

/// What the store is asked for, page by page.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Selection {
    /// Patients with a booked appointment in the window, with those appointments.
    Patients(AppointmentWindow),
    /// GPs of patients with a booked appointment in any of the windows, each with those
    /// patients.
    GpsOf(Vec<AppointmentWindow>),
    AllGps,
    Media,
    /// Contacts of role `public` with a Telegram chat.
    Public,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AudienceSpec {
    Patients(PatientFilter),
    /// The GPs of the patients the update's `patients` selections name.
    GpsOfAffected,
    AllGps,
    Media,
    /// The public followers on Telegram: never written in an update file, implied by the
    /// `telegram` channel (`Update::planned_audiences`).
    Public,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("audience {spec:?}: {reason}")]
pub struct AudienceError {
    pub spec: String,
    pub reason: String,
}

impl AudienceSpec {
    pub fn parse(raw: &str) -> Result<AudienceSpec, AudienceError> {
        let fail = |reason: String| AudienceError {
            spec: raw.to_string(),
            reason,
        };
        let mut words = raw.split_whitespace();
        let kind = words.next().unwrap_or_default();
        let options: Vec<&str> = words.collect();
        let no_options = |spec: AudienceSpec| {
            if options.is_empty() {
                Ok(spec)
            } else {
                Err(fail(format!(
                    "{kind} takes no options (found {})",
                    options.join(" ")
                )))
            }
        };
        match kind {
            "patients" => {
                let mut filter = PatientFilter::default();
                for option in options {
                    let (key, value) = option
                        .split_once('=')
                        .ok_or_else(|| fail(format!("{option:?} is not key=value")))?;
                    let date = |value: &str| {
                        NaiveDate::parse_from_str(value, "%Y-%m-%d").map_err(|_| {
                            fail(format!("{key}={value}: write the date as YYYY-MM-DD"))
                        })
                    };
                    match key {
                        "from" => filter.from = Some(date(value)?),
                        "to" => filter.to = Some(date(value)?),
                        "campus" => filter.campus = Some(value.replace('_', " ")),
                        "department" => filter.department = Some(value.replace('_', " ")),
                        other => {
                            return Err(fail(format!(
                                "unknown option {other:?}: use from, to, campus, department"
                            )))
                        }
                    }
                }
                if let (Some(from), Some(to)) = (filter.from, filter.to) {
                    if from > to {
                        return Err(fail(format!("from={from} is after to={to}")));
                    }
                }
                Ok(AudienceSpec::Patients(filter))
            }
            "gps-of-affected" => no_options(AudienceSpec::GpsOfAffected),
            "all-gps" | "gps" => no_options(AudienceSpec::AllGps),
            "media" | "press" => no_options(AudienceSpec::Media),
            other => Err(fail(format!(
                "unknown audience {other:?}: use patients, gps-of-affected, all-gps or media"
            ))),
        }
    }

    /// Resolves the spec against the other audiences of the same update (`gps-of-affected`
    /// follows its `patients` selections) in the hospital's time zone.
    pub fn selection(&self, all: &[AudienceSpec], tz: chrono_tz::Tz) -> Selection {
        match self {
            AudienceSpec::Patients(filter) => Selection::Patients(filter.window(tz)),
            AudienceSpec::GpsOfAffected => Selection::GpsOf(
                all.iter()
                    .filter_map(|spec| match spec {
                        AudienceSpec::Patients(filter) => Some(filter.window(tz)),
                        _ => None,
                    })
                    .collect(),
            ),
            AudienceSpec::AllGps => Selection::AllGps,
            AudienceSpec::Media => Selection::Media,
            AudienceSpec::Public => Selection::Public,
        }
    }

    /// The template family its members are written to with.
    pub fn family(&self) -> Audience {
        match self {
            AudienceSpec::Patients(_) => Audience::Patients,
            AudienceSpec::GpsOfAffected | AudienceSpec::AllGps => Audience::Gps,
            AudienceSpec::Media => Audience::Media,
            AudienceSpec::Public => Audience::Public,
        }
    }
}

impl fmt::Display for AudienceSpec {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            AudienceSpec::Patients(filter) => {
                f.write_str("patients")?;
                if let Some(from) = filter.from {
                    write!(f, " from={from}")?;
                }
                if let Some(to) = filter.to {
                    write!(f, " to={to}")?;
                }
                if let Some(campus) = &filter.campus {
                    write!(f, " campus={}", campus.replace(' ', "_"))?;
                }
                if let Some(department) = &filter.department {
                    write!(f, " department={}", department.replace(' ', "_"))?;
                }
                Ok(())
            }
            AudienceSpec::GpsOfAffected => f.write_str("gps-of-affected"),
            AudienceSpec::AllGps => f.write_str("all-gps"),
            AudienceSpec::Media => f.write_str("media"),
            AudienceSpec::Public => f.write_str("public"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn specs_read_as_written_and_print_back_the_same() {
        for raw in [
            "patients from=2026-01-13 to=2026-01-14 campus=Deurne",
            "patients department=day_surgery",
            "patients",
            "gps-of-affected",
            "all-gps",
            "media",
        ] {
            let spec = AudienceSpec::parse(raw).expect("valid");
            assert_eq!(spec.to_string(), raw);
        }
        assert_eq!(AudienceSpec::parse("gps"), Ok(AudienceSpec::AllGps));
    }

    #[test]
    fn days_are_brussels_days() {
        let spec = AudienceSpec::parse("patients from=2026-01-13 to=2026-01-14").expect("valid");
        let AudienceSpec::Patients(filter) = spec else {
            panic!("patients")
        };
        let window = filter.window(chrono_tz::Europe::Brussels);
        // Midnight in Brussels is 23:00 UTC the day before in winter.
        assert_eq!(window.from_ms, Some(1_768_258_800_000));
        assert_eq!(window.to_ms, Some(1_768_258_800_000 + 2 * 86_400_000));
    }

    #[test]
    fn mistakes_are_named() {
        let error = AudienceSpec::parse("patients from=13/01/2026").expect_err("refused");
        assert!(error.reason.contains("YYYY-MM-DD"), "{error}");
        assert!(AudienceSpec::parse("patients from=2026-01-14 to=2026-01-13").is_err());
        assert!(AudienceSpec::parse("patients ward=3").is_err());
        assert!(AudienceSpec::parse("media campus=Deurne").is_err());
        assert!(AudienceSpec::parse("nurses").is_err());
    }
}
