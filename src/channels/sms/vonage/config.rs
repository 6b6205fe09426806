//! `[[sms.gateways]]` with `kind = "vonage"`.

use super::{receipt, Vonage, VonageConfig, DEFAULT_BASE_URL};
use crate::channels::sms::config::{secret, GatewaySettings};
use crate::channels::sms::receipt::ReceiptReader;
use crate::channels::sms::SmsGateway;
use serde::Deserialize;

/// Vonage's SMS API.
#[derive(Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct VonageSettings {
    /// How logs, status and `[sms.rates]` call it; `vonage` if not given.
    pub name: Option<String>,
    /// The account's API key.
    pub api_key: String,
    /// Its API secret, written here; better named by `api_secret_env`.
    pub api_secret: Option<String>,
    /// The environment variable that holds the API secret.
    pub api_secret_env: Option<String>,
    /// The sender: a Vonage number (digits, no `+`) or an alphanumeric sender ID.
    pub from: String,
    /// Vonage's API unless given (an emulator's, in tests).
    pub base_url: Option<String>,
    /// Base URL of `tocsin serve`'s Vonage receipt endpoint, for delivery receipts.
    pub callback: Option<String>,
    /// Checks the `sig` of delivery receipts when set (inline or from the environment).
    pub signature_secret: Option<String>,
    /// The environment variable that holds the signature secret.
    pub signature_secret_env: Option<String>,
    /// The dashboard's signature method: `md5hash` (the default), `md5`, `sha1`,
    /// `sha256` or `sha512` (HMACs).
    pub signature_method: Option<String>,
}

impl GatewaySettings for VonageSettings {
    fn kind(&self) -> &'static str {
        "vonage"
    }

    fn name(&self) -> Option<&str> {
        self.name.as_deref()
    }

    fn receipts(&self) -> Option<String> {
        self.callback.as_ref().map(|url| format!("callback {url}"))
    }

    fn describe(&self, _name: &str, _receipt_secret: bool, _problems: &mut Vec<String>) -> String {
        format!(
            "vonage {} key {}, from {}",
            self.base_url.as_deref().unwrap_or("(Vonage's API)"),
            self.api_key,
            self.from
        )
    }

    fn check_secret(&self, name: &str) -> Result<(), String> {
        let what = format!("gateway {name}: api_secret");
        secret(&self.api_secret, &self.api_secret_env, &what).map(drop)
    }

    fn gateway(
        &self,
        client: reqwest::Client,
        _receipt_secret: Option<&str>,
    ) -> Result<Box<dyn SmsGateway>, String> {
        let config = VonageConfig {
            name: self.name.clone().unwrap_or_else(|| "vonage".into()),
            api_key: self.api_key.clone(),
            api_secret: secret(&self.api_secret, &self.api_secret_env, "vonage api_secret")?,
            from: self.from.clone(),
            base_url: self
                .base_url
                .clone()
                .unwrap_or_else(|| DEFAULT_BASE_URL.into()),
            callback: self.callback.clone(),
        };
        Ok(Box::new(Vonage::new(config, client)))
    }

    fn receipt_reader(
        gateways: &[&Self],
        _receipt_secret: Option<&str>,
    ) -> Result<Option<Box<dyn ReceiptReader>>, String> {
        receipt::reader(gateways).map(Some)
    }
}
