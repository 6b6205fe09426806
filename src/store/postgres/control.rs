//! What a person does to an update once it exists: discard a draft, revoke an approval, halt
//! a broadcast, send again what failed; and what a stopped run leaves (a pause, deliveries
//! held back). Each is one transaction, logged in `update_events` with who asked.
//!
//! Workers of other processes claim and record deliveries while these run: each bulk move
//! locks the rows it moves (`FOR NO KEY UPDATE`, which in READ COMMITTED rechecks its
//! conditions on a row's newest version after waiting for it), so a delivery a worker moved
//! meanwhile is moved only if it still qualifies, and its event names the state it really
//! left. Rows are locked in id order, as the queue's records lock theirs.

use super::PostgresStore;
use crate::domain::DeliveryState;
use crate::store::rows::{review_from_row, update_event_from_row};
use crate::store::{Result, RetryFilter, Review, StartRefusal, StoreError, UpdateEvent, Verdict};
use sqlx::{PgConnection, Postgres, QueryBuilder};

/// Appends a person's (or, with `by` None, the dispatcher's) action to the update's log.
pub(super) async fn log(
    connection: &mut PgConnection,
    update_id: i64,
    at_ms: i64,
    action: &str,
    by: Option<&str>,
    detail: Option<&str>,
) -> Result<()> {
    sqlx::query(
        "INSERT INTO update_events (update_id, at, action, by_whom, detail) \
         VALUES ($1, $2, $3, $4, $5)",
    )
    .bind(update_id)
    .bind(at_ms)
    .bind(action)
    .bind(by)
    .bind(detail)
    .execute(connection)
    .await?;
    Ok(())
}

/// Holds the update's row until the transaction ends, strongly enough (`FOR UPDATE`) to wait
/// for a plan being written: each delivery it inserts holds the row `FOR KEY SHARE` (its
/// foreign key) until the plan commits. What follows then sees the plan's deliveries and its
/// `planned_at`, as it would on SQLite, where a plan is one write transaction.
async fn lock_update(connection: &mut PgConnection, id: i64) -> Result<()> {
    sqlx::query("SELECT 1 FROM updates WHERE id = $1 FOR UPDATE")
        .bind(id)
        .execute(connection)
        .await?;
    Ok(())
}

/// Moves the update from one of `from` to `to`; NotFound naming what was expected otherwise.
/// The row stays locked until the transaction ends, so that two people's actions on one
/// update take turns.
async fn move_update(
    connection: &mut PgConnection,
    id: i64,
    from: &[&str],
    to: &str,
    expected: &str,
) -> Result<()> {
    let done = sqlx::query("UPDATE updates SET state = $1 WHERE id = $2 AND state = ANY($3)")
        .bind(to)
        .bind(id)
        .bind(from)
        .execute(connection)
        .await?;
    if done.rows_affected() == 0 {
        return Err(StoreError::NotFound(format!("{expected} update {id}")));
    }
    Ok(())
}

/// A move of many deliveries of one update to one state, with an event each.
struct BulkMove<'a> {
    update_id: i64,
    /// The states they may be in: only those the state machine lets become `to` are moved.
    from: &'a [DeliveryState],
    to: DeliveryState,
    /// Columns set besides the state (SQL of ours, no input).
    set: &'a str,
    /// Becomes the last error.
    cause: Option<&'a str>,
    /// What each one's event says.
    detail: &'a str,
    at_ms: i64,
}

