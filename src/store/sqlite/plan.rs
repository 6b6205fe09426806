//! Planning: deliveries inserted in batches under one write transaction, and the fallbacks
//! planned for SMS that did not arrive.

use super::lists::{gateway_of, push_in, ROWS_PER_STATEMENT};
use super::messages;
use super::{SqliteStore, WriteTurn};
use crate::domain::DeliveryState;
use crate::store::messages::Packer;
use crate::store::rows::{parse_col, parse_list};
use crate::store::{FallbackDue, FallbackPlan, FallbackRule, NewDelivery, PlanWriter, Result};
use async_trait::async_trait;
use sqlx::{QueryBuilder, Row, Sqlite, Transaction};
use std::collections::HashMap;

/// The SMS deliveries (alias given as `d`, with its dot, or empty) that `rule` sends to the
/// fallback channel.
fn push_fallback_condition(query: &mut QueryBuilder<'_, Sqlite>, d: &str, rule: &FallbackRule) {
    query.push(format!(
        "{d}channel = 'sms' AND {d}fallback_at IS NULL \
         AND {d}state IN ('sent', 'failed', 'undeliverable') AND ({d}state = 'undeliverable' \
         OR ({d}state = 'failed' AND {d}next_attempt_at IS NULL)"
    ));
    if let (Some(silent_since), false) = (rule.silent_since_ms, rule.receipt_gateways.is_empty()) {
        query
            .push(format!(" OR ({d}state = 'sent' AND {d}updated_at <= "))
            .push_bind(silent_since)
            .push(format!(" AND {}", gateway_of(&format!("{d}gateway_id"))));
        push_in(query, rule.receipt_gateways.iter().cloned());
        query.push(")");
    }
    query.push(")");
}

struct SqlitePlan {
    tx: Transaction<'static, Sqlite>,
    /// Released after `tx` ends: fields drop in order.
    _turn: WriteTurn,
    packer: Packer,
    /// When pending rows are due: now for a plan, the sweep's time for a fallback.
    due_at_ms: i64,
    /// The id the next delivery gets, once known.
    next_id: Option<i64>,
}

#[async_trait]
impl PlanWriter for SqlitePlan {
    async fn insert(&mut self, rows: &[NewDelivery]) -> Result<u64> {
        let mut inserted = 0;
        let now = self.due_at_ms;
        // The transaction holds the write lock, so the ids after the largest are ours to
        // give: no `RETURNING` rows have to travel back from SQLite's thread one by one.
        let mut next_id = match self.next_id {
            Some(id) => id,
            None => {
                sqlx::query_scalar("SELECT COALESCE(MAX(id), 0) + 1 FROM deliveries")
                    .fetch_one(&mut *self.tx)
                    .await?
            }
        };
        for chunk in rows.chunks(ROWS_PER_STATEMENT) {
            let first_id = next_id;
            let last_id = first_id + chunk.len() as i64 - 1;
            next_id = last_id + 1;
            let mut query = QueryBuilder::<Sqlite>::new(
                "INSERT INTO deliveries (id, update_id, contact_id, channel, address, language, \
                 state, next_attempt_at, last_error, updated_at) ",
            );
            query.push_values(chunk.iter().zip(first_id..), |mut values, (row, id)| {
                values
                    .push_bind(id)
                    .push_bind(row.update_id)
                    .push_bind(row.contact_id)
                    .push_bind(row.channel.as_str())
                    .push_bind(row.address.as_deref())
                    .push_bind(row.language.code())
                    .push_bind(row.state.as_str())
                    .push_bind((row.state == DeliveryState::Pending).then_some(now))
                    .push_bind(row.detail.as_deref())
                    .push_bind(now);
            });
            query.push(" ON CONFLICT (update_id, contact_id, channel) DO NOTHING");
            let written = query.build().execute(&mut *self.tx).await?.rows_affected();
            inserted += written;
            let mut created: Vec<(i64, &NewDelivery)> = (first_id..).zip(chunk).collect();
            if written < chunk.len() as u64 {
                // Some rows were there already: keep the ones this insert wrote.
                let kept: std::collections::HashSet<i64> =
                    sqlx::query_scalar("SELECT id FROM deliveries WHERE id BETWEEN ? AND ?")
                        .bind(first_id)
                        .bind(last_id)
                        .fetch_all(&mut *self.tx)
                        .await?
                        .into_iter()
                        .collect();
                created.retain(|(id, _)| kept.contains(id));
            }
            if created.is_empty() {
                continue;
            }
            // The rows just written say everything their first event says.
            sqlx::query(
                "INSERT INTO delivery_events (delivery_id, at, from_state, to_state, detail) \
                 SELECT id, updated_at, NULL, state, last_error FROM deliveries \
                 WHERE id BETWEEN ? AND ?",
            )
            .bind(first_id)
            .bind(last_id)
            .execute(&mut *self.tx)
            .await?;
            let mut plain = Vec::new();
            let mut packed = Vec::new();
            for (id, row) in created
                .iter()
                .filter(|(_, row)| row.state == DeliveryState::Pending)
            {
                match messages::pack(&mut self.packer, &mut self.tx, row).await? {
                    Some(message) => packed.push((*id, *row, message)),
                    None => plain.push((*id, *row)),
                }
            }
            if !plain.is_empty() {
                let mut insert = QueryBuilder::<Sqlite>::new(
                    "INSERT INTO delivery_messages (delivery_id, subject, body, body_html) ",
                );
                insert.push_values(plain, |mut values, (id, row)| {
                    values
                        .push_bind(id)
                        .push_bind(row.content.subject.as_deref())
                        .push_bind(row.content.body.as_str())
                        .push_bind(row.content.body_html.as_deref());
                });
                insert.build().execute(&mut *self.tx).await?;
            }
            if !packed.is_empty() {
                let mut insert = QueryBuilder::<Sqlite>::new(
                    "INSERT INTO delivery_messages \
                     (delivery_id, subject, body, body_html, dictionary_id) ",
                );
                insert.push_values(packed, |mut values, (id, row, message)| {
                    values
                        .push_bind(id)
                        .push_bind(row.content.subject.as_deref())
                        .push_bind(message.body)
                        .push_bind(message.body_html)
                        .push_bind(message.dictionary_id);
                });
                insert.build().execute(&mut *self.tx).await?;
            }
        }
        self.next_id = Some(next_id);
        Ok(inserted)
    }

