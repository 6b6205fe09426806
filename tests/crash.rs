//! The crash test runs as a test binary of its own, so that no other test competes with it
//! for the two cores while it kills and restarts a broadcast. It runs against aiosmtpd and
//! against OpenSMTPD, one after the other.

// The helpers are shared with the `pipeline` tests; this binary uses only some of them.
#[allow(dead_code, unused_imports)]
#[path = "pipeline/support.rs"]
mod support;

use std::collections::HashMap;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};
use support::{
    config_in, seed, tocsin_binary, Mta, SmtpServer, TestApp, EMAIL_FROM, EMAIL_UPDATE,
    HOSPITAL_TOML,
};
use tocsin::domain::{ChannelKind, DeliveryState};

/// One broadcast at a time, whichever the server.
static ONE_AT_A_TIME: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_broadcast_killed_part_way_and_restarted_reaches_everyone_exactly_once_through_aiosmtpd()
{
    let _alone = ONE_AT_A_TIME.lock().await;
    killed_part_way_and_restarted(Mta::Aiosmtpd).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_broadcast_killed_part_way_and_restarted_reaches_everyone_exactly_once_through_opensmtpd()
{
    let _alone = ONE_AT_A_TIME.lock().await;
    killed_part_way_and_restarted(Mta::OpenSmtpd).await;
}

/// A `tocsin` run, killed if the test fails while it runs.
struct Run(Child);

impl Drop for Run {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// A broadcast killed with SIGKILL part-way and started again reaches every recipient
/// exactly once, counted at the SMTP server: what it took (OpenSMTPD: queued) decides when
/// to kill, what it delivered is counted at the end.
async fn killed_part_way_and_restarted(mta: Mta) {
    // OpenSMTPD writes each message to its queue before it answers: about 200 messages/s
    // from 8 connections on the loaded development machine, where aiosmtpd takes ~900.
    // Fewer recipients keep the test within a minute or two, still killed mid-traffic.
    let recipients: usize = match mta {
        Mta::Aiosmtpd => 5_000,
        Mta::OpenSmtpd => 2_000,
    };
    let Some(server) = SmtpServer::of(mta, &[]) else {
        return;
    };
    let test = TestApp::with_smtp(&server).await;
    seed(&test.app, recipients).await;
    let id = test.approved_update(EMAIL_UPDATE).await;
    let config_file = test.dir.path().join("tocsin.toml");
    let config = config_in(test.dir.path());
    // A short lease, so that the second run soon takes over what the killed one held. A
    // delivery still waiting in this process when its lease expires is claimed again and
    // sent twice: the lease must outlast the sending of a claimed batch, which at
    // OpenSMTPD's pace (a batch of 500 takes several seconds on a loaded machine) calls
    // for smaller batches and a longer lease.
    let dispatch = match mta {
        Mta::Aiosmtpd => "lease_seconds = 2",
        Mta::OpenSmtpd => "lease_seconds = 10\nclaim_batch = 100",
    };
    std::fs::write(
        &config_file,
        format!(
            "database_url = \"{}\"\n[dispatch]\n{dispatch}\n[email]\ntransport = \"smtp\"\nsmtp_url = \"{}\"\nfrom = \"{EMAIL_FROM}\"\n{HOSPITAL_TOML}",
            config.database_url,
            server.url()
        ),
    )
    .expect("config file");
    let send = || {
        Command::new(tocsin_binary())
            .arg("--config")
            .arg(&config_file)
            .args(["update", "send", &id.to_string()])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("start tocsin")
    };

    let mut first = Run(send());
    let deadline = Instant::now() + Duration::from_secs(120);
    while server.taken() < recipients / 3 {
        assert!(Instant::now() < deadline, "the first run sent too little");
        assert!(
            first.0.try_wait().expect("poll").is_none(),
            "the first run ended before it was killed"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
    first.0.kill().expect("SIGKILL");
    first.0.wait().expect("reaped");
    let at_kill = server.taken();
    assert!(at_kill < recipients, "killed part-way ({at_kill} sent)");

    let second = send().wait().expect("second run");
    // 3: some deliveries are uncertain (handed over when the kill came).
    assert!(
        matches!(second.code(), Some(0 | 3)),
        "the second run completes: {second:?}"
    );

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
        "sent twice: {twice:?}\n{}\n{}",
        history.join("\n"),
        told.join("\n")
    );
    // A recipient the server never got must not be counted `sent`: the kill came between
    // the handover's commit and the message's final dot, and its delivery is `uncertain`,
    // for the call centre to check.
    let mut lost = Vec::new();
    for n in 0..recipients {
        if !per_recipient.contains_key(&format!("patient{n}@example.be")) {
            // Contacts were imported in order: patient n is contact n + 1.
            let delivery = test
                .app
                .store
                .delivery(id, n as i64 + 1, ChannelKind::Email)
                .await
                .expect("query");
            lost.push((n, delivery.map(|delivery| delivery.state)));
        }
    }
    assert!(
        lost.iter()
            .all(|(_, state)| *state == Some(DeliveryState::Uncertain)),
        "killed after {at_kill}: the server never got {lost:?}"
    );
}
