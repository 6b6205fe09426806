//! What the bot answers, and what each command changes in the store.
//!
//! | a person sends | the bot |
//! |---|---|
//! | `/start TOKEN` (a deep link) | binds the chat to the link's contact (`Store::bind_telegram_chat`); an expired, used, forged link or one for nobody binds nothing and says so; the same chat again: "you already receive…" |
//! | `/start` | the chat follows the public updates, in its Telegram client's language when nl/fr/en, else the hospital's |
//! | `/language`, `/taal`, `/langue` | the three languages as buttons; a button sets the chat's language and is answered in it |
//! | `/stop` | ends the subscription, and says how to come back |
//! | `/status` | the latest released update: title, time in the hospital's zone, reference, its page |
//! | `/verify REFERENCE` | genuine (a released update) or not issued by us, as the press room's check |
//! | anything else | the help text |
//!
//! A command may be written `/cmd@botname` (groups): one for another bot is not ours. In a
//! group, only commands are answered.

use super::{Inner, Reply};
use crate::channels::telegram::link::{self, LinkKey, LinkRefusal};
use crate::domain::{Language, PublicReference};
use crate::press::links;
use crate::store::{Binding, StoreError};
use teloxide::types::{CallbackQuery, ChatId, Message, Update, UpdateKind};

/// What a button of the language keyboard carries: `language:nl`.
const LANGUAGE_CALLBACK: &str = "language:";

pub(super) fn callback_data(language: Language) -> String {
    format!("{LANGUAGE_CALLBACK}{}", language.code())
}

/// `/language` as each language's command list shows it; all three work in every language.
pub(super) fn language_command(language: Language) -> &'static str {
    match language {
        Language::Nl => "taal",
        Language::Fr => "langue",
        Language::En => "language",
    }
}

/// A language a Telegram client reports (`nl`, `fr-BE`, `en-GB`), when it is one of ours.
fn client_language(code: Option<&str>) -> Option<Language> {
    Language::parse(code?).ok()
}

/// A command: its name (without `/` and `@bot`), and the rest of the text.
#[derive(Debug, PartialEq, Eq)]
struct Command<'a> {
    name: String,
    argument: &'a str,
}

/// The command `text` starts with, if it is one and is for us (`/cmd@us` or plain `/cmd`).
fn command<'a>(text: &'a str, username: Option<&str>) -> Option<Command<'a>> {
    let text = text.trim_start();
    let rest = text.strip_prefix('/')?;
    let end = rest.find(char::is_whitespace).unwrap_or(rest.len());
    let (word, argument) = rest.split_at(end);
    let (name, addressee) = match word.split_once('@') {
        Some((name, addressee)) => (name, Some(addressee)),
        None => (word, None),
    };
    if let Some(addressee) = addressee {
        // A bot we do not know the name of yet takes no command addressed to anyone.
        if !username.is_some_and(|ours| ours.eq_ignore_ascii_case(addressee)) {
            return None;
        }
    }
    if name.is_empty() {
        return None;
    }
    Some(Command {
        name: name.to_ascii_lowercase(),
        argument: argument.trim(),
    })
}

#[derive(Debug, thiserror::Error)]
enum Trouble {
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("{0}")]
    Render(String),
}

impl Inner {
    /// One update from Telegram, answered.
    pub(super) async fn handle(&self, update: Update) {
        let answered = match &update.kind {
            UpdateKind::Message(message) => self.on_message(message).await,
            UpdateKind::CallbackQuery(query) => self.on_button(query).await,
            _ => Ok(None),
        };
        match answered {
            Ok(Some((chat, reply))) => self.send(chat, reply).await,
            Ok(None) => {}
            Err(trouble) => tracing::error!(
                message = "Telegram bot: cannot answer an update",
                update_id = update.id.0,
                reason = %trouble
            ),
        }
    }

    /// The chat's language: as it chose, else its client's, else the hospital's.
    async fn language_of(&self, chat: &str, client: Option<&str>) -> Result<Language, StoreError> {
        Ok(match self.store.telegram_chat(chat).await? {
            Some(known) => known.language,
            None => client_language(client).unwrap_or(self.default_language),
        })
    }