/// Moves the deliveries `bulk` names that also meet the conditions `only` pushes (each
/// starting with ` AND`), in one statement; returns how many moved.
///
/// The rows are locked before they move, and each event takes its `from_state`
/// from the locked row: a worker's record waiting on one of them afterwards finds it moved
/// (its `WHERE state = …` no longer holds) and is dropped as stale; one that committed first
/// is seen, and the row moves only if it still meets the conditions.
async fn move_deliveries<'a>(
    connection: &mut PgConnection,
    bulk: &BulkMove<'a>,
    only: impl FnOnce(&mut QueryBuilder<'a, Postgres>),
) -> Result<u64> {
    let from: Vec<&str> = bulk
        .from
        .iter()
        .filter(|state| state.can_become(bulk.to))
        .map(|state| state.as_str())
        .collect();
    let mut query = QueryBuilder::<Postgres>::new(
        "WITH locked AS MATERIALIZED (SELECT id, state FROM deliveries WHERE update_id = ",
    );
    query
        .push_bind(bulk.update_id)
        .push(" AND state = ANY(")
        .push_bind(from)
        .push(")");
    only(&mut query);
    query
        .push(" ORDER BY id FOR NO KEY UPDATE), moved AS (UPDATE deliveries d SET state = ")
        .push_bind(bulk.to.as_str())
        .push(", ")
        .push(bulk.set);
    if let Some(cause) = bulk.cause {
        query.push(", last_error = ").push_bind(cause);
    }
    query
        .push(", updated_at = ")
        .push_bind(bulk.at_ms)
        .push(
            " FROM locked WHERE d.id = locked.id RETURNING d.id, locked.state) \
             INSERT INTO delivery_events (delivery_id, at, from_state, to_state, detail) \
             SELECT id, ",
        )
        .push_bind(bulk.at_ms)
        .push(", state, ")
        .push_bind(bulk.to.as_str())
        .push(", ")
        .push_bind(bulk.detail)
        .push(" FROM moved ORDER BY id");
    Ok(query.build().execute(connection).await?.rows_affected())
}

pub(super) async fn halt_update(
    store: &PostgresStore,
    id: i64,
    by: &str,
    at_ms: i64,
) -> Result<u64> {
    let mut tx = store.pool().begin().await?;
    lock_update(&mut tx, id).await?;
    move_update(
        &mut tx,
        id,
        &["approved", "sending", "sent"],
        "halted",
        "approved, sending or sent",
    )
    .await?;
    sqlx::query("UPDATE updates SET halted_by = $1, halted_at = $2 WHERE id = $3")
        .bind(by)
        .bind(at_ms)
        .bind(id)
        .execute(&mut *tx)
        .await?;
    let detail = format!("halted by {by}");
    // What has not left: a handed-over delivery is in the server's hands already, and its
    // answer will say what became of it. A handover racing this halt cannot leave a delivery
    // both handed over and cancelled: the handover is an `UPDATE … WHERE state = 'sending'`
    // on the same row, so the two take its lock in turn. If the handover commits first, the
    // lock below rechecks `handed_over_at IS NULL` on its version and leaves the row; if the
    // halt locks first, the handover, once the halt commits, rechecks its own condition,
    // finds `cancelled`, and is refused.
    let count = move_deliveries(
        &mut tx,
        &BulkMove {
            update_id: id,
            from: &[
                DeliveryState::Pending,
                DeliveryState::Failed,
                DeliveryState::Sending,
            ],
            to: DeliveryState::Cancelled,
            set: "next_attempt_at = NULL, lease_until = NULL",
            cause: Some(&detail),
            detail: &detail,
            at_ms,
        },
        |query| {
            query.push(
                " AND (state <> 'failed' OR next_attempt_at IS NOT NULL) \
                 AND (state <> 'sending' OR handed_over_at IS NULL)",
            );
        },
    )
    .await?;
    log(
        &mut tx,
        id,
        at_ms,
        "halted",
        Some(by),
        Some(&format!("{count} deliveries cancelled")),
    )
    .await?;
    tx.commit().await?;
    Ok(count)
}

pub(super) async fn discard_update(
    store: &PostgresStore,
    id: i64,
    by: &str,
    at_ms: i64,
) -> Result<()> {
    let mut tx = store.pool().begin().await?;
    move_update(&mut tx, id, &["draft"], "discarded", "draft").await?;
    log(&mut tx, id, at_ms, "discarded", Some(by), None).await?;
    tx.commit().await?;
    Ok(())
}

pub(super) async fn revoke_approval(
    store: &PostgresStore,
    id: i64,
    by: &str,
    at_ms: i64,
) -> Result<()> {
    let mut tx = store.pool().begin().await?;
    lock_update(&mut tx, id).await?;
    let done = sqlx::query(
        "UPDATE updates SET state = 'draft', approved_by = NULL, approved_at = NULL, \
         send_at = NULL, start_refused = NULL, start_refused_at = NULL \
         WHERE id = $1 AND state = 'approved' AND planned_at IS NULL",
    )
    .bind(id)
    .execute(&mut *tx)
    .await?;
    if done.rows_affected() == 0 {
        return Err(StoreError::NotFound(format!(
            "approved and not yet sent update {id}"
        )));
    }
    log(&mut tx, id, at_ms, "revoked", Some(by), None).await?;
    tx.commit().await?;
    Ok(())
}

