//! The SMS gateways' delivery receipts: `/receipts/kannel`, `/receipts/twilio`,
//! `/receipts/vonage`. Each handler reads its gateway's request, has `web::receipts` check
//! and map it, and answers once the receipt is committed.

use crate::store::{Receipt, ReceiptEffect};
use crate::web::receipts::{self, Refusal};
use crate::web::{AppState, WebError};
use axum::body::Bytes;
use axum::extract::{RawQuery, State};
use axum::http::{HeaderMap, StatusCode};
use axum::routing::{get, post};
use axum::Router;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/receipts/kannel", get(kannel).post(kannel))
        .route("/receipts/twilio", post(twilio))
        .route("/receipts/vonage", get(vonage).post(vonage))
}

fn form(bytes: &[u8]) -> Vec<(String, String)> {
    url::form_urlencoded::parse(bytes).into_owned().collect()
}

/// Anyone can send these: they are counted, and summed up in the log now and then.
fn refused(state: &AppState, gateway: &str, refusal: Refusal) -> WebError {
    let error = WebError::from(refusal);
    state
        .refusals
        .note(format!("{gateway}: {} {error}", error.status().as_u16()));
    error
}

/// Records the first candidate that names a known delivery; answers once it is committed.
async fn record(state: &AppState, candidates: Vec<Receipt>) -> Result<StatusCode, WebError> {
    for receipt in candidates {
        match state.receipts.record(receipt).await {
            Some(ReceiptEffect::Unknown) => continue,
            Some(_) => return Ok(StatusCode::OK),
            None => return Err(WebError::NotStored),
        }
    }
    tracing::info!(message = "receipt for no known delivery: ignored");
    Ok(StatusCode::OK)
}

/// Kannel's receipt is all in the query; a body is read only to be refused with 413 above
/// [`MAX_BODY_BYTES`](crate::web::MAX_BODY_BYTES), as at the other endpoints.
async fn kannel(
    State(state): State<AppState>,
    RawQuery(query): RawQuery,
    _body: Bytes,
) -> Result<StatusCode, WebError> {
    let params = form(query.unwrap_or_default().as_bytes());
    let receipt = receipts::kannel(&state.keys, &params, state.clock.now_ms())
        .map_err(|refusal| refused(&state, "kannel", refusal))?;
    record(&state, vec![receipt]).await
}

async fn twilio(
    State(state): State<AppState>,
    RawQuery(query): RawQuery,
    headers: HeaderMap,
    body: Bytes,
) -> Result<StatusCode, WebError> {
    let signature = headers
        .get("x-twilio-signature")
        .and_then(|value| value.to_str().ok());
    let params = form(&body);
    let receipt = receipts::twilio(
        &state.keys,
        query.as_deref(),
        &params,
        signature,
        state.clock.now_ms(),
    )
    .map_err(|refusal| refused(&state, "twilio", refusal))?;
    record(&state, vec![receipt]).await
}

/// Vonage sends GET or POST, form or JSON: the query and the body are merged.
async fn vonage(
    State(state): State<AppState>,
    RawQuery(query): RawQuery,
    body: Bytes,
) -> Result<StatusCode, WebError> {
    let mut params = form(query.unwrap_or_default().as_bytes());
    if body.trim_ascii_start().starts_with(b"{") {
        let Ok(serde_json::Value::Object(object)) = serde_json::from_slice(&body) else {
            let refusal = Refusal::Malformed("body is not a JSON object".into());
            return Err(refused(&state, "vonage", refusal));
        };
        params.extend(object.into_iter().map(|(name, value)| {
            let value = match value {
                serde_json::Value::String(text) => text,
                other => other.to_string(),
            };
            (name, value)
        }));
    } else {
        params.extend(form(&body));
    }
    let candidates = receipts::vonage(&state.keys, &params, state.clock.now_ms())
        .map_err(|refusal| refused(&state, "vonage", refusal))?;
    record(&state, candidates).await
}
