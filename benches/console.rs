//! The console's dashboards during a broadcast: a 100,000-patient e-mail broadcast to the
//! file outbox, sent by `tocsin serve`'s own scheduler, first with no dashboard open, then
//! with 20 dashboards following its Server-Sent Events. Prints the events per second the
//! dashboards received, and the dispatcher's deliveries per second and CPU per delivery
//! (the whole process's: the dashboards' poller and streams included) in both cases; then
//! the CPU of one poll of the dashboards' poller on the last update: a poll that finds its
//! mark unchanged, and one that reads the counts (what every poll did before the mark).
//!
//! `cargo bench --bench console [-- --patients N] [--dashboards D] [--no-count]`
//!
//! Then, unless `--no-count`, it runs again twice under valgrind's callgrind: the two
//! broadcasts with 2,000 patients (instructions per delivery), and the polls with the full
//! number of patients (instructions per poll). It prints figures and asserts nothing:
//! timings depend on the machine.

/// The same allocator as the `tocsin` binary, so the figures are the binary's.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

mod common;

use anyhow::{bail, Result};
use chrono::NaiveDate;
use common::callgrind;
use common::measure::{cores, cpu_seconds, load_average, Stopwatch};
use common::{rate, thousands, Flags, Summary};
use std::path::Path;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};
use tocsin::app::{App, NewCredential};
use tocsin::author::DraftOptions;
use tocsin::config::Config;
use tocsin::demo::synthetic;
use tocsin::domain::{UpdateState, UserRole};
use tocsin::plan::plan;
use tocsin::web::Server;

const UPDATE: &str = r#"incident = "cyberattack-2026-01"
kind = "alert"
author = "Els Peeters"
audiences = ["patients"]
channels = ["email"]

[nl]
title = "Cyberaanval – geplande operaties gaan niet door"
body = "Alle geplande operaties van dinsdag gaan niet door. U hoort van ons wanneer u een nieuwe afspraak krijgt."
sms = "Cyberaanval: uw operatie gaat niet door."

[fr]
title = "Cyberattaque – les opérations prévues sont annulées"
body = "Toutes les opérations prévues mardi sont annulées. Nous vous recontacterons pour un nouveau rendez-vous."
sms = "Cyberattaque : votre opération est annulée."

[en]
title = "Cyberattack – planned operations are cancelled"
body = "All operations planned for Tuesday are cancelled. We will contact you for a new appointment."
sms = "Cyberattack: your operation is cancelled."
"#;

const PASSWORD: &str = "a long enough benchmark password";

// The counted phases.
const QUIET: &str = "dispatch, no dashboard";
const WATCHED: &str = "dispatch, dashboards open";
const MARK: &str = "a poll, nothing changed (its mark only)";
const READ: &str = "a poll that reads the counts (every poll before the mark)";

/// Patients in the counted broadcasts: valgrind runs ~50x slower.
const COUNTED_PATIENTS: &str = "2000";
/// Polls timed and counted, each kind.
const POLLS: u64 = 20;

struct Args {
    patients: usize,
    dashboards: usize,
    /// This process runs under callgrind: count the phases, print no summary.
    counted: bool,
    no_count: bool,
    /// Plan one update and time its polls only (the counted run of the polls).
    polls_only: bool,
}

fn main() -> Result<()> {
    let flags = Flags::read(&["--patients", "--dashboards"])?;
    let args = Args {
        patients: flags.number("--patients").unwrap_or(100_000),
        dashboards: flags.number("--dashboards").unwrap_or(20),
        counted: flags.counted,
        no_count: flags.no_count,
        polls_only: std::env::args().any(|arg| arg == "--polls-only"),
    };
    common::block_on(run(args))
}

/// What one broadcast measured.
struct Broadcast {
    id: i64,
    deliveries: u64,
    wall: Duration,
    cpu_us_per_delivery: f64,
    events: u64,
}

