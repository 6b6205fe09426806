//! Circuit breakers and rate limits of `SmsChannel`, against the Twilio and Vonage emulators of
//! `providers.rs`: Twilio first, Vonage next. The breakers' time comes from a manual clock;
//! nothing here waits on or measures the wall clock.

use crate::providers::{
    sms_broadcast, sms_message, start_both, twilio_down_then_vonage, Behaviour, TwilioEmulator,
    VonageEmulator, NOTICE, PATIENT,
};
use std::sync::Arc;
use std::time::Duration;
use tocsin::channels::sms::{BreakerState, GatewayLimits, SmsChannel, SmsGateway};
use tocsin::channels::{Channel, Message, NoHandover, Outcome};
use tocsin::clock::{Clock, ManualClock};
use tocsin::domain::GatewayId;

const COOL_DOWN: Duration = Duration::from_secs(30);

fn message(delivery_id: i64) -> Message {
    sms_message(delivery_id, PATIENT, NOTICE)
}

fn breaker(failures_to_open: u32) -> GatewayLimits {
    GatewayLimits {
        failures_to_open,
        cool_down: COOL_DOWN,
        ..GatewayLimits::default()
    }
}

/// Twilio then Vonage, each with its breaker opening after `failures_to_open`.
fn channel(
    twilio: &TwilioEmulator,
    vonage: &VonageEmulator,
    failures_to_open: u32,
) -> (SmsChannel, Arc<ManualClock>) {
    let clock = Arc::new(ManualClock::new());
    let gateways: Vec<(Box<dyn SmsGateway>, GatewayLimits)> = vec![
        (Box::new(twilio.gateway()), breaker(failures_to_open)),
        (Box::new(vonage.gateway()), breaker(failures_to_open)),
    ];
    let channel = SmsChannel::with_limits(gateways, Arc::clone(&clock) as Arc<dyn Clock>);
    (channel, clock)
}

async fn send(channel: &SmsChannel, delivery_id: i64) -> Outcome {
    channel.send(&message(delivery_id), &mut NoHandover).await
}

fn accepted_by(outcome: &Outcome, gateway: &str) -> bool {
    matches!(outcome, Outcome::Accepted { gateway_id, .. }
        if gateway_id.parse::<GatewayId>().is_ok_and(|id| id.gateway == gateway))
}

#[tokio::test]
async fn an_unavailable_gateway_is_skipped_once_its_breaker_opens_and_used_again_after_a_good_probe(
) {
    let (twilio, vonage) = start_both().await;
    twilio.with(|state| state.behaviour = Behaviour::Down);
    let (channel, clock) = channel(&twilio, &vonage, 3);

    for id in 1..=6 {
        let outcome = send(&channel, id).await;
        assert!(accepted_by(&outcome, "vonage"), "{id}: {outcome:?}");
    }
    assert_eq!(
        twilio.requests().len(),
        3,
        "no request to Twilio once its breaker is open"
    );
    assert!(twilio.created().is_empty());
    assert_eq!(vonage.requests().len(), 6);
    assert_eq!(vonage.delivered().len(), 6, "each message once");
    let status = channel.gateway_status();
    assert_eq!(status[0].name, "twilio");
    assert_eq!(status[0].breaker, BreakerState::Open);
    assert_eq!(
        (
            status[0].submitted,
            status[0].unavailable,
            status[0].accepted
        ),
        (3, 3, 0)
    );
    assert_eq!(status[1].breaker, BreakerState::Closed);
    assert_eq!((status[1].submitted, status[1].accepted), (6, 6));

    // Still open just before the end of the cool-down.
    clock.advance(COOL_DOWN - Duration::from_secs(1));
    assert!(accepted_by(&send(&channel, 7).await, "vonage"));
    assert_eq!(twilio.requests().len(), 3);

    // Twilio has recovered; after the cool-down the next message probes it.
    twilio.with(|state| state.behaviour = Behaviour::Normal);
    clock.advance(Duration::from_secs(1));
    assert_eq!(channel.gateway_status()[0].breaker, BreakerState::HalfOpen);
    let probe = send(&channel, 8).await;
    assert!(accepted_by(&probe, "twilio"), "{probe:?}");
    assert_eq!(channel.gateway_status()[0].breaker, BreakerState::Closed);

    assert!(accepted_by(&send(&channel, 9).await, "twilio"));
    assert_eq!(twilio.requests().len(), 5);
    assert_eq!(twilio.created().len(), 2);
    assert_eq!(
        vonage.delivered().len(),
        7,
        "Vonage got nothing after the probe"
    );
    let status = channel.gateway_status();
    assert_eq!(
        (
            status[0].submitted,
            status[0].accepted,
            status[0].unavailable
        ),
        (5, 2, 3)
    );
}