    async fn on_message(&self, message: &Message) -> Result<Option<(ChatId, Reply)>, Trouble> {
        let chat = message.chat.id;
        let chat_key = chat.to_string();
        let client = message
            .from
            .as_ref()
            .and_then(|user| user.language_code.as_deref());
        let username = self.username().clone();
        let text = message.text().unwrap_or_default();
        let Some(command) = command(text, username.as_deref()) else {
            if !message.chat.is_private() {
                return Ok(None);
            }
            let language = self.language_of(&chat_key, client).await?;
            return Ok(Some((chat, self.help(language))));
        };
        let now = self.clock.now_ms();
        let reply = match command.name.as_str() {
            "start" if !command.argument.is_empty() => {
                self.start_with_link(&chat_key, command.argument, client, now)
                    .await?
            }
            "start" => {
                let language = client_language(client).unwrap_or(self.default_language);
                let subscribed = self
                    .store
                    .subscribe_telegram_chat(&chat_key, language, now)
                    .await?;
                text_reply(self.html(
                    subscribed.language,
                    "bot-welcome",
                    &[("hospital", &self.hospital_name)],
                ))
            }
            "language" | "taal" | "langue" => {
                let language = self.language_of(&chat_key, client).await?;
                Reply {
                    html: self.html(language, "bot-choose-language", &[]),
                    keyboard: Some(self.language_keyboard()),
                }
            }
            "stop" => {
                let language = self.language_of(&chat_key, client).await?;
                let before = self.store.telegram_chat(&chat_key).await?;
                if before.as_ref().is_some_and(|chat| chat.active()) {
                    self.store
                        .end_telegram_chat(&chat_key, "/stop", now)
                        .await?;
                    text_reply(self.html(language, "bot-stopped", &[]))
                } else {
                    text_reply(self.html(language, "bot-not-subscribed", &[]))
                }
            }
            "status" => {
                let language = self.language_of(&chat_key, client).await?;
                self.status(language).await?
            }
            "verify" => {
                let language = self.language_of(&chat_key, client).await?;
                self.verify(language, command.argument).await?
            }
            _ => {
                let language = self.language_of(&chat_key, client).await?;
                self.help(language)
            }
        };
        Ok(Some((chat, reply)))
    }

    /// `/start TOKEN`: the link opened with the store's key, then bound once.
    async fn start_with_link(
        &self,
        chat: &str,
        token: &str,
        client: Option<&str>,
        now: i64,
    ) -> Result<Reply, Trouble> {
        let key = LinkKey::new(self.store.telegram_link_key(now).await?);
        let refused = |language: Language, id: &str| {
            text_reply(self.html(language, id, &[("phone", &self.hospital_phone)]))
        };
        let claim = match link::open(&key, token, now) {
            Ok(claim) => claim,
            Err(refusal) => {
                let language = self.language_of(chat, client).await?;
                tracing::info!(
                    message = "Telegram bot: a deep link bound nothing",
                    chat = %crate::channels::mask(chat),
                    reason = %refusal
                );
                return Ok(match refusal {
                    LinkRefusal::Invalid => refused(language, "bot-link-invalid"),
                    LinkRefusal::Expired => refused(language, "bot-link-expired"),
                });
            }
        };
        // The contact's language as the hospital writes to it: the link came in a message
        // in that language.
        let language = match self.store.recipient(claim.contact_id).await {
            Ok(recipient) => self.hospital.language_of(&recipient),
            Err(StoreError::NotFound(_)) => {
                client_language(client).unwrap_or(self.default_language)
            }
            Err(error) => return Err(error.into()),
        };
        let binding = self
            .store
            .bind_telegram_chat(&claim.mac, claim.contact_id, chat, language, now)
            .await?;
        Ok(match binding {
            Binding::Bound(bound) => {
                tracing::info!(
                    message = "Telegram bot: a chat was bound to its contact",
                    chat = %crate::channels::mask(chat),
                    contact_id = bound.contact_id
                );
                text_reply(self.html(
                    bound.language,
                    "bot-linked",
                    &[("hospital", &self.hospital_name)],
                ))
            }
            Binding::Used { same_chat: true } => {
                let language = self.language_of(chat, client).await?;
                text_reply(self.html(language, "bot-already-linked", &[]))
            }
            Binding::Used { same_chat: false } => {
                refused(self.language_of(chat, client).await?, "bot-link-used")
            }
            Binding::UnknownContact => {
                refused(self.language_of(chat, client).await?, "bot-link-unknown")
            }
        })
    }

    async fn on_button(&self, query: &CallbackQuery) -> Result<Option<(ChatId, Reply)>, Trouble> {
        // Answered first, whatever follows: the button stops spinning.
        if let Err(error) = self.bot_answer_callback(query).await {
            tracing::warn!(message = "Telegram bot: cannot answer a button", reason = %error);
        }
        let Some(message) = &query.message else {
            return Ok(None);
        };
        let chat = message.chat().id;
        let Some(language) = query
            .data
            .as_deref()
            .and_then(|data| data.strip_prefix(LANGUAGE_CALLBACK))
            .and_then(|code| {
                Language::ALL
                    .into_iter()
                    .find(|language| language.code() == code)
            })
        else {
            return Ok(None);
        };
        let now = self.clock.now_ms();
        let changed = self
            .store
            .set_telegram_language(&chat.to_string(), language, now)
            .await?;
        let id = match changed {
            Some(chat) if chat.active() => "bot-language-set",
            _ => "bot-not-subscribed",
        };
        Ok(Some((chat, text_reply(self.html(language, id, &[])))))
    }

