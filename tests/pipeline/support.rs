// Shared with the crash test; each test binary uses only some of it.
#[allow(dead_code)]
#[path = "../support/mail_servers.rs"]
mod mail_servers;

// A schema of its own per test on the machine's PostgreSQL (the store's contract test
// shares it).
#[allow(dead_code)]
#[path = "../support/postgres.rs"]
pub mod postgres;

pub use mail_servers::{Mta, OpenSmtpdSetup, SmtpServer};
use postgres::Schema;
use std::path::{Path, PathBuf};
use tempfile::TempDir;
use tocsin::app::App;
use tocsin::author::DraftOptions;
use tocsin::config::{Config, EmailTransport};
use tocsin::domain::{AppointmentStatus, Identity, NewAppointment, NewContact, Role};

/// Outside software a test needs. On a laptop without it the test is skipped, loudly;
/// under CI=true a missing dependency fails the test.
pub fn require(what: &str, present: bool) -> bool {
    if present {
        return true;
    }
    if std::env::var("CI").is_ok_and(|ci| ci == "true") {
        panic!("{what} is missing, and CI=true: .ci/run must install it");
    }
    eprintln!("\n*** SKIPPED: {what} is missing ***\n");
    false
}

/// Each test named runs twice, as `NAME::aiosmtpd` and `NAME::opensmtpd`: `NAME` is an
/// `async fn NAME(mta: Mta)` of the module that calls this.
#[macro_export]
macro_rules! against_each_server {
    ($($name:ident),* $(,)?) => {$(
        mod $name {
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn aiosmtpd() {
                super::$name($crate::support::Mta::Aiosmtpd).await
            }
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn opensmtpd() {
                super::$name($crate::support::Mta::OpenSmtpd).await
            }
        }
    )*};
}

/// The database the tests' apps use: `TOCSIN_TEST_BACKEND`, `sqlite` (the default) or
/// `postgres` (the machine's server, see tests/support/postgres.rs).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

impl Backend {
    pub fn of_tests() -> Backend {
        match std::env::var("TOCSIN_TEST_BACKEND").as_deref() {
            Err(_) | Ok("" | "sqlite") => Backend::Sqlite,
            Ok("postgres") => Backend::Postgres,
            Ok(other) => panic!("TOCSIN_TEST_BACKEND={other:?}: sqlite or postgres"),
        }
    }

    pub fn of_url(url: &str) -> Backend {
        if url.starts_with("postgres:") || url.starts_with("postgresql:") {
            Backend::Postgres
        } else {
            Backend::Sqlite
        }
    }
}

/// False, said in one line, when the tests run on another backend than SQLite: for a test of
/// something only SQLite has (`why`).
pub fn only_on_sqlite(why: &str) -> bool {
    let backend = Backend::of_tests();
    if backend == Backend::Sqlite {
        return true;
    }
    eprintln!("SKIPPED on {backend:?}: {why}");
    false
}

/// A test's database: a file in its directory, or with `TOCSIN_TEST_BACKEND=postgres` a
/// PostgreSQL schema of its own, dropped with this (kept if the test failed).
pub struct TestDatabase {
    pub url: String,
    /// Held for its drop, which drops the schema.
    _schema: Option<Schema>,
}

impl TestDatabase {
    /// `tocsin.db` in `dir`, or a schema.
    pub async fn in_dir(dir: &Path) -> TestDatabase {
        TestDatabase::named(dir, "tocsin").await
    }

    /// `NAME.db` in `dir`, or a schema: for a test with several databases.
    pub async fn named(dir: &Path, name: &str) -> TestDatabase {
        match Backend::of_tests() {
            Backend::Sqlite => TestDatabase::file(dir, name),
            Backend::Postgres => {
                let schema = Schema::fresh()
                    .await
                    .expect("TOCSIN_TEST_BACKEND=postgres needs PostgreSQL");
                TestDatabase {
                    url: schema.url.clone(),
                    _schema: Some(schema),
                }
            }
        }
    }

