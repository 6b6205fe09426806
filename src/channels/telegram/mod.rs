//! Telegram, through a bot and the Bot API (<https://core.telegram.org/bots/api>), with
//! teloxide: one `sendMessage` per delivery, the rendered text (`templates/telegram/`) in
//! HTML parse mode, to the contact's chat id (the delivery's address: digits, `-100…` for
//! a supergroup, or an `@channelusername`). A text longer than Telegram's 4096 characters
//! goes as several messages, cut between lines ([`split`]): the delivery is sent once the
//! first is accepted, and its detail names any later part that did not arrive.
//!
//! The Bot API answers `{"ok":true,"result":…}` or `{"ok":false,"error_code":…,
//! "description":…,"parameters":{…}}`; teloxide keeps the description and the parameters
//! (`retry_after`, `migrate_to_chat_id`), not the code, so each answer is judged by its
//! description, which starts with the HTTP reason phrase (`Bad Request: …`,
//! `Forbidden: …`). Whose problem each answer is ([`verdict`]):
//!
//! | the Bot API answers | Outcome |
//! |---|---|
//! | `ok: true`, a Message | `Accepted`, gateway id `telegram:<chat id>:<message_id>` |
//! | 429 `Too Many Requests: retry after N`, `parameters.retry_after` | `RetryLater` after N s, and no message to that chat before then |
//! | 400 with `parameters.migrate_to_chat_id` (a group became a supergroup) | told to the dispatcher (`Handover::readdressed`), which records the new chat id on the contacts; sent again at once to the new chat id, which this channel uses for the old one from then on |
//! | 403 `Forbidden: …` (`bot was blocked by the user`, `user is deactivated`, `bot was kicked from the group chat`, `bot can't initiate conversation with a user`, …) | `Rejected`: this chat, for good |
//! | 400 `Bad Request: chat not found`, `user not found`, `group is deactivated`, `PEER_ID_INVALID` | `Rejected` |
//! | 401 `Unauthorized`, 404 `Not Found` (a wrong token, or an `api_url` that is no Bot API) | `Misconfigured`: the bot's configuration; the channel stops |
//! | any other 400 (`can't parse entities`, `message is too long`, `message text is empty`, …) | `Misconfigured`: what we sent, which would meet every recipient |
//! | 5xx, another answer, an answer that is not the Bot API's JSON, a refused connection, a timeout | `Unavailable`: the dispatcher pauses the channel and probes it |
//!
//! Limits (Telegram's FAQ: about 30 messages per second overall, about one per second in a
//! chat) are both ours to keep: every message waits for its chat's interval since the last
//! message to it left, then for the overall rate (spaced evenly, no burst). A 429 holds its chat for as long
//! as Telegram asks: a message for that chat before then is `RetryLater` without a request.
//!
//! The token is the bot: it is in the URL of every request (`/bot<token>/sendMessage`), so
//! no error text leaves this module without it scrubbed ([`scrub`]), and no `Debug` shows it.

pub mod config;
pub mod link;
pub mod split;

pub use config::{BotToken, TelegramConfig, TelegramLimits, TelegramTransport, Webhook};

use super::{mask, Channel, Handover, Message, Outcome};
use crate::domain::GatewayId;
use async_trait::async_trait;
use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Mutex;
use std::time::{Duration, Instant};
use teloxide::payloads::SendMessageSetters;
use teloxide::requests::Requester;
use teloxide::types::{ChatId, MessageId, ParseMode, Recipient, ReplyParameters};
use teloxide::{ApiError, Bot, RequestError};

/// The name under which gateway ids and `tocsin status` know the Bot API.
pub const GATEWAY: &str = "telegram";

/// How many sends between two clean-ups of the chats' last messages and holds.
const FORGET_EVERY: u64 = 4096;

/// How much of an answer goes into a reason.
const REASON_MAX_CHARS: usize = 300;

/// The descriptions of a 400 that name the chat, not our request (lowercase).
const CHAT_GONE: [&str; 4] = [
    "bad request: chat not found",
    "bad request: user not found",
    "bad request: group is deactivated",
    "bad request: peer_id_invalid",
];

