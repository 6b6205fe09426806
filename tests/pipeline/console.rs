//! The console's doors: signing in and out, sessions that end, CSRF, the sign-in throttle,
//! setup links, roles, the language, and text that stays text.

use super::console_client::{Browser, Console};
use super::support::TestApp;
use reqwest::StatusCode;
use std::time::Duration;
use tocsin::app::{Actor, NewCredential};
use tocsin::author::DraftOptions;
use tocsin::domain::UserRole;

const AUTHOR_PASSWORD: &str = "lange zin om te onthouden";
const APPROVER_PASSWORD: &str = "une autre phrase assez longue";

async fn with_users() -> TestApp {
    let test = TestApp::new(|_| {}).await;
    let actor = Actor::cli("test");
    for (name, role, password) in [
        ("els", UserRole::Author, AUTHOR_PASSWORD),
        ("jan", UserRole::Approver, APPROVER_PASSWORD),
    ] {
        test.app
            .add_user(name, role, NewCredential::Password(password.into()), &actor)
            .await
            .expect("user");
    }
    test
}

#[tokio::test]
async fn a_session_opens_with_secure_cookies_and_ends_at_sign_out_and_at_expiry() {
    let test = with_users().await;
    let console = Console::start(&test).await;
    let mut browser = Browser::new(&console);

    let page = browser.get("/console").await;
    assert_eq!(page.status, StatusCode::SEE_OTHER);
    assert_eq!(page.location(), Some("/console/login?back=%2Fconsole"));
    let pre = page
        .set_cookies()
        .into_iter()
        .find(|cookie| cookie.starts_with("__Host-tocsin-pre="))
        .expect("a pre-session cookie");
    for attribute in ["HttpOnly", "SameSite=Strict", "Secure", "Path=/"] {
        assert!(pre.contains(attribute), "{pre}");
    }
    let page = browser.get("/console/login?back=%2Fconsole").await;
    assert_eq!(page.status, StatusCode::OK, "{}", page.body);
    assert!(
        page.set_cookies().is_empty(),
        "the browser keeps its pre-session cookie"
    );
    for header in [
        "content-security-policy",
        "x-frame-options",
        "referrer-policy",
    ] {
        assert!(page.headers.contains_key(header), "{header} missing");
    }
    assert_eq!(page.headers["cache-control"], "no-store");

    let page = browser
        .post(
            "/console/login",
            &[("name", "els"), ("password", "not her password")],
        )
        .await;
    assert_eq!(page.status, StatusCode::UNAUTHORIZED);
    assert!(page.body.contains("Wrong user name or password."));

    let page = browser
        .post(
            "/console/login",
            &[("name", "els"), ("password", AUTHOR_PASSWORD)],
        )
        .await;
    assert_eq!(page.status, StatusCode::SEE_OTHER, "{}", page.body);
    let session = page
        .set_cookies()
        .into_iter()
        .find(|cookie| cookie.starts_with("__Host-tocsin-session="))
        .expect("a session cookie");
    for attribute in [
        "HttpOnly",
        "SameSite=Strict",
        "Secure",
        "Path=/",
        "Max-Age=43200",
    ] {
        assert!(session.contains(attribute), "{session}");
    }
    let page = browser.get("/console/updates").await;
    assert_eq!(page.status, StatusCode::OK);
    assert!(
        page.body.contains("Signed in as els (author)"),
        "{}",
        page.body
    );
    let stolen = browser.cookies.clone();

    // Sign-out without the form's token is refused, and the session lives on.
    let page = browser
        .post("/console/logout", &[("csrf", "0".repeat(64).as_str())])
        .await;
    assert_eq!(page.status, StatusCode::FORBIDDEN);
    assert_eq!(browser.get("/console/updates").await.status, StatusCode::OK);

    let page = browser.post("/console/logout", &[]).await;
    assert_eq!(page.status, StatusCode::SEE_OTHER);
    assert!(page
        .set_cookies()
        .iter()
        .any(|cookie| cookie.starts_with("__Host-tocsin-session=;")));
    // The cookie a copy kept is refused: the server ended the session.
    browser.cookies = stolen;
    let page = browser.get("/console/updates").await;
    assert_eq!(page.status, StatusCode::SEE_OTHER);
    assert!(page
        .location()
        .unwrap_or_default()
        .starts_with("/console/login"));

    // A new session ends 12 hours after sign-in, however busy.
    let mut browser = Browser::new(&console);
    browser.sign_in("els", AUTHOR_PASSWORD).await;
    console.clock.advance(Duration::from_secs(11 * 3600));
    assert_eq!(browser.get("/console/updates").await.status, StatusCode::OK);
    console.clock.advance(Duration::from_secs(3600));
    let page = browser.get("/console/updates").await;
    assert_eq!(page.status, StatusCode::SEE_OTHER, "expired");

    let log = test
        .app
        .audit_log(None, None, &Actor::cli("test"))
        .await
        .expect("audit log");
    let actions: Vec<&str> = log.iter().map(|entry| entry.action.as_str()).collect();
    for action in ["login.failed", "login", "logout"] {
        assert!(actions.contains(&action), "{actions:?}");
    }
    let failed = log
        .iter()
        .find(|entry| entry.action == "login.failed")
        .expect("failed");
    assert_eq!(failed.remote.as_deref(), Some("127.0.0.1"));
}

