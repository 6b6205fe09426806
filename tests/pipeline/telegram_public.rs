//! Who gets what on Telegram, against the Bot API emulated in `telegram_api.rs`: the public
//! followers (chats that started the bot without a link) get the public text in the language
//! they chose, the hospital's public channels one post per language with each later update of
//! the incident answering the post before, a chat that blocked the bot ends unsubscribed and
//! on the unreached list, an SMS that does not arrive falls back to a subscribed chat, and
//! e-mails (and SMS when asked) invite those who do not follow yet by a personal link.

use crate::control::{settings, states, Scripted};
use crate::support::{sms_patient, TestApp};
use crate::telegram_api::{ChatState, TelegramApi, TOKEN};
use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;
use tocsin::channels::telegram::link::{self, LinkKey};
use tocsin::channels::{Channel, Outcome};
use tocsin::config::{ChannelPolicy, Config, PolicyMode, TelegramTransport};
use tocsin::dispatch::Dispatcher;
use tocsin::domain::{AudienceSpec, ChannelKind, DeliveryState, Language, UpdateState};
use tocsin::store::Binding;

/// The same variable and token as `telegram.rs`: set once, never changed.
const TOKEN_ENV: &str = "TOCSIN_TEST_TELEGRAM_TOKEN";

fn bot(config: &mut Config, api: &TelegramApi) {
    std::env::set_var(TOKEN_ENV, TOKEN);
    config.telegram.transport = TelegramTransport::Bot;
    config.telegram.api_url = api.url.clone();
    config.telegram.token_env = TOKEN_ENV.into();
    config.telegram.rate_per_second = 200;
    config.telegram.per_chat_interval_ms = 20;
    config.telegram.timeout_seconds = 10;
}

/// An update of the incident to patients on `channels`, of `kind`, its titles saying `what`.
fn update(kind: &str, what: &str, channels: &str) -> String {
    format!(
        r#"incident = "cyberattack-2026-01"
kind = "{kind}"
author = "Els Peeters"
audiences = ["patients"]
channels = [{channels}]

[nl]
title = "Cyberaanval: {what} (nl)"
body = "Alle geplande operaties gaan niet door. <geen> & *echt* _niet_"
sms = "Cyberaanval: operaties gaan niet door."

[fr]
title = "Cyberattaque : {what} (fr)"
body = "Toutes les opérations prévues sont annulées."
sms = "Cyberattaque: operations annulees."

[en]
title = "Cyberattack: {what} (en)"
body = "All planned operations are cancelled."
sms = "Cyberattack: operations cancelled."
"#
    )
}

/// Patient `P{n}` in `language` with a mobile and a booked appointment.
async fn patient(test: &TestApp, n: usize, language: &str) -> i64 {
    let (contact, appointment) = sms_patient(n, language, format!("+3247112345{n}"), None);
    test.app
        .store
        .import(&[contact], &[appointment], "test seed", 0)
        .await
        .expect("seed");
    test.app
        .store
        .find_contact(&format!("P{n}"))
        .await
        .expect("find")
        .expect("patient")
        .id
}

