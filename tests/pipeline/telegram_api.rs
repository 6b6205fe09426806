//! The Telegram Bot API, emulated in-process from its documentation
//! (<https://core.telegram.org/bots/api>), for `telegram.rs`.
//!
//! * Requests: `https://<api>/bot<token>/METHOD`, GET or POST, parameters in the query
//!   string, as `application/x-www-form-urlencoded` or as `application/json`; method names
//!   are case-insensitive.
//! * Answers: `{"ok":true,"result":…}`, or `{"ok":false,"error_code":N,"description":…}`
//!   with `parameters` (`ResponseParameters`: `retry_after`, `migrate_to_chat_id`) where the
//!   error has them, and the HTTP status `error_code`. A wrong token is `401 Unauthorized`,
//!   a path that is no `/bot<token>/METHOD` and an unknown method `404 Not Found`.
//! * `getMe`: the bot as a `User` with its `can_join_groups` … fields. `sendMessage`: the
//!   `Message` sent, its `message_id` counting up per chat, `chat` typed by its id
//!   (`private` for a user, `group`, `supergroup` for `-100…`), and for `parse_mode=HTML`
//!   the text as the recipient reads it and its `entities` (offsets and lengths in UTF-16
//!   code units), parsed as "Formatting options" documents: only the tags listed there,
//!   numerical entities and the four named ones (`&lt;` `&gt;` `&amp;` `&quot;`); anything
//!   else is `400 Bad Request: can't parse entities: …`. Stricter than Telegram in one way:
//!   a bare `&` that starts no entity is refused, where Telegram may take it as written.
//!   `reply_parameters`: a reply to a message of the chat (recorded in `Sent::reply_to`);
//!   to one that does not exist or was deleted, `400 Bad Request: message to be replied not
//!   found`, or no reply with `allow_sending_without_reply`.
//! * Per chat, as a test sets it: blocked (`403 Forbidden: bot was blocked by the user`),
//!   deactivated (`403 Forbidden: user is deactivated`), unknown (`400 Bad Request: chat not
//!   found`; also any `@username`, which only channels have), upgraded to a supergroup
//!   (`400 … group chat was upgraded to a supergroup chat` with `migrate_to_chat_id`),
//!   flood-controlled once (`429 Too Many Requests: retry after N` with `retry_after`); any
//!   of these after a number of messages taken.
//!
//! * The bot's side of a conversation: `getUpdates` (the updates a test makes a user send,
//!   [`TelegramApi::user_writes`] and [`TelegramApi::user_presses`]; `offset` confirms and
//!   forgets every update below it, a negative one keeps the last `-offset`, `limit`
//!   1–100, `timeout` long-polls until an update arrives; `409 Conflict` while a webhook is
//!   set), `setWebhook` (an https `url`, a `secret_token` of 1–256 `A-Z a-z 0-9 _ -`),
//!   `deleteWebhook`, `answerCallbackQuery` (a query id the emulator issued, answered
//!   once), `setMyCommands` / `setMyDescription` / `setMyShortDescription` recorded per
//!   `language_code` (`""` for the default), and `sendMessage`'s `reply_markup` with an
//!   `inline_keyboard`, recorded with the message.
//!
//! Every request is recorded with the instant it arrived, so that tests can check the
//! limits Tocsin keeps on the emulator's own clock.

use axum::body::Bytes;
use axum::extract::{Path, RawQuery, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::any;
use axum::{Json, Router};
use serde_json::{json, Map, Value};
use std::collections::{HashMap, HashSet, VecDeque};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// The test bot's token, in the shape @BotFather gives.
pub(crate) const TOKEN: &str = "7012345678:AAFq3tocsinTestBot_w4xYz-0123456789ab";
pub(crate) const BOT_ID: i64 = 7_012_345_678;
pub(crate) const BOT_USERNAME: &str = "tocsin_test_bot";
/// Longest text of a message, in UTF-16 code units after entities are parsed.
const MAX_TEXT: usize = 4096;

/// What a chat does with the next message, as a test sets it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum ChatState {
    Blocked,
    Deactivated,
    NotFound,
    /// The group became this supergroup.
    MigratedTo(i64),
    /// Flood control: the next message is answered 429 with this `retry_after`, then the
    /// chat is normal again.
    RateLimitedOnce {
        retry_after: u32,
    },
    /// Takes `accepted` more messages, then does as `then`.
    After {
        accepted: u32,
        then: Box<ChatState>,
    },
}

/// One request, as it arrived.
#[derive(Debug, Clone)]
pub(crate) struct Request {
    pub(crate) at: Instant,
    pub(crate) method: String,
    /// The token in its path.
    pub(crate) token: String,
    pub(crate) chat_id: Option<String>,
    /// The HTTP status answered.
    pub(crate) status: u16,
}