    /// The database of a schema made for one test.
    pub fn of_schema(schema: Schema) -> TestDatabase {
        TestDatabase {
            url: schema.url.clone(),
            _schema: Some(schema),
        }
    }

    /// `NAME.db` in `dir` whatever the backend: for what only SQLite has.
    pub fn file(dir: &Path, name: &str) -> TestDatabase {
        TestDatabase {
            url: format!("sqlite://{}", dir.join(format!("{name}.db")).display()),
            _schema: None,
        }
    }

    /// [`config_in`] on this database.
    pub fn config_in(&self, dir: &Path) -> Config {
        Config {
            database_url: self.url.clone(),
            ..config_in(dir)
        }
    }
}

/// The rows of `sql`, written in SQL that SQLite and PostgreSQL both accept, on the database
/// `url` names: for what the store's API does not tell.
pub async fn rows<T>(url: &str, sql: &str) -> Vec<T>
where
    T: Send
        + Unpin
        + for<'r> sqlx::FromRow<'r, sqlx::sqlite::SqliteRow>
        + for<'r> sqlx::FromRow<'r, sqlx::postgres::PgRow>,
{
    match Backend::of_url(url) {
        Backend::Sqlite => {
            let pool = sqlx::SqlitePool::connect(url).await.expect("open");
            let rows = sqlx::query_as(sql).fetch_all(&pool).await;
            pool.close().await;
            rows.unwrap_or_else(|error| panic!("{sql}: {error}"))
        }
        Backend::Postgres => {
            let pool = sqlx::PgPool::connect(url).await.expect("connect");
            let rows = sqlx::query_as(sql).fetch_all(&pool).await;
            pool.close().await;
            rows.unwrap_or_else(|error| panic!("{sql}: {error}"))
        }
    }
}

/// The one row `sql` gives, on the database `url` names.
pub async fn row<T>(url: &str, sql: &str) -> T
where
    T: Send
        + Unpin
        + for<'r> sqlx::FromRow<'r, sqlx::sqlite::SqliteRow>
        + for<'r> sqlx::FromRow<'r, sqlx::postgres::PgRow>,
{
    let mut found: Vec<T> = rows(url, sql).await;
    assert_eq!(found.len(), 1, "{sql} gives one row");
    found.remove(0)
}

/// The number `sql` (a `SELECT COUNT(*)`) gives, on the database `url` names.
pub async fn count(url: &str, sql: &str) -> i64 {
    let (count,): (i64,) = row(url, sql).await;
    count
}

/// Every row of the queries, one line each, its values as text (integers written out, other
/// types as None): for "nothing changed" on the database `url` names.
pub async fn dump(url: &str, queries: &[&str]) -> String {
    use sqlx::Row;
    let mut out = String::new();
    let mut line = |values: Vec<Option<String>>| {
        for value in values {
            out.push_str(&format!("{value:?}|"));
        }
        out.push('\n');
    };
    match Backend::of_url(url) {
        Backend::Sqlite => {
            let pool = sqlx::SqlitePool::connect(url).await.expect("open");
            for query in queries {
                let rows = sqlx::query(query).fetch_all(&pool).await;
                for row in rows.unwrap_or_else(|error| panic!("{query}: {error}")) {
                    line(
                        (0..row.len())
                            .map(|index| {
                                row.try_get::<Option<String>, _>(index)
                                    .or_else(|_| {
                                        row.try_get::<Option<i64>, _>(index)
                                            .map(|n| n.map(|n| n.to_string()))
                                    })
                                    .unwrap_or_default()
                            })
                            .collect(),
                    );
                }
            }
            pool.close().await;
        }
        Backend::Postgres => {
            let pool = sqlx::PgPool::connect(url).await.expect("connect");
            for query in queries {
                let rows = sqlx::query(query).fetch_all(&pool).await;
                for row in rows.unwrap_or_else(|error| panic!("{query}: {error}")) {
                    line(
                        (0..row.len())
                            .map(|index| {
                                row.try_get::<Option<String>, _>(index)
                                    .or_else(|_| {
                                        row.try_get::<Option<i64>, _>(index)
                                            .map(|n| n.map(|n| n.to_string()))
                                    })
                                    .or_else(|_| {
                                        row.try_get::<Option<i32>, _>(index)
                                            .map(|n| n.map(|n| n.to_string()))
                                    })
                                    .unwrap_or_default()
                            })
                            .collect(),
                    );
                }
            }
            pool.close().await;
        }
    }
    out
}

