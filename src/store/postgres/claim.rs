//! Claiming due deliveries for sending, and recording what became of them along the state
//! machine — with any number of workers and serve instances writing at once.
//!
//! A claim locks the rows it takes with `SKIP LOCKED`: claimers never take the same row and
//! never wait on each other. A transition is a conditional `UPDATE` (still in its `from`
//! state, still under its lease), so a stale one changes nothing whoever wrote first; its rows
//! are locked in id order first, so two batches that move the same deliveries (a worker's
//! record, a receipt, a halt) wait for each other instead of deadlocking. The locks are
//! `FOR NO KEY UPDATE`, the one an `UPDATE` takes: an event or receipt inserted for the
//! delivery (its foreign key check) does not wait for them.

use super::messages;
use super::PostgresStore;
use crate::domain::{ChannelKind, DeliveryState};
use crate::store::machine::{admit, expired_handover, LEASE_EXPIRED};
use crate::store::{
    ClaimedDelivery, Mark, Result, StoreError, Transition, TELEGRAM_CHANNEL_PREFIX,
};
use sqlx::{PgConnection, Postgres, Transaction};
use std::collections::{HashMap, HashSet};

/// Applies transitions and appends their events inside `tx`: each applies only if the state
/// machine allows it, its delivery is still in its `from` state and, when it has one, under
/// its lease. Returns which applied.
pub(super) async fn apply_transitions(
    tx: &mut Transaction<'static, Postgres>,
    transitions: &[Transition],
) -> Result<Vec<bool>> {
    let admitted = admit(transitions);
    let applied = apply_admitted(tx, &admitted.transitions).await?;
    Ok(admitted.applied(applied))
}

async fn apply_admitted(
    tx: &mut Transaction<'static, Postgres>,
    transitions: &[Transition],
) -> Result<Vec<bool>> {
    let mut applied = vec![false; transitions.len()];
    if transitions.is_empty() {
        return Ok(applied);
    }
    let mut ids: Vec<i64> = transitions.iter().map(|t| t.delivery_id).collect();
    ids.sort_unstable();
    ids.dedup();
    sqlx::query("SELECT id FROM deliveries WHERE id = ANY($1) ORDER BY id FOR NO KEY UPDATE")
        .bind(&ids)
        .execute(&mut **tx)
        .await?;
    let mut start = 0;
    while start < transitions.len() {
        // One statement per round; a delivery that moves twice in a batch (handed over,
        // then refused) starts a new round, so its moves apply in order.
        let mut ids = HashSet::new();
        let mut end = start;
        while end < transitions.len() && ids.insert(transitions[end].delivery_id) {
            end += 1;
        }
        let round = &transitions[start..end];
        let moved = apply_round(tx, round).await?;
        let mut after_halt = Vec::new();
        let mut unmoved = Vec::new();
        for (offset, transition) in round.iter().enumerate() {
            if moved.contains(&transition.delivery_id) {
                applied[start + offset] = true;
            } else if transition.from == DeliveryState::Sending
                && matches!(
                    transition.to,
                    DeliveryState::Sent | DeliveryState::Delivered
                )
            {
                after_halt.push(offset);
            } else {
                unmoved.push(transition);
            }
        }
        if !after_halt.is_empty() {
            let candidates: Vec<&Transition> =
                after_halt.iter().map(|offset| &round[*offset]).collect();
            let recorded = record_after_halt(tx, &candidates).await?;
            for offset in after_halt {
                let transition = &round[offset];
                if recorded.contains(&transition.delivery_id) {
                    applied[start + offset] = true;
                } else {
                    unmoved.push(transition);
                }
            }
        }
        keep_gateway_ids(tx, &unmoved).await?;
        start = end;
    }
    Ok(applied)
}

