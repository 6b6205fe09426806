//! Composing in the console: from an earlier update, refusals that keep what was typed,
//! the audience counts and the SMS counter equal to what the CLI reports, text that stays
//! text, roles, CSRF, and "send me a test".

use super::console_client::{Browser, Console, Page};
use super::support::{seed, seed_sms_patients, SmtpServer, TestApp};
use reqwest::StatusCode;
use tocsin::app::{Actor, NewCredential};
use tocsin::author::DraftOptions;
use tocsin::domain::{Language, UserRole};

const PASSWORD: &str = "een lange zin om te onthouden";

async fn with_users(test: &TestApp) {
    let actor = Actor::cli("test");
    for (name, role) in [
        ("els", UserRole::Author),
        ("jan", UserRole::Approver),
        ("root", UserRole::Admin),
    ] {
        test.app
            .add_user(name, role, NewCredential::Password(PASSWORD.into()), &actor)
            .await
            .expect("user");
    }
}

/// A whole form, as a browser posts it: every field filled.
fn filled() -> Vec<(&'static str, String)> {
    let mut form: Vec<(&'static str, String)> = vec![
        ("incident", "cyberattack-2026-01".into()),
        ("kind", "alert".into()),
        ("follows", String::new()),
        ("appointments", "cancelled".into()),
        ("audience", "patients".into()),
        ("audience", "media".into()),
        ("patients_from", "2026-01-13".into()),
        ("patients_to", "2026-01-14".into()),
        ("patients_campus", String::new()),
        ("patients_department", String::new()),
        ("channel", "sms".into()),
        ("channel", "email".into()),
        ("cap_urgency", String::new()),
        ("cap_severity", String::new()),
        ("cap_certainty", String::new()),
        ("cap_response_type", String::new()),
    ];
    for (code, title, body, sms) in [
        (
            "nl",
            "Cyberaanval",
            "Alle geplande operaties gaan niet door.",
            "Door een cyberaanval gaan de operaties niet door.",
        ),
        (
            "fr",
            "Cyberattaque",
            "Toutes les opérations prévues sont annulées.",
            "En raison d'une cyberattaque, les operations sont annulees.",
        ),
        (
            "en",
            "Cyberattack",
            "All planned operations are cancelled.",
            "Due to a cyberattack, operations are cancelled.",
        ),
    ] {
        form.push((field(code, "title"), title.into()));
        form.push((field(code, "body"), body.into()));
        form.push((field(code, "sms"), sms.into()));
    }
    form
}

fn field(code: &str, part: &str) -> &'static str {
    match (code, part) {
        ("nl", "title") => "nl_title",
        ("nl", "body") => "nl_body",
        ("nl", "sms") => "nl_sms",
        ("fr", "title") => "fr_title",
        ("fr", "body") => "fr_body",
        ("fr", "sms") => "fr_sms",
        ("en", "title") => "en_title",
        ("en", "body") => "en_body",
        _ => "en_sms",
    }
}

