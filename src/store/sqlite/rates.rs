//! Each SMS gateway's sending slots (`rate_slots`), shared by every process on the file.

use super::SqliteStore;
use crate::store::{RateStore, Result};
use async_trait::async_trait;

#[async_trait]
impl RateStore for SqliteStore {
    async fn reserve_rate_slots(&self, gateway: &str, from_us: i64, span_us: i64) -> Result<i64> {
        let (_turn, mut tx) = self.begin_write().await?;
        let start: i64 = sqlx::query_scalar(
            "INSERT INTO rate_slots (gateway, next_slot_us) VALUES (?1, ?2 + ?3) \
             ON CONFLICT (gateway) DO UPDATE SET next_slot_us = MAX(next_slot_us, ?2) + ?3 \
             RETURNING next_slot_us - ?3",
        )
        .bind(gateway)
        .bind(from_us)
        .bind(span_us)
        .fetch_one(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(start)
    }
}

#[cfg(test)]
mod tests {
    use crate::store::{RateStore, SqliteStore};

    #[tokio::test]
    async fn reservations_follow_each_other_and_never_start_before_asked() {
        let store = SqliteStore::open("sqlite::memory:").await.expect("store");
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
}
