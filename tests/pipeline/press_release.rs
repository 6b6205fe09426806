//! The first alert of the README, sent to a synthetic hospital day through a real SMTP server:
//! each journalist's press release holds the three languages, theirs first, and every message
//! carries the update's public reference.

use crate::support::{Mta, SmtpServer, TestApp};
use mailparse::MailHeaderMap;
use std::collections::BTreeMap;
use tocsin::app::Sample;
use tocsin::author::DraftOptions;
use tocsin::channels::sms::gsm;
use tocsin::domain::{
    AppointmentWindow, ChannelKind, DeliveryState, Language, RenderedMessage, Role, Selection,
};

crate::against_each_server!(
    the_first_alert_gives_each_journalist_three_languages_theirs_first_and_everyone_its_reference,
);

fn heading(language: Language) -> String {
    let name = match language {
        Language::Nl => "Nederlands",
        Language::Fr => "Français",
        Language::En => "English",
    };
    format!("\n{name}\n{}\n", "=".repeat(name.chars().count()))
}

fn normalise(text: &str) -> String {
    text.replace("\r\n", "\n").trim_end().to_string()
}

async fn the_first_alert_gives_each_journalist_three_languages_theirs_first_and_everyone_its_reference(
    mta: Mta,
) {
    let Some(server) = SmtpServer::of(mta, &[]) else {
        return;
    };
    let test = TestApp::with_smtp(&server).await;
    let days = [(2026, 1, 13), (2026, 1, 14)].map(|(year, month, day)| {
        chrono::NaiveDate::from_ymd_opt(year, month, day).expect("a day")
    });
    let day = tocsin::demo::synthetic::generate(60, &days, 2026);
    test.app
        .store
        .import(&day.contacts, &day.appointments, "synthetic day", 0)
        .await
        .expect("import");
    let file = test.dir.path().join("01-first-alert.toml");
    std::fs::write(&file, include_str!("../../examples/01-first-alert.toml")).expect("write");
    let options = DraftOptions {
        max_sms_segments: Some(test.app.config.sms.max_segments),
        ..DraftOptions::default()
    };
    let id = test
        .app
        .draft(&file, None, options)
        .await
        .expect("draft")
        .id;
    test.app
        .approve(id, "Dr. Jan Claes")
        .await
        .expect("approve");
    let update = test.app.store.update(id).await.expect("the update");
    let reference = update.reference.as_str().to_string();
    let public_url = tocsin::press::public_url(&test.app.config).expect("public url");

    // What the spokesperson previews before sending, journalist by journalist.
    let journalists: Vec<_> = day
        .contacts
        .iter()
        .filter(|contact| contact.role == Role::Journalist)
        .filter_map(|contact| contact.email.clone())
        .collect();
    assert!(journalists.len() > 10, "{journalists:?}");
    let mut previewed: BTreeMap<String, RenderedMessage> = BTreeMap::new();
    for address in &journalists {
        let previews = test
            .app
            .preview(id, Sample::Contact(address), Some(ChannelKind::Email))
            .await
            .expect("preview");
        let [preview] = &previews[..] else {
            panic!("one e-mail for {address}: {previews:?}")
        };
        assert!(!preview.stored, "not planned yet");
        previewed.insert(address.to_lowercase(), preview.content.clone());
    }

    test.app.send(id, |_, _| {}).await.expect("send");
    let status = test.app.status(id).await.expect("status");
    let sent = status
        .by_state
        .get(&DeliveryState::Sent)
        .copied()
        .unwrap_or(0);
    let skipped = status
        .by_state
        .get(&DeliveryState::Skipped)
        .copied()
        .unwrap_or(0);
    assert_eq!(sent + skipped, status.total, "{:?}", status.by_state);

    let mut readers = BTreeMap::new();
    for message in server.received() {
        let [to] = &message.rcpt_tos[..] else {
            panic!("one recipient per message: {:?}", message.rcpt_tos)
        };
        let Some(preview) = previewed.get(&to.to_lowercase()) else {
            continue;
        };
        let raw = server.raw(&message);
        let mail = mailparse::parse_mail(&raw).expect("valid MIME");
        let reader = match mail.headers.get_first_value("Content-Language").as_deref() {
            Some("nl-BE") => Language::Nl,
            Some("fr-BE") => Language::Fr,
            Some("en") => Language::En,
            other => panic!("Content-Language {other:?}"),
        };
        let text = normalise(&mail.subparts[0].get_body().expect("text part"));
        let html = normalise(&mail.subparts[1].get_body().expect("html part"));

        // What was previewed, stored and received is one text.
        assert_eq!(text, normalise(&preview.body), "{to}");
        assert_eq!(
            html,
            normalise(preview.body_html.as_deref().unwrap_or_default()),
            "{to}"
        );
        assert_eq!(
            mail.headers.get_first_value("Subject").as_deref(),
            preview.subject.as_deref(),
            "{to}"
        );
        let contact = test
            .app
            .store
            .find_contact(to)
            .await
            .expect("query")
            .expect("the journalist");
        let stored = test
            .app
            .store
            .delivery(id, contact.id, ChannelKind::Email)
            .await
            .expect("query")
            .expect("a delivery");
        assert_eq!(stored.state, DeliveryState::Sent);
        assert_eq!(stored.language, reader);
        assert_eq!(normalise(&stored.content.body), text, "{to}");

        // The three languages, the reader's first, each with its title and links.
        let order: Vec<Language> = std::iter::once(reader)
            .chain(Language::ALL.into_iter().filter(|other| *other != reader))
            .collect();
        let starts: Vec<usize> = order
            .iter()
            .map(|language| {
                text.find(&heading(*language))
                    .unwrap_or_else(|| panic!("{to}: no {language} heading:\n{text}"))
            })
            .collect();
        assert!(
            starts.is_sorted(),
            "{to} reads {reader}: {starts:?}\n{text}"
        );
        let sections: Vec<usize> = order
            .iter()
            .map(|language| {
                html.find(&format!("<section lang=\"{}\"", language.tag()))
                    .unwrap_or_else(|| panic!("{to}: no {language} section:\n{html}"))
            })
            .collect();
        assert!(sections.is_sorted(), "{to} reads {reader}:\n{html}");
        assert!(html.contains(&format!("<html lang=\"{}\">", reader.tag())));
        for (n, language) in order.iter().enumerate() {
            let part = &text[starts[n]..starts.get(n + 1).copied().unwrap_or(text.len())];
            let title = update.text(*language).title.replace(" :", "\u{a0}:");
            assert!(part.contains(&title), "{to}: {language}:\n{part}");
            let lang = language.code();
            for link in [
                format!("{public_url}{lang}/{reference}.html"),
                format!("{public_url}{lang}/check.html?ref={reference}"),
                format!("{public_url}{lang}/atom.xml"),
                format!("{public_url}{lang}/rss.xml"),
                format!("{public_url}{lang}/feed.json"),
                format!("{public_url}cap/index.atom"),
            ] {
                assert!(
                    part.contains(&link),
                    "{to}: {language} lacks {link}:\n{part}"
                );
            }
            assert!(part.contains(&reference), "{to}: {language}:\n{part}");
        }
        *readers.entry(reader).or_insert(0) += 1;
    }
    assert_eq!(
        readers.values().sum::<usize>(),
        journalists.len(),
        "every journalist got one press release: {readers:?}"
    );
    assert!(
        readers.len() >= 2,
        "readers of several languages: {readers:?}"
    );

    // Every patient's SMS, as it left for the gateway (the outbox), ends with the reference.
    let mut checked = 0;
    for recipient in test
        .app
        .store
        .recipients(&Selection::Patients(AppointmentWindow::default()), 0, 1_000)
        .await
        .expect("patients")
    {
        let Some(stored) = test
            .app
            .store
            .delivery(id, recipient.contact.id, ChannelKind::Sms)
            .await
            .expect("query")
            .filter(|stored| stored.state == DeliveryState::Sent)
        else {
            continue;
        };
        let file = test
            .app
            .config
            .sms
            .dir
            .join(format!("{:08}.json", stored.id));
        let sms: serde_json::Value =
            serde_json::from_slice(&std::fs::read(&file).expect("outbox file")).expect("json");
        let text = sms["text"].as_str().expect("text");
        assert_eq!(text, stored.content.body);
        let ending = match stored.language {
            Language::Fr => format!(". Réf. {reference}"),
            Language::Nl | Language::En => format!(". Ref. {reference}"),
        };
        assert!(text.ends_with(&ending), "{text}");
        assert!(gsm::is_gsm7(text), "{text}");
        checked += 1;
    }
    assert!(checked > 30, "only {checked} patient SMS");
}
