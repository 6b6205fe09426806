//! Each gateway's delivery receipt, read from the request's parts: the gateway folders
//! (`channels::sms::<gateway>::receipt`) check its token or signature and say what it means;
//! this holds their keys, read from the configuration once at start.

use crate::channels::sms::kannel;
pub use crate::channels::sms::receipt::{Params, Refusal};
use crate::channels::sms::twilio::{self, TwilioKey};
use crate::channels::sms::vonage::{self, VonageKey};
use crate::config::{Config, GatewayConfig};
use crate::domain::Receipt;

/// The secrets receipts are checked with, read from the configuration once at start.
pub struct ReceiptKeys {
    /// Signs Kannel's DLR URLs (`[serve] receipt_secret`); without it every Kannel receipt
    /// is refused.
    pub receipt_secret: Option<String>,
    pub twilio: Vec<TwilioKey>,
    pub vonage: Vec<VonageKey>,
}

impl ReceiptKeys {
    /// Refuses without a receipt secret when a Kannel gateway asks for receipts (has a
    /// `dlr_url`): they could not be checked.
    pub fn from_config(config: &Config) -> Result<ReceiptKeys, String> {
        let receipt_secret = config.serve.receipt_secret();
        let kannel_receipts = config.sms.gateways.iter().any(|gateway| {
            matches!(gateway, GatewayConfig::Kannel(settings) if settings.dlr_url.is_some())
        });
        if kannel_receipts && receipt_secret.is_none() {
            return Err(
                "a Kannel gateway with a dlr_url needs [serve] receipt_secret or \
                 TOCSIN_RECEIPT_SECRET (it signs the delivery ids in Kannel's DLR URLs)"
                    .into(),
            );
        }
        let mut keys = ReceiptKeys {
            receipt_secret,
            twilio: Vec::new(),
            vonage: Vec::new(),
        };
        for gateway in &config.sms.gateways {
            match gateway {
                GatewayConfig::Twilio(settings) => {
                    keys.twilio.push(TwilioKey::from_settings(settings)?)
                }
                GatewayConfig::Vonage(settings) => {
                    keys.vonage.push(VonageKey::from_settings(settings)?)
                }
                _ => {}
            }
        }
        Ok(keys)
    }
}

/// A Kannel DLR (the query of the `dlr-url`).
pub fn kannel(keys: &ReceiptKeys, params: &Params, at_ms: i64) -> Result<Receipt, Refusal> {
    kannel::receipt(keys.receipt_secret.as_deref(), params, at_ms)
}

/// A Twilio status callback: the URL's query (`delivery`), the form body and the signature.
pub fn twilio(
    keys: &ReceiptKeys,
    query: Option<&str>,
    body: &Params,
    signature: Option<&str>,
    at_ms: i64,
) -> Result<Receipt, Refusal> {
    twilio::receipt(&keys.twilio, query, body, signature, at_ms)
}

/// A Vonage delivery receipt (query and body merged): one candidate per Vonage gateway that
/// could have sent it.
pub fn vonage(keys: &ReceiptKeys, params: &Params, at_ms: i64) -> Result<Vec<Receipt>, Refusal> {
    vonage::receipt(&keys.vonage, params, at_ms)
}
