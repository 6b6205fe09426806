//! What every gateway's delivery receipt handling shares: the request's parameters and why a
//! receipt is refused. Each gateway's own check and mapping to a [`Receipt`] is its folder's
//! `receipt.rs`; `web/` only carries the HTTP.
//!
//! [`Receipt`]: crate::domain::Receipt

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