pub(super) async fn pause_update(
    store: &PostgresStore,
    id: i64,
    reason: &str,
    at_ms: i64,
) -> Result<()> {
    let mut tx = store.pool().begin().await?;
    sqlx::query("UPDATE updates SET paused_at = $1, paused_reason = $2 WHERE id = $3")
        .bind(at_ms)
        .bind(reason)
        .bind(id)
        .execute(&mut *tx)
        .await?;
    log(&mut tx, id, at_ms, "paused", None, Some(reason)).await?;
    tx.commit().await?;
    Ok(())
}

/// Inside a transaction: lifts the pause and makes the held deliveries due at `at_ms`.
async fn unhold(connection: &mut PgConnection, id: i64, at_ms: i64) -> Result<u64> {
    // Locked, so that two resumes take turns and only the first logs one.
    let paused: Option<String> =
        sqlx::query_scalar("SELECT paused_reason FROM updates WHERE id = $1 FOR UPDATE")
            .bind(id)
            .fetch_optional(&mut *connection)
            .await?
            .ok_or_else(|| StoreError::NotFound(format!("update {id}")))?;
    // No state moves: a held delivery stays pending, only its time changes.
    let held = sqlx::query(
        "UPDATE deliveries SET next_attempt_at = $1, updated_at = $1 \
         WHERE update_id = $2 AND state = 'pending' AND next_attempt_at IS NULL",
    )
    .bind(at_ms)
    .bind(id)
    .execute(&mut *connection)
    .await?
    .rows_affected();
    if paused.is_some() {
        sqlx::query("UPDATE updates SET paused_at = NULL, paused_reason = NULL WHERE id = $1")
            .bind(id)
            .execute(&mut *connection)
            .await?;
        log(
            connection,
            id,
            at_ms,
            "resumed",
            None,
            Some(&format!("{held} held deliveries due again")),
        )
        .await?;
    }
    Ok(held)
}

pub(super) async fn resume_update(store: &PostgresStore, id: i64, at_ms: i64) -> Result<u64> {
    let mut tx = store.pool().begin().await?;
    let held = unhold(&mut tx, id, at_ms).await?;
    tx.commit().await?;
    Ok(held)
}

pub(super) async fn retry_deliveries(
    store: &PostgresStore,
    id: i64,
    filter: &RetryFilter,
    by: &str,
    at_ms: i64,
) -> Result<u64> {
    let mut tx = store.pool().begin().await?;
    lock_update(&mut tx, id).await?;
    move_update(
        &mut tx,
        id,
        &["sending", "sent"],
        "sending",
        "sending or sent",
    )
    .await?;
    unhold(&mut tx, id, at_ms).await?;
    let detail = filter.event_detail(by);
    let from: Vec<DeliveryState> = filter
        .states
        .iter()
        .copied()
        .filter(|state| state.retryable_on_request())
        .collect();
    let set = format!(
        "attempts = 0, lease_until = NULL, handed_over_at = NULL, next_attempt_at = {at_ms}"
    );
    let count = move_deliveries(
        &mut tx,
        &BulkMove {
            update_id: id,
            from: &from,
            to: DeliveryState::Pending,
            set: &set,
            cause: None,
            detail: &detail,
            at_ms,
        },
        |query| {
            if let Some(channel) = filter.channel {
                query.push(" AND channel = ").push_bind(channel.as_str());
            }
            if let Some(reason) = &filter.reason {
                query
                    .push(" AND strpos(lower(last_error), lower(")
                    .push_bind(reason.as_str())
                    .push(")) > 0");
            }
        },
    )
    .await?;
    log(
        &mut tx,
        id,
        at_ms,
        "retried",
        Some(by),
        Some(&filter.summary(count)),
    )
    .await?;
    tx.commit().await?;
    Ok(count)
}

pub(super) async fn update_events(store: &PostgresStore, id: i64) -> Result<Vec<UpdateEvent>> {
    sqlx::query(
        "SELECT at, action, by_whom, detail FROM update_events WHERE update_id = $1 ORDER BY id",
    )
    .bind(id)
    .fetch_all(store.pool())
    .await?
    .iter()
    .map(update_event_from_row)
    .collect()
}

