//! Broadcast throughput against the targets: plan + render, dispatch to the file
//! outbox, dispatch over SMTP to an in-process sink, lettre's pooled transport next to our own
//! SMTP connections, and peak memory.
//!
//! `cargo bench --bench broadcast [-- --patients N] [--smtp-connections C] [--workers W]
//!  [--claim-batch B] [--lettre-messages M] [--channel-messages C] [--sink-messages S]
//!  [--sink-connections K] [--stop-after plan] [--no-count]`
//!
//! This process generates and imports the hospital; a fresh process of the same binary then
//! plans, renders and dispatches, so that its peak memory (VmHWM) is the broadcast's alone, as
//! it is when `tocsin import` and `tocsin update send` run one after the other.
//!
//! It prints figures and asserts nothing: timings depend on the machine. Then it runs again
//! under valgrind's callgrind with 10,000 patients (unless `--no-count`) and prints the
//! instructions per item of planning, of the SMTP sink's own capacity test and of dispatch
//! over SMTP: figures that do not depend on the machine or its load.

/// The same allocator as the `tocsin` binary, so the figures are the binary's.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

mod common;

use anyhow::{anyhow, bail, Context, Result};
use chrono::NaiveDate;
use common::callgrind::{self, COUNTED};
use common::measure::{cores, load_average, print_memory, Lap, Stopwatch};
use common::smtp_sink::Sink;
use common::{not_sent, rate, thousands, Figure, Summary};
use futures::stream::{self, StreamExt};
use lettre::address::Envelope;
use lettre::transport::smtp::PoolConfig;
use lettre::{AsyncSmtpTransport, AsyncTransport, Tokio1Executor};
use std::path::{Path, PathBuf};
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};
use tocsin::app::App;
use tocsin::author::DraftOptions;
use tocsin::channels::email::{MailBuilder, SmtpChannel, SmtpTarget};
use tocsin::channels::{Channel, Message, NoHandover, Outcome};
use tocsin::config::{Config, EmailTransport};
use tocsin::demo::synthetic;
use tocsin::domain::{ChannelKind, UpdateState};
use tocsin::plan::{plan, PlanReport};

/// The shipped first alert; the bench narrows its audiences and channels.
const FIRST_ALERT: &str = include_str!("../examples/01-first-alert.toml");

const PLAN_TARGET: f64 = 50_000.0;
const SMTP_TARGET: f64 = 10_000.0;
const RSS_TARGET_MB: f64 = 200.0;

// The counted phases.
const PLAN_BOTH: &str = "plan + render (SMS + e-mail)";
const PLAN_EMAIL: &str = "plan + render (e-mail)";
const SINK: &str = "the SMTP sink with a raw client";
const SMTP: &str = "dispatch over SMTP";

