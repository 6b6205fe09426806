//! SMS through one or more gateways, in the order the configuration gives them. Each gateway
//! is one folder (the gateway behind [`SmsGateway`], its `[[sms.gateways]]` table, its
//! delivery receipts), declared here, and one line of `gateways!`; this module only decides which gateway gets a message
//! and what its answer means for the delivery. Each gateway has its own limits
//! ([`GatewayLimits`]): a rate limit (messages per second, smooth unless a burst is allowed,
//! a budget shared by every process that sends through a [`SlotSource`]: `slots.rs`) and a
//! circuit breaker (`breaker.rs`) that skips a gateway after a run of
//! unavailable or misconfigured answers, and counters for `SmsChannel::gateway_status`. A
//! [`BreakerObserver`] hears of each breaker change, so that other processes can show it.
//!
//! Whose problem an answer is decides everything: only [`GatewayOutcome::Rejected`] is a fact
//! about the recipient, and a gateway returns it only for an answer that names the number
//! (each gateway's folder lists which). Every other refusal is this gateway's configuration
//! ([`GatewayOutcome::Misconfigured`]) or its trouble ([`GatewayOutcome::Unavailable`]): the
//! message goes to the next gateway, and when none takes it the channel says which of the two
//! it was, with each gateway's answer.

pub mod breaker;
mod build;
pub mod config;
mod generic;
pub mod gsm;
pub mod kannel;
pub mod receipt;
pub mod slots;
pub mod twilio;
pub mod vonage;

use super::{mask, Channel, Handover, Message, Outcome};
use crate::clock::{Clock, SystemClock};
use crate::domain::GatewayId;
use async_trait::async_trait;
pub use breaker::BreakerState;
use breaker::{Admission, Breaker};
pub use build::{build, gateway_limits};
use gsm::Encoding;
use slots::Pacing;
pub use slots::{LocalSlots, SlotSource};
use std::num::NonZeroU32;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

