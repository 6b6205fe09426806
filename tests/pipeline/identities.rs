//! Two people are never merged because two numbers look alike: identities are (kind, system,
//! value); a record that matches a known contact but is another person is a conflict for a
//! person to decide; only real GPs are GPs, and a GP is written to in their patients' language.

use crate::support::TestApp;
use std::path::PathBuf;
use std::str::FromStr;
use tocsin::app::{ImportKind, Sample};
use tocsin::domain::{
    AppointmentStatus, ChannelKind, Identity, Language, NewAppointment, NewContact, Role, Selection,
};
use tocsin::spreadsheet::Separator;
use tocsin::store::{ConflictState, StoreError};

const HEADER: &str = "patient_id;last_name;first_name;birth_date;language;mobile;email;\
                      appointment_id;start;campus;department;gp_riziv;gp_name\n";

impl TestApp {
    fn file(&self, name: &str, text: &str) -> PathBuf {
        let path = self.dir.path().join(name);
        std::fs::write(&path, text).expect("write the export");
        path
    }

    async fn import_text(
        &self,
        kind: ImportKind,
        name: &str,
        text: &str,
    ) -> tocsin::app::ImportSummary {
        let file = self.file(name, text);
        self.app
            .import(kind, &file, None, Separator::default())
            .await
            .expect("import")
    }

    async fn contact(&self, key: &str) -> tocsin::domain::Contact {
        self.app
            .store
            .find_contact(key)
            .await
            .expect("lookup")
            .unwrap_or_else(|| panic!("no contact {key}"))
    }

    async fn count(&self, query: &str) -> i64 {
        crate::support::count(&self.app.config.database_url, query).await
    }

