//! `tocsin worker`: several processes on one database share an update's deliveries (each
//! message once, every worker taking part) and each SMS gateway's rate (counted at the
//! emulated gateway, calendar second by calendar second). Each test runs on every backend
//! `on_each_backend!` names.

use crate::providers::{TwilioEmulator, ACCOUNT_SID, AUTH_TOKEN, TWILIO_FROM};
use crate::support::{
    seed, sms_patient, tocsin_command, Backend, Mta, SmtpServer, TestApp, EMAIL_FROM, EMAIL_UPDATE,
    HOSPITAL_TOML,
};
use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};
use std::process::{Child, Stdio};
use std::time::{Duration, Instant, UNIX_EPOCH};
use tocsin::app::Actor;
use tocsin::domain::UpdateState;

/// Each test named runs once per backend, as `NAME::sqlite` and `NAME::postgres`: `NAME` is an
/// `async fn NAME(backend: Backend)` of this module.
macro_rules! on_each_backend {
    ($($name:ident),* $(,)?) => {$(
        mod $name {
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn sqlite() {
                super::$name($crate::support::Backend::Sqlite).await
            }
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn postgres() {
                super::$name($crate::support::Backend::Postgres).await
            }
        }
    )*};
}

on_each_backend!(
    two_workers_share_an_update_each_message_once,
    two_workers_share_a_gateways_rate,
    a_worker_stopped_mid_run_gives_back_what_it_had_not_begun,
    serve_without_dispatch_leaves_the_sending_to_the_workers,
);

/// A `tocsin worker` (or `serve`) process, its stderr in a file; killed if the test fails
/// while it runs.
struct Worker {
    child: Option<Child>,
    stderr: PathBuf,
}

impl Worker {
    fn start(config_file: &Path, n: usize) -> Worker {
        Worker::run(config_file, &format!("worker-{n}"), &["worker"])
    }

    fn run(config_file: &Path, name: &str, args: &[&str]) -> Worker {
        let stderr = config_file.with_file_name(format!("{name}.log"));
        let child = tocsin_command()
            .arg("--config")
            .arg(config_file)
            .args(args)
            .env("TOCSIN_LOG", "info")
            .stdout(Stdio::null())
            .stderr(std::fs::File::create(&stderr).expect("stderr file"))
            .spawn()
            .expect("start tocsin");
        Worker {
            child: Some(child),
            stderr,
        }
    }

    fn log(&self) -> String {
        std::fs::read_to_string(&self.stderr).unwrap_or_default()
    }

    /// SIGTERM, as a service manager stops it; returns its stderr once it exited on its own.
    fn terminate(mut self) -> String {
        let mut child = self.child.take().expect("running");
        // SAFETY: a plain kill(2) of the child this test started and has not reaped.
        unsafe { libc::kill(child.id() as libc::pid_t, libc::SIGTERM) };
        let deadline = Instant::now() + Duration::from_secs(60);
        let status = loop {
            if let Some(status) = child.try_wait().expect("wait for the process") {
                break status;
            }
            assert!(Instant::now() < deadline, "it did not stop within 60 s");
            std::thread::sleep(Duration::from_millis(20));
        };
        let log = self.log();
        assert!(status.success(), "it stopped cleanly: {status}\n{log}");
        log
    }

    /// Stops the worker (SIGTERM); returns how many messages it sent, from its last words.
    fn stop(self) -> u64 {
        let log = self.terminate();
        let last = log
            .lines()
            .find_map(|line| line.strip_prefix("Stopped: "))
            .unwrap_or_else(|| panic!("the worker's last words:\n{log}"));
        // "… settled by this worker, 250 of them sent"
        last.rsplit(", ")
            .next()
            .and_then(|sent| sent.split(' ').next())
            .and_then(|sent| sent.parse().ok())
            .unwrap_or_else(|| panic!("a count of messages sent: {last}"))
    }
}

