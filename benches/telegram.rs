//! Telegram: personal messages to patients through the `Dispatcher` and `TelegramChannel`
//! that `tocsin update send` uses (teloxide, `[telegram] transport = "bot"`), against an
//! in-process emulated Bot API (`common/telegram.rs`).
//!
//! `cargo bench --bench telegram [-- --patients N] [--limited M] [--workers W]
//!  [--no-limited] [--no-count]`
//!
//! 1. Throughput with the limits lifted (`rate_per_second` 1,000,000, `per_chat_interval_ms`
//!    1, one chat per patient, N = 20,000 by default): messages/s and CPU per message, beside
//!    the emulator's own capacity.
//! 2. At Telegram's limits (30 messages/s overall, one per second per chat): M = 3,000
//!    personal messages (one chat in a hundred is shared by two patients, a family's phone,
//!    so that the per-chat interval is met too). It should take about M / 30 s (100 s), not
//!    more; it prints the wall time, the rate achieved, the most messages the emulator
//!    received in any one second and the least time between two messages to one chat.
//!    `--limited 300` is a 10-second smoke run; `--no-limited` skips it.
//! 3. Unless `--no-count`: the throughput run again under valgrind's callgrind with 5,000
//!    patients, for the instructions per message (figures that do not depend on the machine
//!    or its load).
//!
//! It prints figures and asserts nothing about time; it fails loudly if a message is lost.

/// The same allocator as the `tocsin` binary, so the figures are the binary's.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

mod common;

use anyhow::{bail, Result};
use chrono::NaiveDate;
use common::callgrind;
use common::http::{fire, Paths};
use common::measure::{cores, load_average, Stopwatch};
use common::sms_day::count_in_store;
use common::telegram::{limits_seen, sample_path, Emulator, TOKEN};
use common::{not_sent, rate, thousands, Flags, Summary};
use std::path::Path;
use std::sync::atomic::Ordering;
use std::time::Duration;
use tocsin::app::App;
use tocsin::author::DraftOptions;
use tocsin::channels::telegram::TelegramTransport;
use tocsin::config::Config;
use tocsin::demo::synthetic;
use tocsin::domain::{DeliveryState, Role, UpdateState};
use tocsin::plan::plan;

/// The environment variable the benchmark's `[telegram] token_env` names.
const TOKEN_ENV: &str = "TOCSIN_BENCH_TELEGRAM_TOKEN";

/// The shipped first alert; narrowed to patients, by Telegram.
const FIRST_ALERT: &str = include_str!("../examples/01-first-alert.toml");

/// Chat ids start here; patient `n` writes from `FIRST_CHAT + n`.
const FIRST_CHAT: i64 = 500_000_000;

// The counted phases.
const EMULATOR: &str = "the emulated Bot API with a raw client";
const DISPATCH: &str = "Telegram dispatch";

/// Patients in the run under callgrind: enough for steady figures, few enough for valgrind.
const COUNTED_PATIENTS: &str = "5000";

/// Telegram's limits, as `[telegram]` sets them by default.
const RATE: u32 = 30;
const PER_CHAT_MS: u64 = 1000;

struct Args {
    patients: usize,
    limited: usize,
    no_limited: bool,
    workers: Option<usize>,
    /// This process runs under callgrind: count the phases, print no summary.
    counted: bool,
    /// Skip the run under callgrind.
    no_count: bool,
}

impl Args {
    fn parse() -> Result<Args> {
        let flags = Flags::read(&["--patients", "--limited", "--workers"])?;
        Ok(Args {
            patients: flags.number("--patients").unwrap_or(20_000),
            limited: flags.number("--limited").unwrap_or(3_000),
            no_limited: std::env::args().any(|arg| arg == "--no-limited"),
            workers: flags.number("--workers"),
            counted: flags.counted,
            no_count: flags.no_count,
        })
    }
}

fn main() -> Result<()> {
    // Before any thread starts: the channel reads the token from the environment.
    std::env::set_var(TOKEN_ENV, TOKEN);
    common::block_on(run(Args::parse()?))
}

