//! Composing an update in the console: the three languages side by side, started empty,
//! from an earlier update (`?follow=ID`) or from an incident playbook; the audience picker
//! with its counts (`App::audience`, as `tocsin audience show`); the SMS counter on the text
//! as recipients get it (the same forecast `update draft` reports); the draft stored through
//! `App::draft_source`, as the CLI's `update draft` stores a file; and "send me a test".
//!
//! Every form works without JavaScript (the buttons "Count", "Check" and "Preview" post the
//! whole form and show the same as the live parts); `compose.js`, served from here because
//! the CSP allows no inline script, asks the three fragment routes as the author types.

mod form;
mod preview;

use super::{Console, ConsoleError, SignedIn};
use crate::app::{AudienceSummary, TestReader, TestRequest};
use crate::author::{parse_draft, DraftOptions};
use crate::channels::sms::gsm;
use crate::domain::{Action, ChannelKind, Language, NewUpdate};
use crate::plan::SmsForecast;
use axum::body::Bytes;
use axum::extract::{Path, Query, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{Html, IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use fluent_bundle::{FluentArgs, FluentValue};
use form::{ComposeForm, FieldErrors, Local, LANGUAGES};
use preview::ComposePreview;
use std::collections::BTreeMap;
use tera::Context;

const SCRIPT: &str = include_str!("../../../../../templates/console/compose.js");

pub fn routes() -> Router<Console> {
    Router::new()
        .route("/console/compose", get(compose).post(submit))
        .route("/console/compose/audience", post(audience_counts))
        .route("/console/compose/sms", post(sms_counter))
        .route("/console/compose/preview", post(preview_fragment))
        .route("/console/compose.js", get(script))
        .route("/console/updates/{id}/test", get(test_page).post(send_test))
}

/// `GET /console/compose.js`: the progressive enhancement.
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

#[derive(serde::Deserialize)]
struct Start {
    follow: Option<String>,
    playbook: Option<String>,
}

/// Every field's list of refusals, empty ones included, so templates look any up.
fn no_errors() -> FieldErrors {
    let mut errors = FieldErrors::new();
    for field in [
        "form",
        "incident",
        "kind",
        "follows",
        "appointments",
        "audiences",
        "channels",
        "cap",
    ] {
        errors.insert(field.into(), Vec::new());
    }
    for language in LANGUAGES {
        errors.insert(language.code().into(), Vec::new());
        for part in ["title", "body", "sms"] {
            errors.insert(format!("{}_{part}", language.code()), Vec::new());
        }
    }
    errors
}

/// What the page shows beside the form.
#[derive(Default)]
struct Extras {
    errors: Option<FieldErrors>,
    counts: Option<Result<Vec<AudienceSummary>, String>>,
    sms: Option<Vec<SmsView>>,
    preview: Option<ComposePreview>,
}

fn page(
    console: &Console,
    signed_in: &SignedIn,
    form: &ComposeForm,
    extras: Extras,
) -> Result<Html<String>, ConsoleError> {
    let mut context = Context::new();
    context.insert("form", form);
    context.insert("choices", &form::choices());
    let failed = extras.errors.is_some();
    context.insert("failed", &failed);
    context.insert("errors", &extras.errors.unwrap_or_else(no_errors));
    context.insert("native", &natives());
    let language = signed_in.visit.language;
    let playbooks: Vec<(&str, &str)> = crate::playbooks::playbooks()
        .iter()
        .map(|playbook| (playbook.key(), playbook.name(language)))
        .collect();
    context.insert("playbooks", &playbooks);
    match extras.counts {
        Some(Ok(counts)) => context.insert("counts", &counts),
        Some(Err(why)) => context.insert("counts_error", &why),
        None => {}
    }
    if let Some(sms) = extras.sms {
        context.insert("sms", &sms);
    }
    if let Some(preview) = extras.preview {
        insert_preview(&mut context, &preview);
    }
    console.pages.render(
        &signed_in.visit,
        Some(&signed_in.user),
        "compose.html.tera",
        context,
    )
}

fn natives() -> BTreeMap<&'static str, &'static str> {
    BTreeMap::from([("nl", "Nederlands"), ("fr", "Français"), ("en", "English")])
}

/// `GET /console/compose`: empty, or following an earlier update.
async fn compose(
    State(console): State<Console>,
    signed_in: SignedIn,
    Query(start): Query<Start>,
) -> Result<Html<String>, ConsoleError> {
    signed_in.require(Action::Draft)?;
    let given = |value: Option<String>| value.filter(|value| !value.trim().is_empty());
    let form = match (given(start.follow), given(start.playbook)) {
        (Some(id), _) => {
            let id: i64 = id.trim().parse().map_err(|_| ConsoleError::NotFound)?;
            ComposeForm::from_file(&console.app.follow_up_file(id).await?)
        }
        (None, Some(key)) => match console.app.playbook_file(key.trim()).await {
            Ok(file) => ComposeForm::from_file(&file),
            Err(crate::app::AppError::Playbook(_)) => return Err(ConsoleError::NotFound),
            Err(other) => return Err(other.into()),
        },
        (None, None) => ComposeForm::default(),
    };
    page(&console, &signed_in, &form, Extras::default())
}

fn options(console: &Console, form: &ComposeForm) -> DraftOptions {
    DraftOptions {
        accept_gsm7: form.sms_gsm7,
        max_sms_segments: Some(console.app.config.sms.max_segments),
    }
}

/// `POST /console/compose`: "Save draft", or, without JavaScript, "Count" and "Check".
async fn submit(
    State(console): State<Console>,
    signed_in: SignedIn,
    body: Bytes,
) -> Result<Response, ConsoleError> {
    signed_in.require(Action::Draft)?;
    let form = ComposeForm::from_pairs(&body);
    let asked = form_urlencoded::parse(&body)
        .find(|(name, _)| name == "do")
        .map(|(_, value)| value.into_owned())
        .unwrap_or_default();
    let language = signed_in.visit.language;
    match asked.as_str() {
        "count" => {
            let counts = counts(&console, &form).await;
            let extras = Extras {
                counts: Some(counts),
                ..Extras::default()
            };
            return Ok(page(&console, &signed_in, &form, extras)?.into_response());
        }
        "preview" => {
            let extras = Extras {
                preview: Some(ComposePreview::of(&console, &signed_in, &form).await?),
                ..Extras::default()
            };
            return Ok(page(&console, &signed_in, &form, extras)?.into_response());
        }
        "check" => {
            let sms = sms_views(&console, &signed_in, &form).await?;
            let extras = Extras {
                sms: Some(sms),
                ..Extras::default()
            };
            return Ok(page(&console, &signed_in, &form, extras)?.into_response());
        }
        _ => {}
    }
    let (source, local) = form.update_file();
    let author = signed_in.user.name.to_string();
    let mut errors = no_errors();
    for problem in &local {
        let message = local_message(&console, language, problem)?;
        errors
            .entry(problem.field.clone())
            .or_default()
            .push(message);
    }
    let name = "console";
    if local.is_empty() {
        match console
            .app
            .draft_source(name, &source, Some(&author), options(&console, &form))
            .await
        {
            Ok(report) => {
                let to = format!("/console/updates/{}", report.id);
                return Ok(Redirect::to(&to).into_response());
            }
            Err(crate::app::AppError::Draft(error)) => form::place(&source, &error, &mut errors),
            Err(crate::app::AppError::Refused(why)) => {
                errors.entry("form".into()).or_default().push(why);
            }
            Err(crate::app::AppError::Refusal(refusal)) => {
                let why = super::pages::said(signed_in.visit.language, &refusal);
                errors.entry("form".into()).or_default().push(why);
            }
            Err(other) => return Err(other.into()),
        }
    } else if let Err(error) = parse_draft(name, &source, Some(&author), options(&console, &form)) {
        // The library's other findings too, so that every mistake shows at once; a field
        // the form already named keeps the form's words.
        let mut more = FieldErrors::new();
        form::place(&source, &error, &mut more);
        for (field, messages) in more {
            let slot = errors.entry(field).or_default();
            if slot.is_empty() {
                slot.extend(messages);
            }
        }
    }
    let extras = Extras {
        errors: Some(errors),
        ..Extras::default()
    };
    let html = page(&console, &signed_in, &form, extras)?;
    Ok((StatusCode::UNPROCESSABLE_ENTITY, html).into_response())
}

/// A refusal the form found, in the user's language.
fn local_message(
    console: &Console,
    language: Language,
    problem: &Local,
) -> Result<String, ConsoleError> {
    let locales = console.app.renderer.locales();
    let mut args = FluentArgs::new();
    if let Some(code) = problem.language {
        let name = locales
            .format(language, &format!("console-compose-language-{code}"), None)
            .map_err(|e| ConsoleError::Internal(e.to_string()))?;
        args.set("language", FluentValue::from(name));
    }
    if let Some(part) = problem.part {
        let label = locales
            .format(language, &format!("console-compose-{part}"), None)
            .map_err(|e| ConsoleError::Internal(e.to_string()))?;
        args.set("part", FluentValue::from(label));
    }
    let text = locales
        .format(language, problem.key, Some(&args))
        .map_err(|e| ConsoleError::Internal(e.to_string()))?;
    Ok(match language {
        Language::Fr => crate::render::french_spacing(&text),
        Language::Nl | Language::En => text,
    })
}

async fn counts(console: &Console, form: &ComposeForm) -> Result<Vec<AudienceSummary>, String> {
    let specs = form.audience_specs();
    console
        .app
        .audience(&specs)
        .await
        .map_err(|error| error.to_string())
}

fn wants_json(headers: &HeaderMap) -> bool {
    headers
        .get(header::ACCEPT)
        .and_then(|value| value.to_str().ok())
        .is_some_and(|accept| accept.contains("application/json"))
}

/// `POST /console/compose/audience`: the picker's counts, by audience, language and
/// reachable channel — `App::audience`, what `tocsin audience show` prints. JSON when
/// asked for, else the fragment the page shows.
async fn audience_counts(
    State(console): State<Console>,
    signed_in: SignedIn,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, ConsoleError> {
    signed_in.require(Action::Draft)?;
    let form = ComposeForm::from_pairs(&body);
    let counts = counts(&console, &form).await;
    if wants_json(&headers) {
        return Ok(match counts {
            Ok(counts) => Json(counts).into_response(),
            Err(why) => (StatusCode::UNPROCESSABLE_ENTITY, why).into_response(),
        });
    }
    let mut context = Context::new();
    match counts {
        Ok(counts) => context.insert("counts", &counts),
        Err(why) => context.insert("counts_error", &why),
    }
    Ok(console
        .pages
        .render(
            &signed_in.visit,
            Some(&signed_in.user),
            "compose-counts.html.tera",
            context,
        )?
        .into_response())
}

/// `POST /console/compose/sms`: the SMS counter, JSON or the page's fragment.
async fn sms_counter(
    State(console): State<Console>,
    signed_in: SignedIn,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, ConsoleError> {
    signed_in.require(Action::Draft)?;
    let form = ComposeForm::from_pairs(&body);
    let sms = sms_views(&console, &signed_in, &form).await?;
    if wants_json(&headers) {
        return Ok(Json(sms).into_response());
    }
    let mut context = Context::new();
    context.insert("sms", &sms);
    context.insert("native", &natives());
    Ok(console
        .pages
        .render(
            &signed_in.visit,
            Some(&signed_in.user),
            "compose-sms.html.tera",
            context,
        )?
        .into_response())
}

fn insert_preview(context: &mut Context, preview: &ComposePreview) {
    context.insert("preview_refusals", &preview.refusals);
    context.insert("previews", &preview.shown.previews);
    context.insert("no_previews", &preview.shown.no_previews);
}

/// `POST /console/compose/preview`: what a sample patient, GP and journalist would get of
/// the texts as typed, JSON or the page's fragment.
async fn preview_fragment(
    State(console): State<Console>,
    signed_in: SignedIn,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, ConsoleError> {
    signed_in.require(Action::Draft)?;
    let form = ComposeForm::from_pairs(&body);
    let preview = ComposePreview::of(&console, &signed_in, &form).await?;
    if wants_json(&headers) {
        return Ok(Json(preview).into_response());
    }
    let mut context = Context::new();
    insert_preview(&mut context, &preview);
    Ok(console
        .pages
        .render(
            &signed_in.visit,
            Some(&signed_in.user),
            "compose-preview.html.tera",
            context,
        )?
        .into_response())
}

/// One language's SMS: as written (what `update draft` says of the text itself) and as
/// recipients get it (the draft's forecast: the template around the text, each patient's
/// appointments).
#[derive(Debug, serde::Serialize)]
struct SmsView {
    language: &'static str,
    written: Cost,
    /// The GSM-7 version of a UCS-2 text, and its cost.
    proposal: Option<(String, Cost)>,
    rendered: Option<Rendered>,
}

#[derive(Debug, serde::Serialize)]
struct Cost {
    encoding: &'static str,
    characters: usize,
    units: usize,
    parts: usize,
    /// The characters that force UCS-2.
    forcing: Vec<String>,
}

impl Cost {
    fn of(text: &str) -> Cost {
        let analysis = gsm::analyse(text);
        Cost {
            encoding: analysis.encoding.as_str(),
            characters: text.chars().count(),
            units: analysis.units,
            parts: analysis.segments,
            forcing: analysis.non_gsm.iter().map(char::to_string).collect(),
        }
    }
}

#[derive(Debug, serde::Serialize)]
struct Rendered {
    messages: u64,
    /// (parts, how many SMS take that many).
    distribution: Vec<(usize, u64)>,
    total_parts: u64,
    /// The first SMS with the most parts, exactly as its recipient gets it.
    longest: Option<Longest>,
}

#[derive(Debug, serde::Serialize)]
struct Longest {
    external_id: String,
    text: String,
    cost: Cost,
}

impl Rendered {
    fn of(forecast: &SmsForecast) -> Rendered {
        Rendered {
            messages: forecast.messages(),
            distribution: forecast.parts.iter().map(|(p, n)| (*p, *n)).collect(),
            total_parts: forecast.total_parts(),
            longest: forecast.longest.as_ref().map(|longest| Longest {
                external_id: longest.external_id.clone(),
                text: longest.text.clone(),
                cost: Cost::of(&longest.text),
            }),
        }
    }
}

async fn sms_views(
    console: &Console,
    signed_in: &SignedIn,
    form: &ComposeForm,
) -> Result<Vec<SmsView>, ConsoleError> {
    let update: NewUpdate = form.provisional(signed_in.user.name.as_str(), form.sms_gsm7);
    let forecast = console.app.sms_forecast(&update).await?;
    let mut views = Vec::new();
    for language in LANGUAGES {
        let text = &update.text(language).sms;
        if text.is_empty() {
            continue;
        }
        let written = Cost::of(text);
        let proposal = (!written.forcing.is_empty())
            .then(|| gsm::gsm7_version(text))
            .flatten()
            .map(|proposal| {
                let cost = Cost::of(&proposal);
                (proposal, cost)
            });
        views.push(SmsView {
            language: language.code(),
            written,
            proposal,
            rendered: forecast.get(&language).map(Rendered::of),
        });
    }
    Ok(views)
}

#[derive(serde::Deserialize)]
struct TestForm {
    reader: String,
    language: String,
    channel: String,
}

async fn test_context(
    console: &Console,
    signed_in: &SignedIn,
    id: i64,
) -> Result<Context, ConsoleError> {
    let update = console.app.store.update(id).await?;
    let own = console.app.user_contact(&signed_in.user.name).await?;
    let mut context = Context::new();
    context.insert("id", &id);
    context.insert("title", &update.text(signed_in.visit.language).title);
    context.insert("state", update.state.as_str());
    context.insert("has_email", &own.email.is_some());
    context.insert("has_phone", &own.phone.is_some());
    context.insert("native", &natives());
    Ok(context)
}

/// `GET /console/updates/{id}/test`: the "send me a test" form.
async fn test_page(
    State(console): State<Console>,
    signed_in: SignedIn,
    Path(id): Path<i64>,
) -> Result<Html<String>, ConsoleError> {
    signed_in.require(Action::Draft)?;
    let context = test_context(&console, &signed_in, id).await?;
    console.pages.render(
        &signed_in.visit,
        Some(&signed_in.user),
        "compose-test.html.tera",
        context,
    )
}

/// `POST /console/updates/{id}/test`: the update as a patient, GP or journalist reads it,
/// to the user's own address only (`App::send_test`).
async fn send_test(
    State(console): State<Console>,
    signed_in: SignedIn,
    Path(id): Path<i64>,
    axum::Form(asked): axum::Form<TestForm>,
) -> Result<Response, ConsoleError> {
    signed_in.require(Action::Draft)?;
    let refused = || ConsoleError::Refused("reader, language and channel".into());
    let request = TestRequest {
        update_id: id,
        reader: TestReader::parse(&asked.reader).ok_or_else(refused)?,
        language: Language::parse(&asked.language).map_err(|_| refused())?,
        channel: asked
            .channel
            .parse::<ChannelKind>()
            .ok()
            .filter(|channel| *channel != ChannelKind::Telegram)
            .ok_or_else(refused)?,
    };
    let mut context = test_context(&console, &signed_in, id).await?;
    let status = match console.app.send_test(request, &signed_in.actor()).await {
        Ok(()) => {
            context.insert("sent", &true);
            StatusCode::OK
        }
        Err(crate::app::AppError::Refused(why)) => {
            context.insert("failure", &why);
            StatusCode::UNPROCESSABLE_ENTITY
        }
        Err(crate::app::AppError::Refusal(refusal)) => {
            let why = super::pages::said(signed_in.visit.language, &refusal);
            context.insert("failure", &why);
            StatusCode::UNPROCESSABLE_ENTITY
        }
        Err(other) => return Err(other.into()),
    };
    context.insert("asked_reader", &asked.reader);
    context.insert("asked_language", &asked.language);
    context.insert("asked_channel", &asked.channel);
    let html = console.pages.render(
        &signed_in.visit,
        Some(&signed_in.user),
        "compose-test.html.tera",
        context,
    )?;
    Ok((status, html).into_response())
}
