//! The press room under load (issue 11): when the hospital's website is down everyone refreshes
//! the press page. `wrk` with 256 connections asks `tocsin serve` for the public timeline and
//! for the Atom feed, each alone, then for the timeline while Kannel's delivery reports of an
//! SMS broadcast come in, which must still be taken at 10,000 or more a second.
//!
//! `cargo bench --bench press [-- --patients N] [--connections C] [--seconds S]
//!  [--clients K] [--no-count]`
//!
//! It prints figures and asserts nothing about time; it fails loudly if a page is not served
//! or a receipt is lost. `wrk` (Debian's package) is required. Then it runs again under
//! valgrind's callgrind (unless `--no-count`) and prints the instructions per request for the
//! page and the feed, asked by an in-process client: figures that do not depend on the
//! machine or its load.

/// The same allocator as the `tocsin` binary, so the figures are the binary's.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

mod common;

use anyhow::{bail, Context, Result};
use common::callgrind;
use common::http::{fire, Paths};
use common::kannel::Emulator;
use common::measure::{cores, load_average, print_memory, Stopwatch};
use common::sms_day::{self, callbacks, count_in_store, draft_sms_update, free_port, wait_for};
use common::{rate, thousands, Flags, Summary};
use std::process::Stdio;
use std::sync::Arc;
use std::time::Duration;
use tocsin::app::App;
use tocsin::domain::{DeliveryState, UpdateState};
use tocsin::plan::plan;

const PAGE_TARGET: f64 = 20_000.0;
const RECEIPT_TARGET: f64 = 10_000.0;

const PAGE: &str = "/nl/index.html";
const FEED: &str = "/nl/atom.xml";

// The counted phases.
const COUNTED_PAGE: &str = "the public timeline";
const COUNTED_FEED: &str = "the Atom feed";

/// Requests per counted phase: enough for steady figures, few enough for valgrind.
const COUNTED_REQUESTS: usize = 5_000;

struct Args {
    patients: usize,
    connections: usize,
    seconds: u64,
    clients: usize,
    counted: bool,
    no_count: bool,
}

impl Args {
    fn parse() -> Result<Args> {
        let flags = Flags::read(&["--patients", "--connections", "--seconds", "--clients"])?;
        Ok(Args {
            patients: flags.number("--patients").unwrap_or(50_000),
            connections: flags.number("--connections").unwrap_or(256),
            seconds: u64::try_from(flags.number("--seconds").unwrap_or(10))?,
            clients: flags.number("--clients").unwrap_or(64),
            counted: flags.counted,
            no_count: flags.no_count,
        })
    }
}

fn main() -> Result<()> {
    common::block_on(run(Args::parse()?))
}

