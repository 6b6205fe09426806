//! `[[sms.gateways]]` with `kind = "twilio"`.

use super::{receipt, Twilio, TwilioConfig, DEFAULT_BASE_URL};
use crate::channels::sms::config::{secret, GatewaySettings};
use crate::channels::sms::receipt::ReceiptReader;
use crate::channels::sms::SmsGateway;
use serde::Deserialize;

/// Twilio's Messages API.
#[derive(Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TwilioSettings {
    /// How logs, status and `[sms.rates]` call it; `twilio` if not given.
    pub name: Option<String>,
    /// `AC…`: the account (or subaccount) that sends.
    pub account_sid: String,
    /// Its Auth Token, written here; better named by `auth_token_env`.
    pub auth_token: Option<String>,
    /// The environment variable that holds the Auth Token.
    pub auth_token_env: Option<String>,
    /// The sender: a Twilio number in E.164, a short code or an alphanumeric sender ID.
    pub from: Option<String>,
    /// `MG…`: a Messaging Service that picks the sender, instead of `from`.
    pub messaging_service_sid: Option<String>,
    /// Twilio's API unless given (an emulator's, in tests).
    pub base_url: Option<String>,
    /// The public URL of `tocsin serve`'s Twilio receipt endpoint, exactly as Twilio signs
    /// it, for status callbacks.
    pub status_callback: Option<String>,
}

impl GatewaySettings for TwilioSettings {
    fn kind(&self) -> &'static str {
        "twilio"
    }

    fn name(&self) -> Option<&str> {
        self.name.as_deref()
    }

    fn receipts(&self) -> Option<String> {
        self.status_callback
            .as_ref()
            .map(|url| format!("status_callback {url}"))
    }

    fn describe(&self, name: &str, _receipt_secret: bool, problems: &mut Vec<String>) -> String {
        let sender = match (&self.from, &self.messaging_service_sid) {
            (_, Some(service)) => format!("messaging service {service}"),
            (Some(from), None) => format!("from {from}"),
            (None, None) => {
                problems.push(format!(
                    "gateway {name}: give from or messaging_service_sid"
                ));
                "no sender".to_string()
            }
        };
        format!(
            "twilio {} account {}, {sender}",
            self.base_url.as_deref().unwrap_or("(Twilio's API)"),
            self.account_sid
        )
    }

    fn check_secret(&self, name: &str) -> Result<(), String> {
        let what = format!("gateway {name}: auth_token");
        secret(&self.auth_token, &self.auth_token_env, &what).map(drop)
    }

    fn gateway(
        &self,
        client: reqwest::Client,
        _receipt_secret: Option<&str>,
    ) -> Result<Box<dyn SmsGateway>, String> {
        let config = TwilioConfig {
            name: self.name.clone().unwrap_or_else(|| "twilio".into()),
            account_sid: self.account_sid.clone(),
            auth_token: secret(&self.auth_token, &self.auth_token_env, "twilio auth_token")?,
            from: self.from.clone(),
            messaging_service_sid: self.messaging_service_sid.clone(),
            base_url: self
                .base_url
                .clone()
                .unwrap_or_else(|| DEFAULT_BASE_URL.into()),
            status_callback: self.status_callback.clone(),
        };
        Ok(Box::new(Twilio::new(config, client)))
    }

    fn receipt_reader(
        gateways: &[&Self],
        _receipt_secret: Option<&str>,
    ) -> Result<Option<Box<dyn ReceiptReader>>, String> {
        receipt::reader(gateways).map(Some)
    }
}
