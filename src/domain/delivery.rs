use serde::{Deserialize, Serialize};
use std::fmt;
use std::str::FromStr;

/// How a delivery travels.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ChannelKind {
    Email,
    Sms,
    Telegram,
}

impl ChannelKind {
    pub const ALL: [ChannelKind; 3] = [ChannelKind::Email, ChannelKind::Sms, ChannelKind::Telegram];

    pub fn as_str(self) -> &'static str {
        match self {
            ChannelKind::Email => "email",
            ChannelKind::Sms => "sms",
            ChannelKind::Telegram => "telegram",
        }
    }
}

impl fmt::Display for ChannelKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown channel {0:?}: use email, sms or telegram")]
pub struct UnknownChannel(pub String);

impl FromStr for ChannelKind {
    type Err = UnknownChannel;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.trim().to_ascii_lowercase().as_str() {
            "email" | "e-mail" | "mail" => Ok(ChannelKind::Email),
            "sms" => Ok(ChannelKind::Sms),
            "telegram" => Ok(ChannelKind::Telegram),
            _ => Err(UnknownChannel(s.to_string())),
        }
    }
}

/// Where a delivery stands. `failed` with a next attempt is waiting for a retry; `failed`
/// without one has used up its attempts. `uncertain`: handed over to the server, whose answer
/// was never recorded (the sending process died, or the connection broke after the data):
/// the message may or may not have arrived, so it is neither counted sent nor sent again
/// unless a person asks. `cancelled`: the update was halted before this one left.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum DeliveryState {
    Pending,
    Sending,
    Sent,
    Delivered,
    Failed,
    Undeliverable,
    Skipped,
    Uncertain,
    Cancelled,
}

impl DeliveryState {
    pub const ALL: [DeliveryState; 9] = [
        DeliveryState::Pending,
        DeliveryState::Sending,
        DeliveryState::Sent,
        DeliveryState::Delivered,
        DeliveryState::Failed,
        DeliveryState::Undeliverable,
        DeliveryState::Skipped,
        DeliveryState::Uncertain,
        DeliveryState::Cancelled,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            DeliveryState::Pending => "pending",
            DeliveryState::Sending => "sending",
            DeliveryState::Sent => "sent",
            DeliveryState::Delivered => "delivered",
            DeliveryState::Failed => "failed",
            DeliveryState::Undeliverable => "undeliverable",
            DeliveryState::Skipped => "skipped",
            DeliveryState::Uncertain => "uncertain",
            DeliveryState::Cancelled => "cancelled",
        }
    }

    /// Nothing more will happen to it unless a person asks (`update retry`) or a receipt comes.
    pub fn is_final(self) -> bool {
        !matches!(
            self,
            DeliveryState::Pending | DeliveryState::Sending | DeliveryState::Failed
        )
    }

    /// The states a person may send again with `update retry`.
    pub fn retryable_on_request(self) -> bool {
        matches!(
            self,
            DeliveryState::Failed | DeliveryState::Undeliverable | DeliveryState::Uncertain
        )
    }

    /// Whether the state machine allows moving from `self` to `to`. Receipts can arrive late
    /// and out of order, so `sent` may still turn into `failed`, and `delivered` is final.
    /// A receipt can also arrive before the send was recorded (the gateway answered, the
    /// receipt came back, and the group commit has not run yet): `sending → delivered` takes
    /// it, and the worker's later `sending → sent` is dropped as stale.
    ///
    /// A halt cancels what has not left; a message already in a gateway's hands when the halt
    /// came may still be accepted (`cancelled → sent`): the record says what happened. A
    /// person may send again what failed, was refused or is uncertain (`→ pending`).
    pub fn can_become(self, to: DeliveryState) -> bool {
        use DeliveryState::*;
        matches!(
            (self, to),
            (Pending, Sending | Skipped | Cancelled)
                | (
                    Sending,
                    Sent | Delivered | Failed | Undeliverable | Pending | Uncertain | Cancelled
                )
                | (Failed, Sending | Pending | Cancelled)
                | (Sent, Delivered | Failed | Undeliverable)
                | (Undeliverable, Pending)
                | (Uncertain, Pending | Delivered)
                | (Cancelled, Sent | Delivered)
        )
    }
}

impl fmt::Display for DeliveryState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown delivery state {0:?}")]
pub struct UnknownState(pub String);

impl FromStr for DeliveryState {
    type Err = UnknownState;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        DeliveryState::ALL
            .into_iter()
            .find(|state| state.as_str() == s)
            .ok_or_else(|| UnknownState(s.to_string()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn states_round_trip_through_their_names() {
        for state in DeliveryState::ALL {
            assert_eq!(state.as_str().parse::<DeliveryState>(), Ok(state));
        }
        assert!("lost".parse::<DeliveryState>().is_err());
    }

    #[test]
    fn final_states_are_left_only_by_a_persons_retry_or_the_truth_of_a_receipt() {
        use DeliveryState::*;
        for to in DeliveryState::ALL {
            assert!(!Delivered.can_become(to));
            assert!(!Skipped.can_become(to));
            assert_eq!(Undeliverable.can_become(to), to == Pending);
            assert_eq!(Uncertain.can_become(to), matches!(to, Pending | Delivered));
            assert_eq!(Cancelled.can_become(to), matches!(to, Sent | Delivered));
        }
        for state in DeliveryState::ALL {
            assert_eq!(
                state.retryable_on_request(),
                state.is_final() && state.can_become(Pending) || state == Failed,
                "{state}"
            );
        }
        assert!(Pending.can_become(Sending));
        assert!(Sending.can_become(Sent));
        assert!(Sent.can_become(Delivered));
        assert!(
            !Pending.can_become(Sent),
            "nothing is sent without being claimed first"
        );
    }
}
