//! Broadcast throughput against the targets: plan + render, dispatch to the file
//! outbox, dispatch over SMTP to an in-process sink, lettre's pooled transport next to our own
//! SMTP connections, and peak memory.
//!
//! `cargo bench --bench broadcast [-- --patients N] [--smtp-connections C] [--workers W]
//!  [--claim-batch B] [--lettre-messages M] [--channel-messages C] [--sink-messages S]
//!  [--sink-connections K] [--stop-after plan]`
//!
//! This process generates and imports the hospital; a fresh process of the same binary then
//! plans, renders and dispatches, so that its peak memory (VmHWM) is the broadcast's alone, as
//! it is when `tocsin import` and `tocsin update send` run one after the other.
//!
//! It prints figures and asserts nothing: timings depend on the machine.

/// The same allocator as the `tocsin` binary, so the figures are the binary's.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

mod common;

use anyhow::{anyhow, bail, Context, Result};
use chrono::NaiveDate;
use common::{cores, cpu_in, load_average, not_sent, rate, thousands, Figure, Summary};
use futures::stream::{self, StreamExt};
use lettre::address::Envelope;
use lettre::transport::smtp::PoolConfig;
use lettre::{AsyncSmtpTransport, AsyncTransport, Tokio1Executor};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};
use tocsin::app::App;
use tocsin::author::DraftOptions;
use tocsin::channels::email::{MailBuilder, SmtpChannel, SmtpTarget};
use tocsin::channels::{Channel, Message, NoHandover, Outcome};
use tocsin::config::{Config, EmailTransport};
use tocsin::demo::synthetic;
use tocsin::domain::{ChannelKind, UpdateState};
use tocsin::plan::{plan, PlanReport};
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader, BufWriter};
use tokio::net::{TcpListener, TcpStream};

/// The shipped first alert; the bench narrows its audiences and channels.
const FIRST_ALERT: &str = include_str!("../examples/01-first-alert.toml");

const PLAN_TARGET: f64 = 50_000.0;
const SMTP_TARGET: f64 = 10_000.0;
const RSS_TARGET_MB: f64 = 200.0;

struct Args {
    patients: usize,
    smtp_connections: usize,
    workers: usize,
    claim_batch: Option<u32>,
    lettre_messages: usize,
    channel_messages: usize,
    sink_messages: usize,
    sink_connections: usize,
    /// Set in a process that broadcasts: the directory with the imported database.
    broadcast_in: Option<PathBuf>,
    /// `plan`: stop after planning (for profiling).
    stop_after: Option<String>,
    /// In a broadcasting process: `outbox` (the first update, to the file outbox) or `smtp`.
    phase: Option<String>,
}

impl Args {
    fn parse() -> Result<Args> {
        let mut args = Args {
            patients: 100_000,
            smtp_connections: 32,
            workers: 64,
            claim_batch: None,
            lettre_messages: 200,
            channel_messages: 20_000,
            sink_messages: 100_000,
            sink_connections: 16,
            broadcast_in: None,
            stop_after: None,
            phase: None,
        };
        // `cargo bench` adds `--bench`; anything not ours is ignored.
        let mut raw = std::env::args().skip(1);
        while let Some(arg) = raw.next() {
            let (name, inline) = match arg.split_once('=') {
                Some((name, value)) => (name.to_string(), Some(value.to_string())),
                None => (arg.clone(), None),
            };
            let mut value = || match inline.clone() {
                Some(value) => Ok(value),
                None => raw.next().ok_or_else(|| anyhow!("{name} needs a value")),
            };
            match name.as_str() {
                "--broadcast-in" => {
                    args.broadcast_in = Some(PathBuf::from(value()?));
                    continue;
                }
                "--stop-after" => {
                    args.stop_after = Some(value()?);
                    continue;
                }
                "--phase" => {
                    args.phase = Some(value()?);
                    continue;
                }
                _ => {}
            }
            let known = [
                "--patients",
                "--smtp-connections",
                "--workers",
                "--claim-batch",
                "--lettre-messages",
                "--channel-messages",
                "--sink-messages",
                "--sink-connections",
            ];
            if !known.contains(&name.as_str()) {
                continue;
            }
            let value = value()?;
            let number: usize = value
                .replace('_', "")
                .parse()
                .with_context(|| format!("{name} {value}: not a number"))?;
            if number == 0 {
                bail!("{name} must be at least 1");
            }
            match name.as_str() {
                "--patients" => args.patients = number,
                "--smtp-connections" => args.smtp_connections = number,
                "--workers" => args.workers = number,
                "--claim-batch" => args.claim_batch = Some(u32::try_from(number)?),
                "--lettre-messages" => args.lettre_messages = number,
                "--channel-messages" => args.channel_messages = number,
                "--sink-messages" => args.sink_messages = number,
                _ => args.sink_connections = number,
            }
        }
        Ok(args)
    }
}

