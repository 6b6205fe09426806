//! The console's pages: Tera templates compiled in from `templates/console/`, autoescaped,
//! one Tera per language with `t()` bound to that language's phrases; and the one error of
//! every handler, shown as a page in the visitor's language.

use crate::app::{AppError, Refusal};
use crate::domain::{ApprovalError, Language};
use crate::render::{CliText, FluentFunction, Locales, RenderError};
use crate::store::{StoreError, User};
use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{Html, IntoResponse, Redirect, Response};
use std::sync::Arc;
use std::time::Duration;
use tera::{Context, Tera};

/// The console's templates, compiled in: the console must work when the hospital's servers
/// and file shares are down.
const TEMPLATES: &[(&str, &str)] = &[
    (
        "base.html.tera",
        include_str!("../../../../templates/console/base.html.tera"),
    ),
    (
        "error.html.tera",
        include_str!("../../../../templates/console/error.html.tera"),
    ),
    (
        "login.html.tera",
        include_str!("../../../../templates/console/login.html.tera"),
    ),
    (
        "setup.html.tera",
        include_str!("../../../../templates/console/setup.html.tera"),
    ),
    (
        "updates.html.tera",
        include_str!("../../../../templates/console/updates.html.tera"),
    ),
    (
        "previews.html.tera",
        include_str!("../../../../templates/console/previews.html.tera"),
    ),
    (
        "update.html.tera",
        include_str!("../../../../templates/console/update.html.tera"),
    ),
    (
        "audit.html.tera",
        include_str!("../../../../templates/console/audit.html.tera"),
    ),
    (
        "watch.html.tera",
        include_str!("../../../../templates/console/watch.html.tera"),
    ),
    (
        "watch-progress.html.tera",
        include_str!("../../../../templates/console/watch-progress.html.tera"),
    ),
    (
        "compose-macros.html.tera",
        include_str!("../../../../templates/console/compose-macros.html.tera"),
    ),
    (
        "compose-counts.html.tera",
        include_str!("../../../../templates/console/compose-counts.html.tera"),
    ),
    (
        "compose-sms.html.tera",
        include_str!("../../../../templates/console/compose-sms.html.tera"),
    ),
    (
        "compose-preview.html.tera",
        include_str!("../../../../templates/console/compose-preview.html.tera"),
    ),
    (
        "compose.html.tera",
        include_str!("../../../../templates/console/compose.html.tera"),
    ),
    (
        "compose-test.html.tera",
        include_str!("../../../../templates/console/compose-test.html.tera"),
    ),
];

const STYLESHEET: &str = include_str!("../../../../templates/console/console.css");

/// `t()` of the console: a phrase, typeset French in French. Only the phrases: what users
/// typed (an update's text in a form) is shown exactly as typed.
struct Phrase {
    fluent: FluentFunction,
    french: bool,
}

impl tera::Function for Phrase {
    fn call(
        &self,
        args: &std::collections::HashMap<String, tera::Value>,
    ) -> tera::Result<tera::Value> {
        let text = self.fluent.call(args)?;
        Ok(match text {
            tera::Value::String(text) if self.french => {
                tera::Value::String(crate::render::french_spacing(&text))
            }
            other => other,
        })
    }
}

pub struct Pages {
    teras: [Tera; 3],
    locales: Arc<Locales>,
}

impl Pages {
    pub fn new(locales: Arc<Locales>) -> Result<Pages, RenderError> {
        let build = |language: Language| -> Result<Tera, RenderError> {
            let mut tera = Tera::default();
            tera.autoescape_on(vec![".html.tera"]);
            tera.register_function(
                "t",
                Phrase {
                    fluent: FluentFunction::new(Arc::clone(&locales), language),
                    french: language == Language::Fr,
                },
            );
            for (name, source) in TEMPLATES {
                tera.add_raw_template(name, source)
                    .map_err(|error| RenderError::Template {
                        name: format!("console/{name}"),
                        message: error.to_string(),
                    })?;
            }
            Ok(tera)
        };
        Ok(Pages {
            teras: [
                build(Language::Nl)?,
                build(Language::Fr)?,
                build(Language::En)?,
            ],
            locales,
        })
    }

