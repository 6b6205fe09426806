//! The console's accounts (`users`), their sessions (`sessions`) and the audit log
//! (`audit_log`) on PostgreSQL. Tokens arrive here as `SecretToken`s and only their ids are
//! written. Every write is one statement, or a transaction whose first statement locks the
//! row it changes: several `serve` instances may act on one account at once.

use super::PostgresStore;
use crate::domain::{SecretToken, UserName, UserRole};
use crate::store::{
    AccountStore, AuditEntry, AuditFilter, FirstCredential, Result, Session, StoreError, User,
    UserContact,
};
use async_trait::async_trait;
use sqlx::postgres::PgRow;
use sqlx::{Postgres, QueryBuilder, Row};

#[async_trait]
impl AccountStore for PostgresStore {
    async fn add_user(
        &self,
        name: &UserName,
        role: UserRole,
        first: &FirstCredential,
        at_ms: i64,
    ) -> Result<User> {
        add_user(self, name, role, first, at_ms).await
    }

    async fn users(&self) -> Result<Vec<User>> {
        users(self).await
    }

    async fn user(&self, name: &UserName) -> Result<Option<User>> {
        user(self, name).await
    }

    async fn set_password(&self, name: &UserName, hash: &str) -> Result<()> {
        set_password(self, name, hash).await
    }

    async fn set_user_contact(
        &self,
        name: &UserName,
        email: Option<&str>,
        phone: Option<&str>,
    ) -> Result<()> {
        set_user_contact(self, name, email, phone).await
    }

    async fn user_contact(&self, name: &UserName) -> Result<UserContact> {
        user_contact(self, name).await
    }

    async fn setup_token_user(&self, id: &str, at_ms: i64) -> Result<Option<User>> {
        setup_token_user(self, id, at_ms).await
    }

    async fn redeem_setup_token(&self, id: &str, hash: &str, at_ms: i64) -> Result<Option<User>> {
        redeem_setup_token(self, id, hash, at_ms).await
    }

    async fn disable_user(&self, name: &UserName, at_ms: i64) -> Result<User> {
        disable_user(self, name, at_ms).await
    }

    async fn create_session(
        &self,
        user_id: i64,
        ip: Option<&str>,
        at_ms: i64,
        expires_at_ms: i64,
    ) -> Result<SecretToken> {
        create_session(self, user_id, ip, at_ms, expires_at_ms).await
    }

    async fn session(&self, token: &SecretToken, at_ms: i64) -> Result<Option<Session>> {
        session(self, token, at_ms).await
    }

    async fn end_session(&self, token: &SecretToken, at_ms: i64) -> Result<bool> {
        end_session(self, token, at_ms).await
    }

    async fn append_audit(&self, entry: &AuditEntry) -> Result<()> {
        append_audit(self, entry).await
    }

    async fn audit_log(&self, filter: &AuditFilter) -> Result<Vec<AuditEntry>> {
        audit_log(self, filter).await
    }
}

const USER_COLUMNS: &str = "users.id, users.name, users.role, users.password_hash, \
                            users.created_at, users.disabled_at";

fn user_from_row(row: &PgRow) -> Result<User> {
    let name: String = row.try_get("name")?;
    let role: String = row.try_get("role")?;
    Ok(User {
        id: row.try_get("id")?,
        name: UserName::parse(&name)
            .map_err(|_| StoreError::Corrupt(format!("user name {name:?}")))?,
        role: role
            .parse::<UserRole>()
            .map_err(|_| StoreError::Corrupt(format!("user role {role:?}")))?,
        password_hash: row.try_get("password_hash")?,
        created_at_ms: row.try_get("created_at")?,
        disabled_at_ms: row.try_get("disabled_at")?,
    })
}

async fn add_user(
    store: &PostgresStore,
    name: &UserName,
    role: UserRole,
    first: &FirstCredential,
    at_ms: i64,
) -> Result<User> {
    let (hash, setup, expires) = match first {
        FirstCredential::PasswordHash(hash) => (Some(hash.as_str()), None, None),
        FirstCredential::SetupToken { id, expires_at_ms } => {
            (None, Some(id.as_str()), Some(*expires_at_ms))
        }
    };
    // Two processes adding the same name at once: the second waits for the first to commit,
    // then finds the name taken and inserts nothing.
    let row = sqlx::query(&format!(
        "INSERT INTO users (name, role, password_hash, setup_hash, setup_expires_at, \
         created_at) VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT (name) DO NOTHING \
         RETURNING {USER_COLUMNS}"
    ))
    .bind(name.as_str())
    .bind(role.as_str())
    .bind(hash)
    .bind(setup)
    .bind(expires)
    .bind(at_ms)
    .fetch_optional(store.pool())
    .await?
    .ok_or_else(|| StoreError::Refused(format!("there is a user named {name} already")))?;
    user_from_row(&row)
}

