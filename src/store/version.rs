//! Where a database's schema stands, for `tocsin migrate`: the last migration sqlx recorded.

use super::{PostgresStore, Result, SchemaVersion, SqliteStore, StoreError};

const LAST_APPLIED: &str = "SELECT version, description FROM _sqlx_migrations \
                            WHERE success ORDER BY version DESC LIMIT 1";

fn none_applied() -> StoreError {
    StoreError::Corrupt("no migration is recorded as applied".into())
}

impl SqliteStore {
    pub(super) async fn schema_version(&self) -> Result<SchemaVersion> {
        let (version, description): (i64, String) = sqlx::query_as(LAST_APPLIED)
            .fetch_optional(self.pool())
            .await?
            .ok_or_else(none_applied)?;
        Ok(SchemaVersion {
            version,
            description,
        })
    }
}

impl PostgresStore {
    pub(super) async fn schema_version(&self) -> Result<SchemaVersion> {
        let (version, description): (i64, String) = sqlx::query_as(LAST_APPLIED)
            .fetch_optional(self.pool())
            .await?
            .ok_or_else(none_applied)?;
        Ok(SchemaVersion {
            version,
            description,
        })
    }
}
