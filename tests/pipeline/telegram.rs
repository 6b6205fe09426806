//! The Telegram channel through teloxide, against the Bot API emulated in `telegram_api.rs`:
//! broadcasts within the overall and per-chat limits, Telegram's answers (flood control,
//! blocked, deactivated and unknown chats, a group upgraded to a supergroup, a wrong token),
//! and text that arrives exactly as the spokesperson wrote it.

use crate::control::states;
use crate::support::{patients, tocsin_command, TestApp, TestDatabase, EMAIL_FROM, HOSPITAL_TOML};
use crate::telegram_api::{parse_html, ChatState, TelegramApi, BOT_ID, TOKEN};
use std::collections::HashMap;
use std::path::Path;
use std::time::Duration;
use teloxide::requests::Requester;
use tocsin::app::App;
use tocsin::channels::telegram::{BotToken, TelegramChannel, TelegramLimits, TelegramTransport};
use tocsin::channels::{Channel, Message, NoHandover, Outcome};
use tocsin::config::Config;
use tocsin::domain::{
    ChannelKind, DeliveryState, Identity, Language, NewContact, RenderedMessage, Role,
};
use tocsin::store::StoredDelivery;

/// Holds [`TOKEN`] in every test of this binary: set once, never changed.
const TOKEN_ENV: &str = "TOCSIN_TEST_TELEGRAM_TOKEN";

/// How much later than it left a request may reach the emulator, on a loaded machine.
const ARRIVAL_JITTER: Duration = Duration::from_millis(200);

/// The first chat id; patient `n` writes from `FIRST_CHAT + n` unless a test says otherwise.
const FIRST_CHAT: i64 = 500_100_000;

fn set_token() {
    std::env::set_var(TOKEN_ENV, TOKEN);
}

/// `[telegram]` as a bot against `api`, with these limits.
fn bot(config: &mut Config, api: &TelegramApi, rate_per_second: u32, per_chat_ms: u64) {
    config.telegram.transport = TelegramTransport::Bot;
    config.telegram.api_url = api.url.clone();
    config.telegram.token_env = TOKEN_ENV.into();
    config.telegram.rate_per_second = rate_per_second;
    config.telegram.per_chat_interval_ms = per_chat_ms;
    config.telegram.timeout_seconds = 10;
}

/// `text` as a TOML basic string.
fn toml_string(text: &str) -> String {
    format!("\"{}\"", text.replace('\\', "\\\\").replace('"', "\\\""))
}

/// A Telegram-only update to patients; `title` and `body` (nl) as given.
fn telegram_update(title: &str, body: &str) -> String {
    let (title, body) = (toml_string(title), toml_string(body));
    format!(
        r#"incident = "cyberattack-2026-01"
kind = "alert"
author = "Els Peeters"
audiences = ["patients"]
channels = ["telegram"]

[nl]
title = {title}
body = {body}
sms = "Cyberaanval: operaties gaan niet door."

[fr]
title = "Cyberattaque – opérations annulées"
body = "Toutes les opérations prévues sont annulées."
sms = "Cyberattaque: operations annulees."

[en]
title = "Cyberattack – operations cancelled"
body = "All planned operations are cancelled."
sms = "Cyberattack: operations cancelled."
"#
    )
}

const TITLE: &str = "Cyberaanval – patiënten worden geïnformeerd";
const BODY: &str = "Alle geplande operaties gaan niet door.";

/// `count` patients (nl, fr, en in turn, one appointment each) reachable on Telegram only,
/// patient `n` (contact `n + 1`) in chat `chat(n)`.
async fn telegram_patients(app: &App, count: usize, chat: impl Fn(usize) -> i64) {
    let (mut contacts, appointments) = patients(count);
    for (n, contact) in contacts.iter_mut().enumerate() {
        contact.email = None;
        contact.telegram_chat_id = Some(chat(n).to_string());
    }
    app.store
        .import(&contacts, &appointments, "test seed", 0)
        .await
        .expect("seed");
}

/// The most messages the emulator received in any window of one second.
fn busiest_second(sent: &[crate::telegram_api::Request]) -> usize {
    let mut times: Vec<_> = sent.iter().map(|request| request.at).collect();
    times.sort_unstable();
    let mut busiest = 0;
    let mut first = 0;
    for (last, at) in times.iter().enumerate() {
        while *at - times[first] >= Duration::from_secs(1) {
            first += 1;
        }
        busiest = busiest.max(last - first + 1);
    }
    busiest
}