async fn run(args: Args) -> Result<()> {
    let (patients, dashboards) = (args.patients, args.dashboards);
    println!(
        "Tocsin console benchmark: {patients} patients, {dashboards} dashboards, {} cores, load \
         average {}",
        cores(),
        load_average()
    );
    let tmp = tempfile::tempdir()?;
    let mut config = Config {
        database_url: format!("sqlite://{}", tmp.path().join("bench.db").display()),
        ..Config::default()
    };
    config.email.dir = tmp.path().join("outbox/email");
    config.sms.dir = tmp.path().join("outbox/sms");
    config.telegram.dir = tmp.path().join("outbox/telegram");
    config.serve.bind = "127.0.0.1:0".into();
    let app = App::open(config.clone()).await?.allowing_placeholders();
    let days: Vec<NaiveDate> = [(2026, 1, 13), (2026, 1, 14)]
        .into_iter()
        .filter_map(|(y, m, d)| NaiveDate::from_ymd_opt(y, m, d))
        .collect();
    let day = synthetic::generate(patients, &days, 2026);
    app.store
        .import(&day.contacts, &day.appointments, "synthetic day", 0)
        .await?;
    drop(day);
    let mut summary = Summary::default();
    if args.polls_only {
        let (id, deliveries) = planned(&app, tmp.path(), "polls").await?;
        polls(&app, id, deliveries, &mut summary).await?;
        return Ok(());
    }
    let actor = tocsin::app::Actor::cli("bench");
    // Four eyes by account: an author's account writes, an approver's approves.
    for (name, role) in [("els", UserRole::Author), ("jan", UserRole::Approver)] {
        app.add_user(name, role, NewCredential::Password(PASSWORD.into()), &actor)
            .await?;
    }
    let (_, token) = app.sign_in("jan", PASSWORD, "bench").await?;
    let cookie = format!("__Host-tocsin-session={}", token.expose());

    let server = Server::bind(App::open(config).await?.allowing_placeholders()).await?;
    let base = format!("http://{}", server.address());
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let serving = tokio::spawn(server.run(async {
        let _ = stopped.await;
    }));

    let mut last = None;
    for (case, open, phase) in [
        ("no dashboard", 0, QUIET),
        ("dashboards", dashboards, WATCHED),
    ] {
        println!("\n[{case}: {open} open]");
        let broadcast = broadcast(&app, tmp.path(), &base, &cookie, open, case, phase).await?;
        let seconds = broadcast.wall.as_secs_f64();
        println!(
            "  {} deliveries in {seconds:.2} s: {} deliveries/s, {:.1} µs of CPU per delivery, \
             {} events received ({} per second over all dashboards)",
            thousands(broadcast.deliveries as f64),
            thousands(rate(broadcast.deliveries, broadcast.wall)),
            broadcast.cpu_us_per_delivery,
            broadcast.events,
            thousands(rate(broadcast.events, broadcast.wall))
        );
        summary.info(
            format!("dispatch with {open} dashboards"),
            format!(
                "{} deliveries/s",
                thousands(rate(broadcast.deliveries, broadcast.wall))
            ),
        );
        summary.info(
            format!("CPU per delivery, {open} dashboards"),
            format!("{:.1} µs", broadcast.cpu_us_per_delivery),
        );
        if open > 0 {
            summary.info(
                format!("SSE events received, {open} dashboards"),
                format!(
                    "{:.1} /s ({:.2} /s each)",
                    rate(broadcast.events, broadcast.wall),
                    rate(broadcast.events, broadcast.wall) / open as f64
                ),
            );
        }
        last = Some((broadcast.id, broadcast.deliveries));
    }
    let _ = stop.send(());
    let _ = serving.await;
    if args.counted {
        return Ok(());
    }
    if let Some((id, deliveries)) = last {
        polls(&app, id, deliveries, &mut summary).await?;
    }
    if !args.no_count {
        callgrind::count_into(
            &mut summary,
            &format!("{COUNTED_PATIENTS} patients"),
            &[("--patients", COUNTED_PATIENTS)],
            &[(QUIET, "delivery", false), (WATCHED, "delivery", false)],
            None,
        )?;
        let full = patients.to_string();
        callgrind::count_into(
            &mut summary,
            &format!("{full} patients (polls only, one update planned)"),
            &[("--patients", full.as_str()), ("--polls-only", "")],
            &[(MARK, "poll", false), (READ, "poll", false)],
            None,
        )?;
    }
    summary.print();
    Ok(())
}

