//! `tocsin serve`, the real binary, under hostile traffic: connections that never finish a
//! request head, kept-alive connections left idle, a flood of both from one client, and
//! forged receipts. It runs with 256 open files at most, as a small server would.

use crate::receipts::{kannel_token, setup, RECEIPT_SECRET};
use crate::support::tocsin_binary;
use std::io::{BufRead, BufReader};
use std::net::SocketAddr;
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tocsin::domain::DeliveryState;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

const HEADER_READ_TIMEOUT_SECONDS: u64 = 2;
const IDLE_TIMEOUT_SECONDS: u64 = 3;
const REQUEST_TIMEOUT_SECONDS: u64 = 2;
const MAX_CONNECTIONS: usize = 100;
const FLOOD: usize = 2_000;

/// A generous bound on "it happens at all".
const EVENTUALLY: Duration = Duration::from_secs(60);

/// `tocsin serve` in a child process, killed when dropped, with its log collected.
struct Serving {
    child: Child,
    address: SocketAddr,
    log: Arc<Mutex<Vec<String>>>,
    reader: Option<std::thread::JoinHandle<()>>,
}

impl Serving {
    fn start(config: &std::path::Path) -> Serving {
        let mut child = Command::new("sh")
            .arg("-c")
            .arg("ulimit -n 256 && exec \"$0\" \"$@\"")
            .arg(tocsin_binary())
            .arg("--config")
            .arg(config)
            .arg("serve")
            .env_remove("TOCSIN_RECEIPT_SECRET")
            .env("TOCSIN_LANG", "en")
            .env_remove("TOCSIN_LOG")
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .expect("start tocsin serve");
        let mut stderr = BufReader::new(child.stderr.take().expect("stderr"));
        let mut first = String::new();
        stderr.read_line(&mut first).expect("first line");
        let address = first
            .strip_prefix("Receiving delivery receipts on http://")
            .and_then(|rest| rest.split('/').next())
            .and_then(|address| address.parse().ok())
            .unwrap_or_else(|| panic!("unexpected first line: {first:?}"));
        let log = Arc::new(Mutex::new(Vec::new()));
        let lines = Arc::clone(&log);
        let reader = std::thread::spawn(move || {
            for line in stderr.lines().map_while(Result::ok) {
                lines.lock().expect("log").push(line);
            }
        });
        Serving {
            child,
            address,
            log,
            reader: Some(reader),
        }
    }

    fn is_running(&mut self) -> bool {
        self.child.try_wait().expect("poll").is_none()
    }

    /// Stops it and returns everything it logged.
    fn stop(mut self) -> Vec<String> {
        let _ = self.child.kill();
        let _ = self.child.wait();
        if let Some(reader) = self.reader.take() {
            let _ = reader.join();
        }
        self.log.lock().expect("log").clone()
    }
}

