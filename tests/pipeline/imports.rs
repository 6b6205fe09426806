use crate::support::tocsin_binary;
use sqlx::Row;
use std::path::Path;
use std::process::{Command, Output};

fn tocsin(dir: &Path, args: &[&str]) -> Output {
    Command::new(tocsin_binary())
        .current_dir(dir)
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

/// The rows the queries return, as text.
async fn dump(database: &Path, queries: &[&str]) -> String {
    let url = format!("sqlite://{}", database.display());
    let pool = sqlx::SqlitePool::connect(&url).await.expect("open");
    let mut out = String::new();
    for query in queries {
        for row in sqlx::query(query)
            .fetch_all(&pool)
            .await
            .unwrap_or_default()
        {
            for index in 0..row.len() {
                let value: Option<String> = row
                    .try_get::<Option<String>, _>(index)
                    .or_else(|_| {
                        row.try_get::<Option<i64>, _>(index)
                            .map(|n| n.map(|n| n.to_string()))
                    })
                    .unwrap_or_default();
                out.push_str(&format!("{value:?}|"));
            }
            out.push('\n');
        }
    }
    pool.close().await;
    out
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_belgian_excel_export_imports_with_exact_counts_and_a_rejects_file_and_twice_changes_nothing(
) {
    let dir = tempfile::tempdir().expect("temp dir");
    for (file, name) in [
        ("csv/appointments_utf8_bom.csv", "bom"),
        ("csv/appointments_windows1252.csv", "cp1252"),
    ] {
        let database = format!("sqlite://{}/{name}.db", dir.path().display());
        let rejects = dir.path().join(format!("{name}.rejects.csv"));
        let rejects_arg = rejects.display().to_string();
        let out = tocsin(
            dir.path(),
            &[
                "--database",
                &database,
                "import",
                "appointments",
                &fixture(file),
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
            stdout.contains("6 records read, 5 accepted, 1 rejected"),
            "{name}: {stdout}"
        );
        assert!(
            stdout.contains("contacts:     4 new, 0 updated, 0 unchanged"),
            "{name}: {stdout}"
        );
        assert!(
            stdout.contains("appointments: 5 new, 0 updated, 0 unchanged"),
            "{name}: {stdout}"
        );
        // The rejected row in the export's own columns, with the reason by field.
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
        assert_eq!(rows.len(), 1, "{rejected}");
        assert_eq!(&rows[0][0], "P1003");
        assert_eq!(&rows[0][5], "0471 12", "the field as it was written");
        let reason = rows[0].iter().next_back().unwrap_or_default();
        assert!(
            reason.starts_with("mobile: ") && reason.contains("0471 12"),
            "{reason}"
        );

        let again = tocsin(
            dir.path(),
            &[
                "--database",
                &database,
                "import",
                "appointments",
                &fixture(file),
                "--rejects",
                &rejects_arg,
            ],
        );
        let stdout = String::from_utf8_lossy(&again.stdout);
        assert!(
            stdout.contains("contacts:     0 new, 0 updated, 4 unchanged"),
            "{name}: {stdout}"
        );
        assert!(
            stdout.contains("appointments: 0 new, 0 updated, 5 unchanged"),
            "{name}: {stdout}"
        );
    }
    // Both encodings of the same export give the same contacts and appointments.
    let bom = dump(&dir.path().join("bom.db"), &CONTENT).await;
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
    assert_eq!(bom, dump(&dir.path().join("cp1252.db"), &CONTENT).await);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn importing_the_same_file_twice_leaves_the_database_identical() {
    let dir = tempfile::tempdir().expect("temp dir");
    let file = fixture("csv/appointments_utf8_bom.csv");
    let rejects = dir.path().join("r.csv").display().to_string();
    assert!(tocsin(
        dir.path(),
        &["import", "appointments", &file, "--rejects", &rejects]
    )
    .status
    .success());
    let database = dir.path().join("tocsin.db");
    let before = dump(&database, &EVERYTHING).await;
    assert_eq!(
        before.lines().count(),
        9,
        "4 contacts and 5 appointments: {before}"
    );
    assert!(tocsin(
        dir.path(),
        &["import", "appointments", &file, "--rejects", &rejects]
    )
    .status
    .success());
    assert_eq!(dump(&database, &EVERYTHING).await, before);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_file_that_is_not_what_it_claims_is_refused_and_nothing_is_imported() {
    let dir = tempfile::tempdir().expect("temp dir");
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
        let out = tocsin(dir.path(), &["import", kind, file]);
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(!out.status.success(), "{file} as {kind} was accepted");
        assert!(stderr.contains(expected), "{file}: {stderr}");
        assert!(stderr.contains("nothing was imported"), "{file}: {stderr}");
    }
    let out = tocsin(dir.path(), &["audience", "show", "patients", "all-gps"]);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        stdout.contains("patients: 0 contacts") && stdout.contains("all-gps: 0 contacts"),
        "{stdout}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_official_fhir_examples_import_into_a_patient_a_gp_and_an_appointment() {
    let dir = tempfile::tempdir().expect("temp dir");
    let out = tocsin(
        dir.path(),
        &["import", "fhir", &fixture("fhir/bundle-official.json")],
    );
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{stdout}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        stdout.contains("7 records read, 6 accepted, 1 rejected"),
        "{stdout}"
    );
    let pool = sqlx::SqlitePool::connect(&format!(
        "sqlite://{}",
        dir.path().join("tocsin.db").display()
    ))
    .await
    .expect("open");
    let people: Vec<(String, String, String, Option<String>)> = sqlx::query_as(
        "SELECT role, first_name, last_name, birth_date FROM contacts ORDER BY role",
    )
    .fetch_all(&pool)
    .await
    .expect("contacts");
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
    let (starts_at, department, status): (i64, String, String) =
        sqlx::query_as("SELECT starts_at, department, status FROM appointments")
            .fetch_one(&pool)
            .await
            .expect("appointment");
    assert_eq!(starts_at, 1_386_666_000_000, "2013-12-10T09:00:00Z");
    assert_eq!(
        (department.as_str(), status.as_str()),
        ("General Discussion", "booked")
    );
}
