//! Twilio and Vonage, emulated in-process from their documentation (field names,
//! authentication, status codes, error bodies), behind the real gateways and `SmsChannel`.
//!
//! Twilio: Message resource, API 2010-04-01, form-encoded, HTTP basic auth, JSON errors
//! `{"code", "message", "more_info", "status"}` with the HTTP status of Twilio's error
//! dictionary (20003 → 401, 20404 → 404 for any path that is no resource, 20423 → 422, the
//! 21xxx validation errors → 400). Vonage: SMS API `POST /sms/json`, HTTP 200
//! with `{"message-count", "messages": [{"status", …}]}` whatever became of the message.

use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use axum::{Json, Router};
use serde_json::{json, Value};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use tocsin::channels::sms::twilio::{Twilio, TwilioConfig};
use tocsin::channels::sms::vonage::{Vonage, VonageConfig};
use tocsin::channels::sms::{http_client, GatewayOutcome, Sms, SmsChannel, SmsGateway};
use tocsin::channels::{Channel, Message, NoHandover, Outcome};
use tocsin::config::GatewayConfig;
use tocsin::domain::{ChannelKind, Language, RenderedMessage};
use tocsin::render::sms::{analyse, Encoding};

pub(crate) const ACCOUNT_SID: &str = "AC5ef8732a3c49700934481addd5ce1659";
pub(crate) const AUTH_TOKEN: &str = "f2c3b1e9d8a7465f9e0d1c2b3a495867";
pub(crate) const TWILIO_FROM: &str = "+3228080000";
const SERVICE_SID: &str = "MG9752274e9e519418a7406176694466fa";
const API_KEY: &str = "abcd1234";
const API_SECRET: &str = "Zx9Yw8Vu7Ts6Rq5P";
const PATIENT: &str = "+32471123456";
/// 118 UTF-16 units: two UCS-2 parts.
const DUTCH_FRENCH: &str = "ZNA: patiënt geïnformeerd – uw afspraak gaat niet door. \
                            Patient informé – votre rendez-vous est annulé, œuvre du cœur.";

// ---------------------------------------------------------------------------------------------
// Shared emulator plumbing

/// What an emulated provider does with the next requests.
#[derive(Debug, Clone)]
pub(crate) enum Behaviour {
    Normal,
    /// 429 with `Retry-After` (Twilio) / status 1 (Vonage).
    Throttle {
        retry_after: u64,
    },
    /// 503 Service Unavailable.
    Down,
    /// Answers normally, but only after this long.
    Slow(Duration),
}

/// One request as the provider received it.
#[derive(Debug, Clone)]
pub(crate) struct Received {
    authorization: Option<String>,
    content_type: Option<String>,
    fields: Vec<(String, String)>,
}

impl Received {
    fn get(&self, name: &str) -> Option<&str> {
        self.fields
            .iter()
            .find(|(key, _)| key == name)
            .map(|(_, value)| value.as_str())
    }

    fn has(&self, name: &str) -> bool {
        self.get(name).is_some_and(|value| !value.is_empty())
    }
}

fn received(headers: &HeaderMap, body: &[u8]) -> Received {
    let text = |name| {
        headers
            .get(name)
            .and_then(|value: &header::HeaderValue| value.to_str().ok())
            .map(str::to_string)
    };
    let content_type = text(header::CONTENT_TYPE);
    let fields = match content_type.as_deref() {
        Some(kind) if kind.starts_with("application/x-www-form-urlencoded") => {
            url::form_urlencoded::parse(body).into_owned().collect()
        }
        Some(kind) if kind.starts_with("application/json") => {
            serde_json::from_slice::<serde_json::Map<String, Value>>(body)
                .unwrap_or_default()
                .into_iter()
                .map(|(key, value)| match value {
                    Value::String(value) => (key, value),
                    other => (key, other.to_string()),
                })
                .collect()
        }
        _ => Vec::new(),
    };
    Received {
        authorization: text(header::AUTHORIZATION),
        content_type,
        fields,
    }
}

async fn serve(router: Router) -> String {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind an emulator");
    let address = listener.local_addr().expect("local address");
    tokio::spawn(async move {
        axum::serve(listener, router).await.expect("emulator");
    });
    format!("http://{address}")
}

/// RFC 4648 base64, for the expected `Authorization: Basic …` (no extra dependency).
fn base64(input: &[u8]) -> String {
    const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::new();
    for chunk in input.chunks(3) {
        let bytes = [
            chunk[0],
            *chunk.get(1).unwrap_or(&0),
            *chunk.get(2).unwrap_or(&0),
        ];
        let group = (u32::from(bytes[0]) << 16) | (u32::from(bytes[1]) << 8) | u32::from(bytes[2]);
        for i in 0..4 {
            if i <= chunk.len() {
                out.push(ALPHABET[(group >> (18 - 6 * i)) as usize & 63] as char);
            } else {
                out.push('=');
            }
        }
    }
    out
}

fn random_hex(digits: usize) -> String {
    (0..digits)
        .map(|_| char::from_digit(rand::random_range(0..16u32), 16).expect("hex digit"))
        .collect()
}

fn is_e164(number: &str) -> bool {
    number.strip_prefix('+').is_some_and(|digits| {
        (2..=15).contains(&digits.len())
            && !digits.starts_with('0')
            && digits.bytes().all(|b| b.is_ascii_digit())
    })
}

// ---------------------------------------------------------------------------------------------
// Twilio

pub(crate) struct TwilioState {
    account_sid: String,
    auth_token: String,
    /// Numbers this account owns and may send from.
    numbers: Vec<String>,
    /// Messaging Services of this account.
    services: Vec<String>,
    /// Numbers Twilio cannot reach: 21211.
    unreachable: Vec<String>,
    /// Recipients who replied STOP: 21610.
    unsubscribed: Vec<String>,
    pub(crate) behaviour: Behaviour,
    requests: Vec<Received>,
    /// Message resources created, as returned.
    created: Vec<Value>,
}

#[derive(Clone)]
pub(crate) struct TwilioEmulator {
    url: String,
    state: Arc<Mutex<TwilioState>>,
}

impl TwilioEmulator {
    pub(crate) async fn start() -> TwilioEmulator {
        let state = Arc::new(Mutex::new(TwilioState {
            account_sid: ACCOUNT_SID.into(),
            auth_token: AUTH_TOKEN.into(),
            numbers: vec![TWILIO_FROM.into()],
            services: vec![SERVICE_SID.into()],
            unreachable: Vec::new(),
            unsubscribed: Vec::new(),
            behaviour: Behaviour::Normal,
            requests: Vec::new(),
            created: Vec::new(),
        }));
        let router = Router::new()
            .route(
                "/2010-04-01/Accounts/{account_sid}/Messages.json",
                post(twilio_create_message),
            )
            .fallback(twilio_not_found)
            .with_state(Arc::clone(&state));
        TwilioEmulator {
            url: serve(router).await,
            state,
        }
    }

