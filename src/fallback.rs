//! The fallback channel: a contact whose SMS did not reach them — `undeliverable`, `failed`
//! with no retry ahead, or `sent` through a gateway that sends delivery receipts and still
//! without one after `fallback_after_minutes` — is sent the update on their audience's
//! fallback channel (`[policy.*] fallback`; e-mail for patients), planned like any other
//! delivery: rendered in their language, with their own appointments.
//!
//! A sweep is idempotent: each SMS delivery is dealt with once (`fallback_at`, set in the
//! transaction that plans its fallback, only if the delivery still calls for one), and rows
//! are unique per (update, contact, channel) besides. The dispatcher sweeps between its
//! steps, so `update send` sends the fallbacks of the SMS that came back undeliverable during
//! the run; `tocsin serve`, where receipts and the passing of time arrive, sweeps every tick.

use crate::clock::Clock;
use crate::config::{ChannelPolicy, Config, PolicyMode};
use crate::dispatch::{DispatchError, Sweep};
use crate::domain::{ChannelKind, DeliveryState, Recipient, Update, UpdateState};
use crate::plan::{prepare, PlanError, Planner};
use crate::render::{Prepared, Renderer};
use crate::store::prelude::*;
use crate::store::{FallbackDue, FallbackPlan, FallbackRule, NewDelivery};
use async_trait::async_trait;
use std::collections::HashMap;
use std::sync::Arc;

/// SMS deliveries looked at per round: bounds memory whatever the number that failed.
const PAGE: u32 = 500;

pub struct Fallback {
    store: Arc<dyn Store>,
    renderer: Arc<Renderer>,
    config: Arc<Config>,
    clock: Arc<dyn Clock>,
}

impl Fallback {
    pub fn new(
        store: Arc<dyn Store>,
        renderer: Arc<Renderer>,
        config: Arc<Config>,
        clock: Arc<dyn Clock>,
    ) -> Fallback {
        Fallback {
            store,
            renderer,
            config,
            clock,
        }
    }

    /// Plans the fallback deliveries that the update's SMS outcomes call for now; returns
    /// how many it created (skipped ones included: they say why no channel was left).
    pub async fn sweep(&self, update: &Update) -> Result<u64, PlanError> {
        self.sweep_when(update, Wait::Configured).await
    }

    /// The sweep a person asks for ("send the fallback to the unreached now"): the same,
    /// except that an SMS still without a receipt does not wait for the rest of
    /// `fallback_after_minutes`. A policy with 0 minutes (only undeliverable and failed SMS
    /// fall back) is kept as configured.
    pub async fn sweep_now(&self, update: &Update) -> Result<u64, PlanError> {
        self.sweep_when(update, Wait::AskedNow).await
    }