/// Patients and sink messages in the run under callgrind: enough for steady figures, few
/// enough for valgrind.
const COUNTED_ITEMS: &str = "10000";

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
    /// This process runs under callgrind: count the hot phases, skip the rest.
    counted: bool,
    /// Skip the run under callgrind.
    no_count: bool,
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
            counted: false,
            no_count: false,
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
                COUNTED => {
                    args.counted = true;
                    continue;
                }
                "--no-count" => {
                    args.no_count = true;
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
    let lap = started.stop();
    let imported = lap.wall;
    let import_cpu = lap.note(contacts as u64);
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
    if args.counted {
        return Ok(());
    }
    let mut summary = Summary::load(&figures)?;
    if !args.no_count {
        callgrind::count_into(
            &mut summary,
            &format!("{COUNTED_ITEMS} patients"),
            &[
                ("--patients", COUNTED_ITEMS),
                ("--sink-messages", COUNTED_ITEMS),
            ],
            &[
                (PLAN_BOTH, "delivery", false),
                (PLAN_EMAIL, "delivery", false),
                (SINK, "message", false),
                (SMTP, "message", true),
            ],
            Some((SINK, "the sink's")),
        )?;
    }
    summary.print();
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
    let (first, report, lap) = draft_and_plan(&app, dir, "first", PLAN_BOTH, &source).await?;
    let planned = lap.wall;
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
    println!("  plan + render: {}", lap.note(report.pending));
    summary.at_least(
        format!("plan + render ({} deliveries)", report.pending),
        rendered,
        "deliveries/s",
        PLAN_TARGET,
    );
    summary.info(
        "plan + render, CPU per delivery",
        format!("{:.1} µs", lap.cpu_per_item(report.pending)),
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
    let lap = started.stop();
    let elapsed = lap.wall;
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
    println!("  {}", lap.note(sent));
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
    let (k, total) = (args.sink_connections, args.sink_messages);
    callgrind::start();
    let capacity = sink.capacity(k, total, &sample, true).await?;
    callgrind::stop(SINK, total as u64);
    let lockstep = if args.counted {
        f64::NAN
    } else {
        sink.capacity(k, total, &sample, false).await?
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
    let (second, report, lap) = draft_and_plan(&app, dir, "second", PLAN_EMAIL, &source).await?;
    println!(
        "  plan + render (patients, email): {} deliveries in {:.2} s ({} deliveries/s; {})",
        report.pending,
        lap.wall.as_secs_f64(),
        thousands(rate(report.pending, lap.wall)),
        lap.note(report.pending)
    );
    print_memory("second plan");
    let dispatcher = app.dispatcher()?;
    let tally = dispatcher.tally();
    app.store
        .set_update_state(second, UpdateState::Sending)
        .await?;
    let before = sink.accepted.load(Ordering::Relaxed);
    let started = Stopwatch::start();
    callgrind::start();
    dispatcher.run(second).await?;
    callgrind::stop(SMTP, report.pending);
    let lap = started.stop();
    let elapsed = lap.wall;
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
    println!("  {} (the sink's share included)", lap.note(sent));
    summary.at_least(
        format!(
            "dispatch over SMTP ({sent} msgs, {} conns, {} workers)",
            app.config.email.connections, app.config.dispatch.workers
        ),
        smtp_rate,
        "messages/s",
        SMTP_TARGET,
    );
    summary.info(
        "dispatch over SMTP, CPU per message (the sink's included)",
        format!("{:.1} µs", lap.cpu_per_item(sent)),
    );
    summary.info(
        "dispatch over SMTP, time of the sink's exchanges",
        format!("{:.1} per message", capacity / smtp_rate.max(1e-9)),
    );
    let peak_smtp = print_memory("SMTP dispatch");
    summary.at_most(
        "peak RSS (VmHWM), plan + SMTP dispatch",
        peak_smtp,
        "MB",
        RSS_TARGET_MB,
    );
    if args.counted {
        return Ok(());
    }

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
    let lap = started.stop();
    println!(
        "  SmtpChannel alone (no dispatcher, no handover record), {connections} connections, \
         {count} messages: {} msg/s ({}, the sink's share included)",
        thousands(alone),
        lap.note(count as u64)
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

/// Drafts, approves as a second person and plans (timed and counted as `phase`) an update.
async fn draft_and_plan(
    app: &App,
    dir: &Path,
    name: &str,
    phase: &str,
    source: &str,
) -> Result<(i64, PlanReport, Lap)> {
    let file = dir.join(format!("{name}.toml"));
    std::fs::write(&file, source)?;
    let id = app.draft(&file, None, DraftOptions::default()).await?.id;
    app.approve(id, "Dr. Jan Claes").await?;
    let update = app.store.update(id).await?;
    let started = Stopwatch::start();
    callgrind::start();
    let report = plan(
        app.store.as_ref(),
        &app.renderer,
        &app.config,
        &update,
        app.clock.now_ms(),
    )
    .await?;
    callgrind::stop(phase, report.pending);
    Ok((id, report, started.stop()))
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
            reply_to: None,
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
