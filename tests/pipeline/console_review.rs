//! Four eyes and sending in the console: the update's page, approval (never by its author,
//! whatever the way in), sending back with a comment, the difference from the update before,
//! sending now or at a time through `serve`'s scheduler, pause, resume and halt, and the
//! audit log of each.

use super::console_client::{Browser, Console};
use super::support::{seed, TestApp};
use reqwest::StatusCode;
use std::time::Duration;
use tocsin::app::{Actor, NewCredential};
use tocsin::author::DraftOptions;
use tocsin::domain::{UpdateState, UserRole};
use tocsin::store::AuditFilter;

const PASSWORD: &str = "een lange zin om te onthouden";

/// Users els (author), jan and piet (approvers), and patients to write to.
async fn with_users() -> TestApp {
    let test = TestApp::new(|_| {}).await;
    let actor = Actor::cli("test");
    for (name, role) in [
        ("els", UserRole::Author),
        ("jan", UserRole::Approver),
        ("piet", UserRole::Approver),
    ] {
        test.app
            .add_user(name, role, NewCredential::Password(PASSWORD.into()), &actor)
            .await
            .expect("user");
    }
    seed(&test.app, 6).await;
    test
}

/// An update file whose English body says `sentence`, by `author`.
fn source(author: &str, title: &str, sentence: &str, follows: Option<i64>) -> String {
    let quote = |text: &str| toml::Value::String(text.into()).to_string();
    format!(
        "incident = \"cyberattack-2026-01\"\nkind = \"update\"\nauthor = {author}\n{follows}\
         audiences = [\"patients from=2026-01-13 to=2026-01-14\"]\nchannels = [\"email\"]\n\
         appointments = \"cancelled\"\n\
         [nl]\ntitle = {title}\nbody = \"De spoedgevallendienst is gesloten.\"\nsms = \"Spoed gesloten.\"\n\
         [fr]\ntitle = {title}\nbody = \"Les urgences sont fermées.\"\nsms = \"Urgences fermées.\"\n\
         [en]\ntitle = {title}\nbody = {sentence}\nsms = \"Emergency closed.\"\n",
        author = quote(author),
        title = quote(title),
        sentence = quote(sentence),
        follows = follows
            .map(|id| format!("follows = {id}\n"))
            .unwrap_or_default(),
    )
}

async fn draft(test: &TestApp, name: &str, text: &str) -> i64 {
    let file = test.dir.path().join(format!("{name}.toml"));
    std::fs::write(&file, text).expect("write");
    test.app
        .draft(&file, None, DraftOptions::default())
        .await
        .expect("draft")
        .id
}

async fn signed_in(console: &Console, name: &str) -> Browser {
    let mut browser = Browser::new(console);
    browser.sign_in(name, PASSWORD).await;
    browser
}

