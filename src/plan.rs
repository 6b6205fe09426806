//! Fan-out: one approved update becomes delivery rows — one per (contact, channel) — rendered
//! and written in a single transaction. Planning twice creates nothing new: the update is
//! marked planned in that transaction, and the rows are unique per (update, contact,
//! channel) besides.

use crate::config::{ChannelPolicy, Config, PolicyMode};
use crate::domain::{
    choose_language, Audience, ChannelKind, DeliveryState, Recipient, Update, UpdateState,
};
use crate::render::{Prepared, RenderError, Renderer};
use crate::store::{NewDelivery, Store, StoreError};
use std::collections::HashSet;

/// Contacts read, rendered and written per step: bounds memory whatever the audience size.
const PAGE: u32 = 2_000;

#[derive(Debug, thiserror::Error)]
pub enum PlanError {
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("rendering for contact {contact_id}: {source}")]
    Render {
        contact_id: i64,
        source: RenderError,
    },
    #[error(transparent)]
    Prepare(#[from] RenderError),
    #[error("update {0} is a draft: it must be approved by a second person before it is sent")]
    NotApproved(i64),
    #[error("a rendering thread stopped unexpectedly")]
    RenderThread,
    #[error("configuration: {0}")]
    Config(String),
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct PlanReport {
    /// Rows this call created.
    pub created: u64,
    pub pending: u64,
    pub skipped: u64,
    /// The update had been planned before: nothing was created.
    pub already_planned: bool,
}

pub async fn plan(
    store: &dyn Store,
    renderer: &Renderer,
    config: &Config,
    update: &Update,
    now_ms: i64,
) -> Result<PlanReport, PlanError> {
    if update.state == UpdateState::Draft {
        return Err(PlanError::NotApproved(update.id));
    }
    if store.planned_at(update.id).await?.is_some() {
        return Ok(PlanReport {
            already_planned: true,
            ..PlanReport::default()
        });
    }
    let tz = config.hospital.tz().map_err(PlanError::Config)?;
    let prepared = renderer.prepare(update)?;
    let mut writer = store.begin_plan().await?;
    let mut report = PlanReport::default();
    // A contact in two audiences is planned once, by the first: rows are unique per (update,
    // contact, channel), so rendering them again would be work thrown away.
    let mut planned_contacts: HashSet<i64> = HashSet::new();
    for (index, spec) in update.audiences.iter().enumerate() {
        let more_audiences = index + 1 < update.audiences.len();
        let selection = spec.selection(&update.audiences, tz);
        let audience = spec.family();
        let planner = Planner {
            prepared: &prepared,
            config,
            update,
            audience,
            policy: config.policy.for_audience(audience),
        };
        let handle = tokio::runtime::Handle::current();
        // A pipeline of three: while the render threads work on one page, this thread
        // writes the page before it and reads the page after it.
        tokio::task::block_in_place(|| -> Result<(), PlanError> {
            let mut next_after = Some(0);
            let mut page: Vec<Recipient> = Vec::new();
            let mut rendered: Option<Vec<NewDelivery>> = None;
            while next_after.is_some() || !page.is_empty() || rendered.is_some() {
                let (rows, next) = std::thread::scope(|scope| {
                    let rendering = (!page.is_empty()).then(|| scope.spawn(|| planner.page(&page)));
                    let io = handle.block_on(async {
                        if let Some(rows) = rendered.take() {
                            report.count(&rows);
                            report.created += writer.insert(&rows).await?;
                        }
                        match next_after {
                            Some(after) => store.recipients(&selection, after, PAGE).await,
                            None => Ok(Vec::new()),
                        }
                    });
                    let rows = rendering
                        .map(|thread| thread.join().unwrap_or(Err(PlanError::RenderThread)))
                        .transpose();
                    (rows, io)
                });
                rendered = rows?;
                let mut fetched = next?;
                next_after = fetched.last().map(|recipient| recipient.contact.id);
                fetched.retain(|recipient| !planned_contacts.contains(&recipient.contact.id));
                if more_audiences {
                    planned_contacts.extend(fetched.iter().map(|recipient| recipient.contact.id));
                }
                page = fetched;
            }
            Ok(())
        })?;
    }
    writer.commit(update.id, now_ms).await?;
    Ok(report)
}

impl PlanReport {
    fn count(&mut self, rows: &[NewDelivery]) {
        for row in rows {
            match row.state {
                DeliveryState::Skipped => self.skipped += 1,
                _ => self.pending += 1,
            }
        }
    }
}

/// Everything needed to turn one recipient of one audience into delivery rows.
pub struct Planner<'a> {
    pub prepared: &'a Prepared<'a>,
    pub config: &'a Config,
    pub update: &'a Update,
    pub audience: Audience,
    pub policy: &'a ChannelPolicy,
}

