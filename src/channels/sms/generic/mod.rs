//! A generic HTTP gateway, for the tests only: it shows that a gateway is one folder, its
//! `mod` line and one line of `gateways!`. One submission is a JSON `POST {url}` of `to`, `text` and
//! `encoding`; a 2xx answer with `{"id": …}` takes the message, and every other answer is
//! read as any gateway's HTTP status is ([`classify_status`]). It names no number, so it
//! never says `Rejected`. With a `receipt_token` it takes delivery receipts
//! (`/receipts/generic`, `receipt.rs`).

#![cfg(test)]

mod receipt;

use super::config::GatewaySettings;
use super::receipt::ReceiptReader;
use super::{classify_status, exchange, GatewayOutcome, Sms, SmsGateway, StatusClass};
use async_trait::async_trait;
use serde::Deserialize;

/// `[[sms.gateways]]` with `kind = "generic"`.
#[derive(Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct GenericSettings {
    /// How logs, status and `[sms.rates]` call it; `generic` if not given.
    pub name: Option<String>,
    /// Where each message is posted.
    pub url: String,
    /// The token its delivery receipts carry; none: it sends no receipts.
    pub receipt_token: Option<String>,
}

impl GatewaySettings for GenericSettings {
    fn kind(&self) -> &'static str {
        "generic"
    }

    fn name(&self) -> Option<&str> {
        self.name.as_deref()
    }

    fn receipts(&self) -> Option<String> {
        self.receipt_token
            .as_ref()
            .map(|_| "receipts with a token".into())
    }

    fn describe(&self, _name: &str, _receipt_secret: bool, _problems: &mut Vec<String>) -> String {
        format!("generic {}", self.url)
    }

    fn check_secret(&self, _name: &str) -> Result<(), String> {
        Ok(())
    }

    fn gateway(
        &self,
        client: reqwest::Client,
        _receipt_secret: Option<&str>,
    ) -> Result<Box<dyn SmsGateway>, String> {
        Ok(Box::new(Generic {
            name: self.name.clone().unwrap_or_else(|| "generic".into()),
            url: self.url.clone(),
            client,
        }))
    }

    fn receipt_reader(
        gateways: &[&Self],
        _receipt_secret: Option<&str>,
    ) -> Result<Option<Box<dyn ReceiptReader>>, String> {
        Ok(Some(receipt::reader(gateways)))
    }
}

struct Generic {
    name: String,
    url: String,
    client: reqwest::Client,
}

#[derive(Deserialize)]
struct Taken {
    id: String,
}

#[async_trait]
impl SmsGateway for Generic {
    fn name(&self) -> &str {
        &self.name
    }

    async fn submit(&self, sms: &Sms<'_>) -> GatewayOutcome {
        let request = self.client.post(&self.url).json(&serde_json::json!({
            "to": sms.to,
            "text": sms.text,
            "encoding": sms.encoding.as_str(),
        }));
        exchange(request, |status, retry_after, body| {
            let reason = format!("HTTP {}", status.as_u16());
            match classify_status(status) {
                StatusClass::Success => match serde_json::from_slice::<Taken>(body) {
                    Ok(Taken { id }) => GatewayOutcome::Accepted { message_id: id },
                    Err(_) => GatewayOutcome::Unavailable {
                        reason: format!("{reason} without an id"),
                    },
                },
                StatusClass::Throttled => GatewayOutcome::Throttled {
                    retry_after,
                    reason,
                },
                StatusClass::Unavailable => GatewayOutcome::Unavailable { reason },
                StatusClass::Refused => GatewayOutcome::Misconfigured { reason },
            }
        })
        .await
    }
}

mod tests {
    use super::super::gsm::Encoding;
    use super::super::{build, http_client, BreakerChange, BreakerObserver};
    use super::*;
    use crate::clock::SystemClock;
    use crate::config::Config;
    use crate::web::ReceiptKeys;
    use axum::routing::post;
    use axum::{Json, Router};
    use std::sync::{Arc, Mutex};

