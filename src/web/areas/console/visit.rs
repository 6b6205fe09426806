//! Who is asking, in which language, and whether an unsafe request carries its CSRF token:
//! the console's one middleware and the extractors its handlers take.

use super::pages::ConsoleError;
use super::{Console, MAX_FORM_BYTES};
use crate::accounts::same_secret;
use crate::domain::{Action, Language, SecretToken};
use crate::store::{Session, User};
use crate::web::areas::press::negotiate;
use axum::body::Body;
use axum::extract::{ConnectInfo, FromRequestParts, Query, Request, State};
use axum::http::header::{self, HeaderMap, HeaderValue};
use axum::http::request::Parts;
use axum::http::{Method, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Redirect, Response};
use cookie::{Cookie, SameSite};
use sha2::{Digest, Sha256};
use std::net::{IpAddr, SocketAddr};

const LANGUAGE_COOKIE: &str = "tocsin-lang";
const PRE_SESSION_BYTES: usize = 32;
/// Where the token travels besides a form's `csrf` field: the console's own `fetch` calls.
pub const CSRF_HEADER: &str = "x-csrf-token";

/// The cookie names. With `Secure`, the `__Host-` prefix makes browsers refuse a cookie of
/// that name that is not Secure, has a Domain or another Path: a neighbouring host on the
/// same domain cannot plant one.
struct CookieNames {
    session: &'static str,
    pre_session: &'static str,
}

fn cookie_names(secure: bool) -> CookieNames {
    if secure {
        CookieNames {
            session: "__Host-tocsin-session",
            pre_session: "__Host-tocsin-pre",
        }
    } else {
        CookieNames {
            session: "tocsin-session",
            pre_session: "tocsin-pre",
        }
    }
}

/// A signed-in browser's session, with the token its cookie holds.
#[derive(Clone)]
pub struct HeldSession {
    pub token: SecretToken,
    pub session: Session,
}

/// Every console request, signed in or not.
#[derive(Clone)]
pub struct Visit {
    pub language: Language,
    /// The browser's address (the peer's, or the one a trusted proxy names), for the audit
    /// log and the sign-in throttle.
    pub remote: String,
    /// What this browser's forms must send back.
    pub csrf: String,
    pub session: Option<HeldSession>,
    /// The request's path and query, for the language links and the way back after sign-in.
    pub path: String,
}

/// A request from a signed-in user.
#[derive(Clone)]
pub struct SignedIn {
    pub visit: Visit,
    pub user: User,
    pub token: SecretToken,
}

impl SignedIn {
    /// Refuses what the user's role may not do, naming both.
    pub fn require(&self, action: Action) -> Result<(), ConsoleError> {
        self.user
            .role
            .require(&self.user.name, action)
            .map_err(|forbidden| ConsoleError::Forbidden(forbidden.to_string()))
    }

    /// Who acts, for the audit log.
    pub fn actor(&self) -> crate::app::Actor {
        crate::app::Actor {
            user: Some(self.user.name.clone()),
            remote: self.visit.remote.clone(),
            note: None,
        }
    }
}

impl<S: Send + Sync> FromRequestParts<S> for Visit {
    type Rejection = ConsoleError;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Visit, ConsoleError> {
        parts
            .extensions
            .get::<Visit>()
            .cloned()
            .ok_or_else(|| ConsoleError::Internal("the console's guard did not run".into()))
    }
}

impl<S: Send + Sync> FromRequestParts<S> for SignedIn {
    type Rejection = ConsoleError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<SignedIn, ConsoleError> {
        let visit = Visit::from_request_parts(parts, state).await?;
        let Some(held) = visit.session.clone() else {
            return Err(ConsoleError::SignInFirst {
                back: visit.path.clone(),
            });
        };
        Ok(SignedIn {
            user: held.session.user.clone(),
            token: held.token,
            visit,
        })
    }
}

/// A session's CSRF token: derived from its secret, so nothing more is stored, and useless
/// without the cookie, which another site can neither read nor (SameSite=Strict) send.
fn csrf_of(token: &SecretToken) -> String {
    let mut digest = Sha256::new();
    digest.update(b"tocsin console csrf\0");
    digest.update(token.expose().as_bytes());
    hex::encode(digest.finalize())
}

fn cookie_value<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|value| value.to_str().ok())
        .flat_map(|line| line.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(key, _)| *key == name)
        .map(|(_, value)| value.trim())
}

