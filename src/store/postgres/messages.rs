//! Messages in PostgreSQL (the codec is `store::messages`): dictionaries created as a plan
//! needs them, and read once for every connection of the process.

use crate::domain::RenderedMessage;
use crate::store::messages::{Dictionaries, MessageRow, Packed, Packer};
use crate::store::{NewDelivery, Result};
use sqlx::PgConnection;
use std::collections::HashMap;

/// `row`'s message packed, its dictionary written first if this plan has none yet; `None`
/// when the message is short enough to stay plain text.
pub(super) async fn pack(
    packer: &mut Packer,
    connection: &mut PgConnection,
    row: &NewDelivery,
) -> Result<Option<Packed>> {
    if let Some(bytes) = packer.missing_dictionary(row) {
        let id: i64 =
            sqlx::query_scalar("INSERT INTO message_dictionaries (bytes) VALUES ($1) RETURNING id")
                .bind(&bytes)
                .fetch_one(&mut *connection)
                .await?;
        packer.add_dictionary(row, id, bytes);
    }
    Ok(packer.pack(row))
}

#[derive(sqlx::FromRow)]
struct StoredMessage {
    delivery_id: i64,
    subject: Option<String>,
    body: Vec<u8>,
    body_html: Option<Vec<u8>>,
    dictionary_id: Option<i64>,
}

/// The messages of `ids` (planned, so they never change), unpacked, by delivery id.
pub(super) async fn read(
    dictionaries: &Dictionaries,
    connection: &mut PgConnection,
    ids: &[i64],
) -> Result<HashMap<i64, RenderedMessage>> {
    let rows: Vec<StoredMessage> = sqlx::query_as(
        "SELECT delivery_id, subject, body, body_html, dictionary_id FROM delivery_messages \
         WHERE delivery_id = ANY($1)",
    )
    .bind(ids)
    .fetch_all(&mut *connection)
    .await?;
    let rows = rows
        .into_iter()
        .map(|row| {
            let message = MessageRow {
                subject: row.subject,
                body: row.body,
                body_html: row.body_html,
                dictionary_id: row.dictionary_id,
            };
            (row.delivery_id, message)
        })
        .collect();
    open(dictionaries, connection, rows).await
}

/// Unpacks `rows` (keyed by delivery id), reading the dictionaries they need once.
pub(super) async fn open(
    dictionaries: &Dictionaries,
    connection: &mut PgConnection,
    rows: Vec<(i64, MessageRow)>,
) -> Result<HashMap<i64, RenderedMessage>> {
    let missing = dictionaries.missing(&rows);
    if !missing.is_empty() {
        dictionaries.keep(
            sqlx::query_as("SELECT id, bytes FROM message_dictionaries WHERE id = ANY($1)")
                .bind(&missing)
                .fetch_all(&mut *connection)
                .await?,
        );
    }
    dictionaries.unpack(rows)
}