    #[tracing::instrument(skip_all, fields(update = update.id))]
    async fn sweep_when(&self, update: &Update, wait: Wait) -> Result<u64, PlanError> {
        // A paused update sends nothing new, its fallbacks included, until it is resumed.
        if update.state == UpdateState::Draft
            || update.paused.is_some()
            || self.store.planned_at(update.id).await?.is_none()
        {
            return Ok(0);
        }
        let now = self.clock.now_ms();
        let tz = self.config.hospital.tz().map_err(PlanError::Config)?;
        let receipt_gateways = self.config.sms.receipt_gateways();
        let mut prepared: Option<Prepared<'_>> = None;
        let mut created = 0;
        for spec in &update.audiences {
            let audience = spec.family();
            let channels = self.config.policy.fallback(audience);
            if channels.is_empty() {
                continue;
            }
            let minutes = self
                .config
                .policy
                .for_audience(audience)
                .fallback_after_minutes;
            let rule = FallbackRule {
                silent_since_ms: (minutes > 0).then(|| match wait {
                    Wait::Configured => now.saturating_sub(
                        i64::try_from(minutes.saturating_mul(60_000)).unwrap_or(i64::MAX),
                    ),
                    Wait::AskedNow => now,
                }),
                receipt_gateways: receipt_gateways.clone(),
            };
            let selection = spec.selection(&update.audiences, tz);
            let mut after = 0;
            loop {
                let due = self
                    .store
                    .fallback_due(update.id, &rule, after, PAGE)
                    .await?;
                let Some(last) = due.last() else { break };
                after = last.delivery_id;
                let ids: Vec<i64> = due.iter().map(|due| due.contact_id).collect();
                // Contacts of another audience of the update are that audience's business.
                let recipients: HashMap<i64, Recipient> = self
                    .store
                    .recipients_among(&selection, &ids)
                    .await?
                    .into_iter()
                    .map(|recipient| (recipient.contact.id, recipient))
                    .collect();
                if recipients.is_empty() {
                    continue;
                }
                let prepared = match &mut prepared {
                    Some(prepared) => &*prepared,
                    slot @ None => &*slot.insert(
                        prepare(
                            self.store.as_ref(),
                            &self.renderer,
                            &self.config,
                            update,
                            now,
                        )
                        .await?,
                    ),
                };
                let mut plans = Vec::with_capacity(recipients.len());
                for due in &due {
                    let Some(recipient) = recipients.get(&due.contact_id) else {
                        continue;
                    };
                    let left: Vec<ChannelKind> = channels
                        .iter()
                        .copied()
                        .filter(|channel| !due.planned.contains(channel))
                        .collect();
                    let rows = if left.is_empty() {
                        Vec::new()
                    } else {
                        let policy = ChannelPolicy {
                            channels: left.clone(),
                            mode: PolicyMode::First,
                            fallback: None,
                            fallback_after_minutes: 0,
                        };
                        let planner = Planner {
                            prepared,
                            config: &self.config,
                            update,
                            audience,
                            policy: &policy,
                        };
                        planner.deliveries(recipient)?
                    };
                    plans.push(FallbackPlan {
                        sms_delivery_id: due.delivery_id,
                        note: note(due, minutes, wait, channels, &left, &rows),
                        rows,
                    });
                }
                let planned = self.store.plan_fallback(&rule, &plans, now).await?;
                if planned > 0 {
                    tracing::info!(
                        message = "fallback planned",
                        update = update.id,
                        rows = planned
                    );
                }
                created += planned;
            }
        }
        Ok(created)
    }
}

/// How long a sent SMS without a receipt is given before its fallback.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Wait {
    /// `fallback_after_minutes`.
    Configured,
    /// Not a minute more: a person asked for the fallback now.
    AskedNow,
}

/// The event on the SMS delivery: why it fell back, and to what.
fn note(
    due: &FallbackDue,
    minutes: u64,
    wait: Wait,
    channels: &[ChannelKind],
    left: &[ChannelKind],
    rows: &[NewDelivery],
) -> String {
    let why = match due.state {
        DeliveryState::Sent if wait == Wait::AskedNow => {
            "no delivery receipt yet, fallback asked for now".to_string()
        }
        DeliveryState::Sent => format!("no delivery receipt within {minutes} minutes"),
        state => format!("sms {state}"),
    };
    let list = |channels: &[ChannelKind]| {
        channels
            .iter()
            .map(|channel| channel.as_str())
            .collect::<Vec<_>>()
            .join(", ")
    };
    let what = if left.is_empty() {
        format!(
            "no fallback: the contact already has a delivery on {}",
            list(channels)
        )
    } else if rows.is_empty() {
        format!(
            "no fallback: the update's channels leave out {}",
            list(left)
        )
    } else {
        let outcomes = rows
            .iter()
            .map(|row| match (&row.state, &row.detail) {
                (DeliveryState::Pending, _) => format!("{} planned", row.channel),
                (_, Some(detail)) => format!("{} skipped ({detail})", row.channel),
                (state, None) => format!("{} {state}", row.channel),
            })
            .collect::<Vec<_>>()
            .join(", ");
        format!("fallback: {outcomes}")
    };
    format!("{why}; {what}")
}

#[async_trait]
impl Sweep for Fallback {
    async fn sweep(&self, update_id: i64) -> Result<u64, DispatchError> {
        let update = self.store.update(update_id).await?;
        Fallback::sweep(self, &update)
            .await
            .map_err(|error| DispatchError::Sweep(Box::new(error)))
    }
}