    /// A moment as a table cell writes it ("di 13/01 9u30"), in the hospital's time zone.
    pub fn when(&self, language: Language, at_ms: i64) -> String {
        chrono::DateTime::from_timestamp_millis(at_ms)
            .and_then(|at| self.locales.datetime(language, at).ok())
            .map(|texts| texts.short)
            .unwrap_or_default()
    }

    fn tera(&self, language: Language) -> &Tera {
        match language {
            Language::Nl => &self.teras[0],
            Language::Fr => &self.teras[1],
            Language::En => &self.teras[2],
        }
    }

    /// A page, given what every page shows (`lang`, `csrf`, the user, the path for the
    /// language links) and its own context.
    pub fn render(
        &self,
        visit: &super::Visit,
        user: Option<&User>,
        name: &str,
        mut context: Context,
    ) -> Result<Html<String>, ConsoleError> {
        context.insert("lang", visit.language.code());
        context.insert("csrf", &visit.csrf);
        context.insert("path_encoded", &query_encoded(&visit.path));
        context.insert("user", &user);
        self.render_in(visit.language, name, &context)
    }

    fn render_in(
        &self,
        language: Language,
        name: &str,
        context: &Context,
    ) -> Result<Html<String>, ConsoleError> {
        let html = self
            .tera(language)
            .render(name, context)
            .map_err(|error| ConsoleError::Internal(format!("console/{name}: {error:?}")))?;
        Ok(Html(html))
    }

    /// An error as a page in the visitor's language, with its status; a request that must
    /// sign in first is sent to the sign-in page instead.
    pub fn error_page(
        &self,
        language: Language,
        user: Option<&User>,
        error: &ConsoleError,
    ) -> Response {
        if let ConsoleError::SignInFirst { back } = error {
            let to = format!("/console/login?back={}", query_encoded(back));
            return Redirect::to(&to).into_response();
        }
        if let ConsoleError::Internal(why) = error {
            tracing::error!(message = "console: request failed", reason = %why);
        }
        let mut context = Context::new();
        context.insert("lang", language.code());
        context.insert("user", &user);
        context.insert("path_encoded", &query_encoded("/console"));
        context.insert("csrf", "");
        context.insert("kind", error.kind());
        if let ConsoleError::Refused(why) | ConsoleError::Forbidden(why) = error {
            context.insert("reason", why);
        }
        if let ConsoleError::Refusal(refusal) = error {
            context.insert("reason", &said(language, refusal));
        }
        if let ConsoleError::TooManyAttempts(wait) = error {
            context.insert("seconds", &whole_seconds(*wait));
        }
        let status = error.status();
        let mut response = match self.render_in(language, "error.html.tera", &context) {
            Ok(html) => (status, html).into_response(),
            Err(_) => status.into_response(),
        };
        let retry_after = match error {
            ConsoleError::TooManyAttempts(wait) => Some(whole_seconds(*wait)),
            ConsoleError::Busy => Some(1),
            _ => None,
        };
        if let Some(seconds) = retry_after {
            if let Ok(value) = HeaderValue::from_str(&seconds.to_string()) {
                response.headers_mut().insert(header::RETRY_AFTER, value);
            }
        }
        response
    }
}

/// A refusal in the visitor's language, typeset as the console's phrases are.
pub fn said(language: Language, refusal: &Refusal) -> String {
    let text = refusal.say(CliText::of(language));
    if language == Language::Fr {
        crate::render::french_spacing(&text)
    } else {
        text
    }
}

/// A wait as `Retry-After` and the page say it: whole seconds, rounded up, at least 1.
pub fn whole_seconds(wait: Duration) -> u64 {
    (wait.as_secs() + u64::from(wait.subsec_nanos() > 0)).max(1)
}

/// A value for a link's query string (Tera's own `urlencode` is not compiled in).
pub fn query_encoded(value: &str) -> String {
    form_urlencoded::byte_serialize(value.as_bytes()).collect()
}

/// `GET /console/style.css`.
pub async fn stylesheet() -> Response {
    (
        [
            (header::CONTENT_TYPE, "text/css; charset=utf-8"),
            (header::CACHE_CONTROL, "max-age=300"),
        ],
        STYLESHEET,
    )
        .into_response()
}

