//! HTTP/1.1, by hand: the load generator and the emulated gateway must cost little beside the
//! code being measured.

use super::measure::{current_tid, thread_cpu_seconds};
use anyhow::{bail, Result};
use std::sync::Arc;
use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};
use tokio::net::TcpStream;

/// The requests of a load: one path many times, or each path of a list once.
pub enum Paths {
    Repeat(String, usize),
    List(Vec<String>),
}

impl Paths {
    fn len(&self) -> usize {
        match self {
            Paths::Repeat(_, count) => *count,
            Paths::List(paths) => paths.len(),
        }
    }

    fn get(&self, index: usize) -> &str {
        match self {
            Paths::Repeat(path, _) => path,
            Paths::List(paths) => &paths[index],
        }
    }
}

/// GETs every path on `connections` keep-alive connections (each connection one request
/// at a time, as gateways call back) and checks each answer's status. The clients run on a
/// thread of their own, as a separate process would; returns how many were answered and
/// the CPU seconds that thread used.
pub async fn fire(
    port: u16,
    connections: usize,
    paths: Paths,
    expected: u16,
) -> Result<(u64, f64)> {
    let (done, result) = tokio::sync::oneshot::channel();
    std::thread::Builder::new()
        .name("load".into())
        .spawn(move || {
            let tid = current_tid();
            let before = thread_cpu_seconds(&tid);
            let answered = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .map_err(anyhow::Error::from)
                .and_then(|runtime| runtime.block_on(clients(port, connections, paths, expected)));
            let _ = done.send(answered.map(|n| (n, thread_cpu_seconds(&tid) - before)));
        })?;
    result.await?
}

async fn clients(port: u16, connections: usize, paths: Paths, expected: u16) -> Result<u64> {
    let paths = Arc::new(paths);
    let mut clients = tokio::task::JoinSet::new();
    for first in 0..connections {
        let paths = Arc::clone(&paths);
        clients.spawn(async move {
            let share = (first..paths.len()).step_by(connections);
            client(port, &paths, share, expected).await
        });
    }
    let mut answered = 0;
    while let Some(result) = clients.join_next().await {
        answered += result??;
    }
    Ok(answered)
}

async fn client(
    port: u16,
    paths: &Paths,
    share: impl Iterator<Item = usize>,
    expected: u16,
) -> Result<u64> {
    let socket = TcpStream::connect(("127.0.0.1", port)).await?;
    socket.set_nodelay(true)?;
    let (read, mut write) = socket.into_split();
    let mut reader = BufReader::with_capacity(16 * 1024, read);
    let mut line = Vec::with_capacity(256);
    let mut request = Vec::with_capacity(512);
    let mut body = Vec::new();
    let mut answered = 0;
    for index in share {
        let path = paths.get(index);
        request.clear();
        request.extend_from_slice(b"GET ");
        request.extend_from_slice(path.as_bytes());
        request.extend_from_slice(b" HTTP/1.1\r\nHost: 127.0.0.1\r\nUser-Agent: bench\r\n\r\n");
        write.write_all(&request).await?;
        let head = read_head(&mut reader, &mut line).await?;
        let Some(head) = head else {
            bail!("the server closed the connection after {answered} answers");
        };
        body.resize(head.content_length, 0);
        reader.read_exact(&mut body).await?;
        if head.status != expected {
            bail!(
                "GET {path}: HTTP {}, expected {expected}: {}",
                head.status,
                String::from_utf8_lossy(&body)
            );
        }
        answered += 1;
    }
    Ok(answered)
}

pub struct Head {
    /// The status of a response; 0 for a request.
    pub status: u16,
    /// The target of a request; empty for a response.
    pub target: String,
    pub content_length: usize,
}

/// Reads a request's or a response's head; None at a clean end of the stream.
pub async fn read_head<R: tokio::io::AsyncRead + Unpin>(
    reader: &mut BufReader<R>,
    line: &mut Vec<u8>,
) -> Result<Option<Head>> {
    line.clear();
    if reader.read_until(b'\n', line).await? == 0 {
        return Ok(None);
    }
    let first = std::str::from_utf8(line)?.trim_end();
    let mut words = first.split(' ');
    let (status, target) = match (words.next(), words.next()) {
        (Some(version), Some(code)) if version.starts_with("HTTP/") => (code.parse()?, ""),
        (Some(_method), Some(target)) => (0, target),
        _ => bail!("not HTTP: {first:?}"),
    };
    let target = target.to_string();
    let mut content_length = 0;
    loop {
        line.clear();
        if reader.read_until(b'\n', line).await? == 0 {
            bail!("the stream ended inside a head");
        }
        if line == b"\r\n" || line == b"\n" {
            break;
        }
        let header = std::str::from_utf8(line)?;
        if let Some((name, value)) = header.split_once(':') {
            if name.eq_ignore_ascii_case("content-length") {
                content_length = value.trim().parse()?;
            }
        }
    }
    Ok(Some(Head {
        status,
        target,
        content_length,
    }))
}