fn main() -> Result<()> {
    let args = Args::parse()?;
    // `plan` renders inside `block_in_place`: that needs the multi-thread runtime.
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    match args.broadcast_in.clone() {
        None => runtime.block_on(prepare(&args)),
        Some(dir) => runtime.block_on(broadcast(args, &dir)),
    }
}

// ---------------------------------------------------------------------------------------------
// Figures

/// The broadcast's own rows: memory ceilings, and rows that travel between its processes.
impl Summary {
    fn at_most(&mut self, name: impl Into<String>, value: f64, unit: &str, target: f64) {
        self.0.push(Figure {
            name: name.into(),
            value: format!("{value:.1} {unit}"),
            target: format!("<= {target:.0} {unit}"),
            verdict: if value <= target { "PASS" } else { "BELOW" },
        });
    }

    /// Rows go through a file from the broadcasting processes to the one that prints them.
    fn save(&self, path: &Path) -> Result<()> {
        use std::io::Write;
        let mut file = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(path)?;
        for f in &self.0 {
            writeln!(file, "{}\t{}\t{}\t{}", f.name, f.value, f.target, f.verdict)?;
        }
        Ok(())
    }

    fn load(path: &Path) -> Result<Summary> {
        let text = std::fs::read_to_string(path)?;
        let verdict = |raw: &str| match raw {
            "PASS" => "PASS",
            "BELOW" => "BELOW",
            _ => "",
        };
        Ok(Summary(
            text.lines()
                .filter_map(|line| {
                    let mut fields = line.split('\t');
                    Some(Figure {
                        name: fields.next()?.to_string(),
                        value: fields.next()?.to_string(),
                        target: fields.next()?.to_string(),
                        verdict: verdict(fields.next()?),
                    })
                })
                .collect(),
        ))
    }
}

/// Fields of /proc/self/status, in MB, in the order asked (NaN if missing).
fn status_mb<const N: usize>(names: [&str; N]) -> [f64; N] {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    names.map(|name| {
        status
            .lines()
            .find_map(|line| line.strip_prefix(name))
            .and_then(|rest| {
                rest.trim_start_matches(':')
                    .trim()
                    .trim_end_matches("kB")
                    .trim()
                    .parse::<f64>()
                    .ok()
            })
            .map_or(f64::NAN, |kb| kb / 1024.0)
    })
}

/// CPU time (user + system, every thread) this process has used so far, in seconds.
fn cpu_seconds() -> f64 {
    cpu_in("/proc/self/stat")
}

/// Wall and CPU time of a phase.
struct Stopwatch {
    wall: Instant,
    cpu: f64,
}

impl Stopwatch {
    fn start() -> Stopwatch {
        Stopwatch {
            wall: Instant::now(),
            cpu: cpu_seconds(),
        }
    }

    fn elapsed(&self) -> Duration {
        self.wall.elapsed()
    }

    /// How busy the process kept the machine: a phase that waits shows few busy cores.
    fn cpu_note(&self) -> String {
        let wall = self.wall.elapsed().as_secs_f64().max(1e-9);
        let cpu = cpu_seconds() - self.cpu;
        format!(
            "CPU {cpu:.2} s, {:.2} of {} cores busy, load average {}",
            cpu / wall,
            cores(),
            load_average()
        )
    }
}

/// Prints the peak and current resident memory, the current split into the heap (anonymous),
/// mapped files and shared memory (SQLite's WAL index), and returns the peak.
fn print_memory(phase: &str) -> f64 {
    let [peak, now, anon, file, shmem] =
        status_mb(["VmHWM", "VmRSS", "RssAnon", "RssFile", "RssShmem"]);
    // SAFETY: sqlite3_memory_used only reads SQLite's own counter.
    let sqlite = unsafe { libsqlite3_sys::sqlite3_memory_used() } as f64 / 1_048_576.0;
    println!(
        "  memory after {phase}: VmHWM {peak:.1} MB (VmRSS now {now:.1} MB: \
         heap {anon:.1} of which SQLite {sqlite:.1}, files {file:.1}, shared {shmem:.1})"
    );
    peak
}

// ---------------------------------------------------------------------------------------------
// The run