/// One message the emulated Telegram took, as its chat sees it.
#[derive(Debug, Clone)]
pub(crate) struct Sent {
    pub(crate) at: Instant,
    pub(crate) chat_id: i64,
    pub(crate) message_id: i64,
    /// As the recipient reads it: tags gone, entities decoded.
    pub(crate) text: String,
    pub(crate) entities: Vec<Value>,
    /// The message of the same chat it answers (`reply_parameters.message_id`), when that
    /// message exists.
    pub(crate) reply_to: Option<i64>,
    /// `reply_markup` as sent (an `inline_keyboard`, for the bot's buttons).
    pub(crate) reply_markup: Option<Value>,
}

/// A person on Telegram, as `from` describes them.
#[derive(Debug, Clone)]
pub(crate) struct TelegramUser {
    pub(crate) id: i64,
    pub(crate) first_name: String,
    /// Their Telegram client's language (IETF tag), if it says.
    pub(crate) language_code: Option<String>,
}

impl TelegramUser {
    pub(crate) fn new(id: i64, first_name: &str, language_code: Option<&str>) -> TelegramUser {
        TelegramUser {
            id,
            first_name: first_name.into(),
            language_code: language_code.map(str::to_string),
        }
    }

    fn json(&self) -> Value {
        let mut user = json!({"id": self.id, "is_bot": false, "first_name": self.first_name});
        if let Some(code) = &self.language_code {
            user["language_code"] = json!(code);
        }
        user
    }
}

/// The webhook `setWebhook` set.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct WebhookSet {
    pub(crate) url: String,
    pub(crate) secret_token: Option<String>,
    pub(crate) allowed_updates: Option<Value>,
}

/// What the bot told Telegram about itself, per `language_code` (`""`: the default).
#[derive(Debug, Clone, Default)]
pub(crate) struct BotProfile {
    pub(crate) commands: HashMap<String, Vec<Value>>,
    pub(crate) descriptions: HashMap<String, String>,
    pub(crate) short_descriptions: HashMap<String, String>,
}

/// One `getUpdates` call's parameters.
#[derive(Debug, Clone)]
pub(crate) struct Poll {
    pub(crate) offset: Option<i64>,
    pub(crate) timeout: Option<u64>,
    pub(crate) allowed_updates: Option<Value>,
}

pub(crate) struct ApiState {
    token: String,
    chats: HashMap<i64, ChatState>,
    next_message_id: HashMap<i64, i64>,
    /// Messages deleted in their chat, as a test sets it: `(chat, message_id)`.
    deleted: std::collections::HashSet<(i64, i64)>,
    pub(crate) requests: Vec<Request>,
    pub(crate) sent: Vec<Sent>,
    /// Updates not confirmed yet, oldest first.
    pub(crate) updates: VecDeque<Value>,
    next_update_id: i64,
    pub(crate) webhook: Option<WebhookSet>,
    pub(crate) profile: BotProfile,
    pub(crate) polls: Vec<Poll>,
    /// Callback queries issued and not answered yet.
    open_queries: HashSet<String>,
    /// `(callback_query_id, text)` of each `answerCallbackQuery`.
    pub(crate) answered_queries: Vec<(String, Option<String>)>,
    next_query: u64,
}

#[derive(Clone)]
pub(crate) struct TelegramApi {
    /// What `[telegram] api_url` is set to.
    pub(crate) url: String,
    state: Arc<Mutex<ApiState>>,
}

impl TelegramApi {
    pub(crate) async fn start() -> TelegramApi {
        let state = Arc::new(Mutex::new(ApiState {
            token: TOKEN.into(),
            chats: HashMap::new(),
            next_message_id: HashMap::new(),
            deleted: std::collections::HashSet::new(),
            requests: Vec::new(),
            sent: Vec::new(),
            updates: VecDeque::new(),
            next_update_id: 431_000_000,
            webhook: None,
            profile: BotProfile::default(),
            polls: Vec::new(),
            open_queries: HashSet::new(),
            answered_queries: Vec::new(),
            next_query: 0,
        }));
        let router = Router::new()
            .route("/{bot}/{method}", any(method))
            .fallback(not_found)
            .with_state(Arc::clone(&state));
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind the Bot API emulator");
        let address = listener.local_addr().expect("local address");
        tokio::spawn(async move {
            axum::serve(listener, router)
                .await
                .expect("Bot API emulator");
        });
        TelegramApi {
            url: format!("http://{address}"),
            state,
        }
    }

    pub(crate) fn with<T>(&self, f: impl FnOnce(&mut ApiState) -> T) -> T {
        f(&mut self.state.lock().expect("emulator state"))
    }

    pub(crate) fn set_chat(&self, chat_id: i64, chat: ChatState) {
        self.with(|state| state.chats.insert(chat_id, chat));
    }

