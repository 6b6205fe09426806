//! The pool of SMTP connections: opened, greeted, reused and dropped.

use super::gate::{Gate, GatedStream, SharedTcp};
use super::mime::{BuiltMail, MailBuilder};
use super::target::{ImplicitTls, Security, SmtpTarget};
use super::verdict::{ehlo_keywords, not_opened, refused_or_broken, replies, Failure, Step};
use super::SmtpChannel;
use crate::channels::{Handover, Outcome, Release};
use lettre::transport::smtp::authentication::Mechanism;
use lettre::transport::smtp::client::{AsyncSmtpConnection, AsyncTokioStream, TlsParameters};
use lettre::transport::smtp::commands::{Data, Mail, Rcpt};
use lettre::transport::smtp::extension::{ClientId, Extension, MailBodyParameter, MailParameter};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::net::TcpStream;
use tokio::sync::Semaphore;

/// One of our connections, with what its server offered.
pub(super) struct Connection {
    pub(super) smtp: AsyncSmtpConnection,
    pub(super) gate: Arc<Gate>,
    pub(super) pipelining: bool,
    pub(super) eight_bit: bool,
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
    pub(super) async fn connect(&self) -> Result<Connection, Outcome> {
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

    pub(super) fn take_idle(&self) -> Option<Connection> {
        self.idle.lock().ok()?.pop()
    }

    pub(super) fn put_idle(&self, connection: Connection) {
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

    pub(super) async fn transaction(
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