/// The bench's own database in `dir`, with the benchmark's configuration.
async fn open_app(dir: &Path) -> Result<App> {
    let mut config = Config {
        database_url: format!("sqlite://{}", dir.join("bench.db").display()),
        ..Config::default()
    };
    config.email.dir = dir.join("outbox/email");
    config.sms.dir = dir.join("outbox/sms");
    config.telegram.dir = dir.join("outbox/telegram");
    // Synthetic people, file outboxes and a local sink: the example hospital details, as in
    // the demo, keep the messages the size they were measured at.
    Ok(App::open(config).await?.allowing_placeholders())
}

/// Generates and imports the hospital, then runs the broadcast in a fresh process: in use,
/// import and send are separate commands, and the broadcast's peak memory is its own.
async fn prepare(args: &Args) -> Result<()> {
    let n = args.patients;
    println!(
        "Tocsin broadcast benchmark: {n} patients, {} cores, load average {}",
        cores(),
        load_average()
    );
    let tmp = tempfile::tempdir()?;
    let app = open_app(tmp.path()).await?;

    // ---- Import -------------------------------------------------------------------------
    println!("\n[1] import (this process) + plan + render (a fresh process)");
    let days: Vec<NaiveDate> = [(2026, 1, 13), (2026, 1, 14)]
        .into_iter()
        .filter_map(|(y, m, d)| NaiveDate::from_ymd_opt(y, m, d))
        .collect();
    let started = Instant::now();
    let day = synthetic::generate(n, &days, 2026);
    let generated = started.elapsed();
    let (contacts, appointments) = (day.contacts.len(), day.appointments.len());
    let started = Stopwatch::start();
    app.store
        .import(
            &day.contacts,
            &day.appointments,
            "synthetic day",
            app.clock.now_ms(),
        )
        .await?;
    let imported = started.elapsed();
    let import_cpu = started.cpu_note();
    drop(day);
    drop(app);
    println!(
        "  generate: {contacts} contacts, {appointments} appointments in {:.2} s",
        generated.as_secs_f64()
    );
    println!(
        "  import: {:.2} s ({} contacts/s; {import_cpu})",
        imported.as_secs_f64(),
        thousands(rate(contacts as u64, imported))
    );
    print_memory("import (the importing process)");
    let mut summary = Summary::default();
    summary.info(
        "import (contacts + appointments)",
        format!("{:.2} s", imported.as_secs_f64()),
    );
    let figures = tmp.path().join("summary.tsv");
    summary.save(&figures)?;

    let phases: &[&str] = match args.stop_after.as_deref() {
        Some("plan") => &["outbox"],
        _ => &["outbox", "smtp"],
    };
    for phase in phases {
        let status = std::process::Command::new(std::env::current_exe()?)
            .args(std::env::args().skip(1))
            .arg("--broadcast-in")
            .arg(tmp.path())
            .arg("--phase")
            .arg(phase)
            .status()
            .context("starting a broadcasting process")?;
        if !status.success() {
            bail!("the broadcasting process ({phase}) failed: {status}");
        }
    }
    Summary::load(&figures)?.print();
    println!("load average at the end: {}", load_average());
    Ok(())
}

/// Everything after the import, in the process whose memory the figures report.
async fn broadcast(args: Args, dir: &Path) -> Result<()> {
    let mut summary = Summary::default();
    let phase = args.phase.clone().unwrap_or_default();
    // The previous phase's files are still being written back to disk; that I/O would be
    // counted against this phase.
    std::process::Command::new("sync")
        .status()
        .context("running sync")?;
    print_memory(&format!("start of the broadcasting process ({phase})"));
    let app = open_app(dir).await?;
    match phase.as_str() {
        "outbox" => broadcast_to_outbox(&args, dir, app, &mut summary).await?,
        "smtp" => broadcast_over_smtp(&args, dir, app, &mut summary).await?,
        other => bail!("unknown phase {other:?}"),
    }
    summary.save(&dir.join("summary.tsv"))
}

