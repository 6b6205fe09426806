//! The Telegram bot's conversations, run by `tocsin serve` against the Bot API emulated in
//! `telegram_api.rs`: people write and press buttons there, the bot answers through
//! teloxide, and the store shows what changed. Long polling by default; webhook mode with
//! Telegram's secret header.

use crate::support::{seed, tocsin_binary, TestApp, TestDatabase, EMAIL_FROM, HOSPITAL_TOML};
use crate::telegram_api::{ApiState, TelegramApi, TelegramUser, BOT_USERNAME, TOKEN};
use serde_json::{json, Value};
use tocsin::app::App;
use tocsin::channels::telegram::link::{self, LinkKey};
use tocsin::channels::telegram::TelegramTransport;
use tocsin::config::Config;
use tocsin::domain::Language;
use tocsin::web::Server;

/// Holds [`TOKEN`] in every test of this file: set once, never changed.
const TOKEN_ENV: &str = "TOCSIN_TEST_TELEGRAM_BOT_TOKEN";
const SECRET_ENV: &str = "TOCSIN_TEST_TELEGRAM_BOT_WEBHOOK_SECRET";
const SECRET: &str = "webhook_Secret-4711";
const DAY_MS: i64 = 86_400_000;

/// `[telegram]` as a bot against `api`, serve on any free port.
fn bot(config: &mut Config, api: &TelegramApi) {
    std::env::set_var(TOKEN_ENV, TOKEN);
    config.serve.bind = "127.0.0.1:0".into();
    config.telegram.transport = TelegramTransport::Bot;
    config.telegram.api_url = api.url.clone();
    config.telegram.token_env = TOKEN_ENV.into();
    config.telegram.timeout_seconds = 10;
}

/// `tocsin serve` running in this process; stops when dropped.
struct Serving {
    address: std::net::SocketAddr,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    task: Option<tokio::task::JoinHandle<()>>,
}

impl Serving {
    async fn start(config: Config) -> Serving {
        let server = Server::bind(App::open(config).await.expect("app"))
            .await
            .expect("serve binds");
        let address = server.address();
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        let task = tokio::spawn(server.run(async {
            let _ = stopped.await;
        }));
        Serving {
            address,
            stop: Some(stop),
            task: Some(task),
        }
    }

    async fn stop(mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(task) = self.task.take() {
            task.await.expect("serve ends");
        }
    }
}

impl Drop for Serving {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
    }
}

/// The deep link's token for the contact with `external_id`, expiring `valid_ms` from now.
async fn token_for(test: &TestApp, external_id: &str, valid_ms: i64) -> (i64, String) {
    let store = &test.app.store;
    let contact = store
        .find_contact(external_id)
        .await
        .expect("find")
        .expect("seeded");
    let now = test.app.clock.now_ms();
    let key = LinkKey::new(store.telegram_link_key(now).await.expect("key"));
    (contact.id, link::issue(&key, contact.id, now + valid_ms))
}

async fn chat_of(test: &TestApp, contact_id: i64) -> Option<String> {
    test.app
        .store
        .recipient(contact_id)
        .await
        .expect("contact")
        .contact
        .telegram_chat_id
}