fn set_cookie(response: &mut Response, cookie: &Cookie<'_>) {
    if let Ok(value) = HeaderValue::from_str(&cookie.to_string()) {
        response.headers_mut().append(header::SET_COOKIE, value);
    }
}

fn base_cookie(name: &'static str, value: String, secure: bool) -> Cookie<'static> {
    Cookie::build((name, value))
        .path("/")
        .http_only(true)
        .secure(secure)
        .same_site(SameSite::Strict)
        .build()
}

/// The session cookie for a new sign-in, lasting as long as the session.
pub fn set_session_cookie(response: &mut Response, console: &Console, token: &SecretToken) {
    let secure = console.app.config.console.secure_cookies;
    let mut cookie = base_cookie(
        cookie_names(secure).session,
        token.expose().to_string(),
        secure,
    );
    let hours = i64::from(console.app.config.console.session_hours);
    cookie.set_max_age(cookie::time::Duration::hours(hours));
    set_cookie(response, &cookie);
}

/// The session cookie removed (after sign-out): the server has ended the session anyway.
pub fn clear_session_cookie(response: &mut Response, console: &Console) {
    let secure = console.app.config.console.secure_cookies;
    let mut cookie = base_cookie(cookie_names(secure).session, String::new(), secure);
    cookie.make_removal();
    set_cookie(response, &cookie);
}

/// What the browser said it reads, unless it chose a language here.
fn language_of(headers: &HeaderMap) -> Language {
    if let Some(language) =
        cookie_value(headers, LANGUAGE_COOKIE).and_then(|code| Language::parse(code).ok())
    {
        return language;
    }
    let accepted = headers
        .get(header::ACCEPT_LANGUAGE)
        .and_then(|value| value.to_str().ok());
    negotiate(accepted, Language::En)
}

/// Where a request comes from: the connection's peer, or, when that is a trusted proxy,
/// the client the proxy names.
fn remote_of(parts: &Parts, trusted: &[IpAddr]) -> String {
    let Some(ConnectInfo(peer)) = parts.extensions.get::<ConnectInfo<SocketAddr>>() else {
        return "unknown".into();
    };
    let peer = peer.ip().to_canonical();
    if !trusted.contains(&peer) {
        return peer.to_string();
    }
    forwarded_client(&parts.headers, trusted)
        .unwrap_or(peer)
        .to_string()
}

/// The client's address in `X-Forwarded-For`: each proxy appends the address it was
/// reached from, so the rightmost entry that is not one of our proxies was written by our
/// proxy; those left of it were sent by the client and prove nothing. None when that entry
/// is not an address: then the request is the proxy's.
fn forwarded_client(headers: &HeaderMap, trusted: &[IpAddr]) -> Option<IpAddr> {
    let lines: Vec<String> = headers
        .get_all("x-forwarded-for")
        .iter()
        .map(|value| String::from_utf8_lossy(value.as_bytes()).into_owned())
        .collect();
    lines
        .iter()
        .flat_map(|line| line.split(','))
        .rev()
        .map(|hop| {
            let hop = hop.trim();
            hop.parse::<IpAddr>()
                .or_else(|_| hop.parse::<SocketAddr>().map(|address| address.ip()))
                .ok()
                .map(|address| address.to_canonical())
        })
        .find(|hop| hop.is_none_or(|address| !trusted.contains(&address)))
        .flatten()
}

/// The token an unsafe request presents: the header of the console's own scripts, or the
/// `csrf` field of a form.
fn presented_csrf(headers: &HeaderMap, body: &[u8]) -> Option<String> {
    if let Some(value) = headers.get(CSRF_HEADER).and_then(|v| v.to_str().ok()) {
        return Some(value.to_string());
    }
    form_urlencoded::parse(body)
        .find(|(key, _)| key == "csrf")
        .map(|(_, value)| value.into_owned())
}

/// The console's one middleware: see the module's documentation.
pub async fn guard(State(console): State<Console>, request: Request, next: Next) -> Response {
    let (mut parts, body) = request.into_parts();
    let secure = console.app.config.console.secure_cookies;
    let names = cookie_names(secure);
    let language = language_of(&parts.headers);
    let remote = remote_of(&parts, &console.app.config.console.trusted_proxies);
    let path = parts
        .uri
        .path_and_query()
        .map(|pq| pq.as_str().to_string())
        .unwrap_or_else(|| "/console".into());

    let session = match cookie_value(&parts.headers, names.session).filter(|v| !v.is_empty()) {
        Some(raw) => {
            let token = SecretToken::presented(raw);
            match console.app.session(&token).await {
                Ok(Some(session)) => Some(HeldSession { token, session }),
                Ok(None) => None,
                Err(error) => {
                    let error = ConsoleError::from(error);
                    return console.pages.error_page(language, None, &error);
                }
            }
        }
        None => None,
    };
    let mut new_pre_session = None;
    let csrf = match &session {
        Some(held) => csrf_of(&held.token),
        None => match cookie_value(&parts.headers, names.pre_session)
            .filter(|value| value.len() == PRE_SESSION_BYTES * 2)
        {
            Some(value) => value.to_string(),
            None => {
                let value = hex::encode(rand::random::<[u8; PRE_SESSION_BYTES]>());
                new_pre_session = Some(value.clone());
                value
            }
        },
    };

    let body = if matches!(parts.method, Method::GET | Method::HEAD | Method::OPTIONS) {
        body
    } else {
        let bytes = match axum::body::to_bytes(body, MAX_FORM_BYTES).await {
            Ok(bytes) => bytes,
            Err(_) => return StatusCode::PAYLOAD_TOO_LARGE.into_response(),
        };
        let presented = presented_csrf(&parts.headers, &bytes);
        let valid = presented.is_some_and(|presented| {
            new_pre_session.is_none() && same_secret(presented.as_bytes(), csrf.as_bytes())
        });
        if !valid {
            // A setup link's path is its secret: never logged whole.
            let path = match parts.uri.path() {
                path if path.starts_with("/console/setup/") => "/console/setup/…",
                path => path,
            };
            tracing::warn!(
                message = "console: a request without a valid CSRF token was refused",
                path,
                remote = %remote
            );
            let user = session.as_ref().map(|held| &held.session.user);
            return console
                .pages
                .error_page(language, user, &ConsoleError::CsrfRefused);
        }
        Body::from(bytes)
    };

    let user = session.as_ref().map(|held| held.session.user.clone());
    parts.extensions.insert(Visit {
        language,
        remote,
        csrf,
        session,
        path,
    });
    let mut response = next.run(Request::from_parts(parts, body)).await;
    if let Some(error) = response.extensions_mut().remove::<ConsoleError>() {
        response = console.pages.error_page(language, user.as_ref(), &error);
    }
    if let Some(value) = new_pre_session {
        set_cookie(
            &mut response,
            &base_cookie(names.pre_session, value, secure),
        );
    }
    protect(response.headers_mut());
    response
}

/// No page of the console is framed, cached, sniffed, or tells another site where it came
/// from; scripts and styles come from the console itself only, so text that slipped through
/// escaping still could not run.
fn protect(headers: &mut HeaderMap) {
    let set = [
        (
            header::CONTENT_SECURITY_POLICY,
            "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; \
             frame-ancestors 'none'; form-action 'self'; base-uri 'none'; object-src 'none'",
        ),
        (header::X_FRAME_OPTIONS, "DENY"),
        (header::X_CONTENT_TYPE_OPTIONS, "nosniff"),
        (header::REFERRER_POLICY, "no-referrer"),
    ];
    for (name, value) in set {
        headers.insert(name, HeaderValue::from_static(value));
    }
    headers
        .entry(header::CACHE_CONTROL)
        .or_insert(HeaderValue::from_static("no-store"));
}

#[derive(serde::Deserialize)]
pub struct LanguageChoice {
    to: String,
    back: Option<String>,
}

/// `GET /console/language?to=fr&back=/console/…`: remembers the choice in a cookie and goes
/// back, only ever to a page of the console.
pub async fn choose_language(
    State(console): State<Console>,
    Query(choice): Query<LanguageChoice>,
) -> Result<Response, ConsoleError> {
    let language =
        Language::parse(&choice.to).map_err(|error| ConsoleError::Refused(error.to_string()))?;
    let back = choice
        .back
        .filter(|back| back.starts_with("/console") && !back.contains("//"))
        .unwrap_or_else(|| "/console".into());
    let mut response = Redirect::to(&back).into_response();
    let secure = console.app.config.console.secure_cookies;
    let mut cookie = base_cookie(LANGUAGE_COOKIE, language.code().into(), secure);
    cookie.set_same_site(SameSite::Lax);
    cookie.set_max_age(cookie::time::Duration::days(365));
    set_cookie(&mut response, &cookie);
    Ok(response)
}
