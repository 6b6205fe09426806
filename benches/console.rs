//! The console's dashboards during a broadcast: a 100,000-patient e-mail broadcast to the
//! file outbox, sent by `tocsin serve`'s own scheduler, first with no dashboard open, then
//! with 20 dashboards following its Server-Sent Events. Prints the events per second the
//! dashboards received, and the dispatcher's deliveries per second and CPU per delivery
//! (the whole process's: the dashboards' poller and streams included) in both cases.
//!
//! `cargo bench --bench console [-- --patients N] [--dashboards D]`
//!
//! It prints figures and asserts nothing: timings depend on the machine.

/// The same allocator as the `tocsin` binary, so the figures are the binary's.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

mod common;

use anyhow::{bail, Result};
use chrono::NaiveDate;
use common::measure::{cores, load_average, Stopwatch};
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

fn main() -> Result<()> {
    let flags = Flags::read(&["--patients", "--dashboards"])?;
    let patients = flags.number("--patients").unwrap_or(100_000);
    let dashboards = flags.number("--dashboards").unwrap_or(20);
    common::block_on(run(patients, dashboards))
}

/// What one broadcast measured.
struct Broadcast {
    deliveries: u64,
    wall: Duration,
    cpu_us_per_delivery: f64,
    events: u64,
}

async fn run(patients: usize, dashboards: usize) -> Result<()> {
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

    let mut summary = Summary::default();
    for (case, open) in [("no dashboard", 0), ("dashboards", dashboards)] {
        println!("\n[{case}: {open} open]");
        let broadcast = broadcast(&app, tmp.path(), &base, &cookie, open, case).await?;
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
    }
    summary.print();
    let _ = stop.send(());
    let _ = serving.await;
    Ok(())
}

/// Drafts, approves and plans an update, opens `open` dashboards on it, marks it `sending`
/// for `serve`'s scheduler and measures from its first delivery to its last.
async fn broadcast(
    app: &App,
    dir: &Path,
    base: &str,
    cookie: &str,
    open: usize,
    name: &str,
) -> Result<Broadcast> {
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
    app.store.set_update_state(id, UpdateState::Sending).await?;
    // The scheduler looks every 5 s: the clock starts at the first delivery that left.
    let total = report.pending;
    let (started, watch) = loop {
        let progress = app.progress(id).await?;
        if progress.settled() > 0 {
            break (Instant::now(), Stopwatch::start());
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    };
    let events_at_start = events.load(Ordering::Relaxed);
    loop {
        let progress = app.progress(id).await?;
        if progress.state == UpdateState::Sent && progress.open == 0 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let wall = started.elapsed();
    let lap = watch.stop();
    let received = events.load(Ordering::Relaxed) - events_at_start;
    for stream in streams {
        stream.abort();
    }
    Ok(Broadcast {
        deliveries: total,
        wall,
        cpu_us_per_delivery: lap.cpu_per_item(total),
        events: received,
    })
}
