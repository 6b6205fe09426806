//! The console's home: every update, newest first, with its state and who wrote and
//! approved it.

use super::{Console, ConsoleError, SignedIn};
use axum::extract::State;
use axum::response::Html;
use axum::routing::get;
use axum::Router;
use tera::Context;

pub fn routes() -> Router<Console> {
    Router::new().route("/console/updates", get(home))
}

#[derive(serde::Serialize)]
struct Row {
    id: i64,
    reference: String,
    incident: String,
    kind: &'static str,
    state: &'static str,
    title: String,
    author: String,
    approved_by: Option<String>,
    created: String,
    /// A draft sent back: who, and their comment.
    returned: Option<(String, String)>,
}

/// `GET /console` and `/console/updates`.
pub async fn home(
    State(console): State<Console>,
    signed_in: SignedIn,
) -> Result<Html<String>, ConsoleError> {
    let language = signed_in.visit.language;
    let mut updates = console.app.store.updates().await?;
    updates.sort_by_key(|update| std::cmp::Reverse(update.id));
    let mut returned = super::review::returned_comments(&console).await?;
    let rows: Vec<Row> = updates
        .iter()
        .map(|update| Row {
            id: update.id,
            reference: update.reference.to_string(),
            incident: update.incident_id.clone(),
            kind: update.kind.as_str(),
            state: update.state.as_str(),
            title: update.text(language).title.clone(),
            author: update.author.clone(),
            approved_by: update.approved_by.clone(),
            created: console.pages.when(language, update.created_at_ms),
            returned: returned
                .remove(&update.id)
                .filter(|_| update.state == crate::domain::UpdateState::Draft),
        })
        .collect();
    let mut context = Context::new();
    context.insert("updates", &rows);
    console.pages.render(
        &signed_in.visit,
        Some(&signed_in.user),
        "updates.html.tera",
        context,
    )
}
