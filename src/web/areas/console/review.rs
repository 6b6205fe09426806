//! An update's page (`/console/updates/{id}`): its texts side by side, what changed since
//! the update before it, whom it reaches, what a sample patient, GP and journalist get in
//! each language and channel, its reviews; and the forms of four eyes and of sending:
//! approve, send back with a comment, send now or at a time, pause, resume, halt. Each form
//! goes through the `App` operation the CLI's command calls, audited with the user.

use super::previews::{Of, Previews};
use super::{Console, ConsoleError, SignedIn};
use crate::app::MAX_COMMENT_CHARS;
use crate::domain::{Action, Language, Update, UpdateState};
use crate::render::CliText;
use crate::store::Verdict;
use axum::extract::{Path, Query, State};
use axum::response::{Html, IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use axum::{Form, Router};
use similar::{ChangeTag, TextDiff};
use std::collections::BTreeMap;
use tera::Context;

pub fn routes() -> Router<Console> {
    Router::new()
        .route("/console/updates/{id}", get(page))
        .route("/console/updates/{id}/approve", post(approve))
        .route("/console/updates/{id}/return", post(send_back))
        .route("/console/updates/{id}/send", post(send))
        .route("/console/updates/{id}/pause", post(pause))
        .route("/console/updates/{id}/resume", post(resume))
        .route("/console/updates/{id}/halt", post(halt))
}

/// What the page says was just done: one of a fixed list, so that a link cannot make the
/// page say anything else.
const DONE: [&str; 7] = [
    "approved",
    "returned",
    "send-now",
    "scheduled",
    "paused",
    "resumed",
    "halted",
];

#[derive(serde::Deserialize)]
struct Shown {
    done: Option<String>,
}

#[derive(serde::Serialize)]
struct Texts {
    lang: &'static str,
    title: String,
    body: String,
    sms: String,
}

/// A piece of a diff: `equal`, `insert` or `delete`, and its text.
#[derive(serde::Serialize)]
struct Piece {
    tag: &'static str,
    text: String,
}

#[derive(serde::Serialize)]
struct FieldDiff {
    lang: &'static str,
    field: &'static str,
    changed: bool,
    pieces: Vec<Piece>,
}

#[derive(serde::Serialize)]
struct ReviewRow {
    at: String,
    by: String,
    verdict: &'static str,
    comment: Option<String>,
}

#[derive(serde::Serialize)]
struct EventRow {
    at: String,
    action: String,
    by: Option<String>,
    detail: Option<String>,
}

/// Word by word, whitespace kept: a changed sentence shows as its words struck and added.
fn diff(old: &str, new: &str) -> Vec<Piece> {
    TextDiff::from_words(old, new)
        .iter_all_changes()
        .map(|change| Piece {
            tag: match change.tag() {
                ChangeTag::Equal => "equal",
                ChangeTag::Insert => "insert",
                ChangeTag::Delete => "delete",
            },
            text: change.value().to_string(),
        })
        // Consecutive pieces of one kind as one, so that a changed sentence is one mark.
        .fold(Vec::new(), |mut pieces: Vec<Piece>, piece| {
            match pieces.last_mut() {
                Some(last) if last.tag == piece.tag => last.text.push_str(&piece.text),
                _ => pieces.push(piece),
            }
            pieces
        })
}

/// The update this one follows: the one it names, else the last one before it of the same
/// incident that was not discarded.
fn previous<'a>(update: &Update, all: &'a [Update]) -> Option<&'a Update> {
    if let Some(follows) = update.follows {
        if let Some(found) = all.iter().find(|other| other.id == follows) {
            return Some(found);
        }
    }
    all.iter()
        .filter(|other| {
            other.id < update.id
                && other.incident_id == update.incident_id
                && other.state != UpdateState::Discarded
        })
        .max_by_key(|other| other.id)
}

fn is_author(update: &Update, signed_in: &SignedIn) -> bool {
    update.author.trim().to_lowercase() == signed_in.user.name.as_str()
}

