//! The console's accounts (`users`), their sessions (`sessions`) and the audit log
//! (`audit_log`). Tokens arrive here as `SecretToken`s and only their ids are written.

use super::SqliteStore;
use crate::domain::{SecretToken, UserName, UserRole};
use crate::store::{
    AuditEntry, AuditFilter, FirstCredential, Result, Session, StoreError, User, UserContact,
};
use sqlx::sqlite::SqliteRow;
use sqlx::{QueryBuilder, Row, Sqlite};

const USER_COLUMNS: &str = "users.id, users.name, users.role, users.password_hash, \
                            users.created_at, users.disabled_at";

fn user_from_row(row: &SqliteRow) -> Result<User> {
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

fn is_unique_violation(error: &sqlx::Error) -> bool {
    matches!(error, sqlx::Error::Database(db) if db.is_unique_violation())
}

pub(super) async fn add_user(
    store: &SqliteStore,
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
    let (_turn, mut tx) = store.begin_write().await?;
    let inserted = sqlx::query(
        "INSERT INTO users (name, role, password_hash, setup_hash, setup_expires_at, \
         created_at) VALUES (?, ?, ?, ?, ?, ?)",
    )
    .bind(name.as_str())
    .bind(role.as_str())
    .bind(hash)
    .bind(setup)
    .bind(expires)
    .bind(at_ms)
    .execute(&mut *tx)
    .await;
    match inserted {
        Err(error) if is_unique_violation(&error) => {
            return Err(StoreError::Refused(format!(
                "there is a user named {name} already"
            )))
        }
        other => other?,
    };
    let row = sqlx::query(&format!("SELECT {USER_COLUMNS} FROM users WHERE name = ?"))
        .bind(name.as_str())
        .fetch_one(&mut *tx)
        .await?;
    tx.commit().await?;
    user_from_row(&row)
}

pub(super) async fn users(store: &SqliteStore) -> Result<Vec<User>> {
    sqlx::query(&format!("SELECT {USER_COLUMNS} FROM users ORDER BY name"))
        .fetch_all(store.pool())
        .await?
        .iter()
        .map(user_from_row)
        .collect()
}

pub(super) async fn user(store: &SqliteStore, name: &UserName) -> Result<Option<User>> {
    sqlx::query(&format!("SELECT {USER_COLUMNS} FROM users WHERE name = ?"))
        .bind(name.as_str())
        .fetch_optional(store.pool())
        .await?
        .map(|row| user_from_row(&row))
        .transpose()
}

pub(super) async fn set_password(store: &SqliteStore, name: &UserName, hash: &str) -> Result<()> {
    let (_turn, mut tx) = store.begin_write().await?;
    let changed = sqlx::query(
        "UPDATE users SET password_hash = ?, setup_hash = NULL, setup_expires_at = NULL \
         WHERE name = ?",
    )
    .bind(hash)
    .bind(name.as_str())
    .execute(&mut *tx)
    .await?
    .rows_affected();
    if changed == 0 {
        return Err(StoreError::NotFound(format!("user {name}")));
    }
    tx.commit().await?;
    Ok(())
}

/// The user's own addresses, for "send me a test"; `None` leaves one as it is.
pub(super) async fn set_user_contact(
    store: &SqliteStore,
    name: &UserName,
    email: Option<&str>,
    phone: Option<&str>,
) -> Result<()> {
    let (_turn, mut tx) = store.begin_write().await?;
    let changed = sqlx::query(
        "UPDATE users SET email = coalesce(?, email), phone = coalesce(?, phone) WHERE name = ?",
    )
    .bind(email)
    .bind(phone)
    .bind(name.as_str())
    .execute(&mut *tx)
    .await?
    .rows_affected();
    if changed == 0 {
        return Err(StoreError::NotFound(format!("user {name}")));
    }
    tx.commit().await?;
    Ok(())
}

pub(super) async fn user_contact(store: &SqliteStore, name: &UserName) -> Result<UserContact> {
    let row = sqlx::query("SELECT email, phone FROM users WHERE name = ?")
        .bind(name.as_str())
        .fetch_optional(store.pool())
        .await?
        .ok_or_else(|| StoreError::NotFound(format!("user {name}")))?;
    Ok(UserContact {
        email: row.try_get("email")?,
        phone: row.try_get("phone")?,
    })
}

pub(super) async fn setup_token_user(
    store: &SqliteStore,
    id: &str,
    at_ms: i64,
) -> Result<Option<User>> {
    let row = sqlx::query(&format!(
        "SELECT {USER_COLUMNS} FROM users \
         WHERE setup_hash = ? AND setup_expires_at > ? AND disabled_at IS NULL"
    ))
    .bind(id)
    .bind(at_ms)
    .fetch_optional(store.pool())
    .await?;
    row.map(|row| user_from_row(&row)).transpose()
}

pub(super) async fn redeem_setup_token(
    store: &SqliteStore,
    id: &str,
    hash: &str,
    at_ms: i64,
) -> Result<Option<User>> {
    let (_turn, mut tx) = store.begin_write().await?;
    let row = sqlx::query(&format!(
        "UPDATE users SET password_hash = ?, setup_hash = NULL, setup_expires_at = NULL \
         WHERE setup_hash = ? AND setup_expires_at > ? AND disabled_at IS NULL \
         RETURNING {USER_COLUMNS}"
    ))
    .bind(hash)
    .bind(id)
    .bind(at_ms)
    .fetch_optional(&mut *tx)
    .await?;
    tx.commit().await?;
    row.map(|row| user_from_row(&row)).transpose()
}

pub(super) async fn disable_user(store: &SqliteStore, name: &UserName, at_ms: i64) -> Result<User> {
    let (_turn, mut tx) = store.begin_write().await?;
    let row = sqlx::query(&format!(
        "UPDATE users SET disabled_at = COALESCE(disabled_at, ?), setup_hash = NULL, \
         setup_expires_at = NULL WHERE name = ? RETURNING {USER_COLUMNS}"
    ))
    .bind(at_ms)
    .bind(name.as_str())
    .fetch_optional(&mut *tx)
    .await?
    .ok_or_else(|| StoreError::NotFound(format!("user {name}")))?;
    let user = user_from_row(&row)?;
    sqlx::query("UPDATE sessions SET ended_at = ? WHERE user_id = ? AND ended_at IS NULL")
        .bind(at_ms)
        .bind(user.id)
        .execute(&mut *tx)
        .await?;
    tx.commit().await?;
    Ok(user)
}

pub(super) async fn create_session(
    store: &SqliteStore,
    user_id: i64,
    ip: Option<&str>,
    at_ms: i64,
    expires_at_ms: i64,
) -> Result<SecretToken> {
    let token = SecretToken::from_bytes(rand::random());
    let (_turn, mut tx) = store.begin_write().await?;
    sqlx::query(
        "INSERT INTO sessions (id, user_id, created_at, expires_at, last_seen_at, ip) \
         VALUES (?, ?, ?, ?, ?, ?)",
    )
    .bind(token.id())
    .bind(user_id)
    .bind(at_ms)
    .bind(expires_at_ms)
    .bind(at_ms)
    .bind(ip)
    .execute(&mut *tx)
    .await?;
    tx.commit().await?;
    Ok(token)
}

const LAST_SEEN_EVERY_MS: i64 = 60_000;

pub(super) async fn session(
    store: &SqliteStore,
    token: &SecretToken,
    at_ms: i64,
) -> Result<Option<Session>> {
    let id = token.id();
    let Some(row) = sqlx::query(&format!(
        "SELECT {USER_COLUMNS}, sessions.created_at AS session_created_at, \
         sessions.expires_at, sessions.last_seen_at, sessions.ip FROM sessions JOIN users ON users.id = sessions.user_id \
         WHERE sessions.id = ? AND sessions.ended_at IS NULL AND sessions.expires_at > ? \
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
    // session's last use is written at most once a minute, not once per request.
    let last_seen: i64 = row.try_get("last_seen_at")?;
    let last_seen_at_ms = if at_ms - last_seen >= LAST_SEEN_EVERY_MS {
        let (_turn, mut tx) = store.begin_write().await?;
        sqlx::query("UPDATE sessions SET last_seen_at = MAX(last_seen_at, ?) WHERE id = ?")
            .bind(at_ms)
            .bind(&id)
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
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

pub(super) async fn end_session(
    store: &SqliteStore,
    token: &SecretToken,
    at_ms: i64,
) -> Result<bool> {
    let (_turn, mut tx) = store.begin_write().await?;
    let ended = sqlx::query("UPDATE sessions SET ended_at = ? WHERE id = ? AND ended_at IS NULL")
        .bind(at_ms)
        .bind(token.id())
        .execute(&mut *tx)
        .await?
        .rows_affected();
    tx.commit().await?;
    Ok(ended == 1)
}

pub(super) async fn append_audit(store: &SqliteStore, entry: &AuditEntry) -> Result<()> {
    let (_turn, mut tx) = store.begin_write().await?;
    sqlx::query(
        "INSERT INTO audit_log (at, user_id, action, target, detail, remote) \
         VALUES (?, (SELECT id FROM users WHERE name = ?), ?, ?, ?, ?)",
    )
    .bind(entry.at_ms)
    .bind(entry.user.as_ref().map(UserName::as_str))
    .bind(&entry.action)
    .bind(&entry.target)
    .bind(&entry.detail)
    .bind(&entry.remote)
    .execute(&mut *tx)
    .await?;
    tx.commit().await?;
    Ok(())
}

pub(super) async fn audit_log(
    store: &SqliteStore,
    filter: &AuditFilter,
) -> Result<Vec<AuditEntry>> {
    let mut query: QueryBuilder<Sqlite> = QueryBuilder::new(
        "SELECT audit_log.at, users.name, audit_log.action, audit_log.target, \
         audit_log.detail, audit_log.remote FROM audit_log \
         LEFT JOIN users ON users.id = audit_log.user_id WHERE 1 = 1",
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