    /// Every row an import writes about people, as text, for "nothing changed".
    async fn people(&self) -> String {
        crate::support::dump(
            &self.app.config.database_url,
            &[
                "SELECT id, external_id, role, first_name, last_name, language, mobile, phone, \
                 email, birth_date, updated_at FROM contacts ORDER BY id",
                "SELECT kind || ':' || system || '|' || value || '>' || contact_id \
                 FROM contact_identities ORDER BY 1",
                "SELECT external_id || ' ' || patient_id || ' ' || \
                 COALESCE(CAST(gp_id AS TEXT), '-') FROM appointments ORDER BY 1",
                "SELECT entity || ' ' || external_id || ' ' || field FROM import_changes \
                 ORDER BY id",
            ],
        )
        .await
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_patient_number_equal_to_a_riziv_number_stays_a_patient_beside_that_gp() {
    let gps = "riziv;naam;email;taal\n12345678004;Dr. An Wouters;an.wouters@example.be;nl\n";
    let patients = format!(
        "{HEADER}12345678004;Peeters;Jan;14/03/1958;nl;0471 12 34 56;jan.peeters@example.be;\
         A1;13/01/2026 09:30;Deurne;Cardiologie;;\n"
    );
    // In either order: the GP list after the patients, and the patients after the GP list.
    for gps_first in [true, false] {
        let test = TestApp::new(|_| {}).await;
        let imports = [
            (ImportKind::Gps, "gps.csv", gps),
            (ImportKind::Appointments, "afspraken.csv", patients.as_str()),
        ];
        let order: Vec<_> = if gps_first {
            imports.iter().collect()
        } else {
            imports.iter().rev().collect()
        };
        for (kind, name, text) in order {
            let summary = test.import_text(*kind, name, text).await;
            assert_eq!(summary.counts.contacts.new, 1, "{name}: {summary:?}");
            assert_eq!(summary.counts.conflicts, 0, "{name}");
        }
        assert_eq!(test.count("SELECT COUNT(*) FROM contacts").await, 2);

        let gp = test.contact("riziv:12345678004").await;
        assert_eq!(
            (gp.role, gp.full_name().as_str(), gp.email.as_deref()),
            (Role::Gp, "An Wouters", Some("an.wouters@example.be"))
        );
        let patient = test.contact("patient:12345678004").await;
        assert_eq!(
            (
                patient.role,
                patient.full_name().as_str(),
                patient.email.as_deref()
            ),
            (Role::Patient, "Jan Peeters", Some("jan.peeters@example.be"))
        );
        assert_ne!(gp.id, patient.id);
        // The bare id prefers this hospital's patient number (README: "Imports").
        assert_eq!(test.contact("12345678004").await.id, patient.id);
        let gps = test
            .app
            .store
            .recipients(&Selection::AllGps, 0, 100)
            .await
            .expect("all GPs");
        assert_eq!(gps.len(), 1);
        assert_eq!(gps[0].contact.id, gp.id);
    }
}

fn two_systems_bundle() -> String {
    let patient = |id: &str, system: &str, family: &str, given: &str, born: &str| {
        format!(
            r#"{{"fullUrl":"urn:uuid:{id}","resource":{{"resourceType":"Patient","id":"{id}",
              "identifier":[{{"system":"{system}","value":"123456"}}],
              "name":[{{"family":"{family}","given":["{given}"]}}],"birthDate":"{born}",
              "telecom":[{{"system":"email","value":"{id}@example.be"}}]}}}}"#
        )
    };
    let appointment = |id: &str, patient: &str| {
        format!(
            r#"{{"resource":{{"resourceType":"Appointment","id":"{id}","status":"booked",
              "start":"2026-01-13T09:30:00+01:00","serviceType":[{{"text":"Cardiologie"}}],
              "participant":[{{"actor":{{"reference":"urn:uuid:{patient}"}}}},
                             {{"actor":{{"display":"Deurne","type":"Location"}}}}]}}}}"#
        )
    };
    format!(
        r#"{{"resourceType":"Bundle","type":"collection","entry":[{},{},{},{}]}}"#,
        patient(
            "pat1",
            "urn:oid:0.1.2.3.4.5.6.7",
            "de Vries",
            "Pieter",
            "1971-09-30"
        ),
        patient(
            "pat2",
            "https://other.example.be/mrn",
            "Dubois",
            "Marie",
            "1992-11-05"
        ),
        appointment("a1", "pat1"),
        appointment("a2", "pat2"),
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_value_under_two_fhir_systems_is_two_patients_and_renames_no_csv_patient() {
    let test = TestApp::new(|_| {}).await;
    let csv = format!(
        "{HEADER}123456;Peeters;Jan;14/03/1958;nl;;jan.peeters@example.be;\
         A1;13/01/2026 09:30;Deurne;Cardiologie;;\n"
    );
    test.import_text(ImportKind::Appointments, "afspraken.csv", &csv)
        .await;
    let summary = test
        .import_text(ImportKind::Fhir, "bundle.json", &two_systems_bundle())
        .await;
    assert_eq!(summary.counts.contacts.new, 2, "{summary:?}");
    assert_eq!(summary.counts.appointments.new, 2, "{summary:?}");
    assert_eq!(summary.counts.conflicts, 0);
    assert_eq!(test.count("SELECT COUNT(*) FROM contacts").await, 3);

    let pieter = test.contact("fhir:urn:oid:0.1.2.3.4.5.6.7|123456").await;
    let marie = test
        .contact("fhir:https://other.example.be/mrn|123456")
        .await;
    assert_eq!(pieter.full_name(), "Pieter de Vries");
    assert_eq!(marie.full_name(), "Marie Dubois");
    assert_eq!(
        test.contact("patient:123456").await.full_name(),
        "Jan Peeters",
        "the CSV patient is not renamed"
    );
    // Each FHIR patient has their own appointment.
    for (person, appointment) in [(&pieter, "a1"), (&marie, "a2")] {
        let recipient = test
            .app
            .store
            .recipient(person.id)
            .await
            .expect("recipient");
        let ids: Vec<&str> = recipient
            .appointments
            .iter()
            .map(|a| a.external_id.as_str())
            .collect();
        assert_eq!(ids, [format!("Appointment/{appointment}")]);
    }
    // The bare value: the patient number first; without one, the two FHIR patients are
    // ambiguous and the answer says how to name each.
    assert_eq!(test.contact("123456").await.full_name(), "Jan Peeters");
    let only_fhir = TestApp::new(|_| {}).await;
    only_fhir
        .import_text(ImportKind::Fhir, "bundle.json", &two_systems_bundle())
        .await;
    match only_fhir.app.store.find_contact("123456").await {
        Err(StoreError::Ambiguous(message)) => assert!(
            message.contains("fhir:urn:oid:0.1.2.3.4.5.6.7|123456")
                && message.contains("fhir:https://other.example.be/mrn|123456"),
            "{message}"
        ),
        other => panic!("expected an ambiguous id, got {other:?}"),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_record_with_a_known_id_but_another_name_and_birth_date_is_a_conflict_and_changes_nothing(
) {
    let test = TestApp::new(|_| {}).await;
    let first = format!(
        "{HEADER}P1;Peeters;Jan;14/03/1958;nl;0471 12 34 56;jan.peeters@example.be;\
         A1;13/01/2026 09:30;Deurne;Cardiologie;;\n\
         P2;Claes;An;01/02/1980;nl;;an.claes@example.be;A2;13/01/2026 10:00;Deurne;Cardiologie;;\n"
    );
    test.import_text(ImportKind::Appointments, "day1.csv", &first)
        .await;
    let before = test.people().await;

    // Another export reuses P1 for someone else, and gives P2 with another name and birth
    // date (which a person will find is a correction).
    let second = format!(
        "{HEADER}P1;Dubois;Marie;05/11/1992;fr;0472 98 76 54;marie.dubois@example.be;\
         A3;14/01/2026 11:00;Antwerpen;Dermatologie;;\n\
         P2;Claessens;Anne;02/01/1980;nl;;anne.claessens@example.be;\
         A4;14/01/2026 12:00;Deurne;Cardiologie;;\n"
    );
    let summary = test
        .import_text(ImportKind::Appointments, "day2.csv", &second)
        .await;
    assert_eq!(summary.counts.conflicts, 2, "{summary:?}");
    assert_eq!(
        (
            summary.counts.contacts.new,
            summary.counts.contacts.updated,
            summary.counts.appointments.new
        ),
        (0, 0, 0),
        "nothing merged, their appointments held: {summary:?}"
    );
    assert_eq!(test.people().await, before, "nothing was overwritten");
    let jan = test.contact("P1").await;
    assert_eq!(jan.email.as_deref(), Some("jan.peeters@example.be"));

    // The same file again: counted again, stored once.
    let again = test
        .import_text(ImportKind::Appointments, "day2.csv", &second)
        .await;
    assert_eq!(again.counts.conflicts, 2);
    let conflicts = test.app.import_conflicts(false).await.expect("conflicts");
    assert_eq!(conflicts.len(), 2, "{conflicts:#?}");
    let marie = &conflicts[0];
    assert_eq!(marie.identity, "patient:P1");
    assert_eq!(marie.contact.as_ref().map(|c| c.id), Some(jan.id));
    assert_eq!(marie.record.last_name, "Dubois");
    assert_eq!(
        marie.reason,
        "Marie Dubois, born 1992-11-05, is not Jan Peeters, born 1958-03-14"
    );
    assert_eq!(marie.appointments.len(), 1);
    assert_eq!(marie.appointments[0].external_id, "A3");
    assert!(marie.source.ends_with("day2.csv"));

    // Another person: rejected, nothing of it imported, and not asked again.
    test.app
        .decide_conflict(marie.id, false, "Els Peeters")
        .await
        .expect("reject");
    assert_eq!(test.people().await, before);
    test.import_text(ImportKind::Appointments, "day2.csv", &second)
        .await;
    let open = test.app.import_conflicts(false).await.expect("conflicts");
    assert_eq!(open.len(), 1, "{open:#?}");
    let all = test.app.import_conflicts(true).await.expect("conflicts");
    assert_eq!(all[0].state, ConflictState::Rejected);
    assert_eq!(all[0].decided_by.as_deref(), Some("Els Peeters"));

    // The same person after all: accepted, merged as an import would, with its appointment.
    let anne = &open[0];
    assert_eq!(anne.identity, "patient:P2");
    let counts = test
        .app
        .decide_conflict(anne.id, true, "Els Peeters")
        .await
        .expect("accept");
    assert_eq!(
        (counts.contacts.updated, counts.appointments.new),
        (1, 1),
        "{counts:?}"
    );
    let p2 = test.contact("P2").await;
    assert_eq!(p2.full_name(), "Anne Claessens");
    assert_eq!(p2.email.as_deref(), Some("anne.claessens@example.be"));
    let recipient = test.app.store.recipient(p2.id).await.expect("recipient");
    assert_eq!(recipient.appointments.len(), 2);
    assert!(
        test.count(
            "SELECT COUNT(*) FROM import_changes WHERE external_id = 'P2' \
             AND field = 'last_name' AND source LIKE '%conflict%accepted by Els Peeters%'"
        )
        .await
            == 1
    );
    assert!(test
        .app
        .import_conflicts(false)
        .await
        .expect("conflicts")
        .is_empty());
    assert!(
        test.app.decide_conflict(anne.id, false, "x").await.is_err(),
        "a decided conflict stays decided"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_new_name_with_the_same_birth_date_is_the_same_person() {
    let test = TestApp::new(|_| {}).await;
    let row = |last: &str| {
        format!(
            "{HEADER}P1;{last};An;01/02/1980;nl;;an@example.be;A1;13/01/2026 09:30;Deurne;\
             Cardiologie;;\n"
        )
    };
    test.import_text(ImportKind::Appointments, "a.csv", &row("Claes"))
        .await;
    let summary = test
        .import_text(ImportKind::Appointments, "b.csv", &row("Peeters"))
        .await;
    assert_eq!(
        (summary.counts.contacts.updated, summary.counts.conflicts),
        (1, 0)
    );
    assert_eq!(test.contact("P1").await.last_name, "Peeters");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_people_under_one_id_in_one_file_are_reported_never_a_database_error() {
    let test = TestApp::new(|_| {}).await;
    // In a CSV: the later row is rejected, naming the field.
    let csv = format!(
        "{HEADER}P1;Peeters;Jan;14/03/1958;nl;;;A1;13/01/2026 09:30;Deurne;Cardiologie;;\n\
         P1;Dubois;Marie;05/11/1992;fr;;;A2;13/01/2026 10:30;Deurne;Cardiologie;;\n"
    );
    let summary = test
        .import_text(ImportKind::Appointments, "twice.csv", &csv)
        .await;
    assert_eq!(
        (
            summary.counts.contacts.new,
            summary.counts.appointments.new,
            summary.rejected
        ),
        (1, 1, 1)
    );
    let rejects = std::fs::read_to_string(test.dir.path().join("twice.csv.rejects.csv"))
        .expect("rejects file");
    assert!(
        rejects.contains("patient_id") && rejects.contains("Marie Dubois, born 1992-11-05"),
        "{rejects}"
    );

    // Given to the store together (by a reader that did not notice): the second is a conflict.
    let person = |first: &str, born: (i32, u32, u32)| NewContact {
        external_id: "P7".into(),
        identities: vec![Identity::patient("P7")],
        role: Role::Patient,
        first_name: first.into(),
        last_name: "Test".into(),
        language: None,
        mobile: None,
        phone: None,
        email: None,
        telegram_chat_id: None,
        organisation: None,
        birth_date: chrono::NaiveDate::from_ymd_opt(born.0, born.1, born.2),
    };
    let appointment = NewAppointment {
        external_id: "A7".into(),
        patient: Identity::patient("P7"),
        gp: None,
        starts_at: chrono::DateTime::from_timestamp_millis(1_768_293_000_000).expect("valid"),
        campus: "Deurne".into(),
        department: "Cardiologie".into(),
        practitioner: None,
        status: AppointmentStatus::Booked,
    };
    let counts = test
        .app
        .store
        .import(
            &[person("Eva", (1950, 1, 1)), person("Tom", (2001, 6, 6))],
            &[appointment],
            "by hand",
            0,
        )
        .await
        .expect("no database error");
    assert_eq!((counts.contacts.new, counts.conflicts), (1, 1));
}

/// A GP the patients name, a GP by qualification, a Dutch pulmonologist whose UZI number
/// equals a known GP's RIZIV number, and a hospital specialist who performs an appointment.
const PRACTITIONERS: &str = r#"{"resourceType":"Bundle","type":"collection","entry":[
  {"fullUrl":"urn:uuid:gp1","resource":{"resourceType":"Practitioner","id":"gp1",
    "identifier":[{"system":"https://www.ehealth.fgov.be/standards/fhir/core/NamingSystem/nihdi","value":"1-98765-43-003"}],
    "name":[{"family":"Claes","given":["Sofie"]}],
    "telecom":[{"system":"email","value":"sofie.claes@example.be"}]}},
  {"fullUrl":"urn:uuid:gp2","resource":{"resourceType":"Practitioner","id":"gp2",
    "identifier":[{"system":"https://www.ehealth.fgov.be/standards/fhir/core/NamingSystem/nihdi","value":"19876543103"}],
    "name":[{"family":"Lambert","given":["Luc"]}],
    "qualification":[{"code":{"coding":[{"system":"http://snomed.info/sct","code":"62247001","display":"General practitioner"}]}}]}},
  {"fullUrl":"urn:uuid:f201","resource":{"resourceType":"Practitioner","id":"f201",
    "identifier":[{"use":"official","type":{"text":"UZI-nummer"},"system":"urn:oid:2.16.528.1.1007.3.1","value":"12345678901"}],
    "name":[{"family":"Bronsig","given":["Ton"]}],
    "qualification":[{"code":{"coding":[{"system":"http://snomed.info/sct","code":"41672002","display":"Pulmonologist"}]}}]}},
  {"fullUrl":"urn:uuid:s1","resource":{"resourceType":"Practitioner","id":"s1",
    "identifier":[{"system":"https://www.ehealth.fgov.be/standards/fhir/core/NamingSystem/nihdi","value":"14523698720"}],
    "name":[{"family":"Wouters","given":["Koen"]}]}},
  {"fullUrl":"urn:uuid:p1","resource":{"resourceType":"Patient","id":"p1",
    "identifier":[{"system":"https://zna.example.be/mrn","value":"P1"}],
    "name":[{"family":"Peeters","given":["Jan"]}],"birthDate":"1958-03-14",
    "generalPractitioner":[{"reference":"urn:uuid:gp1"}]}},
  {"resource":{"resourceType":"Appointment","id":"a1","status":"booked","start":"2026-01-13T09:30:00+01:00",
    "serviceType":[{"text":"Cardiologie"}],
    "participant":[{"actor":{"reference":"urn:uuid:p1"}},{"actor":{"reference":"urn:uuid:s1"}},
                   {"actor":{"display":"Deurne","type":"Location"}}]}}
]}"#;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn specialists_from_a_fhir_bundle_are_not_gps_and_rename_no_gp() {
    let test = TestApp::new(|_| {}).await;
    test.import_text(
        ImportKind::Gps,
        "gps.csv",
        "riziv;naam;email\n12345678901;Dr. An Wouters;an.wouters@example.be\n",
    )
    .await;
    let summary = test
        .import_text(ImportKind::Fhir, "bundle.json", PRACTITIONERS)
        .await;
    let mut gps: Vec<String> = test
        .app
        .store
        .recipients(&Selection::AllGps, 0, 100)
        .await
        .expect("all GPs")
        .into_iter()
        .map(|gp| gp.contact.full_name())
        .collect();
    gps.sort();
    assert_eq!(gps, ["An Wouters", "Luc Lambert", "Sofie Claes"]);
    assert_eq!(
        test.contact("riziv:12345678901").await.email.as_deref(),
        Some("an.wouters@example.be")
    );
    for line in [2, 3] {
        assert!(
            summary
                .notices
                .iter()
                .any(|notice| notice.line == line && notice.message.starts_with("not a GP")),
            "entry {line}: {:#?}",
            summary.notices
        );
    }
    // The specialist is still named on the appointment he performs.
    let patient = test.contact("fhir:https://zna.example.be/mrn|P1").await;
    let recipient = test
        .app
        .store
        .recipient(patient.id)
        .await
        .expect("recipient");
    assert_eq!(
        recipient.appointments[0].practitioner.as_deref(),
        Some("Koen Wouters")
    );
}

const GP_ALERT: &str = r#"incident = "cyberattack-2026-01"
kind = "alert"
author = "Els Peeters"
audiences = ["patients from=2026-01-13 to=2026-01-14", "gps-of-affected"]
channels = ["email"]

[nl]
title = "Cyberaanval"
body = "Geen raadplegingen."
sms = "Geen raadplegingen."

[fr]
title = "Cyberattaque"
body = "Pas de consultations."
sms = "Pas de consultations."

[en]
title = "Cyberattack"
body = "No consultations."
sms = "No consultations."
"#;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_gp_whose_patients_read_french_is_written_to_in_french() {
    let test = TestApp::new(|_| {}).await;
    // Deurne is a Dutch-speaking campus; the appointments export gives no GP language.
    let csv = format!(
        "{HEADER}P1;Dubois;Marie;05/11/1992;fr;;marie@example.be;A1;13/01/2026 09:30;Deurne;\
         Cardiologie;12345678004;Dr. Luc Lambert\n\
         P2;Lefèvre;François;;Français;;francois@example.be;A2;13/01/2026 10:00;Deurne;\
         Cardiologie;12345678004;Dr. Luc Lambert\n\
         P3;Peeters;Jan;;nl;;jan@example.be;A3;13/01/2026 10:30;Deurne;Cardiologie;\
         12345678004;Dr. Luc Lambert\n\
         P4;Janssens;Els;;nl;;els@example.be;A4;13/01/2026 11:00;Deurne;Cardiologie;\
         12345678905;Dr. Sofie Claes\n"
    );
    test.import_text(ImportKind::Appointments, "afspraken.csv", &csv)
        .await;
    // A GP list that gives no language either.
    test.import_text(
        ImportKind::Gps,
        "gps.csv",
        "riziv;naam;email\n12345678004;Dr. Luc Lambert;luc.lambert@example.be\n",
    )
    .await;
    test.app
        .store
        .import(
            &[NewContact {
                external_id: "12345678905".into(),
                identities: vec![Identity::riziv("12345678905")],
                role: Role::Gp,
                first_name: "Sofie".into(),
                last_name: "Claes".into(),
                language: None,
                mobile: None,
                phone: None,
                email: Some("sofie.claes@example.be".into()),
                telegram_chat_id: None,
                organisation: None,
                birth_date: None,
            }],
            &[],
            "gps.csv",
            0,
        )
        .await
        .expect("GP list");
    let id = test.approved_update(GP_ALERT).await;

    let lambert = test
        .app
        .preview(
            id,
            Sample::Contact("riziv:12345678004"),
            Some(ChannelKind::Email),
        )
        .await
        .expect("preview");
    assert_eq!(lambert.len(), 1, "{lambert:#?}");
    assert_eq!(lambert[0].language, Language::Fr);
    assert!(
        lambert[0].content.body.contains("Pas de consultations."),
        "{}",
        lambert[0].content.body
    );
    // A GP with one Dutch-speaking patient reads Dutch.
    let claes = test
        .app
        .preview(
            id,
            Sample::Contact("riziv:12345678905"),
            Some(ChannelKind::Email),
        )
        .await
        .expect("preview");
    assert_eq!(claes[0].language, Language::Nl);

    // The GP list's language wins over the patients'.
    test.import_text(
        ImportKind::Gps,
        "gps.csv",
        "riziv;naam;taal\n12345678004;Dr. Luc Lambert;nl\n",
    )
    .await;
    let lambert = test
        .app
        .preview(
            id,
            Sample::Contact("riziv:12345678004"),
            Some(ChannelKind::Email),
        )
        .await
        .expect("preview");
    assert_eq!(lambert[0].language, Language::Nl);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tocsin_import_conflicts_lists_them_and_decides_one() {
    let dir = tempfile::tempdir().expect("temp dir");
    let tocsin = |args: &[&str]| {
        let out = crate::support::tocsin_command()
            .current_dir(dir.path())
            .args(args)
            .output()
            .expect("run tocsin");
        (
            out.status.success(),
            String::from_utf8_lossy(&out.stdout).into_owned()
                + &String::from_utf8_lossy(&out.stderr),
        )
    };
    let row = |last: &str, first: &str, born: &str, appointment: &str| {
        format!(
            "{HEADER}P1;{last};{first};{born};nl;;;{appointment};13/01/2026 09:30;Deurne;\
             Cardiologie;;\n"
        )
    };
    std::fs::write(
        dir.path().join("a.csv"),
        row("Peeters", "Jan", "14/03/1958", "A1"),
    )
    .expect("write");
    std::fs::write(
        dir.path().join("b.csv"),
        row("Dubois", "Marie", "05/11/1992", "A2"),
    )
    .expect("write");
    assert!(tocsin(&["import", "appointments", "a.csv"]).0);
    let (ok, out) = tocsin(&["import", "appointments", "b.csv"]);
    assert!(ok, "{out}");
    assert!(
        out.contains("conflicts:    1 not merged") && out.contains("tocsin import conflicts"),
        "{out}"
    );
    let (ok, out) = tocsin(&["import", "conflicts"]);
    assert!(ok, "{out}");
    assert!(
        out.contains("#1 (open) patient:P1 — Marie Dubois, born 1992-11-05, is not Jan Peeters, born 1958-03-14")
            && out.contains("known:    #1 Jan Peeters (patient, born 1958-03-14, P1)")
            && out.contains("imported: Marie Dubois (patient, born 1992-11-05), 1 appointment held")
            && out.contains("--accept ID"),
        "{out}"
    );
    let (ok, out) = tocsin(&[
        "import",
        "conflicts",
        "--reject",
        "1",
        "--by",
        "Els Peeters",
    ]);
    assert!(ok && out.contains("Conflict 1 rejected"), "{out}");
    let (ok, out) = tocsin(&["import", "conflicts"]);
    assert!(ok && out.contains("No import conflict is open."), "{out}");
    let (ok, out) = tocsin(&["import", "conflicts", "--all"]);
    assert!(ok && out.contains("#1 (rejected by Els Peeters)"), "{out}");
    let (ok, out) = tocsin(&["import", "conflicts", "--accept", "1"]);
    assert!(
        !ok && out.contains("import conflict 1 is rejected already"),
        "{out}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_database_from_before_identities_keeps_each_id_in_the_namespace_of_its_role() {
    if !crate::support::only_on_sqlite("the migration of a SQLite database from before 0008") {
        return;
    }
    let dir = tempfile::tempdir().expect("temp dir");
    let old = dir.path().join("migrations");
    std::fs::create_dir(&old).expect("mkdir");
    let migrations = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("migrations/sqlite");
    for entry in std::fs::read_dir(&migrations).expect("migrations") {
        let path = entry.expect("entry").path();
        let name = path
            .file_name()
            .expect("name")
            .to_string_lossy()
            .into_owned();
        if name.as_str() < "0008" {
            std::fs::copy(&path, old.join(&name)).expect("copy");
        }
    }
    let database = crate::support::TestDatabase::file(dir.path(), "tocsin");
    let options = sqlx::sqlite::SqliteConnectOptions::from_str(&database.url)
        .expect("url")
        .create_if_missing(true)
        .foreign_keys(true);
    let pool = sqlx::SqlitePool::connect_with(options).await.expect("open");
    sqlx::migrate::Migrator::new(old.as_path())
        .await
        .expect("migrations up to 0007")
        .run(&pool)
        .await
        .expect("migrate");
    // The same id for a patient and a GP was impossible then; each role's own id is kept.
    sqlx::query(
        "INSERT INTO contacts (id, external_id, role, first_name, last_name, birth_date, email, \
         created_at, updated_at) VALUES \
         (1, 'P1', 'patient', 'Jan', 'Peeters', '1958-03-14', 'jan@example.be', 0, 0), \
         (2, '12345678004', 'gp', 'An', 'Wouters', NULL, 'an@example.be', 0, 0), \
         (3, 'M001', 'journalist', 'Eva', 'Pers', NULL, 'eva@example.be', 0, 0); \
         INSERT INTO appointments (external_id, patient_id, gp_id, starts_at, campus, department, \
         status) VALUES ('A1', 1, 2, 1768293000000, 'Deurne', 'Cardiologie', 'booked'); \
         INSERT INTO contact_optouts (contact_id, channel, created_at) VALUES (1, 'sms', 0);",
    )
    .execute(&pool)
    .await
    .expect("old rows");
    pool.close().await;

    let app = tocsin::app::App::open(database.config_in(dir.path()))
        .await
        .expect("migrates");
    let test = TestApp {
        app,
        dir,
        _database: database,
    };
    assert_eq!(test.contact("patient:P1").await.id, 1);
    assert_eq!(test.contact("riziv:12345678004").await.id, 2);
    assert_eq!(test.contact("media:M001").await.id, 3);
    let patient = test.app.store.recipient(1).await.expect("recipient");
    assert_eq!(patient.contact.opted_out, [ChannelKind::Sms]);
    assert_eq!(patient.appointments[0].external_id, "A1");
    // The same patient again: merged, not a new contact.
    let summary = test
        .import_text(
            ImportKind::Appointments,
            "again.csv",
            &format!(
                "{HEADER}P1;Peeters;Jan;14/03/1958;nl;;;A2;14/01/2026 09:30;Deurne;Cardiologie;\
                 12345678004;Dr. An Wouters\n"
            ),
        )
        .await;
    assert_eq!(summary.counts.contacts.new, 0, "{summary:?}");
    assert_eq!(summary.counts.conflicts, 0);
    assert_eq!(test.count("SELECT COUNT(*) FROM contacts").await, 3);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_fhir_system_named_as_the_hospitals_patient_numbers_meets_the_csv_patients() {
    let test = TestApp::new(|config| {
        config.hospital.patient_number_systems = vec!["https://zna.example.be/mrn".into()];
    })
    .await;
    let csv = format!(
        "{HEADER}P1;Peeters;Jan;14/03/1958;nl;;jan@example.be;A0;12/01/2026 09:30;Deurne;\
         Cardiologie;;\n"
    );
    test.import_text(ImportKind::Appointments, "afspraken.csv", &csv)
        .await;
    // PRACTITIONERS has patient P1 under that system: the same Jan Peeters, with a new
    // appointment.
    let summary = test
        .import_text(ImportKind::Fhir, "bundle.json", PRACTITIONERS)
        .await;
    assert_eq!(summary.counts.conflicts, 0, "{summary:?}");
    assert_eq!(summary.counts.appointments.new, 1);
    let jan = test.contact("patient:P1").await;
    let recipient = test.app.store.recipient(jan.id).await.expect("recipient");
    assert_eq!(recipient.appointments.len(), 2);
    assert_eq!(
        test.count("SELECT COUNT(*) FROM contacts WHERE role = 'patient'")
            .await,
        1
    );
}
