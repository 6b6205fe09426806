//! Kannel's smsbox `sendsms`, emulated: the reference peer of the SMS benchmark.

use super::http::read_head;
use super::measure::{current_tid, thread_cpu_seconds};
use anyhow::Result;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt, BufReader};
use tokio::net::{TcpListener, TcpStream};

/// The account the emulator accepts.
pub const USERNAME: &str = "tocsin";
pub const PASSWORD: &str = "bench-sendsms-password";

/// Kannel's smsbox `sendsms`, emulated: checks the account and the required variables as
/// Kannel does, answers `202 0: Accepted for delivery`, and keeps each message's `dlr-url`
/// (while recording) so the benchmark can call them back as Kannel would.
pub struct Emulator {
    pub port: u16,
    tid: String,
    pub requests: Arc<AtomicU64>,
    recording: Arc<AtomicBool>,
    dlr_urls: Arc<Mutex<Vec<String>>>,
}

impl Emulator {
    /// Listens on a thread of its own, with its own runtime, as a separate process would: its
    /// work does not run on Tocsin's runtime threads, and its CPU time is measured apart.
    pub async fn start() -> Result<Emulator> {
        let listener = std::net::TcpListener::bind("127.0.0.1:0")?;
        listener.set_nonblocking(true)?;
        let port = listener.local_addr()?.port();
        let requests = Arc::new(AtomicU64::new(0));
        let recording = Arc::new(AtomicBool::new(false));
        let dlr_urls = Arc::new(Mutex::new(Vec::new()));
        let shared = (
            Arc::clone(&requests),
            Arc::clone(&recording),
            Arc::clone(&dlr_urls),
        );
        let (started, tid) = tokio::sync::oneshot::channel();
        std::thread::Builder::new()
            .name("kannel-emulator".into())
            .spawn(move || {
                let _ = started.send(current_tid());
                let runtime = match tokio::runtime::Builder::new_current_thread()
                    .enable_all()
                    .build()
                {
                    Ok(runtime) => runtime,
                    Err(error) => return eprintln!("emulated Kannel: no runtime: {error}"),
                };
                runtime.block_on(accept(listener, shared));
            })?;
        Ok(Emulator {
            port,
            tid: tid.await?,
            requests,
            recording,
            dlr_urls,
        })
    }

    /// CPU seconds the emulator's thread has used so far.
    pub fn cpu_seconds(&self) -> f64 {
        thread_cpu_seconds(&self.tid)
    }

    /// Forgets the capacity test; from now on, counts and keeps every message.
    pub fn reset(&self) {
        self.requests.store(0, Ordering::Relaxed);
        self.recording.store(true, Ordering::Relaxed);
    }

    pub fn take(&self) -> Vec<String> {
        std::mem::take(&mut *self.dlr_urls.lock().unwrap_or_else(|e| e.into_inner()))
    }
}

type Shared = (Arc<AtomicU64>, Arc<AtomicBool>, Arc<Mutex<Vec<String>>>);

async fn accept(listener: std::net::TcpListener, shared: Shared) {
    let listener = match TcpListener::from_std(listener) {
        Ok(listener) => listener,
        Err(error) => return eprintln!("emulated Kannel: {error}"),
    };
    loop {
        match listener.accept().await {
            Ok((socket, _)) => {
                let (requests, recording, dlr_urls) = shared.clone();
                tokio::spawn(async move {
                    if let Err(error) = smsbox(socket, requests, recording, dlr_urls).await {
                        eprintln!("emulated Kannel: {error:#}");
                    }
                });
            }
            Err(error) => {
                eprintln!("emulated Kannel: accept: {error}");
                tokio::time::sleep(Duration::from_millis(10)).await;
            }
        }
    }
}

async fn smsbox(
    socket: TcpStream,
    requests: Arc<AtomicU64>,
    recording: Arc<AtomicBool>,
    dlr_urls: Arc<Mutex<Vec<String>>>,
) -> Result<()> {
    socket.set_nodelay(true)?;
    let (read, mut write) = socket.into_split();
    let mut reader = BufReader::with_capacity(16 * 1024, read);
    let mut line = Vec::with_capacity(1024);
    let mut body = Vec::new();
    while let Some(head) = read_head(&mut reader, &mut line).await? {
        body.resize(head.content_length, 0);
        reader.read_exact(&mut body).await?;
        let (status, answer) = match head.target.split_once('?') {
            Some(("/cgi-bin/sendsms", query)) => {
                let (mut user, mut password, mut to, mut text, mut dlr_url) =
                    (None, None, None, None, None);
                for (name, value) in url::form_urlencoded::parse(query.as_bytes()) {
                    match &*name {
                        "username" => user = Some(value),
                        "password" => password = Some(value),
                        "to" => to = Some(value),
                        "text" => text = Some(value),
                        "dlr-url" => dlr_url = Some(value.into_owned()),
                        _ => {}
                    }
                }
                if user.as_deref() != Some(USERNAME) || password.as_deref() != Some(PASSWORD) {
                    ("403 Forbidden", "Authorization failed for sendsms")
                } else if to.is_none_or(|to| to.is_empty()) {
                    ("400 Bad Request", "Missing receiver number, rejected")
                } else if text.is_none() {
                    ("400 Bad Request", "Missing text, rejected")
                } else {
                    requests.fetch_add(1, Ordering::Relaxed);
                    if let (true, Some(dlr_url)) = (recording.load(Ordering::Relaxed), dlr_url) {
                        dlr_urls
                            .lock()
                            .unwrap_or_else(|e| e.into_inner())
                            .push(dlr_url);
                    }
                    ("202 Accepted", "0: Accepted for delivery")
                }
            }
            _ => ("404 Not Found", "Not found"),
        };
        let response = format!(
            "HTTP/1.1 {status}\r\nContent-Type: text/html\r\nContent-Length: {}\r\n\r\n{answer}",
            answer.len()
        );
        write.write_all(response.as_bytes()).await?;
    }
    Ok(())
}
