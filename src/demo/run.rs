use super::synthetic;
use crate::app::App;
use crate::author::DraftOptions;
use crate::config::Config;
use crate::report::count;
use anyhow::{bail, Context, Result};
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

/// Marks a directory as the demo's own: only such a directory, or an empty or new one, is
/// cleared for a run (`--dir .` once deleted a real database and outbox).
const MARKER: &str = ".tocsin-demo";

/// What a run writes in its directory, and clears before the next run.
const WRITTEN: [&str; 6] = [
    "tocsin.db",
    "tocsin.db-wal",
    "tocsin.db-shm",
    "01-first-alert.toml",
    "outbox",
    "press",
];

/// A fresh directory for the demo: new, empty, or one an earlier run made (its database and
/// outboxes go); any other is refused.
fn prepare(dir: &Path) -> Result<()> {
    if dir.exists() {
        let marked = dir.join(MARKER).is_file();
        let empty = std::fs::read_dir(dir)
            .with_context(|| format!("cannot read the directory {}", dir.display()))?
            .next()
            .is_none();
        if !marked && !empty {
            bail!(
                "{} is not a directory the demo made (it is not empty and has no {MARKER} \
                 file): the demo clears its directory before each run, so give a new or \
                 empty one with --dir",
                dir.display()
            );
        }
        for name in WRITTEN {
            let path = dir.join(name);
            let removed = if path.is_dir() {
                std::fs::remove_dir_all(&path)
            } else if path.exists() {
                std::fs::remove_file(&path)
            } else {
                Ok(())
            };
            removed.with_context(|| format!("cannot remove {}", path.display()))?;
        }
    }
    std::fs::create_dir_all(dir).with_context(|| format!("cannot create {}", dir.display()))?;
    let marker = dir.join(MARKER);
    std::fs::write(
        &marker,
        "Made by `tocsin demo`, which clears this directory at its next run.\n",
    )
    .with_context(|| format!("cannot write {}", marker.display()))
}

/// A word as a POSIX shell reads it back.
fn quoted(word: &str) -> String {
    if word
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || "/._-:+=@,".contains(c))
    {
        word.to_string()
    } else {
        format!("'{}'", word.replace('\'', r"'\''"))
    }
}

/// Generates the day, drafts the first alert as its author, approves it as a second
/// person, sends it to the file outboxes and returns the status summary, with the commands
/// that look further into its database.
pub async fn run(dir: &Path, patients: usize, mut config: Config) -> Result<String> {
    let started = Instant::now();
    prepare(dir)?;
    let outbox = dir.join("outbox");
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
    let status = app.status(id).await?;
    let press = dir.join("press");
    let exported = app.export_press(&press).await?;

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
    let tocsin = format!("tocsin --database {}", quoted(&app.config.database_url));
    out.push_str(&status.to_text_for(&tocsin));
    writeln!(out, "Outboxes: {}", outbox.display())?;
    writeln!(
        out,
        "Press room: {} ({} files: the public pages and feeds; open it in a browser, \
         `tocsin serve` answers the same)",
        press.join("index.html").display(),
        exported.written.len() + exported.unchanged
    )?;
    writeln!(out, "Done in {:.1} s.", started.elapsed().as_secs_f64())?;
    writeln!(out, "Next, from this directory:")?;
    writeln!(out, "  {tocsin} status {id}")?;
    writeln!(out, "  {tocsin} export unreached {id} --csv unreached.csv")?;
    writeln!(out, "  {tocsin} update preview {id} --channel sms")?;
    Ok(out)
}
