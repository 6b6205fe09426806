//! The console's dashboard: an update watched over Server-Sent Events until every delivery
//! is done, its counts those of `tocsin status --json`; the unreached list's CSV that of
//! `tocsin export unreached`; "send the fallback now"; one poller however many dashboards;
//! streams that end before the request timeout and when their session ends; and text that
//! stays text.

use super::cli::{configure, tocsin};
use super::console_client::{Browser, Console};
use super::providers::TwilioEmulator;
use super::support::{seed, sms_patient, TestApp, EMAIL_UPDATE};
use reqwest::header::COOKIE;
use reqwest::StatusCode;
use std::sync::Arc;
use std::time::{Duration, Instant};
use tocsin::app::{Actor, App, NewCredential};
use tocsin::config::{ChannelPolicy, PolicyMode, SmsTransport};
use tocsin::domain::{ChannelKind, UpdateState, UserRole};
use tocsin::web::progress::ProgressHub;

const AUTHOR_PASSWORD: &str = "lange zin om te onthouden";
const APPROVER_PASSWORD: &str = "une autre phrase assez longue";
const ADMIN_PASSWORD: &str = "een beheerder met een lange zin";

async fn add_users(test: &TestApp) {
    let actor = Actor::cli("test");
    for (name, role, password) in [
        ("els", UserRole::Author, AUTHOR_PASSWORD),
        ("jan", UserRole::Approver, APPROVER_PASSWORD),
    ] {
        test.app
            .add_user(name, role, NewCredential::Password(password.into()), &actor)
            .await
            .expect("user");
    }
}

/// A dashboard's event stream, read as the browser's `EventSource` reads it.
struct Events {
    response: reqwest::Response,
    buffer: String,
}

impl Events {
    async fn open(browser: &Browser, update_id: i64) -> Events {
        let cookies = browser
            .cookies
            .iter()
            .map(|(name, value)| format!("{name}={value}"))
            .collect::<Vec<_>>()
            .join("; ");
        let response = reqwest::Client::new()
            .get(format!(
                "{}/console/updates/{update_id}/events",
                browser.base
            ))
            .header(COOKIE, cookies)
            .header("accept", "text/event-stream")
            .send()
            .await
            .expect("GET events");
        assert_eq!(response.status(), StatusCode::OK);
        assert_eq!(response.headers()["content-type"], "text/event-stream");
        Events {
            response,
            buffer: String::new(),
        }
    }

    /// The next frame (event or comment), whole; None once the server ended the stream.
    async fn frame(&mut self) -> Option<String> {
        loop {
            if let Some(end) = self.buffer.find("\n\n") {
                let frame = self.buffer[..end].to_string();
                self.buffer.drain(..end + 2);
                return Some(frame);
            }
            match self.response.chunk().await {
                Ok(Some(bytes)) => self.buffer.push_str(&String::from_utf8_lossy(&bytes)),
                Ok(None) | Err(_) => return None,
            }
        }
    }

    /// The next `progress` event's data, skipping comments; None at the stream's end.
    async fn progress(&mut self) -> Option<serde_json::Value> {
        loop {
            let frame = self.frame().await?;
            if let Some(data) = data_of(&frame) {
                return Some(data);
            }
        }
    }
}

fn data_of(frame: &str) -> Option<serde_json::Value> {
    if !frame.lines().any(|line| line == "event: progress") {
        return None;
    }
    let data: Vec<&str> = frame
        .lines()
        .filter_map(|line| line.strip_prefix("data: ").or(line.strip_prefix("data:")))
        .collect();
    Some(serde_json::from_str(&data.join("\n")).expect("JSON data"))
}

