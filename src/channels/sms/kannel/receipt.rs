//! Kannel's delivery reports: the token that proves the DLR URL is ours, and what each
//! report type means for the delivery.

use super::{dlr_token_is_valid, KannelSettings};
use crate::channels::sms::receipt::{
    delivery_id, form, param, required, Params, ReceiptMethods, ReceiptReader, ReceiptRequest,
    Refusal,
};
use crate::domain::{DeliveryState, Receipt};

/// Every Kannel gateway's DLRs: `[serve] receipt_secret` signs all their DLR URLs.
struct KannelReceipts {
    /// Without it every Kannel receipt is refused.
    receipt_secret: Option<String>,
}

/// Refuses without a receipt secret when a Kannel gateway asks for receipts (has a
/// `dlr_url`): they could not be checked.
pub(super) fn reader(
    gateways: &[&KannelSettings],
    receipt_secret: Option<&str>,
) -> Result<Box<dyn ReceiptReader>, String> {
    let asks = gateways.iter().any(|gateway| gateway.dlr_url.is_some());
    if asks && receipt_secret.is_none() {
        return Err(
            "a Kannel gateway with a dlr_url needs [serve] receipt_secret or \
             TOCSIN_RECEIPT_SECRET (it signs the delivery ids in Kannel's DLR URLs)"
                .into(),
        );
    }
    Ok(Box::new(KannelReceipts {
        receipt_secret: receipt_secret.map(str::to_string),
    }))
}

impl ReceiptReader for KannelReceipts {
    fn methods(&self) -> ReceiptMethods {
        ReceiptMethods::GetAndPost
    }

    /// The DLR is all in the query; a body means nothing.
    fn read(&self, request: &ReceiptRequest<'_>, at_ms: i64) -> Result<Vec<Receipt>, Refusal> {
        let params = form(request.query.unwrap_or_default().as_bytes());
        receipt(self.receipt_secret.as_deref(), &params, at_ms).map(|receipt| vec![receipt])
    }
}

/// A Kannel DLR (the query of the `dlr-url`): `delivery`, `token`, `type` (`%d`) and
/// `status` (`%A`, the SMSC's text). `receipt_secret` signs the DLR URLs; without it every
/// Kannel receipt is refused.
fn receipt(receipt_secret: Option<&str>, params: &Params, at_ms: i64) -> Result<Receipt, Refusal> {
    let delivery = delivery_id(Some(required(params, "delivery")?))?.unwrap_or_default();
    let token = param(params, "token").unwrap_or_default();
    let Some(secret) = receipt_secret else {
        return Err(Refusal::Forbidden(
            "no receipt secret is configured: Kannel receipts cannot be checked".into(),
        ));
    };
    if !dlr_token_is_valid(secret, delivery, token) {
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
