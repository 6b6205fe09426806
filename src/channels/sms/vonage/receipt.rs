//! Vonage's delivery receipts: the `sig` that proves Vonage sent them (when a signature
//! secret is set), and what each `status` and `err-code` means for the delivery.

use super::VonageSettings;
use crate::channels::sms::config::secret;
use crate::channels::sms::receipt::{
    delivery_id, form, param, required, Params, ReceiptMethods, ReceiptReader, ReceiptRequest,
    Refusal,
};
use crate::domain::{DeliveryState, Receipt};
use hmac::{Hmac, Mac};

/// Every Vonage gateway's delivery receipts, each checked with its own signature secret.
struct VonageReceipts {
    keys: Vec<VonageKey>,
}

/// The gateways' keys, their signature secrets read and their methods checked.
pub(super) fn reader(gateways: &[&VonageSettings]) -> Result<Box<dyn ReceiptReader>, String> {
    let keys = gateways
        .iter()
        .map(|settings| VonageKey::from_settings(settings))
        .collect::<Result<_, _>>()?;
    Ok(Box::new(VonageReceipts { keys }))
}

impl ReceiptReader for VonageReceipts {
    fn methods(&self) -> ReceiptMethods {
        ReceiptMethods::GetAndPost
    }

    /// Vonage sends GET or POST, form or JSON: the query and the body are merged.
    fn read(&self, request: &ReceiptRequest<'_>, at_ms: i64) -> Result<Vec<Receipt>, Refusal> {
        let mut params = form(request.query.unwrap_or_default().as_bytes());
        if request.body.trim_ascii_start().starts_with(b"{") {
            let Ok(serde_json::Value::Object(object)) = serde_json::from_slice(request.body) else {
                return Err(Refusal::Malformed("body is not a JSON object".into()));
            };
            params.extend(object.into_iter().map(|(name, value)| {
                let value = match value {
                    serde_json::Value::String(text) => text,
                    other => other.to_string(),
                };
                (name, value)
            }));
        } else {
            params.extend(form(request.body));
        }
        receipt(&self.keys, &params, at_ms)
    }
}

/// What checks one Vonage gateway's receipts.
struct VonageKey {
    name: String,
    /// The signature secret and method, if receipts are signed.
    signature: Option<(String, SignatureMethod)>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SignatureMethod {
    Md5Hash,
    Md5,
    Sha1,
    Sha256,
    Sha512,
}

impl VonageKey {
    /// The gateway's key, its signature secret read and its method checked.
    fn from_settings(settings: &VonageSettings) -> Result<VonageKey, String> {
        let VonageSettings {
            name,
            signature_secret,
            signature_secret_env,
            signature_method,
            ..
        } = settings;
        let signature = if signature_secret.is_some() || signature_secret_env.is_some() {
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
        Ok(VonageKey {
            name: name.clone().unwrap_or_else(|| "vonage".into()),
            signature,
        })
    }
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
fn receipt(keys: &[VonageKey], params: &Params, at_ms: i64) -> Result<Vec<Receipt>, Refusal> {
    let sig = param(params, "sig");
    let candidates: Vec<(&VonageKey, bool)> = keys
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
    use crate::channels::sms::receipt::params;

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
