//! Telegram subscriptions: the chats that started the bot (`telegram_chats`), the deep links
//! used (`telegram_links_used`), and the contacts' Telegram address and language they set.

use super::SqliteStore;
use crate::domain::{Language, Role};
use crate::store::{Binding, Result, StoreError, TelegramChat, TELEGRAM_CHANNEL_PREFIX};
use sqlx::sqlite::SqliteRow;
use sqlx::{QueryBuilder, Row, Sqlite, Transaction};

const LINK_KEY: &str = "telegram-link-key";

const CHAT_COLUMNS: &str =
    "chat_id, contact_id, personal, language, subscribed_at, ended_at, ended_reason";

fn chat_from_row(row: &SqliteRow) -> Result<TelegramChat> {
    let language: String = row.try_get("language")?;
    Ok(TelegramChat {
        chat_id: row.try_get("chat_id")?,
        contact_id: row.try_get("contact_id")?,
        personal: row.try_get::<i64, _>("personal")? == 1,
        language: Language::parse(&language)
            .map_err(|_| StoreError::Corrupt(format!("Telegram chat language {language:?}")))?,
        subscribed_at_ms: row.try_get("subscribed_at")?,
        ended_at_ms: row.try_get("ended_at")?,
        ended_reason: row.try_get("ended_reason")?,
    })
}

async fn chat_in(
    tx: &mut Transaction<'static, Sqlite>,
    chat_id: &str,
) -> Result<Option<TelegramChat>> {
    sqlx::query(&format!(
        "SELECT {CHAT_COLUMNS} FROM telegram_chats WHERE chat_id = ?"
    ))
    .bind(chat_id)
    .fetch_optional(&mut **tx)
    .await?
    .map(|row| chat_from_row(&row))
    .transpose()
}

/// Makes `contact_id` reachable at `chat_id` on Telegram, in `language`.
async fn address_contact(
    tx: &mut Transaction<'static, Sqlite>,
    contact_id: i64,
    chat_id: &str,
    language: Language,
    at_ms: i64,
) -> Result<()> {
    sqlx::query(
        "UPDATE contacts SET telegram_chat_id = ?, telegram_language = ?, updated_at = ? \
         WHERE id = ?",
    )
    .bind(chat_id)
    .bind(language.code())
    .bind(at_ms)
    .bind(contact_id)
    .execute(&mut **tx)
    .await?;
    Ok(())
}

/// The chat's row: a new subscription, or the old one made current again.
async fn upsert_chat(
    tx: &mut Transaction<'static, Sqlite>,
    chat: &TelegramChat,
    at_ms: i64,
) -> Result<()> {
    sqlx::query(
        "INSERT INTO telegram_chats (chat_id, contact_id, personal, language, subscribed_at, \
         updated_at, ended_at, ended_reason) VALUES (?, ?, ?, ?, ?, ?, NULL, NULL) \
         ON CONFLICT (chat_id) DO UPDATE SET contact_id = excluded.contact_id, \
         personal = excluded.personal, language = excluded.language, \
         subscribed_at = excluded.subscribed_at, updated_at = excluded.updated_at, \
         ended_at = NULL, ended_reason = NULL",
    )
    .bind(&chat.chat_id)
    .bind(chat.contact_id)
    .bind(i64::from(chat.personal))
    .bind(chat.language.code())
    .bind(chat.subscribed_at_ms)
    .bind(at_ms)
    .execute(&mut **tx)
    .await?;
    Ok(())
}

pub(super) async fn link_key(store: &SqliteStore, at_ms: i64) -> Result<[u8; 32]> {
    let read = |value: Vec<u8>| -> Result<[u8; 32]> {
        value
            .try_into()
            .map_err(|_| StoreError::Corrupt(format!("secret {LINK_KEY} is not 32 bytes")))
    };
    let known: Option<Vec<u8>> = sqlx::query_scalar("SELECT value FROM secrets WHERE name = ?")
        .bind(LINK_KEY)
        .fetch_optional(store.pool())
        .await?;
    if let Some(value) = known {
        return read(value);
    }
    let (_turn, mut tx) = store.begin_write().await?;
    let fresh: [u8; 32] = rand::random();
    sqlx::query(
        "INSERT INTO secrets (name, value, created_at) VALUES (?, ?, ?) ON CONFLICT DO NOTHING",
    )
    .bind(LINK_KEY)
    .bind(fresh.as_slice())
    .bind(at_ms)
    .execute(&mut *tx)
    .await?;
    // Another process may have made it first: its key is the one.
    let value: Vec<u8> = sqlx::query_scalar("SELECT value FROM secrets WHERE name = ?")
        .bind(LINK_KEY)
        .fetch_one(&mut *tx)
        .await?;
    tx.commit().await?;
    read(value)
}

