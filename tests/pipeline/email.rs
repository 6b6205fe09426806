use crate::support::{row, seed, Backend, Mta, OpenSmtpdSetup, SmtpServer, TestApp, EMAIL_UPDATE};
use mailparse::MailHeaderMap;
use std::collections::HashMap;
use tocsin::channels::email::{MailBuilder, SmtpChannel, SmtpTarget};
use tocsin::channels::{Channel, Handover, Message, NoHandover, Outcome, Release};
use tocsin::domain::{ChannelKind, DeliveryState, RenderedMessage};

fn header(mail: &mailparse::ParsedMail, name: &str) -> String {
    mail.headers.get_first_value(name).unwrap_or_default()
}

crate::against_each_server!(
    every_patient_gets_one_multipart_email_in_their_language_with_the_subject_intact,
    sending_the_same_update_twice_plans_nothing_new_and_sends_nothing_twice,
    a_550_makes_the_delivery_undeliverable_at_once_with_the_servers_reason,
    a_stored_email_is_kept_packed_and_reads_back_exactly_as_the_server_received_it,
);

async fn every_patient_gets_one_multipart_email_in_their_language_with_the_subject_intact(
    mta: Mta,
) {
    let Some(server) = SmtpServer::of(mta, &[]) else {
        return;
    };
    let test = TestApp::with_smtp(&server).await;
    seed(&test.app, 30).await;
    let id = test.approved_update(EMAIL_UPDATE).await;

    test.app.send(id, |_, _| {}).await.expect("send");

    let received = server.received();
    assert_eq!(received.len(), 30, "one message per patient");
    let mut languages = HashMap::new();
    for message in &received {
        let raw = server.raw(message);
        let mail = mailparse::parse_mail(&raw).expect("valid MIME");
        let language = header(&mail, "Content-Language");
        let subject = header(&mail, "Subject");
        let expected_subject = match language.as_str() {
            "nl-BE" => "Algemeen Ziekenhuis Testwijk – Cyberaanval – patiënten worden geïnformeerd",
            "fr-BE" => "Algemeen Ziekenhuis Testwijk – Cyberattaque – opérations annulées, élèves infirmiers naïfs",
            "en" => "Algemeen Ziekenhuis Testwijk – Cyberattack – operations cancelled",
            other => panic!("unexpected Content-Language {other:?}"),
        };
        assert_eq!(subject, expected_subject);
        assert_eq!(mail.ctype.mimetype, "multipart/alternative");
        let parts: Vec<_> = mail
            .subparts
            .iter()
            .map(|part| part.ctype.mimetype.clone())
            .collect();
        assert_eq!(parts, ["text/plain", "text/html"]);
        let text = mail.subparts[0].get_body().expect("text part");
        let html = mail.subparts[1].get_body().expect("html part");
        let (greeting, html_lang) = match language.as_str() {
            "nl-BE" => ("Beste Patiënt", "<html lang=\"nl-BE\">"),
            "fr-BE" => ("Madame, Monsieur,", "<html lang=\"fr-BE\">"),
            _ => ("Dear Patiënt", "<html lang=\"en\">"),
        };
        assert!(text.contains(greeting), "{text}");
        assert!(html.contains(html_lang), "{html}");
        assert_eq!(
            message
                .message_id
                .as_deref()
                .map(|id| id.starts_with("<tocsin.")),
            Some(true)
        );
        *languages.entry(language).or_insert(0) += 1;
    }
    assert_eq!(languages.len(), 3, "{languages:?}");

    let status = test.app.status(id).await.expect("status");
    assert_eq!(status.by_state.get(&DeliveryState::Sent), Some(&30));
    let stored = test
        .app
        .store
        .delivery(id, 1, ChannelKind::Email)
        .await
        .expect("query")
        .expect("delivery");
    assert!(
        stored
            .gateway_id
            .is_some_and(|id| id.starts_with("<tocsin.")),
        "the Message-ID is the gateway id"
    );
}

async fn sending_the_same_update_twice_plans_nothing_new_and_sends_nothing_twice(mta: Mta) {
    let Some(server) = SmtpServer::of(mta, &[]) else {
        return;
    };
    let test = TestApp::with_smtp(&server).await;
    seed(&test.app, 12).await;
    let id = test.approved_update(EMAIL_UPDATE).await;

    let first = test.app.send(id, |_, _| {}).await.expect("first send");
    let second = test.app.send(id, |_, _| {}).await.expect("second send");

    assert_eq!(first.plan.created, 12);
    assert!(second.plan.already_planned);
    assert_eq!(second.plan.created, 0);
    assert_eq!(server.received().len(), 12, "nothing was sent twice");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_451_is_retried_with_backoff_until_the_server_accepts() {
    a_451_is_retried(&[]).await;
}

/// The same, with `MAIL`, `RCPT` and `DATA` in one write: each refusal must be read in turn.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_451_is_retried_with_backoff_when_the_server_takes_pipelined_commands() {
    a_451_is_retried(&["--pipelining"]).await;
}

