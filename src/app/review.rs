//! Four eyes and the sending of an update, as operations each written to the audit log with
//! its `Actor` (who, what, on which update, from where): the CLI's `update` commands and the
//! console's update page call these, and these call the operations of `app.rs`.

use super::{Actor, App, AppError, DraftReport, Refusal, SendReport};
use crate::author::DraftOptions;
use crate::dispatch::scheduler::Launch;
use crate::dispatch::Tally;
use crate::domain::{AccountRefusal, Action, Update, UpdateState, UserName};
use crate::plan::plan;
use crate::store::{RetryFilter, StoreError, User};
use chrono::{NaiveDateTime, TimeZone};
use std::path::Path;
use std::sync::Arc;

/// The longest comment a reviewer may give: a few paragraphs, not a document.
pub const MAX_COMMENT_CHARS: usize = 2_000;

impl App {
    /// `draft`, audited: the update's id and author.
    pub async fn draft_as(
        &self,
        file: &Path,
        by: Option<&str>,
        options: DraftOptions,
        actor: &Actor,
    ) -> Result<DraftReport, AppError> {
        let report = self.draft(file, by, options).await?;
        let detail = format!("by {}, from {}", report.draft.update.author, file.display());
        self.audit(
            actor,
            "update.draft",
            Some(&report.id.to_string()),
            Some(detail),
        )
        .await?;
        Ok(report)
    }

    /// Whether four eyes compares accounts (Tocsin has at least one, disabled ones
    /// included) or, until the first, the names typed: a file's `author` and `--by`.
    pub async fn four_eyes_by_account(&self) -> Result<bool, AppError> {
        Ok(!self.store.users().await?.is_empty())
    }

    /// Who drafts (`Action::Draft`) or reviews (`Action::Approve`) as `name` says: with
    /// accounts, the account's name as stored, if it is enabled and its role may; without,
    /// the name as typed.
    pub(super) async fn signatory(&self, name: &str, action: Action) -> Result<String, AppError> {
        let users = self.store.users().await?;
        if users.is_empty() {
            return Ok(name.trim().to_string());
        }
        Ok(account(&users, name, action)?)
    }

    /// Who reviews `update` as `by` says: [`App::signatory`] for `Action::Approve`; and with
    /// accounts, a draft whose author is no account is refused, since its approver could be
    /// the same person under another name.
    pub(super) async fn reviewer(&self, update: &Update, by: &str) -> Result<String, AppError> {
        let users = self.store.users().await?;
        if users.is_empty() {
            return Ok(by.trim().to_string());
        }
        let by = account(&users, by, Action::Approve)?;
        let author = UserName::parse(&update.author).ok();
        let known = users.iter().any(|user| Some(&user.name) == author.as_ref());
        if update.state == UpdateState::Draft && !known {
            return Err(AccountRefusal::AuthorNotAccount {
                id: update.id,
                author: update.author.clone(),
            }
            .into());
        }
        Ok(by)
    }

    /// `approve`, audited; a refusal (the author, no approver's account, a second approval)
    /// is audited too: four eyes tried around is worth a line.
    pub async fn approve_as(&self, id: i64, by: &str, actor: &Actor) -> Result<(), AppError> {
        let target = id.to_string();
        match self.approve(id, by).await {
            Ok(()) => {
                self.audit(
                    actor,
                    "update.approve",
                    Some(&target),
                    Some(format!("by {by}")),
                )
                .await
            }
            Err(error @ (AppError::Approval(_) | AppError::Account(_))) => {
                self.audit(
                    actor,
                    "update.approve.refused",
                    Some(&target),
                    Some(error.to_string()),
                )
                .await?;
                Err(error)
            }
            Err(error) => Err(error),
        }
    }

    /// Sends a draft back to its author with a comment (four eyes: not by its author, and
    /// with accounts by an approver's); it stays a draft, and the comment is shown with it.
    /// A refusal by four eyes is audited, as for `approve_as`.
    pub async fn return_to_author(
        &self,
        id: i64,
        by: &str,
        comment: &str,
        actor: &Actor,
    ) -> Result<(), AppError> {
        match self.send_back(id, by, comment, actor).await {
            Err(error @ (AppError::Approval(_) | AppError::Account(_))) => {
                self.audit(
                    actor,
                    "update.return.refused",
                    Some(&id.to_string()),
                    Some(error.to_string()),
                )
                .await?;
                Err(error)
            }
            other => other,
        }
    }