    /// Someone deleted this message of the chat: a reply to it finds nothing.
    pub(crate) fn delete_message(&self, chat_id: i64, message_id: i64) {
        self.with(|state| state.deleted.insert((chat_id, message_id)));
    }

    pub(crate) fn requests(&self) -> Vec<Request> {
        self.with(|state| state.requests.clone())
    }

    /// `sendMessage` requests, in the order they arrived.
    pub(crate) fn send_requests(&self) -> Vec<Request> {
        self.requests()
            .into_iter()
            .filter(|request| request.method.eq_ignore_ascii_case("sendMessage"))
            .collect()
    }

    pub(crate) fn sent(&self) -> Vec<Sent> {
        self.with(|state| state.sent.clone())
    }

    /// The messages sent to `chat_id`, oldest first.
    pub(crate) fn sent_to(&self, chat_id: i64) -> Vec<Sent> {
        self.with(|state| {
            state
                .sent
                .iter()
                .filter(|sent| sent.chat_id == chat_id)
                .cloned()
                .collect()
        })
    }

    /// Waits until `done` holds of the emulator's state; panics after a minute (a hang, not
    /// a measurement).
    pub(crate) async fn wait_for(&self, what: &str, done: impl Fn(&ApiState) -> bool) {
        let deadline = Instant::now() + Duration::from_secs(60);
        while !self.with(|state| done(state)) {
            assert!(Instant::now() < deadline, "gave up waiting for {what}");
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }

    /// Waits for the `count`th message to `chat_id` and returns it.
    pub(crate) async fn nth_sent_to(&self, chat_id: i64, count: usize) -> Sent {
        self.wait_for(&format!("message {count} to chat {chat_id}"), |state| {
            state
                .sent
                .iter()
                .filter(|sent| sent.chat_id == chat_id)
                .count()
                >= count
        })
        .await;
        self.sent_to(chat_id)
            .into_iter()
            .nth(count - 1)
            .expect("waited for it")
    }

    /// A text message from `user` in `chat_id` (private when it is the user's own id, a
    /// group when negative), as Telegram delivers it: a command starts with a
    /// `bot_command` entity. Not queued: see [`TelegramApi::queue`].
    pub(crate) fn message_update(&self, user: &TelegramUser, chat_id: i64, text: &str) -> Value {
        self.with(|state| {
            state.next_update_id += 1;
            let message_id = state.next_message_id.entry(chat_id).or_insert(0);
            *message_id += 1;
            let mut message = json!({
                "message_id": *message_id,
                "from": user.json(),
                "chat": chat_json(chat_id, user),
                "date": unix_now(),
                "text": text,
            });
            if text.starts_with('/') {
                let command = text.split_whitespace().next().unwrap_or_default();
                message["entities"] = json!([{
                    "type": "bot_command",
                    "offset": 0,
                    "length": command.encode_utf16().count(),
                }]);
            }
            json!({"update_id": state.next_update_id, "message": message})
        })
    }

    /// Makes an update waiting for `getUpdates`.
    pub(crate) fn queue(&self, update: Value) {
        self.with(|state| state.updates.push_back(update));
    }

    /// `user` writes `text` in `chat_id`; returns the update's id.
    pub(crate) fn user_writes(&self, user: &TelegramUser, chat_id: i64, text: &str) -> i64 {
        let update = self.message_update(user, chat_id, text);
        let id = update["update_id"].as_i64().expect("an id");
        self.queue(update);
        id
    }

    /// `user` presses the inline button carrying `data` under the bot's message `sent`.
    pub(crate) fn user_presses(&self, user: &TelegramUser, sent: &Sent, data: &str) -> i64 {
        self.with(|state| {
            state.next_update_id += 1;
            state.next_query += 1;
            let query_id = format!("{}{:06}", user.id, state.next_query);
            state.open_queries.insert(query_id.clone());
            let mut message = json!({
                "message_id": sent.message_id,
                "from": {"id": BOT_ID, "is_bot": true, "first_name": "Tocsin test", "username": BOT_USERNAME},
                "chat": chat_json(sent.chat_id, user),
                "date": unix_now(),
                "text": sent.text,
            });
            if let Some(markup) = &sent.reply_markup {
                message["reply_markup"] = markup.clone();
            }
            let update = json!({
                "update_id": state.next_update_id,
                "callback_query": {
                    "id": query_id,
                    "from": user.json(),
                    "message": message,
                    "chat_instance": format!("-{}", sent.chat_id.unsigned_abs()),
                    "data": data,
                },
            });
            state.updates.push_back(update);
            state.next_update_id
        })
    }
}

fn unix_now() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .expect("after 1970")
        .as_secs()
}