async fn users(store: &PostgresStore) -> Result<Vec<User>> {
    // Byte order, as SQLite sorts: a locale's collation would set `a.b` between `ab` and `ac`.
    sqlx::query(&format!(
        "SELECT {USER_COLUMNS} FROM users ORDER BY name COLLATE \"C\""
    ))
    .fetch_all(store.pool())
    .await?
    .iter()
    .map(user_from_row)
    .collect()
}

async fn user(store: &PostgresStore, name: &UserName) -> Result<Option<User>> {
    sqlx::query(&format!("SELECT {USER_COLUMNS} FROM users WHERE name = $1"))
        .bind(name.as_str())
        .fetch_optional(store.pool())
        .await?
        .map(|row| user_from_row(&row))
        .transpose()
}

async fn set_password(store: &PostgresStore, name: &UserName, hash: &str) -> Result<()> {
    let changed = sqlx::query(
        "UPDATE users SET password_hash = $1, setup_hash = NULL, setup_expires_at = NULL \
         WHERE name = $2",
    )
    .bind(hash)
    .bind(name.as_str())
    .execute(store.pool())
    .await?
    .rows_affected();
    if changed == 0 {
        return Err(StoreError::NotFound(format!("user {name}")));
    }
    Ok(())
}

/// The user's own addresses, for "send me a test"; `None` leaves one as it is.
async fn set_user_contact(
    store: &PostgresStore,
    name: &UserName,
    email: Option<&str>,
    phone: Option<&str>,
) -> Result<()> {
    let changed = sqlx::query(
        "UPDATE users SET email = coalesce($1, email), phone = coalesce($2, phone) \
         WHERE name = $3",
    )
    .bind(email)
    .bind(phone)
    .bind(name.as_str())
    .execute(store.pool())
    .await?
    .rows_affected();
    if changed == 0 {
        return Err(StoreError::NotFound(format!("user {name}")));
    }
    Ok(())
}

async fn user_contact(store: &PostgresStore, name: &UserName) -> Result<UserContact> {
    let row = sqlx::query("SELECT email, phone FROM users WHERE name = $1")
        .bind(name.as_str())
        .fetch_optional(store.pool())
        .await?
        .ok_or_else(|| StoreError::NotFound(format!("user {name}")))?;
    Ok(UserContact {
        email: row.try_get("email")?,
        phone: row.try_get("phone")?,
    })
}

async fn setup_token_user(store: &PostgresStore, id: &str, at_ms: i64) -> Result<Option<User>> {
    sqlx::query(&format!(
        "SELECT {USER_COLUMNS} FROM users \
         WHERE setup_hash = $1 AND setup_expires_at > $2 AND disabled_at IS NULL"
    ))
    .bind(id)
    .bind(at_ms)
    .fetch_optional(store.pool())
    .await?
    .map(|row| user_from_row(&row))
    .transpose()
}

async fn redeem_setup_token(
    store: &PostgresStore,
    id: &str,
    hash: &str,
    at_ms: i64,
) -> Result<Option<User>> {
    // Once, however many requests race: a second UPDATE waits for the first's row lock, then
    // reads the row again, finds its token void and changes nothing.
    sqlx::query(&format!(
        "UPDATE users SET password_hash = $1, setup_hash = NULL, setup_expires_at = NULL \
         WHERE setup_hash = $2 AND setup_expires_at > $3 AND disabled_at IS NULL \
         RETURNING {USER_COLUMNS}"
    ))
    .bind(hash)
    .bind(id)
    .bind(at_ms)
    .fetch_optional(store.pool())
    .await?
    .map(|row| user_from_row(&row))
    .transpose()
}

