//! The real SMTP servers the e-mail tests talk to, each started by the test on a free
//! loopback port with its own directories, and stopped when the test drops it:
//!
//! - **aiosmtpd** (`tests/support/smtp_server.py`): a Python sink that stores what it takes
//!   and answers 451 or 550 as told; the only one that can advertise `PIPELINING`.
//! - **OpenSMTPD** (Debian's `opensmtpd`, `/usr/sbin/smtpd`): a production MTA, which queues
//!   what it takes and delivers it to a Maildir the test reads. Its spool
//!   (`/var/spool/smtpd`) and control socket (`/var/run/smtpd.sock`) are fixed when it is
//!   built, so each server runs in a mount namespace of its own (`unshare --mount`) where
//!   `/var/spool` and `/var/run` are directories of the test. It must start as root (it drops
//!   its privileges itself); the Maildir is written as `nobody`. It refuses a second `EHLO`
//!   (`503 5.5.1 Invalid command: Already identified`), as production servers do.
//!
//! Where a test needs an answer neither gives by default, OpenSMTPD's built-in filters
//! (`filter … phase connect|ehlo|mail-from|rcpt-to|commit … reject "…"`) answer as told.

use super::require;
use std::fs::File;
use std::io::{BufRead, BufReader, Read};
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdin, Command, Stdio};
use std::time::{Duration, Instant};
use tempfile::TempDir;

const SMTPD: &str = "/usr/sbin/smtpd";
/// Long enough for a cold start on a busy CI machine; it usually takes well under a second.
const STARTUP: Duration = Duration::from_secs(20);
/// A bound on "everything the server took reaches the Maildir", not a measure of it.
const DELIVERY: Duration = Duration::from_secs(120);
const POLL: Duration = Duration::from_millis(20);

/// The SMTP servers an e-mail test can run against.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mta {
    Aiosmtpd,
    OpenSmtpd,
}

/// How an OpenSMTPD should answer beyond "250, delivered".
#[derive(Debug, Clone, Copy, Default)]
pub struct OpenSmtpdSetup<'a> {
    /// Recipients (whole addresses) refused at `RCPT` with `550 Invalid recipient: <…>`.
    pub refuse: &'a [&'a str],
    /// One built-in filter applied to every session: `(phase, match, decision)`, such as
    /// `("connect", "src <loopback>", "reject \"554 5.7.1 No\"")`. The tables
    /// `<loopback>` (127.0.0.1) and `<sender>` (`crisis@zna.example.be`) are defined.
    pub filter: Option<(&'a str, &'a str, &'a str)>,
    /// Log every command and reply (`-T smtp`), for [`SmtpServer::commands`].
    pub trace: bool,
}

/// One message as the server took it.
#[derive(Debug, serde::Deserialize)]
pub struct Received {
    pub rcpt_tos: Vec<String>,
    /// Where the message is, under the server's directory.
    pub file: String,
    pub message_id: Option<String>,
}

/// A command as the server got it.
#[derive(Debug, Clone)]
pub struct Said {
    /// Which session (connection) it came in.
    pub session: String,
    /// As sent, without its CRLF (OpenSMTPD lower-cases the verb).
    pub line: String,
    /// The client's next command had already arrived (aiosmtpd only).
    pub pipelined: bool,
}

enum Server {
    Aiosmtpd(Child),
    OpenSmtpd {
        /// The wrapper shell: it stops the server when its stdin closes.
        child: Child,
        stdin: Option<ChildStdin>,
    },
}

/// A real SMTP server on `127.0.0.1:port`, stopped on drop.
pub struct SmtpServer {
    pub port: u16,
    pub mta: Mta,
    // Declared before `dir`: the server stops before its directory is removed.
    server: Server,
    pub dir: TempDir,
}

impl SmtpServer {
    /// `mta` with every recipient accepted but those in `refuse` (550 at `RCPT`).
    pub fn of(mta: Mta, refuse: &[&str]) -> Option<SmtpServer> {
        match mta {
            Mta::Aiosmtpd => {
                let options: Vec<&str> = refuse
                    .iter()
                    .flat_map(|address| ["--perm-fail", address])
                    .collect();
                SmtpServer::start(&options)
            }
            Mta::OpenSmtpd => SmtpServer::opensmtpd(OpenSmtpdSetup {
                refuse,
                ..OpenSmtpdSetup::default()
            }),
        }
    }

