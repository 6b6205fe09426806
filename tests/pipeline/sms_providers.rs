//! The Twilio and Vonage gateways, directly and behind `SmsChannel`, against the emulators of
//! `providers.rs`.

use crate::providers::{
    client, send, sms, sms_broadcast, sms_update, start_both, twilio_down_then_vonage,
    twilio_gateway, twilio_then_vonage, vonage_gateway, Behaviour, TwilioEmulator, VonageEmulator,
    ACCOUNT_SID, API_SECRET, AUTH_TOKEN, DUTCH_FRENCH, NOTICE, PATIENT, SERVICE_SID, TWILIO_FROM,
};
use serde_json::{json, Value};
use std::time::{Duration, Instant};
use tocsin::channels::sms::gsm::{analyse, Encoding};
use tocsin::channels::sms::twilio::{Twilio, TwilioConfig};
use tocsin::channels::sms::vonage::VonageConfig;
use tocsin::channels::sms::{GatewayOutcome, Sms, SmsGateway};
use tocsin::channels::Outcome;
use tocsin::domain::ChannelKind;

// ---------------------------------------------------------------------------------------------
// Twilio, directly

#[tokio::test]
async fn twilio_accepts_a_message_and_its_sid_becomes_the_message_id() {
    let twilio = TwilioEmulator::start().await;
    let outcome = twilio.gateway().submit(&sms(NOTICE)).await;

    let created = twilio.created();
    assert_eq!(created.len(), 1);
    let sid = created[0]["sid"].as_str().expect("sid").to_string();
    assert_eq!(
        outcome,
        GatewayOutcome::Accepted {
            message_id: sid.clone()
        }
    );
    assert!(sid.starts_with("SM") && sid.len() == 34, "{sid}");
    assert_eq!(created[0]["status"], "queued");
    assert_eq!(created[0]["to"], PATIENT);
    assert_eq!(created[0]["body"], NOTICE);

    let request = &twilio.requests()[0];
    assert_eq!(
        request.content_type.as_deref(),
        Some("application/x-www-form-urlencoded")
    );
    assert_eq!(request.get("To"), Some(PATIENT));
    assert_eq!(request.get("From"), Some(TWILIO_FROM));
    assert_eq!(request.get("MessagingServiceSid"), None);
    assert_eq!(request.get("Body"), Some(NOTICE));
    assert_eq!(
        request.get("StatusCallback"),
        Some("https://tocsin.example.be/receipts/twilio?delivery=7")
    );
}

#[tokio::test]
async fn twilio_can_send_through_a_messaging_service_instead_of_a_number() {
    let twilio = TwilioEmulator::start().await;
    let config = TwilioConfig {
        from: None,
        messaging_service_sid: Some(SERVICE_SID.into()),
        status_callback: None,
        ..twilio.config()
    };
    let outcome = twilio_gateway(config).submit(&sms(NOTICE)).await;

    assert!(
        matches!(outcome, GatewayOutcome::Accepted { .. }),
        "{outcome:?}"
    );
    let request = &twilio.requests()[0];
    assert_eq!(request.get("MessagingServiceSid"), Some(SERVICE_SID));
    assert_eq!(request.get("From"), None);
    assert_eq!(request.get("StatusCallback"), None);
    assert_eq!(twilio.created()[0]["status"], "accepted");
}

#[tokio::test]
async fn twilio_with_wrong_credentials_answers_20003_and_the_gateway_is_misconfigured() {
    let twilio = TwilioEmulator::start().await;
    let config = TwilioConfig {
        auth_token: "0000000000000000000000000000dead".into(),
        ..twilio.config()
    };
    let outcome = twilio_gateway(config).submit(&sms(NOTICE)).await;

    assert_eq!(
        outcome,
        GatewayOutcome::Misconfigured {
            reason: "HTTP 401, Twilio error 20003: Authenticate".into()
        }
    );
    assert!(twilio.created().is_empty());
    let request = &twilio.requests()[0];
    assert!(
        request
            .authorization
            .as_deref()
            .is_some_and(|value| value.starts_with("Basic ")),
        "basic authentication is sent up front"
    );
}

