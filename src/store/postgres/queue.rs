//! The delivery queue of PostgreSQL: planning (`plan.rs`), claims and transitions
//! (`claim.rs`), what is left of an update, and the gateways' breakers.

use super::{claim, plan, PostgresStore};
use crate::store::{
    Backlog, BreakerRecord, ClaimedDelivery, FallbackDue, FallbackPlan, FallbackRule, PlanWriter,
    QueueStore, Result, Transition,
};
use async_trait::async_trait;

#[async_trait]
impl QueueStore for PostgresStore {
    async fn begin_plan(&self, due_at_ms: i64) -> Result<Box<dyn PlanWriter>> {
        plan::begin_plan(self, due_at_ms).await
    }

    async fn claim_due(
        &self,
        update_id: i64,
        now_ms: i64,
        lease_until_ms: i64,
        limit: u32,
    ) -> Result<Vec<ClaimedDelivery>> {
        claim::claim_due(self, update_id, now_ms, lease_until_ms, limit).await
    }

    async fn record(&self, transitions: &[Transition]) -> Result<Vec<bool>> {
        claim::record(self, transitions).await
    }

    async fn backlog(&self, update_id: i64) -> Result<Backlog> {
        let (open, held, next_due): (i64, i64, Option<i64>) = sqlx::query_as(
            "SELECT COUNT(next_attempt_at), COUNT(*) - COUNT(next_attempt_at), \
             MIN(next_attempt_at) FROM deliveries \
             WHERE update_id = $1 AND (state IN ('pending', 'sending') \
               OR (state = 'failed' AND next_attempt_at IS NOT NULL))",
        )
        .bind(update_id)
        .fetch_one(self.pool())
        .await?;
        Ok(Backlog {
            open: u64::try_from(open).unwrap_or_default(),
            held: u64::try_from(held).unwrap_or_default(),
            next_due_ms: next_due,
        })
    }

    async fn fallback_due(
        &self,
        update_id: i64,
        rule: &FallbackRule,
        after_id: i64,
        limit: u32,
    ) -> Result<Vec<FallbackDue>> {
        plan::fallback_due(self, update_id, rule, after_id, limit).await
    }

    async fn plan_fallback(
        &self,
        rule: &FallbackRule,
        plans: &[FallbackPlan],
        at_ms: i64,
    ) -> Result<u64> {
        plan::plan_fallback(self, rule, plans, at_ms).await
    }

    async fn record_breaker(&self, record: &BreakerRecord) -> Result<()> {
        // One statement: two processes recording at once meet on the row, and the later
        // change (by `since`) stays, whichever of them writes last.
        sqlx::query(
            "INSERT INTO gateway_breakers (gateway, state, since, last_error) \
             VALUES ($1, $2, $3, $4) ON CONFLICT (gateway) DO UPDATE SET state = excluded.state, \
             since = excluded.since, \
             last_error = COALESCE(excluded.last_error, gateway_breakers.last_error) \
             WHERE excluded.since >= gateway_breakers.since",
        )
        .bind(&record.gateway)
        .bind(&record.state)
        .bind(record.since_ms)
        .bind(record.last_error.as_deref())
        .execute(self.pool())
        .await?;
        Ok(())
    }

    async fn breakers(&self) -> Result<Vec<BreakerRecord>> {
        // By the names' bytes, as SQLite sorts them, whatever the database's collation.
        let rows: Vec<(String, String, i64, Option<String>)> = sqlx::query_as(
            "SELECT gateway, state, since, last_error FROM gateway_breakers \
             ORDER BY gateway COLLATE \"C\"",
        )
        .fetch_all(self.pool())
        .await?;
        Ok(rows
            .into_iter()
            .map(|(gateway, state, since_ms, last_error)| BreakerRecord {
                gateway,
                state,
                since_ms,
                last_error,
            })
            .collect())
    }
}

/// A broadcast to set up with plain SQL, where the roles that would write it are not this
/// module's.
#[cfg(test)]
pub(super) mod fixture {
    use crate::domain::{ChannelKind, DeliveryState, Language, RenderedMessage};
    use crate::store::postgres::PostgresStore;
    use crate::store::{NewDelivery, QueueStore};

