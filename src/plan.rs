//! Fan-out: one approved update becomes delivery rows — one per (contact, channel) — rendered
//! and written in a single transaction. Planning twice creates nothing new: the update is
//! marked planned in that transaction, and the rows are unique per (update, contact,
//! channel) besides.

use crate::channels::sms::gsm;
use crate::channels::telegram::link::LinkKey;
use crate::config::{ChannelPolicy, Config, PolicyMode};
use crate::domain::{
    Audience, AudienceSpec, ChannelKind, DeliveryState, Language, Recipient, RenderedMessage,
    Update, UpdateState,
};
use crate::render::{Invites, Prepared, RenderError, Renderer};
use crate::store::prelude::*;
use crate::store::{NewDelivery, StoreError};
use std::collections::{BTreeMap, HashSet};

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
    sync_public_channels(store, config, now_ms).await?;
    let prepared = prepare(store, renderer, config, update, now_ms).await?;
    let mut writer = store.begin_plan(now_ms).await?;
    let mut report = PlanReport::default();
    // A contact in two audiences is planned once, by the first: rows are unique per (update,
    // contact, channel), so rendering them again would be work thrown away.
    let mut planned_contacts: HashSet<i64> = HashSet::new();
    let audiences = update.planned_audiences();
    for (index, spec) in audiences.iter().enumerate() {
        let more_audiences = index + 1 < audiences.len();
        let selection = spec.selection(&audiences, tz);
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

/// The update prepared for rendering (`Renderer::prepare`), with personal links to follow
/// on Telegram when `[telegram] bot_username` is set: valid `link_valid_days` from `now_ms`,
/// signed with the store's key.
pub async fn prepare<'r>(
    store: &dyn Store,
    renderer: &'r Renderer,
    config: &Config,
    update: &Update,
    now_ms: i64,
) -> Result<Prepared<'r>, PlanError> {
    let prepared = renderer.prepare(update)?;
    let Some(bot) = config.telegram.bot_username().map_err(PlanError::Config)? else {
        return Ok(prepared);
    };
    let invites = Invites {
        key: LinkKey::new(store.telegram_link_key(now_ms).await?),
        bot: bot.to_string(),
        expires_at_ms: now_ms
            .saturating_add(i64::from(config.telegram.link_valid_days) * 86_400_000),
        in_sms: config.telegram.invite_in_sms,
    };
    Ok(prepared.with_invites(Some(invites)))
}

