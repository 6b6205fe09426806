//! Vonage (formerly Nexmo), through its SMS API — not the newer Messages API.
//!
//! Follows Vonage's SMS API reference, "Send an SMS" (<https://developer.vonage.com/en/api/sms>):
//! `POST https://rest.nexmo.com/sms/json`, form-encoded `api_key`, `api_secret`, `from`, `to`
//! (E.164 without the leading `+`, as in Vonage's examples: `447700900000`), `text`,
//! `type=unicode` for UCS-2 text (else `text`), `callback` (the delivery receipt webhook) and
//! `client-ref` (here, the delivery id). Vonage answers HTTP 200 whatever became of the
//! message, with one object per SMS part:
//! `{"message-count": "1", "messages": [{"to": "…", "message-id": "…", "status": "0",
//! "remaining-balance": "…", "message-price": "…", "network": "…"}]}`, and a non-zero `status`
//! with an `error-text` when a part was not taken.
//!
//! The status codes are those of "Troubleshooting SMS — SMS API error codes"
//! (<https://developer.vonage.com/en/messaging/sms/guides/troubleshooting-sms>) and "API
//! Errors — SMS API" (<https://developer.vonage.com/en/api-errors/sms>):
//!
//! | status | Vonage's meaning | Outcome |
//! |---|---|---|
//! | 0 | Success | `Accepted`, with the `message-id` of the first part |
//! | 1 | Throttled | `Throttled` |
//! | 10 | Too Many Existing Binds ("back off and retry") | `Throttled` |
//! | 6 | Invalid Message ("for example, an unrecognized number prefix") | `Rejected` |
//! | 7 | Number Barred ("the number you are trying to send messages to is blacklisted") | `Rejected` |
//! | 33 | Number De-activated | `Rejected` |
//! | 34 | Invalid or Missing Msisdn Param (older Nexmo documentation) | `Rejected` |
//! | 3 | Invalid Parameters, when `error-text` names `to` (`Invalid to param`) | `Rejected` |
//! | 3 | Invalid Parameters, any other parameter | `Misconfigured`: what this gateway sent |
//! | 2 | Missing Parameters (`from`, `to`, `api_key`, `api_secret` or `text`) | `Misconfigured` |
//! | 4 | Invalid Credentials | `Misconfigured` |
//! | 8 | Partner Account Barred (the account is suspended) | `Misconfigured` |
//! | 9 | Partner Quota Violation (no credit: "top up and retry") | `Misconfigured` |
//! | 11 | Account Not Enabled For HTTP | `Misconfigured` |
//! | 12 | Message Too Long | `Misconfigured`: our text, not the number |
//! | 14 | Invalid Signature | `Misconfigured` |
//! | 15 | Invalid Sender Address | `Misconfigured` |
//! | 19 | Facility Not Allowed | `Misconfigured` |
//! | 22 | Invalid Network Code | `Misconfigured` |
//! | 23 | Invalid Callback Url | `Misconfigured` |
//! | 29 | Non-Whitelisted Destination (a trial account) | `Misconfigured`: the account's restriction, not the number's |
//! | 32 | Signature And API Secret Disallowed | `Misconfigured` |
//! | 5 | Internal Error | `Unavailable`: Vonage's trouble |
//! | 13 | Communication Failed (older Nexmo documentation) | `Unavailable` |
//! | anything else | | `Unavailable` |
//!
//! An empty `api_key`, `api_secret` or `from` is this gateway's configuration: the gateway
//! does not ask Vonage and answers `Misconfigured` itself.
//!
//! HTTP itself: 429 is `Throttled` (with `Retry-After`); 408, 5xx, no connection or no answer
//! in time are `Unavailable`; any other non-2xx is `Misconfigured`, since Vonage reports
//! everything about a message in a 200 and a 4xx can only be about this gateway's endpoint
//! (`base_url`) or credentials.
//!
//! The API secret never appears in `Debug` output, logs or reasons (it travels in the form
//! body, never in the URL); the recipient's number is masked in logs and reasons.

mod config;
mod receipt;

pub use config::VonageSettings;
pub use receipt::{vonage_signature, SignatureMethod};

use super::gsm::Encoding;
use super::{
    classify_status, exchange, scrub, with_delivery, GatewayOutcome, Sms, SmsGateway, StatusClass,
};
use crate::channels::mask;
use async_trait::async_trait;
use reqwest::StatusCode;
use std::fmt;
use std::time::Duration;

/// Vonage's production SMS API.
pub const DEFAULT_BASE_URL: &str = "https://rest.nexmo.com";

