//! `tocsin serve`: the SMS gateways' delivery receipts over HTTP, and the dispatcher's
//! scheduler (`dispatch::scheduler`) for updates being sent.
//!
//! Answers: 200 for every receipt read and authenticated — applied, noted, a replay or an
//! unknown delivery alike, since Twilio and Kannel retry on anything else and a legitimate
//! unknown id must not loop; 400 malformed; 403 unsigned, mis-signed or a wrong token; 413
//! a body over [`MAX_BODY_BYTES`]; 500 when the database fails (the gateway retries later).

pub mod receipts;
pub mod server;
mod throttled;
mod writer;

use crate::app::{App, AppError};
use crate::clock::Clock;
use crate::dispatch::{scheduler, Dispatcher};
use crate::store::{Receipt, ReceiptEffect, Store};
use axum::body::Bytes;
use axum::extract::{DefaultBodyLimit, RawQuery, State};
use axum::http::{HeaderMap, StatusCode};
use axum::routing::{get, post};
use axum::Router;
pub use receipts::ReceiptKeys;
use receipts::Refusal;
use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;
use throttled::Throttled;
use writer::ReceiptWriter;

/// Receipts are a few hundred bytes; anything much larger is not one.
pub const MAX_BODY_BYTES: usize = 64 * 1024;

#[derive(Clone)]
struct WebState {
    receipts: ReceiptWriter,
    keys: Arc<ReceiptKeys>,
    clock: Arc<dyn Clock>,
    refusals: Arc<Throttled>,
}

/// The receipt endpoints: `/receipts/kannel`, `/receipts/twilio`, `/receipts/vonage`.
/// Starts the tasks that write the receipts and the warnings, so it must be called inside a
/// Tokio runtime.
pub fn router(store: Arc<dyn Store>, keys: ReceiptKeys, clock: Arc<dyn Clock>) -> Router {
    let state = WebState {
        receipts: ReceiptWriter::start(store),
        keys: Arc::new(keys),
        clock,
        refusals: Throttled::start("receipts refused (forged, or not a receipt)"),
    };
    Router::new()
        .route("/receipts/kannel", get(kannel).post(kannel))
        .route("/receipts/twilio", post(twilio))
        .route("/receipts/vonage", get(vonage).post(vonage))
        .layer(DefaultBodyLimit::max(MAX_BODY_BYTES))
        .with_state(state)
}

fn form(bytes: &[u8]) -> Vec<(String, String)> {
    url::form_urlencoded::parse(bytes).into_owned().collect()
}

/// Anyone can send these: they are counted, and summed up in the log now and then.
fn refused(state: &WebState, gateway: &str, refusal: Refusal) -> StatusCode {
    let (status, why) = match refusal {
        Refusal::Malformed(why) => (StatusCode::BAD_REQUEST, why),
        Refusal::Forbidden(why) => (StatusCode::FORBIDDEN, why),
    };
    state
        .refusals
        .note(format!("{gateway}: {} {why}", status.as_u16()));
    status
}

/// Records the first candidate that names a known delivery; answers once it is committed.
async fn record(state: &WebState, candidates: Vec<Receipt>) -> StatusCode {
    for receipt in candidates {
        match state.receipts.record(receipt).await {
            Some(ReceiptEffect::Unknown) => continue,
            Some(_) => return StatusCode::OK,
            None => return StatusCode::INTERNAL_SERVER_ERROR,
        }
    }
    tracing::info!(message = "receipt for no known delivery: ignored");
    StatusCode::OK
}

/// Kannel's receipt is all in the query; a body is read only to be refused with 413 above
/// [`MAX_BODY_BYTES`], as at the other endpoints.
async fn kannel(
    State(state): State<WebState>,
    RawQuery(query): RawQuery,
    _body: Bytes,
) -> StatusCode {
    let params = form(query.unwrap_or_default().as_bytes());
    match receipts::kannel(&state.keys, &params, state.clock.now_ms()) {
        Ok(receipt) => record(&state, vec![receipt]).await,
        Err(refusal) => refused(&state, "kannel", refusal),
    }
}

