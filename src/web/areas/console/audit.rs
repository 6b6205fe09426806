//! The audit log, as the console shows it: who did what, when and from where.

use super::{Console, ConsoleError, SignedIn};
use crate::domain::{Action, UserName};
use axum::extract::State;
use axum::response::Html;
use axum::routing::get;
use axum::Router;
use tera::Context;

pub fn routes() -> Router<Console> {
    Router::new().route("/console/audit", get(audit_page))
}

/// How many entries the page shows; `tocsin audit export` gives them all.
const SHOWN: usize = 500;

#[derive(serde::Serialize)]
struct Row {
    at: String,
    user: Option<String>,
    action: String,
    target: Option<String>,
    detail: Option<String>,
    remote: Option<String>,
}

async fn audit_page(
    State(console): State<Console>,
    signed_in: SignedIn,
) -> Result<Html<String>, ConsoleError> {
    signed_in.require(Action::ReadAudit)?;
    let language = signed_in.visit.language;
    let entries = console
        .app
        .audit_log(None, None, &signed_in.actor())
        .await?;
    let total = entries.len();
    let rows: Vec<Row> = entries
        .into_iter()
        .take(SHOWN)
        .map(|entry| Row {
            at: console.pages.when(language, entry.at_ms),
            user: entry.user.as_ref().map(UserName::to_string),
            action: entry.action,
            target: entry.target,
            detail: entry.detail,
            remote: entry.remote,
        })
        .collect();
    let mut context = Context::new();
    context.insert("entries", &rows);
    context.insert("total", &total);
    context.insert("shown", &rows.len());
    console.pages.render(
        &signed_in.visit,
        Some(&signed_in.user),
        "audit.html.tera",
        context,
    )
}
