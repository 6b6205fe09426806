//! The fallback channel: patients reached by SMS first (`mode = "first"`), whose SMS goes
//! through the emulated Twilio of `sms_providers.rs` and whose fallback e-mail through a real
//! SMTP server. Time comes from a clock the tests move; nothing waits on the wall clock.

use crate::providers::{TwilioEmulator, ACCOUNT_SID, AUTH_TOKEN};
use crate::support::{sms_patient, Mta, SmtpServer, TestApp, EMAIL_UPDATE};
use mailparse::MailHeaderMap;
use std::sync::Arc;
use std::time::Duration;
use tocsin::channels::sms::twilio::twilio_signature;
use tocsin::clock::{Clock, ManualClock};
use tocsin::config::{ChannelPolicy, EmailTransport, PolicyMode, SmsTransport};
use tocsin::domain::{ChannelKind, DeliveryState, GatewayId};
use tocsin::store::StoredDelivery;
use tocsin::web::ReceiptKeys;

const STATUS_CALLBACK: &str = "https://tocsin.example.be/receipts/twilio";
const MINUTE: Duration = Duration::from_secs(60);

/// A patient of the test: external id `P{n}`, mobile `+3247112345{n}`.
struct Patient {
    language: &'static str,
    email: Option<&'static str>,
}

const PATIENTS: [Patient; 5] = [
    Patient {
        language: "nl",
        email: Some("p0@example.be"),
    },
    Patient {
        language: "fr",
        email: Some("p1@example.be"),
    },
    Patient {
        language: "en",
        email: Some("p2@example.be"),
    },
    Patient {
        language: "nl",
        email: None,
    },
    Patient {
        language: "en",
        email: Some("p4@example.be"),
    },
];

fn mobile(n: usize) -> String {
    format!("+3247112345{n}")
}

struct Setup {
    test: TestApp,
    smtp: SmtpServer,
    twilio: TwilioEmulator,
    clock: Arc<ManualClock>,
    update_id: i64,
}

/// The patients above, each with one booking on Tuesday 13 January 2026 at 09:30 (Brussels)
/// in cardiology at Deurne; an approved update by SMS and e-mail to them; SMS first, e-mail as
/// the fallback after `fallback_after_minutes` 60; Twilio asked for status callbacks. None
/// when the SMTP server is missing (and CI is not set).
async fn setup() -> Option<Setup> {
    setup_with(Mta::Aiosmtpd).await
}