    pub(crate) fn with<T>(&self, f: impl FnOnce(&mut TwilioState) -> T) -> T {
        f(&mut self.state.lock().expect("emulator state"))
    }

    pub(crate) fn requests(&self) -> Vec<Received> {
        self.with(|state| state.requests.clone())
    }

    pub(crate) fn created(&self) -> Vec<Value> {
        self.with(|state| state.created.clone())
    }

    pub(crate) fn config(&self) -> TwilioConfig {
        TwilioConfig {
            name: "twilio".into(),
            account_sid: ACCOUNT_SID.into(),
            auth_token: AUTH_TOKEN.into(),
            from: Some(TWILIO_FROM.into()),
            messaging_service_sid: None,
            base_url: self.url.clone(),
            status_callback: Some("https://tocsin.example.be/receipts/twilio".into()),
        }
    }

    pub(crate) fn gateway(&self) -> Twilio {
        Twilio::new(self.config(), client(Duration::from_secs(5)))
    }

    /// This emulator as a `[[sms.gateways]]` entry named "twilio", asking for status
    /// callbacks at `status_callback` if given.
    pub(crate) fn gateway_config(&self, status_callback: Option<&str>) -> GatewayConfig {
        GatewayConfig::Twilio {
            name: None,
            account_sid: ACCOUNT_SID.into(),
            auth_token: Some(AUTH_TOKEN.into()),
            auth_token_env: None,
            from: Some(TWILIO_FROM.into()),
            messaging_service_sid: None,
            base_url: Some(self.url.clone()),
            status_callback: status_callback.map(str::to_string),
        }
    }

    /// From now on Twilio answers 21211 for this number.
    pub(crate) fn cannot_reach(&self, number: &str) {
        self.with(|state| state.unreachable.push(number.to_string()));
    }
}

fn twilio_error(status: StatusCode, code: u32, message: &str) -> Response {
    let body = json!({
        "code": code,
        "message": message,
        "more_info": format!("https://www.twilio.com/docs/errors/{code}"),
        "status": status.as_u16(),
    });
    (status, Json(body)).into_response()
}

/// Twilio answers 20404 for any path that names no resource (a wrong `base_url`).
async fn twilio_not_found(
    State(state): State<Arc<Mutex<TwilioState>>>,
    uri: axum::http::Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let request = received(&headers, &body);
    state.lock().expect("emulator state").requests.push(request);
    let message = format!("The requested resource {} was not found", uri.path());
    twilio_error(StatusCode::NOT_FOUND, 20404, &message)
}

/// `MG` and 32 hexadecimal digits.
fn is_service_sid(sid: &str) -> bool {
    sid.strip_prefix("MG")
        .is_some_and(|hex| hex.len() == 32 && hex.bytes().all(|b| b.is_ascii_hexdigit()))
}

async fn twilio_create_message(
    State(state): State<Arc<Mutex<TwilioState>>>,
    Path(account_sid): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let request = received(&headers, &body);
    let (authorized, behaviour, numbers, services, unreachable, unsubscribed) = {
        let mut state = state.lock().expect("emulator state");
        state.requests.push(request.clone());
        let expected = format!(
            "Basic {}",
            base64(format!("{}:{}", state.account_sid, state.auth_token).as_bytes())
        );
        (
            account_sid == state.account_sid
                && request.authorization.as_deref() == Some(expected.as_str()),
            state.behaviour.clone(),
            state.numbers.clone(),
            state.services.clone(),
            state.unreachable.clone(),
            state.unsubscribed.clone(),
        )
    };
    if !authorized {
        let mut response = twilio_error(StatusCode::UNAUTHORIZED, 20003, "Authenticate");
        response.headers_mut().insert(
            header::WWW_AUTHENTICATE,
            header::HeaderValue::from_static("Basic realm=\"Twilio API\""),
        );
        return response;
    }
    match behaviour {
        Behaviour::Normal => {}
        Behaviour::Throttle { retry_after } => {
            let mut response =
                twilio_error(StatusCode::TOO_MANY_REQUESTS, 20429, "Too Many Requests");
            response
                .headers_mut()
                .insert(header::RETRY_AFTER, retry_after.into());
            return response;
        }
        Behaviour::Down => {
            return twilio_error(
                StatusCode::SERVICE_UNAVAILABLE,
                20503,
                "Service Unavailable",
            )
        }
        Behaviour::Slow(delay) => tokio::time::sleep(delay).await,
    }

    let bad = StatusCode::BAD_REQUEST;
    if let Some(service) = request
        .get("MessagingServiceSid")
        .filter(|sid| !sid.is_empty())
    {
        if !is_service_sid(service) {
            return twilio_error(StatusCode::UNPROCESSABLE_ENTITY, 20423, "Invalid SID");
        }
        if !services.iter().any(|known| known == service) {
            return twilio_error(bad, 21701, "The Messaging Service does not exist");
        }
    }
    if !request.has("To") {
        return twilio_error(bad, 21604, "A 'To' phone number is required.");
    }
    if !request.has("Body") && !request.has("MediaUrl") {
        return twilio_error(bad, 21602, "Message body is required.");
    }
    if !request.has("From") && !request.has("MessagingServiceSid") {
        return twilio_error(bad, 21603, "A 'From' phone number is required.");
    }
    let to = request.get("To").unwrap_or_default().to_string();
    if !is_e164(&to) || unreachable.contains(&to) {
        let message = format!("The 'To' number {to} is not a valid phone number.");
        return twilio_error(bad, 21211, &message);
    }
    if unsubscribed.contains(&to) {
        return twilio_error(bad, 21610, "Attempt to send to unsubscribed recipient");
    }
    let from = request.get("From").filter(|from| !from.is_empty());
    if let Some(from) = from {
        if !numbers.iter().any(|number| number == from) {
            let message = format!(
                "'From' {from} is not a Twilio phone number or Short Code country mismatch"
            );
            return twilio_error(bad, 21659, &message);
        }
    }

    let service = request
        .get("MessagingServiceSid")
        .filter(|sid| !sid.is_empty());
    let text = request.get("Body").unwrap_or_default();
    let sid = format!("SM{}", random_hex(32));
    let now = chrono::Utc::now().to_rfc2822();
    let uri = format!("/2010-04-01/Accounts/{account_sid}/Messages/{sid}.json");
    let message = json!({
        "account_sid": account_sid,
        "api_version": "2010-04-01",
        "body": text,
        "date_created": now,
        "date_sent": null,
        "date_updated": now,
        "direction": "outbound-api",
        "error_code": null,
        "error_message": null,
        "from": from,
        "messaging_service_sid": service,
        "num_media": "0",
        "num_segments": analyse(text).segments.to_string(),
        "price": null,
        "price_unit": "USD",
        "sid": sid,
        // Through a Messaging Service without a From, Twilio has yet to pick the sender.
        "status": if from.is_none() { "accepted" } else { "queued" },
        "subresource_uris": {
            "media": format!("/2010-04-01/Accounts/{account_sid}/Messages/{sid}/Media.json")
        },
        "to": to,
        "uri": uri,
    });
    state
        .lock()
        .expect("emulator state")
        .created
        .push(message.clone());
    (StatusCode::CREATED, Json(message)).into_response()
}