#[tokio::test]
async fn twilio_missing_fields_give_its_documented_errors() {
    let twilio = TwilioEmulator::start().await;

    let no_to = Sms {
        to: "",
        ..sms(NOTICE)
    };
    assert_eq!(
        twilio.gateway().submit(&no_to).await,
        GatewayOutcome::Rejected {
            code: Some("21604".into()),
            reason: "A 'To' phone number is required.".into()
        }
    );

    // An empty body is our text, not the number.
    assert_eq!(
        twilio.gateway().submit(&sms("")).await,
        GatewayOutcome::Misconfigured {
            reason: "HTTP 400, Twilio error 21602: Message body is required.".into()
        }
    );

    // No sender is this gateway's configuration, not the message's fault: the next gateway
    // may have one.
    let config = TwilioConfig {
        from: None,
        messaging_service_sid: None,
        ..twilio.config()
    };
    let outcome = twilio_gateway(config).submit(&sms(NOTICE)).await;
    assert_eq!(
        outcome,
        GatewayOutcome::Misconfigured {
            reason: "HTTP 400, Twilio error 21603: A 'From' phone number is required.".into()
        }
    );

    // A sender the account does not own, likewise.
    let config = TwilioConfig {
        from: Some("+3228089999".into()),
        ..twilio.config()
    };
    let outcome = twilio_gateway(config).submit(&sms(NOTICE)).await;
    assert!(
        matches!(&outcome, GatewayOutcome::Misconfigured { reason } if reason.contains("21659")),
        "{outcome:?}"
    );
    assert!(twilio.created().is_empty());
}

#[tokio::test]
async fn twilio_rejects_a_number_that_replied_stop_with_21610() {
    let twilio = TwilioEmulator::start().await;
    twilio.with(|state| state.unsubscribed.push(PATIENT.into()));
    assert_eq!(
        twilio.gateway().submit(&sms(NOTICE)).await,
        GatewayOutcome::Rejected {
            code: Some("21610".into()),
            reason: "Attempt to send to unsubscribed recipient".into()
        }
    );
}

#[tokio::test]
async fn twilio_throttling_is_throttled_for_as_long_as_retry_after_says() {
    let twilio = TwilioEmulator::start().await;
    twilio.with(|state| state.behaviour = Behaviour::Throttle { retry_after: 17 });
    assert_eq!(
        twilio.gateway().submit(&sms(NOTICE)).await,
        GatewayOutcome::Throttled {
            retry_after: Some(Duration::from_secs(17)),
            reason: "HTTP 429, Twilio error 20429: Too Many Requests".into()
        }
    );
}

/// Twilio configurations a person can get wrong, with the answer Twilio gives each.
fn twilio_misconfigurations(
    twilio: &TwilioEmulator,
) -> Vec<(&'static str, TwilioConfig, u16, u32)> {
    vec![
        (
            "a wrong Auth Token",
            TwilioConfig {
                auth_token: "0000000000000000000000000000dead".into(),
                ..twilio.config()
            },
            401,
            20003,
        ),
        (
            "an Account SID that is not this account's",
            TwilioConfig {
                account_sid: "AC00000000000000000000000000000000".into(),
                ..twilio.config()
            },
            401,
            20003,
        ),
        (
            "a base_url with a path in front of the API's",
            TwilioConfig {
                base_url: format!("{}/twilio", twilio.url),
                ..twilio.config()
            },
            404,
            20404,
        ),
        (
            "a Messaging Service SID that is no SID",
            TwilioConfig {
                from: None,
                messaging_service_sid: Some("ZNA-crisis".into()),
                ..twilio.config()
            },
            422,
            20423,
        ),
        (
            "another account's Messaging Service",
            TwilioConfig {
                from: None,
                messaging_service_sid: Some("MG00000000000000000000000000000000".into()),
                ..twilio.config()
            },
            400,
            21701,
        ),
    ]
}

