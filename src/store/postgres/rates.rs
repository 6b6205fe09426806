//! Each SMS gateway's sending slots (`rate_slots`), shared by every process on the database.

use super::PostgresStore;
use crate::store::{RateStore, Result};
use async_trait::async_trait;

#[async_trait]
impl RateStore for PostgresStore {
    /// One statement: the conflicting row is locked for it, so concurrent reservations queue
    /// on the gateway's row and each starts where the one before ended.
    async fn reserve_rate_slots(&self, gateway: &str, from_us: i64, span_us: i64) -> Result<i64> {
        let start: i64 = sqlx::query_scalar(
            "INSERT INTO rate_slots AS r (gateway, next_slot_us) VALUES ($1, $2 + $3) \
             ON CONFLICT (gateway) DO UPDATE SET next_slot_us = GREATEST(r.next_slot_us, $2) + $3 \
             RETURNING r.next_slot_us - $3",
        )
        .bind(gateway)
        .bind(from_us)
        .bind(span_us)
        .fetch_one(self.pool())
        .await?;
        Ok(start)
    }
}

#[cfg(test)]
mod tests {
    use super::super::testing::store;
    use crate::store::RateStore;
    use std::sync::Arc;

    #[tokio::test]
    async fn reservations_follow_each_other_and_never_start_before_asked() {
        let Some(store) = store("rate_slots").await else {
            return;
        };
        assert_eq!(
            store
                .reserve_rate_slots("a", 1_000, 50)
                .await
                .expect("first"),
            1_000
        );
        assert_eq!(
            store
                .reserve_rate_slots("a", 1_000, 50)
                .await
                .expect("next"),
            1_050
        );
        assert_eq!(
            store
                .reserve_rate_slots("b", 1_010, 5)
                .await
                .expect("other"),
            1_010
        );
        assert_eq!(
            store
                .reserve_rate_slots("a", 5_000, 50)
                .await
                .expect("idle"),
            5_000
        );
        assert_eq!(
            store
                .reserve_rate_slots("a", 4_000, 10)
                .await
                .expect("late"),
            5_050
        );
    }

    #[tokio::test]
    async fn concurrent_reservations_never_overlap() {
        let Some(store) = store("rate_slots_concurrent").await else {
            return;
        };
        let store = Arc::new(store);
        let mut reserving = tokio::task::JoinSet::new();
        for _ in 0..50 {
            let store = Arc::clone(&store);
            reserving.spawn(async move { store.reserve_rate_slots("a", 0, 10).await });
        }
        let mut starts: Vec<i64> = reserving
            .join_all()
            .await
            .into_iter()
            .map(|start| start.expect("reserved"))
            .collect();
        starts.sort_unstable();
        assert_eq!(starts, (0..50).map(|n| n * 10).collect::<Vec<_>>());
    }
}