async fn a_451_is_retried(options: &[&str]) {
    let mut options = options.to_vec();
    options.extend(["--temp-fail", "patient1@=2"]);
    let Some(server) = SmtpServer::start(&options) else {
        return;
    };
    let test = TestApp::with_smtp(&server).await;
    seed(&test.app, 3).await;
    let id = test.approved_update(EMAIL_UPDATE).await;

    test.app.send(id, |_, _| {}).await.expect("send");

    let to_patient1: Vec<_> = server
        .received()
        .into_iter()
        .filter(|message| message.rcpt_tos == ["patient1@example.be"])
        .collect();
    assert_eq!(to_patient1.len(), 1, "accepted once, after two refusals");
    let delivery = test
        .app
        .store
        .delivery(id, 2, ChannelKind::Email)
        .await
        .expect("query")
        .expect("delivery");
    assert_eq!(delivery.state, DeliveryState::Sent);
    assert_eq!(delivery.attempts, 3);
    let events = test.app.store.events(delivery.id).await.expect("events");
    let failures: Vec<_> = events
        .iter()
        .filter(|(_, to, _)| to == "failed")
        .map(|(_, _, detail)| detail.clone().unwrap_or_default())
        .collect();
    assert_eq!(failures.len(), 2, "{events:?}");
    assert!(
        failures.iter().all(|detail| detail.contains("451")),
        "{failures:?}"
    );
}

/// The refusal of an unknown recipient, as each server words it: aiosmtpd as Postfix does
/// (`550 5.1.1 <…>: Recipient address rejected: User unknown…`), OpenSMTPD its own way
/// (`550 Invalid recipient: <…>`). Both name the address, which must not reach the record.
async fn a_550_makes_the_delivery_undeliverable_at_once_with_the_servers_reason(mta: Mta) {
    let Some(server) = SmtpServer::of(mta, &["patient2@example.be"]) else {
        return;
    };
    let wording = match mta {
        Mta::Aiosmtpd => "Recipient address rejected: User unknown",
        Mta::OpenSmtpd => "Invalid recipient",
    };
    a_550_is_undeliverable(&server, wording).await;
}

/// Pipelined, a refused `RCPT` is followed by a refused `DATA`: the reason kept is the 550.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_550_is_undeliverable_with_its_reason_when_commands_are_pipelined() {
    let Some(server) = SmtpServer::start(&["--pipelining", "--perm-fail", "patient2@"]) else {
        return;
    };
    a_550_is_undeliverable(&server, "Recipient address rejected: User unknown").await;
}

async fn a_550_is_undeliverable(server: &SmtpServer, wording: &str) {
    let test = TestApp::with_smtp(server).await;
    seed(&test.app, 3).await;
    let id = test.approved_update(EMAIL_UPDATE).await;

    test.app.send(id, |_, _| {}).await.expect("send");

    let delivery = test
        .app
        .store
        .delivery(id, 3, ChannelKind::Email)
        .await
        .expect("query")
        .expect("delivery");
    assert_eq!(delivery.state, DeliveryState::Undeliverable);
    assert_eq!(delivery.attempts, 1, "a permanent failure is never retried");
    let reason = delivery.last_error.expect("reason kept");
    assert!(
        reason.contains("550") && reason.contains(wording),
        "{reason}"
    );
    assert!(
        !reason.contains("patient2@example.be") && reason.contains("p***@example.be"),
        "the address is masked: {reason}"
    );
    assert_eq!(server.received().len(), 2);

    let status = test.app.status(id).await.expect("status");
    assert_eq!(status.unreached.len(), 1);
    assert!(status.unreached[0].reasons[0].contains("undeliverable"));
}

