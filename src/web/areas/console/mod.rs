//! The spokesperson's console at `/console`: server-rendered pages (Tera, the phrases of
//! `locales/`), forms that work without JavaScript, and the same `App` operations as the CLI.
//!
//! Every request passes [`visit::guard`] first: it reads the session cookie, chooses the
//! language, refuses an unsafe request (POST …) without the CSRF token of its session (or,
//! before sign-in, of the browser's pre-session cookie), and sets the headers that keep the
//! pages out of frames, caches and other sites' reach. Handlers take [`SignedIn`] (or
//! [`Visit`] for the pages before sign-in) and fail with [`ConsoleError`].

mod audit;
mod compose;
mod pages;
mod previews;
mod review;
mod sign_in;
mod updates;
mod visit;
mod watch;

use crate::accounts::{HashingGate, LoginThrottle};
use crate::app::App;
use crate::web::progress::{ProgressHub, POLL_EVERY};
use axum::middleware;
use axum::routing::get;
use axum::Router;
pub use pages::{ConsoleError, Pages};
use std::sync::Arc;
pub use visit::{SignedIn, Visit};

/// What the console's handlers share.
#[derive(Clone)]
pub struct Console {
    pub app: Arc<App>,
    pub pages: Arc<Pages>,
    /// Failed sign-ins, counted in memory: one per server.
    pub throttle: Arc<LoginThrottle>,
    /// The dashboards' pollers: one per watched update, whatever the number of dashboards.
    pub progress: Arc<ProgressHub>,
    /// The Argon2 hashes that sign-ins and setup links may run at once, and wait for.
    pub hashing: Arc<HashingGate>,
}

impl Console {
    pub fn new(app: Arc<App>) -> Result<Console, crate::render::RenderError> {
        let pages = Pages::new(app.renderer.shared_locales())?;
        Ok(Console {
            throttle: Arc::new(app.login_throttle()),
            hashing: Arc::new(HashingGate::new(HASHING_AT_ONCE, HASHING_WAITING)),
            progress: ProgressHub::new(Arc::clone(&app), POLL_EVERY),
            pages: Arc::new(pages),
            app,
        })
    }
}

/// Two hashes at once take 38 MiB and two cores' worth of blocking threads; eight more
/// wait a few tenths of a second at most, so that colleagues signing in together are not
/// refused.
const HASHING_AT_ONCE: usize = 2;
const HASHING_WAITING: usize = 8;

/// Form bodies of the console: an update's three languages fit with room to spare.
pub const MAX_FORM_BYTES: usize = 512 * 1024;

pub fn router(console: Console) -> Router {
    Router::new()
        .route("/console", get(updates::home))
        .route("/console/style.css", get(pages::stylesheet))
        .route("/console/language", get(visit::choose_language))
        .merge(sign_in::routes())
        .merge(updates::routes())
        .merge(review::routes())
        .merge(audit::routes())
        .merge(watch::routes())
        .merge(compose::routes())
        .layer(middleware::from_fn_with_state(
            console.clone(),
            visit::guard,
        ))
        .with_state(console)
}
