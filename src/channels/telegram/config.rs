//! `[telegram]`, as `tocsin.toml` writes it (re-exported by `config`).

use crate::domain::Language;
use serde::Deserialize;
use std::collections::BTreeMap;
use std::fmt;
use std::path::PathBuf;
use std::time::Duration;

/// Telegram: a file outbox (the default: the demo and a laptop without a bot), or a bot
/// through the Bot API.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct TelegramConfig {
    pub transport: TelegramTransport,
    /// Outbox: one JSON file per message.
    pub dir: PathBuf,
    /// The hospital's public channels, by language (`nl`, `fr`, `en`): a chat id or
    /// `@channelusername` each, the bot an administrator there. Every released update sent
    /// on Telegram is posted to each, in its language, and a later update of the same
    /// incident as a reply to the post before it. One chat named for several languages gets
    /// one post per language.
    pub public_channels: BTreeMap<String, String>,
    /// The bot's username (without `@`): with it, e-mails to patients and GPs who do not
    /// follow on Telegram yet carry a personal link (`https://t.me/<bot>?start=<token>`) that
    /// binds their chat to them.
    pub bot_username: Option<String>,
    /// Days a personal link stays valid.
    pub link_valid_days: u32,
    /// Put the link in SMS too; it costs SMS parts, which `update draft` shows.
    pub invite_in_sms: bool,
    /// Bot: the environment variable that holds the bot's token (from @BotFather). The token
    /// is never written in the configuration, never logged, never in an error.
    pub token_env: String,
    /// Bot: the Bot API server. A local Bot API server (`telegram-bot-api`) or a test's
    /// emulation can stand in for Telegram's.
    pub api_url: String,
    /// Bot: messages per second to all chats together. Telegram's FAQ: about 30.
    pub rate_per_second: u32,
    /// Bot: the least time between two messages to one chat. Telegram's FAQ: about one
    /// message per second per chat.
    pub per_chat_interval_ms: u64,
    /// Bot: per request to the Bot API.
    pub timeout_seconds: u64,
    /// Bot, long polling: how long one `getUpdates` waits for a message to arrive.
    pub poll_timeout_seconds: u32,
    /// Bot: the public https address Telegram posts the bot's updates to (webhook mode),
    /// which a reverse proxy leads to `tocsin serve`'s `/telegram/webhook`. Unset: long
    /// polling.
    pub webhook_url: Option<String>,
    /// Bot, webhook mode: the environment variable that holds the secret Telegram sends
    /// with every update (`X-Telegram-Bot-Api-Secret-Token`), 1–256 of `A-Z a-z 0-9 _ -`.
    pub webhook_secret_env: Option<String>,
}

impl Default for TelegramConfig {
    fn default() -> Self {
        TelegramConfig {
            transport: TelegramTransport::Outbox,
            dir: PathBuf::from("outbox/telegram"),
            public_channels: BTreeMap::new(),
            bot_username: None,
            link_valid_days: 14,
            invite_in_sms: false,
            token_env: "TOCSIN_TELEGRAM_TOKEN".into(),
            api_url: "https://api.telegram.org".into(),
            rate_per_second: 30,
            per_chat_interval_ms: 1000,
            timeout_seconds: 30,
            poll_timeout_seconds: 25,
            webhook_url: None,
            webhook_secret_env: None,
        }
    }
}

/// Webhook mode: where Telegram posts the updates, and the secret it sends with them.
#[derive(Clone, PartialEq, Eq)]
pub struct Webhook {
    pub url: url::Url,
    pub secret: String,
}

impl fmt::Debug for Webhook {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Webhook")
            .field("url", &self.url.as_str())
            .field("secret", &"<redacted>")
            .finish()
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum TelegramTransport {
    Outbox,
    Bot,
}

impl TelegramConfig {
    /// The bot's token, from [`TelegramConfig::token_env`].
    pub fn token(&self) -> Result<BotToken, String> {
        match std::env::var(&self.token_env) {
            Ok(token) if !token.trim().is_empty() => Ok(BotToken(token.trim().to_string())),
            Ok(_) => Err(format!(
                "[telegram] transport = \"bot\": the environment variable {} is empty",
                self.token_env
            )),
            Err(_) => Err(format!(
                "[telegram] transport = \"bot\": the environment variable {} (token_env) is not \
                 set; it must hold the bot's token from @BotFather",
                self.token_env
            )),
        }
    }

