use crate::support::{seed, seed_sms_patients, TestApp, EMAIL_UPDATE};
use tocsin::author::DraftOptions;
use tocsin::domain::{ChannelKind, Language};

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