#[tokio::test]
async fn a_post_without_the_pages_csrf_token_is_refused_everywhere() {
    let test = with_users().await;
    let console = Console::start(&test).await;

    // Before sign-in: a login form posted from elsewhere, without the browser's own token.
    let mut stranger = Browser::new(&console);
    let page = stranger
        .post_raw(
            "/console/login",
            &[
                ("name".into(), "els".into()),
                ("password".into(), AUTHOR_PASSWORD.into()),
            ],
        )
        .await;
    assert_eq!(page.status, StatusCode::FORBIDDEN);
    assert!(
        page.body.contains("did not come from the console"),
        "{}",
        page.body
    );
    assert!(!page
        .set_cookies()
        .iter()
        .any(|c| c.contains("tocsin-session")));

    // Signed in: another session's token is not this one's.
    let mut els = Browser::new(&console);
    els.sign_in("els", AUTHOR_PASSWORD).await;
    let mut jan = Browser::new(&console);
    jan.sign_in("jan", APPROVER_PASSWORD).await;
    assert_ne!(els.csrf, jan.csrf);
    let jans = jan.csrf.clone().expect("token");
    let page = els.post("/console/logout", &[("csrf", &jans)]).await;
    assert_eq!(page.status, StatusCode::FORBIDDEN);
    let page = els.post_raw("/console/logout", &[]).await;
    assert_eq!(page.status, StatusCode::FORBIDDEN);
    assert_eq!(els.get("/console/updates").await.status, StatusCode::OK);
}

#[tokio::test]
async fn ten_wrong_passwords_slow_the_sign_in_down_even_for_the_right_one() {
    let test = with_users().await;
    let console = Console::start(&test).await;
    let mut browser = Browser::new(&console);
    browser.get("/console/login").await;
    let mut statuses = Vec::new();
    for attempt in 1..=10 {
        let page = browser
            .post("/console/login", &[("name", "els"), ("password", "guess")])
            .await;
        statuses.push(page.status);
        // Each delay is let pass, so that every guess is looked at; not the last one's.
        if attempt == 10 {
            break;
        }
        if let Some(wait) = page.headers.get("retry-after") {
            let seconds: u64 = wait.to_str().expect("ascii").parse().expect("seconds");
            console.clock.advance(Duration::from_secs(seconds));
        }
        console.clock.advance(Duration::from_millis(10));
    }
    assert!(
        statuses.iter().all(|s| *s == StatusCode::UNAUTHORIZED),
        "{statuses:?}"
    );
    let page = browser
        .post(
            "/console/login",
            &[("name", "els"), ("password", AUTHOR_PASSWORD)],
        )
        .await;
    assert_eq!(page.status, StatusCode::TOO_MANY_REQUESTS);
    let wait: u64 = page.headers["retry-after"]
        .to_str()
        .expect("ascii")
        .parse()
        .expect("seconds");
    assert!(
        wait >= 16,
        "after 10 failures the delay has doubled 4 times: {wait}"
    );
    assert!(
        page.body.contains(&format!("Wait {wait} seconds")),
        "{}",
        page.body
    );
    console.clock.advance(Duration::from_secs(wait));
    let page = browser
        .post(
            "/console/login",
            &[("name", "els"), ("password", AUTHOR_PASSWORD)],
        )
        .await;
    assert_eq!(page.status, StatusCode::SEE_OTHER, "{}", page.body);
}

#[tokio::test]
async fn wrong_passwords_from_one_address_do_not_keep_the_user_waiting_at_another() {
    let test = with_users().await;
    let console = Console::start(&test).await;
    let mut guesser = Browser::from_address(&console, [127, 0, 0, 2].into());
    guess_until_slowed(&mut guesser).await;

    let mut els = Browser::from_address(&console, [127, 0, 0, 3].into());
    els.sign_in("els", AUTHOR_PASSWORD).await;
    let log = test
        .app
        .audit_log(None, None, &Actor::cli("test"))
        .await
        .expect("audit log");
    let login = log
        .iter()
        .find(|entry| entry.action == "login")
        .expect("els signed in");
    assert_eq!(login.remote.as_deref(), Some("127.0.0.3"));
}

