//! E-mail: MIME messages built with lettre, sent over SMTP connections of our own.
//!
//! lettre speaks the protocol; the connections are ours because lettre's pooled transport
//! opens its sockets without `TCP_NODELAY`, and lettre writes a message and its closing
//! `.` in two writes: with Nagle's algorithm the second waits for the server's delayed ACK,
//! about 40 ms per message. Our sockets set `TCP_NODELAY` and stay pooled here.
//!
//! The handover is committed once the server has the whole message but its final `.`: the
//! stream holds that last write back (`Gate`), and the recorder writes it the instant the
//! commit returns (`Release`). A crash before the commit leaves the server an unfinished
//! message, which it discards; after it, the message is recorded `sent` and is not sent
//! again. What remains between the two is one 5-byte write.
//!
//! Where the server offers them, `PIPELINING` sends `MAIL`, `RCPT` and `DATA` in one write
//! (RFC 2920), and `8BITMIME` sends the text as it is, without quoted-printable (RFC 6152).
//! Both are read from the one `EHLO` of the session: production servers refuse a second
//! one (OpenSMTPD: `503 5.5.1 Invalid command: Already identified`).
//!
//! What the server says no to decides whose problem it is (`Outcome`): refusing the session
//! (greeting, `EHLO`, `STARTTLS`, `AUTH`) or our sender is our configuration; a 4xx there,
//! or no connection at all, is the server's state now; refusing a recipient is about that
//! recipient. The reasons returned never hold an e-mail address whole (`scrub`).

use super::{Channel, Handover, Message, Outcome, Release};
use async_trait::async_trait;
use lettre::message::header::{
    ContentTransferEncoding, ContentType, Header, HeaderName, HeaderValue,
};
use lettre::message::{Body, Mailbox, MultiPart, SinglePart};
use lettre::transport::smtp::authentication::{Credentials, Mechanism};
use lettre::transport::smtp::client::{AsyncSmtpConnection, AsyncTokioStream, TlsParameters};
use lettre::transport::smtp::commands::{Data, Mail, Rcpt, Rset};
use lettre::transport::smtp::extension::{ClientId, Extension, MailBodyParameter, MailParameter};
use lettre::Address;
use std::io;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll, Waker};
use std::time::Duration;
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::TcpStream;
use tokio::sync::Semaphore;

/// `Content-Language`: lets mail clients pick spelling and speech for the reader.
#[derive(Debug, Clone)]
struct ContentLanguage(String);

impl Header for ContentLanguage {
    fn name() -> HeaderName {
        HeaderName::new_from_ascii_str("Content-Language")
    }

    fn parse(s: &str) -> Result<Self, Box<dyn std::error::Error + Send + Sync>> {
        Ok(ContentLanguage(s.to_string()))
    }

    fn display(&self) -> HeaderValue {
        HeaderValue::new(Self::name(), self.0.clone())
    }
}

/// A message as it travels.
pub struct BuiltMail {
    pub bytes: Vec<u8>,
    pub from: Address,
    pub to: Address,
    pub message_id: String,
    /// Holds 8-bit text: sent with `BODY=8BITMIME`.
    pub eight_bit: bool,
}

/// Builds the MIME message of a delivery. The Message-ID derives from the delivery, so a
/// message sent again is recognisably the same message to the reader's mail client.
#[derive(Debug, Clone)]
pub struct MailBuilder {
    from: Mailbox,
    reply_to: Option<Mailbox>,
    message_id_domain: String,
}

impl MailBuilder {
    pub fn new(
        from: &str,
        reply_to: Option<&str>,
        message_id_domain: &str,
    ) -> Result<MailBuilder, String> {
        let parse = |raw: &str| {
            raw.parse::<Mailbox>()
                .map_err(|error| format!("{raw:?} is not a valid sender: {error}"))
        };
        Ok(MailBuilder {
            from: parse(from)?,
            reply_to: reply_to.map(parse).transpose()?,
            message_id_domain: message_id_domain.to_string(),
        })
    }