    async fn send_back(
        &self,
        id: i64,
        by: &str,
        comment: &str,
        actor: &Actor,
    ) -> Result<(), AppError> {
        let comment = comment.trim();
        if comment.is_empty() {
            return Err(Refusal::CommentEmpty.into());
        }
        if comment.chars().count() > MAX_COMMENT_CHARS {
            return Err(Refusal::CommentTooLong {
                max: MAX_COMMENT_CHARS,
            }
            .into());
        }
        let update = self.store.update(id).await?;
        let by = self.reviewer(&update, by).await?;
        update.check_approval(&by)?;
        self.store
            .return_update(id, &by, comment, self.clock.now_ms())
            .await?;
        self.audit(
            actor,
            "update.return",
            Some(&id.to_string()),
            Some(format!("by {by}: {comment}")),
        )
        .await
    }

    /// Marks an approved update for `tocsin serve` to send at `at_ms` (None: now, at its
    /// next look, within seconds). Nothing is sent here: the request returns at once.
    pub async fn schedule(
        &self,
        id: i64,
        at_ms: Option<i64>,
        by: &str,
        actor: &Actor,
    ) -> Result<i64, AppError> {
        self.refuse_placeholders("send an update")?;
        let update = self.store.update(id).await?;
        let planned = self.store.planned_at(id).await?.is_some();
        if update.state != UpdateState::Approved || planned {
            return Err(Refusal::Schedule {
                id,
                state: update.state,
                planned,
            }
            .into());
        }
        let now = self.clock.now_ms();
        let send_at = at_ms.unwrap_or(now);
        // A time is typed to the minute: the minute under way has not passed yet.
        if at_ms.is_some() && send_at + 60_000 <= now {
            return Err(Refusal::TimePassed {
                at: self.brussels(send_at)?,
            }
            .into());
        }
        let (action, when) = match at_ms {
            None => ("update.send", "now".to_string()),
            Some(_) => ("update.schedule", format!("at {}", self.brussels(send_at)?)),
        };
        self.store
            .schedule_update(id, send_at, by.trim(), &format!("to be sent {when}"), now)
            .await?;
        let detail = format!("{when}, by {}", by.trim());
        self.audit(actor, action, Some(&id.to_string()), Some(detail))
            .await?;
        Ok(send_at)
    }

    /// A time as typed in the hospital's time zone (`2026-12-01 09:30`, or a browser's
    /// `2026-12-01T09:30`), in Unix ms; the earlier of two in the autumn's repeated hour.
    pub fn local_time_ms(&self, typed: &str) -> Result<i64, AppError> {
        let tz = self.config.hospital.tz().map_err(AppError::Config)?;
        let typed = typed.trim().replace('T', " ");
        let local = ["%Y-%m-%d %H:%M", "%Y-%m-%d %H:%M:%S"]
            .iter()
            .find_map(|format| NaiveDateTime::parse_from_str(&typed, format).ok())
            .ok_or_else(|| Refusal::NotATime {
                typed: typed.clone(),
                tz: tz.to_string(),
            })?;
        tz.from_local_datetime(&local)
            .earliest()
            .map(|at| at.timestamp_millis())
            .ok_or_else(|| {
                Refusal::NoSuchTime {
                    typed,
                    tz: tz.to_string(),
                }
                .into()
            })
    }

    /// A moment as the audit log writes it: `2026-12-01 09:30` in the hospital's time zone.
    fn brussels(&self, at_ms: i64) -> Result<String, AppError> {
        let tz = self.config.hospital.tz().map_err(AppError::Config)?;
        Ok(chrono::DateTime::from_timestamp_millis(at_ms)
            .map(|at| at.with_timezone(&tz).format("%Y-%m-%d %H:%M").to_string())
            .unwrap_or_default())
    }

    /// `send`, audited when asked (the run may last long, or be killed).
    pub async fn send_as(
        &self,
        id: i64,
        watch: impl FnOnce(Arc<Tally>, u64),
        actor: &Actor,
    ) -> Result<SendReport, AppError> {
        self.audit(actor, "update.send", Some(&id.to_string()), None)
            .await?;
        self.send(id, watch).await
    }

    /// `retry`, audited when asked.
    pub async fn retry_as(
        &self,
        id: i64,
        filter: &RetryFilter,
        by: &str,
        watch: impl FnOnce(Arc<Tally>, u64),
        actor: &Actor,
    ) -> Result<(u64, SendReport), AppError> {
        let mut detail = format!("by {by}; states ");
        let states: Vec<&str> = filter.states.iter().map(|state| state.as_str()).collect();
        detail.push_str(&states.join(", "));
        if let Some(channel) = filter.channel {
            detail.push_str(&format!("; channel {channel}"));
        }
        if let Some(reason) = &filter.reason {
            detail.push_str(&format!("; reason {reason:?}"));
        }
        self.audit(actor, "update.retry", Some(&id.to_string()), Some(detail))
            .await?;
        self.retry(id, filter, by, watch).await
    }

