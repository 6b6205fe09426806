//! A small SMTP server that accepts everything and keeps nothing but a count: the reference
//! peer of the e-mail benchmark, and a raw client that measures its own capacity.

use super::rate;
use anyhow::{bail, Result};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader, BufWriter};
use tokio::net::{TcpListener, TcpStream};

const SINK_SIZE_LIMIT: usize = 50 * 1024 * 1024;

/// A small SMTP server that accepts everything and keeps nothing but a count. Its sockets
/// keep the kernel's defaults (Nagle's algorithm and delayed ACKs on), as many servers do;
/// it writes each reply as one segment and flushes only when no pipelined input is waiting.
pub struct Sink {
    pub port: u16,
    pub accepted: Arc<AtomicU64>,
}

impl Sink {
    pub async fn start() -> Result<Sink> {
        let listener = TcpListener::bind("127.0.0.1:0").await?;
        let port = listener.local_addr()?.port();
        let accepted = Arc::new(AtomicU64::new(0));
        let counter = Arc::clone(&accepted);
        tokio::spawn(async move {
            loop {
                match listener.accept().await {
                    Ok((socket, _)) => {
                        let counter = Arc::clone(&counter);
                        tokio::spawn(async move {
                            let _ = serve(socket, counter).await;
                        });
                    }
                    Err(error) => {
                        eprintln!("sink: accept: {error}");
                        tokio::time::sleep(Duration::from_millis(10)).await;
                    }
                }
            }
        });
        Ok(Sink { port, accepted })
    }

    /// The sink's throughput on its own, with a raw client on `connections` connections.
    /// `pipelined`: each transaction goes out in one write (as PIPELINING allows, data after
    /// the DATA command included); otherwise every command waits for its reply.
    pub async fn capacity(
        &self,
        connections: usize,
        total: usize,
        message: &[u8],
        pipelined: bool,
    ) -> Result<f64> {
        let mut body = dot_stuffed(message);
        body.extend_from_slice(b".\r\n");
        let body = Arc::new(body);
        let before = self.accepted.load(Ordering::Relaxed);
        let started = Instant::now();
        let mut clients = tokio::task::JoinSet::new();
        for c in 0..connections {
            let share = total / connections + usize::from(c < total % connections);
            let body = Arc::clone(&body);
            let port = self.port;
            clients.spawn(async move { blast(port, share, &body, pipelined).await });
        }
        while let Some(result) = clients.join_next().await {
            result??;
        }
        let elapsed = started.elapsed();
        let accepted = self.accepted.load(Ordering::Relaxed) - before;
        if accepted != total as u64 {
            bail!("the sink accepted {accepted} of {total} messages");
        }
        Ok(rate(accepted, elapsed))
    }
}

