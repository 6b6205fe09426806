//! What the crisis cell watches: where every delivery of an update stands, and who has not
//! been reached — as text, as JSON, and as the call centre's CSV list.

use crate::domain::{ChannelKind, DeliveryState, Language};
use crate::store::{Store, StoreError, Unreached};
use serde::Serialize;
use std::collections::BTreeMap;
use std::fmt::Write as _;

#[derive(Debug, Clone, Serialize)]
pub struct StatusReport {
    pub update_id: i64,
    pub total: u64,
    pub by_state: BTreeMap<DeliveryState, u64>,
    /// State counts per channel.
    pub by_channel: BTreeMap<ChannelKind, BTreeMap<DeliveryState, u64>>,
    /// State counts per language.
    pub by_language: BTreeMap<Language, BTreeMap<DeliveryState, u64>>,
    pub by_channel_and_language: BTreeMap<String, BTreeMap<DeliveryState, u64>>,
    /// State counts per SMS gateway that took messages (sent, delivered, failed …).
    pub by_gateway: BTreeMap<String, BTreeMap<DeliveryState, u64>>,
    /// The circuit breaker of every SMS gateway that took messages of this update or has
    /// a recorded state, as the sending process last recorded it.
    pub breakers: BTreeMap<String, GatewayBreaker>,
    pub unreached: Vec<UnreachedContact>,
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
    pub email: Option<String>,
    pub language: Option<String>,
    pub appointments: Vec<String>,
    pub reasons: Vec<String>,
}

impl From<&Unreached> for UnreachedContact {
    fn from(unreached: &Unreached) -> Self {
        UnreachedContact {
            contact_id: unreached.contact.id,
            external_id: unreached.contact.external_id.clone(),
            name: unreached.contact.full_name(),
            mobile: unreached.contact.mobile.clone(),
            email: unreached.contact.email.clone(),
            language: unreached.contact.language.clone(),
            appointments: unreached
                .appointments
                .iter()
                .map(|appointment| {
                    format!(
                        "{} {} {}",
                        appointment
                            .starts_at
                            .with_timezone(&chrono_tz::Europe::Brussels)
                            .format("%Y-%m-%d %H:%M"),
                        appointment.campus,
                        appointment.department
                    )
                })
                .collect(),
            reasons: unreached.reasons.clone(),
        }
    }
}

pub async fn status(store: &dyn Store, update_id: i64) -> Result<StatusReport, StoreError> {
    store.update(update_id).await?;
    let rows = store.status(update_id).await?;
    let mut report = StatusReport {
        update_id,
        total: 0,
        by_state: BTreeMap::new(),
        by_channel: BTreeMap::new(),
        by_language: BTreeMap::new(),
        by_channel_and_language: BTreeMap::new(),
        by_gateway: BTreeMap::new(),
        breakers: BTreeMap::new(),
        unreached: Vec::new(),
    };
    for row in rows {
        if let Some(gateway) = &row.gateway {
            *report
                .by_gateway
                .entry(gateway.clone())
                .or_default()
                .entry(row.state)
                .or_default() += row.count;
        }
        report.total += row.count;
        *report.by_state.entry(row.state).or_default() += row.count;
        *report
            .by_channel
            .entry(row.channel)
            .or_default()
            .entry(row.state)
            .or_default() += row.count;
        *report
            .by_language
            .entry(row.language)
            .or_default()
            .entry(row.state)
            .or_default() += row.count;
        *report
            .by_channel_and_language
            .entry(format!("{}/{}", row.channel, row.language))
            .or_default()
            .entry(row.state)
            .or_default() += row.count;
    }
    for record in store.breakers().await? {
        report.breakers.insert(
            record.gateway,
            GatewayBreaker {
                state: record.state,
                since_ms: Some(record.since_ms),
                last_error: record.last_error,
            },
        );
    }
    for gateway in report.by_gateway.keys() {
        report
            .breakers
            .entry(gateway.clone())
            .or_insert_with(|| GatewayBreaker {
                state: "unknown".into(),
                since_ms: None,
                last_error: None,
            });
    }
    report.unreached = store
        .unreached(update_id)
        .await?
        .iter()
        .map(UnreachedContact::from)
        .collect();
    Ok(report)
}

