//! Twilio and Vonage, emulated in-process from their documentation (field names,
//! authentication, status codes, error bodies), for the tests of the real gateways and
//! `SmsChannel` (`sms_providers.rs`, `failover.rs`, `fallback.rs`, `kannel.rs`), and the
//! SMS message they send.
//!
//! Twilio: Message resource, API 2010-04-01, form-encoded, HTTP basic auth, JSON errors
//! `{"code", "message", "more_info", "status"}` with the HTTP status of Twilio's error
//! dictionary (20003 → 401, 20404 → 404 for any path that is no resource, 20423 → 422, the
//! 21xxx validation errors → 400). Vonage: SMS API `POST /sms/json`, HTTP 200
//! with `{"message-count", "messages": [{"status", …}]}` whatever became of the message.

use crate::support::{seed_sms_patients, TestApp, EMAIL_UPDATE};
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use axum::{Json, Router};
use serde_json::{json, Value};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tocsin::channels::sms::gsm::{analyse, Encoding};
use tocsin::channels::sms::twilio::{Twilio, TwilioConfig, TwilioSettings};
use tocsin::channels::sms::vonage::{Vonage, VonageConfig, VonageSettings};
use tocsin::channels::sms::{http_client, Sms, SmsChannel, SmsGateway};
use tocsin::channels::{Channel, Message, NoHandover, Outcome};
use tocsin::config::{GatewayConfig, SmsConfig, SmsTransport};
use tocsin::domain::{ChannelKind, Language, RenderedMessage};

pub(crate) const ACCOUNT_SID: &str = "AC5ef8732a3c49700934481addd5ce1659";
pub(crate) const AUTH_TOKEN: &str = "f2c3b1e9d8a7465f9e0d1c2b3a495867";
pub(crate) const TWILIO_FROM: &str = "+3228080000";
pub(crate) const SERVICE_SID: &str = "MG9752274e9e519418a7406176694466fa";
pub(crate) const API_KEY: &str = "abcd1234";
pub(crate) const API_SECRET: &str = "Zx9Yw8Vu7Ts6Rq5P";
pub(crate) const PATIENT: &str = "+32471123456";
/// 118 UTF-16 units: two UCS-2 parts.
pub(crate) const DUTCH_FRENCH: &str = "ZNA: patiënt geïnformeerd – uw afspraak gaat niet door. \
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
    pub(crate) authorization: Option<String>,
    pub(crate) content_type: Option<String>,
    pub(crate) fields: Vec<(String, String)>,
    /// When the request reached the emulator, for counting a rate by calendar second.
    pub(crate) at: std::time::SystemTime,
}

impl Received {
    pub(crate) fn get(&self, name: &str) -> Option<&str> {
        self.fields
            .iter()
            .find(|(key, _)| key == name)
            .map(|(_, value)| value.as_str())
    }

    pub(crate) fn has(&self, name: &str) -> bool {
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
        at: std::time::SystemTime::now(),
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
    pub(crate) account_sid: String,
    pub(crate) auth_token: String,
    /// Numbers this account owns and may send from.
    pub(crate) numbers: Vec<String>,
    /// Messaging Services of this account.
    pub(crate) services: Vec<String>,
    /// Numbers Twilio cannot reach: 21211.
    pub(crate) unreachable: Vec<String>,
    /// Recipients who replied STOP: 21610.
    pub(crate) unsubscribed: Vec<String>,
    pub(crate) behaviour: Behaviour,
    pub(crate) requests: Vec<Received>,
    /// Message resources created, as returned.
    pub(crate) created: Vec<Value>,
}

#[derive(Clone)]
pub(crate) struct TwilioEmulator {
    pub(crate) url: String,
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
        twilio_gateway(self.config())
    }

    /// This emulator as a `[[sms.gateways]]` entry named "twilio", asking for status
    /// callbacks at `status_callback` if given.
    pub(crate) fn gateway_config(&self, status_callback: Option<&str>) -> GatewayConfig {
        GatewayConfig::Twilio(TwilioSettings {
            name: None,
            account_sid: ACCOUNT_SID.into(),
            auth_token: Some(AUTH_TOKEN.into()),
            auth_token_env: None,
            from: Some(TWILIO_FROM.into()),
            messaging_service_sid: None,
            base_url: Some(self.url.clone()),
            status_callback: status_callback.map(str::to_string),
        })
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
    pub(crate) api_key: String,
    pub(crate) api_secret: String,
    /// Numbers (digits, as Vonage writes them) on Vonage's barred list: status 7.
    pub(crate) barred: Vec<String>,
    pub(crate) behaviour: Behaviour,
    pub(crate) requests: Vec<Received>,
    pub(crate) delivered: Vec<Delivered>,
}

/// What a phone receives: with `type=text`, Vonage sends GSM-7, and whatever is not in it
/// arrives as `?`.
#[derive(Debug, Clone)]
pub(crate) struct Delivered {
    pub(crate) to: String,
    pub(crate) text: String,
    pub(crate) kind: String,
    pub(crate) client_ref: Option<String>,
    pub(crate) message_ids: Vec<String>,
}

#[derive(Clone)]
pub(crate) struct VonageEmulator {
    pub(crate) url: String,
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

