//! The operations a spokesperson runs, wired from the configuration: the CLI and the tests
//! call these, never the parts underneath directly.

use crate::author::{parse_draft, Draft, DraftError, DraftOptions};
use crate::channels::email::{MailBuilder, SmtpChannel, SmtpTarget};
use crate::channels::outbox::Outbox;
use crate::channels::Channel;
use crate::config::{Config, EmailTransport};
use crate::dispatch::{
    Clock, DispatchError, DispatchSettings, Dispatcher, RetryPolicy, SystemClock, Tally,
};
use crate::domain::{ApprovalError, ChannelKind, DeliveryState, Language, UpdateState};
use crate::plan::{plan, PlanError, PlanReport, Planner};
use crate::render::{RenderError, Renderer};
use crate::store::{self, Store, StoreError};
use std::collections::HashMap;
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

#[derive(Debug, thiserror::Error)]
pub enum AppError {
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error(transparent)]
    Render(#[from] RenderError),
    #[error(transparent)]
    Draft(#[from] DraftError),
    #[error(transparent)]
    Approval(#[from] ApprovalError),
    #[error(transparent)]
    Plan(#[from] PlanError),
    #[error(transparent)]
    Dispatch(#[from] DispatchError),
    #[error("cannot read {path}: {source}")]
    Read {
        path: String,
        source: std::io::Error,
    },
    #[error("{0}")]
    Config(String),
    #[error("{0}")]
    Refused(String),
}

pub struct App {
    pub config: Config,
    pub store: Arc<dyn Store>,
    pub renderer: Arc<Renderer>,
    pub clock: Arc<dyn Clock>,
}

/// What one contact receives on one channel.
#[derive(Debug, Clone)]
pub struct Preview {
    pub contact_id: i64,
    pub contact_name: String,
    pub channel: ChannelKind,
    pub language: Language,
    pub address: Option<String>,
    pub subject: Option<String>,
    pub body: String,
    pub body_html: Option<String>,
    /// Already planned: this is the stored text, exactly as sent.
    pub stored: bool,
    /// Why nothing goes to this channel (opted out, no address).
    pub skipped: Option<String>,
}

#[derive(Debug, Clone, Copy)]
pub struct SendReport {
    pub plan: PlanReport,
}

impl App {
    pub async fn open(config: Config) -> Result<App, AppError> {
        let store = store::open(&config.database_url).await?;
        let renderer = Renderer::new(config.hospital.clone(), config.gp_alert.patient_fields.clone(), None, None)?;
        Ok(App {
            config,
            store,
            renderer: Arc::new(renderer),
            clock: Arc::new(SystemClock),
        })
    }

    /// Checks an update file and stores it as a draft; nothing is stored if anything is wrong.
    pub async fn draft(
        &self,
        file: &Path,
        by: Option<&str>,
        options: DraftOptions,
    ) -> Result<(i64, Draft), AppError> {
        let source = std::fs::read_to_string(file).map_err(|source| AppError::Read {
            path: file.display().to_string(),
            source,
        })?;
        let draft = parse_draft(&file.display().to_string(), &source, by, options)?;
        if let Some(follows) = draft.update.follows {
            let earlier = self.store.update(follows).await?;
            if earlier.incident_id != draft.update.incident_id {
                return Err(AppError::Refused(format!(
                    "{}: follows = {follows} belongs to incident {:?}, not {:?}",
                    file.display(),
                    earlier.incident_id,
                    draft.update.incident_id
                )));
            }
        }
        let id = self
            .store
            .insert_update(&draft.update, self.clock.now_ms())
            .await?;
        Ok((id, draft))
    }

    pub async fn approve(&self, id: i64, by: &str) -> Result<(), AppError> {
        let update = self.store.update(id).await?;
        update.check_approval(by)?;
        self.store
            .approve_update(id, by.trim(), self.clock.now_ms())
            .await?;
        Ok(())
    }

    /// Exactly what a contact receives (or would), per channel. Without a contact, the first
    /// contact of each audience.
    pub async fn preview(&self, id: i64, contact: Option<i64>, channel: Option<ChannelKind>) -> Result<Vec<Preview>, AppError> {
        let update = self.store.update(id).await?;
        let tz = self.config.hospital.tz().map_err(AppError::Config)?;
        let prepared = self.renderer.prepare(&update)?;
        let mut previews = Vec::new();
        for spec in &update.audiences {
            let selection = spec.selection(&update.audiences, tz);
            let after = contact.map_or(0, |contact_id| contact_id - 1);
            let Some(recipient) = self.store.recipients(&selection, after, 1).await?.pop() else {
                continue;
            };
            if contact.is_some_and(|contact_id| contact_id != recipient.contact.id) {
                continue;
            }
            let planner = Planner {
                prepared: &prepared,
                config: &self.config,
                update: &update,
                audience: spec.family(),
                policy: self.config.policy.for_audience(spec.family()),
            };
            for row in planner.deliveries(&recipient)? {
                if channel.is_some_and(|wanted| wanted != row.channel) {
                    continue;
                }
                let stored = self.store.delivery(id, recipient.contact.id, row.channel).await?;
                previews.push(match stored {
                    Some(stored) => Preview {
                        contact_id: recipient.contact.id,
                        contact_name: recipient.contact.full_name(),
                        channel: row.channel,
                        language: stored.language,
                        address: stored.address,
                        subject: stored.subject,
                        body: stored.body,
                        body_html: stored.body_html,
                        skipped: stored.last_error.filter(|_| stored.state == DeliveryState::Skipped),
                        stored: true,
                    },
                    None => Preview {
                        contact_id: recipient.contact.id,
                        contact_name: recipient.contact.full_name(),
                        channel: row.channel,
                        language: row.language,
                        address: row.address,
                        subject: row.subject,
                        body: row.body,
                        body_html: row.body_html,
                        skipped: row.detail,
                        stored: false,
                    },
                });
            }
            if contact.is_some() {
                break;
            }
        }
        if let (Some(contact_id), true) = (contact, previews.is_empty()) {
            return Err(AppError::Refused(format!(
                "contact {contact_id} is in none of the audiences of update {id} (or has no channel{})",
                channel.map(|channel| format!(" {channel}")).unwrap_or_default()
            )));
        }
        Ok(previews)
    }

    /// The channels the configuration describes.
    pub fn channels(&self) -> Result<HashMap<ChannelKind, Arc<dyn Channel>>, AppError> {
        let email = &self.config.email;
        let mail = MailBuilder::new(
            &email.from,
            email.reply_to.as_deref(),
            &email.message_id_domain,
        )
        .map_err(AppError::Config)?;
        let outbox = |dir: &Path, kind, mail| -> Result<Arc<dyn Channel>, AppError> {
            Ok(Arc::new(
                Outbox::new(dir.to_path_buf(), kind, mail).map_err(|source| AppError::Read {
                    path: dir.display().to_string(),
                    source,
                })?,
            ))
        };
        let email_channel: Arc<dyn Channel> = match email.transport {
            EmailTransport::Outbox => outbox(&email.dir, ChannelKind::Email, Some(mail))?,
            EmailTransport::Smtp => {
                let password = std::env::var("TOCSIN_SMTP_PASSWORD").ok();
                let target =
                    SmtpTarget::parse(&email.smtp_url, password).map_err(AppError::Config)?;
                Arc::new(SmtpChannel::new(
                    target,
                    mail,
                    email.connections,
                    Duration::from_secs(email.timeout_seconds),
                ))
            }
        };
        Ok(HashMap::from([
            (ChannelKind::Email, email_channel),
            (
                ChannelKind::Sms,
                outbox(&self.config.sms.dir, ChannelKind::Sms, None)?,
            ),
            (
                ChannelKind::Telegram,
                outbox(&self.config.telegram.dir, ChannelKind::Telegram, None)?,
            ),
        ]))
    }

    pub fn dispatcher(&self) -> Result<Dispatcher, AppError> {
        let dispatch = &self.config.dispatch;
        let settings = DispatchSettings {
            workers: dispatch.workers,
            claim_batch: dispatch.claim_batch,
            lease: Duration::from_secs(dispatch.lease_seconds),
            retry: RetryPolicy {
                max_attempts: dispatch.max_attempts,
                base: Duration::from_millis(dispatch.backoff_base_ms),
                max: Duration::from_millis(dispatch.backoff_max_ms),
            },
        };
        Ok(Dispatcher::new(
            Arc::clone(&self.store),
            self.channels()?,
            settings,
            Arc::clone(&self.clock),
        ))
    }

    /// Plans the update (once) and sends until every delivery is final. `watch` is called
    /// with the dispatcher's tally and the number of deliveries open at the start.
    pub async fn send(
        &self,
        id: i64,
        watch: impl FnOnce(Arc<Tally>, u64),
    ) -> Result<SendReport, AppError> {
        let update = self.store.update(id).await?;
        if update.state == UpdateState::Draft {
            return Err(PlanError::NotApproved(id).into());
        }
        let dispatcher = self.dispatcher()?;
        let report = plan(
            self.store.as_ref(),
            &self.renderer,
            &self.config,
            &update,
            self.clock.now_ms(),
        )
        .await?;
        if update.state == UpdateState::Approved {
            self.store
                .set_update_state(id, UpdateState::Sending)
                .await?;
        }
        let open = self.store.backlog(id).await?.open;
        watch(dispatcher.tally(), open);
        dispatcher.run(id).await?;
        self.store.set_update_state(id, UpdateState::Sent).await?;
        Ok(SendReport { plan: report })
    }
}
