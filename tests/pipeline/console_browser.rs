//! The console in a real browser: Debian's Chromium, headless, driven by WebDriver
//! (Debian's `chromedriver`, package chromium-driver) through fantoccini. A screenshot of
//! every step is saved under `target/console-browser/`, to look at when a step fails.

use super::support::{require, CHROMIUM};
use fantoccini::{Client, ClientBuilder, Locator};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};
use tempfile::TempDir;

const CHROMEDRIVER: &str = "/usr/bin/chromedriver";
const STARTUP: Duration = Duration::from_secs(30);

/// chromedriver on a free port, killed when dropped, and one headless Chromium session.
pub struct Browser {
    pub client: Client,
    driver: Child,
    _profile: TempDir,
    shots: PathBuf,
    step: usize,
}

impl Browser {
    /// None (skipped loudly) when chromedriver or Chromium is missing outside CI.
    pub async fn start(test_name: &str) -> Option<Browser> {
        let present = Path::new(CHROMEDRIVER).exists() && Path::new(CHROMIUM).exists();
        if !require(
            "chromedriver and chromium (apt-get install chromium chromium-driver)",
            present,
        ) {
            return None;
        }
        let port = {
            let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("free port");
            listener.local_addr().expect("address").port()
        };
        let driver = Command::new(CHROMEDRIVER)
            .arg(format!("--port={port}"))
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("start chromedriver");
        let profile = tempfile::tempdir().expect("profile dir");
        let capabilities = serde_json::json!({
            "goog:chromeOptions": {
                "binary": CHROMIUM,
                "args": [
                    "--headless=new",
                    "--no-sandbox",
                    "--disable-gpu",
                    "--disable-dev-shm-usage",
                    "--window-size=1280,1000",
                    "--lang=en-GB",
                    format!("--user-data-dir={}", profile.path().display()),
                ],
            }
        });
        let capabilities = match capabilities {
            serde_json::Value::Object(map) => map,
            _ => unreachable!("a JSON object literal"),
        };
        let url = format!("http://127.0.0.1:{port}");
        let started = Instant::now();
        let client = loop {
            match ClientBuilder::rustls()
                .expect("TLS roots")
                .capabilities(capabilities.clone())
                .connect(&url)
                .await
            {
                Ok(client) => break client,
                Err(error) if started.elapsed() > STARTUP => {
                    panic!("chromedriver did not start a session: {error}")
                }
                Err(_) => tokio::time::sleep(Duration::from_millis(200)).await,
            }
        };
        let shots = Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("target/console-browser")
            .join(test_name);
        let _ = std::fs::remove_dir_all(&shots);
        std::fs::create_dir_all(&shots).expect("screenshot dir");
        Some(Browser {
            client,
            driver,
            _profile: profile,
            shots,
            step: 0,
        })
    }

    /// A screenshot named after the step, numbered in order.
    pub async fn shot(&mut self, name: &str) {
        self.step += 1;
        let png = self.client.screenshot().await.expect("screenshot");
        let path = self.shots.join(format!("{:02}-{name}.png", self.step));
        std::fs::write(&path, png).expect("write screenshot");
    }

    pub async fn go(&self, url: &str) {
        self.client.goto(url).await.expect("navigate");
    }

    pub async fn fill(&self, css: &str, text: &str) {
        let field = self
            .client
            .find(Locator::Css(css))
            .await
            .unwrap_or_else(|e| panic!("{css}: {e}"));
        field.clear().await.expect("clear");
        field.send_keys(text).await.expect("type");
    }

    pub async fn click(&self, css: &str) {
        self.client
            .find(Locator::Css(css))
            .await
            .unwrap_or_else(|e| panic!("{css}: {e}"))
            .click()
            .await
            .unwrap_or_else(|e| panic!("click {css}: {e}"));
    }

    pub async fn source(&self) -> String {
        self.client.source().await.expect("page source")
    }

