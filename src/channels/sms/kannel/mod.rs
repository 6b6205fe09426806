//! Kannel (<https://www.kannel.org>), through smsbox's HTTP `sendsms` interface.
//!
//! One submission is one `GET {base_url}/cgi-bin/sendsms` with the message as CGI
//! variables: `username`, `password`, `to`, `from`, `text` (UTF-8, `charset=UTF-8`) and
//! `coding` (0 = GSM 7-bit, 2 = UCS-2, from [`Encoding::dcs`](super::gsm::Encoding::dcs)),
//! so Kannel neither guesses the alphabet nor mangles `ë`, `ç` or `œ`.
//!
//! * `to` is sent in E.164 with its leading `+`, as Tocsin stores it. smsbox passes it on
//!   unchanged; Kannel's SMPP module turns a leading `+` into TON international (1) with the
//!   `+` stripped, other SMSC modules (and `fakesmsc`, which the tests use) get the number as
//!   is. A Kannel that wants `00` instead can rewrite it with `unified-prefix`.
//! * Kannel answers `202` with `0: Accepted for delivery` or `3: Queued for later delivery`,
//!   and no message id at all. The delivery id is therefore the message id: the DLR URL
//!   (below) carries it, which is how a receipt finds its delivery again.
//! * With [`KannelConfig::dlr_url`] set, each message asks for every delivery report
//!   (`dlr-mask=31`: delivered, undeliverable, buffered, SMSC accepted, SMSC rejected) at
//!   `<dlr_url>?delivery=<delivery id>&type=%d&smsc=%i&ts=%T&status=%A`; Kannel fills in
//!   the report type (`%d`: 1, 2, 4, 8 or 16), the SMSC id, the Unix time and the SMSC's
//!   own text (`ACK/`, `NACK/…`), URL-escaped. With [`KannelConfig::receipt_secret`] set,
//!   the URL also carries `token=<hex HMAC-SHA256(secret, delivery id)>` after the delivery
//!   id ([`dlr_token`]): `tocsin serve` takes a DLR only with the right token, so nobody who
//!   merely guesses delivery ids can mark them delivered.
//! * Long texts: Kannel splits them only up to the `sendsms-user`'s `max-messages` (set it
//!   to 10 or more, with `concatenation = true`).
//!
//! Answers, as smsbox gives them (Kannel 1.4.5, `gw/smsbox.c`: `sendsms_thread`,
//! `smsbox_req_sendsms`, `smsbox_req_handle`; the body is the whole answer, `text/html`):
//!
//! | smsbox answers | Outcome |
//! |---|---|
//! | 202 `0: Accepted for delivery`, `3: Queued for later delivery` (`Sent.` in older versions) | `Accepted` |
//! | 400 `Missing receiver number, rejected`, `Empty receiver number not allowed, rejected`, `Number(s) has/have been denied by white- and/or black-lists.` (also a `to` with characters outside `sendsms-chars`), `Garbage 'to' field, rejected.` (older versions) | `Rejected`: the only answers about the receiver, with the HTTP status as the code |
//! | 404 `Unknown request.` (the path is not smsbox's `sendsms-url`: a wrong `base_url`) | `Misconfigured` |
//! | 403 `Authorization failed for sendsms` (username, password, or the `sendsms-user`'s `allow-ip`) | `Misconfigured` |
//! | 400 `Sender missing and no global set, rejected` (no `from`, and no `default-sender` nor `global-sender`) | `Misconfigured` |
//! | any other 4xx (`DLR-URL field misformed, rejected`, `Coding field misformed, rejected`, `Charset or body misformed, rejected`, 415 …) | `Misconfigured`: what we asked for, not the number |
//! | 429 | `Throttled` (a proxy in front of Kannel; smsbox itself never says it) |
//! | 408, 5xx (`Sending failed.`: bearerbox did not take it), a refused connection, a timeout | `Unavailable` |
//!
//! The password is a secret: it is not in `Debug`, and errors are reported without their
//! URL (which holds it).

mod config;
mod receipt;

pub use config::KannelSettings;

use super::{classify_status, retry_after, GatewayOutcome, Sms, SmsGateway, StatusClass};
use crate::channels::mask;
use async_trait::async_trait;
use hmac::{Hmac, Mac};
use sha2::Sha256;
use std::fmt;

