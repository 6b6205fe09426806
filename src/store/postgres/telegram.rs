//! Telegram subscriptions on PostgreSQL: the chats that started the bot (`telegram_chats`),
//! the deep links used (`telegram_links_used`), the contacts' Telegram address and language
//! they set, and the addresses Telegram moves (`readdress`).
//!
//! Several `serve` instances may take the bot's messages for one chat at once (a `/start`
//! tapped twice behind a load balancer). What a chat's messages change is read and written
//! under a lock on the chat id ([`lock_chats`]): its row may not exist yet, so there is no
//! row to lock.

use super::PostgresStore;
use crate::domain::{ChannelKind, Language, Role};
use crate::store::{
    Binding, Result, StoreError, TelegramChat, TelegramStore, TELEGRAM_CHANNEL_PREFIX,
};
use async_trait::async_trait;
use sqlx::postgres::PgRow;
use sqlx::{Postgres, Row, Transaction};
use std::str::FromStr;

const LINK_KEY: &str = "telegram-link-key";

#[async_trait]
impl TelegramStore for PostgresStore {
    async fn telegram_link_key(&self, at_ms: i64) -> Result<[u8; 32]> {
        link_key(self, at_ms).await
    }

    async fn telegram_chat(&self, chat_id: &str) -> Result<Option<TelegramChat>> {
        chat(self, chat_id).await
    }

    async fn bind_telegram_chat(
        &self,
        mac: &str,
        contact_id: i64,
        chat_id: &str,
        language: Language,
        at_ms: i64,
    ) -> Result<Binding> {
        bind(self, mac, contact_id, chat_id, language, at_ms).await
    }

    async fn subscribe_telegram_chat(
        &self,
        chat_id: &str,
        language: Language,
        at_ms: i64,
    ) -> Result<TelegramChat> {
        subscribe(self, chat_id, language, at_ms).await
    }

    async fn set_telegram_language(
        &self,
        chat_id: &str,
        language: Language,
        at_ms: i64,
    ) -> Result<Option<TelegramChat>> {
        set_language(self, chat_id, language, at_ms).await
    }

    async fn sync_telegram_channels(
        &self,
        channels: &[(Language, String)],
        at_ms: i64,
    ) -> Result<u64> {
        sync_channels(self, channels, at_ms).await
    }

    async fn end_telegram_chat(
        &self,
        chat_id: &str,
        reason: &str,
        at_ms: i64,
    ) -> Result<Option<TelegramChat>> {
        end(self, chat_id, reason, at_ms).await
    }

    async fn readdress(
        &self,
        delivery_id: i64,
        address: &str,
        detail: &str,
        at_ms: i64,
    ) -> Result<u64> {
        readdress(self, delivery_id, address, detail, at_ms).await
    }
}

/// The advisory locks' first key: one chat's writes (the second key, the chat id's hash), or
/// the public channels' sync (second key 0). Two chats whose ids hash alike only wait for
/// each other.
const CHAT_LOCKS: i32 = 0x7467_6368;
const CHANNELS_LOCKS: i32 = 0x7467_6370;

const CHAT_COLUMNS: &str =
    "chat_id, contact_id, personal, language, subscribed_at, ended_at, ended_reason";

fn chat_from_row(row: &PgRow) -> Result<TelegramChat> {
    let language: String = row.try_get("language")?;
    Ok(TelegramChat {
        chat_id: row.try_get("chat_id")?,
        contact_id: row.try_get("contact_id")?,
        personal: row.try_get("personal")?,
        language: Language::parse(&language)
            .map_err(|_| StoreError::Corrupt(format!("Telegram chat language {language:?}")))?,
        subscribed_at_ms: row.try_get("subscribed_at")?,
        ended_at_ms: row.try_get("ended_at")?,
        ended_reason: row.try_get("ended_reason")?,
    })
}