#[tokio::test]
async fn twilio_answers_each_configuration_mistake_with_its_documented_error_and_it_is_misconfigured(
) {
    let twilio = TwilioEmulator::start().await;
    for (mistake, config, status, code) in twilio_misconfigurations(&twilio) {
        // Twilio's own answer, as the error dictionary documents it.
        let endpoint = format!(
            "{}/2010-04-01/Accounts/{}/Messages.json",
            config.base_url, config.account_sid
        );
        let mut form = vec![("To", PATIENT.to_string()), ("Body", NOTICE.to_string())];
        match (&config.from, &config.messaging_service_sid) {
            (Some(from), _) => form.push(("From", from.clone())),
            (None, Some(service)) => form.push(("MessagingServiceSid", service.clone())),
            (None, None) => {}
        }
        let raw = client(Duration::from_secs(5))
            .post(&endpoint)
            .basic_auth(&config.account_sid, Some(&config.auth_token))
            .form(&form)
            .send()
            .await
            .expect("the emulator answers");
        assert_eq!(raw.status().as_u16(), status, "{mistake}");
        let body: Value = raw.json().await.expect("a JSON error");
        assert_eq!(body["code"], code, "{mistake}: {body}");
        assert_eq!(body["status"], status, "{mistake}: {body}");
        assert_eq!(
            body["more_info"],
            format!("https://www.twilio.com/docs/errors/{code}"),
            "{mistake}"
        );
        let message = body["message"].as_str().expect("a message").to_string();

        // What the gateway makes of it: this gateway's configuration, never the number.
        let outcome = twilio_gateway(config).submit(&sms(NOTICE)).await;
        assert_eq!(
            outcome,
            GatewayOutcome::Misconfigured {
                reason: format!("HTTP {status}, Twilio error {code}: {message}")
            },
            "{mistake}"
        );
    }
    assert!(twilio.created().is_empty());
}

// ---------------------------------------------------------------------------------------------
// Vonage, directly

#[tokio::test]
async fn vonage_accepts_a_message_and_its_first_message_id_becomes_the_message_id() {
    let vonage = VonageEmulator::start().await;
    let outcome = vonage.gateway().submit(&sms(NOTICE)).await;

    let delivered = vonage.delivered();
    assert_eq!(delivered.len(), 1);
    assert_eq!(
        outcome,
        GatewayOutcome::Accepted {
            message_id: delivered[0].message_ids[0].clone()
        }
    );
    assert_eq!(delivered[0].to, "32471123456", "E.164 without the +");
    assert_eq!(delivered[0].kind, "text");
    assert_eq!(delivered[0].text, NOTICE);
    assert_eq!(delivered[0].client_ref.as_deref(), Some("7"));

    let request = &vonage.requests()[0];
    assert_eq!(
        request.content_type.as_deref(),
        Some("application/x-www-form-urlencoded")
    );
    assert_eq!(request.get("from"), Some("ZNA"));
    assert_eq!(
        request.get("callback"),
        Some("https://tocsin.example.be/receipts/vonage?delivery=7")
    );
    assert_eq!(
        request.authorization, None,
        "credentials travel in the form"
    );
}

#[tokio::test]
async fn vonage_ucs2_text_is_sent_as_unicode_and_arrives_intact() {
    let vonage = VonageEmulator::start().await;
    let text = "patiënt geïnformeerd – œ";
    assert_eq!(analyse(text).encoding, Encoding::Ucs2);

    let outcome = vonage.gateway().submit(&sms(text)).await;

    assert!(
        matches!(outcome, GatewayOutcome::Accepted { .. }),
        "{outcome:?}"
    );
    let request = &vonage.requests()[0];
    assert_eq!(request.get("type"), Some("unicode"));
    assert_eq!(request.get("text"), Some(text));
    let delivered = &vonage.delivered()[0];
    assert_eq!(delivered.text, text, "no character replaced on the phone");

    // A longer Dutch/French text takes two UCS-2 parts; the first part's id is kept.
    let outcome = vonage.gateway().submit(&sms(DUTCH_FRENCH)).await;
    let delivered = &vonage.delivered()[1];
    assert_eq!(delivered.text, DUTCH_FRENCH);
    assert_eq!(delivered.message_ids.len(), 2);
    assert_eq!(
        outcome,
        GatewayOutcome::Accepted {
            message_id: delivered.message_ids[0].clone()
        }
    );
}