/// Waits (real time: the scheduler looks every 5 s) until the update is in `state`.
async fn until_state(test: &TestApp, id: i64, state: UpdateState) {
    for _ in 0..150 {
        if test.app.store.update_state(id).await.expect("state") == state {
            return;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!(
        "update {id} is {:?}, not {state:?}: {:?}",
        test.app.store.update_state(id).await,
        test.app.status(id).await.map(|status| status.to_text())
    );
}

/// The audit log's entries of `action` on update `id`, as (user, remote, detail).
async fn audited(test: &TestApp, action: &str, id: i64) -> Vec<(Option<String>, String, String)> {
    test.app
        .store
        .audit_log(&AuditFilter::default())
        .await
        .expect("audit log")
        .into_iter()
        .filter(|entry| entry.action == action && entry.target.as_deref() == Some(&id.to_string()))
        .map(|entry| {
            (
                entry.user.map(|user| user.to_string()),
                entry.remote.unwrap_or_default(),
                entry.detail.unwrap_or_default(),
            )
        })
        .collect()
}

#[tokio::test]
async fn an_author_cannot_approve_by_a_direct_post_nor_an_approver_their_own_update_and_another_approver_does(
) {
    let test = with_users().await;
    let by_els = draft(
        &test,
        "els",
        &source("els", "Spoed", "Emergency closed.", None),
    )
    .await;
    let by_jan = draft(
        &test,
        "jan",
        &source("Jan", "Spoed", "Emergency closed.", None),
    )
    .await;
    let console = Console::start(&test).await;

    let mut els = signed_in(&console, "els").await;
    let page = els.get(&format!("/console/updates/{by_els}")).await;
    assert_eq!(page.status, StatusCode::OK, "{}", page.body);
    assert!(
        !page.body.contains("/approve\""),
        "no approve button for an author"
    );
    let page = els
        .post(&format!("/console/updates/{by_els}/approve"), &[])
        .await;
    assert_eq!(page.status, StatusCode::FORBIDDEN, "{}", page.body);
    let page = els
        .post(&format!("/console/updates/{by_jan}/approve"), &[])
        .await;
    assert_eq!(
        page.status,
        StatusCode::FORBIDDEN,
        "an author approves nothing"
    );

    let mut jan = signed_in(&console, "jan").await;
    let page = jan.get(&format!("/console/updates/{by_jan}")).await;
    assert!(page.body.contains("You wrote this update"), "{}", page.body);
    let page = jan
        .post(&format!("/console/updates/{by_jan}/approve"), &[])
        .await;
    assert_eq!(page.status, StatusCode::FORBIDDEN, "{}", page.body);
    assert!(page.body.contains("four eyes"), "{}", page.body);
    let page = jan
        .post(
            &format!("/console/updates/{by_jan}/return"),
            &[("comment", "my own")],
        )
        .await;
    assert_eq!(
        page.status,
        StatusCode::FORBIDDEN,
        "nor sends back their own"
    );
    assert_eq!(
        test.app.store.update_state(by_jan).await.expect("state"),
        UpdateState::Draft
    );

    let page = jan
        .post(&format!("/console/updates/{by_els}/approve"), &[])
        .await;
    assert_eq!(page.status, StatusCode::SEE_OTHER, "{}", page.body);
    assert_eq!(
        page.location(),
        Some(format!("/console/updates/{by_els}?done=approved").as_str())
    );
    let update = test.app.store.update(by_els).await.expect("update");
    assert_eq!(update.state, UpdateState::Approved);
    assert_eq!(update.approved_by.as_deref(), Some("jan"));
    let page = jan
        .get(&format!("/console/updates/{by_els}?done=approved"))
        .await;
    assert!(
        page.body.contains("Approved. It can be sent"),
        "{}",
        page.body
    );

    let approvals = audited(&test, "update.approve", by_els).await;
    assert_eq!(approvals.len(), 1, "{approvals:?}");
    assert_eq!(approvals[0].0.as_deref(), Some("jan"));
    assert_eq!(approvals[0].1, "127.0.0.1");
    let refused = audited(&test, "update.approve.refused", by_jan).await;
    assert_eq!(refused.len(), 1, "{refused:?}");
    assert_eq!(refused[0].0.as_deref(), Some("jan"));
    let reviews = test.app.store.reviews(by_els).await.expect("reviews");
    assert_eq!(reviews.len(), 1);
    assert_eq!(reviews[0].by, "jan");
}

#[tokio::test]
async fn a_refusal_on_a_french_or_dutch_page_is_in_that_language_with_the_state_named_in_it() {
    let test = with_users().await;
    let by_els = draft(
        &test,
        "els",
        &source("els", "Spoed", "Emergency closed.", None),
    )
    .await;
    let by_jan = draft(
        &test,
        "jan",
        &source("Jan", "Spoed", "Emergency closed.", None),
    )
    .await;
    let console = Console::start(&test).await;
    // What the page says, with Tera's escaped apostrophes read back.
    let said = |body: &str| body.replace("&#x27;", "'");

    let mut french = Browser::new(&console);
    french.accept_language = "fr-BE,fr;q=0.9".into();
    french.sign_in("jan", PASSWORD).await;
    let page = french
        .post(&format!("/console/updates/{by_els}/pause"), &[])
        .await;
    assert_eq!(
        page.status,
        StatusCode::UNPROCESSABLE_ENTITY,
        "{}",
        page.body
    );
    assert!(
        said(&page.body).contains(&format!(
            "la mise à jour {by_els} est à l'état «\u{a0}brouillon\u{a0}»\u{a0}: seule une mise à \
             jour en cours d'envoi peut être mise en pause"
        )),
        "{}",
        page.body
    );
    let page = french
        .post(&format!("/console/updates/{by_jan}/approve"), &[])
        .await;
    assert_eq!(page.status, StatusCode::FORBIDDEN, "{}", page.body);
    assert!(
        said(&page.body)
            .contains("une deuxième personne doit l'approuver (principe des quatre yeux)"),
        "{}",
        page.body
    );

    let mut dutch = Browser::new(&console);
    dutch.accept_language = "nl-BE,nl;q=0.9".into();
    dutch.sign_in("piet", PASSWORD).await;
    let page = dutch
        .post(&format!("/console/updates/{by_els}/resume"), &[])
        .await;
    assert_eq!(
        page.status,
        StatusCode::UNPROCESSABLE_ENTITY,
        "{}",
        page.body
    );
    assert!(
        said(&page.body).contains(&format!(
            "update {by_els} heeft de status ‘ontwerp’ en is niet gepauzeerd: er valt niets te \
             hervatten"
        )),
        "{}",
        page.body
    );
    let page = dutch
        .post(
            &format!("/console/updates/{by_els}/send"),
            &[("at", "2026-01-13T09:30")],
        )
        .await;
    assert_eq!(
        page.status,
        StatusCode::UNPROCESSABLE_ENTITY,
        "{}",
        page.body
    );
    assert!(
        said(&page.body).contains(&format!(
            "update {by_els} heeft de status ‘ontwerp’: alleen een goedgekeurde update waarvan \
             de verzending nog niet begonnen is, kan worden verstuurd of ingepland"
        )),
        "{}",
        page.body
    );
    assert!(!page.body.contains("only an"), "English on a Dutch page");
}

#[tokio::test]
async fn a_draft_sent_back_shows_the_comment_to_its_author_on_its_page_and_in_the_list() {
    let test = with_users().await;
    let id = draft(
        &test,
        "els",
        &source("els", "Spoed", "Emergency closed.", None),
    )
    .await;
    let console = Console::start(&test).await;

    let mut jan = signed_in(&console, "jan").await;
    let page = jan
        .post(
            &format!("/console/updates/{id}/return"),
            &[("comment", "  ")],
        )
        .await;
    assert_eq!(
        page.status,
        StatusCode::UNPROCESSABLE_ENTITY,
        "a comment is required"
    );
    let comment = "Zeg <b>wanneer</b> de spoed weer opengaat & waarheen.";
    let page = jan
        .post(
            &format!("/console/updates/{id}/return"),
            &[("comment", comment)],
        )
        .await;
    assert_eq!(page.status, StatusCode::SEE_OTHER, "{}", page.body);
    assert_eq!(
        test.app.store.update_state(id).await.expect("state"),
        UpdateState::Draft
    );

    let mut els = signed_in(&console, "els").await;
    els.accept_language = "nl-BE".into();
    let escaped = "Zeg &lt;b&gt;wanneer&lt;&#x2F;b&gt; de spoed weer opengaat &amp; waarheen.";
    let page = els.get(&format!("/console/updates/{id}")).await;
    assert!(
        page.body.contains("Teruggestuurd door jan"),
        "{}",
        page.body
    );
    assert!(page.body.contains(escaped), "{}", page.body);
    assert!(!page.body.contains("<b>wanneer"));
    let page = els.get("/console/updates").await;
    assert!(
        page.body.contains("Teruggestuurd door jan"),
        "{}",
        page.body
    );
    assert!(page.body.contains(escaped), "{}", page.body);

    let returned = audited(&test, "update.return", id).await;
    assert_eq!(returned.len(), 1);
    assert_eq!(returned[0].0.as_deref(), Some("jan"));
    assert!(returned[0].2.contains("wanneer"), "{returned:?}");
}

#[tokio::test]
async fn the_update_page_shows_the_changed_sentence_and_keeps_every_text_inert() {
    let test = with_users().await;
    let first = test
        .approved_update(&source(
            "els",
            "Spoed",
            "The emergency department is closed. Call your GP.",
            None,
        ))
        .await;
    let nasty = "<script>alert('x')</script> & \"quoted\"";
    let second = draft(
        &test,
        "second",
        &source(
            "els",
            nasty,
            "The emergency department is open again. Call your GP.",
            Some(first),
        ),
    )
    .await;
    let console = Console::start(&test).await;

    let mut jan = signed_in(&console, "jan").await;
    let page = jan.get(&format!("/console/updates/{second}")).await;
    assert_eq!(page.status, StatusCode::OK, "{}", page.body);
    assert!(
        page.body
            .contains("<del>closed.</del><ins>open again.</ins>"),
        "{}",
        page.body
    );
    assert!(page.body.contains(&format!("Compared with update {first}")));
    assert!(!page.body.contains("<script>alert"), "{}", page.body);
    let escaped = "&lt;script&gt;alert(&#x27;x&#x27;)&lt;&#x2F;script&gt;";
    // The title on the page, in the diff and in each language's e-mail preview.
    assert!(page.body.matches(escaped).count() >= 6, "{}", page.body);
    assert!(page.body.contains("E-mail"), "a preview per channel");
    assert!(
        page.body.contains("Patiënt"),
        "a sample patient: {}",
        page.body
    );
    assert!(page.body.contains("Whom it reaches"));
    assert!(
        page.body.contains("/console/updates/") && page.body.contains("/approve"),
        "an approver who did not write it may approve"
    );

    // Without its CSRF token, nothing happens.
    let page = jan
        .post_raw(&format!("/console/updates/{second}/approve"), &[])
        .await;
    assert_eq!(page.status, StatusCode::FORBIDDEN);
    assert_eq!(
        test.app.store.update_state(second).await.expect("state"),
        UpdateState::Draft
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_scheduled_update_starts_when_the_clock_passes_its_time_under_serve() {
    let test = with_users().await;
    let id = test
        .approved_update(&source("els", "Spoed", "Emergency closed.", None))
        .await;
    let console = Console::start(&test).await;
    let mut els = signed_in(&console, "els").await;
    let page = els
        .post(&format!("/console/updates/{id}/send"), &[("at", "")])
        .await;
    assert_eq!(
        page.status,
        StatusCode::FORBIDDEN,
        "an author does not send"
    );

    let mut jan = signed_in(&console, "jan").await;
    let tz: chrono_tz::Tz = "Europe/Brussels".parse().expect("tz");
    let in_two_hours = chrono::Utc::now().with_timezone(&tz) + chrono::Duration::hours(2);
    let at = in_two_hours.format("%Y-%m-%dT%H:%M").to_string();
    let page = jan
        .post(&format!("/console/updates/{id}/send"), &[("at", &at)])
        .await;
    assert_eq!(page.status, StatusCode::SEE_OTHER, "{}", page.body);
    let update = test.app.store.update(id).await.expect("update");
    let expected = in_two_hours.timestamp_millis() / 60_000 * 60_000;
    assert_eq!(update.send_at_ms, Some(expected));

    // The scheduler looks every 5 s: after two looks, it has not started.
    tokio::time::sleep(Duration::from_secs(11)).await;
    assert_eq!(
        test.app.store.update_state(id).await.expect("state"),
        UpdateState::Approved
    );
    console.clock.advance(Duration::from_secs(2 * 3600 + 60));
    until_state(&test, id, UpdateState::Sent).await;
    let status = test.app.status(id).await.expect("status");
    assert_eq!(status.total, 6, "every patient written to");

    let scheduled = audited(&test, "update.schedule", id).await;
    assert_eq!(scheduled.len(), 1);
    assert_eq!(scheduled[0].0.as_deref(), Some("jan"));
    assert_eq!(scheduled[0].1, "127.0.0.1");
    assert!(
        scheduled[0]
            .2
            .contains(&in_two_hours.format("%Y-%m-%d %H:%M").to_string()),
        "{scheduled:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn send_now_pause_resume_and_halt_from_the_update_page_are_done_and_audited() {
    let test = with_users().await;
    let id = test
        .approved_update(&source("els", "Spoed", "Emergency closed.", None))
        .await;
    let console = Console::start(&test).await;
    let mut jan = signed_in(&console, "jan").await;

    // Planned an hour ahead of serve's clock: the run waits, and a person can pause it.
    let update = test.app.store.update(id).await.expect("update");
    let later = tocsin::clock::Clock::now_ms(console.clock.as_ref()) + 3_600_000;
    tocsin::plan::plan(
        test.app.store.as_ref(),
        &test.app.renderer,
        &test.app.config,
        &update,
        later,
    )
    .await
    .expect("plan");
    test.app
        .store
        .set_update_state(id, UpdateState::Sending)
        .await
        .expect("sending");

    let page = jan.get(&format!("/console/updates/{id}")).await;
    assert!(page.body.contains("/watch\""), "the way to the dashboard");
    let page = jan.post(&format!("/console/updates/{id}/pause"), &[]).await;
    assert_eq!(page.status, StatusCode::SEE_OTHER, "{}", page.body);
    let update = test.app.store.update(id).await.expect("update");
    assert_eq!(update.paused.as_deref(), Some("paused by jan"));
    let backlog = test.app.store.backlog(id).await.expect("backlog");
    assert_eq!((backlog.open, backlog.held), (0, 6));
    let page = jan.get(&format!("/console/updates/{id}?done=paused")).await;
    assert!(page.body.contains("/resume\""), "{}", page.body);
    assert!(!page.body.contains("/pause\""));

    // Resumed: due now on serve's clock, sent by its scheduler.
    let page = jan
        .post(&format!("/console/updates/{id}/resume"), &[])
        .await;
    assert_eq!(page.status, StatusCode::SEE_OTHER, "{}", page.body);
    until_state(&test, id, UpdateState::Sent).await;
    let status = test.app.status(id).await.expect("status");
    assert_eq!(status.total, 6);

    let page = jan.post(&format!("/console/updates/{id}/halt"), &[]).await;
    assert_eq!(page.status, StatusCode::SEE_OTHER, "{}", page.body);
    assert_eq!(
        test.app.store.update_state(id).await.expect("state"),
        UpdateState::Halted
    );

    // Send now marks the update for the scheduler, which starts it within seconds.
    let now = test
        .approved_update(&source("els", "Nu", "Emergency closed now.", None))
        .await;
    let page = jan
        .post(&format!("/console/updates/{now}/send"), &[("at", "")])
        .await;
    assert_eq!(page.status, StatusCode::SEE_OTHER, "{}", page.body);
    assert!(test
        .app
        .store
        .update(now)
        .await
        .expect("update")
        .send_at_ms
        .is_some());
    until_state(&test, now, UpdateState::Sent).await;

    for (action, target) in [
        ("update.pause", id),
        ("update.resume", id),
        ("update.halt", id),
        ("update.send", now),
    ] {
        let entries = audited(&test, action, target).await;
        assert_eq!(entries.len(), 1, "{action}: {entries:?}");
        assert_eq!(entries[0].0.as_deref(), Some("jan"), "{action}");
        assert_eq!(entries[0].1, "127.0.0.1", "{action}");
    }
}

#[tokio::test]
async fn the_commands_of_the_cli_are_audited_with_the_login_and_cli_as_remote() {
    let test = with_users().await;
    let app = &test.app;
    let actor = Actor::cli("operator");
    let file = test.dir.path().join("cli.toml");
    std::fs::write(&file, source("els", "Spoed", "Emergency closed.", None)).expect("write");
    let id = app
        .draft_as(&file, None, DraftOptions::default(), &actor)
        .await
        .expect("draft")
        .id;
    app.return_to_author(id, "jan", "Shorter, please.", &actor)
        .await
        .expect("return");
    let refused = app.approve_as(id, "els", &actor).await;
    assert!(refused.is_err(), "the author may not approve");
    app.approve_as(id, "jan", &actor).await.expect("approve");
    app.revoke_as(id, "jan", &actor).await.expect("revoke");
    app.approve_as(id, "piet", &actor).await.expect("approve");
    let at = app.local_time_ms("2099-12-01 09:30").expect("a time");
    app.schedule(id, Some(at), "piet", &actor)
        .await
        .expect("schedule");
    assert_eq!(
        app.store.update(id).await.expect("update").send_at_ms,
        Some(at)
    );
    app.halt_as(id, "piet", &actor).await.expect("halt");
    let other = draft(&test, "other", &source("els", "Weg", "Gone.", None)).await;
    app.discard_as(other, "els", &actor).await.expect("discard");

    for (action, target) in [
        ("update.draft", id),
        ("update.return", id),
        ("update.approve.refused", id),
        ("update.revoke", id),
        ("update.schedule", id),
        ("update.halt", id),
        ("update.discard", other),
    ] {
        let entries = audited(&test, action, target).await;
        assert!(!entries.is_empty(), "{action}");
        assert_eq!(entries[0].0, None, "{action}");
        assert_eq!(entries[0].1, "cli", "{action}");
        assert!(
            entries[0].2.contains("CLI, run by operator"),
            "{action}: {entries:?}"
        );
    }
    assert_eq!(audited(&test, "update.approve", id).await.len(), 2);
    assert!(audited(&test, "update.schedule", id).await[0]
        .2
        .contains("at 2099-12-01 09:30"));
}

#[tokio::test]
async fn update_return_and_send_at_on_the_command_line_are_stored_and_audited() {
    use crate::cli::{configure, tocsin, with_database};
    let dir = tempfile::tempdir().expect("temp dir");
    configure(dir.path(), "");
    with_database(dir.path());
    std::fs::write(
        dir.path().join("update.toml"),
        source("els", "Spoed", "Emergency closed.", None).replace(
            "audiences = [\"patients from=2026-01-13 to=2026-01-14\"]",
            "audiences = [\"media\"]",
        ),
    )
    .expect("write");
    let run = |args: &[&str]| {
        let out = tocsin(dir.path(), args);
        let said = String::from_utf8_lossy(&out.stdout).to_string();
        assert!(
            out.status.success(),
            "{args:?}: {said}{}",
            String::from_utf8_lossy(&out.stderr)
        );
        said
    };
    run(&["update", "draft", "update.toml"]);
    let said = run(&[
        "update",
        "return",
        "1",
        "--by",
        "jan",
        "--comment",
        "Say when it opens again.",
    ]);
    assert!(said.contains("sent back to its author by jan"), "{said}");
    let refused = tocsin(
        dir.path(),
        &["update", "return", "1", "--by", "els", "--comment", "mine"],
    );
    assert!(!refused.status.success(), "the author does not review");
    let said = run(&["update", "list"]);
    assert!(
        said.contains("sent back by jan: Say when it opens again."),
        "{said}"
    );
    run(&["update", "approve", "1", "--by", "jan"]);
    let said = run(&["update", "send", "1", "--at", "2099-12-01 09:30"]);
    assert!(said.contains("to be sent at 2099-12-01 09:30"), "{said}");

    let mut config =
        tocsin::config::Config::load(Some(&dir.path().join("tocsin.toml"))).expect("config");
    config.database_url = format!("sqlite://{}", dir.path().join("tocsin.db").display());
    let app = tocsin::app::App::open_existing(config).await.expect("app");
    let update = app.store.update(1).await.expect("update");
    assert_eq!(
        update.state,
        UpdateState::Approved,
        "not sent by the command"
    );
    assert_eq!(
        update.send_at_ms,
        Some(app.local_time_ms("2099-12-01 09:30").expect("time"))
    );
    let reviews = app.store.reviews(1).await.expect("reviews");
    assert_eq!(reviews.len(), 2);
    assert_eq!(
        reviews[0].comment.as_deref(),
        Some("Say when it opens again.")
    );
    let entries = app
        .store
        .audit_log(&AuditFilter::default())
        .await
        .expect("audit");
    for action in [
        "update.draft",
        "update.return",
        "update.approve",
        "update.schedule",
    ] {
        let entry = entries
            .iter()
            .find(|entry| entry.action == action)
            .unwrap_or_else(|| panic!("{action} audited"));
        assert_eq!(entry.remote.as_deref(), Some("cli"), "{action}");
        assert_eq!(entry.target.as_deref(), Some("1"), "{action}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_scheduled_update_serve_cannot_start_says_why_on_its_page_and_in_status_and_logs_it_once()
{
    let test = with_users().await;
    let id = test
        .approved_update(&source("els", "Spoed", "Emergency closed.", None))
        .await;
    // Planning refuses this configuration (`Config::load` would refuse the file too, so it
    // is set here, on serve's copy): the update cannot start.
    let console = Console::start_with(&test, |config| {
        config
            .telegram
            .public_channels
            .insert("de".into(), "@ziekenhuis_de".into());
    })
    .await;
    let mut jan = signed_in(&console, "jan").await;
    let page = jan
        .post(&format!("/console/updates/{id}/send"), &[("at", "")])
        .await;
    assert_eq!(page.status, StatusCode::SEE_OTHER, "{}", page.body);

    // Three looks of the scheduler, each refused.
    tokio::time::sleep(Duration::from_secs(12)).await;
    assert_eq!(
        test.app.store.update_state(id).await.expect("state"),
        UpdateState::Approved
    );
    let page = jan.get(&format!("/console/updates/{id}")).await;
    assert!(page.body.contains("Not started"), "{}", page.body);
    assert!(
        page.body
            .contains("[telegram] public_channels: &quot;de&quot; is not nl, fr or en"),
        "the reason: {}",
        page.body
    );
    jan.accept_language = "fr-BE".into();
    let page = jan.get(&format!("/console/updates/{id}")).await;
    assert!(page.body.contains("Non démarrée"), "{}", page.body);

    let events = test.app.store.update_events(id).await.expect("events");
    let refusals: Vec<_> = events
        .iter()
        .filter(|event| event.action == "not started")
        .collect();
    assert_eq!(refusals.len(), 1, "once, not at every look: {events:?}");
    assert!(refusals[0]
        .detail
        .as_deref()
        .is_some_and(|detail| detail.contains("public_channels")));

    let status = test.app.status(id).await.expect("status");
    let text = status.to_text();
    assert!(text.contains("NOT STARTED"), "{text}");
    assert!(text.contains("public_channels"), "{text}");
    assert!(text.contains("tocsin update revoke"), "{text}");

    // Taken back, it is no longer waiting to start: nothing to say.
    test.app
        .revoke_as(id, "jan", &Actor::cli("test"))
        .await
        .expect("revoke");
    assert!(test
        .app
        .status(id)
        .await
        .expect("status")
        .not_started
        .is_none());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_page_of_an_update_also_sent_on_telegram_counts_its_public_followers_and_its_french_heading_is_spaced(
) {
    let test = with_users().await;
    // The `telegram` channel implies the public followers, an audience no file spells.
    let text = source("els", "Spoed", "The emergency department is closed.", None).replace(
        "channels = [\"email\"]",
        "channels = [\"email\", \"telegram\"]",
    );
    let id = draft(&test, "telegram", &text).await;
    let console = Console::start(&test).await;

    let mut jan = signed_in(&console, "jan").await;
    let page = jan.get(&format!("/console/updates/{id}")).await;
    assert_eq!(page.status, StatusCode::OK, "{}", page.body);
    assert!(page.body.contains("<code>public</code>"), "{}", page.body);
    assert!(page.body.contains("<code>patients"), "{}", page.body);

    // French writes a (no-break) space before the colon that leads to the title.
    let mut french = Browser::new(&console);
    french.accept_language = "fr-BE,fr;q=0.9".into();
    french.sign_in("jan", PASSWORD).await;
    let page = french.get(&format!("/console/updates/{id}")).await;
    assert!(
        page.body
            .contains(&format!("<h1>Communication {id}\u{a0}: Spoed</h1>")),
        "{}",
        page.body
    );
}
