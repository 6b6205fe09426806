//! `cargo bench --bench import [-- --rows N] [--no-count]`: imports a generated appointments
//! CSV of 100,000 rows (the scheduling export of a large hospital's week) and prints rows/s,
//! CPU per row and peak memory. Target on a 2-core machine: ≤ 5 s, ≤ 200 MB peak RSS.
//!
//! Then it runs again under valgrind's callgrind with 10,000 rows (unless `--no-count`) and
//! prints the instructions per row of both imports: figures that do not depend on the
//! machine or its load.

/// The same allocator as the `tocsin` binary, so the figures are the binary's.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

mod common;

use anyhow::Result;
use common::callgrind::{self, COUNTED};
use common::measure::{status_mb, Stopwatch};
use common::Summary;
use std::fmt::Write as _;
use std::time::Instant;
use tocsin::app::{App, ImportKind};
use tocsin::config::Config;
use tocsin::spreadsheet::Separator;

// The counted phases.
const FIRST: &str = "first import";
const SECOND: &str = "second import";

/// Rows in the run under callgrind: enough for steady figures, few enough for valgrind.
const COUNTED_ROWS: &str = "10000";

fn peak_rss_mb() -> f64 {
    let [peak] = status_mb(["VmHWM"]);
    peak
}

/// The export as the scheduling system writes it: `;`, dd/mm/yyyy, Dutch headers.
fn export(rows: usize) -> Result<String> {
    let days: Vec<_> = (12..=16)
        .filter_map(|day| chrono::NaiveDate::from_ymd_opt(2026, 1, day))
        .collect();
    let day = tocsin::demo::synthetic::generate(rows * 10 / 11, &days, 7);
    let people: std::collections::HashMap<_, _> = day
        .contacts
        .iter()
        .flat_map(|c| c.identities.iter().map(move |identity| (identity, c)))
        .collect();
    let mut out = String::with_capacity(rows * 220);
    out.push_str("Patiëntnummer;Naam;Voornaam;Geboortedatum;Taal;GSM;E-mail;Afspraak ID;Datum;Campus;Dienst;Arts;Status;RIZIV huisarts;Huisarts;E-mail huisarts\r\n");
    for appointment in day.appointments.iter().take(rows) {
        let patient = people[&appointment.patient];
        let gp = appointment.gp.as_ref().and_then(|gp| people.get(gp));
        let local = appointment
            .starts_at
            .with_timezone(&chrono_tz::Europe::Brussels);
        writeln!(
            out,
            "{};{};{};{};{};{};{};{};{};{};{};{};{};{};{};{}\r",
            patient.external_id,
            patient.last_name,
            patient.first_name,
            patient
                .birth_date
                .map(|d| d.format("%d/%m/%Y").to_string())
                .unwrap_or_default(),
            patient.language.as_deref().unwrap_or_default(),
            patient
                .mobile
                .as_deref()
                .map(|m| format!("0{}", &m[3..]))
                .unwrap_or_default(),
            patient.email.as_deref().unwrap_or_default(),
            appointment.external_id,
            local.format("%d/%m/%Y %H:%M"),
            appointment.campus,
            appointment.department,
            appointment.practitioner.as_deref().unwrap_or_default(),
            if appointment.status == tocsin::domain::AppointmentStatus::Booked {
                "gepland"
            } else {
                "geannuleerd"
            },
            gp.map(|gp| gp.external_id.as_str()).unwrap_or_default(),
            gp.map(|gp| format!("Dr. {} {}", gp.first_name, gp.last_name))
                .unwrap_or_default(),
            gp.and_then(|gp| gp.email.as_deref()).unwrap_or_default(),
        )?;
    }
    Ok(out)
}

#[tokio::main]
async fn main() -> Result<()> {
    let args: Vec<String> = std::env::args().collect();
    let rows = args
        .iter()
        .rposition(|arg| arg == "--rows")
        .and_then(|index| args.get(index + 1))
        .and_then(|rows| rows.parse().ok())
        .unwrap_or(100_000);
    let counted = args.iter().any(|arg| arg == COUNTED);
    let dir = tempfile::tempdir()?;
    let file = dir.path().join("export.csv");
    std::fs::write(&file, export(rows)?)?;
    let written = std::fs::metadata(&file)?.len();
    let before = peak_rss_mb();
    let config = Config {
        database_url: format!("sqlite://{}", dir.path().join("import.db").display()),
        ..Config::default()
    };
    let app = App::open(config).await?;

    let bytes = std::fs::read(&file)?;
    let started = Instant::now();
    let parsed = tocsin::import::csv::appointments("export.csv", &bytes)?;
    let parse = started.elapsed().as_secs_f64();
    drop((parsed, bytes));

    let started = Stopwatch::start();
    callgrind::start();
    let first = app
        .import(ImportKind::Appointments, &file, None, Separator::default())
        .await?;
    callgrind::stop(FIRST, first.records as u64);
    let first_lap = started.stop();
    let elapsed = first_lap.wall.as_secs_f64();
    let peak = peak_rss_mb();
    let started = Stopwatch::start();
    callgrind::start();
    let second = app
        .import(ImportKind::Appointments, &file, None, Separator::default())
        .await?;
    callgrind::stop(SECOND, second.records as u64);
    let second_lap = started.stop();
    let again = second_lap.wall.as_secs_f64();

    println!(
        "Import of a generated appointments export ({rows} rows, {:.1} MB)",
        written as f64 / 1e6
    );
    println!(
        "  reading the CSV alone: {parse:.2} s, {:.0} rows/s",
        rows as f64 / parse
    );
    println!(
        "  first import:  {:.2} s, {:.0} rows/s, {:.1} µs of CPU per row; {} contacts and {} \
         appointments new, {} rejected",
        elapsed,
        first.records as f64 / elapsed,
        first_lap.cpu_per_item(first.records as u64),
        first.counts.contacts.new,
        first.counts.appointments.new,
        first.rejected
    );
    println!(
        "  second import: {:.2} s, {:.0} rows/s, {:.1} µs of CPU per row; contacts {:?}, \
         appointments {:?}",
        again,
        second.records as f64 / again,
        second_lap.cpu_per_item(second.records as u64),
        second.counts.contacts,
        second.counts.appointments
    );
    println!(
        "  peak RSS of the process: {peak:.0} MB (generating the export took {before:.0} MB of it)"
    );
    println!(
        "  target: ≤ 5 s and ≤ 200 MB at 100,000 rows: {}",
        if elapsed <= 5.0 && peak <= 200.0 {
            "PASS"
        } else {
            "BELOW TARGET"
        }
    );
    if counted || args.iter().any(|arg| arg == "--no-count") {
        return Ok(());
    }
    let mut summary = Summary::default();
    callgrind::count_into(
        &mut summary,
        &format!("{COUNTED_ROWS} rows"),
        &[("--rows", COUNTED_ROWS)],
        &[(FIRST, "row", false), (SECOND, "row", false)],
        None,
    )?;
    summary.print();
    Ok(())
}