/// What one answer of the Bot API means for the delivery.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Verdict {
    Sent {
        chat: String,
        message_id: i32,
    },
    /// Flood control for this chat: nothing to it for this long.
    Wait {
        after: Duration,
        reason: String,
    },
    /// The chat is now this one (a group upgraded to a supergroup).
    Migrated {
        to: ChatId,
    },
    /// This chat, for good.
    Rejected(String),
    /// The bot's configuration: the token or the API's address, or what we sent.
    Misconfigured(String),
    /// Telegram, or the way to it, is in trouble.
    Unavailable(String),
}

/// Judges one answer of `sendMessage` to `chat`; `token` is scrubbed from every reason.
pub fn verdict(
    answer: Result<teloxide::types::Message, RequestError>,
    chat: &Recipient,
    token: &BotToken,
) -> Verdict {
    let error = match answer {
        Ok(message) => {
            return Verdict::Sent {
                chat: message.chat.id.to_string(),
                message_id: message.id.0,
            }
        }
        Err(error) => error,
    };
    match error {
        RequestError::RetryAfter(seconds) => Verdict::Wait {
            after: seconds.duration(),
            reason: format!(
                "Telegram 429: Too Many Requests: retry after {} s (this chat waits)",
                seconds.seconds()
            ),
        },
        RequestError::MigrateToChatId(to) => Verdict::Migrated { to },
        RequestError::Api(ApiError::InvalidToken) => Verdict::Misconfigured(
            "Telegram refuses the bot's token (401 Unauthorized or 404 Not Found): check the \
             token in [telegram] token_env and api_url"
                .into(),
        ),
        RequestError::Api(api) => {
            let description = match api {
                ApiError::Unknown(text) => text,
                known => known.to_string(),
            };
            by_description(&shorten(&description), chat)
        }
        RequestError::Network(error) => {
            let what = if error.is_timeout() {
                "timed out"
            } else if error.is_connect() {
                "cannot connect"
            } else {
                "request failed"
            };
            Verdict::Unavailable(scrub(
                &format!("Bot API {what}: {}", error_chain(error.as_ref())),
                token,
            ))
        }
        RequestError::InvalidJson { raw, .. } => Verdict::Unavailable(scrub(
            &format!(
                "the Bot API's answer is not its JSON (a proxy, or no Bot API at api_url?): {}",
                shorten(&raw)
            ),
            token,
        )),
        RequestError::Io(error) => {
            Verdict::Unavailable(scrub(&format!("Bot API request: {error}"), token))
        }
    }
}

/// An error answer by its description, which begins with the HTTP reason phrase of its
/// `error_code` (teloxide does not keep the code itself).
fn by_description(description: &str, chat: &Recipient) -> Verdict {
    let lower = description.to_lowercase();
    let about = |verdict: fn(String) -> Verdict| {
        verdict(format!(
            "Telegram: {description} (chat {})",
            mask_chat(chat)
        ))
    };
    if lower.starts_with("forbidden") || lower.starts_with("unauthorized:") {
        // 403 (and, in older answers, 401 with a reason): the bot may not write to this chat.
        about(Verdict::Rejected)
    } else if CHAT_GONE.iter().any(|gone| lower.starts_with(gone)) {
        about(Verdict::Rejected)
    } else if lower.starts_with("bad request") {
        Verdict::Misconfigured(format!("Telegram refuses the message: {description}"))
    } else if lower.starts_with("too many requests") {
        Verdict::Wait {
            after: Duration::ZERO,
            reason: format!("Telegram: {description}"),
        }
    } else {
        Verdict::Unavailable(format!("Telegram: {description}"))
    }
}

