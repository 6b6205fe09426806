//! A gateway's delivery receipt, read: what the gateway said about one message.

use super::DeliveryState;

/// A gateway's delivery receipt, as `tocsin serve` received and understood it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Receipt {
    /// The gateway's configured name: the prefix of the delivery's `gateway_id`.
    pub gateway: String,
    /// The gateway's message id (the rest of `gateway_id`), if the receipt gives one.
    pub message_id: Option<String>,
    /// The delivery id of the callback URL (`?delivery=<id>`), if it has one.
    pub delivery_id: Option<i64>,
    /// Whether the gateway proved it knows a shared secret (a valid Kannel token, Twilio or
    /// Vonage signature). An unverified receipt must name the delivery's message id exactly,
    /// so it cannot apply to a delivery whose send is not recorded yet.
    pub verified: bool,
    /// The gateway's own report, the key that makes a repeated receipt a no-op.
    pub status: String,
    /// What the report means: `Sent` (buffered, accepted: an event only), `Delivered`,
    /// `Failed` (final: no next attempt) or `Undeliverable` (the number is bad).
    pub state: DeliveryState,
    pub code: Option<String>,
    pub text: Option<String>,
    pub at_ms: i64,
}
