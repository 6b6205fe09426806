//! Signing in and out, and setting a first password through a setup link.

use super::visit::{clear_session_cookie, set_session_cookie};
use super::{Console, ConsoleError, SignedIn, Visit};
use crate::app::AppError;
use crate::domain::SecretToken;
use axum::extract::{Path, Query, State};
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use axum::{Form, Router};
use tera::Context;

pub fn routes() -> Router<Console> {
    Router::new()
        .route("/console/login", get(login_page).post(login))
        .route("/console/logout", post(logout))
        .route("/console/setup/{token}", get(setup_page).post(setup))
}

#[derive(serde::Deserialize, Default)]
pub struct Back {
    back: Option<String>,
    /// Set after a first password was chosen: the page says so.
    done: Option<String>,
}

/// Only ever back to a page of the console: a link that signs in and then leaves for
/// another site is a phishing tool.
fn safe_back(back: Option<&str>) -> String {
    back.filter(|back| back.starts_with("/console") && !back.contains("//") && !back.contains('\\'))
        .filter(|back| !back.starts_with("/console/login") && !back.starts_with("/console/setup"))
        .unwrap_or("/console")
        .to_string()
}

async fn login_page(
    State(console): State<Console>,
    visit: Visit,
    Query(back): Query<Back>,
) -> Result<Response, ConsoleError> {
    if visit.session.is_some() {
        return Ok(Redirect::to(&safe_back(back.back.as_deref())).into_response());
    }
    let mut context = Context::new();
    context.insert("back", &safe_back(back.back.as_deref()));
    context.insert("password_set", &back.done.is_some());
    Ok(console
        .pages
        .render(&visit, None, "login.html.tera", context)?
        .into_response())
}

#[derive(serde::Deserialize)]
pub struct Credentials {
    name: String,
    password: String,
    back: Option<String>,
}

async fn login(
    State(console): State<Console>,
    visit: Visit,
    Form(credentials): Form<Credentials>,
) -> Result<Response, ConsoleError> {
    let wait = console.throttle.wait(&credentials.name, &visit.remote);
    if !wait.is_zero() {
        return Err(ConsoleError::TooManyAttempts(wait));
    }
    let back = safe_back(credentials.back.as_deref());
    let admitted = console.hashing.try_admit().ok_or(ConsoleError::Busy)?;
    let _turn = admitted.turn().await;
    match console
        .app
        .sign_in(&credentials.name, &credentials.password, &visit.remote)
        .await
    {
        Ok((user, token)) => {
            console
                .throttle
                .succeeded(user.name.as_str(), &visit.remote);
            let mut response = Redirect::to(&back).into_response();
            set_session_cookie(&mut response, &console, &token);
            Ok(response)
        }
        Err(AppError::Refused(_)) => {
            console.throttle.failed(&credentials.name, &visit.remote);
            let mut context = Context::new();
            context.insert("back", &back);
            context.insert("password_set", &false);
            context.insert("failed", &true);
            context.insert("name", &credentials.name);
            let page = console
                .pages
                .render(&visit, None, "login.html.tera", context)?;
            let mut response = (StatusCode::UNAUTHORIZED, page).into_response();
            // Past the free attempts, the answer says when the next one will be looked at.
            let wait = console.throttle.wait(&credentials.name, &visit.remote);
            if !wait.is_zero() {
                let seconds = super::pages::whole_seconds(wait).to_string();
                if let Ok(value) = axum::http::HeaderValue::from_str(&seconds) {
                    response.headers_mut().insert(header::RETRY_AFTER, value);
                }
            }
            Ok(response)
        }
        Err(other) => Err(other.into()),
    }
}

async fn logout(
    State(console): State<Console>,
    signed_in: SignedIn,
) -> Result<Response, ConsoleError> {
    console
        .app
        .sign_out(&signed_in.token, &signed_in.visit.remote)
        .await?;
    let mut response = Redirect::to("/console/login").into_response();
    clear_session_cookie(&mut response, &console);
    Ok(response)
}

async fn setup_page(
    State(console): State<Console>,
    visit: Visit,
    Path(token): Path<String>,
) -> Result<Response, ConsoleError> {
    let mut context = Context::new();
    context.insert("token", &token);
    Ok(console
        .pages
        .render(&visit, None, "setup.html.tera", context)?
        .into_response())
}

#[derive(serde::Deserialize)]
pub struct NewPassword {
    password: String,
    again: String,
}

async fn setup(
    State(console): State<Console>,
    visit: Visit,
    Path(token): Path<String>,
    Form(form): Form<NewPassword>,
) -> Result<Response, ConsoleError> {
    let refuse = |problem: &str, detail: Option<String>| -> Result<Response, ConsoleError> {
        let mut context = Context::new();
        context.insert("token", &token);
        context.insert("problem", problem);
        context.insert("detail", &detail);
        let page = console
            .pages
            .render(&visit, None, "setup.html.tera", context)?;
        Ok((StatusCode::UNPROCESSABLE_ENTITY, page).into_response())
    };
    if form.password != form.again {
        return refuse("mismatch", None);
    }
    let admitted = console.hashing.try_admit().ok_or(ConsoleError::Busy)?;
    let _turn = admitted.turn().await;
    let redeemed = console
        .app
        .redeem_setup_token(
            &SecretToken::presented(&token),
            &form.password,
            &visit.remote,
        )
        .await;
    match redeemed {
        Ok(Some(_)) => Ok(Redirect::to("/console/login?done=1").into_response()),
        Ok(None) => refuse("invalid", None),
        Err(AppError::Refused(why)) => refuse("weak", Some(why)),
        Err(other) => Err(other.into()),
    }
}
