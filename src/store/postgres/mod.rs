//! PostgreSQL: the store of a deployment that outgrows one machine — several `tocsin worker`
//! processes sharing one queue, several `tocsin serve` instances behind a load balancer.
//!
//! Unlike SQLite, PostgreSQL takes concurrent writers itself: no process-wide write turn.
//! Claims lock the rows they take (`FOR UPDATE SKIP LOCKED`), so workers never wait on each
//! other's claims, and every id comes from an identity column, never from one writer's count.

mod accounts;
mod claim;
mod control;
mod directory;
mod import;
mod messages;
mod plan;
mod queue;
mod receipts;
mod reports;
mod selection;
mod telegram;
mod updates;

use super::messages::Dictionaries;
use super::Result;
use sqlx::postgres::{PgConnectOptions, PgPool, PgPoolOptions};
use std::str::FromStr;
use std::time::Duration;

/// How many connections one process keeps to PostgreSQL, and how long a task waits for one.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PoolSettings {
    pub max_connections: u32,
    pub acquire_timeout: Duration,
}

impl Default for PoolSettings {
    fn default() -> Self {
        PoolSettings {
            max_connections: 10,
            acquire_timeout: Duration::from_secs(30),
        }
    }
}

pub struct PostgresStore {
    pool: PgPool,
    dictionaries: Dictionaries,
}

impl PostgresStore {
    /// Connects and brings the schema up to date (`migrations/postgres/`). Several processes
    /// may start at once: sqlx takes an advisory lock around the migrations.
    pub async fn open(url: &str, settings: &PoolSettings) -> Result<PostgresStore> {
        let options = PgConnectOptions::from_str(url)?;
        let pool = PgPoolOptions::new()
            .max_connections(settings.max_connections)
            .acquire_timeout(settings.acquire_timeout)
            .connect_with(options)
            .await?;
        sqlx::migrate!("./migrations/postgres").run(&pool).await?;
        Ok(PostgresStore {
            pool,
            dictionaries: Dictionaries::default(),
        })
    }

    pub(super) fn pool(&self) -> &PgPool {
        &self.pool
    }
}

mod rates;
#[cfg(test)]
pub(crate) mod testing;
