use crate::support::TestApp;
use chrono::{DateTime, TimeZone, Utc};
use tocsin::domain::{
    AppointmentStatus, ChannelKind, DeliveryState, Identity, NewAppointment, NewContact, Role,
};

/// The namespace of a role's ids, as the CSV exports give them.
fn identity(role: Role, id: &str) -> Identity {
    match role {
        Role::Patient => Identity::patient(id),
        Role::Gp => Identity::riziv(id),
        _ => Identity::media(id),
    }
}

fn person(
    external_id: &str,
    role: Role,
    first: &str,
    last: &str,
    email: Option<&str>,
) -> NewContact {
    NewContact {
        external_id: external_id.into(),
        identities: vec![identity(role, external_id)],
        role,
        first_name: first.into(),
        last_name: last.into(),
        language: Some("nl".into()),
        mobile: None,
        phone: None,
        email: email.map(str::to_string),
        telegram_chat_id: None,
        organisation: None,
        birth_date: chrono::NaiveDate::from_ymd_opt(1960, 5, 17),
    }
}

/// 09:00 in Brussels (08:00 UTC in January) on the given day.
fn at(day: u32) -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 1, day, 8, 0, 0)
        .single()
        .expect("valid")
}

fn booking(
    id: &str,
    patient: &str,
    gp: &str,
    day: u32,
    campus: &str,
    status: AppointmentStatus,
) -> NewAppointment {
    NewAppointment {
        external_id: id.into(),
        patient: Identity::patient(patient),
        gp: Some(Identity::riziv(gp)),
        starts_at: at(day),
        campus: campus.into(),
        department: "cardiology".into(),
        practitioner: None,
        status,
    }
}

const UPDATE: &str = r#"incident = "cyberattack-2026-01"
kind = "alert"
author = "Els Peeters"
audiences = ["patients from=2026-01-13 to=2026-01-14 campus=Deurne", "gps-of-affected"]
channels = ["email"]

[nl]
title = "Cyberaanval"
body = "Geen operaties."
sms = "Geen operaties."

[fr]
title = "Cyberattaque"
body = "Pas d'opérations."
sms = "Pas d'operations."

[en]
title = "Cyberattack"
body = "No operations."
sms = "No operations."
"#;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn patients_on_two_days_at_one_campus_and_their_gps_are_reached_each_gp_once_with_their_own_patients(
) {
    let test = TestApp::new(|_| {}).await;
    let contacts = vec![
        person("G1", Role::Gp, "Anna", "Huisarts", Some("g1@example.be")),
        person("G2", Role::Gp, "Bart", "Dokter", Some("g2@example.be")),
        person("G3", Role::Gp, "Carl", "Elders", Some("g3@example.be")),
        person(
            "P1",
            Role::Patient,
            "Jan",
            "Deurne13",
            Some("p1@example.be"),
        ),
        person(
            "P2",
            Role::Patient,
            "Els",
            "Deurne14",
            Some("p2@example.be"),
        ),
        person(
            "P3",
            Role::Patient,
            "Tom",
            "Deurne15",
            Some("p3@example.be"),
        ),
        person(
            "P4",
            Role::Patient,
            "Lies",
            "Antwerpen13",
            Some("p4@example.be"),
        ),
        person(
            "P5",
            Role::Patient,
            "Raf",
            "Cancelled13",
            Some("p5@example.be"),
        ),
        person(
            "P6",
            Role::Patient,
            "Mia",
            "Deurne13Twice",
            Some("p6@example.be"),
        ),
    ];
    use AppointmentStatus::{Booked, Cancelled};
    let appointments = vec![
        booking("A1", "P1", "G1", 13, "Deurne", Booked),
        booking("A2", "P2", "G2", 14, "Deurne", Booked),
        booking("A3", "P3", "G1", 15, "Deurne", Booked),
        booking("A4", "P4", "G3", 13, "Antwerpen", Booked),
        booking("A5", "P5", "G3", 13, "Deurne", Cancelled),
        booking("A6", "P6", "G1", 13, "deurne", Booked),
        booking("A7", "P6", "G1", 14, "Deurne", Booked),
    ];
    test.app
        .store
        .import(&contacts, &appointments, "test", 0)
        .await
        .expect("import");
    let id = test.approved_update(UPDATE).await;

    test.app.send(id, |_, _| {}).await.expect("send");

    let mut reached = Vec::new();
    let mut bodies = std::collections::HashMap::new();
    for key in ["G1", "G2", "G3", "P1", "P2", "P3", "P4", "P5", "P6"] {
        let contact = test
            .app
            .store
            .find_contact(key)
            .await
            .expect("query")
            .expect("contact");
        if let Some(delivery) = test
            .app
            .store
            .delivery(id, contact.id, ChannelKind::Email)
            .await
            .expect("query")
        {
            assert_eq!(delivery.state, DeliveryState::Sent, "{key}");
            reached.push(key);
            bodies.insert(key, delivery.content.body);
        }
    }
    assert_eq!(reached, ["G1", "G2", "P1", "P2", "P6"]);

    let g1 = &bodies["G1"];
    assert!(g1.contains("Deurne13 Jan (°17/05/1960)"), "{g1}");
    assert!(g1.contains("Deurne13Twice Mia"), "{g1}");
    assert!(
        !g1.contains("Deurne15"),
        "a patient outside the days is not listed: {g1}"
    );
    assert!(
        !g1.contains("Deurne14 Els"),
        "another GP's patient is not listed: {g1}"
    );
    assert_eq!(
        g1.matches("Deurne13Twice Mia").count(),
        2,
        "both of Mia's appointments: {g1}"
    );
    let g2 = &bodies["G2"];
    assert!(
        g2.contains("Deurne14 Els") && !g2.contains("Deurne13"),
        "{g2}"
    );
    let p6 = &bodies["P6"];
    assert!(
        p6.contains("dinsdag 13 januari 2026 om 9.00 uur")
            && p6.contains("woensdag 14 januari 2026 om 9.00 uur"),
        "{p6}"
    );
}

