//! SMS throughput against issue 4's targets: an update to every patient dispatched by SMS to
//! an in-process emulated Kannel (the `Dispatcher` and `SmsChannel` that `tocsin update send`
//! uses), then every message's delivery reports sent back, as Kannel sends them, to
//! `tocsin serve`'s receipt endpoint from many keep-alive HTTP connections.
//!
//! `cargo bench --bench sms [-- --patients N] [--workers W] [--claim-batch B]
//!  [--clients C] [--reports 1|2] [--emulator-connections K]`
//!
//! `--reports 2` (the default) sends two reports per message, as Kannel does with
//! `dlr-mask=31`: SMSC accepted (type 8), then delivered (type 1). It prints figures and
//! asserts nothing about time; it fails loudly if a message or a receipt is lost.

/// The same allocator as the `tocsin` binary, so the figures are the binary's.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

mod common;

use anyhow::{anyhow, bail, Context, Result};
use chrono::NaiveDate;
use common::{cores, cpu_in, load_average, not_sent, rate, thousands, Summary};
use std::collections::HashSet;
use std::path::Path;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use tocsin::app::App;
use tocsin::author::DraftOptions;
use tocsin::channels::sms::kannel;
use tocsin::config::{Config, GatewayConfig, SmsTransport};
use tocsin::demo::synthetic;
use tocsin::domain::{DeliveryState, NewContact, Role, UpdateState};
use tocsin::plan::plan;
use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};
use tokio::net::{TcpListener, TcpStream};

/// The shipped first alert; the bench narrows it to patients, by SMS.
const FIRST_ALERT: &str = include_str!("../examples/01-first-alert.toml");

const DISPATCH_TARGET: f64 = 20_000.0;
const RECEIPT_TARGET: f64 = 10_000.0;

const USERNAME: &str = "tocsin";
const PASSWORD: &str = "bench-sendsms-password";
const RECEIPT_SECRET: &str = "bench-receipt-secret";

struct Args {
    patients: usize,
    workers: Option<usize>,
    claim_batch: Option<u32>,
    clients: usize,
    reports: usize,
    emulator_connections: usize,
}

impl Args {
    fn parse() -> Result<Args> {
        let mut args = Args {
            patients: 100_000,
            workers: None,
            claim_batch: None,
            clients: 64,
            reports: 2,
            emulator_connections: 16,
        };
        // `cargo bench` adds `--bench`; anything not ours is ignored.
        let mut raw = std::env::args().skip(1);
        while let Some(arg) = raw.next() {
            let (name, inline) = match arg.split_once('=') {
                Some((name, value)) => (name.to_string(), Some(value.to_string())),
                None => (arg.clone(), None),
            };
            let known = [
                "--patients",
                "--workers",
                "--claim-batch",
                "--clients",
                "--reports",
                "--emulator-connections",
            ];
            if !known.contains(&name.as_str()) {
                continue;
            }
            let value = match inline {
                Some(value) => value,
                None => raw.next().ok_or_else(|| anyhow!("{name} needs a value"))?,
            };
            let number: usize = value
                .replace('_', "")
                .parse()
                .with_context(|| format!("{name} {value}: not a number"))?;
            if number == 0 {
                bail!("{name} must be at least 1");
            }
            match name.as_str() {
                "--patients" => args.patients = number,
                "--workers" => args.workers = Some(number),
                "--claim-batch" => args.claim_batch = Some(u32::try_from(number)?),
                "--clients" => args.clients = number,
                "--reports" if number <= 2 => args.reports = number,
                "--reports" => bail!("--reports is 1 (delivered) or 2 (accepted, delivered)"),
                _ => args.emulator_connections = number,
            }
        }
        Ok(args)
    }
}

fn main() -> Result<()> {
    let args = Args::parse()?;
    // As `tocsin serve` and `update send` log: warnings only, to stderr.
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_env("TOCSIN_LOG")
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("warn")),
        )
        .with_writer(std::io::stderr)
        .init();
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    runtime.block_on(run(args))
}

// ---------------------------------------------------------------------------------------------
// Figures