pub(super) async fn chat(store: &SqliteStore, chat_id: &str) -> Result<Option<TelegramChat>> {
    sqlx::query(&format!(
        "SELECT {CHAT_COLUMNS} FROM telegram_chats WHERE chat_id = ?"
    ))
    .bind(chat_id)
    .fetch_optional(store.pool())
    .await?
    .map(|row| chat_from_row(&row))
    .transpose()
}

pub(super) async fn bind(
    store: &SqliteStore,
    mac: &str,
    contact_id: i64,
    chat_id: &str,
    language: Language,
    at_ms: i64,
) -> Result<Binding> {
    let (_turn, mut tx) = store.begin_write().await?;
    let used: Option<String> =
        sqlx::query_scalar("SELECT chat_id FROM telegram_links_used WHERE mac = ?")
            .bind(mac)
            .fetch_optional(&mut *tx)
            .await?;
    if let Some(used_by) = used {
        return Ok(Binding::Used {
            same_chat: used_by == chat_id,
        });
    }
    let role: Option<String> = sqlx::query_scalar("SELECT role FROM contacts WHERE id = ?")
        .bind(contact_id)
        .fetch_optional(&mut *tx)
        .await?;
    if role.is_none_or(|role| role == Role::Public.as_str()) {
        return Ok(Binding::UnknownContact);
    }
    sqlx::query(
        "INSERT INTO telegram_links_used (mac, contact_id, chat_id, used_at) VALUES (?, ?, ?, ?)",
    )
    .bind(mac)
    .bind(contact_id)
    .bind(chat_id)
    .bind(at_ms)
    .execute(&mut *tx)
    .await?;
    let before = chat_in(&mut tx, chat_id).await?;
    // A chat that chose its language in the bot keeps it.
    let language = before.as_ref().map_or(language, |chat| chat.language);
    if let Some(public) = before.as_ref().filter(|chat| !chat.personal) {
        sqlx::query("UPDATE contacts SET telegram_chat_id = NULL, updated_at = ? WHERE id = ?")
            .bind(at_ms)
            .bind(public.contact_id)
            .execute(&mut *tx)
            .await?;
    }
    address_contact(&mut tx, contact_id, chat_id, language, at_ms).await?;
    let bound = TelegramChat {
        chat_id: chat_id.to_string(),
        contact_id,
        personal: true,
        language,
        subscribed_at_ms: before
            .as_ref()
            .filter(|chat| chat.active())
            .map_or(at_ms, |chat| chat.subscribed_at_ms),
        ended_at_ms: None,
        ended_reason: None,
    };
    upsert_chat(&mut tx, &bound, at_ms).await?;
    tx.commit().await?;
    Ok(Binding::Bound(bound))
}

pub(super) async fn subscribe(
    store: &SqliteStore,
    chat_id: &str,
    language: Language,
    at_ms: i64,
) -> Result<TelegramChat> {
    let (_turn, mut tx) = store.begin_write().await?;
    let before = chat_in(&mut tx, chat_id).await?;
    if let Some(current) = before.as_ref().filter(|chat| chat.active()) {
        return Ok(current.clone());
    }
    // An ended personal chat follows its contact again only if the contact has not moved to
    // another chat since (a new phone, bound by a new link): then it follows the public
    // updates, in the language it chose.
    let Some(ended) = before else {
        return new_public_follower(tx, chat_id, language, at_ms).await;
    };
    let now_at: Option<Option<String>> =
        sqlx::query_scalar("SELECT telegram_chat_id FROM contacts WHERE id = ?")
            .bind(ended.contact_id)
            .fetch_optional(&mut *tx)
            .await?;
    if ended.personal && matches!(&now_at, Some(Some(other)) if other != chat_id) {
        return new_public_follower(tx, chat_id, ended.language, at_ms).await;
    }
    address_contact(&mut tx, ended.contact_id, chat_id, ended.language, at_ms).await?;
    let chat = TelegramChat {
        subscribed_at_ms: at_ms,
        ended_at_ms: None,
        ended_reason: None,
        ..ended
    };
    upsert_chat(&mut tx, &chat, at_ms).await?;
    tx.commit().await?;
    Ok(chat)
}

/// A chat that follows the public updates: a `public` contact of its own.
async fn new_public_follower(
    mut tx: Transaction<'static, Sqlite>,
    chat_id: &str,
    language: Language,
    at_ms: i64,
) -> Result<TelegramChat> {
    let contact_id: i64 = sqlx::query_scalar("SELECT COALESCE(MAX(id), 0) + 1 FROM contacts")
        .fetch_one(&mut *tx)
        .await?;
    sqlx::query(
        "INSERT INTO contacts (id, external_id, role, first_name, last_name, language, \
         telegram_chat_id, telegram_language, created_at, updated_at) \
         VALUES (?, ?, 'public', '', 'Telegram', ?, ?, ?, ?, ?)",
    )
    .bind(contact_id)
    .bind(format!("telegram:{chat_id}"))
    .bind(language.code())
    .bind(chat_id)
    .bind(language.code())
    .bind(at_ms)
    .bind(at_ms)
    .execute(&mut *tx)
    .await?;
    let chat = TelegramChat {
        chat_id: chat_id.to_string(),
        contact_id,
        personal: false,
        language,
        subscribed_at_ms: at_ms,
        ended_at_ms: None,
        ended_reason: None,
    };
    upsert_chat(&mut tx, &chat, at_ms).await?;
    tx.commit().await?;
    Ok(chat)
}

