//! How rendered messages are kept, the same for every backend: short ones as plain text, long
//! ones LZ4-compressed against a dictionary (`message_dictionaries`). Each store writes and
//! reads the rows with its own SQL (`sqlite/messages.rs`, `postgres/messages.rs`).
//!
//! Every e-mail of one update in one language repeats the same few kilobytes (the update's
//! body, the fixed phrases, the HTML frame). The first such message becomes the dictionary of
//! its (update, channel, language); the others are stored as what differs from it, ~250 bytes
//! instead of ~4 KB. Planning writes a tenth of what it did, and the database's log a tenth.

use crate::domain::{ChannelKind, Language, RenderedMessage};
use crate::store::{NewDelivery, Result, StoreError};
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
    /// The bytes of the dictionary `row` needs and that this plan has not created yet: the
    /// store writes them, then hands their id to [`Packer::add_dictionary`]. None when the
    /// message stays plain text or its dictionary exists.
    pub fn missing_dictionary(&self, row: &NewDelivery) -> Option<Vec<u8>> {
        let message = &row.content;
        let html = message.body_html.as_deref().unwrap_or_default();
        if !long(message) || self.dictionaries.contains_key(&key(row)) {
            return None;
        }
        Some([message.body.as_bytes(), html.as_bytes()].concat())
    }

    pub fn add_dictionary(&mut self, row: &NewDelivery, id: i64, bytes: Vec<u8>) {
        self.dictionaries.insert(key(row), (id, bytes));
    }

    /// `None` when the message is short enough to stay plain text (or, which the store
    /// prevents with [`Packer::missing_dictionary`], its dictionary is not written yet).
    pub fn pack(&self, row: &NewDelivery) -> Option<Packed> {
        let message = &row.content;
        if !long(message) {
            return None;
        }
        let (dictionary_id, dictionary) = self.dictionaries.get(&key(row))?;
        Some(Packed {
            dictionary_id: *dictionary_id,
            body: lz4_flex::block::compress_prepend_size_with_dict(
                message.body.as_bytes(),
                dictionary,
            ),
            body_html: message.body_html.as_ref().map(|html| {
                lz4_flex::block::compress_prepend_size_with_dict(html.as_bytes(), dictionary)
            }),
        })
    }
}

fn long(message: &RenderedMessage) -> bool {
    let html = message.body_html.as_deref().unwrap_or_default();
    message.body.len() + html.len() >= PACK_FROM
}

fn key(row: &NewDelivery) -> (i64, ChannelKind, Language) {
    (row.update_id, row.channel, row.language)
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
    /// The dictionaries `rows` need that are not read yet, each once: the store reads them
    /// and hands them to [`Dictionaries::keep`] before [`Dictionaries::unpack`].
    pub fn missing(&self, rows: &[(i64, MessageRow)]) -> Vec<i64> {
        let cache = self.lock();
        let mut missing: Vec<i64> = rows
            .iter()
            .filter_map(|(_, row)| row.dictionary_id)
            .filter(|id| !cache.contains_key(id))
            .collect();
        missing.sort_unstable();
        missing.dedup();
        missing
    }

    pub fn keep(&self, found: Vec<(i64, Vec<u8>)>) {
        let mut cache = self.lock();
        for (id, bytes) in found {
            cache.insert(id, Arc::from(bytes));
        }
    }

    /// The messages of `rows` (keyed by delivery id), unpacked.
    pub fn unpack(&self, rows: Vec<(i64, MessageRow)>) -> Result<HashMap<i64, RenderedMessage>> {
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
