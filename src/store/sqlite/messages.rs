//! How rendered messages are kept: short ones as plain text, long ones LZ4-compressed against
//! a dictionary (migration 0006).
//!
//! Every e-mail of one update in one language repeats the same few kilobytes (the update's
//! body, the fixed phrases, the HTML frame). The first such message becomes the dictionary of
//! its (update, channel, language); the others are stored as what differs from it, ~250 bytes
//! instead of ~4 KB. Planning writes a tenth of what it did, and SQLite's WAL copies a tenth.

use super::lists::push_in;
use crate::domain::{ChannelKind, Language, RenderedMessage};
use crate::store::{NewDelivery, Result, StoreError};
use sqlx::{QueryBuilder, Sqlite, SqliteConnection};
use std::collections::hash_map::Entry;
use std::collections::HashMap;
use std::sync::{Arc, Mutex};

/// Below this many bytes (text and HTML together) a message stays readable text: an SMS gains
/// little from compression and is often looked at.
const PACK_FROM: usize = 1024;

/// One message's columns as they are written.
pub(super) struct Packed {
    pub dictionary_id: i64,
    pub body: Vec<u8>,
    pub body_html: Option<Vec<u8>>,
}

/// Used for one planning transaction: dictionaries are created in it, on first need.
#[derive(Default)]
pub(super) struct Packer {
    dictionaries: HashMap<(i64, ChannelKind, Language), (i64, Vec<u8>)>,
}

impl Packer {
    /// `None` when the message is short enough to stay plain text.
    pub async fn pack(
        &mut self,
        connection: &mut SqliteConnection,
        row: &NewDelivery,
    ) -> Result<Option<Packed>> {
        let message = &row.content;
        let html = message.body_html.as_deref().unwrap_or_default();
        if message.body.len() + html.len() < PACK_FROM {
            return Ok(None);
        }
        let key = (row.update_id, row.channel, row.language);
        let (dictionary_id, dictionary) = match self.dictionaries.entry(key) {
            Entry::Occupied(entry) => entry.into_mut(),
            Entry::Vacant(entry) => {
                let bytes = [message.body.as_bytes(), html.as_bytes()].concat();
                let id: i64 = sqlx::query_scalar(
                    "INSERT INTO message_dictionaries (bytes) VALUES (?) RETURNING id",
                )
                .bind(&bytes)
                .fetch_one(&mut *connection)
                .await?;
                entry.insert((id, bytes))
            }
        };
        Ok(Some(Packed {
            dictionary_id: *dictionary_id,
            body: lz4_flex::block::compress_prepend_size_with_dict(
                message.body.as_bytes(),
                dictionary,
            ),
            body_html: message.body_html.as_ref().map(|html| {
                lz4_flex::block::compress_prepend_size_with_dict(html.as_bytes(), dictionary)
            }),
        }))
    }
}

/// A `delivery_messages` row as read: plain text or packed.
pub(super) struct MessageRow {
    pub subject: Option<String>,
    pub body: Vec<u8>,
    pub body_html: Option<Vec<u8>>,
    pub dictionary_id: Option<i64>,
}

/// Dictionaries never change once written, so every connection may share what was read.
#[derive(Default)]
pub(super) struct Dictionaries {
    cache: Mutex<HashMap<i64, Arc<[u8]>>>,
}

impl Dictionaries {
    /// Unpacks `rows` (keyed by delivery id), reading the dictionaries they need once.
    pub async fn open(
        &self,
        connection: &mut SqliteConnection,
        rows: Vec<(i64, MessageRow)>,
    ) -> Result<HashMap<i64, RenderedMessage>> {
        let mut missing: Vec<i64> = {
            let cache = self.lock();
            rows.iter()
                .filter_map(|(_, row)| row.dictionary_id)
                .filter(|id| !cache.contains_key(id))
                .collect()
        };
        missing.sort_unstable();
        missing.dedup();
        if !missing.is_empty() {
            let mut query =
                QueryBuilder::<Sqlite>::new("SELECT id, bytes FROM message_dictionaries WHERE id");
            push_in(&mut query, missing.iter().copied());
            let found: Vec<(i64, Vec<u8>)> =
                query.build_query_as().fetch_all(&mut *connection).await?;
            let mut cache = self.lock();
            for (id, bytes) in found {
                cache.insert(id, Arc::from(bytes));
            }
        }
        let cache = self.lock();
        rows.into_iter()
            .map(|(delivery_id, row)| {
                let dictionary = match row.dictionary_id {
                    None => None,
                    Some(id) => Some(cache.get(&id).ok_or_else(|| {
                        StoreError::Corrupt(format!(
                            "delivery {delivery_id}'s message needs dictionary {id}, which is missing"
                        ))
                    })?),
                };
                let text = |bytes: Vec<u8>| decode(delivery_id, dictionary.map(|d| &d[..]), bytes);
                let message = RenderedMessage {
                    subject: row.subject,
                    body: text(row.body)?,
                    body_html: row.body_html.map(text).transpose()?,
                };
                Ok((delivery_id, message))
            })
            .collect()
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<i64, Arc<[u8]>>> {
        // The cache holds immutable copies of rows: one left behind by a panic is still right.
        self.cache
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }
}

fn decode(delivery_id: i64, dictionary: Option<&[u8]>, bytes: Vec<u8>) -> Result<String> {
    let bytes = match dictionary {
        None => bytes,
        Some(dictionary) => lz4_flex::block::decompress_size_prepended_with_dict(
            &bytes, dictionary,
        )
        .map_err(|error| {
            StoreError::Corrupt(format!(
                "delivery {delivery_id}'s message cannot be unpacked: {error}"
            ))
        })?,
    };
    String::from_utf8(bytes)
        .map_err(|_| StoreError::Corrupt(format!("delivery {delivery_id}'s message is not UTF-8")))
}
