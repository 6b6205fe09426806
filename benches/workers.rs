//! Dispatch by separate `tocsin worker` processes (issue 14): N deliveries by SMS to the emulated
//! Kannel, planned once in this process (as `update send` plans), then sent by 1, 2 and 4
//! worker processes sharing one PostgreSQL database, next to one worker on SQLite.
//!
//! `cargo bench --bench workers [-- --deliveries N] [--backends sqlite,postgres]
//!  [--database URL] [--workers 1,2,4] [--counted-deliveries M] [--no-count]`
//!
//! Each backend gets a database of its own: a temporary SQLite file, and a fresh schema in the
//! PostgreSQL database `--database` names (default `postgres://postgres@127.0.0.1:5432/test`),
//! dropped at the end. N synthetic patients with a mobile are imported once
//! per backend; each run drafts and plans a new update to all of them in this process (the
//! planning rate, apart), then starts the workers, each with its own configuration file naming
//! the same database and the emulated Kannel (no `[sms.rates]`: no limit, so the workers are
//! measured, not a pace), and ends when every delivery is final. It prints deliveries per
//! second from the workers' start, the workers' CPU per delivery (utime + stime of each worker
//! process, from /proc), PostgreSQL's (every process named `postgres`, the backends included,
//! before and after), and, on paper, what a national broadcast of 10 million recipients needs
//! at the measured figures, with the database's size per delivery.
//!
//! It asserts nothing about time; it fails loudly unless the emulator got exactly N distinct
//! messages and every delivery ends `sent`. Then one worker runs under valgrind's callgrind on
//! M deliveries (default 10,000) per backend: the instructions it executes from the moment it
//! is up and idle (its start and its database's migrations not counted) until every delivery is
//! final, per delivery.

/// The same allocator as the `tocsin` binary, for the planning done in this process.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

mod common;

use anyhow::{anyhow, bail, Context, Result};
use common::callgrind::{total_in, valgrind_installed};
use common::kannel::{Emulator, PASSWORD, USERNAME};
use common::measure::{
    cores, load_average, machine_busy_seconds, print_memory, process_cpu_seconds, Stopwatch,
};
use common::sms_day::{
    self, count_in_store, distinct_deliveries, draft_sms_update, free_port, RECEIPT_SECRET,
};
use common::{rate, thousands, Flags, Summary};
use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};
use tocsin::app::App;
use tocsin::config::Config;
use tocsin::domain::{DeliveryState, UpdateState};
use tocsin::plan::plan;
use tocsin::store::{PoolSettings, Store, StoreError};
use tokio::process::{Child, Command};

const DEFAULT_DATABASE: &str = "postgres://postgres@127.0.0.1:5432/test";

/// How the benchmark's connections name themselves to PostgreSQL, so that the backends of other
/// clients of the same server can be told apart from ours.
const APPLICATION: &str = "tocsin-bench-workers";

/// The recipients of the broadcast on paper.
const NATIONAL: f64 = 10_000_000.0;

/// A delivery that is final for dispatch (Kannel accepted it; its receipt would come later).
const FINAL: DeliveryState = DeliveryState::Sent;

/// No message reached the emulator for this long: the workers are asked whether they live and
/// the store whether anything is left (under valgrind a worker takes a while to start).
const QUIET: Duration = Duration::from_secs(5);
const STALLED: Duration = Duration::from_secs(300);

struct Args {
    deliveries: usize,
    sqlite: bool,
    /// The PostgreSQL database to make a schema in; None: no PostgreSQL runs.
    database: Option<String>,
    workers: Vec<usize>,
    counted_deliveries: usize,
    no_count: bool,
}

impl Args {
    fn parse() -> Result<Args> {
        let flags = Flags::read_with_texts(
            &["--deliveries", "--counted-deliveries"],
            &["--backends", "--database", "--workers"],
        )?;
        let database = flags.text("--database").unwrap_or(DEFAULT_DATABASE);
        if !database.starts_with("postgres://") && !database.starts_with("postgresql://") {
            bail!("--database {database}: a postgres:// URL");
        }
        let (mut sqlite, mut postgres) = (false, false);
        for backend in flags
            .text("--backends")
            .unwrap_or("sqlite,postgres")
            .split(',')
        {
            match backend.trim() {
                "sqlite" => sqlite = true,
                "postgres" => postgres = true,
                other => bail!("--backends {other}: sqlite, postgres or both"),
            }
        }
        let workers = flags
            .text("--workers")
            .unwrap_or("1,2,4")
            .split(',')
            .map(|count| match count.trim().parse::<usize>() {
                Ok(count) if count > 0 => Ok(count),
                _ => Err(anyhow!("--workers {count}: a list of counts such as 1,2,4")),
            })
            .collect::<Result<Vec<_>>>()?;
        Ok(Args {
            deliveries: flags.number("--deliveries").unwrap_or(1_000_000),
            sqlite,
            database: postgres.then(|| database.to_string()),
            workers,
            counted_deliveries: flags.number("--counted-deliveries").unwrap_or(10_000),
            no_count: flags.no_count,
        })
    }
}