#[tokio::test]
async fn a_probe_that_finds_the_gateway_still_down_opens_the_breaker_for_a_new_cool_down() {
    let (twilio, vonage) = start_both().await;
    twilio.with(|state| state.behaviour = Behaviour::Down);
    let (channel, clock) = channel(&twilio, &vonage, 2);
    for id in 1..=2 {
        assert!(accepted_by(&send(&channel, id).await, "vonage"));
    }
    clock.advance(COOL_DOWN);

    let outcome = send(&channel, 3).await;
    assert!(accepted_by(&outcome, "vonage"), "{outcome:?}");
    assert_eq!(twilio.requests().len(), 3, "one probe");
    assert_eq!(channel.gateway_status()[0].breaker, BreakerState::Open);

    clock.advance(COOL_DOWN - Duration::from_secs(1));
    assert!(accepted_by(&send(&channel, 4).await, "vonage"));
    assert_eq!(
        twilio.requests().len(),
        3,
        "skipped for the whole new cool-down"
    );
    assert!(twilio.created().is_empty());
    assert_eq!(vonage.delivered().len(), 4);
}

#[tokio::test]
async fn when_both_gateways_are_down_messages_wait_for_the_first_breaker_to_half_open() {
    let (twilio, vonage) = start_both().await;
    twilio.with(|state| state.behaviour = Behaviour::Down);
    vonage.with(|state| state.behaviour = Behaviour::Down);
    let (channel, clock) = channel(&twilio, &vonage, 1);

    let outcome = send(&channel, 1).await;
    assert!(
        matches!(outcome, Outcome::Unavailable { after: Some(after), .. } if after == COOL_DOWN),
        "{outcome:?}"
    );
    clock.advance(Duration::from_secs(10));
    let outcome = send(&channel, 2).await;
    assert!(
        matches!(outcome, Outcome::Unavailable { after: Some(after), .. } if after == COOL_DOWN - Duration::from_secs(10)),
        "{outcome:?}"
    );
    assert_eq!((twilio.requests().len(), vonage.requests().len()), (1, 1));
}

#[tokio::test]
async fn throttling_with_retry_after_stays_on_the_same_gateway_and_keeps_its_breaker_closed() {
    let (twilio, vonage) = start_both().await;
    twilio.with(|state| state.behaviour = Behaviour::Throttle { retry_after: 30 });
    let (channel, _clock) = channel(&twilio, &vonage, 1);

    for id in 1..=3 {
        let outcome = send(&channel, id).await;
        assert!(
            matches!(&outcome, Outcome::RetryLater { after: Some(after), .. } if *after == Duration::from_secs(30)),
            "{outcome:?}"
        );
    }
    assert!(vonage.requests().is_empty(), "throttling is no failover");
    assert_eq!(twilio.requests().len(), 3);
    let status = channel.gateway_status();
    assert_eq!(status[0].breaker, BreakerState::Closed);
    assert_eq!((status[0].submitted, status[0].throttled), (3, 3));
}

#[tokio::test]
async fn the_rate_limit_lets_one_through_at_once_and_holds_the_rest() {
    let vonage = VonageEmulator::start().await;
    let limits = GatewayLimits {
        rate_per_second: Some(1),
        ..GatewayLimits::default()
    };
    let gateways: Vec<(Box<dyn SmsGateway>, GatewayLimits)> =
        vec![(Box::new(vonage.gateway()), limits)];
    let channel = SmsChannel::with_limits(gateways, Arc::new(ManualClock::new()));

    let mut sends: Vec<_> = (1..=3).map(|id| Box::pin(send(&channel, id))).collect();
    // One poll each: the first is admitted and submitted, the others wait for the limiter.
    for pending in &mut sends {
        assert!(futures::poll!(pending.as_mut()).is_pending());
    }
    assert_eq!(channel.gateway_status()[0].submitted, 1);

    let outcomes = futures::future::join_all(sends).await;
    assert!(outcomes
        .iter()
        .all(|outcome| accepted_by(outcome, "vonage")));
    assert_eq!(vonage.delivered().len(), 3, "each message once");
    assert_eq!(channel.gateway_status()[0].submitted, 3);
}

