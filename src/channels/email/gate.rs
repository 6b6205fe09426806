//! The gate that holds back the end of a message's data until the handover is decided.

use lettre::transport::smtp::client::AsyncTokioStream;
use std::io;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll, Waker};
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::TcpStream;

const END_OF_DATA: &[u8] = b"\r\n.\r\n";

/// Holds back the end of a message's data until the handover is decided.
pub(super) struct Gate {
    state: Mutex<GateState>,
    /// The plain socket under the stream, so that the end can be written the instant the
    /// handover is recorded, from wherever that happens. None under TLS.
    socket: Option<Arc<TcpStream>>,
}

#[derive(Default)]
struct GateState {
    armed: bool,
    /// The message's data went out; its end is waiting here.
    pub(super) reached: bool,
    /// The message's write is over, by the gate or not (an error, a stream that hides the
    /// plain text from us, such as STARTTLS).
    finished: bool,
    /// Whether the handover was recorded: the end goes out, or the stream fails.
    pub(super) verdict: Option<bool>,
    /// How much of the end `release` wrote itself.
    released: usize,
    writer: Option<Waker>,
    watcher: Option<Waker>,
}

impl Gate {
    pub(super) fn new(socket: Option<Arc<TcpStream>>) -> Gate {
        Gate {
            state: Mutex::new(GateState::default()),
            socket,
        }
    }

    fn state(&self) -> std::sync::MutexGuard<'_, GateState> {
        // A panic elsewhere cannot leave the flags half-written: each is set on its own.
        self.state
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    pub(super) fn arm(&self) {
        *self.state() = GateState {
            armed: true,
            ..GateState::default()
        };
    }

    /// Ready(true) when the data is out and its end waits; Ready(false) when the write ended
    /// without reaching the gate.
    fn poll_reached(&self, cx: &mut Context<'_>) -> Poll<bool> {
        let mut state = self.state();
        if state.reached {
            Poll::Ready(true)
        } else if state.finished {
            Poll::Ready(false)
        } else {
            state.watcher = Some(cx.waker().clone());
            Poll::Pending
        }
    }

    pub(super) async fn reached(&self) -> bool {
        std::future::poll_fn(|cx| self.poll_reached(cx)).await
    }

    /// The handover is recorded: the end goes out now, written here if the socket is ours
    /// and has room, else by the waiting writer.
    pub(super) fn release(&self) {
        let mut state = self.state();
        state.verdict = Some(true);
        if let (Some(socket), true) = (&self.socket, state.armed && state.reached) {
            if let Ok(written) = socket.try_write(END_OF_DATA) {
                state.released = written;
            }
        }
        if let Some(writer) = state.writer.take() {
            writer.wake();
        }
    }

    /// The handover could not be recorded: the message is abandoned unfinished.
    pub(super) fn refuse(&self) {
        let mut state = self.state();
        if state.verdict.is_none() {
            state.verdict = Some(false);
        }
        if let Some(writer) = state.writer.take() {
            writer.wake();
        }
    }

    pub(super) fn finish(&self) {
        let mut state = self.state();
        state.finished = true;
        state.armed = false;
        if let Some(watcher) = state.watcher.take() {
            watcher.wake();
        }
    }

    pub(super) fn poll_write(&self, cx: &mut Context<'_>, buf: &[u8]) -> Poll<Passage> {
        let mut state = self.state();
        if !state.armed || buf != END_OF_DATA {
            return Poll::Ready(Passage::Through);
        }
        if !state.reached {
            state.reached = true;
            if let Some(watcher) = state.watcher.take() {
                watcher.wake();
            }
        }
        match state.verdict {
            None => {
                state.writer = Some(cx.waker().clone());
                Poll::Pending
            }
            Some(true) => {
                state.armed = false;
                Poll::Ready(Passage::Skip(state.released))
            }
            Some(false) => {
                state.armed = false;
                Poll::Ready(Passage::Refused(io::Error::other(
                    "the handover could not be recorded: the message is abandoned unfinished",
                )))
            }
        }
    }
}