async fn run(args: Args) -> Result<()> {
    let mut summary = Summary::default();
    let n = args.patients;
    println!(
        "Tocsin Telegram benchmark: {n} patients, {} cores, load average {}",
        cores(),
        load_average()
    );
    let api = Emulator::start().await?;

    // ---- The emulator on its own --------------------------------------------------------
    println!("\n[1] the emulated Bot API on its own");
    let connections = 16;
    let sample = sample_path(
        FIRST_CHAT,
        "<b>Cyberaanval – operaties gaan niet door</b>\n\nBeste An Peeters,\n\nUw afspraak \
         van dinsdag 13 januari om 9.30 uur bij Cardiologie gaat niet door.",
    );
    let started = Stopwatch::start();
    let emulator_cpu = api.cpu_seconds();
    callgrind::start();
    let (answered, client_cpu) = fire(api.port, connections, Paths::Repeat(sample, n), 200).await?;
    callgrind::stop(EMULATOR, answered);
    let capacity = rate(answered, started.stop().wall);
    println!(
        "  {answered} sendMessage requests on {connections} keep-alive connections: {} \
         requests/s; the emulator's thread: {:.1} µs of CPU per request (the raw client's: \
         {:.1} µs)",
        thousands(capacity),
        (api.cpu_seconds() - emulator_cpu) * 1e6 / answered.max(1) as f64,
        client_cpu * 1e6 / answered.max(1) as f64,
    );
    summary.info(
        "emulated Bot API's own capacity",
        format!("{} requests/s", thousands(capacity)),
    );

    // ---- Throughput, the limits lifted --------------------------------------------------
    println!(
        "\n[2] dispatch with the limits lifted: Dispatcher + TelegramChannel (teloxide), one \
         chat per patient"
    );
    let tmp = tempfile::tempdir()?;
    let config = config(tmp.path(), &api, 1_000_000, 1, args.workers);
    let app = App::open(config).await?.allowing_placeholders();
    import_patients(&app, n, |p| FIRST_CHAT + p as i64).await?;
    let update = planned_update(&app, tmp.path(), n).await?;
    api.reset();
    let dispatcher = app.dispatcher()?;
    let tally = dispatcher.tally();
    let started = Stopwatch::start();
    let emulator_cpu = api.cpu_seconds();
    callgrind::start();
    dispatcher.run(update).await?;
    callgrind::stop(DISPATCH, n as u64);
    let lap = started.stop();
    let emulator_cpu = api.cpu_seconds() - emulator_cpu;
    let tocsin_cpu = lap.cpu - emulator_cpu;
    let sent = tally.sent.load(Ordering::Relaxed);
    let received = api.requests();
    let throughput = rate(sent, lap.wall);
    println!(
        "  settings: dispatch.workers {}, claim_batch {}",
        app.config.dispatch.workers, app.config.dispatch.claim_batch
    );
    println!(
        "  {sent} messages sent ({}) in {:.2} s: {} messages/s",
        not_sent(&tally),
        lap.wall.as_secs_f64(),
        thousands(throughput)
    );
    println!("  whole process: {}", lap.note(n as u64));
    println!(
        "  CPU per message: Tocsin {:.1} µs, the emulator's thread {:.1} µs",
        tocsin_cpu * 1e6 / n as f64,
        emulator_cpu * 1e6 / n as f64
    );
    let sent_rows = count_in_store(app.store.as_ref(), update, DeliveryState::Sent).await?;
    if sent != n as u64 || received != n as u64 || sent_rows != n as u64 {
        bail!("{n} messages planned, {sent} sent, {received} received, {sent_rows} `sent` rows");
    }
    summary.info(
        format!(
            "Telegram dispatch, limits lifted ({n} messages, {} workers)",
            app.config.dispatch.workers
        ),
        format!("{} messages/s", thousands(throughput)),
    );
    summary.info(
        "Telegram dispatch, Tocsin's CPU per message",
        format!("{:.0} µs", tocsin_cpu * 1e6 / n as f64),
    );
    summary.info(
        "Telegram dispatch, time of the emulator's exchanges",
        format!("{:.1} per message", capacity / throughput.max(1e-9)),
    );
    drop(app);
    if args.counted {
        return Ok(());
    }

    // ---- At Telegram's limits -----------------------------------------------------------
    if !args.no_limited {
        limited(&api, args.limited, args.workers, &mut summary).await?;
    }

    if !args.no_count {
        callgrind::count_into(
            &mut summary,
            &format!("{COUNTED_PATIENTS} patients"),
            &[("--patients", COUNTED_PATIENTS)],
            &[(EMULATOR, "request", false), (DISPATCH, "message", true)],
            Some((EMULATOR, "the emulator's")),
        )?;
    }
    summary.print();
    Ok(())
}