/// Vonage behind the limits `tocsin.toml` gives it (`[sms.rates]`, `[sms] rate_burst`): how
/// many of `messages` sends it gets before its rate limit holds the rest. Each send is
/// polled once, in order (the limiter lets it through to Vonage or makes it wait); then the
/// ones let through are driven to their end while the others are not polled again. A count at
/// the gateway, whatever the wall clock does: at 1 message per second, the limiter lets no
/// more through before a second has passed between two polls.
async fn taken_before_the_limit_holds(sms_toml: &str, messages: i64) -> usize {
    let vonage = VonageEmulator::start().await;
    let config = tocsin::config::Config::parse(sms_toml, "tocsin.toml").expect("configuration");
    let limits = tocsin::channels::sms::gateway_limits(&config.sms, "vonage");
    let gateways: Vec<(Box<dyn SmsGateway>, GatewayLimits)> =
        vec![(Box::new(vonage.gateway()), limits)];
    let channel = SmsChannel::with_limits(gateways, Arc::new(ManualClock::new()));

    let messages: Vec<Message> = (1..=messages).map(message).collect();
    let mut handovers: Vec<NoHandover> = messages.iter().map(|_| NoHandover).collect();
    let mut sends: Vec<_> = messages
        .iter()
        .zip(handovers.iter_mut())
        .map(|(message, handover)| Box::pin(channel.send(message, handover)))
        .collect();
    for pending in &mut sends {
        assert!(futures::poll!(pending.as_mut()).is_pending());
    }
    let let_through = usize::try_from(channel.gateway_status()[0].submitted).expect("a count");
    let outcomes = futures::future::join_all(sends.drain(..let_through)).await;
    assert!(outcomes
        .iter()
        .all(|outcome| accepted_by(outcome, "vonage")));
    let delivered = vonage.delivered().len();
    assert_eq!(
        delivered, let_through,
        "each message let through arrived once"
    );
    delivered
}

const VONAGE_AT_ONE_PER_SECOND: &str = "[sms]\ntransport = \"gateways\"\n\
    [[sms.gateways]]\nkind = \"vonage\"\napi_key = \"k\"\napi_secret = \"s\"\nfrom = \"ZNA\"\n\
    [sms.rates]\nvonage = 1\n";

#[tokio::test]
async fn a_rate_limit_is_smooth_by_default_and_lets_rate_burst_messages_through_at_once() {
    assert_eq!(
        taken_before_the_limit_holds(VONAGE_AT_ONE_PER_SECOND, 5).await,
        1,
        "smooth: one, then one per 1/rate"
    );
    let with_burst = VONAGE_AT_ONE_PER_SECOND.replace("[sms]\n", "[sms]\nrate_burst = 3\n");
    assert_eq!(taken_before_the_limit_holds(&with_burst, 5).await, 3);
}

/// The whole pipeline, then `tocsin status` in a process of its own: the breaker the sending
/// process opened is shown there.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tocsin_status_shows_the_breaker_a_broadcast_opened_with_its_last_error() {
    let (_twilio, vonage, test) = twilio_down_then_vonage(|sms| {
        sms.failures_to_open = 2;
        sms.cool_down_seconds = 3_600;
    })
    .await;
    let id = sms_broadcast(&test).await;
    let before = test.app.status(id).await.expect("status");
    assert!(
        before.breakers.is_empty(),
        "nothing recorded before sending"
    );

    test.app.send(id, |_, _| {}).await.expect("send");

    assert_eq!(vonage.delivered().len(), 3);
    let output = crate::support::tocsin_command()
        .current_dir(test.dir.path())
        .args(["status", &id.to_string(), "--json", "--database"])
        .arg(&test.app.config.database_url)
        .output()
        .expect("run tocsin status");
    assert!(output.status.success(), "{output:?}");
    let status: serde_json::Value = serde_json::from_slice(&output.stdout).expect("JSON");
    let twilio_breaker = &status["breakers"]["twilio"];
    assert_eq!(twilio_breaker["state"], "open", "{status}");
    assert!(twilio_breaker["since_ms"].is_i64());
    let error = twilio_breaker["last_error"].as_str().expect("last error");
    assert!(error.starts_with("twilio: HTTP 503"), "{error}");
    assert!(
        !error.contains("+3247112345"),
        "numbers are masked: {error}"
    );
    assert_eq!(status["breakers"]["vonage"]["state"], "closed");
    assert_eq!(status["by_gateway"]["vonage"]["sent"], 3);

    let text = crate::support::tocsin_command()
        .current_dir(test.dir.path())
        .args(["status", &id.to_string(), "--database"])
        .arg(&test.app.config.database_url)
        .output()
        .expect("run tocsin status");
    let text = String::from_utf8_lossy(&text.stdout);
    assert!(text.contains("  twilio: open since "), "{text}");
    assert!(text.contains("  vonage: closed since "), "{text}");
}