    /// `eight_bit`: the server takes 8-bit text (`8BITMIME`), so the parts need no
    /// quoted-printable (a part with a line over 998 bytes gets it all the same).
    /// `BODY=8BITMIME` goes with the message only if it holds 8-bit text.
    pub fn build(&self, message: &Message, eight_bit: bool) -> Result<BuiltMail, String> {
        let to: Address = message
            .address
            .parse()
            .map_err(|error| format!("{}: {error}", super::mask(&message.address)))?;
        let message_id = format!(
            "<tocsin.{}.{}@{}>",
            message.update_id, message.delivery_id, self.message_id_domain
        );
        let mut builder = lettre::Message::builder()
            .from(self.from.clone())
            .to(Mailbox::new(None, to.clone()))
            .subject(message.content.subject.clone().unwrap_or_default())
            .message_id(Some(message_id.clone()))
            .header(ContentLanguage(message.language.tag().to_string()));
        if let Some(reply_to) = &self.reply_to {
            builder = builder.reply_to(reply_to.clone());
        }
        let body =
            |text: &str| unencoded(text, eight_bit).unwrap_or_else(|| Body::new(text.to_string()));
        let text = SinglePart::builder()
            .header(ContentType::TEXT_PLAIN)
            .body(body(&message.content.body));
        let email = match &message.content.body_html {
            Some(html) => builder.multipart(
                MultiPart::alternative().singlepart(text).singlepart(
                    SinglePart::builder()
                        .header(ContentType::TEXT_HTML)
                        .body(body(html)),
                ),
            ),
            None => builder.singlepart(text),
        }
        .map_err(|error| error.to_string())?;
        let bytes = email.formatted();
        Ok(BuiltMail {
            eight_bit: !bytes.is_ascii(),
            bytes,
            from: self.from.email.clone(),
            to,
            message_id,
        })
    }
}

/// The longest line, CRLF excluded, that `7bit` and `8bit` may carry (RFC 5322 2.1.1).
const MAX_LINE: usize = 998;

/// The text as it is, without quoted-printable: `7bit` if it is ASCII, `8bit` if the server
/// takes it (`eight_bit`); None when a line is too long for either, or holds a NUL or a bare
/// CR. lettre's own check (`Body::new_with_encoding`) refuses any line of 76 characters or
/// more — quoted-printable's limit, not 8bit's — so every message whose text had one
/// paragraph of a normal length went quoted-printable to servers offering `8BITMIME`.
fn unencoded(text: &str, eight_bit: bool) -> Option<Body> {
    let encoding = if text.is_ascii() {
        ContentTransferEncoding::SevenBit
    } else if eight_bit {
        ContentTransferEncoding::EightBit
    } else {
        return None;
    };
    let mut crlf = String::with_capacity(text.len() + text.len() / 32);
    for (n, line) in text.split('\n').enumerate() {
        let line = line.strip_suffix('\r').unwrap_or(line);
        if line.len() > MAX_LINE || line.contains(['\r', '\0']) {
            return None;
        }
        if n > 0 {
            crlf.push_str("\r\n");
        }
        crlf.push_str(line);
    }
    Some(Body::dangerous_pre_encoded(crlf.into_bytes(), encoding))
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Security {
    Plain,
    /// STARTTLS if the server offers it.
    Opportunistic,
    /// STARTTLS or give up.
    StartTls,
    /// TLS from the first byte (`smtps://`).
    Implicit,
}

/// Where and how to reach the SMTP server, from `smtp_url`.
#[derive(Clone)]
pub struct SmtpTarget {
    host: String,
    port: u16,
    security: Security,
    credentials: Option<Credentials>,
}

impl std::fmt::Debug for SmtpTarget {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SmtpTarget")
            .field("host", &self.host)
            .field("port", &self.port)
            .field("security", &self.security)
            .field(
                "credentials",
                &self.credentials.as_ref().map(|_| "[hidden]"),
            )
            .finish()
    }
}

impl SmtpTarget {
    /// `password` (from the environment) wins over one written in the URL.
    pub fn parse(raw: &str, password: Option<String>) -> Result<SmtpTarget, String> {
        let url = url::Url::parse(raw).map_err(|error| format!("smtp_url {raw:?}: {error}"))?;
        let implicit = match url.scheme() {
            "smtp" => false,
            "smtps" => true,
            other => {
                return Err(format!(
                    "smtp_url scheme {other:?}: use smtp:// or smtps://"
                ))
            }
        };
        let host = url
            .host_str()
            .ok_or_else(|| format!("smtp_url {raw:?} has no host"))?
            .to_string();
        let mut security = if implicit {
            Security::Implicit
        } else {
            Security::Plain
        };
        for (key, value) in url.query_pairs() {
            match (key.as_ref(), value.as_ref(), implicit) {
                ("tls", "required", false) => security = Security::StartTls,
                ("tls", "opportunistic", false) => security = Security::Opportunistic,
                ("tls", "none", false) => security = Security::Plain,
                _ => return Err(format!("smtp_url: unknown option {key}={value}: use tls=required, tls=opportunistic or tls=none")),
            }
        }
        let credentials = match (
            url.username(),
            password.or(url.password().map(str::to_string)),
        ) {
            ("", _) => None,
            (user, Some(password)) => Some(Credentials::new(user.to_string(), password)),
            (_, None) => {
                return Err(
                    "smtp_url names a user but no password: set TOCSIN_SMTP_PASSWORD".into(),
                )
            }
        };
        Ok(SmtpTarget {
            port: url.port().unwrap_or(if implicit { 465 } else { 25 }),
            host,
            security,
            credentials,
        })
    }
}