/// A chat as a message shows it: the user's own private chat, or a group.
fn chat_json(chat_id: i64, user: &TelegramUser) -> Value {
    if chat_id > 0 {
        json!({"id": chat_id, "type": "private", "first_name": user.first_name})
    } else if chat_id.to_string().starts_with("-100") {
        json!({"id": chat_id, "type": "supergroup", "title": format!("Supergroup {chat_id}")})
    } else {
        json!({"id": chat_id, "type": "group", "title": format!("Group {chat_id}")})
    }
}

/// A parameter that is JSON (an array, an object), sent as JSON or as a JSON string in a
/// form.
fn json_param(value: Option<&Value>) -> Option<Value> {
    match value? {
        Value::String(text) => serde_json::from_str(text).ok(),
        Value::Null => None,
        other => Some(other.clone()),
    }
}

fn integer_param(value: Option<&Value>) -> Option<i64> {
    match value? {
        Value::Number(number) => number.as_i64(),
        Value::String(text) => text.trim().parse().ok(),
        _ => None,
    }
}

/// `getUpdates`: answered as soon as an update is there, or when `timeout` seconds passed.
async fn get_updates(
    state: &Arc<Mutex<ApiState>>,
    token: &str,
    params: Map<String, Value>,
) -> Response {
    let at = Instant::now();
    let offset = integer_param(params.get("offset"));
    let timeout = integer_param(params.get("timeout")).unwrap_or(0).max(0) as u64;
    let limit = integer_param(params.get("limit")).unwrap_or(100);
    let allowed_updates = json_param(params.get("allowed_updates"));
    let record = |state: &mut ApiState, status: u16| {
        state.requests.push(Request {
            at,
            method: "getUpdates".into(),
            token: token.to_string(),
            chat_id: None,
            status,
        })
    };
    {
        let mut state = state.lock().expect("emulator state");
        if token != state.token {
            record(&mut state, 401);
            return error(401, "Unauthorized", None);
        }
        if state.webhook.is_some() {
            record(&mut state, 409);
            return error(
                409,
                "Conflict: can't use getUpdates method while webhook is active; use deleteWebhook to delete the webhook first",
                None,
            );
        }
        if !(1..=100).contains(&limit) {
            record(&mut state, 400);
            return error(400, "Bad Request: limit must be between 1 and 100", None);
        }
        state.polls.push(Poll {
            offset,
            timeout: Some(timeout),
            allowed_updates: allowed_updates.clone(),
        });
        match offset {
            Some(offset) if offset > 0 => state
                .updates
                .retain(|update| update["update_id"].as_i64().unwrap_or(0) >= offset),
            Some(offset) if offset < 0 => {
                let keep = offset.unsigned_abs() as usize;
                while state.updates.len() > keep {
                    state.updates.pop_front();
                }
            }
            _ => {}
        }
    }
    let deadline = at + Duration::from_secs(timeout);
    loop {
        {
            let mut state = state.lock().expect("emulator state");
            if !state.updates.is_empty() || Instant::now() >= deadline {
                let updates: Vec<Value> =
                    state.updates.iter().take(limit as usize).cloned().collect();
                record(&mut state, 200);
                return answer(Value::Array(updates));
            }
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

/// `setMyCommands`, `setMyDescription`, `setMyShortDescription`, `setWebhook`,
/// `deleteWebhook`, `answerCallbackQuery`; `None` for any other method.
fn bot_method(state: &mut ApiState, method: &str, params: &Map<String, Value>) -> Option<Response> {
    let language = text_of(params.get("language_code")).unwrap_or_default();
    // Empty: the default; else a two-letter ISO 639-1 code.
    let two_letters = language.len() == 2 && language.chars().all(|c| c.is_ascii_lowercase());
    if !(language.is_empty() || two_letters) {
        return Some(error(
            400,
            "Bad Request: invalid language code specified",
            None,
        ));
    }
    let method = method.to_ascii_lowercase();
    Some(match method.as_str() {
        "setmycommands" => {
            let Some(Value::Array(commands)) = json_param(params.get("commands")) else {
                return Some(error(
                    400,
                    "Bad Request: parameter \"commands\" is required",
                    None,
                ));
            };
            for command in &commands {
                let name = command["command"].as_str().unwrap_or_default();
                let description = command["description"].as_str().unwrap_or_default();
                if name.is_empty()
                    || name.len() > 32
                    || !name
                        .chars()
                        .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_')
                {
                    return Some(error(400, "Bad Request: BOT_COMMAND_INVALID", None));
                }
                let length = description.chars().count();
                if !(3..=256).contains(&length) {
                    return Some(error(
                        400,
                        "Bad Request: BOT_COMMAND_DESCRIPTION_INVALID",
                        None,
                    ));
                }
            }
            state.profile.commands.insert(language, commands);
            answer(json!(true))
        }
        "setmydescription" => {
            let description = text_of(params.get("description")).unwrap_or_default();
            if description.chars().count() > 512 {
                return Some(error(400, "Bad Request: description is too long", None));
            }
            state.profile.descriptions.insert(language, description);
            answer(json!(true))
        }
        "setmyshortdescription" => {
            let description = text_of(params.get("short_description")).unwrap_or_default();
            if description.chars().count() > 120 {
                return Some(error(
                    400,
                    "Bad Request: short description is too long",
                    None,
                ));
            }
            state
                .profile
                .short_descriptions
                .insert(language, description);
            answer(json!(true))
        }
        "setwebhook" => {
            let url = text_of(params.get("url")).unwrap_or_default();
            if !url.starts_with("https://") {
                return Some(error(
                    400,
                    "Bad Request: bad webhook: An HTTPS URL must be provided for webhook",
                    None,
                ));
            }
            let secret_token = text_of(params.get("secret_token"));
            if let Some(secret) = &secret_token {
                if secret.is_empty()
                    || secret.len() > 256
                    || !secret
                        .chars()
                        .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-')
                {
                    return Some(error(
                        400,
                        "Bad Request: secret token contains unallowed characters",
                        None,
                    ));
                }
            }
            state.webhook = Some(WebhookSet {
                url,
                secret_token,
                allowed_updates: json_param(params.get("allowed_updates")),
            });
            answer(json!(true))
        }
        "deletewebhook" => {
            state.webhook = None;
            if text_of(params.get("drop_pending_updates")).as_deref() == Some("true") {
                state.updates.clear();
            }
            answer(json!(true))
        }
        "answercallbackquery" => {
            let id = text_of(params.get("callback_query_id")).unwrap_or_default();
            if !state.open_queries.remove(&id) {
                return Some(error(
                    400,
                    "Bad Request: query is too old and response timeout expired or query ID is invalid",
                    None,
                ));
            }
            state
                .answered_queries
                .push((id, text_of(params.get("text"))));
            answer(json!(true))
        }
        _ => return None,
    })
}

fn answer(result: Value) -> Response {
    Json(json!({"ok": true, "result": result})).into_response()
}

fn error(code: u16, description: &str, parameters: Option<Value>) -> Response {
    let mut body = json!({"ok": false, "error_code": code, "description": description});
    if let Some(parameters) = parameters {
        body["parameters"] = parameters;
    }
    let status = StatusCode::from_u16(code).expect("an HTTP status");
    (status, Json(body)).into_response()
}

async fn not_found() -> Response {
    error(404, "Not Found", None)
}

/// The request's parameters, wherever it put them; JSON values other than strings are kept
/// as JSON.
fn parameters(query: Option<&str>, headers: &HeaderMap, body: &[u8]) -> Map<String, Value> {
    let mut out = Map::new();
    let mut form = |bytes: &[u8]| {
        for (key, value) in url::form_urlencoded::parse(bytes).into_owned() {
            out.insert(key, Value::String(value));
        }
    };
    if let Some(query) = query {
        form(query.as_bytes());
    }
    let kind = headers
        .get(header::CONTENT_TYPE)
        .and_then(|value| value.to_str().ok())
        .unwrap_or_default();
    if kind.starts_with("application/x-www-form-urlencoded") {
        form(body);
    } else if kind.starts_with("application/json") {
        if let Ok(Value::Object(fields)) = serde_json::from_slice::<Value>(body) {
            out.extend(fields);
        }
    } else if kind.starts_with("multipart/form-data") {
        if let Some(boundary) = kind.split("boundary=").nth(1) {
            out.extend(multipart(body, boundary.trim_matches('"')));
        }
    }
    out
}

/// The text fields of a `multipart/form-data` body (teloxide sends `setWebhook` so, since
/// it may carry a certificate).
fn multipart(body: &[u8], boundary: &str) -> Map<String, Value> {
    let mut out = Map::new();
    let body = String::from_utf8_lossy(body);
    for part in body.split(&format!("--{boundary}")) {
        let Some((head, value)) = part.split_once("\r\n\r\n") else {
            continue;
        };
        let Some(name) = head
            .split("name=\"")
            .nth(1)
            .and_then(|rest| rest.split('"').next())
        else {
            continue;
        };
        let value = value.strip_suffix("\r\n").unwrap_or(value);
        out.insert(name.to_string(), Value::String(value.to_string()));
    }
    out
}

fn text_of(value: Option<&Value>) -> Option<String> {
    match value? {
        Value::String(text) => Some(text.clone()),
        Value::Null => None,
        other => Some(other.to_string()),
    }
}

async fn method(
    State(state): State<Arc<Mutex<ApiState>>>,
    Path((bot, method)): Path<(String, String)>,
    RawQuery(query): RawQuery,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let at = Instant::now();
    let Some(token) = bot.strip_prefix("bot") else {
        return not_found().await;
    };
    let params = parameters(query.as_deref(), &headers, &body);
    if method.eq_ignore_ascii_case("getUpdates") {
        return get_updates(&state, token, params).await;
    }
    let chat_id = text_of(params.get("chat_id"));
    let mut state = state.lock().expect("emulator state");
    let response = if token != state.token {
        error(401, "Unauthorized", None)
    } else if method.eq_ignore_ascii_case("getMe") {
        answer(json!({
            "id": BOT_ID,
            "is_bot": true,
            "first_name": "Tocsin test",
            "username": BOT_USERNAME,
            "can_join_groups": true,
            "can_read_all_group_messages": false,
            "supports_inline_queries": false,
            "can_connect_to_business": false,
            "has_main_web_app": false,
        }))
    } else if method.eq_ignore_ascii_case("sendMessage") {
        send_message(&mut state, at, chat_id.as_deref(), &params)
    } else if let Some(response) = bot_method(&mut state, &method, &params) {
        response
    } else {
        error(404, "Not Found", None)
    };
    state.requests.push(Request {
        at,
        method,
        token: token.to_string(),
        chat_id,
        status: response.status().as_u16(),
    });
    response
}

fn send_message(
    state: &mut ApiState,
    at: Instant,
    chat_id: Option<&str>,
    params: &Map<String, Value>,
) -> Response {
    let chat_id = match chat_id {
        None | Some("") => return error(400, "Bad Request: chat_id is empty", None),
        // Only channels have a username a bot can write to, and this Telegram has none.
        Some(text) => match text.parse::<i64>() {
            Ok(id) => id,
            Err(_) => return error(400, "Bad Request: chat not found", None),
        },
    };
    if let Some(ChatState::After { accepted, then }) = state.chats.get(&chat_id).cloned() {
        match accepted.checked_sub(1) {
            Some(accepted) => state
                .chats
                .insert(chat_id, ChatState::After { accepted, then }),
            None => state.chats.insert(chat_id, *then),
        };
    }
    match state.chats.get(&chat_id).cloned() {
        Some(ChatState::Blocked) => {
            return error(403, "Forbidden: bot was blocked by the user", None)
        }
        Some(ChatState::Deactivated) => return error(403, "Forbidden: user is deactivated", None),
        Some(ChatState::NotFound) => return error(400, "Bad Request: chat not found", None),
        Some(ChatState::MigratedTo(to)) => {
            return error(
                400,
                "Bad Request: group chat was upgraded to a supergroup chat",
                Some(json!({"migrate_to_chat_id": to})),
            )
        }
        Some(ChatState::RateLimitedOnce { retry_after }) => {
            state.chats.remove(&chat_id);
            return error(
                429,
                &format!("Too Many Requests: retry after {retry_after}"),
                Some(json!({"retry_after": retry_after})),
            );
        }
        Some(ChatState::After { .. }) | None => {}
    }
    let raw = text_of(params.get("text")).unwrap_or_default();
    let parse_mode = text_of(params.get("parse_mode"));
    let (text, entities) = match parse_mode.as_deref() {
        None | Some("") => (raw, Vec::new()),
        Some(mode) if mode.eq_ignore_ascii_case("HTML") => match parse_html(&raw) {
            Ok(parsed) => parsed,
            Err(problem) => {
                return error(
                    400,
                    &format!("Bad Request: can't parse entities: {problem}"),
                    None,
                )
            }
        },
        Some(_) => return error(400, "Bad Request: unsupported parse_mode", None),
    };
    if text.trim().is_empty() {
        return error(400, "Bad Request: message text is empty", None);
    }
    if text.encode_utf16().count() > MAX_TEXT {
        return error(400, "Bad Request: message is too long", None);
    }
    let reply_to = match reply_target(state, chat_id, params.get("reply_parameters")) {
        Ok(reply_to) => reply_to,
        Err(description) => return error(400, description, None),
    };
    let next = state.next_message_id.entry(chat_id).or_insert(0);
    *next += 1;
    let message_id = *next;
    state.sent.push(Sent {
        at,
        chat_id,
        message_id,
        text: text.clone(),
        entities: entities.clone(),
        reply_to,
        reply_markup: json_param(params.get("reply_markup")),
    });
    let chat = if chat_id > 0 {
        json!({"id": chat_id, "type": "private", "first_name": format!("User {chat_id}")})
    } else if chat_id.to_string().starts_with("-100") {
        json!({"id": chat_id, "type": "supergroup", "title": format!("Supergroup {chat_id}")})
    } else {
        json!({"id": chat_id, "type": "group", "title": format!("Group {chat_id}")})
    };
    let date = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .expect("after 1970")
        .as_secs();
    let mut message = json!({
        "message_id": message_id,
        "from": {"id": BOT_ID, "is_bot": true, "first_name": "Tocsin test", "username": BOT_USERNAME},
        "chat": chat,
        "date": date,
        "text": text,
    });
    if !entities.is_empty() {
        message["entities"] = Value::Array(entities);
    }
    answer(message)
}

/// The message `reply_parameters` (a `ReplyParameters` object, or its JSON in a form) names
/// in this chat, if it exists; without it, `400 Bad Request: message to be replied not
/// found` unless `allow_sending_without_reply` is true.
fn reply_target(
    state: &ApiState,
    chat_id: i64,
    parameters: Option<&Value>,
) -> Result<Option<i64>, &'static str> {
    let parameters = match parameters {
        None | Some(Value::Null) => return Ok(None),
        Some(Value::String(json)) => serde_json::from_str(json).unwrap_or(Value::Null),
        Some(other) => other.clone(),
    };
    let Some(message_id) = parameters.get("message_id").and_then(Value::as_i64) else {
        return Err("Bad Request: invalid reply parameters");
    };
    let exists = state
        .sent
        .iter()
        .any(|sent| sent.chat_id == chat_id && sent.message_id == message_id)
        && !state.deleted.contains(&(chat_id, message_id));
    let allowed = parameters
        .get("allow_sending_without_reply")
        .and_then(Value::as_bool)
        .unwrap_or(false);
    match (exists, allowed) {
        (true, _) => Ok(Some(message_id)),
        (false, true) => Ok(None),
        (false, false) => Err("Bad Request: message to be replied not found"),
    }
}

/// An open tag: its name, where its text starts (UTF-16 units), and its entity's fields
/// but those two.
struct Open {
    name: String,
    offset: usize,
    extra: Map<String, Value>,
}

/// The attributes of a tag, `name="value"` or a bare `name`.
fn attributes(text: &str) -> Result<Vec<(String, String)>, String> {
    let mut out = Vec::new();
    let mut rest = text.trim();
    while !rest.is_empty() {
        let end = rest
            .find(|c: char| c == '=' || c.is_whitespace())
            .unwrap_or(rest.len());
        let name = rest[..end].to_lowercase();
        rest = rest[end..].trim_start();
        if let Some(value) = rest.strip_prefix('=') {
            let value = value.trim_start();
            let quote = value
                .chars()
                .next()
                .filter(|c| *c == '"' || *c == '\'')
                .ok_or("Expected quoted attribute value")?;
            let close = value[1..].find(quote).ok_or("Unclosed attribute value")?;
            out.push((name, decode_entities(&value[1..1 + close])?));
            rest = value[close + 2..].trim_start();
        } else {
            out.push((name, String::new()));
        }
    }
    Ok(out)
}

/// Decodes the four named entities and numerical ones in an attribute value.
fn decode_entities(text: &str) -> Result<String, String> {
    let mut out = String::new();
    let mut rest = text;
    while let Some(start) = rest.find('&') {
        out.push_str(&rest[..start]);
        let (decoded, used) = entity(&rest[start..], 0)?;
        out.push(decoded);
        rest = &rest[start + used..];
    }
    out.push_str(rest);
    Ok(out)
}

/// The entity at the start of `text` (which starts with `&`), and its length in bytes.
fn entity(text: &str, offset: usize) -> Result<(char, usize), String> {
    let Some(end) = text.find(';').filter(|end| *end <= 12) else {
        return Err(format!(
            "Character entity is unterminated at byte offset {offset}"
        ));
    };
    let name = &text[1..end];
    let decoded = match name {
        "lt" => Some('<'),
        "gt" => Some('>'),
        "amp" => Some('&'),
        "quot" => Some('"'),
        _ => {
            let number =
                if let Some(hex) = name.strip_prefix("#x").or_else(|| name.strip_prefix("#X")) {
                    u32::from_str_radix(hex, 16).ok()
                } else {
                    name.strip_prefix('#')
                        .and_then(|digits| digits.parse().ok())
                };
            number.and_then(char::from_u32)
        }
    };
    decoded
        .map(|c| (c, end + 1))
        .ok_or_else(|| format!("Unsupported HTML entity \"&{name};\" at byte offset {offset}"))
}

/// The entity type a supported tag makes, or why the tag is refused.
fn entity_type(
    name: &str,
    attributes: &[(String, String)],
) -> Result<(&'static str, Map<String, Value>), String> {
    let attribute = |wanted: &str| {
        attributes
            .iter()
            .find(|(name, _)| name == wanted)
            .map(|(_, value)| value.clone())
    };
    let mut extra = Map::new();
    let kind = match name {
        "b" | "strong" => "bold",
        "i" | "em" => "italic",
        "u" | "ins" => "underline",
        "s" | "strike" | "del" => "strikethrough",
        "tg-spoiler" => "spoiler",
        "span" if attribute("class").as_deref() == Some("tg-spoiler") => "spoiler",
        "span" => return Err("Tag \"span\" must have class \"tg-spoiler\"".into()),
        "a" => {
            let url = attribute("href").unwrap_or_default();
            extra.insert("url".into(), Value::String(url));
            "text_link"
        }
        "code" => "code",
        "pre" => "pre",
        "blockquote" if attribute("expandable").is_some() => "expandable_blockquote",
        "blockquote" => "blockquote",
        "tg-emoji" => {
            let id =
                attribute("emoji-id").ok_or("Tag \"tg-emoji\" must have attribute \"emoji-id\"")?;
            extra.insert("custom_emoji_id".into(), Value::String(id));
            "custom_emoji"
        }
        other => return Err(format!("Unsupported start tag \"{other}\"")),
    };
    Ok((kind, extra))
}

/// HTML parse mode: the text the recipient reads and its entities, or why Telegram refuses
/// it (the part of the description after "can't parse entities: ").
pub(crate) fn parse_html(html: &str) -> Result<(String, Vec<Value>), String> {
    let mut text = String::new();
    let mut units = 0usize;
    let mut open: Vec<Open> = Vec::new();
    let mut entities: Vec<Value> = Vec::new();
    let mut at = 0;
    while at < html.len() {
        let rest = &html[at..];
        if rest.starts_with('<') {
            let end = rest
                .find('>')
                .ok_or_else(|| format!("Unclosed start tag at byte offset {at}"))?;
            let inside = &rest[1..end];
            if let Some(closing) = inside.strip_prefix('/') {
                let name = closing.trim().to_lowercase();
                let Some(tag) = open.pop() else {
                    return Err(format!("Unexpected end tag at byte offset {at}"));
                };
                if tag.name != name {
                    return Err(format!(
                        "Can't find end tag corresponding to start tag \"{}\"",
                        tag.name
                    ));
                }
                // An empty entity is dropped, as Telegram does.
                if units > tag.offset {
                    let mut entity = tag.extra;
                    entity.insert("offset".into(), json!(tag.offset));
                    entity.insert("length".into(), json!(units - tag.offset));
                    entities.push(Value::Object(entity));
                }
            } else {
                let inside = inside.trim_end_matches('/');
                let name_end = inside.find(char::is_whitespace).unwrap_or(inside.len());
                let name = inside[..name_end].to_lowercase();
                let attributes = attributes(&inside[name_end..])
                    .map_err(|problem| format!("{problem} at byte offset {at}"))?;
                let (kind, mut extra) = entity_type(&name, &attributes)
                    .map_err(|problem| format!("{problem} at byte offset {at}"))?;
                extra.insert("type".into(), Value::String(kind.into()));
                open.push(Open {
                    name,
                    offset: units,
                    extra,
                });
            }
            at += end + 1;
        } else if rest.starts_with('&') {
            let (decoded, used) = entity(rest, at)?;
            text.push(decoded);
            units += decoded.len_utf16();
            at += used;
        } else {
            let c = rest.chars().next().expect("not at the end");
            text.push(c);
            units += c.len_utf16();
            at += c.len_utf8();
        }
    }
    if let Some(tag) = open.pop() {
        return Err(format!(
            "Can't find end tag corresponding to start tag \"{}\"",
            tag.name
        ));
    }
    entities.sort_by_key(|entity| {
        (
            entity["offset"].as_u64().unwrap_or(0),
            std::cmp::Reverse(entity["length"].as_u64().unwrap_or(0)),
        )
    });
    Ok((text, entities))
}

#[test]
fn the_emulators_html_parse_mode_decodes_entities_and_measures_in_utf16() {
    let (text, entities) = parse_html(
        "<b>1 &lt; 2 &amp; 🚑</b> &#x2F;&#39; <a href=\"https://x.be/?a=1&amp;b=2\">x</a>",
    )
    .expect("valid");
    assert_eq!(text, "1 < 2 & 🚑 /' x");
    assert_eq!(
        entities,
        vec![
            json!({"type": "bold", "offset": 0, "length": 10}),
            json!({"type": "text_link", "offset": 14, "length": 1, "url": "https://x.be/?a=1&b=2"}),
        ]
    );
    assert!(parse_html("<p>x</p>")
        .expect_err("unsupported")
        .starts_with("Unsupported start tag \"p\""));
    assert!(parse_html("a & b").is_err());
    assert!(parse_html("<b>x").is_err());
    assert!(parse_html("<b>x</i>").is_err());
}