/// The texts the emulator took, by chat.
fn texts_by_chat(api: &TelegramApi) -> HashMap<i64, Vec<String>> {
    let mut by_chat: HashMap<i64, Vec<String>> = HashMap::new();
    for sent in api.sent() {
        by_chat.entry(sent.chat_id).or_default().push(sent.text);
    }
    by_chat
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn public_followers_get_the_public_text_in_the_language_they_chose_and_draft_counts_them() {
    let api = TelegramApi::start().await;
    let test = TestApp::new(|config| bot(config, &api)).await;
    let store = &test.app.store;
    // A Dutch patient whose chat chose French in the bot.
    let patient_id = patient(&test, 0, "nl").await;
    let bound = store
        .bind_telegram_chat("mac-p0", patient_id, "600000001", Language::Fr, 1_000)
        .await
        .expect("bind");
    assert!(matches!(bound, Binding::Bound(_)), "{bound:?}");
    // Three followers: Dutch, French, and one that started in Dutch and chose English.
    for (chat, language) in [
        ("600000010", Language::Nl),
        ("600000011", Language::Fr),
        ("600000012", Language::Nl),
    ] {
        store
            .subscribe_telegram_chat(chat, language, 1_000)
            .await
            .expect("subscribe");
    }
    store
        .set_telegram_language("600000012", Language::En, 2_000)
        .await
        .expect("language")
        .expect("known chat");
    // A chat that stopped follows nothing.
    store
        .subscribe_telegram_chat("600000013", Language::Nl, 1_000)
        .await
        .expect("subscribe");
    store
        .end_telegram_chat("600000013", "/stop", 2_000)
        .await
        .expect("stop");

    let file = test.dir.path().join("update.toml");
    std::fs::write(&file, update("alert", "followers", "\"telegram\"")).expect("write");
    let draft = test
        .app
        .draft(&file, None, Default::default())
        .await
        .expect("draft");
    let public = draft
        .forecast
        .audiences
        .iter()
        .find(|audience| audience.spec == AudienceSpec::Public)
        .expect("the public followers are an audience of an update on Telegram");
    assert_eq!(public.contacts, 3);
    assert_eq!(
        public.deliveries[&ChannelKind::Telegram],
        BTreeMap::from([(Language::Nl, 1), (Language::Fr, 1), (Language::En, 1)])
    );
    let patients = &draft.forecast.audiences[0];
    assert_eq!(
        patients.deliveries[&ChannelKind::Telegram],
        BTreeMap::from([(Language::Fr, 1)]),
        "the patient's Telegram message is in the language the chat chose"
    );
    test.app
        .approve(draft.id, "Second Person")
        .await
        .expect("approve");

    test.app.send(draft.id, |_, _| {}).await.expect("send");

    assert_eq!(
        states(store.as_ref(), draft.id).await,
        HashMap::from([(DeliveryState::Sent, 4)])
    );
    let texts = texts_by_chat(&api);
    assert_eq!(texts.len(), 4, "{texts:?}");
    let only = |chat: i64| texts[&chat].join("\n");
    assert!(only(600_000_001).contains("Cyberattaque\u{a0}: followers (fr)"));
    assert!(
        only(600_000_001).contains("Madame, Monsieur"),
        "the patient's own message, in French: {}",
        only(600_000_001)
    );
    assert!(only(600_000_010).contains("Cyberaanval: followers (nl)"));
    assert!(
        only(600_000_010).contains("<geen> & *echt* _niet_"),
        "the spokesperson's text arrives as written: {}",
        only(600_000_010)
    );
    assert!(only(600_000_011).contains("followers (fr)"));
    assert!(only(600_000_012).contains("Cyberattack: followers (en)"));
    for chat in [600_000_010, 600_000_011, 600_000_012] {
        let text = only(chat);
        assert!(!text.contains("Monsieur"), "no greeting of anyone: {text}");
        assert!(text.contains("/check"), "the check link: {text}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn public_channels_get_a_post_per_language_and_a_later_update_answers_the_post_before() {
    const NL_EN: i64 = -1_001_000_000_001;
    const FR: i64 = -1_001_000_000_002;
    let api = TelegramApi::start().await;
    let test = TestApp::new(|config| {
        bot(config, &api);
        config.telegram.public_channels = BTreeMap::from([
            ("nl".into(), NL_EN.to_string()),
            ("fr".into(), FR.to_string()),
            ("en".into(), NL_EN.to_string()),
        ]);
    })
    .await;
    let first = test
        .approved_update(&update("alert", "first", "\"telegram\""))
        .await;
    test.app.send(first, |_, _| {}).await.expect("send");
    let posts = api.sent();
    assert_eq!(posts.len(), 3, "one post per language");
    let post = |chat: i64, marker: &str| {
        api.sent()
            .into_iter()
            .find(|sent| sent.chat_id == chat && sent.text.contains(marker))
            .unwrap_or_else(|| panic!("a post with {marker} in {chat}"))
    };
    let nl_first = post(NL_EN, "first (nl)");
    let en_first = post(NL_EN, "first (en)");
    let fr_first = post(FR, "first (fr)");
    assert!([&nl_first, &en_first, &fr_first]
        .iter()
        .all(|sent| sent.reply_to.is_none()));

    let second = test
        .approved_update(&update("update", "second", "\"telegram\""))
        .await;
    test.app.send(second, |_, _| {}).await.expect("send");
    assert_eq!(
        post(NL_EN, "second (nl)").reply_to,
        Some(nl_first.message_id)
    );
    assert_eq!(
        post(NL_EN, "second (en)").reply_to,
        Some(en_first.message_id)
    );
    let fr_second = post(FR, "second (fr)");
    assert_eq!(fr_second.reply_to, Some(fr_first.message_id));

    // Someone deleted the French post: the next update is posted all the same, unanswered.
    api.delete_message(FR, fr_second.message_id);
    let third = test
        .approved_update(&update("allclear", "third", "\"telegram\""))
        .await;
    test.app.send(third, |_, _| {}).await.expect("send");
    assert_eq!(post(FR, "third (fr)").reply_to, None);
    assert_eq!(
        post(NL_EN, "third (nl)").reply_to,
        Some(post(NL_EN, "second (nl)").message_id)
    );
    assert_eq!(
        states(test.app.store.as_ref(), third).await,
        HashMap::from([(DeliveryState::Sent, 3)])
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_chat_that_blocked_the_bot_ends_undeliverable_unsubscribed_and_on_the_unreached_list() {
    let api = TelegramApi::start().await;
    let test = TestApp::new(|config| bot(config, &api)).await;
    let store = &test.app.store;
    let patient_id = patient(&test, 0, "fr").await;
    store
        .bind_telegram_chat("mac-p0", patient_id, "600000001", Language::Fr, 1_000)
        .await
        .expect("bind");
    store
        .subscribe_telegram_chat("600000010", Language::Nl, 1_000)
        .await
        .expect("subscribe");
    store
        .subscribe_telegram_chat("600000011", Language::Nl, 1_000)
        .await
        .expect("subscribe");
    api.set_chat(600_000_001, ChatState::Blocked);
    api.set_chat(600_000_010, ChatState::Deactivated);

    let id = test
        .approved_update(&update("alert", "blocked", "\"telegram\""))
        .await;
    test.app.send(id, |_, _| {}).await.expect("send");

    assert_eq!(
        states(store.as_ref(), id).await,
        HashMap::from([(DeliveryState::Sent, 1), (DeliveryState::Undeliverable, 2)])
    );
    for (chat, why) in [
        ("600000001", "bot was blocked by the user"),
        ("600000010", "user is deactivated"),
    ] {
        let ended = store
            .telegram_chat(chat)
            .await
            .expect("read")
            .expect("chat");
        assert!(!ended.active(), "{chat} is unsubscribed");
        assert!(
            ended
                .ended_reason
                .as_deref()
                .unwrap_or_default()
                .contains(why),
            "{ended:?}"
        );
    }
    let patient = store.recipient(patient_id).await.expect("patient").contact;
    assert_eq!(
        patient.telegram_chat_id, None,
        "no address on Telegram any more"
    );

    let status = test.app.status(id).await.expect("status");
    assert_eq!(
        status.by_channel[&ChannelKind::Telegram][&DeliveryState::Undeliverable],
        2
    );
    let listed = status
        .unreached
        .iter()
        .find(|unreached| unreached.contact_id == patient_id)
        .expect("the patient is on the unreached list");
    assert!(
        listed
            .reasons
            .iter()
            .any(|reason| reason.starts_with("telegram: undeliverable")
                && reason.contains("bot was blocked by the user")),
        "{:?}",
        listed.reasons
    );
    assert_eq!(listed.appointments.len(), 1, "{listed:?}");
    assert!(
        status.to_text().contains("telegram"),
        "{}",
        status.to_text()
    );

    // The next update goes to the one chat still subscribed; the patient is listed with
    // no Telegram address.
    let next = test
        .approved_update(&update("update", "next", "\"telegram\""))
        .await;
    test.app.send(next, |_, _| {}).await.expect("send");
    assert_eq!(
        states(store.as_ref(), next).await,
        HashMap::from([(DeliveryState::Sent, 1), (DeliveryState::Skipped, 1)])
    );
    let last = api.sent().pop().expect("a message");
    assert_eq!(last.chat_id, 600_000_011);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_sms_that_does_not_arrive_falls_back_to_the_patients_telegram_chat() {
    let api = TelegramApi::start().await;
    let test = TestApp::new(|config| {
        bot(config, &api);
        config.policy.patients = ChannelPolicy {
            channels: vec![ChannelKind::Sms],
            mode: PolicyMode::First,
            fallback: Some(vec![ChannelKind::Telegram]),
            fallback_after_minutes: 0,
        };
    })
    .await;
    let store = &test.app.store;
    let subscribed = patient(&test, 0, "nl").await;
    let not_subscribed = patient(&test, 1, "fr").await;
    store
        .bind_telegram_chat("mac-p0", subscribed, "600000001", Language::En, 1_000)
        .await
        .expect("bind");
    let id = test
        .approved_update(&update("alert", "fallback", "\"sms\", \"telegram\""))
        .await;
    let update = store.update(id).await.expect("update");
    tocsin::plan::plan(
        store.as_ref(),
        &test.app.renderer,
        &test.app.config,
        &update,
        test.app.clock.now_ms(),
    )
    .await
    .expect("plan");
    store
        .set_update_state(id, UpdateState::Sending)
        .await
        .expect("sending");
    let sms = Scripted::new(
        Vec::new(),
        Outcome::Rejected {
            reason: "the number does not exist".into(),
        },
    );
    let mut channels = test.app.channels().expect("channels");
    channels.insert(ChannelKind::Sms, sms.clone() as Arc<dyn Channel>);
    let dispatcher = Dispatcher::new(
        Arc::clone(store),
        channels,
        settings(),
        Arc::clone(&test.app.clock),
    )
    .with_sweep(Arc::new(test.app.fallback()));

    dispatcher.run(id).await.expect("run");

    assert_eq!(sms.calls(), 2, "both SMS tried");
    let fallback = store
        .delivery(id, subscribed, ChannelKind::Telegram)
        .await
        .expect("read")
        .expect("the subscribed patient's fallback on Telegram");
    assert_eq!(fallback.state, DeliveryState::Sent);
    assert_eq!(fallback.language, Language::En, "the chat's language");
    let sent = api.sent();
    assert_eq!(sent.len(), 1, "{sent:?}");
    assert_eq!(sent[0].chat_id, 600_000_001);
    assert!(sent[0].text.contains("Cyberattack: fallback (en)"));
    let skipped = store
        .delivery(id, not_subscribed, ChannelKind::Telegram)
        .await
        .expect("read")
        .expect("a skipped fallback says why");
    assert_eq!(skipped.state, DeliveryState::Skipped);
}

/// The token of the first `https://t.me/azt_crisis_bot?start=` link in `text`.
fn invite_token(text: &str) -> Option<String> {
    const LINK: &str = "https://t.me/azt_crisis_bot?start=";
    let start = text.find(LINK)? + LINK.len();
    Some(
        text[start..]
            .chars()
            .take_while(|c| c.is_ascii_alphanumeric() || *c == '-' || *c == '_')
            .collect(),
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_email_invites_a_patient_without_telegram_by_a_link_that_binds_them_and_sms_only_when_asked(
) {
    for in_sms in [false, true] {
        let test = TestApp::new(|config| {
            config.telegram.bot_username = Some("@azt_crisis_bot".into());
            config.telegram.link_valid_days = 14;
            config.telegram.invite_in_sms = in_sms;
        })
        .await;
        let store = &test.app.store;
        let mut ids = Vec::new();
        for (n, language) in ["nl", "fr"].into_iter().enumerate() {
            let email = format!("p{n}@example.be");
            let (contact, appointment) =
                sms_patient(n, language, format!("+3247112345{n}"), Some(&email));
            store
                .import(&[contact], &[appointment], "test seed", 0)
                .await
                .expect("seed");
            ids.push(
                store
                    .find_contact(&format!("P{n}"))
                    .await
                    .expect("find")
                    .expect("patient")
                    .id,
            );
        }
        // The French patient follows on Telegram already: no invitation.
        store
            .bind_telegram_chat("mac-p1", ids[1], "600000001", Language::Fr, 1_000)
            .await
            .expect("bind");

        let file = test.dir.path().join("update.toml");
        std::fs::write(&file, update("alert", "invite", "\"sms\", \"email\"")).expect("write");
        let draft = test
            .app
            .draft(&file, None, Default::default())
            .await
            .expect("draft");
        let drafted_sms = draft.forecast.sms[&Language::Nl]
            .longest
            .clone()
            .expect("the Dutch SMS");
        test.app
            .approve(draft.id, "Second Person")
            .await
            .expect("approve");
        test.app.send(draft.id, |_, _| {}).await.expect("send");

        let stored = |contact: i64, channel| {
            let store = Arc::clone(store);
            async move {
                store
                    .delivery(draft.id, contact, channel)
                    .await
                    .expect("read")
                    .expect("delivery")
                    .content
            }
        };
        let email = stored(ids[0], ChannelKind::Email).await;
        assert!(
            email
                .body
                .contains("Volg de updates op Telegram: https://t.me/azt_crisis_bot?start="),
            "{}",
            email.body
        );
        assert!(email
            .body_html
            .unwrap_or_default()
            .contains("azt_crisis_bot?start="));
        let token = invite_token(&email.body).expect("a token");
        let key = LinkKey::new(store.telegram_link_key(0).await.expect("key"));
        let claim = link::open(&key, &token, test.app.clock.now_ms()).expect("a genuine link");
        assert_eq!(claim.contact_id, ids[0], "the link binds this patient");
        assert!(
            link::open(&key, &token, test.app.clock.now_ms() + 15 * 86_400_000).is_err(),
            "expired after link_valid_days"
        );
        let followed = stored(ids[1], ChannelKind::Email).await;
        assert!(!followed.body.contains("t.me"), "{}", followed.body);

        let sms = stored(ids[0], ChannelKind::Sms).await.body;
        assert_eq!(
            sms.contains("Updates via Telegram: https://t.me/"),
            in_sms,
            "{sms}"
        );
        assert_eq!(
            drafted_sms
                .text
                .contains("https://t.me/azt_crisis_bot?start="),
            in_sms,
            "update draft counts the SMS with its link: {}",
            drafted_sms.text
        );
        assert_eq!(
            drafted_sms.text.len(),
            sms.len(),
            "draft shows what send writes"
        );
    }
}