/// A TLS stream of our own for `smtps://`, so that its socket has `TCP_NODELAY` too.
#[derive(Debug)]
struct ImplicitTls(tokio_native_tls::TlsStream<TcpStream>);

impl AsyncRead for ImplicitTls {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().0).poll_read(cx, buf)
    }
}

impl AsyncWrite for ImplicitTls {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.get_mut().0).poll_write(cx, buf)
    }
    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().0).poll_flush(cx)
    }
    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().0).poll_shutdown(cx)
    }
}

impl AsyncTokioStream for ImplicitTls {
    fn peer_addr(&self) -> io::Result<SocketAddr> {
        self.0.get_ref().get_ref().get_ref().peer_addr()
    }
}

/// What ends a message's data: lettre writes it on its own, after the message.
const END_OF_DATA: &[u8] = b"\r\n.\r\n";

/// Holds back the end of a message's data until the handover is decided.
struct Gate {
    state: Mutex<GateState>,
    /// The plain socket under the stream, so that the end can be written the instant the
    /// handover is recorded, from wherever that happens. None under TLS.
    socket: Option<Arc<TcpStream>>,
}

#[derive(Default)]
struct GateState {
    armed: bool,
    /// The message's data went out; its end is waiting here.
    reached: bool,
    /// The message's write is over, by the gate or not (an error, a stream that hides the
    /// plain text from us, such as STARTTLS).
    finished: bool,
    /// Whether the handover was recorded: the end goes out, or the stream fails.
    verdict: Option<bool>,
    /// How much of the end `release` wrote itself.
    released: usize,
    writer: Option<Waker>,
    watcher: Option<Waker>,
}