/// What the gate lets through of one write.
pub(super) enum Passage {
    Through,
    /// The first bytes of the end were written already, by `release`.
    Skip(usize),
    Refused(io::Error),
}

/// Our plain socket, shared with the gate (`try_write` needs only `&self`).
#[derive(Debug)]
pub(super) struct SharedTcp(pub(super) Arc<TcpStream>);

impl AsyncRead for SharedTcp {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        loop {
            std::task::ready!(self.0.poll_read_ready(cx))?;
            match self.0.try_read(buf.initialize_unfilled()) {
                Ok(read) => {
                    buf.advance(read);
                    return Poll::Ready(Ok(()));
                }
                Err(error) if error.kind() == io::ErrorKind::WouldBlock => continue,
                Err(error) => return Poll::Ready(Err(error)),
            }
        }
    }
}

impl AsyncWrite for SharedTcp {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        loop {
            std::task::ready!(self.0.poll_write_ready(cx))?;
            match self.0.try_write(buf) {
                Ok(written) => return Poll::Ready(Ok(written)),
                Err(error) if error.kind() == io::ErrorKind::WouldBlock => continue,
                Err(error) => return Poll::Ready(Err(error)),
            }
        }
    }
    fn poll_flush(self: Pin<&mut Self>, _cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Poll::Ready(Ok(()))
    }
    // The socket closes when the connection is dropped; SMTP ends with QUIT, not a half-close.
    fn poll_shutdown(self: Pin<&mut Self>, _cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Poll::Ready(Ok(()))
    }
}

impl AsyncTokioStream for SharedTcp {
    fn peer_addr(&self) -> io::Result<SocketAddr> {
        self.0.peer_addr()
    }
}

/// Our socket (plain, or TLS from the first byte) with the gate in its write path.
pub(super) struct GatedStream {
    pub(super) inner: Box<dyn AsyncTokioStream>,
    pub(super) gate: Arc<Gate>,
    /// What the server says while lettre opens the session (its greeting and its answer
    /// to `EHLO`), kept while Some.
    pub(super) opening: Arc<Mutex<Option<Vec<u8>>>>,
}

impl std::fmt::Debug for GatedStream {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("GatedStream").finish_non_exhaustive()
    }
}

impl AsyncRead for GatedStream {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        let before = buf.filled().len();
        let read = Pin::new(&mut this.inner).poll_read(cx, buf);
        if let (Poll::Ready(Ok(())), Ok(mut opening)) = (&read, this.opening.lock()) {
            if let Some(opening) = opening.as_mut() {
                opening.extend_from_slice(&buf.filled()[before..]);
            }
        }
        read
    }
}

impl AsyncWrite for GatedStream {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        let this = self.get_mut();
        match this.gate.poll_write(cx, buf) {
            Poll::Pending => Poll::Pending,
            Poll::Ready(Passage::Refused(error)) => Poll::Ready(Err(error)),
            Poll::Ready(Passage::Through) => Pin::new(&mut this.inner).poll_write(cx, buf),
            Poll::Ready(Passage::Skip(written)) if written >= buf.len() => {
                Poll::Ready(Ok(buf.len()))
            }
            Poll::Ready(Passage::Skip(written)) => {
                match Pin::new(&mut this.inner).poll_write(cx, &buf[written..]) {
                    Poll::Ready(Ok(more)) => Poll::Ready(Ok(written + more)),
                    Poll::Ready(Err(error)) => Poll::Ready(Err(error)),
                    // The gate is open now; lettre writes what is left again.
                    Poll::Pending if written > 0 => Poll::Ready(Ok(written)),
                    Poll::Pending => Poll::Pending,
                }
            }
        }
    }
    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().inner).poll_flush(cx)
    }
    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().inner).poll_shutdown(cx)
    }
}

impl AsyncTokioStream for GatedStream {
    fn peer_addr(&self) -> io::Result<SocketAddr> {
        self.inner.peer_addr()
    }
}