    /// Waits until `css` matches an element whose text contains `wanted`.
    pub async fn wait_for_text(&self, css: &str, wanted: &str, within: Duration) -> String {
        let started = Instant::now();
        loop {
            if let Ok(element) = self.client.find(Locator::Css(css)).await {
                if let Ok(text) = element.text().await {
                    if text.contains(wanted) {
                        return text;
                    }
                    if started.elapsed() > within {
                        panic!("{css} says {text:?}, not {wanted:?}, after {within:?}");
                    }
                }
            } else if started.elapsed() > within {
                panic!("no {css} after {within:?}");
            }
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
    }

    pub async fn sign_in(&mut self, base: &str, name: &str, password: &str) {
        self.go(&format!("{base}/console")).await;
        self.fill("#name", name).await;
        self.fill("#password", password).await;
        self.shot(&format!("sign-in-{name}")).await;
        self.click("form button[type=submit]").await;
        self.wait_for_text(".who span", name, Duration::from_secs(10))
            .await;
    }

    pub async fn sign_out(&mut self) {
        self.click(".who button[type=submit]").await;
        self.wait_for_text("h1", "Sign in", Duration::from_secs(10))
            .await;
    }

    /// One key pressed and released, as a keyboard sends it to whatever has the focus.
    pub async fn press(&self, key: char) {
        use fantoccini::actions::{InputSource, KeyAction, KeyActions};
        let keys = KeyActions::new("keyboard".into())
            .then(KeyAction::Down { value: key })
            .then(KeyAction::Up { value: key });
        self.client
            .perform_actions(keys)
            .await
            .unwrap_or_else(|e| panic!("press {key:?}: {e}"));
    }

    /// Text typed key by key into the focused field.
    pub async fn type_keys(&self, text: &str) {
        for key in text.chars() {
            self.press(key).await;
        }
    }

    /// Presses Tab until the focus is on `css`, checking at each stop that the focused
    /// element shows it (its outline or shadow differs from when it is not focused).
    pub async fn tab_to(&self, css: &str) {
        for _ in 0..120 {
            let here = self
                .client
                .execute(
                    "const el = document.activeElement;\
                     return el && el !== document.body && el.matches(arguments[0]);",
                    vec![serde_json::json!(css)],
                )
                .await
                .expect("the focus");
            if here == serde_json::json!(true) {
                return;
            }
            self.press(fantoccini::key::Key::Tab.into()).await;
            self.focus_is_visible().await;
        }
        panic!("{css} is not reached with Tab: {}", self.source().await);
    }

    /// The focused element's outline and shadow differ from its own unfocused look.
    async fn focus_is_visible(&self) {
        let looks = self
            .client
            .execute(
                "const el = document.activeElement;\
                 if (!el || el === document.body) { return null; }\
                 const look = () => { const s = getComputedStyle(el);\
                   return [s.outlineStyle, s.outlineWidth, s.outlineColor, s.boxShadow].join(' '); };\
                 const focused = look();\
                 el.blur(); const unfocused = look(); el.focus();\
                 return [el.outerHTML.slice(0, 120), focused, unfocused];",
                vec![],
            )
            .await
            .expect("the focus ring");
        if let Some([what, focused, unfocused]) = looks.as_array().map(|v| v.as_slice()) {
            assert_ne!(focused, unfocused, "no visible focus on {what}");
        }
    }

    /// Every visible input, select and textarea without a label (`label[for]`, `aria-label`
    /// or `aria-labelledby`).
    pub async fn unlabelled_fields(&self) -> Vec<String> {
        let found = self
            .client
            .execute(
                "return Array.from(document.querySelectorAll('input, select, textarea'))\
                   .filter(el => el.type !== 'hidden')\
                   .filter(el => {\
                     const byFor = el.id && document.querySelector('label[for=\"' + CSS.escape(el.id) + '\"]');\
                     const named = (el.getAttribute('aria-label') || '').trim() !== '';\
                     const by = (el.getAttribute('aria-labelledby') || '').split(/\\s+/)\
                       .some(id => id && document.getElementById(id) && document.getElementById(id).textContent.trim());\
                     return !(byFor && byFor.textContent.trim()) && !named && !by; })\
                   .map(el => el.outerHTML.slice(0, 160));",
                vec![],
            )
            .await
            .expect("labels");
        serde_json::from_value(found).expect("a list")
    }

    /// Every visible piece of text whose contrast with its background is below WCAG AA
    /// (4.5:1; 3:1 for large text: 24 px, or 18.66 px bold), with the colours and ratio.
    pub async fn low_contrast(&self) -> Vec<String> {
        let found = self
            .client
            .execute(
                "const parse = c => { const m = c.match(/rgba?\\(([^)]+)\\)/); if (!m) { return [0,0,0,0]; }\
                   const p = m[1].split(',').map(Number); return [p[0], p[1], p[2], p.length > 3 ? p[3] : 1]; };\
                 const lum = ([r,g,b]) => { const f = v => { v /= 255; return v <= 0.03928 ? v / 12.92 : Math.pow((v + 0.055) / 1.055, 2.4); };\
                   return 0.2126 * f(r) + 0.7152 * f(g) + 0.0722 * f(b); };\
                 const over = (top, below) => { const a = top[3]; return [0,1,2].map(i => top[i] * a + below[i] * (1 - a)).concat([1]); };\
                 const background = el => { const layers = []; for (let e = el; e; e = e.parentElement) {\
                     const c = parse(getComputedStyle(e).backgroundColor); if (c[3] > 0) { layers.push(c); if (c[3] >= 1) { break; } } }\
                   let colour = [255,255,255,1]; for (const layer of layers.reverse()) { colour = over(layer, colour); } return colour; };\
                 const out = [];\
                 for (const el of document.querySelectorAll('body *')) {\
                   const own = Array.from(el.childNodes).some(n => n.nodeType === 3 && n.textContent.trim());\
                   if (!own || el.closest('[hidden], .skip, .visually-hidden')) { continue; }\
                   const r = el.getBoundingClientRect(); if (r.width === 0 || r.height === 0) { continue; }\
                   const s = getComputedStyle(el); if (s.visibility === 'hidden' || el.disabled) { continue; }\
                   const bg = background(el); const fg = over(parse(s.color), bg);\
                   const [hi, lo] = [lum(fg), lum(bg)].sort((a, b) => b - a);\
                   const ratio = (hi + 0.05) / (lo + 0.05);\
                   const size = parseFloat(s.fontSize); const bold = parseInt(s.fontWeight, 10) >= 700;\
                   const large = size >= 24 || (bold && size >= 18.66);\
                   if (ratio < (large ? 3 : 4.5)) { out.push(el.tagName + '.' + el.className + ' ' + s.color + ' on ' + bg.join(',') + ': ' + ratio.toFixed(2) + ' ' + el.textContent.trim().slice(0, 40)); } }\
                 return out;",
                vec![],
            )
            .await
            .expect("contrast");
        serde_json::from_value(found).expect("a list")
    }

    pub async fn close(mut self) {
        let _ = self.client.clone().close().await;
        let _ = self.driver.kill();
        let _ = self.driver.wait();
    }
}

impl Drop for Browser {
    fn drop(&mut self) {
        let _ = self.driver.kill();
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_browser_signs_in_keeps_its_secure_session_cookie_and_signs_out() {
    use super::support::TestApp;
    use tocsin::app::{Actor, App, NewCredential};
    use tocsin::domain::UserRole;
    let Some(mut browser) = Browser::start("sign-in").await else {
        return;
    };
    let test = TestApp::new(|config| config.serve.bind = "127.0.0.1:0".into()).await;
    test.app
        .add_user(
            "els",
            UserRole::Author,
            NewCredential::Password("lange zin om te onthouden".into()),
            &Actor::cli("test"),
        )
        .await
        .expect("user");
    let server = tocsin::web::Server::bind(App::open(test.app.config.clone()).await.expect("app"))
        .await
        .expect("bind");
    // `localhost`: a potentially trustworthy origin, where Chromium keeps Secure cookies
    // without TLS, as it would behind the hospital's TLS proxy.
    let base = format!("http://localhost:{}", server.address().port());
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    tokio::spawn(server.run(async {
        let _ = stopped.await;
    }));

    browser.go(&format!("{base}/console")).await;
    browser
        .wait_for_text("h1", "Sign in", Duration::from_secs(10))
        .await;
    browser.fill("#name", "els").await;
    browser.fill("#password", "wrong password").await;
    browser.click("form button[type=submit]").await;
    browser
        .wait_for_text(
            "#login-problem",
            "Wrong user name or password",
            Duration::from_secs(10),
        )
        .await;
    browser.shot("wrong-password").await;
    browser
        .sign_in(&base, "els", "lange zin om te onthouden")
        .await;
    browser.shot("signed-in").await;
    let cookies = browser.client.get_all_cookies().await.expect("cookies");
    let session = cookies
        .iter()
        .find(|cookie| cookie.name() == "__Host-tocsin-session")
        .expect("the session cookie is kept");
    assert_eq!(session.secure(), Some(true));
    assert_eq!(session.http_only(), Some(true));
    browser.sign_out().await;
    browser.shot("signed-out").await;
    browser.go(&format!("{base}/console/updates")).await;
    browser
        .wait_for_text("h1", "Sign in", Duration::from_secs(10))
        .await;
    browser.close().await;
    let _ = stop.send(());
}

/// What the spokesperson types over the playbook's text, in each language.
const TEXTS: [(&str, &str, &str, &str); 3] = [
    (
        "nl",
        "Cyberaanval: geplande consultaties gaan niet door",
        "Door een cyberaanval gaan vandaag en morgen op campus Deurne geen geplande consultaties door.",
        "Cyberaanval: geplande consultaties gaan niet door.",
    ),
    (
        "fr",
        "Cyberattaque : les consultations prévues n'auront pas lieu",
        "En raison d'une cyberattaque, aucune consultation prévue n'aura lieu aujourd'hui et demain sur le campus de Deurne.",
        "Cyberattaque : consultations annulees.",
    ),
    (
        "en",
        "Cyberattack: planned consultations will not go ahead",
        "Because of a cyberattack, no planned consultations will take place today or tomorrow at the Deurne campus.",
        "Cyberattack: consultations cancelled.",
    ),
];

/// The walk, in Chromium: an author composes from a playbook and previews, is
/// refused the approval of their own update, an approver approves and sends it to the real
/// OpenSMTPD and Kannel, and the dashboard reaches 100 %, with the counts of `tocsin status`.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_author_composes_from_a_playbook_an_approver_approves_and_sends_and_the_dashboard_reaches_100_percent(
) {
    use super::kannel::{RealKannel, PASSWORD, USERNAME};
    use super::support::{sms_patient, Mta, SmtpServer, TestApp};
    use tocsin::app::{Actor, App, NewCredential};
    use tocsin::channels::sms::kannel::KannelSettings;
    use tocsin::config::{EmailTransport, GatewayConfig, SmsTransport};
    use tocsin::domain::UserRole;

    let Some(smtp) = SmtpServer::of(Mta::OpenSmtpd, &[]) else {
        return;
    };
    let Some(kannel) = RealKannel::start().await else {
        return;
    };
    let Some(mut browser) = Browser::start("compose-approve-send-watch").await else {
        return;
    };
    let smtp_url = smtp.url();
    let kannel_url = kannel.base_url();
    let test = TestApp::new(move |config| {
        config.serve.bind = "127.0.0.1:0".into();
        config.email.transport = EmailTransport::Smtp;
        config.email.smtp_url = smtp_url;
        config.sms.transport = SmsTransport::Gateways;
        config.sms.gateways = vec![GatewayConfig::Kannel(KannelSettings {
            name: None,
            base_url: kannel_url,
            username: USERNAME.into(),
            password: Some(PASSWORD.into()),
            password_env: None,
            from: "AZT".into(),
            dlr_url: None,
        })];
    })
    .await;
    let (contacts, appointments): (Vec<_>, Vec<_>) = ["nl", "fr", "en"]
        .into_iter()
        .enumerate()
        .map(|(n, language)| {
            let email = format!("patient{n}@example.be");
            sms_patient(n, language, format!("+3247112345{n}"), Some(&email))
        })
        .unzip();
    test.app
        .store
        .import(&contacts, &appointments, "test seed", 0)
        .await
        .expect("seed");
    let actor = Actor::cli("test");
    for (name, role) in [("els", UserRole::Author), ("jan", UserRole::Approver)] {
        test.app
            .add_user(
                name,
                role,
                NewCredential::Password(format!("{name} heeft een lang wachtwoord")),
                &actor,
            )
            .await
            .expect("user");
    }
    let server = tocsin::web::Server::bind(App::open(test.app.config.clone()).await.expect("app"))
        .await
        .expect("bind");
    let base = format!("http://localhost:{}", server.address().port());
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    tokio::spawn(server.run(async {
        let _ = stopped.await;
    }));
    let wait = Duration::from_secs(20);

    // The author composes from the cyberattack playbook.
    browser
        .sign_in(&base, "els", "els heeft een lang wachtwoord")
        .await;
    browser
        .go(&format!("{base}/console/compose?playbook=cyberattack"))
        .await;
    browser.wait_for_text("h1", "", wait).await;
    browser.shot("playbook").await;
    for (language, title, body, sms) in TEXTS {
        browser.fill(&format!("#{language}_title"), title).await;
        browser.fill(&format!("#{language}_body"), body).await;
        browser.fill(&format!("#{language}_sms"), sms).await;
    }
    browser.fill("#patients_from", "2026-01-13").await;
    browser.fill("#patients_to", "2026-01-14").await;
    for css in ["#channel-telegram"] {
        let field = browser
            .client
            .find(Locator::Css(css))
            .await
            .expect("the channel's box");
        if field.is_selected().await.expect("ticked?") {
            field.click().await.expect("untick");
        }
    }
    // The live counts and SMS counter answer as the author types (compose.js).
    browser.wait_for_text("#sms-counter", "GSM-7", wait).await;
    let patients = "#audience-counts tr[data-spec^='patients from=2026-01-13'] td.number";
    let contacts = browser.wait_for_text(patients, "3", wait).await;
    assert_eq!(contacts, "3", "the three patients booked on 13 January");
    // The live preview follows the typing: a sentence added to the English text appears in
    // what the English patient would receive, before anything is saved.
    let added = "Questions? Call 03 123 45 67.";
    browser
        .fill("#en_body", &format!("{} {added}", TEXTS[2].2))
        .await;
    let shown = browser.wait_for_text("#compose-preview", added, wait).await;
    assert!(
        shown.contains("Patiënt2"),
        "to the English patient: {shown}"
    );
    browser
        .client
        .execute(
            "document.querySelector('#compose-preview article.preview[lang=en]').scrollIntoView();",
            vec![],
        )
        .await
        .expect("scroll");
    browser.shot("live-preview").await;
    browser.click("button[name=do][value=draft]").await;
    let started = Instant::now();
    let id: i64 = loop {
        let url = browser.client.current_url().await.expect("url");
        let id = url
            .path()
            .strip_prefix("/console/updates/")
            .and_then(|rest| rest.parse().ok());
        if let Some(id) = id {
            break id;
        }
        if started.elapsed() > wait {
            browser.shot("not-saved").await;
            panic!("the draft was not saved: {}", browser.source().await);
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    };
    browser.wait_for_text("#previews-heading", "", wait).await;
    browser.shot("draft-and-previews").await;
    let test_link = format!("a[href='/console/updates/{id}/test']");
    browser
        .wait_for_text(&test_link, "Send me a test", wait)
        .await;

    // The author's own approval, posted straight to the endpoint, is refused.
    let status = browser
        .client
        .execute(
            "const token = document.querySelector('input[name=csrf]').value;\
             return fetch(location.pathname + '/approve', {method: 'POST', \
             headers: {'x-csrf-token': token}}).then(answer => answer.status);",
            vec![],
        )
        .await
        .expect("fetch");
    assert_eq!(
        status,
        serde_json::json!(403),
        "the author approved their own update"
    );
    browser.shot("author-refused").await;
    browser.sign_out().await;

    // The approver approves and sends it now.
    browser
        .sign_in(&base, "jan", "jan heeft een lang wachtwoord")
        .await;
    browser.go(&format!("{base}/console/updates/{id}")).await;
    browser.shot("approver-sees-the-update").await;
    browser
        .click(&format!(
            "form[action='/console/updates/{id}/approve'] button"
        ))
        .await;
    browser.wait_for_text("main", "approved", wait).await;
    browser.shot("approved").await;
    browser
        .click(&format!("form[action='/console/updates/{id}/send'] button"))
        .await;
    browser
        .go(&format!("{base}/console/updates/{id}/watch"))
        .await;
    let summary = browser
        .wait_for_text("#progress .summary", "(100%)", Duration::from_secs(120))
        .await;
    browser.shot("dashboard-100-percent").await;
    // On a phone: the counts one block per line, the header wrapped, nothing cut off.
    browser
        .client
        .set_window_size(390, 844)
        .await
        .expect("phone-sized window");
    browser
        .go(&format!("{base}/console/updates/{id}/watch"))
        .await;
    browser
        .wait_for_text("#progress .summary", "(100%)", wait)
        .await;
    let overflow = browser
        .client
        .execute(
            "return document.documentElement.scrollWidth > window.innerWidth;",
            vec![],
        )
        .await
        .expect("measure");
    assert_eq!(
        overflow,
        serde_json::json!(false),
        "the dashboard is wider than a phone"
    );
    browser.shot("dashboard-on-a-phone").await;

    let status = test.app.status(id).await.expect("status");
    assert!(
        status.total >= 6,
        "three patients by SMS and by e-mail: {}",
        status.total
    );
    assert!(
        summary.contains(&format!("{0} of {0} deliveries", status.total)),
        "{summary}, while tocsin status counts {}",
        status.total
    );
    assert_eq!(
        smtp.received().len(),
        3,
        "one e-mail per patient at OpenSMTPD"
    );
    let mut texted: Vec<String> = kannel.received().into_iter().map(|sms| sms.to).collect();
    texted.sort();
    texted.dedup();
    assert_eq!(
        texted.len(),
        3,
        "an SMS for each patient at Kannel: {texted:?}"
    );
    browser.close().await;
    let _ = stop.send(());
}

/// Issue 13's "keyboard alone, labels and contrast", in Chromium: an author signs in,
/// reaches the compose page, ticks an audience with Space and saves a draft, with Tab, Space,
/// Enter and typed keys only; every stop shows its focus; every field of the sign-in page,
/// compose page, update page and dashboard has a label; and every text is at least 4.5:1
/// against its background (3:1 when large).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_console_works_with_the_keyboard_alone_with_a_visible_focus_labelled_fields_and_enough_contrast(
) {
    use super::support::{seed, TestApp};
    use fantoccini::key::Key;
    use tocsin::app::{Actor, App, NewCredential};
    use tocsin::domain::UserRole;
    let Some(mut browser) = Browser::start("keyboard-labels-contrast").await else {
        return;
    };
    let test = TestApp::new(|config| config.serve.bind = "127.0.0.1:0".into()).await;
    seed(&test.app, 3).await;
    test.app
        .add_user(
            "els",
            UserRole::Author,
            NewCredential::Password("lange zin om te onthouden".into()),
            &Actor::cli("test"),
        )
        .await
        .expect("user");
    let server = tocsin::web::Server::bind(App::open(test.app.config.clone()).await.expect("app"))
        .await
        .expect("bind");
    let base = format!("http://localhost:{}", server.address().port());
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    tokio::spawn(server.run(async {
        let _ = stopped.await;
    }));
    let wait = Duration::from_secs(20);
    let mut checked = Vec::new();
    let mut problems = Vec::new();

    browser.go(&format!("{base}/console")).await;
    browser
        .wait_for_text("h1", "Sign in", Duration::from_secs(10))
        .await;
    checked.push((
        "sign-in",
        browser.unlabelled_fields().await,
        browser.low_contrast().await,
    ));
    browser.tab_to("#name").await;
    browser.type_keys("els").await;
    browser.tab_to("#password").await;
    browser.type_keys("lange zin om te onthouden").await;
    browser.shot("keyboard-sign-in").await;
    browser.press(Key::Enter.into()).await;
    browser.wait_for_text(".who span", "els", wait).await;

    browser.tab_to("a[href='/console/compose']").await;
    browser.press(Key::Enter.into()).await;
    browser.wait_for_text("h1", "New update", wait).await;
    checked.push((
        "compose",
        browser.unlabelled_fields().await,
        browser.low_contrast().await,
    ));
    browser.tab_to("#incident").await;
    browser.type_keys("cyberattack-2026-01").await;
    browser.tab_to("#audience-patients").await;
    browser.press(' ').await;
    browser.tab_to("#patients_from").await;
    browser.type_keys("2026-01-13").await;
    browser.tab_to("#patients_to").await;
    browser.type_keys("2026-01-14").await;
    for (language, title, body, sms) in [
        (
            "nl",
            "Cyberaanval",
            "Geen consultaties vandaag.",
            "Geen consultaties vandaag.",
        ),
        (
            "fr",
            "Cyberattaque",
            "Pas de consultations.",
            "Pas de consultations.",
        ),
        (
            "en",
            "Cyberattack",
            "No consultations today.",
            "No consultations today.",
        ),
    ] {
        browser.tab_to(&format!("#{language}_title")).await;
        browser.type_keys(title).await;
        browser.tab_to(&format!("#{language}_body")).await;
        browser.type_keys(body).await;
        browser.tab_to(&format!("#{language}_sms")).await;
        browser.type_keys(sms).await;
    }
    browser
        .wait_for_text("#compose-preview", "No consultations today.", wait)
        .await;
    checked.push((
        "compose with its live parts",
        browser.unlabelled_fields().await,
        browser.low_contrast().await,
    ));
    browser.tab_to("button[name=do][value=draft]").await;
    browser.shot("keyboard-compose").await;
    browser.press(Key::Enter.into()).await;
    let started = Instant::now();
    let id: i64 = loop {
        let url = browser.client.current_url().await.expect("url");
        if let Some(id) = url
            .path()
            .strip_prefix("/console/updates/")
            .and_then(|rest| rest.parse().ok())
        {
            break id;
        }
        if started.elapsed() > wait {
            browser.shot("keyboard-not-saved").await;
            panic!("the draft was not saved: {}", browser.source().await);
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    };
    browser.wait_for_text("#previews-heading", "", wait).await;
    browser.shot("keyboard-saved").await;
    checked.push((
        "update",
        browser.unlabelled_fields().await,
        browser.low_contrast().await,
    ));
    browser.go(&format!("{base}/console/updates")).await;
    checked.push((
        "list",
        browser.unlabelled_fields().await,
        browser.low_contrast().await,
    ));
    browser
        .go(&format!("{base}/console/updates/{id}/watch"))
        .await;
    browser.wait_for_text("h1", "", wait).await;
    browser.shot("keyboard-dashboard").await;
    checked.push((
        "dashboard",
        browser.unlabelled_fields().await,
        browser.low_contrast().await,
    ));

    for (page, unlabelled, low) in &checked {
        for field in unlabelled {
            problems.push(format!("{page}: no label: {field}"));
        }
        for text in low {
            problems.push(format!("{page}: contrast: {text}"));
        }
    }
    assert!(problems.is_empty(), "{}", problems.join("\n"));
    assert_eq!(
        test.app.store.update(id).await.expect("saved").author,
        "els"
    );

    // The checks see what they look for: a grey text and a field without a label.
    browser
        .client
        .execute(
            "const p = document.createElement('p'); p.textContent = 'grey on white';\
             p.style.color = '#999999'; p.style.background = '#ffffff';\
             const input = document.createElement('input'); input.id = 'nameless';\
             document.querySelector('main').append(p, input);",
            vec![],
        )
        .await
        .expect("inject");
    let low = browser.low_contrast().await;
    assert!(
        low.iter()
            .any(|text| text.contains("grey on white") && text.contains("2.85")),
        "{low:?}"
    );
    let unlabelled = browser.unlabelled_fields().await;
    assert!(
        unlabelled.iter().any(|field| field.contains("nameless")),
        "{unlabelled:?}"
    );
    browser.close().await;
    let _ = stop.send(());
}
