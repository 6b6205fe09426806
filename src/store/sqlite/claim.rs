//! Claiming due deliveries for sending, and recording what became of them along the state
//! machine.

use super::lists::{push_in, ROWS_PER_STATEMENT};
use super::messages;
use super::SqliteStore;
use crate::domain::{ChannelKind, DeliveryState, RenderedMessage};
use crate::store::machine::{admit, expired_handover, LEASE_EXPIRED};
use crate::store::messages::MessageRow;
use crate::store::rows::parse_col;
use crate::store::{
    ClaimedDelivery, Mark, Result, StoreError, Transition, TELEGRAM_CHANNEL_PREFIX,
};
use sqlx::sqlite::SqliteRow;
use sqlx::{QueryBuilder, Row, Sqlite, Transaction};
use std::collections::HashMap;

fn claimed_from_row(
    row: &SqliteRow,
    messages: &mut HashMap<i64, RenderedMessage>,
) -> Result<ClaimedDelivery> {
    let attempts: i64 = row.try_get("attempts")?;
    let address: Option<String> = row.try_get("address")?;
    let id: i64 = row.try_get("id")?;
    let message = messages
        .remove(&id)
        .ok_or_else(|| StoreError::Corrupt(format!("delivery {id} is due but has no message")))?;
    Ok(ClaimedDelivery {
        id,
        update_id: row.try_get("update_id")?,
        contact_id: row.try_get("contact_id")?,
        channel: parse_col(row, "channel")?,
        address: address.ok_or_else(|| {
            StoreError::Corrupt(format!("delivery {id} is due but has no address"))
        })?,
        language: parse_col(row, "language")?,
        content: message,
        attempts: u32::try_from(attempts).unwrap_or(u32::MAX),
        lease_until_ms: row.try_get("lease_until")?,
        reply_to: None,
    })
}

/// Applies transitions and appends their events inside `tx`: each applies only if the state
/// machine allows it and its delivery is still in its `from` state. Returns which applied.
pub(super) async fn apply_transitions(
    tx: &mut Transaction<'static, Sqlite>,
    transitions: &[Transition],
) -> Result<Vec<bool>> {
    let admitted = admit(transitions);
    let applied = apply_admitted(tx, &admitted.transitions).await?;
    Ok(admitted.applied(applied))
}