/// Why the console did not do what was asked. The guard turns it into a page in the
/// visitor's language (see [`IntoResponse`] below).
#[derive(Debug, Clone, thiserror::Error)]
pub enum ConsoleError {
    /// Not signed in, or the session ended or expired: to the sign-in page, then back.
    #[error("sign in first")]
    SignInFirst { back: String },
    /// The user's role may not do this: 403, naming both.
    #[error("{0}")]
    Forbidden(String),
    /// An unsafe request without its CSRF token: 403.
    #[error("the form's token is missing or wrong")]
    CsrfRefused,
    #[error("not found")]
    NotFound,
    /// Too many failed sign-ins: 429, try again after this long.
    #[error("too many attempts")]
    TooManyAttempts(Duration),
    /// Every Argon2 slot is taken (see `HashingGate`): 429, try again in a second.
    #[error("busy checking other passwords")]
    Busy,
    /// The operation refused what was asked, and says why: 422.
    #[error("{0}")]
    Refused(String),
    /// The same, said in the visitor's language; four eyes' refusal is a 403.
    #[error("{0}")]
    Refusal(Refusal),
    /// The database or a template failed: 500, logged.
    #[error("{0}")]
    Internal(String),
}

impl ConsoleError {
    fn status(&self) -> StatusCode {
        match self {
            ConsoleError::SignInFirst { .. } => StatusCode::SEE_OTHER,
            ConsoleError::Forbidden(_) | ConsoleError::CsrfRefused => StatusCode::FORBIDDEN,
            ConsoleError::NotFound => StatusCode::NOT_FOUND,
            ConsoleError::TooManyAttempts(_) | ConsoleError::Busy => StatusCode::TOO_MANY_REQUESTS,
            ConsoleError::Refusal(Refusal::SameAuthor { .. }) => StatusCode::FORBIDDEN,
            ConsoleError::Refused(_) | ConsoleError::Refusal(_) => StatusCode::UNPROCESSABLE_ENTITY,
            ConsoleError::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    fn kind(&self) -> &'static str {
        match self {
            ConsoleError::SignInFirst { .. } => "sign-in",
            ConsoleError::Forbidden(_) => "forbidden",
            ConsoleError::CsrfRefused => "csrf",
            ConsoleError::NotFound => "not-found",
            ConsoleError::TooManyAttempts(_) => "too-many",
            ConsoleError::Busy => "busy",
            ConsoleError::Refusal(Refusal::SameAuthor { .. }) => "forbidden",
            ConsoleError::Refused(_) | ConsoleError::Refusal(_) => "refused",
            ConsoleError::Internal(_) => "internal",
        }
    }
}

/// The error travels in the response's extensions to the guard, which knows the visitor's
/// language and renders the page.
impl IntoResponse for ConsoleError {
    fn into_response(self) -> Response {
        let mut response = self.status().into_response();
        response.extensions_mut().insert(self);
        response
    }
}

impl From<AppError> for ConsoleError {
    fn from(error: AppError) -> ConsoleError {
        if let Some(refusal) = error.refusal() {
            return ConsoleError::Refusal(refusal);
        }
        match error {
            AppError::Refused(why) => ConsoleError::Refused(why),
            // Four eyes is a right the role has not, for this update: 403 like any other.
            AppError::Approval(ApprovalError::SameAuthor { .. }) => {
                ConsoleError::Forbidden(error.to_string())
            }
            AppError::Store(StoreError::NotFound(_)) => ConsoleError::NotFound,
            // Refusals a person can act on: the configuration's placeholders or wrong address
            // (say so, not "server error").
            AppError::Draft(_)
            | AppError::Approval(_)
            | AppError::Account(_)
            | AppError::Audience(_)
            | AppError::Placeholders { .. }
            | AppError::Config(_) => ConsoleError::Refused(error.to_string()),
            other => ConsoleError::Internal(other.to_string()),
        }
    }
}

impl From<StoreError> for ConsoleError {
    fn from(error: StoreError) -> ConsoleError {
        ConsoleError::from(AppError::from(error))
    }
}
