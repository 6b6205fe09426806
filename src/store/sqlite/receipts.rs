//! Delivery receipts: found by delivery id or gateway id, stored once in `receipts`, applied
//! along the state machine — a batch in one transaction, set-wise like `record`.

use super::claim::apply_transitions;
use super::lists::{push_in, KEYS_PER_LOOKUP, ROWS_PER_STATEMENT};
use super::SqliteStore;
use crate::domain::{DeliveryState, GatewayId};
use crate::store::{Mark, Receipt, ReceiptEffect, Result, StoreError, Transition};
use sqlx::{QueryBuilder, Sqlite, Transaction};
use std::collections::{HashMap, HashSet};

/// A delivery as a receipt finds it: its current state and gateway id.
struct Found {
    state: DeliveryState,
    gateway_id: Option<String>,
}

fn gateway_id(receipt: &Receipt) -> Option<String> {
    receipt
        .message_id
        .as_ref()
        .map(|message_id| GatewayId::new(&receipt.gateway, message_id).to_string())
}

fn detail(receipt: &Receipt) -> String {
    let mut detail = format!("{} receipt: {}", receipt.gateway, receipt.status);
    if let Some(code) = &receipt.code {
        detail.push_str(&format!(" (code {code})"));
    }
    if let Some(text) = receipt.text.as_deref().filter(|text| !text.is_empty()) {
        detail.push_str(&format!(": {text}"));
    }
    detail
}

async fn lookup<T>(
    tx: &mut Transaction<'static, Sqlite>,
    column: &str,
    keys: Vec<T>,
    found: &mut HashMap<i64, Found>,
    by_gateway_id: &mut HashMap<String, i64>,
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
            let state = state
                .parse()
                .map_err(|error| StoreError::Corrupt(format!("delivery {id}: {error}")))?;
            if let Some(gateway_id) = &gateway_id {
                by_gateway_id.insert(gateway_id.clone(), id);
            }
            found.insert(id, Found { state, gateway_id });
        }
    }
    Ok(())
}

/// The delivery a receipt names, if it names one. With both a delivery id and a message id,
/// both must agree — except that a verified receipt may reach a delivery whose send is not
/// recorded yet (no gateway id).
fn resolve(
    receipt: &Receipt,
    found: &HashMap<i64, Found>,
    by_gateway_id: &HashMap<String, i64>,
) -> Option<i64> {
    match (receipt.delivery_id, gateway_id(receipt)) {
        (Some(id), Some(gateway_id)) => found.get(&id).and_then(|delivery| {
            let agrees = match &delivery.gateway_id {
                Some(known) => *known == gateway_id,
                None => receipt.verified,
            };
            agrees.then_some(id)
        }),
        (Some(id), None) => (receipt.verified && found.contains_key(&id)).then_some(id),
        (None, Some(gateway_id)) => by_gateway_id.get(&gateway_id).copied(),
        (None, None) => None,
    }
}

pub(super) async fn record_receipts(
    store: &SqliteStore,
    receipts: &[Receipt],
) -> Result<Vec<ReceiptEffect>> {
    let mut effects = vec![ReceiptEffect::Unknown; receipts.len()];
    if receipts.is_empty() {
        return Ok(effects);
    }
    let (_turn, mut tx) = store.begin_write().await?;
    let mut found = HashMap::new();
    let mut by_gateway_id = HashMap::new();
    let ids = receipts
        .iter()
        .filter_map(|receipt| receipt.delivery_id)
        .collect::<Vec<i64>>();
    lookup(&mut tx, "id", ids, &mut found, &mut by_gateway_id).await?;
    let gateway_ids = receipts.iter().filter_map(gateway_id).collect::<Vec<_>>();
    lookup(
        &mut tx,
        "gateway_id",
        gateway_ids,
        &mut found,
        &mut by_gateway_id,
    )
    .await?;
    let resolved: Vec<(usize, i64)> = receipts
        .iter()
        .enumerate()
        .filter_map(|(index, receipt)| {
            resolve(receipt, &found, &by_gateway_id).map(|id| (index, id))
        })
        .collect();

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

    // Each new receipt moves its delivery if the state machine allows, else is an event.
    let mut transitions = Vec::new();
    let mut moved = Vec::new();
    let mut noted = Vec::new();
    for (index, id) in resolved {
        let receipt = &receipts[index];
        let key = (id, receipt.gateway.clone(), receipt.status.clone());
        if !new.remove(&key) {
            effects[index] = ReceiptEffect::Duplicate;
            continue;
        }
        let Some(delivery) = found.get_mut(&id) else {
            continue;
        };
        if receipt.state != DeliveryState::Sent && delivery.state.can_become(receipt.state) {
            transitions.push(Transition {
                delivery_id: id,
                from: delivery.state,
                to: receipt.state,
                at_ms: receipt.at_ms,
                next_attempt_at_ms: None,
                gateway_id: gateway_id(receipt),
                detail: Some(detail(receipt)),
                mark: Mark::Nothing,
                lease_until_ms: None,
            });
            moved.push(index);
            delivery.state = receipt.state;
        } else {
            noted.push((id, delivery.state, detail(receipt), receipt.at_ms));
            effects[index] = ReceiptEffect::Noted;
        }
    }
    let applied = apply_transitions(&mut tx, &transitions).await?;
    for (index, applied) in moved.into_iter().zip(applied) {
        // Under the write lock, with the states just read, every transition applies.
        effects[index] = if applied {
            ReceiptEffect::Applied
        } else {
            ReceiptEffect::Noted
        };
    }
    for chunk in noted.chunks(ROWS_PER_STATEMENT) {
        let mut events = QueryBuilder::<Sqlite>::new(
            "INSERT INTO delivery_events (delivery_id, at, from_state, to_state, detail) ",
        );
        events.push_values(chunk, |mut values, (id, state, detail, at_ms)| {
            values
                .push_bind(*id)
                .push_bind(*at_ms)
                .push_bind(state.as_str())
                .push_bind(state.as_str())
                .push_bind(detail.as_str());
        });
        events.build().execute(&mut *tx).await?;
    }
    tx.commit().await?;
    Ok(effects)
}