/// Holds the chats until the transaction ends, taken in one order so that two transactions
/// that each want two chats cannot wait on each other.
async fn lock_chats(tx: &mut Transaction<'static, Postgres>, chat_ids: &[&str]) -> Result<()> {
    let mut chat_ids = chat_ids.to_vec();
    chat_ids.sort_unstable();
    chat_ids.dedup();
    for chat_id in chat_ids {
        sqlx::query("SELECT pg_advisory_xact_lock($1, hashtext($2))")
            .bind(CHAT_LOCKS)
            .bind(chat_id)
            .execute(&mut **tx)
            .await?;
    }
    Ok(())
}

async fn chat_in(
    tx: &mut Transaction<'static, Postgres>,
    chat_id: &str,
) -> Result<Option<TelegramChat>> {
    sqlx::query(&format!(
        "SELECT {CHAT_COLUMNS} FROM telegram_chats WHERE chat_id = $1"
    ))
    .bind(chat_id)
    .fetch_optional(&mut **tx)
    .await?
    .map(|row| chat_from_row(&row))
    .transpose()
}

/// Makes `contact_id` reachable at `chat_id` on Telegram, in `language`.
async fn address_contact(
    tx: &mut Transaction<'static, Postgres>,
    contact_id: i64,
    chat_id: &str,
    language: Language,
    at_ms: i64,
) -> Result<()> {
    sqlx::query(
        "UPDATE contacts SET telegram_chat_id = $1, telegram_language = $2, updated_at = $3 \
         WHERE id = $4",
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
    tx: &mut Transaction<'static, Postgres>,
    chat: &TelegramChat,
    at_ms: i64,
) -> Result<()> {
    sqlx::query(
        "INSERT INTO telegram_chats (chat_id, contact_id, personal, language, subscribed_at, \
         updated_at, ended_at, ended_reason) VALUES ($1, $2, $3, $4, $5, $6, NULL, NULL) \
         ON CONFLICT (chat_id) DO UPDATE SET contact_id = excluded.contact_id, \
         personal = excluded.personal, language = excluded.language, \
         subscribed_at = excluded.subscribed_at, updated_at = excluded.updated_at, \
         ended_at = NULL, ended_reason = NULL",
    )
    .bind(&chat.chat_id)
    .bind(chat.contact_id)
    .bind(chat.personal)
    .bind(chat.language.code())
    .bind(chat.subscribed_at_ms)
    .bind(at_ms)
    .execute(&mut **tx)
    .await?;
    Ok(())
}

async fn link_key(store: &PostgresStore, at_ms: i64) -> Result<[u8; 32]> {
    if let Some(known) = read_link_key(store).await? {
        return Ok(known);
    }
    let fresh: [u8; 32] = rand::random();
    // Two processes starting on an empty table: the second insert waits for the first to
    // commit and inserts nothing; the read that follows, a statement of its own, sees the
    // first one's key.
    sqlx::query(
        "INSERT INTO secrets (name, value, created_at) VALUES ($1, $2, $3) \
         ON CONFLICT (name) DO NOTHING",
    )
    .bind(LINK_KEY)
    .bind(fresh.as_slice())
    .bind(at_ms)
    .execute(store.pool())
    .await?;
    read_link_key(store)
        .await?
        .ok_or_else(|| StoreError::NotFound(format!("secret {LINK_KEY}")))
}

async fn read_link_key(store: &PostgresStore) -> Result<Option<[u8; 32]>> {
    let value: Option<Vec<u8>> = sqlx::query_scalar("SELECT value FROM secrets WHERE name = $1")
        .bind(LINK_KEY)
        .fetch_optional(store.pool())
        .await?;
    value
        .map(|value| {
            value
                .try_into()
                .map_err(|_| StoreError::Corrupt(format!("secret {LINK_KEY} is not 32 bytes")))
        })
        .transpose()
}

async fn chat(store: &PostgresStore, chat_id: &str) -> Result<Option<TelegramChat>> {
    sqlx::query(&format!(
        "SELECT {CHAT_COLUMNS} FROM telegram_chats WHERE chat_id = $1"
    ))
    .bind(chat_id)
    .fetch_optional(store.pool())
    .await?
    .map(|row| chat_from_row(&row))
    .transpose()
}

async fn bind(
    store: &PostgresStore,
    mac: &str,
    contact_id: i64,
    chat_id: &str,
    language: Language,
    at_ms: i64,
) -> Result<Binding> {
    let mut tx = store.pool().begin().await?;
    lock_chats(&mut tx, &[chat_id]).await?;
    // The link's key decides, not a read before the write: of two chats using one link at
    // once, the second waits for the first's insert, then inserts nothing. A contact that
    // cannot be bound inserts nothing either.
    let inserted = sqlx::query(
        "INSERT INTO telegram_links_used (mac, contact_id, chat_id, used_at) \
         SELECT $1, id, $2, $3 FROM contacts WHERE id = $4 AND role <> $5 \
         ON CONFLICT (mac) DO NOTHING",
    )
    .bind(mac)
    .bind(chat_id)
    .bind(at_ms)
    .bind(contact_id)
    .bind(Role::Public.as_str())
    .execute(&mut *tx)
    .await?
    .rows_affected();
    if inserted == 0 {
        let used: Option<String> =
            sqlx::query_scalar("SELECT chat_id FROM telegram_links_used WHERE mac = $1")
                .bind(mac)
                .fetch_optional(&mut *tx)
                .await?;
        return Ok(match used {
            Some(used_by) => Binding::Used {
                same_chat: used_by == chat_id,
            },
            None => Binding::UnknownContact,
        });
    }
    let before = chat_in(&mut tx, chat_id).await?;
    // A chat that chose its language in the bot keeps it.
    let language = before.as_ref().map_or(language, |chat| chat.language);
    if let Some(public) = before.as_ref().filter(|chat| !chat.personal) {
        sqlx::query("UPDATE contacts SET telegram_chat_id = NULL, updated_at = $1 WHERE id = $2")
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

async fn subscribe(
    store: &PostgresStore,
    chat_id: &str,
    language: Language,
    at_ms: i64,
) -> Result<TelegramChat> {
    let mut tx = store.pool().begin().await?;
    // Without the lock, two `/start`s at once would each make the chat a public contact,
    // and it would get every public update twice.
    lock_chats(&mut tx, &[chat_id]).await?;
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
        sqlx::query_scalar("SELECT telegram_chat_id FROM contacts WHERE id = $1")
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
    mut tx: Transaction<'static, Postgres>,
    chat_id: &str,
    language: Language,
    at_ms: i64,
) -> Result<TelegramChat> {
    let contact_id: i64 = sqlx::query_scalar(
        "INSERT INTO contacts (external_id, role, first_name, last_name, language, \
         telegram_chat_id, telegram_language, created_at, updated_at) \
         VALUES ($1, 'public', '', 'Telegram', $2, $3, $2, $4, $4) RETURNING id",
    )
    .bind(format!("telegram:{chat_id}"))
    .bind(language.code())
    .bind(chat_id)
    .bind(at_ms)
    .fetch_one(&mut *tx)
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

async fn set_language(
    store: &PostgresStore,
    chat_id: &str,
    language: Language,
    at_ms: i64,
) -> Result<Option<TelegramChat>> {
    let mut tx = store.pool().begin().await?;
    lock_chats(&mut tx, &[chat_id]).await?;
    let Some(before) = chat_in(&mut tx, chat_id).await? else {
        return Ok(None);
    };
    sqlx::query("UPDATE telegram_chats SET language = $1, updated_at = $2 WHERE chat_id = $3")
        .bind(language.code())
        .bind(at_ms)
        .bind(chat_id)
        .execute(&mut *tx)
        .await?;
    sqlx::query(
        "UPDATE contacts SET telegram_language = $1, updated_at = $2 \
         WHERE telegram_chat_id = $3",
    )
    .bind(language.code())
    .bind(at_ms)
    .bind(chat_id)
    .execute(&mut *tx)
    .await?;
    tx.commit().await?;
    Ok(Some(TelegramChat { language, ..before }))
}

async fn end(
    store: &PostgresStore,
    chat_id: &str,
    reason: &str,
    at_ms: i64,
) -> Result<Option<TelegramChat>> {
    let mut tx = store.pool().begin().await?;
    lock_chats(&mut tx, &[chat_id]).await?;
    // A chat id an export gave, that never started the bot, is gone for its contacts too.
    sqlx::query(
        "UPDATE contacts SET telegram_chat_id = NULL, updated_at = $1 \
         WHERE telegram_chat_id = $2",
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
        "UPDATE telegram_chats SET ended_at = $1, ended_reason = $2, updated_at = $1 \
         WHERE chat_id = $3",
    )
    .bind(at_ms)
    .bind(reason)
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

async fn sync_channels(
    store: &PostgresStore,
    channels: &[(Language, String)],
    at_ms: i64,
) -> Result<u64> {
    let mut tx = store.pool().begin().await?;
    // Every instance syncs as it starts: one at a time, or two would each add a language's
    // channel contact, and the channel would get each public update twice.
    sqlx::query("SELECT pg_advisory_xact_lock($1, 0)")
        .bind(CHANNELS_LOCKS)
        .execute(&mut *tx)
        .await?;
    let mut changed = 0;
    for (language, chat) in channels {
        let external_id = format!("{TELEGRAM_CHANNEL_PREFIX}{}", language.code());
        let known: Option<(i64, Option<String>)> = sqlx::query_as(
            "SELECT id, telegram_chat_id FROM contacts \
             WHERE role = 'public' AND external_id = $1",
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
                sqlx::query(
                    "INSERT INTO contacts (external_id, role, first_name, last_name, \
                     language, telegram_chat_id, telegram_language, created_at, updated_at) \
                     VALUES ($1, 'public', '', 'Telegram channel', $2, $3, $2, $4, $4)",
                )
                .bind(&external_id)
                .bind(language.code())
                .bind(chat)
                .bind(at_ms)
                .execute(&mut *tx)
                .await?;
                changed += 1;
            }
        }
    }
    // A language no longer configured is posted nowhere; its contact keeps its history.
    let kept: Vec<String> = channels
        .iter()
        .map(|(language, _)| format!("{TELEGRAM_CHANNEL_PREFIX}{}", language.code()))
        .collect();
    changed += sqlx::query(
        "UPDATE contacts SET telegram_chat_id = NULL, updated_at = $1 \
         WHERE role = 'public' AND telegram_chat_id IS NOT NULL AND external_id LIKE $2 \
         AND external_id <> ALL($3)",
    )
    .bind(at_ms)
    .bind(format!("{TELEGRAM_CHANNEL_PREFIX}%"))
    .bind(kept)
    .execute(&mut *tx)
    .await?
    .rows_affected();
    tx.commit().await?;
    Ok(changed)
}

async fn readdress(
    store: &PostgresStore,
    delivery_id: i64,
    address: &str,
    detail: &str,
    at_ms: i64,
) -> Result<u64> {
    let mut tx = store.pool().begin().await?;
    // Two sends to one group may both learn that it moved: the second reads the delivery
    // after the first moved it, and finds nothing to do.
    let row =
        sqlx::query("SELECT channel, address, state FROM deliveries WHERE id = $1 FOR UPDATE")
            .bind(delivery_id)
            .fetch_optional(&mut *tx)
            .await?;
    let Some(row) = row else {
        return Err(StoreError::NotFound(format!("delivery {delivery_id}")));
    };
    let channel: String = row.try_get("channel")?;
    let old: Option<String> = row.try_get("address")?;
    let state: String = row.try_get("state")?;
    let Some(old) = old.filter(|old| old != address) else {
        return Ok(0);
    };
    let column = match ChannelKind::from_str(&channel) {
        Ok(ChannelKind::Email) => "email",
        Ok(ChannelKind::Sms) => "mobile",
        Ok(ChannelKind::Telegram) => "telegram_chat_id",
        Err(_) => return Err(StoreError::NotFound(format!("channel {channel:?}"))),
    };
    if column == "telegram_chat_id" {
        lock_chats(&mut tx, &[&old, address]).await?;
    }
    let contacts = sqlx::query(&format!(
        "UPDATE contacts SET {column} = $1, updated_at = $2 WHERE {column} = $3"
    ))
    .bind(address)
    .bind(at_ms)
    .bind(&old)
    .execute(&mut *tx)
    .await?
    .rows_affected();
    if column == "telegram_chat_id" {
        // The subscription follows the chat, so that /stop and "blocked" from the
        // supergroup end it.
        sqlx::query(
            "UPDATE telegram_chats SET chat_id = $1, updated_at = $2 WHERE chat_id = $3 \
             AND NOT EXISTS (SELECT 1 FROM telegram_chats WHERE chat_id = $1)",
        )
        .bind(address)
        .bind(at_ms)
        .bind(&old)
        .execute(&mut *tx)
        .await?;
    }
    sqlx::query(
        "UPDATE deliveries SET address = $1 WHERE channel = $2 AND address = $3 \
         AND (id = $4 OR state IN ('pending', 'sending', 'failed'))",
    )
    .bind(address)
    .bind(&channel)
    .bind(&old)
    .bind(delivery_id)
    .execute(&mut *tx)
    .await?;
    sqlx::query(
        "INSERT INTO delivery_events (delivery_id, at, from_state, to_state, detail) \
         VALUES ($1, $2, $3, $3, $4)",
    )
    .bind(delivery_id)
    .bind(at_ms)
    .bind(&state)
    .bind(detail)
    .execute(&mut *tx)
    .await?;
    tx.commit().await?;
    Ok(contacts)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::postgres::testing;

    async fn patient(store: &PostgresStore, external_id: &str) -> i64 {
        sqlx::query_scalar(
            "INSERT INTO contacts (external_id, role, first_name, last_name, created_at, \
             updated_at) VALUES ($1, 'patient', 'Ann', 'Peeters', 0, 0) RETURNING id",
        )
        .bind(external_id)
        .fetch_one(store.pool())
        .await
        .expect("a patient")
    }

    #[tokio::test]
    async fn processes_asking_for_the_link_key_at_once_get_the_same_one() {
        let Some(store) = testing::store("link_key_race").await else {
            return;
        };
        let keys: Vec<[u8; 32]> = futures::future::join_all((0..8).map(|n| link_key(&store, n)))
            .await
            .into_iter()
            .map(|key| key.expect("link key"))
            .collect();
        assert!(keys.iter().all(|key| *key == keys[0]));
        assert_eq!(link_key(&store, 100).await.expect("again"), keys[0]);
    }

    #[tokio::test]
    async fn a_link_binds_one_chat_when_chats_race_for_it() {
        let Some(store) = testing::store("bind_race").await else {
            return;
        };
        let contact = patient(&store, "P1").await;
        let chats: Vec<String> = (0..6).map(|n| format!("10{n}")).collect();
        let outcomes = futures::future::join_all(
            chats
                .iter()
                .map(|chat| bind(&store, "mac", contact, chat, Language::Nl, 1_000)),
        )
        .await;
        let bound: Vec<&TelegramChat> = outcomes
            .iter()
            .filter_map(|outcome| match outcome {
                Ok(Binding::Bound(chat)) => Some(chat),
                _ => None,
            })
            .collect();
        assert_eq!(bound.len(), 1, "{outcomes:?}");
        let others = outcomes
            .iter()
            .filter(|outcome| matches!(outcome, Ok(Binding::Used { same_chat: false })))
            .count();
        assert_eq!(others, chats.len() - 1);
        let address: Option<String> =
            sqlx::query_scalar("SELECT telegram_chat_id FROM contacts WHERE id = $1")
                .bind(contact)
                .fetch_one(store.pool())
                .await
                .expect("address");
        assert_eq!(address.as_deref(), Some(bound[0].chat_id.as_str()));
        assert_eq!(
            bind(
                &store,
                "mac",
                contact,
                &bound[0].chat_id,
                Language::Fr,
                2_000
            )
            .await
            .expect("again"),
            Binding::Used { same_chat: true }
        );
    }

    #[tokio::test]
    async fn a_start_tapped_twice_makes_one_public_follower() {
        let Some(store) = testing::store("subscribe_race").await else {
            return;
        };
        let outcomes = futures::future::join_all(
            (0..4).map(|_| subscribe(&store, "200", Language::Fr, 1_000)),
        )
        .await;
        let chats: Vec<TelegramChat> = outcomes
            .into_iter()
            .map(|outcome| outcome.expect("subscribe"))
            .collect();
        assert!(chats.iter().all(|chat| *chat == chats[0]));
        assert!(!chats[0].personal);
        let followers: i64 =
            sqlx::query_scalar("SELECT COUNT(*) FROM contacts WHERE telegram_chat_id = '200'")
                .fetch_one(store.pool())
                .await
                .expect("count");
        assert_eq!(followers, 1);
        let stored = chat(&store, "200").await.expect("chat").expect("stored");
        assert_eq!(stored, chats[0]);
    }

    #[tokio::test]
    async fn a_language_left_out_of_the_channels_is_posted_nowhere_and_a_moved_group_is_followed() {
        let Some(store) = testing::store("channels_readdress").await else {
            return;
        };
        let both = [
            (Language::Nl, "-100".to_string()),
            (Language::Fr, "-200".to_string()),
        ];
        assert_eq!(sync_channels(&store, &both, 1_000).await.expect("sync"), 2);
        assert_eq!(sync_channels(&store, &both, 2_000).await.expect("again"), 0);
        let dutch = [(Language::Nl, "-100".to_string())];
        assert_eq!(
            sync_channels(&store, &dutch, 3_000).await.expect("fewer"),
            1
        );
        let posted: Vec<String> = sqlx::query_scalar(
            "SELECT external_id FROM contacts WHERE telegram_chat_id IS NOT NULL \
             ORDER BY external_id",
        )
        .fetch_all(store.pool())
        .await
        .expect("posted");
        assert_eq!(posted, ["telegram-channel:nl"]);

        let follower = subscribe(&store, "300", Language::En, 4_000)
            .await
            .expect("subscribe");
        sqlx::raw_sql(
            "INSERT INTO incidents (id, title, opened_at) VALUES ('i', 'I', 0); \
             INSERT INTO updates (id, incident_id, kind, audiences, channels, appointments, \
             state, author, created_at) \
             VALUES (1, 'i', 'alert', 'public', 'telegram', 'as-planned', 'sending', 'a', 0)",
        )
        .execute(store.pool())
        .await
        .expect("an update");
        let delivery: i64 = sqlx::query_scalar(
            "INSERT INTO deliveries (update_id, contact_id, channel, address, language, state, \
             updated_at) VALUES (1, $1, 'telegram', '300', 'en', 'sending', 0) RETURNING id",
        )
        .bind(follower.contact_id)
        .fetch_one(store.pool())
        .await
        .expect("a delivery");
        let moved = readdress(&store, delivery, "-1300", "migrated", 5_000)
            .await
            .expect("readdress");
        assert_eq!(moved, 1);
        assert!(chat(&store, "300").await.expect("old").is_none());
        let chat = chat(&store, "-1300").await.expect("new").expect("moved");
        assert_eq!(chat.contact_id, follower.contact_id);
        assert_eq!(
            readdress(&store, delivery, "-1300", "again", 6_000)
                .await
                .expect("again"),
            0
        );
    }
}