/// One Vonage account as a gateway.
#[derive(Clone)]
pub struct VonageConfig {
    /// As configured, for logs and status.
    pub name: String,
    pub api_key: String,
    /// Secret: never in `Debug` output or logs.
    pub api_secret: String,
    /// The sender: a Vonage number (digits, no `+`) or an alphanumeric sender ID.
    pub from: String,
    /// [`DEFAULT_BASE_URL`], or an emulator's.
    pub base_url: String,
    /// Base URL of the delivery receipt webhook; `?delivery=<id>` is appended for each
    /// message (the receipt also carries `client-ref`, the delivery id).
    pub callback: Option<String>,
}

impl fmt::Debug for VonageConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("VonageConfig")
            .field("name", &self.name)
            .field("api_key", &self.api_key)
            .field("api_secret", &"<hidden>")
            .field("from", &self.from)
            .field("base_url", &self.base_url)
            .field("callback", &self.callback)
            .finish()
    }
}

#[derive(Debug)]
pub struct Vonage {
    config: VonageConfig,
    client: reqwest::Client,
    endpoint: String,
}

impl Vonage {
    /// `client` should come from [`super::http_client`]: its timeout decides when an
    /// unanswered request makes this gateway unavailable.
    pub fn new(config: VonageConfig, client: reqwest::Client) -> Vonage {
        let endpoint = format!("{}/sms/json", config.base_url.trim_end_matches('/'));
        Vonage {
            config,
            client,
            endpoint,
        }
    }

    fn form(&self, sms: &Sms<'_>) -> Vec<(&'static str, String)> {
        let kind = match sms.encoding {
            Encoding::Gsm7 => "text",
            Encoding::Ucs2 => "unicode",
        };
        let mut form = vec![
            ("api_key", self.config.api_key.clone()),
            ("api_secret", self.config.api_secret.clone()),
            ("from", self.config.from.clone()),
            ("to", sms.to.trim_start_matches('+').to_string()),
            ("text", sms.text.to_string()),
            ("type", kind.to_string()),
            ("client-ref", sms.delivery_id.to_string()),
        ];
        if let Some(base) = &self.config.callback {
            form.push(("callback", with_delivery(base, sms.delivery_id)));
        }
        form
    }
}

#[async_trait]
impl SmsGateway for Vonage {
    fn name(&self) -> &str {
        &self.config.name
    }

    async fn submit(&self, sms: &Sms<'_>) -> GatewayOutcome {
        tracing::debug!(
            message = "submitting SMS to Vonage",
            gateway = %self.config.name,
            delivery_id = sms.delivery_id,
            to = %mask(sms.to),
            encoding = sms.encoding.as_str()
        );
        let config = &self.config;
        for (field, value) in [
            ("api_key", &config.api_key),
            ("api_secret", &config.api_secret),
            ("from", &config.from),
        ] {
            if value.trim().is_empty() {
                return GatewayOutcome::Misconfigured {
                    reason: format!("not configured: no {field}"),
                };
            }
        }
        let request = self.client.post(&self.endpoint).form(&self.form(sms));
        let outcome = exchange(request, |status, wait, body| {
            interpret(status, wait, body, sms.to)
        })
        .await;
        tracing::debug!(
            message = "Vonage answered",
            gateway = %self.config.name,
            delivery_id = sms.delivery_id,
            to = %mask(sms.to),
            ?outcome
        );
        outcome
    }
}

/// What a non-zero `status` means for the message.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Meaning {
    Throttled,
    Rejected,
    Misconfigured,
    Unavailable,
}

/// `error_text` decides status 3 only: Vonage names the invalid parameter there.
fn meaning(status: u32, error_text: &str) -> Meaning {
    match status {
        1 | 10 => Meaning::Throttled,
        6 | 7 | 33 | 34 => Meaning::Rejected,
        3 if names_the_number(error_text) => Meaning::Rejected,
        2 | 3 | 4 | 8 | 9 | 11 | 12 | 14 | 15 | 19 | 22 | 23 | 29 | 32 => Meaning::Misconfigured,
        // 5, 13: Vonage's trouble; and whatever Vonage may add, which is no fact about the
        // number.
        _ => Meaning::Unavailable,
    }
}

/// Whether Vonage's `error-text` is about the `to` parameter (`Invalid to param`).
fn names_the_number(error_text: &str) -> bool {
    let text = error_text.to_ascii_lowercase();
    text.contains("to param") || text.contains("msisdn")
}

