//! Planning: deliveries inserted set-wise (`UNNEST`) in one transaction, and the fallbacks
//! planned for SMS that did not arrive.
//!
//! Planning is idempotent under concurrency: a row another plan inserted, committed or not,
//! is left to it (`ON CONFLICT DO NOTHING` waits for that plan's outcome), and a fallback is
//! planned by the sweep whose conditional `UPDATE` marks its SMS, never by two.

use super::messages;
use super::PostgresStore;
use crate::domain::DeliveryState;
use crate::store::messages::Packer;
use crate::store::{
    FallbackDue, FallbackPlan, FallbackRule, NewDelivery, PlanWriter, Result, StoreError,
};
use async_trait::async_trait;
use sqlx::{Postgres, QueryBuilder, Transaction};
use std::collections::HashMap;

/// The SMS deliveries (alias given as `d`, with its dot, or empty) that `rule` sends to the
/// fallback channel.
fn push_fallback_condition(query: &mut QueryBuilder<'_, Postgres>, d: &str, rule: &FallbackRule) {
    query.push(format!(
        "{d}channel = 'sms' AND {d}fallback_at IS NULL \
         AND {d}state IN ('sent', 'failed', 'undeliverable') AND ({d}state = 'undeliverable' \
         OR ({d}state = 'failed' AND {d}next_attempt_at IS NULL)"
    ));
    if let (Some(silent_since), false) = (rule.silent_since_ms, rule.receipt_gateways.is_empty()) {
        // The gateway's name: what comes before the first colon of a `GatewayId`.
        query
            .push(format!(" OR ({d}state = 'sent' AND {d}updated_at <= "))
            .push_bind(silent_since)
            .push(format!(" AND split_part({d}gateway_id, ':', 1) = ANY("))
            .push_bind(rule.receipt_gateways.clone())
            .push("))");
    }
    query.push(")");
}

struct PostgresPlan {
    tx: Transaction<'static, Postgres>,
    packer: Packer,
    /// When pending rows are due: now for a plan, the sweep's time for a fallback.
    due_at_ms: i64,
}

#[async_trait]
impl PlanWriter for PostgresPlan {
    async fn insert(&mut self, rows: &[NewDelivery]) -> Result<u64> {
        if rows.is_empty() {
            return Ok(0);
        }
        let now = self.due_at_ms;
        // The rows written say everything their first event says: both in one statement.
        let created: Vec<(i64, i64, i64, String)> = sqlx::query_as(
            "WITH new AS ( \
               INSERT INTO deliveries (update_id, contact_id, channel, address, language, \
                 state, next_attempt_at, last_error, updated_at) \
               SELECT t.*, $9 FROM UNNEST($1::bigint[], $2::bigint[], $3::text[], $4::text[], \
                 $5::text[], $6::text[], $7::bigint[], $8::text[]) AS t \
               ON CONFLICT (update_id, contact_id, channel) DO NOTHING \
               RETURNING id, update_id, contact_id, channel, state, last_error, updated_at \
             ), logged AS ( \
               INSERT INTO delivery_events (delivery_id, at, from_state, to_state, detail) \
               SELECT id, updated_at, NULL, state, last_error FROM new \
             ) \
             SELECT id, update_id, contact_id, channel FROM new ORDER BY id",
        )
        .bind(rows.iter().map(|row| row.update_id).collect::<Vec<_>>())
        .bind(rows.iter().map(|row| row.contact_id).collect::<Vec<_>>())
        .bind(
            rows.iter()
                .map(|row| row.channel.as_str())
                .collect::<Vec<_>>(),
        )
        .bind(
            rows.iter()
                .map(|row| row.address.as_deref())
                .collect::<Vec<_>>(),
        )
        .bind(
            rows.iter()
                .map(|row| row.language.code())
                .collect::<Vec<_>>(),
        )
        .bind(
            rows.iter()
                .map(|row| row.state.as_str())
                .collect::<Vec<_>>(),
        )
        .bind(
            rows.iter()
                .map(|row| (row.state == DeliveryState::Pending).then_some(now))
                .collect::<Vec<_>>(),
        )
        .bind(
            rows.iter()
                .map(|row| row.detail.as_deref())
                .collect::<Vec<_>>(),
        )
        .bind(now)
        .fetch_all(&mut *self.tx)
        .await?;
        let inserted = created.len() as u64;
        // A key given twice in one batch is inserted once, from its first row.
        let mut by_key: HashMap<(i64, i64, &str), &NewDelivery> = HashMap::new();
        for row in rows {
            by_key
                .entry((row.update_id, row.contact_id, row.channel.as_str()))
                .or_insert(row);
        }
        let mut ids = Vec::new();
        let mut subjects = Vec::new();
        let mut bodies = Vec::new();
        let mut htmls = Vec::new();
        let mut dictionaries = Vec::new();
        for (id, update_id, contact_id, channel) in &created {
            let row = by_key
                .get(&(*update_id, *contact_id, channel.as_str()))
                .ok_or_else(|| {
                    StoreError::Corrupt(format!("delivery {id} was planned from no row"))
                })?;
            if row.state != DeliveryState::Pending {
                continue;
            }
            ids.push(*id);
            subjects.push(row.content.subject.as_deref());
            match messages::pack(&mut self.packer, &mut self.tx, row).await? {
                Some(packed) => {
                    bodies.push(packed.body);
                    htmls.push(packed.body_html);
                    dictionaries.push(Some(packed.dictionary_id));
                }
                None => {
                    bodies.push(row.content.body.as_bytes().to_vec());
                    htmls.push(
                        row.content
                            .body_html
                            .as_ref()
                            .map(|html| html.as_bytes().to_vec()),
                    );
                    dictionaries.push(None);
                }
            }
        }
        if !ids.is_empty() {
            sqlx::query(
                "INSERT INTO delivery_messages (delivery_id, subject, body, body_html, \
                 dictionary_id) \
                 SELECT * FROM UNNEST($1::bigint[], $2::text[], $3::bytea[], $4::bytea[], \
                   $5::bigint[])",
            )
            .bind(ids)
            .bind(subjects)
            .bind(bodies)
            .bind(htmls)
            .bind(dictionaries)
            .execute(&mut *self.tx)
            .await?;
        }
        Ok(inserted)
    }

