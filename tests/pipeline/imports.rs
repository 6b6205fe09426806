use crate::support::{dump, rows, tocsin_command, TestDatabase};
use std::path::Path;
use std::process::Output;

fn tocsin(dir: &Path, database: &TestDatabase, args: &[&str]) -> Output {
    tocsin_command()
        .current_dir(dir)
        .arg("--database")
        .arg(&database.url)
        .args(args)
        .output()
        .expect("run tocsin")
}

fn fixture(name: &str) -> String {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures")
        .join(name)
        .display()
        .to_string()
}

/// A copy of a fixture in `dir`, to import from: an import writes its rejects next to the file
/// it reads unless told otherwise, and tests write nothing into the source tree.
fn copied(dir: &Path, name: &str) -> String {
    let copy = dir.join(name.replace('/', "-"));
    std::fs::copy(fixture(name), &copy).expect("copy the fixture");
    copy.display().to_string()
}

const EVERYTHING: [&str; 3] = [
    "SELECT * FROM contacts ORDER BY id",
    "SELECT * FROM appointments ORDER BY id",
    "SELECT * FROM import_changes ORDER BY id",
];

/// What an import decides, without the times it ran at.
const CONTENT: [&str; 2] = [
    "SELECT external_id, role, first_name, last_name, language, mobile, phone, email, \
     organisation, birth_date FROM contacts ORDER BY external_id",
    "SELECT a.external_id, p.external_id, g.external_id, a.starts_at, a.campus, a.department, \
     a.practitioner, a.status FROM appointments a JOIN contacts p ON p.id = a.patient_id \
     LEFT JOIN contacts g ON g.id = a.gp_id ORDER BY a.external_id",
];

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_belgian_excel_export_imports_with_exact_counts_and_a_rejects_file_and_twice_changes_nothing(
) {
    let dir = tempfile::tempdir().expect("temp dir");
    let utf8 = TestDatabase::named(dir.path(), "bom").await;
    let windows1252 = TestDatabase::named(dir.path(), "cp1252").await;
    for (file, name, database) in [
        ("csv/appointments_utf8_bom.csv", "bom", &utf8),
        ("csv/appointments_windows1252.csv", "cp1252", &windows1252),
    ] {
        let rejects = dir.path().join(format!("{name}.rejects.csv"));
        let rejects_arg = rejects.display().to_string();
        let out = tocsin(
            dir.path(),
            database,
            &[
                "import",
                "appointments",
                &copied(dir.path(), file),
                "--rejects",
                &rejects_arg,
            ],
        );
        let stdout = String::from_utf8_lossy(&out.stdout);
        assert!(
            out.status.success(),
            "{stdout}{}",
            String::from_utf8_lossy(&out.stderr)
        );
        assert!(
            stdout.contains("7 records read, 6 accepted, of which 1 without a field; 1 rejected"),
            "{name}: {stdout}"
        );
        assert!(
            stdout.contains("contacts:     5 new, 0 updated, 0 unchanged"),
            "{name}: {stdout}"
        );
        assert!(
            stdout.contains("appointments: 6 new, 0 updated, 0 unchanged"),
            "{name}: {stdout}"
        );
        // The row kept without its mobile and the rejected row, in the export's own columns,
        // with the reason by field.
        let rejected = std::fs::read_to_string(&rejects).expect("rejects file");
        let mut reader = csv::ReaderBuilder::new()
            .delimiter(b';')
            .from_reader(rejected.trim_start_matches('\u{feff}').as_bytes());
        let header = reader.headers().expect("header").clone();
        assert_eq!(header.get(0), Some("Patiëntnummer"), "{rejected}");
        assert_eq!(
            header.iter().next_back(),
            Some("reject_reason"),
            "{rejected}"
        );
        let rows: Vec<csv::StringRecord> = reader.records().map(|row| row.expect("row")).collect();
        assert_eq!(rows.len(), 2, "{rejected}");
        assert_eq!(&rows[0][0], "P1003");
        assert_eq!(&rows[0][5], "0471 12", "the field as it was written");
        let reason = rows[0].iter().next_back().unwrap_or_default();
        assert!(
            reason.starts_with("kept without mobile: ") && reason.contains("0471 12"),
            "{reason}"
        );
        assert_eq!(&rows[1][0], "P1005");
        assert_eq!(rows[1].iter().next_back(), Some("start: is empty"));

        let again = tocsin(
            dir.path(),
            database,
            &[
                "import",
                "appointments",
                &copied(dir.path(), file),
                "--rejects",
                &rejects_arg,
            ],
        );
        let stdout = String::from_utf8_lossy(&again.stdout);
        assert!(
            stdout.contains("contacts:     0 new, 0 updated, 5 unchanged"),
            "{name}: {stdout}"
        );
        assert!(
            stdout.contains("appointments: 0 new, 0 updated, 6 unchanged"),
            "{name}: {stdout}"
        );
    }
    // Both encodings of the same export give the same contacts and appointments.
    let bom = dump(&utf8.url, &CONTENT).await;
    assert!(
        bom.contains("Hélène") && bom.contains("Daniëls") && bom.contains("François"),
        "{bom}"
    );
    assert!(
        bom.contains("\"12345678004\""),
        "the GP, by RIZIV number: {bom}"
    );
    assert!(
        bom.contains("\"cancelled\""),
        "the cancelled appointment is kept: {bom}"
    );
    assert_eq!(bom, dump(&windows1252.url, &CONTENT).await);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn importing_the_same_file_twice_leaves_the_database_identical() {
    let dir = tempfile::tempdir().expect("temp dir");
    let database = TestDatabase::in_dir(dir.path()).await;
    let file = copied(dir.path(), "csv/appointments_utf8_bom.csv");
    let rejects = dir.path().join("r.csv").display().to_string();
    assert!(tocsin(
        dir.path(),
        &database,
        &["import", "appointments", &file, "--rejects", &rejects]
    )
    .status
    .success());
    let before = dump(&database.url, &EVERYTHING).await;
    assert_eq!(
        before.lines().count(),
        11,
        "5 contacts and 6 appointments: {before}"
    );
    assert!(tocsin(
        dir.path(),
        &database,
        &["import", "appointments", &file, "--rejects", &rejects]
    )
    .status
    .success());
    assert_eq!(dump(&database.url, &EVERYTHING).await, before);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_file_that_is_not_what_it_claims_is_refused_and_nothing_is_imported() {
    let dir = tempfile::tempdir().expect("temp dir");
    let database = TestDatabase::in_dir(dir.path()).await;
    let garbage: Vec<u8> = (0..4096u32)
        .map(|n| (n.wrapping_mul(2_654_435_761) >> 13) as u8)
        .collect();
    std::fs::write(dir.path().join("garbage.csv"), &garbage).expect("write");
    std::fs::write(
        dir.path().join("gps.csv"),
        "riziv;naam;email\n12345678004;Peeters;a@b.be\n",
    )
    .expect("write");
    let bundle = std::fs::read_to_string(fixture("fhir/bundle-belgian.json")).expect("bundle");
    std::fs::write(
        dir.path().join("truncated.json"),
        &bundle[..bundle.len() / 2],
    )
    .expect("write");
    for (kind, file, expected) in [
        ("appointments", "garbage.csv", "garbage.csv"),
        ("appointments", "gps.csv", "patient_id"),
        ("fhir", "truncated.json", "truncated"),
        ("fhir", "garbage.csv", "garbage.csv"),
    ] {
        let out = tocsin(dir.path(), &database, &["import", kind, file]);
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(!out.status.success(), "{file} as {kind} was accepted");
        assert!(stderr.contains(expected), "{file}: {stderr}");
        assert!(stderr.contains("nothing was imported"), "{file}: {stderr}");
    }
    let out = tocsin(
        dir.path(),
        &database,
        &["audience", "show", "patients", "all-gps"],
    );
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        stdout.contains("patients: 0 contacts") && stdout.contains("all-gps: 0 contacts"),
        "{stdout}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_official_fhir_examples_import_into_a_patient_a_gp_and_an_appointment() {
    let dir = tempfile::tempdir().expect("temp dir");
    let database = TestDatabase::in_dir(dir.path()).await;
    let rejects = dir.path().join("rejects.csv");
    let out = tocsin(
        dir.path(),
        &database,
        &[
            "import",
            "fhir",
            &copied(dir.path(), "fhir/bundle-official.json"),
            "--rejects",
            &rejects.display().to_string(),
        ],
    );
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{stdout}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        stdout.contains("7 records read, 6 accepted, of which 2 without a field; 1 rejected"),
        "{stdout}"
    );
    let rejects = std::fs::read_to_string(&rejects).expect("rejects file");
    let reasons: Vec<String> = csv::ReaderBuilder::new()
        .delimiter(b';')
        .from_reader(rejects.trim_start_matches('\u{feff}').as_bytes())
        .records()
        .map(|row| row.expect("row")[2].to_string())
        .collect();
    assert_eq!(reasons.len(), 3, "{rejects}");
    assert!(
        reasons[0].starts_with("kept without telecom.phone: \"(03) 5555 6473\""),
        "{rejects}"
    );
    let people: Vec<(String, String, String, Option<String>)> = rows(
        &database.url,
        "SELECT role, first_name, last_name, birth_date FROM contacts ORDER BY role",
    )
    .await;
    assert_eq!(
        people,
        [
            ("gp".into(), "Adam".into(), "Careful".into(), None),
            (
                "patient".into(),
                "Peter James".into(),
                "Chalmers".into(),
                Some("1974-12-25".into())
            ),
        ]
    );
    let (starts_at, department, status): (i64, String, String) = crate::support::row(
        &database.url,
        "SELECT starts_at, department, status FROM appointments",
    )
    .await;
    assert_eq!(starts_at, 1_386_666_000_000, "2013-12-10T09:00:00Z");
    assert_eq!(
        (department.as_str(), status.as_str()),
        ("General Discussion", "booked")
    );
}

/// An appointments export in which one patient has a mobile and three bad optional fields,
/// and another only a landline; both first names are formulas.
const CALL_CENTRE_EXPORT: &str = "patient_id;last_name;first_name;mobile;phone;email;\
    appointment_id;start;campus;department;gp_riziv;gp_name;gp_phone\n\
    P1;Peeters;\"=HYPERLINK(\"\"http://evil\"\";\"\"x\"\")\";0471 12 34 56;03 12;an@;A1;\
    13/01/2026 09:30;Deurne;cardiology;1-23456-78-004;Dr. Marc Wouters;0800\n\
    P2;Claes;=1+1;;03 218 71 11;;A2;13/01/2026 10:00;Deurne;cardiology;;;\n\
    P2;Claes;=1+1;;03 218 71 11;;A3;20/01/2026 11:00;Deurne;radiology;;;\n";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_bad_field_drops_the_field_a_landline_reaches_the_call_centre_and_no_csv_runs_a_formula()
{
    let test = crate::support::TestApp::new(|_| {}).await;
    let export = test.dir.path().join("afspraken.csv");
    std::fs::write(&export, CALL_CENTRE_EXPORT).expect("write export");
    let summary = test
        .app
        .import(
            tocsin::app::ImportKind::Appointments,
            &export,
            None,
            tocsin::spreadsheet::Separator::Semicolon,
        )
        .await
        .expect("import");
    assert_eq!(
        (
            summary.records,
            summary.rejected,
            summary.kept_without_a_field
        ),
        (3, 0, 1)
    );

    // Peeters keeps the mobile and the appointment; the e-mail, the landline and the GP's
    // phone are dropped, each named on the row's "kept without" line.
    let peeters = test.app.find_contact("P1").await.expect("P1 imported");
    assert_eq!(peeters.mobile.as_deref(), Some("+32471123456"));
    assert_eq!((peeters.phone, peeters.email), (None, None));
    let gp = test.app.find_contact("12345678004").await.expect("the GP");
    assert_eq!((gp.last_name.as_str(), gp.phone), ("Wouters", None));
    let rejects_file = summary.rejects_file.expect("a rejects file");
    let rejects = std::fs::read_to_string(&rejects_file).expect("rejects file");
    let mut reader = csv::ReaderBuilder::new()
        .delimiter(b';')
        .from_reader(rejects.trim_start_matches('\u{feff}').as_bytes());
    let rows: Vec<csv::StringRecord> = reader.records().map(|row| row.expect("row")).collect();
    assert_eq!(rows.len(), 1, "{rejects}");
    assert_eq!(&rows[0][0], "P1");
    assert_eq!(
        &rows[0][2], "'=HYPERLINK(\"http://evil\";\"x\")",
        "the formula is neutralised"
    );
    let reason = &rows[0][13];
    for field in ["phone", "email", "gp_phone"] {
        assert!(
            reason.contains(&format!("kept without {field}: ")),
            "{field}: {reason}"
        );
    }

    // Claes has only a landline: no message reaches him, and the call centre's list gives
    // the landline and the appointment the update is about (not the one a week later).
    let update = crate::support::EMAIL_UPDATE
        .replace(
            "audiences = [\"patients\"]",
            "audiences = [\"patients from=2026-01-13 to=2026-01-13\"]",
        )
        .replace("channels = [\"email\"]", "channels = [\"sms\", \"email\"]");
    let id = test.approved_update(&update).await;
    test.app.send(id, |_, _| {}).await.expect("send");
    let status = test.app.status(id).await.expect("status");
    assert_eq!(status.unreached.len(), 1, "{:#?}", status.unreached);
    let claes = &status.unreached[0];
    assert_eq!(claes.external_id, "P2");
    assert_eq!(claes.phone.as_deref(), Some("+3232187111"));
    assert_eq!(claes.appointments, ["2026-01-13 10:00 Deurne cardiology"]);
    let json = serde_json::to_value(&status).expect("json");
    assert_eq!(json["unreached"][0]["phone"], "+3232187111");

    let list = test.dir.path().join("unreached.csv");
    let out = crate::support::tocsin_command()
        .current_dir(test.dir.path())
        .args([
            "--database",
            &test.app.config.database_url,
            "export",
            "unreached",
            &id.to_string(),
            "--csv",
            &list.display().to_string(),
            "--separator",
            ",",
        ])
        .output()
        .expect("run tocsin");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let list = std::fs::read_to_string(&list).expect("unreached list");
    let mut lines = list.lines();
    assert_eq!(
        lines.next(),
        Some("\u{feff}external_id,name,mobile,phone,email,language,appointments,why_unreached")
    );
    let row = lines.next().expect("Claes");
    assert!(
        row.starts_with("P2,'=1+1 Claes,,'+3232187111,,,2026-01-13 10:00 Deurne cardiology,"),
        "{row}"
    );
}