// ---------------------------------------------------------------------------------------------
// Vonage

pub(crate) struct VonageState {
    api_key: String,
    api_secret: String,
    /// Numbers (digits, as Vonage writes them) on Vonage's barred list: status 7.
    barred: Vec<String>,
    pub(crate) behaviour: Behaviour,
    requests: Vec<Received>,
    delivered: Vec<Delivered>,
}

/// What a phone receives: with `type=text`, Vonage sends GSM-7, and whatever is not in it
/// arrives as `?`.
#[derive(Debug, Clone)]
pub(crate) struct Delivered {
    to: String,
    text: String,
    kind: String,
    client_ref: Option<String>,
    message_ids: Vec<String>,
}

#[derive(Clone)]
pub(crate) struct VonageEmulator {
    url: String,
    state: Arc<Mutex<VonageState>>,
}

impl VonageEmulator {
    pub(crate) async fn start() -> VonageEmulator {
        let state = Arc::new(Mutex::new(VonageState {
            api_key: API_KEY.into(),
            api_secret: API_SECRET.into(),
            barred: Vec::new(),
            behaviour: Behaviour::Normal,
            requests: Vec::new(),
            delivered: Vec::new(),
        }));
        let router = Router::new()
            .route("/sms/json", post(vonage_send))
            .with_state(Arc::clone(&state));
        VonageEmulator {
            url: serve(router).await,
            state,
        }
    }

    pub(crate) fn with<T>(&self, f: impl FnOnce(&mut VonageState) -> T) -> T {
        f(&mut self.state.lock().expect("emulator state"))
    }

    pub(crate) fn requests(&self) -> Vec<Received> {
        self.with(|state| state.requests.clone())
    }

    pub(crate) fn delivered(&self) -> Vec<Delivered> {
        self.with(|state| state.delivered.clone())
    }

    fn config(&self) -> VonageConfig {
        VonageConfig {
            name: "vonage".into(),
            api_key: API_KEY.into(),
            api_secret: API_SECRET.into(),
            from: "ZNA".into(),
            base_url: self.url.clone(),
            callback: Some("https://tocsin.example.be/receipts/vonage".into()),
        }
    }

    pub(crate) fn gateway(&self) -> Vonage {
        Vonage::new(self.config(), client(Duration::from_secs(5)))
    }

    /// This emulator as a `[[sms.gateways]]` entry named "vonage", without receipts.
    pub(crate) fn gateway_config(&self) -> GatewayConfig {
        GatewayConfig::Vonage {
            name: None,
            api_key: API_KEY.into(),
            api_secret: Some(API_SECRET.into()),
            api_secret_env: None,
            from: "ZNA".into(),
            base_url: Some(self.url.clone()),
            callback: None,
            signature_secret: None,
            signature_secret_env: None,
            signature_method: None,
        }
    }
}

fn vonage_error(status: u32, text: &str, to: Option<&str>) -> Response {
    let mut part = json!({"status": status.to_string(), "error-text": text});
    if let Some(to) = to {
        part["to"] = json!(to);
    }
    Json(json!({"message-count": "1", "messages": [part]})).into_response()
}

/// Parts of a text sent as `type`, as Vonage splits it.
fn parts(text: &str, kind: &str) -> usize {
    if kind == "unicode" {
        let units = text.encode_utf16().count();
        if units <= 70 {
            1
        } else {
            units.div_ceil(67)
        }
    } else {
        analyse(text).segments.max(1)
    }
}

fn is_gsm(c: char) -> bool {
    analyse(&c.to_string()).encoding == Encoding::Gsm7
}

async fn vonage_send(
    State(state): State<Arc<Mutex<VonageState>>>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let request = received(&headers, &body);
    let (key, secret, barred, behaviour) = {
        let mut state = state.lock().expect("emulator state");
        state.requests.push(request.clone());
        (
            state.api_key.clone(),
            state.api_secret.clone(),
            state.barred.clone(),
            state.behaviour.clone(),
        )
    };
    if !request.has("api_key") {
        return vonage_error(2, "Missing api_key", None);
    }
    if !request.has("api_secret") {
        return vonage_error(2, "Missing api_secret", None);
    }
    if request.get("api_key") != Some(key.as_str())
        || request.get("api_secret") != Some(secret.as_str())
    {
        return vonage_error(4, "Bad Credentials", None);
    }
    match behaviour {
        Behaviour::Normal => {}
        Behaviour::Throttle { .. } => {
            return vonage_error(
                1,
                "Throughput Rate Exceeded - please wait [ 100 ] and retry",
                request.get("to"),
            )
        }
        Behaviour::Down => return StatusCode::SERVICE_UNAVAILABLE.into_response(),
        Behaviour::Slow(delay) => tokio::time::sleep(delay).await,
    }
    for field in ["from", "to", "text"] {
        if !request.has(field) {
            return vonage_error(2, &format!("Missing {field} param"), None);
        }
    }
    let to = request.get("to").unwrap_or_default().to_string();
    // E.164 without the `+`, as Vonage documents it.
    if to.is_empty() || !to.bytes().all(|b| b.is_ascii_digit()) || to.len() > 15 {
        return vonage_error(3, "Invalid to param", Some(&to));
    }
    let kind = request.get("type").unwrap_or("text").to_string();
    if !["text", "unicode", "binary"].contains(&kind.as_str()) {
        return vonage_error(3, "Invalid type param", Some(&to));
    }
    if barred.contains(&to) {
        return vonage_error(7, "Number barred.", Some(&to));
    }
    let sent = request.get("text").unwrap_or_default();
    let text: String = if kind == "unicode" {
        sent.to_string()
    } else {
        sent.chars()
            .map(|c| if is_gsm(c) { c } else { '?' })
            .collect()
    };
    let client_ref = request.get("client-ref").map(str::to_string);
    let count = parts(&text, &kind);
    let mut balance = 15.5359_f64;
    let messages: Vec<Value> = (0..count)
        .map(|_| {
            balance -= 0.0333;
            let mut part = json!({
                "to": to,
                "message-id": random_hex(16).to_uppercase(),
                "status": "0",
                "remaining-balance": format!("{balance:.8}"),
                "message-price": "0.03330000",
                "network": "20601",
            });
            if let Some(client_ref) = &client_ref {
                part["client-ref"] = json!(client_ref);
            }
            part
        })
        .collect();
    let message_ids = messages
        .iter()
        .map(|part| part["message-id"].as_str().unwrap_or_default().to_string())
        .collect();
    state
        .lock()
        .expect("emulator state")
        .delivered
        .push(Delivered {
            to: to.clone(),
            text,
            kind,
            client_ref,
            message_ids,
        });
    Json(json!({"message-count": count.to_string(), "messages": messages})).into_response()
}