/// E-mails are stored compressed against a dictionary (migration 0006); what the server got,
/// what `preview` shows and what the database holds must still be the same text.
async fn a_stored_email_is_kept_packed_and_reads_back_exactly_as_the_server_received_it(mta: Mta) {
    let Some(server) = SmtpServer::of(mta, &[]) else {
        return;
    };
    let test = TestApp::with_smtp(&server).await;
    seed(&test.app, 30).await;
    let id = test.approved_update(EMAIL_UPDATE).await;
    test.app.send(id, |_, _| {}).await.expect("send");

    let received = server.received();
    assert_eq!(received.len(), 30);
    let mut by_message_id = HashMap::new();
    for message in &received {
        let raw = server.raw(message);
        let mail = mailparse::parse_mail(&raw).expect("valid MIME");
        let text = mail.subparts[0].get_body().expect("text part");
        let html = mail.subparts[1].get_body().expect("html part");
        by_message_id.insert(header(&mail, "Message-ID"), (text, html));
    }
    let normalise = |text: &str| text.replace("\r\n", "\n").trim_end().to_string();
    let mut unpacked_bytes = 0;
    for contact in 1..=30 {
        let stored = test
            .app
            .store
            .delivery(id, contact, ChannelKind::Email)
            .await
            .expect("query")
            .expect("delivery");
        let message_id = stored.gateway_id.clone().expect("sent with a Message-ID");
        let (text, html) = by_message_id
            .get(&message_id)
            .unwrap_or_else(|| panic!("the server got no {message_id}"));
        assert_eq!(
            normalise(&stored.content.body),
            normalise(text),
            "contact {contact}"
        );
        let stored_html = stored.content.body_html.expect("an HTML part is stored");
        assert_eq!(
            normalise(&stored_html),
            normalise(html),
            "contact {contact}"
        );
        unpacked_bytes += stored.content.body.len() + stored_html.len();
    }

    // SQLite keeps a packed body as a blob and a plain one as text; PostgreSQL both as bytea.
    let blob = match Backend::of_url(&test.app.config.database_url) {
        Backend::Sqlite => " AND typeof(m.body) = 'blob'",
        Backend::Postgres => "",
    };
    let (rows, packed, stored_bytes): (i64, i64, i64) = row(
        &test.app.config.database_url,
        &format!(
            "SELECT COUNT(*), COUNT(m.dictionary_id), \
             SUM(length(m.body) + COALESCE(length(m.body_html), 0)) \
             FROM delivery_messages m JOIN deliveries d ON d.id = m.delivery_id \
             WHERE d.update_id = {id}{blob}"
        ),
    )
    .await;
    assert_eq!((rows, packed), (30, 30), "every e-mail is stored packed");
    let stored_bytes = usize::try_from(stored_bytes).expect("a size");
    assert!(
        stored_bytes * 4 < unpacked_bytes,
        "packing saves most of the space: {stored_bytes} bytes stored for {unpacked_bytes}"
    );
}

/// Records what the channel asked of the dispatcher and answers as told.
struct ScriptedHandover {
    answer: bool,
    committed: Vec<String>,
}

#[async_trait::async_trait]
impl Handover for ScriptedHandover {
    async fn commit(&mut self, gateway_id: &str, release: Release) -> bool {
        self.committed.push(gateway_id.to_string());
        if self.answer {
            release();
        }
        self.answer
    }
}

fn message(delivery_id: i64, address: &str) -> Message {
    Message {
        delivery_id,
        update_id: 1,
        channel: ChannelKind::Email,
        address: address.into(),
        language: tocsin::domain::Language::Fr,
        content: RenderedMessage {
            subject: Some("Cyberattaque – opérations annulées".into()),
            body: "Madame, Monsieur,\n\nVotre rendez-vous est annulé.\n.\nUne ligne qui commence par un point.\n".into(),
            body_html: Some("<p>Votre rendez-vous est annulé.</p>".into()),
        },
        attempt: 1,
        reply_to: None,
    }
}

/// The handover is the point of no return: if it cannot be recorded, the message's end is
/// never written, so the server discards what it got; if it is, the message completes.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_message_whose_handover_is_not_recorded_is_left_unfinished_and_never_delivered() {
    type Start = fn() -> Option<SmtpServer>;
    let servers: [(&str, Start); 3] = [
        ("aiosmtpd", || SmtpServer::start(&[])),
        ("aiosmtpd with PIPELINING", || {
            SmtpServer::start(&["--pipelining"])
        }),
        ("OpenSMTPD", || {
            SmtpServer::opensmtpd(OpenSmtpdSetup::default())
        }),
    ];
    for (which, start) in servers {
        let Some(server) = start() else {
            return;
        };
        let target = SmtpTarget::parse(&server.url(), None).expect("url");
        let mail = MailBuilder::new("crisis@zna.example.be", None, "zna.example.be").expect("from");
        let channel = SmtpChannel::new(target, mail, 1, std::time::Duration::from_secs(10));

        let mut refused = ScriptedHandover {
            answer: false,
            committed: Vec::new(),
        };
        let outcome = channel
            .send(&message(1, "first@example.be"), &mut refused)
            .await;
        assert_eq!(refused.committed, ["<tocsin.1.1@zna.example.be>"]);
        // Our own record failed: nothing about the recipient, so no attempt is counted.
        match outcome {
            Outcome::Unavailable { reason, .. } => {
                assert!(reason.contains("left unfinished"), "{reason}")
            }
            other => panic!("{which}: expected unavailable, got {other:?}"),
        }

        let mut recorded = ScriptedHandover {
            answer: true,
            committed: Vec::new(),
        };
        let outcome = channel
            .send(&message(2, "second@example.be"), &mut recorded)
            .await;
        assert!(
            matches!(outcome, Outcome::Accepted { .. }),
            "{which}: {outcome:?}"
        );
        assert_eq!(recorded.committed, ["<tocsin.1.2@zna.example.be>"]);

        let received = server.received();
        assert_eq!(
            received
                .iter()
                .map(|m| m.rcpt_tos.clone())
                .collect::<Vec<_>>(),
            [["second@example.be"]],
            "{which}: the unfinished message must not arrive"
        );
        let raw = server.raw(&received[0]);
        let mail = mailparse::parse_mail(&raw).expect("valid MIME");
        let text = mail.subparts[0].get_body().expect("text part");
        assert!(
            text.contains("annulé.\r\n.\r\nUne ligne qui commence par un point")
                || text.contains("annulé.\n.\nUne ligne qui commence par un point"),
            "a line with a lone dot survives dot-stuffing: {text:?}"
        );
        assert_eq!(
            header(&mail, "Subject"),
            "Cyberattaque – opérations annulées"
        );
    }
}

