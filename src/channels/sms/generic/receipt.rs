//! The generic gateway's delivery receipts: a form `POST` of `token`, `id` (the message id
//! the gateway gave) and `status` (`delivered` or `failed`), taken from the gateway whose
//! `receipt_token` it carries.

use super::GenericSettings;
use crate::channels::sms::receipt::{
    form, param, required, ReceiptMethods, ReceiptReader, ReceiptRequest, Refusal,
};
use crate::domain::{DeliveryState, Receipt};

/// Every generic gateway with a `receipt_token`: its name and its token.
struct GenericReceipts {
    tokens: Vec<(String, String)>,
}

pub(super) fn reader(gateways: &[&GenericSettings]) -> Box<dyn ReceiptReader> {
    let tokens = gateways
        .iter()
        .filter_map(|settings| {
            let name = settings.name.clone().unwrap_or_else(|| "generic".into());
            settings.receipt_token.clone().map(|token| (name, token))
        })
        .collect();
    Box::new(GenericReceipts { tokens })
}

impl ReceiptReader for GenericReceipts {
    fn methods(&self) -> ReceiptMethods {
        ReceiptMethods::Post
    }

    fn read(&self, request: &ReceiptRequest<'_>, at_ms: i64) -> Result<Vec<Receipt>, Refusal> {
        let params = form(request.body);
        let token = param(&params, "token").unwrap_or_default();
        let (gateway, _) = self
            .tokens
            .iter()
            .find(|(_, expected)| expected == token)
            .ok_or_else(|| Refusal::Forbidden("bad or missing token".into()))?;
        let status = required(&params, "status")?;
        let state = match status {
            "delivered" => DeliveryState::Delivered,
            "failed" => DeliveryState::Failed,
            other => return Err(Refusal::Malformed(format!("unknown status {other:?}"))),
        };
        Ok(vec![Receipt {
            gateway: gateway.clone(),
            message_id: Some(required(&params, "id")?.to_string()),
            delivery_id: None,
            verified: true,
            status: status.to_string(),
            state,
            code: None,
            text: None,
            at_ms,
        }])
    }
}