/// The first alert, SMS and e-mail, planned and sent to the file outbox.
async fn broadcast_to_outbox(
    args: &Args,
    dir: &Path,
    app: App,
    summary: &mut Summary,
) -> Result<()> {
    // ---- Plan + render ------------------------------------------------------------------
    let source = narrowed(FIRST_ALERT, "[\"sms\", \"email\"]", None)?;
    let (first, report, planned, plan_cpu) = draft_and_plan(&app, dir, "first", &source).await?;
    let rendered = rate(report.pending, planned);
    println!(
        "  plan + render (patients, sms + email): {} rows ({} to send, {} skipped) in {:.2} s",
        report.created,
        report.pending,
        report.skipped,
        planned.as_secs_f64()
    );
    println!(
        "  plan + render: {} deliveries/s rendered ({} rows/s written)",
        thousands(rendered),
        thousands(rate(report.created, planned))
    );
    println!("  plan + render: {plan_cpu}");
    summary.at_least(
        format!("plan + render ({} deliveries)", report.pending),
        rendered,
        "deliveries/s",
        PLAN_TARGET,
    );
    let peak_plan = print_memory("plan");
    summary.at_most(
        "peak RSS (VmHWM) after plan",
        peak_plan,
        "MB",
        RSS_TARGET_MB,
    );
    if args.stop_after.as_deref() == Some("plan") {
        return Ok(());
    }

    // ---- Dispatch to the file outbox ----------------------------------------------------
    println!("\n[2] dispatch to the file outbox");
    let dispatcher = app.dispatcher()?;
    let tally = dispatcher.tally();
    app.store
        .set_update_state(first, UpdateState::Sending)
        .await?;
    let started = Stopwatch::start();
    dispatcher.run(first).await?;
    let elapsed = started.elapsed();
    let outbox_cpu = started.cpu_note();
    app.store.set_update_state(first, UpdateState::Sent).await?;
    let sent = tally.sent.load(Ordering::Relaxed);
    let files = count_files(&app.config.email.dir) + count_files(&app.config.sms.dir);
    println!(
        "  settings: workers {}, claim_batch {}",
        app.config.dispatch.workers, app.config.dispatch.claim_batch
    );
    println!(
        "  {sent} messages sent ({files} files; {}) in {:.2} s: {} messages/s",
        not_sent(&tally),
        elapsed.as_secs_f64(),
        thousands(rate(sent, elapsed))
    );
    println!("  {outbox_cpu}");
    if sent != report.pending {
        println!("  WARNING: {} planned, {sent} sent", report.pending);
    }
    summary.info(
        format!("dispatch to file outbox ({sent} messages)"),
        format!("{} messages/s", thousands(rate(sent, elapsed))),
    );
    let peak_outbox = print_memory("outbox dispatch");
    summary.at_most(
        "peak RSS (VmHWM), plan + outbox dispatch",
        peak_outbox,
        "MB",
        RSS_TARGET_MB,
    );
    Ok(())
}