    /// aiosmtpd with options of `tests/support/smtp_server.py` (`--temp-fail`,
    /// `--perm-fail`, `--pipelining`, `--log-commands`). None when it is not installed (and
    /// CI is not set).
    pub fn start(options: &[&str]) -> Option<SmtpServer> {
        let present = Command::new("/usr/bin/python3")
            .args(["-c", "import aiosmtpd"])
            .stderr(Stdio::null())
            .status()
            .is_ok_and(|status| status.success());
        if !require(
            "aiosmtpd, a real SMTP server (apt-get install python3-aiosmtpd)",
            present,
        ) {
            return None;
        }
        let dir = tempfile::tempdir().expect("temp dir");
        let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/support/smtp_server.py");
        let mut child = Command::new("/usr/bin/python3")
            .arg(script)
            .args(["--port", "0", "--out"])
            .arg(dir.path())
            .arg("--exit-on-stdin-eof")
            .args(options)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .spawn()
            .expect("start the SMTP server");
        let stdout = child.stdout.take().expect("stdout");
        let mut line = String::new();
        BufReader::new(stdout)
            .read_line(&mut line)
            .expect("READY line");
        let port = line
            .trim()
            .strip_prefix("READY ")
            .and_then(|port| port.parse().ok())
            .unwrap_or_else(|| panic!("unexpected first line from the SMTP server: {line:?}"));
        Some(SmtpServer {
            port,
            mta: Mta::Aiosmtpd,
            server: Server::Aiosmtpd(child),
            dir,
        })
    }

    /// OpenSMTPD, in a mount namespace of its own. None when it cannot run here (not
    /// installed, not root, no mount namespace allowed) and CI is not set.
    pub fn opensmtpd(setup: OpenSmtpdSetup) -> Option<SmtpServer> {
        let installed = Path::new(SMTPD).exists();
        if !require(
            "OpenSMTPD, a production mail server (apt-get install opensmtpd)",
            installed,
        ) {
            return None;
        }
        let root = std::fs::read_to_string("/proc/self/status").is_ok_and(|status| {
            status
                .lines()
                .any(|line| line.starts_with("Uid:") && line.split_whitespace().nth(1) == Some("0"))
        });
        if !require(
            "root, which OpenSMTPD needs to start (it drops its privileges itself)",
            root,
        ) {
            return None;
        }
        let mut dir = tempfile::tempdir().expect("temp dir");
        // OpenSMTPD's unprivileged processes reach the Maildir through this directory.
        set_mode(dir.path(), 0o755);
        for sub in ["spool", "run"] {
            std::fs::create_dir(dir.path().join(sub)).expect("server directory");
            set_mode(&dir.path().join(sub), 0o755);
        }
        let maildir = dir.path().join("maildir");
        std::fs::create_dir(&maildir).expect("Maildir");
        set_mode(&maildir, 0o777);
        // A free port can be taken by another test before the server binds it: try again.
        for _ in 0..5 {
            let port = free_port();
            std::fs::write(
                dir.path().join("smtpd.conf"),
                smtpd_conf(&setup, port, &maildir),
            )
            .expect("smtpd.conf");
            let log = File::create(dir.path().join("smtpd.log")).expect("log file");
            let mut child = Command::new("unshare")
                .args(["--mount", "--propagation", "private", "--", "sh", "-c"])
                .arg(NAMESPACE_SCRIPT)
                .arg("smtpd")
                .arg(dir.path())
                .arg(if setup.trace { "-Tsmtp" } else { "" })
                .stdin(Stdio::piped())
                .stdout(log.try_clone().expect("log file"))
                .stderr(log)
                .spawn()
                .expect("start unshare");
            let stdin = child.stdin.take();
            let mut server = SmtpServer {
                port,
                mta: Mta::OpenSmtpd,
                server: Server::OpenSmtpd { child, stdin },
                dir,
            };
            match server.wait_until_listening() {
                Ok(()) => return Some(server),
                Err(log) if log.contains("Address already in use") => {
                    dir = server.into_dir();
                }
                // No mount namespace here (a container without CAP_SYS_ADMIN).
                Err(log) if log.contains("unshare") || log.starts_with("mount") => {
                    require(
                        &format!("a mount namespace for OpenSMTPD (`unshare --mount`): {log}"),
                        false,
                    );
                    return None;
                }
                Err(log) => panic!("OpenSMTPD did not start:\n{log}"),
            }
        }
        panic!("OpenSMTPD found no free port in five tries");
    }