    /// `api_url` as a URL the Bot API's methods can be appended to, or why it is not one.
    pub fn api_url(&self) -> Result<url::Url, String> {
        let url = url::Url::parse(&self.api_url)
            .map_err(|error| format!("[telegram] api_url {:?}: {error}", self.api_url))?;
        if !matches!(url.scheme(), "http" | "https") || url.cannot_be_a_base() {
            return Err(format!(
                "[telegram] api_url {:?} is not an http(s) URL",
                self.api_url
            ));
        }
        Ok(url)
    }

    /// `public_channels` by language, or why one cannot be posted to.
    pub fn public_channels(&self) -> Result<Vec<(Language, String)>, String> {
        self.public_channels
            .iter()
            .map(|(language, chat)| {
                let language = Language::parse(language).map_err(|_| {
                    format!("[telegram] public_channels: {language:?} is not nl, fr or en")
                })?;
                let chat = chat.trim();
                super::recipient(chat).map_err(|why| {
                    format!("[telegram] public_channels.{}: {why}", language.code())
                })?;
                Ok((language, chat.to_string()))
            })
            .collect()
    }

    /// `bot_username` without its `@`, if one is set; refused when it is not a Telegram
    /// username (5 to 32 letters, digits and `_`).
    pub fn bot_username(&self) -> Result<Option<&str>, String> {
        let Some(name) = self.bot_username.as_deref() else {
            return Ok(None);
        };
        let name = name.trim().trim_start_matches('@');
        let valid = (5..=32).contains(&name.len())
            && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_');
        if !valid || self.link_valid_days == 0 {
            return Err(format!(
                "[telegram] bot_username {name:?} is not a bot's username (5 to 32 letters, \
                 digits or _), or link_valid_days is 0"
            ));
        }
        Ok(Some(name))
    }

    /// The long poll's wait, which Telegram takes up to 50 s.
    pub fn poll_timeout(&self) -> Result<u32, String> {
        if (1..=50).contains(&self.poll_timeout_seconds) {
            Ok(self.poll_timeout_seconds)
        } else {
            Err(format!(
                "[telegram] poll_timeout_seconds = {}: a long poll waits 1 to 50 s",
                self.poll_timeout_seconds
            ))
        }
    }

    /// Webhook mode, when `webhook_url` and `webhook_secret_env` are set (both, or neither),
    /// its secret read from the environment; `None`: long polling.
    pub fn webhook(&self) -> Result<Option<Webhook>, String> {
        let (url, secret_env) = match (&self.webhook_url, &self.webhook_secret_env) {
            (None, None) => return Ok(None),
            (Some(url), Some(env)) => (url, env),
            (Some(_), None) => {
                return Err(
                    "[telegram] webhook_url is set without webhook_secret_env: Telegram \
                     must prove each update with a secret"
                        .into(),
                )
            }
            (None, Some(_)) => {
                return Err("[telegram] webhook_secret_env is set without webhook_url".into())
            }
        };
        let parsed = url::Url::parse(url)
            .map_err(|error| format!("[telegram] webhook_url {url:?}: {error}"))?;
        if parsed.scheme() != "https" || parsed.cannot_be_a_base() {
            return Err(format!(
                "[telegram] webhook_url {url:?} must be a public https:// address (Telegram \
                 posts only to https)"
            ));
        }
        let secret = std::env::var(secret_env).unwrap_or_default();
        let secret = secret.trim();
        if secret.is_empty()
            || secret.len() > 256
            || !secret
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-')
        {
            return Err(format!(
                "[telegram] webhook_secret_env: the environment variable {secret_env} must \
                 hold 1 to 256 characters of A-Z a-z 0-9 _ - (Telegram's secret_token)"
            ));
        }
        Ok(Some(Webhook {
            url: parsed,
            secret: secret.to_string(),
        }))
    }

    /// The limits as the channel takes them; a rate or an interval of 0 is refused, since
    /// Telegram enforces both whatever we say.
    pub fn limits(&self) -> Result<TelegramLimits, String> {
        let per_second = std::num::NonZeroU32::new(self.rate_per_second).ok_or(
            "[telegram] rate_per_second = 0: Telegram limits a bot to about 30 messages/s",
        )?;
        if self.per_chat_interval_ms == 0 {
            return Err(
                "[telegram] per_chat_interval_ms = 0: Telegram limits a bot to about one \
                 message per second in a chat"
                    .into(),
            );
        }
        Ok(TelegramLimits {
            per_second,
            per_chat: Duration::from_millis(self.per_chat_interval_ms),
        })
    }
}

/// How fast the bot may send.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TelegramLimits {
    /// Messages per second to all chats together, spaced evenly.
    pub per_second: std::num::NonZeroU32,
    /// The least time between two messages to one chat.
    pub per_chat: Duration,
}