/// Makes the contacts that stand for `[telegram] public_channels` match the configuration,
/// so that the `public` audience posts to the channels configured now; `update draft` calls
/// it before its forecast too, so that the draft shows the channels `send` will post to.
pub async fn sync_public_channels(
    store: &dyn Store,
    config: &Config,
    now_ms: i64,
) -> Result<(), PlanError> {
    let channels = config
        .telegram
        .public_channels()
        .map_err(PlanError::Config)?;
    store.sync_telegram_channels(&channels, now_ms).await?;
    Ok(())
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

    /// The language the recipient is written to (`Hospital::language_of`).
    pub fn language(&self, recipient: &Recipient) -> Language {
        self.config.hospital.language_of(recipient)
    }

    /// The language of the recipient's message on `channel`: on Telegram the one the chat
    /// chose in the bot, if it chose one; elsewhere, and otherwise, [`Planner::language`].
    pub fn language_on(&self, channel: ChannelKind, recipient: &Recipient) -> Language {
        match (channel, recipient.contact.telegram_language) {
            (ChannelKind::Telegram, Some(chosen)) => chosen,
            _ => self.language(recipient),
        }
    }

    /// The channel policy, narrowed to the update's channels: an opted-out channel is
    /// recorded as skipped (and with mode "first" the next one is tried); a channel without
    /// an address is recorded only when no channel reaches the contact at all, so the
    /// unreached list says why. Nothing is rendered here.
    pub fn routes(&self, recipient: &Recipient) -> Vec<Route> {
        let contact = &recipient.contact;
        let mut routes = Vec::new();
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
                routes.push(Route::skipped(channel, format!("opted out of {channel}")));
                continue;
            }
            if contact.address(channel).is_none() {
                without_address.push(channel);
                continue;
            }
            routes.push(Route {
                channel,
                state: DeliveryState::Pending,
                detail: None,
            });
            reachable = true;
            if self.policy.mode == PolicyMode::First {
                break;
            }
        }
        if !reachable {
            for channel in without_address {
                routes.push(Route::skipped(channel, format!("no {channel} address")));
            }
        }
        routes
    }

    /// What the recipient reads on one channel.
    pub fn render(
        &self,
        channel: ChannelKind,
        language: Language,
        recipient: &Recipient,
    ) -> Result<RenderedMessage, PlanError> {
        self.prepared
            .render(channel, self.audience, language, recipient)
            .map_err(|source| PlanError::Render {
                contact_id: recipient.contact.id,
                source,
            })
    }

    /// The recipient's delivery rows: [`Planner::routes`], each pending one rendered.
    pub fn deliveries(&self, recipient: &Recipient) -> Result<Vec<NewDelivery>, PlanError> {
        let contact = &recipient.contact;
        self.routes(recipient)
            .into_iter()
            .map(|route| {
                let language = self.language_on(route.channel, recipient);
                let mut row = NewDelivery {
                    update_id: self.update.id,
                    contact_id: contact.id,
                    channel: route.channel,
                    address: contact.address(route.channel).map(str::to_string),
                    language,
                    content: RenderedMessage::default(),
                    state: route.state,
                    detail: route.detail,
                };
                if row.state == DeliveryState::Pending {
                    row.content = self.render(route.channel, language, recipient)?;
                }
                Ok(row)
            })
            .collect()
    }

    /// Counts what planning would do for one recipient, rendering only the SMS.
    fn forecast_recipient(
        &self,
        recipient: &Recipient,
        audience: &mut AudienceForecast,
        sms: &mut BTreeMap<Language, SmsForecast>,
    ) -> Result<(), PlanError> {
        let language = self.language(recipient);
        audience.contacts += 1;
        *audience.by_language.entry(language).or_default() += 1;
        let routes = self.routes(recipient);
        if !routes
            .iter()
            .any(|route| route.state == DeliveryState::Pending)
        {
            audience.unreachable += 1;
        }
        for route in routes {
            if route.state != DeliveryState::Pending {
                let reason = route.detail.unwrap_or_else(|| route.channel.to_string());
                *audience.skipped.entry(reason).or_default() += 1;
                continue;
            }
            let language = self.language_on(route.channel, recipient);
            *audience
                .deliveries
                .entry(route.channel)
                .or_default()
                .entry(language)
                .or_default() += 1;
            if route.channel == ChannelKind::Sms {
                let text = self.render(ChannelKind::Sms, language, recipient)?.body;
                sms.entry(language).or_default().add(recipient, text);
            }
        }
        Ok(())
    }
}

/// Where a recipient's update goes on one channel, before anything is rendered.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Route {
    pub channel: ChannelKind,
    /// `Pending`, or `Skipped` with the reason in `detail`.
    pub state: DeliveryState,
    pub detail: Option<String>,
}

impl Route {
    fn skipped(channel: ChannelKind, reason: String) -> Route {
        Route {
            channel,
            state: DeliveryState::Skipped,
            detail: Some(reason),
        }
    }
}

/// What planning an update would do now, written nowhere: whom each audience reaches on
/// which channel, and the SMS exactly as rendered for each recipient. `update draft` shows
/// it, so the cost and the reach are known before anyone approves.
#[derive(Debug, Clone, Default)]
pub struct Forecast {
    pub audiences: Vec<AudienceForecast>,
    /// The rendered SMS, per language.
    pub sms: BTreeMap<Language, SmsForecast>,
}