impl Planner<'_> {
    /// Renders a page on every core: rendering, not the database, is what planning spends
    /// its time on.
    fn page(&self, page: &[Recipient]) -> Result<Vec<NewDelivery>, PlanError> {
        let threads = std::thread::available_parallelism().map_or(1, |n| n.get());
        let chunk = page.len().div_ceil(threads).max(1);
        std::thread::scope(|scope| {
            let handles: Vec<_> = page
                .chunks(chunk)
                .map(|recipients| {
                    scope.spawn(move || {
                        let mut rows = Vec::with_capacity(recipients.len() * 2);
                        for recipient in recipients {
                            rows.extend(self.deliveries(recipient)?);
                        }
                        Ok(rows)
                    })
                })
                .collect();
            let mut rows = Vec::with_capacity(page.len() * 2);
            for handle in handles {
                let part: Result<Vec<NewDelivery>, PlanError> =
                    handle.join().unwrap_or(Err(PlanError::RenderThread));
                rows.extend(part?);
            }
            Ok(rows)
        })
    }

    /// The channel policy, narrowed to the update's channels: an opted-out channel is
    /// recorded as skipped (and with mode "first" the next one is tried); a channel without
    /// an address is recorded only when no channel reaches the contact at all, so the
    /// unreached list says why.
    pub fn deliveries(&self, recipient: &Recipient) -> Result<Vec<NewDelivery>, PlanError> {
        let contact = &recipient.contact;
        let campus_language = recipient
            .appointments
            .first()
            .and_then(|appointment| self.config.hospital.campus_language(&appointment.campus));
        let language = choose_language(contact.language.as_deref(), campus_language);
        let row = |channel: ChannelKind, state, detail| NewDelivery {
            update_id: self.update.id,
            contact_id: contact.id,
            channel,
            address: contact.address(channel).map(str::to_string),
            language,
            subject: None,
            body: String::new(),
            body_html: None,
            state,
            detail,
        };
        let mut rows = Vec::new();
        let mut without_address = Vec::new();
        let mut reachable = false;
        let candidates = self
            .policy
            .channels
            .iter()
            .copied()
            .filter(|channel| self.update.channels.contains(channel));
        for channel in candidates {
            if contact.opted_out.contains(&channel) {
                let reason = format!("opted out of {channel}");
                rows.push(row(channel, DeliveryState::Skipped, Some(reason)));
                continue;
            }
            if contact.address(channel).is_none() {
                without_address.push(channel);
                continue;
            }
            let rendered = self
                .prepared
                .render(channel, self.audience, language, recipient)
                .map_err(|source| PlanError::Render {
                    contact_id: contact.id,
                    source,
                })?;
            let mut pending = row(channel, DeliveryState::Pending, None);
            pending.subject = rendered.subject;
            pending.body = rendered.body;
            pending.body_html = rendered.body_html;
            rows.push(pending);
            reachable = true;
            if self.policy.mode == PolicyMode::First {
                break;
            }
        }
        if !reachable {
            for channel in without_address {
                let reason = format!("no {channel} address");
                rows.push(row(channel, DeliveryState::Skipped, Some(reason)));
            }
        }
        Ok(rows)
    }
}