/// `GET /console/updates/{id}`.
async fn page(
    State(console): State<Console>,
    signed_in: SignedIn,
    Path(id): Path<i64>,
    Query(shown): Query<Shown>,
) -> Result<Html<String>, ConsoleError> {
    let app = &console.app;
    let language = signed_in.visit.language;
    let when = |ms: i64| console.pages.when(language, ms);
    let update = app.store.update(id).await?;
    let all = app.store.updates().await?;
    let texts: Vec<Texts> = Language::ALL
        .into_iter()
        .map(|lang| {
            let text = update.text(lang);
            Texts {
                lang: lang.code(),
                title: text.title.clone(),
                body: text.body.clone(),
                sms: text.sms.clone(),
            }
        })
        .collect();
    let before = previous(&update, &all);
    let diffs: Vec<FieldDiff> = match before {
        Some(before) => Language::ALL
            .into_iter()
            .flat_map(|lang| {
                let (old, new) = (before.text(lang), update.text(lang));
                [
                    ("title", &old.title, &new.title),
                    ("body", &old.body, &new.body),
                    ("sms", &old.sms, &new.sms),
                ]
                .map(|(field, old, new)| FieldDiff {
                    lang: lang.code(),
                    field,
                    changed: old != new,
                    pieces: diff(old, new),
                })
            })
            .collect(),
        None => Vec::new(),
    };
    let audiences = app.audience_of(&update.planned_audiences()).await?;
    let samples = Previews::of(app, Of::Saved(id), language).await?;
    let reviews: Vec<ReviewRow> = app
        .store
        .reviews(id)
        .await?
        .into_iter()
        .map(|review| ReviewRow {
            at: when(review.at_ms),
            by: review.by,
            verdict: review.verdict.as_str(),
            comment: review.comment,
        })
        .collect();
    let events: Vec<EventRow> = app
        .store
        .update_events(id)
        .await?
        .into_iter()
        .map(|event| EventRow {
            at: when(event.at_ms),
            action: CliText::of(language)
                .update_event(&event.action)
                .unwrap_or(event.action),
            by: event.by,
            detail: event.detail,
        })
        .collect();
    let role = signed_in.user.role;
    let planned = app.store.planned_at(id).await?.is_some();
    let state = update.state;
    let paused = update.paused.is_some();
    let sends = role.may(Action::Send);
    let mut context = Context::new();
    context.insert("id", &update.id);
    context.insert("reference", &update.reference.to_string());
    context.insert("incident", &update.incident_id);
    context.insert("kind", update.kind.as_str());
    context.insert("state", state.as_str());
    context.insert("author", &update.author);
    context.insert("approved_by", &update.approved_by);
    context.insert("created", &when(update.created_at_ms));
    context.insert("send_at", &update.send_at_ms.map(when));
    context.insert("paused", &update.paused);
    // Why serve could not start it, while it is still waiting to start.
    let not_started = match app.store.start_refusal(id).await? {
        Some(refusal) if state == UpdateState::Approved && !planned => {
            Some((when(refusal.at_ms), refusal.reason))
        }
        _ => None,
    };
    context.insert("not_started", &not_started);
    context.insert("texts", &texts);
    context.insert(
        "before",
        &before.map(|before| (before.id, before.reference.to_string())),
    );
    context.insert("diffs", &diffs);
    context.insert("audiences", &audiences);
    context.insert("previews", &samples.previews);
    context.insert("no_previews", &samples.no_previews);
    context.insert("reviews", &reviews);
    context.insert("events", &events);
    context.insert("max_comment", &MAX_COMMENT_CHARS);
    context.insert("is_author", &is_author(&update, &signed_in));
    context.insert(
        "can_review",
        &(role.may(Action::Approve) && state == UpdateState::Draft),
    );
    context.insert(
        "can_send",
        &(sends && state == UpdateState::Approved && !planned),
    );
    context.insert(
        "can_pause",
        &(sends && state == UpdateState::Sending && !paused),
    );
    context.insert(
        "can_resume",
        &(sends && paused && matches!(state, UpdateState::Sending | UpdateState::Sent)),
    );
    context.insert(
        "can_halt",
        &(sends
            && matches!(
                state,
                UpdateState::Approved | UpdateState::Sending | UpdateState::Sent
            )),
    );
    context.insert(
        "watchable",
        &matches!(
            state,
            UpdateState::Sending | UpdateState::Sent | UpdateState::Halted
        ),
    );
    let done = shown
        .done
        .filter(|done| DONE.contains(&done.as_str()))
        .unwrap_or_default();
    context.insert("done", &done);
    // The time input's earliest value: now, in the hospital's time zone.
    context.insert("now_local", &app_local_now(&console));
    console.pages.render(
        &signed_in.visit,
        Some(&signed_in.user),
        "update.html.tera",
        context,
    )
}

/// Now as a `datetime-local` input writes it, in the hospital's time zone.
fn app_local_now(console: &Console) -> String {
    let app = &console.app;
    let Ok(tz) = app.config.hospital.tz() else {
        return String::new();
    };
    chrono::DateTime::from_timestamp_millis(app.clock.now_ms())
        .map(|now| now.with_timezone(&tz).format("%Y-%m-%dT%H:%M").to_string())
        .unwrap_or_default()
}