async fn disable_user(store: &PostgresStore, name: &UserName, at_ms: i64) -> Result<User> {
    let mut tx = store.pool().begin().await?;
    let row = sqlx::query(&format!(
        "UPDATE users SET disabled_at = COALESCE(disabled_at, $1), setup_hash = NULL, \
         setup_expires_at = NULL WHERE name = $2 RETURNING {USER_COLUMNS}"
    ))
    .bind(at_ms)
    .bind(name.as_str())
    .fetch_optional(&mut *tx)
    .await?
    .ok_or_else(|| StoreError::NotFound(format!("user {name}")))?;
    let user = user_from_row(&row)?;
    sqlx::query("UPDATE sessions SET ended_at = $1 WHERE user_id = $2 AND ended_at IS NULL")
        .bind(at_ms)
        .bind(user.id)
        .execute(&mut *tx)
        .await?;
    tx.commit().await?;
    Ok(user)
}

async fn create_session(
    store: &PostgresStore,
    user_id: i64,
    ip: Option<&str>,
    at_ms: i64,
    expires_at_ms: i64,
) -> Result<SecretToken> {
    let token = SecretToken::from_bytes(rand::random());
    sqlx::query(
        "INSERT INTO sessions (id, user_id, created_at, expires_at, last_seen_at, ip) \
         VALUES ($1, $2, $3, $4, $5, $6)",
    )
    .bind(token.id())
    .bind(user_id)
    .bind(at_ms)
    .bind(expires_at_ms)
    .bind(at_ms)
    .bind(ip)
    .execute(store.pool())
    .await?;
    Ok(token)
}

const LAST_SEEN_EVERY_MS: i64 = 60_000;

async fn session(
    store: &PostgresStore,
    token: &SecretToken,
    at_ms: i64,
) -> Result<Option<Session>> {
    let id = token.id();
    let Some(row) = sqlx::query(&format!(
        "SELECT {USER_COLUMNS}, sessions.created_at AS session_created_at, \
         sessions.expires_at, sessions.last_seen_at, sessions.ip \
         FROM sessions JOIN users ON users.id = sessions.user_id \
         WHERE sessions.id = $1 AND sessions.ended_at IS NULL AND sessions.expires_at > $2 \
         AND users.disabled_at IS NULL"
    ))
    .bind(&id)
    .bind(at_ms)
    .fetch_optional(store.pool())
    .await?
    else {
        return Ok(None);
    };
    // A console page asks several times a second (the dashboard, the SMS counter): the
    // session's last use is written at most once a minute, not once per request. Two
    // instances writing it at once keep the later time.
    let last_seen: i64 = row.try_get("last_seen_at")?;
    let last_seen_at_ms = if at_ms - last_seen >= LAST_SEEN_EVERY_MS {
        sqlx::query("UPDATE sessions SET last_seen_at = GREATEST(last_seen_at, $1) WHERE id = $2")
            .bind(at_ms)
            .bind(&id)
            .execute(store.pool())
            .await?;
        at_ms
    } else {
        last_seen
    };
    Ok(Some(Session {
        id,
        user: user_from_row(&row)?,
        created_at_ms: row.try_get("session_created_at")?,
        expires_at_ms: row.try_get("expires_at")?,
        last_seen_at_ms,
        ip: row.try_get("ip")?,
    }))
}

async fn end_session(store: &PostgresStore, token: &SecretToken, at_ms: i64) -> Result<bool> {
    let ended = sqlx::query("UPDATE sessions SET ended_at = $1 WHERE id = $2 AND ended_at IS NULL")
        .bind(at_ms)
        .bind(token.id())
        .execute(store.pool())
        .await?
        .rows_affected();
    Ok(ended == 1)
}

async fn append_audit(store: &PostgresStore, entry: &AuditEntry) -> Result<()> {
    sqlx::query(
        "INSERT INTO audit_log (at, user_id, action, target, detail, remote) \
         VALUES ($1, (SELECT id FROM users WHERE name = $2), $3, $4, $5, $6)",
    )
    .bind(entry.at_ms)
    .bind(entry.user.as_ref().map(UserName::as_str))
    .bind(&entry.action)
    .bind(&entry.target)
    .bind(&entry.detail)
    .bind(&entry.remote)
    .execute(store.pool())
    .await?;
    Ok(())
}