/// The gateways' `kind`s, one line each: `Kind(folder::Settings)` makes `Kind` (lowercase) a
/// `kind` of `[[sms.gateways]]`, whose table is the folder's `Settings`, and serves
/// `/receipts/kind` when `Settings` has a receipt reader.
macro_rules! gateways {
    ($($(#[cfg($cfg:meta)])? $variant:ident($settings:path),)*) => {
        /// One SMS gateway, by its `kind`. Secrets may be written here or, better, named by
        /// an environment variable (`password_env`, `auth_token_env`, `api_secret_env`).
        #[derive(Clone, serde::Deserialize)]
        #[serde(tag = "kind", rename_all = "lowercase")]
        pub enum GatewayConfig {
            $($(#[cfg($cfg)])? $variant($settings),)*
        }

        impl GatewayConfig {
            /// The gateway's own table.
            pub fn settings(&self) -> &dyn config::GatewaySettings {
                match self {
                    $($(#[cfg($cfg)])? GatewayConfig::$variant(settings) => settings,)*
                }
            }

            /// Each kind's receipt reader, by `kind`, for the kinds that have one, built for
            /// the configured `gateways` of the kind; `receipt_secret` is `[serve]`'s.
            pub fn receipt_readers(
                gateways: &[GatewayConfig],
                receipt_secret: Option<&str>,
            ) -> Result<Vec<(String, Box<dyn receipt::ReceiptReader>)>, String> {
                let mut readers = Vec::new();
                $($(#[cfg($cfg)])? {
                    let of_kind: Vec<&$settings> = gateways
                        .iter()
                        .filter_map(|gateway| match gateway {
                            GatewayConfig::$variant(settings) => Some(settings),
                            _ => None,
                        })
                        .collect();
                    let reader = <$settings as config::GatewaySettings>::receipt_reader(
                        &of_kind,
                        receipt_secret,
                    )?;
                    // The kind as serde names it: the variant, lowercase.
                    let kind = stringify!($variant).to_lowercase();
                    readers.extend(reader.map(|reader| (kind, reader)));
                })*
                Ok(readers)
            }
        }
    };
}

gateways! {
    Kannel(kannel::KannelSettings),
    Twilio(twilio::TwilioSettings),
    Vonage(vonage::VonageSettings),
    #[cfg(test)] Generic(generic::GenericSettings),
}

/// One SMS, as a gateway sends it.
#[derive(Debug, Clone)]
pub struct Sms<'a> {
    pub delivery_id: i64,
    /// E.164.
    pub to: &'a str,
    pub text: &'a str,
    /// GSM-7 or UCS-2: the gateway must be told, or it may mangle `ë` or double the cost.
    pub encoding: Encoding,
}

/// What a gateway said to one submission.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum GatewayOutcome {
    /// Taken; the gateway's id for the message, for its delivery receipts.
    Accepted { message_id: String },
    /// Too fast: try again after `retry_after` (the gateway's `Retry-After`, if it said one),
    /// on the same gateway.
    Throttled {
        retry_after: Option<Duration>,
        reason: String,
    },
    /// The gateway is in trouble (connection refused, timeout, 5xx): another gateway may
    /// do better.
    Unavailable { reason: String },
    /// The gateway refuses our account or request as configured (unknown path, missing
    /// sender, unknown account, bad credentials, no credit): nothing sent to it can succeed
    /// until a person fixes the configuration, so it is skipped like an unavailable one and
    /// says so. Any refusal that does not name the number is this, never `Rejected`.
    Misconfigured { reason: String },
    /// The gateway names this number as the problem, by one of its documented answers:
    /// invalid or unreachable number, number barred or opted out. Retrying, here or
    /// elsewhere, cannot help.
    Rejected {
        code: Option<String>,
        reason: String,
    },
}

#[async_trait]
pub trait SmsGateway: Send + Sync {
    /// As configured, for logs and status.
    fn name(&self) -> &str;
    async fn submit(&self, sms: &Sms<'_>) -> GatewayOutcome;
}

/// How hard one gateway may be used.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GatewayLimits {
    /// Messages per second submitted to the gateway; `None` or 0: unlimited.
    pub rate_per_second: Option<u32>,
    /// How many messages may go at once before the rate applies; 1 (the default) spaces
    /// every message a little more than `1 / rate` apart (`slots.rs`), so no second at the
    /// gateway sees more than the rate.
    pub burst: NonZeroU32,
    /// Unavailable or misconfigured answers in a row that open the circuit breaker; 0: never
    /// open it.
    pub failures_to_open: u32,
    /// How long an open breaker skips the gateway before it lets one probe message through.
    pub cool_down: Duration,
}

impl Default for GatewayLimits {
    fn default() -> GatewayLimits {
        GatewayLimits {
            rate_per_second: None,
            burst: NonZeroU32::MIN,
            failures_to_open: 3,
            cool_down: Duration::from_secs(30),
        }
    }
}

/// One gateway as `tocsin status` shows it. `submitted` counts the submissions made (after
/// the breaker and the rate limit); the other counts are their answers.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GatewayStatus {
    pub name: String,
    pub breaker: BreakerState,
    pub submitted: u64,
    pub accepted: u64,
    pub unavailable: u64,
    pub misconfigured: u64,
    pub rejected: u64,
    pub throttled: u64,
}

/// A breaker that changed state, as the sending process saw it (its state at a gateway's
/// first use counts as a change: before it, nothing is known).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BreakerChange {
    pub gateway: String,
    pub state: BreakerState,
    /// The unavailable or misconfigured answer that came with the change, the recipient's
    /// number masked.
    pub error: Option<String>,
}

/// Told of each change of a gateway's breaker, so that another process (`tocsin status`) can
/// show it: the app writes it to the store. Awaited on the sending path, and changes are
/// rare (a gateway going down or coming back).
#[async_trait]
pub trait BreakerObserver: Send + Sync {
    async fn changed(&self, change: BreakerChange);
}

#[derive(Default)]
struct Counters {
    submitted: AtomicU64,
    accepted: AtomicU64,
    unavailable: AtomicU64,
    misconfigured: AtomicU64,
    rejected: AtomicU64,
    throttled: AtomicU64,
}

/// The last answer that counted against a gateway's breaker.
#[derive(Debug, Clone)]
struct Failure {
    misconfigured: bool,
    /// The gateway's answer, the number it was about masked.
    reason: String,
}

struct Route {
    gateway: Box<dyn SmsGateway>,
    pacing: Option<Pacing>,
    breaker: Breaker,
    counters: Counters,
    /// The state last told to the observer.
    reported: std::sync::Mutex<Option<BreakerState>>,
    /// Why the breaker counts against the gateway: while it is open, a message that skips
    /// the gateway is told this answer, and a gateway open for its configuration keeps the
    /// channel's outcome `Misconfigured`.
    last_failure: std::sync::Mutex<Option<Failure>>,
}

/// Sends each SMS through the first gateway that takes it: a gateway that is unavailable or
/// misconfigured hands the message to the next one; throttling and rejections stop there. A
/// gateway whose breaker is open is skipped; if every breaker is open, the message is retried
/// when the first of them half-opens. Each submission waits for its slot of its gateway's
/// rate, from this process's own slots unless [`SmsChannel::with_slots`] shares them.
/// When no gateway takes the message, the outcome is `Misconfigured` if every gateway refused
/// our configuration (now, or when its breaker opened), else `Unavailable`.
pub struct SmsChannel {
    routes: Vec<Route>,
    clock: Arc<dyn Clock>,
    observer: Option<Arc<dyn BreakerObserver>>,
    slots: Arc<dyn SlotSource>,
}

impl SmsChannel {
    /// The gateways with the default limits: no rate limit, the breaker opens after 3
    /// unavailable or misconfigured answers in a row for 30 s.
    pub fn new(gateways: Vec<Box<dyn SmsGateway>>) -> SmsChannel {
        SmsChannel::with_limits(
            gateways
                .into_iter()
                .map(|gateway| (gateway, GatewayLimits::default()))
                .collect(),
            Arc::new(SystemClock),
        )
    }

    /// The breakers take the time from `clock`; the rate limits use the machine's clock
    /// (their slots are shared with other machines' processes).
    pub fn with_limits(
        gateways: Vec<(Box<dyn SmsGateway>, GatewayLimits)>,
        clock: Arc<dyn Clock>,
    ) -> SmsChannel {
        let routes = gateways
            .into_iter()
            .map(|(gateway, limits)| Route {
                pacing: limits
                    .rate_per_second
                    .and_then(NonZeroU32::new)
                    .map(|rate| Pacing::new(gateway.name(), rate, limits.burst)),
                gateway,
                breaker: Breaker::new(limits.failures_to_open, limits.cool_down),
                counters: Counters::default(),
                reported: std::sync::Mutex::new(None),
                last_failure: std::sync::Mutex::new(None),
            })
            .collect();
        SmsChannel {
            routes,
            clock,
            observer: None,
            slots: Arc::new(LocalSlots::default()),
        }
    }

    /// Takes each gateway's slots from `slots`: every process that shares it shares each
    /// gateway's rate.
    pub fn with_slots(mut self, slots: Arc<dyn SlotSource>) -> SmsChannel {
        self.slots = slots;
        self
    }

    /// Tells `observer` of every change of a breaker's state.
    pub fn with_observer(mut self, observer: Arc<dyn BreakerObserver>) -> SmsChannel {
        self.observer = Some(observer);
        self
    }

    /// Tells the observer, if there is one, of the route's breaker state if it changed since
    /// it was last told.
    async fn report(&self, route: &Route, error: Option<String>) {
        let Some(observer) = &self.observer else {
            return;
        };
        let state = route.breaker.state(self.clock.now());
        {
            let mut reported = route.reported.lock().expect("reported breaker state");
            if *reported == Some(state) {
                return;
            }
            *reported = Some(state);
        }
        observer
            .changed(BreakerChange {
                gateway: route.gateway.name().to_string(),
                state,
                error,
            })
            .await;
    }

    /// Breaker state and counts of each gateway, in the configured order.
    pub fn gateway_status(&self) -> Vec<GatewayStatus> {
        let now = self.clock.now();
        let count = |counter: &AtomicU64| counter.load(Ordering::Relaxed);
        self.routes
            .iter()
            .map(|route| GatewayStatus {
                name: route.gateway.name().to_string(),
                breaker: route.breaker.state(now),
                submitted: count(&route.counters.submitted),
                accepted: count(&route.counters.accepted),
                unavailable: count(&route.counters.unavailable),
                misconfigured: count(&route.counters.misconfigured),
                rejected: count(&route.counters.rejected),
                throttled: count(&route.counters.throttled),
            })
            .collect()
    }

    /// When every gateway's breaker skips it: the earliest time one can be tried again.
    fn all_blocked_until(&self, now: Instant) -> Option<Instant> {
        self.routes
            .iter()
            .map(|route| route.breaker.blocked_until(now))
            .collect::<Option<Vec<_>>>()?
            .into_iter()
            .min()
    }
}

#[async_trait]
impl Channel for SmsChannel {
    async fn send(&self, message: &Message, _handover: &mut dyn Handover) -> Outcome {
        let sms = Sms {
            delivery_id: message.delivery_id,
            to: &message.address,
            text: &message.content.body,
            // Only the encoding: counting the parts as `analyse` does would cost more than
            // the rest of the submission.
            encoding: if gsm::is_gsm7(&message.content.body) {
                Encoding::Gsm7
            } else {
                Encoding::Ucs2
            },
        };
        let mut failures = Vec::new();
        let mut misconfigured = 0;
        for route in &self.routes {
            let gateway = &route.gateway;
            if let Admission::Skip { .. } = route.breaker.admit(self.clock.now()) {
                let last = route
                    .last_failure
                    .lock()
                    .expect("last gateway failure")
                    .clone();
                match last {
                    Some(Failure {
                        misconfigured: was_misconfigured,
                        reason,
                    }) => {
                        misconfigured += usize::from(was_misconfigured);
                        failures.push(format!(
                            "{}: circuit breaker open after: {reason}",
                            gateway.name()
                        ));
                    }
                    None => failures.push(format!("{}: circuit breaker open", gateway.name())),
                }
                continue;
            }
            // A probe half-opens the breaker.
            self.report(route, None).await;
            if let Some(pacing) = &route.pacing {
                // Not this gateway's trouble, nor another's: without its rate's budget no
                // gateway is used, and the message waits for the database.
                if let Err(error) = pacing.turn(self.slots.as_ref()).await {
                    tracing::error!(message = "no SMS slot could be reserved", gateway = gateway.name(), %error);
                    return Outcome::Unavailable {
                        after: Some(Duration::from_secs(1)),
                        reason: format!("{}: no slot of its rate: {error}", gateway.name()),
                    };
                }
            }
            route.counters.submitted.fetch_add(1, Ordering::Relaxed);
            let answer = gateway.submit(&sms).await;
            let counters = &route.counters;
            let counted = |counter: &AtomicU64| counter.fetch_add(1, Ordering::Relaxed);
            let taken = match answer {
                GatewayOutcome::Accepted { message_id } => {
                    counted(&counters.accepted);
                    Ok(Outcome::Accepted {
                        gateway_id: GatewayId::new(gateway.name(), message_id).to_string(),
                        detail: Some(format!("accepted by {}", gateway.name())),
                    })
                }
                GatewayOutcome::Throttled {
                    retry_after,
                    reason,
                } => {
                    counted(&counters.throttled);
                    Ok(Outcome::RetryLater {
                        after: retry_after,
                        reason: format!("{}: {reason}", gateway.name()),
                    })
                }
                GatewayOutcome::Rejected { code, reason } => {
                    counted(&counters.rejected);
                    let code = code
                        .map(|code| format!(" (code {code})"))
                        .unwrap_or_default();
                    Ok(Outcome::Rejected {
                        reason: format!("{}: {reason}{code}", gateway.name()),
                    })
                }
                GatewayOutcome::Unavailable { reason } => {
                    counted(&counters.unavailable);
                    Err(Failure {
                        misconfigured: false,
                        reason: scrub(&reason, sms.to),
                    })
                }
                GatewayOutcome::Misconfigured { reason } => {
                    counted(&counters.misconfigured);
                    Err(Failure {
                        misconfigured: true,
                        reason: scrub(&reason, sms.to),
                    })
                }
            };
            // Throttling and rejections show the gateway up.
            route.breaker.record(taken.is_ok(), self.clock.now());
            let failure = match taken {
                Ok(outcome) => {
                    self.report(route, None).await;
                    return outcome;
                }
                Err(failure) => failure,
            };
            *route.last_failure.lock().expect("last gateway failure") = Some(failure.clone());
            let answer = format!("{}: {}", gateway.name(), failure.reason);
            self.report(route, Some(answer.clone())).await;
            if failure.misconfigured {
                misconfigured += 1;
                tracing::error!(message = "SMS gateway refuses our configuration, trying the next", gateway = gateway.name(), reason = %failure.reason);
            } else {
                tracing::warn!(message = "SMS gateway unavailable, trying the next", gateway = gateway.name(), reason = %failure.reason);
            }
            failures.push(answer);
        }
        // Only when every gateway refused our configuration is there nothing to wait for.
        if failures.is_empty() || misconfigured == failures.len() {
            let reason = if failures.is_empty() {
                "no SMS gateway is configured".to_string()
            } else {
                failures.join("; ")
            };
            return Outcome::Misconfigured { reason };
        }
        let now = self.clock.now();
        Outcome::Unavailable {
            after: self
                .all_blocked_until(now)
                .map(|until| until.saturating_duration_since(now)),
            reason: failures.join("; "),
        }
    }
}

/// `base` with `delivery=<id>` added to its query.
pub(crate) fn with_delivery(base: &str, delivery_id: i64) -> String {
    match url::Url::parse(base) {
        Ok(mut url) => {
            url.query_pairs_mut()
                .append_pair("delivery", &delivery_id.to_string());
            url.into()
        }
        Err(_) => {
            let separator = if base.contains('?') { '&' } else { '?' };
            format!("{base}{separator}delivery={delivery_id}")
        }
    }
}

/// The recipient's number, masked wherever `text` quotes it.
pub(crate) fn scrub(text: &str, to: &str) -> String {
    let digits = to.trim_start_matches('+');
    if digits.len() < 4 {
        return text.to_string();
    }
    // The number with its `+` first, then the digits alone (which the first leaves intact).
    text.replace(to, &mask(to)).replace(digits, &mask(digits))
}

/// A transport error, without the URL (which may name the account or carry a password) and
/// with what went wrong.
pub(crate) fn describe(error: &reqwest::Error) -> String {
    let what = if error.is_timeout() {
        "no answer within the timeout"
    } else if error.is_connect() {
        "could not connect"
    } else {
        "request failed"
    };
    let mut detail = String::new();
    let mut source = std::error::Error::source(error);
    while let Some(cause) = source {
        detail = cause.to_string();
        source = cause.source();
    }
    if detail.is_empty() {
        what.to_string()
    } else {
        format!("{what}: {detail}")
    }
}

/// Sends a gateway's request and hands its status, `Retry-After` and body to `interpret`.
/// A request that fails, or an answer that cannot be read, means the gateway is unavailable.
pub(crate) async fn exchange(
    request: reqwest::RequestBuilder,
    interpret: impl FnOnce(reqwest::StatusCode, Option<Duration>, &[u8]) -> GatewayOutcome,
) -> GatewayOutcome {
    let response = match request.send().await {
        Ok(response) => response,
        Err(error) => {
            return GatewayOutcome::Unavailable {
                reason: describe(&error),
            }
        }
    };
    let status = response.status();
    let wait = retry_after(response.headers());
    match response.bytes().await {
        Ok(body) => interpret(status, wait, &body),
        Err(error) => GatewayOutcome::Unavailable {
            reason: format!(
                "HTTP {}, but the answer could not be read: {}",
                status.as_u16(),
                describe(&error)
            ),
        },
    }
}

/// An HTTP client for a gateway: explicit timeouts, never a bare `Client::new()`.
pub fn http_client(timeout: Duration) -> reqwest::Result<reqwest::Client> {
    reqwest::Client::builder()
        .connect_timeout(timeout.min(Duration::from_secs(10)))
        .timeout(timeout)
        .user_agent(concat!("tocsin/", env!("CARGO_PKG_VERSION")))
        .build()
}

/// HTTP statuses as every gateway's API uses them: 429 is throttling, 408 and 5xx are the
/// gateway's trouble, any other 4xx is a problem with this request.
pub fn classify_status(status: reqwest::StatusCode) -> StatusClass {
    match status.as_u16() {
        200..=299 => StatusClass::Success,
        429 => StatusClass::Throttled,
        408 | 500..=599 => StatusClass::Unavailable,
        _ => StatusClass::Refused,
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StatusClass {
    Success,
    Throttled,
    Unavailable,
    Refused,
}

/// `Retry-After` in seconds (the form SMS APIs use); an HTTP date is ignored.
pub fn retry_after(headers: &reqwest::header::HeaderMap) -> Option<Duration> {
    headers
        .get(reqwest::header::RETRY_AFTER)?
        .to_str()
        .ok()?
        .trim()
        .parse::<u64>()
        .ok()
        .map(Duration::from_secs)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::channels::NoHandover;
    use crate::clock::ManualClock;
    use crate::domain::{ChannelKind, Language, RenderedMessage};
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::sync::Arc;

    struct Scripted {
        name: String,
        answer: GatewayOutcome,
        calls: Arc<AtomicUsize>,
    }

    #[async_trait]
    impl SmsGateway for Scripted {
        fn name(&self) -> &str {
            &self.name
        }
        async fn submit(&self, _sms: &Sms<'_>) -> GatewayOutcome {
            self.calls.fetch_add(1, Ordering::SeqCst);
            self.answer.clone()
        }
    }

    fn gateway(name: &str, answer: GatewayOutcome) -> (Box<dyn SmsGateway>, Arc<AtomicUsize>) {
        let calls = Arc::new(AtomicUsize::new(0));
        let gateway = Scripted {
            name: name.into(),
            answer,
            calls: Arc::clone(&calls),
        };
        (Box::new(gateway), calls)
    }

    fn message() -> Message {
        Message {
            delivery_id: 7,
            update_id: 1,
            channel: ChannelKind::Sms,
            address: "+32471123456".into(),
            language: Language::Nl,
            content: RenderedMessage {
                subject: None,
                body: "ZNA: uw afspraak gaat niet door.".into(),
                body_html: None,
            },
            attempt: 1,
            reply_to: None,
        }
    }

    #[tokio::test]
    async fn an_unavailable_gateway_hands_the_message_to_the_next() {
        let (a, a_calls) = gateway(
            "a",
            GatewayOutcome::Unavailable {
                reason: "503".into(),
            },
        );
        let (b, b_calls) = gateway(
            "b",
            GatewayOutcome::Accepted {
                message_id: "SM1".into(),
            },
        );
        let outcome = SmsChannel::new(vec![a, b])
            .send(&message(), &mut NoHandover)
            .await;
        assert_eq!(
            outcome,
            Outcome::Accepted {
                gateway_id: "b:SM1".into(),
                detail: Some("accepted by b".into())
            }
        );
        assert_eq!(
            (
                a_calls.load(Ordering::SeqCst),
                b_calls.load(Ordering::SeqCst)
            ),
            (1, 1)
        );
    }

    #[tokio::test]
    async fn a_rejected_number_is_not_tried_elsewhere() {
        let rejected = GatewayOutcome::Rejected {
            code: Some("21211".into()),
            reason: "invalid 'To' phone number".into(),
        };
        let (a, _) = gateway("a", rejected);
        let (b, b_calls) = gateway(
            "b",
            GatewayOutcome::Accepted {
                message_id: "x".into(),
            },
        );
        let outcome = SmsChannel::new(vec![a, b])
            .send(&message(), &mut NoHandover)
            .await;
        assert!(matches!(outcome, Outcome::Rejected { reason } if reason.contains("21211")));
        assert_eq!(b_calls.load(Ordering::SeqCst), 0);
    }

    #[tokio::test]
    async fn throttling_waits_as_long_as_the_gateway_asks() {
        let throttled = GatewayOutcome::Throttled {
            retry_after: Some(Duration::from_secs(30)),
            reason: "429".into(),
        };
        let (a, _) = gateway("a", throttled);
        let outcome = SmsChannel::new(vec![a])
            .send(&message(), &mut NoHandover)
            .await;
        assert!(
            matches!(outcome, Outcome::RetryLater { after: Some(after), .. } if after == Duration::from_secs(30))
        );
    }

    fn limits(failures_to_open: u32, cool_down: u64) -> GatewayLimits {
        GatewayLimits {
            failures_to_open,
            cool_down: Duration::from_secs(cool_down),
            ..GatewayLimits::default()
        }
    }

    #[tokio::test]
    async fn when_every_breaker_is_open_the_message_waits_for_the_first_to_half_open() {
        let down = GatewayOutcome::Unavailable {
            reason: "503".into(),
        };
        let (a, a_calls) = gateway("a", down.clone());
        let (b, b_calls) = gateway("b", down);
        let clock = Arc::new(ManualClock::new());
        let channel = SmsChannel::with_limits(
            vec![(a, limits(1, 30)), (b, limits(1, 10))],
            Arc::clone(&clock) as Arc<dyn Clock>,
        );
        let outcome = channel.send(&message(), &mut NoHandover).await;
        assert!(
            matches!(outcome, Outcome::Unavailable { after: Some(after), .. } if after == Duration::from_secs(10)),
            "{outcome:?}"
        );
        clock.advance(Duration::from_secs(4));
        let outcome = channel.send(&message(), &mut NoHandover).await;
        assert!(
            matches!(&outcome, Outcome::Unavailable { after: Some(after), reason }
                if *after == Duration::from_secs(6) && reason.contains("circuit breaker open")),
            "{outcome:?}"
        );
        assert_eq!(
            (
                a_calls.load(Ordering::SeqCst),
                b_calls.load(Ordering::SeqCst)
            ),
            (1, 1)
        );
        let status = channel.gateway_status();
        assert_eq!(status[0].breaker, BreakerState::Open);
        assert_eq!(status[0].breaker.as_str(), "open");
        assert_eq!((status[1].submitted, status[1].unavailable), (1, 1));
    }

    #[derive(Default)]
    struct Heard(std::sync::Mutex<Vec<(String, BreakerState, Option<String>)>>);

    #[async_trait]
    impl BreakerObserver for Heard {
        async fn changed(&self, change: BreakerChange) {
            self.0
                .lock()
                .expect("heard")
                .push((change.gateway, change.state, change.error));
        }
    }

    #[tokio::test]
    async fn the_observer_hears_each_breaker_change_once_with_the_masked_error() {
        let (a, _) = gateway(
            "a",
            GatewayOutcome::Unavailable {
                reason: "503 while sending to +32471123456".into(),
            },
        );
        let clock = Arc::new(ManualClock::new());
        let heard = Arc::new(Heard::default());
        let channel = SmsChannel::with_limits(
            vec![(a, limits(2, 30))],
            Arc::clone(&clock) as Arc<dyn Clock>,
        )
        .with_observer(Arc::clone(&heard) as Arc<dyn BreakerObserver>);
        for _ in 0..3 {
            channel.send(&message(), &mut NoHandover).await;
        }
        clock.advance(Duration::from_secs(30));
        channel.send(&message(), &mut NoHandover).await;

        let error = Some("a: 503 while sending to +324***56".to_string());
        let heard = heard.0.lock().expect("heard").clone();
        assert_eq!(
            heard,
            [
                ("a".to_string(), BreakerState::Closed, None),
                ("a".to_string(), BreakerState::Open, error.clone()),
                ("a".to_string(), BreakerState::HalfOpen, None),
                ("a".to_string(), BreakerState::Open, error),
            ]
        );
    }

    #[tokio::test]
    async fn a_closed_gateway_that_fails_leaves_the_retry_to_the_dispatcher() {
        let (a, _) = gateway(
            "a",
            GatewayOutcome::Unavailable {
                reason: "503".into(),
            },
        );
        let channel =
            SmsChannel::with_limits(vec![(a, limits(3, 30))], Arc::new(ManualClock::new()));
        let outcome = channel.send(&message(), &mut NoHandover).await;
        assert!(matches!(outcome, Outcome::Unavailable { after: None, .. }));
        assert_eq!(channel.gateway_status()[0].breaker, BreakerState::Closed);
    }

    #[tokio::test]
    async fn the_rate_limit_admits_its_burst_at_once_and_holds_the_rest() {
        use futures::FutureExt;
        let (a, calls) = gateway(
            "a",
            GatewayOutcome::Accepted {
                message_id: "x".into(),
            },
        );
        let channel = SmsChannel::with_limits(
            vec![(
                a,
                GatewayLimits {
                    rate_per_second: Some(1),
                    ..GatewayLimits::default()
                },
            )],
            Arc::new(SystemClock),
        );
        let first = channel.send(&message(), &mut NoHandover).now_or_never();
        assert!(matches!(first, Some(Outcome::Accepted { .. })));
        let second = channel.send(&message(), &mut NoHandover).now_or_never();
        assert!(second.is_none(), "held by the rate limit");
        assert_eq!(calls.load(Ordering::SeqCst), 1);
        assert_eq!(channel.gateway_status()[0].submitted, 1);
    }

    fn misconfigured(reason: &str) -> GatewayOutcome {
        GatewayOutcome::Misconfigured {
            reason: reason.into(),
        }
    }

    #[tokio::test]
    async fn a_misconfigured_gateway_opens_its_breaker_and_its_traffic_goes_to_the_next() {
        let (a, a_calls) = gateway("a", misconfigured("HTTP 404: Unknown request."));
        let (b, b_calls) = gateway(
            "b",
            GatewayOutcome::Accepted {
                message_id: "x".into(),
            },
        );
        let clock = Arc::new(ManualClock::new());
        let heard = Arc::new(Heard::default());
        let channel = SmsChannel::with_limits(
            vec![(a, limits(2, 30)), (b, limits(2, 30))],
            Arc::clone(&clock) as Arc<dyn Clock>,
        )
        .with_observer(Arc::clone(&heard) as Arc<dyn BreakerObserver>);
        for _ in 0..5 {
            let outcome = channel.send(&message(), &mut NoHandover).await;
            assert!(
                matches!(&outcome, Outcome::Accepted { gateway_id, .. } if gateway_id == "b:x"),
                "{outcome:?}"
            );
        }
        assert_eq!(a_calls.load(Ordering::SeqCst), 2, "skipped once open");
        assert_eq!(b_calls.load(Ordering::SeqCst), 5);
        let status = channel.gateway_status();
        assert_eq!(status[0].breaker, BreakerState::Open);
        assert_eq!((status[0].misconfigured, status[0].unavailable), (2, 0));
        let heard = heard.0.lock().expect("heard").clone();
        assert!(
            heard.contains(&(
                "a".to_string(),
                BreakerState::Open,
                Some("a: HTTP 404: Unknown request.".to_string())
            )),
            "the breaker's last error is the configuration answer: {heard:?}"
        );
    }

    #[tokio::test]
    async fn with_every_gateway_misconfigured_the_outcome_says_so_with_each_answer_even_once_open()
    {
        let (a, _) = gateway("a", misconfigured("HTTP 404: Unknown request."));
        let (b, _) = gateway("b", misconfigured("Vonage status 4: Bad Credentials"));
        let channel = SmsChannel::with_limits(
            vec![(a, limits(1, 30)), (b, limits(1, 30))],
            Arc::new(ManualClock::new()),
        );
        let first = channel.send(&message(), &mut NoHandover).await;
        assert_eq!(
            first,
            Outcome::Misconfigured {
                reason: "a: HTTP 404: Unknown request.; b: Vonage status 4: Bad Credentials".into()
            }
        );
        let second = channel.send(&message(), &mut NoHandover).await;
        assert_eq!(
            second,
            Outcome::Misconfigured {
                reason: "a: circuit breaker open after: HTTP 404: Unknown request.; \
                         b: circuit breaker open after: Vonage status 4: Bad Credentials"
                    .into()
            }
        );
    }

    #[tokio::test]
    async fn a_misconfigured_gateway_beside_an_unavailable_one_leaves_the_channel_unavailable() {
        let (a, _) = gateway(
            "a",
            misconfigured("HTTP 403: Authorization failed for sendsms"),
        );
        let (b, _) = gateway(
            "b",
            GatewayOutcome::Unavailable {
                reason: "HTTP 503".into(),
            },
        );
        let outcome = SmsChannel::new(vec![a, b])
            .send(&message(), &mut NoHandover)
            .await;
        assert_eq!(
            outcome,
            Outcome::Unavailable {
                after: None,
                reason: "a: HTTP 403: Authorization failed for sendsms; b: HTTP 503".into()
            }
        );
    }

    #[test]
    fn statuses_are_classified_explicitly() {
        use reqwest::StatusCode;
        assert_eq!(classify_status(StatusCode::CREATED), StatusClass::Success);
        assert_eq!(
            classify_status(StatusCode::TOO_MANY_REQUESTS),
            StatusClass::Throttled
        );
        assert_eq!(
            classify_status(StatusCode::SERVICE_UNAVAILABLE),
            StatusClass::Unavailable
        );
        assert_eq!(
            classify_status(StatusCode::REQUEST_TIMEOUT),
            StatusClass::Unavailable
        );
        assert_eq!(
            classify_status(StatusCode::BAD_REQUEST),
            StatusClass::Refused
        );
        assert_eq!(
            classify_status(StatusCode::UNAUTHORIZED),
            StatusClass::Refused
        );
    }
}
