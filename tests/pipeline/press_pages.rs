//! The press room as `tocsin serve` answers it: two released updates and a draft, read over
//! HTTP (language by `Accept-Language`, conditional requests, the reference check) and in
//! headless Chromium at a phone's and a desktop's width in nl, fr and en.

use crate::support::{chromium, require, TestApp, CHROMIUM};
use reqwest::header::{CACHE_CONTROL, CONTENT_TYPE, ETAG, LAST_MODIFIED, LOCATION, VARY};
use reqwest::StatusCode;
use std::path::{Path, PathBuf};
use std::time::Duration;
use tocsin::app::App;
use tocsin::author::DraftOptions;
use tocsin::web::Server;

/// What the spokesperson wrote, as a careless page would break on it.
const NASTY: &str = "Tekst <script>alert(1)</script> ]]> & {{ hospital }} 🚑 \u{200F}einde";

fn update_file(kind: &str, title: &str, body: &str) -> String {
    let quoted = |text: &str| toml::Value::String(text.to_string()).to_string();
    let mut file = format!(
        "incident = \"cyberattack-2026-01\"\nkind = \"{kind}\"\nauthor = \"Els Peeters\"\n\
         audiences = [\"media\"]\nchannels = [\"email\"]\n"
    );
    for (language, word) in [("nl", "Bericht"), ("fr", "Message"), ("en", "Notice")] {
        file.push_str(&format!(
            "\n[{language}]\ntitle = {}\nbody = {}\nsms = \"{word}\"\n",
            quoted(&format!("{word}: {title}")),
            quoted(&format!("{body} ({language})\n\nTweede alinea.")),
        ));
    }
    file
}

async fn draft(test: &TestApp, name: &str, source: &str) -> i64 {
    let file = test.dir.path().join(name);
    std::fs::write(&file, source).expect("write update file");
    test.app
        .draft(&file, None, DraftOptions::default())
        .await
        .expect("draft")
        .id
}

async fn reference(test: &TestApp, id: i64) -> String {
    test.app
        .store
        .update(id)
        .await
        .expect("update")
        .reference
        .to_string()
}

struct Answer {
    status: StatusCode,
    headers: reqwest::header::HeaderMap,
    body: String,
}

impl Answer {
    fn header(&self, name: reqwest::header::HeaderName) -> &str {
        self.headers
            .get(&name)
            .and_then(|value| value.to_str().ok())
            .unwrap_or_else(|| panic!("no {name} in {:?}", self.headers))
    }
}