/// The `status` of one part: a string in Vonage's JSON, tolerated as a number.
fn part_status(part: &serde_json::Value) -> Option<u32> {
    match part.get("status")? {
        serde_json::Value::String(status) => status.trim().parse().ok(),
        serde_json::Value::Number(status) => status.as_u64()?.try_into().ok(),
        _ => None,
    }
}

fn text_field<'a>(part: &'a serde_json::Value, name: &str) -> Option<&'a str> {
    part.get(name)?.as_str().filter(|value| !value.is_empty())
}

/// What one HTTP answer from Vonage means; `to` is masked wherever Vonage quotes it.
fn interpret(status: StatusCode, wait: Option<Duration>, body: &[u8], to: &str) -> GatewayOutcome {
    let class = classify_status(status);
    match class {
        StatusClass::Success => {}
        StatusClass::Throttled => {
            return GatewayOutcome::Throttled {
                retry_after: wait,
                reason: format!("HTTP {}", status.as_u16()),
            }
        }
        StatusClass::Unavailable | StatusClass::Refused => {
            let reason = format!(
                "HTTP {} {}",
                status.as_u16(),
                status.canonical_reason().unwrap_or_default()
            )
            .trim_end()
            .to_string();
            return if class == StatusClass::Refused {
                GatewayOutcome::Misconfigured { reason }
            } else {
                GatewayOutcome::Unavailable { reason }
            };
        }
    }
    let answer: serde_json::Value = match serde_json::from_slice(body) {
        Ok(answer) => answer,
        Err(_) => {
            return GatewayOutcome::Unavailable {
                reason: format!("HTTP {}, but the answer is not JSON", status.as_u16()),
            }
        }
    };
    let parts = answer
        .get("messages")
        .and_then(|parts| parts.as_array())
        .map(Vec::as_slice)
        .unwrap_or_default();
    if parts.is_empty() {
        return GatewayOutcome::Unavailable {
            reason: "an answer without messages".into(),
        };
    }
    let failed = parts
        .iter()
        .enumerate()
        .find(|(_, part)| part_status(part) != Some(0));
    let Some((index, part)) = failed else {
        return match text_field(&parts[0], "message-id") {
            Some(id) => GatewayOutcome::Accepted {
                message_id: id.to_string(),
            },
            None => GatewayOutcome::Unavailable {
                reason: "status 0 without a message-id".into(),
            },
        };
    };
    let Some(code) = part_status(part) else {
        return GatewayOutcome::Unavailable {
            reason: "a message part without a status".into(),
        };
    };
    let error_text = text_field(part, "error-text").unwrap_or("no error-text");
    let meaning = meaning(code, error_text);
    let mut reason = scrub(error_text, to);
    if index > 0 {
        reason = format!(
            "{reason} (part {} of {}; the parts before it were taken)",
            index + 1,
            parts.len()
        );
    }
    match meaning {
        Meaning::Throttled => GatewayOutcome::Throttled {
            retry_after: wait,
            reason: format!("Vonage status {code}: {reason}"),
        },
        Meaning::Rejected => GatewayOutcome::Rejected {
            code: Some(code.to_string()),
            reason,
        },
        Meaning::Misconfigured => GatewayOutcome::Misconfigured {
            reason: format!("Vonage status {code}: {reason}"),
        },
        Meaning::Unavailable => GatewayOutcome::Unavailable {
            reason: format!("Vonage status {code}: {reason}"),
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const TO: &str = "+32471123456";

    fn answer(parts: serde_json::Value) -> GatewayOutcome {
        let count = parts.as_array().map_or(0, Vec::len);
        let body = serde_json::json!({"message-count": count.to_string(), "messages": parts});
        interpret(StatusCode::OK, None, body.to_string().as_bytes(), TO)
    }

    fn failed(status: &str, text: &str) -> GatewayOutcome {
        answer(serde_json::json!([{"status": status, "error-text": text}]))
    }

    #[test]
    fn status_zero_is_accepted_with_the_first_parts_message_id() {
        let outcome = answer(serde_json::json!([
            {"to": "32471123456", "message-id": "0C000000217B7F02", "status": "0",
             "remaining-balance": "15.53590000", "message-price": "0.03330000", "network": "20601"},
            {"to": "32471123456", "message-id": "0C000000217B7F03", "status": "0",
             "remaining-balance": "15.50260000", "message-price": "0.03330000", "network": "20601"},
        ]));
        assert_eq!(
            outcome,
            GatewayOutcome::Accepted {
                message_id: "0C000000217B7F02".into()
            }
        );
    }

    #[test]
    fn every_documented_status_has_its_meaning() {
        for status in [1, 10] {
            assert_eq!(meaning(status, ""), Meaning::Throttled, "{status}");
        }
        for status in [6, 7, 33, 34] {
            assert_eq!(meaning(status, ""), Meaning::Rejected, "{status}");
        }
        assert_eq!(meaning(3, "Invalid to param"), Meaning::Rejected);
        assert_eq!(meaning(3, "Invalid from param"), Meaning::Misconfigured);
        assert_eq!(meaning(3, "Invalid type param"), Meaning::Misconfigured);
        for status in [2, 4, 8, 9, 11, 12, 14, 15, 19, 22, 23, 29, 32] {
            assert_eq!(meaning(status, ""), Meaning::Misconfigured, "{status}");
        }
        for status in [5, 13, 99] {
            assert_eq!(meaning(status, ""), Meaning::Unavailable, "{status}");
        }
    }

    #[test]
    fn a_barred_number_is_rejected_with_its_code_and_the_number_masked() {
        assert_eq!(
            failed("7", "Number 32471123456 barred"),
            GatewayOutcome::Rejected {
                code: Some("7".into()),
                reason: "Number 3247***56 barred".into()
            }
        );
    }

    #[test]
    fn bad_credentials_and_no_credit_are_this_gateways_configuration() {
        assert_eq!(
            failed("4", "Bad Credentials"),
            GatewayOutcome::Misconfigured {
                reason: "Vonage status 4: Bad Credentials".into()
            }
        );
        assert!(matches!(
            failed("9", "Quota Exceeded - rejected"),
            GatewayOutcome::Misconfigured { .. }
        ));
        assert!(matches!(
            failed("15", "Illegal Sender Address - rejected"),
            GatewayOutcome::Misconfigured { .. }
        ));
        assert_eq!(
            interpret(StatusCode::NOT_FOUND, None, b"", TO),
            GatewayOutcome::Misconfigured {
                reason: "HTTP 404 Not Found".into()
            }
        );
    }

    #[test]
    fn http_trouble_is_read_before_the_body() {
        assert_eq!(
            interpret(
                StatusCode::TOO_MANY_REQUESTS,
                Some(Duration::from_secs(2)),
                b"",
                TO
            ),
            GatewayOutcome::Throttled {
                retry_after: Some(Duration::from_secs(2)),
                reason: "HTTP 429".into()
            }
        );
        assert_eq!(
            interpret(StatusCode::SERVICE_UNAVAILABLE, None, b"", TO),
            GatewayOutcome::Unavailable {
                reason: "HTTP 503 Service Unavailable".into()
            }
        );
        assert!(matches!(
            interpret(StatusCode::OK, None, b"<html>", TO),
            GatewayOutcome::Unavailable { .. }
        ));
    }

    #[test]
    fn a_failed_later_part_is_reported_with_its_position() {
        let outcome = answer(serde_json::json!([
            {"to": "32471123456", "message-id": "0C000000217B7F02", "status": "0"},
            {"status": "1", "error-text": "Throughput Rate Exceeded - please wait [ 100 ] and retry"},
        ]));
        assert!(
            matches!(&outcome, GatewayOutcome::Throttled { reason, .. } if reason.contains("part 2 of 2")),
            "{outcome:?}"
        );
    }

    #[test]
    fn the_number_goes_without_its_plus_and_ucs2_as_unicode() {
        let config = VonageConfig {
            name: "vonage".into(),
            api_key: "abcd1234".into(),
            api_secret: "s3cr3t-secret".into(),
            from: "ZNA".into(),
            base_url: DEFAULT_BASE_URL.into(),
            callback: Some("https://tocsin.example.be/receipts/vonage".into()),
        };
        let client = crate::channels::sms::http_client(Duration::from_secs(1)).unwrap();
        let gateway = Vonage::new(config.clone(), client);
        let sms = Sms {
            delivery_id: 7,
            to: TO,
            text: "patiënt geïnformeerd – œ",
            encoding: Encoding::Ucs2,
        };
        let form = gateway.form(&sms);
        let get = |name: &str| {
            form.iter()
                .find(|(key, _)| *key == name)
                .map(|(_, value)| value.as_str())
        };
        assert_eq!(get("to"), Some("32471123456"));
        assert_eq!(get("type"), Some("unicode"));
        assert_eq!(get("client-ref"), Some("7"));
        assert_eq!(
            get("callback"),
            Some("https://tocsin.example.be/receipts/vonage?delivery=7")
        );
        for shown in [format!("{config:?}"), format!("{gateway:?}")] {
            assert!(!shown.contains("s3cr3t"), "{shown}");
        }
    }
}