/// A follow-up by e-mail, planned and sent over SMTP to an in-process sink, in a process of
/// its own; then lettre's pool against our connections.
async fn broadcast_over_smtp(
    args: &Args,
    dir: &Path,
    mut app: App,
    summary: &mut Summary,
) -> Result<()> {
    let first = app
        .store
        .updates()
        .await?
        .first()
        .map(|update| update.id)
        .ok_or_else(|| anyhow!("the outbox phase left no update"))?;
    // ---- SMTP sink capacity -------------------------------------------------------------
    println!("\n[3] dispatch over SMTP to an in-process sink");
    let sink = Sink::start().await?;
    let sample = sample_mail(&app, first).await?;
    let (capacity, lockstep) = {
        let k = args.sink_connections;
        let total = args.sink_messages;
        let pipelined = sink_capacity(&sink, k, total, &sample, true).await?;
        let lockstep = sink_capacity(&sink, k, total, &sample, false).await?;
        (pipelined, lockstep)
    };
    println!(
        "  SMTP sink capacity: {} msg/s ({} connections, {} messages of {} bytes, one write per transaction)",
        thousands(capacity),
        args.sink_connections,
        args.sink_messages,
        sample.len()
    );
    println!(
        "  SMTP sink capacity, lock-step client (MAIL, RCPT, DATA, message each waiting for its reply): {} msg/s",
        thousands(lockstep)
    );
    // The raw clients' and the sink's own buffers count in the figures below.
    print_memory("sink capacity test");
    summary.at_least("SMTP sink capacity", capacity, "msg/s", SMTP_TARGET * 2.0);
    summary.info(
        "SMTP sink capacity, lock-step",
        format!("{} msg/s", thousands(lockstep)),
    );

    // ---- Dispatch over SMTP -------------------------------------------------------------
    let url = format!("smtp://127.0.0.1:{}", sink.port);
    app.config.email.transport = EmailTransport::Smtp;
    app.config.email.smtp_url = url.clone();
    app.config.email.connections = args.smtp_connections;
    app.config.dispatch.workers = args.workers;
    if let Some(batch) = args.claim_batch {
        app.config.dispatch.claim_batch = batch;
    }
    let source = narrowed(FIRST_ALERT, "[\"email\"]", Some(first))?;
    let (second, report, planned, plan_cpu) = draft_and_plan(&app, dir, "second", &source).await?;
    println!(
        "  plan + render (patients, email): {} deliveries in {:.2} s ({} deliveries/s; {plan_cpu})",
        report.pending,
        planned.as_secs_f64(),
        thousands(rate(report.pending, planned))
    );
    print_memory("second plan");
    let dispatcher = app.dispatcher()?;
    let tally = dispatcher.tally();
    app.store
        .set_update_state(second, UpdateState::Sending)
        .await?;
    let before = sink.accepted.load(Ordering::Relaxed);
    let started = Stopwatch::start();
    dispatcher.run(second).await?;
    let elapsed = started.elapsed();
    let smtp_cpu = started.cpu_note();
    app.store
        .set_update_state(second, UpdateState::Sent)
        .await?;
    let sent = tally.sent.load(Ordering::Relaxed);
    let received = sink.accepted.load(Ordering::Relaxed) - before;
    println!(
        "  settings: smtp connections {}, dispatch.workers {}, claim_batch {}, timeout {} s",
        app.config.email.connections,
        app.config.dispatch.workers,
        app.config.dispatch.claim_batch,
        app.config.email.timeout_seconds
    );
    let smtp_rate = rate(sent, elapsed);
    println!(
        "  {sent} messages sent, {received} accepted by the sink ({}) in {:.2} s: {} messages/s",
        not_sent(&tally),
        elapsed.as_secs_f64(),
        thousands(smtp_rate)
    );
    println!("  {smtp_cpu} (the sink's share included)");
    summary.at_least(
        format!(
            "dispatch over SMTP ({sent} msgs, {} conns, {} workers)",
            app.config.email.connections, app.config.dispatch.workers
        ),
        smtp_rate,
        "messages/s",
        SMTP_TARGET,
    );
    let peak_smtp = print_memory("SMTP dispatch");
    summary.at_most(
        "peak RSS (VmHWM), plan + SMTP dispatch",
        peak_smtp,
        "MB",
        RSS_TARGET_MB,
    );

    // ---- lettre's pool against our connections ------------------------------------------
    println!("\n[4] lettre's pooled transport against SmtpChannel (same sink, same messages)");
    let mail = MailBuilder::new(
        &app.config.email.from,
        app.config.email.reply_to.as_deref(),
        &app.config.email.message_id_domain,
    )
    .map_err(anyhow::Error::msg)?;
    let template = sample_message(&app, second).await?;
    let m = args.lettre_messages;
    println!("  {m} messages each; sink sockets keep the default (Nagle on, delayed ACK on)");
    for connections in [1usize, 8] {
        let theirs = lettre_rate(&sink, &mail, &template, m, connections).await?;
        let ours = ours_rate(&url, &mail, &template, m, connections).await?;
        println!(
            "  {connections} connection(s): lettre pool {:>9} msg/s | SmtpChannel {:>9} msg/s  ({:.0}x)",
            thousands(theirs),
            thousands(ours),
            ours / theirs.max(1e-9)
        );
        summary.info(
            format!("lettre pool, {connections} conn(s), {m} msgs"),
            format!("{} msg/s", thousands(theirs)),
        );
        summary.info(
            format!("SmtpChannel, {connections} conn(s), {m} msgs"),
            format!("{} msg/s", thousands(ours)),
        );
    }
    // The channel on its own, long enough to be steady: what the dispatcher could reach
    // if its own bookkeeping cost nothing.
    let (count, connections) = (args.channel_messages, args.smtp_connections);
    let started = Stopwatch::start();
    let alone = ours_rate(&url, &mail, &template, count, connections).await?;
    println!(
        "  SmtpChannel alone (no dispatcher, no handover record), {connections} connections, \
         {count} messages: {} msg/s ({}, the sink's share included)",
        thousands(alone),
        started.cpu_note()
    );
    summary.info(
        format!("SmtpChannel alone, {connections} conns, {count} msgs"),
        format!("{} msg/s", thousands(alone)),
    );
    print_memory("lettre comparison");
    Ok(())
}

/// The shipped first alert for patients only, on `channels`; a follow-up if `follows`.
fn narrowed(source: &str, channels: &str, follows: Option<i64>) -> Result<String> {
    let mut out = String::with_capacity(source.len());
    let (mut audiences_seen, mut channels_seen, mut kind_seen) = (false, false, false);
    for line in source.lines() {
        if line.starts_with("audiences =") {
            out.push_str("audiences = [\"patients\"]");
            audiences_seen = true;
        } else if line.starts_with("channels =") {
            out.push_str(&format!("channels = {channels}"));
            channels_seen = true;
        } else if line.starts_with("kind =") && follows.is_some() {
            out.push_str(&format!(
                "kind = \"update\"\nfollows = {}",
                follows.unwrap_or_default()
            ));
            kind_seen = true;
        } else {
            out.push_str(line);
        }
        out.push('\n');
    }
    if !audiences_seen || !channels_seen || (follows.is_some() && !kind_seen) {
        bail!("examples/01-first-alert.toml changed shape: no audiences/channels/kind line");
    }
    Ok(out)
}