/// A Tocsin with its own database and outboxes in a temporary directory.
pub struct TestApp {
    pub app: App,
    pub dir: TempDir,
    /// Held for its drop, after `app`'s: a PostgreSQL schema goes with the test.
    pub _database: TestDatabase,
}

/// Hospital details that are not the shipped placeholders, which `update draft`, `approve`
/// and `send` refuse. Short name as long as the default's, so SMS lengths stay comparable.
pub const HOSPITAL_TOML: &str = r#"
[hospital]
name = "Algemeen Ziekenhuis Testwijk"
short_name = "AZT"
phone = "+32 3 555 12 12"
press_phone = "+32 3 555 12 13"
website = "https://crisis.azt-testwijk.be"
"#;

/// The e-mail sender that goes with [`HOSPITAL_TOML`], as the `from` of an `[email]` table.
pub const EMAIL_FROM: &str = "Crisiscel AZT <crisis@azt-testwijk.be>";

/// A configuration whose database and outboxes are in `dir`; the database is SQLite's
/// whatever the backend ([`TestDatabase::config_in`] follows it).
pub fn config_in(dir: &Path) -> Config {
    let hospital = Config::parse(HOSPITAL_TOML, "HOSPITAL_TOML")
        .expect("test hospital")
        .hospital;
    let mut config = Config {
        database_url: format!("sqlite://{}", dir.join("tocsin.db").display()),
        hospital,
        ..Config::default()
    };
    config.email.from = EMAIL_FROM.into();
    config.email.dir = dir.join("outbox/email");
    config.sms.dir = dir.join("outbox/sms");
    config.telegram.dir = dir.join("outbox/telegram");
    config.dispatch.backoff_base_ms = 20;
    config.dispatch.backoff_max_ms = 200;
    config
}

impl TestApp {
    pub async fn new(adjust: impl FnOnce(&mut Config)) -> TestApp {
        let dir = tempfile::tempdir().expect("temp dir");
        let database = TestDatabase::in_dir(dir.path()).await;
        let mut config = database.config_in(dir.path());
        adjust(&mut config);
        let app = App::open(config).await.expect("app opens");
        TestApp {
            app,
            dir,
            _database: database,
        }
    }

    /// A Tocsin on `backend`, whatever `TOCSIN_TEST_BACKEND` says: for a test that runs on
    /// each backend. None, said loudly, when PostgreSQL is missing here (under CI=true, a
    /// failure).
    pub async fn on(backend: Backend, adjust: impl FnOnce(&mut Config)) -> Option<TestApp> {
        let dir = tempfile::tempdir().expect("temp dir");
        let database = match backend {
            Backend::Sqlite => TestDatabase::file(dir.path(), "tocsin"),
            Backend::Postgres => TestDatabase::of_schema(Schema::fresh().await?),
        };
        let mut config = database.config_in(dir.path());
        adjust(&mut config);
        let app = App::open(config).await.expect("app opens");
        Some(TestApp {
            app,
            dir,
            _database: database,
        })
    }

    pub async fn with_smtp(server: &SmtpServer) -> TestApp {
        let url = server.url();
        TestApp::new(move |config| {
            config.email.transport = EmailTransport::Smtp;
            config.email.smtp_url = url;
        })
        .await
    }