/// The moves of a round (one per delivery) that apply, with their events; returns their
/// deliveries.
async fn apply_round(
    tx: &mut Transaction<'static, Postgres>,
    round: &[Transition],
) -> Result<HashSet<i64>> {
    let mark = |transition: &Transition| match transition.mark {
        Mark::Nothing => "",
        Mark::HandedOver => "handed-over",
        Mark::NotAttempted => "not-attempted",
    };
    // A handover keeps the lease (the delivery is still being sent) and stamps
    // `handed_over_at`; an attempt that never reached a server is given back.
    // Each move and its event in one statement.
    let moved: Vec<i64> = sqlx::query_scalar(
        "WITH moved AS (UPDATE deliveries d SET state = t.to_state, \
         next_attempt_at = CASE WHEN t.mark = 'handed-over' THEN d.next_attempt_at \
                                ELSE t.next_attempt_at END, \
         lease_until = CASE WHEN t.mark = 'handed-over' THEN d.lease_until END, \
         handed_over_at = CASE WHEN t.mark = 'handed-over' THEN t.at ELSE d.handed_over_at END, \
         attempts = d.attempts - CASE WHEN t.mark = 'not-attempted' THEN 1 ELSE 0 END, \
         gateway_id = COALESCE(t.gateway_id, d.gateway_id), \
         last_error = CASE WHEN t.to_state IN ('failed', 'undeliverable', 'uncertain', 'pending') \
                           THEN t.detail ELSE d.last_error END, \
         updated_at = t.at \
         FROM UNNEST($1::bigint[], $2::text[], $3::text[], $4::bigint[], $5::text[], \
                     $6::text[], $7::bigint[], $8::text[], $9::bigint[]) \
           AS t(id, from_state, to_state, next_attempt_at, gateway_id, detail, at, mark, \
                lease_until) \
         WHERE d.id = t.id AND d.state = t.from_state \
           AND (t.lease_until IS NULL OR d.lease_until = t.lease_until) \
         RETURNING d.id, t.at, t.from_state, t.to_state, t.detail), \
         logged AS (INSERT INTO delivery_events (delivery_id, at, from_state, to_state, detail) \
           SELECT * FROM moved) \
         SELECT id FROM moved",
    )
    .bind(round.iter().map(|t| t.delivery_id).collect::<Vec<_>>())
    .bind(round.iter().map(|t| t.from.as_str()).collect::<Vec<_>>())
    .bind(round.iter().map(|t| t.to.as_str()).collect::<Vec<_>>())
    .bind(
        round
            .iter()
            .map(|t| t.next_attempt_at_ms)
            .collect::<Vec<_>>(),
    )
    .bind(
        round
            .iter()
            .map(|t| t.gateway_id.as_deref())
            .collect::<Vec<_>>(),
    )
    .bind(
        round
            .iter()
            .map(|t| t.detail.as_deref())
            .collect::<Vec<_>>(),
    )
    .bind(round.iter().map(|t| t.at_ms).collect::<Vec<_>>())
    .bind(round.iter().map(mark).collect::<Vec<_>>())
    .bind(round.iter().map(|t| t.lease_until_ms).collect::<Vec<_>>())
    .fetch_all(&mut **tx)
    .await?;
    Ok(moved.into_iter().collect())
}