/// Peak and current resident memory of this process, in MB, from /proc/self/status.
fn memory_mb() -> (f64, f64) {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    let field = |name: &str| {
        status
            .lines()
            .find_map(|line| line.strip_prefix(name))
            .and_then(|rest| {
                rest.trim()
                    .trim_end_matches("kB")
                    .trim()
                    .parse::<f64>()
                    .ok()
            })
            .map_or(f64::NAN, |kb| kb / 1024.0)
    };
    (field("VmHWM:"), field("VmRSS:"))
}

fn print_memory(phase: &str) -> f64 {
    let (peak, now) = memory_mb();
    println!("  memory after {phase}: VmHWM {peak:.1} MB (VmRSS now {now:.1} MB)");
    peak
}

/// CPU time (user + system, every thread) this process has used so far, in seconds.
fn cpu_seconds() -> f64 {
    cpu_in("/proc/self/stat")
}

/// CPU time one thread of this process has used so far, in seconds.
fn thread_cpu_seconds(tid: &str) -> f64 {
    cpu_in(&format!("/proc/self/task/{tid}/stat"))
}

/// The calling thread's id, as `/proc/self/task/` names it.
fn current_tid() -> String {
    std::fs::read_link("/proc/thread-self")
        .ok()
        .and_then(|link| {
            link.file_name()
                .map(|tid| tid.to_string_lossy().into_owned())
        })
        .unwrap_or_default()
}

/// Wall and CPU time of a phase.
struct Stopwatch {
    wall: Instant,
    cpu: f64,
    machine: f64,
}

impl Stopwatch {
    fn start() -> Stopwatch {
        Stopwatch {
            wall: Instant::now(),
            cpu: cpu_seconds(),
            machine: machine_busy_seconds(),
        }
    }

    fn elapsed(&self) -> Duration {
        self.wall.elapsed()
    }

    /// CPU per item, how busy the process kept the machine, and how busy the rest of the
    /// machine was meanwhile (other processes, and interrupts): a phase slowed down by someone
    /// else's build shows it here.
    fn cpu_note(&self, items: u64) -> String {
        let wall = self.wall.elapsed().as_secs_f64().max(1e-9);
        let cpu = cpu_seconds() - self.cpu;
        let others = (machine_busy_seconds() - self.machine - cpu).max(0.0);
        format!(
            "CPU {cpu:.2} s ({:.0} µs per item), {:.2} of {} cores busy, the rest of the machine \
             {:.2}, load average {}",
            cpu * 1e6 / items.max(1) as f64,
            cpu / wall,
            cores(),
            others / wall,
            load_average()
        )
    }
}

