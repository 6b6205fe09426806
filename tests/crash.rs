//! The crash test runs as a test binary of its own, so that no other test competes with it
//! for the two cores while it kills and restarts a broadcast.

// The helpers are shared with the `pipeline` tests; this binary uses only some of them.
#[allow(dead_code)]
#[path = "pipeline/support.rs"]
mod support;

use std::collections::HashMap;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};
use support::{
    config_in, seed, tocsin_binary, SmtpServer, TestApp, EMAIL_FROM, EMAIL_UPDATE, HOSPITAL_TOML,
};

/// A broadcast killed with SIGKILL part-way and started again reaches every recipient
/// exactly once, counted at the SMTP server.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_broadcast_killed_part_way_and_restarted_reaches_everyone_exactly_once() {
    const RECIPIENTS: usize = 5_000;
    let Some(server) = SmtpServer::start(&[]) else {
        return;
    };
    let test = TestApp::with_smtp(&server).await;
    seed(&test.app, RECIPIENTS).await;
    let id = test.approved_update(EMAIL_UPDATE).await;
    let config_file = test.dir.path().join("tocsin.toml");
    let config = config_in(test.dir.path());
    std::fs::write(
        &config_file,
        format!(
            "database_url = \"{}\"\n[dispatch]\nlease_seconds = 2\n[email]\ntransport = \"smtp\"\nsmtp_url = \"{}\"\nfrom = \"{EMAIL_FROM}\"\n{HOSPITAL_TOML}",
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

    let mut first = send();
    let deadline = Instant::now() + Duration::from_secs(120);
    while server.received().len() < RECIPIENTS / 3 {
        assert!(Instant::now() < deadline, "the first run sent too little");
        assert!(
            first.try_wait().expect("poll").is_none(),
            "the first run ended before it was killed"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
    first.kill().expect("SIGKILL");
    first.wait().expect("reaped");
    let at_kill = server.received().len();
    assert!(at_kill < RECIPIENTS, "killed part-way ({at_kill} sent)");

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
    assert!(twice.is_empty(), "sent twice: {twice:?}");
    assert_eq!(
        per_recipient.len(),
        RECIPIENTS,
        "nothing lost (killed after {at_kill})"
    );
}