fn set(form: &mut [(&'static str, String)], name: &str, value: &str) {
    for (key, old) in form.iter_mut() {
        if *key == name {
            *old = value.to_string();
        }
    }
}

async fn post(browser: &mut Browser, path: &str, form: &[(&'static str, String)]) -> Page {
    let pairs: Vec<(&str, &str)> = form.iter().map(|(k, v)| (*k, v.as_str())).collect();
    browser.post(path, &pairs).await
}

/// The HTML-escaped form of a value, as Tera writes it.
fn escaped(value: &str) -> String {
    value
        .replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
        .replace('\'', "&#x27;")
        .replace('/', "&#x2F;")
}

async fn signed_in(console: &Console, name: &str) -> Browser {
    let mut browser = Browser::new(console);
    browser.sign_in(name, PASSWORD).await;
    browser
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_update_composed_from_the_previous_one_keeps_its_texts_audiences_and_channels_and_follows_it(
) {
    let test = TestApp::new(|_| {}).await;
    with_users(&test).await;
    seed(&test.app, 3).await;
    let console = Console::start(&test).await;
    let mut browser = signed_in(&console, "els").await;

    let page = post(&mut browser, "/console/compose", &filled()).await;
    assert_eq!(page.status, StatusCode::SEE_OTHER, "{}", page.body);
    let first: i64 = page
        .location()
        .and_then(|to| to.strip_prefix("/console/updates/"))
        .and_then(|id| id.parse().ok())
        .expect("to the update's page");
    let stored = test.app.store.update(first).await.expect("stored");
    assert_eq!(stored.author, "els", "the signed-in user is the author");
    assert_eq!(
        stored.en.sms,
        "Due to a cyberattack, operations are cancelled."
    );

    let page = browser
        .get(&format!("/console/compose?follow={first}"))
        .await;
    assert_eq!(page.status, StatusCode::OK, "{}", page.body);
    for expected in [
        "value=\"cyberattack-2026-01\"",
        &format!("name=\"follows\" value=\"{first}\""),
        "value=\"update\" selected",
        "value=\"patients\" checked",
        "value=\"media\" checked",
        "value=\"2026-01-13\"",
        "value=\"2026-01-14\"",
        "value=\"sms\" checked",
        "value=\"email\" checked",
        "Toutes les opérations prévues sont annulées.",
        "Door een cyberaanval gaan de operaties niet door.",
    ] {
        assert!(page.body.contains(expected), "{expected} in {}", page.body);
    }
    assert!(!page.body.contains("value=\"all-gps\" checked"));

    let mut form = filled();
    set(&mut form, "kind", "update");
    set(&mut form, "follows", &first.to_string());
    set(&mut form, "en_title", "Cyberattack, day two");
    let page = post(&mut browser, "/console/compose", &form).await;
    assert_eq!(page.status, StatusCode::SEE_OTHER, "{}", page.body);
    let updates = test.app.store.updates().await.expect("updates");
    let second = updates.iter().find(|u| u.id != first).expect("second");
    assert_eq!(second.follows, Some(first));
    assert_eq!(second.en.title, "Cyberattack, day two");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_refused_draft_keeps_every_field_and_names_the_missing_language() {
    let test = TestApp::new(|_| {}).await;
    with_users(&test).await;
    let console = Console::start(&test).await;
    let mut browser = signed_in(&console, "els").await;

    let mut form = filled();
    set(&mut form, "en_title", "");
    set(&mut form, "en_body", "");
    set(&mut form, "en_sms", "");
    set(&mut form, "fr_body", "   ");
    set(&mut form, "patients_campus", "Deurne Noord");
    set(&mut form, "patients_department", "cardiologie");
    set(&mut form, "cap_severity", "Severe");
    let page = post(&mut browser, "/console/compose", &form).await;
    assert_eq!(
        page.status,
        StatusCode::UNPROCESSABLE_ENTITY,
        "{}",
        page.body
    );
    assert!(test.app.store.updates().await.expect("updates").is_empty());
    assert!(
        page.body.contains("The English text is missing"),
        "{}",
        page.body
    );
    assert!(page.body.contains("id=\"problem-en\""), "next to English");
    assert!(
        page.body.contains("Text (French) is empty."),
        "{}",
        page.body
    );
    assert!(page.body.contains("id=\"problem-fr_body\""));
    assert!(page.body.contains("aria-describedby=\"problem-fr_body\""));
    for (name, value) in &form {
        if value.trim().is_empty() {
            continue;
        }
        let shown = escaped(value);
        assert!(
            page.body.contains(&shown),
            "{name}={value} kept: {}",
            page.body
        );
    }
    assert!(page.body.contains("value=\"Severe\" selected"));

    browser.accept_language = "fr".into();
    browser.cookies.insert("tocsin-lang".into(), "fr".into());
    let page = post(&mut browser, "/console/compose", &form).await;
    assert!(
        page.body.contains("Le texte en anglais manque\u{a0}:"),
        "named in French, typeset French: {}",
        page.body
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_audience_counts_are_those_of_tocsin_audience_show() {
    let test = TestApp::new(|_| {}).await;
    with_users(&test).await;
    seed(&test.app, 7).await;
    seed_sms_patients(&test.app).await;
    let console = Console::start(&test).await;
    let mut browser = signed_in(&console, "jan").await;

    let mut form = filled();
    set(&mut form, "patients_from", "2026-01-13");
    set(&mut form, "patients_to", "2026-01-13");
    form.push(("audience", "all-gps".into()));
    let specs = vec![
        "patients from=2026-01-13 to=2026-01-13".to_string(),
        "all-gps".to_string(),
        "media".to_string(),
    ];
    let expected =
        serde_json::to_value(test.app.audience(&specs).await.expect("counts")).expect("json");
    assert_eq!(expected[0]["contacts"], 10);

    let token = browser.csrf.clone().expect("a token");
    let response = reqwest::Client::new()
        .post(format!("{}/console/compose/audience", console.base))
        .header("cookie", cookie_header(&browser))
        .header("x-csrf-token", token)
        .header("accept", "application/json")
        .form(&form)
        .send()
        .await
        .expect("fetch");
    assert_eq!(response.status(), StatusCode::OK);
    let answered: serde_json::Value = response.json().await.expect("json");
    assert_eq!(answered, expected);

    let mut counted = form.clone();
    counted.push(("do", "count".into()));
    let page = post(&mut browser, "/console/compose", &counted).await;
    assert_eq!(page.status, StatusCode::OK, "{}", page.body);
    let row = page
        .body
        .split("data-spec=\"patients from=2026-01-13 to=2026-01-13\"")
        .nth(1)
        .and_then(|rest| rest.split("</tr>").next())
        .expect("the patients row");
    let numbers: Vec<String> = row
        .split("<td class=\"number\">")
        .skip(1)
        .map(|cell| cell.split('<').next().unwrap_or_default().to_string())
        .collect();
    let language = |code: &str| expected[0]["by_language"][code].as_u64().unwrap_or(0);
    let reach = |channel: &str| expected[0]["reachable"][channel].as_u64().unwrap_or(0);
    let wanted: Vec<String> = [
        expected[0]["contacts"].as_u64().unwrap_or(0),
        language("nl"),
        language("fr"),
        language("en"),
        reach("mobile"),
        reach("email"),
        reach("telegram"),
        reach("none"),
    ]
    .iter()
    .map(u64::to_string)
    .collect();
    assert_eq!(numbers, wanted, "{row}");
}

fn cookie_header(browser: &Browser) -> String {
    browser
        .cookies
        .iter()
        .map(|(name, value)| format!("{name}={value}"))
        .collect::<Vec<_>>()
        .join("; ")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_sms_counter_equals_the_drafts_sms_report_for_a_ucs2_text_and_a_gsm7_one() {
    let test = TestApp::new(|_| {}).await;
    with_users(&test).await;
    seed_sms_patients(&test.app).await;
    let console = Console::start(&test).await;
    let mut browser = signed_in(&console, "els").await;

    let mut form = filled();
    set(
        &mut form,
        "nl_sms",
        "De patiënt wordt geïnformeerd – later meer.",
    );
    let token = browser.csrf.clone().expect("a token");
    let response = reqwest::Client::new()
        .post(format!("{}/console/compose/sms", console.base))
        .header("cookie", cookie_header(&browser))
        .header("x-csrf-token", token)
        .header("accept", "application/json")
        .form(&form)
        .send()
        .await
        .expect("fetch");
    assert_eq!(response.status(), StatusCode::OK);
    let counter: serde_json::Value = response.json().await.expect("json");

    let mut checked = form.clone();
    checked.push(("do", "check".into()));
    let page = post(&mut browser, "/console/compose", &checked).await;
    assert_eq!(page.status, StatusCode::OK);

    let page = post(&mut browser, "/console/compose", &form).await;
    assert_eq!(page.status, StatusCode::SEE_OTHER, "{}", page.body);
    let id = test.app.store.updates().await.expect("updates")[0].id;
    let update = test.app.store.update(id).await.expect("update");
    // The draft's report, as `update draft` prints it, for the same text.
    let source = format!(
        "incident = \"x\"\nkind = \"alert\"\naudiences = [\"patients from=2026-01-13 to=2026-01-14\", \"media\"]\n\
         channels = [\"sms\", \"email\"]\n[nl]\ntitle = \"t\"\nbody = \"b\"\nsms = {:?}\n\
         [fr]\ntitle = \"t\"\nbody = \"b\"\nsms = {:?}\n[en]\ntitle = \"t\"\nbody = \"b\"\nsms = {:?}\n",
        update.nl.sms, update.fr.sms, update.en.sms
    );
    let report = test
        .app
        .draft_source("check.toml", &source, Some("els"), DraftOptions::default())
        .await
        .expect("draft");

    let mut kinds = Vec::new();
    for (n, language) in [Language::Nl, Language::Fr, Language::En]
        .into_iter()
        .enumerate()
    {
        let shown = &counter[n];
        assert_eq!(shown["language"], language.code());
        let (_, written) = report
            .draft
            .sms
            .iter()
            .find(|(l, _)| *l == language)
            .expect("analysed");
        assert_eq!(shown["written"]["encoding"], written.encoding.as_str());
        assert_eq!(shown["written"]["parts"], written.segments);
        assert_eq!(shown["written"]["units"], written.units);
        let forcing: Vec<String> = written.non_gsm.iter().map(char::to_string).collect();
        assert_eq!(shown["written"]["forcing"], serde_json::json!(forcing));
        let sms = &report.forecast.sms[&language];
        let rendered = &shown["rendered"];
        assert_eq!(rendered["messages"], sms.messages());
        assert_eq!(rendered["total_parts"], sms.total_parts());
        let longest = sms.longest.as_ref().expect("one SMS");
        // Each update has a reference of its own, of the same length.
        assert_eq!(
            rendered["longest"]["cost"]["characters"],
            longest.text.chars().count()
        );
        assert_eq!(rendered["longest"]["cost"]["parts"], longest.parts);
        assert_eq!(
            rendered["longest"]["cost"]["encoding"],
            longest.encoding.as_str()
        );
        kinds.push(longest.encoding.as_str());
        assert!(
            page_has_cost(
                &browser_page(&checked, &mut browser).await,
                language,
                longest.parts
            ),
            "the page after Check shows the same"
        );
    }
    assert_eq!(kinds, ["UCS-2", "GSM-7", "GSM-7"]);
    assert_eq!(
        counter[0]["proposal"][0],
        "De patient wordt geinformeerd - later meer."
    );
    assert_eq!(
        counter[0]["written"]["forcing"],
        serde_json::json!(["ë", "ï", "–"])
    );
}

async fn browser_page(form: &[(&'static str, String)], browser: &mut Browser) -> String {
    post(browser, "/console/compose", form).await.body
}

fn page_has_cost(body: &str, language: Language, parts: usize) -> bool {
    let section = body
        .split(&format!("id=\"sms-{}\"", language.code()))
        .nth(1)
        .and_then(|rest| rest.split("</section>").next())
        .unwrap_or_default();
    let plural = if parts == 1 { "1 part" } else { "parts" };
    section.contains("The longest:") && section.contains(plural)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn xss_attempts_in_every_field_render_inert_on_the_compose_page_and_on_re_render() {
    let test = TestApp::new(|_| {}).await;
    with_users(&test).await;
    seed_sms_patients(&test.app).await;
    let console = Console::start(&test).await;
    let mut browser = signed_in(&console, "els").await;
    let attacks = [
        "<script>alert(1)</script>",
        "\"><img src=x onerror=alert(1)>",
        "{{ 7*7 }}{% raw %}",
    ];

    for attack in attacks {
        let mut form: Vec<(&'static str, String)> = filled()
            .into_iter()
            .map(|(name, value)| {
                let value = if name == "audience" || name == "channel" {
                    value
                } else {
                    format!("{value}{attack}")
                };
                (name, value)
            })
            .collect();
        form.push(("audience", attack.into()));
        form.push(("channel", attack.into()));
        let page = post(&mut browser, "/console/compose", &form).await;
        assert_eq!(
            page.status,
            StatusCode::UNPROCESSABLE_ENTITY,
            "{}",
            page.body
        );
        assert_inert(&page.body, attack);
        for (n, view) in ["check", "count"].into_iter().enumerate() {
            let mut asked = form.clone();
            asked.push(("do", view.into()));
            let page = post(&mut browser, "/console/compose", &asked).await;
            assert_eq!(page.status, StatusCode::OK, "{n}: {}", page.body);
            assert_inert(&page.body, attack);
        }
    }

    // Stored texts come back into the form when the next update follows them.
    let mut form = filled();
    for name in [
        "nl_title", "nl_body", "nl_sms", "fr_title", "fr_body", "fr_sms", "en_title", "en_body",
        "en_sms",
    ] {
        set(&mut form, name, &attacks.join(" "));
    }
    set(&mut form, "patients_campus", attacks[1]);
    let page = post(&mut browser, "/console/compose", &form).await;
    assert_eq!(page.status, StatusCode::SEE_OTHER, "{}", page.body);
    let id = test.app.store.updates().await.expect("updates")[0].id;
    let page = browser.get(&format!("/console/compose?follow={id}")).await;
    assert_eq!(page.status, StatusCode::OK);
    for attack in attacks {
        assert_inert(&page.body, attack);
    }
}

fn assert_inert(body: &str, attack: &str) {
    assert!(!body.contains("<script>alert"), "script inert: {body}");
    assert!(!body.contains("<img src=x"), "img inert: {body}");
    if attack.starts_with("{{") {
        assert!(body.contains("{{ 7*7 }}"), "shown as typed: {body}");
    } else {
        assert!(body.contains(&escaped(attack)), "shown escaped: {body}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_admin_may_not_compose_nor_send_a_test_and_a_post_without_its_csrf_token_is_refused() {
    let test = TestApp::new(|_| {}).await;
    with_users(&test).await;
    let console = Console::start(&test).await;

    let mut admin = signed_in(&console, "root").await;
    assert!(!admin
        .get("/console/updates")
        .await
        .body
        .contains("/console/compose"));
    let page = admin.get("/console/compose").await;
    assert_eq!(page.status, StatusCode::FORBIDDEN);
    for path in [
        "/console/compose",
        "/console/compose/audience",
        "/console/compose/sms",
        "/console/compose/preview",
    ] {
        let page = post(&mut admin, path, &filled()).await;
        assert_eq!(page.status, StatusCode::FORBIDDEN, "{path}");
    }
    assert!(test.app.store.updates().await.expect("updates").is_empty());

    let mut approver = signed_in(&console, "jan").await;
    let page = approver.get("/console/compose").await;
    assert_eq!(
        page.status,
        StatusCode::OK,
        "an approver writes updates too"
    );
    let page = post(&mut approver, "/console/compose", &filled()).await;
    assert_eq!(page.status, StatusCode::SEE_OTHER, "{}", page.body);
    let id = test.app.store.updates().await.expect("updates")[0].id;
    let page = post(
        &mut admin,
        &format!("/console/updates/{id}/test"),
        &[
            ("reader", "patient".into()),
            ("language", "nl".into()),
            ("channel", "email".into()),
        ],
    )
    .await;
    assert_eq!(page.status, StatusCode::FORBIDDEN);

    let mut author = signed_in(&console, "els").await;
    author.get("/console/compose").await;
    let form: Vec<(String, String)> = filled()
        .into_iter()
        .map(|(k, v)| (k.to_string(), v))
        .collect();
    let page = author.post_raw("/console/compose", &form).await;
    assert_eq!(page.status, StatusCode::FORBIDDEN);
    let mut forged = form.clone();
    forged.push(("csrf".into(), "0".repeat(64)));
    let page = author.post_raw("/console/compose/audience", &forged).await;
    assert_eq!(page.status, StatusCode::FORBIDDEN);
    assert_eq!(test.app.store.updates().await.expect("updates").len(), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn send_me_a_test_reaches_only_the_users_own_mailbox_marked_as_a_test_and_is_no_delivery() {
    let Some(server) = SmtpServer::start(&[]) else {
        return;
    };
    let test = TestApp::with_smtp(&server).await;
    with_users(&test).await;
    seed(&test.app, 5).await;
    test.app
        .set_user_contact(
            "els",
            Some("els.peeters@azt-testwijk.be"),
            Some("0471 99 88 77"),
            &Actor::cli("test"),
        )
        .await
        .expect("own address");
    let console = Console::start(&test).await;
    let mut browser = signed_in(&console, "els").await;
    let page = post(&mut browser, "/console/compose", &filled()).await;
    assert_eq!(page.status, StatusCode::SEE_OTHER, "{}", page.body);
    let id = test.app.store.updates().await.expect("updates")[0].id;

    let page = browser.get(&format!("/console/updates/{id}/test")).await;
    assert_eq!(page.status, StatusCode::OK, "{}", page.body);
    assert!(page.body.contains("<label for=\"reader\">"));
    let page = post(
        &mut browser,
        &format!("/console/updates/{id}/test"),
        &[
            ("reader", "patient".into()),
            ("language", "fr".into()),
            ("channel", "email".into()),
        ],
    )
    .await;
    assert_eq!(page.status, StatusCode::OK, "{}", page.body);

    let received = server.received();
    assert_eq!(received.len(), 1, "one test, to one address");
    assert_eq!(received[0].rcpt_tos, ["els.peeters@azt-testwijk.be"]);
    let raw = server.raw(&received[0]);
    let mail = mailparse::parse_mail(&raw).expect("MIME");
    use mailparse::MailHeaderMap;
    let subject = mail.headers.get_first_value("Subject").unwrap_or_default();
    assert!(subject.starts_with("[TEST] "), "{subject}");
    assert!(subject.contains("Cyberattaque"), "in French: {subject}");
    let text = mail.subparts[0].get_body().expect("text");
    assert!(text.starts_with("[TEST]"), "{text}");

    let deliveries = test.app.store.status(id).await.expect("status");
    assert!(
        deliveries.is_empty(),
        "a test is no delivery: {deliveries:?}"
    );
    let entries = test
        .app
        .audit_log(None, Some("els"), &Actor::cli("test"))
        .await
        .expect("audit");
    let test_entry = entries
        .iter()
        .find(|entry| entry.action == "update.test")
        .expect("the test is in the audit log");
    assert_eq!(test_entry.target.as_deref(), Some(id.to_string().as_str()));
    assert!(
        test_entry
            .detail
            .as_deref()
            .is_some_and(|detail| detail.contains("e***@azt-testwijk.be")),
        "{test_entry:?}"
    );
    assert!(entries.iter().any(|e| e.action == "update.test.result"));
}

/// Replaces each `[[blank]]` of a playbook's text by `with`.
fn without_blanks(text: &str, with: &str) -> String {
    let mut out = String::new();
    let mut rest = text;
    while let Some(open) = rest.find("[[") {
        let Some(close) = rest[open..].find("]]") else {
            break;
        };
        out.push_str(&rest[..open]);
        out.push_str(with);
        rest = &rest[open + close + 2..];
    }
    out.push_str(rest);
    out
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_update_composed_from_a_playbook_shows_its_three_languages_and_is_refused_until_its_blanks_are_written(
) {
    let test = TestApp::new(|_| {}).await;
    with_users(&test).await;
    seed(&test.app, 3).await;
    let console = Console::start(&test).await;
    let mut browser = signed_in(&console, "els").await;

    let page = browser.get("/console/compose").await;
    assert!(
        page.body.contains("<option value=\"cyberattack\">"),
        "the picker"
    );
    let page = browser.get("/console/compose?playbook=cyberattack").await;
    assert_eq!(page.status, StatusCode::OK, "{}", page.body);
    let file: toml::Table = test
        .app
        .playbook_file("cyberattack")
        .await
        .expect("playbook")
        .parse()
        .expect("TOML");
    let text = |table: &str, key: &str| -> String {
        file[table][key].as_str().expect("a text").to_string()
    };
    let incident = file["incident"].as_str().expect("incident").to_string();
    assert!(page.body.contains(&format!("value=\"{incident}\"")));
    assert!(
        page.body.contains("value=\"[[first-day]]\""),
        "{}",
        page.body
    );
    for (language, key) in [("nl", "title"), ("fr", "sms"), ("en", "title")] {
        assert!(
            page.body.contains(&escaped(&text(language, key))),
            "{language} {key} shown"
        );
    }
    assert!(page.body.contains("value=\"gps-of-affected\" checked"));
    assert!(page.body.contains("value=\"telegram\" checked"));
    assert_eq!(
        browser.get("/console/compose?playbook=flood").await.status,
        StatusCode::NOT_FOUND
    );

    let mut form: Vec<(&'static str, String)> = vec![
        ("incident", incident.clone()),
        ("kind", "alert".into()),
        ("appointments", "cancelled".into()),
        ("audience", "patients".into()),
        ("audience", "gps-of-affected".into()),
        ("patients_from", "[[first-day]]".into()),
        ("patients_to", "[[last-day]]".into()),
        ("channel", "sms".into()),
        ("channel", "email".into()),
    ];
    for code in ["nl", "fr", "en"] {
        for part in ["title", "body", "sms"] {
            form.push((field(code, part), text(code, part)));
        }
    }
    let page = post(&mut browser, "/console/compose", &form).await;
    assert_eq!(page.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(
        page.body.contains("id=\"problem-audiences\""),
        "{}",
        page.body
    );
    assert!(
        page.body.contains("id=\"problem-nl_body\""),
        "{}",
        page.body
    );
    assert!(page.body.contains("id=\"problem-fr_body\""));

    let written: Vec<(&'static str, String)> = form
        .into_iter()
        .map(|(name, value)| {
            let value = match name {
                "patients_from" | "patients_to" => "2026-01-13".to_string(),
                _ => without_blanks(&value, "Deurne"),
            };
            (name, value)
        })
        .collect();
    let page = post(&mut browser, "/console/compose", &written).await;
    assert_eq!(page.status, StatusCode::SEE_OTHER, "{}", page.body);
    let update = &test.app.store.updates().await.expect("updates")[0];
    assert_eq!(update.incident_id, incident);
    assert_eq!(
        update.fr.title,
        without_blanks(&text("fr", "title"), "Deurne")
    );
}

/// Runs `tocsin args…` in `dir`, the password (for `user add`) on its standard input.
fn tocsin(dir: &std::path::Path, args: &[&str]) -> (bool, String, String) {
    use std::io::Write;
    let mut child = std::process::Command::new(super::support::tocsin_binary())
        .current_dir(dir)
        .args(args)
        .env("USER", "it-desk")
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("run tocsin");
    child
        .stdin
        .take()
        .expect("stdin")
        .write_all(format!("{PASSWORD}\n").as_bytes())
        .expect("write");
    let out = child.wait_with_output().expect("tocsin ends");
    let (stdout, stderr) = super::cli::text(&out);
    (out.status.success(), stdout, stderr)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_users_own_address_is_set_by_user_add_and_user_set_and_a_wrong_one_adds_no_account() {
    let dir = tempfile::tempdir().expect("temp dir");
    super::cli::configure(dir.path(), "");
    let (ok, _, stderr) = tocsin(
        dir.path(),
        &[
            "user",
            "add",
            "els",
            "--role",
            "author",
            "--email",
            "not an address",
        ],
    );
    assert!(!ok);
    assert!(stderr.contains("--email"), "{stderr}");
    let (ok, stdout, stderr) = tocsin(
        dir.path(),
        &[
            "user",
            "add",
            "els",
            "--role",
            "author",
            "--email",
            "els@azt-testwijk.be",
        ],
    );
    assert!(ok, "{stdout}{stderr}");
    let (ok, stdout, stderr) = tocsin(
        dir.path(),
        &["user", "set", "els", "--phone", "0471 99 88 77"],
    );
    assert!(ok, "{stdout}{stderr}");

    let app = tocsin::app::App::open_existing(super::support::config_in(dir.path()))
        .await
        .expect("app");
    let users = app.users(&Actor::cli("test")).await.expect("users");
    assert_eq!(users.len(), 1, "the wrong address added no account");
    let name = tocsin::domain::UserName::parse("els").expect("name");
    let own = app.user_contact(&name).await.expect("own");
    assert_eq!(own.email.as_deref(), Some("els@azt-testwijk.be"));
    assert_eq!(own.phone.as_deref(), Some("+32471998877"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn send_me_a_test_by_sms_reaches_the_users_own_phone_through_the_real_kannel_marked_in_their_language(
) {
    use super::kannel::{RealKannel, PASSWORD as KANNEL_PASSWORD, USERNAME};
    use tocsin::channels::sms::kannel::KannelSettings;
    use tocsin::config::{GatewayConfig, SmsTransport};
    let Some(kannel) = RealKannel::start().await else {
        return;
    };
    let kannel_url = kannel.base_url();
    let test = TestApp::new(move |config| {
        config.sms.transport = SmsTransport::Gateways;
        config.sms.gateways = vec![GatewayConfig::Kannel(KannelSettings {
            name: None,
            base_url: kannel_url,
            username: USERNAME.into(),
            password: Some(KANNEL_PASSWORD.into()),
            password_env: None,
            from: "AZT".into(),
            dlr_url: None,
        })];
    })
    .await;
    with_users(&test).await;
    seed(&test.app, 3).await;
    test.app
        .set_user_contact("els", None, Some("0471 99 88 77"), &Actor::cli("test"))
        .await
        .expect("own phone");
    let console = Console::start(&test).await;
    let mut browser = Browser::new(&console);
    browser.accept_language = "nl-BE,nl;q=0.9".into();
    browser.sign_in("els", PASSWORD).await;
    let page = post(&mut browser, "/console/compose", &filled()).await;
    assert_eq!(page.status, StatusCode::SEE_OTHER, "{}", page.body);
    let id = test.app.store.updates().await.expect("updates")[0].id;

    let page = browser.get(&format!("/console/updates/{id}/test")).await;
    assert_eq!(page.status, StatusCode::OK, "{}", page.body);
    assert!(
        page.body
            .contains("<option value=\"nl\" lang=\"nl\" selected>"),
        "the user's own language is the one offered: {}",
        page.body
    );
    assert!(page.body.contains("<option value=\"sms\""), "{}", page.body);
    let page = post(
        &mut browser,
        &format!("/console/updates/{id}/test"),
        &[
            ("reader", "patient".into()),
            ("language", "nl".into()),
            ("channel", "sms".into()),
        ],
    )
    .await;
    assert_eq!(page.status, StatusCode::OK, "{}", page.body);

    let started = std::time::Instant::now();
    let received = loop {
        let received = kannel.received();
        if !received.is_empty() || started.elapsed() > std::time::Duration::from_secs(20) {
            break received;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    };
    assert!(!received.is_empty(), "nothing arrived at Kannel's SMSC");
    assert!(
        received.iter().all(|sms| sms.to.ends_with("471998877")),
        "only to the user's own phone: {received:?}"
    );
    // A long SMS arrives in parts, each after its header (fakesmsc's `udh` line).
    let text: String = received.iter().map(|sms| sms.text.as_str()).collect();
    assert!(
        text.contains("[TEST]\nAZT: Door een cyberaanval gaan de operaties niet door."),
        "marked as a test on its first line, then the Dutch text: {text}"
    );
    assert!(text.contains("Uw afspraak van"), "in Dutch: {text}");
    let deliveries = test.app.store.status(id).await.expect("status");
    assert!(
        deliveries.is_empty(),
        "a test is no delivery: {deliveries:?}"
    );
    let entries = test
        .app
        .audit_log(None, Some("els"), &Actor::cli("test"))
        .await
        .expect("audit");
    assert!(
        entries.iter().any(|entry| entry.action == "update.test"
            && entry.detail.as_deref().is_some_and(
                |detail| detail.contains("in nl by sms") && !detail.contains("471998877")
            )),
        "{entries:?}"
    );
}

/// A GP of all GPs and a journalist beside the seeded patients: the three readers a
/// preview shows.
async fn seed_gp_and_journalist(test: &TestApp) {
    use tocsin::domain::{Identity, NewContact, Role};
    let person = |id: &str, role: Role, identity: Identity, language: &str| NewContact {
        external_id: id.into(),
        identities: vec![identity],
        role,
        first_name: "Anna".into(),
        last_name: id.into(),
        language: Some(language.into()),
        mobile: None,
        phone: None,
        email: Some(format!("{}@example.be", id.to_lowercase())),
        telegram_chat_id: None,
        organisation: None,
        birth_date: None,
    };
    let contacts = [
        person("G1", Role::Gp, Identity::riziv("G1"), "nl"),
        person("M1", Role::Journalist, Identity::media("M1"), "fr"),
    ];
    test.app
        .store
        .import(&contacts, &[], "test seed", 0)
        .await
        .expect("seed");
}

/// The compose form's preview, as compose.js asks for it: JSON, the token in its header.
async fn preview_json(
    console: &Console,
    browser: &Browser,
    form: &[(&'static str, String)],
) -> serde_json::Value {
    let response = reqwest::Client::new()
        .post(format!("{}/console/compose/preview", console.base))
        .header("cookie", cookie_header(browser))
        .header("x-csrf-token", browser.csrf.clone().expect("a token"))
        .header("accept", "application/json")
        .form(form)
        .send()
        .await
        .expect("fetch");
    assert_eq!(response.status(), StatusCode::OK);
    response.json().await.expect("json")
}

/// `text` with every reference of the day's shape (`AZT-20260113-XXXX`) written as `to`:
/// the preview's texts are given a reference of their own, the draft another when saved.
fn with_reference(text: &str, to: &str) -> String {
    let (day, _) = to.rsplit_once('-').expect("a reference");
    let day = format!("{day}-");
    let mut out = String::new();
    let mut rest = text;
    while let Some(at) = rest.find(&day) {
        out.push_str(&rest[..at]);
        out.push_str(to);
        let after = at + day.len();
        let random = rest[after..]
            .char_indices()
            .nth(tocsin::domain::RANDOM_CHARACTERS)
            .map_or(rest.len() - after, |(end, _)| end);
        rest = &rest[after + random..];
    }
    out.push_str(rest);
    out
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_live_preview_of_unsaved_texts_is_what_the_update_page_shows_and_what_is_sent_to_the_same_reader(
) {
    use tocsin::app::Sample;
    let test = TestApp::new(|_| {}).await;
    with_users(&test).await;
    seed(&test.app, 3).await;
    seed_gp_and_journalist(&test).await;
    let console = Console::start(&test).await;
    let mut browser = signed_in(&console, "els").await;
    browser.get("/console/compose").await;
    let mut form = filled();
    form.push(("audience", "all-gps".into()));
    set(
        &mut form,
        "en_body",
        "All planned operations are cancelled.\r\nCall 03 123 45 67.",
    );

    let shown = preview_json(&console, &browser, &form).await;
    assert_eq!(shown["refusals"], serde_json::json!([]), "{shown}");
    let rows = shown["previews"].as_array().expect("previews").clone();
    for (lang, who) in [
        ("nl", "P000000"),
        ("fr", "P000001"),
        ("en", "P000002"),
        ("nl", "G1"),
        ("fr", "M1"),
    ] {
        assert!(
            rows.iter().any(|row| row["lang"] == lang
                && row["external_id"] == who
                && row["channel"] == "email"
                && row["skipped"].is_null()),
            "{who} by e-mail in {lang}: {shown}"
        );
    }
    let english = rows
        .iter()
        .find(|row| row["external_id"] == "P000002" && row["channel"] == "email")
        .expect("the English patient");
    assert!(
        english["body"]
            .as_str()
            .is_some_and(|body| body.contains("Call 03 123 45 67.")),
        "the text as typed, not saved: {english}"
    );

    // Saved as it stands: the update page shows the same, from the same rendering.
    let page = post(&mut browser, "/console/compose", &form).await;
    assert_eq!(page.status, StatusCode::SEE_OTHER, "{}", page.body);
    let id = test.app.store.updates().await.expect("updates")[0].id;
    let update = test.app.store.update(id).await.expect("update");
    let reference = update.reference.to_string();
    let page = browser.get(&format!("/console/updates/{id}")).await;
    assert_eq!(page.status, StatusCode::OK);
    let mut saved = Vec::new();
    for language in [Language::Nl, Language::Fr, Language::En] {
        saved.extend(
            test.app
                .preview(id, Sample::Language(language), None)
                .await
                .expect("the update page's previews"),
        );
    }
    // Approved and planned: what is sent, stored on each delivery.
    test.app.approve(id, "jan").await.expect("approve");
    let approved = test.app.store.update(id).await.expect("update");
    tocsin::plan::plan(
        test.app.store.as_ref(),
        &test.app.renderer,
        &test.app.config,
        &approved,
        tocsin::clock::Clock::now_ms(console.clock.as_ref()),
    )
    .await
    .expect("plan");

    let mut compared = 0;
    for row in &rows {
        let external_id = row["external_id"].as_str().expect("id");
        let channel: tocsin::domain::ChannelKind = row["channel"]
            .as_str()
            .expect("channel")
            .parse()
            .expect("a channel");
        let body = with_reference(row["body"].as_str().expect("body"), &reference);
        let subject = row["subject"]
            .as_str()
            .map(|subject| with_reference(subject, &reference));
        let html = row["html"]
            .as_str()
            .map(|html| with_reference(html, &reference));
        let on_page = saved
            .iter()
            .find(|preview| preview.external_id == external_id && preview.channel == channel)
            .unwrap_or_else(|| panic!("{external_id} {channel} on the update page"));
        assert_eq!(on_page.content.body, body, "{external_id} {channel}");
        assert_eq!(on_page.content.subject, subject, "{external_id} {channel}");
        assert_eq!(on_page.content.body_html, html, "{external_id} {channel}");
        assert!(
            page.body.contains(&escaped(&body)),
            "{external_id} {channel}: the page shows it"
        );
        if !row["skipped"].is_null() {
            continue;
        }
        let contact = test.app.find_contact(external_id).await.expect("contact");
        let sent = test
            .app
            .store
            .delivery(id, contact.id, channel)
            .await
            .expect("delivery")
            .expect("planned");
        assert_eq!(
            sent.content.body, body,
            "{external_id} {channel}: what is sent"
        );
        assert_eq!(sent.content.subject, subject);
        assert_eq!(sent.content.body_html, html);
        compared += 1;
    }
    assert!(compared >= 5, "{compared} messages compared");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_preview_shows_a_script_typed_in_the_texts_as_text_and_the_emails_html_as_escaped_source(
) {
    let test = TestApp::new(|_| {}).await;
    with_users(&test).await;
    seed(&test.app, 3).await;
    let console = Console::start(&test).await;
    let mut browser = signed_in(&console, "els").await;
    browser.get("/console/compose").await;
    let attack = "<script>alert(1)</script><img src=x onerror=alert(1)>";
    let mut form = filled();
    for name in ["nl_title", "nl_body", "fr_body", "en_body", "en_sms"] {
        set(&mut form, name, &format!("Tekst {attack}"));
    }

    let shown = preview_json(&console, &browser, &form).await;
    let html = shown["previews"]
        .as_array()
        .expect("previews")
        .iter()
        .find_map(|row| row["html"].as_str())
        .expect("an e-mail's HTML");
    assert!(
        !html.contains("<script>") && html.contains("&lt;script&gt;"),
        "the e-mail itself escapes the text: {html}"
    );
    let token = browser.csrf.clone().expect("a token");
    let response = reqwest::Client::new()
        .post(format!("{}/console/compose/preview", console.base))
        .header("cookie", cookie_header(&browser))
        .header("x-csrf-token", token)
        .form(&form)
        .send()
        .await
        .expect("fetch");
    assert_eq!(response.status(), StatusCode::OK);
    let csp = response
        .headers()
        .get("content-security-policy")
        .and_then(|value| value.to_str().ok())
        .unwrap_or_default()
        .to_string();
    assert!(csp.contains("script-src 'self'"), "{csp}");
    let fragment = response.text().await.expect("fragment");
    for page in [
        fragment,
        post(
            &mut browser,
            "/console/compose",
            &[form.clone(), vec![("do", "preview".into())]].concat(),
        )
        .await
        .body,
    ] {
        assert!(page.contains("class=\"preview\""), "{page}");
        assert!(!page.contains("<script>alert"), "script inert: {page}");
        assert!(!page.contains("<img src=x"), "img inert: {page}");
        assert!(!page.contains("<iframe"), "no frame: {page}");
        // The message text escaped once, the e-mail's HTML source twice: shown, never run.
        assert!(page.contains(&escaped(attack)), "{page}");
        assert!(page.contains("&amp;lt;script&amp;gt;"), "{page}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_playbooks_blanks_and_a_missing_audience_are_refused_beside_the_preview_and_a_preview_needs_its_csrf_token(
) {
    let test = TestApp::new(|_| {}).await;
    with_users(&test).await;
    seed(&test.app, 3).await;
    let console = Console::start(&test).await;
    let mut browser = signed_in(&console, "els").await;
    browser.get("/console/compose").await;
    let file: toml::Table = test
        .app
        .playbook_file("cyberattack")
        .await
        .expect("playbook")
        .parse()
        .expect("TOML");
    let mut form = filled();
    for code in ["nl", "fr", "en"] {
        for part in ["title", "body", "sms"] {
            let text = file[code][part].as_str().expect("a text");
            set(&mut form, field(code, part), text);
        }
    }
    let nl_body = file["nl"]["body"].as_str().expect("nl body");
    let open = nl_body.find("[[").expect("a blank");
    let close = nl_body[open..].find("]]").expect("its end") + open + 2;
    let blank = nl_body[open..close].to_string();

    let shown = preview_json(&console, &browser, &form).await;
    let refusals = shown["refusals"].as_array().expect("refusals");
    assert!(
        refusals
            .iter()
            .any(|refusal| refusal.as_str().is_some_and(|refusal| refusal
                .starts_with("Dutch, Text: still to write:")
                && refusal.contains(&blank))),
        "{shown}"
    );
    assert!(
        !shown["previews"].as_array().expect("previews").is_empty(),
        "the texts as they stand are shown all the same: {shown}"
    );

    // Without JavaScript: the Preview button, the refusal next to the preview, in French.
    browser.accept_language = "fr".into();
    let mut asked = form.clone();
    asked.push(("do", "preview".into()));
    let page = post(&mut browser, "/console/compose", &asked).await;
    assert_eq!(page.status, StatusCode::OK, "{}", page.body);
    let at = page
        .body
        .find("id=\"preview-refusals\"")
        .expect("the refusals");
    let after = &page.body[at..];
    assert!(after.contains("encore à écrire"), "{after}");
    assert!(after.contains(&escaped(&blank)), "{after}");
    assert!(
        after.contains("class=\"preview\""),
        "and the preview: {after}"
    );

    let mut nobody = filled();
    nobody.retain(|(name, _)| *name != "audience");
    browser.accept_language = "en".into();
    let shown = preview_json(&console, &browser, &nobody).await;
    assert_eq!(
        shown["refusals"],
        serde_json::json!(["Tick an audience to see what its readers receive."])
    );
    assert_eq!(shown["previews"], serde_json::json!([]));

    let pairs: Vec<(String, String)> = filled()
        .into_iter()
        .map(|(k, v)| (k.to_string(), v))
        .collect();
    let page = browser.post_raw("/console/compose/preview", &pairs).await;
    assert_eq!(page.status, StatusCode::FORBIDDEN, "no token, no preview");
    let mut forged = pairs.clone();
    forged.push(("csrf".into(), "0".repeat(64)));
    let page = browser.post_raw("/console/compose/preview", &forged).await;
    assert_eq!(page.status, StatusCode::FORBIDDEN, "a forged token");
}
