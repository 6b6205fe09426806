//! The HTTP server of `tocsin serve`, for traffic from anyone who can reach the host.
//!
//! Our own accept loop around hyper's HTTP/1.1 connections, so that each connection is
//! watched by its own task (a watchdog):
//!
//! - a new connection must send a whole request head within `header_read_timeout`, and so
//!   must a kept-alive one from the first byte of its next request (slow-header attacks);
//! - a kept-alive connection that starts no request within `idle_timeout` is closed;
//! - a request runs for at most `request_timeout` (tower-http's timeout: 408) until its
//!   answer's head; a connection is busy until the answer's body is written, so a streamed
//!   body (the console's Server-Sent Events, which end themselves before `request_timeout`)
//!   is neither timed out as idle nor evicted;
//! - at most `max_connections` are open: at the cap, a new connection closes the oldest one
//!   that is not in a request (a connection that sent nothing yet, or half a head, or sits
//!   idle), so that a flood of silent connections cannot keep a gateway's receipt out; when
//!   every connection is in a request, the new one is closed at once.
//!
//! hyper's own header timeout is not used: it starts when hyper waits for a head, which
//! includes a kept-alive connection's idle time, so the two could not be set apart.

use super::throttled::Throttled;
use axum::extract::ConnectInfo;
use axum::http::StatusCode;
use axum::Router;
use hyper::server::conn::http1;
use hyper_util::rt::TokioIo;
use hyper_util::service::TowerToHyperService;
use std::collections::BTreeMap;
use std::future::Future;
use std::io;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::task::{Context, Poll};
use std::time::Duration;
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{watch, Notify};
use tokio::task::JoinSet;
use tokio::time::Instant;
use tower_http::timeout::TimeoutLayer;

/// File descriptors `serve` keeps for itself beside its HTTP connections: the database,
/// the gateways' and the SMTP server's connections, the runtime's own.
pub const RESERVED_FILES: u64 = 128;

/// How often a watchdog looks at its connection, besides its deadline: a phase changes
/// without waking it (that would cost every request two task wake-ups), so a deadline that
/// a change brought closer is enforced up to this late.
const WATCH_EVERY: Duration = Duration::from_secs(1);

/// After an error of `accept` other than one about that connection (out of file
/// descriptors, most likely), before the next try.
const ACCEPT_PAUSE: Duration = Duration::from_millis(50);

/// What bounds each connection; from `[serve]`.
#[derive(Debug, Clone, Copy)]
pub struct Limits {
    pub header_read: Duration,
    pub idle: Duration,
    pub request: Duration,
    pub max_connections: usize,
}

impl Limits {
    pub fn from_config(serve: &crate::config::Serve) -> Result<Limits, String> {
        if serve.max_connections == 0 {
            return Err("[serve] max_connections must be at least 1".into());
        }
        let seconds = |value: u64, key: &str| {
            if value == 0 {
                Err(format!("[serve] {key} must be at least 1"))
            } else {
                Ok(Duration::from_secs(value))
            }
        };
        Ok(Limits {
            header_read: seconds(
                serve.header_read_timeout_seconds,
                "header_read_timeout_seconds",
            )?,
            idle: seconds(serve.idle_timeout_seconds, "idle_timeout_seconds")?,
            request: seconds(serve.request_timeout_seconds, "request_timeout_seconds")?,
            max_connections: serve.max_connections,
        })
    }

    /// Makes sure the process may open `max_connections` and [`RESERVED_FILES`] more files,
    /// raising its soft limit up to the hard one if it must.
    pub fn ensure_file_limit(&self) -> Result<(), String> {
        let needed = self.max_connections as u64 + RESERVED_FILES;
        let limit = rlimit::increase_nofile_limit(needed)
            .map_err(|error| format!("cannot read the limit of open files: {error}"))?;
        if limit < needed {
            return Err(format!(
                "[serve] max_connections = {} needs {needed} open files, and this process \
                 may open {limit} (ulimit -n): lower max_connections or raise the limit",
                self.max_connections
            ));
        }
        Ok(())
    }
}

/// Where a connection stands, as its watchdog sees it.
#[derive(Debug, Clone, Copy)]
enum Phase {
    /// Accepted at `since`; not a byte read yet.
    Fresh { since: Instant },
    /// Reading a request head; `since` counts for the header timeout.
    Head { since: Instant },
    /// A request is being read or answered: the request timeout bounds it.
    Busy,
    /// Answered its last request at `since`; nothing read since.
    Idle { since: Instant },
}

/// One open connection, shared by its socket, its service and its watchdog.
struct Connection {
    id: u64,
    phase: Mutex<Phase>,
    /// Set, and `evict` notified, when the cap closes this connection to make room for a
    /// new one.
    evicted: AtomicBool,
    evict: Notify,
}

