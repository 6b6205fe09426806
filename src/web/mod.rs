//! `tocsin serve`: the SMS gateways' delivery receipts over HTTP, the public press room
//! (`areas/press.rs`, answered from memory by a [`PressRoom`]), the dispatcher's
//! scheduler (`dispatch::scheduler`) for updates being sent, and with `[telegram] transport
//! = "bot"` the Telegram bot's conversations (`bot`; in webhook mode its updates arrive at
//! `areas/telegram.rs`). Each area of the HTTP side is a
//! module of `areas/` with its `router()`, merged here around one [`AppState`]; every
//! handler fails with one [`WebError`].
//!
//! Answers: 200 for every receipt read and authenticated — applied, noted, a replay or an
//! unknown delivery alike, since Twilio and Kannel retry on anything else and a legitimate
//! unknown id must not loop; 400 malformed; 403 unsigned, mis-signed or a wrong token; 413
//! a body over [`MAX_BODY_BYTES`]; 500 when the database fails (the gateway retries later).

mod areas;
mod error;
pub mod press_room;
pub mod progress;
pub mod receipts;
pub mod server;
mod throttled;
mod writer;

use crate::app::{App, AppError};
use crate::bot::{BotFailure, Intake, TelegramBot};
use crate::clock::Clock;
use crate::dispatch::{scheduler, Dispatcher};
use crate::store::prelude::*;
use axum::extract::DefaultBodyLimit;
use axum::Router;
pub use error::WebError;
pub use press_room::PressRoom;
pub use receipts::ReceiptKeys;
use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;
use throttled::Throttled;
use writer::ReceiptWriter;

/// Receipts are a few hundred bytes; anything much larger is not one.
pub const MAX_BODY_BYTES: usize = 64 * 1024;

/// What every area's handlers share.
#[derive(Clone)]
struct AppState {
    receipts: ReceiptWriter,
    keys: Arc<ReceiptKeys>,
    clock: Arc<dyn Clock>,
    refusals: Arc<Throttled>,
}

/// Every area of `tocsin serve`: the receipt endpoints (`/receipts/{kind}` for each kind of
/// gateway with receipts) and, given one, the press room (`/`, `/{lang}/…`, `/cap/…`).
/// Starts the tasks that write the receipts and the warnings, so it must be called inside a
/// Tokio runtime.
pub fn router(
    store: Arc<dyn Store>,
    keys: ReceiptKeys,
    clock: Arc<dyn Clock>,
    press: Option<PressRoom>,
) -> Router {
    let receipts = areas::receipts::router(&keys);
    let state = AppState {
        receipts: ReceiptWriter::start(store),
        keys: Arc::new(keys),
        clock,
        refusals: Throttled::start("receipts refused (forged, or not a receipt)"),
    };
    let router = Router::new()
        .merge(receipts)
        .layer(DefaultBodyLimit::max(MAX_BODY_BYTES))
        .with_state(state);
    match press {
        Some(press) => router.merge(areas::press::router(press)),
        None => router,
    }
}

/// `tocsin serve`, bound to its address and ready to run.
pub struct Server {
    app: Arc<App>,
    console: areas::console::Console,
    dispatcher: Arc<Dispatcher>,
    keys: ReceiptKeys,
    press: PressRoom,
    limits: server::Limits,
    listener: tokio::net::TcpListener,
    address: SocketAddr,
    bot: Option<TelegramBot>,
    /// Whether this instance sends too; off behind a load balancer where `tocsin worker`s
    /// send.
    dispatching: bool,
}

impl Server {
    /// Checks the configuration (a receipt secret where Kannel receipts need one, the
    /// limits, enough file descriptors) and binds `[serve] bind`.
    pub async fn bind(app: App) -> Result<Server, AppError> {
        // serve sends too (updates being sent, fallbacks): the same details go out.
        app.refuse_placeholders("run tocsin serve")?;
        let keys = ReceiptKeys::from_config(&app.config).map_err(AppError::Config)?;
        let limits = server::Limits::from_config(&app.config.serve).map_err(AppError::Config)?;
        if let Some(problem) = app.config.console.problems().into_iter().next() {
            return Err(AppError::Config(problem));
        }
        limits.ensure_file_limit().map_err(AppError::Config)?;
        let dispatcher = Arc::new(app.dispatcher()?);
        let press = PressRoom::open(&app).await?;
        let bot = telegram_bot(&app).await?;
        let app = Arc::new(app);
        let console = areas::console::Console::new(Arc::clone(&app))?;
        let bind = &app.config.serve.bind;
        let cannot = |error: std::io::Error| {
            AppError::Config(format!("[serve] bind: cannot listen on {bind}: {error}"))
        };
        let listener = tokio::net::TcpListener::bind(bind).await.map_err(cannot)?;
        let address = listener.local_addr().map_err(cannot)?;
        Ok(Server {
            app,
            console,
            dispatcher,
            keys,
            press,
            limits,
            listener,
            address,
            bot,
            dispatching: true,
        })
    }