// ---------------------------------------------------------------------------------------------
// Helpers

fn client(timeout: Duration) -> reqwest::Client {
    http_client(timeout).expect("an HTTP client")
}

fn sms(text: &str) -> Sms<'_> {
    Sms {
        delivery_id: 7,
        to: PATIENT,
        text,
        encoding: analyse(text).encoding,
    }
}

fn message(body: &str) -> Message {
    Message {
        delivery_id: 7,
        update_id: 1,
        channel: ChannelKind::Sms,
        address: PATIENT.into(),
        language: Language::Nl,
        content: RenderedMessage {
            subject: None,
            body: body.into(),
            body_html: None,
        },
        attempt: 1,
    }
}

const NOTICE: &str = "ZNA: uw afspraak van morgen gaat niet door. Wij bellen u. Info: 03 000 00 00";

async fn send(gateways: Vec<Box<dyn SmsGateway>>, body: &str) -> Outcome {
    SmsChannel::new(gateways)
        .send(&message(body), &mut NoHandover)
        .await
}

// ---------------------------------------------------------------------------------------------
// Twilio, directly

#[tokio::test]
async fn twilio_accepts_a_message_and_its_sid_becomes_the_message_id() {
    let twilio = TwilioEmulator::start().await;
    let outcome = twilio.gateway().submit(&sms(NOTICE)).await;

    let created = twilio.created();
    assert_eq!(created.len(), 1);
    let sid = created[0]["sid"].as_str().expect("sid").to_string();
    assert_eq!(
        outcome,
        GatewayOutcome::Accepted {
            message_id: sid.clone()
        }
    );
    assert!(sid.starts_with("SM") && sid.len() == 34, "{sid}");
    assert_eq!(created[0]["status"], "queued");
    assert_eq!(created[0]["to"], PATIENT);
    assert_eq!(created[0]["body"], NOTICE);

    let request = &twilio.requests()[0];
    assert_eq!(
        request.content_type.as_deref(),
        Some("application/x-www-form-urlencoded")
    );
    assert_eq!(request.get("To"), Some(PATIENT));
    assert_eq!(request.get("From"), Some(TWILIO_FROM));
    assert_eq!(request.get("MessagingServiceSid"), None);
    assert_eq!(request.get("Body"), Some(NOTICE));
    assert_eq!(
        request.get("StatusCallback"),
        Some("https://tocsin.example.be/receipts/twilio?delivery=7")
    );
}

#[tokio::test]
async fn twilio_can_send_through_a_messaging_service_instead_of_a_number() {
    let twilio = TwilioEmulator::start().await;
    let config = TwilioConfig {
        from: None,
        messaging_service_sid: Some(SERVICE_SID.into()),
        status_callback: None,
        ..twilio.config()
    };
    let outcome = Twilio::new(config, client(Duration::from_secs(5)))
        .submit(&sms(NOTICE))
        .await;

    assert!(
        matches!(outcome, GatewayOutcome::Accepted { .. }),
        "{outcome:?}"
    );
    let request = &twilio.requests()[0];
    assert_eq!(request.get("MessagingServiceSid"), Some(SERVICE_SID));
    assert_eq!(request.get("From"), None);
    assert_eq!(request.get("StatusCallback"), None);
    assert_eq!(twilio.created()[0]["status"], "accepted");
}

#[tokio::test]
async fn twilio_with_wrong_credentials_answers_20003_and_the_gateway_is_misconfigured() {
    let twilio = TwilioEmulator::start().await;
    let config = TwilioConfig {
        auth_token: "0000000000000000000000000000dead".into(),
        ..twilio.config()
    };
    let outcome = Twilio::new(config, client(Duration::from_secs(5)))
        .submit(&sms(NOTICE))
        .await;

    assert_eq!(
        outcome,
        GatewayOutcome::Misconfigured {
            reason: "HTTP 401, Twilio error 20003: Authenticate".into()
        }
    );
    assert!(twilio.created().is_empty());
    let request = &twilio.requests()[0];
    assert!(
        request
            .authorization
            .as_deref()
            .is_some_and(|value| value.starts_with("Basic ")),
        "basic authentication is sent up front"
    );
}

#[tokio::test]
async fn twilio_missing_fields_give_its_documented_errors() {
    let twilio = TwilioEmulator::start().await;

    let no_to = Sms {
        to: "",
        ..sms(NOTICE)
    };
    assert_eq!(
        twilio.gateway().submit(&no_to).await,
        GatewayOutcome::Rejected {
            code: Some("21604".into()),
            reason: "A 'To' phone number is required.".into()
        }
    );

    // An empty body is our text, not the number.
    assert_eq!(
        twilio.gateway().submit(&sms("")).await,
        GatewayOutcome::Misconfigured {
            reason: "HTTP 400, Twilio error 21602: Message body is required.".into()
        }
    );

    // No sender is this gateway's configuration, not the message's fault: the next gateway
    // may have one.
    let config = TwilioConfig {
        from: None,
        messaging_service_sid: None,
        ..twilio.config()
    };
    let outcome = Twilio::new(config, client(Duration::from_secs(5)))
        .submit(&sms(NOTICE))
        .await;
    assert_eq!(
        outcome,
        GatewayOutcome::Misconfigured {
            reason: "HTTP 400, Twilio error 21603: A 'From' phone number is required.".into()
        }
    );

    // A sender the account does not own, likewise.
    let config = TwilioConfig {
        from: Some("+3228089999".into()),
        ..twilio.config()
    };
    let outcome = Twilio::new(config, client(Duration::from_secs(5)))
        .submit(&sms(NOTICE))
        .await;
    assert!(
        matches!(&outcome, GatewayOutcome::Misconfigured { reason } if reason.contains("21659")),
        "{outcome:?}"
    );
    assert!(twilio.created().is_empty());
}

