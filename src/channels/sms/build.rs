//! The SMS channel as `[sms]` configures it: each gateway of `[[sms.gateways]]`, in order,
//! with its limits.

use super::config::{GatewayConfig, SmsConfig};
use super::{http_client, BreakerObserver, GatewayLimits, SmsChannel, SmsGateway, SystemClock};
use std::num::NonZeroU32;
use std::sync::Arc;
use std::time::Duration;

/// The limits `[sms]` gives the gateway called `gateway`: its rate from `[sms.rates]` (none if
/// unlisted), `rate_burst`, and the breaker's settings.
pub fn gateway_limits(config: &SmsConfig, gateway: &str) -> GatewayLimits {
    GatewayLimits {
        rate_per_second: config.rates.get(gateway).copied(),
        burst: NonZeroU32::new(config.rate_burst).unwrap_or(NonZeroU32::MIN),
        failures_to_open: config.failures_to_open,
        cool_down: Duration::from_secs(config.cool_down_seconds),
    }
}

/// The configured gateways, tried in order, each with its limits, their breakers told to
/// `observer`. `receipt_secret` is `[serve] receipt_secret` (or `TOCSIN_RECEIPT_SECRET`),
/// which signs Kannel's DLR URLs.
pub fn build(
    config: &SmsConfig,
    receipt_secret: Option<&str>,
    observer: Arc<dyn BreakerObserver>,
) -> Result<SmsChannel, String> {
    if config.gateways.is_empty() {
        return Err("[sms] transport = \"gateways\" but no [[sms.gateways]] is configured".into());
    }
    config.check_rates()?;
    let client = http_client(Duration::from_secs(config.timeout_seconds))
        .map_err(|error| format!("SMS HTTP client: {error}"))?;
    let gateways = config
        .gateways
        .iter()
        .map(|gateway: &GatewayConfig| {
            let built: Box<dyn SmsGateway> =
                gateway.settings().gateway(client.clone(), receipt_secret)?;
            let limits = gateway_limits(config, built.name());
            Ok((built, limits))
        })
        .collect::<Result<Vec<_>, String>>()?;
    Ok(SmsChannel::with_limits(gateways, Arc::new(SystemClock)).with_observer(observer))
}