fn main() -> Result<()> {
    common::block_on(run(Args::parse()?))
}

// ---------------------------------------------------------------------------------------------
// The run

/// What one backend's database is, and how to reach it.
struct Backend {
    /// "SQLite" or "PostgreSQL".
    name: &'static str,
    url: String,
    /// The admin connection and the schema, for PostgreSQL.
    postgres: Option<Schema>,
}

/// The figures of one run: one update planned here, then sent by `workers` processes.
struct Run {
    backend: &'static str,
    workers: usize,
    deliveries: u64,
    plan_rate: f64,
    /// This process's CPU per planned delivery, in µs.
    plan_cpu: f64,
    /// PostgreSQL's CPU per planned delivery, in µs.
    plan_postgres: Option<f64>,
    /// Bytes of WAL the server wrote while planning, per delivery.
    plan_wal: Option<f64>,
    rate: f64,
    wall: Duration,
    /// The worker processes' CPU per delivery, summed, in µs.
    worker_cpu: f64,
    postgres: Option<PostgresCpu>,
    /// Bytes of WAL the server wrote during the dispatch, per delivery.
    wal: Option<f64>,
}

/// PostgreSQL's CPU per delivery during a run, in µs.
#[derive(Clone, Copy)]
struct PostgresCpu {
    /// Every process named `postgres`: the server's.
    all: f64,
    /// The backends of other clients of the server (other tests, other benchmarks): part of
    /// `all`, and not this benchmark's doing.
    others: f64,
}

async fn run(args: Args) -> Result<()> {
    let mut summary = Summary::default();
    let n = args.deliveries;
    println!(
        "Tocsin worker benchmark: {n} deliveries by SMS, {} worker process(es) on PostgreSQL{}; \
         {} cores, load average {}",
        if args.database.is_some() {
            format!("{:?}", args.workers)
        } else {
            "no".into()
        },
        if args.sqlite { ", 1 on SQLite" } else { "" },
        cores(),
        load_average()
    );
    let rig = Rig {
        binary: tocsin_binary()?,
        gateway: Emulator::start().await?,
        // Nothing listens there: the workers only sign Kannel's `dlr-url` with it.
        serve_port: free_port()?,
    };
    rig.gateway.reset();
    let tmp = tempfile::tempdir()?;

    let mut runs = Vec::new();
    if args.sqlite {
        let sqlite = Backend {
            name: "SQLite",
            url: format!("sqlite://{}", tmp.path().join("bench.db").display()),
            postgres: None,
        };
        println!("\n[1] SQLite, one worker process");
        let dir = tmp.path().join("sqlite");
        runs.extend(backend_runs(&rig, &dir, &sqlite, n, &[1]).await?);
        let bytes = sqlite_files(tmp.path())?
            .iter()
            .map(|file| Ok(std::fs::metadata(file)?.len()))
            .sum::<Result<u64>>()?;
        // Gigabytes at a million deliveries, on the disk PostgreSQL writes to next.
        for file in sqlite_files(tmp.path())? {
            std::fs::remove_file(file)?;
        }
        summary.info(
            "SQLite: the database file (WAL included) per delivery",
            format!("{} bytes", thousands(bytes as f64 / n as f64)),
        );
    }

    let mut sizes = None;
    let mut postgres_ready = false;
    if let Some(server) = &args.database {
        println!("\n[2] PostgreSQL, {:?} worker processes", args.workers);
        let backend = postgres_backend(server, "run").await?;
        let schema = backend.schema()?;
        match probe(&backend).await {
            Err(reason) => not_measured(&mut summary, &reason),
            Ok(()) => {
                postgres_ready = true;
                let dir = tmp.path().join("postgres");
                let measured = backend_runs(&rig, &dir, &backend, n, &args.workers).await;
                let measured = match measured {
                    Ok(measured) => schema.sizes().await.map(|sizes| (measured, sizes)),
                    Err(error) => Err(error),
                };
                // The schema goes whatever happened: a million deliveries are gigabytes.
                schema.drop().await?;
                let (measured, measured_sizes) = measured?;
                runs.extend(measured);
                sizes = Some(measured_sizes);
            }
        }
        if !postgres_ready {
            schema.drop().await?;
        }
    } else {
        not_measured(&mut summary, "--backends without postgres");
    }

    println!("\n[3] The figures");
    for run in &runs {
        summary_of(&mut summary, run);
    }
    if let Some(sizes) = &sizes {
        sizes.print(&mut summary);
    }
    national(&runs, sizes.as_ref());

    if !args.no_count {
        count(
            &mut summary,
            &rig,
            tmp.path(),
            args.counted_deliveries,
            args.sqlite,
            args.database.as_deref().filter(|_| postgres_ready),
        )
        .await?;
    }
    summary.print();
    Ok(())
}

