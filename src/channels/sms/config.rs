//! `[sms]` and its `[[sms.gateways]]`, as `tocsin.toml` writes them. Each gateway's own
//! table is its folder's `config.rs`; [`GatewayConfig`] (`gateways!` in `sms/mod.rs`) lists
//! them, one line each, by the `kind` that names them.

use super::receipt::ReceiptReader;
pub use super::GatewayConfig;
use super::SmsGateway;
use serde::Deserialize;
use std::collections::BTreeMap;
use std::path::PathBuf;

/// SMS: a file outbox, or real gateways tried in the order given.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct SmsConfig {
    pub transport: SmsTransport,
    /// Outbox: one JSON file per message.
    pub dir: PathBuf,
    /// Per gateway request.
    pub timeout_seconds: u64,
    /// `[[sms.gateways]]`, in order of preference: a gateway that is unavailable hands the
    /// message to the next.
    pub gateways: Vec<GatewayConfig>,
    /// Unavailable answers in a row after which a gateway's circuit breaker opens and its
    /// traffic goes to the next gateway; 0 never opens.
    pub failures_to_open: u32,
    /// How long an open breaker skips its gateway before one probe message is let through.
    pub cool_down_seconds: u64,
    /// Messages per second, by gateway name (its `name`, else its kind); unlisted: no limit.
    /// A name that is no configured gateway's is refused.
    pub rates: BTreeMap<String, u32>,
    /// How many messages a rate-limited gateway may take at once before its rate applies;
    /// 1 spaces every message evenly (`1 / rate` apart), so no second sees more than the rate.
    pub rate_burst: u32,
    /// An update whose SMS, as rendered for any recipient (sender and appointments
    /// included), takes more parts than this is refused at draft time.
    pub max_segments: usize,
}

impl Default for SmsConfig {
    fn default() -> Self {
        SmsConfig {
            transport: SmsTransport::Outbox,
            dir: PathBuf::from("outbox/sms"),
            timeout_seconds: 10,
            gateways: Vec::new(),
            failures_to_open: 3,
            cool_down_seconds: 30,
            rates: BTreeMap::new(),
            rate_burst: 1,
            max_segments: 3,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum SmsTransport {
    Outbox,
    Gateways,
}

/// What the SMS channel needs of a gateway's `[[sms.gateways]]` table besides its fields.
pub trait GatewaySettings {
    /// Its `kind`, which is also its name when it has no `name`.
    fn kind(&self) -> &'static str;
    /// Its `name`, if it has one.
    fn name(&self) -> Option<&str>;
    /// Where it sends delivery receipts, as `tocsin check` shows it (`dlr_url …`), if it is
    /// asked to.
    fn receipts(&self) -> Option<String>;
    /// What `tocsin check` says of it after its name, and the problems it finds (but its
    /// secret's: [`GatewaySettings::check_secret`]); `receipt_secret`: whether `[serve]`
    /// has one.
    fn describe(&self, name: &str, receipt_secret: bool, problems: &mut Vec<String>) -> String;
    /// Whether its secret can be read (from the configuration or the environment); the
    /// error names the gateway `name`.
    fn check_secret(&self, name: &str) -> Result<(), String>;
    /// The gateway itself, its secrets read. `receipt_secret` is `[serve] receipt_secret`
    /// (or `TOCSIN_RECEIPT_SECRET`), which signs Kannel's DLR URLs.
    fn gateway(
        &self,
        client: reqwest::Client,
        receipt_secret: Option<&str>,
    ) -> Result<Box<dyn SmsGateway>, String>;
    /// What reads this kind's delivery receipts (`/receipts/{kind}`), for `gateways`, every
    /// configured gateway of the kind (maybe none); `None`: the kind sends no receipts. An
    /// error refuses the configuration at start.
    fn receipt_reader(
        _gateways: &[&Self],
        _receipt_secret: Option<&str>,
    ) -> Result<Option<Box<dyn ReceiptReader>>, String>
    where
        Self: Sized,
    {
        Ok(None)
    }
}

impl std::fmt::Debug for GatewayConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{} gateway {:?} (secrets hidden)",
            self.settings().kind(),
            self.name()
        )
    }
}

impl GatewayConfig {
    /// Its `name`, else its kind: how logs, status and `[sms.rates]` call it.
    pub fn name(&self) -> &str {
        let settings = self.settings();
        settings.name().unwrap_or(settings.kind())
    }
}

impl SmsConfig {
    /// `[sms.rates]` names only configured gateways, with a rate that sends something, and
    /// the burst is at least one message. `Config::parse` checks it; `App` again, for a
    /// configuration built in code.
    pub fn check_rates(&self) -> Result<(), String> {
        let names: Vec<&str> = self.gateways.iter().map(GatewayConfig::name).collect();
        for (name, rate) in &self.rates {
            if !names.contains(&name.as_str()) {
                let known = if names.is_empty() {
                    "no [[sms.gateways]] is configured".to_string()
                } else {
                    format!("the gateways are {}", names.join(", "))
                };
                return Err(format!(
                    "sms.rates.{name}: no SMS gateway is called {name:?} ({known}; a gateway \
                     is called by its name, else by its kind)"
                ));
            }
            if *rate == 0 {
                return Err(format!(
                    "sms.rates.{name}: 0 messages per second would send nothing; leave the \
                     gateway out of [sms.rates] for no limit"
                ));
            }
        }
        if self.rate_burst == 0 {
            return Err("sms.rate_burst must be at least 1".into());
        }
        Ok(())
    }

    /// The gateways asked to send delivery receipts: an SMS they took without a receipt
    /// after a while is in doubt; the others' never get one.
    pub fn receipt_gateways(&self) -> Vec<String> {
        self.gateways
            .iter()
            .filter(|gateway| gateway.settings().receipts().is_some())
            .map(|gateway| gateway.name().to_string())
            .collect()
    }
}

/// A secret from the configuration, or from the environment variable it names.
pub fn secret(inline: &Option<String>, env: &Option<String>, what: &str) -> Result<String, String> {
    if let Some(variable) = env {
        return std::env::var(variable)
            .map_err(|_| format!("{what}: the environment variable {variable} is not set"));
    }
    inline.clone().ok_or_else(|| {
        format!("{what}: give it in the configuration or name an environment variable")
    })
}
