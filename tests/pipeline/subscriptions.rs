//! Telegram subscriptions as the store keeps them: a deep link binds once, a chat without one
//! follows the public updates as a contact of its own, `/language` and `/stop` change what
//! the next update plans.

use crate::support::{seed, TestApp};
use tocsin::domain::{Language, Role};
use tocsin::store::Binding;

const CHAT: &str = "731245896";

#[tokio::test]
async fn a_deep_link_binds_its_chat_to_the_contact_once_and_stop_ends_it() {
    let test = TestApp::new(|_| {}).await;
    seed(&test.app, 2).await;
    let store = &test.app.store;
    let patient = store
        .find_contact("P000001")
        .await
        .expect("find")
        .expect("P1");

    let bound = store
        .bind_telegram_chat("mac-1", patient.id, CHAT, Language::Fr, 1_000)
        .await
        .expect("bind");
    let Binding::Bound(chat) = bound else {
        panic!("bound: {bound:?}")
    };
    assert!(chat.personal && chat.active());
    let contact = store.recipient(patient.id).await.expect("contact").contact;
    assert_eq!(contact.telegram_chat_id.as_deref(), Some(CHAT));
    assert_eq!(contact.telegram_language, Some(Language::Fr));

    assert_eq!(
        store
            .bind_telegram_chat("mac-1", patient.id, CHAT, Language::Fr, 2_000)
            .await
            .expect("again"),
        Binding::Used { same_chat: true }
    );
    assert_eq!(
        store
            .bind_telegram_chat("mac-1", patient.id, "555", Language::Fr, 2_000)
            .await
            .expect("elsewhere"),
        Binding::Used { same_chat: false }
    );
    assert_eq!(
        store
            .bind_telegram_chat("mac-2", 999_999, "555", Language::Fr, 2_000)
            .await
            .expect("nobody"),
        Binding::UnknownContact
    );

    let changed = store
        .set_telegram_language(CHAT, Language::En, 3_000)
        .await
        .expect("language")
        .expect("known chat");
    assert_eq!(changed.language, Language::En);
    let contact = store.recipient(patient.id).await.expect("contact").contact;
    assert_eq!(contact.telegram_language, Some(Language::En));
    assert_eq!(
        contact.language.as_deref(),
        Some("Français"),
        "only Telegram changes"
    );

    let ended = store
        .end_telegram_chat(CHAT, "/stop", 4_000)
        .await
        .expect("stop")
        .expect("known chat");
    assert!(!ended.active());
    let contact = store.recipient(patient.id).await.expect("contact").contact;
    assert_eq!(contact.telegram_chat_id, None);

    let again = store
        .subscribe_telegram_chat(CHAT, Language::Nl, 5_000)
        .await
        .expect("start again");
    assert!(again.personal && again.active() && again.language == Language::En);
    let contact = store.recipient(patient.id).await.expect("contact").contact;
    assert_eq!(
        contact.telegram_chat_id.as_deref(),
        Some(CHAT),
        "follows again"
    );
}

#[tokio::test]
async fn a_chat_without_a_link_follows_the_public_updates_until_a_link_binds_it() {
    let test = TestApp::new(|_| {}).await;
    seed(&test.app, 1).await;
    let store = &test.app.store;
    let public = store
        .subscribe_telegram_chat(CHAT, Language::Nl, 1_000)
        .await
        .expect("start");
    assert!(!public.personal);
    let follower = store
        .recipient(public.contact_id)
        .await
        .expect("public")
        .contact;
    assert_eq!(follower.role, Role::Public);
    assert_eq!(follower.telegram_chat_id.as_deref(), Some(CHAT));
    assert_eq!(follower.email, None);
    assert_eq!(
        store
            .subscribe_telegram_chat(CHAT, Language::Fr, 2_000)
            .await
            .expect("start twice"),
        public,
        "a second /start changes nothing"
    );

    let patient = store
        .find_contact("P000000")
        .await
        .expect("find")
        .expect("P0");
    let Binding::Bound(bound) = store
        .bind_telegram_chat("mac-9", patient.id, CHAT, Language::Fr, 3_000)
        .await
        .expect("bind")
    else {
        panic!("bound")
    };
    assert_eq!(bound.language, Language::Nl, "the chat keeps its language");
    let follower = store
        .recipient(public.contact_id)
        .await
        .expect("public")
        .contact;
    assert_eq!(
        follower.telegram_chat_id, None,
        "the personal messages carry the public updates: no second message"
    );
    assert!(
        store.telegram_link_key(0).await.expect("key")
            == store.telegram_link_key(1).await.expect("same key")
    );
}

#[tokio::test]
async fn a_chat_an_export_gave_is_nobodys_once_telegram_says_it_is_gone() {
    let test = TestApp::new(|_| {}).await;
    let (mut contacts, appointments) = crate::support::patients(1);
    contacts[0].telegram_chat_id = Some(CHAT.into());
    let store = &test.app.store;
    store
        .import(&contacts, &appointments, "test seed", 0)
        .await
        .expect("seed");
    let patient = store
        .find_contact("P000000")
        .await
        .expect("find")
        .expect("P0");
    assert_eq!(
        store
            .end_telegram_chat(CHAT, "Forbidden: bot was blocked by the user", 1_000)
            .await
            .expect("end"),
        None,
        "it never started the bot"
    );
    let contact = store.recipient(patient.id).await.expect("contact").contact;
    assert_eq!(contact.telegram_chat_id, None);
}

#[tokio::test]
async fn a_chat_that_stopped_follows_the_public_updates_again_when_its_contact_moved_to_another_chat(
) {
    let test = TestApp::new(|_| {}).await;
    seed(&test.app, 1).await;
    let store = &test.app.store;
    let patient = store
        .find_contact("P000000")
        .await
        .expect("find")
        .expect("P0");
    store
        .bind_telegram_chat("mac-old-phone", patient.id, CHAT, Language::Nl, 1_000)
        .await
        .expect("bind");
    store
        .end_telegram_chat(CHAT, "/stop", 2_000)
        .await
        .expect("stop");
    store
        .bind_telegram_chat("mac-new-phone", patient.id, "888", Language::Nl, 3_000)
        .await
        .expect("bind the new phone");

    let again = store
        .subscribe_telegram_chat(CHAT, Language::Nl, 4_000)
        .await
        .expect("start on the old phone");
    assert!(!again.personal, "the old phone follows the public updates");
    assert_ne!(again.contact_id, patient.id);
    let contact = store.recipient(patient.id).await.expect("contact").contact;
    assert_eq!(
        contact.telegram_chat_id.as_deref(),
        Some("888"),
        "the patient's messages stay on the new phone"
    );
}
