//! Messages in SQLite (the codec is `store::messages`): dictionaries created as a plan needs
//! them, and read once for every connection.

use super::lists::push_in;
use crate::domain::RenderedMessage;
use crate::store::messages::{Dictionaries, MessageRow, Packed, Packer};
use crate::store::{NewDelivery, Result};
use sqlx::{QueryBuilder, Sqlite, SqliteConnection};
use std::collections::HashMap;

/// `row`'s message packed, its dictionary written first if this plan has none yet; `None`
/// when the message is short enough to stay plain text.
pub(super) async fn pack(
    packer: &mut Packer,
    connection: &mut SqliteConnection,
    row: &NewDelivery,
) -> Result<Option<Packed>> {
    if let Some(bytes) = packer.missing_dictionary(row) {
        let id: i64 =
            sqlx::query_scalar("INSERT INTO message_dictionaries (bytes) VALUES (?) RETURNING id")
                .bind(&bytes)
                .fetch_one(&mut *connection)
                .await?;
        packer.add_dictionary(row, id, bytes);
    }
    Ok(packer.pack(row))
}

/// Unpacks `rows` (keyed by delivery id), reading the dictionaries they need once.
pub(super) async fn open(
    dictionaries: &Dictionaries,
    connection: &mut SqliteConnection,
    rows: Vec<(i64, MessageRow)>,
) -> Result<HashMap<i64, RenderedMessage>> {
    let missing = dictionaries.missing(&rows);
    if !missing.is_empty() {
        let mut query =
            QueryBuilder::<Sqlite>::new("SELECT id, bytes FROM message_dictionaries WHERE id");
        push_in(&mut query, missing);
        dictionaries.keep(query.build_query_as().fetch_all(&mut *connection).await?);
    }
    dictionaries.unpack(rows)
}