    async fn commit(mut self: Box<Self>, update_id: i64, at_ms: i64) -> Result<()> {
        sqlx::query(
            "UPDATE updates SET planned_at = ?, start_refused = NULL, start_refused_at = NULL \
             WHERE id = ? AND planned_at IS NULL",
        )
        .bind(at_ms)
        .bind(update_id)
        .execute(&mut *self.tx)
        .await?;
        self.tx.commit().await?;
        Ok(())
    }
}

pub(super) async fn begin_plan(store: &SqliteStore, due_at_ms: i64) -> Result<Box<dyn PlanWriter>> {
    let (turn, tx) = store.begin_write().await?;
    Ok(Box::new(SqlitePlan {
        tx,
        _turn: turn,
        packer: Packer::default(),
        due_at_ms,
        next_id: None,
    }))
}

pub(super) async fn fallback_due(
    store: &SqliteStore,
    update_id: i64,
    rule: &FallbackRule,
    after_id: i64,
    limit: u32,
) -> Result<Vec<FallbackDue>> {
    let mut query = QueryBuilder::<Sqlite>::new(
        "SELECT d.id, d.contact_id, d.state, \
           (SELECT GROUP_CONCAT(o.channel) FROM deliveries o \
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
    query.push(" ORDER BY d.id LIMIT ").push_bind(limit);
    let rows = query.build().fetch_all(&store.pool).await?;
    rows.iter()
        .map(|row| {
            Ok(FallbackDue {
                delivery_id: row.try_get("id")?,
                contact_id: row.try_get("contact_id")?,
                state: parse_col(row, "state")?,
                planned: parse_list(
                    row.try_get::<Option<String>, _>("planned")?
                        .unwrap_or_default(),
                )?,
            })
        })
        .collect()
}

pub(super) async fn plan_fallback(
    store: &SqliteStore,
    rule: &FallbackRule,
    plans: &[FallbackPlan],
    at_ms: i64,
) -> Result<u64> {
    let (turn, tx) = store.begin_write().await?;
    let mut writer = SqlitePlan {
        tx,
        _turn: turn,
        packer: Packer::default(),
        due_at_ms: at_ms,
        next_id: None,
    };
    let mut created = 0;
    for chunk in plans.chunks(ROWS_PER_STATEMENT) {
        let mut mark = QueryBuilder::<Sqlite>::new("UPDATE deliveries SET fallback_at = ");
        mark.push_bind(at_ms).push(" WHERE id");
        push_in(&mut mark, chunk.iter().map(|plan| plan.sms_delivery_id));
        mark.push(" AND ");
        push_fallback_condition(&mut mark, "", rule);
        mark.push(" RETURNING id, state");
        let marked: HashMap<i64, String> = mark
            .build_query_as::<(i64, String)>()
            .fetch_all(&mut *writer.tx)
            .await?
            .into_iter()
            .collect();
        let taken: Vec<(&FallbackPlan, &String)> = chunk
            .iter()
            .filter_map(|plan| marked.get(&plan.sms_delivery_id).map(|state| (plan, state)))
            .collect();
        if taken.is_empty() {
            continue;
        }
        let rows: Vec<NewDelivery> = taken
            .iter()
            .flat_map(|(plan, _)| plan.rows.iter().cloned())
            .collect();
        created += writer.insert(&rows).await?;
        let mut events = QueryBuilder::<Sqlite>::new(
            "INSERT INTO delivery_events (delivery_id, at, from_state, to_state, detail) ",
        );
        events.push_values(&taken, |mut values, (plan, state)| {
            values
                .push_bind(plan.sms_delivery_id)
                .push_bind(at_ms)
                .push_bind(state.as_str())
                .push_bind(state.as_str())
                .push_bind(plan.note.as_str());
        });
        events.build().execute(&mut *writer.tx).await?;
    }
    writer.tx.commit().await?;
    Ok(created)
}
