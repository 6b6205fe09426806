//! The console's accounts, sessions and audit log, through the `tocsin` executable where a
//! person would use it and through `App` where the console will.

use crate::cli::{configure, text};
use crate::support::{config_in, tocsin_command, TestApp};
use std::io::Write;
use std::path::Path;
use std::process::Stdio;
use std::sync::Arc;
use std::time::Duration;
use tocsin::app::{Actor, App, NewCredential};
use tocsin::clock::{Clock, ManualClock};
use tocsin::domain::{SecretToken, UserName, UserRole};
use tocsin::store::{AuditEntry, FirstCredential};

const PASSWORD: &str = "stormklok in de nacht";

/// Runs `tocsin args…` in `dir` with `stdin` as its standard input (a pipe, not a terminal).
fn tocsin_with_stdin(dir: &Path, args: &[&str], stdin: &str) -> std::process::Output {
    let mut child = tocsin_command()
        .current_dir(dir)
        .args(args)
        .env("USER", "it-desk")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("run tocsin");
    child
        .stdin
        .take()
        .expect("piped stdin")
        .write_all(stdin.as_bytes())
        .expect("write stdin");
    child.wait_with_output().expect("tocsin ends")
}

async fn app_in(dir: &Path) -> App {
    App::open_existing(config_in(dir)).await.expect("app opens")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_user_added_with_the_password_on_stdin_signs_in_with_it_and_the_name_is_not_taken_twice()
{
    let dir = tempfile::tempdir().expect("temp dir");
    configure(dir.path(), "");
    let out = tocsin_with_stdin(
        dir.path(),
        &["user", "add", "An.Peeters", "--role", "author"],
        &format!("{PASSWORD}\n"),
    );
    let (stdout, stderr) = text(&out);
    assert!(out.status.success(), "{stdout}{stderr}");
    assert_eq!(stdout, "user an.peeters added, role author\n");

    let again = tocsin_with_stdin(
        dir.path(),
        &["user", "add", "an.peeters", "--role", "approver"],
        "another long password\n",
    );
    let (_, stderr) = text(&again);
    assert!(!again.status.success());
    assert_eq!(stderr, "error: there is a user named an.peeters already\n");

    let short = tocsin_with_stdin(
        dir.path(),
        &["user", "add", "bert", "--role", "approver"],
        "kort\n",
    );
    let (_, stderr) = text(&short);
    assert!(!short.status.success());
    assert!(stderr.contains("at least 12 characters"), "{stderr}");

    let app = app_in(dir.path()).await;
    let users = app.users(&Actor::cli("test")).await.expect("users");
    assert_eq!(users.len(), 1, "{users:?}");
    let stored = users[0].password_hash.as_deref().expect("a password hash");
    assert!(stored.starts_with("$argon2id$"), "{stored}");
    assert!(!stored.contains(PASSWORD));
    let database = std::fs::read(dir.path().join("tocsin.db")).expect("read the database");
    assert!(
        !database
            .windows(PASSWORD.len())
            .any(|w| w == PASSWORD.as_bytes()),
        "the password is nowhere in the database file"
    );

    let (user, _token) = app
        .sign_in("AN.PEETERS", PASSWORD, "192.0.2.7")
        .await
        .expect("the right password signs in");
    assert_eq!(user.role, UserRole::Author);
    let wrong = app
        .sign_in("an.peeters", "stormklok in de dag", "192.0.2.7")
        .await
        .expect_err("a wrong password");
    let unknown = app
        .sign_in("nobody", PASSWORD, "192.0.2.7")
        .await
        .expect_err("an unknown name");
    assert_eq!(
        wrong.to_string(),
        unknown.to_string(),
        "one refusal for both"
    );
}

#[tokio::test]
async fn a_session_token_resolves_until_sign_out_and_never_after_expiry() {
    let mut test = TestApp::new(|config| config.console.session_hours = 2).await;
    let clock = Arc::new(ManualClock::new());
    test.app.clock = clock.clone();
    let app = &test.app;
    let cli = Actor::cli("test");
    app.add_user(
        "an",
        UserRole::Approver,
        NewCredential::Password(PASSWORD.into()),
        &cli,
    )
    .await
    .expect("add");

    let (_, token) = app
        .sign_in("an", PASSWORD, "192.0.2.7")
        .await
        .expect("sign in");
    let session = app.session(&token).await.expect("read").expect("open");
    assert_eq!(session.user.name.as_str(), "an");
    assert_eq!(session.ip.as_deref(), Some("192.0.2.7"));
    assert_eq!(session.id, token.id(), "kept by its hash");
    assert_ne!(session.id, token.expose());
    assert!(app
        .session(&SecretToken::presented("not a token"))
        .await
        .expect("read")
        .is_none());

    assert!(app.sign_out(&token, "192.0.2.7").await.expect("sign out"));
    assert!(app.session(&token).await.expect("read").is_none(), "ended");
    assert!(!app.sign_out(&token, "192.0.2.7").await.expect("again"));

    let (_, token) = app
        .sign_in("an", PASSWORD, "192.0.2.7")
        .await
        .expect("sign in");
    clock.advance(Duration::from_secs(2 * 3600 - 1));
    assert!(app.session(&token).await.expect("read").is_some());
    clock.advance(Duration::from_secs(1));
    assert!(
        app.session(&token).await.expect("read").is_none(),
        "expired"
    );
}

#[tokio::test]
async fn disabling_a_user_ends_their_sessions_and_their_password_no_longer_signs_in() {
    let test = TestApp::new(|_| {}).await;
    let app = &test.app;
    let cli = Actor::cli("test");
    app.add_user(
        "an",
        UserRole::Author,
        NewCredential::Password(PASSWORD.into()),
        &cli,
    )
    .await
    .expect("add");
    let (_, token) = app
        .sign_in("an", PASSWORD, "192.0.2.7")
        .await
        .expect("sign in");
    let user = app.disable_user("an", &cli).await.expect("disable");
    assert!(user.disabled_at_ms.is_some());
    assert!(app.session(&token).await.expect("read").is_none());
    assert!(app.sign_in("an", PASSWORD, "192.0.2.7").await.is_err());
    assert!(app.disable_user("nobody", &cli).await.is_err());
}

#[tokio::test]
async fn a_setup_token_sets_the_password_once_and_not_after_it_expires() {
    let mut test = TestApp::new(|config| config.console.setup_link_hours = 1).await;
    let clock = Arc::new(ManualClock::new());
    test.app.clock = clock.clone();
    let app = &test.app;
    let cli = Actor::cli("test");
    let (user, setup) = app
        .add_user("bert", UserRole::Approver, NewCredential::SetupToken, &cli)
        .await
        .expect("add");
    assert!(user.password_hash.is_none());
    let setup = setup.expect("a setup token");
    assert!(app.sign_in("bert", PASSWORD, "192.0.2.7").await.is_err());

    let hash = tocsin::accounts::hash_password(PASSWORD).expect("hash");
    let now = clock.now_ms();
    let redeemed = app
        .store
        .redeem_setup_token(&setup.token.id(), &hash, now)
        .await
        .expect("redeem");
    assert_eq!(
        redeemed.map(|u| u.name.to_string()).as_deref(),
        Some("bert")
    );
    assert!(
        app.store
            .redeem_setup_token(&setup.token.id(), &hash, now)
            .await
            .expect("redeem")
            .is_none(),
        "used once"
    );
    app.sign_in("bert", PASSWORD, "192.0.2.7")
        .await
        .expect("signs in");

    let late = SecretToken::from_bytes([9; 32]);
    let name = UserName::parse("carla").expect("name");
    let first = FirstCredential::SetupToken {
        id: late.id(),
        expires_at_ms: clock.now_ms() + 3_600_000,
    };
    app.store
        .add_user(&name, UserRole::Author, &first, clock.now_ms())
        .await
        .expect("add");
    clock.advance(Duration::from_secs(3600));
    assert!(
        app.store
            .redeem_setup_token(&late.id(), &hash, clock.now_ms())
            .await
            .expect("redeem")
            .is_none(),
        "expired"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_audit_export_lists_who_did_what_newest_first_with_formulas_defused() {
    let dir = tempfile::tempdir().expect("temp dir");
    configure(dir.path(), "");
    let out = tocsin_with_stdin(
        dir.path(),
        &["user", "add", "an", "--role", "admin"],
        &format!("{PASSWORD}\n"),
    );
    assert!(out.status.success(), "{:?}", text(&out));
    let app = app_in(dir.path()).await;
    app.store
        .append_audit(&AuditEntry {
            at_ms: 1_000_000_000_000, // 2001: before --since
            user: None,
            action: "user.add".into(),
            target: Some("old".into()),
            detail: None,
            remote: Some("cli".into()),
        })
        .await
        .expect("append");
    // What a version before December 2026 wrote for a sign-in with an unknown name: the
    // name as typed. The export still makes text of it.
    app.store
        .append_audit(&AuditEntry {
            at_ms: chrono::Utc::now().timestamp_millis(),
            user: None,
            action: "login.failed".into(),
            target: Some("=HYPERLINK(\"http://x\")".into()),
            detail: None,
            remote: Some("198.51.100.4".into()),
        })
        .await
        .expect("append");
    // A password typed into the name field: none of it is kept.
    let typed_password = "=Stormklok in de nacht";
    assert!(app
        .sign_in(typed_password, PASSWORD, "198.51.100.4")
        .await
        .is_err());
    app.sign_in("an", PASSWORD, "198.51.100.4")
        .await
        .expect("sign in");
    for args in [&["user", "list"][..], &["user", "disable", "an"]] {
        let out = tocsin_with_stdin(dir.path(), args, "");
        assert!(out.status.success(), "{:?}", text(&out));
    }
    let out = tocsin_with_stdin(
        dir.path(),
        &[
            "audit",
            "export",
            "--since",
            "2026-01-01",
            "--csv",
            "audit.csv",
            "--separator",
            ",",
        ],
        "",
    );
    let (stdout, stderr) = text(&out);
    assert!(out.status.success(), "{stdout}{stderr}");
    assert_eq!(stdout, "6 audit entries written to audit.csv\n");
    let csv = std::fs::read_to_string(dir.path().join("audit.csv")).expect("read the CSV");
    let rows: Vec<Vec<String>> = csv::ReaderBuilder::new()
        .from_reader(csv.trim_start_matches('\u{feff}').as_bytes())
        .records()
        .map(|record| {
            let record = record.expect("a CSV record");
            // at, user, action, target, detail, remote
            [1, 2, 3, 4, 5]
                .iter()
                .map(|&i| record[i].to_string())
                .collect()
        })
        .collect();
    let cli_by = "CLI, run by it-desk";
    let expected: Vec<Vec<String>> = [
        ["", "user.disable", "an", cli_by, "cli"],
        ["", "user.list", "", cli_by, "cli"],
        ["an", "login", "", "", "198.51.100.4"],
        ["", "login.failed", "an unknown name", "", "198.51.100.4"],
        [
            "",
            "login.failed",
            "'=HYPERLINK(\"http://x\")",
            "",
            "198.51.100.4",
        ],
        [
            "",
            "user.add",
            "an",
            &format!("role admin, with a password; {cli_by}"),
            "cli",
        ],
    ]
    .iter()
    .map(|row| row.iter().map(|cell| cell.to_string()).collect())
    .collect();
    assert_eq!(rows, expected);
    assert!(!csv.contains(PASSWORD));
    assert!(!csv.contains("Stormklok"), "{csv}");

    let out = tocsin_with_stdin(
        dir.path(),
        &["audit", "export", "--user", "AN", "--csv", "an.csv"],
        "",
    );
    assert!(out.status.success(), "{:?}", text(&out));
    let csv = std::fs::read_to_string(dir.path().join("an.csv")).expect("read the CSV");
    let lines: Vec<&str> = csv.lines().collect();
    assert_eq!(lines.len(), 2, "{csv}");
    assert!(lines[1].contains(";an;login;;;198.51.100.4"), "{csv}");
}

#[tokio::test]
async fn the_login_throttle_follows_the_configuration_on_the_apps_clock() {
    let mut test = TestApp::new(|config| config.console.login_attempts_before_delay = 2).await;
    let clock = Arc::new(ManualClock::new());
    test.app.clock = clock.clone();
    let throttle = test.app.login_throttle();
    for _ in 0..4 {
        throttle.failed("an", "192.0.2.7");
    }
    assert_eq!(throttle.wait("an", "192.0.2.7"), Duration::from_secs(2));
    clock.advance(Duration::from_secs(2));
    assert_eq!(throttle.wait("an", "192.0.2.7"), Duration::ZERO);
}

/// An update file to the press list, written by `author`.
fn press_update(author: &str) -> String {
    format!(
        "incident = \"cyberattack-2026-01\"\nkind = \"alert\"\nauthor = \"{author}\"\n\
         audiences = [\"media\"]\nchannels = [\"email\"]\nappointments = \"cancelled\"\n\
         [nl]\ntitle = \"Cyberaanval\"\nbody = \"De spoed is gesloten.\"\nsms = \"Spoed gesloten.\"\n\
         [fr]\ntitle = \"Cyberattaque\"\nbody = \"Les urgences sont fermées.\"\nsms = \"Urgences fermées.\"\n\
         [en]\ntitle = \"Cyberattack\"\nbody = \"The emergency department is closed.\"\nsms = \"Emergency closed.\"\n"
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn once_accounts_exist_drafts_and_reviews_on_the_command_line_must_name_accounts() {
    use crate::cli::with_database;
    let dir = tempfile::tempdir().expect("temp dir");
    configure(dir.path(), "");
    with_database(dir.path());
    std::fs::write(dir.path().join("update.toml"), press_update("Els Peeters")).expect("write");
    let run = |args: &[&str]| {
        let out = tocsin_with_stdin(dir.path(), args, "");
        let (stdout, stderr) = text(&out);
        (out.status.success(), stdout, stderr)
    };
    let ok = |args: &[&str]| {
        let (success, stdout, stderr) = run(args);
        assert!(success, "{args:?}: {stdout}{stderr}");
        (stdout, stderr)
    };
    let refused = |args: &[&str]| {
        let (success, stdout, stderr) = run(args);
        assert!(!success, "{args:?} refused: {stdout}{stderr}");
        stderr
    };

    // Without accounts, names are free text, and a review says what that cannot see.
    ok(&["update", "draft", "update.toml"]);
    let (_, said) = ok(&["update", "approve", "1", "--by", "Jan Claes"]);
    assert!(said.contains("Tocsin has no accounts"), "{said}");
    ok(&["update", "draft", "update.toml"]);

    for (name, role) in [
        ("els", "author"),
        ("jan", "approver"),
        ("piet", "approver"),
        ("carla", "admin"),
    ] {
        let out = tocsin_with_stdin(
            dir.path(),
            &["user", "add", name, "--role", role],
            &format!("{PASSWORD}\n"),
        );
        assert!(out.status.success(), "{:?}", text(&out));
    }

    let said = refused(&["update", "draft", "update.toml"]);
    assert!(
        said.contains("the author \"Els Peeters\" is not an account"),
        "{said}"
    );
    assert!(
        said.contains("tocsin user add NAME --role author"),
        "{said}"
    );
    assert!(said.contains("may draft: els, jan, piet"), "{said}");
    let said = refused(&["update", "draft", "update.toml", "--by", "carla"]);
    assert!(said.contains("carla is an account of role admin"), "{said}");
    let (said, _) = ok(&["update", "draft", "update.toml", "--by", "Els"]);
    assert!(said.contains("by els"), "stored as the account: {said}");
    ok(&["update", "draft", "update.toml", "--by", "jan"]);

    // Update 3 is els's, update 4 jan's.
    let said = refused(&["update", "approve", "3", "--by", "Jan Claes"]);
    assert!(said.contains("\"Jan Claes\" is not an account"), "{said}");
    assert!(
        said.contains("--role approver (approvers: jan, piet)"),
        "{said}"
    );
    let said = refused(&["update", "approve", "3", "--by", "els"]);
    assert!(said.contains("els is an account of role author"), "{said}");
    let said = refused(&["update", "approve", "4", "--by", "JAN"]);
    assert!(said.contains("four eyes"), "{said}");
    let said = refused(&["update", "return", "4", "--by", "jan", "--comment", "mine"]);
    assert!(said.contains("four eyes"), "{said}");
    // Drafted before the accounts, by a name that is none: nobody can tell who wrote it.
    let said = refused(&["update", "approve", "2", "--by", "piet"]);
    assert!(
        said.contains("drafted by \"Els Peeters\", who is not an account"),
        "{said}"
    );

    let (_, said) = ok(&["update", "approve", "3", "--by", "piet"]);
    assert!(!said.contains("no accounts"), "{said}");
    ok(&["update", "approve", "4", "--by", "piet"]);

    let app = app_in(dir.path()).await;
    let update = app.store.update(3).await.expect("update");
    assert_eq!(
        (update.author.as_str(), update.approved_by.as_deref()),
        ("els", Some("piet"))
    );
    let entries = app
        .store
        .audit_log(&tocsin::store::AuditFilter::default())
        .await
        .expect("audit log");
    let count = |action: &str, target: &str| {
        entries
            .iter()
            .filter(|entry| entry.action == action && entry.target.as_deref() == Some(target))
            .count()
    };
    assert_eq!(count("update.approve.refused", "3"), 2);
    assert_eq!(count("update.approve.refused", "4"), 1);
    assert_eq!(count("update.approve.refused", "2"), 1);
    assert_eq!(count("update.return.refused", "4"), 1);
    assert_eq!(count("update.approve", "3"), 1);
}

#[tokio::test]
async fn a_disabled_account_neither_drafts_nor_reviews_and_an_admin_does_not_review() {
    use tocsin::app::AppError;
    use tocsin::author::DraftOptions;
    use tocsin::domain::AccountRefusal;
    let test = TestApp::new(|_| {}).await;
    let app = &test.app;
    let actor = Actor::cli("test");
    for (name, role) in [
        ("els", UserRole::Author),
        ("jan", UserRole::Approver),
        ("piet", UserRole::Approver),
        ("carla", UserRole::Admin),
    ] {
        app.add_user(name, role, NewCredential::Password(PASSWORD.into()), &actor)
            .await
            .expect("user");
    }
    let source = press_update("els");
    let id = app
        .draft_source("update.toml", &source, None, DraftOptions::default())
        .await
        .expect("draft")
        .id;
    app.disable_user("piet", &actor).await.expect("disable");

    let refused = app.approve_as(id, "piet", &actor).await;
    assert!(
        matches!(
            refused,
            Err(AppError::Account(AccountRefusal::Disabled { ref name, .. })) if name == "piet"
        ),
        "{refused:?}"
    );
    let refused = app.approve_as(id, "carla", &actor).await;
    assert!(
        matches!(refused, Err(AppError::Account(AccountRefusal::Role(_)))),
        "{refused:?}"
    );
    let refused = app
        .draft_source(
            "update.toml",
            &source,
            Some("piet"),
            DraftOptions::default(),
        )
        .await;
    assert!(
        matches!(
            refused,
            Err(AppError::Account(AccountRefusal::Disabled { .. }))
        ),
        "{refused:?}"
    );
    app.approve_as(id, "Jan", &actor).await.expect("approve");
    let update = app.store.update(id).await.expect("update");
    assert_eq!(update.approved_by.as_deref(), Some("jan"));
}
