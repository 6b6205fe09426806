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

mod gate;
mod mime;
mod pool;
mod target;
mod verdict;

pub use self::mime::{BuiltMail, MailBuilder};
use self::pool::Connection;
pub use self::target::SmtpTarget;
use self::verdict::{refusal, scrub, Failure, Step};
use super::{Channel, Handover, Message, Outcome};
use async_trait::async_trait;
use lettre::transport::smtp::commands::Rset;
use lettre::transport::smtp::extension::ClientId;
use std::sync::Mutex;
use std::time::Duration;
use tokio::sync::Semaphore;

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
