//! How a rendered message leaves Tocsin. A channel knows nothing of the database: it takes a
//! message and says what became of it. The dispatcher does the bookkeeping.

pub mod email;
pub mod outbox;
pub mod sms;
pub mod telegram;

use crate::domain::{ChannelKind, Language, RenderedMessage};
use async_trait::async_trait;
use std::time::Duration;

/// One rendered message, addressed.
#[derive(Debug, Clone)]
pub struct Message {
    pub delivery_id: i64,
    pub update_id: i64,
    pub channel: ChannelKind,
    pub address: String,
    pub language: Language,
    pub content: RenderedMessage,
    /// 1 for the first attempt.
    pub attempt: u32,
    /// The gateway id of an earlier message this one answers (Telegram: a public channel's
    /// post of the incident's update before), if any.
    pub reply_to: Option<String>,
}

/// What became of one attempt. Only `Rejected` is a fact about the recipient; `Unavailable`
/// and `Misconfigured` are about the channel (rule 1 of the design: a mistake of ours is never
/// recorded as a fact about a recipient), so the dispatcher counts no attempt against the
/// delivery for them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    /// The gateway took the message; its id for the message is kept on the delivery.
    Accepted {
        gateway_id: String,
        detail: Option<String>,
    },
    /// This message, later: the server deferred this recipient (SMTP 4xx to `RCPT` or to
    /// the data), or asked us to slow down. `after` is the gateway's own wish
    /// (`Retry-After`), if it said one.
    RetryLater {
        after: Option<Duration>,
        reason: String,
    },
    /// The channel cannot take anything now (connection refused, timeout, every SMS gateway
    /// down): the message waits, and the channel pauses. `after` is when it is worth trying
    /// again, if the channel knows.
    Unavailable {
        after: Option<Duration>,
        reason: String,
    },
    /// The channel's configuration is wrong (the server refuses our session, a gateway does
    /// not know our account or path): nothing on this channel can succeed until a person
    /// fixes it, so the run stops the channel with this reason.
    Misconfigured { reason: String },
    /// This recipient, for good: a bad address, a hard bounce, a number the gateway names
    /// as invalid. Retrying, here or elsewhere, cannot help.
    Rejected { reason: String },
}

/// What a channel tells the dispatcher in the middle of a send: its point of no return, and
/// an address that moved.
///
/// The point of no return of a send. A channel that can tell when the gateway is about to
/// take the message for good (SMTP: right before the message's final `.`) calls `commit`
/// there, and the dispatcher records the delivery as `sent` before the channel goes on. A
/// crash after that point cannot send the message twice. `release` runs the instant the record
/// is durable, before any task is woken: what it does (write those last bytes) leaves the
/// smallest gap between the record and the act. Returns false when the record could not be
/// written (and `release` did not run): the channel must then abandon the send.
#[async_trait]
pub trait Handover: Send {
    async fn commit(&mut self, gateway_id: &str, release: Release) -> bool;

    /// The recipient's address moved for good, as the gateway said (a Telegram group that
    /// became a supergroup): the message goes to `address`, and the dispatcher records it on
    /// the contact and the delivery, so that later messages go there at once. `why` is the
    /// gateway's answer. Returns false when nothing could be recorded.
    async fn readdressed(&mut self, address: &str, why: &str) -> bool {
        let _ = (address, why);
        false
    }

    /// The recipient is gone for good at `address` (a Telegram chat that blocked the bot, a
    /// deactivated user, a chat that does not exist): the dispatcher ends whatever
    /// subscription brought messages there. `why` is the gateway's answer. Returns false when
    /// nothing could be recorded.
    async fn gone(&mut self, address: &str, why: &str) -> bool {
        let _ = (address, why);
        false
    }
}

/// What a channel does the instant its handover is recorded.
pub type Release = Box<dyn FnOnce() + Send>;

#[async_trait]
pub trait Channel: Send + Sync {
    async fn send(&self, message: &Message, handover: &mut dyn Handover) -> Outcome;
}

/// A handover that records nothing, for previews and benchmarks.
pub struct NoHandover;

#[async_trait]
impl Handover for NoHandover {
    async fn commit(&mut self, _gateway_id: &str, release: Release) -> bool {
        release();
        true
    }
}

/// Masks an address for logs: enough to tell two apart, not enough to contact anyone.
pub fn mask(address: &str) -> String {
    if let Some((local, domain)) = address.split_once('@') {
        let first: String = local.chars().take(1).collect();
        return format!("{first}***@{domain}");
    }
    let chars: Vec<char> = address.chars().collect();
    if chars.len() <= 6 {
        return "***".into();
    }
    let head: String = chars[..4].iter().collect();
    let tail: String = chars[chars.len() - 2..].iter().collect();
    format!("{head}***{tail}")
}

#[cfg(test)]
mod tests {
    use super::mask;

    #[test]
    fn logs_never_show_a_whole_address() {
        assert_eq!(mask("an.peeters@example.be"), "a***@example.be");
        assert_eq!(mask("+32471123456"), "+324***56");
        assert_eq!(mask("12345"), "***");
    }
}
