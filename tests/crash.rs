//! The crash test runs as a test binary of its own, so that no other test competes with it
//! for the two cores while it kills and restarts a broadcast. It runs against aiosmtpd and
//! against OpenSMTPD, one after the other.

// The helpers are shared with the `pipeline` tests; this binary uses only some of them.
#[allow(dead_code, unused_imports)]
#[path = "pipeline/support.rs"]
mod support;

use std::collections::HashMap;
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};
use support::{
    seed, tocsin_binary, Backend, Mta, SmtpServer, TestApp, EMAIL_FROM, EMAIL_UPDATE, HOSPITAL_TOML,
};
use tocsin::app::Actor;
use tocsin::domain::{ChannelKind, DeliveryState, UpdateState};

/// One broadcast at a time, whichever the server.
static ONE_AT_A_TIME: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_broadcast_killed_ten_times_under_load_sends_nobody_twice_and_counts_nobody_sent_wrongly_through_aiosmtpd(
) {
    let _alone = ONE_AT_A_TIME.lock().await;
    killed_ten_times(Mta::Aiosmtpd).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_broadcast_killed_ten_times_under_load_sends_nobody_twice_and_counts_nobody_sent_wrongly_through_opensmtpd(
) {
    let _alone = ONE_AT_A_TIME.lock().await;
    killed_ten_times(Mta::OpenSmtpd).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn three_workers_on_one_sqlite_file_one_killed_send_nobody_twice_and_count_nobody_sent_wrongly(
) {
    let _alone = ONE_AT_A_TIME.lock().await;
    three_workers_one_killed(Backend::Sqlite).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn three_workers_on_postgresql_one_killed_send_nobody_twice_and_count_nobody_sent_wrongly() {
    let _alone = ONE_AT_A_TIME.lock().await;
    three_workers_one_killed(Backend::Postgres).await;
}

/// Keeps both cores busy while it lives, as other work on a loaded machine would: the window
/// between a handover's commit and its final dot is widest when the woken tasks queue.
struct Load {
    stop: Arc<AtomicBool>,
    threads: Vec<std::thread::JoinHandle<()>>,
}

impl Load {
    fn start() -> Load {
        let stop = Arc::new(AtomicBool::new(false));
        let threads = (0..2)
            .map(|_| {
                let stop = Arc::clone(&stop);
                std::thread::spawn(move || {
                    let mut x: u64 = 1;
                    while !stop.load(Ordering::Relaxed) {
                        for _ in 0..10_000 {
                            x = x.wrapping_mul(6364136223846793005).wrapping_add(1);
                        }
                        std::hint::black_box(x);
                    }
                })
            })
            .collect();
        Load { stop, threads }
    }
}

impl Drop for Load {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        for thread in self.threads.drain(..) {
            let _ = thread.join();
        }
    }
}

/// A `tocsin` run, killed if the test fails while it runs.
struct Run(Child);

impl Drop for Run {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// A broadcast SIGKILLed at ten moments (after each tenth or so of what the server took),
/// restarted each time, then run to its end, on a machine whose cores are kept busy: nobody
/// gets the message twice, every delivery counted `sent` is at the server, and every
/// recipient the server never got is `uncertain` (handed over when a kill came), for the call
/// centre — none is counted sent. Prints how many ended uncertain: the measure of the window.
async fn killed_ten_times(mta: Mta) {
    const KILLS: usize = 10;
    // OpenSMTPD writes each message to its queue before it answers: about 200 messages/s
    // from 8 connections on the loaded development machine, where aiosmtpd takes ~900.
    let recipients: usize = match mta {
        Mta::Aiosmtpd => 10_000,
        Mta::OpenSmtpd => 2_000,
    };
    let Some(server) = SmtpServer::of(mta, &[]) else {
        return;
    };
    let test = TestApp::with_smtp(&server).await;
    seed(&test.app, recipients).await;
    let id = test.approved_update(EMAIL_UPDATE).await;
    let config_file = test.dir.path().join("tocsin.toml");
    // A short lease, so that each restart soon takes over what the killed run held; small
    // claims, so that a claim is sent well within half its lease at OpenSMTPD's pace (a
    // delivery whose lease runs low before its send begins is left to the next claim).
    let dispatch = match mta {
        Mta::Aiosmtpd => "lease_seconds = 2\nclaim_batch = 200",
        Mta::OpenSmtpd => "lease_seconds = 4\nclaim_batch = 100",
    };
    std::fs::write(
        &config_file,
        format!(
            "database_url = \"{}\"\n[dispatch]\n{dispatch}\n[email]\ntransport = \"smtp\"\nsmtp_url = \"{}\"\nfrom = \"{EMAIL_FROM}\"\n{HOSPITAL_TOML}",
            test.app.config.database_url,
            server.url()
        ),
    )
    .expect("config file");
    let send = || {
        Run(Command::new(tocsin_binary())
            .arg("--config")
            .arg(&config_file)
            .args(["update", "send", &id.to_string()])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("start tocsin"))
    };

    let load = Load::start();
    let mut kills_at = Vec::new();
    for kill in 1..=KILLS {
        let target = recipients * kill / (KILLS + 1);
        let mut run = send();
        let deadline = Instant::now() + Duration::from_secs(300);
        while server.taken() < target {
            assert!(
                Instant::now() < deadline,
                "run {kill} sent too little ({} of {target})",
                server.taken()
            );
            assert!(
                run.0.try_wait().expect("poll").is_none(),
                "run {kill} ended before it was killed"
            );
            std::thread::sleep(Duration::from_millis(5));
        }
        run.0.kill().expect("SIGKILL");
        run.0.wait().expect("reaped");
        kills_at.push(server.taken());
    }
    let last = send().0.wait().expect("last run");
    drop(load);
    // 3: some deliveries are uncertain (handed over when a kill came).
    assert!(
        matches!(last.code(), Some(0 | 3)),
        "the last run completes: {last:?} (killed at {kills_at:?})"
    );

    let (uncertain, uncertain_arrived) = nobody_twice_nobody_counted_sent_wrongly(
        &test,
        &server,
        id,
        recipients,
        &format!("killed at {kills_at:?}"),
    )
    .await;
    eprintln!(
        "crash test ({mta:?}): {recipients} e-mails, killed {KILLS} times under load at \
         {kills_at:?}: 0 twice, {uncertain} uncertain ({uncertain_arrived} of them had \
         reached the server, {} had not), every other delivery sent and at the server",
        uncertain - uncertain_arrived
    );
}

/// What every crash must leave: nobody got the message twice, every delivery counted `sent`
/// is at the server, every recipient the server never got is `uncertain` (handed over when a
/// kill came) and on the call centre's list. Returns how many ended uncertain, and how many
/// of those had in fact reached the server. Contacts were imported in order: patient n is
/// contact n + 1.
async fn nobody_twice_nobody_counted_sent_wrongly(
    test: &TestApp,
    server: &SmtpServer,
    id: i64,
    recipients: usize,
    when: &str,
) -> (usize, usize) {
    let mut per_recipient: HashMap<String, usize> = HashMap::new();
    for message in server.received() {
        for recipient in message.rcpt_tos {
            *per_recipient.entry(recipient).or_default() += 1;
        }
    }
    let twice: Vec<_> = per_recipient
        .iter()
        .filter(|(_, count)| **count > 1)
        .collect();
    let mut history = Vec::new();
    for (recipient, _) in &twice {
        let contact = recipient
            .strip_prefix("patient")
            .and_then(|rest| rest.split('@').next())
            .and_then(|n| n.parse::<i64>().ok())
            .map_or(0, |n| n + 1);
        if let Some(delivery) = test
            .app
            .store
            .delivery(id, contact, ChannelKind::Email)
            .await
            .expect("query")
        {
            let events = test.app.store.events(delivery.id).await.expect("events");
            history.push(format!("{recipient}: {events:?}"));
        }
    }
    let log = server.log();
    let told: Vec<&str> = log
        .lines()
        .filter(|line| {
            twice
                .iter()
                .any(|(recipient, _)| line.contains(recipient.as_str()))
        })
        .collect();
    assert!(
        twice.is_empty(),
        "{when}: sent twice: {twice:?}\n{}\n{}",
        history.join("\n"),
        told.join("\n")
    );
    let mut wrongly_sent = Vec::new();
    let mut uncertain = 0;
    let mut uncertain_arrived = 0;
    for n in 0..recipients {
        let arrived = per_recipient.contains_key(&format!("patient{n}@example.be"));
        let state = test
            .app
            .store
            .delivery(id, n as i64 + 1, ChannelKind::Email)
            .await
            .expect("query")
            .map(|delivery| delivery.state);
        match state {
            Some(DeliveryState::Uncertain) => {
                uncertain += 1;
                uncertain_arrived += usize::from(arrived);
            }
            Some(DeliveryState::Sent) if arrived => {}
            other => wrongly_sent.push((n, other, arrived)),
        }
    }
    assert!(
        wrongly_sent.is_empty(),
        "{when}: neither sent and at the server, nor uncertain: {wrongly_sent:?}"
    );
    let report = test.app.status(id).await.expect("status");
    assert_eq!(
        report.unreached.len(),
        uncertain,
        "every uncertain one is on the call centre's list"
    );
    (uncertain, uncertain_arrived)
}

/// A `tocsin worker`, killed if the test fails while it runs.
fn worker(config_file: &std::path::Path) -> Run {
    Run(Command::new(tocsin_binary())
        .arg("--config")
        .arg(config_file)
        .arg("worker")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("start tocsin worker"))
}

/// One broadcast of 50,000 e-mails to aiosmtpd shared by three `tocsin worker` processes on
/// one database; the first is SIGKILLed once the server has taken a third. The other two take
/// over its leases when they expire and finish the broadcast; they are then stopped with
/// SIGTERM and end cleanly. The server must have what a single process's crash leaves: nobody
/// twice, every delivery counted sent at the server, the others uncertain and listed. The
/// three also race to start the update (`serve`'s "send now": each worker's scheduler plans
/// it; planning is idempotent).
async fn three_workers_one_killed(backend: Backend) {
    const RECIPIENTS: usize = 50_000;
    let Some(server) = SmtpServer::of(Mta::Aiosmtpd, &[]) else {
        return;
    };
    let url = server.url();
    let Some(test) = TestApp::on(backend, move |config| {
        config.email.transport = tocsin::config::EmailTransport::Smtp;
        config.email.smtp_url = url;
    })
    .await
    else {
        return;
    };
    seed(&test.app, RECIPIENTS).await;
    for n in [0, RECIPIENTS - 1] {
        let contact = test
            .app
            .store
            .find_contact(&format!("P{n:06}"))
            .await
            .expect("lookup")
            .expect("seeded");
        assert_eq!(
            contact.id,
            n as i64 + 1,
            "{backend:?}: patients are contacts in order"
        );
    }
    let id = test.approved_update(EMAIL_UPDATE).await;
    test.app
        .schedule(id, None, "test", &Actor::cli("test"))
        .await
        .expect("send now");
    let config_file = test.dir.path().join("tocsin.toml");
    std::fs::write(
        &config_file,
        format!(
            "database_url = \"{}\"\n[dispatch]\nlease_seconds = 2\nclaim_batch = 200\n[email]\ntransport = \"smtp\"\nsmtp_url = \"{}\"\nfrom = \"{EMAIL_FROM}\"\n{HOSPITAL_TOML}",
            test.app.config.database_url,
            server.url()
        ),
    )
    .expect("config file");

    let mut workers: Vec<Run> = (0..3).map(|_| worker(&config_file)).collect();
    let deadline = Instant::now() + Duration::from_secs(600);
    while server.taken() < RECIPIENTS / 3 {
        assert!(
            Instant::now() < deadline,
            "{backend:?}: the workers sent too little ({})",
            server.taken()
        );
        std::thread::sleep(Duration::from_millis(5));
    }
    let killed_at = server.taken();
    let mut killed = workers.remove(0);
    killed.0.kill().expect("SIGKILL");
    killed.0.wait().expect("reaped");
    loop {
        let update = test.app.store.update(id).await.expect("update");
        let backlog = test.app.store.backlog(id).await.expect("backlog");
        if update.state == UpdateState::Sent && backlog.open == 0 {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "{backend:?}: the two workers left did not finish: {backlog:?}, {} at the server",
            server.taken()
        );
        for survivor in &mut workers {
            assert!(
                survivor.0.try_wait().expect("poll").is_none(),
                "{backend:?}: a worker ended on its own"
            );
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    for survivor in &mut workers {
        let pid = i32::try_from(survivor.0.id()).expect("a pid");
        // SAFETY: kill(2) on our own child, which has not been reaped yet.
        assert_eq!(unsafe { libc::kill(pid, libc::SIGTERM) }, 0, "SIGTERM");
    }
    for survivor in &mut workers {
        let status = survivor.0.wait().expect("reaped");
        assert!(
            status.success(),
            "{backend:?}: a worker stopped by SIGTERM ends cleanly: {status:?}"
        );
    }

    let (uncertain, uncertain_arrived) = nobody_twice_nobody_counted_sent_wrongly(
        &test,
        &server,
        id,
        RECIPIENTS,
        &format!("{backend:?}, one of three workers killed at {killed_at}"),
    )
    .await;
    eprintln!(
        "crash test, three workers on {backend:?}: {RECIPIENTS} e-mails, one worker killed \
         when the server had {killed_at}: 0 twice, {uncertain} uncertain ({uncertain_arrived} \
         of them had reached the server, {} had not), every other delivery sent and at the \
         server",
        uncertain - uncertain_arrived
    );
}