    /// Drafts, approves (as someone else: with accounts, an approver who is not its author)
    /// and returns the update's id.
    pub async fn approved_update(&self, source: &str) -> i64 {
        let file = self.dir.path().join("update.toml");
        std::fs::write(&file, source).expect("write update file");
        let draft = self
            .app
            .draft(&file, None, DraftOptions::default())
            .await
            .expect("draft");
        let users = self.app.store.users().await.expect("users");
        let approver = users
            .iter()
            .find(|user| {
                user.role == tocsin::domain::UserRole::Approver
                    && user.name.as_str() != draft.draft.update.author
            })
            .map_or("Second Person", |user| user.name.as_str());
        self.app.approve(draft.id, approver).await.expect("approve");
        draft.id
    }
}

/// `count` patients with an e-mail address each, languages in turn nl, fr, en, one booked
/// appointment each on 13 January 2026.
pub fn patients(count: usize) -> (Vec<NewContact>, Vec<NewAppointment>) {
    let languages = ["nl-BE", "Français", "en"];
    let departments = ["cardiology", "radiology", "day-surgery"];
    let start = chrono::DateTime::parse_from_rfc3339("2026-01-13T07:00:00Z")
        .expect("valid")
        .with_timezone(&chrono::Utc);
    let mut contacts = Vec::with_capacity(count);
    let mut appointments = Vec::with_capacity(count);
    for n in 0..count {
        contacts.push(NewContact {
            external_id: format!("P{n:06}"),
            identities: vec![Identity::patient(format!("P{n:06}"))],
            role: Role::Patient,
            first_name: format!("Patiënt{n}"),
            last_name: "Test".into(),
            language: Some(languages[n % 3].into()),
            mobile: None,
            phone: None,
            email: Some(format!("patient{n}@example.be")),
            telegram_chat_id: None,
            organisation: None,
            birth_date: None,
        });
        appointments.push(NewAppointment {
            external_id: format!("A{n:06}"),
            patient: Identity::patient(format!("P{n:06}")),
            gp: None,
            starts_at: start + chrono::Duration::minutes(15 * (n % 36) as i64),
            campus: "Deurne".into(),
            department: departments[n % 3].into(),
            practitioner: None,
            status: AppointmentStatus::Booked,
        });
    }
    (contacts, appointments)
}

pub async fn seed(app: &App, count: usize) {
    let (contacts, appointments) = patients(count);
    app.store
        .import(&contacts, &appointments, "test seed", 0)
        .await
        .expect("seed");
}

/// Patient `P{n}`, reachable on `mobile` (and `email`, if given), with one booked appointment
/// `A{n}` at Deurne cardiology on Tuesday 13 January 2026 at 09:30 in Brussels.
pub fn sms_patient(
    n: usize,
    language: &str,
    mobile: String,
    email: Option<&str>,
) -> (NewContact, NewAppointment) {
    let contact = NewContact {
        external_id: format!("P{n}"),
        identities: vec![Identity::patient(format!("P{n}"))],
        role: Role::Patient,
        first_name: format!("Patiënt{n}"),
        last_name: "Test".into(),
        language: Some(language.into()),
        mobile: Some(mobile),
        phone: None,
        email: email.map(str::to_string),
        telegram_chat_id: None,
        organisation: None,
        birth_date: None,
    };
    let appointment = NewAppointment {
        external_id: format!("A{n}"),
        patient: Identity::patient(format!("P{n}")),
        gp: None,
        starts_at: chrono::DateTime::from_timestamp_millis(1_768_293_000_000).expect("valid"),
        campus: "Deurne".into(),
        department: "cardiology".into(),
        practitioner: None,
        status: AppointmentStatus::Booked,
    };
    (contact, appointment)
}

/// Three patients, nl, fr and en, with Belgian mobiles `+3247112345{0,1,2}` and one booked
/// appointment each, on Tuesday 13 January 2026 at 09:30 in Brussels.
pub async fn seed_sms_patients(app: &App) {
    let (contacts, appointments): (Vec<_>, Vec<_>) = ["nl", "fr", "en"]
        .into_iter()
        .enumerate()
        .map(|(n, language)| sms_patient(n, language, format!("+3247112345{n}"), None))
        .unzip();
    app.store
        .import(&contacts, &appointments, "test seed", 0)
        .await
        .expect("seed");
}