/// `m` personal messages at 30/s overall and one per second per chat.
async fn limited(
    api: &Emulator,
    m: usize,
    workers: Option<usize>,
    summary: &mut Summary,
) -> Result<()> {
    println!(
        "\n[3] {m} personal messages at Telegram's limits ({RATE}/s overall, one per \
         {PER_CHAT_MS} ms per chat): should take about {:.0} s",
        m as f64 / f64::from(RATE)
    );
    let tmp = tempfile::tempdir()?;
    let app = App::open(config(tmp.path(), api, RATE, PER_CHAT_MS, workers))
        .await?
        .allowing_placeholders();
    // Patients 100k and 100k + 1 share a chat.
    let chat = |p: usize| FIRST_CHAT + (if p % 100 == 1 { p - 1 } else { p }) as i64;
    import_patients(&app, m, chat).await?;
    let chats = (0..m)
        .map(chat)
        .collect::<std::collections::HashSet<_>>()
        .len();
    let update = planned_update(&app, tmp.path(), m).await?;
    api.reset();
    let dispatcher = app.dispatcher()?;
    let tally = dispatcher.tally();
    let started = Stopwatch::start();
    dispatcher.run(update).await?;
    let lap = started.stop();
    let sent = tally.sent.load(Ordering::Relaxed);
    let arrivals = api.take();
    if sent != m as u64 || arrivals.len() != m {
        bail!(
            "{m} messages planned, {sent} sent ({}), {} received",
            not_sent(&tally),
            arrivals.len()
        );
    }
    let (busiest, least_gap) = limits_seen(&arrivals);
    let first = arrivals.iter().map(|(_, at)| *at).min();
    let last = arrivals.iter().map(|(_, at)| *at).max();
    let span = match (first, last) {
        (Some(first), Some(last)) => last - first,
        _ => Duration::ZERO,
    };
    let achieved = (m.saturating_sub(1)) as f64 / span.as_secs_f64().max(1e-9);
    let least_gap = least_gap.map_or("none (no chat got two)".to_string(), |gap| {
        format!("{} ms", gap.as_millis())
    });
    println!(
        "  {m} messages to {chats} chats in {:.1} s: {achieved:.2} messages/s from the first \
         arrival to the last; busiest second at the emulator: {busiest}; least gap between two \
         messages to one chat: {least_gap}",
        lap.wall.as_secs_f64()
    );
    println!("  whole process: {}", lap.note(m as u64));
    summary.info(
        format!("{m} messages at {RATE}/s and 1 per chat per second: wall time"),
        format!(
            "{:.1} s (ideal {:.1} s)",
            lap.wall.as_secs_f64(),
            (m - 1) as f64 / f64::from(RATE)
        ),
    );
    summary.info(
        "  achieved rate at the emulator",
        format!("{achieved:.2} messages/s"),
    );
    summary.info(
        "  most messages in any one second at the emulator",
        busiest.to_string(),
    );
    summary.info("  least gap between two messages to one chat", least_gap);
    Ok(())
}

/// A configuration with its database in `dir` and Telegram through the emulated Bot API at
/// these limits.
fn config(
    dir: &Path,
    api: &Emulator,
    rate_per_second: u32,
    per_chat_interval_ms: u64,
    workers: Option<usize>,
) -> Config {
    let mut config = Config {
        database_url: format!("sqlite://{}", dir.join("bench.db").display()),
        ..Config::default()
    };
    config.email.dir = dir.join("outbox/email");
    config.sms.dir = dir.join("outbox/sms");
    config.telegram.dir = dir.join("outbox/telegram");
    config.telegram.transport = TelegramTransport::Bot;
    config.telegram.api_url = api.url();
    config.telegram.token_env = TOKEN_ENV.into();
    config.telegram.rate_per_second = rate_per_second;
    config.telegram.per_chat_interval_ms = per_chat_interval_ms;
    if let Some(workers) = workers {
        config.dispatch.workers = workers;
    }
    config
}

/// `n` synthetic patients with appointments on 13 and 14 January 2026, patient `p` in
/// `chat(p)`, reachable on Telegram only.
async fn import_patients(app: &App, n: usize, chat: impl Fn(usize) -> i64) -> Result<()> {
    let days: Vec<NaiveDate> = [(2026, 1, 13), (2026, 1, 14)]
        .into_iter()
        .filter_map(|(y, m, d)| NaiveDate::from_ymd_opt(y, m, d))
        .collect();
    let mut day = synthetic::generate(n, &days, 2026);
    let mut p = 0;
    for contact in day.contacts.iter_mut() {
        contact.mobile = None;
        contact.email = None;
        if contact.role == Role::Patient {
            contact.telegram_chat_id = Some(chat(p).to_string());
            p += 1;
        }
    }
    if p != n {
        bail!("the synthetic day has {p} patients, not {n}");
    }
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

/// The shipped first alert for patients by Telegram only, approved and planned: `n`
/// messages, the update `sending`.
async fn planned_update(app: &App, dir: &Path, n: usize) -> Result<i64> {
    let mut source = String::with_capacity(FIRST_ALERT.len());
    for line in FIRST_ALERT.lines() {
        if line.starts_with("audiences =") {
            source.push_str("audiences = [\"patients\"]");
        } else if line.starts_with("channels =") {
            source.push_str("channels = [\"telegram\"]");
        } else {
            source.push_str(line);
        }
        source.push('\n');
    }
    let file = dir.join("telegram.toml");
    std::fs::write(&file, source)?;
    let id = app.draft(&file, None, DraftOptions::default()).await?.id;
    app.approve(id, "Dr. Jan Claes").await?;
    let report = plan(
        app.store.as_ref(),
        &app.renderer,
        &app.config,
        &app.store.update(id).await?,
        app.clock.now_ms(),
    )
    .await?;
    if report.pending != n as u64 {
        bail!("expected {n} Telegram messages, planned {}", report.pending);
    }
    app.store.set_update_state(id, UpdateState::Sending).await?;
    Ok(id)
}
