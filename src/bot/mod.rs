//! The Telegram bot's conversations, run by `tocsin serve` when `[telegram] transport =
//! "bot"`: people subscribe (`/start`, with or without a deep link's token), choose their
//! language, stop, ask for the latest update and check a message's reference.
//!
//! - `conversation.rs`: what the bot answers to a message or a button, and what it changes
//!   in the store; nothing of the transport.
//! - `polling.rs`: long polling (`deleteWebhook`, then `getUpdates` with offsets), the
//!   default.
//! - `webhook.rs`: webhook mode, the updates Telegram posts to `tocsin serve`
//!   (`web/areas/telegram.rs`), each `update_id` processed once.
//!
//! Every text a person reads comes from the `bot-*` messages of `locales/`, in HTML parse
//! mode with everything escaped. The token is in every request's URL: every error leaves
//! here through [`scrub`].

mod conversation;
mod polling;
mod webhook;

pub use webhook::{Intake, Offered};

use crate::channels::telegram::{scrub, BotToken, TelegramConfig, Webhook};
use crate::clock::Clock;
use crate::config::Config;
use crate::domain::Language;
use crate::render::Renderer;
use crate::store::prelude::*;
use std::sync::{Arc, Mutex};
use std::time::Duration;
use teloxide::payloads::{
    SendMessageSetters, SetMyCommandsSetters, SetMyDescriptionSetters,
    SetMyShortDescriptionSetters, SetWebhookSetters,
};
use teloxide::requests::Requester;
use teloxide::types::{
    AllowedUpdate, BotCommand, ChatId, InlineKeyboardButton, InlineKeyboardMarkup, ParseMode,
    Update,
};
use teloxide::{ApiError, RequestError};
use url::Url;

/// The updates the bot reads; the rest Telegram keeps to itself.
const ALLOWED: [AllowedUpdate; 2] = [AllowedUpdate::Message, AllowedUpdate::CallbackQuery];

/// What a failed request to the Bot API means for the bot.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum BotFailure {
    /// 401 or 404: the token (or `api_url`) is wrong; nothing will work until it is fixed.
    Token(String),
    /// Flood control: again after this long.
    Wait(Duration),
    /// The network, a 5xx, an answer that is not the Bot API's: again later.
    Unavailable(String),
    /// Telegram refused this request (a 400, a 403): the reason, scrubbed.
    Refused(String),
}

impl std::fmt::Display for BotFailure {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            BotFailure::Token(reason)
            | BotFailure::Unavailable(reason)
            | BotFailure::Refused(reason) => f.write_str(reason),
            BotFailure::Wait(after) => write!(f, "Telegram asks to wait {} s", after.as_secs()),
        }
    }
}

/// The Telegram bot of `tocsin serve`. No `Debug`: it holds the token.
#[derive(Clone)]
pub struct TelegramBot {
    inner: Arc<Inner>,
}

struct Inner {
    bot: teloxide::Bot,
    token: BotToken,
    token_env: String,
    poll_timeout: u32,
    webhook: Option<Webhook>,
    store: Arc<dyn Store>,
    renderer: Arc<Renderer>,
    clock: Arc<dyn Clock>,
    hospital: crate::config::Hospital,
    hospital_name: String,
    hospital_phone: String,
    default_language: Language,
    public_url: Url,
    /// From `getMe`: commands written `/cmd@name` are ours only under this name.
    username: Mutex<Option<String>>,
}

impl TelegramBot {
    /// The bot `[telegram]` describes, or `None` when Telegram is an outbox.
    pub fn from_config(
        config: &Config,
        store: Arc<dyn Store>,
        renderer: Arc<Renderer>,
        clock: Arc<dyn Clock>,
    ) -> Result<Option<TelegramBot>, String> {
        use crate::channels::telegram::TelegramTransport;
        let telegram: &TelegramConfig = &config.telegram;
        if telegram.transport != TelegramTransport::Bot {
            return Ok(None);
        }
        let token = telegram.token()?;
        let webhook = telegram.webhook()?;
        let poll_timeout = telegram.poll_timeout()?;
        let public_url = crate::press::public_url(config).map_err(|error| error.to_string())?;
        // A long poll holds its request open for poll_timeout: the client must wait longer.
        let timeout = Duration::from_secs(telegram.timeout_seconds + u64::from(poll_timeout));
        let client = reqwest::Client::builder()
            .connect_timeout(Duration::from_secs(telegram.timeout_seconds.clamp(1, 10)))
            .timeout(timeout)
            .user_agent(concat!("tocsin/", env!("CARGO_PKG_VERSION")))
            .build()
            .map_err(|error| format!("Telegram HTTP client: {error}"))?;
        let bot =
            teloxide::Bot::with_client(token.expose(), client).set_api_url(telegram.api_url()?);
        Ok(Some(TelegramBot {
            inner: Arc::new(Inner {
                bot,
                token,
                token_env: telegram.token_env.clone(),
                poll_timeout,
                webhook,
                store,
                renderer,
                clock,
                hospital: config.hospital.clone(),
                hospital_name: config.hospital.name.clone(),
                hospital_phone: config.hospital.phone.clone(),
                default_language: config.hospital.default_language,
                public_url,
                username: Mutex::new(None),
            }),
        }))
    }

