//! Each gateway's delivery receipt: its authentication and what it means for the delivery.
//! Pure functions from the request's parts to a [`Receipt`], or why it is refused.

use crate::channels::sms::kannel;
use crate::config::{secret, Config, GatewayConfig};
use crate::domain::DeliveryState;
use crate::store::Receipt;
use base64::Engine;
use hmac::{Hmac, Mac};

/// Why a receipt is refused, as an HTTP status.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Refusal {
    /// 400: not a receipt we can read.
    Malformed(String),
    /// 403: unsigned, mis-signed, or a wrong token.
    Forbidden(String),
}

type Params = Vec<(String, String)>;

fn param<'a>(params: &'a Params, name: &str) -> Option<&'a str> {
    params
        .iter()
        .find(|(key, _)| key == name)
        .map(|(_, value)| value.as_str())
}

fn required<'a>(params: &'a Params, name: &str) -> Result<&'a str, Refusal> {
    param(params, name)
        .filter(|value| !value.is_empty())
        .ok_or_else(|| Refusal::Malformed(format!("{name} is missing")))
}

fn delivery_id(value: Option<&str>) -> Result<Option<i64>, Refusal> {
    value
        .map(|value| {
            value
                .parse()
                .map_err(|_| Refusal::Malformed(format!("delivery {value:?} is not an id")))
        })
        .transpose()
}

/// The secrets receipts are checked with, read from the configuration once at start.
pub struct ReceiptKeys {
    /// Signs Kannel's DLR URLs (`[serve] receipt_secret`); without it every Kannel receipt
    /// is refused.
    pub receipt_secret: Option<String>,
    pub twilio: Vec<TwilioKey>,
    pub vonage: Vec<VonageKey>,
}

pub struct TwilioKey {
    pub name: String,
    pub auth_token: String,
    /// The configured `status_callback`: the public URL Twilio signs.
    pub status_callback: Option<String>,
}

