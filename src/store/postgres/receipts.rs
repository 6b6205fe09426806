//! Delivery receipts in PostgreSQL (what they do is `store::receipts`), taken by any number
//! of serve instances at once: the deliveries a batch names are locked as they are read, so
//! their states stay as read until the commit, and each receipt is stored once because the
//! insert's `ON CONFLICT DO NOTHING` says so, never a read before it.

use super::claim::apply_transitions;
use super::PostgresStore;
use crate::store::receipts::{gateway_id, Named};
use crate::store::{Receipt, ReceiptEffect, ReceiptStore, Result};
use async_trait::async_trait;
use std::collections::HashSet;

#[async_trait]
impl ReceiptStore for PostgresStore {
    async fn record_receipts(&self, receipts: &[Receipt]) -> Result<Vec<ReceiptEffect>> {
        record_receipts(self, receipts).await
    }
}

async fn record_receipts(
    store: &PostgresStore,
    receipts: &[Receipt],
) -> Result<Vec<ReceiptEffect>> {
    if receipts.is_empty() {
        return Ok(Vec::new());
    }
    let mut tx = store.pool().begin().await?;
    let ids: Vec<i64> = receipts
        .iter()
        .filter_map(|receipt| receipt.delivery_id)
        .collect();
    let gateway_ids: Vec<String> = receipts.iter().filter_map(gateway_id).collect();
    // In id order, as `record` locks them: a receipt and a worker's record of the same
    // delivery wait for each other instead of deadlocking.
    let found: Vec<(i64, String, Option<String>)> = sqlx::query_as(
        "SELECT id, state, gateway_id FROM deliveries \
         WHERE id = ANY($1) OR gateway_id = ANY($2) ORDER BY id FOR NO KEY UPDATE",
    )
    .bind(ids)
    .bind(gateway_ids)
    .fetch_all(&mut *tx)
    .await?;
    let mut named = Named::default();
    for (id, state, gateway_id) in found {
        named.add(id, &state, gateway_id)?;
    }
    let resolved = named.resolve_all(receipts);

    // Stored once: what the insert did not return was there already, or is another
    // instance's, which this insert waited for.
    let new: HashSet<(i64, String, String)> = if resolved.is_empty() {
        HashSet::new()
    } else {
        let receipt = |index: &usize| &receipts[*index];
        let inserted: Vec<(i64, String, String)> = sqlx::query_as(
            "INSERT INTO receipts (delivery_id, gateway, message_id, status, state, code, text, \
             received_at) \
             SELECT * FROM UNNEST($1::bigint[], $2::text[], $3::text[], $4::text[], $5::text[], \
               $6::text[], $7::text[], $8::bigint[]) \
             ON CONFLICT (delivery_id, gateway, status) DO NOTHING \
             RETURNING delivery_id, gateway, status",
        )
        .bind(resolved.iter().map(|(_, id)| *id).collect::<Vec<_>>())
        .bind(
            resolved
                .iter()
                .map(|(index, _)| receipt(index).gateway.as_str())
                .collect::<Vec<_>>(),
        )
        .bind(
            resolved
                .iter()
                .map(|(index, _)| receipt(index).message_id.as_deref())
                .collect::<Vec<_>>(),
        )
        .bind(
            resolved
                .iter()
                .map(|(index, _)| receipt(index).status.as_str())
                .collect::<Vec<_>>(),
        )
        .bind(
            resolved
                .iter()
                .map(|(index, _)| receipt(index).state.as_str())
                .collect::<Vec<_>>(),
        )
        .bind(
            resolved
                .iter()
                .map(|(index, _)| receipt(index).code.as_deref())
                .collect::<Vec<_>>(),
        )
        .bind(
            resolved
                .iter()
                .map(|(index, _)| receipt(index).text.as_deref())
                .collect::<Vec<_>>(),
        )
        .bind(
            resolved
                .iter()
                .map(|(index, _)| receipt(index).at_ms)
                .collect::<Vec<_>>(),
        )
        .fetch_all(&mut *tx)
        .await?;
        inserted.into_iter().collect()
    };

    let decision = named.decide(receipts, resolved, new);
    let applied = apply_transitions(&mut tx, &decision.transitions).await?;
    if !decision.noted.is_empty() {
        let noted = &decision.noted;
        sqlx::query(
            "INSERT INTO delivery_events (delivery_id, at, from_state, to_state, detail) \
             SELECT t.id, t.at, t.state, t.state, t.detail \
             FROM UNNEST($1::bigint[], $2::bigint[], $3::text[], $4::text[]) \
               AS t(id, at, state, detail)",
        )
        .bind(noted.iter().map(|n| n.delivery_id).collect::<Vec<_>>())
        .bind(noted.iter().map(|n| n.at_ms).collect::<Vec<_>>())
        .bind(noted.iter().map(|n| n.state.as_str()).collect::<Vec<_>>())
        .bind(noted.iter().map(|n| n.detail.as_str()).collect::<Vec<_>>())
        .execute(&mut *tx)
        .await?;
    }
    tx.commit().await?;
    Ok(decision.effects(applied))
}

#[cfg(test)]
mod tests {
    use super::super::queue::fixture::{broadcast, events, T0};
    use super::super::testing;
    use crate::domain::DeliveryState;
    use crate::store::{Mark, QueueStore, Receipt, ReceiptEffect, ReceiptStore, Transition};
    use std::sync::Arc;

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_receipt_received_by_two_instances_at_once_applies_once() {
        let Some(store) = testing::store("receipt_at_once").await else {
            return;
        };
        let store = Arc::new(store);
        let update = broadcast(&store, 1).await;
        let claimed = store
            .claim_due(update, T0, T0 + 60_000, 1)
            .await
            .expect("claim")
            .remove(0);
        let sent = Transition {
            delivery_id: claimed.id,
            from: DeliveryState::Sending,
            to: DeliveryState::Sent,
            at_ms: T0 + 1,
            next_attempt_at_ms: None,
            gateway_id: Some("kannel:m-1".to_string()),
            detail: None,
            mark: Mark::Nothing,
            lease_until_ms: Some(claimed.lease_until_ms),
        };
        assert_eq!(store.record(&[sent]).await.expect("sent"), [true]);
        let receipt = Receipt {
            gateway: "kannel".to_string(),
            message_id: Some("m-1".to_string()),
            delivery_id: None,
            verified: true,
            status: "1".to_string(),
            state: DeliveryState::Delivered,
            code: None,
            text: None,
            at_ms: T0 + 2,
        };
        let instance = |store: Arc<super::PostgresStore>, receipt: Receipt| async move {
            store.record_receipts(&[receipt]).await.expect("receipts")
        };
        let (first, second) = tokio::join!(
            tokio::spawn(instance(Arc::clone(&store), receipt.clone())),
            tokio::spawn(instance(Arc::clone(&store), receipt))
        );
        let mut effects = [first.expect("first")[0], second.expect("second")[0]];
        effects.sort_by_key(|effect| *effect == ReceiptEffect::Duplicate);
        assert_eq!(effects, [ReceiptEffect::Applied, ReceiptEffect::Duplicate]);
        let delivered = events(&store, claimed.id)
            .await
            .into_iter()
            .filter(|(_, to, _)| to == "delivered")
            .count();
        assert_eq!(delivered, 1);
        let stored: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM receipts")
            .fetch_one(store.pool())
            .await
            .expect("count");
        assert_eq!(stored, 1);
    }
}
