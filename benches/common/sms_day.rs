//! A day of SMS to every patient, for the benchmarks that need real deliveries to send and
//! receipts to take: the configuration naming an emulated Kannel and `tocsin serve`, the
//! synthetic patients (each with a mobile), the first alert narrowed to them by SMS, and the
//! Kannel delivery reports for what was sent.

use super::kannel::{Emulator, PASSWORD, USERNAME};
use anyhow::{anyhow, bail, Result};
use chrono::NaiveDate;
use std::collections::HashSet;
use std::path::Path;
use std::time::Duration;
use tocsin::app::App;
use tocsin::author::DraftOptions;
use tocsin::channels::sms::kannel;
use tocsin::config::{Config, GatewayConfig, SmsTransport};
use tocsin::demo::synthetic;
use tocsin::domain::{DeliveryState, NewContact, Role};
use tokio::net::TcpStream;

/// The shipped first alert; the benchmarks narrow it to patients, by SMS.
const FIRST_ALERT: &str = include_str!("../../examples/01-first-alert.toml");

pub const RECEIPT_SECRET: &str = "bench-receipt-secret";

/// A configuration with its database and outboxes in `dir`, SMS through the emulated Kannel
/// on `gateway`, and `tocsin serve` on `serve_port`, which Kannel's reports are addressed to.
pub fn config(dir: &Path, gateway: &Emulator, serve_port: u16) -> Config {
    let mut config = Config {
        database_url: format!("sqlite://{}", dir.join("bench.db").display()),
        ..Config::default()
    };
    config.email.dir = dir.join("outbox/email");
    config.sms.dir = dir.join("outbox/sms");
    config.telegram.dir = dir.join("outbox/telegram");
    config.sms.transport = SmsTransport::Gateways;
    config.sms.gateways = vec![GatewayConfig::Kannel(kannel::KannelSettings {
        name: None,
        base_url: format!("http://127.0.0.1:{}", gateway.port),
        username: USERNAME.into(),
        password: Some(PASSWORD.into()),
        password_env: None,
        from: "ZNA".into(),
        dlr_url: Some(format!("http://127.0.0.1:{serve_port}/receipts/kannel")),
    })];
    config.serve.bind = format!("127.0.0.1:{serve_port}");
    config.serve.receipt_secret = Some(RECEIPT_SECRET.into());
    config
}

/// `n` synthetic patients with appointments on 13 and 14 January 2026, each with a mobile.
pub async fn import_patients(app: &App, n: usize) -> Result<()> {
    let days: Vec<NaiveDate> = [(2026, 1, 13), (2026, 1, 14)]
        .into_iter()
        .filter_map(|(y, m, d)| NaiveDate::from_ymd_opt(y, m, d))
        .collect();
    let mut day = synthetic::generate(n, &days, 2026);
    give_every_patient_a_mobile(&mut day.contacts);
    app.store
        .import(
            &day.contacts,
            &day.appointments,
            "synthetic day",
            app.clock.now_ms(),
        )
        .await?;
    Ok(())
}

/// The synthetic day leaves about one patient in ten without a mobile; here everyone has one,
/// so that `--patients N` means N SMS.
fn give_every_patient_a_mobile(contacts: &mut [NewContact]) {
    let used: HashSet<String> = contacts.iter().filter_map(|c| c.mobile.clone()).collect();
    let mut candidate = 0u32;
    for contact in contacts.iter_mut() {
        if contact.role != Role::Patient || contact.mobile.is_some() {
            continue;
        }
        let mobile = loop {
            candidate += 1;
            let mobile = format!("+32499{candidate:06}");
            if !used.contains(&mobile) {
                break mobile;
            }
        };
        contact.mobile = Some(mobile);
    }
}

