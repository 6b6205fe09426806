//! Each kind of gateway's delivery receipts, read from the request's parts by the reader its
//! folder builds (`channels::sms::<gateway>::receipt`), which checks the token or signature
//! and says what the receipt means; this holds the readers, built from the configuration
//! once at start.

pub use crate::channels::sms::receipt::{ReceiptMethods, ReceiptReader, ReceiptRequest, Refusal};
use crate::config::{Config, GatewayConfig};

/// The receipt reader of every kind of gateway that has receipts, built once at start.
pub struct ReceiptKeys {
    /// By kind, in the order `gateways!` lists them.
    pub(crate) readers: Vec<(String, Box<dyn ReceiptReader>)>,
}

impl ReceiptKeys {
    /// Refuses what a kind cannot check its receipts with, e.g. no receipt secret when a
    /// Kannel gateway asks for receipts (has a `dlr_url`).
    pub fn from_config(config: &Config) -> Result<ReceiptKeys, String> {
        let receipt_secret = config.serve.receipt_secret();
        let readers =
            GatewayConfig::receipt_readers(&config.sms.gateways, receipt_secret.as_deref())?;
        Ok(ReceiptKeys { readers })
    }
}
