//! What the crisis cell watches: where every delivery of an update stands, and who has not
//! been reached — as text, as JSON, and as the call centre's CSV list.

use crate::domain::{
    Appointment, ChannelKind, DeliveryState, Language, Recipient, Role, UpdateState,
};
use crate::render::CliText;
use crate::spreadsheet::{Separator, SheetWriter};
use crate::store::prelude::*;
use crate::store::{StoreError, Unreached, UnreachedDelivery};
use chrono_tz::Tz;
use fluent_bundle::FluentValue;
use serde::Serialize;
use std::collections::{BTreeMap, HashMap};
use std::fmt::Write as _;

#[derive(Debug, Clone, Serialize)]
pub struct StatusReport {
    pub update_id: i64,
    pub state: UpdateState,
    /// Why its last run stopped with deliveries held back, until someone resumes it.
    pub paused: Option<String>,
    /// Pending deliveries held back by a stopped run.
    pub held: u64,
    /// Why `tocsin serve` could not start it at its scheduled time, while it cannot.
    pub not_started: Option<NotStarted>,
    pub total: u64,
    pub by_state: BTreeMap<DeliveryState, u64>,
    /// State counts per channel.
    pub by_channel: BTreeMap<ChannelKind, BTreeMap<DeliveryState, u64>>,
    /// State counts per language.
    pub by_language: BTreeMap<Language, BTreeMap<DeliveryState, u64>>,
    pub by_channel_and_language: BTreeMap<String, BTreeMap<DeliveryState, u64>>,
    /// State counts per audience: the contacts' role (`patient`, `gp`, `journalist`,
    /// `public`), whose templates the deliveries were written with.
    pub by_audience: BTreeMap<Role, BTreeMap<DeliveryState, u64>>,
    /// State counts per channel, language and audience: `sms/nl/patient`.
    pub by_channel_language_audience: BTreeMap<String, BTreeMap<DeliveryState, u64>>,
    /// State counts per SMS gateway that took messages (sent, delivered, failed …).
    pub by_gateway: BTreeMap<String, BTreeMap<DeliveryState, u64>>,
    /// The circuit breaker of every SMS gateway that took messages of this update or has
    /// a recorded state, as the sending process last recorded it.
    pub breakers: BTreeMap<String, GatewayBreaker>,
    /// Deliveries still to be sent or retried (pending, sending, failed with a retry
    /// ahead), the held ones apart.
    pub open: u64,
    /// The failed, undeliverable and uncertain deliveries by channel, state and reason,
    /// largest first.
    pub failures: Vec<FailureCount>,
    pub unreached: Vec<UnreachedContact>,
    /// How many unreached contacts share each story (`sms: undeliverable; email: skipped`),
    /// so that a dozen real bounces are not lost among thousands without an address.
    pub unreached_by_why: BTreeMap<String, u64>,
}

/// Why `tocsin serve` could not start a scheduled update, and since when (in the hospital's
/// time zone); it tries again at every look.
#[derive(Debug, Clone, Serialize)]
pub struct NotStarted {
    pub since: chrono::DateTime<Tz>,
    pub reason: String,
}

/// The counting part of [`StatusReport`], without the unreached list: what the console's
/// dashboard polls. [`status`] starts from it, so the two always agree.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Progress {
    pub update_id: i64,
    pub state: UpdateState,
    pub paused: Option<String>,
    pub held: u64,
    pub open: u64,
    pub total: u64,
    pub by_state: BTreeMap<DeliveryState, u64>,
    pub by_channel: BTreeMap<ChannelKind, BTreeMap<DeliveryState, u64>>,
    pub by_language: BTreeMap<Language, BTreeMap<DeliveryState, u64>>,
    pub by_channel_and_language: BTreeMap<String, BTreeMap<DeliveryState, u64>>,
    pub by_audience: BTreeMap<Role, BTreeMap<DeliveryState, u64>>,
    pub by_channel_language_audience: BTreeMap<String, BTreeMap<DeliveryState, u64>>,
    pub by_gateway: BTreeMap<String, BTreeMap<DeliveryState, u64>>,
    pub breakers: BTreeMap<String, GatewayBreaker>,
    pub failures: Vec<FailureCount>,
}

