//! What the dispatcher does when a channel is the problem rather than a recipient, and what a
//! person can do to a broadcast: halt it, send again what failed, resume what a stopped run
//! held back. The channels here are scripted, so every answer is the one the test asks for.

use crate::support::{seed, TestApp, EMAIL_UPDATE};
use async_trait::async_trait;
use std::collections::{HashMap, VecDeque};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tocsin::channels::{Channel, Handover, Message, Outcome};
use tocsin::dispatch::lifecycle::Moment;
use tocsin::dispatch::{DispatchSettings, Dispatcher, RetryPolicy, RunEnd};
use tocsin::domain::{ChannelKind, DeliveryState, UpdateState};
use tocsin::store::prelude::*;
use tocsin::store::{Mark, RetryFilter, Transition};

/// Answers from a script, then `otherwise`; remembers who it accepted.
pub(crate) struct Scripted {
    script: Mutex<VecDeque<Outcome>>,
    otherwise: Mutex<Outcome>,
    accepted: Mutex<Vec<String>>,
    calls: Mutex<usize>,
}

impl Scripted {
    pub(crate) fn new(script: Vec<Outcome>, otherwise: Outcome) -> Arc<Scripted> {
        Arc::new(Scripted {
            script: Mutex::new(script.into()),
            otherwise: Mutex::new(otherwise),
            accepted: Mutex::new(Vec::new()),
            calls: Mutex::new(0),
        })
    }

    pub(crate) fn answer_from_now_on(&self, outcome: Outcome) {
        *self.otherwise.lock().expect("lock") = outcome;
    }

    pub(crate) fn accepted(&self) -> Vec<String> {
        self.accepted.lock().expect("lock").clone()
    }

    pub(crate) fn calls(&self) -> usize {
        *self.calls.lock().expect("lock")
    }
}

pub(crate) fn accept() -> Outcome {
    Outcome::Accepted {
        gateway_id: "scripted".into(),
        detail: None,
    }
}

#[async_trait]
impl Channel for Scripted {
    async fn send(&self, message: &Message, _handover: &mut dyn Handover) -> Outcome {
        *self.calls.lock().expect("lock") += 1;
        let outcome = self
            .script
            .lock()
            .expect("lock")
            .pop_front()
            .unwrap_or_else(|| self.otherwise.lock().expect("lock").clone());
        if let Outcome::Accepted { .. } = outcome {
            self.accepted
                .lock()
                .expect("lock")
                .push(message.address.clone());
        }
        outcome
    }
}

pub(crate) fn settings() -> DispatchSettings {
    DispatchSettings {
        workers: 4,
        claim_batch: 50,
        lease: Duration::from_secs(60),
        retry: RetryPolicy {
            max_attempts: 2,
            base: Duration::from_millis(10),
            max: Duration::from_millis(20),
        },
        outage_patience: Duration::from_secs(600),
        mass_rejection: 5,
    }
}

/// `count` patients with an e-mail address, an approved e-mail update to them, planned.
pub(crate) async fn planned(count: usize) -> (TestApp, i64) {
    let test = TestApp::new(|_| {}).await;
    seed(&test.app, count).await;
    let id = test.approved_update(EMAIL_UPDATE).await;
    let update = test.app.store.update(id).await.expect("update");
    tocsin::plan::plan(
        test.app.store.as_ref(),
        &test.app.renderer,
        &test.app.config,
        &update,
        test.app.clock.now_ms(),
    )
    .await
    .expect("plan");
    test.app
        .store
        .set_update_state(id, UpdateState::Sending)
        .await
        .expect("sending");
    (test, id)
}

pub(crate) fn dispatcher(
    test: &TestApp,
    channel: Arc<Scripted>,
    settings: DispatchSettings,
) -> Dispatcher {
    let channels: HashMap<ChannelKind, Arc<dyn Channel>> =
        HashMap::from([(ChannelKind::Email, channel as Arc<dyn Channel>)]);
    Dispatcher::new(
        Arc::clone(&test.app.store),
        channels,
        settings,
        Arc::clone(&test.app.clock),
    )
}

