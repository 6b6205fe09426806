//! The Kannel gateway against a real Kannel (Debian's `kannel` and `kannel-extras`): each
//! test writes its own kannel.conf (from tests/support/kannel/kannel.conf.template) in a
//! temporary directory, on free ports, and starts `/usr/sbin/bearerbox` with a `fake`
//! SMSC, `/usr/sbin/smsbox` with the sendsms interface, and kannel-extras' `fakesmsc`
//! connected to the fake SMSC. fakesmsc logs every message it receives (`Got message N:
//! <from to type data>`, type `text` for 7-bit, `ucs-2` with URL-encoded UTF-16BE for
//! UCS-2) to its stderr, which goes to a file the test reads. All three are killed on drop.

use crate::support::require;
use std::collections::HashMap;
use std::fs::File;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use tempfile::TempDir;
use tocsin::channels::sms::gsm::{analyse, Encoding};
use tocsin::channels::sms::kannel::{Kannel, KannelConfig, KannelSettings};
use tocsin::channels::sms::{http_client, GatewayOutcome, Sms, SmsChannel, SmsGateway};
use tocsin::channels::{Channel, Message, NoHandover, Outcome};
use tocsin::domain::{ChannelKind, Language};

const BEARERBOX: &str = "/usr/sbin/bearerbox";
const SMSBOX: &str = "/usr/sbin/smsbox";
/// Where Debian's kannel-extras puts it (`dpkg -L kannel-extras`).
const FAKESMSC: &str = "/usr/lib/kannel/test/fakesmsc";

pub(crate) const USERNAME: &str = "tocsin";
pub(crate) const PASSWORD: &str = "kannel-test-secret";
const ADMIN_PASSWORD: &str = "kannel-test-admin";

/// Long enough for a cold start on a busy CI machine; the happy path takes about a second.
const STARTUP: Duration = Duration::from_secs(15);
const ARRIVAL: Duration = Duration::from_secs(10);
const POLL: Duration = Duration::from_millis(50);