/// Says loudly that PostgreSQL was not measured, and why.
fn not_measured(summary: &mut Summary, reason: &str) {
    println!();
    println!("!!! PostgreSQL NOT MEASURED: {reason}");
    println!("!!! Only the SQLite figures below are this run's.");
    summary.info("PostgreSQL", format!("NOT MEASURED: {reason}"));
}

/// What every run uses: the workers' binary, the emulated gateway they send to, and the port
/// their `dlr-url` names.
struct Rig {
    binary: PathBuf,
    gateway: Emulator,
    serve_port: u16,
}

/// The `tocsin` binary cargo built beside this benchmark (the same profile).
fn tocsin_binary() -> Result<PathBuf> {
    let binary = PathBuf::from(env!("CARGO_BIN_EXE_tocsin"));
    if !binary.exists() {
        bail!(
            "{} is missing: `cargo bench --bench workers` builds it",
            binary.display()
        );
    }
    Ok(binary)
}

/// Imports `n` patients into the backend's database, then for each count of `workers` plans a
/// new update to all of them here and has that many worker processes send it.
async fn backend_runs(
    rig: &Rig,
    dir: &Path,
    backend: &Backend,
    n: usize,
    workers: &[usize],
) -> Result<Vec<Run>> {
    let gateway = &rig.gateway;
    std::fs::create_dir_all(dir)?;
    let configs = (0..workers.iter().copied().max().unwrap_or(1))
        .map(|i| write_config(&dir.join(format!("worker-{i}")), backend, rig))
        .collect::<Result<Vec<_>>>()?;
    let app = App::open(Config::load(Some(&configs[0]))?).await?;

    let lap = Stopwatch::start();
    sms_day::import_patients(&app, n).await?;
    let lap = lap.stop();
    println!(
        "  imported {n} patients with a mobile in {:.1} s ({} patients/s; not part of the runs)",
        lap.wall.as_secs_f64(),
        thousands(rate(n as u64, lap.wall))
    );

    let mut runs = Vec::new();
    for &count in workers {
        println!("\n  {} -- {count} worker process(es)", backend.name);
        // Planning: here, once, as `update send` does before it dispatches.
        let update = draft_sms_update(&app, dir).await?;
        let postgres_before = backend.postgres.as_ref().map(|_| postgres_cpu());
        let wal = wal_mark(backend).await?;
        let lap = Stopwatch::start();
        let report = plan(
            app.store.as_ref(),
            &app.renderer,
            &app.config,
            &app.store.update(update).await?,
            app.clock.now_ms(),
        )
        .await?;
        let lap = lap.stop();
        let planned = report.pending;
        if planned != n as u64 {
            bail!("expected {n} SMS to send, planned {planned}");
        }
        let plan_postgres = postgres_before
            .map(|before| cpu_since(&before, &postgres_cpu()).0 * 1e6 / planned as f64);
        let plan_wal = wal_per_delivery(backend, wal, planned).await?;
        let plan_rate = rate(planned, lap.wall);
        println!(
            "  planned and rendered {planned} SMS in {:.2} s: {} deliveries/s; {}{}",
            lap.wall.as_secs_f64(),
            thousands(plan_rate),
            lap.note(planned),
            plan_postgres
                .zip(plan_wal)
                .map(|(cpu, wal)| format!(
                    "; PostgreSQL {cpu:.1} µs and {wal:.0} bytes of WAL per delivery"
                ))
                .unwrap_or_default()
        );
        print_memory("plan");
        app.store
            .set_update_state(update, UpdateState::Sending)
            .await?;

        // Dispatch: the workers find the update being sent as they start.
        gateway.take();
        let received_before = gateway.requests.load(Ordering::Relaxed);
        let emulator_before = gateway.cpu_seconds();
        let machine_before = machine_busy_seconds();
        let own_before = common::measure::cpu_seconds();
        let postgres_before = backend.postgres.as_ref().map(|_| postgres_cpu());
        let wal = wal_mark(backend).await?;
        let started = Instant::now();
        let mut children = Vec::with_capacity(count);
        for (i, config) in configs.iter().take(count).enumerate() {
            children.push(spawn_worker(
                &rig.binary,
                config,
                &dir.join(format!("worker-{i}.log")),
            )?);
        }
        let pids: Vec<u32> = children.iter().filter_map(Child::id).collect();
        let target = received_before + planned;
        wait_until_final(app.store.as_ref(), update, gateway, target, &mut children).await?;
        let wall = started.elapsed();
        let worker_seconds: f64 = pids.iter().map(|&pid| process_cpu_seconds(pid)).sum();
        let postgres = match (&postgres_before, &backend.postgres) {
            (Some(before), Some(schema)) => {
                let (all, ours) = cpu_since(before, &postgres_cpu());
                let others = others_share(schema, &ours).await?;
                Some(PostgresCpu {
                    all: all * 1e6 / planned as f64,
                    others: others * 1e6 / planned as f64,
                })
            }
            _ => None,
        };
        let wal = wal_per_delivery(backend, wal, planned).await?;
        let own = common::measure::cpu_seconds() - own_before;
        let machine = machine_busy_seconds() - machine_before;
        let emulator = gateway.cpu_seconds() - emulator_before;
        stop_workers(children).await?;

        let received = gateway.requests.load(Ordering::Relaxed) - received_before;
        let distinct = distinct_deliveries(&gateway.take())?;
        let sent = count_in_store(app.store.as_ref(), update, FINAL).await?;
        if received != planned || distinct as u64 != planned || sent != planned {
            bail!(
                "{planned} SMS planned: the emulator received {received} for {distinct} distinct \
                 deliveries, {sent} deliveries are `sent`"
            );
        }
        let run = Run {
            backend: backend.name,
            workers: count,
            deliveries: planned,
            plan_rate,
            plan_cpu: lap.cpu_per_item(planned),
            plan_postgres,
            plan_wal,
            rate: rate(planned, wall),
            wall,
            worker_cpu: worker_seconds * 1e6 / planned as f64,
            postgres,
            wal,
        };
        let seconds = wall.as_secs_f64().max(1e-9);
        let postgres_seconds = postgres.map_or(0.0, |cpu| cpu.all * planned as f64 / 1e6);
        println!(
            "  {planned} SMS sent by {count} worker(s) in {seconds:.2} s: {} deliveries/s; the \
             emulator got {received} messages for {distinct} distinct deliveries",
            thousands(run.rate)
        );
        println!(
            "  CPU per delivery: the workers {:.1} µs{}, the emulator's thread {:.1} µs",
            run.worker_cpu,
            postgres
                .zip(wal)
                .map(|(cpu, wal)| format!(
                    ", PostgreSQL {:.1} µs (of which other clients' backends {:.1} µs) and \
                     {wal:.0} bytes of WAL",
                    cpu.all, cpu.others
                ))
                .unwrap_or_default(),
            emulator * 1e6 / planned as f64
        );
        println!(
            "  cores busy: the workers {:.2}, PostgreSQL {:.2}, this process {:.2} (the \
             emulator's thread {:.2}), the rest of the machine {:.2} of {}; load average {}",
            worker_seconds / seconds,
            postgres_seconds / seconds,
            own / seconds,
            emulator / seconds,
            (machine - own - worker_seconds - postgres_seconds).max(0.0) / seconds,
            cores(),
            load_average()
        );
        runs.push(run);
    }
    Ok(runs)
}