/// Guesses at `els` until the next attempt must wait; returns that 429.
async fn guess_until_slowed(browser: &mut Browser) {
    browser.get("/console/login").await;
    for _ in 0..6 {
        let page = browser
            .post("/console/login", &[("name", "els"), ("password", "guess")])
            .await;
        assert_eq!(page.status, StatusCode::UNAUTHORIZED, "{}", page.body);
    }
    let page = browser
        .post(
            "/console/login",
            &[("name", "els"), ("password", AUTHOR_PASSWORD)],
        )
        .await;
    assert_eq!(page.status, StatusCode::TOO_MANY_REQUESTS, "{}", page.body);
}

#[tokio::test]
async fn behind_a_trusted_proxy_each_browser_is_known_by_the_address_the_proxy_names() {
    let test = with_users().await;
    let console = Console::start_with(&test, |config| {
        config.console.trusted_proxies = vec![[127, 0, 0, 1].into()];
    })
    .await;
    // What the client wrote itself (192.0.2.66) is left of what the proxy appended, and a
    // second proxy of ours (127.0.0.1) appended its own hop after.
    let mut guesser = Browser::new(&console);
    guesser.forwarded_for = Some("192.0.2.66, 203.0.113.7, 127.0.0.1".into());
    guess_until_slowed(&mut guesser).await;

    let mut els = Browser::new(&console);
    els.forwarded_for = Some("198.51.100.20".into());
    els.sign_in("els", AUTHOR_PASSWORD).await;

    let log = test
        .app
        .audit_log(None, None, &Actor::cli("test"))
        .await
        .expect("audit log");
    let remotes = |action: &str| -> Vec<Option<String>> {
        let mut remotes: Vec<Option<String>> = log
            .iter()
            .filter(|entry| entry.action == action)
            .map(|entry| entry.remote.clone())
            .collect();
        remotes.dedup();
        remotes
    };
    assert_eq!(remotes("login.failed"), [Some("203.0.113.7".to_string())]);
    assert_eq!(remotes("login"), [Some("198.51.100.20".to_string())]);
}

#[tokio::test]
async fn from_a_peer_that_is_no_trusted_proxy_x_forwarded_for_changes_nothing() {
    let test = with_users().await;
    let console = Console::start(&test).await;
    let mut guesser = Browser::new(&console);
    guesser.get("/console/login").await;
    // A new made-up address for every guess does not escape the throttle.
    for i in 0..6 {
        guesser.forwarded_for = Some(format!("203.0.113.{i}"));
        let page = guesser
            .post("/console/login", &[("name", "els"), ("password", "guess")])
            .await;
        assert_eq!(page.status, StatusCode::UNAUTHORIZED, "{}", page.body);
    }
    guesser.forwarded_for = Some("203.0.113.99".into());
    let page = guesser
        .post(
            "/console/login",
            &[("name", "els"), ("password", AUTHOR_PASSWORD)],
        )
        .await;
    assert_eq!(page.status, StatusCode::TOO_MANY_REQUESTS, "{}", page.body);
    let log = test
        .app
        .audit_log(None, None, &Actor::cli("test"))
        .await
        .expect("audit log");
    assert!(log
        .iter()
        .filter(|entry| entry.action == "login.failed")
        .all(|entry| entry.remote.as_deref() == Some("127.0.0.1")));
}

#[tokio::test]
async fn when_every_place_to_check_a_password_is_taken_a_sign_in_is_told_to_retry() {
    let test = with_users().await;
    let console = Console::start(&test).await;
    let mut browser = Browser::new(&console);
    browser.get("/console/login").await;
    let held: Vec<_> = std::iter::from_fn(|| console.hashing.try_admit()).collect();
    assert!(!held.is_empty());
    let page = browser
        .post(
            "/console/login",
            &[("name", "els"), ("password", AUTHOR_PASSWORD)],
        )
        .await;
    assert_eq!(page.status, StatusCode::TOO_MANY_REQUESTS, "{}", page.body);
    assert_eq!(page.headers["retry-after"], "1");
    assert!(
        page.body.contains("busy checking other passwords"),
        "{}",
        page.body
    );
    drop(held);
    browser.sign_in("els", AUTHOR_PASSWORD).await;
}