async fn apply_admitted(
    tx: &mut Transaction<'static, Sqlite>,
    transitions: &[Transition],
) -> Result<Vec<bool>> {
    let mut applied = vec![false; transitions.len()];
    let mut start = 0;
    while start < transitions.len() {
        // One statement per round; a delivery that moves twice in a batch (handed over,
        // then refused) starts a new round, so its moves apply in order.
        let mut ids = std::collections::HashSet::new();
        let mut end = start;
        while end < transitions.len()
            && end - start < ROWS_PER_STATEMENT
            && ids.insert(transitions[end].delivery_id)
        {
            end += 1;
        }
        let round = &transitions[start..end];
        // A handover keeps the lease (the delivery is still being sent) and stamps
        // `handed_over_at`; an attempt that never reached a server is given back.
        let mut update = QueryBuilder::<Sqlite>::new(
            "UPDATE deliveries SET state = t.column3, \
             next_attempt_at = CASE WHEN t.column8 = 'handed-over' THEN deliveries.next_attempt_at \
                                    ELSE t.column4 END, \
             lease_until = CASE WHEN t.column8 = 'handed-over' THEN deliveries.lease_until END, \
             handed_over_at = CASE WHEN t.column8 = 'handed-over' THEN t.column7 \
                                   ELSE deliveries.handed_over_at END, \
             attempts = deliveries.attempts - (t.column8 = 'not-attempted'), \
             gateway_id = COALESCE(t.column5, deliveries.gateway_id), \
             last_error = CASE WHEN t.column3 IN ('failed', 'undeliverable', 'uncertain', 'pending') \
                               THEN t.column6 ELSE deliveries.last_error END, \
             updated_at = t.column7 FROM (",
        );
        update.push_values(round, |mut values, transition| {
            values
                .push_bind(transition.delivery_id)
                .push_bind(transition.from.as_str())
                .push_bind(transition.to.as_str())
                .push_bind(transition.next_attempt_at_ms)
                .push_bind(transition.gateway_id.as_deref())
                .push_bind(transition.detail.as_deref())
                .push_bind(transition.at_ms)
                .push_bind(match transition.mark {
                    Mark::Nothing => "",
                    Mark::HandedOver => "handed-over",
                    Mark::NotAttempted => "not-attempted",
                })
                .push_bind(transition.lease_until_ms);
        });
        update.push(
            ") AS t WHERE deliveries.id = t.column1 AND deliveries.state = t.column2 \
             AND (t.column9 IS NULL OR deliveries.lease_until = t.column9) \
             RETURNING deliveries.id",
        );
        let moved: std::collections::HashSet<i64> = update
            .build_query_scalar::<i64>()
            .fetch_all(&mut **tx)
            .await?
            .into_iter()
            .collect();
        let mut events = Vec::with_capacity(moved.len());
        for (offset, transition) in round.iter().enumerate() {
            if moved.contains(&transition.delivery_id) {
                applied[start + offset] = true;
                events.push((transition.from, transition));
                continue;
            }
            if transition.from == DeliveryState::Sending
                && matches!(
                    transition.to,
                    DeliveryState::Sent | DeliveryState::Delivered
                )
                && record_after_halt(tx, transition).await?
            {
                applied[start + offset] = true;
                events.push((DeliveryState::Cancelled, transition));
            } else if let Some(gateway_id) = &transition.gateway_id {
                // A receipt can overtake the record of its own send (`sending → delivered`);
                // the send's move is then stale, but the gateway's id is still the message's.
                sqlx::query(
                    "UPDATE deliveries SET gateway_id = ? WHERE id = ? AND gateway_id IS NULL",
                )
                .bind(gateway_id)
                .bind(transition.delivery_id)
                .execute(&mut **tx)
                .await?;
            }
        }
        if !events.is_empty() {
            let mut insert = QueryBuilder::<Sqlite>::new(
                "INSERT INTO delivery_events (delivery_id, at, from_state, to_state, detail) ",
            );
            insert.push_values(&events, |mut values, (from, transition)| {
                values
                    .push_bind(transition.delivery_id)
                    .push_bind(transition.at_ms)
                    .push_bind(from.as_str())
                    .push_bind(transition.to.as_str())
                    .push_bind(transition.detail.as_deref());
            });
            insert.build().execute(&mut **tx).await?;
        }
        start = end;
    }
    Ok(applied)
}

/// A message a gateway accepted after a halt had cancelled its delivery (the send had
/// started before the halt reached the worker): the record says it left.
async fn record_after_halt(
    tx: &mut Transaction<'static, Sqlite>,
    transition: &Transition,
) -> Result<bool> {
    let done = sqlx::query(
        "UPDATE deliveries SET state = ?, gateway_id = COALESCE(?, gateway_id), \
         updated_at = ? WHERE id = ? AND state = 'cancelled'",
    )
    .bind(transition.to.as_str())
    .bind(transition.gateway_id.as_deref())
    .bind(transition.at_ms)
    .bind(transition.delivery_id)
    .execute(&mut **tx)
    .await?;
    Ok(done.rows_affected() > 0)
}

