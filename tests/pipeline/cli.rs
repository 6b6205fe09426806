use crate::support::{sms_patient, tocsin_command, TestDatabase, EMAIL_FROM, HOSPITAL_TOML};
use std::path::Path;
use tocsin::app::App;
use tocsin::domain::{AppointmentWindow, ChannelKind, DeliveryState, NewAppointment, Selection};
use tocsin::render::{Locales, NameKind};

pub(crate) fn tocsin(dir: &Path, args: &[&str]) -> std::process::Output {
    tocsin_command()
        .current_dir(dir)
        .args(args)
        .output()
        .expect("run tocsin")
}

/// `dir/tocsin.db`, made as a first import makes it.
pub(crate) fn with_database(dir: &Path) {
    std::fs::write(
        dir.join("press.csv"),
        "outlet,name,language,email\nDe Standaard,An Peeters,nl,an.peeters@example.be\n",
    )
    .expect("write");
    let out = tocsin(dir, &["import", "media", "press.csv"]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// A `tocsin.toml` in `dir` with the hospital's own details (and `extra` lines).
pub(crate) fn configure(dir: &Path, extra: &str) {
    std::fs::write(
        dir.join("tocsin.toml"),
        format!("{extra}\n{HOSPITAL_TOML}\n[email]\nfrom = \"{EMAIL_FROM}\"\n"),
    )
    .expect("write tocsin.toml");
}

pub(crate) fn text(out: &std::process::Output) -> (String, String) {
    (
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
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
    assert!(
        stdout.contains("The demo uses the example hospital details ([hospital] name"),
        "{stdout}"
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
    let mut config = tocsin::config::Config {
        database_url: format!("sqlite://{}", dir.path().join("demo/tocsin.db").display()),
        ..tocsin::config::Config::default()
    };
    // Opening the app makes the outbox folders: in the test's directory, not the source tree.
    config.email.dir = dir.path().join("outbox/email");
    config.sms.dir = dir.path().join("outbox/sms");
    config.telegram.dir = dir.path().join("outbox/telegram");
    let app = tocsin::app::App::open(config)
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
        assert_eq!(
            text, delivery.content.body,
            "the outbox holds the stored text"
        );
        let language = hospital.language_of(&recipient);
        assert_eq!(sms["language"].as_str(), Some(language.code()));
        for appointment in &recipient.appointments {
            let when = locales
                .datetime(language, appointment.starts_at)
                .expect("date")
                .short;
            let department = locales.term(language, NameKind::Department, &appointment.department);
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
    // The call centre's list holds exactly the unreached contacts of the status, exported
    // with the command the demo printed.
    let database = "sqlite://demo/tocsin.db";
    let hint = stdout
        .lines()
        .filter_map(|line| line.trim().strip_prefix("tocsin "))
        .find(|command| command.contains(" export unreached 1 "))
        .unwrap_or_else(|| panic!("no export hint in {stdout}"));
    let hint: Vec<&str> = hint.split_whitespace().collect();
    let export = tocsin(dir.path(), &hint);
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
    assert!(csv.starts_with(
        "\u{feff}external_id;name;mobile;phone;email;language;appointments;why_unreached"
    ));

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
    assert!(printed.contains(&stored.content.body), "{printed}");

    let emails = std::fs::read_dir(dir.path().join("demo/outbox/email"))
        .expect("email outbox")
        .count();
    assert!(emails > 150, "only {emails} e-mails");
}

#[test]
fn a_bad_update_file_is_refused_with_file_line_and_what_to_fix_and_nothing_is_stored() {
    let dir = tempfile::tempdir().expect("temp dir");
    configure(dir.path(), "");
    with_database(dir.path());
    let good = include_str!("../../examples/01-first-alert.toml");
    let cases = [
        (
            "missing.toml",
            good.split("[en]").next().expect("has en").to_string(),
            "the [en] text is missing",
        ),
        (
            "empty.toml",
            good.replacen("sms = \"En raison", "sms = \"\"\nx = \"", 1)
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
        (
            "header.toml",
            good.replacen(
                "title = \"Cyberattaque",
                "title = \"Bcc: everyone@example.be\\r\\nCyberattaque",
                1,
            ),
            "[fr] title spans several lines",
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
    configure(dir.path(), "");
    with_database(dir.path());
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

#[test]
fn the_example_hospital_details_are_refused_until_set_and_check_says_which() {
    let dir = tempfile::tempdir().expect("temp dir");
    with_database(dir.path());
    std::fs::write(
        dir.path().join("alert.toml"),
        include_str!("../../examples/01-first-alert.toml"),
    )
    .expect("write");
    let keys = [
        "[hospital] name",
        "[hospital] short_name",
        "[hospital] phone",
        "[hospital] press_phone",
        "[hospital] website",
        "[email] from",
    ];

    let draft = tocsin(dir.path(), &["update", "draft", "alert.toml"]);
    let (_, stderr) = text(&draft);
    assert!(!draft.status.success(), "drafted with the example details");
    assert!(stderr.contains("refusing to draft an update"), "{stderr}");
    assert!(stderr.contains("none was found"), "{stderr}");
    for key in keys {
        assert!(stderr.contains(key), "{key} not named: {stderr}");
    }
    let check = tocsin(dir.path(), &["check"]);
    let (stdout, _) = text(&check);
    assert!(!check.status.success(), "check passes the example details");
    assert!(
        stdout.contains("phone for patients: +32 3 000 00 00   <- example value"),
        "{stdout}"
    );
    for key in keys {
        assert!(stdout.contains(key), "{key} not named: {stdout}");
    }

    configure(dir.path(), "");
    let check = tocsin(dir.path(), &["check"]);
    let (stdout, stderr) = text(&check);
    assert!(check.status.success(), "{stdout}\n{stderr}");
    for line in [
        "Configuration: tocsin.toml",
        "Database: sqlite://tocsin.db (",
        "E-mail: outbox",
        "from Crisiscel AZT <crisis@azt-testwijk.be>",
        "SMS: outbox",
        "patients: sms, email, telegram (every channel they have an address for); an SMS that \
         fails (or has no receipt after 60 min) falls back to email",
        "short name (signs each SMS): AZT\n",
        "Nothing missing",
    ] {
        assert!(stdout.contains(line), "{line:?} missing:\n{stdout}");
    }
    assert!(tocsin(dir.path(), &["update", "draft", "alert.toml"])
        .status
        .success());

    // Approving and sending refuse the example details just as drafting does.
    std::fs::remove_file(dir.path().join("tocsin.toml")).expect("remove");
    let approve = tocsin(
        dir.path(),
        &["update", "approve", "1", "--by", "Dr. Jan Claes"],
    );
    let (_, stderr) = text(&approve);
    assert!(!approve.status.success());
    assert!(stderr.contains("refusing to approve an update"), "{stderr}");
    configure(dir.path(), "");
    assert!(tocsin(
        dir.path(),
        &["update", "approve", "1", "--by", "Dr. Jan Claes"]
    )
    .status
    .success());
    std::fs::remove_file(dir.path().join("tocsin.toml")).expect("remove");
    let send = tocsin(dir.path(), &["update", "send", "1"]);
    let (_, stderr) = text(&send);
    assert!(!send.status.success());
    assert!(stderr.contains("refusing to send an update"), "{stderr}");
    assert!(stderr.contains("[hospital] website"), "{stderr}");
}

#[test]
fn draft_of_the_first_alert_on_the_demo_data_shows_each_audience_and_the_sms_as_rendered() {
    let dir = tempfile::tempdir().expect("temp dir");
    let demo = tocsin(dir.path(), &["demo", "--dir", "demo", "--patients", "300"]);
    assert!(demo.status.success(), "{:?}", text(&demo));
    configure(dir.path(), "database_url = \"sqlite://demo/tocsin.db\"");
    std::fs::write(
        dir.path().join("alert.toml"),
        include_str!("../../examples/01-first-alert.toml"),
    )
    .expect("write");

    let draft = tocsin(dir.path(), &["update", "draft", "alert.toml"]);
    let (stdout, stderr) = text(&draft);
    assert!(draft.status.success(), "{stdout}\n{stderr}");
    let audience = |spec: &str| {
        stdout
            .lines()
            .find(|line| line.starts_with(&format!("  {spec}: ")))
            .unwrap_or_else(|| panic!("no line for {spec}:\n{stdout}"))
            .to_string()
    };
    let patients = audience("patients from=2026-01-13 to=2026-01-14");
    assert!(
        patients.contains(" contacts (nl ")
            && patients.contains(", fr ")
            && patients.contains(", en "),
        "{patients}"
    );
    assert!(
        audience("gps-of-affected").contains(" contacts ("),
        "{stdout}"
    );
    assert!(
        audience("media").starts_with("  media: 20 contacts ("),
        "{stdout}"
    );
    let all_gps = audience("all-gps");
    assert!(
        all_gps.contains("counted under an earlier audience"),
        "{all_gps}"
    );
    for channel in ["sms", "email", "telegram"] {
        assert!(
            stdout.contains(&format!("    {channel}: ")),
            "no {channel} count:\n{stdout}"
        );
    }
    // The rendered SMS, per language: how many take each number of parts, and their sum.
    for language in ["nl", "fr", "en"] {
        let line = stdout
            .lines()
            .find(|line| line.starts_with(&format!("  [{language}] ")) && line.contains(" SMS: "))
            .unwrap_or_else(|| panic!("no rendered SMS line for {language}:\n{stdout}"));
        assert!(
            line.contains(" of 1 part") || line.contains(" parts"),
            "{line}"
        );
        assert!(line.contains("; longest: P"), "{line}");
    }
    assert!(stdout.contains("parts to pay for"), "{stdout}");
    // The demo sent these very texts in this incident already.
    assert!(
        stderr.contains("WARNING: the texts are exactly those of update 1 (sent"),
        "{stderr}"
    );

    // A campus written otherwise than the export writes it reaches nobody: said loudly, with
    // the names the export uses.
    let antwerp = include_str!("../../examples/01-first-alert.toml").replace(
        "\"patients from=2026-01-13 to=2026-01-14\"",
        "\"patients from=2026-01-13 to=2026-01-14 campus=Antwerp\"",
    );
    std::fs::write(dir.path().join("antwerp.toml"), antwerp).expect("write");
    let draft = tocsin(dir.path(), &["update", "draft", "antwerp.toml"]);
    let (stdout, stderr) = text(&draft);
    assert!(draft.status.success(), "{stdout}\n{stderr}");
    assert!(
        stdout.contains("  patients from=2026-01-13 to=2026-01-14 campus=Antwerp: 0 contacts\n"),
        "{stdout}"
    );
    assert!(
        stderr.contains(
            "WARNING: audience \"patients from=2026-01-13 to=2026-01-14 campus=Antwerp\" reaches \
             NOBODY: no booked appointment has campus \"Antwerp\"; did you mean campus=Antwerpen? \
             (the export has campus=Antwerpen, campus=Deurne)"
        ),
        "{stderr}"
    );
    assert!(
        stderr.contains("WARNING: audience \"gps-of-affected\" reaches NOBODY"),
        "{stderr}"
    );
}

/// A database with patient P1 (nl, three appointments on 13 January 2026) and P2 (fr, one),
/// and a `tocsin.toml` for it.
async fn patients_with_appointments(dir: &Path) -> TestDatabase {
    let database = TestDatabase::in_dir(dir).await;
    let config = database.config_in(dir);
    configure(dir, &format!("database_url = \"{}\"", config.database_url));
    let app = App::open(config).await.expect("open");
    let (nl, first) = sms_patient(1, "nl", "+32471123450".into(), Some("p1@example.be"));
    let (fr, other) = sms_patient(2, "fr", "+32471123451".into(), None);
    let mut appointments = vec![first.clone(), other];
    for (n, hours) in [(2, 2), (3, 4)] {
        appointments.push(NewAppointment {
            external_id: format!("A1-{n}"),
            starts_at: first.starts_at + chrono::Duration::hours(hours),
            ..first.clone()
        });
    }
    app.store
        .import(&[nl, fr], &appointments, "test seed", 0)
        .await
        .expect("seed");
    database
}

fn sms_update(nl_sms: &str) -> String {
    format!(
        r#"incident = "cyberattack-2026-01"
kind = "alert"
author = "Els Peeters"
audiences = ["patients from=2026-01-13 to=2026-01-13"]
channels = ["sms"]

[nl]
title = "Cyberaanval"
body = "Geplande afspraken gaan niet door."
sms = "{nl_sms}"

[fr]
title = "Cyberattaque"
body = "Les rendez-vous sont annules."
sms = "Cyberattaque: rendez-vous annules."

[en]
title = "Cyberattack"
body = "Appointments are cancelled."
sms = "Cyberattack: appointments cancelled."
"#
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_three_part_text_that_renders_to_five_parts_for_a_patient_is_refused_and_not_stored() {
    let dir = tempfile::tempdir().expect("temp dir");
    let _database = patients_with_appointments(dir.path()).await;
    // 440 GSM-7 characters: three parts as written; with the sender and three appointments,
    // five.
    let long = "Door een cyberaanval gaan alle geplande operaties niet door. ".repeat(8);
    let long = &long[..440];
    std::fs::write(dir.path().join("long.toml"), sms_update(long)).expect("write");

    let draft = tocsin(dir.path(), &["update", "draft", "long.toml"]);
    let (stdout, stderr) = text(&draft);
    assert!(!draft.status.success(), "stored:\n{stdout}");
    assert!(stderr.contains("long.toml was not stored"), "{stderr}");
    assert!(
        stderr.contains(
            "[nl] sms: 1 of 1 SMS as rendered takes more than 3 parts; the one to P1 (contact 1) \
             takes 5 parts in GSM-7"
        ),
        "{stderr}"
    );
    assert!(
        stderr.contains(
            "Uw afspraak van di 13/01 13u30 (cardiologie) gaat niet door. Kom niet naar het \
             ziekenhuis."
        ),
        "the rendered text is shown: {stderr}"
    );
    let list = tocsin(dir.path(), &["update", "list"]);
    assert!(list.stdout.is_empty(), "{:?}", text(&list));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_draft_is_previewed_by_the_exports_id_phone_or_language_and_its_status_says_what_next() {
    let dir = tempfile::tempdir().expect("temp dir");
    let _database = patients_with_appointments(dir.path()).await;
    std::fs::write(
        dir.path().join("short.toml"),
        sms_update("Cyberaanval: uw afspraak gaat niet door."),
    )
    .expect("write");
    let draft = tocsin(dir.path(), &["update", "draft", "short.toml"]);
    let (stdout, stderr) = text(&draft);
    assert!(draft.status.success(), "{stdout}\n{stderr}");
    assert!(
        stdout.contains("  patients from=2026-01-13 to=2026-01-13: 2 contacts (nl 1, fr 1)\n"),
        "{stdout}"
    );
    // P1's SMS names three appointments and ends with the update's reference ("Ref.
    // AZT-YYYYMMDD-XXXX"): 309 characters, more than two parts hold (2 × 153). P2's, with one
    // appointment, takes two.
    assert!(
        stdout.contains("  [nl] 1 SMS: 1 of 3 parts = 3 parts; longest: P1 (3 parts, GSM-7)\n"),
        "{stdout}"
    );
    assert!(
        stdout.contains("  [fr] 1 SMS: 1 of 2 parts = 2 parts;"),
        "{stdout}"
    );
    assert!(
        stdout.contains("  total: 2 SMS, 5 parts to pay for"),
        "{stdout}"
    );

    for key in ["P1", "p1@example.be", "0471 12 34 50", "+32471123450", "1"] {
        let preview = tocsin(
            dir.path(),
            &[
                "update",
                "preview",
                "1",
                "--contact",
                key,
                "--channel",
                "sms",
            ],
        );
        let (stdout, stderr) = text(&preview);
        assert!(preview.status.success(), "{key}: {stderr}");
        assert!(
            stdout.starts_with("=== sms to +32471123450 (contact 1, P1), Patiënt1 Test, nl\n"),
            "{key}: {stdout}"
        );
    }
    let unknown = tocsin(dir.path(), &["update", "preview", "1", "--contact", "P9"]);
    assert!(!unknown.status.success());
    assert!(
        text(&unknown).1.contains("no contact \"P9\""),
        "{:?}",
        text(&unknown)
    );
    let french = tocsin(dir.path(), &["update", "preview", "1", "--language", "fr"]);
    let (stdout, stderr) = text(&french);
    assert!(french.status.success(), "{stderr}");
    assert!(
        stdout.starts_with("=== sms to +32471123451 (contact 2, P2)"),
        "{stdout}"
    );
    assert!(stdout.contains("est annulé."), "{stdout}");
    let english = tocsin(dir.path(), &["update", "preview", "1", "--language", "en"]);
    assert!(!english.status.success());
    assert!(
        text(&english)
            .1
            .contains("no contact of update 1's audiences reads en"),
        "{:?}",
        text(&english)
    );

    let status = tocsin(dir.path(), &["status", "1"]);
    let (stdout, _) = text(&status);
    assert!(
        stdout.starts_with(
            "Update 1 is a draft: nothing is planned or sent.\nNext: tocsin update preview 1"
        ),
        "{stdout}"
    );
    assert!(!stdout.contains("0 deliveries"), "{stdout}");
    assert!(tocsin(
        dir.path(),
        &["update", "approve", "1", "--by", "Dr. Jan Claes"]
    )
    .status
    .success());
    let (stdout, _) = text(&tocsin(dir.path(), &["status", "1"]));
    assert!(
        stdout.starts_with("Update 1 is approved but not sent: nothing is planned yet.\nNext: tocsin update send 1"),
        "{stdout}"
    );
    let send = tocsin(dir.path(), &["update", "send", "1"]);
    let (stdout, stderr) = text(&send);
    assert!(send.status.success(), "{stderr}");
    assert!(stdout.contains("Planned 2 deliveries"), "{stdout}");
    assert!(
        stdout.contains("Update 1 was sent: 2 deliveries"),
        "{stdout}"
    );
}

#[test]
fn output_into_a_closed_pipe_ends_quietly() {
    let dir = tempfile::tempdir().expect("temp dir");
    configure(dir.path(), "");
    with_database(dir.path());
    std::fs::write(
        dir.path().join("alert.toml"),
        include_str!("../../examples/01-first-alert.toml"),
    )
    .expect("write");
    assert!(tocsin(dir.path(), &["update", "draft", "alert.toml"])
        .status
        .success());
    for args in [
        &["update", "list"][..],
        &["audience", "show", "media"],
        &["--help"],
    ] {
        // `tocsin … | head -0`: the reader is gone before the first line.
        let (reader, writer) = std::io::pipe().expect("pipe");
        drop(reader);
        let out = tocsin_command()
            .current_dir(dir.path())
            .args(args)
            .stdout(writer)
            .output()
            .expect("run tocsin");
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(out.status.success(), "{args:?}: {:?} {stderr}", out.status);
        assert!(stderr.is_empty(), "{args:?}: {stderr}");
    }
}

#[test]
fn a_user_error_is_one_line_without_a_backtrace_and_says_each_thing_once() {
    let dir = tempfile::tempdir().expect("temp dir");
    std::fs::write(dir.path().join("binary.csv"), b"patient_id\0\x01\x02").expect("write");
    let out = tocsin_command()
        .current_dir(dir.path())
        .args(["import", "appointments", "binary.csv"])
        .env("RUST_BACKTRACE", "1")
        .output()
        .expect("run tocsin");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success());
    assert_eq!(stderr.lines().count(), 1, "{stderr}");
    assert!(stderr.starts_with("error: binary.csv: "), "{stderr}");
    assert_eq!(
        stderr.matches("nothing was imported").count(),
        1,
        "{stderr}"
    );
    assert_eq!(stderr.matches("not a text file").count(), 1, "{stderr}");
}

#[test]
fn a_missing_database_is_refused_by_name_and_not_created() {
    let dir = tempfile::tempdir().expect("temp dir");
    with_database(dir.path());
    for args in [
        &["--database", "sqlite://tocsn.db", "status", "1"][..],
        &["--database", "sqlite://tocsn.db", "update", "list"],
        &["--database", "sqlite://tocsn.db", "serve"],
    ] {
        let out = tocsin(dir.path(), args);
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(!out.status.success(), "{args:?}");
        assert!(
            stderr.contains("sqlite://tocsn.db") && stderr.contains("does not exist"),
            "{args:?}: {stderr}"
        );
        assert!(!dir.path().join("tocsn.db").exists(), "{args:?} created it");
    }
    // Any other database error names the database too.
    let out = tocsin(dir.path(), &["status", "7"]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success());
    assert!(
        stderr.contains("sqlite://tocsin.db") && stderr.contains("update 7 not found"),
        "{stderr}"
    );
}

#[test]
fn the_demo_refuses_a_directory_it_did_not_make_and_clears_its_own() {
    let dir = tempfile::tempdir().expect("temp dir");
    with_database(dir.path());
    let before = std::fs::read(dir.path().join("tocsin.db")).expect("database");
    let out = tocsin(dir.path(), &["demo", "--dir", ".", "--patients", "20"]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success(), "the demo ran in a real directory");
    assert!(stderr.contains("not a directory the demo made"), "{stderr}");
    assert_eq!(
        std::fs::read(dir.path().join("tocsin.db")).expect("database"),
        before,
        "the real database is untouched"
    );
    for _ in 0..2 {
        let out = tocsin(dir.path(), &["demo", "--dir", "demo", "--patients", "20"]);
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
    let list = tocsin(
        dir.path(),
        &["--database", "sqlite://demo/tocsin.db", "update", "list"],
    );
    assert_eq!(
        String::from_utf8_lossy(&list.stdout).lines().count(),
        1,
        "the second run started afresh"
    );
}

#[test]
fn serve_names_the_address_it_cannot_listen_on_and_does_not_say_it_listens() {
    let dir = tempfile::tempdir().expect("temp dir");
    with_database(dir.path());
    let taken = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    let address = taken.local_addr().expect("address").to_string();
    std::fs::write(
        dir.path().join("tocsin.toml"),
        format!(
            "{}\n[email]\nfrom = \"{}\"\n[serve]\nbind = \"{address}\"\n",
            crate::support::HOSPITAL_TOML,
            crate::support::EMAIL_FROM
        ),
    )
    .expect("config");
    let out = tocsin(dir.path(), &["serve"]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success());
    assert!(stderr.contains(&address), "{stderr}");
    assert!(!stderr.contains("Receiving"), "{stderr}");
    assert_eq!(stderr.lines().count(), 1, "{stderr}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_hospitals_own_wording_is_used_without_a_rebuild_and_a_broken_one_stops_each_command_naming_its_file(
) {
    let dir = tempfile::tempdir().expect("temp dir");
    let _database = patients_with_appointments(dir.path()).await;
    let config = std::fs::read_to_string(dir.path().join("tocsin.toml")).expect("config");
    std::fs::write(
        dir.path().join("tocsin.toml"),
        format!(
            "templates_dir = \"wording/templates\"\nlocales_dir = \"wording/locales\"\n{config}"
        ),
    )
    .expect("write");
    let wording = dir.path().join("wording");
    std::fs::create_dir_all(wording.join("templates/sms")).expect("mkdir");
    std::fs::create_dir_all(wording.join("locales/nl")).expect("mkdir");
    std::fs::write(
        wording.join("locales/nl/messages.ftl"),
        include_str!("../../locales/nl/messages.ftl").replace(
            "sms-what-to-do-cancelled = Kom niet naar het ziekenhuis.",
            "sms-what-to-do-cancelled = Blijf thuis.",
        ),
    )
    .expect("write");
    std::fs::write(
        dir.path().join("short.toml"),
        sms_update("Door een cyberaanval gaat uw afspraak niet door."),
    )
    .expect("write");
    let draft = tocsin(dir.path(), &["update", "draft", "short.toml"]);
    assert!(draft.status.success(), "{:?}", text(&draft));
    let preview = tocsin(dir.path(), &["update", "preview", "1", "--contact", "P1"]);
    let (stdout, stderr) = text(&preview);
    assert!(preview.status.success(), "{stderr}");
    assert!(
        stdout.contains("gaat niet door. Blijf thuis. Vragen? Bel +32 3 555 12 12"),
        "{stdout}"
    );
    let check = tocsin(dir.path(), &["check"]);
    let (stdout, _) = text(&check);
    assert!(
        stdout.contains("Templates and phrases: the built-in ones, except these")
            && stdout.contains("wording/locales/nl/messages.ftl"),
        "{stdout}"
    );

    std::fs::write(
        wording.join("templates/sms/patients.txt.tera"),
        "{{ phrases.sms_sender }} {{ update.sms }} {{ appointment.line }}",
    )
    .expect("write");
    for args in [
        &["update", "preview", "1", "--contact", "P1"][..],
        &["update", "approve", "1", "--by", "Dr. Jan Claes"],
        &["status", "1"],
    ] {
        let out = tocsin(dir.path(), args);
        let (_, stderr) = text(&out);
        assert!(!out.status.success(), "{args:?} ran with a broken template");
        assert!(
            stderr.contains("wording/templates/sms/patients.txt.tera")
                && stderr.contains("appointment"),
            "{args:?}: {stderr}"
        );
    }
    let check = tocsin(dir.path(), &["check"]);
    let (stdout, _) = text(&check);
    assert!(
        stdout.contains("templates and phrases: template sms/patients.txt.tera"),
        "{stdout}"
    );
}

/// A website written without `https://` is a mistake in the press room's address, which every
/// message links to: what renders a message refuses, naming the key, while imports and the
/// status still work — the call centre is not stopped by a typo in a link.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_website_without_its_scheme_refuses_what_renders_messages_and_nothing_else() {
    let dir = tempfile::tempdir().expect("temp dir");
    std::fs::write(
        dir.path().join("tocsin.toml"),
        format!(
            "{}\n[email]\nfrom = \"{EMAIL_FROM}\"\n",
            HOSPITAL_TOML.replace("https://crisis.azt-testwijk.be", "crisis.azt-testwijk.be")
        ),
    )
    .expect("write tocsin.toml");
    with_database(dir.path());
    std::fs::write(
        dir.path().join("update.toml"),
        include_str!("../../examples/01-first-alert.toml"),
    )
    .expect("write");
    let (stdout, stderr) = text(&tocsin(dir.path(), &["update", "draft", "update.toml"]));
    assert!(
        stderr.contains("refusing to draft an update: [hospital] website (the press room's address while [press] public_url is unset) \"crisis.azt-testwijk.be\" is not an absolute URL"),
        "{stdout}{stderr}"
    );
    let listed = tocsin(dir.path(), &["update", "list"]);
    assert!(listed.status.success(), "{:?}", text(&listed));
    let exported = tocsin(dir.path(), &["press", "export", "site"]);
    assert!(!exported.status.success());
    assert!(!dir.path().join("site").exists(), "nothing exported");
}

/// The number of the last file of `migrations/{backend}/`.
fn last_migration(backend: &str) -> u32 {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("migrations")
        .join(backend);
    std::fs::read_dir(dir)
        .expect("migrations")
        .filter_map(|entry| {
            let name = entry.ok()?.file_name();
            name.to_str()?.split('_').next()?.parse().ok()
        })
        .max()
        .expect("a migration")
}

#[test]
fn migrate_refuses_a_missing_file_and_says_the_version_of_one_that_exists() {
    let dir = tempfile::tempdir().expect("temp dir");
    let out = tocsin(dir.path(), &["migrate"]);
    let (_, stderr) = text(&out);
    assert!(!out.status.success(), "a missing file is refused");
    assert!(stderr.contains("there is no database"), "{stderr}");
    assert!(!dir.path().join("tocsin.db").exists(), "nothing created");

    with_database(dir.path());
    let out = tocsin(dir.path(), &["migrate"]);
    let (stdout, stderr) = text(&out);
    assert!(out.status.success(), "{stderr}");
    let last = last_migration("sqlite");
    assert!(
        stdout.contains(&format!("version {last} (")),
        "the last migration, {last}: {stdout}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn migrate_brings_a_postgresql_schema_up_to_date() {
    let Some(schema) = crate::support::postgres::Schema::fresh().await else {
        return;
    };
    let dir = tempfile::tempdir().expect("temp dir");
    let out = tocsin(dir.path(), &["--database", &schema.url, "migrate"]);
    let (stdout, stderr) = text(&out);
    assert!(out.status.success(), "{stderr}");
    let last = last_migration("postgres");
    assert!(stdout.contains(&format!("version {last} (")), "{stdout}");
    let again = tocsin(dir.path(), &["--database", &schema.url, "migrate"]);
    assert_eq!(text(&again).0, stdout, "nothing more to do");
}