    pub(crate) fn config(&self) -> VonageConfig {
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
        vonage_gateway(self.config())
    }

    /// This emulator as a `[[sms.gateways]]` entry named "vonage", without receipts.
    pub(crate) fn gateway_config(&self) -> GatewayConfig {
        GatewayConfig::Vonage(VonageSettings {
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
        })
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

pub(crate) fn client(timeout: Duration) -> reqwest::Client {
    http_client(timeout).expect("an HTTP client")
}

pub(crate) fn sms(text: &str) -> Sms<'_> {
    Sms {
        delivery_id: 7,
        to: PATIENT,
        text,
        encoding: analyse(text).encoding,
    }
}

/// An SMS to `to` as the dispatcher hands it to the channel.
pub(crate) fn sms_message(delivery_id: i64, to: &str, body: &str) -> Message {
    Message {
        delivery_id,
        update_id: 1,
        channel: ChannelKind::Sms,
        address: to.into(),
        language: Language::Nl,
        content: RenderedMessage {
            subject: None,
            body: body.into(),
            body_html: None,
        },
        attempt: 1,
        reply_to: None,
    }
}

pub(crate) const NOTICE: &str =
    "ZNA: uw afspraak van morgen gaat niet door. Wij bellen u. Info: 03 000 00 00";

pub(crate) async fn send(gateways: Vec<Box<dyn SmsGateway>>, body: &str) -> Outcome {
    SmsChannel::new(gateways)
        .send(&sms_message(7, PATIENT, body), &mut NoHandover)
        .await
}

/// Both emulators, started together.
pub(crate) async fn start_both() -> (TwilioEmulator, VonageEmulator) {
    tokio::join!(TwilioEmulator::start(), VonageEmulator::start())
}

/// Their gateways, Twilio first.
pub(crate) fn twilio_then_vonage(
    twilio: &TwilioEmulator,
    vonage: &VonageEmulator,
) -> Vec<Box<dyn SmsGateway>> {
    vec![Box::new(twilio.gateway()), Box::new(vonage.gateway())]
}

/// A Twilio gateway as a test configured it (a mistake, a timeout), with the usual client.
pub(crate) fn twilio_gateway(config: TwilioConfig) -> Twilio {
    Twilio::new(config, client(Duration::from_secs(5)))
}

/// A Vonage gateway as a test configured it, with the usual client.
pub(crate) fn vonage_gateway(config: VonageConfig) -> Vonage {
    Vonage::new(config, client(Duration::from_secs(5)))
}

/// An update that tells by SMS only, as `EMAIL_UPDATE` words it.
pub(crate) fn sms_update() -> String {
    EMAIL_UPDATE.replace("channels = [\"email\"]", "channels = [\"sms\"]")
}

/// The patients of `seed_sms_patients`, and the approved [`sms_update`] that tells them.
pub(crate) async fn sms_broadcast(test: &TestApp) -> i64 {
    seed_sms_patients(&test.app).await;
    test.approved_update(&sms_update()).await
}

/// Both emulators, Twilio down, and an app that sends SMS through their `[[sms.gateways]]`,
/// Twilio first, with `[sms]` as `adjust` leaves it.
pub(crate) async fn twilio_down_then_vonage(
    adjust: impl FnOnce(&mut SmsConfig),
) -> (TwilioEmulator, VonageEmulator, TestApp) {
    let (twilio, vonage) = start_both().await;
    twilio.with(|state| state.behaviour = Behaviour::Down);
    let gateways = vec![twilio.gateway_config(None), vonage.gateway_config()];
    let test = TestApp::new(|config| {
        config.sms.transport = SmsTransport::Gateways;
        config.sms.gateways = gateways;
        adjust(&mut config.sms);
    })
    .await;
    (twilio, vonage, test)
}