    async fn commit(mut self: Box<Self>, update_id: i64, at_ms: i64) -> Result<()> {
        sqlx::query(
            "UPDATE updates SET planned_at = $1, start_refused = NULL, start_refused_at = NULL \
             WHERE id = $2 AND planned_at IS NULL",
        )
        .bind(at_ms)
        .bind(update_id)
        .execute(&mut *self.tx)
        .await?;
        self.tx.commit().await?;
        Ok(())
    }
}

pub(super) async fn begin_plan(
    store: &PostgresStore,
    due_at_ms: i64,
) -> Result<Box<dyn PlanWriter>> {
    Ok(Box::new(PostgresPlan {
        tx: store.pool().begin().await?,
        packer: Packer::default(),
        due_at_ms,
    }))
}

pub(super) async fn fallback_due(
    store: &PostgresStore,
    update_id: i64,
    rule: &FallbackRule,
    after_id: i64,
    limit: u32,
) -> Result<Vec<FallbackDue>> {
    let mut query = QueryBuilder::<Postgres>::new(
        "SELECT d.id, d.contact_id, d.state, \
           (SELECT array_agg(o.channel) FROM deliveries o \
            WHERE o.update_id = d.update_id AND o.contact_id = d.contact_id \
              AND o.channel <> 'sms') AS planned \
         FROM deliveries d WHERE d.update_id = ",
    );
    query
        .push_bind(update_id)
        .push(" AND d.id > ")
        .push_bind(after_id)
        .push(" AND ");
    push_fallback_condition(&mut query, "d.", rule);
    query
        .push(" ORDER BY d.id LIMIT ")
        .push_bind(i64::from(limit));
    let rows: Vec<(i64, i64, String, Option<Vec<String>>)> =
        query.build_query_as().fetch_all(store.pool()).await?;
    rows.into_iter()
        .map(|(delivery_id, contact_id, state, planned)| {
            let corrupt =
                |error: String| StoreError::Corrupt(format!("delivery {delivery_id}: {error}"));
            Ok(FallbackDue {
                delivery_id,
                contact_id,
                state: state.parse().map_err(|error| corrupt(format!("{error}")))?,
                planned: planned
                    .unwrap_or_default()
                    .iter()
                    .map(|channel| channel.parse().map_err(|error| corrupt(format!("{error}"))))
                    .collect::<Result<_>>()?,
            })
        })
        .collect()
}

