//! A browser's part in the console tests, by hand: cookies kept as a browser keeps them
//! (`Secure` ones too, since the console runs here without TLS), no redirect followed, the
//! CSRF token read from the page's forms. `tocsin serve` runs in-process, on the test's clock.

use super::support::TestApp;
use reqwest::header::{HeaderMap, COOKIE, SET_COOKIE};
use reqwest::{Response, StatusCode};
use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;
use tocsin::app::App;
use tocsin::clock::ManualClock;
use tocsin::web::Server;

/// `tocsin serve` on a free port, on a clock the test moves; stopped when dropped.
pub struct Console {
    pub base: String,
    pub clock: Arc<ManualClock>,
    /// The dashboards' pollers of this server.
    pub progress: Arc<tocsin::web::progress::ProgressHub>,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
}

impl Console {
    pub async fn start(test: &TestApp) -> Console {
        Console::start_with(test, |_| {}).await
    }

    /// [`Console::start`] with the test's configuration changed by `change`.
    pub async fn start_with(
        test: &TestApp,
        change: impl FnOnce(&mut tocsin::config::Config),
    ) -> Console {
        let clock = Arc::new(ManualClock::new());
        let mut config = test.app.config.clone();
        config.serve.bind = "127.0.0.1:0".into();
        change(&mut config);
        let mut app = App::open(config).await.expect("app");
        app.clock = Arc::clone(&clock) as Arc<dyn tocsin::clock::Clock>;
        let server = Server::bind(app).await.expect("serve binds");
        let base = format!("http://{}", server.address());
        let progress = server.progress_hub();
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        tokio::spawn(server.run(async {
            let _ = stopped.await;
        }));
        Console {
            base,
            clock,
            progress,
            stop: Some(stop),
        }
    }
}

impl Drop for Console {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
    }
}

/// One browser: its cookies, and the CSRF token of the last page with a form.
pub struct Browser {
    pub base: String,
    client: reqwest::Client,
    pub cookies: BTreeMap<String, String>,
    pub csrf: Option<String>,
    pub accept_language: String,
}

/// A page as the test reads it.
pub struct Page {
    pub status: StatusCode,
    pub headers: HeaderMap,
    pub body: String,
}

impl Page {
    pub fn location(&self) -> Option<&str> {
        self.headers
            .get(reqwest::header::LOCATION)
            .and_then(|value| value.to_str().ok())
    }

    /// Every `Set-Cookie` of the answer, whole, to check its attributes.
    pub fn set_cookies(&self) -> Vec<String> {
        self.headers
            .get_all(SET_COOKIE)
            .iter()
            .filter_map(|value| value.to_str().ok().map(str::to_string))
            .collect()
    }
}

impl Browser {
    pub fn new(console: &Console) -> Browser {
        Browser {
            base: console.base.clone(),
            client: reqwest::Client::builder()
                .redirect(reqwest::redirect::Policy::none())
                .timeout(Duration::from_secs(30))
                .build()
                .expect("client"),
            cookies: BTreeMap::new(),
            csrf: None,
            accept_language: "en".into(),
        }
    }

    fn cookie_header(&self) -> String {
        self.cookies
            .iter()
            .map(|(name, value)| format!("{name}={value}"))
            .collect::<Vec<_>>()
            .join("; ")
    }

    async fn read(&mut self, response: Response) -> Page {
        let status = response.status();
        let headers = response.headers().clone();
        for line in headers.get_all(SET_COOKIE) {
            let line = line.to_str().expect("ASCII cookie");
            let pair = line.split(';').next().unwrap_or_default();
            let (name, value) = pair.split_once('=').expect("name=value");
            let removed = line.contains("Max-Age=0") || value.is_empty();
            if removed {
                self.cookies.remove(name);
            } else {
                self.cookies.insert(name.to_string(), value.to_string());
            }
        }
        let body = response.text().await.expect("body");
        if let Some(token) = csrf_in(&body) {
            self.csrf = Some(token);
        }
        Page {
            status,
            headers,
            body,
        }
    }

    pub async fn get(&mut self, path: &str) -> Page {
        let response = self
            .client
            .get(format!("{}{path}", self.base))
            .header(COOKIE, self.cookie_header())
            .header("accept-language", &self.accept_language)
            .send()
            .await
            .expect("GET");
        self.read(response).await
    }

    /// A form posted as a browser posts it, with the page's CSRF token unless `fields` has
    /// its own `csrf`.
    pub async fn post(&mut self, path: &str, fields: &[(&str, &str)]) -> Page {
        let mut form: Vec<(String, String)> = fields
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        if !fields.iter().any(|(name, _)| *name == "csrf") {
            if let Some(token) = &self.csrf {
                form.push(("csrf".into(), token.clone()));
            }
        }
        self.post_raw(path, &form).await
    }

    /// A form exactly as given: no token added.
    pub async fn post_raw(&mut self, path: &str, form: &[(String, String)]) -> Page {
        let response = self
            .client
            .post(format!("{}{path}", self.base))
            .header(COOKIE, self.cookie_header())
            .header("accept-language", &self.accept_language)
            .form(form)
            .send()
            .await
            .expect("POST");
        self.read(response).await
    }

    /// Signs in through the login page; panics unless it works.
    pub async fn sign_in(&mut self, name: &str, password: &str) {
        self.get("/console/login").await;
        let page = self
            .post("/console/login", &[("name", name), ("password", password)])
            .await;
        assert_eq!(page.status, StatusCode::SEE_OTHER, "{}", page.body);
        let page = self.get("/console/updates").await;
        assert_eq!(page.status, StatusCode::OK, "signed in: {}", page.body);
    }
}

/// The value of the first `name="csrf"` field of a page.
pub fn csrf_in(html: &str) -> Option<String> {
    let at = html.find("name=\"csrf\" value=\"")? + "name=\"csrf\" value=\"".len();
    let end = html[at..].find('"')?;
    Some(html[at..at + end].to_string()).filter(|token| !token.is_empty())
}