pub(super) async fn set_language(
    store: &SqliteStore,
    chat_id: &str,
    language: Language,
    at_ms: i64,
) -> Result<Option<TelegramChat>> {
    let (_turn, mut tx) = store.begin_write().await?;
    let Some(before) = chat_in(&mut tx, chat_id).await? else {
        return Ok(None);
    };
    sqlx::query("UPDATE telegram_chats SET language = ?, updated_at = ? WHERE chat_id = ?")
        .bind(language.code())
        .bind(at_ms)
        .bind(chat_id)
        .execute(&mut *tx)
        .await?;
    sqlx::query(
        "UPDATE contacts SET telegram_language = ?, updated_at = ? WHERE telegram_chat_id = ?",
    )
    .bind(language.code())
    .bind(at_ms)
    .bind(chat_id)
    .execute(&mut *tx)
    .await?;
    tx.commit().await?;
    Ok(Some(TelegramChat { language, ..before }))
}

pub(super) async fn end(
    store: &SqliteStore,
    chat_id: &str,
    reason: &str,
    at_ms: i64,
) -> Result<Option<TelegramChat>> {
    let (_turn, mut tx) = store.begin_write().await?;
    // A chat id an export gave, that never started the bot, is gone for its contacts too.
    sqlx::query(
        "UPDATE contacts SET telegram_chat_id = NULL, updated_at = ? WHERE telegram_chat_id = ?",
    )
    .bind(at_ms)
    .bind(chat_id)
    .execute(&mut *tx)
    .await?;
    let Some(before) = chat_in(&mut tx, chat_id).await? else {
        tx.commit().await?;
        return Ok(None);
    };
    if !before.active() {
        tx.commit().await?;
        return Ok(Some(before));
    }
    sqlx::query(
        "UPDATE telegram_chats SET ended_at = ?, ended_reason = ?, updated_at = ? \
         WHERE chat_id = ?",
    )
    .bind(at_ms)
    .bind(reason)
    .bind(at_ms)
    .bind(chat_id)
    .execute(&mut *tx)
    .await?;
    tx.commit().await?;
    Ok(Some(TelegramChat {
        ended_at_ms: Some(at_ms),
        ended_reason: Some(reason.to_string()),
        ..before
    }))
}

pub(super) async fn sync_channels(
    store: &SqliteStore,
    channels: &[(Language, String)],
    at_ms: i64,
) -> Result<u64> {
    let (_turn, mut tx) = store.begin_write().await?;
    let mut changed = 0;
    for (language, chat) in channels {
        let external_id = format!("{TELEGRAM_CHANNEL_PREFIX}{}", language.code());
        let known: Option<(i64, Option<String>)> = sqlx::query_as(
            "SELECT id, telegram_chat_id FROM contacts WHERE role = 'public' AND external_id = ?",
        )
        .bind(&external_id)
        .fetch_optional(&mut *tx)
        .await?;
        match known {
            Some((_, Some(current))) if &current == chat => {}
            Some((id, _)) => {
                address_contact(&mut tx, id, chat, *language, at_ms).await?;
                changed += 1;
            }
            None => {
                let id: i64 = sqlx::query_scalar("SELECT COALESCE(MAX(id), 0) + 1 FROM contacts")
                    .fetch_one(&mut *tx)
                    .await?;
                sqlx::query(
                    "INSERT INTO contacts (id, external_id, role, first_name, last_name, \
                     language, telegram_chat_id, telegram_language, created_at, updated_at) \
                     VALUES (?, ?, 'public', '', 'Telegram channel', ?, ?, ?, ?, ?)",
                )
                .bind(id)
                .bind(&external_id)
                .bind(language.code())
                .bind(chat)
                .bind(language.code())
                .bind(at_ms)
                .bind(at_ms)
                .execute(&mut *tx)
                .await?;
                changed += 1;
            }
        }
    }
    // A language no longer configured is posted nowhere; its contact keeps its history.
    let mut dropped =
        QueryBuilder::<Sqlite>::new("UPDATE contacts SET telegram_chat_id = NULL, updated_at = ");
    dropped
        .push_bind(at_ms)
        .push(" WHERE role = 'public' AND telegram_chat_id IS NOT NULL AND external_id LIKE ")
        .push_bind(format!("{TELEGRAM_CHANNEL_PREFIX}%"));
    for (language, _) in channels {
        dropped
            .push(" AND external_id <> ")
            .push_bind(format!("{TELEGRAM_CHANNEL_PREFIX}{}", language.code()));
    }
    changed += dropped.build().execute(&mut *tx).await?.rows_affected();
    tx.commit().await?;
    Ok(changed)
}
