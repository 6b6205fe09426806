use crate::support::tocsin_binary;
use std::process::Command;
use tocsin::domain::{choose_language, AppointmentWindow, ChannelKind, DeliveryState, Selection};
use tocsin::render::Locales;

fn tocsin(dir: &std::path::Path, args: &[&str]) -> std::process::Output {
    Command::new(tocsin_binary())
        .current_dir(dir)
        .args(args)
        .output()
        .expect("run tocsin")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_demo_reaches_every_patient_in_their_language_with_their_own_appointment() {
    let dir = tempfile::tempdir().expect("temp dir");
    let out = tocsin(dir.path(), &["demo", "--dir", "demo", "--patients", "300"]);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );

    let json = tocsin(
        dir.path(),
        &[
            "--database",
            "sqlite://demo/tocsin.db",
            "status",
            "1",
            "--json",
        ],
    );
    let status: serde_json::Value = serde_json::from_slice(&json.stdout).expect("status JSON");
    let by_state = &status["by_state"];
    let total = status["total"].as_u64().expect("total");
    let sent = by_state["sent"].as_u64().unwrap_or(0);
    let skipped = by_state["skipped"].as_u64().unwrap_or(0);
    assert_eq!(
        sent + skipped,
        total,
        "every planned delivery ends sent: {by_state}"
    );
    for key in ["by_channel", "by_language", "unreached"] {
        assert!(!status[key].is_null(), "{key} missing from the JSON status");
    }

    // Every patient's SMS, as written to the outbox, names their own appointments in
    // their language.
    let app = tocsin::app::App::open(tocsin::config::Config {
        database_url: format!("sqlite://{}", dir.path().join("demo/tocsin.db").display()),
        ..tocsin::config::Config::default()
    })
    .await
    .expect("open the demo database");
    let locales = Locales::load(None, chrono_tz::Europe::Brussels).expect("locales");
    let hospital = tocsin::config::Hospital::default();
    let mut languages = std::collections::BTreeSet::new();
    let mut checked = 0;
    for recipient in app
        .store
        .recipients(
            &Selection::Patients(AppointmentWindow::default()),
            0,
            10_000,
        )
        .await
        .expect("patients")
    {
        let delivery = app
            .store
            .delivery(1, recipient.contact.id, ChannelKind::Sms)
            .await
            .expect("query");
        let Some(delivery) = delivery.filter(|_| recipient.contact.mobile.is_some()) else {
            continue;
        };
        let file = dir
            .path()
            .join(format!("demo/outbox/sms/{:08}.json", delivery.id));
        let sms: serde_json::Value =
            serde_json::from_slice(&std::fs::read(&file).expect("outbox file")).expect("json");
        let text = sms["text"].as_str().expect("text");
        assert_eq!(text, delivery.body, "the outbox holds the stored text");
        let campus = recipient
            .appointments
            .first()
            .and_then(|a| hospital.campus_language(&a.campus));
        let language = choose_language(recipient.contact.language.as_deref(), campus);
        assert_eq!(sms["language"].as_str(), Some(language.code()));
        for appointment in &recipient.appointments {
            let when = locales
                .datetime(language, appointment.starts_at)
                .expect("date")
                .when;
            let department = locales.term(language, "dept", &appointment.department);
            assert!(
                text.contains(&when) && text.contains(&department),
                "{language}: {text} lacks {when} / {department}"
            );
        }
        languages.insert(language);
        checked += 1;
    }
    assert!(checked > 200, "only {checked} patient SMS checked");
    assert_eq!(languages.len(), 3, "{languages:?}");
    // The call centre's list holds exactly the unreached contacts of the status.
    let database = "sqlite://demo/tocsin.db";
    let export = tocsin(
        dir.path(),
        &[
            "--database",
            database,
            "export",
            "unreached",
            "1",
            "--csv",
            "unreached.csv",
        ],
    );
    assert!(
        export.status.success(),
        "{}",
        String::from_utf8_lossy(&export.stderr)
    );
    let csv = std::fs::read_to_string(dir.path().join("unreached.csv")).expect("csv written");
    let unreached = status["unreached"]
        .as_array()
        .expect("unreached list")
        .len();
    assert_eq!(csv.lines().count(), unreached + 1, "{csv}");
    assert!(csv.starts_with("external_id,name,mobile,email,language,appointments,why_unreached"));

    // Preview of a sent update prints the stored text, exactly as sent.
    let patient = app
        .store
        .recipients(&Selection::Patients(AppointmentWindow::default()), 0, 100)
        .await
        .expect("patients")
        .into_iter()
        .find(|recipient| recipient.contact.email.is_some())
        .expect("a patient with an e-mail address");
    let stored = app
        .store
        .delivery(1, patient.contact.id, ChannelKind::Email)
        .await
        .expect("query")
        .expect("an e-mail delivery");
    assert_eq!(stored.state, DeliveryState::Sent);
    let contact = patient.contact.id.to_string();
    let preview = tocsin(
        dir.path(),
        &[
            "--database",
            database,
            "update",
            "preview",
            "1",
            "--contact",
            &contact,
            "--channel",
            "email",
        ],
    );
    let printed = String::from_utf8_lossy(&preview.stdout);
    assert!(printed.contains(", as sent"), "{printed}");
    assert!(printed.contains(&stored.body), "{printed}");

    let emails = std::fs::read_dir(dir.path().join("demo/outbox/email"))
        .expect("email outbox")
        .count();
    assert!(emails > 150, "only {emails} e-mails");
}