impl Drop for Serving {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Waits until the server closes the connection (end of file or a reset).
async fn closed_by_server(stream: &mut TcpStream) {
    let mut buffer = [0u8; 1024];
    let closed = tokio::time::timeout(EVENTUALLY, async {
        loop {
            match stream.read(&mut buffer).await {
                Ok(0) | Err(_) => return,
                Ok(_) => {}
            }
        }
    })
    .await;
    assert!(closed.is_ok(), "the server left the connection open");
}

fn dlr_request(delivery_id: i64) -> String {
    format!(
        "GET /receipts/kannel?delivery={delivery_id}&token={}&type=1&status=ACK%2F HTTP/1.1\r\n\
         Host: tocsin\r\n\r\n",
        kannel_token(delivery_id)
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn serve_closes_slow_and_idle_connections_and_takes_receipts_through_a_flood_of_them() {
    // The flood's sockets are this process's files too.
    rlimit::increase_nofile_limit(4 * FLOOD as u64).expect("file limit");
    let receipts = 40;
    let setup = setup(receipts + 1, "kannel", true).await;
    let ids: Vec<i64> = setup
        .deliveries
        .iter()
        .map(|delivery| delivery.id)
        .collect();
    let config = setup.test.dir.path().join("serve.toml");
    std::fs::write(
        &config,
        format!(
            "database_url = \"{}\"\n[serve]\nbind = \"127.0.0.1:0\"\nreceipt_secret = \"{RECEIPT_SECRET}\"\n\
             header_read_timeout_seconds = {HEADER_READ_TIMEOUT_SECONDS}\n\
             idle_timeout_seconds = {IDLE_TIMEOUT_SECONDS}\n\
             request_timeout_seconds = {REQUEST_TIMEOUT_SECONDS}\nmax_connections = {MAX_CONNECTIONS}\n\
             [email]\nfrom = \"{}\"\n{}",
            setup.test.app.config.database_url,
            crate::support::EMAIL_FROM,
            crate::support::HOSPITAL_TOML
        ),
    )
    .expect("config");
    let mut serving = Serving::start(&config);
    let address = serving.address;

    // A request head that never ends, a body that never ends, and a kept-alive connection
    // after its receipt.
    let mut slow = TcpStream::connect(address).await.expect("connect");
    slow.write_all(b"GET /receipts/kannel HTTP/1.1\r\nHost: tocsin\r\n")
        .await
        .expect("write");
    let mut slow_body = TcpStream::connect(address).await.expect("connect");
    slow_body
        .write_all(
            b"POST /receipts/twilio HTTP/1.1\r\nHost: tocsin\r\nContent-Length: 100\r\n\r\nMessageSid=",
        )
        .await
        .expect("write");
    let mut idle = TcpStream::connect(address).await.expect("connect");
    idle.write_all(dlr_request(ids[0]).as_bytes())
        .await
        .expect("write");
    let mut answer = [0u8; 17];
    idle.read_exact(&mut answer).await.expect("answer");
    assert_eq!(&answer, b"HTTP/1.1 200 OK\r\n");
    let mut answer = [0u8; 12];
    tokio::time::timeout(EVENTUALLY, slow_body.read_exact(&mut answer))
        .await
        .expect("answered in time")
        .expect("answer");
    assert_eq!(&answer, b"HTTP/1.1 408", "a request that takes too long");
    closed_by_server(&mut slow).await;
    closed_by_server(&mut idle).await;

    // One client opens 2,000 connections and keeps them: half send half a request head,
    // half nothing at all. Once they are twice the cap, a gateway's receipt comes in every
    // few dozen of them, each on a connection of its own.
    let gateway = reqwest::Client::builder()
        .pool_max_idle_per_host(0)
        .timeout(Duration::from_secs(30))
        .build()
        .expect("client");
    let from = 2 * MAX_CONNECTIONS;
    let every = (FLOOD - from) / receipts;
    let mut pending = ids[1..].iter();
    let mut held = Vec::with_capacity(FLOOD);
    for n in 0..FLOOD {
        let connect = TcpStream::connect(address);
        if let Ok(Ok(mut stream)) = tokio::time::timeout(Duration::from_secs(5), connect).await {
            if n % 2 == 0 {
                let _ = stream
                    .write_all(b"POST /receipts/kannel HTTP/1.1\r\nHost: x\r\n")
                    .await;
            }
            held.push(stream);
        }
        if n < from || (n - from) % every != 0 {
            continue;
        }
        let Some(&id) = pending.next() else { continue };
        let status = gateway
            .get(format!("http://{address}/receipts/kannel"))
            .query(&[
                ("delivery", id.to_string()),
                ("token", kannel_token(id)),
                ("type", "1".into()),
                ("status", "ACK/".into()),
            ])
            .send()
            .await
            .unwrap_or_else(|error| panic!("receipt {id} after {n} connections: {error}"))
            .status();
        assert_eq!(status, 200, "receipt {id} after {n} connections");
    }
    assert_eq!(
        pending.count(),
        0,
        "every receipt was sent during the flood"
    );
    assert!(
        held.len() > from,
        "the flood opened only {} connections",
        held.len()
    );
    assert!(serving.is_running(), "tocsin serve died");
    drop(held);
    let now = setup.now().await;
    assert!(
        now.iter()
            .all(|delivery| delivery.state == DeliveryState::Delivered),
        "every receipt applied: {:?}",
        now.iter()
            .map(|delivery| delivery.state)
            .collect::<Vec<_>>()
    );

    // Forged receipts: answered 403, and summed up in the log rather than one line each.
    for _ in 0..500 {
        let status = gateway
            .get(format!(
                "http://{address}/receipts/kannel?delivery={}&token=forged&type=1",
                ids[0]
            ))
            .send()
            .await
            .expect("answered")
            .status();
        assert_eq!(status, 403);
    }
    let log = serving.stop();
    let refused = log
        .iter()
        .filter(|line| line.contains("receipts refused"))
        .count();
    assert!(
        (1..=3).contains(&refused),
        "{refused} lines for 500 forged receipts: {log:#?}"
    );
    assert!(log.len() < 20, "{log:#?}");
    assert!(
        !log.iter().any(|line| line.contains('\u{1b}')),
        "colours in a log that is not a terminal: {log:#?}"
    );
}