/// Messages a gateway accepted after a halt had cancelled their deliveries (the send had
/// started before the halt reached the worker): the record says they left, and their events
/// that they left `cancelled`. Returns the deliveries recorded so.
async fn record_after_halt(
    tx: &mut Transaction<'static, Postgres>,
    transitions: &[&Transition],
) -> Result<HashSet<i64>> {
    let recorded: Vec<i64> = sqlx::query_scalar(
        "WITH late AS (UPDATE deliveries d SET state = t.to_state, \
           gateway_id = COALESCE(t.gateway_id, d.gateway_id), updated_at = t.at \
         FROM UNNEST($1::bigint[], $2::text[], $3::text[], $4::bigint[], $5::text[]) \
           AS t(id, to_state, gateway_id, at, detail) \
         WHERE d.id = t.id AND d.state = 'cancelled' \
         RETURNING d.id, t.at, t.to_state, t.detail), \
         logged AS (INSERT INTO delivery_events (delivery_id, at, from_state, to_state, detail) \
           SELECT id, at, 'cancelled', to_state, detail FROM late) \
         SELECT id FROM late",
    )
    .bind(
        transitions
            .iter()
            .map(|t| t.delivery_id)
            .collect::<Vec<_>>(),
    )
    .bind(
        transitions
            .iter()
            .map(|t| t.to.as_str())
            .collect::<Vec<_>>(),
    )
    .bind(
        transitions
            .iter()
            .map(|t| t.gateway_id.as_deref())
            .collect::<Vec<_>>(),
    )
    .bind(transitions.iter().map(|t| t.at_ms).collect::<Vec<_>>())
    .bind(
        transitions
            .iter()
            .map(|t| t.detail.as_deref())
            .collect::<Vec<_>>(),
    )
    .fetch_all(&mut **tx)
    .await?;
    Ok(recorded.into_iter().collect())
}

/// A receipt can overtake the record of its own send (`sending → delivered`); the send's move
/// is then stale, but the gateway's id is still the message's.
async fn keep_gateway_ids(
    tx: &mut Transaction<'static, Postgres>,
    stale: &[&Transition],
) -> Result<()> {
    let (ids, gateway_ids): (Vec<i64>, Vec<&str>) = stale
        .iter()
        .filter_map(|t| Some((t.delivery_id, t.gateway_id.as_deref()?)))
        .unzip();
    if ids.is_empty() {
        return Ok(());
    }
    sqlx::query(
        "UPDATE deliveries d SET gateway_id = t.gateway_id \
         FROM UNNEST($1::bigint[], $2::text[]) AS t(id, gateway_id) \
         WHERE d.id = t.id AND d.gateway_id IS NULL",
    )
    .bind(ids)
    .bind(gateway_ids)
    .execute(&mut **tx)
    .await?;
    Ok(())
}

/// A claimed row as `claim_due` returns it, before its message is read.
#[derive(sqlx::FromRow)]
struct Claimed {
    id: i64,
    update_id: i64,
    contact_id: i64,
    channel: String,
    address: Option<String>,
    language: String,
    attempts: i32,
    lease_until: i64,
}