#[test]
fn a_bad_update_file_is_refused_with_file_line_and_what_to_fix_and_nothing_is_stored() {
    let dir = tempfile::tempdir().expect("temp dir");
    let good = include_str!("../../examples/01-first-alert.toml");
    let cases = [
        (
            "missing.toml",
            good.split("[en]").next().expect("has en").to_string(),
            "the [en] text is missing",
        ),
        (
            "empty.toml",
            good.replacen("sms = \"Cyberattaque", "sms = \"\"\nx = \"", 1)
                .replace("\nx = \"", "\n#"),
            "[fr] sms is empty",
        ),
        (
            "unknown.toml",
            good.replace("kind = \"alert\"", "kind = \"alert\"\nurgency = \"high\""),
            "unknown field `urgency`",
        ),
        (
            "invalid.toml",
            good.replace("kind = \"alert\"", "kind = alert"),
            "invalid",
        ),
    ];
    for (name, source, expected) in cases {
        std::fs::write(dir.path().join(name), source).expect("write");
        let out = tocsin(dir.path(), &["update", "draft", name]);
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(!out.status.success(), "{name} was accepted");
        assert!(
            stderr.contains(&format!("{name}:")),
            "{name}: no file:line in {stderr}"
        );
        assert!(stderr.contains(expected), "{name}: {stderr}");
    }
    let list = tocsin(dir.path(), &["update", "list"]);
    assert!(list.status.success());
    assert!(
        list.stdout.is_empty(),
        "something was stored: {}",
        String::from_utf8_lossy(&list.stdout)
    );
}

#[test]
fn approval_by_the_author_is_refused() {
    let dir = tempfile::tempdir().expect("temp dir");
    std::fs::write(
        dir.path().join("alert.toml"),
        include_str!("../../examples/01-first-alert.toml"),
    )
    .expect("write");
    assert!(tocsin(dir.path(), &["update", "draft", "alert.toml"])
        .status
        .success());
    let out = tocsin(
        dir.path(),
        &["update", "approve", "1", "--by", "els peeters"],
    );
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("four eyes"));
    let send = tocsin(dir.path(), &["update", "send", "1"]);
    assert!(!send.status.success(), "an unapproved update is not sent");
    assert!(String::from_utf8_lossy(&send.stderr).contains("must be approved"));
    assert!(tocsin(
        dir.path(),
        &["update", "approve", "1", "--by", "Dr. Jan Claes"]
    )
    .status
    .success());
}
