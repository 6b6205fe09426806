//! SMS through one or more gateways, in the order the configuration gives them. Each gateway
//! is one file behind [`SmsGateway`]; this module only decides which gateway gets a message
//! and what its answer means for the delivery.

pub mod kannel;
pub mod twilio;
pub mod vonage;

use super::{Channel, Handover, Message, Outcome};
use crate::render::sms::{self, Encoding};
use async_trait::async_trait;
use std::time::Duration;

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
    /// The message can never be delivered as it is: invalid or unreachable number, number
    /// opted out at the operator. Retrying, here or elsewhere, cannot help.
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

/// Sends each SMS through the first gateway that takes it: a gateway that is unavailable
/// hands the message to the next one; throttling and rejections stop there.
pub struct SmsChannel {
    gateways: Vec<Box<dyn SmsGateway>>,
}

impl SmsChannel {
    pub fn new(gateways: Vec<Box<dyn SmsGateway>>) -> SmsChannel {
        SmsChannel { gateways }
    }
}

#[async_trait]
impl Channel for SmsChannel {
    async fn send(&self, message: &Message, _handover: &mut dyn Handover) -> Outcome {
        let sms = Sms {
            delivery_id: message.delivery_id,
            to: &message.address,
            text: &message.body,
            encoding: sms::analyse(&message.body).encoding,
        };
        let mut failures = Vec::new();
        for gateway in &self.gateways {
            match gateway.submit(&sms).await {
                GatewayOutcome::Accepted { message_id } => {
                    return Outcome::Accepted {
                        gateway_id: format!("{}:{message_id}", gateway.name()),
                        detail: Some(format!("accepted by {}", gateway.name())),
                    }
                }
                GatewayOutcome::Throttled {
                    retry_after,
                    reason,
                } => {
                    return Outcome::RetryLater {
                        after: retry_after,
                        reason: format!("{}: {reason}", gateway.name()),
                    }
                }
                GatewayOutcome::Rejected { code, reason } => {
                    let code = code
                        .map(|code| format!(" (code {code})"))
                        .unwrap_or_default();
                    return Outcome::Permanent {
                        reason: format!("{}: {reason}{code}", gateway.name()),
                    };
                }
                GatewayOutcome::Unavailable { reason } => {
                    tracing::warn!(message = "SMS gateway unavailable, trying the next", gateway = gateway.name(), %reason);
                    failures.push(format!("{}: {reason}", gateway.name()));
                }
            }
        }
        Outcome::RetryLater {
            after: None,
            reason: if failures.is_empty() {
                "no SMS gateway is configured".into()
            } else {
                failures.join("; ")
            },
        }
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
    use crate::domain::{ChannelKind, Language};
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
            subject: None,
            body: "ZNA: uw afspraak gaat niet door.".into(),
            body_html: None,
            attempt: 1,
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
        assert!(matches!(outcome, Outcome::Permanent { reason } if reason.contains("21211")));
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