/// Drafts the shipped first alert for patients by SMS only, and approves it as a second person.
pub async fn draft_sms_update(app: &App, dir: &Path) -> Result<i64> {
    let mut source = String::with_capacity(FIRST_ALERT.len());
    let (mut audiences, mut channels) = (false, false);
    for line in FIRST_ALERT.lines() {
        if line.starts_with("audiences =") {
            source.push_str("audiences = [\"patients\"]");
            audiences = true;
        } else if line.starts_with("channels =") {
            source.push_str("channels = [\"sms\"]");
            channels = true;
        } else {
            source.push_str(line);
        }
        source.push('\n');
    }
    if !audiences || !channels {
        bail!("examples/01-first-alert.toml changed shape: no audiences/channels line");
    }
    let file = dir.join("sms.toml");
    std::fs::write(&file, source)?;
    let id = app.draft(&file, None, DraftOptions::default()).await?.id;
    app.approve(id, "Dr. Jan Claes").await?;
    Ok(id)
}

pub async fn count_in_store(
    store: &dyn tocsin::store::Store,
    update: i64,
    state: DeliveryState,
) -> Result<u64> {
    Ok(store
        .status(update)
        .await?
        .iter()
        .filter(|row| row.state == state)
        .map(|row| row.count)
        .sum())
}

pub fn free_port() -> Result<u16> {
    Ok(std::net::TcpListener::bind("127.0.0.1:0")?
        .local_addr()?
        .port())
}

pub async fn wait_for(port: u16) -> Result<()> {
    for _ in 0..500 {
        if TcpStream::connect(("127.0.0.1", port)).await.is_ok() {
            return Ok(());
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    bail!("tocsin serve is not listening on port {port}")
}

/// The delivery ids of the DLR URLs the emulator was given, each once.
pub fn distinct_deliveries(dlr_urls: &[String]) -> Result<usize> {
    let mut ids = HashSet::with_capacity(dlr_urls.len());
    for dlr_url in dlr_urls {
        ids.insert(delivery_of(dlr_url)?);
    }
    Ok(ids.len())
}

fn delivery_of(dlr_url: &str) -> Result<i64> {
    let query = dlr_url
        .split_once('?')
        .map(|(_, query)| query)
        .ok_or_else(|| anyhow!("a DLR URL without a query: {dlr_url}"))?;
    url::form_urlencoded::parse(query.as_bytes())
        .find(|(name, _)| name == "delivery")
        .and_then(|(_, id)| id.parse().ok())
        .ok_or_else(|| anyhow!("a DLR URL without a delivery id: {dlr_url}"))
}

/// What Kannel calls for each message: its `dlr-url` with the escapes filled in (`%d` the
/// report type, `%i` the SMSC, `%T` the time, `%A` the SMSC's text, URL-encoded), an SMSC
/// acknowledgement (type 8) first when `reports` is 2, then the delivery (type 1). The
/// messages are interleaved so that each connection carries many different deliveries.
pub fn callbacks(dlr_urls: &[String], serve_port: u16, reports: usize) -> Result<Vec<String>> {
    let prefix = format!("http://127.0.0.1:{serve_port}");
    let ts = chrono::Utc::now().timestamp().to_string();
    let delivered = (
        "1",
        "id%3A0%20sub%3A001%20dlvrd%3A001%20stat%3ADELIVRD%20err%3A000",
    );
    let kinds: &[(&str, &str)] = if reports == 2 {
        &[("8", "ACK%2F"), delivered]
    } else {
        &[delivered]
    };
    let mut out = Vec::with_capacity(dlr_urls.len() * kinds.len());
    for (kind, text) in kinds {
        for dlr_url in dlr_urls {
            let path = dlr_url
                .strip_prefix(&prefix)
                .ok_or_else(|| anyhow!("a DLR URL not for this server: {dlr_url}"))?;
            out.push(
                path.replace("%d", kind)
                    .replace("%i", "bench-smsc")
                    .replace("%T", &ts)
                    .replace("%A", text),
            );
        }
    }
    Ok(out)
}