pub(super) async fn claim_due(
    store: &SqliteStore,
    update_id: i64,
    now_ms: i64,
    lease_until_ms: i64,
    limit: u32,
) -> Result<Vec<ClaimedDelivery>> {
    let (turn, mut tx) = store.begin_write().await?;
    // A claimed delivery is due again when its lease expires, so one indexed column,
    // `next_attempt_at`, says when any open delivery is due. No ORDER BY: sorting every
    // due row of a large broadcast on each claim costs more than any order is worth.
    let found: Vec<(i64, String, Option<i64>)> = sqlx::query_as(
        "SELECT id, state, handed_over_at FROM deliveries WHERE update_id = ?1 \
         AND state IN ('pending', 'sending', 'failed') AND next_attempt_at <= ?2 LIMIT ?3",
    )
    .bind(update_id)
    .bind(now_ms)
    .bind(limit)
    .fetch_all(&mut *tx)
    .await?;
    if found.is_empty() {
        return Ok(Vec::new());
    }
    let (uncertain, due): (Vec<_>, Vec<_>) = found
        .into_iter()
        .partition(|(_, state, handed_over)| state == "sending" && handed_over.is_some());
    let due: Vec<(i64, String)> = due.into_iter().map(|(id, state, _)| (id, state)).collect();
    if !uncertain.is_empty() {
        let transitions: Vec<Transition> = uncertain
            .iter()
            .map(|(id, _, handed_over)| {
                expired_handover(*id, update_id, handed_over.unwrap_or(now_ms), now_ms)
            })
            .collect();
        apply_transitions(&mut tx, &transitions).await?;
    }
    if due.is_empty() {
        tx.commit().await?;
        return Ok(Vec::new());
    }
    let mut events = QueryBuilder::<Sqlite>::new(
        "INSERT INTO delivery_events (delivery_id, at, from_state, to_state, detail) ",
    );
    events.push_values(&due, |mut values, (id, state)| {
        let detail = (state == "sending").then_some(LEASE_EXPIRED);
        values
            .push_bind(*id)
            .push_bind(now_ms)
            .push_bind(state.as_str())
            .push_bind("sending")
            .push_bind(detail);
    });
    events.build().execute(&mut *tx).await?;
    let mut claim =
        QueryBuilder::<Sqlite>::new("UPDATE deliveries SET state = 'sending', lease_until = ");
    claim
        .push_bind(lease_until_ms)
        .push(", attempts = attempts + 1, handed_over_at = NULL, next_attempt_at = ")
        .push_bind(lease_until_ms)
        .push(", updated_at = ")
        .push_bind(now_ms)
        .push(" WHERE id");
    push_in(&mut claim, due.iter().map(|(id, _)| *id));
    claim.push(
        " RETURNING id, update_id, contact_id, channel, address, language, attempts, \
         lease_until",
    );
    let rows = claim.build().fetch_all(&mut *tx).await?;
    tx.commit().await?;
    // The messages never change once planned: they are read after the commit, so that
    // handovers waiting for the write lock do not wait for this too.
    drop(turn);
    let mut connection = store.pool.acquire().await?;
    let mut read = QueryBuilder::<Sqlite>::new(
        "SELECT delivery_id, subject, body, body_html, dictionary_id FROM delivery_messages \
         WHERE delivery_id",
    );
    push_in(&mut read, due.iter().map(|(id, _)| *id));
    let rows_read = read
        .build_query_as::<(i64, Option<String>, Vec<u8>, Option<Vec<u8>>, Option<i64>)>()
        .fetch_all(&mut *connection)
        .await?
        .into_iter()
        .map(|(id, subject, body, body_html, dictionary_id)| {
            let row = MessageRow {
                subject,
                body,
                body_html,
                dictionary_id,
            };
            (id, row)
        })
        .collect();
    let mut messages = messages::open(&store.dictionaries, &mut connection, rows_read).await?;
    let mut claimed = rows
        .iter()
        .map(|row| claimed_from_row(row, &mut messages))
        .collect::<Result<Vec<_>>>()?;
    claimed.sort_by_key(|delivery| delivery.id);
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
async fn reply_targets(
    connection: &mut sqlx::SqliteConnection,
    ids: &[i64],
) -> Result<HashMap<i64, String>> {
    let mut query = QueryBuilder::<Sqlite>::new(
        "SELECT d.id, (SELECT p.gateway_id FROM updates pu CROSS JOIN deliveries p \
         WHERE p.update_id = pu.id AND p.contact_id = d.contact_id \
         AND p.channel = 'telegram' AND p.address = d.address \
         AND p.gateway_id IS NOT NULL AND pu.incident_id = u.incident_id \
         AND pu.id < d.update_id ORDER BY pu.id DESC LIMIT 1) \
         FROM deliveries d JOIN updates u ON u.id = d.update_id \
         JOIN contacts c ON c.id = d.contact_id \
         WHERE u.kind <> 'alert' AND c.role = 'public' AND c.external_id LIKE ",
    );
    query
        .push_bind(format!("{TELEGRAM_CHANNEL_PREFIX}%"))
        .push(" AND d.id");
    push_in(&mut query, ids.iter().copied());
    let found: Vec<(i64, Option<String>)> = query.build_query_as().fetch_all(connection).await?;
    Ok(found
        .into_iter()
        .filter_map(|(id, gateway_id)| Some((id, gateway_id?)))
        .collect())
}

pub(super) async fn record(store: &SqliteStore, transitions: &[Transition]) -> Result<Vec<bool>> {
    let (_turn, mut tx) = store.begin_write().await?;
    let applied = apply_transitions(&mut tx, transitions).await?;
    tx.commit().await?;
    Ok(applied)
}