async fn get(client: &reqwest::Client, url: &str, headers: &[(&str, &str)]) -> Answer {
    let mut request = client.get(url);
    for (name, value) in headers {
        request = request.header(*name, *value);
    }
    let response = request.send().await.expect("answer");
    Answer {
        status: response.status(),
        headers: response.headers().clone(),
        body: response.text().await.expect("body"),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_press_room_answers_released_updates_in_three_languages_from_memory() {
    let test = TestApp::new(|config| config.serve.bind = "127.0.0.1:0".into()).await;
    let first = draft(
        &test,
        "first.toml",
        &update_file("alert", "cyberaanval", "Geen operaties"),
    )
    .await;
    test.app
        .approve(first, "Dr. Jan Claes")
        .await
        .expect("approve");
    let second = draft(&test, "second.toml", &update_file("update", "stand", NASTY)).await;
    test.app
        .approve(second, "Dr. Jan Claes")
        .await
        .expect("approve");
    let unreleased = draft(
        &test,
        "third.toml",
        &update_file("allclear", "einde", "Alles normaal"),
    )
    .await;
    let [first_ref, second_ref, draft_ref] = [
        reference(&test, first).await,
        reference(&test, second).await,
        reference(&test, unreleased).await,
    ];

    let server = Server::bind(App::open(test.app.config.clone()).await.expect("app"))
        .await
        .expect("serve binds");
    let base = format!("http://{}", server.address());
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let serving = tokio::spawn(server.run(async {
        let _ = stopped.await;
    }));
    let client = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .timeout(Duration::from_secs(30))
        .build()
        .expect("client");

    // `/` by the reader's languages.
    for (accepted, language) in [
        ("fr-BE,fr;q=0.9", "fr"),
        ("nl-BE", "nl"),
        ("de-DE,de;q=0.9", "en"),
    ] {
        let answer = get(
            &client,
            &format!("{base}/"),
            &[("accept-language", accepted)],
        )
        .await;
        assert_eq!(answer.status, StatusCode::FOUND, "{accepted}");
        assert_eq!(answer.header(LOCATION), format!("{language}/index.html"));
        assert!(answer.header(VARY).contains("Accept-Language"));
    }
    let french = get(&client, &format!("{base}/fr/index.html"), &[]).await;
    assert_eq!(french.status, StatusCode::OK);
    assert_eq!(french.header(CONTENT_TYPE), "text/html; charset=utf-8");
    assert!(french.body.contains("<html lang=\"fr-BE\">"));
    assert!(french.body.contains("Message: stand") && french.body.contains("Mise à jour"));
    assert!(
        !french.body.contains("Message: einde"),
        "a draft is not shown"
    );
    assert!(
        french.body.find("Message: stand") < french.body.find("Message: cyberaanval"),
        "newest first"
    );
    assert!(french
        .body
        .contains("&lt;script&gt;alert(1)&lt;&#x2F;script&gt;"));
    assert!(!french.body.contains("<script>"));
    let dutch = get(&client, &format!("{base}/nl/"), &[]).await;
    assert_eq!(dutch.status, StatusCode::OK);
    assert!(dutch.body.contains("<html lang=\"nl-BE\">") && dutch.body.contains("Waarschuwing"));
    let css = get(&client, &format!("{base}/style.css"), &[]).await;
    assert_eq!(css.header(CONTENT_TYPE), "text/css; charset=utf-8");
    for path in [
        "index.html",
        &format!("en/{first_ref}.html"),
        "en/check.html",
    ] {
        let answer = get(&client, &format!("{base}/{path}"), &[]).await;
        assert_eq!(answer.status, StatusCode::OK, "{path}");
    }
    let missing = get(
        &client,
        &format!("{base}/nl/ZNA-20990101-0000.html"),
        &[("accept-language", "fr")],
    )
    .await;
    assert_eq!(missing.status, StatusCode::NOT_FOUND);
    assert!(
        missing.body.contains("Pagina niet gevonden"),
        "{}",
        missing.body
    );
    let elsewhere = get(
        &client,
        &format!("{base}/nowhere"),
        &[("accept-language", "fr")],
    )
    .await;
    assert!(elsewhere.body.contains("Page introuvable"));

    // Conditional requests.
    let timeline = format!("{base}/nl/index.html");
    let etag = dutch.header(ETAG).to_string();
    let modified = dutch.header(LAST_MODIFIED).to_string();
    assert_eq!(dutch.header(CACHE_CONTROL), "public, max-age=60");
    let weak = format!("W/{etag}");
    for headers in [
        vec![("if-none-match", etag.as_str())],
        vec![("if-none-match", weak.as_str())],
        vec![("if-modified-since", modified.as_str())],
    ] {
        let answer = get(&client, &timeline, &headers).await;
        assert_eq!(answer.status, StatusCode::NOT_MODIFIED, "{headers:?}");
        assert_eq!(answer.header(ETAG), etag);
        assert_eq!(answer.header(LAST_MODIFIED), modified);
        assert!(answer.body.is_empty());
    }
    let other = get(&client, &timeline, &[("if-none-match", "\"x\", W/\"y\"")]).await;
    assert_eq!(other.status, StatusCode::OK);
    let head = client.head(&timeline).send().await.expect("HEAD");
    assert_eq!(head.status(), StatusCode::OK);
    assert_eq!(head.headers()[ETAG], etag.as_str());
    assert!(head.text().await.expect("body").is_empty());

    // The reference check.
    let check = |typed: &str| format!("{base}/en/check.html?ref={typed}");
    let genuine = get(&client, &check(&first_ref.to_lowercase()), &[]).await;
    assert_eq!(genuine.status, StatusCode::OK);
    assert!(genuine.body.contains(&format!(
        "The reference {first_ref} belongs to a genuine message from"
    )));
    assert!(genuine.body.contains("Notice: cyberaanval"));
    assert_eq!(genuine.header(CACHE_CONTROL), "no-cache");
    for typed in [draft_ref.as_str(), "AZT-20260113-ZZZZ", "%3Cb%3Ehello"] {
        let answer = get(&client, &check(typed), &[]).await;
        assert_eq!(answer.status, StatusCode::NOT_FOUND, "{typed}");
        assert!(answer.body.contains("was not issued by"), "{typed}");
        assert!(answer.body.contains("tel:+3235551212"), "{typed}");
        assert!(!answer.body.contains("<b>"));
    }

    // Chromium shows the timeline and an update in each language.
    if require("chromium", Path::new(CHROMIUM).exists()) {
        let screenshots =
            PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("target/press-screenshots");
        std::fs::create_dir_all(&screenshots).expect("screenshots folder");
        for (language, word, kind) in [
            ("nl", "Bericht", "Update"),
            ("fr", "Message", "Mise à jour"),
            ("en", "Notice", "Update"),
        ] {
            for page in ["index.html", &format!("{second_ref}.html")] {
                let url = format!("{base}/{language}/{page}");
                let scratch = test.dir.path();
                let dom = tokio::task::block_in_place(|| chromium(&["--dump-dom"], &url, scratch));
                let dom = String::from_utf8_lossy(&dom);
                for seen in [
                    format!("{word}: stand"),
                    kind.to_string(),
                    "&lt;script&gt;alert(1)&lt;/script&gt; ]]&gt; &amp; {{ hospital }} 🚑 \u{200F}einde"
                        .to_string(),
                    second_ref.clone(),
                ] {
                    assert!(dom.contains(&seen), "{url}: {seen:?} in\n{dom}");
                }
                assert!(!dom.contains("<script"), "{url}");
                for (width, height) in [(390, 844), (1280, 900)] {
                    let name = format!(
                        "{language}-{}-{width}.png",
                        page.trim_end_matches(".html")
                            .replace(&second_ref, "update")
                    );
                    let file = screenshots.join(&name);
                    let _ = std::fs::remove_file(&file);
                    tokio::task::block_in_place(|| {
                        chromium(
                            &[
                                &format!("--screenshot={}", file.display()),
                                &format!("--window-size={width},{height}"),
                            ],
                            &url,
                            scratch,
                        )
                    });
                    let png = std::fs::read(&file).unwrap_or_default();
                    assert!(png.starts_with(b"\x89PNG"), "{name}: no screenshot");
                }
            }
        }
    }

    // A new release changes the timeline's validators within a couple of seconds, and its
    // reference becomes genuine.
    tokio::time::sleep(Duration::from_millis(1_100)).await;
    test.app
        .approve(unreleased, "Dr. Jan Claes")
        .await
        .expect("approve");
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    let changed = loop {
        let answer = get(&client, &timeline, &[("if-none-match", &etag)]).await;
        if answer.status == StatusCode::OK {
            break answer;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "the timeline did not change"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    };
    assert_ne!(changed.header(ETAG), etag);
    assert_ne!(changed.header(LAST_MODIFIED), modified);
    assert!(changed.body.contains("Bericht: einde"));
    let since = get(&client, &timeline, &[("if-modified-since", &modified)]).await;
    assert_eq!(since.status, StatusCode::OK, "modified since the old date");
    let now_genuine = get(&client, &check(&draft_ref), &[]).await;
    assert_eq!(now_genuine.status, StatusCode::OK);

    // An approval taken back (before sending) takes the update off the press room again.
    test.app
        .revoke(unreleased, "Dr. Jan Claes")
        .await
        .expect("revoke");
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    while get(&client, &check(&draft_ref), &[]).await.status != StatusCode::NOT_FOUND {
        assert!(
            tokio::time::Instant::now() < deadline,
            "a revoked update is still shown"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    let page = get(&client, &format!("{base}/en/{draft_ref}.html"), &[]).await;
    assert_eq!(page.status, StatusCode::NOT_FOUND);

    let _ = stop.send(());
    tokio::time::timeout(Duration::from_secs(30), serving)
        .await
        .expect("serve stops")
        .expect("serve ran");
}