#[tokio::test]
async fn a_setup_link_sets_the_first_password_once() {
    let test = with_users().await;
    let (_, setup) = test
        .app
        .add_user(
            "marie",
            UserRole::Approver,
            NewCredential::SetupToken,
            &Actor::cli("test"),
        )
        .await
        .expect("user");
    let token = setup.expect("a setup token").token;
    let console = Console::start(&test).await;
    let mut browser = Browser::new(&console);
    browser.accept_language = "fr-BE,fr;q=0.9".into();
    let path = format!("/console/setup/{}", token.expose());
    let page = browser.get(&path).await;
    assert_eq!(page.status, StatusCode::OK);
    assert!(page.body.contains("Choisissez votre mot de passe"));

    let page = browser
        .post(
            &path,
            &[("password", "mon mot de passe"), ("again", "autre chose !")],
        )
        .await;
    assert_eq!(page.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(page.body.contains("Les deux mots de passe diffèrent"));
    let page = browser
        .post(&path, &[("password", "court"), ("again", "court")])
        .await;
    assert_eq!(page.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(
        page.body.contains("ne peut pas être utilisé\u{a0}:"),
        "{}",
        page.body
    );

    let chosen = "une phrase que je retiendrai";
    let page = browser
        .post(&path, &[("password", chosen), ("again", chosen)])
        .await;
    assert_eq!(page.status, StatusCode::SEE_OTHER, "{}", page.body);
    assert_eq!(page.location(), Some("/console/login?done=1"));
    let page = browser.get("/console/login?done=1").await;
    assert!(page.body.contains("Votre mot de passe est enregistré"));
    browser.sign_in("marie", chosen).await;

    // A link that is not one is refused as such before anything else is looked at (and
    // before any Argon2 hash): even a too short password gets "this link is not valid".
    let mut stranger = Browser::new(&console);
    let unknown = format!("/console/setup/{}", "ab".repeat(32));
    stranger.get(&unknown).await;
    let page = stranger
        .post(&unknown, &[("password", "court"), ("again", "court")])
        .await;
    assert_eq!(page.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(page.body.contains("already used"), "{}", page.body);
    assert!(!page.body.contains("cannot be used"), "{}", page.body);

    let mut again = Browser::new(&console);
    again.get(&path).await;
    let page = again
        .post(&path, &[("password", chosen), ("again", chosen)])
        .await;
    assert_eq!(page.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(page.body.contains("already used"), "{}", page.body);
}

#[tokio::test]
async fn roles_languages_and_escaping_hold_on_every_page() {
    let test = with_users().await;
    let nasty = "<script>alert('x')</script> & \"quoted\"";
    let source = format!(
        "incident = \"cyberattack-2026-01\"\nkind = \"alert\"\nauthor = \"els\"\n\
         audiences = [\"media\"]\nchannels = [\"email\"]\n\
         [nl]\ntitle = {q}\nbody = \"Tekst.\"\nsms = \"Tekst\"\n\
         [fr]\ntitle = {q}\nbody = \"Texte.\"\nsms = \"Texte\"\n\
         [en]\ntitle = {q}\nbody = \"Text.\"\nsms = \"Text\"\n",
        q = toml::Value::String(nasty.into())
    );
    let file = test.dir.path().join("nasty.toml");
    std::fs::write(&file, source).expect("write");
    test.app
        .draft(&file, None, DraftOptions::default())
        .await
        .expect("draft");
    let console = Console::start(&test).await;

    let mut els = Browser::new(&console);
    els.accept_language = "nl-BE".into();
    els.sign_in("els", AUTHOR_PASSWORD).await;
    let page = els.get("/console/updates").await;
    assert!(
        page.body.contains("Aangemeld als els (auteur)"),
        "{}",
        page.body
    );
    assert!(page
        .body
        .contains("&lt;script&gt;alert(&#x27;x&#x27;)&lt;&#x2F;script&gt;"));
    assert!(!page.body.contains("<script>alert"));
    assert!(page.body.contains("ontwerp"), "the state in Dutch");

    // An author does not read the audit log, even by its address.
    let page = els.get("/console/audit").await;
    assert_eq!(page.status, StatusCode::FORBIDDEN);
    assert!(
        page.body.contains("Uw rol laat dit niet toe."),
        "{}",
        page.body
    );

    // The language chosen sticks, and the way back stays inside the console.
    let page = els
        .get("/console/language?to=fr&back=https://evil.example/")
        .await;
    assert_eq!(page.location(), Some("/console"));
    let page = els.get("/console/updates").await;
    assert!(
        page.body.contains("Session de els (rédacteur)"),
        "{}",
        page.body
    );
    assert!(page.body.contains("<html lang=\"fr\">"));

    let mut jan = Browser::new(&console);
    jan.sign_in("jan", APPROVER_PASSWORD).await;
    let page = jan.get("/console/audit").await;
    assert_eq!(page.status, StatusCode::OK);
    assert!(page.body.contains("login"));
}
