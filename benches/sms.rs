//! SMS throughput against issue 4's targets: an update to every patient dispatched by SMS to
//! an in-process emulated Kannel (the `Dispatcher` and `SmsChannel` that `tocsin update send`
//! uses), then every message's delivery reports sent back, as Kannel sends them, to
//! `tocsin serve`'s receipt endpoint from many keep-alive HTTP connections.
//!
//! `cargo bench --bench sms [-- --patients N] [--workers W] [--claim-batch B]
//!  [--clients C] [--reports 1|2] [--emulator-connections K] [--no-count]`
//!
//! `--reports 2` (the default) sends two reports per message, as Kannel does with
//! `dlr-mask=31`: SMSC accepted (type 8), then delivered (type 1). It prints figures and
//! asserts nothing about time; it fails loudly if a message or a receipt is lost.
//!
//! Then it runs again under valgrind's callgrind with 10,000 patients (unless `--no-count`)
//! and prints the instructions per item of the emulator's capacity test, the dispatch and
//! the receipts: figures that do not depend on the machine or its load.

/// The same allocator as the `tocsin` binary, so the figures are the binary's.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

mod common;

use anyhow::{bail, Result};
use common::callgrind;
use common::http::{fire, Paths};
use common::kannel::{Emulator, PASSWORD, USERNAME};
use common::measure::{cores, load_average, print_memory, Stopwatch};
use common::sms_day::{
    self, callbacks, count_in_store, distinct_deliveries, draft_sms_update, free_port, wait_for,
    RECEIPT_SECRET,
};
use common::{not_sent, rate, thousands, Flags, Summary};
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::Instant;
use tocsin::app::App;
use tocsin::channels::sms::kannel;
use tocsin::domain::{DeliveryState, UpdateState};
use tocsin::plan::plan;

const DISPATCH_TARGET: f64 = 20_000.0;
const RECEIPT_TARGET: f64 = 10_000.0;

// The counted phases.
const EMULATOR: &str = "the emulated Kannel with a raw client";
const DISPATCH: &str = "SMS dispatch";
const RECEIPTS: &str = "receipts";

/// Patients in the run under callgrind: enough for steady figures, few enough for valgrind.
const COUNTED_PATIENTS: &str = "10000";

struct Args {
    patients: usize,
    workers: Option<usize>,
    claim_batch: Option<u32>,
    clients: usize,
    reports: usize,
    emulator_connections: usize,
    /// This process runs under callgrind: count the phases, print no summary.
    counted: bool,
    /// Skip the run under callgrind.
    no_count: bool,
}

impl Args {
    fn parse() -> Result<Args> {
        let flags = Flags::read(&[
            "--patients",
            "--workers",
            "--claim-batch",
            "--clients",
            "--reports",
            "--emulator-connections",
        ])?;
        let reports = flags.number("--reports").unwrap_or(2);
        if reports > 2 {
            bail!("--reports is 1 (delivered) or 2 (accepted, delivered)");
        }
        Ok(Args {
            patients: flags.number("--patients").unwrap_or(100_000),
            workers: flags.number("--workers"),
            claim_batch: flags
                .number("--claim-batch")
                .map(u32::try_from)
                .transpose()?,
            clients: flags.number("--clients").unwrap_or(64),
            reports,
            emulator_connections: flags.number("--emulator-connections").unwrap_or(16),
            counted: flags.counted,
            no_count: flags.no_count,
        })
    }
}

fn main() -> Result<()> {
    common::block_on(run(Args::parse()?))
}

// ---------------------------------------------------------------------------------------------
// The run

