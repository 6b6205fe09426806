//! Twilio's status callbacks: the `X-Twilio-Signature` that proves Twilio sent them, and what
//! each `MessageStatus` and `ErrorCode` means for the delivery.

use super::TwilioSettings;
use crate::channels::sms::config::secret;
use crate::channels::sms::receipt::{
    delivery_id, form, param, required, Params, ReceiptMethods, ReceiptReader, ReceiptRequest,
    Refusal,
};
use crate::domain::{DeliveryState, Receipt};
use base64::Engine;
use hmac::{Hmac, Mac};

/// Every Twilio gateway's status callbacks, each checked with its own key.
struct TwilioReceipts {
    keys: Vec<TwilioKey>,
}

/// The gateways' keys, their Auth Tokens read.
pub(super) fn reader(gateways: &[&TwilioSettings]) -> Result<Box<dyn ReceiptReader>, String> {
    let keys = gateways
        .iter()
        .map(|settings| TwilioKey::from_settings(settings))
        .collect::<Result<_, _>>()?;
    Ok(Box::new(TwilioReceipts { keys }))
}

impl ReceiptReader for TwilioReceipts {
    fn methods(&self) -> ReceiptMethods {
        ReceiptMethods::Post
    }

    /// The URL's query (`delivery`), the form body and `X-Twilio-Signature`.
    fn read(&self, request: &ReceiptRequest<'_>, at_ms: i64) -> Result<Vec<Receipt>, Refusal> {
        let signature = (request.header)("x-twilio-signature");
        let body = form(request.body);
        receipt(&self.keys, request.query, &body, signature, at_ms).map(|receipt| vec![receipt])
    }
}

/// What checks one Twilio gateway's status callbacks.
struct TwilioKey {
    name: String,
    auth_token: String,
    /// The configured `status_callback`: the public URL Twilio signs.
    status_callback: Option<String>,
}

impl TwilioKey {
    /// The gateway's key, its Auth Token read.
    fn from_settings(settings: &TwilioSettings) -> Result<TwilioKey, String> {
        Ok(TwilioKey {
            name: settings.name.clone().unwrap_or_else(|| "twilio".into()),
            auth_token: secret(
                &settings.auth_token,
                &settings.auth_token_env,
                "twilio auth_token",
            )?,
            status_callback: settings.status_callback.clone(),
        })
    }
}

/// Twilio's `ErrorCode`s that say the number itself cannot take the message: unreachable
/// (30003), blocked (30004), unknown or inactive (30005), landline (30006).
const TWILIO_BAD_NUMBER: [&str; 4] = ["30003", "30004", "30005", "30006"];

/// The signature Twilio puts in `X-Twilio-Signature`: base64 of HMAC-SHA1 under the auth
/// token of the full URL followed by each POST parameter's name and value, sorted by name.
fn twilio_mac(auth_token: &str, url: &str, params: &Params) -> Hmac<sha1::Sha1> {
    let mut sorted: Vec<&(String, String)> = params.iter().collect();
    sorted.sort();
    let mut mac = Hmac::<sha1::Sha1>::new_from_slice(auth_token.as_bytes()).expect("any key size");
    mac.update(url.as_bytes());
    for (name, value) in sorted {
        mac.update(name.as_bytes());
        mac.update(value.as_bytes());
    }
    mac
}

/// `X-Twilio-Signature` for a request, as Twilio computes it (for tests and emulators).
pub fn twilio_signature(auth_token: &str, url: &str, params: &Params) -> String {
    base64::engine::general_purpose::STANDARD
        .encode(twilio_mac(auth_token, url, params).finalize().into_bytes())
}

/// The public URL Twilio called: the configured `status_callback` without its query, and
/// the request's own query.
fn twilio_url(status_callback: &str, query: Option<&str>) -> String {
    let base = status_callback
        .split_once('?')
        .map_or(status_callback, |(base, _)| base);
    match query {
        Some(query) if !query.is_empty() => format!("{base}?{query}"),
        _ => base.to_string(),
    }
}

/// A Twilio status callback: the URL's query (`delivery`), the form body and the signature.
fn receipt(
    keys: &[TwilioKey],
    query: Option<&str>,
    body: &Params,
    signature: Option<&str>,
    at_ms: i64,
) -> Result<Receipt, Refusal> {
    let signature = signature
        .and_then(|signature| {
            base64::engine::general_purpose::STANDARD
                .decode(signature)
                .ok()
        })
        .ok_or_else(|| Refusal::Forbidden("X-Twilio-Signature is missing".into()))?;
    let key = keys
        .iter()
        .find(|key| {
            key.status_callback.as_deref().is_some_and(|callback| {
                twilio_mac(&key.auth_token, &twilio_url(callback, query), body)
                    .verify_slice(&signature)
                    .is_ok()
            })
        })
        .ok_or_else(|| Refusal::Forbidden("X-Twilio-Signature does not match".into()))?;
    let query: Params = url::form_urlencoded::parse(query.unwrap_or_default().as_bytes())
        .into_owned()
        .collect();
    let status = required(body, "MessageStatus")?;
    let code = param(body, "ErrorCode")
        .filter(|code| !code.is_empty())
        .map(str::to_string);
    let state = match status {
        "delivered" | "read" => DeliveryState::Delivered,
        "undelivered" | "failed" | "canceled"
            if code
                .as_deref()
                .is_some_and(|code| TWILIO_BAD_NUMBER.contains(&code)) =>
        {
            DeliveryState::Undeliverable
        }
        "undelivered" | "failed" | "canceled" => DeliveryState::Failed,
        // queued, accepted, scheduled, sending, sent: on its way.
        _ => DeliveryState::Sent,
    };
    Ok(Receipt {
        gateway: key.name.clone(),
        message_id: Some(required(body, "MessageSid")?.to_string()),
        delivery_id: delivery_id(param(&query, "delivery"))?,
        verified: true,
        status: status.to_string(),
        state,
        code,
        text: None,
        at_ms,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::channels::sms::receipt::params;

    #[test]
    fn twilios_documented_example_signature_is_reproduced() {
        // Twilio's "Webhooks security" example: auth token 12345, this URL and these
        // parameters sign to 0/KCTR6DLpKmkAf8muzZqo1nDgQ=.
        let url = "https://mycompany.com/myapp.php?foo=1&bar=2";
        let body = params(&[
            ("CallSid", "CA1234567890ABCDE"),
            ("Caller", "+12349013030"),
            ("Digits", "1234"),
            ("From", "+12349013030"),
            ("To", "+18005551212"),
        ]);
        assert_eq!(
            twilio_signature("12345", url, &body),
            "0/KCTR6DLpKmkAf8muzZqo1nDgQ="
        );
    }

    #[test]
    fn the_twilio_url_is_the_configured_one_with_the_requests_query() {
        assert_eq!(
            twilio_url(
                "https://t.example/receipts/twilio?x=1",
                Some("x=1&delivery=7")
            ),
            "https://t.example/receipts/twilio?x=1&delivery=7"
        );
        assert_eq!(
            twilio_url("https://t.example/receipts/twilio", None),
            "https://t.example/receipts/twilio"
        );
    }
}