pub(super) async fn claim_due(
    store: &PostgresStore,
    update_id: i64,
    now_ms: i64,
    lease_until_ms: i64,
    limit: u32,
) -> Result<Vec<ClaimedDelivery>> {
    let mut tx = store.pool().begin().await?;
    // A lease that expired after the handover was recorded: uncertain, never sent again on
    // its own. Locked like the claim's rows, so that two claimers never both judge one.
    let expired: Vec<(i64, i64)> = sqlx::query_as(
        "SELECT id, handed_over_at FROM deliveries WHERE update_id = $1 AND state = 'sending' \
         AND next_attempt_at <= $2 AND handed_over_at IS NOT NULL \
         LIMIT $3 FOR NO KEY UPDATE SKIP LOCKED",
    )
    .bind(update_id)
    .bind(now_ms)
    .bind(i64::from(limit))
    .fetch_all(&mut *tx)
    .await?;
    if !expired.is_empty() {
        let transitions: Vec<Transition> = expired
            .iter()
            .map(|(id, handed_over_at)| expired_handover(*id, update_id, *handed_over_at, now_ms))
            .collect();
        apply_transitions(&mut tx, &transitions).await?;
    }
    // A claimed delivery is due again when its lease expires, so one indexed column,
    // `next_attempt_at`, says when any open delivery is due. One index range per state, in
    // the index's order (failed, pending, expired claims; each by due time), each stopping at
    // the limit and skipping the rows other claimers hold: never a scan of the whole table,
    // which the planner would choose for a single `state IN (…)` on statistics that still
    // see a broadcast unsent, and which then reads every row sent so far on each claim.
    let rows: Vec<Claimed> = sqlx::query_as(
        "WITH picked AS ( \
           SELECT * FROM (SELECT id, state FROM deliveries \
             WHERE update_id = $1 AND state = 'failed' AND next_attempt_at <= $2 \
             ORDER BY next_attempt_at LIMIT $4 FOR NO KEY UPDATE SKIP LOCKED) AS failed \
           UNION ALL \
           SELECT * FROM (SELECT id, state FROM deliveries \
             WHERE update_id = $1 AND state = 'pending' AND next_attempt_at <= $2 \
             ORDER BY next_attempt_at LIMIT $4 FOR NO KEY UPDATE SKIP LOCKED) AS pending \
           UNION ALL \
           SELECT * FROM (SELECT id, state FROM deliveries \
             WHERE update_id = $1 AND state = 'sending' AND next_attempt_at <= $2 \
               AND handed_over_at IS NULL \
             ORDER BY next_attempt_at LIMIT $4 FOR NO KEY UPDATE SKIP LOCKED) AS expired \
           LIMIT $4 \
         ), claimed AS ( \
           UPDATE deliveries d SET state = 'sending', lease_until = $3, \
             attempts = d.attempts + 1, handed_over_at = NULL, next_attempt_at = $3, \
             updated_at = $2 \
           FROM picked WHERE d.id = picked.id \
           RETURNING d.id, d.update_id, d.contact_id, d.channel, d.address, d.language, \
             d.attempts, d.lease_until, picked.state AS was \
         ), logged AS ( \
           INSERT INTO delivery_events (delivery_id, at, from_state, to_state, detail) \
           SELECT id, $2, was, 'sending', CASE WHEN was = 'sending' THEN $5 END FROM claimed \
         ) \
         SELECT id, update_id, contact_id, channel, address, language, attempts, lease_until \
         FROM claimed ORDER BY id",
    )
    .bind(update_id)
    .bind(now_ms)
    .bind(lease_until_ms)
    .bind(i64::from(limit))
    .bind(LEASE_EXPIRED)
    .fetch_all(&mut *tx)
    .await?;
    tx.commit().await?;
    if rows.is_empty() {
        return Ok(Vec::new());
    }
    // The messages never change once planned: they are read after the commit, so that the
    // claim's row locks are held no longer than the claim.
    let mut connection = store.pool().acquire().await?;
    let ids: Vec<i64> = rows.iter().map(|row| row.id).collect();
    let mut messages = messages::read(&store.dictionaries, &mut connection, &ids).await?;
    let mut claimed = rows
        .into_iter()
        .map(|row| {
            let id = row.id;
            let corrupt = |what: String| StoreError::Corrupt(format!("delivery {id}: {what}"));
            Ok(ClaimedDelivery {
                id,
                update_id: row.update_id,
                contact_id: row.contact_id,
                channel: row.channel.parse().map_err(|e| corrupt(format!("{e}")))?,
                address: row
                    .address
                    .ok_or_else(|| corrupt("due but has no address".to_string()))?,
                language: row.language.parse().map_err(|e| corrupt(format!("{e}")))?,
                content: messages
                    .remove(&id)
                    .ok_or_else(|| corrupt("due but has no message".to_string()))?,
                attempts: u32::try_from(row.attempts).unwrap_or(u32::MAX),
                lease_until_ms: row.lease_until,
                reply_to: None,
            })
        })
        .collect::<Result<Vec<_>>>()?;
    let telegram: Vec<i64> = claimed
        .iter()
        .filter(|delivery| delivery.channel == ChannelKind::Telegram)
        .map(|delivery| delivery.id)
        .collect();
    if !telegram.is_empty() {
        let mut replies = reply_targets(&mut connection, &telegram).await?;
        for delivery in &mut claimed {
            delivery.reply_to = replies.remove(&delivery.id);
        }
    }
    Ok(claimed)
}