/// Drafts, approves as a second person and plans (timed) an update.
async fn draft_and_plan(
    app: &App,
    dir: &Path,
    name: &str,
    source: &str,
) -> Result<(i64, PlanReport, Duration, String)> {
    let file = dir.join(format!("{name}.toml"));
    std::fs::write(&file, source)?;
    let id = app.draft(&file, None, DraftOptions::default()).await?.id;
    app.approve(id, "Dr. Jan Claes").await?;
    let update = app.store.update(id).await?;
    let started = Stopwatch::start();
    let report = plan(
        app.store.as_ref(),
        &app.renderer,
        &app.config,
        &update,
        app.clock.now_ms(),
    )
    .await?;
    Ok((id, report, started.elapsed(), started.cpu_note()))
}

fn count_files(dir: &Path) -> usize {
    std::fs::read_dir(dir).map_or(0, |entries| entries.count())
}

/// A planned e-mail of `update` as a channel message.
async fn sample_message(app: &App, update: i64) -> Result<Message> {
    let selection = tocsin::domain::Selection::Patients(Default::default());
    let recipients = app.store.recipients(&selection, 0, 100).await?;
    for recipient in recipients {
        if recipient.contact.email.is_none() {
            continue;
        }
        let Some(stored) = app
            .store
            .delivery(update, recipient.contact.id, ChannelKind::Email)
            .await?
        else {
            continue;
        };
        return Ok(Message {
            delivery_id: stored.id,
            update_id: update,
            channel: ChannelKind::Email,
            address: stored.address.unwrap_or_default(),
            language: stored.language,
            content: stored.content,
            attempt: 1,
        });
    }
    bail!("no planned e-mail among the first patients")
}

/// The MIME bytes of a planned e-mail, as they travel.
async fn sample_mail(app: &App, update: i64) -> Result<Vec<u8>> {
    let message = sample_message(app, update).await?;
    let email = &app.config.email;
    let mail = MailBuilder::new(
        &email.from,
        email.reply_to.as_deref(),
        &email.message_id_domain,
    )
    .map_err(anyhow::Error::msg)?;
    Ok(mail
        .build(&message, true)
        .map_err(anyhow::Error::msg)?
        .bytes)
}

/// The template with its own delivery id, as the n-th message of a run.
fn nth(template: &Message, n: usize) -> Message {
    Message {
        delivery_id: template.delivery_id + n as i64,
        ..template.clone()
    }
}

async fn lettre_rate(
    sink: &Sink,
    mail: &MailBuilder,
    template: &Message,
    count: usize,
    connections: usize,
) -> Result<f64> {
    let transport = AsyncSmtpTransport::<Tokio1Executor>::builder_dangerous("127.0.0.1")
        .port(sink.port)
        .pool_config(PoolConfig::new().max_size(connections as u32))
        .build();
    let built: Vec<_> = (0..count)
        .map(|n| {
            mail.build(&nth(template, n), false)
                .map_err(anyhow::Error::msg)
        })
        .collect::<Result<_>>()?;
    let started = Instant::now();
    let results: Vec<_> = stream::iter(&built)
        .map(|mail| {
            let transport = &transport;
            async move {
                let envelope = Envelope::new(Some(mail.from.clone()), vec![mail.to.clone()])?;
                transport.send_raw(&envelope, &mail.bytes).await?;
                anyhow::Ok(())
            }
        })
        .buffer_unordered(connections)
        .collect()
        .await;
    let elapsed = started.elapsed();
    transport.shutdown().await;
    let sent = results.iter().filter(|result| result.is_ok()).count();
    if let Some(Err(error)) = results.iter().find(|result| result.is_err()) {
        println!("  lettre: {} of {count} failed, e.g. {error}", count - sent);
    }
    Ok(rate(sent as u64, elapsed))
}