/// A worker's configuration file in `dir`: the backend's database, the emulated Kannel, and
/// hospital details of its own (a worker refuses the shipped placeholders).
fn write_config(dir: &Path, backend: &Backend, rig: &Rig) -> Result<PathBuf> {
    let serve_port = rig.serve_port;
    std::fs::create_dir_all(dir)?;
    let outbox =
        |channel: &str| toml_string(&dir.join("outbox").join(channel).display().to_string());
    let text = format!(
        r#"database_url = {database}

[hospital]
name = "Algemeen Ziekenhuis Benchwijk"
short_name = "AZB"
phone = "+32 3 555 12 12"
press_phone = "+32 3 555 12 13"
website = "https://crisis.azb-benchwijk.be"

[email]
from = "Crisiscel AZB <crisis@azb-benchwijk.be>"
dir = {email}

[sms]
transport = "gateways"
dir = {sms}

[[sms.gateways]]
kind = "kannel"
base_url = "http://127.0.0.1:{port}"
username = "{USERNAME}"
password = "{PASSWORD}"
from = "AZB"
dlr_url = "http://127.0.0.1:{serve_port}/receipts/kannel"

[telegram]
dir = {telegram}

[serve]
bind = "127.0.0.1:{serve_port}"
receipt_secret = "{RECEIPT_SECRET}"
"#,
        database = toml_string(&backend.url),
        email = outbox("email"),
        sms = outbox("sms"),
        telegram = outbox("telegram"),
        port = rig.gateway.port,
    );
    let path = dir.join("tocsin.toml");
    std::fs::write(&path, text)?;
    Config::load(Some(&path)).with_context(|| format!("the worker's {}", path.display()))?;
    Ok(path)
}

/// A TOML basic string.
fn toml_string(text: &str) -> String {
    format!("\"{}\"", text.replace('\\', "\\\\").replace('"', "\\\""))
}

fn spawn_worker(binary: &Path, config: &Path, log: &Path) -> Result<Child> {
    Command::new(binary)
        .arg("--config")
        .arg(config)
        .arg("worker")
        .env_remove("TOCSIN_DATABASE_URL")
        .env("TOCSIN_LOG", "warn")
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(std::fs::File::create(log)?)
        .kill_on_drop(true)
        .spawn()
        .with_context(|| format!("starting {}", binary.display()))
}