#[tokio::test]
async fn vonage_with_wrong_credentials_answers_status_4_and_the_gateway_is_misconfigured() {
    let vonage = VonageEmulator::start().await;
    let config = VonageConfig {
        api_secret: "not-the-secret".into(),
        ..vonage.config()
    };
    let outcome = vonage_gateway(config).submit(&sms(NOTICE)).await;
    assert_eq!(
        outcome,
        GatewayOutcome::Misconfigured {
            reason: "Vonage status 4: Bad Credentials".into()
        }
    );
    assert!(vonage.delivered().is_empty());
}

#[tokio::test]
async fn vonage_missing_fields_give_status_2() {
    let vonage = VonageEmulator::start().await;
    // A missing parameter is what this gateway sent, never a fact about the number.
    assert_eq!(
        vonage.gateway().submit(&sms("")).await,
        GatewayOutcome::Misconfigured {
            reason: "Vonage status 2: Missing text param".into()
        }
    );
    assert_eq!(vonage.requests().len(), 1);

    // Vonage says the same of a missing api_key or from, but that is this gateway's
    // configuration: the gateway does not ask, and the next gateway gets the message.
    let raw = client(Duration::from_secs(5))
        .post(format!("{}/sms/json", vonage.url))
        .form(&[
            ("api_secret", API_SECRET),
            ("from", "ZNA"),
            ("to", "32471123456"),
            ("text", "x"),
        ])
        .send()
        .await
        .expect("the emulator answers");
    assert_eq!(raw.status(), reqwest::StatusCode::OK);
    let answer: Value = raw.json().await.expect("JSON");
    assert_eq!(
        answer,
        json!({"message-count": "1", "messages": [{"status": "2", "error-text": "Missing api_key"}]})
    );
    for config in [
        VonageConfig {
            api_key: String::new(),
            ..vonage.config()
        },
        VonageConfig {
            from: " ".into(),
            ..vonage.config()
        },
    ] {
        let outcome = vonage_gateway(config).submit(&sms(NOTICE)).await;
        assert!(
            matches!(&outcome, GatewayOutcome::Misconfigured { reason } if reason.starts_with("not configured:")),
            "{outcome:?}"
        );
    }
    assert_eq!(
        vonage.requests().len(),
        2,
        "only the raw request reached Vonage"
    );
    assert!(vonage.delivered().is_empty());
}

#[tokio::test]
async fn vonage_throttled_status_1_is_throttled() {
    let vonage = VonageEmulator::start().await;
    vonage.with(|state| state.behaviour = Behaviour::Throttle { retry_after: 1 });
    let outcome = vonage.gateway().submit(&sms(NOTICE)).await;
    assert!(
        matches!(&outcome, GatewayOutcome::Throttled { retry_after: None, reason } if reason.starts_with("Vonage status 1")),
        "{outcome:?}"
    );
}

#[tokio::test]
async fn vonage_rejects_a_barred_number_with_status_7() {
    let vonage = VonageEmulator::start().await;
    vonage.with(|state| state.barred.push("32471123456".into()));
    assert_eq!(
        vonage.gateway().submit(&sms(NOTICE)).await,
        GatewayOutcome::Rejected {
            code: Some("7".into()),
            reason: "Number barred.".into()
        }
    );
}

// ---------------------------------------------------------------------------------------------
// Through SmsChannel: rejection, throttling and failover

#[tokio::test]
async fn a_number_twilio_cannot_reach_is_rejected_with_21211_never_retried_and_not_failed_over() {
    let (twilio, vonage) = start_both().await;
    twilio.with(|state| state.unreachable.push(PATIENT.into()));

    let outcome = send(twilio_then_vonage(&twilio, &vonage), NOTICE).await;

    let Outcome::Rejected { reason } = outcome else {
        panic!("expected a permanent failure, got {outcome:?}");
    };
    assert_eq!(
        reason,
        "twilio: The 'To' number +324***56 is not a valid phone number. (code 21211)"
    );
    assert!(!reason.contains(PATIENT), "the number is masked: {reason}");
    assert_eq!(twilio.requests().len(), 1, "asked once, never again");
    assert!(vonage.requests().is_empty(), "no failover for a bad number");
}