fn no_updates_left(state: &ApiState) -> bool {
    state.updates.is_empty()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_deep_link_binds_the_chat_then_the_language_keyboard_and_stop_change_the_subscription() {
    let api = TelegramApi::start().await;
    let test = TestApp::new(|config| bot(config, &api)).await;
    seed(&test.app, 3).await;
    // P000001 is French in the hospital's records.
    let (contact, token) = token_for(&test, "P000001", 14 * DAY_MS).await;
    let serving = Serving::start(test.app.config.clone()).await;
    let chat = 600_001;
    let user = TelegramUser::new(chat, "Amélie", Some("fr"));

    api.user_writes(&user, chat, &format!("/start {token}"));
    let linked = api.nth_sent_to(chat, 1).await;
    assert!(
        linked.text.starts_with("La connexion est établie."),
        "{}",
        linked.text
    );
    assert!(linked.text.contains("Algemeen Ziekenhuis Testwijk"));
    assert!(!linked.text.contains("Patiënt1"), "nothing private");
    assert_eq!(chat_of(&test, contact).await.as_deref(), Some("600001"));

    // Telegram may deliver the same /start again.
    api.user_writes(&user, chat, &format!("/start {token}"));
    let again = api.nth_sent_to(chat, 2).await;
    assert_eq!(
        again.text,
        "Vous recevez déjà nos messages dans cette conversation."
    );

    api.user_writes(&user, chat, "/langue");
    let keyboard = api.nth_sent_to(chat, 3).await;
    assert_eq!(
        keyboard.text,
        "Dans quelle langue souhaitez-vous recevoir nos messages\u{a0}?"
    );
    let markup = keyboard.reply_markup.clone().expect("an inline keyboard");
    let buttons = markup["inline_keyboard"][0]
        .as_array()
        .expect("a row of buttons")
        .clone();
    let labels: Vec<&str> = buttons
        .iter()
        .map(|button| button["text"].as_str().expect("a label"))
        .collect();
    assert_eq!(labels, ["Nederlands", "Français", "English"]);
    let dutch = buttons[0]["callback_data"].as_str().expect("callback data");

    api.user_presses(&user, &keyboard, dutch);
    let changed = api.nth_sent_to(chat, 4).await;
    assert_eq!(changed.text, "Vanaf nu schrijven we u in het Nederlands.");
    assert_eq!(
        api.with(|state| state.answered_queries.len()),
        1,
        "the button is answered (answerCallbackQuery)"
    );
    let stored = test
        .app
        .store
        .telegram_chat("600001")
        .await
        .expect("chat")
        .expect("known");
    assert_eq!(stored.language, Language::Nl);
    let contact_row = test.app.store.recipient(contact).await.expect("contact");
    assert_eq!(contact_row.contact.telegram_language, Some(Language::Nl));

    api.user_writes(&user, chat, "/stop");
    let stopped = api.nth_sent_to(chat, 5).await;
    assert_eq!(
        stopped.text,
        "U ontvangt hier geen berichten meer van ons. Stuur /start om ze opnieuw te ontvangen."
    );
    assert_eq!(chat_of(&test, contact).await, None, "unsubscribed");
    assert!(!test
        .app
        .store
        .telegram_chat("600001")
        .await
        .expect("chat")
        .expect("known")
        .active());

    // Each update was confirmed by the next getUpdates' offset, as the Bot API documents.
    api.wait_for("every update confirmed", no_updates_left)
        .await;
    serving.stop().await;
    let polls = api.with(|state| state.polls.clone());
    assert!(polls.len() >= 2);
    assert_eq!(
        polls[0].offset, None,
        "the first poll takes what is waiting"
    );
    let offsets: Vec<i64> = polls.iter().filter_map(|poll| poll.offset).collect();
    assert!(
        offsets.windows(2).all(|pair| pair[0] <= pair[1]) && !offsets.is_empty(),
        "each poll confirms what came before: {offsets:?}"
    );
    assert!(
        polls.iter().any(|poll| poll.timeout == Some(25)),
        "long polling"
    );
    for poll in &polls {
        assert_eq!(
            poll.allowed_updates,
            Some(json!(["message", "callback_query"]))
        );
    }
    let methods: Vec<String> = api.requests().into_iter().map(|r| r.method).collect();
    let deleted = methods
        .iter()
        .position(|m| m.eq_ignore_ascii_case("deleteWebhook"))
        .expect("deleteWebhook");
    let polled = methods
        .iter()
        .position(|m| m.eq_ignore_ascii_case("getUpdates"))
        .expect("getUpdates");
    assert!(deleted < polled, "the webhook is deleted before polling");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn expired_reused_forged_and_orphaned_links_bind_nothing_and_say_so_in_the_users_language() {
    let api = TelegramApi::start().await;
    let test = TestApp::new(|config| bot(config, &api)).await;
    seed(&test.app, 3).await;
    let (expired_contact, expired) = token_for(&test, "P000000", -60_000).await;
    let (contact, token) = token_for(&test, "P000002", 14 * DAY_MS).await;
    let serving = Serving::start(test.app.config.clone()).await;

    let dutch = TelegramUser::new(600_010, "Jan", Some("nl"));
    api.user_writes(&dutch, dutch.id, &format!("/start {expired}"));
    assert_eq!(
        api.nth_sent_to(dutch.id, 1).await.text,
        "Deze link is verlopen. Vraag ons een nieuwe, of bel ons op +32 3 555 12 12."
    );
    assert_eq!(chat_of(&test, expired_contact).await, None);

    let first = TelegramUser::new(600_011, "Sam", Some("en-GB"));
    api.user_writes(&first, first.id, &format!("/start {token}"));
    assert!(api
        .nth_sent_to(first.id, 1)
        .await
        .text
        .starts_with("You are connected."));
    let french = TelegramUser::new(600_012, "Chloé", Some("fr-BE"));
    api.user_writes(&french, french.id, &format!("/start {token}"));
    assert_eq!(
        api.nth_sent_to(french.id, 1).await.text,
        "Ce lien a déjà été utilisé dans une autre conversation. Un lien ne sert qu'une fois\u{a0}: \
         demandez-nous-en un nouveau ou appelez-nous au +32 3 555 12 12."
    );
    assert_eq!(
        chat_of(&test, contact).await.as_deref(),
        Some("600011"),
        "the first chat keeps it"
    );
    assert_eq!(
        test.app.store.telegram_chat("600012").await.expect("chat"),
        None
    );

    let mut forged = token.clone().into_bytes();
    let last = forged.len() - 1;
    forged[last] = if forged[last] == b'A' { b'B' } else { b'A' };
    let forged = String::from_utf8(forged).expect("ascii");
    let english = TelegramUser::new(600_013, "Alex", Some("en"));
    api.user_writes(&english, english.id, &format!("/start {forged}"));
    assert_eq!(
        api.nth_sent_to(english.id, 1).await.text,
        "This link is not valid. Check that you copied it whole, or call us on +32 3 555 12 12."
    );
    api.user_writes(&english, english.id, "/start ../../etc/passwd");
    assert!(api
        .nth_sent_to(english.id, 2)
        .await
        .text
        .starts_with("This link is not valid."));

    // A genuine link for a contact that is no longer there.
    let now = test.app.clock.now_ms();
    let key = LinkKey::new(test.app.store.telegram_link_key(now).await.expect("key"));
    let orphan = link::issue(&key, 999_999, now + DAY_MS);
    api.user_writes(&dutch, dutch.id, &format!("/start {orphan}"));
    assert_eq!(
        api.nth_sent_to(dutch.id, 2).await.text,
        "Via deze link kunnen we niemand meer bereiken. Bel ons op +32 3 555 12 12."
    );
    for chat in ["600010", "600013"] {
        assert_eq!(
            test.app.store.telegram_chat(chat).await.expect("chat"),
            None,
            "{chat} bound nothing"
        );
    }
    serving.stop().await;
}

/// A released update whose English title has what HTML parse mode must escape.
const UPDATE: &str = r#"incident = "cyberattack-2026-01"
kind = "alert"
author = "Els Peeters"
audiences = ["patients"]
channels = ["email"]

[nl]
title = "Cyberaanval – operaties gaan niet door"
body = "Alle geplande operaties gaan niet door."
sms = "Cyberaanval: operaties gaan niet door."

[fr]
title = "Cyberattaque – opérations annulées"
body = "Toutes les opérations prévues sont annulées."
sms = "Cyberattaque: operations annulees."

[en]
title = "Cyberattack <update> & 🚑 *all* _operations_ cancelled"
body = "All planned operations are cancelled."
sms = "Cyberattack: operations cancelled."
"#;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn start_without_a_link_follows_the_public_updates_and_status_verify_and_help_answer() {
    let api = TelegramApi::start().await;
    let test = TestApp::new(|config| bot(config, &api)).await;
    seed(&test.app, 1).await;
    let serving = Serving::start(test.app.config.clone()).await;

    // A German client: the hospital's default language (English here).
    let german = TelegramUser::new(600_020, "Lena", Some("de"));
    api.user_writes(&german, german.id, "/start");
    let welcome = api.nth_sent_to(german.id, 1).await;
    assert!(welcome.text.starts_with("Welcome."), "{}", welcome.text);
    assert!(welcome.text.contains("/language") && welcome.text.contains("/stop"));
    let chat = test
        .app
        .store
        .telegram_chat("600020")
        .await
        .expect("chat")
        .expect("subscribed");
    assert!(chat.active() && !chat.personal);
    assert_eq!(chat.language, Language::En);
    let french = TelegramUser::new(600_021, "Louis", Some("fr-BE"));
    api.user_writes(&french, french.id, "/start");
    assert!(api
        .nth_sent_to(french.id, 1)
        .await
        .text
        .starts_with("Bienvenue."));
    assert_eq!(
        test.app
            .store
            .telegram_chat("600021")
            .await
            .expect("chat")
            .expect("subscribed")
            .language,
        Language::Fr
    );

    api.user_writes(&german, german.id, "/status");
    assert_eq!(
        api.nth_sent_to(german.id, 2).await.text,
        "There has been no update so far."
    );

    let released = test.approved_update(UPDATE).await;
    let reference = test
        .app
        .store
        .update(released)
        .await
        .expect("update")
        .reference;
    let draft_file = test.dir.path().join("draft.toml");
    std::fs::write(&draft_file, UPDATE).expect("write");
    let draft = test
        .app
        .draft(&draft_file, None, Default::default())
        .await
        .expect("draft")
        .id;
    let draft_reference = test.app.store.update(draft).await.expect("draft").reference;

    api.user_writes(&german, german.id, "/status");
    let status = api.nth_sent_to(german.id, 3).await;
    let page = format!("https://crisis.azt-testwijk.be/en/{reference}.html");
    assert!(
        status.text.starts_with("Latest update, "),
        "{}",
        status.text
    );
    assert!(
        status
            .text
            .contains("\nCyberattack <update> & 🚑 *all* _operations_ cancelled\nReference: "),
        "as written: {}",
        status.text
    );
    assert!(status.text.contains(reference.as_str()));
    assert!(status.text.ends_with(&format!("Read it online: {page}")));

    api.user_writes(
        &german,
        german.id,
        &format!("/verify {}", reference.as_str().to_lowercase()),
    );
    let genuine = api.nth_sent_to(german.id, 4).await;
    assert!(
        genuine.text.starts_with(&format!(
            "✅ The reference {reference} belongs to a genuine message from Algemeen Ziekenhuis \
             Testwijk: “Cyberattack <update> & 🚑 *all* _operations_ cancelled”, "
        )),
        "{}",
        genuine.text
    );
    assert!(genuine.text.ends_with(&page));

    for typed in [
        draft_reference.as_str(),
        "AZT-20990101-ZZZZ",
        "<b>nonsense</b>",
    ] {
        api.user_writes(&french, french.id, &format!("/verify {typed}"));
    }
    for (n, typed) in [
        draft_reference.as_str(),
        "AZT-20990101-ZZZZ",
        "<b>nonsense</b>",
    ]
    .into_iter()
    .enumerate()
    {
        let answer = api.nth_sent_to(french.id, 2 + n).await;
        assert!(
            answer.text.starts_with(&format!(
                "⚠️ La référence {typed} n'a pas été émise par Algemeen Ziekenhuis Testwijk."
            )),
            "{typed}: {}",
            answer.text
        );
    }

    // In a group: commands to this bot only, nothing else.
    let group = -4_001_234;
    api.user_writes(&german, group, "hello everyone");
    api.user_writes(&german, group, "/status@other_bot");
    api.user_writes(&german, group, &format!("/status@{BOT_USERNAME}"));
    let in_group = api.nth_sent_to(group, 1).await;
    assert!(in_group.text.starts_with("Latest update, "));
    api.wait_for("every update confirmed", no_updates_left)
        .await;

    api.user_writes(&french, french.id, "bonjour");
    let help = api.nth_sent_to(french.id, 5).await;
    assert!(
        help.text
            .starts_with("Ce bot envoie les communications officielles de Algemeen"),
        "{}",
        help.text
    );
    assert!(help.text.contains("/langue – choisir votre langue"));
    api.user_writes(&german, german.id, "/frobnicate");
    assert!(api
        .nth_sent_to(german.id, 5)
        .await
        .text
        .starts_with("This bot sends the official updates"));
    api.user_writes(&german, german.id, "/verify");
    assert_eq!(
        api.nth_sent_to(german.id, 6).await.text,
        format!(
            "Send the reference printed on the message after /verify, for example: /verify \
             {reference}"
        )
    );
    serving.stop().await;
    assert_eq!(api.sent_to(group).len(), 1, "nothing else in the group");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_commands_and_descriptions_are_set_in_three_languages_and_the_default() {
    let api = TelegramApi::start().await;
    let test = TestApp::new(|config| {
        bot(config, &api);
        config.hospital.default_language = Language::Fr;
    })
    .await;
    let serving = Serving::start(test.app.config.clone()).await;
    api.wait_for("the bot set up", |state| {
        state.profile.short_descriptions.len() == 4 && !state.polls.is_empty()
    })
    .await;
    serving.stop().await;
    let profile = api.with(|state| state.profile.clone());
    let names = |code: &str| -> Vec<String> {
        profile.commands[code]
            .iter()
            .map(|command| command["command"].as_str().expect("name").to_string())
            .collect()
    };
    assert_eq!(
        names("nl"),
        ["start", "taal", "status", "verify", "stop", "help"]
    );
    assert_eq!(
        names("fr"),
        ["start", "langue", "status", "verify", "stop", "help"]
    );
    assert_eq!(
        names("en"),
        ["start", "language", "status", "verify", "stop", "help"]
    );
    assert_eq!(names(""), names("fr"), "the hospital's default language");
    assert_eq!(
        profile.commands["nl"][0]["description"],
        json!("Onze berichten hier ontvangen")
    );
    assert_eq!(
        profile.descriptions["en"],
        "The official updates of Algemeen Ziekenhuis Testwijk during an incident, in English, \
         Dutch or French. Press Start to receive them here."
    );
    assert_eq!(
        profile.short_descriptions["fr"],
        "Communications officielles de Algemeen Ziekenhuis Testwijk en cas d'incident."
    );
    assert_eq!(profile.descriptions[""], profile.descriptions["fr"]);
}

/// An update Telegram would post to the webhook.
fn status_update(api: &TelegramApi, chat: i64) -> Value {
    let user = TelegramUser::new(chat, "Noor", Some("nl"));
    api.message_update(&user, chat, "/status")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn in_webhook_mode_only_updates_with_the_secret_are_processed_and_each_once() {
    let api = TelegramApi::start().await;
    std::env::set_var(SECRET_ENV, SECRET);
    let test = TestApp::new(|config| {
        bot(config, &api);
        config.telegram.webhook_url =
            Some("https://crisis.azt-testwijk.be/telegram/webhook".into());
        config.telegram.webhook_secret_env = Some(SECRET_ENV.into());
    })
    .await;
    let serving = Serving::start(test.app.config.clone()).await;
    api.wait_for("setWebhook", |state| state.webhook.is_some())
        .await;
    let webhook = api.with(|state| state.webhook.clone()).expect("set");
    assert_eq!(
        webhook.url,
        "https://crisis.azt-testwijk.be/telegram/webhook"
    );
    assert_eq!(webhook.secret_token.as_deref(), Some(SECRET));
    assert_eq!(
        webhook.allowed_updates,
        Some(json!(["message", "callback_query"]))
    );

    let client = reqwest::Client::new();
    let url = format!("http://{}/telegram/webhook", serving.address);
    let post = |update: &Value, secret: Option<&str>| {
        let mut request = client.post(&url).json(update);
        if let Some(secret) = secret {
            request = request.header("X-Telegram-Bot-Api-Secret-Token", secret);
        }
        request.send()
    };
    let forged = status_update(&api, 600_030);
    for secret in [None, Some("webhook_Secret-4712"), Some("")] {
        let answer = post(&forged, secret).await.expect("answer");
        assert_eq!(answer.status(), 401, "{secret:?}");
    }

    let genuine = status_update(&api, 600_031);
    for _ in 0..3 {
        // Telegram posts again when it did not get our 200 (a timeout, a restart).
        let answer = post(&genuine, Some(SECRET)).await.expect("answer");
        assert_eq!(answer.status(), 200);
    }
    let answer = api.nth_sent_to(600_031, 1).await;
    assert_eq!(answer.text, "Er is nog geen bericht verschenen.");
    // A later update's answer shows that the earlier ones were all handled.
    let later = status_update(&api, 600_032);
    assert_eq!(
        post(&later, Some(SECRET)).await.expect("answer").status(),
        200
    );
    api.nth_sent_to(600_032, 1).await;
    serving.stop().await;
    assert_eq!(api.sent_to(600_031).len(), 1, "processed once");
    assert!(
        api.sent_to(600_030).is_empty(),
        "a forged update is not processed"
    );
    assert!(
        api.with(|state| state.polls.is_empty()),
        "no getUpdates with a webhook"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn serve_refuses_to_start_when_telegram_refuses_the_token_naming_token_env() {
    let api = TelegramApi::start().await;
    let dir = tempfile::tempdir().expect("temp dir");
    let database = TestDatabase::in_dir(dir.path()).await;
    let config = database.config_in(dir.path());
    std::fs::write(
        dir.path().join("tocsin.toml"),
        format!(
            "database_url = \"{}\"\n{HOSPITAL_TOML}\n[email]\nfrom = \"{EMAIL_FROM}\"\n\
             [serve]\nbind = \"127.0.0.1:0\"\n\
             [telegram]\ntransport = \"bot\"\napi_url = \"{}\"\ntoken_env = \"TOCSIN_BOT_TOKEN\"\n",
            config.database_url, api.url
        ),
    )
    .expect("write tocsin.toml");
    // serve opens only an existing database.
    App::open(config).await.expect("create the database");
    let wrong = "7012345678:AAFwrongTokenForTheTest_0123456789abc";
    let serve = tokio::process::Command::new(tocsin_binary())
        .env("TOCSIN_LANG", "en")
        .current_dir(dir.path())
        .arg("serve")
        .env("TOCSIN_BOT_TOKEN", wrong)
        .kill_on_drop(true)
        .output();
    // A hang would be serve running with a bot that cannot work.
    let output = tokio::time::timeout(std::time::Duration::from_secs(120), serve)
        .await
        .expect("serve refuses instead of running")
        .expect("run tocsin serve");
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(1), "{stderr}");
    assert!(stderr.contains("error: "), "{stderr}");
    assert!(stderr.contains("TOCSIN_BOT_TOKEN"), "{stderr}");
    assert!(!stderr.contains(wrong), "never the token: {stderr}");
    assert_eq!(
        api.requests()
            .iter()
            .map(|request| (request.method.to_ascii_lowercase(), request.status))
            .collect::<Vec<_>>(),
        [("getme".to_string(), 401)]
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_emulators_get_updates_long_polls_and_forgets_what_an_offset_confirms() {
    use teloxide::payloads::GetUpdatesSetters;
    use teloxide::requests::Requester;
    let api = TelegramApi::start().await;
    let bot = teloxide::Bot::new(TOKEN).set_api_url(api.url.parse().expect("url"));
    let user = TelegramUser::new(600_040, "Ines", Some("nl"));
    let first = api.user_writes(&user, user.id, "/status");
    let second = api.user_writes(&user, user.id, "hallo");
    let updates = bot.get_updates().await.expect("getUpdates");
    let ids: Vec<i64> = updates.iter().map(|u| i64::from(u.id.0)).collect();
    assert_eq!(ids, [first, second]);
    assert_eq!(
        bot.get_updates().await.expect("again").len(),
        2,
        "not confirmed yet"
    );
    let offset = i32::try_from(first + 1).expect("fits");
    let rest = bot.get_updates().offset(offset).await.expect("confirm");
    assert_eq!(rest.len(), 1);
    assert_eq!(
        api.with(|state| state.updates.len()),
        1,
        "the first forgotten"
    );

    // A long poll answers as soon as an update arrives.
    let offset = i32::try_from(second + 1).expect("fits");
    let polling = tokio::spawn({
        let bot = bot.clone();
        async move { bot.get_updates().offset(offset).timeout(10).await }
    });
    api.wait_for("the long poll", |state| {
        state.polls.iter().any(|poll| poll.timeout == Some(10))
    })
    .await;
    let third = api.user_writes(&user, user.id, "/taal");
    let updates = polling.await.expect("joins").expect("getUpdates");
    assert_eq!(
        updates
            .iter()
            .map(|u| i64::from(u.id.0))
            .collect::<Vec<_>>(),
        [third]
    );
}