/// Every report type Kannel knows: 1 delivered, 2 undeliverable, 4 buffered at the SMSC,
/// 8 accepted by the SMSC, 16 rejected by the SMSC.
pub const DLR_MASK_ALL: u8 = 31;

/// How much of Kannel's answer goes into a reason.
const REASON_MAX_CHARS: usize = 200;

/// The beginnings of smsbox's answers that are about the receiver (`gw/smsbox.c`); every
/// other refusal is about what this gateway asked for.
const RECEIVER_ANSWERS: [&str; 5] = [
    "Missing receiver number",
    "Missing receiver(s) number(s)",
    "Empty receiver number not allowed",
    "Number(s) has/have been denied by white- and/or black-lists",
    "Garbage 'to' field",
];

#[derive(Clone)]
pub struct KannelConfig {
    /// As configured, for logs and status.
    pub name: String,
    /// Where smsbox's `sendsms-port` listens, e.g. `http://127.0.0.1:13013`;
    /// `/cgi-bin/sendsms` is appended.
    pub base_url: String,
    /// A `sendsms-user` group's `username`.
    pub username: String,
    /// Its `password`: a secret, never in `Debug` or logs.
    pub password: String,
    /// Sender (number or alphanumeric); empty leaves it to Kannel's `default-sender` or
    /// `global-sender`.
    pub from: String,
    /// Base of Tocsin's delivery-receipt endpoint; `None` asks for no receipts.
    pub dlr_url: Option<String>,
    /// `[serve] receipt_secret`: signs the delivery id in the DLR URL. A secret, never in
    /// `Debug` or logs.
    pub receipt_secret: Option<String>,
}

impl fmt::Debug for KannelConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("KannelConfig")
            .field("name", &self.name)
            .field("base_url", &self.base_url)
            .field("username", &self.username)
            .field("password", &"<redacted>")
            .field("from", &self.from)
            .field("dlr_url", &self.dlr_url)
            .field(
                "receipt_secret",
                &self.receipt_secret.as_ref().map(|_| "<redacted>"),
            )
            .finish()
    }
}

/// A Kannel smsbox as an [`SmsGateway`].
#[derive(Debug)]
pub struct Kannel {
    config: KannelConfig,
    /// `{base_url}/cgi-bin/sendsms`, or why the base URL is unusable (reported on every
    /// submission as this gateway being unavailable).
    sendsms: Result<url::Url, String>,
    client: reqwest::Client,
}

impl Kannel {
    /// `client` should come from [`super::http_client`] (explicit timeouts).
    pub fn new(config: KannelConfig, client: reqwest::Client) -> Kannel {
        let sendsms = sendsms_url(&config.base_url);
        Kannel {
            config,
            sendsms,
            client,
        }
    }

    /// The CGI variables of one submission (password included: never log them).
    fn query(&self, sms: &Sms<'_>) -> Vec<(&'static str, String)> {
        let mut query = vec![
            ("username", self.config.username.clone()),
            ("password", self.config.password.clone()),
            ("to", sms.to.to_owned()),
        ];
        if !self.config.from.is_empty() {
            query.push(("from", self.config.from.clone()));
        }
        query.extend([
            ("text", sms.text.to_owned()),
            ("charset", "UTF-8".to_owned()),
            ("coding", sms.encoding.dcs().to_string()),
        ]);
        if let Some(base) = &self.config.dlr_url {
            query.push(("dlr-mask", DLR_MASK_ALL.to_string()));
            let url = match &self.config.receipt_secret {
                Some(secret) => signed_dlr_url(base, sms.delivery_id, secret),
                None => dlr_url(base, sms.delivery_id),
            };
            query.push(("dlr-url", url));
        }
        query
    }
}

fn sendsms_url(base_url: &str) -> Result<url::Url, String> {
    let url = format!("{}/cgi-bin/sendsms", base_url.trim_end_matches('/'));
    match url::Url::parse(&url) {
        Ok(url) if matches!(url.scheme(), "http" | "https") => Ok(url),
        Ok(url) => Err(format!(
            "base_url {base_url:?} is not http(s) (scheme {:?})",
            url.scheme()
        )),
        Err(err) => Err(format!("base_url {base_url:?} is not a URL: {err}")),
    }
}