#[tokio::test]
async fn twilio_rejects_a_number_that_replied_stop_with_21610() {
    let twilio = TwilioEmulator::start().await;
    twilio.with(|state| state.unsubscribed.push(PATIENT.into()));
    assert_eq!(
        twilio.gateway().submit(&sms(NOTICE)).await,
        GatewayOutcome::Rejected {
            code: Some("21610".into()),
            reason: "Attempt to send to unsubscribed recipient".into()
        }
    );
}

#[tokio::test]
async fn twilio_throttling_is_throttled_for_as_long_as_retry_after_says() {
    let twilio = TwilioEmulator::start().await;
    twilio.with(|state| state.behaviour = Behaviour::Throttle { retry_after: 17 });
    assert_eq!(
        twilio.gateway().submit(&sms(NOTICE)).await,
        GatewayOutcome::Throttled {
            retry_after: Some(Duration::from_secs(17)),
            reason: "HTTP 429, Twilio error 20429: Too Many Requests".into()
        }
    );
}

/// Twilio configurations a person can get wrong, with the answer Twilio gives each.
fn twilio_misconfigurations(
    twilio: &TwilioEmulator,
) -> Vec<(&'static str, TwilioConfig, u16, u32)> {
    vec![
        (
            "a wrong Auth Token",
            TwilioConfig {
                auth_token: "0000000000000000000000000000dead".into(),
                ..twilio.config()
            },
            401,
            20003,
        ),
        (
            "an Account SID that is not this account's",
            TwilioConfig {
                account_sid: "AC00000000000000000000000000000000".into(),
                ..twilio.config()
            },
            401,
            20003,
        ),
        (
            "a base_url with a path in front of the API's",
            TwilioConfig {
                base_url: format!("{}/twilio", twilio.url),
                ..twilio.config()
            },
            404,
            20404,
        ),
        (
            "a Messaging Service SID that is no SID",
            TwilioConfig {
                from: None,
                messaging_service_sid: Some("ZNA-crisis".into()),
                ..twilio.config()
            },
            422,
            20423,
        ),
        (
            "another account's Messaging Service",
            TwilioConfig {
                from: None,
                messaging_service_sid: Some("MG00000000000000000000000000000000".into()),
                ..twilio.config()
            },
            400,
            21701,
        ),
    ]
}

#[tokio::test]
async fn twilio_answers_each_configuration_mistake_with_its_documented_error_and_it_is_misconfigured(
) {
    let twilio = TwilioEmulator::start().await;
    for (mistake, config, status, code) in twilio_misconfigurations(&twilio) {
        // Twilio's own answer, as the error dictionary documents it.
        let endpoint = format!(
            "{}/2010-04-01/Accounts/{}/Messages.json",
            config.base_url, config.account_sid
        );
        let mut form = vec![("To", PATIENT.to_string()), ("Body", NOTICE.to_string())];
        match (&config.from, &config.messaging_service_sid) {
            (Some(from), _) => form.push(("From", from.clone())),
            (None, Some(service)) => form.push(("MessagingServiceSid", service.clone())),
            (None, None) => {}
        }
        let raw = client(Duration::from_secs(5))
            .post(&endpoint)
            .basic_auth(&config.account_sid, Some(&config.auth_token))
            .form(&form)
            .send()
            .await
            .expect("the emulator answers");
        assert_eq!(raw.status().as_u16(), status, "{mistake}");
        let body: Value = raw.json().await.expect("a JSON error");
        assert_eq!(body["code"], code, "{mistake}: {body}");
        assert_eq!(body["status"], status, "{mistake}: {body}");
        assert_eq!(
            body["more_info"],
            format!("https://www.twilio.com/docs/errors/{code}"),
            "{mistake}"
        );
        let message = body["message"].as_str().expect("a message").to_string();

        // What the gateway makes of it: this gateway's configuration, never the number.
        let outcome = Twilio::new(config, client(Duration::from_secs(5)))
            .submit(&sms(NOTICE))
            .await;
        assert_eq!(
            outcome,
            GatewayOutcome::Misconfigured {
                reason: format!("HTTP {status}, Twilio error {code}: {message}")
            },
            "{mistake}"
        );
    }
    assert!(twilio.created().is_empty());
}

// ---------------------------------------------------------------------------------------------
// Vonage, directly

#[tokio::test]
async fn vonage_accepts_a_message_and_its_first_message_id_becomes_the_message_id() {
    let vonage = VonageEmulator::start().await;
    let outcome = vonage.gateway().submit(&sms(NOTICE)).await;

    let delivered = vonage.delivered();
    assert_eq!(delivered.len(), 1);
    assert_eq!(
        outcome,
        GatewayOutcome::Accepted {
            message_id: delivered[0].message_ids[0].clone()
        }
    );
    assert_eq!(delivered[0].to, "32471123456", "E.164 without the +");
    assert_eq!(delivered[0].kind, "text");
    assert_eq!(delivered[0].text, NOTICE);
    assert_eq!(delivered[0].client_ref.as_deref(), Some("7"));

    let request = &vonage.requests()[0];
    assert_eq!(
        request.content_type.as_deref(),
        Some("application/x-www-form-urlencoded")
    );
    assert_eq!(request.get("from"), Some("ZNA"));
    assert_eq!(
        request.get("callback"),
        Some("https://tocsin.example.be/receipts/vonage?delivery=7")
    );
    assert_eq!(
        request.authorization, None,
        "credentials travel in the form"
    );
}

#[tokio::test]
async fn vonage_ucs2_text_is_sent_as_unicode_and_arrives_intact() {
    let vonage = VonageEmulator::start().await;
    let text = "patiënt geïnformeerd – œ";
    assert_eq!(analyse(text).encoding, Encoding::Ucs2);

    let outcome = vonage.gateway().submit(&sms(text)).await;

    assert!(
        matches!(outcome, GatewayOutcome::Accepted { .. }),
        "{outcome:?}"
    );
    let request = &vonage.requests()[0];
    assert_eq!(request.get("type"), Some("unicode"));
    assert_eq!(request.get("text"), Some(text));
    let delivered = &vonage.delivered()[0];
    assert_eq!(delivered.text, text, "no character replaced on the phone");

    // A longer Dutch/French text takes two UCS-2 parts; the first part's id is kept.
    let outcome = vonage.gateway().submit(&sms(DUTCH_FRENCH)).await;
    let delivered = &vonage.delivered()[1];
    assert_eq!(delivered.text, DUTCH_FRENCH);
    assert_eq!(delivered.message_ids.len(), 2);
    assert_eq!(
        outcome,
        GatewayOutcome::Accepted {
            message_id: delivered.message_ids[0].clone()
        }
    );
}