    /// Takes receipts and answers the press room and the console, and sends nothing: for
    /// several instances behind a load balancer while `tocsin worker`s send.
    pub fn without_dispatch(mut self) -> Server {
        self.dispatching = false;
        self
    }

    /// The console dashboards' pollers, one per watched update.
    pub fn progress_hub(&self) -> Arc<progress::ProgressHub> {
        Arc::clone(&self.console.progress)
    }

    /// The console's bound on Argon2 work (tests fill it to see the refusal).
    pub fn hashing_gate(&self) -> Arc<crate::accounts::HashingGate> {
        Arc::clone(&self.console.hashing)
    }

    /// The address it listens on (the port the system chose, for `:0`).
    pub fn address(&self) -> SocketAddr {
        self.address
    }

    /// Takes receipts, answers the press room (rebuilt as updates are released) and sends the
    /// updates being sent (unless [`Server::without_dispatch`]) until `shutdown` completes;
    /// the sends in flight then finish and are recorded.
    pub async fn run(self, shutdown: impl Future<Output = ()> + Send + 'static) {
        tracing::info!(message = "tocsin serve listening", address = %self.address);
        let (stop, stopped) = tokio::sync::watch::channel(false);
        let launch: Arc<dyn scheduler::Launch> = Arc::clone(&self.app) as _;
        let dispatching = self.dispatching.then(|| {
            tokio::spawn(scheduler::run(
                self.dispatcher,
                Some(launch),
                stopped.clone(),
            ))
        });
        let store = Arc::clone(&self.app.store);
        let following = tokio::spawn(self.press.clone().follow(
            Arc::clone(&store),
            self.app.config.clone(),
            Arc::clone(&self.app.clock),
            stopped,
        ));
        let mut router = router(
            Arc::clone(&store),
            self.keys,
            Arc::clone(&self.app.clock),
            Some(self.press),
        )
        .merge(areas::console::router(self.console));
        let mut conversing = None;
        if let Some(bot) = self.bot {
            let intake = match bot.webhook() {
                Some(webhook) => {
                    let (intake, updates) = Intake::new(&webhook.secret);
                    router = router.merge(areas::telegram::router(intake));
                    Some(updates)
                }
                None => None,
            };
            conversing = Some(tokio::spawn(bot.run(stop.subscribe(), intake)));
        }
        server::run(self.listener, router, self.limits, shutdown).await;
        let _ = stop.send(true);
        if let Some(dispatching) = dispatching {
            let _ = dispatching.await;
        }
        let _ = following.await;
        if let Some(conversing) = conversing {
            let _ = conversing.await;
        }
    }
}

/// The Telegram bot, when `[telegram] transport = "bot"`; refused when Telegram refuses its
/// token (`getMe`), as any other mistake in the configuration. Telegram out of reach is no
/// reason not to take receipts: the bot tries again once running.
async fn telegram_bot(app: &App) -> Result<Option<TelegramBot>, AppError> {
    let Some(bot) = TelegramBot::from_config(
        &app.config,
        Arc::clone(&app.store),
        Arc::clone(&app.renderer),
        Arc::clone(&app.clock),
    )
    .map_err(AppError::Config)?
    else {
        return Ok(None);
    };
    match bot.check().await {
        Ok(()) => {}
        Err(BotFailure::Token(reason)) => return Err(AppError::Config(reason)),
        Err(failure) => tracing::warn!(
            message = "Telegram cannot be reached: the bot tries again",
            reason = %failure
        ),
    }
    Ok(Some(bot))
}

/// Runs `tocsin serve` until `shutdown` completes: the receipt endpoints and the press room
/// on `[serve] bind`, and every few seconds a dispatcher run for each update in state `sending` with open
/// deliveries. Refuses to start without a receipt secret when a Kannel gateway has a
/// `dlr_url`.
pub async fn serve(
    app: App,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> Result<(), AppError> {
    Server::bind(app).await?.run(shutdown).await;
    Ok(())
}