    /// Webhook mode's secret and address, when configured.
    pub fn webhook(&self) -> Option<&Webhook> {
        self.inner.webhook.as_ref()
    }

    /// `getMe`: whether Telegram takes the token. `serve` refuses to start on
    /// [`BotFailure::Token`].
    pub async fn check(&self) -> Result<(), BotFailure> {
        let me = self
            .inner
            .bot
            .get_me()
            .await
            .map_err(|error| self.inner.failure(error))?;
        *self.inner.username() = me.user.username.clone();
        tracing::info!(
            message = "Telegram bot",
            username = me.user.username.as_deref().unwrap_or("")
        );
        Ok(())
    }

    /// Runs the bot until `stop` turns true: its commands and descriptions set, then long
    /// polling, or, in webhook mode, `setWebhook` and the updates `intake` hands over.
    pub async fn run(
        self,
        mut stop: tokio::sync::watch::Receiver<bool>,
        intake: Option<tokio::sync::mpsc::Receiver<Update>>,
    ) {
        if !self.prepare(&mut stop).await {
            return;
        }
        match intake {
            Some(mut updates) => loop {
                tokio::select! {
                    update = updates.recv() => match update {
                        Some(update) => self.inner.handle(update).await,
                        None => return,
                    },
                    _ = stop.changed() => return,
                }
            },
            None => polling::run(&self.inner, stop).await,
        }
    }

    /// Sets the bot up, again and again while Telegram cannot be reached; false when the
    /// token is refused or `stop` came first.
    async fn prepare(&self, stop: &mut tokio::sync::watch::Receiver<bool>) -> bool {
        let mut attempts = 0;
        loop {
            let done = async {
                if self.inner.username().is_none() {
                    self.check().await?;
                }
                self.inner.introduce().await
            };
            let failure = tokio::select! {
                done = done => match done {
                    Ok(()) => return true,
                    Err(failure) => failure,
                },
                _ = stop.changed() => return false,
            };
            if let BotFailure::Token(reason) | BotFailure::Refused(reason) = &failure {
                // Ours to fix (the token, the webhook's address): asking again changes nothing.
                tracing::error!(message = "Telegram bot stopped", reason = %reason);
                return false;
            }
            attempts += 1;
            let pause = self.inner.pause(&failure, attempts);
            tracing::warn!(
                message = "cannot set the Telegram bot up: trying again",
                reason = %failure,
                in_ms = pause.as_millis() as u64
            );
            tokio::select! {
                () = tokio::time::sleep(pause) => {}
                _ = stop.changed() => return false,
            }
        }
    }
}

/// A message the bot sends: HTML, and the language keyboard under it or not.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Reply {
    html: String,
    keyboard: Option<InlineKeyboardMarkup>,
}

impl Inner {
    fn username(&self) -> std::sync::MutexGuard<'_, Option<String>> {
        self.username.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// What a failed request means; the token scrubbed from every reason.
    fn failure(&self, error: RequestError) -> BotFailure {
        match error {
            RequestError::Api(ApiError::InvalidToken) => BotFailure::Token(format!(
                "Telegram refuses the bot's token (401 Unauthorized or 404 Not Found): check \
                 the environment variable [telegram] token_env = {:?} names, and api_url",
                self.token_env
            )),
            RequestError::RetryAfter(seconds) => BotFailure::Wait(seconds.duration()),
            RequestError::Api(api) => {
                let description = match api {
                    ApiError::Unknown(text) => text,
                    known => known.to_string(),
                };
                let lower = description.to_lowercase();
                let reason = scrub(&format!("Telegram: {description}"), &self.token);
                if lower.starts_with("bad request") || lower.starts_with("forbidden") {
                    BotFailure::Refused(reason)
                } else {
                    BotFailure::Unavailable(reason)
                }
            }
            other => BotFailure::Unavailable(scrub(&format!("Bot API: {other}"), &self.token)),
        }
    }

    /// Before the next try after `attempts` failures: what Telegram asked, else a backoff
    /// from 1 s to 60 s with jitter.
    fn pause(&self, failure: &BotFailure, attempts: u32) -> Duration {
        let policy = crate::dispatch::RetryPolicy {
            max_attempts: u32::MAX,
            base: Duration::from_secs(1),
            max: Duration::from_secs(60),
        };
        let floor = match failure {
            BotFailure::Wait(after) => Some(*after),
            _ => Some(Duration::from_millis(200)),
        };
        policy
            .next_delay(attempts, floor, &mut rand::rng())
            .unwrap_or(Duration::from_secs(60))
    }