async fn twilio(
    State(state): State<WebState>,
    RawQuery(query): RawQuery,
    headers: HeaderMap,
    body: Bytes,
) -> StatusCode {
    let signature = headers
        .get("x-twilio-signature")
        .and_then(|value| value.to_str().ok());
    let params = form(&body);
    match receipts::twilio(
        &state.keys,
        query.as_deref(),
        &params,
        signature,
        state.clock.now_ms(),
    ) {
        Ok(receipt) => record(&state, vec![receipt]).await,
        Err(refusal) => refused(&state, "twilio", refusal),
    }
}

/// Vonage sends GET or POST, form or JSON: the query and the body are merged.
async fn vonage(
    State(state): State<WebState>,
    RawQuery(query): RawQuery,
    body: Bytes,
) -> StatusCode {
    let mut params = form(query.unwrap_or_default().as_bytes());
    if body.trim_ascii_start().starts_with(b"{") {
        let Ok(serde_json::Value::Object(object)) = serde_json::from_slice(&body) else {
            return refused(
                &state,
                "vonage",
                Refusal::Malformed("body is not a JSON object".into()),
            );
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
    match receipts::vonage(&state.keys, &params, state.clock.now_ms()) {
        Ok(candidates) => record(&state, candidates).await,
        Err(refusal) => refused(&state, "vonage", refusal),
    }
}

/// `tocsin serve`, bound to its address and ready to run.
pub struct Server {
    app: App,
    dispatcher: Arc<Dispatcher>,
    keys: ReceiptKeys,
    limits: server::Limits,
    listener: tokio::net::TcpListener,
    address: SocketAddr,
}

impl Server {
    /// Checks the configuration (a receipt secret where Kannel receipts need one, the
    /// limits, enough file descriptors) and binds `[serve] bind`.
    pub async fn bind(app: App) -> Result<Server, AppError> {
        // serve sends too (updates being sent, fallbacks): the same details go out.
        app.refuse_placeholders("run tocsin serve")?;
        let keys = ReceiptKeys::from_config(&app.config).map_err(AppError::Config)?;
        let limits = server::Limits::from_config(&app.config.serve).map_err(AppError::Config)?;
        limits.ensure_file_limit().map_err(AppError::Config)?;
        let dispatcher = Arc::new(app.dispatcher()?);
        let bind = &app.config.serve.bind;
        let cannot = |error: std::io::Error| {
            AppError::Config(format!("[serve] bind: cannot listen on {bind}: {error}"))
        };
        let listener = tokio::net::TcpListener::bind(bind).await.map_err(cannot)?;
        let address = listener.local_addr().map_err(cannot)?;
        Ok(Server {
            app,
            dispatcher,
            keys,
            limits,
            listener,
            address,
        })
    }

    /// The address it listens on (the port the system chose, for `:0`).
    pub fn address(&self) -> SocketAddr {
        self.address
    }

    /// Takes receipts and sends the updates being sent until `shutdown` completes.
    pub async fn run(self, shutdown: impl Future<Output = ()> + Send + 'static) {
        let Server {
            app,
            dispatcher,
            keys,
            limits,
            listener,
            address,
        } = self;
        tracing::info!(message = "tocsin serve listening", %address);
        let (stop, stopped) = tokio::sync::watch::channel(false);
        let dispatching = tokio::spawn(scheduler::run(dispatcher, stopped));
        let router = router(Arc::clone(&app.store), keys, Arc::clone(&app.clock));
        server::run(listener, router, limits, shutdown).await;
        let _ = stop.send(true);
        let _ = dispatching.await;
    }
}

/// Runs `tocsin serve` until `shutdown` completes: the receipt endpoints on `[serve] bind`,
/// and every few seconds a dispatcher run for each update in state `sending` with open
/// deliveries. Refuses to start without a receipt secret when a Kannel gateway has a
/// `dlr_url`.
pub async fn serve(
    app: App,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> Result<(), AppError> {
    Server::bind(app).await?.run(shutdown).await;
    Ok(())
}
