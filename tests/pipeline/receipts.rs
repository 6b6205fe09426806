//! Delivery receipts through `tocsin serve`'s router, against a database whose SMS
//! deliveries were planned and sent (by a channel that accepts everything under a chosen
//! gateway name, so each delivery's `gateway_id` is what a real gateway would have left).

use crate::support::{sms_patient, TestApp};
use async_trait::async_trait;
use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;
use tocsin::channels::sms::kannel::KannelSettings;
use tocsin::channels::sms::twilio::{twilio_signature, TwilioSettings};
use tocsin::channels::sms::vonage::{vonage_signature, SignatureMethod, VonageSettings};
use tocsin::channels::{Channel, Handover, Message, Outcome};
use tocsin::config::{GatewayConfig, SmsConfig};
use tocsin::dispatch::{DispatchSettings, Dispatcher, RetryPolicy};
use tocsin::domain::{ChannelKind, DeliveryState, GatewayId};
use tocsin::store::StoredDelivery;
use tocsin::web::ReceiptKeys;

pub(crate) const RECEIPT_SECRET: &str = "test-receipt-secret";
const AUTH_TOKEN: &str = "twilio-auth-token";
const TWILIO_CALLBACK: &str = "https://tocsin.example.be/receipts/twilio";
const VONAGE_SIGNATURE_SECRET: &str = "vonage-signature-secret";

/// Accepts every SMS for `gateway`, with the message id [`message_id`] of its delivery.
struct Accepting {
    gateway: &'static str,
}

fn message_id(gateway: &str, delivery_id: i64) -> String {
    match gateway {
        // Kannel gives no id: the delivery id is the message id.
        "kannel" => delivery_id.to_string(),
        _ => format!("SM{delivery_id:032x}"),
    }
}

#[async_trait]
impl Channel for Accepting {
    async fn send(&self, message: &Message, _handover: &mut dyn Handover) -> Outcome {
        Outcome::Accepted {
            gateway_id: GatewayId::new(self.gateway, message_id(self.gateway, message.delivery_id))
                .to_string(),
            detail: None,
        }
    }
}

pub(crate) struct Setup {
    pub(crate) test: TestApp,
    update_id: i64,
    /// The deliveries, one per patient, as sent.
    pub(crate) deliveries: Vec<StoredDelivery>,
    base: String,
    client: reqwest::Client,
}

fn gateways() -> SmsConfig {
    SmsConfig {
        gateways: vec![
            GatewayConfig::Twilio(TwilioSettings {
                name: None,
                account_sid: "AC0123".into(),
                auth_token: Some(AUTH_TOKEN.into()),
                auth_token_env: None,
                from: Some("+3230000000".into()),
                messaging_service_sid: None,
                base_url: None,
                status_callback: Some(TWILIO_CALLBACK.into()),
            }),
            GatewayConfig::Vonage(VonageSettings {
                name: None,
                api_key: "key".into(),
                api_secret: Some("secret".into()),
                api_secret_env: None,
                from: "ZNA".into(),
                base_url: None,
                callback: Some("https://tocsin.example.be/receipts/vonage".into()),
                signature_secret: None,
                signature_secret_env: None,
                signature_method: None,
            }),
            GatewayConfig::Vonage(VonageSettings {
                name: Some("vonage-signed".into()),
                api_key: "key2".into(),
                api_secret: Some("secret2".into()),
                api_secret_env: None,
                from: "ZNA".into(),
                base_url: None,
                callback: Some("https://tocsin.example.be/receipts/vonage".into()),
                signature_secret: Some(VONAGE_SIGNATURE_SECRET.into()),
                signature_secret_env: None,
                signature_method: Some("sha256".into()),
            }),
        ],
        ..SmsConfig::default()
    }
}

