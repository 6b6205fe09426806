//! Whose problem a mail server's "no" is: what `SmtpChannel` makes of each answer, from a
//! real OpenSMTPD told by its built-in filters what to say at each step of the session.
//! Refusing the session or our sender is our configuration (`Misconfigured`: nothing on the
//! channel can succeed until a person fixes it); a 4xx there, or no server at all, is the
//! server's state now (`Unavailable`); a refused recipient is about that recipient
//! (`Rejected`), a deferred one is for later (`RetryLater`). No reason names an address whole.

use crate::support::{OpenSmtpdSetup, SmtpServer};
use std::time::Duration;
use tocsin::channels::email::{MailBuilder, SmtpChannel, SmtpTarget};
use tocsin::channels::{Channel, Message, NoHandover, Outcome};
use tocsin::domain::{ChannelKind, Language, RenderedMessage};

const ANNE: &str = "anne.dumont+203@example.be";

fn message(address: &str) -> Message {
    Message {
        delivery_id: 1,
        update_id: 1,
        channel: ChannelKind::Email,
        address: address.into(),
        language: Language::Fr,
        content: RenderedMessage {
            subject: Some("Cyberattaque – opérations annulées".into()),
            body: "Madame, Monsieur,\n\nVotre rendez-vous est annulé.\n".into(),
            body_html: None,
        },
        attempt: 1,
        reply_to: None,
    }
}

fn channel(url: &str) -> SmtpChannel {
    let target = SmtpTarget::parse(url, None).expect("url");
    let mail = MailBuilder::new("crisis@zna.example.be", None, "zna.example.be").expect("from");
    SmtpChannel::new(target, mail, 1, Duration::from_secs(10))
}

/// What the channel makes of one message to Anne through an OpenSMTPD that says `decision`
/// at `phase` (None when OpenSMTPD cannot run here and CI is not set).
async fn answer_to(phase: &str, condition: &str, decision: &str) -> Option<Outcome> {
    let server = SmtpServer::opensmtpd(OpenSmtpdSetup {
        filter: Some((phase, condition, decision)),
        ..OpenSmtpdSetup::default()
    })?;
    let outcome = channel(&server.url())
        .send(&message(ANNE), &mut NoHandover)
        .await;
    assert!(
        server.received().is_empty(),
        "nothing was delivered: {outcome:?}"
    );
    Some(outcome)
}

fn reason(outcome: &Outcome) -> &str {
    match outcome {
        Outcome::Accepted { .. } => "",
        Outcome::RetryLater { reason, .. }
        | Outcome::Unavailable { reason, .. }
        | Outcome::Misconfigured { reason }
        | Outcome::Rejected { reason } => reason,
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_server_refusing_our_session_at_its_greeting_is_our_configuration() {
    let Some(outcome) = answer_to(
        "connect",
        "src <loopback>",
        r#"reject "554 5.7.1 No SMTP service here for 127.0.0.1""#,
    )
    .await
    else {
        return;
    };
    assert!(
        matches!(&outcome, Outcome::Misconfigured { reason }
            if reason.contains("greeting") && reason.contains("554 5.7.1 No SMTP service here")),
        "{outcome:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_server_too_busy_to_greet_us_is_unavailable_for_now() {
    let Some(outcome) = answer_to(
        "connect",
        "src <loopback>",
        r#"disconnect "421 4.3.2 Too many connections, try again later""#,
    )
    .await
    else {
        return;
    };
    assert!(
        matches!(&outcome, Outcome::Unavailable { reason, .. }
            if reason.contains("421 4.3.2 Too many connections")),
        "{outcome:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_server_refusing_our_ehlo_is_our_configuration() {
    let Some(outcome) = answer_to(
        "ehlo",
        "src <loopback>",
        r#"reject "550 5.7.1 Client host rejected: cannot find your hostname""#,
    )
    .await
    else {
        return;
    };
    assert!(
        matches!(&outcome, Outcome::Misconfigured { reason }
            if reason.contains("EHLO") && reason.contains("550 5.7.1 Client host rejected")),
        "{outcome:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_server_refusing_our_sender_is_our_configuration_and_the_address_is_masked() {
    let Some(outcome) = answer_to(
        "mail-from",
        "mail-from <sender>",
        r#"reject "553 5.7.1 <crisis@zna.example.be>: Sender address rejected: not owned by user""#,
    )
    .await
    else {
        return;
    };
    assert!(
        matches!(&outcome, Outcome::Misconfigured { reason }
            if reason.contains("MAIL FROM") && reason.contains("553 5.7.1 <c***@zna.example.be>: Sender address rejected")),
        "{outcome:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_unknown_recipient_is_rejected_and_its_address_is_never_in_the_reason() {
    let Some(server) = SmtpServer::opensmtpd(OpenSmtpdSetup {
        refuse: &[ANNE],
        ..OpenSmtpdSetup::default()
    }) else {
        return;
    };
    let channel = channel(&server.url());

    let refused = channel.send(&message(ANNE), &mut NoHandover).await;
    let accepted = channel
        .send(&message("bert@example.be"), &mut NoHandover)
        .await;

    assert!(
        matches!(&refused, Outcome::Rejected { reason }
            if reason.contains("RCPT") && reason.contains("550 Invalid recipient: <a***@example.be>")),
        "{refused:?}"
    );
    assert!(!reason(&refused).contains("dumont"), "{refused:?}");
    assert!(
        matches!(accepted, Outcome::Accepted { .. }),
        "the session goes on: {accepted:?}"
    );
    let received = server.received();
    assert_eq!(received.len(), 1);
    assert_eq!(received[0].rcpt_tos, ["bert@example.be"]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_deferred_recipient_is_for_later() {
    let Some(outcome) = answer_to(
        "rcpt-to",
        "src <loopback>",
        r#"reject "450 4.2.1 <anne.dumont+203@example.be>: Recipient address rejected: try again later""#,
    )
    .await
    else {
        return;
    };
    assert!(
        matches!(&outcome, Outcome::RetryLater { reason, .. }
            if reason.contains("450 4.2.1 <a***@example.be>")),
        "{outcome:?}"
    );
}

/// After the data the recipient was already accepted: a refusal of the message itself
/// (content, size, policy) would meet every recipient of the update alike.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_message_refused_for_its_content_is_our_problem_not_the_recipients() {
    let Some(outcome) = answer_to(
        "commit",
        "src <loopback>",
        r#"reject "554 5.7.1 Message rejected as spam""#,
    )
    .await
    else {
        return;
    };
    assert!(
        matches!(&outcome, Outcome::Misconfigured { reason }
            if reason.contains("554 5.7.1 Message rejected as spam")),
        "{outcome:?}"
    );
}

/// ... unless the server says the mailbox is the problem (X.2.x: full, disabled).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_message_refused_for_a_full_mailbox_is_about_the_recipient() {
    let Some(outcome) = answer_to(
        "commit",
        "src <loopback>",
        r#"reject "552 5.2.2 <anne.dumont+203@example.be>: Mailbox full""#,
    )
    .await
    else {
        return;
    };
    assert!(
        matches!(&outcome, Outcome::Rejected { reason }
            if reason.contains("552 5.2.2 <a***@example.be>: Mailbox full")),
        "{outcome:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn no_server_listening_is_unavailable() {
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|listener| listener.local_addr())
        .expect("a free port")
        .port();

    let outcome = channel(&format!("smtp://127.0.0.1:{port}"))
        .send(&message(ANNE), &mut NoHandover)
        .await;

    assert!(
        matches!(&outcome, Outcome::Unavailable { reason, .. } if reason.contains("cannot connect")),
        "{outcome:?}"
    );
}