/// The DLR URL Kannel calls back, its escape codes left for Kannel to fill in; the whole
/// of it is URL-encoded again as the `dlr-url` CGI variable.
pub fn dlr_url(base: &str, delivery_id: i64) -> String {
    let separator = if base.contains('?') { '&' } else { '?' };
    format!("{base}{separator}delivery={delivery_id}&type=%d&smsc=%i&ts=%T&status=%A")
}

/// [`dlr_url`] with the delivery id's [`dlr_token`].
pub fn signed_dlr_url(base: &str, delivery_id: i64, secret: &str) -> String {
    let separator = if base.contains('?') { '&' } else { '?' };
    let token = dlr_token(secret, delivery_id);
    format!("{base}{separator}delivery={delivery_id}&token={token}&type=%d&smsc=%i&ts=%T&status=%A")
}

fn dlr_mac(secret: &str, delivery_id: i64) -> Hmac<Sha256> {
    let mut mac =
        Hmac::<Sha256>::new_from_slice(secret.as_bytes()).expect("HMAC takes keys of any size");
    mac.update(delivery_id.to_string().as_bytes());
    mac
}

/// Hex HMAC-SHA256 of the delivery id (in decimal) under the receipt secret.
pub fn dlr_token(secret: &str, delivery_id: i64) -> String {
    hex::encode(dlr_mac(secret, delivery_id).finalize().into_bytes())
}

/// Whether `token` is the delivery id's token (compared in constant time).
pub fn dlr_token_is_valid(secret: &str, delivery_id: i64, token: &str) -> bool {
    hex::decode(token).is_ok_and(|token| dlr_mac(secret, delivery_id).verify_slice(&token).is_ok())
}

fn shorten(body: &str) -> String {
    let body = body.trim();
    let mut short: String = body.chars().take(REASON_MAX_CHARS).collect();
    if short.len() < body.len() {
        short.push('…');
    }
    short
}

#[async_trait]
impl SmsGateway for Kannel {
    fn name(&self) -> &str {
        &self.config.name
    }

    async fn submit(&self, sms: &Sms<'_>) -> GatewayOutcome {
        let url = match &self.sendsms {
            Ok(url) => url.clone(),
            Err(problem) => {
                return GatewayOutcome::Misconfigured {
                    reason: problem.clone(),
                }
            }
        };
        let response = match self.client.get(url).query(&self.query(sms)).send().await {
            Ok(response) => response,
            // Without the URL: it holds the password.
            Err(err) => {
                let err = err.without_url();
                let what = if err.is_timeout() {
                    "timed out"
                } else if err.is_connect() {
                    "cannot connect"
                } else {
                    "request failed"
                };
                return GatewayOutcome::Unavailable {
                    reason: format!("{what}: {err}"),
                };
            }
        };
        let status = response.status();
        let wait = retry_after(response.headers());
        let body = match response.text().await {
            Ok(body) => shorten(&body),
            Err(err) => {
                return GatewayOutcome::Unavailable {
                    reason: format!("HTTP {status}, answer unreadable: {}", err.without_url()),
                }
            }
        };
        match classify_status(status) {
            StatusClass::Success => {
                tracing::debug!(
                    message = "SMS accepted by Kannel",
                    gateway = self.config.name,
                    delivery = sms.delivery_id,
                    to = mask(sms.to),
                    answer = body,
                );
                // Kannel gives no message id: the delivery id, which the DLR URL carries.
                GatewayOutcome::Accepted {
                    message_id: sms.delivery_id.to_string(),
                }
            }
            StatusClass::Throttled => GatewayOutcome::Throttled {
                retry_after: wait,
                reason: format!("HTTP {status}: {body}"),
            },
            StatusClass::Unavailable => GatewayOutcome::Unavailable {
                reason: format!("HTTP {status}: {body}"),
            },
            StatusClass::Refused => refusal(status, body),
        }
    }
}