async fn run(args: Args) -> Result<()> {
    let mut summary = Summary::default();
    let n = if args.counted { 1_000 } else { args.patients };
    println!(
        "Tocsin press room benchmark: {n} patients, wrk with {} connections, {} cores, load \
         average {}",
        args.connections,
        cores(),
        load_average()
    );
    if !args.counted && !wrk_is_installed() {
        bail!("wrk is not installed (apt-get install wrk): it is the load generator here");
    }

    // ---- An SMS broadcast whose reports will come in ------------------------------------
    println!("\n[1] {n} patients, the first alert to each by SMS through an emulated Kannel");
    let gateway = Emulator::start().await?;
    let serve_port = free_port()?;
    let tmp = tempfile::tempdir()?;
    let config = sms_day::config(tmp.path(), &gateway, serve_port);
    // Synthetic patients and an emulated gateway: the example hospital details, as in the demo.
    let app = App::open(config).await?.allowing_placeholders();
    sms_day::import_patients(&app, n).await?;
    let update = draft_sms_update(&app, tmp.path()).await?;
    plan(
        app.store.as_ref(),
        &app.renderer,
        &app.config,
        &app.store.update(update).await?,
        app.clock.now_ms(),
    )
    .await?;
    app.store
        .set_update_state(update, UpdateState::Sending)
        .await?;
    gateway.reset();
    app.dispatcher()?.run(update).await?;
    app.store
        .set_update_state(update, UpdateState::Sent)
        .await?;
    let dlr_urls = gateway.take();
    if dlr_urls.len() != n {
        bail!(
            "{n} SMS planned, the emulated Kannel received {}",
            dlr_urls.len()
        );
    }
    // Kannel's two reports per message: accepted by the SMSC (type 8), then delivered (type 1).
    let reports = callbacks(&dlr_urls, serve_port, 2)?;
    drop(dlr_urls);
    let (accepted, delivered) = reports.split_at(n);
    let (accepted, delivered) = (accepted.to_vec(), delivered.to_vec());
    drop(reports);

    // ---- tocsin serve -------------------------------------------------------------------
    let store = Arc::clone(&app.store);
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let server = tokio::spawn(tocsin::web::serve(app, async {
        let _ = stopped.await;
    }));
    wait_for(serve_port).await?;
    wait_for_press_room(serve_port).await?;

    if args.counted {
        for (phase, path) in [(COUNTED_PAGE, PAGE), (COUNTED_FEED, FEED)] {
            callgrind::start();
            let (answered, _) = fire(
                serve_port,
                32,
                Paths::Repeat(path.to_string(), COUNTED_REQUESTS),
                200,
            )
            .await?;
            callgrind::stop(phase, answered);
        }
        let _ = stop.send(());
        server.await??;
        return Ok(());
    }

    // ---- The page and the feed, each alone ----------------------------------------------
    let url = |path: &str| format!("http://127.0.0.1:{serve_port}{path}");
    for (step, what, path) in [(2, "public timeline", PAGE), (3, "Atom feed", FEED)] {
        println!(
            "\n[{step}] the {what} ({path}) alone: wrk, {} connections, {} s",
            args.connections, args.seconds
        );
        let started = Stopwatch::start();
        let load = wrk(&url(path), args.connections, Some(args.seconds), None).await?;
        let lap = started.stop();
        load.print(&lap);
        summary.at_least(
            format!("{what}, {} conns (p99 {})", args.connections, load.p99),
            load.rate,
            "requests/s",
            PAGE_TARGET,
        );
        summary.info(
            format!("{what}, tocsin serve's CPU per request"),
            format!("{:.1} µs", lap.cpu_per_item(load.requests)),
        );
    }

    // ---- Receipts alone, then under the page's load --------------------------------------
    println!(
        "\n[4] {n} Kannel reports (SMSC accepted) alone, {} keep-alive connections",
        args.clients
    );
    let started = Stopwatch::start();
    let (answered, client_cpu) = fire(serve_port, args.clients, Paths::List(accepted), 200).await?;
    let lap = started.stop();
    let alone = rate(answered, lap.wall);
    println!(
        "  {answered} receipts in {:.2} s: {} receipts/s; tocsin serve's CPU per receipt {:.1} µs",
        lap.wall.as_secs_f64(),
        thousands(alone),
        (lap.cpu - client_cpu) * 1e6 / answered.max(1) as f64
    );
    summary.info("receipts alone", format!("{} receipts/s", thousands(alone)));

    println!(
        "\n[5] {n} Kannel reports (delivered) while wrk asks for the timeline on {} connections",
        args.connections
    );
    let (interrupt, interrupted) = tokio::sync::oneshot::channel::<()>();
    let page_load = tokio::spawn({
        let url = url(PAGE);
        let connections = args.connections;
        async move { wrk(&url, connections, None, Some(interrupted)).await }
    });
    // wrk's threads and connections up before the receipts start.
    tokio::time::sleep(Duration::from_secs(1)).await;
    let started = Stopwatch::start();
    let (answered, _) = fire(serve_port, args.clients, Paths::List(delivered), 200).await?;
    let lap = started.stop();
    let _ = interrupt.send(());
    let load = page_load.await??;
    let under_load = rate(answered, lap.wall);
    println!(
        "  {answered} receipts in {:.2} s: {} receipts/s",
        lap.wall.as_secs_f64(),
        thousands(under_load)
    );
    println!("  beside them, the timeline:");
    load.print_rates();
    summary.at_least(
        format!(
            "receipts while the timeline is asked ({} conns)",
            args.clients
        ),
        under_load,
        "receipts/s",
        RECEIPT_TARGET,
    );
    summary.info(
        "the timeline meanwhile",
        format!("{} requests/s, p99 {}", thousands(load.rate), load.p99),
    );
    let peak = print_memory("press room and receipts");
    summary.info("peak RSS (VmHWM)", format!("{peak:.0} MB"));
    let _ = stop.send(());
    server.await??;
    let delivered = count_in_store(store.as_ref(), update, DeliveryState::Delivered).await?;
    println!("  deliveries `delivered` in the database: {delivered} of {n}");
    if delivered != n as u64 {
        bail!("{n} messages reported delivered, {delivered} deliveries `delivered`");
    }

    if !args.no_count {
        callgrind::count_into(
            &mut summary,
            &format!("{COUNTED_REQUESTS} requests each"),
            &[],
            &[
                (COUNTED_PAGE, "request", false),
                (COUNTED_FEED, "request", false),
            ],
            None,
        )?;
    }
    summary.print();
    Ok(())
}

