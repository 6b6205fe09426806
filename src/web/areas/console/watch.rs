//! Watching an update go out: the dashboard (`/console/updates/{id}/watch`), its live
//! counts as Server-Sent Events (`…/events`), the unreached list as the call centre's CSV
//! (`…/unreached.csv`, the CSV of `tocsin export unreached`) and "send the fallback to the
//! unreached now" (`POST …/fallback`, approvers).
//!
//! The counts are `App::progress`, the counts of `tocsin status --json`, read by one poller
//! per update that every dashboard of it shares (`web::progress`). The page works without
//! JavaScript (its counts as of loading, a link to load it again: no automatic refresh,
//! which would take a screen reader's place and the keyboard's focus away every few
//! seconds); `watch.js`, served here since the CSP allows no inline script, follows the
//! events and replaces the counts with the fragment each event carries, rendered and
//! escaped here like the page.

use super::{Console, ConsoleError, SignedIn};
use crate::domain::Language;
use crate::domain::{Action, ChannelKind, DeliveryState};
use crate::report::{grouped, Progress, UnreachedFilter};
use crate::spreadsheet::Separator;
use crate::web::progress::Latest;
use axum::extract::{Path, Query, State};
use axum::http::header;
use axum::response::sse::{Event, KeepAlive, Sse};
use axum::response::{Html, IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use axum::Router;
use serde::Serialize;
use std::convert::Infallible;
use std::time::Duration;
use tera::Context;
use tokio::time::Instant;

const SCRIPT: &str = include_str!("../../../../templates/console/watch.js");

/// Failure reasons the dashboard lists; the CSV and `tocsin status --json` have them all.
const REASONS_SHOWN: usize = 50;
/// Unreached contacts the page lists; the CSV has them all.
const UNREACHED_SHOWN: usize = 50;
/// How often a stream reads its session again, for the ends this process does not see (an
/// account disabled by `tocsin user disable`). A sign-out or a disable through this
/// process, and the session's expiry, are seen before the next event without a read.
const SESSION_CHECK: Duration = Duration::from_secs(5);
/// How long the browser waits before it reconnects, once a stream ended.
const RECONNECT: Duration = Duration::from_secs(2);
/// Between two keep-alive comments, so that no proxy takes a quiet stream for a dead one.
const KEEP_ALIVE: Duration = Duration::from_secs(15);

pub fn routes() -> Router<Console> {
    Router::new()
        .route("/console/watch.js", get(script))
        .route("/console/updates/{id}/watch", get(dashboard))
        .route("/console/updates/{id}/events", get(events))
        .route("/console/updates/{id}/unreached.csv", get(unreached_csv))
        .route("/console/updates/{id}/fallback", post(fallback))
}

async fn script() -> Response {
    (
        [
            (header::CONTENT_TYPE, "text/javascript; charset=utf-8"),
            (header::CACHE_CONTROL, "max-age=300"),
        ],
        SCRIPT,
    )
        .into_response()
}

/// One line of the table: a channel, a language, an audience, and its count per state.
#[derive(Serialize)]
struct Line {
    channel: String,
    language: String,
    audience: String,
    counts: Vec<Cell>,
    total: String,
}

/// A count under its state's column.
#[derive(Serialize)]
struct Cell {
    state: DeliveryState,
    n: String,
}

#[derive(Serialize)]
struct Reason {
    channel: ChannelKind,
    state: DeliveryState,
    reason: Option<String>,
    count: String,
}

#[derive(Serialize)]
struct Breaker {
    gateway: String,
    state: &'static str,
    since: Option<String>,
    last_error: Option<String>,
}

/// A count as a reader of `language` groups its thousands: 12.345, 12 345, 12,345.
fn figure(language: Language, n: u64) -> String {
    let grouped = grouped(n);
    match language {
        Language::Nl => grouped.replace(',', "."),
        Language::Fr => grouped.replace(',', "\u{202f}"),
        Language::En => grouped,
    }
}

/// What the counts' fragment shows, from [`Progress`].
fn progress_context(console: &Console, language: Language, progress: &Progress) -> Context {
    let states: Vec<DeliveryState> = DeliveryState::ALL
        .into_iter()
        .filter(|state| progress.by_state.contains_key(state))
        .collect();
    let count_of = |counts: &std::collections::BTreeMap<DeliveryState, u64>| -> Vec<Cell> {
        states
            .iter()
            .map(|state| Cell {
                state: *state,
                n: figure(language, counts.get(state).copied().unwrap_or(0)),
            })
            .collect()
    };
    let lines: Vec<Line> = progress
        .by_channel_language_audience
        .iter()
        .filter_map(|(key, counts)| {
            let mut parts = key.splitn(3, '/');
            let (channel, lang, audience) = (parts.next()?, parts.next()?, parts.next()?);
            Some(Line {
                channel: channel.into(),
                language: lang.into(),
                audience: audience.into(),
                counts: count_of(counts),
                total: figure(language, counts.values().sum()),
            })
        })
        .collect();
    let reasons: Vec<Reason> = progress
        .failures
        .iter()
        .take(REASONS_SHOWN)
        .map(|failure| Reason {
            channel: failure.channel,
            state: failure.state,
            reason: failure.reason.clone(),
            count: figure(language, failure.count),
        })
        .collect();
    let breakers: Vec<Breaker> = progress
        .breakers
        .iter()
        .map(|(gateway, breaker)| Breaker {
            gateway: gateway.clone(),
            state: match breaker.state.as_str() {
                "closed" => "closed",
                "open" => "open",
                "half-open" => "half-open",
                _ => "unknown",
            },
            since: breaker
                .since_ms
                .map(|since| console.pages.when(language, since)),
            last_error: breaker.last_error.clone(),
        })
        .collect();
    let mut context = Context::new();
    context.insert("update_id", &progress.update_id);
    context.insert("update_state", progress.state.as_str());
    context.insert("paused", &progress.paused);
    context.insert("held", &figure(language, progress.held));
    context.insert("total", &figure(language, progress.total));
    context.insert("total_raw", &progress.total);
    context.insert("settled", &figure(language, progress.settled()));
    context.insert("settled_raw", &progress.settled());
    context.insert("percent", &progress.percent());
    context.insert("states", &states);
    context.insert("lines", &lines);
    context.insert("all_counts", &count_of(&progress.by_state));
    context.insert("reasons", &reasons);
    context.insert(
        "reasons_more",
        &progress.failures.len().saturating_sub(REASONS_SHOWN),
    );
    context.insert("breakers", &breakers);
    context
}

#[derive(serde::Deserialize)]
struct Shown {
    /// After "send the fallback now": how many deliveries it planned.
    fallback: Option<u64>,
}

#[derive(Serialize)]
struct UnreachedRow {
    name: String,
    external_id: String,
    mobile: Option<String>,
    phone: Option<String>,
    reasons: String,
}

/// `GET /console/updates/{id}/watch`: any signed-in role.
async fn dashboard(
    State(console): State<Console>,
    signed_in: SignedIn,
    Path(id): Path<i64>,
    Query(shown): Query<Shown>,
) -> Result<Html<String>, ConsoleError> {
    let language = signed_in.visit.language;
    let update = console.app.store.update(id).await?;
    let report = console.app.status(id).await?;
    let progress = console.app.progress(id).await?;
    let mut context = progress_context(&console, language, &progress);
    let may_read_unreached = signed_in.user.role.may(Action::ReadUnreached);
    // Other roles get the number only: not a patient's name or phone number is sent them.
    let listed = if may_read_unreached {
        UNREACHED_SHOWN
    } else {
        0
    };
    let unreached: Vec<UnreachedRow> = report
        .unreached
        .iter()
        .take(listed)
        .map(|contact| UnreachedRow {
            name: contact.name.clone(),
            external_id: contact.external_id.clone(),
            mobile: contact.mobile.clone(),
            phone: contact.phone.clone(),
            reasons: contact.reasons.join("; "),
        })
        .collect();
    context.insert("title", &update.text(language).title);
    context.insert("reference", &update.reference.to_string());
    context.insert("unreached_total", &report.unreached.len());
    context.insert(
        "unreached_more",
        &report.unreached.len().saturating_sub(unreached.len()),
    );
    context.insert("unreached", &unreached);
    context.insert("may_read_unreached", &may_read_unreached);
    context.insert(
        "may_fallback",
        &signed_in.user.role.may(Action::SendFallback),
    );
    context.insert(
        "fallback_planned",
        &shown.fallback.map(|n| figure(language, n)),
    );
    console.pages.render(
        &signed_in.visit,
        Some(&signed_in.user),
        "watch.html.tera",
        context,
    )
}

/// One dashboard's stream.
struct Watching {
    console: Console,
    signed_in: SignedIn,
    latest: Latest,
    /// When this stream ends itself, before `tocsin serve`'s request timeout.
    until: Instant,
    sent: u64,
    ended: bool,
    /// The session as last read; None until the first event.
    session: Option<SessionRead>,
}

/// What a stream knows of its session between two reads.
struct SessionRead {
    at: Instant,
    expires_at_ms: i64,
    /// `App::sessions_ended` before the read.
    ended_before: u64,
}

impl Watching {
    /// Whether the session is still open: read again when this process ended a session
    /// since the last read, or [`SESSION_CHECK`] after it; otherwise its expiry decides.
    async fn session_open(&mut self) -> bool {
        let ended = self.console.app.sessions_ended();
        if let Some(read) = &self.session {
            if read.ended_before == ended && read.at.elapsed() < SESSION_CHECK {
                return self.console.app.clock.now_ms() < read.expires_at_ms;
            }
        }
        match self.console.app.session(&self.signed_in.token).await {
            Ok(Some(session)) => {
                self.session = Some(SessionRead {
                    at: Instant::now(),
                    expires_at_ms: session.expires_at_ms,
                    ended_before: ended,
                });
                true
            }
            Ok(None) => false,
            Err(error) => {
                tracing::warn!(message = "console: cannot read a stream's session", %error);
                false
            }
        }
    }

    /// When the session is read again if nothing else asks.
    fn next_session_read(&self) -> Instant {
        self.session
            .as_ref()
            .map_or_else(Instant::now, |read| read.at + SESSION_CHECK)
    }

    fn event(&self, progress: &Progress) -> Result<Event, ConsoleError> {
        let language = self.signed_in.visit.language;
        let context = progress_context(&self.console, language, progress);
        let Html(html) = self.console.pages.render(
            &self.signed_in.visit,
            Some(&self.signed_in.user),
            "watch-progress.html.tera",
            context,
        )?;
        let data = serde_json::json!({
            "progress": progress,
            "settled": progress.settled(),
            "percent": progress.percent(),
            "html": html,
        });
        let event = Event::default()
            .event("progress")
            .id(self.sent.to_string())
            .json_data(data)
            .map_err(|error| ConsoleError::Internal(error.to_string()))?;
        Ok(if self.sent == 0 {
            event.retry(RECONNECT)
        } else {
            event
        })
    }

    /// The next event: when the counts change, while the session is open and the stream's
    /// time lasts; a last comment when its time is up (the browser reconnects).
    async fn next(mut self) -> Option<(Result<Event, Infallible>, Watching)> {
        if self.ended {
            return None;
        }
        loop {
            let read_again = self.next_session_read();
            tokio::select! {
                changed = self.latest.changed() => {
                    if changed.is_err() {
                        return None;
                    }
                }
                () = tokio::time::sleep_until(self.until) => {
                    self.ended = true;
                    let bye = Event::default().comment("until the next connection");
                    return Some((Ok(bye), self));
                }
                () = tokio::time::sleep_until(read_again) => {
                    if !self.session_open().await {
                        return None;
                    }
                    continue;
                }
            }
            if !self.session_open().await {
                return None;
            }
            let Some(progress) = self.latest.borrow_and_update().clone() else {
                continue;
            };
            match self.event(&progress) {
                Ok(event) => {
                    self.sent += 1;
                    return Some((Ok(event), self));
                }
                Err(error) => {
                    tracing::error!(message = "console: cannot render the progress", %error);
                    return None;
                }
            }
        }
    }
}

/// `GET /console/updates/{id}/events`: the counts whenever they change. The stream ends
/// itself after three quarters of `[serve] request_timeout_seconds`, and whenever the
/// session ends; the browser's `EventSource` reconnects after `retry`.
async fn events(
    State(console): State<Console>,
    signed_in: SignedIn,
    Path(id): Path<i64>,
) -> Result<Response, ConsoleError> {
    console.app.store.update(id).await?;
    let timeout = console.app.config.serve.request_timeout_seconds;
    let lifetime = Duration::from_millis(timeout.saturating_mul(750)).max(RECONNECT / 4);
    let latest = console.progress.subscribe(id);
    let watching = Watching {
        console,
        signed_in,
        latest,
        until: Instant::now() + lifetime,
        sent: 0,
        ended: false,
        session: None,
    };
    let stream = futures::stream::unfold(watching, Watching::next);
    Ok(Sse::new(stream)
        .keep_alive(KeepAlive::new().interval(KEEP_ALIVE))
        .into_response())
}

#[derive(serde::Deserialize)]
struct CsvQuery {
    channel: Option<String>,
    state: Option<String>,
    reason: Option<String>,
    separator: Option<String>,
}

/// `GET /console/updates/{id}/unreached.csv` (approvers): the CSV of `tocsin export unreached`, with
/// the same filters (`?channel=sms&state=undeliverable&reason=…&separator=,`).
async fn unreached_csv(
    State(console): State<Console>,
    signed_in: SignedIn,
    Path(id): Path<i64>,
    Query(query): Query<CsvQuery>,
) -> Result<Response, ConsoleError> {
    signed_in.require(Action::ReadUnreached)?;
    let refused = |error: String| ConsoleError::Refused(error);
    let filter = UnreachedFilter {
        channel: query
            .channel
            .filter(|value| !value.is_empty())
            .map(|value| {
                value
                    .parse()
                    .map_err(|e: crate::domain::UnknownChannel| e.to_string())
            })
            .transpose()
            .map_err(refused)?,
        state: query
            .state
            .filter(|value| !value.is_empty())
            .map(|value| {
                value
                    .parse()
                    .map_err(|e: crate::domain::UnknownState| e.to_string())
            })
            .transpose()
            .map_err(refused)?,
        reason: query.reason.filter(|value| !value.is_empty()),
    };
    let separator: Separator = match query.separator.filter(|value| !value.is_empty()) {
        Some(value) => value.parse().map_err(refused)?,
        None => Separator::default(),
    };
    let mut csv = Vec::new();
    console
        .app
        .unreached_csv(id, &filter, separator, &mut csv, &signed_in.actor())
        .await?;
    Ok((
        [
            (header::CONTENT_TYPE, "text/csv; charset=utf-8".to_string()),
            (
                header::CONTENT_DISPOSITION,
                format!("attachment; filename=\"unreached-{id}.csv\""),
            ),
        ],
        csv,
    )
        .into_response())
}

/// `POST /console/updates/{id}/fallback`: approvers; audited.
async fn fallback(
    State(console): State<Console>,
    signed_in: SignedIn,
    Path(id): Path<i64>,
) -> Result<Redirect, ConsoleError> {
    signed_in.require(Action::SendFallback)?;
    let planned = console.app.fallback_now(id, &signed_in.actor()).await?;
    Ok(Redirect::to(&format!(
        "/console/updates/{id}/watch?fallback={planned}#fallback"
    )))
}