#[tokio::test]
async fn vonage_with_wrong_credentials_answers_status_4_and_the_gateway_is_misconfigured() {
    let vonage = VonageEmulator::start().await;
    let config = VonageConfig {
        api_secret: "not-the-secret".into(),
        ..vonage.config()
    };
    let outcome = Vonage::new(config, client(Duration::from_secs(5)))
        .submit(&sms(NOTICE))
        .await;
    assert_eq!(
        outcome,
        GatewayOutcome::Misconfigured {
            reason: "Vonage status 4: Bad Credentials".into()
        }
    );
    assert!(vonage.delivered().is_empty());
}

#[tokio::test]
async fn vonage_missing_fields_give_status_2() {
    let vonage = VonageEmulator::start().await;
    // A missing parameter is what this gateway sent, never a fact about the number.
    assert_eq!(
        vonage.gateway().submit(&sms("")).await,
        GatewayOutcome::Misconfigured {
            reason: "Vonage status 2: Missing text param".into()
        }
    );
    assert_eq!(vonage.requests().len(), 1);

    // Vonage says the same of a missing api_key or from, but that is this gateway's
    // configuration: the gateway does not ask, and the next gateway gets the message.
    let raw = client(Duration::from_secs(5))
        .post(format!("{}/sms/json", vonage.url))
        .form(&[
            ("api_secret", API_SECRET),
            ("from", "ZNA"),
            ("to", "32471123456"),
            ("text", "x"),
        ])
        .send()
        .await
        .expect("the emulator answers");
    assert_eq!(raw.status(), reqwest::StatusCode::OK);
    let answer: Value = raw.json().await.expect("JSON");
    assert_eq!(
        answer,
        json!({"message-count": "1", "messages": [{"status": "2", "error-text": "Missing api_key"}]})
    );
    for config in [
        VonageConfig {
            api_key: String::new(),
            ..vonage.config()
        },
        VonageConfig {
            from: " ".into(),
            ..vonage.config()
        },
    ] {
        let outcome = Vonage::new(config, client(Duration::from_secs(5)))
            .submit(&sms(NOTICE))
            .await;
        assert!(
            matches!(&outcome, GatewayOutcome::Misconfigured { reason } if reason.starts_with("not configured:")),
            "{outcome:?}"
        );
    }
    assert_eq!(
        vonage.requests().len(),
        2,
        "only the raw request reached Vonage"
    );
    assert!(vonage.delivered().is_empty());
}

#[tokio::test]
async fn vonage_throttled_status_1_is_throttled() {
    let vonage = VonageEmulator::start().await;
    vonage.with(|state| state.behaviour = Behaviour::Throttle { retry_after: 1 });
    let outcome = vonage.gateway().submit(&sms(NOTICE)).await;
    assert!(
        matches!(&outcome, GatewayOutcome::Throttled { retry_after: None, reason } if reason.starts_with("Vonage status 1")),
        "{outcome:?}"
    );
}

#[tokio::test]
async fn vonage_rejects_a_barred_number_with_status_7() {
    let vonage = VonageEmulator::start().await;
    vonage.with(|state| state.barred.push("32471123456".into()));
    assert_eq!(
        vonage.gateway().submit(&sms(NOTICE)).await,
        GatewayOutcome::Rejected {
            code: Some("7".into()),
            reason: "Number barred.".into()
        }
    );
}

// ---------------------------------------------------------------------------------------------
// Through SmsChannel: rejection, throttling and failover

#[tokio::test]
async fn a_number_twilio_cannot_reach_is_rejected_with_21211_never_retried_and_not_failed_over() {
    let twilio = TwilioEmulator::start().await;
    let vonage = VonageEmulator::start().await;
    twilio.with(|state| state.unreachable.push(PATIENT.into()));

    let outcome = send(
        vec![Box::new(twilio.gateway()), Box::new(vonage.gateway())],
        NOTICE,
    )
    .await;

    let Outcome::Rejected { reason } = outcome else {
        panic!("expected a permanent failure, got {outcome:?}");
    };
    assert_eq!(
        reason,
        "twilio: The 'To' number +324***56 is not a valid phone number. (code 21211)"
    );
    assert!(!reason.contains(PATIENT), "the number is masked: {reason}");
    assert_eq!(twilio.requests().len(), 1, "asked once, never again");
    assert!(vonage.requests().is_empty(), "no failover for a bad number");
}

#[tokio::test]
async fn twilio_throttling_makes_the_channel_wait_the_retry_after_on_the_same_gateway() {
    let twilio = TwilioEmulator::start().await;
    let vonage = VonageEmulator::start().await;
    twilio.with(|state| state.behaviour = Behaviour::Throttle { retry_after: 30 });

    let outcome = send(
        vec![Box::new(twilio.gateway()), Box::new(vonage.gateway())],
        NOTICE,
    )
    .await;

    assert_eq!(
        outcome,
        Outcome::RetryLater {
            after: Some(Duration::from_secs(30)),
            reason: "twilio: HTTP 429, Twilio error 20429: Too Many Requests".into()
        }
    );
    assert!(vonage.requests().is_empty());
}

#[tokio::test]
async fn twilio_answering_503_hands_the_message_to_vonage_and_vonage_only_once() {
    let twilio = TwilioEmulator::start().await;
    let vonage = VonageEmulator::start().await;
    twilio.with(|state| state.behaviour = Behaviour::Down);

    let outcome = send(
        vec![Box::new(twilio.gateway()), Box::new(vonage.gateway())],
        NOTICE,
    )
    .await;

    let delivered = vonage.delivered();
    assert_eq!(delivered.len(), 1, "{delivered:?}");
    assert_eq!(
        outcome,
        Outcome::Accepted {
            gateway_id: format!("vonage:{}", delivered[0].message_ids[0]),
            detail: Some("accepted by vonage".into())
        }
    );
    assert_eq!(twilio.requests().len(), 1);
    assert!(twilio.created().is_empty());
    assert_eq!(vonage.requests().len(), 1);
}