    /// The command list and the descriptions in each language and once without a
    /// `language_code` (the hospital's default language), then the way updates come:
    /// `setWebhook`, or `deleteWebhook` for long polling.
    async fn introduce(&self) -> Result<(), BotFailure> {
        let mut languages: Vec<(Option<Language>, Language)> =
            Language::ALL.iter().map(|l| (Some(*l), *l)).collect();
        languages.push((None, self.default_language));
        for (code, language) in languages {
            let commands = self.commands(language);
            let description = self.phrase(
                language,
                "bot-description",
                &[("hospital", &self.hospital_name)],
            );
            let short = self.phrase(
                language,
                "bot-short-description",
                &[("hospital", &self.hospital_name)],
            );
            let mut set_commands = self.bot.set_my_commands(commands);
            let mut set_description = self.bot.set_my_description().description(description);
            let mut set_short = self.bot.set_my_short_description().short_description(short);
            if let Some(language) = code {
                set_commands = set_commands.language_code(language.code());
                set_description = set_description.language_code(language.code());
                set_short = set_short.language_code(language.code());
            }
            for set in [
                set_commands.await.map(|_| ()),
                set_description.await.map(|_| ()),
                set_short.await.map(|_| ()),
            ] {
                match set.map_err(|error| self.failure(error)) {
                    Ok(()) => {}
                    // A phrase Telegram finds too long: the bot works without it.
                    Err(BotFailure::Refused(reason)) => tracing::warn!(
                        message = "Telegram refused the bot's commands or description",
                        language = code.map_or("default", Language::code),
                        reason = %reason
                    ),
                    Err(failure) => return Err(failure),
                }
            }
        }
        match &self.webhook {
            Some(webhook) => {
                self.bot
                    .set_webhook(webhook.url.clone())
                    .secret_token(webhook.secret.clone())
                    .allowed_updates(ALLOWED)
                    .await
                    .map_err(|error| self.failure(error))?;
            }
            None => {
                self.bot
                    .delete_webhook()
                    .await
                    .map_err(|error| self.failure(error))?;
            }
        }
        Ok(())
    }

    fn commands(&self, language: Language) -> Vec<BotCommand> {
        [
            ("start", "bot-command-start"),
            (
                conversation::language_command(language),
                "bot-command-language",
            ),
            ("status", "bot-command-status"),
            ("verify", "bot-command-verify"),
            ("stop", "bot-command-stop"),
            ("help", "bot-command-help"),
        ]
        .into_iter()
        .map(|(command, id)| BotCommand::new(command, self.phrase(language, id, &[])))
        .collect()
    }

    /// A message of `locales/` as plain text, French spacing made non-breaking. The
    /// catalogue is checked when the locales load, so a failure here is a bug: it is
    /// logged and the message's id stands in for it.
    fn phrase(&self, language: Language, id: &str, args: &[(&str, &str)]) -> String {
        let mut fluent = fluent_bundle::FluentArgs::with_capacity(args.len());
        for (name, value) in args {
            fluent.set(*name, fluent_bundle::FluentValue::from(value.to_string()));
        }
        let text = match self.renderer.locales().format(language, id, Some(&fluent)) {
            Ok(text) => text,
            Err(error) => {
                tracing::error!(message = "Telegram bot: a phrase failed", id, %error);
                id.to_string()
            }
        };
        match language {
            Language::Fr => crate::render::french_spacing(&text),
            _ => text,
        }
    }

    /// [`Inner::phrase`] escaped for HTML parse mode.
    fn html(&self, language: Language, id: &str, args: &[(&str, &str)]) -> String {
        escape(&self.phrase(language, id, args))
    }

    /// Sends `reply` to `chat`; a failure is logged, since the person can simply ask again.
    async fn send(&self, chat: ChatId, reply: Reply) {
        let mut request = self
            .bot
            .send_message(chat, reply.html)
            .parse_mode(ParseMode::Html);
        if let Some(keyboard) = reply.keyboard {
            request = request.reply_markup(keyboard);
        }
        if let Err(error) = request.await {
            tracing::warn!(
                message = "Telegram bot: cannot answer a chat",
                chat = %crate::channels::mask(&chat.to_string()),
                reason = %self.failure(error)
            );
        }
    }

    /// The inline keyboard of `/language`: each language named in itself.
    fn language_keyboard(&self) -> InlineKeyboardMarkup {
        InlineKeyboardMarkup::new([Language::ALL.map(|language| {
            InlineKeyboardButton::callback(
                self.phrase(language, "press-language-name", &[]),
                conversation::callback_data(language),
            )
        })])
    }
}

/// `&`, `<` and `>` as HTML parse mode wants them: the text reads as written.
fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len() + 16);
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            c => out.push(c),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    #[test]
    fn escaping_leaves_nothing_telegram_would_take_for_a_tag_or_an_entity() {
        assert_eq!(
            super::escape("<b>1 & 2</b> *_ 🚑"),
            "&lt;b&gt;1 &amp; 2&lt;/b&gt; *_ 🚑"
        );
    }
}