async fn serve(socket: TcpStream, accepted: Arc<AtomicU64>) -> std::io::Result<()> {
    let (read, write) = socket.into_split();
    let mut reader = BufReader::with_capacity(64 * 1024, read);
    let mut writer = BufWriter::with_capacity(16 * 1024, write);
    writer
        .write_all(b"220 sink.localhost ESMTP tocsin-bench\r\n")
        .await?;
    writer.flush().await?;
    let mut line = Vec::with_capacity(1024);
    let (mut has_sender, mut recipients) = (false, 0usize);
    loop {
        line.clear();
        if reader.read_until(b'\n', &mut line).await? == 0 {
            return Ok(());
        }
        let verb = line
            .get(..4)
            .map(|verb| verb.to_ascii_uppercase())
            .unwrap_or_default();
        match verb.as_slice() {
            b"EHLO" => {
                has_sender = false;
                recipients = 0;
                writer
                    .write_all(
                        b"250-sink.localhost\r\n250-PIPELINING\r\n250-8BITMIME\r\n\
                          250 SIZE 52428800\r\n",
                    )
                    .await?
            }
            b"HELO" => writer.write_all(b"250 sink.localhost\r\n").await?,
            b"MAIL" if has_sender => {
                writer
                    .write_all(b"503 5.5.1 Error: nested MAIL command\r\n")
                    .await?
            }
            b"MAIL" => {
                has_sender = true;
                writer.write_all(b"250 2.1.0 Ok\r\n").await?
            }
            b"RCPT" if !has_sender => {
                writer
                    .write_all(b"503 5.5.1 Error: need MAIL command\r\n")
                    .await?
            }
            b"RCPT" => {
                recipients += 1;
                writer.write_all(b"250 2.1.5 Ok\r\n").await?
            }
            b"DATA" if recipients == 0 => {
                writer
                    .write_all(b"554 5.5.1 Error: no valid recipients\r\n")
                    .await?
            }
            b"DATA" => {
                writer
                    .write_all(b"354 End data with <CR><LF>.<CR><LF>\r\n")
                    .await?;
                if reader.buffer().is_empty() {
                    writer.flush().await?;
                }
                let mut size = 0usize;
                loop {
                    line.clear();
                    if reader.read_until(b'\n', &mut line).await? == 0 {
                        return Ok(());
                    }
                    if line == b".\r\n" || line == b".\n" {
                        break;
                    }
                    size += line.len();
                }
                has_sender = false;
                recipients = 0;
                if size > SINK_SIZE_LIMIT {
                    writer
                        .write_all(b"552 5.3.4 Error: message file too big\r\n")
                        .await?;
                } else {
                    let id = accepted.fetch_add(1, Ordering::Relaxed) + 1;
                    writer
                        .write_all(format!("250 2.0.0 Ok: queued as {id:010X}\r\n").as_bytes())
                        .await?;
                }
            }
            b"RSET" => {
                has_sender = false;
                recipients = 0;
                writer.write_all(b"250 2.0.0 Ok\r\n").await?
            }
            b"NOOP" => writer.write_all(b"250 2.0.0 Ok\r\n").await?,
            b"QUIT" => {
                writer.write_all(b"221 2.0.0 Bye\r\n").await?;
                writer.flush().await?;
                return Ok(());
            }
            _ => {
                writer
                    .write_all(b"502 5.5.2 Error: command not recognized\r\n")
                    .await?
            }
        }
        if reader.buffer().is_empty() {
            writer.flush().await?;
        }
    }
}

fn dot_stuffed(message: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(message.len() + 16);
    let mut at_line_start = true;
    for &byte in message {
        if at_line_start && byte == b'.' {
            out.push(b'.');
        }
        out.push(byte);
        at_line_start = byte == b'\n';
    }
    if !out.ends_with(b"\r\n") {
        out.extend_from_slice(b"\r\n");
    }
    out
}

async fn blast(port: u16, count: usize, body: &[u8], pipelined: bool) -> Result<()> {
    let socket = TcpStream::connect(("127.0.0.1", port)).await?;
    socket.set_nodelay(true)?;
    let (read, mut write) = socket.into_split();
    let mut reader = BufReader::new(read);
    let mut line = Vec::new();
    expect(&mut reader, &mut line, b"220").await?;
    write.write_all(b"EHLO bench.localhost\r\n").await?;
    expect(&mut reader, &mut line, b"250").await?;
    let envelope: &[u8] =
        b"MAIL FROM:<crisis@example.be>\r\nRCPT TO:<patient@example.be>\r\nDATA\r\n";
    let mut transaction = envelope.to_vec();
    transaction.extend_from_slice(body);
    for _ in 0..count {
        if pipelined {
            write.write_all(&transaction).await?;
            for code in [b"250", b"250", b"354", b"250"] {
                expect(&mut reader, &mut line, code).await?;
            }
        } else {
            write
                .write_all(b"MAIL FROM:<crisis@example.be>\r\n")
                .await?;
            expect(&mut reader, &mut line, b"250").await?;
            write.write_all(b"RCPT TO:<patient@example.be>\r\n").await?;
            expect(&mut reader, &mut line, b"250").await?;
            write.write_all(b"DATA\r\n").await?;
            expect(&mut reader, &mut line, b"354").await?;
            write.write_all(body).await?;
            expect(&mut reader, &mut line, b"250").await?;
        }
    }
    write.write_all(b"QUIT\r\n").await?;
    expect(&mut reader, &mut line, b"221").await?;
    Ok(())
}

/// Reads one (possibly multi-line) reply and checks its code.
async fn expect(
    reader: &mut BufReader<tokio::net::tcp::OwnedReadHalf>,
    line: &mut Vec<u8>,
    code: &[u8],
) -> Result<()> {
    loop {
        line.clear();
        if reader.read_until(b'\n', line).await? == 0 {
            bail!("the sink closed the connection");
        }
        if !line.starts_with(code) {
            bail!(
                "expected {}, got {:?}",
                String::from_utf8_lossy(code),
                String::from_utf8_lossy(line)
            );
        }
        if line.get(3) != Some(&b'-') {
            return Ok(());
        }
    }
}