/// Appends a reviewer's verdict inside a transaction.
pub(super) async fn review(
    connection: &mut PgConnection,
    update_id: i64,
    at_ms: i64,
    by: &str,
    verdict: Verdict,
    comment: Option<&str>,
) -> Result<()> {
    sqlx::query(
        "INSERT INTO reviews (update_id, at, by_whom, verdict, comment) \
         VALUES ($1, $2, $3, $4, $5)",
    )
    .bind(update_id)
    .bind(at_ms)
    .bind(by)
    .bind(verdict.as_str())
    .bind(comment)
    .execute(connection)
    .await?;
    Ok(())
}

pub(super) async fn return_update(
    store: &PostgresStore,
    id: i64,
    by: &str,
    comment: &str,
    at_ms: i64,
) -> Result<()> {
    let mut tx = store.pool().begin().await?;
    // Locked: an approval waits until the verdict is in, so none is given to an update
    // approved meanwhile.
    let state: Option<String> =
        sqlx::query_scalar("SELECT state FROM updates WHERE id = $1 FOR UPDATE")
            .bind(id)
            .fetch_optional(&mut *tx)
            .await?;
    if state.as_deref() != Some("draft") {
        return Err(StoreError::NotFound(format!("draft update {id}")));
    }
    review(&mut tx, id, at_ms, by, Verdict::Returned, Some(comment)).await?;
    log(&mut tx, id, at_ms, "returned", Some(by), Some(comment)).await?;
    tx.commit().await?;
    Ok(())
}

/// The verdicts on one update, or the last one on each update.
pub(super) async fn reviews(store: &PostgresStore, id: Option<i64>) -> Result<Vec<Review>> {
    let rows = match id {
        Some(id) => {
            sqlx::query(
                "SELECT update_id, at, by_whom, verdict, comment FROM reviews \
                 WHERE update_id = $1 ORDER BY id",
            )
            .bind(id)
            .fetch_all(store.pool())
            .await?
        }
        None => {
            sqlx::query(
                "SELECT DISTINCT ON (update_id) update_id, at, by_whom, verdict, comment \
                 FROM reviews ORDER BY update_id, id DESC",
            )
            .fetch_all(store.pool())
            .await?
        }
    };
    rows.iter().map(review_from_row).collect()
}

pub(super) async fn schedule_update(
    store: &PostgresStore,
    id: i64,
    send_at_ms: i64,
    by: &str,
    detail: &str,
    at_ms: i64,
) -> Result<()> {
    let mut tx = store.pool().begin().await?;
    lock_update(&mut tx, id).await?;
    let done = sqlx::query(
        "UPDATE updates SET send_at = $1, start_refused = NULL, start_refused_at = NULL \
         WHERE id = $2 AND state = 'approved' AND planned_at IS NULL",
    )
    .bind(send_at_ms)
    .bind(id)
    .execute(&mut *tx)
    .await?;
    if done.rows_affected() == 0 {
        return Err(StoreError::NotFound(format!(
            "approved and not yet sent update {id}"
        )));
    }
    log(&mut tx, id, at_ms, "scheduled", Some(by), Some(detail)).await?;
    tx.commit().await?;
    Ok(())
}

pub(super) async fn hold_update(
    store: &PostgresStore,
    id: i64,
    by: &str,
    at_ms: i64,
) -> Result<u64> {
    let mut tx = store.pool().begin().await?;
    lock_update(&mut tx, id).await?;
    let reason = format!("paused by {by}");
    let done = sqlx::query(
        "UPDATE updates SET paused_at = $1, paused_reason = $2 \
         WHERE id = $3 AND state = 'sending' AND paused_at IS NULL",
    )
    .bind(at_ms)
    .bind(&reason)
    .bind(id)
    .execute(&mut *tx)
    .await?;
    if done.rows_affected() == 0 {
        return Err(StoreError::NotFound(format!(
            "running, unpaused update {id}"
        )));
    }
    // Pending ones wait for no time; those waiting for a retry become pending and wait the
    // same way, their attempts kept: `unhold` makes them all due again. A pending one a
    // worker claims meanwhile is rechecked, found `sending`, and left to finish.
    let pending = sqlx::query(
        "UPDATE deliveries SET next_attempt_at = NULL, updated_at = $1 \
         WHERE update_id = $2 AND state = 'pending' AND next_attempt_at IS NOT NULL",
    )
    .bind(at_ms)
    .bind(id)
    .execute(&mut *tx)
    .await?
    .rows_affected();
    let retrying = move_deliveries(
        &mut tx,
        &BulkMove {
            update_id: id,
            from: &[DeliveryState::Failed],
            to: DeliveryState::Pending,
            set: "next_attempt_at = NULL, lease_until = NULL",
            cause: None,
            detail: &reason,
            at_ms,
        },
        |query| {
            query.push(" AND next_attempt_at IS NOT NULL");
        },
    )
    .await?;
    let held = pending + retrying;
    log(
        &mut tx,
        id,
        at_ms,
        "paused",
        Some(by),
        Some(&format!("{held} deliveries held")),
    )
    .await?;
    tx.commit().await?;
    Ok(held)
}