#[tokio::test]
async fn twilio_throttling_makes_the_channel_wait_the_retry_after_on_the_same_gateway() {
    let (twilio, vonage) = start_both().await;
    twilio.with(|state| state.behaviour = Behaviour::Throttle { retry_after: 30 });

    let outcome = send(twilio_then_vonage(&twilio, &vonage), NOTICE).await;

    assert_eq!(
        outcome,
        Outcome::RetryLater {
            after: Some(Duration::from_secs(30)),
            reason: "twilio: HTTP 429, Twilio error 20429: Too Many Requests".into()
        }
    );
    assert!(vonage.requests().is_empty());
}

#[tokio::test]
async fn twilio_answering_503_hands_the_message_to_vonage_and_vonage_only_once() {
    let (twilio, vonage) = start_both().await;
    twilio.with(|state| state.behaviour = Behaviour::Down);

    let outcome = send(twilio_then_vonage(&twilio, &vonage), NOTICE).await;

    let delivered = vonage.delivered();
    assert_eq!(delivered.len(), 1, "{delivered:?}");
    assert_eq!(
        outcome,
        Outcome::Accepted {
            gateway_id: format!("vonage:{}", delivered[0].message_ids[0]),
            detail: Some("accepted by vonage".into())
        }
    );
    assert_eq!(twilio.requests().len(), 1);
    assert!(twilio.created().is_empty());
    assert_eq!(vonage.requests().len(), 1);
}

#[tokio::test]
async fn twilio_not_answering_within_the_timeout_hands_the_message_to_vonage_once() {
    let (twilio, vonage) = start_both().await;
    twilio.with(|state| state.behaviour = Behaviour::Slow(Duration::from_secs(10)));
    let impatient = Twilio::new(twilio.config(), client(Duration::from_millis(300)));

    let started = Instant::now();
    let outcome = send(
        vec![Box::new(impatient), Box::new(vonage.gateway())],
        NOTICE,
    )
    .await;

    assert!(
        started.elapsed() < Duration::from_secs(5),
        "the client's timeout, not Twilio, decided: {:?}",
        started.elapsed()
    );
    assert!(
        matches!(&outcome, Outcome::Accepted { gateway_id, .. } if gateway_id.starts_with("vonage:")),
        "{outcome:?}"
    );
    assert_eq!(twilio.requests().len(), 1);
    assert!(twilio.created().is_empty());
    assert_eq!(vonage.requests().len(), 1);
    assert_eq!(vonage.delivered().len(), 1);
}

#[tokio::test]
async fn vonage_with_bad_credentials_hands_the_message_to_twilio() {
    let (twilio, vonage) = start_both().await;
    let misconfigured = vonage_gateway(VonageConfig {
        api_secret: "rotated-yesterday".into(),
        ..vonage.config()
    });

    let outcome = send(
        vec![Box::new(misconfigured), Box::new(twilio.gateway())],
        NOTICE,
    )
    .await;

    let created = twilio.created();
    assert_eq!(created.len(), 1);
    assert_eq!(
        outcome,
        Outcome::Accepted {
            gateway_id: format!("twilio:{}", created[0]["sid"].as_str().expect("sid")),
            detail: Some("accepted by twilio".into())
        }
    );
    assert!(vonage.delivered().is_empty());
}

#[tokio::test]
async fn a_misconfigured_twilio_hands_each_message_to_vonage_once_and_never_rejects_the_number() {
    let twilio = TwilioEmulator::start().await;
    for (n, (mistake, config, status, code)) in
        twilio_misconfigurations(&twilio).into_iter().enumerate()
    {
        let vonage = VonageEmulator::start().await;
        let misconfigured = twilio_gateway(config);
        let outcome = send(
            vec![Box::new(misconfigured), Box::new(vonage.gateway())],
            NOTICE,
        )
        .await;

        let delivered = vonage.delivered();
        assert_eq!(delivered.len(), 1, "{mistake}: {delivered:?}");
        assert_eq!(
            outcome,
            Outcome::Accepted {
                gateway_id: format!("vonage:{}", delivered[0].message_ids[0]),
                detail: Some("accepted by vonage".into())
            },
            "{mistake} (HTTP {status}, {code})"
        );
        assert_eq!(twilio.requests().len(), n + 1, "{mistake}: asked once");
    }
    assert!(twilio.created().is_empty());
}