impl Progress {
    /// Deliveries with nothing more to do: neither open nor held back.
    pub fn settled(&self) -> u64 {
        self.total.saturating_sub(self.open + self.held)
    }

    /// Whole percent settled, rounded down: 100 only when nothing is left.
    pub fn percent(&self) -> u64 {
        if self.total == 0 {
            return 0;
        }
        self.settled() * 100 / self.total
    }
}

/// How many deliveries failed the same way.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct FailureCount {
    pub channel: ChannelKind,
    pub state: DeliveryState,
    /// As the gateway or server said it (addresses masked), when one was recorded.
    pub reason: Option<String>,
    pub count: u64,
}

/// Which unreached contacts a list shows: those with a delivery matching every condition.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct UnreachedFilter {
    pub channel: Option<ChannelKind>,
    pub state: Option<DeliveryState>,
    /// Text in the delivery's error or reason, ignoring case.
    pub reason: Option<String>,
}

impl UnreachedFilter {
    pub fn takes(&self, contact: &UnreachedContact) -> bool {
        let reason = self.reason.as_ref().map(|reason| reason.to_lowercase());
        contact.deliveries.iter().any(|delivery| {
            self.channel
                .is_none_or(|channel| channel == delivery.channel)
                && self.state.is_none_or(|state| state == delivery.state)
                && reason.as_ref().is_none_or(|reason| {
                    delivery
                        .error
                        .as_ref()
                        .is_some_and(|error| error.to_lowercase().contains(reason))
                })
        })
    }
}