#[tokio::test]
async fn twilio_not_answering_within_the_timeout_hands_the_message_to_vonage_once() {
    let twilio = TwilioEmulator::start().await;
    let vonage = VonageEmulator::start().await;
    twilio.with(|state| state.behaviour = Behaviour::Slow(Duration::from_secs(10)));
    let impatient = Twilio::new(twilio.config(), client(Duration::from_millis(300)));

    let started = Instant::now();
    let outcome = send(
        vec![Box::new(impatient), Box::new(vonage.gateway())],
        NOTICE,
    )
    .await;

    assert!(
        started.elapsed() < Duration::from_secs(5),
        "the client's timeout, not Twilio, decided: {:?}",
        started.elapsed()
    );
    assert!(
        matches!(&outcome, Outcome::Accepted { gateway_id, .. } if gateway_id.starts_with("vonage:")),
        "{outcome:?}"
    );
    assert_eq!(twilio.requests().len(), 1);
    assert!(twilio.created().is_empty());
    assert_eq!(vonage.requests().len(), 1);
    assert_eq!(vonage.delivered().len(), 1);
}

#[tokio::test]
async fn vonage_with_bad_credentials_hands_the_message_to_twilio() {
    let twilio = TwilioEmulator::start().await;
    let vonage = VonageEmulator::start().await;
    let misconfigured = Vonage::new(
        VonageConfig {
            api_secret: "rotated-yesterday".into(),
            ..vonage.config()
        },
        client(Duration::from_secs(5)),
    );

    let outcome = send(
        vec![Box::new(misconfigured), Box::new(twilio.gateway())],
        NOTICE,
    )
    .await;

    let created = twilio.created();
    assert_eq!(created.len(), 1);
    assert_eq!(
        outcome,
        Outcome::Accepted {
            gateway_id: format!("twilio:{}", created[0]["sid"].as_str().expect("sid")),
            detail: Some("accepted by twilio".into())
        }
    );
    assert!(vonage.delivered().is_empty());
}

#[tokio::test]
async fn a_misconfigured_twilio_hands_each_message_to_vonage_once_and_never_rejects_the_number() {
    let twilio = TwilioEmulator::start().await;
    for (n, (mistake, config, status, code)) in
        twilio_misconfigurations(&twilio).into_iter().enumerate()
    {
        let vonage = VonageEmulator::start().await;
        let misconfigured = Twilio::new(config, client(Duration::from_secs(5)));
        let outcome = send(
            vec![Box::new(misconfigured), Box::new(vonage.gateway())],
            NOTICE,
        )
        .await;

        let delivered = vonage.delivered();
        assert_eq!(delivered.len(), 1, "{mistake}: {delivered:?}");
        assert_eq!(
            outcome,
            Outcome::Accepted {
                gateway_id: format!("vonage:{}", delivered[0].message_ids[0]),
                detail: Some("accepted by vonage".into())
            },
            "{mistake} (HTTP {status}, {code})"
        );
        assert_eq!(twilio.requests().len(), n + 1, "{mistake}: asked once");
    }
    assert!(twilio.created().is_empty());
}

#[tokio::test]
async fn with_twilio_and_vonage_both_misconfigured_the_channel_is_misconfigured_with_both_answers()
{
    let twilio = TwilioEmulator::start().await;
    let vonage = VonageEmulator::start().await;
    let twilio_gateway = Twilio::new(
        TwilioConfig {
            from: None,
            messaging_service_sid: Some("ZNA-crisis".into()),
            ..twilio.config()
        },
        client(Duration::from_secs(5)),
    );
    let vonage_gateway = Vonage::new(
        VonageConfig {
            api_secret: "rotated-yesterday".into(),
            ..vonage.config()
        },
        client(Duration::from_secs(5)),
    );

    let outcome = send(
        vec![Box::new(twilio_gateway), Box::new(vonage_gateway)],
        NOTICE,
    )
    .await;

    assert_eq!(
        outcome,
        Outcome::Misconfigured {
            reason: "twilio: HTTP 422, Twilio error 20423: Invalid SID; \
                     vonage: Vonage status 4: Bad Credentials"
                .into()
        }
    );
    assert!(twilio.created().is_empty());
    assert!(vonage.delivered().is_empty());
}

#[tokio::test]
async fn the_channel_sends_dutch_and_french_text_through_vonage_as_unicode() {
    let twilio = TwilioEmulator::start().await;
    let vonage = VonageEmulator::start().await;
    twilio.with(|state| state.behaviour = Behaviour::Down);

    let outcome = send(
        vec![Box::new(twilio.gateway()), Box::new(vonage.gateway())],
        DUTCH_FRENCH,
    )
    .await;

    assert!(matches!(outcome, Outcome::Accepted { .. }), "{outcome:?}");
    let request = &vonage.requests()[0];
    assert_eq!(request.get("type"), Some("unicode"));
    assert_eq!(vonage.delivered()[0].text, DUTCH_FRENCH);
}

/// The whole pipeline with gateways from the configuration: Twilio first, down; Vonage next.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_broadcast_fails_over_from_a_broken_gateway_and_sends_each_sms_once() {
    use tocsin::config::SmsTransport;
    use tocsin::domain::DeliveryState;
    let twilio = TwilioEmulator::start().await;
    let vonage = VonageEmulator::start().await;
    twilio.with(|state| state.behaviour = Behaviour::Down);
    let (twilio_url, vonage_url) = (twilio.url.clone(), vonage.url.clone());
    let test = crate::support::TestApp::new(move |config| {
        config.sms.transport = SmsTransport::Gateways;
        config.sms.gateways = vec![
            GatewayConfig::Twilio {
                name: None,
                account_sid: ACCOUNT_SID.into(),
                auth_token: Some(AUTH_TOKEN.into()),
                auth_token_env: None,
                from: Some(TWILIO_FROM.into()),
                messaging_service_sid: None,
                base_url: Some(twilio_url),
                status_callback: None,
            },
            GatewayConfig::Vonage {
                name: None,
                api_key: API_KEY.into(),
                api_secret: Some(API_SECRET.into()),
                api_secret_env: None,
                from: "ZNA".into(),
                base_url: Some(vonage_url),
                callback: None,
                signature_secret: None,
                signature_secret_env: None,
                signature_method: None,
            },
        ];
    })
    .await;
    crate::support::seed_sms_patients(&test.app).await;
    let id = test
        .approved_update(
            &crate::support::EMAIL_UPDATE.replace("channels = [\"email\"]", "channels = [\"sms\"]"),
        )
        .await;

    test.app.send(id, |_, _| {}).await.expect("send");

    let delivered = vonage.delivered();
    assert_eq!(
        delivered.len(),
        3,
        "each patient once, through Vonage: {delivered:?}"
    );
    assert!(twilio.created().is_empty());
    let french = delivered
        .iter()
        .find(|sms| sms.to == "32471123451")
        .expect("the French patient");
    assert!(french.text.contains("mar. 13/01 à 9h30"), "{}", french.text);
    for n in 0..3 {
        let contact = test
            .app
            .store
            .find_contact(&format!("P{n}"))
            .await
            .expect("query")
            .expect("contact");
        let delivery = test
            .app
            .store
            .delivery(id, contact.id, ChannelKind::Sms)
            .await
            .expect("query")
            .expect("delivery");
        assert_eq!(delivery.state, DeliveryState::Sent);
        assert!(delivery
            .gateway_id
            .is_some_and(|gateway| gateway.starts_with("vonage:")));
    }
    let status = test.app.status(id).await.expect("status");
    let via_vonage = status
        .by_gateway
        .get("vonage")
        .expect("counted per gateway");
    assert_eq!(via_vonage.get(&DeliveryState::Sent), Some(&3));
    assert!(!status.by_gateway.contains_key("twilio"));
    assert!(status.to_text().contains("sms via vonage"));
}