/// Children killed (SIGKILL) and reaped on drop, last started first.
struct Processes(Vec<(&'static str, Child)>);

impl Drop for Processes {
    fn drop(&mut self) {
        while let Some((_, mut child)) = self.0.pop() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

/// bearerbox + smsbox + fakesmsc, on free ports, configured in a temporary directory.
pub(crate) struct RealKannel {
    // Declared before `dir`: the processes die before their directory is removed.
    processes: Processes,
    dir: TempDir,
    admin_port: u16,
    sendsms_port: u16,
}

/// One message as fakesmsc got it from the fake SMSC.
#[derive(Debug, Clone)]
pub(crate) struct Received {
    from: String,
    pub(crate) to: String,
    /// fakesmsc's type: `text` (7-bit), `ucs-2`, `data` (8-bit), `udh`.
    kind: String,
    /// Decoded: as is for `text`, from URL-encoded UTF-16BE for `ucs-2`.
    pub(crate) text: String,
}

fn free_ports<const N: usize>() -> [u16; N] {
    // All bound at once, so they are distinct; released just before Kannel binds them.
    let listeners: Vec<_> = (0..N)
        .map(|_| std::net::TcpListener::bind("127.0.0.1:0").expect("bind a free port"))
        .collect();
    std::array::from_fn(|n| listeners[n].local_addr().expect("address").port())
}

fn log_file(dir: &Path, name: &str) -> (Stdio, Stdio) {
    let file = File::create(dir.join(name)).expect("create a log file");
    let clone = file.try_clone().expect("clone a log file");
    (Stdio::from(file), Stdio::from(clone))
}

fn spawn(dir: &Path, program: &str, args: &[&str], log: &str) -> Child {
    let (stdout, stderr) = log_file(dir, log);
    Command::new(program)
        .args(args)
        .current_dir(dir)
        .stdin(Stdio::null())
        .stdout(stdout)
        .stderr(stderr)
        .spawn()
        .unwrap_or_else(|err| panic!("cannot start {program}: {err}"))
}

/// `%XX` and `+` decoded to bytes, as Kannel's `octstr_url_encode` wrote them.
fn url_decode(encoded: &str) -> Vec<u8> {
    let bytes = encoded.as_bytes();
    let mut decoded = Vec::with_capacity(bytes.len());
    let mut n = 0;
    while n < bytes.len() {
        match bytes[n] {
            b'+' => decoded.push(b' '),
            b'%' if n + 3 <= bytes.len() => {
                let hex = std::str::from_utf8(&bytes[n + 1..n + 3]).expect("ASCII");
                decoded.push(u8::from_str_radix(hex, 16).expect("hex escape"));
                n += 2;
            }
            byte => decoded.push(byte),
        }
        n += 1;
    }
    decoded
}

fn utf16be(bytes: &[u8]) -> String {
    assert!(bytes.len() % 2 == 0, "odd UCS-2 length: {bytes:?}");
    let units: Vec<u16> = bytes
        .chunks(2)
        .map(|pair| u16::from_be_bytes([pair[0], pair[1]]))
        .collect();
    String::from_utf16(&units).expect("valid UTF-16")
}

/// `... Got message 3: <from to type data>`.
fn parse_fakesmsc_line(line: &str) -> Option<Received> {
    let (_, rest) = line.split_once("Got message ")?;
    let (_, rest) = rest.split_once(": <")?;
    let inner = rest.strip_suffix('>')?;
    let mut fields = inner.splitn(4, ' ');
    let from = fields.next()?.to_owned();
    let to = fields.next()?.to_owned();
    let kind = fields.next()?.to_owned();
    let data = fields.next().unwrap_or_default();
    let text = match kind.as_str() {
        "text" => data.to_owned(),
        "ucs-2" => utf16be(&url_decode(data)),
        _ => String::from_utf8_lossy(&url_decode(data)).into_owned(),
    };
    Some(Received {
        from,
        to,
        kind,
        text,
    })
}

/// The last lines of each daemon's output and log, for a failure message.
fn logs(dir: &Path) -> String {
    let mut logs = String::new();
    for name in [
        "bearerbox.out",
        "bearerbox.log",
        "smsbox.out",
        "smsbox.log",
        "fakesmsc.out",
    ] {
        let text = std::fs::read_to_string(dir.join(name)).unwrap_or_default();
        let tail: Vec<&str> = text.lines().rev().take(25).collect();
        logs.push_str(&format!("--- {name} (last lines)\n"));
        for line in tail.into_iter().rev() {
            logs.push_str(line);
            logs.push('\n');
        }
    }
    logs
}

impl RealKannel {
    /// None when Kannel is not installed here (and CI is not set).
    pub(crate) async fn start() -> Option<RealKannel> {
        let present = [BEARERBOX, SMSBOX, FAKESMSC]
            .iter()
            .all(|program| Path::new(program).exists());
        if !present {
            eprintln!("Kannel for the SMS gateway tests: apt-get install kannel kannel-extras");
        }
        if !require("kannel and kannel-extras", present) {
            return None;
        }
        let dir = tempfile::tempdir().expect("temp dir");
        let [admin_port, smsbox_port, fake_smsc_port, sendsms_port] = free_ports::<4>();
        let template = std::fs::read_to_string(
            Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/support/kannel/kannel.conf.template"),
        )
        .expect("kannel.conf template");
        let config = template
            .replace("@DIR@", &dir.path().display().to_string())
            .replace("@ADMIN_PORT@", &admin_port.to_string())
            .replace("@SMSBOX_PORT@", &smsbox_port.to_string())
            .replace("@FAKE_SMSC_PORT@", &fake_smsc_port.to_string())
            .replace("@SENDSMS_PORT@", &sendsms_port.to_string())
            .replace("@ADMIN_PASSWORD@", ADMIN_PASSWORD)
            .replace("@USERNAME@", USERNAME)
            .replace("@PASSWORD@", PASSWORD);
        let conf = dir.path().join("kannel.conf");
        std::fs::write(&conf, config).expect("write kannel.conf");
        let conf = conf.to_str().expect("UTF-8 path").to_owned();

        let mut kannel = RealKannel {
            processes: Processes(Vec::new()),
            dir,
            admin_port,
            sendsms_port,
        };
        let started = Instant::now();
        let client = http_client(Duration::from_secs(2)).expect("client");

        kannel.spawn("bearerbox", BEARERBOX, &[&conf]);
        kannel
            .wait_until(
                "bearerbox answers on its admin port",
                started,
                &client,
                |status| status.contains("Status: running"),
            )
            .await;

        // fakesmsc gives up at once if the fake SMSC does not listen yet: start it again
        // until bearerbox reports the SMSC online.
        let fake_port = fake_smsc_port.to_string();
        let fakesmsc_args = [
            "-H",
            "127.0.0.1",
            "-r",
            fake_port.as_str(),
            "-m",
            "0",
            "0 0 text unused",
        ];
        kannel.spawn("fakesmsc", FAKESMSC, &fakesmsc_args);
        let online = format!("FAKE:{fake_smsc_port} (online");
        loop {
            if kannel
                .status(&client)
                .await
                .is_some_and(|s| s.contains(&online))
            {
                break;
            }
            let exited = kannel.processes.0.iter_mut().any(|(name, child)| {
                *name == "fakesmsc" && child.try_wait().ok().flatten().is_some()
            });
            if exited {
                kannel.processes.0.retain(|(name, _)| *name != "fakesmsc");
                kannel.spawn("fakesmsc", FAKESMSC, &fakesmsc_args);
            }
            kannel.check_deadline("the fake SMSC goes online", started);
            tokio::time::sleep(POLL).await;
        }

        kannel.spawn("smsbox", SMSBOX, &[&conf]);
        kannel
            .wait_until("smsbox connects to bearerbox", started, &client, |status| {
                status
                    .lines()
                    .any(|line| line.contains("smsbox:") && line.contains("on-line"))
            })
            .await;
        let probe = format!("{}/cgi-bin/sendsms", kannel.base_url());
        while client.get(&probe).send().await.is_err() {
            kannel.check_deadline("smsbox answers on its sendsms port", started);
            tokio::time::sleep(POLL).await;
        }
        Some(kannel)
    }

    fn spawn(&mut self, name: &'static str, program: &str, args: &[&str]) {
        let child = spawn(self.dir.path(), program, args, &format!("{name}.out"));
        self.processes.0.push((name, child));
    }

    async fn status(&self, client: &reqwest::Client) -> Option<String> {
        let url = format!(
            "http://127.0.0.1:{}/status.txt?password={ADMIN_PASSWORD}",
            self.admin_port
        );
        client.get(url).send().await.ok()?.text().await.ok()
    }

    async fn wait_until(
        &mut self,
        what: &str,
        started: Instant,
        client: &reqwest::Client,
        ready: impl Fn(&str) -> bool,
    ) {
        loop {
            if self
                .status(client)
                .await
                .is_some_and(|status| ready(&status))
            {
                return;
            }
            self.check_deadline(what, started);
            tokio::time::sleep(POLL).await;
        }
    }

    /// Panics, with Kannel's logs, when a daemon died or startup takes too long.
    fn check_deadline(&mut self, what: &str, started: Instant) {
        for (name, child) in &mut self.processes.0 {
            if *name != "fakesmsc" {
                if let Ok(Some(exit)) = child.try_wait() {
                    panic!(
                        "{name} exited ({exit}) while waiting until {what}\n{}",
                        logs(self.dir.path())
                    );
                }
            }
        }
        if started.elapsed() > STARTUP {
            panic!("timed out waiting until {what}\n{}", self.logs());
        }
    }

    fn logs(&self) -> String {
        logs(self.dir.path())
    }

    pub(crate) fn base_url(&self) -> String {
        format!("http://127.0.0.1:{}", self.sendsms_port)
    }

    fn config(&self, password: &str) -> KannelConfig {
        KannelConfig {
            name: "kannel".into(),
            base_url: self.base_url(),
            username: USERNAME.into(),
            password: password.into(),
            from: "ZNA".into(),
            dlr_url: None,
            receipt_secret: None,
        }
    }

    fn gateway(&self, config: KannelConfig) -> Kannel {
        Kannel::new(config, http_client(Duration::from_secs(5)).expect("client"))
    }

    /// Everything fakesmsc has received so far.
    pub(crate) fn received(&self) -> Vec<Received> {
        std::fs::read_to_string(self.dir.path().join("fakesmsc.out"))
            .unwrap_or_default()
            .lines()
            .filter_map(parse_fakesmsc_line)
            .collect()
    }

    /// The first message fakesmsc receives for `to`, waiting for it.
    async fn arrival(&self, to: &str) -> Received {
        let started = Instant::now();
        loop {
            if let Some(received) = self.received().into_iter().find(|r| r.to == to) {
                return received;
            }
            if started.elapsed() > ARRIVAL {
                panic!("nothing arrived at fakesmsc for {to}\n{}", self.logs());
            }
            tokio::time::sleep(POLL).await;
        }
    }

    /// The `coding` bearerbox logged for the message it sent to `to` (`[flags:mclass:coding:…]`),
    /// waiting for the line: bearerbox writes it just after handing the message to the SMSC.
    async fn logged_coding(&self, to: &str) -> String {
        let started = Instant::now();
        let wanted = format!("[to:{to}]");
        loop {
            let log = std::fs::read_to_string(self.dir.path().join("bearerbox-access.log"))
                .unwrap_or_default();
            let coding = log
                .lines()
                .find(|line| line.contains("Sent SMS") && line.contains(&wanted))
                .and_then(|line| line.split_once("[flags:"))
                .and_then(|(_, flags)| flags.split(':').nth(1).map(str::to_owned));
            if let Some(coding) = coding {
                return coding;
            }
            if started.elapsed() > ARRIVAL {
                panic!("bearerbox logged no sent SMS for {to}\n{}", self.logs());
            }
            tokio::time::sleep(POLL).await;
        }
    }
}

/// Submits through the gateway and checks what fakesmsc got: sender, text and coding.
async fn round_trip(text: &str, to: &str, encoding: Encoding) {
    let Some(kannel) = RealKannel::start().await else {
        return;
    };
    assert_eq!(analyse(text).encoding, encoding, "{text}");
    assert_eq!(analyse(text).segments, 1, "a single SMS: {text}");
    let gateway = kannel.gateway(kannel.config(PASSWORD));
    let sms = Sms {
        delivery_id: 4711,
        to,
        text,
        encoding,
    };
    assert_eq!(
        gateway.submit(&sms).await,
        GatewayOutcome::Accepted {
            message_id: "4711".into()
        }
    );
    let received = kannel.arrival(to).await;
    assert_eq!(received.from, "ZNA");
    assert_eq!(received.text, text, "{received:?}");
    let (kind, coding) = match encoding {
        Encoding::Gsm7 => ("text", "0"),
        Encoding::Ucs2 => ("ucs-2", "2"),
    };
    assert_eq!(received.kind, kind, "{received:?}");
    assert_eq!(kannel.logged_coding(to).await, coding);
}

#[tokio::test]
async fn a_dutch_message_arrives_at_the_smsc_in_gsm_7_with_its_accents_intact() {
    round_trip(
        "Uw afspraak van dinsdag 13 januari om 09:30 gaat niet door. Eén nieuwe datum volgt, café dicht.",
        "+32470000001",
        Encoding::Gsm7,
    )
    .await;
}

#[tokio::test]
async fn a_french_message_arrives_at_the_smsc_in_ucs_2_with_cedilla_ligature_and_en_dash() {
    round_trip(
        "Votre rendez-vous est annulé – reçu par le service du cœur.",
        "+32470000002",
        Encoding::Ucs2,
    )
    .await;
}

#[tokio::test]
async fn an_english_message_arrives_at_the_smsc_in_gsm_7() {
    round_trip(
        "Your appointment on Tuesday 13 January at 09:30 is cancelled.",
        "+32470000003",
        Encoding::Gsm7,
    )
    .await;
}

#[tokio::test]
async fn a_wrong_password_makes_the_gateway_misconfigured_and_sends_nothing() {
    let Some(kannel) = RealKannel::start().await else {
        return;
    };
    let gateway = kannel.gateway(kannel.config("not-the-password"));
    let sms = Sms {
        delivery_id: 1,
        to: "+32470000004",
        text: "Should never arrive",
        encoding: Encoding::Gsm7,
    };
    match gateway.submit(&sms).await {
        GatewayOutcome::Misconfigured { reason } => {
            assert!(
                reason.starts_with("HTTP 403 Forbidden: Authorization failed for sendsms"),
                "{reason}"
            );
            assert!(!reason.contains("not-the-password"), "{reason}");
        }
        other => panic!("expected misconfigured, got {other:?}"),
    }
    assert!(kannel.received().is_empty(), "{:?}", kannel.received());
}

#[tokio::test]
async fn a_message_without_a_number_is_rejected_by_kannel() {
    let Some(kannel) = RealKannel::start().await else {
        return;
    };
    let gateway = kannel.gateway(kannel.config(PASSWORD));
    let sms = Sms {
        delivery_id: 2,
        to: "",
        text: "Nobody to send this to",
        encoding: Encoding::Gsm7,
    };
    match gateway.submit(&sms).await {
        GatewayOutcome::Rejected { code, reason } => {
            assert_eq!(code.as_deref(), Some("400"));
            assert!(reason.contains("receiver"), "{reason}");
        }
        other => panic!("expected rejected, got {other:?}"),
    }
}

#[tokio::test]
async fn the_sms_channel_sends_through_kannel_and_reports_the_message_accepted() {
    let Some(kannel) = RealKannel::start().await else {
        return;
    };
    let channel = SmsChannel::new(vec![Box::new(kannel.gateway(kannel.config(PASSWORD)))]);
    let message = sms_message(9001, "+32470000005");
    let outcome = channel.send(&message, &mut NoHandover).await;
    assert_eq!(
        outcome,
        Outcome::Accepted {
            gateway_id: "kannel:9001".into(),
            detail: Some("accepted by kannel".into()),
        }
    );
    let received = kannel.arrival("+32470000005").await;
    assert_eq!(received.text, "ZNA: uw afspraak gaat niet door.");
}

type Callbacks = Arc<Mutex<Vec<HashMap<String, String>>>>;

/// A receipt endpoint recording the query of every call.
async fn dlr_endpoint() -> (String, Callbacks) {
    use axum::extract::Query;
    let callbacks: Callbacks = Arc::default();
    let record = Arc::clone(&callbacks);
    let app = axum::Router::new().route(
        "/receipts/kannel",
        axum::routing::get(move |Query(query): Query<HashMap<String, String>>| {
            let record = Arc::clone(&record);
            async move {
                record.lock().expect("lock").push(query);
                "OK"
            }
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let address = listener.local_addr().expect("address");
    tokio::spawn(async move { axum::serve(listener, app).await });
    (format!("http://{address}/receipts/kannel"), callbacks)
}

#[tokio::test]
async fn kannel_calls_the_dlr_url_back_with_the_delivery_id_when_the_smsc_accepts_and_delivers() {
    let Some(kannel) = RealKannel::start().await else {
        return;
    };
    let (dlr_url, callbacks) = dlr_endpoint().await;
    let mut config = kannel.config(PASSWORD);
    config.dlr_url = Some(dlr_url);
    let gateway = kannel.gateway(config);
    let sms = Sms {
        delivery_id: 777,
        to: "+32470000006",
        text: "Receipt, please",
        encoding: Encoding::Gsm7,
    };
    assert!(matches!(
        gateway.submit(&sms).await,
        GatewayOutcome::Accepted { message_id } if message_id == "777"
    ));

    let started = Instant::now();
    let types = loop {
        let calls = callbacks.lock().expect("lock").clone();
        let types: Vec<String> = calls
            .iter()
            .filter(|call| call.get("delivery").map(String::as_str) == Some("777"))
            .filter_map(|call| call.get("type").cloned())
            .collect();
        if types.iter().any(|t| t == "8") && types.iter().any(|t| t == "1") {
            for call in &calls {
                assert_eq!(
                    call.get("smsc").map(String::as_str),
                    Some("fake"),
                    "{call:?}"
                );
                let ts: i64 = call["ts"].parse().expect("a Unix time in ts");
                assert!(ts > 1_600_000_000, "{call:?}");
            }
            break types;
        }
        if started.elapsed() > ARRIVAL {
            panic!(
                "no SMSC-accepted (8) and delivered (1) receipts: {calls:?}\n{}",
                kannel.logs()
            );
        }
        tokio::time::sleep(POLL).await;
    };
    assert!(types.len() >= 2, "{types:?}");
    assert_eq!(kannel.arrival("+32470000006").await.text, "Receipt, please");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kannels_delivery_reports_through_tocsin_serve_turn_the_deliveries_delivered() {
    use crate::support::TestApp;
    use tocsin::config::{GatewayConfig, SmsTransport};
    use tocsin::domain::DeliveryState;
    use tocsin::web::ReceiptKeys;

    let Some(kannel) = RealKannel::start().await else {
        return;
    };
    // Bound first: the gateway's dlr_url needs the router's port.
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let router_port = listener.local_addr().expect("address").port();
    let base_url = kannel.base_url();
    let test = TestApp::new(move |config| {
        config.serve.receipt_secret = Some("kannel-receipt-secret".into());
        config.sms.transport = SmsTransport::Gateways;
        config.sms.gateways = vec![GatewayConfig::Kannel(KannelSettings {
            name: None,
            base_url,
            username: USERNAME.into(),
            password: Some(PASSWORD.into()),
            password_env: None,
            from: "ZNA".into(),
            dlr_url: Some(format!("http://127.0.0.1:{router_port}/receipts/kannel")),
        })];
    })
    .await;
    let store = Arc::clone(&test.app.store);
    let keys = ReceiptKeys::from_config(&test.app.config).expect("receipt keys");
    let router = tocsin::web::router(Arc::clone(&store), keys, Arc::clone(&test.app.clock), None);
    tokio::spawn(async move { axum::serve(listener, router).await });

    crate::support::seed_sms_patients(&test.app).await;
    // Short texts: each patient's SMS, with their appointment, what to do, the number to
    // call and the update's reference, takes two parts, which fakesmsc gets as two messages.
    let update = crate::providers::sms_update()
        .replace("Cyberaanval: operaties gaan niet door.", "Geen operaties.")
        .replace("Cyberattaque: operations annulees.", "Cyberattaque.");
    let id = test.approved_update(&update).await;

    test.app.send(id, |_, _| {}).await.expect("send");

    let started = Instant::now();
    let deliveries = loop {
        let mut deliveries = Vec::new();
        for n in 0..3 {
            let contact = store
                .find_contact(&format!("P{n}"))
                .await
                .expect("query")
                .expect("contact");
            deliveries.push(
                store
                    .delivery(id, contact.id, ChannelKind::Sms)
                    .await
                    .expect("query")
                    .expect("delivery"),
            );
        }
        if deliveries
            .iter()
            .all(|delivery| delivery.state == DeliveryState::Delivered)
        {
            break deliveries;
        }
        if started.elapsed() > Duration::from_secs(15) {
            panic!(
                "not all delivered: {:?}\n{}",
                deliveries
                    .iter()
                    .map(|delivery| (delivery.id, delivery.state))
                    .collect::<Vec<_>>(),
                kannel.logs()
            );
        }
        tokio::time::sleep(POLL).await;
    };

    let received = kannel.received();
    let parts: usize = deliveries
        .iter()
        .map(|delivery| analyse(&delivery.content.body).segments)
        .sum();
    assert_eq!(received.len(), parts, "{received:?}");
    for delivery in &deliveries {
        assert_eq!(delivery.state, DeliveryState::Delivered);
        let to = delivery.address.as_deref().expect("a mobile");
        let got = joined(&received, to);
        assert!(got.iter().all(|part| part.from == "ZNA"), "{got:?}");
        let text: String = got.iter().map(|part| part.text.as_str()).collect();
        assert_eq!(text, delivery.content.body, "{got:?}");
        assert!(
            delivery
                .gateway_id
                .as_deref()
                .is_some_and(|id| id.starts_with("kannel:")),
            "the gateway's id is kept even when its receipt came first: {delivery:?}"
        );
        let events = store.events(delivery.id).await.expect("events");
        assert!(
            // Kannel can report delivery before the dispatcher has recorded the message as
            // sent, so the receipt's transition may start from `sending` as well as `sent`.
            events.iter().any(|(_, to, detail)| to == "delivered"
                && detail
                    .as_deref()
                    .is_some_and(|detail| detail.starts_with("kannel receipt: type=1"))),
            "{events:?}"
        );
    }
    let french = deliveries
        .iter()
        .find(|delivery| delivery.language == Language::Fr)
        .expect("the French patient");
    let coding = match analyse(&french.content.body).encoding {
        Encoding::Gsm7 => "0",
        Encoding::Ucs2 => "2",
    };
    let to = french.address.as_deref().expect("a mobile");
    assert_eq!(kannel.logged_coding(to).await, coding);
}

/// The parts `to` got, in order, each with its own text only: fakesmsc writes a part of a
/// concatenated SMS as a `udh` message, its User Data Header (`05 00 03`, the reference, the
/// number of parts, this part's number) then ` data ` before the text.
fn joined(received: &[Received], to: &str) -> Vec<Received> {
    let mut parts: Vec<(u32, Received)> = received
        .iter()
        .filter(|r| r.to == to)
        .map(|r| match r.kind.as_str() {
            "udh" => {
                let (header, text) = r.text.split_once(" data ").expect("a header and text");
                let number = header.chars().last().map_or(0, u32::from);
                let text = text.to_string();
                (number, Received { text, ..r.clone() })
            }
            _ => (0, r.clone()),
        })
        .collect();
    assert!(!parts.is_empty(), "nothing for {to}: {received:?}");
    parts.sort_by_key(|(number, _)| *number);
    parts.into_iter().map(|(_, part)| part).collect()
}

// ---------------------------------------------------------------------------------------------
// Setup mistakes: Kannel's answer is about this gateway, never about the number

/// `kannel`'s sendsms interface under a path it does not serve: smsbox answers every such
/// request `404 Unknown request.`
fn wrong_path(kannel: &RealKannel) -> KannelConfig {
    KannelConfig {
        name: "kannel-wrong-path".into(),
        base_url: format!("{}/kannel", kannel.base_url()),
        ..kannel.config(PASSWORD)
    }
}

/// No `from`, and the test configuration has no `default-sender` nor `global-sender`:
/// smsbox answers `400 Sender missing and no global set, rejected`.
fn no_sender(kannel: &RealKannel) -> KannelConfig {
    KannelConfig {
        name: "kannel-no-sender".into(),
        from: String::new(),
        ..kannel.config(PASSWORD)
    }
}

fn sms_message(delivery_id: i64, to: &str) -> Message {
    crate::providers::sms_message(delivery_id, to, "ZNA: uw afspraak gaat niet door.")
}

#[tokio::test]
async fn kannels_answers_to_a_wrong_path_and_to_a_missing_sender_are_misconfigured() {
    let Some(kannel) = RealKannel::start().await else {
        return;
    };
    let sms = Sms {
        delivery_id: 11,
        to: "+32470000011",
        text: "Should never arrive",
        encoding: Encoding::Gsm7,
    };
    let outcome = kannel.gateway(wrong_path(&kannel)).submit(&sms).await;
    assert!(
        matches!(&outcome, GatewayOutcome::Misconfigured { reason }
            if reason.starts_with("HTTP 404 Not Found: Unknown request.") && reason.contains("base_url")),
        "{outcome:?}"
    );
    let outcome = kannel.gateway(no_sender(&kannel)).submit(&sms).await;
    assert!(
        matches!(&outcome, GatewayOutcome::Misconfigured { reason }
            if reason.starts_with("HTTP 400 Bad Request: Sender missing and no global set, rejected")),
        "{outcome:?}"
    );
    assert!(kannel.received().is_empty(), "{:?}", kannel.received());
}

#[tokio::test]
async fn a_kannel_under_a_wrong_path_hands_the_message_to_a_working_kannel_which_sends_it_once() {
    let Some(kannel) = RealKannel::start().await else {
        return;
    };
    let channel = SmsChannel::new(vec![
        Box::new(kannel.gateway(wrong_path(&kannel))),
        Box::new(kannel.gateway(kannel.config(PASSWORD))),
    ]);
    let outcome = channel
        .send(&sms_message(12, "+32470000012"), &mut NoHandover)
        .await;
    assert_eq!(
        outcome,
        Outcome::Accepted {
            gateway_id: "kannel:12".into(),
            detail: Some("accepted by kannel".into()),
        }
    );
    assert_eq!(kannel.arrival("+32470000012").await.from, "ZNA");
    assert_eq!(kannel.received().len(), 1, "{:?}", kannel.received());
    let status = channel.gateway_status();
    assert_eq!((status[0].misconfigured, status[0].rejected), (1, 0));
}

#[tokio::test]
async fn a_kannel_without_a_sender_hands_the_message_to_twilio_which_sends_it_once() {
    let Some(kannel) = RealKannel::start().await else {
        return;
    };
    let twilio = crate::providers::TwilioEmulator::start().await;
    let channel = SmsChannel::new(vec![
        Box::new(kannel.gateway(no_sender(&kannel))),
        Box::new(twilio.gateway()),
    ]);
    let outcome = channel
        .send(&sms_message(13, "+32470000013"), &mut NoHandover)
        .await;
    let created = twilio.created();
    assert_eq!(created.len(), 1, "{created:?}");
    assert_eq!(
        outcome,
        Outcome::Accepted {
            gateway_id: format!("twilio:{}", created[0]["sid"].as_str().expect("sid")),
            detail: Some("accepted by twilio".into()),
        }
    );
    assert_eq!(created[0]["to"], "+32470000013");
    assert!(kannel.received().is_empty(), "{:?}", kannel.received());
}

#[tokio::test]
async fn with_no_working_gateway_the_channel_is_misconfigured_naming_each_kannels_answer() {
    use tocsin::channels::sms::GatewayLimits;
    use tocsin::clock::{Clock, ManualClock};
    let Some(kannel) = RealKannel::start().await else {
        return;
    };
    let limits = GatewayLimits {
        failures_to_open: 1,
        ..GatewayLimits::default()
    };
    let channel = SmsChannel::with_limits(
        vec![
            (
                Box::new(kannel.gateway(wrong_path(&kannel))) as Box<dyn SmsGateway>,
                limits.clone(),
            ),
            (Box::new(kannel.gateway(no_sender(&kannel))), limits),
        ],
        Arc::new(ManualClock::new()) as Arc<dyn Clock>,
    );
    let first = channel
        .send(&sms_message(14, "+32470000014"), &mut NoHandover)
        .await;
    let Outcome::Misconfigured { reason } = &first else {
        panic!("expected misconfigured, got {first:?}");
    };
    assert!(
        reason.starts_with("kannel-wrong-path: HTTP 404 Not Found: Unknown request."),
        "{reason}"
    );
    assert!(
        reason.contains(
            "; kannel-no-sender: HTTP 400 Bad Request: Sender missing and no global set, rejected"
        ),
        "{reason}"
    );
    // Both breakers are open now: the next message is told the same answers, without asking.
    let second = channel
        .send(&sms_message(15, "+32470000015"), &mut NoHandover)
        .await;
    let Outcome::Misconfigured { reason } = &second else {
        panic!("expected misconfigured, got {second:?}");
    };
    assert!(
        reason.starts_with(
            "kannel-wrong-path: circuit breaker open after: HTTP 404 Not Found: Unknown request."
        ),
        "{reason}"
    );
    assert!(
        reason.contains("kannel-no-sender: circuit breaker open after: HTTP 400"),
        "{reason}"
    );
    let status = channel.gateway_status();
    assert_eq!(
        status
            .iter()
            .map(|gateway| (gateway.submitted, gateway.misconfigured, gateway.rejected))
            .collect::<Vec<_>>(),
        [(1, 1, 0), (1, 1, 0)]
    );
    assert!(kannel.received().is_empty(), "{:?}", kannel.received());
}

/// The whole pipeline: a broadcast whose first two gateways are misconfigured Kannels goes out
/// through Twilio, each patient once, and no delivery is marked undeliverable.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_broadcast_through_misconfigured_kannels_fails_over_and_marks_no_patient_undeliverable() {
    use crate::support::TestApp;
    use tocsin::config::{GatewayConfig, SmsTransport};
    use tocsin::domain::DeliveryState;

    let Some(kannel) = RealKannel::start().await else {
        return;
    };
    let twilio = crate::providers::TwilioEmulator::start().await;
    let kannel_gateway = |name: &str, base_url: String, from: &str| {
        GatewayConfig::Kannel(KannelSettings {
            name: Some(name.into()),
            base_url,
            username: USERNAME.into(),
            password: Some(PASSWORD.into()),
            password_env: None,
            from: from.into(),
            dlr_url: None,
        })
    };
    let gateways = vec![
        kannel_gateway(
            "kannel-wrong-path",
            format!("{}/kannel", kannel.base_url()),
            "ZNA",
        ),
        kannel_gateway("kannel-no-sender", kannel.base_url(), ""),
        twilio.gateway_config(None),
    ];
    let test = TestApp::new(move |config| {
        config.sms.transport = SmsTransport::Gateways;
        config.sms.gateways = gateways;
    })
    .await;
    let id = crate::providers::sms_broadcast(&test).await;

    test.app.send(id, |_, _| {}).await.expect("send");

    let created = twilio.created();
    assert_eq!(created.len(), 3, "each patient once: {created:?}");
    let mut numbers: Vec<&str> = created
        .iter()
        .map(|message| message["to"].as_str().expect("to"))
        .collect();
    numbers.sort_unstable();
    assert_eq!(numbers, ["+32471123450", "+32471123451", "+32471123452"]);
    assert!(kannel.received().is_empty(), "{:?}", kannel.received());
    let status = test.app.status(id).await.expect("status");
    assert_eq!(
        status.by_state.get(&DeliveryState::Sent),
        Some(&3),
        "{status:?}"
    );
    assert_eq!(status.by_state.get(&DeliveryState::Undeliverable), None);
}
