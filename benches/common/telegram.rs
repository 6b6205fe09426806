//! The Telegram Bot API's `sendMessage`, emulated to cost little: the reference peer of the
//! Telegram benchmark (the tests' emulator, `tests/pipeline/telegram_api.rs`, parses the HTML
//! and keeps every request; this one only answers). It takes the parameters from the query
//! string (GET, as the load generator sends them) or a JSON body (POST, as teloxide sends
//! them), checks the token, and answers `{"ok":true,"result":Message}` with the fields
//! teloxide reads (`message_id` counting up per chat, `from`, `chat`, `date`, `text`). While
//! recording, it keeps each message's chat and arrival instant, for the limits.

use super::http::read_head;
use super::measure::{current_tid, thread_cpu_seconds};
use anyhow::Result;
use serde_json::{json, Value};
use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use tokio::io::{AsyncReadExt, AsyncWriteExt, BufReader};
use tokio::net::{TcpListener, TcpStream};

/// The benchmark bot's token, in the shape @BotFather gives.
pub const TOKEN: &str = "7012345678:AAFq3tocsinBenchBot_w4xYz-0123456789ab";
const BOT_ID: i64 = 7_012_345_678;

/// One message taken: its chat and when it arrived.
pub type Arrival = (i64, Instant);

struct Shared {
    requests: AtomicU64,
    recording: AtomicBool,
    arrivals: Mutex<Vec<Arrival>>,
}

pub struct Emulator {
    pub port: u16,
    tid: String,
    shared: Arc<Shared>,
}

impl Emulator {
    /// Listens on a thread of its own, with its own runtime, as a separate process would: its
    /// work does not run on Tocsin's runtime threads, and its CPU time is measured apart.
    pub async fn start() -> Result<Emulator> {
        let listener = std::net::TcpListener::bind("127.0.0.1:0")?;
        listener.set_nonblocking(true)?;
        let port = listener.local_addr()?.port();
        let shared = Arc::new(Shared {
            requests: AtomicU64::new(0),
            recording: AtomicBool::new(false),
            arrivals: Mutex::new(Vec::new()),
        });
        let theirs = Arc::clone(&shared);
        let (started, tid) = tokio::sync::oneshot::channel();
        std::thread::Builder::new()
            .name("bot-api-emulator".into())
            .spawn(move || {
                let _ = started.send(current_tid());
                let runtime = match tokio::runtime::Builder::new_current_thread()
                    .enable_all()
                    .build()
                {
                    Ok(runtime) => runtime,
                    Err(error) => return eprintln!("emulated Bot API: no runtime: {error}"),
                };
                runtime.block_on(accept(listener, theirs));
            })?;
        Ok(Emulator {
            port,
            tid: tid.await?,
            shared,
        })
    }