    pub const T0: i64 = 1_767_225_600_000;

    /// An update with `contacts` contacts, each with a pending e-mail delivery due at `T0`
    /// (every third one long enough to be packed against a dictionary).
    pub async fn broadcast(store: &PostgresStore, contacts: usize) -> i64 {
        let pool = store.pool();
        sqlx::query("INSERT INTO incidents (id, title, opened_at) VALUES ('outage', 'Outage', $1)")
            .bind(T0)
            .execute(pool)
            .await
            .expect("incident");
        let update: i64 = sqlx::query_scalar(
            "INSERT INTO updates (incident_id, kind, audiences, channels, appointments, state, \
             author, created_at) VALUES ('outage', 'alert', 'journalists', 'email', \
             'as-planned', 'sending', 'ann', $1) RETURNING id",
        )
        .bind(T0)
        .fetch_one(pool)
        .await
        .expect("update");
        let ids: Vec<i64> = sqlx::query_scalar(
            "INSERT INTO contacts (external_id, role, first_name, last_name, email, created_at, \
             updated_at) SELECT 'J' || n, 'journalist', 'Jo', 'Smith', 'j' || n || '@example.org', \
             $2, $2 FROM generate_series(1, $1) AS n RETURNING id",
        )
        .bind(i64::try_from(contacts).expect("a count"))
        .bind(T0)
        .fetch_all(pool)
        .await
        .expect("contacts");
        let rows: Vec<NewDelivery> = ids
            .iter()
            .map(|id| NewDelivery {
                update_id: update,
                contact_id: *id,
                channel: ChannelKind::Email,
                address: Some(format!("j{id}@example.org")),
                language: Language::En,
                content: RenderedMessage {
                    subject: Some("Outage".to_string()),
                    body: if id % 3 == 0 {
                        format!(
                            "Dear {id}, {}",
                            "the hospital's systems are down. ".repeat(40)
                        )
                    } else {
                        format!("Dear {id}, the hospital's systems are down.")
                    },
                    body_html: None,
                },
                state: DeliveryState::Pending,
                detail: None,
            })
            .collect();
        let mut plan = store.begin_plan(T0).await.expect("plan");
        assert_eq!(plan.insert(&rows).await.expect("insert"), contacts as u64);
        plan.commit(update, T0).await.expect("commit");
        update
    }

    /// `(from, to, detail)` of every event of a delivery, oldest first.
    pub async fn events(
        store: &PostgresStore,
        delivery_id: i64,
    ) -> Vec<(Option<String>, String, Option<String>)> {
        sqlx::query_as(
            "SELECT from_state, to_state, detail FROM delivery_events WHERE delivery_id = $1 \
             ORDER BY id",
        )
        .bind(delivery_id)
        .fetch_all(store.pool())
        .await
        .expect("events")
    }
}

#[cfg(test)]
mod tests {
    use super::fixture::{broadcast, T0};
    use crate::store::postgres::testing;
    use crate::store::{BreakerRecord, QueueStore};

    #[tokio::test]
    async fn the_backlog_counts_what_is_due_and_a_breaker_keeps_its_latest_change() {
        let Some(store) = testing::store("backlog_breakers").await else {
            return;
        };
        let update = broadcast(&store, 3).await;
        let backlog = store.backlog(update).await.expect("backlog");
        assert_eq!(
            (backlog.open, backlog.held, backlog.next_due_ms),
            (3, 0, Some(T0))
        );
        let breaker = |state: &str, since_ms: i64, last_error: Option<&str>| BreakerRecord {
            gateway: "kannel".to_string(),
            state: state.to_string(),
            since_ms,
            last_error: last_error.map(str::to_string),
        };
        let open = breaker("open", T0 + 2, Some("503"));
        store.record_breaker(&open).await.expect("open");
        store
            .record_breaker(&breaker("closed", T0 + 1, None))
            .await
            .expect("an earlier change, recorded late");
        assert_eq!(store.breakers().await.expect("breakers"), [open]);
        store
            .record_breaker(&breaker("half-open", T0 + 3, None))
            .await
            .expect("half-open");
        assert_eq!(
            store.breakers().await.expect("breakers"),
            [breaker("half-open", T0 + 3, Some("503"))]
        );
    }
}