/// The bot's token: whoever has it is the bot. Its `Debug` and `Display` show nothing of it.
#[derive(Clone, PartialEq, Eq)]
pub struct BotToken(String);

impl BotToken {
    pub fn new(token: impl Into<String>) -> BotToken {
        BotToken(token.into())
    }

    /// The token itself, for the Bot API's URLs only.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for BotToken {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("BotToken(<redacted>)")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_token_comes_from_the_variable_token_env_names_and_debug_never_shows_it() {
        let config = TelegramConfig {
            token_env: "TOCSIN_TEST_TELEGRAM_TOKEN_CONFIG".into(),
            ..TelegramConfig::default()
        };
        let missing = config.token().expect_err("not set");
        assert!(
            missing.contains("TOCSIN_TEST_TELEGRAM_TOKEN_CONFIG"),
            "{missing}"
        );
        std::env::set_var(
            "TOCSIN_TEST_TELEGRAM_TOKEN_CONFIG",
            "123456:AAHsecret-token",
        );
        let token = config.token().expect("set");
        assert_eq!(token.expose(), "123456:AAHsecret-token");
        assert_eq!(format!("{token:?}"), "BotToken(<redacted>)");
        assert!(!format!("{config:?}").contains("secret-token"));
    }

    #[test]
    fn an_api_url_that_is_not_http_and_limits_of_zero_are_refused() {
        let config = TelegramConfig {
            api_url: "mailto:bot@example.be".into(),
            ..TelegramConfig::default()
        };
        assert!(config.api_url().is_err());
        assert_eq!(
            TelegramConfig::default()
                .api_url()
                .expect("default")
                .as_str(),
            "https://api.telegram.org/"
        );
        let zero = TelegramConfig {
            rate_per_second: 0,
            ..TelegramConfig::default()
        };
        assert!(zero.limits().is_err());
        let zero = TelegramConfig {
            per_chat_interval_ms: 0,
            ..TelegramConfig::default()
        };
        assert!(zero.limits().is_err());
    }

    #[test]
    fn public_channels_are_named_by_language_and_a_bot_username_is_one_telegram_takes() {
        let config = TelegramConfig {
            public_channels: BTreeMap::from([
                ("nl".into(), "@azt_nl".into()),
                ("fr".into(), "-1001234567890".into()),
            ]),
            bot_username: Some("@azt_crisis_bot".into()),
            ..TelegramConfig::default()
        };
        assert_eq!(
            config.public_channels().expect("valid"),
            [
                (Language::Fr, "-1001234567890".to_string()),
                (Language::Nl, "@azt_nl".to_string())
            ]
        );
        assert_eq!(config.bot_username(), Ok(Some("azt_crisis_bot")));
        let wrong = TelegramConfig {
            public_channels: BTreeMap::from([("de".into(), "@azt_de".into())]),
            bot_username: Some("azt crisis".into()),
            ..TelegramConfig::default()
        };
        assert!(wrong.public_channels().is_err());
        assert!(wrong.bot_username().is_err());
        let not_a_chat = TelegramConfig {
            public_channels: BTreeMap::from([("en".into(), "azt_en".into())]),
            ..TelegramConfig::default()
        };
        assert!(not_a_chat.public_channels().is_err());
    }

    #[test]
    fn a_webhook_needs_https_and_a_secret_telegram_accepts_which_debug_never_shows() {
        assert_eq!(TelegramConfig::default().webhook(), Ok(None));
        let config = TelegramConfig {
            webhook_url: Some("https://crisis.example.be/telegram/webhook".into()),
            webhook_secret_env: Some("TOCSIN_TEST_TELEGRAM_WEBHOOK_SECRET_CONFIG".into()),
            ..TelegramConfig::default()
        };
        assert!(config.webhook().is_err(), "not set");
        std::env::set_var("TOCSIN_TEST_TELEGRAM_WEBHOOK_SECRET_CONFIG", "not valid!");
        assert!(config.webhook().is_err());
        std::env::set_var(
            "TOCSIN_TEST_TELEGRAM_WEBHOOK_SECRET_CONFIG",
            "s3cret_Value-1",
        );
        let webhook = config.webhook().expect("valid").expect("webhook mode");
        assert_eq!(webhook.secret, "s3cret_Value-1");
        assert!(!format!("{webhook:?}").contains("s3cret"));
        let plain = TelegramConfig {
            webhook_url: Some("http://crisis.example.be/telegram/webhook".into()),
            ..config.clone()
        };
        assert!(plain.webhook().is_err());
        let half = TelegramConfig {
            webhook_secret_env: None,
            ..config
        };
        assert!(half.webhook().is_err());
    }
}
