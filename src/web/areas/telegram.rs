//! `POST /telegram/webhook`: the updates Telegram posts in webhook mode (`[telegram]
//! webhook_url` leads here through the reverse proxy). Only a request carrying the secret
//! given to `setWebhook` in `X-Telegram-Bot-Api-Secret-Token` is read; anything else is 401,
//! counted in a throttled warning, and nothing of it is processed. The answer comes as soon
//! as the update is queued for the bot (Telegram waits for it before posting the next);
//! an update posted again is answered 200 and not processed twice.

use crate::bot::{Intake, Offered};
use crate::web::throttled::Throttled;
use axum::body::Bytes;
use axum::extract::{DefaultBodyLimit, State};
use axum::http::{HeaderMap, StatusCode};
use axum::routing::post;
use axum::Router;
use std::sync::Arc;

pub const PATH: &str = "/telegram/webhook";

/// Telegram's header with the webhook's secret.
const SECRET_HEADER: &str = "x-telegram-bot-api-secret-token";

/// An update is a message of at most 4096 characters and its details.
const MAX_BODY_BYTES: usize = 1024 * 1024;

#[derive(Clone)]
struct Hook {
    intake: Arc<Intake>,
    refusals: Arc<Throttled>,
}

pub fn router(intake: Intake) -> Router {
    let hook = Hook {
        intake: Arc::new(intake),
        refusals: Throttled::start("Telegram webhook requests refused (no or a wrong secret)"),
    };
    Router::new()
        .route(PATH, post(receive))
        .layer(DefaultBodyLimit::max(MAX_BODY_BYTES))
        .with_state(hook)
}

async fn receive(State(hook): State<Hook>, headers: HeaderMap, body: Bytes) -> StatusCode {
    let secret = headers.get(SECRET_HEADER).map(|value| value.as_bytes());
    if !hook.intake.authentic(secret) {
        hook.refusals.note(if secret.is_some() {
            "a wrong secret"
        } else {
            "no secret"
        });
        return StatusCode::UNAUTHORIZED;
    }
    let update = match serde_json::from_slice(&body) {
        Ok(update) => update,
        Err(error) => {
            tracing::warn!(message = "Telegram webhook: not an Update", %error);
            return StatusCode::BAD_REQUEST;
        }
    };
    match hook.intake.offer(update) {
        Offered::Queued | Offered::Again => StatusCode::OK,
        // Telegram posts it again later.
        Offered::Full => StatusCode::SERVICE_UNAVAILABLE,
    }
}
