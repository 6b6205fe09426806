//! The console's accounts, sessions and audit log, as operations: the CLI's `user` and
//! `audit` commands and (later) the console's pages call these.

use super::{App, AppError};
use crate::accounts::{
    hash_password_apart, verify_password_apart, LoginThrottle, ThrottleSettings,
};
use crate::domain::{check_password, SecretToken, UserName, UserRole};
use crate::spreadsheet::{Separator, SheetWriter};
use crate::store::{AuditEntry, AuditFilter, FirstCredential, Session, StoreError, User};
use chrono::{DateTime, NaiveDate, SecondsFormat};
use std::sync::atomic::Ordering;
use std::sync::Arc;

/// Who is acting, for the audit log.
#[derive(Debug, Clone)]
pub struct Actor {
    /// The signed-in user; None on the CLI.
    pub user: Option<UserName>,
    /// The remote address, or `cli`.
    pub remote: String,
    /// Kept with each entry: on the CLI, the login name that ran the command.
    pub note: Option<String>,
}

impl Actor {
    pub fn cli(login: &str) -> Actor {
        Actor {
            user: None,
            remote: "cli".into(),
            note: Some(format!("CLI, run by {login}")),
        }
    }
}

/// How a new account will first sign in.
pub enum NewCredential {
    /// A password the person chose (checked for length here).
    Password(String),
    /// A one-time setup token, printed once, for the person to set their own password.
    SetupToken,
}

/// A setup token to hand to the new user, and when it stops working.
#[derive(Debug)]
pub struct SetupToken {
    pub token: SecretToken,
    pub expires_at_ms: i64,
}

const HOUR_MS: i64 = 3_600_000;

/// The audit log's target of a failed sign-in with a name no account has.
const UNKNOWN_NAME: &str = "an unknown name";

impl App {
    pub(super) async fn audit(
        &self,
        actor: &Actor,
        action: &str,
        target: Option<&str>,
        detail: Option<String>,
    ) -> Result<(), AppError> {
        let detail = match (detail, &actor.note) {
            (Some(detail), Some(note)) => Some(format!("{detail}; {note}")),
            (detail, note) => detail.or_else(|| note.clone()),
        };
        self.store
            .append_audit(&AuditEntry {
                at_ms: self.clock.now_ms(),
                user: actor.user.clone(),
                action: action.into(),
                target: target.map(str::to_string),
                detail,
                remote: Some(actor.remote.clone()),
            })
            .await?;
        Ok(())
    }

    /// A new account, with a password or a setup token (returned here only).
    pub async fn add_user(
        &self,
        name: &str,
        role: UserRole,
        credential: NewCredential,
        actor: &Actor,
    ) -> Result<(User, Option<SetupToken>), AppError> {
        let name = UserName::parse(name).map_err(|e| AppError::Refused(e.to_string()))?;
        let now = self.clock.now_ms();
        let (first, setup) = match credential {
            NewCredential::Password(password) => {
                check_password(&password).map_err(|e| AppError::Refused(e.to_string()))?;
                (
                    FirstCredential::PasswordHash(hash_password_apart(password).await?),
                    None,
                )
            }
            NewCredential::SetupToken => {
                let token = SecretToken::from_bytes(rand::random());
                let expires_at_ms = now + i64::from(self.config.console.setup_link_hours) * HOUR_MS;
                let first = FirstCredential::SetupToken {
                    id: token.id(),
                    expires_at_ms,
                };
                (
                    first,
                    Some(SetupToken {
                        token,
                        expires_at_ms,
                    }),
                )
            }
        };
        let user = match self.store.add_user(&name, role, &first, now).await {
            Err(StoreError::Refused(why)) => return Err(AppError::Refused(why)),
            other => other?,
        };
        let how = if setup.is_some() {
            "with a setup token"
        } else {
            "with a password"
        };
        self.audit(
            actor,
            "user.add",
            Some(name.as_str()),
            Some(format!("role {role}, {how}")),
        )
        .await?;
        Ok((user, setup))
    }