/// One delivery of an unreached contact.
#[derive(Debug, Clone, Serialize)]
pub struct UnreachedOutcome {
    pub channel: ChannelKind,
    pub state: DeliveryState,
    pub error: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct GatewayBreaker {
    /// `closed`, `open`, `half-open`, or `unknown` when no process has recorded one.
    pub state: String,
    /// When it changed to this state (Unix milliseconds).
    pub since_ms: Option<i64>,
    /// The last unavailable answer the gateway gave.
    pub last_error: Option<String>,
}

#[derive(Debug, Clone, Serialize)]
pub struct UnreachedContact {
    pub contact_id: i64,
    pub external_id: String,
    pub name: String,
    pub mobile: Option<String>,
    /// The landline, kept for the call centre: a patient with no mobile has only this.
    pub phone: Option<String>,
    pub email: Option<String>,
    pub language: Option<String>,
    /// What the update told them about, as `2026-01-13 09:30 Deurne Cardiology` (Brussels
    /// time): a patient's own appointments under the update's audiences, a GP's affected
    /// patients' (`…: Jan Peeters, born 1958-02-03`).
    pub appointments: Vec<String>,
    /// Each delivery as a person reads it: `sms: undeliverable (…)`.
    pub reasons: Vec<String>,
    pub deliveries: Vec<UnreachedOutcome>,
}

impl UnreachedContact {
    /// The contact's story without the details: `sms: undeliverable; email: skipped`.
    pub fn why(&self) -> String {
        self.deliveries
            .iter()
            .map(|delivery| format!("{}: {}", delivery.channel, delivery.state))
            .collect::<Vec<_>>()
            .join("; ")
    }
}

impl UnreachedContact {
    fn new(unreached: &Unreached, appointments: Vec<String>) -> Self {
        UnreachedContact {
            contact_id: unreached.contact.id,
            external_id: unreached.contact.external_id.clone(),
            name: unreached.contact.full_name(),
            mobile: unreached.contact.mobile.clone(),
            phone: unreached.contact.phone.clone(),
            email: unreached.contact.email.clone(),
            language: unreached.contact.language.clone(),
            appointments,
            reasons: unreached
                .deliveries
                .iter()
                .map(UnreachedDelivery::to_string)
                .collect(),
            deliveries: unreached
                .deliveries
                .iter()
                .map(|delivery| UnreachedOutcome {
                    channel: delivery.channel,
                    state: delivery.state,
                    error: delivery.error.clone(),
                })
                .collect(),
        }
    }
}

/// An appointment as the call centre reads it, in the hospital's time zone.
fn appointment_line(appointment: &Appointment, tz: Tz) -> String {
    format!(
        "{} {} {}",
        appointment
            .starts_at
            .with_timezone(&tz)
            .format("%Y-%m-%d %H:%M"),
        appointment.campus,
        appointment.department
    )
}

/// What the update told each of `contacts` about, by contact id: the appointments of the
/// first of its audiences that takes them, as planning rendered them.
async fn told_about(
    store: &dyn Store,
    update: &crate::domain::Update,
    contacts: &[Unreached],
    tz: Tz,
) -> Result<HashMap<i64, Vec<String>>, StoreError> {
    let mut told = HashMap::with_capacity(contacts.len());
    let mut left: Vec<i64> = contacts
        .iter()
        .map(|unreached| unreached.contact.id)
        .collect();
    for spec in &update.audiences {
        if left.is_empty() {
            break;
        }
        let selection = spec.selection(&update.audiences, tz);
        for Recipient {
            contact,
            appointments,
            affected_patients,
            ..
        } in store.recipients_among(&selection, &left).await?
        {
            let lines = appointments
                .iter()
                .map(|appointment| appointment_line(appointment, tz))
                .chain(affected_patients.iter().map(|patient| {
                    let name = format!("{} {}", patient.first_name, patient.last_name);
                    let born = patient
                        .birth_date
                        .map(|date| format!(", born {date}"))
                        .unwrap_or_default();
                    format!(
                        "{}: {}{born}",
                        appointment_line(&patient.appointment, tz),
                        name.trim()
                    )
                }))
                .collect();
            told.insert(contact.id, lines);
        }
        left.retain(|id| !told.contains_key(id));
    }
    Ok(told)
}

/// The counts of [`StatusReport`]: where every delivery of the update stands, the failures
/// by reason and the SMS gateways' breakers.
pub async fn progress(store: &dyn Store, update_id: i64) -> Result<Progress, StoreError> {
    let update = store.update(update_id).await?;
    let rows = store.status(update_id).await?;
    let backlog = store.backlog(update_id).await?;
    let mut progress = Progress {
        update_id,
        state: update.state,
        paused: update.paused.clone(),
        held: backlog.held,
        open: backlog.open,
        total: 0,
        by_state: BTreeMap::new(),
        by_channel: BTreeMap::new(),
        by_language: BTreeMap::new(),
        by_channel_and_language: BTreeMap::new(),
        by_audience: BTreeMap::new(),
        by_channel_language_audience: BTreeMap::new(),
        by_gateway: BTreeMap::new(),
        breakers: BTreeMap::new(),
        failures: Vec::new(),
    };
    for row in rows {
        let add = |counts: &mut BTreeMap<DeliveryState, u64>| {
            *counts.entry(row.state).or_default() += row.count;
        };
        if let Some(gateway) = &row.gateway {
            add(progress.by_gateway.entry(gateway.clone()).or_default());
        }
        progress.total += row.count;
        add(&mut progress.by_state);
        add(progress.by_channel.entry(row.channel).or_default());
        add(progress.by_language.entry(row.language).or_default());
        add(progress.by_audience.entry(row.audience).or_default());
        add(progress
            .by_channel_and_language
            .entry(format!("{}/{}", row.channel, row.language))
            .or_default());
        add(progress
            .by_channel_language_audience
            .entry(format!("{}/{}/{}", row.channel, row.language, row.audience))
            .or_default());
    }
    for record in store.breakers().await? {
        progress.breakers.insert(
            record.gateway,
            GatewayBreaker {
                state: record.state,
                since_ms: Some(record.since_ms),
                last_error: record.last_error,
            },
        );
    }
    for gateway in progress.by_gateway.keys() {
        progress
            .breakers
            .entry(gateway.clone())
            .or_insert_with(|| GatewayBreaker {
                state: "unknown".into(),
                since_ms: None,
                last_error: None,
            });
    }
    progress.failures = store
        .failure_reasons(update_id)
        .await?
        .into_iter()
        .map(|row| FailureCount {
            channel: row.channel,
            state: row.state,
            reason: row.reason,
            count: row.count,
        })
        .collect();
    Ok(progress)
}

/// Where every delivery of the update stands, and who has not been reached, with what they
/// were told about (dates in `tz`, the hospital's time zone).
pub async fn status(store: &dyn Store, update_id: i64, tz: Tz) -> Result<StatusReport, StoreError> {
    let update = store.update(update_id).await?;
    let Progress {
        update_id,
        state,
        paused,
        held,
        open,
        total,
        by_state,
        by_channel,
        by_language,
        by_channel_and_language,
        by_audience,
        by_channel_language_audience,
        by_gateway,
        breakers,
        failures,
    } = progress(store, update_id).await?;
    // Only while it waits to start: a halted update's last refusal is no longer news.
    let waiting = state == UpdateState::Approved;
    let not_started = store
        .start_refusal(update_id)
        .await?
        .filter(|_| waiting)
        .and_then(|refusal| {
            let since = chrono::DateTime::from_timestamp_millis(refusal.at_ms)?;
            Some(NotStarted {
                since: since.with_timezone(&tz),
                reason: refusal.reason,
            })
        });
    let mut report = StatusReport {
        update_id,
        state,
        paused,
        held,
        not_started,
        total,
        by_state,
        by_channel,
        by_language,
        by_channel_and_language,
        by_audience,
        by_channel_language_audience,
        by_gateway,
        breakers,
        open,
        failures,
        unreached: Vec::new(),
        unreached_by_why: BTreeMap::new(),
    };
    let unreached = store.unreached(update_id).await?;
    let mut told = told_about(store, &update, &unreached, tz).await?;
    report.unreached = unreached
        .iter()
        .map(|contact| {
            let appointments = told.remove(&contact.contact.id).unwrap_or_default();
            UnreachedContact::new(contact, appointments)
        })
        .collect();
    for contact in &report.unreached {
        *report.unreached_by_why.entry(contact.why()).or_default() += 1;
    }
    Ok(report)
}

impl StatusReport {
    /// A table a person reads at a glance: rows are channel × language, columns are states.
    pub fn to_text(&self) -> String {
        self.to_text_for("tocsin")
    }

