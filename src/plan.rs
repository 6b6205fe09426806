//! Fan-out: one approved update becomes one delivery row per (contact, channel), rendered
//! and written in a single transaction. Planning twice creates nothing new: the update is
//! marked planned in that transaction, and the rows are unique per (update, contact,
//! channel) besides.

use crate::config::Hospital;
use crate::domain::{choose_language, Audience, ChannelKind, DeliveryState, Update, UpdateState};
use crate::render::{Prepared, RenderError, Renderer};
use crate::store::{NewDelivery, Recipient, Store, StoreError};

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
    let prepared = renderer.prepare(update)?;
    let mut writer = store.begin_plan().await?;
    let mut report = PlanReport::default();
    for &audience in &update.audiences {
        let mut after_id = 0;
        loop {
            let page = store.recipients(audience, after_id, PAGE).await?;
            let Some(last) = page.last() else { break };
            after_id = last.contact.id;
            let rows = tokio::task::block_in_place(|| {
                render_page(&prepared, renderer.hospital(), update, audience, &page)
            })?;
            for row in &rows {
                match row.state {
                    DeliveryState::Skipped => report.skipped += 1,
                    _ => report.pending += 1,
                }
            }
            report.created += writer.insert(&rows).await?;
        }
    }
    writer.commit(update.id, now_ms).await?;
    Ok(report)
}

/// Renders a page on every core: rendering, not the database, is what planning spends its
/// time on.
fn render_page(
    prepared: &Prepared<'_>,
    hospital: &Hospital,
    update: &Update,
    audience: Audience,
    page: &[Recipient],
) -> Result<Vec<NewDelivery>, PlanError> {
    let threads = std::thread::available_parallelism().map_or(1, |n| n.get());
    let chunk = page.len().div_ceil(threads).max(1);
    std::thread::scope(|scope| {
        let handles: Vec<_> = page
            .chunks(chunk)
            .map(|recipients| {
                scope.spawn(move || {
                    let mut rows = Vec::with_capacity(recipients.len() * update.channels.len());
                    for recipient in recipients {
                        for &channel in &update.channels {
                            rows.push(delivery_for(
                                prepared, hospital, update, audience, recipient, channel,
                            )?);
                        }
                    }
                    Ok(rows)
                })
            })
            .collect();
        let mut rows = Vec::with_capacity(page.len() * update.channels.len());
        for handle in handles {
            let part: Result<Vec<NewDelivery>, PlanError> =
                handle.join().unwrap_or(Err(PlanError::RenderThread));
            rows.extend(part?);
        }
        Ok(rows)
    })
}

fn delivery_for(
    prepared: &Prepared<'_>,
    hospital: &Hospital,
    update: &Update,
    audience: Audience,
    recipient: &Recipient,
    channel: ChannelKind,
) -> Result<NewDelivery, PlanError> {
    let contact = &recipient.contact;
    let campus_language = recipient
        .appointments
        .first()
        .and_then(|appointment| hospital.campus_language(&appointment.campus));
    let language = choose_language(contact.language.as_deref(), campus_language);
    let skip = if contact.opted_out.contains(&channel) {
        Some(format!("opted out of {channel}"))
    } else if contact.address(channel).is_none() {
        Some(format!("no {channel} address"))
    } else {
        None
    };
    let mut row = NewDelivery {
        update_id: update.id,
        contact_id: contact.id,
        channel,
        address: contact.address(channel).map(str::to_string),
        language,
        subject: None,
        body: String::new(),
        body_html: None,
        state: DeliveryState::Pending,
        detail: None,
    };
    if let Some(reason) = skip {
        row.state = DeliveryState::Skipped;
        row.detail = Some(reason);
        return Ok(row);
    }
    let rendered = prepared
        .render(
            channel,
            audience,
            language,
            contact,
            &recipient.appointments,
        )
        .map_err(|source| PlanError::Render {
            contact_id: contact.id,
            source,
        })?;
    row.subject = rendered.subject;
    row.body = rendered.body;
    row.body_html = rendered.body_html;
    Ok(row)
}