/// Waits until the emulator has `target` messages in all and then every delivery of the update
/// is final in the store: the emulator's count is free to read, the store's backlog is read
/// only at the end or when nothing arrives for a while.
async fn wait_until_final(
    store: &dyn Store,
    update: i64,
    gateway: &Emulator,
    target: u64,
    children: &mut [Child],
) -> Result<()> {
    let mut seen = gateway.requests.load(Ordering::Relaxed);
    let mut moved = Instant::now();
    while seen < target {
        tokio::time::sleep(Duration::from_millis(5)).await;
        let now = gateway.requests.load(Ordering::Relaxed);
        if now != seen {
            seen = now;
            moved = Instant::now();
            continue;
        }
        if moved.elapsed() < QUIET {
            continue;
        }
        for child in children.iter_mut() {
            if let Some(status) = child.try_wait()? {
                bail!("a worker ended before the broadcast did: {status} (its log is kept)");
            }
        }
        let backlog = store.backlog(update).await?;
        if backlog.open == 0 {
            break;
        }
        if moved.elapsed() > STALLED {
            bail!(
                "no message for {STALLED:?}, {} deliveries still open",
                backlog.open
            );
        }
        tokio::time::sleep(Duration::from_secs(1)).await;
    }
    // The last sends are recorded after Kannel's answer.
    loop {
        let backlog = store.backlog(update).await?;
        if backlog.open == 0 && backlog.held == 0 {
            return Ok(());
        }
        if backlog.open == 0 {
            bail!("{} deliveries held back: a channel stopped", backlog.held);
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

/// SIGTERM, as a service manager stops them, and waits for each.
async fn stop_workers(children: Vec<Child>) -> Result<()> {
    for mut child in children {
        terminate(&child);
        match tokio::time::timeout(Duration::from_secs(60), child.wait()).await {
            Ok(status) => {
                let status = status?;
                if !status.success() {
                    bail!("a worker stopped by SIGTERM ended {status} (its log is kept)");
                }
            }
            Err(_) => {
                child.kill().await?;
                bail!("a worker did not stop within 60 s of SIGTERM");
            }
        }
    }
    Ok(())
}

fn terminate(child: &Child) {
    if let Some(pid) = child.id() {
        // SAFETY: kill only sends a signal to the process we started, which we have not
        // waited for yet, so its id is still its own.
        unsafe {
            libc::kill(pid as libc::pid_t, libc::SIGTERM);
        }
    }
}

/// The SQLite database's files, its WAL included.
fn sqlite_files(dir: &Path) -> Result<Vec<PathBuf>> {
    let mut files = Vec::new();
    for entry in std::fs::read_dir(dir)? {
        let entry = entry?;
        if entry.file_name().to_string_lossy().starts_with("bench.db") {
            files.push(entry.path());
        }
    }
    Ok(files)
}

// ---------------------------------------------------------------------------------------------
// PostgreSQL

/// A fresh schema in the server's database, and a connection outside the stores to make it,
/// to read the server's figures and to drop it.
struct Schema {
    admin: sqlx::PgPool,
    name: String,
}

impl Backend {
    fn schema(&self) -> Result<&Schema> {
        self.postgres
            .as_ref()
            .ok_or_else(|| anyhow!("{} has no schema", self.name))
    }
}

async fn postgres_backend(server: &str, purpose: &str) -> Result<Backend> {
    let admin = sqlx::postgres::PgPoolOptions::new()
        .max_connections(1)
        .connect(server)
        .await
        .with_context(|| format!("connecting to {server}"))?;
    let name = format!(
        "bench_workers_{purpose}_{}_{}",
        std::process::id(),
        rand::random::<u16>()
    );
    sqlx::query(&format!("CREATE SCHEMA {name}"))
        .execute(&admin)
        .await?;
    let separator = if server.contains('?') { '&' } else { '?' };
    Ok(Backend {
        name: "PostgreSQL",
        url: format!(
            "{server}{separator}options=-c%20search_path%3D{name}&application_name={APPLICATION}"
        ),
        postgres: Some(Schema { admin, name }),
    })
}

/// Whether this build's `store::open` takes the URL.
async fn probe(backend: &Backend) -> Result<(), String> {
    match tocsin::store::open(&backend.url, &PoolSettings::default()).await {
        Ok(_) => Ok(()),
        Err(StoreError::UnsupportedUrl(_)) => {
            Err("this build's store::open refuses postgres:// URLs".into())
        }
        Err(error) => Err(format!("cannot open {}: {error}", backend.url)),
    }
}

impl Schema {
    async fn drop(&self) -> Result<()> {
        sqlx::query(&format!("DROP SCHEMA {} CASCADE", self.name))
            .execute(&self.admin)
            .await?;
        Ok(())
    }

    async fn wal_position(&self) -> Result<String> {
        Ok(sqlx::query_scalar("SELECT pg_current_wal_lsn()::text")
            .fetch_one(&self.admin)
            .await?)
    }

    /// Bytes of WAL the whole server wrote since `position`.
    async fn wal_since(&self, position: &str) -> Result<i64> {
        Ok(
            sqlx::query_scalar("SELECT pg_wal_lsn_diff(pg_current_wal_lsn(), $1::pg_lsn)::bigint")
                .bind(position)
                .fetch_one(&self.admin)
                .await?,
        )
    }

    /// The process ids of the server's backends that serve other clients than this benchmark.
    async fn other_clients(&self) -> Result<Vec<u32>> {
        let pids: Vec<i32> = sqlx::query_scalar(
            "SELECT pid FROM pg_stat_activity WHERE backend_type = 'client backend' \
             AND application_name <> $1 AND pid <> pg_backend_pid()",
        )
        .bind(APPLICATION)
        .fetch_all(&self.admin)
        .await?;
        Ok(pids
            .into_iter()
            .filter_map(|pid| u32::try_from(pid).ok())
            .collect())
    }

    async fn sizes(&self) -> Result<Sizes> {
        let size = |tables: &[&str]| {
            tables
                .iter()
                .map(|table| format!("pg_total_relation_size('{}.{table}')", self.name))
                .collect::<Vec<_>>()
                .join(" + ")
        };
        let (deliveries_bytes, directory_bytes, deliveries, contacts): (i64, i64, i64, i64) =
            sqlx::query_as(&format!(
                "SELECT ({})::bigint, ({})::bigint, (SELECT COUNT(*) FROM {schema}.deliveries), \
                 (SELECT COUNT(*) FROM {schema}.contacts)",
                size(&["deliveries", "delivery_events", "delivery_messages"]),
                size(&["contacts", "contact_identities", "appointments"]),
                schema = self.name
            ))
            .fetch_one(&self.admin)
            .await?;
        Ok(Sizes {
            deliveries,
            contacts,
            deliveries_bytes,
            directory_bytes,
        })
    }
}

/// Where the server's WAL stands, for a PostgreSQL backend.
async fn wal_mark(backend: &Backend) -> Result<Option<String>> {
    match &backend.postgres {
        Some(schema) => Ok(Some(schema.wal_position().await?)),
        None => Ok(None),
    }
}

/// Bytes of WAL the server wrote since `mark`, per delivery (other clients' included).
async fn wal_per_delivery(
    backend: &Backend,
    mark: Option<String>,
    deliveries: u64,
) -> Result<Option<f64>> {
    match (&backend.postgres, mark) {
        (Some(schema), Some(mark)) => Ok(Some(
            schema.wal_since(&mark).await? as f64 / deliveries.max(1) as f64,
        )),
        _ => Ok(None),
    }
}

/// CPU seconds of every process named `postgres`, by process id: its own and that of the
/// children it reaped (the postmaster's ended backends), so a backend that ends between two
/// readings still counts.
fn postgres_cpu() -> HashMap<u32, f64> {
    let mut cpu = HashMap::new();
    let Ok(entries) = std::fs::read_dir("/proc") else {
        return cpu;
    };
    for entry in entries.flatten() {
        let Some(pid) = entry.file_name().to_str().and_then(|pid| pid.parse().ok()) else {
            continue;
        };
        let stat = std::fs::read_to_string(entry.path().join("stat")).unwrap_or_default();
        let Some((head, rest)) = stat.rsplit_once(')') else {
            continue;
        };
        if !head.ends_with("(postgres") {
            continue;
        }
        // After the command: utime, stime, cutime and cstime are fields 14 to 17, in clock
        // ticks of 1/100 s.
        let ticks: f64 = rest
            .split_whitespace()
            .skip(11)
            .take(4)
            .filter_map(|field| field.parse::<f64>().ok())
            .sum();
        cpu.insert(pid, ticks / 100.0);
    }
    cpu
}

/// CPU seconds the server spent between two readings, in all and by process. In all: the
/// difference of the sums, since a backend that ended meanwhile is gone from the second
/// reading but its time is in the postmaster's count of its reaped children.
fn cpu_since(before: &HashMap<u32, f64>, after: &HashMap<u32, f64>) -> (f64, HashMap<u32, f64>) {
    let by_process = after
        .iter()
        .map(|(pid, &seconds)| (*pid, seconds - before.get(pid).copied().unwrap_or(0.0)))
        .collect();
    let all = after.values().sum::<f64>() - before.values().sum::<f64>();
    (all, by_process)
}

/// The part of the server's CPU between the readings that went to other clients' backends
/// (those alive at the end; the ones that ended meanwhile cannot be told apart).
async fn others_share(schema: &Schema, by_process: &HashMap<u32, f64>) -> Result<f64> {
    Ok(schema
        .other_clients()
        .await?
        .iter()
        .filter_map(|pid| by_process.get(pid))
        .sum())
}

/// The PostgreSQL database's size after the runs.
struct Sizes {
    deliveries: i64,
    contacts: i64,
    /// deliveries + delivery_events + delivery_messages, indexes and TOAST included.
    deliveries_bytes: i64,
    /// contacts + contact_identities + appointments.
    directory_bytes: i64,
}

impl Sizes {
    fn per_delivery(&self) -> f64 {
        self.deliveries_bytes as f64 / self.deliveries.max(1) as f64
    }

    fn per_contact(&self) -> f64 {
        self.directory_bytes as f64 / self.contacts.max(1) as f64
    }

    fn print(&self, summary: &mut Summary) {
        println!(
            "  PostgreSQL's tables after the runs: {} deliveries in {:.0} MB (deliveries, \
             delivery_events, delivery_messages: {:.0} bytes each); {} patients in {:.0} MB \
             (contacts, identities, appointments: {:.0} bytes each)",
            self.deliveries,
            self.deliveries_bytes as f64 / 1e6,
            self.per_delivery(),
            self.contacts,
            self.directory_bytes as f64 / 1e6,
            self.per_contact(),
        );
        summary.info(
            "PostgreSQL: deliveries + events + messages per delivery",
            format!("{} bytes", thousands(self.per_delivery())),
        );
        summary.info(
            "PostgreSQL: contacts + identities + appointments per patient",
            format!("{} bytes", thousands(self.per_contact())),
        );
    }
}

// ---------------------------------------------------------------------------------------------
// The figures, and the national broadcast on paper

fn summary_of(summary: &mut Summary, run: &Run) {
    let who = format!(
        "{}, {} worker{}",
        run.backend,
        run.workers,
        if run.workers == 1 { "" } else { "s" }
    );
    summary.info(
        format!("{who}: dispatch ({} deliveries)", run.deliveries),
        format!(
            "{} deliveries/s ({:.1} s)",
            thousands(run.rate),
            run.wall.as_secs_f64()
        ),
    );
    summary.info(
        format!("{who}: the workers' CPU per delivery"),
        format!("{:.1} µs", run.worker_cpu),
    );
    if let Some(cpu) = run.postgres {
        summary.info(
            format!("{who}: PostgreSQL's CPU per delivery"),
            format!("{:.1} µs (other clients {:.1})", cpu.all, cpu.others),
        );
    }
    if let (Some(plan), Some(dispatch)) = (run.plan_wal, run.wal) {
        summary.info(
            format!("{who}: PostgreSQL's WAL per delivery, planning + dispatch"),
            format!("{plan:.0} + {dispatch:.0} bytes"),
        );
    }
    summary.info(
        format!("{who}: planning in one process"),
        format!(
            "{} deliveries/s, {:.1} µs{}",
            thousands(run.plan_rate),
            run.plan_cpu,
            run.plan_postgres
                .map(|cpu| format!(" + PostgreSQL {cpu:.1} µs"))
                .unwrap_or_default()
        ),
    );
}

/// What 10 million recipients need at the measured figures, assuming each scales linearly.
fn national(runs: &[Run], sizes: Option<&Sizes>) {
    println!(
        "\n  On paper: a national broadcast to {} recipients at this run's figures (linear \
         extrapolation; on this machine's {} cores)",
        thousands(NATIONAL),
        cores()
    );
    let hours = |seconds: f64| format!("{:.0} min", seconds / 60.0);
    for run in runs {
        let dispatch = NATIONAL / run.rate.max(1e-9);
        let planning = NATIONAL / run.plan_rate.max(1e-9);
        let worker_hours = NATIONAL * run.worker_cpu / 1e6 / 3600.0;
        let postgres = run.postgres.map(|cpu| NATIONAL * cpu.all / 1e6 / 3600.0);
        // The cores that send 10 million in one hour: the rate it takes, times the CPU each
        // delivery costs.
        let per_second = NATIONAL / 3600.0;
        println!(
            "  {} with {} worker(s): planning {} (one process), dispatch {}; CPU: workers {:.1} \
             core-hours{}; to send it in one hour ({} deliveries/s): {:.1} cores of workers{}",
            run.backend,
            run.workers,
            hours(planning),
            hours(dispatch),
            worker_hours,
            postgres
                .map(|hours| format!(", PostgreSQL {hours:.1} core-hours"))
                .unwrap_or_default(),
            thousands(per_second),
            per_second * run.worker_cpu / 1e6,
            run.postgres
                .map(|cpu| format!(" and {:.1} of PostgreSQL", per_second * cpu.all / 1e6))
                .unwrap_or_default(),
        );
    }
    if let Some(sizes) = sizes {
        let wal = runs
            .iter()
            .filter_map(|run| Some(run.plan_wal? + run.wal?))
            .fold(0.0, f64::max);
        println!(
            "  PostgreSQL disk: {:.1} GB for the deliveries' tables, {:.1} GB for a directory \
             of {} patients; {:.1} GB of WAL written by planning and dispatch (the most of the \
             runs; archived WAL keeps it)",
            NATIONAL * sizes.per_delivery() / 1e9,
            NATIONAL * sizes.per_contact() / 1e9,
            thousands(NATIONAL),
            NATIONAL * wal / 1e9
        );
    }
}

// ---------------------------------------------------------------------------------------------
// Instructions, counted by callgrind

/// One worker under callgrind per backend on `n` deliveries: its instructions from the moment
/// it is up and idle to the moment every delivery is final.
async fn count(
    summary: &mut Summary,
    rig: &Rig,
    tmp: &Path,
    n: usize,
    sqlite: bool,
    postgres: Option<&str>,
) -> Result<()> {
    println!(
        "\n[4] Instructions of one worker under callgrind, {n} deliveries (valgrind is ~50x \
         slower: a few minutes)"
    );
    if !valgrind_installed() {
        println!(
            "!!! NO INSTRUCTION COUNTS: valgrind is not installed (or this is not x86-64 Linux)."
        );
        summary.info("instructions per delivery", "NOT COUNTED: no valgrind");
        return Ok(());
    }
    let mut backends = Vec::new();
    if sqlite {
        backends.push(Backend {
            name: "SQLite",
            url: format!("sqlite://{}", tmp.join("counted.db").display()),
            postgres: None,
        });
    }
    match postgres {
        Some(server) => backends.push(postgres_backend(server, "counted").await?),
        None => println!("  PostgreSQL: not counted (not measured above)"),
    }
    for backend in &backends {
        let dir = tmp.join(format!("counted-{}", backend.name.to_lowercase()));
        let counted = count_one(rig, &dir, backend, n).await;
        if let Some(schema) = &backend.postgres {
            schema.drop().await?;
        }
        let instructions = counted?;
        let per_delivery = instructions as f64 / n as f64;
        println!(
            "  {}: {} instructions per delivery ({} in all)",
            backend.name,
            thousands(per_delivery),
            thousands(instructions as f64)
        );
        summary.info(
            format!("{}, 1 worker: instructions per delivery", backend.name),
            thousands(per_delivery),
        );
    }
    Ok(())
}

async fn count_one(rig: &Rig, dir: &Path, backend: &Backend, n: usize) -> Result<u64> {
    let gateway = &rig.gateway;
    std::fs::create_dir_all(dir)?;
    let config = write_config(&dir.join("worker"), backend, rig)?;
    let app = App::open(Config::load(Some(&config))?).await?;
    sms_day::import_patients(&app, n).await?;
    let update = draft_sms_update(&app, dir).await?;
    let report = plan(
        app.store.as_ref(),
        &app.renderer,
        &app.config,
        &app.store.update(update).await?,
        app.clock.now_ms(),
    )
    .await?;
    if report.pending != n as u64 {
        bail!("expected {n} SMS to send, planned {}", report.pending);
    }
    let out = dir.join("callgrind.out");
    let mut child = Command::new("valgrind")
        .arg("--tool=callgrind")
        .arg("--instr-atstart=no")
        .arg(format!("--callgrind-out-file={}", out.display()))
        .arg(format!("--log-file={}", dir.join("valgrind.log").display()))
        .arg(&rig.binary)
        .arg("--config")
        .arg(&config)
        .arg("worker")
        .env_remove("TOCSIN_DATABASE_URL")
        .env("TOCSIN_LOG", "warn")
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(std::fs::File::create(dir.join("worker.log"))?)
        .kill_on_drop(true)
        .spawn()
        .context("starting valgrind")?;
    let pid = child
        .id()
        .ok_or_else(|| anyhow!("valgrind ended at once"))?;
    wait_idle(pid, &mut child).await?;
    callgrind_control(pid, "--instr=on")?;
    let received_before = gateway.requests.load(Ordering::Relaxed);
    app.store
        .set_update_state(update, UpdateState::Sending)
        .await?;
    wait_until_final(
        app.store.as_ref(),
        update,
        gateway,
        received_before + n as u64,
        std::slice::from_mut(&mut child),
    )
    .await?;
    callgrind_control(pid, "--dump=dispatch")?;
    stop_workers(vec![child]).await?;
    gateway.take();
    let dump = PathBuf::from(format!("{}.1", out.display()));
    total_in(&dump)?.ok_or_else(|| anyhow!("{}: no count in callgrind's dump", dump.display()))
}

/// Waits until the worker under valgrind has started (its database open, migrated) and sits
/// idle: its CPU time stops growing.
async fn wait_idle(pid: u32, child: &mut Child) -> Result<()> {
    let started = Instant::now();
    let mut last = process_cpu_seconds(pid);
    let mut still = 0;
    while still < 4 {
        tokio::time::sleep(Duration::from_millis(500)).await;
        if let Some(status) = child.try_wait()? {
            bail!("the worker under valgrind ended: {status}");
        }
        let now = process_cpu_seconds(pid);
        // Its tick reads the updates every few seconds: a few ms, under valgrind tens.
        still = if now - last < 0.1 { still + 1 } else { 0 };
        last = now;
        if started.elapsed() > STALLED {
            bail!("the worker under valgrind did not settle within {STALLED:?}");
        }
    }
    Ok(())
}

fn callgrind_control(pid: u32, option: &str) -> Result<()> {
    let output = std::process::Command::new("callgrind_control")
        .arg(option)
        .arg(pid.to_string())
        .output()
        .context("running callgrind_control")?;
    if !output.status.success() {
        bail!(
            "callgrind_control {option} {pid}: {}{}",
            String::from_utf8_lossy(&output.stdout),
            String::from_utf8_lossy(&output.stderr)
        );
    }
    Ok(())
}