pub(super) async fn plan_fallback(
    store: &PostgresStore,
    rule: &FallbackRule,
    plans: &[FallbackPlan],
    at_ms: i64,
) -> Result<u64> {
    if plans.is_empty() {
        return Ok(0);
    }
    let mut writer = PostgresPlan {
        tx: store.pool().begin().await?,
        packer: Packer::default(),
        due_at_ms: at_ms,
    };
    // Conditional: an SMS a receipt moved since it was read, or that another sweep marked
    // first (this one waits for its row, then finds `fallback_at` set), is left alone.
    let mut mark = QueryBuilder::<Postgres>::new("UPDATE deliveries SET fallback_at = ");
    mark.push_bind(at_ms)
        .push(" WHERE id = ANY(")
        .push_bind(
            plans
                .iter()
                .map(|plan| plan.sms_delivery_id)
                .collect::<Vec<_>>(),
        )
        .push(") AND ");
    push_fallback_condition(&mut mark, "", rule);
    mark.push(" RETURNING id, state");
    let marked: HashMap<i64, String> = mark
        .build_query_as::<(i64, String)>()
        .fetch_all(&mut *writer.tx)
        .await?
        .into_iter()
        .collect();
    let taken: Vec<(&FallbackPlan, &String)> = plans
        .iter()
        .filter_map(|plan| marked.get(&plan.sms_delivery_id).map(|state| (plan, state)))
        .collect();
    if taken.is_empty() {
        writer.tx.commit().await?;
        return Ok(0);
    }
    let rows: Vec<NewDelivery> = taken
        .iter()
        .flat_map(|(plan, _)| plan.rows.iter().cloned())
        .collect();
    let created = writer.insert(&rows).await?;
    sqlx::query(
        "INSERT INTO delivery_events (delivery_id, at, from_state, to_state, detail) \
         SELECT t.id, $1, t.state, t.state, t.note \
         FROM UNNEST($2::bigint[], $3::text[], $4::text[]) AS t(id, state, note)",
    )
    .bind(at_ms)
    .bind(
        taken
            .iter()
            .map(|(plan, _)| plan.sms_delivery_id)
            .collect::<Vec<_>>(),
    )
    .bind(
        taken
            .iter()
            .map(|(_, state)| state.as_str())
            .collect::<Vec<_>>(),
    )
    .bind(
        taken
            .iter()
            .map(|(plan, _)| plan.note.as_str())
            .collect::<Vec<_>>(),
    )
    .execute(&mut *writer.tx)
    .await?;
    writer.tx.commit().await?;
    Ok(created)
}

#[cfg(test)]
mod tests {
    use super::super::queue::fixture::{broadcast, T0};
    use super::super::testing;
    use super::PostgresStore;
    use crate::domain::{ChannelKind, DeliveryState, Language, RenderedMessage};
    use crate::store::{FallbackPlan, FallbackRule, NewDelivery, QueueStore};
    use std::sync::Arc;