/// `patients` patients with a mobile number, an SMS update to them planned and sent through
/// `gateway` (or only planned, with `send` false), and the receipt router serving.
pub(crate) async fn setup(patients: usize, gateway: &'static str, send: bool) -> Setup {
    let test = TestApp::new(|config| {
        config.serve.receipt_secret = Some(RECEIPT_SECRET.into());
        config.sms = SmsConfig {
            dir: config.sms.dir.clone(),
            ..gateways()
        };
    })
    .await;
    let (contacts, appointments): (Vec<_>, Vec<_>) = (0..patients)
        .map(|n| sms_patient(n, "nl", format!("+324711234{n:02}"), None))
        .unzip();
    let store = Arc::clone(&test.app.store);
    store
        .import(&contacts, &appointments, "test", 0)
        .await
        .expect("import");
    let update_id = test.approved_update(&crate::providers::sms_update()).await;
    let update = store.update(update_id).await.expect("update");
    tocsin::plan::plan(
        store.as_ref(),
        &test.app.renderer,
        &test.app.config,
        &update,
        test.app.clock.now_ms(),
    )
    .await
    .expect("plan");
    if send {
        let channels: HashMap<ChannelKind, Arc<dyn Channel>> =
            HashMap::from([(ChannelKind::Sms, Arc::new(Accepting { gateway }) as _)]);
        let settings = DispatchSettings {
            workers: 4,
            claim_batch: 100,
            lease: Duration::from_secs(60),
            retry: RetryPolicy {
                max_attempts: 3,
                base: Duration::from_millis(10),
                max: Duration::from_millis(100),
            },
            outage_patience: Duration::from_secs(60),
            mass_rejection: 20,
        };
        Dispatcher::new(
            Arc::clone(&store),
            channels,
            settings,
            Arc::clone(&test.app.clock),
        )
        .run(update_id)
        .await
        .expect("dispatch");
    }
    let keys = ReceiptKeys::from_config(&test.app.config).expect("receipt keys");
    let router = tocsin::web::router(Arc::clone(&store), keys, Arc::clone(&test.app.clock), None);
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let base = format!("http://{}", listener.local_addr().expect("address"));
    tokio::spawn(async move { axum::serve(listener, router).await });
    let mut setup = Setup {
        test,
        update_id,
        deliveries: Vec::new(),
        base,
        client: reqwest::Client::new(),
    };
    setup.deliveries = setup.now().await;
    setup
}

impl Setup {
    /// Every delivery as it stands now, in patient order.
    pub(crate) async fn now(&self) -> Vec<StoredDelivery> {
        let store = &self.test.app.store;
        let mut deliveries = Vec::new();
        for n in 0.. {
            let Some(contact) = store.find_contact(&format!("P{n}")).await.expect("query") else {
                break;
            };
            deliveries.push(
                store
                    .delivery(self.update_id, contact.id, ChannelKind::Sms)
                    .await
                    .expect("query")
                    .expect("delivery"),
            );
        }
        deliveries
    }

    async fn events(&self, delivery_id: i64) -> Vec<(Option<String>, String, Option<String>)> {
        self.test
            .app
            .store
            .events(delivery_id)
            .await
            .expect("events")
    }

    /// A Twilio status callback for a delivery, signed with `token` (None: unsigned).
    async fn twilio(
        &self,
        delivery_id: i64,
        fields: &[(&str, &str)],
        token: Option<&str>,
    ) -> reqwest::StatusCode {
        let mut params: Vec<(String, String)> = vec![
            ("AccountSid".into(), "AC0123".into()),
            ("MessageSid".into(), message_id("twilio", delivery_id)),
            ("To".into(), "+32471123400".into()),
        ];
        params.extend(
            fields
                .iter()
                .map(|(name, value)| (name.to_string(), value.to_string())),
        );
        let query = format!("delivery={delivery_id}");
        let mut request = self
            .client
            .post(format!("{}/receipts/twilio?{query}", self.base))
            .form(&params);
        if let Some(token) = token {
            let signature = twilio_signature(token, &format!("{TWILIO_CALLBACK}?{query}"), &params);
            request = request.header("X-Twilio-Signature", signature);
        }
        request.send().await.expect("request").status()
    }