#[tokio::test]
async fn with_twilio_and_vonage_both_misconfigured_the_channel_is_misconfigured_with_both_answers()
{
    let (twilio, vonage) = start_both().await;
    let no_sender = twilio_gateway(TwilioConfig {
        from: None,
        messaging_service_sid: Some("ZNA-crisis".into()),
        ..twilio.config()
    });
    let bad_credentials = vonage_gateway(VonageConfig {
        api_secret: "rotated-yesterday".into(),
        ..vonage.config()
    });

    let outcome = send(vec![Box::new(no_sender), Box::new(bad_credentials)], NOTICE).await;

    assert_eq!(
        outcome,
        Outcome::Misconfigured {
            reason: "twilio: HTTP 422, Twilio error 20423: Invalid SID; \
                     vonage: Vonage status 4: Bad Credentials"
                .into()
        }
    );
    assert!(twilio.created().is_empty());
    assert!(vonage.delivered().is_empty());
}

#[tokio::test]
async fn the_channel_sends_dutch_and_french_text_through_vonage_as_unicode() {
    let (twilio, vonage) = start_both().await;
    twilio.with(|state| state.behaviour = Behaviour::Down);

    let outcome = send(twilio_then_vonage(&twilio, &vonage), DUTCH_FRENCH).await;

    assert!(matches!(outcome, Outcome::Accepted { .. }), "{outcome:?}");
    let request = &vonage.requests()[0];
    assert_eq!(request.get("type"), Some("unicode"));
    assert_eq!(vonage.delivered()[0].text, DUTCH_FRENCH);
}

/// The whole pipeline with gateways from the configuration: Twilio first, down; Vonage next.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_broadcast_fails_over_from_a_broken_gateway_and_sends_each_sms_once() {
    use tocsin::domain::DeliveryState;
    let (twilio, vonage, test) = twilio_down_then_vonage(|_| {}).await;
    let id = sms_broadcast(&test).await;

    test.app.send(id, |_, _| {}).await.expect("send");

    let delivered = vonage.delivered();
    assert_eq!(
        delivered.len(),
        3,
        "each patient once, through Vonage: {delivered:?}"
    );
    assert!(twilio.created().is_empty());
    let french = delivered
        .iter()
        .find(|sms| sms.to == "32471123451")
        .expect("the French patient");
    assert!(french.text.contains("mar. 13/01 à 9h30"), "{}", french.text);
    for n in 0..3 {
        let contact = test
            .app
            .store
            .find_contact(&format!("P{n}"))
            .await
            .expect("query")
            .expect("contact");
        let delivery = test
            .app
            .store
            .delivery(id, contact.id, ChannelKind::Sms)
            .await
            .expect("query")
            .expect("delivery");
        assert_eq!(delivery.state, DeliveryState::Sent);
        assert!(delivery
            .gateway_id
            .is_some_and(|gateway| gateway.starts_with("vonage:")));
    }
    let status = test.app.status(id).await.expect("status");
    let via_vonage = status
        .by_gateway
        .get("vonage")
        .expect("counted per gateway");
    assert_eq!(via_vonage.get(&DeliveryState::Sent), Some(&3));
    assert!(!status.by_gateway.contains_key("twilio"));
    assert!(status.to_text().contains("sms via vonage"));
}

/// `patients` SMS patients and an approved SMS update to them, with a `tocsin.toml` that sends
/// through the Twilio emulator with `account_sid`; returns the app, the update and the file.
async fn cli_broadcast(
    twilio: &TwilioEmulator,
    patients: usize,
    account_sid: &str,
) -> (crate::support::TestApp, i64, std::path::PathBuf) {
    let test = crate::support::TestApp::new(|_| {}).await;
    let (contacts, appointments): (Vec<_>, Vec<_>) = (0..patients)
        .map(|n| crate::support::sms_patient(n, "nl", format!("+3247155{n:04}"), None))
        .unzip();
    test.app
        .store
        .import(&contacts, &appointments, "test", 0)
        .await
        .expect("import");
    let id = test.approved_update(&sms_update()).await;
    let file = test.dir.path().join("tocsin.toml");
    write_twilio_config(&test, twilio, &file, account_sid);
    (test, id, file)
}