/// `8BITMIME` (RFC 6152): a server that offers it gets the text as it is, `8bit`, with
/// `BODY=8BITMIME` on `MAIL` — lines longer than quoted-printable's 76 characters included
/// (a French patient's appointment line is about 95). Each session says `EHLO` once:
/// OpenSMTPD refuses a second one.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_server_offering_8bitmime_gets_the_text_as_it_is_after_a_single_ehlo() {
    let Some(server) = SmtpServer::opensmtpd(OpenSmtpdSetup {
        trace: true,
        ..OpenSmtpdSetup::default()
    }) else {
        return;
    };
    let test = TestApp::with_smtp(&server).await;
    seed(&test.app, 6).await;
    let id = test.approved_update(EMAIL_UPDATE).await;

    test.app.send(id, |_, _| {}).await.expect("send");

    let received = server.received();
    assert_eq!(received.len(), 6);
    for message in &received {
        let raw = server.raw(message);
        let mail = mailparse::parse_mail(&raw).expect("valid MIME");
        for part in &mail.subparts {
            assert_eq!(
                header(part, "Content-Transfer-Encoding"),
                "8bit",
                "{}",
                String::from_utf8_lossy(&raw)
            );
        }
        let text = mail.subparts[0].get_body().expect("text part");
        if header(&mail, "Content-Language") == "fr-BE" {
            let line = text
                .lines()
                .find(|line| line.contains("rendez-vous"))
                .expect("the appointment line");
            assert!(
                line.chars().count() > 76 && raw.windows(2).any(|pair| pair == "à".as_bytes()),
                "a long line with accents travels as it is: {line:?}"
            );
        }
    }
    let commands = server.commands();
    let mails: Vec<_> = commands
        .iter()
        .filter(|command| command.line.to_ascii_uppercase().starts_with("MAIL FROM:"))
        .collect();
    assert_eq!(mails.len(), 6, "{commands:#?}");
    assert!(
        mails
            .iter()
            .all(|mail| mail.line.ends_with(" BODY=8BITMIME")),
        "{mails:#?}"
    );
    let mut ehlos: HashMap<&str, usize> = HashMap::new();
    for command in &commands {
        if command.line.to_ascii_uppercase().starts_with("EHLO ") {
            *ehlos.entry(command.session.as_str()).or_default() += 1;
        }
    }
    assert!(
        !ehlos.is_empty() && ehlos.values().all(|&count| count == 1),
        "{commands:#?}"
    );
}

/// `PIPELINING` is read from the same single `EHLO` answer: aiosmtpd, told to offer it, gets
/// `MAIL`, `RCPT` and `DATA` together for every message, and one `EHLO` for the session.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pipelining_is_learnt_from_the_single_ehlo_of_the_session() {
    let Some(server) = SmtpServer::start(&["--pipelining", "--log-commands"]) else {
        return;
    };
    let target = SmtpTarget::parse(&server.url(), None).expect("url");
    let mail = MailBuilder::new("crisis@zna.example.be", None, "zna.example.be").expect("from");
    let channel = SmtpChannel::new(target, mail, 1, std::time::Duration::from_secs(10));

    for n in 1..=3 {
        let outcome = channel
            .send(&message(n, &format!("p{n}@example.be")), &mut NoHandover)
            .await;
        assert!(matches!(outcome, Outcome::Accepted { .. }), "{outcome:?}");
    }

    let commands = server.commands();
    let said = |verb: &str| -> Vec<_> {
        commands
            .iter()
            .filter(|command| command.line.to_ascii_uppercase().starts_with(verb))
            .collect()
    };
    assert_eq!(said("EHLO ").len(), 1, "{commands:#?}");
    let mails = said("MAIL FROM:");
    assert_eq!(mails.len(), 3, "{commands:#?}");
    assert!(mails.iter().all(|mail| mail.pipelined), "{commands:#?}");
}
