//! What became of an update's deliveries, on PostgreSQL: counts, failures, the contacts
//! nobody reached, one delivery's history, and the mark a dashboard polls.
//!
//! Orders on text compare bytes (`COLLATE "C"`) and put NULLs first, as SQLite does.

use super::messages;
use super::PostgresStore;
use crate::domain::ChannelKind;
use crate::store::rows::{
    contact_from_row, failure_row_from_row, parse_col, status_row_from_row, unreached_from_rows,
    CONTACT_COLUMNS,
};
use crate::store::{
    FailureRow, ProgressMark, ReportStore, Result, StatusRow, StoreError, StoredDelivery, Unreached,
};
use async_trait::async_trait;
use sqlx::Row;

#[async_trait]
impl ReportStore for PostgresStore {
    async fn delivery(
        &self,
        update_id: i64,
        contact_id: i64,
        channel: ChannelKind,
    ) -> Result<Option<StoredDelivery>> {
        delivery(self, update_id, contact_id, channel).await
    }

    async fn progress_mark(&self, update_id: i64) -> Result<ProgressMark> {
        progress_mark(self, update_id).await
    }

    async fn status(&self, update_id: i64) -> Result<Vec<StatusRow>> {
        status(self, update_id).await
    }

    async fn failure_reasons(&self, update_id: i64) -> Result<Vec<FailureRow>> {
        failure_reasons(self, update_id).await
    }

    async fn unreached(&self, update_id: i64) -> Result<Vec<Unreached>> {
        unreached(self, update_id).await
    }

    async fn events(
        &self,
        delivery_id: i64,
    ) -> Result<Vec<(Option<String>, String, Option<String>)>> {
        events(self, delivery_id).await
    }
}

async fn delivery(
    store: &PostgresStore,
    update_id: i64,
    contact_id: i64,
    channel: ChannelKind,
) -> Result<Option<StoredDelivery>> {
    let mut connection = store.pool().acquire().await?;
    let row = sqlx::query(
        "SELECT id, channel, address, language, state, attempts, gateway_id, last_error \
         FROM deliveries WHERE update_id = $1 AND contact_id = $2 AND channel = $3",
    )
    .bind(update_id)
    .bind(contact_id)
    .bind(channel.as_str())
    .fetch_optional(&mut *connection)
    .await?;
    let Some(row) = row else {
        return Ok(None);
    };
    let id: i64 = row.try_get("id")?;
    // A skipped delivery has no message: an empty one, as on SQLite.
    let content = messages::read(&store.dictionaries, &mut connection, &[id])
        .await?
        .remove(&id)
        .unwrap_or_default();
    let attempts: i32 = row.try_get("attempts")?;
    Ok(Some(StoredDelivery {
        id,
        channel: parse_col(&row, "channel")?,
        address: row.try_get("address")?,
        language: parse_col(&row, "language")?,
        content,
        state: parse_col(&row, "state")?,
        attempts: u32::try_from(attempts).unwrap_or_default(),
        gateway_id: row.try_get("gateway_id")?,
        last_error: row.try_get("last_error")?,
    }))
}

async fn progress_mark(store: &PostgresStore, update_id: i64) -> Result<ProgressMark> {
    // MAX of the primary key, and of an index's last column under an equality on its first:
    // each one descent of a B-tree, however many events there are.
    //
    // Ids are drawn when a row is inserted, not when it commits: an event committed after a
    // later one was read shows in the mark only with the next event, or to a poller that
    // reads the counts again after a while anyway (`web::progress::READ_AGAIN_AFTER`).
    let (state, paused, last_delivery_event, last_update_event, breakers): (
        String,
        Option<String>,
        Option<i64>,
        Option<i64>,
        Option<String>,
    ) = sqlx::query_as(
        "SELECT state, paused_reason, (SELECT MAX(id) FROM delivery_events), \
         (SELECT MAX(id) FROM update_events WHERE update_events.update_id = updates.id), \
         (SELECT string_agg(b.gateway || ' ' || b.state || ' ' || b.since || ' ' \
            || COALESCE(b.last_error, ''), E'\\n' ORDER BY b.gateway COLLATE \"C\") \
          FROM gateway_breakers b) \
         FROM updates WHERE id = $1",
    )
    .bind(update_id)
    .fetch_optional(store.pool())
    .await?
    .ok_or_else(|| StoreError::NotFound(format!("update {update_id}")))?;
    Ok(ProgressMark {
        state: state.parse().map_err(StoreError::Corrupt)?,
        paused,
        last_delivery_event,
        last_update_event,
        breakers,
    })
}