/// What a 4xx from smsbox means: a rejection only when it is about the receiver.
fn refusal(status: reqwest::StatusCode, body: String) -> GatewayOutcome {
    if RECEIVER_ANSWERS
        .iter()
        .any(|answer| body.starts_with(answer))
    {
        return GatewayOutcome::Rejected {
            code: Some(status.as_u16().to_string()),
            reason: body,
        };
    }
    let hint = match status.as_u16() {
        403 => " (check this gateway's username and password against the sendsms-user group)",
        404 => {
            " (check this gateway's base_url: smsbox serves /cgi-bin/sendsms on its sendsms-port)"
        }
        _ if body.starts_with("Sender missing") => {
            " (give this gateway a from, or smsbox a global-sender)"
        }
        _ => "",
    };
    GatewayOutcome::Misconfigured {
        reason: format!("HTTP {status}: {body}{hint}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::channels::sms::gsm::Encoding;
    use std::collections::HashMap;
    use std::sync::{Arc, Mutex};
    use std::time::Duration;

    fn config(base_url: &str) -> KannelConfig {
        KannelConfig {
            name: "kannel".into(),
            base_url: base_url.into(),
            username: "tocsin".into(),
            password: "s3cret-pw".into(),
            from: "ZNA".into(),
            dlr_url: None,
            receipt_secret: None,
        }
    }

    fn client() -> reqwest::Client {
        super::super::http_client(Duration::from_secs(5)).expect("client")
    }

    fn sms(text: &str, encoding: Encoding) -> Sms<'_> {
        Sms {
            delivery_id: 42,
            to: "+32471123456",
            text,
            encoding,
        }
    }

    type Seen = Arc<Mutex<Vec<HashMap<String, String>>>>;

    /// A stand-in smsbox giving one scripted answer, recording the CGI variables it got.
    async fn smsbox(status: u16, body: &'static str) -> (String, Seen) {
        use axum::extract::Query;
        let seen: Seen = Arc::default();
        let record = Arc::clone(&seen);
        let app = axum::Router::new().route(
            "/cgi-bin/sendsms",
            axum::routing::get(move |Query(query): Query<HashMap<String, String>>| {
                let record = Arc::clone(&record);
                async move {
                    record.lock().expect("lock").push(query);
                    (
                        axum::http::StatusCode::from_u16(status).expect("status"),
                        body,
                    )
                }
            }),
        );
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind");
        let address = listener.local_addr().expect("address");
        tokio::spawn(async move { axum::serve(listener, app).await });
        (format!("http://{address}"), seen)
    }

    #[test]
    fn the_password_is_not_in_debug_output() {
        let kannel = Kannel::new(config("http://127.0.0.1:13013"), client());
        let debug = format!("{kannel:?}");
        assert!(!debug.contains("s3cret-pw"), "{debug}");
        assert!(debug.contains("<redacted>"), "{debug}");
    }

    #[test]
    fn the_dlr_url_carries_the_delivery_id_and_kannels_escape_codes() {
        assert_eq!(
            dlr_url("https://tocsin.example/receipts/kannel", 42),
            "https://tocsin.example/receipts/kannel?delivery=42&type=%d&smsc=%i&ts=%T&status=%A"
        );
        assert_eq!(
            dlr_url("https://tocsin.example/r?gateway=kannel", 7),
            "https://tocsin.example/r?gateway=kannel&delivery=7&type=%d&smsc=%i&ts=%T&status=%A"
        );
    }

    #[test]
    fn the_dlr_token_signs_the_delivery_id() {
        let token = dlr_token("secret", 42);
        assert_eq!(token.len(), 64);
        assert!(dlr_token_is_valid("secret", 42, &token));
        assert!(!dlr_token_is_valid("secret", 43, &token));
        assert!(!dlr_token_is_valid("other", 42, &token));
        assert!(!dlr_token_is_valid("secret", 42, "not hex"));
        assert_eq!(
            signed_dlr_url("https://t.example/receipts/kannel", 42, "secret"),
            format!(
                "https://t.example/receipts/kannel?delivery=42&token={token}\
                 &type=%d&smsc=%i&ts=%T&status=%A"
            )
        );
    }

    #[tokio::test]
    async fn a_submission_sends_text_coding_charset_and_dlr_fields() {
        let (base, seen) = smsbox(202, "0: Accepted for delivery").await;
        let mut config = config(&format!("{base}/"));
        config.dlr_url = Some("http://tocsin.local/dlr".into());
        let kannel = Kannel::new(config, client());
        let outcome = kannel
            .submit(&sms("Façade – œuvre & co", Encoding::Ucs2))
            .await;
        assert_eq!(
            outcome,
            GatewayOutcome::Accepted {
                message_id: "42".into()
            }
        );
        let seen = seen.lock().expect("lock");
        let query = &seen[0];
        assert_eq!(query["username"], "tocsin");
        assert_eq!(query["password"], "s3cret-pw");
        assert_eq!(query["to"], "+32471123456");
        assert_eq!(query["from"], "ZNA");
        assert_eq!(query["text"], "Façade – œuvre & co");
        assert_eq!(query["charset"], "UTF-8");
        assert_eq!(query["coding"], "2");
        assert_eq!(query["dlr-mask"], "31");
        assert_eq!(
            query["dlr-url"],
            "http://tocsin.local/dlr?delivery=42&type=%d&smsc=%i&ts=%T&status=%A"
        );
    }

    #[tokio::test]
    async fn without_a_dlr_url_no_receipts_are_asked_for() {
        let (base, seen) = smsbox(202, "3: Queued for later delivery").await;
        let kannel = Kannel::new(config(&base), client());
        let outcome = kannel.submit(&sms("Hello", Encoding::Gsm7)).await;
        assert!(matches!(outcome, GatewayOutcome::Accepted { .. }));
        let seen = seen.lock().expect("lock");
        assert_eq!(seen[0]["coding"], "0");
        assert!(!seen[0].contains_key("dlr-mask"));
        assert!(!seen[0].contains_key("dlr-url"));
    }

    #[tokio::test]
    async fn kannels_answers_are_classified() {
        let cases = [
            (403, "Authorization failed for sendsms", "misconfigured"),
            (404, "Unknown request.", "misconfigured"),
            (
                400,
                "Sender missing and no global set, rejected",
                "misconfigured",
            ),
            (400, "DLR-URL field misformed, rejected", "misconfigured"),
            (400, "Missing receiver number, rejected", "rejected"),
            (
                400,
                "Empty receiver number not allowed, rejected",
                "rejected",
            ),
            (
                400,
                "Number(s) has/have been denied by white- and/or black-lists.",
                "rejected",
            ),
            (503, "Sending failed.", "unavailable"),
            (500, "Sending failed.", "unavailable"),
            (429, "slow down", "throttled"),
        ];
        for (status, body, expected) in cases {
            let (base, _) = smsbox(status, body).await;
            let kannel = Kannel::new(config(&base), client());
            let outcome = kannel.submit(&sms("x", Encoding::Gsm7)).await;
            let got = match &outcome {
                GatewayOutcome::Accepted { .. } => "accepted",
                GatewayOutcome::Throttled { .. } => "throttled",
                GatewayOutcome::Unavailable { .. } => "unavailable",
                GatewayOutcome::Misconfigured { .. } => "misconfigured",
                GatewayOutcome::Rejected { .. } => "rejected",
            };
            assert_eq!(got, expected, "{status} {body}: {outcome:?}");
            if let GatewayOutcome::Rejected { code, reason } = &outcome {
                assert_eq!(code.as_deref(), Some("400"));
                assert_eq!(reason, body);
            }
        }
    }

    #[tokio::test]
    async fn a_refused_connection_is_unavailable_and_does_not_show_the_password() {
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .expect("bind")
            .local_addr()
            .expect("address")
            .port();
        let kannel = Kannel::new(config(&format!("http://127.0.0.1:{port}")), client());
        match kannel.submit(&sms("x", Encoding::Gsm7)).await {
            GatewayOutcome::Unavailable { reason } => {
                assert!(!reason.contains("s3cret-pw"), "{reason}")
            }
            other => panic!("expected unavailable, got {other:?}"),
        }
    }

    #[tokio::test]
    async fn a_base_url_that_is_no_url_is_misconfigured() {
        let kannel = Kannel::new(config("not a url"), client());
        assert!(matches!(
            kannel.submit(&sms("x", Encoding::Gsm7)).await,
            GatewayOutcome::Misconfigured { reason } if reason.contains("not a url")
        ));
    }
}