/// `patients` SMS patients and an approved SMS update to them, with a `tocsin.toml` that sends
/// through the Twilio emulator with `account_sid`; returns the app, the update and the file.
async fn cli_broadcast(
    twilio: &TwilioEmulator,
    patients: usize,
    account_sid: &str,
) -> (crate::support::TestApp, i64, std::path::PathBuf) {
    let test = crate::support::TestApp::new(|_| {}).await;
    let (contacts, appointments): (Vec<_>, Vec<_>) = (0..patients)
        .map(|n| crate::support::sms_patient(n, "nl", format!("+3247155{n:04}"), None))
        .unzip();
    test.app
        .store
        .import(&contacts, &appointments, "test", 0)
        .await
        .expect("import");
    let id = test
        .approved_update(
            &crate::support::EMAIL_UPDATE.replace("channels = [\"email\"]", "channels = [\"sms\"]"),
        )
        .await;
    let file = test.dir.path().join("tocsin.toml");
    write_twilio_config(&test, twilio, &file, account_sid);
    (test, id, file)
}

fn write_twilio_config(
    test: &crate::support::TestApp,
    twilio: &TwilioEmulator,
    file: &std::path::Path,
    account_sid: &str,
) {
    std::fs::write(
        file,
        format!(
            "database_url = \"{}\"\n\
             [sms]\ntransport = \"gateways\"\n\
             [[sms.gateways]]\nkind = \"twilio\"\naccount_sid = \"{account_sid}\"\n\
             auth_token = \"{AUTH_TOKEN}\"\nfrom = \"{TWILIO_FROM}\"\nbase_url = \"{}\"\n\
             [email]\nfrom = \"{}\"\n{}",
            test.app.config.database_url,
            twilio.url,
            crate::support::EMAIL_FROM,
            crate::support::HOSPITAL_TOML
        ),
    )
    .expect("config file");
}

fn tocsin_cli(file: &std::path::Path, args: &[&str]) -> std::process::Output {
    std::process::Command::new(crate::support::tocsin_binary())
        .arg("--config")
        .arg(file)
        .args(args)
        .output()
        .expect("run tocsin")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn with_every_gateway_misconfigured_send_stops_with_the_answer_exit_4_and_burns_nobody() {
    use tocsin::domain::DeliveryState;
    let twilio = TwilioEmulator::start().await;
    let wrong_sid = "AC00000000000000000000000000000000";
    let (test, id, file) = cli_broadcast(&twilio, 30, wrong_sid).await;

    let out = tocsin_cli(&file, &["update", "send", &id.to_string()]);

    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(4), "{stdout}");
    assert!(
        stdout.contains("STOPPED with 30 deliveries held back"),
        "{stdout}"
    );
    assert!(
        stdout.contains("sms: twilio:"),
        "the gateway's answer: {stdout}"
    );
    let status = test.app.status(id).await.expect("status");
    assert_eq!(
        status.by_state.get(&DeliveryState::Undeliverable),
        None,
        "a mistake of ours is no fact about a patient"
    );
    assert!(status.paused.is_some(), "paused until a person fixes it");
    assert!(
        twilio.requests().len() < 30,
        "the channel stopped instead of trying everyone ({} requests)",
        twilio.requests().len()
    );

    write_twilio_config(&test, &twilio, &file, ACCOUNT_SID);
    let out = tocsin_cli(&file, &["update", "send", &id.to_string()]);

    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(0), "{stdout}");
    assert!(stdout.contains("Resumed 30 deliveries"), "{stdout}");
    assert_eq!(twilio.created().len(), 30, "each patient once");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_mass_rejection_guard_stops_a_gateway_refusing_everyone_alike_and_retry_sends_them() {
    use tocsin::domain::DeliveryState;
    let twilio = TwilioEmulator::start().await;
    let (test, id, file) = cli_broadcast(&twilio, 60, ACCOUNT_SID).await;
    // A gateway that words a mistake of its own as "this number is bad", for everyone.
    for n in 0..60 {
        twilio.cannot_reach(&format!("+3247155{n:04}"));
    }

    let out = tocsin_cli(&file, &["update", "send", &id.to_string()]);

    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(4), "{stdout}");
    assert!(
        stdout.contains("the first 20 sms messages were all refused the same way"),
        "{stdout}"
    );
    let status = test.app.status(id).await.expect("status");
    let undeliverable = status.by_state[&DeliveryState::Undeliverable];
    assert!(
        (20..60).contains(&undeliverable),
        "the guard stopped the channel after the first 20 (and those in flight): {undeliverable}"
    );
    assert_eq!(status.held, 60 - undeliverable);

    twilio.with(|state| state.unreachable.clear());
    let out = tocsin_cli(
        &file,
        &[
            "update",
            "retry",
            &id.to_string(),
            "--state",
            "undeliverable",
            "--reason",
            "21211",
            "--by",
            "Dr. Jan Claes",
        ],
    );

    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(0), "{stdout}");
    assert!(
        stdout.contains(&format!(
            "{undeliverable} deliveries sent again at the request of Dr. Jan Claes"
        )),
        "{stdout}"
    );
    assert_eq!(twilio.created().len(), 60, "everyone, once");
    let status = test.app.status(id).await.expect("status");
    assert_eq!(status.by_state[&DeliveryState::Sent], 60);
}
