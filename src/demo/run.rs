use super::synthetic;
use crate::app::App;
use crate::author::DraftOptions;
use crate::config::Config;
use crate::report::{self, count};
use anyhow::{Context, Result};
use chrono::NaiveDate;
use std::fmt::Write as _;
use std::path::Path;
use std::time::Instant;

/// The shipped first alert of the model case, so the demo runs from the binary alone.
const FIRST_ALERT: &str = include_str!("../../examples/01-first-alert.toml");

/// The demo's days: Tuesday 13 and Wednesday 14 January 2026.
fn affected_days() -> Vec<NaiveDate> {
    [(2026, 1, 13), (2026, 1, 14)]
        .into_iter()
        .filter_map(|(year, month, day)| NaiveDate::from_ymd_opt(year, month, day))
        .collect()
}

/// Generates the day, drafts the first alert as its author, approves it as a second
/// person, sends it to the file outboxes and returns the status summary.
pub async fn run(dir: &Path, patients: usize, mut config: Config) -> Result<String> {
    let started = Instant::now();
    // A fresh directory: the demo's own database and outboxes from an earlier run go.
    for stale in ["tocsin.db", "tocsin.db-wal", "tocsin.db-shm"] {
        let path = dir.join(stale);
        if path.exists() {
            std::fs::remove_file(&path)
                .with_context(|| format!("cannot remove {}", path.display()))?;
        }
    }
    let outbox = dir.join("outbox");
    if outbox.exists() {
        std::fs::remove_dir_all(&outbox)
            .with_context(|| format!("cannot remove {}", outbox.display()))?;
    }
    std::fs::create_dir_all(dir).with_context(|| format!("cannot create {}", dir.display()))?;
    config.database_url = format!("sqlite://{}", dir.join("tocsin.db").display());
    config.email.dir = outbox.join("email");
    config.sms.dir = outbox.join("sms");
    config.telegram.dir = outbox.join("telegram");
    let placeholders = config.placeholders();
    // Synthetic people, file outboxes: the example hospital details are what a demo shows.
    let app = App::open(config).await?.allowing_placeholders();

    let day = synthetic::generate(patients, &affected_days(), 2026);
    let now = app.clock.now_ms();
    app.store
        .import(&day.contacts, &day.appointments, "synthetic day", now)
        .await?;

    let update_file = dir.join("01-first-alert.toml");
    std::fs::write(&update_file, FIRST_ALERT)
        .with_context(|| format!("cannot write {}", update_file.display()))?;
    let options = DraftOptions {
        max_sms_segments: Some(app.config.sms.max_segments),
        ..DraftOptions::default()
    };
    let drafted = app.draft(&update_file, None, options).await?;
    let (id, draft) = (drafted.id, drafted.draft);
    app.approve(id, "Dr. Jan Claes").await?;
    let sent = app.send(id, |_, _| {}).await?;
    let status = report::status(app.store.as_ref(), id).await?;

    let mut out = String::new();
    if !placeholders.is_empty() {
        let keys: Vec<String> = placeholders
            .iter()
            .map(|placeholder| format!("[{}] {}", placeholder.section, placeholder.key))
            .collect();
        writeln!(
            out,
            "The demo uses the example hospital details ({}); a real update is refused until \
             they are set in tocsin.toml (tocsin check lists them).",
            keys.join(", ")
        )?;
    }
    writeln!(
        out,
        "Synthetic day: {}, {} on 13 and 14 January 2026.",
        count(day.contacts.len() as u64, "contact", "contacts"),
        count(day.appointments.len() as u64, "appointment", "appointments")
    )?;
    writeln!(
        out,
        "Update {id} drafted by {}, approved by Dr. Jan Claes, {} planned ({} skipped).",
        draft.update.author,
        count(sent.plan.pending, "delivery", "deliveries"),
        sent.plan.skipped
    )?;
    out.push_str(&status.to_text());
    writeln!(out, "Outboxes: {}", outbox.display())?;
    writeln!(out, "Done in {:.1} s.", started.elapsed().as_secs_f64())?;
    Ok(out)
}
