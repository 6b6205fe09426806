//! Twilio, through its Programmable Messaging REST API, version `2010-04-01`.
//!
//! Follows Twilio's documentation of the Message resource ("Create a Message resource":
//! `POST /2010-04-01/Accounts/{AccountSid}/Messages.json`, form-encoded `To`, `From` or
//! `MessagingServiceSid`, `Body`, `StatusCallback`; HTTP basic authentication with the Account
//! SID and the Auth Token; 201 with the Message resource, whose `sid` is `SM…`), see
//! <https://www.twilio.com/docs/messaging/api/message-resource>, and Twilio's error dictionary
//! (<https://www.twilio.com/docs/api/errors>): an error is JSON
//! `{"code": 21211, "message": "…", "more_info": "…", "status": 400}`.
//!
//! What Twilio's answers mean here (each code as the error dictionary describes it):
//!
//! | Twilio says | Outcome |
//! |---|---|
//! | 201 + Message resource | `Accepted`, with its `sid` |
//! | 429 (20429 Too Many Requests) | `Throttled`, for as long as `Retry-After` says |
//! | 408, 5xx, no connection, no answer within the client's timeout | `Unavailable` |
//! | 400 21611 (this sender's queue holds 10 hours of messages) | `Unavailable`: Twilio takes no more from this sender now; another gateway can |
//! | 4xx naming the number: 21211 invalid `To`, 21265 `To` is a short code, 21266 `To` is our own `From`, 21604 no `To`, 21610 the recipient replied STOP, 21612 not reachable from this sender (the dictionary: this `To`/`From` combination), 21614 `To` not a mobile number, 21635 `To` is a landline | `Rejected`, with Twilio's code and message |
//! | any other 4xx: 401 20003 (Account SID and Auth Token do not match, account suspended), 404 20404 (no such account or resource: a wrong Account SID or `base_url`), 422 20422 / 20423 (invalid parameter or SID), 400 21212 / 21603 / 21606 / 21659 (the `From`), 21701 / 21705 (the Messaging Service SID), 21408 (the account's Geo Permissions), 21608 (a trial account), 21602 / 21617 (the body), a 4xx without a Twilio code (a proxy, a wrong path) … | `Misconfigured`, with Twilio's answer: this gateway's account or request, so the message goes to the next gateway |
//!
//! The Auth Token never appears in `Debug` output, logs or reasons; the recipient's number is
//! masked in logs and in Twilio's messages (which quote it) before they become a reason.

mod config;
mod receipt;

pub use config::TwilioSettings;
pub use receipt::twilio_signature;

use super::{
    classify_status, exchange, scrub, with_delivery, GatewayOutcome, Sms, SmsGateway, StatusClass,
};
use crate::channels::mask;
use async_trait::async_trait;
use reqwest::StatusCode;
use std::fmt;
use std::time::Duration;

/// Twilio's production API.
pub const DEFAULT_BASE_URL: &str = "https://api.twilio.com";

/// Twilio error codes that name the recipient's number as the problem
/// (<https://www.twilio.com/docs/api/errors/CODE>). Every other refusal is this gateway's.
const NUMBER_CODES: [u64; 8] = [
    21211, // Invalid 'To' Phone Number
    21265, // 'To' number cannot be a Short Code
    21266, // 'To' and 'From' numbers cannot be the same
    21604, // A 'To' phone number is required
    21610, // Attempt to send to unsubscribed recipient (the recipient replied STOP)
    21612, // The 'To' number is not currently reachable via SMS / this To-From combination
    21614, // 'To' number is not a valid mobile number
    21635, // 'To' number cannot be a landline
];

/// 21611: this sender's queue is full (10 hours of messages); Twilio takes more later.
const QUEUE_FULL: u64 = 21611;

/// One Twilio account (or subaccount) as a gateway.
#[derive(Clone)]
pub struct TwilioConfig {
    /// As configured, for logs and status.
    pub name: String,
    /// `AC…`: the username of basic authentication, and part of the URL.
    pub account_sid: String,
    /// Secret: never in `Debug` output or logs.
    pub auth_token: String,
    /// The sender: a Twilio number in E.164, a short code or an alphanumeric sender ID.
    /// Either this or `messaging_service_sid`; `From` wins when both are given.
    pub from: Option<String>,
    /// `MG…`: Twilio picks the sender from the service's pool.
    pub messaging_service_sid: Option<String>,
    /// [`DEFAULT_BASE_URL`], or an emulator's.
    pub base_url: String,
    /// Base URL of the status callback; `?delivery=<id>` is appended for each message.
    pub status_callback: Option<String>,
}

