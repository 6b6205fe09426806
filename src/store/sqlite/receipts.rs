//! Delivery receipts in SQLite (what they do is `store::receipts`): found by delivery id or
//! gateway id, stored once in `receipts`, applied along the state machine — a batch in one
//! transaction, set-wise like `record`.

use super::claim::apply_transitions;
use super::lists::{push_in, KEYS_PER_LOOKUP, ROWS_PER_STATEMENT};
use super::SqliteStore;
use crate::store::receipts::{gateway_id, Named};
use crate::store::{Receipt, ReceiptEffect, Result};
use sqlx::{QueryBuilder, Sqlite, Transaction};
use std::collections::HashSet;

async fn lookup<T>(
    tx: &mut Transaction<'static, Sqlite>,
    column: &str,
    keys: Vec<T>,
    named: &mut Named,
) -> Result<()>
where
    T: for<'q> sqlx::Encode<'q, Sqlite> + sqlx::Type<Sqlite> + Clone + Send + 'static,
{
    for chunk in keys.chunks(KEYS_PER_LOOKUP) {
        let mut query = QueryBuilder::<Sqlite>::new(format!(
            "SELECT id, state, gateway_id FROM deliveries WHERE {column}"
        ));
        push_in(&mut query, chunk.iter().cloned());
        let rows: Vec<(i64, String, Option<String>)> =
            query.build_query_as().fetch_all(&mut **tx).await?;
        for (id, state, gateway_id) in rows {
            named.add(id, &state, gateway_id)?;
        }
    }
    Ok(())
}

pub(super) async fn record_receipts(
    store: &SqliteStore,
    receipts: &[Receipt],
) -> Result<Vec<ReceiptEffect>> {
    if receipts.is_empty() {
        return Ok(Vec::new());
    }
    let (_turn, mut tx) = store.begin_write().await?;
    let mut named = Named::default();
    let ids = receipts
        .iter()
        .filter_map(|receipt| receipt.delivery_id)
        .collect::<Vec<i64>>();
    lookup(&mut tx, "id", ids, &mut named).await?;
    let gateway_ids = receipts.iter().filter_map(gateway_id).collect::<Vec<_>>();
    lookup(&mut tx, "gateway_id", gateway_ids, &mut named).await?;
    let resolved = named.resolve_all(receipts);

    // Store each receipt once; what the insert did not return was there already.
    let mut new: HashSet<(i64, String, String)> = HashSet::new();
    for chunk in resolved.chunks(ROWS_PER_STATEMENT) {
        let mut insert = QueryBuilder::<Sqlite>::new(
            "INSERT INTO receipts (delivery_id, gateway, message_id, status, state, code, text, \
             received_at) ",
        );
        insert.push_values(chunk, |mut values, (index, id)| {
            let receipt = &receipts[*index];
            values
                .push_bind(*id)
                .push_bind(receipt.gateway.as_str())
                .push_bind(receipt.message_id.as_deref())
                .push_bind(receipt.status.as_str())
                .push_bind(receipt.state.as_str())
                .push_bind(receipt.code.as_deref())
                .push_bind(receipt.text.as_deref())
                .push_bind(receipt.at_ms);
        });
        insert.push(
            " ON CONFLICT (delivery_id, gateway, status) DO NOTHING \
             RETURNING delivery_id, gateway, status",
        );
        let inserted: Vec<(i64, String, String)> =
            insert.build_query_as().fetch_all(&mut *tx).await?;
        new.extend(inserted);
    }

    let decision = named.decide(receipts, resolved, new);
    let applied = apply_transitions(&mut tx, &decision.transitions).await?;
    for chunk in decision.noted.chunks(ROWS_PER_STATEMENT) {
        let mut events = QueryBuilder::<Sqlite>::new(
            "INSERT INTO delivery_events (delivery_id, at, from_state, to_state, detail) ",
        );
        events.push_values(chunk, |mut values, noted| {
            values
                .push_bind(noted.delivery_id)
                .push_bind(noted.at_ms)
                .push_bind(noted.state.as_str())
                .push_bind(noted.state.as_str())
                .push_bind(noted.detail.as_str());
        });
        events.build().execute(&mut *tx).await?;
    }
    tx.commit().await?;
    Ok(decision.effects(applied))
}
