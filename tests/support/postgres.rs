//! A PostgreSQL schema of its own for each test, on the server the machine runs
//! (`postgres://postgres@127.0.0.1:5432/test`, trust auth; `TOCSIN_TEST_POSTGRES` names
//! another, as for the store's unit tests). A test opens the store with
//! [`Schema::url`], whose `search_path` is its schema alone: its tables, migrations
//! included, are created there and it sees no other test's. The schema is dropped when the
//! [`Schema`] is, and kept, with its name printed, when the test failed, to be looked at.
//!
//! The module that includes this file gives it `require` (what a missing PostgreSQL does:
//! a loud skip, or under CI=true a failure), as it does for `mail_servers.rs`.

use super::require;
use sqlx::{Connection, PgConnection};
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::Duration;

/// The server and database every test's schema is made in.
pub fn server() -> String {
    std::env::var("TOCSIN_TEST_POSTGRES")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/test".to_string())
}

/// How long dropping a schema waits for a lock a leftover connection holds.
const DROP_LOCK_TIMEOUT: Duration = Duration::from_secs(10);

pub struct Schema {
    pub name: String,
    /// [`server`] with `options=-c search_path=<name>`.
    pub url: String,
}

impl Schema {
    /// A new, empty schema; None (said loudly) when no PostgreSQL answers and CI is not
    /// set, a panic under CI=true.
    pub async fn fresh() -> Option<Schema> {
        let server = server();
        let mut connection = match PgConnection::connect(&server).await {
            Ok(connection) => connection,
            Err(error) => {
                require(&format!("PostgreSQL at {server} ({error})"), false);
                return None;
            }
        };
        // The process id and a counter keep this run's schemas apart, the random part
        // those of runs before it that were kept.
        static NEXT: AtomicU32 = AtomicU32::new(0);
        let name = format!(
            "tocsin_test_{}_{}_{:08x}",
            std::process::id(),
            NEXT.fetch_add(1, Ordering::Relaxed),
            rand::random::<u32>()
        );
        sqlx::query(&format!("CREATE SCHEMA {name}"))
            .execute(&mut connection)
            .await
            .unwrap_or_else(|error| panic!("CREATE SCHEMA {name} on {server}: {error}"));
        let separator = if server.contains('?') { '&' } else { '?' };
        let url = format!("{server}{separator}options=-c%20search_path%3D{name}");
        Some(Schema { name, url })
    }
}

impl Drop for Schema {
    fn drop(&mut self) {
        if std::thread::panicking() {
            eprintln!(
                "kept the failed test's PostgreSQL schema {}: {}",
                self.name, self.url
            );
            return;
        }
        let name = self.name.clone();
        // Drop runs inside the test's runtime, which cannot wait for a future here: a thread
        // with a runtime of its own does.
        let dropped = std::thread::spawn(move || {
            let runtime = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .map_err(|error| error.to_string())?;
            runtime.block_on(async {
                let mut connection = PgConnection::connect(&server())
                    .await
                    .map_err(|error| error.to_string())?;
                sqlx::query(&format!(
                    "SET lock_timeout = {}",
                    DROP_LOCK_TIMEOUT.as_millis()
                ))
                .execute(&mut connection)
                .await
                .map_err(|error| error.to_string())?;
                sqlx::query(&format!("DROP SCHEMA {name} CASCADE"))
                    .execute(&mut connection)
                    .await
                    .map_err(|error| error.to_string())?;
                Ok::<(), String>(())
            })
        })
        .join();
        match dropped {
            Ok(Ok(())) => {}
            Ok(Err(error)) => eprintln!("could not drop PostgreSQL schema {}: {error}", self.name),
            Err(_) => eprintln!("dropping PostgreSQL schema {} panicked", self.name),
        }
    }
}