    pub async fn users(&self, actor: &Actor) -> Result<Vec<User>, AppError> {
        let users = self.store.users().await?;
        self.audit(actor, "user.list", None, None).await?;
        Ok(users)
    }

    /// Disables an account: it can no longer sign in, and its sessions end now.
    pub async fn disable_user(&self, name: &str, actor: &Actor) -> Result<User, AppError> {
        let name = UserName::parse(name).map_err(|e| AppError::Refused(e.to_string()))?;
        if self.store.user(&name).await?.is_none() {
            return Err(AppError::Refused(format!("there is no user named {name}")));
        }
        let user = self.store.disable_user(&name, self.clock.now_ms()).await?;
        self.sessions_ended.fetch_add(1, Ordering::Release);
        self.audit(actor, "user.disable", Some(name.as_str()), None)
            .await?;
        Ok(user)
    }

    /// Checks a password and opens a session; the token is returned here only. A wrong
    /// name, a wrong password, a disabled account and one without a password yet are one
    /// refusal, alike in what it says and (nearly) in the time it takes.
    pub async fn sign_in(
        &self,
        name: &str,
        password: &str,
        remote: &str,
    ) -> Result<(User, SecretToken), AppError> {
        let refused = || AppError::Refused("wrong user name or password".into());
        let user = match UserName::parse(name) {
            Ok(name) => self.store.user(&name).await?,
            Err(_) => None,
        };
        let actor = Actor {
            user: None,
            remote: remote.into(),
            note: None,
        };
        let known = user.as_ref().map(|user| user.name.to_string());
        let Some(user) = user.filter(|user| user.disabled_at_ms.is_none()) else {
            verify_password_apart(password.to_string(), None).await?;
            // A name no account has is often a password typed into the wrong field: none of
            // its text is kept. A disabled account's name is a name.
            let target = known.unwrap_or_else(|| UNKNOWN_NAME.to_string());
            self.audit(&actor, "login.failed", Some(&target), None)
                .await?;
            return Err(refused());
        };
        let matches =
            verify_password_apart(password.to_string(), user.password_hash.clone()).await?;
        if !matches {
            self.audit(&actor, "login.failed", Some(user.name.as_str()), None)
                .await?;
            return Err(refused());
        }
        let now = self.clock.now_ms();
        let expires = now + i64::from(self.config.console.session_hours) * HOUR_MS;
        let token = self
            .store
            .create_session(user.id, Some(remote), now, expires)
            .await?;
        let actor = Actor {
            user: Some(user.name.clone()),
            ..actor
        };
        self.audit(&actor, "login", None, None).await?;
        Ok((user, token))
    }

    /// The sign-in throttle as configured (`[console] login_attempts_before_delay` for a
    /// name from one address, four times as many from an address whatever the names), on
    /// the app's clock. One per server: it counts in memory.
    pub fn login_throttle(&self) -> LoginThrottle {
        let free = self.config.console.login_attempts_before_delay;
        let settings = ThrottleSettings {
            free_attempts: free,
            free_attempts_per_address: free.saturating_mul(4),
            ..ThrottleSettings::default()
        };
        LoginThrottle::new(settings, Arc::clone(&self.clock))
    }

    /// Sets the first password of the account a setup token was issued to, which voids the
    /// token. None when the token is unknown, used, expired or its account disabled: one
    /// answer for all, as for a wrong password. The token is looked at first: a wrong one
    /// costs no Argon2 hash, and learns nothing of the password rules.
    pub async fn redeem_setup_token(
        &self,
        token: &SecretToken,
        password: &str,
        remote: &str,
    ) -> Result<Option<User>, AppError> {
        let valid = self
            .store
            .setup_token_user(&token.id(), self.clock.now_ms())
            .await?
            .is_some();
        let user = if valid {
            check_password(password).map_err(|e| AppError::Refused(e.to_string()))?;
            let hash = hash_password_apart(password.to_string()).await?;
            // Still None if the token was used meanwhile: the store redeems it once.
            self.store
                .redeem_setup_token(&token.id(), &hash, self.clock.now_ms())
                .await?
        } else {
            None
        };
        let actor = Actor {
            user: user.as_ref().map(|user| user.name.clone()),
            remote: remote.into(),
            note: None,
        };
        let action = if user.is_some() {
            "user.setup"
        } else {
            "user.setup.refused"
        };
        self.audit(&actor, action, None, None).await?;
        Ok(user)
    }