fn error_chain(error: &(dyn std::error::Error + 'static)) -> String {
    let mut text = error.to_string();
    let mut source = error.source();
    while let Some(cause) = source {
        text.push_str(": ");
        text.push_str(&cause.to_string());
        source = cause.source();
    }
    text
}

/// `text` without the token, wherever it is (a URL in an error, most often).
pub fn scrub(text: &str, token: &BotToken) -> String {
    let secret = token.expose();
    if secret.is_empty() {
        return text.to_string();
    }
    text.replace(secret, "<token>")
}

fn shorten(text: &str) -> String {
    let text = text.trim();
    let mut short: String = text.chars().take(REASON_MAX_CHARS).collect();
    if short.len() < text.len() {
        short.push('…');
    }
    short
}

fn mask_chat(chat: &Recipient) -> String {
    match chat {
        Recipient::Id(id) => mask(&id.to_string()),
        Recipient::ChannelUsername(name) => name.clone(),
    }
}

/// The delivery's address as the Bot API's `chat_id`: an integer, or an `@username`.
pub fn recipient(address: &str) -> Result<Recipient, String> {
    let address = address.trim();
    if address.starts_with('@') && address.len() > 1 {
        return Ok(Recipient::ChannelUsername(address.to_string()));
    }
    address
        .parse::<i64>()
        .map(|id| Recipient::Id(ChatId(id)))
        .map_err(|_| {
            format!(
                "{:?} is not a Telegram chat id (an integer) or @username",
                mask(address)
            )
        })
}

/// The message a gateway id `telegram:<chat>:<message_id>` names.
fn replied_message(gateway_id: &str) -> Option<MessageId> {
    let named: GatewayId = gateway_id.parse().ok()?;
    let (_chat, id) = named
        .id
        .rsplit_once(':')
        .filter(|_| named.gateway == GATEWAY)?;
    id.parse().ok().map(MessageId)
}

fn chat_key(chat: &Recipient) -> String {
    chat.to_string()
}

/// The overall rate, and each chat's last message and hold.
///
/// The overall rate: one message at a time takes its turn ([`Pace`]), `interval` after the
/// previous message's slot — not after the moment it left: a timer wakes up to a millisecond
/// late, and a limiter that counts from the wake-up (`governor`'s, without a burst) lost that
/// millisecond at every message (3,000 messages at 30/s took 102.4 s, not 100). Yet never
/// less than `interval - slack` after the previous message left: after a stall (a busy
/// machine), the schedule is caught up `slack` per message, never by a burst.
///
/// A chat's interval is kept by the time its messages actually leave, not by a reservation:
/// a message that waited its chat's turn then waits for the overall rate, and a keyed
/// limiter's permit taken before that wait would let the next message to the chat leave
/// less than the interval after it.
struct Limits {
    interval: Duration,
    slack: Duration,
    /// Held by the message whose turn comes next, while it waits.
    pace: tokio::sync::Mutex<Pace>,
    per_chat: Duration,
    chats: Mutex<HashMap<String, ChatTimes>>,
    sends: AtomicU64,
}

/// The overall rate's last turn: its slot, and when it was let through.
#[derive(Debug, Default, Clone, Copy)]
struct Pace {
    slot: Option<Instant>,
    left: Option<Instant>,
}

#[derive(Debug, Default, Clone, Copy)]
struct ChatTimes {
    last_sent: Option<Instant>,
    /// When a 429's `retry_after` ends.
    held_until: Option<Instant>,
}

impl Limits {
    fn new(limits: TelegramLimits) -> Limits {
        Limits {
            interval: Duration::from_secs(1) / limits.per_second.get(),
            // A timer's lateness (tokio's tick is 1 ms, and the thread must then be run): a
            // twentieth of the interval, 1.7 ms at 30/s. While a stall is caught up, no second
            // holds more than 5 % over the rate, and one message.
            slack: Duration::from_secs(1) / limits.per_second.get() / 20,
            pace: tokio::sync::Mutex::new(Pace::default()),
            per_chat: limits.per_chat,
            chats: Mutex::new(HashMap::new()),
            sends: AtomicU64::new(0),
        }
    }

    fn chats(&self) -> std::sync::MutexGuard<'_, HashMap<String, ChatTimes>> {
        // Each change below leaves the map whole: a panic elsewhere cannot tear it.
        self.chats.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// How long the chat is still held by a 429, if it is.
    fn held_for(&self, chat: &str, now: Instant) -> Option<Duration> {
        let until = self.chats().get(chat)?.held_until?;
        (until > now).then(|| until - now)
    }

    fn hold(&self, chat: String, until: Instant) {
        let mut chats = self.chats();
        let times = chats.entry(chat).or_default();
        times.held_until = Some(times.held_until.map_or(until, |held| held.max(until)));
    }

    /// When the chat's interval since its last message ends, if it has not yet.
    fn chat_free_at(&self, chat: &str, now: Instant) -> Option<Instant> {
        let free = self.chats().get(chat)?.last_sent? + self.per_chat;
        (free > now).then_some(free)
    }

    /// Takes the chat for a message leaving now, if its interval has passed and no 429
    /// holds it.
    fn claim(&self, chat: &str, now: Instant) -> bool {
        let mut chats = self.chats();
        let times = chats.entry(chat.to_string()).or_default();
        let free = times
            .last_sent
            .is_none_or(|last| last + self.per_chat <= now);
        let held = times.held_until.is_some_and(|until| until > now);
        if free && !held {
            times.last_sent = Some(now);
        }
        free && !held
    }

    /// When the next message may go, from `now` on.
    fn next_slot(&self, pace: &Pace, now: Instant) -> Instant {
        let after_slot = pace.slot.map(|slot| slot + self.interval);
        let after_left = pace.left.map(|left| left + self.interval - self.slack);
        [after_slot, after_left]
            .into_iter()
            .flatten()
            .fold(now, Instant::max)
    }

    /// Waits until the bot may send one more message.
    async fn overall_turn(&self) {
        {
            // Tokio's mutex is fair: the messages take their turns in the order they came.
            let mut pace = self.pace.lock().await;
            let slot = self.next_slot(&pace, Instant::now());
            if slot > Instant::now() {
                tokio::time::sleep_until(slot.into()).await;
            }
            *pace = Pace {
                slot: Some(slot),
                left: Some(Instant::now()),
            };
        }
        if self.sends.fetch_add(1, Ordering::Relaxed) % FORGET_EVERY == FORGET_EVERY - 1 {
            // A chat whose interval and hold have passed needs no memory: a broadcast to
            // 100,000 chats would otherwise keep 100,000 entries.
            let now = Instant::now();
            let per_chat = self.per_chat;
            let mut chats = self.chats();
            chats.retain(|_, times| {
                times.last_sent.is_some_and(|last| last + per_chat > now)
                    || times.held_until.is_some_and(|until| until > now)
            });
            chats.shrink_to_fit();
        }
    }
}

/// The Telegram channel through a bot. No `Debug`: the bot holds its token.
pub struct TelegramChannel {
    bot: Bot,
    token: BotToken,
    limits: Limits,
    /// Chat → the supergroup it became, as Telegram said (`migrate_to_chat_id`).
    migrated: Mutex<HashMap<String, ChatId>>,
}

impl TelegramChannel {
    /// A channel to the Bot API at `api_url`, each request bounded by `timeout`.
    pub fn new(
        token: BotToken,
        api_url: url::Url,
        limits: TelegramLimits,
        timeout: Duration,
    ) -> Result<TelegramChannel, String> {
        let client = reqwest::Client::builder()
            .connect_timeout(timeout.min(Duration::from_secs(10)))
            .timeout(timeout)
            .tcp_nodelay(true)
            .user_agent(concat!("tocsin/", env!("CARGO_PKG_VERSION")))
            .build()
            .map_err(|error| format!("Telegram HTTP client: {error}"))?;
        let bot = Bot::with_client(token.expose(), client).set_api_url(api_url);
        Ok(TelegramChannel {
            bot,
            token,
            limits: Limits::new(limits),
            migrated: Mutex::new(HashMap::new()),
        })
    }

    /// The channel `[telegram] transport = "bot"` describes, its token read from the
    /// environment.
    pub fn from_config(config: &TelegramConfig) -> Result<TelegramChannel, String> {
        TelegramChannel::new(
            config.token()?,
            config.api_url()?,
            config.limits()?,
            Duration::from_secs(config.timeout_seconds),
        )
    }

    fn followed(&self, chat: Recipient) -> Recipient {
        let migrated = self.migrated.lock().unwrap_or_else(|e| e.into_inner());
        match migrated.get(&chat_key(&chat)) {
            Some(to) => Recipient::Id(*to),
            None => chat,
        }
    }

    /// Waits for the message's turn: the chat the address now stands for, once its interval
    /// and the overall rate allow; or a wait, when Telegram holds that chat. Checked again
    /// after the chat's turn came, since an earlier message to it may have learned meanwhile
    /// that it moved or must wait.
    async fn turn(&self, addressed: &Recipient) -> Result<Recipient, Verdict> {
        loop {
            let chat = self.followed(addressed.clone());
            let key = chat_key(&chat);
            if let Some(left) = self.limits.held_for(&key, Instant::now()) {
                return Err(Verdict::Wait {
                    after: left,
                    reason: format!(
                        "Telegram asked us to wait before writing to this chat again ({} ms \
                         left)",
                        left.as_millis()
                    ),
                });
            }
            if let Some(free) = self.limits.chat_free_at(&key, Instant::now()) {
                tokio::time::sleep_until(free.into()).await;
                continue;
            }
            self.limits.overall_turn().await;
            if self.followed(addressed.clone()) == chat && self.limits.claim(&key, Instant::now()) {
                return Ok(chat);
            }
        }
    }

    /// One `sendMessage` to the chat the address stands for, within the limits, as a reply
    /// to `reply` if it is set: sent without the reply if that message is gone (deleted),
    /// as `allow_sending_without_reply` asks.
    async fn send_to(
        &self,
        addressed: &Recipient,
        text: &str,
        reply: Option<MessageId>,
    ) -> (Recipient, Verdict) {
        let chat = match self.turn(addressed).await {
            Ok(chat) => chat,
            Err(wait) => return (addressed.clone(), wait),
        };
        let mut request = self
            .bot
            .send_message(chat.clone(), text)
            .parse_mode(ParseMode::Html);
        if let Some(message_id) = reply {
            request = request
                .reply_parameters(ReplyParameters::new(message_id).allow_sending_without_reply());
        }
        let answer = request.await;
        let verdict = verdict(answer, &chat, &self.token);
        if let Verdict::Wait { after, .. } = &verdict {
            self.limits.hold(chat_key(&chat), Instant::now() + *after);
        }
        (chat, verdict)
    }
}

#[async_trait]
impl Channel for TelegramChannel {
    async fn send(&self, message: &Message, handover: &mut dyn Handover) -> Outcome {
        let addressed = match recipient(&message.address) {
            Ok(chat) => chat,
            Err(reason) => return Outcome::Rejected { reason },
        };
        // A text longer than Telegram takes goes as several messages, the first here; only
        // the first answers the post it corrects.
        let parts = split::split(&message.content.body, split::MAX_TEXT);
        let text = parts.first().copied().unwrap_or(&message.content.body);
        let reply = message.reply_to.as_deref().and_then(replied_message);
        let (mut chat, mut verdict) = self.send_to(&addressed, text, reply).await;
        let mut told = false;
        if let Verdict::Migrated { to } = verdict {
            tracing::info!(
                message = "Telegram chat migrated to a supergroup: following it",
                from = %mask_chat(&chat),
                to = %mask(&to.to_string())
            );
            {
                let mut migrated = self.migrated.lock().unwrap_or_else(|e| e.into_inner());
                migrated.insert(chat_key(&addressed), to);
                migrated.insert(chat_key(&chat), to);
            }
            // Recorded before the message goes: the next update goes to the supergroup even
            // if this process ends now.
            let why = format!(
                "Telegram: chat {chat} was upgraded to supergroup {to} (migrate_to_chat_id)"
            );
            handover.readdressed(&to.to_string(), &why).await;
            told = true;
            (chat, verdict) = self.send_to(&addressed, text, reply).await;
        }
        if chat != addressed && !told {
            // Followed as this process learned earlier, for another message.
            let why =
                format!("Telegram: chat {addressed} was upgraded to supergroup {chat} earlier");
            handover.readdressed(&chat_key(&chat), &why).await;
        }
        let detail = if chat == addressed {
            "accepted by Telegram".to_string()
        } else {
            format!("accepted by Telegram in chat {chat}, which chat {addressed} became")
        };
        match verdict {
            Verdict::Sent { chat, message_id } => {
                let gateway_id =
                    GatewayId::new(GATEWAY, format!("{chat}:{message_id}")).to_string();
                let detail = match parts.get(1..) {
                    Some(later) if !later.is_empty() => {
                        self.later_parts(&addressed, later, &gateway_id, detail, handover)
                            .await
                    }
                    _ => detail,
                };
                Outcome::Accepted {
                    gateway_id,
                    detail: Some(detail),
                }
            }
            Verdict::Wait { after, reason } => Outcome::RetryLater {
                after: Some(after),
                reason,
            },
            Verdict::Migrated { to } => Outcome::RetryLater {
                after: None,
                reason: format!("Telegram: the chat migrated twice (now {to})"),
            },
            Verdict::Rejected(reason) => {
                // The chat is gone for good: whoever subscribed it follows nothing any more.
                handover.gone(&chat_key(&chat), &reason).await;
                Outcome::Rejected { reason }
            }
            Verdict::Misconfigured(reason) => Outcome::Misconfigured { reason },
            Verdict::Unavailable(reason) => Outcome::Unavailable {
                after: None,
                reason,
            },
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use teloxide::types::Seconds;

    fn token() -> BotToken {
        BotToken::new("123456:AAHsecret")
    }

    fn chat() -> Recipient {
        Recipient::Id(ChatId(731_245_896))
    }

    fn api(description: &str) -> Verdict {
        let error: ApiError = serde_json::from_value(serde_json::json!(description))
            .expect("any description is an ApiError");
        verdict(Err(RequestError::Api(error)), &chat(), &token())
    }

    #[test]
    fn blocked_deactivated_and_unknown_chats_are_rejected_naming_the_chat_masked() {
        for description in [
            "Forbidden: bot was blocked by the user",
            "Forbidden: user is deactivated",
            "Forbidden: bot was kicked from the group chat",
            "Forbidden: bot can't initiate conversation with a user",
            "Bad Request: chat not found",
            "Bad Request: PEER_ID_INVALID",
        ] {
            let verdict = api(description);
            assert_eq!(
                verdict,
                Verdict::Rejected(format!("Telegram: {description} (chat 7312***96)")),
                "{description}"
            );
        }
    }

    #[test]
    fn a_refused_token_is_our_configuration_never_the_recipients() {
        assert!(matches!(api("Unauthorized"), Verdict::Misconfigured(_)));
        assert!(matches!(api("Not Found"), Verdict::Misconfigured(_)));
    }

    #[test]
    fn a_refused_message_is_misconfigured_and_a_server_error_unavailable() {
        assert!(matches!(
            api("Bad Request: can't parse entities: Unsupported start tag \"p\" at byte offset 0"),
            Verdict::Misconfigured(reason) if reason.contains("Unsupported start tag")
        ));
        assert!(matches!(
            api("Bad Request: message is too long"),
            Verdict::Misconfigured(_)
        ));
        assert!(matches!(
            api("Internal Server Error"),
            Verdict::Unavailable(_)
        ));
        assert!(matches!(api("Bad Gateway"), Verdict::Unavailable(_)));
    }

    #[test]
    fn retry_after_waits_that_long_and_a_migration_names_the_new_chat() {
        let wait = verdict(
            Err(RequestError::RetryAfter(Seconds::from_seconds(7))),
            &chat(),
            &token(),
        );
        assert!(
            matches!(&wait, Verdict::Wait { after, .. } if *after == Duration::from_secs(7)),
            "{wait:?}"
        );
        let moved = verdict(
            Err(RequestError::MigrateToChatId(ChatId(-1_001_234_567_890))),
            &chat(),
            &token(),
        );
        assert_eq!(
            moved,
            Verdict::Migrated {
                to: ChatId(-1_001_234_567_890)
            }
        );
    }

    #[test]
    fn the_token_is_scrubbed_from_any_text() {
        assert_eq!(
            scrub(
                "error sending request for url (https://api.telegram.org/bot123456:AAHsecret/sendMessage)",
                &token()
            ),
            "error sending request for url (https://api.telegram.org/bot<token>/sendMessage)"
        );
    }

    #[test]
    fn an_address_is_a_chat_id_or_a_username() {
        assert_eq!(
            recipient("731245896"),
            Ok(Recipient::Id(ChatId(731_245_896)))
        );
        assert_eq!(
            recipient("-1001234567890"),
            Ok(Recipient::Id(ChatId(-1_001_234_567_890)))
        );
        assert_eq!(
            recipient("@zna_crisis"),
            Ok(Recipient::ChannelUsername("@zna_crisis".into()))
        );
        assert!(recipient("+32471123456x").is_err());
    }

    #[tokio::test]
    async fn a_chat_held_by_a_429_waits_without_a_request_until_its_time_is_up() {
        let limits = Limits::new(TelegramLimits {
            per_second: std::num::NonZeroU32::new(30).expect("non-zero"),
            per_chat: Duration::from_millis(1000),
        });
        let now = Instant::now();
        limits.hold("42".into(), now + Duration::from_secs(5));
        assert_eq!(
            limits.held_for("42", now + Duration::from_secs(2)),
            Some(Duration::from_secs(3))
        );
        assert_eq!(limits.held_for("43", now), None);
        assert_eq!(limits.held_for("42", now + Duration::from_secs(5)), None);
        assert!(!limits.claim("42", now + Duration::from_secs(4)), "held");
        assert!(limits.claim("42", now + Duration::from_secs(5)));
    }

    #[test]
    fn the_overall_rate_keeps_its_schedule_through_late_wake_ups_and_catches_up_a_stall_without_a_burst(
    ) {
        let limits = Limits::new(TelegramLimits {
            per_second: std::num::NonZeroU32::new(40).expect("non-zero"),
            per_chat: Duration::from_millis(1000),
        });
        let t0 = Instant::now();
        let interval = Duration::from_millis(25);
        let ms = Duration::from_millis;
        let idle = Pace::default();
        assert_eq!(limits.next_slot(&idle, t0), t0, "idle: at once");
        // The previous message's timer woke 0.6 ms late: the next keeps the schedule.
        let late = Pace {
            slot: Some(t0),
            left: Some(t0 + Duration::from_micros(600)),
        };
        assert_eq!(limits.next_slot(&late, t0 + ms(1)), t0 + interval);
        // A stall of 100 ms: the next goes `interval - slack` after it, not at once.
        let stalled = Pace {
            slot: Some(t0),
            left: Some(t0 + ms(100)),
        };
        assert_eq!(
            limits.next_slot(&stalled, t0 + ms(100)),
            t0 + ms(100) + interval - Duration::from_micros(1250)
        );
        // Idle for a while: at once, no burst saved up.
        assert_eq!(limits.next_slot(&late, t0 + ms(10_000)), t0 + ms(10_000));
    }

    #[tokio::test]
    async fn a_chat_is_written_to_again_only_once_its_interval_since_the_last_message_passed() {
        let limits = Limits::new(TelegramLimits {
            per_second: std::num::NonZeroU32::new(30).expect("non-zero"),
            per_chat: Duration::from_millis(1000),
        });
        let now = Instant::now();
        assert_eq!(limits.chat_free_at("7", now), None);
        assert!(limits.claim("7", now));
        assert!(!limits.claim("7", now + Duration::from_millis(999)));
        assert_eq!(
            limits.chat_free_at("7", now + Duration::from_millis(400)),
            Some(now + Duration::from_millis(1000))
        );
        assert!(limits.claim("8", now), "another chat is not held back");
        assert!(limits.claim("7", now + Duration::from_millis(1000)));
    }
}
