//! What a person does to an update once it exists: discard a draft, revoke an approval, halt
//! a broadcast, send again what failed; and what a stopped run leaves (a pause, deliveries
//! held back). Each is one transaction, logged in `update_events` with who asked.

use super::lists::{push_in, ROWS_PER_STATEMENT};
use super::SqliteStore;
use crate::domain::DeliveryState;
use crate::store::rows::{review_from_row, update_event_from_row};
use crate::store::{Result, RetryFilter, Review, StartRefusal, StoreError, UpdateEvent, Verdict};
use sqlx::{QueryBuilder, Sqlite, Transaction};

/// Appends a person's (or, with `by` None, the dispatcher's) action to the update's log.
pub(super) async fn log(
    tx: &mut Transaction<'static, Sqlite>,
    update_id: i64,
    at_ms: i64,
    action: &str,
    by: Option<&str>,
    detail: Option<&str>,
) -> Result<()> {
    sqlx::query(
        "INSERT INTO update_events (update_id, at, action, by_whom, detail) \
         VALUES (?, ?, ?, ?, ?)",
    )
    .bind(update_id)
    .bind(at_ms)
    .bind(action)
    .bind(by)
    .bind(detail)
    .execute(&mut **tx)
    .await?;
    Ok(())
}

/// Moves the update from one of `from` to `to`; NotFound naming what was expected otherwise.
async fn move_update(
    tx: &mut Transaction<'static, Sqlite>,
    id: i64,
    from: &[&str],
    to: &str,
    expected: &str,
) -> Result<()> {
    let mut query = QueryBuilder::<Sqlite>::new("UPDATE updates SET state = ");
    query.push_bind(to).push(" WHERE id = ").push_bind(id);
    query.push(" AND state");
    push_in(&mut query, from.iter().copied());
    if query.build().execute(&mut **tx).await?.rows_affected() == 0 {
        return Err(StoreError::NotFound(format!("{expected} update {id}")));
    }
    Ok(())
}

/// Moves `rows` (id, current state) to `to`, also setting the columns of `set` (SQL of
/// ours, no input), with one event each saying `detail`; `cause` becomes the last error.
async fn move_deliveries(
    tx: &mut Transaction<'static, Sqlite>,
    rows: &[(i64, String)],
    to: DeliveryState,
    set: &str,
    cause: Option<&str>,
    detail: &str,
    at_ms: i64,
) -> Result<()> {
    for chunk in rows.chunks(ROWS_PER_STATEMENT) {
        let mut update = QueryBuilder::<Sqlite>::new("UPDATE deliveries SET state = ");
        update.push_bind(to.as_str()).push(", ").push(set);
        if let Some(cause) = cause {
            update.push(", last_error = ").push_bind(cause);
        }
        update
            .push(", updated_at = ")
            .push_bind(at_ms)
            .push(" WHERE id");
        push_in(&mut update, chunk.iter().map(|(id, _)| *id));
        update.build().execute(&mut **tx).await?;
        let mut events = QueryBuilder::<Sqlite>::new(
            "INSERT INTO delivery_events (delivery_id, at, from_state, to_state, detail) ",
        );
        events.push_values(chunk, |mut values, (delivery_id, from)| {
            values
                .push_bind(*delivery_id)
                .push_bind(at_ms)
                .push_bind(from.as_str())
                .push_bind(to.as_str())
                .push_bind(detail);
        });
        events.build().execute(&mut **tx).await?;
    }
    Ok(())
}

pub(super) async fn halt_update(store: &SqliteStore, id: i64, by: &str, at_ms: i64) -> Result<u64> {
    let (_turn, mut tx) = store.begin_write().await?;
    move_update(
        &mut tx,
        id,
        &["approved", "sending", "sent"],
        "halted",
        "approved, sending or sent",
    )
    .await?;
    sqlx::query("UPDATE updates SET halted_by = ?, halted_at = ? WHERE id = ?")
        .bind(by)
        .bind(at_ms)
        .bind(id)
        .execute(&mut *tx)
        .await?;
    let detail = format!("halted by {by}");
    // What has not left: a handed-over delivery is in the server's hands already, and its
    // answer will say what became of it.
    let cancelled: Vec<(i64, String)> = sqlx::query_as(
        "SELECT id, state FROM deliveries WHERE update_id = ? AND (state = 'pending' \
           OR (state = 'failed' AND next_attempt_at IS NOT NULL) \
           OR (state = 'sending' AND handed_over_at IS NULL))",
    )
    .bind(id)
    .fetch_all(&mut *tx)
    .await?;
    move_deliveries(
        &mut tx,
        &cancelled,
        DeliveryState::Cancelled,
        "next_attempt_at = NULL, lease_until = NULL",
        Some(&detail),
        &detail,
        at_ms,
    )
    .await?;
    let count = cancelled.len() as u64;
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
    store: &SqliteStore,
    id: i64,
    by: &str,
    at_ms: i64,
) -> Result<()> {
    let (_turn, mut tx) = store.begin_write().await?;
    move_update(&mut tx, id, &["draft"], "discarded", "draft").await?;
    log(&mut tx, id, at_ms, "discarded", Some(by), None).await?;
    tx.commit().await?;
    Ok(())
}