/// Times (and counts, under callgrind) `POLLS` polls of each kind on update `id`: the mark
/// alone, as a poll that finds nothing changed, and the counts, as every poll read them
/// before the mark.
async fn polls(app: &App, id: i64, deliveries: u64, summary: &mut Summary) -> Result<()> {
    println!("\n[the poller on an update of {deliveries} deliveries]");
    let cpu = cpu_seconds();
    callgrind::start();
    for _ in 0..POLLS {
        app.progress_mark(id).await?;
    }
    callgrind::stop(MARK, POLLS);
    let mark_us = (cpu_seconds() - cpu) * 1e6 / POLLS as f64;
    let cpu = cpu_seconds();
    callgrind::start();
    for _ in 0..POLLS {
        app.progress(id).await?;
    }
    callgrind::stop(READ, POLLS);
    let read_us = (cpu_seconds() - cpu) * 1e6 / POLLS as f64;
    println!("  mark only: {mark_us:.0} µs of CPU per poll; counts read: {read_us:.0} µs");
    summary.info(
        format!("CPU per poll, nothing changed, {deliveries} deliveries"),
        format!("{mark_us:.0} µs"),
    );
    summary.info(
        format!("CPU per poll reading the counts, {deliveries} deliveries"),
        format!("{read_us:.0} µs"),
    );
    Ok(())
}

/// Drafts, approves and plans an update; its id and deliveries to send.
async fn planned(app: &App, dir: &Path, name: &str) -> Result<(i64, u64)> {
    let file = dir.join(format!("{}.toml", name.replace(' ', "-")));
    std::fs::write(&file, UPDATE)?;
    let id = app
        .draft(&file, Some("els"), DraftOptions::default())
        .await?
        .id;
    app.approve(id, "jan").await?;
    let update = app.store.update(id).await?;
    let report = plan(
        app.store.as_ref(),
        &app.renderer,
        &app.config,
        &update,
        app.clock.now_ms(),
    )
    .await?;
    Ok((id, report.pending))
}

/// Plans an update, opens `open` dashboards on it, marks it `sending` for `serve`'s
/// scheduler and measures from its first claim to its last delivery (counted as `phase`).
async fn broadcast(
    app: &App,
    dir: &Path,
    base: &str,
    cookie: &str,
    open: usize,
    name: &str,
    phase: &str,
) -> Result<Broadcast> {
    let (id, total) = planned(app, dir, name).await?;
    let events = Arc::new(AtomicU64::new(0));
    let client = reqwest::Client::new();
    let mut streams = Vec::new();
    for _ in 0..open {
        let response = client
            .get(format!("{base}/console/updates/{id}/events"))
            .header("cookie", cookie)
            .send()
            .await?;
        if !response.status().is_success() {
            bail!("the events answered {}", response.status());
        }
        let events = Arc::clone(&events);
        let (client, base, cookie) = (client.clone(), base.to_string(), cookie.to_string());
        streams.push(tokio::spawn(async move {
            let mut response = response;
            // A stream ends before the request timeout: the dashboard reconnects, as a
            // browser does.
            loop {
                while let Ok(Some(chunk)) = response.chunk().await {
                    let text = String::from_utf8_lossy(&chunk);
                    events.fetch_add(
                        text.matches("event: progress").count() as u64,
                        Ordering::Relaxed,
                    );
                }
                match client
                    .get(format!("{base}/console/updates/{id}/events"))
                    .header("cookie", &cookie)
                    .send()
                    .await
                {
                    Ok(next) => response = next,
                    Err(_) => return,
                }
            }
        }));
    }
    tokio::time::sleep(Duration::from_secs(1)).await;
    // Cheap reads only, so that the benchmark's own watching costs next to nothing: the
    // latest delivery event moves at the first claim; the state becomes `sent` at the end.
    let planned_mark = app.progress_mark(id).await?.last_delivery_event;
    app.store.set_update_state(id, UpdateState::Sending).await?;
    // The scheduler looks every 5 s: the clock starts at the first claim.
    let (started, watch) = loop {
        if app.progress_mark(id).await?.last_delivery_event > planned_mark {
            callgrind::start();
            break (Instant::now(), Stopwatch::start());
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    };
    let events_at_start = events.load(Ordering::Relaxed);
    while app.store.update_state(id).await? != UpdateState::Sent {
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let wall = started.elapsed();
    let lap = watch.stop();
    callgrind::stop(phase, total);
    let received = events.load(Ordering::Relaxed) - events_at_start;
    for stream in streams {
        stream.abort();
    }
    let open_left = app.store.backlog(id).await?.open;
    if open_left > 0 {
        bail!("update {id} is sent with {open_left} deliveries open");
    }
    Ok(Broadcast {
        id,
        deliveries: total,
        wall,
        cpu_us_per_delivery: lap.cpu_per_item(total),
        events: received,
    })
}