    fn wait_until_listening(&mut self) -> Result<(), String> {
        let started = Instant::now();
        loop {
            if let Server::OpenSmtpd { child, .. } = &mut self.server {
                if child.try_wait().expect("poll smtpd").is_some() {
                    return Err(self.log());
                }
            }
            if TcpStream::connect(("127.0.0.1", self.port)).is_ok() {
                return Ok(());
            }
            if started.elapsed() > STARTUP {
                return Err(format!("not listening within {STARTUP:?}\n{}", self.log()));
            }
            std::thread::sleep(POLL);
        }
    }

    /// Stops the server and gives its directory back for another try.
    fn into_dir(mut self) -> TempDir {
        self.stop();
        let dir = tempfile::tempdir().expect("temp dir");
        std::mem::replace(&mut self.dir, dir)
    }

    pub fn url(&self) -> String {
        format!("smtp://127.0.0.1:{}", self.port)
    }

    /// Every message the server took, once it has delivered all of them (OpenSMTPD queues
    /// first, then delivers to the Maildir).
    pub fn received(&self) -> Vec<Received> {
        match self.mta {
            Mta::Aiosmtpd => self.aiosmtpd_index(),
            Mta::OpenSmtpd => {
                self.wait_until_delivered();
                self.maildir()
            }
        }
    }

    /// How many messages the server has taken (answered 250 to), delivered or not.
    pub fn taken(&self) -> usize {
        match self.mta {
            Mta::Aiosmtpd => self.aiosmtpd_index().len(),
            // One line per recipient of each message taken: Tocsin sends one recipient each.
            Mta::OpenSmtpd => self
                .log()
                .lines()
                .filter(|line| line.contains(" smtp envelope evpid="))
                .count(),
        }
    }

    pub fn raw(&self, received: &Received) -> Vec<u8> {
        std::fs::read(self.dir.path().join(&received.file)).expect("stored message")
    }

    /// Every command clients sent, in order, as the server logged it: aiosmtpd started with
    /// `--log-commands`, OpenSMTPD with `trace`.
    pub fn commands(&self) -> Vec<Said> {
        match self.mta {
            Mta::Aiosmtpd => {
                let log = std::fs::read_to_string(self.dir.path().join("commands.log"))
                    .expect("commands.log: start aiosmtpd with --log-commands");
                log.lines()
                    .filter_map(|line| {
                        let (session, said) = line.split_once(' ')?;
                        let (said, pipelined) = match said.strip_suffix(" [pipelined]") {
                            Some(said) => (said, true),
                            None => (said, false),
                        };
                        Some(Said {
                            session: session.to_string(),
                            line: said.to_string(),
                            pipelined,
                        })
                    })
                    .collect()
            }
            // `smtp: 0x55fd641bb010: <<< mail FROM:<…> BODY=8BITMIME`
            Mta::OpenSmtpd => self
                .log()
                .lines()
                .filter_map(|line| {
                    let (session, said) = line.strip_prefix("smtp: ")?.split_once(": <<< ")?;
                    Some(Said {
                        session: session.to_string(),
                        line: said.to_string(),
                        pipelined: false,
                    })
                })
                .collect(),
        }
    }

    /// What the server logged (OpenSMTPD; empty for aiosmtpd), for a failure message.
    pub fn log(&self) -> String {
        let mut log = String::new();
        if let Ok(mut file) = File::open(self.dir.path().join("smtpd.log")) {
            let mut bytes = Vec::new();
            file.read_to_end(&mut bytes).expect("read the server's log");
            log = String::from_utf8_lossy(&bytes).into_owned();
        }
        log
    }

    fn aiosmtpd_index(&self) -> Vec<Received> {
        let Ok(index) = std::fs::read_to_string(self.dir.path().join("index.jsonl")) else {
            return Vec::new();
        };
        // The server may be writing a line as we read: only whole lines count.
        let whole = index.rfind('\n').map_or("", |end| &index[..end]);
        whole
            .lines()
            .filter(|line| !line.trim().is_empty())
            .map(|line| serde_json::from_str(line).expect("index line"))
            .collect()
    }