async fn run(args: Args) -> Result<()> {
    let mut summary = Summary::default();
    let n = args.patients;
    println!(
        "Tocsin SMS benchmark: {n} patients, {} cores, load average {}",
        cores(),
        load_average()
    );

    // The emulated gateway, and a port for `tocsin serve`, before the configuration that
    // names them.
    let gateway = Emulator::start().await?;
    let serve_port = free_port()?;
    let tmp = tempfile::tempdir()?;
    let mut config = sms_day::config(tmp.path(), &gateway, serve_port);
    if let Some(workers) = args.workers {
        config.dispatch.workers = workers;
    }
    if let Some(batch) = args.claim_batch {
        config.dispatch.claim_batch = batch;
    }
    // Synthetic patients and an emulated gateway: the example hospital details, as in the
    // demo, keep the messages the size they were measured at.
    let app = App::open(config).await?.allowing_placeholders();

    // ---- Patients and the update --------------------------------------------------------
    println!("\n[1] {n} patients with a mobile number, an SMS update to all of them");
    sms_day::import_patients(&app, n).await?;
    let update = draft_sms_update(&app, tmp.path()).await?;
    let started = Instant::now();
    let report = plan(
        app.store.as_ref(),
        &app.renderer,
        &app.config,
        &app.store.update(update).await?,
        app.clock.now_ms(),
    )
    .await?;
    println!(
        "  planned and rendered {} SMS ({} skipped) in {:.2} s",
        report.pending,
        report.skipped,
        started.elapsed().as_secs_f64()
    );
    if report.pending != n as u64 {
        bail!("expected {n} SMS to send, planned {}", report.pending);
    }
    print_memory("plan");

    // ---- The emulator on its own --------------------------------------------------------
    println!("\n[2] the emulated Kannel on its own");
    let k = args.emulator_connections;
    let sample = sample_sendsms(serve_port);
    let started = Stopwatch::start();
    let emulator_cpu = gateway.cpu_seconds();
    callgrind::start();
    let (answered, client_cpu) = fire(gateway.port, k, Paths::Repeat(sample, n), 202).await?;
    callgrind::stop(EMULATOR, answered);
    let capacity = rate(answered, started.stop().wall);
    println!(
        "  {answered} sendsms requests on {k} keep-alive connections: {} requests/s; \
         the emulator's thread: {:.1} µs of CPU per request (the raw client's: {:.1} µs)",
        thousands(capacity),
        (gateway.cpu_seconds() - emulator_cpu) * 1e6 / answered.max(1) as f64,
        client_cpu * 1e6 / answered.max(1) as f64,
    );
    summary.at_least(
        "emulated Kannel's own capacity",
        capacity,
        "requests/s",
        DISPATCH_TARGET * 2.0,
    );
    gateway.reset();

    // ---- Dispatch -----------------------------------------------------------------------
    println!("\n[3] dispatch: Dispatcher + SmsChannel + Kannel gateway, as `update send` runs");
    let dispatcher = app.dispatcher()?;
    let tally = dispatcher.tally();
    app.store
        .set_update_state(update, UpdateState::Sending)
        .await?;
    let started = Stopwatch::start();
    let emulator_cpu = gateway.cpu_seconds();
    callgrind::start();
    dispatcher.run(update).await?;
    callgrind::stop(DISPATCH, n as u64);
    let lap = started.stop();
    let elapsed = lap.wall;
    let emulator_cpu = gateway.cpu_seconds() - emulator_cpu;
    let tocsin_cpu = lap.cpu - emulator_cpu;
    app.store
        .set_update_state(update, UpdateState::Sent)
        .await?;
    let sent = tally.sent.load(Ordering::Relaxed);
    let received = gateway.requests.load(Ordering::Relaxed);
    let dlr_urls = gateway.take();
    let distinct = distinct_deliveries(&dlr_urls)?;
    println!(
        "  settings: dispatch.workers {}, claim_batch {}, SMS timeout {} s",
        app.config.dispatch.workers,
        app.config.dispatch.claim_batch,
        app.config.sms.timeout_seconds
    );
    let dispatch_rate = rate(sent, elapsed);
    println!(
        "  {sent} SMS sent ({}) in {:.2} s: {} messages/s",
        not_sent(&tally),
        elapsed.as_secs_f64(),
        thousands(dispatch_rate)
    );
    println!("  the emulator received {received} requests for {distinct} distinct deliveries");
    println!("  whole process: {}", lap.note(n as u64));
    println!(
        "  CPU per message: Tocsin {:.1} µs, the emulator's thread {:.1} µs",
        tocsin_cpu * 1e6 / n as f64,
        emulator_cpu * 1e6 / n as f64
    );
    let peak_dispatch = print_memory("dispatch");
    if sent != n as u64 || received != n as u64 || distinct != n {
        bail!("{n} SMS planned, {sent} sent, {received} received, {distinct} distinct");
    }
    let sent_rows = count_in(&app, update, DeliveryState::Sent).await?;
    if sent_rows != n as u64 {
        bail!("{n} SMS sent, but {sent_rows} deliveries are `sent` in the database");
    }
    summary.at_least(
        format!(
            "SMS dispatch ({n} messages, {} workers)",
            app.config.dispatch.workers
        ),
        dispatch_rate,
        "messages/s",
        DISPATCH_TARGET,
    );
    summary.info(
        "SMS dispatch, Tocsin's CPU per message",
        format!("{:.0} µs", tocsin_cpu * 1e6 / n as f64),
    );
    summary.info(
        "SMS dispatch, time of the emulator's exchanges",
        format!("{:.1} per SMS", capacity / dispatch_rate.max(1e-9)),
    );

    // ---- Receipts -----------------------------------------------------------------------
    let reports = args.reports;
    let total = (n * reports) as u64;
    println!(
        "\n[4] receipts: {total} Kannel DLRs ({reports} per message) through `tocsin serve`, \
         {} keep-alive connections",
        args.clients
    );
    let store = Arc::clone(&app.store);
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let server = tokio::spawn(tocsin::web::serve(app, async {
        let _ = stopped.await;
    }));
    wait_for(serve_port).await?;
    let paths = callbacks(&dlr_urls, serve_port, reports)?;
    drop(dlr_urls);
    let started = Stopwatch::start();
    callgrind::start();
    let (answered, client_cpu) = fire(serve_port, args.clients, Paths::List(paths), 200).await?;
    callgrind::stop(RECEIPTS, answered);
    let lap = started.stop();
    let elapsed = lap.wall;
    let tocsin_cpu = lap.cpu - client_cpu;
    let _ = stop.send(());
    server.await??;
    let receipt_rate = rate(answered, elapsed);
    println!(
        "  {answered} receipts answered 200 in {:.2} s: {} receipts/s",
        elapsed.as_secs_f64(),
        thousands(receipt_rate)
    );
    println!("  whole process: {}", lap.note(answered));
    println!(
        "  CPU per receipt: tocsin serve {:.1} µs, the clients' thread {:.1} µs",
        tocsin_cpu * 1e6 / answered.max(1) as f64,
        client_cpu * 1e6 / answered.max(1) as f64
    );
    let peak_receipts = print_memory("receipts");
    let delivered = count_in_store(store.as_ref(), update, DeliveryState::Delivered).await?;
    println!("  deliveries `delivered` in the database: {delivered} of {n}");
    if delivered != n as u64 {
        bail!("{n} messages reported delivered, {delivered} deliveries `delivered`");
    }
    summary.at_least(
        format!(
            "receipts through tocsin serve ({total}, {} conns)",
            args.clients
        ),
        receipt_rate,
        "receipts/s",
        RECEIPT_TARGET,
    );
    summary.info(
        "receipts, tocsin serve's CPU per receipt",
        format!("{:.0} µs", tocsin_cpu * 1e6 / answered.max(1) as f64),
    );
    summary.info(
        "receipts, time of the emulator's exchanges",
        format!("{:.1} per receipt", capacity / receipt_rate.max(1e-9)),
    );
    summary.info(
        "peak RSS (VmHWM) after dispatch / receipts",
        format!("{peak_dispatch:.0} / {peak_receipts:.0} MB"),
    );
    if args.counted {
        return Ok(());
    }
    if !args.no_count {
        callgrind::count_into(
            &mut summary,
            &format!("{COUNTED_PATIENTS} patients"),
            &[("--patients", COUNTED_PATIENTS)],
            &[
                (EMULATOR, "request", false),
                (DISPATCH, "SMS", true),
                (RECEIPTS, "receipt", true),
            ],
            Some((EMULATOR, "the emulator's")),
        )?;
    }
    summary.print();
    Ok(())
}

async fn count_in(app: &App, update: i64, state: DeliveryState) -> Result<u64> {
    count_in_store(app.store.as_ref(), update, state).await
}

/// A sendsms request as `Kannel` makes it, for the emulator's capacity test.
fn sample_sendsms(serve_port: u16) -> String {
    let dlr = kannel::signed_dlr_url(
        &format!("http://127.0.0.1:{serve_port}/receipts/kannel"),
        123_456,
        RECEIPT_SECRET,
    );
    let query = url::form_urlencoded::Serializer::new(String::new())
        .append_pair("username", USERNAME)
        .append_pair("password", PASSWORD)
        .append_pair("to", "+32471123456")
        .append_pair("from", "ZNA")
        .append_pair(
            "text",
            "ZNA: Cyberaanval: uw afspraak van dinsdag 13 januari 2026 om 09:30 bij \
             Cardiologie (campus Deurne) gaat niet door.",
        )
        .append_pair("charset", "UTF-8")
        .append_pair("coding", "0")
        .append_pair("dlr-mask", "31")
        .append_pair("dlr-url", &dlr)
        .finish();
    format!("/cgi-bin/sendsms?{query}")
}