/// For each delivery among `ids` that posts a later update of an incident (not its alert)
/// to a public Telegram channel: the gateway id of that channel contact's post of the latest
/// earlier update of the incident that has one, in the chat it posts to now (a channel
/// configured anew starts a thread of its own). Walks the incident's updates backwards, each
/// a lookup on the deliveries' unique key: never the deliveries of whole updates.
async fn reply_targets(connection: &mut PgConnection, ids: &[i64]) -> Result<HashMap<i64, String>> {
    let found: Vec<(i64, Option<String>)> = sqlx::query_as(
        "SELECT d.id, (SELECT p.gateway_id FROM updates pu JOIN deliveries p \
           ON p.update_id = pu.id AND p.contact_id = d.contact_id AND p.channel = 'telegram' \
         WHERE p.address = d.address AND p.gateway_id IS NOT NULL \
           AND pu.incident_id = u.incident_id AND pu.id < d.update_id \
         ORDER BY pu.id DESC LIMIT 1) \
         FROM deliveries d JOIN updates u ON u.id = d.update_id \
         JOIN contacts c ON c.id = d.contact_id \
         WHERE u.kind <> 'alert' AND c.role = 'public' AND c.external_id LIKE $1 \
           AND d.id = ANY($2)",
    )
    .bind(format!("{TELEGRAM_CHANNEL_PREFIX}%"))
    .bind(ids)
    .fetch_all(connection)
    .await?;
    Ok(found
        .into_iter()
        .filter_map(|(id, gateway_id)| Some((id, gateway_id?)))
        .collect())
}

pub(super) async fn record(store: &PostgresStore, transitions: &[Transition]) -> Result<Vec<bool>> {
    let mut tx = store.pool().begin().await?;
    let applied = apply_transitions(&mut tx, transitions).await?;
    tx.commit().await?;
    Ok(applied)
}

#[cfg(test)]
mod tests {
    use super::super::queue::fixture::{broadcast, events, T0};
    use super::super::testing;
    use crate::domain::DeliveryState::{self, *};
    use crate::store::{ClaimedDelivery, Mark, QueueStore, Transition};
    use std::collections::HashSet;
    use std::sync::Arc;

    const LEASE: i64 = 60_000;