    /// The open session a token stands for, if any.
    pub async fn session(&self, token: &SecretToken) -> Result<Option<Session>, AppError> {
        Ok(self.store.session(token, self.clock.now_ms()).await?)
    }

    /// Ends the session a token stands for; false when it was not open.
    pub async fn sign_out(&self, token: &SecretToken, remote: &str) -> Result<bool, AppError> {
        let session = self.session(token).await?;
        let ended = self.store.end_session(token, self.clock.now_ms()).await?;
        self.sessions_ended.fetch_add(1, Ordering::Release);
        if let (true, Some(session)) = (ended, session) {
            let actor = Actor {
                user: Some(session.user.name),
                remote: remote.into(),
                note: None,
            };
            self.audit(&actor, "logout", None, None).await?;
        }
        Ok(ended)
    }

    /// How many times this process has ended sessions (a sign-out, an account disabled): a
    /// dashboard's stream reads its session again only when this moved, or every few
    /// seconds for what other processes end.
    pub fn sessions_ended(&self) -> u64 {
        self.sessions_ended.load(Ordering::Acquire)
    }

    /// The audit log, newest first, from the start of `since` (a day in the hospital's
    /// time zone) and of one user if given; reading it is logged too.
    pub async fn audit_log(
        &self,
        since: Option<NaiveDate>,
        user: Option<&str>,
        actor: &Actor,
    ) -> Result<Vec<AuditEntry>, AppError> {
        let tz = self.config.hospital.tz().map_err(AppError::Config)?;
        let since_ms = since
            .map(|day| {
                day.and_hms_opt(0, 0, 0)
                    .and_then(|midnight| midnight.and_local_timezone(tz).earliest())
                    .map(|start| start.timestamp_millis())
                    .ok_or_else(|| AppError::Refused(format!("{day} has no midnight in {tz}")))
            })
            .transpose()?;
        let user = user
            .map(|name| UserName::parse(name).map_err(|e| AppError::Refused(e.to_string())))
            .transpose()?;
        let filter = AuditFilter {
            user: user.clone(),
            since_ms,
        };
        let entries = self.store.audit_log(&filter).await?;
        let mut asked = Vec::new();
        if let Some(day) = since {
            asked.push(format!("since {day}"));
        }
        if let Some(user) = &user {
            asked.push(format!("of {user}"));
        }
        let detail = (!asked.is_empty()).then(|| asked.join(", "));
        self.audit(actor, "audit.export", None, detail).await?;
        Ok(entries)
    }

    /// The audit log as CSV through `SheetWriter` (a target or detail starting with `=` is
    /// text, not a formula), times in the hospital's time zone with their offset.
    pub fn audit_csv(
        &self,
        entries: &[AuditEntry],
        out: impl std::io::Write,
        separator: Separator,
    ) -> Result<(), AppError> {
        let tz = self.config.hospital.tz().map_err(AppError::Config)?;
        let written = (|| {
            let mut writer = SheetWriter::new(out, separator)?;
            writer.row(["at", "user", "action", "target", "detail", "remote"])?;
            for entry in entries {
                let at = DateTime::from_timestamp_millis(entry.at_ms)
                    .map(|at| {
                        at.with_timezone(&tz)
                            .to_rfc3339_opts(SecondsFormat::Secs, false)
                    })
                    .unwrap_or_default();
                writer.row([
                    at.as_str(),
                    entry
                        .user
                        .as_ref()
                        .map(UserName::as_str)
                        .unwrap_or_default(),
                    &entry.action,
                    entry.target.as_deref().unwrap_or_default(),
                    entry.detail.as_deref().unwrap_or_default(),
                    entry.remote.as_deref().unwrap_or_default(),
                ])?;
            }
            writer.finish()
        })();
        written.map_err(|e| AppError::Refused(format!("cannot write the audit log: {e}")))
    }
}