    pub fn url(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    /// CPU seconds the emulator's thread has used so far.
    pub fn cpu_seconds(&self) -> f64 {
        thread_cpu_seconds(&self.tid)
    }

    /// Messages taken since the last `reset`.
    pub fn requests(&self) -> u64 {
        self.shared.requests.load(Ordering::Relaxed)
    }

    /// Forgets what came so far; from now on, counts and keeps every message.
    pub fn reset(&self) {
        self.shared.requests.store(0, Ordering::Relaxed);
        self.shared.recording.store(true, Ordering::Relaxed);
        self.take();
    }

    /// The messages kept, in the order they arrived.
    pub fn take(&self) -> Vec<Arrival> {
        std::mem::take(
            &mut *self
                .shared
                .arrivals
                .lock()
                .unwrap_or_else(|e| e.into_inner()),
        )
    }
}

/// A `sendMessage` GET, as the emulator's capacity test sends it.
pub fn sample_path(chat_id: i64, html: &str) -> String {
    let query = url::form_urlencoded::Serializer::new(String::new())
        .append_pair("chat_id", &chat_id.to_string())
        .append_pair("text", html)
        .append_pair("parse_mode", "HTML")
        .finish();
    format!("/bot{TOKEN}/sendMessage?{query}")
}

/// What the emulator's clock shows of a run: the most messages in any one second, and the
/// least time between two messages to one chat (None when no chat got two).
pub fn limits_seen(arrivals: &[Arrival]) -> (usize, Option<Duration>) {
    let mut times: Vec<Instant> = arrivals.iter().map(|(_, at)| *at).collect();
    times.sort_unstable();
    let (mut busiest, mut first) = (0, 0);
    for (last, at) in times.iter().enumerate() {
        while *at - times[first] >= Duration::from_secs(1) {
            first += 1;
        }
        busiest = busiest.max(last - first + 1);
    }
    let mut last_in: HashMap<i64, Instant> = HashMap::new();
    let mut least: Option<Duration> = None;
    let mut ordered = arrivals.to_vec();
    ordered.sort_unstable_by_key(|(_, at)| *at);
    for (chat, at) in ordered {
        if let Some(before) = last_in.insert(chat, at) {
            let gap = at - before;
            least = Some(least.map_or(gap, |least| least.min(gap)));
        }
    }
    (busiest, least)
}

async fn accept(listener: std::net::TcpListener, shared: Arc<Shared>) {
    let listener = match TcpListener::from_std(listener) {
        Ok(listener) => listener,
        Err(error) => return eprintln!("emulated Bot API: {error}"),
    };
    // Message ids count up per chat, as Telegram's do; one map for every connection.
    let ids = Arc::new(Mutex::new(HashMap::<i64, i64>::new()));
    loop {
        match listener.accept().await {
            Ok((socket, _)) => {
                let (shared, ids) = (Arc::clone(&shared), Arc::clone(&ids));
                tokio::spawn(async move {
                    if let Err(error) = bot_api(socket, shared, ids).await {
                        eprintln!("emulated Bot API: {error:#}");
                    }
                });
            }
            Err(error) => {
                eprintln!("emulated Bot API: accept: {error}");
                tokio::time::sleep(Duration::from_millis(10)).await;
            }
        }
    }
}

async fn bot_api(
    socket: TcpStream,
    shared: Arc<Shared>,
    ids: Arc<Mutex<HashMap<i64, i64>>>,
) -> Result<()> {
    socket.set_nodelay(true)?;
    let (read, mut write) = socket.into_split();
    let mut reader = BufReader::with_capacity(16 * 1024, read);
    let mut line = Vec::with_capacity(1024);
    let mut body = Vec::new();
    let mut response = Vec::with_capacity(1024);
    while let Some(head) = read_head(&mut reader, &mut line).await? {
        body.resize(head.content_length, 0);
        reader.read_exact(&mut body).await?;
        let at = Instant::now();
        let (status, answer) = answer(&head.target, &body, &shared, &ids, at);
        response.clear();
        response.extend_from_slice(
            format!(
                "HTTP/1.1 {status}\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\r\n",
                answer.len()
            )
            .as_bytes(),
        );
        response.extend_from_slice(answer.as_bytes());
        write.write_all(&response).await?;
    }
    Ok(())
}

fn error(code: u16, description: &str) -> String {
    json!({"ok": false, "error_code": code, "description": description}).to_string()
}

/// The status line's code and reason, and the body, for one request.
fn answer(
    target: &str,
    body: &[u8],
    shared: &Shared,
    ids: &Mutex<HashMap<i64, i64>>,
    at: Instant,
) -> (&'static str, String) {
    let (path, query) = target.split_once('?').unwrap_or((target, ""));
    let Some((token, method)) = path
        .strip_prefix("/bot")
        .and_then(|rest| rest.split_once('/'))
    else {
        return ("404 Not Found", error(404, "Not Found"));
    };
    if token != TOKEN {
        return ("401 Unauthorized", error(401, "Unauthorized"));
    }
    if !method.eq_ignore_ascii_case("sendMessage") {
        return ("404 Not Found", error(404, "Not Found"));
    }
    let (mut chat_id, mut text) = (None, None);
    if body.is_empty() {
        for (name, value) in url::form_urlencoded::parse(query.as_bytes()) {
            match &*name {
                "chat_id" => chat_id = value.parse::<i64>().ok(),
                "text" => text = Some(value.into_owned()),
                _ => {}
            }
        }
    } else if let Ok(Value::Object(fields)) = serde_json::from_slice::<Value>(body) {
        chat_id = match fields.get("chat_id") {
            Some(Value::Number(id)) => id.as_i64(),
            Some(Value::String(id)) => id.parse().ok(),
            _ => None,
        };
        text = fields
            .get("text")
            .and_then(Value::as_str)
            .map(str::to_string);
    }
    let Some(chat_id) = chat_id else {
        return ("400 Bad Request", error(400, "Bad Request: chat not found"));
    };
    let Some(text) = text.filter(|text| !text.trim().is_empty()) else {
        return (
            "400 Bad Request",
            error(400, "Bad Request: message text is empty"),
        );
    };
    let message_id = {
        let mut ids = ids.lock().unwrap_or_else(|e| e.into_inner());
        let next = ids.entry(chat_id).or_insert(0);
        *next += 1;
        *next
    };
    shared.requests.fetch_add(1, Ordering::Relaxed);
    if shared.recording.load(Ordering::Relaxed) {
        shared
            .arrivals
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .push((chat_id, at));
    }
    let date = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |since| since.as_secs());
    let result = json!({
        "ok": true,
        "result": {
            "message_id": message_id,
            "from": {"id": BOT_ID, "is_bot": true, "first_name": "Tocsin bench",
                     "username": "tocsin_bench_bot"},
            "chat": {"id": chat_id, "type": "private", "first_name": "Patient"},
            "date": date,
            "text": text,
        }
    });
    ("200 OK", result.to_string())
}