pub(super) async fn refuse_start(
    store: &PostgresStore,
    id: i64,
    reason: &str,
    at_ms: i64,
) -> Result<bool> {
    let mut tx = store.pool().begin().await?;
    // Two instances refusing at once: the second waits for the first's row and, rechecking,
    // finds the reason recorded.
    let recorded = sqlx::query(
        "UPDATE updates SET start_refused = $1, start_refused_at = $2 \
         WHERE id = $3 AND start_refused IS DISTINCT FROM $1",
    )
    .bind(reason)
    .bind(at_ms)
    .bind(id)
    .execute(&mut *tx)
    .await?
    .rows_affected()
        > 0;
    if recorded {
        log(&mut tx, id, at_ms, "not started", None, Some(reason)).await?;
    }
    tx.commit().await?;
    Ok(recorded)
}

pub(super) async fn start_refusal(store: &PostgresStore, id: i64) -> Result<Option<StartRefusal>> {
    let row: Option<(Option<String>, Option<i64>)> =
        sqlx::query_as("SELECT start_refused, start_refused_at FROM updates WHERE id = $1")
            .bind(id)
            .fetch_optional(store.pool())
            .await?;
    match row {
        None => Err(StoreError::NotFound(format!("update {id}"))),
        Some((Some(reason), Some(at_ms))) => Ok(Some(StartRefusal { at_ms, reason })),
        Some(_) => Ok(None),
    }
}

#[cfg(test)]
mod tests {
    use super::super::testing;
    use super::*;
    use crate::domain::{ChannelKind, Language, RenderedMessage};
    use crate::store::{NewDelivery, QueueStore};

    /// An update being sent, and a contact to deliver it to.
    async fn sending_update(store: &PostgresStore) -> (i64, i64) {
        let pool = store.pool();
        sqlx::query("INSERT INTO incidents (id, title, opened_at) VALUES ('fire', 'Fire', 0)")
            .execute(pool)
            .await
            .expect("incident");
        let update: i64 = sqlx::query_scalar(
            "INSERT INTO updates (incident_id, kind, audiences, channels, appointments, state, \
             author, created_at) VALUES ('fire', 'alert', '[\"staff\"]', 'email,sms', \
             'as-planned', 'sending', 'ann', 0) RETURNING id",
        )
        .fetch_one(pool)
        .await
        .expect("update");
        let contact: i64 = sqlx::query_scalar(
            "INSERT INTO contacts (external_id, role, first_name, last_name, created_at, \
             updated_at) VALUES ('S1', 'staff', 'Sam', 'Peeters', 0, 0) RETURNING id",
        )
        .fetch_one(pool)
        .await
        .expect("contact");
        (update, contact)
    }

    /// A delivery of `update` in `state`; `contact_id` is free of the unique key's worries
    /// because each one gets its own channel or contact from the caller.
    async fn delivery(
        store: &PostgresStore,
        update: i64,
        contact: i64,
        channel: ChannelKind,
        state: &str,
        next_attempt_at: Option<i64>,
        last_error: Option<&str>,
    ) -> i64 {
        sqlx::query_scalar(
            "INSERT INTO deliveries (update_id, contact_id, channel, address, language, state, \
             attempts, next_attempt_at, lease_until, last_error, updated_at) \
             VALUES ($1, $2, $3, 'a@example.org', 'nl', $4, 1, $5, \
             CASE WHEN $4 = 'sending' THEN 500 END, $6, 0) RETURNING id",
        )
        .bind(update)
        .bind(contact)
        .bind(channel.as_str())
        .bind(state)
        .bind(next_attempt_at)
        .bind(last_error)
        .fetch_one(store.pool())
        .await
        .expect("delivery")
    }