async fn status(store: &PostgresStore, update_id: i64) -> Result<Vec<StatusRow>> {
    // The gateway's name is what comes before the first colon of a gateway id
    // (`GatewayId`'s written form), for an SMS only.
    let rows = sqlx::query(
        "SELECT d.state, d.channel, d.language, c.role, \
           CASE WHEN d.channel = 'sms' AND strpos(d.gateway_id, ':') > 1 \
             THEN split_part(d.gateway_id, ':', 1) END AS gateway, \
           COUNT(*) AS n FROM deliveries d JOIN contacts c ON c.id = d.contact_id \
         WHERE d.update_id = $1 GROUP BY 1, 2, 3, 4, 5",
    )
    .bind(update_id)
    .fetch_all(store.pool())
    .await?;
    rows.iter().map(status_row_from_row).collect()
}

async fn failure_reasons(store: &PostgresStore, update_id: i64) -> Result<Vec<FailureRow>> {
    let rows = sqlx::query(
        "SELECT channel, state, last_error, COUNT(*) AS n FROM deliveries \
         WHERE update_id = $1 AND state IN ('failed', 'undeliverable', 'uncertain') \
         GROUP BY channel, state, last_error \
         ORDER BY n DESC, channel COLLATE \"C\", state COLLATE \"C\", \
           last_error COLLATE \"C\" NULLS FIRST",
    )
    .bind(update_id)
    .fetch_all(store.pool())
    .await?;
    rows.iter().map(failure_row_from_row).collect()
}

async fn unreached(store: &PostgresStore, update_id: i64) -> Result<Vec<Unreached>> {
    // A public follower or channel is a chat the call centre cannot call: not listed.
    let rows = sqlx::query(&format!(
        "SELECT {CONTACT_COLUMNS} \
         FROM deliveries d JOIN contacts c ON c.id = d.contact_id \
         WHERE d.update_id = $1 AND c.role <> 'public' GROUP BY c.id \
         HAVING COUNT(*) FILTER (WHERE d.state IN ('sent', 'delivered')) = 0 \
            AND COUNT(*) FILTER (WHERE d.state IN ('pending', 'sending') \
                 OR (d.state = 'failed' AND d.next_attempt_at IS NOT NULL)) = 0 \
         ORDER BY c.last_name COLLATE \"C\", c.first_name COLLATE \"C\", c.id"
    ))
    .bind(update_id)
    .fetch_all(store.pool())
    .await?;
    let contacts = rows
        .iter()
        .map(contact_from_row)
        .collect::<Result<Vec<_>>>()?;
    // After a halt or a stopped channel the list is the whole audience: their deliveries
    // are read in one query, in the order they were planned (the first channel tried, then
    // its fallback).
    let ids: Vec<i64> = contacts.iter().map(|contact| contact.id).collect();
    let deliveries = sqlx::query(
        "SELECT contact_id, channel, state, last_error FROM deliveries \
         WHERE update_id = $1 AND contact_id = ANY($2) ORDER BY contact_id, id",
    )
    .bind(update_id)
    .bind(&ids)
    .fetch_all(store.pool())
    .await?;
    unreached_from_rows(contacts, &deliveries)
}

async fn events(
    store: &PostgresStore,
    delivery_id: i64,
) -> Result<Vec<(Option<String>, String, Option<String>)>> {
    Ok(sqlx::query_as(
        "SELECT from_state, to_state, detail FROM delivery_events \
         WHERE delivery_id = $1 ORDER BY id",
    )
    .bind(delivery_id)
    .fetch_all(store.pool())
    .await?)
}

#[cfg(test)]
mod tests {
    use super::super::testing;
    use super::*;
    use crate::domain::DeliveryState;

    #[tokio::test]
    async fn the_mark_moves_with_any_delivery_event() {
        let Some(store) = testing::store("progress_mark").await else {
            return;
        };
        let pool = store.pool();
        sqlx::query("INSERT INTO incidents (id, title, opened_at) VALUES ('fire', 'Fire', 0)")
            .execute(pool)
            .await
            .expect("incident");
        let updates: Vec<i64> = sqlx::query_scalar(
            "INSERT INTO updates (incident_id, kind, audiences, channels, appointments, state, \
             author, created_at) SELECT 'fire', 'alert', '[]', 'sms', 'as-planned', 'sending', \
             'ann', 0 FROM generate_series(1, 2) RETURNING id",
        )
        .fetch_all(pool)
        .await
        .expect("updates");
        let contact: i64 = sqlx::query_scalar(
            "INSERT INTO contacts (external_id, role, first_name, last_name, created_at, \
             updated_at) VALUES ('S1', 'staff', 'Sam', 'Peeters', 0, 0) RETURNING id",
        )
        .fetch_one(pool)
        .await
        .expect("contact");
        // A delivery of the other update: the mark is global, its moves count too.
        let delivery: i64 = sqlx::query_scalar(
            "INSERT INTO deliveries (update_id, contact_id, channel, address, language, state, \
             updated_at) VALUES ($1, $2, 'sms', '+32470000000', 'nl', 'pending', 0) \
             RETURNING id",
        )
        .bind(updates[1])
        .bind(contact)
        .fetch_one(pool)
        .await
        .expect("delivery");
        let before = progress_mark(&store, updates[0]).await.expect("mark");
        assert_eq!(before.last_delivery_event, None);
        assert_eq!(
            progress_mark(&store, updates[0]).await.expect("mark"),
            before
        );

        let event: i64 = sqlx::query_scalar(
            "INSERT INTO delivery_events (delivery_id, at, from_state, to_state) \
             VALUES ($1, 5, 'pending', 'sending') RETURNING id",
        )
        .bind(delivery)
        .fetch_one(pool)
        .await
        .expect("event");
        let after = progress_mark(&store, updates[0]).await.expect("mark");
        assert_eq!(after.last_delivery_event, Some(event));
        assert_ne!(after, before);

        sqlx::query(
            "INSERT INTO gateway_breakers (gateway, state, since, last_error) \
             VALUES ('b', 'open', 7, 'down'), ('a', 'closed', 6, NULL)",
        )
        .execute(pool)
        .await
        .expect("breakers");
        let mark = progress_mark(&store, updates[0]).await.expect("mark");
        assert_eq!(mark.breakers.as_deref(), Some("a closed 6 \nb open 7 down"));
        assert!(matches!(
            progress_mark(&store, updates[1] + 1).await,
            Err(StoreError::NotFound(_))
        ));
    }

