//! Webhook mode: Telegram posts each update to `tocsin serve` with the secret given to
//! `setWebhook` in `X-Telegram-Bot-Api-Secret-Token`, and posts it again until it gets a
//! 2xx. The route (`web/areas/telegram.rs`) answers at once; the bot handles the update
//! after, once per `update_id`.

use sha2::{Digest, Sha256};
use std::collections::{HashSet, VecDeque};
use std::sync::Mutex;
use teloxide::types::Update;
use tokio::sync::mpsc;

/// Update ids remembered, against Telegram's redeliveries.
const REMEMBERED: usize = 4096;

/// Updates waiting for the bot; a full queue answers 503, so Telegram posts again later.
pub const QUEUE: usize = 1024;

/// What the route hands updates to.
pub struct Intake {
    secret: [u8; 32],
    queue: mpsc::Sender<Update>,
    seen: Mutex<Seen>,
}

#[derive(Default)]
struct Seen {
    order: VecDeque<u32>,
    ids: HashSet<u32>,
}

/// What became of an update offered to the bot.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Offered {
    Queued,
    /// Taken before: Telegram posted it again.
    Again,
    /// The bot is behind (or stopped): not taken.
    Full,
}

impl Intake {
    /// The intake, and the queue the bot reads.
    pub fn new(secret: &str) -> (Intake, mpsc::Receiver<Update>) {
        let (queue, updates) = mpsc::channel(QUEUE);
        let intake = Intake {
            secret: Sha256::digest(secret.as_bytes()).into(),
            queue,
            seen: Mutex::default(),
        };
        (intake, updates)
    }

    /// Whether the header holds the secret, compared in constant time (of hashes, so that
    /// its length is not told either).
    pub fn authentic(&self, header: Option<&[u8]>) -> bool {
        let Some(header) = header else {
            return false;
        };
        let given: [u8; 32] = Sha256::digest(header).into();
        crate::accounts::same_secret(&given, &self.secret)
    }

    pub fn offer(&self, update: Update) -> Offered {
        let id = update.id.0;
        let mut seen = self.seen.lock().unwrap_or_else(|e| e.into_inner());
        if seen.ids.contains(&id) {
            return Offered::Again;
        }
        if self.queue.try_send(update).is_err() {
            return Offered::Full;
        }
        seen.ids.insert(id);
        seen.order.push_back(id);
        if seen.order.len() > REMEMBERED {
            if let Some(oldest) = seen.order.pop_front() {
                seen.ids.remove(&oldest);
            }
        }
        Offered::Queued
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn update(id: u32) -> Update {
        serde_json::from_value(serde_json::json!({"update_id": id, "message": {
            "message_id": 1, "date": 0, "chat": {"id": 5, "type": "private", "first_name": "A"},
            "text": "/status"
        }}))
        .expect("an update")
    }

    #[test]
    fn only_the_secret_passes_and_an_update_is_taken_once() {
        let (intake, mut updates) = Intake::new("s3cret");
        assert!(intake.authentic(Some(b"s3cret")));
        assert!(!intake.authentic(Some(b"s3cre")));
        assert!(!intake.authentic(Some(b"")));
        assert!(!intake.authentic(None));
        assert_eq!(intake.offer(update(7)), Offered::Queued);
        assert_eq!(intake.offer(update(7)), Offered::Again);
        assert_eq!(intake.offer(update(8)), Offered::Queued);
        assert_eq!(updates.try_recv().expect("first").id.0, 7);
        assert_eq!(updates.try_recv().expect("second").id.0, 8);
        assert!(updates.try_recv().is_err());
    }
}