impl fmt::Debug for TwilioConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TwilioConfig")
            .field("name", &self.name)
            .field("account_sid", &self.account_sid)
            .field("auth_token", &"<hidden>")
            .field("from", &self.from)
            .field("messaging_service_sid", &self.messaging_service_sid)
            .field("base_url", &self.base_url)
            .field("status_callback", &self.status_callback)
            .finish()
    }
}

#[derive(Debug)]
pub struct Twilio {
    config: TwilioConfig,
    client: reqwest::Client,
    endpoint: String,
}

impl Twilio {
    /// `client` should come from [`super::http_client`]: its timeout decides when an
    /// unanswered request makes this gateway unavailable.
    pub fn new(config: TwilioConfig, client: reqwest::Client) -> Twilio {
        let endpoint = format!(
            "{}/2010-04-01/Accounts/{}/Messages.json",
            config.base_url.trim_end_matches('/'),
            config.account_sid
        );
        Twilio {
            config,
            client,
            endpoint,
        }
    }

    fn form(&self, sms: &Sms<'_>) -> Vec<(&'static str, String)> {
        let mut form = vec![("To", sms.to.to_string())];
        match (&self.config.from, &self.config.messaging_service_sid) {
            (Some(from), _) => form.push(("From", from.clone())),
            (None, Some(service)) => form.push(("MessagingServiceSid", service.clone())),
            // Twilio answers 21603, which says what is missing better than we could.
            (None, None) => {}
        }
        form.push(("Body", sms.text.to_string()));
        if let Some(base) = &self.config.status_callback {
            form.push(("StatusCallback", with_delivery(base, sms.delivery_id)));
        }
        form
    }
}

#[async_trait]
impl SmsGateway for Twilio {
    fn name(&self) -> &str {
        &self.config.name
    }

    async fn submit(&self, sms: &Sms<'_>) -> GatewayOutcome {
        tracing::debug!(
            message = "submitting SMS to Twilio",
            gateway = %self.config.name,
            delivery_id = sms.delivery_id,
            to = %mask(sms.to),
            encoding = sms.encoding.as_str()
        );
        let request = self
            .client
            .post(&self.endpoint)
            .basic_auth(&self.config.account_sid, Some(&self.config.auth_token))
            .form(&self.form(sms));
        let outcome = exchange(request, |status, wait, body| {
            interpret(status, wait, body, sms.to)
        })
        .await;
        tracing::debug!(
            message = "Twilio answered",
            gateway = %self.config.name,
            delivery_id = sms.delivery_id,
            to = %mask(sms.to),
            ?outcome
        );
        outcome
    }
}

/// Twilio's error body.
#[derive(Debug, serde::Deserialize)]
struct TwilioError {
    code: Option<u64>,
    message: Option<String>,
}

#[derive(Debug, serde::Deserialize)]
struct Created {
    sid: Option<String>,
}