/// An e-mail-only update to patients, with the accents that break careless mailers; by
/// `els`, so that it is an account's where the test adds accounts.
pub const EMAIL_UPDATE: &str = r#"incident = "cyberattack-2026-01"
kind = "alert"
author = "els"
audiences = ["patients"]
channels = ["email"]

[nl]
title = "Cyberaanval – patiënten worden geïnformeerd"
body = "Alle geplande operaties gaan niet door."
sms = "Cyberaanval: operaties gaan niet door."

[fr]
title = "Cyberattaque – opérations annulées, élèves infirmiers naïfs"
body = "Toutes les opérations prévues sont annulées."
sms = "Cyberattaque: operations annulees."

[en]
title = "Cyberattack – operations cancelled"
body = "All planned operations are cancelled."
sms = "Cyberattack: operations cancelled."
"#;

pub fn tocsin_binary() -> PathBuf {
    PathBuf::from(env!("CARGO_BIN_EXE_tocsin"))
}

/// The `tocsin` executable in English, whatever the locale of the machine the tests run on:
/// the tests read its sentences (tests/pipeline/cli_language.rs runs it in other languages).
pub fn tocsin_command() -> std::process::Command {
    let mut command = std::process::Command::new(tocsin_binary());
    command.env("TOCSIN_LANG", "en");
    command
}

/// Debian's headless browser, which the press room's tests render pages in.
pub const CHROMIUM: &str = "/usr/bin/chromium";

/// Longer than Chromium ever took here on a loaded machine (a few seconds).
const CHROMIUM_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(90);

/// Chromium, headless, on `url` with `args` and a profile of its own under `scratch`; its
/// standard output. Killed with every process it started (its process group) if it takes
/// longer than [`CHROMIUM_TIMEOUT`], so that no renderer outlives the test.
pub fn chromium(args: &[&str], url: &str, scratch: &Path) -> Vec<u8> {
    use std::os::unix::process::CommandExt;
    use std::process::{Command, Stdio};
    use std::time::{Duration, Instant};
    let profile = tempfile::tempdir_in(scratch).expect("profile dir");
    let stdout = profile.path().join("chromium.out");
    let stderr = profile.path().join("chromium.err");
    let mut child = Command::new(CHROMIUM)
        .args([
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--no-first-run",
            "--hide-scrollbars",
        ])
        .arg(format!(
            "--user-data-dir={}",
            profile.path().join("profile").display()
        ))
        .args(args)
        .arg(url)
        .stdin(Stdio::null())
        .stdout(std::fs::File::create(&stdout).expect("stdout file"))
        .stderr(std::fs::File::create(&stderr).expect("stderr file"))
        .process_group(0)
        .spawn()
        .expect("start chromium");
    let group = child.id() as libc::pid_t;
    let started = Instant::now();
    let status = loop {
        if let Some(status) = child.try_wait().expect("wait for chromium") {
            break Some(status);
        }
        if started.elapsed() > CHROMIUM_TIMEOUT {
            break None;
        }
        std::thread::sleep(Duration::from_millis(50));
    };
    // SAFETY: a plain kill(2) of the group this test started; a group already gone only
    // makes it fail with ESRCH.
    unsafe { libc::kill(-group, libc::SIGKILL) };
    let _ = child.wait();
    let log = std::fs::read_to_string(&stderr).unwrap_or_default();
    match status {
        None => panic!("chromium did not finish {url} within {CHROMIUM_TIMEOUT:?}:\n{log}"),
        Some(status) if !status.success() => panic!("chromium {status} {args:?} on {url}:\n{log}"),
        Some(_) => std::fs::read(&stdout).expect("chromium's output"),
    }
}