    /// [`Self::to_text`], with the commands it suggests run as `tocsin` (e.g. `tocsin
    /// --database …`).
    pub fn to_text_for(&self, tocsin: &str) -> String {
        self.to_text_in(tocsin, CliText::english())
    }

    /// [`Self::to_text_for`] in the command line's language.
    pub fn to_text_in(&self, tocsin: &str, text: &CliText) -> String {
        // Only the states something is in: nine columns of zeros hide the one that matters.
        let states: Vec<DeliveryState> = DeliveryState::ALL
            .into_iter()
            .filter(|state| self.by_state.contains_key(state))
            .collect();
        let mut out = String::new();
        let id = || FluentValue::from(self.update_id.to_string());
        let with_count = |key: &str| text.say(key, &[("id", id()), ("count", self.total.into())]);
        let _ = match self.state {
            UpdateState::Draft => writeln!(
                out,
                "{}\n{}",
                text.say("status-draft", &[("id", id())]),
                text.say("status-draft-next", &[("id", id())])
            ),
            UpdateState::Discarded => {
                writeln!(out, "{}", text.say("status-discarded", &[("id", id())]))
            }
            UpdateState::Approved if self.total == 0 => writeln!(
                out,
                "{}\n{}",
                text.say("status-approved-empty", &[("id", id())]),
                text.say("status-next-send", &[("id", id())])
            ),
            UpdateState::Approved => writeln!(
                out,
                "{}\n{}",
                with_count("status-approved"),
                text.say("status-next-send", &[("id", id())])
            ),
            UpdateState::Sending if self.paused.is_some() => {
                writeln!(out, "{}", with_count("status-paused"))
            }
            UpdateState::Sending => writeln!(out, "{}", with_count("status-sending")),
            UpdateState::Sent => writeln!(out, "{}", with_count("status-sent")),
            UpdateState::Halted => writeln!(out, "{}", with_count("status-halted")),
        };
        if let Some(paused) = &self.paused {
            let _ = writeln!(
                out,
                "{}\n  {}",
                text.say(
                    "status-paused-reason",
                    &[
                        ("count", self.held.into()),
                        ("reason", paused.as_str().into())
                    ]
                ),
                text.say("status-paused-fix", &[("id", id())])
            );
        }
        if let Some(refused) = &self.not_started {
            let since = text.datetime(refused.since.to_utc(), refused.since.timezone());
            let _ = writeln!(
                out,
                "{}\n  {}",
                text.say(
                    "schedule-not-started",
                    &[
                        ("since", since.into()),
                        ("reason", refused.reason.as_str().into())
                    ]
                ),
                text.say("schedule-not-started-fix", &[("id", id())])
            );
        }
        if self.total == 0 {
            return out;
        }
        let labels: Vec<String> = states.iter().map(|state| text.state(*state)).collect();
        // As wide as the longest label needs, and never narrower than the English table.
        let width = labels
            .iter()
            .map(|label| label.chars().count() + 2)
            .max()
            .unwrap_or(0)
            .max(14);
        let _ = write!(out, "{:<16}", text.say("status-column-rows", &[]));
        for label in &labels {
            let _ = write!(out, "{label:>width$}");
        }
        out.push('\n');
        let mut line = |label: &str, counts: &BTreeMap<DeliveryState, u64>| {
            let _ = write!(out, "{label:<16}");
            for state in &states {
                let _ = write!(out, "{:>width$}", counts.get(state).copied().unwrap_or(0));
            }
            out.push('\n');
        };
        for (label, counts) in &self.by_channel_and_language {
            line(label, counts);
        }
        line(&text.say("status-row-all", &[]), &self.by_state);
        for (gateway, counts) in &self.by_gateway {
            line(
                &text.say(
                    "status-row-gateway",
                    &[("gateway", gateway.as_str().into())],
                ),
                counts,
            );
        }
        if !self.breakers.is_empty() {
            let _ = writeln!(out, "{}", text.say("status-breakers", &[]));
        }
        for (gateway, breaker) in &self.breakers {
            let _ = write!(
                out,
                "  {}",
                text.say(
                    "labelled",
                    &[
                        ("label", gateway.as_str().into()),
                        ("value", breaker.state.as_str().into())
                    ]
                )
            );
            if let Some(since) = breaker
                .since_ms
                .and_then(chrono::DateTime::from_timestamp_millis)
            {
                let when = since.format("%Y-%m-%d %H:%M:%S UTC").to_string();
                let _ = write!(
                    out,
                    " {}",
                    text.say("status-breaker-since", &[("when", when.into())])
                );
            }
            if let Some(error) = &breaker.last_error {
                let _ = write!(
                    out,
                    " {}",
                    text.say("status-breaker-error", &[("error", error.as_str().into())])
                );
            }
            out.push('\n');
        }
        let _ = writeln!(
            out,
            "{}",
            text.say(
                "status-unreached",
                &[("count", (self.unreached.len() as u64).into())]
            )
        );
        let mut stories: Vec<(&String, &u64)> = self.unreached_by_why.iter().collect();
        stories.sort_by(|a, b| b.1.cmp(a.1).then(a.0.cmp(b.0)));
        for (why, count) in stories {
            let _ = writeln!(out, "  {count:>7}  {why}");
        }
        // The ones a person can act on first: a refusal or a doubt, not a missing address.
        let mut listed: Vec<&UnreachedContact> = self.unreached.iter().collect();
        listed.sort_by_key(|contact| {
            !contact.deliveries.iter().any(|delivery| {
                matches!(
                    delivery.state,
                    DeliveryState::Undeliverable | DeliveryState::Failed | DeliveryState::Uncertain
                )
            })
        });
        for contact in listed.iter().take(20) {
            let who = format!("{} ({})", contact.name, contact.external_id);
            let _ = writeln!(
                out,
                "  {}",
                text.say(
                    "labelled",
                    &[
                        ("label", who.into()),
                        ("value", contact.reasons.join("; ").into())
                    ]
                )
            );
        }
        if self.unreached.len() > 20 {
            let _ = writeln!(
                out,
                "  {}",
                text.say(
                    "status-unreached-more",
                    &[
                        ("count", ((self.unreached.len() - 20) as u64).into()),
                        ("tocsin", tocsin.into()),
                        ("id", id()),
                    ]
                )
            );
        }
        out
    }
}

/// `1 delivery`, `2 deliveries`, with thousands grouped: a count with its noun as a person
/// writes it.
pub fn count(n: u64, one: &str, many: &str) -> String {
    format!("{} {}", grouped(n), if n == 1 { one } else { many })
}

/// 12345 → "12,345": counts a person reads at a glance, never rounded.
pub fn grouped(n: u64) -> String {
    let digits = n.to_string();
    let mut out = String::with_capacity(digits.len() + digits.len() / 3);
    for (index, digit) in digits.chars().enumerate() {
        if index > 0 && (digits.len() - index) % 3 == 0 {
            out.push(',');
        }
        out.push(digit);
    }
    out
}

/// The call centre's list: who to phone (mobile, landline), about what, and why no message
/// reached them; through [`SheetWriter`], like every CSV Tocsin writes.
pub fn unreached_csv(
    contacts: &[UnreachedContact],
    out: impl std::io::Write,
    separator: Separator,
) -> Result<(), csv::Error> {
    let mut writer = SheetWriter::new(out, separator)?;
    writer.row([
        "external_id",
        "name",
        "mobile",
        "phone",
        "email",
        "language",
        "appointments",
        "why_unreached",
    ])?;
    for contact in contacts {
        writer.row([
            contact.external_id.as_str(),
            &contact.name,
            contact.mobile.as_deref().unwrap_or_default(),
            contact.phone.as_deref().unwrap_or_default(),
            contact.email.as_deref().unwrap_or_default(),
            contact.language.as_deref().unwrap_or_default(),
            &contact.appointments.join(" | "),
            &contact.reasons.join("; "),
        ])?;
    }
    writer.finish()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formulas_in_a_csv_cell_are_defused() {
        let contact = UnreachedContact {
            contact_id: 1,
            external_id: "P1".into(),
            name: "=HYPERLINK(\"http://evil\")".into(),
            mobile: Some("+32471123456".into()),
            phone: Some("+3232123456".into()),
            email: None,
            language: Some("nl".into()),
            appointments: vec!["2026-01-13 09:30 Deurne cardiology".into()],
            reasons: vec!["sms: undeliverable".into(), "@SUM(1)".into()],
            deliveries: Vec::new(),
        };
        let mut out = Vec::new();
        unreached_csv(&[contact], &mut out, Separator::Semicolon).expect("writes");
        let text = String::from_utf8(out).expect("utf-8");
        assert!(text.starts_with('\u{feff}'), "{text}");
        let row = text.lines().nth(1).expect("one row");
        assert!(
            row.contains("\"'=HYPERLINK(\"\"http://evil\"\")\""),
            "{row}"
        );
        assert!(row.contains(";'+32471123456;'+3232123456;"), "{row}");
        assert!(row.starts_with("P1;"), "{row}");
    }
}