async fn ours_rate(
    url: &str,
    mail: &MailBuilder,
    template: &Message,
    count: usize,
    connections: usize,
) -> Result<f64> {
    let channel = SmtpChannel::new(
        SmtpTarget::parse(url, None).map_err(anyhow::Error::msg)?,
        mail.clone(),
        connections,
        Duration::from_secs(30),
    );
    // Messages are made as they are sent, so the benchmark's own memory stays flat.
    let started = Instant::now();
    let (sent, refused) = stream::iter(0..count)
        .map(|n| {
            let channel = &channel;
            let message = nth(template, n);
            async move {
                let mut handover = NoHandover;
                channel.send(&message, &mut handover).await
            }
        })
        .buffer_unordered(connections)
        .fold(
            (0usize, None::<Outcome>),
            |(sent, refused), outcome| async move {
                match outcome {
                    Outcome::Accepted { .. } => (sent + 1, refused),
                    other => (sent, refused.or(Some(other))),
                }
            },
        )
        .await;
    let elapsed = started.elapsed();
    if let Some(outcome) = refused {
        println!(
            "  SmtpChannel: {} of {count} not accepted, e.g. {outcome:?}",
            count - sent
        );
    }
    Ok(rate(sent as u64, elapsed))
}

// ---------------------------------------------------------------------------------------------
// The SMTP sink

const SINK_SIZE_LIMIT: usize = 50 * 1024 * 1024;

/// A small SMTP server that accepts everything and keeps nothing but a count. Its sockets
/// keep the kernel's defaults (Nagle's algorithm and delayed ACKs on), as many servers do;
/// it writes each reply as one segment and flushes only when no pipelined input is waiting.
struct Sink {
    port: u16,
    accepted: Arc<AtomicU64>,
}

impl Sink {
    async fn start() -> Result<Sink> {
        let listener = TcpListener::bind("127.0.0.1:0").await?;
        let port = listener.local_addr()?.port();
        let accepted = Arc::new(AtomicU64::new(0));
        let counter = Arc::clone(&accepted);
        tokio::spawn(async move {
            loop {
                match listener.accept().await {
                    Ok((socket, _)) => {
                        let counter = Arc::clone(&counter);
                        tokio::spawn(async move {
                            let _ = serve(socket, counter).await;
                        });
                    }
                    Err(error) => {
                        eprintln!("sink: accept: {error}");
                        tokio::time::sleep(Duration::from_millis(10)).await;
                    }
                }
            }
        });
        Ok(Sink { port, accepted })
    }
}

async fn serve(socket: TcpStream, accepted: Arc<AtomicU64>) -> std::io::Result<()> {
    let (read, write) = socket.into_split();
    let mut reader = BufReader::with_capacity(64 * 1024, read);
    let mut writer = BufWriter::with_capacity(16 * 1024, write);
    writer
        .write_all(b"220 sink.localhost ESMTP tocsin-bench\r\n")
        .await?;
    writer.flush().await?;
    let mut line = Vec::with_capacity(1024);
    let (mut has_sender, mut recipients) = (false, 0usize);
    loop {
        line.clear();
        if reader.read_until(b'\n', &mut line).await? == 0 {
            return Ok(());
        }
        let verb = line
            .get(..4)
            .map(|verb| verb.to_ascii_uppercase())
            .unwrap_or_default();
        match verb.as_slice() {
            b"EHLO" => {
                has_sender = false;
                recipients = 0;
                writer
                    .write_all(
                        b"250-sink.localhost\r\n250-PIPELINING\r\n250-8BITMIME\r\n\
                          250 SIZE 52428800\r\n",
                    )
                    .await?
            }
            b"HELO" => writer.write_all(b"250 sink.localhost\r\n").await?,
            b"MAIL" if has_sender => {
                writer
                    .write_all(b"503 5.5.1 Error: nested MAIL command\r\n")
                    .await?
            }
            b"MAIL" => {
                has_sender = true;
                writer.write_all(b"250 2.1.0 Ok\r\n").await?
            }
            b"RCPT" if !has_sender => {
                writer
                    .write_all(b"503 5.5.1 Error: need MAIL command\r\n")
                    .await?
            }
            b"RCPT" => {
                recipients += 1;
                writer.write_all(b"250 2.1.5 Ok\r\n").await?
            }
            b"DATA" if recipients == 0 => {
                writer
                    .write_all(b"554 5.5.1 Error: no valid recipients\r\n")
                    .await?
            }
            b"DATA" => {
                writer
                    .write_all(b"354 End data with <CR><LF>.<CR><LF>\r\n")
                    .await?;
                if reader.buffer().is_empty() {
                    writer.flush().await?;
                }
                let mut size = 0usize;
                loop {
                    line.clear();
                    if reader.read_until(b'\n', &mut line).await? == 0 {
                        return Ok(());
                    }
                    if line == b".\r\n" || line == b".\n" {
                        break;
                    }
                    size += line.len();
                }
                has_sender = false;
                recipients = 0;
                if size > SINK_SIZE_LIMIT {
                    writer
                        .write_all(b"552 5.3.4 Error: message file too big\r\n")
                        .await?;
                } else {
                    let id = accepted.fetch_add(1, Ordering::Relaxed) + 1;
                    writer
                        .write_all(format!("250 2.0.0 Ok: queued as {id:010X}\r\n").as_bytes())
                        .await?;
                }
            }
            b"RSET" => {
                has_sender = false;
                recipients = 0;
                writer.write_all(b"250 2.0.0 Ok\r\n").await?
            }
            b"NOOP" => writer.write_all(b"250 2.0.0 Ok\r\n").await?,
            b"QUIT" => {
                writer.write_all(b"221 2.0.0 Bye\r\n").await?;
                writer.flush().await?;
                return Ok(());
            }
            _ => {
                writer
                    .write_all(b"502 5.5.2 Error: command not recognized\r\n")
                    .await?
            }
        }
        if reader.buffer().is_empty() {
            writer.flush().await?;
        }
    }
}