    async fn more_contacts(store: &PostgresStore, count: i64) -> Vec<i64> {
        sqlx::query_scalar(
            "INSERT INTO contacts (external_id, role, first_name, last_name, created_at, \
             updated_at) SELECT 'S' || n, 'staff', 'Sam', 'Peeters', 0, 0 \
             FROM generate_series(2, $1 + 1) n RETURNING id",
        )
        .bind(count)
        .fetch_all(store.pool())
        .await
        .expect("contacts")
    }

    /// What the queue's `record` does with a handover: only while the delivery is still
    /// being sent under the worker's lease.
    const HANDOVER: &str = "UPDATE deliveries SET handed_over_at = 700, updated_at = 700 \
         WHERE id = $1 AND state = 'sending' AND lease_until = 500";

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_handover_committed_while_a_halt_waits_keeps_its_delivery() {
        let Some(store) = testing::store("halt_waits_for_handover").await else {
            return;
        };
        let (update, contact) = sending_update(&store).await;
        let handed = delivery(
            &store,
            update,
            contact,
            ChannelKind::Email,
            "sending",
            Some(500),
            None,
        )
        .await;
        let pending = delivery(
            &store,
            update,
            contact,
            ChannelKind::Sms,
            "pending",
            Some(0),
            None,
        )
        .await;
        let mut worker = store.pool().begin().await.expect("worker");
        let moved = sqlx::query(HANDOVER)
            .bind(handed)
            .execute(&mut *worker)
            .await
            .expect("handover");
        assert_eq!(moved.rows_affected(), 1);
        let store = std::sync::Arc::new(store);
        let halting = {
            let store = std::sync::Arc::clone(&store);
            tokio::spawn(async move { halt_update(&store, update, "ann", 800).await })
        };
        // The halt reaches the handed-over row and waits for its lock.
        tokio::time::sleep(std::time::Duration::from_millis(300)).await;
        assert!(!halting.is_finished(), "the halt waits for the worker");
        worker.commit().await.expect("commit the handover");
        let cancelled = halting.await.expect("join").expect("halt");
        assert_eq!(cancelled, 1, "only the pending one");
        let states: Vec<(i64, String, Option<i64>)> =
            sqlx::query_as("SELECT id, state, handed_over_at FROM deliveries ORDER BY id")
                .fetch_all(store.pool())
                .await
                .expect("states");
        assert_eq!(
            states,
            vec![
                (handed, "sending".to_string(), Some(700)),
                (pending, "cancelled".to_string(), None)
            ]
        );
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn no_delivery_ends_both_cancelled_and_handed_over() {
        let Some(store) = testing::store("halt_races_handovers").await else {
            return;
        };
        let (update, _) = sending_update(&store).await;
        let mut ids = Vec::new();
        for contact in more_contacts(&store, 300).await {
            ids.push(
                delivery(
                    &store,
                    update,
                    contact,
                    ChannelKind::Email,
                    "sending",
                    Some(500),
                    None,
                )
                .await,
            );
        }
        let store = std::sync::Arc::new(store);
        // Workers hand over from both ends while the halt runs.
        let workers: Vec<_> = [ids.clone(), ids.iter().rev().copied().collect()]
            .into_iter()
            .map(|order| {
                let store = std::sync::Arc::clone(&store);
                tokio::spawn(async move {
                    let mut handed = Vec::new();
                    for id in order {
                        let done = sqlx::query(HANDOVER)
                            .bind(id)
                            .execute(store.pool())
                            .await
                            .expect("handover");
                        if done.rows_affected() == 1 {
                            handed.push(id);
                        }
                    }
                    handed
                })
            })
            .collect();
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
        let cancelled = halt_update(&store, update, "ann", 800).await.expect("halt");
        let mut handed = Vec::new();
        for worker in workers {
            handed.extend(worker.await.expect("join"));
        }
        handed.sort_unstable();
        handed.dedup();
        let (cancelled_rows, handed_rows, both): (i64, i64, i64) = sqlx::query_as(
            "SELECT COUNT(*) FILTER (WHERE state = 'cancelled'), \
             COUNT(*) FILTER (WHERE handed_over_at IS NOT NULL), \
             COUNT(*) FILTER (WHERE state = 'cancelled' AND handed_over_at IS NOT NULL) \
             FROM deliveries",
        )
        .fetch_one(store.pool())
        .await
        .expect("count");
        assert_eq!(both, 0);
        assert_eq!(cancelled_rows, i64::try_from(cancelled).expect("count"));
        assert_eq!(handed_rows, i64::try_from(handed.len()).expect("count"));
        assert_eq!(cancelled as usize + handed.len(), ids.len());
        let events: i64 = sqlx::query_scalar(
            "SELECT COUNT(*) FROM delivery_events WHERE from_state = 'sending' \
             AND to_state = 'cancelled' AND detail = 'halted by ann'",
        )
        .fetch_one(store.pool())
        .await
        .expect("events");
        assert_eq!(events, cancelled_rows);
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_halt_waits_for_a_plan_being_written_and_cancels_its_deliveries() {
        let Some(store) = testing::store("halt_waits_for_plan").await else {
            return;
        };
        let (update, contact) = sending_update(&store).await;
        let mut plan = store.begin_plan(100).await.expect("plan");
        let row = NewDelivery {
            update_id: update,
            contact_id: contact,
            channel: ChannelKind::Email,
            address: Some("a@example.org".to_string()),
            language: Language::Nl,
            content: RenderedMessage {
                subject: Some("Brand".to_string()),
                body: "Er is brand.".to_string(),
                body_html: None,
            },
            state: DeliveryState::Pending,
            detail: None,
        };
        assert_eq!(plan.insert(&[row]).await.expect("insert"), 1);
        let store = std::sync::Arc::new(store);
        let halting = {
            let store = std::sync::Arc::clone(&store);
            tokio::spawn(async move { halt_update(&store, update, "ann", 800).await })
        };
        tokio::time::sleep(std::time::Duration::from_millis(300)).await;
        assert!(!halting.is_finished(), "the halt waits for the plan");
        plan.commit(update, 200).await.expect("commit the plan");
        assert_eq!(halting.await.expect("join").expect("halt"), 1);
        let state: String = sqlx::query_scalar("SELECT state FROM deliveries")
            .fetch_one(store.pool())
            .await
            .expect("state");
        assert_eq!(state, "cancelled");
    }

    #[tokio::test]
    async fn a_retry_moves_only_what_its_filter_chooses() {
        let Some(store) = testing::store("retry_filter").await else {
            return;
        };
        let (update, contact) = sending_update(&store).await;
        let others = more_contacts(&store, 4).await;
        let full = delivery(
            &store,
            update,
            contact,
            ChannelKind::Email,
            "failed",
            None,
            Some("550 Mailbox FULL"),
        )
        .await;
        // Another reason, another channel, a state not retried, a state not asked for.
        for (contact, channel, state, error) in [
            (others[0], ChannelKind::Email, "failed", "timeout"),
            (contact, ChannelKind::Sms, "failed", "mailbox full"),
            (others[1], ChannelKind::Email, "sent", "mailbox full"),
            (others[2], ChannelKind::Email, "uncertain", "mailbox full"),
        ] {
            delivery(&store, update, contact, channel, state, None, Some(error)).await;
        }
        let filter = RetryFilter {
            channel: Some(ChannelKind::Email),
            states: vec![DeliveryState::Failed, DeliveryState::Sent],
            reason: Some("mailbox full".to_string()),
        };
        let retried = retry_deliveries(&store, update, &filter, "bob", 900)
            .await
            .expect("retry");
        assert_eq!(retried, 1);
        let rows: Vec<(i64, String, i32, Option<i64>)> = sqlx::query_as(
            "SELECT id, state, attempts, next_attempt_at FROM deliveries ORDER BY id",
        )
        .fetch_all(store.pool())
        .await
        .expect("rows");
        for (id, state, attempts, next) in rows {
            if id == full {
                assert_eq!((state.as_str(), attempts, next), ("pending", 0, Some(900)));
            } else {
                assert_ne!(state, "pending", "delivery {id} moved");
            }
        }
        let events: Vec<(i64, Option<String>, String)> =
            sqlx::query_as("SELECT delivery_id, from_state, to_state FROM delivery_events")
                .fetch_all(store.pool())
                .await
                .expect("events");
        assert_eq!(
            events,
            vec![(full, Some("failed".to_string()), "pending".to_string())]
        );
        let logged = update_events(&store, update).await.expect("log");
        assert_eq!(logged.len(), 1);
        assert_eq!(logged[0].action, "retried");
        assert_eq!(
            logged[0].detail.as_deref(),
            Some("1 deliveries (failed, sent) on email failing with \"mailbox full\"")
        );
    }
}