/// What one HTTP answer from Twilio means; `to` is masked wherever Twilio quotes it.
fn interpret(status: StatusCode, wait: Option<Duration>, body: &[u8], to: &str) -> GatewayOutcome {
    let class = classify_status(status);
    if class == StatusClass::Success {
        return match serde_json::from_slice::<Created>(body) {
            Ok(Created { sid: Some(sid) }) if !sid.is_empty() => {
                GatewayOutcome::Accepted { message_id: sid }
            }
            _ => GatewayOutcome::Unavailable {
                reason: format!("HTTP {} without a message sid", status.as_u16()),
            },
        };
    }
    let error = serde_json::from_slice::<TwilioError>(body).ok();
    let code = error.as_ref().and_then(|error| error.code);
    let message = error
        .and_then(|error| error.message)
        .map(|message| scrub(&message, to))
        .unwrap_or_else(|| {
            status
                .canonical_reason()
                .unwrap_or("no explanation")
                .to_string()
        });
    let described = match code {
        Some(code) => format!("HTTP {}, Twilio error {code}: {message}", status.as_u16()),
        None => format!("HTTP {}: {message}", status.as_u16()),
    };
    match class {
        StatusClass::Success => unreachable!("handled above"),
        StatusClass::Throttled => GatewayOutcome::Throttled {
            retry_after: wait,
            reason: described,
        },
        StatusClass::Unavailable => GatewayOutcome::Unavailable { reason: described },
        StatusClass::Refused => match code {
            Some(code) if NUMBER_CODES.contains(&code) => GatewayOutcome::Rejected {
                code: Some(code.to_string()),
                reason: message,
            },
            Some(QUEUE_FULL) => GatewayOutcome::Unavailable { reason: described },
            _ => GatewayOutcome::Misconfigured { reason: described },
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const TO: &str = "+32471123456";

    fn error(status: u16, code: u64, message: &str) -> GatewayOutcome {
        let body = serde_json::json!({
            "code": code,
            "message": message,
            "more_info": format!("https://www.twilio.com/docs/errors/{code}"),
            "status": status,
        });
        interpret(
            StatusCode::from_u16(status).unwrap(),
            None,
            body.to_string().as_bytes(),
            TO,
        )
    }

    #[test]
    fn a_created_message_is_accepted_with_its_sid() {
        let body = br#"{"sid": "SM0123456789abcdef0123456789abcdef", "status": "queued"}"#;
        assert_eq!(
            interpret(StatusCode::CREATED, None, body, TO),
            GatewayOutcome::Accepted {
                message_id: "SM0123456789abcdef0123456789abcdef".into()
            }
        );
        assert!(matches!(
            interpret(StatusCode::CREATED, None, b"<html>", TO),
            GatewayOutcome::Unavailable { .. }
        ));
    }

    #[test]
    fn number_level_errors_are_rejections_with_the_code() {
        for code in NUMBER_CODES {
            let outcome = error(400, code, "The 'To' number +32471123456 is not valid.");
            let GatewayOutcome::Rejected {
                code: Some(got),
                reason,
            } = outcome
            else {
                panic!("{code}: {outcome:?}");
            };
            assert_eq!(got, code.to_string());
            assert!(reason.contains("+324***56"), "{reason}");
            assert!(!reason.contains(TO), "{reason}");
        }
    }

    #[test]
    fn every_other_refusal_is_this_gateways_configuration_with_twilios_answer() {
        for (status, code) in [
            (401, 20003),
            (403, 20005),
            (404, 20404),
            (422, 20422),
            (422, 20423),
            (400, 21212),
            (400, 21603),
            (400, 21606),
            (400, 21659),
            (400, 21408),
            (400, 21608),
            (400, 21701),
            (400, 21705),
            (400, 21602),
            (400, 21617),
        ] {
            let outcome = error(status, code, "Authenticate");
            assert_eq!(
                outcome,
                GatewayOutcome::Misconfigured {
                    reason: format!("HTTP {status}, Twilio error {code}: Authenticate")
                },
            );
        }
        // A 4xx that is not Twilio's (a wrong base_url behind a proxy) is no fact about a number.
        assert_eq!(
            interpret(StatusCode::NOT_FOUND, None, b"<html>Not Found</html>", TO),
            GatewayOutcome::Misconfigured {
                reason: "HTTP 404: Not Found".into()
            }
        );
    }

    #[test]
    fn a_full_queue_at_this_sender_makes_the_gateway_unavailable() {
        assert!(matches!(
            error(
                400,
                21611,
                "This 'From' number has exceeded the maximum number of queued messages"
            ),
            GatewayOutcome::Unavailable { .. }
        ));
    }

    #[test]
    fn throttling_and_trouble_are_told_apart() {
        let body = br#"{"code": 20429, "message": "Too Many Requests", "status": 429}"#;
        assert_eq!(
            interpret(
                StatusCode::TOO_MANY_REQUESTS,
                Some(Duration::from_secs(3)),
                body,
                TO
            ),
            GatewayOutcome::Throttled {
                retry_after: Some(Duration::from_secs(3)),
                reason: "HTTP 429, Twilio error 20429: Too Many Requests".into()
            }
        );
        assert_eq!(
            interpret(
                StatusCode::BAD_GATEWAY,
                None,
                b"<html>bad gateway</html>",
                TO
            ),
            GatewayOutcome::Unavailable {
                reason: "HTTP 502: Bad Gateway".into()
            }
        );
    }

    #[test]
    fn the_status_callback_names_the_delivery() {
        assert_eq!(
            with_delivery("https://tocsin.example.be/receipts/twilio", 7),
            "https://tocsin.example.be/receipts/twilio?delivery=7"
        );
        assert_eq!(
            with_delivery("https://tocsin.example.be/receipts?gateway=twilio", 7),
            "https://tocsin.example.be/receipts?gateway=twilio&delivery=7"
        );
    }

    #[test]
    fn the_auth_token_is_never_in_debug_output() {
        let config = TwilioConfig {
            name: "twilio".into(),
            account_sid: "AC0123".into(),
            auth_token: "s3cr3t-token".into(),
            from: Some("+32460000000".into()),
            messaging_service_sid: None,
            base_url: DEFAULT_BASE_URL.into(),
            status_callback: None,
        };
        let client = crate::channels::sms::http_client(Duration::from_secs(1)).unwrap();
        let gateway = Twilio::new(config.clone(), client);
        for shown in [format!("{config:?}"), format!("{gateway:?}")] {
            assert!(!shown.contains("s3cr3t"), "{shown}");
            assert!(shown.contains("<hidden>"), "{shown}");
        }
    }
}
