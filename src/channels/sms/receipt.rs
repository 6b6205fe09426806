//! What every gateway's delivery receipt handling shares: the request as a gateway sent it,
//! without its HTTP ([`ReceiptRequest`]), the [`ReceiptReader`] each kind of gateway builds
//! from the configuration (`GatewaySettings::receipt_reader`), and why a receipt is refused.
//! Each gateway's own check and mapping to a [`Receipt`] is its folder's `receipt.rs`;
//! `web/` only carries the HTTP, at `/receipts/{kind}` for every kind with a reader.

use crate::domain::Receipt;

/// Why a receipt is refused, as an HTTP status.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Refusal {
    /// 400: not a receipt we can read.
    Malformed(String),
    /// 403: unsigned, mis-signed, or a wrong token.
    Forbidden(String),
}

/// A receipt's parameters (query or form), in the order they came.
pub type Params = Vec<(String, String)>;

/// A receipt request, as the gateway sent it.
pub struct ReceiptRequest<'a> {
    /// The URL's query, undecoded.
    pub query: Option<&'a str>,
    pub body: &'a [u8],
    /// A header's value by its (lowercase) name; `None` when absent or not text.
    pub header: &'a dyn Fn(&str) -> Option<&'a str>,
}

/// The HTTP methods a kind's receipts come by; any other is refused with 405.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ReceiptMethods {
    Post,
    GetAndPost,
}

/// Checks and reads the receipts of every configured gateway of one kind, built once at start.
pub trait ReceiptReader: Send + Sync {
    fn methods(&self) -> ReceiptMethods;
    /// The receipt's candidates, in order: the first that names a known delivery is applied.
    fn read(&self, request: &ReceiptRequest<'_>, at_ms: i64) -> Result<Vec<Receipt>, Refusal>;
}

/// Form-encoded parameters (a query or a form body).
pub fn form(bytes: &[u8]) -> Params {
    url::form_urlencoded::parse(bytes).into_owned().collect()
}

pub(crate) fn param<'a>(params: &'a Params, name: &str) -> Option<&'a str> {
    params
        .iter()
        .find(|(key, _)| key == name)
        .map(|(_, value)| value.as_str())
}

pub(crate) fn required<'a>(params: &'a Params, name: &str) -> Result<&'a str, Refusal> {
    param(params, name)
        .filter(|value| !value.is_empty())
        .ok_or_else(|| Refusal::Malformed(format!("{name} is missing")))
}

pub(crate) fn delivery_id(value: Option<&str>) -> Result<Option<i64>, Refusal> {
    value
        .map(|value| {
            value
                .parse()
                .map_err(|_| Refusal::Malformed(format!("delivery {value:?} is not an id")))
        })
        .transpose()
}

/// Receipt parameters written as pairs, for the gateways' tests.
#[cfg(test)]
pub(crate) fn params(pairs: &[(&str, &str)]) -> Params {
    pairs
        .iter()
        .map(|(name, value)| (name.to_string(), value.to_string()))
        .collect()
}