    async fn bot_answer_callback(&self, query: &CallbackQuery) -> Result<(), super::BotFailure> {
        use teloxide::requests::Requester;
        self.bot
            .answer_callback_query(query.id.clone())
            .await
            .map(|_| ())
            .map_err(|error| self.failure(error))
    }

    /// `/status`: the update released last.
    async fn status(&self, language: Language) -> Result<Reply, Trouble> {
        let published = self.store.published_updates().await?;
        let Some(latest) = published.first() else {
            return Ok(text_reply(self.html(language, "bot-status-none", &[])));
        };
        let when = self.when(language, latest)?;
        let url = links::update_page(&self.public_url, language, &latest.reference);
        Ok(text_reply(self.html(
            language,
            "bot-status",
            &[
                ("when", &when),
                ("title", &latest.text(language).title),
                ("reference", latest.reference.as_str()),
                ("url", url.as_str()),
            ],
        )))
    }

    /// `/verify REFERENCE`: genuine only for an update the press room shows (a draft is
    /// "not issued", as on the check page).
    async fn verify(&self, language: Language, typed: &str) -> Result<Reply, Trouble> {
        if typed.is_empty() {
            let example = self
                .store
                .published_updates()
                .await?
                .first()
                .map(|update| update.reference.as_str().to_string())
                .unwrap_or_else(|| {
                    let today = chrono::DateTime::from_timestamp_millis(self.clock.now_ms())
                        .unwrap_or_default()
                        .with_timezone(&self.renderer.locales().tz())
                        .date_naive();
                    PublicReference::new(&self.hospital.short_name, today, *b"7KQ4")
                        .as_str()
                        .to_string()
                });
            return Ok(text_reply(self.html(
                language,
                "bot-verify-usage",
                &[("example", &example)],
            )));
        }
        let found = match PublicReference::parse(typed) {
            Some(reference) => self
                .store
                .update_by_reference(&reference)
                .await?
                .filter(|update| update.state.released()),
            None => None,
        };
        let Some(update) = found else {
            // As typed, within reason: it is shown back to the person who typed it.
            let shown: String = typed.chars().take(40).collect();
            return Ok(text_reply(self.html(
                language,
                "bot-verify-not-issued",
                &[
                    ("reference", &shown),
                    ("hospital", &self.hospital_name),
                    ("phone", &self.hospital_phone),
                ],
            )));
        };
        let when = self.when(language, &update)?;
        let url = links::update_page(&self.public_url, language, &update.reference);
        Ok(text_reply(self.html(
            language,
            "bot-verify-genuine",
            &[
                ("reference", update.reference.as_str()),
                ("hospital", &self.hospital_name),
                ("title", &update.text(language).title),
                ("when", &when),
                ("url", url.as_str()),
            ],
        )))
    }

    /// When the update was released, in the hospital's time zone.
    fn when(&self, language: Language, update: &crate::domain::Update) -> Result<String, Trouble> {
        let at = update.approved_at_ms.unwrap_or(update.created_at_ms);
        let at = chrono::DateTime::from_timestamp_millis(at)
            .ok_or_else(|| Trouble::Render(format!("a release time out of range: {at}")))?;
        self.renderer
            .locales()
            .datetime(language, at)
            .map(|texts| texts.when)
            .map_err(|error| Trouble::Render(error.to_string()))
    }

    fn help(&self, language: Language) -> Reply {
        text_reply(self.html(language, "bot-help", &[("hospital", &self.hospital_name)]))
    }
}

fn text_reply(html: String) -> Reply {
    Reply {
        html,
        keyboard: None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_command_for_another_bot_is_not_ours_and_case_and_spaces_do_not_matter() {
        let ours = Some("tocsin_bot");
        assert_eq!(
            command("/start abc", ours),
            Some(Command {
                name: "start".into(),
                argument: "abc"
            })
        );
        assert_eq!(
            command("/Verify@Tocsin_Bot  azt-20261130-fsey ", ours),
            Some(Command {
                name: "verify".into(),
                argument: "azt-20261130-fsey"
            })
        );
        assert_eq!(command("/start@other_bot", ours), None);
        assert_eq!(command("/start@tocsin_bot", None), None);
        assert_eq!(command("hello /start", ours), None);
        assert_eq!(command("/", ours), None);
    }

    #[test]
    fn a_client_language_counts_when_it_is_one_of_ours() {
        assert_eq!(client_language(Some("fr-BE")), Some(Language::Fr));
        assert_eq!(client_language(Some("nl")), Some(Language::Nl));
        assert_eq!(client_language(Some("EN")), Some(Language::En));
        assert_eq!(client_language(Some("de")), None);
        assert_eq!(client_language(None), None);
    }
}