impl StatusReport {
    /// A table a person reads at a glance: rows are channel × language, columns are states.
    pub fn to_text(&self) -> String {
        let states = DeliveryState::ALL;
        let mut out = String::new();
        let _ = writeln!(out, "Update {}: {} deliveries", self.update_id, self.total);
        let _ = write!(out, "{:<16}", "channel/lang");
        for state in states {
            let _ = write!(out, "{:>14}", state.as_str());
        }
        out.push('\n');
        let mut line = |label: &str, counts: &BTreeMap<DeliveryState, u64>| {
            let _ = write!(out, "{label:<16}");
            for state in states {
                let _ = write!(out, "{:>14}", counts.get(&state).copied().unwrap_or(0));
            }
            out.push('\n');
        };
        for (label, counts) in &self.by_channel_and_language {
            line(label, counts);
        }
        line("all", &self.by_state);
        for (gateway, counts) in &self.by_gateway {
            line(&format!("sms via {gateway}"), counts);
        }
        if !self.breakers.is_empty() {
            let _ = writeln!(out, "SMS gateways, circuit breaker:");
        }
        for (gateway, breaker) in &self.breakers {
            let _ = write!(out, "  {gateway}: {}", breaker.state);
            if let Some(since) = breaker
                .since_ms
                .and_then(chrono::DateTime::from_timestamp_millis)
            {
                let _ = write!(out, " since {}", since.format("%Y-%m-%d %H:%M:%S UTC"));
            }
            if let Some(error) = &breaker.last_error {
                let _ = write!(out, " (last error: {error})");
            }
            out.push('\n');
        }
        let _ = writeln!(out, "Unreached contacts: {}", self.unreached.len());
        for contact in self.unreached.iter().take(20) {
            let _ = writeln!(
                out,
                "  {} ({}): {}",
                contact.name,
                contact.external_id,
                contact.reasons.join("; ")
            );
        }
        if self.unreached.len() > 20 {
            let _ = writeln!(
                out,
                "  … and {} more: tocsin export unreached {} --csv FILE",
                self.unreached.len() - 20,
                self.update_id
            );
        }
        out
    }
}

/// A cell that a spreadsheet would run as a formula is prefixed with `'`, which the
/// spreadsheet shows as text (OWASP's advice for CSV injection).
fn defuse(cell: &str) -> String {
    match cell.chars().next() {
        Some('=' | '+' | '-' | '@' | '\t' | '\r') => format!("'{cell}"),
        _ => cell.to_string(),
    }
}

/// The call centre's list: who to phone, about what, and why no message reached them.
pub fn unreached_csv(
    contacts: &[UnreachedContact],
    out: impl std::io::Write,
) -> Result<(), csv::Error> {
    let mut writer = csv::Writer::from_writer(out);
    writer.write_record([
        "external_id",
        "name",
        "mobile",
        "email",
        "language",
        "appointments",
        "why_unreached",
    ])?;
    for contact in contacts {
        writer.write_record([
            defuse(&contact.external_id),
            defuse(&contact.name),
            defuse(contact.mobile.as_deref().unwrap_or_default()),
            defuse(contact.email.as_deref().unwrap_or_default()),
            defuse(contact.language.as_deref().unwrap_or_default()),
            defuse(&contact.appointments.join(" | ")),
            defuse(&contact.reasons.join("; ")),
        ])?;
    }
    writer.flush()?;
    Ok(())
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
            email: None,
            language: Some("nl".into()),
            appointments: vec!["2026-01-13 09:30 Deurne cardiology".into()],
            reasons: vec!["sms: undeliverable".into(), "@SUM(1)".into()],
        };
        let mut out = Vec::new();
        unreached_csv(&[contact], &mut out).expect("writes");
        let text = String::from_utf8(out).expect("utf-8");
        let row = text.lines().nth(1).expect("one row");
        assert!(
            row.contains("\"'=HYPERLINK(\"\"http://evil\"\")\""),
            "{row}"
        );
        assert!(row.contains("'+32471123456"), "{row}");
        assert!(row.starts_with("P1,"), "{row}");
    }
}