/// A GP whose patients are affected is also one of all GPs: planned once, by the first
/// audience that names them (the alert that lists their patients), and counted once.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_contact_in_two_audiences_is_planned_once_by_the_first_and_counted_once() {
    let test = TestApp::new(|_| {}).await;
    let contacts = vec![
        person("G1", Role::Gp, "Anna", "Huisarts", Some("g1@example.be")),
        person("G2", Role::Gp, "Bart", "Dokter", Some("g2@example.be")),
        person(
            "P1",
            Role::Patient,
            "Jan",
            "Deurne13",
            Some("p1@example.be"),
        ),
    ];
    let appointments = vec![booking(
        "A1",
        "P1",
        "G1",
        13,
        "Deurne",
        AppointmentStatus::Booked,
    )];
    test.app
        .store
        .import(&contacts, &appointments, "test", 0)
        .await
        .expect("import");
    let id = test
        .approved_update(
            &UPDATE.replace(r#""gps-of-affected"]"#, r#""gps-of-affected", "all-gps"]"#),
        )
        .await;

    let report = test.app.send(id, |_, _| {}).await.expect("send");

    assert_eq!(
        (
            report.plan.created,
            report.plan.pending,
            report.plan.skipped
        ),
        (3, 3, 0),
        "P1, G1 (affected, and one of all GPs) and G2: {report:?}"
    );
    let g1 = test
        .app
        .store
        .find_contact("G1")
        .await
        .expect("query")
        .expect("G1");
    let alert = test
        .app
        .store
        .delivery(id, g1.id, ChannelKind::Email)
        .await
        .expect("query")
        .expect("G1's delivery");
    assert!(
        alert.content.body.contains("Deurne13 Jan"),
        "G1 gets the alert that lists their patient: {}",
        alert.content.body
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_gp_alert_leaves_out_patient_names_when_the_hospital_says_so() {
    use tocsin::config::PatientField;
    let test = TestApp::new(|config| {
        config.gp_alert.patient_fields = vec![PatientField::Initials, PatientField::Appointment];
    })
    .await;
    let contacts = vec![
        person("G1", Role::Gp, "Anna", "Huisarts", Some("g1@example.be")),
        person("P1", Role::Patient, "Jan", "Peeters", Some("p1@example.be")),
    ];
    let appointments = vec![booking(
        "A1",
        "P1",
        "G1",
        13,
        "Deurne",
        AppointmentStatus::Booked,
    )];
    test.app
        .store
        .import(&contacts, &appointments, "test", 0)
        .await
        .expect("import");
    let id = test.approved_update(UPDATE).await;
    test.app.send(id, |_, _| {}).await.expect("send");
    let gp = test
        .app
        .store
        .find_contact("G1")
        .await
        .expect("query")
        .expect("gp");
    let body = test
        .app
        .store
        .delivery(id, gp.id, ChannelKind::Email)
        .await
        .expect("query")
        .expect("delivery")
        .content
        .body;
    assert!(
        body.contains("J.P. – dinsdag 13 januari 2026 om 9.00 uur"),
        "{body}"
    );
    assert!(
        !body.contains("Peeters") && !body.contains("1960"),
        "{body}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn importing_the_same_records_twice_changes_nothing_and_a_later_export_updates_what_changed()
{
    let test = TestApp::new(|_| {}).await;
    let mut contacts = vec![person(
        "P1",
        Role::Patient,
        "Jan",
        "Peeters",
        Some("p1@example.be"),
    )];
    let mut appointments = vec![booking(
        "A1",
        "P1",
        "G1",
        13,
        "Deurne",
        AppointmentStatus::Booked,
    )];
    contacts.push(person(
        "G1",
        Role::Gp,
        "Anna",
        "Huisarts",
        Some("g1@example.be"),
    ));
    let first = test
        .app
        .store
        .import(&contacts, &appointments, "export-1.csv", 0)
        .await
        .expect("import");
    assert_eq!((first.contacts.new, first.appointments.new), (2, 1));
    let again = test
        .app
        .store
        .import(&contacts, &appointments, "export-1.csv", 1)
        .await
        .expect("import");
    assert_eq!(
        (again.contacts.unchanged, again.appointments.unchanged),
        (2, 1)
    );
    assert_eq!(
        (
            again.contacts.new + again.contacts.updated,
            again.appointments.new + again.appointments.updated
        ),
        (0, 0)
    );

    contacts[0].mobile = Some("+32471123456".into());
    appointments[0].status = AppointmentStatus::Cancelled;
    let later = test
        .app
        .store
        .import(&contacts, &appointments, "export-2.csv", 2)
        .await
        .expect("import");
    assert_eq!((later.contacts.updated, later.contacts.unchanged), (1, 1));
    assert_eq!(later.appointments.updated, 1);
    let patient = test
        .app
        .store
        .find_contact("P1")
        .await
        .expect("query")
        .expect("patient");
    assert_eq!(patient.mobile.as_deref(), Some("+32471123456"));
    assert_eq!(
        patient.email.as_deref(),
        Some("p1@example.be"),
        "an absent field keeps its value"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_opted_out_channel_is_skipped_with_the_reason_and_the_policy_falls_back() {
    use tocsin::config::{ChannelPolicy, PolicyMode};
    let test = TestApp::new(|config| {
        config.policy.patients = ChannelPolicy {
            channels: vec![ChannelKind::Sms, ChannelKind::Email],
            mode: PolicyMode::First,
            fallback: None,
            fallback_after_minutes: 60,
        };
    })
    .await;
    let mut patient = person("P1", Role::Patient, "Jan", "Peeters", Some("p1@example.be"));
    patient.mobile = Some("+32471123456".into());
    let mut other = person("P2", Role::Patient, "Els", "Maes", Some("p2@example.be"));
    other.mobile = Some("+32471654321".into());
    let appointments = vec![
        booking("A1", "P1", "G1", 13, "Deurne", AppointmentStatus::Booked),
        booking("A2", "P2", "G1", 13, "Deurne", AppointmentStatus::Booked),
    ];
    let gp = person("G1", Role::Gp, "Anna", "Huisarts", None);
    test.app
        .store
        .import(&[patient, other, gp], &appointments, "test", 0)
        .await
        .expect("import");
    assert!(test
        .app
        .optout("P1", ChannelKind::Sms, true, Some("asked by phone"))
        .await
        .expect("opt out"));
    assert!(
        !test
            .app
            .optout("+32471123456", ChannelKind::Sms, true, None)
            .await
            .expect("again"),
        "already opted out"
    );
    let id = test
        .approved_update(
            &UPDATE.replace("channels = [\"email\"]", "channels = [\"sms\", \"email\"]"),
        )
        .await;

    test.app.send(id, |_, _| {}).await.expect("send");

    let p1 = test
        .app
        .store
        .find_contact("P1")
        .await
        .expect("query")
        .expect("p1");
    let sms = test
        .app
        .store
        .delivery(id, p1.id, ChannelKind::Sms)
        .await
        .expect("query")
        .expect("sms row");
    assert_eq!(sms.state, DeliveryState::Skipped);
    assert_eq!(sms.last_error.as_deref(), Some("opted out of sms"));
    let email = test
        .app
        .store
        .delivery(id, p1.id, ChannelKind::Email)
        .await
        .expect("query")
        .expect("fallback");
    assert_eq!(email.state, DeliveryState::Sent);
    let p2 = test
        .app
        .store
        .find_contact("P2")
        .await
        .expect("query")
        .expect("p2");
    assert!(
        test.app
            .store
            .delivery(id, p2.id, ChannelKind::Email)
            .await
            .expect("query")
            .is_none(),
        "mode first: SMS only"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn audience_show_counts_by_language_and_reachable_channel() {
    let test = TestApp::new(|_| {}).await;
    let mut french = person("P2", Role::Patient, "Luc", "Dubois", None);
    french.language = Some("Français".into());
    french.mobile = Some("+32471654321".into());
    let contacts = vec![
        person("P1", Role::Patient, "Jan", "Peeters", Some("p1@example.be")),
        french,
        person("P3", Role::Patient, "X", "Nobody", None),
        person("G1", Role::Gp, "Anna", "Huisarts", Some("g1@example.be")),
    ];
    let appointments = vec![
        booking("A1", "P1", "G1", 13, "Deurne", AppointmentStatus::Booked),
        booking("A2", "P2", "G1", 13, "Deurne", AppointmentStatus::Booked),
        booking("A3", "P3", "G1", 13, "Deurne", AppointmentStatus::Booked),
    ];
    test.app
        .store
        .import(&contacts, &appointments, "test", 0)
        .await
        .expect("import");
    let summaries = test
        .app
        .audience(&[
            "patients from=2026-01-13 to=2026-01-13".into(),
            "gps-of-affected".into(),
        ])
        .await
        .expect("audience");
    assert_eq!(summaries[0].contacts, 3);
    assert_eq!(
        summaries[0].by_language.get(&tocsin::domain::Language::Fr),
        Some(&1)
    );
    assert_eq!(summaries[0].reachable.get("email"), Some(&1));
    assert_eq!(summaries[0].reachable.get("mobile"), Some(&1));
    assert_eq!(summaries[0].reachable.get("none"), Some(&1));
    assert_eq!(summaries[1].contacts, 1);
}