/// The press room is built from the store a moment after `serve` starts.
async fn wait_for_press_room(port: u16) -> Result<()> {
    for _ in 0..100 {
        let answered = fire(port, 1, Paths::Repeat(PAGE.to_string(), 1), 200).await;
        if answered.is_ok() {
            return Ok(());
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    bail!("tocsin serve does not answer {PAGE} with 200")
}

fn wrk_is_installed() -> bool {
    std::process::Command::new("wrk")
        .arg("--version")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok()
}

/// What wrk measured.
struct Load {
    requests: u64,
    rate: f64,
    p99: String,
    errors: String,
}

impl Load {
    fn print(&self, lap: &common::measure::Lap) {
        self.print_rates();
        println!("  tocsin serve (this process): {}", lap.note(self.requests));
    }

    fn print_rates(&self) {
        println!(
            "  {} requests: {} requests/s, latency p99 {}{}",
            thousands(self.requests as f64),
            thousands(self.rate),
            self.p99,
            self.errors
        );
    }
}

/// Runs wrk (two threads, as many as cores) against `url` for `seconds`, or until
/// `interrupt` fires (wrk prints its figures when interrupted).
async fn wrk(
    url: &str,
    connections: usize,
    seconds: Option<u64>,
    interrupt: Option<tokio::sync::oneshot::Receiver<()>>,
) -> Result<Load> {
    let duration = seconds.unwrap_or(600);
    let child = tokio::process::Command::new("wrk")
        .args([
            "-t2",
            &format!("-c{connections}"),
            &format!("-d{duration}s"),
        ])
        .args(["--latency", "--timeout", "10s", url])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .context("starting wrk")?;
    if let Some(interrupt) = interrupt {
        let _ = interrupt.await;
        if let Some(pid) = child.id() {
            // SAFETY: a plain kill(2) of our own child.
            unsafe {
                libc::kill(pid as libc::pid_t, libc::SIGINT);
            }
        }
    }
    let output = child.wait_with_output().await?;
    let text = String::from_utf8_lossy(&output.stdout).to_string();
    if !output.status.success() && !text.contains("Requests/sec") {
        bail!(
            "wrk failed: {}{}",
            text,
            String::from_utf8_lossy(&output.stderr)
        );
    }
    parse_wrk(&text)
}

/// wrk's report: "N requests in T", "Requests/sec: R", the latency distribution's "99% L",
/// and the non-2xx/3xx answers and socket errors, if any.
fn parse_wrk(text: &str) -> Result<Load> {
    let mut requests = None;
    let mut rate = None;
    let mut p99 = None;
    let mut errors = String::new();
    for line in text.lines().map(str::trim) {
        if let Some((count, _)) = line.split_once(" requests in ") {
            requests = count.trim().parse().ok();
        } else if let Some(value) = line.strip_prefix("Requests/sec:") {
            rate = value.trim().parse().ok();
        } else if let Some(value) = line.strip_prefix("99%") {
            p99 = Some(value.trim().to_string());
        } else if line.starts_with("Non-2xx") || line.starts_with("Socket errors") {
            errors.push_str(&format!("; {line}"));
        }
    }
    if errors.contains("Non-2xx") {
        bail!("tocsin serve answered requests with an error{errors}:\n{text}");
    }
    match (requests, rate, p99) {
        (Some(requests), Some(rate), Some(p99)) => Ok(Load {
            requests,
            rate,
            p99,
            errors,
        }),
        _ => bail!("wrk's report was not understood:\n{text}"),
    }
}