pub(super) async fn revoke_approval(
    store: &SqliteStore,
    id: i64,
    by: &str,
    at_ms: i64,
) -> Result<()> {
    let (_turn, mut tx) = store.begin_write().await?;
    let done = sqlx::query(
        "UPDATE updates SET state = 'draft', approved_by = NULL, approved_at = NULL, \
         send_at = NULL, start_refused = NULL, start_refused_at = NULL \
         WHERE id = ? AND state = 'approved' AND planned_at IS NULL",
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
    store: &SqliteStore,
    id: i64,
    reason: &str,
    at_ms: i64,
) -> Result<()> {
    let (_turn, mut tx) = store.begin_write().await?;
    sqlx::query("UPDATE updates SET paused_at = ?, paused_reason = ? WHERE id = ?")
        .bind(at_ms)
        .bind(reason)
        .bind(id)
        .execute(&mut *tx)
        .await?;
    log(&mut tx, id, at_ms, "paused", None, Some(reason)).await?;
    tx.commit().await?;
    Ok(())
}

/// Inside `tx`: lifts the pause and makes the held deliveries due at `at_ms`.
async fn unhold(tx: &mut Transaction<'static, Sqlite>, id: i64, at_ms: i64) -> Result<u64> {
    let paused: Option<String> =
        sqlx::query_scalar("SELECT paused_reason FROM updates WHERE id = ?")
            .bind(id)
            .fetch_optional(&mut **tx)
            .await?
            .ok_or_else(|| StoreError::NotFound(format!("update {id}")))?;
    let held = sqlx::query(
        "UPDATE deliveries SET next_attempt_at = ?, updated_at = ? \
         WHERE update_id = ? AND state = 'pending' AND next_attempt_at IS NULL",
    )
    .bind(at_ms)
    .bind(at_ms)
    .bind(id)
    .execute(&mut **tx)
    .await?
    .rows_affected();
    if paused.is_some() {
        sqlx::query("UPDATE updates SET paused_at = NULL, paused_reason = NULL WHERE id = ?")
            .bind(id)
            .execute(&mut **tx)
            .await?;
        log(
            tx,
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

pub(super) async fn resume_update(store: &SqliteStore, id: i64, at_ms: i64) -> Result<u64> {
    let (_turn, mut tx) = store.begin_write().await?;
    let held = unhold(&mut tx, id, at_ms).await?;
    tx.commit().await?;
    Ok(held)
}

pub(super) async fn retry_deliveries(
    store: &SqliteStore,
    id: i64,
    filter: &RetryFilter,
    by: &str,
    at_ms: i64,
) -> Result<u64> {
    let (_turn, mut tx) = store.begin_write().await?;
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
    let mut query =
        QueryBuilder::<Sqlite>::new("SELECT id, state FROM deliveries WHERE update_id = ");
    query.push_bind(id).push(" AND state");
    push_in(
        &mut query,
        filter
            .states
            .iter()
            .filter(|state| state.retryable_on_request())
            .map(|state| state.as_str()),
    );
    if let Some(channel) = filter.channel {
        query.push(" AND channel = ").push_bind(channel.as_str());
    }
    if let Some(reason) = &filter.reason {
        query
            .push(" AND instr(lower(last_error), lower(")
            .push_bind(reason.as_str())
            .push(")) > 0");
    }
    let retried: Vec<(i64, String)> = query.build_query_as().fetch_all(&mut *tx).await?;
    move_deliveries(
        &mut tx,
        &retried,
        DeliveryState::Pending,
        &format!(
            "attempts = 0, lease_until = NULL, handed_over_at = NULL, next_attempt_at = {at_ms}"
        ),
        None,
        &detail,
        at_ms,
    )
    .await?;
    let count = retried.len() as u64;
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

pub(super) async fn update_events(store: &SqliteStore, id: i64) -> Result<Vec<UpdateEvent>> {
    sqlx::query(
        "SELECT at, action, by_whom, detail FROM update_events WHERE update_id = ? ORDER BY id",
    )
    .bind(id)
    .fetch_all(store.pool())
    .await?
    .iter()
    .map(update_event_from_row)
    .collect()
}

/// Appends a reviewer's verdict inside `tx`.
pub(super) async fn review(
    tx: &mut Transaction<'static, Sqlite>,
    update_id: i64,
    at_ms: i64,
    by: &str,
    verdict: Verdict,
    comment: Option<&str>,
) -> Result<()> {
    sqlx::query(
        "INSERT INTO reviews (update_id, at, by_whom, verdict, comment) VALUES (?, ?, ?, ?, ?)",
    )
    .bind(update_id)
    .bind(at_ms)
    .bind(by)
    .bind(verdict.as_str())
    .bind(comment)
    .execute(&mut **tx)
    .await?;
    Ok(())
}

pub(super) async fn return_update(
    store: &SqliteStore,
    id: i64,
    by: &str,
    comment: &str,
    at_ms: i64,
) -> Result<()> {
    let (_turn, mut tx) = store.begin_write().await?;
    let state: Option<String> = sqlx::query_scalar("SELECT state FROM updates WHERE id = ?")
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
pub(super) async fn reviews(store: &SqliteStore, id: Option<i64>) -> Result<Vec<Review>> {
    let rows =
        match id {
            Some(id) => sqlx::query(
                "SELECT update_id, at, by_whom, verdict, comment FROM reviews WHERE update_id = ? \
             ORDER BY id",
            )
            .bind(id)
            .fetch_all(store.pool())
            .await?,
            None => {
                sqlx::query(
                    "SELECT update_id, at, by_whom, verdict, comment FROM reviews \
             WHERE id IN (SELECT MAX(id) FROM reviews GROUP BY update_id) ORDER BY update_id",
                )
                .fetch_all(store.pool())
                .await?
            }
        };
    rows.iter().map(review_from_row).collect()
}

pub(super) async fn schedule_update(
    store: &SqliteStore,
    id: i64,
    send_at_ms: i64,
    by: &str,
    detail: &str,
    at_ms: i64,
) -> Result<()> {
    let (_turn, mut tx) = store.begin_write().await?;
    let done = sqlx::query(
        "UPDATE updates SET send_at = ?, start_refused = NULL, start_refused_at = NULL \
         WHERE id = ? AND state = 'approved' AND planned_at IS NULL",
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

pub(super) async fn hold_update(store: &SqliteStore, id: i64, by: &str, at_ms: i64) -> Result<u64> {
    let (_turn, mut tx) = store.begin_write().await?;
    let reason = format!("paused by {by}");
    let done = sqlx::query(
        "UPDATE updates SET paused_at = ?, paused_reason = ? \
         WHERE id = ? AND state = 'sending' AND paused_at IS NULL",
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
    // same way, their attempts kept: `unhold` makes them all due again.
    let pending = sqlx::query(
        "UPDATE deliveries SET next_attempt_at = NULL, updated_at = ? \
         WHERE update_id = ? AND state = 'pending' AND next_attempt_at IS NOT NULL",
    )
    .bind(at_ms)
    .bind(id)
    .execute(&mut *tx)
    .await?
    .rows_affected();
    let retrying: Vec<(i64, String)> = sqlx::query_as(
        "SELECT id, state FROM deliveries WHERE update_id = ? AND state = 'failed' \
         AND next_attempt_at IS NOT NULL",
    )
    .bind(id)
    .fetch_all(&mut *tx)
    .await?;
    move_deliveries(
        &mut tx,
        &retrying,
        DeliveryState::Pending,
        "next_attempt_at = NULL, lease_until = NULL",
        None,
        &reason,
        at_ms,
    )
    .await?;
    let held = pending + retrying.len() as u64;
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
    store: &SqliteStore,
    id: i64,
    reason: &str,
    at_ms: i64,
) -> Result<bool> {
    let (_turn, mut tx) = store.begin_write().await?;
    let recorded = sqlx::query(
        "UPDATE updates SET start_refused = ?, start_refused_at = ? \
         WHERE id = ? AND start_refused IS NOT ?",
    )
    .bind(reason)
    .bind(at_ms)
    .bind(id)
    .bind(reason)
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

pub(super) async fn start_refusal(store: &SqliteStore, id: i64) -> Result<Option<StartRefusal>> {
    let row: Option<(Option<String>, Option<i64>)> =
        sqlx::query_as("SELECT start_refused, start_refused_at FROM updates WHERE id = ?")
            .bind(id)
            .fetch_optional(store.pool())
            .await?;
    match row {
        None => Err(StoreError::NotFound(format!("update {id}"))),
        Some((Some(reason), Some(at_ms))) => Ok(Some(StartRefusal { at_ms, reason })),
        Some(_) => Ok(None),
    }
}