impl Connection {
    fn phase(&self) -> MutexGuard<'_, Phase> {
        // A panic while holding this lock leaves a valid phase.
        self.phase
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    fn set(&self, phase: Phase) {
        *self.phase() = phase;
    }

    /// Bytes arrived: a request head has begun, unless one is already under way.
    fn read_some(&self) {
        let mut phase = self.phase();
        let head = match *phase {
            // A new connection's head is timed from its accept: a first byte sent late
            // buys no time.
            Phase::Fresh { since } => Phase::Head { since },
            Phase::Idle { .. } => Phase::Head {
                since: Instant::now(),
            },
            Phase::Head { .. } | Phase::Busy => return,
        };
        *phase = head;
    }

    fn is_busy(&self) -> bool {
        matches!(*self.phase(), Phase::Busy)
    }

    /// When this connection is to be closed if nothing changes; `None` while it is in a
    /// request.
    fn deadline(&self, limits: &Limits) -> Option<Instant> {
        match *self.phase() {
            Phase::Fresh { since } | Phase::Head { since } => Some(since + limits.header_read),
            Phase::Idle { since } => Some(since + limits.idle),
            Phase::Busy => None,
        }
    }
}

/// Marks its connection busy from a request's head to its answer.
struct Busy(Arc<Connection>);

impl Busy {
    fn start(connection: &Arc<Connection>) -> Busy {
        connection.set(Phase::Busy);
        Busy(Arc::clone(connection))
    }
}

impl Drop for Busy {
    fn drop(&mut self) {
        self.0.set(Phase::Idle {
            since: Instant::now(),
        });
    }
}

/// An answer's body, keeping its connection [`Busy`] until its last frame is written (or
/// the body is dropped: the connection closed).
struct Answering {
    body: axum::body::Body,
    busy: Option<Busy>,
}

impl hyper::body::Body for Answering {
    type Data = hyper::body::Bytes;
    type Error = axum::Error;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<hyper::body::Frame<Self::Data>, Self::Error>>> {
        let polled = Pin::new(&mut self.body).poll_frame(cx);
        if matches!(polled, Poll::Ready(None) | Poll::Ready(Some(Err(_)))) {
            self.busy = None;
        }
        polled
    }

    fn is_end_stream(&self) -> bool {
        self.body.is_end_stream()
    }

    fn size_hint(&self) -> hyper::body::SizeHint {
        self.body.size_hint()
    }
}

/// The socket, telling its connection when bytes arrive.
struct Watched {
    stream: TcpStream,
    connection: Arc<Connection>,
}

impl AsyncRead for Watched {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let before = buf.filled().len();
        let polled = Pin::new(&mut self.stream).poll_read(cx, buf);
        if buf.filled().len() > before {
            self.connection.read_some();
        }
        polled
    }
}

impl AsyncWrite for Watched {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.stream).poll_write(cx, buf)
    }

    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.stream).poll_write_vectored(cx, bufs)
    }

    fn is_write_vectored(&self) -> bool {
        self.stream.is_write_vectored()
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.stream).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.stream).poll_shutdown(cx)
    }
}

/// The open connections, oldest first (ids only grow).
struct Connections {
    max: usize,
    open: Mutex<BTreeMap<u64, Arc<Connection>>>,
    next_id: AtomicU64,
}

enum Admission {
    Admitted {
        connection: Arc<Connection>,
        evicted: bool,
    },
    /// At the cap, every connection in a request.
    Full,
}

impl Connections {
    fn open(&self) -> MutexGuard<'_, BTreeMap<u64, Arc<Connection>>> {
        self.open
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    fn admit(&self) -> Admission {
        let mut open = self.open();
        let mut evicted = false;
        if open.len() >= self.max {
            let oldest_waiting = open
                .iter()
                .find(|(_, connection)| !connection.is_busy())
                .map(|(id, _)| *id);
            let Some(oldest) = oldest_waiting.and_then(|id| open.remove(&id)) else {
                return Admission::Full;
            };
            oldest.evicted.store(true, Ordering::Relaxed);
            oldest.evict.notify_one();
            evicted = true;
        }
        let id = self.next_id.fetch_add(1, Ordering::Relaxed);
        let connection = Arc::new(Connection {
            id,
            phase: Mutex::new(Phase::Fresh {
                since: Instant::now(),
            }),
            evicted: AtomicBool::new(false),
            evict: Notify::new(),
        });
        open.insert(id, Arc::clone(&connection));
        Admission::Admitted {
            connection,
            evicted,
        }
    }

    fn close(&self, id: u64) {
        self.open().remove(&id);
    }
}

/// Warnings that hostile traffic could repeat thousands of times a second.
struct Warnings {
    evicted: Arc<Throttled>,
    full: Arc<Throttled>,
    accept: Arc<Throttled>,
}

