//! The SMS gateways' delivery receipts: `/receipts/{kind}` for every kind of gateway that has
//! a receipt reader (`ReceiptKeys`), by the methods it names. Each request's parts go to its
//! kind's reader, which checks and maps them; the answer comes once the receipt is committed.

use crate::store::{Receipt, ReceiptEffect};
use crate::web::receipts::{ReceiptKeys, ReceiptMethods, ReceiptRequest, Refusal};
use crate::web::{AppState, WebError};
use axum::body::Bytes;
use axum::extract::{RawQuery, State};
use axum::http::{HeaderMap, StatusCode};
use axum::routing::{get, post};
use axum::Router;

pub fn router(keys: &ReceiptKeys) -> Router<AppState> {
    let mut router = Router::new();
    for (index, (kind, reader)) in keys.readers.iter().enumerate() {
        let handler = move |State(state): State<AppState>,
                            RawQuery(query): RawQuery,
                            headers: HeaderMap,
                            body: Bytes| async move {
            receive(&state, index, query.as_deref(), &headers, &body).await
        };
        let methods = match reader.methods() {
            ReceiptMethods::Post => post(handler),
            ReceiptMethods::GetAndPost => get(handler).post(handler),
        };
        router = router.route(&format!("/receipts/{kind}"), methods);
    }
    router
}

/// Anyone can send these: they are counted, and summed up in the log now and then.
fn refused(state: &AppState, kind: &str, refusal: Refusal) -> WebError {
    let error = WebError::from(refusal);
    state
        .refusals
        .note(format!("{kind}: {} {error}", error.status().as_u16()));
    error
}

/// The body is read even where the kind's receipt is all in the query, so that one above
/// [`MAX_BODY_BYTES`](crate::web::MAX_BODY_BYTES) is refused with 413 at every endpoint.
async fn receive(
    state: &AppState,
    index: usize,
    query: Option<&str>,
    headers: &HeaderMap,
    body: &[u8],
) -> Result<StatusCode, WebError> {
    let candidates = read(state, index, query, headers, body)?;
    record(state, candidates).await
}

/// A receipt's candidates, read by the kind at `index` of the state's [`ReceiptKeys`].
fn read(
    state: &AppState,
    index: usize,
    query: Option<&str>,
    headers: &HeaderMap,
    body: &[u8],
) -> Result<Vec<Receipt>, WebError> {
    let (kind, reader) = &state.keys.readers[index];
    let header = |name: &str| headers.get(name).and_then(|value| value.to_str().ok());
    let request = ReceiptRequest {
        query,
        body,
        header: &header,
    };
    reader
        .read(&request, state.clock.now_ms())
        .map_err(|refusal| refused(state, kind, refusal))
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
