//! A PostgreSQL store of its own for each unit test: a fresh schema in the local server's
//! `test` database.

use super::{PoolSettings, PostgresStore};

/// The server the tests use; `TOCSIN_TEST_POSTGRES` names another.
pub(crate) fn server_url() -> String {
    std::env::var("TOCSIN_TEST_POSTGRES")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/test".to_string())
}

/// A URL whose connections work in a new, empty schema. None (said loudly) when no server
/// answers and this is not CI; under `CI=true` a missing server fails the test.
pub(crate) async fn fresh_schema_url(test: &str) -> Option<String> {
    let server = server_url();
    let admin = match sqlx::PgPool::connect(&server).await {
        Ok(pool) => pool,
        Err(error) => {
            if std::env::var("CI").is_ok_and(|ci| ci == "true") {
                panic!("PostgreSQL at {server} is needed under CI=true: {error}");
            }
            eprintln!("SKIPPED {test}: no PostgreSQL at {server} ({error})");
            return None;
        }
    };
    let schema = format!(
        "t_{}_{}",
        test.chars()
            .filter(|c| c.is_ascii_alphanumeric() || *c == '_')
            .take(30)
            .collect::<String>()
            .to_lowercase(),
        rand::random::<u32>()
    );
    sqlx::query(&format!("CREATE SCHEMA {schema}"))
        .execute(&admin)
        .await
        .expect("create the test's schema");
    let separator = if server.contains('?') { '&' } else { '?' };
    Some(format!(
        "{server}{separator}options=-c%20search_path%3D{schema}"
    ))
}

/// A migrated store in a fresh schema (see [`fresh_schema_url`]).
pub(crate) async fn store(test: &str) -> Option<PostgresStore> {
    let url = fresh_schema_url(test).await?;
    Some(
        PostgresStore::open(&url, &PoolSettings::default())
            .await
            .expect("open the test's PostgreSQL store"),
    )
}

#[tokio::test]
async fn a_fresh_schema_is_migrated_and_holds_nothing() {
    let Some(store) = store("fresh_schema").await else {
        return;
    };
    let updates: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM updates")
        .fetch_one(store.pool())
        .await
        .expect("count");
    assert_eq!(updates, 0);
    let schema: String = sqlx::query_scalar("SELECT current_schema()")
        .fetch_one(store.pool())
        .await
        .expect("schema");
    assert!(schema.starts_with("t_fresh_schema_"), "{schema}");
}
