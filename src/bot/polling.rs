//! Long polling: `getUpdates` with the `offset` after the last update handled (which
//! confirms every update before it, as the Bot API documents), a long-poll `timeout`, and
//! only messages and button presses. Telegram allows it only without a webhook, which
//! `introduce` deleted.

use super::{BotFailure, Inner, ALLOWED};
use teloxide::payloads::GetUpdatesSetters;
use teloxide::requests::Requester;

/// Polls and handles each update in turn until `stop` turns true or Telegram refuses the
/// token.
pub(super) async fn run(inner: &Inner, mut stop: tokio::sync::watch::Receiver<bool>) {
    let mut offset: Option<i32> = None;
    let mut failures = 0;
    loop {
        let mut request = inner
            .bot
            .get_updates()
            .timeout(inner.poll_timeout)
            .allowed_updates(ALLOWED);
        if let Some(offset) = offset {
            request = request.offset(offset);
        }
        let answer = tokio::select! {
            answer = request => answer,
            _ = stop.changed() => break,
        };
        match answer {
            Ok(updates) => {
                failures = 0;
                for update in updates {
                    // Past this one whatever its answer does: an update that cannot be
                    // answered must not come back for ever.
                    offset = Some(
                        i32::try_from(update.id.0)
                            .unwrap_or(i32::MAX)
                            .saturating_add(1),
                    );
                    inner.handle(update).await;
                }
            }
            Err(error) => {
                let failure = inner.failure(error);
                if let BotFailure::Token(reason) = &failure {
                    tracing::error!(message = "Telegram bot stopped", reason = %reason);
                    return;
                }
                failures += 1;
                let pause = inner.pause(&failure, failures);
                tracing::warn!(
                    message = "Telegram getUpdates failed: polling again later",
                    reason = %failure,
                    in_ms = pause.as_millis() as u64
                );
                tokio::select! {
                    () = tokio::time::sleep(pause) => {}
                    _ = stop.changed() => break,
                }
            }
        }
    }
    // Confirms what was handled, so that the next start does not answer it again.
    if let Some(offset) = offset {
        let confirmed = inner
            .bot
            .get_updates()
            .offset(offset)
            .timeout(0)
            .limit(1)
            .allowed_updates(ALLOWED);
        let _ = tokio::time::timeout(std::time::Duration::from_secs(5), confirmed).await;
    }
}