/// The sink's throughput on its own, with a raw client on `connections` connections.
/// `pipelined`: each transaction goes out in one write (as PIPELINING allows, data after the
/// DATA command included); otherwise every command waits for its reply.
async fn sink_capacity(
    sink: &Sink,
    connections: usize,
    total: usize,
    message: &[u8],
    pipelined: bool,
) -> Result<f64> {
    let mut body = dot_stuffed(message);
    body.extend_from_slice(b".\r\n");
    let body = Arc::new(body);
    let before = sink.accepted.load(Ordering::Relaxed);
    let started = Instant::now();
    let mut clients = tokio::task::JoinSet::new();
    for c in 0..connections {
        let share = total / connections + usize::from(c < total % connections);
        let body = Arc::clone(&body);
        let port = sink.port;
        clients.spawn(async move { blast(port, share, &body, pipelined).await });
    }
    while let Some(result) = clients.join_next().await {
        result??;
    }
    let elapsed = started.elapsed();
    let accepted = sink.accepted.load(Ordering::Relaxed) - before;
    if accepted != total as u64 {
        bail!("the sink accepted {accepted} of {total} messages");
    }
    Ok(rate(accepted, elapsed))
}

fn dot_stuffed(message: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(message.len() + 16);
    let mut at_line_start = true;
    for &byte in message {
        if at_line_start && byte == b'.' {
            out.push(b'.');
        }
        out.push(byte);
        at_line_start = byte == b'\n';
    }
    if !out.ends_with(b"\r\n") {
        out.extend_from_slice(b"\r\n");
    }
    out
}

async fn blast(port: u16, count: usize, body: &[u8], pipelined: bool) -> Result<()> {
    let socket = TcpStream::connect(("127.0.0.1", port)).await?;
    socket.set_nodelay(true)?;
    let (read, mut write) = socket.into_split();
    let mut reader = BufReader::new(read);
    let mut line = Vec::new();
    expect(&mut reader, &mut line, b"220").await?;
    write.write_all(b"EHLO bench.localhost\r\n").await?;
    expect(&mut reader, &mut line, b"250").await?;
    let envelope: &[u8] =
        b"MAIL FROM:<crisis@example.be>\r\nRCPT TO:<patient@example.be>\r\nDATA\r\n";
    let mut transaction = envelope.to_vec();
    transaction.extend_from_slice(body);
    for _ in 0..count {
        if pipelined {
            write.write_all(&transaction).await?;
            for code in [b"250", b"250", b"354", b"250"] {
                expect(&mut reader, &mut line, code).await?;
            }
        } else {
            write
                .write_all(b"MAIL FROM:<crisis@example.be>\r\n")
                .await?;
            expect(&mut reader, &mut line, b"250").await?;
            write.write_all(b"RCPT TO:<patient@example.be>\r\n").await?;
            expect(&mut reader, &mut line, b"250").await?;
            write.write_all(b"DATA\r\n").await?;
            expect(&mut reader, &mut line, b"354").await?;
            write.write_all(body).await?;
            expect(&mut reader, &mut line, b"250").await?;
        }
    }
    write.write_all(b"QUIT\r\n").await?;
    expect(&mut reader, &mut line, b"221").await?;
    Ok(())
}

/// Reads one (possibly multi-line) reply and checks its code.
async fn expect(
    reader: &mut BufReader<tokio::net::tcp::OwnedReadHalf>,
    line: &mut Vec<u8>,
    code: &[u8],
) -> Result<()> {
    loop {
        line.clear();
        if reader.read_until(b'\n', line).await? == 0 {
            bail!("the sink closed the connection");
        }
        if !line.starts_with(code) {
            bail!(
                "expected {}, got {:?}",
                String::from_utf8_lossy(code),
                String::from_utf8_lossy(line)
            );
        }
        if line.get(3) != Some(&b'-') {
            return Ok(());
        }
    }
}