#[derive(Debug, Clone)]
pub struct AudienceForecast {
    pub spec: AudienceSpec,
    /// Contacts this audience plans for.
    pub contacts: u64,
    /// Contacts it selects that an earlier audience of the update already plans for.
    pub shared: u64,
    pub by_language: BTreeMap<Language, u64>,
    /// Messages to send, per channel and language.
    pub deliveries: BTreeMap<ChannelKind, BTreeMap<Language, u64>>,
    /// Deliveries recorded as skipped, by reason ("no sms address", "opted out of email").
    pub skipped: BTreeMap<String, u64>,
    /// Contacts no channel of the update reaches: the call centre's list from the start.
    pub unreachable: u64,
}

impl AudienceForecast {
    fn new(spec: AudienceSpec) -> AudienceForecast {
        AudienceForecast {
            spec,
            contacts: 0,
            shared: 0,
            by_language: BTreeMap::new(),
            deliveries: BTreeMap::new(),
            skipped: BTreeMap::new(),
            unreachable: 0,
        }
    }

    /// Messages to send on all channels.
    pub fn messages(&self) -> u64 {
        self.deliveries.values().flat_map(BTreeMap::values).sum()
    }
}

/// The SMS of one language as they will go out.
#[derive(Debug, Clone, Default)]
pub struct SmsForecast {
    /// How many SMS take each number of parts.
    pub parts: BTreeMap<usize, u64>,
    /// The first SMS with the most parts.
    pub longest: Option<SmsSample>,
}

impl SmsForecast {
    fn add(&mut self, recipient: &Recipient, text: String) {
        let analysis = gsm::analyse(&text);
        *self.parts.entry(analysis.segments).or_default() += 1;
        if self
            .longest
            .as_ref()
            .is_none_or(|longest| analysis.segments > longest.parts)
        {
            self.longest = Some(SmsSample {
                contact_id: recipient.contact.id,
                external_id: recipient.contact.external_id.clone(),
                parts: analysis.segments,
                encoding: analysis.encoding,
                text,
            });
        }
    }

    pub fn messages(&self) -> u64 {
        self.parts.values().sum()
    }

    /// What the gateways bill: every part of every message.
    pub fn total_parts(&self) -> u64 {
        self.parts
            .iter()
            .map(|(parts, count)| *parts as u64 * count)
            .sum()
    }

    /// Messages taking more than `max` parts.
    pub fn over(&self, max: usize) -> u64 {
        self.parts.range(max + 1..).map(|(_, count)| count).sum()
    }
}

/// One recipient's SMS, to show what a count means.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SmsSample {
    pub contact_id: i64,
    pub external_id: String,
    pub parts: usize,
    pub encoding: gsm::Encoding,
    pub text: String,
}

/// Pages through every audience as [`plan`] does (a contact in two audiences counts under
/// the first), rendering each pending SMS, and writes nothing: memory stays bounded by a
/// page whatever the audience size.
pub async fn forecast(
    store: &dyn Store,
    renderer: &Renderer,
    config: &Config,
    update: &Update,
) -> Result<Forecast, PlanError> {
    let tz = config.hospital.tz().map_err(PlanError::Config)?;
    // The links' expiry changes no length: the SMS counted are those `send` writes.
    let prepared = prepare(store, renderer, config, update, update.created_at_ms).await?;
    let mut forecast = Forecast::default();
    let mut counted: HashSet<i64> = HashSet::new();
    let audiences = update.planned_audiences();
    for (index, spec) in audiences.iter().enumerate() {
        let more_audiences = index + 1 < audiences.len();
        let selection = spec.selection(&audiences, tz);
        let planner = Planner {
            prepared: &prepared,
            config,
            update,
            audience: spec.family(),
            policy: config.policy.for_audience(spec.family()),
        };
        let mut audience = AudienceForecast::new(spec.clone());
        let mut after_id = 0;
        loop {
            let page = store.recipients(&selection, after_id, PAGE).await?;
            let Some(last) = page.last() else { break };
            after_id = last.contact.id;
            for recipient in &page {
                if counted.contains(&recipient.contact.id) {
                    audience.shared += 1;
                    continue;
                }
                if more_audiences {
                    counted.insert(recipient.contact.id);
                }
                planner.forecast_recipient(recipient, &mut audience, &mut forecast.sms)?;
            }
        }
        forecast.audiences.push(audience);
    }
    Ok(forecast)
}