/// A broadcast to `count` chats, three patients sharing each tenth chat (a family's phone),
/// at `rate` messages/s and one message per `per_chat_ms` to a chat: every patient is told
/// once, and the emulator's clock shows both limits held.
async fn broadcast_within_the_limits(count: usize, rate: u32, per_chat_ms: u64) {
    set_token();
    let api = TelegramApi::start().await;
    let test = TestApp::new(|config| bot(config, &api, rate, per_chat_ms)).await;
    // Patients 30k, 30k+1 and 30k+2 share a chat.
    let chat = |n: usize| {
        if n % 30 < 3 {
            FIRST_CHAT + (n - n % 30) as i64
        } else {
            FIRST_CHAT + n as i64
        }
    };
    telegram_patients(&test.app, count, chat).await;
    let id = test.approved_update(&telegram_update(TITLE, BODY)).await;

    let started = std::time::Instant::now();
    test.app.send(id, |_, _| {}).await.expect("send");
    let took = started.elapsed();

    let store = test.app.store.as_ref();
    assert_eq!(
        states(store, id).await,
        HashMap::from([(DeliveryState::Sent, count as u64)]),
    );
    let requests = api.send_requests();
    assert_eq!(requests.len(), count, "one request per patient, none again");
    let sent = api.sent();
    let mut per_chat: HashMap<i64, Vec<_>> = HashMap::new();
    for message in &sent {
        per_chat.entry(message.chat_id).or_default().push(message);
    }
    for n in 0..count {
        let delivery = store
            .delivery(id, n as i64 + 1, ChannelKind::Telegram)
            .await
            .expect("read")
            .expect("delivery");
        let gateway_id = delivery.gateway_id.expect("gateway id");
        let (chat_id, message_id) = gateway_id
            .strip_prefix("telegram:")
            .and_then(|rest| rest.split_once(':'))
            .unwrap_or_else(|| panic!("telegram:<chat>:<message id>, not {gateway_id}"));
        assert_eq!(chat_id, chat(n).to_string());
        let message_id: i64 = message_id.parse().expect("a message id");
        let message = per_chat[&chat(n)]
            .iter()
            .find(|message| message.message_id == message_id)
            .unwrap_or_else(|| panic!("{gateway_id} was never sent"));
        let (rendered, _) = parse_html(&delivery.content.body).expect("Telegram's HTML");
        // Telegram keeps no whitespace at the end of a message.
        assert_eq!(
            message.text.trim_end(),
            rendered.trim_end(),
            "patient {n} got their own message"
        );
    }

    // Overall: never more than the rate in a second (a few over, for the loopback's
    // scheduling: a request let through on time can arrive a little late, the next on
    // time), and the whole broadcast no faster than the rate allows.
    let busiest = busiest_second(&requests);
    let allowed = rate as usize + rate as usize / 20 + 2;
    assert!(
        busiest <= allowed,
        "{busiest} messages in one second, at {rate}/s"
    );
    let first = requests.iter().map(|r| r.at).min().expect("requests");
    let last = requests.iter().map(|r| r.at).max().expect("requests");
    let least = Duration::from_secs_f64((count - 1) as f64 / f64::from(rate) * 0.95);
    assert!(
        last - first >= least,
        "{count} messages in {:?}: faster than {rate}/s",
        last - first
    );
    // Per chat: the shared chats got their three messages at least the interval apart
    // (less the loopback's scheduling: the limit is kept when a message leaves, and on a
    // loaded 2-core machine one request can reach the emulator up to ~150 ms after it left
    // while the next does not; unlimited, they would arrive milliseconds apart).
    let interval = Duration::from_millis(per_chat_ms);
    let mut shared = 0;
    for messages in per_chat.values().filter(|messages| messages.len() > 1) {
        shared += 1;
        let mut times: Vec<_> = messages.iter().map(|message| message.at).collect();
        times.sort_unstable();
        for pair in times.windows(2) {
            assert!(
                pair[1] - pair[0] + ARRIVAL_JITTER >= interval,
                "two messages to one chat {:?} apart, at one per {interval:?}",
                pair[1] - pair[0]
            );
        }
    }
    assert_eq!(shared, count.div_ceil(30));
    eprintln!("{count} Telegram messages at {rate}/s in {took:?} (busiest second: {busiest})");

    // `tocsin status` counts Telegram like any channel, by language.
    let status = test.app.status(id).await.expect("status");
    assert_eq!(
        status.by_channel[&ChannelKind::Telegram][&DeliveryState::Sent],
        count as u64
    );
    let text = status.to_text();
    for row in ["telegram/nl", "telegram/fr", "telegram/en"] {
        assert!(text.contains(row), "{text}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_broadcast_to_300_chats_reaches_each_patient_once_within_the_overall_and_per_chat_limits()
{
    broadcast_within_the_limits(300, 150, 500).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_broadcast_to_3000_chats_keeps_the_configured_limits_on_the_emulators_clock() {
    broadcast_within_the_limits(3000, 150, 1000).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_429_holds_its_chat_for_retry_after_and_the_messages_arrive_after_it() {
    set_token();
    let api = TelegramApi::start().await;
    let test = TestApp::new(|config| bot(config, &api, 30, 200)).await;
    // Patients 0 and 1 share the flood-controlled chat.
    let chat = |n: usize| FIRST_CHAT + n.max(1) as i64;
    telegram_patients(&test.app, 6, chat).await;
    api.set_chat(
        FIRST_CHAT + 1,
        ChatState::RateLimitedOnce { retry_after: 2 },
    );
    let id = test.approved_update(&telegram_update(TITLE, BODY)).await;

    test.app.send(id, |_, _| {}).await.expect("send");

    let store = test.app.store.as_ref();
    assert_eq!(
        states(store, id).await,
        HashMap::from([(DeliveryState::Sent, 6)])
    );
    let to_chat: Vec<_> = api
        .send_requests()
        .into_iter()
        .filter(|request| request.chat_id.as_deref() == Some(&(FIRST_CHAT + 1).to_string()))
        .collect();
    assert_eq!(
        to_chat
            .iter()
            .map(|request| request.status)
            .collect::<Vec<_>>(),
        [429, 200, 200],
        "one 429, then both messages, and nothing to the chat while it was held"
    );
    let waited = to_chat[1].at - to_chat[0].at;
    assert!(
        waited >= Duration::from_secs(2),
        "the chat was written to again {waited:?} after a retry_after of 2 s"
    );
    let sent = api.sent();
    assert_eq!(
        sent.iter()
            .filter(|message| message.chat_id == FIRST_CHAT + 1)
            .count(),
        2
    );
    // The other chats were not held.
    let others = api
        .send_requests()
        .into_iter()
        .filter(|request| request.chat_id.as_deref() != Some(&(FIRST_CHAT + 1).to_string()))
        .all(|request| request.at < to_chat[1].at);
    assert!(others, "only the flood-controlled chat waited");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn blocked_deactivated_and_unknown_chats_end_undeliverable_and_the_others_are_sent() {
    set_token();
    let api = TelegramApi::start().await;
    let test = TestApp::new(|config| bot(config, &api, 100, 1000)).await;
    telegram_patients(&test.app, 30, |n| FIRST_CHAT + n as i64).await;
    api.set_chat(FIRST_CHAT + 4, ChatState::Blocked);
    api.set_chat(FIRST_CHAT + 11, ChatState::Deactivated);
    api.set_chat(FIRST_CHAT + 17, ChatState::NotFound);
    let id = test.approved_update(&telegram_update(TITLE, BODY)).await;

    test.app.send(id, |_, _| {}).await.expect("send");

    let store = test.app.store.as_ref();
    assert_eq!(
        states(store, id).await,
        HashMap::from([(DeliveryState::Sent, 27), (DeliveryState::Undeliverable, 3)])
    );
    for (n, why) in [
        (4, "Forbidden: bot was blocked by the user"),
        (11, "Forbidden: user is deactivated"),
        (17, "Bad Request: chat not found"),
    ] {
        let delivery = store
            .delivery(id, n + 1, ChannelKind::Telegram)
            .await
            .expect("read")
            .expect("delivery");
        assert_eq!(delivery.state, DeliveryState::Undeliverable);
        assert_eq!(
            delivery.attempts, 1,
            "no second try for a chat that is gone"
        );
        let error = delivery.last_error.unwrap_or_default();
        assert!(error.contains(why), "{error}");
        assert!(
            !error.contains(&(FIRST_CHAT + n).to_string()),
            "the chat id is masked: {error}"
        );
    }
    assert_eq!(api.send_requests().len(), 30, "each chat once");
    let status = test.app.status(id).await.expect("status");
    assert_eq!(status.unreached.len(), 3, "{:?}", status.unreached);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_group_upgraded_to_a_supergroup_is_followed_and_its_new_chat_id_recorded_on_the_contacts()
{
    set_token();
    let api = TelegramApi::start().await;
    let test = TestApp::new(|config| bot(config, &api, 100, 1000)).await;
    // A family group chat, shared by two patients; its supergroup.
    let group = -400_123_456;
    let supergroup = -1_001_400_123_456;
    telegram_patients(&test.app, 4, |n| {
        if n < 2 {
            group
        } else {
            FIRST_CHAT + n as i64
        }
    })
    .await;
    api.set_chat(group, ChatState::MigratedTo(supergroup));
    let id = test.approved_update(&telegram_update(TITLE, BODY)).await;

    test.app.send(id, |_, _| {}).await.expect("send");

    let store = test.app.store.as_ref();
    assert_eq!(
        states(store, id).await,
        HashMap::from([(DeliveryState::Sent, 4)])
    );
    let to_supergroup: Vec<_> = api
        .sent()
        .into_iter()
        .filter(|message| message.chat_id == supergroup)
        .collect();
    assert_eq!(
        to_supergroup.len(),
        2,
        "both messages reached the supergroup"
    );
    let mut gateway_ids = Vec::new();
    for contact in [1, 2] {
        let delivery = store
            .delivery(id, contact, ChannelKind::Telegram)
            .await
            .expect("read")
            .expect("delivery");
        let gateway_id = delivery.gateway_id.expect("gateway id");
        assert!(
            gateway_id.starts_with(&format!("telegram:{supergroup}:")),
            "{gateway_id}"
        );
        assert_eq!(delivery.attempts, 1, "followed within the attempt");
        gateway_ids.push(gateway_id);
    }
    gateway_ids.sort();
    gateway_ids.dedup();
    assert_eq!(gateway_ids.len(), 2);
    let to_group = api
        .send_requests()
        .into_iter()
        .filter(|request| request.chat_id.as_deref() == Some(&group.to_string()))
        .count();
    assert_eq!(
        to_group, 1,
        "once told of the migration, the channel writes to the supergroup"
    );

    // Recorded: both patients' chat is the supergroup now, and their deliveries say so.
    for contact in [1, 2] {
        let recipient = store.recipient(contact).await.expect("contact");
        assert_eq!(
            recipient.contact.telegram_chat_id,
            Some(supergroup.to_string())
        );
        let delivery = store
            .delivery(id, contact, ChannelKind::Telegram)
            .await
            .expect("read")
            .expect("delivery");
        assert_eq!(delivery.address, Some(supergroup.to_string()));
    }
    // Whichever of the two deliveries to the shared group went first met the migration and
    // says so in its history; the other was only readdressed.
    let mut events = Vec::new();
    for contact in [1, 2] {
        let delivery = store
            .delivery(id, contact, ChannelKind::Telegram)
            .await
            .expect("read")
            .expect("delivery");
        events.extend(store.events(delivery.id).await.expect("events"));
    }
    assert!(
        events.iter().any(|(_, _, detail)| detail
            .as_deref()
            .is_some_and(|detail| detail.contains("address moved")
                && detail.contains(&supergroup.to_string()))),
        "{events:?}"
    );
    // The next update, sent by a new channel that was told nothing, goes straight there.
    let next = test
        .approved_update(&telegram_update("Update 14-01", BODY))
        .await;
    test.app.send(next, |_, _| {}).await.expect("send");
    assert_eq!(
        api.send_requests()
            .iter()
            .filter(|request| request.chat_id.as_deref() == Some(&group.to_string()))
            .count(),
        1,
        "nothing more to the old group"
    );
    assert_eq!(
        api.sent()
            .iter()
            .filter(|message| message.chat_id == supergroup)
            .count(),
        4
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn text_with_markup_characters_and_emoji_arrives_exactly_as_written() {
    set_token();
    let api = TelegramApi::start().await;
    let test = TestApp::new(|config| bot(config, &api, 30, 1000)).await;
    telegram_patients(&test.app, 1, |_| FIRST_CHAT).await;
    let title = "Spoed <b>niet</b> & *ster* _laag_ 🚑👩‍⚕️";
    let body = "Gebruik <geen> HTML: a < b && c > d, 'quotes' \"dubbel\" / schuin, *vet*, \
                __dun__ ~weg~ `code` [link](x) &amp; 🏥";
    let id = test.approved_update(&telegram_update(title, body)).await;

    test.app.send(id, |_, _| {}).await.expect("send");

    let requests = api.send_requests();
    assert_eq!(
        requests
            .iter()
            .map(|request| request.status)
            .collect::<Vec<_>>(),
        [200],
        "Telegram parsed the HTML"
    );
    let sent = api.sent();
    let text = &sent[0].text;
    assert!(text.contains(title), "the title as written: {text}");
    assert!(text.contains(body), "the body as written: {text}");
    // The template's bold is the only markup: the title, all of it, in UTF-16 units.
    let offset = text[..text.find(title).expect("title")]
        .encode_utf16()
        .count();
    let bold = sent[0]
        .entities
        .iter()
        .find(|entity| entity["type"] == "bold" && entity["offset"] == offset)
        .unwrap_or_else(|| panic!("the title is bold: {:?}", sent[0].entities));
    assert_eq!(bold["length"], title.encode_utf16().count());
    assert!(
        !sent[0]
            .entities
            .iter()
            .any(|entity| entity["offset"].as_u64() > Some(offset as u64)
                && entity["offset"].as_u64()
                    < Some((offset + title.encode_utf16().count()) as u64)),
        "nothing the spokesperson wrote became markup: {:?}",
        sent[0].entities
    );
}

#[tokio::test]
async fn teloxide_reads_the_emulators_get_me_and_a_wrong_token_is_401() {
    let api = TelegramApi::start().await;
    let url = url::Url::parse(&api.url).expect("url");
    let me = teloxide::Bot::new(TOKEN)
        .set_api_url(url.clone())
        .get_me()
        .await
        .expect("getMe");
    assert_eq!(me.id.0, BOT_ID as u64);
    assert_eq!(me.username.as_deref(), Some("tocsin_test_bot"));
    let refused = teloxide::Bot::new("7012345678:wrong")
        .set_api_url(url)
        .get_me()
        .await
        .expect_err("a wrong token");
    assert!(
        matches!(
            refused,
            teloxide::RequestError::Api(teloxide::ApiError::InvalidToken)
        ),
        "{refused:?}"
    );
    let statuses: Vec<(u16, bool)> = api
        .requests()
        .iter()
        .map(|request| (request.status, request.token == TOKEN))
        .collect();
    assert_eq!(statuses, [(200, true), (401, false)]);
}

/// A message to `address` as the dispatcher hands it over.
fn message(address: &str) -> Message {
    Message {
        delivery_id: 7,
        update_id: 1,
        channel: ChannelKind::Telegram,
        address: address.into(),
        language: Language::Nl,
        content: RenderedMessage {
            subject: None,
            body: "<b>ZNA</b>: uw afspraak gaat niet door.".into(),
            body_html: None,
        },
        attempt: 1,
        reply_to: None,
    }
}

fn channel(api_url: &str, token: &str) -> TelegramChannel {
    TelegramChannel::new(
        BotToken::new(token),
        url::Url::parse(api_url).expect("url"),
        TelegramLimits {
            per_second: std::num::NonZeroU32::new(30).expect("non-zero"),
            per_chat: Duration::from_millis(1000),
        },
        Duration::from_secs(2),
    )
    .expect("channel")
}

#[tokio::test]
async fn a_bot_api_out_of_reach_is_unavailable_and_the_reason_never_shows_the_token() {
    // A port nothing listens on any more.
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    let url = format!("http://{}", listener.local_addr().expect("address"));
    drop(listener);
    let outcome = channel(&url, TOKEN)
        .send(&message("500100000"), &mut NoHandover)
        .await;
    let Outcome::Unavailable {
        after: None,
        reason,
    } = &outcome
    else {
        panic!("expected unavailable, got {outcome:?}");
    };
    assert!(reason.contains("cannot connect"), "{reason}");
    let secret = TOKEN.split_once(':').expect("id:secret").1;
    assert!(!reason.contains(secret), "{reason}");
}

#[tokio::test]
async fn a_username_that_is_no_channel_is_rejected_and_the_message_id_is_the_gateway_id() {
    let api = TelegramApi::start().await;
    let bot = channel(&api.url, TOKEN);
    let outcome = bot.send(&message("@an_peeters"), &mut NoHandover).await;
    assert!(
        matches!(&outcome, Outcome::Rejected { reason } if reason.contains("Bad Request: chat not found")),
        "{outcome:?}"
    );
    let outcome = bot.send(&message("500100000"), &mut NoHandover).await;
    assert_eq!(
        outcome,
        Outcome::Accepted {
            gateway_id: "telegram:500100000:1".into(),
            detail: Some("accepted by Telegram".into())
        }
    );
    assert_eq!(api.sent()[0].text, "ZNA: uw afspraak gaat niet door.");
}

fn tocsin(dir: &Path, args: &[&str], token: &str) -> std::process::Output {
    tocsin_command()
        .current_dir(dir)
        .args(args)
        .env("TOCSIN_TELEGRAM_TOKEN", token)
        .output()
        .expect("run tocsin")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_wrong_token_stops_the_channel_marks_nobody_undeliverable_and_send_exits_4() {
    let api = TelegramApi::start().await;
    let dir = tempfile::tempdir().expect("temp dir");
    let database = TestDatabase::in_dir(dir.path()).await;
    let config = database.config_in(dir.path());
    std::fs::write(
        dir.path().join("tocsin.toml"),
        format!(
            "database_url = \"{}\"\n{HOSPITAL_TOML}\n[email]\nfrom = \"{EMAIL_FROM}\"\n\
             [telegram]\ntransport = \"bot\"\napi_url = \"{}\"\n",
            config.database_url, api.url
        ),
    )
    .expect("write tocsin.toml");
    let test_config = Config::load(Some(&dir.path().join("tocsin.toml"))).expect("config");
    let app = App::open(test_config).await.expect("open");
    telegram_patients(&app, 40, |n| FIRST_CHAT + n as i64).await;
    let file = dir.path().join("update.toml");
    std::fs::write(&file, telegram_update(TITLE, BODY)).expect("write update");
    let id = app
        .draft(&file, None, Default::default())
        .await
        .expect("draft")
        .id;
    app.approve(id, "Second Person").await.expect("approve");

    let wrong = "7012345678:AAFrevokedTokenThatTelegramRefuses";
    let out = tocsin(dir.path(), &["update", "send", &id.to_string()], wrong);
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(4), "{stdout}\n{stderr}");
    assert!(
        stdout.contains("STOPPED") && stdout.contains("Telegram refuses the bot's token"),
        "{stdout}"
    );
    assert!(
        !stdout.contains(wrong) && !stderr.contains(wrong),
        "the token is never shown: {stdout}\n{stderr}"
    );
    let store = app.store.as_ref();
    assert_eq!(
        states(store, id).await,
        HashMap::from([(DeliveryState::Pending, 40)]),
        "nobody is undeliverable for our token"
    );
    assert!(api.sent().is_empty());
    assert!(
        api.send_requests().len() <= 16,
        "the channel stopped at its first answers"
    );
    let paused = store.update(id).await.expect("update").paused;
    assert!(
        paused.as_deref().is_some_and(|why| why.contains("token")),
        "{paused:?}"
    );

    // The right token: the same command sends everyone, and `tocsin status` shows them.
    let out = tocsin(dir.path(), &["update", "send", &id.to_string()], TOKEN);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(api.sent().len(), 40);
    let out = tocsin(dir.path(), &["status", &id.to_string()], TOKEN);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{stdout}");
    let nl = stdout
        .lines()
        .find(|line| line.starts_with("telegram/nl"))
        .unwrap_or_else(|| panic!("a Telegram row per language: {stdout}"));
    assert!(nl.split_whitespace().any(|count| count == "14"), "{stdout}");
}

/// The GP of the long-message tests, and their chat.
const GP_RIZIV: &str = "10012345678";
const GP_CHAT: i64 = 600_200_300;

/// A GP whose 150 patients (reachable on no channel of the update) are all affected, so that
/// their Telegram message lists them all: longer than Telegram takes. Returns the test, the
/// update sent, and the GP's delivery.
async fn a_long_gp_message(api: &TelegramApi) -> (TestApp, i64, StoredDelivery) {
    set_token();
    let test = TestApp::new(|config| {
        bot(config, api, 30, 300);
        config.policy.gps.channels.push(ChannelKind::Telegram);
    })
    .await;
    let (mut contacts, mut appointments) = patients(150);
    for contact in &mut contacts {
        contact.email = None;
    }
    for appointment in &mut appointments {
        appointment.gp = Some(Identity::riziv(GP_RIZIV));
    }
    contacts.push(NewContact {
        external_id: GP_RIZIV.into(),
        identities: vec![Identity::riziv(GP_RIZIV)],
        role: Role::Gp,
        first_name: "Anna".into(),
        last_name: "Huisarts".into(),
        language: Some("nl".into()),
        mobile: None,
        phone: None,
        email: None,
        telegram_chat_id: Some(GP_CHAT.to_string()),
        organisation: None,
        birth_date: None,
    });
    test.app
        .store
        .import(&contacts, &appointments, "test seed", 0)
        .await
        .expect("seed");
    let update = telegram_update(TITLE, BODY).replace(
        r#"audiences = ["patients"]"#,
        r#"audiences = ["patients", "gps-of-affected"]"#,
    );
    let id = test.approved_update(&update).await;

    test.app.send(id, |_, _| {}).await.expect("send");

    let store = test.app.store.as_ref();
    let gp = store
        .find_contact(GP_RIZIV)
        .await
        .expect("read")
        .expect("the GP")
        .id;
    let delivery = store
        .delivery(id, gp, ChannelKind::Telegram)
        .await
        .expect("read")
        .expect("the GP's delivery");
    (test, id, delivery)
}

/// The `sendMessage` answers to the GP's chat, in order.
fn statuses_to_the_gp(api: &TelegramApi) -> Vec<u16> {
    api.send_requests()
        .into_iter()
        .filter(|request| request.chat_id.as_deref() == Some(&GP_CHAT.to_string()))
        .map(|request| request.status)
        .collect()
}

/// The details of a delivery's history.
async fn details(test: &TestApp, delivery: &StoredDelivery) -> Vec<String> {
    test.app
        .store
        .events(delivery.id)
        .await
        .expect("events")
        .into_iter()
        .filter_map(|(_, _, detail)| detail)
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_gps_message_longer_than_telegram_takes_arrives_whole_and_in_order_as_several_messages() {
    let api = TelegramApi::start().await;
    let (test, _, delivery) = a_long_gp_message(&api).await;

    assert_eq!(delivery.state, DeliveryState::Sent);
    let (whole, _) = parse_html(&delivery.content.body).expect("Telegram's HTML");
    assert!(
        whole.encode_utf16().count() > 4096,
        "the message is longer than Telegram takes"
    );
    let statuses = statuses_to_the_gp(&api);
    assert!(
        statuses.iter().all(|status| *status == 200),
        "Telegram took every part: {statuses:?}"
    );
    let parts: Vec<_> = api
        .sent()
        .into_iter()
        .filter(|message| message.chat_id == GP_CHAT)
        .collect();
    assert!(parts.len() >= 2, "{} messages", parts.len());
    assert_eq!(
        parts
            .iter()
            .map(|message| message.message_id)
            .collect::<Vec<_>>(),
        (1..=parts.len() as i64).collect::<Vec<_>>(),
        "one message per part, in order"
    );
    assert_eq!(
        delivery.gateway_id.as_deref(),
        Some(format!("telegram:{GP_CHAT}:1").as_str()),
        "the first part's id is the delivery's"
    );
    // Nothing lost, nothing added, in order: the parts read together are the message.
    let words = |text: &str| text.split_whitespace().collect::<Vec<_>>().join(" ");
    let joined = parts
        .iter()
        .map(|message| message.text.as_str())
        .collect::<Vec<_>>()
        .join("\n");
    assert_eq!(words(&joined), words(&whole));
    // No line cut in two: every patient's line is whole in one message.
    for line in whole.lines().filter(|line| line.starts_with('•')) {
        assert_eq!(
            parts
                .iter()
                .filter(|message| message.text.lines().any(|shown| shown == line))
                .count(),
            1,
            "{line}"
        );
    }
    // The title, bold, is in the first; the reference's link in the last.
    assert!(parts[0].text.starts_with(TITLE));
    assert!(parts[0]
        .entities
        .iter()
        .any(|entity| entity["type"] == "bold" && entity["offset"] == 0));
    let last = parts.last().expect("parts");
    assert!(
        last.entities
            .iter()
            .any(|entity| entity["type"] == "text_link"),
        "{:?}",
        last.entities
    );
    // Each part waited for the chat's interval.
    for pair in parts.windows(2) {
        assert!(
            pair[1].at - pair[0].at + Duration::from_millis(20) >= Duration::from_millis(300),
            "two parts {:?} apart",
            pair[1].at - pair[0].at
        );
    }
    let details = details(&test, &delivery).await;
    assert!(
        details
            .iter()
            .any(|detail| detail.contains(&format!("in {} messages", parts.len()))),
        "{details:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_later_part_held_by_a_429_waits_its_retry_after_within_the_send_and_arrives() {
    let api = TelegramApi::start().await;
    api.set_chat(
        GP_CHAT,
        ChatState::After {
            accepted: 1,
            then: Box::new(ChatState::RateLimitedOnce { retry_after: 1 }),
        },
    );
    let (test, _, delivery) = a_long_gp_message(&api).await;

    assert_eq!(delivery.state, DeliveryState::Sent);
    assert_eq!(delivery.attempts, 1, "within the one attempt");
    let statuses = statuses_to_the_gp(&api);
    assert_eq!(statuses[..3], [200, 429, 200], "{statuses:?}");
    assert!(statuses[3..].iter().all(|status| *status == 200));
    let parts = statuses.len() - 1;
    let sent: Vec<_> = api
        .sent()
        .into_iter()
        .filter(|message| message.chat_id == GP_CHAT)
        .collect();
    assert_eq!(sent.len(), parts, "every part, once");
    let requests = api.send_requests();
    let to_gp: Vec<_> = requests
        .iter()
        .filter(|request| request.chat_id.as_deref() == Some(&GP_CHAT.to_string()))
        .collect();
    assert!(
        to_gp[2].at - to_gp[1].at >= Duration::from_secs(1),
        "the part waited its retry_after"
    );
    let details = details(&test, &delivery).await;
    assert!(
        details
            .iter()
            .any(|detail| detail.contains(&format!("in {parts} messages"))),
        "{details:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_chat_that_blocks_the_bot_after_the_first_part_leaves_the_delivery_sent_naming_the_parts_not_delivered(
) {
    let api = TelegramApi::start().await;
    api.set_chat(
        GP_CHAT,
        ChatState::After {
            accepted: 1,
            then: Box::new(ChatState::Blocked),
        },
    );
    let (test, _, delivery) = a_long_gp_message(&api).await;

    assert_eq!(
        delivery.state,
        DeliveryState::Sent,
        "the GP has the headline and the reference"
    );
    assert_eq!(
        delivery.gateway_id.as_deref(),
        Some(format!("telegram:{GP_CHAT}:1").as_str())
    );
    assert_eq!(
        statuses_to_the_gp(&api),
        [200, 403],
        "the rest is not tried once a part is refused for good"
    );
    let details = details(&test, &delivery).await;
    assert!(
        details.iter().any(|detail| detail.contains("part 1 of")),
        "{details:?}"
    );
    let named = details
        .iter()
        .find(|detail| detail.contains("not delivered"))
        .unwrap_or_else(|| panic!("the parts not delivered are named: {details:?}"));
    assert!(
        named.contains("parts 2–") && named.contains("Forbidden: bot was blocked by the user"),
        "{named}"
    );
    assert!(
        !named.contains(&GP_CHAT.to_string()),
        "the chat is masked: {named}"
    );
}

/// 3,000 patients who followed the bot's deep links (three of each thirty on a family's
/// shared phone), one update to all: both limits hold on the emulator's clock while a chat
/// is flood-controlled, two have blocked or lost the bot and a group became a supergroup.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_broadcast_to_3000_subscribed_chats_keeps_the_limits_through_a_429_blocked_users_and_a_migration(
) {
    use tocsin::channels::telegram::link;
    use tocsin::store::Binding;
    const COUNT: usize = 3000;
    const RATE: u32 = 150;
    const PER_CHAT_MS: u64 = 1000;
    set_token();
    let api = TelegramApi::start().await;
    let test = TestApp::new(|config| bot(config, &api, RATE, PER_CHAT_MS)).await;
    let chat = |n: usize| {
        if n % 30 < 3 {
            FIRST_CHAT + (n - n % 30) as i64
        } else {
            FIRST_CHAT + n as i64
        }
    };
    let (mut contacts, appointments) = patients(COUNT);
    for contact in &mut contacts {
        contact.email = None;
    }
    let store = test.app.store.as_ref();
    store
        .import(&contacts, &appointments, "test seed", 0)
        .await
        .expect("seed");
    let key = link::LinkKey::new(store.telegram_link_key(0).await.expect("link key"));
    let now = chrono::Utc::now().timestamp_millis();
    for n in 0..COUNT {
        let contact_id = n as i64 + 1;
        let token = link::issue(&key, contact_id, now + 86_400_000);
        let claim = link::open(&key, &token, now).expect("a genuine link");
        let bound = store
            .bind_telegram_chat(
                &claim.mac,
                claim.contact_id,
                &chat(n).to_string(),
                Language::Nl,
                now,
            )
            .await
            .expect("bind");
        assert!(matches!(bound, Binding::Bound(_)), "{bound:?}");
    }
    let (blocked, deactivated, flooded, group) = (
        FIRST_CHAT + 1007,
        FIRST_CHAT + 2008,
        FIRST_CHAT + 1509,
        FIRST_CHAT + 2510,
    );
    let supergroup = -1_001_777_000_111;
    api.set_chat(blocked, ChatState::Blocked);
    api.set_chat(deactivated, ChatState::Deactivated);
    api.set_chat(flooded, ChatState::RateLimitedOnce { retry_after: 2 });
    api.set_chat(group, ChatState::MigratedTo(supergroup));
    let id = test.approved_update(&telegram_update(TITLE, BODY)).await;

    test.app.send(id, |_, _| {}).await.expect("send");

    assert_eq!(
        states(store, id).await,
        HashMap::from([
            (DeliveryState::Sent, COUNT as u64 - 2),
            (DeliveryState::Undeliverable, 2)
        ]),
    );
    for gone in [blocked, deactivated] {
        let subscription = store
            .telegram_chat(&gone.to_string())
            .await
            .expect("read")
            .expect("subscribed");
        assert!(!subscription.active(), "chat {gone}: the subscription ends");
        let contact = store
            .recipient(gone - FIRST_CHAT + 1)
            .await
            .expect("contact")
            .contact;
        assert_eq!(
            contact.telegram_chat_id, None,
            "chat {gone} is nobody's now"
        );
    }
    let moved = store
        .recipient(group - FIRST_CHAT + 1)
        .await
        .expect("contact")
        .contact;
    assert_eq!(moved.telegram_chat_id, Some(supergroup.to_string()));
    assert_eq!(
        api.sent_to(supergroup).len(),
        1,
        "followed to the supergroup"
    );
    let followed = store
        .telegram_chat(&supergroup.to_string())
        .await
        .expect("read")
        .expect("the subscription moved with the chat");
    assert!(followed.active() && followed.personal);

    let requests = api.send_requests();
    let to_flooded: Vec<_> = requests
        .iter()
        .filter(|request| request.chat_id.as_deref() == Some(&flooded.to_string()))
        .collect();
    assert_eq!(
        to_flooded
            .iter()
            .map(|request| request.status)
            .collect::<Vec<_>>(),
        [429, 200]
    );
    assert!(to_flooded[1].at - to_flooded[0].at >= Duration::from_secs(2));

    let busiest = busiest_second(&requests);
    assert!(
        busiest <= RATE as usize + RATE as usize / 20 + 2,
        "{busiest} messages in one second, at {RATE}/s"
    );
    let mut per_chat: HashMap<String, Vec<std::time::Instant>> = HashMap::new();
    for request in requests.iter().filter(|request| request.status == 200) {
        per_chat
            .entry(request.chat_id.clone().expect("chat"))
            .or_default()
            .push(request.at);
    }
    let mut shared = 0;
    for times in per_chat.values_mut().filter(|times| times.len() > 1) {
        shared += 1;
        times.sort_unstable();
        for pair in times.windows(2) {
            assert!(
                pair[1] - pair[0] + ARRIVAL_JITTER >= Duration::from_millis(PER_CHAT_MS),
                "two messages to one chat {:?} apart",
                pair[1] - pair[0]
            );
        }
    }
    assert_eq!(
        shared,
        COUNT / 30,
        "each family's phone got its three messages"
    );
}