    async fn count(store: &PostgresStore, sql: &str) -> i64 {
        sqlx::query_scalar(sql)
            .fetch_one(store.pool())
            .await
            .expect("count")
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn two_plans_of_the_same_rows_at_once_write_each_row_once() {
        let Some(store) = testing::store("plans_at_once").await else {
            return;
        };
        let store = Arc::new(store);
        let update = broadcast(&store, 200).await;
        // The same rows on another channel, planned by two processes at once.
        let rows: Vec<NewDelivery> = sqlx::query_as::<_, (i64,)>("SELECT id FROM contacts")
            .fetch_all(store.pool())
            .await
            .expect("contacts")
            .into_iter()
            .map(|(contact_id,)| NewDelivery {
                update_id: update,
                contact_id,
                channel: ChannelKind::Telegram,
                address: Some(format!("chat-{contact_id}")),
                language: Language::En,
                content: RenderedMessage {
                    subject: None,
                    body: "The hospital's systems are down. ".repeat(40),
                    body_html: None,
                },
                state: DeliveryState::Pending,
                detail: None,
            })
            .collect();
        let rows = Arc::new(rows);
        let planner = |store: Arc<PostgresStore>, rows: Arc<Vec<NewDelivery>>| async move {
            let mut plan = store.begin_plan(T0).await.expect("plan");
            let inserted = plan.insert(&rows).await.expect("insert");
            plan.commit(update, T0).await.expect("commit");
            inserted
        };
        let (first, second) = tokio::join!(
            tokio::spawn(planner(Arc::clone(&store), Arc::clone(&rows))),
            tokio::spawn(planner(Arc::clone(&store), Arc::clone(&rows)))
        );
        assert_eq!(first.expect("first") + second.expect("second"), 200);
        let telegram = "FROM deliveries WHERE channel = 'telegram'";
        assert_eq!(
            count(&store, &format!("SELECT COUNT(*) {telegram}")).await,
            200
        );
        let planned = format!(
            "SELECT COUNT(*) FROM delivery_events WHERE from_state IS NULL \
             AND delivery_id IN (SELECT id {telegram})"
        );
        assert_eq!(count(&store, &planned).await, 200);
        let packed = format!(
            "SELECT COUNT(*) FROM delivery_messages WHERE dictionary_id IS NOT NULL \
             AND delivery_id IN (SELECT id {telegram})"
        );
        assert_eq!(count(&store, &packed).await, 200);
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn two_sweeps_at_once_plan_each_fallback_once() {
        let Some(store) = testing::store("sweeps_at_once").await else {
            return;
        };
        let store = Arc::new(store);
        let update = broadcast(&store, 3).await;
        // An SMS to each contact, handed to a gateway at T0: two that ask for receipts.
        sqlx::query(
            "INSERT INTO deliveries (update_id, contact_id, channel, address, language, state, \
             gateway_id, updated_at) \
             SELECT update_id, contact_id, 'sms', '+3247000000' || contact_id, 'en', 'sent', \
               CASE WHEN contact_id % 3 = 0 THEN 'twilio:' ELSE 'kannel:' END || id, $1 \
             FROM deliveries",
        )
        .bind(T0)
        .execute(store.pool())
        .await
        .expect("sms");
        let rule = FallbackRule {
            silent_since_ms: Some(T0 + 10),
            receipt_gateways: vec!["kannel".to_string()],
        };
        let due = store.fallback_due(update, &rule, 0, 10).await.expect("due");
        assert_eq!(due.len(), 2, "{due:?}");
        assert!(due
            .iter()
            .all(|d| d.planned == [ChannelKind::Email] && d.state == DeliveryState::Sent));
        let plans: Vec<FallbackPlan> = due
            .iter()
            .map(|d| FallbackPlan {
                sms_delivery_id: d.delivery_id,
                rows: vec![NewDelivery {
                    update_id: update,
                    contact_id: d.contact_id,
                    channel: ChannelKind::Telegram,
                    address: None,
                    language: Language::En,
                    content: RenderedMessage::default(),
                    state: DeliveryState::Skipped,
                    detail: Some("no Telegram chat".to_string()),
                }],
                note: "no receipt: the fallback follows".to_string(),
            })
            .collect();
        let (rule, plans) = (Arc::new(rule), Arc::new(plans));
        let sweep = |store: Arc<PostgresStore>,
                     rule: Arc<FallbackRule>,
                     plans: Arc<Vec<FallbackPlan>>| async move {
            store
                .plan_fallback(&rule, &plans, T0 + 20)
                .await
                .expect("sweep")
        };
        let (first, second) = tokio::join!(
            tokio::spawn(sweep(
                Arc::clone(&store),
                Arc::clone(&rule),
                Arc::clone(&plans)
            )),
            tokio::spawn(sweep(
                Arc::clone(&store),
                Arc::clone(&rule),
                Arc::clone(&plans)
            ))
        );
        assert_eq!(first.expect("first") + second.expect("second"), 2);
        let notes = "SELECT COUNT(*) FROM delivery_events WHERE detail LIKE 'no receipt%'";
        assert_eq!(count(&store, notes).await, 2);
        assert!(store
            .fallback_due(update, &rule, 0, 10)
            .await
            .expect("due")
            .is_empty());
    }
}