pub struct VonageKey {
    pub name: String,
    /// The signature secret and method, if receipts are signed.
    pub signature: Option<(String, SignatureMethod)>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SignatureMethod {
    Md5Hash,
    Md5,
    Sha1,
    Sha256,
    Sha512,
}

impl ReceiptKeys {
    /// Refuses without a receipt secret when a Kannel gateway asks for receipts (has a
    /// `dlr_url`): they could not be checked.
    pub fn from_config(config: &Config) -> Result<ReceiptKeys, String> {
        let receipt_secret = config.serve.receipt_secret();
        let kannel_receipts = config.sms.gateways.iter().any(|gateway| {
            matches!(
                gateway,
                GatewayConfig::Kannel {
                    dlr_url: Some(_),
                    ..
                }
            )
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
                GatewayConfig::Kannel { .. } => {}
                GatewayConfig::Twilio {
                    name,
                    auth_token,
                    auth_token_env,
                    status_callback,
                    ..
                } => keys.twilio.push(TwilioKey {
                    name: name.clone().unwrap_or_else(|| "twilio".into()),
                    auth_token: secret(auth_token, auth_token_env, "twilio auth_token")?,
                    status_callback: status_callback.clone(),
                }),
                GatewayConfig::Vonage {
                    name,
                    signature_secret,
                    signature_secret_env,
                    signature_method,
                    ..
                } => {
                    let signature = if signature_secret.is_some() || signature_secret_env.is_some()
                    {
                        let method = match signature_method.as_deref().unwrap_or("md5hash") {
                            "md5hash" => SignatureMethod::Md5Hash,
                            "md5" => SignatureMethod::Md5,
                            "sha1" => SignatureMethod::Sha1,
                            "sha256" => SignatureMethod::Sha256,
                            "sha512" => SignatureMethod::Sha512,
                            other => {
                                return Err(format!(
                                    "vonage signature_method {other:?}: use md5hash, md5, sha1, \
                                     sha256 or sha512"
                                ))
                            }
                        };
                        let secret = secret(
                            signature_secret,
                            signature_secret_env,
                            "vonage signature_secret",
                        )?;
                        Some((secret, method))
                    } else {
                        None
                    };
                    keys.vonage.push(VonageKey {
                        name: name.clone().unwrap_or_else(|| "vonage".into()),
                        signature,
                    });
                }
            }
        }
        Ok(keys)
    }
}

/// A Kannel DLR (the query of the `dlr-url`): `delivery`, `token`, `type` (`%d`) and
/// `status` (`%A`, the SMSC's text).
pub fn kannel(keys: &ReceiptKeys, params: &Params, at_ms: i64) -> Result<Receipt, Refusal> {
    let delivery = delivery_id(Some(required(params, "delivery")?))?.unwrap_or_default();
    let token = param(params, "token").unwrap_or_default();
    let Some(secret) = &keys.receipt_secret else {
        return Err(Refusal::Forbidden(
            "no receipt secret is configured: Kannel receipts cannot be checked".into(),
        ));
    };
    if !kannel::dlr_token_is_valid(secret, delivery, token) {
        return Err(Refusal::Forbidden("bad or missing token".into()));
    }
    let kind = required(params, "type")?;
    let state = match kind {
        "1" => DeliveryState::Delivered,
        // Undeliverable at the handset, rejected by the SMSC: final for this message, but
        // not a verdict on the number.
        "2" | "16" => DeliveryState::Failed,
        // Buffered at the SMSC, accepted by the SMSC: on its way.
        "4" | "8" => DeliveryState::Sent,
        other => return Err(Refusal::Malformed(format!("unknown DLR type {other:?}"))),
    };
    Ok(Receipt {
        gateway: "kannel".into(),
        message_id: None,
        delivery_id: Some(delivery),
        verified: true,
        status: format!("type={kind}"),
        state,
        code: None,
        text: param(params, "status").map(str::to_string),
        at_ms,
    })
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
pub fn twilio(
    keys: &ReceiptKeys,
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
        .twilio
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

/// Vonage's DLR `err-code`s that name the number, as "SMS delivery receipts — DLR error
/// codes" describes them (<https://developer.vonage.com/en/messaging/sms/guides/delivery-receipts>):
/// 3 Absent Subscriber - Permanent ("the number is no longer active"), 4 Call Barred by User
/// ("a permanent error: the number should be removed"), 9 Illegal Number ("the user has
/// specifically requested not to receive messages from a specific service"), 12 Destination
/// Unreachable ("a route to the number cannot be found - confirm the recipient's number"),
/// 14 Number Blocked by Carrier ("the recipient should ask their carrier to enable SMS on
/// their plan"). The others are temporary (2, 7, 8, 15), about our message or its route (5,
/// 6, 10, 11, 13 age restriction, 99) or unknown (1): a final failure, not a fact about the
/// number.
const VONAGE_BAD_NUMBER: [&str; 5] = ["3", "4", "9", "12", "14"];

/// Vonage's signature: every parameter but `sig`, sorted by name, as `&name=value` with `&`
/// and `=` in values replaced by `_`; then MD5 of that followed by the secret (`md5hash`),
/// or an HMAC of it under the secret; lowercase hex.
pub fn vonage_signature(secret: &str, method: SignatureMethod, params: &Params) -> String {
    let mut sorted: Vec<&(String, String)> =
        params.iter().filter(|(name, _)| name != "sig").collect();
    sorted.sort();
    let mut signed = String::new();
    for (name, value) in sorted {
        signed.push('&');
        signed.push_str(name);
        signed.push('=');
        signed.push_str(&value.replace(['&', '='], "_"));
    }
    fn hex_mac(mut mac: impl Mac, signed: &str) -> String {
        mac.update(signed.as_bytes());
        hex::encode(mac.finalize().into_bytes())
    }
    let key = secret.as_bytes();
    const ANY_KEY: &str = "HMAC takes keys of any size";
    match method {
        SignatureMethod::Md5Hash => {
            use md5::Digest;
            hex::encode(md5::Md5::digest(format!("{signed}{secret}").as_bytes()))
        }
        SignatureMethod::Md5 => hex_mac(
            Hmac::<md5::Md5>::new_from_slice(key).expect(ANY_KEY),
            &signed,
        ),
        SignatureMethod::Sha1 => hex_mac(
            Hmac::<sha1::Sha1>::new_from_slice(key).expect(ANY_KEY),
            &signed,
        ),
        SignatureMethod::Sha256 => hex_mac(
            Hmac::<sha2::Sha256>::new_from_slice(key).expect(ANY_KEY),
            &signed,
        ),
        SignatureMethod::Sha512 => hex_mac(
            Hmac::<sha2::Sha512>::new_from_slice(key).expect(ANY_KEY),
            &signed,
        ),
    }
}

/// Equal, in time that does not depend on where they differ.
fn same(a: &str, b: &str) -> bool {
    a.len() == b.len()
        && a.bytes().zip(b.bytes()).fold(0u8, |diff, (a, b)| {
            diff | (a.to_ascii_lowercase() ^ b.to_ascii_lowercase())
        }) == 0
}

/// A Vonage delivery receipt (query and body merged). One candidate per Vonage gateway that
/// could have sent it: the gateways whose signature matches (verified), and those without a
/// signature secret (unverified: the store then insists on the exact message id).
pub fn vonage(keys: &ReceiptKeys, params: &Params, at_ms: i64) -> Result<Vec<Receipt>, Refusal> {
    let sig = param(params, "sig");
    let candidates: Vec<(&VonageKey, bool)> = keys
        .vonage
        .iter()
        .filter_map(|key| match (&key.signature, sig) {
            (None, _) => Some((key, false)),
            (Some((secret, method)), Some(sig)) => {
                same(&vonage_signature(secret, *method, params), sig).then_some((key, true))
            }
            (Some(_), None) => None,
        })
        .collect();
    if candidates.is_empty() {
        return Err(Refusal::Forbidden(
            "no Vonage gateway takes this receipt: missing or wrong sig".into(),
        ));
    }
    let message_id = required(params, "messageId")?;
    let status = required(params, "status")?;
    let code = param(params, "err-code")
        .filter(|code| !code.is_empty())
        .map(str::to_string);
    let state = match status {
        "delivered" => DeliveryState::Delivered,
        "expired" | "failed" | "rejected"
            if code
                .as_deref()
                .is_some_and(|code| VONAGE_BAD_NUMBER.contains(&code)) =>
        {
            DeliveryState::Undeliverable
        }
        "expired" | "failed" | "rejected" => DeliveryState::Failed,
        "accepted" | "buffered" | "unknown" => DeliveryState::Sent,
        other => return Err(Refusal::Malformed(format!("unknown status {other:?}"))),
    };
    let delivery = delivery_id(param(params, "delivery").or(param(params, "client-ref")))?;
    Ok(candidates
        .into_iter()
        .map(|(key, verified)| Receipt {
            gateway: key.name.clone(),
            message_id: Some(message_id.to_string()),
            delivery_id: delivery,
            verified,
            status: status.to_string(),
            state,
            code: code.clone(),
            text: None,
            at_ms,
        })
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn params(pairs: &[(&str, &str)]) -> Params {
        pairs
            .iter()
            .map(|(name, value)| (name.to_string(), value.to_string()))
            .collect()
    }

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

    #[test]
    fn vonage_signatures_sort_and_escape_the_parameters() {
        let receipt = params(&[("b", "x&y"), ("a", "1=2"), ("sig", "ignored")]);
        let md5hash = vonage_signature("s", SignatureMethod::Md5Hash, &receipt);
        use md5::Digest;
        assert_eq!(md5hash, hex::encode(md5::Md5::digest(b"&a=1_2&b=x_ys")));
        assert_eq!(
            vonage_signature("s", SignatureMethod::Sha256, &receipt).len(),
            64
        );
        assert!(same(&md5hash.to_uppercase(), &md5hash));
        assert!(!same(&md5hash, &md5hash[1..]));
    }
}