impl Gate {
    fn new(socket: Option<Arc<TcpStream>>) -> Gate {
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

    fn arm(&self) {
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

    async fn reached(&self) -> bool {
        std::future::poll_fn(|cx| self.poll_reached(cx)).await
    }

    /// The handover is recorded: the end goes out now, written here if the socket is ours
    /// and has room, else by the waiting writer.
    fn release(&self) {
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
    fn refuse(&self) {
        let mut state = self.state();
        if state.verdict.is_none() {
            state.verdict = Some(false);
        }
        if let Some(writer) = state.writer.take() {
            writer.wake();
        }
    }

    fn finish(&self) {
        let mut state = self.state();
        state.finished = true;
        state.armed = false;
        if let Some(watcher) = state.watcher.take() {
            watcher.wake();
        }
    }

    fn poll_write(&self, cx: &mut Context<'_>, buf: &[u8]) -> Poll<Passage> {
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
enum Passage {
    Through,
    /// The first bytes of the end were written already, by `release`.
    Skip(usize),
    Refused(io::Error),
}

/// Our plain socket, shared with the gate (`try_write` needs only `&self`).
#[derive(Debug)]
struct SharedTcp(Arc<TcpStream>);

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
struct GatedStream {
    inner: Box<dyn AsyncTokioStream>,
    gate: Arc<Gate>,
    /// What the server says while lettre opens the session (its greeting and its answer
    /// to `EHLO`), kept while Some.
    opening: Arc<Mutex<Option<Vec<u8>>>>,
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

/// One of our connections, with what its server offered.
struct Connection {
    smtp: AsyncSmtpConnection,
    gate: Arc<Gate>,
    pipelining: bool,
    eight_bit: bool,
}

/// E-mail over SMTP, with a pool of connections.
pub struct SmtpChannel {
    target: SmtpTarget,
    mail: MailBuilder,
    hello: ClientId,
    timeout: Duration,
    idle: Mutex<Vec<Connection>>,
    slots: Semaphore,
}

/// The steps of a session at which a server can say no.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Step {
    Greeting,
    Ehlo,
    StartTls,
    Auth,
    Mail,
    Rcpt,
    /// The `DATA` command itself, before the message.
    Data,
    /// The server's verdict on the message, after its final `.`.
    Message,
}

impl std::fmt::Display for Step {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Step::Greeting => "the server's greeting",
            Step::Ehlo => "EHLO",
            Step::StartTls => "STARTTLS",
            Step::Auth => "authentication",
            Step::Mail => "MAIL FROM (our sender)",
            Step::Rcpt => "RCPT TO (the recipient)",
            Step::Data => "DATA",
            Step::Message => "the message",
        })
    }
}

/// Why a transaction stopped.
enum Failure {
    /// The server answered no at this step; the connection is still good after a `RSET`.
    Refused(Step, lettre::transport::smtp::Error),
    /// The connection is not to be trusted any more; the message was not handed over.
    Broken(String),
    /// The message was handed over, and the connection failed before the server answered:
    /// it may have the message. Never sent again on this account.
    Unanswered(String),
    /// Our own record of the handover failed; the message was left unfinished.
    NotRecorded,
}

/// The server's answer, or why the connection is not to be trusted any more.
fn refused_or_broken(step: Step) -> impl Fn(lettre::transport::smtp::Error) -> Failure {
    move |error| {
        if error.is_transient() || error.is_permanent() {
            Failure::Refused(step, error)
        } else {
            Failure::Broken(error.to_string())
        }
    }
}

/// The server's answer as it wrote it (`550 5.1.1 …`), or what went wrong if it gave none.
fn answer(error: &lettre::transport::smtp::Error) -> String {
    match (error.status(), std::error::Error::source(error)) {
        (Some(code), Some(text)) => format!("{code} {text}"),
        (Some(code), None) => code.to_string(),
        (None, _) => error.to_string(),
    }
}

/// Whose problem the server's refusal at `step` is. `code` is its reply code, `text` the rest
/// of its answer (with the enhanced status code, RFC 3463, if it gives one).
fn verdict(step: Step, code: u16, text: &str, reason: String) -> Outcome {
    let permanent = (500..600).contains(&code);
    let enhanced = text.split_whitespace().next().and_then(|first| {
        let mut parts = first.split('.');
        let class = parts.next()?;
        let subject = parts.next()?;
        (parts.next().is_some() && (class == "5" || class == "4")).then_some(subject)
    });
    let misconfigured = Outcome::Misconfigured {
        reason: reason.clone(),
    };
    let unavailable = Outcome::Unavailable {
        after: None,
        reason: reason.clone(),
    };
    // 421: the server is closing the connection, whatever we said (RFC 5321 3.8). After
    // the message it is still an answer about the message: not taken, this message later.
    if code == 421 && step != Step::Message {
        return unavailable;
    }
    match step {
        // Before any recipient is named, a refusal is about us: the session, the TLS or
        // the account we use, or our sender (a 5xx to MAIL names no recipient). The same
        // answer would come for every message, until a person fixes the configuration.
        Step::Greeting | Step::Ehlo | Step::StartTls | Step::Auth | Step::Mail | Step::Data
            if permanent =>
        {
            misconfigured
        }
        Step::Greeting | Step::Ehlo | Step::StartTls | Step::Auth | Step::Mail => unavailable,
        // 530: authentication required (RFC 4954); "Relay access denied" (5.7.1): the
        // server will not relay for us. Both would refuse every recipient alike.
        Step::Rcpt
            if code == 530
                || (enhanced == Some("7") && text.to_ascii_lowercase().contains("relay")) =>
        {
            misconfigured
        }
        Step::Rcpt if permanent => Outcome::Rejected { reason },
        // After the data, the recipient has already been accepted: a 5xx is about the
        // recipient's mailbox only when the server says so (X.1.x addressing, X.2.x
        // mailbox: unknown, disabled, full); otherwise it is about the message or its
        // sender (size, content, policy: spam, DMARC), which every recipient of this update
        // would meet — our problem, not a fact about this recipient.
        Step::Message if permanent && matches!(enhanced, Some("1" | "2")) => {
            Outcome::Rejected { reason }
        }
        Step::Message if permanent => misconfigured,
        Step::Rcpt | Step::Data | Step::Message => Outcome::RetryLater {
            after: None,
            reason,
        },
    }
}

/// The outcome of a server's refusal, its reason scrubbed of addresses.
fn refusal(step: Step, error: &lettre::transport::smtp::Error) -> Outcome {
    let answer = answer(error);
    let code = error
        .status()
        .and_then(|code| code.to_string().parse().ok())
        .unwrap_or(0);
    let text = answer.split_once(' ').map_or("", |(_, text)| text);
    let reason = scrub(&format!("{step} refused: {answer}"));
    verdict(step, code, text, reason)
}

/// The session could not be opened for another reason than an answer: TLS, or a mechanism
/// the server lacks, is our configuration; a lost connection, the server's state now.
fn not_opened(step: Step, error: &lettre::transport::smtp::Error) -> Outcome {
    if error.is_transient() || error.is_permanent() {
        return refusal(step, error);
    }
    let reason = scrub(&format!("{step}: {error}"));
    if error.is_tls() || error.is_client() {
        Outcome::Misconfigured { reason }
    } else {
        Outcome::Unavailable {
            after: None,
            reason,
        }
    }
}

/// Every e-mail address in `text` masked (`a***@example.be`): servers quote the recipient,
/// and sometimes our sender, in their answers, and reasons go to logs and to the record.
pub(crate) fn scrub(text: &str) -> String {
    let local = |c: char| c.is_alphanumeric() || ".!#$%&'*+/=?^_`{|}~-".contains(c);
    let domain = |c: char| c.is_alphanumeric() || c == '.' || c == '-';
    let chars: Vec<char> = text.chars().collect();
    let mut scrubbed = String::with_capacity(text.len());
    let mut n = 0;
    while n < chars.len() {
        if chars[n] != '@' {
            scrubbed.push(chars[n]);
            n += 1;
            continue;
        }
        let mut start = scrubbed.len();
        for (at, c) in scrubbed.char_indices().rev() {
            if !local(c) {
                break;
            }
            start = at;
        }
        let mut end = n + 1;
        while end < chars.len() && domain(chars[end]) {
            end += 1;
        }
        // A sentence may end right after the address.
        while end > n + 1 && matches!(chars[end - 1], '.' | '-') {
            end -= 1;
        }
        if start == scrubbed.len() || end == n + 1 {
            scrubbed.push('@');
            n += 1;
            continue;
        }
        let address: String = scrubbed[start..]
            .chars()
            .chain(chars[n..end].iter().copied())
            .collect();
        scrubbed.truncate(start);
        scrubbed.push_str(&super::mask(&address));
        n = end;
    }
    scrubbed
}

/// The keywords of the server's last answer in `opening` (its answer to `EHLO`, after its
/// greeting), upper-cased: each line of a `250` reply after the first, first word.
fn ehlo_keywords(opening: &[u8]) -> Vec<String> {
    let text = String::from_utf8_lossy(opening);
    let mut replies: Vec<Vec<&str>> = Vec::new();
    let mut reply = Vec::new();
    for line in text.lines() {
        reply.push(line);
        // `250-…` continues a reply, `250 …` ends it.
        if line.as_bytes().get(3) != Some(&b'-') {
            replies.push(std::mem::take(&mut reply));
        }
    }
    let Some(last) = replies.last().filter(|last| last[0].starts_with("250")) else {
        return Vec::new();
    };
    last.iter()
        .skip(1)
        .filter_map(|line| line.get(4..)?.split_whitespace().next())
        .map(str::to_ascii_uppercase)
        .collect()
}

/// How many whole replies the server gave in `opening`: one means it refused at its
/// greeting, two at `EHLO`.
fn replies(opening: &[u8]) -> usize {
    String::from_utf8_lossy(opening)
        .lines()
        .filter(|line| line.as_bytes().get(3) != Some(&b'-'))
        .count()
}

impl SmtpChannel {
    pub fn new(
        target: SmtpTarget,
        mail: MailBuilder,
        connections: usize,
        timeout: Duration,
    ) -> SmtpChannel {
        SmtpChannel {
            target,
            mail,
            hello: ClientId::default(),
            timeout,
            idle: Mutex::new(Vec::new()),
            slots: Semaphore::new(connections.max(1)),
        }
    }

    /// A new session, or the outcome for the message that asked for it.
    async fn connect(&self) -> Result<Connection, Outcome> {
        let unavailable = |reason: String| Outcome::Unavailable {
            after: None,
            reason,
        };
        let address = (self.target.host.as_str(), self.target.port);
        let tcp = TcpStream::connect(address).await.map_err(|error| {
            unavailable(format!(
                "cannot connect to {}:{}: {error}",
                self.target.host, self.target.port
            ))
        })?;
        tcp.set_nodelay(true)
            .map_err(|error| unavailable(error.to_string()))?;
        let (stream, socket): (Box<dyn AsyncTokioStream>, _) = match self.target.security {
            Security::Implicit => {
                let connector =
                    native_tls::TlsConnector::new().map_err(|error| Outcome::Misconfigured {
                        reason: format!("TLS: {error}"),
                    })?;
                let tls = tokio_native_tls::TlsConnector::from(connector)
                    .connect(&self.target.host, tcp)
                    .await
                    .map_err(|error| Outcome::Misconfigured {
                        reason: format!("TLS with {}: {error}", self.target.host),
                    })?;
                (Box::new(ImplicitTls(tls)), None)
            }
            _ => {
                let tcp = Arc::new(tcp);
                (Box::new(SharedTcp(Arc::clone(&tcp))), Some(tcp))
            }
        };
        let gate = Arc::new(Gate::new(socket));
        let opening = Arc::new(Mutex::new(Some(Vec::new())));
        let stream = Box::new(GatedStream {
            inner: stream,
            gate: Arc::clone(&gate),
            opening: Arc::clone(&opening),
        });
        // lettre reads the greeting and says EHLO; the answer it keeps holds only the
        // extensions it uses itself (not PIPELINING), so we read that same answer as it
        // came in rather than say EHLO a second time.
        let opened = AsyncSmtpConnection::connect_with_transport(stream, &self.hello).await;
        let opening = opening
            .lock()
            .ok()
            .and_then(|mut opening| opening.take())
            .unwrap_or_default();
        let mut smtp = opened.map_err(|error| {
            let step = if replies(&opening) <= 1 {
                Step::Greeting
            } else {
                Step::Ehlo
            };
            not_opened(step, &error)
        })?;
        let mut pipelining = ehlo_keywords(&opening)
            .iter()
            .any(|keyword| keyword == "PIPELINING");
        let wants_tls = match self.target.security {
            Security::StartTls => true,
            Security::Opportunistic => smtp.can_starttls(),
            Security::Plain | Security::Implicit => false,
        };
        if wants_tls {
            let parameters = TlsParameters::new(self.target.host.clone()).map_err(|error| {
                Outcome::Misconfigured {
                    reason: format!("TLS: {error}"),
                }
            })?;
            smtp.starttls(parameters, &self.hello)
                .await
                .map_err(|error| not_opened(Step::StartTls, &error))?;
            // What the server offered before TLS no longer counts (RFC 3207 4.2), and its
            // answer to the EHLO inside TLS reaches us only as lettre keeps it.
            pipelining = false;
        }
        if let Some(credentials) = &self.target.credentials {
            smtp.auth(&[Mechanism::Plain, Mechanism::Login], credentials)
                .await
                .map_err(|error| not_opened(Step::Auth, &error))?;
        }
        let eight_bit = smtp.server_info().supports_feature(Extension::EightBitMime);
        Ok(Connection {
            smtp,
            gate,
            pipelining,
            eight_bit,
        })
    }

    fn take_idle(&self) -> Option<Connection> {
        self.idle.lock().ok()?.pop()
    }

    fn put_idle(&self, connection: Connection) {
        if let Ok(mut idle) = self.idle.lock() {
            idle.push(connection);
        }
    }

    /// `MAIL`, `RCPT` and `DATA`, up to the server's 354.
    async fn envelope(connection: &mut Connection, mail: &BuiltMail) -> Result<(), Failure> {
        let parameters = if mail.eight_bit {
            vec![MailParameter::Body(MailBodyParameter::EightBitMime)]
        } else {
            Vec::new()
        };
        let from = Mail::new(Some(mail.from.clone()), parameters);
        let to = Rcpt::new(mail.to.clone(), vec![]);
        let smtp = &mut connection.smtp;
        if !connection.pipelining {
            smtp.command(from)
                .await
                .map_err(refused_or_broken(Step::Mail))?;
            smtp.command(to)
                .await
                .map_err(refused_or_broken(Step::Rcpt))?;
            smtp.command(Data)
                .await
                .map_err(refused_or_broken(Step::Data))?;
            return Ok(());
        }
        // Every command gets its answer, refused or not, before anything else is said.
        let answers = [
            smtp.command(format!("{from}{to}{Data}")).await,
            smtp.read_response().await,
            smtp.read_response().await,
        ];
        let data_accepted = answers[2].is_ok();
        let mut first_refusal = None;
        for (step, answer) in [Step::Mail, Step::Rcpt, Step::Data]
            .into_iter()
            .zip(answers)
        {
            match answer {
                Ok(_) => {}
                Err(error) if error.is_transient() || error.is_permanent() => {
                    first_refusal.get_or_insert((step, error));
                }
                Err(error) => return Err(Failure::Broken(error.to_string())),
            }
        }
        match first_refusal {
            None => Ok(()),
            Some((step, refusal)) => {
                // A server that took DATA without a recipient expects a message: an empty
                // one, which it then refuses, closes the transaction.
                if data_accepted {
                    smtp.message(b"").await.ok();
                }
                Err(Failure::Refused(step, refusal))
            }
        }
    }

    async fn transaction(
        connection: &mut Connection,
        mail: &BuiltMail,
        handover: &mut dyn Handover,
    ) -> Result<String, Failure> {
        Self::envelope(connection, mail).await?;
        let gate = Arc::clone(&connection.gate);
        gate.arm();
        let smtp = &mut connection.smtp;
        let (response, recorded) = tokio::join!(
            async {
                let response = smtp.message(&mail.bytes).await;
                gate.finish();
                response
            },
            async {
                if !gate.reached().await {
                    return None;
                }
                let releasing = Arc::clone(&gate);
                let release: Release = Box::new(move || releasing.release());
                let recorded = handover.commit(&mail.message_id, release).await;
                if !recorded {
                    gate.refuse();
                }
                Some(recorded)
            }
        );
        match (response, recorded) {
            (_, Some(false)) => Err(Failure::NotRecorded),
            (Ok(response), _) => Ok(response.message().collect::<Vec<_>>().join(" ")),
            (Err(error), Some(true)) if !(error.is_transient() || error.is_permanent()) => {
                Err(Failure::Unanswered(error.to_string()))
            }
            (Err(error), _) => Err(refused_or_broken(Step::Message)(error)),
        }
    }
}

#[async_trait]
impl Channel for SmtpChannel {
    #[tracing::instrument(skip_all, fields(delivery = message.delivery_id, to = %super::mask(&message.address)))]
    async fn send(&self, message: &Message, handover: &mut dyn Handover) -> Outcome {
        let Ok(_slot) = self.slots.acquire().await else {
            return Outcome::RetryLater {
                after: None,
                reason: "the SMTP pool is closed".into(),
            };
        };
        // A pooled connection the server has closed fails at once; that is no reason to
        // count an attempt against the recipient, so it gets one fresh connection.
        let mut reused = self.take_idle();
        loop {
            let was_reused = reused.is_some();
            let mut connection = match reused.take() {
                Some(connection) => connection,
                None => match tokio::time::timeout(self.timeout, self.connect()).await {
                    Ok(Ok(connection)) => connection,
                    Ok(Err(outcome)) => return outcome,
                    Err(_) => {
                        return Outcome::Unavailable {
                            after: None,
                            reason: format!("no SMTP session within {:?}", self.timeout),
                        }
                    }
                },
            };
            let mail = match self.mail.build(message, connection.eight_bit) {
                Ok(mail) => mail,
                Err(reason) => {
                    self.put_idle(connection);
                    return Outcome::Rejected { reason };
                }
            };
            let result = tokio::time::timeout(
                self.timeout,
                Self::transaction(&mut connection, &mail, handover),
            )
            .await;
            return match result {
                Ok(Ok(response)) => {
                    self.put_idle(connection);
                    Outcome::Accepted {
                        gateway_id: mail.message_id,
                        detail: Some(scrub(&response)),
                    }
                }
                Ok(Err(Failure::Refused(step, error))) => {
                    // 421 closes the session; a 4xx to MAIL is about the session too: a
                    // server may end an idle one with a 421 we read only when we next
                    // speak, or take only so many messages per session (OpenSMTPD: 100,
                    // then `452 4.5.3 Too many messages sent`). Before the message, a pooled
                    // connection so refused earns one fresh connection, and is never pooled
                    // again; after it, the handover was recorded and this attempt is over.
                    let session_over = error.status().is_some_and(|code| code.to_string() == "421")
                        || (step == Step::Mail && error.is_transient());
                    if session_over && step == Step::Message {
                        return refusal(step, &error);
                    }
                    if session_over && was_reused {
                        continue;
                    }
                    if !session_over && connection.smtp.command(Rset).await.is_ok() {
                        self.put_idle(connection);
                    }
                    refusal(step, &error)
                }
                Ok(Err(Failure::Broken(_))) if was_reused => continue,
                Ok(Err(Failure::Broken(reason))) => Outcome::Unavailable {
                    after: None,
                    reason: scrub(&reason),
                },
                Ok(Err(Failure::Unanswered(reason))) => Outcome::Unavailable {
                    after: None,
                    reason: scrub(&format!(
                        "the connection failed before the server answered the message: {reason}"
                    )),
                },
                // Our database, or a halt: nothing about the recipient.
                Ok(Err(Failure::NotRecorded)) => Outcome::Unavailable {
                    after: None,
                    reason: "the handover could not be recorded; the message was left \
                             unfinished and the server discards it"
                        .into(),
                },
                Err(_) => Outcome::Unavailable {
                    after: None,
                    reason: format!("the SMTP server did not answer within {:?}", self.timeout),
                },
            };
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_url_chooses_the_security() {
        let target = SmtpTarget::parse("smtp://127.0.0.1:2525", None).expect("valid");
        assert_eq!((target.port, target.security), (2525, Security::Plain));
        let target =
            SmtpTarget::parse("smtp://relay.example.be:587?tls=required", None).expect("valid");
        assert_eq!(target.security, Security::StartTls);
        let target = SmtpTarget::parse("smtps://relay.example.be", None).expect("valid");
        assert_eq!((target.port, target.security), (465, Security::Implicit));
        assert!(SmtpTarget::parse("http://relay", None).is_err());
        assert!(SmtpTarget::parse("smtp://relay?tls=maybe", None).is_err());
    }

    #[test]
    fn the_password_comes_from_the_environment_and_is_never_printed() {
        let target =
            SmtpTarget::parse("smtp://crisis@relay:587", Some("s3cret".into())).expect("valid");
        assert!(target.credentials.is_some());
        assert!(!format!("{target:?}").contains("s3cret"));
        assert!(SmtpTarget::parse("smtp://crisis@relay:587", None).is_err());
    }

    #[test]
    fn every_capability_is_read_from_the_one_ehlo_answer() {
        let opening = b"220 vm ESMTP OpenSMTPD\r\n\
            250-vm Hello [127.0.0.1] [127.0.0.1], pleased to meet you\r\n\
            250-8BITMIME\r\n250-pipelining\r\n250-SIZE 36700160\r\n250 HELP\r\n";
        assert_eq!(
            ehlo_keywords(opening),
            ["8BITMIME", "PIPELINING", "SIZE", "HELP"]
        );
        assert_eq!(replies(opening), 2);
        let refused = b"220-relay.example.be ESMTP\r\n220 welcome\r\n550 5.7.1 Go away\r\n";
        assert!(ehlo_keywords(refused).is_empty());
        assert_eq!(replies(refused), 2);
        assert_eq!(replies(b"554 5.7.1 No SMTP service here\r\n"), 1);
    }

    #[test]
    fn addresses_in_a_servers_answer_are_masked() {
        assert_eq!(
            scrub("550 5.1.1 <anne.dumont+203@example.be>: Recipient address rejected"),
            "550 5.1.1 <a***@example.be>: Recipient address rejected"
        );
        assert_eq!(
            scrub("mailbox Bert.Peeters@Zna.Example.BE. is full, ask postmaster@zna.be"),
            "mailbox B***@Zna.Example.BE. is full, ask p***@zna.be"
        );
        assert_eq!(
            scrub("550 Invalid recipient: <jean-marc.o'brien@example.be>"),
            "550 Invalid recipient: <j***@example.be>"
        );
        assert_eq!(
            scrub("4.3.0 queue @ 80%, @home"),
            "4.3.0 queue @ 80%, @home"
        );
    }

    fn judged(step: Step, code: u16, text: &str) -> &'static str {
        match verdict(step, code, text, String::new()) {
            Outcome::Accepted { .. } => "accepted",
            Outcome::RetryLater { .. } => "retry later",
            Outcome::Unavailable { .. } => "unavailable",
            Outcome::Misconfigured { .. } => "misconfigured",
            Outcome::Rejected { .. } => "rejected",
        }
    }

    #[test]
    fn a_refusal_is_judged_by_whose_problem_it_is() {
        let cases = [
            (
                Step::Greeting,
                554,
                "5.7.1 No SMTP service here",
                "misconfigured",
            ),
            (Step::Greeting, 421, "4.3.2 Too busy", "unavailable"),
            (
                Step::Ehlo,
                550,
                "5.7.1 Client host rejected",
                "misconfigured",
            ),
            (
                Step::StartTls,
                454,
                "4.7.0 TLS not available",
                "unavailable",
            ),
            (
                Step::Auth,
                535,
                "5.7.8 Authentication credentials invalid",
                "misconfigured",
            ),
            (
                Step::Auth,
                454,
                "4.7.0 Temporary authentication failure",
                "unavailable",
            ),
            (
                Step::Mail,
                553,
                "5.7.1 Sender address rejected: not owned by user",
                "misconfigured",
            ),
            (
                Step::Mail,
                452,
                "4.5.3 Too many messages sent",
                "unavailable",
            ),
            (Step::Rcpt, 550, "5.1.1 User unknown", "rejected"),
            (Step::Rcpt, 450, "4.2.1 Mailbox busy", "retry later"),
            (Step::Rcpt, 421, "4.4.2 Timeout, closing", "unavailable"),
            (
                Step::Rcpt,
                530,
                "5.7.0 Authentication required",
                "misconfigured",
            ),
            (
                Step::Rcpt,
                554,
                "5.7.1 <x@y.be>: Relay access denied",
                "misconfigured",
            ),
            (
                Step::Rcpt,
                554,
                "5.7.1 <x@y.be>: Recipient address rejected: Access denied",
                "rejected",
            ),
            (
                Step::Data,
                554,
                "5.5.1 Error: no valid recipients",
                "misconfigured",
            ),
            (
                Step::Message,
                451,
                "4.3.0 Temporary failure, try again later",
                "retry later",
            ),
            (Step::Message, 421, "4.3.0 Temporary Error", "retry later"),
            (Step::Message, 552, "5.2.2 Mailbox full", "rejected"),
            (Step::Message, 550, "5.1.1 Mailbox unavailable", "rejected"),
            (
                Step::Message,
                554,
                "5.7.1 Message rejected as spam",
                "misconfigured",
            ),
            (Step::Message, 552, "5.3.4 Message too big", "misconfigured"),
            (Step::Message, 550, "Rejected", "misconfigured"),
        ];
        for (step, code, text, expected) in cases {
            assert_eq!(judged(step, code, text), expected, "{step:?} {code} {text}");
        }
    }

    #[test]
    fn text_goes_as_it_is_where_the_server_allows_it() {
        let long = format!(
            "Votre rendez-vous du mardi 13 janvier 2026 à 09h30 {}",
            "é".repeat(60)
        );
        let body = unencoded(&format!("Madame,\n{long}\n"), true).expect("8bit");
        assert_eq!(body.encoding(), ContentTransferEncoding::EightBit);
        assert_eq!(
            String::from_utf8(body.into_vec()).expect("UTF-8"),
            format!("Madame,\r\n{long}\r\n")
        );
        let ascii = unencoded(&"a".repeat(200), false).expect("7bit");
        assert_eq!(ascii.encoding(), ContentTransferEncoding::SevenBit);
        assert!(unencoded(&long, false).is_none(), "no 8BITMIME: encoded");
        assert!(
            unencoded(&"é".repeat(500), true).is_none(),
            "a line over 998 bytes"
        );
        assert!(unencoded("a\rb", true).is_none(), "a bare CR");
    }
}
