//! FHIR R4 exports: a JSON Bundle (collection, searchset, transaction, …), a single resource,
//! or NDJSON (one resource per line, as a bulk export writes it). Patients become patient
//! contacts, general practitioners GP contacts, and appointments bookings.
//!
//! References are resolved inside the file only: by `fullUrl` (`urn:uuid:…` or an absolute
//! URL), by `Type/id`, by `#id` for contained resources, and by identifier for logical
//! references and a transaction's conditional ones (`Patient?identifier=system|value`). A
//! bulk export writes one file per resource type: concatenate them (`cat Patient.ndjson
//! Practitioner.ndjson Appointment.ndjson`) so that an appointment finds its patient.
//!
//! Choices, where the export leaves room:
//! - Identities: every identifier of a Patient, Practitioner or Organization is one, under its
//!   own `system` (`fhir:SYSTEM|VALUE`): the same value under two systems is two people. A
//!   RIZIV/INAMI number (a system naming riziv, inami or nihdi; 11 digits, separators
//!   dropped) goes in the RIZIV namespace instead, where the CSV exports put GPs; a national
//!   number (SSIN/INSZ) is kept by its 11 digits. A resource without identifiers is known by
//!   `Type/<id>` (`fhir:|Patient/pat2`). Two resources of the file sharing an identity are
//!   one contact, unless they disagree on name and birth date (or role): the second is
//!   rejected (`identifier`).
//! - The external id people read is, for a patient, their hospital number (an identifier
//!   typed `MR`, or whose system says `mrn`), else their first other identifier; the national
//!   number only when it is the only identifier, so that it is not copied where a hospital
//!   number would do; else `Patient/<id>`. For a GP, the RIZIV/INAMI number, else the first
//!   identifier, else `Practitioner/<id>`.
//! - A `Practitioner` is a GP contact only when a patient names it as `generalPractitioner`,
//!   or when its `qualification` or one of its `PractitionerRole`s (code or specialty) says
//!   general practice (SNOMED 62247001 "General practitioner", 394814009 "General practice",
//!   408443003 "General medical practice", the Dutch Vektis specialism 0100 "Huisartsen", or a
//!   text like "general practitioner" / "huisarts" / "médecin généraliste" / "médecine
//!   générale"). Any other practitioner (a hospital specialist) is no contact, with a notice;
//!   one who performs an appointment is named on it. An `Organization` named as
//!   `generalPractitioner` (a group practice) becomes a GP contact under its own name.
//! - Language: the preferred `communication` entry if it is nl, fr or en, else the first entry
//!   that is, else the preferred (or first) one kept as written, with a notice. A patient who
//!   prefers German but reads French is written to in French rather than in the campus
//!   language.
//! - One rule with the CSV reader: a resource is rejected only when it cannot be what it
//!   stands for (a patient without an identifier or a name; an appointment without an
//!   identifier, a patient, a start, a department or a campus); a bad optional field is
//!   dropped, the rest kept, and the resource listed in the rejects file as "kept without
//!   FIELD" (`Reject::kept`). Lengths are limited as in [`super::fields`].
//! - Numbers are read in the country of the (home) address, Belgium when there is none. A
//!   number libphonenumber does not accept, or an invalid e-mail address, is dropped
//!   (`telecom.phone`, `telecom.email`) and the contact still imported: a patient without a
//!   reachable number is on the call-centre list. SMS-capable numbers go to `mobile`, others
//!   to `phone` (a fixed line marked `mobile` too, with a notice); the lowest `rank` wins a
//!   slot; `old` and ended numbers are skipped.
//! - A patient with no phone or e-mail of their own (a newborn) is reached through a
//!   `Patient.contact` who answers for them: a guardian (`GUARD`, "guardian", "voogd",
//!   "tuteur"), or a parent (`PRN`, `MTH`, `FTH` …, "mother", "ouder", "mère" …) while the
//!   patient is under 18, with a notice naming them. An emergency contact, an employer or the
//!   parent of an adult is not told of a patient's appointments.
//! - An animal patient (the `patient-animal` extension, or DSTU2's `animal`) and its
//!   appointments are skipped with a notice: counted as skipped, neither accepted nor
//!   rejected.
//! - A transaction's entries without a resource (DELETE, GET) are not run: each is a notice.
//!   An import never deletes.
//! - A reference that a record cannot stand without (an appointment's patient) rejects it when
//!   it does not resolve; one that only adds detail (GP, practitioner, location, organisation)
//!   falls back to its `display`, else to a notice.
//! - An appointment's department is the label (text, else display) of its `serviceType`, else
//!   `specialty`, `appointmentType`, `serviceCategory`; a bare code with a notice; none rejects
//!   it (`serviceType`). Its campus is the Location participant's site (the `partOf` ancestor
//!   whose physical type is `si`), else the location's own name, else its managing
//!   organisation's name, else the participant's display; none rejects it (`participant`).
//! - A status FHIR does not define, or none, is dropped and read as booked.
//! - A deceased patient (`deceasedBoolean` true, or a `deceasedDateTime`) is rejected
//!   (`deceased`), and so are their appointments: nobody is told a dead relative's
//!   appointment moved.
//! - A start without an offset is read as Brussels time, with a notice; a date without a time,
//!   or none (a proposed appointment), rejects the appointment (`start`).
//! - `Reject::line` and `Notice::line` are the 1-based line for NDJSON and a single resource,
//!   and the 0-based index in `entry` for a Bundle (`entry[3]` is line 3).