fn done(progress: &serde_json::Value) -> bool {
    let total = progress["settled"].as_u64().unwrap_or(0);
    progress["progress"]["state"] == "sent"
        && total > 0
        && progress["progress"]["total"].as_u64() == Some(total)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_broadcast_watched_over_sse_reaches_100_percent_and_its_last_counts_are_those_of_tocsin_status(
) {
    let test = TestApp::new(|_| {}).await;
    add_users(&test).await;
    seed(&test.app, 300).await;
    let id = test.approved_update(EMAIL_UPDATE).await;
    let console = Console::start(&test).await;
    let mut browser = Browser::new(&console);
    browser.sign_in("els", AUTHOR_PASSWORD).await;

    let page = browser.get(&format!("/console/updates/{id}/watch")).await;
    assert_eq!(page.status, StatusCode::OK, "{}", page.body);
    assert!(page.body.contains("Sending of update"), "{}", page.body);
    assert!(page.body.contains("aria-live=\"polite\""));
    assert!(page.body.contains("<script src=\"/console/watch.js\""));
    assert!(!page.body.contains("<script>"), "no inline script");
    let script = browser.get("/console/watch.js").await;
    assert_eq!(script.status, StatusCode::OK);
    assert!(script.body.contains("EventSource"));

    let mut events = Events::open(&browser, id).await;
    let first = events.progress().await.expect("a first event");
    assert_eq!(first["progress"]["total"], 0, "nothing planned yet");
    let watching = async {
        let deadline = Instant::now() + Duration::from_secs(60);
        let mut seen = 1;
        loop {
            assert!(
                Instant::now() < deadline,
                "the dashboard never reached 100 %"
            );
            let progress = events.progress().await.expect("the stream goes on");
            seen += 1;
            if done(&progress) {
                return (progress, seen);
            }
        }
    };
    let ((last, seen), sent) = tokio::join!(watching, test.app.send(id, |_, _| {}));
    sent.expect("send");
    assert!(seen >= 2, "an event when the counts changed");
    assert_eq!(last["percent"], 100);
    assert_eq!(last["progress"]["by_state"]["sent"], 300);
    assert!(last["html"]
        .as_str()
        .is_some_and(|html| html.contains("300 of 300 deliveries done (100%)")));

    // The same counts as the library's report and the CLI's.
    let status = serde_json::to_value(test.app.status(id).await.expect("status")).expect("json");
    configure(
        test.dir.path(),
        &format!("database_url = \"{}\"", test.app.config.database_url),
    );
    let out = tocsin(test.dir.path(), &["status", &id.to_string(), "--json"]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let cli: serde_json::Value = serde_json::from_slice(&out.stdout).expect("status --json");
    for key in [
        "state",
        "total",
        "held",
        "open",
        "by_state",
        "by_channel",
        "by_language",
        "by_audience",
        "by_channel_and_language",
        "by_channel_language_audience",
        "by_gateway",
        "breakers",
        "failures",
    ] {
        assert_eq!(last["progress"][key], status[key], "{key}");
        assert_eq!(last["progress"][key], cli[key], "{key}");
    }
    assert_eq!(
        cli["by_channel_language_audience"]["email/fr/patient"]["sent"],
        100
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn twenty_dashboards_of_one_update_share_one_poller_which_stops_when_they_leave() {
    let test = TestApp::new(|_| {}).await;
    add_users(&test).await;
    seed(&test.app, 30).await;
    let id = test.approved_update(EMAIL_UPDATE).await;
    let console = Console::start(&test).await;
    let hub = console.progress.clone();
    let mut browser = Browser::new(&console);
    browser.sign_in("jan", APPROVER_PASSWORD).await;

    let mut streams = Vec::new();
    for _ in 0..20 {
        let mut events = Events::open(&browser, id).await;
        events.progress().await.expect("a first event");
        streams.push(events);
    }
    assert_eq!(hub.pollers_started(), 1);
    assert_eq!(hub.pollers_running(), 1);
    let before = hub.polls();
    tokio::time::sleep(Duration::from_secs(2)).await;
    let polls = hub.polls() - before;
    assert!(
        (2..=6).contains(&polls),
        "one read every 500 ms for all twenty, not twenty: {polls} in 2 s"
    );
    drop(streams);
    let deadline = Instant::now() + Duration::from_secs(10);
    while hub.pollers_running() > 0 {
        assert!(
            Instant::now() < deadline,
            "the poller outlived its dashboards"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stream_ends_itself_before_the_request_timeout_and_the_reconnection_goes_on() {
    let test = TestApp::new(|config| {
        // Long enough for a sign-in's Argon2 in a debug build.
        config.serve.request_timeout_seconds = 6;
        config.serve.idle_timeout_seconds = 1;
    })
    .await;
    add_users(&test).await;
    seed(&test.app, 10).await;
    let id = test.approved_update(EMAIL_UPDATE).await;
    let console = Console::start(&test).await;
    let mut browser = Browser::new(&console);
    browser.sign_in("els", AUTHOR_PASSWORD).await;

    let started = Instant::now();
    let mut connections = 0;
    while started.elapsed() < Duration::from_secs(10) {
        let opened = Instant::now();
        let mut events = Events::open(&browser, id).await;
        connections += 1;
        let first = events.frame().await.expect("a first frame");
        assert!(first.contains("retry: 2000"), "{first}");
        assert!(data_of(&first).is_some(), "{first}");
        let mut last = first;
        while let Some(frame) = events.frame().await {
            last = frame;
        }
        let lasted = opened.elapsed();
        assert_eq!(
            last, ": until the next connection",
            "the server ended the stream itself, not a timeout"
        );
        assert!(
            lasted >= Duration::from_millis(4400) && lasted < Duration::from_secs(6),
            "three quarters of the 6 s request timeout, longer than the 1 s idle timeout: \
             {lasted:?}"
        );
    }
    assert!(connections >= 2, "{connections}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_session_that_ended_gets_no_more_events() {
    let test = TestApp::new(|_| {}).await;
    add_users(&test).await;
    seed(&test.app, 10).await;
    let id = test.approved_update(EMAIL_UPDATE).await;
    let console = Console::start(&test).await;
    let mut browser = Browser::new(&console);
    browser.sign_in("els", AUTHOR_PASSWORD).await;
    let mut events = Events::open(&browser, id).await;
    events.progress().await.expect("a first event");
    let kept = browser.cookies.clone();

    let page = browser.post("/console/logout", &[]).await;
    assert_eq!(page.status, StatusCode::SEE_OTHER);
    test.app.send(id, |_, _| {}).await.expect("send");
    let ended = tokio::time::timeout(Duration::from_secs(5), async {
        let mut after = Vec::new();
        while let Some(frame) = events.frame().await {
            after.push(frame);
        }
        after
    })
    .await
    .expect("the stream ends within seconds of the sign-out");
    assert!(
        ended.iter().all(|frame| data_of(frame).is_none()),
        "no event after the sign-out: {ended:?}"
    );
    browser.cookies = kept;
    let page = browser.get(&format!("/console/updates/{id}/events")).await;
    assert_eq!(page.status, StatusCode::SEE_OTHER, "to the sign-in page");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_session_ended_by_another_process_ends_its_stream_within_seconds() {
    let test = TestApp::new(|_| {}).await;
    add_users(&test).await;
    seed(&test.app, 10).await;
    let id = test.approved_update(EMAIL_UPDATE).await;
    let console = Console::start(&test).await;
    let mut browser = Browser::new(&console);
    browser.sign_in("els", AUTHOR_PASSWORD).await;
    let mut events = Events::open(&browser, id).await;
    events.progress().await.expect("a first event");

    // `test.app` has a store of its own, as `tocsin user disable` in another process has:
    // the console learns of it only by reading the session again.
    test.app
        .disable_user("els", &Actor::cli("test"))
        .await
        .expect("disable");
    let disabled = Instant::now();
    let ended = tokio::time::timeout(Duration::from_secs(8), async {
        while events.frame().await.is_some() {}
    })
    .await;
    assert!(
        ended.is_ok(),
        "the stream goes on {:?} after its account was disabled",
        disabled.elapsed()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_poller_reads_the_counts_again_only_when_something_changed() {
    let test = TestApp::new(|_| {}).await;
    seed(&test.app, 30).await;
    let id = test.approved_update(EMAIL_UPDATE).await;
    let own = App::open(test.app.config.clone()).await.expect("app");
    let hub = ProgressHub::new(Arc::new(own), Duration::from_millis(50));
    let mut latest = hub.subscribe(id);
    latest.changed().await.expect("a first value");
    assert_eq!(
        latest.borrow_and_update().as_ref().map(|p| p.total),
        Some(0)
    );

    let (polls, reads) = (hub.polls(), hub.reads());
    tokio::time::sleep(Duration::from_secs(1)).await;
    assert!(hub.polls() - polls >= 10, "a poll every 50 ms");
    assert_eq!(
        hub.reads(),
        reads,
        "nothing changed: the counts were not read"
    );

    let watching = async {
        let deadline = Instant::now() + Duration::from_secs(60);
        loop {
            assert!(
                Instant::now() < deadline,
                "the counts never reached the end"
            );
            latest.changed().await.expect("the poller goes on");
            let progress = latest.borrow_and_update().clone().expect("counts");
            if progress.state == UpdateState::Sent && progress.settled() == 30 {
                return progress;
            }
        }
    };
    let (last, sent) = tokio::join!(watching, test.app.send(id, |_, _| {}));
    sent.expect("send");
    assert!(hub.reads() > reads, "the sending was read");
    assert_eq!(
        *last,
        test.app.progress(id).await.expect("progress"),
        "the last value is the counts of `tocsin status`"
    );

    let (polls, reads) = (hub.polls(), hub.reads());
    tokio::time::sleep(Duration::from_secs(1)).await;
    assert!(hub.polls() - polls >= 10);
    assert_eq!(
        hub.reads(),
        reads,
        "a sent update is not read again and again"
    );
}

/// The landline of patient 4, whom nothing reaches.
const LANDLINE: &str = "+3235551234";

/// Patients 0–3 by SMS first through an emulated Twilio that sends receipts, e-mail as the
/// fallback after 60 minutes; patient 3 has no e-mail address, patient 4 no address at all.
async fn sms_first() -> (TestApp, TwilioEmulator, i64) {
    let twilio = TwilioEmulator::start().await;
    let gateway = twilio.gateway_config(Some("https://tocsin.example.be/receipts/twilio"));
    let test = TestApp::new(move |config| {
        config.sms.transport = SmsTransport::Gateways;
        config.sms.gateways = vec![gateway];
        config.serve.receipt_secret = Some("test-receipt-secret".into());
        config.policy.patients = ChannelPolicy {
            channels: vec![ChannelKind::Sms, ChannelKind::Email],
            mode: PolicyMode::First,
            fallback: None,
            fallback_after_minutes: 60,
        };
    })
    .await;
    add_users(&test).await;
    let emails = [
        Some("p0@example.be"),
        Some("p1@example.be"),
        Some("p2@example.be"),
        None,
    ];
    let (mut contacts, mut appointments): (Vec<_>, Vec<_>) = emails
        .iter()
        .enumerate()
        .map(|(n, email)| {
            sms_patient(
                n,
                ["nl", "fr", "en"][n % 3],
                format!("+3247112345{n}"),
                *email,
            )
        })
        .unzip();
    let (mut nobody, appointment) = sms_patient(4, "nl", String::new(), None);
    nobody.mobile = None;
    nobody.last_name = "<img src=x onerror=alert(1)>".into();
    nobody.phone = Some(LANDLINE.into());
    contacts.push(nobody);
    appointments.push(appointment);
    test.app
        .store
        .import(&contacts, &appointments, "test seed", 0)
        .await
        .expect("seed");
    let id = test
        .approved_update(
            &EMAIL_UPDATE.replace("channels = [\"email\"]", "channels = [\"sms\", \"email\"]"),
        )
        .await;
    (test, twilio, id)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_unreached_csv_is_the_clis_export_and_the_fallback_now_plans_the_emails_for_approvers_only(
) {
    let (test, _twilio, id) = sms_first().await;
    test.app.send(id, |_, _| {}).await.expect("send");
    let console = Console::start(&test).await;

    // Names and phone numbers of patients are for approvers: an author or an admin sees how
    // many were not reached, not who.
    test.app
        .add_user(
            "ad",
            UserRole::Admin,
            NewCredential::Password(ADMIN_PASSWORD.into()),
            &Actor::cli("test"),
        )
        .await
        .expect("admin");
    for (name, password) in [("els", AUTHOR_PASSWORD), ("ad", ADMIN_PASSWORD)] {
        let mut browser = Browser::new(&console);
        browser.sign_in(name, password).await;
        let csv = browser
            .get(&format!("/console/updates/{id}/unreached.csv"))
            .await;
        assert_eq!(csv.status, StatusCode::FORBIDDEN, "{name}: {}", csv.body);
        let page = browser.get(&format!("/console/updates/{id}/watch")).await;
        assert_eq!(page.status, StatusCode::OK);
        assert!(page.body.contains("Not reached ("), "{}", page.body);
        assert!(
            page.body.contains("is shown to approvers only"),
            "{}",
            page.body
        );
        assert!(!page.body.contains(LANDLINE), "{name}: {}", page.body);
        assert!(!page.body.contains("unreached.csv"), "{name}");
    }

    let mut author = Browser::new(&console);
    author.sign_in("els", AUTHOR_PASSWORD).await;
    let mut approver = Browser::new(&console);
    approver.sign_in("jan", APPROVER_PASSWORD).await;
    let csv = approver
        .get(&format!("/console/updates/{id}/unreached.csv"))
        .await;
    assert_eq!(csv.status, StatusCode::OK);
    assert_eq!(csv.headers["content-type"], "text/csv; charset=utf-8");
    assert!(csv.headers["content-disposition"]
        .to_str()
        .is_ok_and(|value| value.contains("unreached-")));
    configure(
        test.dir.path(),
        &format!("database_url = \"{}\"", test.app.config.database_url),
    );
    let out = tocsin(
        test.dir.path(),
        &[
            "export",
            "unreached",
            &id.to_string(),
            "--csv",
            "unreached.csv",
        ],
    );
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let exported =
        std::fs::read_to_string(test.dir.path().join("unreached.csv")).expect("the CLI's CSV");
    assert_eq!(csv.body, exported);
    assert!(
        exported.contains("P4") && exported.contains(LANDLINE),
        "{exported}"
    );

    // The page shows the contact's name as text, and offers the fallback to approvers only.
    let page = approver.get(&format!("/console/updates/{id}/watch")).await;
    assert!(!page.body.contains("<img src=x"), "{}", page.body);
    assert!(page.body.contains("&lt;img src=x onerror=alert(1)&gt;"));
    assert!(page.body.contains(LANDLINE));
    let page = author.get(&format!("/console/updates/{id}/watch")).await;
    assert!(page.body.contains("Only an approver can do this."));
    let refused = author
        .post(&format!("/console/updates/{id}/fallback"), &[])
        .await;
    assert_eq!(refused.status, StatusCode::FORBIDDEN);

    approver.get(&format!("/console/updates/{id}/watch")).await;
    let page = approver
        .post(&format!("/console/updates/{id}/fallback"), &[])
        .await;
    assert_eq!(page.status, StatusCode::SEE_OTHER, "{}", page.body);
    // The SMS of patients 0–3 were sent without a receipt yet: 0–2 get an e-mail, 3 (no
    // address) a skipped row that says why.
    assert_eq!(
        page.location(),
        Some(format!("/console/updates/{id}/watch?fallback=4#fallback").as_str())
    );
    let page = approver.get(page.location().expect("back")).await;
    assert!(
        page.body
            .contains("Deliveries planned on the fallback channel: 4."),
        "{}",
        page.body
    );
    let store = &test.app.store;
    for n in 0..3 {
        let contact = store
            .find_contact(&format!("P{n}"))
            .await
            .expect("query")
            .expect("contact");
        let email = store
            .delivery(id, contact.id, ChannelKind::Email)
            .await
            .expect("query")
            .expect("an e-mail planned");
        assert_eq!(email.state, tocsin::domain::DeliveryState::Pending);
    }
    let update = store.update(id).await.expect("update");
    assert_eq!(update.state, tocsin::domain::UpdateState::Sending);
    let audit = test
        .app
        .audit_log(None, None, &Actor::cli("test"))
        .await
        .expect("audit");
    assert!(audit.iter().any(|entry| entry.action == "update.fallback"
        && entry.user.as_ref().map(|user| user.as_str()) == Some("jan")));
    assert!(audit.iter().any(|entry| entry.action == "unreached.export"));
    // Pressed again: nothing more.
    let page = approver
        .post(&format!("/console/updates/{id}/fallback"), &[])
        .await;
    assert_eq!(
        page.location(),
        Some(format!("/console/updates/{id}/watch?fallback=0#fallback").as_str())
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failure_reason_with_markup_is_shown_as_text_on_the_dashboard_and_in_its_events() {
    let (test, twilio, id) = sms_first().await;
    twilio.cannot_reach("+32471123451");
    test.app.send(id, |_, _| {}).await.expect("send");
    let reason = "<script>alert(1)</script>";
    test.app
        .store
        .record_breaker(&tocsin::store::BreakerRecord {
            gateway: "twilio".into(),
            state: "open".into(),
            // Later than the state the send recorded, which it replaces.
            since_ms: chrono::Utc::now().timestamp_millis() + 3_600_000,
            last_error: Some(reason.into()),
        })
        .await
        .expect("breaker");
    let console = Console::start(&test).await;
    let mut browser = Browser::new(&console);
    browser.sign_in("jan", APPROVER_PASSWORD).await;
    let page = browser.get(&format!("/console/updates/{id}/watch")).await;
    assert!(
        page.body.contains("21211"),
        "the reason Twilio gave: {}",
        page.body
    );
    assert!(!page.body.contains(reason), "{}", page.body);
    assert!(
        page.body
            .contains("&lt;script&gt;alert(1)&lt;&#x2F;script&gt;"),
        "{}",
        page.body
    );
    assert!(page.body.contains("out of use (open)"));
    let mut events = Events::open(&browser, id).await;
    let progress = events.progress().await.expect("an event");
    let html = progress["html"].as_str().expect("html");
    assert!(!html.contains(reason), "{html}");
    assert!(html.contains("&lt;script&gt;"), "{html}");
}