/// Serves `router` on `listener` until `shutdown` completes, then lets the requests under
/// way finish (within the timeouts) and closes every connection.
pub async fn run(
    listener: TcpListener,
    router: Router,
    limits: Limits,
    shutdown: impl Future<Output = ()>,
) {
    let router = router.layer(TimeoutLayer::with_status_code(
        StatusCode::REQUEST_TIMEOUT,
        limits.request,
    ));
    let connections = Arc::new(Connections {
        max: limits.max_connections,
        open: Mutex::default(),
        next_id: AtomicU64::new(0),
    });
    let warnings = Warnings {
        evicted: Throttled::start(
            "connection cap reached: the oldest connection not in a request was closed",
        ),
        full: Throttled::start(
            "connection cap reached with every connection in a request: a new one was closed",
        ),
        accept: Throttled::start("cannot accept a connection"),
    };
    let (closing, closing_seen) = watch::channel(false);
    let mut tasks = JoinSet::new();
    tokio::pin!(shutdown);
    loop {
        while tasks.try_join_next().is_some() {}
        let accepted = tokio::select! {
            accepted = listener.accept() => accepted,
            () = &mut shutdown => break,
        };
        let (stream, peer) = match accepted {
            Ok(accepted) => accepted,
            Err(error) => {
                // A connection that died before we took it concerns only that connection.
                if !matches!(
                    error.kind(),
                    io::ErrorKind::ConnectionAborted
                        | io::ErrorKind::ConnectionReset
                        | io::ErrorKind::Interrupted
                ) {
                    warnings.accept.note(error.to_string());
                    tokio::time::sleep(ACCEPT_PAUSE).await;
                }
                continue;
            }
        };
        let connection = match connections.admit() {
            Admission::Admitted {
                connection,
                evicted,
            } => {
                if evicted {
                    warnings
                        .evicted
                        .note(format!("max_connections = {}", limits.max_connections));
                }
                connection
            }
            Admission::Full => {
                warnings
                    .full
                    .note(format!("max_connections = {}", limits.max_connections));
                continue;
            }
        };
        let _ = stream.set_nodelay(true);
        tasks.spawn(watch_connection(
            stream,
            peer,
            connection,
            Arc::clone(&connections),
            router.clone(),
            limits,
            closing_seen.clone(),
        ));
    }
    drop(listener);
    let _ = closing.send(true);
    while tasks.join_next().await.is_some() {}
}

/// Serves one connection and closes it when a timeout passes, the cap evicts it or, on
/// shutdown, once its request under way is answered.
async fn watch_connection(
    stream: TcpStream,
    peer: SocketAddr,
    connection: Arc<Connection>,
    connections: Arc<Connections>,
    router: Router,
    limits: Limits,
    mut closing: watch::Receiver<bool>,
) {
    let service = {
        let router = TowerToHyperService::new(router);
        let connection = Arc::clone(&connection);
        hyper::service::service_fn(move |mut request: hyper::Request<hyper::body::Incoming>| {
            // The console's audit log and sign-in throttle name where a request came from.
            request.extensions_mut().insert(ConnectInfo(peer));
            let busy = Busy::start(&connection);
            let answer = hyper::service::Service::call(&router, request);
            async move {
                let response = answer.await?;
                // Busy until the whole answer is written: a streamed one (the console's
                // Server-Sent Events) is neither idle nor a candidate for eviction.
                Ok::<_, std::convert::Infallible>(response.map(|body| {
                    axum::body::Body::new(Answering {
                        body,
                        busy: Some(busy),
                    })
                }))
            }
        })
    };
    let io = TokioIo::new(Watched {
        stream,
        connection: Arc::clone(&connection),
    });
    let served = http1::Builder::new()
        .header_read_timeout(None)
        .serve_connection(io, service);
    tokio::pin!(served);
    let mut shutting_down = *closing.borrow();
    if shutting_down {
        served.as_mut().graceful_shutdown();
    }
    loop {
        let deadline = connection.deadline(&limits);
        let look = Instant::now() + WATCH_EVERY;
        let wake = deadline.map_or(look, |deadline| deadline.min(look));
        tokio::select! {
            result = served.as_mut() => {
                if let Err(error) = result {
                    tracing::debug!(message = "connection ended", %error);
                }
                break;
            }
            () = tokio::time::sleep_until(wake) => {
                if connection
                    .deadline(&limits)
                    .is_some_and(|deadline| deadline <= Instant::now())
                {
                    break;
                }
            }
            () = connection.evict.notified() => {
                if connection.evicted.load(Ordering::Relaxed) && !shutting_down {
                    // A request may have begun since the cap chose this connection: it is
                    // answered first.
                    if !connection.is_busy() {
                        break;
                    }
                    shutting_down = true;
                    served.as_mut().graceful_shutdown();
                }
            }
            _ = closing.changed(), if !shutting_down => {
                shutting_down = true;
                served.as_mut().graceful_shutdown();
            }
        }
    }
    connections.close(connection.id);
}