/// CPU time the whole machine has spent busy (every core, every process), from /proc/stat.
fn machine_busy_seconds() -> f64 {
    let stat = std::fs::read_to_string("/proc/stat").unwrap_or_default();
    let ticks: Vec<f64> = stat
        .lines()
        .next()
        .unwrap_or_default()
        .split_whitespace()
        .skip(1)
        .filter_map(|field| field.parse().ok())
        .collect();
    // user nice system idle iowait irq softirq steal ...: busy is all but idle and iowait.
    let idle = ticks.get(3).copied().unwrap_or(0.0) + ticks.get(4).copied().unwrap_or(0.0);
    (ticks.iter().take(8).sum::<f64>() - idle) / 100.0
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
    let mut config = Config {
        database_url: format!("sqlite://{}", tmp.path().join("bench.db").display()),
        ..Config::default()
    };
    config.email.dir = tmp.path().join("outbox/email");
    config.sms.dir = tmp.path().join("outbox/sms");
    config.telegram.dir = tmp.path().join("outbox/telegram");
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
    drop(day);
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
    let (answered, client_cpu) = fire(gateway.port, k, Paths::Repeat(sample, n), 202).await?;
    let capacity = rate(answered, started.elapsed());
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
    dispatcher.run(update).await?;
    let elapsed = started.elapsed();
    let emulator_cpu = gateway.cpu_seconds() - emulator_cpu;
    let cpu = started.cpu_note(n as u64);
    let tocsin_cpu = cpu_seconds() - started.cpu - emulator_cpu;
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
    println!("  whole process: {cpu}");
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
    let (answered, client_cpu) = fire(serve_port, args.clients, Paths::List(paths), 200).await?;
    let elapsed = started.elapsed();
    let cpu = started.cpu_note(answered);
    let tocsin_cpu = cpu_seconds() - started.cpu - client_cpu;
    let _ = stop.send(());
    server.await??;
    let receipt_rate = rate(answered, elapsed);
    println!(
        "  {answered} receipts answered 200 in {:.2} s: {} receipts/s",
        elapsed.as_secs_f64(),
        thousands(receipt_rate)
    );
    println!("  whole process: {cpu}");
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
        "peak RSS (VmHWM) after dispatch / receipts",
        format!("{peak_dispatch:.0} / {peak_receipts:.0} MB"),
    );
    summary.print();
    println!("load average at the end: {}", load_average());
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
async fn draft_sms_update(app: &App, dir: &Path) -> Result<i64> {
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

async fn count_in(app: &App, update: i64, state: DeliveryState) -> Result<u64> {
    count_in_store(app.store.as_ref(), update, state).await
}

async fn count_in_store(
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

fn free_port() -> Result<u16> {
    Ok(std::net::TcpListener::bind("127.0.0.1:0")?
        .local_addr()?
        .port())
}

async fn wait_for(port: u16) -> Result<()> {
    for _ in 0..500 {
        if TcpStream::connect(("127.0.0.1", port)).await.is_ok() {
            return Ok(());
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    bail!("tocsin serve is not listening on port {port}")
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

/// The delivery ids of the DLR URLs the emulator was given, each once.
fn distinct_deliveries(dlr_urls: &[String]) -> Result<usize> {
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
fn callbacks(dlr_urls: &[String], serve_port: u16, reports: usize) -> Result<Vec<String>> {
    let prefix = format!("http://127.0.0.1:{serve_port}");
    let ts = chrono::Utc::now().timestamp().to_string();
    let kinds: &[(&str, &str)] = if reports == 2 {
        &[
            ("8", "ACK%2F"),
            (
                "1",
                "id%3A0%20sub%3A001%20dlvrd%3A001%20stat%3ADELIVRD%20err%3A000",
            ),
        ]
    } else {
        &[(
            "1",
            "id%3A0%20sub%3A001%20dlvrd%3A001%20stat%3ADELIVRD%20err%3A000",
        )]
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

// ---------------------------------------------------------------------------------------------
// HTTP/1.1, by hand: the load generator and the emulator must cost little beside the code
// being measured.

/// The requests of a load: one path many times, or each path of a list once.
enum Paths {
    Repeat(String, usize),
    List(Vec<String>),
}

impl Paths {
    fn len(&self) -> usize {
        match self {
            Paths::Repeat(_, count) => *count,
            Paths::List(paths) => paths.len(),
        }
    }

    fn get(&self, index: usize) -> &str {
        match self {
            Paths::Repeat(path, _) => path,
            Paths::List(paths) => &paths[index],
        }
    }
}

/// GETs every path on `connections` keep-alive connections (each connection one request
/// at a time, as gateways call back) and checks each answer's status. The clients run on a
/// thread of their own, as a separate process would; returns how many were answered and
/// the CPU seconds that thread used.
async fn fire(port: u16, connections: usize, paths: Paths, expected: u16) -> Result<(u64, f64)> {
    let (done, result) = tokio::sync::oneshot::channel();
    std::thread::Builder::new()
        .name("load".into())
        .spawn(move || {
            let tid = current_tid();
            let before = thread_cpu_seconds(&tid);
            let answered = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .map_err(anyhow::Error::from)
                .and_then(|runtime| runtime.block_on(clients(port, connections, paths, expected)));
            let _ = done.send(answered.map(|n| (n, thread_cpu_seconds(&tid) - before)));
        })?;
    result.await?
}

async fn clients(port: u16, connections: usize, paths: Paths, expected: u16) -> Result<u64> {
    let paths = Arc::new(paths);
    let mut clients = tokio::task::JoinSet::new();
    for first in 0..connections {
        let paths = Arc::clone(&paths);
        clients.spawn(async move {
            let share = (first..paths.len()).step_by(connections);
            client(port, &paths, share, expected).await
        });
    }
    let mut answered = 0;
    while let Some(result) = clients.join_next().await {
        answered += result??;
    }
    Ok(answered)
}

async fn client(
    port: u16,
    paths: &Paths,
    share: impl Iterator<Item = usize>,
    expected: u16,
) -> Result<u64> {
    let socket = TcpStream::connect(("127.0.0.1", port)).await?;
    socket.set_nodelay(true)?;
    let (read, mut write) = socket.into_split();
    let mut reader = BufReader::with_capacity(16 * 1024, read);
    let mut line = Vec::with_capacity(256);
    let mut request = Vec::with_capacity(512);
    let mut body = Vec::new();
    let mut answered = 0;
    for index in share {
        let path = paths.get(index);
        request.clear();
        request.extend_from_slice(b"GET ");
        request.extend_from_slice(path.as_bytes());
        request.extend_from_slice(b" HTTP/1.1\r\nHost: 127.0.0.1\r\nUser-Agent: bench\r\n\r\n");
        write.write_all(&request).await?;
        let head = read_head(&mut reader, &mut line).await?;
        let Some(head) = head else {
            bail!("the server closed the connection after {answered} answers");
        };
        body.resize(head.content_length, 0);
        reader.read_exact(&mut body).await?;
        if head.status != expected {
            bail!(
                "GET {path}: HTTP {}, expected {expected}: {}",
                head.status,
                String::from_utf8_lossy(&body)
            );
        }
        answered += 1;
    }
    Ok(answered)
}

struct Head {
    /// The status of a response; 0 for a request.
    status: u16,
    /// The target of a request; empty for a response.
    target: String,
    content_length: usize,
}

/// Reads a request's or a response's head; None at a clean end of the stream.
async fn read_head<R: tokio::io::AsyncRead + Unpin>(
    reader: &mut BufReader<R>,
    line: &mut Vec<u8>,
) -> Result<Option<Head>> {
    line.clear();
    if reader.read_until(b'\n', line).await? == 0 {
        return Ok(None);
    }
    let first = std::str::from_utf8(line)?.trim_end();
    let mut words = first.split(' ');
    let (status, target) = match (words.next(), words.next()) {
        (Some(version), Some(code)) if version.starts_with("HTTP/") => (code.parse()?, ""),
        (Some(_method), Some(target)) => (0, target),
        _ => bail!("not HTTP: {first:?}"),
    };
    let target = target.to_string();
    let mut content_length = 0;
    loop {
        line.clear();
        if reader.read_until(b'\n', line).await? == 0 {
            bail!("the stream ended inside a head");
        }
        if line == b"\r\n" || line == b"\n" {
            break;
        }
        let header = std::str::from_utf8(line)?;
        if let Some((name, value)) = header.split_once(':') {
            if name.eq_ignore_ascii_case("content-length") {
                content_length = value.trim().parse()?;
            }
        }
    }
    Ok(Some(Head {
        status,
        target,
        content_length,
    }))
}

/// Kannel's smsbox `sendsms`, emulated: checks the account and the required variables as
/// Kannel does, answers `202 0: Accepted for delivery`, and keeps each message's `dlr-url`
/// (while recording) so the benchmark can call them back as Kannel would.
struct Emulator {
    port: u16,
    tid: String,
    requests: Arc<AtomicU64>,
    recording: Arc<AtomicBool>,
    dlr_urls: Arc<Mutex<Vec<String>>>,
}

impl Emulator {
    /// Listens on a thread of its own, with its own runtime, as a separate process would: its
    /// work does not run on Tocsin's runtime threads, and its CPU time is measured apart.
    async fn start() -> Result<Emulator> {
        let listener = std::net::TcpListener::bind("127.0.0.1:0")?;
        listener.set_nonblocking(true)?;
        let port = listener.local_addr()?.port();
        let requests = Arc::new(AtomicU64::new(0));
        let recording = Arc::new(AtomicBool::new(false));
        let dlr_urls = Arc::new(Mutex::new(Vec::new()));
        let shared = (
            Arc::clone(&requests),
            Arc::clone(&recording),
            Arc::clone(&dlr_urls),
        );
        let (started, tid) = tokio::sync::oneshot::channel();
        std::thread::Builder::new()
            .name("kannel-emulator".into())
            .spawn(move || {
                let _ = started.send(current_tid());
                let runtime = match tokio::runtime::Builder::new_current_thread()
                    .enable_all()
                    .build()
                {
                    Ok(runtime) => runtime,
                    Err(error) => return eprintln!("emulated Kannel: no runtime: {error}"),
                };
                runtime.block_on(accept(listener, shared));
            })?;
        Ok(Emulator {
            port,
            tid: tid.await?,
            requests,
            recording,
            dlr_urls,
        })
    }

    /// CPU seconds the emulator's thread has used so far.
    fn cpu_seconds(&self) -> f64 {
        thread_cpu_seconds(&self.tid)
    }

    /// Forgets the capacity test; from now on, counts and keeps every message.
    fn reset(&self) {
        self.requests.store(0, Ordering::Relaxed);
        self.recording.store(true, Ordering::Relaxed);
    }

    fn take(&self) -> Vec<String> {
        std::mem::take(&mut *self.dlr_urls.lock().unwrap_or_else(|e| e.into_inner()))
    }
}

type Shared = (Arc<AtomicU64>, Arc<AtomicBool>, Arc<Mutex<Vec<String>>>);

async fn accept(listener: std::net::TcpListener, shared: Shared) {
    let listener = match TcpListener::from_std(listener) {
        Ok(listener) => listener,
        Err(error) => return eprintln!("emulated Kannel: {error}"),
    };
    loop {
        match listener.accept().await {
            Ok((socket, _)) => {
                let (requests, recording, dlr_urls) = shared.clone();
                tokio::spawn(async move {
                    if let Err(error) = smsbox(socket, requests, recording, dlr_urls).await {
                        eprintln!("emulated Kannel: {error:#}");
                    }
                });
            }
            Err(error) => {
                eprintln!("emulated Kannel: accept: {error}");
                tokio::time::sleep(Duration::from_millis(10)).await;
            }
        }
    }
}

async fn smsbox(
    socket: TcpStream,
    requests: Arc<AtomicU64>,
    recording: Arc<AtomicBool>,
    dlr_urls: Arc<Mutex<Vec<String>>>,
) -> Result<()> {
    socket.set_nodelay(true)?;
    let (read, mut write) = socket.into_split();
    let mut reader = BufReader::with_capacity(16 * 1024, read);
    let mut line = Vec::with_capacity(1024);
    let mut body = Vec::new();
    while let Some(head) = read_head(&mut reader, &mut line).await? {
        body.resize(head.content_length, 0);
        reader.read_exact(&mut body).await?;
        let (status, answer) = match head.target.split_once('?') {
            Some(("/cgi-bin/sendsms", query)) => {
                let (mut user, mut password, mut to, mut text, mut dlr_url) =
                    (None, None, None, None, None);
                for (name, value) in url::form_urlencoded::parse(query.as_bytes()) {
                    match &*name {
                        "username" => user = Some(value),
                        "password" => password = Some(value),
                        "to" => to = Some(value),
                        "text" => text = Some(value),
                        "dlr-url" => dlr_url = Some(value.into_owned()),
                        _ => {}
                    }
                }
                if user.as_deref() != Some(USERNAME) || password.as_deref() != Some(PASSWORD) {
                    ("403 Forbidden", "Authorization failed for sendsms")
                } else if to.is_none_or(|to| to.is_empty()) {
                    ("400 Bad Request", "Missing receiver number, rejected")
                } else if text.is_none() {
                    ("400 Bad Request", "Missing text, rejected")
                } else {
                    requests.fetch_add(1, Ordering::Relaxed);
                    if let (true, Some(dlr_url)) = (recording.load(Ordering::Relaxed), dlr_url) {
                        dlr_urls
                            .lock()
                            .unwrap_or_else(|e| e.into_inner())
                            .push(dlr_url);
                    }
                    ("202 Accepted", "0: Accepted for delivery")
                }
            }
            _ => ("404 Not Found", "Not found"),
        };
        let response = format!(
            "HTTP/1.1 {status}\r\nContent-Type: text/html\r\nContent-Length: {}\r\n\r\n{answer}",
            answer.len()
        );
        write.write_all(response.as_bytes()).await?;
    }
    Ok(())
}