    /// Messages in the Maildir: the MDA writes each in `tmp/` and renames it into `new/`,
    /// so every file there is whole. `Delivered-To` names the recipient.
    fn maildir(&self) -> Vec<Received> {
        let new = self.dir.path().join("maildir/new");
        let Ok(entries) = std::fs::read_dir(&new) else {
            return Vec::new();
        };
        let mut received: Vec<Received> = entries
            .map(|entry| {
                let name = entry.expect("Maildir entry").file_name();
                let file = format!("maildir/new/{}", name.to_string_lossy());
                let raw = std::fs::read(self.dir.path().join(&file)).expect("Maildir file");
                let (headers, _) = mailparse::parse_headers(&raw).expect("message headers");
                use mailparse::MailHeaderMap;
                Received {
                    rcpt_tos: headers.get_all_values("Delivered-To"),
                    file,
                    message_id: headers.get_first_value("Message-ID"),
                }
            })
            .collect();
        received.sort_by(|a, b| a.file.cmp(&b.file));
        received
    }

    /// Until OpenSMTPD's queue holds no message: each is delivered (or bounced, which the
    /// test would see as a message to the sender).
    fn wait_until_delivered(&self) {
        let queue = self.dir.path().join("spool/smtpd/queue");
        let started = Instant::now();
        while files_under(&queue) > 0 {
            assert!(
                started.elapsed() < DELIVERY,
                "OpenSMTPD still holds messages after {DELIVERY:?}:\n{}",
                self.log()
            );
            std::thread::sleep(POLL);
        }
    }

    fn stop(&mut self) {
        match &mut self.server {
            Server::Aiosmtpd(child) => {
                let _ = child.kill();
                let _ = child.wait();
            }
            Server::OpenSmtpd { child, stdin } => {
                // Its stdin closed, the wrapper stops smtpd (SIGTERM) and waits for it.
                drop(stdin.take());
                let _ = child.wait();
            }
        }
    }
}

impl Drop for SmtpServer {
    fn drop(&mut self) {
        self.stop();
    }
}

/// Run by `unshare --mount` as `sh -c SCRIPT smtpd DIR OPTION`: the test's directories
/// over OpenSMTPD's fixed paths, then smtpd in the foreground of this namespace until the
/// test closes our stdin (a test process that dies closes it too). A background job's
/// stdin is /dev/null, so the watcher reads the real one from fd 3.
const NAMESPACE_SCRIPT: &str = r#"set -e
mount --bind "$1/spool" /var/spool
mount --bind "$1/run" /var/run
exec 3<&0
/usr/sbin/smtpd -d ${2:+"$2"} -f "$1/smtpd.conf" &
smtpd=$!
{ cat <&3 >/dev/null; kill -TERM "$smtpd" 2>/dev/null; } &
exec 3<&-
wait "$smtpd"
"#;

fn smtpd_conf(setup: &OpenSmtpdSetup, port: u16, maildir: &Path) -> String {
    let mut conf = String::from(
        "# Written by tests/support/mail_servers.rs for one test.\n\
         table everyone { \"@\" = \"nobody\" }\n\
         table loopback { 127.0.0.1 }\n\
         table sender { \"crisis@zna.example.be\" }\n",
    );
    if !setup.refuse.is_empty() {
        let list: Vec<String> = setup
            .refuse
            .iter()
            .map(|address| format!("\"{address}\""))
            .collect();
        conf.push_str(&format!("table refused {{ {} }}\n", list.join(", ")));
    }
    let mut listen = format!("listen on 127.0.0.1 port {port}");
    if let Some((phase, condition, decision)) = setup.filter {
        conf.push_str(&format!(
            "filter \"told\" phase {phase} match {condition} {decision}\n"
        ));
        listen.push_str(" filter \"told\"");
    }
    conf.push_str(&listen);
    conf.push('\n');
    conf.push_str(&format!(
        "action \"maildir\" maildir \"{}\" virtual <everyone> user nobody\n",
        maildir.display()
    ));
    if !setup.refuse.is_empty() {
        conf.push_str("match from any for rcpt-to <refused> reject\n");
    }
    conf.push_str("match from any for any action \"maildir\"\n");
    conf
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|listener| listener.local_addr())
        .expect("a free port")
        .port()
}

fn set_mode(path: &Path, mode: u32) {
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode)).expect("chmod");
}

fn files_under(dir: &Path) -> usize {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return 0;
    };
    entries
        .filter_map(Result::ok)
        .map(|entry| {
            let path: PathBuf = entry.path();
            match entry.file_type() {
                Ok(kind) if kind.is_dir() => files_under(&path),
                Ok(_) => 1,
                // Removed while we looked: delivered.
                Err(_) => 0,
            }
        })
        .sum()
}