    #[tokio::test]
    async fn counts_failures_and_the_unreached_read_as_on_sqlite() {
        let Some(store) = testing::store("report_counts").await else {
            return;
        };
        let pool = store.pool();
        sqlx::query("INSERT INTO incidents (id, title, opened_at) VALUES ('fire', 'Fire', 0)")
            .execute(pool)
            .await
            .expect("incident");
        let update: i64 = sqlx::query_scalar(
            "INSERT INTO updates (incident_id, kind, audiences, channels, appointments, state, \
             author, created_at) VALUES ('fire', 'alert', '[]', 'sms,email', 'as-planned', \
             'sent', 'ann', 0) RETURNING id",
        )
        .fetch_one(pool)
        .await
        .expect("update");
        // Zoë sorts after Zoe byte by byte; Ann was reached; the public chat is never listed.
        let contacts: Vec<i64> = sqlx::query_scalar(
            "INSERT INTO contacts (external_id, role, first_name, last_name, created_at, \
             updated_at) VALUES ('P1', 'patient', 'Zoë', 'Maes', 0, 0), \
             ('P2', 'patient', 'Zoe', 'Maes', 0, 0), ('P3', 'patient', 'Ann', 'Aerts', 0, 0), \
             ('T1', 'public', 'Chat', 'Chat', 0, 0) RETURNING id",
        )
        .fetch_all(pool)
        .await
        .expect("contacts");
        for (contact, channel, state, gateway_id, error) in [
            (0, "sms", "failed", None, Some("no route")),
            (0, "email", "undeliverable", None, None),
            (1, "sms", "failed", None, Some("no route")),
            (2, "sms", "sent", Some("kannel:17"), None),
            (3, "telegram", "failed", None, Some("blocked")),
        ] {
            sqlx::query(
                "INSERT INTO deliveries (update_id, contact_id, channel, address, language, \
                 state, gateway_id, last_error, updated_at) \
                 VALUES ($1, $2, $3, 'x', 'nl', $4, $5, $6, 0)",
            )
            .bind(update)
            .bind(contacts[contact])
            .bind(channel)
            .bind(state)
            .bind(gateway_id)
            .bind(error)
            .execute(pool)
            .await
            .expect("delivery");
        }
        let status = status(&store, update).await.expect("status");
        let sent: Vec<_> = status
            .iter()
            .filter(|row| row.state == DeliveryState::Sent)
            .collect();
        assert_eq!(sent.len(), 1);
        assert_eq!(sent[0].gateway.as_deref(), Some("kannel"));
        assert_eq!(status.iter().map(|row| row.count).sum::<u64>(), 5);

        let failures = failure_reasons(&store, update).await.expect("failures");
        let failures: Vec<_> = failures
            .iter()
            .map(|row| {
                (
                    row.channel.as_str(),
                    row.state.as_str(),
                    row.reason.as_deref(),
                    row.count,
                )
            })
            .collect();
        assert_eq!(
            failures,
            vec![
                ("sms", "failed", Some("no route"), 2),
                ("email", "undeliverable", None, 1),
                ("telegram", "failed", Some("blocked"), 1),
            ]
        );

        let unreached = unreached(&store, update).await.expect("unreached");
        let names: Vec<_> = unreached
            .iter()
            .map(|unreached| {
                (
                    unreached.contact.first_name.as_str(),
                    unreached.deliveries.len(),
                )
            })
            .collect();
        assert_eq!(names, vec![("Zoe", 1), ("Zoë", 2)]);
        assert_eq!(
            unreached[1].deliveries[0].to_string(),
            "sms: failed (no route)"
        );
    }
}