    fn moved(claimed: &ClaimedDelivery, to: DeliveryState, at_ms: i64) -> Transition {
        Transition {
            delivery_id: claimed.id,
            from: Sending,
            to,
            at_ms,
            next_attempt_at_ms: None,
            gateway_id: None,
            detail: None,
            mark: Mark::Nothing,
            lease_until_ms: Some(claimed.lease_until_ms),
        }
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn two_claimers_at_once_take_each_due_row_exactly_once() {
        let Some(store) = testing::store("claimers_at_once").await else {
            return;
        };
        let store = Arc::new(store);
        let update = broadcast(&store, 1_000).await;
        let claimer = |store: Arc<super::PostgresStore>| async move {
            let mut taken = Vec::new();
            loop {
                let batch = store
                    .claim_due(update, T0, T0 + LEASE, 25)
                    .await
                    .expect("claim");
                if batch.is_empty() {
                    return taken;
                }
                taken.extend(batch);
            }
        };
        let (first, second) = tokio::join!(
            tokio::spawn(claimer(Arc::clone(&store))),
            tokio::spawn(claimer(Arc::clone(&store)))
        );
        let (first, second) = (first.expect("first"), second.expect("second"));
        assert!(!first.is_empty() && !second.is_empty(), "both claimed");
        let all: Vec<&ClaimedDelivery> = first.iter().chain(&second).collect();
        let unique: HashSet<i64> = all.iter().map(|delivery| delivery.id).collect();
        assert_eq!(
            (all.len(), unique.len()),
            (1_000, 1_000),
            "each exactly once"
        );
        assert!(all.iter().all(|delivery| delivery.attempts == 1));
        let packed = all
            .iter()
            .find(|d| d.contact_id % 3 == 0)
            .expect("a long one");
        assert!(packed.content.body.ends_with("down. "), "unpacked");
        let claim_events: i64 =
            sqlx::query_scalar("SELECT COUNT(*) FROM delivery_events WHERE to_state = 'sending'")
                .fetch_one(store.pool())
                .await
                .expect("count");
        assert_eq!(claim_events, 1_000);
    }

    #[tokio::test]
    async fn a_stale_transition_is_dropped_and_the_rest_of_its_batch_applies() {
        let Some(store) = testing::store("stale_transition").await else {
            return;
        };
        let update = broadcast(&store, 2).await;
        let old = store
            .claim_due(update, T0, T0 + LEASE, 1)
            .await
            .expect("claim");
        let old = &old[0];
        // The lease expires: another claim takes the delivery over.
        let new = store
            .claim_due(update, T0 + LEASE, T0 + 2 * LEASE, 2)
            .await
            .expect("claim again");
        let new_one = new.iter().find(|d| d.id == old.id).expect("taken over");
        let other = new.iter().find(|d| d.id != old.id).expect("the other");
        assert_eq!(new_one.attempts, 2);
        let before = events(&store, old.id).await;
        let applied = store
            .record(&[
                moved(old, Failed, T0 + LEASE + 1),
                moved(other, Sent, T0 + LEASE + 1),
                Transition {
                    from: Pending,
                    ..moved(new_one, Cancelled, T0 + LEASE + 1)
                },
            ])
            .await
            .expect("record");
        assert_eq!(applied, [false, true, false]);
        assert_eq!(events(&store, old.id).await, before);
        let last = events(&store, other.id).await.pop().expect("an event");
        assert_eq!(
            (last.0.as_deref(), last.1.as_str()),
            (Some("sending"), "sent")
        );
        assert_eq!(
            store
                .record(&[moved(new_one, Sent, T0 + LEASE + 2)])
                .await
                .expect("record"),
            [true]
        );
        let states: Vec<String> = sqlx::query_scalar("SELECT state FROM deliveries ORDER BY id")
            .fetch_all(store.pool())
            .await
            .expect("states");
        assert_eq!(states, ["sent", "sent"]);
    }

    #[tokio::test]
    async fn an_expired_handover_becomes_uncertain_and_a_late_send_after_a_halt_is_kept() {
        let Some(store) = testing::store("expired_handover").await else {
            return;
        };
        let update = broadcast(&store, 2).await;
        let claimed = store
            .claim_due(update, T0, T0 + LEASE, 2)
            .await
            .expect("claim");
        let handovers: Vec<Transition> = claimed
            .iter()
            .map(|delivery| Transition {
                mark: Mark::HandedOver,
                ..moved(delivery, Sending, T0 + 1)
            })
            .collect();
        assert_eq!(
            store.record(&handovers).await.expect("handover"),
            [true, true]
        );
        sqlx::query("UPDATE deliveries SET state = 'cancelled' WHERE id = $1")
            .bind(claimed[1].id)
            .execute(store.pool())
            .await
            .expect("halt");
        let late = Transition {
            gateway_id: Some("smtp:<1@example.org>".to_string()),
            ..moved(&claimed[1], Sent, T0 + 2)
        };
        assert_eq!(store.record(&[late]).await.expect("late"), [true]);
        assert!(store
            .claim_due(update, T0 + LEASE, T0 + 2 * LEASE, 10)
            .await
            .expect("claim after expiry")
            .is_empty());
        let rows: Vec<(String, Option<String>)> =
            sqlx::query_as("SELECT state, gateway_id FROM deliveries ORDER BY id")
                .fetch_all(store.pool())
                .await
                .expect("states");
        assert_eq!(
            rows,
            [
                ("uncertain".to_string(), None),
                ("sent".to_string(), Some("smtp:<1@example.org>".to_string()))
            ]
        );
        let last = events(&store, claimed[1].id).await.pop().expect("event");
        assert_eq!(
            (last.0.as_deref(), last.1.as_str()),
            (Some("cancelled"), "sent")
        );
    }
}
