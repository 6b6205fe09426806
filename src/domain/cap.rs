//! What an update says in the terms of CAP 1.2 (OASIS Common Alerting Protocol), for the
//! alerts the press room publishes. The update file may set each value in its `[cap]` table;
//! what it leaves out follows from the update's kind ([`CapFields::resolve`]).

use super::UpdateKind;
use serde::{Deserialize, Serialize};

macro_rules! cap_values {
    ($(#[$doc:meta])* $name:ident: $($variant:ident = $text:literal),+ $(,)?) => {
        $(#[$doc])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
        pub enum $name {
            $($variant),+
        }

        impl $name {
            pub const ALL: &'static [$name] = &[$($name::$variant),+];

            /// As CAP writes it.
            pub fn as_str(self) -> &'static str {
                match self {
                    $($name::$variant => $text),+
                }
            }

            /// As CAP writes it, or in any case (`"immediate"`).
            pub fn parse(text: &str) -> Result<Self, String> {
                let text = text.trim();
                Self::ALL
                    .iter()
                    .copied()
                    .find(|value| value.as_str().eq_ignore_ascii_case(text))
                    .ok_or_else(|| {
                        let known: Vec<&str> = Self::ALL.iter().map(|value| value.as_str()).collect();
                        format!(
                            "{text:?} is not a CAP {}: use one of {}",
                            stringify!($name).to_lowercase(),
                            known.join(", ")
                        )
                    })
            }
        }
    };
}

cap_values!(
    /// How soon to act.
    Urgency: Immediate = "Immediate", Expected = "Expected", Future = "Future", Past = "Past",
    Unknown = "Unknown",
);
cap_values!(
    /// How bad it is.
    Severity: Extreme = "Extreme", Severe = "Severe", Moderate = "Moderate", Minor = "Minor",
    Unknown = "Unknown",
);
cap_values!(
    /// How sure we are.
    Certainty: Observed = "Observed", Likely = "Likely", Possible = "Possible",
    Unlikely = "Unlikely", Unknown = "Unknown",
);
cap_values!(
    /// What the public should do.
    ResponseType: Shelter = "Shelter", Evacuate = "Evacuate", Prepare = "Prepare",
    Execute = "Execute", Avoid = "Avoid", Monitor = "Monitor", Assess = "Assess",
    AllClear = "AllClear", None = "None",
);

/// What the update file set; `None` takes the kind's default.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct CapFields {
    pub urgency: Option<Urgency>,
    pub severity: Option<Severity>,
    pub certainty: Option<Certainty>,
    pub response_type: Option<ResponseType>,
}

/// Every value, defaults applied.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CapValues {
    pub urgency: Urgency,
    pub severity: Severity,
    pub certainty: Certainty,
    pub response_type: ResponseType,
}

impl CapFields {
    /// The defaults: an alert or update of a hospital in crisis is happening now, a serious
    /// disruption, observed, and the public should follow the news (Immediate, Severe,
    /// Observed, Monitor); a cancellation or all-clear is over (Past, Minor, Observed, with
    /// None and AllClear).
    pub fn resolve(&self, kind: UpdateKind) -> CapValues {
        let defaults = match kind {
            UpdateKind::Alert | UpdateKind::Update => CapValues {
                urgency: Urgency::Immediate,
                severity: Severity::Severe,
                certainty: Certainty::Observed,
                response_type: ResponseType::Monitor,
            },
            UpdateKind::Cancel => CapValues {
                urgency: Urgency::Past,
                severity: Severity::Minor,
                certainty: Certainty::Observed,
                response_type: ResponseType::None,
            },
            UpdateKind::AllClear => CapValues {
                urgency: Urgency::Past,
                severity: Severity::Minor,
                certainty: Certainty::Observed,
                response_type: ResponseType::AllClear,
            },
        };
        CapValues {
            urgency: self.urgency.unwrap_or(defaults.urgency),
            severity: self.severity.unwrap_or(defaults.severity),
            certainty: self.certainty.unwrap_or(defaults.certainty),
            response_type: self.response_type.unwrap_or(defaults.response_type),
        }
    }
}

/// CAP's `msgType`: an all-clear updates the alerts before it (its `responseType` says
/// AllClear); a cancellation cancels them.
pub fn message_type(kind: UpdateKind) -> &'static str {
    match kind {
        UpdateKind::Alert => "Alert",
        UpdateKind::Update | UpdateKind::AllClear => "Update",
        UpdateKind::Cancel => "Cancel",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn values_are_read_in_any_case_and_a_wrong_one_names_the_right_ones() {
        assert_eq!(Urgency::parse("immediate"), Ok(Urgency::Immediate));
        assert_eq!(
            ResponseType::parse(" allclear "),
            Ok(ResponseType::AllClear)
        );
        let wrong = Severity::parse("Bad").expect_err("not a severity");
        assert!(
            wrong.contains("Extreme, Severe, Moderate, Minor, Unknown"),
            "{wrong}"
        );
    }

    #[test]
    fn what_the_file_leaves_out_follows_from_the_kind() {
        let set = CapFields {
            severity: Some(Severity::Moderate),
            ..CapFields::default()
        };
        let alert = set.resolve(UpdateKind::Alert);
        assert_eq!(alert.severity, Severity::Moderate);
        assert_eq!(alert.urgency, Urgency::Immediate);
        let clear = CapFields::default().resolve(UpdateKind::AllClear);
        assert_eq!(clear.response_type, ResponseType::AllClear);
        assert_eq!(message_type(UpdateKind::AllClear), "Update");
        assert_eq!(message_type(UpdateKind::Cancel), "Cancel");
    }
}