    struct Deaf;

    #[async_trait]
    impl BreakerObserver for Deaf {
        async fn changed(&self, _change: BreakerChange) {}
    }

    /// An in-process peer that takes every message, numbering them, and keeps what it got.
    async fn peer() -> (String, Arc<Mutex<Vec<serde_json::Value>>>) {
        let got = Arc::new(Mutex::new(Vec::new()));
        let kept = Arc::clone(&got);
        let router = Router::new().route(
            "/sms",
            post(move |Json(body): Json<serde_json::Value>| async move {
                let mut got = kept.lock().expect("requests");
                got.push(body);
                Json(serde_json::json!({ "id": format!("g-{}", got.len()) }))
            }),
        );
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind");
        let address = listener.local_addr().expect("address");
        tokio::spawn(async move { axum::serve(listener, router).await });
        (format!("http://{address}/sms"), got)
    }

    #[tokio::test]
    async fn a_gateway_of_its_own_folder_and_enum_line_is_configured_built_and_sent_through() {
        let (url, got) = peer().await;
        let text = format!(
            "[sms]\ntransport = \"gateways\"\n[[sms.gateways]]\nkind = \"generic\"\nurl = \"{url}\"\n\
             [sms.rates]\ngeneric = 5\n"
        );
        let config = Config::parse(&text, "t.toml").expect("valid");
        let channel = build(&config.sms, None, Arc::new(Deaf)).expect("built");
        assert_eq!(channel.gateway_status()[0].name, "generic");

        let gateway = config.sms.gateways[0]
            .settings()
            .gateway(
                http_client(std::time::Duration::from_secs(5)).expect("client"),
                None,
            )
            .expect("gateway");
        let outcome = gateway
            .submit(&Sms {
                delivery_id: 7,
                to: "+32471123456",
                text: "ZNA: uw afspraak gaat niet door.",
                encoding: Encoding::Gsm7,
            })
            .await;
        assert_eq!(
            outcome,
            GatewayOutcome::Accepted {
                message_id: "g-1".into()
            }
        );
        assert_eq!(
            got.lock().expect("requests")[0],
            serde_json::json!({
                "to": "+32471123456",
                "text": "ZNA: uw afspraak gaat niet door.",
                "encoding": "GSM-7",
            })
        );
    }

    #[tokio::test]
    async fn its_receipts_arrive_through_the_receipt_router_by_its_token() {
        let text = "[[sms.gateways]]\nkind = \"generic\"\nurl = \"http://127.0.0.1:9/sms\"\n\
                    receipt_token = \"t0ken\"\n";
        let config = Config::parse(text, "t.toml").expect("valid");
        let dir = tempfile::tempdir().expect("temp dir");
        let url = format!("sqlite://{}", dir.path().join("t.db").display());
        let store = crate::store::open(&url, &crate::store::PoolSettings::default())
            .await
            .expect("store");
        let keys = ReceiptKeys::from_config(&config).expect("receipt keys");
        let router = crate::web::router(store, keys, Arc::new(SystemClock), None);
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind");
        let address = listener.local_addr().expect("address");
        tokio::spawn(async move { axum::serve(listener, router).await });

        let client = reqwest::Client::new();
        let endpoint = format!("http://{address}/receipts/generic");
        let post = |body: &'static str| {
            client
                .post(&endpoint)
                .header("content-type", "application/x-www-form-urlencoded")
                .body(body)
                .send()
        };
        let status = |response: reqwest::Result<reqwest::Response>| {
            response.expect("answer").status().as_u16()
        };
        assert_eq!(
            status(post("token=t0ken&id=g-1&status=delivered").await),
            200
        );
        assert_eq!(
            status(post("token=wrong&id=g-1&status=delivered").await),
            403
        );
        assert_eq!(status(post("token=t0ken&status=delivered").await), 400);
        assert_eq!(status(client.get(&endpoint).send().await), 405);
    }
}