fn write_twilio_config(
    test: &crate::support::TestApp,
    twilio: &TwilioEmulator,
    file: &std::path::Path,
    account_sid: &str,
) {
    std::fs::write(
        file,
        format!(
            "database_url = \"{}\"\n\
             [sms]\ntransport = \"gateways\"\n\
             [[sms.gateways]]\nkind = \"twilio\"\naccount_sid = \"{account_sid}\"\n\
             auth_token = \"{AUTH_TOKEN}\"\nfrom = \"{TWILIO_FROM}\"\nbase_url = \"{}\"\n\
             [email]\nfrom = \"{}\"\n{}",
            test.app.config.database_url,
            twilio.url,
            crate::support::EMAIL_FROM,
            crate::support::HOSPITAL_TOML
        ),
    )
    .expect("config file");
}

fn tocsin_cli(file: &std::path::Path, args: &[&str]) -> std::process::Output {
    crate::support::tocsin_command()
        .arg("--config")
        .arg(file)
        .args(args)
        .output()
        .expect("run tocsin")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn with_every_gateway_misconfigured_send_stops_with_the_answer_exit_4_and_burns_nobody() {
    use tocsin::domain::DeliveryState;
    let twilio = TwilioEmulator::start().await;
    let wrong_sid = "AC00000000000000000000000000000000";
    let (test, id, file) = cli_broadcast(&twilio, 30, wrong_sid).await;

    let out = tocsin_cli(&file, &["update", "send", &id.to_string()]);

    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(4), "{stdout}");
    assert!(
        stdout.contains("STOPPED with 30 deliveries held back"),
        "{stdout}"
    );
    assert!(
        stdout.contains("sms: twilio:"),
        "the gateway's answer: {stdout}"
    );
    let status = test.app.status(id).await.expect("status");
    assert_eq!(
        status.by_state.get(&DeliveryState::Undeliverable),
        None,
        "a mistake of ours is no fact about a patient"
    );
    assert!(status.paused.is_some(), "paused until a person fixes it");
    assert!(
        twilio.requests().len() < 30,
        "the channel stopped instead of trying everyone ({} requests)",
        twilio.requests().len()
    );

    write_twilio_config(&test, &twilio, &file, ACCOUNT_SID);
    let out = tocsin_cli(&file, &["update", "send", &id.to_string()]);

    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(0), "{stdout}");
    assert!(stdout.contains("Resumed 30 deliveries"), "{stdout}");
    assert_eq!(twilio.created().len(), 30, "each patient once");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_mass_rejection_guard_stops_a_gateway_refusing_everyone_alike_and_retry_sends_them() {
    use tocsin::domain::DeliveryState;
    let twilio = TwilioEmulator::start().await;
    let (test, id, file) = cli_broadcast(&twilio, 60, ACCOUNT_SID).await;
    // A gateway that words a mistake of its own as "this number is bad", for everyone.
    for n in 0..60 {
        twilio.cannot_reach(&format!("+3247155{n:04}"));
    }

    let out = tocsin_cli(&file, &["update", "send", &id.to_string()]);

    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(4), "{stdout}");
    assert!(
        stdout.contains("the first 20 sms messages were all refused the same way"),
        "{stdout}"
    );
    let status = test.app.status(id).await.expect("status");
    let undeliverable = status.by_state[&DeliveryState::Undeliverable];
    assert!(
        (20..60).contains(&undeliverable),
        "the guard stopped the channel after the first 20 (and those in flight): {undeliverable}"
    );
    assert_eq!(status.held, 60 - undeliverable);

    twilio.with(|state| state.unreachable.clear());
    let out = tocsin_cli(
        &file,
        &[
            "update",
            "retry",
            &id.to_string(),
            "--state",
            "undeliverable",
            "--reason",
            "21211",
            "--by",
            "Dr. Jan Claes",
        ],
    );

    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(0), "{stdout}");
    assert!(
        stdout.contains(&format!(
            "{undeliverable} deliveries sent again at the request of Dr. Jan Claes"
        )),
        "{stdout}"
    );
    assert_eq!(twilio.created().len(), 60, "everyone, once");
    let status = test.app.status(id).await.expect("status");
    assert_eq!(status.by_state[&DeliveryState::Sent], 60);
}
