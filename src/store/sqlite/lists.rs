//! Statements over many rows or keys: how many at a time, and their `IN (…)` lists.

use sqlx::{QueryBuilder, Sqlite};

/// Rows per multi-row `INSERT` or `UPDATE`: SQLite allows 32,766 bound parameters per
/// statement, and batches stay well below.
pub(super) const ROWS_PER_STATEMENT: usize = 1_000;
/// Keys per `IN (…)` lookup.
pub(super) const KEYS_PER_LOOKUP: usize = 500;

/// ` IN (?, ?, …)` with each of `keys` bound: every `IN` list of the store, a lookup by many
/// keys taking them [`KEYS_PER_LOOKUP`] at a time.
pub(super) fn push_in<'q, K>(
    query: &mut QueryBuilder<'q, Sqlite>,
    keys: impl IntoIterator<Item = K>,
) where
    K: 'q + sqlx::Encode<'q, Sqlite> + sqlx::Type<Sqlite> + Send,
{
    query.push(" IN (");
    let mut list = query.separated(", ");
    for key in keys {
        list.push_bind(key);
    }
    query.push(")");
}

/// In SQL, the gateway's name in a `gateway_id` column: what comes before the first colon of
/// [`GatewayId`](crate::domain::GatewayId)'s written form.
pub(super) fn gateway_of(column: &str) -> String {
    format!("substr({column}, 1, instr({column}, ':') - 1)")
}