/// The same, the e-mails going to `mta`.
async fn setup_with(mta: Mta) -> Option<Setup> {
    let smtp = SmtpServer::of(mta, &[])?;
    let twilio = TwilioEmulator::start().await;
    let (smtp_url, gateway) = (smtp.url(), twilio.gateway_config(Some(STATUS_CALLBACK)));
    let mut test = TestApp::new(move |config| {
        config.email.transport = EmailTransport::Smtp;
        config.email.smtp_url = smtp_url;
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
    // Ahead of the wall clock, which stamps the planned rows as due.
    let clock = Arc::new(ManualClock::new());
    clock.advance(24 * 60 * MINUTE);
    test.app.clock = Arc::clone(&clock) as Arc<dyn Clock>;
    let (contacts, appointments): (Vec<_>, Vec<_>) = PATIENTS
        .iter()
        .enumerate()
        .map(|(n, patient)| sms_patient(n, patient.language, mobile(n), patient.email))
        .unzip();
    test.app
        .store
        .import(&contacts, &appointments, "test seed", 0)
        .await
        .expect("seed");
    test.app
        .optout("P4", ChannelKind::Email, true, Some("asked by phone"))
        .await
        .expect("opt-out");
    let update_id = test
        .approved_update(
            &EMAIL_UPDATE.replace("channels = [\"email\"]", "channels = [\"sms\", \"email\"]"),
        )
        .await;
    Some(Setup {
        test,
        smtp,
        twilio,
        clock,
        update_id,
    })
}

impl Setup {
    async fn send(&self) {
        self.test
            .app
            .send(self.update_id, |_, _| {})
            .await
            .expect("send");
    }

    /// What `tocsin serve` does on every tick.
    async fn sweep(&self) -> u64 {
        let update = self
            .test
            .app
            .store
            .update(self.update_id)
            .await
            .expect("update");
        self.test
            .app
            .fallback()
            .sweep(&update)
            .await
            .expect("sweep")
    }

    async fn delivery(&self, n: usize, channel: ChannelKind) -> Option<StoredDelivery> {
        let store = &self.test.app.store;
        let contact = store
            .find_contact(&format!("P{n}"))
            .await
            .expect("query")
            .expect("contact");
        store
            .delivery(self.update_id, contact.id, channel)
            .await
            .expect("query")
    }

    /// The recipients of the e-mails the SMTP server took, in order.
    fn mailed(&self) -> Vec<String> {
        self.smtp
            .received()
            .into_iter()
            .flat_map(|received| received.rcpt_tos)
            .collect()
    }

    /// A signed Twilio status callback for patient `n`'s SMS, through `tocsin serve`'s
    /// receipt router.
    async fn receipt(&self, n: usize, fields: &[(&str, &str)]) {
        let sms = self
            .delivery(n, ChannelKind::Sms)
            .await
            .expect("an SMS delivery");
        let sid = sms
            .gateway_id
            .as_deref()
            .and_then(|id| id.parse::<GatewayId>().ok())
            .filter(|id| id.gateway == "twilio")
            .expect("sent through Twilio")
            .id;
        let keys = ReceiptKeys::from_config(&self.test.app.config).expect("receipt keys");
        let router = tocsin::web::router(
            Arc::clone(&self.test.app.store),
            keys,
            Arc::clone(&self.test.app.clock),
            None,
        );
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind");
        let base = format!("http://{}", listener.local_addr().expect("address"));
        let server = tokio::spawn(async move { axum::serve(listener, router).await });
        let mut params: Vec<(String, String)> = vec![
            ("AccountSid".into(), ACCOUNT_SID.into()),
            ("MessageSid".into(), sid),
            ("To".into(), mobile(n)),
        ];
        params.extend(
            fields
                .iter()
                .map(|(name, value)| (name.to_string(), value.to_string())),
        );
        let query = format!("delivery={}", sms.id);
        let signature =
            twilio_signature(AUTH_TOKEN, &format!("{STATUS_CALLBACK}?{query}"), &params);
        let status = reqwest::Client::new()
            .post(format!("{base}/receipts/twilio?{query}"))
            .header("X-Twilio-Signature", signature)
            .form(&params)
            .send()
            .await
            .expect("request")
            .status();
        server.abort();
        assert_eq!(status, reqwest::StatusCode::OK);
    }
}

crate::against_each_server!(
    an_sms_twilio_rejects_as_undeliverable_leads_to_exactly_one_email_in_the_patients_language_naming_their_appointment
);

async fn an_sms_twilio_rejects_as_undeliverable_leads_to_exactly_one_email_in_the_patients_language_naming_their_appointment(
    mta: Mta,
) {
    let Some(setup) = setup_with(mta).await else {
        return;
    };
    setup.twilio.cannot_reach(&mobile(1));

    setup.send().await;

    assert_eq!(
        setup.mailed(),
        ["p1@example.be"],
        "one e-mail, to the patient Twilio could not reach; the others got their SMS"
    );
    let received = setup.smtp.received();
    let raw = setup.smtp.raw(&received[0]);
    let mail = mailparse::parse_mail(&raw).expect("valid MIME");
    assert_eq!(
        mail.headers.get_first_value("Content-Language").as_deref(),
        Some("fr-BE")
    );
    let text = mail.subparts[0].get_body().expect("text part");
    assert!(
        text.contains("Votre rendez-vous du mardi 13 janvier 2026"),
        "{text}"
    );
    let sms = setup.delivery(1, ChannelKind::Sms).await.expect("sms");
    assert_eq!(sms.state, DeliveryState::Undeliverable);
    assert!(sms
        .last_error
        .as_deref()
        .is_some_and(|error| error.contains("21211")));
    let email = setup.delivery(1, ChannelKind::Email).await.expect("e-mail");
    assert_eq!(email.state, DeliveryState::Sent);
    let events = setup.test.app.store.events(sms.id).await.expect("events");
    let note = events.last().and_then(|(_, _, detail)| detail.clone());
    assert_eq!(
        note.as_deref(),
        Some("sms undeliverable; fallback: email planned")
    );
    for n in [0, 2] {
        assert!(
            setup.delivery(n, ChannelKind::Email).await.is_none(),
            "patient {n} was reached by SMS: no e-mail planned"
        );
    }

    // Sending and sweeping again add nothing.
    setup.send().await;
    assert_eq!(setup.sweep().await, 0);
    setup.send().await;
    assert_eq!(setup.mailed(), ["p1@example.be"]);
    let status = setup
        .test
        .app
        .status(setup.update_id)
        .await
        .expect("status");
    assert!(
        status
            .unreached
            .iter()
            .all(|contact| contact.external_id != "P1"),
        "reached by e-mail: {:?}",
        status.unreached
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failed_or_undelivered_receipt_through_the_receipt_router_leads_to_one_email_each() {
    let Some(setup) = setup().await else { return };
    setup.send().await;
    assert!(setup.mailed().is_empty(), "every SMS was taken");

    // Twilio: 30003 "unreachable destination handset" is undeliverable; a plain "failed" is
    // a final failure.
    setup
        .receipt(
            1,
            &[("MessageStatus", "undelivered"), ("ErrorCode", "30003")],
        )
        .await;
    setup.receipt(2, &[("MessageStatus", "failed")]).await;
    setup.receipt(0, &[("MessageStatus", "delivered")]).await;
    assert_eq!(
        setup.delivery(1, ChannelKind::Sms).await.map(|d| d.state),
        Some(DeliveryState::Undeliverable)
    );
    assert_eq!(
        setup.delivery(2, ChannelKind::Sms).await.map(|d| d.state),
        Some(DeliveryState::Failed)
    );

    assert_eq!(
        setup.sweep().await,
        2,
        "tocsin serve's sweep plans two e-mails"
    );
    assert_eq!(setup.sweep().await, 0, "and a second sweep nothing");
    setup.send().await;
    let mut mailed = setup.mailed();
    mailed.sort();
    assert_eq!(mailed, ["p1@example.be", "p2@example.be"]);

    // A receipt repeated later changes nothing.
    setup
        .receipt(
            1,
            &[("MessageStatus", "undelivered"), ("ErrorCode", "30003")],
        )
        .await;
    assert_eq!(setup.sweep().await, 0);
    setup.send().await;
    assert_eq!(setup.mailed().len(), 2);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_sms_without_a_receipt_falls_back_after_the_configured_minutes_and_a_delivered_one_never(
) {
    let Some(setup) = setup().await else { return };
    setup.send().await;
    setup.receipt(0, &[("MessageStatus", "delivered")]).await;
    // Buffered at the carrier: an event, the SMS is still waiting for its fate.
    setup.receipt(2, &[("MessageStatus", "sent")]).await;

    setup.clock.advance(59 * MINUTE);
    assert_eq!(setup.sweep().await, 0, "nothing before 60 minutes");
    setup.send().await;
    assert!(setup.mailed().is_empty());

    setup.clock.advance(2 * MINUTE);
    // Patients 1 to 4 have no receipt saying delivered or failed: 1 and 2 get an e-mail;
    // 3 has no address and 4 opted out of e-mail, so theirs is a skipped row saying why.
    assert_eq!(setup.sweep().await, 4);
    setup.send().await;
    let mut mailed = setup.mailed();
    mailed.sort();
    assert_eq!(mailed, ["p1@example.be", "p2@example.be"]);
    let sms = setup.delivery(1, ChannelKind::Sms).await.expect("sms");
    assert_eq!(sms.state, DeliveryState::Sent);
    let events = setup.test.app.store.events(sms.id).await.expect("events");
    assert_eq!(
        events.last().and_then(|(_, _, detail)| detail.as_deref()),
        Some("no delivery receipt within 60 minutes; fallback: email planned")
    );

    // A late receipt and more time change nothing; patient 0 never gets an e-mail.
    setup.receipt(1, &[("MessageStatus", "delivered")]).await;
    setup.clock.advance(24 * 60 * MINUTE);
    assert_eq!(setup.sweep().await, 0);
    setup.send().await;
    assert_eq!(setup.mailed().len(), 2);
    assert!(setup.delivery(0, ChannelKind::Email).await.is_none());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_paused_update_plans_no_fallback_until_it_is_resumed() {
    let Some(setup) = setup().await else { return };
    setup.send().await;
    setup.clock.advance(61 * MINUTE);
    let store = &setup.test.app.store;
    let now = setup.clock.now_ms();
    store
        .pause_update(setup.update_id, "paused by jan", now)
        .await
        .expect("pause");
    // The text was wrong: neither serve's sweep nor the console's button sends it by e-mail.
    assert_eq!(setup.sweep().await, 0, "a fallback planned while paused");
    let refused = setup
        .test
        .app
        .fallback_now(setup.update_id, &tocsin::app::Actor::cli("test"))
        .await
        .expect_err("send the fallback now, while paused");
    assert!(refused.to_string().contains("is paused"), "{refused}");
    assert!(setup.mailed().is_empty());

    store
        .resume_update(setup.update_id, now)
        .await
        .expect("resume");
    assert_eq!(
        setup.sweep().await,
        5,
        "every SMS without a receipt, once resumed"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_patient_no_channel_reached_is_listed_unreached_with_each_channels_outcome() {
    let Some(setup) = setup().await else { return };
    setup.twilio.cannot_reach(&mobile(3));

    setup.send().await;

    assert!(setup.mailed().is_empty(), "patient 3 has no e-mail address");
    let email = setup.delivery(3, ChannelKind::Email).await.expect("a row");
    assert_eq!(email.state, DeliveryState::Skipped);
    let status = setup
        .test
        .app
        .status(setup.update_id)
        .await
        .expect("status");
    let unreached: Vec<&str> = status
        .unreached
        .iter()
        .map(|contact| contact.external_id.as_str())
        .collect();
    assert_eq!(unreached, ["P3"]);
    assert_eq!(
        status.unreached[0].reasons,
        [
            "sms: undeliverable (twilio: The 'To' number +324***53 is not a valid phone number. (code 21211))",
            "email: skipped (no email address)",
        ]
    );
    let mut csv = Vec::new();
    tocsin::report::unreached_csv(
        &status.unreached,
        &mut csv,
        tocsin::spreadsheet::Separator::Semicolon,
    )
    .expect("csv");
    let csv = String::from_utf8(csv).expect("utf-8");
    assert!(
        csv.contains("sms: undeliverable (twilio: The 'To' number +324***53 is not a valid phone number. (code 21211)); email: skipped (no email address)"),
        "{csv}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_email_the_patient_opted_out_of_is_never_used_as_the_fallback() {
    let Some(setup) = setup().await else { return };
    setup.twilio.cannot_reach(&mobile(4));

    setup.send().await;
    assert_eq!(setup.sweep().await, 0);
    setup.send().await;

    assert!(setup.mailed().is_empty(), "{:?}", setup.mailed());
    let email = setup.delivery(4, ChannelKind::Email).await.expect("a row");
    assert_eq!(email.state, DeliveryState::Skipped);
    assert_eq!(email.last_error.as_deref(), Some("opted out of email"));
    let status = setup
        .test
        .app
        .status(setup.update_id)
        .await
        .expect("status");
    let p4 = status
        .unreached
        .iter()
        .find(|contact| contact.external_id == "P4")
        .expect("P4 unreached");
    assert_eq!(p4.reasons[1], "email: skipped (opted out of email)");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tocsin_serve_sends_the_fallback_of_an_update_already_sent_when_its_receipt_comes_in() {
    use tocsin::domain::UpdateState;
    let Some(setup) = setup().await else { return };
    setup.send().await;
    let store = Arc::clone(&setup.test.app.store);
    let state = |store: Arc<dyn tocsin::store::Store>, id| async move {
        store.update(id).await.expect("update").state
    };
    assert_eq!(
        state(Arc::clone(&store), setup.update_id).await,
        UpdateState::Sent
    );
    setup
        .receipt(
            1,
            &[("MessageStatus", "undelivered"), ("ErrorCode", "30005")],
        )
        .await;

    let mut config = setup.test.app.config.clone();
    config.serve.bind = "127.0.0.1:0".into();
    let mut serving = tocsin::app::App::open(config).await.expect("app");
    serving.clock = Arc::clone(&setup.clock) as Arc<dyn Clock>;
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let server = tokio::spawn(tocsin::web::serve(serving, async {
        let _ = stopped.await;
    }));
    // Serve sweeps and dispatches at once, then every few seconds: wait for the effect.
    let mut done = false;
    for _ in 0..400 {
        if !setup.mailed().is_empty()
            && state(Arc::clone(&store), setup.update_id).await == UpdateState::Sent
        {
            done = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let _ = stop.send(());
    server.await.expect("serve task").expect("serve");
    assert!(
        done,
        "serve sent the fallback and marked the update sent again"
    );
    assert_eq!(setup.mailed(), ["p1@example.be"]);
    assert_eq!(
        setup.delivery(1, ChannelKind::Email).await.map(|d| d.state),
        Some(DeliveryState::Sent)
    );
}