mod datatypes;
mod mapping;
mod reading;

use self::mapping::Import;
use self::reading::read;
use super::{ImportBatch, Unreadable};

/// Reads a FHIR export: a JSON Bundle (type collection, searchset or transaction; also a single
/// resource) or NDJSON (one resource per line).
pub fn parse(file: &str, bytes: &[u8]) -> Result<ImportBatch, Unreadable> {
    let unreadable = |reason: String| Unreadable {
        file: file.to_string(),
        reason,
    };
    let text = std::str::from_utf8(bytes).map_err(|error| {
        unreadable(format!(
            "not text (invalid UTF-8 at byte {}): a FHIR export is JSON or NDJSON",
            error.valid_up_to()
        ))
    })?;
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    let read = read(text).map_err(unreadable)?;
    let mut import = Import::new(text, &read.entries);
    import.batch.records = read.records;
    import.batch.rejects = read.rejects;
    import.batch.notices = read.notices;
    import.run();
    // The rejects file in the file's order, whichever pass found the problem.
    import.batch.rejects.sort_by_key(|reject| reject.line);
    Ok(import.batch)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::{AppointmentStatus, Identity, NewAppointment, NewContact, Role};
    use crate::import::testing::{appointment, contact, utc};
    use chrono::NaiveDate;

    const OFFICIAL: &[u8] = include_bytes!("../../../tests/fixtures/fhir/bundle-official.json");
    const BELGIAN: &[u8] = include_bytes!("../../../tests/fixtures/fhir/bundle-belgian.json");
    const NDJSON: &[u8] = include_bytes!("../../../tests/fixtures/fhir/export.ndjson");
    const PATIENT: &[u8] = include_bytes!("../../../tests/fixtures/fhir/Patient-example.json");
    const APPOINTMENT: &[u8] =
        include_bytes!("../../../tests/fixtures/fhir/Appointment-example.json");

    fn date(raw: &str) -> Option<NaiveDate> {
        Some(raw.parse().expect("a date"))
    }

    fn some(text: &str) -> Option<String> {
        Some(text.to_string())
    }

    #[test]
    fn the_official_hl7_examples_import_as_one_patient_one_gp_and_one_appointment() {
        let batch = parse("bundle-official.json", OFFICIAL).expect("readable");
        assert_eq!(batch.records, 7);
        assert_eq!(batch.contacts.len(), 2, "{:#?}", batch.contacts);

        // The example patient is Australian but its address names no country: its numbers
        // are read as Belgian, which they are not, so it is imported without them.
        assert_eq!(
            contact(&batch, "12345"),
            &NewContact {
                external_id: "12345".into(),
                identities: vec![Identity::fhir("urn:oid:1.2.36.146.595.217.0.1", "12345")],
                role: Role::Patient,
                first_name: "Peter James".into(),
                last_name: "Chalmers".into(),
                language: None,
                mobile: None,
                phone: None,
                email: None,
                telegram_chat_id: None,
                organisation: None,
                birth_date: date("1974-12-25"),
            }
        );
        // Dr Careful's PractitionerRole says "General medical practice": a GP, though he
        // also performs the appointment. His role adds its e-mail address.
        assert_eq!(
            contact(&batch, "23"),
            &NewContact {
                external_id: "23".into(),
                identities: vec![Identity::fhir("http://www.acme.org/practitioners", "23")],
                role: Role::Gp,
                first_name: "Adam".into(),
                last_name: "Careful".into(),
                language: None,
                mobile: None,
                phone: None,
                email: some("adam.southern@example.org"),
                telegram_chat_id: None,
                organisation: None,
                birth_date: None,
            }
        );

        assert_eq!(
            batch.appointments,
            vec![NewAppointment {
                external_id: "Appointment/example".into(),
                patient: Identity::fhir("urn:oid:1.2.36.146.595.217.0.1", "12345"),
                gp: None,
                starts_at: utc("2013-12-10T09:00:00Z"),
                campus: "South Wing, second floor".into(),
                department: "General Discussion".into(),
                practitioner: some("Dr Adam Careful"),
                status: AppointmentStatus::Booked,
            }]
        );

        // Australian numbers without an address country do not read as Belgian: the patient
        // and the practitioner's role are kept without them; the requested appointment has no
        // start yet.
        let rejects: Vec<(usize, bool, Option<&str>)> = batch
            .rejects
            .iter()
            .map(|reject| (reject.line, reject.kept, reject.field.as_deref()))
            .collect();
        assert_eq!(
            rejects,
            [
                (0, true, Some("telecom.phone")),
                (2, true, Some("telecom.phone")),
                (6, false, Some("start"))
            ],
            "{:#?}",
            batch.rejects
        );
        assert_eq!(
            batch.rejects[0].describe(),
            "kept without telecom.phone: \"(03) 5555 6473\" is not a valid number in BE (no \
             address country: read as Belgian); kept without telecom.phone: \"(03) 3410 5613\" \
             is not a valid number in BE (no address country: read as Belgian)"
        );
        assert!(
            batch.rejects[2].record.contains("\"examplereq\""),
            "{}",
            batch.rejects[2].record
        );
        assert_eq!((batch.rejected(), batch.kept_without_a_field()), (1, 2));

        let notices: Vec<(usize, &str)> = batch
            .notices
            .iter()
            .map(|notice| (notice.line, notice.field.as_str()))
            .collect();
        assert_eq!(notices, vec![(2, "organization")], "{:#?}", batch.notices);
        assert_eq!(
            batch.notices[0].message,
            "Organization/f001 is not in the file: imported without an organisation"
        );
    }

    const NOT_A_GP: &str = "not a GP (no patient names this practitioner as \
        generalPractitioner, and neither a qualification nor a PractitionerRole says general \
        practice): not imported as a contact";

    #[test]
    fn a_belgian_transaction_imports_languages_numbers_gps_and_campuses() {
        let batch = parse("bundle-belgian.json", BELGIAN).expect("readable");
        // Sixteen resources; the DELETE entry carries none.
        assert_eq!(batch.records, 16);

        const SSIN: &str = "https://www.ehealth.fgov.be/standards/fhir/core/NamingSystem/ssin";
        const NUM: &str = "https://ziekenhuis.example.be/fhir/NamingSystem/patient-number";
        const MRN: &str = "https://ziekenhuis.example.be/fhir/NamingSystem/mrn";
        let gp = "12345678901";
        let patients = [
            NewContact {
                external_id: "P100231".into(),
                identities: vec![
                    Identity::fhir(
                        "https://ziekenhuis.example.be/fhir/NamingSystem/patient-number",
                        "P100231",
                    ),
                    Identity::fhir(SSIN, "58031412345"),
                ],
                role: Role::Patient,
                first_name: "Jan".into(),
                last_name: "Peeters".into(),
                language: some("nl"),
                mobile: some("+32471123456"),
                phone: some("+3232177111"),
                email: some("jan.peeters@example.be"),
                telegram_chat_id: None,
                organisation: None,
                birth_date: date("1958-03-14"),
            },
            // The national number, only because it is her only identifier.
            NewContact {
                external_id: "92110520461".into(),
                identities: vec![Identity::fhir(SSIN, "92110520461")],
                role: Role::Patient,
                first_name: "Marie-Claire".into(),
                last_name: "Dubois".into(),
                language: some("fr"),
                mobile: None,
                phone: some("+3225551212"),
                email: None,
                telegram_chat_id: None,
                organisation: None,
                birth_date: date("1992-11-05"),
            },
            NewContact {
                external_id: "P100233".into(),
                identities: vec![Identity::fhir(MRN, "P100233")],
                role: Role::Patient,
                first_name: "Pieter".into(),
                last_name: "de Vries".into(),
                language: some("nl"),
                mobile: some("+31612345678"),
                phone: None,
                email: None,
                telegram_chat_id: None,
                organisation: None,
                birth_date: date("1971-09-30"),
            },
            NewContact {
                external_id: "P100234".into(),
                identities: vec![Identity::fhir(MRN, "P100234")],
                role: Role::Patient,
                first_name: "Anna Maria".into(),
                last_name: "Janssens".into(),
                language: None,
                mobile: None,
                phone: None,
                email: None,
                telegram_chat_id: None,
                organisation: None,
                birth_date: date("1990-06-01"),
            },
        ];
        for patient in &patients {
            assert_eq!(contact(&batch, &patient.external_id), patient);
        }
        assert_eq!(
            contact(&batch, gp),
            &NewContact {
                external_id: gp.into(),
                identities: vec![Identity::riziv(gp)],
                role: Role::Gp,
                first_name: "Sofie".into(),
                last_name: "Claes".into(),
                language: some("nl"),
                mobile: None,
                phone: some("+3233124567"),
                email: some("sofie.claes@huisartsen-delinde.be"),
                telegram_chat_id: None,
                organisation: some("Huisartsenpraktijk De Linde"),
                birth_date: None,
            }
        );
        // Dr Wouters performs an appointment and nothing says he is a GP: no contact.
        assert_eq!(batch.contacts.len(), 5, "{:#?}", batch.contacts);

        assert_eq!(
            batch.appointments,
            vec![
                NewAppointment {
                    external_id: "AFS-2026-0001".into(),
                    patient: Identity::fhir(NUM, "P100231"),
                    gp: Some(Identity::riziv(gp)),
                    starts_at: utc("2026-01-13T08:30:00Z"),
                    campus: "Deurne".into(),
                    department: "Cardiologie".into(),
                    practitioner: some("Dr. Koen Wouters"),
                    status: AppointmentStatus::Booked,
                },
                NewAppointment {
                    external_id: "AFS-2026-0002".into(),
                    patient: Identity::fhir(SSIN, "92110520461"),
                    gp: Some(Identity::riziv(gp)),
                    starts_at: utc("2026-01-14T13:00:00Z"),
                    campus: "Antwerpen".into(),
                    department: "Dermatologie".into(),
                    practitioner: None,
                    status: AppointmentStatus::Cancelled,
                },
                NewAppointment {
                    external_id: "AFS-2026-0003".into(),
                    patient: Identity::fhir(MRN, "P100233"),
                    gp: None,
                    starts_at: utc("2026-07-01T08:00:00Z"),
                    campus: "Deurne".into(),
                    department: "Orthopedie".into(),
                    practitioner: None,
                    status: AppointmentStatus::Booked,
                },
            ]
        );

        // An appointment without a campus cannot be told where; the patient stays a contact.
        assert!(batch.contacts.iter().any(|c| c.external_id == "P100234"));
        let rejects: Vec<(usize, Option<&str>, &str)> = batch
            .rejects
            .iter()
            .map(|r| (r.line, r.field.as_deref(), r.reason.as_str()))
            .collect();
        assert_eq!(
            rejects,
            [
                (
                    14,
                    Some("participant"),
                    "no Location to name the campus: the patient would not know where"
                ),
                (
                    15,
                    Some("participant"),
                    "the patient Patient/does-not-exist is not in the file"
                )
            ]
        );
        assert!(batch.rejects[1].record.contains("AFS-2026-0005"));

        // The transaction's DELETE is said, not done.
        let notices: Vec<(usize, &str, &str)> = batch
            .notices
            .iter()
            .map(|n| (n.line, n.field.as_str(), n.message.as_str()))
            .collect();
        assert_eq!(
            notices,
            vec![
                (
                    16,
                    "request",
                    "DELETE \"Appointment?identifier=AFS-2025-0999\": not done; an import adds and \
                     updates, it never deletes a contact or an appointment (cancel the appointment \
                     in the export instead)"
                ),
                (7, "qualification", NOT_A_GP),
            ]
        );
    }

    #[test]
    fn ndjson_of_a_few_resources_imports_and_a_broken_line_is_a_reject() {
        let batch = parse("export.ndjson", NDJSON).expect("readable");
        assert_eq!(batch.records, 5, "four resources and a broken line");
        assert_eq!(
            batch.contacts,
            vec![
                NewContact {
                    external_id: "P200001".into(),
                    identities: vec![Identity::fhir(
                        "https://ziekenhuis.example.be/fhir/NamingSystem/mrn",
                        "P200001",
                    )],
                    role: Role::Patient,
                    first_name: "Luc".into(),
                    last_name: "Lambert".into(),
                    // German is preferred but not written in; French is read.
                    language: some("fr"),
                    mobile: some("+32486554433"),
                    phone: None,
                    email: some("luc.lambert@example.be"),
                    telegram_chat_id: None,
                    organisation: None,
                    birth_date: None,
                },
                NewContact {
                    external_id: "P200002".into(),
                    identities: vec![Identity::fhir(
                        "https://ziekenhuis.example.be/fhir/NamingSystem/mrn",
                        "P200002",
                    )],
                    role: Role::Patient,
                    first_name: String::new(),
                    last_name: "Fatima El Amrani".into(),
                    language: some("ar"),
                    mobile: None,
                    phone: None,
                    email: None,
                    telegram_chat_id: None,
                    organisation: None,
                    birth_date: None,
                },
            ]
        );
        assert_eq!(
            batch.appointments,
            vec![NewAppointment {
                external_id: "Appointment/na1".into(),
                patient: Identity::fhir(
                    "https://ziekenhuis.example.be/fhir/NamingSystem/mrn",
                    "P200001"
                ),
                // By RIZIV number: a GP imported from another list.
                gp: Some(Identity::riziv("19876543210")),
                starts_at: utc("2026-02-02T12:45:00Z"),
                campus: "Dag-oncologie".into(),
                department: "Oncologie".into(),
                practitioner: None,
                status: AppointmentStatus::Booked,
            }]
        );
        assert_eq!(batch.rejects.len(), 2);
        let kept = &batch.rejects[0];
        assert_eq!(
            (kept.line, kept.kept, kept.field.as_deref()),
            (3, true, Some("telecom.phone"))
        );
        assert!(kept.record.contains("\"n2\""), "{}", kept.record);
        let reject = &batch.rejects[1];
        assert_eq!(reject.line, 6);
        assert_eq!(reject.field, None);
        assert!(
            reject
                .reason
                .starts_with("truncated JSON: EOF while parsing"),
            "{}",
            reject.reason
        );
        assert!(reject
            .record
            .starts_with("{\"resourceType\":\"Appointment\",\"id\":\"na2\""));
        let notices: Vec<(usize, &str)> = batch
            .notices
            .iter()
            .map(|n| (n.line, n.field.as_str()))
            .collect();
        assert_eq!(notices, vec![(3, "communication")]);
    }

    #[test]
    fn one_identifier_for_two_people_in_one_file_rejects_the_second_and_keeps_two_systems_apart() {
        let patient = |id: &str, system: &str, given: &str, born: &str| {
            format!(
                r#"{{"resourceType":"Patient","id":"{id}","identifier":[{{"system":"{system}",
                "value":"123456"}}],"name":[{{"family":"Test","given":["{given}"]}}],
                "birthDate":"{born}"}}"#
            )
        };
        let ndjson = [
            patient("a", "urn:oid:0.1.2.3.4.5.6.7", "Eva", "1950-01-01"),
            patient("b", "https://other.example.be/mrn", "Tom", "2001-06-06"),
            patient("c", "urn:oid:0.1.2.3.4.5.6.7", "Eva", "1950-01-01"),
            patient("d", "urn:oid:0.1.2.3.4.5.6.7", "Mia", "1999-09-09"),
        ]
        .map(|line| line.replace('\n', ""))
        .join("\n");
        let batch = parse("patients.ndjson", ndjson.as_bytes()).expect("readable");
        let names: Vec<(&str, &Identity)> = batch
            .contacts
            .iter()
            .map(|c| (c.first_name.as_str(), &c.identities[0]))
            .collect();
        assert_eq!(
            names,
            [
                ("Eva", &Identity::fhir("urn:oid:0.1.2.3.4.5.6.7", "123456")),
                (
                    "Tom",
                    &Identity::fhir("https://other.example.be/mrn", "123456")
                ),
            ],
            "the same value under two systems is two people; the same person twice is one"
        );
        assert_eq!(batch.rejects.len(), 1, "{:#?}", batch.rejects);
        let reject = &batch.rejects[0];
        assert_eq!(
            (reject.line, reject.field.as_deref()),
            (4, Some("identifier"))
        );
        assert_eq!(
            reject.reason,
            "fhir:urn:oid:0.1.2.3.4.5.6.7|123456 is already that of another record of this \
             file: Mia Test, born 1999-09-09, is not Eva Test, born 1950-01-01"
        );
    }

    #[test]
    fn a_single_resource_file_imports_that_resource() {
        let batch = parse("Patient-example.json", PATIENT).expect("readable");
        assert_eq!(batch.records, 1);
        assert_eq!(batch.contacts.len(), 1);
        assert_eq!(batch.contacts[0].external_id, "12345");
        assert!(batch.notices.iter().all(|notice| notice.line == 1));
    }

    #[test]
    fn an_appointment_without_its_patient_in_the_file_is_rejected() {
        let batch = parse("Appointment-example.json", APPOINTMENT).expect("readable");
        assert!(batch.appointments.is_empty());
        assert_eq!(batch.rejects.len(), 1);
        assert_eq!(batch.rejects[0].line, 1);
        assert_eq!(batch.rejects[0].field.as_deref(), Some("participant"));
        assert_eq!(
            batch.rejects[0].reason,
            "the patient Patient/example is not in the file"
        );
    }

    #[test]
    fn a_bad_email_drops_the_address_and_a_nameless_patient_is_rejected_with_their_booking() {
        let bundle = br#"{"resourceType":"Bundle","type":"searchset",
          "link":[{"relation":"next","url":"https://fhir.example.be/Appointment?page=2"}],
          "entry":[
            {"fullUrl":"https://fhir.example.be/Patient/x","resource":{"resourceType":"Patient","id":"x",
              "name":[{"family":"Peeters","given":["Jan"]}],
              "telecom":[{"system":"email","value":"jan at example.be"},{"system":"phone","value":"0471 12 34 56"}]}},
            {"resource":{"resourceType":"Appointment","id":"a","status":"booked","start":"2026-01-13T09:30:00Z",
              "serviceType":[{"text":"Cardiologie"}],"participant":[{"actor":{"reference":"Patient/x"}},
              {"actor":{"display":"Deurne","type":"Location"}}]}},
            {"resource":{"resourceType":"Patient","id":"y","telecom":[{"system":"phone","value":"0472 12 34 56"}]}},
            {"resource":{"resourceType":"Appointment","id":"b","status":"booked","start":"2026-01-13T10:30:00Z",
              "serviceType":[{"text":"Cardiologie"}],"participant":[{"actor":{"reference":"Patient/y"}},
              {"actor":{"display":"Deurne","type":"Location"}}]}}
          ]}"#;
        let batch = parse("search.json", bundle).expect("readable");
        let jan = contact(&batch, "Patient/x");
        assert_eq!(
            (jan.mobile.as_deref(), jan.email.as_deref()),
            (Some("+32471123456"), None)
        );
        assert_eq!(batch.contacts.len(), 1);
        assert_eq!(
            appointment(&batch, "Appointment/a").patient,
            Identity::fhir("", "Patient/x")
        );
        assert_eq!(batch.appointments.len(), 1);
        let rejects: Vec<(usize, bool, String)> = batch
            .rejects
            .iter()
            .map(|r| (r.line, r.kept, r.describe()))
            .collect();
        assert_eq!(
            rejects,
            vec![
                (
                    0,
                    true,
                    "kept without telecom.email: \"jan at example.be\" is not an e-mail address"
                        .to_string()
                ),
                (
                    2,
                    false,
                    "name: no name: a message cannot be addressed to a patient without one"
                        .to_string()
                ),
                (
                    3,
                    false,
                    "participant: the patient Patient/y was rejected (see its own line)"
                        .to_string()
                ),
            ]
        );
        assert_eq!(batch.notices[0].field, "link");
    }

    #[test]
    fn contained_patients_group_practices_and_landlines_marked_mobile_are_understood() {
        let bundle = br##"{"resourceType":"Bundle","type":"collection","entry":[
            {"fullUrl":"urn:uuid:org","resource":{"resourceType":"Organization","id":"wgc",
              "identifier":[{"system":"https://www.riziv.fgov.be/practice","value":"1.23456.78.901"}],
              "name":"Wijkgezondheidscentrum De Schelde",
              "telecom":[{"system":"phone","value":"03 201 02 03"}]}},
            {"resource":{"resourceType":"Appointment","id":"a","status":"noshow",
              "start":"2026-03-29T02:30:00","serviceType":[{"text":"Pediatrie"}],
              "participant":[{"actor":{"reference":"#kid"}}],
              "contained":[{"resourceType":"Patient","id":"kid","name":[{"given":["Lotte"],"family":"Smets"}],
                "telecom":[{"system":"phone","use":"mobile","value":"03 201 02 04"}],
                "generalPractitioner":[{"reference":"urn:uuid:org"}]}]}},
            {"resource":{"resourceType":"Appointment","id":"b","status":"entered-in-error",
              "start":"2026-03-30T10:00:00+02:00","specialty":[{"coding":[{"code":"PED"}]}],
              "participant":[{"actor":{"reference":"#kid"}},{"actor":{"type":"Location","display":"Deurne"}}],
              "contained":[{"resourceType":"Patient","id":"kid","identifier":[{"value":"P300001"}],
                "name":[{"given":["Lotte"],"family":"Smets"}]}]}}
          ]}"##;
        let batch = parse("bundle.json", bundle).expect("readable");
        assert_eq!(batch.records, 3);
        let practice = contact(&batch, "12345678901");
        assert_eq!(practice.role, Role::Gp);
        assert_eq!(practice.last_name, "Wijkgezondheidscentrum De Schelde");
        assert_eq!(
            practice.organisation.as_deref(),
            Some("Wijkgezondheidscentrum De Schelde")
        );
        assert_eq!(practice.phone.as_deref(), Some("+3232010203"));
        let kid = contact(&batch, "Appointment/a#kid");
        assert_eq!(
            (kid.first_name.as_str(), kid.last_name.as_str()),
            ("Lotte", "Smets")
        );
        assert_eq!(
            (kid.mobile.as_deref(), kid.phone.as_deref()),
            (None, Some("+3232010204"))
        );
        assert!(contact(&batch, "P300001").role == Role::Patient);

        // Lotte is imported from the first appointment, though 02:30 on the last Sunday of
        // March does not exist in Brussels and the booking itself is refused.
        assert_eq!(batch.rejects.len(), 1, "{:#?}", batch.rejects);
        assert_eq!(batch.rejects[0].field.as_deref(), Some("start"));
        assert_eq!(batch.appointments.len(), 1);
        let b = appointment(&batch, "Appointment/b");
        assert_eq!(b.status, AppointmentStatus::Cancelled);
        assert_eq!(b.department, "PED");
        assert_eq!(b.patient, Identity::fhir("", "P300001"));
        assert_eq!(b.starts_at, utc("2026-03-30T08:00:00Z"));
        assert!(batch
            .notices
            .iter()
            .any(|n| n.field == "telecom.phone" && n.message.contains("marked mobile")));
        assert!(batch.notices.iter().any(|n| n.field == "serviceType"));
    }

    #[test]
    fn conditional_references_find_the_patient_and_the_dead_are_not_contacted() {
        let bundle = br#"{"resourceType":"Bundle","type":"transaction","entry":[
            {"fullUrl":"urn:uuid:p1","resource":{"resourceType":"Patient",
              "identifier":[{"system":"https://zna.example.be/mrn","value":"P1"}],
              "name":[{"family":"Wuyts","given":["Karel"]}]},
             "request":{"method":"PUT","url":"Patient?identifier=https://zna.example.be/mrn|P1"}},
            {"fullUrl":"urn:uuid:p2","resource":{"resourceType":"Patient",
              "identifier":[{"system":"https://zna.example.be/mrn","value":"P2"}],
              "deceasedDateTime":"2026-01-02"}},
            {"resource":{"resourceType":"Appointment","status":"booked","start":"2026-01-20T09:00:00Z",
              "identifier":[{"value":"A1"}],"serviceType":[{"text":"Geriatrie"}],
              "participant":[{"actor":{"reference":"Patient?identifier=https%3A%2F%2Fzna.example.be%2Fmrn%7CP1"}},
                {"actor":{"type":"Location","display":"Deurne"}}]}},
            {"resource":{"resourceType":"Appointment","status":"booked","start":"2026-01-21T09:00:00Z",
              "identifier":[{"value":"A2"}],"serviceType":[{"text":"Geriatrie"}],
              "participant":[{"actor":{"reference":"urn:uuid:p2"}}]}}
          ]}"#;
        let batch = parse("transaction.json", bundle).expect("readable");
        assert_eq!(batch.contacts.len(), 1);
        assert_eq!(contact(&batch, "P1").last_name, "Wuyts");
        assert_eq!(batch.appointments.len(), 1);
        assert_eq!(
            appointment(&batch, "A1").patient,
            Identity::fhir("https://zna.example.be/mrn", "P1")
        );
        let rejects: Vec<(usize, Option<&str>)> = batch
            .rejects
            .iter()
            .map(|r| (r.line, r.field.as_deref()))
            .collect();
        assert_eq!(
            rejects,
            vec![(1, Some("deceased")), (3, Some("participant"))]
        );
    }

    #[test]
    fn animals_are_skipped_newborns_are_reached_through_a_parent_and_requests_are_reported() {
        let bundle = br#"{"resourceType":"Bundle","type":"transaction","entry":[
            {"resource":{"resourceType":"Patient","id":"animal","name":[{"given":["Kenzi"]}],
              "extension":[{"url":"http://hl7.org/fhir/StructureDefinition/patient-animal",
                "extension":[{"url":"species","valueCodeableConcept":{"coding":[{"code":"canislf"}]}}]}],
              "contact":[{"relationship":[{"coding":[{"code":"owner"}]}],
                "telecom":[{"system":"phone","value":"0471 99 88 77"}]}]}},
            {"resource":{"resourceType":"Appointment","id":"vet","status":"booked",
              "start":"2026-01-13T09:30:00+01:00","serviceType":[{"text":"Cardiologie"}],
              "participant":[{"actor":{"reference":"Patient/animal"}},
                {"actor":{"type":"Location","display":"Deurne"}}]}},
            {"resource":{"resourceType":"Patient","id":"newborn","birthDate":"2026-01-05",
              "name":[{"family":"Janssens","given":["Noor"]}],
              "contact":[{"relationship":[{"coding":[{"system":"http://terminology.hl7.org/CodeSystem/v3-RoleCode","code":"MTH"}]}],
                "name":{"family":"Janssens","given":["Els"]},
                "telecom":[{"system":"phone","value":"0472 11 22 33"},{"system":"email","value":"els@example.be"}]}]}},
            {"resource":{"resourceType":"Patient","id":"adult","birthDate":"1950-01-05",
              "name":[{"family":"Maes","given":["Jan"]}],
              "contact":[{"relationship":[{"coding":[{"code":"C"}]},{"text":"father"}],
                "telecom":[{"system":"phone","value":"0473 11 22 33"}]}]}},
            {"request":{"method":"GET","url":"Patient?name=Peeters"}}
          ]}"#;
        let batch = parse("transaction.json", bundle).expect("readable");
        assert_eq!((batch.records, batch.skipped), (4, 2));
        assert!(batch.rejects.is_empty(), "{:#?}", batch.rejects);
        assert!(batch.appointments.is_empty());
        let ids: Vec<&str> = batch
            .contacts
            .iter()
            .map(|c| c.external_id.as_str())
            .collect();
        assert_eq!(ids, ["Patient/newborn", "Patient/adult"]);
        let noor = contact(&batch, "Patient/newborn");
        assert_eq!(
            (noor.mobile.as_deref(), noor.email.as_deref()),
            (Some("+32472112233"), Some("els@example.be"))
        );
        let jan = contact(&batch, "Patient/adult");
        assert_eq!(
            (jan.mobile.as_deref(), jan.phone.as_deref()),
            (None, None),
            "an adult's emergency contact is not told of their appointments"
        );
        let notices: Vec<(usize, &str, &str)> = batch
            .notices
            .iter()
            .map(|n| (n.line, n.field.as_str(), n.message.as_str()))
            .collect();
        assert_eq!(
            notices,
            [
                (
                    4,
                    "request",
                    "GET \"Patient?name=Peeters\": a request to read, with no data: ignored"
                ),
                (
                    0,
                    "extension",
                    "an animal patient (patient-animal): not a person to write to, not imported"
                ),
                (
                    1,
                    "participant",
                    "the appointment of an animal patient: not imported"
                ),
                (
                    2,
                    "contact",
                    "no phone or e-mail of the patient's own: messages go to the parent Els \
                     Janssens, who answers for them"
                ),
            ]
        );
    }
}