    /// `halt`, audited.
    pub async fn halt_as(&self, id: i64, by: &str, actor: &Actor) -> Result<u64, AppError> {
        let cancelled = self.halt(id, by).await?;
        let detail = format!("by {by}; {cancelled} deliveries cancelled");
        self.audit(actor, "update.halt", Some(&id.to_string()), Some(detail))
            .await?;
        Ok(cancelled)
    }

    /// `discard`, audited.
    pub async fn discard_as(&self, id: i64, by: &str, actor: &Actor) -> Result<(), AppError> {
        self.discard(id, by).await?;
        self.audit(
            actor,
            "update.discard",
            Some(&id.to_string()),
            Some(format!("by {by}")),
        )
        .await
    }

    /// `revoke`, audited.
    pub async fn revoke_as(&self, id: i64, by: &str, actor: &Actor) -> Result<(), AppError> {
        self.revoke(id, by).await?;
        self.audit(
            actor,
            "update.revoke",
            Some(&id.to_string()),
            Some(format!("by {by}")),
        )
        .await
    }

    /// A person pauses a running broadcast: what has not left waits (a message already with
    /// a worker still goes), a running `send` or `serve`'s run ends, and `serve` starts no
    /// other until `resume`. Returns how many deliveries were held.
    pub async fn pause(&self, id: i64, by: &str, actor: &Actor) -> Result<u64, AppError> {
        let update = self.store.update(id).await?;
        if update.state != UpdateState::Sending || update.paused.is_some() {
            return Err(Refusal::Pause {
                id,
                state: update.state,
                paused: update.paused,
            }
            .into());
        }
        let held = match self
            .store
            .hold_update(id, by.trim(), self.clock.now_ms())
            .await
        {
            Err(StoreError::NotFound(_)) => return Err(Refusal::NoLongerSending { id }.into()),
            other => other?,
        };
        let detail = format!("by {}; {held} deliveries held", by.trim());
        self.audit(actor, "update.pause", Some(&id.to_string()), Some(detail))
            .await?;
        Ok(held)
    }

    /// Lifts a pause (a person's, or a stopped run's once its cause is fixed): the held
    /// deliveries are due again and `serve` sends them at its next look. Returns how many.
    pub async fn resume(&self, id: i64, by: &str, actor: &Actor) -> Result<u64, AppError> {
        let update = self.store.update(id).await?;
        if update.paused.is_none()
            || !matches!(update.state, UpdateState::Sending | UpdateState::Sent)
        {
            return Err(Refusal::Resume {
                id,
                state: update.state,
            }
            .into());
        }
        let resumed = self.store.resume_update(id, self.clock.now_ms()).await?;
        let detail = format!("by {}; {resumed} deliveries due again", by.trim());
        self.audit(actor, "update.resume", Some(&id.to_string()), Some(detail))
            .await?;
        Ok(resumed)
    }
}

/// The account `name` stands for among `users`, if it is enabled and its role may `action`.
fn account(users: &[User], name: &str, action: Action) -> Result<String, AccountRefusal> {
    let parsed = UserName::parse(name).ok();
    let Some(user) = users
        .iter()
        .find(|user| Some(&user.name) == parsed.as_ref())
    else {
        return Err(AccountRefusal::Unknown {
            name: name.trim().to_string(),
            action,
            known: users
                .iter()
                .filter(|user| user.disabled_at_ms.is_none() && user.role.may(action))
                .map(|user| user.name.to_string())
                .collect(),
        });
    };
    if user.disabled_at_ms.is_some() {
        return Err(AccountRefusal::Disabled {
            name: user.name.to_string(),
            action,
        });
    }
    user.role.require(&user.name, action)?;
    Ok(user.name.to_string())
}

/// `tocsin serve` starts a scheduled update by planning it; the scheduler then runs it.
#[async_trait::async_trait]
impl Launch for App {
    async fn launch(&self, update_id: i64) -> Result<(), Box<dyn std::error::Error + Send + Sync>> {
        self.refuse_placeholders("send an update")?;
        let update = self.store.update(update_id).await?;
        plan(
            self.store.as_ref(),
            &self.renderer,
            &self.config,
            &update,
            self.clock.now_ms(),
        )
        .await?;
        Ok(())
    }
}
