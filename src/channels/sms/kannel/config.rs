//! `[[sms.gateways]]` with `kind = "kannel"`.

use super::{receipt, Kannel, KannelConfig};
use crate::channels::sms::config::{secret, GatewaySettings};
use crate::channels::sms::receipt::ReceiptReader;
use crate::channels::sms::SmsGateway;
use serde::Deserialize;

/// Kannel's smsbox `sendsms` interface.
#[derive(Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct KannelSettings {
    /// How logs, status and `[sms.rates]` call it; `kannel` if not given.
    pub name: Option<String>,
    /// smsbox's address, e.g. `http://127.0.0.1:13013`.
    pub base_url: String,
    /// The `sendsms-user`'s username.
    pub username: String,
    /// Its password, written here; better named by `password_env`.
    pub password: Option<String>,
    /// The environment variable that holds the password.
    pub password_env: Option<String>,
    /// The sender Kannel gives each message.
    pub from: String,
    /// Base URL of `tocsin serve`'s Kannel receipt endpoint, for delivery reports.
    pub dlr_url: Option<String>,
}

impl GatewaySettings for KannelSettings {
    fn kind(&self) -> &'static str {
        "kannel"
    }

    fn name(&self) -> Option<&str> {
        self.name.as_deref()
    }

    fn receipts(&self) -> Option<String> {
        self.dlr_url.as_ref().map(|url| format!("dlr_url {url}"))
    }

    fn describe(&self, name: &str, receipt_secret: bool, problems: &mut Vec<String>) -> String {
        if self.dlr_url.is_some() && !receipt_secret {
            problems.push(format!(
                "gateway {name}: a dlr_url needs [serve] receipt_secret or \
                 TOCSIN_RECEIPT_SECRET to sign its delivery reports"
            ));
        }
        format!(
            "kannel {} as {}, from {}",
            self.base_url, self.username, self.from
        )
    }

    fn check_secret(&self, name: &str) -> Result<(), String> {
        let what = format!("gateway {name}: password");
        secret(&self.password, &self.password_env, &what).map(drop)
    }

    fn gateway(
        &self,
        client: reqwest::Client,
        receipt_secret: Option<&str>,
    ) -> Result<Box<dyn SmsGateway>, String> {
        let config = KannelConfig {
            name: self.name.clone().unwrap_or_else(|| "kannel".into()),
            base_url: self.base_url.clone(),
            username: self.username.clone(),
            password: secret(&self.password, &self.password_env, "kannel password")?,
            from: self.from.clone(),
            dlr_url: self.dlr_url.clone(),
            receipt_secret: match self.dlr_url {
                Some(_) => Some(receipt_secret.map(str::to_string).ok_or_else(|| {
                    "a Kannel gateway with a dlr_url needs [serve] receipt_secret or \
                     TOCSIN_RECEIPT_SECRET to sign its delivery reports"
                        .to_string()
                })?),
                None => None,
            },
        };
        Ok(Box::new(Kannel::new(config, client)))
    }

    fn receipt_reader(
        gateways: &[&Self],
        receipt_secret: Option<&str>,
    ) -> Result<Option<Box<dyn ReceiptReader>>, String> {
        receipt::reader(gateways, receipt_secret).map(Some)
    }
}