fn back(id: i64, done: &str) -> Response {
    Redirect::to(&format!("/console/updates/{id}?done={done}")).into_response()
}

/// `POST /console/updates/{id}/approve`: an approver, never the update's author.
async fn approve(
    State(console): State<Console>,
    signed_in: SignedIn,
    Path(id): Path<i64>,
) -> Result<Response, ConsoleError> {
    signed_in.require(Action::Approve)?;
    let by = signed_in.user.name.to_string();
    console.app.approve_as(id, &by, &signed_in.actor()).await?;
    Ok(back(id, "approved"))
}

#[derive(serde::Deserialize)]
struct Comment {
    #[serde(default)]
    comment: String,
}

/// `POST /console/updates/{id}/return`: back to the author with a comment.
async fn send_back(
    State(console): State<Console>,
    signed_in: SignedIn,
    Path(id): Path<i64>,
    Form(form): Form<Comment>,
) -> Result<Response, ConsoleError> {
    signed_in.require(Action::Approve)?;
    let by = signed_in.user.name.to_string();
    console
        .app
        .return_to_author(id, &by, &form.comment, &signed_in.actor())
        .await?;
    Ok(back(id, "returned"))
}

#[derive(serde::Deserialize)]
struct When {
    /// A `datetime-local` value in the hospital's time zone; empty or absent: now.
    #[serde(default)]
    at: String,
}

/// `POST /console/updates/{id}/send`: marks the update for `serve`'s scheduler, now or at
/// a time; the dispatcher does not run in the request.
async fn send(
    State(console): State<Console>,
    signed_in: SignedIn,
    Path(id): Path<i64>,
    Form(form): Form<When>,
) -> Result<Response, ConsoleError> {
    signed_in.require(Action::Send)?;
    let app = &console.app;
    let at = match form.at.trim() {
        "" => None,
        typed => Some(app.local_time_ms(typed)?),
    };
    let by = signed_in.user.name.to_string();
    app.schedule(id, at, &by, &signed_in.actor()).await?;
    Ok(back(
        id,
        if at.is_some() {
            "scheduled"
        } else {
            "send-now"
        },
    ))
}

/// `POST /console/updates/{id}/pause`.
async fn pause(
    State(console): State<Console>,
    signed_in: SignedIn,
    Path(id): Path<i64>,
) -> Result<Response, ConsoleError> {
    signed_in.require(Action::Send)?;
    let by = signed_in.user.name.to_string();
    console.app.pause(id, &by, &signed_in.actor()).await?;
    Ok(back(id, "paused"))
}

/// `POST /console/updates/{id}/resume`.
async fn resume(
    State(console): State<Console>,
    signed_in: SignedIn,
    Path(id): Path<i64>,
) -> Result<Response, ConsoleError> {
    signed_in.require(Action::Send)?;
    let by = signed_in.user.name.to_string();
    console.app.resume(id, &by, &signed_in.actor()).await?;
    Ok(back(id, "resumed"))
}

/// `POST /console/updates/{id}/halt`.
async fn halt(
    State(console): State<Console>,
    signed_in: SignedIn,
    Path(id): Path<i64>,
) -> Result<Response, ConsoleError> {
    signed_in.require(Action::Send)?;
    let by = signed_in.user.name.to_string();
    console.app.halt_as(id, &by, &signed_in.actor()).await?;
    Ok(back(id, "halted"))
}

/// The last verdict of each update that has one, for the list: a draft sent back shows its
/// comment there.
pub async fn returned_comments(
    console: &Console,
) -> Result<BTreeMap<i64, (String, String)>, ConsoleError> {
    Ok(console
        .app
        .store
        .last_reviews()
        .await?
        .into_iter()
        .filter(|review| review.verdict == Verdict::Returned)
        .map(|review| {
            (
                review.update_id,
                (review.by, review.comment.unwrap_or_default()),
            )
        })
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_changed_sentence_is_one_deletion_and_one_insertion_between_equal_words() {
        let pieces = diff(
            "The emergency department is closed. Call 112.",
            "The emergency department is open again. Call 112.",
        );
        let tags: Vec<&str> = pieces.iter().map(|piece| piece.tag).collect();
        assert_eq!(tags, ["equal", "delete", "insert", "equal"]);
        assert_eq!(pieces[1].text, "closed.");
        assert_eq!(pieces[2].text, "open again.");
    }
}
