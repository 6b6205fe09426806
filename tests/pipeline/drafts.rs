use crate::support::{seed, seed_sms_patients, TestApp, EMAIL_UPDATE};
use tocsin::author::DraftOptions;
use tocsin::domain::{ChannelKind, Language, PublicReference};

/// What `update draft` counts is what `update send` then plans: over several pages of
/// recipients, with a contact in two audiences counted once, and only the SMS rendered.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn what_draft_forecasts_is_what_send_plans_over_pages_and_overlapping_audiences() {
    let test = TestApp::new(|_| {}).await;
    seed(&test.app, 2_500).await;
    seed_sms_patients(&test.app).await;
    let source = EMAIL_UPDATE
        .replace(
            "audiences = [\"patients\"]",
            "audiences = [\"patients\", \"patients from=2026-01-13 to=2026-01-13\"]",
        )
        .replace("channels = [\"email\"]", "channels = [\"sms\", \"email\"]");
    let file = test.dir.path().join("update.toml");
    std::fs::write(&file, source).expect("write");
    let options = DraftOptions {
        max_sms_segments: Some(3),
        ..DraftOptions::default()
    };
    let report = test.app.draft(&file, None, options).await.expect("draft");

    let [everyone, same_day] = &report.forecast.audiences[..] else {
        panic!("two audiences: {:?}", report.forecast.audiences)
    };
    assert_eq!(everyone.contacts, 2_503);
    assert_eq!(everyone.by_language.get(&Language::Fr), Some(&834));
    let total = |channel| -> u64 {
        everyone
            .deliveries
            .get(&channel)
            .map_or(0, |counts| counts.values().sum())
    };
    assert_eq!(total(ChannelKind::Email), 2_500);
    assert_eq!(total(ChannelKind::Sms), 3);
    assert_eq!(
        everyone.skipped.get("no sms address"),
        None,
        "reached by e-mail"
    );
    assert_eq!(everyone.unreachable, 0);
    assert_eq!((same_day.contacts, same_day.shared), (0, 2_503));
    let sms: u64 = report.forecast.sms.values().map(|sms| sms.messages()).sum();
    assert_eq!(
        sms, 3,
        "one SMS per patient with a mobile, each language once"
    );
    assert!(report
        .forecast
        .sms
        .values()
        .all(|sms| sms.parts.keys().all(|parts| *parts <= 2)));

    test.app
        .approve(report.id, "Second Person")
        .await
        .expect("approve");
    let sent = test.app.send(report.id, |_, _| {}).await.expect("send");
    assert_eq!(sent.plan.pending, everyone.messages());
    assert_eq!(sent.plan.skipped, 0);
}

/// Each update's public reference names the hospital and the day, and its last part is drawn
/// at random: knowing one reference does not give the next, so a forger cannot print a
/// plausible one. The store finds an update by it, as the check page does.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn each_update_gets_a_public_reference_that_another_does_not_predict() {
    let test = TestApp::new(|_| {}).await;
    seed(&test.app, 3).await;
    let file = test.dir.path().join("update.toml");
    std::fs::write(&file, EMAIL_UPDATE).expect("write");
    let brussels_day = || {
        chrono::Utc::now()
            .with_timezone(&chrono_tz::Europe::Brussels)
            .format("%Y%m%d")
            .to_string()
    };
    let today = brussels_day();
    let mut references = Vec::new();
    for _ in 0..12 {
        let id = test
            .app
            .draft(&file, None, DraftOptions::default())
            .await
            .expect("draft")
            .id;
        let update = test.app.store.update(id).await.expect("stored");
        let reference = update.reference.as_str().to_string();
        let found = test
            .app
            .store
            .update_by_reference(
                &PublicReference::parse(&reference.to_lowercase()).expect("a reference parses"),
            )
            .await
            .expect("lookup")
            .map(|found| found.id);
        assert_eq!(found, Some(id), "{reference} finds its update");
        references.push(reference);
    }
    // A run across midnight drafts on two days.
    let days = [today.clone(), brussels_day()];
    let random: Vec<u64> = references
        .iter()
        .map(|reference| {
            let (prefix, last) = reference.rsplit_once('-').expect("three parts");
            assert!(
                days.iter().any(|day| prefix == format!("AZT-{day}")),
                "{reference}"
            );
            last.chars().fold(0, |value, c| {
                let digit = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"
                    .find(c)
                    .expect("Crockford base 32") as u64;
                value * 32 + digit
            })
        })
        .collect();
    let mut distinct = random.clone();
    distinct.sort_unstable();
    distinct.dedup();
    assert_eq!(distinct.len(), random.len(), "{references:?}");
    let steps: Vec<i128> = random
        .windows(2)
        .map(|pair| i128::from(pair[1]) - i128::from(pair[0]))
        .collect();
    assert!(
        steps.windows(2).any(|pair| pair[0] != pair[1]),
        "references in steps of one size are a sequence: {references:?}"
    );
    let absent = PublicReference::parse(&format!("AZT-{today}-0000")).expect("well formed");
    if !references.contains(&absent.to_string()) {
        let none = test.app.store.update_by_reference(&absent).await;
        assert!(matches!(none, Ok(None)), "{none:?}");
    }
}