pub(crate) async fn states(store: &dyn Store, id: i64) -> HashMap<DeliveryState, u64> {
    let mut states = HashMap::new();
    for row in store.status(id).await.expect("status") {
        *states.entry(row.state).or_default() += row.count;
    }
    states
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_outage_pauses_the_channel_and_counts_no_attempt_against_anyone() {
    let (test, id) = planned(3).await;
    let reason = || Outcome::Unavailable {
        after: None,
        reason: "cannot connect to 127.0.0.1:25: Connection refused".into(),
    };
    // More unavailable answers than `max_attempts` (2) would allow a recipient.
    let channel = Scripted::new(vec![reason(), reason(), reason()], accept());

    let end = dispatcher(&test, Arc::clone(&channel), settings())
        .run(id)
        .await
        .expect("run");

    assert_eq!(end, RunEnd::Finished);
    assert_eq!(channel.accepted().len(), 3, "everyone got it once");
    assert_eq!(
        states(test.app.store.as_ref(), id).await[&DeliveryState::Sent],
        3
    );
    for contact in 1..=3 {
        let delivery = test
            .app
            .store
            .delivery(id, contact, ChannelKind::Email)
            .await
            .expect("read")
            .expect("delivery");
        assert_eq!(
            delivery.attempts, 1,
            "only the attempt that reached the server counts"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_misconfigured_channel_stops_the_run_holds_every_delivery_and_send_resumes_them() {
    let (test, id) = planned(12).await;
    let refused = Outcome::Misconfigured {
        reason: "554 5.7.1 <tocsin>: Relay access denied".into(),
    };
    let channel = Scripted::new(Vec::new(), refused);

    let end = dispatcher(&test, Arc::clone(&channel), settings())
        .run(id)
        .await
        .expect("run");

    let RunEnd::Stopped(channels) = &end else {
        panic!("expected a stopped run, got {end:?}");
    };
    assert_eq!(
        channels,
        &vec![(
            ChannelKind::Email,
            "554 5.7.1 <tocsin>: Relay access denied".to_string()
        )]
    );
    assert!(
        channel.calls() <= settings().workers,
        "the channel stopped at its first answers, not after trying everyone ({} calls)",
        channel.calls()
    );
    let store = test.app.store.as_ref();
    assert_eq!(
        states(store, id).await,
        HashMap::from([(DeliveryState::Pending, 12)]),
        "nobody is marked undeliverable or failed for our mistake"
    );
    assert_eq!(store.backlog(id).await.expect("backlog").held, 12);
    for contact in 1..=12 {
        let delivery = store
            .delivery(id, contact, ChannelKind::Email)
            .await
            .expect("read")
            .expect("delivery");
        assert_eq!(delivery.attempts, 0, "no attempt counted");
    }

    tocsin::dispatch::lifecycle::advance(store, id, Moment::RunEnded(&end), 0)
        .await
        .expect("settle");
    let update = store.update(id).await.expect("update");
    assert_eq!(update.state, UpdateState::Sending);
    assert!(
        update
            .paused
            .as_deref()
            .is_some_and(|why| why.contains("Relay access denied")),
        "the update says why it is paused: {:?}",
        update.paused
    );

    // Fixed: sending again resumes the held deliveries.
    assert_eq!(store.resume_update(id, 1).await.expect("resume"), 12);
    channel.answer_from_now_on(accept());
    let end = dispatcher(&test, Arc::clone(&channel), settings())
        .run(id)
        .await
        .expect("run");
    assert_eq!(end, RunEnd::Finished);
    assert_eq!(channel.accepted().len(), 12);
    assert_eq!(store.update(id).await.expect("update").paused, None);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_first_answers_all_refused_alike_stop_the_channel_and_retry_sends_them_later() {
    let (test, id) = planned(40).await;
    let channel = Scripted::new(
        Vec::new(),
        Outcome::Rejected {
            reason: "550 5.7.1 <p***@example.be>: sender not authorised".into(),
        },
    );
    let settings = DispatchSettings {
        workers: 1,
        ..settings()
    };

    let end = dispatcher(&test, Arc::clone(&channel), settings.clone())
        .run(id)
        .await
        .expect("run");

    assert!(
        matches!(&end, RunEnd::Stopped(channels) if channels[0].1.starts_with("the first 5 email messages were all refused the same way")),
        "{end:?}"
    );
    let store = test.app.store.as_ref();
    let counts = states(store, id).await;
    assert_eq!(counts[&DeliveryState::Undeliverable], 5, "{counts:?}");
    assert_eq!(
        counts[&DeliveryState::Pending],
        35,
        "the rest held: {counts:?}"
    );

    channel.answer_from_now_on(accept());
    let filter = RetryFilter {
        channel: Some(ChannelKind::Email),
        states: vec![DeliveryState::Undeliverable],
        reason: Some("sender not authorised".into()),
    };
    assert_eq!(
        store
            .retry_deliveries(id, &filter, "Dr. Claes", 1)
            .await
            .expect("retry"),
        5
    );
    assert_eq!(
        store.backlog(id).await.expect("backlog").held,
        0,
        "retry resumes the held ones too"
    );
    let end = dispatcher(&test, Arc::clone(&channel), settings)
        .run(id)
        .await
        .expect("run");
    assert_eq!(end, RunEnd::Finished);
    assert_eq!(
        states(store, id).await,
        HashMap::from([(DeliveryState::Sent, 40)])
    );
    let events = store.update_events(id).await.expect("events");
    assert!(
        events
            .iter()
            .any(|event| event.action == "retried" && event.by.as_deref() == Some("Dr. Claes")),
        "{events:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_handover_whose_answer_never_came_is_uncertain_unreached_and_sent_again_only_on_request()
{
    let (test, id) = planned(2).await;
    let store = Arc::clone(&test.app.store);
    let now = test.app.clock.now_ms();
    // A sending process claims both, records the handover of the first, then dies.
    let claimed = store
        .claim_due(id, now, now + 2_000, 10)
        .await
        .expect("claim");
    assert_eq!(claimed.len(), 2);
    let handover = Transition {
        delivery_id: claimed[0].id,
        from: DeliveryState::Sending,
        to: DeliveryState::Sending,
        at_ms: now + 100,
        next_attempt_at_ms: None,
        gateway_id: Some("<tocsin.1.1@tocsin.invalid>".into()),
        detail: Some("handed over".into()),
        mark: Mark::HandedOver,
        lease_until_ms: None,
    };
    assert_eq!(store.record(&[handover]).await.expect("record"), vec![true]);

    // Its leases expire: the next run sends the other one again, never the first.
    let again = store
        .claim_due(id, now + 3_000, now + 60_000, 10)
        .await
        .expect("claim");
    assert_eq!(
        again.iter().map(|d| d.id).collect::<Vec<_>>(),
        vec![claimed[1].id]
    );
    let counts = states(store.as_ref(), id).await;
    assert_eq!(counts[&DeliveryState::Uncertain], 1, "{counts:?}");
    let report = tocsin::report::status(store.as_ref(), id, chrono_tz::Europe::Brussels)
        .await
        .expect("status");
    assert_eq!(report.unreached.len(), 1, "the call centre checks it");
    assert!(
        report.unreached[0].reasons[0].contains("email: uncertain (handed over to the server at"),
        "{:?}",
        report.unreached[0].reasons
    );

    // The default retry leaves it alone; asked for explicitly, it goes again.
    let default = RetryFilter {
        channel: None,
        states: vec![DeliveryState::Failed, DeliveryState::Undeliverable],
        reason: None,
    };
    assert_eq!(
        store
            .retry_deliveries(id, &default, "a", now + 5_000)
            .await
            .expect("retry"),
        0
    );
    let uncertain = RetryFilter {
        states: vec![DeliveryState::Uncertain],
        ..default
    };
    assert_eq!(
        store
            .retry_deliveries(id, &uncertain, "a", now + 5_000)
            .await
            .expect("retry"),
        1
    );
    let resent = store
        .claim_due(id, now + 5_000, now + 6_000, 10)
        .await
        .expect("claim");
    assert_eq!(resent.len(), 1);
    assert_eq!(resent[0].id, claimed[0].id);
    assert_eq!(resent[0].attempts, 1, "a fresh count of attempts");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_halt_cancels_what_has_not_left_refuses_later_handovers_and_keeps_what_did() {
    let (test, id) = planned(4).await;
    let store = Arc::clone(&test.app.store);
    let now = test.app.clock.now_ms();
    let claimed = store
        .claim_due(id, now, now + 60_000, 2)
        .await
        .expect("claim");
    let handover = |delivery_id| Transition {
        delivery_id,
        from: DeliveryState::Sending,
        to: DeliveryState::Sending,
        at_ms: now + 100,
        next_attempt_at_ms: None,
        gateway_id: Some(format!("<m{delivery_id}>")),
        detail: None,
        mark: Mark::HandedOver,
        lease_until_ms: None,
    };
    // One in the server's hands, one claimed but not yet handed over, two pending.
    store
        .record(&[handover(claimed[0].id)])
        .await
        .expect("record");

    let cancelled = test.app.halt(id, "Dr. Claes").await.expect("halt");

    assert_eq!(cancelled, 3);
    assert_eq!(
        store
            .record(&[handover(claimed[1].id)])
            .await
            .expect("record"),
        vec![false],
        "no handover after the halt"
    );
    let counts = states(store.as_ref(), id).await;
    assert_eq!(counts[&DeliveryState::Cancelled], 3, "{counts:?}");
    assert_eq!(counts[&DeliveryState::Sending], 1, "{counts:?}");
    let sent = Transition {
        to: DeliveryState::Sent,
        mark: Mark::Nothing,
        ..handover(claimed[0].id)
    };
    assert_eq!(store.record(&[sent]).await.expect("record"), vec![true]);
    assert_eq!(
        store.update(id).await.expect("update").state,
        UpdateState::Halted
    );
    assert!(
        test.app.send(id, |_, _| {}).await.is_err(),
        "a halted update is not sent"
    );
    assert!(
        test.app.halt(id, "again").await.is_err(),
        "halting twice is refused"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_running_dispatcher_stops_when_another_process_halts_the_update() {
    let (test, id) = planned(200).await;
    let store = Arc::clone(&test.app.store);
    let channel = Scripted::new(Vec::new(), accept());
    let slow = Arc::new(Slow(Arc::clone(&channel)));
    let channels: HashMap<ChannelKind, Arc<dyn Channel>> =
        HashMap::from([(ChannelKind::Email, slow as Arc<dyn Channel>)]);
    let dispatcher = Dispatcher::new(
        Arc::clone(&store),
        channels,
        DispatchSettings {
            workers: 2,
            ..settings()
        },
        Arc::clone(&test.app.clock),
    );
    let running = tokio::spawn(async move { dispatcher.run(id).await });
    while channel.accepted().len() < 10 {
        tokio::time::sleep(Duration::from_millis(5)).await;
    }

    test.app.halt(id, "Dr. Claes").await.expect("halt");
    let at_halt = channel.accepted().len();
    let end = tokio::time::timeout(Duration::from_secs(30), running)
        .await
        .expect("the run ends")
        .expect("joined")
        .expect("run");

    assert_eq!(end, RunEnd::Halted);
    let after = channel.accepted().len();
    // Sends in flight when the halt came (two workers) and those begun before the run saw
    // it (within one poll) may finish; nothing is begun after.
    assert!(
        after < 200,
        "the broadcast stopped ({at_halt} at the halt, {after} after)"
    );
    let counts = states(store.as_ref(), id).await;
    assert_eq!(
        counts.get(&DeliveryState::Sent).copied().unwrap_or(0),
        after as u64,
        "every message that left is recorded sent, even after the halt: {counts:?}"
    );
    assert_eq!(
        counts[&DeliveryState::Cancelled] + after as u64,
        200,
        "the rest is cancelled: {counts:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_halt_that_cancels_the_last_pending_deliveries_ends_the_run_as_halted_not_finished() {
    let (test, id) = planned(20).await;
    let store = Arc::clone(&test.app.store);
    let channel = Scripted::new(Vec::new(), accept());
    // The halt lands while a batch is out and cancels everything still pending, so the very
    // next step finds nothing to do: well before the run's halt watcher polls again.
    let halting = Arc::new(HaltsOnFirstSend {
        store: Arc::clone(&store),
        update_id: id,
        inner: Arc::clone(&channel),
    });
    let channels: HashMap<ChannelKind, Arc<dyn Channel>> =
        HashMap::from([(ChannelKind::Email, halting as Arc<dyn Channel>)]);
    let dispatcher = Dispatcher::new(
        Arc::clone(&store),
        channels,
        DispatchSettings {
            workers: 1,
            claim_batch: 1,
            ..settings()
        },
        Arc::clone(&test.app.clock),
    );

    let end = dispatcher.run(id).await.expect("run");

    assert_eq!(
        end,
        RunEnd::Halted,
        "update send must not say all went well"
    );
    let counts = states(store.as_ref(), id).await;
    assert_eq!(
        counts[&DeliveryState::Cancelled],
        20 - channel.accepted().len() as u64
    );
}

/// Halts its update from inside the first send, as another process would.
struct HaltsOnFirstSend {
    store: Arc<dyn Store>,
    update_id: i64,
    inner: Arc<Scripted>,
}

#[async_trait]
impl Channel for HaltsOnFirstSend {
    async fn send(&self, message: &Message, handover: &mut dyn Handover) -> Outcome {
        if self.inner.calls() == 0 {
            self.store
                .halt_update(self.update_id, "Dr. Claes", 0)
                .await
                .expect("halt");
        }
        self.inner.send(message, handover).await
    }
}

/// Takes a few milliseconds per message, like a real server.
struct Slow(Arc<Scripted>);

#[async_trait]
impl Channel for Slow {
    async fn send(&self, message: &Message, handover: &mut dyn Handover) -> Outcome {
        tokio::time::sleep(Duration::from_millis(5)).await;
        self.0.send(message, handover).await
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_delivery_whose_lease_ran_low_while_it_waited_is_left_to_the_next_claim_and_goes_once() {
    let (test, id) = planned(24).await;
    let channel = Scripted::new(Vec::new(), accept());
    let slow = Arc::new(Slow(Arc::clone(&channel)));
    let channels: HashMap<ChannelKind, Arc<dyn Channel>> =
        HashMap::from([(ChannelKind::Email, slow as Arc<dyn Channel>)]);
    // One worker at ~5 ms a message (more on a loaded machine) takes longer than half of a
    // 60 ms lease to get through the batch: the tail of every claim is left to the next.
    let settings = DispatchSettings {
        workers: 1,
        claim_batch: 24,
        lease: Duration::from_millis(60),
        ..settings()
    };
    let end = Dispatcher::new(
        Arc::clone(&test.app.store),
        channels,
        settings,
        Arc::clone(&test.app.clock),
    )
    .run(id)
    .await
    .expect("run");

    assert_eq!(end, RunEnd::Finished);
    let mut accepted = channel.accepted();
    assert_eq!(accepted.len(), 24, "{accepted:?}");
    accepted.sort();
    accepted.dedup();
    assert_eq!(accepted.len(), 24, "nobody twice");
    assert_eq!(
        states(test.app.store.as_ref(), id).await,
        HashMap::from([(DeliveryState::Sent, 24)])
    );
}

/// A `tocsin.toml` next to the test's database sending e-mail to `smtp_url`.
fn smtp_config(test: &TestApp, smtp_url: &str) -> std::path::PathBuf {
    let file = test.dir.path().join("tocsin.toml");
    std::fs::write(
        &file,
        format!(
            "database_url = \"{}\"\n[email]\ntransport = \"smtp\"\nsmtp_url = \"{smtp_url}\"\n\
             from = \"{}\"\n{}",
            test.app.config.database_url,
            crate::support::EMAIL_FROM,
            crate::support::HOSPITAL_TOML
        ),
    )
    .expect("config file");
    file
}

fn tocsin(file: &std::path::Path, args: &[&str]) -> std::process::Command {
    let mut command = crate::support::tocsin_command();
    command.arg("--config").arg(file).args(args);
    command
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_mail_server_refusing_every_session_stops_the_run_with_its_answer_and_retry_sends_all_once_fixed(
) {
    use crate::support::{Mta, OpenSmtpdSetup, SmtpServer};
    let Some(refusing) = SmtpServer::opensmtpd(OpenSmtpdSetup {
        filter: Some((
            "connect",
            "src <loopback>",
            "reject \"554 5.7.1 No SMTP service for you\"",
        )),
        ..OpenSmtpdSetup::default()
    }) else {
        return;
    };
    let test = TestApp::new(|_| {}).await;
    seed(&test.app, 500).await;
    let id = test.approved_update(EMAIL_UPDATE).await;
    let file = smtp_config(&test, &refusing.url());

    let started = std::time::Instant::now();
    let out = tocsin(&file, &["update", "send", &id.to_string()])
        .output()
        .expect("run");
    let took = started.elapsed();

    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(4), "{stdout}");
    assert!(
        took < Duration::from_secs(60),
        "stopped within a minute, not after hours of retries: {took:?}"
    );
    assert!(
        stdout.contains("STOPPED with 500 deliveries held back")
            && stdout.contains("554 5.7.1 No SMTP service for you"),
        "{stdout}"
    );
    assert_eq!(
        states(test.app.store.as_ref(), id).await,
        HashMap::from([(DeliveryState::Pending, 500)]),
        "nobody failed for the server's refusal of us"
    );
    drop(refusing);

    let Some(fixed) = SmtpServer::of(Mta::OpenSmtpd, &[]) else {
        return;
    };
    let file = smtp_config(&test, &fixed.url());
    let out = tocsin(
        &file,
        &["update", "retry", &id.to_string(), "--by", "IT on call"],
    )
    .output()
    .expect("run");

    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(0), "{stdout}");
    assert_eq!(fixed.received().len(), 500, "everyone, once");
    assert_eq!(
        states(test.app.store.as_ref(), id).await,
        HashMap::from([(DeliveryState::Sent, 500)])
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_halt_stops_a_broadcast_of_ten_thousand_within_a_second_and_serve_does_not_resume_it() {
    use crate::support::SmtpServer;
    const RECIPIENTS: usize = 10_000;
    // A server that takes 50 ms over each message keeps the broadcast running for a while:
    // on a loaded machine starting `tocsin update halt` alone can take seconds.
    let Some(server) = SmtpServer::start(&["--delay-ms", "50"]) else {
        return;
    };
    let test = TestApp::new(|_| {}).await;
    seed(&test.app, RECIPIENTS).await;
    let id = test.approved_update(EMAIL_UPDATE).await;
    let file = smtp_config(&test, &server.url());

    let transcript = test.dir.path().join("send.out");
    let mut sending = tocsin(&file, &["update", "send", &id.to_string()])
        .stdout(std::fs::File::create(&transcript).expect("transcript"))
        .stderr(std::process::Stdio::null())
        .spawn()
        .expect("start tocsin");
    let deadline = std::time::Instant::now() + Duration::from_secs(120);
    while server.taken() < 500 {
        assert!(std::time::Instant::now() < deadline, "the send is too slow");
        std::thread::sleep(Duration::from_millis(5));
    }
    let halt = tocsin(
        &file,
        &["update", "halt", &id.to_string(), "--by", "Dr. Jan Claes"],
    )
    .output()
    .expect("halt");
    let halted_at = std::time::Instant::now();
    assert!(halt.status.success(), "{halt:?}");
    // When the last message reached the server, and when the process ended (after printing
    // the status of all 10,000).
    let mut stopped = None;
    let mut taken = server.taken();
    let mut last_arrival = halted_at;
    while stopped.is_none() {
        assert!(
            halted_at.elapsed() < Duration::from_secs(30),
            "the send did not stop"
        );
        stopped = sending.try_wait().expect("poll");
        let now_taken = server.taken();
        if now_taken != taken {
            taken = now_taken;
            last_arrival = std::time::Instant::now();
        }
        std::thread::sleep(Duration::from_millis(2));
    }
    let exited_after = halted_at.elapsed();
    sending.wait().expect("reaped");
    let sending_stopped_after = last_arrival.duration_since(halted_at);
    eprintln!(
        "halt: the last message reached the server {sending_stopped_after:?} after the halt \
         was recorded; update send ended after {exited_after:?}"
    );
    assert_eq!(
        stopped.and_then(|status| status.code()),
        Some(4),
        "{} of {RECIPIENTS} had reached the server; update send said:\n{}",
        server.taken(),
        std::fs::read_to_string(&transcript).unwrap_or_default()
    );
    assert!(
        sending_stopped_after < Duration::from_secs(5),
        "sending stopped promptly (the target is within a second): {sending_stopped_after:?}"
    );

    let store = test.app.store.as_ref();
    let received = server.received();
    let counts = states(store, id).await;
    let sent = counts.get(&DeliveryState::Sent).copied().unwrap_or(0);
    let uncertain = counts.get(&DeliveryState::Uncertain).copied().unwrap_or(0);
    let cancelled = counts[&DeliveryState::Cancelled];
    assert!(
        (received.len() as u64) < RECIPIENTS as u64 / 2,
        "the broadcast stopped early"
    );
    assert_eq!(
        sent,
        received.len() as u64,
        "what left is exactly what the server has: nothing handed over after the halt \
         went out ({counts:?})"
    );
    assert_eq!(
        sent + uncertain + cancelled,
        RECIPIENTS as u64,
        "{counts:?}"
    );

    // serve takes receipts and sends updates being sent; a halted one it leaves alone.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .expect("bind")
        .local_addr()
        .expect("address")
        .port();
    std::fs::write(
        &file,
        std::fs::read_to_string(&file).expect("config")
            + &format!("[serve]\nbind = \"127.0.0.1:{port}\"\n"),
    )
    .expect("config");
    let mut serve = tocsin(&file, &["serve"])
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("serve");
    // Two of serve's five-second rounds.
    std::thread::sleep(Duration::from_secs(11));
    let _ = serve.kill();
    let _ = serve.wait();
    assert_eq!(
        server.received().len(),
        received.len(),
        "serve sent nothing of the halted update"
    );
    assert_eq!(states(store, id).await, counts);
}