async fn audit_log(store: &PostgresStore, filter: &AuditFilter) -> Result<Vec<AuditEntry>> {
    let mut query: QueryBuilder<Postgres> = QueryBuilder::new(
        "SELECT audit_log.at, users.name, audit_log.action, audit_log.target, \
         audit_log.detail, audit_log.remote FROM audit_log \
         LEFT JOIN users ON users.id = audit_log.user_id WHERE TRUE",
    );
    if let Some(user) = &filter.user {
        query.push(" AND users.name = ").push_bind(user.as_str());
    }
    if let Some(since) = filter.since_ms {
        query.push(" AND audit_log.at >= ").push_bind(since);
    }
    query.push(" ORDER BY audit_log.at DESC, audit_log.id DESC");
    query
        .build()
        .fetch_all(store.pool())
        .await?
        .iter()
        .map(|row| {
            let name: Option<String> = row.try_get("name")?;
            Ok(AuditEntry {
                at_ms: row.try_get("at")?,
                user: name
                    .map(|name| {
                        UserName::parse(&name)
                            .map_err(|_| StoreError::Corrupt(format!("user name {name:?}")))
                    })
                    .transpose()?,
                action: row.try_get("action")?,
                target: row.try_get("target")?,
                detail: row.try_get("detail")?,
                remote: row.try_get("remote")?,
            })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::postgres::testing;

    fn name(raw: &str) -> UserName {
        UserName::parse(raw).expect("a valid name")
    }

    #[tokio::test]
    async fn a_setup_token_is_redeemed_once_when_requests_race() {
        let Some(store) = testing::store("redeem_race").await else {
            return;
        };
        let first = FirstCredential::SetupToken {
            id: "token-id".to_string(),
            expires_at_ms: 10_000,
        };
        add_user(&store, &name("ann"), UserRole::Author, &first, 1_000)
            .await
            .expect("add");
        let tries = (0..8).map(|n| {
            let store = &store;
            async move { redeem_setup_token(store, "token-id", &format!("hash-{n}"), 2_000).await }
        });
        let redeemed: Vec<User> = futures::future::join_all(tries)
            .await
            .into_iter()
            .filter_map(|outcome| outcome.expect("redeem"))
            .collect();
        assert_eq!(redeemed.len(), 1);
        let stored = user(&store, &name("ann"))
            .await
            .expect("read")
            .expect("ann");
        assert_eq!(stored.password_hash, redeemed[0].password_hash);
        assert!(setup_token_user(&store, "token-id", 2_000)
            .await
            .expect("read")
            .is_none());
    }

    #[tokio::test]
    async fn a_name_taken_by_a_racing_insert_is_refused() {
        let Some(store) = testing::store("add_user_race").await else {
            return;
        };
        let hash = FirstCredential::PasswordHash("hash".to_string());
        let bob = name("bob");
        let tries = (0..8).map(|_| add_user(&store, &bob, UserRole::Admin, &hash, 1_000));
        let outcomes = futures::future::join_all(tries).await;
        let added = outcomes.iter().filter(|outcome| outcome.is_ok()).count();
        let refused = outcomes
            .iter()
            .filter(|outcome| matches!(outcome, Err(StoreError::Refused(_))))
            .count();
        assert_eq!((added, refused), (1, 7));
        let names: Vec<String> = users(&store)
            .await
            .expect("users")
            .into_iter()
            .map(|user| user.name.to_string())
            .collect();
        assert_eq!(names, ["bob"]);
    }

    #[tokio::test]
    async fn users_come_in_byte_order_and_a_disabled_one_loses_its_sessions() {
        let Some(store) = testing::store("users_order").await else {
            return;
        };
        let hash = FirstCredential::PasswordHash("hash".to_string());
        for raw in ["ac", "a.b", "ab"] {
            add_user(&store, &name(raw), UserRole::Author, &hash, 1_000)
                .await
                .expect("add");
        }
        let names: Vec<String> = users(&store)
            .await
            .expect("users")
            .into_iter()
            .map(|user| user.name.to_string())
            .collect();
        assert_eq!(names, ["a.b", "ab", "ac"]);
        let ab = user(&store, &name("ab")).await.expect("read").expect("ab");
        let token = create_session(&store, ab.id, Some("192.0.2.1"), 1_000, 100_000)
            .await
            .expect("session");
        let seen = session(&store, &token, 70_000)
            .await
            .expect("session")
            .expect("open");
        assert_eq!(seen.last_seen_at_ms, 70_000);
        disable_user(&store, &name("ab"), 80_000)
            .await
            .expect("disable");
        assert!(session(&store, &token, 80_001)
            .await
            .expect("session")
            .is_none());
        assert!(!end_session(&store, &token, 80_002).await.expect("end"));
    }
}
