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

use super::{Channel, Handover, Message, Outcome, Release};
use async_trait::async_trait;
use lettre::message::header::{
    ContentTransferEncoding, ContentType, Header, HeaderName, HeaderValue,
};
use lettre::message::{Body, Mailbox, MultiPart, SinglePart};
use lettre::transport::smtp::authentication::{Credentials, Mechanism};
use lettre::transport::smtp::client::{AsyncSmtpConnection, AsyncTokioStream, TlsParameters};
use lettre::transport::smtp::commands::{Data, Ehlo, Mail, Rcpt, Rset};
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
    /// Sent with `BODY=8BITMIME`.
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
            .subject(message.subject.clone().unwrap_or_default())
            .message_id(Some(message_id.clone()))
            .header(ContentLanguage(message.language.tag().to_string()));
        if let Some(reply_to) = &self.reply_to {
            builder = builder.reply_to(reply_to.clone());
        }
        let body = |text: &str| {
            let text = text.to_string();
            if !eight_bit {
                return Body::new(text);
            }
            Body::new_with_encoding(text.clone(), ContentTransferEncoding::EightBit)
                .unwrap_or_else(|_| Body::new(text))
        };
        let text = SinglePart::builder()
            .header(ContentType::TEXT_PLAIN)
            .body(body(&message.body));
        let email = match &message.body_html {
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
        Ok(BuiltMail {
            bytes: email.formatted(),
            from: self.from.email.clone(),
            to,
            message_id,
            eight_bit,
        })
    }
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
        Pin::new(&mut self.get_mut().inner).poll_read(cx, buf)
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

/// Why a transaction stopped.
enum Failure {
    /// The server answered no; the connection is still good after a `RSET`.
    Refused(lettre::transport::smtp::Error),
    /// The connection is not to be trusted any more.
    Broken(String),
    /// Our own record of the handover failed; the message was left unfinished.
    NotRecorded,
}

/// The server's answer, or why the connection is not to be trusted any more.
fn refused_or_broken(error: lettre::transport::smtp::Error) -> Failure {
    if error.is_transient() || error.is_permanent() {
        Failure::Refused(error)
    } else {
        Failure::Broken(error.to_string())
    }
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

    async fn connect(&self) -> Result<Connection, String> {
        let address = (self.target.host.as_str(), self.target.port);
        let tcp = TcpStream::connect(address).await.map_err(|error| {
            format!(
                "cannot connect to {}:{}: {error}",
                self.target.host, self.target.port
            )
        })?;
        tcp.set_nodelay(true).map_err(|error| error.to_string())?;
        let (stream, socket): (Box<dyn AsyncTokioStream>, _) = match self.target.security {
            Security::Implicit => {
                let connector =
                    native_tls::TlsConnector::new().map_err(|error| error.to_string())?;
                let tls = tokio_native_tls::TlsConnector::from(connector)
                    .connect(&self.target.host, tcp)
                    .await
                    .map_err(|error| format!("TLS with {}: {error}", self.target.host))?;
                (Box::new(ImplicitTls(tls)), None)
            }
            _ => {
                let tcp = Arc::new(tcp);
                (Box::new(SharedTcp(Arc::clone(&tcp))), Some(tcp))
            }
        };
        let gate = Arc::new(Gate::new(socket));
        let stream = Box::new(GatedStream {
            inner: stream,
            gate: Arc::clone(&gate),
        });
        let mut smtp = AsyncSmtpConnection::connect_with_transport(stream, &self.hello)
            .await
            .map_err(|error| error.to_string())?;
        let wants_tls = match self.target.security {
            Security::StartTls => true,
            Security::Opportunistic => smtp.can_starttls(),
            Security::Plain | Security::Implicit => false,
        };
        if wants_tls {
            let parameters =
                TlsParameters::new(self.target.host.clone()).map_err(|error| error.to_string())?;
            smtp.starttls(parameters, &self.hello)
                .await
                .map_err(|error| format!("STARTTLS: {error}"))?;
        }
        if let Some(credentials) = &self.target.credentials {
            smtp.auth(&[Mechanism::Plain, Mechanism::Login], credentials)
                .await
                .map_err(|error| format!("authentication: {error}"))?;
        }
        // lettre keeps only the extensions it uses itself; PIPELINING is not one of them.
        let ehlo = smtp
            .command(Ehlo::new(self.hello.clone()))
            .await
            .map_err(|error| format!("EHLO: {error}"))?;
        let pipelining = ehlo.message().skip(1).any(|line| {
            line.split_whitespace()
                .next()
                .is_some_and(|keyword| keyword.eq_ignore_ascii_case("PIPELINING"))
        });
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
            smtp.command(from).await.map_err(refused_or_broken)?;
            smtp.command(to).await.map_err(refused_or_broken)?;
            smtp.command(Data).await.map_err(refused_or_broken)?;
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
        for answer in answers {
            match answer {
                Ok(_) => {}
                Err(error) if error.is_transient() || error.is_permanent() => {
                    first_refusal.get_or_insert(error);
                }
                Err(error) => return Err(Failure::Broken(error.to_string())),
            }
        }
        match first_refusal {
            None => Ok(()),
            Some(refusal) => {
                // A server that took DATA without a recipient expects a message: an empty
                // one, which it then refuses, closes the transaction.
                if data_accepted {
                    smtp.message(b"").await.ok();
                }
                Err(Failure::Refused(refusal))
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
            (Err(error), _) => Err(refused_or_broken(error)),
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
                    Ok(Err(reason)) => {
                        return Outcome::Unavailable {
                            after: None,
                            reason,
                        }
                    }
                    Err(_) => {
                        return Outcome::Unavailable {
                            after: None,
                            reason: format!("no SMTP connection within {:?}", self.timeout),
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
                        detail: Some(response),
                    }
                }
                Ok(Err(Failure::Refused(error))) => {
                    if connection.smtp.command(Rset).await.is_ok() {
                        self.put_idle(connection);
                    }
                    let reason = error.to_string();
                    if error.is_permanent() {
                        Outcome::Rejected { reason }
                    } else {
                        Outcome::RetryLater {
                            after: None,
                            reason,
                        }
                    }
                }
                Ok(Err(Failure::Broken(_))) if was_reused => continue,
                Ok(Err(Failure::Broken(reason))) => Outcome::Unavailable {
                    after: None,
                    reason,
                },
                Ok(Err(Failure::NotRecorded)) => Outcome::RetryLater {
                    after: None,
                    reason: "the handover could not be recorded; the message was left \
                             unfinished and the server discards it"
                        .into(),
                },
                Err(_) => Outcome::RetryLater {
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
}