    async fn kannel(&self, delivery_id: i64, token: &str, kind: u8) -> reqwest::StatusCode {
        self.client
            .get(format!("{}/receipts/kannel", self.base))
            .query(&[
                ("delivery", delivery_id.to_string()),
                ("token", token.to_string()),
                ("type", kind.to_string()),
                ("smsc", "fake".into()),
                ("ts", "1768293000".into()),
                ("status", "ACK/".into()),
            ])
            .send()
            .await
            .expect("request")
            .status()
    }

    async fn vonage(&self, params: &[(&str, String)]) -> reqwest::StatusCode {
        self.client
            .post(format!("{}/receipts/vonage", self.base))
            .form(params)
            .send()
            .await
            .expect("request")
            .status()
    }
}

fn borrowed(params: &[(String, String)]) -> Vec<(&str, String)> {
    params
        .iter()
        .map(|(name, value)| (name.as_str(), value.clone()))
        .collect()
}

pub(crate) fn kannel_token(delivery_id: i64) -> String {
    tocsin::channels::sms::kannel::dlr_token(RECEIPT_SECRET, delivery_id)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_signed_twilio_callback_marks_the_delivery_delivered_and_a_replay_changes_nothing() {
    let setup = setup(2, "twilio", true).await;
    let delivery = &setup.deliveries[0];
    assert_eq!(delivery.state, DeliveryState::Sent);
    let sent = [("MessageStatus", "sent")];
    assert_eq!(
        setup.twilio(delivery.id, &sent, Some(AUTH_TOKEN)).await,
        200
    );
    assert_eq!(
        setup.now().await[0].state,
        DeliveryState::Sent,
        "sent is an event only"
    );
    let delivered = [("MessageStatus", "delivered")];
    assert_eq!(
        setup
            .twilio(delivery.id, &delivered, Some(AUTH_TOKEN))
            .await,
        200
    );
    assert_eq!(setup.now().await[0].state, DeliveryState::Delivered);
    let events = setup.events(delivery.id).await;
    assert_eq!(
        events
            .last()
            .map(|(from, to, _)| (from.as_deref(), to.as_str())),
        Some((Some("sent"), "delivered"))
    );

    assert_eq!(
        setup
            .twilio(delivery.id, &delivered, Some(AUTH_TOKEN))
            .await,
        200
    );
    assert_eq!(
        setup.twilio(delivery.id, &sent, Some(AUTH_TOKEN)).await,
        200
    );
    assert_eq!(
        setup.events(delivery.id).await,
        events,
        "a replay changes nothing"
    );
    assert_eq!(
        setup.now().await[1].state,
        DeliveryState::Sent,
        "the other is untouched"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_undelivered_twilio_callback_keeps_its_error_code_and_a_bad_number_is_undeliverable() {
    let setup = setup(2, "twilio", true).await;
    let (first, second) = (&setup.deliveries[0], &setup.deliveries[1]);
    let unknown_number = [("MessageStatus", "undelivered"), ("ErrorCode", "30005")];
    assert_eq!(
        setup
            .twilio(first.id, &unknown_number, Some(AUTH_TOKEN))
            .await,
        200
    );
    let carrier = [("MessageStatus", "failed"), ("ErrorCode", "30008")];
    assert_eq!(
        setup.twilio(second.id, &carrier, Some(AUTH_TOKEN)).await,
        200
    );
    let now = setup.now().await;
    assert_eq!(now[0].state, DeliveryState::Undeliverable);
    assert!(now[0]
        .last_error
        .as_deref()
        .is_some_and(|error| error.contains("30005")));
    assert_eq!(now[1].state, DeliveryState::Failed);
    assert!(now[1]
        .last_error
        .as_deref()
        .is_some_and(|error| error.contains("30008")));
    let backlog = setup
        .test
        .app
        .store
        .backlog(setup.update_id)
        .await
        .expect("backlog");
    assert_eq!(
        backlog.open, 0,
        "a failed receipt is final: no next attempt"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unsigned_mis_signed_or_tampered_twilio_callbacks_are_forbidden_and_change_nothing() {
    let setup = setup(1, "twilio", true).await;
    let delivery = &setup.deliveries[0];
    let events = setup.events(delivery.id).await;
    let delivered = [("MessageStatus", "delivered")];
    assert_eq!(setup.twilio(delivery.id, &delivered, None).await, 403);
    assert_eq!(
        setup
            .twilio(delivery.id, &delivered, Some("wrong-token"))
            .await,
        403
    );
    // Signed for one URL, sent to another delivery's.
    let params = [
        ("MessageSid", message_id("twilio", delivery.id)),
        ("MessageStatus", "delivered".into()),
    ];
    let signature = twilio_signature(
        AUTH_TOKEN,
        &format!("{TWILIO_CALLBACK}?delivery={}", delivery.id + 1),
        &params
            .iter()
            .map(|(name, value)| (name.to_string(), value.clone()))
            .collect(),
    );
    let status = setup
        .client
        .post(format!(
            "{}/receipts/twilio?delivery={}",
            setup.base, delivery.id
        ))
        .header("X-Twilio-Signature", signature)
        .form(&params)
        .send()
        .await
        .expect("request")
        .status();
    assert_eq!(status, 403);
    assert_eq!(setup.now().await[0].state, DeliveryState::Sent);
    assert_eq!(setup.events(delivery.id).await, events);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_oversized_body_is_refused_with_413_and_a_malformed_one_with_400() {
    let setup = setup(1, "twilio", true).await;
    let delivery = &setup.deliveries[0];
    let huge = "x".repeat(tocsin::web::MAX_BODY_BYTES + 1);
    let status = setup
        .client
        .post(format!(
            "{}/receipts/twilio?delivery={}",
            setup.base, delivery.id
        ))
        .header("X-Twilio-Signature", "AAAA")
        .form(&[("MessageStatus", huge.as_str())])
        .send()
        .await
        .expect("request")
        .status();
    assert_eq!(status, 413);
    let status = setup
        .client
        .post(format!("{}/receipts/vonage", setup.base))
        .header("content-type", "application/json")
        .body("{not json")
        .send()
        .await
        .expect("request")
        .status();
    assert_eq!(status, 400);
    assert_eq!(setup.now().await[0].state, DeliveryState::Sent);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_receipt_for_an_unknown_delivery_is_answered_200_and_changes_nothing() {
    let setup = setup(1, "twilio", true).await;
    let delivery = &setup.deliveries[0];
    let events = setup.events(delivery.id).await;
    let delivered = [("MessageStatus", "delivered")];
    assert_eq!(setup.twilio(9_999, &delivered, Some(AUTH_TOKEN)).await, 200);
    assert_eq!(setup.kannel(9_999, &kannel_token(9_999), 1).await, 200);
    assert_eq!(setup.now().await[0].state, DeliveryState::Sent);
    assert_eq!(setup.events(delivery.id).await, events);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kannel_dlrs_with_a_valid_token_deliver_or_fail_and_a_bad_token_is_forbidden() {
    let setup = setup(3, "kannel", true).await;
    let ids: Vec<i64> = setup
        .deliveries
        .iter()
        .map(|delivery| delivery.id)
        .collect();
    assert_eq!(setup.kannel(ids[0], &kannel_token(ids[0]), 8).await, 200);
    assert_eq!(
        setup.now().await[0].state,
        DeliveryState::Sent,
        "SMSC accepted: an event"
    );
    assert_eq!(setup.kannel(ids[0], &kannel_token(ids[0]), 1).await, 200);
    assert_eq!(setup.kannel(ids[1], &kannel_token(ids[1]), 16).await, 200);
    assert_eq!(setup.kannel(ids[2], &kannel_token(ids[1]), 1).await, 403);
    assert_eq!(setup.kannel(ids[2], "", 1).await, 403);
    let now = setup.now().await;
    assert_eq!(now[0].state, DeliveryState::Delivered);
    assert_eq!(now[1].state, DeliveryState::Failed);
    assert_eq!(now[2].state, DeliveryState::Sent);
    let events = setup.events(ids[0]).await;
    assert!(
        events
            .iter()
            .any(|(from, to, detail)| from.as_deref() == Some("sent")
                && to == "sent"
                && detail
                    .as_deref()
                    .is_some_and(|detail| detail.contains("type=8"))),
        "{events:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_receipts_and_their_replays_share_commits_and_each_counts_once() {
    let setup = setup(20, "kannel", true).await;
    let ids: Vec<i64> = setup
        .deliveries
        .iter()
        .map(|delivery| delivery.id)
        .collect();
    // Every report twice, all at once: replays land in the same group commit as the
    // original, or in the next one.
    let requests = ids.iter().flat_map(|&id| {
        [8, 1, 8, 1].map(|kind| {
            let setup = &setup;
            async move { setup.kannel(id, &kannel_token(id), kind).await }
        })
    });
    let statuses = futures::future::join_all(requests).await;
    assert!(statuses.iter().all(|status| *status == 200), "{statuses:?}");
    let now = setup.now().await;
    assert!(now
        .iter()
        .all(|delivery| delivery.state == DeliveryState::Delivered));
    for id in ids {
        let events = setup.events(id).await;
        let delivered = events
            .iter()
            .filter(|(from, to, _)| from.as_deref() == Some("sent") && to == "delivered")
            .count();
        let accepted = events
            .iter()
            .filter(|(_, _, detail)| detail.as_deref().is_some_and(|d| d.contains("type=8")))
            .count();
        assert_eq!((delivered, accepted), (1, 1), "{events:?}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn vonage_receipts_deliver_fail_and_need_the_message_id_when_unsigned() {
    let setup = setup(3, "vonage", true).await;
    let receipt = |delivery: &StoredDelivery, status: &str, code: &str, message: String| {
        vec![
            ("msisdn", "32471123400".to_string()),
            ("to", "ZNA".into()),
            ("network-code", "20601".into()),
            ("messageId", message),
            ("price", "0.0333".into()),
            ("status", status.into()),
            ("err-code", code.into()),
            ("message-timestamp", "2026-01-13 07:00:00".into()),
            ("client-ref", delivery.id.to_string()),
        ]
    };
    let [first, second, third] = &setup.deliveries[..] else {
        panic!("three deliveries");
    };
    let delivered = receipt(first, "delivered", "0", message_id("vonage", first.id));
    assert_eq!(setup.vonage(&delivered).await, 200);
    let barred = receipt(second, "failed", "9", message_id("vonage", second.id));
    assert_eq!(setup.vonage(&barred).await, 200);
    // The right delivery, a guessed message id: unsigned, so nothing happens.
    let guessed = receipt(third, "delivered", "0", "0B00000000000000".into());
    assert_eq!(setup.vonage(&guessed).await, 200);
    let now = setup.now().await;
    assert_eq!(now[0].state, DeliveryState::Delivered);
    assert_eq!(now[1].state, DeliveryState::Undeliverable);
    assert!(now[1]
        .last_error
        .as_deref()
        .is_some_and(|error| error.contains("code 9")));
    assert_eq!(now[2].state, DeliveryState::Sent);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_signed_vonage_receipt_is_checked_against_its_signature_secret() {
    let setup = setup(1, "vonage-signed", true).await;
    let delivery = &setup.deliveries[0];
    let mut params: Vec<(String, String)> = vec![
        ("messageId".into(), message_id("vonage-signed", delivery.id)),
        ("status".into(), "delivered".into()),
        ("err-code".into(), "0".into()),
        ("client-ref".into(), delivery.id.to_string()),
        ("timestamp".into(), "1768293000".into()),
    ];
    let forged = vonage_signature("not-the-secret", SignatureMethod::Sha256, &params);
    let mut forged_params = params.clone();
    forged_params.push(("sig".into(), forged));
    assert_eq!(
        setup.vonage(&borrowed(&forged_params)).await,
        200,
        "taken as unsigned…"
    );
    assert_eq!(
        setup.now().await[0].state,
        DeliveryState::Sent,
        "…by no gateway it names"
    );
    let sig = vonage_signature(VONAGE_SIGNATURE_SECRET, SignatureMethod::Sha256, &params);
    params.push(("sig".into(), sig));
    assert_eq!(setup.vonage(&borrowed(&params)).await, 200);
    assert_eq!(setup.now().await[0].state, DeliveryState::Delivered);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_receipt_that_arrives_before_the_send_is_recorded_is_not_lost() {
    let setup = setup(1, "kannel", false).await;
    let store = &setup.test.app.store;
    let now = setup.test.app.clock.now_ms();
    let claimed = store
        .claim_due(setup.update_id, now, now + 60_000, 10)
        .await
        .expect("claim");
    assert_eq!(claimed.len(), 1);
    let id = claimed[0].id;
    assert_eq!(setup.now().await[0].state, DeliveryState::Sending);

    assert_eq!(setup.kannel(id, &kannel_token(id), 1).await, 200);
    assert_eq!(setup.now().await[0].state, DeliveryState::Delivered);

    // The worker's outcome, recorded after the receipt, is stale and dropped.
    let applied = store
        .record(&[tocsin::store::Transition {
            delivery_id: id,
            from: DeliveryState::Sending,
            to: DeliveryState::Sent,
            at_ms: now + 1,
            next_attempt_at_ms: None,
            gateway_id: Some(format!("kannel:{id}")),
            detail: None,
            mark: tocsin::store::Mark::Nothing,
            lease_until_ms: None,
        }])
        .await
        .expect("record");
    assert_eq!(applied, vec![false]);
    assert_eq!(setup.now().await[0].state, DeliveryState::Delivered);
    assert_eq!(
        store.backlog(setup.update_id).await.expect("backlog").open,
        0
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn serve_needs_a_receipt_secret_only_for_kannel_receipts() {
    if std::env::var_os("TOCSIN_RECEIPT_SECRET").is_some() {
        return;
    }
    let test = TestApp::new(|config| {
        config.serve.bind = "127.0.0.1:0".into();
        config.sms = gateways();
    })
    .await;
    let server = tocsin::web::Server::bind(test.app)
        .await
        .expect("Twilio and Vonage receipts need no receipt secret");
    assert!(server.address().port() > 0);
    drop(server);

    let test = TestApp::new(|config| {
        config.serve.bind = "127.0.0.1:0".into();
        config.sms.gateways = vec![GatewayConfig::Kannel(KannelSettings {
            name: None,
            base_url: "http://127.0.0.1:13013".into(),
            username: "tocsin".into(),
            password: Some("secret".into()),
            password_env: None,
            from: "ZNA".into(),
            dlr_url: Some("https://tocsin.example.be/receipts/kannel".into()),
        })];
    })
    .await;
    let error = tocsin::web::serve(test.app, std::future::pending())
        .await
        .expect_err("refused");
    assert!(error.to_string().contains("receipt_secret"), "{error}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_oversized_kannel_request_is_refused_with_413() {
    let setup = setup(1, "kannel", true).await;
    let delivery = &setup.deliveries[0];
    let status = setup
        .client
        .post(format!(
            "{}/receipts/kannel?delivery={}&type=1&token={}",
            setup.base,
            delivery.id,
            kannel_token(delivery.id)
        ))
        .body("x".repeat(tocsin::web::MAX_BODY_BYTES + 1))
        .send()
        .await
        .expect("request")
        .status();
    assert_eq!(status, 413);
    assert_eq!(setup.now().await[0].state, DeliveryState::Sent);
}