impl Drop for Worker {
    fn drop(&mut self) {
        if let Some(child) = &mut self.child {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

/// Marks the update to be sent now, as `update send --at` does for a time: the workers'
/// scheduler plans and sends it.
async fn send_now(test: &TestApp, id: i64) {
    test.app
        .schedule(id, None, "piet", &Actor::cli("test"))
        .await
        .expect("scheduled");
}

/// Waits until the update is sent (every delivery final).
async fn until_sent(test: &TestApp, id: i64, within: Duration) {
    let deadline = Instant::now() + within;
    loop {
        let update = test.app.store.update(id).await.expect("the update");
        if update.state == UpdateState::Sent {
            return;
        }
        assert!(
            Instant::now() < deadline,
            "not sent within {within:?}: {:?}",
            test.app.status(id).await.expect("status").by_state
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// Two workers on one database, one update of 600 e-mails to aiosmtpd, claimed 10 at a time
/// so that both take some: every recipient gets the message once, and each worker sent some.
async fn two_workers_share_an_update_each_message_once(backend: Backend) {
    const RECIPIENTS: usize = 600;
    let Some(server) = SmtpServer::of(Mta::Aiosmtpd, &[]) else {
        return;
    };
    let url = server.url();
    let Some(test) = TestApp::on(backend, |config| {
        config.email.transport = tocsin::config::EmailTransport::Smtp;
        config.email.smtp_url = url;
    })
    .await
    else {
        return;
    };
    seed(&test.app, RECIPIENTS).await;
    let id = test.approved_update(EMAIL_UPDATE).await;
    let config_file = test.dir.path().join("tocsin.toml");
    std::fs::write(
        &config_file,
        format!(
            "database_url = \"{}\"\n[dispatch]\nclaim_batch = 10\nworkers = 4\n\
             [email]\ntransport = \"smtp\"\nsmtp_url = \"{}\"\nconnections = 2\n\
             from = \"{EMAIL_FROM}\"\n{HOSPITAL_TOML}",
            test.app.config.database_url,
            server.url()
        ),
    )
    .expect("config file");
    send_now(&test, id).await;
    let workers = [
        Worker::start(&config_file, 1),
        Worker::start(&config_file, 2),
    ];

    until_sent(&test, id, Duration::from_secs(120)).await;
    let sent: Vec<u64> = workers.into_iter().map(Worker::stop).collect();

    let mut per_recipient: HashMap<String, usize> = HashMap::new();
    for message in server.received() {
        for recipient in message.rcpt_tos {
            *per_recipient.entry(recipient).or_default() += 1;
        }
    }
    let twice: Vec<_> = per_recipient.iter().filter(|(_, n)| **n > 1).collect();
    assert!(twice.is_empty(), "sent twice: {twice:?}");
    assert_eq!(per_recipient.len(), RECIPIENTS, "every recipient reached");
    assert_eq!(sent.iter().sum::<u64>(), RECIPIENTS as u64, "{sent:?}");
    assert!(
        sent.iter().all(|&n| n > 0),
        "both workers took part: {sent:?}"
    );
    eprintln!("two workers ({backend:?}): {RECIPIENTS} e-mails, each once, sent {sent:?}");
}

/// Two workers sharing a Twilio gateway limited to 200 a second send 1,500 SMS: the emulated
/// gateway never counts more than 200 in one calendar second, each patient gets one, and both
/// workers sent some.
async fn two_workers_share_a_gateways_rate(backend: Backend) {
    const PATIENTS: usize = 1_500;
    const RATE: usize = 200;
    let twilio = TwilioEmulator::start().await;
    let Some(test) = TestApp::on(backend, |_| {}).await else {
        return;
    };
    let (contacts, appointments): (Vec<_>, Vec<_>) = (0..PATIENTS)
        .map(|n| sms_patient(n, ["nl", "fr", "en"][n % 3], format!("+32471{n:06}"), None))
        .unzip();
    test.app
        .store
        .import(&contacts, &appointments, "test seed", 0)
        .await
        .expect("seed");
    let id = test.approved_update(&crate::providers::sms_update()).await;
    let config_file = test.dir.path().join("tocsin.toml");
    std::fs::write(
        &config_file,
        format!(
            "database_url = \"{}\"\n[dispatch]\nclaim_batch = 50\nworkers = 32\n\
             [sms]\ntransport = \"gateways\"\n\
             [[sms.gateways]]\nkind = \"twilio\"\naccount_sid = \"{ACCOUNT_SID}\"\n\
             auth_token = \"{AUTH_TOKEN}\"\nfrom = \"{TWILIO_FROM}\"\nbase_url = \"{}\"\n\
             [sms.rates]\ntwilio = {RATE}\n\
             [email]\nfrom = \"{EMAIL_FROM}\"\n{HOSPITAL_TOML}",
            test.app.config.database_url, twilio.url,
        ),
    )
    .expect("config file");
    send_now(&test, id).await;
    let workers = [
        Worker::start(&config_file, 1),
        Worker::start(&config_file, 2),
    ];

    until_sent(&test, id, Duration::from_secs(180)).await;
    let sent: Vec<u64> = workers.into_iter().map(Worker::stop).collect();

    let requests = twilio.requests();
    let mut per_second: BTreeMap<u64, usize> = BTreeMap::new();
    let mut per_patient: HashMap<String, usize> = HashMap::new();
    for request in &requests {
        let second = request
            .at
            .duration_since(UNIX_EPOCH)
            .expect("after 1970")
            .as_secs();
        *per_second.entry(second).or_default() += 1;
        *per_patient
            .entry(request.get("To").unwrap_or_default().to_string())
            .or_default() += 1;
    }
    let counts: Vec<usize> = per_second.values().copied().collect();
    assert!(
        counts.iter().all(|&n| n <= RATE),
        "at most {RATE} in every calendar second at the gateway: {counts:?}"
    );
    assert_eq!(per_patient.len(), PATIENTS, "every patient reached");
    assert!(per_patient.values().all(|&n| n == 1), "each patient once");
    assert_eq!(sent.iter().sum::<u64>(), PATIENTS as u64, "{sent:?}");
    assert!(sent.iter().all(|&n| n > 0), "both workers sent: {sent:?}");
    eprintln!(
        "two workers ({backend:?}) sharing {RATE}/s: {PATIENTS} SMS, per second at the \
         gateway {counts:?}, sent {sent:?}"
    );
}

/// A worker stopped by SIGTERM in the middle of an update exits at once, leaves nothing
/// `sending` (what it claimed and had not begun is given back, what it was sending is
/// recorded), and a worker started after it sends the rest at once, not after the 120 s of
/// the leases: every recipient gets the message once, nobody is `uncertain`.
async fn a_worker_stopped_mid_run_gives_back_what_it_had_not_begun(backend: Backend) {
    use tocsin::domain::DeliveryState;
    const RECIPIENTS: usize = 1_000;
    let Some(server) = SmtpServer::of(Mta::Aiosmtpd, &[]) else {
        return;
    };
    let url = server.url();
    let Some(test) = TestApp::on(backend, |config| {
        config.email.transport = tocsin::config::EmailTransport::Smtp;
        config.email.smtp_url = url;
    })
    .await
    else {
        return;
    };
    seed(&test.app, RECIPIENTS).await;
    let id = test.approved_update(EMAIL_UPDATE).await;
    let config_file = test.dir.path().join("tocsin.toml");
    std::fs::write(
        &config_file,
        format!(
            "database_url = \"{}\"\n[dispatch]\nclaim_batch = 100\n\
             [email]\ntransport = \"smtp\"\nsmtp_url = \"{}\"\nfrom = \"{EMAIL_FROM}\"\n\
             {HOSPITAL_TOML}",
            test.app.config.database_url,
            server.url()
        ),
    )
    .expect("config file");
    send_now(&test, id).await;
    let first = Worker::start(&config_file, 1);
    let deadline = Instant::now() + Duration::from_secs(60);
    while server.taken() < RECIPIENTS / 5 {
        assert!(Instant::now() < deadline, "the first worker sends");
        tokio::time::sleep(Duration::from_millis(5)).await;
    }

    let stopped_at = Instant::now();
    let first_sent = first.stop();
    let stopping = stopped_at.elapsed();
    let status = test.app.status(id).await.expect("status");
    assert_eq!(
        status.by_state.get(&DeliveryState::Sending),
        None,
        "nothing left leased: {:?}",
        status.by_state
    );
    assert!(
        (first_sent as usize) < RECIPIENTS,
        "stopped before the end: {first_sent}"
    );
    let restarted = Instant::now();
    let second = Worker::start(&config_file, 2);
    until_sent(&test, id, Duration::from_secs(60)).await;
    let second_sent = second.stop();

    let mut per_recipient: HashMap<String, usize> = HashMap::new();
    for message in server.received() {
        for recipient in message.rcpt_tos {
            *per_recipient.entry(recipient).or_default() += 1;
        }
    }
    assert!(per_recipient.values().all(|&n| n == 1), "each once");
    assert_eq!(per_recipient.len(), RECIPIENTS, "every recipient reached");
    assert_eq!(first_sent + second_sent, RECIPIENTS as u64);
    let status = test.app.status(id).await.expect("status");
    assert_eq!(status.by_state.get(&DeliveryState::Uncertain), None);
    eprintln!(
        "worker stopped ({backend:?}) after {first_sent} of {RECIPIENTS} e-mails, in \
         {stopping:?}; the next sent the other {second_sent} in {:?}",
        restarted.elapsed()
    );
}

/// `tocsin serve --no-dispatch` takes receipts and answers pages but sends nothing: an update
/// due now stays as it was through two of the scheduler's ticks, until a worker sends it.
async fn serve_without_dispatch_leaves_the_sending_to_the_workers(backend: Backend) {
    let Some(test) = TestApp::on(backend, |_| {}).await else {
        return;
    };
    seed(&test.app, 30).await;
    let id = test.approved_update(EMAIL_UPDATE).await;
    let config_file = test.dir.path().join("tocsin.toml");
    std::fs::write(
        &config_file,
        format!(
            "database_url = \"{}\"\n[serve]\nbind = \"127.0.0.1:0\"\n\
             [email]\ndir = \"{}\"\nfrom = \"{EMAIL_FROM}\"\n{HOSPITAL_TOML}",
            test.app.config.database_url,
            test.app.config.email.dir.display()
        ),
    )
    .expect("config file");
    send_now(&test, id).await;
    let serve = Worker::run(&config_file, "serve", &["serve", "--no-dispatch"]);
    let deadline = Instant::now() + Duration::from_secs(60);
    while !serve.log().contains("Sending nothing") {
        assert!(Instant::now() < deadline, "serve started: {}", serve.log());
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    // Two ticks of the scheduler (every 5 s), had it run.
    tokio::time::sleep(Duration::from_secs(11)).await;
    let update = test.app.store.update(id).await.expect("the update");
    assert_eq!(update.state, UpdateState::Approved, "not started");
    assert_eq!(
        test.app.store.planned_at(id).await.expect("planned_at"),
        None,
        "not planned"
    );

    let worker = Worker::start(&config_file, 1);
    until_sent(&test, id, Duration::from_secs(60)).await;
    assert_eq!(worker.stop(), 30);
    serve.terminate();
}
